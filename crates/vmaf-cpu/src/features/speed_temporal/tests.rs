use super::*;
use vmaf_core::{ChromaSampling, CpuLevel, Geometry, Options, Picture, PictureData};

fn frame(g: Geometry, t: u32, noise: u32) -> Picture {
    let mut p = Picture::new(g);
    let mut s = 0x9e37_79b9_u64 + t as u64 * 7919;
    let w = g.width as usize;
    if let PictureData::U8(pl) = p.data_mut() {
        for (i, v) in pl[0].data_mut().iter_mut().enumerate() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let (x, y) = ((i % w) as f32 + 3.0 * t as f32, (i / w) as f32);
            let base = 128.0 + 70.0 * (x * 0.17).sin() * (y * 0.11).cos();
            *v = (base as u32 + (s >> 20) as u32 % (noise + 1)).min(255) as u8;
        }
    }
    p
}

fn run(g: Geometry, opts: &[(&str, &str)], frames: &[(Picture, Picture)]) -> (Vec<String>, Vec<f64>) {
    run_at(CpuLevel::Scalar, g, opts, frames)
}

fn run_at(
    level: CpuLevel,
    g: Geometry,
    opts: &[(&str, &str)],
    frames: &[(Picture, Picture)],
) -> (Vec<String>, Vec<f64>) {
    let o = Options::parse(NAME, OPTIONS, opts.iter().copied()).unwrap();
    let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: level, device: None }).unwrap();
    let mut out = Vec::new();
    for (i, (r, d)) in frames.iter().enumerate() {
        e.submit(&FramePair { reference: r, distorted: d, index: i as u32 }).unwrap();
        let mut sink = FeatureSink::new();
        e.collect(i as u32, &mut sink).unwrap();
        assert_eq!(sink.entries().len(), 1);
        out.push(sink.entries()[0].value);
    }
    (e.feature_names().to_vec(), out)
}

#[test]
fn first_frame_is_zero_and_motion_differences_score() {
    let g = Geometry::new(320, 240, ChromaSampling::Cs420, 8).unwrap();
    let frames: Vec<_> = (0..4).map(|t| (frame(g, t, 8), frame(g, t, 40))).collect();
    let (names, s) = run(g, &[], &frames);
    assert_eq!(names, ["Speed_temporal_feature_speed_temporal_score"]);
    assert_eq!(s[0], 0.0);
    assert!(s[1..].iter().all(|&v| v > 0.0 && v.is_finite()), "{s:?}");
    // The same stream on both sides: every difference matches.
    let same: Vec<_> = (0..3).map(|t| (frame(g, t, 0), frame(g, t, 0))).collect();
    assert!(run(g, &[], &same).1.iter().all(|&v| v == 0.0));
    let (names, _) = run(g, &[("speed_use_ref_diff", "true"), ("speed_max_val", "10")], &frames);
    assert_eq!(names, ["speed_temporal_mxv_10_urd"]);
}

/// A luma plane of any depth from `f(x, y)` (clamped to the depth).
fn painted(g: Geometry, f: impl Fn(usize, usize) -> u32) -> Picture {
    let mut p = Picture::new(g);
    let max = (1u32 << g.bit_depth) - 1;
    let w = g.width as usize;
    match p.data_mut() {
        PictureData::U8(pl) => {
            for (i, v) in pl[0].data_mut().iter_mut().enumerate() {
                *v = f(i % w, i / w).min(max) as u8;
            }
        }
        PictureData::U16(pl) => {
            for (i, v) in pl[0].data_mut().iter_mut().enumerate() {
                *v = f(i % w, i / w).min(max) as u16;
            }
        }
    }
    p
}

#[test]
fn high_bit_depths_scale_to_the_8_bit_range() {
    let g8 = Geometry::new(330, 170, ChromaSampling::Cs420, 8).unwrap();
    let frames8: Vec<_> = (0..3).map(|t| (frame(g8, t, 8), frame(g8, t, 40))).collect();
    let (_, want) = run(g8, &[], &frames8);
    for bpc in [10u8, 12, 16] {
        let g = Geometry::new(330, 170, ChromaSampling::Cs420, bpc).unwrap();
        let widen = |p: &Picture| {
            let PictureData::U8(src) = p.data() else { unreachable!() };
            let s = src[0].data();
            painted(g, |x, y| (s[y * 330 + x] as u32) << (bpc - 8))
        };
        let frames: Vec<_> = frames8.iter().map(|(r, d)| (widen(r), widen(d))).collect();
        assert_eq!(run(g, &[], &frames).1, want, "{bpc} bit");
    }
}

#[test]
fn simd_levels_give_the_scalar_bits() {
    // Every level this CPU has, against scalar, over four frames: odd
    // sizes, every depth, both difference modes, textured, noisy, flat and
    // extreme pictures, and the three ways of reading the plane (packed
    // rows, resampled, reshaped).
    let levels: Vec<CpuLevel> =
        [CpuLevel::Avx2, CpuLevel::Avx512].into_iter().filter(|&l| l <= crate::hardware_level()).collect();
    type Case = (u32, u32, &'static [(&'static str, &'static str)]);
    let cases: &[Case] = &[
        (263, 247, &[]),
        (401, 333, &[("speed_use_ref_diff", "true")]),
        (301, 287, &[("speed_kernelscale", "0.5")]),
        (511, 503, &[("speed_prescale", "0.5"), ("speed_prescale_method", "bilinear")]),
        (181, 170, &[("speed_prescale", "1.5"), ("speed_prescale_method", "lanczos4")]),
        (1001, 240, &[("speed_prescale", "1.0005")]),
    ];
    let (mut compared, mut nonzero) = (0, 0);
    for &(w, h, opts) in cases {
        for bpc in [8u8, 10, 12, 16] {
            let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).unwrap();
            let max = (1u32 << bpc) - 1;
            let shift = bpc as u32 - 8;
            let hash = |t: usize, x: usize, y: usize| (x * 7919 + y * 104729 + t * 15485863) % 1009;
            let frames: Vec<_> = (0..4usize)
                .map(|t| {
                    let (tx, tr) = (t as f32 * 3.0, t as u32);
                    let r = painted(g, |x, y| {
                        let v = 128.0 + 70.0 * ((x as f32 + tx) * 0.17).sin() * (y as f32 * 0.11).cos();
                        ((v as u32 + hash(t, x, y) as u32 % 9) << shift) + tr
                    });
                    let d = match t {
                        // Flat, then extreme noise, then a textured one.
                        0 => painted(g, |_, _| 0),
                        1 => painted(g, |x, y| if hash(t, x, y) < 504 { 0 } else { max }),
                        2 => painted(g, |_, _| max),
                        _ => painted(g, |x, y| ((hash(t, y, x) as u32 * 255 / 1009) << shift) + 1),
                    };
                    (r, d)
                })
                .collect();
            let (_, want) = run(g, opts, &frames);
            nonzero += want.iter().filter(|&&v| v != 0.0).count();
            for &level in &levels {
                let (_, got) = run_at(level, g, opts, &frames);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{level:?} {w}x{h} {bpc}-bit {opts:?}: {got:?} vs {want:?}");
                compared += 1;
            }
        }
    }
    if !levels.is_empty() {
        assert_eq!(compared, 6 * 4 * levels.len());
    }
    // Frames 1..4 of every case score.
    assert_eq!(nonzero, 6 * 4 * 3, "nonzero scores");
}
