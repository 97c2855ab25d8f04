//! Reference kernels of CAMBI, written for clarity; the SIMD kernels in
//! `x86.rs` must give bit-identical planes, masks and contrast maps.
//!
//! Working planes are 10-bit `u16` (and `u8` masks) laid out like libvmaf's:
//! rows `stride` samples apart, `stride` being the allocated width rounded
//! up to 32, and every scale worked on in place in the same buffer. The
//! layout matters only in corner cases where libvmaf reads past the edge of
//! the current scale (a window wider than a very narrow or short plane):
//! there it sees whatever an earlier scale left behind, and so do we.

use vmaf_core::{Error, Pixel, Plane, Result};

/// Side of the square window of the spatial mask.
pub const MASK_WINDOW: usize = 7;
const MASK_PAD: usize = MASK_WINDOW / 2;

/// libvmaf's row alignment of its pictures, in samples.
pub fn aligned_stride(width: usize) -> usize {
    (width + 31) & !31
}

// ---------------------------------------------------------------------------
// Preprocessing

/// Converts luma to 10 bits at `out_w`x`out_h` (nearest-neighbour resampling
/// when the size changes), into `out` with row stride `out_stride`.
///
/// Fails when a sample exceeds the bit depth, as libvmaf does (8-bit input
/// cannot). Rounding to 10 bits can give 1024 from 12- and 16-bit input.
pub fn to_10bit<T: Pixel>(
    src: &Plane<T>,
    bpc: u32,
    out: &mut [u16],
    out_stride: usize,
    out_w: usize,
    out_h: usize,
) -> Result<()> {
    let (in_w, in_h) = (src.width(), src.height());
    if bpc > 8 && bpc < 16 {
        let max = (1u32 << bpc) - 1;
        let top = src.rows().map(|r| r.iter().map(|&v| v.into()).max().unwrap_or(0)).max().unwrap_or(0);
        if top > max {
            return Err(Error::Extractor {
                feature: "cambi".into(),
                msg: format!(
                    "input contains values greater than {max}, the maximum of {bpc}-bit samples"
                ),
            });
        }
    }
    let convert = |v: u32| -> u16 {
        if bpc <= 10 {
            (v << (10 - bpc)) as u16
        } else {
            let s = bpc - 10;
            ((v + (1 << (s - 1))) >> s) as u16
        }
    };
    if in_w == out_w && in_h == out_h {
        let lib_stride = aligned_stride(in_w);
        if bpc == 10 && lib_stride != out_stride {
            // libvmaf copies 10-bit input as one block of its own rows; a
            // working plane with a different stride (full-reference mode
            // with a larger source size) then receives the rows skewed.
            // Its row padding is unset memory there; ours reads as 0.
            for k in 0..lib_stride * in_h {
                let (r, c) = (k / lib_stride, k % lib_stride);
                out[k] = if c < in_w { src.row(r)[c].into() as u16 } else { 0 };
            }
            return Ok(());
        }
        for r in 0..out_h {
            let o = &mut out[r * out_stride..r * out_stride + out_w];
            for (d, &s) in o.iter_mut().zip(src.row(r)) {
                *d = convert(s.into());
            }
        }
        return Ok(());
    }
    // Nearest neighbour at the centres of the output samples, stepped in
    // f32 exactly as libvmaf steps them.
    let rx = in_w as f32 / out_w as f32;
    let ry = in_h as f32 / out_h as f32;
    let x0 = (rx as f64 / 2.0 - 0.5) as f32;
    let mut y = (ry as f64 / 2.0 - 0.5) as f32;
    for r in 0..out_h {
        let sy = (y as f64 + 0.5) as i32 as usize;
        let row = src.row(sy.min(in_h - 1));
        let o = &mut out[r * out_stride..r * out_stride + out_w];
        let mut x = x0;
        for d in o.iter_mut() {
            let sx = (x as f64 + 0.5) as i32 as usize;
            *d = convert(row[sx.min(in_w - 1)].into());
            x += rx;
        }
        y += ry;
    }
    Ok(())
}

