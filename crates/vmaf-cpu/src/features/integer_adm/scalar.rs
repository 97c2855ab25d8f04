//! Reference row kernels of integer ADM: the arithmetic of every stage, one
//! row at a time, exactly as libvmaf rounds, truncates and wraps it.
//!
//! The pipeline (`compute.rs`) decides which rows and columns each kernel
//! sees; these functions only know about slices. Level 0 works on 16-bit
//! bands, levels 1..3 on 32-bit bands with 64-bit intermediates, as in
//! libvmaf. Where libvmaf's C overflows a type (on hostile input only) the
//! wrapped two's-complement result is what x86 produces and what is
//! reproduced here, with explicit `wrapping_*` operations.
//!
//! Band angles are always ordered (h, v, d): h is high-pass vertically and
//! low-pass horizontally, v the reverse, d high-pass both ways.

/// Daubechies-2 analysis filters in Q15.
pub const LO: [i32; 4] = [15826, 27411, 7345, -4240];
pub const HI: [i32; 4] = [-4240, -7345, 27411, -15826];
/// Sum of `LO`: the DC gain removed at level 0 to centre samples on zero.
pub const LO_SUM: i32 = 46342;

/// 1/30 in Q17 and 1/15 in Q15 (level 0) and 1/30, 1/15 in Q32 (levels
/// 1..3): the weights of the masking threshold's neighbours and centre.
pub const ONE_BY_30_Q17: i32 = 4369;
pub const ONE_BY_15_Q17: i32 = 8738;
pub const ONE_BY_30_Q32: i64 = 143165577;
pub const ONE_BY_15_Q32: i64 = 286331153;
/// libvmaf stores the rounding constant 2^31 of the Q32 products in an
/// int32, where it becomes -2^31.
pub const ROUND_Q32: i64 = -(1 << 31);

/// Scale-0 CSF: per-angle rounding constant and shift after multiplying by
/// the Q21 (h, v) or Q23 (d) weight (65535, not 65536, is libvmaf's).
pub const CSF0_ADD: [i32; 3] = [16384, 16384, 65535];
pub const CSF0_SHIFT: [u32; 3] = [15, 15, 17];

/// Reciprocal table: `DIV_LOOKUP[32768 + i] = 2^30 / i` (truncated), negated
/// for negative `i`, 0 at `i = 0`.
pub static DIV_LOOKUP: [i32; 65537] = div_lookup();

const fn div_lookup() -> [i32; 65537] {
    let mut t = [0i32; 65537];
    let mut i = 1;
    while i <= 32768 {
        let r = (1i32 << 30) / i;
        t[(32768 + i) as usize] = r;
        t[(32768 - i) as usize] = -r;
        i += 1;
    }
    t
}

/// Mirrors an index into `0..n` the way the DWT pads: -1 reads 1, n reads
/// n - 1, n + 1 reads n - 2.
#[inline]
pub fn mirror(x: isize, n: usize) -> usize {
    if x < 0 {
        (-x) as usize
    } else if x as usize >= n {
        2 * n - x as usize - 1
    } else {
        x as usize
    }
}

/// The four input rows or columns feeding output `i` of a DWT over `n`
/// samples.
#[inline]
pub fn taps(i: usize, n: usize) -> [usize; 4] {
    let b = 2 * i as isize - 1;
    [mirror(b, n), mirror(b + 1, n), mirror(b + 2, n), mirror(b + 3, n)]
}

// ---------------------------------------------------------------- level 0

/// Level-0 vertical filter: four picture rows to a low-pass and a
/// high-pass row. Samples are centred on zero (the low-pass DC term is
/// removed) and scaled down by the bit depth. For 16-bit input the 32-bit
/// sum wraps, as in libvmaf, and wraps back into range.
pub fn dwt0_vertical<T: Copy + Into<u32>>(rows: [&[T]; 4], bpc: u32, lo: &mut [i16], hi: &mut [i16]) {
    let add = 1i32 << (bpc - 1);
    let bias = LO_SUM * add;
    for j in 0..lo.len() {
        let s = rows.map(|r| r[j].into() as i32);
        let mut l = 0i32;
        let mut h = 0i32;
        for k in 0..4 {
            l = l.wrapping_add(LO[k].wrapping_mul(s[k]));
            h = h.wrapping_add(HI[k].wrapping_mul(s[k]));
        }
        lo[j] = (l.wrapping_sub(bias).wrapping_add(add) >> bpc) as i16;
        hi[j] = (h.wrapping_add(add) >> bpc) as i16;
    }
}

