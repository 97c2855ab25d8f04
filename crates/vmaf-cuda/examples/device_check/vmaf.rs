//! Device checks of whole VMAF models through the `Scorer`, as users run
//! them: every CUDA extractor of the model joins one frame session (one
//! upload, one stream, one host wait per frame). Rows:
//!
//! - parity: the four models the CUDA backend serves (vmaf_v0.6.1, its neg
//!   variant, the 4K model and the vmaf_b bootstrap) in one run, CPU
//!   against CUDA, every feature and model output bit for bit, on every
//!   clip; the same through `Scorer::push_device` (frames already in GPU
//!   memory);
//! - counters of a whole-model run: no allocation, at most one host wait
//!   per frame for all extractors, bytes up equal to the two luma planes;
//! - throughput: frames/s from frames in host memory (library API), from
//!   frames in device memory, and the CPU backend on every core of the
//!   host for comparison; the device memory one scorer holds.

use super::*;
use vmaf::{load_model, ModelArg};

const MODELS: &[&str] =
    &["version=vmaf_v0.6.1", "version=vmaf_v0.6.1neg:name=neg", "version=vmaf_4k_v0.6.1:name=4k", "version=vmaf_b_v0.6.3:name=b"];

fn builder(g: Geometry, backend: Backend, models: &[&str]) -> Result<vmaf::ScorerBuilder, String> {
    let mut b = Scorer::builder(g).backend(backend);
    for m in models {
        let model = load_model(&ModelArg::parse(m).map_err(e2s)?).map_err(e2s)?;
        b = b.model(model).map_err(e2s)?;
    }
    Ok(b)
}

/// Scores `frames` on `backend`; with `device_input`, through
/// `push_device` from pictures uploaded beforehand.
fn run(
    dev: &CudaDevice,
    g: Geometry,
    backend: Backend,
    models: &[&str],
    frames: &[(Picture, Picture)],
    device_input: bool,
) -> Result<Report, String> {
    let mut s = builder(g, backend, models)?.build().map_err(e2s)?;
    if device_input {
        // Two pairs alternate: the scorer keeps one frame in flight while
        // the next is pushed, so a pair is rewritten only after the frame
        // that read it was collected.
        let mut pics: Vec<(DevicePicture, DevicePicture)> = (0..2)
            .map(|_| Ok((DevicePicture::new(dev, g).map_err(e2s)?, DevicePicture::new(dev, g).map_err(e2s)?)))
            .collect::<Result<_, String>>()?;
        for (i, (r, d)) in frames.iter().enumerate() {
            let (dr, dd) = &mut pics[i % 2];
            dr.upload(r).map_err(e2s)?;
            dd.upload(d).map_err(e2s)?;
            // SAFETY: the device pictures live until the end of this
            // function and each is rewritten only two frames later.
            unsafe { s.push_device(&dr.picture(), &dd.picture()).map_err(e2s)? };
        }
        let rep = s.finish().map_err(e2s);
        drop(pics);
        return rep;
    }
    for (r, d) in frames {
        s.push(r, d).map_err(e2s)?;
    }
    s.finish().map_err(e2s)
}

fn model_parity(t: &mut Table, dev: &CudaDevice, clips: &Path) -> Result<(), String> {
    let pairs = pairs_in(clips);
    if pairs.is_empty() {
        t.check("vmaf parity clips", format!("no clip pairs in {}", clips.display()), false);
    }
    let cuda = Backend::Cuda { device: dev.ordinal() };
    for pair in &pairs {
        let (g, frames) = load_pair(clips, pair, usize::MAX)?;
        let cpu = run(dev, g, Backend::Cpu, MODELS, &frames, false)?;
        for (how, device_input) in [("host input", false), ("device input", true)] {
            let label = format!("vmaf parity {pair}, 4 models, {how}");
            match run(dev, g, cuda, MODELS, &frames, device_input).and_then(|c| same(&cpu.collector, &c.collector)) {
                Ok(n) => t.check(label, format!("{} frames, {n} values bit-identical", frames.len()), true),
                Err(e) => t.check(label, e, false),
            }
        }
    }
    Ok(())
}

fn model_counters(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    for bpc in [8u8, 10] {
        let g = Geometry::new(1920, 1080, ChromaSampling::Cs420, bpc).map_err(e2s)?;
        let frames = moving_frames(g, 8, 21);
        let mut s = builder(g, Backend::Cuda { device: dev.ordinal() }, &MODELS[..1])?.build().map_err(e2s)?;
        for (r, d) in frames.iter().take(5) {
            s.push(r, d).map_err(e2s)?;
        }
        let n = 100u64;
        let (c0, a0) = (dev.counters(), allocations());
        for i in 0..n as usize {
            let (r, d) = &frames[i % frames.len()];
            s.push(r, d).map_err(e2s)?;
        }
        let (c, a) = (dev.counters().since(&c0), allocations() - a0);
        drop(s.finish().map_err(e2s)?);
        let label = format!("vmaf_v0.6.1 1080p {bpc}-bit");
        let luma = 1920 * 1080 * g.bytes_per_sample() as u64;
        t.check(
            format!("counters {label}: device + pinned allocations / frame"),
            format!("{}", (c.device_allocs + c.pinned_allocs) as f64 / n as f64),
            c.device_allocs == 0 && c.pinned_allocs == 0,
        );
        t.check(
            format!("counters {label}: host waits / frame, all extractors"),
            format!("{}", c.host_waits as f64 / n as f64),
            c.host_waits <= n,
        );
        t.check(
            format!("counters {label}: bytes up / frame (formula: 2 luma planes, {})", 2 * luma),
            format!("{}", c.htod_bytes / n),
            c.htod_bytes == n * 2 * luma,
        );
        // vif 4 x 4 sums + adm 4 x 9 sums + motion 1 sum, 8 bytes each.
        t.check(
            format!("counters {label}: bytes down / frame (formula 424)"),
            format!("{}", c.dtoh_bytes / n),
            c.dtoh_bytes == n * 424,
        );
        t.info(format!("counters {label}: kernel launches / frame"), format!("{}", c.launches as f64 / n as f64));
        t.info(format!("counters {label}: host heap allocations / frame (Scorer, models)"), format!("{:.2}", a as f64 / n as f64));
    }
    Ok(())
}

