// vif: libvmaf's fixed-point VIF on the GPU, bit-identical to the CPU
// scalar code in crates/vmaf-cpu/src/features/integer_vif (the
// specification: same integer widths, rounding shifts and edge mirrors).
//
// Two kinds of kernel, one instantiation per scale:
//
// - vif_stat*: the statistic of one scale. A block owns a tile of
//   STAT_TW x STAT_TH output pixels. It loads the input rows and columns
//   the tile's filters reach into shared memory (through the host-built
//   row and column maps, which replay libvmaf's mirrored padding), runs
//   the vertical pass into shared memory (means and second moments), then
//   the horizontal pass and the per-pixel statistic, and adds the tile's
//   four integer sums to the scale's totals with 64-bit atomics. Every
//   term is an integer, so the totals do not depend on the order in which
//   blocks finish: they equal the CPU's sums exactly.
// - vif_sub*: filters a scale with the next scale's filter and keeps even
//   rows and columns, writing the next scale's 16-bit pictures into device
//   buffers (the pyramid never leaves the device).
//
// The only floating point is the per-pixel gain of the statistic, in
// double precision with explicitly rounded operations (__dmul_rn etc.) so
// that no contraction into fused multiply-adds can change a result; the
// CPU code does the same operations in the same order.
//
// Compiled by NVRTC without headers: only builtin types and intrinsics.

// Kernel arguments, passed by value. Layouts must match `StatArgs` and
// `SubArgs` in src/features/vif.rs (64-bit fields first, then 32-bit).
struct VifStatArgs {
    unsigned long long ref;       // this scale's pictures: device addresses
    unsigned long long dis;
    unsigned long long ref_pitch; // bytes from one row to the next
    unsigned long long dis_pitch;
    unsigned long long rows;      // const unsigned int *: source row of virtual row v at v + MAP_PAD
    unsigned long long cols;      // const unsigned int *: source column of position p at p + MAP_PAD
    unsigned long long log2;      // const unsigned short *: log2 table, index x - 32768
    unsigned long long sums;      // unsigned long long *: num_log, den_log, num_non_log, den_non_log
    double gain_limit;            // vif_enhn_gain_limit
    double gain_eps;              // added to sigma1_sq in the gain's denominator
    unsigned int w;               // this scale's size
    unsigned int h;
    unsigned int shift_mu;        // vertical rounding shift of the means
    unsigned int shift_sq;        // and of the second moments
};

struct VifSubArgs {
    unsigned long long ref;
    unsigned long long dis;
    unsigned long long ref_pitch;
    unsigned long long dis_pitch;
    unsigned long long rows;      // as in VifStatArgs (the same scale's row map)
    unsigned long long cols;      // column map for the next scale's filter
    unsigned long long out_ref;   // unsigned short *, wo x ho, rows wo apart
    unsigned long long out_dis;
    unsigned int w;
    unsigned int h;
    unsigned int wo;              // w / 2, h / 2
    unsigned int ho;
    unsigned int shift;           // vertical rounding shift
    unsigned int unused;
};

// Row and column maps cover positions -MAP_PAD .. n + MAP_PAD - 1.
#define MAP_PAD 8

#define VIF_BLOCK 256
#define STAT_TW 64
#define STAT_TH 16
#define SUB_TW 64
#define SUB_TH 8

// libvmaf's filters of the four scales (16-bit fixed point, each sums to
// 65536). A host test checks these against the CPU crate's FILTERS.
__constant__ unsigned int VIF_FILTER_0[17] = {489, 935, 1640, 2640, 3896, 5274, 6547, 7455, 7784, 7455, 6547, 5274, 3896, 2640, 1640, 935, 489};
__constant__ unsigned int VIF_FILTER_1[9] = {1244, 3663, 7925, 12590, 14692, 12590, 7925, 3663, 1244};
__constant__ unsigned int VIF_FILTER_2[5] = {3571, 16004, 26386, 16004, 3571};
__constant__ unsigned int VIF_FILTER_3[3] = {10904, 43728, 10904};

template <int S> struct Filter;
template <> struct Filter<0> {
    enum { HALF = 8 };
    static __device__ __forceinline__ unsigned int tap(int k) { return VIF_FILTER_0[k]; }
};
template <> struct Filter<1> {
    enum { HALF = 4 };
    static __device__ __forceinline__ unsigned int tap(int k) { return VIF_FILTER_1[k]; }
};
template <> struct Filter<2> {
    enum { HALF = 2 };
    static __device__ __forceinline__ unsigned int tap(int k) { return VIF_FILTER_2[k]; }
};
template <> struct Filter<3> {
    enum { HALF = 1 };
    static __device__ __forceinline__ unsigned int tap(int k) { return VIF_FILTER_3[k]; }
};

