"""The report's JSON: from what a command holds (a build record, a measurement, a validation, an optimize
report, a fit result) to plain data. Everything here is also what report.html shows."""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from pathlib import Path
from typing import Any

FORMAT = 1  # report.json's format version


def _json(obj) -> Any:
    if obj is None:
        return None
    return obj.to_json() if hasattr(obj, "to_json") else obj


def _scope_layer(names: list[str]) -> dict[str, str]:
    """Tensor name -> Keras layer, for names under one model scope ("digits_cnn/conv1/Relu;..." -> "conv1"):
    ``layer_from_name`` first, else the segment after the scope most names start with."""
    from tinyc.model.ops import layer_from_name

    firsts = Counter(n.split(";")[0].split("/")[0] for n in names if n.count("/") >= 2)
    scope = firsts.most_common(1)[0][0] if firsts else None
    out = {}
    for n in names:
        name = layer_from_name(n)
        parts = [p for p in n.split(";")[0].split("/") if p]
        if name is None and scope and len(parts) >= 3 and parts[0] == scope:
            name = parts[1]
        if name:
            out[n] = name
    return out


def layer_rows(model: str | Path, board, weights: str = "auto", profile: Any = None,
               choices=None) -> list[dict[str, Any]]:
    """One row per operator of ``model`` as generated for ``board``: Keras layer name, op, kernel, kernel set,
    weight format, MACs, predicted instructions (tinyc.codegen.instructions) and, with ``profile`` (a
    LayerProfile or its JSON), measured cost and share."""
    from tinyc.analyze.memory import plan_improved
    from tinyc.codegen import footprint, instructions
    from tinyc.codegen.specialize import kernel_set_of
    from tinyc.model import graph as G
    from tinyc.model import ops

    g = G.load(model)
    low = footprint.lowering(g, plan_improved(g), board, weights)
    lowered = low.lowered
    predicted = instructions.call_instructions(instructions.cost_set(board, low.variant), g, lowered)
    kernels: dict[int, str] = {}
    for call in lowered.calls:
        kernels.setdefault(call.index, call.macro)
    packed = {p.op_index: p for p in lowered.packed}
    chosen = {}
    for c in choices or ():
        c = c if isinstance(c, dict) else c.to_json()
        chosen.setdefault(c["op_index"], c)
    names = _scope_layer([g.tensor(o).name for op in g.operators for o in op.outputs if o >= 0]
                         + [g.tensor(i).name for op in g.operators for i in op.inputs if i >= 0])
    measured = {}
    if profile is not None:
        p = _json(profile)
        measured = {x["op_index"]: x for x in p["layers"]}
    rows = []
    for op in g.operators:
        out_name = g.tensor(op.outputs[0]).name if op.outputs else ""
        layer = names.get(out_name)
        if layer is None:  # an activation the converter named after the call (softmax): its input's layer
            layer = next((names[g.tensor(i).name] for i in op.inputs if i >= 0 and g.tensor(i).name in names), None)
        has_weights = op.op in instructions.WEIGHT_OPS and len(op.inputs) > 1 and op.inputs[1] >= 0
        if op.index in packed:
            pw = packed[op.index]
            fmt = f"packed {pw.mode}, {pw.bits_per_weight:.2f} bits/weight"
        elif has_weights:
            fmt = f"dense {g.tensor(op.inputs[1]).dtype}"
        else:
            fmt = "-"
        kernel = (chosen.get(op.index) or {}).get("kernel") or kernels.get(op.index, "")
        kset = (chosen.get(op.index) or {}).get("kernel_set") or (kernel_set_of(kernel) if kernel else "")
        pred, exact = predicted.get(op.index, (None, False))
        m = measured.get(op.index)
        rows.append({"op_index": op.index, "layer": layer or out_name.split(";")[0] or f"op {op.index}",
                     "keras_layer": layer is not None, "op": op.op, "kernel": kernel.removeprefix("TINYC_"),
                     "kernel_set": kset, "weights": fmt, "macs": int(ops.macs(g, op)),
                     "predicted": None if pred is None else round(pred), "predicted_measured_kernel": exact,
                     "measured": None if m is None else round(m["cost"]),
                     "share": None if m is None else m["share"],
                     "reason": (chosen.get(op.index) or {}).get("reason")})
    if not measured:  # shares of the prediction
        total = sum(r["predicted"] or 0 for r in rows)
        for r in rows:
            r["share"] = (r["predicted"] or 0) / total if total else None
    return rows


