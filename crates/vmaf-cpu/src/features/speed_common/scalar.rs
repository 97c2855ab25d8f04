//! The readable reference for SpEED's hot loops: the row filter, the sample
//! conversion, the 25x25 block covariance, and the two matrix kernels of
//! the QR solve. `x86.rs` has SIMD versions of each that must give the same
//! bits; its tests compare them against these.
//!
//! Every floating-point sum here runs in the order libvmaf's scalar code
//! uses (tap order from 0, samples in raster order, inner index ascending),
//! and every product is rounded before it is added (no fused
//! multiply-add). The loops are only arranged so that the independent sums
//! sit next to each other: that is what lets the SIMD versions put one sum
//! per lane and keep each lane's arithmetic exactly the scalar one.
//!
//! The small, branchy generic functions are `#[inline(always)]` so that
//! `x86.rs` can also compile them under AVX2 (auto-vectorised, same IEEE
//! operations per element).

use super::{BLOCK, N};

/// `out[x] = taps[0] * src[rows[0]][x] + taps[1] * src[rows[1]][x] + ...`
/// for `x < w`, summed from 0 in tap order; row `r` of `src` starts at
/// `r * w`.
#[inline(always)]
pub(super) fn vertical(taps: &[f32], src: &[f32], rows: &[u32], w: usize, out: &mut [f32]) {
    let out = &mut out[..w];
    out.fill(0.0);
    for (&c, &r) in taps.iter().zip(rows) {
        let r = r as usize;
        for (o, &v) in out.iter_mut().zip(&src[r * w..r * w + w]) {
            *o += c * v;
        }
    }
}

/// 8-bit samples as floats offset by -128 (libvmaf's `picture_copy`).
#[inline(always)]
pub(super) fn load_u8(src: &[u8], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = v as f32 + -128.0;
    }
}

/// High bit depth samples divided to the 8-bit range (`scaler` is a power
/// of two, so the division is exact), then offset by -128.
#[inline(always)]
pub(super) fn load_u16(src: &[u16], scaler: f32, out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = v as f32 / scaler + -128.0;
    }
}

/// The float difference of two rows of 8-bit samples, each converted as
/// [`load_u8`] does.
#[inline(always)]
pub(super) fn difference_u8(a: &[u8], b: &[u8], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = (x as f32 + -128.0) - (y as f32 + -128.0);
    }
}

/// The float difference of two rows of wider samples, each converted as
/// [`load_u16`] does.
#[inline(always)]
pub(super) fn difference_u16(a: &[u16], b: &[u16], scaler: f32, out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = (x as f32 / scaler + -128.0) - (y as f32 / scaler + -128.0);
    }
}

/// `a -= b`, element by element.
#[inline(always)]
pub(super) fn subtract(a: &mut [f32], b: &[f32]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x -= y;
    }
}

/// Offset of block sample `i` (raster order in the 5x5 block) from the
/// block's top-left sample, in a plane of row stride `stride`.
#[inline(always)]
pub(super) fn sample_offset(i: usize, stride: usize) -> usize {
    (i / BLOCK) * stride + i % BLOCK
}

/// The block covariance of a plane: for each of the `N` positions `i` in a
/// 5x5 block, the window of `sub_w x sub_h` samples starting at that
/// position; `means[i]` is the float mean of window `i` and `cov[x][y]`
/// the double-accumulated covariance of windows `x` and `y`, rounded to
/// float.
///
/// libvmaf sums each mean, and each covariance entry, over the window in
/// raster order, one entry after the other. Here the window is walked once
/// with all the sums advancing together; each sum still sees its terms in
/// raster order, so every value is the same.
///
/// `data` must hold the plane from (0, 0) to
/// `(sub_h + 3, sub_w + 3)` with row stride `stride`.
pub(super) fn covariance(data: &[f32], stride: usize, sub_w: usize, sub_h: usize, means: &mut [f32], cov: &mut [f32]) {
    let count = sub_w * sub_h;
    let off: [usize; N] = std::array::from_fn(|i| sample_offset(i, stride));
    let mut sums = [0f32; N];
    for row in 0..sub_h {
        for col in 0..sub_w {
            let base = row * stride + col;
            for (s, &o) in sums.iter_mut().zip(&off) {
                *s += data[base + o];
            }
        }
    }
    for (m, s) in means.iter_mut().zip(sums) {
        *m = s / count as f32;
    }
    let mean: [f64; N] = std::array::from_fn(|i| means[i] as f64);
    // The lower triangle, row by row: (0,0), (1,0), (1,1), (2,0), ...
    let mut acc = [0f64; N * (N + 1) / 2];
    let mut c = [0f64; N];
    for row in 0..sub_h {
        for col in 0..sub_w {
            let base = row * stride + col;
            for i in 0..N {
                c[i] = data[base + off[i]] as f64 - mean[i];
            }
            let mut t = 0;
            for x in 0..N {
                for y in 0..=x {
                    acc[t] += c[x] * c[y];
                    t += 1;
                }
            }
        }
    }
    let mut t = 0;
    for x in 0..N {
        for y in 0..=x {
            let v = (acc[t] / count as f64) as f32;
            cov[x * N + y] = v;
            cov[y * N + x] = v;
            t += 1;
        }
    }
}

/// `dst = x * y` for row-major `x` (`rows x inner`) and `y`
/// (`inner x cols`): each entry summed from 0 in ascending inner index.
pub(super) fn mat_mul(dst: &mut [f32], x: &[f32], y: &[f32], rows: usize, inner: usize, cols: usize) {
    for i in 0..rows {
        let out = &mut dst[i * cols..(i + 1) * cols];
        out.fill(0.0);
        for k in 0..inner {
            let xik = x[i * inner + k];
            for (o, &v) in out.iter_mut().zip(&y[k * cols..(k + 1) * cols]) {
                *o += xik * v;
            }
        }
    }
}

/// Solves the upper triangular `r X = rect` (`N x N` and `N x cols`) into
/// `sol` by back substitution: `X[i][j]` is `rect[i][j]` minus
/// `X[k][j] r[i][k]` for `k = i+1, i+2, ...` in that order, divided by
/// `r[i][i]`. False, leaving `sol` partly written, at the first (from the
/// bottom) diagonal entry below 1e-6 in magnitude.
#[inline(always)]
pub(super) fn back_substitute(r: &[f32], rect: &[f32], sol: &mut [f32], cols: usize) -> bool {
    for i in (0..N).rev() {
        let den = r[i * N + i];
        if (den.abs() as f64) < super::EIG_EPS {
            return false;
        }
        let (head, below) = sol.split_at_mut((i + 1) * cols);
        let out = &mut head[i * cols..];
        out.copy_from_slice(&rect[i * cols..(i + 1) * cols]);
        for k in i + 1..N {
            let rik = r[i * N + k];
            let xk = &below[(k - i - 1) * cols..(k - i) * cols];
            for (o, &v) in out.iter_mut().zip(xk) {
                *o -= v * rik;
            }
        }
        for o in out.iter_mut() {
            *o /= den;
        }
    }
    true
}
