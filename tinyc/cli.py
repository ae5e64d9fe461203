"""The tinyc command line. Commands parse options, call one function, and print its result.

Heavy libraries (TensorFlow, tflite-micro) are imported inside the commands that need them,
never at module level: `tinyc boards` and `tinyc check` must start in well under a second.
"""

from __future__ import annotations

import sys

import click

from tinyc import __version__
from tinyc.errors import TinycError
from tinyc.ui import Output, fmt_bytes, fmt_hz, plain, printable


class _Group(click.Group):
    """Turns a user mistake (TinycError, or a usage error click finds) into one line on stderr and its exit
    code."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # plain `tinyc`: the help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "tinyc"
            click.echo(f"error: {printable(exc.format_message())} (see '{where} --help')", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {printable(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TinycError as exc:
            click.echo(f"error: {printable(exc)}", err=True)  # a name from a model stays one visible line
            for line in exc.details.splitlines():
                click.echo(f"  {printable(line)}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinyc")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what each step does.")
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, quiet: bool) -> None:
    """tinyc: put a trained neural network on a microcontroller.

    Compress it, check it against the board's memory, generate firmware, flash it and measure it.
    """
    ctx.obj = Output(verbosity=1 if verbose else -1 if quiet else 0)


def _json_mode(ctx: click.Context, _param, value: bool) -> bool:
    """--json makes stdout pure JSON: the human tables of the same command are not printed."""
    if value and isinstance(ctx.obj, Output):
        ctx.obj.json = True
    return value


WEIGHTS_HELP = ("How Conv/FC filters are stored in flash: auto (dense, which the fast kernels run, while the model "
                "fits the board dense; else pack the filters that save the most flash per instruction added until "
                "it fits), packed (packed wherever smaller: clustered/pruned/binary weights, decoded every "
                "inference), packed-ram (packed as packed, and decoded once at start-up into the SRAM the board "
                "leaves, so each inference runs the dense kernels: flash saved for RAM instead of time), or dense.")


def weights_option(f):
    return click.option("--weights", "weights", type=click.Choice(["auto", "packed", "packed-ram", "dense"]),
                        default="auto",
                        show_default=True, help=WEIGHTS_HELP)(f)


def report_options(f):
    """--report DIR / --no-report: the run's report.html and report.json (tinyc.report)."""
    f = click.option("--no-report", "no_report", is_flag=True, help="Write no report.html / report.json.")(f)
    return click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=str), default=None,
                        help="Folder for this run's report.html (self-contained) and report.json "
                             "[default: tinyc-report/<model>-<board>-<command>].")(f)


def _report_dir(report_dir, no_report, model, board_id, command):
    if no_report:
        return None
    from tinyc.deploy.measurecmd import default_report_dir

    return report_dir or default_report_dir(model, board_id, command)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, callback=_json_mode,
                        help="Print the result as JSON.")(f)