// The map entry of position p, which the maps hold for p in
// -MAP_PAD .. n + MAP_PAD - 1; positions of a partial tile beyond that are
// clamped (their results are never used).
__device__ __forceinline__ unsigned int mapped(const unsigned int *map, int p, int n)
{
    p = p < -MAP_PAD ? -MAP_PAD : p;
    p = p > n + MAP_PAD - 1 ? n + MAP_PAD - 1 : p;
    return __ldg(map + (p + MAP_PAD));
}

template <typename T>
__device__ __forceinline__ unsigned int sample(unsigned long long base, unsigned long long pitch, unsigned int row,
                                               unsigned int col)
{
    return (unsigned int)__ldg((const T *)(base + (unsigned long long)row * pitch) + col);
}

// Fixed-point log2 of x >= 2^16, in 1/2048 units: the top 16 bits index
// the table, the shift adds whole octaves.
__device__ __forceinline__ int log2_fixed(const unsigned short *table, unsigned long long x)
{
    const int k = 48 - __clzll((long long)x);
    return (int)__ldg(table + ((unsigned int)(x >> k) - 32768u)) + 2048 * k;
}

#define SIGMA_NSQ 131072 // 2.0 in 1/65536 units

struct Acc {
    unsigned long long num_log, den_log, num_non_log, den_non_log;
};

// The per-pixel statistic, from the variances and covariance.
__device__ __forceinline__ void pixel_statistic(int s1, int s2, int s12, const VifStatArgs &a,
                                                const unsigned short *table, Acc &acc)
{
    if (s1 >= SIGMA_NSQ) {
        acc.den_log += (unsigned long long)(log2_fixed(table, (unsigned int)SIGMA_NSQ + (unsigned int)s1) - 2048 * 17);
        if (s12 > 0 && s2 > 0) {
            const double g = __ddiv_rn((double)s12, __dadd_rn((double)s1, a.gain_eps));
            const double sv = __dsub_rn((double)s2, __dmul_rn(g, (double)s12));
            // Truncation toward zero, saturating, then clamped at 0 (sv is
            // below s2 < 2^31 here, so only the clamp can act).
            unsigned int sv_sq = 0;
            if (sv >= 2147483647.0)
                sv_sq = 2147483647u;
            else if (sv > 0.0)
                sv_sq = (unsigned int)(int)sv;
            const double gl = g < a.gain_limit ? g : a.gain_limit;
            const unsigned int numer1 = sv_sq + (unsigned int)SIGMA_NSQ;
            // g <= 100 and s1 < 2^31: the product is far inside int64.
            const long long numer1_tmp = (long long)__dmul_rn(__dmul_rn(gl, gl), (double)s1) + (long long)numer1;
            acc.num_log += (unsigned long long)(log2_fixed(table, (unsigned long long)numer1_tmp) -
                                                log2_fixed(table, numer1));
        }
    } else {
        acc.num_non_log += (unsigned long long)s2;
        acc.den_non_log += 1ull;
    }
}

__device__ __forceinline__ unsigned long long warp_sum(unsigned long long v)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

// Adds the block's four sums to the scale's totals.
__device__ __forceinline__ void block_add(Acc acc, unsigned long long *sums)
{
    __shared__ unsigned long long partial[VIF_BLOCK / 32][4];
    const unsigned int lane = threadIdx.x & 31u;
    const unsigned int warp = threadIdx.x >> 5;
    unsigned long long v[4] = {acc.num_log, acc.den_log, acc.num_non_log, acc.den_non_log};
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        v[q] = warp_sum(v[q]);
        if (lane == 0)
            partial[warp][q] = v[q];
    }
    __syncthreads();
    if (warp == 0) {
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            unsigned long long x = lane < VIF_BLOCK / 32 ? partial[lane][q] : 0ull;
            x = warp_sum(x);
            if (lane == 0 && x != 0)
                atomicAdd(sums + q, x);
        }
    }
}

// (a * b + 2^31) >> 32: the product of two 16.16 means, back in 16.16.
__device__ __forceinline__ unsigned int mul_round32(unsigned int a, unsigned int b)
{
    return (unsigned int)(((unsigned long long)a * b + 0x80000000ull) >> 32);
}

