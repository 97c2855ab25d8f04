//! `motion` (libvmaf's integer motion) on CUDA: the same extractor name,
//! features, options and output as the CPU `motion`, bit for bit.
//!
//! The GPU computes each frame's SAD, the sum of absolute values of the
//! 5-tap blur of the difference between the reference luma of this frame
//! and of the frame one (five-frame window: two) before, as an exact
//! integer (kernels/motion.cu). Everything after that integer, the score
//! formula, the per-frame output and motion2/motion3 at flush, is the CPU
//! module's own [`MotionHost`], so the two backends cannot drift apart.
//!
//! The device keeps the last frames' raw luma, not blurred luma: the CPU
//! reference rounds the blur of the *difference*, and rounding does not
//! commute with subtraction, so differences of separately blurred frames
//! would not reproduce its integers. The history is a ring of
//! `frames_back + 1` luma buffers, allocated at create; each frame's luma
//! is uploaded (or, for a picture already on the device, copied) straight
//! into the buffer after the newest, so nothing is copied between history
//! buffers. One stream orders the work, so a frame's upload never
//! overwrites a buffer the previous frame's kernel still reads.
//!
//! Per frame: the reference luma comes from the scorer's [`FrameSession`]
//! (uploaded once for every extractor, or read in place from device
//! memory) and is copied into the history on the device; one kernel
//! launch reduces it, and only the 64-bit sum comes back into pinned
//! memory. `submit` only enqueues; `collect` waits through the session,
//! once per frame for all extractors. Frames before the first scored one
//! are only copied; with `motion_force_zero` nothing touches the device.

use std::ffi::c_void;

use vmaf_core::{BackendKind, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, Geometry, Options, Result};
use vmaf_cpu::features::integer_motion::{vertical_shift, MotionHost, OPTIONS, PROVIDED_FEATURES};

use super::{cuda_extractor, slot_words, CudaFeature, Frame, Member};
use crate::device::{CudaDevice, DeviceBuffer, Kernel, PinnedBuffer, Stream};
use crate::kernels;
use crate::session::{FrameInput, FrameSession, Planes};

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "motion",
    backend: BackendKind::Cuda,
    provided_features: PROVIDED_FEATURES,
    options: OPTIONS,
    // As on the CPU: every frame, in order, through one instance.
    temporal: true,
    create,
    help: "integer motion: mean blurred luma difference between consecutive reference frames (CUDA)",
};

/// Staging slots: frame i+1 can be packed and enqueued while frame i is
/// still on the device.
pub use super::RING;

/// Threads per block; must equal `MOTION_BLOCK` in kernels/motion.cu.
const BLOCK: u32 = 256;
/// Most blocks per launch; blocks stride over rows beyond this.
const MAX_BLOCKS: u32 = 1024;
const SUM_BYTES: usize = std::mem::size_of::<u64>();

/// The SAD kernel's by-value argument; layout must match `SadArgs` in
/// kernels/motion.cu.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct SadArgs {
    prev: u64,
    cur: u64,
    prev_pitch: u64,
    cur_pitch: u64,
    width: u32,
    height: u32,
    shift: u32,
    unused: u32,
}

/// What a submitted frame left on the stream.
#[derive(Clone, Copy, Debug)]
struct Pending {
    index: u32,
    /// It went through the session (false with `motion_force_zero`).
    on_device: bool,
    /// Its SAD is being computed (false for frames before the first one
    /// with a predecessor, and with `motion_force_zero`).
    scored: bool,
}

/// The CUDA motion extractor. Usable directly (for frames in device
/// memory, [`Self::submit_device`]) or through the [`Extractor`] trait.
pub struct CudaMotion {
    host: MotionHost,
    geometry: Geometry,
    /// Bytes of one luma row, packed tight.
    row_bytes: usize,
    back: usize,
    shift: u32,
    grid_x: u32,
    sad_kernel: Kernel,
    keep_kernel: Kernel,
    /// Per result slot: the frame whose sum it will hold, until collected
    /// (the session's slot, or a rotating one with `motion_force_zero`).
    pending: [Option<Pending>; RING],
    /// Raw luma of the last `back + 1` frames (the current one included).
    history: Vec<DeviceBuffer>,
    /// The history buffer of the most recent submitted frame.
    newest: usize,
    /// Index the next submitted frame must have.
    submitted: u32,
    /// The SAD of the last collected frame, if it had one.
    last_sad: Option<u64>,
    /// `RING` sums on the device, and their copies on the host.
    sums: DeviceBuffer,
    results: PinnedBuffer,
    member: Member,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let session = FrameSession::for_extractor(args.device, args.geometry, "motion")?;
    Ok(Box::new(CudaMotion::with_session(&session, args.options)?))
}

