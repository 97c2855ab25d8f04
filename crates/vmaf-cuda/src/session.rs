//! The per-scorer frame session: one upload, one stream and one host wait
//! per frame for every CUDA extractor of a scorer.
//!
//! Without it each extractor would upload the same luma itself, order its
//! work on its own stream and wait on its own event: three uploads and three
//! host waits per frame for the default model (LESSONS.md, lesson 6). A
//! [`FrameSession`] is created by the scorer and handed to every CUDA
//! extractor through [`vmaf_core::CreateArgs::device`]; an extractor
//! created on a bare [`CudaDevice`] makes a private one, so each extractor
//! also works alone.
//!
//! Per frame:
//! 1. The first extractor to submit frame `i` opens it: the planes every
//!    extractor needs (luma, plus chroma when one asks) are packed into a
//!    pinned staging slot and uploaded in one transfer on the *copy*
//!    stream, which records `uploaded`. The *compute* stream waits for that
//!    event on the device, not the host. Frames already in device memory
//!    skip the staging and the upload.
//! 2. Every extractor enqueues its kernels and the copy-back of its
//!    reductions on its own stream (its lane), into its own result slot
//!    `slot` of [`RING`].
//! 3. The frame is closed (the `done` event recorded on the compute stream)
//!    when the next frame opens or when it is first waited for.
//! 4. The first `collect` of frame `i` waits for `done` (the one host wait);
//!    every later `collect` of `i` finds it complete.
//!
//! With [`RING`] = 3 slots and an engine that submits frames `i+1` and
//! `i+2` before collecting frame `i`, uploads overlap kernels, and the host
//! packs the next frame while the device computes the earlier ones. A slot
//! is reused only after its frame was waited for, which also proves that
//! its staging upload has finished.
//!
//! The extractors of a scorer share the session through `Arc<Mutex<_>>`.
//! They run on one thread, so the lock is never contended (a few atomic
//! operations per call); it exists because extractors must be `Send`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use vmaf_core::{Error, Geometry, Picture, PictureData, Pixel, Plane, Result};

use crate::device::{CudaDevice, DeviceBuffer, Event, PinnedBuffer, Stream};
use crate::pack::{PackPool, Rows};
use crate::picture::{CudaPicture, CudaPlane};

/// Frames a session can have in flight: the engine submits two frames
/// ahead of the one it collects (one computing, one uploading, one being
/// waited for).
pub const RING: usize = 3;

/// Which planes the extractors of a session read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Planes {
    /// The reference picture's luma only (motion).
    ReferenceLuma,
    /// Luma of both pictures.
    Luma,
    /// Every plane of both pictures.
    All,
}

/// Where a frame's planes are on the device, for the extractors' kernels.
#[derive(Clone, Copy, Debug)]
pub struct FrameInput {
    /// The ring slot of this frame: index of the extractor's result slot.
    pub slot: usize,
    pub reference: [CudaPlane; 3],
    pub distorted: [CudaPlane; 3],
}

/// Where a plane sits in a packed picture (rows back to back).
#[derive(Clone, Copy, Debug, Default)]
struct Packed {
    offset: usize,
    row_bytes: usize,
    height: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    Free,
    /// Extractors are enqueueing the frame's work.
    Open,
    /// Its `done` event is recorded.
    Closed,
    /// `done` was waited for: the device has finished with the slot.
    Complete,
}

struct Slot {
    /// Allocated when the first extractor asks for host input (see
    /// [`FrameSession::require`]).
    staging: Option<PinnedBuffer>,
    input: Option<DeviceBuffer>,
    uploaded: Event,
    done: Event,
    state: SlotState,
    index: u32,
    /// Where the frame's planes are, from when it was opened: the slot's
    /// input buffers, or device pictures the caller passed.
    planes: FrameInput,
    /// Order in which frames were opened; frames complete in this order.
    seq: u64,
}

