"""Decrypt a firekeep object with stock Tink, given its data key (docs/format.md).

pip install tink==1.16.*   # or any Tink with AesGcmHkdfStreaming
"""
import io

import tink
from tink import cleartext_keyset_handle, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2


def parse_header(obj: bytes):
    """Returns (header fields, header length). The header is not secret."""
    if obj[:5] != b"FKEEP" or obj[5] != 1:
        raise ValueError("not a firekeep object (format version 1)")
    header_len = int.from_bytes(obj[6:10], "big")
    pos, fields = 10, []
    for _ in range(3):  # key id, backup id, object name
        n = int.from_bytes(obj[pos:pos + 2], "big")
        fields.append(obj[pos + 2:pos + 2 + n].decode("utf-8"))
        pos += 2 + n
    compression = {0: "none", 1: "zstd"}[obj[pos]]
    segment_size = int.from_bytes(obj[pos + 1:pos + 5], "big")
    key_id, backup_id, object_name = fields
    return dict(key_id=key_id, backup_id=backup_id, object_name=object_name,
                compression=compression, segment_size=segment_size), header_len


def streaming_aead_for(data_key: bytes, segment_size: int):
    """A Tink StreamingAead primitive for a raw 32-byte data key."""
    streaming_aead.register()
    key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(
        version=0,
        key_value=data_key,
        params=aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
            ciphertext_segment_size=segment_size,
            derived_key_size=32,
            hkdf_hash_type=common_pb2.SHA256,
        ),
    )
    keyset = tink_pb2.Keyset(primary_key_id=1, key=[tink_pb2.Keyset.Key(
        key_data=tink_pb2.KeyData(
            type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
            value=key.SerializeToString(),
            key_material_type=tink_pb2.KeyData.SYMMETRIC,
        ),
        status=tink_pb2.ENABLED,
        key_id=1,
        output_prefix_type=tink_pb2.RAW,
    )])
    return cleartext_keyset_handle.from_keyset(keyset).primitive(streaming_aead.StreamingAead)


def decrypt_object(data_key: bytes, obj: bytes):
    """Returns (header, plaintext). The whole header is the associated data of the body."""
    header, header_len = parse_header(obj)
    primitive = streaming_aead_for(data_key, header["segment_size"])
    body = io.BytesIO(obj[header_len:])
    with primitive.new_decrypting_stream(body, obj[:header_len]) as stream:
        plaintext = stream.read()
    return header, plaintext  # zstd-decompress when header["compression"] == "zstd"
