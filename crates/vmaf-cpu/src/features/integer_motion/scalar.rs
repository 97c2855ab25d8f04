//! Reference kernels for integer motion: the sum of absolute values of the
//! blurred difference of two luma planes.
//!
//! libvmaf blurs `prev - cur` (the blur is linear, so this equals the
//! difference of the two blurred frames) with a 5-tap integer Gaussian, first
//! down the columns, then along the rows, and sums the absolute values. The
//! fixed-point steps, which the SIMD kernels must reproduce exactly:
//!
//! * vertical: `(Σ tap·diff + 2^(s-1)) >> s` with `s = 8` for 8-bit input and
//!   `s = bpc` otherwise, so the intermediate row has 16 fractional bits for
//!   every bit depth (|value| <= 65535);
//! * horizontal: `(Σ tap·v + 2^15) >> 16` in 64-bit arithmetic, since the sum
//!   can reach 65535·65536;
//! * shifts are arithmetic (floor), on negative values too;
//! * the absolute values of a row are summed in 32 bits, rows in 64.
//!
//! Borders are mirrored without repeating the edge sample (`-1 -> 1`,
//! `n -> n-2`). For planes at least 3 samples across that is exactly
//! libvmaf's rule; libvmaf reads outside the plane for 1- or 2-sample sizes,
//! where we keep reflecting until the index lands inside.
//!
//! The driver ([`sad`]) walks the rows and calls a vertical and a horizontal
//! kernel per row; the SIMD module supplies its own kernels to the same
//! driver, so borders and row handling are shared.

use vmaf_core::{Pixel, Plane};

/// The integer Gaussian (sums to 65536).
pub const TAPS: [i32; 5] = [3571, 16004, 26386, 16004, 3571];

/// Samples of mirrored border on each side of the intermediate row.
pub const PAD: usize = 2;

/// Mirrors an index into `0..n` without repeating the edge sample.
pub fn reflect(mut i: isize, n: usize) -> usize {
    let n = n as isize;
    if n == 1 {
        return 0;
    }
    loop {
        if i < 0 {
            i = -i;
        } else if i >= n {
            i = 2 * n - 2 - i;
        } else {
            return i as usize;
        }
    }
}

/// The five source rows the vertical tap window of output row `i` reads.
pub fn window_rows(i: usize, h: usize) -> [usize; 5] {
    std::array::from_fn(|k| reflect(i as isize + k as isize - PAD as isize, h))
}

/// The shift of the vertical pass for a bit depth.
pub fn vertical_shift(bpc: u32) -> u32 {
    if bpc == 8 {
        8
    } else {
        bpc
    }
}

/// Vertical pass over one output row: `out[j]` for every column, from the
/// five windowed rows of each plane. Returns whether any output is non-zero
/// (an all-zero row contributes nothing and skips the horizontal pass).
pub fn vertical<T: Pixel>(prev: &[&[T]; 5], cur: &[&[T]; 5], bpc: u32, out: &mut [i32]) -> bool {
    let shift = vertical_shift(bpc);
    let round = 1i64 << (shift - 1);
    let mut any = 0;
    for (j, o) in out.iter_mut().enumerate() {
        let mut acc = 0i64;
        for k in 0..5 {
            let d = prev[k][j].into() as i64 - cur[k][j].into() as i64;
            acc += TAPS[k] as i64 * d;
        }
        *o = ((acc + round) >> shift) as i32;
        any |= *o;
    }
    any != 0
}

/// Fills the mirrored border of an intermediate row laid out as
/// `[PAD samples | w values | PAD samples]`.
pub fn pad_row(buf: &mut [i32], w: usize) {
    for k in 1..=PAD {
        buf[PAD - k] = buf[PAD + reflect(-(k as isize), w)];
        buf[PAD + w - 1 + k] = buf[PAD + reflect((w - 1 + k) as isize, w)];
    }
}

/// Horizontal pass and absolute sum of one padded row of `w` values.
pub fn horizontal_sad(buf: &[i32], w: usize) -> u32 {
    horizontal_sad_from(buf, 0, w)
}

/// [`horizontal_sad`] over output columns `from..w` only (the SIMD kernels
/// finish their rows with it).
pub fn horizontal_sad_from(buf: &[i32], from: usize, w: usize) -> u32 {
    let mut sum = 0u32;
    for j in from..w {
        let acc: i64 = (0..5).map(|k| TAPS[k] as i64 * buf[j + k] as i64).sum();
        let v = ((acc + (1 << 15)) >> 16) as i32;
        sum = sum.wrapping_add(v.unsigned_abs());
    }
    sum
}

/// Row kernels of one instruction-set level.
pub trait Kernels<T: Pixel> {
    fn vertical(&self, prev: &[&[T]; 5], cur: &[&[T]; 5], bpc: u32, out: &mut [i32]) -> bool;
    fn horizontal_sad(&self, buf: &[i32], w: usize) -> u32;
}

