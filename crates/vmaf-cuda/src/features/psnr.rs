//! `psnr` on CUDA: the same extractor name, features, options and output
//! as the CPU `psnr`, bit for bit.
//!
//! The GPU computes each plane's sum of squared differences as an exact
//! 64-bit integer (kernels/psnr.cu); the dB formula, caps, MSE and the
//! aggregate are the CPU module's own [`PsnrHost`], so the two backends
//! cannot drift apart.
//!
//! Per frame from host memory: the planes the options need are packed
//! into a pinned staging slot (a ring of [`RING`] slots, allocated at
//! create), copied to a device buffer in one transfer sized to those
//! planes, summed by one kernel launch for all planes, and only the three
//! sums come back, into pinned memory, followed by one event. `submit`
//! only enqueues (no allocation, no host wait); `collect` waits once, on
//! that event, then does the host math. Frames already on the device
//! ([`CudaPicture`]) skip the staging and the upload.

use std::ffi::c_void;

use vmaf_core::{
    BackendKind, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, Geometry, Options, Picture,
    PictureData, Pixel, Plane, Result,
};
use vmaf_cpu::features::psnr::{PsnrHost, OPTIONS, PROVIDED_FEATURES};

use crate::device::{CudaDevice, DeviceBuffer, Event, Kernel, PinnedBuffer, Stream};
use crate::kernels;
use crate::picture::CudaPicture;

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

/// Where one plane sits in a packed (staging / device input) picture.
#[derive(Clone, Copy, Debug, Default)]
struct PackedPlane {
    offset: usize,
    row_bytes: usize,
    width: u32,
    height: u32,
}

struct Slot {
    staging: PinnedBuffer,
    event: Event,
    /// The frame whose results this slot will hold, until collected.
    pending: Option<u32>,
}

/// The CUDA psnr extractor. Usable directly (for frames in device memory,
/// [`Self::submit_device`]) or through the [`Extractor`] trait.
pub struct CudaPsnr {
    host: PsnrHost,
    geometry: Geometry,
    planes: usize,
    packed: [PackedPlane; 3],
    /// Bytes of one packed picture (the planes in use only).
    picture_bytes: usize,
    grid_x: u32,
    kernel: Kernel,
    slots: Vec<Slot>,
    next: usize,
    /// Reference then distorted, packed.
    input: DeviceBuffer,
    /// `RING` x 3 sums on the device, and their copies on the host.
    sums: DeviceBuffer,
    results: PinnedBuffer,
    stream: Stream,
    device: CudaDevice,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let device = args.device.and_then(|d| d.downcast_ref::<CudaDevice>()).ok_or_else(|| Error::BackendUnavailable {
        backend: "cuda".into(),
        msg: "the CUDA psnr extractor was created without a CUDA device".into(),
    })?;
    Ok(Box::new(CudaPsnr::new(device, args.options, args.geometry)?))
}

impl CudaPsnr {
    /// A psnr extractor on `device` for pictures of `geometry`; `options`
    /// parsed against the psnr option table ([`SPEC`]`.options`). Every
    /// buffer is allocated here.
    pub fn new(device: &CudaDevice, options: &Options, geometry: Geometry) -> Result<Self> {
        let host = PsnrHost::new(options, geometry);
        let planes = host.planes();
        let bps = geometry.bytes_per_sample();
        let mut packed = [PackedPlane::default(); 3];
        let mut total = 0usize;
        let mut max_h = 1u32;
        for (p, pp) in packed.iter_mut().enumerate().take(planes) {
            let (w, h) = geometry.plane_size(p);
            let row_bytes = w as usize * bps;
            *pp = PackedPlane { offset: total, row_bytes, width: w, height: h };
            total += row_bytes * h as usize;
            max_h = max_h.max(h);
        }
        let function = if bps == 1 { "psnr_sse_u8" } else { "psnr_sse_u16" };
        // Built in order; an early return drops what exists so far, and the
        // stream (declared last in the struct, created first here) has no
        // work yet, so nothing can be in flight.
        let ctx = device.ctx();
        let kernel = device.kernel(&kernels::PSNR, function)?;
        let stream = Stream::new(ctx)?;
        let input = DeviceBuffer::new(ctx, 2 * total)?;
        let sums = DeviceBuffer::new(ctx, RING * SUMS_BYTES)?;
        let results = PinnedBuffer::new(ctx, RING * SUMS_BYTES)?;
        let mut slots = Vec::with_capacity(RING);
        for _ in 0..RING {
            slots.push(Slot { staging: PinnedBuffer::new(ctx, 2 * total)?, event: Event::new(ctx)?, pending: None });
        }
        Ok(CudaPsnr {
            host,
            geometry,
            planes,
            packed,
            picture_bytes: total,
            grid_x: max_h.min(MAX_BLOCKS),
            kernel,
            slots,
            next: 0,
            input,
            sums,
            results,
            stream,
            device: device.clone(),
        })
    }

