//! YUV4MPEG2 (Y4M) streams.
//!
//! Header: `YUV4MPEG2` then space-separated tagged parameters: `W`, `H`,
//! `F` (rate), `I`, `A`, `C` (colour space) and `X` (extensions such as
//! ffmpeg's `XYSCSS=420JPEG`). Only `W`, `H`, `C` and `F` matter here;
//! every other tag, known or not, is ignored, as libvmaf ignores them. Each
//! frame starts with a `FRAME` line that may carry parameters of its own
//! (ignored), then planar samples, little endian above 8 bits.
//!
//! Colour spaces: `420`, `420jpeg`, `420paldv`, `420mpeg2` (the chroma
//! siting differs, the samples do not), `422`, `444`, `444alpha` (the alpha
//! plane is skipped, as libvmaf does), `mono`, the `p10`/`p12`/`p16` forms
//! of the first three (`420p10`...) and ffmpeg's `mono10`/`mono12`/`mono16`.
//! A missing `C` means 4:2:0 8-bit. Bit depths other than 8/10/12/16
//! (`420p9`, `444p14`) are refused, as libvmaf has no code for them. Unlike
//! libvmaf, 4:2:2 at 8 and 16 bits and any odd size are read as ffmpeg
//! writes them (chroma `ceil(w/2)` wide).

use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use vmaf_core::{ChromaSampling, Error, Geometry, Picture, Result};

use super::indexed::{self, FrameFile};
use super::{check_sample_range, describe, read_samples, wrong_picture, VideoReader, Y4M_MAGIC};

/// Longest header or FRAME line accepted (without its newline); a longer
/// one is not Y4M, and the limit keeps a newline-less binary file from
/// being buffered whole.
const MAX_LINE: usize = 4096;

/// Streaming Y4M reader over any buffered input.
pub struct Y4mReader<R> {
    input: R,
    path: PathBuf,
    geometry: Geometry,
    rate: Option<(u32, u32)>,
    /// Bytes after the samples of each frame that are skipped (the alpha
    /// plane of `C444alpha`).
    skip: u64,
    /// The current FRAME line; allocated once, to `MAX_LINE`.
    line: Vec<u8>,
    /// Frames read so far, to say which one is damaged.
    frames: u64,
    /// Bytes of the stream header, newline included: where frame 0 starts.
    header_len: u64,
    /// The stream's frames by index, when it is a regular file.
    indexed: Option<FrameFile>,
}

/// How reading a line ended.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The stream ended before the line's first byte.
    Eof,
    Complete,
    /// The stream ended inside the line.
    Unterminated,
    /// No newline within `MAX_LINE` bytes.
    TooLong,
}

/// Reads one `\n`-terminated line into `line` (without the newline),
/// never taking more than `MAX_LINE` bytes of it.
fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Line> {
    line.clear();
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(if line.is_empty() { Line::Eof } else { Line::Unterminated });
        }
        // Room for the rest of the line plus its newline.
        let window = &buf[..buf.len().min(MAX_LINE - line.len() + 1)];
        if let Some(i) = window.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&window[..i]);
            r.consume(i + 1);
            return Ok(Line::Complete);
        }
        if window.len() > MAX_LINE - line.len() {
            line.extend_from_slice(&window[..window.len() - 1]);
            return Ok(Line::TooLong);
        }
        let n = window.len();
        line.extend_from_slice(window);
        r.consume(n);
    }
}

