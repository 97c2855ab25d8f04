//! `ssimulacra2`: Jon Sneyers' SSIMULACRA 2 (libjxl `tools/ssimulacra2`),
//! as the lusoris/vmaf fork of libvmaf scores it on YUV video. One value per
//! frame, `ssimulacra2`: 100 for identical frames, lower for worse ones, not
//! clamped (heavy distortion goes below 0). One option, `yuv_matrix`
//! (0 BT.709 limited range, the default; 1 BT.601 limited; 2 BT.709 full;
//! 3 BT.601 full); it never adds a suffix to the name.
//!
//! The metric, stage by stage (the fork's arithmetic, which this follows
//! operation for operation):
//!
//! 1. **YUV to linear RGB** at full size: samples over `2^bpc - 1`,
//!    nearest-neighbour chroma (column `x * wc / w`, row `y * hc / h`), the
//!    inverse YCbCr matrix, clamp to [0, 1], then the sRGB curve through a
//!    1024-entry table with linear interpolation (built here from the
//!    IEC 61966-2-1 formula, rounded to `f32`).
//! 2. **Six scales**: the first at full size, each next one a 2x2 box
//!    average of the previous scale's linear RGB; a scale narrower or
//!    shorter than 8 samples ends the pyramid.
//! 3. Per scale, **positive XYB** (libjxl's opsin transform; see
//!    [`scalar::xyb`]), and per XYB plane:
//!    * a Gaussian blur (sigma 1.5) of five pictures: `ref²`, `dis²`,
//!      `ref·dis`, `ref`, `dis`. The blur is libjxl's recursive filter
//!      (Charalampidis 2016, "Recursive implementation of the Gaussian
//!      filter using truncated cosine functions"), three second-order
//!      sections run along rows and then down columns, zero outside the
//!      picture ([`Gauss`]);
//!    * per sample, the SSIM error (no luminance gamma) and the edge
//!      difference, split into artifacts (the distorted picture has more
//!      local detail) and detail loss ([`scalar::ssim_term`],
//!      [`scalar::edge_term`]);
//!    * their means (1-norms) and 4th-root means of 4th powers (4-norms).
//! 4. **Score**: the 108 norms (3 planes x 6 scales x 2 norms x 3 maps;
//!    missing scales count 0) weighted by libjxl's published weights,
//!    scaled, put through a cubic and mapped to `100 - 10 x^0.6276`
//!    ([`pool`]).
//!
//! **Determinism.** Every CPU level gives the same bits (the AVX2 kernels
//! of `x86.rs` serve the AVX2 and AVX-512 levels): the kernels do the same
//! `f32`/`f64` operations in the same order (no FMA), and the norm sums, the
//! only place where SIMD would naturally reorder, use one fixed layout:
//! [`LANES`] `f64` partial sums per quantity, sample `(x, y)` going to
//! partial sum `x mod 8`, added in a fixed order (blocks of 8 rows, then
//! groups of 8 columns, then rows; see [`scalar::vertical`]) and combined
//! in a fixed tree ([`Acc::total`]). The fork sums each quantity serially
//! instead (and its SIMD paths differ from its scalar one in the 6th
//! decimal); the two orders differ by rounding only.
//!
//! **Memory.** Everything is sized in `create`: linear RGB and XYB planes
//! at full size (reused by the smaller scales), and, for the blur, a ring of
//! 24 horizontally blurred rows per map plus the per-column state of the
//! vertical recursions: each plane is blurred and scored in one streaming
//! pass, without frame-sized blur outputs.
//!
//! **Input.** 4:0:0 (which the fork cannot read) is scored with every
//! chroma sample at the mid code value `2^(bpc-1)`, as a 4:2:0 copy of it
//! would carry. Samples are scored as given: the fork's own Y4M reader
//! re-sites the chroma of 8-bit `C422` streams before scoring, which our
//! readers do not (the parity test shows both).

pub(crate) mod scalar;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;
#[cfg(test)]
mod tests;

use scalar::VBlock;
use vmaf_core::{
    CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, Geometry, OptionSpec, Picture,
    PictureData, Pixel, Plane, Result,
};