    /// The device this extractor runs on.
    pub fn device(&self) -> &CudaDevice {
        &self.device
    }

    /// Bytes uploaded per frame from host memory: both pictures, the
    /// planes in use only.
    pub fn upload_bytes_per_frame(&self) -> usize {
        2 * self.picture_bytes
    }

    /// Bytes read back per frame: three 64-bit sums.
    pub fn download_bytes_per_frame(&self) -> usize {
        SUMS_BYTES
    }

    fn check_geometry(&self, g: &Geometry) -> Result<()> {
        super::check_geometry("psnr", &self.geometry, g)
    }

    /// The free slot for the next frame, or an error when `RING` frames
    /// are already waiting to be collected.
    fn free_slot(&self) -> Result<usize> {
        let s = self.next;
        super::free_slot("psnr", s, self.slots[s].pending)
    }

    /// Enqueues frame `index` of host pictures: pack, upload, sum.
    pub fn submit_host(&mut self, reference: &Picture, distorted: &Picture, index: u32) -> Result<()> {
        self.check_geometry(reference.geometry())?;
        self.check_geometry(distorted.geometry())?;
        let s = self.free_slot()?;
        let n = self.picture_bytes;
        {
            let staging = self.slots[s].staging.as_mut_slice();
            let (r, d) = staging.split_at_mut(n);
            pack(reference, &self.packed[..self.planes], r)?;
            pack(distorted, &self.packed[..self.planes], &mut d[..n])?;
        }
        let base = self.input.ptr();
        let mut set = PlaneSet { planes: self.planes as u32, ..Default::default() };
        for (p, pp) in self.packed.iter().enumerate().take(self.planes) {
            set.reference[p] = base + pp.offset as u64;
            set.distorted[p] = base + (n + pp.offset) as u64;
            set.ref_pitch[p] = pp.row_bytes as u64;
            set.dis_pitch[p] = pp.row_bytes as u64;
            set.width[p] = pp.width;
            set.height[p] = pp.height;
        }
        let r = self.enqueue(s, set, index, true);
        self.settle(r)
    }

    /// Enqueues frame `index` of pictures already in device memory (see
    /// [`CudaPicture::from_raw`] for what the caller guarantees): nothing
    /// is copied to the device.
    pub fn submit_device(
        &mut self,
        reference: &CudaPicture<'_>,
        distorted: &CudaPicture<'_>,
        index: u32,
    ) -> Result<()> {
        self.check_geometry(reference.geometry())?;
        self.check_geometry(distorted.geometry())?;
        let s = self.free_slot()?;
        let mut set = PlaneSet { planes: self.planes as u32, ..Default::default() };
        for (p, pp) in self.packed.iter().enumerate().take(self.planes) {
            let (r, d) = (reference.plane(p), distorted.plane(p));
            set.reference[p] = r.ptr;
            set.distorted[p] = d.ptr;
            set.ref_pitch[p] = r.pitch as u64;
            set.dis_pitch[p] = d.pitch as u64;
            set.width[p] = pp.width;
            set.height[p] = pp.height;
        }
        let r = self.enqueue(s, set, index, false);
        self.settle(r)
    }

    /// After a failed enqueue, waits out whatever did get enqueued, so a
    /// later frame never rewrites staging memory a copy may still read.
    fn settle(&mut self, r: Result<()>) -> Result<()> {
        if r.is_err() {
            self.stream.drain();
        }
        r
    }

    fn enqueue(&mut self, s: usize, mut set: PlaneSet, index: u32, upload: bool) -> Result<()> {
        self.stream.ctx().bind()?;
        if upload {
            self.stream.copy_htod(&self.input, 0, &self.slots[s].staging, 0, 2 * self.picture_bytes)?;
        }
        let off = s * SUMS_BYTES;
        self.stream.zero(&self.sums, off, SUMS_BYTES)?;
        let mut out = self.sums.ptr() + off as u64;
        let mut params = [&mut set as *mut PlaneSet as *mut c_void, &mut out as *mut u64 as *mut c_void];
        // SAFETY: the parameters match `psnr_sse_*(PlaneSet, unsigned long
        // long *)`; `out` points into `sums`, and the plane addresses into
        // `input` (owned, freed only after the stream is drained) or into
        // caller memory that `CudaPicture::from_raw` obliges to stay valid
        // until collect.
        unsafe {
            self.stream.launch(&self.kernel, (self.grid_x, self.planes as u32, 1), (BLOCK, 1, 1), &mut params)?;
        }
        self.stream.copy_dtoh(&mut self.results, off, &self.sums, off, SUMS_BYTES)?;
        self.slots[s].event.record(&self.stream)?;
        self.slots[s].pending = Some(index);
        self.next = (s + 1) % RING;
        Ok(())
    }

