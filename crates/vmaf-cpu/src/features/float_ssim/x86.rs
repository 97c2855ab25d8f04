//! AVX2 kernels for the SSIM machinery, bit-identical to `scalar.rs`.
//!
//! Every filter output is an `f64` sum of `f32`-rounded products in tap
//! order. Here each lane carries one output: the products are formed four
//! at a time in `f32` (`__m128`), widened exactly to `f64` (`__m256d`) and
//! added in the same tap order, so each lane does the scalar arithmetic.
//! No FMA anywhere: it would skip the rounding of the product.
//!
//! The per-sample SSIM terms are computed four at a time with the scalar
//! types (the `f32` steps in `__m128`, the `f64` ones in `__m256d`; the
//! IEEE operations, square root included, round identically), then added to
//! the sums one sample at a time, in order, like the scalar code.

use std::arch::x86_64::*;

use super::scalar::{self, DecimateRow, Kernels, Sums, Terms, Want, C1, C2, C3, GAUSSIAN, WIN};

/// The AVX2 kernels. Only constructed after checking the CPU has AVX2.
#[derive(Clone, Copy)]
pub struct Avx2(());

impl Avx2 {
    /// The kernels, when this CPU runs AVX2.
    pub fn detect() -> Option<&'static Avx2> {
        static KERNELS: Avx2 = Avx2(());
        is_x86_feature_detected!("avx2").then_some(&KERNELS)
    }
}

impl Kernels for Avx2 {
    fn moments_row(&self, r: &[f32], d: &[f32], out: &mut [f32]) {
        // SAFETY: `Avx2` exists only when the CPU has AVX2; each kernel
        // checks the slice lengths its pointer loads and stores rely on.
        unsafe { moments_row(r, d, out) }
    }
    fn vertical(&self, rows: &[&[f32]; WIN], out: &mut [f32]) {
        // SAFETY: as above.
        unsafe { vertical(rows, out) }
    }
    fn stats_row(&self, m: &[f32], dw: usize, want: Want, sums: &mut Sums) {
        // SAFETY: as above.
        unsafe { stats_row(m, dw, want, sums) }
    }
    fn decimate_row(&self, p: &DecimateRow<'_>, out: &mut [f32]) {
        // SAFETY: as above.
        unsafe { decimate_row(p, out) }
    }
}

/// `acc + (f64)(a · b)`, the product rounded to `f32` first.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn mac(acc: __m256d, a: __m128, b: __m128) -> __m256d {
    _mm256_add_pd(acc, _mm256_cvtps_pd(_mm_mul_ps(a, b)))
}

/// Stores four sums, rounded to `f32`, at `p`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store4(p: *mut f32, acc: __m256d) {
    _mm_storeu_ps(p, _mm256_cvtpd_ps(acc));
}

#[target_feature(enable = "avx2")]
unsafe fn moments_row(r: &[f32], d: &[f32], out: &mut [f32]) {
    let w = r.len();
    assert!(w >= WIN && d.len() == w);
    let dw = w + 1 - WIN;
    assert!(out.len() >= 5 * dw);
    let (rp, dp, op) = (r.as_ptr(), d.as_ptr(), out.as_mut_ptr());
    let mut x = 0;
    // Outputs x..x + 4 read samples x..x + 14, below w while x + 4 <= dw.
    while x + 4 <= dw {
        let mut acc = [_mm256_setzero_pd(); 5];
        for (k, &g) in GAUSSIAN.iter().enumerate() {
            let g = _mm_set1_ps(g);
            let a = _mm_loadu_ps(rp.add(x + k));
            let b = _mm_loadu_ps(dp.add(x + k));
            acc[0] = mac(acc[0], a, g);
            acc[1] = mac(acc[1], b, g);
            acc[2] = mac(acc[2], _mm_mul_ps(a, a), g);
            acc[3] = mac(acc[3], _mm_mul_ps(b, b), g);
            acc[4] = mac(acc[4], _mm_mul_ps(a, b), g);
        }
        for (q, a) in acc.into_iter().enumerate() {
            store4(op.add(q * dw + x), a);
        }
        x += 4;
    }
    scalar::moments_row_from(r, d, out, x);
}