@cli.group("boards", invoke_without_command=True)
@json_option
@click.pass_context
def boards_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the supported boards (see `tinyc boards show ID` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from tinyc.boards import all_boards, listing

    out: Output = ctx.obj
    boards = all_boards()
    if as_json:
        out.emit_json([b.to_json() for b in boards.values()])
        return
    table = Table(title=f"{len(boards)} boards", title_justify="left")
    for col, just in (("id", "left"), ("MCU", "left"), ("core", "left"), ("clock", "right"),
                      ("flash", "right"), ("SRAM", "right"), ("emulator", "left"), ("port check", "left")):
        table.add_column(col, justify=just)
    for b in listing():  # real boards first, then emulators
        core = b.core + ("+DSP" if b.dsp and not b.helium else "") + ("+MVE" if b.helium else "")
        table.add_row(plain(b.id), plain(b.mcu), core, fmt_hz(b.clock_hz), fmt_bytes(b.flash),
                      fmt_bytes(b.sram), plain(b.emulator), b.port_check)
    out.print(table)


@boards_cmd.command("show")
@click.argument("board_id")
@json_option
@click.pass_obj
def boards_show(out: Output, board_id: str, as_json: bool) -> None:
    """Print everything tinyc knows about one board."""
    from rich.table import Table

    from tinyc.boards import get_board

    b = get_board(board_id)
    if as_json:
        out.emit_json(b.to_json())
        return
    out.print(f"[bold]{plain(b.id)}[/bold]: {plain(b.name)} ({plain(b.vendor)})")
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="bold")
    facts.add_column()
    rows = [
        ("kind", b.kind), ("MCU", b.mcu), ("port family", b.family),
        ("core", b.core), ("FPU", b.fpu), ("DSP/SIMD", "yes" if b.dsp else "no"),
        ("Helium (MVE)", "yes" if b.helium else "no"), ("clock", fmt_hz(b.clock_hz)),
        ("flash", f"{fmt_bytes(b.flash)} ({b.flash} B)"), ("SRAM", f"{fmt_bytes(b.sram)} ({b.sram} B)"),
        ("memory source", b.memory_source),
        ("console", f"{b.console.uart} @ {b.console.baud} baud"
         + (f", TX {b.console.tx_pin} / RX {b.console.rx_pin}" if b.console.tx_pin else "")
         + (f" ({b.console.note})" if b.console.note else "")),
        ("upload", b.upload.protocol + (f" (PlatformIO board {b.upload.platformio_board})"
                                        if b.upload.platformio_board else "")
         + (f", application at {b.upload.offset:#x}" if b.upload.offset else "")),
        ("emulator", b.emulator),
        ("Renode platform", b.emulation.renode_platform or "none"),
    ]
    if b.port_check != "-":  # issue 7: how the port's registers are checked
        rows.append(("port check", f"registers checked against {b.svd}" if b.svd
                     else f"unverified: {b.svd_note or 'no SVD named in the board file'}"))
    if b.notes:
        rows.append(("notes", b.notes))
    for k, v in rows:
        facts.add_row(k, plain(v))
    out.print(facts)
    regions = Table(title="memory regions", title_justify="left")
    for col in ("name", "kind", "origin", "size", "note"):
        regions.add_column(col)
    for r in b.regions:
        regions.add_row(plain(r.name), r.kind, f"{r.origin:#010x}", fmt_bytes(r.size), plain(r.note))
    out.print(regions)
    if b.emulation.qemu_memory:
        q = ", ".join(f"{r.name} {fmt_bytes(r.size)} @ {r.origin:#010x}" for r in b.emulation.qemu_memory)
        out.print(f"QEMU's map differs from the chip: {plain(q)}")


@cli.command("check")
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--board", "board_id", required=True, help="Board id (see `tinyc boards`).")
@click.option("--planner", type=click.Choice(["improved", "tflm"]), default="improved", show_default=True,
              help="Arena plan: tinyc's improved plan, or the TFLM-equivalent greedy plan.")
@click.option("--tflm", "record_tflm", is_flag=True,
              help="Also run the TFLite Micro interpreter to record its own arena (slower).")
@weights_option
@json_option
@click.pass_obj
def check_cmd(out: Output, model: str, board_id: str, planner: str, record_tflm: bool, as_json: bool,
              weights: str = "auto") -> None:
    """Check a .tflite model's flash and SRAM needs against a board (exit 1 if it does not fit). A Keras model
    (.keras/.h5) is first checked for operators tinyc cannot run (all listed at once, with their layers), then
    converted to int8 for its sizes (calibrated on random inputs: sizes do not depend on calibration)."""
    from tinyc.boards import get_board
    from tinyc.codegen import footprint
    from tinyc.errors import DoesNotFit
    from tinyc.model import graph, ops

    board = get_board(board_id)
    source = model
    if model.endswith((".keras", ".h5", ".hdf5")):
        model = _keras_for_check(out, model)
    g = graph.parse(model, name=source) if isinstance(model, bytes) else graph.load(model)
    ops.check_supported(g)
    recorded = None
    if record_tflm:
        from tinyc.model import reference

        recorded = reference.arena_record(model).to_json()
    model = source
    b = footprint.check(g, board, planner=planner, tflm_recorded=recorded, weights=weights)
    if as_json:
        out.emit_json(b.to_json())
    else:
        from tinyc.analyze.report import render_check

        render_check(out, b)
    if not b.fits:
        raise DoesNotFit.over_budget(model, b, fix="" if as_json else "; see the advice above")


def _keras_for_check(out: Output, model: str) -> bytes:
    """A Keras model's int8 form for `tinyc check`, after its compatibility report."""
    from tinyc.optimize.compat import require_compatible
    from tinyc.optimize.data import synthetic
    from tinyc.optimize.load import load_model
    from tinyc.optimize.quantize import to_int8

    loaded = load_model(model)
    require_compatible(loaded.keras, model)
    out.info(f"{model}: sizes from its int8 conversion calibrated on random inputs (sizes do not depend on the "
             "calibration; `tinyc optimize` with real data gives the model to deploy)")
    return to_int8(loaded.keras, synthetic(loaded.keras.input_shape, n=8))


