//! CPU feature extractors.
//!
//! One folder per feature under `features/`: `mod.rs` holds the registry
//! entry and the extractor, `scalar.rs` the readable reference kernels, and
//! per-architecture files the SIMD versions that are tested against them.
//! The instruction-set level is detected once by the caller
//! ([`detect_cpu_level`]) and passed to every constructor, so tests can run
//! each level side by side.

pub mod features;

use vmaf_core::{CpuLevel, ExtractorSpec};

/// Every CPU extractor. Adding a feature is one module under `features/`
/// and one line here.
pub static EXTRACTORS: &[&ExtractorSpec] = &[
    &features::psnr::SPEC,
    &features::integer_motion::SPEC,
    &features::float_motion::SPEC,
    &features::integer_vif::SPEC,
    &features::float_vif::SPEC,
    &features::integer_adm::SPEC,
    &features::float_adm::SPEC,
    &features::float_ssim::SPEC,
    &features::float_ms_ssim::SPEC,
    &features::ciede::SPEC,
    &features::psnr_hvs::SPEC,
    &features::cambi::SPEC,
    &features::speed_chroma::SPEC,
    &features::speed_temporal::SPEC,
    &features::integer_ssim::SPEC,
    &features::speed_qa::SPEC,
    &features::motion_v2::SPEC,
    &features::ssimulacra2::SPEC,
];

/// The best level this CPU supports, lowered by the `VMAF_CPU_LEVEL`
/// environment variable (`scalar`, `avx2`, `avx512`) when set, so the whole
/// suite can be run on the reference path.
pub fn detect_cpu_level() -> CpuLevel {
    let hw = hardware_level();
    match std::env::var("VMAF_CPU_LEVEL").ok().as_deref().and_then(parse_cpu_level) {
        Some(forced) => forced.min(hw),
        None => hw,
    }
}

/// Whether this is an Intel CPU: some kernels pick between two equivalent
/// instruction sequences by vendor, where measurements disagree.
#[cfg(target_arch = "x86_64")]
pub(crate) fn cpu_vendor_is_intel() -> bool {
    // SAFETY: leaf 0 of `cpuid` exists on every x86-64 CPU (the intrinsic
    // is safe in newer Rust, unsafe in the oldest this crate supports).
    #[allow(unused_unsafe)]
    let id = unsafe { std::arch::x86_64::__cpuid(0) };
    [id.ebx, id.edx, id.ecx].iter().flat_map(|r| r.to_le_bytes()).eq(*b"GenuineIntel")
}

/// Parses a level name as `VMAF_CPU_LEVEL` and `--cpu-level` spell it.
pub fn parse_cpu_level(s: &str) -> Option<CpuLevel> {
    Some(match s.to_ascii_lowercase().as_str() {
        "scalar" | "c" | "none" => CpuLevel::Scalar,
        "avx2" => CpuLevel::Avx2,
        "avx512" | "avx-512" => CpuLevel::Avx512,
        _ => return None,
    })
}

#[cfg(target_arch = "x86_64")]
fn hardware_level() -> CpuLevel {
    if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512dq")
    {
        CpuLevel::Avx512
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        CpuLevel::Avx2
    } else {
        CpuLevel::Scalar
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn hardware_level() -> CpuLevel {
    CpuLevel::Scalar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = EXTRACTORS.iter().map(|s| s.name).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
    }

    #[test]
    fn forced_level_never_exceeds_hardware() {
        assert_eq!(parse_cpu_level("scalar"), Some(CpuLevel::Scalar));
        assert_eq!(parse_cpu_level("bogus"), None);
        assert!(detect_cpu_level() <= hardware_level());
    }
}
