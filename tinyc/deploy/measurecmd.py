"""`tinyc bench` and `tinyc validate`: the firmware through the board's target (``Target.build``, then
``open_link``, closed with the target), measured over the serial link. The CLI prints what they return."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

Say = Callable[[str], None]


@dataclass(frozen=True)
class BenchResult:
    measurement: Any  # tinyc.deploy.bench.Measurement
    profile: Any = None  # tinyc.deploy.profile.LayerProfile, with --per-layer
    choices: tuple[dict[str, Any], ...] | None = None  # the build's kernel choices (None: nothing was built)
    report: dict[str, Path] | None = None  # report.html / report.json written (tinyc.report)


def default_report_dir(model: str | None, board_id: str, command: str) -> Path:
    """Where bench and validate write their report without --report: tinyc-report/<model>-<board>-<command>."""
    return Path("tinyc-report") / f"{Path(model).stem if model else 'firmware'}-{board_id}-{command}"


def _report(command: str, report_dir, model, board_id: str, rec, inputs=(), say: Say = lambda m: None,
            **parts) -> dict[str, Path] | None:
    """One report of this run (tinyc.report: report.html and report.json) in ``report_dir`` (None: none). A
    report that cannot be written is one line: it never hides the measurement."""
    if report_dir is None:
        return None
    from tinyc.errors import TinycError
    from tinyc.report import build_report, write_report_dir

    rep = build_report(command, model=model or (rec.model if rec else None), board=rec.board if rec else board_id,
                       run_board=rec.run_board if rec else None, built=rec, **parts)
    try:
        return write_report_dir(rep, report_dir, inputs=[p for p in inputs if p])
    except TinycError as exc:
        say(f"no report written: {exc}")
        return None


def _verified(model: str) -> None:
    """A model the host runs as the reference without building it (a real board's --port): parsed, every
    operator supported, its tensors consistent with them (tinyc.model.verify), or one error line."""
    from tinyc.model import graph, ops

    ops.check_supported(graph.load(model))


def _link_note(link, say: Say) -> None:
    """What the serial link had to resend (a noisy cable shows here), on stderr; nothing on a clean line (a
    reply that was only late, on a busy host, is not worth a line)."""
    s = link.stats
    if s.resends and s.damaged_commands + s.damaged_lines + s.incomplete:
        say(f"{link.name}: the link recovered by itself: {link.stats.describe()}")


def run_bench(model: str | None, board_id: str, *, emulate: bool = False, firmware_dir: str | None = None,
              port: str | None = None, timeout: float = 60.0, runs: int = 10, per_layer: bool = False,
              layer_runs: int | None = None, weights: str = "auto", say: Say = lambda m: None,
              report_dir: str | Path | None = None) -> BenchResult:
    """Measure one inference (and with ``per_layer`` each layer) on the board's target."""
    from tinyc.deploy.bench import bench_link
    from tinyc.deploy.targets import run_target

    with run_target(board_id, emulate=emulate, port=port, timeout=timeout) as target:
        rec = target.build(model, firmware_dir=firmware_dir, say=say, profile=per_layer, weights=weights)
        if rec is None and model:  # a board already running its firmware (--port): nothing was built
            _verified(model)  # the reference runs it: a damaged file is one line before anything runs
        ref = Path(model) if model else (rec.model if rec else None)
        link = target.open_link(rec.elf if rec else None)
        m = bench_link(link, ref, runs=runs, timeout=timeout)
        prof = None
        if per_layer:
            from tinyc.deploy.profile import profile_link

            prof = profile_link(link, ref, runs=layer_runs, timeout=timeout, whole_runs=runs)
        _link_note(link, say)
    rep = _report("bench", report_dir, model, board_id, rec, [model], say, measurement=m, profile=prof)
    return BenchResult(m, prof, rec.choices if rec else None, rep)


def run_validate(model: str, board_id: str, data: str, *, emulate: bool = False, firmware_dir: str | None = None,
                 port: str | None = None, timeout: float = 60.0, limit: int | None = None,
                 float_model: str | None = None, task: str | None = None, weights: str = "auto",
                 say: Say = lambda m: None, report_dir: str | Path | None = None):
    """Stream ``data`` through the firmware on the board's target; every output compared with TFLite Micro
    (and ``float_model``). Returns tinyc.deploy.validate's Validation."""
    from tinyc.deploy.targets import run_target
    from tinyc.deploy.validate import load_test_data, validate_link

    load_test_data(Path(data))  # a data mistake (no labels, NaN) is one line before any build
    with run_target(board_id, emulate=emulate, port=port, timeout=timeout) as target:
        rec = target.build(model, firmware_dir=firmware_dir, say=say, weights=weights)
        if rec is None:  # a board already running its firmware (--port): nothing was built
            _verified(model)  # the reference runs it: a damaged file is one line before anything runs
        float_outputs = positions = None
        if float_model:
            from tinyc.deploy.validate import float_reference

            x = load_test_data(Path(data)).x
            float_outputs, positions = float_reference(float_model, Path(model), x[:limit] if limit else x)
        # Outputs only: QEMU runs without -icount (faster; its timings would mean nothing, none are reported).
        link = target.open_link(rec.elf if rec else None, timing=False)
        v = validate_link(link, Path(model), Path(data), limit=limit, timeout=timeout, task=task,
                          float_outputs=float_outputs, float_model=float_model, positions=positions)
        _link_note(link, say)
    _report("validate", report_dir, model, board_id, rec, [model, data, float_model], say, validation=v)
    return v
