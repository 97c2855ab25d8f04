//! The portable reference kernels of `ssimulacra2`: one function per stage,
//! written for reading. Every SIMD kernel must give exactly these values
//! (`x86.rs` is tested against this file), so each step spells out its
//! rounding: `f32` throughout, the expression order given in the comments,
//! no fused multiply-add (Rust never contracts `a * b + c` on its own), and
//! `f64` only where the map terms are divided and summed.
//!
//! Rows are `stride` samples apart; a kernel given a row computes its first
//! `w` samples. The SIMD kernels also fill the padding up to the stride,
//! whose values nothing valid ever reads.

use super::{Acc, Gauss, LinearParams, Ring, EOTF_STEPS, LANES, MAPS, OPSIN};

/// The fork's cube root, a deterministic stand-in for `cbrtf`: a first
/// guess from the bit pattern (the exponent divided by three, plus a bias
/// that centres the mantissa), then two Newton steps on `y^3 = x`,
/// `y <- (2y + x / y^2) / 3`. Zero at and below zero.
#[inline]
pub(super) fn cbrt(x: f32) -> f32 {
    if x <= 0.0 {
        return 0.0;
    }
    let mut y = f32::from_bits(x.to_bits() / 3 + CBRT_MAGIC);
    y = (2.0 * y + x / (y * y)) * ONE_THIRD;
    (2.0 * y + x / (y * y)) * ONE_THIRD
}

/// Bias added to the divided bit pattern for the first cube-root guess.
pub(super) const CBRT_MAGIC: u32 = 0x2a51_37a0;
/// `1/3` rounded to `f32`, as the Newton step multiplies by it.
pub(super) const ONE_THIRD: f32 = 1.0 / 3.0;

/// The sRGB transfer function (IEC 61966-2-1) by table: 0 at and below 0,
/// 1 at and above 1, else the linear interpolation `a + (b - a) * t`
/// between the two table entries around `x * (steps)`.
#[inline]
pub(super) fn eotf(lut: &[f32], x: f32) -> f32 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let pos = x * EOTF_STEPS as f32;
    let i = pos as i32 as usize;
    let t = pos - i as f32;
    let (a, b) = (lut[i], lut[i + 1]);
    a + (b - a) * t
}

/// `v` limited to `[0, 1]` (a NaN would pass through, as in the fork's
/// comparison chain).
#[inline]
fn unit(v: f32) -> f32 {
    v.clamp(0.0, 1.0)
}

/// One row of samples (as `f32`, chroma already upsampled) to linear RGB.
///
/// Samples are scaled by `1 / (2^bpc - 1)`; limited range removes the
/// black level and stretches luma by 255/219 and chroma by 255/224 around
/// 0.5; the inverse YCbCr matrix of the chosen primaries gives
/// `R = Y + cr_r V`, `G = (Y + cb_g U) + cr_g V`, `B = Y + cb_b U`; each is
/// clamped to [0, 1] and linearised with the sRGB curve.
pub(super) fn linear_row(p: &LinearParams, y: &[f32], u: &[f32], v: &[f32], out: [&mut [f32]; 3], w: usize) {
    let [ro, go, bo] = out;
    for x in 0..w {
        let yn = (y[x] * p.inv_peak - p.y_off) * p.y_scale;
        let un = (u[x] * p.inv_peak - p.c_off) * p.c_scale;
        let vn = (v[x] * p.inv_peak - p.c_off) * p.c_scale;
        let r = yn + p.cr_r * vn;
        let g = yn + p.cb_g * un + p.cr_g * vn;
        let b = yn + p.cb_b * un;
        ro[x] = eotf(&p.lut, unit(r));
        go[x] = eotf(&p.lut, unit(g));
        bo[x] = eotf(&p.lut, unit(b));
    }
}

/// Linear RGB to the positive XYB of SSIMULACRA 2, sample by sample over
/// `n` samples.
///
/// The opsin mix gives `l, m, s` (each `((k0 r + k1 g) + k2 b) + bias`,
/// floored at 0); their cube roots minus the root of the bias are `L, M,
/// S`; then `X = (L - M) / 2`, `Y = (L + M) / 2` and libjxl's shift to
/// positive values: `B' = (S - Y) + 0.55`, `X' = 14 X + 0.42`,
/// `Y' = Y + 0.01` (B uses `Y` before its offset).
pub(super) fn xyb(lin: [&[f32]; 3], out: [&mut [f32]; 3], n: usize) {
    let [r, g, b] = lin;
    let [xo, yo, bo] = out;
    let root_bias = cbrt(OPSIN.bias);
    for i in 0..n {
        let mix = |k: [f32; 3]| {
            let v = k[0] * r[i] + k[1] * g[i] + k[2] * b[i] + OPSIN.bias;
            if v < 0.0 {
                0.0
            } else {
                v
            }
        };
        let l = cbrt(mix(OPSIN.l)) - root_bias;
        let m = cbrt(mix(OPSIN.m)) - root_bias;
        let s = cbrt(mix(OPSIN.s)) - root_bias;
        let x = 0.5 * (l - m);
        let y = 0.5 * (l + m);
        bo[i] = (s - y) + 0.55;
        xo[i] = x * 14.0 + 0.42;
        yo[i] = y + 0.01;
    }
}