static OPTIONS: &[OptionSpec] = &[OptionSpec::int(
    "yuv_matrix",
    0,
    0,
    3,
    "YUV to RGB matrix: 0=bt709_limited (default), 1=bt601_limited, 2=bt709_full, 3=bt601_full",
)];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "ssimulacra2",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &["ssimulacra2"],
    options: OPTIONS,
    temporal: false,
    create,
    help: "SSIMULACRA 2 perceptual similarity (from the lusoris/vmaf fork)",
};

/// Scales of the pyramid, at most.
const NUM_SCALES: usize = 6;
/// A scale narrower or shorter than this is not scored (nor any after it).
const MIN_SIZE: usize = 8;
/// Standard deviation of the blur, in samples of the current scale.
const SIGMA: f64 = 1.5;
/// Partial sums per norm quantity (see the module docs), and the row
/// padding unit.
pub(crate) const LANES: usize = 8;
/// Pictures blurred per plane: `ref²`, `dis²`, `ref·dis`, `ref`, `dis`.
pub(crate) const MAPS: usize = 5;
/// Horizontally blurred rows kept per map. The vertical block of rows
/// `8k .. 8k + 8` reads rows `8k - 6 ..= 8k + 11` (`n - N - 1` and
/// `n + N - 1`, N = 5), which the horizontal pass provides by finishing
/// rows up to `8k + 15`: 22 rows are live at once.
const RING: usize = 24;
/// SSIM's stabilising constant, in the units of positive XYB.
pub(crate) const C2: f32 = 0.0009;
/// The sRGB table has `EOTF_STEPS + 1` entries, at `i / EOTF_STEPS`.
pub(crate) const EOTF_STEPS: usize = 1023;

/// libjxl's opsin absorbance mix (linear sRGB to the three cone-like
/// responses) and its bias; each row sums to 1.
pub(crate) struct Opsin {
    pub l: [f32; 3],
    pub m: [f32; 3],
    pub s: [f32; 3],
    pub bias: f32,
}

// libjxl's published values, longer than an f32 holds; rounded by the
// compiler exactly as the fork's `f` literals are.
#[allow(clippy::excessive_precision)]
const S0: f32 = 0.243_422_689_245_478_19;
#[allow(clippy::excessive_precision)]
const S1: f32 = 0.204_767_444_244_968_21;
#[allow(clippy::excessive_precision)]
pub(crate) const OPSIN: Opsin = Opsin {
    l: [0.30, 1.0 - 0.30 - 0.078, 0.078],
    m: [0.23, 1.0 - 0.23 - 0.078, 0.078],
    s: [S0, S1, 1.0 - S0 - S1],
    bias: 0.003_793_073_255_275_449_3,
};

/// libjxl's weights of the 108 norms. Row `6 * plane + scale` (planes X, Y,
/// B); in a row, the 1-norms of SSIM error, artifacts and detail loss, then
/// the same three 4-norms.
#[rustfmt::skip]
const WEIGHTS: [[f64; 6]; 18] = [
    [0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0],
    [0.0, 0.0004371155730107379, 0.0, 1.1041726426657346, 0.00066284834129271, 0.00015231632783718752],
    [0.0, 0.0016406437456599754, 0.0, 1.8422455520539298, 11.441172603757666, 0.0],
    [0.0007989109436015163, 0.000176816438078653, 0.0, 1.8787594979546387, 10.94906990605142, 0.0],
    [0.0007289346991508072, 0.9677937080626833, 0.0, 0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053],
    [0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398, 0.0, 0.0],
    [0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262],
    [0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264],
    [225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985],
    [176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408],
    [0.0, 0.0, 0.0, 34.77906344483772, 44.835625328877896, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0008680556573291698, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0],
    [0.0020827005846636437, 0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0],
    [95.1080498811086, 0.9863978034400682, 0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379],
    [0.0, 0.0, 0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537],
];

/// Coefficients of the recursive Gaussian: three second-order sections
/// `o_k[n] = n2_k (x[n - N - 1] + x[n + N - 1]) - d1_k o_k[n - 1] - o_k[n - 2]`
/// whose outputs add up to the blurred signal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Gauss {
    pub n2: [f32; 3],
    pub d1: [f32; 3],
    /// `N`, the half-width of the truncated cosine basis.
    pub radius: usize,
}

/// The determinant of a 3x3 matrix, by cofactors along the first row.
fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

