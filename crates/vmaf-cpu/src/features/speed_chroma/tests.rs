use super::*;
use vmaf_core::{CpuLevel, Geometry, Options, Picture, PictureData};

fn run(g: Geometry, opts: &[(&str, &str)], r: &Picture, d: &Picture) -> Result<Vec<(String, f64)>> {
    run_at(CpuLevel::Scalar, g, opts, r, d)
}

fn run_at(level: CpuLevel, g: Geometry, opts: &[(&str, &str)], r: &Picture, d: &Picture) -> Result<Vec<(String, f64)>> {
    let o = Options::parse(NAME, OPTIONS, opts.iter().copied())?;
    let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: level, device: None })?;
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

/// Fills both chroma planes of a picture with `f(plane, x, y)` (values
/// clamped to the bit depth).
fn painted(g: Geometry, f: impl Fn(usize, usize, usize) -> u32) -> Picture {
    let mut p = Picture::new(g);
    let max = (1u32 << g.bit_depth) - 1;
    match p.data_mut() {
        PictureData::U8(pl) => {
            for (c, plane) in pl.iter_mut().enumerate().skip(1) {
                let w = plane.width();
                for (i, v) in plane.data_mut().iter_mut().enumerate() {
                    *v = f(c, i % w, i / w).min(max) as u8;
                }
            }
        }
        PictureData::U16(pl) => {
            for (c, plane) in pl.iter_mut().enumerate().skip(1) {
                let w = plane.width();
                for (i, v) in plane.data_mut().iter_mut().enumerate() {
                    *v = f(c, i % w, i / w).min(max) as u16;
                }
            }
        }
    }
    p
}

#[test]
fn simd_levels_give_the_scalar_bits() {
    // Every level this CPU has, against scalar: odd sizes, every sampling
    // and depth, textured, flat, extreme and checkerboard planes, and the
    // three ways of reading the plane (packed rows at prescale 1,
    // resampled, and reshaped at a prescale within 1e-3 of 1).
    let levels: Vec<CpuLevel> =
        [CpuLevel::Avx2, CpuLevel::Avx512].into_iter().filter(|&l| l <= crate::hardware_level()).collect();
    // Planes large enough for sub-windows of 100+ samples, so most
    // covariances are regular and the whole fit runs (flat planes cover
    // the singular path).
    type Case = (u32, u32, ChromaSampling, &'static [(&'static str, &'static str)]);
    let cases: &[Case] = &[
        (500, 500, ChromaSampling::Cs420, &[]),
        (641, 483, ChromaSampling::Cs420, &[]),
        (482, 301, ChromaSampling::Cs422, &[]),
        (263, 247, ChromaSampling::Cs444, &[]),
        (301, 287, ChromaSampling::Cs444, &[("speed_kernelscale", "2.0"), ("speed_weight_var_mode", "3")]),
        (1001, 999, ChromaSampling::Cs420, &[("speed_prescale", "0.5"), ("speed_prescale_method", "bilinear")]),
        (180, 170, ChromaSampling::Cs444, &[("speed_prescale", "1.5"), ("speed_prescale_method", "bicubic")]),
        (1001, 240, ChromaSampling::Cs444, &[("speed_prescale", "1.0005")]),
    ];
    let (mut compared, mut nonzero) = (0, 0);
    for &(w, h, cs, opts) in cases {
        for bpc in [8u8, 10, 12, 16] {
            let g = Geometry::new(w, h, cs, bpc).unwrap();
            let shift = bpc as u32 - 8;
            let max = (1u32 << bpc) - 1;
            let (tr, td) = pair(g, w as u64 * 31 + bpc as u64, shift);
            let hash = |c: usize, x: usize, y: usize| (x * 7919 + y * 104729 + c * 15485863) % 1009;
            let pictures = [
                ("textured", tr, td),
                ("zero/max", painted(g, |_, _, _| 0), painted(g, |_, _, _| max)),
                (
                    "salt and pepper",
                    painted(g, |c, x, y| if hash(c, x, y) < 504 { 0 } else { max }),
                    painted(g, |c, x, y| if hash(c + 1, y, x) < 504 { max / 3 } else { max }),
                ),
                // A periodic plane has a singular covariance: one side
                // singular scores 0.
                (
                    "salt and pepper/checkerboard",
                    painted(g, |c, x, y| if hash(c, x, y) < 504 { 0 } else { max }),
                    painted(g, |_, x, y| if (x / 3 + y / 2) % 2 == 0 { max } else { max / 3 }),
                ),
            ];
            for (what, r, d) in &pictures {
                let want = run(g, opts, r, d).unwrap();
                for &level in &levels {
                    let got = run_at(level, g, opts, r, d).unwrap();
                    let bits = |v: &[(String, f64)]| v.iter().map(|x| x.1.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{level:?} {w}x{h} {cs:?} {bpc}-bit {what} {opts:?}: {got:?} vs {want:?}"
                    );
                    compared += 1;
                }
                nonzero += want.iter().filter(|x| x.1 != 0.0).count();
            }
        }
    }
    if !levels.is_empty() {
        assert_eq!(compared, 8 * 4 * 4 * levels.len());
    }
    // The textured and the noisy pairs (half of the outputs) score.
    assert_eq!(nonzero, 8 * 4 * 2 * 3, "nonzero scores");
}

#[test]
fn a_prescale_near_1_that_changes_the_size_reads_the_samples_unscaled() {
    // libvmaf does not resample within 1e-3 of 1 but still filters a plane
    // of the rounded scaled size (1002 x 240 here), reading the 1001-wide
    // samples in order and zeros (sample 128) past them.
    let g = Geometry::new(1001, 240, ChromaSampling::Cs444, 8).unwrap();
    let (r, d) = pair(g, 77, 0);
    let got = run(g, &[("speed_prescale", "1.0005")], &r, &d).unwrap();
    let g2 = Geometry::new(1002, 240, ChromaSampling::Cs444, 8).unwrap();
    let reshape = |p: &Picture| {
        let PictureData::U8(src) = p.data() else { unreachable!() };
        painted(g2, |c, x, y| {
            let i = y * 1002 + x;
            src[c].data().get(i).map_or(128, |&v| v as u32)
        })
    };
    let want = run(g2, &[], &reshape(&r), &reshape(&d)).unwrap();
    assert!(want.iter().all(|x| x.1 > 0.0));
    let values = |v: &[(String, f64)]| v.iter().map(|x| x.1).collect::<Vec<_>>();
    assert_eq!(values(&got), values(&want));
}
