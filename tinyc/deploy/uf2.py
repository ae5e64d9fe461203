"""UF2 files for boards that take firmware as a file copied to their USB boot drive (RP2040).

UF2 (Microsoft's USB flashing format): 512-byte blocks, each carrying 256 bytes of payload for one
flash address, framed by magic numbers, with the chip family id so a boot loader rejects a file
meant for another chip. The RP2040's boot ROM also wants a second-stage boot block whose last
word is a CRC-32 of the first 252 bytes; boot2_crc32 computes it for the checks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from tinyc.errors import TinycError

MAGIC_START0 = 0x0A324655  # "UF2\n"
MAGIC_START1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30
FLAG_FAMILY_ID_PRESENT = 0x00002000
RP2040_FAMILY_ID = 0xE48BFF56
PAYLOAD = 256
BLOCK = 512
_HEADER = struct.Struct("<8I")


class Uf2Error(TinycError):
    pass


def boot2_crc32(data: bytes) -> int:
    """CRC-32/MPEG-2: polynomial 0x04C11DB7, MSB first, initial 0xFFFFFFFF, no final XOR."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc


def elf_image(elf: Path, lo: int, hi: int) -> dict[int, bytes]:
    """The bytes the ELF loads into [lo, hi) by load address, as {address: data} per segment."""
    from elftools.elf.elffile import ELFFile  # installed with PlatformIO

    chunks = {}
    with open(elf, "rb") as f:
        for seg in ELFFile(f).iter_segments():
            if seg["p_type"] != "PT_LOAD" or seg["p_filesz"] == 0:
                continue
            addr = seg["p_paddr"]
            if not (lo <= addr and addr + seg["p_filesz"] <= hi):
                raise Uf2Error(f"{elf}: a segment at 0x{addr:08X} ({seg['p_filesz']} B) lies outside flash "
                               f"0x{lo:08X}-0x{hi:08X}; rebuild it for this board")
            chunks[addr] = seg.data()[: seg["p_filesz"]]
    if not chunks:
        raise Uf2Error(f"{elf}: no loadable data; is it a firmware ELF?")
    return chunks


def to_uf2(chunks: dict[int, bytes], family_id: int = RP2040_FAMILY_ID) -> bytes:
    """UF2 blocks covering every 256-byte-aligned page the chunks touch (gaps filled with 0xFF)."""
    pages: dict[int, bytearray] = {}
    for addr, data in chunks.items():
        for i, byte in enumerate(data):
            a = addr + i
            page = pages.setdefault(a & ~(PAYLOAD - 1), bytearray(b"\xff" * PAYLOAD))
            page[a & (PAYLOAD - 1)] = byte
    out = bytearray()
    order = sorted(pages)
    for n, base in enumerate(order):
        header = _HEADER.pack(MAGIC_START0, MAGIC_START1, FLAG_FAMILY_ID_PRESENT, base, PAYLOAD, n, len(order),
                              family_id)
        block = header + bytes(pages[base]) + bytes(BLOCK - _HEADER.size - PAYLOAD - 4) + struct.pack("<I", MAGIC_END)
        assert len(block) == BLOCK
        out += block
    return bytes(out)


@dataclass(frozen=True)
class Uf2Block:
    address: int
    payload: bytes
    number: int
    total: int
    family_id: int


def parse_uf2(data: bytes) -> list[Uf2Block]:
    """Read a UF2 file back, checking every magic number (what a boot loader does)."""
    if len(data) % BLOCK:
        raise Uf2Error(f"UF2 data is {len(data)} B, not a multiple of {BLOCK}")
    blocks = []
    for i in range(0, len(data), BLOCK):
        m0, m1, flags, addr, size, num, total, fam = _HEADER.unpack_from(data, i)
        (end,) = struct.unpack_from("<I", data, i + BLOCK - 4)
        if (m0, m1, end) != (MAGIC_START0, MAGIC_START1, MAGIC_END):
            raise Uf2Error(f"UF2 block {i // BLOCK}: bad magic numbers")
        if not flags & FLAG_FAMILY_ID_PRESENT or size > 476:
            raise Uf2Error(f"UF2 block {i // BLOCK}: no family id or payload size {size}")
        blocks.append(Uf2Block(addr, data[i + 32: i + 32 + size], num, total, fam))
    return blocks


def elf_to_uf2(elf: Path, out: Path, flash_origin: int, flash_size: int,
               family_id: int = RP2040_FAMILY_ID) -> Path:
    out.write_bytes(to_uf2(elf_image(elf, flash_origin, flash_origin + flash_size), family_id))
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m tinyc.deploy.uf2 firmware.bin 0x10000000 /media/$USER/RPI-RP2`: write firmware.uf2
    beside the .bin and copy it to the boot drive (the generated platformio.ini's upload_command)."""
    import shutil
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m tinyc.deploy.uf2 FIRMWARE.bin FLASH_ORIGIN BOOT_DRIVE", file=sys.stderr)
        return 2
    binary, origin, drive = Path(args[0]), int(args[1], 0), Path(args[2])
    if not drive.is_dir():
        print(f"error: {drive} is not a mounted boot drive: hold BOOTSEL while plugging the board in, "
              f"then pass its mount point with --upload-port", file=sys.stderr)
        return 2
    out = binary.with_suffix(".uf2")
    out.write_bytes(to_uf2({origin: binary.read_bytes()}))
    shutil.copyfile(out, drive / out.name)
    print(f"copied {out} to {drive / out.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
