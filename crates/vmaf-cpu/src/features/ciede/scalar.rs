//! Reference kernels for CIEDE2000: Y'CbCr samples to CIE L*a*b* (BT.709
//! limited range, sRGB transfer, D65 white) and the CIEDE2000 colour
//! difference of two L*a*b* colours.
//!
//! libvmaf mixes `float` and `double` freely here: intermediate values are
//! computed in double and stored to float at the points where its helper
//! functions return or its variables are declared `float`. Each `as f32`
//! below marks such a point and each `as f64` a promotion, so the results
//! match libvmaf's bit for bit given the same C math library (Rust's `f64`
//! transcendental functions call the platform's libm, as libvmaf does).
//! Nothing here may be reassociated or fused: the per-pixel differences are
//! summed over the frame and printed to 6 decimals.

use std::f64::consts::PI;

/// A colour in CIE L*a*b*, in single precision as libvmaf keeps it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lab {
    pub l: f32,
    pub a: f32,
    pub b: f32,
}

/// Per-bit-depth constants of the Y'CbCr normalisation (limited range).
#[derive(Clone, Copy, Debug)]
pub struct Range {
    y_off: f64,
    y_inv: f64,
    c_off: f64,
    c_inv: f64,
}

impl Range {
    pub fn new(bpc: u32) -> Self {
        let scale = (1u32 << (bpc - 8)) as f64;
        Range { y_off: 16.0 * scale, y_inv: 1.0 / (219.0 * scale), c_off: 128.0 * scale, c_inv: 1.0 / (224.0 * scale) }
    }
}

/// sRGB transfer function, decoding: gamma-encoded R'G'B' to linear light.
/// The breakpoint is libvmaf's 10/255 rather than the standard 0.04045.
#[inline]
fn to_linear(c: f64) -> f64 {
    if c > 10.0 / 255.0 {
        ((c + 0.055) * (1.0 / 1.055)).powf(2.4)
    } else {
        c * (1.0 / 12.92)
    }
}

/// The L*a*b* companding function f(t), returned in single precision.
#[inline]
fn lab_f(t: f64) -> f32 {
    const KAPPA: f64 = 24389.0 / 27.0;
    const EPSILON: f64 = 216.0 / 24389.0;
    if t > EPSILON {
        t.powf(1.0 / 3.0) as f32
    } else {
        ((KAPPA * t + 16.0) * (1.0 / 116.0)) as f32
    }
}

/// Converts one Y'CbCr sample triple to L*a*b*.
#[inline]
pub fn lab(y: u32, u: u32, v: u32, k: &Range) -> Lab {
    let y = (y as f64 - k.y_off) * k.y_inv;
    let u = (u as f64 - k.c_off) * k.c_inv;
    let v = (v as f64 - k.c_off) * k.c_inv;

    // BT.709 Y'CbCr to R'G'B'.
    let r = to_linear(y + 1.28033 * v);
    let g = to_linear(y - 0.21482 * u - 0.38059 * v);
    let b = to_linear(y + 2.12798 * u);

    // Linear sRGB to XYZ, normalised by the D65 white point.
    let x = r * 0.4124564390896921 + g * 0.357576077643909 + b * 0.18043748326639894;
    let yy = r * 0.21267285140562248 + g * 0.715152155287818 + b * 0.07217499330655958;
    let z = r * 0.019333895582329317 + g * 0.119192025881303 + b * 0.9503040785363677;

    let fx = lab_f(x * (1.0 / 0.95047)) as f64;
    let fy = lab_f(yy) as f64;
    let fz = lab_f(z * (1.0 / 1.08883)) as f64;
    Lab { l: (116.0 * fy - 16.0) as f32, a: (500.0 * (fx - fy)) as f32, b: (200.0 * (fy - fz)) as f32 }
}

#[inline(always)]
fn sq(x: f64) -> f64 {
    x * x
}

/// Hue angle in [0, 2pi) of the point (a', b); 0 for the origin.
#[inline]
fn hue_angle(b: f32, a: f32) -> f32 {
    if b == 0.0 && a == 0.0 {
        return 0.0;
    }
    let mut h = (b as f64).atan2(a as f64) as f32;
    if h < 0.0 {
        h = (h as f64 + 2.0 * PI) as f32;
    }
    h
}

