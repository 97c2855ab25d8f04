//! AVX2 kernels of the float VIF, bit-identical to `scalar.rs`: each lane
//! performs the scalar code's operations in the same order (no fused
//! multiply-add), and the per-pixel terms are summed in scalar code in
//! pixel order, as libvmaf sums them.

use std::arch::x86_64::*;

use super::scalar::{pixel_terms, StatConsts};
use super::{Filter, Mirror, Plane32};

/// Whether this CPU can run these kernels.
pub(crate) fn available() -> bool {
    is_x86_feature_detected!("avx2")
}

/// Columns of headroom on each side of a filtered row: the widest filter
/// libvmaf accepts has radius 32.
const PAD: usize = 32;

pub(crate) struct Buffers {
    /// Vertically filtered rows (mu1, mu2, xx, yy, xy), column 0 at `PAD`.
    rows: [Vec<f32>; 5],
    /// Per-pixel numerator and denominator terms of one row.
    num: Vec<f32>,
    den: Vec<f32>,
    /// A horizontally filtered row, for the decimation.
    full: Vec<f32>,
}

impl Buffers {
    pub fn new(w: usize) -> Self {
        let n = if w == 0 { 0 } else { w + 2 * PAD };
        Buffers {
            rows: std::array::from_fn(|_| vec![0.0; n]),
            num: vec![0.0; w],
            den: vec![0.0; w],
            full: vec![0.0; w],
        }
    }
}

/// Fills the mirrored columns of a padded row from the mirror map of its
/// filter (`cols` covers `-radius..w+radius`).
fn fill_edges(row: &mut [f32], w: usize, radius: usize, cols: &Mirror) {
    for p in 0..radius {
        row[PAD - radius + p] = row[PAD + cols.at(p)];
        row[PAD + w + p] = row[PAD + cols.at(radius + w + p)];
    }
}

/// One scale's numerator and denominator.
pub(crate) fn statistic(
    f: &Filter,
    r: &Plane32<'_>,
    d: &Plane32<'_>,
    rows: &Mirror,
    cols: &Mirror,
    c: &StatConsts,
    b: &mut Buffers,
) -> (f32, f32) {
    let radius = f.radius();
    debug_assert!(radius <= PAD);
    let blocks = r.w / 8 * 8;
    let (mut num, mut den) = (0f32, 0f32);
    if r.w == 0 {
        return (num, den);
    }
    for i in 0..r.h {
        let tap_rows = &rows_of(rows, i, f.taps.len());
        // SAFETY: `available()` was checked when these kernels were
        // chosen; blocks of 8 columns end within the rows.
        unsafe { vertical(f, r, d, tap_rows, blocks, &mut b.rows) };
        for j in blocks..r.w {
            let (mut m1, mut m2, mut xx, mut yy, mut xy) = (0f32, 0f32, 0f32, 0f32, 0f32);
            for (&t, &row) in f.taps.iter().zip(tap_rows) {
                let (a, e) = (r.at(row, j), d.at(row, j));
                m1 += t * a;
                m2 += t * e;
                xx += t * (a * a);
                yy += t * (e * e);
                xy += t * (a * e);
            }
            for (q, v) in [m1, m2, xx, yy, xy].into_iter().enumerate() {
                b.rows[q][PAD + j] = v;
            }
        }
        for row in b.rows.iter_mut() {
            fill_edges(row, r.w, radius, cols);
        }
        // SAFETY: as above; loads stay within the padded rows.
        unsafe { horizontal_terms(f, &b.rows, blocks, c, &mut b.num, &mut b.den) };
        for j in blocks..r.w {
            let h = |q: usize| {
                let mut acc = 0f32;
                for (k, &t) in f.taps.iter().enumerate() {
                    acc += t * b.rows[q][PAD + j + k - radius];
                }
                acc
            };
            let (n, e) = pixel_terms(h(0), h(1), h(2), h(3), h(4), c);
            b.num[j] = n;
            b.den[j] = e;
        }
        // Float sums in pixel order, as libvmaf adds them.
        let (mut row_num, mut row_den) = (0f32, 0f32);
        for (&n, &e) in b.num[..r.w].iter().zip(&b.den[..r.w]) {
            row_num += n;
            row_den += e;
        }
        num += row_num;
        den += row_den;
    }
    (num, den)
}

/// The source rows of the taps centred on row `i` (at most 65 taps).
fn rows_of(rows: &Mirror, i: usize, n: usize) -> [usize; 65] {
    let mut out = [0usize; 65];
    for (k, o) in out.iter_mut().enumerate().take(n) {
        *o = rows.at(i + k);
    }
    out
}

