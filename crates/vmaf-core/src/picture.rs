//! Picture storage shared by readers, extractors and backends.
//!
//! A [`Picture`] holds up to three planes of one sample type: `u8` for 8-bit
//! video, `u16` for 10/12/16-bit video (the same split libvmaf makes, so the
//! integer arithmetic of every feature can follow it exactly). Chroma planes
//! of subsampled formats are `ceil(w/2)` wide (and `ceil(h/2)` high for 4:2:0),
//! which is how ffmpeg writes odd-sized video; libvmaf's `floor` sizing is the
//! bug that makes it lose framing on such input.

use crate::error::{Error, Result};

/// How the chroma planes are sampled relative to luma.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChromaSampling {
    /// Luma only (Y4M `Cmono`, raw `-p 400`).
    Cs400,
    Cs420,
    Cs422,
    Cs444,
}

impl ChromaSampling {
    /// (horizontal, vertical) subsampling shifts of the chroma planes.
    pub const fn shifts(self) -> (u32, u32) {
        match self {
            ChromaSampling::Cs420 => (1, 1),
            ChromaSampling::Cs422 => (1, 0),
            ChromaSampling::Cs444 | ChromaSampling::Cs400 => (0, 0),
        }
    }

    pub const fn plane_count(self) -> usize {
        match self {
            ChromaSampling::Cs400 => 1,
            _ => 3,
        }
    }

    /// The name libvmaf's `-p` flag uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            ChromaSampling::Cs400 => "400",
            ChromaSampling::Cs420 => "420",
            ChromaSampling::Cs422 => "422",
            ChromaSampling::Cs444 => "444",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "400" => ChromaSampling::Cs400,
            "420" => ChromaSampling::Cs420,
            "422" => ChromaSampling::Cs422,
            "444" => ChromaSampling::Cs444,
            _ => return None,
        })
    }
}

/// Everything that fixes the layout of every picture of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
    pub sampling: ChromaSampling,
    /// Bits per component: 8, 10, 12 or 16.
    pub bit_depth: u8,
}

/// Largest width or height accepted: keeps every `w * h` product (and the
/// sums over it that features accumulate) far from overflowing.
pub const MAX_DIMENSION: u32 = 1 << 15;

impl Geometry {
    /// A validated geometry: non-zero size no larger than [`MAX_DIMENSION`],
    /// and a bit depth libvmaf supports.
    pub fn new(width: u32, height: u32, sampling: ChromaSampling, bit_depth: u8) -> Result<Self> {
        if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(Error::InvalidGeometry(format!(
                "picture size {width}x{height} is outside 1..={MAX_DIMENSION}"
            )));
        }
        if !matches!(bit_depth, 8 | 10 | 12 | 16) {
            return Err(Error::UnsupportedBitDepth(bit_depth as u32));
        }
        Ok(Geometry { width, height, sampling, bit_depth })
    }

    pub const fn plane_count(&self) -> usize {
        self.sampling.plane_count()
    }

    /// Width and height of plane `p` (0 = luma); `(0, 0)` for planes a
    /// format does not have.
    pub const fn plane_size(&self, p: usize) -> (u32, u32) {
        if p == 0 {
            return (self.width, self.height);
        }
        if p >= self.plane_count() {
            return (0, 0);
        }
        let (sx, sy) = self.sampling.shifts();
        // ceil division: ffmpeg's chroma size for odd dimensions.
        ((self.width + (1 << sx) - 1) >> sx, (self.height + (1 << sy) - 1) >> sy)
    }

    /// Bytes per sample as stored in files: 1 for 8-bit, 2 (little endian)
    /// otherwise.
    pub const fn bytes_per_sample(&self) -> usize {
        if self.bit_depth > 8 {
            2
        } else {
            1
        }
    }

    /// Size in bytes of one frame as stored in a raw YUV or Y4M file.
    pub fn frame_bytes(&self) -> usize {
        (0..self.plane_count())
            .map(|p| {
                let (w, h) = self.plane_size(p);
                w as usize * h as usize * self.bytes_per_sample()
            })
            .sum()
    }
}

/// A sample type a plane may hold.
pub trait Pixel: Copy + Default + Send + Sync + Into<u32> + 'static {
    const BYTES: usize;
}
impl Pixel for u8 {
    const BYTES: usize = 1;
}
impl Pixel for u16 {
    const BYTES: usize = 2;
}

/// One plane of samples, rows `stride` samples apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plane<T: Pixel> {
    data: Vec<T>,
    width: usize,
    height: usize,
    stride: usize,
}

impl<T: Pixel> Plane<T> {
    /// A zeroed plane with a stride equal to its width. Aborts if memory
    /// runs out, as `Vec` does; see [`Self::try_new`].
    pub fn new(width: usize, height: usize) -> Self {
        Plane { data: vec![T::default(); width * height], width, height, stride: width }
    }

