//! AVX2 kernels for integer motion, bit-identical to `scalar.rs`.
//!
//! Vertical pass:
//! * 8-bit, and 10/12-bit (whose differences still fit in i16): 16 columns
//!   at a time; the differences of row pairs are interleaved and multiplied
//!   by tap pairs with `madd_epi16`, which sums them exactly in i32 (the
//!   whole sum stays below 2^28).
//! * 16-bit: the sum of five taps can reach 65535·65536, one bit more than
//!   i32 holds. The weighted sums of `prev` and of `cur` are each below 2^32,
//!   so they are formed separately as u32, and
//!   `(A + r - B) >> 16 = (A+r)>>16 - B>>16 - borrow`, where `borrow` is 1
//!   when the low 16 bits of `A + r` are below those of `B`.
//!
//! Horizontal pass: the tap sum again needs 33 bits. Each symmetric pair sum
//! `s` (|s| < 2^18) is split as `s = 256·hi + lo` (`lo` in 0..256); then
//! `Σ = 256·H + L` with `H`, `L` the tap sums of the parts (both below 2^25),
//! and `(256·H + L + 2^15) >> 16 = (H + ((L + 2^15) >> 8)) >> 8` because
//! floor division composes. Everything stays in i32 lanes, 8 outputs at a
//! time; the row tail uses the scalar code.

use std::arch::x86_64::*;

use vmaf_core::Pixel;

use super::scalar::{self, Kernels, TAPS};

/// The AVX2 kernels. Only constructed after checking the CPU has AVX2.
#[derive(Clone, Copy)]
pub struct Avx2(());

impl Avx2 {
    /// `Some` when this CPU runs AVX2.
    pub fn new() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}

impl Kernels<u8> for Avx2 {
    fn vertical(&self, prev: &[&[u8]; 5], cur: &[&[u8]; 5], bpc: u32, out: &mut [i32]) -> bool {
        // SAFETY: `Avx2` exists only when the CPU has AVX2; the kernel reads
        // and writes within the row slices it is given.
        unsafe { vertical_u8(prev, cur, bpc, out) }
    }
    fn horizontal_sad(&self, buf: &[i32], w: usize) -> u32 {
        // SAFETY: as above.
        unsafe { horizontal_sad(buf, w) }
    }
}

impl Kernels<u16> for Avx2 {
    fn vertical(&self, prev: &[&[u16]; 5], cur: &[&[u16]; 5], bpc: u32, out: &mut [i32]) -> bool {
        // SAFETY: as for u8.
        unsafe {
            if bpc <= 12 {
                vertical_u16_narrow(prev, cur, bpc, out)
            } else {
                vertical_u16_wide(prev, cur, bpc, out)
            }
        }
    }
    fn horizontal_sad(&self, buf: &[i32], w: usize) -> u32 {
        // SAFETY: as above.
        unsafe { horizontal_sad(buf, w) }
    }
}

/// Two taps as the (low, high) i16 pair `madd_epi16` multiplies by.
const fn tap_pair(lo: i32, hi: i32) -> i32 {
    (hi << 16) | lo
}

/// Vertical taps of 16 columns from their five i16 row differences:
/// returns the rounded, shifted results of columns 0..8 and 8..16.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn vertical_i16(d: [__m256i; 5], round: __m256i, shift: __m128i) -> (__m256i, __m256i) {
    let t01 = _mm256_set1_epi32(tap_pair(TAPS[0], TAPS[1]));
    let t23 = _mm256_set1_epi32(tap_pair(TAPS[2], TAPS[3]));
    let t4 = _mm256_set1_epi32(tap_pair(TAPS[4], 0));
    let z = _mm256_setzero_si256();
    // unpacklo/hi interleave within 128-bit halves: `lo` holds columns 0-3
    // and 8-11, `hi` columns 4-7 and 12-15.
    let mut lo = _mm256_madd_epi16(_mm256_unpacklo_epi16(d[0], d[1]), t01);
    let mut hi = _mm256_madd_epi16(_mm256_unpackhi_epi16(d[0], d[1]), t01);
    lo = _mm256_add_epi32(
        lo,
        _mm256_madd_epi16(_mm256_unpacklo_epi16(d[2], d[3]), t23),
    );
    hi = _mm256_add_epi32(
        hi,
        _mm256_madd_epi16(_mm256_unpackhi_epi16(d[2], d[3]), t23),
    );
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(d[4], z), t4));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(d[4], z), t4));
    lo = _mm256_sra_epi32(_mm256_add_epi32(lo, round), shift);
    hi = _mm256_sra_epi32(_mm256_add_epi32(hi, round), shift);
    (
        _mm256_permute2x128_si256(lo, hi, 0x20),
        _mm256_permute2x128_si256(lo, hi, 0x31),
    )
}

