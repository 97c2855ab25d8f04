//! The SpEED core shared by `speed_chroma` and `speed_temporal`: libvmaf's
//! Spatial Efficient Entropic Differencing on one pair of float planes.
//!
//! Per plane: optional resampling (`speed_prescale`), an anti-aliasing
//! Gaussian and decimation by 16, subtraction of a local Gaussian mean,
//! then a Gaussian scale mixture fit over 5x5 blocks: the 25x25 covariance
//! of the block samples, its eigenvalues (Householder tridiagonalisation and
//! implicit QR, after GSL) and the per-block variance from a QR solve of
//! `K X = Y`. Each block gets an entropy from the eigenvalues and variance;
//! the score is the mean absolute difference of variance-weighted entropies
//! of reference and distorted.
//!
//! Every step keeps libvmaf's precision and order (float matrices, double
//! covariance sums and logarithms, the same loop orders), so results agree
//! to float rounding. The eigen-solver's numerics decide whether a block
//! covariance counts as singular, which is why they are reproduced exactly:
//! on small planes (e.g. 4:2:0 chroma of 576x324 at prescale 0.5) libvmaf
//! finds the matrix singular and the score is 0; so does this code.
//!
//! Where the time goes, and what is done about it: the anti-aliasing
//! filter only computes the rows and columns that survive the decimation
//! (and, at prescale 1, only the input rows those read are loaded at all);
//! the covariance walks the plane once with all 325 sums advancing
//! together; the QR solve is 50 products of 25x25 matrices. These loops are
//! in `scalar.rs` (the reference) and `x86.rs` (AVX2 and AVX-512, selected
//! by the [`CpuLevel`] given at creation), which keep every sum's order so
//! that all levels give the same bits. (libvmaf's own AVX2/AVX-512
//! covariance kernels reorder the double sums; its goldens are identical
//! with them masked off, so the scalar order is the one kept.)

use vmaf_core::{CpuLevel, Error, PictureData, Result};

mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use super::float_vif::prescale::{self, Method};
use super::float_vif::{Filter, VALID_KERNELSCALES};

/// Side of the square blocks the scale mixture is fitted on.
const BLOCK: usize = 5;
/// Samples per block: the size of the covariance matrix.
const N: usize = BLOCK * BLOCK;
/// The plane is decimated by 2^4 before the fit.
const SCALES: usize = 4;
const EIG_EPS: f64 = 1e-6;
const EIG_MAX_ITERS: usize = 500;

/// The options of the SpEED core, as libvmaf hands them down (the
/// extractors validate and convert the user's values).
#[derive(Clone, Debug)]
pub(crate) struct SpeedParams {
    pub kernelscale: f64,
    pub prescale: f64,
    pub method: Method,
    pub sigma_nn: f64,
    pub nn_floor: f64,
    pub weight_var_mode: i32,
}

impl SpeedParams {
    /// Reads the option names both extractors share; `feature` names the
    /// extractor in errors.
    pub fn from_options(o: &vmaf_core::Options, feature: &str, weight_var_mode: i32) -> Result<Self> {
        let method_name = o.str("speed_prescale_method");
        let method = Method::parse(method_name).ok_or_else(|| Error::BadOptionValue {
            feature: feature.into(),
            option: "speed_prescale_method".into(),
            value: method_name.to_owned(),
            expected: "one of nearest, bilinear, bicubic, lanczos4".into(),
        })?;
        let kernelscale = o.double("speed_kernelscale");
        let ks = kernelscale as f32;
        if !VALID_KERNELSCALES.iter().any(|v| (ks - v).abs() < 1e-3) {
            return Err(Error::BadOptionValue {
                feature: feature.into(),
                option: "speed_kernelscale".into(),
                value: format!("{kernelscale}"),
                expected: format!(
                    "one of {}",
                    VALID_KERNELSCALES.iter().map(|v| format!("{v:.6}")).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        Ok(SpeedParams {
            kernelscale,
            prescale: o.double("speed_prescale"),
            method,
            sigma_nn: o.double("speed_sigma_nn"),
            nn_floor: o.double("speed_nn_floor"),
            weight_var_mode,
        })
    }
}

/// Sizes derived from the plane size and the prescale.
#[derive(Clone, Copy, Debug)]
struct Dims {
    in_w: usize,
    in_h: usize,
    /// After prescaling.
    w: usize,
    h: usize,
    /// After decimation by 16.
    dw: usize,
    dh: usize,
    /// Blocks across and down, and in all.
    bw: usize,
    bh: usize,
    blocks: usize,
    /// The shifted windows the covariance is taken over.
    sub_w: usize,
    sub_h: usize,
}

/// Entropy and variance of every block of one plane.
struct Fit {
    entropy: Vec<f32>,
    variance: Vec<f32>,
}

/// The instruction set the hot loops run on (see `scalar.rs` and `x86.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Simd {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Simd {
    /// The kernels for a level, never above what this CPU runs (a forced
    /// level can ask for more).
    fn for_level(level: CpuLevel) -> Self {
        match level {
            #[cfg(target_arch = "x86_64")]
            CpuLevel::Avx512 if x86::avx512_available() => Simd::Avx512,
            #[cfg(target_arch = "x86_64")]
            CpuLevel::Avx2 | CpuLevel::Avx512 if x86::avx2_available() => Simd::Avx2,
            _ => Simd::Scalar,
        }
    }

    // Each method runs one kernel on this level. SAFETY (all `unsafe`
    // blocks): an x86 variant exists only after `for_level` checked the CPU
    // has its instructions; the kernels check their slice bounds.

    fn vertical(self, taps: &[f32], src: &[f32], rows: &[u32], w: usize, out: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe { x86::vertical(taps, src, rows, w, out) },
            _ => scalar::vertical(taps, src, rows, w, out),
        }
    }

    fn load_u8(self, src: &[u8], out: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe { x86::load_u8(src, out) },
            _ => scalar::load_u8(src, out),
        }
    }

    fn load_u16(self, src: &[u16], scaler: f32, out: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe { x86::load_u16(src, scaler, out) },
            _ => scalar::load_u16(src, scaler, out),
        }
    }

