//! The [`Scorer`]: the library's entry point for scoring frame pairs.
//!
//! ```no_run
//! # fn main() -> vmaf::Result<()> {
//! use vmaf::{ChromaSampling, Geometry, Scorer};
//! let g = Geometry::new(1920, 1080, ChromaSampling::Cs420, 8)?;
//! let mut scorer = Scorer::builder(g).feature("psnr", &[])?.threads(4).build()?;
//! let (reference, distorted) = scorer.frame_slot();
//! // ... fill both pictures ...
//! scorer.commit_frame()?;
//! let report = scorer.finish()?;
//! # Ok(()) }
//! ```

use vmaf_core::{BackendKind, CpuLevel, Error, ExtractorSpec, FeatureCollector, Geometry, Options, Picture, Result};

use crate::engine::{Engine, ExtractorConfig};

/// Where the work runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    #[default]
    Cpu,
    /// An NVIDIA GPU, by CUDA device index.
    Cuda { device: usize },
}

/// Every extractor this build knows, on every backend.
pub fn registry() -> impl Iterator<Item = &'static ExtractorSpec> {
    vmaf_cpu::EXTRACTORS.iter().copied()
}

fn find_extractor(name: &str, backend: BackendKind) -> Result<&'static ExtractorSpec> {
    registry().find(|s| s.name == name && s.backend == backend).ok_or_else(|| Error::UnknownFeature {
        name: name.to_owned(),
        known: registry().filter(|s| s.backend == backend).map(|s| s.name).collect::<Vec<_>>().join(", "),
    })
}

/// Configures a [`Scorer`].
#[derive(Debug)]
pub struct ScorerBuilder {
    geometry: Geometry,
    backend: Backend,
    threads: usize,
    cpu_level: Option<CpuLevel>,
    subsample: u32,
    features: Vec<(&'static ExtractorSpec, Options)>,
}

impl ScorerBuilder {
    /// Adds an extractor by its libvmaf name (`psnr`, `float_ssim`, ...)
    /// with `key=value` options. The same extractor with the same options
    /// is added once.
    pub fn feature(mut self, name: &str, options: &[(&str, &str)]) -> Result<Self> {
        let spec = find_extractor(name, BackendKind::Cpu)?;
        let opts = Options::parse(spec.name, spec.options, options.iter().copied())?;
        if !self.features.iter().any(|(s, o)| std::ptr::eq(*s, spec) && *o == opts) {
            self.features.push((spec, opts));
        }
        Ok(self)
    }

    /// Worker threads (0 or 1: score on the calling thread). Scores are the
    /// same for every value.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }

    /// Forces an instruction-set level (default: the best the CPU has,
    /// capped by `VMAF_CPU_LEVEL`).
    pub fn cpu_level(mut self, level: CpuLevel) -> Self {
        self.cpu_level = Some(level);
        self
    }

    /// Scores only every `n`-th frame (libvmaf's `--subsample`); temporal
    /// features still see every frame.
    pub fn subsample(mut self, n: u32) -> Self {
        self.subsample = n.max(1);
        self
    }

    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    pub fn build(self) -> Result<Scorer> {
        if let Backend::Cuda { device } = self.backend {
            return Err(Error::BackendUnavailable {
                backend: format!("cuda (device {device})"),
                msg: "this build has no CUDA backend yet; use --backend cpu".into(),
            });
        }
        if self.features.is_empty() {
            return Err(Error::Usage("no features or models to compute".into()));
        }
        let cpu_level = self.cpu_level.unwrap_or_else(vmaf_cpu::detect_cpu_level);
        let configs =
            self.features.into_iter().map(|(spec, options)| ExtractorConfig { spec, options }).collect();
        let engine = Engine::new(self.geometry, configs, self.threads, cpu_level, self.subsample)?;
        Ok(Scorer { geometry: self.geometry, engine, subsample: self.subsample })
    }
}

/// Scores a stream of frame pairs of one geometry.
pub struct Scorer {
    geometry: Geometry,
    engine: Engine,
    subsample: u32,
}

/// Everything a finished run produced.
#[derive(Debug)]
pub struct Report {
    pub geometry: Geometry,
    /// Frames read and scored (libvmaf's picture count).
    pub frames: u32,
    pub subsample: u32,
    pub collector: FeatureCollector,
}

impl Scorer {
    pub fn builder(geometry: Geometry) -> ScorerBuilder {
        ScorerBuilder {
            geometry,
            backend: Backend::Cpu,
            threads: 1,
            cpu_level: None,
            subsample: 1,
            features: Vec::new(),
        }
    }

    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The next (reference, distorted) pair to fill in place; the scorer
    /// owns the buffers, so filling them is the only copy a frame needs.
    pub fn frame_slot(&mut self) -> (&mut Picture, &mut Picture) {
        self.engine.slot()
    }

    /// Queues the pair filled through [`Self::frame_slot`].
    pub fn commit_frame(&mut self) -> Result<()> {
        self.engine.commit()
    }

    /// Copies a pair in and queues it.
    pub fn push(&mut self, reference: &Picture, distorted: &Picture) -> Result<()> {
        for p in [reference, distorted] {
            if *p.geometry() != self.geometry {
                return Err(Error::Mismatch(format!(
                    "picture is {:?}, scorer expects {:?}",
                    p.geometry(),
                    self.geometry
                )));
            }
        }
        let (r, d) = self.engine.slot();
        r.clone_from(reference);
        d.clone_from(distorted);
        self.engine.commit()
    }

    /// Frames queued so far.
    pub fn frames(&self) -> u32 {
        self.engine.frames()
    }

    /// Scores what is queued, flushes temporal features and returns every
    /// score.
    pub fn finish(mut self) -> Result<Report> {
        let frames = self.engine.finish()?;
        if frames == 0 {
            return Err(Error::NoFrames);
        }
        let collector = std::mem::take(&mut self.engine.collector);
        Ok(Report { geometry: self.geometry, frames, subsample: self.subsample, collector })
    }
}
