//! Raw planar YUV: frames back to back, no header; the layout comes from
//! the command line (`-w -h -p -b`). Samples above 8 bits are 16-bit little
//! endian, as ffmpeg's `yuv420p10le` and friends write them; chroma planes
//! of odd sizes are `ceil(w/2)` wide, as ffmpeg writes them.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use vmaf_core::{Error, Geometry, Picture, PictureData, Result};

use super::indexed::{self, FrameFile};
use super::{check_sample_range, describe, read_samples, wrong_picture, VideoReader};

/// Streaming raw YUV reader.
pub struct YuvReader<R> {
    input: R,
    path: PathBuf,
    geometry: Geometry,
    /// Frames read so far, to say which one is damaged.
    frames: u64,
    /// The stream's frames by index, when it is a regular file.
    indexed: Option<FrameFile>,
}

impl<R: Read + Send> YuvReader<R> {
    /// A reader of frames laid out as `geometry` says. `path` is only used
    /// in messages. Reads go straight into the pictures, so `input` need
    /// not be buffered.
    pub fn new(input: R, path: PathBuf, geometry: Geometry) -> Self {
        YuvReader { input, path, geometry, frames: 0, indexed: None }
    }

    /// Offers the frames of `file` (the same file as the input, which
    /// started at its first byte) for reading by index.
    pub(crate) fn index_file(&mut self, file: File) {
        if indexed::POSITIONAL {
            self.indexed = Some(FrameFile::new(file, &self.path, self.geometry, 0, b""));
        }
    }
}

impl<R: Read + Send> VideoReader for YuvReader<R> {
    fn geometry(&self) -> Geometry {
        self.geometry
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn frame_file(&self) -> Option<FrameFile> {
        self.indexed.clone()
    }
    fn read_frame(&mut self, pic: &mut Picture) -> Result<bool> {
        if *pic.geometry() != self.geometry {
            return Err(wrong_picture(&self.path, &self.geometry, pic.geometry()));
        }
        let read = read_samples(&mut self.input, pic).map_err(|e| Error::io(&self.path, e))?;
        let got = read.bytes;
        let n = self.frames;
        if got == 0 {
            return Ok(false);
        }
        let want = self.geometry.frame_bytes();
        if got < want {
            return Err(Error::bad_input(
                &self.path,
                format!(
                    "frame {n} is truncated: the stream ends after {got} of its {want} bytes \
                     (is the layout {} right?)",
                    describe(&self.geometry)
                ),
            ));
        }
        check_sample_range(pic, &read).map_err(|m| Error::bad_input(&self.path, format!("frame {n}: {m}")))?;
        self.frames += 1;
        Ok(true)
    }
}

/// Writes one frame's samples as raw planar YUV (little endian above 8
/// bits): the payload of a Y4M frame, or one frame of a `.yuv` file.
pub fn write_yuv_frame(w: &mut impl Write, pic: &Picture) -> std::io::Result<()> {
    match pic.data() {
        PictureData::U8(planes) => {
            for plane in planes {
                for row in plane.rows() {
                    w.write_all(row)?;
                }
            }
        }
        PictureData::U16(planes) => {
            // Converted a stack block at a time: one write per sample would
            // dominate the cost of writing large test clips.
            let mut block = [0u8; 4096];
            for plane in planes {
                for row in plane.rows() {
                    for chunk in row.chunks(block.len() / 2) {
                        for (b, s) in block.chunks_exact_mut(2).zip(chunk) {
                            b.copy_from_slice(&s.to_le_bytes());
                        }
                        w.write_all(&block[..chunk.len() * 2])?;
                    }
                }
            }
        }
    }
    Ok(())
}
