"""encrypt_into / decrypt_into (the C functions over caller-owned memory, through the ctypes
wrapper in buffers.py) against encrypt / decrypt both ways, the golden object, and the
checks on pointers, lengths and overlap."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import pytest

import firekeep_ffi as fk
from buffers import decrypt_into, encrypt_into

ROOT = Path(__file__).resolve().parents[3]
OPTS = fk.ObjectOptions(backup_id="bk_1", object_name="parts/1", segment_size=4096)


@pytest.mark.parametrize("size", [0, 1, 4096 - 57, 4096 - 56, 2 * (4096 - 16) + 1, (1 << 20) + 7])
def test_into_round_trips_with_the_bytes_api_both_ways(size):
    key = fk.generate_data_key()
    data = os.urandom(size)
    need = fk.encrypted_len(size, OPTS)
    out = bytearray(need + 9)
    assert encrypt_into(key, data, out, OPTS) == need
    assert out[need:] == bytes(9), "nothing written past the object"
    obj = bytes(out[:need])
    assert fk.decrypt(key, obj) == data
    assert fk.object_info(obj).object_name == "parts/1"
    assert len(fk.encrypt(key, data, OPTS)) == need

    old = fk.encrypt(key, data, None)
    plain = bytearray(len(old))  # the object's length always suffices
    assert decrypt_into(key, old, plain) == size
    assert plain[:size] == data
    # A writable input and a memoryview slice as output work too.
    back = bytearray(size + 4)
    assert decrypt_into(key, bytearray(old), memoryview(back)[4:]) == size
    assert back[4:] == data


def test_the_golden_object_opens_with_both_apis():
    golden = ROOT / "core/tests/golden"
    obj = (golden / "object-v1.fko").read_bytes()
    expected = (golden / "object-v1.plaintext").read_bytes()
    key = bytes(range(32))
    assert fk.decrypt(key, obj) == expected
    out = bytearray(len(expected))
    assert decrypt_into(key, obj, out) == len(expected)
    assert out == expected


def test_errors_are_firekeep_errors():
    key, other = fk.generate_data_key(), fk.generate_data_key()
    data = os.urandom(5000)
    need = fk.encrypted_len(5000, None)
    small = bytearray(b"\xee" * (need - 1))
    with pytest.raises(fk.FirekeepError.InvalidInput, match=f"needs {need}"):
        encrypt_into(key, data, small)
    assert small == b"\xee" * (need - 1), "nothing written"
    with pytest.raises(fk.FirekeepError.InvalidInput, match="got 31"):
        encrypt_into(bytes(31), data, bytearray(need))
    with pytest.raises(fk.FirekeepError.InvalidInput, match="writable"):
        encrypt_into(key, data, bytes(need))  # a read-only output
    with pytest.raises(fk.FirekeepError.InvalidInput, match="out of range"):
        encrypt_into(key, data, bytearray(need),
                     fk.ObjectOptions(backup_id="b", object_name="o", segment_size=1))

    out = bytearray(need)
    encrypt_into(key, data, out)
    plain = bytearray(5000)
    with pytest.raises(fk.FirekeepError.KeyMismatch) as e:
        decrypt_into(other, bytes(out), plain)
    assert e.value.expected == fk.data_key_id(key)
    out[-20] ^= 1
    with pytest.raises(fk.FirekeepError.Integrity):
        decrypt_into(key, bytes(out), plain)
    assert plain == bytes(5000), "no unverified plaintext left"
    with pytest.raises(fk.FirekeepError.InvalidInput):
        decrypt_into(key, bytes(out), bytearray(10))


def test_an_output_overlapping_the_input_is_refused():
    key = fk.generate_data_key()
    need = fk.encrypted_len(100, None)
    whole = bytearray(need + 100)
    view = memoryview(whole)
    with pytest.raises(fk.FirekeepError.InvalidInput, match="overlaps the plaintext"):
        encrypt_into(key, view[need - 50:need + 50], view[:need])
    with pytest.raises(fk.FirekeepError.InvalidInput, match="overlaps the plaintext"):
        encrypt_into(key, whole, whole)
    # Adjacent ranges are fine.
    assert encrypt_into(key, view[need:], view[:need]) == need
    with pytest.raises(fk.FirekeepError.InvalidInput, match="overlaps the object"):
        decrypt_into(key, view[:need], view[need - 1:])


def test_null_pointers_with_a_length_are_refused_by_the_c_function():
    # The wrapper never passes these; a C caller could.
    status = fk._UniffiRustCallStatus.default()
    out = (ctypes.c_char * 1000)()
    n = fk._UniffiLib.firekeep_ffi_encrypt_into(
        None, 32, None, 0, out, 1000, fk._UniffiRustBuffer.default(), ctypes.byref(status))
    assert (n, status.code) == (0, fk._UniffiRustCallStatus.CALL_ERROR)
    err = fk._UniffiFfiConverterTypeFirekeepError.lift(status.error_buf)
    assert isinstance(err, fk.FirekeepError.InvalidInput) and "null pointer" in err.message
