/* The "libjpeg" coefficient reader of jpeg_deep.codec.readers: entropy decoding by
 * libjpeg-turbo, no inverse DCT, no colour conversion, no upsampling; the stored integers of
 * each row of blocks are dequantised and written in the reader's layout (block rows, block
 * columns, 64 coefficients in natural row-major frequency order: libjpeg's own JBLOCK order)
 * as soon as the row is decoded, while they are in the cache (rows_job). A single-scan
 * sequential file is decoded in raw mode (decode_raw: jpeg_read_raw_data with libjpeg's
 * decoder writing each MCU into a ring of block rows, no whole-image coefficient array);
 * progressive and multi-scan files by jpeg_read_coefficients, written once they are read.
 * Also read_crop (further down): a DCT-domain training / validation sample in one call, with
 * the kernel of _banded.c.
 *
 *   read(data, max_pixels, stop_rows, max_scans[, vertical, horizontal, k, checked])
 *       -> (width, height, components, progressive, stopped, warnings, first_warning,
 *           ((buffer, rows, cols, hs, vs), ...))
 *
 * checked: the caller has not run readers.inspect_jpeg; the reader makes its checks itself
 * (takes_file: 8-bit, 1 or 3 components, an end-of-image marker after the scan, a subsampling
 * it brings to 4:2:0) and returns None for a file that fails them (the caller then goes the
 * way that names the problem); vertical / horizontal then come from the header, and k must
 * be given.
 *
 * Each buffer is a bytearray of rows * cols * 64 int16, dequantised and saturated to int16.
 * vertical / horizontal: the chroma of a 3-component file whose chroma factors are 1 x 1 is
 * brought to the 4:2:0 grid along those axes (4:4:4: both; 4:2:2: vertical; 4:4:0:
 * horizontal) with k, the (8, 16) float64 halving operator, in the same pass that dequantises
 * it (see halve below); rows and cols are then the halved component's.
 * stop_rows > 0 asks for the first stop_rows *pixel* rows only: once every iMCU row that
 * covers them is decoded, the rest of the scan is not entropy-decoded (its blocks are zero).
 * That is only done for a single-scan sequential file (baseline or extended Huffman, every
 * component in the first scan): a progressive file, or a sequential one with a scan per
 * component, is always decoded whole. Restart markers are fine (raw mode stops calling
 * jpeg_read_raw_data; with raw mode off the decoder meets an end-of-image marker where the
 * stop is, and may still have written a few blocks of the next row from the bits it had).
 *
 *   read_crop(...): see its comment.
 *   uniforms(seed, n): numpy's default_rng(seed).random(n), as read_crop draws (for the tests).
 *   entropy_decode(data[, raw]) -> None: the floor of a coefficient reader for the benchmarks
 *       (header + jpeg_read_coefficients, nothing else; raw: a single-scan file entropy-decoded
 *       in raw mode, each MCU left in libjpeg's MCU buffer).
 *   raw_mode([on[, fail_check]]) -> bool: whether raw mode is used (set it first).
 *   version() -> int: LIBJPEG_TURBO_VERSION_NUMBER (0 if not libjpeg-turbo).
 *
 * The files are untrusted. libjpeg's errors go through our error manager (longjmp, never
 * exit()), its warnings are counted and the first one kept (never printed: output_message
 * does nothing), and the data source never reads past the buffer (its end reads as an
 * end-of-image marker, as jpeg_mem_src does, and counts as a warning). Bounds, checked before
 * any coefficient memory is allocated: the frame's width x height <= max_pixels, and at most
 * max_scans scans (a progressive file can otherwise declare thousands of tiny scans, each a
 * pass over the whole coefficient array). The coefficient memory is then at most 6 bytes per
 * pixel in libjpeg (4:4:4: three int16 planes; raw mode: a few block rows) plus as much again
 * for the output buffers.
 * The GIL is released while libjpeg works. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "_banded_api.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif

_Static_assert(sizeof(JCOEF) == sizeof(int16_t), "libjpeg built with 16-bit coefficients");

typedef struct source_mgr source_mgr;

/* Progress monitor: the scan limit and the early stop (called before each iMCU row). */
typedef struct {
    struct jpeg_progress_mgr pub;
    source_mgr *src;
    long stop_imcu; /* iMCU rows to decode; 0: all */
    int max_scans;
    int stopped;
    /* called before each iMCU row of a single-scan sequential file with the number of iMCU
     * rows decoded so far (final: the rows of those are dequantised while in cache) */
    void (*rows_done)(j_decompress_ptr cinfo, void *arg, long imcu_rows);
    void *arg;
} progress_mgr;

/* ---------------------------------------------------------------------------------------- */
/* Errors and warnings: never exit(), never stderr. */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64];
    long warnings;
    char first_warning[JMSG_LENGTH_MAX];
} error_mgr;

static void on_error_exit(j_common_ptr cinfo)
{
    error_mgr *err = (error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level)
{
    error_mgr *err = (error_mgr *)cinfo->err;
    if (level >= 0)
        return; /* trace messages */
    if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->progress != NULL
        && ((progress_mgr *)((j_decompress_ptr)cinfo)->progress)->stopped)
        return; /* the end of data we made when stopping early */
    if (err->warnings++ == 0)
        (*cinfo->err->format_message)(cinfo, err->first_warning);
    cinfo->err->num_warnings++;
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* ---------------------------------------------------------------------------------------- */
/* Data source: the whole file in memory; its end (or an early stop) reads as EOI. */

static const JOCTET fake_eoi[2] = {0xFF, JPEG_EOI};

struct source_mgr {
    struct jpeg_source_mgr pub;
    int stopped; /* the decoder was asked to stop: reaching the end is no warning */
    const JOCTET *data; /* the whole file */
    size_t len;
};

static void src_init(j_decompress_ptr cinfo) { (void)cinfo; }

static boolean src_fill(j_decompress_ptr cinfo)
{
    source_mgr *src = (source_mgr *)cinfo->src;
    if (!src->stopped)
        WARNMS(cinfo, JWRN_JPEG_EOF);
    src->pub.next_input_byte = fake_eoi;
    src->pub.bytes_in_buffer = 2;
    return TRUE;
}

static void src_skip(j_decompress_ptr cinfo, long n)
{
    struct jpeg_source_mgr *src = cinfo->src;
    if (n <= 0)
        return;
    while (n > (long)src->bytes_in_buffer) {
        n -= (long)src->bytes_in_buffer;
        (void)(*src->fill_input_buffer)(cinfo);
    }
    src->next_input_byte += n;
    src->bytes_in_buffer -= (size_t)n;
}

static void src_term(j_decompress_ptr cinfo) { (void)cinfo; }

/* ---------------------------------------------------------------------------------------- */
static void on_progress(j_common_ptr common)
{
    j_decompress_ptr cinfo = (j_decompress_ptr)common;
    progress_mgr *p = (progress_mgr *)cinfo->progress;
    if (cinfo->input_scan_number > p->max_scans) {
        error_mgr *err = (error_mgr *)cinfo->err;
        snprintf(err->message, sizeof err->message,
                 "more than %d scans (a progressive file this reader refuses to decode)",
                 p->max_scans);
        longjmp(err->jump, 1);
    }
    const int single_scan = !cinfo->progressive_mode && cinfo->input_scan_number == 1
                            && cinfo->comps_in_scan == cinfo->num_components;
    if (single_scan && p->rows_done != NULL && !p->stopped)
        p->rows_done(cinfo, p->arg, (long)cinfo->input_iMCU_row);
    if (p->stop_imcu > 0 && !p->stopped && single_scan
        && (long)cinfo->input_iMCU_row >= p->stop_imcu
        && cinfo->input_iMCU_row < cinfo->total_iMCU_rows) {
        p->stopped = 1;
        p->src->stopped = 1;
        p->src->pub.bytes_in_buffer = 0; /* the next read meets our end-of-image marker */
    }
}

/* ---------------------------------------------------------------------------------------- */

typedef struct {
    struct jpeg_decompress_struct cinfo; /* first: a j_common_ptr is a decoder_t pointer */
    error_mgr err;
    source_mgr src;
    progress_mgr progress;
    /* the coefficient arrays as libjpeg's coefficient controller requests them (one per
     * component, in order), to read rows while the file is being decoded */
    jvirt_barray_ptr (*request_barray)(j_common_ptr, int, boolean, JDIMENSION, JDIMENSION,
                                       JDIMENSION);
    jvirt_barray_ptr arrays[MAX_COMPONENTS];
    int narrays;
    /* raw mode (see decode_raw): each component's last depth[c] block rows of stride[c]
     * blocks (in libjpeg's image pool), libjpeg's decode_mcu, the MCUs decoded in the current
     * iMCU row, where each block of an MCU goes (base + MCU column x step), and the sample rows
     * jpeg_read_raw_data is given (never written: no component needs an inverse DCT) */
    JCOEF *ring[MAX_COMPONENTS];
    int depth[MAX_COMPONENTS];
    JDIMENSION stride[MAX_COMPONENTS];
    boolean (*decode_mcu)(j_decompress_ptr, JBLOCKROW *);
    long imcu, mcu;
    JBLOCKROW base[D_MAX_BLOCKS_IN_MCU], ptrs[D_MAX_BLOCKS_IN_MCU];
    long step[D_MAX_BLOCKS_IN_MCU];
    JSAMPROW rows[MAX_COMPONENTS][MAX_SAMP_FACTOR * DCTSIZE];
    JSAMPARRAY planes[MAX_COMPONENTS];
} decoder_t;

static jvirt_barray_ptr capture_barray(j_common_ptr cinfo, int pool_id, boolean pre_zero,
                                       JDIMENSION blocksperrow, JDIMENSION numrows,
                                       JDIMENSION maxaccess)
{
    decoder_t *d = (decoder_t *)cinfo;
    jvirt_barray_ptr p = d->request_barray(cinfo, pool_id, pre_zero, blocksperrow, numrows,
                                           maxaccess);
    if (d->narrays < MAX_COMPONENTS)
        d->arrays[d->narrays] = p;
    d->narrays++;
    return p;
}

static void decoder_init(decoder_t *d, const void *data, Py_ssize_t len, long max_scans)
{
    memset(d, 0, sizeof *d);
    d->cinfo.err = jpeg_std_error(&d->err.pub);
    d->err.pub.error_exit = on_error_exit;
    d->err.pub.emit_message = on_emit_message;
    d->err.pub.output_message = on_output_message;
    d->src.pub.init_source = src_init;
    d->src.pub.fill_input_buffer = src_fill;
    d->src.pub.skip_input_data = src_skip;
    d->src.pub.resync_to_restart = jpeg_resync_to_restart;
    d->src.pub.term_source = src_term;
    d->src.pub.next_input_byte = d->src.data = (const JOCTET *)data;
    d->src.pub.bytes_in_buffer = d->src.len = (size_t)len;
    d->progress.pub.progress_monitor = on_progress;
    d->progress.src = &d->src;
    d->progress.max_scans = max_scans > 0 ? (int)(max_scans < INT32_MAX ? max_scans : INT32_MAX)
                                          : INT32_MAX;
}

/* jpeg_create_decompress + header; call after setjmp. Returns 0 if the frame is too large. */
static int decoder_header(decoder_t *d, unsigned long long max_pixels)
{
    jpeg_create_decompress(&d->cinfo);
    d->cinfo.src = &d->src.pub;
    d->cinfo.progress = &d->progress.pub;
    d->request_barray = d->cinfo.mem->request_virt_barray;
    d->cinfo.mem->request_virt_barray = capture_barray;
    jpeg_read_header(&d->cinfo, TRUE);
    if (max_pixels
        && (unsigned long long)d->cinfo.image_width * d->cinfo.image_height > max_pixels) {
        snprintf(d->err.message, sizeof d->err.message,
                 "the frame declares %ux%u pixels, more than the reader's limit of %llu",
                 (unsigned)d->cinfo.image_width, (unsigned)d->cinfo.image_height, max_pixels);
        return 0;
    }
    return 1;
}

/* Whether a file's scan is followed by an end-of-image marker (readers.inspect_jpeg's check:
 * searched from the end) */
static int has_eoi_after(const unsigned char *p, const unsigned char *end)
{
    for (const unsigned char *q = end - 2; q >= p; q--)
        if (q[0] == 0xFF && q[1] == 0xD9)
            return 1;
    return 0;
}

/* After the header: whether the file is one the general path of readers.read_dct would read
 * as it is (readers.inspect_jpeg's checks: headers libjpeg read without a warning -- inspect_jpeg
 * refuses the extraneous bytes between markers libjpeg only warns about --, 8-bit, 1 or 3
 * components, an end-of-image marker after the scan; 3 components: chroma 1 x 1 and luma 1 or
 * 2 on each axis, i.e. 4:2:0 or a subsampling the reader halves), and the axes along which its
 * chroma is halved. */
static int takes_file(decoder_t *d, const void *buf, Py_ssize_t len, int *vertical,
                      int *horizontal)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    const int ncomp = ci->num_components;
    int ok = d->err.warnings == 0 && ci->data_precision == 8 && (ncomp == 1 || ncomp == 3)
             && ci->image_width > 0
             && ci->image_height > 0
             && has_eoi_after(d->src.pub.next_input_byte, (const unsigned char *)buf + len);
    *vertical = *horizontal = 0;
    if (ok && ncomp == 3) {
        const int hy = ci->comp_info[0].h_samp_factor, vy = ci->comp_info[0].v_samp_factor;
        for (int c = 1; c < 3; c++)
            ok &= ci->comp_info[c].h_samp_factor == 1 && ci->comp_info[c].v_samp_factor == 1;
        ok &= (hy == 1 || hy == 2) && (vy == 1 || vy == 2);
        *vertical = vy == 1;
        *horizontal = hy == 1;
    }
    return ok;
}

