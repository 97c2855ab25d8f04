//! Report files in libvmaf 3.2.0's four layouts: XML (its default), JSON,
//! CSV and SUB.
//!
//! Tools parse these files, so they are reproduced byte for byte: keys,
//! order, spacing, separators, the `%.6f` / `%.16f` choice for numbers, and
//! the quirks of libvmaf's writers (a JSON per-frame `null` is not followed by
//! a newline; a frame whose index is not 0 gets a leading comma even when it
//! is the first one printed). Feature names are printed through libvmaf's
//! alias table; frames with no value at all, and frames that subsampling
//! leaves out, are not printed.
//!
//! [`Precision`] adds the lusoris/vmaf fork's `--precision`: every score
//! (per frame, pooled and aggregate, in all four layouts) printed as C's
//! `%.Ng`, or `%.17g` for values that read back exactly. The default stays
//! libvmaf 3.2.0's `%.6f` / `%.16f` rule, byte for byte.
//!
//! The version printed is [`LIBVMAF_VERSION`]: the libvmaf release whose
//! scores and layout we reproduce, so parsers that check it keep working.
//!
//! [`write_report`] replaces its target only once the whole file is written,
//! so a failed run never leaves a truncated report behind.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use vmaf_core::alias::alias;
use vmaf_core::fmt::{format_g_prec, leading_fraction_zeros};
use vmaf_core::{Error, FeatureId, Result};

use crate::pool::PoolMethod;
use crate::Report;

/// The libvmaf version written into XML and JSON reports.
pub const LIBVMAF_VERSION: &str = "3.2.0";

/// A report layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OutputFormat {
    /// libvmaf's default when no format is asked for.
    #[default]
    Xml,
    Json,
    Csv,
    Sub,
}

/// How scores are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    /// libvmaf 3.2.0: `%.6f`, or `%.16f` for values whose fraction starts
    /// with more than six zeros.
    #[default]
    Default,
    /// C's `%.Ng` with N significant digits (1..=17).
    Significant(u8),
}

impl Precision {
    /// `%.17g`: enough digits for every double to read back exactly (the
    /// fork's `--precision max`).
    pub const MAX: Precision = Precision::Significant(17);

    /// Parses a `--precision` value as the lusoris/vmaf fork accepts it: an
    /// integer 1..17 (leading blanks and a sign allowed, as C's `strtol`
    /// reads it), `max` or `full` (`%.17g`), or `legacy`. The fork's
    /// `legacy` is its default, which it describes as Netflix-compatible;
    /// here that is libvmaf 3.2.0's own rule, [`Precision::Default`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "max" | "full" => Some(Self::MAX),
            "legacy" => Some(Precision::Default),
            _ => match s.trim_start().parse::<i64>() {
                Ok(n @ 1..=17) => Some(Precision::Significant(n as u8)),
                _ => None,
            },
        }
    }

    /// `v` printed at this precision.
    pub fn format(self, v: f64) -> impl fmt::Display {
        match self {
            Precision::Default => Number::Fixed(CFixed(v, if leading_fraction_zeros(v) <= 6 { 6 } else { 16 })),
            Precision::Significant(n) => Number::General(v, n as usize),
        }
    }
}

/// A score in either family of C formats.
enum Number {
    Fixed(CFixed),
    /// `%.Ng`
    General(f64, usize),
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::Fixed(ref c) => c.fmt(f),
            // Non-finite values print as `%f` prints them (glibc shows a
            // NaN's sign either way).
            Number::General(v, _) if !v.is_finite() => CFixed(v, 0).fmt(f),
            Number::General(v, n) => f.write_str(&format_g_prec(v, n)),
        }
    }
}

/// A number as C's `printf("%.Nf")` prints it, non-finite values included
/// (`inf`, `-inf`, `nan`, `-nan`: glibc shows the sign bit of a NaN).
struct CFixed(f64, usize);

impl fmt::Display for CFixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CFixed(v, prec) = *self;
        if v.is_nan() {
            f.write_str(if v.is_sign_negative() { "-nan" } else { "nan" })
        } else if v.is_infinite() {
            f.write_str(if v < 0.0 { "-inf" } else { "inf" })
        } else {
            // Rust prints the exact binary value rounded half to even, as
            // glibc does, and keeps the sign of -0.0 as C does.
            write!(f, "{v:.prec$}")
        }
    }
}