    /// Like [`Self::new`], but reports an allocation failure instead of
    /// aborting: sizes come from file headers, which may be absurd.
    pub fn try_new(width: usize, height: usize) -> Result<Self> {
        let n = width.checked_mul(height).ok_or_else(|| too_big(width, height))?;
        Ok(Plane { data: try_zeroed(n).ok_or_else(|| too_big(width, height))?, width, height, stride: width })
    }

    /// A plane over existing samples; `data.len()` must hold `height` rows of
    /// `stride` samples (the last row may be just `width` long).
    pub fn from_vec(data: Vec<T>, width: usize, height: usize, stride: usize) -> Result<Self> {
        let needed = if height == 0 { 0 } else { (height - 1) * stride + width };
        if stride < width || data.len() < needed {
            return Err(Error::InvalidGeometry(format!(
                "plane of {width}x{height} with stride {stride} needs {needed} samples, got {}",
                data.len()
            )));
        }
        Ok(Plane { data, width, height, stride })
    }

    pub fn width(&self) -> usize {
        self.width
    }
    pub fn height(&self) -> usize {
        self.height
    }
    pub fn stride(&self) -> usize {
        self.stride
    }
    /// All samples, padding included.
    pub fn data(&self) -> &[T] {
        &self.data
    }
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }
    pub fn row(&self, y: usize) -> &[T] {
        let s = y * self.stride;
        &self.data[s..s + self.width]
    }
    pub fn row_mut(&mut self, y: usize) -> &mut [T] {
        let s = y * self.stride;
        &mut self.data[s..s + self.width]
    }
    pub fn rows(&self) -> impl Iterator<Item = &[T]> + '_ {
        (0..self.height).map(move |y| self.row(y))
    }
}

/// A zero-filled vector from the allocator's zeroed path: the pages of a
/// large plane are mapped lazily, so an absurd size from a bogus header
/// fails here (or costs nothing until read) instead of aborting the process
/// while zeroing.
fn try_zeroed<T: Pixel>(n: usize) -> Option<Vec<T>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<T>(n).ok()?;
    // SAFETY: the layout is non-zero sized; `Pixel` types (u8, u16) are
    // plain integers for which all-zero bytes are a valid value, and the
    // pointer comes from the global allocator with exactly this layout, as
    // `Vec::from_raw_parts` requires.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout) as *mut T;
        if ptr.is_null() {
            return None;
        }
        Some(Vec::from_raw_parts(ptr, n, n))
    }
}

fn too_big(width: usize, height: usize) -> Error {
    Error::InvalidGeometry(format!("cannot allocate a {width}x{height} plane: out of memory"))
}

/// The three planes of one picture (unused planes are 0x0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PictureData {
    U8([Plane<u8>; 3]),
    U16([Plane<u16>; 3]),
}

/// A decoded picture: its geometry and its samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    geometry: Geometry,
    data: PictureData,
}

fn planes_for<T: Pixel>(g: &Geometry) -> [Plane<T>; 3] {
    std::array::from_fn(|p| {
        let (w, h) = g.plane_size(p);
        Plane::new(w as usize, h as usize)
    })
}

impl Picture {
    /// A zeroed picture laid out for `geometry`.
    pub fn new(geometry: Geometry) -> Self {
        let data = if geometry.bit_depth > 8 {
            PictureData::U16(planes_for(&geometry))
        } else {
            PictureData::U8(planes_for(&geometry))
        };
        Picture { geometry, data }
    }

    /// Like [`Self::new`], but reports an allocation failure instead of
    /// aborting.
    pub fn try_new(geometry: Geometry) -> Result<Self> {
        fn planes<T: Pixel>(g: &Geometry) -> Result<[Plane<T>; 3]> {
            let mk = |p: usize| {
                let (w, h) = g.plane_size(p);
                Plane::try_new(w as usize, h as usize)
            };
            Ok([mk(0)?, mk(1)?, mk(2)?])
        }
        let data = if geometry.bit_depth > 8 {
            PictureData::U16(planes(&geometry)?)
        } else {
            PictureData::U8(planes(&geometry)?)
        };
        Ok(Picture { geometry, data })
    }

