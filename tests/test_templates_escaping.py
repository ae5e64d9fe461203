"""Escaping at every boundary of the generated files: every {{ }} in templates/ ends in an escaping or a
numeric filter (checked on Jinja's parse tree), and each filter writes text that its language reads back
as the same data: C string literals compiled and read back byte for byte, comments that cannot end or
splice, a linker script that ld reads without the injected INCLUDE, platformio.ini values that
configparser reads back, Robot and Renode cells."""

from __future__ import annotations

import configparser
import dataclasses
import subprocess
from pathlib import Path

import pytest
from jinja2 import nodes

from tinyc import paths
from tinyc.boards import MemoryRegion, get_board
from tinyc.codegen.render import CODEGEN_NUMERIC_FILTERS, codegen_environment
from tinyc.render import (ESCAPING_FILTERS, NUMERIC_FILTERS, SAFE_BUILTINS, EscapeError, c_code, c_comment,
                          c_ident, c_string, hex_literal, ini_value, ld_comment, num, render, resc_path,
                          resc_string, resc_text, robot)
from tests.conftest import require_tool

ALLOWED = set(ESCAPING_FILTERS) | set(NUMERIC_FILTERS) | set(CODEGEN_NUMERIC_FILTERS) | set(SAFE_BUILTINS)

NASTY = [
    'm"; int pwned = 1; const char x[] = "y',
    "back\\slash at end\\",
    "trigraph ??/ and ??= and ???",
    "\\x41 then hex digits: \x01abc \x7f9",
    "newline\nand\rcarriage\tand NUL \x00 inside",
    "caf\u00e9 \u4e2d\u6587 \U0001f600 \u202e bidi override",
    "*/ int pwned2 = 2; /*",
    "",
]


# --- every {{ }} is escaped --------------------------------------------------------------------------------

def _unescaped(expr: nodes.Expr, macros: frozenset[str] = frozenset()) -> list[str]:
    """The parts of an output expression that are neither a constant nor end in an allowed filter (nor call a
    macro of the template: its own outputs are checked like any other)."""
    if isinstance(expr, nodes.Const):
        return []
    if isinstance(expr, nodes.Call) and isinstance(expr.node, nodes.Name) and expr.node.name in macros:
        return []
    if isinstance(expr, nodes.Filter) and expr.name in ALLOWED:
        return []
    if isinstance(expr, nodes.CondExpr):  # "a | f if cond else b | g": both branches must be safe
        return _unescaped(expr.expr1, macros) + (_unescaped(expr.expr2, macros) if expr.expr2 is not None else [])
    return [type(expr).__name__ + (f" | {expr.name}" if isinstance(expr, nodes.Filter) else "")]


def unescaped_outputs(source: str) -> list[str]:
    env = codegen_environment()
    tree = env.parse(source)
    macros = frozenset(m.name for m in tree.find_all(nodes.Macro))
    bad = []
    for output in tree.find_all(nodes.Output):
        for expr in output.nodes:
            if isinstance(expr, nodes.TemplateData):
                continue
            bad += [f"line {expr.lineno}: {what}" for what in _unescaped(expr, macros)]
    return bad


def test_the_rule_catches_unescaped_values():
    assert unescaped_outputs("a {{ x }} b") == ["line 1: Name"]
    assert unescaped_outputs("{{ x | upper }}") == ["line 1: Filter | upper"]
    assert unescaped_outputs("{{ x | c_string | join(',') }}") == ["line 1: Filter | join"]
    assert unescaped_outputs("{{ x | c_string if y else z }}") == ["line 1: Name"]
    assert unescaped_outputs("{{ x.name }}{{ x[0] }}") == ["line 1: Getattr", "line 1: Getitem"]
    assert unescaped_outputs("{{ '{' }}{{ x | c_ident }}{{ n | num if y }}{% for a in b %}{{ a | hex }}"
                             "{% endfor %}") == []
    assert unescaped_outputs("{% macro m(o) %}{{ o.name | c_ident }}{% endmacro %}{{ m(x) }}") == []
    assert unescaped_outputs("{% macro m(o) %}{{ o.name }}{% endmacro %}{{ m(x) }}") == ["line 1: Getattr"]
    assert unescaped_outputs("{{ other(x) }}") == ["line 1: Call"]


def test_every_template_value_goes_through_an_escaping_or_numeric_filter():
    templates = sorted(paths.templates_dir().rglob("*.j2"))
    assert len(templates) >= 8
    bad = {str(t.relative_to(paths.templates_dir())): unescaped_outputs(t.read_text()) for t in templates}
    assert {k: v for k, v in bad.items() if v} == {}


