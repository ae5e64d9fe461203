"""All generated text comes from Jinja2 templates in templates/.

Every ``{{ }}`` in a template goes through one of the filters below (tests/test_templates_escaping.py
enforces it): an escaping filter for the language of the file it lands in, or a numeric one for a number
tinyc computed. A value from a model, a path or a board file is thus written as data in that language,
never as code: a model named ``m"; int pwned = 1; ...`` stays inside its C string literal.

Filters that escape user text raise ``EscapeError`` (a TinycError: one line, exit 2) where the target
language has no way to write the value (a newline in a platformio.ini value); the filters for text tinyc
writes itself (identifiers, numbers, C fragments) raise ValueError, since a failure there is a tinyc bug.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jinja2

from tinyc import __version__, paths
from tinyc.errors import TinycError
from tinyc.ui import printable


class EscapeError(TinycError):
    """A value that cannot be written in the generated file's language (and so is refused, not mangled)."""


def _show(value: Any, limit: int = 60) -> str:
    text = printable(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _refuse(where: str, value: Any, problem: str, fix: str) -> EscapeError:
    return EscapeError(f"{where}: {_show(value)} {problem}; {fix}")


# --- numbers tinyc computed ------------------------------------------------------------------------------

def _int(value: Any) -> int:
    """An integer (Python or numpy), never a bool, a float or a string."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"expected an integer for a numeric template value, got {value!r}")
    return value.__index__()


def num(value: Any) -> str:
    """A decimal integer literal, valid in every language tinyc writes."""
    return str(_int(value))


def hex_literal(value: Any, width: int = 8) -> str:
    return f"0x{_int(value):0{width}X}"


# --- C -----------------------------------------------------------------------------------------------------

_C_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


def c_string(value: Any) -> str:
    """A complete C string literal (quotes included) whose bytes are exactly the UTF-8 of ``value``.

    Printable ASCII is kept; ``"`` and ``\\`` are backslash-escaped; every other byte (control characters,
    UTF-8 of non-ASCII text) is a three-digit octal escape, which no following digit can extend (unlike
    ``\\x``); a ``?`` after a ``?`` is written ``\\?`` so no trigraph can form."""
    out = []
    prev = ""
    for byte in str(value).encode("utf-8"):
        ch = chr(byte)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "?" and prev == "?":
            out.append("\\?")
        elif ch in _C_PRINTABLE:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
        prev = ch
    return '"' + "".join(out) + '"'


def _comment_text(value: Any, trigraphs: bool) -> str:
    """Text that cannot end or nest a /* */ comment, splice lines or carry control characters: ``*/`` is
    written ``*\\/`` and ``/*`` ``/\\*``, ``??`` ``?\\?``, anything but printable ASCII a visible escape
    (\\xNN, \\uNNNN), so a backslash is never followed by a newline."""
    out: list[str] = []
    for ch in str(value):
        last = out[-1][-1:] if out else ""
        if ch == "/" and last == "*":
            out.append("\\/")
        elif ch == "*" and last == "/":
            out.append("\\*")
        elif ch == "?" and last == "?" and trigraphs:
            out.append("\\?")
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def c_comment(value: Any) -> str:
    """Text inside a C /* */ comment (see _comment_text)."""
    return _comment_text(value, trigraphs=True)


_C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while _Bool _Complex _Imaginary""".split())
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def c_ident(value: Any) -> str:
    """A C identifier tinyc made up (a kernel macro, a constant's name, a type): checked, never rewritten."""
    text = str(value)
    if not _IDENT.fullmatch(text) or text in _C_KEYWORDS:
        raise ValueError(f"{text!r} is not a C identifier")
    return text


_C_FRAGMENT = re.compile(r"[A-Za-z0-9_ ,;:+\-*/&()\[\]{}=<>.]*")


def c_code(value: Any) -> str:
    """A C expression or declaration tinyc wrote itself (a kernel argument, a scratch array): checked to
    be one line with no string, character, preprocessor or comment-opening token outside a complete
    /* */ comment, so nothing from a model can have reached it."""
    text = str(value)
    bare = re.sub(r"/\*[^*]*\*/", " ", text)  # tinyc's own trailing comments
    if not _C_FRAGMENT.fullmatch(bare) or "/*" in bare or "*/" in bare or "//" in bare:
        raise ValueError(f"{text!r} is not a C fragment tinyc writes")
    return text


def c_header(value: Any) -> str:
    """A header file name in #include "...": letters, digits, '_', '-', '.' only."""
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.h", text):
        raise ValueError(f"{text!r} is not a header name tinyc writes")
    return text


# --- GNU ld linker scripts ------------------------------------------------------------------------------------

def ld_comment(value: Any) -> str:
    """Text inside a linker-script /* */ comment: it cannot close the comment or start a new line, so no
    INCLUDE or MEMORY command can follow it (ld has no trigraphs or line splicing; see _comment_text)."""
    return _comment_text(value, trigraphs=False)


# --- platformio.ini (Python configparser with PlatformIO's ${section.option} interpolation) ---------------

