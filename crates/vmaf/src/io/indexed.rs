//! Frames of a regular file read by index, on any number of threads.
//!
//! A Y4M file whose frames all start with a bare `FRAME` line, and every
//! raw YUV file, holds frame `n` at a fixed offset. Reading frames there
//! with positional reads (no shared file cursor) lets several threads read
//! one stream at once: at high thread counts a single reading thread per
//! stream, copying 3 MB a 1080p frame out of the page cache, is what bounds
//! the fast features (cambi runs at twice the speed one reader delivers).
//!
//! Only the common, well-formed case is handled here. Anything else (a
//! FRAME line with parameters, a truncated frame, a sample above the bit
//! depth) reports [`Indexed::Irregular`], and the caller goes back to the
//! stream's sequential reader from that frame on, which handles every case
//! and words every error; frames before it were all regular, so the two
//! readers agree on where that frame starts.

use std::fs::File;
use std::io::Read;
use std::sync::Arc;

use vmaf_core::{Error, Geometry, Picture, Result};

use super::{check_sample_range, fill, read_samples, wrong_picture};

/// The Y4M frame header every indexed frame must start with.
pub(crate) const Y4M_FRAME: &[u8] = b"FRAME\n";

/// Where a stream's frames sit in its file; cheap to clone (the file is
/// shared, and positional reads leave its cursor alone).
#[derive(Clone, Debug)]
pub struct FrameFile {
    file: Arc<File>,
    path: Arc<std::path::Path>,
    geometry: Geometry,
    /// Offset of frame 0 (its FRAME line, for Y4M).
    first: u64,
    /// The exact line each frame starts with (empty for raw YUV).
    header: &'static [u8],
}

/// What reading frame `n` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indexed {
    /// The frame is in the picture.
    Read,
    /// The stream ends before the frame (not one byte of it is there).
    End,
    /// The frame is not where a regular stream has it, or is damaged: read
    /// it, and every later frame, sequentially.
    Irregular,
}

impl FrameFile {
    pub(crate) fn new(
        file: File,
        path: &std::path::Path,
        geometry: Geometry,
        first: u64,
        header: &'static [u8],
    ) -> Self {
        FrameFile { file: Arc::new(file), path: path.into(), geometry, first, header }
    }

    /// Bytes from one frame's start to the next's.
    fn frame_len(&self) -> u64 {
        self.header.len() as u64 + self.geometry.frame_bytes() as u64
    }

    /// Reads frame `n` (counted from the start of the stream) into `pic`.
    /// Errors are the file's own (I/O); anything about its contents is
    /// [`Indexed::Irregular`].
    pub fn read(&self, n: u64, pic: &mut Picture) -> Result<Indexed> {
        if *pic.geometry() != self.geometry {
            return Err(wrong_picture(&self.path, &self.geometry, pic.geometry()));
        }
        let Some(pos) = n.checked_mul(self.frame_len()).and_then(|o| o.checked_add(self.first)) else {
            return Ok(Indexed::Irregular);
        };
        let mut at = At { file: &self.file, pos };
        let io = |e| Error::io(&*self.path, e);
        if !self.header.is_empty() {
            let mut line = [0u8; 8];
            let line = &mut line[..self.header.len()];
            match fill(&mut at, line).map_err(io)? {
                0 => return Ok(Indexed::End),
                got if got == line.len() && line == self.header => {}
                _ => return Ok(Indexed::Irregular),
            }
        }
        let read = read_samples(&mut at, pic).map_err(io)?;
        if self.header.is_empty() && read.bytes == 0 {
            return Ok(Indexed::End);
        }
        if read.bytes < self.geometry.frame_bytes() || check_sample_range(pic, &read).is_err() {
            return Ok(Indexed::Irregular);
        }
        Ok(Indexed::Read)
    }
}

/// A file read from `pos` on by positional reads.
struct At<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = read_at(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, pos)
}

#[cfg(windows)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    // Moves the file cursor, which no one else uses on this handle.
    std::os::windows::fs::FileExt::seek_read(f, buf, pos)
}

#[cfg(not(any(unix, windows)))]
fn read_at(_: &File, _: &mut [u8], _: u64) -> std::io::Result<usize> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "positional reads"))
}

