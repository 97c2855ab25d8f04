//! Device checks of the CUDA backend, for a machine with an NVIDIA GPU.
//!
//! The host test suite runs without a GPU; this program is the part that
//! needs one. It checks the invariants of ../../shared/design/LESSONS.md on
//! the real device and prints one table (check, value, pass/fail):
//!
//! - parity: CUDA psnr equals CPU psnr bit for bit on every clip pair in
//!   the clips folder, on synthetic hostile pictures (widths 1..65, every
//!   bit depth and sampling, zero / max / random), on pictures already in
//!   device memory, and with frames pipelined through the staging ring;
//! - leaks: 200 create / score / drop cycles leave device free memory
//!   (cuMemGetInfo) and host RSS where they were after the first, with no
//!   resource outstanding;
//! - threads: 8 threads, each with its own scorer, score and drop in a
//!   loop; every score equals the single-threaded run;
//! - counters after warm-up: no device allocation and at most one host
//!   wait per frame, bytes up equal to the picture-bytes formula, 24 bytes
//!   down, no host heap allocation in the extractor's frame path;
//! - throughput of CUDA psnr at 1080p and 4K;
//! - fault injection (built with `--features fault-injection`): every
//!   fallible device call of init and per-frame paths, failed in turn,
//!   gives an error, leaves nothing outstanding, and a fresh scorer works.
//!
//! - whole models through the Scorer (device_check/vmaf.rs) and the `vmaf`
//!   command end to end from Y4M files (device_check/e2e.rs).
//!
//! Usage: `device_check [--clips DIR] [--device N] [--vmaf PATH]
//! [--libvmaf PATH]` (the last two: end-to-end rows with our `vmaf`, and
//! libvmaf's beside it). Exit status 0 when every check passes.
//! scripts/device-check.sh builds it and prints the command line for the
//! device machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use vmaf::{Backend, ChromaSampling, FeatureCollector, Geometry, Picture, PictureData, Report, Scorer};
use vmaf_core::{CpuLevel, CreateArgs, Extractor, FeatureSink, FramePair, Options};
use vmaf_cuda::features::RING;
use vmaf_cuda::{CudaDevice, CudaFeature, CudaMotion, CudaPsnr, DevicePicture};

#[path = "device_check/e2e.rs"]
mod e2e;
#[path = "device_check/vif.rs"]
mod vif;
#[path = "device_check/vmaf.rs"]
mod vmaf_model;

// ---------------------------------------------------------------- allocator

/// Counts heap allocations, so the frame path can be shown to make none.
struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

// -------------------------------------------------------------------- table

#[derive(Clone, Copy, PartialEq)]
enum Status {
    Pass,
    Fail,
    Info,
}

#[derive(Default)]
struct Table {
    rows: Vec<(String, String, Status)>,
}

impl Table {
    fn row(&mut self, check: impl Into<String>, value: impl Into<String>, s: Status) {
        let (check, value) = (check.into(), value.into());
        // Progress on stderr, so a run cut short still shows how far it got.
        let tag = match s {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Info => "info",
        };
        eprintln!("[{tag}] {check}: {value}");
        self.rows.push((check, value, s));
    }
    fn check(&mut self, check: impl Into<String>, value: impl Into<String>, ok: bool) {
        self.row(check, value, if ok { Status::Pass } else { Status::Fail });
    }
    fn info(&mut self, check: impl Into<String>, value: impl Into<String>) {
        self.row(check, value, Status::Info);
    }
    fn failed(&self) -> usize {
        self.rows.iter().filter(|r| r.2 == Status::Fail).count()
    }
    fn print(&self) {
        let w0 = self.rows.iter().map(|r| r.0.len()).max().unwrap_or(5).max(5);
        let w1 = self.rows.iter().map(|r| r.1.len()).max().unwrap_or(5).clamp(5, 90);
        println!("{:<w0$} | {:<w1$} | result", "check", "value");
        println!("{}-+-{}-+-------", "-".repeat(w0), "-".repeat(w1));
        for (c, v, s) in &self.rows {
            let s = match s {
                Status::Pass => "pass",
                Status::Fail => "FAIL",
                Status::Info => "info",
            };
            println!("{c:<w0$} | {v:<w1$} | {s}");
        }
        let pass = self.rows.iter().filter(|r| r.2 == Status::Pass).count();
        println!("{pass} passed, {} failed", self.failed());
    }
}

/// Runs one section; a panic becomes a failed row instead of ending the run.
fn section(t: &mut Table, name: &str, f: impl FnOnce(&mut Table) -> Result<(), String>) {
    let before = t.rows.len();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(t)));
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => t.check(name, format!("error: {e}"), false),
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            t.check(name, format!("panicked: {msg}"), false);
        }
    }
    if t.rows.len() == before {
        t.check(name, "no result", false);
    }
}

fn e2s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

// ----------------------------------------------------------------- pictures

/// xorshift64*: deterministic noise without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[derive(Clone, Copy, Debug)]
enum Fill {
    Zero,
    Max,
    Random(u64),
}

fn picture(g: Geometry, fill: Fill) -> Picture {
    let mut pic = Picture::new(g);
    let max = (1u64 << g.bit_depth) - 1;
    let mut rng = Rng(match fill {
        Fill::Random(s) => s.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        _ => 1,
    });
    let mut value = || match fill {
        Fill::Zero => 0,
        Fill::Max => max,
        Fill::Random(_) => rng.next() % (max + 1),
    };
    match pic.data_mut() {
        PictureData::U8(p) => p.iter_mut().for_each(|pl| pl.data_mut().iter_mut().for_each(|v| *v = value() as u8)),
        PictureData::U16(p) => p.iter_mut().for_each(|pl| pl.data_mut().iter_mut().for_each(|v| *v = value() as u16)),
    }
    pic
}

/// A distorted version of `r`: small noise, so PSNR is finite and varied.
fn distort(r: &Picture, seed: u64) -> Picture {
    let g = *r.geometry();
    let max = (1i64 << g.bit_depth) - 1;
    let mut rng = Rng(seed | 1);
    let mut d = r.clone();
    let mut nudge = |v: i64| (v + (rng.next() % 9) as i64 - 4).clamp(0, max);
    match d.data_mut() {
        PictureData::U8(p) => {
            p.iter_mut().for_each(|pl| pl.data_mut().iter_mut().for_each(|v| *v = nudge(*v as i64) as u8))
        }
        PictureData::U16(p) => {
            p.iter_mut().for_each(|pl| pl.data_mut().iter_mut().for_each(|v| *v = nudge(*v as i64) as u16))
        }
    }
    d
}

fn copy_into(dst: &mut Picture, src: &Picture) {
    match (dst.data_mut(), src.data()) {
        (PictureData::U8(a), PictureData::U8(b)) => {
            a.iter_mut().zip(b).for_each(|(x, y)| x.data_mut().copy_from_slice(y.data()))
        }
        (PictureData::U16(a), PictureData::U16(b)) => {
            a.iter_mut().zip(b).for_each(|(x, y)| x.data_mut().copy_from_slice(y.data()))
        }
        _ => panic!("sample types differ"),
    }
}

type Frames = Vec<(Picture, Picture)>;

/// `n` frames of random pictures of `g`, each with a distorted copy
/// (`seed + i` picks the distortion).
fn synthetic(g: Geometry, n: u64, seed: u64) -> Frames {
    (0..n)
        .map(|i| {
            let r = picture(g, Fill::Random(i));
            let d = distort(&r, seed + i);
            (r, d)
        })
        .collect()
}

/// The first `n` frames of clip pair `pair` when there is one, else `n`
/// synthetic frames of `w`x`h` 4:2:0 at `bpc` bits.
fn pair_or_synthetic(
    clips: &Path,
    pair: Option<&String>,
    n: usize,
    w: u32,
    h: u32,
    bpc: u8,
) -> Result<(Geometry, Frames), String> {
    match pair {
        Some(p) => load_pair(clips, p, n),
        None => {
            let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
            Ok((g, synthetic(g, n as u64, 0)))
        }
    }
}

fn load_pair(dir: &Path, pair: &str, max_frames: usize) -> Result<(Geometry, Frames), String> {
    let mut r = vmaf::io::open(&dir.join(format!("{pair}.ref.y4m")), None).map_err(e2s)?;
    let mut d = vmaf::io::open(&dir.join(format!("{pair}.dis.y4m")), None).map_err(e2s)?;
    let g = r.geometry();
    let mut frames = Vec::new();
    while frames.len() < max_frames {
        let (mut a, mut b) = (Picture::new(g), Picture::new(g));
        if !r.read_frame(&mut a).map_err(e2s)? || !d.read_frame(&mut b).map_err(e2s)? {
            break;
        }
        frames.push((a, b));
    }
    if frames.is_empty() {
        return Err(format!("{pair}: no frames"));
    }
    Ok((g, frames))
}

