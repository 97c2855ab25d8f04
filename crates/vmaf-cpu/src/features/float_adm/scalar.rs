//! Reference row kernels of float ADM, in libvmaf's order of `float`
//! operations (sums accumulated left to right, `double` constants where
//! libvmaf mixes them in), including its one division through the SSE
//! approximate reciprocal (see [`recip_div`]), so that the results are
//! libvmaf's to the bit on the same CPU.

use crate::features::integer_adm::scalar::taps;

/// Daubechies-2 analysis filters.
pub const LO: [f32; 4] = [0.482962913144690f64 as f32, 0.836516303737469f64 as f32, 0.224143868041857f64 as f32, -0.129409522550921f64 as f32];
pub const HI: [f32; 4] = [-0.129409522550921f64 as f32, -0.224143868041857f64 as f32, 0.836516303737469f64 as f32, -0.482962913144690f64 as f32];

/// libvmaf's `FLOAT_ONE_BY_30` and `FLOAT_ONE_BY_15`: `double` literals,
/// so the products they enter are computed in double.
pub const ONE_BY_30: f64 = 0.0333333351;
pub const ONE_BY_15: f64 = 0.0666666701;

/// Added to the reference before dividing by it.
const EPS: f32 = 1e-30f64 as f32;

/// `n / d` the way libvmaf's decoupling divides on an x86 build (where the
/// compiler defines `__SSE2__`): the hardware's 12-bit reciprocal estimate
/// of `d` (`rcpss`), sharpened by one Newton-Raphson step in `float`, times
/// `n`. The result often sits an ulp or two from the exact quotient, and
/// those ulps reach the printed scores (up to ~1e-5 of a VMAF score), so
/// an exact division cannot match libvmaf.
///
/// The estimate is implementation-defined: Intel and AMD (and AMD's own
/// generations) build it from different tables, so libvmaf's float ADM
/// itself differs between CPU makers. Rather than hard-coding one vendor's
/// table, this runs the same instruction, and so gives exactly what
/// libvmaf gives on the machine it runs on (the goldens come from AMD
/// EPYC). Away from x86, libvmaf divides exactly, and so does this.
#[inline]
pub fn recip_div(n: f32, d: f32) -> f32 {
    #[cfg(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse2"))]
    {
        #[cfg(target_arch = "x86")]
        use std::arch::x86::{_mm_cvtss_f32, _mm_rcp_ss, _mm_set_ss};
        #[cfg(target_arch = "x86_64")]
        use std::arch::x86_64::{_mm_cvtss_f32, _mm_rcp_ss, _mm_set_ss};
        // SAFETY: the only requirement of these intrinsics is SSE, which
        // the cfg above guarantees for the whole build.
        let est = unsafe { _mm_cvtss_f32(_mm_rcp_ss(_mm_set_ss(d))) };
        n * (est + est * (1.0 - d * est))
    }
    #[cfg(not(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse2")))]
    {
        n / d
    }
}

#[inline]
fn filter(c: &[f32; 4], s: [f32; 4]) -> f32 {
    let mut acc = 0.0f32;
    for k in 0..4 {
        acc += c[k] * s[k];
    }
    acc
}

/// Level-0 vertical filter of 8-bit rows: samples are offset by -128.
pub fn dwt0_vertical_u8(rows: [&[u8]; 4], lo: &mut [f32], hi: &mut [f32]) {
    for j in 0..lo.len() {
        let s = rows.map(|r| r[j] as f32 + -128.0);
        lo[j] = filter(&LO, s);
        hi[j] = filter(&HI, s);
    }
}

/// Level-0 vertical filter of high-bit-depth rows: samples are scaled to
/// 8-bit range (`scaler` = 2^(bpc-8)) and offset by -128.
pub fn dwt0_vertical_u16(rows: [&[u16]; 4], scaler: f32, lo: &mut [f32], hi: &mut [f32]) {
    for j in 0..lo.len() {
        let s = rows.map(|r| r[j] as f32 / scaler + -128.0);
        lo[j] = filter(&LO, s);
        hi[j] = filter(&HI, s);
    }
}

