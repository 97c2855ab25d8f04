//! AVX2 kernels of CAMBI, bit-identical to `scalar.rs`.
//!
//! * Histogram slide: libvmaf adds or removes each entering or leaving
//!   sample over the `2·pad+1` columns around it, one range at a time;
//!   neighbouring samples of one value then update overlapping ranges of
//!   one histogram row back to back, which serialises on memory. Here the
//!   columns whose sample enters or leaves (and does not cancel against an
//!   equal one at the same column) are found 16 at a time, and for each
//!   histogram row among them the whole block is applied at once: the
//!   change at a column is a box sum of the block's event signs, read from
//!   their running sums with byte shuffles, and added to the few aligned
//!   16-count vectors the block reaches. Integer counts, so any order gives
//!   the same histograms.
//!   The histograms count per histogram row ("code", precomputed per scale
//!   in `Planes::codes`), so a sample is tested for mask and band once.
//! * Contrast rows: 8 columns at a time in i32/f32 lanes, the same products
//!   and reciprocal-table lookups as the scalar code (gathered, or loaded
//!   directly when the counted samples share one value), blocks of 16
//!   columns with nothing counted skipped. `max` of non-negative values
//!   equals the scalar "keep if larger". The non-zero values are packed into
//!   the pool and summed exactly in the same pass.
//! * Anti-dithering and decimation: plain vector loops. Loading, the
//!   spatial mask, the mode filter and the codes are the scalar code
//!   compiled for AVX2 (integer loops the compiler vectorises, with the same
//!   results by construction).

use std::arch::x86_64::*;
use std::sync::OnceLock;

use vmaf_core::{Plane, Result};

use super::scalar::{self, Contrast, Kernels, MaskScratch, Planes, Pool, NOT_COUNTED};

/// The AVX2 kernels. Only constructed after checking the CPU has AVX2.
#[derive(Clone, Copy)]
pub struct Avx2(());

impl Avx2 {
    /// `Some` when this CPU runs AVX2.
    pub fn new() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}

// SAFETY (every call below): `Avx2` exists only when the CPU has AVX2, and
// each kernel stays within the slices it is given (the histogram slack of
// `scalar::HIST_SLACK` zeroed counts covers vector accesses past its rows).
impl Kernels for Avx2 {
    fn load_u8(
        &self,
        src: &Plane<u8>,
        bpc: u32,
        out: &mut [u16],
        stride: usize,
        w: usize,
        h: usize,
    ) -> Result<()> {
        unsafe { load_u8(src, bpc, out, stride, w, h) }
    }
    fn load_u16(
        &self,
        src: &Plane<u16>,
        bpc: u32,
        out: &mut [u16],
        stride: usize,
        w: usize,
        h: usize,
    ) -> Result<()> {
        unsafe { load_u16(src, bpc, out, stride, w, h) }
    }
    fn anti_dither(&self, buf: &mut [u16], stride: usize, w: usize, h: usize) {
        unsafe { anti_dither(buf, stride, w, h) }
    }
    fn spatial_mask(
        &self,
        img: &[u16],
        mask: &mut [u8],
        stride: usize,
        w: usize,
        h: usize,
        threshold: u32,
        s: &mut MaskScratch,
    ) {
        unsafe { spatial_mask(img, mask, stride, w, h, threshold, s) }
    }
    fn decimate_u16(&self, buf: &mut [u16], stride: usize, w: usize, h: usize) {
        unsafe { decimate_u16(buf, stride, w, h) }
    }
    fn decimate_u8(&self, buf: &mut [u8], stride: usize, w: usize, h: usize) {
        unsafe { decimate_u8(buf, stride, w, h) }
    }
    fn filter_mode(&self, buf: &mut [u16], stride: usize, w: usize, h: usize, rows: &mut [u16]) {
        unsafe { filter_mode(buf, stride, w, h, rows) }
    }
    fn prepare(&self, p: &Planes<'_>, k: &Contrast, codes: &mut [u16]) {
        unsafe { prepare(p, k, codes) }
    }
    fn slide(
        &self,
        hist: &mut [u16],
        p: &Planes<'_>,
        pad: usize,
        sub: Option<usize>,
        add: Option<usize>,
        k: &Contrast,
    ) {
        if k.band_size == 0 {
            return; // nothing is counted
        }
        // Rows or columns past the plane (read from stale buffer contents,
        // as libvmaf does), and widths whose column arithmetic would leave
        // i16, take the scalar way.
        // Windows wider than 65 (never used: the reciprocal table stops
        // there) too.
        let past = |r: Option<usize>| r.is_some_and(|r| r >= p.h);
        if pad > p.w || pad > 32 || past(sub) || past(add) || p.w + 16 > i16::MAX as usize {
            return scalar::Scalar.slide(hist, p, pad, sub, add, k);
        }
        unsafe { slide(hist, p, pad, sub, add) }
    }
    fn c_row(
        &self,
        hist: &[u16],
        p: &Planes<'_>,
        i: usize,
        k: &Contrast,
        out: Option<&mut [f32]>,
        pool: &mut Pool,
    ) {
        unsafe { c_row(hist, p, i, k, out, pool) }
    }
}

