//! The SSIM machinery shared by `float_ssim` and `float_ms_ssim`: libvmaf's
//! IQA code (Tom Distler's IQA library as Netflix modified it), rebuilt so
//! that every value comes out the same, and the portable reference kernels.
//!
//! What libvmaf computes, and therefore what this reproduces exactly:
//!
//! * **Conversion**: luma samples become `f32`; deeper than 8 bits they are
//!   divided by `2^(bpc - 8)` (exact), so every depth lands on the 8-bit
//!   scale the constants below assume.
//! * **Decimation** ([`Decimator`]): output `(x, y)` is the 2-D kernel
//!   applied at input `(f·x, f·y)`, with mirrored borders (`-1 → 0`,
//!   `w → w - 1`); the output is `w / f + (w & 1)` wide (the parity term
//!   is libvmaf's, whatever `f` is). Each product `sample · tap` is rounded
//!   to `f32` and added to an `f64` sum, row of taps by row of taps, and the
//!   sum is rounded to `f32`.
//! * **Local statistics**: an 11-tap Gaussian (σ = 1.5), applied along rows
//!   and then down columns, only where the window fits inside the picture,
//!   so the SSIM map is 10 samples smaller each way. Both passes round each
//!   product to `f32`, sum in `f64` and round the sum to `f32`. They run on
//!   the two pictures and on the three product pictures `ref²`, `dis²` and
//!   `ref·dis` (products in `f32`).
//! * **Per sample** ([`ssim_terms`]): variances and covariance in `f32`,
//!   variances floored at 0; luminance and contrast as `f64` quotients,
//!   structure as an `f32` quotient (with the covariance clamped to 0 where
//!   it is negative and the product of the deviations is zero, so flat
//!   identical areas score 1); `ssim = l · c · s`.
//! * **Means**: `f64` sums over the map in row-major order, divided by the
//!   sample count and rounded to `f32`.
//!
//! The horizontal pass, the vertical pass and the per-sample terms are
//! kernels of [`Kernels`] (with one decimation output row), run one map row
//! at a time through a ring of 11 horizontally filtered rows, so nothing
//! frame-sized is needed beyond the pictures themselves. libvmaf decimates
//! `float_ssim`'s pictures in place; a test shows its order never reads an
//! overwritten sample, so decimating into a separate buffer is the same. The sums are added strictly in sample order at
//! every CPU level: SIMD versions compute the terms side by side and add
//! them one by one, and so stay bit-identical to this file and to libvmaf.

/// Width of the Gaussian window.
pub const WIN: usize = 11;

/// libvmaf's 1-D Gaussian window (σ = 1.5), as it writes the taps.
pub const GAUSSIAN: [f32; WIN] = [
    0.001028, 0.007599, 0.036001, 0.109361, 0.213006, 0.266012, 0.213006, 0.109361, 0.036001,
    0.007599, 0.001028,
];

// Stabilising constants for an 8-bit dynamic range: (K·L)², K1 = 0.01,
// K2 = 0.03, L = 255, evaluated in f32 as libvmaf does.
const K1L: f32 = 0.01 * 255.0;
const K2L: f32 = 0.03 * 255.0;
pub const C1: f32 = K1L * K1L;
pub const C2: f32 = K2L * K2L;
pub const C3: f32 = C2 / 2.0;

/// Which sums a caller needs. Each costs a serial chain of `f64` adds per
/// sample, so unused ones are skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Want {
    /// The SSIM sum (`l · c · s` per sample).
    pub ssim: bool,
    /// The luminance, contrast and structure sums.
    pub lcs: bool,
}

/// Running sums over an SSIM map.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sums {
    pub ssim: f64,
    pub l: f64,
    pub c: f64,
    pub s: f64,
}

impl Sums {
    /// Adds one sample's terms, in libvmaf's order.
    #[inline]
    pub fn add(&mut self, want: Want, t: Terms) {
        if want.ssim {
            self.ssim += t.ssim;
        }
        if want.lcs {
            self.l += t.l;
            self.c += t.c;
            self.s += t.s;
        }
    }
}

/// Mean SSIM and mean luminance, contrast and structure of one map, each
/// rounded to `f32` as libvmaf returns them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Means {
    pub ssim: f32,
    pub l: f32,
    pub c: f32,
    pub s: f32,
}

/// The terms of one sample of the SSIM map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Terms {
    pub ssim: f64,
    pub l: f64,
    pub c: f64,
    pub s: f64,
}

