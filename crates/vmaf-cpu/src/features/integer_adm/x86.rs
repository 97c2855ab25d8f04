//! AVX2 row kernels of integer ADM, bit-identical to `scalar.rs`, and the
//! tables that add the AVX-512 ones (`x86/avx512.rs`).
//!
//! Each kernel has the signature of its scalar twin and falls back to it
//! for row ends and for the few samples a vector cannot cover. The tables
//! are only handed out after the CPU has been checked, which is what makes
//! the safe wrappers around the `#[target_feature]` functions sound.
//!
//! Notes on exactness (what the vector code must reproduce):
//! - level-0 DWT sums fit 32 bits once samples are centred on zero, so the
//!   16-bit multiply-add instructions compute them exactly;
//! - levels 1..3 need 64-bit products (`mul_epi32`); where only the low 32
//!   bits of a shifted result are kept, a logical shift gives the same bits
//!   as libvmaf's arithmetic one;
//! - the level-0 gain `(q * t + 2^14) >> 15` is split as
//!   `(q >> 15) * t + ((q & 0x7fff) * t + 2^14 >> 15)`, exact in 32 bits;
//! - the angle test converts 64-bit integers to `float`: AVX2 has no such
//!   conversion, so the integer is first reduced to 53 significant bits
//!   with a sticky bit (which rounds to the same float) and converted
//!   through double.

use std::arch::x86_64::*;
use std::ops::Range;

use super::compute::Kernels;
use super::params::{CmShifts, DenShifts};
use super::scalar::{self, DIV_LOOKUP, HI, LO, ONE_BY_15_Q17, ONE_BY_15_Q32, ONE_BY_30_Q17, ONE_BY_30_Q32, ROUND_Q32};

/// The AVX2 kernels, when this CPU has AVX2.
pub fn avx2() -> Option<&'static Kernels> {
    if is_x86_feature_detected!("avx2") {
        Some(&AVX2)
    } else {
        None
    }
}

/// The AVX-512 kernels (AVX2 ones where 512 bits gain nothing), when this
/// CPU has AVX-512 F, BW, DQ and VL.
pub fn avx512() -> Option<&'static Kernels> {
    if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx2")
    {
        Some(&AVX512)
    } else {
        None
    }
}

static AVX512: Kernels = Kernels {
    decouple0: decouple0_512,
    csf0_fc: csf0_fc_512,
    cm0_row: cm0_row_512,
    den0_row: den0_row_512,
    dwt_vertical: dwt_vertical_512,
    dwt_horizontal: dwt_horizontal_512,
    decouple: decouple_512,
    csf_fc: csf_fc_512,
    cm_row: cm_row_512,
    den_row: den_row_512,
    ..AVX2
};

static AVX2: Kernels = Kernels {
    dwt0_vertical_u8,
    dwt0_vertical_u16,
    dwt0_horizontal,
    decouple0,
    csf0_fc,
    cm0_row,
    den0_row,
    dwt_vertical,
    dwt_horizontal,
    decouple,
    csf_fc,
    cm_row,
    den_row,
    row_sum3,
    threshold,
};

// Safe entry points. SAFETY (all of them): only reachable through `AVX2`,
// which `avx2()` returns only when the CPU supports AVX2.

fn dwt0_vertical_u8(rows: [&[u8]; 4], bpc: u32, lo: &mut [i16], hi: &mut [i16]) {
    unsafe { avx2::dwt0_vertical_u8(rows, bpc, lo, hi) }
}
fn dwt0_vertical_u16(rows: [&[u16]; 4], bpc: u32, lo: &mut [i16], hi: &mut [i16]) {
    unsafe { avx2::dwt0_vertical_u16(rows, bpc, lo, hi) }
}
fn dwt0_horizontal(
    lo: &[i16],
    hi: &[i16],
    range: Range<usize>,
    a: &mut [i32],
    v: &mut [i16],
    h: &mut [i16],
    d: &mut [i16],
) {
    unsafe { avx2::dwt0_horizontal(lo, hi, range, a, v, h, d) }
}
fn decouple0(o: [&[i16]; 3], t: [&[i16]; 3], egl: f64, cos_sq: f32, r: [&mut [i16]; 3], a: [&mut [i16]; 3]) {
    unsafe { avx2::decouple0(o, t, egl, cos_sq, r, a) }
}
fn csf0_fc(src: [&[i16]; 3], rf: [u16; 3], f: &mut [i32], c: &mut [i32]) {
    unsafe { avx2::csf0_fc(src, rf, f, c) }
}
fn cm0_row(x: [&[i16]; 3], rf: [u16; 3], thr: &[i32], sh: &CmShifts) -> [i64; 3] {
    unsafe { avx2::cm0_row(x, rf, thr, sh) }
}
fn den0_row(x: [&[i16]; 3]) -> [u64; 3] {
    unsafe { avx2::den0_row(x) }
}
fn dwt_vertical(rows: [&[i32]; 4], shift: u32, add: i64, lo: &mut [i32], hi: &mut [i32]) {
    unsafe { avx2::dwt_vertical(rows, shift, add, lo, hi) }
}
#[allow(clippy::too_many_arguments)]
fn dwt_horizontal(
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
    unsafe { avx2::dwt_horizontal(lo, hi, shift, add, range, a, v, h, d) }
}
fn decouple(o: [&[i32]; 3], t: [&[i32]; 3], egl: f64, cos_sq: f32, r: [&mut [i32]; 3], a: [&mut [i32]; 3]) {
    unsafe { avx2::decouple(o, t, egl, cos_sq, r, a) }
}
fn csf_fc(src: [&[i32]; 3], rf: [u32; 3], f: &mut [i32], c: &mut [i32]) {
    unsafe { avx2::csf_fc(src, rf, f, c) }
}
fn cm_row(x: [&[i32]; 3], rf: [u32; 3], thr: &[i32], sh: &CmShifts) -> [i64; 3] {
    unsafe { avx2::cm_row(x, rf, thr, sh) }
}
fn den_row(x: [&[i32]; 3], sh: &DenShifts) -> [u64; 3] {
    unsafe { avx2::den_row(x, sh) }
}
fn row_sum3(f: &[i32], n: usize, range: Range<usize>, out: &mut [i32]) {
    unsafe { avx2::row_sum3(f, n, range, out) }
}
fn threshold(up: &[i32], mid: &[i32], down: &[i32], f: &[i32], c: &[i32], out: &mut [i32]) {
    unsafe { avx2::threshold(up, mid, down, f, c, out) }
}

