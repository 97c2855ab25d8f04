//! The integer ADM pipeline: four DWT levels, each streamed row by row.
//!
//! libvmaf runs every stage of a level over whole bands (DWT, decoupling,
//! CSF, masking), which at 1080p moves some 20 MB through memory per level.
//! The stages only look one band row up and down, so here each band row is
//! carried through all of them as soon as it exists: the DWT produces row
//! `i`, decoupling and CSF turn it into threshold inputs kept in a ring of
//! three rows, and the masking sums of row `i - 1` run once its lower
//! neighbour is there. Only the approximation band, which the next level
//! transforms, is kept whole; everything else stays in a few cache-sized
//! rows. Integer sums are computed per row and rounded exactly where libvmaf
//! rounds them, so the order of work does not change a bit of the result.
//!
//! Which rows and columns each stage covers: the DWT covers the whole band;
//! the reference energy (denominator) and masking sums cover the scored
//! region (10% trimmed from each side); decoupling and CSF cover the scored
//! region plus the one-sample neighbourhood the 3x3 masking window reads.
//! libvmaf computes a slightly larger margin whose extra values are never
//! read.

use vmaf_core::{Plane, Result};

use super::params::{Level, MIN_SIDE};
use super::scalar;

/// One implementation of every row kernel; the scalar one is the
/// reference, SIMD ones must match it bit for bit. The signatures are
/// spelled out (rather than aliased) so the table reads as the kernels'
/// interface.
#[allow(clippy::type_complexity)]
pub struct Kernels {
    pub dwt0_vertical_u8: fn([&[u8]; 4], u32, &mut [i16], &mut [i16]),
    pub dwt0_vertical_u16: fn([&[u16]; 4], u32, &mut [i16], &mut [i16]),
    pub dwt0_horizontal:
        fn(&[i16], &[i16], std::ops::Range<usize>, &mut [i32], &mut [i16], &mut [i16], &mut [i16]),
    pub decouple0: fn([&[i16]; 3], [&[i16]; 3], f64, f32, [&mut [i16]; 3], [&mut [i16]; 3]),
    pub csf0_fc: fn([&[i16]; 3], [u16; 3], &mut [i32], &mut [i32]),
    pub cm0_row: fn([&[i16]; 3], [u16; 3], &[i32], &super::params::CmShifts) -> [i64; 3],
    pub den0_row: fn([&[i16]; 3]) -> [u64; 3],
    pub dwt_vertical: fn([&[i32]; 4], u32, i64, &mut [i32], &mut [i32]),
    pub dwt_horizontal:
        fn(&[i32], &[i32], u32, i64, std::ops::Range<usize>, &mut [i32], &mut [i32], &mut [i32], &mut [i32]),
    pub decouple: fn([&[i32]; 3], [&[i32]; 3], f64, f32, [&mut [i32]; 3], [&mut [i32]; 3]),
    pub csf_fc: fn([&[i32]; 3], [u32; 3], &mut [i32], &mut [i32]),
    pub cm_row: fn([&[i32]; 3], [u32; 3], &[i32], &super::params::CmShifts) -> [i64; 3],
    pub den_row: fn([&[i32]; 3], &super::params::DenShifts) -> [u64; 3],
    pub row_sum3: fn(&[i32], usize, std::ops::Range<usize>, &mut [i32]),
    pub threshold: fn(&[i32], &[i32], &[i32], &[i32], &[i32], &mut [i32]),
}

pub static SCALAR: Kernels = Kernels {
    dwt0_vertical_u8: scalar::dwt0_vertical::<u8>,
    dwt0_vertical_u16: scalar::dwt0_vertical::<u16>,
    dwt0_horizontal: scalar::dwt0_horizontal,
    decouple0: scalar::decouple0,
    csf0_fc: scalar::csf0_fc,
    cm0_row: scalar::cm0_row,
    den0_row: scalar::den0_row,
    dwt_vertical: scalar::dwt_vertical,
    dwt_horizontal: scalar::dwt_horizontal,
    decouple: scalar::decouple,
    csf_fc: scalar::csf_fc,
    cm_row: scalar::cm_row,
    den_row: scalar::den_row,
    row_sum3: scalar::row_sum3,
    threshold: scalar::threshold,
};

