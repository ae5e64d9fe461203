"""Per-board latency model: per layer kind, cost = a * MACs + b * output elements + c.

A layer's kind is its op plus how its weights are stored (dense int8 or a packed mode: packed kernels
decode weights, so they cost differently). The coefficients are fitted (non-negative least squares) on
per-layer counts measured on the target: QEMU instruction counts for emulated runs, core cycles on a
real board; the unit travels with the model and is never converted. Cached per board, runtime sources
and calibration set, so a board is profiled once until the kernels change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from tinyc.errors import TinycError


@dataclass(frozen=True)
class LayerFeatures:
    """What the latency model prices a layer by (a measured layer is tinyc.deploy.profile.LayerCost)."""

    index: int
    kind: str  # "CONV_2D", "CONV_2D/lut", ...
    macs: int
    out_elems: int


@dataclass(frozen=True)
class Sample:
    layer: LayerFeatures
    measured: float


@dataclass(frozen=True)
class LatencyModel:
    board: str  # the board whose limits the firmware is built for
    run_board: str  # where it was measured (an emulated stand-in, or the board itself)
    unit: str  # "instructions" (emulated) or "cycles" (hardware)
    coefficients: dict[str, tuple[float, float, float]]
    samples: int = 0
    fit_error: float = 0.0  # mean |relative error| of whole calibration models
    key: str = ""
    extra: dict = field(default_factory=dict)

    def layer(self, l: LayerFeatures) -> float:
        a, b, c = self.coefficients.get(l.kind) or self._fallback(l.kind)
        return a * l.macs + b * l.out_elems + c

    def _fallback(self, kind: str) -> tuple[float, float, float]:
        """A storage mode never measured: the op's dense coefficients (said in the report); an op never
        measured has no estimate at all."""
        op = kind.split("/")[0]
        if op in self.coefficients:
            return self.coefficients[op]
        same = [v for k, v in self.coefficients.items() if k.split("/")[0] == op]
        if same:
            return tuple(max(v[i] for v in same) for i in range(3))
        raise TinycError(f"the {self.board} latency model has no measurements of {op} layers; delete "
                         f"the latency cache (tinyc fit --recalibrate) so it profiles them")

    def predict(self, layers: Iterable[LayerFeatures]) -> float:
        return float(sum(self.layer(l) for l in layers))

    def to_json(self) -> dict:
        return {"board": self.board, "run_board": self.run_board, "unit": self.unit,
                "coefficients": {k: list(v) for k, v in self.coefficients.items()}, "samples": self.samples,
                "fit_error": self.fit_error, "key": self.key, "extra": self.extra}

    @classmethod
    def from_json(cls, d: dict) -> "LatencyModel":
        return cls(d["board"], d["run_board"], d["unit"], {k: tuple(v) for k, v in d["coefficients"].items()},
                   d.get("samples", 0), d.get("fit_error", 0.0), d.get("key", ""), d.get("extra", {}))


def fit(samples: Sequence[Sample], board: str, run_board: str, unit: str, key: str = "") -> LatencyModel:
    """Per kind, non-negative least squares of measured = a*MACs + b*out + c (columns scaled first)."""
    by_kind: dict[str, list[Sample]] = {}
    for s in samples:
        by_kind.setdefault(s.layer.kind, []).append(s)
    coef: dict[str, tuple[float, float, float]] = {}
    for kind, ss in by_kind.items():
        A = np.array([[s.layer.macs, s.layer.out_elems, 1.0] for s in ss], dtype=np.float64)
        y = np.array([s.measured for s in ss], dtype=np.float64)
        scale = np.maximum(np.abs(A).max(axis=0), 1.0)
        coef[kind] = tuple(float(v) for v in _nonneg_lstsq(A / scale, y) / scale)
    return LatencyModel(board, run_board, unit, coef, len(samples), 0.0, key)


def _nonneg_lstsq(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with every coefficient >= 0: drop the most negative column and solve again
    (three columns, so at most three rounds). A cost term never runs backwards."""
    active = list(range(A.shape[1]))
    while active:
        sol, *_ = np.linalg.lstsq(A[:, active], y, rcond=None)
        if (sol >= 0).all():
            out = np.zeros(A.shape[1])
            out[active] = sol
            return out
        del active[int(np.argmin(sol))]
    return np.zeros(A.shape[1])


def save(model: LatencyModel, path) -> None:
    from pathlib import Path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(model.to_json(), indent=2))
    tmp.replace(p)


def load(path) -> LatencyModel | None:
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        return None
    try:
        return LatencyModel.from_json(json.loads(p.read_text()))
    except (ValueError, KeyError):
        return None
