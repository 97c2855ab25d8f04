//! End-to-end benchmark rows: the `vmaf` command itself, from Y4M files,
//! as users run it, next to libvmaf's `vmaf` when one is carried along.
//!
//! For each size and bit depth a synthetic pair is written to a temporary
//! folder (moving texture plus noise, so motion and every scale of vif and
//! adm have work), then scored with the default model by:
//! - `vmaf --backend cuda` (ours): frames/s over the whole run, wall clock,
//!   best of three;
//! - `vmaf --threads N` on the CPU (ours), N = every core;
//! - libvmaf 3.2.0's `vmaf --threads N`, if `--libvmaf PATH` is given.
//!
//! The CUDA run's JSON must equal the CPU run's, byte for byte, apart from
//! the `fps` line: the end-to-end parity check.

use super::*;
use std::process::Command;

use vmaf::io::{write_y4m_frame, write_y4m_header};

struct Tools<'a> {
    ours: &'a Path,
    libvmaf: Option<&'a Path>,
}

fn write_pair(dir: &Path, g: Geometry, frames: usize) -> Result<(PathBuf, PathBuf), String> {
    let pics = moving_frames(g, 8, 77);
    let (rp, dp) = (dir.join("ref.y4m"), dir.join("dis.y4m"));
    let mut r = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(&rp).map_err(e2s)?);
    let mut d = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(&dp).map_err(e2s)?);
    write_y4m_header(&mut r, &g, (25, 1)).map_err(e2s)?;
    write_y4m_header(&mut d, &g, (25, 1)).map_err(e2s)?;
    for i in 0..frames {
        let (a, b) = &pics[i % pics.len()];
        write_y4m_frame(&mut r, a).map_err(e2s)?;
        write_y4m_frame(&mut d, b).map_err(e2s)?;
    }
    use std::io::Write;
    r.flush().map_err(e2s)?;
    d.flush().map_err(e2s)?;
    Ok((rp, dp))
}

/// Runs one scorer command; (frames/s by wall clock, the JSON it wrote).
fn timed(tool: &Path, args: &[&str], r: &Path, d: &Path, out: &Path, frames: usize) -> Result<(f64, String), String> {
    let t0 = Instant::now();
    let o = Command::new(tool)
        .env("VMAF_KERNEL_CACHE", out.with_file_name("kernels"))
        .args(["-r", &r.display().to_string(), "-d", &d.display().to_string(), "--json", "-o"])
        .arg(out)
        .arg("-q")
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", tool.display()))?;
    let secs = t0.elapsed().as_secs_f64();
    if !o.status.success() {
        return Err(format!("{} {args:?}: {}", tool.display(), String::from_utf8_lossy(&o.stderr).trim()));
    }
    let json = std::fs::read_to_string(out).map_err(e2s)?;
    Ok((frames as f64 / secs, json))
}

/// The JSON without its `fps` line (it differs from run to run).
fn without_fps(json: &str) -> String {
    json.lines().filter(|l| !l.trim_start().starts_with("\"fps\"")).collect::<Vec<_>>().join("\n")
}

fn run_e2e(t: &mut Table, dev: &CudaDevice, tools: &Tools<'_>) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("vmaf-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(e2s)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).to_string();
    let device = format!("cuda:{}", dev.ordinal());
    let out = dir.join("out.json");
    let result = (|| -> Result<(), String> {
        for (label, w, h, bpc, frames) in [
            ("1080p 8-bit", 1920u32, 1080u32, 8u8, 600usize),
            ("1080p 10-bit", 1920, 1080, 10, 400),
            ("4K 8-bit", 3840, 2160, 8, 200),
            ("4K 10-bit", 3840, 2160, 10, 120),
        ] {
            let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
            let (r, d) = write_pair(&dir, g, frames)?;
            // An empty kernel cache for each size: the first run compiles.
            let _ = std::fs::remove_dir_all(dir.join("kernels"));
            // The first run also warms the page cache and compiles the
            // kernels into the (emptied) disk cache, as on a machine that
            // never ran vmaf-rs: reported, not used for the best.
            let (first, _) = timed(tools.ours, &["--backend", &device], &r, &d, &out, frames)?;
            let mut cuda = 0.0f64;
            let mut cuda_json = String::new();
            for _ in 0..3 {
                let (fps, json) = timed(tools.ours, &["--backend", &device], &r, &d, &out, frames)?;
                cuda = cuda.max(fps);
                cuda_json = json;
            }
            let (cpu, cpu_json) = timed(tools.ours, &["--threads", &cores], &r, &d, &out, frames)?;
            let same = without_fps(&cuda_json) == without_fps(&cpu_json);
            let lib = match tools.libvmaf {
                Some(l) => Some(timed(l, &["--threads", &cores], &r, &d, &out, frames)?.0),
                None => None,
            };
            t.check(
                format!("e2e vmaf_v0.6.1 {label} ({frames} frames from Y4M): CUDA JSON equals CPU JSON"),
                if same { "identical".to_string() } else { "differs".to_string() },
                same,
            );
            t.info(
                format!("e2e fps {label}"),
                format!(
                    "vmaf-rs CUDA {cuda:.0} (first run {first:.0}); vmaf-rs CPU {cores} threads {cpu:.0}{}",
                    lib.map_or(String::new(), |l| format!(
                        "; libvmaf 3.2.0 CPU {cores} threads {l:.0} (CUDA {:.1}x, CPU {:.2}x)",
                        cuda / l,
                        cpu / l
                    ))
                ),
            );
            let _ = std::fs::remove_file(&r);
            let _ = std::fs::remove_file(&d);
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

pub fn e2e_checks(t: &mut Table, dev: &CudaDevice, ours: Option<&Path>, libvmaf: Option<&Path>) {
    match ours {
        Some(ours) => section(t, "e2e", |t| run_e2e(t, dev, &Tools { ours, libvmaf })),
        None => t.info("e2e", "skipped: no --vmaf PATH (scripts/device-check.sh carries the CLI)"),
    }
}
