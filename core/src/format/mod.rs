//! The encrypted object format: `header ‖ body`, body byte-compatible with Tink's
//! AesGcmHkdfStreaming. See docs/format.md.
