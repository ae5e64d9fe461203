/* The tinyc firmware harness: runs the generated model (tinyc_model.h) on command from the host
 * over the console UART. The host side is tinyc/deploy/link.py; the protocol is described there.
 *
 * Every frame is one ASCII line ending in " *<crc32 of the line up to and including the space>".
 * Host -> target lines start with '@', target -> host lines with '#'. The target drops anything
 * before an '@' and answers a line whose CRC is wrong with "#ERR 0 crc", so line noise and a host
 * that starts late are harmless; every reply carries the sequence number of its command, so the
 * host can skip stale replies. Input tensors go to a staging copy that refills the model's input
 * before every timed run (an inference may overwrite its input when the input lives in the arena).
 *
 * Resends (protocol 2): the host sends a command again, with the same sequence number, when its
 * reply came damaged, incomplete or not at all. The harness keeps the sequence number and frame CRC
 * of the last command it executed: the same frame again is a resend. RUN and PROFILE then replay
 * what they stored (ticks, checksums, the layers' sums), never running an inference again; every
 * other command runs again, which is harmless: HELLO and OUT only read, IN writes the same bytes
 * to the same place, and no other command ran in between (the host waits for a complete reply). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tinyc_model.h"
#include "tinyc_port.h"

#define PROTO_VERSION 2
#define CHUNK_MAX 256                 /* payload bytes per IN/DATA frame */
#define LINE_MAX (2 * CHUNK_MAX + 64) /* "@IN seq idx off <hex> *crc32" */
#define RUNS_MAX 64

#ifndef TINYC_BOARD_ID
#define TINYC_BOARD_ID "unknown"
#endif
#ifndef TINYC_CLOCK_HZ
#define TINYC_CLOCK_HZ 0u
#endif
#ifndef TINYC_EMULATED
#define TINYC_EMULATED 0
#endif
#ifndef TINYC_HARNESS_STAGING_BYTES
#error "TINYC_HARNESS_STAGING_BYTES (the model's input bytes, all inputs together, or 0) must be set by the project"
#endif

/* With room for it, a copy of the input refills the model's input before every timed run. Without
 * (TINYC_HARNESS_STAGING_BYTES 0, a board whose RAM holds the model but not a second input), IN
 * writes straight into the model's input and the host sends the input again before every run. */
#if TINYC_HARNESS_STAGING_BYTES > 0
static uint8_t staging[TINYC_HARNESS_STAGING_BYTES] __attribute__((aligned(16)));
#endif
static uint32_t staging_at[TINYC_MODEL_NUM_INPUTS + 1];
static char line[LINE_MAX + 1];
static uint64_t init_ticks; /* tinyc_model_init() at boot: the packed filters kept in RAM decoded (packed-ram) */
static uint64_t run_ticks[RUNS_MAX]; /* the last RUN's ticks per run, in run order (kept for a replay) */
static uint32_t run_crc[RUNS_MAX];   /* and its outputs' checksum per run */
static uint32_t run_n, run_done;     /* runs asked for, runs done */
static int32_t run_rc;               /* the last run's return code (non-zero stops the runs) */

/* The last command executed: a frame with the same sequence number and CRC is its resend. */
enum { KIND_EXEC, KIND_RUN, KIND_PROFILE };
static uint32_t frame_crc, last_seq, last_crc;
static uint8_t last_kind = KIND_EXEC, have_last;

/* ---- CRC-32 (IEEE 802.3, reflected, as zlib.crc32), nibble table: small and fast enough ---- */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 0xF];
        crc = (crc >> 4) ^ crc_nibble[crc & 0xF];
    }
    return ~crc;
}

/* ---- output frames: text goes out byte by byte while its CRC accumulates ---- */
static uint32_t tx_crc;
static const char hexdig[] = "0123456789abcdef";

#ifdef TINYC_HARNESS_TEST_HOOKS
/* Test builds hold each reply line until its end, so TEST lose/damage/twice can drop it, damage it
 * or send it twice (tests/test_deploy_link.py). */
