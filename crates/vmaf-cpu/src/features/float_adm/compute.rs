//! The float ADM pipeline: four DWT levels, each streamed row by row as in
//! the integer version (see `integer_adm/compute.rs` for why): only the
//! approximation band is kept whole; each band row goes through
//! decoupling, CSF and masking while it is in cache, with a ring of three
//! rows for the 3x3 masking window.

use vmaf_core::{Plane, Result};

use super::scalar::{self, Window};
use crate::features::adm_csf;
use crate::features::integer_adm::params::{neighbourhood, scored_span, Span};
use crate::features::integer_adm::scalar::taps;

/// Smallest picture side: the coarsest band must be 2 wide for the 3x3
/// masking window.
pub const MIN_SIDE: usize = 17;

/// The luma plane of one picture.
#[derive(Clone, Copy)]
pub enum Luma<'a> {
    U8(&'a Plane<u8>),
    U16(&'a Plane<u16>),
}

/// Options that shape the arithmetic.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub enhn_gain_limit: f64,
    pub noise_weight: f64,
    pub norm_view_dist: f64,
    pub ref_display_height: i32,
    pub csf_mode: i32,
    pub csf_scale: f64,
    pub csf_diag_scale: f64,
    pub bypass_cm: bool,
    pub p_norm: f64,
    /// Per-level overrides of the CSF factors (h/v, then d); negative means
    /// none.
    pub f1: [f64; 4],
    pub f2: [f64; 4],
}

impl Settings {
    /// The CSF factors (h, v, d) of `level`.
    fn factors(&self, level: usize) -> [f32; 3] {
        let (d, h) = (self.norm_view_dist, self.ref_display_height);
        let (mut f1, mut f2) = match self.csf_mode {
            1 => (
                adm_csf::barten(level, d, h, adm_csf::CSF_LUMINANCE, self.csf_scale),
                adm_csf::barten(level, d, h, adm_csf::CSF_LUMINANCE, self.csf_diag_scale),
            ),
            2 => (adm_csf::native(level, d, h, false), adm_csf::native(level, d, h, true)),
            _ => (1.0 / adm_csf::watson_quant_step(level, 1, d, h), 1.0 / adm_csf::watson_quant_step(level, 2, d, h)),
        };
        if self.f1[level] >= 0.0 {
            f1 = self.f1[level] as f32;
        }
        if self.f2[level] >= 0.0 {
            f2 = self.f2[level] as f32;
        }
        [f1, f1, f2]
    }
}

/// One DWT level's geometry.
#[derive(Clone, Debug)]
struct Level {
    in_w: usize,
    in_h: usize,
    w: usize,
    h: usize,
    cols: Span,
    rows: Span,
    need_cols: Span,
    need_rows: Span,
    rfactor: [f32; 3],
    /// libvmaf's noise floor term for the scored region.
    noise: f32,
}

/// Per-level results, in libvmaf's float precision.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LevelScores {
    pub num: f32,
    pub den: f32,
    pub aim: f32,
}

/// Kinds of rows kept in the ring: restored and additive coefficients,
/// and the CSF values and masking contributions of each.
const R: usize = 0;
const A: usize = 1;
const DST_R: usize = 2;
const FLT_R: usize = 3;
const DST_A: usize = 4;
const FLT_A: usize = 5;
const KINDS: usize = 6;

pub struct Pipeline {
    levels: [Level; 4],
    settings: Settings,
    cos_sq: f32,
    scaler: f32,
    stride: usize,
    approx: [Vec<f32>; 2],
    /// Vertical-pass rows: (ref lo, ref hi, dis lo, dis hi).
    tmp: [Vec<f32>; 4],
    /// The current row of the detail bands: [image][angle].
    band: Vec<f32>,
    /// Ring of three rows: [slot][kind][angle].
    ring: Vec<f32>,
}

/// The next three rows of an iterator over ring rows.
fn take3<'a>(rows: &mut impl Iterator<Item = &'a mut [f32]>) -> [&'a mut [f32]; 3] {
    std::array::from_fn(|_| rows.next().expect("three rows per kind"))
}

fn noise(area: usize, weight: f64, p: f64) -> f32 {
    ((area as f64 * weight) as f32).powf((1.0 / p) as f32)
}