fn pairs_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".ref.y4m")).map(str::to_owned))
                .filter(|p| dir.join(format!("{p}.dis.y4m")).is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

// ------------------------------------------------------------------ scoring

fn score(backend: Backend, g: Geometry, opts: &[(&str, &str)], frames: &[(Picture, Picture)]) -> vmaf::Result<Report> {
    let mut s = Scorer::builder(g).backend(backend).feature("psnr", opts)?.build()?;
    for (r, d) in frames {
        let (a, b) = s.frame_slot();
        copy_into(a, r);
        copy_into(b, d);
        s.commit_frame()?;
    }
    s.finish()
}

/// Compares every value of two runs bit for bit; Ok(values compared).
fn same(a: &FeatureCollector, b: &FeatureCollector) -> Result<usize, String> {
    let na: Vec<&str> = a.ids().map(|i| a.name(i)).collect();
    let nb: Vec<&str> = b.ids().map(|i| b.name(i)).collect();
    if na != nb {
        return Err(format!("features differ: {na:?} vs {nb:?}"));
    }
    let mut n = 0;
    for (ia, ib) in a.ids().zip(b.ids()) {
        for f in 0..a.frame_slots().max(b.frame_slots()) {
            let (x, y) = (a.get(ia, f), b.get(ib, f));
            if x.map(f64::to_bits) != y.map(f64::to_bits) {
                return Err(format!("{} frame {f}: {x:?} vs {y:?}", a.name(ia)));
            }
            n += x.is_some() as usize;
        }
    }
    let (ga, gb) = (a.aggregates(), b.aggregates());
    if ga.len() != gb.len() || ga.iter().zip(gb).any(|(x, y)| x.0 != y.0 || x.1.to_bits() != y.1.to_bits()) {
        return Err(format!("aggregates differ: {ga:?} vs {gb:?}"));
    }
    Ok(n + ga.len())
}

// ------------------------------------------------------------------- timing

/// Frames/s of `ex` over `n` frames cycling through `pics`, after a
/// warm-up: [one frame at a time from host pictures, pipelined from host
/// pictures (frame i + 1 submitted before frame i is collected), pipelined
/// from pictures already on the device]. Indices run on from 0 across the
/// three, as motion needs.
fn timed_fps(
    ex: &mut dyn CudaFeature,
    dev: &CudaDevice,
    pics: &[(Picture, Picture)],
    n: u32,
) -> Result<[f64; 3], String> {
    let g = *pics[0].0.geometry();
    let mut dpics = Vec::with_capacity(pics.len());
    for (r, d) in pics {
        let (mut a, mut b) = (DevicePicture::new(dev, g).map_err(e2s)?, DevicePicture::new(dev, g).map_err(e2s)?);
        a.upload(r).map_err(e2s)?;
        b.upload(d).map_err(e2s)?;
        dpics.push((a, b));
    }
    let mut sink = FeatureSink::new();
    let mut next = 0u32;
    let k = |i: u32| i as usize % pics.len();
    for _ in 0..5 {
        ex.submit_host(&pics[k(next)].0, &pics[k(next)].1, next).map_err(e2s)?;
        ex.collect_frame(next, &mut sink).map_err(e2s)?;
        next += 1;
    }
    let mut fps = [0.0; 3];
    let t0 = Instant::now();
    for _ in 0..n {
        ex.submit_host(&pics[k(next)].0, &pics[k(next)].1, next).map_err(e2s)?;
        ex.collect_frame(next, &mut sink).map_err(e2s)?;
        sink.clear();
        next += 1;
    }
    fps[0] = n as f64 / t0.elapsed().as_secs_f64();
    for (mode, out) in fps.iter_mut().enumerate().skip(1) {
        let t0 = Instant::now();
        let first = next;
        for i in first..first + n {
            if mode == 1 {
                ex.submit_host(&pics[k(i)].0, &pics[k(i)].1, i).map_err(e2s)?;
            } else {
                ex.submit_device(&dpics[k(i)].0.picture(), &dpics[k(i)].1.picture(), i).map_err(e2s)?;
            }
            if i > first {
                ex.collect_frame(i - 1, &mut sink).map_err(e2s)?;
                sink.clear();
            }
        }
        ex.collect_frame(first + n - 1, &mut sink).map_err(e2s)?;
        sink.clear();
        next = first + n;
        *out = n as f64 / t0.elapsed().as_secs_f64();
    }
    Ok(fps)
}

/// Scores `frames` pipelined (frame i + 1 submitted before frame i is
/// collected) and returns what was collected; then fills every slot of the
/// ring and reports whether one frame more is refused rather than silently
/// overwriting one in flight (those frames are collected and dropped).
fn pipelined_ring(ex: &mut dyn CudaFeature, frames: &[(Picture, Picture)]) -> Result<(FeatureSink, bool), String> {
    let mut sink = FeatureSink::new();
    for (i, (r, d)) in frames.iter().enumerate() {
        ex.submit_host(r, d, i as u32).map_err(e2s)?;
        if i > 0 {
            ex.collect_frame(i as u32 - 1, &mut sink).map_err(e2s)?;
        }
    }
    ex.collect_frame(frames.len() as u32 - 1, &mut sink).map_err(e2s)?;
    for (k, (r, d)) in frames.iter().take(RING).enumerate() {
        ex.submit_host(r, d, 100 + k as u32).map_err(e2s)?;
    }
    let refused = ex.submit_host(&frames[RING].0, &frames[RING].1, 100 + RING as u32).is_err();
    let mut scratch = FeatureSink::new();
    for k in 0..RING {
        ex.collect_frame(100 + k as u32, &mut scratch).map_err(e2s)?;
    }
    Ok((sink, refused))
}

fn psnr_options(opts: &[(&str, &str)]) -> Options {
    Options::parse("psnr", vmaf_cuda::features::psnr::SPEC.options, opts.iter().copied()).expect("valid psnr options")
}

/// Sink entries and aggregates of one extractor over `frames`.
fn run_extractor(ex: &mut dyn Extractor, frames: &[(Picture, Picture)]) -> Result<Vec<(u16, u32, u64)>, String> {
    let mut out = Vec::new();
    let mut sink = FeatureSink::new();
    for (i, (r, d)) in frames.iter().enumerate() {
        ex.submit(&FramePair { reference: r, distorted: d, index: i as u32 }).map_err(e2s)?;
        ex.collect(i as u32, &mut sink).map_err(e2s)?;
    }
    ex.flush(&mut sink).map_err(e2s)?;
    out.extend(sink.entries().iter().map(|e| (e.slot, e.index, e.value.to_bits())));
    out.extend(sink.aggregates().iter().enumerate().map(|(k, a)| (1000 + k as u16, 0, a.1.to_bits())));
    Ok(out)
}

fn cpu_psnr(o: &Options, g: Geometry) -> Box<dyn Extractor> {
    (vmaf_cpu::features::psnr::SPEC.create)(&CreateArgs {
        options: o,
        geometry: g,
        cpu_level: CpuLevel::Scalar,
        device: None,
    })
    .expect("cpu psnr")
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

fn mib(b: i64) -> String {
    format!("{:.2} MiB", b as f64 / (1024.0 * 1024.0))
}

// ----------------------------------------------------------------- sections

const OPTION_SETS: &[&[(&str, &str)]] = &[
    &[],
    &[("enable_mse", "true"), ("enable_apsnr", "true")],
    &[("enable_chroma", "false"), ("reduced_hbd_peak", "true"), ("min_sse", "0.5")],
];

fn parity_clips(t: &mut Table, dev: &CudaDevice, clips: &Path) -> Result<(), String> {
    let pairs = pairs_in(clips);
    t.check("clips found", format!("{} pairs in {}", pairs.len(), clips.display()), !pairs.is_empty());
    for pair in &pairs {
        let (g, frames) = load_pair(clips, pair, usize::MAX)?;
        let mut values = 0;
        let mut bad = None;
        for opts in OPTION_SETS {
            let cpu = score(Backend::Cpu, g, opts, &frames).map_err(e2s)?;
            let cuda = score(Backend::Cuda { device: dev.ordinal() }, g, opts, &frames).map_err(e2s)?;
            match same(&cpu.collector, &cuda.collector) {
                Ok(n) => values += n,
                Err(e) => {
                    bad = Some(format!("options {opts:?}: {e}"));
                    break;
                }
            }
        }
        match bad {
            None => t.check(
                format!("parity {pair}"),
                format!("{} frames, {values} values bit-identical", frames.len()),
                true,
            ),
            Some(e) => t.check(format!("parity {pair}"), e, false),
        }
    }
    Ok(())
}

fn parity_synthetic(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    let samplings = [ChromaSampling::Cs420, ChromaSampling::Cs422, ChromaSampling::Cs444, ChromaSampling::Cs400];
    let o = psnr_options(&[("enable_mse", "true"), ("enable_apsnr", "true")]);
    let (mut cases, mut bad) = (0, Vec::new());
    for bpc in [8u8, 10, 12, 16] {
        for s in samplings {
            for h in [1u32, 3, 8] {
                for w in 1u32..=65 {
                    let g = Geometry::new(w, h, s, bpc).map_err(e2s)?;
                    let seed = (w * 131 + h * 7 + bpc as u32) as u64;
                    let frames = vec![
                        (picture(g, Fill::Random(seed)), picture(g, Fill::Random(seed + 1))),
                        (picture(g, Fill::Zero), picture(g, Fill::Zero)),
                        (picture(g, Fill::Max), picture(g, Fill::Zero)),
                        (picture(g, Fill::Random(seed + 2)), picture(g, Fill::Max)),
                    ];
                    let want = run_extractor(&mut *cpu_psnr(&o, g), &frames)?;
                    let mut cuda = CudaPsnr::new(dev, &o, g).map_err(e2s)?;
                    let got = run_extractor(&mut cuda, &frames)?;
                    cases += 1;
                    if got != want && bad.len() < 3 {
                        bad.push(format!("{w}x{h} {}-bit {}", bpc, s.as_str()));
                    }
                }
            }
        }
    }
    t.check(
        "parity synthetic (w 1..65, h 1/3/8, 8-16 bit, 420/422/444/400, zero/max/random)",
        if bad.is_empty() { format!("{cases} geometries x 4 frames identical") } else { format!("mismatch: {bad:?}") },
        bad.is_empty(),
    );
    // The largest sums: 4K, 16-bit 4:4:4, every sample at full difference.
    let g = Geometry::new(3840, 2160, ChromaSampling::Cs444, 16).map_err(e2s)?;
    let frames = vec![
        (picture(g, Fill::Max), picture(g, Fill::Zero)),
        (picture(g, Fill::Random(9)), picture(g, Fill::Random(10))),
    ];
    let want = run_extractor(&mut *cpu_psnr(&o, g), &frames)?;
    let got = run_extractor(&mut CudaPsnr::new(dev, &o, g).map_err(e2s)?, &frames)?;
    t.check(
        "parity 4K 16-bit 444 full-scale difference",
        if got == want { "identical".into() } else { format!("{got:?} vs {want:?}") },
        got == want,
    );
    Ok(())
}

fn parity_device_input(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    let o = psnr_options(&[("enable_mse", "true"), ("enable_apsnr", "true")]);
    let mut n = 0;
    for (w, h, s, bpc) in [
        (577u32, 323u32, ChromaSampling::Cs420, 8u8),
        (1, 1, ChromaSampling::Cs420, 10),
        (65, 9, ChromaSampling::Cs422, 12),
        (1920, 1080, ChromaSampling::Cs420, 10),
        (33, 17, ChromaSampling::Cs400, 16),
    ] {
        let g = Geometry::new(w, h, s, bpc).map_err(e2s)?;
        let frames: Frames = (0..3)
            .map(|i| {
                let r = picture(g, Fill::Random(100 + i));
                let d = distort(&r, 7 + i);
                (r, d)
            })
            .collect();
        let want = run_extractor(&mut *cpu_psnr(&o, g), &frames)?;
        let mut ex = CudaPsnr::new(dev, &o, g).map_err(e2s)?;
        let (mut dr, mut dd) = (DevicePicture::new(dev, g).map_err(e2s)?, DevicePicture::new(dev, g).map_err(e2s)?);
        let mut sink = FeatureSink::new();
        for (i, (r, d)) in frames.iter().enumerate() {
            dr.upload(r).map_err(e2s)?;
            dd.upload(d).map_err(e2s)?;
            let before = dev.counters();
            ex.submit_device(&dr.picture(), &dd.picture(), i as u32).map_err(e2s)?;
            let up = dev.counters().since(&before).htod_bytes;
            if up != 0 {
                return Err(format!("device-resident submit uploaded {up} bytes"));
            }
            ex.collect(i as u32, &mut sink).map_err(e2s)?;
        }
        ex.flush(&mut sink).map_err(e2s)?;
        let mut got: Vec<(u16, u32, u64)> =
            sink.entries().iter().map(|e| (e.slot, e.index, e.value.to_bits())).collect();
        got.extend(sink.aggregates().iter().enumerate().map(|(k, a)| (1000 + k as u16, 0, a.1.to_bits())));
        if got != want {
            t.check(
                "parity device-resident input (pitched, 0 bytes uploaded)",
                format!("{w}x{h} {bpc}-bit differs"),
                false,
            );
            return Ok(());
        }
        n += 1;
    }
    t.check("parity device-resident input (pitched, 0 bytes uploaded)", format!("{n} geometries identical"), true);
    Ok(())
}

fn parity_pipelined(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    // Frame i+1 submitted before frame i is collected: the staging ring.
    let g = Geometry::new(1280, 720, ChromaSampling::Cs420, 10).map_err(e2s)?;
    let o = psnr_options(&[("enable_apsnr", "true"), ("enable_mse", "true")]);
    let frames = synthetic(g, 12, 50);
    let want = run_extractor(&mut *cpu_psnr(&o, g), &frames)?;
    let mut ex = CudaPsnr::new(dev, &o, g).map_err(e2s)?;
    let (sink, refused) = pipelined_ring(&mut ex, &frames)?;
    ex.flush(&mut FeatureSink::new()).map_err(e2s)?;
    let got: Vec<(u16, u32, u64)> = sink.entries().iter().map(|e| (e.slot, e.index, e.value.to_bits())).collect();
    let want_entries: Vec<_> = want.iter().filter(|e| e.0 < 1000).copied().collect();
    t.check(
        format!("parity pipelined ({RING}-slot ring, 12 frames 720p 10-bit)"),
        format!("identical: {}, frame {} in flight refused: {refused}", got == want_entries, RING + 1),
        got == want_entries && refused,
    );
    Ok(())
}

fn leak_cycles(t: &mut Table, dev: &CudaDevice, clips: &Path) -> Result<(), String> {
    let (g, frames) = pair_or_synthetic(clips, pairs_in(clips).first(), 3, 576, 324, 8)?;
    let opts = [("enable_apsnr", "true")];
    let loaded_before = dev.counters().modules_loaded;
    let mut first = (0i64, 0i64);
    let mut worst_outstanding = 0;
    let reference = score(Backend::Cpu, g, &opts, &frames).map_err(e2s)?;
    let mut mismatches = 0;
    for cycle in 1..=200 {
        let rep = score(Backend::Cuda { device: dev.ordinal() }, g, &opts, &frames).map_err(e2s)?;
        mismatches += same(&reference.collector, &rep.collector).is_err() as usize;
        drop(rep);
        worst_outstanding = worst_outstanding.max(dev.counters().outstanding());
        if cycle == 1 {
            first = (dev.memory_info().map_err(e2s)?.0 as i64, rss_bytes() as i64);
        }
    }
    let last = (dev.memory_info().map_err(e2s)?.0 as i64, rss_bytes() as i64);
    t.check("leak: device free after cycle 1 / 200", format!("{} / {}", mib(first.0), mib(last.0)), true);
    t.check("leak: device free memory change, cycles 1..200", mib(last.0 - first.0), last.0 == first.0);
    t.check(
        "leak: host RSS change, cycles 1..200",
        format!("{} ({} -> {})", mib(last.1 - first.1), mib(first.1), mib(last.1)),
        last.1 - first.1 <= 1 << 20,
    );
    t.check("leak: resources outstanding after each drop", worst_outstanding.to_string(), worst_outstanding == 0);
    let loads = dev.counters().modules_loaded - loaded_before;
    t.check("modules loaded during 200 cycles (once per context)", loads.to_string(), loads == 0);
    t.check("200 cycles: scores equal CPU", format!("{mismatches} mismatching cycles"), mismatches == 0);
    Ok(())
}

fn threads(t: &mut Table, dev: &CudaDevice, clips: &Path) -> Result<(), String> {
    let pairs = pairs_in(clips);
    let (g, frames) =
        pair_or_synthetic(clips, pairs.iter().find(|p| p.contains("10le")).or(pairs.first()), 8, 577, 323, 10)?;
    let opts = [("enable_apsnr", "true"), ("enable_mse", "true")];
    let backend = Backend::Cuda { device: dev.ordinal() };
    let single = score(backend, g, &opts, &frames).map_err(e2s)?;
    let frames = &frames;
    let single = &single;
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(move || {
                    let mut runs = 0;
                    for _ in 0..10 {
                        let rep = score(backend, g, &opts, frames).map_err(e2s)?;
                        same(&single.collector, &rep.collector)?;
                        runs += 1;
                    }
                    Ok(runs)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
    });
    let ok = results.iter().all(|r| r.is_ok());
    let runs: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    let first_err = results.iter().find_map(|r| r.as_ref().err().cloned()).unwrap_or_default();
    t.check(
        "8 threads x 10 scorers each, scores equal single-threaded",
        if ok { format!("{runs} runs identical") } else { first_err },
        ok,
    );
    let out = dev.counters().outstanding();
    t.check("8 threads: resources outstanding after all drops", out.to_string(), out == 0);
    Ok(())
}

fn counters(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    for (label, opts, w, h) in [
        ("1080p 8-bit 420, all planes", &[][..], 1920u32, 1080u32),
        ("1080p 8-bit 420, luma only", &[("enable_chroma", "false")][..], 1920, 1080),
    ] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, 8).map_err(e2s)?;
        let r = picture(g, Fill::Random(1));
        let d = distort(&r, 2);
        let mut s = Scorer::builder(g)
            .backend(Backend::Cuda { device: dev.ordinal() })
            .feature("psnr", opts)
            .map_err(e2s)?
            .build()
            .map_err(e2s)?;
        let feed = |s: &mut Scorer, n: usize| -> Result<(), String> {
            for _ in 0..n {
                let (a, b) = s.frame_slot();
                copy_into(a, &r);
                copy_into(b, &d);
                s.commit_frame().map_err(e2s)?;
            }
            Ok(())
        };
        feed(&mut s, 5)?;
        let n = 100u64;
        let (c0, a0) = (dev.counters(), allocations());
        feed(&mut s, n as usize)?;
        let (c, a) = (dev.counters().since(&c0), allocations() - a0);
        drop(s.finish().map_err(e2s)?);
        let planes = if opts.is_empty() { 3 } else { 1 };
        let pic_bytes: u64 = (0..planes)
            .map(|p| {
                let (w, h) = g.plane_size(p);
                w as u64 * h as u64
            })
            .sum();
        t.check(
            format!("counters {label}: device allocations / frame"),
            format!("{}", c.device_allocs as f64 / n as f64),
            c.device_allocs == 0 && c.pinned_allocs == 0,
        );
        t.check(
            format!("counters {label}: host waits / frame"),
            format!("{}", c.host_waits as f64 / n as f64),
            c.host_waits <= n,
        );
        t.check(
            format!("counters {label}: bytes up / frame (formula 2 x {pic_bytes})"),
            format!("{}", c.htod_bytes / n),
            c.htod_bytes == n * 2 * pic_bytes,
        );
        t.check(
            format!("counters {label}: bytes down / frame"),
            format!("{}", c.dtoh_bytes / n),
            c.dtoh_bytes == n * 24,
        );
        t.check(
            format!("counters {label}: kernel launches / frame"),
            format!("{}", c.launches as f64 / n as f64),
            c.launches == n,
        );
        t.info(
            format!("counters {label}: host heap allocations / frame through the Scorer"),
            format!("{:.2}", a as f64 / n as f64),
        );
    }
    // The extractor's own frame path: no heap allocation at all.
    let g = Geometry::new(1920, 1080, ChromaSampling::Cs420, 10).map_err(e2s)?;
    let o = psnr_options(&[("enable_mse", "true"), ("enable_apsnr", "true")]);
    let r = picture(g, Fill::Random(3));
    let d = distort(&r, 4);
    let mut ex = CudaPsnr::new(dev, &o, g).map_err(e2s)?;
    let mut sink = FeatureSink::new();
    for i in 0..5 {
        ex.submit_host(&r, &d, i).map_err(e2s)?;
        ex.collect_frame(i, &mut sink).map_err(e2s)?;
        sink.clear();
    }
    let a0 = allocations();
    for i in 5..105 {
        ex.submit_host(&r, &d, i).map_err(e2s)?;
        ex.collect_frame(i, &mut sink).map_err(e2s)?;
        sink.clear();
    }
    let a = allocations() - a0;
    t.check("extractor frame path: host heap allocations in 100 frames", a.to_string(), a == 0);
    Ok(())
}

