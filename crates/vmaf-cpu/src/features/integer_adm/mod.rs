//! `adm`: libvmaf's fixed-point Additive Detail Metric (integer_adm2,
//! integer_aim, integer_adm3 and the per-scale ratios integer_adm_scale0..3).
//!
//! ADM splits a four-level Daubechies-2 wavelet decomposition of the
//! distorted luma into what is restored from the reference and what was
//! added; it weights both by a contrast sensitivity function, masks the
//! restored detail by the additive impairment (DLM, reported as adm2) and
//! the additive impairment by the restored detail (AIM), and divides by the
//! reference's own CSF-weighted energy. The arithmetic is libvmaf's
//! fixed point, bit for bit: every rounding shift, truncation and table
//! lookup is reproduced, so the scores equal libvmaf's at every printed
//! digit.
//!
//! - `params.rs`: CSF factors and per-level shifts, computed at creation;
//! - `compute.rs`: the row-streaming pipeline over the four levels;
//! - `scalar.rs`: reference row kernels;
//! - `x86.rs`: AVX2 and AVX-512 row kernels, tested equal to the scalar ones.

mod compute;
pub mod params;
pub(crate) mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use vmaf_core::{
    CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, Geometry, OptionSpec, Options,
    Picture, PictureData, Result,
};

use compute::{Kernels, Luma, Pipeline};
pub use compute::{level_scores, LevelScores, LevelSums, Settings, DWT_HORIZONTAL, DWT_VERTICAL};
use params::{CsfMode, Level, Viewing};

pub static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool("debug", false, "debug mode: enable additional output"),
    OptionSpec::double(
        "adm_csf_scale",
        1.0,
        0.0,
        50.0,
        "scale coefficient for the horizontal & vertical direction terms of CSF",
    )
    .param("scf"),
    OptionSpec::double("adm_csf_diag_scale", 1.0, 0.0, 50.0, "scale coefficient for the diagonal direction term of CSF")
        .param("scfd"),
    OptionSpec::double("adm_dlm_weight", 0.5, 0.0, 1.0, "linear weighting between DLM and AIM; 1 corresponds to DLM-only")
        .param("dlmw"),
    OptionSpec::double(
        "adm_enhn_gain_limit",
        100.0,
        1.0,
        100.0,
        "enhancement gain imposed on adm, must be >= 1.0, where 1.0 means the gain is completely disabled",
    )
    .param("egl"),
    OptionSpec::double(
        "adm_norm_view_dist",
        3.0,
        0.75,
        24.0,
        "normalized viewing distance = viewing distance / ref display's physical height",
    )
    .param("nvd"),
    OptionSpec::int("adm_ref_display_height", 1080, 1, 4320, "reference display height in pixels").param("rdh"),
    OptionSpec::int("adm_csf_mode", 0, 0, 3, "contrast sensitivity function").param("csf"),
    OptionSpec::double("adm_noise_weight", 0.03125, 0.0, 1500.0, "noise weight").param("nw"),
    OptionSpec::bool("adm_skip_aim", false, "skip the calculation of AIM"),
    OptionSpec::bool("adm_skip_scale0", false, "skip the calculation of scale 0").param("ssz"),
    OptionSpec::double("adm_min_val", 0.0, 0.0, 1.0, "minimum value allowed; lower values will be clipped to this value")
        .param("min"),
];

/// Output names in libvmaf's order; the first seven are always written, the
/// rest with `debug`.
pub static PROVIDED_FEATURES: &[&str] = &[
    "VMAF_integer_feature_adm2_score",
    "VMAF_integer_feature_aim_score",
    "VMAF_integer_feature_adm3_score",
    "integer_adm_scale0",
    "integer_adm_scale1",
    "integer_adm_scale2",
    "integer_adm_scale3",
    "integer_adm",
    "integer_adm_num",
    "integer_adm_den",
    "integer_adm_num_scale0",
    "integer_adm_den_scale0",
    "integer_adm_num_scale1",
    "integer_adm_den_scale1",
    "integer_adm_num_scale2",
    "integer_adm_den_scale2",
    "integer_adm_num_scale3",
    "integer_adm_den_scale3",
];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "adm",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: PROVIDED_FEATURES,
    options: OPTIONS,
    temporal: false,
    create,
    help: "Additive Detail Metric (DLM and AIM), libvmaf's fixed-point version",
};

