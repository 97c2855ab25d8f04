//! vmaf-rs: libvmaf's scores, computed in Rust.
//!
//! This crate is the front door: readers for Y4M and raw YUV ([`io`]), the
//! [`Scorer`] that drives feature extractors frame by frame, and the
//! end-to-end loop over two streams ([`score_streams`]), pooling ([`pool`])
//! and libvmaf's report files ([`output`]). VMAF models ([`Model`], from the
//! `vmaf-model` crate) plug into the scorer through [`ScorerBuilder::model`].
//!
//! Scoring frames already in memory (from a decoder, say):
//!
//! ```
//! use vmaf::{load_model, ChromaSampling, Geometry, ModelArg, Picture, PictureData, PoolMethod, Scorer};
//!
//! # fn main() -> vmaf::Result<()> {
//! let g = Geometry::new(64, 48, ChromaSampling::Cs420, 8)?;
//! let model = load_model(&ModelArg::parse("version=vmaf_v0.6.1")?)?;
//! // `threads(n)` scores on n worker threads; `backend(Backend::Cuda { .. })`
//! // on a GPU. The scores are the same.
//! let mut scorer = Scorer::builder(g).model(model)?.threads(2).build()?;
//! for i in 0..4u8 {
//!     let (mut reference, mut distorted) = (Picture::new(g), Picture::new(g));
//!     if let (PictureData::U8(r), PictureData::U8(d)) = (reference.data_mut(), distorted.data_mut()) {
//!         for (x, v) in r[0].data_mut().iter_mut().enumerate() {
//!             *v = (x as u8).wrapping_mul(7).wrapping_add(i);
//!         }
//!         for (x, v) in d[0].data_mut().iter_mut().enumerate() {
//!             *v = (x as u8).wrapping_mul(7).wrapping_add(i) / 2 * 2;
//!         }
//!     }
//!     scorer.push(&reference, &distorted)?;
//! }
//! let report = scorer.finish()?;
//! let vmaf = report.pooled("vmaf", PoolMethod::Mean).expect("every frame has a score");
//! assert!((0.0..=100.0).contains(&vmaf));
//! // Per frame: the collector holds every feature and model output.
//! let id = report.collector.id("vmaf").expect("scored");
//! assert!(report.collector.get(id, 3).is_some());
//! # Ok(())
//! # }
//! ```

mod engine;
pub mod io;
pub mod output;
pub mod pool;
mod run;
mod scorer;

pub use output::{write_output, write_report, OutputFormat};
pub use pool::PoolMethod;
pub use run::{check_compatible, score_streams, StreamRange};
pub use scorer::{extractor_for_feature, load_model, registry, Backend, Report, Scorer, ScorerBuilder};
pub use vmaf_model::{
    builtin_versions, FeatureOverload, Model, ModelArg, ModelConfig, ModelFeature, ModelSource, DEFAULT_VERSION,
};
pub use vmaf_core::{
    ChromaSampling, CpuLevel, Error, FeatureCollector, FeatureId, Geometry, Picture, PictureData, Plane, Result,
};