/// Vertical pass of the five quantities for columns `0..blocks`.
#[target_feature(enable = "avx2")]
unsafe fn vertical(
    f: &Filter,
    r: &Plane32<'_>,
    d: &Plane32<'_>,
    tap_rows: &[usize],
    blocks: usize,
    out: &mut [Vec<f32>; 5],
) {
    let (rp, dp) = (r.data.as_ptr(), d.data.as_ptr());
    let mut j = 0;
    while j < blocks {
        let z = _mm256_setzero_ps();
        let (mut m1, mut m2, mut xx, mut yy, mut xy) = (z, z, z, z, z);
        for (&t, &row) in f.taps.iter().zip(tap_rows) {
            let t = _mm256_set1_ps(t);
            let a = _mm256_loadu_ps(rp.add(row * r.w + j));
            let e = _mm256_loadu_ps(dp.add(row * d.w + j));
            m1 = _mm256_add_ps(m1, _mm256_mul_ps(t, a));
            m2 = _mm256_add_ps(m2, _mm256_mul_ps(t, e));
            xx = _mm256_add_ps(xx, _mm256_mul_ps(t, _mm256_mul_ps(a, a)));
            yy = _mm256_add_ps(yy, _mm256_mul_ps(t, _mm256_mul_ps(e, e)));
            xy = _mm256_add_ps(xy, _mm256_mul_ps(t, _mm256_mul_ps(a, e)));
        }
        for (q, v) in [m1, m2, xx, yy, xy].into_iter().enumerate() {
            _mm256_storeu_ps(out[q].as_mut_ptr().add(PAD + j), v);
        }
        j += 8;
    }
}

/// The horizontal filter over 8 columns starting at `j` of a padded row.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn filter8(f: &Filter, row: *const f32, j: usize) -> __m256 {
    let base = row.add(PAD + j - f.radius());
    let mut acc = _mm256_setzero_ps();
    for (k, &t) in f.taps.iter().enumerate() {
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(t), _mm256_loadu_ps(base.add(k))));
    }
    acc
}

/// The horizontal pass and the per-pixel terms for columns `0..blocks`.
#[target_feature(enable = "avx2")]
unsafe fn horizontal_terms(
    f: &Filter,
    rows: &[Vec<f32>; 5],
    blocks: usize,
    c: &StatConsts,
    num: &mut [f32],
    den: &mut [f32],
) {
    let mut j = 0;
    while j < blocks {
        let q = |k: usize| filter8(f, rows[k].as_ptr(), j);
        let (n, e) = terms8(q(0), q(1), q(2), q(3), q(4), c);
        _mm256_storeu_ps(num.as_mut_ptr().add(j), n);
        _mm256_storeu_ps(den.as_mut_ptr().add(j), e);
        j += 8;
    }
}

/// [`pixel_terms`] on 8 lanes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn terms8(mu1: __m256, mu2: __m256, xx: __m256, yy: __m256, xy: __m256, c: &StatConsts) -> (__m256, __m256) {
    let eps = _mm256_set1_ps(1.0e-10);
    let zero = _mm256_setzero_ps();
    let s1 = _mm256_sub_ps(xx, _mm256_mul_ps(mu1, mu1));
    let s2 = _mm256_sub_ps(yy, _mm256_mul_ps(mu2, mu2));
    let s12 = _mm256_sub_ps(xy, _mm256_mul_ps(mu1, mu2));
    // max(x, 0) takes 0 for NaN and for -0, as `x > 0 ? x : 0` does.
    let s1 = _mm256_max_ps(s1, zero);
    let s2 = _mm256_max_ps(s2, zero);
    let g = _mm256_div_ps(s12, _mm256_add_ps(s1, eps));
    let sv = _mm256_sub_ps(s2, _mm256_mul_ps(g, s12));
    let tiny1 = _mm256_cmp_ps::<_CMP_LT_OQ>(s1, eps);
    let g = _mm256_andnot_ps(tiny1, g);
    let sv = _mm256_blendv_ps(sv, s2, tiny1);
    let s1 = _mm256_andnot_ps(tiny1, s1);
    let tiny2 = _mm256_cmp_ps::<_CMP_LT_OQ>(s2, eps);
    let g = _mm256_andnot_ps(tiny2, g);
    let sv = _mm256_andnot_ps(tiny2, sv);
    let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(g, zero);
    let sv = _mm256_blendv_ps(sv, s2, neg);
    let g = _mm256_andnot_ps(neg, g);
    let sv = _mm256_max_ps(sv, eps);
    let g = _mm256_min_ps(g, _mm256_set1_ps(c.gain_limit));

    // The arguments of the logs, in double precision as libvmaf has them.
    let gg = _mm256_mul_ps(_mm256_mul_ps(g, g), s1);
    let nsq = _mm256_set1_pd(c.sigma_nsq);
    let one = _mm256_set1_pd(1.0);
    let lo = |v: __m256| _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    let hi = |v: __m256| _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    let n_lo = _mm256_cvtpd_ps(_mm256_add_pd(one, _mm256_div_pd(lo(gg), _mm256_add_pd(lo(sv), nsq))));
    let n_hi = _mm256_cvtpd_ps(_mm256_add_pd(one, _mm256_div_pd(hi(gg), _mm256_add_pd(hi(sv), nsq))));
    let d_lo = _mm256_cvtpd_ps(_mm256_add_pd(one, _mm256_div_pd(lo(s1), nsq)));
    let d_hi = _mm256_cvtpd_ps(_mm256_add_pd(one, _mm256_div_pd(hi(s1), nsq)));
    let num = log2_approx8(_mm256_set_m128(n_hi, n_lo));
    let den = log2_approx8(_mm256_set_m128(d_hi, d_lo));

    let num = _mm256_andnot_ps(_mm256_cmp_ps::<_CMP_LT_OQ>(s12, zero), num);
    // s1 < nsq, compared in double.
    let flat_lo = _mm256_cmp_pd::<_CMP_LT_OQ>(lo(s1), nsq);
    let flat_hi = _mm256_cmp_pd::<_CMP_LT_OQ>(hi(s1), nsq);
    let flat = _mm256_castsi256_ps(_mm256_set_m128i(
        _mm256_castsi256_si128(narrow_mask(flat_hi)),
        _mm256_castsi256_si128(narrow_mask(flat_lo)),
    ));
    let flat_num = _mm256_sub_ps(_mm256_set1_ps(1.0), _mm256_mul_ps(s2, _mm256_set1_ps(c.sigma_max_inv)));
    (_mm256_blendv_ps(num, flat_num, flat), _mm256_blendv_ps(den, _mm256_set1_ps(1.0), flat))
}

