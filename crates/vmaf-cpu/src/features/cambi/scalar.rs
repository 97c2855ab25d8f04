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
#[inline(always)]
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
        let top = src
            .rows()
            .map(|r| r.iter().map(|&v| v.into()).max().unwrap_or(0))
            .max()
            .unwrap_or(0);
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
            for (k, o) in out[..lib_stride * in_h].iter_mut().enumerate() {
                let (r, c) = (k / lib_stride, k % lib_stride);
                *o = if c < in_w {
                    src.row(r)[c].into() as u16
                } else {
                    0
                };
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
#[inline(always)]
pub fn anti_dither_impl(buf: &mut [u16], stride: usize, w: usize, h: usize) {
    // Sums of four 10-bit samples fit in u16. Columns go in blocks whose
    // inputs are read before the block is written, so that the loop
    // vectorises: every sample written is one no later sample reads.
    const B: usize = 16;
    for i in 0..h - 1 {
        let (cur, next) = buf[i * stride..].split_at_mut(stride);
        let mut j = 0;
        while j + B < w {
            let a: [u16; B] = std::array::from_fn(|t| cur[j + t]);
            let b: [u16; B] = std::array::from_fn(|t| cur[j + 1 + t]);
            let c: [u16; B] = std::array::from_fn(|t| next[j + t]);
            let d: [u16; B] = std::array::from_fn(|t| next[j + 1 + t]);
            for t in 0..B {
                cur[j + t] = (a[t] + b[t] + c[t] + d[t]) >> 2;
            }
            j += B;
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

// ---------------------------------------------------------------------------
// Spatial mask

/// The count of flat pixels in the 7x7 window above which a pixel is in a
/// flat region: about half the window, a little less for small pictures.
pub fn mask_threshold(width: usize, height: usize) -> u32 {
    let blocks = ((width >> 6) * (height >> 6)) as u32;
    let ceil_log2 = if blocks == 0 {
        0
    } else {
        32 - (blocks - 1).leading_zeros()
    } as i32;
    let n = (MASK_WINDOW * MASK_WINDOW) as i32;
    ((n + 3 * (ceil_log2 - 11) - 1) >> 1) as u16 as u32
}

/// Scratch rows of the spatial mask.
pub struct MaskScratch {
    /// Flat-pixel counts per column over the 7-row window, with 3 zero
    /// columns on each side.
    cols: Vec<u8>,
    /// Flat flags of one row.
    flat: Vec<u8>,
}

impl MaskScratch {
    pub fn new(width: usize) -> Self {
        MaskScratch {
            cols: vec![0; width + 2 * MASK_PAD],
            flat: vec![0; width],
        }
    }
}

/// Flags the pixels of row `r` equal to their right and lower neighbours
/// (a missing neighbour counts as equal).
#[inline(always)]
fn flat_row(img: &[u16], stride: usize, w: usize, h: usize, r: usize, out: &mut [u8]) {
    let row = &img[r * stride..r * stride + w];
    let out = &mut out[..w];
    if r + 1 < h {
        let next = &img[(r + 1) * stride..(r + 1) * stride + w];
        for ((o, (&a, &b)), &n) in out.iter_mut().zip(row.iter().zip(&row[1..])).zip(next) {
            *o = ((a == b) & (a == n)) as u8;
        }
        out[w - 1] = (row[w - 1] == next[w - 1]) as u8;
    } else {
        for (o, (&a, &b)) in out.iter_mut().zip(row.iter().zip(&row[1..])) {
            *o = (a == b) as u8;
        }
        out[w - 1] = 1;
    }
}

/// Marks pixels whose 7x7 window (zero outside the picture) holds more than
/// `threshold` flat pixels.
#[inline(always)]
pub fn spatial_mask_impl(
    img: &[u16],
    mask: &mut [u8],
    stride: usize,
    w: usize,
    h: usize,
    threshold: u32,
    s: &mut MaskScratch,
) {
    // Sums never exceed 49, so a threshold that does masks nothing.
    let threshold = threshold.min(255) as u8;
    let cols = &mut s.cols[..w + 2 * MASK_PAD];
    cols.fill(0);
    let flat = &mut s.flat[..w];
    for r in 0..MASK_PAD.min(h) {
        flat_row(img, stride, w, h, r, flat);
        for (c, &f) in cols[MASK_PAD..].iter_mut().zip(flat.iter()) {
            *c += f;
        }
    }
    for r in 0..h {
        // Column counts over rows r-3..=r+3.
        if r + MASK_PAD < h {
            flat_row(img, stride, w, h, r + MASK_PAD, flat);
            for (c, &f) in cols[MASK_PAD..].iter_mut().zip(flat.iter()) {
                *c += f;
            }
        }
        if r > MASK_PAD {
            flat_row(img, stride, w, h, r - MASK_PAD - 1, flat);
            for (c, &f) in cols[MASK_PAD..].iter_mut().zip(flat.iter()) {
                *c -= f;
            }
        }
        let out = &mut mask[r * stride..r * stride + w];
        for (c, o) in out.iter_mut().enumerate() {
            let win = &cols[c..c + MASK_WINDOW];
            let sum = win[0] + win[1] + win[2] + win[3] + win[4] + win[5] + win[6];
            *o = (sum > threshold) as u8;
        }
    }
}

// ---------------------------------------------------------------------------
// Per-scale filters

/// Keeps every other sample of every other row, in place: sample (i, j)
/// becomes sample (2i, 2j), for the `w`x`h` output.
#[inline(always)]
pub fn decimate_impl<T: Copy>(buf: &mut [T], stride: usize, w: usize, h: usize) {
    // Row 0 reads ahead of itself; later rows read rows below them.
    for j in 0..w {
        buf[j] = buf[2 * j];
    }
    for i in 1..h {
        let (dst, src) = buf.split_at_mut(2 * i * stride);
        let dst = &mut dst[i * stride..i * stride + w];
        for (d, s) in dst.iter_mut().zip(src.iter().step_by(2)) {
            *d = *s;
        }
    }
}

/// The value that occurs at least twice among three, else the smallest.
/// It does not depend on the order of its arguments.
#[inline(always)]
pub fn mode3(a: u16, b: u16, c: u16) -> u16 {
    // Branch-free, so that loops of it vectorise.
    let min = a.min(b).min(c);
    let r = if b == c { b } else { min };
    if (a == b) | (a == c) {
        a
    } else {
        r
    }
}

/// 3x3 mode filter, separable: the vertical mode of three horizontal modes.
/// The first and last column of each horizontal pass, and the first and last
/// rows of the output, keep their input values. `rows` is scratch of at
/// least `3 * w` entries holding the horizontal modes of the last three rows.
#[inline(always)]
pub fn filter_mode_impl(buf: &mut [u16], stride: usize, w: usize, h: usize, rows: &mut [u16]) {
    for i in 0..h {
        let line = &mut rows[(i % 3) * w..(i % 3 + 1) * w];
        let src = &buf[i * stride..i * stride + w];
        line[0] = src[0];
        if w > 2 {
            for (o, t) in line[1..w - 1].iter_mut().zip(src.windows(3)) {
                *o = mode3(t[0], t[1], t[2]);
            }
        }
        line[w - 1] = src[w - 1];
        // Row i-1 is written only after row i has been read.
        if i > 1 {
            let (a, rest) = rows.split_at(w);
            let (b, c) = rest.split_at(w);
            let out = &mut buf[(i - 1) * stride..(i - 1) * stride + w];
            for (((o, &x), &y), &z) in out.iter_mut().zip(a).zip(b).zip(&c[..w]) {
                *o = mode3(x, y, z);
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
    /// Per histogram row (sample value minus `band_base`): a bit per step
    /// `d` that counts at that value (see [`Contrast::pixel`]).
    pub steps: Vec<u32>,
}

impl Contrast {
    /// The settings, with the per-value step table derived from them.
    pub fn new(
        num_diffs: usize,
        tvi: [u16; 32],
        weights: [i32; 32],
        vlt: u16,
        band_base: u16,
        band_size: u16,
        recip: &'static [f32],
    ) -> Self {
        let steps = (0..band_size as i32)
            .map(|row| {
                let value = row + band_base as i32 + num_diffs as i32;
                (0..num_diffs)
                    .filter(|&d| value <= tvi[d] as i32 && value + d as i32 + 1 > vlt as i32)
                    .fold(0u32, |b, d| b | 1 << d)
            })
            .collect();
        Contrast {
            num_diffs,
            tvi,
            weights,
            vlt,
            band_base,
            band_size,
            recip,
            steps,
        }
    }

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
    /// two neighbour counts. `w` is the histogram row stride.
    #[inline]
    pub fn pixel(&self, hist: &[u16], w: usize, col: usize, v: u16) -> f32 {
        let Some(row) = self.band_row(v) else {
            return 0.0;
        };
        let value = v as i32 + self.num_diffs as i32;
        let p0 = hist[row * w + col] as i32;
        let mut c = 0.0f32;
        for d in 0..self.num_diffs {
            let step = d as i32 + 1;
            if value <= self.tvi[d] as i32 && value + step > self.vlt as i32 {
                let p1 = hist[(row + d + 1) * w + col] as i32;
                let p2 = if row > d {
                    hist[(row - d - 1) * w + col] as i32
                } else {
                    0
                };
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

/// Adds `delta` (+1 or -1, as a wrapping u16) to every count of `row`.
#[inline]
fn add_range(row: &mut [u16], delta: u16) {
    for x in row {
        *x = x.wrapping_add(delta);
    }
}

/// The histogram row of the sample at (`r`, `j`) of the working planes if
/// it is masked and in the band. Rows past the buffer count as unmasked.
#[inline]
pub fn counted(
    img: &[u16],
    mask: &[u8],
    stride: usize,
    r: usize,
    j: usize,
    k: &Contrast,
) -> Option<usize> {
    let i = r * stride + j;
    if i < mask.len() && mask[i] != 0 {
        k.band_row(img[i])
    } else {
        None
    }
}

/// The order in which the window histograms move: before row `i` of the
/// contrast map, which row leaves and which enters. Rows `0..pad` enter
/// before row 0, whatever the height, as in libvmaf.
#[inline]
pub fn row_moves(i: usize, h: usize, pad: usize) -> (Option<usize>, Option<usize>) {
    let add = (i + pad < h).then_some(i + pad);
    let sub = (i > pad).then(|| i - pad - 1);
    (sub, add)
}

/// The working planes of one scale, as the contrast kernels see them.
pub struct Planes<'a> {
    pub img: &'a [u16],
    pub mask: &'a [u8],
    pub stride: usize,
    pub w: usize,
    pub h: usize,
    /// Filled by [`Kernels::prepare`] for kernels that use it (rows
    /// `0..h`): the histogram row of each counted sample, `NOT_COUNTED`
    /// for the others.
    pub codes: &'a [u16],
}

/// The code of a sample the histograms do not count.
pub const NOT_COUNTED: u16 = u16::MAX;

/// Histogram rows of the samples of rows `0..h` (see [`Planes::codes`]).
#[inline(always)]
pub fn codes_impl(p: &Planes<'_>, k: &Contrast, codes: &mut [u16]) {
    for r in 0..p.h {
        let at = r * p.stride;
        let img = &p.img[at..at + p.w];
        let mask = &p.mask[at..at + p.w];
        for ((o, &v), &m) in codes[at..at + p.w].iter_mut().zip(img).zip(mask) {
            let d = v.wrapping_sub(k.band_base);
            *o = if (m != 0) & (d < k.band_size) {
                d
            } else {
                NOT_COUNTED
            };
        }
    }
}

/// Sum and list of the non-zero contrast values of one map, for pooling.
pub struct Pool {
    vals: Vec<f32>,
    len: usize,
    sum: ExactSum,
}

impl Pool {
    /// Room for `capacity` values (plus slack for vector stores).
    pub fn new(capacity: usize) -> Self {
        Pool {
            vals: vec![0.0; capacity + 16],
            len: 0,
            sum: ExactSum::default(),
        }
    }
    pub fn reset(&mut self) {
        self.len = 0;
        self.sum = ExactSum::default();
    }
    /// Adds a non-zero value.
    #[inline]
    pub fn push(&mut self, v: f32) {
        self.vals[self.len] = v;
        self.len += 1;
        self.sum.0 += fixed(v) as u128;
    }
    /// The free slots (at least 16 more than the map needs) and the count
    /// of values so far, for a kernel to write values into; then `commit`.
    #[inline]
    pub fn spare(&mut self) -> (&mut [f32], usize) {
        (&mut self.vals[self.len..], self.len)
    }
    /// Takes the `n` values written into `spare` (whose exact sum, in
    /// units of 2^-36, is `sum`); `len` is what `spare` returned.
    #[inline]
    pub fn commit(&mut self, len: usize, n: usize, sum: u128) {
        debug_assert_eq!(len, self.len);
        self.len += n;
        self.sum.0 += sum;
    }

    /// The values pushed so far and their exact sum.
    #[cfg(test)]
    pub fn contents(&self) -> (&[f32], u128) {
        (&self.vals[..self.len], self.sum.0)
    }

    /// Mean of the `topk` fraction (at least one) of the largest of the `n`
    /// values of the map, the values not pushed being zero.
    ///
    /// libvmaf sums the selected values in the order its quickselect leaves
    /// them in, in f64; the sum here is exact, then rounded once, so it can
    /// differ from libvmaf's in the last bits of the f64, not at the printed
    /// precision.
    pub fn top_k_mean(&mut self, n: usize, topk: f64) -> f64 {
        let k = ((topk * n as f64) as i32).clamp(1, n as i32) as usize;
        if self.len <= k {
            // The top k are every non-zero value and zeros.
            return self.sum.value() / k as f64;
        }
        let vals = &mut self.vals[..self.len];
        // Positive f32 order like their bit patterns.
        vals.select_nth_unstable_by_key(k - 1, |v| std::cmp::Reverse(v.to_bits()));
        let mut sum = ExactSum::default();
        for &v in &vals[..k] {
            sum.0 += fixed(v) as u128;
        }
        sum.value() / k as f64
    }
}

/// The kernels a CPU level provides; the drivers below are shared, so every
/// level walks the planes in the same order.
pub trait Kernels {
    fn load_u8(
        &self,
        src: &Plane<u8>,
        bpc: u32,
        out: &mut [u16],
        stride: usize,
        w: usize,
        h: usize,
    ) -> Result<()>;
    fn load_u16(
        &self,
        src: &Plane<u16>,
        bpc: u32,
        out: &mut [u16],
        stride: usize,
        w: usize,
        h: usize,
    ) -> Result<()>;
    fn anti_dither(&self, buf: &mut [u16], stride: usize, w: usize, h: usize);
    #[allow(clippy::too_many_arguments)]
    fn spatial_mask(
        &self,
        img: &[u16],
        mask: &mut [u8],
        stride: usize,
        w: usize,
        h: usize,
        threshold: u32,
        s: &mut MaskScratch,
    );
    fn decimate_u16(&self, buf: &mut [u16], stride: usize, w: usize, h: usize);
    fn decimate_u8(&self, buf: &mut [u8], stride: usize, w: usize, h: usize);
    fn filter_mode(&self, buf: &mut [u16], stride: usize, w: usize, h: usize, rows: &mut [u16]);
    /// Fills `codes` for the planes of one scale, if the kernels use them.
    fn prepare(&self, p: &Planes<'_>, k: &Contrast, codes: &mut [u16]) {
        let _ = (p, k, codes);
    }
    /// Moves the window histograms down one row: removes the samples of row
    /// `sub` and adds those of row `add`.
    fn slide(
        &self,
        hist: &mut [u16],
        p: &Planes<'_>,
        pad: usize,
        sub: Option<usize>,
        add: Option<usize>,
        k: &Contrast,
    );
    /// Contrast values of row `i`: the non-zero ones go to `pool`, all of
    /// them to `out` (`w` values) when given.
    fn c_row(
        &self,
        hist: &[u16],
        p: &Planes<'_>,
        i: usize,
        k: &Contrast,
        out: Option<&mut [f32]>,
        pool: &mut Pool,
    );
}

/// The reference kernels.
#[derive(Clone, Copy)]
pub struct Scalar;

impl Kernels for Scalar {
    fn load_u8(
        &self,
        src: &Plane<u8>,
        bpc: u32,
        out: &mut [u16],
        stride: usize,
        w: usize,
        h: usize,
    ) -> Result<()> {
        to_10bit(src, bpc, out, stride, w, h)
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
        to_10bit(src, bpc, out, stride, w, h)
    }
    fn anti_dither(&self, buf: &mut [u16], stride: usize, w: usize, h: usize) {
        anti_dither_impl(buf, stride, w, h)
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
        spatial_mask_impl(img, mask, stride, w, h, threshold, s)
    }
    fn decimate_u16(&self, buf: &mut [u16], stride: usize, w: usize, h: usize) {
        decimate_impl(buf, stride, w, h)
    }
    fn decimate_u8(&self, buf: &mut [u8], stride: usize, w: usize, h: usize) {
        decimate_impl(buf, stride, w, h)
    }
    fn filter_mode(&self, buf: &mut [u16], stride: usize, w: usize, h: usize, rows: &mut [u16]) {
        filter_mode_impl(buf, stride, w, h, rows)
    }

    /// Each sample counts for the `2·pad+1` columns centred on it (clipped
    /// to the plane). A sample leaving and an equal one entering at the same
    /// column cancel. Columns up to `pad` are visited even if the plane is
    /// narrower, reading what the buffer holds there, as libvmaf does.
    fn slide(
        &self,
        hist: &mut [u16],
        p: &Planes<'_>,
        pad: usize,
        sub: Option<usize>,
        add: Option<usize>,
        k: &Contrast,
    ) {
        let w = p.w;
        let hs = hist_stride(w);
        for j in 0..w.max(pad) {
            let s = sub.and_then(|r| counted(p.img, p.mask, p.stride, r, j, k));
            let a = add.and_then(|r| counted(p.img, p.mask, p.stride, r, j, k));
            if s.is_some() && s == a {
                continue;
            }
            let lo = j.saturating_sub(pad);
            let hi = (j + pad + 1).min(w);
            if let Some(v) = s {
                add_range(&mut hist[v * hs + lo..v * hs + hi], u16::MAX);
            }
            if let Some(v) = a {
                add_range(&mut hist[v * hs + lo..v * hs + hi], 1);
            }
        }
    }

    fn c_row(
        &self,
        hist: &[u16],
        p: &Planes<'_>,
        i: usize,
        k: &Contrast,
        mut out: Option<&mut [f32]>,
        pool: &mut Pool,
    ) {
        let row = i * p.stride;
        let img = &p.img[row..row + p.w];
        let mask = &p.mask[row..row + p.w];
        for (j, (&m, &v)) in mask.iter().zip(img).enumerate() {
            let c = if m != 0 {
                k.pixel(hist, hist_stride(p.w), j, v)
            } else {
                0.0
            };
            if c != 0.0 {
                pool.push(c);
            }
            if let Some(o) = out.as_deref_mut() {
                o[j] = c;
            }
        }
    }
}

/// Histogram rows plus the zeroed slack that vector kernels may read or
/// add zero to past the last row.
pub fn hist_len(k: &Contrast, w: usize) -> usize {
    k.hist_rows() * hist_stride(w) + HIST_SLACK
}
pub const HIST_SLACK: usize = 64;

/// Distance between histogram rows: the width rounded up to 16 counts, so
/// that with a 32-byte aligned buffer every row starts 32-byte aligned.
pub fn hist_stride(w: usize) -> usize {
    (w + 15) & !15
}

/// Computes the contrast map of one scale: row by row, the window
/// histograms move down and the masked samples get their contrast; the
/// non-zero values go to `pool`, and every row to `dense` when given.
#[allow(clippy::too_many_arguments)]
pub fn contrast_map<K: Kernels>(
    kern: &K,
    p: &Planes<'_>,
    window: usize,
    k: &Contrast,
    bufs: &mut MapBuffers,
    pool: &mut Pool,
    mut dense: Option<&mut [f32]>,
) {
    let (w, h) = (p.w, p.h);
    let pad = window / 2;
    pool.reset();
    if k.band_size == 0 {
        // Every sample is too dark for any step (libvmaf fails here).
        if let Some(d) = dense {
            d[..w * h].fill(0.0);
        }
        return;
    }
    kern.prepare(p, k, &mut bufs.codes);
    let MapBuffers {
        hist,
        hist_offset,
        codes,
    } = bufs;
    let hist = &mut hist[*hist_offset..*hist_offset + hist_len(k, w)];
    hist.fill(0);
    let p = Planes { codes, ..*p };
    for r in 0..pad {
        kern.slide(hist, &p, pad, None, Some(r), k);
    }
    for i in 0..h {
        let (sub, add) = row_moves(i, h, pad);
        kern.slide(hist, &p, pad, sub, add, k);
        kern.c_row(
            hist,
            &p,
            i,
            k,
            dense.as_deref_mut().map(|d| &mut d[i * w..(i + 1) * w]),
            pool,
        );
    }
}

/// Scratch of [`contrast_map`], sized for the largest plane.
pub struct MapBuffers {
    /// Window histograms: `Contrast::hist_rows` rows of `hist_stride(w)`
    /// counts, from `hist_offset` (where the buffer is 32-byte aligned).
    hist: Vec<u16>,
    hist_offset: usize,
    pub codes: Vec<u16>,
}

impl MapBuffers {
    /// For planes up to `w` wide with `rows` rows of `stride` samples.
    pub fn new(k: &Contrast, w: usize, stride: usize, rows: usize) -> Self {
        let hist = vec![0u16; hist_len(k, w) + 16];
        let hist_offset = (32 - (hist.as_ptr() as usize) % 32) % 32 / 2;
        MapBuffers {
            hist,
            hist_offset,
            codes: vec![0; stride * rows],
        }
    }
    #[cfg(test)]
    pub fn hist_mut(&mut self) -> &mut [u16] {
        &mut self.hist[self.hist_offset..]
    }
}

// ---------------------------------------------------------------------------
// Pooling

/// Fixed-point scale at which every contrast value is an integer: values
/// are 0 or at least `1 / 4225` (above 2^-13), so their f32 ulp is at least
/// 2^-36, and they stay below 2^14.
const FIX: f64 = (1u64 << 36) as f64;

/// A contrast value in units of 2^-36 (exact).
#[inline(always)]
pub fn fixed(v: f32) -> u64 {
    (v as f64 * FIX) as u64
}

/// Exact sum of contrast values, order-independent.
#[derive(Default, Clone, Copy)]
pub struct ExactSum(pub u128);

impl ExactSum {
    pub fn value(self) -> f64 {
        self.0 as f64 / FIX
    }
}
