//! AVX2 kernels of the integer VIF, giving exactly the integer sums and
//! decimated pictures of `scalar.rs`.
//!
//! How the exact integer arithmetic is mapped onto 16-bit SIMD lanes:
//!
//! * Filters run on `vpmaddwd` (signed 16x16-bit products, summed in pairs
//!   into 32 bits). Unsigned 16-bit inputs are biased by -32768 first;
//!   every filter sums to 65536, so the bias removes exactly 2^31 from the
//!   sum, which is added back (mod 2^32) at the end. Scale 3's centre tap
//!   (43728, above `i16::MAX`) is split into two equal halves.
//! * Vertically filtered rows are stored as biased 16-bit values; a 32-bit
//!   second moment is stored as two such halves, filtered separately and
//!   recombined exactly: `(65536*A + B + 32768) >> 16 = A + ((B + 32768) >> 16)`.
//! * The horizontal pass produces even and odd output columns in separate
//!   vectors (a `vpmaddwd` pair is two neighbouring columns); the statistic
//!   is a sum over pixels, so the order does not matter.
//! * Second moments of 16-bit samples need 48 bits; that vertical pass runs
//!   in double precision, exact for integers below 2^53.
//! * The per-pixel statistic runs on 8 lanes. The fixed-point log2 takes
//!   its exponent and table index from an exactly converted float.
//!
//! Columns that do not fill a whole vector run through the scalar helpers.

use std::any::TypeId;
use std::arch::x86_64::*;

use super::avx512;
use super::scalar::{variances, vertical_means, vertical_moments};
use super::{
    pixel_statistic, Image, Log2Table, ScaleGeom, Shifts, StatParams, Sums, COL_PAD, FILTERS, GAIN_EPS, SIGMA_NSQ,
};
use vmaf_core::Pixel;

/// Whether this CPU can run these kernels.
pub(crate) fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// One `vpmaddwd` step of a filter: `fa * x[o] + fb * x[o + 1]`, both
/// coefficients below 2^15. For the vertical pass `ka`, `kb` are the tap
/// indices of the two rows (equal when `fb` is 0).
#[derive(Clone, Copy, Debug)]
pub(super) struct Pair {
    pub o: isize,
    pub ka: usize,
    pub kb: usize,
    pub fa: u16,
    pub fb: u16,
}

impl Pair {
    #[inline]
    pub fn coef(&self) -> i32 {
        self.fa as i32 | (self.fb as i32) << 16
    }
}

fn pair_list(taps: &[u16]) -> Vec<Pair> {
    let half = taps.len() / 2;
    let mut split = Vec::new();
    for (k, &f) in taps.iter().enumerate() {
        if f > i16::MAX as u16 {
            split.push((k, f / 2));
            split.push((k, f - f / 2));
        } else {
            split.push((k, f));
        }
    }
    split
        .chunks(2)
        .map(|c| {
            let (ka, fa) = c[0];
            let (kb, fb) = c.get(1).copied().unwrap_or((ka, 0));
            // Neighbouring columns: the horizontal loads rely on it.
            debug_assert!(fb == 0 || kb == ka + 1);
            Pair { o: ka as isize - half as isize, ka, kb, fa, fb }
        })
        .collect()
}

/// Indices of the biased filtered rows.
pub(super) const MU1: usize = 0;
pub(super) const MU2: usize = 1;
pub(super) const XX_HI: usize = 2;
pub(super) const XX_LO: usize = 3;
pub(super) const YY_HI: usize = 4;
pub(super) const YY_LO: usize = 5;
pub(super) const XY_HI: usize = 6;
pub(super) const XY_LO: usize = 7;

pub(crate) struct Buffers {
    /// Vertically filtered rows, biased by -32768, column 0 at `COL_PAD`.
    rows: [Vec<i16>; 8],
    /// `vpmaddwd` steps of each scale's filter.
    pairs: [Vec<Pair>; 4],
    /// Which form of the AVX-512 multiply-add the hot kernels use (see
    /// `avx512::dot`).
    pub fused: bool,
}

impl Buffers {
    /// Buffers for pictures up to `w` wide (0: none).
    pub fn new(w: usize) -> Self {
        let n = if w == 0 { 0 } else { w + 2 * COL_PAD };
        Buffers {
            rows: std::array::from_fn(|_| vec![0; n]),
            pairs: std::array::from_fn(|s| pair_list(FILTERS[s])),
            fused: avx512::fused_is_faster(),
        }
    }
}

/// The pixels as 8-bit samples, when they are.
fn as_u8<'a, T: Pixel>(img: &Image<'a, T>) -> Option<Image<'a, u8>> {
    (TypeId::of::<T>() == TypeId::of::<u8>()).then(|| Image {
        // SAFETY: T is u8, checked just above.
        data: unsafe { std::slice::from_raw_parts(img.data.as_ptr().cast::<u8>(), img.data.len()) },
        stride: img.stride,
    })
}

