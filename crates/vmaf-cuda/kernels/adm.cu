// adm: libvmaf's fixed-point Additive Detail Metric on the GPU, bit for
// bit the arithmetic of the CPU scalar reference
// (vmaf-cpu/src/features/integer_adm/scalar.rs, the specification).
//
// One frame runs four DWT levels; each level is four launches over whole
// bands kept in device memory:
//   1. adm_dwt_vertical_*: the vertical filter of the level's input (the
//      luma plane at level 0, the previous approximation band after) into
//      low- and high-pass rows;
//   2. adm_dwt_horizontal: the horizontal filter into the approximation
//      band (the next level's input) and the h, v, d detail bands;
//   3. adm_decouple_csf: per coefficient of the region the masking reads,
//      the split of each distorted detail into restored and additive parts
//      and the CSF-weighted |x|/30 (F) and |x|/15 (C) sums over angles the
//      masking threshold is built from;
//   4. adm_masking: one block per scored row: the reference energy, the
//      masked restored detail (DLM) and the masked additive part (AIM),
//      each rounded per row exactly where the CPU rounds it and added to
//      the level's nine sums with 64-bit atomics.
// Every sum is an integer sum modulo 2^64 (the CPU's wrapping sums), which
// does not depend on the order of the additions, so the block layout
// cannot change a bit of it. The host turns the sums into scores with the
// CPU crate's own code.
//
// Overflow: where the CPU wraps (two's complement), this code computes in
// unsigned types and converts back, which is defined in C++ and gives the
// same bits. Level-0 values are 16-bit in the CPU code; here every band is
// stored as int, holding the same (sign-extended) 16-bit values.
//
// Compiled by NVRTC without headers, with --fmad=false: the few double
// operations (the angle test and the enhancement limit) must round like
// the CPU's separate multiplies.

// Kernel argument, passed by value. Every field is 64 bits wide so that
// the layout has no padding; it must list the same fields, in the same
// order, as `AdmArgs` in src/features/adm.rs (a host test compares them).
struct AdmArgs {
    unsigned long long src[2];       // level 0: luma of reference, distorted
    unsigned long long src_pitch[2]; // bytes from one luma row to the next
    unsigned long long approx_in;    // levels 1..3: int [2][plane], rows `stride` apart
    unsigned long long approx_out;   // int [2][plane]
    unsigned long long tmp;          // int [2 image][2 lo/hi][tmp_plane]
    unsigned long long band;         // int [2 image][3 angle][plane]
    unsigned long long dec;          // int [2 restored/additive][3 angle][plane]
    unsigned long long fc;           // int [2 restored/additive][2 F/C][plane]
    unsigned long long sums;         // unsigned long long [9]: den, num, aim x (h, v, d)
    long long tmp_stride;            // ints per row of tmp
    long long tmp_plane;             // ints per plane of tmp
    long long stride;                // ints per row of every band buffer
    long long plane;                 // ints per plane of every band buffer
    long long level;
    long long bpc;
    long long in_w;                  // size of the level's input
    long long in_h;
    long long w;                     // size of the level's bands
    long long h;
    long long col0;                  // scored region [col0, col1) x [row0, row1)
    long long col1;
    long long row0;
    long long row1;
    long long ncol0;                 // region decoupling and CSF cover
    long long ncol1;
    long long nrow0;
    long long nrow1;
    long long v_add;                 // levels 1..3: DWT rounding
    long long v_shift;
    long long h_add;
    long long h_shift;
    long long rf[3];                 // CSF weights: Q21/Q23 at level 0, Q32 after
    long long sq_shift[3];           // masking cube rounding, per angle
    long long sq_add[3];
    long long cub_shift[3];
    long long cub_add[3];
    long long thr_shift[3];
    long long cm_row_shift;          // masking per-row rounding
    long long cm_row_add;
    long long den_row_shift;         // reference energy per-row rounding
    unsigned long long den_row_add;
    long long den_sq_shift;          // levels 1..3: reference energy cube rounding
    unsigned long long den_sq_add;
    long long den_cub_shift;
    unsigned long long den_cub_add;
    double egl;                      // adm_enhn_gain_limit
    double cos_sq;                   // cos^2(1 degree), a float widened exactly
    long long skip_aim;
};

