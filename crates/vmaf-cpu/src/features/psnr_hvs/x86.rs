//! AVX2 kernel for PSNR-HVS, bit-identical to `scalar.rs`.
//!
//! The float arithmetic of a block is a fixed sequence of single-precision
//! operations, and libvmaf's sums run in a fixed order; reordering them
//! (say, summing a block's row of coefficients in one vector) would change
//! the rounding. So the vector lanes hold eight *blocks* side by side, not
//! eight samples of one block: every lane runs exactly the scalar sequence
//! (statistics, the shared integer DCT network, masking, error terms) on
//! its own block. Only the plane's error total, one running float over all
//! blocks in raster order, stays scalar: the per-block terms are stored and
//! added in the scalar order afterwards.
//!
//! Blocks overlap (they start 7 samples apart), so the eight blocks of a
//! group are gathered into a lane-interleaved scratch with plain loads.
//! Rows with fewer than eight blocks left finish with the scalar code.

use std::arch::x86_64::*;

use vmaf_core::{Pixel, Plane};

use super::scalar::{self, block_count, quadrant, Lanes, Weights, BLOCK_VAR_SCALE, QUADRANT_VAR_SCALE, STEP};

/// The AVX2 kernel. Only constructed after checking the CPU has AVX2.
#[derive(Clone, Copy)]
pub struct Avx2(());

impl Avx2 {
    /// `Some` when this CPU runs AVX2.
    pub fn new() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }

    /// Same result as [`scalar::plane_error`], bit for bit.
    pub fn plane_error<T: Pixel>(&self, r: &Plane<T>, d: &Plane<T>, w: &Weights, bpc: u32) -> f64 {
        // SAFETY: `Avx2` exists only when the CPU has AVX2; all memory is
        // accessed through bounds-checked slices or fixed-size arrays.
        unsafe { plane_error(r, d, w, bpc) }
    }
}

/// Eight i32 lanes: one value from each of eight blocks.
#[derive(Clone, Copy)]
struct V(__m256i);

impl Lanes for V {
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY (all four): only inlined into `#[target_feature(enable =
        // "avx2")]` functions, which run only on CPUs with AVX2.
        V(unsafe { _mm256_add_epi32(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        V(unsafe { _mm256_sub_epi32(self.0, o.0) })
    }
    #[inline(always)]
    fn half(self) -> Self {
        V(unsafe { _mm256_srai_epi32::<1>(_mm256_add_epi32(self.0, _mm256_srli_epi32::<31>(self.0))) })
    }
    #[inline(always)]
    fn mul_shift<const S: i32>(self, m: i32) -> Self {
        V(unsafe {
            let p = _mm256_mullo_epi32(self.0, _mm256_set1_epi32(m));
            _mm256_sra_epi32(_mm256_add_epi32(p, _mm256_set1_epi32(1 << (S - 1))), _mm_cvtsi32_si128(S))
        })
    }
}

/// Loads eight horizontally adjacent blocks (origins `x`, `x + 7`, ...,
/// `x + 49`) at row `y`, sample (i, j) of block `b` in lane `b` of element
/// `8 i + j`.
#[inline(always)]
fn gather<T: Pixel>(p: &Plane<T>, x: usize, y: usize) -> [V; 64] {
    let mut lanes = [[0i32; 8]; 64];
    for i in 0..8 {
        let seg = &p.row(y + i)[x..x + 7 * STEP + 8];
        for j in 0..8 {
            for b in 0..8 {
                lanes[8 * i + j][b] = seg[STEP * b + j].into() as i32;
            }
        }
    }
    // SAFETY: unaligned loads of 8 i32 from 8-element arrays.
    lanes.map(|l| V(unsafe { _mm256_loadu_si256(l.as_ptr().cast()) }))
}

/// Per-lane [`scalar::variance_ratio`].
#[target_feature(enable = "avx2")]
unsafe fn variance_ratio(b: &[V; 64]) -> __m256 {
    let mut total = _mm256_setzero_si256();
    let mut quad = [_mm256_setzero_si256(); 4];
    for (k, v) in b.iter().enumerate() {
        total = _mm256_add_epi32(total, v.0);
        let q = quadrant(k / 8, k % 8);
        quad[q] = _mm256_add_epi32(quad[q], v.0);
    }
    let gmean = _mm256_div_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(64.0));
    let means = quad.map(|q| _mm256_div_ps(_mm256_cvtepi32_ps(q), _mm256_set1_ps(16.0)));
    let mut gvar = _mm256_setzero_ps();
    let mut vars = [_mm256_setzero_ps(); 4];
    for (k, v) in b.iter().enumerate() {
        let f = _mm256_cvtepi32_ps(v.0);
        let q = quadrant(k / 8, k % 8);
        let dg = _mm256_sub_ps(f, gmean);
        gvar = _mm256_add_ps(gvar, _mm256_mul_ps(dg, dg));
        let dq = _mm256_sub_ps(f, means[q]);
        vars[q] = _mm256_add_ps(vars[q], _mm256_mul_ps(dq, dq));
    }
    gvar = _mm256_mul_ps(gvar, _mm256_set1_ps(BLOCK_VAR_SCALE));
    let vars = vars.map(|v| _mm256_mul_ps(v, _mm256_set1_ps(QUADRANT_VAR_SCALE)));
    let sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(vars[0], vars[1]), vars[2]), vars[3]);
    let ratio = _mm256_div_ps(sum, gvar);
    // Where the block variance is not positive (or NaN) it stays as is.
    _mm256_blendv_ps(gvar, ratio, _mm256_cmp_ps::<_CMP_GT_OQ>(gvar, _mm256_setzero_ps()))
}

