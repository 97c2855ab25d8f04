//! `float_ssim`: libvmaf's floating-point SSIM of the luma plane
//! (`float_ssim` in the output), with its options: the mean luminance,
//! contrast and structure terms (`enable_lcs`: `float_ssim_l`, `_c`, `_s`),
//! the score in dB (`enable_db`, capped with `clip_db`), and the
//! decimation factor (`scale`).
//!
//! Before scoring, libvmaf shrinks pictures whose shorter side is large:
//! by default by `round(min(w, h) / 256)` (so 1080p is scored at a quarter
//! of its size), with a box filter of that size; `scale` sets the factor
//! (1: never). The SSIM code itself (`scalar.rs`, `x86.rs`) is shared with
//! `float_ms_ssim`.
//!
//! libvmaf writes these names as they are: no option ever adds a suffix,
//! so two instances with different options write the same names.

pub(crate) mod scalar;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

use vmaf_core::{
    CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, OptionSpec,
    PictureData, Result,
};

use scalar::{Decimator, Kernels, SsimMap, Want};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool(
        "enable_lcs",
        false,
        "enable luminance, contrast and structure intermediate output",
    ),
    OptionSpec::bool("enable_db", false, "write SSIM values as dB"),
    OptionSpec::bool("clip_db", false, "clip dB scores"),
    OptionSpec::int(
        "scale",
        0,
        0,
        10,
        "decimation scale factor (0=auto, 1=no downscaling, 2-10=explicit)",
    ),
];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "float_ssim",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &["float_ssim"],
    options: OPTIONS,
    temporal: false,
    create,
    help: "SSIM of the luma plane (floating point)",
};

const NAMES: [&str; 4] = ["float_ssim", "float_ssim_l", "float_ssim_c", "float_ssim_s"];

/// The kernels of a CPU level: AVX2 for every level above scalar, when the
/// CPU has it.
pub(crate) fn kernels_for(level: CpuLevel) -> &'static dyn Kernels {
    match level {
        CpuLevel::Scalar => &scalar::Scalar,
        #[cfg(target_arch = "x86_64")]
        _ => match x86::Avx2::detect() {
            Some(k) => k,
            None => &scalar::Scalar,
        },
        #[cfg(not(target_arch = "x86_64"))]
        _ => &scalar::Scalar,
    }
}

/// libvmaf's cap for dB scores: the PSNR of an error of half a code value
/// squared over the whole picture, rounded up; infinite without `clip_db`.
pub(crate) fn max_db(clip: bool, bpc: u8, w: u32, h: u32) -> f64 {
    if !clip {
        return f64::INFINITY;
    }
    // libvmaf multiplies in unsigned int; these cannot overflow for the
    // depths supported, except the pixel count of absurd sizes, which
    // wraps there too.
    let peak = (1u32 << bpc) - 1;
    let mse = 0.5 / w.wrapping_mul(h) as f64;
    (10.0 * (peak.wrapping_mul(peak) as f64 / mse).log10()).ceil()
}

/// libvmaf's conversion of a similarity to dB: `-10 log10(1 - x)`, capped
/// with C's `MIN` (which yields the cap when the value is NaN).
pub(crate) fn to_db(score: f64, max_db: f64) -> f64 {
    let db = -10.0 * (1.0 - score).log10();
    if db < max_db {
        db
    } else {
        max_db
    }
}

/// The IQA library's rounding: half away from zero, on an `f32`.
fn iqa_round(a: f32) -> i32 {
    let t = a as i32;
    if (a - t as f32) as f64 >= 0.5 {
        t + if a > 0.0 { 1 } else { -1 }
    } else {
        t
    }
}

/// The decimation factor libvmaf uses: the option when set, else one step
/// per 256 samples of the shorter side, rounded.
fn decimation_factor(option: i32, w: u32, h: u32) -> usize {
    if option > 0 {
        option as usize
    } else {
        iqa_round(w.min(h) as f32 / 256.0).max(1) as usize
    }
}

