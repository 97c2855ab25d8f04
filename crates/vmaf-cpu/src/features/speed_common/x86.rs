//! AVX2 and AVX-512 versions of SpEED's hot loops, giving exactly the bits
//! of `scalar.rs`.
//!
//! Every sum in the scalar code is independent of its neighbours and runs
//! in a fixed order; here each SIMD lane carries one such sum and sees the
//! same terms in the same order, with the same IEEE operations (products
//! rounded before the add: no FMA anywhere). What changes is only which
//! sums sit side by side:
//!
//! * Covariance: the 25 samples of a block position are laid out in lane
//!   order `PERM` (rows 0-4 columns 0-3, then column 4), so one sample's
//!   values load as a few 4-wide pieces. Each sample's centred values go to
//!   a small table `T` (one 32-double row per sample, in chunks of `CHUNK`
//!   samples); then, for groups of rows `p` of the 25x25 lower triangle
//!   small enough to keep their accumulators in registers, every sample
//!   adds `T[p] * T[q..q + lanes]`. Lanes with `q > p` compute the upper
//!   triangle's duplicates and are dropped. The float means use the same
//!   layout.
//! * Matrix products: lanes are output columns, each accumulating over the
//!   inner index in order; a few rows share each loaded row of `y`.
//! * Streaming loops (row filter, conversion, subtraction, back
//!   substitution): the scalar code itself, compiled with AVX2 enabled; its
//!   per-element operations are the same, vectorised by the compiler.

// The register-blocked kernels index their accumulator rows and vectors
// by position, as the lane layout is described.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::scalar;
use super::N;

/// Whether this CPU runs the AVX2 kernels.
pub(super) fn avx2_available() -> bool {
    is_x86_feature_detected!("avx2")
}

/// Whether this CPU runs the AVX-512 kernels (which use AVX2 ones too).
pub(super) fn avx512_available() -> bool {
    avx2_available() && is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl")
}

// ---- Streaming loops: the scalar code under AVX2 ------------------------
//
// SAFETY (all of these): callers ensure the CPU has AVX2; the bodies are safe
// Rust.

