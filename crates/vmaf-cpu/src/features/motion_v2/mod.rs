//! `motion_v2`: the lusoris/vmaf fork's second integer motion extractor
//! (its `integer_motion_v2.c`). It computes what `motion` computes, under
//! its own names:
//!
//! * `VMAF_integer_feature_motion_v2_sad_score`: per frame, the mean
//!   absolute blurred difference to the previous reference frame (0 on the
//!   first frame);
//! * `VMAF_integer_feature_motion2_v2_score`, `..._motion3_v2_score`:
//!   written at end of stream, as `integer_motion2` / `integer_motion3`.
//!
//! The fork fuses difference, blur and absolute sum in one pass, which is
//! the same fixed-point arithmetic as libvmaf 3.2.0's `motion` (both blur
//! `prev - cur`, with the same shifts, rounding and mirrored borders), so
//! the scores are identical and this module only supplies the fork's
//! option table and names around `integer_motion`'s kernels and host.
//!
//! Differences from `motion`, as in the fork: no `debug` option; the
//! five-frame window is refused (the fork does not support it); pictures
//! under 3x3 are refused.
//!
//! One divergence: under `--subsample N` the fork computes the SAD score
//! only on every N-th frame (against the frame just before it) and then
//! writes motion2/motion3 for frame 0 only, because its end-of-stream pass
//! stops at the first frame without a SAD score. This extractor, like
//! `motion`, sees every frame and writes motion2/motion3 for all of them.

use vmaf_core::{CreateArgs, Error, Extractor, ExtractorSpec, OptionSpec, Result};

use super::integer_motion::{self, MotionHost};

/// The fork's option table: `motion`'s, without `debug`.
static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool("motion_force_zero", false, "forces motion score to be 0").param("force_0"),
    OptionSpec::double("motion_blend_factor", 1.0, 0.0, 1.0, "blend motion score given an offset").param("mbf"),
    OptionSpec::double("motion_blend_offset", 40.0, 0.0, 1000.0, "blend motion score starting from this offset")
        .param("mbo"),
    OptionSpec::double("motion_fps_weight", 1.0, 0.0, 5.0, "fps-aware multiplicative weight/correction").param("mfw"),
    OptionSpec::double(
        "motion_max_val",
        10000.0,
        0.0,
        10000.0,
        "maximum value allowed; larger values will be clipped to this value",
    )
    .param("mmxv"),
    OptionSpec::bool("motion_five_frame_window", false, "use five-frame temporal window (not supported by motion_v2)")
        .param("mffw"),
    OptionSpec::bool("motion_moving_average", false, "smooth motion3 with a 2-frame moving average").param("mma"),
];

const NAMES: [&str; 3] = [
    "VMAF_integer_feature_motion_v2_sad_score",
    "VMAF_integer_feature_motion2_v2_score",
    "VMAF_integer_feature_motion3_v2_score",
];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "motion_v2",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &NAMES,
    options: OPTIONS,
    temporal: true,
    create,
    help: "integer motion under the lusoris/vmaf fork's motion_v2 names",
};

