//! Integer motion against libvmaf 3.2.0's goldens: every clip, every frame,
//! at one and two threads, at every CPU level this machine has, with and
//! without `--subsample 3`, and with the option sets of the v1.0.16 models.
//! Float motion against the goldens within 1e-4.

mod common;
use common::*;

use vmaf::CpuLevel;

/// `key=value` options of one extractor.
type Opts<'a> = &'a [(&'a str, &'a str)];

const DEFAULT_KEYS: [&str; 3] = [
    "VMAF_integer_feature_motion_sad_score",
    "integer_motion2",
    "integer_motion3",
];

fn score(
    pair: &str,
    opts: &[(&str, &str)],
    threads: usize,
    subsample: u32,
    level: CpuLevel,
) -> vmaf::Report {
    score_feature(pair, "motion", opts, threads, subsample, level)
}

fn score_feature(
    pair: &str,
    feature: &str,
    opts: &[(&str, &str)],
    threads: usize,
    subsample: u32,
    level: CpuLevel,
) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let mut r = vmaf::io::open(&r, None).unwrap();
    let mut d = vmaf::io::open(&d, None).unwrap();
    let g = r.geometry();
    let b = vmaf::Scorer::builder(g)
        .feature(feature, opts)
        .unwrap()
        .threads(threads)
        .subsample(subsample)
        .cpu_level(level);
    vmaf::score_streams(
        &mut *r,
        &mut *d,
        b,
        Default::default(),
        |_| {},
        |w| panic!("{w}"),
    )
    .unwrap()
}

/// Compares `keys` on every frame of `golden` with `rep` within `tol`
/// (absolute); returns the number of values compared and the largest
/// difference seen.
fn compare_within(
    pair: &str,
    what: &str,
    g: &Golden,
    rep: &vmaf::Report,
    keys: &[&str],
    tol: f64,
) -> (usize, f64) {
    let mut n = 0;
    let mut worst = 0.0f64;
    for (idx, metrics) in &g.frames {
        for key in keys {
            let want = metrics
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| *v)
                .unwrap_or_else(|| panic!("{pair} {what}: golden has no {key} at frame {idx}"));
            let id = printed_id(rep, key).unwrap_or_else(|| panic!("{pair} {what}: no {key}"));
            let got = rep
                .collector
                .get(id, *idx)
                .unwrap_or_else(|| panic!("{pair} {what}: no {key} at {idx}"));
            let diff = (got - want).abs();
            assert!(
                diff <= tol,
                "{pair} {what} frame {idx} {key}: got {got:.6}, libvmaf {want:.6}"
            );
            worst = worst.max(diff);
            n += 1;
        }
    }
    (n, worst)
}

/// Compares `keys` on every frame of `golden` with `rep`; returns how many
/// values were compared.
fn compare(pair: &str, what: &str, g: &Golden, rep: &vmaf::Report, keys: &[&str]) -> usize {
    let mut n = 0;
    for (idx, metrics) in &g.frames {
        for key in keys {
            let want = metrics
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| *v)
                .unwrap_or_else(|| panic!("{pair} {what}: golden has no {key} at frame {idx}"));
            let id = printed_id(rep, key).unwrap_or_else(|| panic!("{pair} {what}: no {key}"));
            let got = rep
                .collector
                .get(id, *idx)
                .unwrap_or_else(|| panic!("{pair} {what}: no {key} at {idx}"));
            assert!(
                same_at_6(got, want),
                "{pair} {what} frame {idx} {key}: got {got:.6}, libvmaf {want:.6}"
            );
            n += 1;
        }
    }
    n
}

/// The collector id of the feature libvmaf prints as `key` (the collector
/// keeps internal names; writers print their aliases).
fn printed_id(rep: &vmaf::Report, key: &str) -> Option<vmaf::FeatureId> {
    rep.collector
        .ids()
        .find(|&i| vmaf_core::alias::alias(rep.collector.name(i)) == key)
}

/// The levels to test: scalar plus the best this CPU has.
fn levels() -> Vec<CpuLevel> {
    let best = vmaf_cpu::detect_cpu_level();
    let mut v = vec![CpuLevel::Scalar];
    if best != CpuLevel::Scalar {
        v.push(best);
    }
    v
}

