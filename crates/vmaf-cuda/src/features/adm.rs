//! `adm` (integer ADM) on CUDA: the same extractor name, features, options
//! and output as the CPU `adm`, bit for bit.
//!
//! The GPU runs the whole four-level pipeline of kernels/adm.cu over bands
//! that stay in device memory: DWT, decoupling, CSF and masking, with the
//! CPU scalar code's integer arithmetic. What comes back per frame is only
//! the nine exact integer sums of each level (reference energy, DLM and
//! AIM per angle, each already rounded per row as the CPU rounds it,
//! added modulo 2^64 as the CPU's wrapping sums are). The float math from
//! those sums to the scores is the CPU module's own [`AdmHost`], so the
//! two backends cannot drift apart.
//!
//! Per frame: both luma planes come from the scorer's [`FrameSession`]
//! (uploaded once for every extractor, or read in place from device
//! memory), are transformed by four launches per level on the session's
//! stream, and the 288 bytes of sums come back into pinned memory.
//! `submit` only enqueues (no allocation, no host wait); `collect` waits
//! through the session (once per frame for all extractors), then does the
//! host math. Every intermediate buffer is one device allocation made at
//! create, reused by every frame and level (the stream orders frames, so
//! one set suffices).

use std::ffi::c_void;

use vmaf_core::{BackendKind, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, Geometry, Options, Result};
use vmaf_cpu::features::integer_adm::params::Level;
use vmaf_cpu::features::integer_adm::{AdmHost, LevelSums, DWT_HORIZONTAL, DWT_VERTICAL, OPTIONS, PROVIDED_FEATURES};

use super::{cuda_extractor, slot_words, CudaFeature, Frame, Member};
use crate::device::{CudaDevice, DeviceBuffer, Kernel, PinnedBuffer, Stream};
use crate::kernels;
use crate::session::{FrameInput, FrameSession, Planes};

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "adm",
    backend: BackendKind::Cuda,
    provided_features: PROVIDED_FEATURES,
    options: OPTIONS,
    temporal: false,
    create,
    help: "Additive Detail Metric (DLM and AIM), libvmaf's fixed-point version (CUDA)",
};

/// Staging slots: frame i+1 can be packed and enqueued while frame i is
/// still on the device.
pub use super::RING;

/// Threads per block of the per-coefficient kernels and of the masking
/// kernel; must equal `ADM_TILE` and `ADM_BLOCK` in kernels/adm.cu.
const TILE: u32 = 128;
const BLOCK: u32 = 256;
/// CUDA's limit on grid y; the kernels stride over rows beyond it.
const MAX_GRID_Y: u32 = 65535;
/// Nine sums per level (den, num, aim x h, v, d), four levels.
const SUMS_PER_LEVEL: usize = 9;
const SUMS_BYTES: usize = 4 * SUMS_PER_LEVEL * std::mem::size_of::<u64>();

/// Declares a kernel-argument struct and, for the layout test, the list
/// of its fields with their Rust types in declaration order.
macro_rules! kernel_args {
    ($(#[$meta:meta])* struct $name:ident { $($field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default)]
        struct $name { $($field: $ty,)* }
        #[cfg(test)]
        impl $name {
            const FIELDS: &'static [(&'static str, &'static str)] = &[$((stringify!($field), stringify!($ty)),)*];
        }
    };
}

kernel_args! {
    /// The by-value argument of every adm kernel: one level's parameters
    /// and the buffers. Layout must match `AdmArgs` in kernels/adm.cu;
    /// every field is 64 bits wide, so neither side has padding. See the
    /// .cu file for what each field means.
    struct AdmArgs {
        src: [u64; 2],
        src_pitch: [u64; 2],
        approx_in: u64,
        approx_out: u64,
        tmp: u64,
        band: u64,
        dec: u64,
        fc: u64,
        sums: u64,
        tmp_stride: i64,
        tmp_plane: i64,
        stride: i64,
        plane: i64,
        level: i64,
        bpc: i64,
        in_w: i64,
        in_h: i64,
        w: i64,
        h: i64,
        col0: i64,
        col1: i64,
        row0: i64,
        row1: i64,
        ncol0: i64,
        ncol1: i64,
        nrow0: i64,
        nrow1: i64,
        v_add: i64,
        v_shift: i64,
        h_add: i64,
        h_shift: i64,
        rf: [i64; 3],
        sq_shift: [i64; 3],
        sq_add: [i64; 3],
        cub_shift: [i64; 3],
        cub_add: [i64; 3],
        thr_shift: [i64; 3],
        cm_row_shift: i64,
        cm_row_add: i64,
        den_row_shift: i64,
        den_row_add: u64,
        den_sq_shift: i64,
        den_sq_add: u64,
        den_cub_shift: i64,
        den_cub_add: u64,
        egl: f64,
        cos_sq: f64,
        skip_aim: i64,
    }
}

type Dim = (u32, u32, u32);

/// The four launches of one level: (grid, block) of vertical DWT,
/// horizontal DWT, decouple + CSF and masking.
#[derive(Clone, Copy, Debug, Default)]
struct LevelLaunch {
    vertical: (Dim, Dim),
    horizontal: (Dim, Dim),
    decouple: (Dim, Dim),
    masking: (Dim, Dim),
    /// Level 0 with `adm_skip_scale0`: DWT only.
    dwt_only: bool,
}

/// The kernels of one level, in launch order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Vertical,
    Horizontal,
    Decouple,
    Masking,
}