// ---------------------------------------------------------------------------
// The scalar passes, compiled for AVX2.

#[target_feature(enable = "avx2")]
unsafe fn load_u8(
    src: &Plane<u8>,
    bpc: u32,
    out: &mut [u16],
    stride: usize,
    w: usize,
    h: usize,
) -> Result<()> {
    scalar::to_10bit(src, bpc, out, stride, w, h)
}

#[target_feature(enable = "avx2")]
unsafe fn load_u16(
    src: &Plane<u16>,
    bpc: u32,
    out: &mut [u16],
    stride: usize,
    w: usize,
    h: usize,
) -> Result<()> {
    scalar::to_10bit(src, bpc, out, stride, w, h)
}

#[target_feature(enable = "avx2")]
unsafe fn spatial_mask(
    img: &[u16],
    mask: &mut [u8],
    stride: usize,
    w: usize,
    h: usize,
    threshold: u32,
    s: &mut MaskScratch,
) {
    scalar::spatial_mask_impl(img, mask, stride, w, h, threshold, s)
}

#[target_feature(enable = "avx2")]
unsafe fn filter_mode(buf: &mut [u16], stride: usize, w: usize, h: usize, rows: &mut [u16]) {
    scalar::filter_mode_impl(buf, stride, w, h, rows)
}

#[target_feature(enable = "avx2")]
unsafe fn prepare(p: &Planes<'_>, k: &Contrast, codes: &mut [u16]) {
    scalar::codes_impl(p, k, codes)
}

// ---------------------------------------------------------------------------
// Anti-dithering and decimation

/// In place, 16 columns at a time: each block reads its inputs (including
/// the column after it, not yet written) before writing.
#[target_feature(enable = "avx2")]
unsafe fn anti_dither(buf: &mut [u16], stride: usize, w: usize, h: usize) {
    for i in 0..h - 1 {
        let (cur, next) = buf[i * stride..].split_at_mut(stride);
        let mut j = 0;
        while j + 17 <= w {
            let a = _mm256_loadu_si256(cur.as_ptr().add(j) as *const __m256i);
            let b = _mm256_loadu_si256(cur.as_ptr().add(j + 1) as *const __m256i);
            let c = _mm256_loadu_si256(next.as_ptr().add(j) as *const __m256i);
            let d = _mm256_loadu_si256(next.as_ptr().add(j + 1) as *const __m256i);
            let s = _mm256_add_epi16(_mm256_add_epi16(a, b), _mm256_add_epi16(c, d));
            _mm256_storeu_si256(
                cur.as_mut_ptr().add(j) as *mut __m256i,
                _mm256_srli_epi16::<2>(s),
            );
            j += 16;
        }
        for j in j..w - 1 {
            cur[j] = (cur[j] + cur[j + 1] + next[j] + next[j + 1]) >> 2;
        }
        cur[w - 1] = (cur[w - 1] + next[w - 1]) >> 1;
    }
    let last = &mut buf[(h - 1) * stride..];
    for j in 0..w - 1 {
        last[j] = (last[j] + last[j + 1]) >> 1;
    }
}