/// Stores 16 vertical results at `out[j..j + 16]`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store16(out: &mut [i32], j: usize, a: __m256i, b: __m256i) {
    let o = out[j..j + 16].as_mut_ptr();
    _mm256_storeu_si256(o as *mut __m256i, a);
    _mm256_storeu_si256(o.add(8) as *mut __m256i, b);
}

#[target_feature(enable = "avx2")]
unsafe fn vertical_u8(prev: &[&[u8]; 5], cur: &[&[u8]; 5], bpc: u32, out: &mut [i32]) -> bool {
    let w = out.len();
    let s = scalar::vertical_shift(bpc);
    let round = _mm256_set1_epi32(1 << (s - 1));
    let shift = _mm_cvtsi32_si128(s as i32);
    let mut any = _mm256_setzero_si256();
    let mut j = 0;
    while j + 16 <= w {
        let d: [__m256i; 5] = std::array::from_fn(|k| {
            let p = _mm256_cvtepu8_epi16(_mm_loadu_si128(
                prev[k][j..j + 16].as_ptr() as *const __m128i
            ));
            let c =
                _mm256_cvtepu8_epi16(_mm_loadu_si128(cur[k][j..j + 16].as_ptr() as *const __m128i));
            _mm256_sub_epi16(p, c)
        });
        let (a, b) = vertical_i16(d, round, shift);
        store16(out, j, a, b);
        any = _mm256_or_si256(any, _mm256_or_si256(a, b));
        j += 16;
    }
    let tail = tail_vertical(prev, cur, bpc, out, j);
    tail || _mm256_testz_si256(any, any) == 0
}

/// 10- and 12-bit samples: differences fit in i16, so the 8-bit scheme
/// applies with the bit depth's shift.
#[target_feature(enable = "avx2")]
unsafe fn vertical_u16_narrow(
    prev: &[&[u16]; 5],
    cur: &[&[u16]; 5],
    bpc: u32,
    out: &mut [i32],
) -> bool {
    let w = out.len();
    let s = scalar::vertical_shift(bpc);
    let round = _mm256_set1_epi32(1 << (s - 1));
    let shift = _mm_cvtsi32_si128(s as i32);
    let mut any = _mm256_setzero_si256();
    let mut j = 0;
    while j + 16 <= w {
        let d: [__m256i; 5] = std::array::from_fn(|k| {
            let p = _mm256_loadu_si256(prev[k][j..j + 16].as_ptr() as *const __m256i);
            let c = _mm256_loadu_si256(cur[k][j..j + 16].as_ptr() as *const __m256i);
            _mm256_sub_epi16(p, c)
        });
        let (a, b) = vertical_i16(d, round, shift);
        store16(out, j, a, b);
        any = _mm256_or_si256(any, _mm256_or_si256(a, b));
        j += 16;
    }
    let tail = tail_vertical(prev, cur, bpc, out, j);
    tail || _mm256_testz_si256(any, any) == 0
}

/// 16-bit samples: the split-sum scheme of the module docs, 8 columns at a
/// time.
#[target_feature(enable = "avx2")]
unsafe fn vertical_u16_wide(
    prev: &[&[u16]; 5],
    cur: &[&[u16]; 5],
    bpc: u32,
    out: &mut [i32],
) -> bool {
    let w = out.len();
    let s = scalar::vertical_shift(bpc);
    let round = _mm256_set1_epi32(1 << (s - 1));
    let shift = _mm_cvtsi32_si128(s as i32);
    let low_mask = _mm256_set1_epi32((1 << s) - 1);
    let taps: [__m256i; 5] = std::array::from_fn(|k| _mm256_set1_epi32(TAPS[k]));
    let mut any = _mm256_setzero_si256();
    let mut j = 0;
    while j + 8 <= w {
        let mut a = round;
        let mut b = _mm256_setzero_si256();
        for k in 0..5 {
            let p = _mm256_cvtepu16_epi32(_mm_loadu_si128(
                prev[k][j..j + 8].as_ptr() as *const __m128i
            ));
            let c =
                _mm256_cvtepu16_epi32(_mm_loadu_si128(cur[k][j..j + 8].as_ptr() as *const __m128i));
            // Wrapping u32 adds: each total is below 2^32.
            a = _mm256_add_epi32(a, _mm256_mullo_epi32(p, taps[k]));
            b = _mm256_add_epi32(b, _mm256_mullo_epi32(c, taps[k]));
        }
        let high = _mm256_sub_epi32(_mm256_srl_epi32(a, shift), _mm256_srl_epi32(b, shift));
        // Low parts are below 2^16, so a signed compare is an unsigned one;
        // it yields -1 (the borrow) where a's low part is the smaller.
        let borrow =
            _mm256_cmpgt_epi32(_mm256_and_si256(b, low_mask), _mm256_and_si256(a, low_mask));
        let v = _mm256_add_epi32(high, borrow);
        _mm256_storeu_si256(out[j..j + 8].as_mut_ptr() as *mut __m256i, v);
        any = _mm256_or_si256(any, v);
        j += 8;
    }
    let tail = tail_vertical(prev, cur, bpc, out, j);
    tail || _mm256_testz_si256(any, any) == 0
}