/// The portable kernels.
pub struct Scalar;

impl<T: Pixel> Kernels<T> for Scalar {
    fn vertical(&self, prev: &[&[T]; 5], cur: &[&[T]; 5], bpc: u32, out: &mut [i32]) -> bool {
        vertical(prev, cur, bpc, out)
    }
    fn horizontal_sad(&self, buf: &[i32], w: usize) -> u32 {
        horizontal_sad(buf, w)
    }
}

/// Sum over the plane of |blur(prev - cur)|, in libvmaf's fixed point.
/// `buf` is scratch of at least `width + 2 * PAD` values.
pub fn sad<T: Pixel, K: Kernels<T>>(
    k: &K,
    prev: &Plane<T>,
    cur: &Plane<T>,
    bpc: u32,
    buf: &mut [i32],
) -> u64 {
    let (w, h) = (cur.width(), cur.height());
    debug_assert_eq!((prev.width(), prev.height()), (w, h));
    let buf = &mut buf[..w + 2 * PAD];
    let mut total = 0u64;
    for i in 0..h {
        let rows = window_rows(i, h);
        let p = rows.map(|r| prev.row(r));
        let c = rows.map(|r| cur.row(r));
        if !k.vertical(&p, &c, bpc, &mut buf[PAD..PAD + w]) {
            continue;
        }
        pad_row(buf, w);
        total += k.horizontal_sad(buf, w) as u64;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_libvmaf_mirror_and_stays_inside() {
        // libvmaf's rule for planes of 3 or more.
        for n in 3..10usize {
            for i in -2..(n as isize + 2) {
                let c = if i < 0 {
                    -i
                } else if i >= n as isize {
                    2 * n as isize - i - 2
                } else {
                    i
                };
                assert_eq!(reflect(i, n) as isize, c);
            }
        }
        for i in -2..4 {
            assert_eq!(reflect(i, 1), 0);
            assert!(reflect(i, 2) < 2);
        }
        assert_eq!(reflect(-2, 2), 0);
        assert_eq!(reflect(3, 2), 1);
    }

    /// A direct 2-D evaluation of the definition, for cross-checking the
    /// row-by-row driver.
    fn brute(prev: &Plane<u16>, cur: &Plane<u16>, bpc: u32) -> u64 {
        let (w, h) = (cur.width(), cur.height());
        let shift = vertical_shift(bpc);
        let mut tmp = vec![0i64; w * h];
        for i in 0..h {
            for j in 0..w {
                let mut a = 0i64;
                for (k, t) in TAPS.iter().enumerate() {
                    let r = reflect(i as isize + k as isize - 2, h);
                    a += *t as i64 * (prev.row(r)[j] as i64 - cur.row(r)[j] as i64);
                }
                tmp[i * w + j] = (a + (1 << (shift - 1))) >> shift;
            }
        }
        let mut total = 0u64;
        for i in 0..h {
            for j in 0..w {
                let mut a = 0i64;
                for (k, t) in TAPS.iter().enumerate() {
                    a += *t as i64 * tmp[i * w + reflect(j as isize + k as isize - 2, w)];
                }
                total += ((a + (1 << 15)) >> 16).unsigned_abs();
            }
        }
        total
    }

    #[test]
    fn driver_matches_direct_definition() {
        let mut seed = 0x1234_5678u32;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for bpc in [10u32, 12, 16] {
            for (w, h) in [(1, 1), (2, 3), (3, 2), (7, 5), (17, 9)] {
                let mask = (1u32 << bpc) - 1;
                let mk = |r: &mut dyn FnMut() -> u32| {
                    Plane::from_vec((0..w * h).map(|_| (r() & mask) as u16).collect(), w, h, w)
                        .unwrap()
                };
                let a = mk(&mut rnd);
                let b = mk(&mut rnd);
                let mut buf = vec![0; w + 2 * PAD];
                assert_eq!(
                    sad(&Scalar, &a, &b, bpc, &mut buf),
                    brute(&a, &b, bpc),
                    "{bpc} {w}x{h}"
                );
            }
        }
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        // Columns alternating 0 / max against the opposite pattern drive the
        // intermediate row to +-65535 with alternating sign.
        for bpc in [8u32, 10, 12, 16] {
            let max = ((1u32 << bpc) - 1) as u16;
            let (w, h) = (9, 6);
            let a = Plane::from_vec(
                (0..w * h)
                    .map(|i| if i % 2 == 0 { max } else { 0 })
                    .collect(),
                w,
                h,
                w,
            )
            .unwrap();
            let b = Plane::from_vec(
                (0..w * h)
                    .map(|i| if i % 2 == 0 { 0 } else { max })
                    .collect(),
                w,
                h,
                w,
            )
            .unwrap();
            let mut buf = vec![0; w + 2 * PAD];
            assert_eq!(sad(&Scalar, &a, &b, bpc, &mut buf), brute(&a, &b, bpc));
        }
    }
}
