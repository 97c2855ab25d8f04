//! AVX2 kernels (placeholder while the scalar path is validated).
use super::{scalar, Image, ScaleGeom, Shifts, StatParams, Sums};
use vmaf_core::Pixel;
pub(crate) struct Buffers(scalar::Buffers);
impl Buffers {
    pub fn new(w: usize) -> Self {
        Buffers(scalar::Buffers::new(w))
    }
}
pub(crate) fn statistic<T: Pixel>(
    scale: usize,
    g: &ScaleGeom,
    r: Image<'_, T>,
    d: Image<'_, T>,
    sh: Shifts,
    p: &StatParams<'_>,
    b: &mut Buffers,
) -> Sums {
    scalar::statistic(scale, g, r, d, sh, p, &mut b.0)
}
#[allow(clippy::too_many_arguments)]
pub(crate) fn subsample<T: Pixel>(
    scale: usize,
    g: &ScaleGeom,
    r: Image<'_, T>,
    d: Image<'_, T>,
    shift: u32,
    r_out: &mut [u16],
    d_out: &mut [u16],
    b: &mut Buffers,
) {
    scalar::subsample(scale, g, r, d, shift, r_out, d_out, &mut b.0)
}
