//! vmaf-rs: libvmaf's scores, computed in Rust.
//!
//! This crate is the front door: readers for Y4M and raw YUV ([`io`]), the
//! [`Scorer`] that drives feature extractors frame by frame, pooling, and
//! output writers in libvmaf's exact layouts ([`output`]).

pub mod io;

pub use vmaf_core::{ChromaSampling, Error, Geometry, Picture, PictureData, Plane, Result};