/// SSIM terms of one sample from its filtered moments: means `mu1`, `mu2`,
/// filtered squares `s11`, `s22` and filtered cross product `s12`. The
/// types of every step are libvmaf's (C promotes `2.0 * f` to double).
#[inline]
pub fn ssim_terms(mu1: f32, mu2: f32, s11: f32, s22: f32, s12: f32) -> Terms {
    // `0 > v ? 0 : v`: a NaN stays NaN and -0 stays -0, as in C's MAX.
    let floor0 = |v: f32| if 0.0 > v { 0.0 } else { v };
    let var1 = floor0(s11 - mu1 * mu1);
    let var2 = floor0(s22 - mu2 * mu2);
    let cov = s12 - mu1 * mu2;
    // sqrt of the f32 product in double, rounded back to f32, is the f32
    // square root exactly.
    let sd12 = (var1 * var2).sqrt();
    let l = (2.0 * mu1 as f64 * mu2 as f64 + C1 as f64) / (mu1 * mu1 + mu2 * mu2 + C1) as f64;
    let c = (2.0 * sd12 as f64 + C2 as f64) / (var1 + var2 + C2) as f64;
    let cov = if cov < 0.0 && sd12 <= 0.0 { 0.0 } else { cov };
    let s = ((cov + C3) / (sd12 + C3)) as f64;
    Terms {
        ssim: l * c * s,
        l,
        c,
        s,
    }
}

/// Row kernels of one instruction-set level. Each output sample must be
/// bit-identical to the scalar version.
pub trait Kernels: Sync {
    /// Horizontal Gaussian pass of one picture row pair (`r`, `d`, both
    /// `w` long) into five rows of `w - 10` in `out`, in this order: `r`,
    /// `d`, `r²`, `d²`, `r·d`.
    fn moments_row(&self, r: &[f32], d: &[f32], out: &mut [f32]);
    /// Vertical Gaussian pass: `out[i]` from `rows[0][i] .. rows[10][i]`.
    fn vertical(&self, rows: &[&[f32]; WIN], out: &mut [f32]);
    /// Adds the SSIM terms of one row of filtered moments (five rows of
    /// `dw`, laid out as [`Kernels::moments_row`] writes them) to `sums`,
    /// sample by sample.
    fn stats_row(&self, m: &[f32], dw: usize, want: Want, sums: &mut Sums);
    /// One output row of a decimation; see [`DecimateRow`].
    fn decimate_row(&self, p: &DecimateRow<'_>, out: &mut [f32]);
}

/// The inputs of one decimation output row. The source rows are stored
/// split into `f` phases (`phase[p][j] = padded[f·j + p]`), so that the
/// samples under one tap, for consecutive outputs, are contiguous.
pub struct DecimateRow<'a> {
    /// Every source row, split.
    pub split: &'a [f32],
    /// Start in `split` of the source row under each kernel row.
    pub rows: &'a [usize],
    /// Offset, within a split row, of the sample under kernel column `u`
    /// for output 0; output `x` reads `x` further on.
    pub taps: &'a [usize],
    /// Square kernel, `n` × `n` (`n = taps.len()`), row-major.
    pub kernel: &'a [f32],
}

impl DecimateRow<'_> {
    /// Output sample `x`, the reference definition.
    #[inline]
    pub fn sample(&self, x: usize) -> f32 {
        let n = self.taps.len();
        let mut sum = 0.0f64;
        for (&row, k) in self.rows.iter().zip(self.kernel.chunks_exact(n)) {
            for (&t, &k) in self.taps.iter().zip(k) {
                sum += (self.split[row + t + x] * k) as f64;
            }
        }
        sum as f32
    }
}

/// The portable kernels.
pub struct Scalar;

/// `(f32) Σ_k (f64)(src[k] · GAUSSIAN[k])`, the sum in tap order.
#[inline]
fn gauss(src: impl Iterator<Item = f32>) -> f32 {
    let mut sum = 0.0f64;
    for (x, g) in src.zip(GAUSSIAN) {
        sum += (x * g) as f64;
    }
    sum as f32
}

