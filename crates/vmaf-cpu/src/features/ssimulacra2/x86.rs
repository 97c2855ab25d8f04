//! AVX2 kernels of `ssimulacra2`, bit-identical to `scalar.rs`.
//!
//! Each lane does the scalar arithmetic of one sample: the same `f32` and
//! `f64` operations in the same order, no FMA, comparisons written so that
//! they select what the scalar branches select (`maxps(0, v)` is
//! `0 > v ? 0 : v`, as `if v < 0 { 0 } else { v }`). The cube root's first
//! guess divides the bit pattern by 3 exactly (a multiply-high by
//! `0xAAAAAAAB`), and the sRGB table is read with gathers. Sums follow the
//! fixed 8-lane layout and order of [`Acc`]: sample `x` of a row goes to lane
//! `x % 8`, which is where a vector of 8 columns puts it.
//!
//! How the recursive blur is vectorised:
//! * **down columns** (vertical pass): one vector is 8 adjacent columns,
//!   whose recursions are independent; a block of up to 8 steps runs with
//!   the state in registers (two maps at a time), which lives in rows of
//!   `state` between blocks, and the block's 8x8 outputs are scored at once;
//! * **along rows** (horizontal pass): 8 rows at a time, transposed into a
//!   column-major scratch (one vector = one column of the 8 rows, zero
//!   columns either side for the filter's reach), run as 8 recursions side
//!   by side, two maps at a time so that independent chains overlap, then
//!   transposed back into the ring.
//!
//! Kernels compute whole vectors up to the row stride; lanes past the
//! picture width compute values nothing valid ever reads (they are masked
//! out of the sums and zeroed before the horizontal filter reads them).

use std::arch::x86_64::*;

use super::scalar::{self, VBlock, CBRT_MAGIC, ONE_THIRD};
use super::{Acc, Gauss, HScratch, Kernels, LinearParams, Ring, C2, EOTF_STEPS, HPAD_LEFT, LANES, MAPS, OPSIN};

/// The AVX2 kernels. Only constructed after checking the CPU has AVX2.
pub(crate) struct Avx2(());

impl Avx2 {
    /// The kernels, when this CPU runs AVX2.
    pub fn detect() -> Option<&'static Avx2> {
        static KERNELS: Avx2 = Avx2(());
        is_x86_feature_detected!("avx2").then_some(&KERNELS)
    }
}

impl Kernels for Avx2 {
    fn linear_row(&self, p: &LinearParams, y: &[f32], u: &[f32], v: &[f32], out: [&mut [f32]; 3], w: usize) {
        // SAFETY (all methods): `Avx2` exists only on CPUs with AVX2; each
        // kernel asserts the slice lengths its pointer accesses rely on.
        unsafe { linear_row(p, y, u, v, out, w) }
    }
    fn xyb(&self, lin: [&[f32]; 3], out: [&mut [f32]; 3], n: usize) {
        unsafe { xyb(lin, out, n) }
    }
    fn downsample_row(&self, r0: &[f32], r1: &[f32], iw: usize, out: &mut [f32]) {
        unsafe { downsample_row(r0, r1, iw, out) }
    }
    fn horizontal(
        &self,
        g: &Gauss,
        a: &[f32],
        b: &[f32],
        stride: usize,
        w: usize,
        y0: usize,
        y1: usize,
        ring: &mut Ring,
        t: &mut HScratch,
    ) {
        unsafe { horizontal(g, a, b, stride, w, y0, y1, ring, t) }
    }
    fn vertical(&self, g: &Gauss, blk: &VBlock<'_>, state: &mut [f32], stride: usize, w: usize, acc: &mut Acc) {
        unsafe { vertical(g, blk, state, stride, w, acc) }
    }
}

#[inline(always)]
unsafe fn splat(v: f32) -> __m256 {
    _mm256_set1_ps(v)
}

/// `0 > v ? 0 : v`: the scalar `if v < 0 { 0 } else { v }`.
#[inline(always)]
unsafe fn floor0(v: __m256) -> __m256 {
    _mm256_max_ps(_mm256_setzero_ps(), v)
}

