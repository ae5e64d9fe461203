"""Flash and RAM use measured from the linked firmware: the ELF's sections, split by where the
bytes come from (model constants, model code, runtime kernels, harness, startup/port, C library)
with the GNU ld map file, so a difference from ``tinyc check``'s prediction can be explained."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyc.errors import TinycError

FLASH_SECTIONS = (".isr_vector", ".boot2", ".text", ".rodata", ".ARM.exidx")
RAM_SECTIONS = (".bss", ".arena", ".stack")  # .data counts in both (stored in flash, copied to RAM)
PARTS = ("model constants", "model code", "runtime kernels", "tensor arena", "harness", "startup & port",
         "C library", "alignment padding", "stack", "linker")


@dataclass(frozen=True)
class MemoryUse:
    flash: int
    ram: int
    sections: dict[str, int]
    parts: dict[str, dict[str, int]] = field(default_factory=dict)  # part -> {"flash": n, "ram": n}
    arena: int = 0
    stack: int = 0

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "MemoryUse":
        return cls(int(d["flash"]), int(d["ram"]), {str(k): int(v) for k, v in d["sections"].items()},
                   dict(d.get("parts") or {}), int(d.get("arena", 0)), int(d.get("stack", 0)))

    def to_json(self) -> dict[str, Any]:
        return {"flash": self.flash, "ram": self.ram, "sections": self.sections, "parts": self.parts,
                "arena": self.arena, "stack": self.stack}


def _part(obj: str, model_objects: set[str]) -> str:
    name = Path(obj.split("(")[0]).name
    if obj.endswith(")") or name.endswith(".a"):
        return "C library"
    stem = name[:-2] if name.endswith(".o") else name
    if stem == "tinyc_model_data":
        return "model constants"
    if stem == "tinyc_model":
        return "model code"
    if stem in model_objects:
        return "runtime kernels"
    if stem == "main":
        return "harness"
    if "/port/" in obj or stem.startswith(("cortex-m_", "cmsdk_", "stm32", "lm3s_", "nrf")):
        return "startup & port"
    return "linker"


def parse_map(text: str, model_objects: set[str]) -> dict[str, dict[str, int]]:
    """Bytes per part and memory from the map's input-section lines."""
    parts = {p: {"flash": 0, "ram": 0} for p in PARTS}
    start = text.find("Linker script and memory map")
    out_section = ""
    pending = ""
    line_re = re.compile(r"^\s+(?:(\S+)\s+)?(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)(?:\s+(\S.*))?$")
    for line in text[start:].splitlines():
        if line and not line[0].isspace():
            out_section = line.split()[0]
            pending = ""
            continue
        if out_section not in FLASH_SECTIONS + RAM_SECTIONS + (".data",):
            continue
        m = line_re.match(line.rstrip())
        if not m:
            bits = line.split()
            pending = bits[0] if len(bits) == 1 and bits[0].startswith(".") else ""
            continue
        head = m.group(1) or pending
        pending = ""
        if not head or not (head.startswith(".") or head in ("COMMON", "*fill*")):
            continue  # a symbol or an assignment
        size = int(m.group(3), 16)
        if size == 0:
            continue
        if out_section == ".arena":
            p = "tensor arena"
        elif out_section == ".stack":
            p = "stack"
        elif head == "*fill*":
            p = "alignment padding"
        else:
            p = _part((m.group(4) or "").strip(), model_objects)
        if out_section in FLASH_SECTIONS:
            parts[p]["flash"] += size
        elif out_section == ".data":
            parts[p]["flash"] += size
            parts[p]["ram"] += size
        else:
            parts[p]["ram"] += size
    return {k: v for k, v in parts.items() if v["flash"] or v["ram"]}


def measure(elf: Path, model_sources: list[Path] = ()) -> MemoryUse:
    """Sizes from the ELF's section headers (and the map file beside it, when there is one)."""
    try:
        data = Path(elf).read_bytes()
    except OSError as exc:
        raise TinycError(f"{elf}: cannot read the firmware ({exc}); build it first") from None
    sections = _elf_sections(data, elf)
    flash = sum(v for k, v in sections.items() if k in FLASH_SECTIONS or k == ".data")
    ram = sum(v for k, v in sections.items() if k in RAM_SECTIONS or k == ".data")
    map_file = Path(elf).with_name("firmware.map")
    parts: dict[str, dict[str, int]] = {}
    if map_file.is_file():
        parts = parse_map(map_file.read_text(errors="replace"), {Path(s).stem for s in model_sources})
        if sections.get(".stack"):  # reserved by the linker script, no input section to attribute
            parts["stack"] = {"flash": 0, "ram": sections[".stack"]}
    return MemoryUse(flash, ram, sections, parts, sections.get(".arena", 0), sections.get(".stack", 0))


def _elf_sections(data: bytes, where: Path) -> dict[str, int]:
    """Allocated sections of a 32-bit little-endian ELF: name -> size."""
    import struct

    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise TinycError(f"{where}: not a 32-bit little-endian ELF file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    heads = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = heads[shstrndx][4]

    def name(off: int) -> str:
        end = data.index(b"\0", stroff + off)
        return data[stroff + off:end].decode()

    SHF_ALLOC = 0x2
    return {name(h[0]): h[5] for h in heads if h[2] & SHF_ALLOC and h[5]}