impl Stage {
    /// The entry point in kernels/adm.cu for `level`, for samples of
    /// `bytes_per_sample` at level 0.
    fn function(self, level: usize, bytes_per_sample: usize) -> &'static str {
        match self {
            Stage::Vertical if level > 0 => "adm_dwt_vertical_s32",
            Stage::Vertical if bytes_per_sample == 1 => "adm_dwt_vertical_u8",
            Stage::Vertical => "adm_dwt_vertical_u16",
            Stage::Horizontal => "adm_dwt_horizontal",
            Stage::Decouple => "adm_decouple_csf",
            Stage::Masking => "adm_masking",
        }
    }
}

impl LevelLaunch {
    /// This level's launches in order: (stage, grid, block).
    fn stages(&self) -> impl Iterator<Item = (Stage, Dim, Dim)> + '_ {
        let all = [
            (Stage::Vertical, self.vertical),
            (Stage::Horizontal, self.horizontal),
            (Stage::Decouple, self.decouple),
            (Stage::Masking, self.masking),
        ];
        let count = if self.dwt_only { 2 } else { 4 };
        all.into_iter().take(count).map(|(s, (g, b))| (s, g, b))
    }
}

struct Kernels {
    /// Level 0's vertical filter, for this extractor's sample type.
    vertical0: Kernel,
    vertical: Kernel,
    horizontal: Kernel,
    decouple: Kernel,
    masking: Kernel,
}

impl Kernels {
    fn get(&self, level: usize, stage: Stage) -> &Kernel {
        match stage {
            Stage::Vertical if level == 0 => &self.vertical0,
            Stage::Vertical => &self.vertical,
            Stage::Horizontal => &self.horizontal,
            Stage::Decouple => &self.decouple,
            Stage::Masking => &self.masking,
        }
    }
}

/// The CUDA adm extractor. Usable directly (for frames in device memory,
/// [`Self::submit_device`]) or through the [`Extractor`] trait.
pub struct CudaAdm {
    host: AdmHost,
    /// Per-level kernel arguments with every buffer address filled in
    /// except the input planes and the sums slot, which change per frame.
    args: [AdmArgs; 4],
    launches: [LevelLaunch; 4],
    kernels: Kernels,
    /// The sums of the frame collected last, for diagnostics.
    last: [LevelSums; 4],
    /// Every intermediate band (see `Layout`).
    work: DeviceBuffer,
    /// `RING` x 4 levels x 9 sums on the device, and their copies on the
    /// host.
    sums: DeviceBuffer,
    results: PinnedBuffer,
    member: Member,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let session = FrameSession::for_extractor(args.device, args.geometry, "adm")?;
    Ok(Box::new(CudaAdm::with_session(&session, args.options)?))
}

/// Where each intermediate array sits in the work buffer, in `i32`s.
/// Bands of every level use the level-0 band's row length (`stride`) and
/// plane size, so one layout serves all four levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    tmp_stride: usize,
    tmp_plane: usize,
    stride: usize,
    plane: usize,
    tmp: usize,
    approx: [usize; 2],
    band: usize,
    dec: usize,
    fc: usize,
    total: usize,
}

