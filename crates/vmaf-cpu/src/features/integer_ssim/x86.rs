//! AVX2 kernels of the integer SSIM, bit-identical to `scalar.rs`.
//!
//! The moments are integers, but every one of them (at 16 bits, up to
//! 256² · 65535² < 2^49) and every partial sum and tap product on the way
//! is far below 2^53, so double precision holds them *exactly*: whatever
//! the order of the additions, the result is the integer the scalar code
//! forms in 64-bit arithmetic. The kernels therefore keep the moments in
//! f64 lanes, four columns per vector, for every bit depth:
//!
//! * horizontal: the samples and their products (x, y, x², xy, y²) are
//!   written once into a zero-padded row; the cut window is then a plain
//!   9-tap filter over it (a zero outside the plane adds nothing), with the
//!   symmetric taps paired;
//! * vertical: a tap-weighted sum of the rows of the window;
//! * terms: the per-pixel SSIM term with exactly the scalar's operations in
//!   the scalar's order (separate multiplies and adds, never fused, and an
//!   IEEE division), so each lane rounds as the scalar does.
//!
//! The raster-order sum of the terms stays in the shared driver.

use std::arch::x86_64::*;

use vmaf_core::Pixel;

use super::scalar::{scaled_constants, term, Consts, Kernels, RowKernels, RADIUS, TAPS, WINDOW};

/// The AVX2 kernels. Only constructed after checking the CPU has AVX2.
#[derive(Clone, Copy, Debug)]
pub struct Avx2(());

impl Avx2 {
    /// `Some` when this CPU runs AVX2.
    pub fn new() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}

/// The five moments of a row as doubles, each `RADIUS` zeros, then the
/// row's `w` values, then `RADIUS` zeros. Only the values are ever
/// written, so the padding stays zero.
pub struct Rows {
    w: usize,
    m: [Vec<f64>; 5],
}

impl Rows {
    fn values(&self, i: usize) -> &[f64] {
        &self.m[i][RADIUS..RADIUS + self.w]
    }
}

/// The taps as doubles.
const T: [f64; WINDOW] = {
    let mut t = [0.0; WINDOW];
    let mut k = 0;
    while k < WINDOW {
        t[k] = TAPS[k] as f64;
        k += 1;
    }
    t
};

impl RowKernels for Avx2 {
    type Row = Rows;

    fn new_row(&self, w: usize) -> Rows {
        Rows { w, m: std::array::from_fn(|_| vec![0.0; w + 2 * RADIUS]) }
    }

    fn vertical(&self, rows: &[&Rows], taps: &[i64], out: &mut Rows) {
        // SAFETY: `Avx2` exists only when the CPU has AVX2; every access
        // is within the rows' value ranges (checked lengths below).
        unsafe { vertical(rows, taps, out) }
    }

    fn terms(&self, c: Consts, m: &Rows, hw: &[f64], vw: f64, out: &mut [f64]) {
        // SAFETY: as above.
        unsafe { terms(c, m, hw, vw, out) }
    }
}

/// Loading four samples of a type as doubles.
trait Load4: Pixel {
    /// # Safety
    /// `p..p+4` must be readable and the CPU must have AVX2.
    unsafe fn load4(p: *const Self) -> __m256d;
}

impl Load4 for u8 {
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load4(p: *const u8) -> __m256d {
        let v = _mm_cvtsi32_si128((p as *const i32).read_unaligned());
        _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(v))
    }
}

impl Load4 for u16 {
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load4(p: *const u16) -> __m256d {
        let v = _mm_loadl_epi64(p as *const __m128i);
        _mm256_cvtepi32_pd(_mm_cvtepu16_epi32(v))
    }
}

macro_rules! horizontal_for {
    ($t:ty) => {
        impl Kernels<$t> for Avx2 {
            fn horizontal(&self, x: &[$t], y: &[$t], tmp: &mut Rows, out: &mut Rows) {
                // SAFETY: as for `vertical`.
                unsafe { horizontal(x, y, tmp, out) }
            }
        }
    };
}
horizontal_for!(u8);
horizontal_for!(u16);

