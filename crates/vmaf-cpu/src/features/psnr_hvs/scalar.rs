//! Reference kernels for PSNR-HVS: Daala's integer 8x8 DCT and the masked,
//! CSF-weighted error of one plane.
//!
//! The float arithmetic follows libvmaf operation by operation, in single
//! precision where it uses `float`: the per-block statistics, the masking
//! threshold and, above all, the error total, which libvmaf accumulates in
//! one `float` over the whole plane. Changing the order of those additions
//! moves the score in the 5th-6th decimal, so every sum here runs in the
//! same order as libvmaf's loops.

use vmaf_core::{Pixel, Plane};

/// Blocks are 8x8 and start every 7 samples, so neighbours share a row and
/// a column.
pub const STEP: usize = 7;

/// The integer operations of the transform, on one value (`i32`, here) or
/// on a vector of independent values (the SIMD kernels), so both run the
/// very same lifting network. Arithmetic wraps like the C it mirrors, so
/// hostile input cannot panic.
pub trait Lanes: Copy {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    /// The unbiased halving of Daala's transforms: an arithmetic shift that
    /// rounds towards zero instead of towards minus infinity.
    fn half(self) -> Self;
    /// `(a * m + 2^(S-1)) >> S`, the fixed-point step of a lifting rotation.
    fn mul_shift<const S: i32>(self, m: i32) -> Self;
}

impl Lanes for i32 {
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.wrapping_sub(o)
    }
    #[inline(always)]
    fn half(self) -> Self {
        self.wrapping_add(((self as u32) >> 31) as i32) >> 1
    }
    #[inline(always)]
    fn mul_shift<const S: i32>(self, m: i32) -> Self {
        self.wrapping_mul(m).wrapping_add(1 << (S - 1)) >> S
    }
}

/// Daala's 8-point forward type-II DCT (`od_bin_fdct8`) as a lifting
/// network: exactly reversible integer arithmetic, so every implementation
/// gives the same coefficients. `x` holds the eight inputs in order.
#[inline(always)]
pub fn fdct8<L: Lanes>(x: [L; 8]) -> [L; 8] {
    // Input permutation of the butterfly network.
    let [mut t0, mut t4, mut t2, mut t6, mut t7, mut t3, mut t5, mut t1] = x;

    // Sum/difference butterflies, halved so the range does not grow.
    t1 = t0.sub(t1);
    let t1h = t1.half();
    t0 = t0.sub(t1h);
    t4 = t4.add(t5);
    let t4h = t4.half();
    t5 = t5.sub(t4h);
    t3 = t2.sub(t3);
    t2 = t2.sub(t3.half());
    t6 = t6.add(t7);
    let t6h = t6.half();
    t7 = t6h.sub(t7);

    // Even half: a 4-point DCT made of a 2-point DCT and a 2-point DST.
    t0 = t0.add(t6h);
    t6 = t0.sub(t6);
    t2 = t4h.sub(t2);
    t4 = t2.sub(t4);
    // Rotation by pi/4: tan(pi/8) = sqrt(2) - 1 and sin(pi/4) = sqrt(1/2).
    t0 = t0.sub(t4.mul_shift::<15>(13573));
    t4 = t4.add(t0.mul_shift::<14>(11585));
    t0 = t0.sub(t4.mul_shift::<15>(13573));
    // Rotation by 3pi/8.
    t6 = t6.sub(t2.mul_shift::<15>(21895));
    t2 = t2.add(t6.mul_shift::<14>(15137));
    t6 = t6.sub(t2.mul_shift::<15>(21895));

    // Odd half: a 4-point DST.
    t3 = t3.add(t5.mul_shift::<15>(19195));
    t5 = t5.add(t3.mul_shift::<14>(11585));
    t3 = t3.sub(t5.mul_shift::<13>(7489));
    t7 = t5.half().sub(t7);
    t5 = t5.sub(t7);
    t3 = t1h.sub(t3);
    t1 = t1.sub(t3);
    // Rotation by pi/16.
    t7 = t7.add(t1.mul_shift::<15>(3227));
    t1 = t1.sub(t7.mul_shift::<15>(6393));
    t7 = t7.add(t1.mul_shift::<15>(3227));
    // Rotation by 3pi/16.
    t5 = t5.add(t3.mul_shift::<13>(2485));
    t3 = t3.sub(t5.mul_shift::<15>(18205));
    t5 = t5.add(t3.mul_shift::<13>(2485));

    [t0, t1, t2, t3, t4, t5, t6, t7]
}

/// The separable 2-D transform of a row-major 8x8 block, in place: columns
/// first (each column's coefficients become a row of the intermediate),
/// then the columns of the intermediate, as `od_bin_fdct8x8` orders it.
#[inline(always)]
pub fn fdct8x8<L: Lanes>(block: &mut [L; 64]) {
    let mut z = *block;
    for i in 0..8 {
        let col = std::array::from_fn(|k| block[8 * k + i]);
        z[8 * i..8 * i + 8].copy_from_slice(&fdct8(col));
    }
    for i in 0..8 {
        let col = std::array::from_fn(|k| z[8 * k + i]);
        block[8 * i..8 * i + 8].copy_from_slice(&fdct8(col));
    }
}

