//! float_ssim and float_ms_ssim against libvmaf 3.2.0: every clip and frame
//! of the goldens (default options) at one and two threads, and the option
//! variants the goldens do not cover (enable_lcs, enable_db, clip_db,
//! scale) against values printed by libvmaf itself, written in below.
//!
//! Float features must agree within 1e-4; the worst difference seen is
//! printed (run with `--nocapture`).

mod common;
use common::*;

use vmaf::CpuLevel;

const TOL: f64 = 1e-4;

fn score(
    pair: &str,
    features: &[(&str, &[(&str, &str)])],
    threads: usize,
    level: CpuLevel,
    max_frames: u32,
) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let mut r = vmaf::io::open(&r, None).unwrap();
    let mut d = vmaf::io::open(&d, None).unwrap();
    let mut b = vmaf::Scorer::builder(r.geometry());
    for (name, opts) in features {
        b = b.feature(name, opts).unwrap();
    }
    let b = b.threads(threads).cpu_level(level);
    let range = vmaf::StreamRange {
        max_frames,
        ..Default::default()
    };
    vmaf::score_streams(&mut *r, &mut *d, b, range, |_| {}, |w| panic!("{w}")).unwrap()
}

fn get(rep: &vmaf::Report, key: &str, idx: u32) -> f64 {
    let id = rep.collector.id(key).unwrap_or_else(|| panic!("no {key}"));
    rep.collector
        .get(id, idx)
        .unwrap_or_else(|| panic!("no {key} at frame {idx}"))
}

#[test]
fn ssim_and_ms_ssim_match_libvmaf_on_every_clip() {
    let level = vmaf_cpu::detect_cpu_level();
    let (mut checked, mut printed_same, mut worst) = (0, 0, 0.0f64);
    for pair in PAIRS {
        // The odd-size 4:2:0 pair has luma-only goldens (libvmaf crashes on
        // it); both features read luma only.
        let g = golden(pair, "full")
            .or_else(|| golden(pair, "luma-full"))
            .expect("golden");
        for threads in [1, 2] {
            let rep = score(
                pair,
                &[("float_ssim", &[]), ("float_ms_ssim", &[])],
                threads,
                level,
                0,
            );
            assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
            for (idx, metrics) in &g.frames {
                for key in ["float_ssim", "float_ms_ssim"] {
                    let want = metrics
                        .iter()
                        .find(|(k, _)| k == key)
                        .and_then(|(_, v)| *v)
                        .unwrap_or_else(|| panic!("{pair}: golden has no {key} at frame {idx}"));
                    let got = get(&rep, key, *idx);
                    let diff = (got - want).abs();
                    assert!(
                        diff <= TOL,
                        "{pair} t{threads} frame {idx} {key}: got {got:.6}, libvmaf {want:.6}"
                    );
                    worst = worst.max(diff);
                    printed_same += same_at_6(got, want) as usize;
                    checked += 1;
                }
            }
        }
    }
    println!(
        "{checked} values, {printed_same} print the same as libvmaf's, worst difference {worst:e}"
    );
    assert!(checked > 1000, "only {checked} values compared");
}

/// The reference (scalar) kernels give the same scores as the SIMD ones on
/// real pictures, bit for bit, with every output enabled.
#[test]
fn scalar_and_simd_agree_on_clips() {
    let best = vmaf_cpu::detect_cpu_level();
    let lcs: &[(&str, &str)] = &[("enable_lcs", "true")];
    for pair in [
        "astronaut_577x323_yuv420p_blur2.5",
        "chelsea_576x324_yuv420p10le_crf35",
        "testsrc2_1280x720_yuv420p_crf30",
    ] {
        let feats = [("float_ssim", lcs), ("float_ms_ssim", lcs)];
        let a = score(pair, &feats, 2, CpuLevel::Scalar, 4);
        let b = score(pair, &feats, 2, best, 4);
        let mut n = 0;
        for id in a.collector.ids() {
            let name = a.collector.name(id);
            for i in 0..4 {
                let x = a.collector.get(id, i).unwrap();
                let y = get(&b, name, i);
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "{pair} {name} frame {i}: scalar {x}, {best:?} {y}"
                );
                n += 1;
            }
        }
        assert_eq!(n, 4 * (4 + 16), "{pair}");
    }
}

