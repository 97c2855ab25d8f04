//! AVX-512 kernels of the integer VIF: the design of `x86.rs` (see there)
//! on 512-bit vectors, with VNNI's fused multiply-add of 16-bit pairs
//! (`vpdpwssd`), per-lane masks for the statistic's branches and a vector
//! leading-zero count for the denominator's octave.
//!
//! Each kernel handles columns `0..to` (a multiple of 32); the drivers in
//! `x86.rs` pass what is left to the AVX2 and scalar code.

use std::arch::asm;
use std::arch::x86_64::*;

use super::x86::{Pair, BIAS16, MU1, MU2, SIGN32, XX_HI, XX_LO, XY_HI, XY_LO, YY_HI, YY_LO};
use super::{Image, Log2Table, Shifts, StatParams, Sums, COL_PAD, GAIN_EPS, SIGMA_NSQ};

/// Whether this CPU can run these kernels (the AVX2 ones run alongside).
pub(crate) fn available() -> bool {
    super::x86::available()
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512cd")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512vnni")
}

/// `acc + a·b` on signed 16-bit pairs (`vpdpwssd`). With `FUSED` it is
/// emitted as that one instruction; otherwise LLVM may split it into
/// `vpmaddwd` + `vpaddd` (its machine combiner does, to shorten dependency
/// chains). Which is faster depends on the CPU: on Intel Xeons the split
/// costs a fifth of the statistic pass, on AMD Zen the split form is a few
/// percent faster. [`fused_is_faster`] picks; results are identical.
#[inline]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn dot<const FUSED: bool>(mut acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
    if !FUSED {
        return _mm512_dpwssd_epi32(acc, a, b);
    }
    asm!(
        "vpdpwssd {acc}, {a}, {b}",
        acc = inout(zmm_reg) acc,
        a = in(zmm_reg) a,
        b = in(zmm_reg) b,
        options(pure, nomem, nostack, preserves_flags)
    );
    acc
}

/// [`dot`] of the 64 bytes at `p` (folded into the instruction when fused).
#[inline]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn dot_load<const FUSED: bool>(mut acc: __m512i, p: *const i16, b: __m512i) -> __m512i {
    if !FUSED {
        return _mm512_dpwssd_epi32(acc, _mm512_loadu_si512(p.cast()), b);
    }
    asm!(
        "vpdpwssd {acc}, {b}, zmmword ptr [{p}]",
        acc = inout(zmm_reg) acc,
        b = in(zmm_reg) b,
        p = in(reg) p,
        options(pure, readonly, nostack, preserves_flags)
    );
    acc
}

/// Whether the fused form of [`dot`] is the faster one on this CPU: on
/// Intel's, measured on the device machine's Xeon (vif 20 against 24 ms a
/// 1080p frame); AMD's Zen 5 runs the split form 4% faster. The
/// environment variable `VMAF_VNNI` (`fused` or `split`) overrides the
/// choice, to measure both on one machine.
pub(crate) fn fused_is_faster() -> bool {
    match std::env::var("VMAF_VNNI").ok().as_deref() {
        Some("fused") => true,
        Some("split") => false,
        _ => crate::cpu_vendor_is_intel(),
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn load_u8x32(p: *const u8) -> __m512i {
    _mm512_cvtepu8_epi16(_mm256_loadu_si256(p.cast()))
}

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store(p: *mut i16, v: __m512i) {
    _mm512_storeu_si512(p.cast(), v)
}

/// Packs the low/high halves of interleaved rows (values below 2^16) into
/// 32 lanes in column order, biased (`packus` works within 128-bit lanes,
/// as `unpacklo`/`unpackhi` split them).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn pack_biased(lo: __m512i, hi: __m512i) -> __m512i {
    _mm512_xor_si512(_mm512_packus_epi32(lo, hi), _mm512_set1_epi16(BIAS16))
}

/// Stores a second moment whose sum is biased by -2^31 as biased 16-bit
/// halves (see `x86::store_halves`).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn store_halves(acc: [__m512i; 2], hi: *mut i16, lo: *mut i16) {
    let mask = _mm512_set1_epi32(0xFFFF);
    let h = _mm512_packus_epi32(_mm512_srli_epi32(acc[0], 16), _mm512_srli_epi32(acc[1], 16));
    let l = pack_biased(_mm512_and_si512(acc[0], mask), _mm512_and_si512(acc[1], mask));
    store(hi, h);
    store(lo, l);
}

