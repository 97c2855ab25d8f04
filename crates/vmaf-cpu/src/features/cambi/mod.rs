//! `cambi`: libvmaf's banding detector (Contrast Aware Multiscale Banding
//! Index), a no-reference score of the distorted luma, with an optional
//! full-reference mode that also scores the reference and reports how much
//! banding the distortion added.
//!
//! Per picture:
//! 1. luma is converted to 10 bits at the encode resolution (nearest
//!    neighbour) and, for content encoded below 10 bits, averaged over 2x2
//!    to undo dithering;
//! 2. a spatial mask keeps the pixels of flat regions (most of their 7x7
//!    neighbourhood equal to its right and lower neighbours);
//! 3. at five scales (halving each time; with the high-resolution speed-up
//!    the first scale is already halved), after a 3x3 mode filter, each
//!    masked pixel gets a contrast value from the counts, in a window around
//!    it, of its own value and of values 1..=2^max_log_contrast codes away,
//!    for the steps that are visible at its luminance (`luminance.rs`);
//! 4. each scale's map is pooled as the mean of its top `topk` fraction, and
//!    the scales are combined with weights 16, 8, 4, 2, 1 and normalised by
//!    the window area.
//!
//! The arithmetic follows libvmaf 3.2.0 exactly (integer histograms, the
//! same f32 products and reciprocal table), except that pooled sums are
//! exact instead of f64 sums in quickselect order: the same at the printed
//! precision. Heat maps (`heatmaps_path`) are written in libvmaf's format.
//! Where libvmaf reads past the current scale (a window wider or taller
//! than a very narrow or short plane) we read the same stale buffer
//! contents. Where it writes out of bounds or crashes (a plane less than
//! half a window high; a visibility threshold above every counted code) we
//! keep to the part it computes before that, or give 0.
//!
//! Kernels: `scalar.rs` is the reference, close to libvmaf's loops; `x86.rs`
//! has the AVX2 versions (also used at the AVX-512 level), bit-identical to
//! it and chosen from `CreateArgs::cpu_level`. The driver that walks scales
//! and rows is shared. `luminance.rs` holds the EOTFs and thresholds.
//!
//! Not temporal: every frame is scored on its own (libvmaf flags nothing),
//! so each worker has its own instance and working buffers, all sized in
//! `create`.

mod luminance;
mod scalar;
#[cfg(test)]
mod test_util;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use luminance::Eotf;
use scalar::{Contrast, Kernels, MapBuffers, MaskScratch, Planes, Pool};
use vmaf_core::{
    CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, OptionSpec,
    PictureData, Plane, Result,
};

const DEFAULT_TOPK: f64 = 0.6;
const DEFAULT_EOTF: &str = "bt1886";

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::double(
        "cambi_max_val",
        1000.0,
        0.0,
        1000.0,
        "maximum value allowed; larger values will be clipped to this value",
    )
    .param("cmxv"),
    OptionSpec::int("enc_width", 0, 180, 7680, "Encoding width").param("encw"),
    OptionSpec::int("enc_height", 0, 150, 7680, "Encoding height").param("ench"),
    OptionSpec::int("enc_bitdepth", 0, 6, 16, "Encoding bitdepth").param("encbd"),
    OptionSpec::int("src_width", 0, 320, 7680, "Source width. Only used when full_ref=true.").param("srcw"),
    OptionSpec::int("src_height", 0, 200, 4320, "Source height. Only used when full_ref=true.").param("srch"),
    OptionSpec::int("window_size", 65, 15, 127, "Window size to compute CAMBI: 65 corresponds to ~1 degree at 4k")
        .param("ws"),
    OptionSpec::double(
        "topk",
        DEFAULT_TOPK,
        0.0001,
        1.0,
        "Ratio of pixels for the spatial pooling computation, must be 0 < topk <= 1.0",
    )
    .param("topk"),
    OptionSpec::double(
        "cambi_topk",
        DEFAULT_TOPK,
        0.0001,
        1.0,
        "Ratio of pixels for the spatial pooling computation, must be 0 < cambi_topk <= 1.0",
    )
    .param("ctpk"),
    OptionSpec::double(
        "tvi_threshold",
        0.019,
        0.0001,
        1.0,
        "Visibilty threshold for luminance ΔL < tvi_threshold*L_mean",
    )
    .param("tvit"),
    OptionSpec::double(
        "cambi_vis_lum_threshold",
        0.0,
        0.0,
        300.0,
        "Luminance value below which we assume any banding is not visible",
    )
    .param("vlt"),
    OptionSpec::int(
        "max_log_contrast",
        2,
        0,
        5,
        "Maximum contrast in log luma level (2^max_log_contrast) at 10-bits, e.g., 2 is equivalent to 4 luma \
         levels at 10-bit and 1 luma level at 8-bit. From 0 to 5: default 2 is recommended for banding from \
         compression.",
    )
    .param("mlc"),
    OptionSpec::string("heatmaps_path", "", "Path where heatmaps will be dumped."),
    OptionSpec::bool(
        "full_ref",
        false,
        "If true, CAMBI will be run in full-reference mode and will be computed on both the reference and \
         distorted inputs",
    ),
    OptionSpec::string(
        "eotf",
        DEFAULT_EOTF,
        "Determines the EOTF used to compute the visibility thresholds. Possible values: ['bt1886', 'pq']. \
         Default: 'bt1886'",
    )
    .param("eotf"),
    OptionSpec::string(
        "cambi_eotf",
        DEFAULT_EOTF,
        "Determines the EOTF used to compute the visibility thresholds. Possible values: ['bt1886', 'pq']. \
         Default: 'bt1886'. If both eotf and cambi_eotf are set, cambi_eotf takes precedence.",
    )
    .param("ceot"),
    OptionSpec::int(
        "cambi_high_res_speedup",
        0,
        0,
        2160,
        "Speed up the processing by downsampling post spatial mask for resolutions >= 1080p. Min speed-up \
         resolution possible values: [1080, 1440, 2160, 0]. Default: 0 (not applied)Note some loss of accuracy \
         is expected with this speedup.",
    )
    .param("hrs"),
];