/// The share of the wall time since `start` that the host spent blocked on
/// the device (counters since `c0`): near 0 the host side is what limits
/// the frame rate, well above it the device is.
fn blocked(c0: &vmaf_cuda::CounterSnapshot, dev: &CudaDevice, start: Instant) -> f64 {
    dev.counters().since(c0).host_wait_ns as f64 / 1e9 / start.elapsed().as_secs_f64()
}

/// Frames per second of `n` frames pushed from host memory, and from
/// device memory, after a warm-up.
fn model_throughput(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cuda = Backend::Cuda { device: dev.ordinal() };
    for (label, w, h, bpc, n) in [
        ("1080p 8-bit", 1920u32, 1080u32, 8u8, 1500usize),
        ("1080p 10-bit", 1920, 1080, 10, 1000),
        ("4K 8-bit", 3840, 2160, 8, 400),
        ("4K 10-bit", 3840, 2160, 10, 300),
    ] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
        let frames = moving_frames(g, 8, 33);
        let pick = |i: usize| &frames[i % frames.len()];

        // Host memory, library API: `push` borrows the caller's pictures.
        let free0 = dev.memory_info().map_err(e2s)?.0;
        let mut s = builder(g, cuda, &MODELS[..1])?.build().map_err(e2s)?;
        let held = free0 as i64 - dev.memory_info().map_err(e2s)?.0 as i64;
        // Warm-up (clocks, caches), then the best of two timed runs: the
        // GPU's clocks and the host's scheduling make single runs noisy.
        for i in 0..60 {
            let (r, d) = pick(i);
            s.push(r, d).map_err(e2s)?;
        }
        let mut host_fps = 0.0f64;
        let (c0, all) = (dev.counters(), Instant::now());
        for _ in 0..2 {
            let t0 = Instant::now();
            for i in 0..n {
                let (r, d) = pick(i);
                s.push(r, d).map_err(e2s)?;
            }
            host_fps = host_fps.max(n as f64 / t0.elapsed().as_secs_f64());
        }
        let host_blocked = blocked(&c0, dev, all);
        let rep = s.finish().map_err(e2s)?;
        let scored = rep.frames as usize == 2 * n + 60;

        // Device memory: frames decoded on the GPU, never on the host.
        let mut s = builder(g, cuda, &MODELS[..1])?.build().map_err(e2s)?;
        let mut pics = Vec::new();
        for (r, d) in &frames {
            let (mut dr, mut dd) = (DevicePicture::new(dev, g).map_err(e2s)?, DevicePicture::new(dev, g).map_err(e2s)?);
            dr.upload(r).map_err(e2s)?;
            dd.upload(d).map_err(e2s)?;
            pics.push((dr, dd));
        }
        let push = |s: &mut Scorer, i: usize| -> Result<(), String> {
            let (dr, dd) = &pics[i % pics.len()];
            // SAFETY: the pictures outlive the scorer's use of them and are
            // never rewritten.
            unsafe { s.push_device(&dr.picture(), &dd.picture()).map_err(e2s) }
        };
        for i in 0..60 {
            push(&mut s, i)?;
        }
        let mut device_fps = 0.0f64;
        let (c0, all) = (dev.counters(), Instant::now());
        for _ in 0..2 {
            let t0 = Instant::now();
            for i in 0..n {
                push(&mut s, i)?;
            }
            device_fps = device_fps.max(n as f64 / t0.elapsed().as_secs_f64());
        }
        let device_blocked = blocked(&c0, dev, all);
        drop(s.finish().map_err(e2s)?);
        drop(pics);

        // The CPU backend on every core, same frames.
        let m = (n / 10).max(20);
        let mut s = builder(g, Backend::Cpu, &MODELS[..1])?.threads(cores).build().map_err(e2s)?;
        let t0 = Instant::now();
        for i in 0..m {
            let (r, d) = pick(i);
            s.push(r, d).map_err(e2s)?;
        }
        drop(s.finish().map_err(e2s)?);
        let cpu_fps = m as f64 / t0.elapsed().as_secs_f64();

        t.check(
            format!("fps vmaf_v0.6.1 {label}"),
            format!(
                "CUDA host memory {host_fps:.0} (host blocked {:.0}% of the time), device memory {device_fps:.0} \
                 (blocked {:.0}%); CPU {cores} threads {cpu_fps:.1}; GPU memory per scorer {}",
                100.0 * host_blocked,
                100.0 * device_blocked,
                mib(held)
            ),
            scored,
        );
    }
    Ok(())
}

pub fn vmaf_checks(t: &mut Table, dev: &CudaDevice, clips: &Path) {
    section(t, "vmaf parity", |t| model_parity(t, dev, clips));
    section(t, "vmaf counters", |t| model_counters(t, dev));
    section(t, "vmaf throughput", |t| model_throughput(t, dev));
}