/// The luma plane of one picture, as the DWT of level 0 reads it.
#[derive(Clone, Copy)]
pub enum Luma<'a> {
    U8(&'a Plane<u8>),
    U16(&'a Plane<u16>),
}

/// Per-level results, in libvmaf's float precision.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LevelScores {
    pub num: f32,
    pub den: f32,
    pub aim: f32,
}

/// Options that change the arithmetic (the rest only combine the scores).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub enhn_gain_limit: f64,
    pub noise_weight: f64,
    pub skip_aim: bool,
    pub skip_scale0: bool,
}

/// Vertical (add, shift) and horizontal (add, shift) rounding of the DWT
/// at levels 1, 2, 3 (public for the GPU backends, which must round the
/// same way).
pub const DWT_VERTICAL: [(i64, u32); 3] = [(0, 0), (32768, 16), (32768, 16)];
pub const DWT_HORIZONTAL: [(i64, u32); 3] = [(16384, 15), (32768, 16), (16384, 15)];

/// The exact integer sums of one level, per angle (h, v, d), after each
/// row's rounding shift: everything a level contributes to the scores.
/// A backend that computes these bit for bit gets libvmaf's scores from
/// [`level_scores`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LevelSums {
    /// Reference energy (denominator).
    pub den: [u64; 3],
    /// Restored detail masked by the additive impairment (DLM numerator).
    pub num: [i64; 3],
    /// Additive impairment masked by the restored detail (AIM).
    pub aim: [i64; 3],
}

/// A level's float scores from its integer sums, in libvmaf's precision
/// and order of operations. A skipped scale 0 scores (0, 1e-10, 0), as in
/// libvmaf.
pub fn level_scores(lvl: &Level, settings: &Settings, sums: &LevelSums) -> LevelScores {
    if lvl.level == 0 && settings.skip_scale0 {
        return LevelScores { num: 0.0, den: 1e-10, aim: 0.0 };
    }
    LevelScores {
        num: lvl.numerator(sums.num, settings.noise_weight),
        den: lvl.denominator(sums.den, settings.noise_weight),
        aim: if settings.skip_aim { 0.0 } else { lvl.numerator(sums.aim, 0.0) },
    }
}

/// The four levels of a `width` x `height` picture, or an error for
/// pictures too small for libvmaf's integer ADM.
pub fn levels(width: usize, height: usize, view: &super::params::Viewing) -> Result<[Level; 4]> {
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(vmaf_core::Error::Extractor {
            feature: "adm".into(),
            msg: format!("needs a picture of at least {MIN_SIDE}x{MIN_SIDE}, got {width}x{height}"),
        });
    }
    let (mut w, mut h) = (width, height);
    Ok(std::array::from_fn(|l| {
        let lvl = Level::new(l, w, h, view);
        (w, h) = (lvl.w, lvl.h);
        lvl
    }))
}

/// Index of the restored (r) and additive (a) halves in the ring buffers.
const R: usize = 0;
const A: usize = 1;
/// Index of the per-row threshold inputs: |csf|/30 summed over angles, the
/// centre's |csf|/15, and the 3-wide row sum of the former.
const F: usize = 0;
const C: usize = 1;
const RS: usize = 2;

/// Everything sized at creation and reused for every frame.
pub struct Pipeline {
    pub levels: [Level; 4],
    kernels: &'static Kernels,
    settings: Settings,
    cos_sq: f32,
    bpc: u32,
    /// Width of every row buffer: the level-0 band width.
    stride: usize,
    /// Approximation band of reference and distorted, transformed in place
    /// from level to level.
    approx: [Vec<i32>; 2],
    /// DWT vertical-pass outputs: (ref lo, ref hi, dis lo, dis hi).
    tmp16: [Vec<i16>; 4],
    tmp32: [Vec<i32>; 4],
    /// The current row of the detail bands: [image][angle].
    band16: Vec<i16>,
    band32: Vec<i32>,
    /// Ring of 3 rows of decoupled coefficients: [slot][r/a][angle].
    dec16: Vec<i16>,
    dec32: Vec<i32>,
    /// Ring of 3 rows of threshold inputs: [slot][r/a][F/C/RS].
    fc: Vec<i32>,
    thr: Vec<i32>,
}