/// Vertical pass of the statistic on 8-bit samples: symmetric tap pairs,
/// `a*a + b*b` by `vpmaddwd`, scaled by a 32-bit multiply.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn vertical_u8(
    fused: bool,
    taps: &[u16],
    rows: &[usize],
    r: Image<'_, u8>,
    d: Image<'_, u8>,
    to: usize,
    sh: Shifts,
    out: &mut [Vec<i16>; 8],
) {
    if fused {
        vertical_u8_n::<true>(taps, rows, r, d, to, sh, out)
    } else {
        vertical_u8_n::<false>(taps, rows, r, d, to, sh, out)
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn vertical_u8_n<const FUSED: bool>(
    taps: &[u16],
    rows: &[usize],
    r: Image<'_, u8>,
    d: Image<'_, u8>,
    to: usize,
    sh: Shifts,
    out: &mut [Vec<i16>; 8],
) {
    debug_assert_eq!(sh, Shifts { mu: 8, sq: 0 });
    let half = taps.len() / 2;
    let zero = _mm512_setzero_si512();
    let bias = _mm512_set1_epi16(BIAS16);
    let (rp, dp) = (r.data.as_ptr(), d.data.as_ptr());
    let mut j = 0;
    while j < to {
        let (mut m1, mut m2, mut rr, mut dd, mut rd) = ([zero; 2], [zero; 2], [zero; 2], [zero; 2], [zero; 2]);
        for k in 0..=half {
            let f = taps[k] as i32;
            let (a_row, b_row) = (rows[k], rows[2 * half - k]);
            let ra = load_u8x32(rp.add(a_row * r.stride + j));
            let da = load_u8x32(dp.add(a_row * d.stride + j));
            let (rb, db, fb) = if k < half {
                (load_u8x32(rp.add(b_row * r.stride + j)), load_u8x32(dp.add(b_row * d.stride + j)), f)
            } else {
                (zero, zero, 0)
            };
            let fm = _mm512_set1_epi32(f | fb << 16);
            // Products of 8-bit samples fit 16 unsigned bits; biased by
            // -32768 they are signed 16-bit pairs for the same multiply-add
            // as the means. Every tap meets the bias once (the centre's
            // zero partner has a zero coefficient) and the taps sum to
            // 65536, so the sums come out biased by exactly -2^31, the form
            // `store_halves` takes.
            let sq = |x: __m512i, y: __m512i| _mm512_xor_si512(_mm512_mullo_epi16(x, y), bias);
            let (rra, rrb, dda, ddb, rda, rdb) =
                (sq(ra, ra), sq(rb, rb), sq(da, da), sq(db, db), sq(ra, da), sq(rb, db));
            let lo_hi = |a: __m512i, b: __m512i| [_mm512_unpacklo_epi16(a, b), _mm512_unpackhi_epi16(a, b)];
            let (ur, ud) = (lo_hi(ra, rb), lo_hi(da, db));
            let (urr, udd, urd) = (lo_hi(rra, rrb), lo_hi(dda, ddb), lo_hi(rda, rdb));
            for h in 0..2 {
                m1[h] = dot::<FUSED>(m1[h], ur[h], fm);
                m2[h] = dot::<FUSED>(m2[h], ud[h], fm);
                rr[h] = dot::<FUSED>(rr[h], urr[h], fm);
                dd[h] = dot::<FUSED>(dd[h], udd[h], fm);
                rd[h] = dot::<FUSED>(rd[h], urd[h], fm);
            }
        }
        let round = _mm512_set1_epi32(128);
        let mean = |m: [__m512i; 2]| {
            pack_biased(
                _mm512_srli_epi32(_mm512_add_epi32(m[0], round), 8),
                _mm512_srli_epi32(_mm512_add_epi32(m[1], round), 8),
            )
        };
        let c = COL_PAD + j;
        store(out[MU1].as_mut_ptr().add(c), mean(m1));
        store(out[MU2].as_mut_ptr().add(c), mean(m2));
        store_halves(rr, out[XX_HI].as_mut_ptr().add(c), out[XX_LO].as_mut_ptr().add(c));
        store_halves(dd, out[YY_HI].as_mut_ptr().add(c), out[YY_LO].as_mut_ptr().add(c));
        store_halves(rd, out[XY_HI].as_mut_ptr().add(c), out[XY_LO].as_mut_ptr().add(c));
        j += 32;
    }
}

/// The means of the vertical pass on biased 16-bit samples, 32 columns at
/// `j`, as two halves of 32-bit sums biased by -2^31.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn means_u16(pairs: &[Pair], rows: &[usize], img: &Image<'_, u16>, j: usize) -> [__m512i; 2] {
    let b16 = _mm512_set1_epi16(BIAS16);
    let p = img.data.as_ptr();
    let ld = |row: usize| _mm512_xor_si512(_mm512_loadu_si512(p.add(row * img.stride + j).cast()), b16);
    let mut m = [_mm512_setzero_si512(); 2];
    for pr in pairs {
        let f = _mm512_set1_epi32(pr.coef());
        let (a, b) = (ld(rows[pr.ka]), ld(rows[pr.kb]));
        m[0] = dot::<false>(m[0], _mm512_unpacklo_epi16(a, b), f);
        m[1] = dot::<false>(m[1], _mm512_unpackhi_epi16(a, b), f);
    }
    m
}

/// 8 samples starting at `p` as doubles.
#[inline]
#[target_feature(enable = "avx512f,avx2")]
unsafe fn load_u16x8_pd(p: *const u16) -> __m512d {
    _mm512_cvtepi32_pd(_mm256_cvtepu16_epi32(_mm_loadu_si128(p.cast())))
}

/// Vertical pass of the statistic on 16-bit samples.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn vertical_u16(
    pairs: &[Pair],
    taps: &[u16],
    rows: &[usize],
    r: Image<'_, u16>,
    d: Image<'_, u16>,
    to: usize,
    sh: Shifts,
    out: &mut [Vec<i16>; 8],
) {
    match taps.len() / 2 {
        8 => vertical_u16_n::<8>(pairs, taps, rows, r, d, to, sh, out),
        4 => vertical_u16_n::<4>(pairs, taps, rows, r, d, to, sh, out),
        2 => vertical_u16_n::<2>(pairs, taps, rows, r, d, to, sh, out),
        _ => vertical_u16_n::<1>(pairs, taps, rows, r, d, to, sh, out),
    }
}