const SCORE: &str = "Cambi_feature_cambi_score";
const SOURCE: &str = "cambi_source";
const FULL_REFERENCE: &str = "cambi_full_reference";

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "cambi",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &[SCORE],
    options: OPTIONS,
    temporal: false,
    create,
    help:
        "CAMBI banding index of the distorted luma (optionally also the reference's, full_ref=true)",
};

const NUM_SCALES: usize = 5;
const SCALE_WEIGHTS: [f64; NUM_SCALES] = [16.0, 8.0, 4.0, 2.0, 1.0];
/// Visual response to a contrast of `d + 1` codes.
const CONTRAST_WEIGHTS: [i32; 32] = [
    1, 2, 3, 4, 4, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
];
/// Pictures smaller than this in both dimensions are refused.
const MIN_SIDE: usize = 216;
/// Entries of the reciprocal table: window areas up to 65x65.
const RECIPROCALS: usize = 4226;

/// libvmaf's table of `1/n` for `n` in `0..4226` (`[0]` = 0). Its entries
/// are `1/n` rounded to 9 significant decimal digits and then to f32, which
/// is not always the f32 nearest `1/n`; the contrast values depend on it.
fn reciprocals() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..RECIPROCALS)
            .map(|n| {
                if n == 0 {
                    0.0
                } else {
                    // `{:.8e}` is 9 significant digits, correctly rounded,
                    // and the parse rounds correctly to f32, as a C
                    // compiler reads a float literal.
                    format!("{:.8e}", 1.0 / n as f64).parse().unwrap_or(0.0)
                }
            })
            .collect()
    })
}

/// The instruction-set level the kernels run at.
#[derive(Clone, Copy)]
enum Level {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::Avx2),
}

/// Heat-map output: one file per scale, frame after frame of 16-bit
/// little-endian samples scaled so that the largest possible contrast is
/// 65535.
struct Heatmaps {
    files: Vec<(File, PathBuf)>,
    scale: f64,
    /// The contrast map of the current scale.
    map: Vec<f32>,
    /// Little-endian samples of one scale.
    buf: Vec<u8>,
}

/// Working buffers, sized once for the largest picture scored.
struct Work {
    stride: usize,
    image: Vec<u16>,
    mask: Vec<u8>,
    map: MapBuffers,
    mode_rows: Vec<u16>,
    mask_scratch: MaskScratch,
    pool: Pool,
}

/// What differs between scoring the distorted and the reference picture.
#[derive(Clone, Copy)]
struct Target {
    width: usize,
    height: usize,
    window: usize,
}

