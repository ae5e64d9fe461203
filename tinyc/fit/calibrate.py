"""Calibrate the per-board latency model: profile a few untrained variants of the model being fitted
(narrower by structured pruning, weights stored dense / clustered / binary / sparse, layer by layer in
rotation) on the target, and fit per layer kind cost = a*MACs + b*outputs + c.

No training is needed (latency does not depend on how good the weights are, only on their shapes and
how they are stored), so calibration costs a handful of builds and emulator runs, once per board,
runtime sources and model architecture (cached).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from tinyc import paths
from tinyc.fit import latency
from tinyc.fit.latency import LatencyModel, Sample

STORAGE = ("dense", "lut", "sign", "sparse")
WIDTHS = (0.0, 0.5, 0.75)


def _quantize_levels(w: np.ndarray, k: int) -> np.ndarray:
    """Every weight snapped to one of k evenly spaced values (per tensor): <= k int8 values per channel."""
    lo, hi = float(w.min()), float(w.max())
    if hi <= lo:
        return w
    levels = np.linspace(lo, hi, k, dtype=np.float32)
    return levels[np.abs(w[..., None] - levels).argmin(axis=-1)]


def _store(w: np.ndarray, mode: str) -> np.ndarray:
    from tinyc.optimize.binarize import bake

    if mode == "lut":
        return _quantize_levels(w, 16)
    if mode == "sign":
        return bake(w)
    if mode == "sparse":
        cut = np.quantile(np.abs(w), 0.6)
        return np.where(np.abs(w) <= cut, 0.0, _quantize_levels(w, 15)).astype(np.float32)
    return w


def variants(model, layers: list[str], train, calib):
    """(label, int8 .tflite) calibration models derived from ``model``."""
    from tinyc.optimize.prune import structured_prune
    from tinyc.optimize.quantize import to_int8
    from tinyc.optimize.stack import fresh_copy

    out = []
    for wi, width in enumerate(WIDTHS):
        if width and not layers:
            continue  # a branched model keeps its widths (tinyc.fit.space.prunable_layers): storage variants only
        base = structured_prune(model, 0.0, train, 0, per_layer={n: width for n in layers}) if width else model
        for rot in (0, 1) if wi < 2 else (2,):
            m = fresh_copy(base)
            weighted = [l for l in m.layers if l.get_weights() and type(l).__name__ in ("Conv2D", "Dense")]
            modes = []
            for i, layer in enumerate(weighted):
                mode = STORAGE[(i + rot + wi) % len(STORAGE)]
                ws = layer.get_weights()
                layer.set_weights([_store(ws[0], mode)] + ws[1:])
                modes.append(mode)
            out.append((f"width -{width:.0%}, storage {'/'.join(modes)}", to_int8(m, calib, max_samples=50)))
    return out


def cache_key(board, run_board, arch: str) -> str:
    """The latency model is measured on firmware built from the variants of ``arch``: keyed by everything
    such a build depends on (tinyc.buildkey; this module's code is part of it) but a model file."""
    from tinyc.buildkey import firmware_key

    return firmware_key(None, board, emulate=run_board is not board,
                        calibration=[arch, list(WIDTHS), list(STORAGE)])


def architecture(model) -> str:
    return hashlib.sha256(json.dumps(model.get_config(), sort_keys=True, default=str).encode()).hexdigest()[:16]


def calibrate(model, layers, train, calib, board, run_board, progress=None, refresh: bool = False) -> LatencyModel:
    from tinyc.fit.cost import static_cost
    from tinyc.fit.profile import profile_layers

    key = cache_key(board, run_board, architecture(model))
    path = paths.cache_dir() / "fit" / "latency" / f"{board.id}-{key}.json"
    if not refresh:
        cached = latency.load(path)
        if cached is not None:
            return cached
    from tinyc.deploy.targets import target_for

    unit = target_for(board, emulate=run_board is not board, flashed=True).unit
    task = progress.add_task(f"latency model: profiling layers on {run_board.id}", total=None) if progress else None
    samples: list[Sample] = []
    totals = []
    models = variants(model, layers, train, calib)
    if progress is not None:
        progress.update(task, total=len(models), completed=0)
    for label, tfl in models:
        # packed wherever smaller, whatever the board's flash: the model must price packed layers too
        cost = static_cost(tfl, board, weights="packed")
        measured = profile_layers(tfl, board, run_board, weights="packed")
        per_model = []
        for l in cost.layers:
            if l.index in measured:
                samples.append(Sample(l, float(measured[l.index])))
                per_model.append(l)
        totals.append((per_model, float(sum(measured.values()))))
        if progress is not None:
            progress.advance(task)
    lm = latency.fit(samples, board.id, run_board.id, unit, key)
    err = float(np.mean([abs(lm.predict(ls) - t) / t for ls, t in totals if t > 0])) if totals else 0.0
    lm = LatencyModel(lm.board, lm.run_board, lm.unit, lm.coefficients, lm.samples, err, key,
                      {"models": [label for label, _ in models]})
    latency.save(lm, path)
    if progress is not None:
        progress.update(task, visible=False)
    return lm
