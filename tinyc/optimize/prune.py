"""Pruning: magnitude pruning to a target sparsity (tfmot), and structured pruning that removes whole
filters/units by rebuilding a narrower Keras model, so MACs, arena and flash all shrink."""

from __future__ import annotations

import numpy as np

from tinyc.errors import NotImplementedYet, TinycError
from tinyc.optimize.data import Dataset
from tinyc.optimize.stack import fresh_copy, tf_stack
from tinyc.optimize.train import fit, steps_per_epoch


def check_fraction(value: float, what: str) -> None:
    if not (0.0 < value < 1.0):
        raise TinycError(f"{what} {value} is impossible: give a fraction strictly between 0 and 1 (e.g. 0.5)")


def magnitude_prune(model, sparsity: float, train: Dataset, epochs: int, progress=None):
    """Prune Conv/Dense kernels to ``sparsity`` with a polynomial schedule that completes within the fit.

    tfmot's default frequency (100 steps) never prunes in a short fit, so the frequency and end step are
    derived from the real number of steps; the last pruning step lands on the schedule's end.
    """
    check_fraction(sparsity, "--prune sparsity")
    if epochs < 1:
        raise TinycError("magnitude pruning needs at least 1 fine-tuning epoch (--epochs)")
    s = tf_stack()
    sp = s.tfmot.sparsity.keras
    total = steps_per_epoch(train) * epochs
    freq = max(1, total // 20)
    end = max(freq, (int(total * 0.6) // freq) * freq)
    schedule = sp.PolynomialDecay(initial_sparsity=0.0, final_sparsity=float(sparsity), begin_step=0,
                                  end_step=end, frequency=freq)
    base = fresh_copy(model)
    try:
        wrapped = sp.prune_low_magnitude(base, pruning_schedule=schedule)
    except Exception as exc:
        raise TinycError(f"magnitude pruning cannot wrap this model: {str(exc).splitlines()[0][:200]}") from None
    fit(wrapped, train, epochs, f"prune {sparsity:.0%}", callbacks=[sp.UpdatePruningStep()], progress=progress)
    return fresh_copy(sp.strip_pruning(wrapped))


_PASS_THROUGH = ("InputLayer", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
                 "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
                 "Activation", "ReLU", "LeakyReLU", "Dropout", "ZeroPadding2D", "Softmax")


def structured_prune(model, fraction: float, train: Dataset, epochs: int, progress=None,
                     per_layer: dict[str, float] | None = None):
    """Remove ``fraction`` of the filters of every Conv2D and the units of every hidden Dense layer.

    Filters with the smallest L1 norm go; the consumers' input channels are cut to match and the
    surviving weights copied, then the narrower model is fine-tuned. Only chains of layers are handled
    (Sequential, or a functional model without branches): a residual Add ties channels across layers.
    ``per_layer`` (layer name -> fraction, 0 keeps all) replaces the one ``fraction`` (tinyc fit).
    """
    if per_layer is None:
        check_fraction(fraction, "--prune-channels fraction")
    k = tf_stack().keras
    layers = _chain(model)
    input_name = (getattr(model, "input_names", None) or ["input"])[0]  # fixed name: same seed, same bytes
    new_layers = [k.layers.InputLayer(input_shape=model.input_shape[1:], name=input_name)]
    new_weights = []
    keep = None  # surviving channel indices of the current tensor (None: all)
    last_weighted = max(i for i, l in enumerate(layers) if l.get_weights())
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        cfg = layer.get_config()
        w = layer.get_weights()
        if kind in ("Conv2D", "Conv1D", "Dense"):
            kernel = w[0]
            if keep is not None:
                kernel = np.take(kernel, keep, axis=-2)
            n_out = kernel.shape[-1]
            if i == last_weighted:  # the model's outputs keep their size
                out_keep = np.arange(n_out)
            else:
                f = fraction if per_layer is None else float(per_layer.get(layer.name, 0.0))
                n_keep = max(1, int(round(n_out * (1.0 - f))))
                norms = np.abs(kernel).reshape(-1, n_out).sum(axis=0)
                out_keep = np.sort(np.argsort(-norms, kind="stable")[:n_keep])
            cfg["filters" if kind != "Dense" else "units"] = len(out_keep)
            ws = [kernel[..., out_keep]] + ([w[1][out_keep]] if len(w) > 1 else [])
            keep = out_keep
        elif kind == "DepthwiseConv2D":
            if cfg.get("depth_multiplier", 1) != 1:
                raise NotImplementedYet(f"structured pruning of {layer.name}: depth_multiplier != 1 not supported")
            ws = [w[0] if keep is None else w[0][:, :, keep, :]]
            ws += [w[1] if keep is None else w[1][keep]] if len(w) > 1 else []
        elif kind == "BatchNormalization":
            ws = [a if keep is None else a[keep] for a in w]
        elif kind == "Flatten":
            if keep is not None:
                shape = layer.input_shape[1:]
                c = shape[-1]
                spatial = int(np.prod(shape[:-1]))
                keep = (np.arange(spatial)[:, None] * c + keep[None, :]).reshape(-1)
            ws = []
        elif kind in _PASS_THROUGH:
            if w:
                raise NotImplementedYet(f"structured pruning: layer {layer.name} ({kind}) has weights")
            ws = []
        else:
            raise NotImplementedYet(f"structured pruning does not handle layer {layer.name} ({kind}) yet; "
                                    "use --prune (magnitude pruning) for this model")
        if kind == "InputLayer":
            continue
        new_layers.append(type(layer).from_config(cfg))
        new_weights.append(ws)
    narrow = k.Sequential(new_layers, name=model.name)
    for layer, ws in zip(narrow.layers, new_weights):
        if ws:
            layer.set_weights(ws)
    fit(narrow, train, epochs, f"prune {fraction:.0%} of channels", progress=progress)
    return narrow


def _chain(model) -> list:
    """The model's layers in order, when each consumes exactly the previous one's output."""
    k = tf_stack().keras
    if isinstance(model, k.Sequential):
        return list(model.layers)
    layers = list(model.layers)
    for prev, layer in zip(layers, layers[1:]):
        inbound = [n for n in layer._inbound_nodes]
        ins = inbound[0].inbound_layers if inbound else []
        ins = ins if isinstance(ins, list) else [ins]
        if len(model.inputs) != 1 or len(ins) != 1 or ins[0] is not prev:
            raise NotImplementedYet(f"structured pruning handles chains of layers only; {layer.name} has "
                                    "branches or several inputs (use --prune for magnitude pruning)")
    return layers
