//! Shared helpers for the integration tests: where the clips and libvmaf's
//! goldens are, and a reader for the golden JSON.
//!
//! Clips are made by `../shared/clips/make_clips.sh` into `<repo>/clips`
//! (or `$VMAF_CLIPS_DIR`); goldens are read from `<repo>/../shared/golden`
//! (or `$VMAF_GOLDEN_DIR`). A missing clip or golden fails the test: a
//! parity test that silently skips asserts nothing.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

pub fn clips_dir() -> PathBuf {
    std::env::var_os("VMAF_CLIPS_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("clips"))
}

pub fn golden_dir() -> PathBuf {
    std::env::var_os("VMAF_GOLDEN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/golden"))
}

/// Every clip pair of ../shared/clips.
pub const PAIRS: &[&str] = &[
    "astronaut_576x324_yuv420p_crf35",
    "astronaut_577x323_yuv420p_blur2.5",
    "astronaut_577x323_yuv444p_blur2.5",
    "chelsea_576x324_yuv420p10le_crf35",
    "chelsea_576x324_yuv420p_same",
    "coffee_576x324_yuv420p12le_noise20",
    "coffee_576x324_yuv420p_scale2",
    "hubble_deep_field_576x324_yuv444p_noise12",
    "mandelbrot_576x324_yuv420p_crf45",
    "retina_1920x1080_yuv420p_crf28",
    "rocket_576x324_yuv422p_blur1.5",
    "testsrc2_1280x720_yuv420p_crf30",
];

/// (reference, distorted) paths of a pair; panics with a clear message when
/// the clips have not been made.
pub fn clip_pair(pair: &str) -> (PathBuf, PathBuf) {
    let d = clips_dir();
    let r = d.join(format!("{pair}.ref.y4m"));
    let x = d.join(format!("{pair}.dis.y4m"));
    assert!(
        r.is_file() && x.is_file(),
        "clip pair {pair} not found in {}: run ../shared/clips/make_clips.sh {} (or set VMAF_CLIPS_DIR)",
        d.display(),
        d.display()
    );
    (r, x)
}

/// One golden file: per-frame metrics (None = JSON null), pooled metrics and
/// aggregate metrics, in file order.
#[derive(Debug)]
pub struct Golden {
    pub frames: Vec<(u32, Vec<(String, Option<f64>)>)>,
    pub pooled: Vec<(String, Vec<(String, Option<f64>)>)>,
    pub aggregate: Vec<(String, Option<f64>)>,
    pub json: serde_json::Value,
}

fn pairs(v: &serde_json::Value) -> Vec<(String, Option<f64>)> {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_f64())).collect())
        .unwrap_or_default()
}

/// Loads `<pair>.<kind>.json` (kind: default, full, subsample3, v1, fork,
/// luma-default, ...). Returns None when that golden does not exist.
pub fn golden(pair: &str, kind: &str) -> Option<Golden> {
    let p = golden_dir().join(format!("{pair}.{kind}.json"));
    let text = std::fs::read_to_string(&p).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let frames = json["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| (f["frameNum"].as_u64().expect("frameNum") as u32, pairs(&f["metrics"])))
        .collect();
    let pooled = json["pooled_metrics"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), pairs(v))).collect())
        .unwrap_or_default();
    let aggregate = pairs(&json["aggregate_metrics"]);
    Some(Golden { frames, pooled, aggregate, json })
}

/// libvmaf prints "%.6f": two values are equal at the printed precision when
/// they print the same.
pub fn same_at_6(a: f64, b: f64) -> bool {
    format!("{a:.6}") == format!("{b:.6}")
}

/// Loads `<pair>.fork.json`, the scores of the lusoris/vmaf fork (see the
/// golden README's "Fork features"); panics when it is missing, so a fork
/// parity test never passes by skipping.
pub fn load_fork_golden(pair: &str) -> Golden {
    golden(pair, "fork").unwrap_or_else(|| panic!("no fork golden for {pair} in {}", golden_dir().display()))
}