fn throughput(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    let o = psnr_options(&[]);
    for (label, w, h, bpc, n) in [
        ("1080p 8-bit 420", 1920u32, 1080u32, 8u8, 400u32),
        ("4K 8-bit 420", 3840, 2160, 8, 150),
        ("4K 10-bit 420", 3840, 2160, 10, 100),
    ] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
        let r = picture(g, Fill::Random(5));
        let d = distort(&r, 6);
        let mut sink = FeatureSink::new();
        let mut ex = CudaPsnr::new(dev, &o, g).map_err(e2s)?;
        let [seq, piped, resident] = timed_fps(&mut ex, dev, &[(r.clone(), d.clone())], n)?;
        let mut cpu = cpu_psnr(&o, g);
        let m = (n / 4).max(10);
        let t0 = Instant::now();
        for i in 0..m {
            cpu.submit(&FramePair { reference: &r, distorted: &d, index: i }).map_err(e2s)?;
            cpu.collect(i, &mut sink).map_err(e2s)?;
            sink.clear();
        }
        let cpu_fps = m as f64 / t0.elapsed().as_secs_f64();
        t.info(
            format!("fps psnr {label}"),
            format!("CUDA host input {seq:.0} (pipelined {piped:.0}), device input {resident:.0}; CPU scalar 1 thread {cpu_fps:.0}"),
        );
    }
    Ok(())
}