struct State {
    device: CudaDevice,
    geometry: Geometry,
    planes: Planes,
    /// Reference planes then distorted planes, each packed tight; planes
    /// not uploaded have `row_bytes` 0.
    packed: [Packed; 6],
    picture_bytes: usize,
    slots: Vec<Slot>,
    /// The slot of the frame being submitted, if one is open.
    open: Option<usize>,
    /// Device pictures to use for frame `.0` in place of the host
    /// pictures its extractors are handed ([`FrameSession::stage_device`]).
    staged: Option<(u32, [CudaPlane; 3], [CudaPlane; 3])>,
    next_seq: u64,
    /// Copies host pictures into staging on several threads.
    pool: PackPool,
    /// One per extractor: its own stream, so the extractors of a frame run
    /// concurrently on the device (each one's frames stay in order on its
    /// stream, so it may reuse its scratch buffers from frame to frame).
    lanes: Vec<Lane>,
    /// `Drop for State` drains every stream before any field goes.
    copy: Stream,
    /// Joins the lanes: `done` is recorded here after it has waited for
    /// every lane's part of the frame.
    compute: Stream,
}

struct Lane {
    stream: Stream,
    /// Per slot: the end of this lane's work on that slot's frame.
    finished: Vec<Event>,
}

/// A scorer's shared frame pipeline on one device. Cheap to clone; every
/// clone is the same session.
#[derive(Clone)]
pub struct FrameSession {
    state: Arc<Mutex<State>>,
    device: CudaDevice,
    geometry: Geometry,
}

impl std::fmt::Debug for FrameSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSession").field("device", &self.device).field("geometry", &self.geometry).finish()
    }
}

impl FrameSession {
    /// A session for pictures of `geometry` on `device`. Its input buffers
    /// are allocated when extractors state what they read
    /// ([`Self::require`]), all before the first frame.
    pub fn new(device: &CudaDevice, geometry: Geometry) -> Result<Self> {
        let ctx = device.ctx();
        // The streams go last in `State`; everything else is built after
        // them, so an early return drops it while no work exists.
        let copy = Stream::new(ctx)?;
        let compute = Stream::new(ctx)?;
        let mut slots = Vec::with_capacity(RING);
        for _ in 0..RING {
            slots.push(Slot {
                staging: None,
                input: None,
                uploaded: Event::new(ctx)?,
                done: Event::new(ctx)?,
                state: SlotState::Free,
                index: 0,
                planes: FrameInput { slot: 0, reference: [CudaPlane::default(); 3], distorted: [CudaPlane::default(); 3] },
                seq: 0,
            });
        }
        let state = State {
            device: device.clone(),
            geometry,
            planes: Planes::ReferenceLuma,
            packed: [Packed::default(); 6],
            picture_bytes: 0,
            slots,
            open: None,
            staged: None,
            next_seq: 0,
            // Half the cores, up to 6: copying saturates memory bandwidth
            // at about that many, and a 1080p frame then takes ~0.1 ms.
            pool: PackPool::new(std::thread::available_parallelism().map_or(1, |n| n.get() / 2).clamp(1, 6)),
            lanes: Vec::new(),
            copy,
            compute,
        };
        Ok(FrameSession { state: Arc::new(Mutex::new(state)), device: device.clone(), geometry })
    }

    /// The session an extractor should use: the scorer's, when `device` is
    /// a [`FrameSession`] for `geometry`, or a private one on a bare
    /// [`CudaDevice`]. `feature` names the extractor in errors.
    pub fn for_extractor(
        device: Option<&(dyn std::any::Any + Send + Sync)>,
        geometry: Geometry,
        feature: &str,
    ) -> Result<FrameSession> {
        if let Some(s) = device.and_then(|d| d.downcast_ref::<FrameSession>()) {
            if s.geometry != geometry {
                return Err(Error::Mismatch(format!(
                    "the CUDA session is for {:?}, {feature} was created for {geometry:?}",
                    s.geometry
                )));
            }
            return Ok(s.clone());
        }
        match device.and_then(|d| d.downcast_ref::<CudaDevice>()) {
            Some(d) => FrameSession::new(d, geometry),
            None => Err(Error::BackendUnavailable {
                backend: "cuda".into(),
                msg: format!("the CUDA {feature} extractor was created without a CUDA device"),
            }),
        }
    }

