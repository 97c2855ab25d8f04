//! `float_motion`: libvmaf's floating-point motion, the temporal feature of
//! the float VMAF models (`motion`, `motion2`, `motion3` in the output).
//!
//! Each reference frame is converted to `f32` (`x - 128` at 8-bit scale),
//! blurred with a 5-tap (or 3-tap, or identity) Gaussian, and compared with
//! the previous blurred frame: `motion` is the mean absolute difference,
//! `motion2` of a frame the smaller of its own and the next frame's motion,
//! `motion3` motion2 blended towards an offset and clipped. Options add the
//! chroma planes and a half-scale term, and scale or clip the scores.
//!
//! Scores are written when they are known, as libvmaf writes them: motion2
//! of frame 0 (always 0) at frame 0, motion3 of frame 0 at frame 1, motion2
//! and motion3 of frame `i - 1` at frame `i`, those of the last frame at end
//! of stream. That timing fixes where the names enter the output's order.
//!
//! libvmaf computes the motion between frames `i - 2` and `i - 1` again at
//! frame `i`; it is the previous frame's score exactly (`|a - b| = |b - a|`
//! in floating point, summed in the same order), so it is kept instead.
//!
//! Kernels: `scalar.rs` (reference) and `x86.rs` (AVX2, bit-identical to
//! it, also used at the AVX-512 level), chosen from `CreateArgs::cpu_level`.

mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use vmaf_core::{
    ChromaSampling, CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair,
    OptionSpec, PictureData, Result,
};

use scalar::{Kernels, PAD};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool("debug", true, "debug mode: enable additional output"),
    OptionSpec::bool("motion_force_zero", false, "forcing motion score to zero").param("force_0"),
    OptionSpec::double(
        "motion_fps_weight",
        1.0,
        0.0,
        5.0,
        "fps-aware multiplicative weight/correction",
    )
    .param("mfw"),
    OptionSpec::double(
        "motion_blend_factor",
        1.0,
        0.0,
        1.0,
        "blend motion score given an offset",
    )
    .param("mbf"),
    OptionSpec::double(
        "motion_blend_offset",
        40.0,
        0.0,
        1000.0,
        "blend motion score starting from this offset",
    )
    .param("mbo"),
    OptionSpec::bool("motion_add_scale1", false, "add motion score from scale1").param("mdc"),
    OptionSpec::int("motion_filter_size", 5, 0, 9, "filtering size").param("mfs"),
    OptionSpec::bool("motion_add_uv", false, "include U and V terms").param("mau"),
    OptionSpec::double(
        "motion_max_val",
        10000.0,
        0.0,
        10000.0,
        "maximum value allowed; larger values will be clipped to this value",
    )
    .param("mmxv"),
];

const PROVIDED: &[&str] = &[
    "VMAF_feature_motion_score",
    "VMAF_feature_motion2_score",
    "VMAF_feature_motion3_score",
];
const SLOT_MOTION: usize = 0;
const SLOT_MOTION2: usize = 1;
const SLOT_MOTION3: usize = 2;

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "float_motion",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: PROVIDED,
    options: OPTIONS,
    temporal: true,
    create,
    help: "float motion: mean blurred luma difference between consecutive reference frames",
};

#[derive(Clone, Copy)]
enum Level {
    Scalar,
    /// Holds the proof that the CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::Avx2),
}

/// One plane's buffers, `stride` floats per row (the luma stride for every
/// plane, as libvmaf lays them out).
struct PlaneBufs {
    w: usize,
    h: usize,
    converted: Vec<f32>,
    /// Blurred current and previous frame, alternating.
    blurred: [Vec<f32>; 2],
}

struct FloatMotion {
    names: Vec<String>,
    level: Level,
    bpc: u32,
    taps: &'static [f32],
    stride: usize,
    planes: Vec<PlaneBufs>,
    row: Vec<f32>,
    /// Half-scale copies of the two blurred planes (`motion_add_scale1`).
    scaled: [Vec<f32>; 2],
    force_zero: bool,
    add_scale1: bool,
    debug: bool,
    fps_weight: f64,
    blend_factor: f64,
    blend_offset: f64,
    max_val: f64,
    /// Index the next frame must have.
    next: u32,
    /// Motion of the last frame against the one before it.
    last_score: f64,
    /// Scores of the last submitted frame, for `collect`: (slot, index,
    /// value), in libvmaf's write order.
    pending: [(usize, u32, f64); 3],
    pending_len: usize,
}

