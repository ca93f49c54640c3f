"""The object format from Python: bytes and file-likes, streaming, errors, and the Tink
cross-check (firekeep.encrypt output decrypts with stock Tink)."""

from __future__ import annotations

import io
import os

import firekeep
import pytest
from tink import cleartext_keyset_handle, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2


def tink_decrypt(key: bytes, obj: bytes, header: bytes, segment_size: int) -> bytes:
    streaming_aead.register()
    k = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(
        version=0,
        key_value=key,
        params=aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
            ciphertext_segment_size=segment_size, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256
        ),
    )
    keyset = tink_pb2.Keyset(primary_key_id=1, key=[tink_pb2.Keyset.Key(
        key_data=tink_pb2.KeyData(
            type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
            value=k.SerializeToString(), key_material_type=tink_pb2.KeyData.SYMMETRIC,
        ),
        status=tink_pb2.ENABLED, key_id=1, output_prefix_type=tink_pb2.RAW,
    )])
    prim = cleartext_keyset_handle.from_keyset(keyset).primitive(streaming_aead.StreamingAead)
    assert obj.startswith(header)
    with prim.new_decrypting_stream(io.BytesIO(obj[len(header):]), header) as s:
        return s.read()


@pytest.mark.parametrize("size", [0, 1, 4096 - 40 - 16, 4096 - 40 - 15, 100_000])
def test_tink_decrypts_firekeep_encrypt(size):
    key = firekeep.generate_data_key()
    data = os.urandom(size)
    obj = firekeep.encrypt(data, key=key, backup_id="b1", object_name="o1", segment_size=4096)
    header = firekeep.object_header(key, backup_id="b1", object_name="o1", segment_size=4096)
    assert tink_decrypt(key, obj, header, 4096) == data
    assert firekeep.decrypt(obj, key=key) == data


def test_streams_file_likes_in_bounded_pieces():
    key = firekeep.generate_data_key()
    data = os.urandom(5 * (1 << 20) + 123)
    writes = []

    class Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[override]
            writes.append(len(b))
            self.buf.extend(b)
            return len(b)

        buf = bytearray()

    sink = Sink()
    assert firekeep.encrypt(io.BytesIO(data), sink, key) is None
    # Streamed: several writes, none larger than a batch of 4 segments (bounded memory).
    assert len(writes) >= 3 and max(writes) <= 4 * (1 << 20) + 4096
    out = io.BytesIO()
    firekeep.decrypt(io.BytesIO(bytes(sink.buf)), out, key)
    assert out.getvalue() == data


def test_wrong_key_tamper_truncation():
    key = firekeep.generate_data_key()
    obj = firekeep.encrypt(b"secret payload" * 1000, key=key)
    with pytest.raises(firekeep.KeyMismatch) as e:
        firekeep.decrypt(obj, key=firekeep.generate_data_key())
    assert e.value.code == "ERR_KEY_MISMATCH" and "supply the key" in str(e.value)
    bad = bytearray(obj)
    bad[-20] ^= 1
    with pytest.raises(firekeep.IntegrityError):
        firekeep.decrypt(bytes(bad), key=key)
    with pytest.raises(firekeep.IntegrityError):
        firekeep.decrypt(obj[:-5], key=key)
    # The key never appears in messages or reprs.
    assert key.hex() not in str(e.value) and key.hex() not in repr(e.value)


def test_bad_arguments_raise_value_and_type_errors():
    key = firekeep.generate_data_key()
    with pytest.raises(ValueError, match="exactly 32 bytes"):
        firekeep.encrypt(b"x", key=b"short")
    with pytest.raises(TypeError, match="key must be bytes"):
        firekeep.encrypt(b"x", key="not bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="segment_size -1 is out of range"):
        firekeep.encrypt(b"x", key=key, segment_size=-1)
    with pytest.raises(TypeError):
        firekeep.encrypt(12345, key=key)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary mode"):
        firekeep.encrypt(io.StringIO("text"), io.BytesIO(), key)
    with pytest.raises(ValueError, match="base64"):
        firekeep.Key.raw("bm90IDMyIGJ5dGVz")
    with pytest.raises(ValueError):
        firekeep.Key.raw(b"\x00" * 31)
    with pytest.raises(ValueError, match="iterations"):
        firekeep.Key.passphrase("correct horse battery staple", iterations=-5)
    with pytest.raises(ValueError, match="not supported"):
        firekeep.Client("ftp://host/x", firekeep.Key.raw(key))
    with pytest.raises(TypeError, match="firekeep.Key"):
        firekeep.Client("/tmp/x", key)  # type: ignore[arg-type]
    # A short passphrase is refused by the core with a clear message, not a panic.
    with pytest.raises(firekeep.InvalidConfig):
        firekeep.Key.passphrase("short")


def test_key_repr_hides_secrets():
    k, text = firekeep.Key.generate_raw()
    assert text not in repr(k) and k.key_id in repr(k)
    assert firekeep.Key.raw(text).key_id == k.key_id
    p = firekeep.Key.passphrase("correct horse battery staple", iterations=100_000)
    assert "horse" not in repr(p)


def test_document_values_round_trip():
    ts = firekeep.Timestamp.from_unix(-62135596800, 1)
    fields = {
        "null": None, "b": True, "min": -(2**63), "max": 2**63 - 1, "nan": float("nan"),
        "inf": float("-inf"), "negzero": -0.0, "sub": 5e-324, "ts": ts,
        "tsmax": firekeep.Timestamp.from_unix(253402300799, 999_999_999),
        "s": "a\u0000b🔥", "bytes": b"\x00\xff", "geo": firekeep.GeoPoint(-90.0, 180.0),
        "ref": firekeep.Reference("projects/p/databases/(default)/documents/a/b"),
        "arr": [1, [2], {"m": []}], "map": {"x": {"y": {}}},
    }
    doc = firekeep.Document("projects/p/databases/(default)/documents/c/d", fields,
                            create_time=firekeep.Timestamp.from_unix(1, 5))
    back = firekeep.decode_document(firekeep.encode_document(doc))
    f = back.fields
    assert f["nan"] != f["nan"] and str(f["negzero"]) == "-0.0" and f["sub"] == 5e-324
    assert f["ts"].nanosecond == 1 and f["ts"].year == 1 and f["ts"].tzinfo is not None
    assert f["tsmax"].unix() == (253402300799, 999_999_999)
    assert isinstance(f["geo"], firekeep.GeoPoint) and isinstance(f["ref"], firekeep.Reference)
    assert f["ref"].path == "a/b" and type(f["min"]) is int and type(f["b"]) is bool
    assert back.create_time is not None and back.create_time.unix() == (1, 5)
    del f["nan"], fields["nan"]
    assert f == fields
    with pytest.raises(ValueError, match="64-bit"):
        firekeep.encode_document(firekeep.Document(doc.name, {"big": 2**63}))
    with pytest.raises(TypeError, match="cannot store a set"):
        firekeep.encode_document(firekeep.Document(doc.name, {"s": {1}}))
    deep: dict = {}
    cur = deep
    for _ in range(25):
        cur["x"] = {}
        cur = cur["x"]
    with pytest.raises(ValueError, match="20 levels"):
        firekeep.encode_document(firekeep.Document(doc.name, deep))