    fn subtract(self, a: &mut [f32], b: &[f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe { x86::subtract(a, b) },
            _ => scalar::subtract(a, b),
        }
    }

    fn difference_u8(self, a: &[u8], b: &[u8], out: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe { x86::difference_u8(a, b, out) },
            _ => scalar::difference_u8(a, b, out),
        }
    }

    fn difference_u16(self, a: &[u16], b: &[u16], scaler: f32, out: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe { x86::difference_u16(a, b, scaler, out) },
            _ => scalar::difference_u16(a, b, scaler, out),
        }
    }

    fn covariance(self, data: &[f32], stride: usize, sub_w: usize, sub_h: usize, means: &mut [f32], cov: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { x86::covariance_avx512(data, stride, sub_w, sub_h, means, cov) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { x86::covariance_avx2(data, stride, sub_w, sub_h, means, cov) },
            _ => scalar::covariance(data, stride, sub_w, sub_h, means, cov),
        }
    }

    fn mat_mul(self, dst: &mut [f32], x: &[f32], y: &[f32], rows: usize, inner: usize, cols: usize) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { x86::mat_mul_avx512(dst, x, y, rows, inner, cols) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { x86::mat_mul_avx2(dst, x, y, rows, inner, cols) },
            _ => scalar::mat_mul(dst, x, y, rows, inner, cols),
        }
    }

    fn back_substitute(self, r: &[f32], rect: &[f32], sol: &mut [f32], cols: usize) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe { x86::back_substitute(r, rect, sol, cols) },
            _ => scalar::back_substitute(r, rect, sol, cols),
        }
    }
}

/// A plane's input rows (see [`Speed::keep`]) as raw samples.
pub(crate) enum RawRows {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

/// Copies as much of `src` as fits (rows match the plane width; this only
/// keeps a mismatch from panicking).
fn copy_prefix<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
}

fn mixed_sample_types() -> Error {
    Error::Extractor { feature: "speed_temporal".into(), msg: "pictures of 8-bit and wider samples mixed".into() }
}

/// Where the anti-aliasing filter reads its plane from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// The caller's buffer: only the input rows the filter reads
    /// ([`Speed::input_rows`]), packed (prescale 1).
    Rows,
    /// The whole input plane resampled into `scaled`.
    Scaled,
    /// libvmaf's case of a prescale within 1e-3 of 1 that still changes the
    /// rounded size: it does not resample, but filters the unscaled samples
    /// as a plane of the scaled size (zeros past the input). The whole
    /// input plane is copied into `scaled` to read it the same way.
    Reshaped,
}

/// One SpEED instance: filters, every buffer, sized once for a plane size.
pub(crate) struct Speed {
    p: SpeedParams,
    d: Dims,
    simd: Simd,
    source: Source,
    /// The input rows the caller loads, in this order.
    input_rows: Vec<usize>,
    antialias: Filter,
    local: Filter,
    /// Per decimated row, the rows of the source plane the anti-aliasing
    /// taps read (edge reflection applied; packed-row indices for
    /// `Source::Rows`), and per decimated column the columns.
    aa_rows: Vec<u32>,
    aa_cols: Vec<u32>,
    /// The same for the local-mean filter on the decimated plane.
    local_rows: Vec<u32>,
    local_cols: Vec<u32>,
    /// The resampled (or reshaped) plane, when the source is not `Rows`.
    scaled: Vec<f32>,
    /// One row of the anti-aliasing filter's vertical pass.
    row: Vec<f32>,
    /// The decimated plane, then minus its local mean: what the fit reads.
    down: Vec<f32>,
    /// The local mean of `down`, and a row of its vertical pass.
    mean: Vec<f32>,
    mean_row: Vec<f32>,
    lin: Linear,
    fits: [Fit; 2],
}

