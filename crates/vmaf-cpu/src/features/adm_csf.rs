//! Contrast sensitivity functions shared by both ADM extractors, computed
//! in the same mix of `float` and `double` steps as libvmaf (a `float`
//! result of a `double` expression rounds once at the end), because the
//! integer ADM turns them into fixed-point factors where one rounding done
//! differently moves every score.

use std::f64::consts::PI;

/// C initialises these `float` tables from `double` literals: parsed to
/// double, then rounded to float. An `f32` literal rounds once from decimal
/// and can land on the other neighbour, so every table goes through this.
const fn f32s<const N: usize>(x: [f64; N]) -> [f32; N] {
    let mut out = [0f32; N];
    let mut i = 0;
    while i < N {
        out[i] = x[i] as f32;
        i += 1;
    }
    out
}

const fn f32_2<const N: usize, const M: usize>(x: [[f64; N]; M]) -> [[f32; N]; M] {
    let mut out = [[0f32; N]; M];
    let mut i = 0;
    while i < M {
        out[i] = f32s(x[i]);
        i += 1;
    }
    out
}

/// Luma noise-floor model of Watson et al. (1997), Table IV, subject "sfl":
/// `a`, `k`, `f0` and the per-orientation gains `g`.
const WATSON_A: f32 = 0.495f64 as f32;
const WATSON_K: f32 = 0.466f64 as f32;
const WATSON_F0: f32 = 0.401f64 as f32;
const WATSON_G: [f32; 4] = f32s([1.501, 1.0, 0.534, 1.0]);

/// Basis-function amplitudes of the 7-9 biorthogonal wavelet, by level and
/// orientation (Watson et al. 1997, Table V, transposed).
const BASIS_AMPLITUDES: [[f32; 4]; 6] = f32_2([
    [0.62171, 0.67234, 0.72709, 0.67234],
    [0.34537, 0.41317, 0.49428, 0.41317],
    [0.18004, 0.22727, 0.28688, 0.22727],
    [0.091401, 0.11792, 0.15214, 0.11792],
    [0.045943, 0.059758, 0.077727, 0.059758],
    [0.023013, 0.030018, 0.039156, 0.030018],
]);

/// Luminance anchors (cd/m2) of the Barten CSF fit used by HDR-VDP-2.2.1,
/// and the fitted parameters at each anchor.
const BARTEN_ANCHORS: [f32; 6] = f32s([0.002, 0.02, 0.2, 2.0, 20.0, 150.0]);
const BARTEN_PARAMS: [[f32; 5]; 6] = f32_2([
    [0.0160737, 0.991265, 3.74038, 0.50722, 4.46044],
    [0.383873, 0.800889, 3.54104, 0.682505, 4.94958],
    [0.929301, 0.476505, 4.37453, 0.750315, 5.28678],
    [1.29776, 0.405782, 4.40602, 0.935314, 5.61425],
    [1.49222, 0.334278, 3.79542, 1.07327, 6.4635],
    [1.46213, 0.394533, 2.7755, 1.16577, 7.45665],
]);
const BARTEN_SA: [f32; 4] = f32s([30.162, 4.0627, 1.6596, 0.2712]);
const BARTEN_MTF_A: [f32; 4] = f32s([0.424838596301290, 0.572435103936480, 0.000167576239164937, 0.00255872352306433]);
const BARTEN_MTF_B: [f32; 4] = f32s([0.028, 0.37, 37.0, 360.0]);

