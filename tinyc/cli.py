"""The tinyc command line. Commands parse options, call one function, and print its result.

Heavy libraries (TensorFlow, tflite-micro) are imported inside the commands that need them,
never at module level: `tinyc boards` and `tinyc check` must start in well under a second.
"""

from __future__ import annotations

import sys

import click

from tinyc import __version__
from tinyc.errors import TinycError
from tinyc.ui import Output, fmt_bytes, fmt_hz


class _Group(click.Group):
    """Turns a user mistake (TinycError) into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TinycError as exc:
            click.echo(f"error: {exc}", err=True)
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


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(f)


@cli.group("boards", invoke_without_command=True)
@json_option
@click.pass_context
def boards_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the supported boards (see `tinyc boards show ID` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from tinyc.boards import all_boards

    out: Output = ctx.obj
    boards = all_boards()
    if as_json:
        out.emit_json([b.to_json() for b in boards.values()])
        return
    table = Table(title=f"{len(boards)} boards", title_justify="left")
    for col, just in (("id", "left"), ("MCU", "left"), ("core", "left"), ("clock", "right"),
                      ("flash", "right"), ("SRAM", "right"), ("emulator", "left")):
        table.add_column(col, justify=just)
    for kind in ("real", "emulated"):
        for b in (b for b in boards.values() if b.kind == kind):
            core = b.core + ("+DSP" if b.dsp and not b.helium else "") + ("+MVE" if b.helium else "")
            table.add_row(b.id, b.mcu, core, fmt_hz(b.clock_hz), fmt_bytes(b.flash), fmt_bytes(b.sram),
                          b.emulator)
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
    out.print(f"[bold]{b.id}[/bold]: {b.name} ({b.vendor})")
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
    if b.notes:
        rows.append(("notes", b.notes))
    for k, v in rows:
        facts.add_row(k, v)
    out.print(facts)
    regions = Table(title="memory regions", title_justify="left")
    for col in ("name", "kind", "origin", "size", "note"):
        regions.add_column(col)
    for r in b.regions:
        regions.add_row(r.name, r.kind, f"{r.origin:#010x}", fmt_bytes(r.size), r.note)
    out.print(regions)
    if b.emulation.qemu_memory:
        q = ", ".join(f"{r.name} {fmt_bytes(r.size)} @ {r.origin:#010x}" for r in b.emulation.qemu_memory)
        out.print(f"QEMU's map differs from the chip: {q}")


def main() -> None:
    cli(prog_name="tinyc")


if __name__ == "__main__":
    main()