/// Buffers of the block fit.
struct Linear {
    cov: Vec<f32>,
    means: Vec<f32>,
    eig: Vec<f32>,
    /// `N x blocks`: each block's samples as a column.
    indep: Vec<f32>,
    /// `N x blocks`: the solution of `K X = Y`, then the per-block sums.
    sol: Vec<f32>,
    // Eigen-solver work.
    a: Vec<f32>,
    diag: Vec<f32>,
    sub: Vec<f32>,
    v: Vec<f32>,
    x: Vec<f32>,
    // QR solve work.
    q: Vec<f32>,
    r: Vec<f32>,
    tq: Vec<f32>,
    tz: Vec<f32>,
    vec: Vec<f32>,
    rect: Vec<f32>,
}

/// For each of `n` outputs at positions `step * i`, the `taps` positions
/// (reflected into `0..len`) a centred filter reads, mapped through `map`.
fn tap_table(n: usize, step: usize, taps: usize, len: usize, map: impl Fn(usize) -> usize) -> Vec<u32> {
    let r = (taps / 2) as isize;
    let mut t = Vec::with_capacity(n * taps);
    for i in 0..n {
        for k in 0..taps {
            t.push(map(reflect((step * i) as isize - r + k as isize, len)) as u32);
        }
    }
    t
}

impl Speed {
    /// A SpEED for planes of `w` x `h`, running its loops on `level`.
    /// Errors when the plane is too small for one 5x5 block after
    /// prescaling and decimation by 16 (libvmaf logs this and then divides
    /// by zero blocks).
    pub fn new(p: SpeedParams, w: usize, h: usize, feature: &str, level: CpuLevel) -> Result<Self> {
        let sw = (w as f64 * p.prescale + 0.5) as usize;
        let sh = (h as f64 * p.prescale + 0.5) as usize;
        let (dw, dh) = (sw >> SCALES, sh >> SCALES);
        let (bw, bh) = (dw / BLOCK, dh / BLOCK);
        if bw == 0 || bh == 0 {
            return Err(Error::Extractor {
                feature: feature.into(),
                msg: format!(
                    "plane of {w}x{h} is too small: after prescale {} and decimation by 16 it is {dw}x{dh}, \
                     smaller than one {BLOCK}x{BLOCK} block",
                    p.prescale
                ),
            });
        }
        let d = Dims {
            in_w: w,
            in_h: h,
            w: sw,
            h: sh,
            dw,
            dh,
            bw,
            bh,
            blocks: bw * bh,
            sub_w: bw * BLOCK - BLOCK + 1,
            sub_h: bh * BLOCK - BLOCK + 1,
        };
        let ks = p.kernelscale as f32;
        // The anti-aliasing filter has the width of VIF's scale-1 filter and
        // the spread of the scale-4 one (sqrt(16) = 2 times wider per octave
        // count, as libvmaf's "sigma trick" has it).
        let aa_width = Filter::width(1, ks);
        let aa_stdev = ((SCALES as f64).sqrt() * aa_width as f64 / 5.0f32 as f64) as f32;
        let antialias = Filter::gaussian(aa_width, aa_stdev);
        let local = Filter::new(SCALES, ks);
        let rescale = (p.prescale - 1.0).abs() >= 1.0e-3;
        let source = match ((sw, sh) == (w, h), rescale) {
            (true, _) => Source::Rows,
            (false, true) => Source::Scaled,
            (false, false) => Source::Reshaped,
        };
        let at = antialias.taps.len();
        // Only every 16th row and column of the filtered plane survives the
        // decimation, so only those are filtered (each output is computed
        // on its own, so this changes no value). At prescale 1 only the
        // rows those read are needed from the input.
        let (input_rows, aa_rows) = if source == Source::Rows {
            let rows = tap_table(dh, 1 << SCALES, at, sh, |r| r);
            let mut needed = rows.iter().map(|&r| r as usize).collect::<Vec<_>>();
            needed.sort_unstable();
            needed.dedup();
            let mut slot = vec![0usize; sh];
            for (i, &r) in needed.iter().enumerate() {
                slot[r] = i;
            }
            let packed = rows.iter().map(|&r| slot[r as usize] as u32).collect();
            (needed, packed)
        } else {
            ((0..h).collect(), tap_table(dh, 1 << SCALES, at, sh, |r| r))
        };
        let aa_cols = tap_table(dw, 1 << SCALES, at, sw, |c| c);
        let lt = local.taps.len();
        let local_rows = tap_table(dh, 1, lt, dh, |r| r);
        let local_cols = tap_table(dw, 1, lt, dw, |c| c);
        let nb = d.blocks;
        let fit = || Fit { entropy: vec![0.0; nb], variance: vec![0.0; nb] };
        Ok(Speed {
            simd: Simd::for_level(level),
            source,
            input_rows,
            antialias,
            local,
            aa_rows,
            aa_cols,
            local_rows,
            local_cols,
            scaled: vec![0.0; if source == Source::Rows { 0 } else { sw * sh }],
            row: vec![0.0; sw],
            down: vec![0.0; dw * dh],
            mean: vec![0.0; dw * dh],
            mean_row: vec![0.0; dw],
            lin: Linear {
                cov: vec![0.0; N * N],
                means: vec![0.0; N],
                eig: vec![0.0; N],
                indep: vec![0.0; N * nb],
                sol: vec![0.0; N * nb],
                a: vec![0.0; N * N],
                diag: vec![0.0; N],
                sub: vec![0.0; N],
                v: vec![0.0; N],
                x: vec![0.0; N],
                q: vec![0.0; N * N],
                r: vec![0.0; N * N],
                tq: vec![0.0; N * N],
                tz: vec![0.0; N * N],
                vec: vec![0.0; N],
                rect: vec![0.0; N * nb],
            },
            fits: [fit(), fit()],
            p,
            d,
        })
    }

