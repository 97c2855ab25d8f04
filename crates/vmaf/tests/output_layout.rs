//! The report writers against libvmaf 3.2.0's own files.
//!
//! Each golden file is turned back into a [`vmaf::Report`] holding the
//! golden's per-frame values (in its key order), written again by our writer
//! and compared byte for byte with the original. The `fps` printed is a
//! timing, so the golden's own value is passed back in. The per-frame values
//! are parsed from the golden's text with Rust's correctly rounded parser:
//! a `%.6f` text parses to a value that prints as the same text, and a
//! `%.16f` text (17 significant digits) to the very value libvmaf printed.
//! A `null` stands for a non-finite value; +inf (what ciede2000 and psnr_hvs
//! give on identical frames) is used.

mod common;
use common::*;

use std::path::Path;

use vmaf::output::{write_output, write_report, OutputFormat};
use vmaf_core::fmt::format_score;
use vmaf::{ChromaSampling, Error, FeatureCollector, Geometry, PoolMethod, Report};

type Frames = Vec<(u32, Vec<(String, Option<f64>)>)>;
/// Per feature, its (method, printed value) pairs.
type Pooled<'a> = Vec<(String, Vec<(String, Option<&'a str>)>)>;

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// `"key": value` pairs of a flat JSON object body, in order, values as
/// printed (`None` for `null`); spacing and line breaks do not matter
/// (libvmaf puts several nulls on one line).
fn parse_pairs(body: &str) -> Vec<(String, Option<&str>)> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(q) = rest.find('"') {
        let after = &rest[q + 1..];
        let kq = after.find('"').expect("closing quote");
        let key = after[..kq].to_owned();
        let value = after[kq + 1..].trim_start().strip_prefix(':').expect("colon").trim_start();
        let vlen = value.find([',', '\n', ' ', '}']).unwrap_or(value.len());
        let token = &value[..vlen];
        out.push((key, (token != "null").then_some(token)));
        rest = &value[vlen..];
    }
    out
}

/// A value that libvmaf's writers print as `token`. Usually the parsed
/// value itself; but `1.000001` parses to a double whose fraction starts
/// with seven zeros in binary arithmetic (0.00000099999...), which would be
/// printed with 16 decimals. libvmaf's value was somewhere in the interval
/// that rounds to the text, so a point inside it that prints the same is
/// picked.
///
/// Tokens with other than 6 or 16 decimals come from files that another
/// tool re-serialised (the `luma-*` goldens): their value is taken as is.
fn value_printing_as(token: &str) -> f64 {
    let v: f64 = token.parse().unwrap_or_else(|_| panic!("number {token}"));
    if !matches!(decimals(token), 6 | 16) {
        return v;
    }
    [0.0, 1e-7, -1e-7, 2.5e-7, -2.5e-7, 4e-7, -4e-7]
        .into_iter()
        .map(|d| v + d)
        .find(|x| format_score(*x) == token)
        .unwrap_or_else(|| panic!("no value prints as {token}"))
}

fn decimals(token: &str) -> usize {
    token.find('.').map_or(0, |p| token.len() - p - 1)
}

/// Per-frame values of a libvmaf JSON report, parsed from its text.
fn parse_frames(text: &str) -> Frames {
    let section = between(text, "\"frames\": [", "\"pooled_metrics\"").expect("frames section");
    section
        .split("\"frameNum\": ")
        .skip(1)
        .map(|chunk| {
            let idx: u32 = chunk[..chunk.find(',').expect("comma")].parse().expect("frame index");
            let body = between(chunk, "\"metrics\": {", "}").expect("metrics");
            let values = parse_pairs(body).into_iter().map(|(k, t)| (k, t.map(value_printing_as))).collect();
            (idx, values)
        })
        .collect()
}

