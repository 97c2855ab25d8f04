//! Video readers: Y4M and raw planar YUV, from files or standard input.
//!
//! Readers stream: each frame is read straight into a caller-owned
//! [`Picture`] (the scorer's own slot), so memory stays constant whatever
//! the clip length, and the per-frame path neither allocates nor copies
//! samples through an intermediate buffer. `-` as a path reads standard
//! input, so `ffmpeg ... -f yuv4mpegpipe - | vmaf -r ref.y4m -d -` works.
//!
//! Every error names the file and says what is wrong with it; nothing a
//! file contains can make a reader panic.

mod indexed;
mod upshift;
mod y4m;
mod yuv;

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

pub use indexed::{FrameFile, Indexed};
pub use upshift::upshift;
pub use y4m::{write_y4m_frame, write_y4m_header, Y4mReader};
pub use yuv::{write_yuv_frame, YuvReader};

use vmaf_core::{ChromaSampling, Error, Geometry, Picture, PictureData, Pixel, Plane, Result};

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
    /// The stream's frames for reading by index on other threads, when
    /// it is a regular file (see [`FrameFile`]). Reading through it leaves
    /// this reader where it was.
    fn frame_file(&self) -> Option<FrameFile> {
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

const Y4M_MAGIC: &[u8; 9] = b"YUV4MPEG2";

/// Read-ahead buffer. Plane reads at least this large bypass it and land
/// in the picture directly, so it only carries the small things (FRAME
/// lines, small chroma planes): keeping it modest means little is copied
/// twice, while still amortising syscalls over small frames.
const READ_AHEAD: usize = 64 << 10;

/// Opens `path` (`-` is standard input): as Y4M when it is a Y4M stream
/// (by content, whatever the name or `raw`), otherwise as raw YUV with
/// `raw`'s layout, which is then required.
pub fn open(path: &Path, raw: Option<RawFormat>) -> Result<Box<dyn VideoReader>> {
    let stdin = path == Path::new("-");
    let (mut input, file_len, second): (Box<dyn Read + Send>, Option<u64>, Option<File>) = if stdin {
        (Box::new(std::io::stdin()), None, None)
    } else {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = f.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::bad_input(path, "is a directory, not a video file"));
        }
        // Only a regular file's length says anything about its contents,
        // and only a regular file can be read by position. Without a
        // second handle the stream is just read sequentially.
        let len = meta.is_file().then_some(meta.len());
        let second = if meta.is_file() { second_handle(&f, path) } else { None };
        (Box::new(f), len, second)
    };

    // Sniff the magic with a loop of reads, not one fill_buf: a pipe may
    // hand over fewer than nine bytes at first.
    let mut head = [0u8; Y4M_MAGIC.len()];
    let got = fill(&mut input, &mut head).map_err(|e| Error::io(path, e))?;
    if got == 0 {
        let what = if stdin { "standard input is empty" } else { "empty file" };
        return Err(Error::bad_input(path, format!("{what}: no video data")));
    }
    let is_y4m = head[..got] == Y4M_MAGIC[..];
    let input = BufReader::with_capacity(READ_AHEAD, Cursor::new(head[..got].to_vec()).chain(input));

    if is_y4m {
        let mut reader = Y4mReader::new(input, path.to_path_buf())?;
        if let Some(f) = second {
            reader.index_file(f);
        }
        return Ok(Box::new(reader));
    }
    let Some(f) = raw else {
        let msg = if has_y4m_extension(path) {
            "not a Y4M stream: the file does not start with \"YUV4MPEG2\""
        } else {
            "not a Y4M stream; to read raw YUV give --width, --height, --pixel_format and --bitdepth"
        };
        return Err(Error::bad_input(path, msg));
    };
    let g = Geometry::new(f.width, f.height, f.sampling, f.bit_depth)
        .map_err(|e| Error::bad_input(path, format!("raw YUV layout: {e}")))?;
    // A wrong layout shows up as a size that is not a whole number of
    // frames; say so now rather than after scoring the whole file.
    if let Some(len) = file_len {
        let fb = g.frame_bytes() as u64;
        if len % fb != 0 {
            return Err(Error::bad_input(
                path,
                format!(
                    "size {len} bytes is not a whole number of {} frames ({fb} bytes each): \
                     wrong layout, or a truncated last frame",
                    describe(&g)
                ),
            ));
        }
    }
    let mut reader = YuvReader::new(input, path.to_path_buf(), g);
    if let Some(f) = second {
        reader.index_file(f);
    }
    Ok(Box::new(reader))
}

