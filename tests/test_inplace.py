"""In-place kernels: the planner's arena goals against TFLite Micro's recorded head, the C in-place
kernels bit-identical to the normal ones on random geometries (exact-size buffers under ASan/UBSan),
and generated models that run layers in place bit-identical to the TFLite Micro interpreter."""

from __future__ import annotations

import dataclasses
import re
import struct
import subprocess

import numpy as np
import pytest

from tinyc import zoo
from tinyc.analyze import memory
from tinyc.boards import get_board
from tinyc.codegen import host
from tinyc.codegen.generate import generate, runtime_dir
from tinyc.codegen.kernels import inplace_macros
from tinyc.model import inplace as IP
from tinyc.model import ops, reference
from tinyc.model.graph import load

from tests.test_codegen_bitexact import random_inputs, tflm_outputs

GOAL = 0.75  # our arena at most this fraction of TFLM's activation plan (its recorded head)


@pytest.mark.parametrize("name", ["kws_dscnn", "vww_mobilenet", "ic_resnet8"])
def test_arena_goal_against_tflm_recorded_head(name):
    path = zoo.build(name)
    g = load(path)
    head = reference.arena_record(path).head
    plan = memory.plan_improved(g)
    memory.validate(plan)
    before = memory.plan_improved(g, inplace=False)
    assert not memory.inplace_ops(g, before)
    print(f"\n{name}: TFLM head {head} B, improved without in-place {before.arena_size} B, "
          f"with in-place {plan.arena_size} B ({plan.arena_size / head:.3f}x); {'; '.join(plan.notes)}")
    assert plan.arena_size <= GOAL * head
    assert plan.arena_size < before.arena_size
    assert plan.arena_size >= plan.peak_live_bytes


def test_resnet8_residual_blocks():
    """The skip tensor stays live across both convs of a block: the first conv cannot overwrite it,
    the second runs in place with a (k-1)-row ring, and the ADD writes into a dead operand."""
    g = load(zoo.build("ic_resnet8"))
    plan = memory.plan_improved(g)
    used = memory.inplace_ops(g, plan)
    assert g.operators[1].op == "CONV_2D" and 1 not in used  # its input (the skip) is read by the ADD
    assert g.operators[2].op == "CONV_2D" and 2 in used and g.operators[3].op == "ADD" and 3 in used
    form = IP.conv2d(g, g.operators[2])
    assert form.scheme == "rows" and form.ring_rows == 2  # 3x3 SAME stride 1: k - 1 rows
    x = g.tensor(g.operators[2].inputs[0])
    assert form.scratch == 2 * x.shape[2] * x.shape[3]
    scratch = plan.scratch_offsets()[2]
    assert [(n, role) for _, n, role in scratch] == [(form.scratch, "inplace")]


def test_inplace_plans_never_clobber_live_tensors_and_reserve_the_scratch():
    for name in ("kws_dscnn", "vww_mobilenet", "ic_resnet8", "multi_output", "add_broadcast"):
        g = load(zoo.build(name))
        plan = memory.plan_improved(g)
        memory.validate(plan)
        offsets = plan.tensor_offsets()
        used = memory.inplace_ops(g, plan)
        assert used, name
        for step, oi in enumerate(plan.order):
            op = g.operators[oi]
            out = op.outputs[0]
            for t in op.inputs:
                if t >= 0 and t in offsets and offsets[t] == offsets[out] and not ops.OP_RULES[op.op].view:
                    assert oi in used
                    later = [g.operators[j] for j in plan.order[step + 1:]]
                    assert not any(t in o.inputs for o in later), f"{name}: op {oi} overwrites live tensor {t}"
                    assert t not in g.outputs
            if oi in used:
                need = ops.inplace_form(g, op).scratch
                got = [n for _, n, role in plan.scratch_offsets().get(oi, []) if role == "inplace"]
                assert got == ([need] if need else []), (name, oi)


def test_inplace_groups_hold_only_what_their_live_members_need():
    """A chain of in-place layers shares one buffer whose size follows its live members (segments), so
    on VWW only the layers around the peak run in place; the others keep their optimized kernels."""
    g = load(zoo.build("vww_mobilenet"))
    plan = memory.plan_improved(g)
    used = memory.inplace_ops(g, plan)
    assert 0 < len(used) <= 6, sorted(used)
    groups = [b for b in plan.buffers if b.segments]
    assert groups and all(max(n for _, _, n in b.segments) == b.size for b in groups)
    memory.validate(plan)
    # moving another live buffer onto a group's bytes at a step where both hold data is caught
    a = groups[0]
    for o in plan.buffers:
        steps = [s for s in range(max(a.first, o.first), min(a.last, o.last) + 1) if a.size_at(s) and o.size_at(s)]
        if o is not a and steps:
            bad = tuple(dataclasses.replace(x, offset=a.offset) if x is o else x for x in plan.buffers)
            with pytest.raises(AssertionError, match="overlap"):
                memory.validate(dataclasses.replace(plan, buffers=bad))
            break
    else:
        pytest.fail("no buffer lives beside the group")