/// `pooled_metrics` of a libvmaf JSON report as printed: per feature, its
/// (method, text) pairs, in order.
fn parse_pooled(text: &str) -> Pooled<'_> {
    let mut rest = between(text, "\"pooled_metrics\": {", "\"aggregate_metrics\"").expect("pooled section");
    let mut out = Vec::new();
    while let Some(open) = rest.find("\": {") {
        let name_start = rest[..open].rfind('"').expect("feature name") + 1;
        let name = rest[name_start..open].to_owned();
        let body_start = open + "\": {".len();
        let close = body_start + rest[body_start..].find('}').expect("closing brace");
        out.push((name, parse_pairs(&rest[body_start..close])));
        rest = &rest[close + 1..];
    }
    out
}

/// The pooled section of a JSON or XML report with every finite number
/// replaced by its shape (`#.dddddd` or `#.dddddddddddddddd`), and the
/// numbers taken out. Pooled means are computed here from the 6-decimal
/// per-frame values, not from libvmaf's full-precision ones, so their last
/// digit may differ; everything else must match byte for byte.
fn mask_pooled(text: &str) -> (String, Vec<f64>) {
    let section = ["<pooled_metrics>", "\"pooled_metrics\": {"].iter().find_map(|s| text.find(s));
    let end = ["</pooled_metrics>", "\"aggregate_metrics\""].iter().find_map(|s| text.find(s));
    let (Some(start), Some(end)) = (section, end) else { return (text.to_owned(), Vec::new()) };
    let mut masked = text[..start].to_owned();
    let mut numbers = Vec::new();
    let mut rest = &text[start..end];
    // A value follows `": ` (JSON) or `="` (XML); names never start with a
    // digit or a minus sign.
    let value_start = |r: &str| [("\": ", 3), ("=\"", 2)].iter().filter_map(|(pat, n)| r.find(pat).map(|p| p + n)).min();
    while let Some(vstart) = value_start(rest) {
        masked.push_str(&rest[..vstart]);
        let tail = &rest[vstart..];
        let len = tail.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(tail.len());
        let token = &tail[..len];
        match token.parse::<f64>() {
            Ok(v) if token.contains('.') => {
                masked.push_str(&format!("#.{}", "d".repeat(decimals(token))));
                numbers.push(v);
            }
            _ => masked.push_str(token),
        }
        rest = &tail[len..];
    }
    masked.push_str(rest);
    masked.push_str(&text[end..]);
    (masked, numbers)
}

/// Asserts `got` is `want` byte for byte, except the pooled numbers'
/// last digits (see [`mask_pooled`]).
fn assert_same_report(got: &str, want: &str, what: &str) {
    let (g, gn) = mask_pooled(got);
    let (w, wn) = mask_pooled(want);
    assert!(g == w, "{what}: {}", first_difference(&g, &w));
    // The values themselves are checked, against the error that can
    // propagate to each, in pooled_values_match_golden.
    assert_eq!(gn.len(), wn.len(), "{what}");
}

fn parse_json_fps(text: &str) -> f64 {
    let t = between(text, "\"fps\": ", ",").expect("fps");
    if t == "null" {
        f64::NAN
    } else {
        t.parse().expect("fps number")
    }
}

fn parse_xml_fps(text: &str) -> f64 {
    between(text, "<fyi fps=\"", "\"").expect("fps").parse().expect("fps number")
}

/// Geometry from a pair name such as `chelsea_576x324_yuv420p10le_crf35`.
/// Only width and height reach the output; the rest is filled in plausibly.
fn geometry_of(pair: &str) -> Geometry {
    let size = pair.split('_').find_map(|p| {
        let (w, h) = p.split_once('x')?;
        Some((w.parse().ok()?, h.parse().ok()?))
    });
    let (w, h) = size.expect("WxH in pair name");
    let sampling = if pair.contains("yuv444p") {
        ChromaSampling::Cs444
    } else if pair.contains("yuv422p") {
        ChromaSampling::Cs422
    } else {
        ChromaSampling::Cs420
    };
    let depth = if pair.contains("10le") {
        10
    } else if pair.contains("12le") {
        12
    } else {
        8
    };
    Geometry::new(w, h, sampling, depth).unwrap()
}

