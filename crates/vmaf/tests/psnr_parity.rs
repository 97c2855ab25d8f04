//! psnr against libvmaf 3.2.0's goldens, on every clip and frame, at every
//! thread count tried.

mod common;
use common::*;

fn score_psnr(pair: &str, threads: usize) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let mut r = vmaf::io::open(&r, None).unwrap();
    let mut d = vmaf::io::open(&d, None).unwrap();
    let g = r.geometry();
    let b = vmaf::Scorer::builder(g).feature("psnr", &[]).unwrap().threads(threads);
    vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}")).unwrap()
}

#[test]
fn psnr_matches_libvmaf_on_every_clip() {
    let mut checked = 0;
    for pair in PAIRS {
        // The odd-size 4:2:0 pair has luma-only goldens (libvmaf crashes on it).
        let g = golden(pair, "full").or_else(|| golden(pair, "luma-full")).expect("golden");
        for threads in [1, 3] {
            let rep = score_psnr(pair, threads);
            assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
            for (idx, metrics) in &g.frames {
                for (name, want) in metrics.iter().filter(|(n, _)| n.starts_with("psnr_") && !n.starts_with("psnr_hvs")) {
                    let id = rep.collector.id(name).unwrap_or_else(|| panic!("{pair}: no {name}"));
                    let got = rep.collector.get(id, *idx).unwrap();
                    let want = want.expect("psnr is finite");
                    assert!(same_at_6(got, want), "{pair} frame {idx} {name}: got {got:.6}, libvmaf {want:.6}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} values compared");
}
