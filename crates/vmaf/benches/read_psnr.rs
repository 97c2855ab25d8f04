//! Foundation benchmark: how fast a 1080p pair is read, and read and
//! scored with psnr through `vmaf::score_streams`, at 8 and 10 bits.
//!
//! Writes a synthetic 1920x1080 4:2:0 Y4M pair (moving content and a
//! distorted copy) into a temporary folder, then times each case several
//! times and prints the median in frames per second, with the peak
//! resident memory of each case (VmHWM, reset between cases where the
//! kernel allows), which must stay flat whatever the clip length: readers
//! stream.
//!
//! `cargo bench -p vmaf --bench read_psnr` (under 30 s on 2 cores, once built).
//! `VMAF_BENCH_FRAMES` and `VMAF_BENCH_RUNS` change the clip length (120)
//! and the runs per case (5).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use vmaf::io::{self, VideoReader};
use vmaf::{ChromaSampling, Geometry, Picture, PictureData, Scorer};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Fills frame `t` of the reference (or, with `distort`, of the distorted
/// copy): a pattern that moves every frame, so no two frames are alike,
/// and for the distorted copy a small deterministic error on top.
fn synth(pic: &mut Picture, t: u32, distort: bool) {
    let depth = pic.bit_depth() as u32;
    let max = (1i32 << depth) - 1;
    let sample = move |p: usize, x: u32, y: u32| -> i32 {
        let (x, y) = (x + 3 * t, y + t);
        let base = if p == 0 { (x ^ y).wrapping_add((x * y) >> 7) & 255 } else { (x + 2 * y + 64 * p as u32) & 255 };
        let mut v = (base << (depth - 8)) as i32;
        if distort {
            let h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ t;
            v += ((h >> 13) % 7) as i32 - 3;
        }
        v.clamp(0, max)
    };
    match pic.data_mut() {
        PictureData::U8(planes) => {
            for (p, plane) in planes.iter_mut().enumerate() {
                for y in 0..plane.height() {
                    for (x, s) in plane.row_mut(y).iter_mut().enumerate() {
                        *s = sample(p, x as u32, y as u32) as u8;
                    }
                }
            }
        }
        PictureData::U16(planes) => {
            for (p, plane) in planes.iter_mut().enumerate() {
                for y in 0..plane.height() {
                    for (x, s) in plane.row_mut(y).iter_mut().enumerate() {
                        *s = sample(p, x as u32, y as u32) as u16;
                    }
                }
            }
        }
    }
}

/// Writes the pair, one frame at a time (so generating costs no memory).
fn write_pair(dir: &Path, g: Geometry, frames: u32) -> (PathBuf, PathBuf) {
    let paths = (dir.join(format!("ref_{}bit.y4m", g.bit_depth)), dir.join(format!("dis_{}bit.y4m", g.bit_depth)));
    let mut pic = Picture::new(g);
    for (path, distort) in [(&paths.0, false), (&paths.1, true)] {
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create clip"));
        io::write_y4m_header(&mut w, &g, (25, 1)).unwrap();
        for t in 0..frames {
            synth(&mut pic, t, distort);
            io::write_y4m_frame(&mut w, &pic).unwrap();
        }
        w.flush().unwrap();
    }
    paths
}

/// A `/proc/self/status` field in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the process's peak resident size to its current size (Linux
/// `clear_refs` 5); false where that is not allowed.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn open_pair(r: &Path, d: &Path) -> (Box<dyn VideoReader>, Box<dyn VideoReader>) {
    (io::open(r, None).expect("open reference"), io::open(d, None).expect("open distorted"))
}

/// Reads both streams to the end; returns the frame pairs read.
fn read_only(r: &Path, d: &Path) -> u32 {
    let (mut r, mut d) = open_pair(r, d);
    let (mut a, mut b) = (Picture::new(r.geometry()), Picture::new(d.geometry()));
    let mut n = 0;
    while r.read_frame(&mut a).unwrap() && d.read_frame(&mut b).unwrap() {
        n += 1;
    }
    std::hint::black_box((&a, &b));
    n
}