// ------------------------------------------------------------------- motion
//
// CUDA `motion` against the CPU `motion` at the scalar level. On a
// mismatch a row names the first differing (frame, feature, values) and
// the integer SADs: the CUDA kernel's sum of that frame, and the sum the
// CPU score implies (score x 256 x pixels, exact for fps weight 1 and
// unclipped scores), so a kernel bug shows as the size of the SAD error.

const MOTION_OPTION_SETS: &[&[(&str, &str)]] = &[
    &[],
    &[("motion_five_frame_window", "true"), ("motion_moving_average", "true")],
    &[("motion_blend_factor", "0.5"), ("motion_blend_offset", "3"), ("motion_fps_weight", "1.5"), ("debug", "true")],
    &[("motion_max_val", "2.5"), ("motion_five_frame_window", "true")],
    &[("motion_force_zero", "true")],
];

fn motion_options(opts: &[(&str, &str)]) -> Options {
    Options::parse("motion", vmaf_cuda::features::motion::SPEC.options, opts.iter().copied())
        .expect("valid motion options")
}

fn cpu_motion(o: &Options, g: Geometry) -> Box<dyn Extractor> {
    (vmaf_cpu::features::integer_motion::SPEC.create)(&CreateArgs {
        options: o,
        geometry: g,
        cpu_level: CpuLevel::Scalar,
        device: None,
    })
    .expect("cpu motion")
}

/// Where motion input comes from on the CUDA side.
#[derive(Clone, Copy, PartialEq)]
enum MotionInput {
    Host,
    /// Pitched device pictures, and no byte may be uploaded by submit.
    Device,
    /// Frame i+1 submitted before frame i is collected.
    Pipelined,
}

/// CPU scalar vs CUDA motion over `frames`; Ok(values compared) or the
/// first difference with its SADs.
fn motion_compare(
    dev: &CudaDevice,
    g: Geometry,
    opts: &[(&str, &str)],
    frames: &[(Picture, Picture)],
    input: MotionInput,
) -> Result<usize, String> {
    let o = motion_options(opts);
    let want = run_extractor(&mut *cpu_motion(&o, g), frames)?;
    let mut ex = CudaMotion::new(dev, &o, g).map_err(e2s)?;
    let mut sink = FeatureSink::new();
    let mut sads: Vec<Option<u64>> = Vec::with_capacity(frames.len());
    match input {
        MotionInput::Host => {
            for (i, (r, d)) in frames.iter().enumerate() {
                ex.submit_host(r, d, i as u32).map_err(e2s)?;
                ex.collect_frame(i as u32, &mut sink).map_err(e2s)?;
                sads.push(ex.last_sad());
            }
        }
        MotionInput::Pipelined => {
            for (i, (r, d)) in frames.iter().enumerate() {
                ex.submit_host(r, d, i as u32).map_err(e2s)?;
                if i > 0 {
                    ex.collect_frame(i as u32 - 1, &mut sink).map_err(e2s)?;
                    sads.push(ex.last_sad());
                }
            }
            ex.collect_frame(frames.len() as u32 - 1, &mut sink).map_err(e2s)?;
            sads.push(ex.last_sad());
        }
        MotionInput::Device => {
            let (mut dr, mut dd) = (DevicePicture::new(dev, g).map_err(e2s)?, DevicePicture::new(dev, g).map_err(e2s)?);
            for (i, (r, d)) in frames.iter().enumerate() {
                dr.upload(r).map_err(e2s)?;
                dd.upload(d).map_err(e2s)?;
                let before = dev.counters();
                ex.submit_device(&dr.picture(), &dd.picture(), i as u32).map_err(e2s)?;
                let up = dev.counters().since(&before).htod_bytes;
                if up != 0 {
                    return Err(format!("device-resident submit of frame {i} uploaded {up} bytes"));
                }
                ex.collect_frame(i as u32, &mut sink).map_err(e2s)?;
                sads.push(ex.last_sad());
            }
        }
    }
    ex.flush(&mut sink).map_err(e2s)?;
    let got: Vec<(u16, u32, u64)> = sink.entries().iter().map(|e| (e.slot, e.index, e.value.to_bits())).collect();
    if got == want {
        return Ok(got.len());
    }
    let names = ex.feature_names();
    let pixels = g.width as f64 * g.height as f64;
    let k = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
    let show = |e: Option<&(u16, u32, u64)>| {
        e.map_or("none".to_string(), |&(slot, i, v)| {
            let name = names.get(slot as usize).map_or("?", String::as_str);
            format!("frame {i} {name} = {:.17}", f64::from_bits(v))
        })
    };
    let (a, b) = (got.get(k), want.get(k));
    let frame = a.or(b).map_or(0, |e| e.1 as usize);
    let cpu_sad = b.map(|e| f64::from_bits(e.2) * 256.0 * pixels);
    Err(format!(
        "{} entries vs {}; first difference at #{k}: CUDA {} vs CPU {}; frame {frame} SAD: CUDA {:?}, CPU implied {:?}; CUDA SADs of all frames {:?}",
        got.len(),
        want.len(),
        show(a),
        show(b),
        sads.get(frame).copied().flatten(),
        cpu_sad,
        &sads[..sads.len().min(8)],
    ))
}

/// `n` frames of a random texture drifting by (frame, frame / 2) samples,
/// with a few frames repeated, so scores vary and some are zero.
fn moving_frames(g: Geometry, n: usize, seed: u64) -> Frames {
    let big = Geometry::new(g.width + 2 * n as u32, g.height + n as u32, g.sampling, g.bit_depth).expect("geometry");
    let texture = picture(big, Fill::Random(seed));
    (0..n)
        .map(|i| {
            let step = if i % 5 == 4 { i - 1 } else { i };
            let (dx, dy) = (2 * step, step / 2);
            let mut r = Picture::new(g);
            match (r.data_mut(), texture.data()) {
                (PictureData::U8(a), PictureData::U8(b)) => a.iter_mut().zip(b).for_each(|(p, t)| {
                    for y in 0..p.height() {
                        let row = t.row((y + dy).min(t.height() - 1));
                        let w = p.width();
                        p.row_mut(y).copy_from_slice(&row[dx.min(row.len() - w)..][..w]);
                    }
                }),
                (PictureData::U16(a), PictureData::U16(b)) => a.iter_mut().zip(b).for_each(|(p, t)| {
                    for y in 0..p.height() {
                        let row = t.row((y + dy).min(t.height() - 1));
                        let w = p.width();
                        p.row_mut(y).copy_from_slice(&row[dx.min(row.len() - w)..][..w]);
                    }
                }),
                _ => unreachable!("same geometry"),
            }
            let d = distort(&r, seed + i as u64);
            (r, d)
        })
        .collect()
}

fn motion_score(
    backend: Backend,
    g: Geometry,
    opts: &[(&str, &str)],
    frames: &[(Picture, Picture)],
) -> vmaf::Result<Report> {
    let mut s = Scorer::builder(g).backend(backend).feature("motion", opts)?.build()?;
    for (r, d) in frames {
        let (a, b) = s.frame_slot();
        copy_into(a, r);
        copy_into(b, d);
        s.commit_frame()?;
    }
    s.finish()
}

