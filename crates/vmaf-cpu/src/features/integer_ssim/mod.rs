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
    CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, PictureData, Pixel, Plane,
    Result,
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

/// The instruction-set level the kernels run at.
#[derive(Clone, Copy)]
enum Level {
    Scalar,
    /// Holds the proof that the CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::Avx2),
}

impl Level {
    fn new(cpu: CpuLevel) -> Self {
        match cpu {
            CpuLevel::Scalar => Level::Scalar,
            #[cfg(target_arch = "x86_64")]
            _ => x86::Avx2::new().map_or(Level::Scalar, Level::Avx2),
            #[cfg(not(target_arch = "x86_64"))]
            _ => Level::Scalar,
        }
    }
}

/// The driver at an instruction-set level, per sample type.
trait LevelSsim: Pixel {
    fn ssim(level: Level, x: &Plane<Self>, y: &Plane<Self>, bpc: u32, s: &mut Scratch) -> f64;
}

macro_rules! level_ssim {
    ($t:ty) => {
        impl LevelSsim for $t {
            fn ssim(level: Level, x: &Plane<$t>, y: &Plane<$t>, bpc: u32, s: &mut Scratch) -> f64 {
                match level {
                    Level::Scalar => scalar::ssim(&scalar::Scalar, x, y, bpc, s),
                    #[cfg(target_arch = "x86_64")]
                    Level::Avx2(k) => scalar::ssim(&k, x, y, bpc, s),
                }
            }
        }
    };
}
level_ssim!(u8);
level_ssim!(u16);

struct IntegerSsim {
    names: Vec<String>,
    level: Level,
    bpc: u32,
    scratch: Scratch,
    /// The score of the frame submitted last, written by `collect`.
    last: Option<(u32, f64)>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let g = args.geometry;
    Ok(Box::new(IntegerSsim {
        names: vec![args.options.feature_name("ssim")],
        level: Level::new(args.cpu_level),
        bpc: g.bit_depth as u32,
        scratch: Scratch::new(g.width as usize),
        last: None,
    }))
}

impl Extractor for IntegerSsim {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let score = match (frame.reference.data(), frame.distorted.data()) {
            (PictureData::U8(r), PictureData::U8(d)) => LevelSsim::ssim(self.level, &r[0], &d[0], self.bpc, &mut self.scratch),
            (PictureData::U16(r), PictureData::U16(d)) => LevelSsim::ssim(self.level, &r[0], &d[0], self.bpc, &mut self.scratch),
            _ => return Err(Error::Mismatch("reference and distorted sample types differ".into())),
        };
        self.last = Some((frame.index, score));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        if let Some((i, v)) = self.last.take() {
            debug_assert_eq!(i, index);
            sink.put(0, i, v);
        }
        Ok(())
    }
}
