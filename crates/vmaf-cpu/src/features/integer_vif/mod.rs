//! `vif`: libvmaf's fixed-point Visual Information Fidelity, the
//! `integer_vif_scale0..3` features of the default VMAF models.
//!
//! VIF compares, at four dyadic scales, how much of the reference's local
//! variance survives in the distorted picture. Every step is integer
//! arithmetic with libvmaf's exact rounding, so the scores match libvmaf to
//! the last bit of its `float` results:
//!
//! 1. Scale 0 is the luma plane. Each scale `s` is low-pass filtered
//!    (vertical then horizontal pass, filter `FILTERS[s]`) into local means
//!    `mu1`, `mu2` and second moments of ref, dis and ref*dis.
//! 2. Per pixel, the variances and covariance feed a log-domain statistic
//!    (`log2` from a 16-bit fixed-point table); the sums over the picture
//!    give the scale's numerator and denominator.
//! 3. The next scale is the current one filtered with the next scale's
//!    (narrower) filter and decimated by two in both directions.
//!
//! Edges are mirrored the way libvmaf's in-place padding mirrors them; that
//! padding is replayed on indices once, in [`create`], so the kernels only
//! read precomputed source rows and columns (see [`ScaleGeom`]).
//!
//! The kernels exist three times: `scalar.rs` is the readable reference,
//! `x86.rs` the AVX2 version and `avx512.rs` the AVX-512 one (which hands
//! the columns that do not fill its vectors to the AVX2 and scalar code).
//! The [`CpuLevel`] given at creation selects them; tests check that all
//! give identical integer sums.

#[cfg(target_arch = "x86_64")]
mod avx512;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use vmaf_core::{
    CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, OptionSpec, Options, PictureData,
    Pixel, Plane, Result,
};

/// libvmaf's Gaussian filters of the four scales, in 16-bit fixed point
/// (each sums to 65536).
pub const FILTERS: [&[u16]; 4] = [
    &[489, 935, 1640, 2640, 3896, 5274, 6547, 7455, 7784, 7455, 6547, 5274, 3896, 2640, 1640, 935, 489],
    &[1244, 3663, 7925, 12590, 14692, 12590, 7925, 3663, 1244],
    &[3571, 16004, 26386, 16004, 3571],
    &[10904, 43728, 10904],
];

/// How far (in rows) libvmaf's buffer of each scale is mirrored above and
/// below the picture: scale 0 by the scale-0 filter's half width, every
/// later scale by the half width of the filter of the scale before it.
const ROW_MIRROR: [usize; 4] = [8, 8, 4, 2];

/// Virtual rows kept on each side of a scale's row map (the widest mirror).
pub const ROW_PAD: usize = 8;

/// Columns of headroom on each side of a filtered row buffer: the widest
/// filter reaches 8 columns out, and SIMD loads may run a little further.
pub const COL_PAD: usize = 32;

/// The neural noise variance, 2.0 in units of 1/65536.
pub const SIGMA_NSQ: i32 = 2 << 16;

/// libvmaf's small constant added to the denominator of the gain.
pub const GAIN_EPS: f64 = 65536.0 * 1.0e-10;

pub static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool("debug", false, "debug mode: enable additional output"),
    OptionSpec::double(
        "vif_enhn_gain_limit",
        100.0,
        1.0,
        100.0,
        "enhancement gain imposed on vif, must be >= 1.0, where 1.0 means the gain is completely disabled",
    )
    .param("egl"),
    OptionSpec::bool("vif_skip_scale0", false, "when set, skip scale 0 calculations").param("ssclz"),
];

const SCALE_NAMES: [&str; 4] = [
    "VMAF_integer_feature_vif_scale0_score",
    "VMAF_integer_feature_vif_scale1_score",
    "VMAF_integer_feature_vif_scale2_score",
    "VMAF_integer_feature_vif_scale3_score",
];

