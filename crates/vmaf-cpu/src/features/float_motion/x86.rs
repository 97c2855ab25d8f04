//! AVX2 kernels for float motion, bit-identical to `scalar.rs`.
//!
//! The blur passes compute 8 columns per step with separate multiplies and
//! adds in the scalar order (no FMA), so every value is the same as the
//! scalar one. The SAD must add each row's values strictly left to right;
//! it runs 8 rows at once, one row per lane: `|a - b|` of an 8×8 block is
//! transposed so that lane `r` receives row `r`'s next 8 values in column
//! order, and 8 vector adds advance all 8 row sums.

use std::arch::x86_64::*;

use super::scalar::{self, Kernels, PAD};

/// The AVX2 kernels. Only constructed after checking the CPU has AVX2.
#[derive(Clone, Copy)]
pub struct Avx2(());

impl Avx2 {
    /// `Some` when this CPU runs AVX2.
    pub fn new() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}

impl Kernels for Avx2 {
    fn vertical(&self, taps: &[f32], rows: &[&[f32]], out: &mut [f32]) {
        // SAFETY: `Avx2` exists only when the CPU has AVX2; the kernel stays
        // within the slices it is given.
        unsafe { vertical(taps, rows, out) }
    }
    fn horizontal(&self, taps: &[f32], row: &[f32], out: &mut [f32]) {
        // SAFETY: as above.
        unsafe { horizontal(taps, row, out) }
    }
    fn sad(&self, a: &[f32], b: &[f32], w: usize, h: usize, stride: usize) -> f32 {
        // SAFETY: as above.
        unsafe { sad(a, b, w, h, stride) }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn vertical(taps: &[f32], rows: &[&[f32]], out: &mut [f32]) {
    let w = out.len();
    let mut j = 0;
    while j + 8 <= w {
        let mut acc = _mm256_setzero_ps();
        for (t, r) in taps.iter().zip(rows) {
            let x = _mm256_loadu_ps(r[j..j + 8].as_ptr());
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(*t), x));
        }
        _mm256_storeu_ps(out[j..j + 8].as_mut_ptr(), acc);
        j += 8;
    }
    for jj in j..w {
        let mut acc = 0.0f32;
        for (t, r) in taps.iter().zip(rows) {
            acc += t * r[jj];
        }
        out[jj] = acc;
    }
}

#[target_feature(enable = "avx2")]
unsafe fn horizontal(taps: &[f32], row: &[f32], out: &mut [f32]) {
    let w = out.len();
    let first = PAD - taps.len() / 2;
    let mut j = 0;
    while j + 8 <= w {
        let mut acc = _mm256_setzero_ps();
        for (k, t) in taps.iter().enumerate() {
            let s = first + j + k;
            let x = _mm256_loadu_ps(row[s..s + 8].as_ptr());
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(*t), x));
        }
        _mm256_storeu_ps(out[j..j + 8].as_mut_ptr(), acc);
        j += 8;
    }
    scalar::horizontal_from(taps, row, out, j);
}

/// Transposes an 8×8 block held as 8 row vectors into 8 column vectors.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xee>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xee>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xee>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xee>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

#[target_feature(enable = "avx2")]
unsafe fn sad(a: &[f32], b: &[f32], w: usize, h: usize, stride: usize) -> f32 {
    let sign = _mm256_set1_ps(-0.0);
    let w8 = w / 8 * 8;
    let mut total = 0.0f32;
    let mut i = 0;
    while i + 8 <= h {
        // Lane r: the running sum of row i + r.
        let mut acc = _mm256_setzero_ps();
        let mut j = 0;
        while j < w8 {
            let d: [__m256; 8] = std::array::from_fn(|r| {
                let o = (i + r) * stride + j;
                let x = _mm256_sub_ps(
                    _mm256_loadu_ps(a[o..o + 8].as_ptr()),
                    _mm256_loadu_ps(b[o..o + 8].as_ptr()),
                );
                _mm256_andnot_ps(sign, x)
            });
            for c in transpose8(d) {
                acc = _mm256_add_ps(acc, c);
            }
            j += 8;
        }
        let mut lanes = [0.0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
        for (r, mut s) in lanes.into_iter().enumerate() {
            let o = (i + r) * stride;
            for (x, y) in a[o + w8..o + w].iter().zip(&b[o + w8..o + w]) {
                s += (x - y).abs();
            }
            total += s;
        }
        i += 8;
    }
    for i in i..h {
        let o = i * stride;
        total += scalar::row_sad(&a[o..o + w], &b[o..o + w]);
    }
    total / (w * h) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::float_motion::scalar::{blur, Scalar, FILTER_3, FILTER_5};

    struct Rng(u64);
    impl Rng {
        fn f(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 255.0 - 128.0
        }
    }

    #[test]
    fn blur_and_sad_match_scalar_bit_for_bit() {
        let Some(k) = Avx2::new() else { return };
        let mut rng = Rng(7);
        for w in 1..=41usize {
            for h in [1, 2, 3, 5, 8, 9, 17] {
                let stride = w.div_ceil(8) * 8;
                let fills: [fn(&mut Rng) -> f32; 3] = [
                    |r| r.f(),
                    |_| 127.0,
                    |_| -128.0,
                ];
                for fill in &fills {
                    let src: Vec<f32> = (0..stride * h).map(|_| fill(&mut rng)).collect();
                    let other: Vec<f32> = (0..stride * h).map(|_| rng.f()).collect();
                    for taps in [&FILTER_5[..], &FILTER_3[..]] {
                        let mut row = vec![0.0; w + 2 * PAD];
                        let mut want = vec![0.0; stride * h];
                        let mut got = vec![0.0; stride * h];
                        blur(&Scalar, taps, &src, &mut want, &mut row, w, h, stride);
                        blur(&k, taps, &src, &mut got, &mut row, w, h, stride);
                        assert_eq!(got, want, "blur {w}x{h}");
                    }
                    let want = Scalar.sad(&src, &other, w, h, stride);
                    let got = k.sad(&src, &other, w, h, stride);
                    assert_eq!(got.to_bits(), want.to_bits(), "sad {w}x{h}");
                }
            }
        }
    }

    #[test]
    fn sad_keeps_row_order_on_a_large_plane() {
        let Some(k) = Avx2::new() else { return };
        let mut rng = Rng(9);
        let (w, h) = (1923usize, 67usize);
        let stride = w.div_ceil(8) * 8;
        let a: Vec<f32> = (0..stride * h).map(|_| rng.f()).collect();
        let b: Vec<f32> = (0..stride * h).map(|_| rng.f()).collect();
        assert_eq!(
            k.sad(&a, &b, w, h, stride).to_bits(),
            Scalar.sad(&a, &b, w, h, stride).to_bits()
        );
    }
}
