//! AVX2 kernels for the SSIM machinery, bit-identical to `scalar.rs`.
//!
//! Every filter output is an `f64` sum of `f32`-rounded products in tap
//! order. Here each lane carries one output: the products are formed four
//! at a time in `f32` (`__m128`), widened exactly to `f64` (`__m256d`) and
//! added in the same tap order, so each lane does the scalar arithmetic.
//! No FMA anywhere: it would skip the rounding of the product.
//!
//! The per-sample SSIM terms are computed four at a time with the scalar
//! types (the `f32` steps in `__m128`, the `f64` ones in `__m256d`; the
//! IEEE operations, square root included, round identically), then added to
//! the sums one sample at a time, in order, like the scalar code.

use std::arch::x86_64::*;

use super::scalar::{self, DecimateRow, Kernels, Sums, Terms, Want, C1, C2, C3, GAUSSIAN, WIN};

/// The AVX2 kernels. Only constructed after checking the CPU has AVX2.
#[derive(Clone, Copy)]
pub struct Avx2(());

impl Avx2 {
    /// The kernels, when this CPU runs AVX2.
    pub fn detect() -> Option<&'static Avx2> {
        static KERNELS: Avx2 = Avx2(());
        is_x86_feature_detected!("avx2").then_some(&KERNELS)
    }
}

impl Kernels for Avx2 {
    fn moments_row(&self, r: &[f32], d: &[f32], out: &mut [f32]) {
        // SAFETY: `Avx2` exists only when the CPU has AVX2; the kernels
        // index through slices, so every access is bounds-checked or
        // covered by an explicit length check before the loads.
        unsafe { moments_row(r, d, out) }
    }
    fn vertical(&self, rows: &[&[f32]; WIN], out: &mut [f32]) {
        // SAFETY: as above.
        unsafe { vertical(rows, out) }
    }
    fn stats_row(&self, m: &[f32], dw: usize, want: Want, sums: &mut Sums) {
        // SAFETY: as above.
        unsafe { stats_row(m, dw, want, sums) }
    }
    fn decimate_row(&self, p: &DecimateRow<'_>, out: &mut [f32]) {
        // SAFETY: as above.
        unsafe { decimate_row(p, out) }
    }
}

/// Four `f32` from `s[i..i + 4]` (bounds-checked).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load4(s: &[f32], i: usize) -> __m128 {
    _mm_loadu_ps(s[i..i + 4].as_ptr())
}

/// `acc + (f64)(a · b)`, the product rounded to `f32` first.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn mac(acc: __m256d, a: __m128, b: __m128) -> __m256d {
    _mm256_add_pd(acc, _mm256_cvtps_pd(_mm_mul_ps(a, b)))
}

#[target_feature(enable = "avx2")]
unsafe fn moments_row(r: &[f32], d: &[f32], out: &mut [f32]) {
    let w = r.len();
    assert!(w >= WIN && d.len() == w);
    let dw = w + 1 - WIN;
    assert!(out.len() >= 5 * dw);
    let g: [__m128; WIN] = std::array::from_fn(|k| _mm_set1_ps(GAUSSIAN[k]));
    let mut x = 0;
    while x + 4 <= dw {
        let mut acc = [_mm256_setzero_pd(); 5];
        for (k, gk) in g.iter().enumerate() {
            let a = load4(r, x + k);
            let b = load4(d, x + k);
            acc[0] = mac(acc[0], a, *gk);
            acc[1] = mac(acc[1], b, *gk);
            acc[2] = mac(acc[2], _mm_mul_ps(a, a), *gk);
            acc[3] = mac(acc[3], _mm_mul_ps(b, b), *gk);
            acc[4] = mac(acc[4], _mm_mul_ps(a, b), *gk);
        }
        for (q, a) in acc.iter().enumerate() {
            let o = q * dw + x;
            _mm_storeu_ps(out[o..o + 4].as_mut_ptr(), _mm256_cvtpd_ps(*a));
        }
        x += 4;
    }
    scalar::moments_row_from(r, d, out, x);
}

#[target_feature(enable = "avx2")]
unsafe fn vertical(rows: &[&[f32]; WIN], out: &mut [f32]) {
    let n = out.len();
    for r in rows {
        assert!(r.len() >= n);
    }
    let g: [__m128; WIN] = std::array::from_fn(|k| _mm_set1_ps(GAUSSIAN[k]));
    let mut i = 0;
    // Four groups at a time: each output is a chain of 11 dependent adds,
    // and independent chains keep the adder busy.
    while i + 16 <= n {
        let mut acc = [_mm256_setzero_pd(); 4];
        for (gk, r) in g.iter().zip(rows) {
            for (j, a) in acc.iter_mut().enumerate() {
                *a = mac(*a, load4(r, i + 4 * j), *gk);
            }
        }
        for (j, a) in acc.iter().enumerate() {
            let o = i + 4 * j;
            _mm_storeu_ps(out[o..o + 4].as_mut_ptr(), _mm256_cvtpd_ps(*a));
        }
        i += 16;
    }
    while i + 4 <= n {
        let mut acc = _mm256_setzero_pd();
        for (gk, r) in g.iter().zip(rows) {
            acc = mac(acc, load4(r, i), *gk);
        }
        _mm_storeu_ps(out[i..i + 4].as_mut_ptr(), _mm256_cvtpd_ps(acc));
        i += 4;
    }
    scalar::vertical_from(rows, out, i);
}