/// Written only with `debug`, in this order after the four scale scores.
const DEBUG_NAMES: [&str; 11] = [
    "integer_vif",
    "integer_vif_num",
    "integer_vif_den",
    "integer_vif_num_scale0",
    "integer_vif_den_scale0",
    "integer_vif_num_scale1",
    "integer_vif_den_scale1",
    "integer_vif_num_scale2",
    "integer_vif_den_scale2",
    "integer_vif_num_scale3",
    "integer_vif_den_scale3",
];

/// Every feature the extractor can write (the debug ones only with `debug`).
pub const PROVIDED_FEATURES: &[&str] = &[
    SCALE_NAMES[0],
    SCALE_NAMES[1],
    SCALE_NAMES[2],
    SCALE_NAMES[3],
    DEBUG_NAMES[0],
    DEBUG_NAMES[1],
    DEBUG_NAMES[2],
    DEBUG_NAMES[3],
    DEBUG_NAMES[4],
    DEBUG_NAMES[5],
    DEBUG_NAMES[6],
    DEBUG_NAMES[7],
    DEBUG_NAMES[8],
    DEBUG_NAMES[9],
    DEBUG_NAMES[10],
];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "vif",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: PROVIDED_FEATURES,
    options: OPTIONS,
    temporal: false,
    create,
    help: "fixed-point visual information fidelity at four scales (integer_vif_scale0..3)",
};

/// The integer sums of one scale, exactly as libvmaf accumulates them.
/// Every term is an integer, so any backend that adds the same terms in
/// any order gets the same sums (the CUDA port relies on this).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    /// Sum of log2 gains (fixed point, 1/2048) where the reference varies.
    pub num_log: i64,
    /// Sum of log2(1 + sigma1_sq / sigma_nsq) (1/2048) there.
    pub den_log: i64,
    /// Sum of the distorted variance where the reference is flat.
    pub num_non_log: i64,
    /// Number of flat reference pixels.
    pub den_non_log: i64,
}

impl Sums {
    /// The scale's numerator and denominator, rounded to `float` as libvmaf
    /// stores them.
    pub fn num_den(&self) -> (f32, f32) {
        let num =
            self.num_log as f64 / 2048.0 + (self.den_non_log as f64 - (self.num_non_log as f64 / 16384.0) / 65025.0);
        let den = self.den_log as f64 / 2048.0 + self.den_non_log as f64;
        (num as f32, den as f32)
    }
}

/// libvmaf's log2 table: `round(log2(i) * 2048)` for `i` in 32768..65536,
/// with `log2` evaluated in single precision, indexed by `i - 32768`. The
/// table is padded with zeros to 65536 entries so that every 16-bit index
/// is in bounds (SIMD lanes that take no log look up index 32768, a zero).
pub struct Log2Table {
    table: Box<[u16; 65536]>,
    /// The used half of `table` in blocks of 8 entries, for vector lookups
    /// that must stay in the first-level cache: the entry of the block's
    /// first index in the low 16 bits, and in the high 16 bits the offset
    /// inside the block from which entries are one more (8: none are).
    /// Entries rise by at most one per 8 indices (the slope of
    /// 2048·log2(x) is below 0.1 per index here), checked when built.
    blocks: Box<[u32; 4096]>,
}

impl Default for Log2Table {
    fn default() -> Self {
        Self::new()
    }
}

impl Log2Table {
    pub fn new() -> Self {
        let mut t = Box::new([0u16; 65536]);
        for (k, e) in t.iter_mut().take(32768).enumerate() {
            let i = (k + 32768) as f64;
            // log2 in double, then rounded to float, equals libm's log2f on
            // this range (checked by a test): the table is defined by the
            // float value, whose *2048 is exact.
            let l = (i.log2() as f32) * 2048.0;
            *e = l.round() as u16;
        }
        let mut blocks = Box::new([0u32; 4096]);
        for (b, e) in blocks.iter_mut().enumerate() {
            let block = &t[8 * b..8 * b + 8];
            let step = block.iter().position(|&v| v != block[0]).unwrap_or(8);
            assert!(block.iter().all(|&v| v - block[0] == u16::from(v != block[0])), "log2 block {b} rises twice");
            *e = u32::from(block[0]) | (step as u32) << 16;
        }
        Log2Table { table: t, blocks }
    }

