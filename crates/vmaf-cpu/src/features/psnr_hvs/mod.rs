//! `psnr_hvs`: PSNR-HVS, the Xiph/Daala variant of PSNR that compares 8x8
//! DCT blocks weighted by a contrast-sensitivity function and forgives errors
//! hidden by the block's own texture (contrast masking). One score per plane
//! (`psnr_hvs_y`, `psnr_hvs_cb`, `psnr_hvs_cr`) and their weighted blend
//! (`psnr_hvs`: 0.8 luma + 0.1 each chroma plane, blended before the dB
//! conversion).
//!
//! Blocks start every 7 samples in both directions; a plane narrower or
//! shorter than 8 samples has no block and scores NaN, as in libvmaf.
//! Identical pictures have zero error and score +infinity (printed `null`).
//! Like libvmaf 3.2.0 the extractor takes no options, refuses luma-only
//! input and depths above 12 bits (the integer transform and its squared
//! coefficients would overflow 32 bits), and weights every chroma plane with
//! the 4:2:0 tables whatever the subsampling. Chroma planes are scored at
//! their stored size (`ceil(w/2)` for odd subsampled widths).
//!
//! Kernels: `scalar.rs` (reference) and `x86.rs` (AVX2, also used at the
//! AVX-512 level; eight blocks per vector), chosen from
//! `CreateArgs::cpu_level`.

mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use vmaf_core::{
    ChromaSampling, CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, PictureData, Result,
};

use scalar::Weights;

const NAMES: [&str; 4] = ["psnr_hvs_y", "psnr_hvs_cb", "psnr_hvs_cr", "psnr_hvs"];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "psnr_hvs",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &NAMES,
    options: &[],
    temporal: false,
    create,
    help: "PSNR-HVS: CSF-weighted, contrast-masked PSNR on 8x8 DCT blocks, per plane and blended",
};

// The contrast-sensitivity weights of Xiph's PSNR-HVS (Daala tools,
// BSD-licensed): normalised inverse quantisation matrices at the threshold
// of visibility, row-major by (vertical, horizontal) frequency. They are
// written as double literals and narrowed at start-up, because libvmaf
// narrows its double initialisers to float the same way (decimal -> double
// -> float can differ from decimal -> float in the last bit).
#[rustfmt::skip]
const CSF_Y: [f64; 64] = [
    1.6193873005, 2.2901594831, 2.08509755623, 1.48366094411, 1.00227514334, 0.678296995242, 0.466224900598, 0.3265091542,
    2.2901594831, 1.94321815382, 2.04793073064, 1.68731108984, 1.2305666963, 0.868920337363, 0.61280991668, 0.436405793551,
    2.08509755623, 2.04793073064, 1.34329019223, 1.09205635862, 0.875748795257, 0.670882927016, 0.501731932449, 0.372504254596,
    1.48366094411, 1.68731108984, 1.09205635862, 0.772819797575, 0.605636379554, 0.48309405692, 0.380429446972, 0.295774038565,
    1.00227514334, 1.2305666963, 0.875748795257, 0.605636379554, 0.448996256676, 0.352889268808, 0.283006984131, 0.226951348204,
    0.678296995242, 0.868920337363, 0.670882927016, 0.48309405692, 0.352889268808, 0.27032073436, 0.215017739696, 0.17408067321,
    0.466224900598, 0.61280991668, 0.501731932449, 0.380429446972, 0.283006984131, 0.215017739696, 0.168869545842, 0.136153931001,
    0.3265091542, 0.436405793551, 0.372504254596, 0.295774038565, 0.226951348204, 0.17408067321, 0.136153931001, 0.109083846276,
];

