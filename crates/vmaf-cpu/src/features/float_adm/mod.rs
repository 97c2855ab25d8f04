//! `float_adm`: libvmaf's floating-point Additive Detail Metric (adm2, aim,
//! adm3, adm_scale0..3), the ADM of the `vmaf_float_*` models.
//!
//! Same method as the integer `adm` (see there), in `float`, with the
//! float version's own options: a p-norm other than 3, bypassing contrast
//! masking, per-level CSF overrides, a harmonic-mean adm3, and a level
//! left out of AIM. Bit-exact with libvmaf on the same CPU: the operations
//! follow its order, and its decoupling divides through the x86
//! approximate reciprocal, as this does (see `scalar::recip_div`), whose
//! last bits differ between CPU makers, in libvmaf and here alike.
//!
//! - `compute.rs`: the row-streaming pipeline;
//! - `scalar.rs`: the row kernels.

mod compute;
mod scalar;

use vmaf_core::{CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, OptionSpec, PictureData, Result};

use compute::{LevelScores, Luma, Pipeline, Settings};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool("debug", false, "debug mode: enable additional output"),
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
    OptionSpec::double("adm_noise_weight", 0.03125, 0.0, 1500.0, "noise weight").param("nw"),
    OptionSpec::double("adm_csf_scale", 1.0, 0.0, 50.0, "scale factor for the CSF").param("scf"),
    OptionSpec::double("adm_csf_diag_scale", 1.0, 0.0, 50.0, "scale factor for the CSF diag").param("scfd"),
    // libvmaf's float version spells this alias "rdf".
    OptionSpec::int("adm_ref_display_height", 1080, 1, 4320, "reference display height in pixels").param("rdf"),
    OptionSpec::int("adm_csf_mode", 0, 0, 9, "contrast sensitivity function").param("csf"),
    OptionSpec::int("adm_bypass_cm", 0, 0, 1, "bypass contrast masking (CM)").param("bcm"),
    OptionSpec::bool("adm_adm3_apply_hm", false, "apply harmonic mean to combine DLM and AIM").param("aah"),
    OptionSpec::double("adm_p_norm", 3.0, 1.0, 20.0, "p-norm for energy vector").param("apn"),
    OptionSpec::double("adm_dlm_weight", 0.5, 0.0, 1.0, "linear weighting between DLM and AIM; 1 corresponds to DLM-only")
        .param("dlmw"),
    OptionSpec::double("adm_min_val", 0.0, 0.0, 1.0, "minimum value allowed; lower values will be clipped to this value")
        .param("min"),
    OptionSpec::double("adm_f1s0", -1.0, -1.0, 10.0, "factor1 scale0").param("f1s0"),
    OptionSpec::double("adm_f1s1", -1.0, -1.0, 10.0, "factor1 scale1").param("f1s1"),
    OptionSpec::double("adm_f1s2", -1.0, -1.0, 10.0, "factor1 scale2").param("f1s2"),
    OptionSpec::double("adm_f1s3", -1.0, -1.0, 10.0, "factor1 scale3").param("f1s3"),
    OptionSpec::double("adm_f2s0", -1.0, -1.0, 10.0, "factor2 scale0").param("f2s0"),
    OptionSpec::double("adm_f2s1", -1.0, -1.0, 10.0, "factor2 scale1").param("f2s1"),
    OptionSpec::double("adm_f2s2", -1.0, -1.0, 10.0, "factor2 scale2").param("f2s2"),
    OptionSpec::double("adm_f2s3", -1.0, -1.0, 10.0, "factor2 scale3").param("f2s3"),
    OptionSpec::int("adm_skip_aim_scale", -1, 0, 3, "when set, skip AIM calculations for that scale").param("sasc"),
    OptionSpec::bool("adm_skip_scale0", false, "skip the calculation of scale 0").param("ssz"),
];

/// Output names in libvmaf's order; the first seven always, the rest with
/// `debug`.
const PROVIDED: &[&str] = &[
    "VMAF_feature_adm2_score",
    "VMAF_feature_aim_score",
    "VMAF_feature_adm3_score",
    "VMAF_feature_adm_scale0_score",
    "VMAF_feature_adm_scale1_score",
    "VMAF_feature_adm_scale2_score",
    "VMAF_feature_adm_scale3_score",
    "adm",
    "adm_num",
    "adm_den",
    "adm_num_scale0",
    "adm_den_scale0",
    "adm_num_scale1",
    "adm_den_scale1",
    "adm_num_scale2",
    "adm_den_scale2",
    "adm_num_scale3",
    "adm_den_scale3",
];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "float_adm",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: PROVIDED,
    options: OPTIONS,
    temporal: false,
    create,
    help: "Additive Detail Metric (DLM and AIM), libvmaf's floating-point version",
};

