"""The compression space tinyc fit searches, and how one point of it becomes an int8 .tflite.

A point (Config): the fraction of filters removed per layer (structured pruning, guided by per-layer
sensitivity), then either binarized weights or magnitude pruning and/or weight clustering, then
optionally quantization-aware fine-tuning; always full-integer int8 at the end. Every step is one of
tinyc.optimize's (the same code `tinyc optimize` runs).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np

RATIOS = (0.0, 0.25, 0.5, 0.625, 0.75, 0.875)  # fractions of a layer's filters structured pruning may remove
SPARSITIES = (0.0, 0.5, 0.75)
CLUSTERS = (0, 16, 8, 4)  # 0: no clustering
MODES = ("int8", "binarize")


@dataclass(frozen=True)
class Config:
    channels: tuple[tuple[str, float], ...] = ()  # (layer, fraction of its filters removed), 0 omitted
    mode: str = "int8"  # or "binarize" (1-bit hidden Conv/Dense weights, int8 activations)
    sparsity: float = 0.0
    clusters: int = 0
    qat: bool = False

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> str:
        parts = []
        if self.channels:
            parts.append("filters -" + ",".join(f"{n}:{f:.0%}" for n, f in self.channels))
        if self.mode == "binarize":
            parts.append("binarized")
        if self.sparsity:
            parts.append(f"sparsity {self.sparsity:.0%}")
        if self.clusters:
            parts.append(f"{self.clusters} clusters")
        if self.qat:
            parts.append("QAT")
        return "; ".join(parts) or "int8 PTQ only"

    def to_json(self) -> dict:
        d = asdict(self)
        d["channels"] = {n: f for n, f in self.channels}
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Config":
        ch = tuple((n, float(f)) for n, f in d.get("channels", {}).items() if f)
        return cls(ch, d.get("mode", "int8"), float(d.get("sparsity", 0.0)), int(d.get("clusters", 0)),
                   bool(d.get("qat", False)))


@dataclass(frozen=True)
class Space:
    """Per-layer allowed channel fractions come from sensitivity: a fraction whose one-layer accuracy
    loss (before fine-tuning) is far beyond what fine-tuning recovers is left out for that layer."""

    layers: tuple[str, ...]  # layers whose filters may be removed (hidden Conv2D/Dense)
    ratios: dict = field(default_factory=dict)  # layer -> allowed fractions
    binarizable: bool = True
    modes: tuple[str, ...] = MODES
    sparsities: tuple[float, ...] = SPARSITIES
    clusters: tuple[int, ...] = CLUSTERS
    qat: tuple[bool, ...] = (False, True)

    def suggest(self, trial) -> Config:
        ch = []
        for name in self.layers:
            f = trial.suggest_categorical(f"prune_{name}", list(self.ratios.get(name, RATIOS)))
            if f:
                ch.append((name, float(f)))
        mode = trial.suggest_categorical("mode", list(self.modes if self.binarizable else ("int8",)))
        sparsity = trial.suggest_categorical("sparsity", list(self.sparsities))
        clusters = trial.suggest_categorical("clusters", list(self.clusters))
        qat = trial.suggest_categorical("qat", list(self.qat))
        return normalize(Config(tuple(ch), mode, float(sparsity), int(clusters), bool(qat)))

    def contains(self, c: Config) -> bool:
        """Whether the search can propose ``c`` (its ratios allowed, its modes in the space)."""
        ch = dict(c.channels)
        if any(n not in self.layers for n in ch):
            return False
        if any(ch.get(n, 0.0) not in self.ratios.get(n, RATIOS) for n in self.layers):
            return False
        modes = self.modes if self.binarizable else ("int8",)
        return (c.mode in modes and c.sparsity in self.sparsities and c.clusters in self.clusters
                and c.qat in self.qat)

    def params(self, c: Config) -> dict:
        """The optuna parameters of a config (to enqueue it as a trial)."""
        ch = dict(c.channels)
        p = {f"prune_{n}": _nearest(ch.get(n, 0.0), self.ratios.get(n, RATIOS)) for n in self.layers}
        p.update(mode=c.mode, sparsity=c.sparsity, clusters=c.clusters, qat=c.qat)
        return p

    def to_json(self) -> dict:
        return {"layers": list(self.layers), "ratios": {k: list(v) for k, v in self.ratios.items()},
                "modes": list(self.modes if self.binarizable else ("int8",)), "sparsities": list(self.sparsities),
                "clusters": list(self.clusters), "qat": list(self.qat)}


def _nearest(v: float, options) -> float:
    return min(options, key=lambda o: abs(o - v))


def normalize(c: Config) -> Config:
    """Binary weights are neither zero nor clustered, and QAT would move them off +-alpha: those knobs
    are void for binarized candidates (one config, one cache entry)."""
    if c.mode == "binarize":
        return Config(c.channels, c.mode, 0.0, 0, False)
    return c


def prunable_layers(model) -> list[str]:
    """Hidden Conv2D/Dense layers (the last weighted layer keeps its outputs: they are the classes).

    None for a branched model (residual Add, Concatenate, parallel paths): removing filters there would have
    to cut the same channels from every tensor an Add ties together and shift what follows a Concatenate,
    which structured pruning does not do; the rest of the space (binary weights, sparsity, clusters, QAT)
    applies to branched models unchanged."""
    if not is_chain(model):
        return []
    weighted = [l for l in model.layers if type(l).__name__ in ("Conv2D", "Conv1D", "Dense", "DepthwiseConv2D")]
    return [l.name for l in weighted[:-1] if type(l).__name__ in ("Conv2D", "Conv1D", "Dense")]


def is_chain(model) -> bool:
    """Whether every layer consumes exactly the previous one's output (what structured pruning handles)."""
    from tinyc.errors import NotImplementedYet
    from tinyc.optimize.prune import _chain

    try:
        _chain(model)
    except NotImplementedYet:
        return False
    return True


