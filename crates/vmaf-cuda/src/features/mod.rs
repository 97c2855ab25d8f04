//! One module per CUDA feature extractor; each exports its registry entry
//! `SPEC` and provides the same features and options as the CPU module of
//! the same name.

pub mod adm;
pub mod motion;
pub mod psnr;
pub mod vif;

use vmaf_core::{Error, Result};

/// Frames a CUDA extractor can have in flight: one computing, one uploading
/// (the slots of the scorer's [`crate::session::FrameSession`]).
pub use crate::session::RING;

/// Slot `next` of a staging ring if it is free; an error naming the frame
/// still waiting there when `RING` frames were submitted without a collect.
fn free_slot(feature: &str, next: usize, pending: Option<u32>) -> Result<usize> {
    match pending {
        Some(i) => Err(Error::Extractor {
            feature: feature.into(),
            msg: format!("frame {i} was not collected before {RING} more frames were submitted"),
        }),
        None => Ok(next),
    }
}