def test_inplace_forms():
    # 1x1 stride 1: one input pixel of scratch, backwards when the output pixel is wider
    assert IP.conv2d_form(6, 6, 8, 6, 6, 16, 1, 1, 1, 1, 0, 0) == IP.InPlace((0,), 8, "pixel", 0, True)
    assert IP.conv2d_form(6, 6, 16, 6, 6, 8, 1, 1, 1, 1, 0, 0) == IP.InPlace((0,), 16, "pixel", 0, False)
    # depthwise: the channel plane when smaller than the row ring, else the ring
    assert IP.depthwise_form(25, 5, 64, 25, 5, 64, 1, 1).scheme == "plane"
    assert IP.depthwise_form(48, 48, 8, 48, 48, 8, 1, 1) == IP.InPlace((0,), 2 * 48 * 8, "rows", 2)
    assert IP.ring_rows(32, 512, 16, 512, 2, 0) == 1  # 1x1 stride 2: only the row being read


# --- C kernels on random geometries ------------------------------------------------------------------

def _out_size(n, k, s, d, padding):
    eff = (k - 1) * d + 1
    return -(-n // s) if padding == "SAME" else -(-(n - eff + 1) // s)


def _pad(n, k, s, d, out, padding):
    if padding == "VALID":
        return 0
    return max((out - 1) * s + (k - 1) * d + 1 - n, 0) // 2


def _cases(rng, count):
    """(kind, form, params[20], input, filter, channels) for random convolutions that fit in place."""
    cases = []
    while len(cases) < count:
        kind = int(rng.integers(0, 3))
        ih, iw = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        kh, kw = (1, 1) if kind == 1 else (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        sh, sw = (1, 1) if kind == 1 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dh, dw = (1, 1) if kind == 1 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        padding = "VALID" if kind == 1 else str(rng.choice(["SAME", "VALID"]))
        oh, ow = _out_size(ih, kh, sh, dh, padding), _out_size(iw, kw, sw, dw, padding)
        if oh <= 0 or ow <= 0:
            continue
        ph, pw = _pad(ih, kh, sh, dh, oh, padding), _pad(iw, kw, sw, dw, ow, padding)
        ic = int(rng.integers(1, 9))
        if kind == 2:
            mult = int(rng.integers(1, 3))
            oc = ic * mult
            form = IP.depthwise_form(ih, iw, ic, oh, ow, oc, sh, ph, str(rng.choice(["rows", "plane"])))
            fshape = (kh, kw, oc)
            head = [1, ih, iw, ic, oh, ow, oc, mult, kh, kw, sh, sw, dh, dw, ph, pw]
        else:
            oc = int(rng.integers(1, 13))
            groups = int(rng.choice([g for g in range(1, ic + 1) if ic % g == 0 and oc % g == 0]))
            fic = ic // groups
            form = IP.conv2d_form(ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, ph, pw)
            assert form.scheme == ("pixel" if kind == 1 else form.scheme)
            if kind == 0 and form.scheme == "pixel":
                kind = 1
            fshape = (oc, kh, kw, fic)
            head = [1, ih, iw, ic, oh, ow, oc, kh, kw, fic, sh, sw, dh, dw, ph, pw]
        in_off = int(rng.integers(-127, 129))
        out_off = int(rng.integers(-128, 128))
        lo, hi = sorted(int(v) for v in rng.integers(-128, 128, 2))
        params = head + [in_off, out_off, lo, hi]
        x = rng.integers(-128, 128, (ih, iw, ic), dtype=np.int8)
        w = rng.integers(-127, 128, fshape, dtype=np.int8)
        cases.append((kind, form, params, x, w, oc, oh * ow * oc, rng))
    return cases


def _encode(case) -> bytes:
    kind, form, params, x, w, oc, out_n, rng = case
    bias = rng.integers(-5000, 5000, oc).astype("<i4")
    mult = rng.integers(1 << 30, (1 << 31) - 1, oc).astype("<i4")
    shift = rng.integers(-12, -5, oc).astype("<i4")
    head = [kind, form.ring_rows, form.scratch, x.size, out_n, w.size, oc]
    return (struct.pack("<7i", *head) + struct.pack("<20i", *params) + x.tobytes() + w.tobytes()
            + bias.tobytes() + mult.tobytes() + shift.tobytes())


def test_c_inplace_kernels_equal_the_normal_kernels_on_random_geometries(tmp_path):
    lib = host.runtime_library(sanitize=True)
    rt = runtime_dir()
    exe = tmp_path / "probe"
    subprocess.run([host._cc(), *host.WARN, "-O1", *host.SANITIZE, f"-I{rt / 'include'}", f"-I{rt / 'kernels'}",
                    str(rt / "host" / "tinyc_inplace_probe.c"), str(lib), "-o", str(exe)], check=True)
    cases = _cases(np.random.default_rng(8), 400)
    payload = b"".join(_encode(c) for c in cases) + struct.pack("<i", -1)
    r = subprocess.run([str(exe)], input=payload, capture_output=True,
                       env={"ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=1"})
    assert r.returncode == 0, r.stderr.decode(errors="replace")[:3000]
    pos, seen = 0, {}
    for kind, form, params, *_rest in cases:
        n = _rest[-2]
        ref, got = r.stdout[pos:pos + n], r.stdout[pos + n:pos + 2 * n]
        pos += 2 * n
        assert got == ref, f"kind {kind} {form} params {params}"
        key = (kind, form.scheme, form.backward)
        seen[key] = seen.get(key, 0) + 1
    assert pos == len(r.stdout)
    # every scheme was exercised, pixels both ways, rings of several rows
    assert {(0, "rows", False), (1, "pixel", False), (1, "pixel", True), (2, "rows", False),
            (2, "plane", False)} <= set(seen), seen
    assert max(c[1].ring_rows for c in cases) >= 3


# --- generated models ---------------------------------------------------------------------------------

MODELS = ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "conv_same_s1", "conv_valid_s2_relu", "conv_dilated_relu6",
          "conv_same_s2_even", "dwconv_mult2_s2", "dwconv_valid_dilated", "dwconv_5x5_relu6", "add_two",
          "add_broadcast", "mul_two", "relu", "relu6", "multi_output"]
N_INPUTS = 20


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_generated_inplace_layers_are_bit_exact_with_tflm(name, tmp_path):
    path = zoo.build(name)
    g = load(path)
    plan = memory.plan_improved(g)
    used = memory.inplace_ops(g, plan)
    assert used, f"{name}: nothing runs in place"
    # an M4 board: in-place layers get in-place kernels (the DSP set's own, or the reference ones), never
    # the normal DSP kernels
    gen = generate(g, plan, get_board("mps2-an386"), tmp_path / "gen")
    assert gen.arena_size == plan.arena_size
    body = (gen.out_dir / "tinyc_model.c").read_text().split("int tinyc_model_invoke(void)")[1]
    calls = dict(re.findall(r"/\* (\d+): \w+ \*/\s*\n\s*(\w+)\(", body))
    for oi in plan.order:
        assert (calls[str(oi)] in inplace_macros()) == (oi in used), (name, oi, calls[str(oi)])

    exe = host.build_runner(gen, tmp_path / "build", sanitize=True)
    batches = random_inputs(g, N_INPUTS, seed=len(name) + 1)
    outs = [g.tensor(i) for i in g.outputs]
    mine = host.run(exe, batches, [(np.dtype(t.dtype), t.shape) for t in outs])
    ref = tflm_outputs(path, g, batches)
    for k, (m_rec, r_rec) in enumerate(zip(mine, ref)):
        for m, r in zip(m_rec, r_rec):
            assert np.array_equal(m, np.asarray(r).reshape(m.shape)), f"{name}: input {k} differs from TFLite Micro"

    # the compiled arena is exactly the plan (object without sanitizers: no redzones)
    obj = tmp_path / "model.o"
    subprocess.run([host._cc(), "-std=c99", "-O1", "-c", f"-I{gen.out_dir}", str(gen.out_dir / "tinyc_model.c"),
                    "-o", str(obj)], check=True)
    syms = subprocess.run(["nm", "-S", str(obj)], capture_output=True, text=True, check=True).stdout
    sizes = [int(line.split()[1], 16) for line in syms.splitlines() if line.endswith(" tinyc_arena")]
    assert sizes == [plan.arena_size]