/// Reads and scores psnr; returns the frames scored.
fn read_psnr(r: &Path, d: &Path, threads: usize) -> u32 {
    let (mut r, mut d) = open_pair(r, d);
    let b = Scorer::builder(r.geometry()).feature("psnr", &[]).unwrap().threads(threads);
    let report = vmaf::score_streams(&mut *r, &mut *d, b, Default::default(), |_| {}, |w| panic!("{w}")).unwrap();
    std::hint::black_box(&report.collector);
    report.frames
}

struct Row {
    depth: u8,
    case: &'static str,
    threads: String,
    fps: [f64; 3],
    peak_mib: f64,
}

/// Runs `f` `runs` times; (median, min, max) frames/s and the peak resident
/// size reached while it ran, in MiB.
fn measure(runs: usize, frames: u32, mut f: impl FnMut() -> u32) -> ([f64; 3], f64) {
    let can_reset = reset_peak();
    let mut fps: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let n = f();
            assert_eq!(n, frames, "not every frame was read");
            n as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    fps.sort_by(f64::total_cmp);
    let peak = status_kib("VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let peak = if can_reset { peak } else { f64::NAN };
    ([fps[fps.len() / 2], fps[0], fps[fps.len() - 1]], peak)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let frames = env_or("VMAF_BENCH_FRAMES", 120) as u32;
    let runs = env_or("VMAF_BENCH_RUNS", 5).max(1);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut thread_counts = vec![1, 2, cores];
    thread_counts.dedup();
    thread_counts.sort_unstable();
    thread_counts.dedup();

    let dir = tempfile::tempdir().expect("temporary folder");
    let start_rss = status_kib("VmRSS:").unwrap_or(0) as f64 / 1024.0;
    let mut rows = Vec::new();
    for depth in [8u8, 10] {
        let g = Geometry::new(1920, 1080, ChromaSampling::Cs420, depth).unwrap();
        let t = Instant::now();
        let (r, d) = write_pair(dir.path(), g, frames);
        eprintln!(
            "{depth}-bit: wrote 2 x {frames} frames ({:.0} MiB each) in {:.1} s",
            (g.frame_bytes() + 6) as f64 * frames as f64 / (1 << 20) as f64,
            t.elapsed().as_secs_f64()
        );
        // One untimed pass, so every case reads from a warm page cache.
        read_only(&r, &d);
        let (fps, peak_mib) = measure(runs, frames, || read_only(&r, &d));
        rows.push(Row { depth, case: "read both", threads: "-".into(), fps, peak_mib });
        for &n in &thread_counts {
            let (fps, peak_mib) = measure(runs, frames, || read_psnr(&r, &d, n));
            let label = if n == cores { format!("{n} (all)") } else { n.to_string() };
            rows.push(Row { depth, case: "read + psnr", threads: label, fps, peak_mib });
        }
        std::fs::remove_file(&r).ok();
        std::fs::remove_file(&d).ok();
    }

    println!();
    println!(
        "1920x1080 4:2:0, {frames} frames per stream, median of {runs} runs, {cores} cores; \
         RSS before: {start_rss:.1} MiB"
    );
    println!("| depth  | case        | threads | frames/s (median) | min..max      | peak RSS MiB |");
    println!("|--------|-------------|---------|-------------------|---------------|--------------|");
    for r in &rows {
        println!(
            "| {:>6} | {:<11} | {:<7} | {:>17.1} | {:>5.0}..{:<6.0} | {:>12.1} |",
            format!("{}-bit", r.depth),
            r.case,
            r.threads,
            r.fps[0],
            r.fps[1],
            r.fps[2],
            r.peak_mib
        );
    }
    println!("peak RSS at exit (VmHWM): {:.1} MiB", status_kib("VmHWM:").unwrap_or(0) as f64 / 1024.0);
}
