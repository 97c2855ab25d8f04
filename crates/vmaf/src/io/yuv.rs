//! Raw planar YUV: frames back to back, no header; the layout comes from
//! the command line (`-w -h -p -b`). Samples above 8 bits are 16-bit little
//! endian, as ffmpeg's `yuv420p10le` and friends write them.

use std::io::Read;
use std::path::{Path, PathBuf};

use vmaf_core::{Geometry, Picture, Result};

use super::{read_planes, VideoReader};

pub struct YuvReader<R> {
    input: R,
    path: PathBuf,
    geometry: Geometry,
    scratch: Vec<u8>,
}

impl<R: Read + Send> YuvReader<R> {
    pub fn new(input: R, path: PathBuf, geometry: Geometry) -> Self {
        YuvReader { input, path, geometry, scratch: Vec::new() }
    }
}

impl<R: Read + Send> VideoReader for YuvReader<R> {
    fn geometry(&self) -> Geometry {
        self.geometry
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn read_frame(&mut self, pic: &mut Picture) -> Result<bool> {
        debug_assert_eq!(*pic.geometry(), self.geometry);
        read_planes(&mut self.input, pic, &mut self.scratch, &self.path)
    }
}