impl Layout {
    fn new(width: usize, level0: &Level) -> Layout {
        let tmp_stride = width;
        let tmp_plane = tmp_stride * level0.h;
        let stride = level0.w;
        let plane = stride * level0.h;
        // tmp: [image][lo/hi]; approx: two [image] ping-pong sets; band:
        // [image][angle]; dec: [restored/additive][angle]; fc:
        // [restored/additive][F/C].
        let tmp = 0;
        let approx = [tmp + 4 * tmp_plane, tmp + 4 * tmp_plane + 2 * plane];
        let band = approx[1] + 2 * plane;
        let dec = band + 6 * plane;
        let fc = dec + 6 * plane;
        let total = fc + 4 * plane;
        Layout { tmp_stride, tmp_plane, stride, plane, tmp, approx, band, dec, fc, total }
    }
}

/// The kernel arguments and launch shapes of the four levels for pictures
/// of `geometry`, with the intermediate arrays at `work` (a device address
/// of `4 * layout.total` bytes) as `layout` places them. The input planes
/// and the sums address are left for each frame to fill in.
fn plan(host: &AdmHost, geometry: Geometry, layout: &Layout, work: u64) -> ([AdmArgs; 4], [LevelLaunch; 4]) {
    let settings = *host.settings();
    let at = |ints: usize| work + 4 * ints as u64;
    let mut args = [AdmArgs::default(); 4];
    let mut launches = [LevelLaunch::default(); 4];
    for (l, lvl) in host.levels().iter().enumerate() {
        let (v, hz) = if l == 0 { ((0, 0), (0, 0)) } else { (DWT_VERTICAL[l - 1], DWT_HORIZONTAL[l - 1]) };
        let rf: [i64; 3] = if l == 0 { lvl.rfactor_q0.map(|x| x as i64) } else { lvl.rfactor_q.map(|x| x as i64) };
        args[l] = AdmArgs {
            src: [0; 2],
            src_pitch: [0; 2],
            approx_in: if l == 0 { 0 } else { at(layout.approx[(l - 1) % 2]) },
            approx_out: at(layout.approx[l % 2]),
            tmp: at(layout.tmp),
            band: at(layout.band),
            dec: at(layout.dec),
            fc: at(layout.fc),
            sums: 0,
            tmp_stride: layout.tmp_stride as i64,
            tmp_plane: layout.tmp_plane as i64,
            stride: layout.stride as i64,
            plane: layout.plane as i64,
            level: l as i64,
            bpc: geometry.bit_depth as i64,
            in_w: lvl.in_w as i64,
            in_h: lvl.in_h as i64,
            w: lvl.w as i64,
            h: lvl.h as i64,
            col0: lvl.cols.start as i64,
            col1: lvl.cols.end as i64,
            row0: lvl.rows.start as i64,
            row1: lvl.rows.end as i64,
            ncol0: lvl.need_cols.start as i64,
            ncol1: lvl.need_cols.end as i64,
            nrow0: lvl.need_rows.start as i64,
            nrow1: lvl.need_rows.end as i64,
            v_add: v.0,
            v_shift: v.1 as i64,
            h_add: hz.0,
            h_shift: hz.1 as i64,
            rf,
            sq_shift: lvl.cm.sq_shift.map(|x| x as i64),
            sq_add: lvl.cm.sq_add,
            cub_shift: lvl.cm.cub_shift.map(|x| x as i64),
            cub_add: lvl.cm.cub_add,
            thr_shift: lvl.cm.thr_shift.map(|x| x as i64),
            cm_row_shift: lvl.cm.row_shift as i64,
            cm_row_add: lvl.cm.row_add,
            den_row_shift: lvl.den.row_shift as i64,
            den_row_add: lvl.den.row_add,
            den_sq_shift: lvl.den.sq_shift as i64,
            den_sq_add: lvl.den.sq_add,
            den_cub_shift: lvl.den.cub_shift as i64,
            den_cub_add: lvl.den.cub_add,
            egl: settings.enhn_gain_limit,
            cos_sq: host.cos_sq() as f64,
            skip_aim: settings.skip_aim as i64,
        };
        launches[l] = LevelLaunch {
            vertical: ((blocks(lvl.in_w, TILE), rows(lvl.h), 2), (TILE, 1, 1)),
            horizontal: ((blocks(lvl.w, TILE), rows(lvl.h), 2), (TILE, 1, 1)),
            decouple: ((blocks(lvl.need_cols.len(), TILE), rows(lvl.need_rows.len()), 1), (TILE, 1, 1)),
            masking: ((lvl.rows.len() as u32, 1, 1), (BLOCK, 1, 1)),
            dwt_only: l == 0 && settings.skip_scale0,
        };
    }
    (args, launches)
}

