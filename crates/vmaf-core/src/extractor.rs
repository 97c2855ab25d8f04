//! The extractor seam: what every feature implementation provides, on every
//! backend.
//!
//! A registry entry ([`ExtractorSpec`]) describes an extractor as data
//! (name, provided features, options, flags) plus a constructor. The
//! constructor sizes every buffer from the geometry and returns a whole
//! extractor or an error; nothing is allocated later.
//!
//! Scoring a frame has two phases so that a GPU backend can enqueue all work
//! before waiting once: [`Extractor::submit`] starts (a CPU extractor: does)
//! the work for a frame, [`Extractor::collect`] reports the finished numbers
//! to a [`FeatureSink`]. Temporal extractors that report a frame's score
//! only once they have seen a later frame do so from a later `collect` or
//! from [`Extractor::flush`] at end of stream. There is no `close`: `Drop`
//! releases everything.

use crate::error::Result;
use crate::options::{OptionSpec, Options};
use crate::picture::{Geometry, Picture};

/// Which implementation family an extractor belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendKind {
    Cpu,
    Cuda,
}

/// The instruction sets a CPU extractor may use, detected once by the
/// caller and passed down (never read from a global), so tests can force
/// every level on the same machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CpuLevel {
    /// Portable reference code only.
    Scalar,
    Avx2,
    Avx512,
}

/// What a constructor receives.
#[derive(Clone, Debug)]
pub struct CreateArgs<'a> {
    pub options: &'a Options,
    pub geometry: Geometry,
    pub cpu_level: CpuLevel,
    /// The device a GPU extractor runs on (for CUDA a `vmaf_cuda::CudaDevice`,
    /// which the constructor downcasts to); `None` for CPU extractors. Typed
    /// as `Any` so this crate stays free of backend code.
    pub device: Option<&'a (dyn std::any::Any + Send + Sync)>,
}

/// A registry entry.
pub struct ExtractorSpec {
    /// The name `--feature` selects it by (libvmaf's extractor name).
    pub name: &'static str,
    pub backend: BackendKind,
    /// Feature names it writes, before option suffixes; models find their
    /// extractor through these.
    pub provided_features: &'static [&'static str],
    pub options: &'static [OptionSpec],
    /// Needs frames in order (keeps state from earlier frames); the engine
    /// feeds such an extractor from a single instance.
    pub temporal: bool,
    pub create: fn(&CreateArgs<'_>) -> Result<Box<dyn Extractor>>,
    pub help: &'static str,
}

impl std::fmt::Debug for ExtractorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtractorSpec")
            .field("name", &self.name)
            .field("backend", &self.backend)
            .field("temporal", &self.temporal)
            .finish()
    }
}

impl ExtractorSpec {
    /// Whether this entry writes `feature` (a provided name, un-suffixed).
    pub fn provides(&self, feature: &str) -> bool {
        self.provided_features.contains(&feature)
    }
}

/// The pair of pictures an extractor scores, and their index in the stream.
#[derive(Clone, Copy, Debug)]
pub struct FramePair<'a> {
    pub reference: &'a Picture,
    pub distorted: &'a Picture,
    pub index: u32,
}

/// A feature implementation on one backend.
pub trait Extractor: Send {
    /// The names this instance writes (option suffixes applied), indexed by
    /// the `slot` it passes to [`FeatureSink::put`].
    fn feature_names(&self) -> &[String];

    /// Starts the work for one frame pair. Non-temporal extractors may see
    /// frames in any order; temporal ones see them in stream order.
    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()>;

    /// Reports every score that is ready once frame `index` has been
    /// submitted (and, on a device, completed).
    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()>;

    /// End of stream: reports scores held back for look-ahead.
    fn flush(&mut self, sink: &mut FeatureSink) -> Result<()> {
        let _ = sink;
        Ok(())
    }

    /// Whether `collect(i)` may be called after `submit(i + 1)` and
    /// `submit(i + 2)`: the extractor keeps at least three frames in
    /// flight. When every extractor of a single-threaded run says so, the
    /// engine submits two frames ahead of the one it collects, so that a
    /// device computes while the caller reads and uploads the next ones.
    fn deferred_collect(&self) -> bool {
        false
    }
}

/// One score written by an extractor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SinkEntry {
    pub slot: u16,
    pub index: u32,
    pub value: f64,
}

/// Where an extractor writes its scores. The engine drains it into the
/// feature collector in a fixed order, so the output is the same whatever
/// the threading. Reused from frame to frame: no allocation once warm.
#[derive(Debug, Default)]
pub struct FeatureSink {
    entries: Vec<SinkEntry>,
    aggregates: Vec<(String, f64)>,
}

impl FeatureSink {
    pub fn new() -> Self {
        Self::default()
    }
    /// Writes `value` for the feature in `slot` of the extractor's
    /// [`Extractor::feature_names`], at frame `index`.
    pub fn put(&mut self, slot: usize, index: u32, value: f64) {
        debug_assert!(slot <= u16::MAX as usize);
        self.entries.push(SinkEntry { slot: slot as u16, index, value });
    }
    /// Writes a whole-stream value (e.g. aggregate PSNR) that the writers
    /// print under `aggregate_metrics`.
    pub fn put_aggregate(&mut self, name: impl Into<String>, value: f64) {
        self.aggregates.push((name.into(), value));
    }
    pub fn entries(&self) -> &[SinkEntry] {
        &self.entries
    }
    pub fn aggregates(&self) -> &[(String, f64)] {
        &self.aggregates
    }
    pub fn clear(&mut self) {
        self.entries.clear();
        self.aggregates.clear();
    }
}

/// A score an extractor computed in `submit`, held until `collect` reports
/// it: the shape of every CPU extractor with one output per frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct PendingScore(Option<(u32, f64)>);

impl PendingScore {
    /// Holds `value` for frame `index`.
    pub fn set(&mut self, index: u32, value: f64) {
        self.0 = Some((index, value));
    }

    /// Writes the held score (if any) to `sink` under `slot`, for frame
    /// `index`: the engine collects the frame it submitted last.
    pub fn report(&mut self, index: u32, slot: usize, sink: &mut FeatureSink) {
        if let Some((i, v)) = self.0.take() {
            debug_assert_eq!(i, index);
            sink.put(slot, i, v);
        }
    }
}
