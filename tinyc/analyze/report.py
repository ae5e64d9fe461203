"""Rich tables for `tinyc check` and `tinyc inspect` (JSON comes from the dataclasses' to_json)."""

from __future__ import annotations

from typing import Any

from tinyc.analyze.budget import Budget
from tinyc.model import ops as opsmod
from tinyc.model.graph import Graph
from tinyc.ui import fmt_bytes, plain


def _b(n: int) -> str:
    return f"{n:,} B" if abs(n) < 1024 else f"{n:,} B ({fmt_bytes(abs(n)) if n >= 0 else '-' + fmt_bytes(-n)})"


def _shape(s) -> str:
    return "x".join(str(d) for d in s) if s else "scalar"


def render_check(out, b: Budget) -> None:
    from rich.table import Table

    out.print(f"[bold]{plain(b.model)}[/bold] on [bold]{plain(b.board)}[/bold]: {len(b.layers)} ops, "
              f"{b.total_params:,} params, {b.total_macs:,} MACs")
    regions = Table(title="memory budget", title_justify="left")
    for col, j in (("memory", "left"), ("region", "left"), ("used", "right"), ("available", "right"),
                   ("headroom", "right"), ("", "left")):
        regions.add_column(col, justify=j)
    for name, region, used, avail, head, est in (
            ("flash", b.flash_region, b.flash_used, b.flash_available, b.flash_headroom,
             any(i.estimate for i in b.flash_items)),
            ("SRAM", b.ram_region, b.sram_used, b.sram_available, b.sram_headroom,
             any(i.estimate for i in b.sram_items))):
        style = "green" if head >= 0 else "bold red"
        regions.add_row(name, f"{plain(region.name)} @ {region.origin:#010x}", _b(used), _b(avail),
                        f"[{style}]{_b(head)}[/{style}]", "includes estimates" if est else "")
    for r in b.other_regions:
        regions.add_row("flash" if r.kind == "flash" else "SRAM", f"{plain(r.name)} @ {r.origin:#010x}", "0 B",
                        _b(r.size), _b(r.size), "not used by tinyc's linker script")
    out.print(regions)

    items = Table(title="breakdown", title_justify="left")
    for col, j in (("memory", "left"), ("item", "left"), ("bytes", "right"), ("", "left"), ("note", "left")):
        items.add_column(col, justify=j)
    for mem, lst in (("flash", b.flash_items), ("SRAM", b.sram_items)):
        for i in lst:
            items.add_row(mem, plain(i.name), f"{i.bytes:,}",
                          "[yellow]estimate[/yellow]" if i.estimate else "exact", plain(i.note))
    out.print(items)

    rec = b.tflm_recorded
    arena = f"arena: tinyc plan {b.plan.arena_size:,} B ({plain(b.plan.detail)}); TFLM-equivalent {b.tflm_plan.arena_size:,} B"
    if rec:
        arena += f"; TFLM recorded head {rec['head']:,} B, total {rec['total']:,} B (x86 host)"
    out.print(arena)
    for n in b.plan.notes:
        out.print(f"  {plain(n)}")
    out.print(f"peak SRAM at {plain(b.peak_op_name)}: {b.plan.peak_live_bytes:,} B of tensors live")

    largest = Table(title="largest tensors", title_justify="left")
    for col, j in (("tensor", "right"), ("name", "left"), ("shape", "left"), ("bytes", "right")):
        largest.add_column(col, justify=j)
    for i, n, s, nb in b.largest_tensors:
        largest.add_row(str(i), plain(n[:48]), _shape(s), f"{nb:,}")
    out.print(largest)

    layers = Table(title="layers", title_justify="left")
    coded = any(r.code for r in b.layers)
    options = {i: o for o in (b.weights.options if b.weights else ()) for i in o.ops}
    cols = [("#", "right"), ("op", "left"), ("output", "left"), ("MACs", "right"), ("params", "right"),
            ("weights", "right")]
    if coded:
        cols += [("storage", "left"), ("kernels", "left"), ("instr (est.)", "right"), ("packing would", "left")]
    for col, j in cols:
        layers.add_column(col, justify=j)
    reasons: dict[str, list[int]] = {}  # why a portable kernel -> ops
    for r in b.layers:
        if r.code is not None and r.code.reason:
            reasons.setdefault(f"{r.code.kernel_set} ({r.code.kernel}): {r.code.reason}", []).append(r.index)
    notes = {why: n + 1 for n, why in enumerate(reasons)}
    for r in b.layers:
        mark = " [bold]<- peak[/bold]" if r.index == b.peak_op else ""
        row = [str(r.index), plain(r.op) + mark, _shape(r.output_shape), f"{r.macs:,}", f"{r.params:,}",
               f"{r.weight_bytes:,}"]
        if coded:
            c, o = r.code, options.get(r.index)
            if c is None:
                row += ["", "", "", ""]
            else:
                why = f"{c.kernel_set} ({c.kernel}): {c.reason}" if c.reason else None
                kset = plain(c.kernel_set) + (f" [{notes[why]}]" if why else "")
                instr = "-" if c.instructions is None else f"{c.instructions:,.0f}" + ("" if c.measured else "*")
                would = ""
                if o is not None and "decoded into RAM" in (c.weights or ""):
                    would = f"saved {o.saved:,} B of flash, for SRAM"
                elif o is not None:
                    extra = "?" if o.extra == float("inf") else f"{o.extra:+,.0f} instr"
                    would = (f"saved {o.saved:,} B, {extra}" if c.weights and c.weights.startswith("packed")
                             else f"save {o.saved:,} B, {extra}")
                row += [plain(c.weights or ""), kset, instr, would]
        layers.add_row(*row)
    out.print(layers)
    for why, ops in reasons.items():
        out.print(f"  [{notes[why]}] op{'s' if len(ops) > 1 else ''} {', '.join(map(str, ops))}: {plain(why)}")
    if b.weights is not None:
        out.print(f"weights: {plain(b.weights.reason())}")
    if coded:
        out.print("instr (est.): instructions per inference predicted from per-kernel costs measured in QEMU "
                  "(tinyc/codegen/kernel_costs.py; * a related kernel's); `tinyc bench --per-layer` measures them")

    if b.estimate:
        out.print("[yellow]code size, runtime state, stack and I/O buffers are estimates until the C runtime "
                  "reports its build sizes[/yellow]")
    if b.fits:
        out.print(f"[bold green]fits[/bold green] {plain(b.board)}: flash headroom {_b(b.flash_headroom)}, "
                  f"SRAM headroom {_b(b.sram_headroom)}")
    else:
        parts = []
        if b.flash_headroom < 0:
            parts.append(f"flash by {-b.flash_headroom:,} B")
        if b.sram_headroom < 0:
            parts.append(f"SRAM by {-b.sram_headroom:,} B")
        out.print(f"[bold red]does not fit[/bold red] {plain(b.board)}: over {' and '.join(parts)}")
        for a in b.advice:
            out.print(f"  - {plain(a)}")
        if b.fitting_boards:
            out.print(f"  - boards it fits: {plain(', '.join(b.fitting_boards))}")