fn motion_parity(t: &mut Table, dev: &CudaDevice, clips: &Path) -> Result<(), String> {
    // Every clip, every option set, scalar CPU vs CUDA host input; and
    // once through the Scorer (registry, engine) with default options.
    for pair in &pairs_in(clips) {
        let (g, frames) = load_pair(clips, pair, usize::MAX)?;
        let mut values = 0;
        let mut bad = None;
        for opts in MOTION_OPTION_SETS {
            match motion_compare(dev, g, opts, &frames, MotionInput::Host) {
                Ok(n) => values += n,
                Err(e) => {
                    bad = Some(format!("options {opts:?}: {e}"));
                    break;
                }
            }
        }
        if bad.is_none() {
            let cpu = motion_score(Backend::Cpu, g, &[], &frames).map_err(e2s)?;
            let cuda = motion_score(Backend::Cuda { device: dev.ordinal() }, g, &[], &frames).map_err(e2s)?;
            if let Err(e) = same(&cpu.collector, &cuda.collector) {
                bad = Some(format!("through the Scorer: {e}"));
            }
        }
        match bad {
            None => t.check(
                format!("motion parity {pair}"),
                format!(
                    "{} frames x {} option sets, {values} values bit-identical",
                    frames.len(),
                    MOTION_OPTION_SETS.len()
                ),
                true,
            ),
            Some(e) => t.check(format!("motion parity {pair}"), e, false),
        }
    }

    // Moving texture, 24 frames, every bit depth: real motion2 / motion3.
    let mut bad = Vec::new();
    let mut values = 0;
    for bpc in [8u8, 10, 12, 16] {
        let g = Geometry::new(577, 323, ChromaSampling::Cs420, bpc).map_err(e2s)?;
        let frames = moving_frames(g, 24, bpc as u64);
        for opts in MOTION_OPTION_SETS {
            match motion_compare(dev, g, opts, &frames, MotionInput::Host) {
                Ok(n) => values += n,
                Err(e) if bad.is_empty() => bad.push(format!("{bpc}-bit {opts:?}: {e}")),
                Err(_) => {}
            }
        }
    }
    t.check(
        "motion parity moving texture (577x323, 24 frames, 8/10/12/16-bit, 5 option sets)",
        if bad.is_empty() { format!("{values} values bit-identical") } else { bad.join("; ") },
        bad.is_empty(),
    );

    // Hostile: tiny and odd sizes, several tiles per row, all-zero /
    // all-max / random / alternating extremes, in both windows.
    let (mut cases, mut bad) = (0, Vec::new());
    for bpc in [8u8, 10, 12, 16] {
        for h in [1u32, 2, 3, 8] {
            for w in (1u32..=65).chain([255, 256, 257, 600]) {
                let g = Geometry::new(w, h, ChromaSampling::Cs400, bpc).map_err(e2s)?;
                let seed = (w * 131 + h * 7 + bpc as u32) as u64;
                let z = picture(g, Fill::Zero);
                let frames = vec![
                    (picture(g, Fill::Random(seed)), z.clone()),
                    (picture(g, Fill::Zero), z.clone()),
                    (picture(g, Fill::Max), z.clone()),
                    (picture(g, Fill::Random(seed + 1)), z.clone()),
                    (picture(g, Fill::Max), z.clone()),
                    (picture(g, Fill::Zero), z.clone()),
                ];
                for opts in &MOTION_OPTION_SETS[..2] {
                    cases += 1;
                    if let Err(e) = motion_compare(dev, g, opts, &frames, MotionInput::Host) {
                        if bad.len() < 2 {
                            bad.push(format!("{w}x{h} {bpc}-bit {opts:?}: {e}"));
                        }
                    }
                }
            }
        }
    }
    t.check(
        "motion parity synthetic (w 1..65/255/256/257/600, h 1/2/3/8, 8-16 bit, zero/max/random, 1- and 2-frame windows)",
        if bad.is_empty() { format!("{cases} cases x 6 frames identical") } else { format!("mismatch: {bad:?}") },
        bad.is_empty(),
    );

    // The largest sums: 4K 16-bit, alternating columns 0 / max against
    // the opposite pattern (vertical pass at +-65535 everywhere).
    let g = Geometry::new(3840, 2160, ChromaSampling::Cs400, 16).map_err(e2s)?;
    let mut a = Picture::new(g);
    let mut b = Picture::new(g);
    if let (PictureData::U16(pa), PictureData::U16(pb)) = (a.data_mut(), b.data_mut()) {
        pa[0].data_mut().iter_mut().enumerate().for_each(|(i, v)| *v = if i % 2 == 0 { 65535 } else { 0 });
        pb[0].data_mut().iter_mut().enumerate().for_each(|(i, v)| *v = if i % 2 == 0 { 0 } else { 65535 });
    }
    let frames = vec![(a.clone(), a.clone()), (b.clone(), b), (a.clone(), a)];
    let r = motion_compare(dev, g, &[("motion_max_val", "10000")], &frames, MotionInput::Host);
    t.check(
        "motion parity 4K 16-bit alternating full-scale",
        r.as_ref().map_or_else(String::clone, |n| format!("{n} values identical")),
        r.is_ok(),
    );

    // Device-resident (pitched) input, and pipelined host input.
    let mut n = 0;
    let mut bad = None;
    for (w, h, s, bpc) in [
        (577u32, 323u32, ChromaSampling::Cs420, 8u8),
        (1, 1, ChromaSampling::Cs420, 10),
        (65, 9, ChromaSampling::Cs422, 12),
        (1920, 1080, ChromaSampling::Cs420, 10),
        (33, 17, ChromaSampling::Cs400, 16),
    ] {
        let g = Geometry::new(w, h, s, bpc).map_err(e2s)?;
        let frames = moving_frames(g, 6, 40 + w as u64);
        for opts in &MOTION_OPTION_SETS[..2] {
            match motion_compare(dev, g, opts, &frames, MotionInput::Device) {
                Ok(_) => n += 1,
                Err(e) => {
                    bad.get_or_insert(format!("{w}x{h} {bpc}-bit {opts:?}: {e}"));
                }
            }
        }
    }
    t.check(
        "motion parity device-resident input (pitched, 0 bytes uploaded)",
        bad.clone().unwrap_or(format!("{n} geometry/option cases identical")),
        bad.is_none(),
    );
    let g = Geometry::new(1280, 720, ChromaSampling::Cs420, 10).map_err(e2s)?;
    let frames = moving_frames(g, 12, 77);
    let mut bad = None;
    for opts in MOTION_OPTION_SETS {
        if let Err(e) = motion_compare(dev, g, opts, &frames, MotionInput::Pipelined) {
            bad.get_or_insert(format!("{opts:?}: {e}"));
        }
    }
    // A third frame in flight is refused, not silently overwritten.
    let o = motion_options(&[]);
    let mut ex = CudaMotion::new(dev, &o, g).map_err(e2s)?;
    for (k, (r, d)) in frames.iter().take(RING).enumerate() {
        ex.submit_host(r, d, k as u32).map_err(e2s)?;
    }
    let refused = ex.submit_host(&frames[RING].0, &frames[RING].1, RING as u32).is_err();
    let skipped = ex.submit_host(&frames[RING].0, &frames[RING].1, 9).is_err();
    t.check(
        format!("motion parity pipelined ({RING}-slot ring, 12 frames 720p 10-bit, 5 option sets)"),
        format!(
            "{}; frame {} in flight refused: {refused}; out-of-order index refused: {skipped}",
            bad.clone().unwrap_or("identical".into()),
            RING + 1
        ),
        bad.is_none() && refused && skipped,
    );
    Ok(())
}

fn motion_counters_and_fps(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    let g = Geometry::new(1920, 1080, ChromaSampling::Cs420, 8).map_err(e2s)?;
    let frames = moving_frames(g, 4, 9);
    let mut s = Scorer::builder(g)
        .backend(Backend::Cuda { device: dev.ordinal() })
        .feature("motion", &[])
        .map_err(e2s)?
        .build()
        .map_err(e2s)?;
    let mut k = 0usize;
    let mut feed = |s: &mut Scorer, n: usize| -> Result<(), String> {
        for _ in 0..n {
            let (a, b) = s.frame_slot();
            copy_into(a, &frames[k % 4].0);
            copy_into(b, &frames[k % 4].1);
            k += 1;
            s.commit_frame().map_err(e2s)?;
        }
        Ok(())
    };
    feed(&mut s, 5)?;
    let n = 100u64;
    let c0 = dev.counters();
    feed(&mut s, n as usize)?;
    let c = dev.counters().since(&c0);
    drop(s.finish().map_err(e2s)?);
    let luma = g.width as u64 * g.height as u64;
    let label = "motion 1080p 8-bit";
    t.check(
        format!("counters {label}: device allocations / frame"),
        format!("{}", c.device_allocs as f64 / n as f64),
        c.device_allocs == 0 && c.pinned_allocs == 0,
    );
    t.check(
        format!("counters {label}: host waits / frame"),
        format!("{}", c.host_waits as f64 / n as f64),
        c.host_waits <= n,
    );
    t.check(
        format!("counters {label}: bytes up / frame (formula: reference luma {luma})"),
        format!("{}", c.htod_bytes / n),
        c.htod_bytes == n * luma,
    );
    t.check(format!("counters {label}: bytes down / frame"), format!("{}", c.dtoh_bytes / n), c.dtoh_bytes == n * 8);
    // Two launches: the session's upload is copied into motion's history
    // on the device, then summed.
    t.check(
        format!("counters {label}: kernel launches / frame (history copy + SAD)"),
        format!("{}", c.launches as f64 / n as f64),
        c.launches == 2 * n,
    );

    // The extractor's own frame path: no heap allocation.
    let o = motion_options(&[("motion_five_frame_window", "true")]);
    let mut ex = CudaMotion::new(dev, &o, g).map_err(e2s)?;
    let mut sink = FeatureSink::new();
    for i in 0..5u32 {
        let (r, d) = &frames[i as usize % 4];
        ex.submit_host(r, d, i).map_err(e2s)?;
        ex.collect_frame(i, &mut sink).map_err(e2s)?;
        sink.clear();
    }
    let a0 = allocations();
    for i in 5..105u32 {
        let (r, d) = &frames[i as usize % 4];
        ex.submit_host(r, d, i).map_err(e2s)?;
        ex.collect_frame(i, &mut sink).map_err(e2s)?;
        sink.clear();
    }
    let a = allocations() - a0;
    t.check("motion extractor frame path: host heap allocations in 100 frames", a.to_string(), a == 0);

    let o = motion_options(&[]);
    for (label, w, h, bpc, n) in [
        ("1080p 8-bit", 1920u32, 1080u32, 8u8, 300u32),
        ("4K 8-bit", 3840, 2160, 8, 120),
        ("4K 10-bit", 3840, 2160, 10, 100),
    ] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
        let pics = [picture(g, Fill::Random(5)), picture(g, Fill::Random(6))];
        let d = picture(g, Fill::Zero);
        let mut sink = FeatureSink::new();
        let mut ex = CudaMotion::new(dev, &o, g).map_err(e2s)?;
        let pairs = [(pics[0].clone(), d.clone()), (pics[1].clone(), d.clone())];
        let [seq, piped, resident] = timed_fps(&mut ex, dev, &pairs, n)?;
        let mut cpu = cpu_motion(&o, g);
        let m = (n / 10).max(5);
        let t0 = Instant::now();
        for i in 0..m {
            cpu.submit(&FramePair { reference: &pics[i as usize % 2], distorted: &d, index: i }).map_err(e2s)?;
            cpu.collect(i, &mut sink).map_err(e2s)?;
            sink.clear();
        }
        let cpu_fps = m as f64 / t0.elapsed().as_secs_f64();
        t.info(
            format!("fps motion {label}"),
            format!("CUDA host input {seq:.0} (pipelined {piped:.0}), device input {resident:.0}; CPU scalar 1 thread {cpu_fps:.0}"),
        );
    }
    Ok(())
}

