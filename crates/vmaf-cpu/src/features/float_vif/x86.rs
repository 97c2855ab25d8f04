//! AVX2 kernels of the float VIF (placeholder: scalar).
use super::scalar::{self, StatConsts};
use super::{Filter, Mirror, Plane32};
pub(crate) fn available() -> bool {
    false
}
pub(crate) struct Buffers(scalar::Buffers, Vec<f32>);
impl Buffers {
    pub fn new(w: usize) -> Self {
        Buffers(scalar::Buffers::new(w), vec![0.0; w])
    }
}
pub(crate) fn statistic(f: &Filter, r: &Plane32<'_>, d: &Plane32<'_>, rows: &Mirror, cols: &Mirror, c: &StatConsts, b: &mut Buffers) -> (f32, f32) {
    scalar::statistic(f, r, d, rows, cols, c, &mut b.0)
}
pub(crate) fn decimate(f: &Filter, src: &Plane32<'_>, rows: &Mirror, cols: &Mirror, out: &mut [f32], b: &mut Buffers) {
    scalar::decimate(f, src, rows, cols, out, &mut b.1)
}