impl Pipeline {
    pub fn new(width: usize, height: usize, bpc: u32, settings: Settings) -> Result<Self> {
        if width < MIN_SIDE || height < MIN_SIDE {
            return Err(vmaf_core::Error::Extractor {
                feature: "float_adm".into(),
                msg: format!("needs a picture of at least {MIN_SIDE}x{MIN_SIDE}, got {width}x{height}"),
            });
        }
        let (mut w, mut h) = (width, height);
        let levels: [Level; 4] = std::array::from_fn(|l| {
            let (in_w, in_h) = (w, h);
            (w, h) = (in_w.div_ceil(2), in_h.div_ceil(2));
            let (cols, rows) = (scored_span(w), scored_span(h));
            Level {
                in_w,
                in_h,
                w,
                h,
                cols,
                rows,
                need_cols: neighbourhood(cols, w),
                need_rows: neighbourhood(rows, h),
                rfactor: settings.factors(l),
                noise: noise(cols.len() * rows.len(), settings.noise_weight, settings.p_norm),
            }
        });
        let stride = levels[0].w;
        let rows0 = levels[0].h;
        Ok(Pipeline {
            levels,
            settings,
            cos_sq: adm_csf::cos_1deg_sq(),
            scaler: (1u32 << (bpc.max(8) - 8)) as f32,
            stride,
            approx: [vec![0.0; stride * rows0], vec![0.0; stride * rows0]],
            tmp: std::array::from_fn(|_| vec![0.0; width]),
            band: vec![0.0; 6 * stride],
            ring: vec![0.0; 3 * KINDS * 3 * stride],
        })
    }

    /// Scores one frame pair: per-level numerator, denominator and AIM.
    /// With `skip_scale0`, level 0 is only transformed.
    pub fn run(&mut self, reference: Luma<'_>, distorted: Luma<'_>, skip_scale0: bool) -> [LevelScores; 4] {
        std::array::from_fn(|l| self.level(l, [reference, distorted], skip_scale0 && l == 0))
    }

    fn ring_rows(&self, row: usize, kind: usize, c: Span) -> [&[f32]; 3] {
        let s = self.stride;
        std::array::from_fn(|a| {
            let o = (((row % 3) * KINDS + kind) * 3 + a) * s;
            &self.ring[o + c.start..o + c.end]
        })
    }