/// Row 0 reads ahead of itself, 32 samples at a time (each block is read
/// before it is written and reads only samples at or after it); later rows
/// read rows below them.
#[target_feature(enable = "avx2")]
unsafe fn decimate_u16(buf: &mut [u16], stride: usize, w: usize, h: usize) {
    let lo = _mm256_set1_epi32(0xFFFF);
    for i in 0..h {
        let src = 2 * i * stride;
        let dst = i * stride;
        // Both source vectors lie inside row 2i: 2j + 32 <= 2w.
        let mut j = 0;
        while j + 16 <= w && src + 2 * j + 32 <= buf.len() {
            let p = buf.as_ptr().add(src + 2 * j);
            let a = _mm256_and_si256(_mm256_loadu_si256(p as *const __m256i), lo);
            let b = _mm256_and_si256(_mm256_loadu_si256(p.add(16) as *const __m256i), lo);
            let packed = _mm256_permute4x64_epi64::<0xD8>(_mm256_packus_epi32(a, b));
            _mm256_storeu_si256(buf.as_mut_ptr().add(dst + j) as *mut __m256i, packed);
            j += 16;
        }
        for j in j..w {
            buf[dst + j] = buf[src + 2 * j];
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn decimate_u8(buf: &mut [u8], stride: usize, w: usize, h: usize) {
    let lo = _mm256_set1_epi16(0xFF);
    for i in 0..h {
        let src = 2 * i * stride;
        let dst = i * stride;
        let mut j = 0;
        while j + 32 <= w && src + 2 * j + 64 <= buf.len() {
            let p = buf.as_ptr().add(src + 2 * j);
            let a = _mm256_and_si256(_mm256_loadu_si256(p as *const __m256i), lo);
            let b = _mm256_and_si256(_mm256_loadu_si256(p.add(32) as *const __m256i), lo);
            let packed = _mm256_permute4x64_epi64::<0xD8>(_mm256_packus_epi16(a, b));
            _mm256_storeu_si256(buf.as_mut_ptr().add(dst + j) as *mut __m256i, packed);
            j += 32;
        }
        for j in j..w {
            buf[dst + j] = buf[src + 2 * j];
        }
    }
}

// ---------------------------------------------------------------------------
// Histogram slide

/// Byte-shuffle controls that turn the running sums of a block's 16 event
/// signs into the change of each histogram column the block reaches: for
/// the 16 columns of chunk `k` (from `16·k` columns after the block start),
/// the change at column `x` is `P[hi] - P[lo]`, `P` the inclusive running
/// sums, `[lo + 1, hi]` the block columns within `pad` of `x` (a control
/// byte with the top bit set reads 0).
struct BoxShuffles {
    /// Chunk offset of the first chunk (≤ 0).
    first: isize,
    his: [__m128i; 5],
    los: [__m128i; 5],
    chunks: usize,
}

impl BoxShuffles {
    /// The controls for windows reaching `pad` columns each way (at most
    /// 32), loaded from a table built on first use.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn new(pad: usize) -> Self {
        /// Per pad: the `hi` and `lo` control bytes of up to 5 chunks.
        type Controls = [([u8; 16], [u8; 16]); 5];
        static TABLE: OnceLock<Vec<Controls>> = OnceLock::new();
        let table = TABLE.get_or_init(|| {
            (0..=32isize)
                .map(|pad| {
                    let reach = (pad + 15) / 16;
                    let mut t = [([0u8; 16], [0u8; 16]); 5];
                    for (c, k) in (-reach..=reach).enumerate() {
                        for u in 0..16 {
                            let x = 16 * k + u as isize;
                            // Block columns t with |x - t| <= pad, in 0..16.
                            let top = (x + pad).min(15);
                            let bottom = (x - pad).max(0);
                            let (hi, lo) = if top < bottom {
                                (0x80, 0x80)
                            } else {
                                (
                                    top as u8,
                                    if bottom == 0 {
                                        0x80
                                    } else {
                                        (bottom - 1) as u8
                                    },
                                )
                            };
                            t[c].0[u] = hi;
                            t[c].1[u] = lo;
                        }
                    }
                    t
                })
                .collect()
        });
        let reach = pad.div_ceil(16);
        let t = &table[pad];
        let load = |b: &[u8; 16]| _mm_loadu_si128(b.as_ptr() as *const __m128i);
        BoxShuffles {
            first: -(reach as isize),
            his: std::array::from_fn(|c| load(&t[c].0)),
            los: std::array::from_fn(|c| load(&t[c].1)),
            chunks: 2 * reach + 1,
        }
    }
}

/// Applies the events of one histogram row in the 16-column block at `j`:
/// `signs` holds +1 (entering), -1 (leaving) or 0 per column, as i16
/// lanes. Every column within `pad` of an event changes by the sum of the
/// signs it reaches.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn apply_block(
    hist: &mut [u16],
    w: usize,
    hs: usize,
    row: usize,
    j: usize,
    signs: __m256i,
    b: &BoxShuffles,
) {
    // Inclusive running sums of the signs, as bytes (within ±16).
    let mut p = _mm_packs_epi16(
        _mm256_castsi256_si128(signs),
        _mm256_extracti128_si256::<1>(signs),
    );
    p = _mm_add_epi8(p, _mm_slli_si128::<1>(p));
    p = _mm_add_epi8(p, _mm_slli_si128::<2>(p));
    p = _mm_add_epi8(p, _mm_slli_si128::<4>(p));
    p = _mm_add_epi8(p, _mm_slli_si128::<8>(p));
    let base = row * hs;
    debug_assert!(base + hs <= hist.len());
    let reach = 16 * (b.chunks / 2);
    if j >= reach && j + 16 + reach <= w {
        // Inside the plane: every chunk is whole.
        let ptr = hist.as_mut_ptr().add(base + j - reach) as *mut __m256i;
        for c in 0..b.chunks {
            let d8 = _mm_sub_epi8(_mm_shuffle_epi8(p, b.his[c]), _mm_shuffle_epi8(p, b.los[c]));
            let q = ptr.add(c);
            _mm256_store_si256(
                q,
                _mm256_add_epi16(_mm256_load_si256(q), _mm256_cvtepi8_epi16(d8)),
            );
        }
        return;
    }
    for c in 0..b.chunks {
        let x0 = j as isize + 16 * (b.first + c as isize);
        if x0 < 0 || x0 as usize >= w {
            continue;
        }
        let x0 = x0 as usize;
        let d8 = _mm_sub_epi8(_mm_shuffle_epi8(p, b.his[c]), _mm_shuffle_epi8(p, b.los[c]));
        let mut d = _mm256_cvtepi8_epi16(d8);
        if x0 + 16 > w {
            // Columns past the plane stay as they are.
            let x = _mm256_add_epi16(
                _mm256_set1_epi16(x0 as i16),
                _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            );
            d = _mm256_and_si256(d, _mm256_cmpgt_epi16(_mm256_set1_epi16(w as i16), x));
        }
        // Aligned: `hs` and `x0` are multiples of 16 and the buffer is
        // 32-byte aligned; the chunk lies inside the row's stride.
        let ptr = hist.as_mut_ptr().add(base + x0) as *mut __m256i;
        _mm256_store_si256(ptr, _mm256_add_epi16(_mm256_load_si256(ptr), d));
    }
}

/// Adds `delta` to the counts of `row` within `pad` of column `j`.
#[inline]
fn add_range(hist: &mut [u16], hs: usize, w: usize, pad: usize, row: usize, j: usize, delta: u16) {
    let (lo, hi) = (j.saturating_sub(pad), (j + pad + 1).min(w));
    for x in &mut hist[row * hs + lo..row * hs + hi] {
        *x = x.wrapping_add(delta);
    }
}

/// The histogram slide from the codes of the rows (`Planes::codes`): a
/// column has an event on a side when that side's sample is counted and
/// differs from the other side's. Blocks of 16 columns with events are
/// applied one histogram row at a time, branch-free per row. A missing side
/// reads as not counted.
#[target_feature(enable = "avx2")]
unsafe fn slide(
    hist: &mut [u16],
    p: &Planes<'_>,
    pad: usize,
    sub: Option<usize>,
    add: Option<usize>,
) {
    let w = p.w;
    let hs = scalar::hist_stride(w);
    let shuffles = BoxShuffles::new(pad);
    let none = vec_none();
    let row_codes = |r: Option<usize>| r.map(|r| &p.codes[r * p.stride..r * p.stride + w]);
    let (sub, add) = (row_codes(sub), row_codes(add));
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load(c: Option<&[u16]>, j: usize) -> __m256i {
        match c {
            Some(c) => _mm256_loadu_si256(c.as_ptr().add(j) as *const __m256i),
            None => vec_none(),
        }
    }
    let mut j = 0;
    while j + 16 <= w {
        let sv = load(sub, j);
        let av = load(add, j);
        let differ = _mm256_xor_si256(_mm256_cmpeq_epi16(sv, av), none);
        let mut s_ev = _mm256_andnot_si256(_mm256_cmpeq_epi16(sv, none), differ);
        let mut a_ev = _mm256_andnot_si256(_mm256_cmpeq_epi16(av, none), differ);
        if _mm256_testz_si256(differ, differ) != 0 {
            j += 16;
            continue; // nothing enters or leaves here (the usual case)
        }
        // The codes of both sides, leaving then entering.
        let mut both = [0u16; 32];
        _mm256_storeu_si256(both.as_mut_ptr() as *mut __m256i, sv);
        _mm256_storeu_si256(both.as_mut_ptr().add(16) as *mut __m256i, av);
        loop {
            let bits = _mm256_movemask_epi8(_mm256_or_si256(s_ev, a_ev)) as u32;
            if bits == 0 {
                break;
            }
            // The histogram row of the first remaining event (entering
            // first where both sides have one; the other stays for a later
            // round). Every round clears at least that event.
            let t = bits.trailing_zeros() / 2;
            let entering = (_mm256_movemask_epi8(a_ev) as u32 >> (2 * t)) & 1;
            let row = both[(t + 16 * entering) as usize];
            let rv = _mm256_set1_epi16(row as i16);
            let s_row = _mm256_and_si256(s_ev, _mm256_cmpeq_epi16(sv, rv));
            let a_row = _mm256_and_si256(a_ev, _mm256_cmpeq_epi16(av, rv));
            // +1 entering, -1 leaving (masks are -1 where set).
            apply_block(
                hist,
                w,
                hs,
                row as usize,
                j,
                _mm256_sub_epi16(s_row, a_row),
                &shuffles,
            );
            s_ev = _mm256_andnot_si256(s_row, s_ev);
            a_ev = _mm256_andnot_si256(a_row, a_ev);
        }
        j += 16;
    }
    for c in j..w {
        let code = |s: Option<&[u16]>| s.map_or(NOT_COUNTED, |s| s[c]);
        let (sv, av) = (code(sub), code(add));
        if sv == av {
            continue;
        }
        if sv != NOT_COUNTED {
            add_range(hist, hs, w, pad, sv as usize, c, u16::MAX);
        }
        if av != NOT_COUNTED {
            add_range(hist, hs, w, pad, av as usize, c, 1);
        }
    }
}

/// Sixteen `NOT_COUNTED` codes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn vec_none() -> __m256i {
    _mm256_set1_epi16(NOT_COUNTED as i16)
}

