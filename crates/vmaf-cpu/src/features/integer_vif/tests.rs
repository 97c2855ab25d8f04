//! Unit tests of the integer VIF: the log table, the edge mirror, SIMD
//! against scalar on random and hostile pictures, and the extractor's
//! names and options.

use super::*;
use vmaf_core::{ChromaSampling, Geometry, Options, Picture};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() >> 32) as u32 % n
    }
}

#[test]
fn log2_table_is_rounded_single_precision_log2() {
    let t = Log2Table::new();
    for i in 32768u32..65536 {
        let want = ((i as f32).log2() * 2048.0).round() as u16;
        assert_eq!(t.data()[(i - 32768) as usize], want, "log2 table at {i}");
    }
    // The block form gives every entry back.
    for m in 0..32768usize {
        let e = t.blocks()[m >> 3];
        let got = (e & 0xFFFF) as u16 + u16::from((m & 7) as u32 >= e >> 16);
        assert_eq!(got, t.data()[m], "block form at {m}");
    }
    // Whole octaves are exact; the lookup adds 2048 per octave.
    assert_eq!(t.log2(1 << 16), 16 * 2048);
    assert_eq!(t.log2(1 << 40), 40 * 2048);
    assert_eq!(t.log2(3 << 17), t.log2(3 << 15) + 2048 * 2);
}

#[test]
fn mirror_is_reflection_without_edge_repeat() {
    // Long enough: plain reflection about the first and last sample.
    let s = mirror_sources(10, 4, 8);
    let expect: Vec<usize> = (-8isize..18)
        .map(|p| match p {
            p if p < -4 => 0,
            p if p < 0 => (-p) as usize,
            p if p < 10 => p as usize,
            p if p < 14 => (18 - p) as usize,
            _ => 9,
        })
        .collect();
    assert_eq!(s, expect);
    // Shorter than the mirror: libvmaf's in-place copies fold repeatedly.
    // n = 3, half 4: -1<-1, 3<-1, -2<-2, 4<-0, -3<-3(=1), 5<- -1(=1), -4<-4(=0), 6<- -2(=2)
    let s = mirror_sources(3, 4, 4);
    assert_eq!(s, vec![0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2]);
    // A single sample mirrors to itself.
    assert!(mirror_sources(1, 8, 8).iter().all(|&x| x == 0));
    let e = Edge::new(3, 4);
    assert_eq!(e.left, vec![1, 2, 1, 0]);
    assert_eq!(e.right, vec![1, 0, 1, 2]);
}

fn plane<T: Pixel>(w: usize, h: usize, stride: usize, f: &mut impl FnMut(usize, usize) -> T) -> Plane<T> {
    let mut v = vec![T::default(); stride * h];
    for y in 0..h {
        for x in 0..w {
            v[y * stride + x] = f(x, y);
        }
    }
    Plane::from_vec(v, w, h, stride).unwrap()
}

/// Kinds of content, chosen to hit every branch and every wrap-around of
/// the fixed-point arithmetic.
#[derive(Clone, Copy, Debug)]
enum Content {
    Random,
    Zero,
    Max,
    RefMaxDisZero,
    Checker,
    NoisyFlat,
    /// Reference random, distorted an attenuated copy plus noise.
    Attenuated,
    /// Independent extremes: 0 or max at random.
    Binary,
}

const CONTENTS: [Content; 8] = [
    Content::Random,
    Content::Zero,
    Content::Max,
    Content::RefMaxDisZero,
    Content::Checker,
    Content::NoisyFlat,
    Content::Attenuated,
    Content::Binary,
];

fn pictures(c: Content, w: usize, h: usize, bpc: u32, rng: &mut Rng) -> (Vec<u32>, Vec<u32>) {
    let max = (1u32 << bpc) - 1;
    let n = w * h;
    let mut r = vec![0u32; n];
    let mut d = vec![0u32; n];
    for i in 0..n {
        let (x, y) = (i % w, i / w);
        let (a, b) = match c {
            Content::Random => (rng.below(max + 1), rng.below(max + 1)),
            Content::Zero => (0, 0),
            Content::Max => (max, max),
            Content::RefMaxDisZero => (max, 0),
            Content::Checker => {
                let v = if (x + y) % 2 == 0 { max } else { 0 };
                (v, max - v)
            }
            Content::NoisyFlat => {
                let mid = max / 2;
                (mid + rng.below(3), mid + rng.below(max / 16 + 1))
            }
            Content::Attenuated => {
                let a = rng.below(max + 1);
                (a, (a / 2 + rng.below(max / 8 + 1)).min(max))
            }
            Content::Binary => (rng.below(2) * max, rng.below(2) * max),
        };
        r[i] = a;
        d[i] = b;
    }
    (r, d)
}

