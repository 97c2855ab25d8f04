//! AVX-512 versions of the kernels where 512-bit vectors and AVX-512's
//! 64-bit arithmetic (arithmetic shifts, min/max, int64-to-float
//! conversion, masked moves) pay: decoupling, CSF, masking, reference
//! energy and the 32-bit DWT. Same exactness arguments as the AVX2 ones
//! (see `x86.rs`); every function falls back to the scalar kernel for the
//! row end.

use std::arch::x86_64::*;
use std::ops::Range;

use super::super::params::{CmShifts, DenShifts};
use super::super::scalar::{self, DIV_LOOKUP, HI, LO, ONE_BY_15_Q17, ONE_BY_15_Q32, ONE_BY_30_Q17, ONE_BY_30_Q32, ROUND_Q32};

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn ld(p: *const i32) -> __m512i {
    _mm512_loadu_si512(p as *const _)
}
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn st(p: *mut i32, v: __m512i) {
    _mm512_storeu_si512(p as *mut _, v)
}
/// Sixteen i16 widened to i32 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn ld16x16(p: *const i16) -> __m512i {
    _mm512_cvtepi16_epi32(_mm256_loadu_si256(p as *const __m256i))
}
/// Eight i32 widened to i64 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn ld8x64(p: *const i32) -> __m512i {
    _mm512_cvtepi32_epi64(_mm256_loadu_si256(p as *const __m256i))
}

/// Truncates i32 lanes to i16 and sign-extends back (C `int16_t`).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn trunc16(x: __m512i) -> __m512i {
    _mm512_srai_epi32::<16>(_mm512_slli_epi32::<16>(x))
}

/// Even and odd 64-bit lane results merged back into sixteen i32 lanes
/// (the low dword of each).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn merge_even_odd(even: __m512i, odd: __m512i) -> __m512i {
    _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64::<32>(odd))
}

// ---------------------------------------------------------------- level 0

/// Angle test of sixteen i32 lanes (see `avx2::angle8`).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn angle16(oh: __m512i, ov: __m512i, th: __m512i, tv: __m512i, cos_sq: __m512d) -> __mmask16 {
    let dot = _mm512_add_epi32(_mm512_mullo_epi32(oh, th), _mm512_mullo_epi32(ov, tv));
    let o2 = _mm512_add_epi32(_mm512_mullo_epi32(oh, oh), _mm512_mullo_epi32(ov, ov));
    let t2 = _mm512_add_epi32(_mm512_mullo_epi32(th, th), _mm512_mullo_epi32(tv, tv));
    // Only 2^31 wraps, reading as i32::MIN.
    let min = _mm512_set1_epi32(i32::MIN);
    let big = _mm512_set1_ps(2147483648.0);
    let to_f = |x: __m512i| _mm512_mask_mov_ps(_mm512_cvtepi32_ps(x), _mm512_cmpeq_epi32_mask(x, min), big);
    let (fd, fo, ft) = (to_f(dot), to_f(o2), to_f(t2));
    let q = _mm512_set1_pd(1.0 / 4096.0);
    let half = |f: __m256, g: __m256, h: __m256| -> __mmask8 {
        let d = _mm512_mul_pd(_mm512_cvtps_pd(f), q);
        let o = _mm512_mul_pd(_mm512_cvtps_pd(g), q);
        let t = _mm512_mul_pd(_mm512_cvtps_pd(h), q);
        let rhs = _mm512_mul_pd(_mm512_mul_pd(cos_sq, o), t);
        _mm512_cmp_pd_mask::<_CMP_GE_OQ>(d, _mm512_setzero_pd()) & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(_mm512_mul_pd(d, d), rhs)
    };
    let lo = |x: __m512| _mm512_castps512_ps256(x);
    let hi = |x: __m512| _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(x)));
    let m_lo = half(lo(fd), lo(fo), lo(ft)) as u16;
    let m_hi = half(hi(fd), hi(fo), hi(ft)) as u16;
    m_lo | (m_hi << 8)
}