#[inline]
fn filter16(c: &[i32; 4], s: [i16; 4]) -> i16 {
    let mut acc = 0i32;
    for k in 0..4 {
        acc = acc.wrapping_add(c[k] * s[k] as i32);
    }
    (acc.wrapping_add(32768) >> 16) as i16
}

/// Level-0 horizontal filter of columns `range` of the output: the
/// low-pass row gives the approximation `a` and `v`, the high-pass row `h`
/// and `d`.
pub fn dwt0_horizontal(
    lo: &[i16],
    hi: &[i16],
    range: std::ops::Range<usize>,
    a: &mut [i32],
    v: &mut [i16],
    h: &mut [i16],
    d: &mut [i16],
) {
    let n = lo.len();
    for j in range {
        let t = taps(j, n);
        let sl = t.map(|k| lo[k]);
        let sh = t.map(|k| hi[k]);
        a[j] = filter16(&LO, sl) as i32;
        v[j] = filter16(&HI, sl);
        h[j] = filter16(&LO, sh);
        d[j] = filter16(&HI, sh);
    }
}

/// Clamps a Q15 gain to 0..=1.
#[inline]
fn clamp_k(k: i64) -> i64 {
    k.clamp(0, 32768)
}

/// The restored part of one distorted coefficient `t` given the
/// reference `o` and the gain `k` (Q15, clamped to 0..1): `k * o`, and when
/// the two gradients point the same way (`angle`), enhancement beyond the
/// reference is allowed up to `egl` times, capped at `t`.
#[inline]
pub fn restore(k: i64, o: i64, t: i64, angle: bool, egl: f64) -> i64 {
    let mut r = (k * o + 16384) >> 15;
    // libvmaf tests the sign of (k / 32768.f) * (o / 64.f); both factors
    // are exact and far from underflow, so the sign is that of k * o.
    if angle && k > 0 && o != 0 {
        let x = r as f64 * egl;
        let t = t as f64;
        let m = if o > 0 {
            if x < t {
                x
            } else {
                t
            }
        } else if x > t {
            x
        } else {
            t
        };
        r = m as i64;
    }
    r
}

/// Whether the (h, v) gradients of reference and distorted are within one
/// degree of each other, tested as libvmaf does: through `float`
/// conversions of the 64-bit dot products, then in double.
#[inline]
pub fn same_direction(oh: i64, ov: i64, th: i64, tv: i64, cos_sq: f32) -> bool {
    // Each product fits; their sum wraps only for i32::MIN coefficients.
    let dot = (oh * th).wrapping_add(ov * tv);
    let o2 = (oh * oh).wrapping_add(ov * ov);
    let t2 = (th * th).wrapping_add(tv * tv);
    let d = dot as f32 as f64 / 4096.0;
    d >= 0.0 && d * d >= cos_sq as f64 * (o2 as f32 as f64 / 4096.0) * (t2 as f32 as f64 / 4096.0)
}

/// Gain `t / o` in Q15 for 16-bit coefficients, through the reciprocal
/// table; 1 (32768) where the reference is 0.
#[inline]
pub fn gain16(o: i64, t: i64) -> i64 {
    if o == 0 {
        32768
    } else {
        clamp_k((DIV_LOOKUP[(o + 32768) as usize] as i64 * t + 16384) >> 15)
    }
}

/// Level-0 decoupling of one row: splits each distorted coefficient into a
/// part restored from the reference (`r`) and an additive impairment
/// (`a = t - r`).
pub fn decouple0(o: [&[i16]; 3], t: [&[i16]; 3], egl: f64, cos_sq: f32, r: [&mut [i16]; 3], a: [&mut [i16]; 3]) {
    let [rh, rv, rd] = r;
    let [ah, av, ad] = a;
    for j in 0..rh.len() {
        let (oh, ov, od) = (o[0][j] as i64, o[1][j] as i64, o[2][j] as i64);
        let (th, tv, td) = (t[0][j] as i64, t[1][j] as i64, t[2][j] as i64);
        let angle = same_direction(oh, ov, th, tv, cos_sq);
        let out = [
            restore(gain16(oh, th), oh, th, angle, egl) as i16,
            restore(gain16(ov, tv), ov, tv, angle, egl) as i16,
            restore(gain16(od, td), od, td, angle, egl) as i16,
        ];
        rh[j] = out[0];
        rv[j] = out[1];
        rd[j] = out[2];
        ah[j] = (th as i16).wrapping_sub(out[0]);
        av[j] = (tv as i16).wrapping_sub(out[1]);
        ad[j] = (td as i16).wrapping_sub(out[2]);
    }
}

