//! A CUDA device and every resource taken on it, owned in types.
//!
//! [`CudaDevice`] is a cheap, reference-counted handle on one GPU's primary
//! context. Scorers share it: [`CudaDevice::new`] returns the live handle
//! for an ordinal when there is one, so all scorers of a process on one GPU
//! use one context and one copy of each kernel module. The context is
//! released when the last handle and the last resource taken on it drop.
//!
//! Each resource type here ([`DeviceBuffer`], [`PinnedBuffer`], [`Stream`],
//! [`Event`], and the modules behind [`Kernel`]) holds an `Arc` of the
//! context and releases itself in `Drop`; there is no other free path, so
//! a half-built object releases exactly what it took when its constructor
//! returns early (LESSONS.md, lessons 1 and 2). Module loading happens once
//! per context, compilation once per process (see [`crate::nvrtc`]).
//!
//! Every resource and every transfer is counted per device ([`Counters`]):
//! allocations, bytes each way, host waits and launches are what the
//! device tests assert per frame (lessons 4 to 6), and the live counts
//! prove that an error path released everything.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use cudarc::driver::sys;
use vmaf_core::{Error, Result};

use crate::fault::check;
use crate::kernels::KernelSource;
use crate::loader;

/// Per-device counters, updated with relaxed atomics (they are statistics,
/// read after the work they count has been waited for).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    device_allocs: AtomicU64,
    device_frees: AtomicU64,
    pinned_allocs: AtomicU64,
    pinned_frees: AtomicU64,
    streams_created: AtomicU64,
    streams_destroyed: AtomicU64,
    events_created: AtomicU64,
    events_destroyed: AtomicU64,
    modules_loaded: AtomicU64,
    modules_unloaded: AtomicU64,
    htod_bytes: AtomicU64,
    dtoh_bytes: AtomicU64,
    host_waits: AtomicU64,
    host_wait_ns: AtomicU64,
    launches: AtomicU64,
    memsets: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Runs a blocking wait, counting it and the time it blocked (two clock
/// reads: no allocation, no extra sync).
fn counted_wait(c: &Counters, wait: impl FnOnce() -> Result<()>) -> Result<()> {
    bump(&c.host_waits, 1);
    let t = std::time::Instant::now();
    let r = wait();
    bump(&c.host_wait_ns, u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
    r
}

/// A copy of a device's counters at one moment; subtract two to get what
/// happened in between.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub device_allocs: u64,
    pub device_frees: u64,
    pub pinned_allocs: u64,
    pub pinned_frees: u64,
    pub streams_created: u64,
    pub streams_destroyed: u64,
    pub events_created: u64,
    pub events_destroyed: u64,
    pub modules_loaded: u64,
    pub modules_unloaded: u64,
    /// Bytes copied host to device.
    pub htod_bytes: u64,
    /// Bytes copied device to host.
    pub dtoh_bytes: u64,
    /// Times the host blocked on the device (event or stream waits).
    pub host_waits: u64,
    /// Nanoseconds the host spent blocked in those waits: against the wall
    /// time of a run, how far the host side keeps ahead of the device (near
    /// 0: the host is the bottleneck).
    pub host_wait_ns: u64,
    pub launches: u64,
    pub memsets: u64,
}

impl CounterSnapshot {
    /// Resources taken by scorers and not yet released: device and pinned
    /// buffers, streams and events. Modules belong to the device and are
    /// not counted here.
    pub fn outstanding(&self) -> u64 {
        (self.device_allocs.saturating_sub(self.device_frees))
            + (self.pinned_allocs.saturating_sub(self.pinned_frees))
            + (self.streams_created.saturating_sub(self.streams_destroyed))
            + (self.events_created.saturating_sub(self.events_destroyed))
    }

    /// `self - earlier`, field by field (saturating: counters from other
    /// threads may be mid-update).
    pub fn since(&self, earlier: &CounterSnapshot) -> CounterSnapshot {
        CounterSnapshot {
            device_allocs: self.device_allocs.saturating_sub(earlier.device_allocs),
            device_frees: self.device_frees.saturating_sub(earlier.device_frees),
            pinned_allocs: self.pinned_allocs.saturating_sub(earlier.pinned_allocs),
            pinned_frees: self.pinned_frees.saturating_sub(earlier.pinned_frees),
            streams_created: self.streams_created.saturating_sub(earlier.streams_created),
            streams_destroyed: self.streams_destroyed.saturating_sub(earlier.streams_destroyed),
            events_created: self.events_created.saturating_sub(earlier.events_created),
            events_destroyed: self.events_destroyed.saturating_sub(earlier.events_destroyed),
            modules_loaded: self.modules_loaded.saturating_sub(earlier.modules_loaded),
            modules_unloaded: self.modules_unloaded.saturating_sub(earlier.modules_unloaded),
            htod_bytes: self.htod_bytes.saturating_sub(earlier.htod_bytes),
            dtoh_bytes: self.dtoh_bytes.saturating_sub(earlier.dtoh_bytes),
            host_waits: self.host_waits.saturating_sub(earlier.host_waits),
            host_wait_ns: self.host_wait_ns.saturating_sub(earlier.host_wait_ns),
            launches: self.launches.saturating_sub(earlier.launches),
            memsets: self.memsets.saturating_sub(earlier.memsets),
        }
    }
}

impl Counters {
    fn snapshot(&self) -> CounterSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterSnapshot {
            device_allocs: g(&self.device_allocs),
            device_frees: g(&self.device_frees),
            pinned_allocs: g(&self.pinned_allocs),
            pinned_frees: g(&self.pinned_frees),
            streams_created: g(&self.streams_created),
            streams_destroyed: g(&self.streams_destroyed),
            events_created: g(&self.events_created),
            events_destroyed: g(&self.events_destroyed),
            modules_loaded: g(&self.modules_loaded),
            modules_unloaded: g(&self.modules_unloaded),
            htod_bytes: g(&self.htod_bytes),
            dtoh_bytes: g(&self.dtoh_bytes),
            host_waits: g(&self.host_waits),
            host_wait_ns: g(&self.host_wait_ns),
            launches: g(&self.launches),
            memsets: g(&self.memsets),
        }
    }
}

