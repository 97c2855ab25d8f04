//! Unit tests of the float VIF: filters, log2, mirror, options, and the
//! SIMD kernels against the scalar ones.

use super::*;
use vmaf_core::{ChromaSampling, Geometry, Options, Picture};

#[test]
fn filters_are_normalised_odd_gaussians() {
    for (ks, widths) in [(1.0f32, [17, 9, 5, 3]), (2.0, [35, 19, 11, 7]), (0.5, [9, 5, 3, 3])] {
        for (s, &wd) in widths.iter().enumerate() {
            let f = Filter::new(s, ks);
            assert_eq!(f.taps.len(), wd, "scale {s} kernelscale {ks}");
            let sum: f32 = f.taps.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "sum {sum}");
            let r = f.radius();
            for k in 0..r {
                assert_eq!(f.taps[k], f.taps[2 * r - k]);
                assert!(f.taps[k] < f.taps[k + 1], "peaks in the middle");
            }
            // A Gaussian of standard deviation width/5: the ratio of
            // neighbouring taps is exp(-(2k+1) / (2 sigma^2)).
            let sigma = wd as f64 / 5.0;
            let ratio = (f.taps[r - 1] / f.taps[r]) as f64;
            assert!((ratio - (-1.0 / (2.0 * sigma * sigma)).exp()).abs() < 1e-6);
        }
    }
}

#[test]
fn log2_approx_is_close_and_exact_at_powers_of_two() {
    use scalar::log2_approx;
    for e in -20..40 {
        assert_eq!(log2_approx((e as f32).exp2()), e as f32);
    }
    let mut x = 1.0e-3f32;
    while x < 1.0e6 {
        assert!((log2_approx(x) - x.log2()).abs() < 2e-5, "{x}");
        x *= 1.37;
    }
    assert_eq!(log2_approx(0.0), f32::NEG_INFINITY);
    assert!(log2_approx(-1.0).is_nan());
}

#[test]
fn mirror_reflects_and_folds() {
    let m = Mirror::new(5, 3);
    assert_eq!(m.0, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
    // Smaller than the filter: folded until inside.
    let m = Mirror::new(2, 4);
    assert_eq!(m.0, vec![0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    assert!(Mirror::new(1, 2).0.iter().all(|&x| x == 0));
}

fn run(g: Geometry, opts: &[(&str, &str)], r: &Picture, d: &Picture, level: CpuLevel) -> Result<Vec<(String, f64)>> {
    let o = Options::parse("float_vif", OPTIONS, opts.iter().copied())?;
    let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: level, device: None })?;
    e.submit(&FramePair { reference: r, distorted: d, index: 0 })?;
    let mut sink = FeatureSink::new();
    e.collect(0, &mut sink)?;
    Ok(sink.entries().iter().map(|x| (e.feature_names()[x.slot as usize].clone(), x.value)).collect())
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
}

fn noisy_pair(g: Geometry, seed: u64) -> (Picture, Picture) {
    let mut rng = Rng(seed);
    let (mut r, mut d) = (Picture::new(g), Picture::new(g));
    let max = (1u32 << g.bit_depth) - 1;
    match (r.data_mut(), d.data_mut()) {
        (PictureData::U8(rp), PictureData::U8(dp)) => {
            for (a, b) in rp[0].data_mut().iter_mut().zip(dp[0].data_mut()) {
                *a = (rng.next() % 256) as u8;
                *b = (*a / 2).saturating_add((rng.next() % 40) as u8);
            }
        }
        (PictureData::U16(rp), PictureData::U16(dp)) => {
            for (a, b) in rp[0].data_mut().iter_mut().zip(dp[0].data_mut()) {
                *a = (rng.next() % (max + 1)) as u16;
                *b = ((*a as u32 / 2 + rng.next() % (max / 6)).min(max)) as u16;
            }
        }
        _ => unreachable!(),
    }
    (r, d)
}

#[test]
fn names_follow_libvmaf_options() {
    let g = Geometry::new(64, 48, ChromaSampling::Cs420, 8).unwrap();
    let (r, d) = noisy_pair(g, 1);
    let out = run(g, &[], &r, &d, CpuLevel::Scalar).unwrap();
    assert_eq!(out.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), SCALE_NAMES);
    let out = run(
        g,
        &[
            ("vif_kernelscale", "2"),
            ("vif_prescale", "0.5"),
            ("vif_prescale_method", "bilinear"),
            ("vif_sigma_nsq", "1.5"),
        ],
        &r,
        &d,
        CpuLevel::Scalar,
    )
    .unwrap();
    assert_eq!(out[0].0, "vif_scale0_ks_2_ps_0.5_pm_bilinear_snsq_1.5");
    let out = run(g, &[("vif_scale2_min_val", "0.9"), ("vif_enhn_gain_limit", "1")], &r, &d, CpuLevel::Scalar).unwrap();
    assert_eq!(out[2].0, "vif_scale2_egl_1_s2miv_0.9");
    let out = run(g, &[("debug", "true")], &r, &d, CpuLevel::Scalar).unwrap();
    assert_eq!(out.iter().skip(4).map(|x| x.0.as_str()).collect::<Vec<_>>(), DEBUG_NAMES);
}