/// Horizontal pass of samples `from..` of one row pair; the SIMD kernels
/// finish their rows with it.
pub fn moments_row_from(r: &[f32], d: &[f32], out: &mut [f32], from: usize) {
    let dw = r.len() + 1 - WIN;
    for x in from..dw {
        let (r, d) = (&r[x..x + WIN], &d[x..x + WIN]);
        out[x] = gauss(r.iter().copied());
        out[dw + x] = gauss(d.iter().copied());
        out[2 * dw + x] = gauss(r.iter().map(|a| a * a));
        out[3 * dw + x] = gauss(d.iter().map(|b| b * b));
        out[4 * dw + x] = gauss(r.iter().zip(d).map(|(a, b)| a * b));
    }
}

/// Vertical pass of samples `from..`.
pub fn vertical_from(rows: &[&[f32]; WIN], out: &mut [f32], from: usize) {
    for (i, o) in out.iter_mut().enumerate().skip(from) {
        *o = gauss(rows.iter().map(|r| r[i]));
    }
}

/// Terms of samples `from..dw` of a moments row, added in order.
pub fn stats_row_from(m: &[f32], dw: usize, want: Want, sums: &mut Sums, from: usize) {
    for x in from..dw {
        let t = ssim_terms(m[x], m[dw + x], m[2 * dw + x], m[3 * dw + x], m[4 * dw + x]);
        sums.add(want, t);
    }
}

impl Kernels for Scalar {
    fn moments_row(&self, r: &[f32], d: &[f32], out: &mut [f32]) {
        moments_row_from(r, d, out, 0);
    }
    fn vertical(&self, rows: &[&[f32]; WIN], out: &mut [f32]) {
        vertical_from(rows, out, 0);
    }
    fn stats_row(&self, m: &[f32], dw: usize, want: Want, sums: &mut Sums) {
        stats_row_from(m, dw, want, sums, 0);
    }
    fn decimate_row(&self, p: &DecimateRow<'_>, out: &mut [f32]) {
        for (x, o) in out.iter_mut().enumerate() {
            *o = p.sample(x);
        }
    }
}

/// Mean SSIM of two pictures (`w` × `h`, rows `w` apart), with buffers for
/// pictures up to a width fixed at construction.
pub struct SsimMap {
    max_w: usize,
    /// Eleven horizontally filtered rows of moments, five rows each.
    ring: Vec<f32>,
    /// One row of fully filtered moments.
    moments: Vec<f32>,
}

impl SsimMap {
    pub fn new(max_w: usize) -> Self {
        let dw = max_w.saturating_sub(WIN - 1);
        SsimMap {
            max_w,
            ring: vec![0.0; WIN * 5 * dw],
            moments: vec![0.0; 5 * dw],
        }
    }

    /// libvmaf's `_iqa_ssim` with default parameters and an 11×11 Gaussian.
    pub fn run(
        &mut self,
        k: &dyn Kernels,
        r: &[f32],
        d: &[f32],
        w: usize,
        h: usize,
        want: Want,
    ) -> Means {
        assert!(w <= self.max_w && r.len() >= w * h && d.len() >= w * h);
        let mut sums = Sums::default();
        if w >= WIN && h >= WIN {
            let dw = w + 1 - WIN;
            let row = 5 * dw;
            for y in 0..h {
                let slot = y % WIN;
                let (rr, dd) = (&r[y * w..(y + 1) * w], &d[y * w..(y + 1) * w]);
                k.moments_row(rr, dd, &mut self.ring[slot * row..(slot + 1) * row]);
                if y + 1 >= WIN {
                    let top = y + 1 - WIN;
                    let ring = &self.ring;
                    let rows: [&[f32]; WIN] = std::array::from_fn(|t| {
                        let s = (top + t) % WIN;
                        &ring[s * row..(s + 1) * row]
                    });
                    k.vertical(&rows, &mut self.moments[..row]);
                    k.stats_row(&self.moments[..row], dw, want, &mut sums);
                }
            }
        }
        // The map is (w - 10) × (h - 10). libvmaf divides by that product
        // in int arithmetic even when a side is not positive (the sums are
        // then 0): 0/0 gives NaN, a negative count -0. Reproduced as is.
        let n = ((w as i64 - 10) * (h as i64 - 10)) as f64;
        Means {
            ssim: (sums.ssim / n) as f32,
            l: (sums.l / n) as f32,
            c: (sums.c / n) as f32,
            s: (sums.s / n) as f32,
        }
    }
}