/// Runs both kernels on one pair and asserts identical sums and decimated
/// pictures.
fn check_pair<T: Pixel + TryFrom<u32>>(w: usize, h: usize, bpc: u32, r: &[u32], d: &[u32], gain: f64, what: &str)
where
    <T as TryFrom<u32>>::Error: std::fmt::Debug,
{
    // A stride wider than the picture: the kernels must not read past a row.
    let stride = w + 3;
    let rp: Plane<T> = plane(w, h, stride, &mut |x, y| T::try_from(r[y * w + x]).unwrap());
    let dp: Plane<T> = plane(w, h, stride, &mut |x, y| T::try_from(d[y * w + x]).unwrap());
    let mut scalar = Work::new(w, h, bpc, gain, CpuLevel::Scalar);
    let want = scalar.compute(&rp, &dp, false);
    // AVX-512 twice: with the fused multiply-add and with the split one.
    for (level, fused) in [(CpuLevel::Avx2, false), (CpuLevel::Avx512, false), (CpuLevel::Avx512, true)] {
        let mut simd = Work::new(w, h, bpc, gain, level);
        #[cfg(target_arch = "x86_64")]
        {
            simd.simd.fused = fused;
        }
        let got = simd.compute(&rp, &dp, false);
        assert_eq!(got, want, "{what}: {w}x{h} {bpc}-bit gain {gain} {level:?} fused {fused}");
        assert_eq!(simd.images, scalar.images, "{what}: {w}x{h} {bpc}-bit decimated pictures {level:?}");
    }
}

fn check_all_contents(w: usize, h: usize, bpc: u32, rng: &mut Rng) {
    for c in CONTENTS {
        let (r, d) = pictures(c, w, h, bpc, rng);
        let what = format!("{c:?}");
        for gain in [100.0, 1.0] {
            if bpc == 8 {
                check_pair::<u8>(w, h, bpc, &r, &d, gain, &what);
            } else {
                check_pair::<u16>(w, h, bpc, &r, &d, gain, &what);
            }
        }
    }
}

#[test]
fn simd_matches_scalar_on_every_width() {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for w in 1..=65 {
        for bpc in [8, 10, 12, 16] {
            check_all_contents(w, 19, bpc, &mut rng);
        }
    }
}

#[test]
fn simd_matches_scalar_on_every_height_and_odd_sizes() {
    let mut rng = Rng(42);
    for h in 1..=40 {
        for bpc in [8, 16] {
            check_all_contents(37, h, bpc, &mut rng);
        }
    }
    for (w, h) in [(97, 71), (130, 33), (257, 18), (577, 23), (64, 64)] {
        for bpc in [8, 10, 12, 16] {
            check_all_contents(w, h, bpc, &mut rng);
        }
    }
}

#[test]
fn simd_matches_scalar_on_smooth_gradients() {
    // Smooth content makes sigma1_sq hover around the noise threshold and
    // sigma12 around 0: the branch boundaries of the statistic.
    let mut rng = Rng(7);
    for bpc in [8u32, 10, 12, 16] {
        let (w, h) = (83, 45);
        let max = (1u32 << bpc) - 1;
        let r: Vec<u32> = (0..w * h).map(|i| ((i % w) as u32 * max / w as u32 + rng.below(2)).min(max)).collect();
        let d: Vec<u32> = (0..w * h).map(|i| ((i / w) as u32 * max / h as u32 + rng.below(3)).min(max)).collect();
        for gain in [100.0, 1.0, 1.5] {
            if bpc == 8 {
                check_pair::<u8>(w, h, bpc, &r, &d, gain, "gradients");
            } else {
                check_pair::<u16>(w, h, bpc, &r, &d, gain, "gradients");
            }
        }
    }
}

fn run(g: Geometry, opts: &[(&str, &str)], r: &Picture, d: &Picture, level: CpuLevel) -> Vec<(String, f64)> {
    let o = Options::parse("vif", OPTIONS, opts.iter().copied()).unwrap();
    let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: level, device: None }).unwrap();
    e.submit(&FramePair { reference: r, distorted: d, index: 3 }).unwrap();
    let mut sink = FeatureSink::new();
    e.collect(3, &mut sink).unwrap();
    assert!(sink.entries().iter().all(|x| x.index == 3));
    sink.entries().iter().map(|x| (e.feature_names()[x.slot as usize].clone(), x.value)).collect()
}

fn noisy_pair(g: Geometry, seed: u64) -> (Picture, Picture) {
    let mut rng = Rng(seed);
    let (mut r, mut d) = (Picture::new(g), Picture::new(g));
    if let (PictureData::U8(rp), PictureData::U8(dp)) = (r.data_mut(), d.data_mut()) {
        for (a, b) in rp[0].data_mut().iter_mut().zip(dp[0].data_mut()) {
            *a = rng.below(256) as u8;
            *b = (*a / 2).saturating_add(rng.below(40) as u8);
        }
    }
    (r, d)
}