    #[inline]
    pub fn data(&self) -> &[u16; 65536] {
        &self.table
    }

    /// The block form of the table's used half (see the field).
    #[inline]
    pub fn blocks(&self) -> &[u32; 4096] {
        &self.blocks
    }

    /// The entry at a 16-bit index (higher bits are ignored).
    #[inline]
    pub fn entry(&self, i: u32) -> i64 {
        self.table[i as u16 as usize] as i64
    }

    /// Fixed-point log2 of a value of at least 2^16: the top 16 bits index
    /// the table, the shift adds whole octaves.
    #[inline]
    pub fn log2(&self, x: u64) -> i32 {
        debug_assert!(x >= 1 << 16);
        let k = 63 - x.leading_zeros() as i32 - 15;
        self.table[((x >> k) - 32768) as usize] as i32 + 2048 * k
    }
}

/// Which real row or column each mirrored position reads: libvmaf pads its
/// buffers in place, copying position `f` to `-f` and `n-1-f` to `n-1+f`
/// for `f = 1..=half` in that order. Replaying those copies on indices
/// gives the same sources as libvmaf whenever libvmaf's result is defined;
/// for `n == 1` libvmaf reads memory it never wrote, and we use the only
/// sample there is.
///
/// Returns the source of every position in `-reach..n+reach` (index
/// `p + reach`); positions beyond `half` (which libvmaf never reads) are
/// clamped.
fn mirror_sources(n: usize, half: usize, reach: usize) -> Vec<usize> {
    debug_assert!(half <= reach);
    if n == 0 {
        return vec![0; 2 * reach];
    }
    let off = reach as isize;
    let mut src: Vec<Option<usize>> = (0..n + 2 * reach)
        .map(|i| {
            let p = i as isize - off;
            (0..n as isize).contains(&p).then_some(p as usize)
        })
        .collect();
    let at = |p: isize| (p + off) as usize;
    let last = n as isize - 1;
    for f in 1..=half as isize {
        src[at(-f)] = src[at(f)];
        src[at(last + f)] = src[at(last - f)];
    }
    src.iter().enumerate().map(|(i, s)| s.unwrap_or_else(|| (i as isize - off).clamp(0, last) as usize)).collect()
}

/// Mirrored columns of one filtered row: the sources of columns
/// `-1, -2, ..` (`left`) and `n, n+1, ..` (`right`).
#[derive(Clone, Debug, Default)]
pub struct Edge {
    pub left: Vec<usize>,
    pub right: Vec<usize>,
}

impl Edge {
    fn new(n: usize, half: usize) -> Self {
        if n == 0 {
            return Edge::default();
        }
        let s = mirror_sources(n, half, half);
        Edge { left: (1..=half).map(|f| s[half - f]).collect(), right: (0..half).map(|f| s[half + n + f]).collect() }
    }

    /// Fills the mirrored columns of `row`, whose column 0 is at `COL_PAD`.
    #[inline]
    pub fn apply<T: Copy>(&self, row: &mut [T], n: usize) {
        for (f, &s) in self.left.iter().enumerate() {
            row[COL_PAD - 1 - f] = row[COL_PAD + s];
        }
        for (f, &s) in self.right.iter().enumerate() {
            row[COL_PAD + n + f] = row[COL_PAD + s];
        }
    }
}

/// Size and edge handling of one scale.
#[derive(Clone, Debug)]
pub struct ScaleGeom {
    pub w: usize,
    pub h: usize,
    /// Source row of virtual row `v` (in `-ROW_PAD..h+ROW_PAD`) at `v + ROW_PAD`.
    pub rows: Vec<usize>,
    /// Column mirror for this scale's statistic filter.
    pub stat_edge: Edge,
    /// Column mirror for the filter that makes the next scale.
    pub sub_edge: Edge,
}

impl ScaleGeom {
    /// Scale `scale` (0..4) of a `w` x `h` luma plane, whose size there is
    /// `(w >> scale, h >> scale)`.
    pub fn new(scale: usize, w: usize, h: usize) -> Self {
        let sub_half = if scale < 3 { FILTERS[scale + 1].len() / 2 } else { 0 };
        ScaleGeom {
            w,
            h,
            rows: mirror_sources(h, ROW_MIRROR[scale], ROW_PAD),
            stat_edge: Edge::new(w, FILTERS[scale].len() / 2),
            sub_edge: Edge::new(w, sub_half),
        }
    }

