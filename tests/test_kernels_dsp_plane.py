"""The DSP in-place depthwise plane kernel (tinyc_arm_dsp_depthwise_plane_inplace_s8) against the reference
kernels, geometry by geometry: the 3x3 line loop along rows or columns (widths 4 to 7, so both right-edge
endings; stride 2 across the lines; one-line planes), the generic loop (stride 2 along both axes, VALID
padding, 5x5, dilation, planes narrower than 4), channel counts that are not multiples of 4, per-tensor and
per-channel requantization, with and without an activation range.

Each case goes through the real generator step (tinyc.codegen.specialize on a lowered in-place call); the
harness runs the reference out-of-place kernel, the reference in-place plane kernel and the DSP one on the
same inputs, with plane buffers of exactly in_h * in_w bytes (as the plan reserves them): on the host under
ASan/UBSan (portable models of the instructions), and in QEMU on the Cortex-M4, M7 and M55 (the real
SMLAD/SMLABT/SMLATB/SXTB16/SMMULR). On the M55 the Helium plane kernel (tinyc_arm_mve_depthwise_plane_inplace_s8,
3x3 lines along an axis with stride 1 and padding 1) runs too, on the cases its generator step takes. The reference
depthwise kernel is the one checked against TFLite Micro."""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_tool
from tinyc.codegen.lower import ConstArray, KernelCall, LoweredModel
from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Arena, Const, Int, Role
from tinyc.codegen.specialize import DSP_DW_PLANE_INPLACE, specialize
from tinyc.codegen.specialize_mve import MVE_DW_PLANE_INPLACE
from tinyc.model.inplace import depthwise_form

# (in_h, in_w, channels, k_h, k_w, stride_h, stride_w, dil_h, dil_w, padding, act, per_channel)
CASES = [
    (25, 5, 64, 3, 3, 1, 1, 1, 1, "SAME", "relu", True),     # KWS DS-CNN: lines along the columns
    (5, 25, 8, 3, 3, 1, 1, 1, 1, "SAME", "none", True),      # lines along the rows
    (6, 6, 3, 3, 3, 1, 1, 1, 1, "SAME", "relu6", False),     # both axes fit (rows); 3 channels; per-tensor
    (7, 4, 5, 3, 3, 1, 1, 1, 1, "SAME", "relu", True),       # columns of 7 (odd: last output alone)
    (4, 7, 6, 3, 3, 1, 1, 1, 1, "SAME", "relu6", True),      # rows of 7
    (9, 6, 2, 3, 3, 1, 1, 1, 1, "SAME", "none", False),      # columns of 9
    (3, 4, 7, 3, 3, 1, 1, 1, 1, "SAME", "none", True),       # rows of 4 (two right outputs)
    (1, 6, 4, 3, 3, 1, 1, 1, 1, "SAME", "relu", True),       # one row: two filter lines are padding
    (6, 1, 4, 3, 3, 1, 1, 1, 1, "SAME", "relu", True),       # one column
    (10, 7, 6, 3, 3, 2, 1, 1, 1, "SAME", "relu", True),      # stride 2 across rows
    (7, 10, 5, 3, 3, 1, 2, 1, 1, "SAME", "relu6", False),    # stride 2 across columns
    (11, 8, 6, 3, 3, 2, 1, 1, 1, "SAME", "none", True),      # stride 2 across, even input (pad 0 above)
    (8, 8, 4, 3, 3, 2, 2, 1, 1, "SAME", "relu", True),       # stride 2 both ways: generic loop
    (9, 9, 3, 3, 3, 2, 2, 1, 1, "SAME", "relu6", True),
    (7, 6, 5, 3, 3, 1, 1, 1, 1, "VALID", "relu", True),      # no padding: generic loop
    (3, 3, 4, 3, 3, 1, 1, 1, 1, "SAME", "none", True),       # lines shorter than 4: generic loop
    (9, 7, 4, 5, 5, 1, 1, 1, 1, "SAME", "relu6", True),      # 5x5: generic loop
    (9, 8, 3, 3, 3, 1, 1, 2, 2, "SAME", "relu", False),      # dilation 2: generic loop
    (8, 5, 6, 3, 1, 1, 1, 1, 1, "SAME", "none", True),       # 3x1: generic loop
    # for the Helium kernel's vector counts per line (first, inner 3 at a time, last at len - 4)
    (5, 12, 4, 3, 3, 1, 1, 1, 1, "SAME", "relu", True),      # rows of 12: one inner vector
    (21, 3, 4, 3, 3, 1, 1, 1, 1, "SAME", "none", True),      # columns of 21: 3 + 1 inner vectors
    (5, 5, 3, 3, 3, 1, 1, 1, 1, "SAME", "relu6", False),     # rows of 5: no inner vector
    # channels a trained model has (a left shift, multiplier 0): the general requantization form, which the
    # DSP kernel runs in its generic loop and the Helium plane kernel leaves to it
    (25, 5, 6, 3, 3, 1, 1, 1, 1, "SAME", "relu", True, "general"),
    (6, 9, 3, 3, 3, 2, 1, 1, 1, "SAME", "none", True, "general"),
]
RUNS = 2  # random inputs per case