#define ADM_TILE 128  // threads per block of the per-coefficient kernels
#define ADM_BLOCK 256 // threads per block of adm_masking

// Daubechies-2 analysis filters in Q15 and the low-pass DC gain.
__constant__ int ADM_LO[4] = {15826, 27411, 7345, -4240};
__constant__ int ADM_HI[4] = {-4240, -7345, 27411, -15826};
#define ADM_LO_SUM 46342

// Masking threshold weights: 1/30 and 1/15 in Q17 (level 0) and Q32, and
// the Q32 rounding constant 2^31 as libvmaf stores it, in an int32.
#define ONE_BY_30_Q17 4369
#define ONE_BY_15_Q17 8738
#define ONE_BY_30_Q32 143165577ll
#define ONE_BY_15_Q32 286331153ll
#define ROUND_Q32 (-2147483648ll)

// Level-0 CSF rounding constant and shift per angle (h, v, d).
__constant__ int CSF0_ADD[3] = {16384, 16384, 65535};
__constant__ int CSF0_SHIFT[3] = {15, 15, 17};

// ------------------------------------------------------------- helpers

__device__ __forceinline__ int wrap_add(int a, int b)
{
    return (int)((unsigned int)a + (unsigned int)b);
}

__device__ __forceinline__ int wrap_abs(int x)
{
    return x < 0 ? (int)(0u - (unsigned int)x) : x;
}

// The DWT's edge rule: -1 reads 1, n reads n - 1, n + 1 reads n - 2.
__device__ __forceinline__ long long mirror(long long x, long long n)
{
    if (x < 0)
        return -x;
    if (x >= n)
        return 2 * n - x - 1;
    return x;
}

// The masking window's edge rule: -1 reads 1, n reads n - 1.
__device__ __forceinline__ long long before(long long i)
{
    return i == 0 ? 1 : i - 1;
}

__device__ __forceinline__ long long after(long long i, long long n)
{
    return i + 1 == n ? i : i + 1;
}

// 2^30 / i, negated for negative i: the CPU's reciprocal table, computed.
__device__ __forceinline__ long long reciprocal(long long i)
{
    const long long m = i < 0 ? -i : i;
    const long long q = (1ll << 30) / m;
    return i < 0 ? -q : q;
}

__device__ __forceinline__ long long clamp_gain(long long k)
{
    return k < 0 ? 0 : (k > 32768 ? 32768 : k);
}

// Whether the (h, v) gradients of reference and distorted are within one
// degree: 64-bit dot products rounded to float, then compared in double.
__device__ __forceinline__ bool same_direction(long long oh, long long ov, long long th, long long tv, double cos_sq)
{
    const long long dot = (long long)((unsigned long long)(oh * th) + (unsigned long long)(ov * tv));
    const long long o2 = (long long)((unsigned long long)(oh * oh) + (unsigned long long)(ov * ov));
    const long long t2 = (long long)((unsigned long long)(th * th) + (unsigned long long)(tv * tv));
    const double d = (double)(float)dot / 4096.0;
    const double od = (double)(float)o2 / 4096.0;
    const double td = (double)(float)t2 / 4096.0;
    const double rhs = cos_sq * od;
    return d >= 0.0 && d * d >= rhs * td;
}

// The part of distorted coefficient t restored from reference o with gain
// k (Q15): k * o, or, where the gradients agree, up to egl times that but
// never beyond t.
__device__ __forceinline__ long long restore(long long k, long long o, long long t, bool angle, double egl)
{
    long long r = (k * o + 16384) >> 15;
    if (angle && k > 0 && o != 0) {
        const double x = (double)r * egl;
        const double td = (double)t;
        double m;
        if (o > 0)
            m = x < td ? x : td;
        else
            m = x > td ? x : td;
        r = (long long)m;
    }
    return r;
}

