//! speed_chroma against libvmaf 3.2.0's vmaf_v1.0.16 goldens
//! (`<pair>.v1.json`): every speed_chroma key of every frame, with the
//! option sets the eight v1.0.16 model files give the extractor (read from
//! the models themselves), at one and two threads.

mod common;
use common::*;

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

fn model_path(file: &str) -> std::path::PathBuf {
    golden_dir().join("../models/upstream-only").join(file)
}

/// The distinct option sets the models give speed_chroma.
fn speed_chroma_option_sets() -> Vec<Vec<(String, String)>> {
    let mut sets: Vec<Vec<(String, String)>> = Vec::new();
    for (file, _) in MODELS {
        let m = vmaf::Model::from_path(model_path(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for f in m.features().iter().filter(|f| f.name.starts_with("Speed_chroma_feature_")) {
            if !sets.contains(&f.options) {
                sets.push(f.options.clone());
            }
        }
    }
    sets
}

#[test]
fn speed_chroma_matches_libvmaf_v1_goldens() {
    let sets = speed_chroma_option_sets();
    // Four as written; two of them differ only by an explicit default
    // (speed_kernelscale 1), so libvmaf runs three instances.
    assert_eq!(sets.len(), 4, "speed_chroma option sets of the models: {sets:?}");
    let mut checked = 0;
    let mut pairs = 0;
    for pair in PAIRS {
        let Some(g) = golden(pair, "v1") else { continue };
        pairs += 1;
        for threads in [1, 2] {
            let (r, d) = clip_pair(pair);
            let mut r = vmaf::io::open(&r, None).unwrap();
            let mut d = vmaf::io::open(&d, None).unwrap();
            let mut b = vmaf::Scorer::builder(r.geometry()).threads(threads);
            for set in &sets {
                let opts: Vec<(&str, &str)> = set.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                b = b.feature("speed_chroma", &opts).unwrap_or_else(|e| panic!("{pair}: {e}"));
            }
            let rep = vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}"))
                .unwrap_or_else(|e| panic!("{pair}: {e}"));
            assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
            for (idx, metrics) in &g.frames {
                let keys: Vec<_> = metrics.iter().filter(|(n, _)| n.starts_with("speed_chroma_")).collect();
                assert_eq!(keys.len(), 9, "{pair} frame {idx}: golden speed_chroma keys");
                for (name, want) in keys {
                    let id = rep.collector.id(name).unwrap_or_else(|| panic!("{pair}: no {name}"));
                    let got = rep.collector.get(id, *idx).unwrap_or_else(|| panic!("{pair} frame {idx}: no {name}"));
                    let want = want.expect("speed_chroma is finite");
                    assert!(
                        same_at_6(got, want),
                        "{pair} frame {idx} {name} ({threads} threads): got {got:.6}, libvmaf {want:.6}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(pairs, 11, "every pair but the odd-size 4:2:0 one has a v1 golden");
    assert!(checked > 1000, "only {checked} values compared");
}
