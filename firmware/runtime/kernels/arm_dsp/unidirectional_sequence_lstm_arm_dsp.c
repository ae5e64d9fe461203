/* UNIDIRECTIONAL_SEQUENCE_LSTM, Arm DSP set: the reference kernel's arithmetic (its helpers, included from
 * unidirectional_sequence_lstm.c) with the gate matmuls in SIMD. Each step widens the input row and the hidden state
 * once into `scratch` as int16 pairs in the lane order SXTB16 unpacks a weight word in ((v0, v2), (v1, v3) per 4
 * values); two rows share each loaded pair, so every 4 weights cost one word load, 2 SXTB16 and 2 SMLAD; a depth's
 * last depth % 4 values are summed one by one. The zero points are in the biases (folded at generation time), so the int32 sums are the
 * reference's exactly (modulo 2^32, and the verifier bounds them below 2^31). */
#define TINYC_LSTM_HELPERS_ONLY
#include "unidirectional_sequence_lstm.c"
#include "tinyc_rt_arm_dsp.h"

/* v[0 .. n & ~3) as SXTB16-ordered int16 pairs. */
static void lstm_widen(const int8_t *v, int32_t n, int32_t *words)
{
    for (int32_t k = 0; k < (n & ~3); k += 4, words += 2) {
        words[0] = (int32_t)(((uint32_t)(uint16_t)v[k + 2] << 16) | (uint16_t)v[k]);
        words[1] = (int32_t)(((uint32_t)(uint16_t)v[k + 3] << 16) | (uint16_t)v[k + 1]);
    }
}

/* acc + sum_k w[k] * v[k], v given widened (`words`) and as bytes (for the tail). */
static int32_t lstm_dot(const int8_t *w, const int32_t *words, const int8_t *v, int32_t n, int32_t acc)
{
    const int32_t n4 = n & ~3;
    for (int32_t k = 0; k < n4; k += 4, words += 2) {
        const uint32_t wk = tinyc_ld32(w + k);
        acc = tinyc_smlad(tinyc_sxtb16(wk), words[0], acc);
        acc = tinyc_smlad(tinyc_sxtb16_ror8(wk), words[1], acc);
    }
    for (int32_t k = n4; k < n; ++k) acc += (int32_t)w[k] * v[k];
    return acc;
}

/* Two rows against the same vector: each widened word is loaded once for both, 8 values per iteration. */
static void lstm_dot2(const int8_t *w0, const int8_t *w1, const int32_t *words, const int8_t *v, int32_t n,
                      int32_t *acc0, int32_t *acc1)
{
    const int32_t n4 = n & ~3;
    int32_t s0 = *acc0, s1 = *acc1, k = 0;
    for (; k + 8 <= n4; k += 8, words += 4) {
        const uint32_t a = tinyc_ld32(w0 + k), b = tinyc_ld32(w0 + k + 4);
        const uint32_t c = tinyc_ld32(w1 + k), d = tinyc_ld32(w1 + k + 4);
        s0 = tinyc_smlad(tinyc_sxtb16(a), words[0], s0);
        s1 = tinyc_smlad(tinyc_sxtb16(c), words[0], s1);
        s0 = tinyc_smlad(tinyc_sxtb16_ror8(a), words[1], s0);
        s1 = tinyc_smlad(tinyc_sxtb16_ror8(c), words[1], s1);
        s0 = tinyc_smlad(tinyc_sxtb16(b), words[2], s0);
        s1 = tinyc_smlad(tinyc_sxtb16(d), words[2], s1);
        s0 = tinyc_smlad(tinyc_sxtb16_ror8(b), words[3], s0);
        s1 = tinyc_smlad(tinyc_sxtb16_ror8(d), words[3], s1);
    }
    for (; k < n4; k += 4, words += 2) {
        const uint32_t a = tinyc_ld32(w0 + k), c = tinyc_ld32(w1 + k);
        s0 = tinyc_smlad(tinyc_sxtb16_ror8(a), words[1], tinyc_smlad(tinyc_sxtb16(a), words[0], s0));
        s1 = tinyc_smlad(tinyc_sxtb16_ror8(c), words[1], tinyc_smlad(tinyc_sxtb16(c), words[0], s1));
    }
    for (; k < n; ++k) {
        s0 += (int32_t)w0[k] * v[k];
        s1 += (int32_t)w1[k] * v[k];
    }
    *acc0 = s0;
    *acc1 = s1;
}

static void lstm_gate_dsp(const tinyc_lstm_params_t *p, int g, const int8_t *x, const int32_t *xw, const int8_t *h,
                          const int32_t *hw, const int8_t *weights, const int32_t *bias, int16_t *gate, int act)
{
    const int32_t n = p->n_cell, ni = p->n_input;
    const int8_t *wi = weights + (size_t)g * n * ni;
    const int8_t *wr = weights + (size_t)4 * n * ni + (size_t)g * n * n;
    const int32_t *bi = bias + (size_t)g * n, *br = bias + (size_t)(4 + g) * n;
    int32_t c = 0;
    for (; c + 2 <= n; c += 2) {
        int32_t a0 = bi[c], a1 = bi[c + 1], r0 = br[c], r1 = br[c + 1];
        lstm_dot2(wi + (size_t)c * ni, wi + (size_t)(c + 1) * ni, xw, x, ni, &a0, &a1);
        lstm_dot2(wr + (size_t)c * n, wr + (size_t)(c + 1) * n, hw, h, n, &r0, &r1);
        gate[c] = lstm_sum(p, g, a0, r0);
        gate[c + 1] = lstm_sum(p, g, a1, r1);
    }
    for (; c < n; ++c) {
        gate[c] = lstm_sum(p, g, lstm_dot(wi + (size_t)c * ni, xw, x, ni, bi[c]),
                           lstm_dot(wr + (size_t)c * n, hw, h, n, br[c]));
    }
    lstm_activate(gate, n, act);
}

void tinyc_dsp_lstm_s8(const tinyc_lstm_params_t *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                       int8_t *output, int8_t *io, int16_t *input2, const int16_t *const *outputs, int32_t *scratch)
{
    const int32_t n = p->n_cell;
    int16_t *forget = (int16_t *)outputs[0], *in_gate = (int16_t *)outputs[1];
    int16_t *cell_gate = (int16_t *)outputs[2], *out_gate = (int16_t *)outputs[3];
    int32_t *xw = scratch, *hw = scratch + (p->n_input & ~3) / 2;
    lstm_reset(p, io, input2);
    for (int32_t b = 0; b < p->batches; ++b) {
        int8_t *h = io + (size_t)b * n;
        int16_t *cell = input2 + (size_t)b * n;
        for (int32_t t = 0; t < p->steps; ++t) {
            const int32_t row = p->time_major ? t * p->batches + b : b * p->steps + t;
            const int8_t *x = input + (size_t)row * p->n_input;
            lstm_widen(x, p->n_input, xw);
            lstm_widen(h, n, hw);
            lstm_gate_dsp(p, 1, x, xw, h, hw, weights, bias, forget, 0);
            lstm_gate_dsp(p, 0, x, xw, h, hw, weights, bias, in_gate, 0);
            lstm_gate_dsp(p, 2, x, xw, h, hw, weights, bias, cell_gate, p->cell_tanh);
            lstm_gate_dsp(p, 3, x, xw, h, hw, weights, bias, out_gate, 0);
            lstm_update(p, forget, in_gate, cell_gate, out_gate, cell, h, output + (size_t)row * n);
        }
    }
}
