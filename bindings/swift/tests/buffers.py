"""encrypt_into / decrypt_into for uniffi's Python bindings: the counterpart of the Kotlin
and Swift wrappers of the C functions in bindings/swift/src/buffers.rs, used by this suite
and scripts/bench-ffi.sh. Caller-owned memory goes in by address (ctypes `from_buffer`, or a
`bytes` object's own buffer), so nothing is copied besides the encryption itself. Errors are
the generated `FirekeepError`s, lifted by the generated code."""

from __future__ import annotations

import ctypes
from typing import Any, Optional, Tuple

import firekeep_ffi as fk

_lib = fk._UniffiLib
_status = ctypes.POINTER(fk._UniffiRustCallStatus)
_lib.firekeep_ffi_encrypt_into.argtypes = (
    ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64,
    ctypes.c_void_p, ctypes.c_uint64, fk._UniffiRustBuffer, _status,
)
_lib.firekeep_ffi_encrypt_into.restype = ctypes.c_uint64
_lib.firekeep_ffi_decrypt_into.argtypes = (
    ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64,
    ctypes.c_void_p, ctypes.c_uint64, _status,
)
_lib.firekeep_ffi_decrypt_into.restype = ctypes.c_uint64


def _span(buf: Any, writable: bool) -> Tuple[Optional[int], int, Any]:
    """(address, length, object keeping the memory alive) of a bytes-like object, uncopied."""
    if isinstance(buf, bytes) and not writable:
        # A bytes object's own buffer (ctypes passes it without copying).
        return ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value, len(buf), buf
    mv = memoryview(buf)
    if not mv.c_contiguous:
        raise fk.FirekeepError.InvalidInput("the buffer must be C-contiguous")
    mv = mv.cast("B")
    if mv.readonly:
        what = "the output" if writable else "a read-only input other than bytes"
        raise fk.FirekeepError.InvalidInput(
            f"{what} must be writable memory (bytearray, memoryview of one, array)")
    if len(mv) == 0:
        return None, 0, mv
    arr = (ctypes.c_char * len(mv)).from_buffer(mv)
    return ctypes.addressof(arr), len(mv), arr


def encrypt_into(key: bytes, plaintext: Any, output: Any,
                 options: Optional[fk.ObjectOptions] = None) -> int:
    """Encrypts `plaintext` into the start of `output` (writable, at least
    `fk.encrypted_len(len(plaintext), options)` bytes, not overlapping the plaintext); returns
    the object's length."""
    k, klen, _k = _span(key, False)
    p, plen, _p = _span(plaintext, False)
    o, olen, _o = _span(output, True)
    opts = (fk._UniffiFfiConverterTypeObjectOptions.lower(options) if options is not None
            else fk._UniffiRustBuffer.default())
    return fk._uniffi_rust_call_with_error(
        fk._UniffiFfiConverterTypeFirekeepError, _lib.firekeep_ffi_encrypt_into,
        k, klen, p, plen, o, olen, opts)


def decrypt_into(key: bytes, obj: Any, output: Any) -> int:
    """Decrypts the object `obj` into the start of `output` (writable; as many bytes as the
    object always suffice); returns the plaintext's length."""
    k, klen, _k = _span(key, False)
    p, plen, _p = _span(obj, False)
    o, olen, _o = _span(output, True)
    return fk._uniffi_rust_call_with_error(
        fk._UniffiFfiConverterTypeFirekeepError, _lib.firekeep_ffi_decrypt_into,
        k, klen, p, plen, o, olen)
