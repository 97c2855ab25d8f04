// psnr: the sum of squared differences of each plane of a picture pair,
// exact in 64-bit integers, for the host to turn into dB with the same code
// the CPU backend uses.
//
// One launch covers every plane: blockIdx.y is the plane, blocks stride
// over its rows, threads over the samples of a row. Each block reduces its
// partial sum (warp shuffles, then one warp over the warp sums) and adds it
// to sums[plane] with one 64-bit atomic. Integer addition is associative,
// so the result does not depend on the order blocks finish in.
//
// Compiled by NVRTC without headers: only builtin types and intrinsics.

// Kernel argument, passed by value. Its layout must match `PlaneSet` in
// src/features/psnr.rs (all 64-bit fields first, then 32-bit ones).
struct PlaneSet {
    unsigned long long ref[3];       // device address of each plane's first row
    unsigned long long dis[3];
    unsigned long long ref_pitch[3]; // bytes from one row to the next
    unsigned long long dis_pitch[3];
    unsigned int width[3];           // samples per row
    unsigned int height[3];          // rows
    unsigned int planes;             // planes to sum (gridDim.y)
    unsigned int unused;
};

#define PSNR_BLOCK 256

__device__ __forceinline__ unsigned long long warp_sum(unsigned long long v)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

template <typename T>
__device__ __forceinline__ void plane_sse(const PlaneSet &p, unsigned long long *sums)
{
    const unsigned int plane = blockIdx.y;
    const unsigned int w = p.width[plane];
    const unsigned int h = p.height[plane];
    const char *ref = (const char *)p.ref[plane];
    const char *dis = (const char *)p.dis[plane];

    // Squares of 16-bit differences reach 2^32, so each term is formed in
    // 64 bits; a plane's total stays below 2^62 for the largest pictures.
    unsigned long long acc = 0;
    for (unsigned int y = blockIdx.x; y < h; y += gridDim.x) {
        const T *r = (const T *)(ref + (unsigned long long)y * p.ref_pitch[plane]);
        const T *d = (const T *)(dis + (unsigned long long)y * p.dis_pitch[plane]);
        for (unsigned int x = threadIdx.x; x < w; x += blockDim.x) {
            const long long e = (long long)r[x] - (long long)d[x];
            acc += (unsigned long long)(e * e);
        }
    }

    __shared__ unsigned long long warp_sums[PSNR_BLOCK / 32];
    const unsigned int lane = threadIdx.x & 31u;
    const unsigned int warp = threadIdx.x >> 5;
    acc = warp_sum(acc);
    if (lane == 0)
        warp_sums[warp] = acc;
    __syncthreads();
    if (warp == 0) {
        acc = lane < (blockDim.x >> 5) ? warp_sums[lane] : 0ull;
        acc = warp_sum(acc);
        if (lane == 0 && acc != 0)
            atomicAdd(&sums[plane], acc);
    }
}

extern "C" __global__ void __launch_bounds__(PSNR_BLOCK)
psnr_sse_u8(PlaneSet p, unsigned long long *sums)
{
    plane_sse<unsigned char>(p, sums);
}

extern "C" __global__ void __launch_bounds__(PSNR_BLOCK)
psnr_sse_u16(PlaneSet p, unsigned long long *sums)
{
    plane_sse<unsigned short>(p, sums);
}