#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
unsafe fn vertical_u16_n<const HALF: usize>(
    pairs: &[Pair],
    taps: &[u16],
    rows: &[usize],
    r: Image<'_, u16>,
    d: Image<'_, u16>,
    to: usize,
    sh: Shifts,
    out: &mut [Vec<i16>; 8],
) {
    let sign = _mm512_set1_epi32(SIGN32);
    let mu_round = _mm512_set1_epi32(sh.mu_round() as i32);
    let mu_shift = _mm_cvtsi32_si128(sh.mu as i32);
    let sq_round = _mm512_set1_pd(sh.sq_round() as f64);
    let sq_scale = _mm512_set1_pd(1.0 / (1u64 << sh.sq) as f64);
    let two31 = _mm512_set1_pd(2147483648.0);
    let b16 = _mm_set1_epi16(BIAS16);
    let (rp, dp) = (r.data.as_ptr(), d.data.as_ptr());
    let mut j = 0;
    while j < to {
        let c = COL_PAD + j;
        let mean = |m: [__m512i; 2]| {
            let s = |x: __m512i| _mm512_srl_epi32(_mm512_add_epi32(_mm512_xor_si512(x, sign), mu_round), mu_shift);
            pack_biased(s(m[0]), s(m[1]))
        };
        store(out[MU1].as_mut_ptr().add(c), mean(means_u16(pairs, rows, &r, j)));
        store(out[MU2].as_mut_ptr().add(c), mean(means_u16(pairs, rows, &d, j)));

        // Second moments in double precision, 8 columns per vector, taps in
        // symmetric pairs (exact, see the AVX2 version).
        for g in 0..4 {
            let jj = j + 8 * g;
            let zd = _mm512_setzero_pd();
            let (mut rr, mut dd, mut rd) = (zd, zd, zd);
            for k in 0..=HALF {
                let f = _mm512_set1_pd(taps[k] as f64);
                let (a_row, b_row) = (rows[k], rows[2 * HALF - k]);
                let ra = load_u16x8_pd(rp.add(a_row * r.stride + jj));
                let da = load_u16x8_pd(dp.add(a_row * d.stride + jj));
                if k < HALF {
                    let rb = load_u16x8_pd(rp.add(b_row * r.stride + jj));
                    let db = load_u16x8_pd(dp.add(b_row * d.stride + jj));
                    rr = _mm512_fmadd_pd(_mm512_fmadd_pd(rb, rb, _mm512_mul_pd(ra, ra)), f, rr);
                    dd = _mm512_fmadd_pd(_mm512_fmadd_pd(db, db, _mm512_mul_pd(da, da)), f, dd);
                    rd = _mm512_fmadd_pd(_mm512_fmadd_pd(rb, db, _mm512_mul_pd(ra, da)), f, rd);
                } else {
                    let fr = _mm512_mul_pd(f, ra);
                    rr = _mm512_fmadd_pd(fr, ra, rr);
                    rd = _mm512_fmadd_pd(fr, da, rd);
                    dd = _mm512_fmadd_pd(_mm512_mul_pd(f, da), da, dd);
                }
            }
            for (v, hi) in [(rr, XX_HI), (dd, YY_HI), (rd, XY_HI)] {
                // (sum + round) >> shift, as 32-bit lanes biased by -2^31.
                let v = _mm512_roundscale_pd::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(_mm512_mul_pd(
                    _mm512_add_pd(v, sq_round),
                    sq_scale,
                ));
                let t = _mm512_cvttpd_epi32(_mm512_sub_pd(v, two31));
                let h = _mm256_cvtepi32_epi16(_mm256_srli_epi32(t, 16));
                let l = _mm_xor_si128(_mm256_cvtepi32_epi16(t), b16);
                _mm_storeu_si128(out[hi].as_mut_ptr().add(c + 8 * g).cast(), h);
                _mm_storeu_si128(out[hi + 1].as_mut_ptr().add(c + 8 * g).cast(), l);
            }
        }
        j += 32;
    }
}