# --- C ------------------------------------------------------------------------------------------------------

CFLAGS = ["-mcpu=cortex-m4", "-mthumb", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O0"]  # c99: trigraphs on


def _compile(tmp_path: Path, source: str) -> Path:
    gcc = require_tool("arm-none-eabi-gcc")
    c, o = tmp_path / "t.c", tmp_path / "t.o"
    c.write_text(source)
    r = subprocess.run([gcc, *CFLAGS, "-c", str(c), "-o", str(o)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + source
    return o


def _symbols(obj: Path) -> dict[str, bytes]:
    """Every defined data object's bytes, by name."""
    from elftools.elf.elffile import ELFFile

    out = {}
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        for sym in elf.get_section_by_name(".symtab").iter_symbols():
            if sym["st_info"]["type"] != "STT_OBJECT" or sym["st_shndx"] in ("SHN_UNDEF", "SHN_COMMON"):
                continue
            sec = elf.get_section(sym["st_shndx"])
            data = sec.data() if sec["sh_type"] != "SHT_NOBITS" else bytes(sec["sh_size"])
            out[sym.name] = data[sym["st_value"]:sym["st_value"] + sym["st_size"]]
    return out


@pytest.mark.toolchain
def test_c_string_compiles_to_the_original_bytes(tmp_path):
    source = "".join(f"const char s{i}[] = {c_string(s)};\n" for i, s in enumerate(NASTY))
    got = _symbols(_compile(tmp_path, source))
    assert set(got) == {f"s{i}" for i in range(len(NASTY))}  # no pwned, nothing else
    for i, s in enumerate(NASTY):
        assert got[f"s{i}"] == s.encode("utf-8") + b"\0", s


def test_c_string_forms():
    assert c_string('a"b\\c') == '"a\\"b\\\\c"'
    assert c_string("\x01" + "7") == '"\\0017"'  # octal escapes are always three digits: '7' stays a char
    assert c_string("??/") == '"?\\?/"'
    assert c_string("\u00e9") == '"\\303\\251"'


@pytest.mark.toolchain
def test_c_comment_cannot_end_the_comment_or_splice_a_line(tmp_path):
    lines = [f"/* Generated from {c_comment(s)} (x). Do not edit.\n * {c_comment(s)} */\n" for s in NASTY]
    lines += [f"/* {c_comment('ends with a backslash ??/')}\n*/\n", f"/* {c_comment('a/' + '*b')} */\n"]
    got = _symbols(_compile(tmp_path, "".join(lines) + "const int ok = 1;\n"))
    assert set(got) == {"ok"}
    for s in NASTY:
        text = c_comment(s)
        assert "*/" not in text and "/*" not in text and "\n" not in text and "??" not in text
        assert all(" " <= ch <= "~" for ch in text)


def test_c_identifiers_and_fragments_are_checked_not_rewritten():
    assert c_ident("TINYC_CONV2D_S8") == "TINYC_CONV2D_S8"
    for bad in ("", "1x", "a-b", "int", 'x"', "a b"):
        with pytest.raises(ValueError):
            c_ident(bad)
    ok = "static int32_t tinyc_scratch[4]; /* DSP kernels' scratch (im2col columns): 16 bytes */"
    assert c_code(ok) == ok and c_code("(const int8_t *)(tinyc_arena + 16)") == "(const int8_t *)(tinyc_arena + 16)"
    for bad in ('"x"', "a /* open", "a */ b", "#include <x>", "a\nb", "x // y", "'c'", "a\\b"):
        with pytest.raises(ValueError):
            c_code(bad)


def test_numeric_filters_take_only_integers():
    import numpy as np

    assert num(np.int32(-5)) == "-5" and hex_literal(0x2004C000) == "0x2004C000"
    for bad in (True, "12", 1.5, None, "1; int pwned"):
        with pytest.raises(ValueError):
            num(bad)
        with pytest.raises(ValueError):
            hex_literal(bad)


# --- the linker script --------------------------------------------------------------------------------------

INJECTED_REGION = "FLASH */ INCLUDE /nonexistent/evil.ld /*\nINCLUDE /nonexistent/evil2.ld"


@pytest.mark.toolchain
def test_linker_script_comment_keeps_an_injected_include_inside_it(tmp_path):
    """A region name is validated at load (tests/test_boards_validation.py); the template escapes anyway:
    rendered with such a name, ld reads the script and links, and finds no INCLUDE command."""
    ld = require_tool("arm-none-eabi-ld")
    board = get_board("mps2-an386")
    flash = MemoryRegion(INJECTED_REGION, "flash", 0x0, 0x40000)
    ram = MemoryRegion("RAM */ } SECTIONS { /* x", "ram", 0x20000000, 0x10000)
    script = render("project/linker.ld.j2", board=board, run_board=board, flash=flash, ram=ram, stack_size=1024,
                    boot_block=False)
    for line in script.splitlines():
        assert not line.lstrip().startswith("INCLUDE")
    assert "/* FLASH *\\/ INCLUDE /nonexistent/evil.ld /\\*\\x0aINCLUDE /nonexistent/evil2.ld */" in script
    (tmp_path / "linker.ld").write_text(script)
    obj = _compile(tmp_path, "void Reset_Handler(void) { for (;;) {} }\n")
    r = subprocess.run([ld, "-T", str(tmp_path / "linker.ld"), str(obj), "-o", str(tmp_path / "a.elf")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert ld_comment("a*/b") == "a*\\/b"


# --- platformio.ini -----------------------------------------------------------------------------------------

def _pio_read(text: str, key: str) -> str:
    """A value as PlatformIO's ProjectConfig reads it (configparser, its inline comment prefixes)."""
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    parser.read_string(text)
    return parser.get("env:x", key)


@pytest.mark.parametrize("value", ["nucleo_f746zg", "100%", "a;b#c", "/path/with spaces/and $dollar/x",
                                   '-DTINYC_BOARD_ID=\\"nucleo-f746\\"'])
def test_ini_value_reads_back_as_written(value):
    assert _pio_read(f"[env:x]\nboard = {ini_value(value)}\n", "board") == value


@pytest.mark.parametrize("value,words", [
    ("nucleo\n[env:evil]\nextra_scripts = /tmp/evil.py", "line break"),
    ("nucleo\r", "line break"), ("x ; upload_command = evil", "comment"), ("; x", "comment"),
    ("x #y", "comment"), ("${sysenv.HOME}", "${"), (" x", "space"),
])
def test_ini_value_refuses_what_ini_cannot_hold(value, words):
    with pytest.raises(EscapeError) as exc:
        ini_value(value)
    assert "platformio.ini" in str(exc.value) and words in str(exc.value) and "\n" not in str(exc.value)


def test_platformio_ini_gets_no_injected_line(tmp_path):
    """Board fields are validated at load; a Board made without that check is still refused at render."""
    from tinyc.deploy.project import render_project

    board = get_board("nucleo-f746")
    evil = dataclasses.replace(board, upload=dataclasses.replace(
        board.upload, platformio_board="nucleo_f746zg\n[env:evil]\nextra_scripts = /tmp/evil.py"))
    with pytest.raises(EscapeError, match="line break"):
        render_project(tmp_path / "p", evil, [], emulate=False)
    project = render_project(tmp_path / "ok", board, [], emulate=False)
    ini = (project.path / "platformio.ini").read_text()
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    parser.read_string(ini)
    assert parser.sections() == ["platformio", "env:nucleo_f746", "env:nucleo_f746_stock"]
    assert parser.get("env:nucleo_f746_stock", "board") == "nucleo_f746zg"


# --- Renode and Robot Framework -----------------------------------------------------------------------------

def test_renode_filters():
    assert resc_path("/tmp/my firmware/fw.elf") == "@/tmp/my\\ firmware/fw.elf"
    for bad in ('/tmp/a"b.elf', "/tmp/a#b", "/tmp/a\nb", "/tmp/$x", "/tmp/a\\b"):
        with pytest.raises(EscapeError):
            resc_path(bad)
    assert resc_string("nucleo-f746") == '"nucleo-f746"'
    with pytest.raises(EscapeError):
        resc_string('a" ; quit ; "')
    text = resc_text('STM32 """\nquit')
    assert "\n" not in text and '"""' not in text


def test_robot_cells():
    assert robot("hello from tinyc on nucleo-f746") == "hello from tinyc on nucleo-f746"
    assert robot("@/tmp/x.resc") == "@/tmp/x.resc"
    assert robot("${EVIL} @{x} # c a=b \\") == "\\${EVIL} \\@{x} \\# c a\\=b \\\\"
    assert robot("two  spaces ") == "two${SPACE}${SPACE}spaces${SPACE}"
    assert robot("line\nbreak\x1b") == "line\\nbreak\\x1b"
    assert robot("") == "${EMPTY}" and robot("...") == "${EMPTY}..."
    assert robot(resc_path("/a b/x.resc")) == "@/a\\\\ b/x.resc"
