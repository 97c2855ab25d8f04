//! AVX2 kernels of the integer SSIM (placeholder: scalar stages).

use vmaf_core::Pixel;

use super::scalar::{self, Consts, Kernels, Moments};

#[derive(Clone, Copy)]
pub struct Avx2(());

impl Avx2 {
    pub fn new() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}

impl<T: Pixel> Kernels<T> for Avx2 {
    fn horizontal(&self, x: &[T], y: &[T], out: &mut Moments) {
        scalar::horizontal(x, y, out)
    }
    fn vertical(&self, rows: &[&Moments], taps: &[i64], out: &mut Moments) {
        scalar::vertical(rows, taps, out)
    }
    fn terms(&self, c: Consts, m: &Moments, hw: &[i64], vw: i64, out: &mut [f64]) {
        scalar::terms(c, m, hw, vw, 0, out)
    }
}