/// [`scalar::eotf`] on 8 lanes.
#[inline(always)]
unsafe fn eotf(lut: &[f32], x: __m256) -> __m256 {
    let pos = _mm256_mul_ps(x, splat(EOTF_STEPS as f32));
    let i = _mm256_cvttps_epi32(pos);
    let t = _mm256_sub_ps(pos, _mm256_cvtepi32_ps(i));
    // Lanes in (0, 1) have i <= EOTF_STEPS - 1 already; the clamp only
    // keeps the gathers of the other lanes (replaced below) in the table.
    let i = _mm256_min_epi32(_mm256_max_epi32(i, _mm256_setzero_si256()), _mm256_set1_epi32(EOTF_STEPS as i32 - 1));
    debug_assert!(lut.len() > EOTF_STEPS);
    // Entries i and i + 1 are adjacent: one 64-bit gather fetches both, so
    // 8 lanes take two 4-element gathers instead of two 8-element ones.
    let base = lut.as_ptr() as *const f64;
    let lo = _mm256_castpd_ps(_mm256_i32gather_pd::<4>(base, _mm256_castsi256_si128(i)));
    let hi = _mm256_castpd_ps(_mm256_i32gather_pd::<4>(base, _mm256_extracti128_si256::<1>(i)));
    let (a, b) = deinterleave_pair(lo, hi);
    let v = _mm256_add_ps(a, _mm256_mul_ps(_mm256_sub_ps(b, a), t));
    let v = _mm256_blendv_ps(v, _mm256_setzero_ps(), _mm256_cmp_ps::<_CMP_LE_OQ>(x, _mm256_setzero_ps()));
    _mm256_blendv_ps(v, splat(1.0), _mm256_cmp_ps::<_CMP_GE_OQ>(x, splat(1.0)))
}

#[target_feature(enable = "avx2")]
unsafe fn linear_row(p: &LinearParams, y: &[f32], u: &[f32], v: &[f32], out: [&mut [f32]; 3], w: usize) {
    let n = w.div_ceil(LANES) * LANES;
    let [ro, go, bo] = out;
    assert!(y.len() >= n && u.len() >= n && v.len() >= n);
    assert!(ro.len() >= n && go.len() >= n && bo.len() >= n);
    let inv = splat(p.inv_peak);
    let (one, zero) = (splat(1.0), _mm256_setzero_ps());
    // [0, 1] by `0 > v ? 0 : v`, then `1 < v ? 1 : v`, as the scalar chain.
    let unit = |v: __m256| _mm256_min_ps(one, _mm256_max_ps(zero, v));
    for x in (0..n).step_by(LANES) {
        let yn = _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(y.as_ptr().add(x)), inv), splat(p.y_off)), splat(p.y_scale));
        let un = _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(u.as_ptr().add(x)), inv), splat(p.c_off)), splat(p.c_scale));
        let vn = _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(v.as_ptr().add(x)), inv), splat(p.c_off)), splat(p.c_scale));
        let r = _mm256_add_ps(yn, _mm256_mul_ps(splat(p.cr_r), vn));
        let g = _mm256_add_ps(_mm256_add_ps(yn, _mm256_mul_ps(splat(p.cb_g), un)), _mm256_mul_ps(splat(p.cr_g), vn));
        let b = _mm256_add_ps(yn, _mm256_mul_ps(splat(p.cb_b), un));
        _mm256_storeu_ps(ro.as_mut_ptr().add(x), eotf(&p.lut, unit(r)));
        _mm256_storeu_ps(go.as_mut_ptr().add(x), eotf(&p.lut, unit(g)));
        _mm256_storeu_ps(bo.as_mut_ptr().add(x), eotf(&p.lut, unit(b)));
    }
}

/// `floor(v / 3)` of unsigned 32-bit lanes: `(v * 0xAAAAAAAB) >> 33`,
/// exact for every `u32`, on even and odd lanes separately.
#[inline(always)]
unsafe fn div3_u32(v: __m256i) -> __m256i {
    let m = _mm256_set1_epi32(0xAAAA_AAABu32 as i32);
    let even = _mm256_srli_epi64::<33>(_mm256_mul_epu32(v, m));
    let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(v), m);
    let odd = _mm256_slli_epi64::<32>(_mm256_srli_epi64::<33>(odd));
    _mm256_blend_epi32::<0b1010_1010>(even, odd)
}