    pub fn device(&self) -> &CudaDevice {
        &self.device
    }

    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves no broken invariant that a
        // later call could trip on (every step re-checks slot states).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds an extractor that reads `planes` of host pictures: gives it a
    /// lane (a stream of its own, whose id it passes to
    /// [`Self::with_stream`]) and grows the staging and device input
    /// buffers if needed. Call at create only: it allocates.
    pub fn join(&self, planes: Planes) -> Result<usize> {
        let mut st = self.lock();
        if st.slots.iter().any(|s| s.state != SlotState::Free) {
            return Err(Error::Extractor {
                feature: "cuda session".into(),
                msg: "extractors must be created before the first frame is submitted".into(),
            });
        }
        let ctx = st.device.ctx().clone();
        let stream = Stream::new(&ctx)?;
        let finished = (0..RING).map(|_| Event::new(&ctx)).collect::<Result<Vec<_>>>()?;
        st.lanes.push(Lane { stream, finished });
        let lane = st.lanes.len() - 1;
        st.grow(planes)?;
        Ok(lane)
    }
}

impl State {
    fn grow(&mut self, planes: Planes) -> Result<()> {
        let st = self;
        if st.picture_bytes > 0 && planes <= st.planes {
            return Ok(());
        }
        let planes = planes.max(st.planes);
        let g = st.geometry;
        let (sides, n) = match planes {
            Planes::ReferenceLuma => (1, 1),
            Planes::Luma => (2, 1),
            Planes::All => (2, g.plane_count()),
        };
        let bps = g.bytes_per_sample();
        let mut packed = [Packed::default(); 6];
        let mut total = 0usize;
        // Packed tight, so one copy moves exactly the samples (every plane
        // holds whole samples, so 16-bit planes stay 2-byte aligned).
        for side in 0..sides {
            for p in 0..n {
                let (w, h) = g.plane_size(p);
                let row_bytes = w as usize * bps;
                packed[side * 3 + p] = Packed { offset: total, row_bytes, height: h as usize };
                total += row_bytes * h as usize;
            }
        }
        let ctx = st.device.ctx().clone();
        for slot in &mut st.slots {
            // Old buffers (if any) are idle: no frame was ever submitted.
            slot.staging = None;
            slot.input = None;
            slot.staging = Some(PinnedBuffer::new(&ctx, total)?);
            slot.input = Some(DeviceBuffer::new(&ctx, total)?);
        }
        st.planes = planes;
        st.packed = packed;
        st.picture_bytes = total;
        Ok(())
    }
}

impl FrameSession {
    /// Bytes copied to the device per frame from host pictures: the planes
    /// the extractors read, of both pictures, with no padding between rows.
    pub fn upload_bytes_per_frame(&self) -> usize {
        let st = self.lock();
        st.packed.iter().map(|p| p.row_bytes * p.height).sum()
    }

    /// Device memory the session holds for input.
    pub fn device_bytes(&self) -> usize {
        let st = self.lock();
        st.slots.iter().filter_map(|s| s.input.as_ref()).map(|b| b.len()).sum()
    }

    /// The device input of frame `index` from host pictures, uploading it
    /// if this is the first extractor to submit it. `feature` names the
    /// caller in errors.
    pub fn host_frame(&self, reference: &Picture, distorted: &Picture, index: u32) -> Result<FrameInput> {
        let mut st = self.lock();
        st.check_geometry(reference.geometry())?;
        st.check_geometry(distorted.geometry())?;
        if let Some(input) = st.already_open(index) {
            return Ok(input);
        }
        if let Some((staged, r, d)) = st.staged {
            if staged == index {
                st.staged = None;
                let s = st.open_slot(index)?;
                return Ok(st.record_input(FrameInput { slot: s, reference: r, distorted: d }));
            }
        }
        if st.picture_bytes == 0 {
            return Err(Error::Extractor {
                feature: "cuda session".into(),
                msg: "no extractor declared the planes it reads".into(),
            });
        }
        let s = st.open_slot(index)?;
        let r = st.upload(s, reference, distorted);
        if let Err(e) = r {
            st.abandon(s);
            return Err(e);
        }
        let input = st.input_of(s);
        Ok(st.record_input(input))
    }

