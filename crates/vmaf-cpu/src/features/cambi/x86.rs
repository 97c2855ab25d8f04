//! AVX2 kernels of CAMBI, bit-identical to `scalar.rs`.
//!
//! * Histogram slide: libvmaf adds or removes each entering or leaving
//!   sample over the `2·pad+1` columns around it, one range at a time;
//!   neighbouring samples of one value then update overlapping ranges of
//!   one histogram row back to back, which serialises on memory. Here the
//!   columns whose sample enters or leaves (and does not cancel against an
//!   equal one at the same column) are found 16 at a time, consecutive
//!   columns of equal value are merged into runs, and each run is added in
//!   one pass as the trapezoid it sums to: at column `x`, the number of run
//!   columns within `pad` of `x`. Integer counts, so any order gives the
//!   same histograms.
//! * Contrast rows: 8 columns at a time in i32/f32 lanes, the same products
//!   and reciprocal-table lookups as the scalar code (gathered, or loaded
//!   directly when the 8 samples share one value). `max` of non-negative
//!   values equals the scalar "keep if larger".
//! * The other passes (anti-dithering, spatial mask, decimation, mode
//!   filter) are the scalar code compiled for AVX2: plain integer loops the
//!   compiler vectorises, with the same results by construction.

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
    fn load_u8(&self, src: &Plane<u8>, bpc: u32, out: &mut [u16], stride: usize, w: usize, h: usize) -> Result<()> {
        unsafe { load_u8(src, bpc, out, stride, w, h) }
    }
    fn load_u16(&self, src: &Plane<u16>, bpc: u32, out: &mut [u16], stride: usize, w: usize, h: usize) -> Result<()> {
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
    fn slide(&self, hist: &mut [u16], p: &Planes<'_>, pad: usize, sub: Option<usize>, add: Option<usize>, k: &Contrast) {
        if k.band_size == 0 {
            return; // nothing is counted
        }
        // Rows or columns past the plane (read from stale buffer contents,
        // as libvmaf does), and widths whose column arithmetic would leave
        // i16, take the scalar way.
        let past = |r: Option<usize>| r.is_some_and(|r| r >= p.h);
        if pad > p.w || past(sub) || past(add) || p.w + pad + 16 > i16::MAX as usize {
            return scalar::Scalar.slide(hist, p, pad, sub, add, k);
        }
        unsafe { slide(hist, p, pad, sub, add) }
    }
    fn c_row(&self, hist: &[u16], p: &Planes<'_>, i: usize, k: &Contrast, out: &mut [f32], pool: &mut Pool) {
        unsafe { c_row(hist, p, i, k, out, pool) }
    }
}

// ---------------------------------------------------------------------------
// The scalar passes, compiled for AVX2.

#[target_feature(enable = "avx2")]
unsafe fn load_u8(src: &Plane<u8>, bpc: u32, out: &mut [u16], stride: usize, w: usize, h: usize) -> Result<()> {
    scalar::to_10bit(src, bpc, out, stride, w, h)
}

