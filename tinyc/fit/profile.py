"""Per-layer counts of a model measured on the target: the generated model with each kernel call wrapped
in a port span (firmware/include/tinyc_port.h), run to exit in QEMU (-icount: instructions) .

The model is generated exactly as `tinyc build` generates it (tinyc's memory plan, packed weights where
smaller, the board's kernel variant), so the measured layers are the ones the firmware will run. The
profile firmware links into the stand-in's memory so calibration models larger than the board still run.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path

from tinyc import paths
from tinyc.errors import TinycError

MAIN = r"""#include <stdint.h>
#include "tinyc_port.h"
#include "tinyc_model.h"
void tinyc_fit_put(uint32_t v)
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
    port_puts("FIT-PROFILE-END\n");
    port_exit(0x42);
}
"""

_CALL = re.compile(r"(    /\* (\d+): (\w+) \*/\n)(    [^\n]+;\n)")


def instrument(model_c: str) -> str:
    """Wrap every kernel call of tinyc_model_invoke in a span and print its ticks."""
    src = model_c.replace('#include "tinyc_rt.h"', '#include "tinyc_rt.h"\n#include "tinyc_port.h"\n'
                          'void tinyc_fit_put(uint32_t v);', 1)
    src, n = _CALL.subn(lambda m: (m.group(1) + "    port_span_begin();\n" + m.group(4)
                                   + f'    {{ uint32_t t_ = (uint32_t)port_span_end(); port_puts("OP {m.group(2)} '
                                   + f'{m.group(3)} "); tinyc_fit_put(t_); port_puts("\\n"); }}\n'), src)
    if n == 0:
        raise TinycError("tinyc fit: the generated tinyc_model.c has no kernel calls to profile (its template "
                         "changed?)")
    return src


def profile_layers(tflite: bytes, board, run_board, timeout: float = 300.0, inplace: bool = True,
                   weights="auto") -> dict[int, int]:
    """op index -> measured units (instructions when emulated) of one inference, per layer; ``inplace``:
    the plan tinyc build uses (False: the plan without in-place layers); ``weights``: the filters' storage
    (tinyc.codegen.generate.generate's; calibration forces "packed" to measure the packed kernels)."""
    from tinyc.analyze.memory import plan_improved
    from tinyc.codegen.generate import generate
    from tinyc.deploy import emulator, platformio
    from tinyc.deploy.project import render_project
    from tinyc.model.graph import parse

    from tinyc.deploy.targets import target_for

    if not target_for(run_board, flashed=True).emulated:
        from tinyc.errors import NotImplementedYet

        raise NotImplementedYet("tinyc fit calibrates latency in emulation only for now; profiling layers on a "
                                "connected board (cycles) is not implemented yet")
    g = parse(tflite)
    regions = run_board.emulation.qemu_memory or run_board.regions
    roomy = dataclasses.replace(board, regions=tuple(regions)) if run_board is not board else board
    scratch = paths.cache_dir() / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fit-profile-", dir=scratch) as tmp:
        tmp = Path(tmp)
        gm = generate(g, plan_improved(g, inplace=inplace), board, tmp / "model", weights=weights)
        model_c = gm.out_dir / "tinyc_model.c"
        model_c.write_text(instrument(model_c.read_text()))
        main_c = tmp / "fit_profile_main.c"
        main_c.write_text(MAIN)
        proj = render_project(tmp / "fw", roomy, [main_c, *gm.sources], emulate=run_board is not board,
                              include_dirs=[gm.out_dir])
        fw = platformio.build(proj)
        run = emulator.run_to_exit(proj.run_board, fw.elf, timeout=timeout)
        if run.timed_out or "FIT-PROFILE-END" not in run.output:
            raise TinycError(f"tinyc fit: the latency profile of {g.name} did not finish in "
                             f"{run_board.emulation.qemu_machine} (exit {run.exit_code}): {run.output[-300:]!r}")
        per_tick = 10**9 / proj.run_board.emulation.tick_hz
        return {int(i): int(round(int(t) * per_tick)) for i, _op, t in re.findall(r"OP (\d+) (\w+) (\d+)",
                                                                                    run.output)}