/// What every layout walks: the features with their printed names and the
/// frames to print.
struct View<'a> {
    report: &'a Report,
    precision: Precision,
    features: Vec<(FeatureId, &'a str)>,
}

impl<'a> View<'a> {
    fn new(report: &'a Report, precision: Precision) -> Self {
        let c = &report.collector;
        let features = c.ids().map(|id| (id, alias(c.name(id)))).collect();
        View { report, precision, features }
    }

    /// A score as this report prints it.
    fn score(&self, v: f64) -> impl fmt::Display {
        self.precision.format(v)
    }

    /// Indices of the frames a layout prints: kept by subsampling and with
    /// at least one value.
    fn frames(&self) -> impl Iterator<Item = u32> + '_ {
        let sub = self.report.subsample;
        let c = &self.report.collector;
        (0..c.frame_slots())
            .filter(move |i| sub <= 1 || i % sub == 0)
            .filter(move |&i| self.features.iter().any(|&(id, _)| c.get(id, i).is_some()))
    }

    /// The values of frame `i`, in feature order, with their printed names.
    fn values(&self, i: u32) -> impl Iterator<Item = (&'a str, f64)> + '_ {
        let c = &self.report.collector;
        self.features.iter().filter_map(move |&(id, name)| c.get(id, i).map(|v| (name, v)))
    }

    fn pooled(&self, id: FeatureId) -> impl Iterator<Item = (PoolMethod, f64)> + '_ {
        PoolMethod::ALL.into_iter().filter_map(move |m| self.report.pooled_by_id(id, m).map(|v| (m, v)))
    }
}

/// Writes `report` in `format` to `out`. `fps` is the speed reported in XML
/// and JSON (frames per second of the run).
pub fn write_output(out: &mut dyn Write, format: OutputFormat, report: &Report, fps: f64) -> io::Result<()> {
    write_output_with(out, format, report, fps, Precision::Default)
}

/// [`write_output`] with the scores printed at `precision`.
pub fn write_output_with(
    out: &mut dyn Write,
    format: OutputFormat,
    report: &Report,
    fps: f64,
    precision: Precision,
) -> io::Result<()> {
    let view = View::new(report, precision);
    match format {
        OutputFormat::Xml => write_xml(out, &view, fps),
        OutputFormat::Json => write_json(out, &view, fps),
        OutputFormat::Csv => write_csv(out, &view),
        OutputFormat::Sub => write_sub(out, &view),
    }
}

fn write_xml(out: &mut dyn Write, view: &View<'_>, fps: f64) -> io::Result<()> {
    let g = &view.report.geometry;
    writeln!(out, "<VMAF version=\"{LIBVMAF_VERSION}\">")?;
    writeln!(out, "  <params qualityWidth=\"{}\" qualityHeight=\"{}\" />", g.width, g.height)?;
    writeln!(out, "  <fyi fps=\"{}\" />", CFixed(fps, 2))?;
    writeln!(out, "  <frames>")?;
    for i in view.frames() {
        write!(out, "    <frame frameNum=\"{i}\" ")?;
        for (name, v) in view.values(i) {
            write!(out, "{name}=\"{}\" ", view.score(v))?;
        }
        writeln!(out, "/>")?;
    }
    writeln!(out, "  </frames>")?;
    writeln!(out, "  <pooled_metrics>")?;
    for &(id, name) in &view.features {
        write!(out, "    <metric name=\"{name}\" ")?;
        for (m, v) in view.pooled(id) {
            write!(out, "{}=\"{}\" ", m.name(), view.score(v))?;
        }
        writeln!(out, "/>")?;
    }
    writeln!(out, "  </pooled_metrics>")?;
    write!(out, "  <aggregate_metrics ")?;
    for (name, v) in view.report.collector.aggregates() {
        write!(out, "{name}=\"{}\" ", view.score(*v))?;
    }
    writeln!(out, "/>")?;
    writeln!(out, "</VMAF>")
}

