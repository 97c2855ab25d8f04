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
    let o = Options::parse(NAME, OPTIONS, opts.iter().copied()).unwrap();
    let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None }).unwrap();
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