fn blocks(n: usize, per: u32) -> u32 {
    n.div_ceil(per as usize) as u32
}

fn rows(n: usize) -> u32 {
    (n as u32).min(MAX_GRID_Y)
}

impl CudaAdm {
    /// An adm extractor on `device` for pictures of `geometry`; `options`
    /// parsed against the adm option table ([`SPEC`]`.options`). Every
    /// buffer is allocated here.
    pub fn new(device: &CudaDevice, options: &Options, geometry: Geometry) -> Result<Self> {
        Self::with_session(&FrameSession::new(device, geometry)?, options)
    }

    /// An adm extractor in a scorer's `session` (sharing its uploads, its
    /// stream and its one wait per frame).
    pub fn with_session(session: &FrameSession, options: &Options) -> Result<Self> {
        let geometry = *session.geometry();
        let device = session.device();
        let host = AdmHost::new(options, geometry)?;
        let (width, height) = (geometry.width as usize, geometry.height as usize);
        // Grid and index arithmetic use 32-bit sizes; pictures beyond them
        // could not be allocated anyway.
        if width > (1 << 20) || height > (1 << 20) {
            return Err(Error::InvalidGeometry(format!(
                "adm on CUDA supports up to 2^20 samples a side, got {width}x{height}"
            )));
        }
        let bps = geometry.bytes_per_sample();
        let levels = host.levels();
        let layout = Layout::new(width, &levels[0]);
        let ctx = device.ctx();
        let load = |level: usize, stage: Stage| device.kernel(&kernels::ADM, stage.function(level, bps));
        let kernels = Kernels {
            vertical0: load(0, Stage::Vertical)?,
            vertical: load(1, Stage::Vertical)?,
            horizontal: load(0, Stage::Horizontal)?,
            decouple: load(0, Stage::Decouple)?,
            masking: load(0, Stage::Masking)?,
        };
        // Built in order; an early return drops what exists so far, and
        // none of it has been used by the session's stream yet.
        let member = Member::join(session, Planes::Luma, "adm")?;
        let work = DeviceBuffer::new(ctx, 4 * layout.total)?;
        let sums = DeviceBuffer::new(ctx, RING * SUMS_BYTES)?;
        let results = PinnedBuffer::new(ctx, RING * SUMS_BYTES)?;

        let (args, launches) = plan(&host, geometry, &layout, work.ptr());
        Ok(CudaAdm { host, args, launches, kernels, last: [LevelSums::default(); 4], work, sums, results, member })
    }

    /// The device this extractor runs on.
    pub fn device(&self) -> &CudaDevice {
        self.member.device()
    }

    /// Bytes uploaded per frame from host memory by its session: both luma
    /// planes when adm is alone.
    pub fn upload_bytes_per_frame(&self) -> usize {
        self.member.session().upload_bytes_per_frame()
    }

    /// Bytes read back per frame: nine 64-bit sums per level.
    pub fn download_bytes_per_frame(&self) -> usize {
        SUMS_BYTES
    }

    /// Kernel launches per frame.
    pub fn launches_per_frame(&self) -> usize {
        self.launches.iter().map(|l| l.stages().count()).sum()
    }

    /// Bytes of device memory this extractor holds (its session's input
    /// buffers not included).
    pub fn device_bytes(&self) -> usize {
        self.work.len() + self.sums.len()
    }

    /// The per-level integer sums of the frame collected last (what the
    /// host turned into scores), for diagnostics.
    pub fn last_sums(&self) -> &[LevelSums; 4] {
        &self.last
    }

    /// The host half: option-derived parameters and the score formulas.
    pub fn host(&self) -> &AdmHost {
        &self.host
    }

