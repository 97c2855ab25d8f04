//! `ssim`: the integer (fixed-point) luma SSIM that the lusoris/vmaf fork
//! of libvmaf adds (its `integer_ssim.c`, registered as `ssim`; the
//! floating-point SSIM stays `float_ssim`). One value per frame, `ssim`,
//! from the luma planes of reference and distorted.
//!
//! Unlike `float_ssim` it never downscales and has no options; its window
//! is cut (not mirrored) at the borders. See `scalar.rs` for the
//! arithmetic, which the SIMD kernels (`x86.rs`) reproduce bit for bit.

pub(crate) mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use vmaf_core::{
    CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, PictureData, Plane, Result,
};

use scalar::Scratch;

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "ssim",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &["ssim"],
    // The fork's extractor declares no options.
    options: &[],
    temporal: false,
    create,
    help: "SSIM of the luma plane in fixed point (lusoris/vmaf fork)",
};

/// The kernels of the chosen instruction-set level with their working
/// memory (each level keeps moments in its own layout).
enum Engine {
    Scalar(Scratch<scalar::Moments>),
    /// Holds the proof that the CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::Avx2, Scratch<x86::Rows>),
}

impl Engine {
    fn new(cpu: CpuLevel, w: usize) -> Self {
        #[cfg(target_arch = "x86_64")]
        if cpu >= CpuLevel::Avx2 {
            if let Some(k) = x86::Avx2::new() {
                return Engine::Avx2(k, Scratch::new(&k, w));
            }
        }
        let _ = cpu;
        Engine::Scalar(Scratch::new(&scalar::Scalar, w))
    }
}

/// `Engine::$name`: the SSIM of two planes of `$t` at the engine's level.
macro_rules! engine_ssim {
    ($name:ident, $t:ty) => {
        fn $name(&mut self, x: &Plane<$t>, y: &Plane<$t>, bpc: u32) -> f64 {
            match self {
                Engine::Scalar(s) => scalar::ssim(&scalar::Scalar, x, y, bpc, s),
                #[cfg(target_arch = "x86_64")]
                Engine::Avx2(k, s) => scalar::ssim(k, x, y, bpc, s),
            }
        }
    };
}

impl Engine {
    engine_ssim!(ssim_u8, u8);
    engine_ssim!(ssim_u16, u16);
}

struct IntegerSsim {
    names: Vec<String>,
    engine: Engine,
    bpc: u32,
    /// The score of the frame submitted last, written by `collect`.
    last: vmaf_core::PendingScore,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let g = args.geometry;
    Ok(Box::new(IntegerSsim {
        names: vec![args.options.feature_name("ssim")],
        engine: Engine::new(args.cpu_level, g.width as usize),
        bpc: g.bit_depth as u32,
        last: vmaf_core::PendingScore::default(),
    }))
}

impl Extractor for IntegerSsim {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let score = match (frame.reference.data(), frame.distorted.data()) {
            (PictureData::U8(r), PictureData::U8(d)) => self.engine.ssim_u8(&r[0], &d[0], self.bpc),
            (PictureData::U16(r), PictureData::U16(d)) => self.engine.ssim_u16(&r[0], &d[0], self.bpc),
            _ => return Err(Error::Mismatch("reference and distorted sample types differ".into())),
        };
        self.last.set(frame.index, score);
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        self.last.report(index, 0, sink);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{ChromaSampling, Geometry, Options, Picture};

    fn score(g: Geometry, level: CpuLevel, r: &Picture, d: &Picture) -> f64 {
        let o = Options::defaults("ssim", &[]);
        let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: level, device: None }).unwrap();
        let mut sink = FeatureSink::new();
        e.submit(&FramePair { reference: r, distorted: d, index: 7 }).unwrap();
        e.collect(7, &mut sink).unwrap();
        assert_eq!(e.feature_names(), ["ssim"]);
        assert_eq!(sink.entries().len(), 1);
        assert_eq!(sink.entries()[0].index, 7);
        sink.entries()[0].value
    }

    #[test]
    fn levels_agree_and_read_luma_only() {
        for bpc in [8u8, 10, 12, 16] {
            let g = Geometry::new(37, 21, ChromaSampling::Cs420, bpc).unwrap();
            let max = (1u32 << bpc) - 1;
            let fill = |p: &mut Picture, seed: u32| match p.data_mut() {
                PictureData::U8(pl) => {
                    for (k, plane) in pl.iter_mut().enumerate() {
                        for (i, v) in plane.data_mut().iter_mut().enumerate() {
                            *v = ((i as u32).wrapping_mul(2654435761).wrapping_add(seed * 97 + k as u32 * 13) >> 7 & max) as u8;
                        }
                    }
                }
                PictureData::U16(pl) => {
                    for (k, plane) in pl.iter_mut().enumerate() {
                        for (i, v) in plane.data_mut().iter_mut().enumerate() {
                            *v = ((i as u32).wrapping_mul(2654435761).wrapping_add(seed * 97 + k as u32 * 13) >> 7 & max) as u16;
                        }
                    }
                }
            };
            let (mut r, mut d) = (Picture::new(g), Picture::new(g));
            fill(&mut r, 1);
            fill(&mut d, 2);
            let a = score(g, CpuLevel::Scalar, &r, &d);
            let b = score(g, CpuLevel::Avx2, &r, &d);
            assert_eq!(a.to_bits(), b.to_bits(), "bpc {bpc}");
            assert!(a < 1.0);
            assert!((score(g, CpuLevel::Avx2, &r, &r) - 1.0).abs() < 1e-12 || bpc == 16);
            // Chroma is not read.
            let mut d2 = d.clone();
            match d2.data_mut() {
                PictureData::U8(pl) => pl[1].data_mut().fill(0),
                PictureData::U16(pl) => pl[2].data_mut().fill(0),
            }
            assert_eq!(score(g, CpuLevel::Scalar, &r, &d2).to_bits(), a.to_bits());
        }
    }
}