/// A report whose collector holds `frames` in order. The picture count is
/// one past the last frame printed: with subsampling that pools the same
/// frames as the run's true count did.
fn rebuild(pair: &str, frames: &Frames, subsample: u32) -> Report {
    let mut collector = FeatureCollector::new();
    for (idx, metrics) in frames {
        for (name, v) in metrics {
            collector.put_by_name(name, *idx, v.unwrap_or(f64::INFINITY));
        }
    }
    let count = frames.iter().map(|(i, _)| i + 1).max().expect("frames");
    Report { geometry: geometry_of(pair), frames: count, subsample, collector }
}

fn render(format: OutputFormat, report: &Report, fps: f64) -> String {
    let mut out = Vec::new();
    write_output(&mut out, format, report, fps).unwrap();
    String::from_utf8(out).unwrap()
}

/// First differing line, for a readable failure.
fn first_difference(got: &str, want: &str) -> String {
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        if g != w {
            return format!("line {}:\n  got:  {g}\n  want: {w}", n + 1);
        }
    }
    format!("line counts {} vs {}", got.lines().count(), want.lines().count())
}

fn method(name: &str) -> PoolMethod {
    PoolMethod::ALL.into_iter().find(|m| m.name() == name).unwrap_or_else(|| panic!("pool method {name}"))
}

/// Every `<pair>.<kind>.json` golden: (pair, kind, path).
fn golden_jsons() -> Vec<(String, String, std::path::PathBuf)> {
    let mut v: Vec<_> = std::fs::read_dir(golden_dir())
        .expect("golden dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_str().unwrap().to_owned();
            let (pair, kind) = stem.rsplit_once('.').expect("<pair>.<kind>");
            (pair.to_owned(), kind.to_owned(), p)
        })
        .collect();
    v.sort();
    v
}

fn subsample_of(kind: &str) -> u32 {
    if kind.ends_with("subsample3") {
        3
    } else {
        1
    }
}

#[test]
fn parser_agrees_with_serde() {
    let g = golden("chelsea_576x324_yuv420p_same", "full").expect("golden");
    let text = std::fs::read_to_string(golden_dir().join("chelsea_576x324_yuv420p_same.full.json")).unwrap();
    let ours = parse_frames(&text);
    assert_eq!(ours.len(), g.frames.len());
    let mut nulls = 0;
    for ((i, a), (j, b)) in ours.iter().zip(&g.frames) {
        assert_eq!(i, j);
        assert_eq!(a.len(), b.len());
        for ((ka, va), (kb, vb)) in a.iter().zip(b) {
            assert_eq!(ka, kb);
            match (va, vb) {
                (None, None) => nulls += 1,
                // Ours may be moved inside the rounding interval (see
                // value_printing_as).
                (Some(x), Some(y)) => assert!((x - y).abs() < 5e-7, "{ka}: {x} vs {y}"),
                _ => panic!("frame {i} {ka}: {va:?} vs {vb:?}"),
            }
        }
    }
    assert!(nulls > 0, "this golden has nulls");
}

/// Byte-identical JSON for every golden libvmaf wrote (default, full with
/// nulls, subsample 3, v1 models, fork features). The `luma-*` goldens are
/// left out: another tool rewrote them (to drop the chroma keys), so their
/// bytes are not libvmaf's. The fork prints its own version ("3.0.0"),
/// which is put back to ours before comparing.
#[test]
fn json_matches_every_golden_byte_for_byte() {
    let goldens = golden_jsons();
    assert!(goldens.len() >= 50, "only {} goldens found", goldens.len());
    let mut kinds = std::collections::BTreeSet::new();
    for (pair, kind, path) in goldens.iter().filter(|(_, k, _)| !k.starts_with("luma-")) {
        let mut want = std::fs::read_to_string(path).unwrap();
        if kind == "fork" {
            want = want.replacen("\"version\": \"3.0.0\",", "\"version\": \"3.2.0\",", 1);
        }
        let report = rebuild(pair, &parse_frames(&want), subsample_of(kind));
        let got = render(OutputFormat::Json, &report, parse_json_fps(&want));
        assert_same_report(&got, &want, &path.display().to_string());
        kinds.insert(kind.clone());
    }
    for k in ["default", "full", "subsample3", "v1", "fork"] {
        assert!(kinds.contains(k), "no {k} golden compared");
    }
}

