"""Per-call instruction counts of a generated model in QEMU (-icount shift=0), reference or DSP kernels.

The generated tinyc_model.c is instrumented after generation: each kernel call is wrapped in a SysTick
span (40-instruction resolution on mps2) and its count printed. A benchmark aid, not a test.

    .venv/bin/python benchmarks/profile_layers.py kws_dscnn [--board mps2-an500] [--reference] [--default-plan]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinyc import zoo  # noqa: E402
from tinyc.analyze.memory import plan_improved  # noqa: E402
from tinyc.boards import get_board  # noqa: E402
from tinyc.codegen import generate  # noqa: E402
from tinyc.deploy import emulator, platformio  # noqa: E402
from tinyc.deploy.project import render_project  # noqa: E402
from tinyc.model.graph import load  # noqa: E402

MAIN = r"""#include <stdint.h>
#include "tinyc_port.h"
#include "tinyc_model.h"
void tinyc_profile_put(uint32_t v)
{
    char buf[12];
    int n = 0;
    do { buf[n++] = (char)('0' + v % 10u); v /= 10u; } while (v);
    while (n) port_putc((uint8_t)buf[--n]);
}
int main(void)
{
    uint32_t lcg = 12345u;
    for (int i = 0; i < TINYC_MODEL_NUM_INPUTS; ++i) {
        const tinyc_tensor_t *t = tinyc_model_input(i);
        for (uint32_t k = 0; k < t->bytes; ++k) { lcg = lcg * 1664525u + 1013904223u; ((uint8_t *)t->data)[k] = (uint8_t)(lcg >> 24); }
    }
    tinyc_model_invoke();
    return 0;
}
"""


def plan_for(g, default_plan: bool = False):
    """The plan without in-place layers, or (``default_plan``) the plan tinyc build uses, in-place layers on."""
    return plan_improved(g) if default_plan else plan_improved(g, inplace=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--board", default="mps2-an500")
    ap.add_argument("--reference", action="store_true", help="the reference kernels (the board without DSP)")
    ap.add_argument("--default-plan", action="store_true",
                    help="plan_improved as tinyc build uses it (in-place layers where they shrink the arena)")
    args = ap.parse_args()
    g = load(zoo.build(args.model))
    board = get_board(args.board)
    if args.reference:
        board = dataclasses.replace(board, dsp=False)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gm = generate(g, plan_for(g, args.default_plan), board, tmp / "model")
        src = (gm.out_dir / "tinyc_model.c").read_text()
        src = src.replace('#include "tinyc_rt.h"', '#include "tinyc_rt.h"\n#include "tinyc_port.h"\n'
                          'void tinyc_profile_put(uint32_t v);', 1)
        src = re.sub(r"(    /\* (\d+): (\w+) \*/\n)(    [^\n]+;\n)",
                     lambda m: (m.group(1) + "    port_span_begin();\n" + m.group(4)
                                + f'    {{ uint32_t t_ = (uint32_t)port_span_end(); port_puts("OP {m.group(2)} '
                                + f'{m.group(3)} "); tinyc_profile_put(t_); port_puts("\\n"); }}\n'), src)
        (gm.out_dir / "tinyc_model.c").write_text(src)
        main_c = tmp / "profile_main.c"
        main_c.write_text(MAIN)
        proj = render_project(tmp / "fw", board, [main_c, *gm.sources], emulate=True, include_dirs=[gm.out_dir])
        fw = platformio.build(proj)
        run = emulator.run_to_exit(proj.run_board, fw.elf, timeout=600)
        per_tick = 10**9 // proj.run_board.emulation.systick_hz
        rows = re.findall(r"OP (\d+) (\w+) (\d+)", run.output)
        calls = {c.index: c for c in []}
        total = 0
        for idx, op, ticks in rows:
            n = int(ticks) * per_tick
            total += n
            print(f"{int(idx):3d} {op:20s} {n:>11,}")
        print(f"    {'total':20s} {total:>11,}  ({gm.variant}, {args.board})")
        del calls


if __name__ == "__main__":
    main()
