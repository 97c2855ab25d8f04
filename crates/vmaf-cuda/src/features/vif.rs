//! `vif` (libvmaf's fixed-point VIF, `integer_vif_scale0..3`) on CUDA: the
//! same extractor name, features, options and output as the CPU `vif`,
//! bit for bit.
//!
//! The GPU does all the per-pixel work (kernels/vif.cu): per scale, the
//! separable filters, the statistic with libvmaf's log2 table, and the
//! decimation to the next scale, whose pictures stay in device buffers.
//! What comes back per frame is 16 exact 64-bit integers, the four sums of
//! each scale ([`Sums`]); integer addition does not depend on order, so
//! they equal the CPU's sums whatever order the blocks add them in. The
//! host then does all the floating point (num/den in double rounded to
//! float, the ratios, the debug totals) with the CPU module's own
//! [`VifHost`], so the two backends cannot drift apart.
//!
//! The per-pixel gain of the statistic is double-precision arithmetic on
//! the device; the kernel spells each operation as an explicitly rounded
//! intrinsic in the CPU code's order, and IEEE double operations give the
//! same bits on both.
//!
//! Edges: libvmaf mirrors its padded buffers in place, and for small
//! pictures the repeated folding differs between filters and scales. The
//! CPU module replays that padding on indices once ([`ScaleGeom`]); this
//! module uploads those row and column maps at create, so the kernels only
//! look sources up and can never disagree with the CPU about an edge.
//!
//! Per frame: the two luma planes come from the scorer's [`FrameSession`]
//! (uploaded once for every extractor, or read in place from device
//! memory), are processed by at most 7 launches on the session's stream
//! (statistic of each scale, decimation of scales 0..2; empty scales of
//! tiny pictures launch nothing), and the 128 bytes of sums come back into
//! pinned memory. `submit` only enqueues; `collect` waits through the
//! session, once per frame for all extractors.

use std::ffi::c_void;

use vmaf_core::{BackendKind, CreateArgs, Extractor, ExtractorSpec, FeatureSink, Geometry, Options, Result};
use vmaf_cpu::features::integer_vif::{
    Edge, Log2Table, ScaleGeom, Shifts, Sums, VifHost, GAIN_EPS, OPTIONS, PROVIDED_FEATURES,
};

use super::{cuda_extractor, slot_words, CudaFeature, Frame, Member};
use crate::device::{CudaDevice, DeviceBuffer, Kernel, PinnedBuffer};
use crate::kernels;
use crate::session::{FrameInput, FrameSession, Planes};

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "vif",
    backend: BackendKind::Cuda,
    provided_features: PROVIDED_FEATURES,
    options: OPTIONS,
    temporal: false,
    create,
    help: "fixed-point visual information fidelity at four scales (integer_vif_scale0..3) (CUDA)",
};

/// Staging slots: frame i+1 can be packed and enqueued while frame i is
/// still on the device.
pub use super::RING;

// Must equal the #defines of kernels/vif.cu (checked by a test).
const BLOCK: u32 = 256;
const STAT_TW: u32 = 64;
const STAT_TH: u32 = 16;
const SUB_TW: u32 = 64;
const SUB_TH: u32 = 8;
/// Positions each row / column map holds beyond both ends of its scale.
const MAP_PAD: usize = 8;

/// Four sums per scale, four scales, 64 bits each.
const SUMS_WORDS: usize = 16;
const SUMS_BYTES: usize = SUMS_WORDS * 8;
/// Entries of the log2 table the kernels index (`x - 32768`, x < 65536).
const LOG2_ENTRIES: usize = 32768;

/// The statistic kernel's by-value argument; layout must match
/// `VifStatArgs` in kernels/vif.cu.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct StatArgs {
    reference: u64,
    distorted: u64,
    ref_pitch: u64,
    dis_pitch: u64,
    rows: u64,
    cols: u64,
    log2: u64,
    sums: u64,
    gain_limit: f64,
    gain_eps: f64,
    w: u32,
    h: u32,
    shift_mu: u32,
    shift_sq: u32,
}

/// The decimation kernel's argument; layout must match `VifSubArgs`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct SubArgs {
    reference: u64,
    distorted: u64,
    ref_pitch: u64,
    dis_pitch: u64,
    rows: u64,
    cols: u64,
    out_ref: u64,
    out_dis: u64,
    w: u32,
    h: u32,
    wo: u32,
    ho: u32,
    shift: u32,
    unused: u32,
}

