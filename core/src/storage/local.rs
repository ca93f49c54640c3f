//! Local-filesystem `StorageSink` with atomic writes (temp file, fsync, rename).
//!
//! Each object is a file under the root; `/` in object paths are directories. Writes go to a
//! temporary file in the destination directory (`.fk-tmp-…`, not listed until an hour old), which is
//! fsynced, then renamed over the destination (put) or hard-linked to it (put-if-absent:
//! `link` fails if the name exists, so exactly one concurrent writer wins), and the
//! directory is fsynced. A crash leaves either the old object, the new one, or a temp file
//! that listing ignores until it is an hour old (then prune removes it with its backup),
//! never a half-written object.
//!
//! The calls are plain blocking `std::fs` inside `async fn`s: each is short (one object of
//! a few MiB at most), and the core has no runtime to offload them to. Callers on a
//! latency-sensitive executor can wrap the sink in their runtime's blocking pool.

use super::memory::check_path;
use super::{MultipartUpload, ObjectMeta, StorageSink};
use crate::model::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Prefix of temporary files; listing skips them.
const TMP_PREFIX: &str = ".fk-tmp-";

/// A directory of backup objects on a local (or mounted) filesystem.
#[derive(Clone, Debug)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// A sink rooted at `root`, creating the directory if needed.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)
            .map_err(|e| map_io(e, "creating the storage directory", &root))?;
        if !root.is_dir() {
            return Err(Error::InvalidConfig(format!(
                "{} is not a directory; choose a directory for the backups",
                root.display()
            )));
        }
        Ok(LocalStorage { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn resolve(&self, path: &str) -> Result<PathBuf> {
        check_path(path)?;
        Ok(self.root.join(path))
    }

    /// Writes `data` to a fresh temp file next to `dest` and fsyncs it.
    fn write_temp(&self, dest: &Path, data: &[u8]) -> Result<PathBuf> {
        let (tmp, mut file) = self.create_temp(dest)?;
        let written = file.write_all(data).and_then(|_| file.sync_all());
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(map_io(e, "writing", dest));
        }
        Ok(tmp)
    }

    fn create_temp(&self, dest: &Path) -> Result<(PathBuf, File)> {
        let dir = dest.parent().unwrap_or(&self.root);
        // Retry: a concurrent delete may remove an empty directory we just created.
        let mut attempt = 0;
        loop {
            fs::create_dir_all(dir).map_err(|e| map_io(e, "creating directory", dir))?;
            let tmp = dir.join(format!("{TMP_PREFIX}{}", random_hex()));
            match File::create_new(&tmp) {
                Ok(f) => return Ok((tmp, f)),
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < 5 => attempt += 1,
                Err(e) => return Err(map_io(e, "creating a temporary file in", dir)),
            }
        }
    }
}

fn random_hex() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("operating system random number generator failed");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Fsyncs a directory so a rename or link in it is durable.
fn sync_dir(dir: &Path) {
    // Best effort: some filesystems refuse to open or fsync directories.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Maps an I/O error to the storage error kinds, with what to do about it.
fn map_io(e: io::Error, doing: &str, path: &Path) -> Error {
    // ENOSPC (28) and EDQUOT (122) on Linux; StorageFull covers the rest.
    let full = e.kind() == io::ErrorKind::StorageFull
        || e.kind() == io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(28) | Some(122));
    if full {
        return Error::Storage(format!(
            "no space left on the device while {doing} {}: free some space (or prune old \
             backups) and run the operation again",
            path.display()
        ));
    }
    match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound(format!("{}", path.display())),
        io::ErrorKind::AlreadyExists => Error::AlreadyExists(format!("{}", path.display())),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            Error::PermissionDenied(format!(
                "{doing} {}: {e}; check the directory's owner and permissions",
                path.display()
            ))
        }
        _ => Error::Storage(format!("{doing} {}: {e}", path.display())),
    }
}

fn meta_of(rel: String, md: &fs::Metadata) -> ObjectMeta {
    let last_modified = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| Timestamp::new(d.as_secs() as i64, d.subsec_nanos()).ok());
    ObjectMeta {
        path: rel,
        size: md.len(),
        last_modified,
    }
}