/// Averages each sample with its right, lower and lower-right neighbours
/// (those that exist), undoing the dither of content encoded below 10 bits.
/// Every output reads only samples not yet overwritten.
pub fn anti_dither(buf: &mut [u16], stride: usize, w: usize, h: usize) {
    for i in 0..h - 1 {
        let (cur, next) = buf[i * stride..].split_at_mut(stride);
        for j in 0..w - 1 {
            cur[j] = ((cur[j] as u32 + cur[j + 1] as u32 + next[j] as u32 + next[j + 1] as u32) >> 2) as u16;
        }
        cur[w - 1] = ((cur[w - 1] as u32 + next[w - 1] as u32) >> 1) as u16;
    }
    let last = &mut buf[(h - 1) * stride..];
    for j in 0..w - 1 {
        last[j] = ((last[j] as u32 + last[j + 1] as u32) >> 1) as u16;
    }
}

// ---------------------------------------------------------------------------
// Spatial mask

/// The count of flat pixels in the 7x7 window above which a pixel is in a
/// flat region: about half the window, a little less for small pictures.
pub fn mask_threshold(width: usize, height: usize) -> u32 {
    let blocks = ((width >> 6) * (height >> 6)) as u32;
    let ceil_log2 = if blocks == 0 { 0 } else { 32 - (blocks - 1).leading_zeros() } as i32;
    let n = (MASK_WINDOW * MASK_WINDOW) as i32;
    ((n + 3 * (ceil_log2 - 11) - 1) >> 1) as u16 as u32
}

/// Whether the pixel at (`r`, `c`) equals its right and lower neighbours
/// (a missing neighbour counts as equal).
#[inline]
fn flat(img: &[u16], stride: usize, w: usize, h: usize, r: usize, c: usize) -> bool {
    let v = img[r * stride + c];
    (c + 1 == w || v == img[r * stride + c + 1]) && (r + 1 == h || v == img[(r + 1) * stride + c])
}

/// Marks pixels whose 7x7 window (zero outside the picture) holds more than
/// `threshold` flat pixels. `cols` is scratch of at least `w` entries.
pub fn spatial_mask(
    img: &[u16],
    mask: &mut [u8],
    stride: usize,
    w: usize,
    h: usize,
    threshold: u32,
    cols: &mut [u8],
) {
    // Column counts of flat pixels over rows r-3..=r+3, slid down the picture.
    let cols = &mut cols[..w];
    cols.fill(0);
    for r in 0..MASK_PAD.min(h) {
        for (c, n) in cols.iter_mut().enumerate() {
            *n += flat(img, stride, w, h, r, c) as u8;
        }
    }
    for r in 0..h {
        if r + MASK_PAD < h {
            for (c, n) in cols.iter_mut().enumerate() {
                *n += flat(img, stride, w, h, r + MASK_PAD, c) as u8;
            }
        }
        if r > MASK_PAD {
            for (c, n) in cols.iter_mut().enumerate() {
                *n -= flat(img, stride, w, h, r - MASK_PAD - 1, c) as u8;
            }
        }
        let out = &mut mask[r * stride..r * stride + w];
        let mut sum: u32 = cols[..MASK_PAD.min(w)].iter().map(|&n| n as u32).sum();
        for c in 0..w {
            if c + MASK_PAD < w {
                sum += cols[c + MASK_PAD] as u32;
            }
            if c > MASK_PAD {
                sum -= cols[c - MASK_PAD - 1] as u32;
            }
            out[c] = (sum > threshold) as u8;
        }
    }
}

// ---------------------------------------------------------------------------
// Per-scale filters

/// Keeps every other sample of every other row, in place: sample (i, j)
/// becomes sample (2i, 2j), for the `w`x`h` output.
pub fn decimate<T: Copy>(buf: &mut [T], stride: usize, w: usize, h: usize) {
    for i in 0..h {
        for j in 0..w {
            buf[i * stride + j] = buf[2 * i * stride + 2 * j];
        }
    }
}

/// The value that occurs at least twice among three, else the smallest.
/// It does not depend on the order of its arguments.
#[inline]
pub fn mode3(a: u16, b: u16, c: u16) -> u16 {
    if a == b || a == c {
        a
    } else if b == c {
        b
    } else {
        a.min(b).min(c)
    }
}