#[target_feature(enable = "avx2")]
unsafe fn load_u16(src: &Plane<u16>, bpc: u32, out: &mut [u16], stride: usize, w: usize, h: usize) -> Result<()> {
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
            _mm256_storeu_si256(cur.as_mut_ptr().add(j) as *mut __m256i, _mm256_srli_epi16::<2>(s));
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

/// A run of consecutive columns whose samples of one histogram row enter
/// (or leave) the window together.
#[derive(Clone, Copy)]
struct Run {
    row: usize,
    first: usize,
    last: usize,
}

/// Adds (`SUB` false) or removes (`SUB` true) a run: column `x` of its
/// histogram row changes by the number of run columns within `pad` of `x`,
/// a trapezoid: `min(x - (first - pad) + 1, last + pad + 1 - x, run length,
/// window)`, at least 0, and 0 past the plane.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn apply_run<const SUB: bool>(hist: &mut [u16], w: usize, hs: usize, pad: usize, r: Run) {
    let start = r.first.saturating_sub(pad);
    let reach = r.last + pad + 1;
    let end = reach.min(w);
    // Blocks of 16 counts on a fixed grid from the row start: runs that
    // overlap then read and write exactly the same (aligned) vectors, which
    // the CPU forwards from store to load instead of stalling. The last
    // block ends inside the row's stride or the slack.
    let mut x0 = start & !15;
    debug_assert!(r.row * hs + ((end + 15) & !15) <= hist.len());
    let ptr = hist.as_mut_ptr().add(r.row * hs);
    let mut x = _mm256_add_epi16(
        _mm256_set1_epi16(x0 as i16),
        _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    );
    let rise = _mm256_set1_epi16((pad + 1) as i16 - r.first as i16);
    let fall = _mm256_set1_epi16(reach as i16);
    let top = _mm256_set1_epi16((r.last - r.first + 1).min(2 * pad + 1) as i16);
    let width = _mm256_set1_epi16(w as i16);
    let sixteen = _mm256_set1_epi16(16);
    let zero = _mm256_setzero_si256();
    let clip = reach > w;
    while x0 < end {
        let n = _mm256_min_epi16(_mm256_add_epi16(x, rise), _mm256_sub_epi16(fall, x));
        let mut n = _mm256_max_epi16(_mm256_min_epi16(n, top), zero);
        if clip {
            n = _mm256_and_si256(n, _mm256_cmpgt_epi16(width, x));
        }
        let p = ptr.add(x0) as *mut __m256i;
        let cur = _mm256_load_si256(p);
        _mm256_store_si256(p, if SUB { _mm256_sub_epi16(cur, n) } else { _mm256_add_epi16(cur, n) });
        x = _mm256_add_epi16(x, sixteen);
        x0 += 16;
    }
}

/// One bit per i16 lane that is all ones.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn lane_bits(x: __m256i) -> u32 {
    let packed = _mm_packs_epi16(_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x));
    _mm_movemask_epi8(packed) as u32 & 0xFFFF
}

/// Bits of the 16 columns from `j` (codes `v`) equal to the column before
/// them; column 0 of the row has none before it.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn same_as_previous(codes: &[u16], j: usize, v: __m256i) -> u32 {
    if j == 0 {
        return (1..16).filter(|&c| codes[c] == codes[c - 1]).fold(0, |b, c| b | 1 << c);
    }
    let prev = _mm256_loadu_si256(codes.as_ptr().add(j - 1) as *const __m256i);
    lane_bits(_mm256_cmpeq_epi16(v, prev))
}

/// The events of one side (entering or leaving samples) in the 16 columns
/// from `j`, one bit per column in `ev` (codes `v`): extends or applies the
/// `open` run and applies or opens the runs that start here. `prev` holds
/// whether the column before the block had an event.
#[inline]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn side_block<const SUB: bool>(
    hist: &mut [u16],
    w: usize,
    hs: usize,
    pad: usize,
    codes: &[u16],
    open: &mut Option<Run>,
    prev: &mut u32,
    j: usize,
    ev: u32,
    v: __m256i,
) {
    let before = std::mem::replace(prev, ev >> 15);
    if ev == 0 && open.is_none() {
        return;
    }
    // Columns continuing the run of the column before them.
    let cont = ev & ((ev << 1) | before) & same_as_previous(codes, j, v);
    if let Some(mut r) = open.take() {
        let t = cont.trailing_ones() as usize;
        if t == 16 {
            r.last = j + 15;
            *open = Some(r);
            return;
        }
        if t > 0 {
            r.last = j + t - 1;
        }
        apply_run::<SUB>(hist, w, hs, pad, r);
    }
    let mut starts = ev & !cont;
    while starts != 0 {
        let s = starts.trailing_zeros() as usize;
        starts &= starts - 1;
        let last = s + (cont >> (s + 1)).trailing_ones() as usize;
        let r = Run { row: codes[j + s] as usize, first: j + s, last: j + last };
        if last == 15 {
            // Reaches the end of the block: may go on in the next one.
            *open = Some(r);
        } else {
            apply_run::<SUB>(hist, w, hs, pad, r);
        }
    }
}