#[target_feature(enable = "avx2")]
unsafe fn vertical(rows: &[&[f32]; WIN], out: &mut [f32]) {
    let n = out.len();
    assert!(rows.iter().all(|r| r.len() >= n));
    let p: [*const f32; WIN] = std::array::from_fn(|k| rows[k].as_ptr());
    let op = out.as_mut_ptr();
    let mut i = 0;
    // Four groups at a time: each output is a chain of 11 dependent adds,
    // and independent chains keep the adder busy.
    while i + 16 <= n {
        let mut acc = [_mm256_setzero_pd(); 4];
        for (k, &g) in GAUSSIAN.iter().enumerate() {
            let g = _mm_set1_ps(g);
            for (j, a) in acc.iter_mut().enumerate() {
                *a = mac(*a, _mm_loadu_ps(p[k].add(i + 4 * j)), g);
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            store4(op.add(i + 4 * j), a);
        }
        i += 16;
    }
    while i + 4 <= n {
        let mut acc = _mm256_setzero_pd();
        for (k, &g) in GAUSSIAN.iter().enumerate() {
            acc = mac(acc, _mm_loadu_ps(p[k].add(i)), _mm_set1_ps(g));
        }
        store4(op.add(i), acc);
        i += 4;
    }
    scalar::vertical_from(rows, out, i);
}

#[target_feature(enable = "avx2")]
unsafe fn stats_row(m: &[f32], dw: usize, want: Want, sums: &mut Sums) {
    assert!(m.len() >= 5 * dw);
    let mp = m.as_ptr();
    let zero = _mm_setzero_ps();
    let (c1, c2, c3) = (_mm_set1_ps(C1), _mm_set1_ps(C2), _mm_set1_ps(C3));
    let (c1d, c2d) = (_mm256_set1_pd(C1 as f64), _mm256_set1_pd(C2 as f64));
    let two = _mm256_set1_pd(2.0);
    let mut x = 0;
    while x + 4 <= dw {
        let mu1 = _mm_loadu_ps(mp.add(x));
        let mu2 = _mm_loadu_ps(mp.add(dw + x));
        let s11 = _mm_loadu_ps(mp.add(2 * dw + x));
        let s22 = _mm_loadu_ps(mp.add(3 * dw + x));
        let s12 = _mm_loadu_ps(mp.add(4 * dw + x));
        // maxps(0, v) is `0 > v ? 0 : v`, C's MAX(0.0, v) on floats.
        let var1 = _mm_max_ps(zero, _mm_sub_ps(s11, _mm_mul_ps(mu1, mu1)));
        let var2 = _mm_max_ps(zero, _mm_sub_ps(s22, _mm_mul_ps(mu2, mu2)));
        let cov = _mm_sub_ps(s12, _mm_mul_ps(mu1, mu2));
        let sd12 = _mm_sqrt_ps(_mm_mul_ps(var1, var2));
        let l_num = _mm256_add_pd(
            _mm256_mul_pd(
                _mm256_mul_pd(two, _mm256_cvtps_pd(mu1)),
                _mm256_cvtps_pd(mu2),
            ),
            c1d,
        );
        let l_den = _mm_add_ps(_mm_add_ps(_mm_mul_ps(mu1, mu1), _mm_mul_ps(mu2, mu2)), c1);
        let l = _mm256_div_pd(l_num, _mm256_cvtps_pd(l_den));
        let c_num = _mm256_add_pd(_mm256_mul_pd(two, _mm256_cvtps_pd(sd12)), c2d);
        let c_den = _mm_add_ps(_mm_add_ps(var1, var2), c2);
        let c = _mm256_div_pd(c_num, _mm256_cvtps_pd(c_den));
        // Zero the covariance where it is negative and sd12 is not
        // positive (ordered compares: NaN keeps its value, as in C).
        let clamp = _mm_and_ps(_mm_cmplt_ps(cov, zero), _mm_cmple_ps(sd12, zero));
        let cov = _mm_andnot_ps(clamp, cov);
        let s = _mm256_cvtps_pd(_mm_div_ps(_mm_add_ps(cov, c3), _mm_add_ps(sd12, c3)));
        let ssim = _mm256_mul_pd(_mm256_mul_pd(l, c), s);
        let mut t = [[0.0f64; 4]; 4];
        _mm256_storeu_pd(t[0].as_mut_ptr(), ssim);
        _mm256_storeu_pd(t[1].as_mut_ptr(), l);
        _mm256_storeu_pd(t[2].as_mut_ptr(), c);
        _mm256_storeu_pd(t[3].as_mut_ptr(), s);
        let [ssim, l, c, s] = t;
        for i in 0..4 {
            sums.add(
                want,
                Terms {
                    ssim: ssim[i],
                    l: l[i],
                    c: c[i],
                    s: s[i],
                },
            );
        }
        x += 4;
    }
    scalar::stats_row_from(m, dw, want, sums, x);
}

#[target_feature(enable = "avx2")]
unsafe fn decimate_row(p: &DecimateRow<'_>, out: &mut [f32]) {
    let n = p.taps.len();
    let n_out = out.len();
    assert!(p.rows.len() * n == p.kernel.len());
    // Output x under tap (row, t) reads split[row + t + x]: every load
    // below stays under the largest such index.
    let (Some(&row_max), Some(&tap_max)) = (p.rows.iter().max(), p.taps.iter().max()) else {
        return;
    };
    assert!(row_max + tap_max + n_out <= p.split.len());
    let sp = p.split.as_ptr();
    let op = out.as_mut_ptr();
    let mut x = 0;
    // Four groups of four outputs at a time, for independent add chains.
    while x + 16 <= n_out {
        let mut acc = [_mm256_setzero_pd(); 4];
        for (&row, k) in p.rows.iter().zip(p.kernel.chunks_exact(n)) {
            for (&t, &k) in p.taps.iter().zip(k) {
                let k = _mm_set1_ps(k);
                let s = sp.add(row + t + x);
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = mac(*a, _mm_loadu_ps(s.add(4 * j)), k);
                }
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            store4(op.add(x + 4 * j), a);
        }
        x += 16;
    }
    while x + 4 <= n_out {
        let mut acc = _mm256_setzero_pd();
        for (&row, k) in p.rows.iter().zip(p.kernel.chunks_exact(n)) {
            for (&t, &k) in p.taps.iter().zip(k) {
                acc = mac(acc, _mm_loadu_ps(sp.add(row + t + x)), _mm_set1_ps(k));
            }
        }
        store4(op.add(x), acc);
        x += 4;
    }
    for (i, o) in out.iter_mut().enumerate().skip(x) {
        *o = p.sample(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::float_ssim::scalar::{Decimator, Scalar};

    struct Rng(u64);
    impl Rng {
        /// Uniform in [0, 1).
        fn u(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    /// Sample generators: random at each depth's scale (8-bit values, and
    /// 16-bit values divided by 256), and hostile constant or extreme ones.
    fn fills() -> Vec<Box<dyn Fn(&mut Rng, usize) -> f32>> {
        vec![
            Box::new(|r, _| (r.u() * 256.0).floor()),
            Box::new(|r, _| (r.u() * 65536.0).floor() / 256.0),
            Box::new(|r, _| (r.u() * 1024.0).floor() / 4.0),
            Box::new(|_, _| 0.0),
            Box::new(|_, _| 255.0),
            Box::new(|_, _| 65535.0 / 256.0),
            Box::new(|_, i| if i % 2 == 0 { 0.0 } else { 255.0 }),
            Box::new(|r, i| {
                if (i / 3) % 2 == 0 {
                    r.u() * 1e-3
                } else {
                    255.0 - r.u()
                }
            }),
        ]
    }

    fn k() -> Option<&'static Avx2> {
        Avx2::detect()
    }

    #[test]
    fn moments_row_matches_scalar() {
        let Some(k) = k() else { return };
        let mut rng = Rng(1);
        for fill in fills() {
            for w in WIN..=WIN + 70 {
                let r: Vec<f32> = (0..w).map(|i| fill(&mut rng, i)).collect();
                let d: Vec<f32> = (0..w).map(|i| fill(&mut rng, i + 1)).collect();
                let dw = w + 1 - WIN;
                let (mut a, mut b) = (vec![0.0; 5 * dw], vec![0.0; 5 * dw]);
                Scalar.moments_row(&r, &d, &mut a);
                k.moments_row(&r, &d, &mut b);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b), "w {w}");
            }
        }
    }

    #[test]
    fn vertical_matches_scalar() {
        let Some(k) = k() else { return };
        let mut rng = Rng(2);
        for fill in fills() {
            for n in 1..=70 {
                let rows: Vec<Vec<f32>> = (0..WIN)
                    .map(|j| (0..n).map(|i| fill(&mut rng, i + j) * 37.0).collect())
                    .collect();
                let rows: [&[f32]; WIN] = std::array::from_fn(|j| &rows[j][..]);
                let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                Scalar.vertical(&rows, &mut a);
                k.vertical(&rows, &mut b);
                assert_eq!(
                    a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    b.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "n {n}"
                );
            }
        }
    }

    #[test]
    fn stats_row_matches_scalar() {
        let Some(k) = k() else { return };
        let mut rng = Rng(3);
        let wants = [
            Want {
                ssim: true,
                lcs: true,
            },
            Want {
                ssim: true,
                lcs: false,
            },
            Want {
                ssim: false,
                lcs: true,
            },
        ];
        for fill in fills() {
            for dw in 1..=40 {
                // Moments as the filters make them: means, then squares and
                // cross products near (and on either side of) their floor.
                let mut m = vec![0.0f32; 5 * dw];
                for x in 0..dw {
                    let (a, b) = (fill(&mut rng, x), fill(&mut rng, x + 1));
                    let jitter = |r: &mut Rng| (r.u() - 0.5) * 4.0;
                    m[x] = a;
                    m[dw + x] = b;
                    m[2 * dw + x] = a * a + jitter(&mut rng);
                    m[3 * dw + x] = b * b + jitter(&mut rng);
                    m[4 * dw + x] = a * b + jitter(&mut rng) * 10.0;
                }
                for want in wants {
                    let (mut a, mut b) = (Sums::default(), Sums::default());
                    Scalar.stats_row(&m, dw, want, &mut a);
                    k.stats_row(&m, dw, want, &mut b);
                    let bits = |s: Sums| [s.ssim, s.l, s.c, s.s].map(f64::to_bits);
                    assert_eq!(bits(a), bits(b), "dw {dw}");
                }
            }
        }
    }

    #[test]
    fn decimation_matches_scalar() {
        let Some(k) = k() else { return };
        let mut rng = Rng(4);
        let lpf: Vec<f32> = (0..81)
            .map(|i| ((i * 7919) % 97) as f32 / 400.0 - 0.1)
            .collect();
        for fill in fills() {
            for w in 1..=65usize {
                for h in [1usize, 2, 5, 9, 12] {
                    let img: Vec<f32> = (0..w * h).map(|i| fill(&mut rng, i)).collect();
                    let plans = (2..=10)
                        .map(|f| Decimator::new(w, h, f, Decimator::box_kernel(f), f))
                        .chain([Decimator::new(w, h, 2, lpf.clone(), 9)]);
                    for plan in plans {
                        let Ok(mut plan) = plan else { continue };
                        let n = plan.out_w * plan.out_h;
                        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                        plan.run(&Scalar, &img, &mut a);
                        plan.run(k, &img, &mut b);
                        assert_eq!(
                            a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                            b.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                            "{w}x{h}"
                        );
                    }
                }
            }
        }
    }
}
