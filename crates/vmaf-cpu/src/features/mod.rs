//! One module per feature extractor; each exports its registry entry `SPEC`.

pub mod adm_csf;
pub mod cambi;
pub mod ciede;
pub mod float_adm;
pub mod float_motion;
pub mod float_ms_ssim;
pub mod float_ssim;
pub mod float_vif;
pub mod integer_adm;
pub mod integer_motion;
pub mod integer_ssim;
pub mod integer_vif;
pub mod motion_v2;
pub mod psnr;
pub mod psnr_hvs;
pub mod speed_chroma;
mod speed_common;
pub mod speed_qa;
pub mod speed_temporal;
pub mod ssimulacra2;