struct FloatAdm {
    names: Vec<String>,
    pipeline: Pipeline,
    debug: bool,
    skip_scale0: bool,
    apply_hm: bool,
    dlm_weight: f64,
    min_val: f64,
    skip_aim_level: i32,
    numden_limit: f64,
    last: Option<(u32, [f64; 18])>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let o = args.options;
    let g = args.geometry;
    let settings = Settings {
        enhn_gain_limit: o.double("adm_enhn_gain_limit"),
        noise_weight: o.double("adm_noise_weight"),
        norm_view_dist: o.double("adm_norm_view_dist"),
        ref_display_height: o.int("adm_ref_display_height"),
        csf_mode: o.int("adm_csf_mode"),
        csf_scale: o.double("adm_csf_scale"),
        csf_diag_scale: o.double("adm_csf_diag_scale"),
        bypass_cm: o.int("adm_bypass_cm") != 0,
        p_norm: o.double("adm_p_norm"),
        f1: ["adm_f1s0", "adm_f1s1", "adm_f1s2", "adm_f1s3"].map(|k| o.double(k)),
        f2: ["adm_f2s0", "adm_f2s1", "adm_f2s2", "adm_f2s3"].map(|k| o.double(k)),
    };
    let (w, h) = (g.width as usize, g.height as usize);
    Ok(Box::new(FloatAdm {
        names: PROVIDED.iter().map(|n| o.feature_name(n)).collect(),
        pipeline: Pipeline::new(w, h, g.bit_depth as u32, settings)?,
        debug: o.bool("debug"),
        skip_scale0: o.bool("adm_skip_scale0"),
        apply_hm: o.bool("adm_adm3_apply_hm"),
        dlm_weight: o.double("adm_dlm_weight"),
        min_val: o.double("adm_min_val"),
        skip_aim_level: o.int("adm_skip_aim_scale"),
        numden_limit: 1e-10 * (w * h) as f64 / (1920.0 * 1080.0),
        last: None,
    }))
}