/// One event at column `j` of histogram row `row`, for the columns after
/// the last full block.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn side_event<const SUB: bool>(
    hist: &mut [u16],
    w: usize,
    hs: usize,
    pad: usize,
    open: &mut Option<Run>,
    j: usize,
    row: usize,
) {
    match open {
        Some(r) if r.row == row && r.last + 1 == j => r.last = j,
        _ => {
            if let Some(r) = open.take() {
                apply_run::<SUB>(hist, w, hs, pad, r);
            }
            *open = Some(Run { row, first: j, last: j });
        }
    }
}

/// The histogram slide from the codes of the rows (`Planes::codes`): a
/// column has an event on a side when that side's sample is counted and
/// differs from the other side's. A missing side reads as not counted.
#[target_feature(enable = "avx2")]
unsafe fn slide(hist: &mut [u16], p: &Planes<'_>, pad: usize, sub: Option<usize>, add: Option<usize>) {
    let w = p.w;
    let hs = scalar::hist_stride(w);
    let all_off = vec_none();
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
    let (mut s_open, mut a_open) = (None, None);
    let (mut s_prev, mut a_prev) = (0u32, 0u32);
    let mut j = 0;
    while j + 16 <= w {
        let sv = load(sub, j);
        let av = load(add, j);
        let differ = _mm256_xor_si256(_mm256_cmpeq_epi16(sv, av), all_off);
        if _mm256_testz_si256(differ, differ) != 0 && s_open.is_none() && a_open.is_none() {
            // Nothing enters or leaves here (the usual case).
            s_prev = 0;
            a_prev = 0;
            j += 16;
            continue;
        }
        if let Some(codes) = sub {
            let ev = lane_bits(_mm256_andnot_si256(_mm256_cmpeq_epi16(sv, all_off), differ));
            side_block::<true>(hist, w, hs, pad, codes, &mut s_open, &mut s_prev, j, ev, sv);
        }
        if let Some(codes) = add {
            let ev = lane_bits(_mm256_andnot_si256(_mm256_cmpeq_epi16(av, all_off), differ));
            side_block::<false>(hist, w, hs, pad, codes, &mut a_open, &mut a_prev, j, ev, av);
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
            side_event::<true>(hist, w, hs, pad, &mut s_open, c, sv as usize);
        }
        if av != NOT_COUNTED {
            side_event::<false>(hist, w, hs, pad, &mut a_open, c, av as usize);
        }
    }
    if let Some(r) = s_open {
        apply_run::<true>(hist, w, hs, pad, r);
    }
    if let Some(r) = a_open {
        apply_run::<false>(hist, w, hs, pad, r);
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
    _mm256_and_si256(_mm256_i32gather_epi32::<2>(hist, idx), _mm256_set1_epi32(0xFFFF))
}

/// `weight[d] · p0 · pm · recip[p0 + pm]` in 8 lanes (`fp0` is `p0` as
/// f32). `p0·pm` is below 2^24, exact in f32, so the product with the
/// weight is rounded once, as the conversion of the exact integer product
/// is in the scalar code. The counts are real window counts, so their sum
/// indexes the reciprocal table.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn contrast8(k: &Contrast, d: usize, p0: __m256i, fp0: __m256, pm: __m256i) -> __m256 {
    let num = _mm256_mul_ps(_mm256_mul_ps(fp0, _mm256_cvtepi32_ps(pm)), _mm256_set1_ps(k.weights[d] as f32));
    let rcp = _mm256_i32gather_ps::<4>(k.recip.as_ptr(), _mm256_add_epi32(p0, pm));
    _mm256_mul_ps(num, rcp)
}