    /// The device input of frame `index` from pictures already in device
    /// memory (see [`CudaPicture::from_raw`] for what the caller
    /// guarantees): nothing is copied.
    pub fn device_frame(
        &self,
        reference: &CudaPicture<'_>,
        distorted: &CudaPicture<'_>,
        index: u32,
    ) -> Result<FrameInput> {
        let mut st = self.lock();
        st.check_geometry(reference.geometry())?;
        st.check_geometry(distorted.geometry())?;
        if let Some(input) = st.already_open(index) {
            return Ok(input);
        }
        let s = st.open_slot(index)?;
        Ok(st.record_input(FrameInput {
            slot: s,
            reference: std::array::from_fn(|p| reference.plane(p)),
            distorted: std::array::from_fn(|p| distorted.plane(p)),
        }))
    }

    /// Makes frame `index`, when its extractors submit it, read `reference`
    /// and `distorted` in device memory instead of the host pictures they
    /// are handed: how a scorer takes frames already on the GPU through its
    /// ordinary engine. The caller guarantees what
    /// [`CudaPicture::from_raw`] asks, until frame `index` is collected.
    pub fn stage_device(&self, reference: &CudaPicture<'_>, distorted: &CudaPicture<'_>, index: u32) -> Result<()> {
        let mut st = self.lock();
        st.check_geometry(reference.geometry())?;
        st.check_geometry(distorted.geometry())?;
        st.staged =
            Some((index, std::array::from_fn(|p| reference.plane(p)), std::array::from_fn(|p| distorted.plane(p))));
        Ok(())
    }

    /// Forgets a staged device frame; true when it was still staged (no
    /// extractor submitted it).
    pub fn unstage(&self) -> bool {
        self.lock().staged.take().is_some()
    }

    /// Runs `f` with the stream of `lane` (from [`Self::join`]), on which
    /// an extractor enqueues its work for the open frame.
    pub(crate) fn with_stream<R>(&self, lane: usize, f: impl FnOnce(&Stream) -> Result<R>) -> Result<R> {
        let st = self.lock();
        st.compute.ctx().bind()?;
        let lane = st
            .lanes
            .get(lane)
            .ok_or_else(|| Error::Extractor { feature: "cuda session".into(), msg: format!("no lane {lane}") })?;
        f(&lane.stream)
    }

    /// Waits, at most once per frame for all extractors, until frame
    /// `index` (submitted in `slot`) has finished on the device.
    pub fn wait(&self, slot: usize, index: u32) -> Result<()> {
        let mut st = self.lock();
        let sl = &st.slots[slot];
        if sl.index != index || sl.state == SlotState::Free {
            return Err(Error::Extractor {
                feature: "cuda session".into(),
                msg: format!("frame {index} was collected but is not in flight"),
            });
        }
        match sl.state {
            SlotState::Complete => return Ok(()),
            SlotState::Open => st.close(slot)?,
            _ => {}
        }
        st.compute.ctx().bind()?;
        let r = st.slots[slot].done.wait();
        if let Err(e) = r {
            st.drain();
            return Err(e);
        }
        // Frames complete in the order they were opened.
        let seq = st.slots[slot].seq;
        for sl in &mut st.slots {
            if sl.state == SlotState::Closed && sl.seq <= seq {
                sl.state = SlotState::Complete;
            }
        }
        Ok(())
    }

    /// After an extractor failed to enqueue: waits out everything enqueued
    /// so far, so no buffer is rewritten while the device may read it.
    pub fn drain(&self) {
        self.lock().drain();
    }
}

impl State {
    fn check_geometry(&self, g: &Geometry) -> Result<()> {
        if *g != self.geometry {
            return Err(Error::Mismatch(format!(
                "picture is {g:?}, the CUDA session was created for {:?}",
                self.geometry
            )));
        }
        Ok(())
    }

