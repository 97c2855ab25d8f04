//! The one error type of the library crates.
//!
//! Variants carry enough context (file, feature, option) for the CLI to print
//! a one-line message without wrapping; the CLI adds only what the library
//! cannot know (which command-line flag a value came from).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {msg}")]
    BadInput { path: PathBuf, msg: String },
    #[error("invalid picture geometry: {0}")]
    InvalidGeometry(String),
    #[error("unsupported bit depth {0} (supported: 8, 10, 12, 16)")]
    UnsupportedBitDepth(u32),
    #[error("reference and distorted differ: {0}")]
    Mismatch(String),
    #[error("no frames to score")]
    NoFrames,
    #[error("unknown feature \"{name}\" (known: {known})")]
    UnknownFeature { name: String, known: String },
    #[error("feature \"{feature}\" has no option \"{option}\" (options: {known})")]
    UnknownOption { feature: String, option: String, known: String },
    #[error("feature \"{feature}\": bad value \"{value}\" for option \"{option}\": {expected}")]
    BadOptionValue { feature: String, option: String, value: String, expected: String },
    #[error("model {name}: {msg}")]
    Model { name: String, msg: String },
    #[error("backend {backend} is not available: {msg}")]
    BackendUnavailable { backend: String, msg: String },
    /// A device call failed while scoring (out of memory, a kernel fault,
    /// a lost device); `msg` names the call and the driver's error.
    #[error("{backend} error: {msg}")]
    Device { backend: String, msg: String },
    #[error("feature \"{feature}\": {msg}")]
    Extractor { feature: String, msg: String },
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    pub fn bad_input(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::BadInput { path: path.into(), msg: msg.into() }
    }
}