/// Per-lane [`scalar::mask_energy`].
#[target_feature(enable = "avx2")]
unsafe fn mask_energy(dct: &[V; 64], mask: &[f32; 64], var_ratio: __m256) -> __m256 {
    let mut m = _mm256_setzero_ps();
    for k in 1..64 {
        let sq = _mm256_cvtepi32_ps(_mm256_mullo_epi32(dct[k].0, dct[k].0));
        m = _mm256_add_ps(m, _mm256_mul_ps(sq, _mm256_set1_ps(mask[k])));
    }
    _mm256_div_ps(_mm256_sqrt_ps(_mm256_mul_ps(m, var_ratio)), _mm256_set1_ps(32.0))
}

/// The 64 error terms of each of eight blocks, coefficient-major:
/// `terms[k][b]` is coefficient `k` of block `b`.
#[target_feature(enable = "avx2")]
unsafe fn group_terms<T: Pixel>(
    r: &Plane<T>,
    d: &Plane<T>,
    x: usize,
    y: usize,
    w: &Weights,
    terms: &mut [[f32; 8]; 64],
) {
    let mut s = gather(r, x, y);
    let mut t = gather(d, x, y);
    let sv = variance_ratio(&s);
    let dv = variance_ratio(&t);
    scalar::fdct8x8(&mut s);
    scalar::fdct8x8(&mut t);
    let sm = mask_energy(&s, &w.mask, sv);
    let dm = mask_energy(&t, &w.mask, dv);
    let threshold = _mm256_blendv_ps(sm, dm, _mm256_cmp_ps::<_CMP_GT_OQ>(dm, sm));
    for k in 0..64 {
        let mut err = _mm256_cvtepi32_ps(_mm256_abs_epi32(_mm256_sub_epi32(s[k].0, t[k].0)));
        if k != 0 {
            let th = _mm256_div_ps(threshold, _mm256_set1_ps(w.mask[k]));
            let below = _mm256_cmp_ps::<_CMP_LT_OQ>(err, th);
            err = _mm256_blendv_ps(_mm256_sub_ps(err, th), _mm256_setzero_ps(), below);
        }
        let e = _mm256_mul_ps(err, _mm256_set1_ps(w.csf[k]));
        _mm256_storeu_ps(terms[k].as_mut_ptr(), _mm256_mul_ps(e, e));
    }
}

