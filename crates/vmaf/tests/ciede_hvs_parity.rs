//! ciede and psnr_hvs against libvmaf 3.2.0's goldens, on every clip and
//! frame, with one and two threads. Non-finite scores (identical frames)
//! must be non-finite where libvmaf prints `null`.
//!
//! The odd-size 4:2:0 pair has only a luma golden (libvmaf cannot read its
//! chroma): there psnr_hvs_y is compared and the chroma-based scores are
//! only required to exist and be finite.

mod common;
use common::*;

/// Largest differences allowed per value (ARCHITECTURE.md).
const TOL_HVS: f64 = 5e-4;
const TOL_CIEDE: f64 = 5e-3;
/// What is actually achieved, checked as a guard against regressions: every
/// value equals libvmaf's up to the golden's 6-decimal printing (|diff| <=
/// 5e-7), with a little room for another C library's last-bit differences.
const ACHIEVED: f64 = 1e-6;

const HVS: [&str; 4] = ["psnr_hvs_y", "psnr_hvs_cb", "psnr_hvs_cr", "psnr_hvs"];

fn score(pair: &str, threads: usize) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let mut r = vmaf::io::open(&r, None).unwrap();
    let mut d = vmaf::io::open(&d, None).unwrap();
    let g = r.geometry();
    let b = vmaf::Scorer::builder(g).feature("ciede", &[]).unwrap().feature("psnr_hvs", &[]).unwrap().threads(threads);
    vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}")).unwrap()
}

#[derive(Default)]
struct Worst {
    diff: f64,
    at: String,
    unequal_at_6: usize,
    compared: usize,
}

impl Worst {
    fn add(&mut self, got: f64, want: f64, at: impl FnOnce() -> String) {
        let d = (got - want).abs();
        self.compared += 1;
        if !same_at_6(got, want) {
            self.unequal_at_6 += 1;
        }
        if d > self.diff {
            self.diff = d;
            self.at = at();
        }
    }
}

#[test]
fn ciede_and_psnr_hvs_match_libvmaf_on_every_clip() {
    let mut hvs = Worst::default();
    let mut ciede = Worst::default();
    let mut nulls = 0;
    for pair in PAIRS {
        let (g, luma_only) = match golden(pair, "full") {
            Some(g) => (g, false),
            None => (golden(pair, "luma-full").expect("golden"), true),
        };
        for threads in [1, 2] {
            let rep = score(pair, threads);
            assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
            let value = |name: &str, idx: u32| {
                let id = rep.collector.id(name).unwrap_or_else(|| panic!("{pair}: no {name}"));
                rep.collector.get(id, idx).unwrap_or_else(|| panic!("{pair}: no {name} at frame {idx}"))
            };
            for (idx, metrics) in &g.frames {
                let want =
                    |name: &str| -> Option<Option<f64>> { metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v) };
                for name in HVS.iter().copied().chain(["ciede2000"]) {
                    let got = value(name, *idx);
                    match want(name) {
                        Some(Some(w)) => {
                            let tol = if name == "ciede2000" { TOL_CIEDE } else { TOL_HVS };
                            assert!(
                                (got - w).abs() <= tol,
                                "{pair} t{threads} frame {idx} {name}: got {got:.6}, libvmaf {w:.6}"
                            );
                            let at = || format!("{pair} frame {idx} {name}: {got:.7} vs {w:.6}");
                            if name == "ciede2000" {
                                ciede.add(got, w, at);
                            } else {
                                hvs.add(got, w, at);
                            }
                        }
                        Some(None) => {
                            assert!(!got.is_finite(), "{pair} frame {idx} {name}: libvmaf null, got {got}");
                            nulls += 1;
                        }
                        None => {
                            assert!(luma_only, "{pair} frame {idx}: golden lacks {name}");
                            assert!(got.is_finite(), "{pair} frame {idx} {name}: {got}");
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "psnr_hvs: {} values, worst |diff| {:.3e} ({}), {} unequal at 6 decimals",
        hvs.compared, hvs.diff, hvs.at, hvs.unequal_at_6
    );
    eprintln!(
        "ciede2000: {} values, worst |diff| {:.3e} ({}), {} unequal at 6 decimals",
        ciede.compared, ciede.diff, ciede.at, ciede.unequal_at_6
    );
    assert!(hvs.diff <= ACHIEVED && ciede.diff <= ACHIEVED, "precision regressed");
    // Every pair has 12-30 frames and both thread counts are checked.
    assert!(hvs.compared > 2000 && ciede.compared > 500, "too few values compared");
    assert_eq!(nulls, 2 * 30 * 5, "chelsea_same: 30 frames of 5 null scores, twice");
}