struct Cambi {
    names: Vec<String>,
    level: Level,
    bpc: u32,
    enc_bitdepth: u32,
    full_ref: bool,
    high_res_speedup: bool,
    topk: f64,
    max_val: f64,
    dist: Target,
    src: Target,
    contrast: Contrast,
    work: Work,
    heatmaps: Option<Heatmaps>,
    /// Scores of the last submitted frame: (index, distorted, reference).
    last: Option<(u32, f64, f64)>,
}

fn fail(msg: impl Into<String>) -> Error {
    Error::Extractor {
        feature: SPEC.name.into(),
        msg: msg.into(),
    }
}

/// libvmaf's window size for a picture: the option is for 4K (3840+2160),
/// scaled with width + height, halved with the speed-up, made odd.
fn adjust_window(window: usize, w: usize, h: usize, speedup: bool) -> usize {
    let mut ws = ((window * (w + h)) / 375) >> 4;
    if speedup {
        ws = (ws + 1) >> 1;
    }
    ws | 1
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let o = args.options;
    let g = args.geometry;
    let (w, h) = (g.width as usize, g.height as usize);
    let bpc = g.bit_depth as u32;

    let enc_bitdepth = match o.int("enc_bitdepth") {
        0 => bpc,
        b => b as u32,
    };
    let mut enc = (o.int("enc_width") as usize, o.int("enc_height") as usize);
    if enc.0 == 0 || enc.1 == 0 {
        enc = (w, h);
    }
    let mut src = (o.int("src_width") as usize, o.int("src_height") as usize);
    if src.0 == 0 || src.1 == 0 {
        src = (w, h);
    }
    // An encode downscaled from the input is not scaled back up.
    if enc.0 > w || enc.1 > h {
        enc = (w, h);
    }
    if enc.0 < MIN_SIDE && enc.1 < MIN_SIDE {
        return Err(fail(format!(
            "encode size {}x{} is too small: one side must be at least {MIN_SIDE}",
            enc.0, enc.1
        )));
    }
    if src.0 < MIN_SIDE && src.1 < MIN_SIDE {
        return Err(fail(format!(
            "source size {}x{} is too small: one side must be at least {MIN_SIDE}",
            src.0, src.1
        )));
    }
    if (src.0 > enc.0 && src.1 < enc.1) || (src.0 < enc.0 && src.1 > enc.1) {
        return Err(fail(format!(
            "source size {}x{} and encode size {}x{} are not ordered (one wider, the other taller)",
            src.0, src.1, enc.0, enc.1
        )));
    }
    let enc_pixels = enc.0 * enc.1;
    let high_res_speedup = match o.int("cambi_high_res_speedup") {
        1080 => enc_pixels >= 1920 * 1080,
        1440 => enc_pixels >= 2560 * 1440,
        2160 => enc_pixels >= 3840 * 2160,
        _ => false,
    };
    let full_ref = o.bool("full_ref");
    let alloc = if full_ref {
        (src.0.max(enc.0), src.1.max(enc.1))
    } else {
        enc
    };

    let num_diffs = 1usize << o.int("max_log_contrast");
    let eotf_name = match o.str("cambi_eotf") {
        DEFAULT_EOTF => o.str("eotf"),
        other => other,
    };
    let eotf = Eotf::parse(eotf_name)
        .ok_or_else(|| fail(format!("unknown EOTF \"{eotf_name}\" (known: bt1886, pq)")))?;
    let tvi_threshold = o.double("tvi_threshold");
    let mut tvi = [0u16; 32];
    let mut weights = [0i32; 32];
    for d in 0..num_diffs {
        tvi[d] =
            (luminance::tvi_for_diff(eotf, d as i32 + 1, tvi_threshold) + num_diffs as i32) as u16;
        weights[d] = CONTRAST_WEIGHTS[d];
    }
    let vlt =
        luminance::vis_lum_code(eotf, o.double("cambi_vis_lum_threshold")).ok_or_else(|| {
            fail(
                "cambi_vis_lum_threshold is above the luminance of every code of the nominal range",
            )
        })?;
    let band_base = (vlt as i32 - 3 * num_diffs as i32 + 1).max(0) as u16;
    let band_top = tvi[num_diffs - 1] + 1;
    // An empty band (every code too dark) counts nothing.
    let contrast = Contrast::new(
        num_diffs,
        tvi,
        weights,
        vlt,
        band_base,
        band_top.saturating_sub(band_base),
        reciprocals(),
    );

    let window = o.int("window_size") as usize;
    let dist = Target {
        width: enc.0,
        height: enc.1,
        window: adjust_window(window, enc.0, enc.1, high_res_speedup),
    };
    let src_t = Target {
        width: src.0,
        height: src.1,
        window: adjust_window(window, src.0, src.1, high_res_speedup),
    };
    let largest = dist.window.max(src_t.window);
    if largest * largest >= RECIPROCALS {
        return Err(fail(format!(
            "window size {largest} at this resolution is too large (at most 65 after scaling)"
        )));
    }

    let stride = scalar::aligned_stride(alloc.0);
    let work = Work {
        stride,
        image: vec![0; stride * alloc.1],
        mask: vec![0; stride * alloc.1],
        map: MapBuffers::new(&contrast, alloc.0, stride, alloc.1),
        mode_rows: vec![0; 3 * alloc.0],
        mask_scratch: MaskScratch::new(alloc.0),
        pool: Pool::new(alloc.0 * alloc.1),
    };

    let heatmaps = match o.str("heatmaps_path") {
        "" => None,
        dir => Some(open_heatmaps(Path::new(dir), enc, dist.window, &contrast)?),
    };

    let level = match args.cpu_level {
        CpuLevel::Scalar => Level::Scalar,
        #[cfg(target_arch = "x86_64")]
        _ => x86::Avx2::new().map_or(Level::Scalar, Level::Avx2),
        #[cfg(not(target_arch = "x86_64"))]
        _ => Level::Scalar,
    };

    let topk = match o.double("topk") {
        t if t != DEFAULT_TOPK => t,
        _ => o.double("cambi_topk"),
    };
    Ok(Box::new(Cambi {
        names: vec![
            o.feature_name(SCORE),
            SOURCE.to_owned(),
            FULL_REFERENCE.to_owned(),
        ],
        level,
        bpc,
        enc_bitdepth,
        full_ref,
        high_res_speedup,
        topk,
        max_val: o.double("cambi_max_val"),
        dist,
        src: src_t,
        contrast,
        work,
        heatmaps,
        last: None,
    }))
}