/* decoder_header without the GIL, its errors caught: 1, or 0 with d->err.message set.
 * *created: jpeg_create_decompress ran (jpeg_destroy_decompress is then due). */
static int header_nogil(decoder_t *d, unsigned long long max_pixels, volatile int *created)
{
    volatile int ok = 0;
    Py_BEGIN_ALLOW_THREADS
    if (setjmp(d->err.jump) == 0) {
        *created = 1;
        ok = decoder_header(d, max_pixels);
    }
    Py_END_ALLOW_THREADS
    return ok;
}

/* Stop entropy decoding below the first stop_rows pixel rows (0: decode all; see read) */
static void decoder_stop(decoder_t *d, long stop_rows)
{
    const long unit = 8L * d->cinfo.max_v_samp_factor; /* pixel rows per iMCU row */
    d->progress.stop_imcu = stop_rows > 0 ? (stop_rows + unit - 1) / unit : 0;
}

static PyObject *read_error(const char *message)
{
    PyObject *mod = PyImport_ImportModule("jpeg_deep.codec.readers");
    if (mod == NULL)
        return NULL;
    PyObject *cls = PyObject_GetAttrString(mod, "InvalidJPEGError");
    Py_DECREF(mod);
    if (cls == NULL)
        return NULL;
    PyObject *exc = PyObject_CallFunction(cls, "ss", "<bytes>", message);
    Py_DECREF(cls);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* The halving: a chroma component brought to the 4:2:0 grid in the DCT domain. Each pair of
 * neighbouring blocks along a halved axis becomes k (8 x 16) times their 16 coefficients (a last
 * odd block is paired with itself), vertically then horizontally, in float32 on 8-lane vectors
 * (GCC / Clang vector extensions: one AVX2 register in the x86-64-v3 build, an SSE2 pair in the
 * other). k has the mirror symmetry k[a][8 + p] = (-1)^(a + p) k[a][p], so output frequency a
 * is k[a][0..7] times s_p = x0_p + (-1)^p x1_p for even a and d_p = x0_p - (-1)^p x1_p for odd
 * a, and only 35 of those 64 entries are non-zero (the even rows have one or two, column 4 is
 * zero): halving_of checks that pattern on the operator it is given (readers.py's
 * _halving_operator, exact zeros), and the loops use only those entries. Each pass works on
 * block rows held as vectors; the horizontal one on the transposes. Dequantisation is folded
 * into the loads (the stored integer times its table entry, exact in float32), so the reader
 * halves libjpeg's quantised arrays directly, with no full-size dequantised chroma copy. */
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef int16_t v8s __attribute__((vector_size(16)));

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (v8i){__VA_ARGS__})
#endif

/* The non-zero entries of k[a][p], p < 8, per output row a (checked by halving_of). */
static const int halving_nonzero[8][8] = {
    {1, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 0, 1, 1, 1}, {0, 1, 0, 0, 0, 0, 0, 1},
    {1, 1, 1, 1, 0, 1, 1, 1}, {0, 0, 1, 0, 0, 0, 1, 0}, {1, 1, 1, 1, 0, 1, 1, 1},
    {0, 0, 0, 1, 0, 1, 0, 0}, {1, 1, 1, 1, 0, 1, 1, 1}};

typedef struct {
    float k[8][8]; /* k[a][p], p < 8 */
} halving_t;

/* 0, or -1 when k (8 x 16, float64) is not the halving operator's shape: its mirror symmetry
 * and zero pattern (then the loops below would compute something else). */
static int halving_of(const double *k, halving_t *hk)
{
    for (int a = 0; a < 8; a++)
        for (int p = 0; p < 8; p++) {
            const double left = k[16 * a + p], right = k[16 * a + 8 + p];
            if ((left != 0.0) != halving_nonzero[a][p] || right != (((a + p) & 1) ? -left : left))
                return -1;
            hk->k[a][p] = (float)left;
        }
    return 0;
}

/* Row r of a block (8 coefficients along u) times its row of the quantisation table. */
static inline v8f load_row(const int16_t *b, int r, const v8f q[8])
{
    v8s v;
    memcpy(&v, b + 8 * r, sizeof v);
    return __builtin_convertvector(v, v8f) * q[r];
}