// SAFETY (all `_512` entry points): only reachable through `AVX512`, which
// `avx512()` returns only when the CPU supports what they enable.

fn decouple0_512(o: [&[i16]; 3], t: [&[i16]; 3], egl: f64, cos_sq: f32, r: [&mut [i16]; 3], a: [&mut [i16]; 3]) {
    unsafe { avx512::decouple0(o, t, egl, cos_sq, r, a) }
}
fn csf0_fc_512(src: [&[i16]; 3], rf: [u16; 3], f: &mut [i32], c: &mut [i32]) {
    unsafe { avx512::csf0_fc(src, rf, f, c) }
}
fn cm0_row_512(x: [&[i16]; 3], rf: [u16; 3], thr: &[i32], sh: &CmShifts) -> [i64; 3] {
    unsafe { avx512::cm0_row(x, rf, thr, sh) }
}
fn den0_row_512(x: [&[i16]; 3]) -> [u64; 3] {
    unsafe { avx512::den0_row(x) }
}
fn dwt_vertical_512(rows: [&[i32]; 4], shift: u32, add: i64, lo: &mut [i32], hi: &mut [i32]) {
    unsafe { avx512::dwt_vertical(rows, shift, add, lo, hi) }
}
#[allow(clippy::too_many_arguments)]
fn dwt_horizontal_512(
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
    unsafe { avx512::dwt_horizontal(lo, hi, shift, add, range, a, v, h, d) }
}
fn decouple_512(o: [&[i32]; 3], t: [&[i32]; 3], egl: f64, cos_sq: f32, r: [&mut [i32]; 3], a: [&mut [i32]; 3]) {
    unsafe { avx512::decouple(o, t, egl, cos_sq, r, a) }
}
fn csf_fc_512(src: [&[i32]; 3], rf: [u32; 3], f: &mut [i32], c: &mut [i32]) {
    unsafe { avx512::csf_fc(src, rf, f, c) }
}
fn cm_row_512(x: [&[i32]; 3], rf: [u32; 3], thr: &[i32], sh: &CmShifts) -> [i64; 3] {
    unsafe { avx512::cm_row(x, rf, thr, sh) }
}
fn den_row_512(x: [&[i32]; 3], sh: &DenShifts) -> [u64; 3] {
    unsafe { avx512::den_row(x, sh) }
}

/// Whether `egl` can be applied in integer arithmetic: libvmaf multiplies
/// in double, which is exact for whole gains of at most 100.
fn integer_gain(egl: f64) -> Option<i32> {
    (egl.fract() == 0.0 && (1.0..=100.0).contains(&egl)).then_some(egl as i32)
}

mod avx2 {
    use super::*;

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn ld(p: *const i32) -> __m256i {
        _mm256_loadu_si256(p as *const __m256i)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn ld16(p: *const i16) -> __m256i {
        _mm256_loadu_si256(p as *const __m256i)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn ld8x16(p: *const i16) -> __m256i {
        _mm256_cvtepi16_epi32(_mm_loadu_si128(p as *const __m128i))
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn st(p: *mut i32, v: __m256i) {
        _mm256_storeu_si256(p as *mut __m256i, v)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn st16(p: *mut i16, v: __m256i) {
        _mm256_storeu_si256(p as *mut __m256i, v)
    }

    /// A pair of 16-bit coefficients for `madd`: `a` on even lanes.
    fn pair(a: i32, b: i32) -> i32 {
        (a & 0xffff) | (b << 16)
    }

    /// Eight i32 lanes to eight i16 (values known to fit), in order.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn pack8(x: __m256i) -> __m128i {
        _mm256_castsi256_si128(_mm256_permute4x64_epi64::<0x08>(_mm256_packs_epi32(x, x)))
    }

    /// Two vectors of eight i32 (values known to fit) to sixteen i16.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn pack16(a: __m256i, b: __m256i) -> __m256i {
        _mm256_permute4x64_epi64::<0xD8>(_mm256_packs_epi32(a, b))
    }

    /// Truncates i32 lanes to i16 and sign-extends back, as a C `int16_t`
    /// assignment does.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn trunc16(x: __m256i) -> __m256i {
        _mm256_srai_epi32::<16>(_mm256_slli_epi32::<16>(x))
    }

    /// Arithmetic right shift of i64 lanes (AVX2 has only the logical one).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn sra64(x: __m256i, s: u32) -> __m256i {
        let sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
        let fill = _mm256_sll_epi64(sign, _mm_cvtsi32_si128(64 - s as i32));
        _mm256_or_si256(_mm256_srl_epi64(x, _mm_cvtsi32_si128(s as i32)), fill)
    }