@cli.command("inspect")
@click.argument("model", type=click.Path(path_type=str))
@json_option
@click.pass_obj
def inspect_cmd(out: Output, model: str, as_json: bool) -> None:
    """Print a .tflite model's graph (ops, shapes, quantization, MACs and parameters) and every operator tinyc
    cannot run, with its Keras layer and the fix. A Keras model (.keras/.h5/SavedModel) gets that report from a
    float conversion, in seconds."""
    from tinyc.optimize.report import render_compatibility

    if not model.endswith(".tflite"):
        from tinyc.optimize.compat import keras_compatibility
        from tinyc.optimize.load import load_model

        loaded = load_model(model)
        if loaded.kind == "tflite":  # a .tflite under another name
            raise TinycError(f"{model}: a TFLite file; name it .tflite")
        c = keras_compatibility(loaded.keras, model)
        if as_json:
            out.emit_json({"model": model, "kind": loaded.kind, "compatibility": c.to_json()})
        else:
            out.print(f"[bold]{plain(model)}[/bold] ({loaded.describe}, {loaded.keras.count_params():,} parameters)")
            render_compatibility(out, c)
        return
    from tinyc.analyze import report
    from tinyc.model import graph, ops

    try:
        data = open(model, "rb").read()
    except OSError:
        data = None
    g = graph.parse(data, path=model, main_only=True) if data is not None else graph.load(model)
    c = ops.compatibility(g)
    if as_json:
        out.emit_json({**report.inspect_json(g), "compatibility": c.to_json()})
    else:
        report.render_inspect(out, g)
        render_compatibility(out, c)


TASK_HELP = ("What the model's outputs predict: classification, binary, multilabel or regression (one, or one per "
             "output, comma-separated) [default: from the model's compile loss, its softmax/sigmoid output, or the "
             "labels].")


def _task_options(f):
    """--task, --max-drop and --no-finetune: the options of every command that compresses a model."""
    f = click.option("--no-finetune", "no_finetune", is_flag=True,
                     help="--prune/--cluster edit the trained weights without retraining (post-training): works "
                          "for Keras 3 models and .tflite files too; the accuracy cost is measured on the int8 "
                          "model.")(f)
    f = click.option("--max-drop", "max_drop", type=float, default=1.0, show_default=True,
                     help="Warn when a step leaves the int8 model more than this many points of accuracy below "
                          "the input model (regression: RMSE this many % above).")(f)
    f = click.option("--task", "task", default=None, help=TASK_HELP)(f)
    return f