def ini_value(value: Any) -> str:
    """A platformio.ini value that configparser reads back byte for byte: ``%`` doubled (configparser's
    interpolation). There is no escape for a line break, an inline comment (``;`` or ``#`` at the start or
    after a space), PlatformIO's ``${`` or whitespace at either end (stripped), so those are refused."""
    text = str(value)
    where = "platformio.ini"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch in "\u2028\u2029\x85" for ch in text):
        raise _refuse(where, text, "contains a line break or control character, which would start a new "
                      "line or key there", "remove it (rename the file or folder it comes from)")
    if re.search(r"(^|\s)[;#]", text):
        raise _refuse(where, text, "contains ';' or '#' at its start or after a space, which PlatformIO "
                      "reads as a comment", "rename the file or folder it comes from")
    if "${" in text:
        raise _refuse(where, text, "contains '${', which PlatformIO expands as a variable",
                      "rename the file or folder it comes from")
    if text != text.strip():
        raise _refuse(where, text, "starts or ends with a space, which PlatformIO drops",
                      "rename the file or folder it comes from")
    return text.replace("%", "%%")


def ini_name(value: Any) -> str:
    """A platformio.ini section or environment name tinyc made up (from a validated board id)."""
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", text):
        raise ValueError(f"{text!r} is not a PlatformIO environment name")
    return text


# --- Renode monitor scripts (.resc) -------------------------------------------------------------------------

def resc_text(value: Any) -> str:
    """Free text on one line of a .resc script (a comment, the :description: header, a comment inside a
    \"\"\" macro): control characters become visible escapes and '"' is written '\\"', so no line break
    or \"\"\" can end the line or the macro early."""
    return printable(value).replace('"', '\\"')


def resc_string(value: Any) -> str:
    """A quoted Renode string (quotes included). Renode has no escape for '"' or '\\' in one, so those and
    control characters are refused."""
    text = str(value)
    if any(ch in '"\\' or not ch.isprintable() for ch in text):
        raise _refuse("Renode script", text, "contains a quote, backslash or control character, which a Renode "
                      "string cannot hold", "use a name without them")
    return f'"{text}"'


def resc_path(value: Any) -> str:
    """A Renode path token, '@' included: spaces written '\\ ' as Renode's tokenizer reads them; quotes,
    '#', '$', '\\' and control characters (which it cannot read in a path) are refused."""
    text = str(value)
    if any(ch in "\"'`#$\\" or not (ch.isprintable()) for ch in text):
        raise _refuse("Renode script", text, "is a path with a quote, '#', '$', backslash or control character, "
                      "which Renode cannot read", "move the firmware to a folder whose path has none")
    return "@" + text.replace(" ", "\\ ")


def resc_ident(value: Any) -> str:
    """A Renode peripheral or machine name (sysbus.<name>), from a validated board field."""
    text = str(value)
    if not _IDENT.fullmatch(text):
        raise ValueError(f"{text!r} is not a Renode peripheral name")
    return text


# --- Robot Framework test data (.robot, space-separated format) ---------------------------------------------

def robot(value: Any) -> str:
    """One Robot Framework cell holding ``value`` as written: ``\\``, ``#`` (a comment) and ``=`` (a named
    argument) backslash-escaped, as are $ @ & % before ``{`` (a variable); a leading, trailing or repeated
    space written ${SPACE} (two spaces would split the cell); control characters as \\n, \\t, \\xNN or
    \\uNNNN escapes; an empty value ${EMPTY}; a leading '...' kept from reading as a continuation."""
    text = str(value)
    if not text:
        return "${EMPTY}"
    out = []
    for i, ch in enumerate(text):
        if ch in "\\#=" or (ch in "$@&%" and text[i + 1:i + 2] == "{"):
            out.append("\\" + ch)
        elif ch == " " and (i == 0 or i == len(text) - 1 or text[i - 1] == " " or text[i + 1] == " "):
            out.append("${SPACE}")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    cell = "".join(out)
    return "${EMPTY}" + cell if cell.startswith("...") else cell


# The filters a {{ }} may end in (tests/test_templates_escaping.py): escaping for a language, or numeric.
ESCAPING_FILTERS = {
    "c_string": c_string, "c_comment": c_comment, "c_ident": c_ident, "c_code": c_code, "c_header": c_header,
    "ld_comment": ld_comment, "ini_value": ini_value, "ini_name": ini_name,
    "resc_text": resc_text, "resc_string": resc_string, "resc_path": resc_path, "resc_ident": resc_ident,
    "robot": robot,
}
NUMERIC_FILTERS = {"num": num, "hex": hex_literal}
SAFE_BUILTINS = ("tojson", "length")  # Jinja's own: JSON-escaped text; an int


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(paths.templates_dir())),
        undefined=jinja2.StrictUndefined,  # a missing value is a bug, never an empty string
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ESCAPING_FILTERS)
    env.filters.update(NUMERIC_FILTERS)
    env.globals["tinyc_version"] = __version__
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)