impl CudaMotion {
    /// A motion extractor on `device` for pictures of `geometry`;
    /// `options` parsed against the motion option table ([`SPEC`]`.options`).
    /// Every buffer is allocated here.
    pub fn new(device: &CudaDevice, options: &Options, geometry: Geometry) -> Result<Self> {
        Self::with_session(&FrameSession::new(device, geometry)?, options)
    }

    /// A motion extractor in a scorer's `session` (sharing its uploads,
    /// its stream and its one wait per frame).
    pub fn with_session(session: &FrameSession, options: &Options) -> Result<Self> {
        let geometry = *session.geometry();
        let device = session.device();
        let host = MotionHost::new(options, geometry);
        let back = host.frames_back();
        let bps = geometry.bytes_per_sample();
        let (w, h) = geometry.plane_size(0);
        let row_bytes = w as usize * bps;
        let luma_bytes = row_bytes * h as usize;
        let function = if bps == 1 { "motion_sad_u8" } else { "motion_sad_u16" };
        // Built in order; an early return drops what exists so far, and
        // none of it has been used by the session's stream yet.
        let ctx = device.ctx();
        // With `motion_force_zero` nothing reaches the device, and motion
        // never asks the session for a frame.
        let member = Member::join(session, Planes::ReferenceLuma, "motion")?;
        let sad_kernel = device.kernel(&kernels::MOTION, function)?;
        let keep_kernel = device.kernel(&kernels::MOTION, "motion_keep_rows")?;
        let mut history = Vec::with_capacity(back + 1);
        for _ in 0..=back {
            history.push(DeviceBuffer::new(ctx, luma_bytes)?);
        }
        let sums = DeviceBuffer::new(ctx, RING * SUM_BYTES)?;
        let results = PinnedBuffer::new(ctx, RING * SUM_BYTES)?;
        Ok(CudaMotion {
            host,
            geometry,
            row_bytes,
            back,
            shift: vertical_shift(geometry.bit_depth as u32),
            grid_x: h.clamp(1, MAX_BLOCKS),
            sad_kernel,
            keep_kernel,
            pending: [None; RING],
            history,
            newest: back,
            submitted: 0,
            last_sad: None,
            sums,
            results,
            member,
        })
    }

    /// The device this extractor runs on.
    pub fn device(&self) -> &CudaDevice {
        self.member.device()
    }

    /// Bytes uploaded per frame from host memory by its session: the
    /// reference luma when motion is alone (none with `motion_force_zero`).
    pub fn upload_bytes_per_frame(&self) -> usize {
        if self.host.force_zero() {
            0
        } else {
            self.member.session().upload_bytes_per_frame()
        }
    }

    /// Bytes read back per scored frame: one 64-bit sum.
    pub fn download_bytes_per_frame(&self) -> usize {
        SUM_BYTES
    }

    fn check_frame(&self, g: &Geometry, index: u32) -> Result<()> {
        if *g != self.geometry {
            return Err(Error::Mismatch(format!("picture is {g:?}, motion was created for {:?}", self.geometry)));
        }
        if index != self.submitted {
            return Err(Error::Extractor {
                feature: SPEC.name.into(),
                msg: format!("expected frame {}, got frame {index}", self.submitted),
            });
        }
        Ok(())
    }

    /// Takes frame `index` without device work (`motion_force_zero`).
    fn submit_zero(&mut self, index: u32) -> Result<()> {
        let s = index as usize % RING;
        if let Some(p) = self.pending[s] {
            return Err(Error::Extractor {
                feature: SPEC.name.into(),
                msg: format!("frame {} was not collected before {RING} more frames were submitted", p.index),
            });
        }
        self.pending[s] = Some(Pending { index, on_device: false, scored: false });
        self.submitted += 1;
        Ok(())
    }

    /// On error the frame is not counted as submitted, and the history
    /// buffers the next frames need were not written (only the one after
    /// the newest); everything enqueued is waited out, so nothing rewrites
    /// a buffer the device may still read.
    fn submit_input(&mut self, input: FrameInput, index: u32) -> Result<()> {
        let s = self.member.claim(&input)?;
        let luma = input.reference[0];
        let queued = self.member.lane().run(|stream| self.enqueue(stream, s, luma.ptr, luma.pitch));
        let scored = self.member.settle(queued, s, index)?;
        self.pending[s] = Some(Pending { index, on_device: true, scored });
        self.newest = (self.newest + 1) % self.history.len();
        self.submitted += 1;
        Ok(())
    }