/// [`scalar::cbrt`] on 8 lanes.
#[inline(always)]
unsafe fn cbrt(x: __m256) -> __m256 {
    let guess = _mm256_add_epi32(div3_u32(_mm256_castps_si256(x)), _mm256_set1_epi32(CBRT_MAGIC as i32));
    let mut y = _mm256_castsi256_ps(guess);
    for _ in 0..2 {
        let q = _mm256_div_ps(x, _mm256_mul_ps(y, y));
        y = _mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(splat(2.0), y), q), splat(ONE_THIRD));
    }
    _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps::<_CMP_LE_OQ>(x, _mm256_setzero_ps()))
}

#[target_feature(enable = "avx2")]
unsafe fn xyb(lin: [&[f32]; 3], out: [&mut [f32]; 3], n: usize) {
    let [r, g, b] = lin;
    let [xo, yo, bo] = out;
    assert!(r.len() >= n && g.len() >= n && b.len() >= n && xo.len() >= n && yo.len() >= n && bo.len() >= n);
    let root_bias = splat(scalar::cbrt(OPSIN.bias));
    let bias = splat(OPSIN.bias);
    let mut i = 0;
    while i + LANES <= n {
        let (rv, gv, bv) = (_mm256_loadu_ps(r.as_ptr().add(i)), _mm256_loadu_ps(g.as_ptr().add(i)), _mm256_loadu_ps(b.as_ptr().add(i)));
        let mix = |k: [f32; 3]| {
            let v = _mm256_add_ps(_mm256_mul_ps(splat(k[0]), rv), _mm256_mul_ps(splat(k[1]), gv));
            floor0(_mm256_add_ps(_mm256_add_ps(v, _mm256_mul_ps(splat(k[2]), bv)), bias))
        };
        let l = _mm256_sub_ps(cbrt(mix(OPSIN.l)), root_bias);
        let m = _mm256_sub_ps(cbrt(mix(OPSIN.m)), root_bias);
        let s = _mm256_sub_ps(cbrt(mix(OPSIN.s)), root_bias);
        let x = _mm256_mul_ps(splat(0.5), _mm256_sub_ps(l, m));
        let y = _mm256_mul_ps(splat(0.5), _mm256_add_ps(l, m));
        _mm256_storeu_ps(bo.as_mut_ptr().add(i), _mm256_add_ps(_mm256_sub_ps(s, y), splat(0.55)));
        _mm256_storeu_ps(xo.as_mut_ptr().add(i), _mm256_add_ps(_mm256_mul_ps(x, splat(14.0)), splat(0.42)));
        _mm256_storeu_ps(yo.as_mut_ptr().add(i), _mm256_add_ps(y, splat(0.01)));
        i += LANES;
    }
    if i < n {
        scalar::xyb([&r[i..n], &g[i..n], &b[i..n]], [&mut xo[i..n], &mut yo[i..n], &mut bo[i..n]], n - i);
    }
}

/// Even and odd samples of 16 consecutive ones, each in order.
#[inline(always)]
unsafe fn deinterleave(p: *const f32) -> (__m256, __m256) {
    deinterleave_pair(_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)))
}

/// Even and odd elements of `v0` then `v1`, each in order.
#[inline(always)]
unsafe fn deinterleave_pair(v0: __m256, v1: __m256) -> (__m256, __m256) {
    // Within 128-bit halves, then the 64-bit quarters put in order.
    let even = _mm256_shuffle_ps::<0x88>(v0, v1);
    let odd = _mm256_shuffle_ps::<0xDD>(v0, v1);
    let order = |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v)));
    (order(even), order(odd))
}