#[test]
fn names_follow_libvmaf_options() {
    let g = Geometry::new(48, 40, ChromaSampling::Cs420, 8).unwrap();
    let (r, d) = noisy_pair(g, 1);
    let out = run(g, &[], &r, &d, CpuLevel::Scalar);
    let names: Vec<&str> = out.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(names, SCALE_NAMES);
    let out = run(g, &[("vif_enhn_gain_limit", "1")], &r, &d, CpuLevel::Scalar);
    assert_eq!(out[0].0, "integer_vif_scale0_egl_1");
    assert_eq!(out[3].0, "integer_vif_scale3_egl_1");
    let out = run(g, &[("vif_skip_scale0", "true"), ("vif_enhn_gain_limit", "1.5")], &r, &d, CpuLevel::Scalar);
    assert_eq!(out[1].0, "integer_vif_scale1_egl_1.5_ssclz");
    // debug is not a feature parameter: no suffix, eleven more outputs.
    let out = run(g, &[("debug", "true")], &r, &d, CpuLevel::Scalar);
    let names: Vec<&str> = out.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(&names[..4], SCALE_NAMES);
    assert_eq!(&names[4..], DEBUG_NAMES);
}

#[test]
fn options_change_scores_as_libvmaf_does() {
    let g = Geometry::new(64, 48, ChromaSampling::Cs420, 8).unwrap();
    let (r, d) = noisy_pair(g, 2);
    let base = run(g, &[("debug", "true")], &r, &d, CpuLevel::Scalar);
    let v = |o: &[(String, f64)], n: &str| o.iter().find(|x| x.0 == n).unwrap().1;
    // Every scale is a float ratio num/den of the debug outputs.
    for s in 0..4 {
        let num = v(&base, &format!("integer_vif_num_scale{s}")) as f32;
        let den = v(&base, &format!("integer_vif_den_scale{s}")) as f32;
        assert_eq!(base[s].1, (num / den) as f64);
        assert!(base[s].1 > 0.0 && base[s].1 < 1.0, "scale {s}: {}", base[s].1);
    }
    let num: f64 = (0..4).map(|s| v(&base, &format!("integer_vif_num_scale{s}"))).sum();
    let den: f64 = (0..4).map(|s| v(&base, &format!("integer_vif_den_scale{s}"))).sum();
    assert_eq!(v(&base, "integer_vif"), num / den);

    // Skipping scale 0 writes 0 there (and 0 / -1 in debug), and leaves
    // the other scales unchanged.
    let skip = run(g, &[("debug", "true"), ("vif_skip_scale0", "true")], &r, &d, CpuLevel::Scalar);
    assert_eq!(skip[0].1, 0.0);
    assert_eq!(
        &skip[1..4],
        &base[1..4].iter().map(|(n, x)| (format!("{}_ssclz", alias(n)), *x)).collect::<Vec<_>>()[..]
    );
    assert_eq!(v(&skip, "integer_vif_num_scale0_ssclz"), 0.0);
    assert_eq!(v(&skip, "integer_vif_den_scale0_ssclz"), -1.0);

    // A gain limit of 1 caps enhancement: scores can only go down.
    let capped = run(g, &[("vif_enhn_gain_limit", "1")], &r, &d, CpuLevel::Scalar);
    for s in 0..4 {
        assert!(capped[s].1 <= base[s].1, "scale {s}");
    }
}

fn alias(n: &str) -> &str {
    vmaf_core::alias::alias(n)
}

#[test]
fn identical_pictures_score_about_one() {
    for bpc in [8u8, 10] {
        let g = Geometry::new(80, 64, ChromaSampling::Cs400, bpc).unwrap();
        let mut rng = Rng(5);
        let mut r = Picture::new(g);
        match r.data_mut() {
            PictureData::U8(p) => p[0].data_mut().iter_mut().for_each(|x| *x = rng.below(256) as u8),
            PictureData::U16(p) => p[0].data_mut().iter_mut().for_each(|x| *x = rng.below(1024) as u16),
        }
        for level in [CpuLevel::Scalar, CpuLevel::Avx2] {
            let out = run(g, &[], &r, &r, level);
            for (n, x) in &out {
                assert!((x - 1.0).abs() < 1e-3, "{bpc}-bit {n}: {x}");
            }
        }
    }
}

#[test]
fn tiny_pictures_give_nan_where_libvmaf_divides_zero_by_zero() {
    // 7 pixels wide: scale 3 is 0 wide, its sums are empty.
    let g = Geometry::new(7, 30, ChromaSampling::Cs400, 8).unwrap();
    let (r, d) = (Picture::new(g), Picture::new(g));
    let out = run(g, &[], &r, &d, CpuLevel::Scalar);
    assert!(out[0].1.is_finite() && out[2].1.is_finite());
    assert!(out[3].1.is_nan());
}
