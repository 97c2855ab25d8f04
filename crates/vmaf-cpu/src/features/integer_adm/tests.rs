//! Extractor-level tests of integer ADM.
//!
//! The golden files check the pipeline on real clips, where every band is
//! wide enough for the trimmed border to keep the masking window off the
//! band edges. Small pictures (down to 33x33) reach the mirrored edges at
//! the coarse levels, so the pipeline is also checked against `oracle`, a
//! direct full-band transcription of libvmaf's stage order, index tables
//! and border cases. SIMD levels are checked against the scalar level on
//! whole pictures, including hostile ones.

use super::compute::{LevelScores, Luma, Pipeline, Settings, SCALAR};
use super::params::{CsfMode, Level, Viewing};
use super::scalar::{self, HI, LO, LO_SUM};
use super::*;
use vmaf_core::{ChromaSampling, Geometry, Options, Picture, Plane};

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Picture content: 0 textured scene, 1 white noise, 2 flat zero, 3 flat
/// maximum, 4 checkerboard of extremes.
const CONTENTS: usize = 5;

/// A reference luma plane and a distorted one (blurred, noisy, or
/// amplified where the content allows), as plain samples.
fn planes(w: usize, h: usize, bpc: u32, content: usize, rng: &mut Rng) -> (Vec<u16>, Vec<u16>) {
    let max = (1u32 << bpc) - 1;
    let r: Vec<u16> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f64, (i / w) as f64);
            let v = match content {
                0 => {
                    let s = 0.5
                        + 0.3 * (x * 0.21).sin() * (y * 0.13).cos()
                        + [0.15, -0.1, -0.1][(x as usize / 7 + y as usize / 5) % 3];
                    s * max as f64 + (rng.below(9) as f64 - 4.0) * max as f64 / 255.0
                }
                1 => rng.below(max as u64 + 1) as f64,
                2 => 0.0,
                3 => max as f64,
                _ => {
                    if (i % w + i / w) & 1 == 0 {
                        max as f64
                    } else {
                        0.0
                    }
                }
            };
            v.clamp(0.0, max as f64) as u16
        })
        .collect();
    let d = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let at = |dx: isize, dy: isize| {
                let xx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                let yy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                r[yy * w + xx] as i64
            };
            let v = match (content + x / 9 + y / 11) % 3 {
                0 => (at(-1, 0) + 2 * at(0, 0) + at(1, 0) + at(0, -1) + at(0, 1)) / 6,
                1 => at(0, 0) + rng.below(2 * (max as u64 / 32) + 1) as i64 - (max / 32) as i64,
                _ => (at(0, 0) - max as i64 / 2) * 5 / 4 + max as i64 / 2,
            };
            v.clamp(0, max as i64) as u16
        })
        .collect();
    (r, d)
}

fn picture(g: Geometry, luma: &[u16]) -> Picture {
    let mut p = Picture::new(g);
    match p.data_mut() {
        PictureData::U8(pl) => pl[0].data_mut().iter_mut().zip(luma).for_each(|(o, &v)| *o = v as u8),
        PictureData::U16(pl) => pl[0].data_mut().copy_from_slice(luma),
    }
    p
}

fn default_view() -> Viewing {
    Viewing { norm_view_dist: 3.0, ref_display_height: 1080, mode: CsfMode::Watson97, csf_scale: 1.0, csf_diag_scale: 1.0 }
}

fn default_settings() -> Settings {
    Settings { enhn_gain_limit: 100.0, noise_weight: 0.03125, skip_aim: false, skip_scale0: false }
}

/// libvmaf's integer ADM, transcribed stage by stage over whole bands.
/// Its loops index by position on purpose, as libvmaf's do.
#[allow(clippy::needless_range_loop)]
mod oracle {
    use super::*;

    /// `dwt2_src_indices_filt` for one dimension of `n` samples.
    fn indices(n: usize) -> Vec<[usize; 4]> {
        let half = n.div_ceil(2);
        let mut ind = vec![[0usize; 4]; half];
        ind[0] = [1, 0, 1, 2];
        for (i, t) in ind.iter_mut().enumerate().take(half - 2).skip(1) {
            *t = [2 * i - 1, 2 * i, 2 * i + 1, 2 * i + 2];
        }
        for (i, t) in ind.iter_mut().enumerate().skip(half - 2) {
            for (k, v) in t.iter_mut().enumerate() {
                let x = 2 * i + k - 1;
                *v = if x >= n { 2 * n - x - 1 } else { x };
            }
        }
        ind
    }