#[cfg(feature = "fault-injection")]
fn fault_injection(t: &mut Table, dev: CudaDevice, clips: &Path) -> Result<(), String> {
    use vmaf_cuda::injection;
    let ordinal = dev.ordinal();
    let (g, frames) = pair_or_synthetic(clips, pairs_in(clips).first(), 3, 64, 36, 8)?;
    let opts = [("enable_apsnr", "true"), ("enable_mse", "true")];
    let run = || score(Backend::Cuda { device: ordinal }, g, &opts, &frames);
    let reference = run().map_err(e2s)?;

    // 1. Device held (as a server would): scorer init and every frame.
    injection::arm(None);
    run().map_err(e2s)?;
    let total = injection::disarm().calls;
    let (mut errors, mut leaks, mut recovered, mut swallowed) = (0, 0, 0, Vec::new());
    for k in 1..=total {
        injection::arm(Some(k));
        let r = run();
        let plan = injection::disarm();
        match (&r, plan.fired) {
            (Err(e), Some(_)) if e.to_string().contains("injected") => errors += 1,
            _ => swallowed.push(format!(
                "k={k} {:?}: {}",
                plan.fired,
                r.as_ref().err().map(e2s).unwrap_or_else(|| "no error".into())
            )),
        }
        leaks += (dev.counters().outstanding() != 0) as u64;
        recovered += run().ok().is_some_and(|rep| same(&reference.collector, &rep.collector).is_ok()) as u64;
    }
    t.check(
        format!("fault injection, device held: k = 1..{total} (init + per-frame calls)"),
        format!(
            "{errors}/{total} clean errors, {leaks} leaks, {recovered}/{total} fresh scorers OK{}",
            swallowed.first().map(|s| format!("; first bad: {s}")).unwrap_or_default()
        ),
        errors == total && leaks == 0 && recovered == total,
    );

    // 2. No handle held: each run opens the context and loads the module.
    let compiled = vmaf_cuda::compiled_count();
    drop(dev);
    injection::arm(None);
    run().map_err(e2s)?;
    let total = injection::disarm().calls;
    let (mut errors, mut recovered, mut bad) = (0, 0, Vec::new());
    for k in 1..=total {
        injection::arm(Some(k));
        let r = run();
        let plan = injection::disarm();
        match (&r, plan.fired) {
            (Err(e), Some(_)) if e.to_string().contains("injected") => errors += 1,
            _ => bad.push(format!("k={k} {:?}", plan.fired)),
        }
        recovered += run().ok().is_some_and(|rep| same(&reference.collector, &rep.collector).is_ok()) as u64;
    }
    t.check(
        format!("fault injection, device opened per run: k = 1..{total} (context + module + scorer)"),
        format!(
            "{errors}/{total} clean errors, {recovered}/{total} fresh scorers OK{}",
            bad.first().map(|s| format!("; first bad: {s}")).unwrap_or_default()
        ),
        errors == total && recovered == total,
    );
    let compiled_after = vmaf_cuda::compiled_count();
    t.check(
        "NVRTC compilations across all of the above (once per process)",
        format!("{compiled} -> {compiled_after}"),
        compiled_after == compiled,
    );
    Ok(())
}

// ---------------------------------------------------------------------- adm
//
// CUDA adm against the CPU scalar adm: every value bit for bit (debug on,
// so all 18 outputs), on the clips, hostile synthetic pictures, device
// input and the staging ring, plus counters, leaks and throughput. A
// mismatch row names the first differing frame and feature and prints both
// backends' per-level integer sums (the only data the GPU returns), with
// the first level and field that differ.

mod adm_check {
    use super::*;
    use vmaf_cpu::features::integer_adm::{reference_sums, AdmHost, LevelSums, OPTIONS as ADM_OPTIONS};
    use vmaf_cuda::CudaAdm;

    /// Default options, the no-enhancement (vmaf_v0.6.1neg) option, and
    /// the v1.0.16 models' options.
    pub const OPTION_SETS: &[&[(&str, &str)]] = &[
        &[],
        &[("adm_enhn_gain_limit", "1")],
        &[
            ("adm_dlm_weight", "0.7"),
            ("adm_enhn_gain_limit", "1.0"),
            ("adm_noise_weight", "0.02"),
            ("adm_norm_view_dist", "1.5"),
            ("adm_ref_display_height", "2160"),
            ("adm_min_val", "0.5"),
            ("adm_csf_mode", "2"),
        ],
    ];

    fn options(opts: &[(&str, &str)]) -> Options {
        let all = opts.iter().copied().chain([("debug", "true")]);
        Options::parse("adm", ADM_OPTIONS, all).expect("valid adm options")
    }

    fn cpu(o: &Options, g: Geometry) -> Result<Box<dyn Extractor>, String> {
        (vmaf_cpu::features::integer_adm::SPEC.create)(&CreateArgs {
            options: o,
            geometry: g,
            cpu_level: CpuLevel::Scalar,
            device: None,
        })
        .map_err(e2s)
    }

    fn first_sum_difference(got: &[LevelSums; 4], want: &[LevelSums; 4]) -> String {
        for l in 0..4 {
            let (a, b) = (&got[l], &want[l]);
            for (name, x, y) in [
                ("den", a.den.map(|v| v as i128), b.den.map(|v| v as i128)),
                ("num", a.num.map(|v| v as i128), b.num.map(|v| v as i128)),
                ("aim", a.aim.map(|v| v as i128), b.aim.map(|v| v as i128)),
            ] {
                if x != y {
                    return format!("first: level {l} {name} (h,v,d) CUDA {x:?} vs CPU {y:?}");
                }
            }
        }
        "integer sums equal (host math differs?)".into()
    }

    /// Why frame `i` differs: the values, then both backends' sums.
    fn explain(
        names: &[String],
        got: &FeatureSink,
        want: &FeatureSink,
        cuda: &CudaAdm,
        host: &AdmHost,
        pair: (&Picture, &Picture),
        i: usize,
    ) -> String {
        let (g, w) = (got.entries(), want.entries());
        let value = match g.iter().zip(w).find(|(a, b)| a.slot != b.slot || a.value.to_bits() != b.value.to_bits()) {
            Some((a, b)) => format!(
                "frame {i} {}: CUDA {:?} vs CPU {:?}",
                names.get(b.slot as usize).map_or("?", |n| n.as_str()),
                a.value,
                b.value
            ),
            None => format!("frame {i}: {} values vs {}", g.len(), w.len()),
        };
        let sums = match reference_sums(host, pair.0, pair.1) {
            Ok(want) => {
                let got = cuda.last_sums();
                format!("{}; CUDA sums {:?}; CPU sums {:?}", first_sum_difference(got, &want), got, want)
            }
            Err(e) => format!("CPU sums: {e}"),
        };
        format!("{value}; {sums}")
    }

    /// Scores `frames` on both backends; Ok(values compared) or the first
    /// mismatch, explained.
    pub fn compare(
        dev: &CudaDevice,
        g: Geometry,
        opts: &[(&str, &str)],
        frames: &[(Picture, Picture)],
    ) -> Result<usize, String> {
        let o = options(opts);
        let host = AdmHost::new(&o, g).map_err(e2s)?;
        let mut c = cpu(&o, g)?;
        let mut x = CudaAdm::new(dev, &o, g).map_err(e2s)?;
        let names = x.feature_names().to_vec();
        if names != c.feature_names() {
            return Err(format!("feature names differ: {names:?} vs {:?}", c.feature_names()));
        }
        let (mut got, mut want) = (FeatureSink::new(), FeatureSink::new());
        let mut n = 0;
        for (i, (r, d)) in frames.iter().enumerate() {
            let f = FramePair { reference: r, distorted: d, index: i as u32 };
            c.submit(&f).map_err(e2s)?;
            c.collect(i as u32, &mut want).map_err(e2s)?;
            x.submit(&f).map_err(e2s)?;
            x.collect(i as u32, &mut got).map_err(e2s)?;
            let same = got.entries().len() == want.entries().len()
                && got
                    .entries()
                    .iter()
                    .zip(want.entries())
                    .all(|(a, b)| a.slot == b.slot && a.index == b.index && a.value.to_bits() == b.value.to_bits());
            if !same {
                return Err(explain(&names, &got, &want, &x, &host, (r, d), i));
            }
            n += got.entries().len();
            got.clear();
            want.clear();
        }
        Ok(n)
    }

