"""What each output predicts and how it is scored (tinyc.optimize.tasks), and the labels as data files give
them (tinyc.optimize.data): numpy only, no TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.errors import TinycError
from tinyc.optimize import tasks as T
from tinyc.optimize.data import load_data


def test_kind_from_compile_loss_activation_labels_and_task_option():
    outs = [("a", 10, None), ("b", 1, None), ("c", 5, "sigmoid"), ("d", 3, "softmax")]
    losses = {"a": "sparse_categorical_crossentropy", "b": "mse", "c": None, "d": None}
    got = T.infer(outs, losses)
    assert [t.kind for t in got] == ["classification", "regression", "multilabel", "classification"]
    assert [t.from_logits for t in got] == [True, False, False, False]  # no softmax on a: logits
    assert got[0].source == "compile loss sparse_categorical_crossentropy" and got[3].source == "softmax output"
    # a serialized loss object (Keras 3 / tf-keras .keras files) with from_logits
    (t,) = T.infer([("o", 1, None)], {"class_name": "BinaryCrossentropy", "config": {"from_logits": True}})
    assert t.kind == "binary" and t.from_logits
    (t,) = T.infer([("o", 1, None)], {"module": "keras.losses", "class_name": "MeanAbsoluteError", "config": {}})
    assert t.kind == "regression"
    # no loss, no activation: the labels decide, and never truncate a real-valued target
    (t,) = T.infer([("o", 1, None)], None, [np.array([0.5, 1.7, -3.2])])
    assert t.kind == "regression"
    (t,) = T.infer([("o", 4, None)], None, [np.array([0, 3, 1])])
    assert t.kind == "classification" and t.from_logits
    (t,) = T.infer([("o", 4, None)], None, [np.eye(4)[[0, 3, 1]]])
    assert t.kind == "classification"
    (t,) = T.infer([("o", 3, None)], None, [np.array([[1, 0, 1], [0, 0, 1]])])
    assert t.kind == "multilabel"
    (t,) = T.infer([("o", 10, "softmax")], None, None, task="regression")
    assert t.kind == "regression" and t.source == "--task"
    assert [t.kind for t in T.infer(outs[:2], None, None, task="classification,regression")] == \
        ["classification", "regression"]
    with pytest.raises(TinycError, match="--task nonsense: unknown task"):
        T.infer(outs, None, None, task="nonsense")
    with pytest.raises(TinycError, match="2 tasks for a model with 4 outputs"):
        T.infer(outs, None, None, task="regression,binary")


def test_labels_prepared_per_task_one_hot_accepted_regression_untouched():
    cls = T.OutputTask("c", "classification", 4)
    assert T.prepare(cls, np.eye(4)[[2, 0, 3]], "d.npz").tolist() == [2, 0, 3]
    assert T.prepare(cls, np.array([[1], [2]]), "d.npz").tolist() == [1, 2]
    with pytest.raises(TinycError, match="hold class 7 but the output has 4 classes"):
        T.prepare(cls, np.array([1, 7]), "d.npz")
    with pytest.raises(TinycError, match="not whole numbers.*--task regression"):
        T.prepare(cls, np.array([1.5, 2.0]), "d.npz")
    reg = T.OutputTask("r", "regression", 2)
    y = np.array([[0.25, -1.75], [3.5, 2.125]])
    assert np.array_equal(T.prepare(reg, y, "d.npz"), y.astype(np.float32))
    with pytest.raises(TinycError, match="3 values per sample but the output has 2"):
        T.prepare(reg, np.zeros((2, 3)), "d.npz")
    binary = T.OutputTask("b", "binary", 1)
    assert T.prepare(binary, np.eye(2)[[1, 0]], "d.npz").tolist() == [[1.0], [0.0]]  # one-hot of two classes
    multi = T.OutputTask("m", "multilabel", 3)
    with pytest.raises(TinycError, match=r"must lie in \[0, 1\]"):
        T.prepare(multi, np.array([[0, 2, 1]]), "d.npz")


def test_scores_changes_agreement_and_confusion():
    cls = T.OutputTask("c", "classification", 3)
    pred = np.array([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    assert T.score(cls, pred, np.array([1, 0, 2, 2])) == {"accuracy": 0.75}
    assert T.confusion(pred, np.array([1, 0, 2, 2]), 3) == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    reg = T.OutputTask("r", "regression", 1)
    m = T.score(reg, np.array([[1.0], [2.0], [4.0]]), np.array([[1.0], [3.0], [2.0]]))
    assert m["mae"] == pytest.approx(1.0) and m["rmse"] == pytest.approx(np.sqrt(5 / 3))
    assert "accuracy" not in m
    multi = T.OutputTask("m", "multilabel", 2, from_logits=True)
    m = T.score(multi, np.array([[2.0, -1.0], [-3.0, -0.5]]), np.array([[1, 0], [0, 1]]))
    assert m == {"label_accuracy": 0.75, "exact_match": 0.5}
    # change: points of accuracy lost, or % of RMSE gained (positive = worse)
    assert T.change(cls, {"accuracy": 0.95}, {"accuracy": 0.62}) == pytest.approx(33.0)
    assert T.change(reg, {"rmse": 2.0}, {"rmse": 2.5}) == pytest.approx(25.0)
    assert T.describe_change(cls, 33.0) == "-33.00 pts" and T.describe_change(reg, 25.0) == "RMSE +25.0%"
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    assert T.agreement(a, a) == {"max_abs": 0.0, "rmse": 0.0, "cosine": 1.0}
    g = T.agreement(a, np.array([[1.0, 0.5], [0.0, -2.0]]))
    assert g["max_abs"] == 4.0 and g["cosine"] == pytest.approx((1 / np.sqrt(1.25) - 1) / 2)


def test_nan_and_inf_refused_in_one_line_naming_the_file(tmp_path):
    x = np.ones((5, 4), np.float32)
    x[3, 2] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=np.arange(5))
    with pytest.raises(TinycError) as e:
        load_data(str(tmp_path / "nan.npz"))
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / "nan.npz") in msg and "1 NaN/infinite value(s) (first in sample 3)" in msg
    np.savez(tmp_path / "inf.npz", x=np.ones((5, 4)), y=np.array([0.5, np.inf, 1, 2, 3]))
    with pytest.raises(TinycError, match="y holds 1 NaN/infinite"):
        load_data(str(tmp_path / "inf.npz"))
    np.save(tmp_path / "calib.npy", np.full((2, 4), np.inf))
    with pytest.raises(TinycError, match="calib.npy: x holds 8 NaN/infinite"):
        load_data(str(tmp_path / "calib.npy"))
    np.savez(tmp_path / "huge.npz", x=np.full((2, 4), 1e300), y=np.arange(2))  # finite float64, inf as float32
    with pytest.raises(TinycError, match=r"x \(as float32\) holds 8 NaN/infinite"):
        load_data(str(tmp_path / "huge.npz"))


def test_labels_per_output_by_position_or_name(tmp_path):
    x = np.zeros((4, 3), np.float32)
    np.savez(tmp_path / "two.npz", x=x, y0=np.arange(4), y_shape=np.ones((4, 2)))
    d = load_data(str(tmp_path / "two.npz"))
    a, b = d.label_arrays(["level", "shape"])
    assert a.tolist() == [0, 1, 2, 3] and b.shape == (4, 2)
    np.savez(tmp_path / "one.npz", x=x, y=np.arange(4))
    with pytest.raises(TinycError, match="2 outputs .* one label array y; save one per output as y0..y1"):
        load_data(str(tmp_path / "one.npz")).label_arrays(["a", "b"])
    tasks = T.infer([("level", 1, None), ("shape", 2, None)], ["mse", "mae"])
    p = d.prepared(tasks)
    assert isinstance(p.y, tuple) and p.y[0].dtype == np.float32 and p.y[1].shape == (4, 2)
    part = p.take(np.array([0, 2]), "[part]")
    assert part.y[0].reshape(-1).tolist() == [0.0, 2.0] and part.tasks == tasks