/// Scalar vertical pass over columns `from..` of a row.
fn tail_vertical<T: Pixel>(
    prev: &[&[T]; 5],
    cur: &[&[T]; 5],
    bpc: u32,
    out: &mut [i32],
    from: usize,
) -> bool {
    if from >= out.len() {
        return false;
    }
    let p = prev.map(|r| &r[from..]);
    let c = cur.map(|r| &r[from..]);
    scalar::vertical(&p, &c, bpc, &mut out[from..])
}

#[target_feature(enable = "avx2")]
unsafe fn horizontal_sad(buf: &[i32], w: usize) -> u32 {
    let t0 = _mm256_set1_epi32(TAPS[0]);
    let t1 = _mm256_set1_epi32(TAPS[1]);
    let t2 = _mm256_set1_epi32(TAPS[2]);
    let lo_mask = _mm256_set1_epi32(0xff);
    let round = _mm256_set1_epi32(1 << 15);
    let mut acc = _mm256_setzero_si256();
    let mut j = 0;
    // Output j reads buf[j..j + 5]; 8 outputs read buf[j..j + 12].
    while j + 8 <= w {
        let v = &buf[j..j + 12];
        let ld = |k: usize| _mm256_loadu_si256(v[k..k + 8].as_ptr() as *const __m256i);
        let s04 = _mm256_add_epi32(ld(0), ld(4));
        let s13 = _mm256_add_epi32(ld(1), ld(3));
        let s2 = ld(2);
        let hi = _mm256_add_epi32(
            _mm256_add_epi32(
                _mm256_mullo_epi32(_mm256_srai_epi32(s04, 8), t0),
                _mm256_mullo_epi32(_mm256_srai_epi32(s13, 8), t1),
            ),
            _mm256_mullo_epi32(_mm256_srai_epi32(s2, 8), t2),
        );
        let lo = _mm256_add_epi32(
            _mm256_add_epi32(
                _mm256_mullo_epi32(_mm256_and_si256(s04, lo_mask), t0),
                _mm256_mullo_epi32(_mm256_and_si256(s13, lo_mask), t1),
            ),
            _mm256_mullo_epi32(_mm256_and_si256(s2, lo_mask), t2),
        );
        let r = _mm256_srai_epi32(
            _mm256_add_epi32(hi, _mm256_srai_epi32(_mm256_add_epi32(lo, round), 8)),
            8,
        );
        acc = _mm256_add_epi32(acc, _mm256_abs_epi32(r));
        j += 8;
    }
    let mut lanes = [0u32; 8];
    _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc);
    let simd = lanes.iter().fold(0u32, |a, &b| a.wrapping_add(b));
    simd.wrapping_add(scalar::horizontal_sad_from(buf, j, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::integer_motion::scalar::{sad, Scalar, PAD};
    use vmaf_core::Plane;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) as u32
        }
    }

    fn planes<T: Pixel + TryFrom<u32>>(
        w: usize,
        h: usize,
        stride: usize,
        mut f: impl FnMut(usize, usize) -> u32,
    ) -> Plane<T> {
        let data = (0..h * stride)
            .map(|i| T::try_from(f(i % stride, i / stride)).unwrap_or_default())
            .collect();
        Plane::from_vec(data, w, h, stride).unwrap()
    }

    /// Scalar and AVX2 agree on `(prev, cur)`, through the whole driver.
    fn check<T: Pixel>(prev: &Plane<T>, cur: &Plane<T>, bpc: u32, what: &str)
    where
        Avx2: Kernels<T>,
        Scalar: Kernels<T>,
    {
        let Some(simd) = Avx2::new() else { return };
        let mut buf = vec![0; cur.width() + 2 * PAD];
        let want = sad(&Scalar, prev, cur, bpc, &mut buf);
        let got = sad(&simd, prev, cur, bpc, &mut buf);
        assert_eq!(
            got,
            want,
            "{what}: {}x{} bpc {bpc}",
            cur.width(),
            cur.height()
        );
    }

    fn hostile(bpc: u32, w: usize, h: usize, rng: &mut Rng) -> Vec<(String, Vec<u32>, Vec<u32>)> {
        let max = (1u32 << bpc) - 1;
        let n = w * h;
        let checker = |inv: bool| {
            (0..n)
                .map(|i| if ((i % w) & 1 == 0) ^ inv { max } else { 0 })
                .collect()
        };
        let rows = |inv: bool| {
            (0..n)
                .map(|i| if ((i / w) & 1 == 0) ^ inv { max } else { 0 })
                .collect()
        };
        vec![
            (
                "random".into(),
                (0..n).map(|_| rng.next() & max).collect(),
                (0..n).map(|_| rng.next() & max).collect(),
            ),
            ("zero".into(), vec![0; n], vec![0; n]),
            ("max vs zero".into(), vec![max; n], vec![0; n]),
            ("zero vs max".into(), vec![0; n], vec![max; n]),
            ("columns".into(), checker(false), checker(true)),
            ("rows".into(), rows(false), rows(true)),
            (
                "sparse".into(),
                (0..n)
                    .map(|_| {
                        if rng.next() % 7 < 1 {
                            rng.next() & max
                        } else {
                            0
                        }
                    })
                    .collect(),
                vec![0; n],
            ),
        ]
    }

    #[test]
    fn avx2_matches_scalar_8bit() {
        let mut rng = Rng(1);
        for w in 1..=65 {
            for h in [1, 2, 3, 4, 5, 7, 8] {
                for (name, a, b) in hostile(8, w, h, &mut rng) {
                    let pa: Plane<u8> =
                        planes(w, h, w + 3, |x, y| if x < w { a[y * w + x] } else { 77 });
                    let pb: Plane<u8> =
                        planes(w, h, w + 3, |x, y| if x < w { b[y * w + x] } else { 11 });
                    check(&pa, &pb, 8, &name);
                }
            }
        }
    }

    #[test]
    fn avx2_matches_scalar_high_bit_depth() {
        let mut rng = Rng(2);
        for bpc in [10u32, 12, 16] {
            for w in 1..=65 {
                for h in [1, 2, 3, 5, 6] {
                    for (name, a, b) in hostile(bpc, w, h, &mut rng) {
                        let pa: Plane<u16> =
                            planes(w, h, w + 1, |x, y| if x < w { a[y * w + x] } else { 65535 });
                        let pb: Plane<u16> =
                            planes(w, h, w + 1, |x, y| if x < w { b[y * w + x] } else { 0 });
                        check(&pa, &pb, bpc, &name);
                    }
                }
            }
        }
    }

    #[test]
    fn avx2_matches_scalar_on_large_random_planes() {
        let mut rng = Rng(3);
        for (w, h) in [(577, 323), (1920, 9), (130, 131)] {
            let a: Plane<u8> = planes(w, h, w, |_, _| rng.next() & 255);
            let b: Plane<u8> = planes(w, h, w, |x, y| (x as u32 * 3 + y as u32) & 255);
            check(&a, &b, 8, "large 8-bit");
            for bpc in [10u32, 12, 16] {
                let m = (1 << bpc) - 1;
                let a: Plane<u16> = planes(w, h, w, |_, _| rng.next() & m);
                let b: Plane<u16> = planes(w, h, w, |_, _| rng.next() & m);
                check(&a, &b, bpc, "large high bit depth");
            }
        }
    }

    #[test]
    fn horizontal_kernel_matches_scalar_at_extremes() {
        let Some(_) = Avx2::new() else { return };
        let mut rng = Rng(4);
        for w in 1..=40 {
            let patterns: Vec<Vec<i32>> = vec![
                (0..w + 4)
                    .map(|i| if i % 2 == 0 { 65535 } else { -65535 })
                    .collect(),
                vec![65535; w + 4],
                vec![-65535; w + 4],
                (0..w + 4)
                    .map(|_| (rng.next() % 131071) as i32 - 65535)
                    .collect(),
                (0..w + 4)
                    .map(|_| (rng.next() % 512) as i32 - 256)
                    .collect(),
            ];
            for p in patterns {
                // SAFETY: AVX2 was detected above.
                let got = unsafe { horizontal_sad(&p, w) };
                assert_eq!(got, scalar::horizontal_sad(&p, w), "w {w}");
            }
        }
    }
}
