"""`tinyc fit` and `tinyc build --fit` as functions: run the search into its output folder and report it.

The CLI parses options into a ``FitRequest``; this module owns the output folder (checked before the
search, written atomically after it) and the summary lines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tinyc.errors import DoesNotFit, TinycError
from tinyc.fit.search import FitRequest


REPORT_FILES = ("report.html", "report.json")


def _report(result, stage: Path) -> dict[str, Path]:
    """The run's report (tinyc.report): the Pareto front, the chosen model's memory and layers as linked."""
    from tinyc.report import build_report, write_report

    c = result.chosen or result.closest
    model = c.tflite if c is not None and Path(c.tflite).is_file() else None
    rep = build_report("fit", model=model, board=result.board, run_board=result.run_board, fit=result,
                       weights=result.request.get("weights", "auto"),
                       extra={"source": str(result.request.get("model")), "study": result.study})
    return write_report(rep, stage)


def run_fit_command(out, req: FitRequest, out_dir: str | None, force: bool) -> tuple[Any, dict[str, Path]]:
    """Search, write the fit report and its files into ``out_dir`` (default tinyc-fit/<model>-<board>);
    return (FitResult, {file name: path})."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from tinyc.fit.report import FIT_FILES, summary_lines, write_outputs
    from tinyc.fit.search import run_fit
    from tinyc.outputs import OutputDir

    dest = Path(out_dir) if out_dir else Path("tinyc-fit") / f"{Path(req.model).stem}-{req.board}"
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                        console=out.err, transient=True, disable=out.verbosity < 0)
    inputs = [req.model, req.data] + ([req.test_data] if req.test_data else [])
    with OutputDir(dest, force=force, inputs=inputs, planned=FIT_FILES + REPORT_FILES) as folder:  # before the search
        with progress:
            result = run_fit(req, progress=progress, say=out.info)
        staged = write_outputs(result, folder.stage)
        staged.update(_report(result, folder.stage))
        folder.commit()
    files = {name: dest / name for name in staged}
    if not out.json:
        for line in summary_lines(result):
            out.print(line, markup=False)
        out.print(f"wrote {', '.join(str(p) for p in files.values())}")
    return result, files


def run_fit_worker(out, storage: str, study_name: str | None, *, model: str | None = None,
                   data: str | None = None, test_data: str | None = None, wait: float = 0.0) -> dict:
    """`tinyc fit-worker`: the request the study published, run as a worker (tinyc.fit.distributed)."""
    from tinyc.fit import distributed as Dist
    from tinyc.fit.search import run_fit

    name, published = Dist.find_request(storage, study_name, wait)
    req = Dist.request_for_worker(published, storage, name, model, data, test_data)
    out.info(f"joining study {name} ({req.model} on {req.board})")
    return run_fit(req, say=out.info)


def fit_for_build(out, model: str, board_id: str, *, data: str | None, test_data: str | None,
                  max_latency: float | None, budget_time: float, out_dir: str | None, force: bool,
                  weights: str, compressing: bool) -> tuple[str, Any]:
    """`tinyc build --fit`: (the search's model, written beside the build in <build>.fit/, for the build to
    use; the FitResult, for the build's report); the build's own folder is checked before the search."""
    if model.endswith(".tflite") or compressing or not data:
        raise TinycError("--fit needs the Keras model and --data D.npz, and replaces --prune/--cluster")
    from tinyc.deploy.pipeline import BUILD_ENTRIES
    from tinyc.outputs import OutputDir

    dest = Path(os.path.abspath(out_dir or Path("tinyc-build") / f"{Path(model).stem}-{board_id}"))
    with OutputDir(dest, force=force, inputs=[model], planned=BUILD_ENTRIES, shown=out_dir):
        pass
    req = FitRequest(model=model, board=board_id, data=data, test_data=test_data, max_latency=max_latency,
                     budget_time=budget_time, weights=weights)
    result, files = run_fit_command(out, req, str(dest.with_name(dest.name + ".fit")), force)
    if not result.fits:
        raise DoesNotFit(f"--fit: no candidate fits {board_id}; see {files['fit-report.md']}")
    return str(files["model.tflite"]), result