template <typename T, int S>
__device__ __forceinline__ void stat_scale(const VifStatArgs &a)
{
    constexpr int H = Filter<S>::HALF;
    constexpr int N = 2 * H + 1;
    constexpr int IW = STAT_TW + 2 * H; // columns the horizontal pass reads
    constexpr int IH = STAT_TH + 2 * H; // rows the vertical pass reads
    __shared__ unsigned short in_r[IH][IW];
    __shared__ unsigned short in_d[IH][IW];
    __shared__ unsigned int v_mu1[STAT_TH][IW];
    __shared__ unsigned int v_mu2[STAT_TH][IW];
    __shared__ unsigned int v_xx[STAT_TH][IW];
    __shared__ unsigned int v_yy[STAT_TH][IW];
    __shared__ unsigned int v_xy[STAT_TH][IW];

    const int w = (int)a.w, h = (int)a.h;
    const int x0 = (int)blockIdx.x * STAT_TW;
    const int y0 = (int)blockIdx.y * STAT_TH;
    const unsigned int *rows = (const unsigned int *)a.rows;
    const unsigned int *cols = (const unsigned int *)a.cols;

    // Input tile, mirrored rows and columns resolved through the maps: a
    // filter at a mirrored column reads the mirrored column's samples.
    for (int i = threadIdx.x; i < IH * IW; i += VIF_BLOCK) {
        const int r = i / IW, c = i % IW;
        const unsigned int sr = mapped(rows, y0 - H + r, h);
        const unsigned int sc = mapped(cols, x0 - H + c, w);
        in_r[r][c] = (unsigned short)sample<T>(a.ref, a.ref_pitch, sr, sc);
        in_d[r][c] = (unsigned short)sample<T>(a.dis, a.dis_pitch, sr, sc);
    }
    __syncthreads();

    // Vertical pass: means and second moments at every column of the tile
    // and its halo. Products of up to 16-bit samples and 16-bit taps fit
    // 32 bits; the moments are summed in 64.
    const unsigned int mu_round = (1u << a.shift_mu) >> 1;
    const unsigned long long sq_round = (1ull << a.shift_sq) >> 1;
    for (int i = threadIdx.x; i < STAT_TH * IW; i += VIF_BLOCK) {
        const int r = i / IW, c = i % IW;
        unsigned int m1 = 0, m2 = 0;
        unsigned long long rr = 0, dd = 0, rd = 0;
#pragma unroll
        for (int k = 0; k < N; ++k) {
            const unsigned int f = Filter<S>::tap(k);
            const unsigned int x = in_r[r + k][c], y = in_d[r + k][c];
            const unsigned int fx = f * x, fy = f * y;
            m1 += fx;
            m2 += fy;
            rr += (unsigned long long)fx * x;
            dd += (unsigned long long)fy * y;
            rd += (unsigned long long)fx * y;
        }
        v_mu1[r][c] = (m1 + mu_round) >> a.shift_mu;
        v_mu2[r][c] = (m2 + mu_round) >> a.shift_mu;
        v_xx[r][c] = (unsigned int)((rr + sq_round) >> a.shift_sq);
        v_yy[r][c] = (unsigned int)((dd + sq_round) >> a.shift_sq);
        v_xy[r][c] = (unsigned int)((rd + sq_round) >> a.shift_sq);
    }
    __syncthreads();

    // Horizontal pass and the statistic of each pixel of the tile.
    const unsigned short *table = (const unsigned short *)a.log2;
    Acc acc = {0ull, 0ull, 0ull, 0ull};
    for (int i = threadIdx.x; i < STAT_TH * STAT_TW; i += VIF_BLOCK) {
        const int r = i / STAT_TW, c = i % STAT_TW;
        if (y0 + r >= h || x0 + c >= w)
            continue;
        unsigned int m1 = 0, m2 = 0;
        unsigned long long xx = 0, yy = 0, xy = 0;
#pragma unroll
        for (int k = 0; k < N; ++k) {
            const unsigned int f = Filter<S>::tap(k);
            m1 += f * v_mu1[r][c + k];
            m2 += f * v_mu2[r][c + k];
            xx += (unsigned long long)f * v_xx[r][c + k];
            yy += (unsigned long long)f * v_yy[r][c + k];
            xy += (unsigned long long)f * v_xy[r][c + k];
        }
        const unsigned int xx32 = (unsigned int)((xx + 32768ull) >> 16);
        const unsigned int yy32 = (unsigned int)((yy + 32768ull) >> 16);
        const unsigned int xy32 = (unsigned int)((xy + 32768ull) >> 16);
        // Subtracted in 32-bit unsigned and read as signed, as libvmaf
        // does: rounding can make a variance slightly negative.
        const int s1 = (int)(xx32 - mul_round32(m1, m1));
        int s2 = (int)(yy32 - mul_round32(m2, m2));
        s2 = s2 < 0 ? 0 : s2;
        const int s12 = (int)(xy32 - mul_round32(m1, m2));
        pixel_statistic(s1, s2, s12, a, table, acc);
    }
    block_add(acc, (unsigned long long *)a.sums);
}