    /// Builds a picture from planes the caller filled; checks that the plane
    /// sizes and sample type match `geometry`.
    pub fn from_data(geometry: Geometry, data: PictureData) -> Result<Self> {
        let sizes: [(usize, usize); 3] = match &data {
            PictureData::U8(p) => std::array::from_fn(|i| (p[i].width, p[i].height)),
            PictureData::U16(p) => std::array::from_fn(|i| (p[i].width, p[i].height)),
        };
        let wide = matches!(data, PictureData::U16(_));
        if wide != (geometry.bit_depth > 8) {
            return Err(Error::InvalidGeometry(format!(
                "{}-bit picture needs {} samples",
                geometry.bit_depth,
                if geometry.bit_depth > 8 { "u16" } else { "u8" }
            )));
        }
        for (p, &(w, h)) in sizes.iter().enumerate() {
            let (ew, eh) = geometry.plane_size(p);
            if (w, h) != (ew as usize, eh as usize) {
                return Err(Error::InvalidGeometry(format!(
                    "plane {p} is {w}x{h}, expected {ew}x{eh}"
                )));
            }
        }
        Ok(Picture { geometry, data })
    }

    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }
    pub fn data(&self) -> &PictureData {
        &self.data
    }
    pub fn data_mut(&mut self) -> &mut PictureData {
        &mut self.data
    }
    pub fn bit_depth(&self) -> u8 {
        self.geometry.bit_depth
    }

    /// Copies the samples of `src` (same geometry) into this picture's
    /// buffers, row by row whatever either stride is. Unlike `clone_from`
    /// (which the derive implements as a fresh clone), it never allocates,
    /// so a scorer can take pictures it does not own on a per-frame path.
    pub fn copy_from(&mut self, src: &Picture) -> Result<()> {
        if src.geometry != self.geometry {
            return Err(Error::Mismatch(format!("picture is {:?}, expected {:?}", src.geometry, self.geometry)));
        }
        fn planes<T: Pixel>(dst: &mut [Plane<T>; 3], src: &[Plane<T>; 3]) {
            for (d, s) in dst.iter_mut().zip(src) {
                if d.stride == d.width && s.stride == s.width {
                    let n = d.width * d.height;
                    d.data[..n].copy_from_slice(&s.data[..n]);
                } else {
                    for y in 0..d.height {
                        d.row_mut(y).copy_from_slice(s.row(y));
                    }
                }
            }
        }
        match (&mut self.data, &src.data) {
            (PictureData::U8(d), PictureData::U8(s)) => planes(d, s),
            (PictureData::U16(d), PictureData::U16(s)) => planes(d, s),
            // The sample type follows the geometry, checked above.
            _ => return Err(Error::Mismatch("sample types differ".into())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_sizes_round_chroma_up() {
        let g = Geometry::new(577, 323, ChromaSampling::Cs420, 8).unwrap();
        assert_eq!(g.plane_size(1), (289, 162));
        assert_eq!(g.frame_bytes(), 577 * 323 + 2 * 289 * 162);
        let g = Geometry::new(577, 323, ChromaSampling::Cs422, 10).unwrap();
        assert_eq!(g.plane_size(2), (289, 323));
        assert_eq!(g.frame_bytes(), 2 * (577 * 323 + 2 * 289 * 323));
        let g = Geometry::new(5, 3, ChromaSampling::Cs400, 8).unwrap();
        assert_eq!(g.plane_size(1), (0, 0));
        assert_eq!(g.frame_bytes(), 15);
    }

    #[test]
    fn geometry_rejects_bad_input() {
        assert!(matches!(
            Geometry::new(16, 16, ChromaSampling::Cs420, 9),
            Err(Error::UnsupportedBitDepth(9))
        ));
        assert!(Geometry::new(0, 16, ChromaSampling::Cs420, 8).is_err());
    }

    #[test]
    fn copy_from_takes_every_sample_across_strides() {
        let g = Geometry::new(5, 3, ChromaSampling::Cs420, 10).unwrap();
        let mut src = Picture::new(g);
        let PictureData::U16(planes) = src.data_mut() else { unreachable!() };
        let strided: Vec<u16> = (0..3).flat_map(|y| (0..7).map(move |x| (y * 7 + x) as u16)).collect();
        planes[0] = Plane::from_vec(strided, 5, 3, 7).unwrap();
        planes[2].data_mut().iter_mut().enumerate().for_each(|(i, v)| *v = 500 + i as u16);
        let mut dst = Picture::new(g);
        dst.copy_from(&src).unwrap();
        let PictureData::U16(d) = dst.data() else { unreachable!() };
        for y in 0..3 {
            assert_eq!(d[0].row(y), src_row(&src, y), "row {y}");
        }
        assert_eq!(d[2].data(), &[500, 501, 502, 503, 504, 505]);
        let other = Picture::new(Geometry::new(5, 3, ChromaSampling::Cs444, 10).unwrap());
        assert!(dst.copy_from(&other).is_err());

        fn src_row(p: &Picture, y: usize) -> &[u16] {
            let PictureData::U16(s) = p.data() else { unreachable!() };
            s[0].row(y)
        }
    }

    #[test]
    fn picture_checks_planes() {
        let g = Geometry::new(4, 4, ChromaSampling::Cs420, 8).unwrap();
        let p = Picture::new(g);
        assert!(Picture::from_data(g, p.data().clone()).is_ok());
        let g10 = Geometry::new(4, 4, ChromaSampling::Cs420, 10).unwrap();
        assert!(Picture::from_data(g10, p.data().clone()).is_err());
    }
}
