//! `psnr` on CUDA: the same extractor name, features, options and output
//! as the CPU `psnr`, bit for bit.
//!
//! The GPU computes each plane's sum of squared differences as an exact
//! 64-bit integer (kernels/psnr.cu); the dB formula, caps, MSE and the
//! aggregate are the CPU module's own [`PsnrHost`], so the two backends
//! cannot drift apart.
//!
//! Per frame: the planes come from the scorer's [`FrameSession`] (every
//! plane the options need, uploaded once for all extractors in one
//! transfer, or read in place from device memory), are summed by one
//! kernel launch for all planes on the session's stream, and only the
//! three sums come back, into pinned memory. `submit` only enqueues (no
//! allocation, no host wait); `collect` waits through the session (once
//! per frame for all extractors), then does the host math.

use std::ffi::c_void;

use vmaf_core::{BackendKind, CreateArgs, Extractor, ExtractorSpec, FeatureSink, Geometry, Options, Pixel, Result};
use vmaf_cpu::features::psnr::{PsnrHost, OPTIONS, PROVIDED_FEATURES};

use super::{cuda_extractor, slot_words, CudaFeature, Frame, Member};
use crate::device::{CudaDevice, DeviceBuffer, Kernel, PinnedBuffer, Stream};
use crate::kernels;
use crate::session::{FrameInput, FrameSession, Planes};

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "psnr",
    backend: BackendKind::Cuda,
    provided_features: PROVIDED_FEATURES,
    options: OPTIONS,
    // As on the CPU: the aggregate needs every frame in one instance.
    temporal: true,
    create,
    help: "PSNR of each plane, in dB (CUDA)",
};

/// Staging slots: frame i+1 can be packed and enqueued while frame i is
/// still on the device.
pub use super::RING;

/// Threads per block; must equal `PSNR_BLOCK` in kernels/psnr.cu.
const BLOCK: u32 = 256;
/// Most blocks per plane; blocks stride over rows beyond this.
const MAX_BLOCKS: u32 = 1024;
const SUMS_BYTES: usize = 3 * std::mem::size_of::<u64>();

/// The kernel's by-value argument; layout must match `PlaneSet` in
/// kernels/psnr.cu.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct PlaneSet {
    reference: [u64; 3],
    distorted: [u64; 3],
    ref_pitch: [u64; 3],
    dis_pitch: [u64; 3],
    width: [u32; 3],
    height: [u32; 3],
    planes: u32,
    unused: u32,
}

/// The CUDA psnr extractor. Usable directly (for frames in device memory,
/// [`Self::submit_device`]) or through the [`Extractor`] trait.
pub struct CudaPsnr {
    host: PsnrHost,
    geometry: Geometry,
    planes: usize,
    grid_x: u32,
    kernel: Kernel,
    /// `RING` x 3 sums on the device, and their copies on the host.
    sums: DeviceBuffer,
    results: PinnedBuffer,
    member: Member,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let session = FrameSession::for_extractor(args.device, args.geometry, "psnr")?;
    Ok(Box::new(CudaPsnr::with_session(&session, args.options)?))
}

impl CudaPsnr {
    /// A psnr extractor on `device` for pictures of `geometry`; `options`
    /// parsed against the psnr option table ([`SPEC`]`.options`). Every
    /// buffer is allocated here.
    pub fn new(device: &CudaDevice, options: &Options, geometry: Geometry) -> Result<Self> {
        Self::with_session(&FrameSession::new(device, geometry)?, options)
    }

    /// A psnr extractor in a scorer's `session` (sharing its uploads, its
    /// stream and its one wait per frame).
    pub fn with_session(session: &FrameSession, options: &Options) -> Result<Self> {
        let geometry = *session.geometry();
        let device = session.device();
        let host = PsnrHost::new(options, geometry);
        let planes = host.planes();
        let bps = geometry.bytes_per_sample();
        let max_h = (0..planes).map(|p| geometry.plane_size(p).1).max().unwrap_or(1).max(1);
        let function = if bps == 1 { "psnr_sse_u8" } else { "psnr_sse_u16" };
        // Built in order; an early return drops what exists so far, and
        // none of it has been used by the session's stream yet.
        let member = Member::join(session, if planes > 1 { Planes::All } else { Planes::Luma }, "psnr")?;
        let ctx = device.ctx();
        let kernel = device.kernel(&kernels::PSNR, function)?;
        let sums = DeviceBuffer::new(ctx, RING * SUMS_BYTES)?;
        let results = PinnedBuffer::new(ctx, RING * SUMS_BYTES)?;
        Ok(CudaPsnr { host, geometry, planes, grid_x: max_h.min(MAX_BLOCKS), kernel, sums, results, member })
    }

    /// The device this extractor runs on.
    pub fn device(&self) -> &CudaDevice {
        self.member.device()
    }

    /// Bytes uploaded per frame from host memory by its session: both
    /// pictures, the planes in use only, when psnr is alone.
    pub fn upload_bytes_per_frame(&self) -> usize {
        self.member.session().upload_bytes_per_frame()
    }

    /// Bytes read back per frame: three 64-bit sums.
    pub fn download_bytes_per_frame(&self) -> usize {
        SUMS_BYTES
    }

