"""Check a firmware port's register addresses and bits against the vendor's SVD description.

Nothing here can be run on silicon in CI, so the ports name every peripheral register and bit
they touch in a macro annotated with its SVD path, e.g.

    #define RCC_CR_PLLON (1u << 24) /* svd: RCC.CR.PLLON */

and this module compares each value with the SVD file the board names (board file field `svd`,
"<package>:<file>", from a pinned PyPI package: cmsis-svd 0.4's bundled data or pyOCD's
svd_data.zip). Annotation forms:
  svd: PERIPH              peripheral base address
  svd: PERIPH.REG          absolute register address
  svd: PERIPH.REG.FIELD    field mask (bits in place)
  svd: PERIPH.REG.FIELD=E  the enumerated value E of that field (not shifted)
  svd-offset: PERIPH.REG   register offset within the peripheral
Registers inside an SVD cluster are named CLUSTER_REG (UARTE0.PSEL_TXD), arrays NAME[i]; a field
that the SVD splits into single bits F0, F1, ... is written F[0-5] (their union must be the mask).
Macros annotated with a reference-manual tag instead ("rm0432: ...") are facts no pinned SVD
covers; they are listed, not checked.
"""

from __future__ import annotations

import importlib.util
import re
import zipfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tinyc import paths
from tinyc.boards import Board
from tinyc.errors import TinycError

_ANNOTATION = re.compile(
    r"^\s*#define\s+(\w+)\s+(.+?)\s*/\*\s*(svd|svd-offset|rm\d+):\s*([\w.\[\]=-]+)[^*]*\*/\s*$")
_LITERAL = re.compile(r"\b(0[xX][0-9A-Fa-f]+|\d+)[uUlL]*\b")
_PERIPHERAL_ADDR = re.compile(r"\b0[xX]([4-5][0-9A-Fa-f]{7})[uU]?\b")


@dataclass(frozen=True)
class Annotation:
    file: str
    line: int
    macro: str
    value: int
    kind: str  # "svd", "svd-offset" or a reference-manual tag such as "rm0432"
    path: str


@dataclass
class Register:
    offset: int
    fields: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (lsb, width)
    enums: dict[str, dict[str, int]] = field(default_factory=dict)  # field -> {enum name: value}


@dataclass
class Peripheral:
    base: int
    registers: dict[str, Register]


class SvdError(TinycError):
    pass


def _int(text: str) -> int:
    text = text.strip().lower()
    if text.startswith("#"):
        return int(text[1:].replace("x", "0"), 2)
    if text.startswith("0b"):
        return int(text[2:], 2)
    return int(text, 0)


def _expand(node: ET.Element) -> list[tuple[str, int]]:
    """(name, extra offset) for a register/cluster, expanding SVD dim arrays."""
    name = node.findtext("name").strip()
    dim = node.findtext("dim")
    if dim is None:
        return [(name, 0)]
    step = _int(node.findtext("dimIncrement"))
    index = node.findtext("dimIndex")
    keys = index.split(",") if index and "," in index else [str(i) for i in range(_int(dim))]
    return [(name.replace("[%s]", f"[{k}]").replace("%s", k), i * step) for i, k in enumerate(keys)]


def _fields(reg: ET.Element) -> tuple[dict, dict]:
    fields, enums = {}, {}
    for f in reg.iterfind("fields/field"):
        name = f.findtext("name").strip()
        if f.findtext("bitOffset") is not None:
            lsb, width = _int(f.findtext("bitOffset")), _int(f.findtext("bitWidth"))
        elif f.findtext("lsb") is not None:
            lsb = _int(f.findtext("lsb"))
            width = _int(f.findtext("msb")) - lsb + 1
        else:
            msb, lsb = (int(x) for x in f.findtext("bitRange").strip("[]").split(":"))
            width = msb - lsb + 1
        fields[name] = (lsb, width)
        values = {}
        for ev in f.iterfind("enumeratedValues/enumeratedValue"):
            if ev.findtext("value") is not None:
                values[ev.findtext("name").strip()] = _int(ev.findtext("value"))
        if values:
            enums[name] = values
    return fields, enums


def _registers(parent: ET.Element, prefix: str = "", base: int = 0) -> dict[str, Register]:
    regs: dict[str, Register] = {}
    for reg in parent.findall("register"):
        fields, enums = _fields(reg)
        for name, extra in _expand(reg):
            regs[prefix + name] = Register(base + _int(reg.findtext("addressOffset")) + extra, fields, enums)
    for cl in parent.findall("cluster"):
        for name, extra in _expand(cl):
            regs |= _registers(cl, f"{prefix}{name}_", base + _int(cl.findtext("addressOffset")) + extra)
    return regs


def parse_svd(text: bytes) -> dict[str, Peripheral]:
    root = ET.fromstring(text)
    nodes = {p.findtext("name").strip(): p for p in root.iterfind("peripherals/peripheral")}
    out: dict[str, Peripheral] = {}
    for name, p in nodes.items():
        source = p
        while source.find("registers") is None and source.get("derivedFrom"):
            source = nodes[source.get("derivedFrom")]
        regs_node = source.find("registers")
        out[name] = Peripheral(_int(p.findtext("baseAddress")), _registers(regs_node) if regs_node is not None else {})
    return out


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise SvdError(f"the Python package {package!r} that holds the SVD files is not installed; "
                       f"run .venv/bin/pip install -e '.[dev]'")
    return Path(list(spec.submodule_search_locations)[0])


