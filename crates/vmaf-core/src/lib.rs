//! Core types of vmaf-rs, shared by every backend and by the front end:
//! pictures and their geometry, the extractor seam (traits, registry entry,
//! options) and the feature collector. No backend code lives here.

pub mod alias;
pub mod collector;
pub mod error;
pub mod extractor;
pub mod fmt;
pub mod options;
pub mod picture;

pub use collector::{FeatureCollector, FeatureId};
pub use error::{Error, Result};
pub use extractor::{
    BackendKind, CpuLevel, CreateArgs, Extractor, ExtractorSpec, FeatureSink, FramePair, PendingScore, SinkEntry,
};
pub use options::{DefaultValue, OptionKind, OptionSpec, OptionValue, Options};
pub use picture::{ChromaSampling, Geometry, Picture, PictureData, Pixel, Plane};
