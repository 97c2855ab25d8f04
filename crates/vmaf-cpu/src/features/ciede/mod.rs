//! `ciede`: the CIEDE2000 colour difference between the pictures, averaged
//! over every pixel and reported as a PSNR-like score,
//! `ciede2000 = 45 - 20 log10(mean dE00)` (higher is better).
//!
//! Each pixel's Y'CbCr is converted to CIE L*a*b* (BT.709, limited range)
//! and the two colours are compared with CIEDE2000 (k_L 0.65, k_H 4, as in
//! libvmaf). Identical pictures have a mean difference of 0 and score
//! +infinity (printed `null`, as libvmaf prints it). No options, as in
//! libvmaf 3.2.0; luma-only input is refused.
//!
//! Chroma is brought to luma resolution by repeating samples, the way
//! libvmaf does it:
//! * 4:4:4: used as is.
//! * 4:2:0: chroma sample (x/2, y/2) for luma pixel (x, y). For odd sizes,
//!   where libvmaf fails to read the input at all, the chroma planes are
//!   `ceil(w/2) x ceil(h/2)` and the same rule applies: the last luma
//!   column and row use the last chroma column and row.
//! * 4:2:2: libvmaf 3.2.0's upsampler swaps the two subsampling directions
//!   for this format: it repeats chroma *rows* (luma row y reads chroma row
//!   y/2) and does not halve the column, so a luma row of `w` pixels reads
//!   `w` consecutive chroma samples, running through the zero padding at
//!   the end of the chroma row (rows are padded to a multiple of 32
//!   samples) into the next chroma row. That is what its scores measure, so
//!   it is reproduced here: the chroma plane is read as if stored with that
//!   padded stride, the padding reading as 0. Beyond the last chroma row
//!   (only possible for a picture one row high) the samples read as 0 too.
//!
//! Only a scalar kernel: nearly all the time goes to the C library's `pow`,
//! `atan2`, `cos` and `sin`, whose exact results vector code could not
//! reproduce. The speed comes instead from memos of colour conversions and
//! colour-pair differences (`scalar::Memo`), which are exact by
//! construction. The CPU level is therefore ignored.

mod scalar;

use vmaf_core::{
    ChromaSampling, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, PictureData, Pixel, Plane,
    Result,
};

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "ciede",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &["ciede2000"],
    options: &[],
    temporal: false,
    create,
    help: "CIEDE2000 colour difference, as 45 - 20 log10(mean dE00)",
};

/// How chroma rows are brought to luma resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upsample {
    /// 4:4:4: nothing to do.
    None,
    /// 4:2:0: halve both coordinates.
    Both,
    /// 4:2:2 as libvmaf reads it: halve the row, read `w` samples of the
    /// chroma plane laid out with rows of `stride` samples (zero padded).
    Libvmaf422 { stride: usize },
}

/// log2 of the entries of the memos (see `scalar::Memo`): 2^16 colours of
/// 24 bytes and 2^18 colour pairs of 16 bytes, 5.5 MiB in all. Larger
/// tables gained nothing measurable on 1080p video; a pair table a quarter
/// this size costs about 30% more time.
const LAB_MEMO_BITS: u32 = 16;
const PAIR_MEMO_BITS: u32 = 18;

/// libvmaf's picture row alignment, in samples.
const ROW_ALIGN: usize = 32;

struct Ciede {
    names: Vec<String>,
    range: scalar::Range,
    upsample: Upsample,
    pixels: f64,
    /// One row of each plane of both pictures at luma resolution, reused
    /// for every row (reference Y, U, V then distorted Y, U, V).
    rows: [Vec<u16>; 6],
    memo: scalar::Memo,
    last: Option<(u32, f64)>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let g = args.geometry;
    let upsample = match g.sampling {
        ChromaSampling::Cs400 => {
            return Err(Error::Extractor {
                feature: SPEC.name.into(),
                msg: "needs chroma planes; luma-only (4:0:0) input is not supported".into(),
            })
        }
        ChromaSampling::Cs444 => Upsample::None,
        ChromaSampling::Cs420 => Upsample::Both,
        ChromaSampling::Cs422 => {
            let cw = g.plane_size(1).0 as usize;
            Upsample::Libvmaf422 { stride: cw.div_ceil(ROW_ALIGN) * ROW_ALIGN }
        }
    };
    let w = g.width as usize;
    Ok(Box::new(Ciede {
        names: vec!["ciede2000".into()],
        range: scalar::Range::new(g.bit_depth as u32),
        upsample,
        pixels: (g.width as u64 * g.height as u64) as f64,
        rows: std::array::from_fn(|_| vec![0u16; w]),
        memo: scalar::Memo::new(LAB_MEMO_BITS, PAIR_MEMO_BITS),
        last: None,
    }))
}