/// Vertical filter of levels 1..3.
pub fn dwt_vertical(rows: [&[f32]; 4], lo: &mut [f32], hi: &mut [f32]) {
    for j in 0..lo.len() {
        let s = rows.map(|r| r[j]);
        lo[j] = filter(&LO, s);
        hi[j] = filter(&HI, s);
    }
}

/// Horizontal filter: `a`, `v` from the low-pass row, `h`, `d` from the
/// high-pass one.
pub fn dwt_horizontal(lo: &[f32], hi: &[f32], a: &mut [f32], v: &mut [f32], h: &mut [f32], d: &mut [f32]) {
    let n = lo.len();
    for j in 0..a.len() {
        let t = taps(j, n);
        let sl = t.map(|k| lo[k]);
        let sh = t.map(|k| hi[k]);
        a[j] = filter(&LO, sl);
        v[j] = filter(&HI, sl);
        h[j] = filter(&LO, sh);
        d[j] = filter(&HI, sh);
    }
}

/// Restored part of one distorted coefficient (see the integer version):
/// gain clamped to 0..1, and up to `egl` times enhancement (in double, as
/// libvmaf mixes its double option in) where the gradients agree.
#[inline]
fn restore(o: f32, t: f32, angle: bool, egl: f64) -> f32 {
    let k = recip_div(t, o + EPS).clamp(0.0, 1.0);
    let r = k * o;
    if angle && r > 0.0 {
        let x = r as f64 * egl;
        (if x < t as f64 { x } else { t as f64 }) as f32
    } else if angle && r < 0.0 {
        let x = r as f64 * egl;
        (if x > t as f64 { x } else { t as f64 }) as f32
    } else {
        r
    }
}

/// Decoupling of one row into restored (`r`) and additive (`a = t - r`)
/// coefficients.
pub fn decouple(o: [&[f32]; 3], t: [&[f32]; 3], egl: f64, cos_sq: f32, r: [&mut [f32]; 3], a: [&mut [f32]; 3]) {
    let [rh, rv, rd] = r;
    let [ah, av, ad] = a;
    for j in 0..rh.len() {
        let (oh, ov, od) = (o[0][j], o[1][j], o[2][j]);
        let (th, tv, td) = (t[0][j], t[1][j], t[2][j]);
        let dot = oh * th + ov * tv;
        let o2 = oh * oh + ov * ov;
        let t2 = th * th + tv * tv;
        let angle = dot >= 0.0 && dot * dot >= cos_sq * o2 * t2;
        rh[j] = restore(oh, th, angle, egl);
        rv[j] = restore(ov, tv, angle, egl);
        rd[j] = restore(od, td, angle, egl);
        ah[j] = th - rh[j];
        av[j] = tv - rv[j];
        ad[j] = td - rd[j];
    }
}

/// CSF of one row: the weighted coefficients and their masking
/// contribution |csf|/30.
pub fn csf(src: [&[f32]; 3], rf: [f32; 3], dst: [&mut [f32]; 3], flt: [&mut [f32]; 3]) {
    for ((s, (d, f)), rf) in src.iter().zip(dst.into_iter().zip(flt)).zip(rf) {
        for j in 0..d.len() {
            let v = rf * s[j];
            d[j] = v;
            f[j] = (ONE_BY_30 * v.abs() as f64) as f32;
        }
    }
}

/// |x|^p, as a cube when p is 3 (libvmaf special-cases it).
#[inline]
pub fn power(x: f32, p: f64) -> f32 {
    if p == 3.0 {
        x * x * x
    } else {
        x.powf(p as f32)
    }
}

