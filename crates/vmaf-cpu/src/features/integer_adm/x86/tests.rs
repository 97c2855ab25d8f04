//! Every SIMD kernel against its scalar twin, on random and hostile rows of
//! every width from 1 to 65 and a few long ones.

use super::super::compute::{Kernels, SCALAR};
use super::super::params::{CsfMode, Level, Viewing};
use super::*;

use super::super::tests::Rng;

/// Value patterns: full range, small, zero, max, min, alternating extremes,
/// sparse extremes.
const PATTERNS: usize = 7;

fn gen_i64(rng: &mut Rng, pattern: usize, min: i64, max: i64, small: i64, j: usize) -> i64 {
    match pattern {
        0 => min + (rng.next() % ((max - min) as u64 + 1)) as i64,
        1 => (rng.below(2 * small as u64 + 1) as i64 - small).clamp(min, max),
        2 => 0.clamp(min, max),
        3 => max,
        4 => min,
        5 => {
            if j & 1 == 0 {
                max
            } else {
                min
            }
        }
        _ => match rng.below(8) {
            0 => max,
            1 => min,
            _ => (rng.below(2 * small as u64 + 1) as i64 - small).clamp(min, max),
        },
    }
}

fn row_i16(rng: &mut Rng, p: usize, n: usize) -> Vec<i16> {
    (0..n).map(|j| gen_i64(rng, p, i16::MIN as i64, i16::MAX as i64, 2000, j) as i16).collect()
}
fn row_i32(rng: &mut Rng, p: usize, n: usize) -> Vec<i32> {
    (0..n).map(|j| gen_i64(rng, p, i32::MIN as i64, i32::MAX as i64, 1 << 20, j) as i32).collect()
}

fn widths() -> impl Iterator<Item = usize> {
    (1..=65).chain([100, 255, 257, 960, 967])
}

/// Widths a horizontal DWT can take: libvmaf's mirrored taps need at least
/// five inputs (smaller pictures are refused at creation).
fn dwt_widths() -> impl Iterator<Item = usize> {
    widths().filter(|&n| n >= 5)
}

fn levels() -> Vec<Kernels> {
    // The tables are statics; copying the fn pointers lets tests hold them
    // by value next to the scalar one.
    let mut v = Vec::new();
    if let Some(k) = avx2() {
        v.push(Kernels { ..*k });
    }
    if let Some(k) = avx512() {
        v.push(Kernels { ..*k });
    }
    v
}

fn each_simd(mut f: impl FnMut(&Kernels, &str)) {
    let ks = levels();
    assert!(!ks.is_empty() || !is_x86_feature_detected!("avx2"), "AVX2 present but no kernels");
    for (i, k) in ks.iter().enumerate() {
        f(k, ["avx2", "avx512"][i]);
    }
}

#[test]
fn dwt0_vertical_matches_scalar() {
    each_simd(|k, name| {
        let mut rng = Rng::new(1);
        for n in widths() {
            for p in 0..PATTERNS {
                let rows8: Vec<Vec<u8>> =
                    (0..4).map(|_| (0..n).map(|j| gen_i64(&mut rng, p, 0, 255, 40, j) as u8).collect()).collect();
                let r8 = [&rows8[0][..], &rows8[1], &rows8[2], &rows8[3]];
                let (mut a, mut b) = (vec![0i16; n], vec![0i16; n]);
                let (mut c, mut d) = (vec![0i16; n], vec![0i16; n]);
                (SCALAR.dwt0_vertical_u8)(r8, 8, &mut a, &mut b);
                (k.dwt0_vertical_u8)(r8, 8, &mut c, &mut d);
                assert_eq!((&a, &b), (&c, &d), "{name} u8 n={n} pattern {p}");
                for bpc in [10u32, 12, 16] {
                    // Full u16 range even at 10 and 12 bits: files can hold
                    // out-of-range samples and libvmaf still computes.
                    let max = if p == 6 { 65535 } else { (1i64 << bpc) - 1 };
                    let rows: Vec<Vec<u16>> = (0..4)
                        .map(|_| (0..n).map(|j| gen_i64(&mut rng, p, 0, max, 300, j) as u16).collect())
                        .collect();
                    let r = [&rows[0][..], &rows[1], &rows[2], &rows[3]];
                    (SCALAR.dwt0_vertical_u16)(r, bpc, &mut a, &mut b);
                    (k.dwt0_vertical_u16)(r, bpc, &mut c, &mut d);
                    assert_eq!((&a, &b), (&c, &d), "{name} u16 bpc={bpc} n={n} pattern {p}");
                }
            }
        }
    });
}