/// Everything of integer ADM that is not per-pixel work, shared by every
/// backend: the options turned into viewing conditions, settings and the
/// four levels' parameters, and the conversion of the levels' exact
/// integer sums ([`LevelSums`]) into the output values. A backend that
/// produces the sums bit for bit produces libvmaf's scores through this.
pub struct AdmHost {
    names: Vec<String>,
    view: Viewing,
    settings: Settings,
    levels: [Level; 4],
    cos_sq: f32,
    debug: bool,
    dlm_weight: f64,
    min_val: f64,
    /// libvmaf's lower bound on numerator and denominator, scaled by area.
    numden_limit: f64,
}

impl AdmHost {
    /// The host state for `o` (parsed against [`OPTIONS`]) on pictures of
    /// `g`; an error where libvmaf refuses the options or the size.
    pub fn new(o: &Options, g: Geometry) -> Result<Self> {
        let view = Viewing {
            norm_view_dist: o.double("adm_norm_view_dist"),
            ref_display_height: o.int("adm_ref_display_height"),
            mode: CsfMode::from_option(o.int("adm_csf_mode")),
            csf_scale: o.double("adm_csf_scale"),
            csf_diag_scale: o.double("adm_csf_diag_scale"),
        };
        // The 16-bit level-0 pipeline cannot represent angular frequencies
        // below those of 1080 lines at three heights; libvmaf refuses them.
        if view.norm_view_dist * (view.ref_display_height as f64) < 3.0 * 1080.0 {
            return Err(Error::Extractor {
                feature: "adm".into(),
                msg: format!(
                    "adm_norm_view_dist * adm_ref_display_height must be at least 3240, got {} * {}",
                    view.norm_view_dist, view.ref_display_height
                ),
            });
        }
        let settings = Settings {
            enhn_gain_limit: o.double("adm_enhn_gain_limit"),
            noise_weight: o.double("adm_noise_weight"),
            skip_aim: o.bool("adm_skip_aim"),
            skip_scale0: o.bool("adm_skip_scale0"),
        };
        let (w, h) = (g.width as usize, g.height as usize);
        Ok(AdmHost {
            names: PROVIDED_FEATURES.iter().map(|n| o.feature_name(n)).collect(),
            view,
            settings,
            levels: compute::levels(w, h, &view)?,
            cos_sq: params::cos_1deg_sq(),
            debug: o.bool("debug"),
            dlm_weight: o.double("adm_dlm_weight"),
            min_val: o.double("adm_min_val"),
            numden_limit: 1e-10 * (w * h) as f64 / (1920.0 * 1080.0),
        })
    }

    /// Output names, in [`PROVIDED_FEATURES`] order with the options' suffix.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Parameters of the four DWT levels, finest first.
    pub fn levels(&self) -> &[Level; 4] {
        &self.levels
    }

    /// The options that change the per-pixel arithmetic.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// cos^2 of one degree, as the decoupling's angle test uses it.
    pub fn cos_sq(&self) -> f32 {
        self.cos_sq
    }

    /// The output values of one frame from its four levels' sums.
    pub fn scores(&self, sums: &[LevelSums; 4]) -> [f64; 18] {
        let levels: [LevelScores; 4] = std::array::from_fn(|l| level_scores(&self.levels[l], &self.settings, &sums[l]));
        self.combine(&levels)
    }