/// Whether this platform reads files by position (otherwise no stream
/// offers a [`FrameFile`]).
pub(crate) const POSITIONAL: bool = cfg!(any(unix, windows));

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{ChromaSampling, PictureData};

    fn geometry() -> Geometry {
        Geometry::new(6, 4, ChromaSampling::Cs420, 8).unwrap()
    }

    /// A file of `header` then the given frames, each a FRAME line (or
    /// none, for raw) and its samples (all equal to the frame number).
    fn file(header: &[u8], lines: &[&[u8]], cut: usize) -> (tempfile::NamedTempFile, u64) {
        let mut bytes = header.to_vec();
        for (i, line) in lines.iter().enumerate() {
            bytes.extend_from_slice(line);
            bytes.extend(std::iter::repeat_n(i as u8, geometry().frame_bytes()));
        }
        bytes.truncate(bytes.len() - cut);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &bytes).unwrap();
        (f, header.len() as u64)
    }

    fn read_all(f: &tempfile::NamedTempFile, first: u64, header: &'static [u8], n: u64) -> Vec<Indexed> {
        let ff = FrameFile::new(File::open(f.path()).unwrap(), f.path(), geometry(), first, header);
        let mut pic = Picture::new(geometry());
        (0..n)
            .map(|i| {
                let got = ff.read(i, &mut pic).unwrap();
                if got == Indexed::Read {
                    let PictureData::U8(p) = pic.data() else { unreachable!() };
                    assert!(p.iter().all(|pl| pl.data().iter().all(|&v| v == i as u8)), "frame {i}'s samples");
                }
                got
            })
            .collect()
    }

    #[test]
    fn regular_y4m_frames_read_by_index_then_end() {
        let (f, first) = file(b"YUV4MPEG2 W6 H4\n", &[Y4M_FRAME; 3], 0);
        let got = read_all(&f, first, Y4M_FRAME, 5);
        assert_eq!(got, [Indexed::Read, Indexed::Read, Indexed::Read, Indexed::End, Indexed::End]);
    }

    #[test]
    fn anything_irregular_is_handed_back() {
        // A FRAME line with parameters: that frame and every later offset.
        let (f, first) = file(b"YUV4MPEG2 W6 H4\n", &[Y4M_FRAME, b"FRAME Ixyz\n", Y4M_FRAME], 0);
        assert_eq!(read_all(&f, first, Y4M_FRAME, 2), [Indexed::Read, Indexed::Irregular]);
        // A cut last frame, and a stream that ends inside a FRAME line.
        let (f, first) = file(b"YUV4MPEG2 W6 H4\n", &[Y4M_FRAME; 2], 5);
        assert_eq!(read_all(&f, first, Y4M_FRAME, 2), [Indexed::Read, Indexed::Irregular]);
        let (f, first) = file(b"YUV4MPEG2 W6 H4\n", &[Y4M_FRAME; 2], geometry().frame_bytes() + 2);
        assert_eq!(read_all(&f, first, Y4M_FRAME, 2), [Indexed::Read, Indexed::Irregular]);
        // An index whose offset overflows.
        let ff = FrameFile::new(File::open(f.path()).unwrap(), f.path(), geometry(), first, Y4M_FRAME);
        assert_eq!(ff.read(u64::MAX, &mut Picture::new(geometry())).unwrap(), Indexed::Irregular);
    }

    #[test]
    fn raw_frames_end_at_a_whole_frame_and_a_cut_one_is_irregular() {
        let (f, _) = file(b"", &[&[][..]; 2], 0);
        assert_eq!(read_all(&f, 0, b"", 3), [Indexed::Read, Indexed::Read, Indexed::End]);
        let (f, _) = file(b"", &[&[][..]; 2], 1);
        assert_eq!(read_all(&f, 0, b"", 2), [Indexed::Read, Indexed::Irregular]);
    }

    #[test]
    fn a_picture_of_another_geometry_is_an_error() {
        let (f, first) = file(b"YUV4MPEG2 W6 H4\n", &[Y4M_FRAME], 0);
        let ff = FrameFile::new(File::open(f.path()).unwrap(), f.path(), geometry(), first, Y4M_FRAME);
        let other = Geometry::new(8, 4, ChromaSampling::Cs420, 8).unwrap();
        assert!(ff.read(0, &mut Picture::new(other)).is_err());
    }
}