/// Reference energy of one row: per angle, the sum of |rf * x|^p.
pub fn den_row(x: [&[f32]; 3], rf: [f32; 3], p: f64) -> [f32; 3] {
    let mut acc = [0f32; 3];
    for k in 0..3 {
        for &v in x[k] {
            acc[k] += power((rf[k] * v).abs(), p);
        }
    }
    acc
}

/// The three rows (above, centre, below) of one angle's CSF values and
/// masking contributions around the row being scored.
pub struct Window<'a> {
    pub dst: [&'a [f32]; 3],
    pub flt: [&'a [f32]; 3],
}

/// Masking sums of one row over columns `cols` of a band `n` wide: the
/// threshold is libvmaf's 3x3 sum of neighbours' |csf|/30 with the centre's
/// |csf|/15, over the three angles, in its order (columns -1 and `n` read 1
/// and `n - 1`); each angle's |x * rf| less the threshold, floored at 0 and
/// raised to `p`, is summed.
pub fn cm_row(
    x: [&[f32]; 3],
    rf: [f32; 3],
    win: &[Window<'_>; 3],
    n: usize,
    cols: std::ops::Range<usize>,
    bypass: bool,
    p: f64,
) -> [f32; 3] {
    let mut acc = [0f32; 3];
    for j in cols {
        let l = if j == 0 { 1 } else { j - 1 };
        let r = if j + 1 == n { j } else { j + 1 };
        let mut thr = 0f32;
        if !bypass {
            for w in win {
                let mut sum = 0f32;
                for (row, (d, f)) in w.dst.iter().zip(&w.flt).enumerate() {
                    sum += f[l];
                    if row == 1 {
                        sum = (sum as f64 + ONE_BY_15 * d[j].abs() as f64) as f32;
                    } else {
                        sum += f[j];
                    }
                    sum += f[r];
                }
                thr += sum;
            }
        }
        for k in 0..3 {
            let v = ((x[k][j] * rf[k]).abs() - thr).max(0.0);
            acc[k] += power(v, p);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_orthonormal_enough() {
        let s: f32 = LO.iter().sum();
        assert!((s - std::f32::consts::SQRT_2).abs() < 1e-6);
        let z: f32 = HI.iter().sum();
        assert!(z.abs() < 1e-6);
    }

    #[test]
    fn reciprocal_division_is_within_ulps_of_exact() {
        let mut seed = 0x9E37_79B9u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed as f32 / u32::MAX as f32 - 0.5) * 2000.0
        };
        let mut inexact = 0;
        for _ in 0..100_000 {
            let (n, d) = (next(), next() + EPS);
            let (got, exact) = (recip_div(n, d), n / d);
            assert!((got - exact).abs() <= 4.0 * f32::EPSILON * exact.abs(), "{n} / {d}: {got} vs {exact}");
            inexact += (got != exact) as u32;
        }
        // On x86 the estimate is what makes libvmaf's quotients differ from
        // exact ones now and then; elsewhere both divide exactly.
        if cfg!(any(target_arch = "x86", target_arch = "x86_64")) {
            assert!(inexact > 0);
        } else {
            assert_eq!(inexact, 0);
        }
        // A zero reference leaves only EPS: the quotient must stay finite so
        // the gain clamps to 0 or 1.
        assert!(recip_div(250.0, 0.0 + EPS).is_finite());
        assert!(recip_div(-250.0, 0.0 + EPS) < 0.0);
    }

    #[test]
    fn identical_coefficients_are_fully_restored() {
        let o = [1.5f32, -3.0, 0.0, 7.25];
        let (mut r, mut a) = (vec![vec![0f32; 4]; 3], vec![vec![0f32; 4]; 3]);
        let [r0, r1, r2] = &mut r[..] else { unreachable!() };
        let [a0, a1, a2] = &mut a[..] else { unreachable!() };
        decouple([&o, &o, &o], [&o, &o, &o], 100.0, 0.9997, [r0, r1, r2], [a0, a1, a2]);
        assert_eq!(r[0], o);
        assert!(a.iter().flatten().all(|&x| x == 0.0));
    }
}
