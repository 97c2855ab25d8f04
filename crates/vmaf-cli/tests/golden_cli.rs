//! The `vmaf` command against libvmaf's own output files: the same command
//! line must write the same bytes (only the `fps` timing line differs), for
//! every clip pair libvmaf can read, with the default model, with
//! `--subsample 3`, and with the full set of models and features.

use std::path::PathBuf;
use std::process::Command;

fn shared() -> PathBuf {
    std::env::var_os("VMAF_GOLDEN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/golden"))
}

fn clips() -> PathBuf {
    std::env::var_os("VMAF_CLIPS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../clips"))
}

const FULL: &[&str] = &[
    "-m", "version=vmaf_v0.6.1:name=vmaf",
    "-m", "version=vmaf_v0.6.1neg:name=vmaf_neg",
    "-m", "version=vmaf_4k_v0.6.1:name=vmaf_4k",
    "-m", "version=vmaf_float_v0.6.1:name=vmaf_float",
    "-m", "version=vmaf_b_v0.6.3:name=vmaf_b",
    "--feature", "psnr", "--feature", "float_ssim", "--feature", "float_ms_ssim",
    "--feature", "cambi", "--feature", "ciede", "--feature", "psnr_hvs",
];

fn without_fps(s: &str) -> String {
    s.lines().filter(|l| !l.trim_start().starts_with("\"fps\"")).collect::<Vec<_>>().join("\n")
}

fn check(kind: &str, extra: &[&str]) {
    let mut compared = 0;
    for entry in std::fs::read_dir(shared()).expect("golden dir") {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(pair) = name.strip_suffix(&format!(".{kind}.json")) else { continue };
        // libvmaf cannot read this one; its luma-only stand-ins are
        // checked value by value in crates/vmaf/tests.
        if pair.contains("luma") {
            continue;
        }
        let (r, d) = (clips().join(format!("{pair}.ref.y4m")), clips().join(format!("{pair}.dis.y4m")));
        assert!(r.is_file(), "{} missing: make the clips first (scripts/test.sh)", r.display());
        let out = tempfile::NamedTempFile::new().unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_vmaf"))
            .arg("-r").arg(&r).arg("-d").arg(&d)
            .args(extra)
            .args(["--json", "-q", "--threads", "2", "-o"]).arg(out.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{pair}: {}", String::from_utf8_lossy(&o.stderr));
        let ours = std::fs::read_to_string(out.path()).unwrap();
        let theirs = std::fs::read_to_string(shared().join(&name)).unwrap();
        let (a, b) = (without_fps(&ours), without_fps(&theirs));
        if a != b {
            let line = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(0);
            panic!(
                "{pair} ({kind}): first difference at line {}: ours {:?}, libvmaf {:?}",
                line + 1,
                a.lines().nth(line),
                b.lines().nth(line)
            );
        }
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} {kind} goldens compared");
}

#[test]
fn default_model_output_is_libvmafs_byte_for_byte() {
    check("default", &[]);
}

#[test]
fn subsampled_output_is_libvmafs_byte_for_byte() {
    check("subsample3", &["--subsample", "3"]);
}

#[test]
fn full_models_and_features_output_is_libvmafs_byte_for_byte() {
    check("full", FULL);
}
