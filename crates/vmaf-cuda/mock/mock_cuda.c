/*
 * A host-only stand-in for the parts of the CUDA driver API that vmaf-cuda
 * calls, built as libcuda.so.1 for scripts/mock-device-check.sh.
 *
 * It exists to test the crate's plumbing on machines without a GPU: kernel
 * arguments, pitches and offsets, the staging ring, counters, resource
 * release on every path, fault injection, threads. It proves nothing about
 * the CUDA kernels themselves (the psnr "kernel" below is a C loop) nor
 * about the real driver's timing; the device run on a GPU does that.
 *
 * Work enqueued on a stream is deferred until something waits for it
 * (event or stream synchronisation, stream destruction), like the real
 * device running behind the host. That makes ordering mistakes visible:
 * reading results before waiting gives stale data, and freeing memory that
 * pending work still uses aborts with a message.
 *
 * Device memory is host memory; a CUdeviceptr is its address.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void *CUcontext, *CUstream, *CUevent, *CUmodule, *CUfunction;

enum {
    OK = 0,
    INVALID_VALUE = 1,
    NOT_INITIALIZED = 3,
    INVALID_DEVICE = 101,
    INVALID_IMAGE = 200,
    INVALID_CONTEXT = 201,
    INVALID_HANDLE = 400,
    NOT_FOUND = 500,
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int initialised;
static int ctx_refs;
static char ctx_token;
static __thread CUcontext current;
static size_t live_bytes;
static int live_modules;
static const size_t TOTAL = 80ull << 30;
static const size_t CONTEXT_RESERVE = 512ull << 20;
static const size_t MODULE_BYTES = 2ull << 20;

#define LOCKED(body)                 \
    do {                             \
        pthread_mutex_lock(&lock);   \
        body;                        \
        pthread_mutex_unlock(&lock); \
    } while (0)

/* ---------------------------------------------------------------- errors */

CUresult cuGetErrorName(CUresult e, const char **s)
{
    switch (e) {
    case OK: *s = "CUDA_SUCCESS"; break;
    case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; break;
    case INVALID_HANDLE: *s = "CUDA_ERROR_INVALID_HANDLE"; break;
    case INVALID_CONTEXT: *s = "CUDA_ERROR_INVALID_CONTEXT"; break;
    default: *s = "CUDA_ERROR_UNKNOWN"; break;
    }
    return OK;
}

CUresult cuGetErrorString(CUresult e, const char **s)
{
    *s = e == OK ? "no error" : "mock driver error";
    return OK;
}

/* The real NVRTC, when it finds a driver, asks it for private tables;
   a mock has none, and says so. */
CUresult cuGetExportTable(const void **table, const void *uuid)
{
    (void)uuid;
    *table = NULL;
    return NOT_FOUND;
}

/* ---------------------------------------------------------------- device */

CUresult cuInit(unsigned flags)
{
    (void)flags;
    initialised = 1;
    return OK;
}

CUresult cuDriverGetVersion(int *v)
{
    *v = 13000;
    return OK;
}

CUresult cuDeviceGetCount(int *n)
{
    if (!initialised)
        return NOT_INITIALIZED;
    *n = 1;
    return OK;
}

CUresult cuDeviceGet(CUdevice *d, int ordinal)
{
    if (ordinal != 0)
        return INVALID_DEVICE;
    *d = 0;
    return OK;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice d)
{
    (void)d;
    snprintf(name, (size_t)len, "mock GPU (host memory, no kernels)");
    return OK;
}

CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d)
{
    (void)d;
    if (attr == 75) { *v = 9; return OK; } /* compute capability major */
    if (attr == 76) { *v = 0; return OK; } /* minor */
    return INVALID_VALUE;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d)
{
    (void)d;
    LOCKED(ctx_refs++);
    *c = &ctx_token;
    return OK;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d)
{
    (void)d;
    CUresult r = OK;
    LOCKED(if (ctx_refs == 0) r = INVALID_CONTEXT; else ctx_refs--);
    return r;
}

CUresult cuCtxGetCurrent(CUcontext *c)
{
    *c = current;
    return OK;
}

CUresult cuCtxSetCurrent(CUcontext c)
{
    current = c;
    return OK;
}

static CUresult need_ctx(void)
{
    return current == &ctx_token && ctx_refs > 0 ? OK : INVALID_CONTEXT;
}