// Gain t / o in Q15 for 16-bit coefficients (level 0).
__device__ __forceinline__ long long gain16(long long o, long long t)
{
    if (o == 0)
        return 32768;
    return clamp_gain((reciprocal(o) * t + 16384) >> 15);
}

// Gain t / o in Q15 for 32-bit coefficients: the reciprocal of the top 15
// bits of |o| (rounded), the product shifted back.
__device__ __forceinline__ long long gain32(int o, int t)
{
    if (o == 0)
        return 32768;
    const unsigned int m = o < 0 ? 0u - (unsigned int)o : (unsigned int)o;
    unsigned int msb = m;
    unsigned int shift = 0;
    if (m >= 32768u) {
        shift = 17u - (unsigned int)__clz((int)m);
        msb = (m + (1u << (shift - 1))) >> shift;
    }
    const long long sign = o < 0 ? -1 : 1;
    // 1 << 31 is an int in libvmaf: it becomes INT_MIN.
    const long long round = (long long)(int)(1u << (14u + shift));
    const long long k = ((reciprocal((long long)msb) * (long long)t) * sign + round) >> (15u + shift);
    return clamp_gain(k);
}

// Levels 1..3 CSF: Q32 weight, rounded back to the band's fixed point.
__device__ __forceinline__ int csf32(int x, long long rf)
{
    return (int)((rf * (long long)x + (1ll << 27)) >> 28);
}

// |x| times a Q32 weight, with libvmaf's negative rounding constant.
__device__ __forceinline__ int q32_weight(int x, long long w)
{
    return (int)((w * (long long)wrap_abs(x) + ROUND_Q32) >> 32);
}

// max(x - thr, 0) cubed in libvmaf's fixed point for angle k: the square
// rounded, shifted and truncated to 32 bits, the cube rounded and shifted.
__device__ __forceinline__ long long cube(const AdmArgs &a, int x, int thr, int k)
{
    int d = (int)((unsigned int)x - (unsigned int)thr);
    if (d < 0)
        d = 0;
    const long long xx = d;
    const long long sq = (long long)(int)((xx * xx + a.sq_add[k]) >> a.sq_shift[k]);
    return (long long)((unsigned long long)(sq * xx) + (unsigned long long)a.cub_add[k]) >> a.cub_shift[k];
}

__device__ __forceinline__ unsigned long long warp_sum(unsigned long long v)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

// ---------------------------------------------------------- 1. vertical

// Level 0: four picture rows to a low- and a high-pass row, centred on
// zero and scaled down by the bit depth, in wrapping 32-bit arithmetic.
template <typename T>
__device__ __forceinline__ void dwt0_vertical(const AdmArgs &a)
{
    const long long x = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (x >= a.in_w)
        return;
    const unsigned int img = blockIdx.z;
    const char *src = (const char *)a.src[img];
    const unsigned long long pitch = a.src_pitch[img];
    int *lo = (int *)a.tmp + (long long)(img * 2) * a.tmp_plane;
    int *hi = lo + a.tmp_plane;
    const int bpc = (int)a.bpc;
    const unsigned int add = 1u << (bpc - 1);
    const unsigned int bias = (unsigned int)ADM_LO_SUM * add;
    for (long long i = blockIdx.y; i < a.h; i += gridDim.y) {
        unsigned int l = 0, h = 0;
        for (int k = 0; k < 4; k++) {
            const long long y = mirror(2 * i - 1 + k, a.in_h);
            const unsigned int s = ((const T *)(src + (unsigned long long)y * pitch))[x];
            l += (unsigned int)ADM_LO[k] * s;
            h += (unsigned int)ADM_HI[k] * s;
        }
        lo[i * a.tmp_stride + x] = (short)((int)(l - bias + add) >> bpc);
        hi[i * a.tmp_stride + x] = (short)((int)(h + add) >> bpc);
    }
}

