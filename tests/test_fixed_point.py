"""tinyc/codegen/fixed_point.py against the C runtime it mirrors: the generator's LOGISTIC table must equal the
reference kernel's output for every input byte (the table kernel's exactness rests on it), for input scales over
LOGISTIC's whole range and any zero point; and srdhm's one-shift form equals gemmlowp's nudge-and-truncate."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tinyc.codegen import fixed_point as FX
from tinyc.codegen import host
from tinyc.codegen import quant as Q
from tinyc.codegen.generate import runtime_dir

MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "tinyc_rt.h"
int main(int argc, char **argv)
{
    tinyc_logistic_params_t p;
    int8_t in[256], out[256];
    for (int i = 0; i < 256; ++i) in[i] = (int8_t)(i - 128);
    p.size = 256;
    for (int a = 1; a + 3 < argc; a += 4) {
        p.in_zero_point = atoi(argv[a]);
        p.input_range_radius = atoi(argv[a + 1]);
        p.input_multiplier = atoi(argv[a + 2]);
        p.input_left_shift = atoi(argv[a + 3]);
        tinyc_ref_logistic_s8(&p, in, out);
        for (int i = 0; i < 256; ++i) printf("%d ", out[i]);
        printf("\n");
    }
    return 0;
}
"""


def gemmlowp_srdhm(a: int, b: int) -> int:
    """gemmlowp's own form: the nudge by sign, then int64 division truncating toward zero."""
    if a == b == FX.INT32_MIN:
        return FX.INT32_MAX
    ab = a * b
    n = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    return n // (1 << 31) if n >= 0 else -(-n // (1 << 31))


def test_srdhm_is_gemmlowps():
    rng = np.random.default_rng(7)
    edge = [FX.INT32_MIN, FX.INT32_MIN + 1, -1, 0, 1, FX.INT32_MAX, 1 << 30, -(1 << 30)]
    vals = edge + [int(v) for v in rng.integers(FX.INT32_MIN, FX.INT32_MAX, 3000, endpoint=True)]
    for a, b in zip(vals, vals[::-1] + vals[:0]):
        assert FX.srdhm(a, b) == gemmlowp_srdhm(a, b), (a, b)
    for a in edge:
        for b in edge:
            assert FX.srdhm(a, b) == gemmlowp_srdhm(a, b), (a, b)


@pytest.mark.toolchain
def test_logistic_table_equals_the_reference_kernel(tmp_path):
    exe = tmp_path / "logistic"
    rt = runtime_dir()
    main = tmp_path / "main.c"
    main.write_text(MAIN)
    lib = host.runtime_library()
    subprocess.run([host._cc(), *host.WARN, "-O1", *host.SANITIZE, f"-I{rt / 'include'}", str(main), str(lib),
                    "-o", str(exe)], check=True)
    rng = np.random.default_rng(18)
    scales = [2.0 ** -27, 1e-4, 0.003906, 0.03, 0.06858, 0.1, 0.5, 1.0, 3.7, 7.9] + \
        [float(10 ** rng.uniform(-6, 0.8)) for _ in range(30)]
    cases = []
    for s in scales:
        mult, left, radius = Q.logistic_params(s)
        cases.append((int(rng.integers(-128, 128)), radius, mult, left))
    r = subprocess.run([str(exe), *(str(v) for c in cases for v in c)], check=True, capture_output=True, text=True)
    rows = r.stdout.split("\n")
    for case, row in zip(cases, rows):
        c_out = [int(v) for v in row.split()]
        table = FX.logistic_table(*case)
        assert [table[v & 0xFF] for v in range(-128, 128)] == c_out, case
    assert len(cases) == len([row for row in rows if row])