def _out_pad(size: int, k: int, stride: int, dil: int, padding: str) -> tuple[int, int]:
    eff = (k - 1) * dil + 1
    if padding == "VALID":
        return (size - eff) // stride + 1, 0
    out = -(-size // stride)
    return out, max((out - 1) * stride + eff - size, 0) // 2


def _quant(scale: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier for a real multiplier ``scale`` (< 1): (Q0.31 multiplier, shift)."""
    m, e = math.frexp(scale)
    q = int(math.floor(m * (1 << 31) + 0.5))
    if q == 1 << 31:
        q, e = q // 2, e + 1
    return q, e



def _inplace_call(index: int, p: dict, ring_rows: int, n: str) -> KernelCall:
    """The reference in-place depthwise call lowering makes (ring rows 0: the plane scheme), constants named
    <n>_w, _b, _m, _s; the arena offsets do not matter to the specializer."""
    return KernelCall(index, "DEPTHWISE_CONV_2D", K.DEPTHWISE_CONV2D_INPLACE, tuple(p.items()),
                      ((Role.RING_ROWS, Int(ring_rows)), (Role.IO, Arena(0)), (Role.WEIGHTS, Const(f"{n}_w")),
                       (Role.BIAS, Const(f"{n}_b")), (Role.MULTIPLIERS, Const(f"{n}_m")),
                       (Role.SHIFTS, Const(f"{n}_s")), (Role.RING, Arena(0))))


def _c_arg(o) -> str:
    """A constant operand as the C argument the generated code passes."""
    assert isinstance(o, Const), o
    return f"({o.cast}){o.name}" if o.cast else o.name

@dataclasses.dataclass
class Case:
    name: str
    params: dict
    consts: dict  # name -> (ctype, values)
    call: KernelCall  # the specialized call
    inputs: list
    mve_call: KernelCall | None = None  # the Helium plane kernel's call, where its generator step takes it


def make_case(i: int, spec, rng) -> Case:
    ih, iw, c, kh, kw, sh, sw, dh, dw, padding, act, per_channel = spec[:12]
    special = spec[12] if len(spec) > 12 else None
    oh, ph = _out_pad(ih, kh, sh, dh, padding)
    ow, pw = _out_pad(iw, kw, sw, dw, padding)
    in_zp, out_zp = int(rng.integers(-128, 128)), int(rng.integers(-128, 100))
    act_min, act_max = {"none": (-128, 127), "relu": (max(out_zp, -128), 127),
                        "relu6": (max(out_zp, -128), min(out_zp + 90, 127))}[act]
    w = rng.integers(-127, 128, size=(kh, kw, c)).astype(np.int64)
    bias = rng.integers(-20000, 20000, size=c).astype(np.int64)
    scales = rng.uniform(0.0005, 0.01, size=c if per_channel else 1)
    ms = [_quant(float(s)) for s in scales]
    if special == "general":  # channel 0 shifts left by 2 (scale 2.5), channel 1 has multiplier 0
        ms[0], ms[1] = _quant(2.5), (0, 0)
    mult, shift = [m for m, _ in ms], [s for _, s in ms]
    p = dict(batches=1, in_h=ih, in_w=iw, in_c=c, out_h=oh, out_w=ow, out_c=c, depth_multiplier=1, k_h=kh, k_w=kw,
             stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw, pad_h=ph, pad_w=pw, in_offset=-in_zp, out_offset=out_zp,
             act_min=act_min, act_max=act_max)
    n = f"c{i}"
    consts = {f"{n}_w": ("int8_t", w.reshape(-1)), f"{n}_b": ("int32_t", bias),
              f"{n}_m": ("int32_t", mult), f"{n}_s": ("int32_t", shift)}
    assert depthwise_form(ih, iw, c, oh, ow, c, sh, ph, "plane").scratch == ih * iw
    call = _inplace_call(i, p, 0, n)
    lowered = LoweredModel("plane", "0" * 64, 0, (call,),
                           tuple(ConstArray(k, t, tuple(int(v) for v in vals)) for k, (t, vals) in consts.items()),
                           (), ())
    out = specialize(lowered, "arm_dsp").lowered
    spec_call = out.calls[0]
    assert spec_call.macro == DSP_DW_PLANE_INPLACE, f"case {i}: the DSP plane kernel declined {spec}"
    assert bool(dict(spec_call.params).get("general")) == (special == "general"), spec
    for const in out.consts:
        consts.setdefault(const.name, (const.ctype, const.values))
    mve = specialize(lowered, "arm_mve").lowered
    mve_call = mve.calls[0] if mve.calls[0].macro == MVE_DW_PLANE_INPLACE else None
    if special == "general":
        assert mve_call is None and mve.calls[0].macro == DSP_DW_PLANE_INPLACE
    if mve_call is not None:
        for const in mve.consts:
            consts.setdefault(const.name, (const.ctype, const.values))
    # the reference kernels read one multiplier per channel
    if not per_channel:
        consts[f"{n}_mref"] = ("int32_t", mult * c)
        consts[f"{n}_sref"] = ("int32_t", shift * c)
    else:
        consts[f"{n}_mref"], consts[f"{n}_sref"] = consts[f"{n}_m"], consts[f"{n}_s"]
    inputs = [rng.integers(-128, 128, size=ih * iw * c).astype(np.int64) for _ in range(RUNS)]
    return Case(n, p, consts, spec_call, inputs, mve_call)


def _arr(name: str, ctype: str, values) -> str:
    vals = ", ".join(str(int(v)) for v in values)
    return f"static const {ctype} {name}[{len(values)}] = {{{vals}}};\n"


def harness(cases: list[Case], mve: bool = False) -> str:
    """A C program: per case and input, reference out of place vs reference plane in place vs DSP plane
    in place (and, with ``mve``, the Helium plane kernel where it was specialized); prints one line per
    case and exits with the number of mismatching bytes (capped)."""
    src = ['#include <stdint.h>\n#include <string.h>\n#include "tinyc_rt.h"\n#include "tinyc_rt_arm_dsp.h"\n',
           '#include "tinyc_rt_arm_mve.h"\n' if mve else "", "void tinyc_test_print(const char *s);\n"]
    body = []
    for cs in cases:
        n, p = cs.name, cs.params
        size = p["in_h"] * p["in_w"] * p["in_c"]
        osize = p["out_h"] * p["out_w"] * p["out_c"]
        for r, x in enumerate(cs.inputs):
            src.append(_arr(f"{n}_x{r}", "int8_t", x))
        ref_p = ", ".join(f".{k} = {v}" for k, v in p.items())
        dsp_p = ", ".join(f".{k} = {v}" for k, v in cs.call.params)
        plane = p["in_h"] * p["in_w"]
        src.append(f"static int8_t {n}_io[{size}], {n}_ref[{osize}], {n}_plane[{plane}];\n")
        wn, bn, qn = (_c_arg(cs.call[r]) for r in (Role.WEIGHTS, Role.BIAS, Role.REQUANT))
        run_mve = mve and cs.mve_call is not None
        mve_decl = mve_run = ""
        if run_mve:
            mve_p = ", ".join(f".{k} = {v}" for k, v in cs.mve_call.params)
            mve_decl = f"static const tinyc_mve_dwplane_params_t mp = {{{mve_p}}};"
            mwn, mbn, mqn = (_c_arg(cs.mve_call[r]) for r in (Role.WEIGHTS, Role.BIAS, Role.REQUANT))
            mve_run = f"""memcpy({n}_io, xs[r], {size});
            tinyc_arm_mve_depthwise_plane_inplace_s8(&mp, {n}_io, {mwn}, {mbn}, {mqn}, {n}_plane);
            for (int k = 0; k < {osize}; ++k) bad_mve += {n}_io[k] != {n}_ref[k];"""
        mve_print = ('tinyc_test_print(bad_mve ? "MVE-BAD\\n" : "mve-ok\\n");' if run_mve
                     else 'tinyc_test_print("\\n");')
        body.append(text := f"""    {{
        static const tinyc_dwconv_params_t rp = {{{ref_p}}};
        static const tinyc_dsp_dwconv_params_t dp = {{{dsp_p}}};
        {mve_decl}
        const int8_t *xs[{len(cs.inputs)}] = {{{", ".join(f"{n}_x{r}" for r in range(len(cs.inputs)))}}};
        int32_t bad_ref = 0, bad_dsp = 0, bad_mve = 0;
        for (int r = 0; r < {len(cs.inputs)}; ++r) {{
            tinyc_ref_depthwise_conv2d_s8(&rp, xs[r], {n}_w, {n}_b, {n}_mref, {n}_sref, {n}_ref);
            memcpy({n}_io, xs[r], {size});
            tinyc_ref_depthwise_conv2d_inplace_s8(&rp, 0, {n}_io, {n}_w, {n}_b, {n}_mref, {n}_sref, {n}_plane);
            for (int k = 0; k < {osize}; ++k) bad_ref += {n}_io[k] != {n}_ref[k];
            memcpy({n}_io, xs[r], {size});
            tinyc_arm_dsp_depthwise_plane_inplace_s8(&dp, {n}_io, {wn}, {bn}, {qn}, {n}_plane);
            for (int k = 0; k < {osize}; ++k) bad_dsp += {n}_io[k] != {n}_ref[k];
            {mve_run}
        }}
        tinyc_test_print("{n} ");
        tinyc_test_print(bad_ref ? "REF-BAD " : "ref-ok ");
        tinyc_test_print(bad_dsp ? "DSP-BAD " : "dsp-ok ");
        {mve_print}
        bad += bad_ref + bad_dsp + bad_mve;
    }}
""")
        used = set(re.findall(r"[A-Za-z_]\w*", text))
        src += [_arr(k, t, vals) for k, (t, vals) in cs.consts.items() if k in used]
    src.append("int tinyc_plane_check(void)\n{\n    int32_t bad = 0;\n" + "".join(body)
               + "    return bad > 100 ? 100 : (int)bad;\n}\n")
    return "".join(src)


@pytest.fixture(scope="module")
def cases():
    rng = np.random.default_rng(8)
    return [make_case(i, spec, rng) for i, spec in enumerate(CASES)]


def test_plane_kernel_takes_any_channel_count_and_so_does_the_rows_kernel(cases):
    """The plane kernel is one channel at a time (3, 5, 7 channels are specialized above); the rows scheme's
    DSP kernel reads four channels per word and the last C % 4 one at a time, so a rows call with 6 channels
    runs it too (its own tests: tests/test_kernels_trained_quant.py)."""
    cs = next(c for c in cases if c.params["in_c"] == 6)
    p = dict(cs.params)
    raw = {k: v for k, v in cs.consts.items() if k.startswith(cs.name + "_") and k[len(cs.name) + 1:] in "wbms"}
    call = _inplace_call(0, p, 2, cs.name)
    lowered = LoweredModel("rows", "0" * 64, 0, (call,),
                           tuple(ConstArray(k, t, tuple(int(v) for v in vals)) for k, (t, vals) in raw.items()),
                           (), ())
    assert specialize(lowered, "arm_dsp").lowered.calls[0].macro == "TINYC_DSP_DEPTHWISE_ROWS_INPLACE_S8"


def test_plane_kernel_bit_exact_on_the_host(cases, tmp_path):
    from tinyc.codegen import host
    from tinyc.codegen.generate import runtime_dir

    lib = host.runtime_library(sanitize=True)
    rt = runtime_dir()
    c = tmp_path / "plane_check.c"
    c.write_text(harness(cases) + '#include <stdio.h>\nvoid tinyc_test_print(const char *s) { fputs(s, stdout); }\n'
                 "int main(void) { return tinyc_plane_check(); }\n")
    exe = tmp_path / "plane_check"
    cc = subprocess.run([host._cc(), *host.WARN, "-O1", *host.SANITIZE, "-DTINYC_KERNELS_ARM_DSP=1",
                         f"-I{rt / 'include'}", f"-I{rt / 'kernels'}", f"-I{rt / 'kernels' / 'arm_dsp'}", str(c),
                         str(lib), "-o", str(exe)], capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr[-3000:]
    r = subprocess.run([str(exe)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.count("dsp-ok") == len(cases), r.stdout + r.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
@pytest.mark.parametrize("board_id", ["mps2-an500", "mps2-an386", "mps3-an547"])
def test_plane_kernel_bit_exact_in_qemu(cases, board_id, tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    import shutil

    from tinyc.boards import get_board
    from tinyc.codegen.generate import runtime_dir
    from tinyc.deploy import emulator, platformio
    from tinyc.deploy.project import render_project

    rt = runtime_dir()
    mve = board_id == "mps3-an547"  # the M55: the Helium plane kernel too
    src = tmp_path / "src"
    src.mkdir()
    headers = [*(rt / "include").glob("*.h"), rt / "kernels" / "inplace_rows.h", *(rt / "kernels" / "arm_dsp").glob("*.h")]
    if mve:
        headers += list((rt / "kernels" / "arm_mve").glob("*.h"))
    for f in headers:
        shutil.copy(f, src / f.name)
    files = [rt / "quant.c", rt / "kernels" / "depthwise_conv2d.c", rt / "kernels" / "depthwise_conv2d_inplace.c",
             rt / "kernels" / "arm_dsp" / "depthwise_conv2d_arm_dsp.c"]
    if mve:
        files.append(rt / "kernels" / "arm_mve" / "depthwise_conv2d_arm_mve.c")
    for f in files:
        shutil.copy(f, src / f.name)
    (src / "tinyc_rt_config.h").write_text("#define TINYC_KERNELS_ARM_DSP 1\n")
    main = src / "plane_main.c"
    main.write_text(harness(cases, mve=mve) + '#include "tinyc_port.h"\nvoid tinyc_test_print(const char *s) { port_puts(s); }\n'
                    "int main(void)\n{\n    const int bad = tinyc_plane_check();\n    port_puts(bad ? \"FAIL\\n\" : "
                    "\"DONE\\n\");\n    return bad;\n}\n")
    board = get_board(board_id)
    proj = render_project(tmp_path / "fw", board, [main, *(src / f.name for f in files)], emulate=True,
                          include_dirs=[src], extra_defines={"TINYC_KERNELS_ARM_DSP": "1"})
    fw = platformio.build(proj)
    run = emulator.run_to_exit(proj.run_board, fw.elf, timeout=240)
    assert run.exit_code == 0 and "DONE" in run.output, f"{board_id}: exit {run.exit_code}: {run.output[-2000:]!r}"
    assert run.output.count("dsp-ok") == len(cases)
    if mve:
        assert run.output.count("mve-ok") == sum(c.mve_call is not None for c in cases), run.output[-3000:]


def test_mve_plane_kernel_takes_the_3x3_planes_its_line_ring_fits(cases):
    """The generator step hands the Helium plane kernel the 3x3 cases (fast requantization) whose three padded
    lines along an axis of stride 1 or 2 fit the plan's plane buffer in an order safe in place (KWS's columns
    of 25, rows of 25, columns of 9 and 21, rows of 12, stride 2 across), and leaves the rest to the DSP plane
    kernel (planes too small for the ring, 5x5, dilation, the general form)."""
    taken = [i for i, c in enumerate(cases) if c.mve_call is not None]
    assert taken == [0, 1, 5, 9, 11, 19, 20], taken
    kws = cases[0].mve_call
    assert dict(kws.params)["along_h"] == 1 and dict(cases[1].mve_call.params)["along_h"] == 0
