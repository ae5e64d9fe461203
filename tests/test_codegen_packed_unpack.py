"""The C decoder of packed weights (firmware/runtime/kernels/unpack.c) equals the reference decoder
tinyc/model/packing.py `unpack` byte for byte, for every mode, channel axis, index width and read size
(ASan/UBSan on: a read past the end of a blob fails the test). No TensorFlow."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tinyc.codegen.generate import runtime_dir
from tinyc.codegen.host import SANITIZE, WARN, _cc
from tinyc.model import packing as P


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    rt = runtime_dir()
    exe = tmp_path_factory.mktemp("unpack") / "tinyc_unpack_probe"
    subprocess.run([_cc(), *WARN, "-O1", *SANITIZE, f"-I{rt / 'include'}", str(rt / "kernels" / "unpack.c"),
                    str(rt / "host" / "tinyc_unpack_probe.c"), "-o", str(exe)], check=True)
    return exe


def decode(probe, blob: bytes, chunk: int) -> np.ndarray:
    r = subprocess.run([str(probe)], input=chunk.to_bytes(4, "little") + blob, capture_output=True,
                       env={"ASAN_OPTIONS": "detect_leaks=0"})
    assert r.returncode == 0, r.stderr.decode(errors="replace")[:2000]
    return np.frombuffer(r.stdout, np.int8)


def tensors(rng):
    """(name, tensor, axis) over every mode: dense random, clustered with 2..128 values per channel
    (index widths 1..7), sparse clustered, sparse with an all-zero channel, binary, odd lengths."""
    out = []
    for shape, axis in [((6, 3, 3, 5), 0), ((1, 3, 3, 7), 3), ((10, 13), 0), ((10, 13), None), ((3, 1, 1, 1), 0)]:
        n_ch = shape[axis] if axis is not None else 1
        per = int(np.prod(shape)) // n_ch
        moved = (n_ch,) + tuple(s for i, s in enumerate(shape) if i != axis) if axis is not None else shape

        def build(rows):
            rows = np.asarray(rows, np.int8).reshape(moved)
            return rows if axis is None else np.moveaxis(rows, 0, axis)

        out.append((f"random{shape}", build(rng.integers(-128, 128, size=(n_ch, per))), axis))
        for k in (2, 3, 5, 16, 17, 100, 128):
            rows = [rng.choice(rng.choice(np.arange(-128, 128), size=k, replace=False), size=per)
                    for _ in range(n_ch)]
            out.append((f"k{k}{shape}", build(rows), axis))
            sparse = np.array(rows)
            sparse[rng.random(sparse.shape) < 0.6] = 0
            if n_ch > 1:
                sparse[1] = 0
            out.append((f"sparse-k{k}{shape}", build(sparse), axis))
        m = int(rng.integers(1, 128))
        out.append((f"sign{shape}", build(np.where(rng.random((n_ch, per)) < 0.5, m, -m)), axis))
    return out


@pytest.mark.parametrize("mode", [P.RAW, P.LUT, P.SPARSE_LUT, P.SIGN])
def test_c_decoder_equals_packing_unpack(probe, mode):
    rng = np.random.default_rng(1000 + mode)
    cases = 0
    for name, t, axis in tensors(rng):
        try:
            p = P.pack(t, axis, mode)
        except ValueError:
            continue  # this mode cannot encode that tensor
        assert p.mode == mode
        ref = P.channels(P.unpack(p.data, t.shape, axis), axis).reshape(-1)
        assert np.array_equal(ref, P.channels(t, axis).reshape(-1))
        length = ref.size // (t.shape[axis] if axis is not None else 1)
        for chunk in sorted({1, length + 3}):
            got = decode(probe, p.data, chunk)
            assert np.array_equal(got, ref), f"{name} mode {p.mode_name} axis {axis} chunk {chunk}"
        cases += 1
    assert cases >= {P.RAW: 15, P.LUT: 30, P.SPARSE_LUT: 30, P.SIGN: 5}[mode]


def test_c_decoder_on_the_smallest_encoding(probe):
    """pack() without a forced mode: whatever it picks, the C decoder agrees."""
    rng = np.random.default_rng(5)
    modes = set()
    for name, t, axis in tensors(rng):
        p = P.pack(t, axis)
        modes.add(p.mode)
        assert np.array_equal(decode(probe, p.data, 64), P.channels(t, axis).reshape(-1)), name
    assert modes == {P.RAW, P.LUT, P.SPARSE_LUT, P.SIGN}