#[test]
fn bad_options_are_errors() {
    let g = Geometry::new(64, 48, ChromaSampling::Cs420, 8).unwrap();
    let (r, d) = noisy_pair(g, 1);
    for opts in [[("vif_kernelscale", "1.3")], [("vif_prescale_method", "cubic")]] {
        assert!(matches!(run(g, &opts, &r, &d, CpuLevel::Scalar), Err(Error::BadOptionValue { .. })), "{opts:?}");
    }
}

#[test]
fn options_change_scores_as_libvmaf_does() {
    let g = Geometry::new(96, 64, ChromaSampling::Cs420, 8).unwrap();
    let (r, d) = noisy_pair(g, 3);
    let v = |o: &[(String, f64)], n: &str| o.iter().find(|x| x.0 == n).unwrap().1;
    let base = run(g, &[("debug", "true")], &r, &d, CpuLevel::Scalar).unwrap();
    for s in 0..4 {
        let (num, den) = (v(&base, &format!("vif_num_scale{s}")), v(&base, &format!("vif_den_scale{s}")));
        assert_eq!(base[s].1, num / den);
        assert!(base[s].1 > 0.0 && base[s].1 < 1.0);
    }
    // A floor above the score replaces it; scale 0 has none.
    let floored = run(g, &[("vif_scale3_min_val", "0.999")], &r, &d, CpuLevel::Scalar).unwrap();
    assert_eq!(floored[3].1, 0.999);
    assert_eq!(floored[0].1, base[0].1);
    let skip = run(g, &[("vif_skip_scale0", "true"), ("debug", "true")], &r, &d, CpuLevel::Scalar).unwrap();
    assert_eq!(skip[0].1, 0.0);
    assert_eq!(skip[1].1, base[1].1);
    assert_eq!(v(&skip, "vif_den_scale0_ssclz"), -1.0);
    let capped = run(g, &[("vif_enhn_gain_limit", "1")], &r, &d, CpuLevel::Scalar).unwrap();
    for s in 0..4 {
        assert!(capped[s].1 <= base[s].1);
    }
    // Prescaling runs the VIF on the resampled picture.
    for m in ["nearest", "bilinear", "bicubic", "lanczos4"] {
        let out = run(g, &[("vif_prescale", "1.5"), ("vif_prescale_method", m)], &r, &d, CpuLevel::Scalar).unwrap();
        assert!(out.iter().all(|x| x.1.is_finite() && x.1 > 0.0), "{m}: {out:?}");
    }
}

#[test]
fn identical_pictures_score_one() {
    for bpc in [8u8, 10, 12, 16] {
        let g = Geometry::new(80, 64, ChromaSampling::Cs400, bpc).unwrap();
        let (r, _) = noisy_pair(g, 9);
        let out = run(g, &[], &r, &r, CpuLevel::Scalar).unwrap();
        for (n, x) in out {
            assert!((x - 1.0).abs() < 1e-5, "{bpc}-bit {n}: {x}");
        }
    }
}

#[test]
fn high_bit_depths_scale_to_the_8_bit_range() {
    // The same content at 8 and 10 bits (times 4) gives the same scores.
    let g8 = Geometry::new(64, 40, ChromaSampling::Cs400, 8).unwrap();
    let g10 = Geometry::new(64, 40, ChromaSampling::Cs400, 10).unwrap();
    let (r8, d8) = noisy_pair(g8, 4);
    let widen = |p: &Picture| {
        let mut q = Picture::new(g10);
        if let (PictureData::U8(a), PictureData::U16(b)) = (p.data(), q.data_mut()) {
            for (x, y) in a[0].data().iter().zip(b[0].data_mut()) {
                *y = *x as u16 * 4;
            }
        }
        q
    };
    let a = run(g8, &[], &r8, &d8, CpuLevel::Scalar).unwrap();
    let b = run(g10, &[], &widen(&r8), &widen(&d8), CpuLevel::Scalar).unwrap();
    assert_eq!(a, b);
}