/// Creates the heat-map directory and one file per scale, named after the
/// scale and its size (the size halving from the encode size, as libvmaf
/// names them also when the speed-up halves the first scale).
fn open_heatmaps(dir: &Path, enc: (usize, usize), window: usize, k: &Contrast) -> Result<Heatmaps> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o770);
    builder.create(dir).map_err(|e| Error::io(dir, e))?;
    let (mut w, mut h) = enc;
    let mut files = Vec::with_capacity(NUM_SCALES);
    for scale in 0..NUM_SCALES {
        let path = dir.join(format!("cambi_heatmap_scale_{scale}_{w}x{h}_16b.gray"));
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        files.push((file, path));
        w = (w + 1) >> 1;
        h = (h + 1) >> 1;
    }
    let max_weight = k.weights[..k.num_diffs].iter().copied().max().unwrap_or(1);
    let max_c = max_weight * (window * window) as i32 / 4;
    let n = enc.0 * enc.1;
    Ok(Heatmaps {
        files,
        scale: 65535.0 / max_c as f64,
        map: vec![0.0; n],
        buf: vec![0; 2 * n],
    })
}

impl Heatmaps {
    /// Writes the contrast map of one scale of frame `index` (in `map`).
    fn write(&mut self, scale: usize, index: u32, w: usize, h: usize) -> Result<()> {
        let n = w * h;
        for (o, &v) in self.buf[..2 * n].chunks_exact_mut(2).zip(&self.map) {
            // C's conversion to uint16_t on x86: through int, keeping the
            // low 16 bits (values can pass 65535 by a hair).
            let s = (self.scale * v as f64) as i32 as u16;
            o.copy_from_slice(&s.to_le_bytes());
        }
        let (file, path) = &mut self.files[scale];
        let io = |e| Error::io(&*path, e);
        file.seek(SeekFrom::Start(index as u64 * n as u64 * 2))
            .map_err(io)?;
        file.write_all(&self.buf[..2 * n])
            .map_err(|e| Error::io(&*path, e))
    }
}

/// The luma plane of a picture, by sample type.
enum Luma<'a> {
    U8(&'a Plane<u8>),
    U16(&'a Plane<u16>),
}

fn luma(p: &vmaf_core::Picture) -> Luma<'_> {
    match p.data() {
        PictureData::U8(planes) => Luma::U8(&planes[0]),
        PictureData::U16(planes) => Luma::U16(&planes[0]),
    }
}