impl Gauss {
    /// Charalampidis' fit of a Gaussian of deviation `sigma` with the
    /// cosines of frequencies `w_k = k pi / (2N)`, `k = 1, 3, 5`, computed
    /// in `f64` as libjxl does (equation numbers are the paper's):
    ///
    /// * the width `N = round(3.2795 sigma + 0.2546)` (57);
    /// * poles `p_k = ±cot(w_k / 2)` (signs +, -, +) (37) and residues
    ///   `r_k = ±p_k² / sin(w_k)` (44);
    /// * `rho_k = exp(-sigma² w_k² / 2) / N`, the Gaussian's spectrum at
    ///   `w_k` (50), and the ratios `zeta_15 = D_35 / D_13`,
    ///   `zeta_35 = D_51 / D_13` of the determinants `D_ij = p_i r_j - r_i p_j`
    ///   (52);
    /// * the weights `beta` from the 3x3 system (rows `p`, `r`, `zeta`;
    ///   right side `1`, `N² - sigma²`, `zeta_15 rho_1 + zeta_35 rho_3 +
    ///   rho_5`) (55), solved by Cramer's rule;
    /// * finally `n2_k = -beta_k cos(w_k (N + 1))` and `d1_k = -2 cos(w_k)`
    ///   (33), rounded to `f32`.
    pub fn new(sigma: f64) -> Self {
        let n = (3.2795 * sigma + 0.2546).round();
        let base = std::f64::consts::PI / (2.0 * n);
        let w = [base, 3.0 * base, 5.0 * base];
        let p = [1.0 / (0.5 * w[0]).tan(), -1.0 / (0.5 * w[1]).tan(), 1.0 / (0.5 * w[2]).tan()];
        let r = [p[0] * p[0] / w[0].sin(), -p[1] * p[1] / w[1].sin(), p[2] * p[2] / w[2].sin()];
        let rho: [f64; 3] = std::array::from_fn(|k| (-0.5 * sigma * sigma * w[k] * w[k]).exp() * (1.0 / n));
        let d13 = p[0] * r[1] - r[0] * p[1];
        let d35 = p[1] * r[2] - r[1] * p[2];
        let d51 = p[2] * r[0] - r[2] * p[0];
        let (z15, z35) = (d35 * (1.0 / d13), d51 * (1.0 / d13));
        let a = [p, r, [z15, z35, 1.0]];
        let rhs = [1.0, n * n - sigma * sigma, z15 * rho[0] + z35 * rho[1] + rho[2]];
        let inv_det = 1.0 / det3(&a);
        let beta: [f64; 3] = std::array::from_fn(|col| {
            let mut m = a;
            for (row, v) in m.iter_mut().zip(rhs) {
                row[col] = v;
            }
            det3(&m) * inv_det
        });
        Gauss {
            n2: std::array::from_fn(|k| (-beta[k] * (w[k] * (n + 1.0)).cos()) as f32),
            d1: std::array::from_fn(|k| (-2.0 * w[k].cos()) as f32),
            radius: n as usize,
        }
    }
}

/// The sRGB decoding curve, `v / 12.92` up to 0.04045 and
/// `((v + 0.055) / 1.055)^2.4` above, sampled at `i / EOTF_STEPS` in
/// `f64` and rounded to `f32`: the fork's table, entry for entry.
pub(crate) fn eotf_table() -> Vec<f32> {
    (0..=EOTF_STEPS)
        .map(|i| {
            let v = i as f64 / EOTF_STEPS as f64;
            let lin = if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) };
            lin as f32
        })
        .collect()
}

/// Everything the YUV to linear RGB step needs, derived once.
#[derive(Clone, Debug)]
pub(crate) struct LinearParams {
    pub inv_peak: f32,
    pub y_off: f32,
    pub y_scale: f32,
    pub c_off: f32,
    pub c_scale: f32,
    pub cr_r: f32,
    pub cb_g: f32,
    pub cr_g: f32,
    pub cb_b: f32,
    pub lut: Vec<f32>,
}