#[target_feature(enable = "avx2")]
unsafe fn plane_error<T: Pixel>(r: &Plane<T>, d: &Plane<T>, w: &Weights, bpc: u32) -> f64 {
    let (bw, bh) = (block_count(r.width()), block_count(r.height()));
    let mut total = 0f32;
    let mut terms = [[0f32; 8]; 64];
    for by in 0..bh {
        let y = by * STEP;
        let mut bx = 0;
        while bx + 8 <= bw {
            group_terms(r, d, bx * STEP, y, w, &mut terms);
            // libvmaf's order: block by block, coefficient by coefficient.
            for b in 0..8 {
                for term in &terms {
                    total += term[b];
                }
            }
            bx += 8;
        }
        for bx in bx..bw {
            scalar::block(r, d, bx * STEP, y, w, &mut total);
        }
    }
    scalar::finish(total, bw * bh, bpc)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) as u32
        }
    }

    fn weights() -> Vec<Weights> {
        // The real tables are private to the extractor; any positive tables
        // exercise the same arithmetic, and the luma-like one below has the
        // real shape (large at low frequencies).
        let smooth: [f32; 64] = std::array::from_fn(|k| 2.0 / (1.0 + ((k / 8) + (k % 8)) as f32 * 0.4));
        let odd: [f32; 64] = std::array::from_fn(|k| 0.1 + (k as f32 * 0.37).sin().abs() * 3.0);
        vec![Weights::new(&smooth), Weights::new(&odd)]
    }

    fn plane<T: Pixel + TryFrom<u32>>(w: usize, h: usize, f: impl Fn(usize, usize) -> u32) -> Plane<T> {
        let stride = w + 3;
        let mut v = vec![T::default(); stride * h];
        for y in 0..h {
            for x in 0..w {
                v[y * stride + x] = T::try_from(f(x, y)).ok().unwrap();
            }
        }
        Plane::from_vec(v, w, h, stride).unwrap()
    }

    fn check<T: Pixel + TryFrom<u32>>(bpc: u32, w: usize, h: usize, rng: &mut Rng) {
        let k = Avx2::new().expect("avx2");
        let max = (1u32 << bpc) - 1;
        let noise: Vec<u32> = (0..2 * w * h).map(|_| rng.next()).collect();
        let cases: Vec<(&str, Vec<u32>, Vec<u32>)> = vec![
            ("zero", vec![0; w * h], vec![0; w * h]),
            ("max vs zero", vec![max; w * h], vec![0; w * h]),
            ("max", vec![max; w * h], vec![max; w * h]),
            (
                "checker",
                (0..w * h).map(|i| if (i % w + i / w) & 1 == 0 { max } else { 0 }).collect(),
                (0..w * h).map(|i| ((i % w) as u32 * 37) & max).collect(),
            ),
            (
                "random",
                noise[..w * h].iter().map(|v| v & max).collect(),
                noise[w * h..].iter().map(|v| v & max).collect(),
            ),
            (
                "random small error",
                noise[..w * h].iter().map(|v| v & max).collect(),
                noise[..w * h].iter().zip(&noise[w * h..]).map(|(v, e)| ((v & max) + (e & 3)).min(max)).collect(),
            ),
        ];
        for (name, a, b) in &cases {
            let r: Plane<T> = plane(w, h, |x, y| a[y * w + x]);
            let d: Plane<T> = plane(w, h, |x, y| b[y * w + x]);
            for wt in weights() {
                let want = scalar::plane_error(&r, &d, &wt, bpc);
                let got = k.plane_error(&r, &d, &wt, bpc);
                assert!(got.to_bits() == want.to_bits(), "{name} {w}x{h} at {bpc} bits: avx2 {got:e}, scalar {want:e}");
            }
        }
    }

    #[test]
    fn avx2_matches_scalar() {
        if Avx2::new().is_none() {
            eprintln!("no AVX2 on this CPU: nothing to compare");
            return;
        }
        let mut rng = Rng(1);
        // 16 bits is refused by the extractor, but the kernels must still
        // agree (and not panic) where the integer arithmetic wraps.
        for bpc in [8, 10, 12, 16] {
            for (w, h) in [(1, 1), (8, 8), (64, 8), (65, 9), (63, 15), (71, 16), (120, 23), (200, 31)] {
                if bpc == 8 {
                    check::<u8>(bpc, w, h, &mut rng);
                } else {
                    check::<u16>(bpc, w, h, &mut rng);
                }
            }
        }
        for w in 1..=65 {
            check::<u8>(8, w, 9, &mut rng);
            check::<u16>(10, w, 8, &mut rng);
        }
    }
}