/// The pixels as 16-bit samples, when they are.
fn as_u16<'a, T: Pixel>(img: &Image<'a, T>) -> Option<Image<'a, u16>> {
    (TypeId::of::<T>() == TypeId::of::<u16>()).then(|| Image {
        // SAFETY: T is u16, checked just above.
        data: unsafe { std::slice::from_raw_parts(img.data.as_ptr().cast::<u16>(), img.data.len()) },
        stride: img.stride,
    })
}

#[inline]
fn bias(x: u32) -> i16 {
    (x as u16 ^ 0x8000) as i16
}

#[inline]
fn unbias(x: i16) -> u32 {
    (x as u16 ^ 0x8000) as u32
}

/// Stores one column of scalar vertical results in the biased rows.
#[inline]
fn store_moments(rows: &mut [Vec<i16>; 8], col: usize, m: [u32; 5]) {
    rows[MU1][col] = bias(m[0]);
    rows[MU2][col] = bias(m[1]);
    for (q, v) in [(XX_HI, m[2]), (YY_HI, m[3]), (XY_HI, m[4])] {
        rows[q][col] = bias(v >> 16);
        rows[q + 1][col] = bias(v & 0xFFFF);
    }
}

/// The horizontal pass at one column, from the biased rows.
#[inline]
fn horizontal_column(rows: &[Vec<i16>; 8], taps: &[u16], j: usize) -> (i32, i32, i32) {
    let half = taps.len() / 2;
    let (mut m1, mut m2) = (0u32, 0u32);
    let mut q = [0u64; 3];
    for (k, &f) in taps.iter().enumerate() {
        let c = COL_PAD + j + k - half;
        m1 += f as u32 * unbias(rows[MU1][c]);
        m2 += f as u32 * unbias(rows[MU2][c]);
        for (acc, hi) in q.iter_mut().zip([XX_HI, YY_HI, XY_HI]) {
            let v = unbias(rows[hi][c]) << 16 | unbias(rows[hi + 1][c]);
            *acc += f as u64 * v as u64;
        }
    }
    variances(m1, m2, q[0], q[1], q[2])
}

/// Calls `$f::<P>` with the number of steps of `$pairs` as a constant.
macro_rules! with_steps {
    ($pairs:expr, $f:ident ( $($arg:expr),* )) => {
        match $pairs.len() {
            9 => $f::<9>($($arg),*),
            5 => $f::<5>($($arg),*),
            3 => $f::<3>($($arg),*),
            2 => $f::<2>($($arg),*),
            n => unreachable!("no filter has {n} steps"),
        }
    };
}

/// The sums of one scale's statistic. With `wide`, the AVX-512 kernels
/// take the columns that fill 32-wide vectors, AVX2 the next 16-wide
/// block, and scalar code the last few columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn statistic<T: Pixel>(
    scale: usize,
    g: &ScaleGeom,
    r: Image<'_, T>,
    d: Image<'_, T>,
    sh: Shifts,
    p: &StatParams<'_>,
    b: &mut Buffers,
    wide: bool,
) -> Sums {
    let taps = FILTERS[scale];
    let half = taps.len() / 2;
    let b32 = if wide { g.w / 32 * 32 } else { 0 };
    let b16 = g.w / 16 * 16;
    let mut sums = Sums::default();
    for i in 0..g.h {
        let rows = g.tap_rows(i, half);
        // SAFETY: the caller checked `available()` (and, with `wide`,
        // `avx512::available()`) when choosing these kernels; the vector
        // blocks end within the row.
        unsafe {
            if let (Some(r8), Some(d8)) = (as_u8(&r), as_u8(&d)) {
                if wide {
                    avx512::vertical_u8(b.fused, taps, rows, r8, d8, b32, sh, &mut b.rows);
                }
                vertical_u8(taps, rows, r8, d8, b32, b16, sh, &mut b.rows);
            } else if let (Some(r16), Some(d16)) = (as_u16(&r), as_u16(&d)) {
                let (pairs, out) = (&b.pairs[scale], &mut b.rows);
                if wide {
                    avx512::vertical_u16(pairs, taps, rows, r16, d16, b32, sh, out);
                }
                match half {
                    8 => vertical_u16::<8>(pairs, taps, rows, r16, d16, b32, b16, sh, out),
                    4 => vertical_u16::<4>(pairs, taps, rows, r16, d16, b32, b16, sh, out),
                    2 => vertical_u16::<2>(pairs, taps, rows, r16, d16, b32, b16, sh, out),
                    _ => vertical_u16::<1>(pairs, taps, rows, r16, d16, b32, b16, sh, out),
                }
            }
        }
        for j in b16..g.w {
            store_moments(&mut b.rows, COL_PAD + j, vertical_moments(taps, rows, &r, &d, j, sh));
        }
        for row in b.rows.iter_mut() {
            g.stat_edge.apply(row, g.w);
        }
        // SAFETY: as above; loads stay within the padded rows.
        unsafe {
            let pairs = &b.pairs[scale];
            if wide {
                avx512::horizontal_statistic(b.fused, pairs, &b.rows, b32, p, &mut sums);
            }
            with_steps!(pairs, horizontal_statistic(pairs, &b.rows, b32, b16, p, &mut sums));
        }
        for j in b16..g.w {
            let (s1, s2, s12) = horizontal_column(&b.rows, taps, j);
            pixel_statistic(s1, s2, s12, p, &mut sums);
        }
    }
    sums
}

