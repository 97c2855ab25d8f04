//! Display luminance of 10-bit limited-range luma codes, and the two
//! thresholds CAMBI derives from it once per extractor:
//!
//! * for each contrast step `d` (in 10-bit codes), the largest code at which
//!   a step of `d` codes is still a visible luminance change
//!   (`ΔL > tvi_threshold · L`); brighter codes need a larger step;
//! * the smallest code whose luminance reaches the visibility threshold
//!   `cambi_vis_lum_threshold` (cd/m²), below which banding is ignored.
//!
//! Both are integers found by search over `f64` luminances; the EOTFs use
//! the same `pow` calls as libvmaf, so the searches land on the same codes.

/// Luma codes of the nominal range at 10 bits (limited range: 16..235 at
/// 8 bits, scaled by 4).
pub const FOOT: i32 = 16 << 2;
pub const HEAD: i32 = 235 << 2;

/// The electro-optical transfer functions CAMBI can assume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eotf {
    /// ITU-R BT.1886 with a 300 cd/m² white and 0.01 cd/m² black.
    Bt1886,
    /// SMPTE ST 2084 (PQ), 10000 cd/m² peak.
    Pq,
}

impl Eotf {
    /// The option spelling (`bt1886`, `pq`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bt1886" => Some(Eotf::Bt1886),
            "pq" => Some(Eotf::Pq),
            _ => None,
        }
    }

    /// Luminance in cd/m² of the normalised signal `v` (0 = black code,
    /// 1 = white code).
    pub fn apply(self, v: f64) -> f64 {
        match self {
            Eotf::Bt1886 => {
                const GAMMA: f64 = 2.4;
                const WHITE: f64 = 300.0;
                const BLACK: f64 = 0.01;
                let w = WHITE.powf(1.0 / GAMMA);
                let b = BLACK.powf(1.0 / GAMMA);
                let gain = (w - b).powf(GAMMA);
                let lift = b / (w - b);
                let x = v + lift;
                gain * (if x > 0.0 { x } else { 0.0 }).powf(GAMMA)
            }
            Eotf::Pq => {
                const M1: f64 = 0.1593017578125;
                const M2: f64 = 78.84375;
                const C1: f64 = 0.8359375;
                const C2: f64 = 18.8515625;
                const C3: f64 = 18.6875;
                let e = v.powf(1.0 / M2);
                let num = e - C1;
                let num = if num > 0.0 { num } else { 0.0 };
                10000.0 * (num / (C2 - C3 * e)).powf(1.0 / M1)
            }
        }
    }

    /// Luminance of a 10-bit code, clipped to the nominal range first.
    pub fn luminance(self, code: i32) -> f64 {
        let c = code.clamp(FOOT, HEAD);
        self.apply((c - FOOT) as f64 / (HEAD - FOOT) as f64)
    }
}

/// Whether a step of `diff` codes up from `code` is visible.
fn visible(eotf: Eotf, code: i32, diff: i32, tvi: f64) -> bool {
    let base = eotf.luminance(code);
    eotf.luminance(code + diff) - base > tvi * base
}

/// Where `code` lies against the visibility boundary of `diff`-code steps.
#[derive(PartialEq)]
enum Side {
    /// The step is not visible here: the boundary is lower.
    Above,
    /// The step is visible here and one code up: the boundary is higher.
    Below,
    /// The last code at which the step is visible.
    At,
}

fn side(eotf: Eotf, code: i32, diff: i32, tvi: f64) -> Side {
    if !visible(eotf, code, diff, tvi) {
        Side::Above
    } else if visible(eotf, code + 1, diff, tvi) {
        Side::Below
    } else {
        Side::At
    }
}

/// The largest 10-bit code at which a `diff`-code step is visible: 0 when
/// none is, 1023 when every code up to the top of the range is (libvmaf's
/// bisection between the nominal black and `white - diff - 1`).
pub fn tvi_for_diff(eotf: Eotf, diff: i32, tvi: f64) -> i32 {
    let mut lo = FOOT;
    let mut hi = HEAD - diff - 1;
    match side(eotf, lo, diff, tvi) {
        Side::Above => return 0,
        Side::At => return lo,
        Side::Below => {}
    }
    match side(eotf, hi, diff, tvi) {
        Side::Below => return 1023,
        Side::At => return hi,
        Side::Above => {}
    }
    // Invariant: visible at `lo`, not at `hi`; the gap halves each round
    // and a gap of one is resolved as `At`, so this ends.
    loop {
        let mid = lo + (hi - lo) / 2;
        match side(eotf, mid, diff, tvi) {
            Side::Above => hi = mid,
            Side::Below => lo = mid,
            Side::At => return mid,
        }
    }
}

/// The smallest code whose luminance reaches `threshold`, or 0 when the
/// black code already does. `None` when no code of the nominal range does
/// (libvmaf searches forever there).
pub fn vis_lum_code(eotf: Eotf, threshold: f64) -> Option<u16> {
    let mut code = FOOT;
    while eotf.luminance(code) < threshold {
        if code >= HEAD {
            return None;
        }
        code += 1;
    }
    Some(if code == FOOT { 0 } else { code as u16 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eotf_end_points() {
        assert!((Eotf::Bt1886.luminance(FOOT) - 0.01).abs() < 1e-9);
        assert!((Eotf::Bt1886.luminance(HEAD) - 300.0).abs() < 1e-9);
        assert_eq!(Eotf::Pq.luminance(FOOT), 0.0);
        assert!((Eotf::Pq.luminance(HEAD) - 10000.0).abs() < 1e-6);
        // Codes outside the nominal range are clipped.
        assert_eq!(Eotf::Bt1886.luminance(0), Eotf::Bt1886.luminance(FOOT));
        assert_eq!(Eotf::Pq.luminance(1023), Eotf::Pq.luminance(HEAD));
    }

    #[test]
    fn tvi_is_the_visibility_boundary() {
        for eotf in [Eotf::Bt1886, Eotf::Pq] {
            for tvi in [0.0001, 0.019, 0.1, 0.5, 1.0] {
                let mut last = 0;
                for diff in 1..=32 {
                    let t = tvi_for_diff(eotf, diff, tvi);
                    // Larger steps stay visible up to brighter codes.
                    assert!(t >= last, "{eotf:?} {tvi} {diff}");
                    last = t;
                    if t != 0 && t != 1023 {
                        assert!(visible(eotf, t, diff, tvi));
                        assert!(!visible(eotf, t + 1, diff, tvi));
                    }
                }
            }
        }
        // The default settings, worked out independently of this code.
        let d: Vec<i32> = (1..=4)
            .map(|d| tvi_for_diff(Eotf::Bt1886, d, 0.019))
            .collect();
        assert_eq!(d, [178, 305, 432, 559]);
        assert_eq!(tvi_for_diff(Eotf::Pq, 1, 0.019), 233);
    }

    #[test]
    fn visibility_code() {
        assert_eq!(vis_lum_code(Eotf::Bt1886, 0.0), Some(0));
        let c = vis_lum_code(Eotf::Bt1886, 0.06).unwrap() as i32;
        assert!(Eotf::Bt1886.luminance(c) >= 0.06 && Eotf::Bt1886.luminance(c - 1) < 0.06);
        assert_eq!(vis_lum_code(Eotf::Bt1886, 300.5), None);
        assert!(vis_lum_code(Eotf::Pq, 300.0).is_some());
    }
}