/// Signed hue difference h2 - h1 wrapped into [-pi, pi]; 0 when either
/// chroma (the unprimed one, as libvmaf tests it) is 0.
#[inline]
fn hue_difference(c1: f32, c2: f32, h1: f32, h2: f32) -> f32 {
    if c1 == 0.0 || c2 == 0.0 {
        return 0.0;
    }
    let d = h2 - h1;
    if ((h1 - h2).abs() as f64) <= PI {
        d
    } else if h2 <= h1 {
        (d as f64 + 2.0 * PI) as f32
    } else {
        (d as f64 - 2.0 * PI) as f32
    }
}

/// Mean hue, taking the short way round the circle.
#[inline]
fn mean_hue(h1: f32, h2: f32) -> f32 {
    let s = (h1 + h2) as f64;
    if ((h1 - h2) as f64).abs() > PI {
        ((s + 2.0 * PI) / 2.0) as f32
    } else {
        (s / 2.0) as f32
    }
}

/// The hue weighting function T of CIEDE2000.
#[inline]
fn hue_weight(h: f32) -> f32 {
    let h = h as f64;
    (1.0 - 0.17 * (h - PI / 6.0).cos() + 0.24 * (2.0 * h).cos() + 0.32 * (3.0 * h + PI / 30.0).cos()
        - 0.20 * (4.0 * h - 7.0 * PI / 20.0).cos()) as f32
}

/// 25^7 as libvmaf's single-precision `powf(25, 7)` gives it (rounded).
const POW25_7_F32: f32 = 6103515625.0;
/// 25^7 exactly, for the double-precision uses.
const POW25_7: f64 = 6103515625.0;

/// The rotation term R_T, which couples chroma and hue differences in the
/// blue region.
#[inline]
fn rotation(c_bar: f32, h_bar: f32) -> f32 {
    let degrees = (h_bar as f64 * (180.0 / PI)) as f32;
    let x = ((degrees as f64 - 275.0) * (1.0 / 25.0)) as f32;
    let c7 = c_bar.powf(7.0);
    let ratio = c7 / (c7 + POW25_7_F32);
    let angle_deg = (60.0 * (-(x * x) as f64).exp()) as f32;
    let angle = (angle_deg as f64 * (PI / 180.0)) as f32;
    (-2.0 * (ratio as f64).sqrt() * (angle as f64).sin()) as f32
}

/// The CIEDE2000 difference of two colours, with libvmaf's weights
/// k_L = 0.65, k_C = 1, k_H = 4.
#[inline]
pub fn ciede2000(c1: Lab, c2: Lab) -> f32 {
    const K_L: f32 = 0.65;
    const K_C: f32 = 1.0;
    const K_H: f32 = 4.0;

    let delta_l = c2.l - c1.l;
    let l_bar = (c1.l + c2.l) / 2.0;
    let chroma1 = (sq(c1.a as f64) + sq(c1.b as f64)).sqrt() as f32;
    let chroma2 = (sq(c2.a as f64) + sq(c2.b as f64)).sqrt() as f32;
    let c_bar = (chroma1 + chroma2) / 2.0;
    let c_bar7 = (c_bar as f64).powf(7.0);
    let g = 1.0 - (c_bar7 / (c_bar7 + POW25_7)).sqrt();
    let a1 = (c1.a as f64 + (c1.a / 2.0) as f64 * g) as f32;
    let a2 = (c2.a as f64 + (c2.a / 2.0) as f64 * g) as f32;
    let cp1 = (sq(a1 as f64) + sq(c1.b as f64)).sqrt() as f32;
    let cp2 = (sq(a2 as f64) + sq(c2.b as f64)).sqrt() as f32;
    let cp_bar = (cp1 + cp2) / 2.0;
    let delta_c = cp2 - cp1;
    let l50 = sq((l_bar - 50.0) as f64);
    let s_l = (1.0 + (0.015 * l50) / (20.0 + l50).sqrt()) as f32;
    let s_c = (1.0 + 0.045 * cp_bar as f64) as f32;
    let h1 = hue_angle(c1.b, a1);
    let h2 = hue_angle(c2.b, a2);
    let dh = hue_difference(chroma1, chroma2, h1, h2);
    let delta_hue = (2.0 * ((cp1 * cp2) as f64).sqrt() * (dh as f64 / 2.0).sin()) as f32;
    let h_bar = mean_hue(h1, h2);
    let t = hue_weight(h_bar);
    let s_h = (1.0 + 0.015 * cp_bar as f64 * t as f64) as f32;
    let r_t = rotation(cp_bar, h_bar);
    let lightness = delta_l / (K_L * s_l);
    let chroma = delta_c / (K_C * s_c);
    let hue = delta_hue / (K_H * s_h);
    (sq(lightness as f64) + sq(chroma as f64) + sq(hue as f64) + (r_t * chroma * hue) as f64).sqrt() as f32
}