#[target_feature(enable = "avx2")]
unsafe fn downsample_row(r0: &[f32], r1: &[f32], iw: usize, out: &mut [f32]) {
    assert!(r0.len() >= iw && r1.len() >= iw && out.len() >= iw.div_ceil(2));
    let mut ox = 0;
    // Eight outputs read inputs 2·ox ..= 2·ox + 15, all inside the row and
    // none at the repeated last column.
    while 2 * ox + 2 * LANES <= iw {
        let (e0, o0) = deinterleave(r0.as_ptr().add(2 * ox));
        let (e1, o1) = deinterleave(r1.as_ptr().add(2 * ox));
        let s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(e0, o0), e1), o1);
        _mm256_storeu_ps(out.as_mut_ptr().add(ox), _mm256_mul_ps(s, splat(0.25)));
        ox += LANES;
    }
    scalar::downsample_row_from(r0, r1, iw, out, ox);
}

/// Transposes the 8x8 block of `rows` (each a vector) in place: afterwards
/// vector `j` holds element `j` of every input row.
#[inline(always)]
unsafe fn transpose8(r: &mut [__m256; 8]) {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    r[0] = _mm256_permute2f128_ps::<0x20>(s0, s4);
    r[1] = _mm256_permute2f128_ps::<0x20>(s1, s5);
    r[2] = _mm256_permute2f128_ps::<0x20>(s2, s6);
    r[3] = _mm256_permute2f128_ps::<0x20>(s3, s7);
    r[4] = _mm256_permute2f128_ps::<0x31>(s0, s4);
    r[5] = _mm256_permute2f128_ps::<0x31>(s1, s5);
    r[6] = _mm256_permute2f128_ps::<0x31>(s2, s6);
    r[7] = _mm256_permute2f128_ps::<0x31>(s3, s7);
}

/// Writes columns `0..w` of the 8 rows `rows` into `dst` column-major
/// (column `x` at vector `HPAD_LEFT + x`), then zeroes the columns the
/// filter may read past the end.
#[inline(always)]
unsafe fn transpose_in(rows: &[*const f32; 8], w: usize, dst: &mut [f32]) {
    let d = dst.as_mut_ptr().add(HPAD_LEFT * LANES);
    let tiles = w.div_ceil(LANES) * LANES;
    debug_assert!(dst.len() >= (HPAD_LEFT + tiles + LANES) * LANES);
    for x in (0..tiles).step_by(LANES) {
        let mut v: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(rows[i].add(x)));
        transpose8(&mut v);
        for (j, c) in v.into_iter().enumerate() {
            _mm256_storeu_ps(d.add((x + j) * LANES), c);
        }
    }
    for x in w..w + LANES {
        _mm256_storeu_ps(d.add(x * LANES), _mm256_setzero_ps());
    }
}

/// The input of map `M` from the reference and distorted values (see
/// [`scalar::map_value`]).
#[inline(always)]
unsafe fn map_in<const M: usize>(a: __m256, b: __m256) -> __m256 {
    match M {
        0 => _mm256_mul_ps(a, a),
        1 => _mm256_mul_ps(b, b),
        2 => _mm256_mul_ps(a, b),
        3 => a,
        _ => b,
    }
}

/// Recursion state of the three poles of one map.
struct Poles {
    p1: [__m256; 3],
    p2: [__m256; 3],
}

impl Poles {
    #[inline(always)]
    unsafe fn zero() -> Self {
        let z = _mm256_setzero_ps();
        Poles { p1: [z; 3], p2: [z; 3] }
    }

    /// [`scalar::iir_step`] on 8 lanes.
    #[inline(always)]
    unsafe fn step(&mut self, n2: &[__m256; 3], d1: &[__m256; 3], input: __m256) -> __m256 {
        let mut o = [_mm256_setzero_ps(); 3];
        for k in 0..3 {
            o[k] = _mm256_sub_ps(_mm256_sub_ps(_mm256_mul_ps(n2[k], input), _mm256_mul_ps(d1[k], self.p1[k])), self.p2[k]);
            self.p2[k] = self.p1[k];
            self.p1[k] = o[k];
        }
        _mm256_add_ps(_mm256_add_ps(o[0], o[1]), o[2])
    }
}