/// One run of libvmaf with options, and the values it printed (`%.6f`; a
/// `null`, libvmaf's spelling of an infinite score, is written here as
/// infinity) for the first three frames.
struct Case {
    pair: &'static str,
    feature: &'static str,
    options: &'static [(&'static str, &'static str)],
    expect: &'static [(&'static str, [f64; 3])],
}

// Produced with libvmaf 3.2.0's `vmaf` tool (tools/vmaf of a release build,
// CPU only), run from the clips folder with the command line above each
// case; the numbers are copied from x.json.
const CASES: &[Case] = &[
    Case {
        // vmaf -r astronaut_576x324_yuv420p_crf35.ref.y4m -d astronaut_576x324_yuv420p_crf35.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ssim=enable_lcs=true -o x.json
        pair: "astronaut_576x324_yuv420p_crf35",
        feature: "float_ssim",
        options: &[("enable_lcs", "true")],
        expect: &[
            ("float_ssim", [0.936728, 0.936403, 0.938206]),
            ("float_ssim_l", [0.99954, 0.999473, 0.999479]),
            ("float_ssim_c", [0.98739, 0.986821, 0.987101]),
            ("float_ssim_s", [0.948469, 0.94875, 0.950305]),
        ],
    },
    Case {
        // vmaf -r astronaut_576x324_yuv420p_crf35.ref.y4m -d astronaut_576x324_yuv420p_crf35.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ssim=enable_db=true -o x.json
        pair: "astronaut_576x324_yuv420p_crf35",
        feature: "float_ssim",
        options: &[("enable_db", "true")],
        expect: &[("float_ssim", [11.98788, 11.965608, 12.090513])],
    },
    Case {
        // vmaf -r chelsea_576x324_yuv420p_same.ref.y4m -d chelsea_576x324_yuv420p_same.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ssim=enable_db=true -o x.json
        pair: "chelsea_576x324_yuv420p_same",
        feature: "float_ssim",
        options: &[("enable_db", "true")],
        expect: &[("float_ssim", [f64::INFINITY, f64::INFINITY, f64::INFINITY])],
    },
    Case {
        // vmaf -r chelsea_576x324_yuv420p_same.ref.y4m -d chelsea_576x324_yuv420p_same.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ssim=enable_db=true:clip_db=true -o x.json
        pair: "chelsea_576x324_yuv420p_same",
        feature: "float_ssim",
        options: &[("enable_db", "true"), ("clip_db", "true")],
        expect: &[("float_ssim", [104.0, 104.0, 104.0])],
    },
    Case {
        // vmaf -r chelsea_576x324_yuv420p10le_crf35.ref.y4m -d chelsea_576x324_yuv420p10le_crf35.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ssim=enable_db=true:clip_db=true -o x.json
        pair: "chelsea_576x324_yuv420p10le_crf35",
        feature: "float_ssim",
        options: &[("enable_db", "true"), ("clip_db", "true")],
        expect: &[("float_ssim", [10.566227, 10.304759, 10.306442])],
    },
    Case {
        // vmaf -r retina_1920x1080_yuv420p_crf28.ref.y4m -d retina_1920x1080_yuv420p_crf28.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ssim=scale=1 -o x.json
        pair: "retina_1920x1080_yuv420p_crf28",
        feature: "float_ssim",
        options: &[("scale", "1")],
        expect: &[("float_ssim", [0.983198, 0.982229, 0.982266])],
    },
    Case {
        // vmaf -r retina_1920x1080_yuv420p_crf28.ref.y4m -d retina_1920x1080_yuv420p_crf28.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ssim=scale=2 -o x.json
        pair: "retina_1920x1080_yuv420p_crf28",
        feature: "float_ssim",
        options: &[("scale", "2")],
        expect: &[("float_ssim", [0.986875, 0.985777, 0.985931])],
    },
    Case {
        // vmaf -r testsrc2_1280x720_yuv420p_crf30.ref.y4m -d testsrc2_1280x720_yuv420p_crf30.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ssim=scale=10 -o x.json
        pair: "testsrc2_1280x720_yuv420p_crf30",
        feature: "float_ssim",
        options: &[("scale", "10")],
        expect: &[("float_ssim", [0.999285, 0.999283, 0.99937])],
    },
    Case {
        // vmaf -r astronaut_577x323_yuv444p_blur2.5.ref.y4m -d astronaut_577x323_yuv444p_blur2.5.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ssim=scale=3:enable_lcs=true -o x.json
        pair: "astronaut_577x323_yuv444p_blur2.5",
        feature: "float_ssim",
        options: &[("scale", "3"), ("enable_lcs", "true")],
        expect: &[
            ("float_ssim", [0.938066, 0.937714, 0.938079]),
            ("float_ssim_l", [0.99956, 0.999559, 0.999556]),
            ("float_ssim_c", [0.970127, 0.970059, 0.970244]),
            ("float_ssim_s", [0.966677, 0.966379, 0.966586]),
        ],
    },
    Case {
        // vmaf -r astronaut_576x324_yuv420p_crf35.ref.y4m -d astronaut_576x324_yuv420p_crf35.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ms_ssim=enable_lcs=true -o x.json
        pair: "astronaut_576x324_yuv420p_crf35",
        feature: "float_ms_ssim",
        options: &[("enable_lcs", "true")],
        expect: &[
            ("float_ms_ssim", [0.986097, 0.985352, 0.985922]),
            ("float_ms_ssim_l_scale0", [0.99954, 0.999473, 0.999479]),
            ("float_ms_ssim_l_scale1", [0.999875, 0.999835, 0.999839]),
            ("float_ms_ssim_l_scale2", [0.999972, 0.999949, 0.999951]),
            ("float_ms_ssim_l_scale3", [0.999994, 0.999983, 0.999982]),
            ("float_ms_ssim_l_scale4", [0.999999, 0.999993, 0.999992]),
            ("float_ms_ssim_c_scale0", [0.98739, 0.986821, 0.987101]),
            ("float_ms_ssim_c_scale1", [0.996417, 0.996086, 0.996236]),
            ("float_ms_ssim_c_scale2", [0.999339, 0.999192, 0.999216]),
            ("float_ms_ssim_c_scale3", [0.999896, 0.999872, 0.999869]),
            ("float_ms_ssim_c_scale4", [0.999993, 0.99999, 0.999988]),
            ("float_ms_ssim_s_scale0", [0.948469, 0.94875, 0.950305]),
            ("float_ms_ssim_s_scale1", [0.975097, 0.973871, 0.975121]),
            ("float_ms_ssim_s_scale2", [0.992662, 0.992173, 0.992285]),
            ("float_ms_ssim_s_scale3", [0.998452, 0.998109, 0.998285]),
            ("float_ms_ssim_s_scale4", [0.999747, 0.999678, 0.99969]),
        ],
    },
    Case {
        // vmaf -r coffee_576x324_yuv420p12le_noise20.ref.y4m -d coffee_576x324_yuv420p12le_noise20.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ms_ssim=enable_lcs=true -o x.json
        pair: "coffee_576x324_yuv420p12le_noise20",
        feature: "float_ms_ssim",
        options: &[("enable_lcs", "true")],
        expect: &[
            ("float_ms_ssim", [0.904961, 0.906068, 0.904846]),
            ("float_ms_ssim_l_scale0", [0.999422, 0.99947, 0.9994]),
            ("float_ms_ssim_l_scale1", [0.999869, 0.999884, 0.999859]),
            ("float_ms_ssim_l_scale2", [0.999969, 0.99997, 0.999966]),
            ("float_ms_ssim_l_scale3", [0.99999, 0.99999, 0.999988]),
            ("float_ms_ssim_l_scale4", [0.999995, 0.999996, 0.999995]),
            ("float_ms_ssim_c_scale0", [0.726493, 0.726207, 0.724871]),
            ("float_ms_ssim_c_scale1", [0.931467, 0.932101, 0.930808]),
            ("float_ms_ssim_c_scale2", [0.994134, 0.994727, 0.993876]),
            ("float_ms_ssim_c_scale3", [0.999839, 0.999851, 0.999832]),
            ("float_ms_ssim_c_scale4", [0.999995, 0.999996, 0.999994]),
            ("float_ms_ssim_s_scale0", [0.721622, 0.720764, 0.720477]),
            ("float_ms_ssim_s_scale1", [0.875035, 0.876562, 0.876873]),
            ("float_ms_ssim_s_scale2", [0.968752, 0.969617, 0.968031]),
            ("float_ms_ssim_s_scale3", [0.995151, 0.995806, 0.994949]),
            ("float_ms_ssim_s_scale4", [0.999618, 0.999591, 0.999608]),
        ],
    },
    Case {
        // vmaf -r astronaut_576x324_yuv420p_crf35.ref.y4m -d astronaut_576x324_yuv420p_crf35.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ms_ssim=enable_db=true:clip_db=true -o x.json
        pair: "astronaut_576x324_yuv420p_crf35",
        feature: "float_ms_ssim",
        options: &[("enable_db", "true"), ("clip_db", "true")],
        expect: &[("float_ms_ssim", [18.568996, 18.342205, 18.514546])],
    },
    Case {
        // vmaf -r chelsea_576x324_yuv420p_same.ref.y4m -d chelsea_576x324_yuv420p_same.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ms_ssim=enable_db=true -o x.json
        pair: "chelsea_576x324_yuv420p_same",
        feature: "float_ms_ssim",
        options: &[("enable_db", "true")],
        expect: &[(
            "float_ms_ssim",
            [f64::INFINITY, f64::INFINITY, f64::INFINITY],
        )],
    },
    Case {
        // vmaf -r chelsea_576x324_yuv420p_same.ref.y4m -d chelsea_576x324_yuv420p_same.dis.y4m -n --json -q --frame_cnt 3 \
        //     --feature float_ms_ssim=enable_db=true:clip_db=true -o x.json
        pair: "chelsea_576x324_yuv420p_same",
        feature: "float_ms_ssim",
        options: &[("enable_db", "true"), ("clip_db", "true")],
        expect: &[("float_ms_ssim", [104.0, 104.0, 104.0])],
    },
];