@cli.command("optimize")
@click.argument("model", type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The int8 .tflite to write (written at the end, atomically).")
@click.option("--data", help="Training data: .npz with x and y, or module:function. Also calibrates and, "
              "without --test-data, gives a seeded held-out test part (--holdout).")
@click.option("--calibration-data", help="Calibration inputs for int8 ranges (.npz/.npy/module:function).")
@click.option("--test-data", help="Held-out labelled data for accuracy; never trained or calibrated on.")
@click.option("--holdout", type=float, default=0.2, show_default=True,
              help="Fraction of --data held out for accuracy when --test-data is not given.")
@click.option("--prune", type=float, help="Magnitude pruning to this sparsity (0..1), with fine-tuning "
              "(--no-finetune: without).")
@click.option("--prune-channels", type=float, help="Remove this fraction of each layer's filters (0..1).")
@click.option("--cluster", type=int, help="Cluster weights to N values per tensor (int8 then has <= N per channel).")
@click.option("--cluster-per-channel", is_flag=True, help="Cluster each Conv2D output channel separately (slower).")
@click.option("--binarize", is_flag=True, help="1-bit weights (sign x per-channel scale), int8 activations.")
@click.option("--qat", is_flag=True, help="Quantization-aware fine-tuning (keeps pruning/clusters).")
@click.option("--epochs", type=int, default=3, show_default=True, help="Fine-tuning epochs per step.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: same seed, same model.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if tinyc wrote it (never a file of yours).")
@_task_options
@json_option
@click.pass_obj
def optimize_cmd(out: Output, model: str, output: str, data, calibration_data, test_data, holdout, prune,
                 prune_channels, cluster, cluster_per_channel, binarize, qat, epochs, seed, force,
                 as_json: bool, task=None, max_drop=1.0, no_finetune=False) -> None:
    """Compress MODEL to a full-integer int8 .tflite and report every step (sizes, sparsity, MACs, accuracy)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from tinyc.optimize.pipeline import Options, optimize
    from tinyc.optimize.report import render

    options = Options(prune=prune, prune_channels=prune_channels, cluster=cluster,
                      cluster_per_channel=cluster_per_channel, binarize=binarize, qat=qat, epochs=epochs,
                      seed=seed, holdout=holdout, finetune=not no_finetune, task=task, max_drop=max_drop)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                        console=out.err, transient=True, disable=out.verbosity < 0)
    with progress:
        report = optimize(model, output, options, data=data, calibration_data=calibration_data,
                          test_data=test_data, force=force, warn=out.warn, progress=progress)
    from tinyc.optimize.storage_note import dense_storage_note

    note = dense_storage_note(report)  # where the compressed weights end up on a board (stderr)
    if note:
        out.warn(note)
    if as_json:
        out.emit_json(report)
        return
    for table in render(report):
        out.print(table)
    out.print(f"wrote {report.output}")


# --- deploy: build, flash, bench, validate (tinyc/deploy) ------------------------------------------


def _target_options(f):
    f = click.option("--board", "board_id", required=True, help="Board id (see `tinyc boards`).")(f)
    f = click.option("--emulate", is_flag=True,
                     help="Build for the real board's CPU and memory, run on its emulated stand-in.")(f)
    f = click.option("--firmware", "firmware_dir", type=click.Path(file_okay=False, path_type=str), default=None,
                     help="Use this `tinyc build -o` directory instead of building MODEL.")(f)
    f = click.option("--port", default=None, help="Serial port of a real board running tinyc firmware "
                     "(e.g. /dev/ttyACM0); the board must already be flashed.")(f)
    f = click.option("--timeout", type=float, default=60.0, show_default=True,
                     help="Seconds to wait for the target (one inference, or any other reply) before calling "
                          "it hung.")(f)
    f = weights_option(f)
    return f


@cli.command("flash")
@click.argument("model", required=False)
@_target_options
@click.option("--dry-run", is_flag=True,
              help="Real boards: print the exact uploader command and upload nothing.")
@click.option("--tool", type=click.Choice(["openocd", "pyocd"]), default=None,
              help="ST-LINK boards: the uploader (default openocd).")
@click.option("--per-layer", is_flag=True, help="Build MODEL with per-layer profiling (for tinyc bench --per-layer).")
@click.pass_obj
def flash_cmd(out: Output, model, board_id, emulate, firmware_dir, port, timeout, dry_run=False, tool=None,
              per_layer=False, weights="auto") -> None:
    """Run tinyc firmware on the board: in QEMU for emulated boards (and --emulate); a real board gets it
    uploaded (OpenOCD/pyOCD, bossac, UF2 copy), --port naming its serial port or, for a Pico, its boot
    drive. Without MODEL or --firmware a real board gets the hello-world firmware."""
    from tinyc.deploy.flashcmd import run_flash

    r = run_flash(model, board_id, emulate=emulate, firmware_dir=firmware_dir, port=port, timeout=timeout,
                  dry_run=dry_run, tool=tool, per_layer=per_layer, weights=weights, say=out.info)
    if r.dry_run:
        for note in r.plan.notes:
            out.info(f"note: {note}")
        click.echo(r.plan.shell)  # unwrapped: the exact command, ready to paste
        return
    if r.plan is not None:
        out.print(f"{r.board}: uploaded {r.plan.firmware.name} with {r.plan.tool}")
    if r.info is not None:
        info = r.info
        out.print(f"{plain(info.board)}: running model {plain(info.model_hash)} ({plain(info.model_name)}) "
                  f"{r.where}; arena {info.arena:,} B, {len(info.inputs)} input(s), {len(info.outputs)} output(s)")


@cli.command("bench")
@click.argument("model", required=False)
@_target_options
@click.option("--runs", type=click.IntRange(1, 64), default=10, show_default=True, help="Timed inferences.")
@click.option("--per-layer", is_flag=True,
              help="Also profile each layer: instructions (emulated) or cycles, MACs, per MAC. Builds the "
                   "firmware with per-layer profiling (a real board must run such a build: tinyc flash --per-layer).")
@click.option("--layer-runs", type=click.IntRange(1, 100000), default=None,
              help="Inferences the per-layer profile sums [default: one per timer phase of a tick when emulated "
                   "(exact), 10 on hardware].")
@report_options
@json_option
@click.pass_obj
def bench_cmd(out: Output, model, board_id, emulate, firmware_dir, port, timeout, runs, as_json, per_layer=False,
              layer_runs=None, weights="auto", report_dir=None, no_report=False) -> None:
    """Measure one inference on the target: instructions when emulated, cycles and ms on hardware."""
    from tinyc.deploy.measurecmd import run_bench
    from tinyc.deploy.report import render_measurement

    r = run_bench(model, board_id, emulate=emulate, firmware_dir=firmware_dir, port=port, timeout=timeout,
                  runs=runs, per_layer=per_layer, layer_runs=layer_runs, weights=weights, say=out.info,
                  report_dir=_report_dir(report_dir, no_report, model, board_id, "bench"))
    m, prof = r.measurement, r.profile
    if as_json:
        out.emit_json(m if prof is None else {**m.to_json(), "per_layer": prof.to_json()})
    else:
        render_measurement(out, m)
        if prof is not None:
            from tinyc.deploy.report import render_layer_profile

            render_layer_profile(out, prof, choices=r.choices)
    if r.report:
        out.info(f"report: {r.report['report.html']}")
    if m.outputs_match is False or not m.checksums_identical:
        raise TinycError("the target's outputs are wrong: " + ("; ".join(m.mismatches) or "checksums differ"))


@cli.command("validate")
@click.argument("model")
@_target_options
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False, exists=True, path_type=str),
              help=".npz with x (inputs) and y (labels).")
@click.option("--limit", type=int, default=None, help="Only the first N samples.")
@click.option("--float-model", "float_model", default=None, type=click.Path(exists=True, path_type=str),
              help="The float model MODEL was made from (Keras or float .tflite): every output is also compared "
                   "with it, and its scores shown.")
@click.option("--task", "task", default=None, help=TASK_HELP)
@report_options
@json_option
@click.pass_obj
def validate_cmd(out: Output, model, board_id, emulate, firmware_dir, port, timeout, data, limit, as_json,
                 weights="auto", float_model=None, task=None, report_dir=None, no_report=False) -> None:
    """Stream a test set to the target; compare every output with TFLite Micro on the host (and the float model);
    report the task's scores per output (accuracy, or MAE/RMSE for regression) and a confusion matrix."""
    from tinyc.deploy.measurecmd import run_validate
    from tinyc.deploy.report import render_validation

    v = run_validate(model, board_id, data, emulate=emulate, firmware_dir=firmware_dir, port=port, timeout=timeout,
                     limit=limit, float_model=float_model, task=task, weights=weights, say=out.info,
                     report_dir=_report_dir(report_dir, no_report, model, board_id, "validate"))
    if as_json:
        out.emit_json(v)
    else:
        render_validation(out, v)
    if v.identical != v.samples:
        raise TinycError(f"{v.samples - v.identical} of {v.samples} outputs differ from TFLite Micro on the host")


@cli.command("build")
@click.argument("model", type=click.Path(exists=True, path_type=str))
@click.option("--board", "board_id", required=True, help="Board id (see `tinyc boards`).")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=str), default=None,
              help="Output directory [default: tinyc-build/<model>-<board>].")