/// One output row of the 2x2 box downsampling: the mean of each 2x2 block
/// of input rows `r0`, `r1` (`iw` samples), summed as `((a + b) + c) + d`
/// and scaled by 1/4; a last odd column repeats its sample. Writes
/// `(iw + 1) / 2` samples.
pub(super) fn downsample_row(r0: &[f32], r1: &[f32], iw: usize, out: &mut [f32]) {
    downsample_row_from(r0, r1, iw, out, 0);
}

/// [`downsample_row`] from output column `from` on (SIMD kernels finish
/// their rows with it).
pub(super) fn downsample_row_from(r0: &[f32], r1: &[f32], iw: usize, out: &mut [f32], from: usize) {
    let ow = iw.div_ceil(2);
    for (ox, o) in out.iter_mut().enumerate().take(ow).skip(from) {
        let x0 = 2 * ox;
        let x1 = (x0 + 1).min(iw - 1);
        *o = (((r0[x0] + r0[x1]) + r1[x0]) + r1[x1]) * 0.25;
    }
}

/// The value map `m` takes at a sample whose reference and distorted XYB
/// values are `a` and `b`: the five pictures SSIM blurs.
#[inline]
pub(super) fn map_value(m: usize, a: f32, b: f32) -> f32 {
    match m {
        0 => a * a,
        1 => b * b,
        2 => a * b,
        3 => a,
        _ => b,
    }
}

/// One step of the three second-order recursions of the blur, for one
/// pole each: `o_k = n2_k * in - d1_k * prev1_k - prev2_k` (evaluated left
/// to right), where `in` is the sum of the two input samples the filter
/// pairs; returns the filter output `(o_0 + o_1) + o_2` and shifts the
/// state (`prev` holds `prev1` then `prev2` for each pole).
#[inline]
pub(super) fn iir_step(g: &Gauss, input: f32, prev1: &mut [f32; 3], prev2: &mut [f32; 3]) -> f32 {
    let mut o = [0.0f32; 3];
    for k in 0..3 {
        o[k] = g.n2[k] * input - g.d1[k] * prev1[k] - prev2[k];
        prev2[k] = prev1[k];
        prev1[k] = o[k];
    }
    (o[0] + o[1]) + o[2]
}

/// Horizontal pass of the blur over rows `y0..y1` of plane pair `a`
/// (reference) / `b` (distorted), `w` samples wide, for all five maps; row
/// `y` of map `m` goes to the ring.
///
/// The recursive filter of radius `N` is run from output index `1 - N`
/// (warming its state up) to `w - 1`; at index `n` its input is the sum of
/// the samples at `n - N - 1` and `n + N - 1`, zero outside the row, which
/// makes the overall response symmetric about `n`.
#[allow(clippy::too_many_arguments)]
pub(super) fn horizontal(g: &Gauss, a: &[f32], b: &[f32], stride: usize, w: usize, y0: usize, y1: usize, ring: &mut Ring) {
    let r = g.radius as isize;
    let wi = w as isize;
    for y in y0..y1 {
        let (ar, br) = (&a[y * stride..][..w], &b[y * stride..][..w]);
        for m in 0..MAPS {
            let out = ring.row_mut(m, y);
            let at = |i: isize| if (0..wi).contains(&i) { map_value(m, ar[i as usize], br[i as usize]) } else { 0.0 };
            let (mut p1, mut p2) = ([0.0f32; 3], [0.0f32; 3]);
            for n in 1 - r..wi {
                let v = iir_step(g, at(n - r - 1) + at(n + r - 1), &mut p1, &mut p2);
                if n >= 0 {
                    out[n as usize] = v;
                }
            }
        }
    }
}

/// Per-column state of the vertical recursions: for map `m`, pole `k`,
/// `prev1` is row `6m + k`, `prev2` row `6m + 3 + k` (rows `stride` long).
pub(super) const STATE_ROWS: usize = 6 * MAPS;