    /// libvmaf's combination of the per-level scores into the output
    /// values, in [`PROVIDED_FEATURES`] order.
    pub fn combine(&self, levels: &[LevelScores; 4]) -> [f64; 18] {
        let mut num = 0f64;
        let mut den = 0f64;
        let mut aim_num = 0f64;
        for l in levels {
            num += l.num as f64;
            den += l.den as f64;
            aim_num += l.aim as f64;
        }
        let num = if num < self.numden_limit { 0.0 } else { num };
        let den = if den < self.numden_limit { 0.0 } else { den };
        // With no reference energy libvmaf reports 1 and leaves AIM unset;
        // 0 is what a flat, undistorted picture means.
        let (score, aim) = if den == 0.0 { (1.0, 0.0) } else { (num / den, aim_num / den) };
        let w = self.dlm_weight;
        let adm3 = c_max(score * w + (1.0 - aim) * (1.0 - w), self.min_val);
        let mut out = [0f64; 18];
        out[0] = score;
        out[1] = aim;
        out[2] = adm3;
        for (k, l) in levels.iter().enumerate() {
            out[3 + k] = l.num as f64 / l.den as f64;
            out[10 + 2 * k] = l.num as f64;
            out[11 + 2 * k] = l.den as f64;
        }
        out[7] = score;
        out[8] = num;
        out[9] = den;
        out
    }

    /// Writes frame `index`'s values: the first seven, or all with `debug`.
    pub fn put(&self, index: u32, values: &[f64; 18], sink: &mut FeatureSink) {
        let n = if self.debug { values.len() } else { 7 };
        for (slot, v) in values.iter().take(n).enumerate() {
            sink.put(slot, index, *v);
        }
    }
}

/// The per-level integer sums of one frame pair by the scalar reference
/// pipeline, for other backends' tests and diagnostics (allocates a
/// pipeline per call: not a per-frame path).
pub fn reference_sums(host: &AdmHost, reference: &Picture, distorted: &Picture) -> Result<[LevelSums; 4]> {
    let g = reference.geometry();
    if distorted.geometry() != g {
        return Err(Error::Mismatch("reference and distorted pictures have different geometries".into()));
    }
    let mut p =
        Pipeline::new(g.width as usize, g.height as usize, g.bit_depth as u32, &host.view, host.settings, &compute::SCALAR)?;
    match (reference.data(), distorted.data()) {
        (PictureData::U8(r), PictureData::U8(d)) => Ok(p.run_sums(Luma::U8(&r[0]), Luma::U8(&d[0]))),
        (PictureData::U16(r), PictureData::U16(d)) => Ok(p.run_sums(Luma::U16(&r[0]), Luma::U16(&d[0]))),
        _ => Err(Error::Mismatch("reference and distorted pictures have different sample types".into())),
    }
}

struct IntegerAdm {
    host: AdmHost,
    pipeline: Pipeline,
    last: Option<(u32, [f64; 18])>,
}

/// The kernels for `level`, never above what this CPU can run (so a caller
/// passing a level the hardware lacks cannot reach unsupported
/// instructions).
fn kernels(level: CpuLevel) -> &'static Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        if level >= CpuLevel::Avx512 {
            if let Some(k) = x86::avx512() {
                return k;
            }
        }
        if level >= CpuLevel::Avx2 {
            if let Some(k) = x86::avx2() {
                return k;
            }
        }
    }
    let _ = level;
    &compute::SCALAR
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let host = AdmHost::new(args.options, args.geometry)?;
    let g = args.geometry;
    let pipeline = Pipeline::new(
        g.width as usize,
        g.height as usize,
        g.bit_depth as u32,
        &host.view,
        host.settings,
        kernels(args.cpu_level),
    )?;
    Ok(Box::new(IntegerAdm { host, pipeline, last: None }))
}

/// C's `MAX` macro: the second operand when the first is NaN.
fn c_max(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

impl Extractor for IntegerAdm {
    fn feature_names(&self) -> &[String] {
        self.host.names()
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let levels = match (frame.reference.data(), frame.distorted.data()) {
            (PictureData::U8(r), PictureData::U8(d)) => self.pipeline.run(Luma::U8(&r[0]), Luma::U8(&d[0])),
            (PictureData::U16(r), PictureData::U16(d)) => self.pipeline.run(Luma::U16(&r[0]), Luma::U16(&d[0])),
            _ => {
                return Err(Error::Mismatch("reference and distorted pictures have different sample types".into()))
            }
        };
        self.last = Some((frame.index, self.host.combine(&levels)));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        if let Some((i, values)) = self.last.take() {
            debug_assert_eq!(i, index);
            self.host.put(i, &values, sink);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