/// Skips `n` bytes of a buffered stream without copying them; returns how
/// many there were.
fn skip(r: &mut impl BufRead, n: u64) -> std::io::Result<u64> {
    let mut left = n;
    while left > 0 {
        let avail = match r.fill_buf() {
            Ok(b) => b.len(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail == 0 {
            break;
        }
        let take = avail.min(usize::try_from(left).unwrap_or(usize::MAX));
        r.consume(take);
        left -= take as u64;
    }
    Ok(n - left)
}

/// What a `C` tag says about the samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ColourSpace {
    sampling: ChromaSampling,
    depth: u8,
    /// A full-size alpha plane follows the three colour planes.
    alpha: bool,
}

/// Maps a `C` tag value to a colour space. The bit depth is not checked
/// here: `420p9` parses, and is refused with a bit-depth message later.
fn parse_colourspace(c: &str) -> Option<ColourSpace> {
    use ChromaSampling::*;
    let cs = |sampling, depth| Some(ColourSpace { sampling, depth, alpha: false });
    // `<base>p<digits>` ("420p10"), but not "420paldv"
    let (base, depth) = match c.split_once('p') {
        Some((base, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => (base, d.parse::<u8>().ok()?),
        _ => match c.strip_prefix("mono") {
            // ffmpeg's "mono16"
            Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => ("mono", d.parse::<u8>().ok()?),
            _ => (c, 8),
        },
    };
    match (base, depth) {
        ("420", _) => cs(Cs420, depth),
        ("420jpeg" | "420paldv" | "420mpeg2", 8) => cs(Cs420, 8),
        ("422", _) => cs(Cs422, depth),
        ("444", _) => cs(Cs444, depth),
        ("444alpha", 8) => Some(ColourSpace { sampling: Cs444, depth: 8, alpha: true }),
        ("mono", _) => cs(Cs400, depth),
        _ => None,
    }
}

/// The parameters of a stream header that matter here.
struct Header {
    geometry: Geometry,
    rate: Option<(u32, u32)>,
    alpha: bool,
}

/// Parses a header line (without its newline); errors are the reason,
/// for the caller to put in context.
fn parse_header(line: &[u8]) -> std::result::Result<Header, String> {
    let mut tokens = line.split(|&b| b == b' ').filter(|t| !t.is_empty());
    if tokens.next() != Some(&Y4M_MAGIC[..]) {
        return Err(format!("it does not start with \"YUV4MPEG2\" (found \"{}\")", shown(line)));
    }
    let (mut w, mut h, mut rate, mut cs) = (None, None, None, None);
    let number = |what: &str, v: &[u8]| {
        std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| format!("{what} \"{}\" is not a number", shown(v)))
    };
    for t in tokens {
        let (tag, val) = (t[0], &t[1..]);
        match tag {
            b'W' => w = Some(number("width", val)?),
            b'H' => h = Some(number("height", val)?),
            b'F' => {
                let bad = || format!("frame rate \"{}\" is not N:D", shown(val));
                let colon = val.iter().position(|&b| b == b':').ok_or_else(bad)?;
                let n = number("frame rate", &val[..colon]).map_err(|_| bad())?;
                let d = number("frame rate", &val[colon + 1..]).map_err(|_| bad())?;
                rate = Some((n, d));
            }
            b'C' => {
                let parsed = std::str::from_utf8(val).ok().and_then(parse_colourspace);
                cs = Some(parsed.ok_or_else(|| {
                    format!(
                        "unsupported colour space \"C{}\" (supported: 420, 420jpeg, 420paldv, 420mpeg2, \
                         422, 444, 444alpha, mono, 420p10, 422p12, 444p16, mono16 and the like)",
                        shown(val)
                    )
                })?);
            }
            // Interlacing, aspect ratio, extensions and anything newer do
            // not change how the samples are laid out.
            _ => {}
        }
    }
    let w = w.ok_or("no width (W)")?;
    let h = h.ok_or("no height (H)")?;
    let cs = cs.unwrap_or(ColourSpace { sampling: ChromaSampling::Cs420, depth: 8, alpha: false });
    let geometry = Geometry::new(w, h, cs.sampling, cs.depth).map_err(|e| e.to_string())?;
    Ok(Header { geometry, rate, alpha: cs.alpha })
}

/// Up to 32 bytes of `b`, escaped, for messages about binary junk.
fn shown(b: &[u8]) -> String {
    let cut = &b[..b.len().min(32)];
    let mut s = cut.escape_ascii().to_string();
    if cut.len() < b.len() {
        s.push_str("...");
    }
    s
}

impl<R: BufRead + Send> Y4mReader<R> {
    /// Parses the stream header. `path` is only used in messages.
    pub fn new(mut input: R, path: PathBuf) -> Result<Self> {
        let mut line = Vec::with_capacity(MAX_LINE + 1);
        let bad = |msg: &str| Error::bad_input(&path, format!("bad Y4M header: {msg}"));
        let end = read_line(&mut input, &mut line).map_err(|e| Error::io(&path, e))?;
        let is_y4m = line.starts_with(Y4M_MAGIC);
        match end {
            Line::Eof => return Err(Error::bad_input(&path, "empty file: no Y4M header")),
            Line::Complete => {}
            Line::Unterminated if is_y4m => return Err(bad("the file ends inside the header")),
            Line::TooLong if is_y4m => return Err(bad(&format!("no newline in the first {MAX_LINE} bytes"))),
            Line::Unterminated | Line::TooLong => {
                return Err(bad(&format!("it does not start with \"YUV4MPEG2\" (found \"{}\")", shown(&line))))
            }
        }
        let header = parse_header(&line).map_err(|m| bad(&m))?;
        let g = header.geometry;
        let skip = if header.alpha { g.width as u64 * g.height as u64 } else { 0 };
        let header_len = line.len() as u64 + 1;
        Ok(Y4mReader {
            input,
            path,
            geometry: header.geometry,
            rate: header.rate,
            skip,
            line,
            frames: 0,
            header_len,
            indexed: None,
        })
    }

    /// Offers the frames of `file` (the same file as the input, which
    /// started at its first byte) for reading by index. Streams with an
    /// alpha plane stay sequential.
    pub(crate) fn index_file(&mut self, file: File) {
        if self.skip == 0 && indexed::POSITIONAL {
            self.indexed = Some(FrameFile::new(file, &self.path, self.geometry, self.header_len, indexed::Y4M_FRAME));
        }
    }

    /// The error for a frame that ends early.
    fn truncated(&self, got: u64) -> Error {
        let total = self.geometry.frame_bytes() as u64 + self.skip;
        Error::bad_input(
            &self.path,
            format!("frame {} is truncated: the stream ends after {got} of its {total} bytes", self.frames),
        )
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
    fn frame_file(&self) -> Option<FrameFile> {
        self.indexed.clone()
    }

    fn read_frame(&mut self, pic: &mut Picture) -> Result<bool> {
        if *pic.geometry() != self.geometry {
            return Err(wrong_picture(&self.path, &self.geometry, pic.geometry()));
        }
        let end = read_line(&mut self.input, &mut self.line).map_err(|e| Error::io(&self.path, e))?;
        let n = self.frames;
        let is_frame = self.line.starts_with(b"FRAME") && matches!(self.line.get(5), None | Some(b' '));
        match end {
            Line::Eof => return Ok(false),
            Line::Complete if is_frame => {}
            Line::Unterminated if is_frame || b"FRAME".starts_with(&self.line) => {
                return Err(Error::bad_input(&self.path, format!("frame {n}: the stream ends inside its FRAME header")))
            }
            Line::TooLong if is_frame => {
                return Err(Error::bad_input(
                    &self.path,
                    format!("frame {n}: FRAME header longer than {MAX_LINE} bytes"),
                ))
            }
            _ => {
                // Most often the header's size or format does not describe
                // the data, so the previous frame ended in the wrong place.
                return Err(Error::bad_input(
                    &self.path,
                    format!(
                        "frame {n}: expected a FRAME header, found \"{}\" (does the header's {} format, \
                         {} bytes a frame, match the data?)",
                        shown(&self.line),
                        describe(&self.geometry),
                        self.geometry.frame_bytes() as u64 + self.skip,
                    ),
                ));
            }
        }
        let read = read_samples(&mut self.input, pic).map_err(|e| Error::io(&self.path, e))?;
        let got = read.bytes;
        if got < self.geometry.frame_bytes() {
            return Err(self.truncated(got as u64));
        }
        if self.skip > 0 {
            let skipped = skip(&mut self.input, self.skip).map_err(|e| Error::io(&self.path, e))?;
            if skipped < self.skip {
                return Err(self.truncated(got as u64 + skipped));
            }
        }
        check_sample_range(pic, &read).map_err(|m| Error::bad_input(&self.path, format!("frame {n}: {m}")))?;
        self.frames += 1;
        Ok(true)
    }
}

/// The `C` tag value for a geometry.
fn colourspace_tag(g: &Geometry) -> String {
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

/// Writes a Y4M stream header, with the colour-space spelling ffmpeg uses
/// (for tests, benchmarks and sample generators).
pub fn write_y4m_header(w: &mut impl Write, g: &Geometry, rate: (u32, u32)) -> std::io::Result<()> {
    writeln!(w, "YUV4MPEG2 W{} H{} F{}:{} Ip A1:1 C{}", g.width, g.height, rate.0, rate.1, colourspace_tag(g))
}

/// Writes one frame: its FRAME line, then its samples.
pub fn write_y4m_frame(w: &mut impl Write, pic: &Picture) -> std::io::Result<()> {
    w.write_all(b"FRAME\n")?;
    super::write_yuv_frame(w, pic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn colourspaces() {
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
            ("420p12", Cs420, 12),
            ("420p16", Cs420, 16),
            ("422p10", Cs422, 10),
            ("422p12", Cs422, 12),
            ("422p16", Cs422, 16),
            ("444p10", Cs444, 10),
            ("444p12", Cs444, 12),
            ("444p16", Cs444, 16),
            ("mono10", Cs400, 10),
            ("mono12", Cs400, 12),
            ("mono16", Cs400, 16),
        ] {
            assert_eq!(parse_colourspace(c), Some(ColourSpace { sampling: s, depth: d, alpha: false }), "{c}");
        }
        assert_eq!(parse_colourspace("444alpha"), Some(ColourSpace { sampling: Cs444, depth: 8, alpha: true }));
        // Unsupported depths parse, to be refused with a bit-depth message.
        assert_eq!(parse_colourspace("420p9").map(|c| c.depth), Some(9));
        assert_eq!(parse_colourspace("mono14").map(|c| c.depth), Some(14));
        for bad in ["411", "420p", "p10", "420jpegp10", "420paldv10", "mono1x", "420p999", "", "YUV", "444alphap10"] {
            assert_eq!(parse_colourspace(bad), None, "{bad}");
        }
    }

    #[test]
    fn header_parameters() {
        let h = parse_header(b"YUV4MPEG2 W5 H3 F30000:1001 It A0:0 C422p10 XYSCSS=422P10 XCOLORRANGE=LIMITED Zfuture")
            .unwrap();
        assert_eq!(h.geometry, Geometry::new(5, 3, ChromaSampling::Cs422, 10).unwrap());
        assert_eq!(h.rate, Some((30000, 1001)));
        // No C: 4:2:0 8-bit; no F: no rate; repeated spaces are fine.
        let h = parse_header(b"YUV4MPEG2  W7   H9 ").unwrap();
        assert_eq!(h.geometry, Geometry::new(7, 9, ChromaSampling::Cs420, 8).unwrap());
        assert_eq!(h.rate, None);
        for (bad, says) in [
            (&b"YUV4MPEG W5 H3"[..], "YUV4MPEG2"),
            (b"YUV4MPEG2W5 H3", "YUV4MPEG2"),
            (b"YUV4MPEG2 H3", "no width"),
            (b"YUV4MPEG2 W5", "no height"),
            (b"YUV4MPEG2 W5x H3", "width \"5x\""),
            (b"YUV4MPEG2 W-5 H3", "width"),
            (b"YUV4MPEG2 W5 H3 F30", "frame rate"),
            (b"YUV4MPEG2 W5 H3 C411", "colour space \"C411\""),
            (b"YUV4MPEG2 W5 H3 C420p9", "bit depth 9"),
            (b"YUV4MPEG2 W0 H3", "size 0x3"),
            (b"YUV4MPEG2 W5 H3 C\xff\xfe", "colour space"),
            (b"YUV4MPEG2 W\xc3\xa9 H3", "width"),
        ] {
            let msg = parse_header(bad).err().unwrap_or_else(|| panic!("{} accepted", bad.escape_ascii()));
            assert!(msg.contains(says), "{}: {msg}", bad.escape_ascii());
        }
        // Non-ASCII in tags that are ignored does not matter.
        assert!(parse_header("YUV4MPEG2 W2 H2 Xcomment=é é".as_bytes()).is_ok());
    }

    #[test]
    fn lines_are_bounded() {
        let mut line = Vec::new();
        let mut r = Cursor::new(b"FRAME Ixyz\nnext".to_vec());
        assert_eq!(read_line(&mut r, &mut line).unwrap(), Line::Complete);
        assert_eq!(line, b"FRAME Ixyz");
        assert_eq!(read_line(&mut r, &mut line).unwrap(), Line::Unterminated);
        assert_eq!(read_line(&mut r, &mut line).unwrap(), Line::Eof);
        // Exactly MAX_LINE bytes is fine, one more is not.
        let mut long = vec![b'x'; MAX_LINE];
        long.push(b'\n');
        assert_eq!(read_line(&mut Cursor::new(long.clone()), &mut line).unwrap(), Line::Complete);
        long.insert(0, b'x');
        assert_eq!(read_line(&mut Cursor::new(long), &mut line).unwrap(), Line::TooLong);
        assert!(line.len() <= MAX_LINE);
        // Lines split over many small buffer fills.
        let mut r = std::io::BufReader::with_capacity(3, &b"FRAME A B C\n"[..]);
        assert_eq!(read_line(&mut r, &mut line).unwrap(), Line::Complete);
        assert_eq!(line, b"FRAME A B C");
    }

    #[test]
    fn alpha_plane_is_skipped() {
        let g = Geometry::new(3, 2, ChromaSampling::Cs444, 8).unwrap();
        let mut data = b"YUV4MPEG2 W3 H2 F25:1 C444alpha\n".to_vec();
        for f in 0..2u8 {
            data.extend_from_slice(b"FRAME\n");
            data.extend((0..18).map(|i| i + f));
            data.extend([0xAA; 6]);
        }
        let mut r = Y4mReader::new(Cursor::new(data.clone()), "a.y4m".into()).unwrap();
        assert_eq!(r.geometry(), g);
        let mut pic = Picture::new(g);
        for f in 0..2u8 {
            assert!(r.read_frame(&mut pic).unwrap());
            let vmaf_core::PictureData::U8(p) = pic.data() else { unreachable!() };
            assert_eq!(p[2].row(1), &[15 + f, 16 + f, 17 + f]);
        }
        assert!(!r.read_frame(&mut pic).unwrap());
        // A missing alpha plane is a truncated frame.
        data.truncate(data.len() - 1);
        let mut r = Y4mReader::new(Cursor::new(data), "a.y4m".into()).unwrap();
        assert!(r.read_frame(&mut pic).unwrap());
        let e = r.read_frame(&mut pic).unwrap_err().to_string();
        assert!(e.contains("a.y4m") && e.contains("frame 1 is truncated") && e.contains("23 of its 24"), "{e}");
    }

    #[test]
    fn writer_spellings() {
        let tag = |s, d| colourspace_tag(&Geometry::new(4, 4, s, d).unwrap());
        assert_eq!(tag(ChromaSampling::Cs420, 8), "420jpeg");
        assert_eq!(tag(ChromaSampling::Cs422, 10), "422p10");
        assert_eq!(tag(ChromaSampling::Cs400, 16), "mono16");
        for s in [ChromaSampling::Cs400, ChromaSampling::Cs420, ChromaSampling::Cs422, ChromaSampling::Cs444] {
            for d in [8, 10, 12, 16] {
                let c = parse_colourspace(&tag(s, d)).unwrap();
                assert_eq!((c.sampling, c.depth), (s, d));
            }
        }
    }
}
