//! `float_vif`: libvmaf's floating-point Visual Information Fidelity, the
//! `vif_scale0..3` features of the `vmaf_float_*` models.
//!
//! The same four-scale VIF as the integer `vif` extractor, computed in
//! single precision on samples offset by -128 (high bit depths scaled to
//! 8-bit range), with Gaussian filters generated from the kernel scale and
//! libvmaf's polynomial log2. Options add an optional resampling of the
//! picture first (`vif_prescale`, `vif_prescale_method`), other kernel
//! sizes, a noise variance, a gain limit and per-scale floors.
//!
//! Operations follow libvmaf's order exactly (taps in order, separate
//! multiply and add, float sums per row), so results agree to float
//! rounding. Edges are mirrored without repeating the edge sample; where a
//! picture is smaller than the filter, libvmaf reads outside its buffers
//! and we keep folding the mirror instead.

pub(crate) mod prescale;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use vmaf_core::{
    CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, OptionSpec, PictureData, Result,
};

use prescale::Method;

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool("debug", false, "debug mode: enable additional output"),
    OptionSpec::double(
        "vif_enhn_gain_limit",
        100.0,
        1.0,
        100.0,
        "enhancement gain imposed on vif, must be >= 1.0, where 1.0 means the gain is completely disabled",
    )
    .param("egl"),
    OptionSpec::double(
        "vif_kernelscale",
        1.0,
        0.1,
        4.0,
        "scaling factor for the gaussian kernel (2.0 means multiplying the standard deviation by 2 and enlarge the kernel size accordingly",
    )
    .param("ks"),
    OptionSpec::double(
        "vif_prescale",
        1.0,
        0.1,
        4.0,
        "scaling factor for the frame (2.0 means making the image twice as large on each dimension)",
    )
    .param("ps"),
    OptionSpec::double("vif_scale1_min_val", 0.0, 0.0, 1.0, "minimum value allowed; smaller values will be set to this value")
        .param("s1miv"),
    OptionSpec::double("vif_scale2_min_val", 0.0, 0.0, 1.0, "minimum value allowed; smaller values will be set to this value")
        .param("s2miv"),
    OptionSpec::double("vif_scale3_min_val", 0.0, 0.0, 1.0, "minimum value allowed; smaller values will be set to this value")
        .param("s3miv"),
    OptionSpec::string(
        "vif_prescale_method",
        "nearest",
        "scaling method for the frame, supported options: [nearest, bilinear, bicubic, lanczos4]",
    )
    .param("pm"),
    OptionSpec::double("vif_sigma_nsq", 2.0, 0.0, 5.0, "neural noise variance").param("snsq"),
    OptionSpec::bool("vif_skip_scale0", false, "when set, skip scale 0 calculations").param("ssclz"),
];

const SCALE_NAMES: [&str; 4] = [
    "VMAF_feature_vif_scale0_score",
    "VMAF_feature_vif_scale1_score",
    "VMAF_feature_vif_scale2_score",
    "VMAF_feature_vif_scale3_score",
];

/// Written only with `debug`, in this order after the four scale scores.
const DEBUG_NAMES: [&str; 11] = [
    "vif",
    "vif_num",
    "vif_den",
    "vif_num_scale0",
    "vif_den_scale0",
    "vif_num_scale1",
    "vif_den_scale1",
    "vif_num_scale2",
    "vif_den_scale2",
    "vif_num_scale3",
    "vif_den_scale3",
];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "float_vif",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &[
        SCALE_NAMES[0],
        SCALE_NAMES[1],
        SCALE_NAMES[2],
        SCALE_NAMES[3],
        DEBUG_NAMES[0],
        DEBUG_NAMES[1],
        DEBUG_NAMES[2],
        DEBUG_NAMES[3],
        DEBUG_NAMES[4],
        DEBUG_NAMES[5],
        DEBUG_NAMES[6],
        DEBUG_NAMES[7],
        DEBUG_NAMES[8],
        DEBUG_NAMES[9],
        DEBUG_NAMES[10],
    ],
    options: OPTIONS,
    temporal: false,
    create,
    help: "floating-point visual information fidelity at four scales (vif_scale0..3)",
};

/// Kernel scales libvmaf accepts (to within 1e-3).
pub(crate) const VALID_KERNELSCALES: [f32; 21] = [
    1.0,
    1.0 / 2.0,
    3.0 / 2.0,
    2.0,
    2.0 / 3.0,
    24.0 / 10.0,
    360.0 / 97.0,
    4.0 / 3.0,
    3.5 / 3.0,
    3.75 / 3.0,
    4.25 / 3.0,
    5.0 / 3.0,
    3.0,
    1.0 / 2.25,
    1.4746,
    1.54,
    1.6,
    1.06667,
    0.711111,
    0.740740,
    1.111111,
];