/// Level-0 restored coefficient of sixteen i32 lanes with integer gain
/// limit (see `avx2::gain16` for the exact split of the product).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn restore16(o: __m512i, t: __m512i, angle: __mmask16, egl: __m512i) -> __m512i {
    let zero = _mm512_setzero_si512();
    let q = _mm512_i32gather_epi32::<4>(_mm512_add_epi32(o, _mm512_set1_epi32(32768)), DIV_LOOKUP.as_ptr());
    let qh = _mm512_srai_epi32::<15>(q);
    let ql = _mm512_and_si512(q, _mm512_set1_epi32(0x7fff));
    let low = _mm512_srai_epi32::<15>(_mm512_add_epi32(_mm512_mullo_epi32(ql, t), _mm512_set1_epi32(16384)));
    let k = _mm512_add_epi32(_mm512_mullo_epi32(qh, t), low);
    let full = _mm512_set1_epi32(32768);
    let k = _mm512_min_epi32(_mm512_max_epi32(k, zero), full);
    let k = _mm512_mask_mov_epi32(k, _mm512_cmpeq_epi32_mask(o, zero), full);
    let r = _mm512_srai_epi32::<15>(_mm512_add_epi32(_mm512_mullo_epi32(k, o), _mm512_set1_epi32(16384)));
    let on = angle & _mm512_cmpgt_epi32_mask(k, zero);
    let x = _mm512_mullo_epi32(r, egl);
    let r = _mm512_mask_min_epi32(r, on & _mm512_cmpgt_epi32_mask(o, zero), x, t);
    _mm512_mask_max_epi32(r, on & _mm512_cmplt_epi32_mask(o, zero), x, t)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn decouple0(o: [&[i16]; 3], t: [&[i16]; 3], egl: f64, cos_sq: f32, r: [&mut [i16]; 3], a: [&mut [i16]; 3]) {
    let Some(egl_i) = super::integer_gain(egl) else {
        return scalar::decouple0(o, t, egl, cos_sq, r, a);
    };
    let n = r[0].len();
    assert!(o.iter().chain(&t).all(|x| x.len() >= n));
    assert!(r.iter().chain(&a).all(|x| x.len() >= n));
    let [rh, rv, rd] = r;
    let [ah, av, ad] = a;
    let egl_v = _mm512_set1_epi32(egl_i);
    let cos_v = _mm512_set1_pd(cos_sq as f64);
    let mut j = 0;
    while j + 16 <= n {
        let ov16 = o.map(|x| ld16x16(x.as_ptr().add(j)));
        let tv16 = t.map(|x| ld16x16(x.as_ptr().add(j)));
        let angle = angle16(ov16[0], ov16[1], tv16[0], tv16[1], cos_v);
        for (k, (rp, ap)) in [(rh.as_mut_ptr(), ah.as_mut_ptr()), (rv.as_mut_ptr(), av.as_mut_ptr()), (rd.as_mut_ptr(), ad.as_mut_ptr())]
            .into_iter()
            .enumerate()
        {
            let rr = _mm512_cvtepi32_epi16(restore16(ov16[k], tv16[k], angle, egl_v));
            let t16 = _mm256_loadu_si256(t[k].as_ptr().add(j) as *const __m256i);
            _mm256_storeu_si256(rp.add(j) as *mut __m256i, rr);
            _mm256_storeu_si256(ap.add(j) as *mut __m256i, _mm256_sub_epi16(t16, rr));
        }
        j += 16;
    }
    scalar::decouple0(
        o.map(|x| &x[j..n]),
        t.map(|x| &x[j..n]),
        egl,
        cos_sq,
        [&mut rh[j..n], &mut rv[j..n], &mut rd[j..n]],
        [&mut ah[j..n], &mut av[j..n], &mut ad[j..n]],
    );
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn csf0_fc(src: [&[i16]; 3], rf: [u16; 3], f: &mut [i32], c: &mut [i32]) {
    let n = f.len();
    assert!(c.len() == n && src.iter().all(|s| s.len() >= n));
    let w30 = _mm512_set1_epi32(ONE_BY_30_Q17);
    let w15 = _mm512_set1_epi32(ONE_BY_15_Q17);
    let r2048 = _mm512_set1_epi32(2048);
    let mut j = 0;
    while j + 16 <= n {
        let mut fs = _mm512_setzero_si512();
        let mut cs = _mm512_setzero_si512();
        for k in 0..3 {
            let v = _mm512_mullo_epi32(ld16x16(src[k].as_ptr().add(j)), _mm512_set1_epi32(rf[k] as i32));
            let v = _mm512_add_epi32(v, _mm512_set1_epi32(scalar::CSF0_ADD[k]));
            let dst = trunc16(_mm512_sra_epi32(v, _mm_cvtsi32_si128(scalar::CSF0_SHIFT[k] as i32)));
            let m = _mm512_abs_epi32(dst);
            fs = _mm512_add_epi32(fs, trunc16(_mm512_srai_epi32::<12>(_mm512_add_epi32(_mm512_mullo_epi32(m, w30), r2048))));
            cs = _mm512_add_epi32(cs, trunc16(_mm512_srai_epi32::<12>(_mm512_add_epi32(_mm512_mullo_epi32(m, w15), r2048))));
        }
        st(f.as_mut_ptr().add(j), fs);
        st(c.as_mut_ptr().add(j), cs);
        j += 16;
    }
    scalar::csf0_fc(src.map(|s| &s[j..n]), rf, &mut f[j..], &mut c[j..]);
}

/// Cubes of sixteen non-negative i32 lanes, libvmaf-rounded, summed
/// pairwise into eight i64 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn cube16(x: __m512i, sq_add: __m512i, sq_shift: __m128i, cub_add: __m512i, cub_shift: __m128i) -> __m512i {
    let one = |x: __m512i| {
        let sq = _mm512_srl_epi64(_mm512_add_epi64(_mm512_mul_epu32(x, x), sq_add), sq_shift);
        _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(sq, x), cub_add), cub_shift)
    };
    _mm512_add_epi64(one(x), one(_mm512_srli_epi64::<32>(x)))
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn cm0_row(x: [&[i16]; 3], rf: [u16; 3], thr: &[i32], sh: &CmShifts) -> [i64; 3] {
    let n = thr.len();
    assert!(x.iter().all(|s| s.len() >= n));
    let zero = _mm512_setzero_si512();
    let mut acc = [zero; 3];
    let mut j = 0;
    while j + 16 <= n {
        let th = ld(thr.as_ptr().add(j));
        for k in 0..3 {
            let v = _mm512_mullo_epi32(ld16x16(x[k].as_ptr().add(j)), _mm512_set1_epi32(rf[k] as i32));
            let t = _mm512_sll_epi32(th, _mm_cvtsi32_si128(sh.thr_shift[k] as i32));
            let v = _mm512_max_epi32(_mm512_sub_epi32(_mm512_abs_epi32(v), t), zero);
            let c = cube16(
                v,
                _mm512_set1_epi64(sh.sq_add[k]),
                _mm_cvtsi32_si128(sh.sq_shift[k] as i32),
                _mm512_set1_epi64(sh.cub_add[k]),
                _mm_cvtsi32_si128(sh.cub_shift[k] as i32),
            );
            acc[k] = _mm512_add_epi64(acc[k], c);
        }
        j += 16;
    }
    let tail = scalar::cm0_row(x.map(|s| &s[j..n]), rf, &thr[j..], sh);
    std::array::from_fn(|k| _mm512_reduce_add_epi64(acc[k]).wrapping_add(tail[k]))
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn den0_row(x: [&[i16]; 3]) -> [u64; 3] {
    let mut out = [0u64; 3];
    for k in 0..3 {
        let s = x[k];
        let n = s.len();
        let mut acc = _mm512_setzero_si512();
        let mut j = 0;
        while j + 16 <= n {
            let m = _mm512_cvtepu16_epi32(_mm256_abs_epi16(_mm256_loadu_si256(s.as_ptr().add(j) as *const __m256i)));
            let sq = _mm512_mullo_epi32(m, m);
            acc = _mm512_add_epi64(acc, _mm512_mul_epu32(sq, m));
            acc = _mm512_add_epi64(acc, _mm512_mul_epu32(_mm512_srli_epi64::<32>(sq), _mm512_srli_epi64::<32>(m)));
            j += 16;
        }
        let tail = scalar::den0_row([&s[j..], &[], &[]])[0];
        out[k] = (_mm512_reduce_add_epi64(acc) as u64).wrapping_add(tail);
    }
    out
}

// ----------------------------------------------------------- levels 1..3

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn dwt_vertical(rows: [&[i32]; 4], shift: u32, add: i64, lo: &mut [i32], hi: &mut [i32]) {
    let n = lo.len();
    assert!(hi.len() == n && rows.iter().all(|r| r.len() >= n));
    let addv = _mm512_set1_epi64(add);
    let sh = _mm_cvtsi32_si128(shift as i32);
    // Only the low 32 bits of the shifted sum are kept (shift <= 16).
    let fin = |x: __m512i| _mm512_srl_epi64(_mm512_add_epi64(x, addv), sh);
    let mut j = 0;
    while j + 16 <= n {
        let s = rows.map(|r| ld(r.as_ptr().add(j)));
        for (c, out) in [(&LO, lo.as_mut_ptr()), (&HI, hi.as_mut_ptr())] {
            let mut e = _mm512_setzero_si512();
            let mut o = _mm512_setzero_si512();
            for k in 0..4 {
                let ck = _mm512_set1_epi64(c[k] as i64);
                e = _mm512_add_epi64(e, _mm512_mul_epi32(s[k], ck));
                o = _mm512_add_epi64(o, _mm512_mul_epi32(_mm512_srli_epi64::<32>(s[k]), ck));
            }
            st(out.add(j), merge_even_odd(fin(e), fin(o)));
        }
        j += 16;
    }
    scalar::dwt_vertical(rows.map(|r| &r[j..n]), shift, add, &mut lo[j..], &mut hi[j..]);
}

/// Eight horizontal outputs from inputs (2j-1 ..) (`x`) and (2j+1 ..)
/// (`y`), as eight i32.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn hfilter8(x: __m512i, y: __m512i, c: &[i32; 4], addv: __m512i, sh: __m128i) -> __m256i {
    let m = |v: __m512i, k: usize| _mm512_mul_epi32(v, _mm512_set1_epi64(c[k] as i64));
    let s = _mm512_add_epi64(
        _mm512_add_epi64(m(x, 0), m(_mm512_srli_epi64::<32>(x), 1)),
        _mm512_add_epi64(m(y, 2), m(_mm512_srli_epi64::<32>(y), 3)),
    );
    _mm512_cvtepi64_epi32(_mm512_srl_epi64(_mm512_add_epi64(s, addv), sh))
}