@click.option("--emulate", is_flag=True, help="Build for the real board, run on its emulated stand-in.")
@click.option("--port", default=None, help="Real boards: the board's serial port (e.g. /dev/ttyACM0); the firmware is "
              "uploaded, then measured over it.")
@click.option("--force", is_flag=True, help="Replace tinyc's earlier output there and write beside other files "
              "(tinyc never removes or overwrites a file it did not write).")
@click.option("--force-build", is_flag=True, help="Build even when tinyc check says it does not fit "
              "(the linker then has the last word).")
@click.option("--runs", type=click.IntRange(1, 64), default=10, show_default=True, help="Timed inferences.")
@click.option("--no-run", is_flag=True, help="Stop after the build.")
@click.option("--prune", type=float, default=None, help="Magnitude pruning sparsity (fine-tuned: tf-keras 2 models; "
              "--no-finetune: any model).")
@click.option("--cluster", type=int, default=None, help="Weight clusters per layer (as --prune).")
@click.option("--data", "data", default=None, help="Keras models: training data (.npz) for fine-tuning; it also "
              "calibrates a Keras or float .tflite model for int8.")
@click.option("--calibration-data", default=None, help="Keras and float .tflite models: calibration data (.npz) "
              "for int8.")
@click.option("--fit", "fit", is_flag=True, help="Keras models: search for the most accurate compression that "
              "fits the board (tinyc fit, with --data) and build it.")