#[rustfmt::skip]
const CSF_CB: [f64; 64] = [
    1.91113096927, 2.46074210438, 1.18284184739, 1.14982565193, 1.05017074788, 0.898018824055, 0.74725392039, 0.615105596242,
    2.46074210438, 1.58529308355, 1.21363250036, 1.38190029285, 1.33100189972, 1.17428548929, 0.996404342439, 0.830890433625,
    1.18284184739, 1.21363250036, 0.978712413627, 1.02624506078, 1.03145147362, 0.960060382087, 0.849823426169, 0.731221236837,
    1.14982565193, 1.38190029285, 1.02624506078, 0.861317501629, 0.801821139099, 0.751437590932, 0.685398513368, 0.608694761374,
    1.05017074788, 1.33100189972, 1.03145147362, 0.801821139099, 0.676555426187, 0.605503172737, 0.55002013668, 0.495804539034,
    0.898018824055, 1.17428548929, 0.960060382087, 0.751437590932, 0.605503172737, 0.514674450957, 0.454353482512, 0.407050308965,
    0.74725392039, 0.996404342439, 0.849823426169, 0.685398513368, 0.55002013668, 0.454353482512, 0.389234902883, 0.342353999733,
    0.615105596242, 0.830890433625, 0.731221236837, 0.608694761374, 0.495804539034, 0.407050308965, 0.342353999733, 0.295530605237,
];

#[rustfmt::skip]
const CSF_CR: [f64; 64] = [
    2.03871978502, 2.62502345193, 1.26180942886, 1.11019789803, 1.01397751469, 0.867069376285, 0.721500455585, 0.593906509971,
    2.62502345193, 1.69112867013, 1.17180569821, 1.3342742857, 1.28513006198, 1.13381474809, 0.962064122248, 0.802254508198,
    1.26180942886, 1.17180569821, 0.944981930573, 0.990876405848, 0.995903384143, 0.926972725286, 0.820534991409, 0.706020324706,
    1.11019789803, 1.3342742857, 0.990876405848, 0.831632933426, 0.77418706195, 0.725539939514, 0.661776842059, 0.587716619023,
    1.01397751469, 1.28513006198, 0.995903384143, 0.77418706195, 0.653238524286, 0.584635025748, 0.531064164893, 0.478717061273,
    0.867069376285, 1.13381474809, 0.926972725286, 0.725539939514, 0.584635025748, 0.496936637883, 0.438694579826, 0.393021669543,
    0.721500455585, 0.962064122248, 0.820534991409, 0.661776842059, 0.531064164893, 0.438694579826, 0.375820256136, 0.330555063063,
    0.593906509971, 0.802254508198, 0.706020324706, 0.587716619023, 0.478717061273, 0.393021669543, 0.330555063063, 0.285345396658,
];

/// The instruction-set level the kernel runs at.
#[derive(Clone, Copy)]
enum Level {
    Scalar,
    /// Holds the proof that the CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::Avx2),
}

impl Level {
    fn plane_error<T: vmaf_core::Pixel>(
        self,
        r: &vmaf_core::Plane<T>,
        d: &vmaf_core::Plane<T>,
        w: &Weights,
        bpc: u32,
    ) -> f64 {
        match self {
            Level::Scalar => scalar::plane_error(r, d, w, bpc),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2(k) => k.plane_error(r, d, w, bpc),
        }
    }
}

struct PsnrHvs {
    names: Vec<String>,
    level: Level,
    weights: [Weights; 3],
    bpc: u32,
    /// dB scores of the last submitted frame (3 planes + blend).
    last: Option<(u32, [f64; 4])>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let g = args.geometry;
    let fail = |msg: String| Error::Extractor { feature: SPEC.name.into(), msg };
    if g.sampling == ChromaSampling::Cs400 {
        return Err(fail("needs chroma planes; luma-only (4:0:0) input is not supported".into()));
    }
    if g.bit_depth > 12 {
        return Err(fail(format!("bit depth {} is not supported (at most 12)", g.bit_depth)));
    }
    let level = match args.cpu_level {
        CpuLevel::Scalar => Level::Scalar,
        #[cfg(target_arch = "x86_64")]
        _ => x86::Avx2::new().map_or(Level::Scalar, Level::Avx2),
        #[cfg(not(target_arch = "x86_64"))]
        _ => Level::Scalar,
    };
    let narrow = |t: &[f64; 64]| Weights::new(&t.map(|v| v as f32));
    Ok(Box::new(PsnrHvs {
        names: NAMES.iter().map(|s| s.to_string()).collect(),
        level,
        weights: [narrow(&CSF_Y), narrow(&CSF_CB), narrow(&CSF_CR)],
        bpc: g.bit_depth as u32,
        last: None,
    }))
}

/// Error ratio to dB; +inf for a zero error, NaN stays NaN.
fn to_db(error: f64) -> f64 {
    10.0 * -error.log10()
}