#[test]
fn dwt0_horizontal_matches_scalar() {
    each_simd(|k, name| {
        let mut rng = Rng::new(2);
        for n in dwt_widths() {
            let w = n.div_ceil(2);
            for p in 0..PATTERNS {
                let (lo, hi) = (row_i16(&mut rng, p, n), row_i16(&mut rng, p, n));
                for range in [0..w, w.min(3)..w, 0..w / 2] {
                    let mut s = (vec![0i32; w], vec![0i16; w], vec![0i16; w], vec![0i16; w]);
                    let mut v = s.clone();
                    (SCALAR.dwt0_horizontal)(&lo, &hi, range.clone(), &mut s.0, &mut s.1, &mut s.2, &mut s.3);
                    (k.dwt0_horizontal)(&lo, &hi, range.clone(), &mut v.0, &mut v.1, &mut v.2, &mut v.3);
                    assert_eq!(s, v, "{name} n={n} pattern {p} range {range:?}");
                }
            }
        }
    });
}

/// Distorted coefficients near the reference (so the angle test and the
/// gain clamp go both ways), or independent.
fn distorted_i16(rng: &mut Rng, o: &[i16], p: usize) -> Vec<i16> {
    o.iter()
        .map(|&x| match (p + rng.below(3) as usize) % 4 {
            0 => x,
            1 => (x as i32 + rng.below(21) as i32 - 10).clamp(-32768, 32767) as i16,
            2 => ((x as i32 * (rng.below(300) as i32)) / 100).clamp(-32768, 32767) as i16,
            _ => rng.next() as i16,
        })
        .collect()
}

fn distorted_i32(rng: &mut Rng, o: &[i32], p: usize) -> Vec<i32> {
    o.iter()
        .map(|&x| match (p + rng.below(3) as usize) % 4 {
            0 => x,
            1 => (x as i64 + rng.below(2001) as i64 - 1000).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            2 => ((x as i64 * (rng.below(300) as i64)) / 100).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            _ => rng.next() as i32,
        })
        .collect()
}

const GAINS: [f64; 4] = [100.0, 1.0, 37.0, 1.5];

#[test]
fn decouple0_matches_scalar() {
    let cos = super::super::params::cos_1deg_sq();
    each_simd(|k, name| {
        let mut rng = Rng::new(3);
        for n in widths() {
            for p in 0..PATTERNS {
                let o: Vec<Vec<i16>> = (0..3).map(|_| row_i16(&mut rng, p, n)).collect();
                let t: Vec<Vec<i16>> = o.iter().map(|x| distorted_i16(&mut rng, x, p)).collect();
                let (o, t) = ([&o[0][..], &o[1], &o[2]], [&t[0][..], &t[1], &t[2]]);
                for egl in GAINS {
                    let mut s = vec![vec![0i16; n]; 6];
                    let mut v = vec![vec![0i16; n]; 6];
                    {
                        let [a, b, c, d, e, f] = &mut s[..] else { unreachable!() };
                        (SCALAR.decouple0)(o, t, egl, cos, [a, b, c], [d, e, f]);
                        let [a, b, c, d, e, f] = &mut v[..] else { unreachable!() };
                        (k.decouple0)(o, t, egl, cos, [a, b, c], [d, e, f]);
                    }
                    assert_eq!(s, v, "{name} n={n} pattern {p} egl {egl}");
                }
            }
        }
    });
}

#[test]
fn decouple_matches_scalar() {
    let cos = super::super::params::cos_1deg_sq();
    each_simd(|k, name| {
        let mut rng = Rng::new(4);
        for n in widths() {
            for p in 0..PATTERNS {
                let o: Vec<Vec<i32>> = (0..3).map(|_| row_i32(&mut rng, p, n)).collect();
                let t: Vec<Vec<i32>> = o.iter().map(|x| distorted_i32(&mut rng, x, p)).collect();
                let (o, t) = ([&o[0][..], &o[1], &o[2]], [&t[0][..], &t[1], &t[2]]);
                for egl in GAINS {
                    let mut s = vec![vec![0i32; n]; 6];
                    let mut v = vec![vec![0i32; n]; 6];
                    {
                        let [a, b, c, d, e, f] = &mut s[..] else { unreachable!() };
                        (SCALAR.decouple)(o, t, egl, cos, [a, b, c], [d, e, f]);
                        let [a, b, c, d, e, f] = &mut v[..] else { unreachable!() };
                        (k.decouple)(o, t, egl, cos, [a, b, c], [d, e, f]);
                    }
                    assert_eq!(s, v, "{name} n={n} pattern {p} egl {egl}");
                }
            }
        }
    });
}

