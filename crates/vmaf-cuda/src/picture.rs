//! Pictures that are already in device memory.
//!
//! A decoder on the GPU (NVDEC, or any CUDA producer) leaves frames in
//! device memory; copying them to the host only to upload them again would
//! cost two PCIe transfers per frame. [`CudaPicture`] describes such a
//! frame (a device address and a pitch per plane, borrowed, not owned) so
//! that CUDA extractors can read it in place. [`DevicePicture`] is an owned
//! device picture with the same view, for tests, benchmarks and callers
//! who keep reference frames on the device.

use std::marker::PhantomData;

use vmaf_core::{Error, Geometry, Picture, PictureData, Pixel, Plane, Result};

use crate::device::{CudaDevice, DeviceBuffer, Stream};

/// One plane in device memory: the address of its first sample and the
/// distance in bytes from one row to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CudaPlane {
    /// A `CUdeviceptr` in the context of the device the extractor runs on.
    pub ptr: u64,
    pub pitch: usize,
}

/// A borrowed picture in device memory, laid out as `geometry` says:
/// `u8` samples for 8-bit video, little-endian `u16` otherwise, chroma
/// planes `ceil(w/2)` wide for subsampled formats.
#[derive(Clone, Copy, Debug)]
pub struct CudaPicture<'a> {
    geometry: Geometry,
    planes: [CudaPlane; 3],
    _borrow: PhantomData<&'a ()>,
}

impl<'a> CudaPicture<'a> {
    /// Describes device memory the caller owns. Checks what can be checked
    /// without touching the device: non-null, aligned addresses and
    /// pitches that hold a row, for every plane the format has.
    ///
    /// # Safety
    /// For every plane `p` the format has, `planes[p].ptr` must be device
    /// memory of the context of the [`CudaDevice`] the extractor runs on,
    /// holding `geometry.plane_size(p).1` rows `pitch` bytes apart. The
    /// samples must be written (the producer's work complete) before the
    /// picture is submitted, and stay valid and unchanged until the
    /// extractor's `collect` for that frame has returned.
    pub unsafe fn from_raw(geometry: Geometry, planes: [CudaPlane; 3]) -> Result<CudaPicture<'a>> {
        let bps = geometry.bytes_per_sample();
        for (p, plane) in planes.iter().enumerate().take(geometry.plane_count()) {
            let (w, _) = geometry.plane_size(p);
            let row = w as usize * bps;
            if plane.ptr == 0 {
                return Err(Error::InvalidGeometry(format!("device plane {p} has a null address")));
            }
            if plane.pitch < row {
                return Err(Error::InvalidGeometry(format!(
                    "device plane {p}: pitch {} is less than a row of {w} samples ({row} bytes)",
                    plane.pitch
                )));
            }
            if bps > 1 && (plane.ptr % bps as u64 != 0 || plane.pitch % bps != 0) {
                return Err(Error::InvalidGeometry(format!(
                    "device plane {p}: address and pitch must be multiples of {bps} for {}-bit samples",
                    geometry.bit_depth
                )));
            }
        }
        let mut planes = planes;
        for plane in planes.iter_mut().skip(geometry.plane_count()) {
            *plane = CudaPlane::default();
        }
        Ok(CudaPicture { geometry, planes, _borrow: PhantomData })
    }

    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Plane `p` (zeroed for planes the format lacks).
    pub fn plane(&self, p: usize) -> CudaPlane {
        self.planes[p]
    }
}

/// Row pitch of [`DevicePicture`] planes: rows start on 256-byte
/// boundaries, as CUDA's pitched allocations and NVDEC surfaces do, so the
/// extractors are exercised with pitch != width.
const PITCH_ALIGN: usize = 256;

/// An owned picture in device memory.
pub struct DevicePicture {
    geometry: Geometry,
    planes: [CudaPlane; 3],
    /// Uploads run here, and are waited for before `upload` returns.
    stream: Stream,
    buffer: DeviceBuffer,
}

