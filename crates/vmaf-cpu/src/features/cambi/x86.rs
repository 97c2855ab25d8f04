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

/// Adds (`sign` = 1) or removes (`sign` = -1) a run: column `x` of its
/// histogram row changes by the number of run columns within `pad` of `x`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn apply_run(hist: &mut [u16], w: usize, pad: usize, r: Run, sign: i16) {
    let start = r.first.saturating_sub(pad);
    let end = (r.last + pad + 1).min(w);
    let base = r.row * scalar::hist_stride(w);
    // Blocks of 16 counts on a fixed grid from the row start: runs that
    // overlap then read and write exactly the same vectors, which the CPU
    // forwards from store to load instead of stalling. The last block ends
    // inside the row's stride or the slack.
    let x_first = start & !15;
    debug_assert!(base + ((end + 15) & !15) <= hist.len());
    let ptr = hist.as_mut_ptr().add(base);
    let iota = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let first = _mm256_set1_epi16(r.first as i16);
    let last = _mm256_set1_epi16(r.last as i16);
    let padv = _mm256_set1_epi16(pad as i16);
    let startv = _mm256_set1_epi16(start as i16 - 1);
    let endv = _mm256_set1_epi16(end as i16);
    let one = _mm256_set1_epi16(1);
    let mut x0 = x_first;
    while x0 < end {
        let x = _mm256_add_epi16(_mm256_set1_epi16(x0 as i16), iota);
        let hi = _mm256_min_epi16(last, _mm256_add_epi16(x, padv));
        let lo = _mm256_max_epi16(first, _mm256_sub_epi16(x, padv));
        let n = _mm256_add_epi16(_mm256_sub_epi16(hi, lo), one);
        // Columns out of the run's reach get 0.
        let inside = _mm256_and_si256(_mm256_cmpgt_epi16(x, startv), _mm256_cmpgt_epi16(endv, x));
        let n = _mm256_and_si256(n, inside);
        let p = ptr.add(x0) as *mut __m256i;
        let cur = _mm256_load_si256(p);
        let new = if sign > 0 { _mm256_add_epi16(cur, n) } else { _mm256_sub_epi16(cur, n) };
        _mm256_store_si256(p, new);
        x0 += 16;
    }
}

/// One direction of a row move (the samples entering, or those leaving):
/// the codes of its row and the run not yet applied, which may continue in
/// the next block of columns.
struct Side<'a> {
    codes: &'a [u16],
    open: Option<Run>,
    sign: i16,
    /// Whether the last column of the previous block had an event.
    prev: u32,
}

impl Side<'_> {
    /// Applies the open run, if any.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn close(&mut self, hist: &mut [u16], w: usize, pad: usize) {
        if let Some(r) = self.open.take() {
            apply_run(hist, w, pad, r, self.sign);
        }
    }

    /// Takes the events of the 16 columns from `j`, one bit per column in
    /// `ev`; `codes` are their codes.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn block(&mut self, hist: &mut [u16], w: usize, pad: usize, j: usize, ev: u32, codes: __m256i) {
        let prev = std::mem::replace(&mut self.prev, ev >> 15);
        if ev == 0 && self.open.is_none() {
            return;
        }
        // Columns continuing the run of the column before them.
        let cont = ev & ((ev << 1) | prev) & same_as_previous(self.codes, j, codes);
        if let Some(mut r) = self.open.take() {
            let t = cont.trailing_ones() as usize;
            if t == 16 {
                r.last = j + 15;
                self.open = Some(r);
                return;
            }
            if t > 0 {
                r.last = j + t - 1;
            }
            apply_run(hist, w, pad, r, self.sign);
        }
        let mut starts = ev & !cont;
        while starts != 0 {
            let s = starts.trailing_zeros() as usize;
            starts &= starts - 1;
            let last = s + (cont >> (s + 1)).trailing_ones() as usize;
            let r = Run { row: self.codes[j + s] as usize, first: j + s, last: j + last };
            if last == 15 {
                // Reaches the end of the block: may go on in the next one.
                self.open = Some(r);
            } else {
                apply_run(hist, w, pad, r, self.sign);
            }
        }
    }

    /// Takes an event at column `j` of histogram row `row`, one column at
    /// a time (the columns after the last full block).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn event(&mut self, hist: &mut [u16], w: usize, pad: usize, j: usize, row: usize) {
        match &mut self.open {
            Some(r) if r.row == row && r.last + 1 == j => r.last = j,
            open => {
                if let Some(r) = open.take() {
                    apply_run(hist, w, pad, r, self.sign);
                }
                *open = Some(Run { row, first: j, last: j });
            }
        }
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

