"""docs/operators.md, generated from the declarations: Keras layer -> TFLite operator -> tinyc kernels.

``scripts/operators_doc.py`` writes it; tests/test_operators.py regenerates it and fails on a difference.
"""

from __future__ import annotations

from tinyc import operators
from tinyc.codegen import kernels as K


# The optimized kernel sets, as the table's columns.
SET_TITLES = {s: {"arm_dsp": "Arm DSP (M4/M7/M33)", "arm_mve": "Helium (M55)",
                  "arm_scalar": "Arm scalar (M0/M0+/M3)"}.get(s.value, s.value)
              for s in K.KernelSet if s is not K.KernelSet.REFERENCE}


def _cell(items) -> str:
    return ", ".join(f"`{i}`" for i in items) if items else "-"


def kernels_by_set(decl: operators.OpDecl) -> dict[K.KernelSet, tuple[str, ...]]:
    """The kernels that run ``decl``: its reference kernels, and the optimized ones declared to replace them."""
    ref = {k.macro for k in decl.kernels}
    out: dict[K.KernelSet, list[str]] = {s: [] for s in K.KernelSet}
    out[K.KernelSet.REFERENCE] = [k.macro for k in decl.kernels]
    for k in K.all_kernels():
        if k.kernel_set is not K.KernelSet.REFERENCE and set(k.replaces) & ref and decl.name in k.ops:
            out[k.kernel_set].append(k.macro)
    return {s: tuple(v) for s, v in out.items()}


def markdown() -> str:
    lines = [
        "# Operators",
        "",
        "Generated from the operator declarations (`tinyc/operators/`) by `scripts/operators_doc.py`; do not edit.",
        "Each operator's reference kernel is portable C, bit-identical to TFLite Micro; the optimized sets replace it",
        "where the layer is in their range and proven exact (docs/kernels.md). How to add one:",
        "docs/how-to/add-an-operator.md.",
        "",
        "| Keras layers | TFLite operator | versions | reference kernels | " + " | ".join(SET_TITLES.values())
        + " | in place | code (B) |",
        "|---|---|---|---|" + "---|" * len(SET_TITLES) + "---|---|",
    ]
    for name, d in sorted(operators.all_ops().items()):
        by = kernels_by_set(d)
        place = "view" if d.view else "yes" if (d.inplace or d.inplace_input is not None) else "-"
        code = f"{d.code_size.reference}" + (f" + {d.code_size.dsp_extra} DSP" if d.code_size.dsp_extra else "")
        sets = " | ".join(_cell(by[s]) for s in SET_TITLES)
        ref = _cell(by[K.KernelSet.REFERENCE])
        lines.append(f"| {', '.join(d.layers) or '-'} | `{name}` | 1-{d.max_version} | {ref} | {sets} | {place} | {code} |")
    return "\n".join(lines) + "\n"