    fn submit_input(&mut self, input: FrameInput, index: u32) -> Result<()> {
        let s = self.member.claim(&input)?;
        let (r, d) = (input.reference[0], input.distorted[0]);
        let queued =
            self.member.lane().run(|stream| self.enqueue(stream, s, [r.ptr, d.ptr], [r.pitch as u64, d.pitch as u64]));
        self.member.settle(queued, s, index)
    }

    fn enqueue(&mut self, stream: &Stream, s: usize, src: [u64; 2], pitch: [u64; 2]) -> Result<()> {
        let off = s * SUMS_BYTES;
        stream.zero(&self.sums, off, SUMS_BYTES)?;
        for (l, go) in self.launches.iter().enumerate() {
            let mut a = self.args[l];
            a.src = src;
            a.src_pitch = pitch;
            a.sums = self.sums.ptr() + (off + l * SUMS_PER_LEVEL * 8) as u64;
            for (stage, grid, block) in go.stages() {
                let mut params = [&mut a as *mut AdmArgs as *mut c_void];
                // SAFETY: every adm kernel takes one `AdmArgs` by value
                // (layout checked by a test); its addresses point into the
                // session's input, `work` and `sums` (owned, freed only
                // after the stream is drained) or into caller memory that
                // `CudaPicture::from_raw` obliges to stay valid until
                // collect. Grids are sized so every access is in bounds.
                unsafe {
                    stream.launch(self.kernels.get(l, stage), grid, block, &mut params)?;
                }
            }
        }
        stream.copy_dtoh(&mut self.results, off, &self.sums, off, SUMS_BYTES)
    }
}

/// The four levels' sums from the device's words (`word(i)` is the i-th
/// 64-bit word of a frame's results).
fn unpack_sums(word: impl Fn(usize) -> u64) -> [LevelSums; 4] {
    std::array::from_fn(|l| {
        let b = l * SUMS_PER_LEVEL;
        // The device adds modulo 2^64; the CPU's signed sums wrap the same
        // way, so reinterpreting the bits gives its values.
        LevelSums {
            den: std::array::from_fn(|k| word(b + k)),
            num: std::array::from_fn(|k| word(b + 3 + k) as i64),
            aim: std::array::from_fn(|k| word(b + 6 + k) as i64),
        }
    })
}

impl CudaFeature for CudaAdm {
    fn submit_frame(&mut self, frame: Frame<'_>, index: u32) -> Result<()> {
        let input = self.member.frame(frame, index)?;
        self.submit_input(input, index)
    }

    /// Waits for frame `index` (one host wait) and writes its scores.
    fn collect_frame(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        let s = self.member.wait(index)?;
        self.last = unpack_sums(slot_words(&self.results, s, SUMS_BYTES));
        let values = self.host.scores(&self.last);
        self.host.put(index, &values, sink);
        Ok(())
    }
}

cuda_extractor!(CudaAdm);

