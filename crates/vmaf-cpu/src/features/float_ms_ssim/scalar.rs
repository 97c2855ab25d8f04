//! The data of MS-SSIM: the low-pass kernel that builds the pyramid and
//! the per-scale exponents. The arithmetic lives in `float_ssim`'s
//! `scalar.rs` (decimation, SSIM map) and `x86.rs`.

use crate::features::float_ssim::scalar::Decimator;

/// Number of scales.
pub const SCALES: usize = 5;

/// Side of the low-pass kernel.
const LPF: usize = 9;

/// The 2-D low-pass kernel of the 9/7 biorthogonal wavelet, with the taps
/// as libvmaf writes them (each rounded to 6 decimals on its own, so it is
/// not exactly the outer product of the 1-D taps; libvmaf applies it as a
/// full 2-D kernel, and so does this).
#[rustfmt::skip]
const LPF_2D: [[f32; LPF]; LPF] = [
    [ 0.000714, -0.000450, -0.002090,  0.007132,  0.016114,  0.007132, -0.002090, -0.000450,  0.000714],
    [-0.000450,  0.000283,  0.001316, -0.004490, -0.010146, -0.004490,  0.001316,  0.000283, -0.000450],
    [-0.002090,  0.001316,  0.006115, -0.020867, -0.047149, -0.020867,  0.006115,  0.001316, -0.002090],
    [ 0.007132, -0.004490, -0.020867,  0.071207,  0.160885,  0.071207, -0.020867, -0.004490,  0.007132],
    [ 0.016114, -0.010146, -0.047149,  0.160885,  0.363505,  0.160885, -0.047149, -0.010146,  0.016114],
    [ 0.007132, -0.004490, -0.020867,  0.071207,  0.160885,  0.071207, -0.020867, -0.004490,  0.007132],
    [-0.002090,  0.001316,  0.006115, -0.020867, -0.047149, -0.020867,  0.006115,  0.001316, -0.002090],
    [-0.000450,  0.000283,  0.001316, -0.004490, -0.010146, -0.004490,  0.001316,  0.000283, -0.000450],
    [ 0.000714, -0.000450, -0.002090,  0.007132,  0.016114,  0.007132, -0.002090, -0.000450,  0.000714],
];

/// Exponents (α for luminance, β for contrast, γ for structure) of each
/// scale, finest first, in `f32` as libvmaf stores them: luminance counts
/// at the coarsest scale only.
pub const WEIGHTS: [[f32; 3]; SCALES] = [
    [0.0, 0.0448, 0.0448],
    [0.0, 0.2856, 0.2856],
    [0.0, 0.3001, 0.3001],
    [0.0, 0.2363, 0.2363],
    [0.1333, 0.1333, 0.1333],
];

/// The plan that halves a `w`×`h` picture to the next scale.
pub fn halving(w: usize, h: usize) -> Result<Decimator, String> {
    Decimator::new(w, h, 2, LPF_2D.iter().flatten().copied().collect(), LPF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::float_ssim::scalar::{reflect, Scalar};

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn kernel_is_symmetric_and_nearly_normalised() {
        let mut sum = 0.0f64;
        for v in 0..LPF {
            for u in 0..LPF {
                assert_eq!(LPF_2D[v][u], LPF_2D[u][v]);
                assert_eq!(LPF_2D[v][u], LPF_2D[LPF - 1 - v][u]);
                sum += LPF_2D[v][u] as f64;
            }
        }
        assert!((sum - 1.0).abs() < 1e-3, "{sum}");
        let (a, b, g) = WEIGHTS
            .iter()
            .fold((0.0, 0.0, 0.0), |s, w| (s.0 + w[0], s.1 + w[1], s.2 + w[2]));
        assert!((a - 0.1333f32).abs() < 1e-6 && (b - 1.0).abs() < 1e-3 && (g - 1.0).abs() < 1e-3);
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn halving_matches_the_direct_definition() {
        for (w, h) in [(11usize, 11usize), (12, 13), (31, 20), (40, 41)] {
            let img: Vec<f32> = (0..w * h)
                .map(|i| ((i * 2654435761) % 1021) as f32 / 4.0)
                .collect();
            let mut d = halving(w, h).unwrap();
            let mut out = vec![0.0f32; d.out_w * d.out_h];
            d.run(&Scalar, &img, &mut out);
            assert_eq!((d.out_w, d.out_h), (w / 2 + (w & 1), h / 2 + (h & 1)));
            for y in 0..d.out_h {
                for x in 0..d.out_w {
                    let mut s = 0.0f64;
                    for v in 0..LPF {
                        for u in 0..LPF {
                            let yy = reflect((2 * y + v) as isize - 4, h).unwrap();
                            let xx = reflect((2 * x + u) as isize - 4, w).unwrap();
                            s += (img[yy * w + xx] * LPF_2D[v][u]) as f64;
                        }
                    }
                    assert_eq!(out[y * d.out_w + x], s as f32, "{w}x{h} at {x},{y}");
                }
            }
        }
    }
}