    /// Keeps where the open frame's planes are, for the extractors that
    /// submit it after the first.
    fn record_input(&mut self, input: FrameInput) -> FrameInput {
        self.slots[input.slot].planes = input;
        input
    }

    fn already_open(&self, index: u32) -> Option<FrameInput> {
        let s = self.open?;
        (self.slots[s].index == index).then(|| self.slots[s].planes)
    }

    fn input_of(&self, s: usize) -> FrameInput {
        let base = self.slots[s].input.as_ref().map_or(0, |b| b.ptr());
        let plane = |i: usize| {
            let p = self.packed[i];
            if p.row_bytes == 0 {
                CudaPlane::default()
            } else {
                CudaPlane { ptr: base + p.offset as u64, pitch: p.row_bytes }
            }
        };
        FrameInput { slot: s, reference: std::array::from_fn(plane), distorted: std::array::from_fn(|p| plane(3 + p)) }
    }

    /// Closes the open frame, if any, and claims the next slot for frame
    /// `index`. The slot must have completed: a frame submitted `RING`
    /// frames ago that no extractor has waited for is an error.
    fn open_slot(&mut self, index: u32) -> Result<usize> {
        if let Some(o) = self.open {
            self.close(o)?;
        }
        let s = (self.next_seq % RING as u64) as usize;
        match self.slots[s].state {
            SlotState::Free | SlotState::Complete => {}
            _ => {
                return Err(Error::Extractor {
                    feature: "cuda session".into(),
                    msg: format!(
                        "frame {} was not collected before {RING} more frames were submitted",
                        self.slots[s].index
                    ),
                })
            }
        }
        let sl = &mut self.slots[s];
        sl.state = SlotState::Open;
        sl.index = index;
        sl.seq = self.next_seq;
        self.next_seq += 1;
        self.open = Some(s);
        Ok(s)
    }

    fn close(&mut self, s: usize) -> Result<()> {
        self.compute.ctx().bind()?;
        self.open = None;
        let mut r = Ok(());
        for lane in &self.lanes {
            r = lane.finished[s].record(&lane.stream).and_then(|()| self.compute.wait_event(&lane.finished[s]));
            if r.is_err() {
                break;
            }
        }
        let r = r.and_then(|()| self.slots[s].done.record(&self.compute));
        if r.is_err() {
            // Without its event the frame cannot be waited for, but after
            // draining every stream its work has run: the frame is complete
            // (its extractors' results are whatever their own enqueues
            // made), and the error goes to the caller that closed it.
            self.slots[s].state = SlotState::Closed;
            self.drain();
            return r;
        }
        self.slots[s].state = SlotState::Closed;
        Ok(())
    }

    /// Drops a slot opened for a frame whose upload failed.
    fn abandon(&mut self, s: usize) {
        self.drain();
        self.slots[s].state = SlotState::Free;
        if self.open == Some(s) {
            self.open = None;
        }
    }

    /// Packs both pictures into slot `s`'s staging and enqueues the upload;
    /// the compute stream waits for it on the device.
    fn upload(&mut self, s: usize, reference: &Picture, distorted: &Picture) -> Result<()> {
        let packed = self.packed;
        let bytes = self.picture_bytes;
        let slot = &mut self.slots[s];
        let (Some(staging), Some(input)) = (slot.staging.as_mut(), slot.input.as_ref()) else {
            return Err(Error::Extractor { feature: "cuda session".into(), msg: "input buffers missing".into() });
        };
        {
            let out = staging.as_mut_slice();
            let (r, d) = (rows_of(reference, &packed[..3], out), rows_of(distorted, &packed[3..], out));
            let parts: [Rows; 6] = std::array::from_fn(|i| if i < 3 { r[i] } else { d[i - 3] });
            // SAFETY: `rows_of` checked every rectangle against the plane
            // and the staging slot, which stay borrowed until `run`
            // returns; the layout's planes are disjoint.
            unsafe { self.pool.run(&parts) };
        }
        self.copy.ctx().bind()?;
        self.copy.copy_htod(input, 0, staging, 0, bytes)?;
        slot.uploaded.record(&self.copy)?;
        for lane in &self.lanes {
            lane.stream.wait_event(&slot.uploaded)?;
        }
        Ok(())
    }

