//! VMAF model scores against libvmaf 3.2.0's goldens, end to end: real
//! clips, real extractors, every model output of every frame at 6 printed
//! decimals.
//!
//! `<pair>.default.json` and `<pair>.full.json` are compared from one run
//! with the full model set (`vmaf` is the same model in both), and
//! `<pair>.subsample3.json` from a run with `--subsample 3`.

mod common;
use common::*;
use vmaf::{Model, ModelConfig};

fn named(version: &str, name: &str) -> Model {
    Model::builtin(version).unwrap().with_config(ModelConfig { name: name.into(), ..Default::default() })
}

/// The models of the goldens' `full` run, with its names.
fn full_models() -> Vec<Model> {
    vec![
        named("vmaf_v0.6.1", "vmaf"),
        named("vmaf_v0.6.1neg", "vmaf_neg"),
        named("vmaf_4k_v0.6.1", "vmaf_4k"),
        named("vmaf_float_v0.6.1", "vmaf_float"),
        named("vmaf_b_v0.6.3", "vmaf_b"),
    ]
}

fn score(pair: &str, models: Vec<Model>, subsample: u32) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let mut r = vmaf::io::open(&r, None).unwrap();
    let mut d = vmaf::io::open(&d, None).unwrap();
    let mut b = vmaf::Scorer::builder(r.geometry()).threads(2).subsample(subsample);
    for m in models {
        b = b.model(m).unwrap_or_else(|e| panic!("{pair}: {e}"));
    }
    vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}"))
        .unwrap_or_else(|e| panic!("{pair}: {e}"))
}

/// Compares every output in `outputs` that the golden prints, frame by
/// frame; returns how many values were compared. A golden frame that lacks
/// one of the outputs it should print fails the test.
fn compare(pair: &str, rep: &vmaf::Report, g: &Golden, outputs: &[String]) -> usize {
    let mut n = 0;
    for (idx, metrics) in &g.frames {
        for name in outputs {
            let want = metrics
                .iter()
                .find(|(k, _)| k == name)
                .unwrap_or_else(|| panic!("{pair} frame {idx}: golden has no {name}"))
                .1
                .expect("model scores are finite");
            let id = rep.collector.id(name).unwrap_or_else(|| panic!("{pair}: no {name}"));
            let got = rep.collector.get(id, *idx).unwrap_or_else(|| panic!("{pair} frame {idx}: no {name}"));
            assert!(same_at_6(got, want), "{pair} frame {idx} {name}: got {got:.6}, libvmaf {want:.6}");
            n += 1;
        }
    }
    n
}

fn golden_of(pair: &str, kind: &str) -> Golden {
    golden(pair, kind).or_else(|| golden(pair, &format!("luma-{kind}"))).unwrap_or_else(|| panic!("{pair}: no {kind} golden"))
}

#[test]
fn default_and_full_models_match_libvmaf() {
    let mut checked = 0;
    for pair in PAIRS {
        let models = full_models();
        let outputs: Vec<String> = models.iter().flat_map(|m| m.output_names().to_vec()).collect();
        let rep = score(pair, models, 1);
        let full = golden_of(pair, "full");
        assert!(!full.frames.is_empty(), "{pair}: golden has no frames");
        assert_eq!(rep.frames as usize, full.frames.len(), "{pair}");
        // Every output of every frame, and `vmaf` once more from the default run.
        let default = golden_of(pair, "default");
        let n = compare(pair, &rep, &full, &outputs) + compare(pair, &rep, &default, &["vmaf".to_owned()]);
        let want = full.frames.len() * (outputs.len() + 1);
        assert_eq!(n, want, "{pair}: default and full goldens cover different frames");
        checked += n;
    }
    // 12 pairs of 12 to 30 frames, 29 model outputs each (vmaf_b adds its 20
    // bootstrap models and their statistics).
    assert!(checked > 9_000, "only {checked} values compared");
}

#[test]
fn subsampled_models_match_libvmaf() {
    let mut checked = 0;
    for pair in PAIRS {
        let rep = score(pair, vec![named("vmaf_v0.6.1", "vmaf")], 3);
        let g = golden_of(pair, "subsample3");
        assert_eq!(g.frames.len(), (rep.frames as usize).div_ceil(3), "{pair}");
        checked += compare(pair, &rep, &g, &["vmaf".to_owned()]);
        // Frames between the subsampled ones get no score, as in libvmaf.
        let id = rep.collector.id("vmaf").unwrap();
        for i in (0..rep.frames).filter(|i| i % 3 != 0) {
            assert!(rep.collector.get(id, i).is_none(), "{pair} frame {i} has a score");
        }
    }
    assert!(checked > 100, "only {checked} values compared");
}
