/* Banded resampling of 8x8-block DCT coefficients: the compiled kernel of
 * jpeg_deep.data.dct_transforms.apply_plans (which uses numpy products where this module was
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
 * out is (nr, nc, 64) float32, all C-contiguous.
 *
 * For each output block row I, the vertical pass makes the 8 x 8 blocks T[j] (rows U, columns
 * v) of every input block column j the horizontal operator reads, then the horizontal pass
 * makes each output block from its kc blocks of T. Both are sums of (scalar x 8-wide row)
 * products into 8 x 8 accumulators that the compiler keeps in vector registers; the vertical
 * pass does two block columns at a time (AVX-512 build), sharing the scalars. Skipped, as they
 * add zeros: the rows of a block past its last nonzero row (most high vertical frequencies of
 * a JPEG block are zero) and all-zero sub-bands (an output block that reads fewer than k input
 * blocks). The sums run in the order of the numpy path's products (its results were identical
 * on the benchmark photos; the tests allow float32 rounding).
 *
 * One source, two builds chosen at run time on x86-64: AVX2 + FMA (one block column at a time:
 * 16 vector registers), and AVX-512 (32: the two-column pass does not spill). Elsewhere, and where the processor has
 * neither, variant() is "none" and the caller uses numpy (a build for 128-bit registers spills
 * the accumulators and is slower than numpy). JPEG_DEEP_KERNEL=avx2 caps the choice,
 * JPEG_DEEP_KERNEL=numpy turns the kernel off. Plain C and the CPython API only: buffers by
 * the buffer protocol. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    float *t;                /* scratch: ncol blocks of T, from input block column c_lo on */
    Py_ssize_t c_lo, ncol;
    const int64_t *rsub;     /* (nr, 2): output block row I's nonzero sub-bands a in [.., ..) */
    const int64_t *csub;     /* (nc, 2): the same for output block column J */
    uint8_t *used;           /* rows read from each input block (0: none, or outside) */
    Py_ssize_t r_lo, nrow;   /* ... of input block rows r_lo .. r_lo + nrow - 1 */
} job_t;

/* 8 floats: one row of a block, one AVX register */
typedef float v8f __attribute__((vector_size(32)));
typedef int16_t v8s __attribute__((vector_size(16)));

#define INLINE static inline __attribute__((always_inline))

INLINE v8f load_int16(const int16_t *p)
{
    v8s x;
    memcpy(&x, p, sizeof x);
    return __builtin_convertvector(x, v8f);
}