static char tx_line[LINE_MAX + 64];
static uint32_t tx_len, hook_lose, hook_damage, hook_twice;

static void tx_put(uint8_t c) {
    if (tx_len < sizeof tx_line) tx_line[tx_len++] = (char)c;
}

static void tx_flush(void) {
    uint32_t copies = 1;
    if (hook_lose) {
        hook_lose--;
        copies = 0;
    } else {
        if (hook_damage) {
            hook_damage--;
            tx_line[1] ^= 0x20; /* "#OK" -> "#oK": the line's CRC no longer matches */
        }
        if (hook_twice) {
            hook_twice--;
            copies = 2;
        }
    }
    while (copies--)
        for (uint32_t i = 0; i < tx_len; i++) port_putc((uint8_t)tx_line[i]);
    tx_len = 0;
}
#else
#define tx_put(c) port_putc(c)
#define tx_flush() ((void)0)
#endif

static void tx_byte(uint8_t c) {
    tx_crc = crc_update(tx_crc, &c, 1);
    tx_put(c);
}

static void tx_str(const char *s) {
    while (*s) tx_byte((uint8_t)*s++);
}

static void tx_u64(uint64_t v) {
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    tx_str(&buf[i]);
}

static void tx_i32(int32_t v) {
    if (v < 0) {
        tx_byte('-');
        tx_u64((uint64_t)(-(int64_t)v));
    } else {
        tx_u64((uint64_t)v);
    }
}

static void tx_hex32(uint32_t v) {
    for (int i = 28; i >= 0; i -= 4) tx_byte((uint8_t)hexdig[(v >> i) & 0xF]);
}

static void tx_field(const char *key, uint64_t v) {
    tx_byte(' ');
    tx_str(key);
    tx_byte('=');
    tx_u64(v);
}

static void tx_begin(const char *type, uint32_t seq) {
    tx_crc = 0;
    tx_byte('#');
    tx_str(type);
    tx_byte(' ');
    tx_u64(seq);
}

static void tx_end(void) {
    uint32_t crc;
    tx_byte(' ');
    crc = tx_crc;
    tx_put('*');
    for (int i = 28; i >= 0; i -= 4) tx_put((uint8_t)hexdig[(crc >> i) & 0xF]);
    tx_put('\n');
    tx_flush();
}

static void reply_ok(uint32_t seq) {
    tx_begin("OK", seq);
    tx_end();
}

static void reply_err(uint32_t seq, const char *why) {
    tx_begin("ERR", seq);
    tx_byte(' ');
    tx_str(why);
    tx_end();
}

/* ---- input: one '@' frame at a time; '@' always starts a new frame, so noise cannot wedge it.
 * A line with text but no '@' (a command whose '@' was lost) returns 0, which the caller answers
 * with "#ERR 0 crc": the host resends at once instead of waiting out its timeout. ---- */