/// A normalised Gaussian filter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Filter {
    pub taps: Vec<f32>,
}

impl Filter {
    /// libvmaf's filter of `scale`: an odd width of about
    /// `(2^(4-scale) + 1) * kernelscale` (at least 3) and a standard
    /// deviation of a fifth of it, mixing float and double as libvmaf does.
    pub(crate) fn new(scale: usize, kernelscale: f32) -> Self {
        let width = Self::width(scale, kernelscale);
        Self::gaussian(width, width as f32 / 5.0)
    }

    /// libvmaf's filter width at `scale` (also used by SpEED's filters).
    pub(crate) fn width(scale: usize, kernelscale: f32) -> usize {
        let n = ((1 << (4 - scale)) + 1) as f32;
        let mut width = (n * kernelscale).ceil() as i32;
        if width % 2 == 0 {
            width += 1;
        }
        width.max(3) as usize
    }

    /// A normalised Gaussian of odd `width` and standard deviation `stdev`.
    pub(crate) fn gaussian(width: usize, stdev: f32) -> Self {
        let k = (width / 2) as i32;
        let pdf = |x: f32| {
            let num = (-0.5 * x as f64 / stdev as f64 * x as f64 / stdev as f64).exp() as f32;
            let den = (1.0 / (stdev as f64 * (2.0 * std::f64::consts::PI).sqrt())) as f32;
            num / den
        };
        let mut taps: Vec<f32> = (0..width as i32).map(|i| pdf((i - k) as f32)).collect();
        let mut sum = 0f32;
        for &t in &taps {
            sum += t;
        }
        for t in &mut taps {
            *t /= sum;
        }
        Filter { taps }
    }

    pub fn radius(&self) -> usize {
        self.taps.len() / 2
    }
}

/// Which real row (or column) each position `-radius..n+radius` reads
/// (at index `p + radius`): a mirror about the first and last sample,
/// folded again while it falls outside (libvmaf mirrors once and reads
/// outside its buffers when the picture is smaller than the filter).
#[derive(Clone, Debug, Default)]
pub(crate) struct Mirror(Vec<usize>);

impl Mirror {
    fn new(n: usize, radius: usize) -> Self {
        if n == 0 {
            return Mirror(Vec::new());
        }
        let last = n as isize - 1;
        Mirror(
            (-(radius as isize)..n as isize + radius as isize)
                .map(|mut p| {
                    if last == 0 {
                        return 0;
                    }
                    loop {
                        if p < 0 {
                            p = -p;
                        } else if p > last {
                            p = 2 * last - p;
                        } else {
                            return p as usize;
                        }
                    }
                })
                .collect(),
        )
    }

    #[inline]
    pub fn at(&self, p: usize) -> usize {
        self.0[p]
    }
}

/// A picture of floats with row stride `w`.
#[derive(Clone, Copy)]
pub(crate) struct Plane32<'a> {
    pub data: &'a [f32],
    pub w: usize,
    pub h: usize,
}

impl Plane32<'_> {
    #[inline]
    pub fn at(&self, row: usize, col: usize) -> f32 {
        self.data[row * self.w + col]
    }
}