impl Pipeline {
    pub fn new(
        width: usize,
        height: usize,
        bpc: u32,
        view: &super::params::Viewing,
        settings: Settings,
        kernels: &'static Kernels,
    ) -> Result<Self> {
        let levels = levels(width, height, view)?;
        let stride = levels[0].w;
        let rows0 = levels[0].h;
        Ok(Pipeline {
            levels,
            kernels,
            settings,
            cos_sq: super::params::cos_1deg_sq(),
            bpc,
            stride,
            approx: [vec![0; stride * rows0], vec![0; stride * rows0]],
            tmp16: std::array::from_fn(|_| vec![0; width]),
            tmp32: std::array::from_fn(|_| vec![0; levels_max_in(width)]),
            band16: vec![0; 6 * stride],
            band32: vec![0; 6 * stride],
            dec16: vec![0; 3 * 2 * 3 * stride],
            dec32: vec![0; 3 * 2 * 3 * stride],
            fc: vec![0; 3 * 2 * 3 * stride],
            thr: vec![0; stride],
        })
    }

    /// Scores one frame pair: per-level (numerator, denominator, AIM).
    pub fn run(&mut self, reference: Luma<'_>, distorted: Luma<'_>) -> [LevelScores; 4] {
        let sums = self.run_sums(reference, distorted);
        std::array::from_fn(|l| level_scores(&self.levels[l], &self.settings, &sums[l]))
    }

    /// The exact integer sums of each level of one frame pair.
    pub fn run_sums(&mut self, reference: Luma<'_>, distorted: Luma<'_>) -> [LevelSums; 4] {
        let mut out = [LevelSums::default(); 4];
        out[0] = self.level0(reference, distorted);
        for (l, o) in out.iter_mut().enumerate().skip(1) {
            *o = self.level(l);
        }
        out
    }

    fn level0(&mut self, reference: Luma<'_>, distorted: Luma<'_>) -> LevelSums {
        let lvl = self.levels[0].clone();
        let k = self.kernels;
        let s = self.stride;
        let w = lvl.w;
        let full = self.settings.skip_scale0;
        let mut den = [0u64; 3];
        let mut cm = CmAccum::default();
        for i in 0..lvl.h {
            // DWT of row i, both images.
            for (img, src) in [reference, distorted].into_iter().enumerate() {
                let [lo, hi] = pair(&mut self.tmp16, img);
                let t = scalar::taps(i, lvl.in_h);
                match src {
                    Luma::U8(p) => (k.dwt0_vertical_u8)(t.map(|y| p.row(y)), self.bpc, lo, hi),
                    Luma::U16(p) => (k.dwt0_vertical_u16)(t.map(|y| p.row(y)), self.bpc, lo, hi),
                }
                let a = &mut self.approx[img][i * s..i * s + w];
                let [bh, bv, bd] = split3(&mut self.band16[img * 3 * s..(img + 1) * 3 * s], s);
                (k.dwt0_horizontal)(lo, hi, 0..w, a, &mut bv[..w], &mut bh[..w], &mut bd[..w]);
            }
            if full {
                continue;
            }
            let c = lvl.cols;
            if lvl.rows.contains(i) {
                let o = band_row(&self.band16, 0, s, c);
                let r = (k.den0_row)(o);
                for a in 0..3 {
                    den[a] = den[a].wrapping_add(r[a].wrapping_add(lvl.den.row_add) >> lvl.den.row_shift);
                }
            }
            if lvl.need_rows.contains(i) {
                let n = lvl.need_cols;
                let slot = i % 3;
                let o = band_row(&self.band16, 0, s, n);
                let t = band_row(&self.band16, 1, s, n);
                let [r, a] = split_ring(&mut self.dec16, slot, s, n);
                (k.decouple0)(o, t, self.settings.enhn_gain_limit, self.cos_sq, r, a);
                for ra in [R, A] {
                    let src = ring_row(&self.dec16, slot, ra, s, n);
                    let [f, cc, rs] = split3(&mut self.fc[(slot * 2 + ra) * 3 * s..(slot * 2 + ra + 1) * 3 * s], s);
                    (k.csf0_fc)(src, lvl.rfactor_q0, &mut f[n.start..n.end], &mut cc[n.start..n.end]);
                    (k.row_sum3)(f, w, c.start..c.end, rs);
                }
            }
            if i >= 1 && lvl.rows.contains(i - 1) {
                self.cm0(&lvl, i - 1, &mut cm);
            }
        }
        if full {
            return LevelSums::default();
        }
        if lvl.rows.contains(lvl.h - 1) {
            self.cm0(&lvl, lvl.h - 1, &mut cm);
        }
        LevelSums { den, num: cm.num, aim: cm.aim }
    }