impl LinearParams {
    /// For `yuv_matrix` (0..=3, see the module docs) at `bpc` bits. With
    /// luma weights `kr`, `kg`, `kb` the inverse YCbCr matrix is
    /// `R = Y + 2(1 - kr) V`, `B = Y + 2(1 - kb) U`,
    /// `G = Y - 2 kb (1 - kb) / kg U - 2 kr (1 - kr) / kg V`, all in `f32`.
    pub fn new(matrix: i32, bpc: u8) -> Self {
        let limited = matches!(matrix, 0 | 1);
        let (kr, kg, kb): (f32, f32, f32) = if matches!(matrix, 0 | 2) {
            (0.2126, 0.7152, 0.0722)
        } else {
            (0.299, 0.587, 0.114)
        };
        LinearParams {
            inv_peak: 1.0 / ((1u32 << bpc) - 1) as f32,
            y_off: if limited { 16.0 / 255.0 } else { 0.0 },
            y_scale: if limited { 255.0 / 219.0 } else { 1.0 },
            c_off: 0.5,
            c_scale: if limited { 255.0 / 224.0 } else { 1.0 },
            cr_r: 2.0 * (1.0 - kr),
            cb_b: 2.0 * (1.0 - kb),
            cb_g: -(2.0 * kb * (1.0 - kb)) / kg,
            cr_g: -(2.0 * kr * (1.0 - kr)) / kg,
            lut: eotf_table(),
        }
    }
}

/// The norm sums of one plane: per quantity ([`Acc::SSIM`],
/// [`Acc::ARTIFACT`], [`Acc::DETAIL_LOSS`]) the sum of values (index
/// `2q`) and of 4th powers (`2q + 1`), each as [`LANES`] partial sums.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Acc {
    pub sums: [[f64; LANES]; 6],
}

impl Acc {
    pub const SSIM: usize = 0;
    pub const ARTIFACT: usize = 1;
    pub const DETAIL_LOSS: usize = 2;

    /// Adds `v` and `v^4` (computed as `(v·v)·(v·v)`) to partial sum `lane`
    /// of quantity `q`.
    #[inline]
    pub fn add(&mut self, q: usize, lane: usize, v: f64) {
        let sq = v * v;
        self.sums[2 * q][lane] += v;
        self.sums[2 * q + 1][lane] += sq * sq;
    }

    /// The whole sum `i`: the partial sums added pairwise,
    /// `((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))`.
    pub fn total(&self, i: usize) -> f64 {
        let s = &self.sums[i];
        ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    }
}

/// Horizontally blurred rows of the five maps, row `y` in slot `y % RING`.
#[derive(Debug)]
pub(crate) struct Ring {
    data: Vec<f32>,
    /// Row length at the current scale.
    stride: usize,
}

impl Ring {
    fn new(max_stride: usize) -> Self {
        Ring { data: vec![0.0; MAPS * RING * max_stride], stride: max_stride }
    }
    fn offset(&self, m: usize, y: usize) -> usize {
        (m * RING + y % RING) * self.stride
    }
    pub fn row(&self, m: usize, y: usize) -> &[f32] {
        &self.data[self.offset(m, y)..][..self.stride]
    }
    pub fn row_mut(&mut self, m: usize, y: usize) -> &mut [f32] {
        let o = self.offset(m, y);
        &mut self.data[o..][..self.stride]
    }
    /// Start of row `y` of map `m`, for SIMD stores of whole rows.
    #[cfg(target_arch = "x86_64")]
    pub fn row_ptr(&mut self, m: usize, y: usize) -> *mut f32 {
        self.row_mut(m, y).as_mut_ptr()
    }
}

/// Work space of the SIMD horizontal pass: 8 rows transposed so that each
/// column is one vector (with zero columns either side), two maps' output
/// in the same layout, and a zero row standing in for rows past the end.
#[derive(Debug)]
pub(crate) struct HScratch {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub out: [Vec<f32>; 2],
    pub zero: Vec<f32>,
}

/// Zero columns kept left of the transposed rows: the filter's first step
/// (output index `1 - N`) reads column `-2N`; 16 covers `N` up to 8.
pub(crate) const HPAD_LEFT: usize = 16;

impl HScratch {
    fn new(max_stride: usize) -> Self {
        let cols = HPAD_LEFT + max_stride + LANES;
        HScratch {
            a: vec![0.0; cols * LANES],
            b: vec![0.0; cols * LANES],
            out: [vec![0.0; max_stride * LANES], vec![0.0; max_stride * LANES]],
            zero: vec![0.0; max_stride],
        }
    }
}

