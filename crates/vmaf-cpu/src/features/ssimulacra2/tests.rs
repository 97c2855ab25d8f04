//! Tests of `ssimulacra2`: the constants it derives, the streaming blur
//! against a whole-plane one, and every CPU level against the scalar code,
//! bit for bit, on random and hostile pictures of every layout.

use super::*;
use vmaf_core::{ChromaSampling, Options};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 8) as f32 / (1u32 << 24) as f32
    }
}

/// How a test picture is filled.
#[derive(Clone, Copy, Debug)]
enum Fill {
    Random(u64),
    /// Random, but close to `Random(seed)`: each sample moved by at most 3.
    Near(u64, u64),
    Flat(u32),
}

fn fill(p: &mut Picture, how: Fill) {
    let max = (1u32 << p.bit_depth()) - 1;
    let mut base = Rng(match how {
        Fill::Random(s) | Fill::Near(s, _) => 2 * s + 1,
        Fill::Flat(_) => 1,
    });
    let mut noise = Rng(match how {
        Fill::Near(_, s) => 2 * s + 1,
        _ => 1,
    });
    let mut value = || match how {
        Fill::Flat(v) => v.min(max),
        Fill::Random(_) => base.next() % (max + 1),
        Fill::Near(..) => {
            let v = (base.next() % (max + 1)) as i64 + (noise.next() % 7) as i64 - 3;
            v.clamp(0, max as i64) as u32
        }
    };
    match p.data_mut() {
        PictureData::U8(planes) => planes.iter_mut().for_each(|pl| pl.data_mut().iter_mut().for_each(|s| *s = value() as u8)),
        PictureData::U16(planes) => planes.iter_mut().for_each(|pl| pl.data_mut().iter_mut().for_each(|s| *s = value() as u16)),
    }
}

fn score(g: Geometry, level: CpuLevel, matrix: &str, r: Fill, d: Fill) -> f64 {
    let o = Options::parse("ssimulacra2", OPTIONS, [("yuv_matrix", matrix)]).unwrap();
    let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: level, device: None }).unwrap();
    let (mut rp, mut dp) = (Picture::new(g), Picture::new(g));
    fill(&mut rp, r);
    fill(&mut dp, d);
    let mut sink = FeatureSink::new();
    // Two frames through one instance: nothing may leak between frames.
    for index in 0..2 {
        e.submit(&FramePair { reference: &rp, distorted: &dp, index }).unwrap();
        e.collect(index, &mut sink).unwrap();
    }
    let v: Vec<f64> = sink.entries().iter().map(|x| x.value).collect();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].to_bits(), v[1].to_bits(), "second frame differs");
    v[0]
}

/// The levels above scalar this machine can run.
fn simd_levels() -> Vec<CpuLevel> {
    #[cfg(target_arch = "x86_64")]
    if x86::Avx2::detect().is_some() {
        return vec![CpuLevel::Avx2, CpuLevel::Avx512];
    }
    Vec::new()
}

const SAMPLINGS: [ChromaSampling; 4] =
    [ChromaSampling::Cs420, ChromaSampling::Cs422, ChromaSampling::Cs444, ChromaSampling::Cs400];

#[test]
fn eotf_table_is_the_forks() {
    let t = eotf_table();
    assert_eq!(t.len(), EOTF_STEPS + 1);
    assert_eq!((t[0], t[EOTF_STEPS]), (0.0, 1.0));
    assert!(t.windows(2).all(|p| p[0] < p[1]));
    // FNV-1a over the entries' bits, checked once against the table the
    // fork commits (ssimulacra2_eotf_lut.h): every entry is the same `f32`.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in t.iter().flat_map(|v| v.to_bits().to_le_bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    assert_eq!(h, 0xd11d_d8a4_7297_6e4c);
    // Interpolation is exact at the nodes and stays within an entry's step.
    let p = LinearParams::new(0, 8);
    for (i, &v) in t.iter().enumerate().take(EOTF_STEPS).skip(1) {
        assert_eq!(scalar::eotf(&p.lut, i as f32 / EOTF_STEPS as f32), v, "node {i}");
    }
    assert_eq!(scalar::eotf(&p.lut, -0.5), 0.0);
    assert_eq!(scalar::eotf(&p.lut, 1.5), 1.0);
}