/// Level-0 CSF of one row and what the masking threshold needs from it:
/// per column, the sum over the three angles of |csf|/30 (`f`, what each
/// neighbour contributes) and of |csf|/15 (`c`, what the centre
/// contributes), each rounded to int16 as libvmaf stores them.
pub fn csf0_fc(src: [&[i16]; 3], rf: [u16; 3], f: &mut [i32], c: &mut [i32]) {
    for j in 0..f.len() {
        let mut fs = 0i32;
        let mut cs = 0i32;
        for k in 0..3 {
            let v = rf[k] as i32 * src[k][j] as i32;
            let dst = (v.wrapping_add(CSF0_ADD[k]) >> CSF0_SHIFT[k]) as i16;
            let m = (dst as i32).abs();
            fs += ((ONE_BY_30_Q17 * m + 2048) >> 12) as i16 as i32;
            cs += ((ONE_BY_15_Q17 * m + 2048) >> 12) as i16 as i32;
        }
        f[j] = fs;
        c[j] = cs;
    }
}

/// Level-0 masking sums of one row: for each angle, the sum over columns
/// of max(|x * rf| - thr << s, 0)^3, with libvmaf's intermediate rounding.
pub fn cm0_row(x: [&[i16]; 3], rf: [u16; 3], thr: &[i32], sh: &super::params::CmShifts) -> [i64; 3] {
    let mut acc = [0i64; 3];
    for j in 0..thr.len() {
        for k in 0..3 {
            let v = (x[k][j] as i32 * rf[k] as i32).wrapping_abs();
            acc[k] = acc[k].wrapping_add(cube(v, thr[j] << sh.thr_shift[k], sh, k));
        }
    }
    acc
}

/// max(x - thr, 0) cubed in libvmaf's fixed point: the square is rounded,
/// shifted and truncated to 32 bits, the cube rounded and shifted.
#[inline]
pub fn cube(x: i32, thr: i32, sh: &super::params::CmShifts, k: usize) -> i64 {
    let x = x.wrapping_sub(thr).max(0) as i64;
    let sq = ((x * x + sh.sq_add[k]) >> sh.sq_shift[k]) as i32 as i64;
    (sq * x).wrapping_add(sh.cub_add[k]) >> sh.cub_shift[k]
}

/// Level-0 reference energy of one row: per angle, the sum of |x|^3.
pub fn den0_row(x: [&[i16]; 3]) -> [u64; 3] {
    let mut acc = [0u64; 3];
    for k in 0..3 {
        for &v in x[k] {
            let m = (v as i32).unsigned_abs() as u64;
            acc[k] = acc[k].wrapping_add(m * m * m);
        }
    }
    acc
}

// ----------------------------------------------------------- levels 1..3

/// Vertical filter of levels 1..3 in 64-bit, rounded by `add` and
/// shifted by `shift`, truncated to 32 bits.
pub fn dwt_vertical(rows: [&[i32]; 4], shift: u32, add: i64, lo: &mut [i32], hi: &mut [i32]) {
    for j in 0..lo.len() {
        let s = rows.map(|r| r[j] as i64);
        let mut l = 0i64;
        let mut h = 0i64;
        for k in 0..4 {
            l += LO[k] as i64 * s[k];
            h += HI[k] as i64 * s[k];
        }
        lo[j] = ((l + add) >> shift) as i32;
        hi[j] = ((h + add) >> shift) as i32;
    }
}

#[inline]
fn filter32(c: &[i32; 4], s: [i32; 4], shift: u32, add: i64) -> i32 {
    let mut acc = 0i64;
    for k in 0..4 {
        acc += c[k] as i64 * s[k] as i64;
    }
    ((acc + add) >> shift) as i32
}