/// Byte offsets of one scale's maps in the table buffer.
#[derive(Clone, Copy, Debug, Default)]
struct MapOffsets {
    rows: usize,
    stat_cols: usize,
    sub_cols: usize,
}

/// Every map and the log2 table, laid out in one buffer: the bytes to
/// upload and where each part is.
struct Tables {
    bytes: Vec<u8>,
    log2: usize,
    scales: [MapOffsets; 4],
}

/// The source of each position `-MAP_PAD..n + MAP_PAD` of a filtered row
/// (index `p + MAP_PAD`), from the CPU's column mirror. Positions beyond
/// the mirror are never read by a used output; they get an in-range
/// column so that no read can leave the picture.
fn column_map(edge: &Edge, n: usize) -> Vec<u32> {
    let last = n.saturating_sub(1);
    (-(MAP_PAD as isize)..(n + MAP_PAD) as isize)
        .map(|p| {
            let src = if p < 0 {
                edge.left.get((-p - 1) as usize).copied().unwrap_or(0)
            } else if (p as usize) < n {
                p as usize
            } else {
                edge.right.get(p as usize - n).copied().unwrap_or(last)
            };
            src.min(last) as u32
        })
        .collect()
}

impl Tables {
    fn new(geoms: &[ScaleGeom; 4]) -> Tables {
        let mut words: Vec<u8> = Vec::new();
        let log2 = Log2Table::new();
        for v in &log2.data()[..LOG2_ENTRIES] {
            words.extend_from_slice(&v.to_ne_bytes());
        }
        let push = |v: &[u32], words: &mut Vec<u8>| {
            let at = words.len();
            for x in v {
                words.extend_from_slice(&x.to_ne_bytes());
            }
            at
        };
        let mut scales = [MapOffsets::default(); 4];
        for (g, off) in geoms.iter().zip(&mut scales) {
            // The CPU's row map covers ROW_PAD rows beyond each end, the
            // same reach as the kernels' maps.
            let rows: Vec<u32> = g.rows.iter().map(|&r| r.min(g.h.saturating_sub(1)) as u32).collect();
            off.rows = push(&rows, &mut words);
            off.stat_cols = push(&column_map(&g.stat_edge, g.w), &mut words);
            off.sub_cols = push(&column_map(&g.sub_edge, g.w), &mut words);
        }
        Tables { bytes: words, log2: 0, scales }
    }
}

/// The CUDA vif extractor. Usable directly (for frames in device memory,
/// [`Self::submit_device`]) or through the [`Extractor`] trait.
pub struct CudaVif {
    host: VifHost,
    geometry: Geometry,
    /// (width, height) of each scale.
    dims: [(u32, u32); 4],
    stat: [Kernel; 4],
    sub: [Kernel; 3],
    /// Device addresses of each scale's maps.
    maps: [MapOffsets; 4],
    /// The sums of the last collected frame.
    last_sums: [Sums; 4],
    /// Pictures of scales 1..3, reference and distorted, u16.
    pyramid: DeviceBuffer,
    /// Byte offsets in `pyramid` of scale s+1's reference and distorted.
    pyramid_at: [(usize, usize); 3],
    tables: DeviceBuffer,
    log2_at: usize,
    /// `RING` x 16 sums on the device, and their copies on the host.
    sums: DeviceBuffer,
    results: PinnedBuffer,
    member: Member,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let session = FrameSession::for_extractor(args.device, args.geometry, "vif")?;
    Ok(Box::new(CudaVif::with_session(&session, args.options)?))
}

/// Where a scale's pictures are: addresses and row pitches in bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Source {
    reference: u64,
    distorted: u64,
    ref_pitch: u64,
    dis_pitch: u64,
}

impl CudaVif {
    /// A vif extractor on `device` for pictures of `geometry`; `options`
    /// parsed against the vif option table ([`SPEC`]`.options`). Every
    /// buffer is allocated, and the tables uploaded, here.
    pub fn new(device: &CudaDevice, options: &Options, geometry: Geometry) -> Result<Self> {
        Self::with_session(&FrameSession::new(device, geometry)?, options)
    }