    fn submit_input(&mut self, input: FrameInput, index: u32) -> Result<()> {
        let s = self.member.claim(&input)?;
        let mut set = PlaneSet { planes: self.planes as u32, ..Default::default() };
        for p in 0..self.planes {
            let (r, d) = (input.reference[p], input.distorted[p]);
            let (w, h) = self.geometry.plane_size(p);
            set.reference[p] = r.ptr;
            set.distorted[p] = d.ptr;
            set.ref_pitch[p] = r.pitch as u64;
            set.dis_pitch[p] = d.pitch as u64;
            set.width[p] = w;
            set.height[p] = h;
        }
        let queued = self.member.lane().run(|stream| self.enqueue(stream, s, set));
        self.member.settle(queued, s, index)
    }

    fn enqueue(&mut self, stream: &Stream, s: usize, mut set: PlaneSet) -> Result<()> {
        let off = s * SUMS_BYTES;
        stream.zero(&self.sums, off, SUMS_BYTES)?;
        let mut out = self.sums.ptr() + off as u64;
        let mut params = [&mut set as *mut PlaneSet as *mut c_void, &mut out as *mut u64 as *mut c_void];
        // SAFETY: the parameters match `psnr_sse_*(PlaneSet, unsigned long
        // long *)`; `out` points into `sums`, and the plane addresses into
        // the session's input (owned, freed only after the stream is
        // drained) or into caller memory that `CudaPicture::from_raw`
        // obliges to stay valid until collect.
        unsafe {
            stream.launch(&self.kernel, (self.grid_x, self.planes as u32, 1), (BLOCK, 1, 1), &mut params)?;
        }
        stream.copy_dtoh(&mut self.results, off, &self.sums, off, SUMS_BYTES)
    }
}

/// Views samples as bytes, in host order (little endian on every CUDA
/// host, as the device expects).
pub(crate) fn as_bytes<T: Pixel>(s: &[T]) -> &[u8] {
    // SAFETY: u8 and u16 have no padding and every byte pattern is a valid
    // u8; the length covers exactly the samples.
    unsafe { std::slice::from_raw_parts(s.as_ptr() as *const u8, std::mem::size_of_val(s)) }
}

impl CudaFeature for CudaPsnr {
    fn submit_frame(&mut self, frame: Frame<'_>, index: u32) -> Result<()> {
        let input = self.member.frame(frame, index)?;
        self.submit_input(input, index)
    }

    /// Waits for frame `index` (one host wait) and writes its scores.
    fn collect_frame(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        let s = self.member.wait(index)?;
        let word = slot_words(&self.results, s, SUMS_BYTES);
        self.host.record(index, std::array::from_fn(word));
        self.host.collect(index, sink);
        Ok(())
    }

    fn flush_frames(&mut self, sink: &mut FeatureSink) {
        self.host.flush(sink);
    }
}

cuda_extractor!(CudaPsnr);

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::ChromaSampling;
    use vmaf_core::Error;

    #[test]
    fn spec_matches_the_cpu_psnr() {
        let cpu = &vmaf_cpu::features::psnr::SPEC;
        assert_eq!(SPEC.name, cpu.name);
        assert_eq!(SPEC.backend, BackendKind::Cuda);
        assert_eq!(SPEC.provided_features, cpu.provided_features);
        assert_eq!(SPEC.temporal, cpu.temporal);
        assert_eq!(SPEC.options.len(), cpu.options.len());
        for (a, b) in SPEC.options.iter().zip(cpu.options) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        // Same parsing, same feature names from options.
        let args = [("enable_chroma", "false"), ("min_sse", "0.5"), ("enable_mse", "true")];
        let a = Options::parse(SPEC.name, SPEC.options, args.iter().copied()).unwrap();
        let b = Options::parse(cpu.name, cpu.options, args.iter().copied()).unwrap();
        assert_eq!(a.feature_name("psnr_y"), b.feature_name("psnr_y"));
        assert!(Options::parse(SPEC.name, SPEC.options, [("enable_chroma", "maybe")]).is_err());
    }

    #[test]
    fn kernel_argument_layout() {
        // Twelve 64-bit fields, then eight 32-bit ones: no padding anywhere,
        // so the C struct in kernels/psnr.cu has the same layout.
        assert_eq!(std::mem::size_of::<PlaneSet>(), 12 * 8 + 8 * 4);
        assert_eq!(std::mem::align_of::<PlaneSet>(), 8);
        assert_eq!(std::mem::offset_of!(PlaneSet, width), 96);
        assert_eq!(std::mem::offset_of!(PlaneSet, planes), 120);
        assert!(kernels::PSNR.source.contains("struct PlaneSet"));
        assert!(kernels::PSNR.source.contains(&format!("#define PSNR_BLOCK {BLOCK}")));
    }

    #[test]
    fn creating_without_a_device_is_an_error() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs420, 8).unwrap();
        let o = Options::parse("psnr", OPTIONS, std::iter::empty::<(&str, &str)>()).unwrap();
        let args = CreateArgs { options: &o, geometry: g, cpu_level: vmaf_core::CpuLevel::Scalar, device: None };
        let e = (SPEC.create)(&args).err().expect("no device, no extractor");
        assert!(matches!(e, Error::BackendUnavailable { .. }), "{e}");
        // Something that is not a CudaDevice is refused the same way.
        let not_a_device = 5u32;
        let args = CreateArgs { device: Some(&not_a_device), ..args };
        assert!((SPEC.create)(&args).is_err());
    }
}