/// Writes row `y` of a plane, brought to luma resolution, into `out`
/// (`out.len()` is the luma width).
fn fill_row<T: Pixel>(p: &Plane<T>, y: usize, mode: Upsample, out: &mut [u16]) {
    let sample = |v: T| -> u16 { v.into() as u16 };
    match mode {
        Upsample::None => {
            for (o, &v) in out.iter_mut().zip(p.row(y)) {
                *o = sample(v);
            }
        }
        Upsample::Both => {
            let row = p.row(y / 2);
            for (j, o) in out.iter_mut().enumerate() {
                *o = sample(row[j / 2]);
            }
        }
        Upsample::Libvmaf422 { stride } => {
            // Sample j of the luma row is sample (y/2) * stride + j of the
            // padded plane: it spans at most two chroma rows, since the
            // luma width is at most twice the chroma width <= 2 * stride.
            let first = y / 2;
            for (k, chunk) in out.chunks_mut(stride).enumerate() {
                let cy = first + k;
                if cy < p.height() {
                    let row = p.row(cy);
                    for (j, o) in chunk.iter_mut().enumerate() {
                        *o = row.get(j).map_or(0, |&v| sample(v));
                    }
                } else {
                    chunk.fill(0);
                }
            }
        }
    }
}

impl Ciede {
    fn frame_sum<T: Pixel>(&mut self, r: &[Plane<T>; 3], d: &[Plane<T>; 3]) -> f64 {
        let mut sum = 0.0f64;
        let [ry, ru, rv, dy, du, dv] = &mut self.rows;
        for y in 0..r[0].height() {
            fill_row(&r[0], y, Upsample::None, ry);
            fill_row(&r[1], y, self.upsample, ru);
            fill_row(&r[2], y, self.upsample, rv);
            fill_row(&d[0], y, Upsample::None, dy);
            fill_row(&d[1], y, self.upsample, du);
            fill_row(&d[2], y, self.upsample, dv);
            let row = scalar::Row { ref_yuv: [ry, ru, rv], dis_yuv: [dy, du, dv] };
            scalar::row_sum(&row, &self.range, &mut self.memo, &mut sum);
        }
        sum
    }
}