    fn level(&mut self, l: usize, src: [Luma<'_>; 2], transform_only: bool) -> LevelScores {
        let lvl = self.levels[l].clone();
        let s = self.stride;
        let p = self.settings.p_norm;
        let mut den = [0f32; 3];
        let (mut num, mut aim) = ([0f32; 3], [0f32; 3]);
        for i in 0..lvl.h {
            for (img, pic) in src.iter().enumerate() {
                let (lo_hi, _) = self.tmp.split_at_mut(2 * img + 2);
                let (lo, hi) = lo_hi[2 * img..].split_at_mut(1);
                let (lo, hi) = (&mut lo[0][..lvl.in_w], &mut hi[0][..lvl.in_w]);
                let t = taps(i, lvl.in_h);
                if l == 0 {
                    match pic {
                        Luma::U8(pl) => scalar::dwt0_vertical_u8(t.map(|y| pl.row(y)), lo, hi),
                        Luma::U16(pl) => scalar::dwt0_vertical_u16(t.map(|y| pl.row(y)), self.scaler, lo, hi),
                    }
                } else {
                    let plane = &self.approx[img];
                    scalar::dwt_vertical(t.map(|y| &plane[y * s..y * s + lvl.in_w]), lo, hi);
                }
                let a = &mut self.approx[img][i * s..i * s + lvl.w];
                let (bh, rest) = self.band[img * 3 * s..(img + 1) * 3 * s].split_at_mut(s);
                let (bv, bd) = rest.split_at_mut(s);
                scalar::dwt_horizontal(lo, hi, a, &mut bv[..lvl.w], &mut bh[..lvl.w], &mut bd[..lvl.w]);
            }
            if transform_only {
                continue;
            }
            let c = lvl.cols;
            if lvl.rows.contains(i) {
                let o: [&[f32]; 3] = std::array::from_fn(|a| &self.band[a * s + c.start..a * s + c.end]);
                let r = scalar::den_row(o, lvl.rfactor, p);
                for a in 0..3 {
                    den[a] += r[a];
                }
            }
            if lvl.need_rows.contains(i) {
                self.decouple_csf(&lvl, i);
            }
            if i >= 1 && lvl.rows.contains(i - 1) {
                self.cm(&lvl, i - 1, &mut num, &mut aim);
            }
        }
        if transform_only {
            return LevelScores { num: 0.0, den: 1e-10, aim: 0.0 };
        }
        if lvl.rows.contains(lvl.h - 1) {
            self.cm(&lvl, lvl.h - 1, &mut num, &mut aim);
        }
        let root = |x: f32| x.powf((1.0 / p) as f32);
        let aim_noise = noise(lvl.cols.len() * lvl.rows.len(), 0.0, p);
        LevelScores {
            num: (root(num[0]) + lvl.noise) + (root(num[1]) + lvl.noise) + (root(num[2]) + lvl.noise),
            den: (root(den[0]) + lvl.noise) + (root(den[1]) + lvl.noise) + (root(den[2]) + lvl.noise),
            aim: (root(aim[0]) + aim_noise) + (root(aim[1]) + aim_noise) + (root(aim[2]) + aim_noise),
        }
    }

    fn decouple_csf(&mut self, lvl: &Level, i: usize) {
        let s = self.stride;
        let n = lvl.need_cols;
        let slot = (i % 3) * KINDS * 3 * s;
        let o: [&[f32]; 3] = std::array::from_fn(|a| &self.band[a * s + n.start..a * s + n.end]);
        let t: [&[f32]; 3] = std::array::from_fn(|a| &self.band[(3 + a) * s + n.start..(3 + a) * s + n.end]);
        let (dec, csf_rows) = self.ring[slot..slot + KINDS * 3 * s].split_at_mut(2 * 3 * s);
        {
            let mut rows = dec.chunks_exact_mut(s).map(|r| &mut r[n.start..n.end]);
            let r = take3(&mut rows);
            let a = take3(&mut rows);
            scalar::decouple(o, t, self.settings.enhn_gain_limit, self.cos_sq, r, a);
        }
        let dec: &[f32] = dec;
        let part = |kind: usize| -> [&[f32]; 3] {
            std::array::from_fn(|k| &dec[(kind * 3 + k) * s + n.start..(kind * 3 + k) * s + n.end])
        };
        let mut rows = csf_rows.chunks_exact_mut(s).map(|r| &mut r[n.start..n.end]);
        let (dst_r, flt_r) = (take3(&mut rows), take3(&mut rows));
        let (dst_a, flt_a) = (take3(&mut rows), take3(&mut rows));
        scalar::csf(part(R), lvl.rfactor, dst_r, flt_r);
        scalar::csf(part(A), lvl.rfactor, dst_a, flt_a);
    }

    fn cm(&self, lvl: &Level, i: usize, num: &mut [f32; 3], aim: &mut [f32; 3]) {
        let (up, down) = (if i == 0 { 1 } else { i - 1 }, if i + 1 == lvl.h { i } else { i + 1 });
        // Whole band rows: the window reads one column either side.
        let full = Span { start: 0, end: lvl.w };
        let cols = lvl.cols.start..lvl.cols.end;
        let win = |dst: usize, flt: usize| -> [Window<'_>; 3] {
            let d = [up, i, down].map(|row| self.ring_rows(row, dst, full));
            let f = [up, i, down].map(|row| self.ring_rows(row, flt, full));
            std::array::from_fn(|a| Window { dst: [d[0][a], d[1][a], d[2][a]], flt: [f[0][a], f[1][a], f[2][a]] })
        };
        let p = self.settings.p_norm;
        let bypass = self.settings.bypass_cm;
        let add = |acc: &mut [f32; 3], r: [f32; 3]| {
            for k in 0..3 {
                acc[k] += r[k];
            }
        };
        let x = self.ring_rows(i, R, full);
        add(num, scalar::cm_row(x, lvl.rfactor, &win(DST_A, FLT_A), lvl.w, cols.clone(), bypass, p));
        let x = self.ring_rows(i, A, full);
        add(aim, scalar::cm_row(x, lvl.rfactor, &win(DST_R, FLT_R), lvl.w, cols, bypass, p));
    }
}