static inline void transpose(const v8f r[8], v8f out[8])
{
    v8f a[8], b[8];
    for (int i = 0; i < 8; i += 2) {
        a[i] = SHUFFLE(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        a[i + 1] = SHUFFLE(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4)
        for (int j = 0; j < 2; j++) {
            b[i + 2 * j] = SHUFFLE(a[i + j], a[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            b[i + 2 * j + 1] = SHUFFLE(a[i + j], a[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int i = 0; i < 4; i++) {
        out[i] = SHUFFLE(b[i], b[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        out[i + 4] = SHUFFLE(b[i], b[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

/* The pass: out[a] = sum_p k[a][p] (s or d)_p over the vectors x0[p], x1[p] (block rows, or
 * the transposes' rows) for p < n: n = 8, or n = 4 where rows 4..7 of x0 and x1 are zero
 * (those are then not read). Each product is added to the sum of the ones before it in the
 * order of p, one statement each, so the n = 4 pass makes exactly the n = 8 pass's sums
 * without their terms of zero (the same values, the same roundings). */
static inline __attribute__((always_inline)) void halve_pass(const halving_t *hk,
                                                             const v8f x0[8], const v8f x1[8],
                                                             v8f out[8], int n)
{
    v8f s[8], d[8];
    for (int p = 0; p < n; p++) {
        const v8f b = (p & 1) ? -x1[p] : x1[p];
        s[p] = x0[p] + b;
        d[p] = x0[p] - b;
    }
    const float(*k)[8] = hk->k;
    out[0] = k[0][0] * s[0];
    out[2] = k[2][1] * s[1];
    out[4] = k[4][2] * s[2];
    out[6] = k[6][3] * s[3];
    if (n > 4) {
        out[2] += k[2][7] * s[7];
        out[4] += k[4][6] * s[6];
        out[6] += k[6][5] * s[5];
    }
    for (int a = 1; a < 8; a += 2) {
        v8f acc = k[a][0] * d[0];
        acc += k[a][1] * d[1];
        acc += k[a][2] * d[2];
        acc += k[a][3] * d[3];
        if (n > 4) {
            acc += k[a][5] * d[5];
            acc += k[a][6] * d[6];
            acc += k[a][7] * d[7];
        }
        out[a] = acc;
    }
}

/* Rounded half to even (the float32 "magic number": exact for |x| < 2^22, and x is clamped to
 * int16 first) and saturated to int16. */
static inline void store_row(int16_t *o, v8f x)
{
    const v8f lo = {-32768.f, -32768.f, -32768.f, -32768.f, -32768.f, -32768.f, -32768.f,
                    -32768.f};
    const v8f hi = {32767.f, 32767.f, 32767.f, 32767.f, 32767.f, 32767.f, 32767.f, 32767.f};
    const v8f magic = {12582912.f, 12582912.f, 12582912.f, 12582912.f, 12582912.f, 12582912.f,
                       12582912.f, 12582912.f};
    v8i below = x < lo, above = x > hi;
    v8i xi = ((v8i)x & ~below) | ((v8i)lo & below);
    xi = (xi & ~above) | ((v8i)hi & above);
    x = (v8f)xi;
    x = (x + magic) - magic;
    const v8s r = __builtin_convertvector(__builtin_convertvector(x, v8i), v8s);
    memcpy(o, &r, sizeof r);
}

/* The second block of output block i's pair along an axis of n blocks: 2 i + 1, or 2 i
 * itself for a last odd block; i itself when the axis is not halved (the first is 2 i or i). */
static inline Py_ssize_t pair_second(Py_ssize_t i, Py_ssize_t n, int halved)
{
    return halved ? (2 * i + 1 < n ? 2 * i + 1 : 2 * i) : i;
}

/* Whether the blocks at p[0 .. n - 1] have non-zero coefficients only where u < 4 and v < 4
 * (most chroma blocks of a 4:4:4 photo); rows 0..3 are then all their halving reads */
typedef int16_t v16s __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) int low_quarter(const int16_t *const p[4], int n)
{
    v16s lo = {0}, hi = {0};
    for (int i = 0; i < n; i++) { /* one 32-byte load per two rows */
        v16s r01, r23, r45, r67;
        memcpy(&r01, p[i], sizeof r01);
        memcpy(&r23, p[i] + 16, sizeof r23);
        memcpy(&r45, p[i] + 32, sizeof r45);
        memcpy(&r67, p[i] + 48, sizeof r67);
        lo |= r01 | r23; /* rows 0..3 */
        hi |= r45 | r67; /* rows 4..7 */
    }
    const v16s right = {0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1};
    const v16s any = (lo & right) | hi;
    uint64_t w[4];
    memcpy(w, &any, sizeof w);
    return (w[0] | w[1] | w[2] | w[3]) == 0;
}

/* One output block of halve_row from its blocks b[half][0] (and b[half][1] when vertical),
 * reading their first n rows (n = 4: rows 4..7 and columns 4..7 are zero) */
static inline __attribute__((always_inline)) void halve_block(const int16_t *const b[2][2],
                                                              int vertical, int horizontal,
                                                              const halving_t *hk,
                                                              const v8f q[8], int16_t *o, int n)
{
    v8f t[2][8]; /* per block column: rows a (after the vertical pass), lanes u */
    for (int half = 0; half < (horizontal ? 2 : 1); half++) {
        v8f x0[8];
        for (int r = 0; r < n; r++)
            x0[r] = load_row(b[half][0], r, q);
        if (vertical) {
            v8f x1[8];
            for (int r = 0; r < n; r++)
                x1[r] = load_row(b[half][1], r, q);
            halve_pass(hk, x0, x1, t[half], n);
        } else {
            for (int r = 0; r < 8; r++)
                t[half][r] = r < n ? x0[r] : (v8f){0};
        }
    }
    v8f res[8];
    if (horizontal) { /* the same pass on the transposes (rows u: zero from n on), back */
        v8f c0t[8], c1t[8], rt[8];
        transpose(t[0], c0t);
        transpose(t[1], c1t);
        halve_pass(hk, c0t, c1t, rt, n);
        transpose(rt, res);
    } else {
        memcpy(res, t[0], sizeof res);
    }
    for (int v = 0; v < 8; v++)
        store_row(o + 8 * v, res[v]);
}

/* One output block row: blocks r0[2J], r0[2J + 1] (and r1's, when vertical) -> out[J]; the
 * blocks of an output block whose coefficients all have u < 4 and v < 4 in the 4-row pass */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
static void halve_row(const int16_t *r0, const int16_t *r1, Py_ssize_t w, int vertical,
                      int horizontal, const halving_t *hk, const v8f q[8], int16_t *out,
                      Py_ssize_t ow)
{
    for (Py_ssize_t J = 0; J < ow; J++) {
        const Py_ssize_t c0 = horizontal ? 2 * J : J, c1 = pair_second(J, w, horizontal);
        const int16_t *const b[2][2] = {{r0 + 64 * c0, r1 + 64 * c0},
                                        {r0 + 64 * c1, r1 + 64 * c1}};
        const int16_t *const all[4] = {b[0][0], b[1][0], b[0][1], b[1][1]};
        if (low_quarter(all, vertical ? 4 : 2))
            halve_block(b, vertical, horizontal, hk, q, out + 64 * J, 4);
        else
            halve_block(b, vertical, horizontal, hk, q, out + 64 * J, 8);
    }
}

static void table_rows(const int32_t *table, v8f q[8])
{
    for (int r = 0; r < 8; r++)
        for (int u = 0; u < 8; u++)
            q[r][u] = table == NULL ? 1.f : (float)table[8 * r + u];
}

/* Dequantise one row of cols blocks into out, saturated to int16: the same 64 table entries
 * for every block, no branch per coefficient. On x86-64, 8, 16 or 32 coefficients per step
 * (SSE2, AVX2 or AVX-512BW, chosen at run time): the 32-bit products from the low and high
 * halves of the 16-bit products, packed back with signed saturation (all within 128-bit lanes,
 * so the order is kept). Tables with entries above 32767 (16-bit tables, never seen in
 * practice) take the plain loop. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DEQUANTISE_STEP(T, W, load, store, mullo, mulhi, unlo, unhi, packs)                   \
    int16_t q16[DCTSIZE2]; /* the table as int16 (entries <= 32767: see dequantiser) */         \
    T qv[DCTSIZE2 / W];                                                                        \
    for (int k = 0; k < DCTSIZE2; k++)                                                         \
        q16[k] = (int16_t)q[k];                                                                \
    for (int k = 0; k < DCTSIZE2 / W; k++)                                                     \
        qv[k] = load((const void *)(q16 + W * k));                                             \
    for (JDIMENSION b = 0; b < cols; b++) {                                                    \
        for (int k = 0; k < DCTSIZE2 / W; k++) {                                               \
            T x = load((const void *)(in + W * k));                                            \
            T lo = mullo(x, qv[k]), hi = mulhi(x, qv[k]);                                      \
            store((void *)(out + W * k), packs(unlo(lo, hi), unhi(lo, hi)));                   \
        }                                                                                      \
        in += DCTSIZE2;                                                                        \
        out += DCTSIZE2;                                                                       \
    }

__attribute__((target("avx512bw"))) static void dequantise_avx512(
    const JCOEF *restrict in, const int32_t *restrict q, int16_t *restrict out, JDIMENSION cols)
{
    DEQUANTISE_STEP(__m512i, 32, _mm512_loadu_si512, _mm512_storeu_si512, _mm512_mullo_epi16,
                    _mm512_mulhi_epi16, _mm512_unpacklo_epi16, _mm512_unpackhi_epi16,
                    _mm512_packs_epi32)
}

__attribute__((target("avx2"))) static void dequantise_avx2(
    const JCOEF *restrict in, const int32_t *restrict q, int16_t *restrict out, JDIMENSION cols)
{
#define LOAD256(p) _mm256_loadu_si256((const __m256i *)(p))
#define STORE256(p, x) _mm256_storeu_si256((__m256i *)(p), x)
    DEQUANTISE_STEP(__m256i, 16, LOAD256, STORE256, _mm256_mullo_epi16, _mm256_mulhi_epi16,
                    _mm256_unpacklo_epi16, _mm256_unpackhi_epi16, _mm256_packs_epi32)
}

static void dequantise_sse2(const JCOEF *restrict in, const int32_t *restrict q,
                            int16_t *restrict out, JDIMENSION cols)
{
#define LOAD128(p) _mm_loadu_si128((const __m128i *)(p))
#define STORE128(p, x) _mm_storeu_si128((__m128i *)(p), x)
    DEQUANTISE_STEP(__m128i, 8, LOAD128, STORE128, _mm_mullo_epi16, _mm_mulhi_epi16,
                    _mm_unpacklo_epi16, _mm_unpackhi_epi16, _mm_packs_epi32)
}
#endif

static void dequantise_plain(const JCOEF *restrict in, const int32_t *restrict q,
                             int16_t *restrict out, JDIMENSION cols)
{
    for (JDIMENSION b = 0; b < cols; b++) {
        for (int k = 0; k < DCTSIZE2; k++) {
            int32_t v = (int32_t)in[k] * q[k];
            v = v < -32768 ? -32768 : v;
            v = v > 32767 ? 32767 : v;
            out[k] = (int16_t)v;
        }
        in += DCTSIZE2;
        out += DCTSIZE2;
    }
}

typedef void (*dequantise_fn)(const JCOEF *restrict, const int32_t *restrict,
                              int16_t *restrict, JDIMENSION);

static dequantise_fn dequantiser(const int32_t *q)
{
    for (int k = 0; k < DCTSIZE2; k++)
        if (q[k] > 32767)
            return dequantise_plain;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bw"))
        return dequantise_avx512;
    if (__builtin_cpu_supports("avx2"))
        return dequantise_avx2;
    return dequantise_sse2;
#else
    return dequantise_plain;
#endif
}

/* Writing the output rows of every component: dequantised (a halved chroma: halved as it
 * is dequantised), only output rows r0 .. r1 - 1 and columns c0 .. c1 - 1 (the rest is left
 * as it is). In a single-scan sequential file, the rows of each iMCU row are written as soon as
 * it is decoded (from the progress monitor: the coefficients are still in the cache), the rest
 * once the file is read (progressive and multi-scan files: all of it). */
typedef struct {
    decoder_t *d;
    int ncomp, vertical, horizontal; /* halved axes of the chroma (components 1, 2) */
    const halving_t *hk;
    int16_t *out[MAX_COMPONENTS];
    Py_ssize_t rows[MAX_COMPONENTS], cols[MAX_COMPONENTS]; /* the output grid */
    Py_ssize_t r0[MAX_COMPONENTS], r1[MAX_COMPONENTS], c0[MAX_COMPONENTS], c1[MAX_COMPONENTS];
    Py_ssize_t next[MAX_COMPONENTS]; /* the next output row to write */
    int ready[MAX_COMPONENTS];       /* its table below is set */
    int32_t q[MAX_COMPONENTS][DCTSIZE2];
    v8f qv[MAX_COMPONENTS][8];
    dequantise_fn dequantise[MAX_COMPONENTS];
} rows_job;

/* A zeroed job, aligned for its vectors (PyMem_Malloc's 16 bytes are not enough for v8f's
 * aligned loads); free() it */
static rows_job *job_alloc(void)
{
    const size_t size = (sizeof(rows_job) + 63) & ~(size_t)63;
    rows_job *job = aligned_alloc(64, size);
    if (job != NULL)
        memset(job, 0, size);
    return job;
}

static int job_halves(const rows_job *job, int c)
{
    return c > 0 && (job->vertical || job->horizontal);
}

/* The output grid of each component and the rows and columns wanted: all of them */
static void job_init(rows_job *job, decoder_t *d, int vertical, int horizontal,
                     const halving_t *hk)
{
    memset(job, 0, sizeof *job);
    job->d = d;
    job->ncomp = d->cinfo.num_components < MAX_COMPONENTS ? d->cinfo.num_components
                                                          : MAX_COMPONENTS;
    job->vertical = vertical && job->ncomp == 3;
    job->horizontal = horizontal && job->ncomp == 3;
    job->hk = hk;
    for (int c = 0; c < job->ncomp; c++) {
        const jpeg_component_info *comp = &d->cinfo.comp_info[c];
        job->rows[c] = comp->height_in_blocks;
        job->cols[c] = comp->width_in_blocks;
        if (job_halves(job, c)) {
            job->rows[c] = job->vertical ? (job->rows[c] + 1) / 2 : job->rows[c];
            job->cols[c] = job->horizontal ? (job->cols[c] + 1) / 2 : job->cols[c];
        }
        job->r1[c] = job->rows[c];
        job->c1[c] = job->cols[c];
    }
}

/* Block row a of component c in its raw-mode ring (rows a and a + depth share a slot) */
static JCOEF *ring_at(const decoder_t *d, int c, Py_ssize_t a)
{
    return d->ring[c] + (size_t)(a % d->depth[c]) * d->stride[c] * DCTSIZE2;
}

/* Input block row a of component c: from the raw-mode ring where there is one, else from
 * libjpeg's coefficient array */
static const JCOEF *in_row(const rows_job *job, int c, JDIMENSION a)
{
    decoder_t *d = job->d;
    if (d->ring[c] != NULL)
        return ring_at(d, c, (Py_ssize_t)a);
    j_decompress_ptr ci = &d->cinfo;
    return (*ci->mem->access_virt_barray)((j_common_ptr)ci, d->arrays[c], a, 1, FALSE)[0][0];
}

/* Output rows of component c up to (not including) upto */
static void job_write(rows_job *job, int c, Py_ssize_t upto)
{
    j_decompress_ptr ci = &job->d->cinfo;
    const jpeg_component_info *comp = &ci->comp_info[c];
    upto = upto < job->r1[c] ? upto : job->r1[c];
    Py_ssize_t I = job->next[c] > job->r0[c] ? job->next[c] : job->r0[c];
    const Py_ssize_t c0 = job->c0[c], c1 = job->c1[c];
    if (I >= upto || c0 >= c1) {
        job->next[c] = I > job->next[c] ? I : job->next[c];
        return;
    }
    if (!job->ready[c]) {
        for (int k = 0; k < DCTSIZE2; k++)
            job->q[c][k] = comp->quant_table != NULL ? comp->quant_table->quantval[k] : 1;
        table_rows(job->q[c], job->qv[c]);
        job->dequantise[c] = dequantiser(job->q[c]);
        job->ready[c] = 1;
    }
    int16_t *out = job->out[c];
    const Py_ssize_t ow = job->cols[c];
    if (job_halves(job, c)) {
        const int vertical = job->vertical, horizontal = job->horizontal;
        const JDIMENSION in_rows = comp->height_in_blocks, in_cols = comp->width_in_blocks;
        const Py_ssize_t skip = horizontal ? 2 * c0 : c0;
        for (; I < upto; I++) {
            const JDIMENSION a0 = (JDIMENSION)(vertical ? 2 * I : I);
            const JDIMENSION a1 = (JDIMENSION)pair_second(I, in_rows, vertical);
            const JCOEF *p0 = in_row(job, c, a0);
            const JCOEF *p1 = a1 == a0 ? p0 : in_row(job, c, a1);
            halve_row(p0 + DCTSIZE2 * skip, p1 + DCTSIZE2 * skip, in_cols - skip, vertical,
                      horizontal, job->hk, job->qv[c], out + (I * ow + c0) * DCTSIZE2, c1 - c0);
        }
    } else {
        for (; I < upto; I++)
            job->dequantise[c](in_row(job, c, (JDIMENSION)I) + DCTSIZE2 * c0, job->q[c],
                               out + (I * ow + c0) * DCTSIZE2, (JDIMENSION)(c1 - c0));
    }
    job->next[c] = upto;
}

/* The progress monitor's hook: imcu_rows iMCU rows are decoded */
static void job_rows_done(j_decompress_ptr ci, void *arg, long imcu_rows)
{
    rows_job *job = arg;
    if (job->d->narrays != ci->num_components)
        return; /* not the arrays we know: everything is written at the end */
    for (int c = 0; c < job->ncomp; c++) {
        const jpeg_component_info *comp = &ci->comp_info[c];
        Py_ssize_t in_done = (Py_ssize_t)imcu_rows * comp->v_samp_factor;
        if (in_done >= (Py_ssize_t)comp->height_in_blocks)
            continue; /* the last rows: at the end */
        job_write(job, c, job_halves(job, c) && job->vertical ? in_done / 2 : in_done);
    }
}

/* After jpeg_read_coefficients: every row not written yet */
static void job_finish(rows_job *job, jvirt_barray_ptr *arrays)
{
    int same = job->d->narrays == job->ncomp;
    for (int c = 0; c < job->ncomp; c++) {
        same &= job->d->arrays[c] == arrays[c];
        job->d->arrays[c] = arrays[c];
    }
    for (int c = 0; c < job->ncomp; c++) {
        if (!same) job->next[c] = 0; /* not the arrays captured: all again, from these */
        job_write(job, c, job->rows[c]);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Raw mode: a single-scan sequential file (baseline or extended Huffman, every component in
 * its one scan) is decoded by jpeg_read_raw_data, one iMCU row per call, with no component
 * "needed" (so libjpeg runs no inverse DCT, and raw_data_out: no upsampling, no colour
 * conversion) and its entropy decoder's decode_mcu given, for each MCU, blocks in a ring of
 * each component's last block rows (zeroed before each iMCU row, as libjpeg zeroes its
 * arrays); the rows are written from there as soon as their iMCU row is done, while in cache.
 * libjpeg then keeps no whole-image coefficient array: jpeg_read_coefficients zeroes one (two
 * bytes per coefficient) and writes every block into it, which costs a large image up to ~9 %
 * of its decoding in cache misses (entropy_decode(data, True) against entropy_decode(data)),
 * and the reader read it back. Progressive and multi-scan files use jpeg_read_coefficients.
 *
 * decode_mcu is reached through libjpeg's internal struct jpeg_entropy_decoder (jpegint.h,
 * which libjpeg does not install): start_pass then decode_mcu, the layout of every libjpeg
 * since 6b and of libjpeg-turbo up to 3.x. After the first iMCU row decode_raw checks that the
 * MCUs went through ring_decode_mcu (else raw mode turns itself off and the file is read the
 * other way); _jpegread.raw_mode(False) turns it off (the tests compare both ways). */
typedef struct {
    void (*start_pass)(j_decompress_ptr);
    boolean (*decode_mcu)(j_decompress_ptr, JBLOCKROW *);
} entropy_module;

static int raw_enabled = 1;
static int raw_fail_check = 0; /* the tests: the next check fails, as with another libjpeg */

/* libjpeg's decode_mcu with the MCU's blocks in the rings (MCU_data: libjpeg's own buffer,
 * unused) */
static boolean ring_decode_mcu(j_decompress_ptr cinfo, JBLOCKROW *MCU_data)
{
    decoder_t *d = (decoder_t *)cinfo;
    const long m = d->mcu++;
    (void)MCU_data;
    if (cinfo->comps_in_scan == 1) { /* one block per MCU, MCU rows of MCUs_per_row */
        const long per_row = (long)cinfo->MCUs_per_row;
        d->ptrs[0] = d->base[0] + (m / per_row) * d->step[0] + m % per_row;
    } else {
        for (int b = 0; b < cinfo->blocks_in_MCU; b++)
            d->ptrs[b] = d->base[b] + m * d->step[b];
    }
    return d->decode_mcu(cinfo, d->ptrs);
}

/* Before iMCU row d->imcu: its ring rows zeroed, and where each block of an MCU goes */
static void ring_row(decoder_t *d)
{
    j_decompress_ptr ci = &d->cinfo;
    JBLOCKROW first[MAX_COMPONENTS];
    for (int c = 0; c < ci->num_components; c++) {
        const int v = ci->comp_info[c].v_samp_factor; /* depth: v or 2 v block rows */
        first[c] = (JBLOCKROW)ring_at(d, c, (Py_ssize_t)d->imcu * v);
        memset(first[c], 0, (size_t)v * d->stride[c] * sizeof(JBLOCK));
    }
    if (ci->comps_in_scan == 1) {
        const int c = ci->cur_comp_info[0]->component_index;
        d->base[0] = first[c];
        d->step[0] = (long)d->stride[c];
    } else {
        int b = 0;
        for (int i = 0; i < ci->comps_in_scan; i++) {
            const jpeg_component_info *comp = ci->cur_comp_info[i];
            const int c = comp->component_index;
            for (int y = 0; y < comp->MCU_height; y++)
                for (int x = 0; x < comp->MCU_width && b < D_MAX_BLOCKS_IN_MCU; x++, b++) {
                    d->base[b] = first[c] + (long)y * (long)d->stride[c] + x;
                    d->step[b] = comp->MCU_width;
                }
        }
    }
    d->mcu = 0;
}

/* Start libjpeg's decompression in raw mode (after the header): raw_data_out, so no
 * upsampling or colour conversion; no component "needed", so no inverse DCT (the entropy
 * decoder's own flags are set by then); jpeg_read_raw_data's sample rows, never written */
static void raw_start(decoder_t *d)
{
    j_decompress_ptr ci = &d->cinfo;
    ci->raw_data_out = TRUE;
    ci->do_block_smoothing = FALSE;
    jpeg_start_decompress(ci);
    for (int c = 0; c < ci->num_components && c < MAX_COMPONENTS; c++) {
        ci->comp_info[c].component_needed = FALSE;
        d->planes[c] = d->rows[c];
    }
}

/* One iMCU row in raw mode */
static void raw_row(decoder_t *d)
{
    jpeg_read_raw_data(&d->cinfo, d->planes, (JDIMENSION)(MAX_SAMP_FACTOR * DCTSIZE));
}

/* Whether raw mode reads this file (after the header) */
static int raw_takes(decoder_t *d)
{
    j_decompress_ptr ci = &d->cinfo;
    return raw_enabled && !ci->progressive_mode && jpeg_has_multiple_scans(ci) == FALSE
           && ci->num_components <= MAX_COMPONENTS && ci->data_precision == 8
           && ci->scale_num == ci->scale_denom;
}

/* Component c's output rows that the first in_done of its input block rows make */
static Py_ssize_t rows_from(const rows_job *job, int c, Py_ssize_t in_done)
{
    const Py_ssize_t in_rows = job->d->cinfo.comp_info[c].height_in_blocks;
    if (!(job_halves(job, c) && job->vertical))
        return in_done;
    return in_done >= in_rows ? (in_rows + 1) / 2 : in_done / 2;
}

/* The decoding of raw mode into job's outputs, stopping after stop_imcu iMCU rows (0: none);
 * call after setjmp. 0: the entropy decoder is not as raw mode knows it (nothing written yet:
 * the caller reads the file again with jpeg_read_coefficients). */
static int decode_raw(decoder_t *d, rows_job *job, long stop_imcu)
{
    j_decompress_ptr ci = &d->cinfo;
    raw_start(d);
    entropy_module *entropy = (entropy_module *)ci->entropy;
    if (entropy == NULL || entropy->decode_mcu == NULL)
        return 0;
    const int ncomp = ci->num_components;
    const int interleaved = ci->comps_in_scan > 1;
    for (int c = 0; c < ncomp; c++) {
        jpeg_component_info *comp = &ci->comp_info[c];
        /* the blocks of whole MCUs (dummy blocks past the right edge land in the padding) */
        d->stride[c] = interleaved ? ci->MCUs_per_row * (JDIMENSION)comp->MCU_width
                                   : comp->width_in_blocks;
        d->depth[c] = comp->v_samp_factor * (job_halves(job, c) && job->vertical ? 2 : 1);
        d->ring[c] = (*ci->mem->alloc_large)((j_common_ptr)ci, JPOOL_IMAGE,
                                             (size_t)d->depth[c] * d->stride[c] * sizeof(JBLOCK));
    }
    d->decode_mcu = entropy->decode_mcu;
    entropy->decode_mcu = ring_decode_mcu;
    const long total = (long)ci->total_iMCU_rows;
    const long n = stop_imcu > 0 && stop_imcu < total ? stop_imcu : total;
    d->progress.rows_done = NULL; /* the rows are written here */
    d->progress.stop_imcu = 0;
    for (d->imcu = 0; d->imcu < n; d->imcu++) {
        ring_row(d);
        raw_row(d);
        if (d->imcu == 0 && (d->mcu == 0 || raw_fail_check)) {
            raw_fail_check = 0;
            return 0; /* the MCUs did not come through ring_decode_mcu */
        }
        for (int c = 0; c < job->ncomp; c++)
            job_write(job, c, rows_from(job, c, (d->imcu + 1) * ci->comp_info[c].v_samp_factor));
    }
    if (n == total) {
        jpeg_finish_decompress(ci);
        return 1;
    }
    /* stopped: the rows below read as zeros, as libjpeg's zeroed arrays give them; first the
     * output row of a halved pair across the stop (its first row decoded, its second zero) */
    d->progress.stopped = 1;
    d->src.stopped = 1;
    for (int c = 0; c < job->ncomp; c++) {
        const size_t slot = (size_t)d->stride[c] * DCTSIZE2;
        const Py_ssize_t in_done = (Py_ssize_t)n * ci->comp_info[c].v_samp_factor;
        if (job_halves(job, c) && job->vertical && in_done % 2) {
            memset(ring_at(d, c, in_done), 0, slot * sizeof(JCOEF));
            job_write(job, c, rows_from(job, c, in_done) + 1);
        }
        memset(d->ring[c], 0, (size_t)d->depth[c] * slot * sizeof(JCOEF));
        job_write(job, c, job->rows[c]);
    }
    jpeg_abort_decompress(ci);
    return 1;
}

/* Decode the file into job's outputs (raw mode where it reads the file, else
 * jpeg_read_coefficients with the rows written from the progress monitor), stopping as
 * decoder_stop asked; call after setjmp. 0: libjpeg returned no coefficients. */
static int decode(decoder_t *d, rows_job *job)
{
    if (raw_takes(d)) {
        const long stop_imcu = d->progress.stop_imcu, warnings = d->err.warnings;
        if (decode_raw(d, job, stop_imcu))
            return 1;
        /* not the entropy decoder raw mode knows: off from now on, and this file read again
         * from its header (the same header warnings) */
        raw_enabled = 0;
        jpeg_abort_decompress(&d->cinfo); /* frees the rings */
        memset(d->ring, 0, sizeof d->ring);
        d->src.pub.next_input_byte = d->src.data;
        d->src.pub.bytes_in_buffer = d->src.len;
        jpeg_read_header(&d->cinfo, TRUE);
        d->err.warnings = warnings;
        d->progress.stop_imcu = stop_imcu;
    }
    d->progress.rows_done = job_rows_done;
    d->progress.arg = job;
    jvirt_barray_ptr *arrays = jpeg_read_coefficients(&d->cinfo);
    if (arrays == NULL)
        return 0;
    job_finish(job, arrays);
    return 1;
}

static PyObject *read_coefficients(PyObject *self, PyObject *args)
{
    Py_buffer data, kb = {0};
    unsigned long long max_pixels;
    long stop_rows, max_scans;
    int vertical = 0, horizontal = 0, checked = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*Kll|ppy*p", &data, &max_pixels, &stop_rows, &max_scans,
                          &vertical, &horizontal, &kb, &checked))
        return NULL;
    halving_t hk;
    if (vertical || horizontal || checked) {
        if (kb.buf == NULL || kb.len != 128 * (Py_ssize_t)sizeof(double)) {
            PyBuffer_Release(&data);
            if (kb.buf != NULL)
                PyBuffer_Release(&kb);
            PyErr_SetString(PyExc_ValueError, "read: the halving operator k is not (8, 16)");
            return NULL;
        }
        if (halving_of(kb.buf, &hk) != 0) {
            PyBuffer_Release(&data);
            PyBuffer_Release(&kb);
            PyErr_SetString(PyExc_ValueError, "read: k is not the halving operator");
            return NULL;
        }
    }

    decoder_t *d = PyMem_Calloc(1, sizeof *d);
    rows_job *job = job_alloc();
    PyObject *buffers[MAX_COMPONENTS] = {NULL};
    PyObject *result = NULL;
    if (d == NULL || job == NULL) {
        PyMem_Free(d);
        free(job);
        PyBuffer_Release(&data);
        if (kb.buf != NULL)
            PyBuffer_Release(&kb);
        return PyErr_NoMemory();
    }
    decoder_init(d, data.buf, data.len, max_scans);
    volatile int failed = 0, created = 0;
    int ncomp = 0;
    if (!header_nogil(d, max_pixels, &created))
        goto fail;
    if (checked && !takes_file(d, data.buf, data.len, &vertical, &horizontal)) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    /* The chroma of a 3-component file halved on the way out where the caller asks (its
     * sampling factors are 1 x 1 and the luma's are 1 on the halved axes: 4:4:4, 4:2:2, 4:4:0) */
    int halved = (vertical || horizontal) && d->cinfo.num_components == 3;
    for (int c = 1; halved && c < 3; c++)
        halved = d->cinfo.comp_info[c].h_samp_factor == 1
                 && d->cinfo.comp_info[c].v_samp_factor == 1;
    job_init(job, d, halved && vertical, halved && horizontal, &hk);
    ncomp = job->ncomp;
    for (int c = 0; c < ncomp; c++) { /* the sizes are known from the header */
        Py_ssize_t n = job->rows[c] * job->cols[c] * DCTSIZE2;
        buffers[c] = PyByteArray_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int16_t));
        if (buffers[c] == NULL)
            goto fail_py;
        job->out[c] = (int16_t *)PyByteArray_AS_STRING(buffers[c]);
    }

    Py_BEGIN_ALLOW_THREADS
    if (setjmp(d->err.jump)) {
        failed = 1;
    } else {
        decoder_stop(d, stop_rows);
        failed = !decode(d, job);
    }
    Py_END_ALLOW_THREADS
    if (failed)
        goto fail;

    PyObject *comps = PyTuple_New(ncomp);
    if (comps == NULL)
        goto fail_py;
    for (int c = 0; c < ncomp; c++) {
        jpeg_component_info *comp = &d->cinfo.comp_info[c];
        PyObject *item = Py_BuildValue("(Onnii)", buffers[c], job->rows[c], job->cols[c],
                                       comp->h_samp_factor, comp->v_samp_factor);
        if (item == NULL) {
            Py_DECREF(comps);
            goto fail_py;
        }
        PyTuple_SET_ITEM(comps, c, item);
    }
    result = Py_BuildValue("(IIiiiisN)", (unsigned)d->cinfo.image_width,
                           (unsigned)d->cinfo.image_height, d->cinfo.num_components,
                           (int)d->cinfo.progressive_mode, d->progress.stopped,
                           (int)d->err.warnings,
                           d->err.warnings ? d->err.first_warning : "", comps);
    goto done;

fail:
    read_error(d->err.message);
fail_py:
    result = NULL;
done:
    for (int c = 0; c < MAX_COMPONENTS; c++)
        Py_XDECREF(buffers[c]);
    if (created)
        jpeg_destroy_decompress(&d->cinfo);
    PyMem_Free(d);
    free(job);
    PyBuffer_Release(&data);
    if (kb.buf != NULL)
        PyBuffer_Release(&kb);
    return result;
}

/* entropy_decode(data[, raw]): the floor. raw: a single-scan file decoded as decode_raw
 * does, each MCU left in libjpeg's own MCU buffer (no whole-image coefficient array, no
 * ring); other files, and raw False: jpeg_read_coefficients. */
static PyObject *entropy_decode(PyObject *self, PyObject *args)
{
    Py_buffer data;
    int raw = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*|p", &data, &raw))
        return NULL;
    decoder_t *d = PyMem_Calloc(1, sizeof *d);
    if (d == NULL) {
        PyBuffer_Release(&data);
        return PyErr_NoMemory();
    }
    decoder_init(d, data.buf, data.len, 0);
    volatile int failed = 0, created = 0;
    Py_BEGIN_ALLOW_THREADS
    if (setjmp(d->err.jump)) {
        failed = 1;
    } else {
        created = 1;
        jpeg_create_decompress(&d->cinfo);
        d->cinfo.src = &d->src.pub;
        jpeg_read_header(&d->cinfo, TRUE);
        j_decompress_ptr ci = &d->cinfo;
        if (raw && !ci->progressive_mode && !jpeg_has_multiple_scans(ci)) {
            raw_start(d);
            while (ci->output_scanline < ci->output_height)
                raw_row(d);
            jpeg_finish_decompress(ci);
        } else {
            jpeg_read_coefficients(ci);
        }
    }
    if (created)
        jpeg_destroy_decompress(&d->cinfo);
    Py_END_ALLOW_THREADS
    PyObject *result = failed ? read_error(d->err.message) : Py_NewRef(Py_None);
    PyMem_Free(d);
    PyBuffer_Release(&data);
    return result;
}

/* halve(in, h, w, vertical, horizontal, k) -> bytearray: a dequantised chroma component
 * (h, w, 64) int16 brought to the 4:2:0 grid (the caller's _chroma_to_420; the reader itself
 * halves libjpeg's arrays with the same loop, dequantising as it loads), rounded half to even
 * and saturated to int16. The same products as the numpy version (float64) in float32 and
 * another summation order: a result within a rounding error of half-way between two integers
 * may round the other way (tested: at most 1, a few coefficients per photo). */
static PyObject *halve(PyObject *self, PyObject *args)
{
    Py_buffer in, kb;
    Py_ssize_t h, w;
    int vertical, horizontal;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nnppy*", &in, &h, &w, &vertical, &horizontal, &kb))
        return NULL;
    PyObject *result = NULL;
    if (h <= 0 || w <= 0 || in.len != h * w * 64 * (Py_ssize_t)sizeof(int16_t)
        || kb.len != 128 * (Py_ssize_t)sizeof(double)) {
        PyErr_SetString(PyExc_ValueError, "halve: in is not (h, w, 64) int16 or k not (8, 16)");
        goto done;
    }
    halving_t hk;
    if (halving_of(kb.buf, &hk) != 0) {
        PyErr_SetString(PyExc_ValueError, "halve: k is not the halving operator");
        goto done;
    }
    const Py_ssize_t oh = vertical ? (h + 1) / 2 : h, ow = horizontal ? (w + 1) / 2 : w;
    result = PyByteArray_FromStringAndSize(NULL, oh * ow * 64 * (Py_ssize_t)sizeof(int16_t));
    if (result == NULL)
        goto done;
    const int16_t *src = in.buf;
    v8f q[8];
    table_rows(NULL, q);
    int16_t *out = (int16_t *)PyByteArray_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t I = 0; I < oh; I++) {
        const Py_ssize_t r0 = vertical ? 2 * I : I, r1 = pair_second(I, h, vertical);
        halve_row(src + r0 * w * 64, src + r1 * w * 64, w, vertical, horizontal, &hk, q,
                  out + I * ow * 64, ow);
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&in);
    PyBuffer_Release(&kb);
    return result;
}

/* ---------------------------------------------------------------------------------------- */
/* numpy's default_rng(seed) for an integer seed 0 <= seed < 2**64: SeedSequence(seed) (its
 * entropy pool of 4 words, hashmix / mix, generate_state(4, uint64)), then PCG64 (XSL-RR
 * 128/64, seeded by pcg_setseq_128_srandom_r) and Generator.random()'s doubles,
 * (next64 >> 11) * 2**-53. The same numbers as numpy (tested against it), so a seed gives this
 * path the crop it gives the Python one. */

#define SS_INIT_A 0x43b0d7e5u
#define SS_MULT_A 0x931e8875u
#define SS_INIT_B 0x8b51f9ddu
#define SS_MULT_B 0x58f38dedu
#define SS_MIX_MULT_L 0xca01f9ddu
#define SS_MIX_MULT_R 0x4973f715u

static uint32_t ss_hashmix(uint32_t value, uint32_t *hash_const)
{
    value ^= *hash_const;
    *hash_const *= SS_MULT_A;
    value *= *hash_const;
    return value ^ value >> 16;
}

static uint32_t ss_mix(uint32_t x, uint32_t y)
{
    const uint32_t r = SS_MIX_MULT_L * x - SS_MIX_MULT_R * y;
    return r ^ r >> 16;
}

typedef struct {
    unsigned __int128 state, inc;
} pcg64_t;

static const unsigned __int128 PCG_MULT =
    ((unsigned __int128)2549297995355413924ULL << 64) | 4865540595714422341ULL;

static void pcg_seed(pcg64_t *rng, uint64_t seed)
{
    uint32_t entropy[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, pool[4];
    const int n = seed >> 32 ? 2 : 1;
    uint32_t h = SS_INIT_A;
    for (int i = 0; i < 4; i++)
        pool[i] = ss_hashmix(i < n ? entropy[i] : 0, &h);
    for (int src = 0; src < 4; src++)
        for (int dst = 0; dst < 4; dst++)
            if (src != dst)
                pool[dst] = ss_mix(pool[dst], ss_hashmix(pool[src], &h));
    uint32_t state[8];
    uint32_t hb = SS_INIT_B;
    for (int i = 0; i < 8; i++) {
        uint32_t v = pool[i % 4] ^ hb;
        hb *= SS_MULT_B;
        v *= hb;
        state[i] = v ^ v >> 16;
    }
    uint64_t v64[4];
    for (int i = 0; i < 4; i++)
        v64[i] = (uint64_t)state[2 * i] | (uint64_t)state[2 * i + 1] << 32;
    const unsigned __int128 initstate = (unsigned __int128)v64[0] << 64 | v64[1];
    const unsigned __int128 initseq = (unsigned __int128)v64[2] << 64 | v64[3];
    rng->state = 0;
    rng->inc = initseq << 1 | 1u;
    rng->state = rng->state * PCG_MULT + rng->inc;
    rng->state += initstate;
    rng->state = rng->state * PCG_MULT + rng->inc;
}

static double pcg_double(pcg64_t *rng)
{
    rng->state = rng->state * PCG_MULT + rng->inc;
    const uint64_t hi = (uint64_t)(rng->state >> 64), lo = (uint64_t)rng->state;
    const unsigned rot = (unsigned)(rng->state >> 122);
    const uint64_t x = hi ^ lo, out = (x >> rot) | (x << ((64 - rot) & 63));
    return (double)(out >> 11) * (1.0 / 9007199254740992.0);
}

/* seed as uint64; 0 with a Python error set where it is not an integer in 0 .. 2**64 - 1 */
static int seed_of(PyObject *obj, uint64_t *seed)
{
    PyObject *index = PyNumber_Index(obj);
    if (index == NULL)
        return 0;
    const unsigned long long v = PyLong_AsUnsignedLongLong(index);
    Py_DECREF(index);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return 0;
    *seed = v;
    return 1;
}

/* uniforms(seed, n) -> list of n floats: default_rng(seed).random(n), for the tests */
static PyObject *uniforms(PyObject *self, PyObject *args)
{
    PyObject *seed_obj;
    Py_ssize_t n;
    uint64_t seed;
    (void)self;
    if (!PyArg_ParseTuple(args, "On", &seed_obj, &n) || !seed_of(seed_obj, &seed))
        return NULL;
    pcg64_t rng;
    pcg_seed(&rng, seed);
    PyObject *list = PyList_New(n > 0 ? n : 0);
    for (Py_ssize_t i = 0; list != NULL && i < n; i++) {
        PyObject *x = PyFloat_FromDouble(pcg_double(&rng));
        if (x == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, x);
    }
    return list;
}

/* ---------------------------------------------------------------------------------------- */
/* read_crop: one training (or validation) sample of the DCT-domain classification transform
 * in one call: header, geometry, the read, both passes of the kernel, written into the caller's
 * arrays. What DCTTransform.read does in Python, with the same numbers, for mode
 * CROP_RANDOM: SmallestMaxSize(resize) -> RandomCrop(crop) -> HorizontalFlip(flip_p);
 * CROP_CENTER: SmallestMaxSize(resize) -> CenterCrop(crop), no draw; CROP_RANDOM_RESIZED:
 * RandomResizedCrop(crop, scale, ratio) -> HorizontalFlip(flip_p):
 *
 *   - the draws of default_rng(seed) (above; shorter_side_crop, random_resized_crop below);
 *   - the plans of classification_dct._crop_plan_kernel / _window_plan (the same builder,
 *     _banded's window_taps / window_fill), through _banded's capsule: a crop's from its
 *     cache, a random-resized crop's built for the sample;
 *   - the read of read(): stop_rows from the rows the plans read (whole 4:2:0 chroma blocks),
 *     each component dequantised (4:4:4 / 4:2:2 / 4:4:0 chroma: halved) as it is decoded --
 *     only the block rows and columns the plans read, into scratch memory freed before
 *     returning;
 *   - _banded's kernel, writing each component into out_y / out_cb / out_cr ((crop / 8)^2 and
 *     (crop / 16)^2 blocks of 64 float32, each array's blocks at one stride: slots of a batch
 *     array); a grayscale file's chroma is zero.
 *
 *   read_crop(data, seed, resize, crop, flip_p, mode, (scale_lo, scale_hi),
 *             (ratio_lo, ratio_hi), max_pixels, max_scans, k, d, out_y, out_cb, out_cr)
 *       -> None: a file this path leaves to the general one (a subsampling it does not bring to
 *          4:2:0, the checks of readers.inspect_jpeg: not 8-bit, not 1 or 3 components, no
 *          end-of-image marker after the scan), having written nothing; or
 *          (components, progressive, stopped, warnings, first_warning, halved)
 *
 * Errors of libjpeg raise InvalidJPEGError("<bytes>", message) as read() does; the caller
 * then reads the file the general way, which names it and its problem. */

enum { CROP_RANDOM = 0, CROP_CENTER = 1, CROP_RANDOM_RESIZED = 2 };

/* One sample's geometry: a crop at (top, left) of the image resized to rh x rw, or (window) a
 * window ch x cw at (top, left) of the image resized to the crop; flip or not. */
typedef struct {
    int window, flip;
    Py_ssize_t top, left, rh, rw, ch, cw;
} crop_t;

/* classification_dct.train_params / DCTTransform.params: SmallestMaxSize(resize) (round half
 * to even, at least crop), then RandomCrop (two draws) and the flip (a third), or CenterCrop */
static crop_t shorter_side_crop(Py_ssize_t h, Py_ssize_t w, Py_ssize_t resize, Py_ssize_t crop,
                                int center, double flip_p, uint64_t seed)
{
    crop_t g = {0};
    const double scale = (double)resize / (double)(h < w ? h : w);
    g.rh = (Py_ssize_t)nearbyint((double)h * scale);
    g.rw = (Py_ssize_t)nearbyint((double)w * scale);
    g.rh = g.rh > crop ? g.rh : crop; /* max(1, .), and the guard crop <= both sides */
    g.rw = g.rw > crop ? g.rw : crop;
    if (center) {
        g.top = (g.rh - crop) / 2;
        g.left = (g.rw - crop) / 2;
        return g;
    }
    pcg64_t rng;
    pcg_seed(&rng, seed);
    g.top = (Py_ssize_t)((double)(g.rh - crop + 1) * pcg_double(&rng));
    g.left = (Py_ssize_t)((double)(g.rw - crop + 1) * pcg_double(&rng));
    g.flip = pcg_double(&rng) < flip_p;
    return g;
}

/* classification_dct._random_resized_crop (albumentations 2.0 / torchvision: 10 tries of a
 * random area and log-uniform aspect ratio, Generator.uniform(a, b) = a + (b - a) u, Python's
 * round half to even; else the centre crop of the clamped ratio), then the flip */
static crop_t random_resized_crop(Py_ssize_t h, Py_ssize_t w, Py_ssize_t crop,
                                  const double scale[2], const double ratio[2], double flip_p,
                                  pcg64_t *rng)
{
    crop_t g = {1, 0, 0, 0, crop, crop, h, w};
    const double area = (double)(h * w), lr0 = log(ratio[0]), lr1 = log(ratio[1]);
    int found = 0;
    for (int t = 0; t < 10 && !found; t++) {
        const double target = area * (scale[0] + (scale[1] - scale[0]) * pcg_double(rng));
        const double aspect = exp(lr0 + (lr1 - lr0) * pcg_double(rng));
        const double cw = nearbyint(sqrt(target * aspect)), ch = nearbyint(sqrt(target / aspect));
        if (0 < cw && cw <= (double)w && 0 < ch && ch <= (double)h) {
            g.cw = (Py_ssize_t)cw;
            g.ch = (Py_ssize_t)ch;
            g.top = (Py_ssize_t)((double)(h - g.ch + 1) * pcg_double(rng));
            g.left = (Py_ssize_t)((double)(w - g.cw + 1) * pcg_double(rng));
            found = 1;
        }
    }
    if (!found) {
        const double in_ratio = (double)w / (double)h;
        if (in_ratio < ratio[0])
            g.cw = w, g.ch = (Py_ssize_t)nearbyint((double)w / ratio[0]);
        else if (in_ratio > ratio[1])
            g.ch = h, g.cw = (Py_ssize_t)nearbyint((double)h * ratio[1]);
        g.top = (h - g.ch) / 2;
        g.left = (w - g.cw) / 2;
    }
    g.flip = pcg_double(rng) < flip_p;
    return g;
}

static const banded_api *banded = NULL;

static int out_arrays(PyObject *const objs[3], Py_buffer bufs[3], Py_ssize_t crop)
{
    for (int c = 0; c < 3; c++) {
        const Py_ssize_t n = c == 0 ? crop / 8 : crop / 16;
        if (PyObject_GetBuffer(objs[c], &bufs[c], PyBUF_WRITABLE | PyBUF_STRIDES | PyBUF_FORMAT)
            < 0) {
            for (int i = 0; i < c; i++)
                PyBuffer_Release(&bufs[i]);
            return 0;
        }
        const Py_buffer *b = &bufs[c];
        if (!(b->ndim == 3 && b->itemsize == 4 && b->format != NULL && strcmp(b->format, "f") == 0
              && b->shape[0] == n && b->shape[1] == n && b->shape[2] == 64 && b->strides[2] == 4
              && b->strides[1] >= 256 && b->strides[1] % 4 == 0
              && b->strides[0] == n * b->strides[1])) {
            for (int i = 0; i <= c; i++)
                PyBuffer_Release(&bufs[i]);
            PyErr_Format(PyExc_ValueError,
                         "read_crop: output %d is not (%zd, %zd, 64) float32 with contiguous "
                         "blocks at one stride", c, n, n);
            return 0;
        }
    }
    return 1;
}

/* The input block rows [lo, hi) an axis plan reads */
static void plan_span(const plan_t *p, Py_ssize_t *lo, Py_ssize_t *hi)
{
    *lo = p->start[0];
    *hi = p->start[0] + p->k;
    for (Py_ssize_t i = 1; i < p->n; i++) {
        if (p->start[i] < *lo) *lo = p->start[i];
        if (p->start[i] + p->k > *hi) *hi = p->start[i] + p->k;
    }
}

static PyObject *read_crop(PyObject *self, PyObject *args)
{
    Py_buffer data, kb, db;
    PyObject *seed_obj, *out_objs[3];
    Py_ssize_t resize, crop;
    double flip_p, scale[2], ratio[2];
    int mode;
    unsigned long long max_pixels;
    long max_scans;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*Onndi(dd)(dd)Kly*y*OOO", &data, &seed_obj, &resize, &crop,
                          &flip_p, &mode, &scale[0], &scale[1], &ratio[0], &ratio[1],
                          &max_pixels, &max_scans, &kb, &db, &out_objs[0], &out_objs[1],
                          &out_objs[2]))
        return NULL;
    const int center = mode == CROP_CENTER;
    Py_buffer outs[3];
    int have_outs = 0;
    PyObject *result = NULL;
    decoder_t *d = NULL;
    cached_plan *plans[4] = {NULL}; /* luma rows, cols; chroma rows, cols */
    int16_t *scratch = NULL;
    rows_job *job = NULL;
    uint64_t seed = 0;
    halving_t hk;
    if (banded == NULL) {
        banded = PyCapsule_Import("jpeg_deep._banded._C_API", 0);
        if (banded == NULL)
            goto done;
        if (banded->version != BANDED_API_VERSION) {
            banded = NULL;
            PyErr_SetString(PyExc_ImportError, "jpeg_deep._banded is of another version");
            goto done;
        }
    }
    if (!center && !seed_of(seed_obj, &seed))
        goto done;
    if (crop <= 0 || crop % 16 || resize < crop || kb.len != 128 * (Py_ssize_t)sizeof(double)
        || db.len != 64 * (Py_ssize_t)sizeof(double) || halving_of(kb.buf, &hk) != 0
        || mode < CROP_RANDOM || mode > CROP_RANDOM_RESIZED
        || !(0 < scale[0] && scale[0] <= scale[1] && 0 < ratio[0] && ratio[0] <= ratio[1])) {
        PyErr_SetString(PyExc_ValueError, "read_crop: crop not a multiple of 16 up to resize, "
                                          "bad mode, scale or ratio, or bad k / d");
        goto done;
    }
    if (!out_arrays(out_objs, outs, crop))
        goto done;
    have_outs = 1;

    d = PyMem_Calloc(1, sizeof *d);
    if (d == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    decoder_init(d, data.buf, data.len, max_scans);
    volatile int failed = 0, created = 0;
    if (!header_nogil(d, max_pixels, &created)) {
        read_error(d->err.message);
        goto done;
    }
    struct jpeg_decompress_struct *ci = &d->cinfo;
    const int ncomp = ci->num_components;
    int vertical, horizontal;
    const int eligible = takes_file(d, data.buf, data.len, &vertical, &horizontal);
    if (!eligible) {
        result = Py_NewRef(Py_None);
        goto done;
    }

    /* the geometry (DCTTransform.params), then the plans */
    const Py_ssize_t h = ci->image_height, w = ci->image_width;
    crop_t g;
    if (mode == CROP_RANDOM_RESIZED) {
        pcg64_t rng;
        pcg_seed(&rng, seed);
        g = random_resized_crop(h, w, crop, scale, ratio, flip_p, &rng);
    } else {
        g = shorter_side_crop(h, w, resize, crop, center, flip_p, seed);
    }
    int error = 0;
    const double *dm = db.buf;
    for (int p = 0; p < 4 && !error; p++) {
        const int chroma = p >= 2, cols = p & 1;
        const Py_ssize_t n_in = cols ? w : h;
        plans[p] = g.window ? banded->plan_get(n_in, cols ? g.left : g.top, cols ? g.cw : g.ch,
                                               crop, 0, crop, chroma, cols && g.flip, cols, 0,
                                               dm, &error)
                            : banded->plan_get(n_in, 0, n_in, cols ? g.rw : g.rh,
                                               cols ? g.left : g.top, crop, chroma,
                                               cols && g.flip, cols, 1, dm, &error);
    }
    if (error) {
        if (error == -2) PyErr_NoMemory();
        else PyErr_SetString(PyExc_ValueError, "read_crop: a plan could not be built");
        goto done;
    }
    Py_ssize_t span_lo[4], span_hi[4]; /* input blocks read: luma rows, cols, chroma rows, cols */
    for (int p = 0; p < 4; p++)
        plan_span(&plans[p]->plan, &span_lo[p], &span_hi[p]);
    long stop_rows = (long)(8 * span_hi[0] > 16 * span_hi[2] ? 8 * span_hi[0] : 16 * span_hi[2]);
    decoder_stop(d, (stop_rows + 15) / 16 * 16); /* whole 4:2:0 chroma blocks, as read() */

    /* the read (the rows and columns the plans read dequantised as they are decoded), then
     * the kernel, without the GIL */
    job = job_alloc();
    if (job == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    job_init(job, d, vertical, horizontal, &hk);
    size_t total = 0;
    for (int c = 0; c < ncomp; c++) {
        const int pr = c == 0 ? 0 : 2; /* the component's row plan */
        job->r0[c] = span_lo[pr] > 0 ? span_lo[pr] : 0;
        job->r1[c] = span_hi[pr] < job->rows[c] ? span_hi[pr] : job->rows[c];
        job->c0[c] = span_lo[pr + 1] > 0 ? span_lo[pr + 1] : 0;
        job->c1[c] = span_hi[pr + 1] < job->cols[c] ? span_hi[pr + 1] : job->cols[c];
        total += (size_t)job->rows[c] * job->cols[c] * DCTSIZE2;
    }
    scratch = malloc(total * sizeof(int16_t)); /* only the rows and columns read are written */
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    size_t offset = 0;
    for (int c = 0; c < ncomp; c++) {
        job->out[c] = scratch + offset;
        offset += (size_t)job->rows[c] * job->cols[c] * DCTSIZE2;
    }
    int kernel_rc = 0;
    Py_BEGIN_ALLOW_THREADS
    if (setjmp(d->err.jump)) {
        failed = 1;
    } else {
        failed = !decode(d, job);
        for (int c = 0; c < ncomp && !failed && kernel_rc == 0; c++) {
            const int pr = c == 0 ? 0 : 2;
            kernel_rc = banded->kernel_apply(job->out[c], 0, job->rows[c], job->cols[c],
                                             &plans[pr]->plan, &plans[pr + 1]->plan,
                                             outs[c].buf, outs[c].strides[1] / 4);
        }
        for (int c = ncomp; c < 3 && !failed && kernel_rc == 0; c++) /* grayscale: zero chroma */
            for (Py_ssize_t i = 0; i < (crop / 16) * (crop / 16); i++)
                memset((char *)outs[c].buf + i * outs[c].strides[1], 0, 64 * sizeof(float));
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        read_error(d->err.message);
        goto done;
    }
    if (kernel_rc != 0) {
        if (kernel_rc == -1) PyErr_NoMemory();
        else PyErr_SetString(PyExc_ValueError, "read_crop: the kernel refused the plans");
        goto done;
    }
    result = Py_BuildValue("(iiiisi)", ncomp, (int)ci->progressive_mode, d->progress.stopped,
                           (int)d->err.warnings, d->err.warnings ? d->err.first_warning : "",
                           ncomp == 3 && (vertical || horizontal));
done:
    free(scratch);
    free(job);
    for (int p = 0; p < 4; p++)
        if (banded != NULL) banded->plan_release(plans[p]);
    if (d != NULL) {
        if (created) jpeg_destroy_decompress(&d->cinfo);
        PyMem_Free(d);
    }
    if (have_outs)
        for (int c = 0; c < 3; c++)
            PyBuffer_Release(&outs[c]);
    PyBuffer_Release(&data);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&db);
    return result;
}

static PyObject *version(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    return PyLong_FromLong(LIBJPEG_TURBO_VERSION_NUMBER);
#else
    return PyLong_FromLong(0);
#endif
}

/* keep_heap(trim_bytes, mmap_bytes) -> bool: glibc's malloc keeps up to trim_bytes of freed
 * memory at the top of its heaps (M_TRIM_THRESHOLD) and serves blocks under mmap_bytes from them
 * (M_MMAP_THRESHOLD; at most 32 MiB on 64-bit glibc) instead of giving the pages back after
 * every image and faulting them in again for the next one: libjpeg's coefficient arrays and
 * ours are megabytes for a large photo. Process-wide; False where malloc is not glibc's. */
static PyObject *keep_heap(PyObject *self, PyObject *args)
{
    int trim, mmap_threshold;
    (void)self;
    if (!PyArg_ParseTuple(args, "ii", &trim, &mmap_threshold))
        return NULL;
#ifdef __GLIBC__
    if (mallopt(M_MMAP_THRESHOLD, mmap_threshold) && mallopt(M_TRIM_THRESHOLD, trim))
        Py_RETURN_TRUE;
#else
    (void)trim;
    (void)mmap_threshold;
#endif
    Py_RETURN_FALSE;
}

/* raw_mode([on[, fail_check]]) -> bool: whether single-scan files are read in raw mode
 * (decode_raw); with an argument, set it first (the tests compare both ways). fail_check: the
 * next raw read fails its check after its first iMCU row, as with a libjpeg whose entropy
 * decoder is laid out otherwise (the tests of the way back) */
static PyObject *raw_mode(PyObject *self, PyObject *args)
{
    int on = -1, fail_check = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "|pp", &on, &fail_check))
        return NULL;
    if (on >= 0)
        raw_enabled = on;
    raw_fail_check = fail_check;
    return PyBool_FromLong(raw_enabled);
}

static PyMethodDef methods[] = {
    {"raw_mode", raw_mode, METH_VARARGS,
     "raw_mode([on[, fail_check]]): whether single-scan files are decoded in raw mode"},
    {"keep_heap", keep_heap, METH_VARARGS,
     "keep_heap(trim_bytes, mmap_bytes): glibc malloc keeps freed memory instead of trimming"},
    {"read", read_coefficients, METH_VARARGS,
     "read(data, max_pixels, stop_rows, max_scans): dequantised coefficients of a JPEG"},
    {"entropy_decode", entropy_decode, METH_VARARGS,
     "entropy_decode(data): header + entropy decoding only (the floor), nothing returned"},
    {"halve", halve, METH_VARARGS,
     "halve(in, h, w, vertical, horizontal, k): chroma to the 4:2:0 grid, DCT domain"},
    {"read_crop", read_crop, METH_VARARGS,
     "read_crop(data, seed, resize, crop, flip_p, center, max_pixels, max_scans, k, d, out_y, "
     "out_cb, out_cr): one transformed training / validation sample (see the source)"},
    {"uniforms", uniforms, METH_VARARGS, "uniforms(seed, n): numpy's default_rng(seed).random(n)"},
    {"version", version, METH_NOARGS, "the libjpeg-turbo version number it was built with"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_jpegread",
                                    "JPEG coefficient reader over libjpeg-turbo", -1, methods};

PyMODINIT_FUNC PyInit__jpegread(void) { return PyModule_Create(&module); }
