/* The "libjpeg" coefficient reader of jpeg_deep.codec.readers: entropy decoding by
 * libjpeg-turbo (jpeg_read_header + jpeg_read_coefficients, no inverse DCT, no colour
 * conversion, no upsampling), then one pass per component that dequantises the stored integers
 * and writes them in the reader's layout (block rows, block columns, 64 coefficients in
 * natural row-major frequency order: libjpeg's own JBLOCK order).
 *
 *   read(data, max_pixels, stop_rows, max_scans)
 *       -> (width, height, components, progressive, stopped, warnings, first_warning,
 *           ((buffer, rows, cols, hs, vs), ...))
 *
 * Each buffer is a bytearray of rows * cols * 64 int16, dequantised and saturated to int16.
 * stop_rows > 0 asks for the first stop_rows *pixel* rows only: once every block row that
 * covers them is decoded, the rest of the scan is not entropy-decoded (its blocks stay zero).
 * That is only done for a single-scan sequential file (baseline or extended Huffman, every
 * component in the first scan): a progressive file, or a sequential one with a scan per
 * component, is always decoded whole. Restart markers are fine (the decoder stops at the next
 * marker it meets, whatever it is).
 *
 *   entropy_decode(data) -> None: the floor of any coefficient reader (header + coefficients,
 *       nothing else), for the benchmarks.
 *   version() -> int: LIBJPEG_TURBO_VERSION_NUMBER (0 if not libjpeg-turbo).
 *
 * The files are untrusted. libjpeg's errors go through our error manager (longjmp, never
 * exit()), its warnings are counted and the first one kept (never printed: output_message
 * does nothing), and the data source never reads past the buffer (its end reads as an
 * end-of-image marker, as jpeg_mem_src does, and counts as a warning). Bounds, checked before
 * any coefficient memory is allocated: the frame's width x height <= max_pixels, and at most
 * max_scans scans (a progressive file can otherwise declare thousands of tiny scans, each a
 * pass over the whole coefficient array). The coefficient memory is then at most 6 bytes per
 * pixel in libjpeg (4:4:4: three int16 planes) plus as much again for the output buffers.
 * The GIL is released while libjpeg works. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef struct source_mgr source_mgr;

/* Progress monitor: the scan limit and the early stop (called before each iMCU row). */
typedef struct {
    struct jpeg_progress_mgr pub;
    source_mgr *src;
    long stop_imcu; /* iMCU rows to decode; 0: all */
    int max_scans;
    int stopped;
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
    if (p->stop_imcu > 0 && !p->stopped && !cinfo->progressive_mode
        && cinfo->input_scan_number == 1 && cinfo->comps_in_scan == cinfo->num_components
        && (long)cinfo->input_iMCU_row >= p->stop_imcu
        && cinfo->input_iMCU_row < cinfo->total_iMCU_rows) {
        p->stopped = 1;
        p->src->stopped = 1;
        p->src->pub.bytes_in_buffer = 0; /* the next read meets our end-of-image marker */
    }
}

/* ---------------------------------------------------------------------------------------- */

typedef struct {
    struct jpeg_decompress_struct cinfo;
    error_mgr err;
    source_mgr src;
    progress_mgr progress;
} decoder_t;

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
    d->src.pub.next_input_byte = (const JOCTET *)data;
    d->src.pub.bytes_in_buffer = (size_t)len;
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

/* Dequantise one row of cols blocks into out, saturated to int16: the same 64 table entries
 * for every block, no branch per coefficient. On x86-64, 8 coefficients per step (SSE2, part
 * of the base instruction set): the 32-bit products from the low and high halves of the 16-bit
 * products, packed back with signed saturation. Tables with entries above 32767 (16-bit
 * tables, never seen in practice) take the plain loop. */
