// motion: the integer SAD of libvmaf's integer motion, exact, for the host
// to turn into the score with the same code the CPU backend uses.
//
// The CPU reference (vmaf-cpu integer_motion/scalar.rs) blurs the
// *difference* prev - cur with the 5-tap integer Gaussian, rounding after
// the vertical pass and again after the horizontal one. Rounding does not
// commute with subtraction, so blurring each frame on its own and
// subtracting the blurred frames would NOT give the same integers: the
// frames kept on the device are the raw luma planes, and the difference
// is blurred here, as on the CPU.
//
// motion_sad_*: blocks stride over output rows; a block walks its row in
// tiles of MOTION_BLOCK output columns. For a tile it first computes the
// vertical pass of the difference for the tile's columns plus the two
// mirrored columns on each side into shared memory, then each thread does
// the horizontal pass of one output column and adds its absolute value to
// a 32-bit row sum. Like the CPU, a row's sum is 32-bit (wrapping), rows
// are summed in 64 bits: the block reduces its per-thread row sums with
// 32-bit wrapping additions (associative, so the order does not matter),
// keeps a 64-bit total over its rows, and adds it to *sad with one atomic.
//
// motion_keep_rows: copies a pitched plane (a picture already in device
// memory) into the extractor's tightly packed history buffer.
//
// Compiled by NVRTC without headers: only builtin types and intrinsics.

// Kernel argument, passed by value. Its layout must match `SadArgs` in
// src/features/motion.rs (all 64-bit fields first, then 32-bit ones).
struct SadArgs {
    unsigned long long prev;       // device address of the older luma plane
    unsigned long long cur;        // and of the current one
    unsigned long long prev_pitch; // bytes from one row to the next
    unsigned long long cur_pitch;
    unsigned int width;            // samples per row
    unsigned int height;           // rows
    unsigned int shift;            // vertical-pass shift (8 for 8-bit, else bpc)
    unsigned int unused;
};

#define MOTION_BLOCK 256
#define MOTION_PAD 2
#define MOTION_TILE (MOTION_BLOCK + 2 * MOTION_PAD)

// The integer Gaussian, sums to 65536 (TAPS in the CPU module).
#define MOTION_TAP0 3571
#define MOTION_TAP1 16004
#define MOTION_TAP2 26386

__device__ __forceinline__ int tap(int k)
{
    return k == 2 ? MOTION_TAP2 : (k == 1 || k == 3) ? MOTION_TAP1 : MOTION_TAP0;
}

// Mirrors i into 0..n without repeating the edge sample; keeps reflecting
// for planes of 1 or 2 samples, exactly as the CPU's `reflect`.
__device__ __forceinline__ int reflect(int i, int n)
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

__device__ __forceinline__ unsigned int warp_sum32(unsigned int v)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

// One vertical-pass value at column x: (sum tap * (prev - cur) + round) >> shift.
// Acc is wide enough for the exact sum (int for 8-bit, 64-bit otherwise);
// >> on signed values is arithmetic (floor), as on the CPU.
template <typename T, typename Acc>
__device__ __forceinline__ int vertical(const T *const *p, const T *const *c, int x, unsigned int shift)
{
    Acc acc = 0;
#pragma unroll
    for (int k = 0; k < 5; k++)
        acc += (Acc)tap(k) * ((Acc)p[k][x] - (Acc)c[k][x]);
    return (int)((acc + ((Acc)1 << (shift - 1))) >> shift);
}

template <typename T, typename Acc>
__device__ __forceinline__ void motion_sad(const SadArgs &a, unsigned long long *sad)
{
    __shared__ int row[MOTION_TILE];
    __shared__ unsigned int warp_sums[MOTION_BLOCK / 32];
    const int w = (int)a.width;
    const int h = (int)a.height;
    const unsigned int lane = threadIdx.x & 31u;
    const unsigned int warp = threadIdx.x >> 5;

    unsigned long long total = 0; // thread 0 only
    for (int y = blockIdx.x; y < h; y += gridDim.x) {
        const T *p[5];
        const T *c[5];
#pragma unroll
        for (int k = 0; k < 5; k++) {
            const unsigned long long r = (unsigned long long)reflect(y + k - MOTION_PAD, h);
            p[k] = (const T *)(a.prev + r * a.prev_pitch);
            c[k] = (const T *)(a.cur + r * a.cur_pitch);
        }
        unsigned int row_sum = 0;
        for (int x0 = 0; x0 < w; x0 += MOTION_BLOCK) {
            // Shared slot s holds the vertical pass at column x0 - PAD + s,
            // mirrored into the row; slots past the row's right border
            // (plus its PAD mirrored columns) are never read.
            for (int s = threadIdx.x; s < MOTION_TILE; s += blockDim.x) {
                const int col = x0 - MOTION_PAD + s;
                if (col < w + MOTION_PAD)
                    row[s] = vertical<T, Acc>(p, c, reflect(col, w), a.shift);
            }
            __syncthreads();
            const int x = x0 + (int)threadIdx.x;
            if (x < w) {
                long long acc = 0;
#pragma unroll
                for (int k = 0; k < 5; k++)
                    acc += (long long)tap(k) * (long long)row[threadIdx.x + k];
                const int v = (int)((acc + (1ll << 15)) >> 16);
                row_sum += (unsigned int)(v < 0 ? -v : v);
            }
            __syncthreads();
        }
        // The row's 32-bit sum, then into the 64-bit total. warp_sums is
        // next written after at least one more barrier (every row has a
        // tile), which thread 0 reaches only after reading it here.
        row_sum = warp_sum32(row_sum);
        if (lane == 0)
            warp_sums[warp] = row_sum;
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned int s = 0;
            for (unsigned int i = 0; i < (blockDim.x >> 5); i++)
                s += warp_sums[i];
            total += s;
        }
    }
    if (threadIdx.x == 0 && total != 0)
        atomicAdd(sad, total);
}

extern "C" __global__ void __launch_bounds__(MOTION_BLOCK)
motion_sad_u8(SadArgs a, unsigned long long *sad)
{
    motion_sad<unsigned char, int>(a, sad);
}

extern "C" __global__ void __launch_bounds__(MOTION_BLOCK)
motion_sad_u16(SadArgs a, unsigned long long *sad)
{
    motion_sad<unsigned short, long long>(a, sad);
}

// Copies height rows of row_bytes bytes from src (rows src_pitch apart) to
// dst (rows dst_pitch apart). Blocks stride over rows, threads over bytes.
extern "C" __global__ void __launch_bounds__(MOTION_BLOCK)
motion_keep_rows(unsigned long long src, unsigned long long src_pitch, unsigned long long dst,
                 unsigned long long dst_pitch, unsigned int row_bytes, unsigned int height)
{
    for (unsigned int y = blockIdx.x; y < height; y += gridDim.x) {
        const unsigned char *s = (const unsigned char *)(src + (unsigned long long)y * src_pitch);
        unsigned char *d = (unsigned char *)(dst + (unsigned long long)y * dst_pitch);
        for (unsigned int x = threadIdx.x; x < row_bytes; x += blockDim.x)
            d[x] = s[x];
    }
}