#[test]
fn angle_test_rounds_like_c_at_the_edges() {
    // Products beyond 2^53, where converting through double alone would
    // round twice: the SIMD path must still agree with the scalar test.
    let cos = super::super::params::cos_1deg_sq();
    each_simd(|k, name| {
        let mut rng = Rng::new(5);
        for _ in 0..2000 {
            let n = 8;
            let base = [i32::MAX, i32::MIN, (1 << 27) + 1, -(1 << 29) - 3, 94906267, -94906265];
            let o: Vec<Vec<i32>> = (0..3)
                .map(|_| (0..n).map(|_| base[rng.below(6) as usize].wrapping_add(rng.below(64) as i32 - 32)).collect())
                .collect();
            let t: Vec<Vec<i32>> = o.iter().map(|x| distorted_i32(&mut rng, x, 1)).collect();
            let (o, t) = ([&o[0][..], &o[1], &o[2]], [&t[0][..], &t[1], &t[2]]);
            let mut s = vec![vec![0i32; n]; 6];
            let mut v = vec![vec![0i32; n]; 6];
            {
                let [a, b, c, d, e, f] = &mut s[..] else { unreachable!() };
                (SCALAR.decouple)(o, t, 100.0, cos, [a, b, c], [d, e, f]);
                let [a, b, c, d, e, f] = &mut v[..] else { unreachable!() };
                (k.decouple)(o, t, 100.0, cos, [a, b, c], [d, e, f]);
            }
            assert_eq!(s, v, "{name} {o:?} {t:?}");
        }
    });
}

fn rfactors16(rng: &mut Rng) -> Vec<[u16; 3]> {
    vec![[36453, 36453, 49417], [24809, 24809, 36088], [65535, 65535, 65535], [0, 1, 2], [
        rng.next() as u16,
        rng.next() as u16,
        rng.next() as u16,
    ]]
}

fn rfactors32(rng: &mut Rng) -> Vec<[u32; 3]> {
    let v = Viewing {
        norm_view_dist: 3.0,
        ref_display_height: 1080,
        mode: CsfMode::Watson97,
        csf_scale: 1.0,
        csf_diag_scale: 1.0,
    };
    vec![
        super::super::params::scale_rfactor(&v, 1),
        super::super::params::scale_rfactor(&v, 3),
        [u32::MAX, u32::MAX, u32::MAX],
        [1 << 31, (1 << 31) - 1, 0],
        [rng.next() as u32, rng.next() as u32, rng.next() as u32],
    ]
}

#[test]
fn csf_kernels_match_scalar() {
    each_simd(|k, name| {
        let mut rng = Rng::new(6);
        for n in widths() {
            for p in 0..PATTERNS {
                let x: Vec<Vec<i16>> = (0..3).map(|_| row_i16(&mut rng, p, n)).collect();
                let x = [&x[0][..], &x[1], &x[2]];
                for rf in rfactors16(&mut rng) {
                    let mut s = (vec![0i32; n], vec![0i32; n]);
                    let mut v = s.clone();
                    (SCALAR.csf0_fc)(x, rf, &mut s.0, &mut s.1);
                    (k.csf0_fc)(x, rf, &mut v.0, &mut v.1);
                    assert_eq!(s, v, "{name} csf0 n={n} pattern {p} rf {rf:?}");
                }
                let y: Vec<Vec<i32>> = (0..3).map(|_| row_i32(&mut rng, p, n)).collect();
                let y = [&y[0][..], &y[1], &y[2]];
                for rf in rfactors32(&mut rng) {
                    let mut s = (vec![0i32; n], vec![0i32; n]);
                    let mut v = s.clone();
                    (SCALAR.csf_fc)(y, rf, &mut s.0, &mut s.1);
                    (k.csf_fc)(y, rf, &mut v.0, &mut v.1);
                    assert_eq!(s, v, "{name} csf n={n} pattern {p} rf {rf:?}");
                }
            }
        }
    });
}

/// The shifts of real levels (several picture sizes), plus made-up extreme
/// ones.
fn level_shapes() -> Vec<Level> {
    let v = Viewing {
        norm_view_dist: 3.0,
        ref_display_height: 1080,
        mode: CsfMode::Watson97,
        csf_scale: 1.0,
        csf_diag_scale: 1.0,
    };
    let mut out = Vec::new();
    for (w, h) in [(33, 33), (576, 324), (1920, 1080), (32768, 32768)] {
        let (mut w, mut h) = (w, h);
        for l in 0..4 {
            let lvl = Level::new(l, w, h, &v);
            (w, h) = (lvl.w, lvl.h);
            out.push(lvl);
        }
    }
    out
}

