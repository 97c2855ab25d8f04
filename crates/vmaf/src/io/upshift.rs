//! Scores streams of different bit depths at the higher one (libvmaf's
//! "common bit depth", used by `--aom_ctc v6.0` and later): samples of the
//! lower-depth stream are shifted left by the difference, the same scaling
//! ffmpeg applies when it converts 8-bit video to 10-bit.

use std::path::Path;

use vmaf_core::{Geometry, Picture, PictureData, Result};

use super::VideoReader;

struct Upshift {
    inner: Box<dyn VideoReader>,
    geometry: Geometry,
    shift: u32,
    /// The frame at the inner reader's depth, converted from on every read.
    buf: Picture,
}

/// Wraps `inner` so it yields `depth`-bit pictures; returns it unchanged
/// when it already has that depth (or a higher one).
pub fn upshift(inner: Box<dyn VideoReader>, depth: u8) -> Box<dyn VideoReader> {
    let g = inner.geometry();
    if g.bit_depth >= depth {
        return inner;
    }
    let geometry = Geometry { bit_depth: depth, ..g };
    Box::new(Upshift { buf: Picture::new(g), inner, geometry, shift: (depth - g.bit_depth) as u32 })
}

impl VideoReader for Upshift {
    fn geometry(&self) -> Geometry {
        self.geometry
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn frame_rate(&self) -> Option<(u32, u32)> {
        self.inner.frame_rate()
    }
    fn read_frame(&mut self, pic: &mut Picture) -> Result<bool> {
        if !self.inner.read_frame(&mut self.buf)? {
            return Ok(false);
        }
        let shift = self.shift;
        let PictureData::U16(dst) = pic.data_mut() else {
            unreachable!("an upshifted geometry is always above 8 bits")
        };
        for (d, p) in dst.iter_mut().zip(0..) {
            match self.buf.data() {
                PictureData::U8(src) => {
                    for y in 0..d.height() {
                        for (o, &i) in d.row_mut(y).iter_mut().zip(src[p].row(y)) {
                            *o = (i as u16) << shift;
                        }
                    }
                }
                PictureData::U16(src) => {
                    for y in 0..d.height() {
                        for (o, &i) in d.row_mut(y).iter_mut().zip(src[p].row(y)) {
                            *o = i << shift;
                        }
                    }
                }
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{write_y4m_frame, write_y4m_header, Y4mReader};
    use vmaf_core::ChromaSampling;

    #[test]
    fn eight_bit_becomes_ten() {
        let g = Geometry::new(3, 3, ChromaSampling::Cs420, 8).unwrap();
        let mut pic = Picture::new(g);
        if let PictureData::U8(p) = pic.data_mut() {
            p[0].data_mut().iter_mut().enumerate().for_each(|(i, v)| *v = 250 + i as u8 % 6);
            p[1].data_mut()[0] = 255;
        }
        let mut bytes = Vec::new();
        write_y4m_header(&mut bytes, &g, (25, 1)).unwrap();
        write_y4m_frame(&mut bytes, &pic).unwrap();
        let r = Y4mReader::new(std::io::Cursor::new(bytes), "t.y4m".into()).unwrap();
        let mut up = upshift(Box::new(r), 10);
        assert_eq!(up.geometry().bit_depth, 10);
        let mut out = Picture::new(up.geometry());
        assert!(up.read_frame(&mut out).unwrap());
        let PictureData::U16(o) = out.data() else { panic!() };
        assert_eq!(o[0].row(0), &[1000, 1004, 1008]);
        assert_eq!(o[1].row(0)[0], 1020);
        assert!(!up.read_frame(&mut out).unwrap());
    }
}