    /// Copies the luma at `ptr` (rows `pitch` apart) into the history
    /// buffer after the newest and, once a predecessor exists, sums;
    /// returns whether a sum was enqueued.
    fn enqueue(&mut self, stream: &Stream, s: usize, ptr: u64, pitch: usize) -> Result<bool> {
        let n = self.history.len();
        let target = (self.newest + 1) % n;
        let h = self.geometry.plane_size(0).1;
        {
            let (mut src, mut src_pitch) = (ptr, pitch as u64);
            let (mut dst, mut dst_pitch) = (self.history[target].ptr(), self.row_bytes as u64);
            let (mut row_bytes, mut height) = (self.row_bytes as u32, h);
            let mut params = [
                &mut src as *mut u64 as *mut c_void,
                &mut src_pitch as *mut u64 as *mut c_void,
                &mut dst as *mut u64 as *mut c_void,
                &mut dst_pitch as *mut u64 as *mut c_void,
                &mut row_bytes as *mut u32 as *mut c_void,
                &mut height as *mut u32 as *mut c_void,
            ];
            // SAFETY: the parameters match `motion_keep_rows(ull, ull,
            // ull, ull, unsigned, unsigned)`; `dst` is a history buffer
            // of `height` rows of `row_bytes` (owned, freed only after
            // the stream is drained); `src` is the session's input or
            // caller memory that `CudaPicture::from_raw` obliges to hold
            // `height` rows `pitch` apart, valid until collect.
            unsafe {
                stream.launch(&self.keep_kernel, (self.grid_x, 1, 1), (BLOCK, 1, 1), &mut params)?;
            }
        }
        // `submitted` is this frame's index (checked in `check_frame`).
        let scored = self.submitted as usize >= self.back;
        if scored {
            let prev = (target + n - self.back) % n;
            let off = s * SUM_BYTES;
            stream.zero(&self.sums, off, SUM_BYTES)?;
            let (w, h) = self.geometry.plane_size(0);
            let mut args = SadArgs {
                prev: self.history[prev].ptr(),
                cur: self.history[target].ptr(),
                prev_pitch: self.row_bytes as u64,
                cur_pitch: self.row_bytes as u64,
                width: w,
                height: h,
                shift: self.shift,
                unused: 0,
            };
            let mut out = self.sums.ptr() + off as u64;
            let mut params = [&mut args as *mut SadArgs as *mut c_void, &mut out as *mut u64 as *mut c_void];
            // SAFETY: the parameters match `motion_sad_*(SadArgs, unsigned
            // long long *)`; both planes are history buffers of `h` rows of
            // `row_bytes` bytes and `out` points into `sums`, all owned and
            // freed only after the stream is drained.
            unsafe {
                stream.launch(&self.sad_kernel, (self.grid_x, 1, 1), (BLOCK, 1, 1), &mut params)?;
            }
            stream.copy_dtoh(&mut self.results, off, &self.sums, off, SUM_BYTES)?;
        }
        Ok(scored)
    }

    /// The integer SAD of the last collected frame, when it had one (for
    /// diagnostics: device_check prints it on a mismatch).
    pub fn last_sad(&self) -> Option<u64> {
        self.last_sad
    }
}

impl CudaFeature for CudaMotion {
    fn submit_frame(&mut self, frame: Frame<'_>, index: u32) -> Result<()> {
        for g in frame.geometries() {
            self.check_frame(g, index)?;
        }
        if self.host.force_zero() {
            return self.submit_zero(index);
        }
        let input = self.member.frame(frame, index)?;
        self.submit_input(input, index)
    }