/// Filters a scale with the next scale's filter and keeps every other row
/// and column; `wide` as for [`statistic`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn subsample<T: Pixel>(
    scale: usize,
    g: &ScaleGeom,
    r: Image<'_, T>,
    d: Image<'_, T>,
    shift: u32,
    r_out: &mut [u16],
    d_out: &mut [u16],
    b: &mut Buffers,
    wide: bool,
) {
    let taps = FILTERS[scale + 1];
    let half = taps.len() / 2;
    let pairs = &b.pairs[scale + 1];
    let (wo, ho) = (g.w / 2, g.h / 2);
    let (b32, o32) = if wide { (g.w / 32 * 32, wo / 32 * 32) } else { (0, 0) };
    let (b16, o16) = (g.w / 16 * 16, wo / 16 * 16);
    for y in 0..ho {
        let rows = g.tap_rows(2 * y, half);
        // SAFETY: as in `statistic`.
        unsafe {
            if let (Some(r8), Some(d8)) = (as_u8(&r), as_u8(&d)) {
                if wide {
                    avx512::vertical_means_u8(pairs, rows, r8, d8, b32, shift, &mut b.rows);
                }
                vertical_means_u8(pairs, rows, r8, d8, b32, b16, shift, &mut b.rows);
            } else if let (Some(r16), Some(d16)) = (as_u16(&r), as_u16(&d)) {
                if wide {
                    avx512::vertical_means_u16(pairs, rows, r16, d16, b32, shift, &mut b.rows);
                }
                vertical_means_u16(pairs, rows, r16, d16, b32, b16, shift, &mut b.rows);
            }
        }
        for j in b16..g.w {
            let (a, c) = vertical_means(taps, rows, &r, &d, j, shift);
            b.rows[MU1][COL_PAD + j] = bias(a);
            b.rows[MU2][COL_PAD + j] = bias(c);
        }
        g.sub_edge.apply(&mut b.rows[MU1], g.w);
        g.sub_edge.apply(&mut b.rows[MU2], g.w);
        let (ro, dout) = (&mut r_out[y * wo..(y + 1) * wo], &mut d_out[y * wo..(y + 1) * wo]);
        // SAFETY: as above; loads stay within the padded rows, stores
        // within the output rows.
        unsafe {
            if wide {
                avx512::horizontal_decimate(pairs, &b.rows[MU1], ro, o32);
                avx512::horizontal_decimate(pairs, &b.rows[MU2], dout, o32);
            }
            with_steps!(pairs, horizontal_decimate(pairs, &b.rows[MU1], ro, o32, o16));
            with_steps!(pairs, horizontal_decimate(pairs, &b.rows[MU2], dout, o32, o16));
        }
        for x in o16..wo {
            let (mut a, mut c) = (0u32, 0u32);
            for (k, &f) in taps.iter().enumerate() {
                let col = COL_PAD + 2 * x + k - half;
                a += f as u32 * unbias(b.rows[MU1][col]);
                c += f as u32 * unbias(b.rows[MU2][col]);
            }
            ro[x] = ((a + 32768) >> 16) as u16;
            dout[x] = ((c + 32768) >> 16) as u16;
        }
    }
}

// ---------------------------------------------------------------------------
// Vector helpers.

pub(super) const BIAS16: i16 = i16::MIN;
pub(super) const SIGN32: i32 = i32::MIN;

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_u8x16(p: *const u8) -> __m256i {
    _mm256_cvtepu8_epi16(_mm_loadu_si128(p.cast()))
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_i16x16(p: *const i16) -> __m256i {
    _mm256_loadu_si256(p.cast())
}

/// `vpmaddwd` of two rows interleaved, for the low and high halves of a
/// 16-lane vector (lanes 0-3, 8-11 and 4-7, 12-15: `packus` restores the
/// order).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn madd_rows(acc: &mut [__m256i; 2], a: __m256i, b: __m256i, f: __m256i) {
    acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), f));
    acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), f));
}

/// Packs two halves from [`madd_rows`] (values below 2^16) into 16 lanes in
/// column order, biased.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn pack_biased(lo: __m256i, hi: __m256i) -> __m256i {
    _mm256_xor_si256(_mm256_packus_epi32(lo, hi), _mm256_set1_epi16(BIAS16))
}

/// Stores a 32-bit second moment whose sum was biased by -2^31 (`acc`
/// holds `true - 2^31`) as biased 16-bit halves. The biased high half is
/// just `acc >> 16`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store_halves(acc: [__m256i; 2], hi: *mut i16, lo: *mut i16) {
    let mask = _mm256_set1_epi32(0xFFFF);
    let h = _mm256_packus_epi32(_mm256_srli_epi32(acc[0], 16), _mm256_srli_epi32(acc[1], 16));
    let l = pack_biased(_mm256_and_si256(acc[0], mask), _mm256_and_si256(acc[1], mask));
    _mm256_storeu_si256(hi.cast(), h);
    _mm256_storeu_si256(lo.cast(), l);
}