#[test]
fn cube_root_is_accurate() {
    let mut x = 1e-6f32;
    while x < 10.0 {
        let want = (x as f64).cbrt();
        // Two Newton steps from the bit-pattern guess: about 1.2e-6 at worst
        // (the fork's accuracy, which the metric is defined with).
        assert!((scalar::cbrt(x) as f64 - want).abs() <= 2e-6 * want, "{x}");
        x *= 1.01;
    }
    assert_eq!(scalar::cbrt(0.0), 0.0);
    assert_eq!(scalar::cbrt(-1.0), 0.0);
}

#[test]
fn recursive_gaussian_is_a_unit_gaussian_of_sigma_1_5() {
    let g = Gauss::new(SIGMA);
    assert_eq!(g.radius, 5);
    // Impulse response of one pass, centred on sample 40 of 81.
    let n = 81;
    let mut resp = vec![0.0f32; n];
    let input = |i: isize| if i == 40 { 1.0f32 } else { 0.0 };
    let (mut p1, mut p2) = ([0.0; 3], [0.0; 3]);
    let r = g.radius as isize;
    for k in 1 - r..n as isize {
        let v = scalar::iir_step(&g, input(k - r - 1) + input(k + r - 1), &mut p1, &mut p2);
        if k >= 0 {
            resp[k as usize] = v;
        }
    }
    let sum: f64 = resp.iter().map(|&v| v as f64).sum();
    assert!((sum - 1.0).abs() < 1e-3, "gain {sum}");
    for d in 0..12usize {
        let want = (-(d as f64).powi(2) / (2.0 * SIGMA * SIGMA)).exp() / (SIGMA * (2.0 * std::f64::consts::PI).sqrt());
        let (lo, hi) = (resp[40 - d] as f64, resp[40 + d] as f64);
        assert!((lo - hi).abs() < 1e-5, "asymmetric at {d}: {lo} {hi}");
        assert!((lo - want).abs() < 0.01, "tap {d}: {lo} vs {want}");
    }
}

#[test]
fn option_table_and_names() {
    assert_eq!(SPEC.name, "ssimulacra2");
    assert_eq!(SPEC.provided_features, ["ssimulacra2"]);
    assert!(Options::parse("ssimulacra2", OPTIONS, [("yuv_matrix", "4")]).is_err());
    assert!(Options::parse("ssimulacra2", OPTIONS, [("yuv_matrix", "-1")]).is_err());
    assert!(Options::parse("ssimulacra2", OPTIONS, [("bogus", "1")]).is_err());
    let o = Options::parse("ssimulacra2", OPTIONS, [("yuv_matrix", "3")]).unwrap();
    let g = Geometry::new(16, 16, ChromaSampling::Cs420, 8).unwrap();
    let e = create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None }).unwrap();
    assert_eq!(e.feature_names(), ["ssimulacra2"]);
}

#[test]
fn scores_identity_as_100_and_distortion_below() {
    for s in SAMPLINGS {
        for bpc in [8u8, 10, 12, 16] {
            let g = Geometry::new(40, 36, s, bpc).unwrap();
            assert_eq!(score(g, CpuLevel::Scalar, "0", Fill::Random(7), Fill::Random(7)), 100.0);
            let near = score(g, CpuLevel::Scalar, "0", Fill::Random(7), Fill::Near(7, 9));
            let far = score(g, CpuLevel::Scalar, "0", Fill::Random(7), Fill::Random(8));
            assert!(far < near && near < 100.0, "{s:?} {bpc}: near {near}, far {far}");
        }
    }
}

#[test]
fn yuv_matrix_changes_the_colours() {
    let g = Geometry::new(48, 40, ChromaSampling::Cs444, 8).unwrap();
    let scores: Vec<f64> =
        ["0", "1", "2", "3"].iter().map(|m| score(g, CpuLevel::Scalar, m, Fill::Random(3), Fill::Near(3, 4))).collect();
    for i in 0..4 {
        for j in i + 1..4 {
            assert_ne!(scores[i], scores[j], "matrices {i} and {j}");
        }
    }
}