// ---------------------------------------------------------------------------
// Contrast rows

/// The 8 counts from `hist[at]`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn counts_at(hist: &[u16], at: usize) -> __m256i {
    debug_assert!(at + 8 <= hist.len());
    _mm256_cvtepu16_epi32(_mm_load_si128(hist.as_ptr().add(at) as *const __m128i))
}

/// The counts at the 8 histogram indexes `idx` (read as the low halves of
/// 32-bit gathers, so the slack past the last row covers the upper halves).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn gather_counts(hist: *const i32, idx: __m256i) -> __m256i {
    _mm256_and_si256(
        _mm256_i32gather_epi32::<2>(hist, idx),
        _mm256_set1_epi32(0xFFFF),
    )
}

/// `weight[d] · p0 · pm · recip[p0 + pm]` in 8 lanes (`fp0` is `p0` as
/// f32). `p0·pm` is below 2^24, exact in f32, so the product with the
/// weight is rounded once, as the conversion of the exact integer product
/// is in the scalar code. The counts are real window counts, so their sum
/// indexes the reciprocal table.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn contrast8(k: &Contrast, d: usize, p0: __m256i, fp0: __m256, pm: __m256i) -> __m256 {
    let num = _mm256_mul_ps(
        _mm256_mul_ps(fp0, _mm256_cvtepi32_ps(pm)),
        _mm256_set1_ps(k.weights[d] as f32),
    );
    let rcp = _mm256_i32gather_ps::<4>(k.recip.as_ptr(), _mm256_add_epi32(p0, pm));
    _mm256_mul_ps(num, rcp)
}

