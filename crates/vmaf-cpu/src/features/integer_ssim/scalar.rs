//! Reference kernels of the fork's integer SSIM.
//!
//! The score is a Gaussian-weighted SSIM over the whole luma plane, in the
//! style of Xiph's fixed-point SSIM:
//!
//! * the window is a 9-tap integer Gaussian (sigma 1.5, taps summing to
//!   256), applied separably: first along each row, then down the columns;
//! * at the borders the window is *cut*, not mirrored: only the taps that
//!   land inside the plane count, and the weight sum `w` of a pixel is the
//!   sum of those taps (row part times column part);
//! * the five windowed moments (Σx, Σy, Σx², Σxy, Σy²) are exact integers
//!   (64-bit), so any summation order gives the same values;
//! * each pixel's SSIM term is formed in double precision from the moments
//!   scaled by `w` (no division by `w` first), weighted by `w`, and the
//!   terms are added one by one in raster order; the score is that sum over
//!   the sum of the weights.
//!
//! Only the final sum is order-sensitive, so the kernels split into stages
//! (horizontal moments of a row, vertical moments of a row, per-pixel
//! terms) that the SIMD module replaces one by one, while [`ssim`] keeps
//! the raster-order accumulation in one place.

use vmaf_core::{Pixel, Plane};

/// Half-width of the window.
pub const RADIUS: usize = 4;
/// Width of the window.
pub const WINDOW: usize = 2 * RADIUS + 1;

/// The integer Gaussian: `round(256 · g(k))` for the normalised Gaussian `g`
/// of sigma 1.5 at `k = ±1..±4`, with the centre tap taking what is left of
/// 256. (A test derives it from the fork's formula.)
pub const TAPS: [i64; WINDOW] = [2, 9, 28, 55, 68, 55, 28, 9, 2];

/// The taps of a window centred on sample `i` of `n` that land inside, as
/// the range of tap indices `k` (sample `i + k - RADIUS`).
#[inline]
pub fn tap_range(i: usize, n: usize) -> std::ops::Range<usize> {
    let lo = RADIUS.saturating_sub(i);
    let hi = WINDOW.min(n + RADIUS - i);
    lo..hi
}

/// The weight of the cut window at sample `i` of `n`: the sum of its taps
/// that land inside.
pub fn window_weight(i: usize, n: usize) -> i64 {
    TAPS[tap_range(i, n)].iter().sum()
}

/// The five windowed moments of one row, structure of arrays.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Moments {
    pub sx: Vec<i64>,
    pub sy: Vec<i64>,
    pub sxx: Vec<i64>,
    pub sxy: Vec<i64>,
    pub syy: Vec<i64>,
}

impl Moments {
    pub fn new(w: usize) -> Self {
        Moments { sx: vec![0; w], sy: vec![0; w], sxx: vec![0; w], sxy: vec![0; w], syy: vec![0; w] }
    }
}

/// Per-stream constants of the SSIM term.
#[derive(Clone, Copy, Debug)]
pub struct Consts {
    /// `samplemax²` as the fork forms it: a product in C `int`, which wraps
    /// at 16 bits (65535² does not fit), then converted to double.
    pub peak2: f64,
}

impl Consts {
    pub fn new(bpc: u32) -> Self {
        let max = (1i32 << bpc) - 1;
        Consts { peak2: max.wrapping_mul(max) as f64 }
    }
}

const K1: f64 = 0.01 * 0.01;
const K2: f64 = 0.03 * 0.03;

/// The SSIM term of one pixel from its moments (exact integers, given as
/// doubles) and window weight `w`, in the fork's operation order: the
/// score depends on it in the last bits. The SIMD kernels do the same
/// operations in the same order, lane by lane.
#[inline(always)]
pub fn term(c: Consts, sx: f64, sy: f64, sxx: f64, sxy: f64, syy: f64, w: f64) -> f64 {
    let c1 = c.peak2 * K1 * w * w;
    let c2 = c.peak2 * K2 * w * w;
    let mx2 = sx * sx;
    let mxy = sx * sy;
    let my2 = sy * sy;
    w * (2.0 * mxy + c1) * (c2 + 2.0 * (sxy * w - mxy)) / ((mx2 + my2 + c1) * (sxx * w - mx2 + syy * w - my2 + c2))
}

/// `peak2 · K1` and `peak2 · K2`, the first products of [`term`]'s
/// constants, for kernels that hoist them.
pub fn scaled_constants(c: Consts) -> (f64, f64) {
    (c.peak2 * K1, c.peak2 * K2)
}

/// The row stages of one instruction-set level that do not read samples:
/// how moments are stored, and the vertical and per-pixel passes over them.
pub trait RowKernels {
    /// One row of the five moments, in this level's layout.
    type Row;
    fn new_row(&self, w: usize) -> Self::Row;
    /// Vertical moments: `out = Σ taps[k] · rows[k]`, over the rows of a
    /// (possibly cut) window.
    fn vertical(&self, rows: &[&Self::Row], taps: &[i64], out: &mut Self::Row);
    /// Per-pixel terms of one output row with row weight `vw`, given the
    /// column weights `hw`.
    fn terms(&self, c: Consts, m: &Self::Row, hw: &[f64], vw: f64, out: &mut [f64]);
}