/// Floats per row of a plane `w` wide: libvmaf pads rows to 32 bytes.
fn float_stride(w: usize) -> usize {
    w.div_ceil(8) * 8
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let o = args.options;
    let g = args.geometry;
    let add_uv = o.bool("motion_add_uv");
    if add_uv && g.sampling == ChromaSampling::Cs400 {
        return Err(Error::Extractor {
            feature: SPEC.name.into(),
            msg: "motion_add_uv needs chroma planes, and this video is luma only".into(),
        });
    }
    let level = match args.cpu_level {
        CpuLevel::Scalar => Level::Scalar,
        #[cfg(target_arch = "x86_64")]
        _ => x86::Avx2::new().map_or(Level::Scalar, Level::Avx2),
        #[cfg(not(target_arch = "x86_64"))]
        _ => Level::Scalar,
    };
    let taps: &'static [f32] = match o.int("motion_filter_size") {
        1 => &scalar::FILTER_IDENTITY,
        3 => &scalar::FILTER_3,
        _ => &scalar::FILTER_5,
    };
    let stride = float_stride(g.width as usize);
    let planes = (0..if add_uv { 3 } else { 1 })
        .map(|p| {
            let (w, h) = g.plane_size(p);
            let (w, h) = (w as usize, h as usize);
            PlaneBufs {
                w,
                h,
                converted: vec![0.0; stride * h],
                blurred: [vec![0.0; stride * h], vec![0.0; stride * h]],
            }
        })
        .collect();
    let add_scale1 = o.bool("motion_add_scale1");
    // The luma half-scale plane is the largest one the scaler writes.
    let scaled_len = if add_scale1 {
        let (sw, sh) = scalar::half_size(g.width as usize, g.height as usize);
        float_stride(sw) * sh
    } else {
        0
    };
    Ok(Box::new(FloatMotion {
        names: PROVIDED.iter().map(|f| o.feature_name(f)).collect(),
        level,
        bpc: g.bit_depth as u32,
        taps,
        stride,
        planes,
        row: vec![0.0; g.width as usize + 2 * PAD],
        scaled: [vec![0.0; scaled_len], vec![0.0; scaled_len]],
        force_zero: o.bool("motion_force_zero"),
        add_scale1,
        debug: o.bool("debug"),
        fps_weight: o.double("motion_fps_weight"),
        blend_factor: o.double("motion_blend_factor"),
        blend_offset: o.double("motion_blend_offset"),
        max_val: o.double("motion_max_val"),
        next: 0,
        last_score: 0.0,
        pending: [(0, 0, 0.0); 3],
        pending_len: 0,
    }))
}