/// The contrast values of the 8 columns from `j` of a row with codes
/// `codes`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn chunk8(hist: &[u16], codes: &[u16], j: usize, k: &Contrast) -> __m256 {
    let hs = scalar::hist_stride(codes.len());
    let c16 = _mm_loadu_si128(codes.as_ptr().add(j) as *const __m128i);
    let off16 = _mm_cmpeq_epi16(c16, _mm_set1_epi16(NOT_COUNTED as i16));
    if _mm_movemask_epi8(off16) == 0xFFFF {
        return _mm256_setzero_ps();
    }
    let active = _mm256_xor_si256(_mm256_cvtepi16_epi32(off16), _mm256_set1_epi32(-1));
    let code = _mm256_cvtepu16_epi32(c16);
    let first = (_mm256_movemask_ps(_mm256_castsi256_ps(active)) as u32).trailing_zeros() as usize;
    let r0 = codes[j + first] as usize;
    let same = _mm256_cmpeq_epi32(code, _mm256_set1_epi32(r0 as i32));
    let mut c = _mm256_setzero_ps();
    if _mm256_testc_si256(same, active) != 0 {
        // Every counted sample has one code: its histogram rows are read as
        // plain vectors and the steps that count are known (other lanes read
        // real counts too, masked off at the end).
        let load = |r: usize| counts_at(hist, r * hs + j);
        let p0 = load(r0);
        let fp0 = _mm256_cvtepi32_ps(p0);
        let mut steps = k.steps[r0];
        while steps != 0 {
            let d = steps.trailing_zeros() as usize;
            steps &= steps - 1;
            let p1 = load(r0 + d + 1);
            let pm = if r0 > d {
                _mm256_max_epi32(p1, load(r0 - d - 1))
            } else {
                p1
            };
            if _mm256_testz_si256(pm, active) != 0 {
                continue; // no neighbour counts: every value is 0
            }
            c = _mm256_max_ps(c, contrast8(k, d, p0, fp0, pm));
        }
        return _mm256_and_ps(c, _mm256_castsi256_ps(active));
    }
    let zero = _mm256_setzero_si256();
    let minus1 = _mm256_set1_epi32(-1);
    // The sample value plus `num_diffs`, from the code.
    let value = _mm256_add_epi32(
        code,
        _mm256_set1_epi32(k.band_base as i32 + k.num_diffs as i32),
    );
    let row = _mm256_min_epi32(code, _mm256_set1_epi32(k.band_size as i32 - 1));
    let cols = _mm256_add_epi32(
        _mm256_set1_epi32(j as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    );
    let hp = hist.as_ptr() as *const i32;
    let wv = _mm256_set1_epi32(hs as i32);
    // Counts of histogram row `r` (per lane) at these columns.
    let counts = |r: __m256i| gather_counts(hp, _mm256_add_epi32(_mm256_mullo_epi32(r, wv), cols));
    let p0 = counts(row);
    let fp0 = _mm256_cvtepi32_ps(p0);
    for d in 0..k.num_diffs {
        let step = d as i32 + 1;
        let visible = _mm256_cmpgt_epi32(_mm256_set1_epi32(k.tvi[d] as i32 + 1), value);
        let bright = _mm256_cmpgt_epi32(
            _mm256_add_epi32(value, _mm256_set1_epi32(step)),
            _mm256_set1_epi32(k.vlt as i32),
        );
        let cond = _mm256_and_si256(active, _mm256_and_si256(visible, bright));
        if _mm256_testz_si256(cond, cond) != 0 {
            continue;
        }
        let stepv = _mm256_set1_epi32(step);
        let down = _mm256_sub_epi32(row, stepv);
        let has_down = _mm256_cmpgt_epi32(down, minus1);
        let p1 = counts(_mm256_add_epi32(row, stepv));
        let p2 = _mm256_and_si256(counts(_mm256_max_epi32(down, zero)), has_down);
        let pm = _mm256_max_epi32(p1, p2);
        if _mm256_testz_si256(pm, cond) != 0 {
            continue;
        }
        let val = contrast8(k, d, p0, fp0, pm);
        c = _mm256_max_ps(c, _mm256_and_ps(val, _mm256_castsi256_ps(cond)));
    }
    c
}