/// The horizontal stage, per sample type.
pub trait Kernels<T: Pixel>: RowKernels {
    /// Horizontal moments of row `x` (reference) against row `y`
    /// (distorted); `tmp` is a spare row the kernel may use.
    fn horizontal(&self, x: &[T], y: &[T], tmp: &mut Self::Row, out: &mut Self::Row);
}

/// The portable kernels.
pub struct Scalar;

impl RowKernels for Scalar {
    type Row = Moments;
    fn new_row(&self, w: usize) -> Moments {
        Moments::new(w)
    }
    fn vertical(&self, rows: &[&Moments], taps: &[i64], out: &mut Moments) {
        vertical(rows, taps, out)
    }
    fn terms(&self, c: Consts, m: &Moments, hw: &[f64], vw: f64, out: &mut [f64]) {
        for (j, o) in out.iter_mut().enumerate() {
            *o = term(
                c,
                m.sx[j] as f64,
                m.sy[j] as f64,
                m.sxx[j] as f64,
                m.sxy[j] as f64,
                m.syy[j] as f64,
                hw[j] * vw,
            );
        }
    }
}

impl<T: Pixel> Kernels<T> for Scalar {
    fn horizontal(&self, x: &[T], y: &[T], _tmp: &mut Moments, out: &mut Moments) {
        horizontal(x, y, out)
    }
}

/// Horizontal moments of one row pair over the cut window.
pub fn horizontal<T: Pixel>(x: &[T], y: &[T], out: &mut Moments) {
    let n = x.len();
    for j in 0..n {
        let (mut sx, mut sy, mut sxx, mut sxy, mut syy) = (0i64, 0i64, 0i64, 0i64, 0i64);
        for k in tap_range(j, n) {
            let i = j + k - RADIUS;
            let t = TAPS[k];
            let (a, b) = (x[i].into() as i64, y[i].into() as i64);
            sx += t * a;
            sy += t * b;
            sxx += t * a * a;
            sxy += t * a * b;
            syy += t * b * b;
        }
        out.sx[j] = sx;
        out.sy[j] = sy;
        out.sxx[j] = sxx;
        out.sxy[j] = sxy;
        out.syy[j] = syy;
    }
}

/// Vertical moments: a tap-weighted sum of rows.
pub fn vertical(rows: &[&Moments], taps: &[i64], out: &mut Moments) {
    debug_assert_eq!(rows.len(), taps.len());
    for j in 0..out.sx.len() {
        let (mut sx, mut sy, mut sxx, mut sxy, mut syy) = (0i64, 0i64, 0i64, 0i64, 0i64);
        for (r, &t) in rows.iter().zip(taps) {
            sx += t * r.sx[j];
            sy += t * r.sy[j];
            sxx += t * r.sxx[j];
            sxy += t * r.sxy[j];
            syy += t * r.syy[j];
        }
        out.sx[j] = sx;
        out.sy[j] = sy;
        out.sxx[j] = sxx;
        out.sxy[j] = sxy;
        out.syy[j] = syy;
    }
}

/// Working memory of [`ssim`] for rows of type `R`, sized once for a
/// plane width.
pub struct Scratch<R> {
    /// Horizontal moments of the last `WINDOW` rows, row `r` in slot
    /// `r % WINDOW`.
    ring: Vec<R>,
    tmp: R,
    vertical: R,
    terms: Vec<f64>,
    /// Weight of the cut window along a row, per column (small integers).
    col_weight: Vec<f64>,
}

impl<R> Scratch<R> {
    pub fn new<K: RowKernels<Row = R>>(k: &K, w: usize) -> Self {
        Scratch {
            ring: (0..WINDOW).map(|_| k.new_row(w)).collect(),
            tmp: k.new_row(w),
            vertical: k.new_row(w),
            terms: vec![0.0; w],
            col_weight: (0..w).map(|j| window_weight(j, w) as f64).collect(),
        }
    }
}