#[target_feature(enable = "avx2")]
pub(super) unsafe fn vertical(taps: &[f32], src: &[f32], rows: &[u32], w: usize, out: &mut [f32]) {
    scalar::vertical(taps, src, rows, w, out)
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn load_u8(src: &[u8], out: &mut [f32]) {
    scalar::load_u8(src, out)
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn load_u16(src: &[u16], scaler: f32, out: &mut [f32]) {
    scalar::load_u16(src, scaler, out)
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn subtract(a: &mut [f32], b: &[f32]) {
    scalar::subtract(a, b)
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn difference_u8(a: &[u8], b: &[u8], out: &mut [f32]) {
    scalar::difference_u8(a, b, out)
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn difference_u16(a: &[u16], b: &[u16], scaler: f32, out: &mut [f32]) {
    scalar::difference_u16(a, b, scaler, out)
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn back_substitute(r: &[f32], rect: &[f32], sol: &mut [f32], cols: usize) -> bool {
    scalar::back_substitute(r, rect, sol, cols)
}

// ---- Covariance ----------------------------------------------------------

/// The block sample (raster index in the 5x5 block) at each lane position:
/// rows 0..5 of columns 0..4, then column 4 of rows 0..4, then (4, 4).
const PERM: [usize; N] = [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18, 20, 21, 22, 23, 4, 9, 14, 19, 24];
/// Doubles per sample row of `T` (25 values, zero padded).
const T_STRIDE: usize = 32;
/// Samples per chunk of `T` (16 KiB).
const CHUNK: usize = 64;

/// Raster walk over the `sub_w x sub_h` window positions.
struct Walk {
    row: usize,
    col: usize,
    sub_w: usize,
}

impl Walk {
    #[inline(always)]
    fn advance(&mut self) {
        self.col += 1;
        if self.col == self.sub_w {
            self.col = 0;
            self.row += 1;
        }
    }
}

/// The 25 samples of the block at `b` (row stride `s`) as 4-wide pieces in
/// `PERM` order: rows 0..5 (columns 0..4), column 4 (rows 0..4), and (4, 4)
/// alone in lane 0.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block_samples(b: *const f32, s: usize) -> ([__m128; 6], __m128) {
    let col4 = _mm_set_ps(*b.add(3 * s + 4), *b.add(2 * s + 4), *b.add(s + 4), *b.add(4));
    (
        [
            _mm_loadu_ps(b),
            _mm_loadu_ps(b.add(s)),
            _mm_loadu_ps(b.add(2 * s)),
            _mm_loadu_ps(b.add(3 * s)),
            _mm_loadu_ps(b.add(4 * s)),
            col4,
        ],
        _mm_load_ss(b.add(4 * s + 4)),
    )
}

/// Checks that every block read of the window stays inside `data`.
fn check_window(data: &[f32], stride: usize, sub_w: usize, sub_h: usize, means: &[f32], cov: &[f32]) {
    assert!(sub_w >= 1 && sub_h >= 1 && stride >= sub_w + 4);
    assert!(data.len() > (sub_h + 3) * stride + sub_w + 3);
    assert!(means.len() >= N && cov.len() >= N * N);
}

/// The float means of the 25 windows, each summed in raster order.
#[target_feature(enable = "avx2")]
unsafe fn window_means(data: &[f32], stride: usize, sub_w: usize, sub_h: usize, means: &mut [f32]) {
    let p = data.as_ptr();
    let mut acc = [_mm_setzero_ps(); 6];
    let mut last = _mm_setzero_ps();
    for row in 0..sub_h {
        for col in 0..sub_w {
            let (v, v24) = block_samples(p.add(row * stride + col), stride);
            for (a, v) in acc.iter_mut().zip(v) {
                *a = _mm_add_ps(*a, v);
            }
            last = _mm_add_ss(last, v24);
        }
    }
    let mut sums = [0f32; 28];
    for (i, a) in acc.iter().enumerate() {
        _mm_storeu_ps(sums.as_mut_ptr().add(4 * i), *a);
    }
    sums[24] = _mm_cvtss_f32(last);
    let count = (sub_w * sub_h) as f32;
    for (p, &s) in PERM.iter().zip(&sums) {
        means[*p] = s / count;
    }
}

/// Fills `t` with the centred samples (sample minus window mean, in
/// double) of `n` window positions from `walk` on, one `T_STRIDE` row each
/// in `PERM` order. Lanes 25.. are left as they are (zero).
#[target_feature(enable = "avx2")]
unsafe fn centre_chunk(data: &[f32], stride: usize, mean: &[__m256d; 7], walk: &mut Walk, n: usize, t: &mut [f64]) {
    let p = data.as_ptr();
    let t = t.as_mut_ptr();
    for i in 0..n {
        let (v, v24) = block_samples(p.add(walk.row * stride + walk.col), stride);
        let o = t.add(i * T_STRIDE);
        for (k, v) in v.into_iter().enumerate() {
            _mm256_storeu_pd(o.add(4 * k), _mm256_sub_pd(_mm256_cvtps_pd(v), mean[k]));
        }
        // Lane 0: (4, 4) minus its mean; the others are 0 - 0.
        let v24 = _mm256_zextpd128_pd256(_mm_cvtss_sd(_mm_setzero_pd(), v24));
        _mm256_storeu_pd(o.add(24), _mm256_sub_pd(v24, mean[6]));
        walk.advance();
    }
}

/// Window means as doubles, 4 lanes at a time in `PERM` order (lane 24
/// alone, the rest zero).
fn permuted_means(means: &[f32]) -> [[f64; 4]; 7] {
    let mut m = [[0f64; 4]; 7];
    for (p, &i) in PERM.iter().enumerate() {
        m[p / 4][p % 4] = means[i] as f64;
    }
    m
}

/// Writes the lower triangle of covariances from accumulated sums laid out
/// as `groups` of `(first row, rows, vectors per row)` of `lanes`-wide
/// vectors, stored one after the other in `sums`.
fn write_covariance(sums: &[f64], groups: &[(usize, usize, usize)], lanes: usize, count: usize, cov: &mut [f32]) {
    let mut v = 0;
    for &(p0, rows, vecs) in groups {
        for p in p0..p0 + rows {
            for c in 0..vecs {
                for l in 0..lanes {
                    let q = c * lanes + l;
                    if q <= p {
                        let (x, y) = (PERM[p], PERM[q]);
                        let val = (sums[v * lanes + l] / count as f64) as f32;
                        cov[x * N + y] = val;
                        cov[y * N + x] = val;
                    }
                }
                v += 1;
            }
        }
    }
}

/// `acc[r][c] += T[s][p0 + r] * T[s][lanes * c..]` over the `n` rows of
/// `t`, for `R` rows of `C` 4-wide vectors.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn accumulate_avx2<const R: usize, const C: usize>(t: &[f64], n: usize, p0: usize, acc: &mut [__m256d]) {
    debug_assert!(acc.len() == R * C && n * T_STRIDE <= t.len() && p0 + R <= N && 4 * C <= T_STRIDE);
    let mut a = [[_mm256_setzero_pd(); C]; R];
    for r in 0..R {
        for c in 0..C {
            a[r][c] = acc[r * C + c];
        }
    }
    let t = t.as_ptr();
    for s in 0..n {
        let row = t.add(s * T_STRIDE);
        let mut y = [_mm256_setzero_pd(); C];
        for c in 0..C {
            y[c] = _mm256_loadu_pd(row.add(4 * c));
        }
        for r in 0..R {
            let b = _mm256_broadcast_sd(&*row.add(p0 + r));
            for c in 0..C {
                a[r][c] = _mm256_add_pd(a[r][c], _mm256_mul_pd(b, y[c]));
            }
        }
    }
    for r in 0..R {
        for c in 0..C {
            acc[r * C + c] = a[r][c];
        }
    }
}

/// Row groups of the AVX2 accumulation, sized to keep at most 12
/// accumulators in the 16 registers.
const GROUPS_AVX2: [(usize, usize, usize); 10] = [
    (0, 4, 1),
    (4, 4, 2),
    (8, 4, 3),
    (12, 2, 4),
    (14, 2, 4),
    (16, 2, 5),
    (18, 2, 5),
    (20, 2, 6),
    (22, 2, 6),
    (24, 1, 7),
];
const ACC_AVX2: usize = 91;

/// What both covariance kernels share: checks the window, writes its
/// means, then hands `accumulate` the centred samples a chunk at a time
/// (`CHUNK` rows of `T_STRIDE` doubles, and how many are filled). Returns
/// the number of samples.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
unsafe fn centred_chunks(
    data: &[f32],
    stride: usize,
    sub_w: usize,
    sub_h: usize,
    means: &mut [f32],
    cov: &[f32],
    accumulate: &mut dyn FnMut(&[f64], usize),
) -> usize {
    check_window(data, stride, sub_w, sub_h, means, cov);
    window_means(data, stride, sub_w, sub_h, means);
    let pm = permuted_means(means);
    let mut mean = [_mm256_setzero_pd(); 7];
    for (m, v) in mean.iter_mut().zip(&pm) {
        *m = _mm256_loadu_pd(v.as_ptr());
    }
    let mut t = [0f64; CHUNK * T_STRIDE];
    let total = sub_w * sub_h;
    let mut walk = Walk { row: 0, col: 0, sub_w };
    let mut done = 0;
    while done < total {
        let n = CHUNK.min(total - done);
        centre_chunk(data, stride, &mean, &mut walk, n, &mut t);
        accumulate(&t, n);
        done += n;
    }
    total
}

/// [`scalar::covariance`] on AVX2.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn covariance_avx2(
    data: &[f32],
    stride: usize,
    sub_w: usize,
    sub_h: usize,
    means: &mut [f32],
    cov: &mut [f32],
) {
    let mut acc = [_mm256_setzero_pd(); ACC_AVX2];
    let total = centred_chunks(data, stride, sub_w, sub_h, means, cov, &mut |t, n| {
        let mut v = 0;
        macro_rules! group {
            ($p0:expr, $r:literal, $c:literal) => {
                accumulate_avx2::<$r, $c>(t, n, $p0, &mut acc[v..v + $r * $c]);
                v += $r * $c;
            };
        }
        group!(0, 4, 1);
        group!(4, 4, 2);
        group!(8, 4, 3);
        group!(12, 2, 4);
        group!(14, 2, 4);
        group!(16, 2, 5);
        group!(18, 2, 5);
        group!(20, 2, 6);
        group!(22, 2, 6);
        group!(24, 1, 7);
        debug_assert_eq!(v, ACC_AVX2);
    });
    let mut sums = [0f64; ACC_AVX2 * 4];
    for (i, a) in acc.iter().enumerate() {
        _mm256_storeu_pd(sums.as_mut_ptr().add(4 * i), *a);
    }
    write_covariance(&sums, &GROUPS_AVX2, 4, total, cov);
}

/// [`accumulate_avx2`] with 8-wide vectors.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn accumulate_avx512<const R: usize, const C: usize>(t: &[f64], n: usize, p0: usize, acc: &mut [__m512d]) {
    debug_assert!(acc.len() == R * C && n * T_STRIDE <= t.len() && p0 + R <= N && 8 * C <= T_STRIDE);
    let mut a = [[_mm512_setzero_pd(); C]; R];
    for r in 0..R {
        for c in 0..C {
            a[r][c] = acc[r * C + c];
        }
    }
    let t = t.as_ptr();
    for s in 0..n {
        let row = t.add(s * T_STRIDE);
        let mut y = [_mm512_setzero_pd(); C];
        for c in 0..C {
            y[c] = _mm512_loadu_pd(row.add(8 * c));
        }
        for r in 0..R {
            let b = _mm512_set1_pd(*row.add(p0 + r));
            for c in 0..C {
                a[r][c] = _mm512_add_pd(a[r][c], _mm512_mul_pd(b, y[c]));
            }
        }
    }
    for r in 0..R {
        for c in 0..C {
            acc[r * C + c] = a[r][c];
        }
    }
}

const GROUPS_AVX512: [(usize, usize, usize); 4] = [(0, 8, 1), (8, 8, 2), (16, 8, 3), (24, 1, 4)];
const ACC_AVX512: usize = 52;

/// [`scalar::covariance`] on AVX-512.
///
/// # Safety
/// The CPU must have AVX-512F/VL and AVX2.
#[target_feature(enable = "avx2,avx512f,avx512vl")]
pub(super) unsafe fn covariance_avx512(
    data: &[f32],
    stride: usize,
    sub_w: usize,
    sub_h: usize,
    means: &mut [f32],
    cov: &mut [f32],
) {
    let mut acc = [_mm512_setzero_pd(); ACC_AVX512];
    let total = centred_chunks(data, stride, sub_w, sub_h, means, cov, &mut |t, n| {
        accumulate_avx512::<8, 1>(t, n, 0, &mut acc[0..8]);
        accumulate_avx512::<8, 2>(t, n, 8, &mut acc[8..24]);
        accumulate_avx512::<8, 3>(t, n, 16, &mut acc[24..48]);
        accumulate_avx512::<1, 4>(t, n, 24, &mut acc[48..52]);
    });
    let mut sums = [0f64; ACC_AVX512 * 8];
    for (i, a) in acc.iter().enumerate() {
        _mm512_storeu_pd(sums.as_mut_ptr().add(8 * i), *a);
    }
    write_covariance(&sums, &GROUPS_AVX512, 8, total, cov);
}

// ---- Matrix products -----------------------------------------------------

fn check_mat_mul(dst: &[f32], x: &[f32], y: &[f32], rows: usize, inner: usize, cols: usize) {
    assert!(dst.len() >= rows * cols && x.len() >= rows * inner && y.len() >= inner * cols);
}

/// Lane masks of the AVX2 tail: `MASKS[n]` enables the first `n` lanes.
const fn ymm_masks() -> [[i32; 8]; 9] {
    let mut m = [[0i32; 8]; 9];
    let mut n = 0;
    while n <= 8 {
        let mut l = 0;
        while l < n {
            m[n][l] = -1;
            l += 1;
        }
        n += 1;
    }
    m
}
static YMM_MASKS: [[i32; 8]; 9] = ymm_masks();

/// Rows `i0..i0 + R` of `dst = x * y`, 32 columns (four masked vectors) at
/// a time.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn mat_mul_rows_avx2<const R: usize>(
    dst: &mut [f32],
    x: &[f32],
    y: &[f32],
    i0: usize,
    inner: usize,
    cols: usize,
) {
    let (dp, xp, yp) = (dst.as_mut_ptr(), x.as_ptr(), y.as_ptr());
    let mut j = 0;
    while j < cols {
        let mut mask = [_mm256_setzero_si256(); 4];
        for (c, m) in mask.iter_mut().enumerate() {
            let n = cols.saturating_sub(j + 8 * c).min(8);
            *m = _mm256_loadu_si256(YMM_MASKS[n].as_ptr().cast());
        }
        let mut a = [[_mm256_setzero_ps(); 4]; R];
        for k in 0..inner {
            let row = yp.wrapping_add(k * cols + j);
            let mut v = [_mm256_setzero_ps(); 4];
            for c in 0..4 {
                // Masked-off lanes are not read (and may lie past `y`).
                v[c] = _mm256_maskload_ps(row.wrapping_add(8 * c), mask[c]);
            }
            for r in 0..R {
                let b = _mm256_set1_ps(*xp.add((i0 + r) * inner + k));
                for c in 0..4 {
                    a[r][c] = _mm256_add_ps(a[r][c], _mm256_mul_ps(b, v[c]));
                }
            }
        }
        for r in 0..R {
            let out = dp.wrapping_add((i0 + r) * cols + j);
            for c in 0..4 {
                _mm256_maskstore_ps(out.wrapping_add(8 * c), mask[c], a[r][c]);
            }
        }
        j += 32;
    }
}

/// [`scalar::mat_mul`] on AVX2.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn mat_mul_avx2(dst: &mut [f32], x: &[f32], y: &[f32], rows: usize, inner: usize, cols: usize) {
    check_mat_mul(dst, x, y, rows, inner, cols);
    let mut i = 0;
    while i + 2 <= rows {
        mat_mul_rows_avx2::<2>(dst, x, y, i, inner, cols);
        i += 2;
    }
    if i < rows {
        mat_mul_rows_avx2::<1>(dst, x, y, i, inner, cols);
    }
}