INLINE v8f load_float(const float *p)
{
    v8f x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* Horizontal pass of output block row I, from the T blocks in job->t. */
INLINE void horizontal(const job_t *job, Py_ssize_t I)
{
    for (Py_ssize_t J = 0; J < job->nc; J++) {
        v8f acc[8] = {0};
        const float *tj = job->t + 64 * (job->cs[J] - job->c_lo);
        const float *ct = job->ct + 64 * job->kc * J;
        for (Py_ssize_t b = job->csub[2 * J]; b < job->csub[2 * J + 1]; b++)
            for (int v = 0; v < 8; v++) {
                const v8f w = load_float(ct + 8 * (8 * b + v));
                const float *tv = tj + 64 * b + v;
                for (int U = 0; U < 8; U++) acc[U] += tv[8 * U] * w;
            }
        memcpy(job->out + 64 * (I * job->nc + J), acc, sizeof acc);
    }
}

/* Rows of 8 coefficients read from each block: one past its last nonzero row (the high
 * vertical frequencies of a JPEG block are mostly zero: about a third of the rows at quality
 * 90, half at 75), for the input blocks the plans read, into job->used. */
#define DEFINE_ROWS_USED(NAME, IN_T, NONZERO)                                                \
    INLINE void NAME(const job_t *job, const IN_T *in)                                       \
    {                                                                                        \
        for (Py_ssize_t i = 0; i < job->nrow; i++)                                           \
            for (Py_ssize_t j = 0; j < job->ncol; j++) {                                     \
                const Py_ssize_t row = job->r_lo + i, col = job->c_lo + j;                   \
                int n = 0;                                                                   \
                if (row >= 0 && row < job->h && col >= 0 && col < job->w) {                 \
                    const IN_T *blk = in + 64 * (row * job->w + col);                        \
                    for (int u = 0; u < 8; u++)                                              \
                        n = NONZERO(blk + 8 * u) ? u + 1 : n;                                \
                }                                                                            \
                job->used[i * job->ncol + j] = (uint8_t)n;                                   \
            }                                                                                \
    }

INLINE int nonzero_int16(const int16_t *p)
{
    uint64_t x[2];
    memcpy(x, p, sizeof x);
    return (x[0] | x[1]) != 0;
}

INLINE int nonzero_float(const float *p)
{
    int nz = 0;
    for (int v = 0; v < 8; v++) nz |= p[v] != 0.0f;
    return nz;
}

DEFINE_ROWS_USED(rows_used_int16, int16_t, nonzero_int16)
DEFINE_ROWS_USED(rows_used_float, float, nonzero_float)

/* Vertical pass then horizontal pass, for an input of element type IN_T read by LOAD; PAIR:
 * two block columns at a time (where there are registers for 32 rows of 8). */
#define DEFINE_RUN(NAME, IN_T, LOAD, USED, PAIR)                                             \
    INLINE void NAME(const job_t *job)                                                       \
    {                                                                                        \
        const IN_T *in = (const IN_T *)job->in;                                              \
        const Py_ssize_t kr8 = 8 * job->kr;                                                  \
        USED(job, in);                                                                       \
        for (Py_ssize_t I = 0; I < job->nr; I++) {                                           \
            const float *r = job->r + 8 * kr8 * I;                                           \
            for (Py_ssize_t j = 0; j < job->ncol; j += 1 + PAIR) {                           \
                v8f acc[8] = {0}, acd[8] = {0}; /* block columns j and j + 1 */              \
                const Py_ssize_t col = job->c_lo + j;                                        \
                const int two = PAIR && j + 1 < job->ncol;                                   \
                for (Py_ssize_t a = job->rsub[2 * I]; a < job->rsub[2 * I + 1]; a++) {       \
                    const Py_ssize_t i = job->rs[I] + a;                                     \
                    const uint8_t *n = job->used + (i - job->r_lo) * job->ncol + j;          \
                    const IN_T *blk = in + 64 * (i * job->w + col);                          \
                    const float *ra = r + 8 * a;                                             \
                    if (two) {                                                               \
                        for (int u = 0; u < (n[0] > n[1] ? n[0] : n[1]); u++) {              \
                            const v8f x = u < n[0] ? LOAD(blk + 8 * u) : (v8f){0};           \
                            const v8f y = u < n[1] ? LOAD(blk + 64 + 8 * u) : (v8f){0};      \
                            for (int U = 0; U < 8; U++) {                                    \
                                const float s = ra[U * kr8 + u];                             \
                                acc[U] += s * x;                                             \
                                acd[U] += s * y;                                             \
                            }                                                                \
                        }                                                                    \
                    } else {                                                                 \
                        for (int u = 0; u < n[0]; u++) {                                     \
                            const v8f x = LOAD(blk + 8 * u);                                 \
                            for (int U = 0; U < 8; U++) acc[U] += ra[U * kr8 + u] * x;       \
                        }                                                                    \
                    }                                                                        \
                }                                                                            \
                memcpy(job->t + 64 * j, acc, sizeof acc);                                    \
                if (two) memcpy(job->t + 64 * (j + 1), acd, sizeof acd);                     \
            }                                                                                \
            horizontal(job, I);                                                              \
        }                                                                                    \
    }

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define X86_BUILDS 1
DEFINE_RUN(run_int16, int16_t, load_int16, rows_used_int16, 0)
DEFINE_RUN(run_float, float, load_float, rows_used_float, 0)
DEFINE_RUN(run_int16_pairs, int16_t, load_int16, rows_used_int16, 1)
DEFINE_RUN(run_float_pairs, float, load_float, rows_used_float, 1)

#define DEFINE_VARIANT(NAME, ATTR, PAIRS)                                                    \
    ATTR static void NAME(const job_t *job, int in_float)                                    \
    {                                                                                        \
        if (in_float)                                                                        \
            PAIRS ? run_float_pairs(job) : run_float(job);                                   \
        else                                                                                 \
            PAIRS ? run_int16_pairs(job) : run_int16(job);                                   \
    }

DEFINE_VARIANT(run_avx2, __attribute__((target("avx2,fma"))), 0)
DEFINE_VARIANT(run_avx512, __attribute__((target("avx2,fma,avx512f,avx512vl"))), 1)
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
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) {
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

static PyObject *apply(PyObject *self, PyObject *args)
{
    Py_buffer in, rs, r, rsub, cs, ct, csub, out;
    int in_float;
    Py_ssize_t h, w, kr, kc;
    if (!PyArg_ParseTuple(args, "y*pnny*y*ny*y*y*ny*w*", &in, &in_float, &h, &w, &rs, &r, &kr,
                          &rsub, &cs, &ct, &kc, &csub, &out))
        return NULL;
    PyObject *result = NULL;
    float *t = NULL;
    uint8_t *used = NULL;
    const Py_ssize_t nr = rs.len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t nc = cs.len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t item = in_float ? 4 : 2;
    if (!check(h >= 0 && w >= 0 && in.len == h * w * 64 * item, "input is not (h, w, 64)")
        || !check(kr > 0 && r.len == nr * 64 * kr * 4, "row band is not (nr, 8, 8 kr) float32")
        || !check(kc > 0 && ct.len == nc * 64 * kc * 4, "column band is not (nc, 8 kc, 8)")
        || !check(rsub.len == nr * 16 && csub.len == nc * 16, "sub-bands are not (n, 2) int64")
        || !check(out.len == nr * nc * 64 * 4, "output is not (nr, nc, 64) float32"))
        goto done;
    job_t job = {in.buf, h, w, rs.buf, r.buf, nr, kr, cs.buf, ct.buf, nc, kc, out.buf};
    job.rsub = rsub.buf;
    job.csub = csub.buf;
    job.ncol = span(job.cs, nc, kc, &job.c_lo);
    job.nrow = span(job.rs, nr, kr, &job.r_lo);
    t = malloc(sizeof(float) * 64 * (job.ncol + 1));
    used = malloc(job.nrow * job.ncol + 1);
    if (!t || !used) {
        PyErr_NoMemory();
        goto done;
    }
    job.t = t;
    job.used = used;
    choose();
    if (!check(chosen != NULL, "no build of the kernel for this processor (variant() is 'none')"))
        goto done;
    Py_BEGIN_ALLOW_THREADS
    chosen(&job, in_float);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(t);
    free(used);
    PyBuffer_Release(&in);
    PyBuffer_Release(&rs);
    PyBuffer_Release(&r);
    PyBuffer_Release(&cs);
    PyBuffer_Release(&ct);
    PyBuffer_Release(&out);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * Building an axis operator from the taps of its pixel matrix (output pixel q = sum over t
 * of w[q, t] * input pixel cols[q, t]; rows past n_out repeat the last one, as an encoder pads
 * a block). Output block I reads input blocks start[I] .. start[I] + k - 1 and its band is
 * D @ P_I @ blockdiag(D.T, ..., D.T), P_I the (8, 8k) slice of the pixel matrix, D the 8-point
 * DCT matrix (passed in: jpeg_deep.dct holds its one definition). The same operator as the
 * numpy builder of jpeg_deep.data.dct_transforms (float64 sums, float32 result), in
 * microseconds rather than a fraction of a millisecond: what a dataset of many image sizes
 * pays for each new size. */

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
    const int64_t *c = cols.buf;
    const double *wt = w.buf;
    int64_t *st = start.buf;
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
    const double *wt = w.buf, *dm = d.buf;
    float *out = band.buf;
    const Py_ssize_t nb_out = (n_out + 7) / 8, k8 = 8 * k;
    PyObject *result = NULL;
    double *p = malloc(sizeof(double) * 2 * 8 * k8); /* P_I, then D @ P_I */
    if (!p) {
        PyErr_NoMemory();
        goto done;
    }
    double *dp = p + 8 * k8;
    for (Py_ssize_t I = 0; I < nb_out; I++) {
        memset(p, 0, sizeof(double) * 8 * k8);
        for (Py_ssize_t r = 0; r < 8; r++) {
            const Py_ssize_t q = 8 * I + r < n_out ? 8 * I + r : n_out - 1;
            for (Py_ssize_t t = 0; t < ntaps; t++) {
                const double x = wt[q * ntaps + t];
                const int64_t col = c[q * ntaps + t] - 8 * st[I];
                if (x == 0.0) continue;
                if (col < 0 || col >= k8) {
                    PyErr_SetString(PyExc_ValueError, "a tap falls outside its block's band");
                    goto done;
                }
                p[r * k8 + col] += x;
            }
        }
        for (int U = 0; U < 8; U++)           /* D @ P_I */
            for (Py_ssize_t x = 0; x < k8; x++) {
                double s = 0.0;
                for (int r = 0; r < 8; r++) s += dm[8 * U + r] * p[r * k8 + x];
                dp[U * k8 + x] = s;
            }
        for (int U = 0; U < 8; U++)           /* @ blockdiag(D.T): column (a, u) */
            for (Py_ssize_t a = 0; a < k; a++)
                for (int u = 0; u < 8; u++) {
                    double s = 0.0;
                    for (int x = 0; x < 8; x++) s += dp[U * k8 + 8 * a + x] * dm[8 * u + x];
                    out[(8 * I + U) * k8 + 8 * a + u] = (float)s;
                }
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
    {"variant", variant, METH_NOARGS, "The build in use: 'avx512', 'avx2' or 'none'."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_banded",
                                    "Compiled banded resampling of 8x8-block DCT coefficients.",
                                    -1, methods};

PyMODINIT_FUNC PyInit__banded(void) { return PyModule_Create(&module); }