    fn drain(&mut self) {
        self.copy.drain();
        for lane in &self.lanes {
            lane.stream.drain();
        }
        self.compute.drain();
        for sl in &mut self.slots {
            if sl.state == SlotState::Closed {
                sl.state = SlotState::Complete;
            }
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // Before any buffer goes: an upload or kernel may still read them.
        self.copy.drain();
        for lane in &self.lanes {
            lane.stream.drain();
        }
        self.compute.drain();
    }
}

/// The rectangles that copy the planes of `layout` from `pic` into `out`
/// (rows back to back at each plane's offset), bounds-checked here.
fn rows_of(pic: &Picture, layout: &[Packed], out: &mut [u8]) -> [Rows; 3] {
    fn planes<T: Pixel>(planes: &[Plane<T>; 3], layout: &[Packed], out: &mut [u8]) -> [Rows; 3] {
        std::array::from_fn(|p| {
            let pp = layout.get(p).copied().unwrap_or_default();
            let plane = &planes[p];
            let bps = std::mem::size_of::<T>();
            if pp.row_bytes == 0 || pp.height == 0 {
                return Rows::EMPTY;
            }
            // The layout was made from the same geometry as the picture;
            // a mismatch would be a bug, caught before any raw copy.
            assert!(plane.width() * bps == pp.row_bytes && plane.height() == pp.height, "plane {p} layout mismatch");
            assert!(pp.offset + pp.row_bytes * pp.height <= out.len(), "staging too small");
            let data = crate::features::psnr::as_bytes(plane.data());
            let pitch = plane.stride() * bps;
            assert!((pp.height - 1) * pitch + pp.row_bytes <= data.len(), "plane {p} shorter than its rows");
            Rows {
                src: data.as_ptr(),
                src_pitch: pitch,
                // SAFETY: in bounds, checked above.
                dst: unsafe { out.as_mut_ptr().add(pp.offset) },
                row_bytes: pp.row_bytes,
                rows: pp.height,
            }
        })
    }
    match pic.data() {
        PictureData::U8(p) => planes(p, layout, out),
        PictureData::U16(p) => planes(p, layout, out),
    }
}

/// Copies the planes of `layout` from `pic` into `out`, rows back to back,
/// on the calling thread.
#[cfg(test)]
fn pack(pic: &Picture, layout: &[Packed], out: &mut [u8]) {
    let parts = rows_of(pic, layout, out);
    // SAFETY: as in `State::upload`.
    unsafe { PackPool::new(1).run(&parts) };
}

/// The luma plane of `pic` into `out`, rows of `row_bytes` back to back
/// (for host emulations of the kernels).
#[cfg(test)]
pub(crate) fn pack_luma(pic: &Picture, row_bytes: usize, out: &mut [u8]) {
    let height = out.len() / row_bytes;
    pack(pic, &[Packed { offset: 0, row_bytes, height }], out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::ChromaSampling;

    #[test]
    fn packing_keeps_the_planes_in_use_rows_back_to_back() {
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
            Packed { offset: 0, row_bytes: 10, height: 3 },
            Packed { offset: 32, row_bytes: 6, height: 2 },
            Packed::default(),
        ];
        let mut out = vec![0xffu8; 44];
        pack(&pic, &layout, &mut out);
        let words: Vec<u16> = out.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        // Planes not in the layout are skipped; bytes between planes stay.
        let expect: Vec<u16> = (0..15).chain([0xffff]).chain(1000..1006).collect();
        assert_eq!(words, expect);
    }

    #[test]
    fn creating_without_a_device_is_an_error() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs420, 8).unwrap();
        let e = FrameSession::for_extractor(None, g, "vif").unwrap_err();
        assert!(matches!(e, Error::BackendUnavailable { .. }), "{e}");
        let not_a_device = 5u32;
        assert!(FrameSession::for_extractor(Some(&not_a_device), g, "vif").is_err());
    }
}