    /// Source rows of the taps of a filter of half width `half` centred on
    /// output row `i`.
    #[inline]
    pub fn tap_rows(&self, i: usize, half: usize) -> &[usize] {
        &self.rows[i + ROW_PAD - half..=i + ROW_PAD + half]
    }
}

/// Rounding shifts of one filtering step: the vertical pass of the means
/// (`mu`) and of the second moments (`sq`); horizontal passes always shift
/// by 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shifts {
    pub mu: u32,
    pub sq: u32,
}

impl Shifts {
    /// Scale 0 normalises to 8-bit-equivalent values; later scales hold
    /// 16-bit fixed point.
    pub fn for_scale(scale: usize, bpc: u32) -> Self {
        if scale == 0 {
            Shifts { mu: bpc, sq: 2 * (bpc - 8) }
        } else {
            Shifts { mu: 16, sq: 16 }
        }
    }
    #[inline]
    pub fn mu_round(&self) -> u32 {
        (1 << self.mu) >> 1
    }
    #[inline]
    pub fn sq_round(&self) -> u64 {
        (1u64 << self.sq) >> 1
    }
}

/// One picture of a scale, as the kernels read it.
#[derive(Clone, Copy)]
pub(crate) struct Image<'a, T> {
    pub data: &'a [T],
    pub stride: usize,
}

/// Parameters shared by every statistic call.
pub(crate) struct StatParams<'a> {
    pub log2: &'a Log2Table,
    pub gain_limit: f64,
}

/// Per-pixel statistic of libvmaf's fixed-point VIF, given the local
/// variances and covariance (in 1/65536 units of 8-bit samples squared).
/// The SIMD kernels use it for their last few columns.
#[inline]
pub(crate) fn pixel_statistic(s1: i32, s2: i32, s12: i32, p: &StatParams<'_>, sums: &mut Sums) {
    if s1 >= SIGMA_NSQ {
        // log2(1 + s1/2) = log2(2^17 + s1) - 17, in 1/2048 units.
        sums.den_log += (p.log2.log2((SIGMA_NSQ as u32).wrapping_add(s1 as u32) as u64) - 2048 * 17) as i64;
        if s12 > 0 && s2 > 0 {
            // The gain and the residual noise variance, in double precision
            // exactly as libvmaf computes them (no fused multiply-add).
            let g = s12 as f64 / (s1 as f64 + GAIN_EPS);
            // Truncation toward zero; only a large negative value can fall
            // outside i32, and it is clamped to 0 either way.
            let sv_sq = ((s2 as f64 - g * s12 as f64) as i32).max(0) as u32;
            let g = if g < p.gain_limit { g } else { p.gain_limit };
            let numer1 = sv_sq + SIGMA_NSQ as u32;
            let numer1_tmp = (g * g * s1 as f64) as i64 + numer1 as i64;
            // log2(1 + g^2 s1 / (sv_sq + 2)) as a difference of two logs.
            sums.num_log += (p.log2.log2(numer1_tmp as u64) - p.log2.log2(numer1 as u64)) as i64;
        }
    } else {
        sums.num_non_log += s2 as i64;
        sums.den_non_log += 1;
    }
}

/// The implementation chosen at creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernels {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// Everything a frame needs besides the pictures; sized in [`create`].
pub(crate) struct Work {
    kernels: Kernels,
    pub scales: [ScaleGeom; 4],
    pub log2: Log2Table,
    pub gain_limit: f64,
    pub bpc: u32,
    /// Reference and distorted pictures of scales 1..3.
    images: [[Vec<u16>; 2]; 3],
    scalar: scalar::Buffers,
    #[cfg(target_arch = "x86_64")]
    pub(crate) simd: x86::Buffers,
}