/// Scale factors turning sums of squared deviations into unbiased
/// variances, spelled as libvmaf spells them (a float 1/63 or 1/15, rounded,
/// times 64 or 16, rounded again): the rounding is part of the score.
pub const BLOCK_VAR_SCALE: f32 = 1.0f32 / 63.0 * 64.0;
pub const QUADRANT_VAR_SCALE: f32 = 1.0f32 / 15.0 * 16.0;

/// Variance statistics of a block: the ratio of the summed quadrant
/// variances to the whole-block variance (libvmaf leaves the block variance
/// itself in place when it is zero).
#[inline(always)]
pub fn variance_ratio(b: &[i32; 64]) -> f32 {
    // Integer sums below 2^24 are exact in f32, so their order is free;
    // the squared deviations below are not, and keep libvmaf's order.
    let mut total = 0i32;
    let mut quad = [0i32; 4];
    for i in 0..8 {
        for j in 0..8 {
            let v = b[8 * i + j];
            total = total.wrapping_add(v);
            quad[quadrant(i, j)] = quad[quadrant(i, j)].wrapping_add(v);
        }
    }
    let gmean = total as f32 / 64.0;
    let means = quad.map(|q| q as f32 / 16.0);
    let mut gvar = 0f32;
    let mut vars = [0f32; 4];
    for i in 0..8 {
        for j in 0..8 {
            let v = b[8 * i + j] as f32;
            let q = quadrant(i, j);
            gvar += (v - gmean) * (v - gmean);
            vars[q] += (v - means[q]) * (v - means[q]);
        }
    }
    gvar *= BLOCK_VAR_SCALE;
    for v in &mut vars {
        *v *= QUADRANT_VAR_SCALE;
    }
    if gvar > 0.0 {
        gvar = (vars[0] + vars[1] + vars[2] + vars[3]) / gvar;
    }
    gvar
}

/// Which 4x4 quadrant of the block sample (i, j) is in, numbered as libvmaf
/// numbers them (row half + 2 * column half).
#[inline(always)]
pub fn quadrant(i: usize, j: usize) -> usize {
    (i >> 2) + 2 * (j >> 2)
}

/// The contrast-masking energy of a transformed block: its AC energy
/// weighted by the masking table, scaled by the variance ratio.
#[inline(always)]
pub fn mask_energy(dct: &[i32; 64], mask: &[f32; 64], var_ratio: f32) -> f32 {
    let mut m = 0f32;
    for k in 1..64 {
        m += dct[k].wrapping_mul(dct[k]) as f32 * mask[k];
    }
    // libvmaf takes this root in double; for a float argument that gives
    // the correctly rounded f32 root, which is what `f32::sqrt` returns.
    (m * var_ratio).sqrt() / 32.0
}

/// Tables of one plane: the CSF weights and the masking table derived from
/// them, both row-major.
#[derive(Clone, Debug)]
pub struct Weights {
    pub csf: [f32; 64],
    pub mask: [f32; 64],
}

impl Weights {
    pub fn new(csf: &[f32; 64]) -> Self {
        // The masking table is the CSF scaled by a constant and squared, in
        // double, then stored as float.
        const K: f64 = 0.3885746225901003;
        let mask = csf.map(|c| ((c as f64 * K) * (c as f64 * K)) as f32);
        Weights { csf: *csf, mask }
    }
}

/// Loads the 8x8 block at (x, y) of a plane as integers.
#[inline(always)]
fn load<T: Pixel>(p: &Plane<T>, x: usize, y: usize, out: &mut [i32; 64]) {
    for i in 0..8 {
        let row = &p.row(y + i)[x..x + 8];
        for j in 0..8 {
            out[8 * i + j] = row[j].into() as i32;
        }
    }
}

/// Adds one block's masked, CSF-weighted squared error to `total`, term by
/// term as libvmaf does (the total is a running f32).
#[inline(always)]
pub fn accumulate_block(s: &[i32; 64], d: &[i32; 64], w: &Weights, threshold: f32, total: &mut f32) {
    for k in 0..64 {
        let mut err = s[k].wrapping_sub(d[k]).wrapping_abs() as f32;
        if k != 0 {
            let t = threshold / w.mask[k];
            err = if err < t { 0.0 } else { err - t };
        }
        *total += (err * w.csf[k]) * (err * w.csf[k]);
    }
}