    fn cm0(&mut self, lvl: &Level, i: usize, cm: &mut CmAccum) {
        let k = self.kernels;
        let s = self.stride;
        let c = lvl.cols;
        let (up, down) = neighbours(i, lvl.h);
        for (ra, acc) in [(R, &mut cm.num), (A, &mut cm.aim)] {
            if ra == A && self.settings.skip_aim {
                continue;
            }
            // The threshold comes from the other half: the additive part
            // masks the restored one (DLM) and vice versa (AIM).
            let other = 1 - ra;
            let thr = &mut self.thr[c.start..c.end];
            let fc_row = |row: usize, kind: usize| {
                let o = ((row % 3 * 2 + other) * 3 + kind) * s;
                &self.fc[o + c.start..o + c.end]
            };
            (k.threshold)(fc_row(up, RS), fc_row(i, RS), fc_row(down, RS), fc_row(i, F), fc_row(i, C), thr);
            let x = ring_row(&self.dec16, i % 3, ra, s, c);
            let r = (k.cm0_row)(x, lvl.rfactor_q0, thr, &lvl.cm);
            for a in 0..3 {
                acc[a] = acc[a].wrapping_add(r[a].wrapping_add(lvl.cm.row_add) >> lvl.cm.row_shift);
            }
        }
    }

    fn level(&mut self, l: usize) -> LevelSums {
        let lvl = self.levels[l].clone();
        let k = self.kernels;
        let s = self.stride;
        let w = lvl.w;
        let (vadd, vshift) = DWT_VERTICAL[l - 1];
        let (hadd, hshift) = DWT_HORIZONTAL[l - 1];
        let mut den = [0u64; 3];
        let mut cm = CmAccum::default();
        for i in 0..lvl.h {
            for img in 0..2 {
                let [lo, hi] = pair(&mut self.tmp32, img);
                let (lo, hi) = (&mut lo[..lvl.in_w], &mut hi[..lvl.in_w]);
                let t = scalar::taps(i, lvl.in_h);
                // The approximation band is transformed in place: output
                // row i only overwrites input rows no later output reads.
                let plane = &self.approx[img];
                (k.dwt_vertical)(t.map(|y| &plane[y * s..y * s + lvl.in_w]), vshift, vadd, lo, hi);
                let a = &mut self.approx[img][i * s..i * s + w];
                let [bh, bv, bd] = split3(&mut self.band32[img * 3 * s..(img + 1) * 3 * s], s);
                (k.dwt_horizontal)(lo, hi, hshift, hadd, 0..w, a, &mut bv[..w], &mut bh[..w], &mut bd[..w]);
            }
            let c = lvl.cols;
            if lvl.rows.contains(i) {
                let o = band_row(&self.band32, 0, s, c);
                let r = (k.den_row)(o, &lvl.den);
                for a in 0..3 {
                    den[a] = den[a].wrapping_add(r[a].wrapping_add(lvl.den.row_add) >> lvl.den.row_shift);
                }
            }
            if lvl.need_rows.contains(i) {
                let n = lvl.need_cols;
                let slot = i % 3;
                let o = band_row(&self.band32, 0, s, n);
                let t = band_row(&self.band32, 1, s, n);
                let [r, a] = split_ring(&mut self.dec32, slot, s, n);
                (k.decouple)(o, t, self.settings.enhn_gain_limit, self.cos_sq, r, a);
                for ra in [R, A] {
                    let src = ring_row(&self.dec32, slot, ra, s, n);
                    let [f, cc, rs] = split3(&mut self.fc[(slot * 2 + ra) * 3 * s..(slot * 2 + ra + 1) * 3 * s], s);
                    (k.csf_fc)(src, lvl.rfactor_q, &mut f[n.start..n.end], &mut cc[n.start..n.end]);
                    (k.row_sum3)(f, w, c.start..c.end, rs);
                }
            }
            if i >= 1 && lvl.rows.contains(i - 1) {
                self.cm(&lvl, i - 1, &mut cm);
            }
        }
        if lvl.rows.contains(lvl.h - 1) {
            self.cm(&lvl, lvl.h - 1, &mut cm);
        }
        LevelSums { den, num: cm.num, aim: cm.aim }
    }