/// `(a * b + 2^31) >> 32` per unsigned 32-bit lane.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn mul_round32(a: __m256i, b: __m256i) -> __m256i {
    let r = _mm256_set1_epi64x(1 << 31);
    let even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epu32(a, b), r), 32);
    let odd = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(b, 32)), r);
    _mm256_blend_epi32(even, odd, 0b1010_1010)
}

// ---------------------------------------------------------------------------
// Vertical passes.

/// Vertical pass of the statistic on 8-bit samples (scale 0), for the
/// columns `0..blocks` (a multiple of 16).
///
/// Taps are taken in symmetric pairs (rows `i-k` and `i+k` share a
/// coefficient): one `vpmaddwd` of the interleaved rows with themselves
/// gives `a*a + b*b` (8-bit samples keep it exact), which one 32-bit
/// multiply scales by the coefficient. The sums wrap in 32 bits exactly
/// as the true sums do.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn vertical_u8(
    taps: &[u16],
    rows: &[usize],
    r: Image<'_, u8>,
    d: Image<'_, u8>,
    from: usize,
    to: usize,
    sh: Shifts,
    out: &mut [Vec<i16>; 8],
) {
    debug_assert_eq!(sh, Shifts { mu: 8, sq: 0 });
    let half = taps.len() / 2;
    let zero = _mm256_setzero_si256();
    let (rp, dp) = (r.data.as_ptr(), d.data.as_ptr());
    let mut j = from;
    while j < to {
        let (mut m1, mut m2, mut rr, mut dd, mut rd) = ([zero; 2], [zero; 2], [zero; 2], [zero; 2], [zero; 2]);
        for k in 0..=half {
            let f = taps[k] as i32;
            let (a_row, b_row) = (rows[k], rows[2 * half - k]);
            let ra = load_u8x16(rp.add(a_row * r.stride + j));
            let da = load_u8x16(dp.add(a_row * d.stride + j));
            // The centre tap pairs with zero.
            let (rb, db, fb) = if k < half {
                (load_u8x16(rp.add(b_row * r.stride + j)), load_u8x16(dp.add(b_row * d.stride + j)), f)
            } else {
                (zero, zero, 0)
            };
            let fm = _mm256_set1_epi32(f | fb << 16);
            let fs = _mm256_set1_epi32(f);
            let ur = [_mm256_unpacklo_epi16(ra, rb), _mm256_unpackhi_epi16(ra, rb)];
            let ud = [_mm256_unpacklo_epi16(da, db), _mm256_unpackhi_epi16(da, db)];
            for h in 0..2 {
                m1[h] = _mm256_add_epi32(m1[h], _mm256_madd_epi16(ur[h], fm));
                m2[h] = _mm256_add_epi32(m2[h], _mm256_madd_epi16(ud[h], fm));
                rr[h] = _mm256_add_epi32(rr[h], _mm256_mullo_epi32(_mm256_madd_epi16(ur[h], ur[h]), fs));
                dd[h] = _mm256_add_epi32(dd[h], _mm256_mullo_epi32(_mm256_madd_epi16(ud[h], ud[h]), fs));
                rd[h] = _mm256_add_epi32(rd[h], _mm256_mullo_epi32(_mm256_madd_epi16(ur[h], ud[h]), fs));
            }
        }
        let round = _mm256_set1_epi32(128);
        let mean = |m: [__m256i; 2]| {
            pack_biased(
                _mm256_srli_epi32(_mm256_add_epi32(m[0], round), 8),
                _mm256_srli_epi32(_mm256_add_epi32(m[1], round), 8),
            )
        };
        // The second moments are true sums: bias them like the others.
        let sign = _mm256_set1_epi32(SIGN32);
        let biased = |m: [__m256i; 2]| [_mm256_xor_si256(m[0], sign), _mm256_xor_si256(m[1], sign)];
        let c = COL_PAD + j;
        _mm256_storeu_si256(out[MU1].as_mut_ptr().add(c).cast(), mean(m1));
        _mm256_storeu_si256(out[MU2].as_mut_ptr().add(c).cast(), mean(m2));
        store_halves(biased(rr), out[XX_HI].as_mut_ptr().add(c), out[XX_LO].as_mut_ptr().add(c));
        store_halves(biased(dd), out[YY_HI].as_mut_ptr().add(c), out[YY_LO].as_mut_ptr().add(c));
        store_halves(biased(rd), out[XY_HI].as_mut_ptr().add(c), out[XY_LO].as_mut_ptr().add(c));
        j += 16;
    }
}

/// 8 samples starting at `p` as two vectors of 4 doubles.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_u16x8_pd(p: *const u16) -> [__m256d; 2] {
    let v = _mm256_cvtepu16_epi32(_mm_loadu_si128(p.cast()));
    [_mm256_cvtepi32_pd(_mm256_castsi256_si128(v)), _mm256_cvtepi32_pd(_mm256_extracti128_si256(v, 1))]
}

/// `(acc + round) >> shift` of exact double sums below 2^53, as 32-bit
/// lanes biased by -2^31 (4 lanes).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn round_shift_pd(acc: __m256d, round: __m256d, scale: __m256d) -> __m128i {
    let v = _mm256_floor_pd(_mm256_mul_pd(_mm256_add_pd(acc, round), scale));
    _mm256_cvttpd_epi32(_mm256_sub_pd(v, _mm256_set1_pd(2147483648.0)))
}