static void dequantise_row(const JCOEF *restrict in, const int32_t *restrict q,
                           int16_t *restrict out, JDIMENSION cols, int small_table)
{
#ifdef __SSE2__
    if (small_table && sizeof(JCOEF) == 2) {
        __m128i qv[DCTSIZE2 / 8];
        for (int k = 0; k < DCTSIZE2 / 8; k++)
            qv[k] = _mm_setr_epi16((short)q[8 * k], (short)q[8 * k + 1], (short)q[8 * k + 2],
                                   (short)q[8 * k + 3], (short)q[8 * k + 4], (short)q[8 * k + 5],
                                   (short)q[8 * k + 6], (short)q[8 * k + 7]);
        for (JDIMENSION b = 0; b < cols; b++) {
            for (int k = 0; k < DCTSIZE2 / 8; k++) {
                __m128i x = _mm_loadu_si128((const __m128i *)(in + 8 * k));
                __m128i lo = _mm_mullo_epi16(x, qv[k]), hi = _mm_mulhi_epi16(x, qv[k]);
                __m128i y = _mm_packs_epi32(_mm_unpacklo_epi16(lo, hi),
                                            _mm_unpackhi_epi16(lo, hi));
                _mm_storeu_si128((__m128i *)(out + 8 * k), y);
            }
            in += DCTSIZE2;
            out += DCTSIZE2;
        }
        return;
    }
#endif
    (void)small_table;
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

static PyObject *read_coefficients(PyObject *self, PyObject *args)
{
    Py_buffer data;
    unsigned long long max_pixels;
    long stop_rows, max_scans;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*Kll", &data, &max_pixels, &stop_rows, &max_scans))
        return NULL;

    decoder_t *d = PyMem_Calloc(1, sizeof *d);
    PyObject *buffers[MAX_COMPONENTS] = {NULL};
    int16_t *outs[MAX_COMPONENTS] = {NULL};
    PyObject *result = NULL;
    if (d == NULL) {
        PyBuffer_Release(&data);
        return PyErr_NoMemory();
    }
    decoder_init(d, data.buf, data.len, max_scans);
    volatile int failed = 0, created = 0;
    int ncomp = 0;
    jvirt_barray_ptr *volatile arrays = NULL;

    Py_BEGIN_ALLOW_THREADS
    if (setjmp(d->err.jump)) {
        failed = 1;
    } else {
        created = 1;
        if (!decoder_header(d, max_pixels)) {
            failed = 1;
        } else {
            if (stop_rows > 0) {
                long unit = 8L * d->cinfo.max_v_samp_factor;
                d->progress.stop_imcu = (stop_rows + unit - 1) / unit;
            }
            arrays = jpeg_read_coefficients(&d->cinfo);
        }
    }
    Py_END_ALLOW_THREADS

    if (failed || arrays == NULL)
        goto fail;
    ncomp = d->cinfo.num_components;
    if (ncomp > MAX_COMPONENTS)
        ncomp = MAX_COMPONENTS;
    for (int c = 0; c < ncomp; c++) {
        jpeg_component_info *comp = &d->cinfo.comp_info[c];
        Py_ssize_t n = (Py_ssize_t)comp->height_in_blocks * comp->width_in_blocks * DCTSIZE2;
        buffers[c] = PyByteArray_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int16_t));
        if (buffers[c] == NULL)
            goto fail_py;
        outs[c] = (int16_t *)PyByteArray_AS_STRING(buffers[c]);
    }

    Py_BEGIN_ALLOW_THREADS
    if (setjmp(d->err.jump)) {
        failed = 1;
    } else {
        for (int c = 0; c < ncomp; c++) {
            jpeg_component_info *comp = &d->cinfo.comp_info[c];
            int32_t q[DCTSIZE2];
            int small_table = 1;
            for (int k = 0; k < DCTSIZE2; k++) {
                q[k] = comp->quant_table != NULL ? comp->quant_table->quantval[k] : 1;
                small_table &= q[k] <= 32767;
            }
            const JDIMENSION rows = comp->height_in_blocks, cols = comp->width_in_blocks;
            const JDIMENSION step = (JDIMENSION)comp->v_samp_factor;
            for (JDIMENSION r = 0; r < rows; r += step) {
                JDIMENSION n = rows - r < step ? rows - r : step;
                JBLOCKARRAY block_rows = (*d->cinfo.mem->access_virt_barray)(
                    (j_common_ptr)&d->cinfo, arrays[c], r, n, FALSE);
                for (JDIMENSION i = 0; i < n; i++)
                    dequantise_row(block_rows[i][0], q,
                                   outs[c] + (size_t)(r + i) * cols * DCTSIZE2, cols,
                                   small_table);
            }
        }
    }
    Py_END_ALLOW_THREADS
    if (failed)
        goto fail;

    PyObject *comps = PyTuple_New(ncomp);
    if (comps == NULL)
        goto fail_py;
    for (int c = 0; c < ncomp; c++) {
        jpeg_component_info *comp = &d->cinfo.comp_info[c];
        PyObject *item = Py_BuildValue("(Onnii)", buffers[c], (Py_ssize_t)comp->height_in_blocks,
                                       (Py_ssize_t)comp->width_in_blocks, comp->h_samp_factor,
                                       comp->v_samp_factor);
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
    PyBuffer_Release(&data);
    return result;
}