    fn cm(&mut self, lvl: &Level, i: usize, cm: &mut CmAccum) {
        let k = self.kernels;
        let s = self.stride;
        let c = lvl.cols;
        let (up, down) = neighbours(i, lvl.h);
        for (ra, acc) in [(R, &mut cm.num), (A, &mut cm.aim)] {
            if ra == A && self.settings.skip_aim {
                continue;
            }
            let other = 1 - ra;
            let thr = &mut self.thr[c.start..c.end];
            let fc_row = |row: usize, kind: usize| {
                let o = ((row % 3 * 2 + other) * 3 + kind) * s;
                &self.fc[o + c.start..o + c.end]
            };
            (k.threshold)(fc_row(up, RS), fc_row(i, RS), fc_row(down, RS), fc_row(i, F), fc_row(i, C), thr);
            let x = ring_row(&self.dec32, i % 3, ra, s, c);
            let r = (k.cm_row)(x, lvl.rfactor_q, thr, &lvl.cm);
            for a in 0..3 {
                acc[a] = acc[a].wrapping_add(r[a].wrapping_add(lvl.cm.row_add) >> lvl.cm.row_shift);
            }
        }
    }
}

/// Per-angle masking sums of one level: DLM numerator and AIM.
#[derive(Default)]
struct CmAccum {
    num: [i64; 3],
    aim: [i64; 3],
}

/// The widest input of levels 1..3: the level-0 band width.
fn levels_max_in(width: usize) -> usize {
    width.div_ceil(2)
}

/// Rows above and below `i` in the masking window: row -1 reads 1, row
/// `h` reads `h - 1`.
fn neighbours(i: usize, h: usize) -> (usize, usize) {
    (if i == 0 { 1 } else { i - 1 }, if i + 1 == h { i } else { i + 1 })
}

/// The (h, v, d) rows of image `img` in a band-row buffer, columns `c`.
fn band_row<T>(buf: &[T], img: usize, s: usize, c: super::params::Span) -> [&[T]; 3] {
    std::array::from_fn(|a| {
        let o = (img * 3 + a) * s;
        &buf[o + c.start..o + c.end]
    })
}

/// The (h, v, d) rows of half `ra` of ring slot `slot`, columns `c`.
fn ring_row<T>(buf: &[T], slot: usize, ra: usize, s: usize, c: super::params::Span) -> [&[T]; 3] {
    std::array::from_fn(|a| {
        let o = ((slot * 2 + ra) * 3 + a) * s;
        &buf[o + c.start..o + c.end]
    })
}

/// Mutable (r, a) halves of ring slot `slot`, columns `c`.
fn split_ring<T>(buf: &mut [T], slot: usize, s: usize, c: super::params::Span) -> [[&mut [T]; 3]; 2] {
    let (r, a) = buf[slot * 6 * s..(slot + 1) * 6 * s].split_at_mut(3 * s);
    [cut3(r, s, c), cut3(a, s, c)]
}

/// Columns `c` of three consecutive rows of `s` elements.
fn cut3<T>(buf: &mut [T], s: usize, c: super::params::Span) -> [&mut [T]; 3] {
    let [p, q, t] = split3(buf, s);
    [&mut p[c.start..c.end], &mut q[c.start..c.end], &mut t[c.start..c.end]]
}

/// The (lo, hi) vertical-pass rows of image `img`.
fn pair<T>(tmp: &mut [Vec<T>; 4], img: usize) -> [&mut [T]; 2] {
    let (lo, hi) = tmp[2 * img..2 * img + 2].split_at_mut(1);
    [&mut lo[0][..], &mut hi[0][..]]
}

/// Three consecutive rows of `s` elements.
fn split3<T>(buf: &mut [T], s: usize) -> [&mut [T]; 3] {
    let (a, rest) = buf.split_at_mut(s);
    let (b, rest) = rest.split_at_mut(s);
    [a, b, &mut rest[..s]]
}