fn write_json(out: &mut dyn Write, view: &View<'_>, fps: f64) -> io::Result<()> {
    writeln!(out, "{{")?;
    writeln!(out, "  \"version\": \"{LIBVMAF_VERSION}\",")?;
    if fps.is_finite() {
        writeln!(out, "  \"fps\": {},", CFixed(fps, 2))?;
    } else {
        writeln!(out, "  \"fps\": null,")?;
    }

    write!(out, "  \"frames\": [")?;
    for i in view.frames() {
        // libvmaf decides the separator by the frame index, not by whether
        // a frame was printed before.
        out.write_all(if i > 0 { b",\n" } else { b"\n" })?;
        writeln!(out, "    {{")?;
        writeln!(out, "      \"frameNum\": {i},")?;
        writeln!(out, "      \"metrics\": {{")?;
        let n = view.values(i).count();
        for (k, (name, v)) in view.values(i).enumerate() {
            let comma = if k + 1 < n { "," } else { "" };
            if v.is_finite() {
                writeln!(out, "        \"{name}\": {}{comma}", view.score(v))?;
            } else {
                // No newline after null: libvmaf 3.2.0's bytes.
                write!(out, "        \"{name}\": null{comma}")?;
            }
        }
        writeln!(out, "      }}")?;
        write!(out, "    }}")?;
    }
    writeln!(out, "\n  ],")?;

    write!(out, "  \"pooled_metrics\": {{")?;
    for (k, &(id, name)) in view.features.iter().enumerate() {
        out.write_all(if k > 0 { b",\n" } else { b"\n" })?;
        write!(out, "    \"{name}\": {{")?;
        for (m, v) in view.pooled(id) {
            // The separator depends on the method's place in the list, as
            // in libvmaf; every method of a feature is present or none is.
            out.write_all(if m != PoolMethod::Min { b",\n" } else { b"\n" })?;
            if v.is_finite() {
                write!(out, "      \"{}\": {}", m.name(), view.score(v))?;
            } else {
                write!(out, "      \"{}\": null", m.name())?;
            }
        }
        writeln!(out)?;
        write!(out, "    }}")?;
    }
    writeln!(out, "\n  }},")?;

    write!(out, "  \"aggregate_metrics\": {{")?;
    let aggregates = view.report.collector.aggregates();
    for (k, (name, v)) in aggregates.iter().enumerate() {
        if v.is_finite() {
            write!(out, "\n    \"{name}\": {}", view.score(*v))?;
        } else {
            write!(out, "\n    \"{name}\": null")?;
        }
        if k + 1 < aggregates.len() {
            write!(out, ",")?;
        }
    }
    writeln!(out, "\n  }}")?;
    writeln!(out, "}}")
}