    /// Samples a frame buffer must hold: the input rows the score reads
    /// (all of them unless the prescale is 1), packed.
    pub fn frame_len(&self) -> usize {
        self.input_rows.len() * self.d.in_w
    }

    /// Packs [`Self::input_rows`] of plane `channel` of a picture into
    /// `out` as floats offset by -128, high bit depths divided to the 8-bit
    /// range first, as libvmaf's `picture_copy` does.
    pub fn load(&self, data: &PictureData, channel: usize, bpc: u8, out: &mut [f32]) {
        let w = self.d.in_w;
        match data {
            PictureData::U8(p) => {
                for (o, &r) in out.chunks_exact_mut(w).zip(&self.input_rows) {
                    self.simd.load_u8(p[channel].row(r), o);
                }
            }
            PictureData::U16(p) => {
                let scaler = (1u32 << (bpc.max(8) - 8)) as f32;
                for (o, &r) in out.chunks_exact_mut(w).zip(&self.input_rows) {
                    self.simd.load_u16(p[channel].row(r), scaler, o);
                }
            }
        }
    }

    /// Buffers for [`Self::keep`]: the input rows as raw samples, 8-bit or
    /// wider.
    pub fn raw_rows(&self, bit_depth: u8) -> RawRows {
        let n = self.frame_len();
        if bit_depth > 8 {
            RawRows::U16(vec![0; n])
        } else {
            RawRows::U8(vec![0; n])
        }
    }

    /// Copies the input rows of plane `channel` into `into` as they are, to
    /// difference a later frame against them.
    pub fn keep(&self, data: &PictureData, channel: usize, into: &mut RawRows) -> Result<()> {
        let w = self.d.in_w;
        match (data, into) {
            (PictureData::U8(p), RawRows::U8(out)) => {
                for (o, &r) in out.chunks_exact_mut(w).zip(&self.input_rows) {
                    copy_prefix(o, p[channel].row(r));
                }
            }
            (PictureData::U16(p), RawRows::U16(out)) => {
                for (o, &r) in out.chunks_exact_mut(w).zip(&self.input_rows) {
                    copy_prefix(o, p[channel].row(r));
                }
            }
            _ => return Err(mixed_sample_types()),
        }
        Ok(())
    }

    /// What [`Self::load`] packs for `prev` (kept by [`Self::keep`]) minus
    /// what it packs for plane `channel` of `cur`, both read at `bpc`, in
    /// one pass.
    pub fn load_difference(
        &self,
        prev: &RawRows,
        cur: &PictureData,
        channel: usize,
        bpc: u8,
        out: &mut [f32],
    ) -> Result<()> {
        let w = self.d.in_w;
        match (prev, cur) {
            (RawRows::U8(prev), PictureData::U8(p)) => {
                for ((o, a), &r) in out.chunks_exact_mut(w).zip(prev.chunks_exact(w)).zip(&self.input_rows) {
                    self.simd.difference_u8(a, p[channel].row(r), o);
                }
            }
            (RawRows::U16(prev), PictureData::U16(p)) => {
                let scaler = (1u32 << (bpc.max(8) - 8)) as f32;
                for ((o, a), &r) in out.chunks_exact_mut(w).zip(prev.chunks_exact(w)).zip(&self.input_rows) {
                    self.simd.difference_u16(a, p[channel].row(r), scaler, o);
                }
            }
            _ => return Err(mixed_sample_types()),
        }
        Ok(())
    }

