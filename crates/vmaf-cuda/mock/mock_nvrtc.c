/*
 * A host-only stand-in for NVRTC, built as libnvrtc.so for
 * scripts/mock-device-check.sh (see mock_cuda.c for why). "Compiling"
 * checks the options vmaf-cuda passes (an architecture, never fast math)
 * and that the source defines the entry points, then returns an image the
 * mock driver accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvrtcResult;
struct program {
    char *src;
    char image[64];
    int compiled;
};

nvrtcResult nvrtcVersion(int *major, int *minor)
{
    *major = 13;
    *minor = 0;
    return 0;
}

static const int archs[] = { 75, 80, 86, 87, 89, 90, 100, 120 };

nvrtcResult nvrtcGetNumSupportedArchs(int *n)
{
    *n = (int)(sizeof archs / sizeof archs[0]);
    return 0;
}

nvrtcResult nvrtcGetSupportedArchs(int *out)
{
    memcpy(out, archs, sizeof archs);
    return 0;
}

nvrtcResult nvrtcCreateProgram(struct program **p, const char *src, const char *name, int nh, const char *const *h,
                               const char *const *names)
{
    (void)name, (void)nh, (void)h, (void)names;
    *p = calloc(1, sizeof **p);
    if (!*p)
        return 1;
    (*p)->src = strdup(src);
    return (*p)->src ? 0 : 1;
}

nvrtcResult nvrtcCompileProgram(struct program *p, int n, const char *const *opts)
{
    int arch = 0;
    for (int i = 0; i < n; i++) {
        if (strstr(opts[i], "fast_math") || !strcmp(opts[i], "--fmad=true"))
            return 5; /* NVRTC_ERROR_INVALID_OPTION: the crate must never ask */
        if (!strncmp(opts[i], "--gpu-architecture=sm_", 22))
            arch = 1;
    }
    int psnr = strstr(p->src, "psnr_sse_u8") && strstr(p->src, "psnr_sse_u16");
    int motion = strstr(p->src, "motion_sad_u8") && strstr(p->src, "motion_sad_u16");
    if (!arch || !(psnr || motion))
        return 6;
    snprintf(p->image, sizeof p->image, "MOCKCUBIN");
    p->compiled = 1;
    return 0;
}

nvrtcResult nvrtcGetProgramLogSize(struct program *p, size_t *n)
{
    (void)p;
    *n = 1;
    return 0;
}

nvrtcResult nvrtcGetProgramLog(struct program *p, char *log)
{
    (void)p;
    log[0] = 0;
    return 0;
}

nvrtcResult nvrtcGetCUBINSize(struct program *p, size_t *n)
{
    if (!p->compiled)
        return 4;
    *n = strlen(p->image) + 1;
    return 0;
}

nvrtcResult nvrtcGetCUBIN(struct program *p, char *out)
{
    strcpy(out, p->image);
    return 0;
}

nvrtcResult nvrtcGetPTXSize(struct program *p, size_t *n)
{
    return nvrtcGetCUBINSize(p, n);
}

nvrtcResult nvrtcGetPTX(struct program *p, char *out)
{
    return nvrtcGetCUBIN(p, out);
}

nvrtcResult nvrtcDestroyProgram(struct program **p)
{
    free((*p)->src);
    free(*p);
    *p = NULL;
    return 0;
}
