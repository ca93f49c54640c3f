"""firekeep.encrypt / decrypt over every kind of input and output: byte-identical objects
from bytes, bytearray, memoryview, readinto files, read-only files and real files; big
streams (the two-thread pipeline); segment boundaries; verified-only output; buffers a
careless writer keeps; and agreement with the core's own streaming Encryptor/Decryptor."""

from __future__ import annotations

import array
import io
import os
from pathlib import Path
from typing import Any, Callable, List

import firekeep
import pytest
from firekeep import _native

from test_format import tink_decrypt

MIB = 1 << 20
# salt (32) ‖ nonce prefix (7): fixed so that objects from different inputs can be compared.
FIXED = bytes(range(39))


class ReadOnly:
    """A file-like with read() only (no readinto), returning short reads."""

    def __init__(self, data: bytes, most: int = 70_000) -> None:
        self.f = io.BytesIO(data)
        self.most = most

    def read(self, n: int) -> bytes:
        return self.f.read(min(n, self.most))


class Trickle(io.RawIOBase):
    """A raw stream whose readinto fills at most `most` bytes per call (like a pipe)."""

    def __init__(self, data: bytes, most: int = 4093) -> None:
        self.f = io.BytesIO(data)
        self.most = most

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:  # type: ignore[override]
        n = min(len(b), self.most)
        return self.f.readinto(memoryview(b)[:n])


class Sink(io.RawIOBase):
    """Records the size of every write; takes at most `most` bytes per call."""

    def __init__(self, most: int = 1 << 62) -> None:
        self.buf = bytearray()
        self.sizes: List[int] = []
        self.most = most

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:  # type: ignore[override]
        n = min(len(b), self.most)
        self.sizes.append(n)
        self.buf += memoryview(b)[:n]
        return n


def enc(src: Any, dst: Any = None, *, key: bytes, seg: int = MIB, fixed: bool = True) -> Any:
    return _native.encrypt(src, dst, key, "b1", "o1", seg, FIXED if fixed else None)


SOURCES: List[Callable[[bytes, Path], Any]] = [
    lambda d, _: d,
    lambda d, _: bytearray(d),
    lambda d, _: memoryview(d),
    lambda d, _: memoryview(bytearray(d))[0:],
    lambda d, _: io.BytesIO(d),
    lambda d, _: Trickle(d),
    lambda d, _: ReadOnly(d),
]


def as_file(data: bytes, tmp: Path) -> Any:
    p = tmp / "src.bin"
    p.write_bytes(data)
    return open(p, "rb")


def test_big_stream_is_identical_from_every_input_and_round_trips(tmp_path: Path) -> None:
    key = firekeep.generate_data_key()
    data = os.urandom(20 * MIB + 12_345)
    reference = enc(data, key=key)
    # The core's own streaming decryptor reads it: the fast path writes the same format.
    core = _native.Decryptor(key)
    assert core.update(reference) + core.finish() == data
    for make in SOURCES + [as_file]:
        src = make(data, tmp_path)
        sink = Sink()
        assert enc(src, sink, key=key) is None
        assert bytes(sink.buf) == reference
        # Streamed in batches of 4 segments: one write of the prefix, two for the first batch
        # (segment 0 is shorter than its slot), then one per batch (segments 4-7, ..., 20-21).
        assert len(sink.sizes) == 1 + 2 + 5 and max(sink.sizes) == 4 * MIB
        if hasattr(src, "close"):
            src.close()
        assert enc(make(data, tmp_path), key=key) == reference
    out = tmp_path / "out.fk"
    with open(out, "wb") as f:
        enc(io.BytesIO(data), f, key=key)
    assert out.read_bytes() == reference

    # Decryption from every kind of input, to bytes and to a file.
    for make in SOURCES + [as_file]:
        assert firekeep.decrypt(make(reference, tmp_path), key=key) == data
        sink = Sink()
        assert firekeep.decrypt(make(reference, tmp_path), sink, key) is None
        assert bytes(sink.buf) == data and max(sink.sizes) <= MIB


def test_random_stream_headers_differ_and_cross_check_with_core_encryptor() -> None:
    key = firekeep.generate_data_key()
    data = os.urandom(3 * MIB + 7)
    a, b = firekeep.encrypt(data, key=key), firekeep.encrypt(io.BytesIO(data), key=key)
    assert a != b and len(a) == len(b)  # fresh salt and nonce prefix each time
    assert firekeep.decrypt(a, key=key) == firekeep.decrypt(io.BytesIO(b), key=key) == data
    # An object from the core's push Encryptor decrypts through the fast paths too.
    e = _native.Encryptor(key, "b", "o", 4096)
    obj = e.update(data) + e.finish()
    assert firekeep.decrypt(obj, key=key) == data
    out = io.BytesIO()
    firekeep.decrypt(Trickle(obj), out, key)
    assert out.getvalue() == data