    /// The SpEED score of a reference and a distorted plane, each as
    /// [`Self::load`] packs it into a buffer of [`Self::frame_len`]. The
    /// flag is true when either block covariance could not be inverted
    /// (libvmaf's nonzero return).
    pub fn score(&mut self, reference: &[f32], distorted: &[f32]) -> (f32, bool) {
        self.filter_and_downscale(reference);
        let err_ref = self.fit(0);
        self.filter_and_downscale(distorted);
        let err_dis = self.fit(1);
        // A score from one singular side only would be inflated: libvmaf
        // gives 0 instead.
        let score = if err_ref != err_dis { 0.0 } else { self.compare() };
        (score, err_ref || err_dis)
    }

    /// Prescale, anti-alias, decimate by 16 into `down`, and subtract the
    /// local mean.
    fn filter_and_downscale(&mut self, input: &[f32]) {
        let d = self.d;
        let n = d.in_w * d.in_h;
        let src: &[f32] = match self.source {
            Source::Rows => input,
            Source::Scaled => {
                prescale::scale(self.p.method, &input[..n], d.in_w, d.in_h, &mut self.scaled, d.w, d.h);
                &self.scaled
            }
            Source::Reshaped => {
                // The tail past the input stays zero from creation.
                let m = n.min(self.scaled.len());
                self.scaled[..m].copy_from_slice(&input[..m]);
                &self.scaled
            }
        };
        let f = &self.antialias.taps;
        let t = f.len();
        for y in 0..d.dh {
            self.simd.vertical(f, src, &self.aa_rows[y * t..(y + 1) * t], d.w, &mut self.row);
            let out = &mut self.down[y * d.dw..(y + 1) * d.dw];
            for (o, cols) in out.iter_mut().zip(self.aa_cols.chunks_exact(t)) {
                let mut acc = 0f32;
                for (&c, &x) in f.iter().zip(cols) {
                    acc += c * self.row[x as usize];
                }
                *o = acc;
            }
        }
        // The local mean: the same separable filter (vertical pass first)
        // on the whole decimated plane.
        let f = &self.local.taps;
        let t = f.len();
        for y in 0..d.dh {
            self.simd.vertical(f, &self.down, &self.local_rows[y * t..(y + 1) * t], d.dw, &mut self.mean_row);
            let out = &mut self.mean[y * d.dw..(y + 1) * d.dw];
            for (o, cols) in out.iter_mut().zip(self.local_cols.chunks_exact(t)) {
                let mut acc = 0f32;
                for (&c, &x) in f.iter().zip(cols) {
                    acc += c * self.mean_row[x as usize];
                }
                *o = acc;
            }
        }
        self.simd.subtract(&mut self.down, &self.mean);
    }

    /// Fits the scale mixture on `down` into `fits[which]`; true when the
    /// covariance is singular (the fit then has zero variances).
    fn fit(&mut self, which: usize) -> bool {
        let d = self.d;
        let l = &mut self.lin;
        self.simd.covariance(&self.down, d.dw, d.sub_w, d.sub_h, &mut l.means, &mut l.cov);
        eigenvalues(l);
        independent_term(&d, &self.down, &mut l.indep);
        let regular = l.eig.iter().all(|&e| (e as f64) >= EIG_EPS);
        let solved = regular && solve(l, d.blocks, self.simd);
        let singular = !solved;
        if singular {
            l.sol.fill(0.0);
        }
        let nb = d.blocks;
        for (s, y) in l.sol.iter_mut().zip(&l.indep) {
            *s = (*s * y) / N as f32;
        }
        let (first, rest) = l.sol.split_at_mut(nb);
        for row in rest.chunks_exact(nb) {
            for (a, b) in first.iter_mut().zip(row) {
                *a += b;
            }
        }
        let sigma_nn = self.p.sigma_nn as f32;
        let log_2pie = (2.0 * std::f64::consts::PI * std::f64::consts::E).log2();
        let fit = &mut self.fits[which];
        fit.entropy.fill(0.0);
        for &e in &l.eig {
            // A negative eigenvalue counts as 0 (NaN passes through).
            let lambda = if e < 0.0 { 0.0 } else { e };
            for (ent, &s) in fit.entropy.iter_mut().zip(first.iter()) {
                *ent = (*ent as f64 + (((lambda * s + sigma_nn) as f64).log2() + log_2pie)) as f32;
            }
        }
        fit.variance.copy_from_slice(first);
        singular
    }