static int read_frame(void) {
    int n = 0, in_frame = 0, junk = 0;
    for (;;) {
        int c = port_getc(-1);
        if (c < 0) continue;
        if (c == '@') {
            n = 0;
            line[n++] = '@';
            in_frame = 1;
        } else if (!in_frame) {
            if (c == '\n') {
                if (junk) return 0;
            } else if (c != '\r' && c != ' ') {
                junk = 1;
            }
            continue;
        } else if (c == '\n' || c == '\r') {
            line[n] = 0;
            return n;
        } else if (n >= LINE_MAX) {
            in_frame = 0; /* too long to be ours: drop it */
            junk = 1;
        } else {
            line[n++] = (char)c;
        }
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The frame is valid when it ends in " *XXXXXXXX" and the CRC of what precedes '*' matches. */
static int frame_valid(int n) {
    uint32_t want = 0;
    if (n < 11 || line[n - 10] != ' ' || line[n - 9] != '*') return 0;
    for (int i = n - 8; i < n; i++) {
        int v = hexval(line[i]);
        if (v < 0) return 0;
        want = (want << 4) | (uint32_t)v;
    }
    line[n - 9] = 0;
    frame_crc = want;
    return crc_update(0, (const uint8_t *)line, (size_t)(n - 9)) == want;
}

static char *next_token(char **cursor) {
    char *s = *cursor, *start;
    while (*s == ' ') s++;
    if (!*s) return NULL;
    start = s;
    while (*s && *s != ' ') s++;
    if (*s) *s++ = 0;
    *cursor = s;
    return start;
}

static int parse_u32(const char *s, uint32_t *out) {
    uint64_t v = 0;
    if (!s || !*s) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        v = v * 10u + (uint64_t)(*s - '0');
        if (v > 0xFFFFFFFFu) return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

/* ---- commands ---- */
static void tx_tensor(uint32_t seq, const char *dir, int i, const tinyc_tensor_t *t) {
    union {
        float f;
        uint32_t u;
    } scale;
    tx_begin("TENSOR", seq);
    tx_byte(' ');
    tx_str(dir);
    tx_byte(' ');
    tx_u64((uint64_t)i);
    tx_field("dtype", t->dtype);
    tx_field("bytes", t->bytes);
    scale.f = t->scale;
    tx_str(" scale=0x"); /* the float's bits: exact, and no printf("%f") in the firmware */
    tx_hex32(scale.u);
    tx_str(" zp=");
    tx_i32(t->zero_point);
    tx_str(" shape=");
    for (int d = 0; d < t->rank; d++) {
        if (d) tx_byte('x');
        tx_i32(t->dims[d]);
    }
    if (t->rank == 0) tx_byte('-');
    tx_str(" name=");
    for (const char *p = t->name ? t->name : "-"; *p; p++) tx_byte(*p > ' ' && *p < 127 ? (uint8_t)*p : '_');
    tx_end();
}

static void cmd_hello(uint32_t seq) {
    tx_begin("HELLO", seq);
    tx_field("proto", PROTO_VERSION);
    tx_str(" model=");
    tx_str(tinyc_model_hash);
    tx_str(" board=" TINYC_BOARD_ID);
    tx_field("clock", TINYC_CLOCK_HZ);
    tx_field("tick_hz", port_tick_hz());
    tx_field("emulated", TINYC_EMULATED);
    tx_field("arena", TINYC_MODEL_ARENA_SIZE);
    tx_field("inputs", TINYC_MODEL_NUM_INPUTS);
    tx_field("outputs", TINYC_MODEL_NUM_OUTPUTS);
    tx_field("staging", TINYC_HARNESS_STAGING_BYTES);
    tx_field("chunk", CHUNK_MAX);
    tx_field("runs_max", RUNS_MAX);
    tx_field("init_ticks", init_ticks);
#ifdef TINYC_MODEL_PROFILE
    tx_field("layers", TINYC_MODEL_NUM_LAYERS);
#endif
    tx_str(" name=");
    for (const char *p = tinyc_model_name; *p; p++) tx_byte(*p > ' ' && *p < 127 ? (uint8_t)*p : '_');
    tx_end();
    for (int i = 0; i < TINYC_MODEL_NUM_INPUTS; i++) tx_tensor(seq, "in", i, tinyc_model_input(i));
    for (int i = 0; i < TINYC_MODEL_NUM_OUTPUTS; i++) tx_tensor(seq, "out", i, tinyc_model_output(i));
    reply_ok(seq);
}

/* IN idx offset hex: bytes into the staging copy of input idx. */
static void cmd_in(uint32_t seq, char *args) {
    uint32_t idx, off;
    char *hex;
    if (!parse_u32(next_token(&args), &idx) || !parse_u32(next_token(&args), &off) ||
        !(hex = next_token(&args))) {
        reply_err(seq, "bad-args");
        return;
    }
    size_t len = strlen(hex);
    if (idx >= TINYC_MODEL_NUM_INPUTS || (len & 1u) || len / 2 > CHUNK_MAX) {
        reply_err(seq, "bad-args");
        return;
    }
    uint32_t size = staging_at[idx + 1] - staging_at[idx];
    if (off > size || len / 2 > size - off) {
        reply_err(seq, "out-of-range");
        return;
    }
#if TINYC_HARNESS_STAGING_BYTES > 0
    uint8_t *dst = staging + staging_at[idx] + off;
#else
    uint8_t *dst = (uint8_t *)tinyc_model_input((int)idx)->data + off;
#endif
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            reply_err(seq, "bad-hex");
            return;
        }
        dst[i / 2] = (uint8_t)((hi << 4) | lo);
    }
    reply_ok(seq);
}

/* OUT idx offset n: up to CHUNK_MAX bytes of output idx as they are after the last run. */
static void cmd_out(uint32_t seq, char *args) {
    uint32_t idx, off, n;
    if (!parse_u32(next_token(&args), &idx) || !parse_u32(next_token(&args), &off) ||
        !parse_u32(next_token(&args), &n) || idx >= TINYC_MODEL_NUM_OUTPUTS || n > CHUNK_MAX) {
        reply_err(seq, "bad-args");
        return;
    }
    const tinyc_tensor_t *t = tinyc_model_output((int)idx);
    if (off > t->bytes || n > t->bytes - off) {
        reply_err(seq, "out-of-range");
        return;
    }
    const uint8_t *src = (const uint8_t *)t->data + off;
    tx_begin("DATA", seq);
    tx_byte(' ');
    tx_u64(idx);
    tx_byte(' ');
    tx_u64(off);
    tx_byte(' ');
    for (uint32_t i = 0; i < n; i++) {
        tx_byte((uint8_t)hexdig[src[i] >> 4]);
        tx_byte((uint8_t)hexdig[src[i] & 0xF]);
    }
    if (n == 0) tx_byte('-');
    tx_end();
}

static uint32_t outputs_crc(void) {
    uint32_t crc = 0;
    for (int i = 0; i < TINYC_MODEL_NUM_OUTPUTS; i++) {
        const tinyc_tensor_t *t = tinyc_model_output(i);
        crc = crc_update(crc, (const uint8_t *)t->data, t->bytes);
    }
    return crc;
}

#ifdef TINYC_HARNESS_TEST_HOOKS
static uint32_t inferences;                                /* TEST count: inferences run since boot */
static uint32_t hook_wrong_p, hook_wrong_r, hook_wrong_k; /* TEST wrong P R: damage run k when k % P == R */
#endif

/* The k-th smallest (from 0) of the last RUN's ticks, without reordering them (n <= RUNS_MAX). */
static uint64_t run_rank(uint32_t n, uint32_t r) {
    for (uint32_t i = 0; i < n; i++) {
        uint32_t less = 0, same = 0;
        for (uint32_t j = 0; j < n; j++) {
            if (run_ticks[j] < run_ticks[i]) less++;
            else if (run_ticks[j] == run_ticks[i]) same++;
        }
        if (less <= r && r < less + same) return run_ticks[i];
    }
    return 0;
}

static void tx_run_line(uint32_t seq, uint32_t k) {
    tx_begin("RUN", seq);
    tx_byte(' ');
    tx_u64(k);
    tx_byte(' ');
    tx_u64(run_ticks[k]);
    tx_byte(' ');
    tx_i32(k + 1 == run_done ? run_rc : 0);
    tx_byte(' ');
    tx_hex32(run_crc[k]);
    tx_end();
}

/* The end of a RUN reply: "#ERR seq invoke-failed" after a failed run, else "#OK seq" with min /
 * median (lower) / max ticks. */
static void tx_run_end(uint32_t seq) {
    if (run_rc != 0) {
        reply_err(seq, "invoke-failed");
        return;
    }
    tx_begin("OK", seq);
    tx_field("runs", run_n);
    tx_field("min", run_rank(run_n, 0));
    tx_field("median", run_rank(run_n, (run_n - 1) / 2));
    tx_field("max", run_rank(run_n, run_n - 1));
    tx_end();
}

/* RUN again (a resend): the stored reply, not another inference. */
static void replay_run(uint32_t seq) {
    for (uint32_t k = 0; k < run_done; k++) tx_run_line(seq, k);
    tx_run_end(seq);
}

/* RUN n: n timed inferences, each on a fresh copy of the staged input. One "#RUN seq k ticks rc
 * crc" line per run, then the end line (tx_run_end). */
static void cmd_run(uint32_t seq, char *args) {
    uint32_t n;
    if (!parse_u32(next_token(&args), &n) || n == 0 || n > RUNS_MAX) {
        reply_err(seq, "bad-args");
        return;
    }
#if TINYC_HARNESS_STAGING_BYTES == 0
    if (n != 1) {
        reply_err(seq, "no-staging-one-run-per-input"); /* the host refills the input itself */
        return;
    }
#endif
    last_kind = KIND_RUN;
    run_n = n;
    run_done = 0;
    run_rc = 0;
    for (uint32_t k = 0; k < n; k++) {
#if TINYC_HARNESS_STAGING_BYTES > 0
        for (int i = 0; i < TINYC_MODEL_NUM_INPUTS; i++) {
            const tinyc_tensor_t *t = tinyc_model_input(i);
            memcpy(t->data, staging + staging_at[i], t->bytes);
        }
#endif
        port_span_begin();
        int rc = tinyc_model_invoke();
        uint64_t ticks = port_span_end();
#ifdef TINYC_HARNESS_TEST_HOOKS
        inferences++;
        if (hook_wrong_p && hook_wrong_k++ % hook_wrong_p == hook_wrong_r && tinyc_model_output(0)->bytes)
            ((uint8_t *)tinyc_model_output(0)->data)[0] ^= 0x01; /* a wrong output, as a kernel bug gives */
#endif
        run_ticks[k] = ticks;
        run_crc[k] = outputs_crc();
        run_rc = rc;
        run_done = k + 1;
        tx_run_line(seq, k);
        if (rc != 0) break;
    }
    tx_run_end(seq);
}

#ifdef TINYC_MODEL_PROFILE
/* Per-layer profile (a model generated with profiling on): the model reads this clock between layers. */
uint64_t tinyc_profile_clock(void) { return port_ticks(); }

/* A delay of 3 * n instructions (n >= 1): subs, nop, bne. Started at phases that step through a whole
 * timer tick, the layers' tick counts average to their exact length (one tick is 40 instructions on
 * the mps2 machines under QEMU -icount). */
static void dither(uint32_t n) {
#if defined(__thumb2__)
    __asm volatile("1: subs %0, %0, #1\n\tnop\n\tbne 1b" : "+l"(n) : : "cc");
#else /* Thumb-1 (Cortex-M0/M0+): GCC's inline assembly is in divided syntax, where sub sets the flags */
    __asm volatile("1: sub %0, #1\n\tnop\n\tbne 1b" : "+l"(n) : : "cc");
#endif
}

static uint32_t prof_n; /* the last PROFILE's inferences */
static int prof_rc;     /* and the return code that stopped it (0: all ran) */
static void tx_profile(uint32_t seq);

/* PROFILE n k0 period: n inferences, inference k started after dither(1 + (k0 + k) % period), each on a
 * fresh copy of the staged input; then one "#LAYER seq i op ticks kernel" per layer (ticks summed over
 * the n runs) and "#OK seq runs=n layers=L". */
static void cmd_profile(uint32_t seq, char *args) {
    uint32_t n, k0, period;
    if (!parse_u32(next_token(&args), &n) || !parse_u32(next_token(&args), &k0) ||
        !parse_u32(next_token(&args), &period) || n == 0 || period == 0 || period > 100000u) {
        reply_err(seq, "bad-args");
        return;
    }
#if TINYC_HARNESS_STAGING_BYTES == 0
    if (n != 1) {
        reply_err(seq, "no-staging-one-run-per-input");
        return;
    }
#endif
    last_kind = KIND_PROFILE;
    prof_n = n;
    prof_rc = 0;
    for (int i = 0; i < TINYC_MODEL_NUM_LAYERS; i++) tinyc_layer_ticks[i] = 0;
    for (uint32_t k = 0; k < n; k++) {
#if TINYC_HARNESS_STAGING_BYTES > 0
        for (int i = 0; i < TINYC_MODEL_NUM_INPUTS; i++) {
            const tinyc_tensor_t *t = tinyc_model_input(i);
            memcpy(t->data, staging + staging_at[i], t->bytes);
        }
#endif
        port_span_begin();
        dither(1u + (k0 + k) % period);
        int rc = tinyc_model_invoke();
        (void)port_span_end();
#ifdef TINYC_HARNESS_TEST_HOOKS
        inferences++;
#endif
        if (rc != 0) {
            prof_rc = rc;
            break;
        }
    }
    tx_profile(seq);
}

/* The PROFILE reply (also its replay on a resend: the layers' sums stay until the next PROFILE). */
static void tx_profile(uint32_t seq) {
    if (prof_rc != 0) {
        reply_err(seq, "invoke-failed");
        return;
    }
    for (int i = 0; i < TINYC_MODEL_NUM_LAYERS; i++) {
        tx_begin("LAYER", seq);
        tx_byte(' ');
        tx_u64((uint64_t)i);
        tx_byte(' ');
        tx_u64(tinyc_layer_op[i]);
        tx_byte(' ');
        tx_u64(tinyc_layer_ticks[i]);
        tx_byte(' ');
        tx_str(tinyc_layer_kernel[i]);
        tx_end();
    }
    tx_begin("OK", seq);
    tx_field("runs", prof_n);
    tx_field("layers", TINYC_MODEL_NUM_LAYERS);
    tx_end();
}
#endif

#ifdef TINYC_HARNESS_TEST_HOOKS
/* Test-only faults (tests/test_deploy_link.py, benchmarks/link_faults.py): never built into a real firmware. */
static uint32_t noise_state = 12345u;

static void tx_noise(int n) {
    static const char junk[] = "#OK 1 *00000000\n#HELLO garbage\r@@##\x00\xff\x80*\n";
    for (int i = 0; i < n; i++) {
        noise_state = noise_state * 1103515245u + 12345u;
        uint32_t r = noise_state >> 16;
        port_putc((r & 3u) ? (uint8_t)r : (uint8_t)junk[r % (sizeof junk - 1)]);
    }
}

static void cmd_test(uint32_t seq, char *args) {
    char *what = next_token(&args);
    if (!what) {
        reply_err(seq, "bad-args");
    } else if (!strcmp(what, "hang")) {
        for (;;) {
        }
    } else if (!strcmp(what, "fault")) {
        __asm volatile("udf #0"); /* undefined instruction -> UsageFault -> HardFault handler */
    } else if (!strcmp(what, "exit")) {
        port_exit(0x55); /* the port goes away without a reply, as when a board is unplugged */
    } else if (!strcmp(what, "noise")) {
        tx_noise(200);
        reply_ok(seq);
        tx_noise(50);
    } else if (!strcmp(what, "lose") || !strcmp(what, "damage") || !strcmp(what, "twice")) {
        uint32_t n; /* the next n reply lines after this one are lost, damaged or sent twice */
        if (!parse_u32(next_token(&args), &n)) {
            reply_err(seq, "bad-args");
            return;
        }
        reply_ok(seq);
        *(what[0] == 'l' ? &hook_lose : what[0] == 'd' ? &hook_damage : &hook_twice) = n;
    } else if (!strcmp(what, "count")) {
        tx_begin("OK", seq);
        tx_field("inferences", inferences);
        tx_end();
    } else if (!strcmp(what, "wrong")) {
        uint32_t p, r; /* from now on, damage output 0 of every RUN inference k with k % p == r */
        if (!parse_u32(next_token(&args), &p) || !parse_u32(next_token(&args), &r)) {
            reply_err(seq, "bad-args");
            return;
        }
        hook_wrong_p = p;
        hook_wrong_r = r;
        hook_wrong_k = 0;
        reply_ok(seq);
    } else {
        reply_err(seq, "unknown-test");
    }
}
#endif

int main(void) {
    uint32_t at = 0;
    for (int i = 0; i < TINYC_MODEL_NUM_INPUTS; i++) {
        staging_at[i] = at;
        at += tinyc_model_input(i)->bytes;
    }
    staging_at[TINYC_MODEL_NUM_INPUTS] = at;

#ifdef TINYC_HARNESS_TEST_HOOKS
    tx_noise(300);
    /* A late start: the host has been sending HELLO for a while before anyone listens. A plain
     * loop (no timer reads, which are slow under QEMU -icount): about half a second of wall time. */
    for (volatile uint32_t i = 0; i < 20000000u; i++) {
    }
#endif
    if (TINYC_HARNESS_STAGING_BYTES > 0 && at > TINYC_HARNESS_STAGING_BYTES) {
        for (;;) { /* a project built with the wrong staging size: say so on every HELLO */
            uint32_t seq = 0;
            if (read_frame() > 0) reply_err(seq, "staging-too-small");
        }
    }
    /* Start-up work (the filters --weights packed-ram keeps decoded in RAM), timed apart from every RUN. */
    port_span_begin();
    (void)tinyc_model_init(NULL);
    init_ticks = port_span_end();

    /* Announce once; on a real board this is usually lost before the port opens, and the host
     * does not depend on it (it sends HELLO until it is answered). */
    cmd_hello(0);

    for (;;) {
        int n = read_frame();
        if (!frame_valid(n)) {
            reply_err(0, "crc");
            continue;
        }
        char *cursor = line + 1;
        char *cmd = next_token(&cursor);
        uint32_t seq;
        if (!cmd || !parse_u32(next_token(&cursor), &seq)) {
            reply_err(0, "bad-frame");
            continue;
        }
        if (have_last && seq == last_seq && frame_crc == last_crc) { /* a resend of the last command */
            if (last_kind == KIND_RUN) {
                replay_run(seq);
                continue;
            }
#ifdef TINYC_MODEL_PROFILE
            if (last_kind == KIND_PROFILE) {
                tx_profile(seq);
                continue;
            }
#endif
        } else {
            have_last = 1;
            last_seq = seq;
            last_crc = frame_crc;
            last_kind = KIND_EXEC; /* cmd_run / cmd_profile say when they ran an inference */
        }
        if (!strcmp(cmd, "HELLO")) {
            cmd_hello(seq);
        } else if (!strcmp(cmd, "IN")) {
            cmd_in(seq, cursor);
        } else if (!strcmp(cmd, "RUN")) {
            cmd_run(seq, cursor);
        } else if (!strcmp(cmd, "OUT")) {
            cmd_out(seq, cursor);
#ifdef TINYC_MODEL_PROFILE
        } else if (!strcmp(cmd, "PROFILE")) {
            cmd_profile(seq, cursor);
#endif
        } else if (!strcmp(cmd, "EXIT")) {
            uint32_t code = 0;
            parse_u32(next_token(&cursor), &code);
            reply_ok(seq);
            port_exit((int)code);
#ifdef TINYC_HARNESS_TEST_HOOKS
        } else if (!strcmp(cmd, "TEST")) {
            cmd_test(seq, cursor);
#endif
        } else {
            reply_err(seq, "unknown-command");
        }
    }
}