// Scale S filtered with scale S+1's filter, even rows and columns kept.
template <typename T, int S>
__device__ __forceinline__ void subsample_scale(const VifSubArgs &a)
{
    constexpr int H = Filter<S + 1>::HALF;
    constexpr int N = 2 * H + 1;
    constexpr int VW = 2 * SUB_TW - 1 + 2 * H; // input columns the tile's outputs reach
    __shared__ unsigned int v_r[SUB_TH][VW];
    __shared__ unsigned int v_d[SUB_TH][VW];

    const int w = (int)a.w, h = (int)a.h;
    const int x0 = (int)blockIdx.x * SUB_TW;
    const int y0 = (int)blockIdx.y * SUB_TH;
    const unsigned int *rows = (const unsigned int *)a.rows;
    const unsigned int *cols = (const unsigned int *)a.cols;
    const unsigned int round = (1u << a.shift) >> 1;

    // Vertical pass at the even rows this tile outputs.
    for (int i = threadIdx.x; i < SUB_TH * VW; i += VIF_BLOCK) {
        const int r = i / VW, c = i % VW;
        const unsigned int sc = mapped(cols, 2 * x0 - H + c, w);
        const int centre = 2 * (y0 + r);
        unsigned int sr = 0, sd = 0;
#pragma unroll
        for (int k = 0; k < N; ++k) {
            const unsigned int f = Filter<S + 1>::tap(k);
            const unsigned int row = mapped(rows, centre - H + k, h);
            sr += f * sample<T>(a.ref, a.ref_pitch, row, sc);
            sd += f * sample<T>(a.dis, a.dis_pitch, row, sc);
        }
        v_r[r][c] = (sr + round) >> a.shift;
        v_d[r][c] = (sd + round) >> a.shift;
    }
    __syncthreads();

    unsigned short *out_r = (unsigned short *)a.out_ref;
    unsigned short *out_d = (unsigned short *)a.out_dis;
    for (int i = threadIdx.x; i < SUB_TH * SUB_TW; i += VIF_BLOCK) {
        const int r = i / SUB_TW, c = i % SUB_TW;
        const int y = y0 + r, x = x0 + c;
        if (y >= (int)a.ho || x >= (int)a.wo)
            continue;
        unsigned int sr = 0, sd = 0;
#pragma unroll
        for (int k = 0; k < N; ++k) {
            const unsigned int f = Filter<S + 1>::tap(k);
            sr += f * v_r[r][2 * c + k];
            sd += f * v_d[r][2 * c + k];
        }
        const unsigned long long o = (unsigned long long)y * a.wo + x;
        out_r[o] = (unsigned short)((sr + 32768u) >> 16);
        out_d[o] = (unsigned short)((sd + 32768u) >> 16);
    }
}

extern "C" __global__ void __launch_bounds__(VIF_BLOCK) vif_stat0_u8(VifStatArgs a)
{
    stat_scale<unsigned char, 0>(a);
}
extern "C" __global__ void __launch_bounds__(VIF_BLOCK) vif_stat0_u16(VifStatArgs a)
{
    stat_scale<unsigned short, 0>(a);
}
extern "C" __global__ void __launch_bounds__(VIF_BLOCK) vif_stat1(VifStatArgs a)
{
    stat_scale<unsigned short, 1>(a);
}
extern "C" __global__ void __launch_bounds__(VIF_BLOCK) vif_stat2(VifStatArgs a)
{
    stat_scale<unsigned short, 2>(a);
}
extern "C" __global__ void __launch_bounds__(VIF_BLOCK) vif_stat3(VifStatArgs a)
{
    stat_scale<unsigned short, 3>(a);
}
extern "C" __global__ void __launch_bounds__(VIF_BLOCK) vif_sub0_u8(VifSubArgs a)
{
    subsample_scale<unsigned char, 0>(a);
}
extern "C" __global__ void __launch_bounds__(VIF_BLOCK) vif_sub0_u16(VifSubArgs a)
{
    subsample_scale<unsigned short, 0>(a);
}
extern "C" __global__ void __launch_bounds__(VIF_BLOCK) vif_sub1(VifSubArgs a)
{
    subsample_scale<unsigned short, 1>(a);
}
extern "C" __global__ void __launch_bounds__(VIF_BLOCK) vif_sub2(VifSubArgs a)
{
    subsample_scale<unsigned short, 2>(a);
}