    /// A band of `w * h` values (stored widened; each stage truncates to
    /// libvmaf's type itself).
    #[derive(Clone)]
    struct Band {
        w: usize,
        v: Vec<i64>,
    }
    impl Band {
        fn new(w: usize, h: usize) -> Self {
            Band { w, v: vec![0; w * h] }
        }
        fn at(&self, i: usize, j: usize) -> i64 {
            self.v[i * self.w + j]
        }
        fn set(&mut self, i: usize, j: usize, x: i64) {
            self.v[i * self.w + j] = x;
        }
    }

    /// [a, h, v, d] of one image.
    type Bands = [Band; 4];

    fn dwt(src: &Band, in_w: usize, in_h: usize, level: usize, bpc: u32) -> Bands {
        let (w, h) = (in_w.div_ceil(2), in_h.div_ceil(2));
        let (iy, ix) = (indices(in_h), indices(in_w));
        let mut out: Bands = std::array::from_fn(|_| Band::new(w, h));
        for i in 0..h {
            let mut lo = vec![0i64; in_w];
            let mut hi = vec![0i64; in_w];
            for j in 0..in_w {
                let s = iy[i].map(|y| src.at(y, j));
                if level == 0 {
                    let add = 1i32 << (bpc - 1);
                    let (mut l, mut hh) = (0i32, 0i32);
                    for k in 0..4 {
                        l = l.wrapping_add(LO[k].wrapping_mul(s[k] as i32));
                        hh = hh.wrapping_add(HI[k].wrapping_mul(s[k] as i32));
                    }
                    l = l.wrapping_sub(LO_SUM * add);
                    lo[j] = (l.wrapping_add(add) >> bpc) as i16 as i64;
                    hi[j] = (hh.wrapping_add(add) >> bpc) as i16 as i64;
                } else {
                    let (add, shift) = [(0i64, 0u32), (32768, 16), (32768, 16)][level - 1];
                    let l: i64 = (0..4).map(|k| LO[k] as i64 * s[k]).sum();
                    let hh: i64 = (0..4).map(|k| HI[k] as i64 * s[k]).sum();
                    lo[j] = ((l + add) >> shift) as i32 as i64;
                    hi[j] = ((hh + add) >> shift) as i32 as i64;
                }
            }
            for j in 0..w {
                let t = ix[j];
                let f = |row: &[i64], c: &[i32; 4]| -> i64 {
                    if level == 0 {
                        let acc: i32 = (0..4).map(|k| c[k] * row[t[k]] as i32).fold(0, i32::wrapping_add);
                        (acc.wrapping_add(32768) >> 16) as i16 as i64
                    } else {
                        let (add, shift) = [(16384i64, 15u32), (32768, 16), (16384, 15)][level - 1];
                        let acc: i64 = (0..4).map(|k| c[k] as i64 * row[t[k]]).sum();
                        ((acc + add) >> shift) as i32 as i64
                    }
                };
                out[0].set(i, j, f(&lo, &LO));
                out[2].set(i, j, f(&lo, &HI));
                out[1].set(i, j, f(&hi, &LO));
                out[3].set(i, j, f(&hi, &HI));
            }
        }
        out
    }

    /// libvmaf's region for decoupling and CSF: the trimmed region widened
    /// by the filter taps (right/bottom computed before left/top clamp).
    fn tap_region(n: usize) -> (usize, usize) {
        let l = (n as f64 * 0.1 - 0.5 - 1.0) as i64;
        let r = n as i64 - l + 2;
        (l.max(0) as usize, r.min(n as i64) as usize)
    }

    fn trimmed(n: usize) -> (usize, usize) {
        let l = (n as f64 * 0.1 - 0.5) as i64;
        (l as usize, (n as i64 - l) as usize)
    }

