"""The kernel registry (tinyc/codegen/kernels.py) against the C runtime it describes (issue 15): every
declared kernel's macro is defined in its set's header and every kernel macro of the headers is declared,
its source files exist, its parameter struct exists, and every parameter field the generator writes for it
(lowering and both kernel sets, on the zoo) is a field of that struct; calls refuse operands that are not
the declaration's."""

from __future__ import annotations

import re

import pytest

from tinyc import paths, zoo
from tinyc.analyze.memory import plan_improved, plan_tflm
from tinyc.codegen import kernels as K
from tinyc.codegen.generate import plan_layout
from tinyc.codegen.lower import lower
from tinyc.codegen.specialize import specialize
from tinyc.model.graph import load

RT = paths.firmware_dir() / "runtime"
HEADERS = {K.KernelSet.REFERENCE: (RT / "include" / "tinyc_rt.h", RT / "include" / "tinyc_unpack.h"),
           K.KernelSet.ARM_DSP: (RT / "kernels" / "arm_dsp" / "tinyc_rt_arm_dsp.h",),
           K.KernelSet.ARM_MVE: (RT / "kernels" / "arm_mve" / "tinyc_rt_arm_mve.h",),
           K.KernelSet.ARM_SCALAR: (RT / "kernels" / "arm_scalar" / "tinyc_rt_arm_scalar.h",)}
MACRO = re.compile(r"^#define (TINYC_[A-Z0-9_]+_S8|TINYC_[A-Z0-9_]+_F32|TINYC_COPY) +tinyc_\w+", re.M)
STRUCT = re.compile(r"typedef struct\s*\{(.*?)\}\s*(\w+)\s*;", re.S)


def _structs() -> dict[str, set[str]]:
    """Struct name -> field names, from the runtime headers (comments dropped, arrays by their name)."""
    out = {}
    for h in (h for hs in HEADERS.values() for h in hs):
        text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
        for body, name in STRUCT.findall(text):
            fields = set()
            for decl in body.split(";"):
                words = decl.strip().split(None, 1)
                if len(words) == 2:
                    fields |= {re.sub(r"\[.*", "", f).strip(" *") for f in words[1].split(",")}
            out[name] = fields
    return out


def test_every_declared_kernel_is_defined_in_its_sets_header_and_every_header_kernel_is_declared():
    declared = {k.macro: k for k in K.all_kernels()}
    for kset, headers in HEADERS.items():
        defined = {m for h in headers for m in MACRO.findall(h.read_text())}
        mine = {m for m, k in declared.items() if k.kernel_set is kset and not k.generated}
        assert defined == mine, (kset, sorted(defined ^ mine))  # generated ones: tinyc_ops.h


def test_every_kernel_has_its_sources_and_parameter_struct():
    structs = _structs()
    for k in K.all_kernels():
        assert (RT / "kernels" / k.source).is_file(), k
        if k.kernel_set is not K.KernelSet.REFERENCE:
            s = k.kernel_set.value
            assert (RT / "kernels" / s / f"{k.source[:-2]}_{s}.c").is_file(), k
            assert k.replaces and all(r in {x.macro for x in K.all_kernels()} for r in k.replaces), k
        if k.generated:
            assert k.params not in structs, k  # declared once: from its fields, into tinyc_ops.h
        elif k.params is not None:
            assert k.params in structs, k
        assert len(set(k.roles)) == len(k.roles), k


@pytest.mark.parametrize("variant", ["reference", "arm_dsp", "arm_mve"])
def test_every_parameter_the_generator_writes_is_a_field_of_the_kernels_struct(variant):
    structs = _structs()
    seen = set()
    for name in zoo.names() + zoo.trained_like_names():
        g = load(zoo.build(name))
        for plan in (plan_tflm(g), plan_improved(g)):
            for weights in ("dense", "packed"):
                low = lower(g, *plan_layout(g, plan), weights=weights)
                for call in specialize(low, variant).lowered.calls:
                    seen.add(call.macro)
                    if call.kernel.generated:  # every field initialized by name, none missing
                        assert {f for f, _ in call.params} == {f.name for f in call.kernel.fields}, call.macro
                    elif call.params_type is not None:
                        extra = {f for f, _ in call.params} - structs[call.params_type]
                        assert not extra, (name, call.macro, sorted(extra))
    assert len(seen) >= {"reference": 20, "arm_dsp": 25, "arm_mve": 25}[variant], sorted(seen)


def test_a_call_takes_exactly_its_kernels_operands_by_role():
    call = K.KernelCall(0, "ADD", K.ADD, (), ((K.Role.INPUT, K.Arena(0)), (K.Role.INPUT2, K.Arena(16)),
                                            (K.Role.OUTPUT, K.Arena(32))))
    assert call[K.Role.INPUT2] == K.Arena(16) and not call.has(K.Role.WEIGHTS)
    dsp = call.to(K.DSP_ADD, table1=K.Const("t1"), table2=K.Const("t2"))
    assert [r for r, _ in dsp.operands] == list(K.DSP_ADD.roles) and set(dsp.consts()) == {"t1", "t2"}
    with pytest.raises(ValueError, match="takes"):
        K.KernelCall(0, "ADD", K.ADD, (), ((K.Role.INPUT, K.Arena(0)), (K.Role.OUTPUT, K.Arena(32))))
    with pytest.raises(ValueError, match="TABLE1"):
        call.to(K.DSP_ADD, table2=K.Const("t2"))
    with pytest.raises(ValueError, match="no operand 'weights'"):
        call.to(K.ADD, weights=K.Const("w"))
    with pytest.raises(KeyError, match="no WEIGHTS operand"):
        call[K.Role.WEIGHTS]


def test_every_declared_operator_has_reference_kernels_a_code_size_and_its_checks():
    from tinyc import operators

    decls = operators.all_ops()
    assert len(decls) >= 17
    for name, d in decls.items():
        assert d.name == name and d.module.endswith(".py"), name
        assert d.kernels and all(K.get(k.macro) is k and k.kernel_set is K.KernelSet.REFERENCE for k in d.kernels), name
        assert d.code_size.reference > 0 and d.code_size.dsp_extra >= 0, name  # measured, never a silent default
        assert d.verify is not None and callable(d.lower), name
        assert d.max_version >= 1, name