#[target_feature(enable = "avx2")]
unsafe fn stats_row(m: &[f32], dw: usize, want: Want, sums: &mut Sums) {
    assert!(m.len() >= 5 * dw);
    let zero = _mm_setzero_ps();
    let (c1, c2, c3) = (_mm_set1_ps(C1), _mm_set1_ps(C2), _mm_set1_ps(C3));
    let (c1d, c2d) = (_mm256_set1_pd(C1 as f64), _mm256_set1_pd(C2 as f64));
    let two = _mm256_set1_pd(2.0);
    let mut x = 0;
    while x + 4 <= dw {
        let mu1 = load4(m, x);
        let mu2 = load4(m, dw + x);
        let s11 = load4(m, 2 * dw + x);
        let s22 = load4(m, 3 * dw + x);
        let s12 = load4(m, 4 * dw + x);
        // maxps(0, v) is `0 > v ? 0 : v`, C's MAX(0.0, v) on floats.
        let var1 = _mm_max_ps(zero, _mm_sub_ps(s11, _mm_mul_ps(mu1, mu1)));
        let var2 = _mm_max_ps(zero, _mm_sub_ps(s22, _mm_mul_ps(mu2, mu2)));
        let cov = _mm_sub_ps(s12, _mm_mul_ps(mu1, mu2));
        let sd12 = _mm_sqrt_ps(_mm_mul_ps(var1, var2));
        let l_num = _mm256_add_pd(
            _mm256_mul_pd(
                _mm256_mul_pd(two, _mm256_cvtps_pd(mu1)),
                _mm256_cvtps_pd(mu2),
            ),
            c1d,
        );
        let l_den = _mm_add_ps(_mm_add_ps(_mm_mul_ps(mu1, mu1), _mm_mul_ps(mu2, mu2)), c1);
        let l = _mm256_div_pd(l_num, _mm256_cvtps_pd(l_den));
        let c_num = _mm256_add_pd(_mm256_mul_pd(two, _mm256_cvtps_pd(sd12)), c2d);
        let c_den = _mm_add_ps(_mm_add_ps(var1, var2), c2);
        let c = _mm256_div_pd(c_num, _mm256_cvtps_pd(c_den));
        // Zero the covariance where it is negative and sd12 is not
        // positive (ordered compares: NaN keeps its value, as in C).
        let clamp = _mm_and_ps(_mm_cmplt_ps(cov, zero), _mm_cmple_ps(sd12, zero));
        let cov = _mm_andnot_ps(clamp, cov);
        let s = _mm256_cvtps_pd(_mm_div_ps(_mm_add_ps(cov, c3), _mm_add_ps(sd12, c3)));
        let ssim = _mm256_mul_pd(_mm256_mul_pd(l, c), s);
        let mut t = [[0.0f64; 4]; 4];
        _mm256_storeu_pd(t[0].as_mut_ptr(), ssim);
        _mm256_storeu_pd(t[1].as_mut_ptr(), l);
        _mm256_storeu_pd(t[2].as_mut_ptr(), c);
        _mm256_storeu_pd(t[3].as_mut_ptr(), s);
        let [ssim, l, c, s] = t;
        for i in 0..4 {
            sums.add(want, Terms { ssim: ssim[i], l: l[i], c: c[i], s: s[i] });
        }
        x += 4;
    }
    scalar::stats_row_from(m, dw, want, sums, x);
}

#[target_feature(enable = "avx2")]
unsafe fn decimate_row(p: &DecimateRow<'_>, out: &mut [f32]) {
    let n_out = out.len();
    // Four groups of four outputs at a time, for independent add chains.
    let mut x = 0;
    while x + 16 <= n_out {
        let mut acc = [_mm256_setzero_pd(); 4];
        for (v, &row) in p.rows.iter().enumerate() {
            for u in 0..p.n {
                let k = _mm_set1_ps(p.kernel[v * p.n + u]);
                let base = row + (u % p.f) * p.phase_len + u / p.f + x;
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = mac(*a, load4(p.split, base + 4 * j), k);
                }
            }
        }
        for (j, a) in acc.iter().enumerate() {
            let o = x + 4 * j;
            _mm_storeu_ps(out[o..o + 4].as_mut_ptr(), _mm256_cvtpd_ps(*a));
        }
        x += 16;
    }
    while x + 4 <= n_out {
        let mut acc = _mm256_setzero_pd();
        for (v, &row) in p.rows.iter().enumerate() {
            for u in 0..p.n {
                let k = _mm_set1_ps(p.kernel[v * p.n + u]);
                let base = row + (u % p.f) * p.phase_len + u / p.f + x;
                acc = mac(acc, load4(p.split, base), k);
            }
        }
        _mm_storeu_ps(out[x..x + 4].as_mut_ptr(), _mm256_cvtpd_ps(acc));
        x += 4;
    }
    for (i, o) in out.iter_mut().enumerate().skip(x) {
        *o = p.sample(i);
    }
}