#[test]
fn full_golden_with_nulls_has_its_quirks() {
    // The golden this crate must match prints nulls without a newline; make
    // sure the comparison above really covered that case.
    let path = golden_dir().join("chelsea_576x324_yuv420p_same.full.json");
    let want = std::fs::read_to_string(&path).unwrap();
    assert!(want.contains("\"ciede2000\": null,        \"psnr_hvs_y\": null,"));
    let report = rebuild("chelsea_576x324_yuv420p_same", &parse_frames(&want), 1);
    assert_same_report(&render(OutputFormat::Json, &report, parse_json_fps(&want)), &want, "full");
}

/// Every pooled value of every golden, recomputed from its per-frame values.
///
/// Min and max must print exactly as libvmaf's (rounding is monotone, so the
/// extreme of the rounded values is the rounded extreme). Means are pooled
/// here from values known only to within their rounding (±5e-7 for a
/// 6-decimal text, exact for a 16-decimal one), so they must lie within the
/// error that propagates from there, plus the golden's own print rounding.
#[test]
fn pooled_values_match_golden() {
    let (mut checked, mut exact_means, mut means) = (0, 0, 0);
    for (pair, kind, path) in golden_jsons() {
        let text = std::fs::read_to_string(&path).unwrap();
        let frames = parse_frames(&text);
        let report = rebuild(&pair, &frames, subsample_of(&kind));
        let pooled = parse_pooled(&text);
        assert_eq!(pooled.len(), report.collector.ids().count(), "{pair}.{kind}");
        for (name, methods) in &pooled {
            let what = format!("{pair}.{kind} {name}");
            let id = report.collector.id(name).unwrap_or_else(|| panic!("{what}: not in the report"));
            if methods.is_empty() {
                assert!(PoolMethod::ALL.iter().all(|m| report.pooled(name, *m).is_none()), "{what}");
                continue;
            }
            // The kept frames' values and how far each may be from libvmaf's.
            let values: Vec<(f64, f64)> = (0..report.frames)
                .filter(|i| i % report.subsample == 0)
                .map(|i| {
                    let v = report.collector.get(id, i).expect("value at every pooled frame");
                    let printed = format_score(v);
                    let err = if !v.is_finite() || decimals(&printed) > 6 {
                        0.0
                    } else {
                        5e-7 + (v - printed.parse::<f64>().unwrap()).abs()
                    };
                    (v, err)
                })
                .collect();
            let n = values.len() as f64;
            for (m, token) in methods {
                let method = method(m);
                let got = report.pooled(name, method).unwrap_or_else(|| panic!("{what}: {m} missing"));
                checked += 1;
                let Some(token) = token else {
                    assert!(!got.is_finite(), "{what} {m}: got {got}, libvmaf null");
                    continue;
                };
                let want: f64 = token.parse().unwrap();
                let propagated = match method {
                    PoolMethod::Min | PoolMethod::Max => {
                        assert_eq!(format_score(got), format_score(value_printing_as(token)), "{what} {m}");
                        continue;
                    }
                    PoolMethod::Mean => values.iter().map(|(_, e)| e).sum::<f64>() / n,
                    // dH/ds_i = (H + 1)^2 / (n (s_i + 1)^2); 1% for the
                    // second-order terms.
                    PoolMethod::HarmonicMean => {
                        1.01 * (got + 1.0).powi(2) / n * values.iter().map(|(s, e)| e / (s + 1.0).powi(2)).sum::<f64>()
                    }
                };
                let print_rounding = if decimals(token) > 6 { 0.0 } else { 5e-7 };
                let bound = propagated + print_rounding + 1e-12 * want.abs().max(1.0);
                assert!((got - want).abs() <= bound, "{what} {m}: got {got}, libvmaf {token}, allowed {bound:e}");
                means += 1;
                exact_means += usize::from(format_score(got) == format_score(value_printing_as(token)));
            }
        }
    }
    assert!(checked > 5000, "only {checked} pooled values compared");
    // Most means must print exactly as libvmaf's; a systematic error would
    // shift many of them.
    assert!(exact_means * 10 >= means * 9, "only {exact_means} of {means} means print as libvmaf's");
    eprintln!("{checked} pooled values checked; {exact_means} of {means} means print identically");
}