#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn dwt_horizontal(
    lo: &[i32],
    hi: &[i32],
    shift: u32,
    add: i64,
    range: Range<usize>,
    a: &mut [i32],
    v: &mut [i32],
    h: &mut [i32],
    d: &mut [i32],
) {
    let n = lo.len();
    assert!(hi.len() == n && range.end <= n.div_ceil(2));
    assert!(range.end <= a.len() && range.end <= v.len() && range.end <= h.len() && range.end <= d.len());
    let first = range.start.max(1).min(range.end);
    scalar::dwt_horizontal(lo, hi, shift, add, range.start..first, a, v, h, d);
    let addv = _mm512_set1_epi64(add);
    let sh = _mm_cvtsi32_si128(shift as i32);
    let mut j = first;
    // Eight outputs read up to input 2j + 16.
    while j + 8 <= range.end && 2 * j + 16 < n {
        for (src, o1, o2) in [(lo.as_ptr(), a.as_mut_ptr(), v.as_mut_ptr()), (hi.as_ptr(), h.as_mut_ptr(), d.as_mut_ptr())] {
            let p = src.add(2 * j - 1);
            let (x, y) = (ld(p), ld(p.add(2)));
            _mm256_storeu_si256(o1.add(j) as *mut __m256i, hfilter8(x, y, &LO, addv, sh));
            _mm256_storeu_si256(o2.add(j) as *mut __m256i, hfilter8(x, y, &HI, addv, sh));
        }
        j += 8;
    }
    scalar::dwt_horizontal(lo, hi, shift, add, j..range.end, a, v, h, d);
}

