//! AVX2 kernels of CAMBI, bit-identical to `scalar.rs`.

/// The AVX2 kernels. Only constructed after checking the CPU has AVX2.
#[derive(Clone, Copy)]
pub struct Avx2(());

impl Avx2 {
    /// `Some` when this CPU runs AVX2.
    pub fn new() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}
