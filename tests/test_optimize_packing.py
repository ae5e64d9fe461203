"""tinyc's packed weight format (docs/compressed-weights.md) and the optimizer's data loading: no TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.errors import TinycError
from tinyc.model import packing as P
from tinyc.optimize.data import Dataset, check_shape, holdout_split, load_data


def _clustered(rng, shape, k, sparsity=0.0, axis=0):
    """Each channel holds at most k distinct int8 values (like per-channel int8 after clustering)."""
    rows = []
    n_ch = shape[axis]
    per = int(np.prod(shape)) // n_ch
    for _ in range(n_ch):
        book = rng.choice(np.arange(-127, 128), size=k, replace=False).astype(np.int8)
        book[0] = 127  # symmetric per-channel int8 always reaches the extremes
        if sparsity:
            book[book == 0] = 1
        row = rng.choice(book, size=per)
        if sparsity:
            row[rng.permutation(per)[:int(per * sparsity)]] = 0
        rows.append(row)
    moved = (n_ch,) + tuple(s for i, s in enumerate(shape) if i != axis)
    return np.moveaxis(np.stack(rows).reshape(moved), 0, axis).astype(np.int8)


@pytest.mark.parametrize("axis", [0, 3, None])
@pytest.mark.parametrize("mode", [None, P.RAW, P.LUT, P.SPARSE_LUT, P.SIGN])
def test_round_trip_every_mode(mode, axis):
    rng = np.random.default_rng(7)
    cases = [rng.integers(-128, 128, size=(6, 3, 3, 5)).astype(np.int8),
             _clustered(rng, (6, 3, 3, 5), 7, axis=axis or 0),
             _clustered(rng, (6, 3, 3, 5), 4, sparsity=0.5, axis=axis or 0),
             np.where(rng.random((6, 3, 3, 5)) < 0.5, 127, -127).astype(np.int8)]
    encoded = 0
    for t in cases:
        try:
            p = P.pack(t, axis, mode)
        except ValueError:
            continue  # that mode cannot encode this tensor (e.g. SIGN on non-binary values)
        encoded += 1
        assert np.array_equal(P.unpack(p.data, t.shape, axis), t)
        assert len(p.data) == p.nbytes
    assert encoded >= 1


def test_cluster16_per_channel_is_under_4_5_bits():
    t = _clustered(np.random.default_rng(0), (64, 3, 3, 32), 16)
    p = P.pack(t, 0)
    assert p.mode == P.LUT and p.index_bits == 4 and p.codebook_size == 16
    assert p.bits_per_weight <= 4.5
    # header + per channel: 16 codebook bytes + 288 weights * 4 bits
    assert p.nbytes == P.HEADER.size + 64 * (16 + 288 * 4 // 8)


def test_pruned_half_plus_cluster16_uses_bitmap_under_3_5_bits():
    t = _clustered(np.random.default_rng(1), (64, 3, 3, 32), 16, sparsity=0.5)
    p = P.pack(t, 0)
    assert p.mode == P.SPARSE_LUT
    assert p.bits_per_weight <= 3.5
    assert p.bits_per_weight < P.pack(t, 0, P.LUT).bits_per_weight  # zeros cost less than a full index


def test_sign_is_one_bit_per_weight():
    t = np.where(np.random.default_rng(2).random((64, 288)) < 0.5, 127, -127).astype(np.int8)
    p = P.pack(t, 0)
    assert p.mode == P.SIGN
    assert p.nbytes == P.HEADER.size + 64 * 36
    assert p.bits_per_weight <= 1.01


def test_unclusterable_tensor_stays_raw_and_forced_modes_refuse():
    t = np.arange(-128, 128, dtype=np.int8).reshape(4, 64)
    assert P.pack(t, None).mode == P.RAW
    with pytest.raises(ValueError):
        P.pack(t, None, P.SIGN)
    with pytest.raises(ValueError):
        P.pack(t.astype(np.int16), None)


def test_bit_layout_is_little_endian_per_channel():
    t = np.array([[-5, 9, 9, -5, 9]], dtype=np.int8)  # codebook [-5, 9], b = 1
    p = P.pack(t, 0, P.LUT)
    mode, b, k, c, length = P.HEADER.unpack_from(p.data)
    assert (mode, b, k, c, length) == (P.LUT, 1, 2, 1, 5)
    body = p.data[P.HEADER.size:]
    assert body[:2] == np.array([-5, 9], np.int8).tobytes()
    assert body[2] == 0b10110  # element i -> bit i: indices 0,1,1,0,1


def test_load_data_layouts_and_errors(tmp_path):
    x = np.random.default_rng(0).random((20, 8, 8, 1)).astype(np.float32)
    y = np.arange(20) % 10
    np.savez(tmp_path / "d.npz", x=x, y=y)
    d = load_data(str(tmp_path / "d.npz"))
    assert d.x.shape == (20, 8, 8, 1) and d.labelled and d.y.dtype == np.int64
    np.savez(tmp_path / "onehot.npz", x=x, y=np.eye(10)[y])
    from tinyc.optimize.tasks import OutputTask

    onehot = load_data(str(tmp_path / "onehot.npz"))  # labels stay as given until the task is known
    assert np.array_equal(onehot.prepared([OutputTask("out", "classification", 10)]).y, y)
    np.save(tmp_path / "inputs.npy", x)
    assert not load_data(str(tmp_path / "inputs.npy")).labelled
    (tmp_path / "datafn.py").write_text("import numpy as np\n"
                                        "def get():\n    return np.zeros((3, 8, 8, 1)), np.array([1, 2, 3])\n")
    fn = load_data(f"{tmp_path / 'datafn.py'}:get")
    assert fn.x.shape == (3, 8, 8, 1) and list(fn.y) == [1, 2, 3]

    with pytest.raises(TinycError, match="not found"):
        load_data(str(tmp_path / "missing.npz"))
    np.savez(tmp_path / "nox.npz", inputs=x)
    with pytest.raises(TinycError, match="no array named 'x'"):
        load_data(str(tmp_path / "nox.npz"))
    np.savez(tmp_path / "badlabels.npz", x=x, y=y[:5])
    with pytest.raises(TinycError, match="labels y"):
        load_data(str(tmp_path / "badlabels.npz"))
    with pytest.raises(TinycError, match="cannot import"):
        load_data("no_such_module_xyz:get")
    with pytest.raises(TinycError, match=r"expects \(8, 8, 1\)"):
        check_shape(Dataset("bad", np.zeros((3, 8, 8)), None), (None, 8, 8, 1), "m.keras")
    check_shape(d, (None, 8, 8, 1), "m.keras")


def test_holdout_split_is_disjoint_and_seeded():
    d = Dataset("s", np.arange(100, dtype=np.float32)[:, None], np.arange(100))
    a_train, a_test = holdout_split(d, 0.2, seed=3)
    b_train, b_test = holdout_split(d, 0.2, seed=3)
    assert len(a_test) == 20 and len(a_train) == 80
    assert not set(a_test.y) & set(a_train.y)
    assert np.array_equal(a_test.y, b_test.y)


def test_keras3_file_and_unknown_formats_are_refused_clearly(tmp_path):
    import json
    import zipfile

    from tinyc.optimize.load import load_model

    k3 = tmp_path / "model.keras"
    with zipfile.ZipFile(k3, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.12.0"}))
        z.writestr("config.json", "{}")
    with pytest.raises(TinycError, match=r"model\.keras: Keras 3\.\d+\.\d+ cannot load this Keras 3\.12\.0 model"):
        load_model(k3)  # Keras 3 files load with Keras 3; a broken one says so in one line
    (tmp_path / "model.onnx").write_bytes(b"x")
    with pytest.raises(TinycError, match="unknown model format"):
        load_model(tmp_path / "model.onnx")
    with pytest.raises(TinycError, match="no such file"):
        load_model(tmp_path / "missing.keras")
    (tmp_path / "dir").mkdir()
    with pytest.raises(TinycError, match="not a SavedModel"):
        load_model(tmp_path / "dir")