/// Edge maps of one scale.
struct ScaleGeom {
    w: usize,
    h: usize,
    /// For this scale's statistic (this scale's filter on this scale).
    rows: Mirror,
    cols: Mirror,
    /// For making this scale (this scale's filter on the previous one);
    /// empty at scale 0.
    dec_rows: Mirror,
    dec_cols: Mirror,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernels {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

/// Everything a frame needs besides the pictures; sized in [`create`].
pub(crate) struct Work {
    kernels: Kernels,
    filters: [Filter; 4],
    scales: [ScaleGeom; 4],
    consts: scalar::StatConsts,
    /// Input size and the (pre)scaled size the VIF runs on.
    in_w: usize,
    in_h: usize,
    prescale: Option<Method>,
    /// Pictures as floats: input and, with prescaling, scaled.
    input: [Vec<f32>; 2],
    scaled: [Vec<f32>; 2],
    /// Decimated pictures of scales 1..3.
    images: [[Vec<f32>; 2]; 3],
    /// One filtered row for the decimation.
    tmp: Vec<f32>,
    scalar: scalar::Buffers,
    #[cfg(target_arch = "x86_64")]
    simd: x86::Buffers,
}

impl Work {
    #[allow(clippy::too_many_arguments)]
    fn new(
        in_w: usize,
        in_h: usize,
        kernelscale: f64,
        prescale: f64,
        method: Method,
        sigma_nsq: f64,
        gain_limit: f64,
        level: CpuLevel,
    ) -> Result<Self> {
        let ks = kernelscale as f32;
        if !VALID_KERNELSCALES.iter().any(|v| (ks - v).abs() < 1e-3) {
            return Err(Error::BadOptionValue {
                feature: "float_vif".into(),
                option: "vif_kernelscale".into(),
                value: format!("{kernelscale}"),
                expected: format!(
                    "one of {}",
                    VALID_KERNELSCALES.iter().map(|v| format!("{v:.6}")).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let (w, h) = ((in_w as f64 * prescale + 0.5) as usize, (in_h as f64 * prescale + 0.5) as usize);
        let prescale = (w != in_w || h != in_h).then_some(method);
        let filters: [Filter; 4] = std::array::from_fn(|s| Filter::new(s, ks));
        let dims: [(usize, usize); 4] = std::array::from_fn(|s| (w >> s, h >> s));
        let scales = std::array::from_fn(|s| {
            let (sw, sh) = dims[s];
            let r = filters[s].radius();
            let (dec_rows, dec_cols) = if s == 0 {
                (Mirror::default(), Mirror::default())
            } else {
                (Mirror::new(dims[s - 1].1, r), Mirror::new(dims[s - 1].0, r))
            };
            ScaleGeom { w: sw, h: sh, rows: Mirror::new(sh, r), cols: Mirror::new(sw, r), dec_rows, dec_cols }
        });
        let kernels = match level {
            #[cfg(target_arch = "x86_64")]
            CpuLevel::Avx2 | CpuLevel::Avx512 if x86::available() => Kernels::Avx2,
            _ => Kernels::Scalar,
        };
        let images = std::array::from_fn(|s| {
            let (iw, ih) = dims[s + 1];
            [vec![0f32; iw * ih], vec![0f32; iw * ih]]
        });
        let scaled_len = if prescale.is_some() { w * h } else { 0 };
        Ok(Work {
            kernels,
            consts: scalar::StatConsts::new(sigma_nsq, gain_limit),
            scales,
            filters,
            in_w,
            in_h,
            prescale,
            input: [vec![0f32; in_w * in_h], vec![0f32; in_w * in_h]],
            scaled: [vec![0f32; scaled_len], vec![0f32; scaled_len]],
            images,
            tmp: vec![0f32; w],
            scalar: scalar::Buffers::new(if kernels == Kernels::Scalar { w } else { 0 }),
            #[cfg(target_arch = "x86_64")]
            simd: x86::Buffers::new(if kernels == Kernels::Scalar { 0 } else { w }),
        })
    }

    /// Converts a luma plane to floats offset by -128, high bit depths
    /// divided down to the 8-bit range first (as libvmaf does).
    fn load(&mut self, data: &PictureData, which: usize, bpc: u8) {
        let out = &mut self.input[which];
        let w = self.in_w;
        match data {
            PictureData::U8(p) => {
                for (o, row) in out.chunks_exact_mut(w).zip(p[0].rows()) {
                    for (o, &v) in o.iter_mut().zip(row) {
                        *o = v as f32 + -128.0;
                    }
                }
            }
            PictureData::U16(p) => {
                let scaler = (1u32 << (bpc - 8)) as f32;
                for (o, row) in out.chunks_exact_mut(w).zip(p[0].rows()) {
                    for (o, &v) in o.iter_mut().zip(row) {
                        *o = v as f32 / scaler + -128.0;
                    }
                }
            }
        }
    }

    /// Numerator and denominator of every scale (scale 0 left at zero when
    /// skipped).
    fn compute(&mut self, skip_scale0: bool) -> [(f32, f32); 4] {
        if let Some(m) = self.prescale {
            let (w, h) = (self.scales[0].w, self.scales[0].h);
            for k in 0..2 {
                prescale::scale(m, &self.input[k], self.in_w, self.in_h, &mut self.scaled[k], w, h);
            }
        }
        let mut out = [(0f32, 0f32); 4];
        let base = if self.prescale.is_some() { &self.scaled } else { &self.input };
        let (w0, h0) = (self.scales[0].w, self.scales[0].h);
        let mut images = std::mem::take(&mut self.images);
        for s in (if skip_scale0 { 1 } else { 0 })..4 {
            let g = &self.scales[s];
            let f = &self.filters[s];
            let (r, d) = if s == 0 {
                (plane(&base[0], w0, h0), plane(&base[1], w0, h0))
            } else {
                // This scale is the previous one filtered with this scale's
                // filter, decimated.
                let (pw, ph) = (self.scales[s - 1].w, self.scales[s - 1].h);
                let (done, rest) = images.split_at_mut(s - 1);
                let prev: [&[f32]; 2] = if s == 1 { [&base[0], &base[1]] } else { [&done[s - 2][0], &done[s - 2][1]] };
                for k in 0..2 {
                    let src = plane(prev[k], pw, ph);
                    match self.kernels {
                        Kernels::Scalar => {
                            scalar::decimate(f, &src, &g.dec_rows, &g.dec_cols, &mut rest[0][k], &mut self.tmp)
                        }
                        #[cfg(target_arch = "x86_64")]
                        Kernels::Avx2 => {
                            x86::decimate(f, &src, &g.dec_rows, &g.dec_cols, &mut rest[0][k], &mut self.simd)
                        }
                    }
                }
                (plane(&images[s - 1][0], g.w, g.h), plane(&images[s - 1][1], g.w, g.h))
            };
            out[s] = match self.kernels {
                Kernels::Scalar => scalar::statistic(f, &r, &d, &g.rows, &g.cols, &self.consts, &mut self.scalar),
                #[cfg(target_arch = "x86_64")]
                Kernels::Avx2 => x86::statistic(f, &r, &d, &g.rows, &g.cols, &self.consts, &mut self.simd),
            };
        }
        self.images = images;
        out
    }
}

fn plane(v: &[f32], w: usize, h: usize) -> Plane32<'_> {
    Plane32 { data: &v[..w * h], w, h }
}

struct FloatVif {
    names: Vec<String>,
    debug: bool,
    skip_scale0: bool,
    min_val: [f64; 4],
    work: Work,
    last: Option<(u32, [(f32, f32); 4])>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let o = args.options;
    let g = args.geometry;
    let method_name = o.str("vif_prescale_method");
    let method = Method::parse(method_name).ok_or_else(|| Error::BadOptionValue {
        feature: "float_vif".into(),
        option: "vif_prescale_method".into(),
        value: method_name.to_owned(),
        expected: "one of nearest, bilinear, bicubic, lanczos4".into(),
    })?;
    let debug = o.bool("debug");
    let names =
        SCALE_NAMES.iter().chain(if debug { &DEBUG_NAMES[..] } else { &[] }).map(|n| o.feature_name(n)).collect();
    let work = Work::new(
        g.width as usize,
        g.height as usize,
        o.double("vif_kernelscale"),
        o.double("vif_prescale"),
        method,
        o.double("vif_sigma_nsq"),
        o.double("vif_enhn_gain_limit"),
        args.cpu_level,
    )?;
    Ok(Box::new(FloatVif {
        names,
        debug,
        skip_scale0: o.bool("vif_skip_scale0"),
        min_val: [0.0, o.double("vif_scale1_min_val"), o.double("vif_scale2_min_val"), o.double("vif_scale3_min_val")],
        work,
        last: None,
    }))
}

impl Extractor for FloatVif {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let bpc = frame.reference.bit_depth();
        if frame.distorted.bit_depth() != bpc {
            return Err(Error::Mismatch("reference and distorted pictures have different bit depths".into()));
        }
        self.work.load(frame.reference.data(), 0, bpc);
        self.work.load(frame.distorted.data(), 1, bpc);
        let nd = self.work.compute(self.skip_scale0);
        self.last = Some((frame.index, nd));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        let Some((i, nd)) = self.last.take() else { return Ok(()) };
        debug_assert_eq!(i, index);
        for (s, &(num, den)) in nd.iter().enumerate() {
            // libvmaf divides the float sums in double precision.
            let score = if s == 0 && self.skip_scale0 {
                0.0
            } else {
                let v = num as f64 / den as f64;
                if v > self.min_val[s] || s == 0 {
                    v
                } else {
                    self.min_val[s]
                }
            };
            sink.put(s, i, score);
        }
        if !self.debug {
            return Ok(());
        }
        let first = if self.skip_scale0 { 1 } else { 0 };
        let score_num: f64 = nd[first..].iter().map(|x| x.0 as f64).sum();
        let score_den: f64 = nd[first..].iter().map(|x| x.1 as f64).sum();
        let score = if score_den == 0.0 { 1.0 } else { score_num / score_den };
        sink.put(4, i, score);
        sink.put(5, i, score_num);
        sink.put(6, i, score_den);
        for (s, &(num, den)) in nd.iter().enumerate() {
            let (num, den) = if s == 0 && self.skip_scale0 { (0.0, -1.0) } else { (num as f64, den as f64) };
            sink.put(7 + 2 * s, i, num);
            sink.put(8 + 2 * s, i, den);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
