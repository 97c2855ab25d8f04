//! Reference kernels for float motion, in libvmaf's single-precision order.
//!
//! Planes live in flat `f32` buffers with an explicit stride, as libvmaf
//! keeps them: every plane of an instance shares the luma stride, and the
//! optional half-scale pass reads chroma with a stride derived from the
//! chroma width (see `mod.rs`), which only a flat layout can reproduce.
//!
//! * conversion: 8-bit samples become `x - 128`; deeper ones `x / 2^(bpc-8)
//!   - 128` (exact in `f32`);
//! * blur: separable, down the columns then along the rows, each output a
//!   sum `0 + t0·x0 + t1·x1 + ...` in that order, mirrored borders;
//! * SAD: `|a - b|` summed along each row, row sums added in row order,
//!   divided by the pixel count, all in `f32`. The order is kept exactly:
//!   a different order moves the score by up to ~1e-5 on large frames.

use vmaf_core::{Pixel, Plane};

use crate::features::integer_motion::reflect;

// The taps are written as libvmaf writes them; both parse to the same f32.
/// libvmaf's 5-tap Gaussian for motion.
#[allow(clippy::excessive_precision)]
pub const FILTER_5: [f32; 5] = [
    0.054488685,
    0.244201342,
    0.402619947,
    0.244201342,
    0.054488685,
];
/// The 3-tap variant (`motion_filter_size=3`).
#[allow(clippy::excessive_precision)]
pub const FILTER_3: [f32; 3] = [0.166378498, 0.667243004, 0.166378498];
/// `motion_filter_size=1`: a 5-tap identity, still run through the blur.
pub const FILTER_IDENTITY: [f32; 5] = [0.0, 0.0, 1.0, 0.0, 0.0];

/// Border samples kept on each side of the intermediate row (the largest
/// filter radius).
pub const PAD: usize = 2;

/// Converts a plane to `f32` with libvmaf's offset and scale.
pub fn convert<T: Pixel>(src: &Plane<T>, bpc: u32, dst: &mut [f32], stride: usize) {
    // Dividing by a power of two is exact, so multiplying by its inverse is
    // the same operation.
    let inv = 1.0 / (1u32 << (bpc - 8)) as f32;
    for (y, row) in src.rows().enumerate() {
        let out = &mut dst[y * stride..y * stride + row.len()];
        for (o, &s) in out.iter_mut().zip(row) {
            let v: u32 = s.into();
            *o = if bpc == 8 {
                v as f32 - 128.0
            } else {
                v as f32 * inv - 128.0
            };
        }
    }
}

/// Row kernels of one instruction-set level.
pub trait Kernels {
    /// `out[j] = Σ taps[k] · rows[k][j]` for every column.
    fn vertical(&self, taps: &[f32], rows: &[&[f32]], out: &mut [f32]);
    /// Filters a padded row (`PAD` border samples each side) into `out`.
    fn horizontal(&self, taps: &[f32], row: &[f32], out: &mut [f32]);
    /// libvmaf's `vmaf_image_sad_c` without the half-scale term.
    fn sad(&self, a: &[f32], b: &[f32], w: usize, h: usize, stride: usize) -> f32;
}

/// The portable kernels.
pub struct Scalar;

impl Kernels for Scalar {
    fn vertical(&self, taps: &[f32], rows: &[&[f32]], out: &mut [f32]) {
        vertical(taps, rows, out)
    }
    fn horizontal(&self, taps: &[f32], row: &[f32], out: &mut [f32]) {
        horizontal(taps, row, out)
    }
    fn sad(&self, a: &[f32], b: &[f32], w: usize, h: usize, stride: usize) -> f32 {
        sad(a, b, w, h, stride, stride)
    }
}

pub fn vertical(taps: &[f32], rows: &[&[f32]], out: &mut [f32]) {
    for (j, o) in out.iter_mut().enumerate() {
        let mut acc = 0.0f32;
        for (t, r) in taps.iter().zip(rows) {
            acc += t * r[j];
        }
        *o = acc;
    }
}

pub fn horizontal(taps: &[f32], row: &[f32], out: &mut [f32]) {
    horizontal_from(taps, row, out, 0)
}