/// Refuses anything but a regular file: firekeep writes only regular files, so a symbolic
/// link (e.g. to `/dev/zero`, which reads forever) or a device, FIFO or socket in the
/// repository was planted, and following it would read what the repository's owner never
/// stored.
fn check_regular(path: &str, md: &fs::Metadata) -> Result<()> {
    let ft = md.file_type();
    let what = if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        return Ok(());
    } else {
        "not a regular file (a device, FIFO or socket)"
    };
    Err(Error::integrity(
        path,
        format!(
            "the object is {what}; firekeep writes only regular files, so it was planted \
             and is not read: remove it"
        ),
    ))
}

/// Opens an object for reading without following a symbolic link at its last component
/// (`O_NOFOLLOW`) or blocking on a FIFO (`O_NONBLOCK`), and checks the open file (fstat) is
/// a regular file. Returns the file and its size.
fn open_regular(path: &str, p: &Path) -> Result<(File, u64)> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = match opts.open(p) {
        Ok(f) => f,
        // ELOOP: the last component is a symbolic link.
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            let md = fs::symlink_metadata(p).map_err(|e| map_io(e, "reading", p))?;
            check_regular(path, &md)?;
            return Err(map_io(e, "reading", p));
        }
        Err(e) => return Err(map_io(e, "reading", p)),
    };
    let md = f.metadata().map_err(|e| map_io(e, "reading", p))?;
    if md.is_dir() {
        return Err(Error::NotFound(format!("{}", p.display())));
    }
    #[cfg(not(unix))]
    check_regular(
        path,
        &fs::symlink_metadata(p).map_err(|e| map_io(e, "reading", p))?,
    )?;
    check_regular(path, &md)?;
    Ok((f, md.len()))
}

/// Reads exactly `len` bytes at `offset` (a file that shrank meanwhile is an error).
fn read_exact_len(mut f: File, offset: u64, len: u64, p: &Path) -> Result<Bytes> {
    let len = usize::try_from(len)
        .map_err(|_| Error::Storage(format!("{} is too large to read", p.display())))?;
    let mut buf = vec![0u8; len];
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_exact(&mut buf))
        .map_err(|e| map_io(e, "reading", p))?;
    Ok(Bytes::from(buf))
}

/// Walks `dir` recursively, collecting files whose relative path starts with `prefix`.
/// Age after which a temp file cannot belong to a write still in progress.
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

fn is_stale_temp(entry: &fs::DirEntry) -> bool {
    entry
        .metadata()
        .and_then(|md| md.modified())
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > STALE_TEMP_AGE)
}

fn walk(dir: &Path, rel: &str, prefix: &str, out: &mut Vec<Result<ObjectMeta>>) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            out.push(Err(map_io(e, "listing", dir)));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.push(Err(map_io(e, "listing", dir)));
                continue;
            }
        };
        // Names that are not UTF-8 were not written by firekeep.
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        // A temp file is a write in progress, unless it is old enough to be what a crashed
        // process left behind: then it is listed, so prune can delete it with its backup.
        if name.starts_with(TMP_PREFIX) && !is_stale_temp(&entry) {
            continue;
        }
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            // Only descend where the prefix can still match.
            let with_slash = format!("{child_rel}/");
            if with_slash.starts_with(prefix) || prefix.starts_with(&with_slash) {
                walk(&entry.path(), &child_rel, prefix, out);
            }
        } else if ft.is_file() && child_rel.starts_with(prefix) {
            match entry.metadata() {
                Ok(md) => out.push(Ok(meta_of(child_rel, &md))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => out.push(Err(map_io(e, "reading metadata of", &entry.path()))),
            }
        }
    }
}

#[async_trait]
impl StorageSink for LocalStorage {
    async fn put(&self, path: &str, data: Bytes) -> Result<()> {
        let dest = self.resolve(path)?;
        let tmp = self.write_temp(&dest, &data)?;
        if let Err(e) = fs::rename(&tmp, &dest) {
            let _ = fs::remove_file(&tmp);
            return Err(map_io(e, "renaming into place", &dest));
        }
        sync_dir(dest.parent().unwrap_or(&self.root));
        Ok(())
    }