@click.option("--test-data", default=None, help="Held-out labelled data (.npz): the int8 model's scores per step "
              "(Keras and float .tflite models; with --fit, the accuracy drop), and, after the run, every sample "
              "streamed through the firmware as `tinyc validate` does (in --json under \"validation\").")
@click.option("--max-latency", default=None, help="--fit: latency target (instructions when emulated).")
@click.option("--budget-time", type=float, default=300.0, show_default=True, help="--fit: seconds of search.")
@click.option("--per-layer", is_flag=True, help="After the run, profile each layer too (a second firmware with "
              "per-layer timing): measured per-layer figures in the output and the report.")
@click.option("--no-report", "no_report", is_flag=True, help="Write no report (default: <out>/report/report.html "
              "and report.json).")
@weights_option
@_task_options
@json_option
@click.pass_obj
def build_cmd(out: Output, model, board_id, out_dir, emulate, force, force_build, runs, no_run, prune, cluster,
              data, calibration_data, as_json, fit=False, test_data=None, max_latency=None,
              budget_time=300.0, port=None, weights="auto", task=None, max_drop=1.0, no_finetune=False,
              per_layer=False, no_report=False) -> None:
    """The whole pipeline: optimize (Keras and float .tflite models) -> check -> generate -> build -> run ->
    bench (-> validate, with --test-data)."""
    from tinyc.deploy.buildcmd import run_build

    fit_result = None
    if fit:  # search first (tinyc fit), then build what it chose
        from tinyc.fit.command import fit_for_build

        model, fit_result = fit_for_build(out, model, board_id, data=data, test_data=test_data,
                                          max_latency=_latency_option(max_latency, board_id, True),
                                          budget_time=budget_time, out_dir=out_dir, force=force, weights=weights,
                                          compressing=bool(prune or cluster))
        force_build = True  # fit already linked and measured this model on the board: the linker had the last word
    result = run_build(out, model, board_id, out_dir=out_dir, emulate=emulate, force=force,
                       force_build=force_build, runs=runs, no_run=no_run, prune=prune, cluster=cluster,
                       data=data, calibration_data=calibration_data, test_data=test_data, port=port,
                       weights=weights, task=task, max_drop=max_drop, no_finetune=no_finetune,
                       per_layer=per_layer, write_report=not no_report, fit_result=fit_result)
    if as_json:
        out.emit_json(result)


# --- fit: search the compression space for a model that fits the board (tinyc/fit) -----------------


def _size_option(value: str | None, what: str) -> int | None:
    if value is None:
        return None
    from tinyc.boards import parse_size

    v = value.strip()
    try:
        return int(v) if v.isdigit() else parse_size(v, what)
    except TinycError:
        raise TinycError(f"{what} {value!r}: give bytes, e.g. 16384, 16K or 16KiB") from None


def _latency_option(value: str | None, board_id: str, emulate: bool) -> float | None:
    """--max-latency: a count of instructions on an emulated target; ms/cycles only mean something on silicon."""
    if value is None:
        return None
    v = value.strip().lower().replace(",", "").replace("_", "")
    for unit in ("instructions", "instr", "ms", "cycles", "us"):
        if v.endswith(unit):
            num, given = v[: -len(unit)].strip(), unit
            break
    else:
        num, given = v, None
    try:
        x = float(num)
    except ValueError:
        raise TinycError(f"--max-latency {value!r}: give a number of instructions, e.g. 400000") from None
    if given in ("ms", "cycles", "us"):
        raise TinycError(f"--max-latency {value}: {board_id} runs in emulation here, where latency is counted in "
                         "instructions (QEMU -icount), never cycles or milliseconds; give instructions "
                         "(e.g. --max-latency 400000)")
    if x <= 0:
        raise TinycError(f"--max-latency {value}: give a positive number of instructions")
    return x


@cli.command("fit")
@click.argument("model", type=click.Path(exists=True, path_type=str))
@click.option("--board", "board_id", required=True, help="Board id (see `tinyc boards`).")
@click.option("--data", required=True, help="Labelled training data (.npz x, y): fine-tuning, calibration and a "
              "validation split the search selects on.")
@click.option("--test-data", default=None, help="Held-out labelled data for the final accuracy drop [default: a "
              "seeded held-out part of --data that the search never sees].")