fn golden_of(pair: &str, kind: &str) -> Golden {
    golden(pair, kind)
        .or_else(|| golden(pair, &format!("luma-{kind}")))
        .unwrap_or_else(|| panic!("no {kind} golden for {pair}"))
}

#[test]
fn motion_matches_libvmaf_on_every_clip() {
    let mut checked = 0;
    for pair in PAIRS {
        let g = golden_of(pair, "default");
        for level in levels() {
            for threads in [1, 2] {
                let rep = score(pair, &[], threads, 1, level);
                assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
                checked += compare(
                    pair,
                    &format!("default {level:?} t{threads}"),
                    &g,
                    &rep,
                    &DEFAULT_KEYS,
                );
            }
        }
    }
    assert!(checked > 3000, "only {checked} values compared");
}

#[test]
fn motion_matches_libvmaf_with_subsample() {
    let mut checked = 0;
    for pair in PAIRS {
        let g = golden_of(pair, "subsample3");
        for threads in [1, 2] {
            let rep = score(pair, &[], threads, 3, vmaf_cpu::detect_cpu_level());
            checked += compare(
                pair,
                &format!("subsample3 t{threads}"),
                &g,
                &rep,
                &DEFAULT_KEYS,
            );
        }
    }
    assert!(checked > 600, "only {checked} values compared");
}

#[test]
fn motion_matches_libvmaf_with_v1_model_options() {
    // The option sets the v1.0.16 models give the motion extractor, and the
    // suffixed names libvmaf prints for them.
    let sets: [(Opts, [&str; 3]); 2] = [
        (
            &[("motion_max_val", "18")],
            [
                "VMAF_integer_feature_motion_sad_score_mmxv_18",
                "integer_motion2_mmxv_18",
                "integer_motion3_mmxv_18",
            ],
        ),
        (
            &[
                ("motion_max_val", "18.0"),
                ("motion_five_frame_window", "true"),
                ("motion_moving_average", "true"),
            ],
            [
                "VMAF_integer_feature_motion_sad_score_mffw_mmxv_18_mma",
                "integer_motion2_mffw_mmxv_18_mma",
                "integer_motion3_mffw_mmxv_18_mma",
            ],
        ),
    ];
    let mut checked = 0;
    let mut pairs = 0;
    for pair in PAIRS {
        let Some(g) = golden(pair, "v1") else {
            continue;
        };
        pairs += 1;
        for (opts, keys) in &sets {
            for threads in [1, 2] {
                let rep = score(pair, opts, threads, 1, vmaf_cpu::detect_cpu_level());
                checked += compare(pair, &format!("v1 {opts:?} t{threads}"), &g, &rep, keys);
            }
        }
    }
    assert!(pairs >= 10, "only {pairs} v1 goldens");
    assert!(checked > 3000, "only {checked} values compared");
}

#[test]
fn motion_features_enter_the_output_in_libvmaf_order() {
    // The SAD score is written per frame; motion2 and motion3 at end of
    // stream, so they follow it.
    let rep = score(
        "astronaut_576x324_yuv420p_crf35",
        &[],
        2,
        1,
        vmaf_cpu::detect_cpu_level(),
    );
    let names: Vec<&str> = rep
        .collector
        .ids()
        .map(|i| vmaf_core::alias::alias(rep.collector.name(i)))
        .collect();
    assert_eq!(names, DEFAULT_KEYS);
}

#[test]
fn float_motion_matches_libvmaf_within_1e4() {
    let keys = ["motion", "motion2", "motion3"];
    let mut checked = 0;
    let mut worst = 0.0f64;
    for pair in PAIRS {
        let g = golden_of(pair, "full");
        for level in levels() {
            for threads in [1, 2] {
                let rep = score_feature(pair, "float_motion", &[], threads, 1, level);
                assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
                let (n, w) = compare_within(
                    pair,
                    &format!("float {level:?} t{threads}"),
                    &g,
                    &rep,
                    &keys,
                    1e-4,
                );
                checked += n;
                worst = worst.max(w);
            }
        }
    }
    eprintln!("float_motion: {checked} values, largest difference {worst:e}");
    assert!(checked > 3000, "only {checked} values compared");
}
