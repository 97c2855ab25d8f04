//! Reference kernels of the floating-point VIF, in libvmaf's exact order of
//! single-precision operations (separate multiply and add, taps in order,
//! sums row by row), so the results match libvmaf's to the last bit on
//! pictures large enough for its edge handling to be defined.

use super::{Filter, Mirror, Plane32};

/// One vertically filtered row of each quantity.
pub(crate) struct Buffers {
    mu1: Vec<f32>,
    mu2: Vec<f32>,
    xx: Vec<f32>,
    yy: Vec<f32>,
    xy: Vec<f32>,
}

impl Buffers {
    pub fn new(w: usize) -> Self {
        Buffers { mu1: vec![0.0; w], mu2: vec![0.0; w], xx: vec![0.0; w], yy: vec![0.0; w], xy: vec![0.0; w] }
    }
}

/// libvmaf's fast log2 (`log2f_approx`): the exponent plus a degree-8
/// polynomial in the mantissa, evaluated by Horner's rule in float.
#[inline]
pub(crate) fn log2_approx(x: f32) -> f32 {
    // libvmaf's coefficients are double constants stored as float.
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
    if x == 0.0 {
        return f32::NEG_INFINITY;
    }
    if x < 0.0 {
        return f32::NAN;
    }
    let bits = x.to_bits();
    let exponent = ((bits & 0x7F80_0000) >> 23) as i32;
    let remain = f32::from_bits((bits & 0x007F_FFFF) | 0x3F80_0000);
    let t = remain - 1.0;
    let mut v = 0.0f32;
    for c in POLY {
        v = v * t + c;
    }
    (exponent - 127) as f32 + v
}

/// Constants of the statistic, derived once from the options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StatConsts {
    /// The noise variance, in double precision as libvmaf passes it.
    pub sigma_nsq: f64,
    /// `sigma_nsq^2 / 255^2`, rounded to float.
    pub sigma_max_inv: f32,
    pub gain_limit: f32,
}

impl StatConsts {
    pub fn new(sigma_nsq: f64, gain_limit: f64) -> Self {
        let s = sigma_nsq as f32;
        StatConsts {
            sigma_nsq,
            sigma_max_inv: ((s * s) as f64 / (255.0 * 255.0)) as f32,
            gain_limit: gain_limit as f32,
        }
    }
}

/// The numerator and denominator terms of one pixel.
#[inline]
pub(crate) fn pixel_terms(mu1: f32, mu2: f32, xx: f32, yy: f32, xy: f32, c: &StatConsts) -> (f32, f32) {
    const EPS: f32 = 1.0e-10;
    let sigma1_sq = xx - mu1 * mu1;
    let sigma2_sq = yy - mu2 * mu2;
    let sigma12 = xy - mu1 * mu2;
    let mut sigma1_sq = if sigma1_sq > 0.0 { sigma1_sq } else { 0.0 };
    let sigma2_sq = if sigma2_sq > 0.0 { sigma2_sq } else { 0.0 };
    let mut g = sigma12 / (sigma1_sq + EPS);
    let mut sv_sq = sigma2_sq - g * sigma12;
    if sigma1_sq < EPS {
        g = 0.0;
        sv_sq = sigma2_sq;
        sigma1_sq = 0.0;
    }
    if sigma2_sq < EPS {
        g = 0.0;
        sv_sq = 0.0;
    }
    if g < 0.0 {
        sv_sq = sigma2_sq;
        g = 0.0;
    }
    let sv_sq = if sv_sq > EPS { sv_sq } else { EPS };
    let g = if g < c.gain_limit { g } else { c.gain_limit };
    // The divisions mix float and double exactly as libvmaf's expression.
    let mut num = log2_approx((1.0 + (g * g * sigma1_sq) as f64 / (sv_sq as f64 + c.sigma_nsq)) as f32);
    let mut den = log2_approx((1.0 + sigma1_sq as f64 / c.sigma_nsq) as f32);
    if sigma12 < 0.0 {
        num = 0.0;
    }
    if (sigma1_sq as f64) < c.sigma_nsq {
        num = 1.0 - sigma2_sq * c.sigma_max_inv;
        den = 1.0;
    }
    (num, den)
}

/// The vertical pass of the five quantities for output row `i`.
fn vertical(f: &Filter, r: &Plane32<'_>, d: &Plane32<'_>, rows: &Mirror, i: usize, b: &mut Buffers) {
    for j in 0..r.w {
        let (mut m1, mut m2, mut xx, mut yy, mut xy) = (0f32, 0f32, 0f32, 0f32, 0f32);
        for (k, &c) in f.taps.iter().enumerate() {
            let row = rows.at(i + k);
            let (a, e) = (r.at(row, j), d.at(row, j));
            m1 += c * a;
            m2 += c * e;
            xx += c * (a * a);
            yy += c * (e * e);
            xy += c * (a * e);
        }
        b.mu1[j] = m1;
        b.mu2[j] = m2;
        b.xx[j] = xx;
        b.yy[j] = yy;
        b.xy[j] = xy;
    }
}

#[inline]
fn horizontal(f: &Filter, row: &[f32], cols: &Mirror, j: usize) -> f32 {
    let mut acc = 0f32;
    for (k, &c) in f.taps.iter().enumerate() {
        acc += c * row[cols.at(j + k)];
    }
    acc
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
    let (mut num, mut den) = (0f32, 0f32);
    for i in 0..r.h {
        vertical(f, r, d, rows, i, b);
        let (mut row_num, mut row_den) = (0f32, 0f32);
        for j in 0..r.w {
            let (n, e) = pixel_terms(
                horizontal(f, &b.mu1, cols, j),
                horizontal(f, &b.mu2, cols, j),
                horizontal(f, &b.xx, cols, j),
                horizontal(f, &b.yy, cols, j),
                horizontal(f, &b.xy, cols, j),
                c,
            );
            row_num += n;
            row_den += e;
        }
        num += row_num;
        den += row_den;
    }
    (num, den)
}

/// Filters a scale with `f` and keeps every other row and column (only
/// those outputs are computed).
pub(crate) fn decimate(f: &Filter, src: &Plane32<'_>, rows: &Mirror, cols: &Mirror, out: &mut [f32], tmp: &mut [f32]) {
    let (wo, ho) = (src.w / 2, src.h / 2);
    for y in 0..ho {
        for (j, t) in tmp.iter_mut().enumerate().take(src.w) {
            let mut acc = 0f32;
            for (k, &c) in f.taps.iter().enumerate() {
                acc += c * src.at(rows.at(2 * y + k), j);
            }
            *t = acc;
        }
        for x in 0..wo {
            out[y * wo + x] = horizontal(f, tmp, cols, 2 * x);
        }
    }
}