@click.option("--max-latency", default=None, help="Latency target per inference, in instructions on an "
              "emulated target (QEMU instruction count; never cycles or ms there).")
@click.option("--max-accuracy-drop", type=float, default=None,
              help="Largest accuracy loss vs the float model, as a fraction (0.02 = 2 points).")
@click.option("--budget-flash", default=None, help="Flash for the model (bytes, 48K, ...) [default: the board's].")
@click.option("--budget-sram", default=None, help="SRAM for the model [default: the board's].")
@click.option("--reserve-flash", default=None, help="Flash the application keeps for itself.")
@click.option("--reserve-sram", default=None, help="SRAM the application keeps for itself.")
@click.option("--budget-time", type=float, default=300.0, show_default=True,
              help="Seconds of search: no new candidate starts after it (the one-off, cached latency "
              "calibration of a board is not counted).")
@click.option("--trials", type=click.IntRange(0, 100000), default=None,
              help="Fine-tune at most this many new candidates (cached ones and those skipped untrained are free; "
              "0 re-scores the cached candidates under the new constraints).")
@click.option("--storage", "--study-db", "study_db", default=None,
              help="optuna storage URL of the study: postgresql://user@host/db shares the search with `tinyc "
              "fit-worker` processes on any machine; sqlite:///fit.db for one machine [default: tinyc's cache]. "
              "A rerun resumes the study.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Local search processes (tinyc fit-worker) on the study; this command then builds and measures "
              "the best candidates once.")
@click.option("--epochs", type=int, default=2, show_default=True, help="Fine-tuning epochs per step.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--recalibrate", is_flag=True, help="Profile the board's kernels again for the latency model.")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=str), default=None,
              help="Output directory [default: tinyc-fit/<model>-<board>].")
@click.option("--force", is_flag=True, help="Replace tinyc's earlier output there and write beside other files "
              "(tinyc never removes or overwrites a file it did not write).")
@weights_option
@json_option
@click.pass_obj
def fit_cmd(out: Output, model, board_id, data, test_data, max_latency, max_accuracy_drop, budget_flash,
            budget_sram, reserve_flash, reserve_sram, budget_time, trials, study_db, epochs, seed, recalibrate,
            out_dir, force, as_json, weights="auto", workers=1) -> None:
    """Search compressions (int8/binary, per-layer filter pruning, sparsity, clusters, QAT) for the most
    accurate model that fits the board; write it with its report, every candidate and the Pareto front."""
    out.json = out.json or as_json
    from tinyc.fit.command import run_fit_command
    from tinyc.fit.search import FitRequest

    req = FitRequest(model=model, board=board_id, data=data, test_data=test_data,
                     max_latency=_latency_option(max_latency, board_id, True), max_accuracy_drop=max_accuracy_drop,
                     budget_flash=_size_option(budget_flash, "--budget-flash"),
                     budget_sram=_size_option(budget_sram, "--budget-sram"),
                     reserve_flash=_size_option(reserve_flash, "--reserve-flash") or 0,
                     reserve_sram=_size_option(reserve_sram, "--reserve-sram") or 0, budget_time=budget_time,
                     trials=trials, study_db=study_db, epochs=epochs, seed=seed, recalibrate=recalibrate,
                     weights=weights, workers=workers)
    result, files = run_fit_command(out, req, out_dir, force)
    if as_json:
        out.emit_json({**result.to_json(), "files": {k: str(v) for k, v in files.items()}})
    if not result.fits:
        from tinyc.errors import DoesNotFit

        raise DoesNotFit(f"no candidate in the search space fits {board_id} within the constraints; the closest "
                         f"is in {files['fit-report.md']} (widen --budget-time, relax the target, or reserve less)")


@cli.command("fit-worker")
@click.option("--storage", required=True, help="The study's optuna storage URL (postgresql://user@host/db), as given "
              "to `tinyc fit --storage`.")
@click.option("--study", "study_name", default=None, help="The study's name, where the storage holds several "
              "tinyc fit studies.")
@click.option("--model", default=None, help="This machine's copy of the study's model (checked by hash) "
              "[default: the path the study names].")
