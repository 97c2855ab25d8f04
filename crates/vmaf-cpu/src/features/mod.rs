//! One module per feature extractor; each exports its registry entry `SPEC`.

pub mod integer_adm;
pub mod psnr;