/// SSIM of plane `x` (reference) against `y` (distorted) of `bpc` bits.
/// `scratch` must have been made by `k` for this width.
pub fn ssim<T: Pixel, K: Kernels<T>>(k: &K, x: &Plane<T>, y: &Plane<T>, bpc: u32, scratch: &mut Scratch<K::Row>) -> f64 {
    let (w, h) = (x.width(), x.height());
    debug_assert_eq!((y.width(), y.height()), (w, h));
    debug_assert_eq!(scratch.terms.len(), w);
    let c = Consts::new(bpc);
    let Scratch { ring, tmp, vertical, terms, col_weight } = scratch;
    let mut sum = 0.0f64;
    let mut weight = 0.0f64;
    // Row `i` is filtered horizontally once; output row `r` is produced as
    // soon as the last row of its window (`r + RADIUS`, or the bottom) is in.
    for i in 0..h + RADIUS {
        if i < h {
            k.horizontal(x.row(i), y.row(i), tmp, &mut ring[i % WINDOW]);
        }
        let Some(r) = i.checked_sub(RADIUS) else { continue };
        let span = tap_range(r, h);
        let mut rows: [&K::Row; WINDOW] = [&ring[0]; WINDOW];
        for (slot, kk) in rows.iter_mut().zip(span.clone()) {
            *slot = &ring[(r + kk - RADIUS) % WINDOW];
        }
        let taps = &TAPS[span];
        k.vertical(&rows[..taps.len()], taps, vertical);
        let vw = taps.iter().sum::<i64>() as f64;
        k.terms(c, vertical, col_weight, vw, terms);
        // Raster order, one term at a time: the fork's summation. The
        // weights are integers far below 2^53, so their sum is exact.
        for (&t, &cw) in terms.iter().zip(col_weight.iter()) {
            sum += t;
            weight += cw * vw;
        }
    }
    sum / weight
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Derives the taps the way the fork sizes and rounds them: the window is
    /// cut where a tap would round below half a unit of the 8-bit weight scale
    /// (at most `max_len - 1` taps a side).
    fn gaussian_taps(sigma: f64, max_len: usize) -> Vec<i64> {
        const WEIGHT: f64 = 256.0;
        let scale = 1.0 / ((2.0 * std::f64::consts::PI).sqrt() * sigma);
        let neg_half_inv_var = -0.5 / (sigma * sigma);
        let s = (0.5 * std::f64::consts::PI).sqrt() * sigma * (1.0 / WEIGHT);
        let len = if s >= 1.0 { 0.0 } else { (sigma * (-2.0 * s.ln()).sqrt()).floor() };
        let half = if len >= max_len as f64 { max_len - 1 } else { len as usize };
        let mut taps = vec![0i64; 2 * half + 1];
        let mut side = 0;
        for k in 1..=half {
            let t = (WEIGHT * scale * (neg_half_inv_var * (k * k) as f64).exp() + 0.5) as i64;
            taps[half - k] = t;
            taps[half + k] = t;
            side += t;
        }
        taps[half] = WEIGHT as i64 - 2 * side;
        taps
    }

    #[test]
    fn taps_follow_from_the_gaussian() {
        assert_eq!(gaussian_taps(1.5, 5), TAPS.to_vec());
        assert_eq!(TAPS.iter().sum::<i64>(), 256);
    }

    #[test]
    fn cut_window_ranges() {
        assert_eq!(tap_range(0, 20), 4..9);
        assert_eq!(tap_range(10, 20), 0..9);
        assert_eq!(tap_range(19, 20), 0..5);
        assert_eq!(tap_range(0, 1), 4..5);
        assert_eq!(tap_range(1, 3), 3..6);
        assert_eq!(window_weight(0, 1), 68);
        assert_eq!(window_weight(5, 20), 256);
    }

    /// Direct 2-D evaluation of the definition, for the driver.
    fn brute(x: &Plane<u16>, y: &Plane<u16>, bpc: u32) -> f64 {
        let (w, h) = (x.width(), x.height());
        let c = Consts::new(bpc);
        let (mut sum, mut weight) = (0.0, 0.0);
        for r in 0..h {
            for j in 0..w {
                let mut m = [0i64; 6];
                for a in tap_range(r, h) {
                    for b in tap_range(j, w) {
                        let t = TAPS[a] * TAPS[b];
                        let (p, q) = (x.row(r + a - RADIUS)[j + b - RADIUS] as i64, y.row(r + a - RADIUS)[j + b - RADIUS] as i64);
                        m[0] += t * p;
                        m[1] += t * q;
                        m[2] += t * p * p;
                        m[3] += t * p * q;
                        m[4] += t * q * q;
                        m[5] += t;
                    }
                }
                sum += term(c, m[0] as f64, m[1] as f64, m[2] as f64, m[3] as f64, m[4] as f64, m[5] as f64);
                weight += m[5] as f64;
            }
        }
        sum / weight
    }

    #[test]
    fn driver_matches_direct_definition() {
        let mut seed = 0x9e37_79b9u32;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for bpc in [8u32, 10, 12, 16] {
            for (w, h) in [(1, 1), (2, 3), (5, 4), (9, 9), (10, 17), (23, 11)] {
                let mask = (1u32 << bpc) - 1;
                let mut mk = || Plane::from_vec((0..w * h).map(|_| (rnd() & mask) as u16).collect(), w, h, w).unwrap();
                let a = mk();
                let b = mk();
                let mut s = Scratch::new(&Scalar, w);
                let got = ssim(&Scalar, &a, &b, bpc, &mut s);
                assert_eq!(got.to_bits(), brute(&a, &b, bpc).to_bits(), "{bpc} {w}x{h}");
            }
        }
    }

    #[test]
    fn identical_planes_score_one() {
        for bpc in [8u32, 10, 12] {
            let (w, h) = (13, 7);
            let p = Plane::from_vec((0..w * h).map(|i| ((i * 37) as u32 & ((1 << bpc) - 1)) as u16).collect(), w, h, w)
                .unwrap();
            let mut s = Scratch::new(&Scalar, w);
            assert!((ssim(&Scalar, &p, &p, bpc, &mut s) - 1.0).abs() < 1e-12);
        }
    }
}