/// C's `MAX` macro: the second operand when the first is NaN.
fn c_max(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

impl FloatAdm {
    /// libvmaf's combination of the per-level sums, in `PROVIDED` order.
    fn combine(&self, levels: &[LevelScores; 4]) -> [f64; 18] {
        let (mut num, mut den, mut aim_num, mut aim_den) = (0f64, 0f64, 0f64, 0f64);
        for (l, s) in levels.iter().enumerate() {
            num += s.num as f64;
            den += s.den as f64;
            if self.skip_aim_level != l as i32 {
                aim_den += s.den as f64;
                aim_num += s.aim as f64;
            }
        }
        let num = if num < self.numden_limit { 0.0 } else { num };
        let den = if den < self.numden_limit { 0.0 } else { den };
        // With no reference energy libvmaf reports 1 and leaves AIM unset;
        // 0 is what a flat, undistorted picture means.
        let (score, aim) = if den == 0.0 {
            (1.0, 0.0)
        } else {
            let a = aim_num / aim_den;
            (num / den, if a < 1.0 { a } else { 1.0 })
        };
        let adm3 = if self.apply_hm {
            c_max(2.0 * score * aim / (score + aim), self.min_val)
        } else {
            let w = self.dlm_weight;
            c_max(score * w + (1.0 - aim) * (1.0 - w), self.min_val)
        };
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
}

impl Extractor for FloatAdm {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let skip = self.skip_scale0;
        let levels = match (frame.reference.data(), frame.distorted.data()) {
            (PictureData::U8(r), PictureData::U8(d)) => self.pipeline.run(Luma::U8(&r[0]), Luma::U8(&d[0]), skip),
            (PictureData::U16(r), PictureData::U16(d)) => self.pipeline.run(Luma::U16(&r[0]), Luma::U16(&d[0]), skip),
            _ => {
                return Err(Error::Mismatch("reference and distorted pictures have different sample types".into()))
            }
        };
        self.last = Some((frame.index, self.combine(&levels)));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        if let Some((i, values)) = self.last.take() {
            debug_assert_eq!(i, index);
            let n = if self.debug { values.len() } else { 7 };
            for (slot, v) in values.iter().take(n).enumerate() {
                sink.put(slot, i, *v);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{ChromaSampling, CpuLevel, Geometry, Options, Picture};

    fn extractor(g: Geometry, opts: &[(&str, &str)]) -> Result<Box<dyn Extractor>> {
        let o = Options::parse("float_adm", OPTIONS, opts.iter().copied())?;
        create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None })
    }

    fn textured(g: Geometry, seed: u32) -> Picture {
        let mut p = Picture::new(g);
        let w = g.width as usize;
        if let PictureData::U8(pl) = p.data_mut() {
            for (i, v) in pl[0].data_mut().iter_mut().enumerate() {
                let (x, y) = ((i % w) as f64, (i / w) as f64);
                let n = ((i as u32) ^ seed.wrapping_mul(0x9E37_79B9)).wrapping_mul(2654435761) >> 27;
                *v = (128.0 + 60.0 * (x * 0.3).sin() * (y * 0.2).cos() + n as f64) as u8;
            }
        }
        p
    }

    fn scores(ex: &mut Box<dyn Extractor>, r: &Picture, d: &Picture) -> Vec<f64> {
        ex.submit(&FramePair { reference: r, distorted: d, index: 0 }).unwrap();
        let mut sink = FeatureSink::new();
        ex.collect(0, &mut sink).unwrap();
        sink.entries().iter().map(|e| e.value).collect()
    }

    #[test]
    fn identical_pictures_score_one() {
        let g = Geometry::new(96, 64, ChromaSampling::Cs420, 8).unwrap();
        let r = textured(g, 1);
        let s = scores(&mut extractor(g, &[]).unwrap(), &r, &r);
        assert_eq!(s.len(), 7);
        assert!((s[0] - 1.0).abs() < 1e-5, "{s:?}");
        assert!(s[1].abs() < 1e-5, "{s:?}");
    }

    #[test]
    fn distortion_lowers_the_score_and_options_apply() {
        let g = Geometry::new(96, 64, ChromaSampling::Cs420, 8).unwrap();
        let (r, d) = (textured(g, 1), textured(g, 99));
        let base = scores(&mut extractor(g, &[]).unwrap(), &r, &d);
        assert!(base[0] < 0.99 && base[0] > 0.0, "{base:?}");
        let hm = scores(&mut extractor(g, &[("adm_adm3_apply_hm", "true")]).unwrap(), &r, &d);
        assert_eq!(hm[0], base[0]);
        let want = 2.0 * base[0] * base[1] / (base[0] + base[1]);
        assert!((hm[2] - want).abs() < 1e-12);
        let bypass = scores(&mut extractor(g, &[("adm_bypass_cm", "1")]).unwrap(), &r, &d);
        assert_ne!(bypass[0], base[0]);
        let p2 = scores(&mut extractor(g, &[("adm_p_norm", "2"), ("debug", "true")]).unwrap(), &r, &d);
        assert_eq!(p2.len(), 18);
        let skip = scores(&mut extractor(g, &[("adm_skip_scale0", "true")]).unwrap(), &r, &d);
        assert_eq!(skip[3], 0.0);
    }

    #[test]
    fn names_and_limits() {
        let g = Geometry::new(64, 64, ChromaSampling::Cs420, 8).unwrap();
        let ex = extractor(g, &[("adm_ref_display_height", "2160"), ("adm_p_norm", "2.5")]).unwrap();
        assert_eq!(ex.feature_names()[0], "adm2_apn_2.5_rdf_2160");
        let g = Geometry::new(17, 17, ChromaSampling::Cs420, 8).unwrap();
        let (r, d) = (textured(g, 1), textured(g, 2));
        let s = scores(&mut extractor(g, &[]).unwrap(), &r, &d);
        assert!(s.iter().all(|v| v.is_finite()), "{s:?}");
        let g = Geometry::new(16, 40, ChromaSampling::Cs420, 8).unwrap();
        assert!(matches!(extractor(g, &[]), Err(Error::Extractor { .. })));
    }
}