/// One retained primary context. Every resource holds an `Arc` of it, so
/// it is released only after everything created in it.
pub(crate) struct Ctx {
    ordinal: usize,
    cu_device: sys::CUdevice,
    cu_ctx: sys::CUcontext,
    pub(crate) counters: Counters,
}

// SAFETY: a CUDA context handle may be used from any thread once made
// current there (which `bind` does); the driver synchronises internally.
unsafe impl Send for Ctx {}
unsafe impl Sync for Ctx {}

impl Ctx {
    /// Makes this context current on the calling thread (a no-op when it
    /// already is). Called at the start of every operation, since scorers
    /// may move between threads.
    pub(crate) fn bind(&self) -> Result<()> {
        let mut cur: sys::CUcontext = std::ptr::null_mut();
        // SAFETY: valid out-pointer.
        check("cuCtxGetCurrent", || unsafe { sys::cuCtxGetCurrent(&mut cur) })?;
        if cur != self.cu_ctx {
            // SAFETY: the context is retained for as long as `self` lives.
            check("cuCtxSetCurrent", || unsafe { sys::cuCtxSetCurrent(self.cu_ctx) })?;
        }
        Ok(())
    }

    /// `bind` for `Drop`, where an error cannot be reported: the release
    /// calls that follow need the context, and fail harmlessly without it.
    fn bind_for_drop(&self) {
        // SAFETY: as in `bind`.
        unsafe {
            let mut cur: sys::CUcontext = std::ptr::null_mut();
            if sys::cuCtxGetCurrent(&mut cur) != sys::CUresult::CUDA_SUCCESS || cur != self.cu_ctx {
                let _ = sys::cuCtxSetCurrent(self.cu_ctx);
            }
        }
    }