def binarizable(model) -> bool:
    weighted = [l for l in model.layers if type(l).__name__ in ("Conv2D", "Dense", "DepthwiseConv2D")]
    return any(type(l).__name__ in ("Conv2D", "Dense") for l in weighted[1:-1])


def sensitivity(model, layers, val, ratios=RATIOS) -> dict[str, dict[float, float]]:
    """Float accuracy lost on ``val`` when only ``layer`` loses ``ratio`` of its filters (smallest L1 norm
    first), before any fine-tuning: which layers can give up filters and which cannot."""
    from tinyc.optimize.prune import structured_prune
    from tinyc.optimize.train import keras_accuracy

    base = keras_accuracy(model, val)
    out: dict[str, dict[float, float]] = {}
    for name in layers:
        out[name] = {}
        for r in ratios:
            if r == 0:
                out[name][0.0] = 0.0
                continue
            narrow = structured_prune(model, 0.0, val, 0, per_layer={name: r})
            out[name][float(r)] = float(base - keras_accuracy(narrow, val))
    return out


def allowed_ratios(sens: dict[str, dict[float, float]], limit: float) -> dict[str, tuple[float, ...]]:
    """Per layer, the fractions whose loss before fine-tuning is within ``limit`` (always 0 and the
    smallest non-zero one, so every layer keeps a choice)."""
    out = {}
    for name, by_ratio in sens.items():
        rs = sorted(by_ratio)
        keep = [r for r in rs if r == 0 or by_ratio[r] <= limit]
        if len(keep) < 2 and len(rs) > 1:
            keep = rs[:2]
        out[name] = tuple(keep)
    return out


