/* UNIDIRECTIONAL_SEQUENCE_LSTM, scalar Arm set (ARMv6-M, ARMv7-M): the reference kernel's arithmetic (its helpers,
 * included from unidirectional_sequence_lstm.c) with each gate's two matmuls run as the one-batch
 * FULLY_CONNECTED's matrix-vector product (tinyc_scalar_fc.h). Each step widens the input row and the hidden state
 * once to int32 in the scratch; the weights are the generator's blocks of four rows interleaved by column (unsigned
 * bytes w + 128): per gate n_cell input rows of k4(n_input) bytes, then per gate n_cell recurrent rows of k4(n_cell)
 * bytes, each matrix [n/4 blocks][k4][4] then its last n % 4 rows plain. The zero points are in the biases (folded
 * at generation time) and the unsigned bytes' -128 * sum(v) is added per step, so the int32 sums are the
 * reference's exactly (modulo 2^32, and the verifier bounds them below 2^31). */
#define TINYC_LSTM_HELPERS_ONLY
#include "unidirectional_sequence_lstm.c"
#include "tinyc_scalar_fc.h"

/* v[0 .. n) as int32 into x[0 .. k4), zeros after; returns -128 * sum(v), the unsigned weights' correction. */
static int32_t lstm_widen_scalar(const int8_t *v, int32_t n, int32_t k4, int32_t *x)
{
    int32_t sum = 0;
    for (int32_t i = 0; i < n; ++i) {
        x[i] = v[i];
        sum += v[i];
    }
    for (int32_t i = n; i < k4; ++i) x[i] = 0;
    return (int32_t)((uint32_t)sum * (uint32_t)-128);
}

/* acc[r] = bias[r] + corr + sum_k w[r][k] x[k] for the `rows` rows of one matrix (its layout above). */
static void lstm_matvec(const uint8_t *w, const int32_t *x, int32_t k, int32_t k4, const int32_t *bias, int32_t rows,
                        int32_t corr, int32_t *acc)
{
    const int32_t blocks = rows / 4;
    if (blocks) {
        fc_args_t m;
        m.w = w;
        m.cols = x;
        m.k4 = k4;
        m.bias = bias;
        m.bias_end = bias + 4 * blocks;
        m.acc = acc;
        m.corr[0] = corr;
        fc_blocks(&m);
    }
    w += (size_t)4 * blocks * k4;
    for (int32_t r = 4 * blocks; r < rows; ++r, w += k4) {
        uint32_t s = (uint32_t)(bias[r] + corr);
        for (int32_t i = 0; i < k; ++i) s += w[i] * (uint32_t)x[i];
        acc[r] = (int32_t)s;
    }
}

void tinyc_scalar_lstm_s8(const tinyc_lstm_params_t *p, const int8_t *input, const int8_t *weights,
                          const int32_t *bias, int8_t *output, int8_t *io, int16_t *input2,
                          const int16_t *const *outputs, int32_t *scratch)
{
    const int32_t n = p->n_cell, ni = p->n_input, ni4 = (ni + 3) & ~3, n4 = (n + 3) & ~3;
    int16_t *const gates[4] = {(int16_t *)outputs[1], (int16_t *)outputs[0], (int16_t *)outputs[2],
                               (int16_t *)outputs[3]}; /* input, forget, cell, output: the weights' gate order */
    int32_t *xw = scratch, *hw = xw + ni4, *acc_in = hw + n4, *acc_rec = acc_in + n;
    const uint8_t *w_in = (const uint8_t *)weights, *w_rec = w_in + (size_t)4 * n * ni4;
    lstm_reset(p, io, input2);
    for (int32_t b = 0; b < p->batches; ++b) {
        int8_t *h = io + (size_t)b * n;
        int16_t *cell = input2 + (size_t)b * n;
        for (int32_t t = 0; t < p->steps; ++t) {
            const int32_t row = p->time_major ? t * p->batches + b : b * p->steps + t;
            const int32_t cx = lstm_widen_scalar(input + (size_t)row * ni, ni, ni4, xw);
            const int32_t ch = lstm_widen_scalar(h, n, n4, hw);
            for (int g = 0; g < 4; ++g) {
                lstm_matvec(w_in + (size_t)g * n * ni4, xw, ni, ni4, bias + (size_t)g * n, n, cx, acc_in);
                lstm_matvec(w_rec + (size_t)g * n * n4, hw, n, n4, bias + (size_t)(4 + g) * n, n, ch, acc_rec);
                int16_t *gate = gates[g];
                for (int32_t c = 0; c < n; ++c) gate[c] = lstm_sum(p, g, acc_in[c], acc_rec[c]);
                lstm_activate(gate, n, g == 2 ? p->cell_tanh : 0);
            }
            lstm_update(p, gates[1], gates[0], gates[2], gates[3], cell, h, output + (size_t)row * n);
        }
    }
}