/// Runs the scalar and SIMD kernels on one pair and asserts identical
/// numerators, denominators and decimated pictures.
fn check_simd(g: Geometry, opts: &[(&str, &str)], r: &Picture, d: &Picture, what: &str) {
    let o = Options::parse("float_vif", OPTIONS, opts.iter().copied()).unwrap();
    let make = |level| {
        Work::new(
            g.width as usize,
            g.height as usize,
            o.double("vif_kernelscale"),
            o.double("vif_prescale"),
            Method::parse(o.str("vif_prescale_method")).unwrap(),
            o.double("vif_sigma_nsq"),
            o.double("vif_enhn_gain_limit"),
            level,
        )
        .unwrap()
    };
    let (mut a, mut b) = (make(CpuLevel::Scalar), make(CpuLevel::Avx2));
    for w in [&mut a, &mut b] {
        w.load(r.data(), 0, g.bit_depth);
        w.load(d.data(), 1, g.bit_depth);
    }
    let (x, y) = (a.compute(false), b.compute(false));
    let bits = |v: [(f32, f32); 4]| v.map(|(n, d)| (n.to_bits(), d.to_bits()));
    assert_eq!(bits(x), bits(y), "{what} {}x{} {}-bit {opts:?}", g.width, g.height, g.bit_depth);
    assert!(a
        .images
        .iter()
        .zip(&b.images)
        .all(|(p, q)| p.iter().zip(q).all(|(u, v)| u.iter().zip(v).all(|(s, t)| s.to_bits() == t.to_bits()))));
}

fn fill(g: Geometry, seed: u64, kind: u32) -> (Picture, Picture) {
    let max = (1u32 << g.bit_depth) - 1;
    let (mut r, mut d) = noisy_pair(g, seed);
    let set = |p: &mut Picture, f: &dyn Fn(usize) -> u32| match p.data_mut() {
        PictureData::U8(x) => x[0].data_mut().iter_mut().enumerate().for_each(|(i, v)| *v = f(i) as u8),
        PictureData::U16(x) => x[0].data_mut().iter_mut().enumerate().for_each(|(i, v)| *v = f(i) as u16),
    };
    match kind {
        0 => {}
        1 => {
            set(&mut r, &|_| 0);
            set(&mut d, &|_| 0);
        }
        2 => {
            set(&mut r, &|_| max);
            set(&mut d, &|_| 0);
        }
        3 => {
            set(&mut r, &|i| if i % 3 == 0 { max } else { 0 });
            set(&mut d, &|i| if i % 2 == 0 { max } else { max / 2 });
        }
        _ => {
            // Smooth: variances near the noise threshold.
            set(&mut r, &|i| (i as u32 / 7) % (max + 1));
            set(&mut d, &|i| (i as u32 / 5) % (max + 1));
        }
    }
    (r, d)
}

#[test]
fn simd_matches_scalar_on_random_and_hostile_pictures() {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    let mut seed = 11;
    for w in 1..=65u32 {
        for bpc in [8u8, 10, 12, 16] {
            let g = Geometry::new(w, 21, ChromaSampling::Cs400, bpc).unwrap();
            for kind in 0..5 {
                seed += 1;
                let (r, d) = fill(g, seed, kind);
                check_simd(g, &[], &r, &d, &format!("kind {kind}"));
            }
        }
    }
    for (w, h) in [(97, 71), (130, 33), (577, 23), (40, 3), (33, 1)] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, 8).unwrap();
        for kind in 0..5 {
            let (r, d) = fill(g, kind as u64 + 100, kind);
            for opts in [
                &[][..],
                &[("vif_kernelscale", "2")],
                &[("vif_kernelscale", "3.7113402")],
                &[("vif_kernelscale", "0.5"), ("vif_sigma_nsq", "0")],
                &[("vif_prescale", "1.7"), ("vif_prescale_method", "bicubic"), ("vif_enhn_gain_limit", "1.2")],
            ] {
                check_simd(g, opts, &r, &d, &format!("kind {kind}"));
            }
        }
    }
}