/// [`horizontal`] for output columns `from..` only.
pub fn horizontal_from(taps: &[f32], row: &[f32], out: &mut [f32], from: usize) {
    let first = PAD - taps.len() / 2;
    for j in from..out.len() {
        let mut acc = 0.0f32;
        for (k, t) in taps.iter().enumerate() {
            acc += t * row[first + j + k];
        }
        out[j] = acc;
    }
}

/// Blurs a `w`×`h` plane (`stride` apart) from `src` into `dst`. `row` is
/// scratch of at least `w + 2 * PAD` values.
#[allow(clippy::too_many_arguments)]
pub fn blur<K: Kernels + ?Sized>(
    k: &K,
    taps: &[f32],
    src: &[f32],
    dst: &mut [f32],
    row: &mut [f32],
    w: usize,
    h: usize,
    stride: usize,
) {
    let r = taps.len() / 2;
    let row = &mut row[..w + 2 * PAD];
    let mut rows: [&[f32]; 5] = [&[]; 5];
    for i in 0..h {
        for (t, slot) in rows.iter_mut().enumerate().take(taps.len()) {
            let y = reflect(i as isize + t as isize - r as isize, h);
            *slot = &src[y * stride..y * stride + w];
        }
        k.vertical(taps, &rows[..taps.len()], &mut row[PAD..PAD + w]);
        for d in 1..=PAD {
            row[PAD - d] = row[PAD + reflect(-(d as isize), w)];
            row[PAD + w - 1 + d] = row[PAD + reflect((w - 1 + d) as isize, w)];
        }
        k.horizontal(taps, row, &mut dst[i * stride..i * stride + w]);
    }
}

/// Sum of one row of `|a - b|`, in order.
pub fn row_sad(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        acc += (x - y).abs();
    }
    acc
}

/// Mean absolute difference of two planes, accumulated as libvmaf does.
pub fn sad(a: &[f32], b: &[f32], w: usize, h: usize, stride_a: usize, stride_b: usize) -> f32 {
    let mut total = 0.0f32;
    for i in 0..h {
        total += row_sad(
            &a[i * stride_a..i * stride_a + w],
            &b[i * stride_b..i * stride_b + w],
        );
    }
    total / (w * h) as f32
}

/// libvmaf's float mirror for the bilinear scaler (`-i` below 0, `2r - i`
/// above `r`).
fn mirror_f(i: f32, right: f32) -> f32 {
    if i < 0.0 {
        -i
    } else if i > right {
        2.0 * right - i
    } else {
        i
    }
}

/// Size of the half-scale plane of a `w`×`h` plane.
pub fn half_size(w: usize, h: usize) -> (usize, usize) {
    (
        (w as f64 * 0.5 + 0.5) as usize,
        (h as f64 * 0.5 + 0.5) as usize,
    )
}

