"""Tables for the deploy commands: predicted vs linked memory, the measured cost, validation."""

from __future__ import annotations

from typing import Any

from tinyc.ui import Output, fmt_bytes, plain

# How tinyc check's budget items (tinyc/analyze/budget.py) line up with what the linker placed.
_FLASH_ROWS = (
    ("model constants", ("weights", "biases", "quantization data", "graph tables"), ("model constants",)),
    ("kernel code", ("kernel code",), ("model code", "runtime kernels")),
    ("harness, startup, port, libc", ("runtime code",), ("harness", "startup & port", "C library",
                                                          "alignment padding", "linker")),
)
_RAM_ROWS = (
    ("tensor arena", ("tensor arena",), ("tensor arena",)),
    ("stack", ("stack",), ("stack",)),
    ("harness buffers, port state", ("runtime state", "I/O buffers", "kernel scratch", "harness input copy"),
     ("harness", "startup & port", "C library",
                                                                      "alignment padding", "model code",
                                                                      "runtime kernels", "model constants",
                                                                      "linker")),
)


def memory_rows(budget, memory) -> list[dict[str, Any]]:
    """Predicted vs linked bytes, row by row (predicted is None without a budget)."""
    rows = []
    for kind, table, items in (("flash", _FLASH_ROWS, budget.flash_items if budget else ()),
                               ("ram", _RAM_ROWS, budget.sram_items if budget else ())):
        by_name = {i.name: i for i in items}
        for label, pred_names, parts in table:
            pred = [by_name[n] for n in pred_names if n in by_name] if budget else []
            linked = sum(memory.parts.get(p, {}).get(kind, 0) for p in parts)
            rows.append({"memory": kind, "what": label,
                         "predicted": sum(i.bytes for i in pred) if budget else None,
                         "estimate": any(i.estimate for i in pred), "linked": linked})
        rows.append({"memory": kind, "what": "total",
                     "predicted": (budget.flash_used if kind == "flash" else budget.sram_used) if budget else None,
                     "estimate": bool(budget and budget.estimate),
                     "linked": memory.flash if kind == "flash" else memory.ram})
    return rows


def render_memory(out: Output, built) -> None:
    from rich.table import Table

    t = Table(title=f"memory on {plain(built.board.id)}: tinyc check's prediction vs the linked firmware",
              title_justify="left")
    for col, just in (("", "left"), ("part", "left"), ("predicted", "right"), ("linked", "right"),
                      ("difference", "right")):
        t.add_column(col, justify=just)
    for r in memory_rows(built.budget, built.memory):
        pred = "-" if r["predicted"] is None else f"{r['predicted']:,} B" + (" (est.)" if r["estimate"] else "")
        diff = "-" if r["predicted"] is None else f"{r['linked'] - r['predicted']:+,} B"
        style = "bold" if r["what"] == "total" else None
        t.add_row("flash" if r["memory"] == "flash" else "SRAM", plain(r["what"]), pred, f"{r['linked']:,} B",
                  diff, style=style)
    out.print(t)
    mem = built.memory
    out.print(f"linked: flash {fmt_bytes(mem.flash)} of {fmt_bytes(built.board.flash)}, "
              f"RAM {fmt_bytes(mem.ram)} (arena {mem.arena:,} B, stack {mem.stack:,} B)")
    out.print("input refill before each timed run: " + (
        "from the firmware's own copy of the input (counted in harness buffers)" if built.input_copy else
        "the host sends the input again (no RAM on this board for a copy)"))
    if built.budget is not None and built.budget.plan.arena_size != mem.arena:
        out.warn(f"the linked arena ({mem.arena} B) differs from the plan ({built.budget.plan.arena_size} B)")
    out.print("[dim]Differences come from the rows marked (est.): tinyc check estimates code and buffers "
              "until a build measures them; the weights and the arena are exact.[/dim]")


def render_measurement(out: Output, m) -> None:
    from rich.table import Table

    t = Table(title=f"cost of one inference on {plain(m.board)}" + (" (emulated)" if m.emulated else ""),
              title_justify="left", show_header=False)
    t.add_column(style="bold")
    t.add_column()
    unit = "instructions (QEMU -icount; not cycles, not time)" if m.emulated else "cycles"
    t.add_row("median", f"{m.median:,} {unit}")
    t.add_row("min / max", f"{m.min:,} / {m.max:,} over {m.runs} runs")
    if m.emulated:
        t.add_row("resolution", f"{m.per_tick:g} instructions per timer tick ({m.tick_hz / 1e6:g} MHz timer)")
    else:
        t.add_row("time", f"{m.ms_median:.3f} ms at {m.tick_hz / 1e6:g} MHz")
    if getattr(m, "init", 0):
        t.add_row("once at start-up", f"{m.init:,} {'instructions' if m.emulated else 'cycles'} "
                                      "(tinyc_model_init: filters decoded into RAM, --weights packed-ram)")
    t.add_row("outputs per run", "identical checksum every run" if m.checksums_identical
              else "CHECKSUMS DIFFER between runs")
    if m.outputs_match is not None:
        t.add_row("vs TFLite Micro", "bit-identical" if m.outputs_match else plain("; ".join(m.mismatches)))
    out.print(t)