/// Horizontal filter of levels 1..3 for output columns `range`.
#[allow(clippy::too_many_arguments)]
pub fn dwt_horizontal(
    lo: &[i32],
    hi: &[i32],
    shift: u32,
    add: i64,
    range: std::ops::Range<usize>,
    a: &mut [i32],
    v: &mut [i32],
    h: &mut [i32],
    d: &mut [i32],
) {
    let n = lo.len();
    for j in range {
        let t = taps(j, n);
        let sl = t.map(|k| lo[k]);
        let sh = t.map(|k| hi[k]);
        a[j] = filter32(&LO, sl, shift, add);
        v[j] = filter32(&HI, sl, shift, add);
        h[j] = filter32(&LO, sh, shift, add);
        d[j] = filter32(&HI, sh, shift, add);
    }
}

/// libvmaf's `get_best15_from32`: the top 15 significant bits of `x`
/// (rounded) and how far they were shifted.
#[inline]
pub fn best15(x: u32) -> (u32, u32) {
    let k = 17 - x.leading_zeros();
    ((x.wrapping_add(1 << (k - 1))) >> k, k)
}

/// Gain `t / o` in Q15 for 32-bit coefficients: the reciprocal table is
/// indexed by the top 15 bits of |o| and the product shifted back.
#[inline]
pub fn gain32(o: i32, t: i32) -> i64 {
    if o == 0 {
        return 32768;
    }
    let m = o.unsigned_abs();
    let (msb, shift) = if m < 32768 { (m, 0) } else { best15(m) };
    let sign = if o < 0 { -1 } else { 1 };
    // 1 << 31 is an int in libvmaf and becomes i32::MIN.
    let round = 1i32.wrapping_shl(14 + shift) as i64;
    let k = ((DIV_LOOKUP[(msb + 32768) as usize] as i64 * t as i64) * sign + round) >> (15 + shift);
    clamp_k(k)
}

/// Decoupling of one row at levels 1..3.
pub fn decouple(o: [&[i32]; 3], t: [&[i32]; 3], egl: f64, cos_sq: f32, r: [&mut [i32]; 3], a: [&mut [i32]; 3]) {
    let [rh, rv, rd] = r;
    let [ah, av, ad] = a;
    for j in 0..rh.len() {
        let (oh, ov, od) = (o[0][j], o[1][j], o[2][j]);
        let (th, tv, td) = (t[0][j], t[1][j], t[2][j]);
        let angle = same_direction(oh as i64, ov as i64, th as i64, tv as i64, cos_sq);
        let out = [
            restore(gain32(oh, th), oh as i64, th as i64, angle, egl) as i32,
            restore(gain32(ov, tv), ov as i64, tv as i64, angle, egl) as i32,
            restore(gain32(od, td), od as i64, td as i64, angle, egl) as i32,
        ];
        rh[j] = out[0];
        rv[j] = out[1];
        rd[j] = out[2];
        ah[j] = th.wrapping_sub(out[0]);
        av[j] = tv.wrapping_sub(out[1]);
        ad[j] = td.wrapping_sub(out[2]);
    }
}

/// CSF of a 32-bit coefficient: Q32 weight, rounded back to the band's
/// fixed point.
#[inline]
pub fn csf32(x: i32, rf: u32) -> i32 {
    ((rf as i64 * x as i64 + (1 << 27)) >> 28) as i32
}

/// |x| times a Q32 weight, with libvmaf's negative rounding constant.
#[inline]
pub fn q32_weight(x: i32, w: i64) -> i32 {
    ((w * x.wrapping_abs() as i64 + ROUND_Q32) >> 32) as i32
}

/// Levels 1..3 counterpart of [`csf0_fc`]; the sums wrap in 32 bits as
/// libvmaf's do.
pub fn csf_fc(src: [&[i32]; 3], rf: [u32; 3], f: &mut [i32], c: &mut [i32]) {
    for j in 0..f.len() {
        let mut fs = 0i32;
        let mut cs = 0i32;
        for k in 0..3 {
            let dst = csf32(src[k][j], rf[k]);
            fs = fs.wrapping_add(q32_weight(dst, ONE_BY_30_Q32));
            cs = cs.wrapping_add(q32_weight(dst, ONE_BY_15_Q32));
        }
        f[j] = fs;
        c[j] = cs;
    }
}

