/* Banded resampling of 8x8-block DCT coefficients: the compiled kernel of
 * jpeg_deep.data.transforms.classification_dct.apply_plans (which uses numpy products where this module was
 * not built).
 *
 *   out[I, J, 8 U + V] = sum_{a, u, b, v} R[I, U, 8 a + u] * C[J, V, 8 b + v]
 *                                         * in[rs[I] + a, cs[J] + b, 8 u + v]
 *
 * `in` is one component on the reader's layout (h, w, 64), int16 or float32; blocks outside it
 * count as zeros. R (nr, 8, 8 kr) and rs (nr,) are the vertical operator (output block row I
 * reads input block rows rs[I] .. rs[I] + kr - 1); CT (nc, 8 kc, 8) and cs (nc,) are the
 * horizontal one, transposed (CT[J, 8 b + v, V] = C[J, V, 8 b + v]). rsub / csub (n, 2) int64
 * are each output block's nonzero sub-bands [first, last + 1) (derived once per cached plan).
 * out is (nr, nc, 64) float32, its blocks 64 contiguous floats at one stride (64: the whole
 * array C-contiguous; more: a slot of a batch array holding several components per block
 * position); the other arrays C-contiguous.
 *
 * Per output block row I, the vertical pass makes the 8 x 8 blocks T[j] (rows U, columns v) of
 * every input block column j the horizontal operator reads; the horizontal pass then makes the
 * row's output blocks from their kc blocks of T. Both are sums of (scalar x 8-wide row)
 * products into 8 x 8 accumulators held in vector registers. The AVX-512 build keeps 16 such
 * rows in flight, so that each multiply-add does not wait for the previous one on the same
 * accumulator: the vertical pass does two block columns of T at a time (sharing the scalars of
 * R), and output block rows go two at a time, the horizontal pass making both rows' block J
 * together (sharing each loaded row of C).
 *
 * Terms that only add zeros are skipped: all-zero sub-bands (an output block that reads fewer
 * than k input blocks); in the vertical pass, the rows of a block past its last nonzero row
 * (most high vertical frequencies of a JPEG block are zero); in the horizontal pass, the
 * columns of T past the last nonzero column of the input blocks it comes from. A first pass
 * over the input blocks the plans read finds both counts for each block (a few vector
 * instructions per block: zero tests, one mask bit per coefficient). The scalars of R are read
 * from a copy of R[I] transposed once per output row (the 8 of a term are then consecutive);
 * the horizontal pass lists the terms of all of a row's output blocks before it sums them, so
 * that the summing loops run back to back. The sums run in the order of the numpy path's
 * products (its results were identical on the benchmark photos; the tests allow float32
 * rounding).
 *
 * One source, two builds chosen at run time on x86-64: AVX2 + FMA (16 vector registers: one
 * block column of T, one output row at a time), and AVX-512 with BW (32 registers). Elsewhere,
 * and where the processor has neither, variant() is "none" and the caller uses numpy (a build
 * for 128-bit registers spills the accumulators and is slower than numpy).
 * JPEG_DEEP_KERNEL=avx2 caps the choice, JPEG_DEEP_KERNEL=numpy turns the kernel off. Plain C
 * (GCC / Clang vector extensions, x86 intrinsics) and the CPython API only: buffers by the
 * buffer protocol. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_banded_api.h"

typedef struct {
    const void *in;
    Py_ssize_t h, w;         /* input blocks */
    const int64_t *rs;
    const float *r;
    Py_ssize_t nr, kr;
    const int64_t *cs;
    const float *ct;
    Py_ssize_t nc, kc;
    float *out;
    Py_ssize_t ostride;      /* floats from one output block to the next (64: contiguous) */
    Py_ssize_t c_lo, ncol;   /* the input block columns the plans read */
    Py_ssize_t r_lo, nrow;   /* ... and rows */
    const int64_t *rsub;     /* (nr, 2): output block row I's nonzero sub-bands a in [.., ..) */
    const int64_t *csub;     /* (nc, 2): the same for output block column J */
    /* scratch */
    uint8_t *used;           /* (nrow, ncol): rows read | columns read << 4 (0: outside) */
    float *t;                /* (2, ncol, 64): T of two output block rows */
    uint8_t *tcols;          /* (2, ncol): the columns of each block of T that may be nonzero */
    float *rt;               /* (8 kr, 2, 8): R[I] transposed, twice (see vertical) */
    int32_t *tof, *cof;      /* (8 kc nc + 8): a row's horizontal terms: T and C offsets */
    int32_t *first;          /* (nc + 1): output block column J's terms first[J] .. */
} job_t;

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define X86_BUILDS 1
#include <immintrin.h>

/* 8 floats: one row of a block, one AVX register */
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

/* Inlined into the builds below, which add to these instruction sets */
#define INLINE static inline __attribute__((always_inline, target("avx2,fma")))

INLINE v8f load_float(const float *p)
{
    v8f x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* Row of 8 coefficients at element i of the input, as floats */
INLINE v8f load_row(const void *in, Py_ssize_t i, int in_float)
{
    if (in_float) return load_float((const float *)in + i);
    const __m128i x = _mm_loadu_si128((const __m128i *)((const int16_t *)in + i));
    return (v8f)_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(x));
}

/* The 8 rows of an 8 x 8 accumulator to p, one store per register (a copy of the whole array,
 * which GCC merges into 64-byte moves, goes through the stack) */
INLINE void store_block(float *p, const v8f *acc)
{
    for (int U = 0; U < 8; U++) memcpy(p + 8 * U, &acc[U], sizeof acc[U]);
}

/* Rows and columns of a block read (one past the last nonzero one, 0 for none), as
 * rows | columns << 4, from m: bit 8 u + v set where coefficient (u, v) is nonzero */
INLINE unsigned used_of_mask(uint64_t m)
{
    unsigned c = (unsigned)(m | m >> 32); /* bit v: column v has a nonzero coefficient */
    c |= c >> 16;
    c = (c | c >> 8) & 0xff;
    return (m ? (71 - __builtin_clzll(m)) / 8 : 0) | (31 - __builtin_clz(c << 1 | 1)) << 4;
}

