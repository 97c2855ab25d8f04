//! One module per feature extractor; each exports its registry entry `SPEC`.

pub mod float_motion;
pub mod float_ms_ssim;
pub mod float_ssim;
pub mod integer_motion;
pub mod psnr;