def inspect_json(g: Graph) -> dict[str, Any]:
    d = g.to_json()
    for op, od in zip(g.operators, d["operators"]):
        od["macs"] = opsmod.macs(g, op)
        od["params"] = opsmod.params(g, op)
    d["total_macs"] = sum(o["macs"] for o in d["operators"])
    d["total_params"] = sum(o["params"] for o in d["operators"])
    return d


def _q(t) -> str:
    q = t.quantization
    if not q.is_quantized:
        return "-"
    if q.per_channel:
        return f"per-channel x{len(q.scales)} (dim {q.quantized_dimension})"
    return f"s={q.scales[0]:.4g} zp={q.zero_points[0] if q.zero_points else 0}"


def render_inspect(out, g: Graph) -> None:
    from rich.table import Table

    from tinyc.errors import TinycError

    d = inspect_json(g)
    try:
        opsmod.check_supported(g)
        verdict = "[green]runs on tinyc (int8, supported ops)[/green]"
    except TinycError as exc:
        verdict = f"[red]not runnable by tinyc:[/red] {plain(str(exc).split(': ', 1)[-1])}"
    out.print(f"[bold]{plain(g.name)}[/bold] ({g.file_size:,} B, sha256 {g.sha256[:12]}): {len(g.operators)} ops, "
              f"{len(g.tensors)} tensors, {d['total_params']:,} params, {d['total_macs']:,} MACs")
    out.print(verdict)
    io = Table(title="inputs and outputs", title_justify="left")
    for col in ("", "tensor", "name", "shape", "dtype", "quantization"):
        io.add_column(col)
    for kind, idx in (("input", g.inputs), ("output", g.outputs)):
        for i in idx:
            t = g.tensor(i)
            io.add_row(kind, str(i), plain(t.name[:40]), _shape(t.shape), plain(t.dtype), _q(t))
    out.print(io)
    table = Table(title="operators (execution order)", title_justify="left")
    for col, j in (("#", "right"), ("op", "left"), ("v", "right"), ("inputs", "left"), ("output", "left"),
                   ("quantization", "left"), ("options", "left"), ("MACs", "right"), ("params", "right")):
        table.add_column(col, justify=j)
    for op, od in zip(g.operators, d["operators"]):
        ins = ", ".join(f"{_shape(g.tensor(i).shape)}{'c' if g.tensor(i).is_constant else ''}" if i >= 0 else "-"
                        for i in op.inputs)
        outs = ", ".join(_shape(g.tensor(i).shape) for i in op.outputs)
        opts = {k: v for k, v in op.options.items() if k in (
            "padding", "stride_w", "stride_h", "dilation_w_factor", "dilation_h_factor", "depth_multiplier",
            "fused_activation_function", "filter_width", "filter_height", "keep_num_dims", "axis", "beta",
            "keep_dims")}
        wq = _q(g.tensor(op.inputs[1])) if len(op.inputs) > 1 and op.inputs[1] >= 0 else ""
        table.add_row(str(op.index), plain(op.op), str(op.version), ins, outs,
                      f"out {_q(g.tensor(op.outputs[0]))}" + (f"; w {wq}" if wq and wq != "-" else "")
                      if op.outputs else "", plain(" ".join(f"{k}={v}" for k, v in opts.items())),
                      f"{od['macs']:,}", f"{od['params']:,}")
    out.print(table)
