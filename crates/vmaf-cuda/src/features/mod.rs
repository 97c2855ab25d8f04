//! One module per CUDA feature extractor; each exports its registry entry
//! `SPEC` and provides the same features and options as the CPU module of
//! the same name.

pub mod adm;
pub mod motion;
pub mod psnr;
pub mod vif;

use vmaf_core::{Error, Geometry, Result};

/// Frames a CUDA extractor can have in flight: one computing, one uploading.
pub const RING: usize = 2;

/// Checks that a picture has the geometry `feature` was created for.
fn check_geometry(feature: &str, expected: &Geometry, got: &Geometry) -> Result<()> {
    if got != expected {
        return Err(Error::Mismatch(format!("picture is {got:?}, {feature} was created for {expected:?}")));
    }
    Ok(())
}

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