extern "C" __global__ void __launch_bounds__(ADM_TILE)
adm_dwt_vertical_u8(AdmArgs a)
{
    dwt0_vertical<unsigned char>(a);
}

extern "C" __global__ void __launch_bounds__(ADM_TILE)
adm_dwt_vertical_u16(AdmArgs a)
{
    dwt0_vertical<unsigned short>(a);
}

// Levels 1..3: the previous approximation band, 64-bit sums, rounded,
// shifted and truncated to 32 bits.
extern "C" __global__ void __launch_bounds__(ADM_TILE)
adm_dwt_vertical_s32(AdmArgs a)
{
    const long long x = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (x >= a.in_w)
        return;
    const unsigned int img = blockIdx.z;
    const int *src = (const int *)a.approx_in + img * a.plane;
    int *lo = (int *)a.tmp + (long long)(img * 2) * a.tmp_plane;
    int *hi = lo + a.tmp_plane;
    for (long long i = blockIdx.y; i < a.h; i += gridDim.y) {
        long long l = 0, h = 0;
        for (int k = 0; k < 4; k++) {
            const long long y = mirror(2 * i - 1 + k, a.in_h);
            const long long s = src[y * a.stride + x];
            l += (long long)ADM_LO[k] * s;
            h += (long long)ADM_HI[k] * s;
        }
        lo[i * a.tmp_stride + x] = (int)((l + a.v_add) >> a.v_shift);
        hi[i * a.tmp_stride + x] = (int)((h + a.v_add) >> a.v_shift);
    }
}

// -------------------------------------------------------- 2. horizontal

__device__ __forceinline__ int filter16(const int *c, const int *row, const long long *t)
{
    unsigned int acc = 0;
    for (int k = 0; k < 4; k++)
        acc += (unsigned int)(c[k] * row[t[k]]);
    return (short)((int)(acc + 32768u) >> 16);
}

__device__ __forceinline__ int filter32(const int *c, const int *row, const long long *t, long long add, long long shift)
{
    long long acc = 0;
    for (int k = 0; k < 4; k++)
        acc += (long long)c[k] * (long long)row[t[k]];
    return (int)((acc + add) >> shift);
}

// Low-pass row -> approximation and v (high-pass horizontally); high-pass
// row -> h (low-pass horizontally) and d.
extern "C" __global__ void __launch_bounds__(ADM_TILE)
adm_dwt_horizontal(AdmArgs a)
{
    const long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= a.w)
        return;
    const unsigned int img = blockIdx.z;
    const int *lo_plane = (const int *)a.tmp + (long long)(img * 2) * a.tmp_plane;
    const int *hi_plane = lo_plane + a.tmp_plane;
    int *approx = (int *)a.approx_out + img * a.plane;
    int *band = (int *)a.band + (long long)(img * 3) * a.plane;
    long long t[4];
    for (int k = 0; k < 4; k++)
        t[k] = mirror(2 * j - 1 + k, a.in_w);
    for (long long i = blockIdx.y; i < a.h; i += gridDim.y) {
        const int *lo = lo_plane + i * a.tmp_stride;
        const int *hi = hi_plane + i * a.tmp_stride;
        const long long o = i * a.stride + j;
        if (a.level == 0) {
            approx[o] = filter16(ADM_LO, lo, t);
            band[o] = filter16(ADM_LO, hi, t);
            band[a.plane + o] = filter16(ADM_HI, lo, t);
            band[2 * a.plane + o] = filter16(ADM_HI, hi, t);
        } else {
            approx[o] = filter32(ADM_LO, lo, t, a.h_add, a.h_shift);
            band[o] = filter32(ADM_LO, hi, t, a.h_add, a.h_shift);
            band[a.plane + o] = filter32(ADM_HI, lo, t, a.h_add, a.h_shift);
            band[2 * a.plane + o] = filter32(ADM_HI, hi, t, a.h_add, a.h_shift);
        }
    }
}