/// The rows one block of vertical steps `n0 .. n0 + steps` reads: for step
/// `i`, the horizontally blurred rows `n0 + i - N - 1` (`left`) and
/// `n0 + i + N - 1` (`right`) of the five maps, zero rows outside the
/// picture; and, when the block's output rows are scored, their reference
/// and distorted XYB rows. Entries past `steps` are unused.
pub(crate) struct VBlock<'a> {
    pub steps: usize,
    pub left: [[&'a [f32]; MAPS]; LANES],
    pub right: [[&'a [f32]; MAPS]; LANES],
    pub xyb: Option<[[&'a [f32]; 2]; LANES]>,
}

/// Up to [`LANES`] consecutive steps of the vertical pass over every
/// column (see [`VBlock`]). Columns are taken eight at a time: for each map
/// its recursion runs through the block's steps, then, when the block's
/// rows are scored, their SSIM and edge terms are added row by row, each
/// sample `x` to partial sum `x % 8`. This order (blocks of rows, groups of
/// 8 columns, rows, columns) is the one every level sums in.
pub(super) fn vertical(g: &Gauss, blk: &VBlock<'_>, state: &mut [f32], stride: usize, w: usize, acc: &mut Acc) {
    for x0 in (0..w).step_by(LANES) {
        let cols = x0..(x0 + LANES).min(w);
        // tile[m][i][c]: map m, step i, column x0 + c.
        let mut tile = [[[0.0f32; LANES]; LANES]; MAPS];
        for x in cols.clone() {
            for (m, rows) in tile.iter_mut().enumerate() {
                let s = |k: usize| (6 * m + k) * stride + x;
                let mut p1 = [state[s(0)], state[s(1)], state[s(2)]];
                let mut p2 = [state[s(3)], state[s(4)], state[s(5)]];
                for (i, row) in rows.iter_mut().enumerate().take(blk.steps) {
                    row[x - x0] = iir_step(g, blk.left[i][m][x] + blk.right[i][m][x], &mut p1, &mut p2);
                }
                for k in 0..3 {
                    state[s(k)] = p1[k];
                    state[s(3 + k)] = p2[k];
                }
            }
        }
        let Some(xyb) = &blk.xyb else { continue };
        for (i, [a, b]) in xyb.iter().enumerate().take(blk.steps) {
            for x in cols.clone() {
                let c = x - x0;
                let [s11, s22, s12, mu1, mu2] = std::array::from_fn(|m| tile[m][i][c]);
                acc.add(Acc::SSIM, c, ssim_term(mu1, mu2, s11, s22, s12));
                let e = edge_term(a[x], mu1, b[x], mu2);
                acc.add(Acc::ARTIFACT, c, if e > 0.0 { e } else { 0.0 });
                acc.add(Acc::DETAIL_LOSS, c, if e < 0.0 { -e } else { 0.0 });
            }
        }
    }
}

/// SSIMULACRA 2's SSIM error at one sample (no gamma, as in libjxl):
/// `1 - (1 - (mu1 - mu2)^2) * (2 (s12 - mu1 mu2) + C2) / ((s11 - mu1^2) +
/// (s22 - mu2^2) + C2)`, the three factors in `f32`, the product, quotient
/// and difference in `f64`; negative errors count as 0.
#[inline]
pub(super) fn ssim_term(mu1: f32, mu2: f32, s11: f32, s22: f32, s12: f32) -> f64 {
    let (mu11, mu22, mu12) = (mu1 * mu1, mu2 * mu2, mu1 * mu2);
    let diff = mu1 - mu2;
    let num_m = 1.0 - diff * diff;
    let num_s = 2.0 * (s12 - mu12) + super::C2;
    let den_s = (s11 - mu11) + (s22 - mu22) + super::C2;
    let d = 1.0 - (num_m as f64 * num_s as f64) / den_s as f64;
    if d < 0.0 {
        0.0
    } else {
        d
    }
}

/// The signed edge difference at one sample: how much larger the
/// distorted picture's local detail `|b - mu2|` is than the reference's
/// `|a - mu1|`, as `(1 + |b - mu2|) / (1 + |a - mu1|) - 1` in `f64`.
/// Positive values are artifacts (ringing), negative ones lost detail
/// (blur).
#[inline]
pub(super) fn edge_term(a: f32, mu1: f32, b: f32, mu2: f32) -> f64 {
    let e1 = (a as f64 - mu1 as f64).abs();
    let e2 = (b as f64 - mu2 as f64).abs();
    (1.0 + e2) / (1.0 + e1) - 1.0
}