/// Converts the luma planes of a frame pair into `r` and `d`.
pub(crate) fn convert_luma(
    frame: &FramePair<'_>,
    w: usize,
    h: usize,
    bpc: u32,
    r: &mut [f32],
    d: &mut [f32],
) -> Result<()> {
    let check = |pw: usize, ph: usize| {
        if (pw, ph) == (w, h) {
            Ok(())
        } else {
            Err(Error::Mismatch(format!(
                "luma plane is {pw}x{ph}, the extractor was made for {w}x{h}"
            )))
        }
    };
    match (frame.reference.data(), frame.distorted.data()) {
        (PictureData::U8(a), PictureData::U8(b)) => {
            check(a[0].width(), a[0].height())?;
            check(b[0].width(), b[0].height())?;
            scalar::convert(&a[0], bpc, r);
            scalar::convert(&b[0], bpc, d);
        }
        (PictureData::U16(a), PictureData::U16(b)) => {
            check(a[0].width(), a[0].height())?;
            check(b[0].width(), b[0].height())?;
            scalar::convert(&a[0], bpc, r);
            scalar::convert(&b[0], bpc, d);
        }
        _ => {
            return Err(Error::Mismatch(
                "reference and distorted pictures have different sample types".into(),
            ))
        }
    }
    Ok(())
}

struct FloatSsim {
    names: Vec<String>,
    kernels: &'static dyn Kernels,
    w: usize,
    h: usize,
    bpc: u32,
    /// Converted luma at full size.
    full: [Vec<f32>; 2],
    /// The decimation and its output, when the factor is above 1.
    decimate: Option<(Decimator, [Vec<f32>; 2])>,
    map: SsimMap,
    enable_lcs: bool,
    enable_db: bool,
    max_db: f64,
    /// Scores of the last submitted frame: ssim, l, c, s.
    last: Option<(u32, [f64; 4])>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let o = args.options;
    let g = args.geometry;
    let (w, h) = (g.width as usize, g.height as usize);
    let f = decimation_factor(o.int("scale"), g.width, g.height);
    let decimate = if f > 1 {
        let d = Decimator::new(w, h, f, Decimator::box_kernel(f), f).map_err(|msg| {
            Error::Extractor {
                feature: SPEC.name.into(),
                msg,
            }
        })?;
        let n = d.out_w * d.out_h;
        Some((d, [vec![0.0; n], vec![0.0; n]]))
    } else {
        None
    };
    let map_w = decimate.as_ref().map_or(w, |(d, _)| d.out_w);
    let enable_lcs = o.bool("enable_lcs");
    let names = NAMES[..if enable_lcs { 4 } else { 1 }]
        .iter()
        .map(|s| s.to_string())
        .collect();
    Ok(Box::new(FloatSsim {
        names,
        kernels: kernels_for(args.cpu_level),
        w,
        h,
        bpc: g.bit_depth as u32,
        full: [vec![0.0; w * h], vec![0.0; w * h]],
        decimate,
        map: SsimMap::new(map_w),
        enable_lcs,
        enable_db: o.bool("enable_db"),
        max_db: max_db(o.bool("clip_db"), g.bit_depth, g.width, g.height),
        last: None,
    }))
}