INLINE unsigned used_int16(const int16_t *blk)
{
    /* int16 -> int8 with saturation keeps zero / nonzero; the pack interleaves the 128-bit
     * lanes (rows 0, 2, 1, 3), the permute puts the rows back in order */
    const __m256i *p = (const __m256i *)blk;
    const __m256i zero = _mm256_setzero_si256();
    const __m256i lo = _mm256_permute4x64_epi64(
        _mm256_packs_epi16(_mm256_loadu_si256(p), _mm256_loadu_si256(p + 1)), 0xd8);
    const __m256i hi = _mm256_permute4x64_epi64(
        _mm256_packs_epi16(_mm256_loadu_si256(p + 2), _mm256_loadu_si256(p + 3)), 0xd8);
    return used_of_mask((uint32_t)~_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, zero))
                        | (uint64_t)(uint32_t)~_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, zero))
                              << 32);
}

INLINE unsigned used_float(const float *blk)
{
    uint64_t m = 0;
    for (int u = 0; u < 8; u++) { /* the bits of -0.0 count as nonzero: it is read */
        const __m256i x = _mm256_loadu_si256((const __m256i *)(blk + 8 * u));
        const __m256 z = _mm256_castsi256_ps(_mm256_cmpeq_epi32(x, _mm256_setzero_si256()));
        m |= (uint64_t)(~_mm256_movemask_ps(z) & 0xff) << 8 * u;
    }
    return used_of_mask(m);
}

/* job->used of every input block the plans read; USED(in, b): that of the block at element b */
#define DEFINE_ROWS_USED(NAME, ATTR, USED)                                                   \
    ATTR static void NAME(const job_t *job)                                                  \
    {                                                                                        \
        const Py_ssize_t ncol = job->ncol, c_lo = job->c_lo, w = job->w;                     \
        const Py_ssize_t j0 = c_lo < 0 ? -c_lo : 0, j1 = c_lo + ncol > w ? w - c_lo : ncol;  \
        const void *in = job->in;                                                            \
        for (Py_ssize_t i = 0; i < job->nrow; i++) {                                         \
            const Py_ssize_t row = job->r_lo + i;                                            \
            uint8_t *used = job->used + i * ncol;                                            \
            memset(used, 0, ncol); /* outside the input */                                   \
            if (row < 0 || row >= job->h) continue;                                          \
            for (Py_ssize_t j = j0, b = 64 * (row * w + c_lo + j0); j < j1; j++, b += 64)    \
                used[j] = (uint8_t)USED(in, b);                                              \
        }                                                                                    \
    }

#define USED_INT16(in, b) used_int16((const int16_t *)(in) + (b))
#define USED_FLOAT(in, b) used_float((const float *)(in) + (b))
#define USED_INT16_BW(in, b)                                                                 \
    used_of_mask(_mm512_test_epi16_mask(_mm512_loadu_si512((const int16_t *)(in) + (b)),    \
                                        _mm512_set1_epi16(-1))                               \
                 | (uint64_t)_mm512_test_epi16_mask(                                         \
                       _mm512_loadu_si512((const int16_t *)(in) + (b) + 32),                \
                       _mm512_set1_epi16(-1)) << 32)

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw")))
DEFINE_ROWS_USED(rows_used_int16, AVX2, USED_INT16)
DEFINE_ROWS_USED(rows_used_float, AVX2, USED_FLOAT)
DEFINE_ROWS_USED(rows_used_int16_bw, AVX512, USED_INT16_BW)

/* Vertical pass of output block row I: the blocks T of every input block column into t (and
 * the columns of each that may be nonzero into tcols); PAIR: two block columns at a time (where
 * both are inside the input). The scalars of R come from a transposed copy (rt[16 y + U] =
 * R[I, U, y]), made twice over (rt[16 y + 8 + U]) so that each multiply-add of a pair reads its
 * own: a broadcast operand of an AVX-512 multiply-add costs no vector instruction, one
 * broadcast shared by two does. */
INLINE void vertical(const job_t *job, Py_ssize_t I, float *t, uint8_t *tcols, int in_float,
                     int pair)
{
    const Py_ssize_t kr8 = 8 * job->kr, ncol = job->ncol, c_lo = job->c_lo, w = job->w;
    const Py_ssize_t a0 = job->rsub[2 * I], a1 = job->rsub[2 * I + 1], i0 = job->rs[I];
    const float *r = job->r + 8 * kr8 * I;
    const uint8_t *used = job->used + (i0 - job->r_lo) * ncol;
    const void *in = job->in;
    float *rt = job->rt;
    for (Py_ssize_t y = 8 * a0; y < 8 * a1; y++)
        for (int U = 0; U < 8; U++) rt[16 * y + U] = rt[16 * y + 8 + U] = r[U * kr8 + y];
    for (Py_ssize_t j = 0; j < ncol;) {
        const Py_ssize_t col = c_lo + j;
        const int two = pair && j + 1 < ncol && col >= 0 && col + 1 < w;
        v8f acc[8] = {0}, acd[8] = {0}; /* block columns j and j + 1 */
        unsigned tc = 0, td = 0;
        if (two) {
            for (Py_ssize_t a = a0; a < a1; a++) {
                const unsigned x = used[a * ncol + j], y = used[a * ncol + j + 1];
                const unsigned n = (x & 15) > (y & 15) ? x & 15 : y & 15; /* rows past a    */
                const Py_ssize_t e = 64 * ((i0 + a) * w + col);           /* block's n: 0s */
                const float *ra = rt + 128 * a;
                tc = x >> 4 > tc ? x >> 4 : tc;
                td = y >> 4 > td ? y >> 4 : td;
                for (unsigned u = 0; u < n; u++) {
                    const v8f p = load_row(in, e + 8 * u, in_float);
                    const v8f q = load_row(in, e + 64 + 8 * u, in_float);
                    for (int U = 0; U < 8; U++) {
                        acc[U] += ra[16 * u + U] * p;
                        acd[U] += ra[16 * u + 8 + U] * q;
                    }
                }
            }
            store_block(t + 64 * (j + 1), acd);
            tcols[j + 1] = (uint8_t)td;
        } else {
            for (Py_ssize_t a = a0; a < a1; a++) {
                const unsigned x = used[a * ncol + j];
                const Py_ssize_t e = 64 * ((i0 + a) * w + col);
                const float *ra = rt + 128 * a;
                tc = x >> 4 > tc ? x >> 4 : tc;
                for (unsigned u = 0; u < (x & 15); u++) {
                    const v8f p = load_row(in, e + 8 * u, in_float);
                    for (int U = 0; U < 8; U++) acc[U] += ra[16 * u + U] * p;
                }
            }
        }
        store_block(t + 64 * j, acc);
        tcols[j] = (uint8_t)tc;
        j += 1 + two;
    }
}