impl Cambi {
    /// The CAMBI score of one picture; heat maps are written for frame
    /// `heatmap_frame` when given.
    fn score(&mut self, plane: Luma<'_>, t: Target, heatmap_frame: Option<u32>) -> Result<f64> {
        match self.level {
            Level::Scalar => self.score_with(&scalar::Scalar, plane, t, heatmap_frame),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2(k) => self.score_with(&k, plane, t, heatmap_frame),
        }
    }

    fn score_with<K: Kernels>(
        &mut self,
        kern: &K,
        plane: Luma<'_>,
        t: Target,
        heatmap_frame: Option<u32>,
    ) -> Result<f64> {
        let wk = &mut self.work;
        let stride = wk.stride;
        let (mut w, mut h) = (t.width, t.height);
        match plane {
            Luma::U8(p) => kern.load_u8(p, self.bpc, &mut wk.image, stride, w, h)?,
            Luma::U16(p) => kern.load_u16(p, self.bpc, &mut wk.image, stride, w, h)?,
        }
        if self.enc_bitdepth < 10 {
            kern.anti_dither(&mut wk.image, stride, w, h);
        }
        let threshold = scalar::mask_threshold(w, h);
        kern.spatial_mask(
            &wk.image,
            &mut wk.mask,
            stride,
            w,
            h,
            threshold,
            &mut wk.mask_scratch,
        );
        let mut heat = heatmap_frame.and(self.heatmaps.as_mut());
        let mut scores = [0.0; NUM_SCALES];
        for (scale, score) in scores.iter_mut().enumerate() {
            if scale > 0 || self.high_res_speedup {
                w = (w + 1) >> 1;
                h = (h + 1) >> 1;
                kern.decimate_u16(&mut wk.image, stride, w, h);
                kern.decimate_u8(&mut wk.mask, stride, w, h);
            }
            kern.filter_mode(&mut wk.image, stride, w, h, &mut wk.mode_rows);
            let planes = Planes {
                img: &wk.image,
                mask: &wk.mask,
                stride,
                w,
                h,
                codes: &[],
            };
            let dense = heat.as_deref_mut().map(|hm| &mut hm.map[..]);
            scalar::contrast_map(
                kern,
                &planes,
                t.window,
                &self.contrast,
                &mut wk.map,
                &mut wk.pool,
                dense,
            );
            if let (Some(frame), Some(hm)) = (heatmap_frame, heat.as_deref_mut()) {
                hm.write(scale, frame, w, h)?;
            }
            *score = wk.pool.top_k_mean(w * h, self.topk);
        }
        let mut total = 0.0;
        for (s, wt) in scores.iter().zip(SCALE_WEIGHTS) {
            total += s * wt;
        }
        Ok(total / (t.window * t.window) as f64)
    }
}

