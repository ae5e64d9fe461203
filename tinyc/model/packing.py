"""tinyc's packed weight format: how compressed int8 weights are stored in flash (docs/compressed-weights.md).

Pure numpy, no TensorFlow: the C runtime's decoder must match ``unpack`` byte for byte.

One blob per weight tensor: a 12-byte header, then one record per channel (the slices along the
tensor's per-channel quantization axis; the whole tensor is one channel when it is quantized per
tensor). Within a channel, elements are in row-major order of the tensor with that axis removed.
Every channel record starts on a byte boundary; bit streams are little-endian (element i's bits start at
bit i*b, least significant bit first).

Modes: RAW (int8 as is), LUT (codebook + b-bit indices), SPARSE_LUT (bitmap of non-zeros + codebook of the
non-zero values + b-bit indices for the non-zeros only), SIGN (one bit per weight: 1 -> +m, 0 -> -m).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

RAW, LUT, SPARSE_LUT, SIGN = 0, 1, 2, 3
MODE_NAMES = {RAW: "raw", LUT: "lut", SPARSE_LUT: "sparse-lut", SIGN: "sign"}
HEADER = struct.Struct("<BBHII")  # mode, bits-or-magnitude, codebook size, channels, channel length


@dataclass(frozen=True)
class Packed:
    mode: int
    data: bytes
    elements: int
    codebook_size: int
    index_bits: int

    @property
    def nbytes(self) -> int:
        return len(self.data)

    @property
    def bits_per_weight(self) -> float:
        return 8.0 * len(self.data) / self.elements

    @property
    def mode_name(self) -> str:
        return MODE_NAMES[self.mode]


def channels(values: np.ndarray, axis: int | None) -> np.ndarray:
    """(C, L) view of a tensor: one row per quantization channel (C = 1 for per-tensor)."""
    v = np.asarray(values)
    if axis is None or v.ndim == 0:
        return v.reshape(1, -1)
    return np.moveaxis(v, axis, 0).reshape(v.shape[axis], -1)


def pack(values: np.ndarray, axis: int | None, mode: int | None = None) -> Packed:
    """The smallest valid encoding of an int8 tensor (or the one ``mode`` names)."""
    v = np.asarray(values)
    if v.dtype != np.int8:
        raise ValueError(f"pack expects int8 weights, got {v.dtype}")
    rows = channels(v, axis)
    candidates = [mode] if mode is not None else [RAW, LUT, SPARSE_LUT, SIGN]
    best = None
    for m in candidates:
        blob = _ENCODERS[m](rows)
        if blob is None:
            if mode is not None:
                raise ValueError(f"{MODE_NAMES[mode]} cannot encode this tensor")
            continue
        if best is None or len(blob[0]) < len(best[0]):
            best = (*blob, m)
    data, k, b, m = best
    return Packed(m, data, v.size, k, b)


def unpack(data: bytes, shape: tuple[int, ...], axis: int | None) -> np.ndarray:
    """Decode a blob back to the int8 tensor of ``shape`` (the reference the C decoder must equal)."""
    mode, bm, k, n_ch, length = HEADER.unpack_from(data, 0)
    pos = HEADER.size
    out = np.empty((n_ch, length), np.int8)
    for c in range(n_ch):
        if mode == RAW:
            out[c] = np.frombuffer(data, np.int8, length, pos)
            pos += length
        elif mode == LUT:
            book = np.frombuffer(data, np.int8, k, pos)
            pos += k
            n = _nbytes(length * bm)
            out[c] = book[_unbits(data[pos:pos + n], length, bm)]
            pos += n
        elif mode == SPARSE_LUT:
            book = np.frombuffer(data, np.int8, k, pos)
            pos += k
            n = _nbytes(length)
            mask = np.unpackbits(np.frombuffer(data, np.uint8, n, pos), bitorder="little")[:length].astype(bool)
            pos += n
            nnz = int(mask.sum())
            n = _nbytes(nnz * bm)
            out[c] = 0
            out[c][mask] = book[_unbits(data[pos:pos + n], nnz, bm)]
            pos += n
        elif mode == SIGN:
            n = _nbytes(length)
            bits = np.unpackbits(np.frombuffer(data, np.uint8, n, pos), bitorder="little")[:length]
            out[c] = np.where(bits == 1, bm, -bm).astype(np.int8)
            pos += n
        else:
            raise ValueError(f"unknown packing mode {mode}")
    if pos != len(data):
        raise ValueError(f"packed blob has {len(data) - pos} trailing bytes")
    shape = tuple(shape)
    if axis is None or len(shape) == 0:
        return out.reshape(shape)
    moved = (shape[axis],) + tuple(s for i, s in enumerate(shape) if i != axis)
    return np.moveaxis(out.reshape(moved), 0, axis)


def _nbytes(bits: int) -> int:
    return (bits + 7) // 8


def _bits(idx: np.ndarray, b: int) -> bytes:
    bits = ((idx.astype(np.uint16)[:, None] >> np.arange(b, dtype=np.uint16)) & 1).astype(np.uint8)
    return np.packbits(bits.reshape(-1), bitorder="little").tobytes()


def _unbits(data: bytes, n: int, b: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[:n * b].reshape(n, b)
    return (bits.astype(np.int64) << np.arange(b)).sum(axis=1)


def _index_bits(k: int) -> int:
    return max(1, int(np.ceil(np.log2(max(k, 1)))))


def _header(mode: int, bm: int, k: int, rows: np.ndarray) -> bytes:
    return HEADER.pack(mode, bm, k, rows.shape[0], rows.shape[1])


def _raw(rows):
    return _header(RAW, 0, 0, rows) + rows.tobytes(), 0, 8


def _lut(rows):
    books = [np.unique(r) for r in rows]
    k = max(len(b) for b in books)
    b = _index_bits(k)
    if b >= 8:
        return None
    parts = [_header(LUT, b, k, rows)]
    for r, book in zip(rows, books):
        parts.append(np.pad(book, (0, k - len(book))).astype(np.int8).tobytes())
        parts.append(_bits(np.searchsorted(book, r), b))
    return b"".join(parts), k, b


def _sparse_lut(rows):
    books = [np.unique(r[r != 0]) for r in rows]
    k = max(1, max(len(b) for b in books))
    b = _index_bits(k)
    if b >= 8 or not (rows == 0).any():
        return None
    parts = [_header(SPARSE_LUT, b, k, rows)]
    for r, book in zip(rows, books):
        nz = r[r != 0]
        parts.append(np.pad(book, (0, k - len(book))).astype(np.int8).tobytes())
        parts.append(np.packbits((r != 0).astype(np.uint8), bitorder="little").tobytes())
        parts.append(_bits(np.searchsorted(book, nz), b) if len(nz) else b"")
    return b"".join(parts), k, b


def _sign(rows):
    m = int(np.abs(rows.astype(np.int16)).max()) if rows.size else 0  # |-128| overflows int8
    if m == 0 or m > 127 or not np.isin(rows, (-m, m)).all():
        return None
    parts = [_header(SIGN, m, 0, rows)]
    for r in rows:
        parts.append(np.packbits((r > 0).astype(np.uint8), bitorder="little").tobytes())
    return b"".join(parts), 2, 1


_ENCODERS = {RAW: _raw, LUT: _lut, SPARSE_LUT: _sparse_lut, SIGN: _sign}