    fn attribute(&self, a: sys::CUdevice_attribute) -> Result<i32> {
        let mut v = 0;
        // SAFETY: valid out-pointer and device.
        check("cuDeviceGetAttribute", || unsafe { sys::cuDeviceGetAttribute(&mut v, a, self.cu_device) })?;
        Ok(v)
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: retained in `Ctx::open`; released exactly once here.
        unsafe {
            let _ = sys::cuDevicePrimaryCtxRelease_v2(self.cu_device);
        }
    }
}

fn open_ctx(ordinal: usize) -> Result<Arc<Ctx>> {
    let mut count = 0;
    // SAFETY: valid out-pointer; the driver is initialised by `loader`.
    check("cuDeviceGetCount", || unsafe { sys::cuDeviceGetCount(&mut count) })?;
    if ordinal >= count.max(0) as usize {
        return Err(Error::BackendUnavailable {
            backend: format!("cuda (device {ordinal})"),
            msg: format!("no CUDA device {ordinal}: this machine has {count}"),
        });
    }
    let mut cu_device: sys::CUdevice = 0;
    // SAFETY: ordinal checked against the count above.
    check("cuDeviceGet", || unsafe { sys::cuDeviceGet(&mut cu_device, ordinal as i32) })?;
    let mut cu_ctx: sys::CUcontext = std::ptr::null_mut();
    // SAFETY: valid device; the retain is owned by `Ctx` from the next
    // statement on, so every later failure releases it in `Drop`.
    check("cuDevicePrimaryCtxRetain", || unsafe { sys::cuDevicePrimaryCtxRetain(&mut cu_ctx, cu_device) })?;
    let ctx = Arc::new(Ctx { ordinal, cu_device, cu_ctx, counters: Counters::default() });
    ctx.bind()?;
    Ok(ctx)
}

/// A loaded module; unloaded when the last [`Kernel`] from it and the
/// device's cache drop.
pub(crate) struct Module {
    module: sys::CUmodule,
    ctx: Arc<Ctx>,
}

// SAFETY: module handles are usable from any thread with the context bound.
unsafe impl Send for Module {}
unsafe impl Sync for Module {}

impl Drop for Module {
    fn drop(&mut self) {
        self.ctx.bind_for_drop();
        // SAFETY: loaded in `DeviceInner::module`, unloaded once here.
        unsafe {
            let _ = sys::cuModuleUnload(self.module);
        }
        bump(&self.ctx.counters.modules_unloaded, 1);
    }
}

/// A kernel entry point; keeps its module loaded.
#[derive(Clone)]
pub(crate) struct Kernel {
    function: sys::CUfunction,
    _module: Arc<Module>,
}

// SAFETY: as for `Module`.
unsafe impl Send for Kernel {}
unsafe impl Sync for Kernel {}

struct DeviceInner {
    /// Declared before `ctx`: modules unload before the context's last
    /// reference from here goes.
    modules: Mutex<HashMap<&'static str, Arc<Module>>>,
    ctx: Arc<Ctx>,
    name: String,
    compute_capability: (i32, i32),
}

/// A shared handle on one CUDA device (its primary context). Cloning is
/// cheap; the context, and the kernel modules loaded in it, are released
/// when the last clone and the last scorer using it drop.
#[derive(Clone)]
pub struct CudaDevice {
    inner: Arc<DeviceInner>,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaDevice")
            .field("ordinal", &self.inner.ctx.ordinal)
            .field("name", &self.inner.name)
            .field("compute_capability", &self.inner.compute_capability)
            .finish()
    }
}

/// Live devices of this process, by ordinal, so that scorers on one GPU
/// share one context.
static DEVICES: Mutex<Vec<(usize, Weak<DeviceInner>)>> = Mutex::new(Vec::new());