    pub fn parity_clips(t: &mut Table, dev: &CudaDevice, clips: &Path) -> Result<(), String> {
        let pairs = pairs_in(clips);
        if pairs.is_empty() {
            t.check("adm parity clips", format!("no clip pairs in {}", clips.display()), false);
        }
        for pair in &pairs {
            let (g, frames) = load_pair(clips, pair, usize::MAX)?;
            let mut values = 0;
            let mut bad = None;
            for opts in OPTION_SETS {
                match compare(dev, g, opts, &frames) {
                    Ok(n) => values += n,
                    Err(e) => {
                        bad = Some(format!("options {opts:?}: {e}"));
                        break;
                    }
                }
            }
            match bad {
                None => t.check(
                    format!("adm parity {pair}"),
                    format!(
                        "{} frames x {} option sets, {values} values bit-identical",
                        frames.len(),
                        OPTION_SETS.len()
                    ),
                    true,
                ),
                Some(e) => t.check(format!("adm parity {pair}"), e, false),
            }
        }
        // Through the registry and the Scorer, as `vmaf --backend cuda` runs it.
        if let Some(pair) = pairs.first() {
            let (g, frames) = load_pair(clips, pair, 4)?;
            let run = |backend| -> Result<Report, String> {
                let mut s =
                    Scorer::builder(g).backend(backend).feature("adm", &[]).map_err(e2s)?.build().map_err(e2s)?;
                for (r, d) in &frames {
                    let (a, b) = s.frame_slot();
                    copy_into(a, r);
                    copy_into(b, d);
                    s.commit_frame().map_err(e2s)?;
                }
                s.finish().map_err(e2s)
            };
            let cpu = run(Backend::Cpu)?;
            let cuda = run(Backend::Cuda { device: dev.ordinal() })?;
            match same(&cpu.collector, &cuda.collector) {
                Ok(n) => t.check(format!("adm through the Scorer ({pair})"), format!("{n} values identical"), true),
                Err(e) => t.check(format!("adm through the Scorer ({pair})"), e, false),
            }
        }
        Ok(())
    }

    /// A gradient with ripples and noise: natural-looking detail, most
    /// gradients agreeing with a mildly distorted copy.
    fn texture(g: Geometry, seed: u64) -> Picture {
        let mut pic = Picture::new(g);
        let max = (1u64 << g.bit_depth) - 1;
        let mut rng = Rng(seed | 1);
        let (w, h) = (g.width as u64, g.height as u64);
        let mut value = |i: usize, stride: usize| {
            let (x, y) = ((i % stride) as u64, (i / stride) as u64);
            let base = (x * max / w + y * max / h) / 2;
            let ripple = ((x * 7 + y * 3) % 16) * max / 64;
            (base + ripple + rng.next() % (max / 32 + 1)).min(max)
        };
        match pic.data_mut() {
            PictureData::U8(p) => {
                let s = p[0].stride();
                p[0].data_mut().iter_mut().enumerate().for_each(|(i, v)| *v = value(i, s) as u8)
            }
            PictureData::U16(p) => {
                let s = p[0].stride();
                p[0].data_mut().iter_mut().enumerate().for_each(|(i, v)| *v = value(i, s) as u16)
            }
        }
        pic
    }

    fn hostile_frames(g: Geometry, seed: u64) -> Frames {
        let tex = texture(g, seed);
        vec![
            (picture(g, Fill::Random(seed)), picture(g, Fill::Random(seed + 1))),
            (tex.clone(), distort(&tex, seed + 2)),
            (picture(g, Fill::Zero), picture(g, Fill::Zero)),
            (picture(g, Fill::Max), picture(g, Fill::Zero)),
            (picture(g, Fill::Random(seed + 3)), picture(g, Fill::Max)),
            (tex.clone(), tex),
        ]
    }

    pub fn parity_synthetic(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
        let sizes = [(33u32, 33u32), (34, 35), (47, 41), (64, 36), (65, 65), (129, 67), (333, 97)];
        let (mut cases, mut values, mut bad) = (0, 0, Vec::new());
        for bpc in [8u8, 10, 12, 16] {
            for (w, h) in sizes {
                // Luma is all adm reads; the sampling must not matter.
                let s = if w % 2 == 1 { ChromaSampling::Cs420 } else { ChromaSampling::Cs400 };
                let g = Geometry::new(w, h, s, bpc).map_err(e2s)?;
                let frames = hostile_frames(g, (w * 131 + h * 7 + bpc as u32) as u64);
                for opts in OPTION_SETS {
                    cases += 1;
                    match compare(dev, g, opts, &frames) {
                        Ok(n) => values += n,
                        Err(e) if bad.is_empty() => bad.push(format!("{w}x{h} {bpc}-bit {opts:?}: {e}")),
                        Err(_) if bad.len() < 4 => bad.push(format!("{w}x{h} {bpc}-bit")),
                        Err(_) => bad.push(String::new()),
                    }
                }
            }
        }
        t.check(
            "adm parity synthetic (33..333 wide, 8-16 bit, random/texture/zero/max, 3 option sets)",
            if bad.is_empty() {
                format!("{cases} cases x 6 frames, {values} values identical")
            } else {
                format!("{} of {cases} differ; {}", bad.len(), bad[..bad.len().min(4)].join(" | "))
            },
            bad.is_empty(),
        );
        // The largest sums: 4K, full-scale 16-bit content.
        let g = Geometry::new(3840, 2160, ChromaSampling::Cs420, 16).map_err(e2s)?;
        let frames = vec![
            (picture(g, Fill::Max), picture(g, Fill::Zero)),
            (picture(g, Fill::Random(9)), picture(g, Fill::Random(10))),
        ];
        match compare(dev, g, &[], &frames) {
            Ok(n) => t.check("adm parity 4K 16-bit full-scale", format!("{n} values identical"), true),
            Err(e) => t.check("adm parity 4K 16-bit full-scale", e, false),
        }
        Ok(())
    }

    fn values(sink: &FeatureSink) -> Vec<(u16, u32, u64)> {
        sink.entries().iter().map(|e| (e.slot, e.index, e.value.to_bits())).collect()
    }

    fn cpu_values(o: &Options, g: Geometry, frames: &[(Picture, Picture)]) -> Result<Vec<(u16, u32, u64)>, String> {
        let mut c = cpu(o, g)?;
        let mut sink = FeatureSink::new();
        for (i, (r, d)) in frames.iter().enumerate() {
            c.submit(&FramePair { reference: r, distorted: d, index: i as u32 }).map_err(e2s)?;
            c.collect(i as u32, &mut sink).map_err(e2s)?;
        }
        Ok(values(&sink))
    }

    pub fn parity_device_input(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
        let o = options(&[]);
        let mut n = 0;
        for (w, h, s, bpc) in [
            (577u32, 323u32, ChromaSampling::Cs420, 8u8),
            (33, 33, ChromaSampling::Cs400, 16),
            (1920, 1080, ChromaSampling::Cs420, 10),
        ] {
            let g = Geometry::new(w, h, s, bpc).map_err(e2s)?;
            let frames: Frames = (0..3)
                .map(|i| {
                    let r = texture(g, 100 + i);
                    let d = distort(&r, 7 + i);
                    (r, d)
                })
                .collect();
            let want = cpu_values(&o, g, &frames)?;
            let mut x = CudaAdm::new(dev, &o, g).map_err(e2s)?;
            let (mut dr, mut dd) = (DevicePicture::new(dev, g).map_err(e2s)?, DevicePicture::new(dev, g).map_err(e2s)?);
            let mut sink = FeatureSink::new();
            for (i, (r, d)) in frames.iter().enumerate() {
                dr.upload(r).map_err(e2s)?;
                dd.upload(d).map_err(e2s)?;
                let before = dev.counters();
                x.submit_device(&dr.picture(), &dd.picture(), i as u32).map_err(e2s)?;
                let up = dev.counters().since(&before).htod_bytes;
                if up != 0 {
                    return Err(format!("device-resident submit uploaded {up} bytes"));
                }
                x.collect_frame(i as u32, &mut sink).map_err(e2s)?;
            }
            if values(&sink) != want {
                t.check(
                    "adm parity device-resident input (pitched, 0 bytes up)",
                    format!("{w}x{h} {bpc}-bit differs"),
                    false,
                );
                return Ok(());
            }
            n += 1;
        }
        t.check("adm parity device-resident input (pitched, 0 bytes up)", format!("{n} geometries identical"), true);
        Ok(())
    }

    pub fn parity_pipelined(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
        let g = Geometry::new(1280, 720, ChromaSampling::Cs420, 10).map_err(e2s)?;
        let o = options(&[]);
        let frames: Frames = (0..12)
            .map(|i| {
                let r = texture(g, i);
                let d = distort(&r, 50 + i);
                (r, d)
            })
            .collect();
        let want = cpu_values(&o, g, &frames)?;
        let mut x = CudaAdm::new(dev, &o, g).map_err(e2s)?;
        let (sink, refused) = pipelined_ring(&mut x, &frames)?;
        let got = values(&sink);
        t.check(
            format!("adm parity pipelined ({RING}-slot ring, 12 frames 720p 10-bit)"),
            format!("identical: {}, frame {} in flight refused: {refused}", got == want, RING + 1),
            got == want && refused,
        );
        Ok(())
    }