/// Gain of levels 1..3 (see `scalar::gain32`) for eight i64 lanes of
/// sign-extended i32 `o`, `t`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn gain32x8(o: __m512i, t: __m512i) -> __m512i {
    let zero = _mm512_setzero_si512();
    let one = _mm512_set1_epi64(1);
    let m = _mm512_abs_epi64(o);
    let small = _mm512_cmplt_epi64_mask(m, _mm512_set1_epi64(32768));
    // 17 - clz32(m) = floor(log2(m)) - 14, from the exact double's exponent.
    let e = _mm512_cvttpd_epi64(_mm512_getexp_pd(_mm512_cvtepi64_pd(m)));
    let k = _mm512_maskz_sub_epi64(!small, e, _mm512_set1_epi64(14));
    let rounded = _mm512_srlv_epi64(_mm512_add_epi64(m, _mm512_sllv_epi64(one, _mm512_sub_epi64(k, one))), k);
    let msb = _mm512_mask_mov_epi64(rounded, small, m);
    let q = _mm512_i64gather_epi32::<4>(_mm512_add_epi64(msb, _mm512_set1_epi64(32768)), DIV_LOOKUP.as_ptr());
    let p = _mm512_mul_epi32(_mm512_cvtepi32_epi64(q), t);
    let p = _mm512_mask_sub_epi64(p, _mm512_cmplt_epi64_mask(o, zero), zero, p);
    // 1 << (14 + k) as a C int: 1 << 31 is i32::MIN.
    let round = _mm512_sllv_epi64(one, _mm512_add_epi64(k, _mm512_set1_epi64(14)));
    let bit31 = _mm512_set1_epi64(1 << 31);
    let round = _mm512_sub_epi64(_mm512_xor_si512(round, bit31), bit31);
    let r = _mm512_srav_epi64(_mm512_add_epi64(p, round), _mm512_add_epi64(k, _mm512_set1_epi64(15)));
    let full = _mm512_set1_epi64(32768);
    let r = _mm512_max_epi64(_mm512_min_epi64(r, full), zero);
    _mm512_mask_mov_epi64(r, _mm512_cmpeq_epi64_mask(o, zero), full)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn decouple(o: [&[i32]; 3], t: [&[i32]; 3], egl: f64, cos_sq: f32, r: [&mut [i32]; 3], a: [&mut [i32]; 3]) {
    let Some(egl_i) = super::integer_gain(egl) else {
        return scalar::decouple(o, t, egl, cos_sq, r, a);
    };
    let n = r[0].len();
    assert!(o.iter().chain(&t).all(|x| x.len() >= n));
    assert!(r.iter().chain(&a).all(|x| x.len() >= n));
    let [rh, rv, rd] = r;
    let [ah, av, ad] = a;
    let zero = _mm512_setzero_si512();
    let egl_v = _mm512_set1_epi64(egl_i as i64);
    let cos_v = _mm512_set1_pd(cos_sq as f64);
    let q = _mm512_set1_pd(1.0 / 4096.0);
    // (double)(float)x, with one correct rounding to float.
    let f = |x: __m512i| _mm512_mul_pd(_mm512_cvtps_pd(_mm512_cvtepi64_ps(x)), q);
    let mut j = 0;
    while j + 8 <= n {
        let ov = o.map(|x| ld8x64(x.as_ptr().add(j)));
        let tv = t.map(|x| ld8x64(x.as_ptr().add(j)));
        let dot = _mm512_add_epi64(_mm512_mul_epi32(ov[0], tv[0]), _mm512_mul_epi32(ov[1], tv[1]));
        let o2 = _mm512_add_epi64(_mm512_mul_epi32(ov[0], ov[0]), _mm512_mul_epi32(ov[1], ov[1]));
        let t2 = _mm512_add_epi64(_mm512_mul_epi32(tv[0], tv[0]), _mm512_mul_epi32(tv[1], tv[1]));
        let d = f(dot);
        let rhs = _mm512_mul_pd(_mm512_mul_pd(cos_v, f(o2)), f(t2));
        let angle = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(d, _mm512_setzero_pd())
            & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(_mm512_mul_pd(d, d), rhs);
        for (k, (rp, ap)) in [(rh.as_mut_ptr(), ah.as_mut_ptr()), (rv.as_mut_ptr(), av.as_mut_ptr()), (rd.as_mut_ptr(), ad.as_mut_ptr())]
            .into_iter()
            .enumerate()
        {
            let (oo, tt) = (ov[k], tv[k]);
            let g = gain32x8(oo, tt);
            let rr = _mm512_srai_epi64::<15>(_mm512_add_epi64(_mm512_mul_epi32(g, oo), _mm512_set1_epi64(16384)));
            let on = angle & _mm512_cmpgt_epi64_mask(g, zero);
            let x = _mm512_mul_epi32(rr, egl_v);
            let rr = _mm512_mask_min_epi64(rr, on & _mm512_cmpgt_epi64_mask(oo, zero), x, tt);
            let rr = _mm512_mask_max_epi64(rr, on & _mm512_cmplt_epi64_mask(oo, zero), x, tt);
            let aa = _mm512_sub_epi64(tt, rr);
            _mm256_storeu_si256(rp.add(j) as *mut __m256i, _mm512_cvtepi64_epi32(rr));
            _mm256_storeu_si256(ap.add(j) as *mut __m256i, _mm512_cvtepi64_epi32(aa));
        }
        j += 8;
    }
    scalar::decouple(
        o.map(|x| &x[j..n]),
        t.map(|x| &x[j..n]),
        egl,
        cos_sq,
        [&mut rh[j..n], &mut rv[j..n], &mut rd[j..n]],
        [&mut ah[j..n], &mut av[j..n], &mut ad[j..n]],
    );
}