/// A 4-lane double mask as 4 dword lanes (in the low 128 bits).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn narrow_mask(m: __m256d) -> __m256i {
    _mm256_permutevar8x32_epi32(_mm256_castpd_si256(m), _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6))
}

/// libvmaf's fast log2 on 8 lanes (see `scalar::log2_approx`).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn log2_approx8(x: __m256) -> __m256 {
    const POLY: [f32; 9] = [
        -0.012671635276421_f64 as f32,
        0.064841182402670_f64 as f32,
        -0.157048836463065_f64 as f32,
        0.257167726303123_f64 as f32,
        -0.353800560300520_f64 as f32,
        0.480131410397451_f64 as f32,
        -0.721314327952201_f64 as f32,
        1.442694803896991_f64 as f32,
        0.0,
    ];
    let bits = _mm256_castps_si256(x);
    let exponent = _mm256_srli_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x7F80_0000)), 23);
    let remain = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi32(0x007F_FFFF)),
        _mm256_set1_epi32(0x3F80_0000),
    ));
    let t = _mm256_sub_ps(remain, _mm256_set1_ps(1.0));
    let mut v = _mm256_setzero_ps();
    for c in POLY {
        v = _mm256_add_ps(_mm256_mul_ps(v, t), _mm256_set1_ps(c));
    }
    let r = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(exponent, _mm256_set1_epi32(127))), v);
    let zero = _mm256_setzero_ps();
    let r = _mm256_blendv_ps(r, _mm256_set1_ps(f32::NEG_INFINITY), _mm256_cmp_ps::<_CMP_EQ_OQ>(x, zero));
    _mm256_blendv_ps(r, _mm256_set1_ps(f32::NAN), _mm256_cmp_ps::<_CMP_LT_OQ>(x, zero))
}

/// Filters a scale with `f` and keeps every other row and column.
pub(crate) fn decimate(f: &Filter, src: &Plane32<'_>, rows: &Mirror, cols: &Mirror, out: &mut [f32], b: &mut Buffers) {
    let radius = f.radius();
    let (wo, ho) = (src.w / 2, src.h / 2);
    if wo == 0 {
        return;
    }
    let blocks = src.w / 8 * 8;
    for y in 0..ho {
        let tap_rows = &rows_of(rows, 2 * y, f.taps.len());
        let row = &mut b.rows[0];
        // SAFETY: `available()` was checked; blocks end within the rows.
        unsafe { vertical_one(f, src, tap_rows, blocks, row) };
        for j in blocks..src.w {
            let mut acc = 0f32;
            for (&t, &r) in f.taps.iter().zip(tap_rows) {
                acc += t * src.at(r, j);
            }
            row[PAD + j] = acc;
        }
        fill_edges(row, src.w, radius, cols);
        // Every column, then the even ones: simpler than strided loads,
        // and this pass is small next to the statistic.
        let full = &mut b.full;
        // SAFETY: as above.
        unsafe {
            let mut j = 0;
            while j < blocks {
                _mm256_storeu_ps(full.as_mut_ptr().add(j), filter8(f, row.as_ptr(), j));
                j += 8;
            }
        }
        for j in blocks..src.w {
            let mut acc = 0f32;
            for (k, &t) in f.taps.iter().enumerate() {
                acc += t * row[PAD + j + k - radius];
            }
            full[j] = acc;
        }
        for x in 0..wo {
            out[y * wo + x] = full[2 * x];
        }
    }
}

/// Vertical pass of one picture for columns `0..blocks`.
#[target_feature(enable = "avx2")]
unsafe fn vertical_one(f: &Filter, src: &Plane32<'_>, tap_rows: &[usize], blocks: usize, out: &mut [f32]) {
    let p = src.data.as_ptr();
    let mut j = 0;
    while j < blocks {
        let mut acc = _mm256_setzero_ps();
        for (&t, &row) in f.taps.iter().zip(tap_rows) {
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(t), _mm256_loadu_ps(p.add(row * src.w + j))));
        }
        _mm256_storeu_ps(out.as_mut_ptr().add(PAD + j), acc);
        j += 8;
    }
}
