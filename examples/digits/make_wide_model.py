"""Train the fit demo model: a wider digits CNN that does NOT fit a Blue Pill (64 KiB flash, 20 KiB SRAM).

Same data as make_model.py (train.npz / calibration.npz / test.npz beside this file, which it does not
rewrite), a wider network: ~170k parameters, so its int8 weights alone are ~2.6x the Blue Pill's flash.
`tinyc fit examples/digits/digits_wide_cnn.keras --board bluepill --data examples/digits/train.npz
--test-data examples/digits/test.npz` searches for a compressed version that fits.

Deterministic (fixed seeds, single-threaded TF ops). Run:
  .venv/bin/python examples/digits/make_wide_model.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_model import build, deterministic, train  # noqa: E402  (its sibling: the same network, wider)

SEED = 4321
FILTERS = (48, 128, 96)


def main(out: Path = HERE / "digits_wide_cnn.keras", epochs: int = 20) -> float:
    _, tf_keras = deterministic(SEED)
    with np.load(HERE / "train.npz") as z:
        x, y = z["x"], z["y"]
    with np.load(HERE / "test.npz") as z:
        xt, yt = z["x"], z["y"]
    acc, params = train(tf_keras, lambda: build(tf_keras, FILTERS, "digits_wide_cnn"), (x, y), (xt, yt), epochs,
                        out)
    print(f"float test accuracy {acc:.4f} ({len(yt)} held-out samples); {params} parameters; wrote {out}")
    return acc


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "digits_wide_cnn.keras")