def guided_seeds(sens: dict[str, dict[float, float]], allowed: dict[str, tuple[float, ...]]) -> list[Config]:
    """Starting points, lightest first: weight storage alone (no filter removed), then uniform filter
    cuts, then per-layer cuts from the sensitivity table (for rising loss tolerances each layer takes the
    largest allowed fraction within the tolerance, so the insensitive layers shrink most), each with the
    storage modes that cut flash the most. The search then mixes them."""
    plans: list[tuple[tuple[str, float], ...]] = [()]
    for u in (0.25, 0.5):
        plans.append(tuple((n, max(r for r in rs if r <= u)) for n, rs in allowed.items()
                           if max(r for r in rs if r <= u) > 0))
    for tol in (0.02, 0.08, 0.2, 0.5):
        ch = []
        for name, rs in allowed.items():
            ok = [r for r in rs if sens[name].get(r, 1.0) <= tol]
            if ok and max(ok) > 0:
                ch.append((name, max(ok)))
        plans.append(tuple(ch))
    seeds = []
    for ch in plans:
        seeds += [Config(ch, "int8", 0.0, 16, False), Config(ch, "int8", 0.5, 4, False), Config(ch, "binarize")]
    uniq, seen = [], set()
    for s in seeds:
        if s.key() not in seen:
            seen.add(s.key())
            uniq.append(s)
    return uniq


def apply(model, c: Config, train, calib, epochs: int, seed: int) -> bytes:
    """The int8 .tflite of ``model`` compressed as ``c`` (fine-tuned on ``train``, calibrated on ``calib``)."""
    from tinyc.optimize.quantize import qat, to_int8
    from tinyc.optimize.stack import seed_everything

    seed_everything(seed)
    m = model
    pruned = clustered = False
    if c.channels:
        from tinyc.optimize.prune import structured_prune

        m = structured_prune(m, 0.0, train, epochs, per_layer=dict(c.channels))
    if c.mode == "binarize":
        from tinyc.optimize.binarize import binarize

        m, _ = binarize(m, train, epochs)
    else:
        if c.sparsity:
            from tinyc.optimize.prune import magnitude_prune

            m = magnitude_prune(m, c.sparsity, train, max(1, epochs))
            pruned = True
        if c.clusters:
            from tinyc.optimize.cluster import cluster

            m, _ = cluster(m, c.clusters, train, epochs, False, pruned)
            clustered = True
        if c.qat:
            m, _ = qat(m, train, epochs, pruned, clustered)
    return to_int8(m, calib)


def probe(model, c: Config, calib) -> bytes:
    """An untrained int8 .tflite with the shapes and weight storage ``c`` produces (filters removed,
    weights binarized / zeroed / snapped to ``clusters`` levels numerically): its flash, SRAM and latency
    are what the trained candidate's will be (to within what clustering leaves per channel), at the cost
    of one conversion instead of a fine-tuning. Configurations that cannot fit are skipped untrained."""
    from tinyc.fit.calibrate import _quantize_levels
    from tinyc.optimize.binarize import bake
    from tinyc.optimize.prune import structured_prune
    from tinyc.optimize.quantize import to_int8
    from tinyc.optimize.stack import fresh_copy

    m = structured_prune(model, 0.0, calib, 0, per_layer=dict(c.channels)) if c.channels else fresh_copy(model)
    weighted = [l for l in m.layers if type(l).__name__ in ("Conv2D", "Dense", "DepthwiseConv2D")]
    inner = {l.name for l in weighted[1:-1] if type(l).__name__ in ("Conv2D", "Dense")}
    for layer in weighted:
        if type(layer).__name__ not in ("Conv2D", "Dense"):
            continue
        ws = layer.get_weights()
        w = ws[0]
        if c.mode == "binarize":
            if layer.name in inner:
                w = bake(w)
        else:
            if c.clusters and w.size >= 4 * c.clusters:
                w = _quantize_levels(w, c.clusters)
            if c.sparsity:
                w = np.where(np.abs(w) <= np.quantile(np.abs(w), c.sparsity), 0.0, w).astype(np.float32)
        layer.set_weights([w] + ws[1:])
    return to_int8(m, calib, max_samples=32)


def data_hash(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]
