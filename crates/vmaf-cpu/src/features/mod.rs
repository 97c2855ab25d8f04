//! One module per feature extractor; each exports its registry entry `SPEC`.

pub mod cambi;
pub mod float_motion;
pub mod integer_motion;
pub mod psnr;