#[target_feature(enable = "avx2")]
unsafe fn horizontal<T: Load4>(x: &[T], y: &[T], tmp: &mut Rows, out: &mut Rows) {
    let w = x.len();
    assert!(y.len() == w && tmp.w == w && out.w == w);
    // Samples and products into the padded rows of `tmp`.
    let [px, py, pxx, pxy, pyy] = &mut tmp.m;
    let mut j = 0;
    while j + 4 <= w {
        let a = T::load4(x.as_ptr().add(j));
        let b = T::load4(y.as_ptr().add(j));
        let o = RADIUS + j;
        _mm256_storeu_pd(px.as_mut_ptr().add(o), a);
        _mm256_storeu_pd(py.as_mut_ptr().add(o), b);
        _mm256_storeu_pd(pxx.as_mut_ptr().add(o), _mm256_mul_pd(a, a));
        _mm256_storeu_pd(pxy.as_mut_ptr().add(o), _mm256_mul_pd(a, b));
        _mm256_storeu_pd(pyy.as_mut_ptr().add(o), _mm256_mul_pd(b, b));
        j += 4;
    }
    for j in j..w {
        let (a, b) = (x[j].into() as f64, y[j].into() as f64);
        let o = RADIUS + j;
        px[o] = a;
        py[o] = b;
        pxx[o] = a * a;
        pxy[o] = a * b;
        pyy[o] = b * b;
    }
    // The 9-tap filter of each padded row: output j reads j..j+9.
    for (src, dst) in tmp.m.iter().zip(out.m.iter_mut()) {
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr().add(RADIUS));
        let mut j = 0;
        while j + 4 <= w {
            let at = |k: usize| _mm256_loadu_pd(s.add(j + k));
            let mut acc = _mm256_mul_pd(_mm256_set1_pd(T[RADIUS]), at(RADIUS));
            for (k, &tap) in T[..RADIUS].iter().enumerate() {
                let pair = _mm256_add_pd(at(k), at(WINDOW - 1 - k));
                acc = _mm256_add_pd(acc, _mm256_mul_pd(_mm256_set1_pd(tap), pair));
            }
            _mm256_storeu_pd(d.add(j), acc);
            j += 4;
        }
        for j in j..w {
            *d.add(j) = (0..WINDOW).map(|k| T[k] * *s.add(j + k)).sum();
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn vertical(rows: &[&Rows], taps: &[i64], out: &mut Rows) {
    let w = out.w;
    assert!(rows.len() == taps.len() && rows.len() <= WINDOW && rows.iter().all(|r| r.w == w));
    let n = rows.len();
    let mut t = [0.0f64; WINDOW];
    for (d, &s) in t.iter_mut().zip(taps) {
        *d = s as f64;
    }
    for i in 0..5 {
        let mut src = [std::ptr::null::<f64>(); WINDOW];
        for (p, r) in src.iter_mut().zip(rows) {
            *p = r.values(i).as_ptr();
        }
        let d = out.m[i].as_mut_ptr().add(RADIUS);
        let mut j = 0;
        if n == WINDOW {
            // The whole window: pair the symmetric taps.
            while j + 4 <= w {
                let at = |k: usize| _mm256_loadu_pd(src[k].add(j));
                let mut acc = _mm256_mul_pd(_mm256_set1_pd(t[RADIUS]), at(RADIUS));
                for (k, &tap) in t[..RADIUS].iter().enumerate() {
                    let pair = _mm256_add_pd(at(k), at(WINDOW - 1 - k));
                    acc = _mm256_add_pd(acc, _mm256_mul_pd(_mm256_set1_pd(tap), pair));
                }
                _mm256_storeu_pd(d.add(j), acc);
                j += 4;
            }
        } else {
            while j + 4 <= w {
                let mut acc = _mm256_setzero_pd();
                for k in 0..n {
                    acc = _mm256_add_pd(acc, _mm256_mul_pd(_mm256_set1_pd(t[k]), _mm256_loadu_pd(src[k].add(j))));
                }
                _mm256_storeu_pd(d.add(j), acc);
                j += 4;
            }
        }
        for j in j..w {
            *d.add(j) = (0..n).map(|k| t[k] * *src[k].add(j)).sum();
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn terms(c: Consts, m: &Rows, hw: &[f64], vw: f64, out: &mut [f64]) {
    let w = m.w;
    assert!(hw.len() == w && out.len() == w);
    let [sx, sy, sxx, sxy, syy] = [0, 1, 2, 3, 4].map(|i| m.values(i).as_ptr());
    let (k1, k2) = scaled_constants(c);
    let (k1, k2) = (_mm256_set1_pd(k1), _mm256_set1_pd(k2));
    let two = _mm256_set1_pd(2.0);
    let vwv = _mm256_set1_pd(vw);
    let mut j = 0;
    while j + 4 <= w {
        let wd = _mm256_mul_pd(_mm256_loadu_pd(hw.as_ptr().add(j)), vwv);
        let (x, y) = (_mm256_loadu_pd(sx.add(j)), _mm256_loadu_pd(sy.add(j)));
        // Same order as `scalar::term`: ((peak2·K)·w)·w, and so on.
        let c1 = _mm256_mul_pd(_mm256_mul_pd(k1, wd), wd);
        let c2 = _mm256_mul_pd(_mm256_mul_pd(k2, wd), wd);
        let mx2 = _mm256_mul_pd(x, x);
        let mxy = _mm256_mul_pd(x, y);
        let my2 = _mm256_mul_pd(y, y);
        let num_a = _mm256_mul_pd(wd, _mm256_add_pd(_mm256_mul_pd(two, mxy), c1));
        let cov = _mm256_sub_pd(_mm256_mul_pd(_mm256_loadu_pd(sxy.add(j)), wd), mxy);
        let num = _mm256_mul_pd(num_a, _mm256_add_pd(c2, _mm256_mul_pd(two, cov)));
        let den_a = _mm256_add_pd(_mm256_add_pd(mx2, my2), c1);
        let var = _mm256_sub_pd(_mm256_mul_pd(_mm256_loadu_pd(sxx.add(j)), wd), mx2);
        let var = _mm256_add_pd(var, _mm256_mul_pd(_mm256_loadu_pd(syy.add(j)), wd));
        let var = _mm256_add_pd(_mm256_sub_pd(var, my2), c2);
        _mm256_storeu_pd(out.as_mut_ptr().add(j), _mm256_div_pd(num, _mm256_mul_pd(den_a, var)));
        j += 4;
    }
    for j in j..w {
        out[j] = term(c, *sx.add(j), *sy.add(j), *sxx.add(j), *sxy.add(j), *syy.add(j), hw[j] * vw);
    }
}

#[cfg(test)]
mod tests {
    use super::super::scalar::{self, Scalar, Scratch};
    use super::*;
    use vmaf_core::Plane;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 16) as u32
        }
    }

    fn both<T: Pixel>(x: &Plane<T>, y: &Plane<T>, bpc: u32) -> (u64, u64)
    where
        Scalar: scalar::Kernels<T>,
        Avx2: scalar::Kernels<T>,
    {
        let Some(k) = Avx2::new() else { return (0, 0) };
        let w = x.width();
        let a = scalar::ssim(&Scalar, x, y, bpc, &mut Scratch::new(&Scalar, w));
        let b = scalar::ssim(&k, x, y, bpc, &mut Scratch::new(&k, w));
        (a.to_bits(), b.to_bits())
    }

    /// Planes of `w`x`h` from a sample generator.
    fn plane<T: Pixel>(w: usize, h: usize, mut f: impl FnMut(usize) -> T) -> Plane<T> {
        Plane::from_vec((0..w * h).map(&mut f).collect(), w, h, w).unwrap()
    }

    fn check_all_kinds<T: Pixel>(bpc: u32, of: impl Fn(u32) -> T)
    where
        Scalar: scalar::Kernels<T>,
        Avx2: scalar::Kernels<T>,
    {
        let max = (1u32 << bpc) - 1;
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ bpc as u64);
        let sizes = (1..=65).map(|w| (w, 1 + (w * 7) % 13)).chain([(67, 33), (129, 10), (17, 200)]);
        for (w, h) in sizes {
            let cases: Vec<(Plane<T>, Plane<T>)> = vec![
                (plane(w, h, |_| of(rng.next() & max)), plane(w, h, |_| of(rng.next() & max))),
                (plane(w, h, |_| of(0)), plane(w, h, |_| of(0))),
                (plane(w, h, |_| of(max)), plane(w, h, |_| of(max))),
                (plane(w, h, |_| of(max)), plane(w, h, |_| of(0))),
                (plane(w, h, |i| of(if i % 2 == 0 { max } else { 0 })), plane(w, h, |i| of(if i % 3 == 0 { 0 } else { max }))),
            ];
            for (x, y) in &cases {
                let (a, b) = both(x, y, bpc);
                assert_eq!(a, b, "bpc {bpc} {w}x{h}: {} vs {}", f64::from_bits(a), f64::from_bits(b));
            }
        }
    }

    #[test]
    fn avx2_matches_scalar_bit_for_bit() {
        check_all_kinds::<u8>(8, |v| v as u8);
        for bpc in [10, 12, 16] {
            check_all_kinds::<u16>(bpc, |v| v as u16);
        }
    }
}