/// 3x3 mode filter, separable: the vertical mode of three horizontal modes.
/// The first and last column of each horizontal pass, and the first and last
/// rows of the output, keep their input values. `rows` is scratch of at
/// least `3 * w` entries holding the horizontal modes of the last three rows.
pub fn filter_mode(buf: &mut [u16], stride: usize, w: usize, h: usize, rows: &mut [u16]) {
    for i in 0..h {
        let line = &mut rows[(i % 3) * w..(i % 3 + 1) * w];
        let src = &buf[i * stride..i * stride + w];
        line[0] = src[0];
        for j in 1..w.saturating_sub(1) {
            line[j] = mode3(src[j - 1], src[j], src[j + 1]);
        }
        line[w - 1] = src[w - 1];
        // Row i-1 is written only after row i has been read.
        if i > 1 {
            let (a, rest) = rows.split_at(w);
            let (b, c) = rest.split_at(w);
            let out = &mut buf[(i - 1) * stride..(i - 1) * stride + w];
            for j in 0..w {
                out[j] = mode3(a[j], b[j], c[j]);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Contrast maps

/// Everything the contrast measure needs besides the pictures.
pub struct Contrast {
    /// Number of contrast steps considered: 1, 2, 4, ... 32.
    pub num_diffs: usize,
    /// Per step `d` (a difference of `d + 1` codes): the largest sample
    /// value, offset by `num_diffs`, at which it is visible.
    pub tvi: [u16; 32],
    /// Per step: its weight (the suprathreshold contrast response).
    pub weights: [i32; 32],
    /// Samples whose value plus `num_diffs + d + 1` is at most this are
    /// too dark for step `d` to count.
    pub vlt: u16,
    /// Histograms count only samples in `band_base..band_base + band_size`:
    /// outside it no step can count, at a sample or its neighbours.
    pub band_base: u16,
    pub band_size: u16,
    /// `recip[n]` stands for `1 / n` (libvmaf's table, see `reciprocals`).
    pub recip: &'static [f32],
}

impl Contrast {
    /// Histogram rows to allocate per column: the band, plus the rows a
    /// step above the band's top could address, so that no lookup can fall
    /// outside the buffer (they read zero counts).
    pub fn hist_rows(&self) -> usize {
        self.band_size as usize + self.num_diffs + 1
    }

    /// The histogram row of a sample value, if it is counted.
    #[inline]
    pub fn band_row(&self, v: u16) -> Option<usize> {
        let r = v.wrapping_sub(self.band_base);
        (r < self.band_size).then_some(r as usize)
    }

    /// The contrast of one sample from the window counts of its value
    /// (`p0`) and of the values `d + 1` above and below it: the largest
    /// over steps of `weight · p0 · p / (p0 + p)`, `p` the larger of the
    /// two neighbour counts.
    #[inline]
    pub fn pixel(&self, hist: &[u16], w: usize, col: usize, v: u16) -> f32 {
        let Some(row) = self.band_row(v) else { return 0.0 };
        let value = v as i32 + self.num_diffs as i32;
        let p0 = hist[row * w + col] as i32;
        let mut c = 0.0f32;
        for d in 0..self.num_diffs {
            let step = d as i32 + 1;
            if value <= self.tvi[d] as i32 && value + step > self.vlt as i32 {
                let p1 = hist[(row + d + 1) * w + col] as i32;
                let p2 = if row > d { hist[(row - d - 1) * w + col] as i32 } else { 0 };
                let p = p1.max(p2);
                let val = (self.weights[d] * p0 * p) as f32 * self.recip[(p0 + p) as usize];
                if val > c {
                    c = val;
                }
            }
        }
        c
    }
}

/// Adds `delta` (+1 or -1, as a wrapping u16) to `row[lo..hi]`.
#[inline]
fn add_range(row: &mut [u16], delta: u16) {
    for x in row {
        *x = x.wrapping_add(delta);
    }
}

/// The histogram row of the sample at (`r`, `j`) of the working planes if
/// it is masked and in the band. Rows past the buffer count as unmasked.
#[inline]
pub fn counted(img: &[u16], mask: &[u8], stride: usize, r: usize, j: usize, k: &Contrast) -> Option<usize> {
    let i = r * stride + j;
    if i < mask.len() && mask[i] != 0 {
        k.band_row(img[i])
    } else {
        None
    }
}

/// Moves the window histograms down one row: removes the samples of row
/// `sub` and adds those of row `add`. Each sample counts for the `2·pad+1`
/// columns centred on it (clipped to the plane). Columns up to `pad` are
/// visited even if the plane is narrower, reading what the buffer holds
/// there, as libvmaf does.
pub fn slide_histograms(
    hist: &mut [u16],
    img: &[u16],
    mask: &[u8],
    stride: usize,
    w: usize,
    pad: usize,
    sub: Option<usize>,
    add: Option<usize>,
    k: &Contrast,
) {
    for j in 0..w.max(pad) {
        let s = sub.and_then(|r| counted(img, mask, stride, r, j, k));
        let a = add.and_then(|r| counted(img, mask, stride, r, j, k));
        if s.is_some() && s == a {
            continue;
        }
        let lo = j.saturating_sub(pad);
        let hi = (j + pad + 1).min(w);
        if let Some(v) = s {
            add_range(&mut hist[v * w + lo..v * w + hi], u16::MAX);
        }
        if let Some(v) = a {
            add_range(&mut hist[v * w + lo..v * w + hi], 1);
        }
    }
}

/// The order in which the window histograms move: before row `i` of the
/// contrast map, which rows leave and which enter. Rows `0..pad` enter
/// before row 0 (`initial_rows`), whatever the height, as in libvmaf.
#[inline]
pub fn row_moves(i: usize, h: usize, pad: usize) -> (Option<usize>, Option<usize>) {
    let add = (i + pad < h).then_some(i + pad);
    let sub = (i > pad).then(|| i - pad - 1);
    (sub, add)
}

/// Contrast map of the `w`x`h` plane: `out[i * w + j]` for masked samples,
/// 0 elsewhere. `hist` holds `k.hist_rows()` rows of `w` counts.
#[allow(clippy::too_many_arguments)]
pub fn c_values(
    img: &[u16],
    mask: &[u8],
    stride: usize,
    w: usize,
    h: usize,
    window: usize,
    k: &Contrast,
    hist: &mut [u16],
    out: &mut [f32],
) {
    let pad = window / 2;
    hist[..k.hist_rows() * w].fill(0);
    for r in 0..pad {
        slide_histograms(hist, img, mask, stride, w, pad, None, Some(r), k);
    }
    for i in 0..h {
        let (sub, add) = row_moves(i, h, pad);
        slide_histograms(hist, img, mask, stride, w, pad, sub, add, k);
        let row = &mut out[i * w..(i + 1) * w];
        for (j, c) in row.iter_mut().enumerate() {
            let idx = i * stride + j;
            *c = if mask[idx] != 0 { k.pixel(hist, w, j, img[idx]) } else { 0.0 };
        }
    }
}

// ---------------------------------------------------------------------------
// Pooling

/// Fixed-point scale at which every contrast value is an integer: values
/// are 0 or at least `1 / 4225` (2^-13), so their f32 ulp is at least 2^-36,
/// and they stay below 2^14.
const FIX: f64 = (1u64 << 36) as f64;

/// Exact sum of contrast values, order-independent.
#[derive(Default, Clone, Copy)]
pub struct ExactSum(u128);

impl ExactSum {
    #[inline]
    pub fn add(&mut self, v: f32) {
        self.0 += (v as f64 * FIX) as u64 as u128;
    }
    pub fn value(self) -> f64 {
        self.0 as f64 / FIX
    }
}

/// Mean of the `topk` fraction (at least one) of the largest values in
/// `c` (which is reordered).
///
/// libvmaf sums the selected values in the order its quickselect leaves
/// them in, in f64; the sum here is exact, then rounded once, so it can
/// differ from libvmaf's in the last bits of the f64 but not at the printed
/// precision.
pub fn top_k_mean(c: &mut [f32], topk: f64) -> f64 {
    let n = c.len();
    let k = ((topk * n as f64) as i32).clamp(1, n as i32) as usize;
    // Zeros (unmasked or flat-free samples) are most of a typical map; the
    // top k holds every non-zero value when there are no more than k.
    let mut nz = 0;
    for i in 0..n {
        if c[i] != 0.0 {
            c[nz] = c[i];
            nz += 1;
        }
    }
    let mut sum = ExactSum::default();
    let top = if nz > k {
        // Positive f32 order like their bit patterns.
        c[..nz].select_nth_unstable_by_key(k - 1, |v| std::cmp::Reverse(v.to_bits()));
        &c[..k]
    } else {
        &c[..nz]
    };
    for &v in top {
        sum.add(v);
    }
    sum.value() / k as f64
}

/// Mean of the top-k values of an already compacted list of the non-zero
/// values of a map of `n` samples.
pub fn top_k_mean_of_nonzero(nonzero: &mut [f32], n: usize, topk: f64, total: ExactSum) -> f64 {
    let k = ((topk * n as f64) as i32).clamp(1, n as i32) as usize;
    if nonzero.len() <= k {
        return total.value() / k as f64;
    }
    nonzero.select_nth_unstable_by_key(k - 1, |v| std::cmp::Reverse(v.to_bits()));
    let mut sum = ExactSum::default();
    for &v in &nonzero[..k] {
        sum.add(v);
    }
    sum.value() / k as f64
}