impl Extractor for PsnrHvs {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let mut err = [0.0f64; 3];
        for (p, e) in err.iter_mut().enumerate() {
            let w = &self.weights[p];
            *e = match (frame.reference.data(), frame.distorted.data()) {
                (PictureData::U8(r), PictureData::U8(d)) => self.level.plane_error(&r[p], &d[p], w, self.bpc),
                (PictureData::U16(r), PictureData::U16(d)) => self.level.plane_error(&r[p], &d[p], w, self.bpc),
                _ => {
                    return Err(Error::Mismatch("reference and distorted pictures have different sample types".into()))
                }
            };
        }
        let blend = err[0] * 0.8 + 0.1 * (err[1] + err[2]);
        self.last = Some((frame.index, [to_db(err[0]), to_db(err[1]), to_db(err[2]), to_db(blend)]));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        if let Some((i, scores)) = self.last.take() {
            debug_assert_eq!(i, index);
            for (slot, v) in scores.into_iter().enumerate() {
                sink.put(slot, i, v);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{CpuLevel, Geometry, Options, Picture};

    fn run(g: Geometry, fill: impl Fn(&mut Picture, &mut Picture)) -> Result<Vec<f64>> {
        let o = Options::parse("psnr_hvs", &[], std::iter::empty::<(&str, &str)>())?;
        let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None })?;
        let (mut r, mut d) = (Picture::new(g), Picture::new(g));
        fill(&mut r, &mut d);
        e.submit(&FramePair { reference: &r, distorted: &d, index: 0 })?;
        let mut sink = FeatureSink::new();
        e.collect(0, &mut sink)?;
        assert_eq!(e.feature_names(), &NAMES);
        Ok(sink.entries().iter().map(|x| x.value).collect())
    }

    #[test]
    fn identical_pictures_score_infinity() {
        for bpc in [8u8, 10, 12] {
            let g = Geometry::new(33, 17, ChromaSampling::Cs420, bpc).unwrap();
            let out = run(g, |_, _| {}).unwrap();
            assert_eq!(out, vec![f64::INFINITY; 4]);
        }
    }

    #[test]
    fn planes_without_a_block_score_nan() {
        // 4:2:0 at 14x14: luma has one block, chroma (7x7) none.
        let g = Geometry::new(14, 14, ChromaSampling::Cs420, 8).unwrap();
        let out = run(g, |_, d| {
            if let PictureData::U8(p) = d.data_mut() {
                p[0].data_mut()[0] = 200;
            }
        })
        .unwrap();
        assert!(out[0].is_finite() && out[0] > 0.0);
        assert!(out[1].is_nan() && out[2].is_nan() && out[3].is_nan());
    }

    #[test]
    fn unsupported_input_is_an_error() {
        let g = Geometry::new(16, 16, ChromaSampling::Cs400, 8).unwrap();
        assert!(matches!(run(g, |_, _| {}), Err(Error::Extractor { .. })));
        let g = Geometry::new(16, 16, ChromaSampling::Cs444, 16).unwrap();
        assert!(matches!(run(g, |_, _| {}), Err(Error::Extractor { .. })));
    }

    #[test]
    fn dc_error_is_not_masked() {
        // A uniform offset shows only in the DC coefficient, which is never
        // masked: error = (8 * offset * csf[0])^2 / 64 per block, over peak^2.
        let g = Geometry::new(8, 8, ChromaSampling::Cs444, 8).unwrap();
        let out = run(g, |r, d| {
            if let (PictureData::U8(r), PictureData::U8(d)) = (r.data_mut(), d.data_mut()) {
                r[0].data_mut().fill(100);
                d[0].data_mut().fill(104);
            }
        })
        .unwrap();
        let csf0 = CSF_Y[0] as f32;
        let dc = {
            let mut b = [100i32; 64];
            scalar::fdct8x8(&mut b);
            let mut c = [104i32; 64];
            scalar::fdct8x8(&mut c);
            (c[0] - b[0]) as f32
        };
        let expect = ((dc * csf0) * (dc * csf0) / 64.0 / (255.0f32 * 255.0)) as f64;
        assert_eq!(out[0], to_db(expect));
    }
}
