// Hand-written (not generated): the C functions of bindings/swift/src/buffers.rs, encrypt and
// decrypt over caller-owned memory. Errors arrive as in every uniffi call: code 1 in the
// status, error_buf holding the lowered FirekeepError (lift it with
// FfiConverterTypeFirekeepError_lift). See the Rust docs for the full contract.
#pragma once

#include "firekeep_ffiFFI.h"

// Encrypts plaintext[0..plaintext_len) into out (capacity out_cap, at least
// encryptedLen(plaintext_len, options), not overlapping key or plaintext); returns the
// object's length. options: the lowered ObjectOptions record, or an empty buffer; consumed.
uint64_t firekeep_ffi_encrypt_into(const uint8_t *_Nullable key, uint64_t key_len,
                                   const uint8_t *_Nullable plaintext, uint64_t plaintext_len,
                                   uint8_t *_Nullable out, uint64_t out_cap,
                                   RustBuffer options, RustCallStatus *_Nonnull status);

// Decrypts object[0..object_len) into out (capacity out_cap; object_len always suffices, not
// overlapping key or object); returns the plaintext's length.
uint64_t firekeep_ffi_decrypt_into(const uint8_t *_Nullable key, uint64_t key_len,
                                   const uint8_t *_Nullable object, uint64_t object_len,
                                   uint8_t *_Nullable out, uint64_t out_cap,
                                   RustCallStatus *_Nonnull status);
