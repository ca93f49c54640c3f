//! The object format over streams ([`ByteSource`] / [`ByteSink`] callbacks) and files.

use crate::errors::{FirekeepError, Result, guard};
use crate::object_format::{ObjectOptions, data_key, header_for};
use firekeep_core::Error as CoreError;
use firekeep_core::format::{self};
use std::io::Write;

/// Where streaming encryption/decryption reads from (implemented in Swift/Kotlin).
#[uniffi::export(callback_interface)]
pub trait ByteSource: Send + Sync {
    /// Up to `max_len` more bytes; an empty result means the end of the input.
    fn read(&self, max_len: u32) -> Result<Vec<u8>>;
}

/// Where streaming encryption/decryption writes to (implemented in Swift/Kotlin).
#[uniffi::export(callback_interface)]
pub trait ByteSink: Send + Sync {
    /// Takes the next bytes of output, in order.
    fn write(&self, data: Vec<u8>) -> Result<()>;
}

/// Read size of the streaming calls: one call per MiB keeps the callback overhead small.
pub(crate) const STREAM_CHUNK: u32 = 1 << 20;

/// Encrypts everything `source` yields into `sink`, one segment in memory at a time.
/// Returns the object's length in bytes.
#[uniffi::export]
pub fn encrypt_stream(
    key: Vec<u8>,
    source: Box<dyn ByteSource>,
    sink: Box<dyn ByteSink>,
    options: Option<ObjectOptions>,
) -> Result<u64> {
    guard(|| {
        let dek = data_key(key)?;
        let header = header_for(&dek, options)?;
        let mut enc = format::Encryptor::new(&dek, &header)?;
        // The emit callback returns core errors; keep the sink's own error to return it.
        let mut sink_err: Option<FirekeepError> = None;
        let mut emit = |b: &[u8]| -> firekeep_core::Result<()> {
            sink.write(b.to_vec()).map_err(|e| {
                let msg = e.to_string();
                sink_err = Some(e);
                CoreError::InvalidInput(msg)
            })
        };
        loop {
            let chunk = source.read(STREAM_CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            if let Err(e) = enc.update(&chunk, &mut emit) {
                return Err(sink_err.take().unwrap_or_else(|| e.into()));
            }
        }
        match enc.finish(&mut emit) {
            Ok(n) => Ok(n),
            Err(e) => Err(sink_err.take().unwrap_or_else(|| e.into())),
        }
    })
}

/// Decrypts an object `source` yields into `sink`. Only verified plaintext reaches the
/// sink; a truncated object fails with `Integrity` at the end. Returns the plaintext
/// length.
#[uniffi::export]
pub fn decrypt_stream(
    key: Vec<u8>,
    source: Box<dyn ByteSource>,
    sink: Box<dyn ByteSink>,
) -> Result<u64> {
    guard(|| {
        let dek = data_key(key)?;
        let mut dec = format::Decryptor::new(format::Backend::DEFAULT, &dek);
        let mut total = 0u64;
        let mut sink_err: Option<FirekeepError> = None;
        let mut emit = |b: &[u8]| -> firekeep_core::Result<()> {
            total += b.len() as u64;
            sink.write(b.to_vec()).map_err(|e| {
                let msg = e.to_string();
                sink_err = Some(e);
                CoreError::InvalidInput(msg)
            })
        };
        loop {
            let chunk = source.read(STREAM_CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            if let Err(e) = dec.update(&chunk, &mut emit) {
                return Err(sink_err.take().unwrap_or_else(|| e.into()));
            }
        }
        let last = dec.finish_plaintext()?.to_vec();
        if !last.is_empty() {
            emit(&last).map_err(|e| sink_err.take().unwrap_or_else(|| e.into()))?;
        }
        Ok(total)
    })
}

pub(crate) fn io_err(context: String) -> impl FnOnce(std::io::Error) -> FirekeepError {
    move |e| CoreError::io(context, e).into()
}

/// Encrypts the file at `input` into a new file at `output` (streaming). Returns the
/// output's length. A partial output is removed on failure.
#[uniffi::export]
pub fn encrypt_file(
    key: Vec<u8>,
    input: String,
    output: String,
    options: Option<ObjectOptions>,
) -> Result<u64> {
    guard(|| {
        let dek = data_key(key)?;
        let header = header_for(&dek, options)?;
        let run = || -> Result<u64> {
            let mut src =
                std::fs::File::open(&input).map_err(io_err(format!("opening {input}")))?;
            let dst =
                std::fs::File::create(&output).map_err(io_err(format!("creating {output}")))?;
            let mut w = format::EncryptingWriter::new(&dek, &header, std::io::BufWriter::new(dst))?;
            std::io::copy(&mut src, &mut w).map_err(io_err(format!("encrypting {input}")))?;
            let mut inner = w.finish()?;
            inner.flush().map_err(io_err(format!("writing {output}")))?;
            let f = inner.into_inner().map_err(|e| {
                FirekeepError::from(CoreError::io(format!("writing {output}"), e.into_error()))
            })?;
            f.sync_all().map_err(io_err(format!("syncing {output}")))?;
            Ok(f.metadata()
                .map_err(io_err(format!("reading {output}")))?
                .len())
        };
        run().inspect_err(|_| {
            let _ = std::fs::remove_file(&output);
        })
    })
}

/// Decrypts the object file at `input` into a new file at `output` (streaming, verified
/// segment by segment). Returns the plaintext length. A partial output is removed on
/// failure, so no unverified plaintext is left behind.
#[uniffi::export]
pub fn decrypt_file(key: Vec<u8>, input: String, output: String) -> Result<u64> {
    guard(|| {
        let dek = data_key(key)?;
        let run = || -> Result<u64> {
            let src = std::fs::File::open(&input).map_err(io_err(format!("opening {input}")))?;
            let mut r = format::DecryptingReader::new(&dek, std::io::BufReader::new(src))?;
            let dst =
                std::fs::File::create(&output).map_err(io_err(format!("creating {output}")))?;
            let mut w = std::io::BufWriter::new(dst);
            let mut total = 0u64;
            while let Some(seg) = r.next_segment()? {
                w.write_all(seg)
                    .map_err(io_err(format!("writing {output}")))?;
                total += seg.len() as u64;
            }
            w.flush().map_err(io_err(format!("writing {output}")))?;
            Ok(total)
        };
        run().inspect_err(|_| {
            let _ = std::fs::remove_file(&output);
        })
    })
}