fn write_csv(out: &mut dyn Write, view: &View<'_>) -> io::Result<()> {
    write!(out, "Frame,")?;
    for (_, name) in &view.features {
        write!(out, "{name},")?;
    }
    writeln!(out)?;
    for i in view.frames() {
        // A frame missing a value has fewer cells, as in libvmaf: the
        // columns are not padded.
        write!(out, "{i},")?;
        for (_, v) in view.values(i) {
            write!(out, "{},", view.score(v))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn write_sub(out: &mut dyn Write, view: &View<'_>) -> io::Result<()> {
    for i in view.frames() {
        write!(out, "{{{i}}}{{{}}}frame: {i}|", u64::from(i) + 1)?;
        for (name, v) in view.values(i) {
            write!(out, "{name}: {}|", view.score(v))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes `report` in `format` to `path`, or to standard output when `path`
/// is `-`.
///
/// A regular file is written under a temporary name in the same directory
/// and renamed over `path` only when complete, so on any failure `path` is
/// left as it was and no partial file remains. Targets that cannot be
/// replaced that way (devices such as `/dev/null`, pipes, anything under
/// `/dev` or `/proc` such as `/dev/stdout`) are written in
/// place.
pub fn write_report(path: impl AsRef<Path>, format: OutputFormat, report: &Report, fps: f64) -> Result<()> {
    write_report_with(path, format, report, fps, Precision::Default)
}

/// [`write_report`] with the scores printed at `precision`.
pub fn write_report_with(
    path: impl AsRef<Path>,
    format: OutputFormat,
    report: &Report,
    fps: f64,
    precision: Precision,
) -> Result<()> {
    let path = path.as_ref();
    let write = |w: &mut dyn Write| write_output_with(w, format, report, fps, precision);
    if path == Path::new("-") {
        let stdout = io::stdout();
        let mut w = BufWriter::new(stdout.lock());
        return write(&mut w).and_then(|()| w.flush()).map_err(|e| Error::io("<stdout>", e));
    }
    write_atomically(path, write)
}

/// Runs `fill` on a buffered writer whose bytes end up at `path` only if
/// `fill` and every step after it succeed.
fn write_atomically(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let err = |e| Error::io(path, e);
    let existing = fs::metadata(path).ok();
    let special = existing.as_ref().is_some_and(|m| !m.is_file() && !m.is_dir());
    // Devices and pipes (and /dev/stdout, whatever it points to) are written
    // in place, as libvmaf does: renaming over them would replace the node,
    // or a file the shell opened for appending.
    if special || path.starts_with("/dev") || path.starts_with("/proc") {
        let mut w = BufWriter::new(OpenOptions::new().write(true).truncate(true).open(path).map_err(err)?);
        return fill(&mut w).and_then(|()| w.flush()).map_err(err);
    }
    // Through a symlink, replace the file it points to, not the link.
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()),
        _ => path.to_owned(),
    };
    let existing = existing.filter(|m| m.is_file());
    if existing.is_some() {
        // Replacing needs only a writable directory; refuse a file we may
        // not write, as opening it for writing would.
        OpenOptions::new().write(true).open(&target).map_err(err)?;
    }

    let (tmp_path, file) = create_temp_beside(&target).map_err(err)?;
    let result = (|| {
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        if let Some(m) = &existing {
            // Keep the mode of the file being replaced, as writing into it
            // would have.
            file.set_permissions(m.permissions())?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp_path, &target)
    })();
    if let Err(e) = result {
        // Best effort: the write already failed, and that is the error to
        // report.
        let _ = fs::remove_file(&tmp_path);
        return Err(err(e));
    }
    Ok(())
}

/// Creates a new, uniquely named file in `target`'s directory (a rename
/// across filesystems would not be atomic).
fn create_temp_beside(target: &Path) -> io::Result<(PathBuf, File)> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let stem = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let pid = std::process::id();
    let mut attempt = 0u32;
    loop {
        let tmp = dir.join(format!(".{stem}.{pid}.{attempt}.tmp"));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{ChromaSampling, FeatureCollector, Geometry};

    fn report(collector: FeatureCollector, frames: u32, subsample: u32) -> Report {
        let geometry = Geometry::new(64, 48, ChromaSampling::Cs420, 8).unwrap();
        Report { geometry, frames, subsample, collector }
    }

    fn render(format: OutputFormat, r: &Report, fps: f64) -> String {
        let mut v = Vec::new();
        write_output(&mut v, format, r, fps).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn c_fixed_matches_printf() {
        assert_eq!(CFixed(f64::NAN, 6).to_string(), "nan");
        assert_eq!(CFixed(-f64::NAN, 6).to_string(), "-nan");
        assert_eq!(CFixed(f64::INFINITY, 2).to_string(), "inf");
        assert_eq!(CFixed(f64::NEG_INFINITY, 6).to_string(), "-inf");
        assert_eq!(CFixed(-0.0, 6).to_string(), "-0.000000");
        assert_eq!(CFixed(2.675, 2).to_string(), "2.67"); // 2.67499999... in binary
        assert_eq!(CFixed(0.125, 2).to_string(), "0.12"); // exact tie: to even
        let score = |v| Precision::Default.format(v).to_string();
        assert_eq!(score(1e-8), "0.0000000100000000");
        assert_eq!(score(1.0000006542532924), "1.0000006542532924");
        assert_eq!(score(0.958558), "0.958558");
    }

    #[test]
    fn json_nulls_and_missing_pool() {
        let mut c = FeatureCollector::new();
        c.put_by_name("VMAF_integer_feature_adm2_score", 0, 0.5);
        c.put_by_name("ciede2000", 0, f64::INFINITY);
        c.put_by_name("psnr_y", 0, 30.0);
        c.put_by_name("VMAF_integer_feature_adm2_score", 1, 0.25);
        c.put_by_name("psnr_y", 1, 40.0);
        c.set_aggregate("agg_a", 1.5);
        c.set_aggregate("agg_b", f64::NAN);
        let r = report(c, 2, 1);
        let want = "{\n  \"version\": \"3.2.0\",\n  \"fps\": null,\n  \"frames\": [\n    {\n      \"frameNum\": 0,\n      \"metrics\": {\n        \"integer_adm2\": 0.500000,\n        \"ciede2000\": null,        \"psnr_y\": 30.000000\n      }\n    },\n    {\n      \"frameNum\": 1,\n      \"metrics\": {\n        \"integer_adm2\": 0.250000,\n        \"psnr_y\": 40.000000\n      }\n    }\n  ],\n  \"pooled_metrics\": {\n    \"integer_adm2\": {\n      \"min\": 0.250000,\n      \"max\": 0.500000,\n      \"mean\": 0.375000,\n      \"harmonic_mean\": 0.363636\n    },\n    \"ciede2000\": {\n    },\n    \"psnr_y\": {\n      \"min\": 30.000000,\n      \"max\": 40.000000,\n      \"mean\": 35.000000,\n      \"harmonic_mean\": 34.305556\n    }\n  },\n  \"aggregate_metrics\": {\n    \"agg_a\": 1.500000,\n    \"agg_b\": null\n  }\n}\n";
        assert_eq!(render(OutputFormat::Json, &r, f64::NAN), want);
    }

    #[test]
    fn xml_csv_sub_with_gaps_and_subsample() {
        let mut c = FeatureCollector::new();
        // Frame 0 has no value at all; frame 1 is left out by subsample 2;
        // frame 2 lacks "b".
        c.put_by_name("a", 1, 9.0);
        c.put_by_name("a", 2, 1.0);
        c.put_by_name("b", 4, -f64::NAN);
        c.put_by_name("a", 4, 3.0);
        c.set_aggregate("x", 2.0);
        let r = report(c, 5, 2);
        assert_eq!(
            render(OutputFormat::Xml, &r, 12.345),
            "<VMAF version=\"3.2.0\">\n  <params qualityWidth=\"64\" qualityHeight=\"48\" />\n  <fyi fps=\"12.35\" />\n  <frames>\n    <frame frameNum=\"2\" a=\"1.000000\" />\n    <frame frameNum=\"4\" a=\"3.000000\" b=\"-nan\" />\n  </frames>\n  <pooled_metrics>\n    <metric name=\"a\" />\n    <metric name=\"b\" />\n  </pooled_metrics>\n  <aggregate_metrics x=\"2.000000\" />\n</VMAF>\n"
        );
        assert_eq!(render(OutputFormat::Csv, &r, 0.0), "Frame,a,b,\n2,1.000000,\n4,3.000000,-nan,\n");
        assert_eq!(render(OutputFormat::Sub, &r, 0.0), "{2}{3}frame: 2|a: 1.000000|\n{4}{5}frame: 4|a: 3.000000|b: -nan|\n");
        // The first frame printed is 2, so it is preceded by a comma.
        assert!(render(OutputFormat::Json, &r, 1.0).contains("\"frames\": [,\n    {\n      \"frameNum\": 2,"));
    }

    #[test]
    fn precision_parses_like_the_fork() {
        assert_eq!(Precision::parse("3"), Some(Precision::Significant(3)));
        assert_eq!(Precision::parse(" +17"), Some(Precision::Significant(17)));
        assert_eq!(Precision::parse("max"), Some(Precision::MAX));
        assert_eq!(Precision::parse("full"), Some(Precision::MAX));
        assert_eq!(Precision::parse("legacy"), Some(Precision::Default));
        for bad in ["0", "18", "-1", "3x", "", "MAX", "6.0"] {
            assert_eq!(Precision::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn precision_applies_to_every_score_in_every_layout() {
        let mut c = FeatureCollector::new();
        c.put_by_name("VMAF_integer_feature_adm2_score", 0, 0.1);
        c.put_by_name("VMAF_integer_feature_adm2_score", 1, 2.0 / 3.0);
        c.put_by_name("ciede2000", 1, f64::INFINITY);
        c.set_aggregate("agg", 1e-8);
        let r = report(c, 2, 1);
        let json = |p| {
            let mut v = Vec::new();
            write_output_with(&mut v, OutputFormat::Json, &r, 5.0, p).unwrap();
            String::from_utf8(v).unwrap()
        };
        let j3 = json(Precision::Significant(3));
        assert!(j3.contains("\"integer_adm2\": 0.1\n"), "{j3}");
        assert!(j3.contains("\"integer_adm2\": 0.667,\n"), "{j3}");
        assert!(j3.contains("\"ciede2000\": null"), "{j3}");
        // pooled: min, max, mean, harmonic mean
        assert!(j3.contains("\"min\": 0.1,\n      \"max\": 0.667,\n      \"mean\": 0.383,\n      \"harmonic_mean\": 0.325\n"), "{j3}");
        assert!(j3.contains("\"agg\": 1e-08\n"), "{j3}");
        // fps keeps its two decimals.
        assert!(j3.contains("\"fps\": 5.00,"), "{j3}");
        let jm = json(Precision::MAX);
        assert!(jm.contains("\"integer_adm2\": 0.10000000000000001\n"), "{jm}");
        assert!(jm.contains("\"integer_adm2\": 0.66666666666666663,\n"), "{jm}");
        assert!(jm.contains("\"agg\": 1e-08\n"), "{jm}");
        // The default is untouched.
        assert_eq!(json(Precision::Default), render(OutputFormat::Json, &r, 5.0));

        let other = |f, p| {
            let mut v = Vec::new();
            write_output_with(&mut v, f, &r, 5.0, p).unwrap();
            String::from_utf8(v).unwrap()
        };
        let p2 = Precision::Significant(2);
        assert_eq!(other(OutputFormat::Csv, p2), "Frame,integer_adm2,ciede2000,\n0,0.1,\n1,0.67,inf,\n");
        assert_eq!(other(OutputFormat::Sub, p2), "{0}{1}frame: 0|integer_adm2: 0.1|\n{1}{2}frame: 1|integer_adm2: 0.67|ciede2000: inf|\n");
        let xml = other(OutputFormat::Xml, p2);
        assert!(xml.contains("<frame frameNum=\"1\" integer_adm2=\"0.67\" ciede2000=\"inf\" />"), "{xml}");
        assert!(xml.contains("<metric name=\"integer_adm2\" min=\"0.1\" max=\"0.67\" mean=\"0.38\" harmonic_mean=\"0.33\" />"), "{xml}");
        assert!(xml.contains("<aggregate_metrics agg=\"1e-08\" />"), "{xml}");
    }

    #[test]
    fn failed_fill_leaves_nothing_and_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        fs::write(&p, b"previous").unwrap();
        let e = write_atomically(&p, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        match e {
            Error::Io { path, source } => {
                assert_eq!(path, p);
                assert_eq!(source.to_string(), "disk full");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(&p).unwrap(), b"previous");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["out.json"]);
    }

    #[test]
    fn success_replaces_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        fs::write(&p, b"a much longer previous content").unwrap();
        write_atomically(&p, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn read_only_target_is_refused_like_a_plain_open() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("locked.csv");
        fs::write(&p, b"keep").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o444)).unwrap();
        // Root may write anyway; either way we must do what open() does.
        let open_allowed = OpenOptions::new().write(true).open(&p).is_ok();
        let r = write_atomically(&p, |w| w.write_all(b"new"));
        assert_eq!(r.is_ok(), open_allowed, "{r:?}");
        let want: &[u8] = if open_allowed { b"new" } else { b"keep" };
        assert_eq!(fs::read(&p).unwrap(), want);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        if open_allowed {
            assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o444, "mode kept");
        }
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place() {
        use std::os::unix::fs::FileTypeExt;
        write_atomically(Path::new("/dev/null"), |w| w.write_all(b"discarded")).unwrap();
        assert!(fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    }

    #[cfg(unix)]
    #[test]
    fn symlink_target_is_replaced_not_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.xml");
        let link = dir.path().join("link.xml");
        fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, |w| w.write_all(b"new")).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }
}