impl CudaDevice {
    /// The device with CUDA ordinal `ordinal`: the live handle if this
    /// process has one, else a new one. Without an NVIDIA driver (or
    /// without that device) this is [`Error::BackendUnavailable`].
    pub fn new(ordinal: usize) -> Result<CudaDevice> {
        let name_backend = |e: Error| match e {
            Error::BackendUnavailable { msg, .. } => {
                Error::BackendUnavailable { backend: format!("cuda (device {ordinal})"), msg }
            }
            e => e,
        };
        loader::driver().map_err(name_backend)?;
        let mut reg = DEVICES.lock().unwrap_or_else(PoisonError::into_inner);
        reg.retain(|(_, w)| w.strong_count() > 0);
        if let Some(inner) = reg.iter().filter(|(o, _)| *o == ordinal).find_map(|(_, w)| w.upgrade()) {
            return Ok(CudaDevice { inner });
        }
        let inner = loader::guarded("CUDA device setup", || DeviceInner::open(ordinal)).map_err(name_backend)?;
        let inner = Arc::new(inner);
        reg.push((ordinal, Arc::downgrade(&inner)));
        Ok(CudaDevice { inner })
    }

    pub fn ordinal(&self) -> usize {
        self.inner.ctx.ordinal
    }

    /// The device's name as the driver reports it.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// (major, minor): (9, 0) for an H100.
    pub fn compute_capability(&self) -> (i32, i32) {
        self.inner.compute_capability
    }

    /// The counters of everything done on this device so far, by every
    /// scorer sharing it.
    pub fn counters(&self) -> CounterSnapshot {
        self.inner.ctx.counters.snapshot()
    }

    /// (free, total) device memory in bytes (`cuMemGetInfo`): the measure
    /// of leaks that allocation counters cannot see, such as module code.
    pub fn memory_info(&self) -> Result<(usize, usize)> {
        self.inner.ctx.bind()?;
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: valid out-pointers; context bound.
        check("cuMemGetInfo", || unsafe { sys::cuMemGetInfo_v2(&mut free, &mut total) })?;
        Ok((free, total))
    }

    /// Whether two handles share one context.
    pub fn same_as(&self, other: &CudaDevice) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn ctx(&self) -> &Arc<Ctx> {
        &self.inner.ctx
    }

    /// Entry point `function` of `source`, compiling the source on first
    /// use in the process and loading it on first use in this context.
    pub(crate) fn kernel(&self, source: &'static KernelSource, function: &str) -> Result<Kernel> {
        let module = self.inner.module(source)?;
        let name = std::ffi::CString::new(function)
            .map_err(|_| crate::fault::device_error(format!("bad kernel name {function:?}")))?;
        let mut f: sys::CUfunction = std::ptr::null_mut();
        // SAFETY: module loaded in this context, NUL-terminated name.
        check("cuModuleGetFunction", || unsafe { sys::cuModuleGetFunction(&mut f, module.module, name.as_ptr()) })?;
        Ok(Kernel { function: f, _module: module })
    }

