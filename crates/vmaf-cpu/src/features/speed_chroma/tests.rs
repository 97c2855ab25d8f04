use super::*;
use vmaf_core::{CpuLevel, Geometry, Options, Picture, PictureData};

fn run(g: Geometry, opts: &[(&str, &str)], r: &Picture, d: &Picture) -> Result<Vec<(String, f64)>> {
    let o = Options::parse(NAME, OPTIONS, opts.iter().copied())?;
    let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None })?;
    e.submit(&FramePair { reference: r, distorted: d, index: 0 })?;
    let mut sink = FeatureSink::new();
    e.collect(0, &mut sink)?;
    Ok(sink.entries().iter().map(|x| (e.feature_names()[x.slot as usize].clone(), x.value)).collect())
}

/// A textured pair: the distorted is a noisy, contrast-reduced reference.
fn pair(g: Geometry, seed: u64, shift: u32) -> (Picture, Picture) {
    let mut s = seed;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 16) as u32
    };
    let (mut r, mut d) = (Picture::new(g), Picture::new(g));
    let (w, _) = g.plane_size(1);
    let w = w as usize;
    let mut vals = Vec::new();
    for p in 1..3 {
        let (pw, ph) = g.plane_size(p);
        for i in 0..(pw * ph) as usize {
            let (x, y) = (i % w, i / w);
            let a = (128.0 + 60.0 * ((x as f32 * 0.21 + p as f32).sin() * (y as f32 * 0.13).cos())) as u32 + rnd() % 20;
            let b = (a * 3 / 4 + 32 + rnd() % 24).min(255);
            vals.push((p, i, a.min(255), b));
        }
    }
    match (r.data_mut(), d.data_mut()) {
        (PictureData::U8(rp), PictureData::U8(dp)) => {
            for &(p, i, a, b) in &vals {
                rp[p].data_mut()[i] = a as u8;
                dp[p].data_mut()[i] = b as u8;
            }
        }
        (PictureData::U16(rp), PictureData::U16(dp)) => {
            for &(p, i, a, b) in &vals {
                rp[p].data_mut()[i] = (a << shift) as u16;
                dp[p].data_mut()[i] = (b << shift) as u16;
            }
        }
        _ => unreachable!(),
    }
    (r, d)
}

#[test]
fn names_follow_libvmaf_options() {
    let g = Geometry::new(320, 320, ChromaSampling::Cs420, 8).unwrap();
    let (r, d) = pair(g, 3, 0);
    let out = run(g, &[], &r, &d).unwrap();
    assert_eq!(out.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), FEATURES);
    let opts = [
        ("speed_kernelscale", "1.0"),
        ("speed_nn_floor", "0.1"),
        ("speed_sigma_nn", "0.19"),
        ("speed_weight_var_mode", "5"),
        ("speed_prescale", "1.5"),
        ("speed_prescale_method", "bilinear"),
        ("speed_max_val", "45.0"),
    ];
    let out = run(g, &opts, &r, &d).unwrap();
    assert_eq!(out[2].0, "speed_chroma_uv_mxv_45_nnf_0.1_ps_1.5_psm_bilinear_snn_0.19_wvm_5");
    assert_eq!(out[0].0, "speed_chroma_u_mxv_45_nnf_0.1_ps_1.5_psm_bilinear_snn_0.19_wvm_5");
}

#[test]
fn scores_are_zero_for_identical_pictures_and_positive_otherwise() {
    let g = Geometry::new(320, 320, ChromaSampling::Cs444, 8).unwrap();
    let (r, d) = pair(g, 5, 0);
    let same = run(g, &[], &r, &r).unwrap();
    assert!(same.iter().all(|x| x.1 == 0.0), "{same:?}");
    let diff = run(g, &[], &r, &d).unwrap();
    assert!(diff.iter().all(|x| x.1 > 0.0 && x.1.is_finite()), "{diff:?}");
    let (u, v, uv) = (diff[0].1, diff[1].1, diff[2].1);
    assert!((uv - (u + v) / 2.0).abs() < 1e-5);
    // The clip applies to every output.
    let clipped = run(g, &[("speed_max_val", "0.001")], &r, &d).unwrap();
    assert!(clipped.iter().all(|x| x.1 == 0.001));
}

#[test]
fn high_bit_depths_scale_to_the_8_bit_range() {
    let g8 = Geometry::new(320, 160, ChromaSampling::Cs444, 8).unwrap();
    let (r, d) = pair(g8, 9, 0);
    let want = run(g8, &[], &r, &d).unwrap();
    for (bpc, shift) in [(10u8, 2u32), (12, 4), (16, 8)] {
        let g = Geometry::new(320, 160, ChromaSampling::Cs444, bpc).unwrap();
        let (r, d) = pair(g, 9, shift);
        assert_eq!(run(g, &[], &r, &d).unwrap(), want, "{bpc} bit");
    }
}

#[test]
fn bad_inputs_are_errors() {
    let (g, g400) = (
        Geometry::new(320, 320, ChromaSampling::Cs420, 8).unwrap(),
        Geometry::new(320, 320, ChromaSampling::Cs400, 8).unwrap(),
    );
    let (r, d) = pair(g, 1, 0);
    assert!(run(g, &[("speed_kernelscale", "0.9")], &r, &d).is_err());
    assert!(run(g, &[("speed_prescale_method", "cubic")], &r, &d).is_err());
    assert!(run(g, &[("speed_weight_var_mode", "7")], &r, &d).is_err());
    let small = Geometry::new(150, 150, ChromaSampling::Cs420, 8).unwrap();
    let (rs, ds) = (Picture::new(small), Picture::new(small));
    assert!(matches!(run(small, &[], &rs, &ds), Err(Error::Extractor { .. })));
    let (r4, d4) = (Picture::new(g400), Picture::new(g400));
    assert!(run(g400, &[], &r4, &d4).is_err());
}

#[test]
fn flat_planes_are_singular_and_score_zero() {
    // Flat chroma gives a zero covariance: both sides singular, score 0
    // (libvmaf's warning case), never NaN.
    let g = Geometry::new(320, 320, ChromaSampling::Cs420, 8).unwrap();
    let (r, mut d) = (Picture::new(g), Picture::new(g));
    if let PictureData::U8(p) = d.data_mut() {
        p[1].data_mut().fill(200);
    }
    let out = run(g, &[], &r, &d).unwrap();
    assert!(out.iter().all(|x| x.1 == 0.0), "{out:?}");
}
