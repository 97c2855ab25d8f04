//! cambi against libvmaf 3.2.0's goldens: every clip, every frame, at one
//! and two threads, at every CPU level this machine has; the default options
//! against `<pair>.full.json` and the v1.0.16 models' option set against
//! `<pair>.v1.json`.

mod common;
use common::*;

use vmaf::CpuLevel;

fn score(pair: &str, opts: &[(&str, &str)], threads: usize, level: CpuLevel) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let mut r = vmaf::io::open(&r, None).unwrap();
    let mut d = vmaf::io::open(&d, None).unwrap();
    let g = r.geometry();
    let b = vmaf::Scorer::builder(g)
        .feature("cambi", opts)
        .unwrap()
        .threads(threads)
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

/// The collector id of the feature libvmaf prints as `key`.
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

/// Compares `key` on every frame of `g` with `rep` at the printed
/// precision; returns how many values were compared.
fn compare(pair: &str, what: &str, g: &Golden, rep: &vmaf::Report, key: &str) -> usize {
    assert_eq!(rep.frames as usize, g.frames.len(), "{pair} {what}");
    let id = printed_id(rep, key).unwrap_or_else(|| panic!("{pair} {what}: no {key}"));
    let mut n = 0;
    for (idx, metrics) in &g.frames {
        let want = metrics
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| *v)
            .unwrap_or_else(|| panic!("{pair} {what}: golden has no {key} at frame {idx}"));
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
    n
}

#[test]
fn cambi_matches_libvmaf_on_every_clip() {
    let mut checked = 0;
    for pair in PAIRS {
        // The odd-size 4:2:0 pair has luma-only goldens (libvmaf crashes on it).
        let g = golden(pair, "full")
            .or_else(|| golden(pair, "luma-full"))
            .expect("golden");
        for level in levels() {
            for threads in [1, 2] {
                let rep = score(pair, &[], threads, level);
                checked += compare(pair, &format!("{level:?} t{threads}"), &g, &rep, "cambi");
            }
        }
    }
    assert!(checked > 1000, "only {checked} values compared");
}

#[test]
fn cambi_matches_libvmaf_with_v1_model_options() {
    // The option set every v1.0.16 model gives cambi, and the name libvmaf
    // prints for it.
    let opts = [
        ("cambi_high_res_speedup", "1080"),
        ("cambi_vis_lum_threshold", "0.06"),
        ("cambi_max_val", "17.0"),
    ];
    let key = "cambi_hrs_1080_cmxv_17_vlt_0.06";
    let mut checked = 0;
    let mut pairs = 0;
    for pair in PAIRS {
        let Some(g) = golden(pair, "v1") else {
            continue;
        };
        pairs += 1;
        for level in levels() {
            for threads in [1, 2] {
                let rep = score(pair, &opts, threads, level);
                checked += compare(pair, &format!("v1 {level:?} t{threads}"), &g, &rep, key);
            }
        }
    }
    assert!(pairs >= 10, "only {pairs} v1 goldens");
    assert!(checked > 1000, "only {checked} values compared");
}