impl Extractor for FloatSsim {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let [r, d] = &mut self.full;
        convert_luma(frame, self.w, self.h, self.bpc, r, d)?;
        let k = self.kernels;
        let (r, d, w, h) = match &mut self.decimate {
            Some((dec, [rs, ds])) => {
                dec.run(k, &self.full[0], rs);
                dec.run(k, &self.full[1], ds);
                (&rs[..], &ds[..], dec.out_w, dec.out_h)
            }
            None => (&self.full[0][..], &self.full[1][..], self.w, self.h),
        };
        let m = self.map.run(
            k,
            r,
            d,
            w,
            h,
            Want {
                ssim: true,
                lcs: self.enable_lcs,
            },
        );
        let mut score = m.ssim as f64;
        if self.enable_db {
            score = to_db(score, self.max_db);
        }
        self.last = Some((frame.index, [score, m.l as f64, m.c as f64, m.s as f64]));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        if let Some((i, v)) = self.last.take() {
            debug_assert_eq!(i, index);
            for (slot, value) in v.iter().enumerate().take(self.names.len()) {
                sink.put(slot, i, *value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{ChromaSampling, Geometry, Options, Picture};

    pub(crate) fn fill(p: &mut Picture, seed: u32) {
        let bpc = p.bit_depth() as u32;
        let v = |x: usize, y: usize| {
            let mut t = (x as u32).wrapping_mul(73856093)
                ^ (y as u32).wrapping_mul(19349663)
                ^ seed.wrapping_mul(83492791);
            t ^= t >> 15;
            t = t.wrapping_mul(2246822519);
            t ^= t >> 13;
            (x as u32 * 3 + y as u32 * 5 + t % 64) % (1 << bpc)
        };
        match p.data_mut() {
            PictureData::U8(pl) => {
                for y in 0..pl[0].height() {
                    for (x, s) in pl[0].row_mut(y).iter_mut().enumerate() {
                        *s = v(x, y) as u8;
                    }
                }
            }
            PictureData::U16(pl) => {
                for y in 0..pl[0].height() {
                    for (x, s) in pl[0].row_mut(y).iter_mut().enumerate() {
                        *s = v(x, y) as u16;
                    }
                }
            }
        }
    }

    fn run(g: Geometry, opts: &[(&str, &str)], level: CpuLevel) -> Vec<(String, f64)> {
        let o = Options::parse("float_ssim", OPTIONS, opts.iter().copied()).unwrap();
        let mut e = create(&CreateArgs {
            options: &o,
            geometry: g,
            cpu_level: level, device: None })
        .unwrap();
        let (mut r, mut d) = (Picture::new(g), Picture::new(g));
        fill(&mut r, 1);
        fill(&mut d, 2);
        e.submit(&FramePair {
            reference: &r,
            distorted: &d,
            index: 0,
        })
        .unwrap();
        let mut sink = FeatureSink::new();
        e.collect(0, &mut sink).unwrap();
        sink.entries()
            .iter()
            .map(|x| (e.feature_names()[x.slot as usize].clone(), x.value))
            .collect()
    }

    #[test]
    fn names_follow_enable_lcs_and_never_take_suffixes() {
        let g = Geometry::new(40, 30, ChromaSampling::Cs420, 8).unwrap();
        let out = run(
            g,
            &[("enable_db", "true"), ("clip_db", "true"), ("scale", "2")],
            CpuLevel::Scalar,
        );
        assert_eq!(
            out.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
            ["float_ssim"]
        );
        let out = run(g, &[("enable_lcs", "true")], CpuLevel::Scalar);
        let names: Vec<_> = out.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names, NAMES);
    }

    #[test]
    fn auto_factor_is_one_step_per_256_rounded() {
        assert_eq!(decimation_factor(0, 576, 324), 1);
        assert_eq!(decimation_factor(0, 1280, 720), 3);
        assert_eq!(decimation_factor(0, 1920, 1080), 4);
        assert_eq!(decimation_factor(0, 3840, 2160), 8);
        assert_eq!(decimation_factor(0, 383, 1000), 1);
        assert_eq!(decimation_factor(0, 384, 1000), 2);
        assert_eq!(decimation_factor(0, 16, 16), 1);
        assert_eq!(decimation_factor(5, 16, 16), 5);
    }

    #[test]
    fn db_conversion_and_cap() {
        assert_eq!(max_db(false, 8, 576, 324), f64::INFINITY);
        assert_eq!(max_db(true, 8, 576, 324), 104.0);
        assert_eq!(to_db(1.0, f64::INFINITY), f64::INFINITY);
        assert_eq!(to_db(1.0, 104.0), 104.0);
        assert_eq!(to_db(f64::NAN, 50.0), 50.0);
        assert!((to_db(0.9, f64::INFINITY) - 10.0).abs() < 1e-12);
    }

    #[test]
    fn every_level_and_depth_agrees_with_scalar() {
        for bpc in [8u8, 10, 12, 16] {
            for (w, h, scale) in [
                (64u32, 48u32, "0"),
                (401, 387, "0"),
                (77, 53, "3"),
                (23, 29, "1"),
                (12, 11, "2"),
            ] {
                let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).unwrap();
                let opts = [("enable_lcs", "true"), ("scale", scale)];
                let want = run(g, &opts, CpuLevel::Scalar);
                let got = run(g, &opts, CpuLevel::Avx2);
                assert_eq!(
                    got.iter().map(|x| x.1.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|x| x.1.to_bits()).collect::<Vec<_>>(),
                    "{w}x{h} {bpc}-bit scale {scale}"
                );
                assert!(want[0].1 < 1.0, "{w}x{h}: {:?}", want);
            }
        }
    }

    #[test]
    fn depths_share_the_8_bit_scale() {
        // The same picture at 8 and 10 bits (samples times 4) scores the same.
        let g8 = Geometry::new(50, 40, ChromaSampling::Cs400, 8).unwrap();
        let g10 = Geometry::new(50, 40, ChromaSampling::Cs400, 10).unwrap();
        let score = |g: Geometry, shift: u32| {
            let o = Options::defaults("float_ssim", OPTIONS);
            let mut e = create(&CreateArgs {
                options: &o,
                geometry: g,
                cpu_level: CpuLevel::Scalar, device: None })
            .unwrap();
            let (mut r, mut d) = (Picture::new(g), Picture::new(g));
            for (p, seed) in [(&mut r, 5u32), (&mut d, 6)] {
                let mut tmp = Picture::new(g8);
                fill(&mut tmp, seed);
                let PictureData::U8(src) = tmp.data() else {
                    unreachable!()
                };
                match p.data_mut() {
                    PictureData::U8(pl) => pl[0].data_mut().copy_from_slice(src[0].data()),
                    PictureData::U16(pl) => {
                        for (o, s) in pl[0].data_mut().iter_mut().zip(src[0].data()) {
                            *o = (*s as u16) << shift;
                        }
                    }
                }
            }
            e.submit(&FramePair {
                reference: &r,
                distorted: &d,
                index: 0,
            })
            .unwrap();
            let mut sink = FeatureSink::new();
            e.collect(0, &mut sink).unwrap();
            sink.entries()[0].value
        };
        assert_eq!(score(g8, 0), score(g10, 2));
    }

    #[test]
    fn too_small_for_the_factor_is_an_error() {
        let g = Geometry::new(1, 9, ChromaSampling::Cs400, 8).unwrap();
        let o = Options::parse("float_ssim", OPTIONS, [("scale", "4")]).unwrap();
        let e = create(&CreateArgs {
            options: &o,
            geometry: g,
            cpu_level: CpuLevel::Scalar, device: None });
        assert!(matches!(e, Err(Error::Extractor { .. })));
    }

    /// Flat pictures at the extremes of each depth: identical ones score
    /// exactly 1, black against white almost 0, at every level alike.
    #[test]
    fn flat_extremes_agree_across_levels() {
        let flat = |p: &mut Picture, v: u32| match p.data_mut() {
            PictureData::U8(pl) => pl[0].data_mut().fill(v as u8),
            PictureData::U16(pl) => pl[0].data_mut().fill(v as u16),
        };
        for bpc in [8u8, 10, 12, 16] {
            let max = (1u32 << bpc) - 1;
            for (w, h) in [(64u32, 48u32), (401, 387), (33, 17)] {
                let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).unwrap();
                let o = Options::parse("float_ssim", OPTIONS, [("enable_lcs", "true")]).unwrap();
                for (a, b) in [(0, 0), (max, max), (0, max), (max, 0)] {
                    let mut out = Vec::new();
                    for level in [CpuLevel::Scalar, CpuLevel::Avx2] {
                        let mut e = create(&CreateArgs {
                            options: &o,
                            geometry: g,
                            cpu_level: level, device: None })
                        .unwrap();
                        let (mut r, mut d) = (Picture::new(g), Picture::new(g));
                        flat(&mut r, a);
                        flat(&mut d, b);
                        e.submit(&FramePair {
                            reference: &r,
                            distorted: &d,
                            index: 0,
                        })
                        .unwrap();
                        let mut sink = FeatureSink::new();
                        e.collect(0, &mut sink).unwrap();
                        out.push(
                            sink.entries()
                                .iter()
                                .map(|x| x.value.to_bits())
                                .collect::<Vec<_>>(),
                        );
                    }
                    assert_eq!(out[0], out[1], "{w}x{h} {bpc}-bit {a} vs {b}");
                    let score = f64::from_bits(out[0][0]);
                    if a == b {
                        assert!((score - 1.0).abs() < 1e-6, "{w}x{h} {bpc}-bit {a}: {score}");
                    } else {
                        assert!(
                            score.is_finite() && score < 0.5,
                            "{w}x{h} {bpc}-bit {a} vs {b}: {score}"
                        );
                    }
                }
            }
        }
    }
}