impl DevicePicture {
    /// Allocates a picture of `geometry` on `device` (contents undefined
    /// until [`Self::upload`]).
    pub fn new(device: &CudaDevice, geometry: Geometry) -> Result<Self> {
        let bps = geometry.bytes_per_sample();
        let mut offsets = [0usize; 3];
        let mut pitches = [0usize; 3];
        let mut total = 0usize;
        for p in 0..geometry.plane_count() {
            let (w, h) = geometry.plane_size(p);
            pitches[p] = (w as usize * bps).div_ceil(PITCH_ALIGN) * PITCH_ALIGN;
            offsets[p] = total;
            total += pitches[p] * h as usize;
        }
        let stream = Stream::new(device.ctx())?;
        let buffer = DeviceBuffer::new(device.ctx(), total)?;
        let mut planes = [CudaPlane::default(); 3];
        for p in 0..geometry.plane_count() {
            planes[p] = CudaPlane { ptr: buffer.ptr() + offsets[p] as u64, pitch: pitches[p] };
        }
        Ok(DevicePicture { geometry, planes, stream, buffer })
    }

    /// Copies `picture` in and waits until it is on the device (one host
    /// wait), so any stream may read it afterwards. Must not be called
    /// while a frame submitted from this picture is still to be collected.
    pub fn upload(&mut self, picture: &Picture) -> Result<()> {
        if *picture.geometry() != self.geometry {
            return Err(Error::Mismatch(format!(
                "picture is {:?}, device picture is {:?}",
                picture.geometry(),
                self.geometry
            )));
        }
        fn planes_of<T: Pixel>(dp: &DevicePicture, planes: &[Plane<T>; 3]) -> Result<()> {
            for (p, plane) in planes.iter().enumerate().take(dp.geometry.plane_count()) {
                let bytes = crate::features::psnr::as_bytes(plane.data());
                dp.stream.copy_2d_htod(
                    dp.planes[p].ptr,
                    dp.planes[p].pitch,
                    bytes,
                    plane.stride() * T::BYTES,
                    plane.width() * T::BYTES,
                    plane.height(),
                )?;
            }
            Ok(())
        }
        self.stream.ctx().bind()?;
        let queued = match picture.data() {
            PictureData::U8(p) => planes_of(self, p),
            PictureData::U16(p) => planes_of(self, p),
        };
        // Wait even after an error: nothing may still read `picture`.
        let waited = self.stream.wait_idle();
        queued.and(waited)
    }

    /// The in-place view CUDA extractors take.
    pub fn picture(&self) -> CudaPicture<'_> {
        CudaPicture { geometry: self.geometry, planes: self.planes, _borrow: PhantomData }
    }

    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Bytes of device memory held.
    pub fn allocated_bytes(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::ChromaSampling;

    fn plane(ptr: u64, pitch: usize) -> CudaPlane {
        CudaPlane { ptr, pitch }
    }

    #[test]
    fn raw_pictures_are_validated() {
        let g = Geometry::new(5, 3, ChromaSampling::Cs420, 10).unwrap();
        // Chroma of a 5-wide 4:2:0 picture is 3 samples = 6 bytes a row.
        let ok = [plane(0x1000, 10), plane(0x2000, 6), plane(0x3000, 6)];
        let pic = unsafe { CudaPicture::from_raw(g, ok) }.unwrap();
        assert_eq!(pic.plane(1), plane(0x2000, 6));
        let cases: [([CudaPlane; 3], &str); 4] = [
            ([plane(0, 10), ok[1], ok[2]], "null"),
            ([ok[0], plane(0x2000, 4), ok[2]], "pitch 4"),
            ([ok[0], ok[1], plane(0x3001, 6)], "multiples of 2"),
            ([plane(0x1000, 11), ok[1], ok[2]], "multiples of 2"),
        ];
        for (planes, needle) in cases {
            let e = unsafe { CudaPicture::from_raw(g, planes) }.unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
        // Planes a format does not have are ignored, and zeroed.
        let mono = Geometry::new(7, 2, ChromaSampling::Cs400, 8).unwrap();
        let pic = unsafe { CudaPicture::from_raw(mono, [plane(0x10, 7), plane(0, 0), plane(0x99, 1)]) }.unwrap();
        assert_eq!(pic.plane(2), CudaPlane::default());
        // 8-bit samples need no alignment.
        let g8 = Geometry::new(3, 1, ChromaSampling::Cs444, 8).unwrap();
        assert!(unsafe { CudaPicture::from_raw(g8, [plane(0x11, 3), plane(0x13, 3), plane(0x17, 5)]) }.is_ok());
    }
}