/// Contrast row from the codes: blocks of 16 columns with nothing counted
/// (the usual case) are skipped, the others computed 8 columns at a time.
#[target_feature(enable = "avx2")]
unsafe fn c_row(
    hist: &[u16],
    p: &Planes<'_>,
    i: usize,
    k: &Contrast,
    mut out: Option<&mut [f32]>,
    pool: &mut Pool,
) {
    let w = p.w;
    let codes = &p.codes[i * p.stride..i * p.stride + w];
    // Every gather index is a count of the histogram rows (clamped into
    // 0..hist_rows) or a window area (at most 4225), so stays inside `hist`
    // plus slack and the reciprocal table.
    debug_assert!(k.hist_rows() * scalar::hist_stride(w) + 1 < hist.len() && k.recip.len() > 4225);
    let mut acc = RowSum::new();
    let none = vec_none();
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn put(
        out: &mut Option<&mut [f32]>,
        acc: &mut RowSum,
        pool: &mut Pool,
        j: usize,
        c: __m256,
    ) {
        if let Some(o) = out.as_deref_mut() {
            _mm256_storeu_ps(o[j..j + 8].as_mut_ptr(), c);
        }
        acc.add(pool, c);
    }
    let mut j = 0;
    while j + 16 <= w {
        let c16 = _mm256_loadu_si256(codes.as_ptr().add(j) as *const __m256i);
        if _mm256_movemask_epi8(_mm256_cmpeq_epi16(c16, none)) == -1 {
            // Nothing counted: zeros, which pool nothing.
            if let Some(o) = out.as_deref_mut() {
                o[j..j + 16].fill(0.0);
            }
        } else {
            put(&mut out, &mut acc, pool, j, chunk8(hist, codes, j, k));
            put(
                &mut out,
                &mut acc,
                pool,
                j + 8,
                chunk8(hist, codes, j + 8, k),
            );
        }
        j += 16;
    }
    if j + 8 <= w {
        put(&mut out, &mut acc, pool, j, chunk8(hist, codes, j, k));
        j += 8;
    }
    let img = &p.img[i * p.stride..i * p.stride + w];
    let mask = &p.mask[i * p.stride..i * p.stride + w];
    let hs = scalar::hist_stride(w);
    for c in j..w {
        let v = if mask[c] != 0 {
            k.pixel(hist, hs, c, img[c])
        } else {
            0.0
        };
        if let Some(o) = out.as_deref_mut() {
            o[c] = v;
        }
        acc.push(pool, v);
    }
    acc.finish(pool);
}

// ---------------------------------------------------------------------------
// Pooling

/// `PACK[m]`: the lanes of the set bits of `m`, in order, then zeros: the
/// permutation that moves the selected lanes of a vector to its front.
fn pack_table() -> &'static [[u32; 8]; 256] {
    static TABLE: OnceLock<[[u32; 8]; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [[0u32; 8]; 256];
        for (m, lanes) in t.iter_mut().enumerate() {
            let mut n = 0;
            for b in 0..8 {
                if m >> b & 1 != 0 {
                    lanes[n] = b as u32;
                    n += 1;
                }
            }
        }
        t
    })
}

/// Collects the non-zero contrast values of one row into a pool: packed
/// into its spare slots, and summed exactly.
///
/// The sum: each value `v` (a multiple of 2^-36 below 2^14) is split into
/// `floor(v)` and `(v - floor(v))·2^36`, both integers held exactly in f64;
/// per lane and row neither sum can pass 2^53 (a row has under 2^15
/// values), so both stay exact and combine into the same integer as the
/// scalar per-value sum.
struct RowSum {
    table: &'static [[u32; 8]; 256],
    /// Values packed so far, past the pool's own.
    n: usize,
    ints: __m256d,
    fracs: __m256d,
    /// Exact sum of the values taken one at a time.
    tail: u128,
}

impl RowSum {
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn new() -> Self {
        RowSum {
            table: pack_table(),
            n: 0,
            ints: _mm256_setzero_pd(),
            fracs: _mm256_setzero_pd(),
            tail: 0,
        }
    }