    pub fn counters(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
        let g = Geometry::new(1920, 1080, ChromaSampling::Cs420, 8).map_err(e2s)?;
        let o = Options::parse("adm", ADM_OPTIONS, std::iter::empty::<(&str, &str)>()).map_err(e2s)?;
        let r = texture(g, 1);
        let d = distort(&r, 2);
        let mut x = CudaAdm::new(dev, &o, g).map_err(e2s)?;
        let mut sink = FeatureSink::new();
        for i in 0..5 {
            x.submit_host(&r, &d, i).map_err(e2s)?;
            x.collect_frame(i, &mut sink).map_err(e2s)?;
            sink.clear();
        }
        let n = 100u64;
        let (c0, a0) = (dev.counters(), allocations());
        for i in 5..5 + n as u32 {
            x.submit_host(&r, &d, i).map_err(e2s)?;
            x.collect_frame(i, &mut sink).map_err(e2s)?;
            sink.clear();
        }
        let (c, a) = (dev.counters().since(&c0), allocations() - a0);
        let label = "adm counters 1080p 8-bit";
        t.check(
            format!("{label}: device allocations / frame"),
            format!("{}", (c.device_allocs + c.pinned_allocs) as f64 / n as f64),
            c.device_allocs == 0 && c.pinned_allocs == 0,
        );
        t.check(
            format!("{label}: host waits / frame"),
            format!("{}", c.host_waits as f64 / n as f64),
            c.host_waits <= n,
        );
        let up = 2 * 1920 * 1080;
        t.check(
            format!("{label}: bytes up / frame (formula 2 x luma {})", up / 2),
            format!("{}", c.htod_bytes / n),
            c.htod_bytes == n * up && x.upload_bytes_per_frame() as u64 == up,
        );
        t.check(
            format!("{label}: bytes down / frame (4 levels x 9 sums x 8)"),
            format!("{}", c.dtoh_bytes / n),
            c.dtoh_bytes == n * 288,
        );
        t.check(
            format!("{label}: kernel launches / frame"),
            format!("{}", c.launches as f64 / n as f64),
            c.launches == n * x.launches_per_frame() as u64 && x.launches_per_frame() == 16,
        );
        t.check(format!("{label}: host heap allocations in the extractor's frame path"), a.to_string(), a == 0);
        t.info(format!("{label}: device memory held"), mib(x.device_bytes() as i64));
        Ok(())
    }

    pub fn leaks(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
        let g = Geometry::new(576, 324, ChromaSampling::Cs420, 8).map_err(e2s)?;
        let o = options(&[]);
        let frames: Frames = (0..2).map(|i| (texture(g, i), distort(&texture(g, i), i))).collect();
        let want = cpu_values(&o, g, &frames)?;
        let (mut first, mut worst, mut mismatches) = (0i64, 0u64, 0);
        for cycle in 1..=50 {
            let mut x = CudaAdm::new(dev, &o, g).map_err(e2s)?;
            let mut sink = FeatureSink::new();
            for (i, (r, d)) in frames.iter().enumerate() {
                x.submit_host(r, d, i as u32).map_err(e2s)?;
                x.collect_frame(i as u32, &mut sink).map_err(e2s)?;
            }
            // One frame left in flight: dropping must still be clean.
            x.submit_host(&frames[0].0, &frames[0].1, 9).map_err(e2s)?;
            mismatches += (values(&sink) != want) as usize;
            drop(x);
            worst = worst.max(dev.counters().outstanding());
            if cycle == 1 {
                first = dev.memory_info().map_err(e2s)?.0 as i64;
            }
        }
        let last = dev.memory_info().map_err(e2s)?.0 as i64;
        t.check(
            "adm leaks: 50 create/score/drop cycles (device free change, outstanding, mismatches)",
            format!("{} , {worst}, {mismatches}", mib(last - first)),
            last == first && worst == 0 && mismatches == 0,
        );
        Ok(())
    }

    pub fn throughput(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
        let o = Options::parse("adm", ADM_OPTIONS, std::iter::empty::<(&str, &str)>()).map_err(e2s)?;
        for (label, w, h, bpc, n) in [
            ("1080p 8-bit", 1920u32, 1080u32, 8u8, 200u32),
            ("4K 8-bit", 3840, 2160, 8, 60),
            ("4K 10-bit", 3840, 2160, 10, 60),
        ] {
            let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
            let r = texture(g, 5);
            let d = distort(&r, 6);
            let mut sink = FeatureSink::new();
            let mut x = CudaAdm::new(dev, &o, g).map_err(e2s)?;
            let [seq, piped, resident] = timed_fps(&mut x, dev, &[(r.clone(), d.clone())], n)?;
            let mut c = cpu(&o, g)?;
            let m = 5;
            let t0 = Instant::now();
            for i in 0..m {
                c.submit(&FramePair { reference: &r, distorted: &d, index: i }).map_err(e2s)?;
                c.collect(i, &mut sink).map_err(e2s)?;
                sink.clear();
            }
            let cpu_fps = m as f64 / t0.elapsed().as_secs_f64();
            t.info(
                format!("fps adm {label}"),
                format!("CUDA host input {seq:.0} (pipelined {piped:.0}), device input {resident:.0}; CPU scalar 1 thread {cpu_fps:.1}"),
            );
        }
        Ok(())
    }
}

/// Every adm row; one call from `main`.
fn adm_checks(t: &mut Table, dev: &CudaDevice, clips: &Path) {
    let started = Instant::now();
    section(t, "adm parity clips", |t| adm_check::parity_clips(t, dev, clips));
    section(t, "adm parity synthetic", |t| adm_check::parity_synthetic(t, dev));
    section(t, "adm parity device input", |t| adm_check::parity_device_input(t, dev));
    section(t, "adm parity pipelined", |t| adm_check::parity_pipelined(t, dev));
    section(t, "adm counters", |t| adm_check::counters(t, dev));
    section(t, "adm leaks", |t| adm_check::leaks(t, dev));
    section(t, "adm throughput", |t| adm_check::throughput(t, dev));
    t.info("adm checks time", format!("{:.1} s", started.elapsed().as_secs_f64()));
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut clips = PathBuf::from(".device-carry/clips");
    let mut ordinal = 0usize;
    let (mut ours, mut libvmaf) = (None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--clips" => clips = args.next().map(PathBuf::from).unwrap_or(clips),
            "--vmaf" => ours = args.next().map(PathBuf::from),
            "--libvmaf" => libvmaf = args.next().map(PathBuf::from),
            "--device" => ordinal = args.next().and_then(|v| v.parse().ok()).unwrap_or(0),
            _ => {
                eprintln!("usage: device_check [--clips DIR] [--device N] [--vmaf PATH] [--libvmaf PATH]");
                return ExitCode::from(2);
            }
        }
    }
    let started = Instant::now();
    let mut t = Table::default();
    let dev = match CudaDevice::new(ordinal) {
        Ok(d) => d,
        Err(e) => {
            t.check(format!("open CUDA device {ordinal}"), e.to_string(), false);
            t.print();
            return ExitCode::FAILURE;
        }
    };
    if let Ok(d) = vmaf_cuda::loader::driver() {
        t.info("driver", format!("{} (CUDA {}.{})", d.library, d.version / 1000, d.version % 1000 / 10));
    }
    let (free, total) = dev.memory_info().unwrap_or((0, 0));
    t.info(
        "device",
        format!(
            "{} {}: sm_{}{}, {} free of {}",
            ordinal,
            dev.name(),
            dev.compute_capability().0,
            dev.compute_capability().1,
            mib(free as i64),
            mib(total as i64)
        ),
    );
    match vmaf_cuda::loader::nvrtc() {
        Ok(n) => t.info("nvrtc", format!("{} ({}.{})", n.library, n.version.0, n.version.1)),
        Err(e) => t.check("nvrtc", e.to_string(), false),
    }
    section(&mut t, "parity clips", |t| parity_clips(t, &dev, &clips));
    section(&mut t, "parity synthetic", |t| parity_synthetic(t, &dev));
    section(&mut t, "parity device input", |t| parity_device_input(t, &dev));
    section(&mut t, "parity pipelined", |t| parity_pipelined(t, &dev));
    section(&mut t, "leak cycles", |t| leak_cycles(t, &dev, &clips));
    section(&mut t, "threads", |t| threads(t, &dev, &clips));
    section(&mut t, "counters", |t| counters(t, &dev));
    section(&mut t, "throughput", |t| throughput(t, &dev));
    section(&mut t, "vif", |t| vif::vif_checks(t, &dev, &clips));
    adm_checks(&mut t, &dev, &clips);
    section(&mut t, "motion parity", |t| motion_parity(t, &dev, &clips));
    section(&mut t, "motion counters and fps", |t| motion_counters_and_fps(t, &dev));
    vmaf_model::vmaf_checks(&mut t, &dev, &clips);
    e2e::e2e_checks(&mut t, &dev, ours.as_deref(), libvmaf.as_deref());
    t.info("modules loaded on the device", dev.loaded_modules().to_string());
    #[cfg(feature = "fault-injection")]
    section(&mut t, "fault injection", |t| fault_injection(t, dev, &clips));
    #[cfg(not(feature = "fault-injection"))]
    {
        drop(dev);
        t.info("fault injection", "not built (cargo feature fault-injection)");
    }
    t.info("total time", format!("{:.1} s", started.elapsed().as_secs_f64()));
    t.print();
    if t.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
