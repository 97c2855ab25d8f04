//! `float_ms_ssim`: libvmaf's multi-scale SSIM of the luma plane (Wang,
//! Simoncelli and Bovik's five-scale weighting), `float_ms_ssim` in the
//! output, with its options: the per-scale luminance, contrast and
//! structure means (`enable_lcs`: `float_ms_ssim_{l,c,s}_scale{0..4}`) and
//! the score in dB (`enable_db`, capped with `clip_db`).
//!
//! The picture is halved four times (`scalar.rs`: a 9×9 low-pass of the
//! 9/7 biorthogonal wavelet, mirrored borders, output `w / 2 + (w & 1)`
//! wide). At each scale the SSIM machinery of `float_ssim` gives mean
//! `l`, `c` and `s` (each rounded to `f32`, as libvmaf keeps them), and
//! the score is `Π l^α · c^β · s^γ` in `f64`. libvmaf refuses pictures
//! whose sides, halved four times (rounding down), are below the 11-sample
//! window: each side must be at least 176; so does this, at creation.
//!
//! The names are written as they are: options never add a suffix.

mod scalar;

use vmaf_core::{
    CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, OptionSpec, Result,
};

use super::float_ssim::scalar::{Decimator, Kernels, SsimMap, Want, WIN};
use super::float_ssim::{convert_luma, kernels_for, max_db, to_db};
use scalar::{SCALES, WEIGHTS};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool(
        "enable_lcs",
        false,
        "enable luminance, contrast and structure intermediate output",
    ),
    OptionSpec::bool("enable_db", false, "write MS-SSIM values as dB"),
    OptionSpec::bool("clip_db", false, "clip dB scores"),
];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "float_ms_ssim",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &["float_ms_ssim"],
    options: OPTIONS,
    temporal: false,
    create,
    help: "multi-scale SSIM of the luma plane (floating point)",
};

/// `float_ms_ssim`, then the per-scale means: l of scales 0-4, c, s.
fn names(enable_lcs: bool) -> Vec<String> {
    let mut n = vec!["float_ms_ssim".to_string()];
    if enable_lcs {
        for term in ["l", "c", "s"] {
            for i in 0..SCALES {
                n.push(format!("float_ms_ssim_{term}_scale{i}"));
            }
        }
    }
    n
}

struct FloatMsSsim {
    names: Vec<String>,
    kernels: &'static dyn Kernels,
    bpc: u32,
    /// Size of each scale.
    sizes: [(usize, usize); SCALES],
    /// The reference and distorted pyramids, scale 0 first.
    pyramid: [[Vec<f32>; SCALES]; 2],
    /// Scale `i` to scale `i + 1`.
    halvings: Vec<Decimator>,
    map: SsimMap,
    enable_db: bool,
    max_db: f64,
    /// Scores of the last submitted frame: ms_ssim, then l, c, s per scale.
    last: Option<(u32, [f64; 1 + 3 * SCALES])>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let o = args.options;
    let g = args.geometry;
    let (w, h) = (g.width as usize, g.height as usize);
    let err = |msg: String| Error::Extractor {
        feature: SPEC.name.into(),
        msg,
    };
    // libvmaf's check halves with rounding down, unlike the decimation.
    if (0..SCALES).any(|i| (w >> i) < WIN || (h >> i) < WIN) {
        return Err(err(format!(
            "a {w}x{h} picture is too small for {SCALES} scales of an {WIN}x{WIN} window (each side needs {})",
            WIN << (SCALES - 1)
        )));
    }
    let mut sizes = [(w, h); SCALES];
    let mut halvings = Vec::with_capacity(SCALES - 1);
    for i in 1..SCALES {
        let (pw, ph) = sizes[i - 1];
        let d = scalar::halving(pw, ph).map_err(err)?;
        sizes[i] = (d.out_w, d.out_h);
        halvings.push(d);
    }
    let pyramid =
        std::array::from_fn(|_| std::array::from_fn(|i| vec![0.0; sizes[i].0 * sizes[i].1]));
    Ok(Box::new(FloatMsSsim {
        names: names(o.bool("enable_lcs")),
        kernels: kernels_for(args.cpu_level),
        bpc: g.bit_depth as u32,
        sizes,
        pyramid,
        halvings,
        map: SsimMap::new(w),
        enable_db: o.bool("enable_db"),
        max_db: max_db(o.bool("clip_db"), g.bit_depth, g.width, g.height),
        last: None,
    }))
}