/// libvmaf's symmetric border for an index `i` of a line of `n` samples:
/// one reflection, duplicating the edge sample. `None` when a single
/// reflection does not land inside (libvmaf would read outside the line).
pub fn reflect(i: isize, n: usize) -> Option<usize> {
    let n = n as isize;
    let j = if i < 0 {
        -1 - i
    } else if i >= n {
        2 * n - i - 1
    } else {
        i
    };
    (0..n).contains(&j).then_some(j as usize)
}

/// Output size of libvmaf's decimation of `n` samples by `f`.
pub fn decimated_len(n: usize, f: usize) -> usize {
    n / f + (n & 1)
}

/// A stretch of a split row copied from a source row: `len` samples from
/// column `src` on, `step` apart, to offset `dst`.
#[derive(Clone, Copy, Debug)]
struct Run {
    dst: usize,
    src: usize,
    len: usize,
    step: usize,
}

/// A decimation plan for one input size: libvmaf's `_iqa_decimate` with a
/// square `n`×`n` kernel and factor `f`, buffers included.
pub struct Decimator {
    kernel: Vec<f32>,
    n: usize,
    w: usize,
    pub out_w: usize,
    pub out_h: usize,
    /// Length of one split row (`f` phases).
    row_len: usize,
    /// How a source row fills a split row: runs of samples `f` apart in
    /// the interior, single samples where the border mirrors.
    runs: Vec<Run>,
    /// See [`DecimateRow::taps`].
    taps: Vec<usize>,
    /// For each output row, the split-row starts of its `n` source rows.
    row_starts: Vec<usize>,
    split: Vec<f32>,
}

impl Decimator {
    /// Plans the decimation of a `w`×`h` picture. Fails when the kernel
    /// reaches further outside the picture than one mirror image covers
    /// (libvmaf would read outside the picture there).
    pub fn new(w: usize, h: usize, f: usize, kernel: Vec<f32>, n: usize) -> Result<Self, String> {
        assert!(f >= 1 && n >= 1 && kernel.len() == n * n);
        let (out_w, out_h) = (decimated_len(w, f), decimated_len(h, f));
        let mut plan = Decimator {
            kernel,
            n,
            w,
            out_w,
            out_h,
            row_len: 0,
            runs: Vec::new(),
            taps: Vec::new(),
            row_starts: Vec::new(),
            split: Vec::new(),
        };
        if out_w == 0 || out_h == 0 {
            // Nothing to compute and nothing read (a factor above the side
            // of an even-sized picture).
            return Ok(plan);
        }
        let c = (n / 2) as isize;
        let too_small =
            || format!("a {w}x{h} picture is too small to decimate by {f} with a {n}x{n} kernel");
        // Padded position `pos` is source column `pos - n/2`, mirrored. The
        // kernel centred on f·x reads positions f·x .. f·x + n - 1, which
        // lie in phase `pos % f` at index `pos / f`.
        let phase_len = out_w - 1 + n.div_ceil(f);
        let needed = f * (out_w - 1) + n;
        for p in 0..f {
            for j in 0..phase_len {
                let pos = f * j + p;
                if pos >= needed {
                    break;
                }
                let src = reflect(pos as isize - c, w).ok_or_else(too_small)?;
                let dst = p * phase_len + j;
                match plan.runs.last_mut() {
                    Some(r) if r.dst + r.len == dst && r.src + r.len * f == src => r.len += 1,
                    _ => plan.runs.push(Run {
                        dst,
                        src,
                        len: 1,
                        step: f,
                    }),
                }
            }
        }
        plan.taps = (0..n).map(|u| (u % f) * phase_len + u / f).collect();
        plan.row_len = f * phase_len;
        plan.row_starts.reserve(out_h * n);
        for y in 0..out_h {
            for v in 0..n {
                let src = reflect((f * y + v) as isize - c, h).ok_or_else(too_small)?;
                plan.row_starts.push(src * plan.row_len);
            }
        }
        plan.split = vec![0.0; h * plan.row_len];
        Ok(plan)
    }

    /// The box kernel `float_ssim` decimates with: `f`×`f` taps of
    /// `1 / f²`, rounded to `f32`.
    pub fn box_kernel(f: usize) -> Vec<f32> {
        vec![1.0f32 / (f * f) as f32; f * f]
    }

