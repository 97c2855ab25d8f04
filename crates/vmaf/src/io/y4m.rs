//! YUV4MPEG2 (Y4M) streams.
//!
//! Header: `YUV4MPEG2` then space-separated tagged parameters: `W`, `H`,
//! `F` (rate), `I`, `A`, `C` (colour space) and `X` (ignored). Each frame
//! starts with a `FRAME` line that may carry parameters of its own (ignored),
//! then planar samples. Colour spaces: `420`, `420jpeg`, `420paldv`,
//! `420mpeg2` (chroma siting differs, the samples do not), `422`, `444`,
//! `mono`, and the `p10`/`p12`/`p16` high-bit-depth forms of each (plus
//! ffmpeg's `mono10`/`mono12`/`mono16`). A missing `C` means 4:2:0 8-bit.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use vmaf_core::{ChromaSampling, Error, Geometry, Picture, PictureData, Result};

use super::{read_planes, VideoReader};

/// Longest header or FRAME line accepted; a longer one is not Y4M.
const MAX_LINE: usize = 4096;

pub struct Y4mReader<R> {
    input: R,
    path: PathBuf,
    geometry: Geometry,
    rate: Option<(u32, u32)>,
    line: Vec<u8>,
    scratch: Vec<u8>,
}

/// Reads one `\n`-terminated line (without the newline). `Ok(None)` at end
/// of stream before any byte.
fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>, path: &Path, what: &str) -> Result<Option<()>> {
    line.clear();
    loop {
        let buf = r.fill_buf().map_err(|e| Error::io(path, e))?;
        if buf.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            return Err(Error::bad_input(path, format!("{what} is not terminated by a newline")));
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                line.extend_from_slice(&buf[..i]);
                r.consume(i + 1);
                return Ok(Some(()));
            }
            None => {
                let n = buf.len();
                line.extend_from_slice(buf);
                r.consume(n);
            }
        }
        if line.len() > MAX_LINE {
            return Err(Error::bad_input(path, format!("{what} longer than {MAX_LINE} bytes")));
        }
    }
}

/// Maps a `C` tag value to sampling and bit depth.
fn parse_colorspace(c: &str) -> Option<(ChromaSampling, u8)> {
    use ChromaSampling::*;
    let (base, depth) = match c.find('p') {
        // "420p10", "444p16"... but not "420paldv"
        Some(i) if c[i + 1..].bytes().all(|b| b.is_ascii_digit()) && i + 1 < c.len() => {
            (&c[..i], c[i + 1..].parse::<u8>().ok()?)
        }
        _ => match c.strip_prefix("mono") {
            Some(d) if !d.is_empty() => ("mono", d.parse::<u8>().ok()?),
            _ => (c, 8),
        },
    };
    let sampling = match base {
        "420" | "420jpeg" | "420paldv" | "420mpeg2" => Cs420,
        "422" => Cs422,
        "444" => Cs444,
        "mono" => Cs400,
        _ => return None,
    };
    Some((sampling, depth))
}

impl<R: BufRead + Send> Y4mReader<R> {
    /// Parses the stream header.
    pub fn new(mut input: R, path: PathBuf) -> Result<Self> {
        let mut line = Vec::new();
        let bad = |msg: String| Error::bad_input(&path, format!("bad Y4M header: {msg}"));
        if read_line(&mut input, &mut line, &path, "Y4M header")?.is_none() {
            return Err(Error::bad_input(&path, "empty file: no Y4M header"));
        }
        let text = std::str::from_utf8(&line).map_err(|_| bad("not ASCII".into()))?;
        let mut tokens = text.split(' ').filter(|t| !t.is_empty());
        if tokens.next() != Some("YUV4MPEG2") {
            return Err(bad("does not start with \"YUV4MPEG2\"".into()));
        }
        let (mut w, mut h, mut rate, mut cs) = (None, None, None, None);
        for t in tokens {
            let (tag, val) = t.split_at(1);
            match tag {
                "W" => w = Some(val.parse::<u32>().map_err(|_| bad(format!("width \"{val}\"")))?),
                "H" => h = Some(val.parse::<u32>().map_err(|_| bad(format!("height \"{val}\"")))?),
                "F" => {
                    let (n, d) = val.split_once(':').ok_or_else(|| bad(format!("frame rate \"{val}\"")))?;
                    match (n.parse::<u32>(), d.parse::<u32>()) {
                        (Ok(n), Ok(d)) => rate = Some((n, d)),
                        _ => return Err(bad(format!("frame rate \"{val}\""))),
                    }
                }
                "C" => {
                    cs = Some(parse_colorspace(val).ok_or_else(|| bad(format!("unsupported colour space \"C{val}\"")))?)
                }
                // interlacing, aspect ratio and extensions do not change the samples
                "I" | "A" | "X" => {}
                _ => return Err(bad(format!("unknown parameter \"{t}\""))),
            }
        }
        let w = w.ok_or_else(|| bad("no width (W)".into()))?;
        let h = h.ok_or_else(|| bad("no height (H)".into()))?;
        let (sampling, depth) = cs.unwrap_or((ChromaSampling::Cs420, 8));
        let geometry = Geometry::new(w, h, sampling, depth).map_err(|e| bad(e.to_string()))?;
        Ok(Y4mReader { input, path, geometry, rate, line, scratch: Vec::new() })
    }
}