/// The first `n` of 16 lanes.
#[inline(always)]
fn mask16(n: usize) -> __mmask16 {
    if n >= 16 {
        0xffff
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// Rows `i0..i0 + R` of `dst = x * y`, 32 columns (two masked vectors) at
/// a time.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn mat_mul_rows_avx512<const R: usize>(
    dst: &mut [f32],
    x: &[f32],
    y: &[f32],
    i0: usize,
    inner: usize,
    cols: usize,
) {
    let (dp, xp, yp) = (dst.as_mut_ptr(), x.as_ptr(), y.as_ptr());
    let mut j = 0;
    while j < cols {
        let m = [mask16(cols - j), mask16(cols.saturating_sub(j + 16))];
        let mut a = [[_mm512_setzero_ps(); 2]; R];
        for k in 0..inner {
            let row = yp.wrapping_add(k * cols + j);
            // Masked-off lanes are not read (and may lie past `y`).
            let v = [_mm512_maskz_loadu_ps(m[0], row), _mm512_maskz_loadu_ps(m[1], row.wrapping_add(16))];
            for r in 0..R {
                let b = _mm512_set1_ps(*xp.add((i0 + r) * inner + k));
                for c in 0..2 {
                    a[r][c] = _mm512_add_ps(a[r][c], _mm512_mul_ps(b, v[c]));
                }
            }
        }
        for r in 0..R {
            let out = dp.wrapping_add((i0 + r) * cols + j);
            _mm512_mask_storeu_ps(out, m[0], a[r][0]);
            _mm512_mask_storeu_ps(out.wrapping_add(16), m[1], a[r][1]);
        }
        j += 32;
    }
}

/// [`scalar::mat_mul`] on AVX-512.
///
/// # Safety
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx2,avx512f")]
pub(super) unsafe fn mat_mul_avx512(dst: &mut [f32], x: &[f32], y: &[f32], rows: usize, inner: usize, cols: usize) {
    check_mat_mul(dst, x, y, rows, inner, cols);
    let mut i = 0;
    while i + 4 <= rows {
        mat_mul_rows_avx512::<4>(dst, x, y, i, inner, cols);
        i += 4;
    }
    while i < rows {
        mat_mul_rows_avx512::<1>(dst, x, y, i, inner, cols);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        /// Uniform in [0, 1).
        fn u(&mut self) -> f32 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    /// A named value generator: index in, value out.
    type Fill = (&'static str, Box<dyn Fn(&mut Rng, usize) -> f32>);

    /// What SpEED's planes hold (8-bit range offset by -128, fractions after
    /// filtering), and hostile constant, alternating, subnormal, huge and
    /// overflowing values.
    fn fills() -> Vec<Fill> {
        vec![
            ("random", Box::new(|r, _| r.u() * 256.0 - 128.0)),
            ("8-bit", Box::new(|r, _| (r.u() * 256.0).floor() - 128.0)),
            ("16-bit", Box::new(|r, _| (r.u() * 65536.0).floor() / 256.0 - 128.0)),
            ("zero", Box::new(|_, _| 0.0)),
            ("max", Box::new(|_, _| 127.0)),
            ("min", Box::new(|_, _| -128.0)),
            ("alternating", Box::new(|_, i| if i % 2 == 0 { -128.0 } else { 127.0 })),
            ("near-flat", Box::new(|r, _| 100.0 + r.u() * 1e-4)),
            ("subnormal", Box::new(|r, _| (r.u() - 0.5) * 1e-38)),
            ("wide range", Box::new(|r, i| (r.u() - 0.5) * if i % 3 == 0 { 1e-20 } else { 1e20 })),
            ("overflowing", Box::new(|r, i| if i % 7 == 0 { f32::MAX } else { r.u() * 1e30 })),
        ]
    }

    /// Equal bits, any NaN matching any NaN (the payload of a NaN made from
    /// two NaNs depends on operand order, which the compiler may swap).
    fn same(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    }

    fn levels() -> Vec<(&'static str, bool)> {
        vec![("avx2", avx2_available()), ("avx512", avx512_available())]
    }

    #[test]
    fn covariance_matches_scalar() {
        if !avx2_available() {
            return;
        }
        let mut rng = Rng(1);
        for (name, fill) in fills() {
            for sub_w in 1..=65 {
                for (sub_h, pad) in [(1, 0), (2, 3), (3, 1), (7, 0), (12, 2)] {
                    // Only the needed samples: the last block read ends the
                    // buffer, so an over-read would fault or be caught.
                    let stride = sub_w + 4 + pad;
                    let len = (sub_h + 3) * stride + sub_w + 4;
                    let data: Vec<f32> = (0..len).map(|i| fill(&mut rng, i)).collect();
                    let (mut m0, mut c0) = (vec![0f32; N], vec![0f32; N * N]);
                    scalar::covariance(&data, stride, sub_w, sub_h, &mut m0, &mut c0);
                    for (level, ok) in levels() {
                        if !ok {
                            continue;
                        }
                        let (mut m1, mut c1) = (vec![1f32; N], vec![1f32; N * N]);
                        unsafe {
                            if level == "avx2" {
                                covariance_avx2(&data, stride, sub_w, sub_h, &mut m1, &mut c1);
                            } else {
                                covariance_avx512(&data, stride, sub_w, sub_h, &mut m1, &mut c1);
                            }
                        }
                        let at = format!("{level} {name} {sub_w}x{sub_h} stride {stride}");
                        assert!(same(&m0, &m1), "means, {at}");
                        assert!(same(&c0, &c1), "covariance, {at}");
                    }
                }
            }
        }
    }

    #[test]
    fn covariance_over_many_chunks_matches_scalar() {
        // A 1080p luma window: thousands of samples, many T chunks.
        if !avx2_available() {
            return;
        }
        let mut rng = Rng(2);
        let (sub_w, sub_h, stride) = (116, 61, 120);
        let data: Vec<f32> = (0..stride * 65).map(|_| rng.u() * 60.0 - 30.0).collect();
        let (mut m0, mut c0) = (vec![0f32; N], vec![0f32; N * N]);
        scalar::covariance(&data, stride, sub_w, sub_h, &mut m0, &mut c0);
        for (level, ok) in levels() {
            if ok {
                let (mut m1, mut c1) = (vec![0f32; N], vec![0f32; N * N]);
                unsafe {
                    if level == "avx2" {
                        covariance_avx2(&data, stride, sub_w, sub_h, &mut m1, &mut c1);
                    } else {
                        covariance_avx512(&data, stride, sub_w, sub_h, &mut m1, &mut c1);
                    }
                }
                assert!(same(&m0, &m1) && same(&c0, &c1), "{level}");
            }
        }
    }

    #[test]
    fn mat_mul_matches_scalar() {
        if !avx2_available() {
            return;
        }
        let mut rng = Rng(3);
        for (name, fill) in fills() {
            for rows in [1, 2, 3, 4, 5, 7, 25] {
                for inner in [1, 2, 25] {
                    for cols in (1..=65).chain([72, 312]) {
                        let x: Vec<f32> = (0..rows * inner).map(|i| fill(&mut rng, i)).collect();
                        let y: Vec<f32> = (0..inner * cols).map(|i| fill(&mut rng, i + 1)).collect();
                        let mut want = vec![0f32; rows * cols];
                        scalar::mat_mul(&mut want, &x, &y, rows, inner, cols);
                        for (level, ok) in levels() {
                            if !ok {
                                continue;
                            }
                            let mut got = vec![7f32; rows * cols];
                            unsafe {
                                if level == "avx2" {
                                    mat_mul_avx2(&mut got, &x, &y, rows, inner, cols);
                                } else {
                                    mat_mul_avx512(&mut got, &x, &y, rows, inner, cols);
                                }
                            }
                            assert!(same(&want, &got), "{level} {name} {rows}x{inner}x{cols}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn streaming_loops_match_scalar() {
        if !avx2_available() {
            return;
        }
        let mut rng = Rng(4);
        for (name, fill) in fills() {
            for w in 1..=65 {
                // The row filter, with up to 37 taps (kernelscale 4).
                for taps in [1, 3, 9, 37] {
                    let n_rows = 5;
                    let src: Vec<f32> = (0..n_rows * w).map(|i| fill(&mut rng, i)).collect();
                    let f: Vec<f32> = (0..taps).map(|_| rng.u()).collect();
                    let rows: Vec<u32> = (0..taps).map(|k| ((k * 3 + 1) % n_rows) as u32).collect();
                    let (mut a, mut b) = (vec![0f32; w + 3], vec![5f32; w + 3]);
                    scalar::vertical(&f, &src, &rows, w, &mut a[..w]);
                    unsafe { vertical(&f, &src, &rows, w, &mut b[..w]) };
                    assert!(same(&a[..w], &b[..w]), "vertical {name} w {w} taps {taps}");
                }
                let a0: Vec<f32> = (0..w).map(|i| fill(&mut rng, i)).collect();
                let b0: Vec<f32> = (0..w).map(|i| fill(&mut rng, i + 2)).collect();
                let (mut a1, mut a2) = (a0.clone(), a0.clone());
                scalar::subtract(&mut a1, &b0);
                unsafe { subtract(&mut a2, &b0) };
                assert!(same(&a1, &a2), "subtract {name} w {w}");
            }
        }
        for w in 1..=65 {
            let mut rng = Rng(w as u64);
            let px8: Vec<u8> = (0..w).map(|i| if i % 5 == 0 { 255 } else { (rng.u() * 256.0) as u8 }).collect();
            let (mut a, mut b) = (vec![0f32; w], vec![1f32; w]);
            scalar::load_u8(&px8, &mut a);
            unsafe { load_u8(&px8, &mut b) };
            assert!(same(&a, &b), "u8 w {w}");
            let rev8: Vec<u8> = px8.iter().rev().copied().collect();
            scalar::difference_u8(&px8, &rev8, &mut a);
            unsafe { difference_u8(&px8, &rev8, &mut b) };
            assert!(same(&a, &b), "u8 difference w {w}");
            for bpc in [10, 12, 16] {
                let max = (1u32 << bpc) - 1;
                let px: Vec<u16> = (0..w)
                    .map(|i| match i % 4 {
                        0 => max as u16,
                        1 => 0,
                        _ => (rng.u() * max as f32) as u16,
                    })
                    .collect();
                let scaler = (1u32 << (bpc - 8)) as f32;
                scalar::load_u16(&px, scaler, &mut a);
                unsafe { load_u16(&px, scaler, &mut b) };
                assert!(same(&a, &b), "u16 {bpc} bit w {w}");
                let rev: Vec<u16> = px.iter().rev().copied().collect();
                scalar::difference_u16(&px, &rev, scaler, &mut a);
                unsafe { difference_u16(&px, &rev, scaler, &mut b) };
                assert!(same(&a, &b), "u16 {bpc} bit difference w {w}");
            }
        }
    }

    #[test]
    fn back_substitution_matches_scalar() {
        if !avx2_available() {
            return;
        }
        let mut rng = Rng(5);
        for (name, fill) in fills() {
            for cols in (1..=65).chain([312]) {
                let mut r: Vec<f32> = (0..N * N).map(|i| fill(&mut rng, i)).collect();
                // A well-conditioned diagonal, except once a tiny one (the
                // singular early return).
                for i in 0..N {
                    r[i * N + i] = if cols == 7 && i == 10 { 1e-9 } else { 2.0 + rng.u() };
                }
                let rect: Vec<f32> = (0..N * cols).map(|i| fill(&mut rng, i + 3)).collect();
                let (mut a, mut b) = (vec![0f32; N * cols], vec![0f32; N * cols]);
                let ra = scalar::back_substitute(&r, &rect, &mut a, cols);
                let rb = unsafe { back_substitute(&r, &rect, &mut b, cols) };
                assert_eq!(ra, rb, "{name} cols {cols}");
                assert_eq!(ra, cols != 7);
                assert!(same(&a, &b), "{name} cols {cols}");
            }
        }
    }
}