/// The kernels of one CPU level; every level gives the same bits.
pub(crate) trait Kernels: Sync {
    /// [`scalar::linear_row`]; may also write the row's padding.
    fn linear_row(&self, p: &LinearParams, y: &[f32], u: &[f32], v: &[f32], out: [&mut [f32]; 3], w: usize);
    /// [`scalar::xyb`].
    fn xyb(&self, lin: [&[f32]; 3], out: [&mut [f32]; 3], n: usize);
    /// [`scalar::downsample_row`].
    fn downsample_row(&self, r0: &[f32], r1: &[f32], iw: usize, out: &mut [f32]);
    /// [`scalar::horizontal`], for at most [`LANES`] rows.
    #[allow(clippy::too_many_arguments)]
    fn horizontal(
        &self,
        g: &Gauss,
        a: &[f32],
        b: &[f32],
        stride: usize,
        w: usize,
        y0: usize,
        y1: usize,
        ring: &mut Ring,
        t: &mut HScratch,
    );
    /// [`scalar::vertical`]; may also update the padding's state.
    fn vertical(&self, g: &Gauss, blk: &VBlock<'_>, state: &mut [f32], stride: usize, w: usize, acc: &mut Acc);
}

/// The reference kernels.
pub(crate) struct Scalar;

impl Kernels for Scalar {
    fn linear_row(&self, p: &LinearParams, y: &[f32], u: &[f32], v: &[f32], out: [&mut [f32]; 3], w: usize) {
        scalar::linear_row(p, y, u, v, out, w)
    }
    fn xyb(&self, lin: [&[f32]; 3], out: [&mut [f32]; 3], n: usize) {
        scalar::xyb(lin, out, n)
    }
    fn downsample_row(&self, r0: &[f32], r1: &[f32], iw: usize, out: &mut [f32]) {
        scalar::downsample_row(r0, r1, iw, out)
    }
    fn horizontal(
        &self,
        g: &Gauss,
        a: &[f32],
        b: &[f32],
        stride: usize,
        w: usize,
        y0: usize,
        y1: usize,
        ring: &mut Ring,
        _t: &mut HScratch,
    ) {
        scalar::horizontal(g, a, b, stride, w, y0, y1, ring)
    }
    fn vertical(&self, g: &Gauss, blk: &VBlock<'_>, state: &mut [f32], stride: usize, w: usize, acc: &mut Acc) {
        scalar::vertical(g, blk, state, stride, w, acc)
    }
}

/// The kernels of a CPU level: AVX2 for every level above scalar, when the
/// CPU has it.
pub(crate) fn kernels_for(level: CpuLevel) -> &'static dyn Kernels {
    match level {
        CpuLevel::Scalar => &Scalar,
        #[cfg(target_arch = "x86_64")]
        _ => match x86::Avx2::detect() {
            Some(k) => k,
            None => &Scalar,
        },
        #[cfg(not(target_arch = "x86_64"))]
        _ => &Scalar,
    }
}

/// How chroma columns (or rows) map to luma ones: the fork's nearest
/// neighbour, `x * wc / w` (shortcuts for equal and half size), clamped.
fn chroma_index(x: usize, luma: usize, chroma: usize) -> usize {
    let i = if chroma == luma {
        x
    } else if chroma * 2 == luma {
        x >> 1
    } else {
        (x as u64 * chroma as u64 / luma as u64) as usize
    };
    i.min(chroma.saturating_sub(1))
}

/// The chroma column map of a row, with the two common cases recognised so
/// that upsampling them is a plain copy or a plain duplication.
#[derive(Debug)]
enum ChromaCols {
    Same,
    Half,
    Table(Vec<u32>),
}

impl ChromaCols {
    fn new(w: usize, wc: usize) -> Self {
        let map: Vec<u32> = (0..w).map(|x| chroma_index(x, w, wc) as u32).collect();
        if map.iter().enumerate().all(|(x, &c)| c as usize == x) {
            ChromaCols::Same
        } else if map.iter().enumerate().all(|(x, &c)| c as usize == x >> 1) {
            ChromaCols::Half
        } else {
            ChromaCols::Table(map)
        }
    }

    /// Fills `out[..w]` with the chroma row `src`, upsampled, as `f32`.
    fn fill<T: Pixel>(&self, src: &[T], out: &mut [f32], w: usize) {
        let out = &mut out[..w];
        match self {
            ChromaCols::Same => {
                for (o, &s) in out.iter_mut().zip(src) {
                    *o = sample(s);
                }
            }
            ChromaCols::Half => {
                let mut pairs = out.chunks_exact_mut(2);
                for (o, &s) in (&mut pairs).zip(src) {
                    let v = sample(s);
                    o[0] = v;
                    o[1] = v;
                }
                if let [last] = pairs.into_remainder() {
                    *last = sample(src[(w - 1) >> 1]);
                }
            }
            ChromaCols::Table(map) => {
                for (o, &c) in out.iter_mut().zip(map) {
                    *o = sample(src[c as usize]);
                }
            }
        }
    }
}