#[test]
fn too_small_pictures_score_100() {
    // No scale is at least 8x8: nothing is measured, as in the fork.
    for (w, h) in [(1, 1), (7, 64), (64, 7)] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, 8).unwrap();
        assert_eq!(score(g, CpuLevel::Scalar, "0", Fill::Random(1), Fill::Random(2)), 100.0);
    }
}

#[test]
fn rejects_pictures_of_another_geometry() {
    let o = Options::defaults("ssimulacra2", OPTIONS);
    let g = Geometry::new(16, 16, ChromaSampling::Cs420, 8).unwrap();
    let other = Geometry::new(16, 16, ChromaSampling::Cs444, 8).unwrap();
    let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None }).unwrap();
    let (p, q) = (Picture::new(g), Picture::new(other));
    assert!(matches!(e.submit(&FramePair { reference: &p, distorted: &q, index: 0 }), Err(Error::Mismatch(_))));
}

#[test]
fn chroma_columns_follow_the_forks_nearest_neighbour() {
    assert!(matches!(ChromaCols::new(10, 10), ChromaCols::Same));
    assert!(matches!(ChromaCols::new(10, 5), ChromaCols::Half));
    // Odd 4:2:0 widths (chroma rounded up) still map x to x / 2.
    assert!(matches!(ChromaCols::new(577, 289), ChromaCols::Half));
    match ChromaCols::new(9, 4) {
        ChromaCols::Table(t) => assert_eq!(t, [0, 0, 0, 1, 1, 2, 2, 3, 3]),
        c => panic!("{c:?}"),
    }
    let mut out = [0.0f32; 7];
    ChromaCols::Half.fill(&[1u8, 2, 3, 4], &mut out, 7);
    assert_eq!(out, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0]);
}

/// The norm sums of one plane the plain way: both blur passes over whole
/// planes, then the terms in the documented order into the same lanes.
fn whole_plane_sums(g: &Gauss, a: &[f32], b: &[f32], w: usize, h: usize) -> Acc {
    let r = g.radius as isize;
    let blur = |src: &dyn Fn(usize, usize) -> f32| {
        let mut tmp = vec![0.0f32; w * h];
        for y in 0..h {
            let (mut p1, mut p2) = ([0.0; 3], [0.0; 3]);
            let at = |x: isize| if (0..w as isize).contains(&x) { src(x as usize, y) } else { 0.0 };
            for n in 1 - r..w as isize {
                let v = scalar::iir_step(g, at(n - r - 1) + at(n + r - 1), &mut p1, &mut p2);
                if n >= 0 {
                    tmp[y * w + n as usize] = v;
                }
            }
        }
        let mut out = vec![0.0f32; w * h];
        for x in 0..w {
            let (mut p1, mut p2) = ([0.0; 3], [0.0; 3]);
            let at = |y: isize| if (0..h as isize).contains(&y) { tmp[y as usize * w + x] } else { 0.0 };
            for n in 1 - r..h as isize {
                let v = scalar::iir_step(g, at(n - r - 1) + at(n + r - 1), &mut p1, &mut p2);
                if n >= 0 {
                    out[n as usize * w + x] = v;
                }
            }
        }
        out
    };
    let maps: Vec<Vec<f32>> =
        (0..MAPS).map(|m| blur(&|x, y| scalar::map_value(m, a[y * w + x], b[y * w + x]))).collect();
    // Rows in blocks of 8; in a block, groups of 8 columns; then rows, then
    // columns (the order scalar::vertical documents).
    let mut acc = Acc::default();
    for y0 in (0..h).step_by(LANES) {
        for x0 in (0..w).step_by(LANES) {
            for y in y0..(y0 + LANES).min(h) {
                for x in x0..(x0 + LANES).min(w) {
                    let i = y * w + x;
                    let d = scalar::ssim_term(maps[3][i], maps[4][i], maps[0][i], maps[1][i], maps[2][i]);
                    acc.add(Acc::SSIM, x % LANES, d);
                    let e = scalar::edge_term(a[i], maps[3][i], b[i], maps[4][i]);
                    acc.add(Acc::ARTIFACT, x % LANES, if e > 0.0 { e } else { 0.0 });
                    acc.add(Acc::DETAIL_LOSS, x % LANES, if e < 0.0 { -e } else { 0.0 });
                }
            }
        }
    }
    acc
}