// ---------------------------------------------------- 3. decouple + CSF

// F and C of one coefficient triple at level 0: per angle the CSF-weighted
// value, |.|/30 and |.|/15 each rounded to int16, summed over angles.
__device__ __forceinline__ void csf0_fc(const AdmArgs &a, const int *x, int *f, int *c)
{
    int fs = 0, cs = 0;
    for (int k = 0; k < 3; k++) {
        const int v = (int)a.rf[k] * x[k];
        const short dst = (short)((int)((unsigned int)v + (unsigned int)CSF0_ADD[k]) >> CSF0_SHIFT[k]);
        const int m = dst < 0 ? -(int)dst : (int)dst;
        fs += (short)((ONE_BY_30_Q17 * m + 2048) >> 12);
        cs += (short)((ONE_BY_15_Q17 * m + 2048) >> 12);
    }
    *f = fs;
    *c = cs;
}

// The same at levels 1..3: Q32 weights, sums wrapping in 32 bits.
__device__ __forceinline__ void csf_fc(const AdmArgs &a, const int *x, int *f, int *c)
{
    int fs = 0, cs = 0;
    for (int k = 0; k < 3; k++) {
        const int dst = csf32(x[k], a.rf[k]);
        fs = wrap_add(fs, q32_weight(dst, ONE_BY_30_Q32));
        cs = wrap_add(cs, q32_weight(dst, ONE_BY_15_Q32));
    }
    *f = fs;
    *c = cs;
}

extern "C" __global__ void __launch_bounds__(ADM_TILE)
adm_decouple_csf(AdmArgs a)
{
    const long long j = a.ncol0 + (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= a.ncol1)
        return;
    const int *ref = (const int *)a.band;
    const int *dis = ref + 3 * a.plane;
    int *restored = (int *)a.dec;
    int *additive = restored + 3 * a.plane;
    int *fc = (int *)a.fc;
    for (long long i = a.nrow0 + blockIdx.y; i < a.nrow1; i += gridDim.y) {
        const long long o = i * a.stride + j;
        int ov[3], tv[3], r[3], d[3];
        for (int k = 0; k < 3; k++) {
            ov[k] = ref[k * a.plane + o];
            tv[k] = dis[k * a.plane + o];
        }
        const bool angle = same_direction(ov[0], ov[1], tv[0], tv[1], a.cos_sq);
        for (int k = 0; k < 3; k++) {
            if (a.level == 0) {
                const short rk = (short)restore(gain16(ov[k], tv[k]), ov[k], tv[k], angle, a.egl);
                r[k] = rk;
                d[k] = (short)((unsigned int)tv[k] - (unsigned int)rk);
            } else {
                const int rk = (int)restore(gain32(ov[k], tv[k]), ov[k], tv[k], angle, a.egl);
                r[k] = rk;
                d[k] = (int)((unsigned int)tv[k] - (unsigned int)rk);
            }
            restored[k * a.plane + o] = r[k];
            additive[k * a.plane + o] = d[k];
        }
        int f, c;
        if (a.level == 0)
            csf0_fc(a, r, &f, &c);
        else
            csf_fc(a, r, &f, &c);
        fc[o] = f;
        fc[a.plane + o] = c;
        if (a.level == 0)
            csf0_fc(a, d, &f, &c);
        else
            csf_fc(a, d, &f, &c);
        fc[2 * a.plane + o] = f;
        fc[3 * a.plane + o] = c;
    }
}

// ---------------------------------------------------------- 4. masking

