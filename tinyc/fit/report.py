"""What tinyc fit writes and prints: the chosen model, its report, every candidate (CSV), the Pareto
front (table and PNG plot) of accuracy vs latency vs memory."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from tinyc.fit.pareto import OBJECTIVES, front

CSV_COLUMNS = ("trial", "key", "config", "accuracy", "latency", "flash", "sram", "feasible", "measured_latency",
               "linked_flash", "linked_ram", "test_accuracy", "note")
PLOT_KEY = "tinyc:pareto"  # PNG text chunk: the plotted front points (trial, accuracy, latency, flash, sram)


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(CSV_COLUMNS))
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in CSV_COLUMNS})


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot(rows: list[dict], path: Path, unit: str, flash_budget: int | None = None,
         chosen_key: str | None = None, latency_target: float | None = None) -> list[dict]:
    """Accuracy vs latency (colour: flash) and accuracy vs flash (colour: SRAM): every candidate grey,
    the non-dominated ones (all four objectives) highlighted. Returns the front rows it drew."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = front(rows)
    pts = [rows[i] for i in idx]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, xcol, xlabel, ccol in ((axes[0], "latency", f"predicted latency ({unit})", "flash"),
                                   (axes[1], "flash", "flash (bytes, packed weights)", "sram")):
        ax.scatter([float(r[xcol]) for r in rows], [float(r["accuracy"]) for r in rows], s=14, c="lightgrey",
                   label="evaluated")
        sc = ax.scatter([float(r[xcol]) for r in pts], [float(r["accuracy"]) for r in pts], s=40,
                        c=[float(r[ccol]) for r in pts], cmap="viridis", edgecolors="black", label="Pareto front")
        fig.colorbar(sc, ax=ax, label=f"{ccol} (bytes)")
        for r in rows:
            if chosen_key and r["key"] == chosen_key:
                ax.scatter([float(r[xcol])], [float(r["accuracy"])], s=160, facecolors="none", edgecolors="red",
                           label="chosen")
        if xcol == "flash" and flash_budget:
            ax.axvline(flash_budget, color="red", ls="--", lw=1, label="flash budget")
        if xcol == "latency" and latency_target:
            ax.axvline(latency_target, color="red", ls="--", lw=1, label="latency target")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("validation accuracy (TFLite Micro)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("tinyc fit: accuracy vs latency vs memory")
    fig.tight_layout()
    meta = json.dumps([{"trial": int(r["trial"]), **{c: float(r[c]) for c, _ in OBJECTIVES}} for r in pts])
    fig.savefig(path, format="png", dpi=90, metadata={PLOT_KEY: meta})
    plt.close(fig)
    return pts


def read_plot_points(path: Path) -> list[dict]:
    """The front points a plot was drawn from (its PNG text chunk)."""
    from PIL import Image

    with Image.open(path) as im:
        return json.loads(im.text[PLOT_KEY])


FIT_FILES = ("model.tflite", "candidates.csv", "pareto.csv", "pareto.png", "fit-report.json", "fit-report.md")


def write_outputs(result, out_dir: Path) -> dict[str, Path]:
    """model.tflite (the answer, or nothing when none fits), fit-report.json/.md, candidates.csv,
    pareto.csv, pareto.png, into ``out_dir`` (the stage of the command's ``tinyc.outputs.OutputDir``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [c.row() for c in result.candidates]
    write_csv(rows, out_dir / "candidates.csv")
    pts = plot(rows, out_dir / "pareto.png", result.unit, result.flash_budget,
               result.chosen.key if result.chosen else None, result.latency_target)
    write_csv(pts, out_dir / "pareto.csv")
    if result.chosen is not None:
        shutil.copyfile(result.chosen.tflite, out_dir / "model.tflite")
    (out_dir / "fit-report.json").write_text(json.dumps(result.to_json(), indent=2, default=str))
    (out_dir / "fit-report.md").write_text(markdown(result, pts))
    names = ["candidates.csv", "pareto.csv", "pareto.png", "fit-report.json", "fit-report.md"]
    if result.chosen is not None:
        names.insert(0, "model.tflite")
    return {n: out_dir / n for n in names}


def _pct(x) -> str:
    return "-" if x is None or x == "" else f"{100 * float(x):.2f}%"


def summary_lines(result) -> list[str]:
    r = result
    ref = r.reference
    lines = [f"board {r.board} (measured on {r.run_board}; latency in {r.unit}"
             + (", QEMU instruction counts, not cycles" if r.unit == "instructions" else "") + ")",
             f"budget: flash {r.flash_budget:,} B, SRAM {r.sram_budget:,} B"
             + (f", latency <= {r.latency_target:,.0f} {r.unit}" if r.latency_target else ""),
             f"reference (float model as it is): validation {_pct(ref['float_val_accuracy'])}, "
             f"test {_pct(ref['float_test_accuracy'])}"]
    if ref.get("int8"):
        i = ref["int8"]
        lines.append(f"as it is (int8 PTQ): flash {i['flash']:,} B, SRAM {i['sram']:,} B, "
                     f"~{i['latency']:,.0f} {r.unit} (predicted)")
    corr = ref.get("linked_correction") or {}
    if corr.get("flash", 0) > 0 or corr.get("ram", 0) > 0:
        lines.append(f"fit check adds what links on {r.board} measured beyond the analysis: flash "
                     f"+{corr['flash']:,} B, RAM +{corr['ram']:,} B")
    lm = r.latency_model
    lines.append(f"latency model: {lm['samples']} measured layers on {lm['run_board']}, "
                 f"{100 * lm['fit_error']:.1f}% mean error on the calibration models")
    lines.append(f"{len(r.candidates)} candidates evaluated ({r.trials_this_run} fine-tuned in this run, "
                 "the rest cached), "
                 f"{sum(c.feasible for c in r.candidates)} predicted to fit, {len(r.skipped)} configurations "
                 f"skipped untrained (their untrained probe was over budget); {r.seconds:.0f} s")
    c = r.chosen or r.closest
    what = "chosen" if r.chosen else "NO CANDIDATE IN THE SPACE MEETS EVERY CONSTRAINT; closest"
    lines.append(f"{what}: {c.describe}")
    if c.linked_flash is not None:
        lines.append(f"  linked flash {c.linked_flash:,} B of {r.flash_budget:,} B (predicted {c.flash:,}); "
                     f"RAM {c.linked_ram:,} B of {r.sram_budget:,} B (predicted {c.sram:,})")
    else:
        lines.append(f"  predicted flash {c.flash:,} B of {r.flash_budget:,}; SRAM {c.sram:,} B of "
                     f"{r.sram_budget:,}" + (f" ({c.note})" if c.note else ""))
    if c.measured_latency is not None:
        lines.append(f"  measured {c.measured_latency:,} {r.unit} per inference (predicted {c.latency:,.0f})"
                     + (f"; target {r.latency_target:,.0f}" if r.latency_target else ""))
    lines.append(f"  accuracy on the held-out test split: {_pct(c.test_accuracy)} "
                 f"(drop {100 * (ref['float_test_accuracy'] - c.test_accuracy):.2f} points vs the float model); "
                 f"validation {_pct(c.accuracy)}")
    if not r.chosen:
        lines.append("  violations (over budget by): " + ", ".join(f"{k} {v:,.3g}" for k, v in c.violations.items()
                                                                   if v > 0))
    lines += [f"note: {m}" for m in r.messages]
    return lines


def markdown(result, pts: list[dict]) -> str:
    r = result
    out = ["# tinyc fit report", ""] + [f"- {l.strip()}" for l in summary_lines(r)] + [""]
    out += ["## Pareto front (validation accuracy, predicted latency, flash, SRAM)", "",
            f"| trial | config | accuracy | latency ({r.unit}) | flash | SRAM | fits |",
            "|---|---|---|---|---|---|---|"]
    for p in sorted(pts, key=lambda p: -float(p["accuracy"])):
        out.append(f"| {p['trial']} | {p['config']} | {_pct(p['accuracy'])} | {float(p['latency']):,.0f} | "
                   f"{int(p['flash']):,} | {int(p['sram']):,} | {p['feasible']} |")
    out += ["", "## Verified on the target", "",
            "| key | predicted latency | measured | linked flash | linked RAM | ok |",
            "|---|---|---|---|---|---|"]
    for v in r.verified:
        out.append(f"| {v['key']} | {v['predicted_latency']:,} | {v['measured_latency']} | {v['linked_flash']} | "
                   f"{v['linked_ram']} | {v['ok']} |")
    out += ["", "## Per-layer sensitivity (accuracy lost removing filters of one layer, before fine-tuning)", ""]
    for layer, d in r.sensitivity.items():
        out.append(f"- {layer}: " + ", ".join(f"{float(k):.0%} -> {100 * v:.1f} pts" for k, v in d.items()))
    return "\n".join(out) + "\n"