/// One step of the horizontal recursions of maps `M0` and `M1` (`M1 ==
/// MAPS`: none) at output index `n`, which reads transposed columns
/// `n - r - 1` and `n + r - 1` (column `c` is vector `HPAD_LEFT + c`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn hstep<const M0: usize, const M1: usize>(
    n2: &[__m256; 3],
    d1: &[__m256; 3],
    r: isize,
    pa: *const f32,
    pb: *const f32,
    n: isize,
    s0: &mut Poles,
    s1: &mut Poles,
) -> (__m256, __m256) {
    let li = (HPAD_LEFT as isize + n - r - 1) as usize * LANES;
    let ri = (HPAD_LEFT as isize + n + r - 1) as usize * LANES;
    let (al, bl) = (_mm256_loadu_ps(pa.add(li)), _mm256_loadu_ps(pb.add(li)));
    let (ar, br) = (_mm256_loadu_ps(pa.add(ri)), _mm256_loadu_ps(pb.add(ri)));
    let v0 = s0.step(n2, d1, _mm256_add_ps(map_in::<M0>(al, bl), map_in::<M0>(ar, br)));
    let v1 = if M1 < MAPS {
        s1.step(n2, d1, _mm256_add_ps(map_in::<M1>(al, bl), map_in::<M1>(ar, br)))
    } else {
        _mm256_setzero_ps()
    };
    (v0, v1)
}