/// `scalar::csf32` of sixteen lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn csf32x16(x: __m512i, rf: __m512i) -> __m512i {
    let m = _mm512_abs_epi32(x);
    let neg = _mm512_srai_epi32::<31>(x);
    let add = _mm512_set1_epi64(1 << 27);
    let one = |m: __m512i, neg: __m512i| {
        // rf * |x| fits u64 below 2^63; the sign is applied after.
        let p = _mm512_mul_epu32(m, rf);
        let sgn = _mm512_shuffle_epi32::<0b10_10_00_00>(neg);
        let p = _mm512_sub_epi64(_mm512_xor_si512(p, sgn), sgn);
        _mm512_srli_epi64::<28>(_mm512_add_epi64(p, add))
    };
    merge_even_odd(one(m, neg), one(_mm512_srli_epi64::<32>(m), _mm512_srli_epi64::<32>(neg)))
}

/// `scalar::q32_weight` of sixteen lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn q32_weight16(x: __m512i, w: __m512i) -> __m512i {
    let m = _mm512_abs_epi32(x);
    let round = _mm512_set1_epi64(ROUND_Q32);
    let e = _mm512_add_epi64(_mm512_mul_epi32(m, w), round);
    let o = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64::<32>(m), w), round);
    _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64::<32>(e), o)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn csf_fc(src: [&[i32]; 3], rf: [u32; 3], f: &mut [i32], c: &mut [i32]) {
    let n = f.len();
    assert!(c.len() == n && src.iter().all(|s| s.len() >= n));
    let w30 = _mm512_set1_epi64(ONE_BY_30_Q32);
    let w15 = _mm512_set1_epi64(ONE_BY_15_Q32);
    let mut j = 0;
    while j + 16 <= n {
        let mut fs = _mm512_setzero_si512();
        let mut cs = _mm512_setzero_si512();
        for k in 0..3 {
            let dst = csf32x16(ld(src[k].as_ptr().add(j)), _mm512_set1_epi64(rf[k] as i64));
            fs = _mm512_add_epi32(fs, q32_weight16(dst, w30));
            cs = _mm512_add_epi32(cs, q32_weight16(dst, w15));
        }
        st(f.as_mut_ptr().add(j), fs);
        st(c.as_mut_ptr().add(j), cs);
        j += 16;
    }
    scalar::csf_fc(src.map(|s| &s[j..n]), rf, &mut f[j..], &mut c[j..]);
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn cm_row(x: [&[i32]; 3], rf: [u32; 3], thr: &[i32], sh: &CmShifts) -> [i64; 3] {
    let n = thr.len();
    assert!(x.iter().all(|s| s.len() >= n));
    let zero = _mm512_setzero_si512();
    let sq_add = _mm512_set1_epi64(sh.sq_add[0]);
    let sq_shift = _mm_cvtsi32_si128(sh.sq_shift[0] as i32);
    let cub_add = _mm512_set1_epi64(sh.cub_add[0]);
    let cub_shift = _mm_cvtsi32_si128(sh.cub_shift[0] as i32);
    let mut acc = [zero; 3];
    let mut j = 0;
    while j + 16 <= n {
        let th = ld(thr.as_ptr().add(j));
        for k in 0..3 {
            let v = csf32x16(ld(x[k].as_ptr().add(j)), _mm512_set1_epi64(rf[k] as i64));
            let v = _mm512_max_epi32(_mm512_sub_epi32(_mm512_abs_epi32(v), th), zero);
            acc[k] = _mm512_add_epi64(acc[k], cube16(v, sq_add, sq_shift, cub_add, cub_shift));
        }
        j += 16;
    }
    let tail = scalar::cm_row(x.map(|s| &s[j..n]), rf, &thr[j..], sh);
    std::array::from_fn(|k| _mm512_reduce_add_epi64(acc[k]).wrapping_add(tail[k]))
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub unsafe fn den_row(x: [&[i32]; 3], sh: &DenShifts) -> [u64; 3] {
    let sq_add = _mm512_set1_epi64(sh.sq_add as i64);
    let sq_shift = _mm_cvtsi32_si128(sh.sq_shift as i32);
    let cub_add = _mm512_set1_epi64(sh.cub_add as i64);
    let cub_shift = _mm_cvtsi32_si128(sh.cub_shift as i32);
    let one = |m: __m512i| {
        let sq = _mm512_srl_epi64(_mm512_add_epi64(_mm512_mul_epu32(m, m), sq_add), sq_shift);
        // The shifted square can reach 33 bits: multiply as two halves.
        let p = _mm512_add_epi64(
            _mm512_mul_epu32(sq, m),
            _mm512_slli_epi64::<32>(_mm512_mul_epu32(_mm512_srli_epi64::<32>(sq), m)),
        );
        _mm512_srl_epi64(_mm512_add_epi64(p, cub_add), cub_shift)
    };
    let mut out = [0u64; 3];
    for k in 0..3 {
        let s = x[k];
        let n = s.len();
        let mut acc = _mm512_setzero_si512();
        let mut j = 0;
        while j + 16 <= n {
            let m = _mm512_abs_epi32(ld(s.as_ptr().add(j)));
            acc = _mm512_add_epi64(acc, one(_mm512_and_si512(m, _mm512_set1_epi64(0xffff_ffff))));
            acc = _mm512_add_epi64(acc, one(_mm512_srli_epi64::<32>(m)));
            j += 16;
        }
        let tail = scalar::den_row([&s[j..], &[], &[]], sh)[0];
        out[k] = (_mm512_reduce_add_epi64(acc) as u64).wrapping_add(tail);
    }
    out
}
