/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell state: TFLite Micro's integer LSTM.
 *
 * Per time step, each gate is an int8 x int8 matmul of the input (with the gate's bias) plus one of the hidden
 * state, each requantized to int16 in Q3.12 and added with saturation; sigmoid (tanh for the cell gate) in
 * int16 fixed point gives Q0.15. cell = forget * cell + input * cell_gate (int16, clipped), hidden =
 * tanh(cell) * output gate (int8, the hidden state's scale), copied to the output row of that step. The
 * hidden and cell states start from their initial values (zero point, 0) at every inference, as TFLite Micro
 * after AllocateTensors() or Reset(). */
#include "tinyc_ops.h"

/* sigmoid(i / 24) in unsigned 0.16 fixed point, i = 0..255: the interpolation table TFLite's int16 sigmoid
 * and tanh read (the values are part of their definition, so they must be these). */
static const uint16_t lstm_sigmoid_table[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};

static int16_t sat16(int32_t v) { return (int16_t)tinyc_clamp32(v, -32768, 32767); }

/* x * mult (>> shift, rounded): the int16 activations' input scaling (mult 3 = the table's 3/4 range). */
static int32_t scaled(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t round = shift > 0 ? (1 << (shift - 1)) : 0;
    return (x * mult + round) >> shift;
}

/* Sigmoid of Q3.12 (scaled by 3) -> Q0.15. */
static void lstm_sigmoid(int16_t *v, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        const int32_t x = (int32_t)v[i] * 3;
        const uint32_t a = (uint32_t)(x < 0 ? -x : x);
        const uint32_t h = a >> 9;
        uint32_t r;
        if (h >= 255u) {
            r = 0x7FFFu << 10;
        } else {
            const uint32_t lo = lstm_sigmoid_table[h], hi = lstm_sigmoid_table[h + 1u];
            r = (lo << 9) + (a & 0x1FFu) * (hi - lo);
        }
        r = x >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
        v[i] = (int16_t)(r >> 10);
    }
}

/* tanh via the sigmoid table (tanh(x) = 2 sigmoid(2x) - 1) -> Q0.15; mult/shift scale the input to Q3.12 x 3. */
static void lstm_tanh(const int16_t *in, int16_t *out, int32_t n, int32_t mult, int32_t shift)
{
    for (int32_t i = 0; i < n; ++i) {
        const int32_t x = scaled(in[i], mult, shift);
        const uint32_t a = (uint32_t)(x < 0 ? -x : x);
        const uint32_t h = a >> 8;
        int32_t r;
        if (h >= 255u) {
            r = (int32_t)(0xFFFFu << 8);
        } else {
            const uint32_t lo = lstm_sigmoid_table[h], hi = lstm_sigmoid_table[h + 1u];
            r = (int32_t)((lo << 8) + (a & 0xFFu) * (hi - lo));
        }
        r = x >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
        out[i] = (int16_t)(r >> 8);
    }
}

/* A gate's activation in place: 0 sigmoid, 1 tanh (the cell gate's, input in Q3.12). */
static void lstm_activate(int16_t *gate, int32_t n, int act)
{
    if (act) {
        lstm_tanh(gate, gate, n, 3, 0);
    } else {
        lstm_sigmoid(gate, n);
    }
}

/* The gates' two requantized matmul halves added with saturation (TFLite's AddElementWise). */
static int16_t lstm_sum(const tinyc_lstm_params_t *p, int g, int32_t in_acc, int32_t rec_acc)
{
    const int32_t fi = tinyc_clamp32(tinyc_requant(in_acc, p->in_mult[g], p->in_shift[g]), -32768, 32767);
    const int32_t fr = tinyc_clamp32(tinyc_requant(rec_acc, p->rec_mult[g], p->rec_shift[g]), -32768, 32767);
    return sat16(fi + fr);
}

/* cell = sat(f * cell + i * g), clipped; hidden = tanh(cell) * o to int8 (tanh into `forget`, no longer needed),
 * written to the state and to the step's output row. */
static void lstm_update(const tinyc_lstm_params_t *p, int16_t *forget, const int16_t *in_gate, const int16_t *cell_gate,
                        const int16_t *out_gate, int16_t *cell, int8_t *h, int8_t *y)
{
    const int32_t n = p->n_cell;
    for (int32_t c = 0; c < n; ++c) {
        const int32_t kept = sat16(tinyc_requant((int32_t)forget[c] * cell[c], p->forget_mult, p->forget_shift));
        const int32_t added = sat16(tinyc_requant((int32_t)in_gate[c] * cell_gate[c], p->input_mult, p->input_shift));
        int32_t v = sat16(kept + added);
        if (p->use_clip) v = tinyc_clamp32(v, -p->cell_clip, p->cell_clip);
        cell[c] = (int16_t)v;
    }
    lstm_tanh(cell, forget, n, p->tanh_mult, p->tanh_shift);
    for (int32_t c = 0; c < n; ++c) {
        const int32_t v = tinyc_requant((int32_t)forget[c] * out_gate[c], p->output_mult, p->output_shift);
        h[c] = (int8_t)tinyc_clamp32(v + p->hidden_zp, -128, 127);
        y[c] = h[c];
    }
}

/* The state from its initial values: hidden = its zero point, cell = 0 (TFLite Micro's variable tensors after
 * AllocateTensors() or Reset()). */
static void lstm_reset(const tinyc_lstm_params_t *p, int8_t *h, int16_t *cell)
{
    for (int32_t i = 0; i < p->batches * p->n_cell; ++i) {
        h[i] = (int8_t)p->hidden_zp;
        cell[i] = 0;
    }
}

#ifndef TINYC_LSTM_HELPERS_ONLY /* an optimized set's file includes this one for the helpers above */

/* One gate: sat16(requant(W_in x + b) + requant(W_rec h)), then its activation (act 0: sigmoid, 1: tanh).
 * bias holds 8 rows of n_cell: each gate's input bias, then its recurrent one, with the input's (hidden state's)
 * zero-point term folded in at generation time (sum_d w * (x + off) = sum_d w * x + off * sum_d w, in int32). */
static void lstm_gate(const tinyc_lstm_params_t *p, int g, const int8_t *x, const int8_t *h, const int8_t *weights,
                      const int32_t *bias, int16_t *gate, int act)
{
    const int32_t n = p->n_cell, ni = p->n_input;
    const int8_t *wi = weights + (size_t)g * n * ni;
    const int8_t *wr = weights + (size_t)4 * n * ni + (size_t)g * n * n;
    const int32_t *bi = bias + (size_t)g * n, *br = bias + (size_t)(4 + g) * n;
    for (int32_t c = 0; c < n; ++c) {
        int32_t a = bi[c];
        const int8_t *w = wi + (size_t)c * ni;
        for (int32_t d = 0; d < ni; ++d) a += (int32_t)w[d] * x[d];
        int32_t r = br[c];
        w = wr + (size_t)c * n;
        for (int32_t d = 0; d < n; ++d) r += (int32_t)w[d] * h[d];
        gate[c] = lstm_sum(p, g, a, r);
    }
    lstm_activate(gate, n, act);
}

void tinyc_ref_lstm_s8(const tinyc_lstm_params_t *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                       int8_t *output, int8_t *io, int16_t *input2, const int16_t *const *outputs)
{
    /* io: the hidden state, input2: the cell state, outputs: the plan's four int16 scratch buffers */
    const int32_t n = p->n_cell;
    int16_t *forget = (int16_t *)outputs[0], *in_gate = (int16_t *)outputs[1];
    int16_t *cell_gate = (int16_t *)outputs[2], *out_gate = (int16_t *)outputs[3];
    lstm_reset(p, io, input2);
    for (int32_t b = 0; b < p->batches; ++b) {
        int8_t *h = io + (size_t)b * n;
        int16_t *cell = input2 + (size_t)b * n;
        for (int32_t t = 0; t < p->steps; ++t) {
            const int32_t row = p->time_major ? t * p->batches + b : b * p->steps + t;
            const int8_t *x = input + (size_t)row * p->n_input;
            lstm_gate(p, 1, x, h, weights, bias, forget, 0);
            lstm_gate(p, 0, x, h, weights, bias, in_gate, 0);
            lstm_gate(p, 2, x, h, weights, bias, cell_gate, p->cell_tanh);
            lstm_gate(p, 3, x, h, weights, bias, out_gate, 0);
            lstm_update(p, forget, in_gate, cell_gate, out_gate, cell, h, output + (size_t)row * n);
        }
    }
}

#endif /* TINYC_LSTM_HELPERS_ONLY */