    /// Kernel modules this device has loaded (for tests of the cache).
    pub fn loaded_modules(&self) -> usize {
        self.inner.modules.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl DeviceInner {
    fn open(ordinal: usize) -> Result<DeviceInner> {
        let ctx = open_ctx(ordinal)?;
        let mut buf = [0 as std::ffi::c_char; 256];
        // SAFETY: buffer and length agree; the driver NUL-terminates.
        check("cuDeviceGetName", || unsafe {
            sys::cuDeviceGetName(buf.as_mut_ptr(), buf.len() as i32, ctx.cu_device)
        })?;
        // SAFETY: NUL-terminated by the driver within the buffer.
        let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
        let major = ctx.attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
        let minor = ctx.attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
        Ok(DeviceInner { modules: Mutex::new(HashMap::new()), ctx, name, compute_capability: (major, minor) })
    }

    fn module(&self, source: &'static KernelSource) -> Result<Arc<Module>> {
        // Held while loading, so two scorers starting together load once.
        let mut modules = self.modules.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = modules.get(source.name) {
            return Ok(m.clone());
        }
        self.ctx.bind()?;
        let cc = self.compute_capability;
        let load = |image: &[u8], refused: &mut bool| -> Result<sys::CUmodule> {
            let mut module: sys::CUmodule = std::ptr::null_mut();
            // SAFETY: `image` is a CUBIN or NUL-terminated PTX image from
            // NVRTC (or its disk cache, checked for shape when read).
            check("cuModuleLoadData", || {
                let r = unsafe { sys::cuModuleLoadData(&mut module, image.as_ptr() as *const c_void) };
                use sys::CUresult::*;
                *refused = matches!(
                    r,
                    CUDA_ERROR_INVALID_IMAGE
                        | CUDA_ERROR_INVALID_PTX
                        | CUDA_ERROR_NO_BINARY_FOR_GPU
                        | CUDA_ERROR_UNSUPPORTED_PTX_VERSION
                );
                r
            })?;
            Ok(module)
        };
        let image = crate::nvrtc::image(source, cc)?;
        let mut refused = false;
        let module = match load(&image.bytes, &mut refused) {
            // A cached image the driver will not take: compile afresh.
            Err(_) if refused && image.from_disk => {
                crate::nvrtc::discard(source, cc);
                let image = crate::nvrtc::image(source, cc)?;
                load(&image.bytes, &mut refused)?
            }
            r => r?,
        };
        bump(&self.ctx.counters.modules_loaded, 1);
        let m = Arc::new(Module { module, ctx: self.ctx.clone() });
        modules.insert(source.name, m.clone());
        Ok(m)
    }
}

/// Device memory, allocated once at create and freed in `Drop`.
pub(crate) struct DeviceBuffer {
    ptr: sys::CUdeviceptr,
    bytes: usize,
    ctx: Arc<Ctx>,
}

impl DeviceBuffer {
    pub(crate) fn new(ctx: &Arc<Ctx>, bytes: usize) -> Result<Self> {
        ctx.bind()?;
        let mut ptr: sys::CUdeviceptr = 0;
        // Zero-byte allocations are an error in CUDA; one byte keeps the
        // code free of special cases.
        let n = bytes.max(1);
        // SAFETY: valid out-pointer, context bound.
        check("cuMemAlloc", || unsafe { sys::cuMemAlloc_v2(&mut ptr, n) })?;
        bump(&ctx.counters.device_allocs, 1);
        Ok(DeviceBuffer { ptr, bytes, ctx: ctx.clone() })
    }
    pub(crate) fn ptr(&self) -> sys::CUdeviceptr {
        self.ptr
    }
    pub(crate) fn len(&self) -> usize {
        self.bytes
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        self.ctx.bind_for_drop();
        // SAFETY: allocated in `new`, freed once. cuMemFree waits for work
        // using the buffer, so no stream ordering can outlive it.
        unsafe {
            let _ = sys::cuMemFree_v2(self.ptr);
        }
        bump(&self.ctx.counters.device_frees, 1);
    }
}

/// Page-locked host memory, the source and target of every transfer.
pub(crate) struct PinnedBuffer {
    ptr: *mut u8,
    bytes: usize,
    ctx: Arc<Ctx>,
}

// SAFETY: plain memory owned by this value; access goes through &/&mut.
unsafe impl Send for PinnedBuffer {}
unsafe impl Sync for PinnedBuffer {}

impl PinnedBuffer {
    pub(crate) fn new(ctx: &Arc<Ctx>, bytes: usize) -> Result<Self> {
        ctx.bind()?;
        let mut p: *mut c_void = std::ptr::null_mut();
        let n = bytes.max(1);
        // SAFETY: valid out-pointer, context bound.
        check("cuMemHostAlloc", || unsafe { sys::cuMemHostAlloc(&mut p, n, 0) })?;
        bump(&ctx.counters.pinned_allocs, 1);
        let b = PinnedBuffer { ptr: p as *mut u8, bytes, ctx: ctx.clone() };
        Ok(b)
    }
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `bytes` bytes allocated in `new`, owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.bytes) }
    }
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.bytes) }
    }
}

