/* The C interface of jpeg_deep/_banded.c that jpeg_deep/_jpegread.c uses, through the capsule
 * jpeg_deep._banded._C_API: cached crop plans and the kernel on raw buffers. Include after
 * Python.h. */
#ifndef JPEG_DEEP_BANDED_API_H
#define JPEG_DEEP_BANDED_API_H
#include <stdint.h>

#define BANDED_API_VERSION 1

/* An axis plan in the kernel's form (KernelPlan in jpeg_deep/dct/banded.py): output block I
 * reads input blocks start[I] .. start[I] + k - 1 with band[I] ((8, 8k); (8k, 8) transposed
 * for the second pass), sub[I] its nonzero sub-bands [first, last + 1). */
typedef struct {
    const int64_t *start;
    const float *band;
    const int64_t *sub;
    Py_ssize_t n, k;
} plan_t;

/* A plan with its geometry (n_in, top, size, n_res, o0, n, chroma, flip, transpose),
 * reference counted (under the GIL). */
#define PLAN_KEY 9
typedef struct cached_plan {
    plan_t plan;
    int64_t key[PLAN_KEY];
    long refs;
} cached_plan;

typedef struct {
    int version;
    /* The plan of an axis (with a reference; NULL and *error < 0 on failure): input pixels
     * top .. top + size - 1 of n_in resized to n_res, pixels o0 .. o0 + n - 1 kept, chroma /
     * flip / transpose as in _banded.window_plan; kept in the cache when `keep`. GIL held. */
    cached_plan *(*plan_get)(Py_ssize_t n_in, Py_ssize_t top, Py_ssize_t size, Py_ssize_t n_res,
                             Py_ssize_t o0, Py_ssize_t n, int chroma, int flip, int transpose,
                             int keep, const double *d, int *error);
    void (*plan_release)(cached_plan *p); /* GIL held; NULL is fine */
    /* out (rows.n, cols.n, 64) float32, blocks ostride floats apart = rows @ in (h, w, 64,
     * int16 or float32) @ cols.T; 0, or -1 (memory), -2 (no build for this processor), -3
     * (too many output blocks in a row). No GIL needed. */
    int (*kernel_apply)(const void *in, int in_float, Py_ssize_t h, Py_ssize_t w,
                        const plan_t *rows, const plan_t *cols, float *out, Py_ssize_t ostride);
} banded_api;
#endif