/* Horizontal pass of output block row I from the T blocks in job->t (ROWS2: and of row I + 1
 * from those of the second half, sharing the loads of C). */
INLINE void horizontal(const job_t *job, Py_ssize_t I, int rows2)
{
    const Py_ssize_t nc = job->nc, kc = job->kc, c_lo = job->c_lo, ncol = job->ncol;
    const float *t = job->t, *tk = job->t + 64 * ncol, *ct = job->ct;
    const uint8_t *tcols = job->tcols;
    int32_t *tof = job->tof, *cof = job->cof, *first = job->first;
    const Py_ssize_t os = job->ostride;
    float *out = job->out + os * nc * I;
    Py_ssize_t cnt = 0;
    for (Py_ssize_t J = 0; J < nc; J++) { /* terms (b, v): T[U, v] of block cs[J] + b, C[J] */
        const Py_ssize_t jb = job->cs[J] - c_lo;
        first[J] = (int32_t)cnt;
        for (Py_ssize_t b = job->csub[2 * J]; b < job->csub[2 * J + 1]; b++) {
            const unsigned x = tcols[jb + b], y = rows2 ? tcols[ncol + jb + b] : 0;
            const v8i v = {0, 1, 2, 3, 4, 5, 6, 7}; /* all 8 written, the first x or y kept */
            const v8i to = v + (int32_t)(64 * (jb + b));
            const v8i co = 8 * v + (int32_t)(64 * (kc * J + b));
            memcpy(tof + cnt, &to, sizeof to);
            memcpy(cof + cnt, &co, sizeof co);
            cnt += x > y ? x : y;
        }
    }
    first[nc] = (int32_t)cnt;
    for (Py_ssize_t J = 0; J < nc; J++) {
        v8f acc[8] = {0}, acd[8] = {0}; /* rows I and I + 1 */
        const Py_ssize_t k1 = first[J + 1];
        if (rows2) {
            for (Py_ssize_t k = first[J]; k < k1; k++) {
                const v8f c = load_float(ct + cof[k]);
                const float *tv = t + tof[k], *tw = tk + tof[k];
                for (int U = 0; U < 8; U++) {
                    acc[U] += tv[8 * U] * c;
                    acd[U] += tw[8 * U] * c;
                }
            }
        } else {
            for (Py_ssize_t k = first[J]; k < k1; k++) {
                const v8f c = load_float(ct + cof[k]);
                const float *tv = t + tof[k];
                for (int U = 0; U < 8; U++) acc[U] += tv[8 * U] * c;
            }
        }
        store_block(out + os * J, acc);
        if (rows2) store_block(out + os * (nc + J), acd);
    }
}

/* PAIR: two block columns of T, two output rows at a time */
INLINE void run(const job_t *job, int in_float, int pair)
{
    const Py_ssize_t ncol = job->ncol;
    for (Py_ssize_t I = 0; I < job->nr; I++) {
        const int rows2 = pair && I + 1 < job->nr;
        vertical(job, I, job->t, job->tcols, in_float, pair);
        if (rows2) vertical(job, I + 1, job->t + 64 * ncol, job->tcols + ncol, in_float, pair);
        horizontal(job, I, rows2);
        I += rows2;
    }
}

AVX2 static void run_avx2(const job_t *job, int in_float)
{
    if (in_float) {
        rows_used_float(job);
        run(job, 1, 0);
    } else {
        rows_used_int16(job);
        run(job, 0, 0);
    }
}

AVX512 static void run_avx512(const job_t *job, int in_float)
{
    if (in_float) {
        rows_used_float(job);
        run(job, 1, 1);
    } else {
        rows_used_int16_bw(job);
        run(job, 0, 1);
    }
}
#endif

typedef void (*run_fn)(const job_t *, int);

static run_fn chosen = NULL;
static const char *chosen_name = NULL;

/* The build for this processor, or none (chosen_name "none"): without 8-wide vector registers
 * the 8 x 8 accumulators spill, and the numpy path is faster. */
static void choose(void)
{
    if (chosen_name) return;
    chosen_name = "none";
#ifdef X86_BUILDS
    const char *cap = getenv("JPEG_DEEP_KERNEL");
    if (cap && strcmp(cap, "numpy") == 0) return;
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return;
    chosen = run_avx2;
    chosen_name = "avx2";
    if (cap && strcmp(cap, "avx2") == 0) return;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw")) {
        chosen = run_avx512;
        chosen_name = "avx512";
    }
#endif
}

static int check(int ok, const char *what)
{
    if (!ok) PyErr_SetString(PyExc_ValueError, what);
    return ok;
}

/* The input blocks that n output blocks read (k from each start): *lo and the count. */
static Py_ssize_t span(const int64_t *start, Py_ssize_t n, Py_ssize_t k, Py_ssize_t *lo)
{
    Py_ssize_t hi = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i == 0 || start[i] < *lo) *lo = start[i];
        if (i == 0 || start[i] + k > hi) hi = start[i] + k;
    }
    return n ? hi - *lo : 0;
}

/* out (nr, nc, 64) float32, blocks ostride floats apart, = rows @ in (h, w, 64) @ cols.T.
 * 0; -1: out of memory; -2: no build for this processor; -3: too many output blocks in a
 * row. No Python API: callable without the GIL. */