#[test]
fn streamed_blur_equals_whole_plane_blur() {
    let mut levels = vec![CpuLevel::Scalar];
    levels.extend(simd_levels());
    for level in levels {
        for (w, h) in [(8, 8), (9, 15), (33, 16), (17, 23), (64, 41), (13, 100)] {
            let geo = Geometry::new(w as u32, h as u32, ChromaSampling::Cs444, 8).unwrap();
            let mut e = Ssimulacra2::new(geo, 0, kernels_for(level)).unwrap();
            let d = e.full;
            let mut rng = Rng(w as u64 * 31 + h as u64);
            let mut planes = [vec![0.0f32; w * h], vec![0.0f32; w * h]];
            for (img, plane) in planes.iter_mut().enumerate() {
                for y in 0..h {
                    for x in 0..w {
                        let v = 0.2 + 0.6 * rng.unit();
                        plane[y * w + x] = v;
                        e.buf.xyb[img][1][y * d.stride + x] = v;
                    }
                }
            }
            let got = e.plane_sums(1, d);
            let want = whole_plane_sums(&e.gauss, &planes[0], &planes[1], w, h);
            assert_eq!(got, want, "{level:?} {w}x{h}");
        }
    }
}

/// Kernel by kernel, each SIMD level against the scalar one.
#[cfg(target_arch = "x86_64")]
mod kernels {
    use super::*;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn linear_rows_match() {
        let Some(k) = x86::Avx2::detect() else { return };
        for bpc in [8u8, 10, 12, 16] {
            let max = ((1u32 << bpc) - 1) as f32;
            for matrix in 0..4 {
                let p = LinearParams::new(matrix, bpc);
                for w in 1..=65usize {
                    let n = w.div_ceil(LANES) * LANES;
                    let mut rng = Rng(w as u64 + 100 * bpc as u64 + 7 * matrix as u64);
                    let mut row = || -> Vec<f32> {
                        (0..n)
                            .map(|i| match i % 5 {
                                0 => 0.0,
                                1 => max,
                                _ => (rng.next() % (max as u32 + 1)) as f32,
                            })
                            .collect()
                    };
                    let (y, u, v) = (row(), row(), row());
                    let mut want: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; n]);
                    let mut got: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; n]);
                    let [a, b, c] = &mut want;
                    scalar::linear_row(&p, &y, &u, &v, [a, b, c], w);
                    let [a, b, c] = &mut got;
                    k.linear_row(&p, &y, &u, &v, [a, b, c], w);
                    for (g, t) in got.iter().zip(&want) {
                        assert_eq!(bits(&g[..w]), bits(&t[..w]), "{bpc}-bit matrix {matrix} w {w}");
                    }
                }
            }
        }
    }

    #[test]
    fn xyb_matches() {
        let Some(k) = x86::Avx2::detect() else { return };
        let mut rng = Rng(5);
        for n in [1usize, 7, 8, 9, 64, 1000] {
            let lin: [Vec<f32>; 3] = std::array::from_fn(|c| {
                (0..n)
                    .map(|i| match (i + c) % 6 {
                        0 => 0.0,
                        1 => 1.0,
                        2 => 1e-7,
                        _ => rng.unit(),
                    })
                    .collect()
            });
            let mut want: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; n]);
            let mut got = want.clone();
            let [a, b, c] = &mut want;
            scalar::xyb([&lin[0], &lin[1], &lin[2]], [a, b, c], n);
            let [a, b, c] = &mut got;
            k.xyb([&lin[0], &lin[1], &lin[2]], [a, b, c], n);
            for (g, t) in got.iter().zip(&want) {
                assert_eq!(bits(g), bits(t), "n {n}");
            }
        }
    }

    #[test]
    fn cube_roots_match_on_every_exponent() {
        let Some(k) = x86::Avx2::detect() else { return };
        // Through the XYB kernel: lanes whose opsin mix sweeps many
        // magnitudes, including values far outside the picture range.
        let mut rng = Rng(11);
        let n = 4096;
        let lin: [Vec<f32>; 3] =
            std::array::from_fn(|_| (0..n).map(|_| f32::from_bits(rng.next() & 0x5fff_ffff)).collect());
        let mut want: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; n]);
        let mut got = want.clone();
        let [a, b, c] = &mut want;
        scalar::xyb([&lin[0], &lin[1], &lin[2]], [a, b, c], n);
        let [a, b, c] = &mut got;
        k.xyb([&lin[0], &lin[1], &lin[2]], [a, b, c], n);
        for (g, t) in got.iter().zip(&want) {
            assert_eq!(bits(g), bits(t));
        }
    }

    #[test]
    fn downsampled_rows_match() {
        let Some(k) = x86::Avx2::detect() else { return };
        let mut rng = Rng(3);
        for iw in 1..=65 {
            let r0: Vec<f32> = (0..iw).map(|_| rng.unit()).collect();
            let r1: Vec<f32> = (0..iw).map(|_| rng.unit()).collect();
            let (mut want, mut got) = (vec![0.0; iw], vec![0.0; iw]);
            scalar::downsample_row(&r0, &r1, iw, &mut want);
            k.downsample_row(&r0, &r1, iw, &mut got);
            assert_eq!(bits(&got), bits(&want), "iw {iw}");
        }
    }
}

