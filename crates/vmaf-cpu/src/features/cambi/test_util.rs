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

/// Contrast settings with a random band and steps (up to 32).
pub fn contrast(rng: &mut Rng) -> Contrast {
    let num_diffs = 1 << rng.below(6);
    let mut tvi = [0u16; 32];
    let mut t = rng.below(300) as u16;
    for v in tvi.iter_mut().take(num_diffs) {
        t += rng.below(40) as u16;
        *v = t + num_diffs as u16;
    }
    let vlt = if rng.below(2) == 0 {
        0
    } else {
        rng.below(200) as u16
    };
    let base = (vlt as i32 - 3 * num_diffs as i32 + 1).max(0) as u16;
    let top = tvi[num_diffs - 1] + 1;
    let mut weights = [0i32; 32];
    for (d, w) in weights.iter_mut().enumerate() {
        *w = 1 + (d as i32 / 3).min(8);
    }
    Contrast::new(
        num_diffs,
        tvi,
        weights,
        vlt,
        base,
        top.saturating_sub(base),
        super::reciprocals(),
    )
}

/// Contrast settings of libvmaf's defaults (BT.1886, tvi 0.019, 4 steps).
pub fn default_contrast() -> Contrast {
    use super::luminance::{tvi_for_diff, Eotf};
    let mut tvi = [0u16; 32];
    let mut weights = [0i32; 32];
    for d in 0..4 {
        tvi[d] = (tvi_for_diff(Eotf::Bt1886, d as i32 + 1, 0.019) + 4) as u16;
        weights[d] = super::CONTRAST_WEIGHTS[d];
    }
    Contrast::new(4, tvi, weights, 0, 0, tvi[3] + 1, super::reciprocals())
}

/// How a test plane is filled.
#[derive(Clone, Copy, Debug)]
pub enum Fill {
    /// Runs of equal values near the band.
    Runs,
    /// Independent values near the band.
    Noise,
    /// Two or three neighbouring values (dense events).
    Dither,
    /// Anything from 0 to 1024.
    Wild,
    Zero,
    /// 1024, the largest 10-bit value CAMBI sees (from 12/16-bit rounding).
    Max,
    /// One value inside the band.
    Flat,
}

pub const FILLS: [Fill; 7] = [
    Fill::Runs,
    Fill::Noise,
    Fill::Dither,
    Fill::Wild,
    Fill::Zero,
    Fill::Max,
    Fill::Flat,
];

/// Working planes (image, mask, stride) of `w`x`h` filled per `fill`; the
/// mask is random, all set or all clear.
pub fn planes_with(
    rng: &mut Rng,
    w: usize,
    h: usize,
    k: &Contrast,
    fill: Fill,
) -> (Vec<u16>, Vec<u8>, usize) {
    let stride = aligned_stride(w);
    let mut img = vec![0u16; stride * h];
    let mut mask = vec![0u8; stride * h];
    let lo = k.band_base as usize;
    let span = k.band_size as usize + 8;
    let near = |rng: &mut Rng| (lo + rng.below(span)).min(1024) as u16;
    let flat = near(rng);
    let mask_style = rng.below(4);
    for r in 0..h {
        let mut v = near(rng);
        for c in 0..w {
            if rng.below(6) == 0 {
                v = near(rng);
            }
            img[r * stride + c] = match fill {
                Fill::Runs => v,
                Fill::Noise => near(rng),
                Fill::Dither => (lo + rng.below(3)).min(1024) as u16,
                Fill::Wild => rng.below(1025) as u16,
                Fill::Zero => 0,
                Fill::Max => 1024,
                Fill::Flat => flat,
            };
            mask[r * stride + c] = match mask_style {
                0 => 1,
                1 => 0,
                _ => (rng.below(5) != 0) as u8,
            };
        }
    }
    (img, mask, stride)
}