impl Extractor for FloatMsSsim {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let k = self.kernels;
        let (w, h) = self.sizes[0];
        {
            let [r, d] = &mut self.pyramid;
            convert_luma(frame, w, h, self.bpc, &mut r[0], &mut d[0])?;
        }
        for pic in &mut self.pyramid {
            for (i, dec) in self.halvings.iter_mut().enumerate() {
                let (lo, hi) = pic.split_at_mut(i + 1);
                dec.run(k, &lo[i], &mut hi[0]);
            }
        }
        let mut out = [0.0f64; 1 + 3 * SCALES];
        let mut ms = 1.0f64;
        for i in 0..SCALES {
            let (w, h) = self.sizes[i];
            let [r, d] = &self.pyramid;
            let m = self.map.run(
                k,
                &r[i],
                &d[i],
                w,
                h,
                Want {
                    ssim: false,
                    lcs: true,
                },
            );
            let (l, c, s) = (m.l as f64, m.c as f64, m.s as f64);
            let [a, b, g] = WEIGHTS[i].map(|x| x as f64);
            ms *= l.powf(a) * c.powf(b) * s.powf(g);
            if ms == f64::INFINITY {
                return Err(Error::Extractor {
                    feature: SPEC.name.into(),
                    msg: format!("frame {}: the score is infinite", frame.index),
                });
            }
            out[1 + i] = l;
            out[1 + SCALES + i] = c;
            out[1 + 2 * SCALES + i] = s;
        }
        out[0] = if self.enable_db {
            to_db(ms, self.max_db)
        } else {
            ms
        };
        self.last = Some((frame.index, out));
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
    use vmaf_core::{ChromaSampling, CpuLevel, Geometry, Options, Picture, PictureData};

    fn fill(p: &mut Picture, seed: u32) {
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

    fn run(g: Geometry, opts: &[(&str, &str)], level: CpuLevel, same: bool) -> Vec<(String, f64)> {
        let o = Options::parse("float_ms_ssim", OPTIONS, opts.iter().copied()).unwrap();
        let mut e = create(&CreateArgs {
            options: &o,
            geometry: g,
            cpu_level: level, device: None })
        .unwrap();
        let (mut r, mut d) = (Picture::new(g), Picture::new(g));
        fill(&mut r, 1);
        fill(&mut d, if same { 1 } else { 2 });
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
    fn names_in_libvmafs_order() {
        let g = Geometry::new(176, 176, ChromaSampling::Cs400, 8).unwrap();
        let out = run(g, &[("enable_lcs", "true")], CpuLevel::Scalar, false);
        assert_eq!(out.len(), 16);
        assert_eq!(out[0].0, "float_ms_ssim");
        assert_eq!(out[1].0, "float_ms_ssim_l_scale0");
        assert_eq!(out[5].0, "float_ms_ssim_l_scale4");
        assert_eq!(out[6].0, "float_ms_ssim_c_scale0");
        assert_eq!(out[15].0, "float_ms_ssim_s_scale4");
        let out = run(
            g,
            &[("enable_db", "true"), ("clip_db", "true")],
            CpuLevel::Scalar,
            false,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, "float_ms_ssim");
    }

    #[test]
    fn smallest_size_is_176() {
        let o = Options::defaults("float_ms_ssim", OPTIONS);
        for (w, h, ok) in [
            (176u32, 176u32, true),
            (175, 300, false),
            (300, 175, false),
            (177, 999, true),
        ] {
            let g = Geometry::new(w, h, ChromaSampling::Cs420, 8).unwrap();
            let e = create(&CreateArgs {
                options: &o,
                geometry: g,
                cpu_level: CpuLevel::Scalar, device: None });
            assert_eq!(e.is_ok(), ok, "{w}x{h}");
            if !ok {
                assert!(matches!(e, Err(Error::Extractor { .. })));
            }
        }
    }

    #[test]
    fn identical_pictures_score_one_and_clip_in_db() {
        let g = Geometry::new(181, 177, ChromaSampling::Cs420, 10).unwrap();
        let out = run(g, &[("enable_lcs", "true")], CpuLevel::Scalar, true);
        for (n, v) in &out {
            assert!((v - 1.0).abs() < 1e-6, "{n} = {v}");
        }
        let out = run(
            g,
            &[("enable_db", "true"), ("clip_db", "true")],
            CpuLevel::Scalar,
            true,
        );
        assert_eq!(out[0].1, max_db(true, 10, 181, 177));
    }

    #[test]
    fn every_level_and_depth_agrees_with_scalar() {
        for bpc in [8u8, 10, 12, 16] {
            for (w, h) in [(176u32, 176u32), (203, 181), (256, 199)] {
                let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).unwrap();
                let opts = [("enable_lcs", "true")];
                let want = run(g, &opts, CpuLevel::Scalar, false);
                let got = run(g, &opts, CpuLevel::Avx2, false);
                assert_eq!(
                    got.iter().map(|x| x.1.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|x| x.1.to_bits()).collect::<Vec<_>>(),
                    "{w}x{h} {bpc}-bit"
                );
                assert!(want[0].1 > 0.0 && want[0].1 < 1.0, "{w}x{h}: {:?}", want[0]);
            }
        }
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
            for (w, h) in [(176u32, 176u32), (203, 181)] {
                let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).unwrap();
                let o = Options::parse("float_ms_ssim", OPTIONS, [("enable_lcs", "true")]).unwrap();
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