def _memory(built) -> dict[str, Any] | None:
    if built is None:
        return None
    from tinyc.deploy.report import memory_rows

    mem = built.memory
    d = {"rows": memory_rows(built.budget, mem), "linked": mem.to_json(), "flash_size": built.board.flash,
         "sram_size": built.board.sram}
    if built.budget is None and built.predicted is not None:  # a build read back: the check's totals only
        p = built.predicted
        d["rows"] = [{"memory": "flash", "what": "total", "predicted": p.flash, "estimate": p.estimate,
                      "linked": mem.flash},
                     {"memory": "ram", "what": "total", "predicted": p.sram, "estimate": p.estimate,
                      "linked": mem.ram}]
    return d


def _compression(optimize) -> dict[str, Any] | None:
    o = _json(optimize)
    if not o:
        return None
    steps = []
    for s in o["steps"]:
        fig = s.get("figures") or {}
        steps.append({"name": s["name"], "detail": s["detail"], "float_accuracy": s.get("float_accuracy"),
                      "int8_accuracy": s.get("int8_accuracy"), "float_metrics": s.get("float_metrics"),
                      "int8_metrics": s.get("int8_metrics"), "change": s.get("change"), "drop": s.get("drop"),
                      "tflite_bytes": fig.get("tflite_bytes"), "packed_bytes": fig.get("packed_bytes"),
                      "arena_bytes": s.get("planned_arena_bytes")})
    return {"model": o["model"], "tasks": o.get("tasks"), "max_drop": o.get("max_drop"), "steps": steps,
            "warnings": o.get("warnings", [])}


def _fit(result) -> dict[str, Any] | None:
    r = _json(result)
    if not r:
        return None
    from tinyc.fit.pareto import front

    rows = [c for c in r["candidates"]]
    idx = front([{k: c[k] for k in ("accuracy", "latency", "flash", "sram")} for c in rows])
    keep = ("number", "key", "describe", "accuracy", "latency", "flash", "sram", "feasible", "measured_latency",
            "linked_flash", "linked_ram", "test_accuracy", "note")
    cands = [{k: c.get(k) for k in keep} | {"front": i in idx} for i, c in enumerate(rows)]
    chosen = r.get("chosen") or r.get("closest")
    return {"unit": r["unit"], "flash_budget": r["flash_budget"], "sram_budget": r["sram_budget"],
            "latency_target": r.get("latency_target"), "fits": r.get("fits"),
            "chosen": None if not chosen else {k: chosen.get(k) for k in keep},
            "chosen_fits": bool(r.get("chosen")), "reference": r.get("reference"), "candidates": cands,
            "front": [c for c in cands if c["front"]], "verified": r.get("verified", []),
            "study": r.get("study"), "workers": r.get("workers") or [], "seconds": r.get("seconds"),
            "messages": r.get("messages", [])}


def build_report(command: str, *, model: str | Path | None = None, board=None, run_board=None, built=None,
                 measurement=None, profile=None, validation=None, optimize=None, fit=None,
                 weights: str = "auto", layers: bool = True, extra: dict | None = None) -> dict[str, Any]:
    """The report's JSON. ``built``: a BuiltFirmware; ``measurement``: a bench Measurement; ``profile``: a
    LayerProfile; ``validation``: a Validation; ``optimize``: an OptimizeReport; ``fit``: a FitResult (or
    their JSON). The per-layer table is computed from the model as generated for the board."""
    from tinyc import __version__

    if built is not None:
        model = model or built.model
        board = board or built.board
        run_board = run_board or built.run_board
    from tinyc.boards import get_board

    if isinstance(board, str):
        board = get_board(board)
    if isinstance(run_board, str):
        run_board = get_board(run_board)
    m = _json(measurement)
    emulated = m["emulated"] if m else (run_board is not None and board is not None and run_board.id != board.id
                                         or (board is not None and board.upload.protocol == "qemu"))
    unit = m["unit"] if m else ("instructions" if emulated else "cycles")
    layer_section = None
    if layers and model is not None and board is not None and Path(model).suffix == ".tflite":
        try:
            rows = layer_rows(model, board, weights, profile, built.choices if built is not None else None)
            layer_section = {"unit": unit, "rows": rows, "measured": profile is not None,
                             "variant": built.variant if built is not None else None}
        except Exception as exc:  # the report never hides the command's own result
            layer_section = {"unit": unit, "rows": [], "measured": False, "error": str(exc).splitlines()[0]}
    v = _json(validation)
    report = {
        "format": FORMAT, "command": command, "tinyc_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "sections": {
            "summary": {"command": command, "model": None if model is None else str(model),
                        "board": getattr(board, "id", board), "run_board": getattr(run_board, "id", run_board),
                        "emulated": bool(emulated), "unit": unit, **(extra or {})},
            "memory": _memory(built),
            "layers": layer_section,
            "compression": _compression(optimize),
            "bench": m,
            "validation": v,
            "fit": _fit(fit),
        },
    }
    return report
