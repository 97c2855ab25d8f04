//! The eight vmaf_v1.0.16 models, loaded from their files as the golden
//! README's command line loads them (`-m path=...:name=...`), against
//! libvmaf 3.2.0's `<pair>.v1.json`: every key of every frame (the eight
//! model scores and every feature they read: cambi, speed_chroma, adm3,
//! motion3 with their option suffixes) at 6 printed decimals.

mod common;
use common::*;
use vmaf::{Model, ModelConfig};

const MODELS: &[(&str, &str)] = &[
    ("vmaf_v1.0.16_1d5h_2160.json", "v1_1d5h_2160"),
    ("vmaf_v1.0.16_3d0h.json", "v1_3d0h"),
    ("vmaf_v1.0.16_3d0h_2160.json", "v1_3d0h_2160"),
    ("vmaf_v1.0.16_5d0h.json", "v1_5d0h"),
    ("vmaf_v1.0.16_hfr_1d5h_2160.json", "v1_hfr_1d5h_2160"),
    ("vmaf_v1.0.16_hfr_3d0h.json", "v1_hfr_3d0h"),
    ("vmaf_v1.0.16_hfr_3d0h_2160.json", "v1_hfr_3d0h_2160"),
    ("vmaf_v1.0.16_hfr_5d0h.json", "v1_hfr_5d0h"),
];

fn models() -> Vec<Model> {
    MODELS
        .iter()
        .map(|(file, name)| {
            let path = golden_dir().join("../models/upstream-only").join(file);
            Model::from_path(&path)
                .unwrap_or_else(|e| panic!("{file}: {e}"))
                .with_config(ModelConfig { name: (*name).into(), ..Default::default() })
        })
        .collect()
}

#[test]
fn v1_models_match_libvmaf_on_every_key_and_frame() {
    let mut checked = 0;
    let mut pairs = 0;
    for pair in PAIRS {
        let Some(g) = golden(pair, "v1") else { continue };
        pairs += 1;
        let (r, d) = clip_pair(pair);
        let mut r = vmaf::io::open(&r, None).unwrap();
        let mut d = vmaf::io::open(&d, None).unwrap();
        let mut b = vmaf::Scorer::builder(r.geometry()).threads(2);
        for m in models() {
            b = b.model(m).unwrap_or_else(|e| panic!("{pair}: {e}"));
        }
        let rep = vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}"))
            .unwrap_or_else(|e| panic!("{pair}: {e}"));
        assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
        for (idx, metrics) in &g.frames {
            for (name, want) in metrics {
                let id = rep.collector.id(name).unwrap_or_else(|| panic!("{pair}: no {name}"));
                let got = rep.collector.get(id, *idx).unwrap_or_else(|| panic!("{pair} frame {idx}: no {name}"));
                let want = want.unwrap_or_else(|| panic!("{pair} frame {idx} {name}: null in golden"));
                assert!(same_at_6(got, want), "{pair} frame {idx} {name}: got {got:.6}, libvmaf {want:.6}");
                checked += 1;
            }
        }
    }
    assert_eq!(pairs, 11, "every pair but the odd-size 4:2:0 one has a v1 golden");
    assert!(checked > 10_000, "only {checked} values compared");
}
