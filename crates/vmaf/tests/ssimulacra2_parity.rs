//! ssimulacra2 against the lusoris/vmaf fork's goldens (`<pair>.fork.json`),
//! on every clip and frame: 4:2:0, 4:2:2 and 4:4:4, 8 to 12 bits, and the
//! odd-size 4:2:0 pair read from its Y4M. The fork sums its norms in a
//! different order (and its own SIMD and scalar paths disagree in the 6th
//! decimal), so values must agree within 1e-3, not to the last digit.
//!
//! One difference is the fork's reader, not its metric: its Y4M input
//! (libtheora's `y4m_input.c`) moves the chroma of 8-bit `C422` streams from
//! MPEG-2 to JPEG siting with a 6-tap filter before scoring, where our
//! reader (and libvmaf's raw YUV path) keeps the samples as stored. For the
//! 4:2:2 pair the test applies that filter itself ([`ResiteChroma422`]),
//! so the extractor is checked against the golden as it is. (Run on the
//! same frames as raw YUV, the fork gives our unfiltered scores.)
//!
//! Every CPU level this machine has must give the scalar scores bit for
//! bit (the fork's own levels differ in the 6th decimal).

mod common;
use common::*;

use vmaf::io::VideoReader;
use vmaf::CpuLevel;
use vmaf_core::{ChromaSampling, Geometry, Picture, PictureData, Result};

const TOLERANCE: f64 = 1e-3;

/// A reader that re-sites the chroma of 8-bit 4:2:2 pictures the way the
/// fork's Y4M reader does: each chroma row filtered by
/// `[4, -17, 114, 35, -9, 1] / 128` over columns `x - 2 ..= x + 3` (clamped
/// to the row), rounded, clamped to 0..=255.
struct ResiteChroma422 {
    inner: Box<dyn VideoReader>,
    row: Vec<u8>,
}

impl ResiteChroma422 {
    const TAPS: [i32; 6] = [4, -17, 114, 35, -9, 1];

    fn filter_row(src: &[u8], dst: &mut [u8]) {
        let last = src.len() as isize - 1;
        for (x, out) in dst.iter_mut().enumerate() {
            let sum: i32 = Self::TAPS
                .iter()
                .enumerate()
                .map(|(k, &t)| t * src[(x as isize + k as isize - 2).clamp(0, last) as usize] as i32)
                .sum();
            *out = ((sum + 64) >> 7).clamp(0, 255) as u8;
        }
    }
}

impl VideoReader for ResiteChroma422 {
    fn geometry(&self) -> Geometry {
        self.inner.geometry()
    }
    fn path(&self) -> &std::path::Path {
        self.inner.path()
    }
    fn read_frame(&mut self, pic: &mut Picture) -> Result<bool> {
        if !self.inner.read_frame(pic)? {
            return Ok(false);
        }
        if let PictureData::U8(planes) = pic.data_mut() {
            for plane in &mut planes[1..] {
                for y in 0..plane.height() {
                    self.row.clear();
                    self.row.extend_from_slice(plane.row(y));
                    Self::filter_row(&self.row, plane.row_mut(y));
                }
            }
        }
        Ok(true)
    }
}

fn open(path: &std::path::Path) -> Box<dyn VideoReader> {
    let r = vmaf::io::open(path, None).unwrap();
    let g = r.geometry();
    if g.sampling == ChromaSampling::Cs422 && g.bit_depth == 8 {
        Box::new(ResiteChroma422 { inner: r, row: Vec::new() })
    } else {
        r
    }
}

fn score(pair: &str, threads: usize, level: CpuLevel) -> vmaf::Report {
    let (r, d) = clip_pair(pair);
    let (mut r, mut d) = (open(&r), open(&d));
    let g = r.geometry();
    let b = vmaf::Scorer::builder(g).feature("ssimulacra2", &[]).unwrap().threads(threads).cpu_level(level);
    vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}")).unwrap()
}

#[test]
fn ssimulacra2_matches_the_fork_on_every_clip() {
    let mut checked = 0;
    let mut worst = (0.0f64, String::new());
    let best = vmaf_cpu::detect_cpu_level();
    for pair in PAIRS {
        let g = load_fork_golden(pair);
        let rep = score(pair, 2, best);
        assert_eq!(rep.frames as usize, g.frames.len(), "{pair}");
        let id = rep.collector.id("ssimulacra2").unwrap_or_else(|| panic!("{pair}: no ssimulacra2"));
        let scalar = (best != CpuLevel::Scalar).then(|| score(pair, 1, CpuLevel::Scalar));
        for (idx, metrics) in &g.frames {
            let want = metrics
                .iter()
                .find(|(n, _)| n == "ssimulacra2")
                .and_then(|(_, v)| *v)
                .unwrap_or_else(|| panic!("{pair} frame {idx}: golden has no ssimulacra2"));
            let got = rep.collector.get(id, *idx).unwrap();
            if let Some(s) = &scalar {
                let reference = s.collector.get(s.collector.id("ssimulacra2").unwrap(), *idx).unwrap();
                assert_eq!(got.to_bits(), reference.to_bits(), "{pair} frame {idx}: {best:?} {got} vs scalar {reference}");
            }
            let dev = (got - want).abs();
            assert!(dev <= TOLERANCE, "{pair} frame {idx}: got {got:.6}, fork {want:.6}");
            if dev > worst.0 {
                worst = (dev, format!("{pair} frame {idx}: {got:.6} vs {want:.6}"));
            }
            checked += 1;
        }
    }
    eprintln!("ssimulacra2: {checked} frames, largest deviation {:.2e} ({})", worst.0, worst.1);
    assert!(checked >= 12 * 10, "only {checked} frames compared");
}

#[test]
fn identical_frames_score_exactly_100() {
    let rep = score("chelsea_576x324_yuv420p_same", 1, vmaf_cpu::detect_cpu_level());
    let id = rep.collector.id("ssimulacra2").unwrap();
    for i in 0..rep.frames {
        assert_eq!(rep.collector.get(id, i), Some(100.0), "frame {i}");
    }
}