/// Vertical pass of the subsampling filter on 8-bit samples.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn vertical_means_u8(
    pairs: &[Pair],
    rows: &[usize],
    r: Image<'_, u8>,
    d: Image<'_, u8>,
    to: usize,
    shift: u32,
    out: &mut [Vec<i16>; 8],
) {
    let round = _mm512_set1_epi32(((1u32 << shift) >> 1) as i32);
    let sh = _mm_cvtsi32_si128(shift as i32);
    let mut j = 0;
    while j < to {
        for (img, q) in [(&r, MU1), (&d, MU2)] {
            let p = img.data.as_ptr();
            let mut m = [_mm512_setzero_si512(); 2];
            for pr in pairs {
                let f = _mm512_set1_epi32(pr.coef());
                let a = load_u8x32(p.add(rows[pr.ka] * img.stride + j));
                let b = load_u8x32(p.add(rows[pr.kb] * img.stride + j));
                m[0] = dot::<false>(m[0], _mm512_unpacklo_epi16(a, b), f);
                m[1] = dot::<false>(m[1], _mm512_unpackhi_epi16(a, b), f);
            }
            let s = |x: __m512i| _mm512_srl_epi32(_mm512_add_epi32(x, round), sh);
            store(out[q].as_mut_ptr().add(COL_PAD + j), pack_biased(s(m[0]), s(m[1])));
        }
        j += 32;
    }
}

/// Vertical pass of the subsampling filter on 16-bit samples.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn vertical_means_u16(
    pairs: &[Pair],
    rows: &[usize],
    r: Image<'_, u16>,
    d: Image<'_, u16>,
    to: usize,
    shift: u32,
    out: &mut [Vec<i16>; 8],
) {
    let sign = _mm512_set1_epi32(SIGN32);
    let round = _mm512_set1_epi32(((1u32 << shift) >> 1) as i32);
    let sh = _mm_cvtsi32_si128(shift as i32);
    let s = |x: __m512i| _mm512_srl_epi32(_mm512_add_epi32(_mm512_xor_si512(x, sign), round), sh);
    let mut j = 0;
    while j < to {
        for (img, q) in [(&r, MU1), (&d, MU2)] {
            let m = means_u16(pairs, rows, img, j);
            store(out[q].as_mut_ptr().add(COL_PAD + j), pack_biased(s(m[0]), s(m[1])));
        }
        j += 32;
    }
}