/// The per-block part of PSNR-HVS for the block at (x, y): statistics,
/// transforms, the masking threshold (the larger of the two pictures'),
/// and the error added to `total`.
#[inline(always)]
pub fn block<T: Pixel>(r: &Plane<T>, d: &Plane<T>, x: usize, y: usize, w: &Weights, total: &mut f32) {
    let mut s = [0i32; 64];
    let mut t = [0i32; 64];
    load(r, x, y, &mut s);
    load(d, x, y, &mut t);
    let sv = variance_ratio(&s);
    let dv = variance_ratio(&t);
    fdct8x8(&mut s);
    fdct8x8(&mut t);
    let sm = mask_energy(&s, &w.mask, sv);
    let dm = mask_energy(&t, &w.mask, dv);
    let threshold = if dm > sm { dm } else { sm };
    accumulate_block(&s, &t, w, threshold, total);
}

/// Number of block origins along a side of `n` samples: 0, 7, 14, ...
/// while a whole block fits.
pub fn block_count(n: usize) -> usize {
    if n < 8 {
        0
    } else {
        (n - 8) / STEP + 1
    }
}

/// The normalised PSNR-HVS error of one plane (before the dB conversion):
/// mean weighted squared error over every coefficient of every block,
/// divided by the squared peak. NaN when the plane holds no whole block,
/// as in libvmaf (0 / 0).
pub fn plane_error<T: Pixel>(r: &Plane<T>, d: &Plane<T>, w: &Weights, bpc: u32) -> f64 {
    let (bw, bh) = (block_count(r.width()), block_count(r.height()));
    let mut total = 0f32;
    for by in 0..bh {
        for bx in 0..bw {
            block(r, d, bx * STEP, by * STEP, w, &mut total);
        }
    }
    finish(total, bw * bh, bpc)
}

/// Turns the error total of `blocks` blocks into the normalised error, with
/// libvmaf's float divisions.
pub fn finish(total: f32, blocks: usize, bpc: u32) -> f64 {
    let coefficients = (blocks * 64) as f32;
    let peak = ((1i64 << bpc) - 1) as f32;
    (total / coefficients / (peak * peak)) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lifting network approximates the orthonormal DCT-II: compare it
    /// with the textbook formula in double precision. Each lifting step
    /// rounds, so a few units of difference are expected, no more.
    #[test]
    fn fdct8_approximates_the_orthonormal_dct() {
        let mut seed = 99u32;
        for round in 0..2000 {
            let x: [i32; 8] = std::array::from_fn(|_| {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                if round % 2 == 0 {
                    (seed >> 20) as i32
                } else {
                    (seed >> 24) as i32 - 128
                }
            });
            let y = fdct8(x);
            for (k, &got) in y.iter().enumerate() {
                let ck = if k == 0 { (0.125f64).sqrt() } else { 0.5 };
                let want: f64 = x
                    .iter()
                    .enumerate()
                    .map(|(n, &v)| v as f64 * (std::f64::consts::PI * (2 * n + 1) as f64 * k as f64 / 16.0).cos())
                    .sum::<f64>()
                    * ck;
                assert!((got as f64 - want).abs() <= 3.0, "{x:?}: coefficient {k} is {got}, DCT gives {want}");
            }
        }
    }

    #[test]
    fn dct_of_flat_block_is_nearly_dc_only() {
        for v in [0, 1, 255, 1023, 4095] {
            let mut b = [v; 64];
            fdct8x8(&mut b);
            assert!((b[0] - 8 * v).abs() <= 2, "dc {} for {v}", b[0]);
            assert!(b[1..].iter().all(|&c| c.abs() <= 2), "{b:?}");
        }
    }

    #[test]
    fn dct_energy_is_preserved() {
        // The lifting DCT is orthonormal: the energy of the coefficients
        // is that of the samples (within rounding).
        let mut seed = 7u32;
        for _ in 0..100 {
            let mut b = [0i32; 64];
            for v in &mut b {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                *v = (seed >> 20) as i32;
            }
            let e0: f64 = b.iter().map(|&v| (v as f64).powi(2)).sum();
            fdct8x8(&mut b);
            let e1: f64 = b.iter().map(|&v| (v as f64).powi(2)).sum();
            assert!((e0 - e1).abs() / e0 < 1e-3, "{e0} vs {e1}");
        }
    }

    #[test]
    fn half_rounds_towards_zero() {
        assert_eq!(3.half(), 1);
        assert_eq!((-3).half(), -1);
        assert_eq!((-4).half(), -2);
        assert_eq!(0.half(), 0);
    }

    #[test]
    fn block_counts() {
        assert_eq!(block_count(7), 0);
        assert_eq!(block_count(8), 1);
        assert_eq!(block_count(14), 1);
        assert_eq!(block_count(15), 2);
        // 1080p: origins 0, 7, ..., 1911 in x.
        assert_eq!(block_count(1920), 274);
    }

    #[test]
    fn variance_ratio_of_flat_and_split_blocks() {
        assert_eq!(variance_ratio(&[9; 64]), 0.0);
        // Each quadrant flat but different: quadrant variances vanish.
        let b: [i32; 64] = std::array::from_fn(|k| quadrant(k / 8, k % 8) as i32 * 10);
        assert_eq!(variance_ratio(&b), 0.0);
    }
}