static int kernel_apply(const void *in, int in_float, Py_ssize_t h, Py_ssize_t w,
                        const plan_t *rows, const plan_t *cols, float *out, Py_ssize_t ostride)
{
    const Py_ssize_t nr = rows->n, nc = cols->n, kr = rows->k, kc = cols->k;
    job_t job = {in, h, w, rows->start, rows->band, nr, kr, cols->start, cols->band, nc, kc,
                 out};
    job.ostride = ostride;
    job.rsub = rows->sub;
    job.csub = cols->sub;
    job.ncol = span(job.cs, nc, kc, &job.c_lo);
    job.nrow = span(job.rs, nr, kr, &job.r_lo);
    /* the horizontal pass's term offsets are int32 */
    if (64 * (kc * nc + job.ncol) >= INT32_MAX) return -3;
    choose();
    if (chosen == NULL) return -2;
    /* one allocation: floats first (32-byte aligned rows), then int32, then bytes */
    const size_t n_t = 2 * 64 * (size_t)job.ncol, n_rt = 128 * (size_t)kr;
    const size_t n_terms = 8 * (size_t)kc * nc + 8;
    void *scratch = malloc(32 + sizeof(float) * (n_t + n_rt)
                           + sizeof(int32_t) * (2 * n_terms + nc + 1)
                           + (size_t)job.nrow * job.ncol + 2 * (size_t)job.ncol);
    if (!scratch) return -1;
    job.t = (float *)(((uintptr_t)scratch + 31) & ~(uintptr_t)31);
    job.rt = job.t + n_t;
    job.tof = (int32_t *)(job.rt + n_rt);
    job.cof = job.tof + n_terms;
    job.first = job.cof + n_terms;
    job.used = (uint8_t *)(job.first + nc + 1);
    job.tcols = job.used + job.nrow * job.ncol;
    chosen(&job, in_float);
    free(scratch);
    return 0;
}

static const char *const kernel_errors[] = {
    "", "out of memory", "no build of the kernel for this processor (variant() is 'none')",
    "too many output blocks in a row"};

static PyObject *apply(PyObject *self, PyObject *args)
{
    Py_buffer in, rs, r, rsub, cs, ct, csub, out = {0};
    PyObject *out_obj;
    int in_float;
    Py_ssize_t h, w, kr, kc;
    if (!PyArg_ParseTuple(args, "y*pnny*y*ny*y*y*ny*O", &in, &in_float, &h, &w, &rs, &r, &kr,
                          &rsub, &cs, &ct, &kc, &csub, &out_obj))
        return NULL;
    PyObject *result = NULL;
    const Py_ssize_t nr = rs.len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t nc = cs.len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t item = in_float ? 4 : 2;
    /* out: (nr, nc, 64) float32 whose blocks are 64 contiguous floats at one stride (a slot of
     * a batch array whose last axis holds several components, e.g. Cb and Cr side by side) */
    if (PyObject_GetBuffer(out_obj, &out, PyBUF_WRITABLE | PyBUF_STRIDES | PyBUF_FORMAT) < 0)
        goto done;
    const int out_ok = out.ndim == 3 && out.itemsize == 4 && out.format != NULL
                       && strcmp(out.format, "f") == 0 && out.shape[0] == nr
                       && out.shape[1] == nc && out.shape[2] == 64 && out.strides[2] == 4
                       && out.strides[1] >= 256 && out.strides[1] % 4 == 0
                       && out.strides[0] == nc * out.strides[1];
    if (!check(h >= 0 && w >= 0 && in.len == h * w * 64 * item, "input is not (h, w, 64)")
        || !check(kr > 0 && r.len == nr * 64 * kr * 4, "row band is not (nr, 8, 8 kr) float32")
        || !check(kc > 0 && ct.len == nc * 64 * kc * 4, "column band is not (nc, 8 kc, 8)")
        || !check(rsub.len == nr * 16 && csub.len == nc * 16, "sub-bands are not (n, 2) int64")
        || !check(out_ok, "output is not (nr, nc, 64) float32 with contiguous blocks at one "
                          "stride"))
        goto done;
    const plan_t rows = {rs.buf, r.buf, rsub.buf, nr, kr}, cols = {cs.buf, ct.buf, csub.buf, nc, kc};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = kernel_apply(in.buf, in_float, h, w, &rows, &cols, out.buf, out.strides[1] / 4);
    Py_END_ALLOW_THREADS
    if (rc == -1)
        PyErr_NoMemory();
    else if (rc < 0)
        PyErr_SetString(PyExc_ValueError, kernel_errors[-rc]);
    else
        result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&in);
    PyBuffer_Release(&rs);
    PyBuffer_Release(&r);
    PyBuffer_Release(&rsub);
    PyBuffer_Release(&cs);
    PyBuffer_Release(&ct);
    PyBuffer_Release(&csub);
    if (out.obj != NULL)
        PyBuffer_Release(&out);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * Building an axis operator from the taps of its pixel matrix (output pixel q = sum over t
 * of w[q, t] * input pixel cols[q, t]; rows past n_out repeat the last one, as an encoder pads
 * a block). Output block I reads input blocks start[I] .. start[I] + k - 1 and its band is
 * D @ P_I @ blockdiag(D.T, ..., D.T), P_I the (8, 8k) slice of the pixel matrix, D the 8-point
 * DCT matrix (passed in: jpeg_deep.dct holds its one definition). The same operator as the
 * numpy builder of jpeg_deep.data.transforms.classification_dct (float64 sums, float32 result), in
 * microseconds rather than a fraction of a millisecond: what a dataset of many image sizes
 * pays for each new size. */

typedef double v4d __attribute__((vector_size(32)));

static void linear_tap(Py_ssize_t q, double scale, Py_ssize_t size, int64_t c[2], double w[2])
{
    const double fx = ((double)q + 0.5) * scale - 0.5;
    int64_t x = (int64_t)fx; /* floor: fx is small, truncation then one step down */
    if ((double)x > fx) x--;
    double f = fx - (double)x;
    if (x < 0) {
        f = 0.0;
        x = 0;
    }
    if (x >= size - 1) {
        f = 0.0;
        x = size - 1;
    }
    c[0] = x;
    c[1] = x + 1 < size - 1 ? x + 1 : size - 1;
    w[0] = 1.0 - f;
    w[1] = f;
}