    /// Takes 8 values.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn add(&mut self, pool: &mut Pool, v: __m256) {
        let bits =
            _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(v, _mm256_setzero_ps())) as usize;
        if bits == 0 {
            return;
        }
        let (vals, _) = pool.spare();
        // Room for a whole vector: the pool keeps 16 spare slots past the
        // largest map.
        assert!(self.n + 8 <= vals.len());
        let perm = _mm256_loadu_si256(self.table[bits].as_ptr() as *const __m256i);
        _mm256_storeu_ps(
            vals.as_mut_ptr().add(self.n),
            _mm256_permutevar8x32_ps(v, perm),
        );
        self.n += bits.count_ones() as usize;
        let scale = _mm256_set1_pd((1u64 << 36) as f64);
        for half in [_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v)] {
            let x = _mm256_cvtps_pd(half);
            let f = _mm256_round_pd::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(x);
            self.ints = _mm256_add_pd(self.ints, f);
            self.fracs = _mm256_add_pd(self.fracs, _mm256_mul_pd(_mm256_sub_pd(x, f), scale));
        }
    }

    /// Takes one value.
    #[inline]
    fn push(&mut self, pool: &mut Pool, v: f32) {
        if v != 0.0 {
            pool.spare().0[self.n] = v;
            self.n += 1;
            self.tail += scalar::fixed(v) as u128;
        }
    }

    /// Hands the row's values and their sum to the pool.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn finish(self, pool: &mut Pool) {
        let (mut i4, mut f4) = ([0f64; 4], [0f64; 4]);
        _mm256_storeu_pd(i4.as_mut_ptr(), self.ints);
        _mm256_storeu_pd(f4.as_mut_ptr(), self.fracs);
        let mut sum = self.tail;
        for (i, f) in i4.iter().zip(&f4) {
            sum += ((*i as u128) << 36) + *f as u128;
        }
        let (_, len) = pool.spare();
        pool.commit(len, self.n, sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::cambi::test_util::*;
    use scalar::Scalar;

    fn first_difference<T: PartialEq + Copy + std::fmt::Debug>(
        a: &[T],
        b: &[T],
    ) -> Option<(usize, T, T)> {
        a.iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .map(|i| (i, a[i], b[i]))
    }

    /// Slides the histograms down a plane with both kernel sets, checking
    /// the histograms after every move and the contrast rows (and what they
    /// pool) after every row.
    fn check_map(simd: &Avx2, what: &str, p: &Planes<'_>, pad: usize, k: &Contrast) {
        let (w, h) = (p.w, p.h);
        let mut codes = vec![0u16; p.stride * h];
        simd.prepare(p, k, &mut codes);
        let p = Planes {
            codes: &codes,
            ..*p
        };
        let len = scalar::hist_len(k, w);
        let mut bufs = [
            scalar::MapBuffers::new(k, w, p.stride, h),
            scalar::MapBuffers::new(k, w, p.stride, h),
        ];
        let [a, b] = &mut bufs;
        let (a, b) = (&mut a.hist_mut()[..len], &mut b.hist_mut()[..len]);
        let mut pools = [Pool::new(w * h), Pool::new(w * h)];
        let (mut ra, mut rb) = (vec![0f32; w], vec![0f32; w]);
        let hs = scalar::hist_stride(w);
        let check_hist = |a: &[u16], b: &[u16], when: &str| {
            if let Some((i, x, y)) = first_difference(a, b) {
                panic!(
                    "{what} {when}: count ({}, {}) is {x} (scalar) vs {y}",
                    i / hs,
                    i % hs
                );
            }
        };
        // The first rows enter before row 0, also rows past a short plane.
        for r in 0..pad {
            Scalar.slide(a, &p, pad, None, Some(r), k);
            simd.slide(b, &p, pad, None, Some(r), k);
            check_hist(a, b, &format!("first pass row {r}"));
        }
        for i in 0..h {
            let (sub, add) = scalar::row_moves(i, h, pad);
            Scalar.slide(a, &p, pad, sub, add, k);
            simd.slide(b, &p, pad, sub, add, k);
            check_hist(a, b, &format!("before row {i}"));
            let [pa, pb] = &mut pools;
            Scalar.c_row(a, &p, i, k, Some(&mut ra), pa);
            simd.c_row(b, &p, i, k, Some(&mut rb), pb);
            let bits = |r: &[f32]| r.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            if let Some((j, x, y)) = first_difference(&bits(&ra), &bits(&rb)) {
                panic!(
                    "{what} row {i} col {j}: {} (scalar) vs {}",
                    f32::from_bits(x),
                    f32::from_bits(y)
                );
            }
        }
        let [pa, pb] = &pools;
        let ((va, sa), (vb, sb)) = (pa.contents(), pb.contents());
        assert_eq!(va.len(), vb.len(), "{what}: pooled value counts");
        assert!(
            va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{what}: pooled values"
        );
        assert_eq!(sa, sb, "{what}: pooled sums");
    }

    #[test]
    fn contrast_maps_match_scalar() {
        let Some(simd) = Avx2::new() else { return };
        let mut rng = Rng(7);
        for case in 0..600 {
            let w = 1 + rng.below(80);
            let h = 1 + rng.below(12);
            // Windows narrower and wider than the plane.
            let pad = rng.below(w.min(40) + 2);
            let k = if case % 3 == 0 {
                default_contrast()
            } else {
                contrast(&mut rng)
            };
            let fill = FILLS[case % FILLS.len()];
            let (img, mask, stride) = planes_with(&mut rng, w, h, &k, fill);
            let p = Planes {
                img: &img,
                mask: &mask,
                stride,
                w,
                h,
                codes: &[],
            };
            check_map(
                &simd,
                &format!("case {case} ({fill:?} {w}x{h} pad {pad})"),
                &p,
                pad,
                &k,
            );
        }
    }

    #[test]
    fn contrast_maps_match_scalar_on_wide_planes() {
        let Some(simd) = Avx2::new() else { return };
        let mut rng = Rng(11);
        for (case, fill) in FILLS.iter().enumerate() {
            let (w, h) = (300 + rng.below(200), 40);
            let k = default_contrast();
            let (img, mask, stride) = planes_with(&mut rng, w, h, &k, *fill);
            let p = Planes {
                img: &img,
                mask: &mask,
                stride,
                w,
                h,
                codes: &[],
            };
            for pad in [0, 7, 16, 32] {
                check_map(
                    &simd,
                    &format!("wide case {case} ({fill:?} {w}x{h} pad {pad})"),
                    &p,
                    pad,
                    &k,
                );
            }
        }
    }

    /// A `w`x`h` u16 plane of values up to `max` (runs, noise, constants).
    fn plane16(rng: &mut Rng, w: usize, h: usize, max: u32, style: usize) -> (Vec<u16>, usize) {
        let stride = scalar::aligned_stride(w);
        let mut v = vec![0u16; stride * h + 64];
        let mut cur = 0;
        for r in 0..h {
            for c in 0..w {
                if rng.below(4) == 0 {
                    cur = rng.below(max as usize + 1) as u16;
                }
                v[r * stride + c] = match style {
                    0 => cur,
                    1 => rng.below(max as usize + 1) as u16,
                    2 => 0,
                    _ => max as u16,
                };
            }
        }
        (v, stride)
    }

    #[test]
    fn plane_passes_match_scalar() {
        let Some(simd) = Avx2::new() else { return };
        let mut rng = Rng(3);
        for case in 0..800 {
            let w = 1 + rng.below(65);
            let h = 1 + rng.below(9);
            let style = case % 4;
            let what = format!("case {case} {w}x{h} style {style}");
            let (img, stride) = plane16(&mut rng, w, h, 1024, style);

            let (mut a, mut b) = (img.clone(), img.clone());
            Scalar.anti_dither(&mut a, stride, w, h);
            simd.anti_dither(&mut b, stride, w, h);
            assert_eq!(first_difference(&a, &b), None, "anti-dither {what}");

            let (mut a, mut b) = (img.clone(), img.clone());
            let mut rows = vec![0u16; 3 * w];
            Scalar.filter_mode(&mut a, stride, w, h, &mut rows);
            simd.filter_mode(&mut b, stride, w, h, &mut rows);
            assert_eq!(first_difference(&a, &b), None, "mode filter {what}");

            let (mut ma, mut mb) = (vec![7u8; img.len()], vec![7u8; img.len()]);
            let threshold = rng.below(52) as u32;
            let mut s = MaskScratch::new(w);
            Scalar.spatial_mask(&img, &mut ma, stride, w, h, threshold, &mut s);
            simd.spatial_mask(&img, &mut mb, stride, w, h, threshold, &mut s);
            assert_eq!(
                first_difference(&ma, &mb),
                None,
                "spatial mask {what} threshold {threshold}"
            );

            let (dw, dh) = (w.div_ceil(2), h.div_ceil(2));
            let (mut a, mut b) = (img.clone(), img.clone());
            Scalar.decimate_u16(&mut a, stride, dw, dh);
            simd.decimate_u16(&mut b, stride, dw, dh);
            assert_eq!(first_difference(&a, &b), None, "decimate {what}");
            let (mut a, mut b) = (ma.clone(), ma.clone());
            Scalar.decimate_u8(&mut a, stride, dw, dh);
            simd.decimate_u8(&mut b, stride, dw, dh);
            assert_eq!(first_difference(&a, &b), None, "decimate mask {what}");
        }
    }

    #[test]
    fn loading_matches_scalar_at_every_depth() {
        let Some(simd) = Avx2::new() else { return };
        let mut rng = Rng(5);
        for case in 0..400 {
            let (w, h) = (1 + rng.below(70), 1 + rng.below(6));
            // Same size, or resampled to a smaller or larger one.
            let (ow, oh) = match case % 3 {
                0 => (w, h),
                1 => (1 + rng.below(w), 1 + rng.below(h)),
                _ => (w + rng.below(40), h + rng.below(5)),
            };
            let stride = scalar::aligned_stride(ow.max(w) + rng.below(40));
            let style = case % 4;
            let (mut a, mut b) = (
                vec![0u16; stride * oh.max(h)],
                vec![0u16; stride * oh.max(h)],
            );
            let (src8, _) = plane16(&mut rng, w, h, 255, style);
            let s = scalar::aligned_stride(w);
            let p8 = Plane::from_vec(src8.iter().map(|&v| v as u8).collect(), w, h, s).unwrap();
            Scalar.load_u8(&p8, 8, &mut a, stride, ow, oh).unwrap();
            simd.load_u8(&p8, 8, &mut b, stride, ow, oh).unwrap();
            assert_eq!(first_difference(&a, &b), None, "8-bit case {case}");
            for bpc in [10u32, 12, 16] {
                let (src, s) = plane16(&mut rng, w, h, (1 << bpc) - 1, style);
                let p = Plane::from_vec(src, w, h, s).unwrap();
                Scalar.load_u16(&p, bpc, &mut a, stride, ow, oh).unwrap();
                simd.load_u16(&p, bpc, &mut b, stride, ow, oh).unwrap();
                assert_eq!(first_difference(&a, &b), None, "{bpc}-bit case {case}");
            }
        }
    }
}