impl Work {
    pub fn new(w: usize, h: usize, bpc: u32, gain_limit: f64, level: CpuLevel) -> Self {
        let kernels = match level {
            // The level is the caller's choice; the hardware check keeps a
            // forced level from running instructions this CPU lacks.
            #[cfg(target_arch = "x86_64")]
            CpuLevel::Avx512 if avx512::available() => Kernels::Avx512,
            #[cfg(target_arch = "x86_64")]
            CpuLevel::Avx2 | CpuLevel::Avx512 if x86::available() => Kernels::Avx2,
            _ => Kernels::Scalar,
        };
        let dims: [(usize, usize); 4] = std::array::from_fn(|s| (w >> s, h >> s));
        let scales = std::array::from_fn(|s| ScaleGeom::new(s, dims[s].0, dims[s].1));
        let images = std::array::from_fn(|s| {
            let (w, h) = dims[s + 1];
            [vec![0u16; w * h], vec![0u16; w * h]]
        });
        Work {
            kernels,
            scales,
            log2: Log2Table::new(),
            gain_limit,
            bpc,
            images,
            scalar: if kernels == Kernels::Scalar { scalar::Buffers::new(w) } else { scalar::Buffers::new(0) },
            #[cfg(target_arch = "x86_64")]
            simd: if kernels == Kernels::Scalar { x86::Buffers::new(0) } else { x86::Buffers::new(w) },
        }
    }

    /// The four scales' sums for one pair of luma planes; scale 0 is left
    /// at zero when `skip_scale0`.
    #[allow(clippy::needless_range_loop)]
    pub fn compute<T: Pixel>(&mut self, r: &Plane<T>, d: &Plane<T>, skip_scale0: bool) -> [Sums; 4] {
        let mut sums = [Sums::default(); 4];
        let r0 = Image { data: r.data(), stride: r.stride() };
        let d0 = Image { data: d.data(), stride: d.stride() };
        if !skip_scale0 {
            sums[0] = self.statistic(0, r0, d0);
        }
        self.subsample(0, r0, d0);
        for s in 1..4 {
            let w = self.scales[s].w;
            let [ri, di] = std::mem::take(&mut self.images[s - 1]);
            let (rs, ds) = (Image { data: &ri[..], stride: w }, Image { data: &di[..], stride: w });
            sums[s] = self.statistic(s, rs, ds);
            if s < 3 {
                self.subsample(s, rs, ds);
            }
            self.images[s - 1] = [ri, di];
        }
        sums
    }

    fn statistic<T: Pixel>(&mut self, scale: usize, r: Image<'_, T>, d: Image<'_, T>) -> Sums {
        let shifts = Shifts::for_scale(scale, self.bpc);
        let params = StatParams { log2: &self.log2, gain_limit: self.gain_limit };
        let g = &self.scales[scale];
        match self.kernels {
            Kernels::Scalar => scalar::statistic(scale, g, r, d, shifts, &params, &mut self.scalar),
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => x86::statistic(scale, g, r, d, shifts, &params, &mut self.simd, false),
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx512 => x86::statistic(scale, g, r, d, shifts, &params, &mut self.simd, true),
        }
    }

    /// Filters scale `scale` with the next scale's filter and decimates it
    /// into the next scale's images.
    fn subsample<T: Pixel>(&mut self, scale: usize, r: Image<'_, T>, d: Image<'_, T>) {
        let shift = Shifts::for_scale(scale, self.bpc).mu;
        let g = &self.scales[scale];
        let [ro, do_] = &mut self.images[scale];
        match self.kernels {
            Kernels::Scalar => scalar::subsample(scale, g, r, d, shift, ro, do_, &mut self.scalar),
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => x86::subsample(scale, g, r, d, shift, ro, do_, &mut self.simd, false),
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx512 => x86::subsample(scale, g, r, d, shift, ro, do_, &mut self.simd, true),
        }
    }
}

/// The host half of the extractor, shared by every backend: feature
/// names from the options, and the scores of a frame from its four
/// scales' integer [`Sums`] (the `f32` ratios and the `f64` debug totals,
/// in libvmaf's order). Backends differ only in how they get the sums.
pub struct VifHost {
    names: Vec<String>,
    debug: bool,
    skip_scale0: bool,
    gain_limit: f64,
    /// (num, den) per scale of the last recorded frame.
    last: Option<(u32, [(f32, f32); 4])>,
}

