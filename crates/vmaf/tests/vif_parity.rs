//! vif (libvmaf's integer VIF) against libvmaf 3.2.0's goldens, on every
//! clip and frame, at one and two threads; the `egl` option against the
//! `integer_vif_scale*_egl_1` values the vmaf_v0.6.1neg model prints; and
//! float_vif against the `vif_scale*` values of the vmaf_float_v0.6.1 model.

mod common;
use common::*;

fn score(pair: &str, threads: usize, feature: &str, opts: &[(&str, &str)]) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let mut r = vmaf::io::open(&r, None).unwrap();
    let mut d = vmaf::io::open(&d, None).unwrap();
    let g = r.geometry();
    let b = vmaf::Scorer::builder(g).feature(feature, opts).unwrap().threads(threads);
    vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}")).unwrap()
}

/// The golden with the luma outputs of `pair` (the odd-size 4:2:0 pair has
/// luma-only goldens, libvmaf crashes on it).
fn luma_golden(pair: &str, kind: &str) -> Golden {
    golden(pair, kind).or_else(|| golden(pair, &format!("luma-{kind}"))).expect("golden")
}

/// Compares every frame of the printed features `names` (golden keys) with
/// the report's features `ours`; returns how many values were compared.
fn compare(pair: &str, rep: &vmaf::Report, g: &Golden, keys: &[(String, String)]) -> usize {
    assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
    let mut n = 0;
    for (idx, metrics) in &g.frames {
        for (ours, key) in keys {
            let want = metrics.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("{pair}: golden lacks {key}"));
            let want = want.1.expect("vif is finite");
            let id = rep.collector.id(ours).unwrap_or_else(|| panic!("{pair}: no {ours}"));
            let got = rep.collector.get(id, *idx).unwrap();
            assert!(same_at_6(got, want), "{pair} frame {idx} {key}: got {got:.6}, libvmaf {want:.6}");
            n += 1;
        }
    }
    n
}

#[test]
fn integer_vif_matches_libvmaf_on_every_clip() {
    let keys: Vec<(String, String)> =
        (0..4).map(|s| (format!("VMAF_integer_feature_vif_scale{s}_score"), format!("integer_vif_scale{s}"))).collect();
    let mut checked = 0;
    for pair in PAIRS {
        let g = luma_golden(pair, "default");
        for threads in [1, 2] {
            let rep = score(pair, threads, "vif", &[]);
            checked += compare(pair, &rep, &g, &keys);
        }
    }
    assert!(checked > 2000, "only {checked} values compared");
}

#[test]
fn egl_option_names_and_scores_like_libvmaf() {
    let keys: Vec<(String, String)> =
        (0..4).map(|s| (format!("integer_vif_scale{s}_egl_1"), format!("integer_vif_scale{s}_egl_1"))).collect();
    let mut checked = 0;
    for pair in PAIRS {
        let g = luma_golden(pair, "full");
        let rep = score(pair, 2, "vif", &[("vif_enhn_gain_limit", "1.0")]);
        checked += compare(pair, &rep, &g, &keys);
    }
    assert!(checked > 1000, "only {checked} values compared");
}

#[test]
fn float_vif_matches_libvmaf_within_1e_4_on_every_clip() {
    let mut checked = 0;
    let mut worst = 0f64;
    for pair in PAIRS {
        let g = luma_golden(pair, "full");
        for threads in [1, 2] {
            let rep = score(pair, threads, "float_vif", &[]);
            assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
            for (idx, metrics) in &g.frames {
                for s in 0..4 {
                    let key = format!("vif_scale{s}");
                    let want = metrics.iter().find(|(k, _)| *k == key).and_then(|x| x.1).expect("golden vif");
                    let id = rep.collector.id(&format!("VMAF_feature_vif_scale{s}_score")).expect("float vif");
                    let got = rep.collector.get(id, *idx).unwrap();
                    // The golden is printed with 6 decimals.
                    let diff = (got - want).abs();
                    worst = worst.max(diff);
                    assert!(diff <= 1e-4, "{pair} frame {idx} {key}: got {got:.6}, libvmaf {want:.6}");
                    // We follow libvmaf's float operations exactly, so the
                    // printed values are equal too.
                    assert!(same_at_6(got, want), "{pair} frame {idx} {key}: got {got:.9}, libvmaf {want:.6}");
                    checked += 1;
                }
            }
        }
    }
    eprintln!("float_vif: {checked} values, largest difference {worst:.2e}");
    assert!(checked > 2000, "only {checked} values compared");
}