/// C's `MIN(a, b)`: `b` unless `a < b`.
fn c_min(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

fn blend(score: f64, factor: f64, offset: f64) -> f64 {
    score * factor + (1.0 - factor) * c_min(offset, score)
}

fn with_kernels<R>(level: Level, f: impl FnOnce(&dyn Kernels) -> R) -> R {
    match level {
        Level::Scalar => f(&scalar::Scalar),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2(k) => f(&k),
    }
}

impl FloatMotion {
    fn push(&mut self, slot: usize, index: u32, value: f64) {
        self.pending[self.pending_len] = (slot, index, value);
        self.pending_len += 1;
    }

    /// Converts and blurs the reference planes into blur buffer `cur`.
    fn blur_frame(&mut self, frame: &FramePair<'_>, cur: usize) -> Result<()> {
        let (stride, bpc, taps) = (self.stride, self.bpc, self.taps);
        for (p, pl) in self.planes.iter_mut().enumerate() {
            match frame.reference.data() {
                PictureData::U8(src) => scalar::convert(&src[p], bpc, &mut pl.converted, stride),
                PictureData::U16(src) => scalar::convert(&src[p], bpc, &mut pl.converted, stride),
            }
            let row = &mut self.row;
            with_kernels(self.level, |k| {
                scalar::blur(
                    k,
                    taps,
                    &pl.converted,
                    &mut pl.blurred[cur],
                    row,
                    pl.w,
                    pl.h,
                    stride,
                )
            });
        }
        Ok(())
    }

    /// libvmaf's `vmaf_image_sad_c` between the two blurred frames of every
    /// plane, summed over planes.
    fn motion(&mut self) -> f64 {
        let stride = self.stride;
        let mut score = 0.0f64;
        for pl in &self.planes {
            let (a, b) = (&pl.blurred[0], &pl.blurred[1]);
            let mut m = with_kernels(self.level, |k| k.sad(a, b, pl.w, pl.h, stride));
            if self.add_scale1 {
                let (sw, sh) = scalar::half_size(pl.w, pl.h);
                let ss = float_stride(sw);
                // libvmaf reads the source with a stride derived from this
                // plane's own width, not the buffer's (luma) stride; for
                // subsampled chroma that walks the buffer differently, and
                // the scores depend on it.
                let src_stride = float_stride(pl.w);
                let [sa, sb] = &mut self.scaled;
                scalar::scale_bilinear(a, pl.w, pl.h, src_stride, sa, sw, sh, ss);
                scalar::scale_bilinear(b, pl.w, pl.h, src_stride, sb, sw, sh, ss);
                m += with_kernels(self.level, |k| k.sad(sa, sb, sw, sh, ss));
            }
            score += m as f64;
        }
        score
    }
}

impl Extractor for FloatMotion {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        if frame.index != self.next {
            return Err(Error::Extractor {
                feature: SPEC.name.into(),
                msg: format!("expected frame {}, got frame {}", self.next, frame.index),
            });
        }
        self.next += 1;
        self.pending_len = 0;
        let i = frame.index;
        if self.force_zero {
            self.push(SLOT_MOTION2, i, 0.0);
            self.push(SLOT_MOTION3, i, 0.0);
            if self.debug {
                self.push(SLOT_MOTION, i, 0.0);
            }
            return Ok(());
        }
        self.blur_frame(frame, (i % 2) as usize)?;
        if i == 0 {
            self.push(SLOT_MOTION2, 0, 0.0);
            if self.debug {
                self.push(SLOT_MOTION, 0, 0.0);
            }
            return Ok(());
        }
        let (w, max) = (self.fps_weight, self.max_val);
        let score = self.motion();
        if self.debug {
            self.push(SLOT_MOTION, i, c_min(score * w, max));
        }
        if i == 1 {
            self.push(
                SLOT_MOTION3,
                0,
                c_min(blend(score * w, self.blend_factor, self.blend_offset), max),
            );
        } else {
            let s2 = if self.last_score < score {
                self.last_score
            } else {
                score
            };
            self.push(SLOT_MOTION2, i - 1, c_min(s2 * w, max));
            self.push(
                SLOT_MOTION3,
                i - 1,
                c_min(blend(s2 * w, self.blend_factor, self.blend_offset), max),
            );
        }
        self.last_score = score;
        Ok(())
    }

    fn collect(&mut self, _index: u32, sink: &mut FeatureSink) -> Result<()> {
        for &(slot, index, value) in &self.pending[..self.pending_len] {
            sink.put(slot, index, value);
        }
        self.pending_len = 0;
        Ok(())
    }

    fn flush(&mut self, sink: &mut FeatureSink) -> Result<()> {
        if self.force_zero || self.next == 0 {
            return Ok(());
        }
        let last = self.next - 1;
        if last == 0 {
            sink.put(SLOT_MOTION3, 0, 0.0);
        } else {
            let s = self.last_score * self.fps_weight;
            sink.put(SLOT_MOTION2, last, c_min(s, self.max_val));
            sink.put(
                SLOT_MOTION3,
                last,
                c_min(blend(s, self.blend_factor, self.blend_offset), self.max_val),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{Geometry, Options, Picture};

    fn run(
        g: Geometry,
        opts: &[(&str, &str)],
        level: CpuLevel,
        frames: usize,
        fill: impl Fn(usize, &mut Picture),
    ) -> Vec<(String, u32, f64)> {
        let o = Options::parse("float_motion", OPTIONS, opts.iter().copied()).unwrap();
        let mut e = create(&CreateArgs {
            options: &o,
            geometry: g,
            cpu_level: level,
            device: None,
        })
        .unwrap();
        let mut sink = FeatureSink::new();
        let mut r = Picture::new(g);
        for i in 0..frames {
            fill(i, &mut r);
            e.submit(&FramePair {
                reference: &r,
                distorted: &r,
                index: i as u32,
            })
            .unwrap();
            e.collect(i as u32, &mut sink).unwrap();
        }
        e.flush(&mut sink).unwrap();
        sink.entries()
            .iter()
            .map(|x| (e.feature_names()[x.slot as usize].clone(), x.index, x.value))
            .collect()
    }

    fn texture(i: usize, p: &mut Picture) {
        let v = |x: usize, y: usize, c: usize| {
            ((x * 29 + y * 13 + i * 7 + c * 5) * (x ^ y ^ (i + c))) as u32
        };
        match p.data_mut() {
            PictureData::U8(pl) => {
                for (c, plane) in pl.iter_mut().enumerate() {
                    for y in 0..plane.height() {
                        for (x, s) in plane.row_mut(y).iter_mut().enumerate() {
                            *s = (v(x, y, c) & 255) as u8;
                        }
                    }
                }
            }
            PictureData::U16(pl) => {
                for (c, plane) in pl.iter_mut().enumerate() {
                    for y in 0..plane.height() {
                        for (x, s) in plane.row_mut(y).iter_mut().enumerate() {
                            *s = (v(x, y, c) & 1023) as u16;
                        }
                    }
                }
            }
        }
    }

    fn by_name(out: &[(String, u32, f64)], name: &str) -> Vec<(u32, f64)> {
        out.iter()
            .filter(|x| x.0 == name)
            .map(|x| (x.1, x.2))
            .collect()
    }

    #[test]
    fn uniform_step_and_write_timing() {
        let g = Geometry::new(16, 9, ChromaSampling::Cs400, 8).unwrap();
        let lv = [10u8, 13, 13, 20];
        let out = run(g, &[], CpuLevel::Scalar, 4, |i, p| {
            if let PictureData::U8(pl) = p.data_mut() {
                pl[0].data_mut().fill(lv[i]);
            }
        });
        let m = by_name(&out, "VMAF_feature_motion_score");
        assert_eq!(m.iter().map(|x| x.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        for ((_, got), want) in m.iter().zip([0.0, 3.0, 0.0, 7.0]) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
        let m2 = by_name(&out, "VMAF_feature_motion2_score");
        // motion2 of frame 0 first, then frames 1.. one frame late, the last at flush.
        assert_eq!(m2.iter().map(|x| x.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert!(m2[1].1.abs() < 1e-5 && m2[2].1.abs() < 1e-5 && (m2[3].1 - 7.0).abs() < 1e-5);
        let m3 = by_name(&out, "VMAF_feature_motion3_score");
        assert_eq!(m3[0].0, 0);
        assert!((m3[0].1 - 3.0).abs() < 1e-5);
        // Write order of the first frames: motion2, motion, then motion3 at frame 1.
        let first: Vec<_> = out.iter().take(4).map(|x| (x.0.as_str(), x.1)).collect();
        assert_eq!(
            first,
            [
                ("VMAF_feature_motion2_score", 0),
                ("VMAF_feature_motion_score", 0),
                ("VMAF_feature_motion_score", 1),
                ("VMAF_feature_motion3_score", 0)
            ]
        );
    }

    #[test]
    fn levels_agree_bit_for_bit_with_every_option() {
        let option_sets: [&[(&str, &str)]; 5] = [
            &[],
            &[("motion_add_uv", "true")],
            &[("motion_add_scale1", "true"), ("motion_add_uv", "true")],
            &[
                ("motion_filter_size", "3"),
                ("motion_fps_weight", "2"),
                ("motion_max_val", "3"),
            ],
            &[
                ("motion_filter_size", "1"),
                ("motion_blend_factor", "0.5"),
                ("motion_blend_offset", "2"),
            ],
        ];
        for (w, h) in [(33usize, 17usize), (8, 8), (3, 5)] {
            for (sampling, bpc) in [
                (ChromaSampling::Cs420, 8),
                (ChromaSampling::Cs422, 10),
                (ChromaSampling::Cs444, 8),
            ] {
                let g = Geometry::new(w as u32, h as u32, sampling, bpc).unwrap();
                for opts in option_sets {
                    let a = run(g, opts, CpuLevel::Scalar, 4, texture);
                    let b = run(g, opts, CpuLevel::Avx2, 4, texture);
                    assert_eq!(a, b, "{w}x{h} {opts:?}");
                    assert!(a.iter().any(|x| x.2 > 0.0));
                }
            }
        }
    }

    #[test]
    fn options_change_names_and_scores() {
        let g = Geometry::new(24, 16, ChromaSampling::Cs420, 8).unwrap();
        let base = run(g, &[], CpuLevel::Scalar, 3, texture);
        let uv = run(
            g,
            &[("motion_add_uv", "true")],
            CpuLevel::Scalar,
            3,
            texture,
        );
        let m = by_name(&base, "VMAF_feature_motion_score");
        let mu = by_name(&uv, "motion_mau");
        assert!(mu[1].1 > m[1].1, "chroma terms add motion");
        let clipped = run(
            g,
            &[("motion_max_val", "0.5"), ("motion_fps_weight", "2")],
            CpuLevel::Scalar,
            3,
            texture,
        );
        assert!(by_name(&clipped, "motion2_mfw_2_mmxv_0.5")
            .iter()
            .all(|x| x.1 <= 0.5));
        let zero = run(
            g,
            &[("motion_force_zero", "true")],
            CpuLevel::Scalar,
            3,
            texture,
        );
        assert_eq!(zero.len(), 9);
        assert!(zero.iter().all(|x| x.2 == 0.0));
        let nodebug = run(g, &[("debug", "false")], CpuLevel::Scalar, 3, texture);
        assert!(by_name(&nodebug, "VMAF_feature_motion_score").is_empty());
    }

    #[test]
    fn add_uv_on_luma_only_video_is_an_error() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs400, 8).unwrap();
        let o = Options::parse("float_motion", OPTIONS, [("motion_add_uv", "true")]).unwrap();
        assert!(create(&CreateArgs {
            options: &o,
            geometry: g,
            cpu_level: CpuLevel::Scalar,
            device: None,
        })
        .is_err());
    }
}