/// A handle for positional reads of the file `f` has open. On Unix a
/// duplicate: `pread` leaves the shared file offset alone. Elsewhere
/// positional reads may move the offset, which a duplicate shares with the
/// sequential reader, so the file is opened again.
fn second_handle(f: &File, path: &Path) -> Option<File> {
    if cfg!(unix) {
        f.try_clone().ok()
    } else {
        File::open(path).ok()
    }
}

fn has_y4m_extension(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("y4m"))
}

/// `1920x1080 420 10-bit`, for messages.
pub(crate) fn describe(g: &Geometry) -> String {
    format!("{}x{} {} {}-bit", g.width, g.height, g.sampling.as_str(), g.bit_depth)
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A sample type whose planes can be filled from file bytes in place.
trait FileSample: Pixel {
    /// Samples per read: the whole plane for bytes, which need no work
    /// after reading; for wider samples a block small enough to still be in
    /// cache when it is converted and range-checked, so the check costs no
    /// second trip to memory.
    const BLOCK: usize;
    /// The samples as the bytes they occupy in memory.
    fn as_bytes_mut(s: &mut [Self]) -> &mut [u8];
    /// Converts samples read as little-endian bytes to native order and
    /// returns the bitwise OR of them all (a sample above a bit depth sets
    /// a bit above it; 0 where every value fits, as for bytes).
    fn from_le_in_place(s: &mut [Self]) -> u16;
}

impl FileSample for u8 {
    const BLOCK: usize = usize::MAX;
    fn as_bytes_mut(s: &mut [u8]) -> &mut [u8] {
        s
    }
    fn from_le_in_place(_: &mut [u8]) -> u16 {
        0
    }
}

impl FileSample for u16 {
    // 256 KiB: a fraction of any L2, and still few system calls.
    const BLOCK: usize = 128 << 10;
    fn as_bytes_mut(s: &mut [u16]) -> &mut [u8] {
        // SAFETY: the byte view covers exactly the memory of `s` (u16 has no
        // padding, and u8 has alignment 1), every byte pattern is a valid
        // u16, and the returned slice borrows `s` mutably, so nothing else
        // can observe the samples while it lives.
        unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(s)) }
    }
    fn from_le_in_place(s: &mut [u16]) -> u16 {
        // Files are little endian, as ffmpeg's `*le` formats write them;
        // on little-endian machines the conversion compiles to nothing and
        // this is a vectorised OR.
        if cfg!(target_endian = "big") {
            for v in s.iter_mut() {
                *v = u16::from_le(*v);
            }
        }
        or_all(s)
    }
}

/// The bitwise OR of `s`. Eight independent vector accumulators: a plain
/// fold is one chain of dependent ORs, which runs at a third of the speed
/// and would make the range check cost as much as the read.
fn or_all(s: &[u16]) -> u16 {
    let mut acc = [0u16; 64];
    let mut blocks = s.chunks_exact(acc.len());
    for b in &mut blocks {
        for (a, &v) in acc.iter_mut().zip(b) {
            *a |= v;
        }
    }
    let tail = blocks.remainder().iter().fold(0, |a, &v| a | v);
    acc.iter().fold(tail, |a, &v| a | v)
}