/// Runs the horizontal recursions of maps `M0` and `M1` over the transposed
/// rows `ta`/`tb` (`w` columns), writing their outputs column-major to
/// `out0`/`out1`. Two maps side by side keep six independent chains in
/// flight.
#[inline(always)]
unsafe fn recurse_pair<const M0: usize, const M1: usize>(
    g: &Gauss,
    ta: &[f32],
    tb: &[f32],
    w: usize,
    out0: &mut [f32],
    out1: &mut [f32],
) {
    let n2: [__m256; 3] = std::array::from_fn(|k| splat(g.n2[k]));
    let d1: [__m256; 3] = std::array::from_fn(|k| splat(g.d1[k]));
    let r = g.radius as isize;
    // Reads reach 2r columns left of output 0 and r - 2 right of output
    // w - 1; `transpose_in` zeroes what lies past the row.
    assert!(HPAD_LEFT as isize >= 2 * r && r >= 1);
    let need = (HPAD_LEFT + w + g.radius) * LANES;
    assert!(ta.len() >= need && tb.len() >= need && out0.len() >= w * LANES && out1.len() >= w * LANES);
    let (pa, pb) = (ta.as_ptr(), tb.as_ptr());
    let (mut s0, mut s1) = (Poles::zero(), Poles::zero());
    for n in 1 - r..0 {
        hstep::<M0, M1>(&n2, &d1, r, pa, pb, n, &mut s0, &mut s1);
    }
    for x in 0..w {
        let (v0, v1) = hstep::<M0, M1>(&n2, &d1, r, pa, pb, x as isize, &mut s0, &mut s1);
        _mm256_storeu_ps(out0.as_mut_ptr().add(x * LANES), v0);
        if M1 < MAPS {
            _mm256_storeu_ps(out1.as_mut_ptr().add(x * LANES), v1);
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn horizontal(
    g: &Gauss,
    a: &[f32],
    b: &[f32],
    stride: usize,
    w: usize,
    y0: usize,
    y1: usize,
    ring: &mut Ring,
    t: &mut HScratch,
) {
    let rows = y1 - y0;
    assert!((1..=LANES).contains(&rows) && w <= stride && stride.is_multiple_of(LANES));
    assert!(a.len() >= y1 * stride && b.len() >= y1 * stride && t.zero.len() >= stride);
    let src = |p: &[f32], i: usize| if i < rows { p.as_ptr().add((y0 + i) * stride) } else { t.zero.as_ptr() };
    let ra: [*const f32; 8] = std::array::from_fn(|i| src(a, i));
    let rb: [*const f32; 8] = std::array::from_fn(|i| src(b, i));
    transpose_in(&ra, w, &mut t.a);
    transpose_in(&rb, w, &mut t.b);
    // `transpose_in` zeroes LANES columns past the row: the filter reads
    // r - 1 of them.
    assert!(g.radius <= LANES);
    let [o0, o1] = &mut t.out;
    recurse_pair::<0, 1>(g, &t.a, &t.b, w, o0, o1);
    transpose_out(o0, w, rows, ring, 0, y0);
    transpose_out(o1, w, rows, ring, 1, y0);
    recurse_pair::<2, 3>(g, &t.a, &t.b, w, o0, o1);
    transpose_out(o0, w, rows, ring, 2, y0);
    transpose_out(o1, w, rows, ring, 3, y0);
    recurse_pair::<4, MAPS>(g, &t.a, &t.b, w, o0, o1);
    transpose_out(o0, w, rows, ring, 4, y0);
}

/// Writes the column-major map output `src` (`w` columns of 8 rows) into
/// ring rows `y0..y0 + rows` of map `m`, whole 8-column tiles at a time.
#[inline(always)]
unsafe fn transpose_out(src: &[f32], w: usize, rows: usize, ring: &mut Ring, m: usize, y0: usize) {
    let tiles = w.div_ceil(LANES) * LANES;
    assert!(src.len() >= tiles * LANES && ring.stride >= tiles);
    let dst: [*mut f32; 8] = std::array::from_fn(|i| if i < rows { ring.row_ptr(m, y0 + i) } else { std::ptr::null_mut() });
    for x in (0..tiles).step_by(LANES) {
        let mut v: [__m256; 8] = std::array::from_fn(|j| _mm256_loadu_ps(src.as_ptr().add((x + j) * LANES)));
        transpose8(&mut v);
        for (i, row) in v.into_iter().enumerate().take(rows) {
            _mm256_storeu_ps(dst[i].add(x), row);
        }
    }
}

/// The two `f64` halves (lanes 0-3, 4-7) of an `f32` vector.
#[inline(always)]
unsafe fn widen(v: __m256) -> [__m256d; 2] {
    [_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v))]
}

/// Adds the SSIM and edge terms of one row of 8 columns to the sums, lanes
/// 0-3 and 4-7 as two halves; with `MASKED`, only the lanes set in `mask`
/// (the columns inside the picture).
#[inline(always)]
unsafe fn add_terms<const MASKED: bool>(
    blurred: [__m256; MAPS],
    a: __m256,
    b: __m256,
    mask: &[__m256d; 2],
    sums: &mut [[__m256d; 2]; 6],
) {
    let [s11, s22, s12, mu1, mu2] = blurred;
    // SSIM error: f32 factors, f64 quotient (scalar::ssim_term).
    let diff = _mm256_sub_ps(mu1, mu2);
    let num_m = _mm256_sub_ps(splat(1.0), _mm256_mul_ps(diff, diff));
    let num_s = _mm256_add_ps(_mm256_mul_ps(splat(2.0), _mm256_sub_ps(s12, _mm256_mul_ps(mu1, mu2))), splat(C2));
    let den_s = _mm256_add_ps(
        _mm256_add_ps(_mm256_sub_ps(s11, _mm256_mul_ps(mu1, mu1)), _mm256_sub_ps(s22, _mm256_mul_ps(mu2, mu2))),
        splat(C2),
    );
    let (nm, ns, ds) = (widen(num_m), widen(num_s), widen(den_s));
    // Edge difference (scalar::edge_term).
    let (av, bv, m1, m2) = (widen(a), widen(b), widen(mu1), widen(mu2));
    let zero = _mm256_setzero_pd();
    let one = _mm256_set1_pd(1.0);
    let sign = _mm256_set1_pd(-0.0);
    for h in 0..2 {
        let d = _mm256_max_pd(zero, _mm256_sub_pd(one, _mm256_div_pd(_mm256_mul_pd(nm[h], ns[h]), ds[h])));
        let e1 = _mm256_andnot_pd(sign, _mm256_sub_pd(av[h], m1[h]));
        let e2 = _mm256_andnot_pd(sign, _mm256_sub_pd(bv[h], m2[h]));
        let e = _mm256_sub_pd(_mm256_div_pd(_mm256_add_pd(one, e2), _mm256_add_pd(one, e1)), one);
        // `e > 0 ? e : 0` and `e < 0 ? -e : 0`.
        let art = _mm256_max_pd(e, zero);
        let det = _mm256_max_pd(_mm256_xor_pd(e, sign), zero);
        for (q, v) in [(Acc::SSIM, d), (Acc::ARTIFACT, art), (Acc::DETAIL_LOSS, det)] {
            // Lanes past the width become +0, which leaves a sum as it is.
            let v = if MASKED { _mm256_and_pd(v, mask[h]) } else { v };
            let sq = _mm256_mul_pd(v, v);
            sums[2 * q][h] = _mm256_add_pd(sums[2 * q][h], v);
            sums[2 * q + 1][h] = _mm256_add_pd(sums[2 * q + 1][h], _mm256_mul_pd(sq, sq));
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn vertical(g: &Gauss, blk: &VBlock<'_>, state: &mut [f32], stride: usize, w: usize, acc: &mut Acc) {
    let steps = blk.steps;
    assert!(steps <= LANES && stride.is_multiple_of(LANES) && w <= stride && state.len() >= scalar::STATE_ROWS * stride);
    assert!(blk.left[..steps].iter().chain(&blk.right[..steps]).flatten().all(|r| r.len() >= stride));
    if let Some(xyb) = &blk.xyb {
        assert!(xyb[..steps].iter().flatten().all(|r| r.len() >= stride));
    }
    let n2: [__m256; 3] = std::array::from_fn(|k| splat(g.n2[k]));
    let d1: [__m256; 3] = std::array::from_fn(|k| splat(g.d1[k]));
    let st = state.as_mut_ptr();
    let mut sums: [[__m256d; 2]; 6] =
        std::array::from_fn(|i| [_mm256_loadu_pd(acc.sums[i].as_ptr()), _mm256_loadu_pd(acc.sums[i].as_ptr().add(4))]);
    let lane_ids = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for x in (0..w).step_by(LANES) {
        // tile[m][i]: map m at step i, 8 columns. Maps go two at a time so
        // that six independent recursions overlap.
        let mut tile = [[_mm256_setzero_ps(); LANES]; MAPS];
        for m0 in (0..MAPS).step_by(2) {
            let pair = (MAPS - m0).min(2);
            let s = |m: usize, k: usize| st.add((6 * m + k) * stride + x);
            let load = |m: usize| Poles {
                p1: [_mm256_loadu_ps(s(m, 0)), _mm256_loadu_ps(s(m, 1)), _mm256_loadu_ps(s(m, 2))],
                p2: [_mm256_loadu_ps(s(m, 3)), _mm256_loadu_ps(s(m, 4)), _mm256_loadu_ps(s(m, 5))],
            };
            let mut poles = [load(m0), if pair == 2 { load(m0 + 1) } else { Poles::zero() }];
            #[allow(clippy::needless_range_loop)]
            for i in 0..steps {
                for (j, p) in poles.iter_mut().enumerate().take(pair) {
                    let m = m0 + j;
                    let l = _mm256_loadu_ps(blk.left[i][m].as_ptr().add(x));
                    let r = _mm256_loadu_ps(blk.right[i][m].as_ptr().add(x));
                    tile[m][i] = p.step(&n2, &d1, _mm256_add_ps(l, r));
                }
            }
            for (j, p) in poles.iter().enumerate().take(pair) {
                for k in 0..3 {
                    _mm256_storeu_ps(s(m0 + j, k), p.p1[k]);
                    _mm256_storeu_ps(s(m0 + j, 3 + k), p.p2[k]);
                }
            }
        }
        let Some(xyb) = &blk.xyb else { continue };
        let valid = _mm256_cmpgt_epi32(_mm256_set1_epi32((w - x).min(LANES) as i32), lane_ids);
        let mask = [
            _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(valid))),
            _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(valid))),
        ];
        for (i, [a, b]) in xyb.iter().enumerate().take(steps) {
            let blurred = std::array::from_fn(|m| tile[m][i]);
            let (av, bv) = (_mm256_loadu_ps(a.as_ptr().add(x)), _mm256_loadu_ps(b.as_ptr().add(x)));
            if x + LANES <= w {
                add_terms::<false>(blurred, av, bv, &mask, &mut sums);
            } else {
                add_terms::<true>(blurred, av, bv, &mask, &mut sums);
            }
        }
    }
    for (i, s) in sums.iter().enumerate() {
        _mm256_storeu_pd(acc.sums[i].as_mut_ptr(), s[0]);
        _mm256_storeu_pd(acc.sums[i].as_mut_ptr().add(4), s[1]);
    }
}