/// Smallest width and height: the 5-tap blur's mirror needs 3 samples.
const MIN_SIDE: u32 = 3;

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let g = args.geometry;
    let refuse = |msg: String| Err(Error::Extractor { feature: SPEC.name.into(), msg });
    if args.options.bool("motion_five_frame_window") {
        return refuse("motion_five_frame_window=true is not supported; use motion for the five-frame window".into());
    }
    if g.width < MIN_SIDE || g.height < MIN_SIDE {
        return refuse(format!(
            "picture {}x{} is smaller than the blur's minimum {MIN_SIDE}x{MIN_SIDE}",
            g.width, g.height
        ));
    }
    let host = MotionHost::sad_motion2_motion3(args.options, g, SPEC.name, &NAMES);
    integer_motion::create_with_host(args, host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{ChromaSampling, CpuLevel, FeatureSink, FramePair, Geometry, Options, Picture, PictureData};

    fn create_with(g: Geometry, opts: &[(&str, &str)]) -> Result<Box<dyn Extractor>> {
        let o = Options::parse("motion_v2", OPTIONS, opts.iter().copied())?;
        create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None })
    }

    /// Runs flat frames of the given levels through `motion_v2` and
    /// through `motion`; returns (name, index, value) of each, per-frame
    /// writes first.
    fn run_both(g: Geometry, levels: &[u8], opts: &[(&str, &str)]) -> [Vec<(String, u32, f64)>; 2] {
        let v1 = Options::parse("motion", integer_motion::OPTIONS, opts.iter().copied()).unwrap();
        let a = create_with(g, opts).unwrap();
        let b = (integer_motion::SPEC.create)(&CreateArgs {
            options: &v1,
            geometry: g,
            cpu_level: CpuLevel::Scalar,
            device: None,
        })
        .unwrap();
        [a, b].map(|mut e| {
            let mut sink = FeatureSink::new();
            let dis = Picture::new(g);
            for (i, &l) in levels.iter().enumerate() {
                let mut r = Picture::new(g);
                if let PictureData::U8(p) = r.data_mut() {
                    p[0].data_mut().fill(l);
                }
                e.submit(&FramePair { reference: &r, distorted: &dis, index: i as u32 }).unwrap();
                e.collect(i as u32, &mut sink).unwrap();
            }
            e.flush(&mut sink).unwrap();
            sink.entries().iter().map(|x| (e.feature_names()[x.slot as usize].clone(), x.index, x.value)).collect()
        })
    }

    #[test]
    fn same_values_as_motion_under_v2_names() {
        let g = Geometry::new(8, 6, ChromaSampling::Cs420, 8).unwrap();
        let opts = [("motion_blend_factor", "0.5"), ("motion_blend_offset", "3"), ("motion_moving_average", "true")];
        let [v2, v1] = run_both(g, &[0, 5, 7, 8, 20], &opts);
        assert_eq!(v2.len(), v1.len());
        for ((n2, i2, x2), (n1, i1, x1)) in v2.iter().zip(&v1) {
            assert_eq!((i2, x2.to_bits()), (i1, x1.to_bits()), "{n2} vs {n1}");
        }
        let sfx = "_mbf_0.5_mbo_3_mma";
        let names: Vec<&str> = v2.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names[0], format!("VMAF_integer_feature_motion_v2_sad_score{sfx}"));
        assert!(names.contains(&format!("VMAF_integer_feature_motion2_v2_score{sfx}").as_str()));
        assert!(names.contains(&format!("VMAF_integer_feature_motion3_v2_score{sfx}").as_str()));
        // SAD scores of flat steps are the steps.
        let sad: Vec<f64> = v2.iter().filter(|x| x.0 == names[0]).map(|x| x.2).collect();
        assert_eq!(sad, [0.0, 5.0, 2.0, 1.0, 12.0]);
    }

    #[test]
    fn fork_refusals() {
        let g = Geometry::new(8, 6, ChromaSampling::Cs420, 8).unwrap();
        assert!(matches!(create_with(g, &[("motion_five_frame_window", "true")]), Err(Error::Extractor { .. })));
        assert!(matches!(create_with(g, &[("debug", "true")]), Err(Error::UnknownOption { .. })));
        let small = Geometry::new(2, 40, ChromaSampling::Cs444, 8).unwrap();
        assert!(matches!(create_with(small, &[]), Err(Error::Extractor { .. })));
        let min = Geometry::new(3, 3, ChromaSampling::Cs444, 8).unwrap();
        assert!(create_with(min, &[]).is_ok());
    }

    #[test]
    fn force_zero_writes_zeros_under_its_suffix() {
        let g = Geometry::new(8, 6, ChromaSampling::Cs400, 8).unwrap();
        let [v2, _] = run_both(g, &[0, 9, 30], &[("motion_force_zero", "true")]);
        assert_eq!(v2.len(), 9);
        assert!(v2.iter().all(|x| x.2 == 0.0 && x.0.ends_with("_force_0")));
    }
}