/// A filter's steps with broadcast coefficients (see `x86::Steps`).
struct Steps<const P: usize> {
    o: [isize; P],
    f: [__m512i; P],
}

impl<const P: usize> Steps<P> {
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn new(pairs: &[Pair]) -> Self {
        debug_assert_eq!(pairs.len(), P);
        Steps { o: std::array::from_fn(|i| pairs[i].o), f: std::array::from_fn(|i| _mm512_set1_epi32(pairs[i].coef())) }
    }

    /// The filter over 16 output columns `start, start + 2, ..` of a biased
    /// row, as 32-bit sums biased by -2^31.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn filter16<const FUSED: bool>(&self, row: *const i16, start: usize) -> __m512i {
        // Two chains: a 9-step filter as one chain is latency-bound.
        let mut acc = [_mm512_setzero_si512(); 2];
        for i in 0..P {
            acc[i & 1] = dot_load::<FUSED>(acc[i & 1], row.offset(start as isize + self.o[i]), self.f[i]);
        }
        _mm512_add_epi32(acc[0], acc[1])
    }
}

/// `(a * b + 2^31) >> 32` per unsigned 32-bit lane.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn mul_round32(a: __m512i, b: __m512i) -> __m512i {
    let r = _mm512_set1_epi64(1 << 31);
    let even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epu32(a, b), r), 32);
    let odd = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(b, 32)), r);
    _mm512_mask_blend_epi32(0xAAAA, even, odd)
}

/// Running sums of the statistic over one row.
struct Acc {
    /// The denominator's logs (32-bit lanes); the numerator's octave
    /// differences and table differences (64-bit lanes).
    den: __m512i,
    num: __m512i,
    num_table: __m512i,
    log_count: u64,
    flat_sum: __m512i,
}

