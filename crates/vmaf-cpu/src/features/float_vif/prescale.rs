//! `vif_prescale`: libvmaf's resampling of the picture before float VIF,
//! with its four interpolation methods and their float arithmetic.
//! Positions outside the picture mirror back in; where libvmaf would still
//! read outside (pictures smaller than the kernel), we clamp.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Nearest,
    Bilinear,
    Bicubic,
    Lanczos4,
}

impl Method {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "nearest" => Method::Nearest,
            "bilinear" => Method::Bilinear,
            "bicubic" => Method::Bicubic,
            "lanczos4" => Method::Lanczos4,
            _ => return None,
        })
    }
}

/// libvmaf's mirror of a coordinate into `[left, right]`, in float.
fn mirror(i: f32, left: f32, right: f32) -> f32 {
    if i < left {
        -i
    } else if i > right {
        2.0 * right - i
    } else {
        i
    }
}

/// A mirrored index, clamped into the picture.
fn index(i: f32, n: usize) -> usize {
    (mirror(i, 0.0, (n - 1) as f32) as i32).clamp(0, n as i32 - 1) as usize
}

fn bicubic_kernel(t: f32) -> f32 {
    let a = -0.75f32;
    let t = if t < 0.0 { -t } else { t };
    if t < 1.0 {
        return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    }
    if t < 2.0 {
        return (((t - 5.0) * t + 8.0) * t - 4.0) * a;
    }
    0.0
}

fn lanczos4_kernel(x: f32, a: f32) -> f32 {
    use std::f64::consts::PI;
    if x == 0.0 {
        return 1.0;
    }
    if x > -a && x < a {
        let (x, a) = (x as f64, a as f64);
        return (a * (PI * x).sin() * (PI * x / a).sin() / (PI * PI * x * x)) as f32;
    }
    0.0
}

/// Resamples `src` (`sw` x `sh`, stride `sw`) into `dst` (`dw` x `dh`).
pub(crate) fn scale(m: Method, src: &[f32], sw: usize, sh: usize, dst: &mut [f32], dw: usize, dh: usize) {
    let rx = sw as f32 / dw as f32;
    let ry = sh as f32 / dh as f32;
    let at = |x: usize, y: usize| src[y * sw + x];
    for y in 0..dh {
        // Centre-aligned source position, computed in double and stored in
        // float as libvmaf does.
        let yy = ((y as f64 + 0.5) * ry as f64 - 0.5) as f32;
        for x in 0..dw {
            let xx = ((x as f64 + 0.5) * rx as f64 - 0.5) as f32;
            dst[y * dw + x] = match m {
                Method::Nearest => {
                    let (ny, nx) = ((y as f32 * ry) as usize, (x as f32 * rx) as usize);
                    at(nx.min(sw - 1), ny.min(sh - 1))
                }
                Method::Bilinear => {
                    let (x1, x2) = (index(xx.floor(), sw), index(xx.ceil(), sw));
                    let (y1, y2) = (index(yy.floor(), sh), index(yy.ceil(), sh));
                    let dx = xx - x1 as f32;
                    let dy = yy - y1 as f32;
                    (1.0 - dy) * (1.0 - dx) * at(x1, y1)
                        + (1.0 - dy) * dx * at(x2, y1)
                        + dy * (1.0 - dx) * at(x1, y2)
                        + dy * dx * at(x2, y2)
                }
                Method::Bicubic => {
                    let (x0, y0) = (xx.floor() as i32, yy.floor() as i32);
                    let (dx, dy) = (xx - x0 as f32, yy - y0 as f32);
                    let wx: [f32; 4] = std::array::from_fn(|i| bicubic_kernel((i as i32 - 1) as f32 - dx));
                    let wy: [f32; 4] = std::array::from_fn(|i| bicubic_kernel((i as i32 - 1) as f32 - dy));
                    let mut v = 0f32;
                    for (j, wyj) in wy.iter().enumerate() {
                        let yi = index((y0 + j as i32 - 1) as f32, sh);
                        for (i, wxi) in wx.iter().enumerate() {
                            let xi = index((x0 + i as i32 - 1) as f32, sw);
                            v += at(xi, yi) * (wxi * wyj);
                        }
                    }
                    v
                }
                Method::Lanczos4 => {
                    let a = 4i32;
                    let (x0, y0) = (xx.floor() as i32, yy.floor() as i32);
                    let (dx, dy) = (xx - x0 as f32, yy - y0 as f32);
                    let wx: [f32; 9] = std::array::from_fn(|i| lanczos4_kernel((i as i32 - a) as f32 - dx, a as f32));
                    let wy: [f32; 9] = std::array::from_fn(|i| lanczos4_kernel((i as i32 - a) as f32 - dy, a as f32));
                    let (mut v, mut wsum) = (0f32, 0f32);
                    for (j, wyj) in wy.iter().enumerate() {
                        let yi = index((y0 + j as i32 - a) as f32, sh);
                        for (i, wxi) in wx.iter().enumerate() {
                            let w = wxi * wyj;
                            wsum += w;
                            v += at(index((x0 + i as i32 - a) as f32, sw), yi) * w;
                        }
                    }
                    v / wsum
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_keeps_a_constant_picture() {
        let src = vec![7.5f32; 9 * 5];
        for m in [Method::Nearest, Method::Bilinear, Method::Bicubic, Method::Lanczos4] {
            let mut dst = vec![0f32; 14 * 8];
            scale(m, &src, 9, 5, &mut dst, 14, 8);
            for v in dst {
                assert!((v - 7.5).abs() < 1e-4, "{m:?}: {v}");
            }
        }
    }

    #[test]
    fn nearest_halving_takes_even_samples() {
        let src: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let mut dst = vec![0f32; 4];
        scale(Method::Nearest, &src, 4, 4, &mut dst, 2, 2);
        assert_eq!(dst, vec![0.0, 2.0, 8.0, 10.0]);
        assert_eq!(Method::parse("bicubic"), Some(Method::Bicubic));
        assert_eq!(Method::parse("cubic"), None);
    }
}