static PyObject *entropy_decode(PyObject *self, PyObject *args)
{
    Py_buffer data;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*", &data))
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
        jpeg_read_coefficients(&d->cinfo);
    }
    if (created)
        jpeg_destroy_decompress(&d->cinfo);
    Py_END_ALLOW_THREADS
    PyObject *result = failed ? read_error(d->err.message) : Py_NewRef(Py_None);
    PyMem_Free(d);
    PyBuffer_Release(&data);
    return result;
}

/* The halving's arithmetic on 8 x 8 blocks held as 8 rows of two 4-double vectors (GCC / Clang
 * vector extensions: AVX2 registers in the x86-64-v3 build of halve_blocks, SSE2 pairs in the
 * other). k (8 x 16) has the mirror symmetry k[a][8 + p] = (-1)^(a + p) k[a][p] (exact in
 * readers.py's _halving_operator), so output row a is k[a][0..7] times s_p = x0_p + (-1)^p x1_p
 * for even a and d_p = x0_p - (-1)^p x1_p for odd a: half the products of the plain 8 x 16
 * operator, and only its non-zero entries are kept (most of the even rows are zero). */
typedef double v4d __attribute__((vector_size(32)));
typedef int16_t v4s __attribute__((vector_size(8)));

typedef struct {
    int n[8], p[8][8];       /* per output row a: how many non-zero k[a][p], p < 8, and which */
    double k[8][8];          /* their values */
    v4d even[8], odd[8];     /* per p: (k[0][p], k[2][p], k[4][p], k[6][p]), (k[1][p], ...) */
} halving_t;

static void halving_of(const double *k, halving_t *hk)
{
    for (int a = 0; a < 8; a++) {
        hk->n[a] = 0;
        for (int p = 0; p < 8; p++)
            if (k[16 * a + p] != 0.0) {
                hk->p[a][hk->n[a]] = p;
                hk->k[a][hk->n[a]++] = k[16 * a + p];
            }
    }
    for (int p = 0; p < 8; p++)
        for (int j = 0; j < 4; j++) {
            hk->even[p][j] = k[16 * (2 * j) + p];
            hk->odd[p][j] = k[16 * (2 * j + 1) + p];
        }
}

static inline void load_block(const int16_t *b, v4d x[8][2])
{
    for (int r = 0; r < 8; r++)
        for (int h = 0; h < 2; h++) {
            v4s v;
            memcpy(&v, b + 8 * r + 4 * h, sizeof v);
            x[r][h] = __builtin_convertvector(v, v4d);
        }
}

/* Along the rows (the vertical frequencies): out row a from rows p of the pair x0, x1. */
static inline void halve_rows(const halving_t *hk, v4d x0[8][2], v4d x1[8][2], v4d out[8][2])
{
    v4d s[8][2], d[8][2];
    for (int p = 0; p < 8; p++)
        for (int h = 0; h < 2; h++) {
            const v4d b = (p & 1) ? -x1[p][h] : x1[p][h];
            s[p][h] = x0[p][h] + b;
            d[p][h] = x0[p][h] - b;
        }
    for (int a = 0; a < 8; a++) {
        v4d (*src)[2] = (a & 1) ? d : s;
        v4d acc0 = {0.0, 0.0, 0.0, 0.0}, acc1 = acc0;
        for (int j = 0; j < hk->n[a]; j++) {
            const double kk = hk->k[a][j];
            acc0 += kk * src[hk->p[a][j]][0];
            acc1 += kk * src[hk->p[a][j]][1];
        }
        out[a][0] = acc0;
        out[a][1] = acc1;
    }
}

static inline int16_t saturated(double x)
{
    x = nearbyint(x);
    x = x < -32768.0 ? -32768.0 : x;
    x = x > 32767.0 ? 32767.0 : x;
    return (int16_t)x;
}