    /// The score from the two fits: mean over blocks of the absolute
    /// difference of variance-weighted entropies, blocks where both
    /// entropies are below the noise floor's counting as 0.
    fn compare(&self) -> f32 {
        let sigma_nn = self.p.sigma_nn as f32;
        let nn_floor = self.p.nn_floor as f32;
        let log_2pie = (2.0 * std::f64::consts::PI * std::f64::consts::E).log2();
        let base = (N as f64 * ((((1.0 + nn_floor) * sigma_nn) as f64).log2() + log_2pie)) as f32;
        let [r, d] = &self.fits;
        let mut score = 0f32;
        for i in 0..self.d.blocks {
            let (er, ed) = (r.entropy[i], d.entropy[i]);
            if er < base && ed < base {
                continue;
            }
            let (vr, vd) = (r.variance[i], d.variance[i]);
            let weight_f = |v: f32| ((1.0 + v) as f64).log2();
            let weight_d = |v: f64| (1.0 + v).log2();
            let (wr, wd) = match self.p.weight_var_mode {
                0 => (weight_f(vr), weight_f(vd)),
                1 => (weight_f(vr), weight_f(vr)),
                2 => (weight_f(vd), weight_f(vd)),
                3 => {
                    let w = weight_d((vr + vd) as f64 / 2.0);
                    (w, w)
                }
                4 => (weight_f(vr), weight_d((vr + vd) as f64 / 2.0)),
                5 => (weight_f(vr), weight_d(0.75 * vr as f64 + 0.25 * vd as f64)),
                // The option's range is 0..=6.
                _ => (weight_f(vr), weight_d(0.25 * vr as f64 + 0.75 * vd as f64)),
            };
            let sr = (er as f64 * wr) as f32;
            let sd = (ed as f64 * wd) as f32;
            score += (sr - sd).abs();
        }
        score / self.d.blocks as f32
    }
}

/// libvmaf's edge reflection (about the edge sample, not repeating it),
/// folded again for positions still outside, which libvmaf would read out
/// of bounds on planes narrower than the filter.
#[inline]
fn reflect(mut p: isize, n: usize) -> usize {
    let last = n as isize - 1;
    if last <= 0 {
        return 0;
    }
    loop {
        if p < 0 {
            p = -p;
        } else if p > last {
            p = 2 * last - p;
        } else {
            return p as usize;
        }
    }
}

/// Lays every block's 25 samples out as a column (row = position in the
/// block, column = block index in raster order).
fn independent_term(d: &Dims, data: &[f32], out: &mut [f32]) {
    for bi in 0..d.bh {
        for bj in 0..d.bw {
            let col = bi * d.bw + bj;
            for si in 0..BLOCK {
                for sj in 0..BLOCK {
                    out[(si * BLOCK + sj) * d.blocks + col] = data[(bi * BLOCK + si) * d.dw + bj * BLOCK + sj];
                }
            }
        }
    }
}

fn sign(x: f32) -> f32 {
    if x >= 0.0 {
        1.0
    } else {
        -1.0
    }
}

/// `sqrt(x^2 + y^2)` in float, without any overflow guard (as libvmaf).
fn hypot(x: f32, y: f32) -> f32 {
    (x * x + y * y).sqrt()
}

/// Eigenvalues of `l.cov` into `l.eig` (symmetric: tridiagonalise, then
/// implicit symmetric QR steps with Wilkinson shifts).
fn eigenvalues(l: &mut Linear) {
    l.a.copy_from_slice(&l.cov);
    tridiagonalise(&mut l.a, &mut l.diag, &mut l.sub, &mut l.v, &mut l.x);
    let (d, sd) = (&mut l.diag, &mut l.sub);
    chop(d, sd, N);
    let mut b = N - 1;
    let mut iter = 0;
    while b > 0 && iter < EIG_MAX_ITERS {
        if sd[b - 1] == 0.0 {
            b -= 1;
            continue;
        }
        // The largest unreduced block ending at b.
        let mut a = b - 1;
        while a > 0 && sd[a - 1] != 0.0 {
            a -= 1;
        }
        let n = b - a + 1;
        qr_step(&mut d[a..], &mut sd[a..], n);
        chop(&d[a..], &mut sd[a..], n);
        iter += 1;
    }
    l.eig.copy_from_slice(d);
}

/// Householder reduction of the symmetric `a` to tridiagonal form (after
/// GSL's `symmtd_decomp`); diagonal into `d`, subdiagonal into `sd`.
fn tridiagonalise(a: &mut [f32], d: &mut [f32], sd: &mut [f32], v: &mut [f32], x: &mut [f32]) {
    for i in 0..N - 2 {
        let tau = householder(a, i, i + 1);
        for j in i + 1..N {
            v[j] = a[j * N + i];
        }
        if tau != 0.0 {
            v[i + 1] = 1.0;
            let s = i + 1;
            for k in s..N {
                let mut acc = 0f32;
                for j in s..N {
                    acc += tau * a[k * N + j] * v[j];
                }
                x[k] = acc;
            }
            let mut xv = 0f32;
            for k in s..N {
                xv += x[k] * v[k];
            }
            let alpha = (-0.5 * tau as f64 * xv as f64) as f32;
            for k in s..N {
                x[k] += alpha * v[k];
            }
            for r in s..N {
                for c in s..N {
                    a[r * N + c] -= x[r] * v[c] + v[r] * x[c];
                }
            }
        }
    }
    for i in 0..N {
        d[i] = a[i * N + i];
    }
    for i in 0..N - 1 {
        sd[i] = a[(i + 1) * N + i];
    }
}

