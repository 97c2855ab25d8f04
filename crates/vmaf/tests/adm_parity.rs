//! ADM (integer `adm`, and `float_adm`) against libvmaf 3.2.0's goldens, on
//! every clip and frame: the default options against `<pair>.default.json`
//! at 1 and 2 threads, and the option sets of the v1.0.16 models against
//! `<pair>.v1.json`.

mod common;
use common::*;

use std::collections::HashMap;

fn score(pair: &str, feature: &str, opts: &[(&str, &str)], threads: usize) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let mut r = vmaf::io::open(&r, None).unwrap();
    let mut d = vmaf::io::open(&d, None).unwrap();
    let g = r.geometry();
    let b = vmaf::Scorer::builder(g).feature(feature, opts).unwrap().threads(threads);
    vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}")).unwrap()
}

/// The report's features under the names libvmaf prints.
fn printed_names(rep: &vmaf::Report) -> HashMap<String, vmaf_core::FeatureId> {
    rep.collector.ids().map(|id| (vmaf_core::alias::alias(rep.collector.name(id)).to_owned(), id)).collect()
}

/// Compares every frame of every golden key that `wanted` accepts; returns
/// the number of values compared.
fn compare(pair: &str, golden: &Golden, rep: &vmaf::Report, wanted: impl Fn(&str) -> bool, mut same: impl FnMut(f64, f64) -> bool) -> usize {
    let names = printed_names(rep);
    assert_eq!(rep.frames as usize, golden.frames.len(), "{pair}");
    let mut n = 0;
    for (idx, metrics) in &golden.frames {
        for (name, want) in metrics.iter().filter(|(k, _)| wanted(k)) {
            let id = names.get(name).unwrap_or_else(|| panic!("{pair}: no {name}; have {:?}", names.keys()));
            let got = rep.collector.get(*id, *idx).unwrap_or_else(|| panic!("{pair} frame {idx}: no {name}"));
            let want = want.unwrap_or_else(|| panic!("{pair} {name} is null"));
            assert!(same(got, want), "{pair} frame {idx} {name}: got {got:.6}, libvmaf {want:.6}");
            n += 1;
        }
    }
    n
}

const INTEGER_KEYS: &[&str] = &[
    "integer_adm2",
    "integer_aim",
    "integer_adm3",
    "integer_adm_scale0",
    "integer_adm_scale1",
    "integer_adm_scale2",
    "integer_adm_scale3",
];

fn default_golden(pair: &str) -> Golden {
    // The odd-size 4:2:0 pair has luma-only goldens (libvmaf crashes on it).
    golden(pair, "default").or_else(|| golden(pair, "luma-default")).expect("golden")
}

#[test]
fn integer_adm_matches_libvmaf_on_every_clip() {
    let mut checked = 0;
    for pair in PAIRS {
        let g = default_golden(pair);
        for threads in [1, 2] {
            let rep = score(pair, "adm", &[], threads);
            let n = compare(pair, &g, &rep, |k| INTEGER_KEYS.contains(&k), same_at_6);
            assert_eq!(n, 7 * g.frames.len(), "{pair}: every key of every frame");
            checked += n;
        }
    }
    assert!(checked > 3000, "only {checked} values compared");
}

/// The integer ADM options of the eight v1.0.16 models (read from the model
/// files; three distinct viewing setups share the rest).
fn v1_option_sets() -> Vec<Vec<(String, String)>> {
    let dir = golden_dir().join("../models/upstream-only");
    let mut sets: Vec<Vec<(String, String)>> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("vmaf_v1.0.16"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 8, "the eight v1.0.16 models");
    for f in files {
        let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let md = &m["model_dict"];
        let names = md["feature_names"].as_array().unwrap();
        let opts = md["feature_opts_dicts"].as_array().unwrap();
        for (n, o) in names.iter().zip(opts) {
            if n.as_str() != Some("VMAF_integer_feature_adm3_score") {
                continue;
            }
            let set: Vec<(String, String)> = o
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::Bool(b) => b.to_string(),
                        serde_json::Value::Number(x) => x.to_string(),
                        x => x.as_str().unwrap().to_owned(),
                    };
                    (k.clone(), v)
                })
                .collect();
            if !sets.contains(&set) {
                sets.push(set);
            }
        }
    }
    sets
}

#[test]
fn integer_adm_with_v1_model_options_matches_libvmaf() {
    let sets = v1_option_sets();
    assert_eq!(sets.len(), 4, "{sets:?}");
    let mut checked = 0;
    for pair in PAIRS {
        let Some(g) = golden(pair, "v1") else {
            // No v1 golden for the odd-size 4:2:0 pair (libvmaf crashes).
            assert_eq!(*pair, "astronaut_577x323_yuv420p_blur2.5");
            continue;
        };
        for set in &sets {
            let opts: Vec<(&str, &str)> = set.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let rep = score(pair, "adm", &opts, 2);
            // The suffix libvmaf gives this option set, from our own names.
            let names = printed_names(&rep);
            let adm2 = names.keys().find(|k| k.starts_with("integer_adm2_")).expect("suffixed adm2").clone();
            let suffix = adm2.trim_start_matches("integer_adm2").to_owned();
            let keys: Vec<String> = INTEGER_KEYS.iter().map(|k| format!("{k}{suffix}")).collect();
            let n = compare(pair, &g, &rep, |k| keys.iter().any(|x| x == k), same_at_6);
            assert_eq!(n, 7 * g.frames.len(), "{pair} {suffix}: every key of every frame");
            checked += n;
        }
    }
    assert!(checked > 5000, "only {checked} values compared");
}

fn full_golden(pair: &str) -> Golden {
    golden(pair, "full").or_else(|| golden(pair, "luma-full")).expect("golden")
}

/// vmaf_v0.6.1neg runs integer ADM with `adm_enhn_gain_limit=1`; its
/// features are in the `full` goldens with the `_egl_1` suffix.
#[test]
fn integer_adm_without_enhancement_gain_matches_libvmaf() {
    let mut checked = 0;
    for pair in PAIRS {
        let g = full_golden(pair);
        let rep = score(pair, "adm", &[("adm_enhn_gain_limit", "1")], 1);
        let keys: Vec<String> = INTEGER_KEYS.iter().map(|k| format!("{k}_egl_1")).collect();
        let n = compare(pair, &g, &rep, |k| keys.iter().any(|x| x == k), same_at_6);
        assert_eq!(n, 7 * g.frames.len(), "{pair}");
        checked += n;
    }
    assert!(checked > 1500, "only {checked} values compared");
}

const FLOAT_KEYS: &[&str] = &["adm2", "aim", "adm3", "adm_scale0", "adm_scale1", "adm_scale2", "adm_scale3"];

#[test]
fn float_adm_matches_libvmaf_within_1e4() {
    let mut checked = 0;
    let mut worst = 0f64;
    for pair in PAIRS {
        let g = full_golden(pair);
        for threads in [1, 2] {
            let rep = score(pair, "float_adm", &[], threads);
            let n = compare(pair, &g, &rep, |k| FLOAT_KEYS.contains(&k), |a, b| {
                worst = worst.max((a - b).abs());
                (a - b).abs() <= 1e-4
            });
            assert_eq!(n, 7 * g.frames.len(), "{pair}");
            checked += n;
        }
    }
    eprintln!("float_adm: largest difference from libvmaf {worst:.2e} over {checked} values");
    assert!(checked > 3000, "only {checked} values compared");
}
