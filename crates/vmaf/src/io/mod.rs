//! Video readers: Y4M and raw planar YUV, from files or standard input.
//!
//! Readers stream: one frame is read straight into a caller-owned
//! [`Picture`], so memory stays constant whatever the clip length and the
//! per-frame path allocates nothing. `-` as a path reads standard input, so
//! `ffmpeg ... -f yuv4mpegpipe - | vmaf -r ref.y4m -d -` works.

mod upshift;
mod y4m;
mod yuv;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub use upshift::upshift;
pub use y4m::{write_y4m_frame, write_y4m_header, Y4mReader};
pub use yuv::YuvReader;

use vmaf_core::{ChromaSampling, Error, Geometry, Picture, PictureData, Result};

/// A source of pictures of one fixed geometry.
pub trait VideoReader: Send {
    fn geometry(&self) -> Geometry;
    /// The path it reads, for messages (`-` for standard input).
    fn path(&self) -> &Path;
    /// Reads the next frame into `pic` (which must have this reader's
    /// geometry). `Ok(false)` at a clean end of stream; a partial frame is an
    /// error.
    fn read_frame(&mut self, pic: &mut Picture) -> Result<bool>;
    /// Frame rate from the stream header, when it has one.
    fn frame_rate(&self) -> Option<(u32, u32)> {
        None
    }
}

/// The layout of a raw YUV file, which carries no header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawFormat {
    pub width: u32,
    pub height: u32,
    pub sampling: ChromaSampling,
    pub bit_depth: u8,
}

/// Opens `path` (`-` is standard input): as Y4M when it is a Y4M stream
/// (by content, whatever the name), otherwise as raw YUV with `raw`'s
/// layout, which is then required.
pub fn open(path: &Path, raw: Option<RawFormat>) -> Result<Box<dyn VideoReader>> {
    let input: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(Error::bad_input(path, "is a directory"));
        }
        Box::new(f)
    };
    // Large buffer: the readers consume whole frames, and big reads keep
    // the kernel's read-ahead busy.
    let mut input = BufReader::with_capacity(1 << 20, input);
    let is_y4m = {
        use std::io::BufRead;
        let head = input.fill_buf().map_err(|e| Error::io(path, e))?;
        head.starts_with(b"YUV4MPEG2")
    };
    if is_y4m {
        Ok(Box::new(Y4mReader::new(input, path.to_path_buf())?))
    } else if let Some(f) = raw {
        let g = Geometry::new(f.width, f.height, f.sampling, f.bit_depth)?;
        Ok(Box::new(YuvReader::new(input, path.to_path_buf(), g)))
    } else if has_y4m_extension(path) {
        Err(Error::bad_input(path, "not a Y4M stream: the file does not start with \"YUV4MPEG2\""))
    } else {
        Err(Error::bad_input(
            path,
            "not a Y4M stream; to read raw YUV give --width, --height, --pixel_format and --bitdepth",
        ))
    }
}

fn has_y4m_extension(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("y4m"))
}

/// Reads exactly `buf.len()` bytes. `Ok(false)` if the stream ended before
/// the first byte; an error naming `what` if it ended part way.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8], path: &PathBuf, what: &str) -> Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    if got == 0 {
        return Ok(false);
    }
    if got < buf.len() {
        return Err(Error::bad_input(
            path,
            format!("truncated {what}: got {got} of {} bytes", buf.len()),
        ));
    }
    Ok(true)
}

/// Reads one frame of planar samples (little-endian for >8 bits) into
/// `pic`, using `scratch` for the bytes of one plane row block.
pub(crate) fn read_planes(
    r: &mut impl Read,
    pic: &mut Picture,
    scratch: &mut Vec<u8>,
    path: &PathBuf,
) -> Result<bool> {
    let g = *pic.geometry();
    let planes = g.plane_count();
    let mut first = true;
    match pic.data_mut() {
        PictureData::U8(p) => {
            for plane in p.iter_mut().take(planes) {
                let (w, h, stride) = (plane.width(), plane.height(), plane.stride());
                if stride == w {
                    let buf = &mut plane.data_mut()[..w * h];
                    if !read_full(r, buf, path, "frame")? {
                        if first {
                            return Ok(false);
                        }
                        return Err(Error::bad_input(path, "truncated frame"));
                    }
                } else {
                    for y in 0..h {
                        if !read_full(r, plane.row_mut(y), path, "frame")? {
                            if first && y == 0 {
                                return Ok(false);
                            }
                            return Err(Error::bad_input(path, "truncated frame"));
                        }
                    }
                }
                first = false;
            }
        }
        PictureData::U16(p) => {
            for plane in p.iter_mut().take(planes) {
                let (w, h) = (plane.width(), plane.height());
                scratch.resize(w * h * 2, 0);
                if !read_full(r, scratch, path, "frame")? {
                    if first {
                        return Ok(false);
                    }
                    return Err(Error::bad_input(path, "truncated frame"));
                }
                let max = if g.bit_depth == 16 { u16::MAX } else { (1u16 << g.bit_depth) - 1 };
                let mut over = false;
                for y in 0..h {
                    let src = &scratch[y * w * 2..(y + 1) * w * 2];
                    for (d, s) in plane.row_mut(y).iter_mut().zip(src.chunks_exact(2)) {
                        let v = u16::from_le_bytes([s[0], s[1]]);
                        over |= v > max;
                        *d = v;
                    }
                }
                if over {
                    return Err(Error::bad_input(
                        path,
                        format!("sample values exceed {} bits; is the bit depth right?", g.bit_depth),
                    ));
                }
                first = false;
            }
        }
    }
    Ok(true)
}
