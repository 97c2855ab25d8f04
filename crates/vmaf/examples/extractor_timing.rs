//! Per-frame timing of one extractor at every CPU level this machine has.
//!
//! `cargo run --release -p vmaf --example extractor_timing -- REF DIS [FEATURE [FRAMES [opt=val ...]]]`
//!
//! The clip is decoded into memory first, so only the extractor is timed
//! (one instance, one thread, `submit` + `collect` per frame). Prints the
//! median, mean and best per-frame time over the frames, after one warm-up
//! pass.
//! `TIMING_LEVEL=scalar|avx2|avx512` times that level only (for profiling).

use std::path::PathBuf;
use std::time::Instant;

use vmaf_core::{CpuLevel, CreateArgs, FeatureSink, FramePair, Options, Picture};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: extractor_timing REF DIS [FEATURE [FRAMES [opt=val ...]]]".into());
    }
    let feature = args.get(2).map(String::as_str).unwrap_or("adm");
    let max_frames: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(usize::MAX);
    let opts: Vec<(String, String)> = args
        .iter()
        .skip(4)
        .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or("options are opt=val"))
        .collect::<Result<_, _>>()?;

    let mut r = vmaf::io::open(&PathBuf::from(&args[0]), None)?;
    let mut d = vmaf::io::open(&PathBuf::from(&args[1]), None)?;
    let g = r.geometry();
    let mut frames = Vec::new();
    while frames.len() < max_frames {
        let (mut pr, mut pd) = (Picture::new(g), Picture::new(g));
        if !r.read_frame(&mut pr)? || !d.read_frame(&mut pd)? {
            break;
        }
        frames.push((pr, pd));
    }
    let spec = vmaf_cpu::EXTRACTORS.iter().find(|s| s.name == feature).ok_or("unknown feature")?;
    let options = Options::parse(spec.name, spec.options, opts.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let hw = vmaf_cpu::detect_cpu_level();
    let only = std::env::var("TIMING_LEVEL").ok().and_then(|s| vmaf_cpu::parse_cpu_level(&s));
    println!("{feature} on {}x{} {}-bit, {} frames", g.width, g.height, g.bit_depth, frames.len());
    for level in [CpuLevel::Scalar, CpuLevel::Avx2, CpuLevel::Avx512] {
        if level > hw || only.is_some_and(|o| o != level) {
            continue;
        }
        let mut ex = (spec.create)(&CreateArgs { options: &options, geometry: g, cpu_level: level, device: None })?;
        let mut sink = FeatureSink::new();
        let mut times = Vec::with_capacity(frames.len());
        let mut checksum = 0f64;
        for pass in 0..2 {
            for (i, (pr, pd)) in frames.iter().enumerate() {
                let t = Instant::now();
                ex.submit(&FramePair { reference: pr, distorted: pd, index: i as u32 })?;
                ex.collect(i as u32, &mut sink)?;
                if pass == 1 {
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
                checksum += sink.entries().iter().map(|e| e.value).sum::<f64>();
                sink.clear();
            }
        }
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        times.sort_by(f64::total_cmp);
        println!(
            "{level:?}: median {:.3} ms/frame, mean {mean:.3}, best {:.3} (checksum {checksum:.9})",
            times[times.len() / 2],
            times[0]
        );
    }
    Ok(())
}