#[test]
fn options_match_libvmaf() {
    let mut checked = 0;
    for case in CASES {
        let what = format!("{} {}={:?}", case.pair, case.feature, case.options);
        for threads in [1, 2] {
            let rep = score(
                case.pair,
                &[(case.feature, case.options)],
                threads,
                vmaf_cpu::detect_cpu_level(),
                3,
            );
            assert_eq!(rep.frames, 3, "{what}");
            // Exactly the names libvmaf printed: options add no suffix.
            let mut names: Vec<_> = rep
                .collector
                .ids()
                .map(|i| rep.collector.name(i).to_owned())
                .collect();
            let mut want: Vec<_> = case.expect.iter().map(|(k, _)| k.to_string()).collect();
            names.sort();
            want.sort();
            assert_eq!(names, want, "{what}");
            for (key, values) in case.expect {
                for (i, want) in values.iter().enumerate() {
                    let got = get(&rep, key, i as u32);
                    if want.is_infinite() {
                        assert_eq!(got, *want, "{what} {key} frame {i}");
                    } else {
                        // Printed to 6 decimals: within half a unit of the
                        // last digit, plus slack for the decimal rounding.
                        assert!(
                            (got - want).abs() <= 1e-6,
                            "{what} {key} frame {i}: got {got:.6}, libvmaf {want:.6}"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(
        checked,
        2 * 3 * CASES.iter().map(|c| c.expect.len()).sum::<usize>()
    );
}