/// Pre-computed Barten/Watson blends, `[orientation][scale]` with
/// orientation 0 = horizontal/vertical, 1 = diagonal. Keyed by (display
/// height, viewing distance). `MAE` tables are the later L1-optimised fit.
type Blend = [[f32; 4]; 2];
const BLEND_1080_3H: Blend = f32_2([[0.01183, 0.025026, 0.04295, 0.058621], [0.004302, 0.011778, 0.023918, 0.035901]]);
const BLEND_1080_5H: Blend = f32_2([[0.004212, 0.014809, 0.029642, 0.047464], [0.000984, 0.005852, 0.0146, 0.027574]]);
const BLEND_2160_3H: Blend = f32_2([[0.00226, 0.01183, 0.025026, 0.04295], [0.000479, 0.004302, 0.011778, 0.023918]]);
const BLEND_2160_5H: Blend = f32_2([[0.000092, 0.004212, 0.014809, 0.029642], [0.000050, 0.000984, 0.005852, 0.0146]]);
const BLEND_720_3H: Blend = f32_2([[0.018715, 0.035637, 0.052798, 0.061509], [0.007999, 0.018396, 0.031851, 0.037718]]);
const BLEND_720_5H: Blend = f32_2([[0.010144, 0.022561, 0.040309, 0.05672], [0.003463, 0.010282, 0.021839, 0.034641]]);
const BLEND_480_3H: Blend = f32_2([[0.027961, 0.045875, 0.060275, 0.056234], [0.013572, 0.026277, 0.036959, 0.034511]]);
const BLEND_480_5H: Blend = f32_2([[0.016781, 0.032822, 0.05032, 0.061594], [0.00691, 0.016545, 0.029917, 0.037777]]);
const MAE_1080_3H: Blend = f32_2([[0.011249, 0.022606, 0.035930, 0.045673], [0.004097, 0.010921, 0.021430, 0.031313]]);
const MAE_1080_5H: Blend = f32_2([[0.004052, 0.013939, 0.026298, 0.038833], [0.000927, 0.005544, 0.013415, 0.024515]]);
const MAE_2160_3H: Blend = f32_2([[0.002166, 0.011249, 0.022606, 0.035930], [0.000447, 0.004097, 0.010921, 0.021430]]);
const MAE_2160_5H: Blend = f32_2([[0.000077, 0.004052, 0.013939, 0.026298], [0.000045, 0.000927, 0.005544, 0.013415]]);
const MAE_720_3H: Blend = f32_2([[0.017329, 0.030870, 0.042134, 0.047410], [0.007509, 0.016707, 0.028072, 0.032722]]);
const MAE_720_5H: Blend = f32_2([[0.009689, 0.020577, 0.034162, 0.044523], [0.003302, 0.009579, 0.019661, 0.030318]]);
const MAE_480_3H: Blend = f32_2([[0.024969, 0.037825, 0.046676, 0.043974], [0.012511, 0.023424, 0.032139, 0.030166]]);
const MAE_480_5H: Blend = f32_2([[0.015665, 0.028766, 0.040612, 0.047483], [0.006514, 0.015107, 0.026476, 0.032776]]);

/// Luminance (cd/m2) the Barten CSF is evaluated at.
pub const CSF_LUMINANCE: f64 = 100.0;


/// Display visual resolution in pixels per degree (about 56.55 for 1080
/// lines at three heights), rounded to `float` as libvmaf keeps it.
fn pixels_per_degree(norm_view_dist: f64, display_height: i32) -> f32 {
    (norm_view_dist * display_height as f64 * PI / 180.0) as f32
}

/// Quantisation step of the Watson noise-floor model at DWT `level` and
/// orientation `theta` (Watson et al. 1997, formula 9).
pub fn watson_quant_step(level: usize, theta: usize, norm_view_dist: f64, display_height: i32) -> f32 {
    let r = pixels_per_degree(norm_view_dist, display_height);
    let temp = (2f64.powf((level + 1) as f64) * WATSON_F0 as f64 * WATSON_G[theta] as f64 / r as f64).log10() as f32;
    // k * temp * temp is a float product; the rest is double.
    let q = 2.0 * WATSON_A as f64 * 10f64.powf((WATSON_K * temp * temp) as f64) / BASIS_AMPLITUDES[level][theta] as f64;
    q as f32
}