/// Vertical pass of the statistic on 16-bit samples, for the columns
/// `0..blocks` (a multiple of 16).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn vertical_u16<const HALF: usize>(
    pairs: &[Pair],
    taps: &[u16],
    rows: &[usize],
    r: Image<'_, u16>,
    d: Image<'_, u16>,
    from: usize,
    to: usize,
    sh: Shifts,
    out: &mut [Vec<i16>; 8],
) {
    let b16 = _mm256_set1_epi16(BIAS16);
    let sign = _mm256_set1_epi32(SIGN32);
    let zero = _mm256_setzero_si256();
    let (rp, dp) = (r.data.as_ptr(), d.data.as_ptr());
    let mu_round = _mm256_set1_epi32(sh.mu_round() as i32);
    let mu_shift = _mm_cvtsi32_si128(sh.mu as i32);
    let sq_round = _mm256_set1_pd(sh.sq_round() as f64);
    let sq_scale = _mm256_set1_pd(1.0 / (1u64 << sh.sq) as f64);
    let mut j = from;
    while j < to {
        // Means: biased samples through vpmaddwd.
        let (mut m1, mut m2) = ([zero; 2], [zero; 2]);
        for p in pairs {
            let f = _mm256_set1_epi32(p.coef());
            let (ra_row, rb_row) = (rows[p.ka], rows[p.kb]);
            let ld = |base: *const u16, row: usize, stride: usize| {
                _mm256_xor_si256(_mm256_loadu_si256(base.add(row * stride + j).cast()), b16)
            };
            madd_rows(&mut m1, ld(rp, ra_row, r.stride), ld(rp, rb_row, r.stride), f);
            madd_rows(&mut m2, ld(dp, ra_row, d.stride), ld(dp, rb_row, d.stride), f);
        }
        let mean = |m: [__m256i; 2]| {
            let s = |x: __m256i| _mm256_srl_epi32(_mm256_add_epi32(_mm256_xor_si256(x, sign), mu_round), mu_shift);
            pack_biased(s(m[0]), s(m[1]))
        };
        let c = COL_PAD + j;
        _mm256_storeu_si256(out[MU1].as_mut_ptr().add(c).cast(), mean(m1));
        _mm256_storeu_si256(out[MU2].as_mut_ptr().add(c).cast(), mean(m2));

        // Second moments in double precision, 8 columns at a time, taps in
        // symmetric pairs: a*a + b*b (below 2^33) is exact, and so is its
        // product with the coefficient added to the sum (below 2^49).
        let mut q = [[zero; 2]; 3];
        for (half, qh) in [0usize, 8].into_iter().enumerate() {
            let zd = _mm256_setzero_pd();
            let (mut rr, mut dd, mut rd) = ([zd; 2], [zd; 2], [zd; 2]);
            for k in 0..=HALF {
                let f = _mm256_set1_pd(taps[k] as f64);
                let (a_row, b_row) = (rows[k], rows[2 * HALF - k]);
                let ra = load_u16x8_pd(rp.add(a_row * r.stride + j + qh));
                let da = load_u16x8_pd(dp.add(a_row * d.stride + j + qh));
                if k < HALF {
                    let rb = load_u16x8_pd(rp.add(b_row * r.stride + j + qh));
                    let db = load_u16x8_pd(dp.add(b_row * d.stride + j + qh));
                    for x in 0..2 {
                        let t = _mm256_fmadd_pd(rb[x], rb[x], _mm256_mul_pd(ra[x], ra[x]));
                        rr[x] = _mm256_fmadd_pd(t, f, rr[x]);
                        let t = _mm256_fmadd_pd(db[x], db[x], _mm256_mul_pd(da[x], da[x]));
                        dd[x] = _mm256_fmadd_pd(t, f, dd[x]);
                        let t = _mm256_fmadd_pd(rb[x], db[x], _mm256_mul_pd(ra[x], da[x]));
                        rd[x] = _mm256_fmadd_pd(t, f, rd[x]);
                    }
                } else {
                    for x in 0..2 {
                        let fr = _mm256_mul_pd(f, ra[x]);
                        rr[x] = _mm256_fmadd_pd(fr, ra[x], rr[x]);
                        rd[x] = _mm256_fmadd_pd(fr, da[x], rd[x]);
                        dd[x] = _mm256_fmadd_pd(_mm256_mul_pd(f, da[x]), da[x], dd[x]);
                    }
                }
            }
            for (acc, v) in q.iter_mut().zip([rr, dd, rd]) {
                let lo = round_shift_pd(v[0], sq_round, sq_scale);
                let hi = round_shift_pd(v[1], sq_round, sq_scale);
                acc[half] = _mm256_set_m128i(hi, lo);
            }
        }
        // `q` holds columns 0-7 and 8-15 in order; packus interleaves
        // 128-bit lanes, which the permute undoes.
        let mask = _mm256_set1_epi32(0xFFFF);
        for (v, hi) in q.iter().zip([XX_HI, YY_HI, XY_HI]) {
            let h = _mm256_packus_epi32(_mm256_srli_epi32(v[0], 16), _mm256_srli_epi32(v[1], 16));
            let l = pack_biased(_mm256_and_si256(v[0], mask), _mm256_and_si256(v[1], mask));
            _mm256_storeu_si256(out[hi].as_mut_ptr().add(c).cast(), _mm256_permute4x64_epi64(h, 0b11_01_10_00));
            _mm256_storeu_si256(out[hi + 1].as_mut_ptr().add(c).cast(), _mm256_permute4x64_epi64(l, 0b11_01_10_00));
        }
        j += 16;
    }
}