/// libvmaf's bilinear rescale of a flat `src` (`src_stride` apart) to
/// `dw`×`dh` (`dst_stride` apart). Equal sizes copy `dst_stride * dh`
/// values flat, as libvmaf's `memcpy` does.
#[allow(clippy::too_many_arguments)]
pub fn scale_bilinear(
    src: &[f32],
    sw: usize,
    sh: usize,
    src_stride: usize,
    dst: &mut [f32],
    dw: usize,
    dh: usize,
    dst_stride: usize,
) {
    if sw == dw && sh == dh {
        let n = dst_stride * dh;
        dst[..n].copy_from_slice(&src[..n]);
        return;
    }
    let rx = sw as f32 / dw as f32;
    let ry = sh as f32 / dh as f32;
    let (right, bottom) = ((sw - 1) as f32, (sh - 1) as f32);
    for y in 0..dh {
        // libvmaf forms the coordinate in double and stores it as float.
        let yy = ((y as f64 + 0.5) * ry as f64 - 0.5) as f32;
        let y1 = mirror_f(yy.floor(), bottom) as i32;
        let y2 = mirror_f(yy.ceil(), bottom) as i32;
        let dy = yy - y1 as f32;
        let (r1, r2) = (y1 as usize * src_stride, y2 as usize * src_stride);
        for x in 0..dw {
            let xx = ((x as f64 + 0.5) * rx as f64 - 0.5) as f32;
            let x1 = mirror_f(xx.floor(), right) as i32;
            let x2 = mirror_f(xx.ceil(), right) as i32;
            let dx = xx - x1 as f32;
            let (x1, x2) = (x1 as usize, x2 as usize);
            dst[y * dst_stride + x] = (1.0 - dy) * (1.0 - dx) * src[r1 + x1]
                + (1.0 - dy) * dx * src[r1 + x2]
                + dy * (1.0 - dx) * src[r2 + x1]
                + dy * dx * src[r2 + x2];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_of_constant_is_nearly_constant_and_identity_is_exact() {
        let (w, h, stride) = (9, 7, 16);
        let src: Vec<f32> = (0..stride * h)
            .map(|i| ((i * 37) % 255) as f32 - 128.0)
            .collect();
        let mut dst = vec![0.0; stride * h];
        let mut row = vec![0.0; w + 2 * PAD];
        blur(
            &Scalar,
            &FILTER_IDENTITY,
            &src,
            &mut dst,
            &mut row,
            w,
            h,
            stride,
        );
        for y in 0..h {
            assert_eq!(
                &dst[y * stride..y * stride + w],
                &src[y * stride..y * stride + w]
            );
        }
        let flat = vec![10.0f32; stride * h];
        blur(&Scalar, &FILTER_5, &flat, &mut dst, &mut row, w, h, stride);
        for y in 0..h {
            for v in &dst[y * stride..y * stride + w] {
                assert!((v - 10.0).abs() < 1e-5, "{v}");
            }
        }
    }

    #[test]
    fn blur_matches_direct_definition() {
        let (w, h, stride) = (11, 6, 16);
        let src: Vec<f32> = (0..stride * h)
            .map(|i| ((i * 53) % 251) as f32 * 0.75 - 100.0)
            .collect();
        for taps in [&FILTER_5[..], &FILTER_3[..]] {
            let r = taps.len() as isize / 2;
            let mut dst = vec![0.0; stride * h];
            let mut row = vec![0.0; w + 2 * PAD];
            blur(&Scalar, taps, &src, &mut dst, &mut row, w, h, stride);
            let mut tmp = vec![0.0f32; w * h];
            for i in 0..h {
                for j in 0..w {
                    let mut a = 0.0f32;
                    for (k, t) in taps.iter().enumerate() {
                        a += t * src[reflect(i as isize - r + k as isize, h) * stride + j];
                    }
                    tmp[i * w + j] = a;
                }
            }
            for i in 0..h {
                for j in 0..w {
                    let mut a = 0.0f32;
                    for (k, t) in taps.iter().enumerate() {
                        a += t * tmp[i * w + reflect(j as isize - r + k as isize, w)];
                    }
                    assert_eq!(dst[i * stride + j], a);
                }
            }
        }
    }

    #[test]
    fn sad_and_conversion() {
        let p = Plane::from_vec(vec![0u16, 1023, 512, 4], 2, 2, 2).unwrap();
        let mut f = vec![0.0; 4];
        convert(&p, 10, &mut f, 2);
        assert_eq!(f, vec![-128.0, 127.75, 0.0, -127.0]);
        let z = vec![0.0; 4];
        assert_eq!(
            sad(&f, &z, 2, 2, 2, 2),
            (128.0 + 127.75 + 0.0 + 127.0) / 4.0
        );
    }

    #[test]
    fn half_scale_of_constant_is_constant() {
        for (w, h) in [(9usize, 7usize), (2, 2), (1, 1), (5, 1)] {
            let stride = w.div_ceil(8) * 8;
            let src = vec![3.5f32; stride * h];
            let (dw, dh) = half_size(w, h);
            let ds = dw.div_ceil(8) * 8;
            let mut dst = vec![0.0; ds * dh];
            scale_bilinear(&src, w, h, stride, &mut dst, dw, dh, ds);
            for y in 0..dh {
                for x in 0..dw {
                    assert!((dst[y * ds + x] - 3.5).abs() < 1e-6);
                }
            }
        }
    }
}
