//! Reference kernels of the integer VIF: one output pixel at a time, with
//! libvmaf's integer widths spelled out. The SIMD kernels must give exactly
//! the same sums and decimated pictures.
//!
//! All filter sums fit their types without wrapping: the filters sum to
//! 65536 and the inputs are at most 16 bits (means) or 32 bits (second
//! moments, accumulated in 64 bits).

use super::{pixel_statistic, Image, ScaleGeom, Shifts, StatParams, Sums, COL_PAD, FILTERS};
use vmaf_core::Pixel;

/// One vertically filtered row of each quantity, column 0 at `COL_PAD`.
pub(crate) struct Buffers {
    mu1: Vec<u32>,
    mu2: Vec<u32>,
    xx: Vec<u32>,
    yy: Vec<u32>,
    xy: Vec<u32>,
}

impl Buffers {
    /// Buffers for pictures up to `w` wide (0: none, for an extractor that
    /// runs other kernels).
    pub fn new(w: usize) -> Self {
        let n = if w == 0 { 0 } else { w + 2 * COL_PAD };
        Buffers { mu1: vec![0; n], mu2: vec![0; n], xx: vec![0; n], yy: vec![0; n], xy: vec![0; n] }
    }
}

#[inline]
fn px<T: Pixel>(img: &Image<'_, T>, row: usize, col: usize) -> u32 {
    img.data[row * img.stride + col].into()
}

/// `(a * b + 2^31) >> 32`: the product of two 16.16 means, back in 16.16.
#[inline]
fn mul_round32(a: u32, b: u32) -> u32 {
    ((a as u64 * b as u64 + (1 << 31)) >> 32) as u32
}

/// The vertical pass of the statistic at column `j`: the means and the
/// three second moments, rounded by `sh`.
#[inline]
pub(crate) fn vertical_moments<T: Pixel>(
    taps: &[u16],
    rows: &[usize],
    r: &Image<'_, T>,
    d: &Image<'_, T>,
    j: usize,
    sh: Shifts,
) -> [u32; 5] {
    let (mut m1, mut m2) = (0u32, 0u32);
    let (mut rr, mut dd, mut rd) = (0u64, 0u64, 0u64);
    for (&f, &row) in taps.iter().zip(rows) {
        let (a, c) = (px(r, row, j), px(d, row, j));
        let (fa, fc) = (f as u32 * a, f as u32 * c);
        m1 += fa;
        m2 += fc;
        rr += fa as u64 * a as u64;
        dd += fc as u64 * c as u64;
        rd += fa as u64 * c as u64;
    }
    [
        (m1 + sh.mu_round()) >> sh.mu,
        (m2 + sh.mu_round()) >> sh.mu,
        ((rr + sh.sq_round()) >> sh.sq) as u32,
        ((dd + sh.sq_round()) >> sh.sq) as u32,
        ((rd + sh.sq_round()) >> sh.sq) as u32,
    ]
}

/// The variances and covariance from the horizontally filtered means
/// (16.16) and raw second-moment sums (rounded here by 16 bits).
#[inline]
pub(crate) fn variances(m1: u32, m2: u32, xx: u64, yy: u64, xy: u64) -> (i32, i32, i32) {
    let xx = ((xx + 32768) >> 16) as u32;
    let yy = ((yy + 32768) >> 16) as u32;
    let xy = ((xy + 32768) >> 16) as u32;
    // libvmaf subtracts in 32-bit unsigned and reads the result as signed:
    // rounding can make a variance slightly negative.
    let s1 = xx.wrapping_sub(mul_round32(m1, m1)) as i32;
    let s2 = (yy.wrapping_sub(mul_round32(m2, m2)) as i32).max(0);
    let s12 = xy.wrapping_sub(mul_round32(m1, m2)) as i32;
    (s1, s2, s12)
}

/// The vertical pass of the subsampling filter at column `j`.
#[inline]
pub(crate) fn vertical_means<T: Pixel>(
    taps: &[u16],
    rows: &[usize],
    r: &Image<'_, T>,
    d: &Image<'_, T>,
    j: usize,
    shift: u32,
) -> (u32, u32) {
    let round = (1u32 << shift) >> 1;
    let (mut a, mut c) = (0u32, 0u32);
    for (&f, &row) in taps.iter().zip(rows) {
        a += f as u32 * px(r, row, j);
        c += f as u32 * px(d, row, j);
    }
    ((a + round) >> shift, (c + round) >> shift)
}

/// The sums of one scale's statistic.
pub(crate) fn statistic<T: Pixel>(
    scale: usize,
    g: &ScaleGeom,
    r: Image<'_, T>,
    d: Image<'_, T>,
    sh: Shifts,
    p: &StatParams<'_>,
    b: &mut Buffers,
) -> Sums {
    let taps = FILTERS[scale];
    let half = taps.len() / 2;
    let mut sums = Sums::default();
    for i in 0..g.h {
        let rows = g.tap_rows(i, half);
        for j in 0..g.w {
            let [m1, m2, xx, yy, xy] = vertical_moments(taps, rows, &r, &d, j, sh);
            let col = COL_PAD + j;
            b.mu1[col] = m1;
            b.mu2[col] = m2;
            b.xx[col] = xx;
            b.yy[col] = yy;
            b.xy[col] = xy;
        }
        for buf in [&mut b.mu1, &mut b.mu2, &mut b.xx, &mut b.yy, &mut b.xy] {
            g.stat_edge.apply(buf, g.w);
        }
        for j in 0..g.w {
            let (mut m1, mut m2) = (0u32, 0u32);
            let (mut xx, mut yy, mut xy) = (0u64, 0u64, 0u64);
            for (k, &f) in taps.iter().enumerate() {
                let col = COL_PAD + j + k - half;
                m1 += f as u32 * b.mu1[col];
                m2 += f as u32 * b.mu2[col];
                xx += f as u64 * b.xx[col] as u64;
                yy += f as u64 * b.yy[col] as u64;
                xy += f as u64 * b.xy[col] as u64;
            }
            let (s1, s2, s12) = variances(m1, m2, xx, yy, xy);
            pixel_statistic(s1, s2, s12, p, &mut sums);
        }
    }
    sums
}

/// Filters a scale with the next scale's filter and keeps every other row
/// and column (only those outputs are computed). `shift` is the vertical
/// pass's rounding shift; the horizontal pass shifts by 16.
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
) {
    let taps = FILTERS[scale + 1];
    let half = taps.len() / 2;
    let (wo, ho) = (g.w / 2, g.h / 2);
    for y in 0..ho {
        let rows = g.tap_rows(2 * y, half);
        for j in 0..g.w {
            let (a, c) = vertical_means(taps, rows, &r, &d, j, shift);
            b.mu1[COL_PAD + j] = a;
            b.mu2[COL_PAD + j] = c;
        }
        g.sub_edge.apply(&mut b.mu1, g.w);
        g.sub_edge.apply(&mut b.mu2, g.w);
        for x in 0..wo {
            let (mut a, mut c) = (0u32, 0u32);
            for (k, &f) in taps.iter().enumerate() {
                let col = COL_PAD + 2 * x + k - half;
                a += f as u32 * b.mu1[col];
                c += f as u32 * b.mu2[col];
            }
            r_out[y * wo + x] = ((a + 32768) >> 16) as u16;
            d_out[y * wo + x] = ((c + 32768) >> 16) as u16;
        }
    }
}