/* The bands of the taps (cols, w: n_out x T) for the given starts: (nb_out, 8, 8k), or in
 * the kernel's form: output blocks in reverse order with odd output frequencies negated
 * (flip: a horizontal flip of whole blocks), transposed to (nb_out, 8k, 8) (transpose: the
 * second pass's form), and each output block's nonzero sub-bands [first, last + 1) of its k
 * input blocks in sub (when not NULL; [0, 0) for none). -1 when a tap falls outside its
 * block's band. */
typedef float v4f __attribute__((vector_size(16)));

static inline void store_v8(float *o, v4d lo, v4d hi)
{
    const v4f l = __builtin_convertvector(lo, v4f), h = __builtin_convertvector(hi, v4f);
    memcpy(o, &l, sizeof l);
    memcpy(o + 4, &h, sizeof h);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
static int fill_bands(const int64_t *c, const double *wt, Py_ssize_t n_out, Py_ssize_t ntaps,
                      const int64_t *st, Py_ssize_t k, const double *dm, float *out,
                      double *dp, int flip, int transpose, int64_t *sub)
{
    /* dp holds (D @ P_I) transposed: row x (an input pixel of the band) = 8 output
     * frequencies U, as two 4-lane vectors; used[a]: input block a of the band has a tap */
    const Py_ssize_t nb_out = (n_out + 7) / 8, k8 = 8 * k;
    v4d dcol[8][2], sign[2]; /* column r of D (D[0..7][r]) as two 4-lane vectors */
    for (int r = 0; r < 8; r++)
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 4; j++)
                dcol[r][h][j] = dm[8 * (4 * h + j) + r];
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 4; j++)
            sign[h][j] = flip && (j & 1) ? -1.0 : 1.0; /* lanes U = 4 h + j: odd ones */
    unsigned char used[k > 0 ? k : 1];
    v4d *dpv = (v4d *)dp;
    for (Py_ssize_t I = 0; I < nb_out; I++) {
        memset(dp, 0, sizeof(double) * 8 * k8);
        memset(used, 0, (size_t)k);
        for (Py_ssize_t r = 0; r < 8; r++) { /* D @ P_I, a tap at a time */
            const Py_ssize_t q = 8 * I + r < n_out ? 8 * I + r : n_out - 1;
            for (Py_ssize_t t = 0; t < ntaps; t++) {
                const double x = wt[q * ntaps + t];
                const int64_t col = c[q * ntaps + t] - 8 * st[I];
                if (x == 0.0) continue;
                if (col < 0 || col >= k8) return -1;
                dpv[2 * col] += x * dcol[r][0];
                dpv[2 * col + 1] += x * dcol[r][1];
                used[col / 8] = 1;
            }
        }
        float *o = out + (flip ? nb_out - 1 - I : I) * 8 * k8;
        Py_ssize_t first = -1, last = -1;
        for (Py_ssize_t a = 0; a < k; a++) { /* @ blockdiag(D.T): columns (a, u) */
            if (!used[a]) {
                for (int U = 0; U < 8; U++)
                    memset(transpose ? o + 64 * a + 8 * U : o + U * k8 + 8 * a, 0,
                           8 * sizeof(float));
                continue;
            }
            if (first < 0) first = a;
            last = a;
            const v4d *seg = dpv + 2 * 8 * a; /* rows v = 0..7 of block a */
            if (transpose) { /* row (a, u) of the (8k, 8) form: sum_v D[u][v] dp[U][8a + v] */
                for (int u = 0; u < 8; u++) {
                    v4d lo = {0.0, 0.0, 0.0, 0.0}, hi = lo;
                    for (int v = 0; v < 8; v++) {
                        const double d = dm[8 * u + v];
                        lo += d * seg[2 * v];
                        hi += d * seg[2 * v + 1];
                    }
                    store_v8(o + 64 * a + 8 * u, lo * sign[0], hi * sign[1]);
                }
            } else { /* row U, columns (a, u): sum_v dp[U][8a + v] D[u][v] */
                for (int U = 0; U < 8; U++) {
                    v4d lo = {0.0, 0.0, 0.0, 0.0}, hi = lo;
                    for (int v = 0; v < 8; v++) {
                        const double x = seg[2 * v + (U >> 2)][U & 3];
                        lo += x * dcol[v][0];
                        hi += x * dcol[v][1];
                    }
                    const double sg = flip && (U & 1) ? -1.0 : 1.0;
                    store_v8(o + U * k8 + 8 * a, sg * lo, sg * hi);
                }
            }
        }
        if (sub != NULL) {
            int64_t *sb = sub + 2 * (flip ? nb_out - 1 - I : I);
            sb[0] = first < 0 ? 0 : first;
            sb[1] = first < 0 ? 0 : last + 1;
        }
    }
    return 0;
}

/* The band width k in blocks (the widest span of nonzero taps of an output block, at most
 * nb_in) and each output block's first input block st[I] (its first nonzero one, moved left
 * where the band would pass the input); rows past n_out repeat the last one. */
static Py_ssize_t band_starts(const int64_t *c, const double *wt, Py_ssize_t n_out,
                              Py_ssize_t ntaps, Py_ssize_t nb_in, int64_t *st)
{
    const Py_ssize_t nb_out = (n_out + 7) / 8;
    Py_ssize_t k = 1;
    for (Py_ssize_t I = 0; I < nb_out; I++) {
        int64_t first = -1, last = -1;
        for (Py_ssize_t r = 0; r < 8; r++) {
            const Py_ssize_t q = 8 * I + r < n_out ? 8 * I + r : n_out - 1;
            for (Py_ssize_t t = 0; t < ntaps; t++)
                if (wt[q * ntaps + t] != 0.0) {
                    const int64_t b = c[q * ntaps + t] / 8;
                    if (first < 0 || b < first) first = b;
                    if (b > last) last = b;
                }
        }
        st[I] = first < 0 ? 0 : first;
        if (first >= 0 && last - first + 1 > k) k = last - first + 1;
    }
    if (k > nb_in) k = nb_in;
    for (Py_ssize_t I = 0; I < nb_out; I++)
        if (st[I] > nb_in - k) st[I] = nb_in - k;
    return k;
}