    pub fn run(r: &[u16], d: &[u16], w: usize, h: usize, bpc: u32, view: &Viewing, s: &Settings) -> [LevelScores; 4] {
        let cos = super::super::params::cos_1deg_sq();
        let mut cur = [r, d].map(|p| Band { w, v: p.iter().map(|&x| x as i64).collect() });
        let (mut cw, mut ch) = (w, h);
        let mut out = [LevelScores::default(); 4];
        for level in 0..4 {
            let lvl = Level::new(level, cw, ch, view);
            let rb = dwt(&cur[0], cw, ch, level, bpc);
            let db = dwt(&cur[1], cw, ch, level, bpc);
            let (bw, bh) = (lvl.w, lvl.h);
            if level == 0 && s.skip_scale0 {
                out[0] = LevelScores { num: 0.0, den: 1e-10, aim: 0.0 };
                cur = [rb[0].clone(), db[0].clone()];
                (cw, ch) = (bw, bh);
                continue;
            }
            // Decoupling: restored r and additive a, per angle (h, v, d).
            let mut rr: [Band; 3] = std::array::from_fn(|_| Band::new(bw, bh));
            let mut aa: [Band; 3] = std::array::from_fn(|_| Band::new(bw, bh));
            let (top, bottom) = tap_region(bh);
            let (left, right) = tap_region(bw);
            for i in top..bottom {
                for j in left..right {
                    let o = [1, 2, 3].map(|b| rb[b].at(i, j));
                    let t = [1, 2, 3].map(|b| db[b].at(i, j));
                    let angle = scalar::same_direction(o[0], o[1], t[0], t[1], cos);
                    for a in 0..3 {
                        let (rv, av) = if level == 0 {
                            let x = scalar::restore(scalar::gain16(o[a], t[a]), o[a], t[a], angle, s.enhn_gain_limit);
                            let x = x as i16;
                            (x as i64, (t[a] as i16).wrapping_sub(x) as i64)
                        } else {
                            let (oo, tt) = (o[a] as i32, t[a] as i32);
                            let x = scalar::restore(scalar::gain32(oo, tt), o[a], t[a], angle, s.enhn_gain_limit);
                            let x = x as i32;
                            (x as i64, tt.wrapping_sub(x) as i64)
                        };
                        rr[a].set(i, j, rv);
                        aa[a].set(i, j, av);
                    }
                }
            }
            // CSF of both halves over the same region: (neighbour weight
            // |csf|/30, centre weight |csf|/15).
            let csf = |src: &[Band; 3]| -> ([Band; 3], [Band; 3]) {
                let mut f30: [Band; 3] = std::array::from_fn(|_| Band::new(bw, bh));
                let mut c15: [Band; 3] = std::array::from_fn(|_| Band::new(bw, bh));
                for a in 0..3 {
                    for i in top..bottom {
                        for j in left..right {
                            let x = src[a].at(i, j);
                            let (f, c) = if level == 0 {
                                let v = lvl.rfactor_q0[a] as i32 * x as i32;
                                let dst = (v.wrapping_add(scalar::CSF0_ADD[a]) >> scalar::CSF0_SHIFT[a]) as i16;
                                let m = (dst as i32).abs();
                                (((4369 * m + 2048) >> 12) as i16 as i64, ((8738 * m + 2048) >> 12) as i16 as i64)
                            } else {
                                let dst = scalar::csf32(x as i32, lvl.rfactor_q[a]);
                                (
                                    scalar::q32_weight(dst, scalar::ONE_BY_30_Q32) as i64,
                                    scalar::q32_weight(dst, scalar::ONE_BY_15_Q32) as i64,
                                )
                            };
                            f30[a].set(i, j, f);
                            c15[a].set(i, j, c);
                        }
                    }
                }
                (f30, c15)
            };
            let (fa, ca) = csf(&aa);
            let (fr, cr) = csf(&rr);
            // Reference energy over the trimmed region.
            let (ttop, tbottom) = trimmed(bh);
            let (tleft, tright) = trimmed(bw);
            let mut den = [0u64; 3];
            for i in ttop..tbottom {
                for a in 0..3 {
                    let row: Vec<i64> = (tleft..tright).map(|j| rb[a + 1].at(i, j)).collect();
                    let sum = if level == 0 {
                        let row: Vec<i16> = row.iter().map(|&x| x as i16).collect();
                        scalar::den0_row([&row, &[], &[]])[0]
                    } else {
                        let row: Vec<i32> = row.iter().map(|&x| x as i32).collect();
                        scalar::den_row([&row, &[], &[]], &lvl.den)[0]
                    };
                    den[a] = den[a].wrapping_add(sum.wrapping_add(lvl.den.row_add) >> lvl.den.row_shift);
                }
            }
            // Masking, with libvmaf's 3x3 windows at the band edges: row and
            // column -1 read 1, row h and column w read h-1 and w-1.
            let masking = |x: &[Band; 3], f: &[Band; 3], c: &[Band; 3]| -> [i64; 3] {
                let mut acc = [0i64; 3];
                let rows = |i: usize| if i == 0 { [1, 0, 1] } else if i == bh - 1 { [i - 1, i, i] } else { [i - 1, i, i + 1] };
                let cols = |j: usize| if j == 0 { [1, 0, 1] } else if j == bw - 1 { [j - 1, j, j] } else { [j - 1, j, j + 1] };
                for i in ttop..tbottom {
                    let mut inner = [0i64; 3];
                    for j in tleft..tright {
                        let mut thr = 0i32;
                        for a in 0..3 {
                            for (yi, &y) in rows(i).iter().enumerate() {
                                for (xi, &xx) in cols(j).iter().enumerate() {
                                    let v = if yi == 1 && xi == 1 { c[a].at(y, xx) } else { f[a].at(y, xx) };
                                    thr = thr.wrapping_add(v as i32);
                                }
                            }
                        }
                        for a in 0..3 {
                            let xv = x[a].at(i, j);
                            let v = if level == 0 {
                                (xv as i32 * lvl.rfactor_q0[a] as i32).wrapping_abs()
                            } else {
                                scalar::csf32(xv as i32, lvl.rfactor_q[a]).wrapping_abs()
                            };
                            inner[a] = inner[a].wrapping_add(scalar::cube(v, thr << lvl.cm.thr_shift[a], &lvl.cm, a));
                        }
                    }
                    for a in 0..3 {
                        acc[a] = acc[a].wrapping_add(inner[a].wrapping_add(lvl.cm.row_add) >> lvl.cm.row_shift);
                    }
                }
                acc
            };
            let num = masking(&rr, &fa, &ca);
            let aim = if s.skip_aim { [0; 3] } else { masking(&aa, &fr, &cr) };
            out[level] = LevelScores {
                num: lvl.numerator(num, s.noise_weight),
                den: lvl.denominator(den, s.noise_weight),
                aim: if s.skip_aim { 0.0 } else { lvl.numerator(aim, 0.0) },
            };
            cur = [rb[0].clone(), db[0].clone()];
            (cw, ch) = (bw, bh);
        }
        out
    }
}