/// Vertical pass of the subsampling filter on 8-bit samples.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn vertical_means_u8(
    pairs: &[Pair],
    rows: &[usize],
    r: Image<'_, u8>,
    d: Image<'_, u8>,
    from: usize,
    to: usize,
    shift: u32,
    out: &mut [Vec<i16>; 8],
) {
    let zero = _mm256_setzero_si256();
    let round = _mm256_set1_epi32(((1u32 << shift) >> 1) as i32);
    let sh = _mm_cvtsi32_si128(shift as i32);
    let (rp, dp) = (r.data.as_ptr(), d.data.as_ptr());
    let mut j = from;
    while j < to {
        let (mut m1, mut m2) = ([zero; 2], [zero; 2]);
        for p in pairs {
            let f = _mm256_set1_epi32(p.coef());
            let (ra_row, rb_row) = (rows[p.ka], rows[p.kb]);
            madd_rows(&mut m1, load_u8x16(rp.add(ra_row * r.stride + j)), load_u8x16(rp.add(rb_row * r.stride + j)), f);
            madd_rows(&mut m2, load_u8x16(dp.add(ra_row * d.stride + j)), load_u8x16(dp.add(rb_row * d.stride + j)), f);
        }
        let s = |x: __m256i| _mm256_srl_epi32(_mm256_add_epi32(x, round), sh);
        let c = COL_PAD + j;
        _mm256_storeu_si256(out[MU1].as_mut_ptr().add(c).cast(), pack_biased(s(m1[0]), s(m1[1])));
        _mm256_storeu_si256(out[MU2].as_mut_ptr().add(c).cast(), pack_biased(s(m2[0]), s(m2[1])));
        j += 16;
    }
}

/// Vertical pass of the subsampling filter on 16-bit samples.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn vertical_means_u16(
    pairs: &[Pair],
    rows: &[usize],
    r: Image<'_, u16>,
    d: Image<'_, u16>,
    from: usize,
    to: usize,
    shift: u32,
    out: &mut [Vec<i16>; 8],
) {
    let zero = _mm256_setzero_si256();
    let b16 = _mm256_set1_epi16(BIAS16);
    let sign = _mm256_set1_epi32(SIGN32);
    let round = _mm256_set1_epi32(((1u32 << shift) >> 1) as i32);
    let sh = _mm_cvtsi32_si128(shift as i32);
    let (rp, dp) = (r.data.as_ptr(), d.data.as_ptr());
    let mut j = from;
    while j < to {
        let (mut m1, mut m2) = ([zero; 2], [zero; 2]);
        for p in pairs {
            let f = _mm256_set1_epi32(p.coef());
            let (ra_row, rb_row) = (rows[p.ka], rows[p.kb]);
            let ld = |base: *const u16, row: usize, stride: usize| {
                _mm256_xor_si256(_mm256_loadu_si256(base.add(row * stride + j).cast()), b16)
            };
            madd_rows(&mut m1, ld(rp, ra_row, r.stride), ld(rp, rb_row, r.stride), f);
            madd_rows(&mut m2, ld(dp, ra_row, d.stride), ld(dp, rb_row, d.stride), f);
        }
        let s = |x: __m256i| _mm256_srl_epi32(_mm256_add_epi32(_mm256_xor_si256(x, sign), round), sh);
        let c = COL_PAD + j;
        _mm256_storeu_si256(out[MU1].as_mut_ptr().add(c).cast(), pack_biased(s(m1[0]), s(m1[1])));
        _mm256_storeu_si256(out[MU2].as_mut_ptr().add(c).cast(), pack_biased(s(m2[0]), s(m2[1])));
        j += 16;
    }
}

// ---------------------------------------------------------------------------
// Horizontal passes.

/// A filter's `vpmaddwd` steps with their coefficients broadcast, `P`
/// steps (a constant, so the loops unroll).
struct Steps<const P: usize> {
    o: [isize; P],
    f: [__m256i; P],
}

impl<const P: usize> Steps<P> {
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn new(pairs: &[Pair]) -> Self {
        debug_assert_eq!(pairs.len(), P);
        Steps { o: std::array::from_fn(|i| pairs[i].o), f: std::array::from_fn(|i| _mm256_set1_epi32(pairs[i].coef())) }
    }

    /// The filter over 8 output columns `start, start + 2, ..` of a biased
    /// row (`start` counted from the row's first stored element), as
    /// 32-bit sums biased by -2^31.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn filter8(&self, row: *const i16, start: usize) -> __m256i {
        let mut acc = _mm256_setzero_si256();
        for i in 0..P {
            let v = load_i16x16(row.offset(start as isize + self.o[i]));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(v, self.f[i]));
        }
        acc
    }
}