/// Reads into `samples` block by block; returns the bytes read (short only
/// when the stream ended) and the OR of the samples read.
fn read_run<T: FileSample>(r: &mut impl Read, samples: &mut [T]) -> std::io::Result<(usize, u16)> {
    let (mut got, mut bits) = (0, 0);
    for block in samples.chunks_mut(T::BLOCK) {
        let want = block.len() * T::BYTES;
        let n = fill(r, T::as_bytes_mut(block))?;
        got += n;
        if n < want {
            // Only whole samples are meaningful.
            bits |= T::from_le_in_place(&mut block[..n / T::BYTES]);
            return Ok((got, bits));
        }
        bits |= T::from_le_in_place(block);
    }
    Ok((got, bits))
}

/// Reads one plane's samples straight into its storage; returns the bytes
/// read (short only when the stream ended) and the OR of its samples.
fn read_plane<T: FileSample>(r: &mut impl Read, plane: &mut Plane<T>) -> std::io::Result<(usize, u16)> {
    let (w, h, stride) = (plane.width(), plane.height(), plane.stride());
    if w == 0 || h == 0 {
        return Ok((0, 0));
    }
    if stride == w {
        return read_run(r, &mut plane.data_mut()[..w * h]);
    }
    let (mut got, mut bits) = (0, 0);
    for y in 0..h {
        let (n, b) = read_run(r, plane.row_mut(y))?;
        got += n;
        bits |= b;
        if n < w * T::BYTES {
            break;
        }
    }
    Ok((got, bits))
}

/// What reading one frame's samples found.
pub(crate) struct FrameRead {
    /// Bytes read: less than the frame size only when the stream ended (0
    /// when it ended before the frame).
    pub bytes: usize,
    /// Per plane, the OR of its samples, for [`check_sample_range`].
    bits: [u16; 3],
}

/// Reads one frame of planar samples into `pic`.
pub(crate) fn read_samples(r: &mut impl Read, pic: &mut Picture) -> std::io::Result<FrameRead> {
    fn all<T: FileSample>(r: &mut impl Read, planes: &mut [Plane<T>; 3]) -> std::io::Result<FrameRead> {
        let mut out = FrameRead { bytes: 0, bits: [0; 3] };
        for (plane, bits) in planes.iter_mut().zip(&mut out.bits) {
            let (n, b) = read_plane(r, plane)?;
            out.bytes += n;
            *bits = b;
            if n < plane.width() * plane.height() * T::BYTES {
                break;
            }
        }
        Ok(out)
    }
    match pic.data_mut() {
        PictureData::U8(p) => all(r, p),
        PictureData::U16(p) => all(r, p),
    }
}

/// Checks that every sample read fits the bit depth: a value above it
/// means the layout given (or the header) does not describe the data, and
/// features would silently compute nonsense from it.
pub(crate) fn check_sample_range(pic: &Picture, read: &FrameRead) -> std::result::Result<(), String> {
    let depth = pic.bit_depth();
    let PictureData::U16(planes) = pic.data() else { return Ok(()) };
    if depth >= 16 {
        return Ok(());
    }
    let Some(p) = read.bits.iter().position(|&b| b >> depth != 0) else { return Ok(()) };
    // The error path: find the value to show.
    let max = planes[p].rows().flat_map(|row| row.iter().copied()).max().unwrap_or(0);
    Err(format!(
        "plane {} holds the value {max}, above the {depth}-bit maximum {} (is the bit depth right?)",
        ["Y", "U", "V"][p],
        (1u32 << depth) - 1
    ))
}