/// Barten's CSF as simplified in HDR-VDP-2 (Mantiuk et al. 2011), times
/// its optical MTF and rod/cone sensitivity at luminance `lum`, at the
/// nominal frequency of DWT `level`, scaled by `scale`.
pub fn barten(level: usize, norm_view_dist: f64, display_height: i32, lum: f64, scale: f64) -> f32 {
    let r = pixels_per_degree(norm_view_dist, display_height);
    let freq = (r as f64 / 2f64.powf((level + 1) as f64)) as f32;
    let lo = BARTEN_ANCHORS[0] as f64;
    let hi = BARTEN_ANCHORS[5] as f64;
    let clamped = if lum > hi {
        hi
    } else if lum < lo {
        lo
    } else {
        lum
    };
    let (mut left, mut right) = (0, 0);
    for i in 0..5 {
        if clamped >= BARTEN_ANCHORS[i] as f64 && clamped <= BARTEN_ANCHORS[i + 1] as f64 {
            left = i;
            right = i + 1;
            break;
        }
    }
    let left_pos = (BARTEN_ANCHORS[left] as f64).log10() as f32;
    let right_pos = (BARTEN_ANCHORS[right] as f64).log10() as f32;
    let sample_pos = clamped.log10() as f32;
    let lerp = |k: usize| {
        let (lv, rv) = (BARTEN_PARAMS[left][k], BARTEN_PARAMS[right][k]);
        lv + ((rv - lv) / (right_pos - left_pos)) * (sample_pos - left_pos)
    };
    let (p0, p1, p2, p3) = (lerp(1), lerp(2), lerp(3), lerp(4));
    let a = (1.0 + ((p0 * freq) as f64).powf(p1 as f64)) as f32;
    let b = (1.0 / (1.0 - (-((freq / 7.0) as f64).powf(2.0)).exp()).powf(p2 as f64)) as f32;
    let csf = (p3 as f64 / ((a * b) as f64).powf(0.5)) as f32;
    let mut mtf = 0.0f32;
    for i in 0..4 {
        mtf = (mtf as f64 + BARTEN_MTF_A[i] as f64 * ((-BARTEN_MTF_B[i] * freq) as f64).exp()) as f32;
    }
    let lum_f = lum as f32;
    let rod_cone = (BARTEN_SA[0] as f64
        * (((BARTEN_SA[1] / lum_f) as f64).powf(BARTEN_SA[2] as f64) + 1.0).powf(-BARTEN_SA[3] as f64))
        as f32;
    ((csf * mtf * rod_cone) as f64 * scale) as f32
}

/// A pre-computed Barten/Watson blend (`orientation` 0: horizontal and
/// vertical, 1: diagonal) for the supported viewing conditions; -EINVAL as
/// a float, which is what libvmaf then computes with, otherwise.
pub fn blend(level: usize, orientation: usize, norm_view_dist: f64, display_height: i32, mae: bool) -> f32 {
    let (h, d) = (display_height, norm_view_dist);
    let table = if h == 1080 && d == 3.0 {
        [BLEND_1080_3H, MAE_1080_3H]
    } else if h == 1080 && d == 5.0 {
        [BLEND_1080_5H, MAE_1080_5H]
    } else if h == 2160 && d == 1.5 {
        // 2160 lines at 1.5 heights has the pixel density of 1080 at 3.
        [BLEND_1080_3H, MAE_1080_3H]
    } else if h == 2160 && d == 3.0 {
        [BLEND_2160_3H, MAE_2160_3H]
    } else if h == 2160 && d == 5.0 {
        [BLEND_2160_5H, MAE_2160_5H]
    } else if h == 720 && d == 3.0 {
        [BLEND_720_3H, MAE_720_3H]
    } else if h == 720 && d == 5.0 {
        [BLEND_720_5H, MAE_720_5H]
    } else if h == 480 && d == 3.0 {
        [BLEND_480_3H, MAE_480_3H]
    } else if h == 480 && d == 5.0 {
        [BLEND_480_5H, MAE_480_5H]
    } else {
        return -22.0;
    };
    table[mae as usize][orientation][level]
}

/// The CSF of the DLM paper (Li et al. 2011) at DWT `level`; diagonal
/// orientations see their frequency raised by 1/0.7 (the oblique effect).
pub fn native(level: usize, norm_view_dist: f64, display_height: i32, diagonal: bool) -> f32 {
    let r = pixels_per_degree(norm_view_dist, display_height);
    let mut freq = (r as f64 / 2f64.powf((level + 1) as f64)) as f32;
    if diagonal {
        freq = (freq as f64 / 0.7) as f32;
    }
    ((0.31 + 0.69 * freq as f64) * (-0.29 * freq as f64).exp()) as f32
}

/// The cosine of one degree, squared, as the `float` the decoupling test
/// compares against.
pub fn cos_1deg_sq() -> f32 {
    let c = (1.0 * PI / 180.0).cos();
    (c * c) as f32
}

