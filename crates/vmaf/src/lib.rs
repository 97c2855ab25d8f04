//! vmaf-rs: libvmaf's scores, computed in Rust.
//!
//! This crate is the front door: readers for Y4M and raw YUV ([`io`]), the
//! [`Scorer`] that drives feature extractors frame by frame, and the
//! end-to-end loop over two streams ([`score_streams`]), pooling ([`pool`])
//! and libvmaf's report files ([`output`]). VMAF models ([`Model`], from the
//! `vmaf-model` crate) plug into the scorer through [`ScorerBuilder::model`].

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
