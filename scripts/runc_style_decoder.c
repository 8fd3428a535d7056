// A single-sequence fp32 decoder in the style of llama2.c's run.c: the C reference that `bench sample` times
// next to Swiftlet's decoder in the same run (llama2.c itself is not on this machine).
//
// What it keeps from run.c, because that is what sets its speed: fp32 weights in one malloc'd block, a
// Llama block (RMSNorm, rotary q/k, multi-head attention over a KV cache, SwiGLU feed-forward with three
// matrices), a shared (tied) classifier over the token embedding, and the matrix-vector product written as
// run.c writes it: one plain dot-product loop per output row, the rows split over OpenMP threads, compiled
// with `-Ofast -march=native -fopenmp` so gcc vectorises the loop. Greedy (argmax) decoding: the sampler is
// off. Weights are random (timing only).
//
// Shapes: dim C, hidden F (default 8C/3, so that the three feed-forward matrices hold as many weights as
// GPT-2's two C x 4C ones: 288 -> 768, llama2.c's 15M model), L layers, H heads, vocab V, context T.
//
//   cc -Ofast -march=native -fopenmp scripts/runc_style_decoder.c -o /tmp/runc_style_decoder -lm
//   OMP_NUM_THREADS=2 /tmp/runc_style_decoder --dim 288 --layers 6 --heads 6 --vocab 32000 --context 256 --tokens 200
//
// Prints one JSON line: {"tokens_per_s": .., "weight_gb_per_s": .., "threads": ..}.
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    int dim, hidden, layers, heads, vocab, context;
} Config;

typedef struct {
    float *embedding;            // [V, C], also the classifier
    float *rms_att, *rms_ffn;    // [L, C]
    float *wq, *wk, *wv, *wo;    // [L, C, C]   (row-major [out, in])
    float *w1, *w3;              // [L, F, C]
    float *w2;                   // [L, C, F]
    float *rms_final;            // [C]
    size_t count;                // floats in the block
} Weights;

typedef struct {
    float *x, *xb, *xb2, *hb, *hb2, *q, *k, *v, *att, *logits;
    float *key_cache, *value_cache;   // [L, T, C]
} State;

static float *take(float **cursor, size_t n) { float *p = *cursor; *cursor += n; return p; }

static void random_weights(Weights *w, const Config *c) {
    size_t C = c->dim, F = c->hidden, L = c->layers, V = c->vocab;
    w->count = V * C + 2 * L * C + 4 * L * C * C + 3 * L * F * C + C;
    float *block = malloc(w->count * sizeof(float));
    if (!block) { fprintf(stderr, "out of memory\n"); exit(1); }
    uint64_t s = 0x9E3779B97F4A7C15ull;   // xorshift: small uniform weights, +-0.02
    for (size_t i = 0; i < w->count; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        block[i] = ((float)(s >> 40) / (float)(1 << 24) - 0.5f) * 0.04f;
    }
    float *p = block;
    w->embedding = take(&p, V * C);
    w->rms_att = take(&p, L * C); w->rms_ffn = take(&p, L * C);
    w->wq = take(&p, L * C * C); w->wk = take(&p, L * C * C); w->wv = take(&p, L * C * C); w->wo = take(&p, L * C * C);
    w->w1 = take(&p, L * F * C); w->w2 = take(&p, L * C * F); w->w3 = take(&p, L * F * C);
    w->rms_final = take(&p, C);
    for (size_t i = 0; i < 2 * L * C; i++) w->rms_att[i] = 1.0f;   // rms_att and rms_ffn are adjacent
    for (size_t i = 0; i < C; i++) w->rms_final[i] = 1.0f;
}

static void allocate_state(State *s, const Config *c) {
    size_t C = c->dim, F = c->hidden;
    s->x = calloc(C, sizeof(float)); s->xb = calloc(C, sizeof(float)); s->xb2 = calloc(C, sizeof(float));
    s->hb = calloc(F, sizeof(float)); s->hb2 = calloc(F, sizeof(float));
    s->q = calloc(C, sizeof(float)); s->k = calloc(C, sizeof(float)); s->v = calloc(C, sizeof(float));
    s->att = calloc((size_t)c->heads * c->context, sizeof(float));
    s->logits = calloc(c->vocab, sizeof(float));
    s->key_cache = calloc((size_t)c->layers * c->context * C, sizeof(float));
    s->value_cache = calloc((size_t)c->layers * c->context * C, sizeof(float));
}

// out = x / rms(x) * weight
static void rmsnorm(float *out, const float *x, const float *weight, int n) {
    float ss = 0;
    for (int j = 0; j < n; j++) ss += x[j] * x[j];
    ss = 1.0f / sqrtf(ss / n + 1e-5f);
    for (int j = 0; j < n; j++) out[j] = weight[j] * (ss * x[j]);
}

static void softmax(float *x, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++) if (x[i] > max) max = x[i];
    float sum = 0;
    for (int i = 0; i < n; i++) { x[i] = expf(x[i] - max); sum += x[i]; }
    for (int i = 0; i < n; i++) x[i] /= sum;
}

// out[d] = W[d, n] x[n]: a dot product per row, rows over the threads (run.c's matmul).
static void matmul(float *out, const float *x, const float *w, int n, int d) {
    int i;
    #pragma omp parallel for private(i)
    for (i = 0; i < d; i++) {
        float val = 0;
        for (int j = 0; j < n; j++) val += w[(size_t)i * n + j] * x[j];
        out[i] = val;
    }
}

