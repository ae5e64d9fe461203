"""Terminal output shared by all commands: rich tables for people, JSON for machines."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console


@dataclass
class Output:
    verbosity: int = 0  # -1 quiet, 0 normal, 1 verbose
    json: bool = False

    def __post_init__(self) -> None:
        # Piped output (logs, CI) gets a wide virtual terminal so tables are not cut to 80 columns.
        width = None if sys.stdout.isatty() else 160
        self.console = Console(highlight=False, soft_wrap=False, width=width)
        self.err = Console(stderr=True, highlight=False)

    def print(self, *objects: Any, **kw: Any) -> None:
        if self.verbosity >= 0 and not self.json:
            self.console.print(*objects, **kw)

    def info(self, message: str) -> None:
        """Progress chatter: on stderr, so stdout stays clean for --json."""
        if self.verbosity >= 0:
            self.err.print(message)

    def debug(self, message: str) -> None:
        if self.verbosity > 0:
            self.err.print(f"[dim]{message}[/dim]")

    def warn(self, message: str) -> None:
        self.err.print(f"[bold yellow]warning:[/bold yellow] {message}")

    def emit_json(self, data: Any) -> None:
        json.dump(data, sys.stdout, indent=2, default=_default)
        sys.stdout.write("\n")


def _default(obj: Any) -> Any:
    if hasattr(obj, "to_json"):
        return obj.to_json()
    from pathlib import Path

    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def fmt_bytes(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n >> 10} KiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} B"


def fmt_hz(hz: int) -> str:
    return f"{hz / 1e6:g} MHz"