/* The loop of halve(); an AVX2 + FMA build is chosen at run time where the processor has it. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
static void halve_blocks(const int16_t *src, Py_ssize_t h, Py_ssize_t w, int vertical,
                         int horizontal, const halving_t *hk, int16_t *out, Py_ssize_t oh,
                         Py_ssize_t ow)
{
    for (Py_ssize_t I = 0; I < oh; I++) {
        const Py_ssize_t r0 = vertical ? 2 * I : I;
        const Py_ssize_t r1 = vertical ? (2 * I + 1 < h ? 2 * I + 1 : h - 1) : I;
        for (Py_ssize_t J = 0; J < ow; J++) {
            const Py_ssize_t c[2] = {horizontal ? 2 * J : J,
                                     horizontal ? (2 * J + 1 < w ? 2 * J + 1 : w - 1) : J};
            v4d t[2][8][2]; /* per block column: after the vertical pass, rows a, lanes u */
            for (int half = 0; half < (horizontal ? 2 : 1); half++) {
                if (vertical) {
                    v4d x0[8][2], x1[8][2];
                    load_block(src + (r0 * w + c[half]) * 64, x0);
                    load_block(src + (r1 * w + c[half]) * 64, x1);
                    halve_rows(hk, x0, x1, t[half]);
                } else {
                    load_block(src + (r0 * w + c[half]) * 64, t[half]);
                }
            }
            int16_t *o = out + (I * ow + J) * 64;
            if (!horizontal) {
                for (int v = 0; v < 8; v++)
                    for (int u = 0; u < 8; u++)
                        o[8 * v + u] = saturated(t[0][v][u >> 2][u & 3]);
                continue;
            }
            /* Along the columns, one row v at a time: the even output columns (0, 2, 4, 6) from
             * s, the odd ones from d, each a 4-vector of k's columns times a broadcast. */
            for (int v = 0; v < 8; v++) {
                v4d even = {0.0, 0.0, 0.0, 0.0}, odd = even;
                for (int p = 0; p < 8; p++) {
                    const double x0 = t[0][v][p >> 2][p & 3], x1 = t[1][v][p >> 2][p & 3];
                    const double b = (p & 1) ? -x1 : x1;
                    even += (x0 + b) * hk->even[p];
                    odd += (x0 - b) * hk->odd[p];
                }
                for (int j = 0; j < 4; j++) {
                    o[8 * v + 2 * j] = saturated(even[j]);
                    o[8 * v + 2 * j + 1] = saturated(odd[j]);
                }
            }
        }
    }
}

/* halve(in, h, w, vertical, horizontal, k) -> bytearray: a chroma component (h, w, 64) int16
 * brought to the 4:2:0 grid in the DCT domain (the caller's _chroma_to_420): each pair of
 * neighbouring blocks along a halved axis becomes k (8 x 16, float64) times their 16
 * coefficients (a last odd block is paired with itself), vertically then horizontally, rounded
 * half to even and saturated to int16. The same products as the numpy version in float64, in
 * another summation order (and k[a][p] x_p + k[a][8+p] x'_p summed as k[a][p] (x_p +- x'_p)):
 * a result within a rounding error of half-way between two integers may round the other way
 * (tested: at most 1, a few coefficients per photo). */
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
    const Py_ssize_t oh = vertical ? (h + 1) / 2 : h, ow = horizontal ? (w + 1) / 2 : w;
    result = PyByteArray_FromStringAndSize(NULL, oh * ow * 64 * (Py_ssize_t)sizeof(int16_t));
    if (result == NULL)
        goto done;
    const int16_t *src = in.buf;
    halving_t hk;
    halving_of(kb.buf, &hk);
    int16_t *out = (int16_t *)PyByteArray_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    halve_blocks(src, h, w, vertical, horizontal, &hk, out, oh, ow);
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&in);
    PyBuffer_Release(&kb);
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

static PyMethodDef methods[] = {
    {"keep_heap", keep_heap, METH_VARARGS,
     "keep_heap(trim_bytes, mmap_bytes): glibc malloc keeps freed memory instead of trimming"},
    {"read", read_coefficients, METH_VARARGS,
     "read(data, max_pixels, stop_rows, max_scans): dequantised coefficients of a JPEG"},
    {"entropy_decode", entropy_decode, METH_VARARGS,
     "entropy_decode(data): header + entropy decoding only (the floor), nothing returned"},
    {"halve", halve, METH_VARARGS,
     "halve(in, h, w, vertical, horizontal, k): chroma to the 4:2:0 grid, DCT domain"},
    {"version", version, METH_NOARGS, "the libjpeg-turbo version number it was built with"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_jpegread",
                                    "JPEG coefficient reader over libjpeg-turbo", -1, methods};

PyMODINIT_FUNC PyInit__jpegread(void) { return PyModule_Create(&module); }