static float *forward(const Config *c, const Weights *w, State *s, int token, int pos) {
    int C = c->dim, F = c->hidden, H = c->heads, hs = C / H, T = c->context;
    memcpy(s->x, w->embedding + (size_t)token * C, C * sizeof(float));
    for (int l = 0; l < c->layers; l++) {
        rmsnorm(s->xb, s->x, w->rms_att + (size_t)l * C, C);
        size_t cc = (size_t)l * C * C;
        float *k = s->key_cache + ((size_t)l * T + pos) * C, *v = s->value_cache + ((size_t)l * T + pos) * C;
        matmul(s->q, s->xb, w->wq + cc, C, C);
        matmul(k, s->xb, w->wk + cc, C, C);
        matmul(v, s->xb, w->wv + cc, C, C);
        for (int i = 0; i < C; i += 2) {   // rotary position embedding of q and k
            float freq = 1.0f / powf(10000.0f, (float)(i % hs) / (float)hs);
            float fcr = cosf(pos * freq), fci = sinf(pos * freq);
            float q0 = s->q[i], q1 = s->q[i + 1], k0 = k[i], k1 = k[i + 1];
            s->q[i] = q0 * fcr - q1 * fci; s->q[i + 1] = q0 * fci + q1 * fcr;
            k[i] = k0 * fcr - k1 * fci; k[i + 1] = k0 * fci + k1 * fcr;
        }
        int h;
        #pragma omp parallel for private(h)
        for (h = 0; h < H; h++) {
            const float *q = s->q + h * hs;
            float *att = s->att + (size_t)h * T;
            for (int t = 0; t <= pos; t++) {
                const float *kt = s->key_cache + ((size_t)l * T + t) * C + h * hs;
                float score = 0;
                for (int i = 0; i < hs; i++) score += q[i] * kt[i];
                att[t] = score / sqrtf((float)hs);
            }
            softmax(att, pos + 1);
            float *out = s->xb + h * hs;
            memset(out, 0, hs * sizeof(float));
            for (int t = 0; t <= pos; t++) {
                const float *vt = s->value_cache + ((size_t)l * T + t) * C + h * hs;
                for (int i = 0; i < hs; i++) out[i] += att[t] * vt[i];
            }
        }
        matmul(s->xb2, s->xb, w->wo + cc, C, C);
        for (int i = 0; i < C; i++) s->x[i] += s->xb2[i];
        rmsnorm(s->xb, s->x, w->rms_ffn + (size_t)l * C, C);
        size_t fc = (size_t)l * F * C;
        matmul(s->hb, s->xb, w->w1 + fc, C, F);
        matmul(s->hb2, s->xb, w->w3 + fc, C, F);
        for (int i = 0; i < F; i++) {   // SwiGLU: silu(w1 x) * (w3 x)
            float a = s->hb[i];
            s->hb[i] = a / (1.0f + expf(-a)) * s->hb2[i];
        }
        matmul(s->xb, s->hb, w->w2 + fc, F, C);
        for (int i = 0; i < C; i++) s->x[i] += s->xb[i];
    }
    rmsnorm(s->x, s->x, w->rms_final, C);
    matmul(s->logits, s->x, w->embedding, C, c->vocab);
    return s->logits;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    Config c = {288, 0, 6, 6, 32000, 256};
    int tokens = 200, repeats = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        int value = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--dim")) c.dim = value;
        else if (!strcmp(argv[i], "--hidden")) c.hidden = value;
        else if (!strcmp(argv[i], "--layers")) c.layers = value;
        else if (!strcmp(argv[i], "--heads")) c.heads = value;
        else if (!strcmp(argv[i], "--vocab")) c.vocab = value;
        else if (!strcmp(argv[i], "--context")) c.context = value;
        else if (!strcmp(argv[i], "--tokens")) tokens = value;
        else if (!strcmp(argv[i], "--repeats")) repeats = value;
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    if (c.hidden == 0) c.hidden = 8 * c.dim / 3;
    if (c.dim <= 0 || c.dim % c.heads || (c.dim / c.heads) % 2 || c.layers <= 0 || c.vocab <= 0 || c.context <= 1) {
        fprintf(stderr, "invalid shape\n");
        return 2;
    }
    if (tokens >= c.context) tokens = c.context - 1;
    Weights w;
    State s;
    random_weights(&w, &c);
    allocate_state(&s, &c);

    // Each run: token 1 at position 0, then `tokens` greedy steps; the median run is reported.
    double *rates = malloc(repeats * sizeof(double));
    for (int r = 0; r < repeats; r++) {
        int token = argmax(forward(&c, &w, &s, 1, 0), c.vocab);
        double start = now();
        for (int pos = 1; pos <= tokens; pos++) token = argmax(forward(&c, &w, &s, token, pos), c.vocab);
        rates[r] = tokens / (now() - start);
    }
    for (int i = 1; i < repeats; i++)   // insertion sort for the median
        for (int j = i; j > 0 && rates[j] < rates[j - 1]; j--) { double t = rates[j]; rates[j] = rates[j - 1]; rates[j - 1] = t; }
    double median = rates[repeats / 2];
    // Weights read per token: every matrix once (the norms are negligible).
    double matrix_floats = (double)c.vocab * c.dim + (double)c.layers * (4.0 * c.dim * c.dim + 3.0 * c.hidden * c.dim);
    printf("{\"tokens_per_s\": %.1f, \"weight_gb_per_s\": %.1f, \"threads\": %d}\n", median,
           median * matrix_floats * 4 / 1e9, omp_get_max_threads());
    return 0;
}