/// Every layout of `samples/`: libvmaf's default run of one pair written
/// with --xml, --json, --csv, --sub and with no format flag (XML).
#[test]
fn every_sample_layout_matches_byte_for_byte() {
    let dir = golden_dir().join("samples");
    let pair = "astronaut_576x324_yuv420p_crf35";
    let json = std::fs::read_to_string(dir.join(format!("{pair}.default.json"))).unwrap();
    let report = rebuild(pair, &parse_frames(&json), 1);
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        let want = std::fs::read_to_string(&path).unwrap();
        let (format, fps) = match name.rsplit_once('.').unwrap().1 {
            "xml" => (OutputFormat::Xml, parse_xml_fps(&want)),
            "out" => (OutputFormat::default(), parse_xml_fps(&want)),
            "json" => (OutputFormat::Json, parse_json_fps(&want)),
            "csv" => (OutputFormat::Csv, 0.0),
            "sub" => (OutputFormat::Sub, 0.0),
            other => panic!("unexpected sample {other}"),
        };
        let got = render(format, &report, fps);
        assert_same_report(&got, &want, name);
        seen += 1;
    }
    assert_eq!(seen, 5);
}

#[test]
fn write_report_writes_the_same_bytes_to_a_file() {
    let pair = "astronaut_576x324_yuv420p_crf35";
    let path = golden_dir().join(format!("samples/{pair}.default.xml"));
    let want = std::fs::read_to_string(&path).unwrap();
    let json = std::fs::read_to_string(golden_dir().join(format!("samples/{pair}.default.json"))).unwrap();
    let report = rebuild(pair, &parse_frames(&json), 1);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.xml");
    std::fs::write(&out, "stale content that must go").unwrap();
    write_report(&out, OutputFormat::Xml, &report, parse_xml_fps(&want)).unwrap();
    assert_same_report(&std::fs::read_to_string(&out).unwrap(), &want, "file");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "a temporary file was left");
}

#[test]
fn unwritable_destination_is_a_typed_error_and_leaves_nothing() {
    let pair = "astronaut_576x324_yuv420p_crf35";
    let json = std::fs::read_to_string(golden_dir().join(format!("samples/{pair}.default.json"))).unwrap();
    let report = rebuild(pair, &parse_frames(&json), 1);
    let dir = tempfile::tempdir().unwrap();
    // A regular file used as a directory: fails for every user, root too
    // (permission bits would not stop root).
    let blocker = dir.path().join("not_a_dir");
    std::fs::write(&blocker, "x").unwrap();
    // A missing directory, and a directory as the target.
    let missing = dir.path().join("missing/out.json");
    let target_dir = dir.path().join("a_dir");
    std::fs::create_dir(&target_dir).unwrap();
    for bad in [blocker.join("out.json"), missing, target_dir.clone()] {
        for format in [OutputFormat::Xml, OutputFormat::Json, OutputFormat::Csv, OutputFormat::Sub] {
            match write_report(&bad, format, &report, 1.0) {
                Err(Error::Io { path, .. }) => assert_eq!(path, bad),
                other => panic!("{}: expected an Io error, got {other:?}", bad.display()),
            }
        }
    }
    let mut left: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["a_dir", "not_a_dir"]);
    assert_eq!(std::fs::read_dir(&target_dir).unwrap().count(), 0);
    assert!(!Path::new(&dir.path().join("missing")).exists());
}