    /// Decimates `src` (`w`×`h`, rows `w` apart) into `dst` (rows `out_w`
    /// apart).
    pub fn run(&mut self, k: &dyn Kernels, src: &[f32], dst: &mut [f32]) {
        if self.out_w == 0 || self.out_h == 0 {
            return;
        }
        for (s, out) in src
            .chunks_exact(self.w)
            .zip(self.split.chunks_exact_mut(self.row_len))
        {
            for r in &self.runs {
                let out = &mut out[r.dst..r.dst + r.len];
                let from = &s[r.src..r.src + (r.len - 1) * r.step + 1];
                if r.step == 2 {
                    // The halving of MS-SSIM: a plain deinterleave.
                    for (o, pair) in out.iter_mut().zip(from.chunks(2)) {
                        *o = pair[0];
                    }
                } else {
                    for (k, o) in out.iter_mut().enumerate() {
                        *o = from[k * r.step];
                    }
                }
            }
        }
        for (y, out) in dst
            .chunks_exact_mut(self.out_w)
            .take(self.out_h)
            .enumerate()
        {
            let p = DecimateRow {
                split: &self.split,
                rows: &self.row_starts[y * self.n..(y + 1) * self.n],
                taps: &self.taps,
                kernel: &self.kernel,
            };
            k.decimate_row(&p, out);
        }
    }
}

