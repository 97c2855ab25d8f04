//! The CUDA backend of vmaf-rs.
//!
//! Built on cudarc's driver and NVRTC bindings, with both libraries loaded
//! at run time: the crate builds, links and runs on machines without CUDA,
//! where every entry point returns [`vmaf_core::Error::BackendUnavailable`]
//! (see [`loader`]). Kernel sources (`kernels/*.cu`, embedded) are compiled
//! by NVRTC once per process and loaded once per device context.
//!
//! - [`CudaDevice`]: a shared, reference-counted handle on one GPU, with
//!   counters of allocations, transfers, host waits and launches.
//! - [`EXTRACTORS`]: CUDA registry entries, found by the same names as the
//!   CPU ones; their `create` takes the device through
//!   [`vmaf_core::CreateArgs::device`].
//! - [`CudaPicture`]: frames already in device memory, scored in place.
//!
//! Ownership is in the types (LESSONS.md): every device resource releases
//! itself in `Drop`, an extractor's stream is drained before its buffers
//! go, and the context outlives everything created in it.

pub mod device;
mod fault;
pub mod features;
pub mod kernels;
pub mod loader;
mod nvrtc;
mod pack;
pub mod picture;
pub mod session;

pub use device::{CounterSnapshot, CudaDevice};
#[cfg(feature = "fault-injection")]
pub use fault::injection;
pub use fault::FaultPlan;
pub use features::adm::CudaAdm;
pub use features::{CudaFeature, Frame};
pub use features::motion::CudaMotion;
pub use features::psnr::CudaPsnr;
pub use features::vif::CudaVif;
pub use nvrtc::compiled_count;
pub use picture::{CudaPicture, CudaPlane, DevicePicture};
pub use session::FrameSession;

use vmaf_core::ExtractorSpec;

/// Every CUDA extractor. Adding one is a module under `features/`, its
/// kernel under `kernels/`, and a line here.
pub static EXTRACTORS: &[&ExtractorSpec] =
    &[&features::psnr::SPEC, &features::vif::SPEC, &features::adm::SPEC, &features::motion::SPEC];

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::BackendKind;

    #[test]
    fn registry_is_cuda_and_mirrors_cpu_names() {
        for s in EXTRACTORS {
            assert_eq!(s.backend, BackendKind::Cuda, "{}", s.name);
            let cpu = vmaf_cpu::EXTRACTORS.iter().find(|c| c.name == s.name);
            let cpu = cpu.unwrap_or_else(|| panic!("CUDA {} has no CPU reference", s.name));
            assert_eq!(cpu.provided_features, s.provided_features);
        }
    }
}