/// The error for a picture whose geometry is not the reader's (a caller
/// bug, but reported rather than trusted: reading would lose framing).
pub(crate) fn wrong_picture(path: &Path, reader: &Geometry, pic: &Geometry) -> Error {
    Error::Mismatch(format!(
        "{} is {}, but the picture to read into is {}",
        path.display(),
        describe(reader),
        describe(pic)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `step` bytes per read, like a slow pipe.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn fill_collects_short_reads() {
        let data: Vec<u8> = (0..100).collect();
        let mut buf = [0u8; 64];
        assert_eq!(fill(&mut Trickle { data: &data, step: 3 }, &mut buf).unwrap(), 64);
        assert_eq!(&buf[..], &data[..64]);
        assert_eq!(fill(&mut Trickle { data: &data[..10], step: 3 }, &mut buf).unwrap(), 10);
    }

    #[test]
    fn reads_16_bit_little_endian_into_padded_planes() {
        let g = Geometry::new(3, 2, ChromaSampling::Cs400, 10).unwrap();
        let luma = Plane::from_vec(vec![0u16; 2 * 5], 3, 2, 5).unwrap();
        let empty = || Plane::new(0, 0);
        let mut pic = Picture::from_data(g, PictureData::U16([luma, empty(), empty()])).unwrap();
        let bytes: Vec<u8> = [1u16, 2, 1023, 4, 5, 6].iter().flat_map(|v| v.to_le_bytes()).collect();
        let read = read_samples(&mut Trickle { data: &bytes, step: 5 }, &mut pic).unwrap();
        assert_eq!(read.bytes, 12);
        let PictureData::U16(p) = pic.data() else { unreachable!() };
        assert_eq!(p[0].row(0), &[1, 2, 1023]);
        assert_eq!(p[0].row(1), &[4, 5, 6]);
        // The padding between rows is left alone.
        assert_eq!(p[0].data()[3..5], [0, 0]);
        assert!(check_sample_range(&pic, &read).is_ok());
    }

    #[test]
    fn short_stream_reports_bytes_read() {
        let g = Geometry::new(4, 4, ChromaSampling::Cs420, 8).unwrap();
        let mut pic = Picture::new(g);
        let bytes = [7u8; 16 + 3];
        assert_eq!(read_samples(&mut &bytes[..], &mut pic).unwrap().bytes, 19);
        assert_eq!(read_samples(&mut &[][..], &mut pic).unwrap().bytes, 0);
    }

    /// Reads `values` as one frame of `g` and range-checks it.
    fn check(g: Geometry, values: &[u16]) -> std::result::Result<(), String> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut pic = Picture::new(g);
        let read = read_samples(&mut &bytes[..], &mut pic).unwrap();
        assert_eq!(read.bytes, g.frame_bytes());
        check_sample_range(&pic, &read)
    }

    #[test]
    fn sample_range_names_plane_and_value() {
        let g = Geometry::new(2, 2, ChromaSampling::Cs420, 12).unwrap();
        assert!(check(g, &[4095; 6]).is_ok());
        let msg = check(g, &[0, 4095, 1, 2, 3, 4096]).unwrap_err();
        assert!(msg.contains("plane V") && msg.contains("4096") && msg.contains("12-bit maximum 4095"), "{msg}");
        let g = Geometry::new(2, 2, ChromaSampling::Cs420, 10).unwrap();
        assert!(check(g, &[1023; 6]).is_ok());
        assert!(check(g, &[0, 0, 0, 0, 0x8000, 0]).unwrap_err().contains("plane U holds the value 32768"));
        let g = Geometry::new(2, 2, ChromaSampling::Cs420, 16).unwrap();
        assert!(check(g, &[u16::MAX; 6]).is_ok());
    }

    /// A bad sample in the last of several read blocks is still found, and
    /// a good plane larger than a block passes.
    #[test]
    fn sample_range_spans_blocks() {
        let g = Geometry::new(700, 400, ChromaSampling::Cs400, 10).unwrap();
        let n = 700 * 400;
        assert!(n > 2 * <u16 as FileSample>::BLOCK);
        let mut values = vec![1023u16; n];
        assert!(check(g, &values).is_ok());
        values[n - 1] = 1024;
        assert!(check(g, &values).unwrap_err().contains("plane Y holds the value 1024"));
    }
}
