"""Hostile data and board files (issue 19): every one is refused in one line naming the file and the problem
(exit 2), before anything is built or allocated; nothing is unpickled; inputs beyond the int8 range saturate
(counted), never wrap."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinyc import zoo
from tinyc.boards import load_board
from tinyc.deploy.link import TensorInfo
from tinyc.deploy.validate import _saturated, load_test_data, quantize
from tinyc.errors import TinycError
from tinyc.optimize.data import load_data

ROOT = Path(__file__).resolve().parents[1]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


def _npy(a, allow_pickle=False) -> bytes:
    b = io.BytesIO()
    np.save(b, a, allow_pickle=allow_pickle)
    return b.getvalue()


def _header_only(shape, descr="<f4") -> bytes:
    """A .npy header declaring ``shape``, followed by 64 bytes: what a damaged or hostile file can claim."""
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return b.getvalue() + b"\0" * 64


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return b.getvalue()


X = np.random.default_rng(0).uniform(-1, 1, (4, 37)).astype(np.float32)
Y = np.arange(4)

CASES = {
    "zero bytes": (lambda p: p.write_bytes(b""), "the file is empty (0 bytes)"),
    "empty npz": (lambda p: _zip(p, {}), "'x'"),
    "truncated zip": (lambda p: p.write_bytes(_zip_bytes({"x.npy": _npy(X), "y.npy": _npy(Y)})[:300]),
                      "not a valid .npz file"),
    "object array": (lambda p: _zip(p, {"x.npy": _npy(np.array([{"a": 1}] * 4, dtype=object), True),
                                          "y.npy": _npy(Y)}), "never unpickles"),
    "pickle member": (lambda p: _zip(p, {"x.npy": b"\x80\x04\x95\x05cos\nsystem\n", "y.npy": _npy(Y)}),
                      "is not a numpy array (.npy)"),
    "scalar x": (lambda p: np.savez(p, x=np.float32(3), y=np.int64(1)), "a single float32 value, not samples"),
    "string x": (lambda p: np.savez(p, x=np.array(["a"] * 4), y=Y), "has dtype <U1"),
    "complex x": (lambda p: np.savez(p, x=X.astype(np.complex64), y=Y), "has dtype complex64"),
    "zero samples": (lambda p: np.savez(p, x=X[:0], y=Y[:0]), "empty (0 samples)"),
    "NaN input": (lambda p: np.savez(p, x=np.where(X > 0.9, np.nan, X), y=Y), "NaN/infinite"),
    "inf input": (lambda p: np.savez(p, x=np.where(X > 0.9, np.inf, X), y=Y), "NaN/infinite"),
    "huge declared shape": (lambda p: _zip(p, {"x.npy": _header_only((10 ** 6, 10 ** 5)), "y.npy": _npy(Y)}),
                            "declares shape (1000000, 100000)"),
    "shape beyond its bytes": (lambda p: _zip(p, {"x.npy": _header_only((4, 37000)), "y.npy": _npy(Y)}),
                               "truncated or damaged"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_data_files_refused_by_both_readers(tmp_path, case):
    make, phrase = CASES[case]
    path = tmp_path / "d.npz"
    make(path)
    for read in (load_data, lambda p: load_test_data(Path(p))):
        t0 = time.monotonic()
        with pytest.raises(TinycError) as e:
            read(str(path))
        assert time.monotonic() - t0 < 5  # a declared 400 GB is refused from its header, never allocated
        text = str(e.value)
        assert e.value.exit_code == 2 and "\n" not in text and str(path) in text and phrase in text, text


def test_validate_refuses_bad_data_before_building(tmp_path):
    """The issue's cases through the CLI: a zero-byte npz printed `Aborted!` (exit 1), an empty one said
    "0/0 outputs bit-identical" (exit 0), a .npy was read as if it had labels. Now: exit 2, one line, at once."""
    model = zoo.build("fc_odd")
    files = {"zero.npz": "the file is empty", "empty.npz": "needs arrays 'x'", "x.npy": "a .npy holds inputs only"}
    (tmp_path / "zero.npz").write_bytes(b"")
    _zip(tmp_path / "empty.npz", {})
    np.save(tmp_path / "x.npy", X)
    for name, phrase in files.items():
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "tinyc.cli", "validate", str(model), "--board", "mps2-an500",
                            "--data", str(tmp_path / name)], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert r.returncode == 2 and phrase in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1 and time.monotonic() - t0 < 30  # no build was started


def test_optimize_refuses_infinite_inputs_in_one_line(tmp_path):
    """optimize with inf inputs died with SIGSEGV inside the converter; now the data is checked first."""
    path = tmp_path / "inf.npz"
    np.savez(path, x=np.full((4, 37), np.inf, np.float32), y=Y)
    r = subprocess.run([sys.executable, "-m", "tinyc.cli", "optimize", str(zoo.build("float_fc")), "-o",
                        str(tmp_path / "out.tflite"), "--data", str(path)], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 2 and "NaN/infinite" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "out.tflite").exists()


def test_uint8_and_out_of_range_inputs_saturate_and_are_counted():
    """uint8 images or values beyond the input's range are clipped to [-128, 127] (never wrapped) and counted."""
    t = TensorInfo("in", 0, "x", 0, 4, (1, 4), 1.0 / 127.5, -1)
    for sample in (np.array([0, 100, 200, 255], np.uint8).astype(np.float32), np.array([-1e6, -0.3, 0.6, 1e30],
                                                                                          np.float32)):
        q = quantize(sample, t)
        assert q.dtype == np.int8
        v = sample / t.scale
        want = np.clip(np.floor(np.abs(v) + 0.5) * np.sign(v) - 1, -128, 127)
        assert np.array_equal(q, want.astype(np.int8))
        lo, hi = (-128 + 1) / 127.5, (127 + 1) / 127.5
        assert _saturated(sample, t) == int(((sample < lo - t.scale) | (sample > hi + t.scale)).sum()) > 0