FIRST, PER = 4096 - 40 - 16, 4096 - 16


@pytest.mark.parametrize(
    "size", [0, 1, FIRST - 1, FIRST, FIRST + 1, FIRST + PER, FIRST + PER + 1, FIRST + 5 * PER, FIRST + 5 * PER - 3]
)
def test_segment_boundaries_on_every_path(size: int, tmp_path: Path) -> None:
    key = firekeep.generate_data_key()
    data = os.urandom(size)
    reference = enc(data, key=key, seg=4096)
    header = firekeep.object_header(key, backup_id="b1", object_name="o1", segment_size=4096)
    assert tink_decrypt(key, reference, header, 4096) == data
    for make in SOURCES:
        sink = Sink(most=3000)  # partial writes are continued
        enc(make(data, tmp_path), sink, key=key, seg=4096)
        assert bytes(sink.buf) == reference
        back = Sink()
        firekeep.decrypt(make(reference, tmp_path), back, key)
        assert bytes(back.buf) == data


def test_stream_decrypt_writes_only_verified_segments() -> None:
    key = firekeep.generate_data_key()
    data = os.urandom(FIRST + 6 * PER)
    obj = bytearray(enc(data, key=key, seg=4096))
    header_len = len(firekeep.object_header(key, backup_id="b1", object_name="o1", segment_size=4096))
    # Flip one byte inside segment 3: segments 0..2 come out, nothing of 3 or later.
    obj[header_len + 4096 * 3 + 100] ^= 1
    out = io.BytesIO()
    with pytest.raises(firekeep.IntegrityError, match="segment 3"):
        firekeep.decrypt(io.BytesIO(bytes(obj)), out, key)
    assert out.getvalue() == data[: FIRST + 2 * PER]
    with pytest.raises(firekeep.IntegrityError):
        firekeep.decrypt(bytes(obj), key=key)

    good = enc(data, key=key, seg=4096)
    for bad in (
        good[:-PER - 16],        # the last segment dropped: the one before is not marked last
        good + b"\x00",          # extended
        good[:-1],               # truncated inside the last segment
        good[: header_len + 20], # ends inside the stream header
        good[:7],                # ends inside the object header
        b"",
    ):
        for src in (bad, io.BytesIO(bad), ReadOnly(bad)):
            with pytest.raises(firekeep.IntegrityError):
                firekeep.decrypt(src, io.BytesIO(), key)
        with pytest.raises(firekeep.IntegrityError):
            firekeep.decrypt(bad, key=key)
    with pytest.raises(firekeep.KeyMismatch):
        firekeep.decrypt(io.BytesIO(good), io.BytesIO(), firekeep.generate_data_key())


def test_a_writer_that_keeps_its_buffer_fails_loudly() -> None:
    key = firekeep.generate_data_key()
    kept: List[Any] = []

    class Keeper:
        def write(self, b: Any) -> None:
            kept.append(b)  # against the io contract: b is only valid during the call

    firekeep.encrypt(io.BytesIO(os.urandom(3 * MIB)), Keeper(), key)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        bytes(kept[-1])  # a released view, not silently changed bytes


def test_stream_argument_errors() -> None:
    key = firekeep.generate_data_key()

    class NonBlocking(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> None:  # type: ignore[override]
            return None

    with pytest.raises(ValueError, match="non-blocking"):
        firekeep.encrypt(NonBlocking(), io.BytesIO(), key)
    with pytest.raises(TypeError, match="dst must be a binary file-like"):
        firekeep.encrypt(b"x", object(), key)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="src must be bytes"):
        firekeep.decrypt(object(), key=key)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="binary mode"):
        firekeep.decrypt(io.StringIO("FKEEP"), key=key)
    with pytest.raises(ValueError, match="test_stream_header"):
        _native.encrypt(b"x", None, key, "b", "o", 4096, b"short")
    # Any contiguous buffer works as input; a strided one is copied first.
    arr = array.array("I", range(1000))
    assert firekeep.decrypt(firekeep.encrypt(arr, key=key), key=key) == arr.tobytes()
    strided = memoryview(bytes(range(200)))[::2]
    assert firekeep.decrypt(firekeep.encrypt(strided, key=key), key=key) == bytes(range(0, 200, 2))


def test_encrypt_and_decrypt_release_the_gil() -> None:
    import threading
    import time

    key = firekeep.generate_data_key()
    data = bytes(96 * MIB)
    ticks: List[float] = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.002)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.02)
    t0 = time.monotonic()
    back = firekeep.decrypt(firekeep.encrypt(data, key=key), key=key)
    t1 = time.monotonic()
    stop.set()
    t.join()
    assert back == data
    during = [x for x in ticks if t0 <= x <= t1]
    # Tens of milliseconds of Rust work; the other thread ticked throughout.
    assert t1 - t0 > 0.02 and len(during) >= 3, (t1 - t0, len(during))