impl Drop for PinnedBuffer {
    fn drop(&mut self) {
        self.ctx.bind_for_drop();
        // SAFETY: allocated in `new`, freed once; owners synchronise their
        // stream before dropping buffers a copy may still read.
        unsafe {
            let _ = sys::cuMemFreeHost(self.ptr as *mut c_void);
        }
        bump(&self.ctx.counters.pinned_frees, 1);
    }
}

/// Kernel parameters: pointers to each argument's value, in order.
pub(crate) type KernelParams<'a> = &'a mut [*mut c_void];

/// A non-blocking stream. `Drop` waits for its work, then destroys it.
pub(crate) struct Stream {
    stream: sys::CUstream,
    ctx: Arc<Ctx>,
}

// SAFETY: stream handles are usable from any thread with the context bound.
unsafe impl Send for Stream {}
unsafe impl Sync for Stream {}

impl Stream {
    pub(crate) fn new(ctx: &Arc<Ctx>) -> Result<Self> {
        ctx.bind()?;
        let mut s: sys::CUstream = std::ptr::null_mut();
        let flags = sys::CUstream_flags::CU_STREAM_NON_BLOCKING as u32;
        // SAFETY: valid out-pointer, context bound.
        check("cuStreamCreate", || unsafe { sys::cuStreamCreate(&mut s, flags) })?;
        bump(&ctx.counters.streams_created, 1);
        Ok(Stream { stream: s, ctx: ctx.clone() })
    }

    pub(crate) fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// Enqueues `bytes` bytes from `src[src_off..]` to `dst` at `dst_off`.
    /// `src` must not be written until the copy has completed (an event
    /// recorded after it has been waited for).
    pub(crate) fn copy_htod(
        &self,
        dst: &DeviceBuffer,
        dst_off: usize,
        src: &PinnedBuffer,
        src_off: usize,
        bytes: usize,
    ) -> Result<()> {
        if dst_off + bytes > dst.len() || src_off + bytes > src.bytes {
            return Err(crate::fault::device_error(format!(
                "host-to-device copy of {bytes} bytes out of bounds (device {dst_off}+/{}, host {src_off}+/{})",
                dst.len(),
                src.bytes
            )));
        }
        // SAFETY: ranges checked above; both buffers outlive the copy
        // because their owner synchronises the stream before freeing them.
        check("cuMemcpyHtoDAsync", || unsafe {
            sys::cuMemcpyHtoDAsync_v2(
                dst.ptr + dst_off as u64,
                src.ptr.add(src_off) as *const c_void,
                bytes,
                self.stream,
            )
        })?;
        bump(&self.ctx.counters.htod_bytes, bytes as u64);
        Ok(())
    }

    /// Enqueues a copy of `bytes` bytes from `src` at `src_off` to
    /// `dst[dst_off..]`; read `dst` only after waiting for an event
    /// recorded after this.
    pub(crate) fn copy_dtoh(
        &self,
        dst: &mut PinnedBuffer,
        dst_off: usize,
        src: &DeviceBuffer,
        src_off: usize,
        bytes: usize,
    ) -> Result<()> {
        if src_off + bytes > src.len() || dst_off + bytes > dst.bytes {
            return Err(crate::fault::device_error(format!(
                "device-to-host copy of {bytes} bytes out of bounds (device {src_off}+/{}, host {dst_off}+/{})",
                src.len(),
                dst.bytes
            )));
        }
        // SAFETY: as in `copy_htod`.
        check("cuMemcpyDtoHAsync", || unsafe {
            sys::cuMemcpyDtoHAsync_v2(dst.ptr.add(dst_off) as *mut c_void, src.ptr + src_off as u64, bytes, self.stream)
        })?;
        bump(&self.ctx.counters.dtoh_bytes, bytes as u64);
        Ok(())
    }