/// The Householder vector annihilating column `col` below `start + 1`,
/// stored in place scaled so its first entry is an implicit 1; returns tau.
fn householder(a: &mut [f32], col: usize, start: usize) -> f32 {
    if N - start == 1 {
        return 0.0;
    }
    let mut norm = 0f32;
    for i in start + 1..N {
        norm += a[i * N + col] * a[i * N + col];
    }
    let xnorm = norm.sqrt();
    if xnorm == 0.0 {
        return 0.0;
    }
    let alpha = a[start * N + col];
    let beta = -sign(alpha) * hypot(alpha, xnorm);
    let tau = (beta - alpha) / beta;
    let s = alpha - beta;
    if s != 0.0 {
        for i in start..N {
            a[i * N + col] /= s;
        }
        a[start * N + col] = beta;
    }
    tau
}

/// Zeroes subdiagonal entries negligible against their diagonal neighbours.
fn chop(d: &[f32], sd: &mut [f32], n: usize) {
    for i in 0..n - 1 {
        if (sd[i].abs() as f64) < EIG_EPS * ((d[i].abs() + d[i + 1].abs()) as f64) {
            sd[i] = 0.0;
        }
    }
}

/// The Wilkinson shift: the eigenvalue of the trailing 2x2 closer to the
/// last diagonal entry.
fn trailing_eigenvalue(d: &[f32], sd: &[f32], n: usize) -> f32 {
    let (ta, tb, tab) = (d[n - 2], d[n - 1], sd[n - 2]);
    let dt = ((ta - tb) as f64 / 2.0) as f32;
    if dt > 0.0 {
        tb - tab * (tab / (dt + hypot(dt, tab)))
    } else if dt == 0.0 {
        tb - tab.abs()
    } else {
        tb + tab * (tab / (-dt + hypot(dt, tab)))
    }
}

/// A Givens rotation (c, s) zeroing b against a.
fn givens(a: f32, b: f32) -> (f32, f32) {
    if b == 0.0 {
        (1.0, 0.0)
    } else if b.abs() > a.abs() {
        let t = -a / b;
        let s1 = (1.0 / ((1.0 + t * t) as f64).sqrt()) as f32;
        (s1 * t, s1)
    } else {
        let t = -b / a;
        let c1 = (1.0 / ((1.0 + t * t) as f64).sqrt()) as f32;
        (c1, c1 * t)
    }
}

/// One implicit symmetric QR step on the unreduced tridiagonal block of
/// size `n` (after GSL's `qrstep`).
fn qr_step(d: &mut [f32], sd: &mut [f32], n: usize) {
    let mut mu = trailing_eigenvalue(d, sd, n);
    if EIG_EPS * mu.abs() as f64 > (d[0].abs() + sd[0].abs()) as f64 {
        mu = 0.0;
    }
    let mut x = d[0] - mu;
    let mut z = sd[0];
    let mut bk = 0f32;
    let mut zk = 0f32;
    let mut ap = d[0];
    let mut bp = sd[0];
    let mut aq = d[1];
    if n == 2 {
        let (c, s) = givens(x, z);
        let ap1 = c * (c * ap - s * bp) + s * (s * aq - c * bp);
        let bp1 = c * (s * ap + c * bp) - s * (s * bp + c * aq);
        let aq1 = s * (s * ap + c * bp) + c * (s * bp + c * aq);
        d[0] = ap1;
        sd[0] = bp1;
        d[1] = aq1;
        return;
    }
    let mut bq = sd[1];
    for k in 0..n - 1 {
        let (c, s) = givens(x, z);
        let bk1 = c * bk - s * zk;
        let ap1 = c * (c * ap - s * bp) + s * (s * aq - c * bp);
        let bp1 = c * (s * ap + c * bp) - s * (s * bp + c * aq);
        let zp1 = -s * bq;
        let aq1 = s * (s * ap + c * bp) + c * (s * bp + c * aq);
        let bq1 = c * bq;
        let ak = ap1;
        bk = bp1;
        zk = zp1;
        ap = aq1;
        bp = bq1;
        if k < n - 2 {
            aq = d[k + 2];
        }
        if k + 3 < n {
            bq = sd[k + 2];
        }
        d[k] = ak;
        if k > 0 {
            sd[k - 1] = bk1;
        }
        if k < n - 2 {
            sd[k + 1] = bp;
        }
        x = bk;
        z = zk;
    }
    d[n - 1] = ap;
    sd[n - 2] = bk;
}

