//! Per-frame time of the cambi extractor alone, at every CPU level this
//! machine has: the frames of a Y4M (or raw) file are read into memory
//! first, then scored by one extractor instance on one thread, so the
//! numbers leave decoding, threading and output out.
//!
//! `cargo run --release -p vmaf --example cambi_speed -- DIST.y4m [REF.y4m] [opt=value ...]`
//!
//! With a reference (needed only for `full_ref=true`) the pairs are scored
//! as given; without one, the file is its own reference. `VMAF_BENCH_RUNS`
//! (default 3) passes are made over the frames; reported are the wall time
//! of the best pass and, on Linux, the thread's CPU time averaged over all
//! passes (which a busy machine disturbs less).

use std::path::Path;
use std::time::Instant;

use vmaf::io;
use vmaf_core::{CpuLevel, CreateArgs, FeatureSink, FramePair, Options, Picture};

/// CPU time of this thread in ms, where the OS tells it (Linux).
fn thread_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 12th and 13th of them, in clock ticks (100 per second on Linux).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

fn read_all(path: &str) -> Vec<Picture> {
    let mut r = io::open(Path::new(path), None).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut frames = Vec::new();
    loop {
        let mut p = Picture::new(r.geometry());
        if !r
            .read_frame(&mut p)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
        {
            break;
        }
        frames.push(p);
    }
    frames
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files: Vec<&String> = args.iter().filter(|a| !a.contains('=')).collect();
    let opts: Vec<(&str, &str)> = args.iter().filter_map(|a| a.split_once('=')).collect();
    let Some(dist_path) = files.first() else {
        eprintln!("usage: cambi_speed DIST.y4m [REF.y4m] [opt=value ...]");
        std::process::exit(2);
    };
    let dist = read_all(dist_path);
    let refs = files.get(1).map(|p| read_all(p));
    let refs = refs.as_ref().unwrap_or(&dist);
    let g = *dist[0].geometry();
    let spec = vmaf_cpu::EXTRACTORS
        .iter()
        .find(|s| s.name == "cambi")
        .expect("cambi is registered");
    let options = Options::parse(spec.name, spec.options, opts.iter().copied()).expect("options");
    let runs: usize = std::env::var("VMAF_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);

    let best = vmaf_cpu::detect_cpu_level();
    // AVX-512 machines run the AVX2 kernels at that level: not timed twice.
    // `VMAF_BENCH_LEVEL=avx2` (or `scalar`) times one level only.
    let only = std::env::var("VMAF_BENCH_LEVEL")
        .ok()
        .and_then(|s| vmaf_cpu::parse_cpu_level(&s));
    let levels = [CpuLevel::Scalar, CpuLevel::Avx2]
        .into_iter()
        .filter(|&l| l <= best && only.map_or(true, |o| o == l));
    println!(
        "{}x{} {}-bit, {} frames, options {:?}",
        g.width,
        g.height,
        g.bit_depth,
        dist.len(),
        opts
    );
    let mut first: Option<Vec<f64>> = None;
    for level in levels {
        let mut ex = (spec.create)(&CreateArgs {
            options: &options,
            geometry: g,
            cpu_level: level, device: None })
        .expect("create");
        let mut sink = FeatureSink::new();
        let mut best_ms = f64::INFINITY;
        // CPU time comes in 10 ms ticks: it is averaged over every pass.
        let cpu0 = thread_cpu_ms();
        let mut scores = Vec::new();
        for _ in 0..runs {
            scores.clear();
            let t = Instant::now();
            for (i, (d, r)) in dist.iter().zip(refs).enumerate() {
                let f = FramePair {
                    reference: r,
                    distorted: d,
                    index: i as u32,
                };
                ex.submit(&f).expect("submit");
                ex.collect(i as u32, &mut sink).expect("collect");
                scores.extend(sink.entries().iter().map(|e| e.value));
                sink.clear();
            }
            best_ms = best_ms.min(t.elapsed().as_secs_f64() * 1e3 / dist.len() as f64);
        }
        let cpu = match (cpu0, thread_cpu_ms()) {
            (Some(a), Some(b)) => (b - a) / (runs * dist.len()) as f64,
            _ => f64::NAN,
        };
        let same = match &first {
            None => {
                first = Some(scores.clone());
                "reference"
            }
            Some(f) if *f == scores => "identical to scalar",
            Some(_) => "DIFFERENT FROM SCALAR",
        };
        println!(
            "{level:?}: {best_ms:.2} ms/frame wall (best pass), {cpu:.2} ms/frame CPU (mean) ({same}); first score {:.6}",
            scores[0]
        );
    }
}