/// Levels 1..3 masking sums of one row.
pub fn cm_row(x: [&[i32]; 3], rf: [u32; 3], thr: &[i32], sh: &super::params::CmShifts) -> [i64; 3] {
    let mut acc = [0i64; 3];
    for j in 0..thr.len() {
        for k in 0..3 {
            let v = csf32(x[k][j], rf[k]).wrapping_abs();
            acc[k] = acc[k].wrapping_add(cube(v, thr[j], sh, k));
        }
    }
    acc
}

/// Levels 1..3 reference energy of one row.
pub fn den_row(x: [&[i32]; 3], sh: &super::params::DenShifts) -> [u64; 3] {
    let mut acc = [0u64; 3];
    for k in 0..3 {
        for &v in x[k] {
            let m = v.unsigned_abs() as u64;
            let sq = m.wrapping_mul(m).wrapping_add(sh.sq_add) >> sh.sq_shift;
            let c = sq.wrapping_mul(m).wrapping_add(sh.cub_add) >> sh.cub_shift;
            acc[k] = acc[k].wrapping_add(c);
        }
    }
    acc
}

// -------------------------------------------------------------- shared

/// Horizontal part of the 3x3 threshold window: `f[j-1] + f[j] + f[j+1]`
/// for the columns in `range`, with the window's own edge rule (column -1
/// reads 1, column n reads n - 1).
pub fn row_sum3(f: &[i32], n: usize, range: std::ops::Range<usize>, out: &mut [i32]) {
    for j in range {
        let l = if j == 0 { 1 } else { j - 1 };
        let r = if j + 1 == n { j } else { j + 1 };
        out[j] = f[l].wrapping_add(f[j]).wrapping_add(f[r]);
    }
}

/// The masking threshold of a row: the 3x3 sum of neighbours' |csf|/30
/// over all angles, with the centre's |csf|/15 in place of its /30.
pub fn threshold(up: &[i32], mid: &[i32], down: &[i32], f: &[i32], c: &[i32], out: &mut [i32]) {
    for j in 0..out.len() {
        out[j] = up[j].wrapping_add(mid[j]).wrapping_add(down[j]).wrapping_sub(f[j]).wrapping_add(c[j]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div_lookup_matches_definition() {
        assert_eq!(DIV_LOOKUP[32768], 0);
        assert_eq!(DIV_LOOKUP[32769], 1 << 30);
        assert_eq!(DIV_LOOKUP[32767], -(1 << 30));
        assert_eq!(DIV_LOOKUP[65536], 32768);
        assert_eq!(DIV_LOOKUP[0], -32768);
        assert_eq!(DIV_LOOKUP[32768 + 3], (1 << 30) / 3);
    }

    #[test]
    fn mirror_pads_like_libvmaf() {
        assert_eq!(taps(0, 10), [1, 0, 1, 2]);
        assert_eq!(taps(4, 10), [7, 8, 9, 9]);
        assert_eq!(taps(4, 9), [7, 8, 8, 7]);
        assert_eq!(taps(2, 5), [3, 4, 4, 3]);
    }

    #[test]
    fn best15_rounds() {
        assert_eq!(best15(32768), (16384, 1));
        assert_eq!(best15(65535), (32768, 1));
        assert_eq!(best15(1 << 31), (16384, 17));
    }

    #[test]
    fn flat_input_gives_zero_details() {
        let row = [200u8; 12];
        let (mut lo, mut hi) = ([0i16; 12], [0i16; 12]);
        dwt0_vertical([&row[..], &row, &row, &row], 8, &mut lo, &mut hi);
        assert!(hi.iter().all(|&x| x == 0));
        let mut a = [0i32; 6];
        let (mut v, mut h, mut d) = ([0i16; 6], [0i16; 6], [0i16; 6]);
        dwt0_horizontal(&lo, &hi, 0..6, &mut a, &mut v, &mut h, &mut d);
        assert!(v.iter().chain(&h).chain(&d).all(|&x| x == 0));
        // (200 - 128) * 46342 / 256 * 46342 / 65536, with libvmaf's rounding.
        let l: i32 = (46342 * 200 - 46342 * 128 + 128) >> 8;
        assert_eq!(a[3], (46342 * l + 32768) >> 16);
    }
}