fn pipeline_scores(r: &[u16], d: &[u16], w: usize, h: usize, bpc: u32, view: &Viewing, s: Settings) -> [LevelScores; 4] {
    let mut p = Pipeline::new(w, h, bpc, view, s, &SCALAR).unwrap();
    if bpc == 8 {
        let to8 = |x: &[u16]| Plane::from_vec(x.iter().map(|&v| v as u8).collect(), w, h, w).unwrap();
        p.run(Luma::U8(&to8(r)), Luma::U8(&to8(d)))
    } else {
        let pl = |x: &[u16]| Plane::from_vec(x.to_vec(), w, h, w).unwrap();
        p.run(Luma::U16(&pl(r)), Luma::U16(&pl(d)))
    }
}

#[test]
fn pipeline_matches_full_band_oracle_on_small_pictures() {
    let mut rng = Rng::new(11);
    let sizes = [(33, 33), (34, 40), (47, 35), (64, 64), (65, 97), (120, 33), (241, 50), (37, 300)];
    let views = [
        default_view(),
        Viewing { norm_view_dist: 1.5, ref_display_height: 2160, mode: CsfMode::BartenWatsonBlend, ..default_view() },
        Viewing { mode: CsfMode::Barten, csf_scale: 1.2, ..default_view() },
    ];
    let mut compared = 0;
    for (n, &(w, h)) in sizes.iter().enumerate() {
        for content in 0..CONTENTS {
            let bpc = [8, 10, 12, 16][(n + content) % 4];
            let (r, d) = planes(w, h, bpc, content, &mut rng);
            for (vi, view) in views.iter().enumerate() {
                let mut s = default_settings();
                match (n + vi) % 4 {
                    1 => s.enhn_gain_limit = 1.0,
                    2 => s.skip_aim = true,
                    3 => {
                        s.noise_weight = 0.02;
                        s.enhn_gain_limit = 1.5;
                    }
                    _ => {}
                }
                let want = oracle::run(&r, &d, w, h, bpc, view, &s);
                let got = pipeline_scores(&r, &d, w, h, bpc, view, s);
                assert_eq!(got, want, "{w}x{h} {bpc}-bit content {content} view {vi} {s:?}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, sizes.len() * CONTENTS * views.len());
}

#[test]
fn skip_scale0_matches_oracle() {
    let mut rng = Rng::new(12);
    let (w, h) = (70, 45);
    let (r, d) = planes(w, h, 10, 0, &mut rng);
    let s = Settings { skip_scale0: true, ..default_settings() };
    let want = oracle::run(&r, &d, w, h, 10, &default_view(), &s);
    assert_eq!(pipeline_scores(&r, &d, w, h, 10, &default_view(), s), want);
    assert_eq!(want[0], LevelScores { num: 0.0, den: 1e-10, aim: 0.0 });
}

fn extractor(g: Geometry, opts: &[(&str, &str)], level: CpuLevel) -> Result<Box<dyn Extractor>> {
    let o = Options::parse("adm", OPTIONS, opts.iter().copied())?;
    create(&CreateArgs { options: &o, geometry: g, cpu_level: level, device: None })
}

fn scores(ex: &mut Box<dyn Extractor>, r: &Picture, d: &Picture) -> Vec<(String, f64)> {
    ex.submit(&FramePair { reference: r, distorted: d, index: 0 }).unwrap();
    let mut sink = FeatureSink::new();
    ex.collect(0, &mut sink).unwrap();
    sink.entries().iter().map(|e| (ex.feature_names()[e.slot as usize].clone(), e.value)).collect()
}

#[test]
fn simd_levels_equal_scalar_on_whole_pictures() {
    let levels: Vec<CpuLevel> = [CpuLevel::Avx2, CpuLevel::Avx512]
        .into_iter()
        .filter(|&l| !std::ptr::eq(kernels(l), &compute::SCALAR))
        .collect();
    let mut rng = Rng::new(13);
    let option_sets: [&[(&str, &str)]; 4] = [
        &[("debug", "true")],
        &[
            ("debug", "true"),
            ("adm_csf_mode", "2"),
            ("adm_enhn_gain_limit", "1"),
            ("adm_ref_display_height", "2160"),
            ("adm_norm_view_dist", "1.5"),
            ("adm_noise_weight", "0.02"),
        ],
        &[("debug", "true"), ("adm_enhn_gain_limit", "1.25"), ("adm_skip_aim", "true")],
        &[("debug", "true"), ("adm_skip_scale0", "true"), ("adm_csf_mode", "1")],
    ];
    let mut compared = 0;
    for &(w, h) in &[(33, 33), (67, 41), (130, 71), (200, 113), (333, 190)] {
        for bpc in [8u8, 10, 12, 16] {
            let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).unwrap();
            for content in 0..CONTENTS {
                let (r, d) = planes(w as usize, h as usize, bpc as u32, content, &mut rng);
                let (r, d) = (picture(g, &r), picture(g, &d));
                for opts in option_sets {
                    let want = scores(&mut extractor(g, opts, CpuLevel::Scalar).unwrap(), &r, &d);
                    assert_eq!(want.len(), 18);
                    for &l in &levels {
                        let got = scores(&mut extractor(g, opts, l).unwrap(), &r, &d);
                        let bits = |v: &[(String, f64)]| v.iter().map(|(n, x)| (n.clone(), x.to_bits())).collect::<Vec<_>>();
                        assert_eq!(bits(&got), bits(&want), "{l:?} {w}x{h} {bpc}-bit content {content} {opts:?}");
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(levels.is_empty() || compared > 0);
}

#[test]
fn out_of_range_samples_are_scored_like_scalar() {
    // A 10-bit file may hold samples above 1023; libvmaf computes on them
    // anyway (its 32-bit sums wrap), and so must every level.
    let g = Geometry::new(96, 40, ChromaSampling::Cs400, 10).unwrap();
    let mut rng = Rng::new(14);
    let r: Vec<u16> = (0..96 * 40).map(|_| rng.next() as u16).collect();
    let d: Vec<u16> = (0..96 * 40).map(|_| rng.next() as u16).collect();
    let (r, d) = (picture(g, &r), picture(g, &d));
    let want = scores(&mut extractor(g, &[], CpuLevel::Scalar).unwrap(), &r, &d);
    for l in [CpuLevel::Avx2, CpuLevel::Avx512] {
        let got = scores(&mut extractor(g, &[], l).unwrap(), &r, &d);
        assert_eq!(
            got.iter().map(|x| x.1.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|x| x.1.to_bits()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn identical_pictures_score_one() {
    let mut rng = Rng::new(15);
    let g = Geometry::new(120, 80, ChromaSampling::Cs420, 8).unwrap();
    let (r, _) = planes(120, 80, 8, 0, &mut rng);
    let r = picture(g, &r);
    let out = scores(&mut extractor(g, &[], CpuLevel::Scalar).unwrap(), &r, &r);
    let names: Vec<&str> = out.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(&names[..], &PROVIDED_FEATURES[..7]);
    // Nothing is added, everything is restored: DLM 1, AIM 0.
    assert!((out[0].1 - 1.0).abs() < 1e-3, "{out:?}");
    assert_eq!(out[1].1, 0.0);
}

#[test]
fn names_follow_options() {
    let g = Geometry::new(64, 64, ChromaSampling::Cs420, 8).unwrap();
    let ex = extractor(
        g,
        &[
            ("adm_csf_mode", "2"),
            ("adm_dlm_weight", "0.7"),
            ("adm_enhn_gain_limit", "1.0"),
            ("adm_min_val", "0.5"),
            ("adm_noise_weight", "0.02"),
            ("adm_norm_view_dist", "1.5"),
            ("adm_ref_display_height", "2160"),
            ("adm_skip_aim", "true"),
            ("debug", "true"),
        ],
        CpuLevel::Scalar,
    )
    .unwrap();
    let n = ex.feature_names();
    assert_eq!(n[2], "integer_adm3_csf_2_dlmw_0.7_egl_1_min_0.5_nw_0.02_nvd_1.5_rdh_2160");
    assert_eq!(n[6], "integer_adm_scale3_csf_2_dlmw_0.7_egl_1_min_0.5_nw_0.02_nvd_1.5_rdh_2160");
    let ex = extractor(g, &[("adm_skip_scale0", "true"), ("adm_csf_scale", "2")], CpuLevel::Scalar).unwrap();
    assert_eq!(ex.feature_names()[0], "integer_adm2_scf_2_ssz");
    let ex = extractor(g, &[], CpuLevel::Scalar).unwrap();
    assert_eq!(ex.feature_names()[0], "VMAF_integer_feature_adm2_score");
}

#[test]
fn refuses_what_libvmaf_cannot_compute() {
    let g = Geometry::new(64, 64, ChromaSampling::Cs420, 8).unwrap();
    let near = extractor(g, &[("adm_norm_view_dist", "1.5")], CpuLevel::Scalar);
    assert!(matches!(near, Err(Error::Extractor { .. })));
    assert!(extractor(g, &[("adm_norm_view_dist", "1.5"), ("adm_ref_display_height", "2160")], CpuLevel::Scalar).is_ok());
    for (w, h) in [(32, 64), (64, 32), (1, 1)] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, 8).unwrap();
        assert!(matches!(extractor(g, &[], CpuLevel::Scalar), Err(Error::Extractor { .. })), "{w}x{h}");
    }
    let g = Geometry::new(33, 33, ChromaSampling::Cs420, 8).unwrap();
    assert!(extractor(g, &[], CpuLevel::Avx2).is_ok());
    assert!(matches!(
        Options::parse("adm", OPTIONS, [("adm_csf_mode", "4")]),
        Err(Error::BadOptionValue { .. })
    ));
}

#[test]
fn mixed_sample_types_are_an_error() {
    let g8 = Geometry::new(40, 40, ChromaSampling::Cs420, 8).unwrap();
    let g10 = Geometry::new(40, 40, ChromaSampling::Cs420, 10).unwrap();
    let mut ex = extractor(g8, &[], CpuLevel::Scalar).unwrap();
    let (a, b) = (Picture::new(g8), Picture::new(g10));
    assert!(matches!(ex.submit(&FramePair { reference: &a, distorted: &b, index: 0 }), Err(Error::Mismatch(_))));
}