static int taps_args(PyObject *args, Py_buffer *cols, Py_buffer *w, Py_ssize_t *n_out,
                     Py_ssize_t *ntaps, Py_ssize_t *nb_in, Py_buffer *start, int fill,
                     Py_ssize_t *k, Py_buffer *d, Py_buffer *band)
{
    int ok = fill ? PyArg_ParseTuple(args, "y*y*nnny*ny*w*", cols, w, n_out, ntaps, nb_in, start,
                                     k, d, band)
                  : PyArg_ParseTuple(args, "y*y*nnnw*", cols, w, n_out, ntaps, nb_in, start);
    if (!ok) return 0;
    const Py_ssize_t nb_out = (*n_out + 7) / 8;
    if (check(*n_out > 0 && *ntaps > 0 && *nb_in > 0
                  && cols->len == *n_out * *ntaps * (Py_ssize_t)sizeof(int64_t)
                  && w->len == *n_out * *ntaps * (Py_ssize_t)sizeof(double),
              "taps are not (n_out, T) int64 / float64")
        && check(start->len == nb_out * (Py_ssize_t)sizeof(int64_t), "start is not (nb_out,)")
        && (!fill || (check(*k > 0 && *k <= *nb_in && d->len == 64 * (Py_ssize_t)sizeof(double),
                            "bad k or DCT matrix")
                      && check(band->len == nb_out * 64 * *k * (Py_ssize_t)sizeof(float),
                               "band is not (nb_out, 8, 8k) float32"))))
        return 1;
    PyBuffer_Release(cols);
    PyBuffer_Release(w);
    PyBuffer_Release(start);
    if (fill) {
        PyBuffer_Release(d);
        PyBuffer_Release(band);
    }
    return 0;
}

/* band_start(cols, w, n_out, T, nb_in, start_out) -> k: the band width in blocks (the widest
 * span of nonzero taps of an output block, at most nb_in) and each output block's first
 * input block (its first nonzero one, moved left where the band would pass the input). */
static PyObject *band_start(PyObject *self, PyObject *args)
{
    Py_buffer cols, w, start;
    Py_ssize_t n_out, ntaps, nb_in;
    if (!taps_args(args, &cols, &w, &n_out, &ntaps, &nb_in, &start, 0, NULL, NULL, NULL))
        return NULL;
    const Py_ssize_t k = band_starts(cols.buf, w.buf, n_out, ntaps, nb_in, start.buf);
    PyBuffer_Release(&cols);
    PyBuffer_Release(&w);
    PyBuffer_Release(&start);
    return PyLong_FromSsize_t(k);
}

