//! vmaf-rs: libvmaf's scores, computed in Rust.
//!
//! This crate is the front door: readers for Y4M and raw YUV ([`io`]), the
//! [`Scorer`] that drives feature extractors frame by frame, and the
//! end-to-end loop over two streams ([`score_streams`]), pooling ([`pool`])
//! and libvmaf's report files ([`output`]).

mod engine;
pub mod io;
pub mod output;
pub mod pool;
mod run;
mod scorer;

pub use output::{write_output, write_report, OutputFormat};
pub use pool::PoolMethod;
pub use run::{check_compatible, score_streams, StreamRange};
pub use scorer::{registry, Backend, Report, Scorer, ScorerBuilder};
pub use vmaf_core::{
    ChromaSampling, CpuLevel, Error, FeatureCollector, FeatureId, Geometry, Picture, PictureData, Plane, Result,
};