    /// A vif extractor in a scorer's `session` (sharing its uploads, its
    /// stream and its one wait per frame).
    pub fn with_session(session: &FrameSession, options: &Options) -> Result<Self> {
        let geometry = *session.geometry();
        let device = session.device();
        let host = VifHost::new(options);
        let (w, h) = (geometry.width as usize, geometry.height as usize);
        let bps = geometry.bytes_per_sample();
        let geoms: [ScaleGeom; 4] = std::array::from_fn(|s| ScaleGeom::new(s, w >> s, h >> s));
        let dims = std::array::from_fn(|s| ((w >> s) as u32, (h >> s) as u32));
        let tables = Tables::new(&geoms);
        let mut pyramid_at = [(0usize, 0usize); 3];
        let mut pyramid_bytes = 0usize;
        for (s, at) in pyramid_at.iter_mut().enumerate() {
            let n = (w >> (s + 1)) * (h >> (s + 1)) * 2;
            *at = (pyramid_bytes, pyramid_bytes + n);
            // 256-byte aligned starts: every scale's rows begin aligned.
            pyramid_bytes += (2 * n).div_ceil(256) * 256;
        }
        let (stat0, sub0) = if bps == 1 { ("vif_stat0_u8", "vif_sub0_u8") } else { ("vif_stat0_u16", "vif_sub0_u16") };

        // Built in order; an early return drops what exists so far. The
        // stream is waited for before the staging for the tables goes.
        let member = Member::join(session, Planes::Luma, "vif")?;
        let ctx = device.ctx();
        let k = |f: &str| device.kernel(&kernels::VIF, f);
        let stat = [k(stat0)?, k("vif_stat1")?, k("vif_stat2")?, k("vif_stat3")?];
        let sub = [k(sub0)?, k("vif_sub1")?, k("vif_sub2")?];
        let pyramid = DeviceBuffer::new(ctx, pyramid_bytes)?;
        let table_dev = DeviceBuffer::new(ctx, tables.bytes.len())?;
        {
            let mut up = PinnedBuffer::new(ctx, tables.bytes.len())?;
            up.as_mut_slice().copy_from_slice(&tables.bytes);
            // Waited for even after an error: `up` is freed at the end of
            // this block and a queued copy may still read it.
            member.lane().run(|stream| {
                let queued = stream.copy_htod(&table_dev, 0, &up, 0, tables.bytes.len());
                let waited = stream.wait_idle();
                if queued.is_err() {
                    stream.drain();
                }
                queued.and(waited)
            })?;
        }
        let sums = DeviceBuffer::new(ctx, RING * SUMS_BYTES)?;
        let results = PinnedBuffer::new(ctx, RING * SUMS_BYTES)?;
        Ok(CudaVif {
            host,
            geometry,
            dims,
            stat,
            sub,
            maps: tables.scales,
            last_sums: [Sums::default(); 4],
            pyramid,
            pyramid_at,
            tables: table_dev,
            log2_at: tables.log2,
            sums,
            results,
            member,
        })
    }

    /// The device this extractor runs on.
    pub fn device(&self) -> &CudaDevice {
        self.member.device()
    }

    /// Bytes uploaded per frame from host memory by its session: both luma
    /// planes when vif is alone.
    pub fn upload_bytes_per_frame(&self) -> usize {
        self.member.session().upload_bytes_per_frame()
    }

    /// Bytes read back per frame: sixteen 64-bit sums.
    pub fn download_bytes_per_frame(&self) -> usize {
        SUMS_BYTES
    }

    /// Kernel launches per frame (fewer for tiny pictures, whose smallest
    /// scales are empty, and with `vif_skip_scale0`).
    pub fn launches_per_frame(&self) -> usize {
        let nonempty = |s: usize| self.dims[s].0 > 0 && self.dims[s].1 > 0;
        let stats = (0..4).filter(|&s| nonempty(s) && !(s == 0 && self.host.skip_scale0())).count();
        let subs = (1..4).filter(|&s| nonempty(s)).count();
        stats + subs
    }

    /// The four scales' integer sums of the last collected frame (for
    /// device checks that compare them with the CPU's).
    pub fn last_sums(&self) -> [Sums; 4] {
        self.last_sums
    }

    fn submit_input(&mut self, input: FrameInput, index: u32) -> Result<()> {
        let s = self.member.claim(&input)?;
        let (r, d) = (input.reference[0], input.distorted[0]);
        let src = Source { reference: r.ptr, distorted: d.ptr, ref_pitch: r.pitch as u64, dis_pitch: d.pitch as u64 };
        let queued = self.member.lane().run(|stream| self.enqueue_on(stream, s, src));
        self.member.settle(queued, s, index)
    }