impl VifHost {
    /// The host state for `options` parsed against [`OPTIONS`].
    pub fn new(o: &Options) -> Self {
        let debug = o.bool("debug");
        let names =
            SCALE_NAMES.iter().chain(if debug { &DEBUG_NAMES[..] } else { &[] }).map(|n| o.feature_name(n)).collect();
        VifHost {
            names,
            debug,
            skip_scale0: o.bool("vif_skip_scale0"),
            gain_limit: o.double("vif_enhn_gain_limit"),
            last: None,
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether scale 0's statistic is skipped (its sums are then ignored).
    pub fn skip_scale0(&self) -> bool {
        self.skip_scale0
    }

    /// The enhancement gain limit (`vif_enhn_gain_limit`).
    pub fn gain_limit(&self) -> f64 {
        self.gain_limit
    }

    /// Keeps frame `index`'s sums for [`Self::collect`].
    pub fn record(&mut self, index: u32, sums: &[Sums; 4]) {
        self.last = Some((index, sums.map(|s| s.num_den())));
    }

    /// Writes the scores of the recorded frame (nothing if none).
    pub fn collect(&mut self, index: u32, sink: &mut FeatureSink) {
        let Some((i, nd)) = self.last.take() else { return };
        debug_assert_eq!(i, index);
        for (s, &(num, den)) in nd.iter().enumerate() {
            // The ratio is taken in float, as libvmaf does.
            let score = if s == 0 && self.skip_scale0 { 0.0 } else { num / den };
            sink.put(s, i, score as f64);
        }
        if !self.debug {
            return;
        }
        let first = if self.skip_scale0 { 1 } else { 0 };
        let score_num: f64 = nd[first..].iter().map(|x| x.0 as f64).sum();
        let score_den: f64 = nd[first..].iter().map(|x| x.1 as f64).sum();
        let score = if score_den == 0.0 { 1.0 } else { score_num / score_den };
        sink.put(4, i, score);
        sink.put(5, i, score_num);
        sink.put(6, i, score_den);
        for (s, &(num, den)) in nd.iter().enumerate() {
            let (num, den) = if s == 0 && self.skip_scale0 { (0.0, -1.0) } else { (num as f64, den as f64) };
            sink.put(7 + 2 * s, i, num);
            sink.put(8 + 2 * s, i, den);
        }
    }
}

/// The four scales' sums of one pair of luma planes by the scalar
/// reference kernels (scale 0 left at zero when `skip_scale0`): what any
/// other backend's sums must equal. Allocates its buffers on each call;
/// for tests and device checks that report where a mismatch starts.
pub fn reference_sums<T: Pixel>(r: &Plane<T>, d: &Plane<T>, bpc: u32, gain_limit: f64, skip_scale0: bool) -> [Sums; 4] {
    Work::new(r.width(), r.height(), bpc, gain_limit, CpuLevel::Scalar).compute(r, d, skip_scale0)
}

struct IntegerVif {
    host: VifHost,
    work: Work,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let g = args.geometry;
    let host = VifHost::new(args.options);
    let work = Work::new(g.width as usize, g.height as usize, g.bit_depth as u32, host.gain_limit(), args.cpu_level);
    Ok(Box::new(IntegerVif { host, work }))
}

impl Extractor for IntegerVif {
    fn feature_names(&self) -> &[String] {
        self.host.names()
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let skip = self.host.skip_scale0();
        let sums = match (frame.reference.data(), frame.distorted.data()) {
            (PictureData::U8(r), PictureData::U8(d)) => self.work.compute(&r[0], &d[0], skip),
            (PictureData::U16(r), PictureData::U16(d)) => self.work.compute(&r[0], &d[0], skip),
            _ => return Err(Error::Mismatch("reference and distorted pictures have different sample types".into())),
        };
        self.host.record(frame.index, &sums);
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        self.host.collect(index, sink);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