#[inline]
fn sample<T: Pixel>(s: T) -> f32 {
    let v: u32 = s.into();
    v as f32
}

/// Size of a scale: `w` x `h` samples, rows `stride` apart (`w` rounded up
/// to a multiple of [`LANES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dims {
    w: usize,
    h: usize,
    stride: usize,
}

impl Dims {
    fn new(w: usize, h: usize) -> Self {
        Dims { w, h, stride: w.div_ceil(LANES) * LANES }
    }
}

/// The 1- and 4-norms of one scale: per plane SSIM (1, 4), and artifact
/// (1, 4) then detail loss (1, 4).
#[derive(Clone, Copy, Debug, Default)]
struct ScaleNorms {
    ssim: [[f64; 2]; 3],
    edge: [[f64; 4]; 3],
}

/// The final score from the norms of the first `norms.len()` scales.
///
/// The weighted sum of the norms' magnitudes is scaled by 0.9562382616834844,
/// mapped through `2.326765642916932 x - 0.020884521182843837 x² +
/// 6.248496625763138e-05 x³`, and turned into `100 - 10 x^0.6276336467831387`
/// (100 when not positive).
fn pool(norms: &[ScaleNorms]) -> f64 {
    let mut x = 0.0f64;
    for c in 0..3 {
        for scale in 0..NUM_SCALES {
            let wts = &WEIGHTS[c * NUM_SCALES + scale];
            for n in 0..2 {
                let (s, a, d) = match norms.get(scale) {
                    Some(v) => (v.ssim[c][n], v.edge[c][n], v.edge[c][n + 2]),
                    None => (0.0, 0.0, 0.0),
                };
                x += wts[3 * n] * s.abs();
                x += wts[3 * n + 1] * a.abs();
                x += wts[3 * n + 2] * d.abs();
            }
        }
    }
    x *= 0.9562382616834844;
    x = 2.326765642916932 * x - 0.020884521182843837 * x * x + 6.248496625763138e-05 * x * x * x;
    if x > 0.0 {
        100.0 - 10.0 * x.powf(0.6276336467831387)
    } else {
        100.0
    }
}

/// The work buffers, all sized for the full-size scale.
struct Buffers {
    /// Linear RGB planes of the reference (0) and distorted (1) picture.
    lin: [[Vec<f32>; 3]; 2],
    /// Their positive XYB planes at the current scale.
    xyb: [[Vec<f32>; 3]; 2],
    /// One row of Y, U, V samples as `f32` (chroma upsampled).
    rows: [Vec<f32>; 3],
    /// One output row of the downsampling.
    down: Vec<f32>,
    ring: Ring,
    /// Vertical recursion state, [`scalar::STATE_ROWS`] rows.
    state: Vec<f32>,
    /// Stands in for rows outside the picture.
    zero: Vec<f32>,
    hscratch: HScratch,
}

struct Ssimulacra2 {
    names: Vec<String>,
    kernels: &'static dyn Kernels,
    geometry: Geometry,
    full: Dims,
    params: LinearParams,
    gauss: Gauss,
    chroma_cols: ChromaCols,
    /// Chroma row of each luma row.
    chroma_rows: Vec<u32>,
    buf: Buffers,
    last: vmaf_core::PendingScore,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    Ok(Box::new(Ssimulacra2::new(args.geometry, args.options.int("yuv_matrix"), kernels_for(args.cpu_level))?))
}

/// A zeroed picture-sized buffer; an error, not an abort, when the sizes
/// a header asked for cannot be had.
fn zeroed_plane(n: usize) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::Extractor {
        feature: SPEC.name.into(),
        msg: format!("cannot allocate work space for {n} samples"),
    })?;
    v.resize(n, 0.0);
    Ok(v)
}

