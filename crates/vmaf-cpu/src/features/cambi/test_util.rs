//! Random and hostile working planes for the kernel tests.

use super::scalar::{aligned_stride, Contrast};

/// A small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Contrast settings with a random band and steps.
pub fn contrast(rng: &mut Rng) -> Contrast {
    let num_diffs = 1 << rng.below(6);
    let mut tvi = [0u16; 32];
    let mut t = rng.below(300) as u16;
    for d in 0..num_diffs {
        t += rng.below(40) as u16;
        tvi[d] = t + num_diffs as u16;
    }
    let vlt = if rng.below(2) == 0 { 0 } else { rng.below(200) as u16 };
    let base = (vlt as i32 - 3 * num_diffs as i32 + 1).max(0) as u16;
    let top = tvi[num_diffs - 1] + 1;
    let mut weights = [0i32; 32];
    for (d, w) in weights.iter_mut().enumerate() {
        *w = 1 + (d as i32 / 3).min(8);
    }
    Contrast::new(num_diffs, tvi, weights, vlt, base, top.saturating_sub(base), super::reciprocals())
}

/// Working planes (image, mask, stride) of `w`x`h` with a few values near
/// the band, runs of equal values, and random masks.
pub fn planes(rng: &mut Rng, w: usize, h: usize, k: &Contrast) -> (Vec<u16>, Vec<u8>, usize) {
    let stride = aligned_stride(w);
    let mut img = vec![0u16; stride * h];
    let mut mask = vec![0u8; stride * h];
    let lo = k.band_base as usize;
    let span = k.band_size as usize + 8;
    let style = rng.below(4);
    for r in 0..h {
        let mut v = (lo + rng.below(span)).min(1024) as u16;
        for c in 0..w {
            if rng.below(6) == 0 {
                v = (lo + rng.below(span)).min(1024) as u16;
            }
            img[r * stride + c] = match style {
                0 => v,
                1 => (lo + rng.below(span)).min(1024) as u16,
                2 => (lo + rng.below(3)) as u16,
                _ => rng.below(1025) as u16,
            };
            mask[r * stride + c] = (rng.below(5) != 0) as u8;
        }
    }
    (img, mask, stride)
}
