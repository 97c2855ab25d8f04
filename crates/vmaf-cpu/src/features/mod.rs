//! One module per feature extractor; each exports its registry entry `SPEC`.

pub mod psnr;
pub mod integer_vif;
pub mod float_vif;