impl<R: BufRead + Send> VideoReader for Y4mReader<R> {
    fn geometry(&self) -> Geometry {
        self.geometry
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn frame_rate(&self) -> Option<(u32, u32)> {
        self.rate
    }

    fn read_frame(&mut self, pic: &mut Picture) -> Result<bool> {
        debug_assert_eq!(*pic.geometry(), self.geometry);
        if read_line(&mut self.input, &mut self.line, &self.path, "FRAME header")?.is_none() {
            return Ok(false);
        }
        let ok = self.line.starts_with(b"FRAME") && matches!(self.line.get(5), None | Some(b' '));
        if !ok {
            let shown = String::from_utf8_lossy(&self.line[..self.line.len().min(16)]).into_owned();
            return Err(Error::bad_input(
                &self.path,
                format!("expected a FRAME header, found \"{shown}\" (wrong frame size in the header?)"),
            ));
        }
        if !read_planes(&mut self.input, pic, &mut self.scratch, &self.path)? {
            return Err(Error::bad_input(&self.path, "truncated frame: FRAME header with no samples"));
        }
        Ok(true)
    }
}

/// The `C` tag value for a geometry.
fn colorspace_tag(g: &Geometry) -> String {
    let base = match g.sampling {
        ChromaSampling::Cs400 => "mono",
        ChromaSampling::Cs420 => "420",
        ChromaSampling::Cs422 => "422",
        ChromaSampling::Cs444 => "444",
    };
    match (g.bit_depth, g.sampling) {
        (8, ChromaSampling::Cs420) => "420jpeg".into(),
        (8, _) => base.into(),
        (d, ChromaSampling::Cs400) => format!("mono{d}"),
        (d, _) => format!("{base}p{d}"),
    }
}

/// Writes a Y4M stream header (used by tests and by the sample generator).
pub fn write_y4m_header(w: &mut impl Write, g: &Geometry, rate: (u32, u32)) -> std::io::Result<()> {
    writeln!(w, "YUV4MPEG2 W{} H{} F{}:{} Ip A1:1 C{}", g.width, g.height, rate.0, rate.1, colorspace_tag(g))
}

/// Writes one frame (FRAME line and samples).
pub fn write_y4m_frame(w: &mut impl Write, pic: &Picture) -> std::io::Result<()> {
    w.write_all(b"FRAME\n")?;
    let n = pic.geometry().plane_count();
    match pic.data() {
        PictureData::U8(p) => {
            for plane in &p[..n] {
                for row in plane.rows() {
                    w.write_all(row)?;
                }
            }
        }
        PictureData::U16(p) => {
            for plane in &p[..n] {
                for row in plane.rows() {
                    for s in row {
                        w.write_all(&s.to_le_bytes())?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colorspaces() {
        use ChromaSampling::*;
        for (c, s, d) in [
            ("420", Cs420, 8),
            ("420jpeg", Cs420, 8),
            ("420paldv", Cs420, 8),
            ("420mpeg2", Cs420, 8),
            ("422", Cs422, 8),
            ("444", Cs444, 8),
            ("mono", Cs400, 8),
            ("420p10", Cs420, 10),
            ("422p12", Cs422, 12),
            ("444p16", Cs444, 16),
            ("mono16", Cs400, 16),
        ] {
            assert_eq!(parse_colorspace(c), Some((s, d)), "{c}");
        }
        assert_eq!(parse_colorspace("411"), None);
        assert_eq!(parse_colorspace("420p9").map(|x| x.1), Some(9));
    }
}
