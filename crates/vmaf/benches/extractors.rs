//! Per-frame cost of single extractors (ciede and psnr_hvs unless told
//! otherwise), by default at 1080p on the retina clip pair (1920x1080
//! 4:2:0 8-bit, 12 frames) of `./clips`.
//!
//! Frames are decoded into memory first; the timed part is the extractor
//! alone (`submit` + `collect`) on one thread, for every CPU level this
//! machine supports. Prints the median and the fastest wall time per
//! frame, and the mean CPU time of the thread per frame (from
//! `/proc/thread-self/schedstat`, where available), which other processes
//! on a busy machine disturb less.
//!
//! `cargo bench -p vmaf --bench extractors`. Environment:
//! `VMAF_BENCH_FEATURES` the extractors (space-separated, "ciede psnr_hvs"),
//! `VMAF_BENCH_RUNS` how many passes over the clip are timed (3),
//! `VMAF_BENCH_REF` / `VMAF_BENCH_DIS` another pair of files to read,
//! `VMAF_BENCH_FRAMES` at most this many frames of it (24),
//! `VMAF_BENCH_LEVELS` the CPU levels to time ("scalar avx2 avx512", those
//! this machine has), `VMAF_BENCH_OPTIONS` extractor options
//! (space-separated `opt=value`, given to every extractor that has them).

use std::time::Instant;

use vmaf::io;
use vmaf_core::{CpuLevel, CreateArgs, FeatureSink, FramePair, Options, Picture};

const PAIR: &str = "retina_1920x1080_yuv420p_crf28";

/// Time this thread has run on a CPU, in ns (Linux only).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

fn main() {
    let runs: usize = std::env::var("VMAF_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let clips = std::env::var_os("VMAF_CLIPS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../clips"));
    let path =
        |kind: &str, var: &str| env(var).map(Into::into).unwrap_or_else(|| clips.join(format!("{PAIR}.{kind}.y4m")));
    let open = |p: std::path::PathBuf| {
        io::open(&p, None).unwrap_or_else(|e| panic!("{}: {e} (make the clips first)", p.display()))
    };
    let (ref_path, dis_path) = (path("ref", "VMAF_BENCH_REF"), path("dis", "VMAF_BENCH_DIS"));
    let name = ref_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (mut r, mut d) = (open(ref_path), open(dis_path));
    let g = r.geometry();
    let max_frames: usize = env("VMAF_BENCH_FRAMES").and_then(|v| v.parse().ok()).unwrap_or(24);
    let features = env("VMAF_BENCH_FEATURES").unwrap_or_else(|| "ciede psnr_hvs".into());
    let opt_list = env("VMAF_BENCH_OPTIONS").unwrap_or_default();
    let opts: Vec<(&str, &str)> = opt_list
        .split_whitespace()
        .map(|kv| kv.split_once('=').unwrap_or_else(|| panic!("VMAF_BENCH_OPTIONS: {kv} is not opt=value")))
        .collect();
    let mut frames = Vec::new();
    while frames.len() < max_frames {
        let (mut a, mut b) = (Picture::new(g), Picture::new(g));
        if !(r.read_frame(&mut a).unwrap() && d.read_frame(&mut b).unwrap()) {
            break;
        }
        frames.push((a, b));
    }
    let best = vmaf_cpu::detect_cpu_level();
    let wanted = env("VMAF_BENCH_LEVELS").unwrap_or_else(|| "scalar avx2 avx512".into()).to_ascii_lowercase();
    let levels: Vec<CpuLevel> = [CpuLevel::Scalar, CpuLevel::Avx2, CpuLevel::Avx512]
        .into_iter()
        .filter(|&l| l <= best && wanted.split_whitespace().any(|w| w == format!("{l:?}").to_ascii_lowercase()))
        .collect();
    println!("{name}: {} frames of {}x{}, {runs} timed passes", frames.len(), g.width, g.height);
    println!("| feature        | level  | wall ms/frame (median) | fastest | CPU ms/frame (mean) |");
    println!("|----------------|--------|------------------------|---------|---------------------|");
    for name in features.split_whitespace() {
        let Some(spec) = vmaf_cpu::EXTRACTORS.iter().find(|s| s.name == name) else {
            eprintln!("no extractor named {name}");
            continue;
        };
        // Only the options this extractor has: one list serves several.
        let own = opts.iter().filter(|(k, _)| spec.options.iter().any(|o| o.name == *k)).map(|(k, v)| (*k, *v));
        let options = Options::parse(spec.name, spec.options, own).unwrap_or_else(|e| panic!("{name}: {e}"));
        for &level in &levels {
            let args = CreateArgs { options: &options, geometry: g, cpu_level: level, device: None };
            let mut sink = FeatureSink::new();
            let mut times = Vec::new();
            let cpu0 = thread_cpu_ns();
            for _ in 0..runs {
                // A fresh extractor per pass: nothing learnt on one pass
                // (ciede's colour memo, motion's previous frame) carries
                // into the next.
                let mut e = (spec.create)(&args).unwrap();
                for (i, (a, b)) in frames.iter().enumerate() {
                    let t = Instant::now();
                    e.submit(&FramePair { reference: a, distorted: b, index: i as u32 }).unwrap();
                    e.collect(i as u32, &mut sink).unwrap();
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                    sink.clear();
                }
            }
            let cpu = match (cpu0, thread_cpu_ns()) {
                (Some(a), Some(b)) => (b - a) as f64 / 1e6 / times.len() as f64,
                _ => f64::NAN,
            };
            times.sort_by(f64::total_cmp);
            println!(
                "| {name:<14} | {:<6} | {:>22.2} | {:>7.2} | {cpu:>19.2} |",
                format!("{level:?}"),
                times[times.len() / 2],
                times[0]
            );
        }
    }
}
