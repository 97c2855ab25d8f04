//! The block entropies of the fork's `speed_qa`.
//!
//! A plane is cut into whole 7x7 blocks (a partial block at the right or
//! bottom edge is ignored). Each block gets a Gaussian-weighted mean and
//! variance, and from the variance a Gaussian differential entropy
//! `0.5 · (C + log2(var + 1))`; the plane's value is the mean entropy of
//! its blocks.
//!
//! The weights are the outer product of a 7-tap integer Gaussian (sum
//! 65535) with itself, divided by 65535² in double. Everything after the
//! samples is double precision, in the fork's order: one running sum each
//! of weights, weighted samples and weighted squares, row by row within a
//! block, and the entropies added block by block in raster order. Keeping
//! that order makes the result agree with the fork to the last bit on the
//! clips we have (the only libm call is `log2`).
//!
//! `C` is the fork's constant, about 2.0472. It is named log2(2πe)
//! there but is not that value (which is about 4.094); since it only
//! shifts the score, it is kept as is so the scores match.

/// Side of a block.
pub const BLOCK: usize = 7;

/// The 1-D integer Gaussian (sigma about 1.166).
const GAUSS: [i32; BLOCK] = [558, 4504, 15754, 23903, 15754, 4504, 558];

/// The constant term of the entropy, as the fork has it (the same double
/// as its 17-digit literal).
pub(super) const ENTROPY_OFFSET: f64 = 2.047_197_551_196_598;

/// Floor added to every variance so flat blocks have a finite entropy.
const VAR_FLOOR: f64 = 1.0;

/// The 2-D block weights and their sum, formed once.
#[derive(Clone, Debug)]
pub struct Weights {
    w: [[f64; BLOCK]; BLOCK],
    /// Σ w in the summation order of a block (so it is bit-identical to
    /// the sum the fork forms per block).
    sum: f64,
}

impl Weights {
    pub fn new() -> Self {
        let norm = 65535.0f64 * 65535.0;
        let mut w = [[0.0; BLOCK]; BLOCK];
        let mut sum = 0.0;
        for (r, row) in w.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                // The product fits in i32 (at most 23903²).
                *v = (GAUSS[r] * GAUSS[c]) as f64 / norm;
                sum += *v;
            }
        }
        Weights { w, sum }
    }
}

impl Default for Weights {
    fn default() -> Self {
        Self::new()
    }
}

/// Entropy of one block whose samples `sample(row, col)` gives (already
/// in the fork's 8-bit scale).
#[inline(always)]
pub fn block_entropy(wt: &Weights, mut sample: impl FnMut(usize, usize) -> f64) -> f64 {
    let (mut wpix, mut wpix2) = (0.0f64, 0.0f64);
    for r in 0..BLOCK {
        for c in 0..BLOCK {
            let w = wt.w[r][c];
            let p = sample(r, c);
            wpix += w * p;
            wpix2 += w * p * p;
        }
    }
    let mean = wpix / wt.sum;
    let mut var = wpix2 / wt.sum - mean * mean;
    if var < 0.0 {
        // Rounding can take a flat block's variance just below zero.
        var = 0.0;
    }
    0.5 * (ENTROPY_OFFSET + (var + VAR_FLOOR).log2())
}

/// Mean block entropy of a `nb_x` x `nb_y` grid of blocks, where
/// `sample(y, x)` reads the plane at row `y`, column `x`.
pub fn mean_entropy(wt: &Weights, nb_x: usize, nb_y: usize, sample: impl Fn(usize, usize) -> f64) -> f64 {
    let blocks = nb_x * nb_y;
    if blocks == 0 {
        return 0.0;
    }
    let mut sum = 0.0;
    for by in 0..nb_y {
        for bx in 0..nb_x {
            let (y0, x0) = (by * BLOCK, bx * BLOCK);
            sum += block_entropy(wt, |r, c| sample(y0 + r, x0 + c));
        }
    }
    sum / blocks as f64
}

/// Scale from `bpc`-bit samples to the 8-bit range (1 for 8-bit).
pub fn to_8bit_scale(bpc: u32) -> f64 {
    255.0 / ((1u32 << bpc) - 1) as f64
}

/// A high-bit-depth frame difference as the fork stores it: scaled to the
/// 8-bit range, then truncated toward zero into an `i16`.
#[inline(always)]
pub fn scaled_difference(cur: u16, prev: u16, scale: f64) -> f64 {
    let d = (cur as f64 - prev as f64) * scale;
    // `as` truncates toward zero and saturates, like C's conversion after
    // the fork's clamp to the i16 range.
    (d.clamp(-32768.0, 32767.0) as i16) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_normalised_outer_product() {
        let w = Weights::new();
        assert_eq!(GAUSS.iter().sum::<i32>(), 65535);
        assert!((w.sum - 1.0).abs() < 1e-12);
        assert_eq!(w.w[3][3], (23903.0 * 23903.0) / (65535.0 * 65535.0));
        assert_eq!(w.w[0][6], w.w[6][0]);
    }

    #[test]
    fn flat_block_has_floor_entropy() {
        let w = Weights::new();
        // Variance 0 (up to rounding, clamped at 0): entropy = C / 2.
        let e = block_entropy(&w, |_, _| 77.0);
        assert!((e - ENTROPY_OFFSET / 2.0).abs() < 1e-9, "{e}");
    }

    #[test]
    fn entropy_grows_with_contrast() {
        let w = Weights::new();
        let lo = block_entropy(&w, |r, c| ((r + c) % 2) as f64 * 10.0);
        let hi = block_entropy(&w, |r, c| ((r + c) % 2) as f64 * 100.0);
        assert!(hi > lo && lo > ENTROPY_OFFSET / 2.0);
    }

    #[test]
    fn differences_truncate_toward_zero() {
        let s = to_8bit_scale(10);
        // 3 steps of 10-bit = 0.7478 in 8-bit scale: truncates to 0.
        assert_eq!(scaled_difference(103, 100, s), 0.0);
        assert_eq!(scaled_difference(100, 105, s), -1.0);
        assert_eq!(scaled_difference(1023, 0, s), 255.0);
        assert_eq!(scaled_difference(0, 1023, s), -255.0);
        assert_eq!(to_8bit_scale(8), 1.0);
    }
}