    /// Enqueues zeroing of `bytes` bytes of `dst` at `off`.
    pub(crate) fn zero(&self, dst: &DeviceBuffer, off: usize, bytes: usize) -> Result<()> {
        if off + bytes > dst.len() {
            return Err(crate::fault::device_error(format!("memset of {bytes} bytes at {off} out of bounds")));
        }
        // SAFETY: range checked above.
        check("cuMemsetD8Async", || unsafe { sys::cuMemsetD8Async(dst.ptr + off as u64, 0, bytes, self.stream) })?;
        bump(&self.ctx.counters.memsets, 1);
        Ok(())
    }

    /// Enqueues `kernel` on a `grid` of `block`-sized blocks.
    ///
    /// # Safety
    /// `params` must match the kernel's signature, and every device
    /// pointer in them must stay valid until the launch has completed.
    pub(crate) unsafe fn launch(
        &self,
        kernel: &Kernel,
        grid: (u32, u32, u32),
        block: (u32, u32, u32),
        params: KernelParams<'_>,
    ) -> Result<()> {
        check("cuLaunchKernel", || {
            sys::cuLaunchKernel(
                kernel.function,
                grid.0,
                grid.1,
                grid.2,
                block.0,
                block.1,
                block.2,
                0,
                self.stream,
                params.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        })?;
        bump(&self.ctx.counters.launches, 1);
        Ok(())
    }

    /// Enqueues a copy of `height` rows of `row_bytes` bytes from host
    /// memory (rows `src_pitch` apart) to device memory at `dst` (rows
    /// `dst_pitch` apart). From pageable memory the driver may return
    /// before the data has reached the device: wait for the stream before
    /// using the destination on another stream or changing `src`.
    pub(crate) fn copy_2d_htod(
        &self,
        dst: sys::CUdeviceptr,
        dst_pitch: usize,
        src: &[u8],
        src_pitch: usize,
        row_bytes: usize,
        height: usize,
    ) -> Result<()> {
        if height == 0 || row_bytes == 0 {
            return Ok(());
        }
        if src.len() < (height - 1) * src_pitch + row_bytes || row_bytes > dst_pitch || row_bytes > src_pitch {
            return Err(crate::fault::device_error("2D upload out of bounds".into()));
        }
        let copy = sys::CUDA_MEMCPY2D {
            srcXInBytes: 0,
            srcY: 0,
            srcMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_HOST,
            srcHost: src.as_ptr() as *const c_void,
            srcDevice: 0,
            srcArray: std::ptr::null_mut(),
            srcPitch: src_pitch,
            dstXInBytes: 0,
            dstY: 0,
            dstMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_DEVICE,
            dstHost: std::ptr::null_mut(),
            dstDevice: dst,
            dstArray: std::ptr::null_mut(),
            dstPitch: dst_pitch,
            WidthInBytes: row_bytes,
            Height: height,
        };
        // SAFETY: the host side is bounds-checked above; the device side is
        // the caller's buffer, sized by the same geometry.
        check("cuMemcpy2DAsync", || unsafe { sys::cuMemcpy2DAsync_v2(&copy, self.stream) })?;
        bump(&self.ctx.counters.htod_bytes, (row_bytes * height) as u64);
        Ok(())
    }

    /// Makes work enqueued on this stream after this call wait until
    /// `event` (recorded on another stream) has completed; the host does
    /// not block.
    pub(crate) fn wait_event(&self, event: &Event) -> Result<()> {
        // SAFETY: both live, same context.
        check("cuStreamWaitEvent", || unsafe { sys::cuStreamWaitEvent(self.stream, event.event, 0) })
    }

    /// Blocks until everything enqueued has run (one counted host wait).
    pub(crate) fn wait_idle(&self) -> Result<()> {
        let counters = &self.ctx.counters;
        // SAFETY: live stream.
        counted_wait(counters, || check("cuStreamSynchronize", || unsafe { sys::cuStreamSynchronize(self.stream) }))
    }

    /// Waits for everything enqueued, for error and drop paths: no error
    /// to report, no fault injection, not counted as a per-frame wait.
    pub(crate) fn drain(&self) {
        self.ctx.bind_for_drop();
        // SAFETY: live stream.
        unsafe {
            let _ = sys::cuStreamSynchronize(self.stream);
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.ctx.bind_for_drop();
        // SAFETY: created in `new`, destroyed once, after its work has run
        // so nothing it ordered can touch memory freed after this.
        unsafe {
            let _ = sys::cuStreamSynchronize(self.stream);
            let _ = sys::cuStreamDestroy_v2(self.stream);
        }
        bump(&self.ctx.counters.streams_destroyed, 1);
    }
}

/// A completion marker recorded on a stream.
pub(crate) struct Event {
    event: sys::CUevent,
    ctx: Arc<Ctx>,
}

// SAFETY: event handles are usable from any thread with the context bound.
unsafe impl Send for Event {}
unsafe impl Sync for Event {}

impl Event {
    pub(crate) fn new(ctx: &Arc<Ctx>) -> Result<Self> {
        ctx.bind()?;
        let mut e: sys::CUevent = std::ptr::null_mut();
        let flags = sys::CUevent_flags::CU_EVENT_DISABLE_TIMING as u32;
        // SAFETY: valid out-pointer, context bound.
        check("cuEventCreate", || unsafe { sys::cuEventCreate(&mut e, flags) })?;
        bump(&ctx.counters.events_created, 1);
        Ok(Event { event: e, ctx: ctx.clone() })
    }

    /// Marks the current end of `stream`'s work.
    pub(crate) fn record(&self, stream: &Stream) -> Result<()> {
        // SAFETY: both live, same context.
        check("cuEventRecord", || unsafe { sys::cuEventRecord(self.event, stream.stream) })
    }

    /// Blocks until the recorded work has run (counted as a host wait).
    pub(crate) fn wait(&self) -> Result<()> {
        let counters = &self.ctx.counters;
        // SAFETY: live event.
        counted_wait(counters, || check("cuEventSynchronize", || unsafe { sys::cuEventSynchronize(self.event) }))
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        self.ctx.bind_for_drop();
        // SAFETY: created in `new`, destroyed once.
        unsafe {
            let _ = sys::cuEventDestroy_v2(self.event);
        }
        bump(&self.ctx.counters.events_destroyed, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_driver_is_a_typed_error() {
        // This host has no NVIDIA driver; on one that has, the device must
        // open instead. Either way: no panic.
        match CudaDevice::new(0) {
            Err(Error::BackendUnavailable { backend, msg }) => {
                assert_eq!(backend, "cuda (device 0)");
                assert!(!msg.is_empty());
                if loader::driver().is_err() {
                    assert!(msg.contains("libcuda.so.1 not found"), "{msg}");
                }
                // Asking again gives the same answer, without reprobing.
                let again = CudaDevice::new(0).unwrap_err().to_string();
                assert!(again.contains(&msg), "{again}");
            }
            Err(e) => panic!("unexpected error kind: {e}"),
            Ok(d) => assert!(d.same_as(&CudaDevice::new(0).unwrap())),
        }
    }

    #[test]
    fn snapshot_arithmetic() {
        let a = CounterSnapshot {
            device_allocs: 3,
            device_frees: 1,
            events_created: 2,
            htod_bytes: 10,
            ..Default::default()
        };
        let b = CounterSnapshot {
            device_allocs: 5,
            device_frees: 5,
            events_created: 2,
            events_destroyed: 2,
            htod_bytes: 40,
            ..Default::default()
        };
        assert_eq!(a.outstanding(), 4);
        assert_eq!(b.outstanding(), 0);
        let d = b.since(&a);
        assert_eq!((d.device_allocs, d.device_frees, d.htod_bytes), (2, 4, 30));
    }
}
