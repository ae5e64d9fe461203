"""The -D flags that tell a real board's firmware port its board facts.

A port holds the chip's facts (register addresses, alternate functions, clock plans); which
UART instance and pins the board wires to its serial bridge, the rated clock and the crystal come
from boards/<id>.toml and reach the port as preprocessor symbols.
"""

from __future__ import annotations

import re

from tinyc.boards import Board, BoardError

# Cores whose DWT has a cycle counter (ARMv7-M, ARMv8-M mainline); the M0/M0+ have none.
DWT_CORES = ("cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")

_PIN_FORMS = (
    (re.compile(r"P([A-K])(\d{1,2})"), lambda m: (ord(m.group(1)) - ord("A"), int(m.group(2)))),  # STM32: PD8
    (re.compile(r"P(\d)\.(\d{1,2})"), lambda m: (int(m.group(1)), int(m.group(2)))),  # nRF: P1.03
    (re.compile(r"GP(\d{1,2})"), lambda m: (0, int(m.group(1)))),  # RP2040: GP0
)


def parse_pin(board: Board, field: str, name: str) -> tuple[int, int]:
    """A pin name as the vendor writes it -> (port number, pin number)."""
    for pattern, convert in _PIN_FORMS:
        m = pattern.fullmatch(name.strip())
        if m:
            port, pin = convert(m)
            if pin > 31:
                break
            return port, pin
    raise BoardError(f"{board.path}: field 'console.{field}' is {name!r}, not a pin name; write it as the "
                     f"vendor does (PD8 for STM32, P1.03 for nRF, GP0 for RP2040)")


def console_pin_defines(board: Board) -> dict[str, str]:
    """The console's TX/RX pins as port and pin numbers (real boards; emulated ones whose port sets pins)."""
    con = board.console
    tx, rx = parse_pin(board, "tx_pin", con.tx_pin), parse_pin(board, "rx_pin", con.rx_pin)
    return {"TINYC_TX_PORT": str(tx[0]), "TINYC_TX_PIN": str(tx[1]),
            "TINYC_RX_PORT": str(rx[0]), "TINYC_RX_PIN": str(rx[1])}


def real_board_defines(board: Board) -> dict[str, str]:
    """Console instance and pins, crystal and timer choice for a real board's port."""
    con = board.console
    if not re.fullmatch(r"[A-Z]+[0-9]*", con.uart):
        raise BoardError(f"{board.path}: field 'console.uart' is {con.uart!r}; write the instance as the "
                         f"reference manual names it, e.g. USART3")
    if not con.tx_pin or not con.rx_pin:
        raise BoardError(f"{board.path}: fields 'console.tx_pin' and 'console.rx_pin' are needed to build "
                         f"firmware for a real board; add them")
    d = {f"TINYC_UART_{con.uart}": "1", **console_pin_defines(board)}
    if board.crystal_hz:
        d["TINYC_HSE_HZ"] = f"{board.crystal_hz}u"
    if board.core in DWT_CORES:
        d["TINYC_USE_DWT"] = "1"
    if board.upload.offset:
        d["TINYC_APP_OFFSET"] = f"0x{board.upload.offset:X}u"
    return d