@cache
def load_svd(spec: str) -> dict[str, Peripheral]:
    """Peripherals of the SVD named "<package>:<file>" (cmsis-svd:STMicro/X.svd or pyocd:x.svd)."""
    package, _, name = spec.partition(":")
    root = _package_dir(package)
    if package == "cmsis-svd":
        path = root / "data" / name
        if not path.is_file():
            raise SvdError(f"{path} does not exist: cmsis-svd 0.4 bundles its data, later releases do not")
        return parse_svd(path.read_bytes())
    if package == "pyocd":
        with zipfile.ZipFile(root / "debug" / "svd" / "svd_data.zip") as z:
            return parse_svd(z.read(name))
    raise SvdError(f"no SVD source {package!r}: use cmsis-svd or pyocd")


def _eval(expr: str, where: str) -> int:
    plain = _LITERAL.sub(lambda m: m.group(1), expr)
    if not re.fullmatch(r"[0-9a-fA-FxX()<>|&~+\- ]+", plain):
        raise SvdError(f"{where}: cannot evaluate {expr!r}; annotated macros must be integer expressions")
    return eval(plain, {"__builtins__": {}}) & 0xFFFFFFFF  # noqa: S307 - digits and operators only


def port_files(family: str) -> list[Path]:
    """The family's .c files and the shared headers (ports/<vendor>-common/) they include: a register macro
    in a shared header is checked against the SVD of every family that uses it."""
    ports = paths.firmware_dir() / "ports"
    own = sorted((ports / family).glob("*.c"))
    shared = {h.name: h for d in ports.glob("*-common") if family.startswith(d.name.removesuffix("-common"))
              for h in d.glob("*.h")}
    included = {m for f in own for m in re.findall(r'#include "([\w.]+\.h)"', f.read_text())}
    return own + [shared[n] for n in sorted(included) if n in shared]


def annotations(family: str) -> list[Annotation]:
    out = []
    for path in port_files(family):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            m = _ANNOTATION.match(line)
            if m:
                where = f"{path.name}:{i}"
                out.append(Annotation(path.name, i, m.group(1), _eval(m.group(2), where), m.group(3), m.group(4)))
    return out


def unannotated_addresses(family: str) -> list[str]:
    """Peripheral-space addresses (0x4xxxxxxx, 0x5xxxxxxx) written outside an annotated macro."""
    found = []
    for path in port_files(family):
        depth = 0  # > 0 inside an emulator-only block (#ifdef TINYC_EMULATED), which no real board builds
        for i, line in enumerate(path.read_text().splitlines(), 1):
            directive = line.strip()
            if depth:
                if directive.startswith("#if"):
                    depth += 1
                elif directive.startswith("#endif"):
                    depth -= 1
                continue
            if re.match(r"#\s*(ifdef\s+TINYC_EMULATED|if\s+defined\(TINYC_EMULATED\))", directive):
                depth = 1
                continue
            if _ANNOTATION.match(line):
                continue
            code = line.split("//")[0]
            for m in _PERIPHERAL_ADDR.finditer(code):
                found.append(f"{path.name}:{i}: 0x{m.group(1)}")
    return found


def check_annotation(a: Annotation, svd: dict[str, Peripheral]) -> str | None:
    """None when the annotation agrees with the SVD, else what differs."""
    where = f"{a.file}:{a.line} {a.macro}"
    path, _, enum = a.path.partition("=")
    parts = path.split(".")
    periph = svd.get(parts[0])
    if periph is None:
        return f"{where}: the SVD has no peripheral {parts[0]}"
    if len(parts) == 1:
        want = periph.base
    else:
        reg = periph.registers.get(parts[1])
        if reg is None:
            return f"{where}: the SVD has no register {parts[0]}.{parts[1]}"
        if len(parts) == 2:
            want = reg.offset if a.kind == "svd-offset" else periph.base + reg.offset
        else:
            group = re.fullmatch(r"(\w+?)\[(\d+)-(\d+)\]", parts[2])
            names = [f"{group.group(1)}{i}" for i in range(int(group.group(2)), int(group.group(3)) + 1)] \
                if group else [parts[2]]
            missing = [n for n in names if n not in reg.fields]
            if missing:
                return f"{where}: the SVD has no field {parts[0]}.{parts[1]}.{missing[0]} " \
                       f"(it has {', '.join(sorted(reg.fields))})"
            if enum:
                values = reg.enums.get(parts[2], {})
                if group or enum not in values:
                    return f"{where}: the SVD has no value {enum} for {path}"
                want = values[enum]
            else:
                want = 0
                for n in names:
                    lsb, width = reg.fields[n]
                    want |= ((1 << width) - 1) << lsb
    if want != a.value:
        return f"{where}: {a.path} is 0x{want:X} in the SVD, the port says 0x{a.value:X}"
    return None


def check_board(board: Board) -> tuple[list[Annotation], list[str]]:
    """(annotations checked, mismatches) for a board's port against the SVD its board file names."""
    if not board.svd:
        raise SvdError(f"{board.path}: no 'svd' field: the {board.family} port of {board.id} is unverified "
                       f"({board.svd_note or 'no reason given'})")
    svd = load_svd(board.svd)
    checked = [a for a in annotations(board.family) if a.kind in ("svd", "svd-offset")]
    problems = [p for p in (check_annotation(a, svd) for a in checked) if p]
    return checked, problems
