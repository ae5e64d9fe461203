"""Every register address and bit a real-board port uses, checked against the vendor's SVD file
(pinned PyPI packages: cmsis-svd 0.4's bundled data, pyOCD's svd_data.zip). A real board whose
chip has no SVD in those packages is marked unverified in its board file and in `tinyc boards`."""

from __future__ import annotations

import pytest

from tinyc.boards import all_boards
from tinyc.deploy import svdcheck
from tinyc.deploy.svdcheck import Annotation, check_annotation, parse_svd

REAL = [b for b in all_boards().values() if b.kind == "real"]
CHECKED = [b for b in REAL if b.svd]
FAMILIES = sorted({b.family for b in REAL})


def test_every_real_board_is_svd_checked_or_marked_unverified():
    assert {b.id for b in CHECKED} >= {"nucleo-f401re", "nucleo-l476rg", "bluepill", "nano33ble"}
    for b in REAL:
        if b.svd:
            assert b.port_check == "SVD"
        else:
            assert b.port_check == "unverified" and b.svd_note, f"{b.id}: say why it is unverified (svd_note)"


@pytest.mark.parametrize("board", CHECKED, ids=lambda b: b.id)
def test_port_registers_match_the_vendor_svd(board):
    checked, problems = svdcheck.check_board(board)
    assert problems == []
    paths = {a.path for a in checked}
    assert board.console.uart in paths  # the console instance the board file picks is among them
    assert len(checked) >= 30


@pytest.mark.parametrize("family", FAMILIES)
def test_ports_name_every_peripheral_address_they_use(family):
    """No bare peripheral address outside an annotated macro: all of them go through the check."""
    assert svdcheck.port_files(family)
    assert svdcheck.unannotated_addresses(family) == []
    assert len(svdcheck.annotations(family)) >= 30


def test_checker_catches_a_wrong_bit_a_wrong_address_and_a_wrong_name():
    svd = svdcheck.load_svd("cmsis-svd:STMicro/STM32L4x6.svd")
    good = next(a for a in svdcheck.annotations("stm32l4") if a.path == "USART1.ISR.TXE")
    assert check_annotation(good, svd) is None
    wrong_bit = Annotation(good.file, good.line, good.macro, 1 << 6, "svd", "USART1.ISR.TXE")
    assert "0x80 in the SVD, the port says 0x40" in check_annotation(wrong_bit, svd)
    wrong_addr = Annotation("x.c", 1, "RCC_CR", 0x40021004, "svd", "RCC.CR")
    assert "0x40021000 in the SVD" in check_annotation(wrong_addr, svd)
    assert "no field" in check_annotation(Annotation("x.c", 1, "X", 1, "svd", "RCC.CR.NOPE"), svd)
    assert "no peripheral" in check_annotation(Annotation("x.c", 1, "X", 1, "svd", "NOPE.CR"), svd)


def test_nrf52840_uarte_baud_value_is_the_uarte_one():
    """UART and UARTE differ for 115200 baud (0x01D7E000 vs 0x01D60000): the SVD check caught it."""
    svd = svdcheck.load_svd("pyocd:nrf52840.svd")
    assert svd["UARTE0"].registers["BAUDRATE"].enums["BAUDRATE"]["Baud115200"] == 0x01D60000
    a = next(a for a in svdcheck.annotations("nrf52") if a.path.endswith("=Baud115200"))
    assert a.value == 0x01D60000


SVD = b"""<?xml version="1.0"?>
<device><peripherals>
  <peripheral><name>UARTA</name><baseAddress>0x40001000</baseAddress><registers>
    <register><name>CTRL</name><addressOffset>0x4</addressOffset><fields>
      <field><name>EN</name><bitOffset>3</bitOffset><bitWidth>1</bitWidth></field>
      <field><name>MODE</name><bitRange>[7:5]</bitRange><enumeratedValues>
        <enumeratedValue><name>Fast</name><value>#101</value></enumeratedValue></enumeratedValues></field>
      <field><name>DIV0</name><lsb>8</lsb><msb>8</msb></field>
      <field><name>DIV1</name><lsb>9</lsb><msb>9</msb></field>
    </fields></register>
    <cluster><name>PSEL</name><addressOffset>0x100</addressOffset>
      <register><name>TXD</name><addressOffset>0x8</addressOffset></register></cluster>
    <register><dim>3</dim><dimIncrement>4</dimIncrement><name>CNF[%s]</name><addressOffset>0x200</addressOffset>
    </register>
  </registers></peripheral>
  <peripheral derivedFrom="UARTA"><name>UARTB</name><baseAddress>0x40002000</baseAddress></peripheral>
</peripherals></device>"""


@pytest.mark.parametrize("kind,path,value,ok", [
    ("svd", "UARTB", 0x40002000, True),
    ("svd", "UARTB.CTRL", 0x40002004, True),  # registers of a derived peripheral
    ("svd", "UARTA.CTRL.EN", 1 << 3, True),
    ("svd", "UARTA.CTRL.MODE", 0x7 << 5, True),  # bitRange form
    ("svd", "UARTA.CTRL.MODE=Fast", 5, True),  # binary enumerated value
    ("svd", "UARTA.CTRL.DIV[0-1]", 0x3 << 8, True),  # a field the SVD splits into bits
    ("svd-offset", "UARTA.PSEL_TXD", 0x108, True),  # cluster
    ("svd-offset", "UARTA.CNF[2]", 0x208, True),  # array
    ("svd", "UARTA.CTRL.EN", 1 << 4, False),
    ("svd-offset", "UARTA.CNF[1]", 0x208, False),
])
def test_svd_reader_understands_the_forms_vendors_use(kind, path, value, ok):
    svd = parse_svd(SVD)
    assert (check_annotation(Annotation("t.c", 1, "M", value, kind, path), svd) is None) == ok