#[test]
fn masking_and_energy_match_scalar() {
    let shapes = level_shapes();
    each_simd(|k, name| {
        let mut rng = Rng::new(7);
        for n in widths() {
            for p in 0..PATTERNS {
                let x16: Vec<Vec<i16>> = (0..3).map(|_| row_i16(&mut rng, p, n)).collect();
                let x16 = [&x16[0][..], &x16[1], &x16[2]];
                let x32: Vec<Vec<i32>> = (0..3).map(|_| row_i32(&mut rng, p, n)).collect();
                let x32 = [&x32[0][..], &x32[1], &x32[2]];
                let thr: Vec<i32> = match p {
                    0 => row_i32(&mut rng, 0, n),
                    _ => (0..n).map(|_| rng.below(4000) as i32).collect(),
                };
                assert_eq!((SCALAR.den0_row)(x16), (k.den0_row)(x16), "{name} den0 n={n} p={p}");
                for lvl in &shapes {
                    if lvl.level == 0 {
                        for rf in rfactors16(&mut rng) {
                            let s = (SCALAR.cm0_row)(x16, rf, &thr, &lvl.cm);
                            let v = (k.cm0_row)(x16, rf, &thr, &lvl.cm);
                            assert_eq!(s, v, "{name} cm0 n={n} p={p} rf={rf:?} {:?}", lvl.cm);
                        }
                    } else {
                        for rf in rfactors32(&mut rng) {
                            let s = (SCALAR.cm_row)(x32, rf, &thr, &lvl.cm);
                            let v = (k.cm_row)(x32, rf, &thr, &lvl.cm);
                            assert_eq!(s, v, "{name} cm n={n} p={p} rf={rf:?} {:?}", lvl.cm);
                        }
                        let s = (SCALAR.den_row)(x32, &lvl.den);
                        let v = (k.den_row)(x32, &lvl.den);
                        assert_eq!(s, v, "{name} den n={n} p={p} {:?}", lvl.den);
                    }
                }
            }
        }
    });
}

#[test]
fn dwt_levels_match_scalar() {
    each_simd(|k, name| {
        let mut rng = Rng::new(8);
        for n in dwt_widths() {
            let w = n.div_ceil(2);
            for p in 0..PATTERNS {
                let rows: Vec<Vec<i32>> = (0..4).map(|_| row_i32(&mut rng, p, n)).collect();
                let r = [&rows[0][..], &rows[1], &rows[2], &rows[3]];
                for (add, shift) in [(0i64, 0u32), (32768, 16), (16384, 15)] {
                    let mut s = (vec![0i32; n], vec![0i32; n]);
                    let mut v = s.clone();
                    (SCALAR.dwt_vertical)(r, shift, add, &mut s.0, &mut s.1);
                    (k.dwt_vertical)(r, shift, add, &mut v.0, &mut v.1);
                    assert_eq!(s, v, "{name} vertical n={n} p={p} shift {shift}");
                    for range in [0..w, w.min(3)..w] {
                        let mut s = vec![vec![0i32; w]; 4];
                        let mut v = s.clone();
                        {
                            let [a, b, c, d] = &mut s[..] else { unreachable!() };
                            (SCALAR.dwt_horizontal)(r[0], r[1], shift, add, range.clone(), a, b, c, d);
                            let [a, b, c, d] = &mut v[..] else { unreachable!() };
                            (k.dwt_horizontal)(r[0], r[1], shift, add, range.clone(), a, b, c, d);
                        }
                        assert_eq!(s, v, "{name} horizontal n={n} p={p} shift {shift} range {range:?}");
                    }
                }
            }
        }
    });
}

#[test]
fn threshold_helpers_match_scalar() {
    each_simd(|k, name| {
        let mut rng = Rng::new(9);
        for n in widths() {
            for p in 0..PATTERNS {
                let f = row_i32(&mut rng, p, n);
                // The 3-wide window mirrors column 0 onto 1: rows are at
                // least 2 wide (bands are at least 3).
                let ranges = if n >= 2 { vec![0..n, 1..n, 0..n / 2] } else { vec![] };
                for range in ranges {
                    let mut s = vec![7i32; n];
                    let mut v = s.clone();
                    (SCALAR.row_sum3)(&f, n, range.clone(), &mut s);
                    (k.row_sum3)(&f, n, range.clone(), &mut v);
                    assert_eq!(s, v, "{name} row_sum3 n={n} p={p} {range:?}");
                }
                let rows: Vec<Vec<i32>> = (0..5).map(|_| row_i32(&mut rng, p, n)).collect();
                let mut s = vec![0i32; n];
                let mut v = s.clone();
                (SCALAR.threshold)(&rows[0], &rows[1], &rows[2], &rows[3], &rows[4], &mut s);
                (k.threshold)(&rows[0], &rows[1], &rows[2], &rows[3], &rows[4], &mut v);
                assert_eq!(s, v, "{name} threshold n={n} p={p}");
            }
        }
    });
}