impl Extractor for Ciede {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let sum = match (frame.reference.data(), frame.distorted.data()) {
            (PictureData::U8(r), PictureData::U8(d)) => self.frame_sum(r, d),
            (PictureData::U16(r), PictureData::U16(d)) => self.frame_sum(r, d),
            _ => return Err(Error::Mismatch("reference and distorted pictures have different sample types".into())),
        };
        // A zero sum gives +infinity, as in libvmaf.
        let score = 45.0 - 20.0 * (sum / self.pixels).log10();
        self.last = Some((frame.index, score));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        if let Some((i, score)) = self.last.take() {
            debug_assert_eq!(i, index);
            sink.put(0, i, score);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{CpuLevel, Geometry, Options, Picture};

    fn run(g: Geometry, fill: impl FnOnce(&mut Picture, &mut Picture)) -> Result<f64> {
        let o = Options::parse("ciede", &[], std::iter::empty::<(&str, &str)>())?;
        let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None })?;
        let (mut r, mut d) = (Picture::new(g), Picture::new(g));
        fill(&mut r, &mut d);
        e.submit(&FramePair { reference: &r, distorted: &d, index: 0 })?;
        let mut sink = FeatureSink::new();
        e.collect(0, &mut sink)?;
        assert_eq!(sink.entries().len(), 1);
        Ok(sink.entries()[0].value)
    }

    #[test]
    fn identical_pictures_score_infinity() {
        for s in [ChromaSampling::Cs420, ChromaSampling::Cs422, ChromaSampling::Cs444] {
            for bpc in [8u8, 10, 12, 16] {
                let g = Geometry::new(7, 5, s, bpc).unwrap();
                assert_eq!(run(g, |_, _| {}).unwrap(), f64::INFINITY);
            }
        }
    }

    /// Every sampling, depth and small size (odd ones and one-row pictures
    /// included, where the 4:2:2 reading runs past the last chroma row),
    /// with extreme and random samples: a score, never a panic; finite
    /// whenever the pictures differ.
    #[test]
    fn hostile_inputs_score_finitely() {
        let mut seed = 5u32;
        for s in [ChromaSampling::Cs420, ChromaSampling::Cs422, ChromaSampling::Cs444] {
            for bpc in [8u8, 10, 12, 16] {
                for (w, h) in [(1, 1), (2, 1), (1, 2), (3, 3), (9, 1), (33, 2), (65, 7)] {
                    let g = Geometry::new(w, h, s, bpc).unwrap();
                    let max = (1u32 << bpc) - 1;
                    for case in 0..3 {
                        let mut next = || {
                            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                            seed >> 8
                        };
                        let score = run(g, |r, d| {
                            let mut fill = |pic: &mut Picture, is_ref: bool| match pic.data_mut() {
                                PictureData::U8(p) => p.iter_mut().for_each(|p| {
                                    p.data_mut()
                                        .iter_mut()
                                        .for_each(|v| *v = sample(case, is_ref, max, &mut next) as u8)
                                }),
                                PictureData::U16(p) => p.iter_mut().for_each(|p| {
                                    p.data_mut()
                                        .iter_mut()
                                        .for_each(|v| *v = sample(case, is_ref, max, &mut next) as u16)
                                }),
                            };
                            fill(r, true);
                            fill(d, false);
                        })
                        .unwrap();
                        assert!(score.is_finite(), "{s:?} {bpc}-bit {w}x{h} case {case}: {score}");
                    }
                }
            }
        }

        /// Case 0: all-zero reference, all-maximum distorted; 1: the
        /// reverse; 2: random samples (from a fixed seed, differing between
        /// the pictures).
        fn sample(case: u32, is_ref: bool, max: u32, next: &mut impl FnMut() -> u32) -> u32 {
            match (case, is_ref) {
                (0, true) | (1, false) => 0,
                (0, false) | (1, true) => max,
                _ => next() & max,
            }
        }
    }

    #[test]
    fn luma_only_is_an_error() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs400, 8).unwrap();
        assert!(matches!(run(g, |_, _| {}), Err(Error::Extractor { .. })));
    }

    #[test]
    fn one_pixel_difference_is_averaged() {
        // One differing pixel out of w*h: score = 45 - 20 log10(dE / (w h)).
        let g = Geometry::new(5, 3, ChromaSampling::Cs444, 8).unwrap();
        let score = run(g, |r, d| {
            for (p, v) in [(0, 120u8), (1, 100), (2, 150)] {
                if let PictureData::U8(r) = r.data_mut() {
                    r[p].data_mut().fill(v);
                }
                if let PictureData::U8(d) = d.data_mut() {
                    d[p].data_mut().fill(v);
                    if p == 0 {
                        d[p].data_mut()[7] = v + 9;
                    }
                }
            }
        })
        .unwrap();
        let k = scalar::Range::new(8);
        let de = scalar::ciede2000(scalar::lab(120, 100, 150, &k), scalar::lab(129, 100, 150, &k)) as f64;
        assert_eq!(score, 45.0 - 20.0 * (de / 15.0).log10());
    }

    #[test]
    fn chroma_upsampling_rules() {
        // 4:2:0, odd width: the last luma column repeats the last chroma one.
        let p = Plane::from_vec(vec![1u8, 2, 3, 4, 5, 6], 3, 2, 3).unwrap();
        let mut out = [0u16; 5];
        fill_row(&p, 3, Upsample::Both, &mut out);
        assert_eq!(out, [4, 4, 5, 5, 6]);
        // libvmaf's 4:2:2 reading: luma row 2 reads chroma row 1 and runs
        // through the padding (stride 4 here) into row 2.
        let p = Plane::from_vec((1u16..=9).collect(), 3, 3, 3).unwrap();
        let mut out = [0u16; 6];
        fill_row(&p, 2, Upsample::Libvmaf422 { stride: 4 }, &mut out);
        assert_eq!(out, [4, 5, 6, 0, 7, 8]);
        // Past the last chroma row, zeros.
        fill_row(&p, 5, Upsample::Libvmaf422 { stride: 4 }, &mut out);
        assert_eq!(out, [7, 8, 9, 0, 0, 0]);
    }
}