/* band_fill(cols, w, n_out, T, nb_in, start, k, d, band_out): the (nb_out, 8, 8k) bands. */
static PyObject *band_fill(PyObject *self, PyObject *args)
{
    Py_buffer cols, w, start, d, band;
    Py_ssize_t n_out, ntaps, nb_in, k;
    if (!taps_args(args, &cols, &w, &n_out, &ntaps, &nb_in, &start, 1, &k, &d, &band))
        return NULL;
    const int64_t *c = cols.buf, *st = start.buf;
    PyObject *result = NULL;
    double *p = aligned_alloc(32, sizeof(double) * 8 * 8 * k); /* D @ P_I, 32-byte rows */
    if (!p) {
        PyErr_NoMemory();
        goto done;
    }
    if (fill_bands(c, w.buf, n_out, ntaps, st, k, d.buf, band.buf, p, 0, 0, NULL) != 0) {
        PyErr_SetString(PyExc_ValueError, "a tap falls outside its block's band");
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    free(p);
    PyBuffer_Release(&cols);
    PyBuffer_Release(&w);
    PyBuffer_Release(&start);
    PyBuffer_Release(&d);
    PyBuffer_Release(&band);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * window_plan: a crop's or window's axis plan in the kernel's form, built in one call from
 * the geometry (what a training sample needs: a new crop offset, a random-resized-crop window,
 * a new image size), with no cache. The taps are cv2 INTER_LINEAR's
 * (jpeg_deep.dct.axis.linear_taps: half-pixel centres, the edge pixel outside the image) of
 * the input pixels top .. top + size - 1 resized to n_res pixels, of which output pixels
 * o0 .. o0 + n - 1 are kept; chroma: those resized pixels read the chroma plane upsampled 2x
 * (the same taps, ceil(n_in / 2) -> 2 ceil(n_in / 2)), then pairs are averaged (the 2:1 box of
 * a 4:2:0 encoder): the taps and products of classification_dct._window_taps / _phase_taps,
 * in the same order. Then band_start, the bands (D @ P_I: a sum over the taps, not a dense
 * product; @ blockdiag(D.T): 4-lane float64 products, all-zero segments skipped, as
 * band_fill), then flipped (output blocks reversed, odd output frequencies negated: a
 * horizontal flip of whole blocks) and transposed to (n, 8k, 8) as asked (the second pass's
 * form), with each output block's nonzero sub-bands [first, last + 1) of its k input blocks. */

/* The geometry's taps and band starts (cols, w: n_out x T; st: nb_out); 0, -1 (bad
 * geometry), -2 (out of memory). The caller frees cols, w and st. */
typedef struct {
    int64_t *cols, *st;
    double *w;
    Py_ssize_t T, n_out, nb_out, k;
} taps_t;

static int window_taps(Py_ssize_t n_in, Py_ssize_t top, Py_ssize_t size, Py_ssize_t n_res,
                       Py_ssize_t o0, Py_ssize_t n, int chroma, taps_t *tp)
{
    const Py_ssize_t unit = chroma ? 16 : 8, T = chroma ? 8 : 2;
    memset(tp, 0, sizeof *tp);
    if (!(n_in > 0 && size > 0 && top >= 0 && top + size <= n_in && n_res > 0 && o0 >= 0
          && n > 0 && o0 + n <= n_res && n % unit == 0))
        return -1;
    const Py_ssize_t n_out = chroma ? n / 2 : n, nb_out = n_out / 8;
    int64_t *cols = malloc(sizeof(int64_t) * n_out * T), *st = malloc(sizeof(int64_t) * nb_out);
    double *w = malloc(sizeof(double) * n_out * T);
    *tp = (taps_t){cols, st, w, T, n_out, nb_out, 0};
    if (!cols || !w || !st) return -2;
    const double scale = (double)size / (double)n_res;
    const Py_ssize_t cn = (n_in + 1) / 2;                    /* chroma pixels of the axis */
    const Py_ssize_t nb_in = ((chroma ? cn : n_in) + 7) / 8; /* its input blocks */
    for (Py_ssize_t q = 0; q < n; q++) {
        int64_t rc[2];
        double rw[2];
        linear_tap(o0 + q, scale, size, rc, rw);
        rc[0] += top;
        rc[1] += top;
        if (!chroma) {
            cols[2 * q] = rc[0], cols[2 * q + 1] = rc[1];
            w[2 * q] = rw[0], w[2 * q + 1] = rw[1];
            continue;
        }
        /* output chroma pixel q / 2, taps 4 (q % 2) .. + 3: (t, s) for resize tap t, upsample s */
        Py_ssize_t base = 4 * q;
        for (int t = 0; t < 2; t++) {
            int64_t uc[2];
            double uw[2];
            linear_tap(rc[t], (double)cn / (double)(2 * cn), cn, uc, uw);
            for (int s2 = 0; s2 < 2; s2++) {
                cols[base + 2 * t + s2] = uc[s2];
                w[base + 2 * t + s2] = 0.5 * (rw[t] * uw[s2]);
            }
        }
    }
    tp->k = band_starts(cols, w, n_out, T, nb_in, st);
    return 0;
}

/* The bands of window_taps' taps in the kernel's form (band: nb_out x 8k x 8 floats, sub:
 * nb_out x 2), the starts flipped with them; 0, -1 (a tap outside its band), -2 (memory). */
static int window_fill(taps_t *tp, int flip, int transpose, const double *d, float *band,
                       int64_t *sub)
{
    double *dp = aligned_alloc(32, sizeof(double) * 64 * tp->k); /* 32-byte rows */
    if (!dp) return -2;
    const int rc = fill_bands(tp->cols, tp->w, tp->n_out, tp->T, tp->st, tp->k, d, band, dp,
                              flip, transpose, sub);
    free(dp);
    if (rc != 0) return -1;
    if (flip) /* the starts in the order of the flipped blocks */
        for (Py_ssize_t i = 0, j = tp->nb_out - 1; i < j; i++, j--) {
            const int64_t t = tp->st[i];
            tp->st[i] = tp->st[j];
            tp->st[j] = t;
        }
    return 0;
}

static void taps_free(taps_t *tp)
{
    free(tp->cols);
    free(tp->w);
    free(tp->st);
}

static const char *const plan_errors[] = {"", "window_plan: bad geometry (or n not whole blocks)",
                                          "out of memory"};

static PyObject *window_plan(PyObject *self, PyObject *args)
{
    Py_ssize_t n_in, top, size, n_res, o0, n;
    int chroma, flip, transpose;
    Py_buffer d;
    if (!PyArg_ParseTuple(args, "nnnnnnpppy*", &n_in, &top, &size, &n_res, &o0, &n, &chroma,
                          &flip, &transpose, &d))
        return NULL;
    PyObject *result = NULL, *start_b = NULL, *band_b = NULL, *sub_b = NULL;
    taps_t tp;
    int rc = d.len == 64 * (Py_ssize_t)sizeof(double)
                 ? window_taps(n_in, top, size, n_res, o0, n, chroma, &tp)
                 : (memset(&tp, 0, sizeof tp), -1);
    if (rc != 0) {
        if (rc == -2) PyErr_NoMemory();
        else PyErr_SetString(PyExc_ValueError, plan_errors[1]);
        goto done;
    }
    const Py_ssize_t nb_out = tp.nb_out, k8 = 8 * tp.k;
    start_b = PyBytes_FromStringAndSize(NULL, nb_out * (Py_ssize_t)sizeof(int64_t));
    band_b = PyBytes_FromStringAndSize(NULL, nb_out * 8 * k8 * (Py_ssize_t)sizeof(float));
    sub_b = PyBytes_FromStringAndSize(NULL, nb_out * 2 * (Py_ssize_t)sizeof(int64_t));
    if (!start_b || !band_b || !sub_b) goto done;
    rc = window_fill(&tp, flip, transpose, d.buf, (float *)PyBytes_AS_STRING(band_b),
                     (int64_t *)PyBytes_AS_STRING(sub_b));
    if (rc != 0) {
        if (rc == -2) PyErr_NoMemory();
        else PyErr_SetString(PyExc_ValueError, "a tap falls outside its block's band");
        goto done;
    }
    memcpy(PyBytes_AS_STRING(start_b), tp.st, nb_out * sizeof(int64_t));
    result = Py_BuildValue("(OOOn)", start_b, band_b, sub_b, tp.k);
done:
    Py_XDECREF(start_b);
    Py_XDECREF(band_b);
    Py_XDECREF(sub_b);
    taps_free(&tp);
    PyBuffer_Release(&d);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * The plans of the reader's one-call training path (_jpegread.read_crop), in C: built by
 * window_taps / window_fill (the plans window_plan returns, the same numbers) for input pixels
 * top .. top + size - 1 resized to n_res, output pixels o0 .. o0 + n - 1 kept, chroma / flip /
 * transpose as asked. A crop's plans (the whole axis resized, a few hundred offsets per image
 * size) are cached by their geometry; a random-resized crop's (a new window every sample) are
 * built for the sample alone (5-6 us each). At most CACHE_PLANS plans are kept (5-60 KB each:
 * ~60 MB at most, reached only on datasets of many image sizes); when full, the cache is
 * emptied (plans in use live on by their reference counts). Called with the GIL held, which
 * guards the cache. */

#define CACHE_PLANS 1024
#define CACHE_SLOTS 2048 /* open addressing, a power of two */
static cached_plan *cache[CACHE_SLOTS];
static Py_ssize_t cache_count;
static uint64_t cache_stats[2]; /* hits, builds */

static void plan_release(cached_plan *p)
{
    if (p && --p->refs == 0) free(p);
}

static uint64_t key_hash(const int64_t key[PLAN_KEY])
{
    uint64_t h = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < PLAN_KEY; i++) {
        h ^= (uint64_t)key[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    return h;
}

static void cache_clear(void)
{
    for (Py_ssize_t i = 0; i < CACHE_SLOTS; i++) {
        plan_release(cache[i]);
        cache[i] = NULL;
    }
    cache_count = 0;
}

/* A plan in one allocation (the struct, starts, sub-bands, then the band, 64-byte aligned),
 * with one reference; NULL and *error = -1 (bad geometry, a tap outside its band) or -2
 * (memory). */
static cached_plan *plan_build(const int64_t key[PLAN_KEY], const double *d, int *error)
{
    taps_t tp;
    int rc = window_taps(key[0], key[1], key[2], key[3], key[4], key[5], (int)key[6], &tp);
    cached_plan *p = NULL;
    if (rc == 0) {
        const Py_ssize_t nb = tp.nb_out;
        const size_t head = (sizeof(cached_plan) + 16 * nb * sizeof(int64_t) + 63) & ~(size_t)63;
        p = aligned_alloc(64, head + ((sizeof(float) * 64 * tp.k * nb + 63) & ~(size_t)63));
        if (!p) rc = -2;
        else {
            int64_t *start = (int64_t *)(p + 1), *sub = start + nb;
            float *band = (float *)((char *)p + head);
            rc = window_fill(&tp, (int)key[7], (int)key[8], d, band, sub);
            memcpy(start, tp.st, nb * sizeof(int64_t));
            p->plan = (plan_t){start, band, sub, nb, tp.k};
            memcpy(p->key, key, sizeof p->key);
            p->refs = 1;
        }
    }
    taps_free(&tp);
    if (rc != 0) {
        free(p);
        *error = rc;
        return NULL;
    }
    cache_stats[1]++;
    return p;
}

/* The plan of that geometry with a reference for the caller (plan_release it), from the cache
 * or built (and kept there when `keep`); NULL: *error < 0 (see plan_build). */
static cached_plan *plan_get(Py_ssize_t n_in, Py_ssize_t top, Py_ssize_t size, Py_ssize_t n_res,
                             Py_ssize_t o0, Py_ssize_t n, int chroma, int flip, int transpose,
                             int keep, const double *d, int *error)
{
    const int64_t key[PLAN_KEY] = {n_in, top, size, n_res, o0, n, chroma, flip, transpose};
    if (!keep) return plan_build(key, d, error);
    Py_ssize_t slot = (Py_ssize_t)(key_hash(key) & (CACHE_SLOTS - 1));
    for (; cache[slot] != NULL; slot = (slot + 1) & (CACHE_SLOTS - 1))
        if (memcmp(cache[slot]->key, key, sizeof key) == 0) {
            cache_stats[0]++;
            cache[slot]->refs++;
            return cache[slot];
        }
    cached_plan *p = plan_build(key, d, error);
    if (p == NULL) return NULL;
    if (cache_count >= CACHE_PLANS) {
        cache_clear();
        slot = (Py_ssize_t)(key_hash(key) & (CACHE_SLOTS - 1));
    }
    cache[slot] = p; /* the cache's reference */
    cache_count++;
    p->refs++;       /* the caller's */
    return p;
}

/* cache_info() -> (plans, hits, builds); cache_clear(): empty it (benchmarks' cold passes) */
static PyObject *py_cache_info(PyObject *self, PyObject *noargs)
{
    return Py_BuildValue("(nKK)", cache_count, (unsigned long long)cache_stats[0],
                         (unsigned long long)cache_stats[1]);
}

static PyObject *py_cache_clear(PyObject *self, PyObject *noargs)
{
    cache_clear();
    Py_RETURN_NONE;
}

/* What _jpegread uses (through the capsule jpeg_deep._banded._C_API). */
static const banded_api api = {BANDED_API_VERSION, plan_get, plan_release, kernel_apply};

static PyObject *variant(PyObject *self, PyObject *noargs)
{
    choose();
    return PyUnicode_FromString(chosen_name);
}

static PyMethodDef methods[] = {
    {"apply", apply, METH_VARARGS,
     "apply(in, in_float, h, w, rs, r, kr, rsub, cs, ct, kc, csub, out): "
     "out[I, J] = R[I] @ in @ C[J].T "
     "on 8x8 blocks (see the source's header)."},
    {"band_start", band_start, METH_VARARGS,
     "band_start(cols, w, n_out, T, nb_in, start_out) -> k (see the source)."},
    {"band_fill", band_fill, METH_VARARGS,
     "band_fill(cols, w, n_out, T, nb_in, start, k, d, band_out) (see the source)."},
    {"window_plan", window_plan, METH_VARARGS,
     "window_plan(n_in, top, size, n_res, o0, n, chroma, flip, transpose, d) -> "
     "(start, band, sub, k) (see the source)."},
    {"variant", variant, METH_NOARGS, "The build in use: 'avx512', 'avx2' or 'none'."},
    {"cache_info", py_cache_info, METH_NOARGS,
     "cache_info() -> (plans, hits, builds) of the crop-plan cache of _jpegread.read_crop."},
    {"cache_clear", py_cache_clear, METH_NOARGS, "cache_clear(): empty the crop-plan cache."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_banded",
                                    "Compiled banded resampling of 8x8-block DCT coefficients.",
                                    -1, methods};

PyMODINIT_FUNC PyInit__banded(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    PyObject *capsule = PyCapsule_New((void *)&api, "jpeg_deep._banded._C_API", NULL);
    if (capsule == NULL || PyModule_AddObject(m, "_C_API", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
