"""Each real board's hello firmware, run instruction by instruction (Unicorn CPU emulator) against a
register-level model of its chip: the few status flags the port waits for behave as the reference
manual says (a PLL locks once it is switched on, the clock switch reports the source asked for, a
UART's transmit register is always free), and every byte written to a UART data register is
recorded. The firmware must then print its greeting on the board file's console UART and no
other, and the clock tree it programmed, decoded here from the register values by the reference
manual's rules, must give the board's rated clock within the chip's limits (PLL ranges, bus
maxima, flash wait states) and the board's baud rate within 2 %.

This is no substitute for silicon: the ready flags are modelled, not timed, and nothing here
checks analogue behaviour. It does run the real compiled start-up, clock and console code of
every port, the unverified ones included."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests import real_builds
from tests.conftest import require_tool
from tinyc.boards import get_board

import unicorn as U  # pinned in pyproject.toml (dev)
from unicorn import arm_const as A

CPU = {"cortex-m0plus": A.UC_CPU_ARM_CORTEX_M0, "cortex-m3": A.UC_CPU_ARM_CORTEX_M3,
       "cortex-m4": A.UC_CPU_ARM_CORTEX_M4, "cortex-m7": A.UC_CPU_ARM_CORTEX_M7}
MHZ = 1_000_000


@dataclass
class Run:
    regs: dict[int, int]
    consoles: dict[int, bytearray] = field(default_factory=dict)  # data register address -> bytes
    exit_reached: bool = False

    def r(self, addr: int) -> int:
        return self.regs.get(addr, 0)


def bits(v: int, lo: int, width: int) -> int:
    return (v >> lo) & ((1 << width) - 1)


# --- chip models: (reset values, what a read returns, side effects of a write, UART data registers) ---

def stm32_rcc_reads(cr_pairs, cfgr, sw_width):
    """RCC_CR: each ready bit follows its enable bit; RCC_CFGR: SWS reports SW."""

    def read(run, addr):
        if addr == cr_pairs[0]:
            v = run.r(addr)
            for on, rdy in cr_pairs[1]:
                v = (v & ~(1 << rdy)) | (bits(v, on, 1) << rdy)
            return v
        if addr == cfgr:
            v = run.r(addr)
            mask = (1 << sw_width) - 1
            return (v & ~(mask << sw_width)) | ((v & mask) << sw_width)
        return None

    return read


def uart_v2(bases):  # ISR/RDR/TDR: TXE (bit 7) always set; data goes to TDR (+0x28)
    return ({b + 0x1C: 1 << 7 for b in bases}, {b + 0x28 for b in bases})


def uart_v1(bases):  # SR/DR: TXE (bit 7) always set; data goes to DR (+0x04)
    return ({b + 0x00: 1 << 7 for b in bases}, {b + 0x04 for b in bases})


class Chip:
    """Reset values, modelled reads and writes, and UART data registers of one family."""

    def __init__(self, family: str):
        self.family = family
        self.reset: dict[int, int] = {}
        self.fixed: dict[int, int] = {}
        self.data_regs: set[int] = set()
        self.read_rules = []
        if family == "stm32f7":
            self.read_rules.append(stm32_rcc_reads((0x40023800, [(0, 1), (24, 25)]), 0x40023808, 2))
            self.read_rules.append(lambda run, a: run.r(0x40007000) & (3 << 16) if a == 0x40007004 else None)
            self.fixed, self.data_regs = uart_v2([0x40011000, 0x40004400, 0x40004800, 0x40011400])
            self.reset = {0x40023800: 0x83, 0x40023804: 0x24003010, 0x40007000: 0xC000}
        elif family == "stm32f4":
            self.read_rules.append(stm32_rcc_reads((0x40023800, [(0, 1), (24, 25)]), 0x40023808, 2))
            self.fixed, self.data_regs = uart_v1([0x40011000, 0x40004400, 0x40011400])
            self.reset = {0x40023800: 0x83, 0x40023804: 0x24003010}
        elif family == "stm32l4":
            self.read_rules.append(stm32_rcc_reads((0x40021000, [(8, 10), (24, 25)]), 0x40021008, 2))
            self.fixed, self.data_regs = uart_v2([0x40013800, 0x40004400, 0x40004800, 0x40008000])
            self.reset = {0x40021000: 0x63, 0x4002100C: 0x1000, 0x40007000: 0x200, 0x40007080: 0x100}
        elif family == "stm32f1":
            self.read_rules.append(stm32_rcc_reads((0x40021000, [(0, 1), (16, 17), (24, 25)]), 0x40021004, 2))
            self.fixed, self.data_regs = uart_v1([0x40013800, 0x40004400, 0x40004800])
            self.reset = {0x40021000: 0x83, 0x40010800: 0x44444444, 0x40010804: 0x44444444}
        elif family == "stm32h7":
            self.read_rules.append(stm32_rcc_reads((0x58024400, [(0, 2), (24, 25)]), 0x58024410, 3))
            self.fixed, self.data_regs = uart_v2([0x40011000, 0x40004400, 0x40004800])
            self.fixed |= {0x58024804: 1 << 13}  # PWR_CSR1.ACTVOSRDY
            self.read_rules.append(lambda run, a: run.r(a) | (1 << 13) if a == 0x58024818 else None)  # VOSRDY
            self.reset = {0x58024400: 0x25, 0x5802480C: 0x6, 0x58024818: 0x4000, 0x5802442C: 0x01FF0000,
                          0x58024428: 0x02020200, 0x58024430: 0x01010280}
        elif family == "rp2040":
            self.fixed = {0x40024004: 1 << 31}  # XOSC_STATUS.STABLE
            self.read_rules.append(self._rp2040_read)
            self.data_regs = {0x40034000, 0x40038000}
            self.reset = {0x4000C000: 0x01FFFFFF, 0x40028004: 0x2D, 0x40008038: 1, 0x40008044: 1}
        elif family == "nrf52":
            self.data_regs = set()
        else:
            raise AssertionError(f"no chip model for {family}")

    @staticmethod
    def _rp2040_read(run, addr):
        if addr == 0x40008038:  # CLK_REF_SELECTED: one-hot of CLK_REF_CTRL.SRC
            return 1 << (run.r(0x40008030) & 3)
        if addr == 0x40008044:  # CLK_SYS_SELECTED: one-hot of CLK_SYS_CTRL.SRC
            return 1 << (run.r(0x4000803C) & 1)
        if addr == 0x4000C008:  # RESET_DONE: every block out of reset
            return ~run.r(0x4000C000) & 0x01FFFFFF
        if addr == 0x40028000:  # PLL_SYS CS: LOCK once powered
            return run.r(addr) | ((1 << 31) if not run.r(0x40028004) & 0x21 else 0)
        return None

    def read(self, run: Run, addr: int) -> int:
        if addr in self.fixed:
            return self.fixed[addr]
        for rule in self.read_rules:
            v = rule(run, addr)
            if v is not None:
                return v & 0xFFFFFFFF
        return run.r(addr)

    def write(self, run: Run, mem_read, addr: int, value: int) -> None:
        if self.family == "rp2040" and 0x40000000 <= addr < 0x40070000 and addr & 0x3000:
            base, kind = addr & ~0x3000, addr & 0x3000  # atomic XOR / SET / CLR aliases
            old = run.r(base)
            run.regs[base] = {0x1000: old ^ value, 0x2000: old | value, 0x3000: old & ~value}[kind]
            return
        run.regs[addr] = value
        if addr in self.data_regs:
            run.consoles.setdefault(addr, bytearray()).append(value & 0xFF)
        if self.family == "nrf52":
            if addr == 0x40000000 and value:  # TASKS_HFCLKSTART -> EVENTS_HFCLKSTARTED
                run.regs[0x40000100] = 1
            if addr == 0x40002008 and value:  # UARTE0 TASKS_STARTTX: EasyDMA sends TXD.PTR[0:MAXCNT]
                data = mem_read(run.r(0x40002544), run.r(0x40002548))
                run.consoles.setdefault(0x40002000, bytearray()).extend(data)
                run.regs[0x40002120] = 1  # EVENTS_ENDTX


def run_firmware(board_id: str, max_instructions: int = 20_000_000) -> tuple[Run, dict[str, int]]:
    from elftools.elf.elffile import ELFFile

    board = get_board(board_id)
    elf_path = real_builds.firmware(board_id, "hello").elf
    uc = U.Uc(U.UC_ARCH_ARM, U.UC_MODE_THUMB | U.UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(CPU[board.core])
    for r in board.regions:
        uc.mem_map(r.origin & ~0xFFF, (r.size + (r.origin & 0xFFF) + 0xFFF) & ~0xFFF)
    uc.mem_map(0x40000000, 0x20000000)  # peripherals: answered by the chip model
    uc.mem_map(0xE0000000, 0x100000)  # the core's own registers (SysTick, SCB, DWT): plain memory
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]:
                uc.mem_write(seg["p_paddr"], seg.data()[: seg["p_filesz"]])
        syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
        vectors = elf.get_section_by_name(".isr_vector").data()
    chip = Chip(board.family)
    run = Run(dict(chip.reset))

    def on_read(uc, access, addr, size, value, data):
        word = addr & ~3
        uc.mem_write(word, chip.read(run, word).to_bytes(4, "little"))

    def on_write(uc, access, addr, size, value, data):
        chip.write(run, lambda a, n: bytes(uc.mem_read(a, n)), addr, value & ((1 << (8 * size)) - 1))

    def on_exit(uc, address, size, data):
        run.exit_reached = True
        uc.emu_stop()

    uc.hook_add(U.UC_HOOK_MEM_READ, on_read, begin=0x40000000, end=0x5FFFFFFF)
    uc.hook_add(U.UC_HOOK_MEM_WRITE, on_write, begin=0x40000000, end=0x5FFFFFFF)
    uc.hook_add(U.UC_HOOK_CODE, on_exit, begin=syms["port_exit"] & ~1, end=syms["port_exit"] & ~1)
    for name in ("HardFault_Handler", "Default_Handler"):
        uc.hook_add(U.UC_HOOK_CODE, lambda uc, a, s, d, n=name: pytest.fail(f"{board_id}: reached {n}"),
                    begin=syms[name] & ~1, end=syms[name] & ~1)
    uc.reg_write(A.UC_ARM_REG_SP, int.from_bytes(vectors[:4], "little"))
    uc.emu_start(int.from_bytes(vectors[4:8], "little"), 0xFFFFFFFF, count=max_instructions)
    if board.family == "nrf52":
        run.regs[0xE000ED08] = int.from_bytes(uc.mem_read(0xE000ED08, 4), "little")
    return run, syms


# --- reference-manual decoding of the programmed clock tree -------------------------------------

def ppre(code: int) -> int:
    return 1 if code < 4 else 2 << (code - 4)


def hpre(code: int) -> int:
    return 1 if code < 8 else [2, 4, 8, 16, 64, 128, 256, 512][code - 8]


def clocks_stm32f4_f7(run, f7: bool):
    pll = run.r(0x40023804)
    assert not bits(pll, 22, 1), "PLL source should be the HSI"
    m, n, p = bits(pll, 0, 6), bits(pll, 6, 9), 2 * (bits(pll, 16, 2) + 1)
    ref, vco = 16 * MHZ / m, 16 * MHZ / m * n
    assert 1 * MHZ <= ref <= 2 * MHZ and (100 if f7 else 192) * MHZ <= vco <= 432 * MHZ
    cfgr = run.r(0x40023808)
    assert bits(cfgr, 0, 2) == 2  # SW = PLL
    sysclk = vco / p / hpre(bits(cfgr, 4, 4))
    p1, p2 = sysclk / ppre(bits(cfgr, 10, 3)), sysclk / ppre(bits(cfgr, 13, 3))
    ws = bits(run.r(0x40023C00), 0, 4)
    return sysclk, p1, p2, ws


def check_clock_tree(board, run):
    f = board.family
    baud_ok = []
    if f == "stm32f7":
        sysclk, p1, p2, ws = clocks_stm32f4_f7(run, True)
        assert p1 <= 54 * MHZ and p2 <= 108 * MHZ
        assert ws >= -(-sysclk // (30 * MHZ)) - 1  # RM0385 table 7, 2.7-3.6 V
        if sysclk > 180 * MHZ:  # over-drive on
            assert run.r(0x40007000) & (3 << 16) == 3 << 16
        usarts = {"USART1": (0x40011000, p2), "USART2": (0x40004400, p1), "USART3": (0x40004800, p1),
                  "USART6": (0x40011400, p2)}
        base, clk = usarts[board.console.uart]
        baud_ok.append(clk / run.r(base + 0x0C))
    elif f == "stm32f4":
        sysclk, p1, p2, ws = clocks_stm32f4_f7(run, False)
        assert p1 <= 42 * MHZ and p2 <= 84 * MHZ  # F401 (DS10086)
        assert ws >= -(-sysclk // (30 * MHZ)) - 1  # RM0368 table 6
        base, clk = {"USART1": (0x40011000, p2), "USART2": (0x40004400, p1), "USART6": (0x40011400, p2)}[
            board.console.uart]
        baud_ok.append(clk / run.r(base + 0x08))
    elif f == "stm32l4":
        pll = run.r(0x4002100C)
        assert bits(pll, 0, 2) == 2 and bits(pll, 24, 1)  # HSI16, PLLR enabled
        m, n, r = bits(pll, 4, 4) + 1, bits(pll, 8, 7), 2 * (bits(pll, 25, 2) + 1)
        ref, vco = 16 * MHZ / m, 16 * MHZ / m * n
        assert 4 * MHZ <= ref <= 16 * MHZ and 64 * MHZ <= vco <= 344 * MHZ
        cfgr = run.r(0x40021008)
        assert bits(cfgr, 0, 2) == 3
        sysclk = vco / r / hpre(bits(cfgr, 4, 4))
        p1, p2 = sysclk / ppre(bits(cfgr, 8, 3)), sysclk / ppre(bits(cfgr, 11, 3))
        ws = bits(run.r(0x40022000), 0, 4)
        boost = sysclk > 80 * MHZ
        assert ws >= -(-sysclk // ((20 if boost else 16) * MHZ)) - 1  # RM0432 table 12 / RM0351 table 9
        if boost:
            assert not run.r(0x40007080) & (1 << 8), "range 1 boost (R1MODE = 0) is needed above 80 MHz"
        base, clk, scale = {"USART1": (0x40013800, p2, 1), "USART2": (0x40004400, p1, 1),
                            "USART3": (0x40004800, p1, 1), "LPUART1": (0x40008000, p1, 256)}[board.console.uart]
        baud_ok.append(clk * scale / run.r(base + 0x0C))
        if board.console.tx_pin.startswith("PG"):
            assert run.r(0x40007004) & (1 << 9), "PG2-PG15 need VDDIO2 (PWR_CR2.IOSV)"
    elif f == "stm32f1":
        cfgr = run.r(0x40021004)
        assert bits(cfgr, 16, 1) and not bits(cfgr, 17, 1) and bits(cfgr, 0, 2) == 2  # HSE/1 -> PLL -> SYSCLK
        sysclk = board.crystal_hz * (bits(cfgr, 18, 4) + 2) / hpre(bits(cfgr, 4, 4))
        p1, p2 = sysclk / ppre(bits(cfgr, 8, 3)), sysclk / ppre(bits(cfgr, 11, 3))
        assert p1 <= 36 * MHZ and p2 <= 72 * MHZ
        assert bits(run.r(0x40022000), 0, 3) >= -(-sysclk // (24 * MHZ)) - 1  # RM0008 3.3.3
        base, clk = {"USART1": (0x40013800, p2), "USART2": (0x40004400, p1), "USART3": (0x40004800, p1)}[
            board.console.uart]
        baud_ok.append(clk / run.r(base + 0x08))
    elif f == "stm32h7":
        assert run.r(0x5802480C) & 0x7 == 0x2, "LDO supply, bypass off, configuration locked"
        sel, cfg, div = run.r(0x58024428), run.r(0x5802442C), run.r(0x58024430)
        m, n, p = bits(sel, 4, 6), bits(div, 0, 9) + 1, bits(div, 9, 7) + 1
        assert bits(sel, 0, 2) == 0 and not bits(cfg, 1, 1) and bits(cfg, 16, 1)  # HSI, wide VCO, P on
        hsi = 64 * MHZ >> bits(run.r(0x58024400), 3, 2)
        ref, vco = hsi / m, hsi / m * n
        rge = 0 if ref < 2 * MHZ else 1 if ref < 4 * MHZ else 2 if ref < 8 * MHZ else 3
        assert 1 * MHZ <= ref <= 16 * MHZ and bits(cfg, 2, 2) == rge and 192 * MHZ <= vco <= 960 * MHZ
        assert bits(run.r(0x58024410), 0, 3) == 3  # SW = PLL1
        d1 = run.r(0x58024418)
        sysclk = vco / p / hpre(bits(d1, 8, 4))
        aclk = sysclk / hpre(bits(d1, 0, 4))
        pclks = [aclk / ppre(bits(d1, 4, 3)), aclk / ppre(bits(run.r(0x5802441C), 4, 3)),
                 aclk / ppre(bits(run.r(0x5802441C), 8, 3)), aclk / ppre(bits(run.r(0x58024420), 4, 3))]
        vos0 = bits(run.r(0x58024818), 14, 2) == 3 and run.r(0x5800042C) & 1
        assert sysclk <= (480 if vos0 else 400) * MHZ and aclk <= 240 * MHZ and max(pclks) <= 120 * MHZ
        acr = run.r(0x52002000)
        assert bits(acr, 0, 4) >= (4 if aclk > 225 * MHZ else 3 if aclk > 210 * MHZ else 2)  # RM0433 table 17
        base = {"USART1": 0x40011000, "USART2": 0x40004400, "USART3": 0x40004800}[board.console.uart]
        baud_ok.append(pclks[2 if board.console.uart == "USART1" else 1] / run.r(base + 0x0C))
    elif f == "rp2040":
        pwr, prim = run.r(0x40028004), run.r(0x4002800C)
        assert pwr & 0x29 == 0  # PD, POSTDIVPD, VCOPD cleared
        vco = board.crystal_hz / bits(run.r(0x40028000), 0, 6) * run.r(0x40028008)
        assert 750 * MHZ <= vco <= 1600 * MHZ
        sysclk = vco / bits(prim, 16, 3) / bits(prim, 12, 3)
        assert run.r(0x4000803C) & 0xE1 == 0x01  # clk_sys = aux = pll_sys
        assert run.r(0x40008048) & (1 << 11) and bits(run.r(0x40008048), 5, 3) == 0  # clk_peri = clk_sys
        base = {"UART0": 0x40034000, "UART1": 0x40038000}[board.console.uart]
        baud_ok.append(sysclk / 16 / (run.r(base + 0x24) + run.r(base + 0x28) / 64))
        for pin in (board.console.tx_pin, board.console.rx_pin):
            assert run.r(0x40014004 + 8 * int(pin[2:])) & 0x1F == 2  # FUNCSEL = UART
    elif f == "nrf52":
        sysclk = 64 * MHZ  # fixed
        assert run.r(0x40002500) == 8 and run.r(0x40002524) == 0x01D60000  # UARTE enabled, 115200 baud
        for reg, pin in ((0x4000250C, board.console.tx_pin), (0x40002514, board.console.rx_pin)):
            port, num = (int(x) for x in pin[1:].split("."))
            assert run.r(reg) == (port << 5) | num  # connected (bit 31 clear)
        assert run.r(0xE000ED08) == board.upload.offset  # the vector table after the boot loader
    else:
        raise AssertionError(f)
    assert sysclk == board.clock_hz
    for baud in baud_ok:
        assert abs(baud / board.console.baud - 1) < 0.02
    check_console_pins(board, run)


GPIO_BASES = {"stm32f4": 0x40020000, "stm32f7": 0x40020000, "stm32h7": 0x58020000, "stm32l4": 0x48000000}


def check_console_pins(board, run):
    """The board file's TX/RX pins are switched to the console UART's alternate function
    (DS10086/DS10916/DS12110/DS10198/DS12023 alternate-function tables: USART1-3 AF7,
    USART6/LPUART1 AF8); on the F1, TX is an alternate-function push-pull output."""
    f = board.family
    pins = [(p[1], int(p[2:])) for p in (board.console.tx_pin, board.console.rx_pin)] if f.startswith("stm32") else []
    if f in GPIO_BASES:
        af = 8 if board.console.uart in ("USART6", "LPUART1") else 7
        for port, pin in pins:
            base = GPIO_BASES[f] + 0x400 * (ord(port) - ord("A"))
            assert bits(run.r(base), 2 * pin, 2) == 2, f"P{port}{pin} not in alternate-function mode"
            assert bits(run.r(base + (0x20 if pin < 8 else 0x24)), 4 * (pin % 8), 4) == af
    elif f == "stm32f1":
        (tx_port, tx), (rx_port, rx) = pins
        cr = 0x40010800 + 0x400 * (ord(tx_port) - ord("A")) + (0 if tx < 8 else 4)
        assert bits(run.r(cr), 4 * (tx % 8), 4) == 0xB  # 50 MHz output, alternate push-pull
        cr = 0x40010800 + 0x400 * (ord(rx_port) - ord("A")) + (0 if rx < 8 else 4)
        assert bits(run.r(cr), 4 * (rx % 8), 2) == 0  # input


@pytest.mark.toolchain
@pytest.mark.parametrize("board_id", real_builds.REAL_BOARDS)
def test_port_brings_up_clock_and_console_as_the_board_file_says(board_id):
    require_tool("arm-none-eabi-gcc")
    board = get_board(board_id)
    run, _ = run_firmware(board_id)
    assert run.exit_reached, "the firmware never reached port_exit (stuck waiting on a flag?)"
    expected = f"hello from tinyc on {board_id}\n".encode()
    assert {a: bytes(b) for a, b in run.consoles.items()} == {
        next(iter(run.consoles), None): expected}, "the greeting must go to exactly one UART"
    console_reg = next(iter(run.consoles))
    check_clock_tree(board, run)
    # ... and that UART is the board file's: its data register lies in that instance's block.
    from tinyc.deploy import svdcheck

    base = next(a.value for a in svdcheck.annotations(board.family) if a.path == board.console.uart)
    assert base <= console_reg < base + 0x400