#[cfg(test)]
#[path = "adm_emulated.rs"]
mod emulated;

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::ChromaSampling;

    #[test]
    fn spec_matches_the_cpu_adm() {
        let cpu = &vmaf_cpu::features::integer_adm::SPEC;
        assert_eq!(SPEC.name, cpu.name);
        assert_eq!(SPEC.backend, BackendKind::Cuda);
        assert_eq!(SPEC.provided_features, cpu.provided_features);
        assert_eq!(SPEC.temporal, cpu.temporal);
        assert_eq!(SPEC.options.len(), cpu.options.len());
        for (a, b) in SPEC.options.iter().zip(cpu.options) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        let args = [("adm_enhn_gain_limit", "1.0"), ("adm_csf_mode", "2")];
        let a = Options::parse(SPEC.name, SPEC.options, args.iter().copied()).unwrap();
        let b = Options::parse(cpu.name, cpu.options, args.iter().copied()).unwrap();
        assert_eq!(a.feature_name("integer_adm2"), b.feature_name("integer_adm2"));
    }

    /// The C struct's fields as (name, element type, count), in order.
    fn c_fields(source: &str) -> Vec<(String, String, usize)> {
        let start = source.find("struct AdmArgs {").expect("struct AdmArgs in adm.cu");
        let body = &source[start + "struct AdmArgs {".len()..];
        let body = &body[..body.find("};").expect("end of struct AdmArgs")];
        let mut out = Vec::new();
        for line in body.lines() {
            let code = line.split("//").next().unwrap_or("").trim();
            if code.is_empty() {
                continue;
            }
            let code = code.strip_suffix(';').expect("one field per line");
            let (ty, name) = code.rsplit_once(' ').expect("type and name");
            let (name, count) = match name.split_once('[') {
                Some((n, c)) => (n, c.trim_end_matches(']').parse().expect("array length")),
                None => (name, 1),
            };
            let ty = match ty.trim() {
                "unsigned long long" => "u64",
                "long long" => "i64",
                "double" => "f64",
                other => panic!("field {name}: {other} is not a 64-bit type"),
            };
            out.push((name.to_owned(), ty.to_owned(), count));
        }
        out
    }

    #[test]
    fn kernel_argument_layout_matches_the_c_struct() {
        let rust: Vec<(String, String, usize)> = AdmArgs::FIELDS
            .iter()
            .map(|(name, ty)| {
                let ty: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
                match ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                    Some(arr) => {
                        let (t, n) = arr.split_once(';').expect("[T; N]");
                        (name.to_string(), t.to_owned(), n.parse().unwrap())
                    }
                    None => (name.to_string(), ty, 1),
                }
            })
            .collect();
        let c = c_fields(kernels::ADM.source);
        assert_eq!(rust, c);
        let words: usize = c.iter().map(|f| f.2).sum();
        assert_eq!(std::mem::size_of::<AdmArgs>(), 8 * words, "no padding");
        assert!(kernels::ADM.source.contains(&format!("#define ADM_TILE {TILE}")));
        assert!(kernels::ADM.source.contains(&format!("#define ADM_BLOCK {BLOCK}")));
    }

    #[test]
    fn layout_is_disjoint_and_sized_from_level_0() {
        let g = Geometry::new(1921, 1081, ChromaSampling::Cs420, 8).unwrap();
        let o = Options::parse("adm", OPTIONS, std::iter::empty::<(&str, &str)>()).unwrap();
        let host = AdmHost::new(&o, g).unwrap();
        let l0 = &host.levels()[0];
        let lay = Layout::new(1921, l0);
        assert_eq!((l0.w, l0.h), (961, 541));
        assert_eq!(lay.plane, 961 * 541);
        assert_eq!(lay.tmp_plane, 1921 * 541);
        let spans = [
            (lay.tmp, 4 * lay.tmp_plane),
            (lay.approx[0], 2 * lay.plane),
            (lay.approx[1], 2 * lay.plane),
            (lay.band, 6 * lay.plane),
            (lay.dec, 6 * lay.plane),
            (lay.fc, 4 * lay.plane),
        ];
        for w in spans.windows(2) {
            assert_eq!(w[0].0 + w[0].1, w[1].0);
        }
        assert_eq!(lay.fc + 4 * lay.plane, lay.total);
        // Coarser levels fit the level-0 strides.
        for l in &host.levels()[1..] {
            assert!(l.in_w <= lay.tmp_stride && l.w <= lay.stride && l.h <= l0.h);
        }
    }

    #[test]
    fn creating_without_a_device_is_an_error() {
        let g = Geometry::new(64, 64, ChromaSampling::Cs420, 8).unwrap();
        let o = Options::parse("adm", OPTIONS, std::iter::empty::<(&str, &str)>()).unwrap();
        let args = CreateArgs { options: &o, geometry: g, cpu_level: vmaf_core::CpuLevel::Scalar, device: None };
        let e = (SPEC.create)(&args).err().expect("no device, no extractor");
        assert!(matches!(e, Error::BackendUnavailable { .. }), "{e}");
    }

    #[test]
    fn kernels_compile_with_nvrtc_where_it_exists() {
        // No GPU here; NVRTC may exist (LD_LIBRARY_PATH). Where it does,
        // adm.cu must compile for the H100 and define every entry point.
        match crate::nvrtc::compiled(&kernels::ADM, (9, 0)) {
            Err(Error::BackendUnavailable { msg, .. }) => assert!(msg.contains("NVRTC"), "{msg}"),
            Err(e) => panic!("adm.cu does not compile: {e}"),
            Ok(image) => {
                assert_eq!(&image[..4], b"\x7fELF", "not a CUBIN");
                for f in kernels::ADM.functions {
                    let name = f.as_bytes();
                    assert!(image.windows(name.len()).any(|w| w == name), "{f} missing from the CUBIN");
                }
            }
        }
    }
}