def test_labels_in_two_dimensions_are_read_or_refused_in_one_line(tmp_path):
    """2-D labels: one-hot rows are class labels; a width the model does not have is one line, not a traceback."""
    from tinyc.deploy.validate import model_tasks

    model = zoo.build("softmax")
    ok, bad = tmp_path / "ok.npz", tmp_path / "bad.npz"
    x = np.zeros((4, 10), np.float32)
    np.savez(ok, x=x, y=np.eye(10)[Y])
    np.savez(bad, x=x, y=np.eye(10)[Y][:, :3])
    ds = load_test_data(ok)
    assert ds.prepared(model_tasks(model, ds)).y.tolist() == Y.tolist()
    ds = load_test_data(bad)
    with pytest.raises(TinycError, match=r"have shape \(4, 3\); give class indices \(4,\) or one-hot rows \(4, 10\)"):
        ds.prepared(model_tasks(model, ds))


# --- board files -----------------------------------------------------------------------------------------

def _board(tmp_path: Path, text: str, name: str = "mps2-an500") -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("edit, phrase", [
    (lambda t: t + "\n# " + "x" * 300_000 + "\n", "far more than a board file holds"),
    (lambda t: t.replace('notes = "', 'notes = "' + "n" * 5000), "characters long; keep it under 2,000"),
    (lambda t: t.replace('regions = [', "regions = [" + "".join(
        f'{{ name = "R{i}", kind = "ram", origin = {0x30000000 + 16 * i}, size = "16 B" }}, ' for i in range(100))),
     "lists 102 entries; a board has at most 64"),
    (lambda t: t.replace('size = "4 MiB", note = "SSRAM2/3"', 'size = ' + "9" * 400 + ', note = "SSRAM2/3"'),
     "(400 characters) is more than 4 GiB"),
    (lambda t: t.replace('size = "4 MiB", note = "SSRAM2/3"', 'size = ' + "9" * 5000 + ', note = "SSRAM2/3"'),
     "a number too long to read"),
    (lambda t: t.replace('baud = 115200', 'baud = ' + "[" * 5000 + "1" + "]" * 5000), "nested too deeply"),
    (lambda t: t.replace('[emulation]', '[emulation]\nmemory = [{ name = "X", kind = "ram", origin = 0, size = 16 }]'),
     "has no flash region"),
])
def test_board_files_bounded(tmp_path, edit, phrase):
    from tinyc import paths

    text = (paths.boards_dir() / "mps2-an500.toml").read_text()
    path = _board(tmp_path, edit(text))
    with pytest.raises(TinycError) as e:
        load_board(path)
    assert phrase in str(e.value) and "\n" not in str(e.value) and len(str(e.value)) < 400, str(e.value)