/// Solves `cov X = indep` into `sol` through a Householder QR of `cov`
/// (the textbook form with explicit reflector matrices, as libvmaf has
/// it); false when `R` has a diagonal entry below 1e-6.
fn solve(l: &mut Linear, cols: usize, simd: Simd) -> bool {
    // Q accumulates the reflectors (as Q^T), tz the partially reduced
    // matrix.
    l.tz.copy_from_slice(&l.cov);
    l.q.fill(0.0);
    for i in 0..N {
        l.q[i * N + i] = 1.0;
    }
    for k in 0..N - 1 {
        for i in 0..N {
            for j in 0..N {
                if i < k || j < k {
                    l.tz[i * N + j] = if i == j { 1.0 } else { 0.0 };
                }
            }
        }
        for i in 0..N {
            l.vec[i] = l.tz[i * N + k];
        }
        let norm = vec_norm(&l.vec);
        // The sign comes from the original matrix, as in libvmaf.
        l.vec[k] += sign(l.cov[k * N + k]) * norm;
        let n2 = vec_norm(&l.vec);
        for v in l.vec.iter_mut() {
            *v /= n2;
        }
        for i in 0..N {
            for j in 0..N {
                l.tq[i * N + j] = -2.0 * l.vec[i] * l.vec[j];
            }
        }
        for i in 0..N {
            l.tq[i * N + i] += 1.0;
        }
        // The products go to `r` (scratch here), which then swaps places
        // with the matrix they replace.
        simd.mat_mul(&mut l.r, &l.tq, &l.tz, N, N, N);
        std::mem::swap(&mut l.tz, &mut l.r);
        simd.mat_mul(&mut l.r, &l.tq, &l.q, N, N, N);
        std::mem::swap(&mut l.q, &mut l.r);
    }
    simd.mat_mul(&mut l.r, &l.q, &l.cov, N, N, N);
    // libvmaf transposes Q to return it and transposes it back to apply
    // Q^T; l.q already holds Q^T.
    simd.mat_mul(&mut l.rect, &l.q, &l.indep, N, N, cols);
    simd.back_substitute(&l.r, &l.rect, &mut l.sol, cols)
}

fn vec_norm(v: &[f32]) -> f32 {
    let mut s = 0f32;
    for &x in v {
        s += x * x;
    }
    s.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_of_a_diagonal_and_a_rank_one_matrix() {
        let mut l = Speed::new(
            SpeedParams {
                kernelscale: 1.0,
                prescale: 1.0,
                method: Method::Nearest,
                sigma_nn: 0.29,
                nn_floor: 0.0,
                weight_var_mode: 0,
            },
            80,
            80,
            "t",
            CpuLevel::Scalar,
        )
        .unwrap()
        .lin;
        for i in 0..N {
            l.cov[i * N + i] = (i + 1) as f32;
        }
        eigenvalues(&mut l);
        let mut e = l.eig.clone();
        e.sort_by(f32::total_cmp);
        for (i, v) in e.iter().enumerate() {
            assert!((v - (i + 1) as f32).abs() < 1e-4, "{e:?}");
        }
        // u u^T has one eigenvalue |u|^2 and the rest 0: singular.
        for i in 0..N {
            for j in 0..N {
                l.cov[i * N + j] = ((i + 1) * (j + 1)) as f32 / 100.0;
            }
        }
        eigenvalues(&mut l);
        let max = l.eig.iter().cloned().fold(f32::MIN, f32::max);
        let want: f32 = (1..=N).map(|i| (i * i) as f32 / 100.0).sum();
        assert!((max - want).abs() / want < 1e-4, "{max} vs {want}");
        assert!(l.eig.iter().any(|&e| (e as f64) < EIG_EPS));
    }

    #[test]
    fn qr_solve_inverts_a_well_conditioned_matrix() {
        let mut sp = Speed::new(
            SpeedParams {
                kernelscale: 1.0,
                prescale: 1.0,
                method: Method::Nearest,
                sigma_nn: 0.29,
                nn_floor: 0.0,
                weight_var_mode: 0,
            },
            80,
            80,
            "t",
            CpuLevel::Scalar,
        )
        .unwrap();
        let l = &mut sp.lin;
        let cols = 1;
        for i in 0..N {
            for j in 0..N {
                l.cov[i * N + j] = if i == j { 4.0 } else { 1.0 / (1 + i + j) as f32 };
            }
        }
        let x: Vec<f32> = (0..N).map(|i| i as f32 - 12.0).collect();
        for i in 0..N {
            l.indep[i] = (0..N).map(|j| l.cov[i * N + j] * x[j]).sum();
        }
        assert!(solve(l, cols, Simd::Scalar));
        for i in 0..N {
            assert!((l.sol[i] - x[i]).abs() < 1e-3, "{i}: {} vs {}", l.sol[i], x[i]);
        }
    }

    #[test]
    fn reflect_mirrors_and_folds() {
        assert_eq!(reflect(-1, 5), 1);
        assert_eq!(reflect(5, 5), 3);
        assert_eq!(reflect(-7, 3), 1);
        assert_eq!(reflect(3, 1), 0);
    }
}
