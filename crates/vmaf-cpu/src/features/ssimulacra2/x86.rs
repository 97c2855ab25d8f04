//! AVX2 kernels (placeholder delegating to scalar while the pipeline is validated).
use super::*;
pub(crate) struct Avx2(());
impl Avx2 {
    pub fn detect() -> Option<&'static Avx2> {
        static K: Avx2 = Avx2(());
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(&K)
    }
}
impl Kernels for Avx2 {
    fn linear_row(&self, p: &LinearParams, y: &[f32], u: &[f32], v: &[f32], out: [&mut [f32]; 3], w: usize) { scalar::linear_row(p, y, u, v, out, w) }
    fn xyb(&self, lin: [&[f32]; 3], out: [&mut [f32]; 3], n: usize) { scalar::xyb(lin, out, n) }
    fn downsample_row(&self, r0: &[f32], r1: &[f32], iw: usize, out: &mut [f32]) { scalar::downsample_row(r0, r1, iw, out) }
    fn horizontal(&self, g: &Gauss, a: &[f32], b: &[f32], stride: usize, w: usize, y0: usize, y1: usize, ring: &mut Ring, _t: &mut HScratch) { scalar::horizontal(g, a, b, stride, w, y0, y1, ring) }
    fn vertical(&self, g: &Gauss, left: &[&[f32]; MAPS], right: &[&[f32]; MAPS], state: &mut [f32], stride: usize, w: usize, xyb: Option<(&[f32], &[f32])>, acc: &mut Acc) { scalar::vertical(g, left, right, state, stride, w, xyb, acc) }
}