/// Running sums of the vector statistic over one row.
struct Acc {
    /// Octave parts of the logs (vector; 32-bit lanes for the
    /// denominator, 64-bit for the numerator) and table parts (scalar).
    den: __m256i,
    num: __m256i,
    den_table: i64,
    num_table: i64,
    log_count: __m256i,
    flat_sum: __m256i,
}

/// The horizontal pass and the statistic for columns `0..blocks`.
#[target_feature(enable = "avx2,fma")]
unsafe fn horizontal_statistic<const P: usize>(
    pairs: &[Pair],
    rows: &[Vec<i16>; 8],
    from: usize,
    to: usize,
    p: &StatParams<'_>,
    sums: &mut Sums,
) {
    let steps = Steps::<P>::new(pairs);
    let sign = _mm256_set1_epi32(SIGN32);
    let round = _mm256_set1_epi32(32768);
    let zero = _mm256_setzero_si256();
    let lut = p.log2;
    let gain_limit = _mm256_set1_pd(p.gain_limit);
    let mut acc = Acc { den: zero, num: zero, den_table: 0, num_table: 0, log_count: zero, flat_sum: zero };
    let ptrs: [*const i16; 8] = std::array::from_fn(|q| rows[q].as_ptr());
    let mut j = from;
    while j < to {
        for parity in 0..2 {
            let start = COL_PAD + j + parity;
            let f = |q: usize| steps.filter8(ptrs[q], start);
            let mu1 = _mm256_xor_si256(f(MU1), sign);
            let mu2 = _mm256_xor_si256(f(MU2), sign);
            let moment = |hi: usize| {
                let a = _mm256_xor_si256(f(hi), sign);
                let b = _mm256_xor_si256(f(hi + 1), sign);
                _mm256_add_epi32(a, _mm256_srli_epi32(_mm256_add_epi32(b, round), 16))
            };
            let s1 = _mm256_sub_epi32(moment(XX_HI), mul_round32(mu1, mu1));
            let s2 = _mm256_max_epi32(_mm256_sub_epi32(moment(YY_HI), mul_round32(mu2, mu2)), zero);
            let s12 = _mm256_sub_epi32(moment(XY_HI), mul_round32(mu1, mu2));
            statistic8(s1, s2, s12, lut, gain_limit, &mut acc);
        }
        j += 16;
    }
    let log_count = -hsum_epi32(acc.log_count);
    sums.den_log += hsum_epi32(acc.den) + acc.den_table;
    let mut num = [0i64; 4];
    _mm256_storeu_si256(num.as_mut_ptr().cast(), acc.num);
    sums.num_log += num.iter().sum::<i64>() + acc.num_table;
    sums.den_non_log += (to - from) as i64 - log_count;
    let mut flat = [0i64; 4];
    _mm256_storeu_si256(flat.as_mut_ptr().cast(), acc.flat_sum);
    sums.num_non_log += flat.iter().sum::<i64>();
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn hsum_epi32(v: __m256i) -> i64 {
    let mut a = [0i32; 8];
    _mm256_storeu_si256(a.as_mut_ptr().cast(), v);
    a.iter().map(|&x| x as i64).sum()
}

/// The per-pixel statistic of [`pixel_statistic`] on 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn statistic8(s1: __m256i, s2: __m256i, s12: __m256i, lut: &Log2Table, gain_limit: __m256d, acc: &mut Acc) {
    let zero = _mm256_setzero_si256();
    let log = _mm256_cmpgt_epi32(s1, _mm256_set1_epi32(SIGMA_NSQ - 1));
    let flat = _mm256_andnot_si256(log, s2);
    acc.flat_sum = _mm256_add_epi64(acc.flat_sum, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(flat)));
    acc.flat_sum = _mm256_add_epi64(acc.flat_sum, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(flat, 1)));
    acc.log_count = _mm256_add_epi32(acc.log_count, log);
    if _mm256_movemask_epi8(log) == 0 {
        return;
    }

    // Denominator: log2(2^17 + s1) - 17. The argument is below 2^32; its
    // top 24 bits convert to float exactly, giving the octave.
    let x = _mm256_add_epi32(s1, _mm256_set1_epi32(SIGMA_NSQ));
    let y = _mm256_cvtepi32_ps(_mm256_srli_epi32(x, 8));
    // octave - 15 = (float exponent + 8) - 15
    let k = _mm256_sub_epi32(_mm256_srli_epi32(_mm256_castps_si256(y), 23), _mm256_set1_epi32(127 + 7));
    let idx = _mm256_and_si256(
        _mm256_sub_epi32(_mm256_srlv_epi32(x, k), _mm256_set1_epi32(32768)),
        _mm256_set1_epi32(0x7FFF),
    );
    // Table lookups run on the scalar ports, which are otherwise idle;
    // lanes outside the branch read the table's zero sentinel.
    let idx = _mm256_blendv_epi8(_mm256_set1_epi32(LOG2_SENTINEL as i32), idx, log);
    acc.den_table += sum_table(lut, idx);
    let den = _mm256_sub_epi32(_mm256_slli_epi32(k, 11), _mm256_set1_epi32(2048 * 17));
    acc.den = _mm256_add_epi32(acc.den, _mm256_and_si256(den, log));

    let num_mask = _mm256_and_si256(log, _mm256_and_si256(_mm256_cmpgt_epi32(s12, zero), _mm256_cmpgt_epi32(s2, zero)));
    if _mm256_movemask_epi8(num_mask) == 0 {
        return;
    }
    for half in 0..2 {
        let pick = |v: __m256i| if half == 0 { _mm256_castsi256_si128(v) } else { _mm256_extracti128_si256(v, 1) };
        numerator4(pick(s1), pick(s2), pick(s12), pick(num_mask), lut, gain_limit, acc);
    }
}

