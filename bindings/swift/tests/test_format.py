"""The object format through the FFI: round trips (bytes, files, callback streaming) and
errors as the right FirekeepError variants."""

from __future__ import annotations

import os

import pytest

import firekeep_ffi as fk


class BytesSource:
    """A ByteSource over bytes, counting its calls."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.calls = 0

    def read(self, max_len: int) -> bytes:
        self.calls += 1
        chunk = bytes(self.data[self.pos:self.pos + max_len])
        self.pos += len(chunk)
        return chunk


class ListSink:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(bytes(data))

    def value(self) -> bytes:
        return b"".join(self.chunks)


def test_bytes_round_trip_and_header():
    key = fk.generate_data_key()
    assert len(key) == 32
    data = os.urandom(100_000)
    obj = fk.encrypt(key, data, fk.ObjectOptions(backup_id="bk_1", object_name="parts/1",
                                                   segment_size=4096))
    assert data not in obj
    info = fk.object_info(obj[:4096])
    assert (info.backup_id, info.object_name, info.segment_size) == ("bk_1", "parts/1", 4096)
    assert info.key_id == fk.data_key_id(key)
    assert fk.decrypt(key, obj) == data
    # Defaults (None options) work too, and two encryptions differ (random salt/nonce).
    a, b = fk.encrypt(key, b"x", None), fk.encrypt(key, b"x", None)
    assert a != b and fk.decrypt(key, a) == fk.decrypt(key, b) == b"x"


def test_wrong_key_is_key_mismatch_naming_both_ids():
    key, other = fk.generate_data_key(), fk.generate_data_key()
    obj = fk.encrypt(key, b"secret rows", None)
    with pytest.raises(fk.FirekeepError.KeyMismatch) as e:
        fk.decrypt(other, obj)
    assert e.value.expected == fk.data_key_id(key)
    assert e.value.actual == fk.data_key_id(other)
    assert "supply the key" in e.value.message


@pytest.mark.parametrize("where", ["body", "header", "truncate", "extend"])
def test_tampering_is_integrity(where):
    key = fk.generate_data_key()
    obj = bytearray(fk.encrypt(key, os.urandom(20_000), fk.ObjectOptions(
        backup_id="b", object_name="o", segment_size=4096)))
    if where == "body":
        obj[-100] ^= 1
    elif where == "header":
        obj[12] ^= 1  # inside the authenticated header (names, sizes)
    elif where == "truncate":
        del obj[-4096:]
    else:
        obj += b"\0" * 16
    # A changed header byte may land in the key id: then it is reported as the wrong key.
    with pytest.raises((fk.FirekeepError.Integrity, fk.FirekeepError.InvalidInput,
                        fk.FirekeepError.KeyMismatch)) as e:
        fk.decrypt(key, bytes(obj))
    if where != "header":
        assert isinstance(e.value, fk.FirekeepError.Integrity)


def test_bad_key_length_is_invalid_input():
    with pytest.raises(fk.FirekeepError.InvalidInput) as e:
        fk.encrypt(b"short", b"data", None)
    assert "32 bytes" in str(e.value)
    with pytest.raises(fk.FirekeepError.InvalidInput):
        fk.encrypt(fk.generate_data_key(), b"d", fk.ObjectOptions(
            backup_id="b", object_name="o", segment_size=100))


def test_streaming_through_callbacks_matches_one_shot():
    key = fk.generate_data_key()
    data = os.urandom(3 * (1 << 20) + 12345)
    src, sink = BytesSource(data), ListSink()
    n = fk.encrypt_stream(key, src, sink, fk.ObjectOptions(
        backup_id="b", object_name="o", segment_size=65536))
    obj = sink.value()
    assert n == len(obj)
    assert src.calls >= 4  # read in chunks, not all at once
    assert len(sink.chunks) > 10  # written segment by segment
    assert fk.decrypt(key, obj) == data
    out = ListSink()
    assert fk.decrypt_stream(key, BytesSource(obj), out) == len(data)
    assert out.value() == data


def test_streaming_decrypt_of_truncated_object_fails_at_the_end():
    key = fk.generate_data_key()
    obj = fk.encrypt(key, os.urandom(50_000), fk.ObjectOptions(
        backup_id="b", object_name="o", segment_size=4096))
    out = ListSink()
    with pytest.raises(fk.FirekeepError.Integrity):
        fk.decrypt_stream(key, BytesSource(obj[:-4096]), out)
    # What did reach the sink was verified plaintext only, and not all of it.
    assert len(out.value()) < 50_000


def test_a_failing_sink_error_reaches_the_caller():
    class Full:
        def write(self, data: bytes) -> None:
            raise fk.FirekeepError.Io("disk full; free some space")

    with pytest.raises(fk.FirekeepError.Io) as e:
        fk.encrypt_stream(fk.generate_data_key(), BytesSource(b"x" * 10), Full(), None)
    assert "disk full" in str(e.value)


def test_a_source_raising_a_foreign_exception_is_a_callback_error():
    class Broken:
        def read(self, max_len: int) -> bytes:
            raise RuntimeError("sensor unplugged")

    with pytest.raises(fk.FirekeepError.Callback):
        fk.encrypt_stream(fk.generate_data_key(), Broken(), ListSink(), None)


def test_files_round_trip_and_wrong_key_leaves_no_output(tmp_path):
    key = fk.generate_data_key()
    src, enc, dec = tmp_path / "in.bin", tmp_path / "in.fk", tmp_path / "out.bin"
    data = os.urandom(2 * (1 << 20) + 7)
    src.write_bytes(data)
    n = fk.encrypt_file(key, str(src), str(enc), None)
    assert n == enc.stat().st_size > len(data)
    assert fk.decrypt_file(key, str(enc), str(dec)) == len(data)
    assert dec.read_bytes() == data
    dec.unlink()
    with pytest.raises(fk.FirekeepError.KeyMismatch):
        fk.decrypt_file(fk.generate_data_key(), str(enc), str(dec))
    assert not dec.exists()
    with pytest.raises(fk.FirekeepError.Io):
        fk.encrypt_file(key, str(tmp_path / "missing"), str(tmp_path / "x"), None)