def render_validation(out: Output, v) -> None:
    """The headline (accuracy only for a one-output classifier), then per output: the task's scores of the
    target, of TFLite Micro and of the float model, the target's error against both, and the confusion
    matrix of a classifier."""
    from rich.table import Table

    from tinyc.optimize import tasks as T

    head = f"[bold]{v.samples}[/bold] samples from {plain(v.data)} on {plain(v.board)}: "
    if v.target_accuracy is not None:
        head += (f"target accuracy [bold]{v.target_accuracy:.2%}[/bold], host (TFLite Micro) {v.host_accuracy:.2%}; ")
    out.print(head + f"{v.identical}/{v.samples} outputs bit-identical to the host"
              + (f" (first differing samples: {list(v.first_mismatches)})" if v.first_mismatches else ""))
    if not v.outputs:
        return
    t = Table(title="per output" + (f" (float model: {plain(v.float_model)})" if v.float_model else ""),
              title_justify="left")
    for col in ("output", "task", "target", "TFLite Micro", "float model", "vs TFLite Micro: max |d|, RMSE, cos",
                "vs float: max |d|, RMSE, cos", "identical"):
        t.add_column(col, justify="left" if col in ("output", "task", "target", "TFLite Micro", "float model")
                     else "right")

    def err(d):
        return "-" if d is None else f"{d['max_abs']:.4g}, {d['rmse']:.4g}, {d['cosine']:.4f}"

    for o in v.outputs:
        task = T.OutputTask(**{**o.task, "loss": None})
        t.add_row(plain(o.name), task.kind, T.describe(task, o.target) if o.target else "-",
                  T.describe(task, o.host) if o.host else "-", T.describe(task, o.float) if o.float else "-",
                  err(o.vs_tflm), err(o.vs_float), f"{o.identical}/{v.samples}")
    out.print(t)
    for o in v.outputs:
        if o.confusion and len(o.confusion) <= 20:
            cm = Table(title=f"confusion matrix of {plain(o.name)} on the target (rows: true class, columns: "
                             "predicted)", title_justify="left")
            cm.add_column("")
            for j in range(len(o.confusion)):
                cm.add_column(str(j), justify="right")
            for i, row in enumerate(o.confusion):
                cm.add_row(str(i), *[str(c) if c else "." for c in row])
            out.print(cm)
    sat = v.input_saturation
    if sat:
        line = (f"inputs outside the int8 input range [{sat['low']:.4g}, {sat['high']:.4g}] (saturated): "
                f"{sat['count']:,} of {sat['total']:,} values ({100 * sat['fraction']:.2f}%)")
        if sat["fraction"] >= 0.01:
            out.warn(line + "; scale the inputs as the calibration data was scaled")
        else:
            out.print(line)


def render_layer_profile(out: Output, p, choices=None) -> None:
    """tinyc bench --per-layer: one row per layer (its kernel and kernel set), then why any layer runs a less
    optimized set than the board's best (``choices``: the generator's KernelChoice records or their JSON, as a
    build records them; without them the set is read from the kernel's name), then how the layers add up to
    the whole inference."""
    from rich.table import Table

    from tinyc.codegen.specialize import kernel_set_of

    by_op = {}
    for c in choices or ():
        c = c if isinstance(c, dict) else c.to_json()
        by_op.setdefault(c["op_index"], c)
    unit = "instructions" if p.emulated else "cycles"
    short = "instr" if p.emulated else "cycles"
    name = plain(p.model_name or p.model_hash)
    t = Table(title=f"per-layer cost of one inference of {name} on {plain(p.board)}"
              + (" (emulated: QEMU instruction counts, not cycles)" if p.emulated else ""), title_justify="left")
    for col in ("#", "op", "layer", "kernel", "set", unit, "share", "MACs", f"{short}/MAC"):
        t.add_column(col, justify="left" if col in ("layer", "kernel", "set") else "right")
    for x in p.layers:
        c = by_op.get(x.op_index)
        kset = c["kernel_set"] if c else kernel_set_of(x.kernel)
        t.add_row(str(x.layer), str(x.op_index), plain(x.op), plain(x.kernel.removeprefix("TINYC_")), plain(kset),
                  f"{x.cost:,.0f}", f"{x.share:.1%}", "-" if x.macs is None else f"{x.macs:,}",
                  "-" if x.per_mac is None else f"{x.per_mac:.2f}")
    macs = "-" if p.macs is None else f"{p.macs:,}"
    per_mac = f"{p.layer_sum / p.macs:.2f}" if p.macs else "-"
    t.add_row("", "", "sum of layers", "", "", f"{p.layer_sum:,.0f}", "100.0%", macs, per_mac, style="bold")
    out.print(t)
    for x in p.layers:
        c = by_op.get(x.op_index)
        if c and c.get("reason"):
            out.print(f"op {x.op_index} {plain(x.op)} runs the {plain(c['kernel_set'])} set: {plain(c['reason'])}")
    how = (f"{p.runs} runs started at {p.period} timer phases ({p.per_tick:g} {short} per tick): exact"
           if p.emulated and p.exact else
           f"{p.runs} runs (not a multiple of the {p.period} phases of a tick: within {p.per_tick:g} {short}"
           f" per layer)" if p.emulated else f"{p.runs} runs, cycle counter")
    out.print(f"per layer: {how}")
    rel = p.difference / p.whole if p.whole else 0.0
    out.print(f"whole inference (RUN, median of {p.whole_runs}, same firmware): {p.whole:,} {unit}; the layers "
              f"add up to {p.layer_sum:,.0f} ({p.difference:+,.0f}, {rel:+.3%}: the call into the model and the "
              f"first and last clock readings"
              + (f"; RUN itself is exact to one tick, {p.per_tick:g} {short})" if p.emulated else ")"))