#[target_feature(enable = "avx2")]
unsafe fn c_row(hist: &[u16], p: &Planes<'_>, i: usize, k: &Contrast, out: &mut [f32], pool: &mut Pool) {
    let w = p.w;
    let mut acc = RowSum::new();
    let codes = &p.codes[i * p.stride..i * p.stride + w];
    let out = &mut out[..w];
    let nd = k.num_diffs;
    // Every gather index below is a count of the histogram rows (clamped
    // into 0..hist_rows) or a window area (at most 4225), so stays inside
    // `hist` plus slack and the reciprocal table.
    let hs = scalar::hist_stride(w);
    debug_assert!(k.hist_rows() * hs + 1 < hist.len() && k.recip.len() > 4225);
    let hp = hist.as_ptr() as *const i32;
    let zero = _mm256_setzero_si256();
    let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let wv = _mm256_set1_epi32(hs as i32);
    let maxrow = _mm256_set1_epi32(k.band_size as i32 - 1);
    // The sample value plus `num_diffs`, from the code.
    let offset = _mm256_set1_epi32(k.band_base as i32 + nd as i32);
    let vltv = _mm256_set1_epi32(k.vlt as i32);
    let minus1 = _mm256_set1_epi32(-1);
    let none = _mm_set1_epi16(NOT_COUNTED as i16);
    let mut j = 0;
    while j + 8 <= w {
        let c16 = _mm_loadu_si128(codes.as_ptr().add(j) as *const __m128i);
        let off16 = _mm_cmpeq_epi16(c16, none);
        if _mm_movemask_epi8(off16) == 0xFFFF {
            _mm256_storeu_ps(out.as_mut_ptr().add(j), _mm256_setzero_ps());
            j += 8;
            continue;
        }
        let active = _mm256_xor_si256(_mm256_cvtepi16_epi32(off16), minus1);
        let code = _mm256_cvtepu16_epi32(c16);
        let first = (_mm256_movemask_ps(_mm256_castsi256_ps(active)) as u32).trailing_zeros() as usize;
        let r0 = codes[j + first] as usize;
        let same = _mm256_cmpeq_epi32(code, _mm256_set1_epi32(r0 as i32));
        let mut c = _mm256_setzero_ps();
        if _mm256_testc_si256(same, active) != 0 {
            // Every counted sample has one code: its histogram rows are
            // read as plain vectors and the steps that count are known
            // (other lanes read real counts too, masked off at the end).
            // Counts of histogram row `r` at the 8 columns.
            let load = |r: usize| counts_at(hist, r * hs + j);
            let p0 = load(r0);
            let fp0 = _mm256_cvtepi32_ps(p0);
            let mut steps = k.steps[r0];
            while steps != 0 {
                let d = steps.trailing_zeros() as usize;
                steps &= steps - 1;
                let p1 = load(r0 + d + 1);
                let pm = if r0 > d { _mm256_max_epi32(p1, load(r0 - d - 1)) } else { p1 };
                if _mm256_testz_si256(pm, active) != 0 {
                    continue; // no neighbour counts: every value is 0
                }
                c = _mm256_max_ps(c, contrast8(k, d, p0, fp0, pm));
            }
            c = _mm256_and_ps(c, _mm256_castsi256_ps(active));
        } else {
            let value = _mm256_add_epi32(code, offset);
            let row = _mm256_min_epi32(code, maxrow);
            let cols = _mm256_add_epi32(_mm256_set1_epi32(j as i32), iota);
            // Counts of histogram row `r` (per lane) at these columns.
            let counts = |r: __m256i| gather_counts(hp, _mm256_add_epi32(_mm256_mullo_epi32(r, wv), cols));
            let p0 = counts(row);
            let fp0 = _mm256_cvtepi32_ps(p0);
            for d in 0..nd {
                let step = d as i32 + 1;
                let visible = _mm256_cmpgt_epi32(_mm256_set1_epi32(k.tvi[d] as i32 + 1), value);
                let bright = _mm256_cmpgt_epi32(_mm256_add_epi32(value, _mm256_set1_epi32(step)), vltv);
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
        }
        _mm256_storeu_ps(out.as_mut_ptr().add(j), c);
        acc.add(pool, c);
        j += 8;
    }
    let img = &p.img[i * p.stride..i * p.stride + w];
    let mask = &p.mask[i * p.stride..i * p.stride + w];
    for c in j..w {
        out[c] = if mask[c] != 0 { k.pixel(hist, hs, c, img[c]) } else { 0.0 };
        acc.push(pool, out[c]);
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
        RowSum { table: pack_table(), n: 0, ints: _mm256_setzero_pd(), fracs: _mm256_setzero_pd(), tail: 0 }
    }

    /// Takes 8 values.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn add(&mut self, pool: &mut Pool, v: __m256) {
        let bits = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(v, _mm256_setzero_ps())) as usize;
        if bits == 0 {
            return;
        }
        let (vals, _) = pool.spare();
        // Room for a whole vector: the pool keeps 16 spare slots past the
        // largest map.
        assert!(self.n + 8 <= vals.len());
        let perm = _mm256_loadu_si256(self.table[bits].as_ptr() as *const __m256i);
        _mm256_storeu_ps(vals.as_mut_ptr().add(self.n), _mm256_permutevar8x32_ps(v, perm));
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

    fn first_difference<T: PartialEq + Copy + std::fmt::Debug>(a: &[T], b: &[T]) -> Option<(usize, T, T)> {
        a.iter().zip(b).position(|(x, y)| x != y).map(|i| (i, a[i], b[i]))
    }

    /// Slides the histograms down a plane with both kernel sets, checking
    /// the histograms after every move and the contrast rows (and what they
    /// pool) after every row.
    fn check_map(simd: &Avx2, what: &str, p: &Planes<'_>, pad: usize, k: &Contrast) {
        let (w, h) = (p.w, p.h);
        let mut codes = vec![0u16; p.stride * h];
        simd.prepare(p, k, &mut codes);
        let p = Planes { codes: &codes, ..*p };
        let len = scalar::hist_len(k, w);
        let mut bufs = [scalar::MapBuffers::new(k, w, p.stride, h), scalar::MapBuffers::new(k, w, p.stride, h)];
        let [a, b] = &mut bufs;
        let (a, b) = (&mut a.hist_mut()[..len], &mut b.hist_mut()[..len]);
        let mut pools = [Pool::new(w * h), Pool::new(w * h)];
        let (mut ra, mut rb) = (vec![0f32; w], vec![0f32; w]);
        let hs = scalar::hist_stride(w);
        let check_hist = |a: &[u16], b: &[u16], when: &str| {
            if let Some((i, x, y)) = first_difference(a, b) {
                panic!("{what} {when}: count ({}, {}) is {x} (scalar) vs {y}", i / hs, i % hs);
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
            Scalar.c_row(a, &p, i, k, &mut ra, pa);
            simd.c_row(b, &p, i, k, &mut rb, pb);
            let bits = |r: &[f32]| r.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            if let Some((j, x, y)) = first_difference(&bits(&ra), &bits(&rb)) {
                panic!("{what} row {i} col {j}: {} (scalar) vs {}", f32::from_bits(x), f32::from_bits(y));
            }
        }
        let [pa, pb] = &pools;
        let ((va, sa), (vb, sb)) = (pa.contents(), pb.contents());
        assert_eq!(va.len(), vb.len(), "{what}: pooled value counts");
        assert!(va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()), "{what}: pooled values");
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
            let k = if case % 3 == 0 { default_contrast() } else { contrast(&mut rng) };
            let fill = FILLS[case % FILLS.len()];
            let (img, mask, stride) = planes_with(&mut rng, w, h, &k, fill);
            let p = Planes { img: &img, mask: &mask, stride, w, h, codes: &[] };
            check_map(&simd, &format!("case {case} ({fill:?} {w}x{h} pad {pad})"), &p, pad, &k);
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
            let p = Planes { img: &img, mask: &mask, stride, w, h, codes: &[] };
            for pad in [0, 7, 16, 32] {
                check_map(&simd, &format!("wide case {case} ({fill:?} {w}x{h} pad {pad})"), &p, pad, &k);
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
            assert_eq!(first_difference(&ma, &mb), None, "spatial mask {what} threshold {threshold}");

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
            let (mut a, mut b) = (vec![0u16; stride * oh.max(h)], vec![0u16; stride * oh.max(h)]);
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