/// Whole pictures: every SIMD level gives the scalar score, to the bit.
#[test]
fn every_level_matches_scalar_on_random_pictures() {
    let levels = simd_levels();
    if levels.is_empty() {
        return;
    }
    let mut checked = 0;
    for s in SAMPLINGS {
        for bpc in [8u8, 10, 12, 16] {
            for (w, h) in [(8u32, 8u32), (9, 13), (31, 17), (64, 40), (67, 45), (130, 70)] {
                let g = Geometry::new(w, h, s, bpc).unwrap();
                let seed = (w * 1000 + h) as u64 + bpc as u64;
                for (r, d) in [(Fill::Random(seed), Fill::Near(seed, 2)), (Fill::Random(seed), Fill::Random(seed + 1))] {
                    let want = score(g, CpuLevel::Scalar, "0", r, d);
                    assert!(want < 100.0, "{w}x{h} {s:?} {bpc}-bit: {want}");
                    for &level in &levels {
                        let got = score(g, level, "0", r, d);
                        assert_eq!(got.to_bits(), want.to_bits(), "{level:?} {w}x{h} {s:?} {bpc}-bit: {got} vs {want}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 0);
}

#[test]
fn every_level_matches_scalar_at_every_width() {
    let levels = simd_levels();
    if levels.is_empty() {
        return;
    }
    for w in 1..=65u32 {
        let h = 8 + w % 11;
        let s = SAMPLINGS[w as usize % 4];
        let bpc = [8u8, 10, 12, 16][w as usize / 4 % 4];
        let matrix = ["0", "1", "2", "3"][w as usize % 4];
        let g = Geometry::new(w, h, s, bpc).unwrap();
        let want = score(g, CpuLevel::Scalar, matrix, Fill::Random(w as u64), Fill::Near(w as u64, 5));
        for &level in &levels {
            let got = score(g, level, matrix, Fill::Random(w as u64), Fill::Near(w as u64, 5));
            assert_eq!(got.to_bits(), want.to_bits(), "{level:?} width {w} {s:?} {bpc}-bit");
        }
    }
}

#[test]
fn every_level_matches_scalar_on_flat_extremes() {
    let levels = simd_levels();
    for s in SAMPLINGS {
        for bpc in [8u8, 10, 12, 16] {
            let max = (1u32 << bpc) - 1;
            let g = Geometry::new(37, 21, s, bpc).unwrap();
            for (a, b) in [(0, 0), (max, max), (0, max), (max, 0), (1 << (bpc - 1), max)] {
                let want = score(g, CpuLevel::Scalar, "0", Fill::Flat(a), Fill::Flat(b));
                assert!(want.is_finite(), "{s:?} {bpc}-bit {a} vs {b}: {want}");
                if a == b {
                    assert_eq!(want, 100.0);
                }
                for &level in &levels {
                    let got = score(g, level, "0", Fill::Flat(a), Fill::Flat(b));
                    assert_eq!(got.to_bits(), want.to_bits(), "{level:?} {s:?} {bpc}-bit {a} vs {b}");
                }
            }
        }
    }
}