    async fn put_if_absent(&self, path: &str, data: Bytes) -> Result<()> {
        let dest = self.resolve(path)?;
        if dest.exists() {
            return Err(Error::AlreadyExists(format!(
                "object {path} in {}",
                self.describe()
            )));
        }
        let tmp = self.write_temp(&dest, &data)?;
        // link(2) fails with EEXIST when the name exists: an atomic create-if-absent with
        // the complete content already in place.
        let linked = fs::hard_link(&tmp, &dest);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_dir(dest.parent().unwrap_or(&self.root));
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(Error::AlreadyExists(
                format!("object {path} in {}", self.describe()),
            )),
            Err(e) => Err(map_io(e, "linking into place", &dest)),
        }
    }

    async fn put_multipart(&self, path: &str) -> Result<Box<dyn MultipartUpload>> {
        let dest = self.resolve(path)?;
        let (tmp, file) = self.create_temp(&dest)?;
        Ok(Box::new(LocalUpload {
            file: Some(file),
            tmp,
            dest,
            written: 0,
        }))
    }

    async fn get(&self, path: &str) -> Result<Bytes> {
        let p = self.resolve(path)?;
        let (f, len) = open_regular(path, &p)?;
        read_exact_len(f, 0, len, &p)
    }

    async fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes> {
        let p = self.resolve(path)?;
        let (f, len) = open_regular(path, &p)?;
        if range.start > range.end || range.end > len {
            return Err(Error::InvalidInput(format!(
                "range {}..{} is outside object {path} of {len} bytes",
                range.start, range.end
            )));
        }
        read_exact_len(f, range.start, range.end - range.start, &p)
    }

    /// One open: the size checked on the open file itself (fstat), so a file swapped
    /// after a separate `head` cannot be read past `max`.
    async fn get_bounded(&self, path: &str, max: u64) -> Result<Bytes> {
        let p = self.resolve(path)?;
        let (f, len) = open_regular(path, &p)?;
        super::check_bound(path, len, max)?;
        read_exact_len(f, 0, len, &p)
    }

    async fn head(&self, path: &str) -> Result<ObjectMeta> {
        let p = self.resolve(path)?;
        // symlink_metadata: a planted link is reported, never followed.
        let md = fs::symlink_metadata(&p).map_err(|e| map_io(e, "reading metadata of", &p))?;
        if md.is_dir() {
            return Err(Error::NotFound(format!("{}", p.display())));
        }
        check_regular(path, &md)?;
        Ok(meta_of(path.to_string(), &md))
    }

    fn list(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        // Walk lazily, on first poll.
        stream::once(async move {
            let mut out = Vec::new();
            walk(&root, "", &prefix, &mut out);
            stream::iter(out)
        })
        .flatten()
        .boxed()
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let p = self.resolve(path)?;
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(map_io(e, "deleting", &p)),
        }
        // Remove directories left empty, up to the root, so pruned backups leave nothing.
        let mut dir = p.parent();
        while let Some(d) = dir {
            if d == self.root || !d.starts_with(&self.root) || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        if let Some(parent) = p.parent() {
            if parent.exists() {
                sync_dir(parent);
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }
}

struct LocalUpload {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
    written: u64,
}

#[async_trait]
impl MultipartUpload for LocalUpload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| Error::InvalidInput("upload already finished".into()))?;
        f.write_all(&data)
            .map_err(|e| map_io(e, "writing", &self.dest))?;
        self.written += data.len() as u64;
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<u64> {
        let f = self
            .file
            .take()
            .ok_or_else(|| Error::InvalidInput("upload already finished".into()))?;
        f.sync_all().map_err(|e| map_io(e, "writing", &self.dest))?;
        drop(f);
        fs::rename(&self.tmp, &self.dest)
            .map_err(|e| map_io(e, "renaming into place", &self.dest))?;
        sync_dir(self.dest.parent().unwrap_or(Path::new(".")));
        Ok(self.written)
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        self.file.take();
        match fs::remove_file(&self.tmp) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(map_io(e, "removing", &self.tmp)),
        }
    }
}

impl Drop for LocalUpload {
    fn drop(&mut self) {
        // Dropped without complete: leave no object (and no temp file) behind.
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