    /// The low dwords of two vectors of four i64 lanes, as eight i32 in
    /// order.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn low_dwords(a: __m256i, b: __m256i) -> __m256i {
        let s = _mm256_shuffle_ps::<0x88>(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b));
        _mm256_permute4x64_epi64::<0xD8>(_mm256_castps_si256(s))
    }

    /// Even-lane and odd-lane 64-bit results merged back into eight i32
    /// lanes (the low dword of each).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn merge_even_odd(even: __m256i, odd: __m256i) -> __m256i {
        _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd))
    }

    /// Horizontal sum of four i64 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn hsum64(x: __m256i) -> i64 {
        let s = _mm_add_epi64(_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x));
        _mm_cvtsi128_si64(s).wrapping_add(_mm_extract_epi64::<1>(s))
    }

    // ------------------------------------------------------------ level 0

    /// Sixteen centred samples (16-bit) of each of four rows to low-pass and
    /// high-pass outputs.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn dwt0_vertical16(s: [__m256i; 4], add: __m256i, shift: __m128i, lo: *mut i16, hi: *mut i16) {
        let l01 = _mm256_set1_epi32(pair(LO[0], LO[1]));
        let l23 = _mm256_set1_epi32(pair(LO[2], LO[3]));
        let h01 = _mm256_set1_epi32(pair(HI[0], HI[1]));
        let h23 = _mm256_set1_epi32(pair(HI[2], HI[3]));
        let a = _mm256_unpacklo_epi16(s[0], s[1]);
        let b = _mm256_unpackhi_epi16(s[0], s[1]);
        let c = _mm256_unpacklo_epi16(s[2], s[3]);
        let d = _mm256_unpackhi_epi16(s[2], s[3]);
        let f = |x01: __m256i, x23: __m256i, c01: __m256i, c23: __m256i| {
            let sum = _mm256_add_epi32(_mm256_madd_epi16(x01, c01), _mm256_madd_epi16(x23, c23));
            _mm256_sra_epi32(_mm256_add_epi32(sum, add), shift)
        };
        // unpack/pack both work within 128-bit lanes, so the order returns.
        _mm256_storeu_si256(lo as *mut __m256i, _mm256_packs_epi32(f(a, c, l01, l23), f(b, d, l01, l23)));
        _mm256_storeu_si256(hi as *mut __m256i, _mm256_packs_epi32(f(a, c, h01, h23), f(b, d, h01, h23)));
    }

    // Σ lo_k s_k - LO_SUM * 2^(bpc-1) = Σ lo_k (s_k - 2^(bpc-1)), and the
    // high-pass taps sum to zero: centring the samples first keeps every
    // sum exact in 32 bits and lets the 16-bit multiply-add do the work.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dwt0_vertical_u8(rows: [&[u8]; 4], bpc: u32, lo: &mut [i16], hi: &mut [i16]) {
        let n = lo.len();
        assert!(hi.len() == n && rows.iter().all(|r| r.len() >= n));
        let add = 1i32 << (bpc - 1);
        let (centre, addv, shift) = (_mm256_set1_epi16(add as i16), _mm256_set1_epi32(add), _mm_cvtsi32_si128(bpc as i32));
        let mut j = 0;
        while j + 16 <= n {
            let s = rows.map(|r| {
                let x = _mm256_cvtepu8_epi16(_mm_loadu_si128(r.as_ptr().add(j) as *const __m128i));
                _mm256_sub_epi16(x, centre)
            });
            dwt0_vertical16(s, addv, shift, lo.as_mut_ptr().add(j), hi.as_mut_ptr().add(j));
            j += 16;
        }
        scalar::dwt0_vertical(rows.map(|r| &r[j..n]), bpc, &mut lo[j..], &mut hi[j..]);
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn dwt0_vertical_u16(rows: [&[u16]; 4], bpc: u32, lo: &mut [i16], hi: &mut [i16]) {
        let n = lo.len();
        assert!(hi.len() == n && rows.iter().all(|r| r.len() >= n));
        let add = 1i32 << (bpc - 1);
        // For 16-bit video the centring wraps u16 into i16, as intended.
        let (centre, addv, shift) =
            (_mm256_set1_epi16(add as u16 as i16), _mm256_set1_epi32(add), _mm_cvtsi32_si128(bpc as i32));
        // Samples above 2^bpc - 1 (possible in a file, not in video) do not
        // fit 16 bits once centred; such blocks take the scalar path, whose
        // 32-bit sums wrap exactly as libvmaf's do.
        let limit = _mm256_set1_epi16((((1i32 << bpc) - 1) ^ 0x8000) as i16);
        let flip = _mm256_set1_epi16(i16::MIN);
        let mut j = 0;
        while j + 16 <= n {
            let raw = rows.map(|r| ld16(r.as_ptr().add(j) as *const i16));
            let over = raw.iter().fold(_mm256_setzero_si256(), |acc, &x| {
                _mm256_or_si256(acc, _mm256_cmpgt_epi16(_mm256_xor_si256(x, flip), limit))
            });
            if _mm256_testz_si256(over, over) == 0 {
                let end = j + 16;
                scalar::dwt0_vertical(rows.map(|r| &r[j..end]), bpc, &mut lo[j..end], &mut hi[j..end]);
            } else {
                let s = raw.map(|x| _mm256_sub_epi16(x, centre));
                dwt0_vertical16(s, addv, shift, lo.as_mut_ptr().add(j), hi.as_mut_ptr().add(j));
            }
            j += 16;
        }
        scalar::dwt0_vertical(rows.map(|r| &r[j..n]), bpc, &mut lo[j..], &mut hi[j..]);
    }

    /// Horizontal level-0 filter. Output j reads inputs 2j-1..=2j+2: the
    /// pairs (2j-1, 2j) and (2j+1, 2j+2) are adjacent in memory, so two
    /// unaligned loads and `madd` give eight outputs.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dwt0_horizontal(
        lo: &[i16],
        hi: &[i16],
        range: Range<usize>,
        a: &mut [i32],
        v: &mut [i16],
        h: &mut [i16],
        d: &mut [i16],
    ) {
        let n = lo.len();
        assert!(hi.len() == n && range.end <= a.len() && range.end <= v.len());
        assert!(range.end <= h.len() && range.end <= d.len() && range.end <= n.div_ceil(2));
        let first = range.start.max(1).min(range.end);
        scalar::dwt0_horizontal(lo, hi, range.start..first, a, v, h, d);
        let l01 = _mm256_set1_epi32(pair(LO[0], LO[1]));
        let l23 = _mm256_set1_epi32(pair(LO[2], LO[3]));
        let h01 = _mm256_set1_epi32(pair(HI[0], HI[1]));
        let h23 = _mm256_set1_epi32(pair(HI[2], HI[3]));
        let round = _mm256_set1_epi32(32768);
        let f = |x: __m256i, y: __m256i, c01: __m256i, c23: __m256i| {
            let s = _mm256_add_epi32(_mm256_madd_epi16(x, c01), _mm256_madd_epi16(y, c23));
            _mm256_srai_epi32::<16>(_mm256_add_epi32(s, round))
        };
        let mut j = first;
        // Sixteen outputs read up to input 2j + 32.
        while j + 16 <= range.end && 2 * j + 32 < n {
            let pl = lo.as_ptr().add(2 * j - 1);
            let ph = hi.as_ptr().add(2 * j - 1);
            let (x1, y1, x2, y2) = (ld16(pl), ld16(pl.add(2)), ld16(pl.add(16)), ld16(pl.add(18)));
            st(a.as_mut_ptr().add(j), f(x1, y1, l01, l23));
            st(a.as_mut_ptr().add(j + 8), f(x2, y2, l01, l23));
            st16(v.as_mut_ptr().add(j), pack16(f(x1, y1, h01, h23), f(x2, y2, h01, h23)));
            let (x1, y1, x2, y2) = (ld16(ph), ld16(ph.add(2)), ld16(ph.add(16)), ld16(ph.add(18)));
            st16(h.as_mut_ptr().add(j), pack16(f(x1, y1, l01, l23), f(x2, y2, l01, l23)));
            st16(d.as_mut_ptr().add(j), pack16(f(x1, y1, h01, h23), f(x2, y2, h01, h23)));
            j += 16;
        }
        scalar::dwt0_horizontal(lo, hi, j..range.end, a, v, h, d);
    }

    /// The angle test for eight lanes of 32-bit products (level 0, where
    /// the sums fit 32 bits except for exactly 2^31).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn angle8(oh: __m256i, ov: __m256i, th: __m256i, tv: __m256i, cos_sq: __m256d) -> __m256i {
        let dot = _mm256_add_epi32(_mm256_mullo_epi32(oh, th), _mm256_mullo_epi32(ov, tv));
        let o2 = _mm256_add_epi32(_mm256_mullo_epi32(oh, oh), _mm256_mullo_epi32(ov, ov));
        let t2 = _mm256_add_epi32(_mm256_mullo_epi32(th, th), _mm256_mullo_epi32(tv, tv));
        // The only sum that wraps is 2^31 (from -32768 squared twice),
        // which reads as i32::MIN.
        let min = _mm256_set1_epi32(i32::MIN);
        let big = _mm256_set1_ps(2147483648.0);
        let to_f = |x: __m256i| _mm256_blendv_ps(_mm256_cvtepi32_ps(x), big, _mm256_castsi256_ps(_mm256_cmpeq_epi32(x, min)));
        let (fd, fo, ft) = (to_f(dot), to_f(o2), to_f(t2));
        let q = _mm256_set1_pd(1.0 / 4096.0);
        let half = |f: __m128, g: __m128, h: __m128| {
            let d = _mm256_mul_pd(_mm256_cvtps_pd(f), q);
            let o = _mm256_mul_pd(_mm256_cvtps_pd(g), q);
            let t = _mm256_mul_pd(_mm256_cvtps_pd(h), q);
            let rhs = _mm256_mul_pd(_mm256_mul_pd(cos_sq, o), t);
            _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GE_OQ>(d, _mm256_setzero_pd()),
                _mm256_cmp_pd::<_CMP_GE_OQ>(_mm256_mul_pd(d, d), rhs),
            )
        };
        let lo = half(_mm256_castps256_ps128(fd), _mm256_castps256_ps128(fo), _mm256_castps256_ps128(ft));
        let hi = half(_mm256_extractf128_ps::<1>(fd), _mm256_extractf128_ps::<1>(fo), _mm256_extractf128_ps::<1>(ft));
        low_dwords(_mm256_castpd_si256(lo), _mm256_castpd_si256(hi))
    }

    /// Level-0 gain clamp(((q * t + 2^14) >> 15), 0, 32768) with q the
    /// reciprocal of o, in 32-bit lanes; 32768 where o is 0.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn gain16(o: __m256i, t: __m256i) -> __m256i {
        let q = _mm256_i32gather_epi32::<4>(DIV_LOOKUP.as_ptr(), _mm256_add_epi32(o, _mm256_set1_epi32(32768)));
        let qh = _mm256_srai_epi32::<15>(q);
        let ql = _mm256_and_si256(q, _mm256_set1_epi32(0x7fff));
        let low = _mm256_srai_epi32::<15>(_mm256_add_epi32(_mm256_mullo_epi32(ql, t), _mm256_set1_epi32(16384)));
        let k = _mm256_add_epi32(_mm256_mullo_epi32(qh, t), low);
        let full = _mm256_set1_epi32(32768);
        let k = _mm256_min_epi32(_mm256_max_epi32(k, _mm256_setzero_si256()), full);
        _mm256_blendv_epi8(k, full, _mm256_cmpeq_epi32(o, _mm256_setzero_si256()))
    }

    /// Restored coefficient (level 0, 32-bit lanes) with integer gain limit.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn restore16(o: __m256i, t: __m256i, angle: __m256i, egl: __m256i) -> __m256i {
        let zero = _mm256_setzero_si256();
        let k = gain16(o, t);
        let r = _mm256_srai_epi32::<15>(_mm256_add_epi32(_mm256_mullo_epi32(k, o), _mm256_set1_epi32(16384)));
        let on = _mm256_and_si256(angle, _mm256_cmpgt_epi32(k, zero));
        let pos = _mm256_and_si256(on, _mm256_cmpgt_epi32(o, zero));
        let neg = _mm256_and_si256(on, _mm256_cmpgt_epi32(zero, o));
        let x = _mm256_mullo_epi32(r, egl);
        let r = _mm256_blendv_epi8(r, _mm256_min_epi32(x, t), pos);
        _mm256_blendv_epi8(r, _mm256_max_epi32(x, t), neg)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn decouple0(
        o: [&[i16]; 3],
        t: [&[i16]; 3],
        egl: f64,
        cos_sq: f32,
        r: [&mut [i16]; 3],
        a: [&mut [i16]; 3],
    ) {
        let Some(egl_i) = integer_gain(egl) else {
            return scalar::decouple0(o, t, egl, cos_sq, r, a);
        };
        let n = r[0].len();
        assert!(o.iter().chain(&t).all(|x| x.len() >= n));
        assert!(r.iter().chain(&a).all(|x| x.len() >= n));
        let [rh, rv, rd] = r;
        let [ah, av, ad] = a;
        let egl_v = _mm256_set1_epi32(egl_i);
        let cos_v = _mm256_set1_pd(cos_sq as f64);
        let mut j = 0;
        while j + 8 <= n {
            let oh = ld8x16(o[0].as_ptr().add(j));
            let ov = ld8x16(o[1].as_ptr().add(j));
            let od = ld8x16(o[2].as_ptr().add(j));
            let th = ld8x16(t[0].as_ptr().add(j));
            let tv = ld8x16(t[1].as_ptr().add(j));
            let td = ld8x16(t[2].as_ptr().add(j));
            let angle = angle8(oh, ov, th, tv, cos_v);
            for (oo, tt, tp, rp, ap) in [
                (oh, th, t[0].as_ptr(), rh.as_mut_ptr(), ah.as_mut_ptr()),
                (ov, tv, t[1].as_ptr(), rv.as_mut_ptr(), av.as_mut_ptr()),
                (od, td, t[2].as_ptr(), rd.as_mut_ptr(), ad.as_mut_ptr()),
            ] {
                let rr = pack8(restore16(oo, tt, angle, egl_v));
                let t16 = _mm_loadu_si128(tp.add(j) as *const __m128i);
                _mm_storeu_si128(rp.add(j) as *mut __m128i, rr);
                _mm_storeu_si128(ap.add(j) as *mut __m128i, _mm_sub_epi16(t16, rr));
            }
            j += 8;
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

    #[target_feature(enable = "avx2")]
    pub unsafe fn csf0_fc(src: [&[i16]; 3], rf: [u16; 3], f: &mut [i32], c: &mut [i32]) {
        let n = f.len();
        assert!(c.len() == n && src.iter().all(|s| s.len() >= n));
        let w30 = _mm256_set1_epi32(ONE_BY_30_Q17);
        let w15 = _mm256_set1_epi32(ONE_BY_15_Q17);
        let r2048 = _mm256_set1_epi32(2048);
        let mut j = 0;
        while j + 8 <= n {
            let mut fs = _mm256_setzero_si256();
            let mut cs = _mm256_setzero_si256();
            for k in 0..3 {
                let x = ld8x16(src[k].as_ptr().add(j));
                let v = _mm256_mullo_epi32(x, _mm256_set1_epi32(rf[k] as i32));
                let v = _mm256_add_epi32(v, _mm256_set1_epi32(scalar::CSF0_ADD[k]));
                let dst = trunc16(_mm256_sra_epi32(v, _mm_cvtsi32_si128(scalar::CSF0_SHIFT[k] as i32)));
                let m = _mm256_abs_epi32(dst);
                let fl = trunc16(_mm256_srai_epi32::<12>(_mm256_add_epi32(_mm256_mullo_epi32(m, w30), r2048)));
                let cl = trunc16(_mm256_srai_epi32::<12>(_mm256_add_epi32(_mm256_mullo_epi32(m, w15), r2048)));
                fs = _mm256_add_epi32(fs, fl);
                cs = _mm256_add_epi32(cs, cl);
            }
            st(f.as_mut_ptr().add(j), fs);
            st(c.as_mut_ptr().add(j), cs);
            j += 8;
        }
        scalar::csf0_fc(src.map(|s| &s[j..n]), rf, &mut f[j..], &mut c[j..]);
    }

    /// Cubes of eight non-negative i32 lanes, rounded as libvmaf does,
    /// summed pairwise into four i64 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn cube8(x: __m256i, sq_add: __m256i, sq_shift: __m128i, cub_add: __m256i, cub_shift: u32) -> __m256i {
        let one = |x: __m256i| {
            let sq = _mm256_srl_epi64(_mm256_add_epi64(_mm256_mul_epu32(x, x), sq_add), sq_shift);
            // The square is truncated to 32 bits and taken as signed.
            let c = _mm256_add_epi64(_mm256_mul_epi32(sq, x), cub_add);
            sra64(c, cub_shift)
        };
        _mm256_add_epi64(one(x), one(_mm256_srli_epi64::<32>(x)))
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn cm0_row(x: [&[i16]; 3], rf: [u16; 3], thr: &[i32], sh: &CmShifts) -> [i64; 3] {
        let n = thr.len();
        assert!(x.iter().all(|s| s.len() >= n));
        let zero = _mm256_setzero_si256();
        let mut acc = [zero; 3];
        let mut j = 0;
        while j + 8 <= n {
            let th = ld(thr.as_ptr().add(j));
            for k in 0..3 {
                let v = _mm256_mullo_epi32(ld8x16(x[k].as_ptr().add(j)), _mm256_set1_epi32(rf[k] as i32));
                let t = _mm256_sll_epi32(th, _mm_cvtsi32_si128(sh.thr_shift[k] as i32));
                let v = _mm256_max_epi32(_mm256_sub_epi32(_mm256_abs_epi32(v), t), zero);
                // Below-threshold samples add exactly 0 (the rounding
                // constants are below the shifts), common for AIM.
                let c = cube8(
                    v,
                    _mm256_set1_epi64x(sh.sq_add[k]),
                    _mm_cvtsi32_si128(sh.sq_shift[k] as i32),
                    _mm256_set1_epi64x(sh.cub_add[k]),
                    sh.cub_shift[k],
                );
                acc[k] = _mm256_add_epi64(acc[k], c);
            }
            j += 8;
        }
        let tail = scalar::cm0_row(x.map(|s| &s[j..n]), rf, &thr[j..], sh);
        std::array::from_fn(|k| hsum64(acc[k]).wrapping_add(tail[k]))
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn den0_row(x: [&[i16]; 3]) -> [u64; 3] {
        let mut out = [0u64; 3];
        for k in 0..3 {
            let s = x[k];
            let n = s.len();
            let mut acc = _mm256_setzero_si256();
            let mut j = 0;
            while j + 8 <= n {
                let m = _mm256_cvtepu16_epi32(_mm_abs_epi16(_mm_loadu_si128(s.as_ptr().add(j) as *const __m128i)));
                let sq = _mm256_mullo_epi32(m, m);
                acc = _mm256_add_epi64(acc, _mm256_mul_epu32(sq, m));
                acc = _mm256_add_epi64(
                    acc,
                    _mm256_mul_epu32(_mm256_srli_epi64::<32>(sq), _mm256_srli_epi64::<32>(m)),
                );
                j += 8;
            }
            let tail = scalar::den0_row([&s[j..], &[], &[]])[0];
            out[k] = (hsum64(acc) as u64).wrapping_add(tail);
        }
        out
    }

    // -------------------------------------------------------- levels 1..3

    /// Four taps of eight i32 lanes times `c`, in 64 bits: (even, odd)
    /// lane sums.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn taps64(s: &[__m256i; 4], c: &[i32; 4]) -> (__m256i, __m256i) {
        let mut e = _mm256_setzero_si256();
        let mut o = _mm256_setzero_si256();
        for k in 0..4 {
            let ck = _mm256_set1_epi64x(c[k] as i64);
            e = _mm256_add_epi64(e, _mm256_mul_epi32(s[k], ck));
            o = _mm256_add_epi64(o, _mm256_mul_epi32(_mm256_srli_epi64::<32>(s[k]), ck));
        }
        (e, o)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn dwt_vertical(rows: [&[i32]; 4], shift: u32, add: i64, lo: &mut [i32], hi: &mut [i32]) {
        let n = lo.len();
        assert!(hi.len() == n && rows.iter().all(|r| r.len() >= n));
        let addv = _mm256_set1_epi64x(add);
        let sh = _mm_cvtsi32_si128(shift as i32);
        // Only the low 32 bits of the shifted sum are kept (shift <= 16), so
        // a logical shift gives libvmaf's bits.
        let fin = |x: __m256i| _mm256_srl_epi64(_mm256_add_epi64(x, addv), sh);
        let mut j = 0;
        while j + 8 <= n {
            let s = rows.map(|r| ld(r.as_ptr().add(j)));
            let (e, o) = taps64(&s, &LO);
            st(lo.as_mut_ptr().add(j), merge_even_odd(fin(e), fin(o)));
            let (e, o) = taps64(&s, &HI);
            st(hi.as_mut_ptr().add(j), merge_even_odd(fin(e), fin(o)));
            j += 8;
        }
        scalar::dwt_vertical(rows.map(|r| &r[j..n]), shift, add, &mut lo[j..], &mut hi[j..]);
    }

    /// Four horizontal outputs from `x` = inputs (2j-1 ..) and `y` =
    /// inputs (2j+1 ..): the low dword of each i64 lane is the result.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn hfilter4(x: __m256i, y: __m256i, c: &[i32; 4], addv: __m256i, sh: __m128i) -> __m256i {
        let m = |v: __m256i, k: usize| _mm256_mul_epi32(v, _mm256_set1_epi64x(c[k] as i64));
        let s = _mm256_add_epi64(
            _mm256_add_epi64(m(x, 0), m(_mm256_srli_epi64::<32>(x), 1)),
            _mm256_add_epi64(m(y, 2), m(_mm256_srli_epi64::<32>(y), 3)),
        );
        _mm256_srl_epi64(_mm256_add_epi64(s, addv), sh)
    }

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2")]
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
        let addv = _mm256_set1_epi64x(add);
        let sh = _mm_cvtsi32_si128(shift as i32);
        let mut j = first;
        // Eight outputs read up to input 2j + 16.
        while j + 8 <= range.end && 2 * j + 16 < n {
            for (src, c1, c2, o1, o2) in [
                (lo.as_ptr(), &LO, &HI, a.as_mut_ptr(), v.as_mut_ptr()),
                (hi.as_ptr(), &LO, &HI, h.as_mut_ptr(), d.as_mut_ptr()),
            ] {
                let p = src.add(2 * j - 1);
                let (x1, y1, x2, y2) = (ld(p), ld(p.add(2)), ld(p.add(8)), ld(p.add(10)));
                st(o1.add(j), low_dwords(hfilter4(x1, y1, c1, addv, sh), hfilter4(x2, y2, c1, addv, sh)));
                st(o2.add(j), low_dwords(hfilter4(x1, y1, c2, addv, sh), hfilter4(x2, y2, c2, addv, sh)));
            }
            j += 8;
        }
        scalar::dwt_horizontal(lo, hi, shift, add, j..range.end, a, v, h, d);
    }

    /// `(double)(float)x` of four i64 lanes, with C's single rounding.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn i64_to_f32_f64(x: __m256i) -> __m256d {
        let zero = _mm256_setzero_si256();
        let neg = _mm256_cmpgt_epi64(zero, x);
        let m = _mm256_sub_epi64(_mm256_xor_si256(x, neg), neg);
        // Beyond 2^53 keep the bits from 28 up and fold the rest into a
        // sticky bit 27: float rounding of the result is unchanged and it
        // has at most 37 significant bits, so the double below is exact.
        let big = _mm256_xor_si256(_mm256_cmpeq_epi64(_mm256_srli_epi64::<53>(m), zero), _mm256_set1_epi64x(-1));
        let low_mask = _mm256_set1_epi64x((1 << 28) - 1);
        let low = _mm256_and_si256(m, low_mask);
        let sticky = _mm256_andnot_si256(_mm256_cmpeq_epi64(low, zero), _mm256_set1_epi64x(1 << 27));
        let folded = _mm256_or_si256(_mm256_andnot_si256(low_mask, m), sticky);
        let m = _mm256_blendv_epi8(m, folded, big);
        let magic = _mm256_set1_epi64x(0x4330_0000_0000_0000);
        let two52 = _mm256_set1_pd(4503599627370496.0);
        let hi = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64::<32>(m), magic)), two52);
        let lo = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(m, _mm256_set1_epi64x(0xffff_ffff)), magic)),
            two52,
        );
        let d = _mm256_add_pd(_mm256_mul_pd(hi, _mm256_set1_pd(4294967296.0)), lo);
        let d = _mm256_or_pd(d, _mm256_castsi256_pd(_mm256_and_si256(neg, _mm256_set1_epi64x(i64::MIN))));
        _mm256_cvtps_pd(_mm256_cvtpd_ps(d))
    }

    /// |x| of i64 lanes holding sign-extended i32 values.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn abs64(x: __m256i) -> __m256i {
        let neg = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
        _mm256_sub_epi64(_mm256_xor_si256(x, neg), neg)
    }

    /// Gain of levels 1..3 (see `scalar::gain32`) for four i64 lanes of
    /// sign-extended i32 `o` and `t`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn gain32x4(o: __m256i, t: __m256i) -> __m256i {
        let zero = _mm256_setzero_si256();
        let one = _mm256_set1_epi64x(1);
        let m = abs64(o);
        let small = _mm256_cmpgt_epi64(_mm256_set1_epi64x(32768), m);
        // floor(log2(m)) from the float exponent of m >> 8 (exact below
        // 2^24); the shift is 17 - clz(m) = floor(log2(m)) - 14.
        let e = _mm256_castps_si256(_mm256_cvtepi32_ps(_mm256_srli_epi64::<8>(m)));
        let e = _mm256_and_si256(_mm256_srli_epi64::<23>(e), _mm256_set1_epi64x(0xff));
        let k = _mm256_andnot_si256(small, _mm256_sub_epi64(e, _mm256_set1_epi64x(127 - 8 + 14)));
        let rounded =
            _mm256_srlv_epi64(_mm256_add_epi64(m, _mm256_sllv_epi64(one, _mm256_sub_epi64(k, one))), k);
        let msb = _mm256_blendv_epi8(rounded, m, small);
        let q = _mm256_i64gather_epi32::<4>(DIV_LOOKUP.as_ptr(), _mm256_add_epi64(msb, _mm256_set1_epi64x(32768)));
        let p = _mm256_mul_epi32(_mm256_cvtepi32_epi64(q), t);
        let neg = _mm256_cmpgt_epi64(zero, o);
        let p = _mm256_sub_epi64(_mm256_xor_si256(p, neg), neg);
        // 1 << (14 + k) as a C int: 1 << 31 is i32::MIN.
        let round = _mm256_sllv_epi64(one, _mm256_add_epi64(k, _mm256_set1_epi64x(14)));
        let bit31 = _mm256_set1_epi64x(1 << 31);
        let round = _mm256_sub_epi64(_mm256_xor_si256(round, bit31), bit31);
        let s = _mm256_add_epi64(p, round);
        let r = _mm256_srlv_epi64(s, _mm256_add_epi64(k, _mm256_set1_epi64x(15)));
        let full = _mm256_set1_epi64x(32768);
        let r = _mm256_blendv_epi8(r, full, _mm256_cmpgt_epi64(r, full));
        let r = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, s), r);
        _mm256_blendv_epi8(r, full, _mm256_cmpeq_epi64(o, zero))
    }

    /// Restored coefficient of levels 1..3 for four i64 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn restore32x4(o: __m256i, t: __m256i, angle: __m256i, egl: __m256i) -> __m256i {
        let zero = _mm256_setzero_si256();
        let k = gain32x4(o, t);
        let r = sra64(_mm256_add_epi64(_mm256_mul_epi32(k, o), _mm256_set1_epi64x(16384)), 15);
        let on = _mm256_and_si256(angle, _mm256_cmpgt_epi64(k, zero));
        let pos = _mm256_and_si256(on, _mm256_cmpgt_epi64(o, zero));
        let neg = _mm256_and_si256(on, _mm256_cmpgt_epi64(zero, o));
        let x = _mm256_mul_epi32(r, egl);
        let gt = _mm256_cmpgt_epi64(x, t);
        let mn = _mm256_blendv_epi8(x, t, gt);
        let mx = _mm256_blendv_epi8(t, x, gt);
        let r = _mm256_blendv_epi8(r, mn, pos);
        _mm256_blendv_epi8(r, mx, neg)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn decouple(
        o: [&[i32]; 3],
        t: [&[i32]; 3],
        egl: f64,
        cos_sq: f32,
        r: [&mut [i32]; 3],
        a: [&mut [i32]; 3],
    ) {
        let Some(egl_i) = integer_gain(egl) else {
            return scalar::decouple(o, t, egl, cos_sq, r, a);
        };
        let n = r[0].len();
        assert!(o.iter().chain(&t).all(|x| x.len() >= n));
        assert!(r.iter().chain(&a).all(|x| x.len() >= n));
        let [rh, rv, rd] = r;
        let [ah, av, ad] = a;
        let egl_v = _mm256_set1_epi64x(egl_i as i64);
        let cos_v = _mm256_set1_pd(cos_sq as f64);
        let q = _mm256_set1_pd(1.0 / 4096.0);
        let idx = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
        let ld4 = |p: *const i32| _mm256_cvtepi32_epi64(_mm_loadu_si128(p as *const __m128i));
        let mut j = 0;
        while j + 4 <= n {
            let oh = ld4(o[0].as_ptr().add(j));
            let ov = ld4(o[1].as_ptr().add(j));
            let od = ld4(o[2].as_ptr().add(j));
            let th = ld4(t[0].as_ptr().add(j));
            let tv = ld4(t[1].as_ptr().add(j));
            let td = ld4(t[2].as_ptr().add(j));
            let dot = _mm256_add_epi64(_mm256_mul_epi32(oh, th), _mm256_mul_epi32(ov, tv));
            let o2 = _mm256_add_epi64(_mm256_mul_epi32(oh, oh), _mm256_mul_epi32(ov, ov));
            let t2 = _mm256_add_epi64(_mm256_mul_epi32(th, th), _mm256_mul_epi32(tv, tv));
            let d = _mm256_mul_pd(i64_to_f32_f64(dot), q);
            let rhs = _mm256_mul_pd(
                _mm256_mul_pd(cos_v, _mm256_mul_pd(i64_to_f32_f64(o2), q)),
                _mm256_mul_pd(i64_to_f32_f64(t2), q),
            );
            let angle = _mm256_castpd_si256(_mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GE_OQ>(d, _mm256_setzero_pd()),
                _mm256_cmp_pd::<_CMP_GE_OQ>(_mm256_mul_pd(d, d), rhs),
            ));
            for (oo, tt, rp, ap) in [
                (oh, th, rh.as_mut_ptr(), ah.as_mut_ptr()),
                (ov, tv, rv.as_mut_ptr(), av.as_mut_ptr()),
                (od, td, rd.as_mut_ptr(), ad.as_mut_ptr()),
            ] {
                let rr = restore32x4(oo, tt, angle, egl_v);
                let aa = _mm256_sub_epi64(tt, rr);
                let rr = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(rr, idx));
                let aa = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(aa, idx));
                _mm_storeu_si128(rp.add(j) as *mut __m128i, rr);
                _mm_storeu_si128(ap.add(j) as *mut __m128i, aa);
            }
            j += 4;
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

    /// `scalar::csf32` of eight lanes: the Q32 weight times a signed
    /// coefficient, rounded to Q(-28), low 32 bits.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn csf32x8(x: __m256i, rf: __m256i) -> __m256i {
        let m = _mm256_abs_epi32(x);
        let neg = _mm256_srai_epi32::<31>(x);
        let add = _mm256_set1_epi64x(1 << 27);
        let one = |m: __m256i, neg: __m256i| {
            // rf * |x| fits u64 below 2^63; the sign is applied after.
            let p = _mm256_mul_epu32(m, rf);
            let sgn = _mm256_shuffle_epi32::<0b10_10_00_00>(neg);
            let p = _mm256_sub_epi64(_mm256_xor_si256(p, sgn), sgn);
            _mm256_srli_epi64::<28>(_mm256_add_epi64(p, add))
        };
        merge_even_odd(one(m, neg), one(_mm256_srli_epi64::<32>(m), _mm256_srli_epi64::<32>(neg)))
    }

    /// `scalar::q32_weight` of eight lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn q32_weight8(x: __m256i, w: __m256i) -> __m256i {
        let m = _mm256_abs_epi32(x);
        let round = _mm256_set1_epi64x(ROUND_Q32);
        let e = _mm256_add_epi64(_mm256_mul_epi32(m, w), round);
        let o = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64::<32>(m), w), round);
        // The result is the high dword of each product.
        _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(e), o)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn csf_fc(src: [&[i32]; 3], rf: [u32; 3], f: &mut [i32], c: &mut [i32]) {
        let n = f.len();
        assert!(c.len() == n && src.iter().all(|s| s.len() >= n));
        let w30 = _mm256_set1_epi64x(ONE_BY_30_Q32);
        let w15 = _mm256_set1_epi64x(ONE_BY_15_Q32);
        let mut j = 0;
        while j + 8 <= n {
            let mut fs = _mm256_setzero_si256();
            let mut cs = _mm256_setzero_si256();
            for k in 0..3 {
                let dst = csf32x8(ld(src[k].as_ptr().add(j)), _mm256_set1_epi64x(rf[k] as i64));
                fs = _mm256_add_epi32(fs, q32_weight8(dst, w30));
                cs = _mm256_add_epi32(cs, q32_weight8(dst, w15));
            }
            st(f.as_mut_ptr().add(j), fs);
            st(c.as_mut_ptr().add(j), cs);
            j += 8;
        }
        scalar::csf_fc(src.map(|s| &s[j..n]), rf, &mut f[j..], &mut c[j..]);
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn cm_row(x: [&[i32]; 3], rf: [u32; 3], thr: &[i32], sh: &CmShifts) -> [i64; 3] {
        let n = thr.len();
        assert!(x.iter().all(|s| s.len() >= n));
        let zero = _mm256_setzero_si256();
        let sq_add = _mm256_set1_epi64x(sh.sq_add[0]);
        let sq_shift = _mm_cvtsi32_si128(sh.sq_shift[0] as i32);
        let cub_add = _mm256_set1_epi64x(sh.cub_add[0]);
        let mut acc = [zero; 3];
        let mut j = 0;
        while j + 8 <= n {
            let th = ld(thr.as_ptr().add(j));
            for k in 0..3 {
                let v = csf32x8(ld(x[k].as_ptr().add(j)), _mm256_set1_epi64x(rf[k] as i64));
                let v = _mm256_max_epi32(_mm256_sub_epi32(_mm256_abs_epi32(v), th), zero);
                acc[k] = _mm256_add_epi64(acc[k], cube8(v, sq_add, sq_shift, cub_add, sh.cub_shift[0]));
            }
            j += 8;
        }
        let tail = scalar::cm_row(x.map(|s| &s[j..n]), rf, &thr[j..], sh);
        std::array::from_fn(|k| hsum64(acc[k]).wrapping_add(tail[k]))
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn den_row(x: [&[i32]; 3], sh: &DenShifts) -> [u64; 3] {
        let sq_add = _mm256_set1_epi64x(sh.sq_add as i64);
        let sq_shift = _mm_cvtsi32_si128(sh.sq_shift as i32);
        let cub_add = _mm256_set1_epi64x(sh.cub_add as i64);
        let cub_shift = _mm_cvtsi32_si128(sh.cub_shift as i32);
        // (((m^2 + a) >> s) * m + b) >> t in u64; the shifted square can
        // reach 33 bits, so it is multiplied as two halves.
        let one = |m: __m256i| {
            let sq = _mm256_srl_epi64(_mm256_add_epi64(_mm256_mul_epu32(m, m), sq_add), sq_shift);
            let p = _mm256_add_epi64(
                _mm256_mul_epu32(sq, m),
                _mm256_slli_epi64::<32>(_mm256_mul_epu32(_mm256_srli_epi64::<32>(sq), m)),
            );
            _mm256_srl_epi64(_mm256_add_epi64(p, cub_add), cub_shift)
        };
        let mut out = [0u64; 3];
        for k in 0..3 {
            let s = x[k];
            let n = s.len();
            let mut acc = _mm256_setzero_si256();
            let mut j = 0;
            while j + 8 <= n {
                let m = _mm256_abs_epi32(ld(s.as_ptr().add(j)));
                acc = _mm256_add_epi64(acc, one(_mm256_and_si256(m, _mm256_set1_epi64x(0xffff_ffff))));
                acc = _mm256_add_epi64(acc, one(_mm256_srli_epi64::<32>(m)));
                j += 8;
            }
            let tail = scalar::den_row([&s[j..], &[], &[]], sh)[0];
            out[k] = (hsum64(acc) as u64).wrapping_add(tail);
        }
        out
    }

    // ------------------------------------------------------------- shared

    #[target_feature(enable = "avx2")]
    pub unsafe fn row_sum3(f: &[i32], n: usize, range: Range<usize>, out: &mut [i32]) {
        assert!(range.end <= n && n <= f.len() && range.end <= out.len());
        let first = range.start.max(1).min(range.end);
        scalar::row_sum3(f, n, range.start..first, out);
        let mut j = first;
        while j + 8 <= range.end && j + 9 <= n {
            let p = f.as_ptr().add(j);
            let s = _mm256_add_epi32(_mm256_add_epi32(ld(p.sub(1)), ld(p)), ld(p.add(1)));
            st(out.as_mut_ptr().add(j), s);
            j += 8;
        }
        scalar::row_sum3(f, n, j..range.end, out);
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn threshold(up: &[i32], mid: &[i32], down: &[i32], f: &[i32], c: &[i32], out: &mut [i32]) {
        let n = out.len();
        assert!([up, mid, down, f, c].iter().all(|s| s.len() >= n));
        let mut j = 0;
        while j + 8 <= n {
            let s = _mm256_add_epi32(
                _mm256_add_epi32(ld(up.as_ptr().add(j)), ld(mid.as_ptr().add(j))),
                ld(down.as_ptr().add(j)),
            );
            let s = _mm256_add_epi32(_mm256_sub_epi32(s, ld(f.as_ptr().add(j))), ld(c.as_ptr().add(j)));
            st(out.as_mut_ptr().add(j), s);
            j += 8;
        }
        scalar::threshold(&up[j..n], &mid[j..n], &down[j..n], &f[j..n], &c[j..n], &mut out[j..]);
    }
}

mod avx512;

#[cfg(test)]
mod tests;
