//! The lusoris/vmaf fork's extractors (`ssim`, `speed_qa`, `motion_v2`)
//! against the fork's goldens (`<pair>.fork.json`), on every clip pair and
//! frame, at more than one thread count. `ssimulacra2`, also in those
//! files, is checked elsewhere.

mod common;
use common::*;

/// The golden keys this test owns.
const KEYS: &[&str] = &[
    "ssim",
    "speed_qa",
    "VMAF_integer_feature_motion_v2_sad_score",
    "VMAF_integer_feature_motion2_v2_score",
    "VMAF_integer_feature_motion3_v2_score",
];

fn score(pair: &str, threads: usize) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let mut r = vmaf::io::open(&r, None).unwrap();
    let mut d = vmaf::io::open(&d, None).unwrap();
    let g = r.geometry();
    let mut b = vmaf::Scorer::builder(g).threads(threads);
    // The goldens' order on the fork's command line.
    for f in ["ssim", "motion_v2", "speed_qa"] {
        b = b.feature(f, &[]).unwrap();
    }
    vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}")).unwrap()
}

#[test]
fn fork_features_match_the_fork_on_every_clip() {
    let mut checked = 0;
    let mut worst_speed_qa = 0.0f64;
    for pair in PAIRS {
        let g = golden(pair, "fork").unwrap_or_else(|| panic!("{pair}: no .fork.json golden"));
        for threads in [1, 3] {
            let rep = score(pair, threads);
            assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
            for (idx, metrics) in &g.frames {
                for key in KEYS {
                    let want = metrics
                        .iter()
                        .find(|(n, _)| n == key)
                        .and_then(|(_, v)| *v)
                        .unwrap_or_else(|| panic!("{pair} frame {idx}: golden lacks {key}"));
                    let id = rep.collector.id(key).unwrap_or_else(|| panic!("{pair}: no {key}"));
                    let got = rep.collector.get(id, *idx).unwrap_or_else(|| panic!("{pair} frame {idx}: no {key}"));
                    assert!(same_at_6(got, want), "{pair} frame {idx} {key}: got {got:.6}, fork {want:.6}");
                    if *key == "speed_qa" {
                        worst_speed_qa = worst_speed_qa.max((got - want).abs());
                    }
                    checked += 1;
                }
            }
        }
    }
    // Printed at 6 decimals, so equal there means within 5e-7.
    assert!(worst_speed_qa <= 5e-7, "speed_qa off by {worst_speed_qa}");
    assert!(checked >= 2 * 5 * 300, "only {checked} values compared");
}

#[test]
fn fork_features_pool_like_the_fork() {
    for pair in ["astronaut_576x324_yuv420p_crf35", "chelsea_576x324_yuv420p10le_crf35"] {
        let g = golden(pair, "fork").unwrap();
        let rep = score(pair, 2);
        for key in KEYS {
            let (_, methods) = g.pooled.iter().find(|(n, _)| n == key).unwrap();
            for (m, want) in methods {
                let method = vmaf::PoolMethod::ALL.into_iter().find(|x| x.name() == m).unwrap();
                let got = rep.pooled(key, method).unwrap();
                assert!(same_at_6(got, want.unwrap()), "{pair} {key} {m}: {got:.6} vs {want:?}");
            }
        }
    }
}