    /// Waits for frame `index` (one host wait) and writes its SAD score.
    /// Frames must be collected in the order they were submitted.
    fn collect_frame(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        let (s, p) = self
            .pending
            .iter()
            .enumerate()
            .find_map(|(s, x)| x.filter(|p| p.index == index).map(|p| (s, p)))
            .ok_or_else(|| Error::Extractor {
                feature: SPEC.name.into(),
                msg: format!("frame {index} was collected but never submitted"),
            })?;
        if index as usize != self.host.frames() {
            return Err(Error::Extractor {
                feature: SPEC.name.into(),
                msg: format!("frame {index} collected before frame {}", self.host.frames()),
            });
        }
        self.pending[s] = None;
        self.last_sad = None;
        let mut score = 0.0;
        if p.on_device {
            self.member.wait(index)?;
            if p.scored {
                let sad = slot_words(&self.results, s, SUM_BYTES)(0);
                self.last_sad = Some(sad);
                score = self.host.score(sad);
            }
        }
        self.host.record(index, score)?;
        self.host.collect(index, sink);
        Ok(())
    }

    fn flush_frames(&mut self, sink: &mut FeatureSink) {
        self.host.flush(sink);
    }
}

cuda_extractor!(CudaMotion);

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::ChromaSampling;

    #[test]
    fn spec_matches_the_cpu_motion() {
        let cpu = &vmaf_cpu::features::integer_motion::SPEC;
        assert_eq!(SPEC.name, cpu.name);
        assert_eq!(SPEC.backend, BackendKind::Cuda);
        assert_eq!(SPEC.provided_features, cpu.provided_features);
        assert_eq!(SPEC.temporal, cpu.temporal);
        // The CPU's table, re-exported (constant evaluation may duplicate
        // its storage across crates, so compare entries, not addresses).
        assert_eq!(SPEC.options.len(), cpu.options.len());
        for (a, b) in SPEC.options.iter().zip(cpu.options) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        let args = [("motion_five_frame_window", "true"), ("motion_max_val", "9")];
        let a = Options::parse(SPEC.name, SPEC.options, args.iter().copied()).unwrap();
        let b = Options::parse(cpu.name, cpu.options, args.iter().copied()).unwrap();
        let name = "VMAF_integer_feature_motion2_score";
        assert_eq!(a.feature_name(name), b.feature_name(name));
        assert!(Options::parse(SPEC.name, SPEC.options, [("motion_max_val", "-1")]).is_err());
    }

    #[test]
    fn kernel_argument_layout_and_constants() {
        // Four 64-bit fields, then four 32-bit ones: no padding, so the C
        // struct in kernels/motion.cu has the same layout.
        assert_eq!(std::mem::size_of::<SadArgs>(), 4 * 8 + 4 * 4);
        assert_eq!(std::mem::align_of::<SadArgs>(), 8);
        assert_eq!(std::mem::offset_of!(SadArgs, width), 32);
        assert_eq!(std::mem::offset_of!(SadArgs, shift), 40);
        let src = kernels::MOTION.source;
        assert!(src.contains("struct SadArgs"));
        assert!(src.contains(&format!("#define MOTION_BLOCK {BLOCK}")));
        // The kernel's taps are the CPU's (symmetric, so three numbers).
        let taps = vmaf_cpu::features::integer_motion::TAPS;
        assert_eq!(taps, [taps[0], taps[1], taps[2], taps[1], taps[0]]);
        for (k, t) in taps[..3].iter().enumerate() {
            assert!(src.contains(&format!("#define MOTION_TAP{k} {t}\n")), "tap {k} = {t}");
        }
        assert!(src.contains("#define MOTION_PAD 2\n"));
    }

    #[test]
    fn kernels_compile_with_nvrtc_when_present() {
        // No NVRTC: a typed error. With one (even without a GPU), the
        // source must compile for sm_90 into a CUBIN.
        match crate::nvrtc::compiled(&kernels::MOTION, (9, 0)) {
            Err(Error::BackendUnavailable { msg, .. }) => assert!(msg.contains("NVRTC"), "{msg}"),
            Err(e) => panic!("motion.cu does not compile: {e}"),
            Ok(image) => {
                assert_eq!(&image[..4], b"\x7fELF", "not a CUBIN");
                eprintln!("compiled motion.cu for sm_90: {} bytes", image.len());
            }
        }
    }

    #[test]
    fn creating_without_a_device_is_an_error() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs420, 8).unwrap();
        let o = Options::defaults("motion", OPTIONS);
        let args = CreateArgs { options: &o, geometry: g, cpu_level: vmaf_core::CpuLevel::Scalar, device: None };
        let e = (SPEC.create)(&args).err().expect("no device, no extractor");
        assert!(matches!(e, Error::BackendUnavailable { .. }), "{e}");
        let not_a_device = 5u32;
        let args = CreateArgs { device: Some(&not_a_device), ..args };
        assert!((SPEC.create)(&args).is_err());
    }
}