@click.option("--data", default=None, help="This machine's copy of --data (checked by hash).")
@click.option("--test-data", default=None, help="This machine's copy of --test-data (checked by hash).")
@click.option("--wait", type=float, default=0.0, help="Seconds to wait for `tinyc fit` to publish the study.")
@json_option
@click.pass_obj
def fit_worker_cmd(out: Output, storage, study_name, model, data, test_data, wait, as_json) -> None:
    """Join a shared `tinyc fit --storage` study: fine-tune and score candidates until its deadline or --trials
    (each candidate once in the whole study), then print the Pareto front it reads."""
    from tinyc.fit.command import run_fit_worker

    rep = run_fit_worker(out, storage, study_name, model=model, data=data, test_data=test_data, wait=wait)
    if as_json:
        out.emit_json(rep)
    else:
        out.print(f"{rep['worker']}: {len(rep['trials'])} trials ({rep['fine_tuned']} fine-tuned here); Pareto "
                  f"front of the study: {', '.join(rep['front']) or '-'}", markup=False)


@cli.command("generate")
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--board", "board_id", required=True, help="Board id (see `tinyc boards`).")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Directory for the C sources (new or empty, unless --force).")
@click.option("--force", is_flag=True, help="Replace tinyc's earlier output there and write beside other files "
              "(tinyc never removes or overwrites a file it did not write).")
@click.option("--name", default=None, help="Prefix of every symbol and file of the model (kws: kws_model.h, "
              "kws_model_invoke()), written as <name>_model/ beside the shared runtime tinyc_runtime/ "
              "(docs/model-api.md).")
@click.option("--format", "fmt", type=click.Choice(["sources", "pio-lib", "cmake", "arduino"]), default=None,
              help="Layout of the model and runtime parts: plain sources, PlatformIO libraries (library.json), "
                   "CMake targets (CMakeLists.txt) or Arduino libraries (library.properties) [default: sources; "
                   "without --name and --format, one flat folder with only the kernels the model calls].")
@weights_option
@json_option
@click.pass_obj
def generate_cmd(out: Output, model: str, board_id: str, out_dir: str, force: bool, weights: str,
                 as_json: bool, name: str | None = None, fmt: str | None = None) -> None:
    """Write the C sources for a .tflite model: tinyc_model.{h,c}, weights and the kernels it uses."""
    from tinyc.codegen.library import write

    gm = write(model, board_id, out_dir, force=force, weights=weights, name=name, fmt=fmt)
    if as_json:
        out.emit_json(gm.to_json())
        return
    out.print(f"{plain(gm.out_dir)}: {len(gm.sources)} C files for {plain(gm.model_name)} on {plain(board_id)} "
              f"({gm.num_calls} kernel calls, {gm.macs} MACs, arena {fmt_bytes(gm.arena_size)}, "
              f"constants {fmt_bytes(gm.weights_bytes)}, {gm.variant} kernels)")
    if gm.model_dir is not None:
        out.print(f"  {gm.format}: the model in {plain(gm.model_dir.name)}/ ({plain(gm.name)}_model.h), the runtime "
                  f"every model of a firmware shares in {plain(gm.runtime_dir.name)}/")
    if gm.choices:
        sets: dict[str, int] = {}
        for c in gm.choices:
            sets[c.kernel_set] = sets.get(c.kernel_set, 0) + 1
        out.print("  kernel sets: " + ", ".join(f"{n} call{'s' if n != 1 else ''} {k}" for k, n in sets.items()))
        for c in gm.choices:
            if c.reason:
                out.print(f"  op {c.op_index} {plain(c.op)}: {plain(c.kernel.removeprefix('TINYC_'))} ({c.kernel_set}): "
                          f"{plain(c.reason)}")
    for p in gm.packed_layers:
        out.print(f"  op {p.op_index} {plain(p.op)} {plain(p.tensor)}: {p.mode} {p.bits_per_weight:.3f} bits/weight, "
                  f"{fmt_bytes(p.dense_bytes)} -> {fmt_bytes(p.packed_bytes)}")
    if gm.weight_scratch:
        out.print(f"  packed weights: {fmt_bytes(gm.weight_scratch)} static RAM outside the arena (where they are "
                  "decoded; with --weights packed-ram, the filters kept decoded)")


def main() -> None:
    from tinyc import procs

    procs.install()  # SIGTERM, SIGHUP and Ctrl-C stop QEMU and every other child, then exit 1 with one line
    try:
        cli(prog_name="tinyc")
    except procs.Interrupted as exc:
        procs.stop_all(grace=0.2)
        try:
            click.echo(f"error: {exc}: stopped, with every process it started (no output is left "
                       "half-written)", err=True)
        except OSError:  # the terminal went away (SIGHUP)
            pass
        sys.exit(1)


if __name__ == "__main__":
    main()