/// The histogram slide from the codes of the rows (`Planes::codes`): a
/// column has an event on a side when that side's sample is counted and
/// differs from the other side's.
#[target_feature(enable = "avx2")]
unsafe fn slide(hist: &mut [u16], p: &Planes<'_>, pad: usize, sub: Option<usize>, add: Option<usize>) {
    let w = p.w;
    let side = |r: usize, sign| Side { codes: &p.codes[r * p.stride..r * p.stride + w], open: None, sign, prev: 0 };
    let mut sub = sub.map(|r| side(r, -1));
    let mut add = add.map(|r| side(r, 1));
    let none = _mm256_set1_epi16(NOT_COUNTED as i16);
    let load = |s: &Option<Side<'_>>, j: usize| {
        s.as_ref().map_or(none, |s| _mm256_loadu_si256(s.codes.as_ptr().add(j) as *const __m256i))
    };
    let mut j = 0;
    while j + 16 <= w {
        let sv = load(&sub, j);
        let av = load(&add, j);
        let differ = _mm256_xor_si256(_mm256_cmpeq_epi16(sv, av), none);
        let s_ev = _mm256_andnot_si256(_mm256_cmpeq_epi16(sv, none), differ);
        let a_ev = _mm256_andnot_si256(_mm256_cmpeq_epi16(av, none), differ);
        let quiet = |s: &Option<Side<'_>>| s.as_ref().map_or(true, |s| s.open.is_none());
        if _mm256_testz_si256(differ, differ) != 0 && quiet(&sub) && quiet(&add) {
            // Nothing enters or leaves here (the usual case).
            for s in [&mut sub, &mut add].into_iter().flatten() {
                s.prev = 0;
            }
            j += 16;
            continue;
        }
        if let Some(s) = sub.as_mut() {
            s.block(hist, w, pad, j, lane_bits(s_ev), sv);
        }
        if let Some(a) = add.as_mut() {
            a.block(hist, w, pad, j, lane_bits(a_ev), av);
        }
        j += 16;
    }
    for c in j..w {
        let code = |s: &Option<Side<'_>>| s.as_ref().map_or(NOT_COUNTED, |s| s.codes[c]);
        let (sv, av) = (code(&sub), code(&add));
        if sv == av {
            continue;
        }
        if let (true, Some(s)) = (sv != NOT_COUNTED, sub.as_mut()) {
            s.event(hist, w, pad, c, sv as usize);
        }
        if let (true, Some(a)) = (av != NOT_COUNTED, add.as_mut()) {
            a.event(hist, w, pad, c, av as usize);
        }
    }
    if let Some(s) = sub.as_mut() {
        s.close(hist, w, pad);
    }
    if let Some(a) = add.as_mut() {
        a.close(hist, w, pad);
    }
}

// ---------------------------------------------------------------------------
// Contrast rows

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
    let lo16 = _mm256_set1_epi32(0xFFFF);
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
            let load = |r: usize| -> __m256i {
                _mm256_cvtepu16_epi32(_mm_load_si128(hist.as_ptr().add(r * hs + j) as *const __m128i))
            };
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
            let counts = |r: __m256i| -> __m256i {
                let idx = _mm256_add_epi32(_mm256_mullo_epi32(r, wv), cols);
                _mm256_and_si256(_mm256_i32gather_epi32::<2>(hp, idx), lo16)
            };
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

    #[test]
    fn slide_matches_scalar() {
        let Some(simd) = Avx2::new() else { return };
        let mut rng = Rng(7);
        for case in 0..400 {
            let w = 1 + rng.below(80);
            let h = 1 + rng.below(12);
            let pad = rng.below(w.min(33) + 1);
            let k = contrast(&mut rng);
            let (img, mask, stride) = planes(&mut rng, w, h, &k);
            let mut codes = vec![0u16; stride * h];
            let p = Planes { img: &img, mask: &mask, stride, w, h, codes: &[] };
            simd.prepare(&p, &k, &mut codes);
            let p = Planes { codes: &codes, ..p };
            let len = scalar::hist_len(&k, w);
            let mut bufs = [scalar::MapBuffers::new(&k, w, stride, h), scalar::MapBuffers::new(&k, w, stride, h)];
            let [a, b] = &mut bufs;
            let (a, b) = (&mut a.hist_mut()[..len], &mut b.hist_mut()[..len]);
            for r in 0..h {
                let sub = (r >= 2).then(|| r - 2);
                scalar::Scalar.slide(a, &p, pad, sub, Some(r), &k);
                simd.slide(b, &p, pad, sub, Some(r), &k);
                if let Some(i) = (0..len).find(|&i| a[i] != b[i]) {
                    panic!(
                        "case {case}: w {w} h {h} pad {pad} after row {r}: count ({}, {}) is {} (scalar) vs {}",
                        i / w,
                        i % w,
                        a[i],
                        b[i]
                    );
                }
            }
        }
    }
}