CUresult cuMemGetInfo_v2(size_t *free_, size_t *total)
{
    if (need_ctx())
        return INVALID_CONTEXT;
    LOCKED(*free_ = TOTAL - CONTEXT_RESERVE - live_bytes - (size_t)live_modules * MODULE_BYTES);
    *total = TOTAL;
    return OK;
}

/* ------------------------------------------------------------ allocations */

/* Live allocations, to size frees and catch frees with pending work. */
struct alloc {
    char *p;
    size_t n;
    int host;
    struct alloc *next;
};
static struct alloc *allocs;

static CUresult track(void *p, size_t n, int host)
{
    struct alloc *a = malloc(sizeof *a);
    if (!a)
        return INVALID_VALUE;
    a->p = p;
    a->n = n;
    a->host = host;
    LOCKED(a->next = allocs; allocs = a; live_bytes += host ? 0 : n);
    return OK;
}

static void pending_use_check(const char *p, size_t n);

static CUresult untrack(void *p, int host)
{
    CUresult r = INVALID_VALUE;
    pthread_mutex_lock(&lock);
    for (struct alloc **a = &allocs; *a; a = &(*a)->next) {
        if ((*a)->p == p && (*a)->host == host) {
            struct alloc *x = *a;
            pending_use_check(x->p, x->n);
            *a = x->next;
            live_bytes -= host ? 0 : x->n;
            free(x);
            r = OK;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    if (r == OK)
        free(p);
    return r;
}

CUresult cuMemAlloc_v2(CUdeviceptr *d, size_t n)
{
    if (need_ctx())
        return INVALID_CONTEXT;
    if (n == 0)
        return INVALID_VALUE;
    /* Poisoned, so a kernel reading memory nobody wrote shows. */
    void *p = malloc(n);
    if (!p)
        return 2;
    memset(p, 0xa5, n);
    *d = (CUdeviceptr)(uintptr_t)p;
    return track(p, n, 0);
}

CUresult cuMemFree_v2(CUdeviceptr d)
{
    return untrack((void *)(uintptr_t)d, 0);
}

CUresult cuMemHostAlloc(void **p, size_t n, unsigned flags)
{
    (void)flags;
    if (need_ctx())
        return INVALID_CONTEXT;
    *p = malloc(n ? n : 1);
    if (!*p)
        return 2;
    return track(*p, n, 1);
}

CUresult cuMemFreeHost(void *p)
{
    return untrack(p, 1);
}

/* ---------------------------------------------------------------- streams */

enum op_kind { HTOD, DTOH, MEMSET, KERNEL };

/* Kernel argument of kernels/psnr.cu. */
struct plane_set {
    unsigned long long ref[3], dis[3], ref_pitch[3], dis_pitch[3];
    unsigned int width[3], height[3], planes, unused;
};

/* Kernel argument of motion_sad_* in kernels/motion.cu. */
struct sad_args {
    unsigned long long prev, cur, prev_pitch, cur_pitch;
    unsigned int width, height, shift, unused;
};

struct op {
    enum op_kind kind;
    char *dst;
    const char *src;
    size_t n;
    /* 1: psnr_sse_u8, 2: psnr_sse_u16, 3: motion_sad_u8, 4: motion_sad_u16,
       5: motion_keep_rows */
    int function;
    unsigned grid_y;
    struct plane_set set;
    unsigned long long *sums;
    struct sad_args sad;
    /* motion_keep_rows: src, src_pitch, dst, dst_pitch; row bytes, rows */
    unsigned long long keep[4];
    unsigned keep_row_bytes, keep_height;
};

struct stream {
    struct op *ops;
    size_t len, cap;
    struct stream *next;
};
static struct stream *streams;

struct event {
    struct stream *recorded_on;
};

static int mirror(int i, int n)
{
    if (n == 1)
        return 0;
    for (;;) {
        if (i < 0)
            i = -i;
        else if (i >= n)
            i = 2 * n - 2 - i;
        else
            return i;
    }
}

static long long motion_sample(const struct op *o, unsigned long long base, unsigned long long pitch, int y, int x)
{
    const char *row = (const char *)(uintptr_t)base + (size_t)y * pitch;
    if (o->function == 3)
        return ((const unsigned char *)row)[x];
    unsigned short v;
    memcpy(&v, row + 2 * (size_t)x, 2);
    return v;
}

/* The integer motion SAD by its definition (not the GPU's tiling). */
static void run_motion(const struct op *o)
{
    static const long long taps[5] = { 3571, 16004, 26386, 16004, 3571 };
    const struct sad_args *a = &o->sad;
    int w = (int)a->width, h = (int)a->height;
    long long *row = malloc(sizeof *row * (size_t)w);
    if (!row)
        abort();
    unsigned long long total = 0;
    for (int i = 0; i < h; i++) {
        for (int j = 0; j < w; j++) {
            long long acc = 0;
            for (int k = 0; k < 5; k++) {
                int r = mirror(i + k - 2, h);
                acc += taps[k] * (motion_sample(o, a->prev, a->prev_pitch, r, j) -
                                  motion_sample(o, a->cur, a->cur_pitch, r, j));
            }
            row[j] = (acc + (1ll << (a->shift - 1))) >> a->shift;
        }
        unsigned int row_sum = 0;
        for (int j = 0; j < w; j++) {
            long long acc = 0;
            for (int k = 0; k < 5; k++)
                acc += taps[k] * row[mirror(j + k - 2, w)];
            long long v = (acc + (1 << 15)) >> 16;
            row_sum += (unsigned int)(v < 0 ? -v : v);
        }
        total += row_sum;
    }
    free(row);
    o->sums[0] += total;
}

static void run_kernel(const struct op *o)
{
    if (o->function == 3 || o->function == 4) {
        run_motion(o);
        return;
    }
    if (o->function == 5) {
        for (unsigned y = 0; y < o->keep_height; y++)
            memcpy((char *)(uintptr_t)(o->keep[2] + y * o->keep[3]),
                   (const char *)(uintptr_t)(o->keep[0] + y * o->keep[1]), o->keep_row_bytes);
        return;
    }
    for (unsigned p = 0; p < o->grid_y; p++) {
        unsigned long long acc = 0;
        for (unsigned y = 0; y < o->set.height[p]; y++) {
            const char *r = (const char *)(uintptr_t)o->set.ref[p] + (size_t)y * o->set.ref_pitch[p];
            const char *d = (const char *)(uintptr_t)o->set.dis[p] + (size_t)y * o->set.dis_pitch[p];
            for (unsigned x = 0; x < o->set.width[p]; x++) {
                long long e;
                if (o->function == 1) {
                    e = (long long)((const unsigned char *)r)[x] - ((const unsigned char *)d)[x];
                } else {
                    unsigned short a, b;
                    memcpy(&a, r + 2 * (size_t)x, 2);
                    memcpy(&b, d + 2 * (size_t)x, 2);
                    e = (long long)a - b;
                }
                acc += (unsigned long long)(e * e);
            }
        }
        o->sums[p] += acc;
    }
}

/* Runs everything queued on `s`. Called with the lock held. */
static void flush(struct stream *s)
{
    for (size_t i = 0; i < s->len; i++) {
        struct op *o = &s->ops[i];
        switch (o->kind) {
        case HTOD:
        case DTOH: memcpy(o->dst, o->src, o->n); break;
        case MEMSET: memset(o->dst, 0, o->n); break;
        case KERNEL: run_kernel(o); break;
        }
    }
    s->len = 0;
}

static int overlaps(const char *a, size_t an, const char *b, size_t bn)
{
    return a < b + bn && b < a + an;
}

static void pending_use_check(const char *p, size_t n)
{
    for (struct stream *s = streams; s; s = s->next) {
        for (size_t i = 0; i < s->len; i++) {
            const struct op *o = &s->ops[i];
            int uses = 0;
            if (o->kind == KERNEL && (o->function == 3 || o->function == 4)) {
                const struct sad_args *a = &o->sad;
                uses = overlaps(p, n, (const char *)(uintptr_t)a->prev, a->height * a->prev_pitch) ||
                       overlaps(p, n, (const char *)(uintptr_t)a->cur, a->height * a->cur_pitch) ||
                       overlaps(p, n, (const char *)o->sums, 8);
            } else if (o->kind == KERNEL && o->function == 5) {
                uses = overlaps(p, n, (const char *)(uintptr_t)o->keep[0], o->keep_height * o->keep[1]) ||
                       overlaps(p, n, (const char *)(uintptr_t)o->keep[2], o->keep_height * o->keep[3]);
            } else if (o->kind == KERNEL) {
                for (unsigned k = 0; k < o->grid_y; k++) {
                    size_t h = o->set.height[k];
                    uses |= overlaps(p, n, (const char *)(uintptr_t)o->set.ref[k], h * o->set.ref_pitch[k]) ||
                            overlaps(p, n, (const char *)(uintptr_t)o->set.dis[k], h * o->set.dis_pitch[k]);
                }
                uses |= overlaps(p, n, (const char *)o->sums, 24);
            } else {
                uses = overlaps(p, n, o->dst, o->n) || (o->src && overlaps(p, n, o->src, o->n));
            }
            if (uses) {
                fprintf(stderr, "mock CUDA driver: memory freed while queued work still uses it\n");
                abort();
            }
        }
    }
}

static CUresult enqueue(CUstream h, struct op o)
{
    if (!h) {
        fprintf(stderr, "mock CUDA driver: work on the legacy default stream\n");
        return INVALID_HANDLE;
    }
    struct stream *s = h;
    CUresult r = OK;
    pthread_mutex_lock(&lock);
    if (s->len == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct op *ops = realloc(s->ops, cap * sizeof *ops);
        if (!ops)
            r = INVALID_VALUE;
        else {
            s->ops = ops;
            s->cap = cap;
        }
    }
    if (r == OK)
        s->ops[s->len++] = o;
    pthread_mutex_unlock(&lock);
    return r;
}

CUresult cuStreamCreate(CUstream *h, unsigned flags)
{
    (void)flags;
    if (need_ctx())
        return INVALID_CONTEXT;
    struct stream *s = calloc(1, sizeof *s);
    if (!s)
        return 2;
    LOCKED(s->next = streams; streams = s);
    *h = s;
    return OK;
}

CUresult cuStreamSynchronize(CUstream h)
{
    if (!h)
        return OK;
    LOCKED(flush(h));
    return OK;
}

CUresult cuStreamDestroy_v2(CUstream h)
{
    struct stream *s = h;
    pthread_mutex_lock(&lock);
    flush(s);
    for (struct stream **p = &streams; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pthread_mutex_unlock(&lock);
    free(s->ops);
    free(s);
    return OK;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream s)
{
    struct op o = { .kind = HTOD, .dst = (char *)(uintptr_t)dst, .src = src, .n = n };
    return enqueue(s, o);
}

CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s)
{
    struct op o = { .kind = DTOH, .dst = dst, .src = (const char *)(uintptr_t)src, .n = n };
    return enqueue(s, o);
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, CUstream s)
{
    if (v != 0)
        return INVALID_VALUE;
    struct op o = { .kind = MEMSET, .dst = (char *)(uintptr_t)dst, .n = n };
    return enqueue(s, o);
}

/* CUDA_MEMCPY2D, host to device only. */
struct memcpy2d {
    size_t srcXInBytes, srcY;
    int srcMemoryType;
    const void *srcHost;
    CUdeviceptr srcDevice;
    void *srcArray;
    size_t srcPitch;
    size_t dstXInBytes, dstY;
    int dstMemoryType;
    void *dstHost;
    CUdeviceptr dstDevice;
    void *dstArray;
    size_t dstPitch;
    size_t WidthInBytes, Height;
};

/* Deferred like every stream operation: one HTOD op per row. The caller
   must wait for the stream before the source may change. */
CUresult cuMemcpy2DAsync_v2(const struct memcpy2d *c, CUstream s)
{
    if (c->srcMemoryType != 1 || c->dstMemoryType != 2)
        return INVALID_VALUE;
    for (size_t y = 0; y < c->Height; y++) {
        struct op o = { .kind = HTOD,
                        .dst = (char *)(uintptr_t)c->dstDevice + y * c->dstPitch,
                        .src = (const char *)c->srcHost + y * c->srcPitch,
                        .n = c->WidthInBytes };
        CUresult r = enqueue(s, o);
        if (r != OK)
            return r;
    }
    return OK;
}

/* ----------------------------------------------------------------- events */

CUresult cuEventCreate(CUevent *e, unsigned flags)
{
    (void)flags;
    if (need_ctx())
        return INVALID_CONTEXT;
    *e = calloc(1, sizeof(struct event));
    return *e ? OK : 2;
}

CUresult cuEventRecord(CUevent e, CUstream s)
{
    ((struct event *)e)->recorded_on = s;
    return OK;
}

CUresult cuEventSynchronize(CUevent e)
{
    struct stream *s = ((struct event *)e)->recorded_on;
    if (s)
        LOCKED(flush(s));
    return OK;
}

/* The mock runs a stream's work when someone waits for it; making another
   stream wait for an event runs the recording stream's work now, which
   keeps the order the real driver guarantees. */
CUresult cuStreamWaitEvent(CUstream h, CUevent e, unsigned flags)
{
    (void)h;
    (void)flags;
    struct stream *s = ((struct event *)e)->recorded_on;
    if (s)
        LOCKED(flush(s));
    return OK;
}

CUresult cuEventDestroy_v2(CUevent e)
{
    free(e);
    return OK;
}

/* ---------------------------------------------------------------- modules */

struct module {
    int magic;
};

CUresult cuModuleLoadData(CUmodule *m, const void *image)
{
    if (need_ctx())
        return INVALID_CONTEXT;
    /* The mock NVRTC's image, or a real CUBIN (an ELF file) when the real
       NVRTC is on the library path: its entry points are run in C. */
    if (strncmp(image, "MOCKCUBIN", 9) != 0 && memcmp(image, "\177ELF", 4) != 0)
        return INVALID_IMAGE;
    struct module *x = malloc(sizeof *x);
    if (!x)
        return 2;
    x->magic = 0x6d6f64;
    LOCKED(live_modules++);
    *m = x;
    return OK;
}

CUresult cuModuleUnload(CUmodule m)
{
    struct module *x = m;
    if (x->magic != 0x6d6f64)
        return INVALID_HANDLE;
    x->magic = 0;
    LOCKED(live_modules--);
    free(x);
    return OK;
}

static char fn_u8, fn_u16, fn_motion_u8, fn_motion_u16, fn_keep;

CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name)
{
    if (((struct module *)m)->magic != 0x6d6f64)
        return INVALID_HANDLE;
    if (!strcmp(name, "psnr_sse_u8"))
        *f = &fn_u8;
    else if (!strcmp(name, "psnr_sse_u16"))
        *f = &fn_u16;
    else if (!strcmp(name, "motion_sad_u8"))
        *f = &fn_motion_u8;
    else if (!strcmp(name, "motion_sad_u16"))
        *f = &fn_motion_u16;
    else if (!strcmp(name, "motion_keep_rows"))
        *f = &fn_keep;
    else
        return NOT_FOUND;
    return OK;
}

CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, CUstream s, void **params, void **extra)
{
    (void)shared;
    (void)extra;
    if (need_ctx())
        return INVALID_CONTEXT;
    if (f == &fn_motion_u8 || f == &fn_motion_u16 || f == &fn_keep) {
        if (gx == 0 || gy != 1 || gz != 1 || bx != 256 || by != 1 || bz != 1)
            return INVALID_VALUE;
        struct op o = { .kind = KERNEL, .grid_y = 1 };
        if (f == &fn_keep) {
            o.function = 5;
            for (int k = 0; k < 4; k++)
                memcpy(&o.keep[k], params[k], 8);
            memcpy(&o.keep_row_bytes, params[4], 4);
            memcpy(&o.keep_height, params[5], 4);
        } else {
            o.function = f == &fn_motion_u8 ? 3 : 4;
            memcpy(&o.sad, params[0], sizeof o.sad);
            memcpy(&o.sums, params[1], sizeof o.sums);
            if (o.sad.shift < 8 || o.sad.shift > 16)
                return INVALID_VALUE;
        }
        return enqueue(s, o);
    }
    if (f != &fn_u8 && f != &fn_u16)
        return INVALID_HANDLE;
    if (gx == 0 || gy == 0 || gy > 3 || gz != 1 || bx != 256 || by != 1 || bz != 1)
        return INVALID_VALUE;
    struct op o = { .kind = KERNEL, .function = f == &fn_u8 ? 1 : 2, .grid_y = gy };
    /* Arguments are copied at launch, as the driver does. */
    memcpy(&o.set, params[0], sizeof o.set);
    memcpy(&o.sums, params[1], sizeof o.sums);
    if (o.set.planes != gy)
        return INVALID_VALUE;
    return enqueue(s, o);
}
