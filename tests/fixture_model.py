"""The Python twin of tests/fixtures/fake_model (a TEST FIXTURE, not a model): the same int8
transform, so tests can check what the firmware sends back byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DIR = Path(__file__).resolve().parent / "fixtures" / "fake_model"
SOURCES = [DIR / "tinyc_model.c"]
INCLUDE_DIRS = [DIR]
INPUT_BYTES = 64
MODEL_HASH = "5c63e3740081a1e1"
_W = np.array([[(7 * i + 13 * j) % 11 - 5 for j in range(10)] for i in range(64)], dtype=np.int32)


def transform(x: np.ndarray) -> np.ndarray:
    """int8[1,8,8,1] -> int8[1,10], exactly as tinyc_model_invoke() in the fixture."""
    acc = x.reshape(64).astype(np.int32) @ _W
    return np.clip((acc + 32) >> 6, -128, 127).astype(np.int8).reshape(1, 10)
