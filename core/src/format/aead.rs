//! One-shot AES-GCM on the selected backend, and the per-segment cipher the streaming
//! format uses.
//!
//! Two backends give byte-identical output: RustCrypto `aes-gcm` ([`Backend::Portable`],
//! always built) and `ring` ([`Backend::Fast`], feature `fast-aead`). [`Backend::DEFAULT`]
//! is the fast one when it is compiled in.

use crate::{Error, Result};
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};

/// Length of an AES-GCM tag in bytes.
pub const TAG_LEN: usize = 16;
/// Length of an AES-GCM nonce in bytes.
pub const NONCE_LEN: usize = 12;

/// An AES-GCM implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// RustCrypto `aes-gcm`: pure Rust, uses AES-NI/CLMUL when the CPU has them.
    Portable,
    /// `ring` (BoringSSL's assembly): several times faster; feature `fast-aead`.
    #[cfg(feature = "fast-aead")]
    Fast,
}

impl Backend {
    /// The backend firekeep uses unless told otherwise: `Fast` when compiled in.
    #[cfg(feature = "fast-aead")]
    pub const DEFAULT: Backend = Backend::Fast;
    /// The backend firekeep uses unless told otherwise: `Fast` when compiled in.
    #[cfg(not(feature = "fast-aead"))]
    pub const DEFAULT: Backend = Backend::Portable;

    /// Every backend compiled into this build.
    pub fn all() -> &'static [Backend] {
        #[cfg(feature = "fast-aead")]
        {
            &[Backend::Portable, Backend::Fast]
        }
        #[cfg(not(feature = "fast-aead"))]
        {
            &[Backend::Portable]
        }
    }
}

impl Default for Backend {
    fn default() -> Self {
        Backend::DEFAULT
    }
}

/// An AES-GCM key (128 or 256 bits) set up on one backend. Key schedules are computed
/// once; sealing and opening work in place without allocating.
pub(crate) enum Cipher {
    Portable128(Box<Aes128Gcm>),
    Portable256(Box<Aes256Gcm>),
    #[cfg(feature = "fast-aead")]
    Fast(Box<ring::aead::LessSafeKey>),
}

impl Cipher {
    /// Sets up `key` (16 or 32 bytes) on `backend`.
    pub(crate) fn new(backend: Backend, key: &[u8]) -> Result<Self> {
        let bad_len = || {
            Error::InvalidInput(format!(
                "AES-GCM key must be 16 or 32 bytes, got {} bytes",
                key.len()
            ))
        };
        match backend {
            Backend::Portable => match key.len() {
                16 => Ok(Cipher::Portable128(Box::new(
                    Aes128Gcm::new_from_slice(key).map_err(|_| bad_len())?,
                ))),
                32 => Ok(Cipher::Portable256(Box::new(
                    Aes256Gcm::new_from_slice(key).map_err(|_| bad_len())?,
                ))),
                _ => Err(bad_len()),
            },
            #[cfg(feature = "fast-aead")]
            Backend::Fast => {
                let alg = match key.len() {
                    16 => &ring::aead::AES_128_GCM,
                    32 => &ring::aead::AES_256_GCM,
                    _ => return Err(bad_len()),
                };
                let unbound = ring::aead::UnboundKey::new(alg, key).map_err(|_| bad_len())?;
                Ok(Cipher::Fast(Box::new(ring::aead::LessSafeKey::new(
                    unbound,
                ))))
            }
        }
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        // Failures are only possible for inputs beyond GCM's 64 GiB limit, which the
        // format never produces (segments are at most 8 MiB, AAD at most a header).
        const TOO_LONG: &str = "AES-GCM input over 64 GiB";
        match self {
            Cipher::Portable128(c) => c
                .encrypt_inout_detached(nonce.into(), aad, buf.into())
                .expect(TOO_LONG)
                .into(),
            Cipher::Portable256(c) => c
                .encrypt_inout_detached(nonce.into(), aad, buf.into())
                .expect(TOO_LONG)
                .into(),
            #[cfg(feature = "fast-aead")]
            Cipher::Fast(k) => {
                let tag = k
                    .seal_in_place_separate_tag(
                        ring::aead::Nonce::assume_unique_for_key(*nonce),
                        ring::aead::Aad::from(aad),
                        buf,
                    )
                    .expect(TOO_LONG);
                let mut out = [0u8; TAG_LEN];
                out.copy_from_slice(tag.as_ref());
                out
            }
        }
    }

    /// Verifies `tag` and decrypts `buf` in place. On failure the contents of `buf` are
    /// unspecified and must not be used.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> std::result::Result<(), ()> {
        match self {
            Cipher::Portable128(c) => c
                .decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into())
                .map_err(|_| ()),
            Cipher::Portable256(c) => c
                .decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into())
                .map_err(|_| ()),
            #[cfg(feature = "fast-aead")]
            Cipher::Fast(k) => k
                .open_in_place_separate_tag(
                    ring::aead::Nonce::assume_unique_for_key(*nonce),
                    ring::aead::Aad::from(aad),
                    ring::aead::Tag::from(*tag),
                    buf,
                    0..,
                )
                .map(|_| ())
                .map_err(|_| ()),
        }
    }
}

/// AES-256-GCM encryption of `plaintext` on [`Backend::DEFAULT`]: returns
/// `ciphertext ‖ 16-byte tag`. The caller guarantees the nonce is never reused with `key`.
pub fn seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    seal_with(Backend::DEFAULT, key, nonce, aad, plaintext)
}

/// AES-256-GCM decryption of `ciphertext ‖ tag` on [`Backend::DEFAULT`]. A wrong key, nonce,
/// AAD or any modified byte fails with [`Error::Integrity`].
pub fn open(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
    open_with(Backend::DEFAULT, key, nonce, aad, ciphertext)
}

/// [`seal`] on a chosen backend (AES-128 or AES-256 by key length).
pub fn seal_with(
    backend: Backend,
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let cipher = Cipher::new(backend, key).expect("seal_with: key must be 16 or 32 bytes");
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let tag = cipher.seal_in_place(nonce, aad, &mut out);
    out.extend_from_slice(&tag);
    out
}

/// [`open`] on a chosen backend (AES-128 or AES-256 by key length).
pub fn open_with(
    backend: Backend,
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>> {
    let cipher = Cipher::new(backend, key)?;
    let fail = || Error::integrity("AES-GCM ciphertext", "authentication tag mismatch");
    if ciphertext.len() < TAG_LEN {
        return Err(fail());
    }
    let (body, tag) = ciphertext.split_at(ciphertext.len() - TAG_LEN);
    let tag: [u8; TAG_LEN] = tag.try_into().expect("tag is 16 bytes");
    let mut out = body.to_vec();
    cipher
        .open_in_place(nonce, aad, &mut out, &tag)
        .map_err(|_| fail())?;
    Ok(out)
}