impl Ssimulacra2 {
    fn new(geometry: Geometry, matrix: i32, kernels: &'static dyn Kernels) -> Result<Self> {
        let full = Dims::new(geometry.width as usize, geometry.height as usize);
        let (wc, hc) = geometry.plane_size(1);
        let (wc, hc) = (wc as usize, hc as usize);
        let plane = full.stride * full.h;
        let planes = || -> Result<[Vec<f32>; 3]> { Ok([zeroed_plane(plane)?, zeroed_plane(plane)?, zeroed_plane(plane)?]) };
        let mut rows: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0f32; full.stride]);
        if wc == 0 {
            // 4:0:0: chroma rows stay at the mid code value for good.
            let mid = (1u32 << (geometry.bit_depth - 1)) as f32;
            rows[1].fill(mid);
            rows[2].fill(mid);
        }
        Ok(Ssimulacra2 {
            names: vec![SPEC.name.to_owned()],
            kernels,
            geometry,
            full,
            params: LinearParams::new(matrix, geometry.bit_depth),
            gauss: Gauss::new(SIGMA),
            chroma_cols: ChromaCols::new(full.w, wc.max(1)),
            chroma_rows: (0..full.h).map(|y| chroma_index(y, full.h, hc.max(1)) as u32).collect(),
            buf: Buffers {
                lin: [planes()?, planes()?],
                xyb: [planes()?, planes()?],
                rows,
                down: vec![0.0; full.stride],
                ring: Ring::new(full.stride),
                state: vec![0.0; scalar::STATE_ROWS * full.stride],
                zero: vec![0.0; full.stride],
                hscratch: HScratch::new(full.stride),
            },
            last: vmaf_core::PendingScore::default(),
        })
    }

    /// Converts picture `img` (0 reference, 1 distorted) to linear RGB.
    fn convert_to_linear(&mut self, pic: &Picture, img: usize) {
        match pic.data() {
            PictureData::U8(p) => self.convert_to_linear_from(p, img),
            PictureData::U16(p) => self.convert_to_linear_from(p, img),
        }
    }

    /// Fills row `y` of picture `img`'s positive XYB planes from its linear
    /// RGB (rows `stride` long), right after that row was written, while it
    /// is still in cache.
    fn xyb_row(&mut self, img: usize, y: usize, stride: usize) {
        let at = y * stride;
        let [r, g, b] = &self.buf.lin[img];
        let [x, yy, bb] = &mut self.buf.xyb[img];
        self.kernels.xyb(
            [&r[at..at + stride], &g[at..at + stride], &b[at..at + stride]],
            [&mut x[at..at + stride], &mut yy[at..at + stride], &mut bb[at..at + stride]],
            stride,
        );
    }

    fn convert_to_linear_from<T: Pixel>(&mut self, planes: &[Plane<T>; 3], img: usize) {
        let Dims { w, h, stride } = self.full;
        let chroma = self.geometry.plane_count() == 3;
        for y in 0..h {
            let Buffers { lin, rows, .. } = &mut self.buf;
            let [yr, ur, vr] = rows;
            let [r, g, b] = &mut lin[img];
            for (o, &s) in yr[..w].iter_mut().zip(planes[0].row(y)) {
                *o = sample(s);
            }
            if chroma {
                let cy = self.chroma_rows[y] as usize;
                self.chroma_cols.fill(planes[1].row(cy), ur, w);
                self.chroma_cols.fill(planes[2].row(cy), vr, w);
            }
            let at = y * stride;
            self.kernels.linear_row(
                &self.params,
                yr,
                ur,
                vr,
                [&mut r[at..at + stride], &mut g[at..at + stride], &mut b[at..at + stride]],
                w,
            );
            self.xyb_row(img, y, stride);
        }
    }

    /// Halves both pictures' linear RGB from size `d`, in place (each output
    /// row lands before the input rows still to be read), and fills the
    /// new scale's XYB planes row by row.
    fn downsample(&mut self, d: Dims) -> Dims {
        let n = Dims::new(d.w.div_ceil(2), d.h.div_ceil(2));
        for img in 0..2 {
            for oy in 0..n.h {
                let y0 = 2 * oy;
                let y1 = (y0 + 1).min(d.h - 1);
                let Buffers { lin, down, .. } = &mut self.buf;
                for plane in lin[img].iter_mut() {
                    let (r0, r1) = (&plane[y0 * d.stride..][..d.w], &plane[y1 * d.stride..][..d.w]);
                    self.kernels.downsample_row(r0, r1, d.w, down);
                    plane[oy * n.stride..][..n.w].copy_from_slice(&down[..n.w]);
                }
                self.xyb_row(img, oy, n.stride);
            }
        }
        n
    }

    /// Blurs plane `c` of the current scale's XYB pictures and returns its
    /// norm sums. The vertical pass runs in blocks of 8 output rows (after
    /// `N - 1` warm-up steps), each scoring its rows; just before a block,
    /// the horizontal pass fills the ring up to the last row the block
    /// reads, 8 rows at a time.
    fn plane_sums(&mut self, c: usize, d: Dims) -> Acc {
        let Buffers { xyb, ring, state, zero, hscratch, .. } = &mut self.buf;
        let (a, b) = (&xyb[0][c][..], &xyb[1][c][..]);
        let k = self.kernels;
        let g = &self.gauss;
        ring.stride = d.stride;
        state.fill(0.0);
        let mut acc = Acc::default();
        let r = g.radius as isize;
        // One warm-up block of N - 1 steps, and the ring's reach (above).
        debug_assert!(g.radius <= LANES + 1 && RING >= 2 * LANES + 2 * g.radius - 4);
        let h = d.h as isize;
        let zero = &zero[..d.stride];
        let mut next = 0usize;
        let mut n0 = 1 - r;
        while n0 < h {
            // The warm-up block ends at row 0; the others are 8 rows.
            let n1 = if n0 < 0 { 0 } else { (n0 + LANES as isize).min(h) };
            let last_read = n1 - 1 + r - 1;
            while (next as isize) <= last_read && next < d.h {
                let end = (next + LANES).min(d.h);
                k.horizontal(g, a, b, d.stride, d.w, next, end, ring, hscratch);
                next = end;
            }
            let ring = &*ring;
            let pick = |y: isize| -> [&[f32]; MAPS] {
                std::array::from_fn(|m| if (0..h).contains(&y) { ring.row(m, y as usize) } else { zero })
            };
            let steps = (n1 - n0) as usize;
            let blk = VBlock {
                steps,
                left: std::array::from_fn(|i| pick(n0 + i as isize - r - 1)),
                right: std::array::from_fn(|i| pick(n0 + i as isize + r - 1)),
                xyb: (n0 >= 0).then(|| {
                    std::array::from_fn(|i| {
                        let at = (n0 as usize + i) * d.stride;
                        if i < steps {
                            [&a[at..at + d.stride], &b[at..at + d.stride]]
                        } else {
                            [zero, zero]
                        }
                    })
                }),
            };
            k.vertical(g, &blk, state, d.stride, d.w, &mut acc);
            n0 = n1;
        }
        acc
    }

    /// The score of one picture pair. XYB planes are filled as the linear
    /// RGB of each scale is made.
    fn score(&mut self, reference: &Picture, distorted: &Picture) -> f64 {
        self.convert_to_linear(reference, 0);
        self.convert_to_linear(distorted, 1);
        let mut norms = [ScaleNorms::default(); NUM_SCALES];
        let mut done = 0;
        let mut d = self.full;
        #[allow(clippy::needless_range_loop)]
        for scale in 0..NUM_SCALES {
            if d.w < MIN_SIZE || d.h < MIN_SIZE {
                break;
            }
            let per_sample = 1.0 / (d.w * d.h) as f64;
            for c in 0..3 {
                let acc = self.plane_sums(c, d);
                let mean = |i: usize| per_sample * acc.total(i);
                let norm4 = |i: usize| (per_sample * acc.total(i)).sqrt().sqrt();
                norms[scale].ssim[c] = [mean(0), norm4(1)];
                norms[scale].edge[c] = [mean(2), norm4(3), mean(4), norm4(5)];
            }
            done += 1;
            if scale + 1 < NUM_SCALES {
                d = self.downsample(d);
            }
        }
        pool(&norms[..done])
    }
}

impl Extractor for Ssimulacra2 {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        for p in [frame.reference, frame.distorted] {
            if *p.geometry() != self.geometry {
                return Err(Error::Mismatch(format!(
                    "picture is {:?}, the ssimulacra2 extractor was made for {:?}",
                    p.geometry(),
                    self.geometry
                )));
            }
        }
        let s = self.score(frame.reference, frame.distorted);
        self.last.set(frame.index, s);
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        self.last.report(index, 0, sink);
        Ok(())
    }
}