// The masking threshold at (i, j) from one half's F and C planes: the 3x3
// sum of F with the centre's C in place of its F, in wrapping 32-bit sums
// (whose order does not matter).
__device__ __forceinline__ int threshold(const AdmArgs &a, const int *f, const int *c, long long i, long long j)
{
    const long long l = before(j);
    const long long r = after(j, a.w);
    const long long rows[3] = {before(i), i, after(i, a.h)};
    int t = 0;
    for (int q = 0; q < 3; q++) {
        const int *row = f + rows[q] * a.stride;
        t = wrap_add(t, wrap_add(wrap_add(row[l], row[j]), row[r]));
    }
    const long long o = i * a.stride + j;
    return wrap_add((int)((unsigned int)t - (unsigned int)f[o]), c[o]);
}

// Masked cubes of one half's three angles at (i, j), given the threshold
// computed from the other half.
__device__ __forceinline__ void masked(const AdmArgs &a, const int *x, long long o, int thr, unsigned long long *acc)
{
    for (int k = 0; k < 3; k++) {
        const int v = x[k * a.plane + o];
        long long m;
        if (a.level == 0) {
            const int s = wrap_abs(v * (int)a.rf[k]);
            m = cube(a, s, (int)((unsigned int)thr << a.thr_shift[k]), k);
        } else {
            m = cube(a, wrap_abs(csf32(v, a.rf[k])), thr, k);
        }
        acc[k] += (unsigned long long)m;
    }
}

extern "C" __global__ void __launch_bounds__(ADM_BLOCK)
adm_masking(AdmArgs a)
{
    const long long i = a.row0 + blockIdx.x;
    const int *ref = (const int *)a.band;
    const int *restored = (const int *)a.dec;
    const int *additive = restored + 3 * a.plane;
    const int *f_r = (const int *)a.fc;
    const int *c_r = f_r + a.plane;
    const int *f_a = c_r + a.plane;
    const int *c_a = f_a + a.plane;
    // den (h, v, d), num (h, v, d), aim (h, v, d), each modulo 2^64.
    unsigned long long acc[9];
    for (int k = 0; k < 9; k++)
        acc[k] = 0;
    for (long long j = a.col0 + threadIdx.x; j < a.col1; j += blockDim.x) {
        const long long o = i * a.stride + j;
        for (int k = 0; k < 3; k++) {
            const int v = ref[k * a.plane + o];
            const unsigned long long m = v < 0 ? 0ull - (unsigned long long)(long long)v : (unsigned long long)v;
            if (a.level == 0) {
                acc[k] += m * m * m;
            } else {
                const unsigned long long sq = (m * m + a.den_sq_add) >> a.den_sq_shift;
                acc[k] += (sq * m + a.den_cub_add) >> a.den_cub_shift;
            }
        }
        // The additive part masks the restored one (DLM), and vice versa.
        masked(a, restored, o, threshold(a, f_a, c_a, i, j), acc + 3);
        if (!a.skip_aim)
            masked(a, additive, o, threshold(a, f_r, c_r, i, j), acc + 6);
    }

    __shared__ unsigned long long partial[9][ADM_BLOCK / 32];
    const unsigned int lane = threadIdx.x & 31u;
    const unsigned int warp = threadIdx.x >> 5;
    for (int k = 0; k < 9; k++) {
        const unsigned long long v = warp_sum(acc[k]);
        if (lane == 0)
            partial[k][warp] = v;
    }
    __syncthreads();
    if (warp == 0) {
        unsigned long long *sums = (unsigned long long *)a.sums;
        for (int k = 0; k < 9; k++) {
            unsigned long long v = lane < (blockDim.x >> 5) ? partial[k][lane] : 0ull;
            v = warp_sum(v);
            if (lane == 0) {
                // The row's rounding shift, then into the level's total.
                unsigned long long row;
                if (k < 3)
                    row = (v + a.den_row_add) >> a.den_row_shift;
                else
                    row = (unsigned long long)((long long)(v + (unsigned long long)a.cm_row_add) >> a.cm_row_shift);
                if (row != 0)
                    atomicAdd(&sums[k], row);
            }
        }
    }
}
