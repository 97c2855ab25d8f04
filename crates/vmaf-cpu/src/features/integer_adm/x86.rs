//! AVX2 and AVX-512 row kernels of integer ADM.

use super::compute::{Kernels, SCALAR};

pub fn avx2_available() -> bool {
    is_x86_feature_detected!("avx2")
}

pub fn avx512_available() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")
}

pub static AVX2: Kernels = Kernels { ..SCALAR };
pub static AVX512: Kernels = Kernels { ..AVX2 };