/// Converts a luma plane to `f32` on libvmaf's 8-bit scale, rows `w` apart.
pub fn convert<T: vmaf_core::Pixel>(src: &vmaf_core::Plane<T>, bpc: u32, dst: &mut [f32]) {
    // libvmaf divides by 2^(bpc - 8); multiplying by the inverse power of
    // two is the same operation.
    let inv = 1.0 / (1u32 << (bpc - 8)) as f32;
    let w = src.width();
    for (row, out) in src.rows().zip(dst.chunks_exact_mut(w.max(1))) {
        for (o, &s) in out.iter_mut().zip(row) {
            let v: u32 = s.into();
            *o = v as f32 * inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libvmaf's two-pass Gaussian written out directly on a whole picture.
    fn direct_filter(img: &[f32], w: usize, h: usize) -> Vec<f32> {
        let dw = w - 10;
        let mut tmp = vec![0.0f32; w * h];
        for y in 0..h {
            for x in 0..dw {
                let mut s = 0.0f64;
                for k in 0..WIN {
                    s += (img[y * w + x + k] * GAUSSIAN[k]) as f64;
                }
                tmp[y * w + x] = s as f32;
            }
        }
        let mut out = vec![0.0f32; dw * (h - 10)];
        for y in 0..h - 10 {
            for x in 0..dw {
                let mut s = 0.0f64;
                for k in 0..WIN {
                    s += (tmp[(y + k) * w + x] * GAUSSIAN[k]) as f64;
                }
                out[y * dw + x] = s as f32;
            }
        }
        out
    }

    fn pattern(w: usize, h: usize, seed: usize) -> Vec<f32> {
        (0..w * h)
            .map(|i| (((i + seed) * 2654435761usize) % 256) as f32)
            .collect()
    }

    #[test]
    fn ssim_map_matches_the_whole_picture_definition() {
        for (w, h) in [(11usize, 11usize), (12, 19), (23, 14), (40, 33)] {
            let r = pattern(w, h, 1);
            let d: Vec<f32> = r
                .iter()
                .enumerate()
                .map(|(i, v)| (v + (i % 7) as f32 * 3.0).min(255.0))
                .collect();
            let sq = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).collect::<Vec<_>>();
            let (mu1, mu2) = (direct_filter(&r, w, h), direct_filter(&d, w, h));
            let (s11, s22, s12) = (
                direct_filter(&sq(&r, &r), w, h),
                direct_filter(&sq(&d, &d), w, h),
                direct_filter(&sq(&r, &d), w, h),
            );
            let all = Want {
                ssim: true,
                lcs: true,
            };
            let mut want = Sums::default();
            for i in 0..mu1.len() {
                want.add(all, ssim_terms(mu1[i], mu2[i], s11[i], s22[i], s12[i]));
            }
            let n = mu1.len() as f64;
            let got = SsimMap::new(w).run(&Scalar, &r, &d, w, h, all);
            assert_eq!(got.ssim, (want.ssim / n) as f32, "{w}x{h}");
            assert_eq!(got.l, (want.l / n) as f32);
            assert_eq!(got.c, (want.c / n) as f32);
            assert_eq!(got.s, (want.s / n) as f32);
        }
    }

    #[test]
    fn identical_pictures_score_one() {
        for (w, h) in [(11usize, 11usize), (30, 17)] {
            let r = pattern(w, h, 3);
            let flat = vec![77.0f32; w * h];
            for img in [&r, &flat] {
                let m = SsimMap::new(w).run(
                    &Scalar,
                    img,
                    img,
                    w,
                    h,
                    Want {
                        ssim: true,
                        lcs: true,
                    },
                );
                assert!((m.ssim - 1.0).abs() < 1e-6, "{}", m.ssim);
                assert!(
                    (m.l - 1.0).abs() < 1e-6
                        && (m.c - 1.0).abs() < 1e-6
                        && (m.s - 1.0).abs() < 1e-6
                );
            }
        }
    }

    #[test]
    fn too_small_maps_divide_like_libvmaf() {
        let img = vec![1.0f32; 10 * 30];
        let want = Want {
            ssim: true,
            lcs: true,
        };
        // 10 wide: a 0-wide map, 0 / 0.
        assert!(SsimMap::new(10)
            .run(&Scalar, &img, &img, 10, 30, want)
            .ssim
            .is_nan());
        // 5 wide, 5 high: (-5)·(-5) = 25 samples, 0 / 25.
        let m = SsimMap::new(5).run(&Scalar, &img, &img, 5, 5, want);
        assert_eq!(m.ssim.to_bits(), 0.0f32.to_bits());
        // 5 wide, 30 high: a negative count, -0.
        let m = SsimMap::new(5).run(&Scalar, &img, &img, 5, 30, want);
        assert_eq!(m.ssim.to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn reflection_is_libvmafs() {
        assert_eq!(reflect(-1, 5), Some(0));
        assert_eq!(reflect(-3, 5), Some(2));
        assert_eq!(reflect(5, 5), Some(4));
        assert_eq!(reflect(7, 5), Some(2));
        assert_eq!(reflect(-3, 2), None);
        assert_eq!(reflect(4, 2), None);
    }

    /// libvmaf decimates `float_ssim`'s pictures in place, writing outputs
    /// over the samples it is reading from; the plan reads a separate copy.
    /// This checks, for every factor and many small sizes, that the in-place
    /// order never reads a sample it has already overwritten.
    #[test]
    fn in_place_decimation_equals_out_of_place() {
        for f in 2..=10usize {
            for w in 1..=40usize {
                for h in 1..=24usize {
                    let Ok(mut plan) = Decimator::new(w, h, f, Decimator::box_kernel(f), f) else {
                        continue;
                    };
                    let img = pattern(w, h, f + w);
                    let mut out = vec![0.0f32; plan.out_w * plan.out_h];
                    plan.run(&Scalar, &img, &mut out);
                    // libvmaf's loop, literally in place.
                    let mut buf = img.clone();
                    let c = (f / 2) as isize;
                    for y in 0..plan.out_h {
                        for x in 0..plan.out_w {
                            let mut s = 0.0f64;
                            for v in 0..f {
                                for u in 0..f {
                                    let yy = reflect((f * y + v) as isize - c, h).unwrap();
                                    let xx = reflect((f * x + u) as isize - c, w).unwrap();
                                    s += (buf[yy * w + xx] * plan.kernel[v * f + u]) as f64;
                                }
                            }
                            buf[y * plan.out_w + x] = s as f32;
                        }
                    }
                    assert_eq!(&buf[..out.len()], &out[..], "f={f} {w}x{h}");
                }
            }
        }
    }

    #[test]
    fn decimation_sizes_and_refusals() {
        assert_eq!(decimated_len(1920, 4), 480);
        assert_eq!(decimated_len(577, 3), 193);
        assert_eq!(decimated_len(323, 3), 108);
        assert_eq!(decimated_len(135, 2), 68);
        // A 4-tap box at the left edge of a 1-sample line reaches 2 outside.
        assert!(Decimator::new(1, 8, 4, Decimator::box_kernel(4), 4).is_err());
        assert!(Decimator::new(8, 8, 4, Decimator::box_kernel(4), 4).is_ok());
    }

    #[test]
    #[allow(clippy::excessive_precision)]
    fn constants_are_libvmafs() {
        // The values a C compiler gives `(0.01f * 255) * (0.01f * 255)` etc.
        assert_eq!(C1 as f64, 6.5024995803833008);
        assert_eq!(C2 as f64, 58.522495269775391);
        assert_eq!(C3 as f64, 29.261247634887695);
    }
}