/// C's `MIN(a, b)`: `b` unless `a < b`.
fn c_min(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

impl Extractor for Cambi {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let dist = self.score(luma(frame.distorted), self.dist, Some(frame.index))?;
        let src = if self.full_ref {
            self.score(luma(frame.reference), self.src, None)?
        } else {
            0.0
        };
        self.last = Some((frame.index, dist, src));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        if let Some((i, dist, src)) = self.last.take() {
            debug_assert_eq!(i, index);
            sink.put(0, i, c_min(dist, self.max_val));
            if self.full_ref {
                sink.put(1, i, c_min(src, self.max_val));
                let added = dist - src;
                sink.put(
                    2,
                    i,
                    c_min(if added > 0.0 { added } else { 0.0 }, self.max_val),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_util::Rng;
    use vmaf_core::{ChromaSampling, Geometry, Options, Picture};

    fn options(opts: &[(&str, &str)]) -> Options {
        Options::parse("cambi", OPTIONS, opts.iter().copied()).unwrap()
    }

    fn make(g: Geometry, opts: &[(&str, &str)], level: CpuLevel) -> Result<Box<dyn Extractor>> {
        create(&CreateArgs {
            options: &options(opts),
            geometry: g,
            cpu_level: level, device: None })
    }

    /// A banded picture: a slow diagonal ramp quantised to a few levels,
    /// flat patches, and noise in part of it, moved by `t`.
    fn picture(g: Geometry, rng: &mut Rng, t: usize) -> Picture {
        let mut p = Picture::new(g);
        let max = (1u32 << g.bit_depth) - 1;
        let (w, h) = (g.width as usize, g.height as usize);
        let sample = |rng: &mut Rng, x: usize, y: usize| -> u32 {
            let ramp = ((x + 2 * y + 3 * t) * 40 / (w + 2 * h)) as u32 + 20;
            let mut v = ramp << (g.bit_depth - 8);
            if (x / 40 + y / 30) & 3 == 0 {
                v += rng.below(3 << (g.bit_depth - 8)) as u32;
            }
            v.min(max)
        };
        match p.data_mut() {
            PictureData::U8(planes) => {
                for y in 0..h {
                    for (x, s) in planes[0].row_mut(y).iter_mut().enumerate() {
                        *s = sample(rng, x, y) as u8;
                    }
                }
            }
            PictureData::U16(planes) => {
                for y in 0..h {
                    for (x, s) in planes[0].row_mut(y).iter_mut().enumerate() {
                        *s = sample(rng, x, y) as u16;
                    }
                }
            }
        }
        p
    }

    /// Every value the extractor writes for `frames` frames, by name.
    fn run(ex: &mut dyn Extractor, frames: &[(Picture, Picture)]) -> Vec<(String, f64)> {
        let mut sink = FeatureSink::new();
        let mut out = Vec::new();
        for (i, (r, d)) in frames.iter().enumerate() {
            ex.submit(&FramePair {
                reference: r,
                distorted: d,
                index: i as u32,
            })
            .unwrap();
            ex.collect(i as u32, &mut sink).unwrap();
            out.extend(
                sink.entries()
                    .iter()
                    .map(|e| (ex.feature_names()[e.slot as usize].clone(), e.value)),
            );
            sink.clear();
        }
        out
    }

    #[test]
    fn names_follow_libvmaf() {
        let g = Geometry::new(576, 324, ChromaSampling::Cs420, 8).unwrap();
        let name = |opts: &[(&str, &str)]| {
            make(g, opts, CpuLevel::Scalar).unwrap().feature_names()[0].clone()
        };
        assert_eq!(vmaf_core::alias::alias(&name(&[])), "cambi");
        // The v1.0.16 models' option set, as libvmaf prints it.
        assert_eq!(
            name(&[
                ("cambi_high_res_speedup", "1080"),
                ("cambi_vis_lum_threshold", "0.06"),
                ("cambi_max_val", "17.0")
            ]),
            "cambi_hrs_1080_cmxv_17_vlt_0.06"
        );
        assert_eq!(
            name(&[("topk", "0.5"), ("eotf", "pq")]),
            "cambi_eotf_pq_topk_0.5"
        );
        assert_eq!(
            name(&[("cambi_topk", "0.5"), ("cambi_eotf", "pq")]),
            "cambi_ceot_pq_ctpk_0.5"
        );
        assert_eq!(
            name(&[("window_size", "33"), ("max_log_contrast", "3")]),
            "cambi_mlc_3_ws_33"
        );
        assert_eq!(
            name(&[
                ("enc_width", "400"),
                ("enc_height", "240"),
                ("enc_bitdepth", "10")
            ]),
            "cambi_encbd_10_ench_240_encw_400"
        );
        // Options that do not change the numbers' meaning stay out of the name.
        assert_eq!(name(&[("full_ref", "true")]), "Cambi_feature_cambi_score");
        let ex = make(
            g,
            &[("full_ref", "true"), ("tvi_threshold", "0.1")],
            CpuLevel::Scalar,
        )
        .unwrap();
        assert_eq!(
            ex.feature_names(),
            ["cambi_tvit_0.1", "cambi_source", "cambi_full_reference"]
        );
    }

    #[test]
    fn refuses_what_libvmaf_refuses() {
        let g = |w, h| Geometry::new(w, h, ChromaSampling::Cs420, 8).unwrap();
        let refused = |g, opts: &[(&str, &str)]| {
            matches!(
                make(g, opts, CpuLevel::Scalar),
                Err(Error::Extractor { .. })
            )
        };
        assert!(refused(g(200, 200), &[]));
        assert!(!refused(g(216, 16), &[]));
        assert!(refused(g(576, 324), &[("eotf", "hlg")]));
        assert!(refused(
            g(576, 324),
            &[
                ("full_ref", "true"),
                ("src_width", "640"),
                ("src_height", "200")
            ]
        ));
        // A 127 window at 4K is 127 wide: past the reciprocal table.
        assert!(refused(g(3840, 2160), &[("window_size", "127")]));
        assert!(!refused(g(3840, 2160), &[("window_size", "65")]));
        // Out-of-range option values are refused by the option parser.
        assert!(Options::parse("cambi", OPTIONS, [("enc_width", "100")]).is_err());
        assert!(Options::parse("cambi", OPTIONS, [("max_log_contrast", "6")]).is_err());
    }

    #[test]
    fn window_follows_resolution() {
        assert_eq!(adjust_window(65, 3840, 2160, false), 65);
        assert_eq!(adjust_window(65, 1920, 1080, false), 33);
        assert_eq!(adjust_window(65, 1920, 1080, true), 17);
        assert_eq!(adjust_window(65, 576, 324, false), 9);
        assert_eq!(adjust_window(15, 216, 16, false), 1);
    }

    #[test]
    fn reciprocal_table_is_the_nine_digit_one() {
        let r = reciprocals();
        assert_eq!(r.len(), RECIPROCALS);
        assert_eq!(r[0], 0.0);
        let mut off = 0;
        for (n, &v) in r.iter().enumerate().skip(1) {
            let exact = 1.0 / n as f64;
            // Within one f32 step of 1/n, and within 5e-10 relative of a
            // 9-digit decimal.
            assert!(((v as f64 - exact) / exact).abs() < 1.2e-7, "{n}");
            off += (v != 1.0 / n as f32) as usize;
        }
        // Decimal rounding moves some entries off the f32 nearest 1/n.
        assert!(off > 0);
        assert_ne!(r[82], 1.0 / 82.0f32);
    }

    #[test]
    fn pooling_takes_the_top_k() {
        let mut rng = Rng(9);
        for case in 0..50 {
            let n = 1 + rng.below(3000);
            let mut pool = Pool::new(n);
            let mut all = Vec::new();
            for _ in 0..n {
                // Zeros, small and large contrast values (all multiples of 2^-36).
                let v = match rng.below(3) {
                    0 => 0.0f32,
                    1 => (1 + rng.below(9)) as f32 * reciprocals()[1 + rng.below(4224)],
                    _ => rng.below(20000) as f32 / 16.0,
                };
                if v != 0.0 {
                    pool.push(v);
                }
                all.push(v);
            }
            let topk = [0.0001, 0.1, 0.6, 1.0][case % 4];
            let got = pool.top_k_mean(n, topk);
            all.sort_by(|a, b| b.total_cmp(a));
            let k = ((topk * n as f64) as usize).clamp(1, n);
            let want = all[..k].iter().map(|&v| v as f64).sum::<f64>() / k as f64;
            assert!(
                (got - want).abs() <= 1e-12 * want.max(1.0),
                "case {case}: {got} vs {want}"
            );
        }
    }

    /// Scores of both levels on the same frames, bit for bit.
    fn levels_agree(g: Geometry, opts: &[(&str, &str)], seed: u64) -> Vec<(String, f64)> {
        let mut rng = Rng(seed);
        let frames: Vec<(Picture, Picture)> = (0..2)
            .map(|t| (picture(g, &mut rng, t), picture(g, &mut rng, t + 1)))
            .collect();
        let scalar = run(&mut *make(g, opts, CpuLevel::Scalar).unwrap(), &frames);
        let simd = run(&mut *make(g, opts, CpuLevel::Avx2).unwrap(), &frames);
        let bits = |v: &[(String, f64)]| {
            v.iter()
                .map(|(n, x)| (n.clone(), x.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&scalar), bits(&simd), "{g:?} {opts:?}");
        scalar
    }

    #[test]
    fn levels_agree_at_every_depth_and_odd_size() {
        let mut nonzero = 0;
        for (i, bpc) in [8u8, 10, 12, 16].into_iter().enumerate() {
            for (w, h) in [(233, 219), (240, 135), (300, 17), (17, 300)] {
                for sampling in [ChromaSampling::Cs420, ChromaSampling::Cs444] {
                    let g = Geometry::new(w, h, sampling, bpc).unwrap();
                    let out = levels_agree(g, &[], i as u64 + 1);
                    nonzero += out.iter().filter(|(_, v)| *v > 0.0).count();
                }
            }
        }
        assert!(
            nonzero > 20,
            "the pictures show banding: {nonzero} non-zero scores"
        );
    }

    #[test]
    fn levels_agree_with_every_option() {
        let g = Geometry::new(321, 241, ChromaSampling::Cs420, 10).unwrap();
        let sets: &[&[(&str, &str)]] = &[
            &[("full_ref", "true")],
            &[
                ("full_ref", "true"),
                ("src_width", "400"),
                ("src_height", "300"),
            ],
            &[
                ("enc_width", "250"),
                ("enc_height", "200"),
                ("enc_bitdepth", "8"),
            ],
            &[("max_log_contrast", "5"), ("window_size", "127")],
            &[("max_log_contrast", "0"), ("window_size", "15")],
            &[("topk", "1.0"), ("tvi_threshold", "0.5")],
            &[("cambi_topk", "0.0001"), ("eotf", "pq")],
            &[("cambi_vis_lum_threshold", "5"), ("cambi_max_val", "0.01")],
            &[("cambi_vis_lum_threshold", "200")],
        ];
        for opts in sets {
            levels_agree(g, opts, 4);
        }
        // The speed-up only applies from 1080p.
        let g = Geometry::new(1920, 1080, ChromaSampling::Cs420, 8).unwrap();
        levels_agree(g, &[("cambi_high_res_speedup", "1080")], 5);
    }

    #[test]
    fn full_reference_of_identical_pictures_is_zero() {
        let g = Geometry::new(300, 220, ChromaSampling::Cs444, 8).unwrap();
        let mut rng = Rng(2);
        let p = picture(g, &mut rng, 0);
        let frames = [(p.clone(), p)];
        let out = run(
            &mut *make(g, &[("full_ref", "true")], CpuLevel::Scalar).unwrap(),
            &frames,
        );
        assert_eq!(out.len(), 3);
        assert!(out[0].1 > 0.0);
        assert_eq!(out[1].1, out[0].1);
        assert_eq!(out[2], ("cambi_full_reference".to_owned(), 0.0));
    }

    #[test]
    fn max_val_clips_and_topk_takes_precedence() {
        let g = Geometry::new(300, 220, ChromaSampling::Cs420, 8).unwrap();
        let mut rng = Rng(3);
        let frames = [(picture(g, &mut rng, 0), picture(g, &mut rng, 1))];
        let score = |opts: &[(&str, &str)]| {
            run(&mut *make(g, opts, CpuLevel::Scalar).unwrap(), &frames)[0].1
        };
        let full = score(&[]);
        assert!(full > 0.0);
        assert_eq!(score(&[("cambi_max_val", "0")]), 0.0);
        assert_eq!(score(&[("cambi_max_val", "1000")]), full);
        // A non-default `topk` wins over `cambi_topk`.
        let top = score(&[("topk", "0.1")]);
        assert!(top > full);
        assert_eq!(score(&[("topk", "0.1"), ("cambi_topk", "0.9")]), top);
        assert_eq!(score(&[("cambi_topk", "0.1")]), top);
    }

    #[test]
    fn heat_maps_are_written_per_scale() {
        let g = Geometry::new(250, 230, ChromaSampling::Cs420, 8).unwrap();
        let dir = std::env::temp_dir().join(format!("vmaf-cambi-heatmaps-{}", std::process::id()));
        let mut rng = Rng(6);
        let frames: Vec<_> = (0..3)
            .map(|t| (picture(g, &mut rng, t), picture(g, &mut rng, t)))
            .collect();
        let mut files = Vec::new();
        for (i, level) in [CpuLevel::Scalar, CpuLevel::Avx2].into_iter().enumerate() {
            let sub = dir.join(format!("level{i}/nested"));
            let path = sub.to_str().unwrap().to_owned();
            run(
                &mut *make(g, &[("heatmaps_path", &path)], level).unwrap(),
                &frames,
            );
            let (mut w, mut h) = (250usize, 230usize);
            let mut level_files = Vec::new();
            for scale in 0..NUM_SCALES {
                let f = sub.join(format!("cambi_heatmap_scale_{scale}_{w}x{h}_16b.gray"));
                let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                assert_eq!(bytes.len(), 3 * w * h * 2, "{}", f.display());
                level_files.push(bytes);
                w = w.div_ceil(2);
                h = h.div_ceil(2);
            }
            files.push(level_files);
        }
        assert_eq!(files[0], files[1]);
        assert!(
            files[0][0].iter().any(|&b| b != 0),
            "the maps show contrast"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