    /// Scale `s`'s pictures: the input for scale 0, the pyramid after.
    fn scale_source(&self, s: usize, input: Source) -> Source {
        if s == 0 {
            return input;
        }
        let (r, d) = self.pyramid_at[s - 1];
        let pitch = self.dims[s].0 as u64 * 2;
        let base = self.pyramid.ptr();
        Source { reference: base + r as u64, distorted: base + d as u64, ref_pitch: pitch, dis_pitch: pitch }
    }

    fn enqueue_on(&mut self, stream: &crate::device::Stream, slot: usize, input: Source) -> Result<()> {
        let off = slot * SUMS_BYTES;
        stream.zero(&self.sums, off, SUMS_BYTES)?;
        let bpc = self.geometry.bit_depth as u32;
        let tables = self.tables.ptr();
        for s in 0..4 {
            let (w, h) = self.dims[s];
            if w == 0 || h == 0 {
                // Every later scale is empty too; their sums stay zero, as
                // the CPU's do.
                break;
            }
            let src = self.scale_source(s, input);
            let map = self.maps[s];
            if !(s == 0 && self.host.skip_scale0()) {
                let sh = Shifts::for_scale(s, bpc);
                let mut args = StatArgs {
                    reference: src.reference,
                    distorted: src.distorted,
                    ref_pitch: src.ref_pitch,
                    dis_pitch: src.dis_pitch,
                    rows: tables + map.rows as u64,
                    cols: tables + map.stat_cols as u64,
                    log2: tables + self.log2_at as u64,
                    sums: self.sums.ptr() + (off + s * 4 * 8) as u64,
                    gain_limit: self.host.gain_limit(),
                    gain_eps: GAIN_EPS,
                    w,
                    h,
                    shift_mu: sh.mu,
                    shift_sq: sh.sq,
                };
                let grid = (w.div_ceil(STAT_TW), h.div_ceil(STAT_TH), 1);
                let mut params = [&mut args as *mut StatArgs as *mut c_void];
                // SAFETY: the parameter matches `vif_stat*(VifStatArgs)`;
                // every address points into buffers this extractor owns
                // (freed only after the stream is drained) or into caller
                // memory that `CudaPicture::from_raw` obliges to stay valid
                // until collect. The maps cover every position the kernel
                // looks up (it clamps to their range).
                unsafe { stream.launch(&self.stat[s], grid, (BLOCK, 1, 1), &mut params)? };
            }
            if s < 3 {
                let (wo, ho) = self.dims[s + 1];
                if wo == 0 || ho == 0 {
                    break;
                }
                let (r, d) = self.pyramid_at[s];
                let mut args = SubArgs {
                    reference: src.reference,
                    distorted: src.distorted,
                    ref_pitch: src.ref_pitch,
                    dis_pitch: src.dis_pitch,
                    rows: tables + map.rows as u64,
                    cols: tables + map.sub_cols as u64,
                    out_ref: self.pyramid.ptr() + r as u64,
                    out_dis: self.pyramid.ptr() + d as u64,
                    w,
                    h,
                    wo,
                    ho,
                    shift: Shifts::for_scale(s, bpc).mu,
                    unused: 0,
                };
                let grid = (wo.div_ceil(SUB_TW), ho.div_ceil(SUB_TH), 1);
                let mut params = [&mut args as *mut SubArgs as *mut c_void];
                // SAFETY: as above; the outputs are scale s+1's pictures in
                // `pyramid`, wo x ho u16 each.
                unsafe { stream.launch(&self.sub[s], grid, (BLOCK, 1, 1), &mut params)? };
            }
        }
        stream.copy_dtoh(&mut self.results, off, &self.sums, off, SUMS_BYTES)?;
        Ok(())
    }
}

impl CudaFeature for CudaVif {
    fn submit_frame(&mut self, frame: Frame<'_>, index: u32) -> Result<()> {
        let input = self.member.frame(frame, index)?;
        self.submit_input(input, index)
    }

    /// Waits for frame `index` (one host wait) and writes its scores.
    fn collect_frame(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        let s = self.member.wait(index)?;
        let bits = slot_words(&self.results, s, SUMS_BYTES);
        let word = |i: usize| bits(i) as i64;
        // The device adds two's-complement terms in wrapping u64: the same
        // bits as the CPU's i64 sums.
        self.last_sums = std::array::from_fn(|sc| Sums {
            num_log: word(4 * sc),
            den_log: word(4 * sc + 1),
            num_non_log: word(4 * sc + 2),
            den_non_log: word(4 * sc + 3),
        });
        self.host.record(index, &self.last_sums);
        self.host.collect(index, sink);
        Ok(())
    }
}