/// The horizontal pass and the statistic for columns `0..to`.
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vnni")]
pub(super) unsafe fn horizontal_statistic(
    fused: bool,
    pairs: &[Pair],
    rows: &[Vec<i16>; 8],
    to: usize,
    p: &StatParams<'_>,
    sums: &mut Sums,
) {
    match (pairs.len(), fused) {
        (9, true) => horizontal_statistic_n::<9, true>(pairs, rows, to, p, sums),
        (9, false) => horizontal_statistic_n::<9, false>(pairs, rows, to, p, sums),
        (5, true) => horizontal_statistic_n::<5, true>(pairs, rows, to, p, sums),
        (5, false) => horizontal_statistic_n::<5, false>(pairs, rows, to, p, sums),
        (3, true) => horizontal_statistic_n::<3, true>(pairs, rows, to, p, sums),
        (3, false) => horizontal_statistic_n::<3, false>(pairs, rows, to, p, sums),
        (2, true) => horizontal_statistic_n::<2, true>(pairs, rows, to, p, sums),
        (2, false) => horizontal_statistic_n::<2, false>(pairs, rows, to, p, sums),
        (n, _) => unreachable!("no filter has {n} steps"),
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vnni")]
unsafe fn horizontal_statistic_n<const P: usize, const FUSED: bool>(
    pairs: &[Pair],
    rows: &[Vec<i16>; 8],
    to: usize,
    p: &StatParams<'_>,
    sums: &mut Sums,
) {
    let steps = Steps::<P>::new(pairs);
    let sign = _mm512_set1_epi32(SIGN32);
    let round = _mm512_set1_epi32(32768);
    let zero = _mm512_setzero_si512();
    let lut = p.log2;
    let gain_limit = _mm512_set1_pd(p.gain_limit);
    let mut acc = Acc { den: zero, num: zero, num_table: zero, log_count: 0, flat_sum: zero };
    let ptrs: [*const i16; 8] = std::array::from_fn(|q| rows[q].as_ptr());
    let mut j = 0;
    while j < to {
        for parity in 0..2 {
            let start = COL_PAD + j + parity;
            let f = |q: usize| steps.filter16::<FUSED>(ptrs[q], start);
            let mu1 = _mm512_xor_si512(f(MU1), sign);
            let mu2 = _mm512_xor_si512(f(MU2), sign);
            let moment = |hi: usize| {
                let a = _mm512_xor_si512(f(hi), sign);
                let b = _mm512_xor_si512(f(hi + 1), sign);
                _mm512_add_epi32(a, _mm512_srli_epi32(_mm512_add_epi32(b, round), 16))
            };
            let s1 = _mm512_sub_epi32(moment(XX_HI), mul_round32(mu1, mu1));
            let s2 = _mm512_max_epi32(_mm512_sub_epi32(moment(YY_HI), mul_round32(mu2, mu2)), zero);
            let s12 = _mm512_sub_epi32(moment(XY_HI), mul_round32(mu1, mu2));
            statistic16(s1, s2, s12, lut, gain_limit, &mut acc);
        }
        j += 32;
    }
    sums.den_log += _mm512_reduce_add_epi32(acc.den) as i64;
    sums.num_log += _mm512_reduce_add_epi64(acc.num) + _mm512_reduce_add_epi64(acc.num_table);
    sums.den_non_log += to as i64 - acc.log_count as i64;
    sums.num_non_log += _mm512_reduce_add_epi64(acc.flat_sum);
}

/// The log2 table's entries at 15-bit indices `idx`, in the lanes of
/// `mask` (0 elsewhere), from its block form ([`Log2Table::blocks`]): one
/// gather from 16 KiB, which stays in the first-level cache where the
/// 64 KiB table does not (the gathers were a third of the statistic's time
/// on the device's Xeon), then one compare for the step inside the block.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn log2_entries(mask: __mmask16, idx: __m512i, lut: &Log2Table) -> __m512i {
    // SAFETY: the indices are 15-bit, so `idx >> 3` is below the 4096
    // entries of the block table.
    let e = _mm512_mask_i32gather_epi32::<4>(
        _mm512_setzero_si512(),
        mask,
        _mm512_srli_epi32::<3>(idx),
        lut.blocks().as_ptr().cast(),
    );
    let base = _mm512_and_si512(e, _mm512_set1_epi32(0xFFFF));
    let step =
        _mm512_mask_cmpge_epu32_mask(mask, _mm512_and_si512(idx, _mm512_set1_epi32(7)), _mm512_srli_epi32::<16>(e));
    _mm512_mask_add_epi32(base, step, base, _mm512_set1_epi32(1))
}

/// The per-pixel statistic (`pixel_statistic`) on 16 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq")]
unsafe fn statistic16(s1: __m512i, s2: __m512i, s12: __m512i, lut: &Log2Table, gain_limit: __m512d, acc: &mut Acc) {
    let zero = _mm512_setzero_si512();
    let log = _mm512_cmpgt_epi32_mask(s1, _mm512_set1_epi32(SIGMA_NSQ - 1));
    let flat = _mm512_maskz_mov_epi32(!log, s2);
    acc.flat_sum = _mm512_add_epi64(acc.flat_sum, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(flat)));
    acc.flat_sum = _mm512_add_epi64(acc.flat_sum, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(flat)));
    acc.log_count += log.count_ones() as u64;
    if log == 0 {
        return;
    }

    // Denominator: log2(2^17 + s1) - 17, the octave from a leading-zero
    // count exactly as the scalar code.
    let x = _mm512_add_epi32(s1, _mm512_set1_epi32(SIGMA_NSQ));
    let k = _mm512_sub_epi32(_mm512_set1_epi32(16), _mm512_lzcnt_epi32(x));
    let idx = _mm512_and_si512(
        _mm512_sub_epi32(_mm512_srlv_epi32(x, k), _mm512_set1_epi32(32768)),
        _mm512_set1_epi32(0x7FFF),
    );
    let l = log2_entries(log, idx, lut);
    let den = _mm512_add_epi32(l, _mm512_sub_epi32(_mm512_slli_epi32(k, 11), _mm512_set1_epi32(2048 * 17)));
    acc.den = _mm512_mask_add_epi32(acc.den, log, acc.den, den);

    let num = log & _mm512_cmpgt_epi32_mask(s12, zero) & _mm512_cmpgt_epi32_mask(s2, zero);
    if num == 0 {
        return;
    }
    numerator8(
        _mm512_castsi512_si256(s1),
        _mm512_castsi512_si256(s2),
        _mm512_castsi512_si256(s12),
        num as u8,
        lut,
        gain_limit,
        acc,
    );
    numerator8(
        _mm512_extracti64x4_epi64::<1>(s1),
        _mm512_extracti64x4_epi64::<1>(s2),
        _mm512_extracti64x4_epi64::<1>(s12),
        (num >> 8) as u8,
        lut,
        gain_limit,
        acc,
    );
}

