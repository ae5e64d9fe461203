"""report.html from the report's JSON: one self-contained page (inline CSS, matplotlib charts as PNG data:
URIs, no script, no link to anything outside the file) and report.json beside it."""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

TITLES = {"summary": "Summary", "memory": "Memory: predicted vs linked", "layers": "Per layer",
          "compression": "Compression steps", "bench": "Cost of one inference", "validation": "Validation",
          "fit": "Fit: Pareto front"}
FILLED_BY = {"memory": "tinyc build, bench or validate (a build of the model)",
             "layers": "tinyc build, bench (measured with --per-layer) or validate",
             "compression": "tinyc build of a Keras model (or with --prune/--cluster)",
             "bench": "tinyc build or tinyc bench", "validation": "tinyc validate, or tinyc build --test-data",
             "fit": "tinyc fit, or tinyc build --fit"}

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5cad3}main{padding:8px 28px 40px;max-width:1200px}
nav a{color:#c5cad3;margin-right:14px;font-size:13px;text-decoration:none}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:18px 0;padding:14px 20px}
h2{font-size:17px;margin:4px 0 10px}table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e6e9ee;padding:4px 10px;text-align:right;white-space:nowrap}
th{background:#f0f2f5}td.l,th.l{text-align:left}tr.total td{font-weight:600}tr.front td{background:#eef6ee}
.empty{color:#6b7280;font-style:italic}.note{color:#4b5563;font-size:13px}.bad{color:#b42318;font-weight:600}
img{max-width:100%;height:auto;display:block;margin:8px 0}dl{display:grid;grid-template-columns:max-content auto;
gap:3px 16px;font-size:14px}dt{color:#6b7280}dd{margin:0}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _num(x, nd: int = 0) -> str:
    if x is None or x == "":
        return "-"
    if isinstance(x, (int, float)):
        return f"{x:,.{nd}f}"
    return _e(x)


def _pct(x) -> str:
    return "-" if x is None or x == "" else f"{100 * float(x):.2f}%"


def _table(head: list[str], rows: list[list[str]], left: tuple[int, ...] = (0,), classes: list[str] | None = None) -> str:
    h = "".join(f"<th class='l'>{_e(c)}</th>" if i in left else f"<th>{_e(c)}</th>" for i, c in enumerate(head))
    body = []
    for k, r in enumerate(rows):
        cls = f" class='{classes[k]}'" if classes and classes[k] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td class='l'>{c}</td>" if i in left else f"<td>{c}</td>"
                                           for i, c in enumerate(r)) + "</tr>")
    return f"<table><thead><tr>{h}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "<img alt='chart' src='data:image/png;base64," + base64.b64encode(buf.getvalue()).decode() + "'>"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# -- sections ------------------------------------------------------------------------------------------

def _summary(d: dict) -> str:
    items = [("command", d.get("command")), ("model", d.get("model")), ("board", d.get("board")),
             ("runs on", (d.get("run_board") or "-") + (" (emulated: QEMU)" if d.get("emulated") else "")),
             ("figures in", d.get("unit") + (" (QEMU -icount instruction counts, not cycles)"
                                             if d.get("unit") == "instructions" else ""))]
    items += [(k, v) for k, v in d.items() if k not in ("command", "model", "board", "run_board", "emulated", "unit")]
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _memory(d: dict) -> str:
    rows, classes = [], []
    for r in d["rows"]:
        pred = "-" if r["predicted"] is None else f"{r['predicted']:,} B" + (" (est.)" if r.get("estimate") else "")
        diff = "-" if r["predicted"] is None else f"{r['linked'] - r['predicted']:+,} B"
        rows.append(["flash" if r["memory"] == "flash" else "SRAM", _e(r["what"]), pred, f"{r['linked']:,} B", diff])
        classes.append("total" if r["what"] == "total" else "")
    out = _table(["memory", "part", "predicted (tinyc check)", "linked", "difference"], rows, (0, 1), classes)
    lk = d["linked"]
    out += (f"<p class='note'>Linked: flash {lk['flash']:,} B of {d['flash_size']:,} B, SRAM {lk['ram']:,} B of "
            f"{d['sram_size']:,} B (arena {lk.get('arena', 0):,} B, stack {lk.get('stack', 0):,} B). Rows marked "
            "(est.) are estimates until the linker places them; weights and arena are exact.</p>")
    plt = _plt()
    parts = [r for r in d["rows"] if r["what"] != "total" and r["predicted"] is not None]
    if parts:
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(parts) + 1.2))
        labels = [f"{'flash' if r['memory'] == 'flash' else 'SRAM'}: {r['what']}" for r in parts]
        y = range(len(parts))
        ax.barh([i + 0.2 for i in y], [r["predicted"] for r in parts], 0.4, label="predicted", color="#9db4d6")
        ax.barh([i - 0.2 for i in y], [r["linked"] for r in parts], 0.4, label="linked", color="#1f5aa6")
        ax.set_yticks(list(y), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("bytes")
        ax.legend(fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        out += _png(fig)
    return out


def _layers(d: dict) -> str:
    if d.get("error"):
        return f"<p class='empty'>per-layer table not available: {_e(d['error'])}</p>"
    unit = d["unit"]
    rows = []
    for r in d["rows"]:
        rows.append([str(r["op_index"]), _e(r["layer"]), _e(r["op"]), _e(r["kernel"]), _e(r["kernel_set"]),
                     _e(r["weights"]), _num(r["macs"]), _num(r["predicted"]), _num(r["measured"]),
                     "-" if r["share"] is None else f"{100 * r['share']:.1f}%"])
    out = _table(["#", "layer", "op", "kernel", "kernel set", "weights", "MACs", f"predicted {unit}",
                  f"measured {unit}", "share"], rows, (1, 2, 3, 4, 5))
    reasons = [r for r in d["rows"] if r.get("reason")]
    out += "".join(f"<p class='note'>op {r['op_index']} ({_e(r['layer'])}) runs the {_e(r['kernel_set'])} set: "
                   f"{_e(r['reason'])}</p>" for r in reasons)
    out += ("<p class='note'>" + ("Measured: tinyc bench --per-layer on the target (exact QEMU instruction counts "
                                   "when emulated). " if d.get("measured") else
                                   "Measured figures come with tinyc bench --per-layer. ")
            + "Predicted: the kernel cost model (tinyc.codegen.instructions). Layer names are the Keras layers "
              "the tensors came from.</p>")
    plt = _plt()
    key = "measured" if d.get("measured") else "predicted"
    vals = [r for r in d["rows"] if r[key]]
    if vals:
        fig, ax = plt.subplots(figsize=(9, 0.35 * len(vals) + 1.2))
        ax.barh(range(len(vals)), [r[key] for r in vals], color="#1f5aa6")
        ax.set_yticks(range(len(vals)), [f"{r['layer']} ({r['op']})" for r in vals], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(f"{key} {unit} per inference")
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        out += _png(fig)
    return out


def _compression(d: dict) -> str:
    rows = []
    for s in d["steps"]:
        rows.append([_e(s["name"]), _e(s["detail"]), _pct(s["float_accuracy"]), _pct(s["int8_accuracy"]),
                     _num(s["tflite_bytes"]), _num(s["packed_bytes"]), _num(s["arena_bytes"]),
                     _e(", ".join("-" if c is None else f"{c:+.2f}" for c in (s.get("drop") or [])) or "-")])
    out = _table(["step", "what", "float accuracy", "int8 accuracy (TFLite Micro)", ".tflite bytes",
                  "packed bytes", "arena plan", "drop vs float"], rows, (0, 1))
    out += "".join(f"<p class='note bad'>{_e(w)}</p>" for w in d.get("warnings") or [])
    acc = [s for s in d["steps"] if s["int8_accuracy"] is not None or s["float_accuracy"] is not None]
    if acc:
        plt = _plt()
        fig, ax1 = plt.subplots(figsize=(9, 3.4))
        xs = range(len(d["steps"]))
        ax1.plot(xs, [s["int8_accuracy"] for s in d["steps"]], "o-", color="#1f5aa6", label="int8 accuracy")
        ax1.plot(xs, [s["float_accuracy"] for s in d["steps"]], "s--", color="#9db4d6", label="float accuracy")
        ax1.set_ylabel("accuracy")
        ax1.set_xticks(list(xs), [s["name"] for s in d["steps"]], fontsize=8)
        ax2 = ax1.twinx()
        ax2.bar(xs, [s["packed_bytes"] or 0 for s in d["steps"]], alpha=0.25, color="#888", label="packed bytes")
        ax2.set_ylabel("bytes (packed)")
        ax1.legend(fontsize=8, loc="lower left")
        ax1.grid(alpha=0.3)
        fig.tight_layout()
        out += _png(fig)
    return out


def _bench(m: dict) -> str:
    unit = m["unit"]
    items = [("median", f"{m['median']:,} {unit}"), ("min / max", f"{m['min']:,} / {m['max']:,} over {m['runs']} runs")]
    if m.get("emulated"):
        items.append(("resolution", f"{m['per_tick']:g} instructions per timer tick (QEMU -icount: instructions, "
                                    "not cycles)"))
    elif m.get("ms_median") is not None:
        items.append(("time", f"{m['ms_median']:.3f} ms"))
    items.append(("outputs", "bit-identical to TFLite Micro" if m.get("outputs_match") else
                  "not compared" if m.get("outputs_match") is None else
                  "DIFFER from TFLite Micro: " + "; ".join(m.get("mismatches") or [])))
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _validation(v: dict) -> str:
    head = f"<p>{v['samples']} samples from {_e(v['data'])} on {_e(v['board'])}: "
    if v.get("target_accuracy") is not None:
        head += (f"target accuracy <b>{_pct(v['target_accuracy'])}</b>, TFLite Micro on the host "
                 f"{_pct(v['host_accuracy'])}; ")
    head += f"{v['identical']}/{v['samples']} outputs bit-identical to the host.</p>"
    rows = []

    def score(s):
        if not s:
            return "-"
        return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in s.items()
                         if isinstance(v, (int, float)))

    def err(e):
        return "-" if not e else f"{e['max_abs']:.4g}, {e['rmse']:.4g}, {e['cosine']:.4f}"

    for o in v.get("outputs") or []:
        rows.append([_e(o["name"]), _e(o["task"].get("kind")), _e(score(o.get("target"))), _e(score(o.get("host"))),
                     _e(score(o.get("float"))), err(o.get("vs_tflm")), err(o.get("vs_float")),
                     f"{o['identical']}/{v['samples']}"])
    out = head + _table(["output", "task", "target", "TFLite Micro", "float model",
                         "vs TFLite Micro (max |d|, RMSE, cos)", "vs float", "identical"], rows, (0, 1, 2, 3, 4))
    cm = next((o["confusion"] for o in v.get("outputs") or [] if o.get("confusion")), None)
    if cm and len(cm) <= 30:
        plt = _plt()
        n = len(cm)
        fig, ax = plt.subplots(figsize=(0.45 * n + 2, 0.45 * n + 1.5))
        ax.imshow(cm, cmap="Blues")
        for i in range(n):
            for j in range(n):
                if cm[i][j]:
                    ax.text(j, i, str(cm[i][j]), ha="center", va="center", fontsize=7,
                            color="white" if cm[i][j] > max(map(max, cm)) / 2 else "black")
        ax.set_xlabel("predicted on the target")
        ax.set_ylabel("true class")
        ax.set_title("confusion matrix", fontsize=10)
        fig.tight_layout()
        out += _png(fig)
    return out


def _fit(f: dict) -> str:
    unit = f["unit"]
    c = f.get("chosen")
    out = "<p>"
    if c:
        out += (("Chosen" if f.get("chosen_fits") else "<span class='bad'>No candidate meets every constraint"
                 "</span>; closest") + f": {_e(c['describe'])}: validation {_pct(c['accuracy'])}, test "
                f"{_pct(c['test_accuracy'])}, linked flash {_num(c['linked_flash'])} B of {f['flash_budget']:,} B, "
                f"RAM {_num(c['linked_ram'])} B of {f['sram_budget']:,} B, measured {_num(c['measured_latency'])} "
                f"{unit}.")
    out += f" {len(f['candidates'])} candidates, {len(f['front'])} on the Pareto front.</p>"
    rows = [[str(p["number"]), _e(p["describe"]), _pct(p["accuracy"]), _num(p["latency"]), _num(p["flash"]),
             _num(p["sram"]), "yes" if p["feasible"] else "no", _num(p["measured_latency"]), _num(p["linked_flash"])]
            for p in sorted(f["front"], key=lambda p: -p["accuracy"])]
    out += _table(["trial", "configuration", "val. accuracy", f"latency ({unit}, predicted)", "flash", "SRAM",
                   "fits", "measured", "linked flash"], rows, (1,))
    if f.get("workers"):
        out += "<p class='note'>Workers: " + "; ".join(
            f"{_e(w.get('worker'))}: {len(w.get('trials', []))} trials" for w in f["workers"]) + "</p>"
    if f.get("study"):
        out += f"<p class='note'>Study: {_e(f['study'].split('@')[-1])}</p>"
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, x, label in ((axes[0], "latency", f"predicted latency ({unit})"), (axes[1], "flash", "flash (bytes)")):
        ax.scatter([p[x] for p in f["candidates"]], [p["accuracy"] for p in f["candidates"]], s=14, c="lightgrey",
                   label="evaluated")
        ax.scatter([p[x] for p in f["front"]], [p["accuracy"] for p in f["front"]], s=36, c="#1f5aa6",
                   edgecolors="black", label="Pareto front")
        if c:
            ax.scatter([c[x]], [c["accuracy"]], s=150, facecolors="none", edgecolors="red", label="chosen")
        if x == "flash":
            ax.axvline(f["flash_budget"], color="red", ls="--", lw=1, label="flash budget")
        if x == "latency" and f.get("latency_target"):
            ax.axvline(f["latency_target"], color="red", ls="--", lw=1, label="latency target")
        ax.set_xlabel(label)
        ax.set_ylabel("validation accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return out + _png(fig)


RENDER = {"summary": _summary, "memory": _memory, "layers": _layers, "compression": _compression, "bench": _bench,
          "validation": _validation, "fit": _fit}


def render_html(report: dict) -> str:
    from tinyc.report import SECTIONS

    s = report["sections"]
    summ = s["summary"]
    title = f"tinyc {report['command']}: {Path(str(summ.get('model') or '')).name} on {summ.get('board')}"
    parts = []
    for name in SECTIONS:
        data = s.get(name)
        body = RENDER[name](data) if data else \
            f"<p class='empty'>Not part of this run ({_e(FILLED_BY.get(name, ''))} fills it).</p>"
        parts.append(f"<section id='{name}' data-filled='{'yes' if data else 'no'}'><h2>{_e(TITLES[name])}</h2>"
                     f"{body}</section>")
    nav = "".join(f"<a href='#{n}'>{_e(TITLES[n])}</a>" for n in SECTIONS)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body><header><h1>{_e(title)}</h1>"
            f"<p>tinyc {_e(report['tinyc_version'])}, {_e(report['created'])}</p><nav>{nav}</nav></header>"
            f"<main>{''.join(parts)}</main></body></html>\n")


def write_report(report: dict, out_dir: str | Path) -> dict[str, Path]:
    """report.html and report.json into ``out_dir`` (each swapped in whole: a reader never sees half)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"report.json": json.dumps(report, indent=2, default=str), "report.html": render_html(report)}
    paths = {}
    for name, text in files.items():
        p = out / name
        tmp = out / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(text)
        tmp.replace(p)
        paths[name] = p
    return paths


def write_report_dir(report: dict, path: str | Path, *, inputs=()) -> dict[str, Path]:
    """report.html and report.json as a folder of tinyc's (tinyc.outputs.OutputDir): a run replaces the report
    an earlier run wrote there, and never a file of yours."""
    from tinyc.outputs import OutputDir

    with OutputDir(path, force=True, inputs=inputs, planned=("report.html", "report.json"), wait=True) as d:
        write_report(report, d.stage)
        d.commit()
    return {n: Path(path) / n for n in ("report.html", "report.json")}
