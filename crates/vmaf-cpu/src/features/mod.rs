//! One module per feature extractor; each exports its registry entry `SPEC`.

pub mod ciede;
pub mod float_motion;
pub mod integer_motion;
pub mod psnr;
pub mod psnr_hvs;
