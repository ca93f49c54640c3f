//! uniffi bindings (Swift, Kotlin) for firekeep.
//!
//! This layer adds no logic of its own: it converts arguments, calls the core (and the
//! Firestore connector), and maps [`firekeep_core::Error`] to [`FirekeepError`], which
//! Swift and Kotlin see as an error enum. Every exported call runs behind
//! [`std::panic::catch_unwind`], so a panic becomes [`FirekeepError::Panic`] instead of
//! unwinding into foreign code. Secrets (passphrases, keys) are moved into zeroizing
//! containers at once and never appear in errors or `Debug` output.
//!
//! Surface: the object format (bytes, files, and streaming through [`ByteSource`] /
//! [`ByteSink`] callbacks), key providers (passphrase, raw key), the policy evaluator,
//! audit-chain verification, and the authorized, audited [`Client`] (backup, verify,
//! restore, list, and erase / export / legal hold) as async functions with a
//! [`ProgressListener`] and a [`CancellationToken`]. Beside the uniffi surface, two
//! hand-written C functions encrypt and decrypt over caller-owned memory without copies
//! (`firekeep_ffi_encrypt_into` / `firekeep_ffi_decrypt_into`, module `buffers`).

mod audit;
mod buffers;
mod bytes;
mod client;
mod compliance;
mod errors;
mod key_providers;
mod object_format;
mod policy;
mod records;
mod runtime;
mod streams;

pub use audit::*;
pub use buffers::*;
pub use bytes::Bytes;
pub use client::*;
pub use compliance::*;
pub use errors::*;
pub use key_providers::*;
pub use object_format::*;
pub use policy::*;
pub use records::*;
pub use runtime::*;
pub use streams::*;

uniffi::setup_scaffolding!();