/// An index of the log2 table whose entry is 0.
pub(super) const LOG2_SENTINEL: usize = 32768;

/// Sum of the table entries at 8 indices.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn sum_table(lut: &Log2Table, idx: __m256i) -> i64 {
    let mut i = [0u32; 8];
    _mm256_storeu_si256(i.as_mut_ptr().cast(), idx);
    i.iter().map(|&i| lut.entry(i)).sum()
}

/// The numerator's log difference on 4 lanes where `mask` is set, in
/// double precision exactly as the scalar code computes it.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn numerator4(
    s1: __m128i,
    s2: __m128i,
    s12: __m128i,
    mask: __m128i,
    lut: &Log2Table,
    gain_limit: __m256d,
    acc: &mut Acc,
) {
    const TRUNC: i32 = _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC;
    let s1 = _mm256_cvtepi32_pd(s1);
    let s2 = _mm256_cvtepi32_pd(s2);
    let s12 = _mm256_cvtepi32_pd(s12);
    let g = _mm256_div_pd(s12, _mm256_add_pd(s1, _mm256_set1_pd(GAIN_EPS)));
    // Separate multiply and subtract: libvmaf's code is not fused.
    let sv = _mm256_sub_pd(s2, _mm256_mul_pd(g, s12));
    let sv = _mm256_max_pd(_mm256_round_pd::<TRUNC>(sv), _mm256_setzero_pd());
    let g = _mm256_min_pd(g, gain_limit);
    let t = _mm256_round_pd::<TRUNC>(_mm256_mul_pd(_mm256_mul_pd(g, g), s1));
    let n1 = _mm256_add_pd(sv, _mm256_set1_pd(SIGMA_NSQ as f64));
    let n1t = _mm256_add_pd(t, n1);
    // Both are integers of at least 2^17 and below 2^53: the exponent is
    // the octave and the top 15 mantissa bits the table index.
    let (b1, b2) = (_mm256_castpd_si256(n1t), _mm256_castpd_si256(n1));
    let m15 = _mm256_set1_epi64x(0x7FFF);
    // The low 32 bits of each 64-bit lane, as 4 lanes.
    let narrow =
        |v: __m256i| _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)));
    // Both index sets in one vector, the sentinel where masked out.
    let idx = _mm256_set_m128i(
        narrow(_mm256_and_si256(_mm256_srli_epi64(b2, 37), m15)),
        narrow(_mm256_and_si256(_mm256_srli_epi64(b1, 37), m15)),
    );
    let idx = _mm256_blendv_epi8(_mm256_set1_epi32(LOG2_SENTINEL as i32), idx, _mm256_set_m128i(mask, mask));
    let mut i = [0u32; 8];
    _mm256_storeu_si256(i.as_mut_ptr().cast(), idx);
    acc.num_table += (0..4).map(|k| lut.entry(i[k]) - lut.entry(i[k + 4])).sum::<i64>();
    let mask = _mm256_cvtepi32_epi64(mask);
    let ediff = _mm256_sub_epi64(_mm256_srli_epi64(b1, 52), _mm256_srli_epi64(b2, 52));
    acc.num = _mm256_add_epi64(acc.num, _mm256_and_si256(_mm256_slli_epi64(ediff, 11), mask));
}

/// The horizontal pass of the subsampling filter at even columns: output
/// columns `0..out_blocks` (a multiple of 16) of one decimated row.
#[target_feature(enable = "avx2")]
unsafe fn horizontal_decimate<const P: usize>(pairs: &[Pair], row: &[i16], out: &mut [u16], from: usize, to: usize) {
    let steps = Steps::<P>::new(pairs);
    let sign = _mm256_set1_epi32(SIGN32);
    let round = _mm256_set1_epi32(32768);
    let rp = row.as_ptr();
    let mut x = from;
    while x < to {
        let v = |start: usize| {
            let a = _mm256_xor_si256(steps.filter8(rp, start), sign);
            _mm256_srli_epi32(_mm256_add_epi32(a, round), 16)
        };
        let lo = v(COL_PAD + 2 * x);
        let hi = v(COL_PAD + 2 * x + 16);
        let packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0b11_01_10_00);
        _mm256_storeu_si256(out.as_mut_ptr().add(x).cast(), packed);
        x += 16;
    }
}
