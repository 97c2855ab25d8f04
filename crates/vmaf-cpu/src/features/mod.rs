//! One module per feature extractor; each exports its registry entry `SPEC`.

pub mod adm_csf;
pub mod float_adm;
pub mod integer_adm;
pub mod psnr;