/// Packs a sample triple into one key (samples are at most 16 bits).
#[inline(always)]
fn pack(y: u16, u: u16, v: u16) -> u64 {
    (y as u64) << 32 | (u as u64) << 16 | v as u64
}

/// Fibonacci hashing: the top `64 - shift` bits of the product depend on
/// every bit of the key.
#[inline(always)]
fn slot_index(key: u64, shift: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

#[derive(Clone, Copy)]
struct LabSlot {
    key: u64,
    lab: Lab,
}

/// A colour-pair entry: the two packed triples (96 bits) split over `lo`
/// and `hi`, and their difference.
#[derive(Clone, Copy)]
struct PairSlot {
    lo: u64,
    hi: u32,
    de: f32,
}

/// Memos of the two expensive steps, [`lab`] and [`ciede2000`], keyed by
/// the sample triples they start from.
///
/// Video frames use few distinct colours (about 40,000 in a 1080p frame of
/// 2 million pixels) and repeat most (reference, distorted) colour pairs
/// within a frame and from one frame to the next, while each conversion
/// costs six `pow` calls and each difference two `atan2`, six `cos`/`sin`
/// and more. A hit returns exactly what the computation would (both are
/// pure functions of the samples), so the memos change only the speed,
/// never a score, and do not depend on frame order. Direct-mapped tables
/// (a new entry replaces whatever shared its slot), sized once at creation
/// and kept from frame to frame.
pub struct Memo {
    labs: Vec<LabSlot>,
    lab_shift: u32,
    pairs: Vec<PairSlot>,
    pair_shift: u32,
}

/// A packed triple has at most 48 bits, so this key is never a colour.
const EMPTY_LAB: u64 = u64::MAX;

impl Memo {
    /// Memos of `2^lab_bits` colours and `2^pair_bits` colour pairs.
    pub fn new(lab_bits: u32, pair_bits: u32) -> Self {
        let no_lab = Lab { l: 0.0, a: 0.0, b: 0.0 };
        // The all-ones pair key would be two equal (white 16-bit) colours,
        // which are never looked up: equal colours are skipped.
        let no_pair = PairSlot { lo: u64::MAX, hi: u32::MAX, de: 0.0 };
        Memo {
            labs: vec![LabSlot { key: EMPTY_LAB, lab: no_lab }; 1 << lab_bits],
            lab_shift: 64 - lab_bits,
            pairs: vec![no_pair; 1 << pair_bits],
            pair_shift: 64 - pair_bits,
        }
    }

    /// [`lab`] of a packed triple.
    #[inline(always)]
    fn lab(&mut self, key: u64, k: &Range) -> Lab {
        let slot = &mut self.labs[slot_index(key, self.lab_shift)];
        if slot.key != key {
            let (y, u, v) = ((key >> 32) as u32, (key >> 16) as u32 & 0xffff, key as u32 & 0xffff);
            *slot = LabSlot { key, lab: lab(y, u, v, k) };
        }
        slot.lab
    }

    /// [`ciede2000`] of the colours of two packed triples.
    #[inline(always)]
    pub fn difference(&mut self, r: u64, d: u64, k: &Range) -> f32 {
        let lo = r | d << 48;
        let hi = (d >> 16) as u32;
        let i = slot_index(lo ^ (hi as u64).rotate_left(29), self.pair_shift);
        let slot = self.pairs[i];
        if slot.lo == lo && slot.hi == hi {
            return slot.de;
        }
        let de = ciede2000(self.lab(r, k), self.lab(d, k));
        self.pairs[i] = PairSlot { lo, hi, de };
        de
    }
}

/// One row of Y'CbCr samples of both pictures, chroma already brought to
/// luma resolution.
pub struct Row<'a> {
    pub ref_yuv: [&'a [u16]; 3],
    pub dis_yuv: [&'a [u16]; 3],
}

/// Adds the CIEDE2000 difference of every pixel of a row to `sum`, left to
/// right (the frame total is a running double, as in libvmaf). Pixels whose
/// samples are equal in both pictures contribute exactly 0 and are skipped.
pub fn row_sum(row: &Row<'_>, k: &Range, memo: &mut Memo, sum: &mut f64) {
    let [ry, ru, rv] = row.ref_yuv;
    let [dy, du, dv] = row.dis_yuv;
    let n = ry.len();
    let (ru, rv, dy, du, dv) = (&ru[..n], &rv[..n], &dy[..n], &du[..n], &dv[..n]);
    for j in 0..n {
        let r = pack(ry[j], ru[j], rv[j]);
        let d = pack(dy[j], du[j], dv[j]);
        if r != d {
            *sum += memo.difference(r, d, k) as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_returns_what_is_computed() {
        for bpc in [8u32, 10, 12, 16] {
            let k = Range::new(bpc);
            // Tiny tables, so that entries are evicted and refilled; narrow
            // sample ranges, so that colours and pairs repeat.
            let mut memo = Memo::new(3, 4);
            let mut seed = bpc;
            let mut next = |mask: u32| {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                ((seed >> 16) & mask & ((1 << bpc) - 1)) as u16
            };
            for i in 0..20000 {
                let m = if i % 2 == 0 { 0x7 } else { 0xffff };
                let r = (next(m), next(m), next(0x3));
                let d = (next(m), next(m), next(0x3));
                let want =
                    ciede2000(lab(r.0.into(), r.1.into(), r.2.into(), &k), lab(d.0.into(), d.1.into(), d.2.into(), &k));
                let got = memo.difference(pack(r.0, r.1, r.2), pack(d.0, d.1, d.2), &k);
                assert_eq!(got.to_bits(), want.to_bits(), "{r:?} {d:?} at {bpc} bits");
            }
        }
    }

    #[test]
    fn identical_colours_differ_by_zero() {
        let k = Range::new(8);
        for (y, u, v) in [(16, 128, 128), (235, 16, 240), (100, 90, 200), (0, 0, 0), (255, 255, 255)] {
            let c = lab(y, u, v, &k);
            assert_eq!(ciede2000(c, c), 0.0);
        }
    }

    #[test]
    fn white_and_black_points() {
        // Nominal black and white of limited-range video are L* 0 and 100
        // with no colour.
        for bpc in [8u32, 10, 12, 16] {
            let k = Range::new(bpc);
            let s = 1 << (bpc - 8);
            let black = lab(16 * s, 128 * s, 128 * s, &k);
            let white = lab(235 * s, 128 * s, 128 * s, &k);
            assert!(black.l.abs() < 1e-4 && black.a.abs() < 1e-3 && black.b.abs() < 1e-3, "{black:?}");
            assert!((white.l - 100.0).abs() < 1e-3 && white.a.abs() < 1e-2 && white.b.abs() < 1e-2, "{white:?}");
        }
    }

    /// Published CIEDE2000 test pairs (Sharma, Wu and Dalal 2005) with the
    /// standard weights would not apply: libvmaf uses k_L = 0.65, k_H = 4.
    /// A pure lightness difference, though, reduces to dL / (k_L S_L) with no
    /// hue or chroma term, which can be checked by hand.
    #[test]
    fn lightness_only_difference() {
        let c1 = Lab { l: 50.0, a: 0.0, b: 0.0 };
        let c2 = Lab { l: 52.0, a: 0.0, b: 0.0 };
        // l_bar = 51: S_L = 1 + 0.015 / sqrt(21).
        let s_l = (1.0 + 0.015 / 21.0f64.sqrt()) as f32;
        assert_eq!(ciede2000(c1, c2), 2.0f32 / (0.65f32 * s_l));
    }

    #[test]
    fn difference_is_symmetric_in_magnitude_and_grows() {
        let k = Range::new(8);
        let a = lab(120, 100, 150, &k);
        let b = lab(125, 104, 146, &k);
        let c = lab(140, 80, 170, &k);
        let ab = ciede2000(a, b);
        assert!((ab - ciede2000(b, a)).abs() < 1e-4 * ab);
        assert!(ciede2000(a, c) > ab);
    }

    #[test]
    fn hue_helpers_wrap_around() {
        assert_eq!(hue_angle(0.0, 0.0), 0.0);
        assert!((hue_angle(-1.0, 1.0) as f64 - 1.75 * PI).abs() < 1e-6);
        let d = hue_difference(1.0, 1.0, 0.1, 6.0) as f64;
        assert!((d - (5.9 - 2.0 * PI)).abs() < 1e-6, "{d}");
        let m = mean_hue(0.1, 6.0) as f64;
        assert!((m - (6.1 + 2.0 * PI) / 2.0).abs() < 1e-6, "{m}");
    }
}
