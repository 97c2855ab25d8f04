//! One module per CUDA feature extractor; each exports its registry entry
//! `SPEC` and provides the same features and options as the CPU module of
//! the same name.

pub mod adm;
pub mod motion;
pub mod psnr;
pub mod vif;
