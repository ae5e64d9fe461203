"""Terminal output shared by all commands: rich tables for people, JSON for machines."""

from __future__ import annotations

import json
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape as _escape_markup
from rich.text import Text


@dataclass
class Output:
    verbosity: int = 0  # -1 quiet, 0 normal, 1 verbose
    json: bool = False

    def __post_init__(self) -> None:
        # Piped output (logs, CI) gets a wide virtual terminal so tables are not cut to 80 columns.
        width = None if sys.stdout.isatty() else 160
        # emoji=False: a name such as ":warning:" in a model prints as written, not as an emoji.
        self.console = Console(highlight=False, soft_wrap=False, width=width, emoji=False)
        self.err = Console(stderr=True, highlight=False, emoji=False)

    def print(self, *objects: Any, **kw: Any) -> None:
        if self.verbosity >= 0 and not self.json:
            self.console.print(*objects, **kw)

    def info(self, message: str) -> None:
        """Progress chatter: on stderr, so stdout stays clean for --json. Messages are plain text (they quote
        paths and names from models), never markup."""
        if self.verbosity >= 0:
            self.err.print(Text(_lines(message)))

    def debug(self, message: str) -> None:
        if self.verbosity > 0:
            self.err.print(Text(_lines(message), style="dim"))

    def warn(self, message: str) -> None:
        self.err.print(Text.assemble(("warning:", "bold yellow"), " ", _lines(message)))

    def emit_json(self, data: Any) -> None:
        json.dump(data, sys.stdout, indent=2, default=_default)
        sys.stdout.write("\n")


def printable(text: Any) -> str:
    """``text`` with every control or format character (escape sequences, newlines, bidi overrides) shown
    as a visible escape such as \\x1b, so a name from a model or a board file cannot drive the terminal
    or break a one-line message. Other characters, backslashes included, are kept as they are."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def _lines(text: Any) -> str:
    """tinyc's own multi-line message: its line breaks kept, any other control character made visible."""
    return "\n".join(printable(line) for line in str(text).split("\n"))


def plain(text: Any) -> str:
    """Text from a model, a path or a board file, made safe to embed in a rich markup string: control
    characters shown as escapes (printable) and markup such as "[/bold]" escaped, so it prints as written."""
    return _escape_markup(printable(text))


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