    /// Waits for frame `index` (one host wait) and writes its scores.
    pub fn collect_frame(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        let s = self.slots.iter().position(|x| x.pending == Some(index)).ok_or_else(|| Error::Extractor {
            feature: "psnr".into(),
            msg: format!("frame {index} was collected but never submitted"),
        })?;
        self.stream.ctx().bind()?;
        let waited = self.slots[s].event.wait();
        self.slots[s].pending = None;
        waited?;
        let bytes = &self.results.as_slice()[s * SUMS_BYTES..(s + 1) * SUMS_BYTES];
        let mut sse = [0u64; 3];
        for (p, v) in sse.iter_mut().enumerate() {
            *v = u64::from_ne_bytes(bytes[p * 8..p * 8 + 8].try_into().expect("8 bytes"));
        }
        self.host.record(index, sse);
        self.host.collect(index, sink);
        Ok(())
    }
}

impl Drop for CudaPsnr {
    fn drop(&mut self) {
        // Before any field goes: staging and buffers may still be read by
        // work on the stream (a frame submitted and never collected).
        self.stream.drain();
    }
}

/// Views samples as bytes, in host order (little endian on every CUDA
/// host, as the device expects).
pub(crate) fn as_bytes<T: Pixel>(s: &[T]) -> &[u8] {
    // SAFETY: u8 and u16 have no padding and every byte pattern is a valid
    // u8; the length covers exactly the samples.
    unsafe { std::slice::from_raw_parts(s.as_ptr() as *const u8, std::mem::size_of_val(s)) }
}

fn pack_planes<T: Pixel>(planes: &[Plane<T>; 3], layout: &[PackedPlane], out: &mut [u8]) {
    for (plane, pp) in planes.iter().zip(layout) {
        let dst = &mut out[pp.offset..pp.offset + pp.row_bytes * pp.height as usize];
        if plane.stride() == plane.width() {
            dst.copy_from_slice(&as_bytes(plane.data())[..dst.len()]);
        } else {
            for (y, row) in dst.chunks_exact_mut(pp.row_bytes).enumerate() {
                row.copy_from_slice(as_bytes(plane.row(y)));
            }
        }
    }
}

/// Copies the planes of `layout` from `pic` into `out`, rows back to back.
fn pack(pic: &Picture, layout: &[PackedPlane], out: &mut [u8]) -> Result<()> {
    match pic.data() {
        PictureData::U8(p) => pack_planes(p, layout, out),
        PictureData::U16(p) => pack_planes(p, layout, out),
    }
    Ok(())
}

impl Extractor for CudaPsnr {
    fn feature_names(&self) -> &[String] {
        self.host.names()
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        self.submit_host(frame.reference, frame.distorted, frame.index)
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        self.collect_frame(index, sink)
    }

    fn flush(&mut self, sink: &mut FeatureSink) -> Result<()> {
        self.host.flush(sink);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::ChromaSampling;

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

    #[test]
    fn packing_keeps_only_the_planes_in_use_rows_back_to_back() {
        let g = Geometry::new(5, 3, ChromaSampling::Cs420, 10).unwrap();
        let mut pic = Picture::new(g);
        let PictureData::U16(planes) = pic.data_mut() else { unreachable!() };
        for (p, plane) in planes.iter_mut().enumerate() {
            for (i, v) in plane.data_mut().iter_mut().enumerate() {
                *v = (p * 1000 + i) as u16;
            }
        }
        // A strided luma plane must pack the same as a tight one.
        let strided: Vec<u16> =
            (0..3).flat_map(|y| (0..7).map(move |x| if x < 5 { (y * 5 + x) as u16 } else { 0xdead })).collect();
        planes[0] = Plane::from_vec(strided, 5, 3, 7).unwrap();
        let layout = [
            PackedPlane { offset: 0, row_bytes: 10, width: 5, height: 3 },
            PackedPlane { offset: 30, row_bytes: 6, width: 3, height: 2 },
        ];
        let mut out = vec![0u8; 42];
        pack(&pic, &layout, &mut out).unwrap();
        let words: Vec<u16> = out.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        let expect: Vec<u16> = (0..15).chain(1000..1006).collect();
        assert_eq!(words, expect);
    }
}