cuda_extractor!(CudaVif);

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::ChromaSampling;
    use vmaf_core::Error;
    use vmaf_cpu::features::integer_vif::ROW_PAD;

    #[test]
    fn spec_matches_the_cpu_vif() {
        let cpu = &vmaf_cpu::features::integer_vif::SPEC;
        assert_eq!(SPEC.name, cpu.name);
        assert_eq!(SPEC.backend, BackendKind::Cuda);
        assert_eq!(SPEC.provided_features, cpu.provided_features);
        assert_eq!(SPEC.temporal, cpu.temporal);
        assert_eq!(SPEC.options.len(), cpu.options.len());
        for (a, b) in SPEC.options.iter().zip(cpu.options) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        let args = [("vif_enhn_gain_limit", "1.5"), ("vif_skip_scale0", "true"), ("debug", "true")];
        let o = Options::parse(SPEC.name, SPEC.options, args.iter().copied()).unwrap();
        let host = VifHost::new(&o);
        assert_eq!(host.names().len(), 15);
        assert_eq!(host.names()[0], "integer_vif_scale0_egl_1.5_ssclz");
        assert!(Options::parse(SPEC.name, SPEC.options, [("vif_enhn_gain_limit", "0.5")]).is_err());
    }

    #[test]
    fn kernel_argument_layouts() {
        // 64-bit fields first, then 32-bit ones: no padding, so the C
        // structs in kernels/vif.cu have the same layout.
        assert_eq!(std::mem::size_of::<StatArgs>(), 10 * 8 + 4 * 4);
        assert_eq!(std::mem::offset_of!(StatArgs, gain_limit), 64);
        assert_eq!(std::mem::offset_of!(StatArgs, w), 80);
        assert_eq!(std::mem::offset_of!(StatArgs, shift_sq), 92);
        assert_eq!(std::mem::size_of::<SubArgs>(), 8 * 8 + 6 * 4);
        assert_eq!(std::mem::offset_of!(SubArgs, w), 64);
        assert_eq!(std::mem::offset_of!(SubArgs, shift), 80);
        let src = kernels::VIF.source;
        for (name, v) in [
            ("VIF_BLOCK", BLOCK),
            ("STAT_TW", STAT_TW),
            ("STAT_TH", STAT_TH),
            ("SUB_TW", SUB_TW),
            ("SUB_TH", SUB_TH),
            ("MAP_PAD", MAP_PAD as u32),
        ] {
            assert!(src.contains(&format!("#define {name} {v}\n")), "{name} differs from {v}");
        }
        // The row maps come from the CPU's ScaleGeom, which keeps exactly
        // MAP_PAD rows beyond each end.
        assert_eq!(ROW_PAD, MAP_PAD);
        // Field order in the C structs, by the field names' order.
        for (st, fields) in [
            (
                "struct VifStatArgs {",
                &[
                    "ref;",
                    "dis;",
                    "ref_pitch;",
                    "dis_pitch;",
                    "rows;",
                    "cols;",
                    "log2;",
                    "sums;",
                    "gain_limit;",
                    "gain_eps;",
                    "w;",
                    "h;",
                    "shift_mu;",
                    "shift_sq;",
                ][..],
            ),
            (
                "struct VifSubArgs {",
                &[
                    "ref;",
                    "dis;",
                    "ref_pitch;",
                    "dis_pitch;",
                    "rows;",
                    "cols;",
                    "out_ref;",
                    "out_dis;",
                    "w;",
                    "h;",
                    "wo;",
                    "ho;",
                    "shift;",
                    "unused;",
                ][..],
            ),
        ] {
            let body = &src[src.find(st).unwrap()..];
            let body = &body[..body.find("};").unwrap()];
            let decls: Vec<&str> = body
                .lines()
                .skip(1)
                .filter_map(|l| l.split("//").next())
                .filter_map(|l| l.split_whitespace().last())
                .collect();
            assert_eq!(decls, fields, "{st}");
        }
    }

    #[test]
    fn kernel_filters_are_the_cpu_filters() {
        let src = kernels::VIF.source;
        for (s, taps) in vmaf_cpu::features::integer_vif::FILTERS.iter().enumerate() {
            let decl = format!("__constant__ unsigned int VIF_FILTER_{s}[{}] = {{", taps.len());
            let at = src.find(&decl).unwrap_or_else(|| panic!("no {decl}")) + decl.len();
            let list = &src[at..at + src[at..].find('}').unwrap()];
            let got: Vec<u16> = list.split(',').map(|x| x.trim().parse().unwrap()).collect();
            assert_eq!(&got[..], *taps, "scale {s}");
            assert!(src.contains(&format!("enum {{ HALF = {} }};", taps.len() / 2)));
        }
    }

    #[test]
    fn maps_replay_the_cpu_mirrors() {
        for (w, h) in [(1usize, 1usize), (2, 3), (3, 5), (7, 30), (17, 9), (64, 36), (1920, 1080)] {
            let geoms: [ScaleGeom; 4] = std::array::from_fn(|s| ScaleGeom::new(s, w >> s, h >> s));
            let t = Tables::new(&geoms);
            let word =
                |at: usize, i: usize| u32::from_ne_bytes(t.bytes[at + 4 * i..at + 4 * i + 4].try_into().unwrap());
            for (s, g) in geoms.iter().enumerate() {
                let off = t.scales[s];
                // Rows: the CPU's own map, for every virtual row.
                for (i, &r) in g.rows.iter().enumerate() {
                    if g.h > 0 {
                        assert_eq!(word(off.rows, i) as usize, r, "{w}x{h} scale {s} row {i}");
                    }
                }
                // Columns: what `Edge::apply` copies into the padding.
                for (edge, at, half) in [
                    (&g.stat_edge, off.stat_cols, vmaf_cpu::features::integer_vif::FILTERS[s].len() / 2),
                    (
                        &g.sub_edge,
                        off.sub_cols,
                        if s < 3 { vmaf_cpu::features::integer_vif::FILTERS[s + 1].len() / 2 } else { 0 },
                    ),
                ] {
                    if g.w == 0 {
                        continue;
                    }
                    let pad = vmaf_cpu::features::integer_vif::COL_PAD;
                    let mut row: Vec<i64> = vec![-1; g.w + 2 * pad];
                    for (c, v) in row.iter_mut().enumerate().skip(pad).take(g.w) {
                        *v = (c - pad) as i64;
                    }
                    edge.apply(&mut row, g.w);
                    for p in -(half as isize)..(g.w + half) as isize {
                        let want = row[(pad as isize + p) as usize];
                        let got = word(at, (p + MAP_PAD as isize) as usize);
                        assert_eq!(got as i64, want, "{w}x{h} scale {s} column {p}");
                    }
                    for i in 0..g.w + 2 * MAP_PAD {
                        assert!((word(at, i) as usize) < g.w, "{w}x{h} scale {s}: map entry out of the picture");
                    }
                }
            }
            // The log2 table is the CPU's.
            let cpu = Log2Table::new();
            for i in [0usize, 1, 12345, LOG2_ENTRIES - 1] {
                let v = u16::from_ne_bytes(t.bytes[t.log2 + 2 * i..t.log2 + 2 * i + 2].try_into().unwrap());
                assert_eq!(v, cpu.data()[i]);
            }
        }
    }

    #[test]
    fn creating_without_a_device_is_an_error() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs420, 8).unwrap();
        let o = Options::parse("vif", OPTIONS, std::iter::empty::<(&str, &str)>()).unwrap();
        let args = CreateArgs { options: &o, geometry: g, cpu_level: vmaf_core::CpuLevel::Scalar, device: None };
        let e = (SPEC.create)(&args).err().expect("no device, no extractor");
        assert!(matches!(e, Error::BackendUnavailable { .. }), "{e}");
    }

    #[test]
    fn kernels_compile_with_nvrtc_where_it_exists() {
        // Without NVRTC: a typed error naming it. With NVRTC (the device
        // machine, or a host with the library but no GPU) the source must
        // compile for Hopper.
        match crate::nvrtc::compiled(&kernels::VIF, (9, 0)) {
            Err(Error::BackendUnavailable { msg, .. }) => assert!(msg.contains("NVRTC"), "{msg}"),
            Err(e) => panic!("vif.cu does not compile: {e}"),
            Ok(image) => {
                assert_eq!(&image[..4], b"\x7fELF", "not a CUBIN");
                eprintln!("compiled vif.cu for sm_90: {} bytes", image.len());
            }
        }
    }
}
