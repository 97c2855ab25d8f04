//! AVX2 sums of squared differences, equal to `scalar.rs` by construction:
//! every term is an exact integer and integer addition does not depend on
//! order, so the lanes may add in any grouping.
//!
//! 8-bit: 32 samples per step, widened to 16 bits, differenced and squared
//! pairwise by `madd` into 32-bit lanes. A lane gains at most 4 x 255^2 per
//! step, so a row of up to 32768 samples (1024 steps) stays below 2^31;
//! each row's lanes are added into the 64-bit total. 16-bit: 8 samples per
//! step, absolute differences in 32 bits, squared into 64-bit lanes.

use std::arch::x86_64::*;

use vmaf_core::Plane;

/// `Some` when this CPU runs AVX2.
pub fn available() -> bool {
    is_x86_feature_detected!("avx2")
}

pub fn sse_u8(r: &Plane<u8>, d: &Plane<u8>) -> u64 {
    assert!(available());
    // SAFETY: AVX2 checked above; rows are read within their slices.
    unsafe { r.rows().zip(d.rows()).map(|(a, b)| row_u8(a, b)).sum() }
}

pub fn sse_u16(r: &Plane<u16>, d: &Plane<u16>) -> u64 {
    assert!(available());
    // SAFETY: as above.
    unsafe { r.rows().zip(d.rows()).map(|(a, b)| row_u16(a, b)).sum() }
}

#[target_feature(enable = "avx2")]
unsafe fn row_u8(a: &[u8], b: &[u8]) -> u64 {
    let n = a.len().min(b.len());
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i + 32 <= n {
        let x = _mm256_loadu_si256(a.as_ptr().add(i) as *const __m256i);
        let y = _mm256_loadu_si256(b.as_ptr().add(i) as *const __m256i);
        let (xl, xh) = (_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x));
        let (yl, yh) = (_mm256_castsi256_si128(y), _mm256_extracti128_si256::<1>(y));
        let dl = _mm256_sub_epi16(_mm256_cvtepu8_epi16(xl), _mm256_cvtepu8_epi16(yl));
        let dh = _mm256_sub_epi16(_mm256_cvtepu8_epi16(xh), _mm256_cvtepu8_epi16(yh));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(dl, dl));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(dh, dh));
        i += 32;
    }
    let mut lanes = [0u32; 8];
    _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc);
    let mut sum: u64 = lanes.iter().map(|&v| v as u64).sum();
    for j in i..n {
        let e = a[j] as i32 - b[j] as i32;
        sum += (e * e) as u64;
    }
    sum
}

#[target_feature(enable = "avx2")]
unsafe fn row_u16(a: &[u16], b: &[u16]) -> u64 {
    let n = a.len().min(b.len());
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i + 8 <= n {
        let x = _mm256_cvtepu16_epi32(_mm_loadu_si128(a.as_ptr().add(i) as *const __m128i));
        let y = _mm256_cvtepu16_epi32(_mm_loadu_si128(b.as_ptr().add(i) as *const __m128i));
        let e = _mm256_abs_epi32(_mm256_sub_epi32(x, y));
        let odd = _mm256_srli_epi64::<32>(e);
        acc = _mm256_add_epi64(acc, _mm256_mul_epu32(e, e));
        acc = _mm256_add_epi64(acc, _mm256_mul_epu32(odd, odd));
        i += 8;
    }
    let mut lanes = [0u64; 4];
    _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc);
    let mut sum: u64 = lanes.iter().sum();
    for j in i..n {
        let e = (a[j] as i64 - b[j] as i64).unsigned_abs();
        sum += e * e;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::super::scalar;
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn equals_scalar_on_random_and_hostile_planes() {
        if !available() {
            eprintln!("no AVX2 here: nothing to compare");
            return;
        }
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let widths = (1..=65).chain([255, 256, 257, 1920, 32768]);
        for w in widths {
            for (h, stride_pad) in [(1usize, 0usize), (3, 5)] {
                let stride = w + stride_pad;
                for bits in [8u32, 10, 12, 16] {
                    let max = (1u64 << bits) - 1;
                    for mode in 0..4 {
                        let mut sample = |k: usize| match mode {
                            0 => 0,
                            1 => max,
                            2 => (k % 2) as u64 * max,
                            _ => rng.next() % (max + 1),
                        };
                        let ra: Vec<u64> = (0..stride * h).map(&mut sample).collect();
                        let rb: Vec<u64> = (0..stride * h).map(|k| if mode == 2 { max - ra[k] } else { sample(k + 7) }).collect();
                        if bits == 8 {
                            let pa = Plane::from_vec(ra.iter().map(|&v| v as u8).collect(), w, h, stride).unwrap();
                            let pb = Plane::from_vec(rb.iter().map(|&v| v as u8).collect(), w, h, stride).unwrap();
                            assert_eq!(sse_u8(&pa, &pb), scalar::sse_u8(&pa, &pb), "{w}x{h} 8-bit mode {mode}");
                        }
                        let pa = Plane::from_vec(ra.iter().map(|&v| v as u16).collect(), w, h, stride).unwrap();
                        let pb = Plane::from_vec(rb.iter().map(|&v| v as u16).collect(), w, h, stride).unwrap();
                        assert_eq!(sse_u16(&pa, &pb), scalar::sse_u16(&pa, &pb), "{w}x{h} {bits}-bit mode {mode}");
                    }
                }
            }
        }
    }
}
