"""C formatting for the codegen templates (templates/codegen/*.j2): initializers, literals, arrays."""

from __future__ import annotations

from functools import cache

import numpy as np

from tinyc.render import c_ident, environment


def c_literal(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        v = int(v)
        if v == -(1 << 31):
            return "(-2147483647 - 1)"  # INT32_MIN has no literal of type int
        return str(v)
    if isinstance(v, (float, np.floating)):
        return repr(float(v))  # exact: every value here is a float32 or a double
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(c_literal(x) for x in v) + "}"
    raise TypeError(f"no C literal for {v!r}")


def c_init(fields) -> str:
    """A C99 designated initializer from (name, value) pairs: field names checked as identifiers, values
    numbers (c_literal refuses anything else), so it is a numeric filter for the escaping rule."""
    return "{" + ", ".join(f".{c_ident(k)} = {c_literal(v)}" for k, v in fields) + "}"


def c_float(v) -> str:
    return f"{float(np.float32(v)):.9e}f"


def dims6(dims) -> str:
    d = list(dims)[:6]
    return "{" + ", ".join(str(int(x)) for x in d + [0] * (6 - len(d))) + "}"


def c_values(values, ctype: str, per_line: int = 16) -> str:
    if ctype == "float":
        items = [c_float(v) for v in values]
    else:
        items = [c_literal(int(v)) for v in values]
    if not items:
        return "    0"
    lines = ["    " + ", ".join(items[i:i + per_line]) + "," for i in range(0, len(items), per_line)]
    return "\n".join(lines)


# Numeric filters of the codegen templates (the escaping ones, c_string for tensor names included, are
# tinyc.render's).
CODEGEN_NUMERIC_FILTERS = {"cinit": c_init, "cfloat": c_float, "dims6": dims6, "cvalues": c_values}


def _operand_tests() -> dict:
    """Jinja tests the model template dispatches a kernel operand on (tinyc/codegen/kernels.py)."""
    from tinyc.codegen import kernels as K

    kinds = {"arena_operand": K.Arena, "const_operand": K.Const, "static_operand": K.Static,
             "int_operand": K.Int, "null_operand": K.Null, "table_operand": K.PointerTable}
    return {name: (lambda cls: lambda o: isinstance(o, cls))(cls) for name, cls in kinds.items()}


@cache
def codegen_environment():
    env = environment().overlay()
    env.filters.update(CODEGEN_NUMERIC_FILTERS)
    env.tests.update(_operand_tests())
    return env


def render(template: str, **context) -> str:
    return codegen_environment().get_template(template).render(**context)