/// The numerator's log difference on 8 lanes where `mask` is set, in
/// double precision exactly as the scalar code computes it.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn numerator8(
    s1: __m256i,
    s2: __m256i,
    s12: __m256i,
    mask: __mmask8,
    lut: &Log2Table,
    gain_limit: __m512d,
    acc: &mut Acc,
) {
    if mask == 0 {
        return;
    }
    const TRUNC: i32 = _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC;
    let s1 = _mm512_cvtepi32_pd(s1);
    let s2 = _mm512_cvtepi32_pd(s2);
    let s12 = _mm512_cvtepi32_pd(s12);
    let g = _mm512_div_pd(s12, _mm512_add_pd(s1, _mm512_set1_pd(GAIN_EPS)));
    // Separate multiply and subtract: libvmaf's code is not fused.
    let sv = _mm512_sub_pd(s2, _mm512_mul_pd(g, s12));
    let sv = _mm512_max_pd(_mm512_roundscale_pd::<TRUNC>(sv), _mm512_setzero_pd());
    let g = _mm512_min_pd(g, gain_limit);
    let t = _mm512_roundscale_pd::<TRUNC>(_mm512_mul_pd(_mm512_mul_pd(g, g), s1));
    let n1 = _mm512_add_pd(sv, _mm512_set1_pd(SIGMA_NSQ as f64));
    let n1t = _mm512_add_pd(t, n1);
    let (b1, b2) = (_mm512_castpd_si512(n1t), _mm512_castpd_si512(n1));
    let m15 = _mm512_set1_epi64(0x7FFF);
    // Both index sets in one vector; one gather reads both sets' entries
    // (lanes masked out read nothing and add 0 - 0). Integer sums: the
    // order of the additions does not matter.
    let idx = _mm512_inserti64x4::<1>(
        _mm512_castsi256_si512(_mm512_cvtepi64_epi32(_mm512_and_si512(_mm512_srli_epi64(b1, 37), m15))),
        _mm512_cvtepi64_epi32(_mm512_and_si512(_mm512_srli_epi64(b2, 37), m15)),
    );
    let e = log2_entries(mask as u16 | (mask as u16) << 8, idx, lut);
    let diff = _mm256_sub_epi32(_mm512_castsi512_si256(e), _mm512_extracti64x4_epi64::<1>(e));
    acc.num_table = _mm512_add_epi64(acc.num_table, _mm512_cvtepi32_epi64(diff));
    let ediff = _mm512_sub_epi64(_mm512_srli_epi64(b1, 52), _mm512_srli_epi64(b2, 52));
    acc.num = _mm512_mask_add_epi64(acc.num, mask, acc.num, _mm512_slli_epi64(ediff, 11));
}

/// The horizontal pass of the subsampling filter at even columns: output
/// columns `0..to` (a multiple of 32) of one decimated row.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn horizontal_decimate(pairs: &[Pair], row: &[i16], out: &mut [u16], to: usize) {
    match pairs.len() {
        5 => horizontal_decimate_n::<5>(pairs, row, out, to),
        3 => horizontal_decimate_n::<3>(pairs, row, out, to),
        2 => horizontal_decimate_n::<2>(pairs, row, out, to),
        n => unreachable!("no subsampling filter has {n} steps"),
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn horizontal_decimate_n<const P: usize>(pairs: &[Pair], row: &[i16], out: &mut [u16], to: usize) {
    let steps = Steps::<P>::new(pairs);
    let sign = _mm512_set1_epi32(SIGN32);
    let round = _mm512_set1_epi32(32768);
    let rp = row.as_ptr();
    let mut x = 0;
    while x < to {
        for h in 0..2 {
            let a = _mm512_xor_si512(steps.filter16::<false>(rp, COL_PAD + 2 * x + 32 * h), sign);
            let v = _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_add_epi32(a, round), 16));
            _mm256_storeu_si256(out.as_mut_ptr().add(x + 16 * h).cast(), v);
        }
        x += 32;
    }
}
