//! `vmaf`: libvmaf's command-line tool, on vmaf-rs.
//!
//! Same flags, same output files; plus `--backend`, a progress bar and
//! one-line errors. Every failure exits non-zero with a message naming the
//! file or flag at fault, and never leaves a partly written output file.

mod args;
mod progress;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use args::{Command, Settings};
use vmaf::io::{self, RawFormat, VideoReader};
use vmaf::{output, Backend, CpuLevel, PoolMethod, Scorer, StreamRange};

fn main() -> ExitCode {
    match args::parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            eprint!("{}", args::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            eprintln!("{}", vmaf::output::LIBVMAF_VERSION);
            ExitCode::SUCCESS
        }
        Ok(Command::Score(s)) => match run(&s) {
            Ok(()) => ExitCode::SUCCESS,
            Err(msg) => {
                eprintln!("vmaf: error: {msg}");
                ExitCode::FAILURE
            }
        },
        Err(msg) => {
            eprintln!("vmaf: {msg}\nrun `vmaf --help` for the list of options");
            ExitCode::FAILURE
        }
    }
}

/// libvmaf's `--cpumask` bits (1 = forbid): SSE2, SSSE3, SSE4.1, AVX2,
/// AVX-512, AVX-512 ICL. Masking AVX2 leaves only scalar code (ours has no
/// SSE level); masking either AVX-512 bit caps the level at AVX2.
fn cpu_level_for_mask(mask: u32) -> CpuLevel {
    let hw = vmaf_cpu::detect_cpu_level();
    let cap = if mask & (1 << 3) != 0 {
        CpuLevel::Scalar
    } else if mask & (0b11 << 4) != 0 {
        CpuLevel::Avx2
    } else {
        CpuLevel::Avx512
    };
    hw.min(cap)
}

fn open(path: &Path, raw: Option<RawFormat>) -> Result<Box<dyn VideoReader>, String> {
    io::open(path, raw).map_err(|e| e.to_string())
}

/// Frames the progress bar can expect: known for regular files.
fn expected_frames(s: &Settings, r: &dyn VideoReader) -> Option<u64> {
    if s.reference == Path::new("-") {
        return None;
    }
    let len = std::fs::metadata(&s.reference).ok()?.len();
    let frame = r.geometry().frame_bytes() as u64;
    // Y4M adds a 6-byte FRAME line per frame; raw adds nothing. Either way
    // this is a progress estimate, not a count that matters.
    let per = if s.width.is_some() { frame } else { frame + 6 };
    let n = len / per;
    let n = n.saturating_sub(s.frame_skip_ref as u64);
    Some(if s.frame_cnt > 0 { n.min(s.frame_cnt as u64) } else { n })
}

fn run(s: &Settings) -> Result<(), String> {
    let stderr_tty = std::io::stderr().is_terminal();
    let raw = match (s.width, s.height, s.pixel_format, s.bit_depth) {
        (Some(width), Some(height), Some(sampling), Some(bit_depth)) => {
            Some(RawFormat { width, height, sampling, bit_depth })
        }
        _ => None,
    };
    let mut reference = open(&s.reference, raw)?;
    let mut distorted = open(&s.distorted, raw)?;
    if s.common_bitdepth {
        // AOM CTC v6+: score streams of different bit depths at the higher.
        let depth = reference.geometry().bit_depth.max(distorted.geometry().bit_depth);
        reference = io::upshift(reference, depth);
        distorted = io::upshift(distorted, depth);
    }
    vmaf::check_compatible(&*reference, &*distorted).map_err(|e| e.to_string())?;
    let geometry = reference.geometry();

    let backend = if s.gpumask != 0 { Backend::Cpu } else { s.backend };
    let mut builder = Scorer::builder(geometry)
        .threads(s.threads as usize)
        .subsample(s.subsample.max(1))
        .cpu_level(cpu_level_for_mask(s.cpumask))
        .backend(backend);
    let mut models = Vec::new();
    if !s.no_prediction {
        for m in &s.models {
            let model = vmaf::load_model(m).map_err(|e| e.to_string())?;
            builder = builder.model(model).map_err(|e| e.to_string())?;
            models.push(m);
        }
    }
    for f in &s.features {
        let opts: Vec<(&str, &str)> = f.options.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        builder = builder.feature(&f.name, &opts).map_err(|e| e.to_string())?;
    }

    let mut progress = Progress::new(stderr_tty && !s.quiet, expected_frames(s, &*reference));
    let range = StreamRange {
        skip_reference: s.frame_skip_ref,
        skip_distorted: s.frame_skip_dist,
        max_frames: s.frame_cnt,
    };
    let start = std::time::Instant::now();
    let mut warnings = Vec::new();
    let result = vmaf::score_streams(
        &mut *reference,
        &mut *distorted,
        builder,
        range,
        |n| progress.update(n),
        |w| warnings.push(w.to_owned()),
    );
    let frames_seen = result.as_ref().map(|r| r.frames).unwrap_or(0);
    progress.finish(frames_seen);
    for w in &warnings {
        eprintln!("vmaf: warning: {w}");
    }
    let report = result.map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    let fps = if secs > 0.0 { report.frames as f64 / secs } else { f64::INFINITY };

    // Pooled model scores, as libvmaf prints them; also on stdout when no
    // output file is asked for, so a bare run shows its result.
    let summary_to_stdout = s.output.is_none();
    for m in &models {
        let name = m.config.name.as_str();
        let Some(mean) = report.pooled(name, PoolMethod::Mean) else { continue };
        let line = format!("{}: {}", m.label(), summary(s, mean));
        if summary_to_stdout {
            println!("{line}");
        } else if stderr_tty && !s.quiet {
            eprintln!("{line}");
        }
    }
    if summary_to_stdout && models.is_empty() {
        for id in report.collector.ids() {
            let name = vmaf_core::alias::alias(report.collector.name(id));
            if let Some(mean) = report.pooled_by_id(id, PoolMethod::Mean) {
                println!("{name}: {}", summary(s, mean));
            }
        }
    }
    if let Some(path) = &s.output {
        output::write_report_with(path, s.format, &report, fps, s.precision).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A pooled score on the summary lines: `%.6f`, or the `--precision`
/// format when one is given (the fork prints these lines with it too).
fn summary(s: &Settings, v: f64) -> String {
    match s.precision {
        output::Precision::Default => format!("{v:.6}"),
        p => p.format(v).to_string(),
    }
}

use progress::Progress;
