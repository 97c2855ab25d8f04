//! `motion`: libvmaf's integer motion, the temporal feature of the VMAF
//! models. It measures how much the *reference* luma changes from frame to
//! frame: the mean absolute value of the blurred difference of consecutive
//! reference frames (`VMAF_integer_feature_motion_sad_score`), then
//!
//! * `integer_motion2`: the smaller of a frame's score and the next frame's
//!   (with the five-frame window: of the previous and the next score);
//! * `integer_motion3`: motion2 blended towards an offset, clipped, and
//!   optionally averaged with the previous frame's value.
//!
//! Like libvmaf 3.2.0, the per-frame pass writes only the SAD score (and,
//! with `debug`, `integer_motion`); motion2 and motion3 of every frame are
//! written at end of stream from the stored SAD scores, so they enter the
//! output's feature order after everything written per frame.
//!
//! The extractor is temporal: one instance sees every frame in order (also
//! under `--subsample`, as libvmaf computes motion on every frame), keeping
//! the last two reference luma planes in buffers sized at creation.
//!
//! Kernels: `scalar.rs` (reference) and `x86.rs` (AVX2, also used at the
//! AVX-512 level), chosen from `CreateArgs::cpu_level`.
//!
//! Everything after the integer SAD (the score formula, per-frame output,
//! and motion2/motion3 at flush) is [`MotionHost`], public so that the
//! device backends share it instead of copying it. The lusoris/vmaf fork's
//! `motion_v2` (same arithmetic, other names and options) is this
//! extractor built by [`create_with_host`] around a host with its names.

mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Border rule shared with float motion.
pub(crate) use scalar::reflect;
/// The fixed point the device kernels must reproduce.
pub use scalar::{vertical_shift, TAPS};

use vmaf_core::{
    CpuLevel, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, Geometry,
    OptionSpec, Options, PictureData, Pixel, Plane, Result,
};

/// The option table, shared with the device backends.
pub static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool("motion_force_zero", false, "forcing motion score to zero").param("force_0"),
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
    OptionSpec::double(
        "motion_fps_weight",
        1.0,
        0.0,
        5.0,
        "fps-aware multiplicative weight/correction",
    )
    .param("mfw"),
    OptionSpec::double(
        "motion_max_val",
        10000.0,
        0.0,
        10000.0,
        "maximum value allowed; larger values will be clipped to this value",
    )
    .param("mmxv"),
    OptionSpec::bool(
        "motion_five_frame_window",
        false,
        "use five-frame temporal window",
    )
    .param("mffw"),
    OptionSpec::bool(
        "motion_moving_average",
        false,
        "use moving average for motion scores after first frame",
    )
    .param("mma"),
    OptionSpec::bool("debug", false, "debug mode: enable additional output"),
];

const SAD: &str = "VMAF_integer_feature_motion_sad_score";
/// The features provided, shared with the device backends.
pub const PROVIDED_FEATURES: &[&str] = &[
    SAD,
    "VMAF_integer_feature_motion_score",
    "VMAF_integer_feature_motion2_score",
    "VMAF_integer_feature_motion3_score",
];

/// Where a host writes each of its outputs: slots of its name list.
#[derive(Clone, Copy, Debug)]
struct Slots {
    sad: usize,
    /// The debug copy of the SAD score; `None` when the extractor has no
    /// `debug` option.
    motion: Option<usize>,
    motion2: usize,
    motion3: usize,
}

/// The slots of [`PROVIDED_FEATURES`].
const V1_SLOTS: Slots = Slots { sad: 0, motion: Some(1), motion2: 2, motion3: 3 };

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "motion",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: PROVIDED_FEATURES,
    options: OPTIONS,
    temporal: true,
    create,
    help: "integer motion: mean blurred luma difference between consecutive reference frames",
};

/// Frames of SAD history reserved up front; a longer stream grows the list
/// (amortised, one `f64` per frame), as libvmaf's feature collector does.
const SAD_HISTORY_RESERVE: usize = 4096;

/// The instruction-set level the kernels run at.
#[derive(Clone, Copy)]
enum Level {
    Scalar,
    /// Holds the proof that the CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::Avx2),
}

/// Reference luma planes of the last two frames, oldest first once full.
enum History {
    U8([Plane<u8>; 2]),
    U16([Plane<u16>; 2]),
}

/// The host side of integer motion, common to every backend: turns each
/// frame's integer SAD into its score, writes the per-frame features, and
/// computes motion2 and motion3 of every frame at end of stream.
pub struct MotionHost {
    /// The extractor's name, for errors.
    extractor: &'static str,
    names: Vec<String>,
    slots: Slots,
    pixels: f64,
    force_zero: bool,
    five_frame_window: bool,
    moving_average: bool,
    debug: bool,
    fps_weight: f64,
    max_val: f64,
    blend_factor: f64,
    blend_offset: f64,
    /// SAD score of every frame so far, by index.
    sad: Vec<f64>,
}

struct Motion {
    host: MotionHost,
    level: Level,
    bpc: u32,
    history: History,
    /// Slot of `history` holding the most recent frame.
    newest: usize,
    /// Frames stored in `history` (0, 1 or 2).
    held: usize,
    /// Vertical-pass row with its mirrored border.
    row: Vec<i32>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    create_with_host(args, MotionHost::new(args.options, args.geometry))
}

/// An integer motion extractor around `host`: the SAD kernels, the frame
/// history and the frame-order checks of `motion`, with the outputs and
/// options `host` was made for (the fork's `motion_v2` reuses it so).
pub(crate) fn create_with_host(args: &CreateArgs<'_>, host: MotionHost) -> Result<Box<dyn Extractor>> {
    let g = args.geometry;
    let (w, h) = (g.width as usize, g.height as usize);
    let level = match args.cpu_level {
        CpuLevel::Scalar => Level::Scalar,
        #[cfg(target_arch = "x86_64")]
        _ => x86::Avx2::new().map_or(Level::Scalar, Level::Avx2),
        #[cfg(not(target_arch = "x86_64"))]
        _ => Level::Scalar,
    };
    let history = if g.bit_depth > 8 {
        History::U16([Plane::new(w, h), Plane::new(w, h)])
    } else {
        History::U8([Plane::new(w, h), Plane::new(w, h)])
    };
    Ok(Box::new(Motion {
        host,
        level,
        bpc: g.bit_depth as u32,
        history,
        newest: 1,
        held: 0,
        row: vec![0; w + 2 * scalar::PAD],
    }))
}

impl MotionHost {
    /// The host state for `options` (parsed against [`OPTIONS`]) on
    /// pictures of `geometry`.
    pub fn new(o: &Options, g: Geometry) -> Self {
        let mut host = Self::with_outputs(o, g, SPEC.name, PROVIDED_FEATURES, V1_SLOTS);
        host.debug = o.bool("debug");
        host
    }

    /// A host that writes the SAD score, motion2 and motion3 under `names`
    /// (in that order, before option suffixes), for an extractor whose
    /// option table has every motion option but `debug`: the lusoris/vmaf
    /// fork's `motion_v2`.
    pub(crate) fn sad_motion2_motion3(
        o: &Options,
        g: Geometry,
        extractor: &'static str,
        names: &[&str; 3],
    ) -> Self {
        Self::with_outputs(o, g, extractor, names, Slots { sad: 0, motion: None, motion2: 1, motion3: 2 })
    }

    fn with_outputs(o: &Options, g: Geometry, extractor: &'static str, names: &[&str], slots: Slots) -> Self {
        MotionHost {
            extractor,
            names: names.iter().map(|f| o.feature_name(f)).collect(),
            slots,
            pixels: (g.width as usize * g.height as usize) as f64,
            force_zero: o.bool("motion_force_zero"),
            five_frame_window: o.bool("motion_five_frame_window"),
            moving_average: o.bool("motion_moving_average"),
            debug: false,
            fps_weight: o.double("motion_fps_weight"),
            max_val: o.double("motion_max_val"),
            blend_factor: o.double("motion_blend_factor"),
            blend_offset: o.double("motion_blend_offset"),
            sad: Vec::with_capacity(SAD_HISTORY_RESERVE),
        }
    }

    /// Output names, indexed by sink slot.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// With `motion_force_zero` every score is 0 and no SAD is computed.
    pub fn force_zero(&self) -> bool {
        self.force_zero
    }

    /// How many frames back the SAD looks (1, or 2 with the five-frame
    /// window); earlier frames score 0.
    pub fn frames_back(&self) -> usize {
        if self.five_frame_window {
            2
        } else {
            1
        }
    }

    /// Frames recorded so far: the index the next frame must have.
    pub fn frames(&self) -> usize {
        self.sad.len()
    }

    /// The score of a frame whose blurred difference sums to `sad`.
    pub fn score(&self, sad: u64) -> f64 {
        c_min(
            sad as f64 / 256.0 / self.pixels * self.fps_weight,
            self.max_val,
        )
    }

    /// Stores frame `index`'s score; frames must come in stream order.
    pub fn record(&mut self, index: u32, score: f64) -> Result<()> {
        if index as usize != self.sad.len() {
            return Err(out_of_order(self.extractor, self.sad.len(), index));
        }
        self.sad.push(score);
        Ok(())
    }

    /// Writes the per-frame features of recorded frame `index`.
    pub fn collect(&self, index: u32, sink: &mut FeatureSink) {
        if let Some(&score) = self.sad.get(index as usize) {
            sink.put(self.slots.sad, index, score);
            if let (true, Some(slot)) = (self.debug, self.slots.motion) {
                sink.put(slot, index, score);
            }
        }
    }

    /// End of stream: motion2 and motion3 of every recorded frame.
    pub fn flush(&self, sink: &mut FeatureSink) {
        let sad = &self.sad;
        let n = sad.len();
        if n == 0 {
            return;
        }
        // With the five-frame window the first two frames have no score, and
        // motion2 looks one frame back and one ahead (not at the frame itself).
        let (first, back) = if self.five_frame_window {
            (2, 1)
        } else {
            (1, 0)
        };
        let processed =
            |m: f64| c_min(blend(m, self.blend_factor, self.blend_offset), self.max_val);
        // The frames before `first` take the first real frame's value.
        let stamp = if n > first {
            processed(sad[first])
        } else {
            0.0
        };
        let mut prev_processed = 0.0;
        for i in 0..n {
            let motion2 = if i < first {
                0.0
            } else if i + 1 >= n {
                sad[i]
            } else if i - back >= first {
                c_min(sad[i - back], sad[i + 1])
            } else {
                sad[i + 1]
            };
            sink.put(self.slots.motion2, i as u32, motion2);
            let motion3 = if i < first {
                prev_processed = stamp;
                stamp
            } else {
                let p = processed(motion2);
                let m = if self.moving_average {
                    (p + prev_processed) / 2.0
                } else {
                    p
                };
                prev_processed = p;
                m
            };
            sink.put(self.slots.motion3, i as u32, motion3);
        }
    }
}

fn out_of_order(feature: &str, expected: usize, got: u32) -> Error {
    Error::Extractor {
        feature: feature.into(),
        msg: format!("expected frame {expected}, got frame {got}"),
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

/// libvmaf's motion blend: above `offset`, the excess counts `factor` times.
fn blend(score: f64, factor: f64, offset: f64) -> f64 {
    score * factor + (1.0 - factor) * c_min(offset, score)
}

/// The SAD kernel driver at an instruction-set level, per sample type.
trait LevelSad: Pixel {
    fn sad(level: Level, prev: &Plane<Self>, cur: &Plane<Self>, bpc: u32, row: &mut [i32]) -> u64;
}

macro_rules! level_sad {
    ($t:ty) => {
        impl LevelSad for $t {
            fn sad(
                level: Level,
                prev: &Plane<$t>,
                cur: &Plane<$t>,
                bpc: u32,
                row: &mut [i32],
            ) -> u64 {
                match level {
                    Level::Scalar => scalar::sad(&scalar::Scalar, prev, cur, bpc, row),
                    #[cfg(target_arch = "x86_64")]
                    Level::Avx2(k) => scalar::sad(&k, prev, cur, bpc, row),
                }
            }
        }
    };
}
level_sad!(u8);
level_sad!(u16);

impl Motion {
    /// The SAD score of frame `index` against the stored frame one (or, with
    /// the five-frame window, two) before it; stores the frame.
    fn score(&mut self, frame: &FramePair<'_>) -> Result<f64> {
        if self.host.force_zero {
            return Ok(0.0);
        }
        let back = self.host.frames_back();
        let mut score = 0.0;
        if frame.index as usize >= back {
            if self.held < back {
                return Err(Error::Extractor {
                    feature: self.host.extractor.into(),
                    msg: format!(
                        "frame {} arrived without the {back} frame(s) before it",
                        frame.index
                    ),
                });
            }
            let slot = if back == 1 {
                self.newest
            } else {
                1 - self.newest
            };
            let sad = match (&self.history, frame.reference.data()) {
                (History::U8(h), PictureData::U8(p)) => {
                    LevelSad::sad(self.level, &h[slot], &p[0], self.bpc, &mut self.row)
                }
                (History::U16(h), PictureData::U16(p)) => {
                    LevelSad::sad(self.level, &h[slot], &p[0], self.bpc, &mut self.row)
                }
                _ => return Err(sample_type_mismatch()),
            };
            score = self.host.score(sad);
        }
        self.store(frame)?;
        Ok(score)
    }

    fn store(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let slot = 1 - self.newest;
        match (&mut self.history, frame.reference.data()) {
            (History::U8(h), PictureData::U8(p)) => copy_plane(&mut h[slot], &p[0]),
            (History::U16(h), PictureData::U16(p)) => copy_plane(&mut h[slot], &p[0]),
            _ => return Err(sample_type_mismatch()),
        }
        self.newest = slot;
        self.held = (self.held + 1).min(2);
        Ok(())
    }
}

fn sample_type_mismatch() -> Error {
    Error::Mismatch("picture sample type does not match the stream's bit depth".into())
}

fn copy_plane<T: Pixel>(dst: &mut Plane<T>, src: &Plane<T>) {
    for y in 0..src.height() {
        dst.row_mut(y).copy_from_slice(src.row(y));
    }
}

impl Extractor for Motion {
    fn feature_names(&self) -> &[String] {
        self.host.names()
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        if frame.index as usize != self.host.frames() {
            return Err(out_of_order(self.host.extractor, self.host.frames(), frame.index));
        }
        let score = self.score(frame)?;
        self.host.record(frame.index, score)
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        self.host.collect(index, sink);
        Ok(())
    }

    fn flush(&mut self, sink: &mut FeatureSink) -> Result<()> {
        self.host.flush(sink);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{ChromaSampling, Geometry, Options, Picture};

    /// Runs `frames` luma fills through a fresh instance; returns every
    /// (name, index, value) written, per-frame writes first, then flush.
    fn run(
        g: Geometry,
        opts: &[(&str, &str)],
        level: CpuLevel,
        frames: usize,
        fill: impl Fn(usize, &mut Picture),
    ) -> Vec<(String, u32, f64)> {
        let o = Options::parse("motion", OPTIONS, opts.iter().copied()).unwrap();
        let mut e = create(&CreateArgs {
            options: &o,
            geometry: g,
            cpu_level: level,
            device: None,
        })
        .unwrap();
        let mut out = Vec::new();
        let mut sink = FeatureSink::new();
        let dis = Picture::new(g);
        let mut r = Picture::new(g);
        for i in 0..frames {
            fill(i, &mut r);
            e.submit(&FramePair {
                reference: &r,
                distorted: &dis,
                index: i as u32,
            })
            .unwrap();
            e.collect(i as u32, &mut sink).unwrap();
        }
        e.flush(&mut sink).unwrap();
        for x in sink.entries() {
            out.push((e.feature_names()[x.slot as usize].clone(), x.index, x.value));
        }
        out
    }

    fn fill_u8(f: impl Fn(usize, usize, usize) -> u8) -> impl Fn(usize, &mut Picture) {
        move |i, p| {
            if let PictureData::U8(pl) = p.data_mut() {
                let w = pl[0].width();
                for y in 0..pl[0].height() {
                    for (x, v) in pl[0].row_mut(y).iter_mut().enumerate() {
                        *v = f(i, x, y);
                    }
                }
                let _ = w;
            }
        }
    }

    fn values(out: &[(String, u32, f64)], name: &str) -> Vec<f64> {
        out.iter()
            .filter(|(n, _, _)| n == name)
            .map(|x| x.2)
            .collect()
    }

    #[test]
    fn flat_step_gives_exact_score() {
        // A uniform change of d per sample blurs to d * 256 per sample in
        // the 8-bit fixed point, so the score is exactly d.
        let g = Geometry::new(16, 8, ChromaSampling::Cs420, 8).unwrap();
        let out = run(
            g,
            &[],
            CpuLevel::Scalar,
            3,
            fill_u8(|i, _, _| [10u8, 13, 13][i]),
        );
        assert_eq!(values(&out, SAD), vec![0.0, 3.0, 0.0]);
        assert_eq!(
            values(&out, "VMAF_integer_feature_motion2_score"),
            vec![0.0, 0.0, 0.0]
        );
        // Frame 0 takes frame 1's blended value.
        assert_eq!(
            values(&out, "VMAF_integer_feature_motion3_score"),
            vec![3.0, 0.0, 0.0]
        );
        // Order: per-frame SAD scores, then motion2/motion3 interleaved by frame.
        let names: Vec<_> = out.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names[..4],
            [SAD, SAD, SAD, "VMAF_integer_feature_motion2_score"]
        );
    }

    #[test]
    fn motion2_is_min_of_neighbours_and_last_is_own() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs400, 8).unwrap();
        let lv = [0u8, 5, 7, 8, 20];
        let out = run(g, &[], CpuLevel::Scalar, 5, fill_u8(move |i, _, _| lv[i]));
        assert_eq!(values(&out, SAD), vec![0.0, 5.0, 2.0, 1.0, 12.0]);
        assert_eq!(
            values(&out, "VMAF_integer_feature_motion2_score"),
            vec![0.0, 2.0, 1.0, 1.0, 12.0]
        );
    }

    #[test]
    fn five_frame_window_max_and_moving_average() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs400, 8).unwrap();
        let lv = [0u8, 5, 7, 8, 20, 21];
        let opts = [
            ("motion_five_frame_window", "true"),
            ("motion_moving_average", "true"),
            ("motion_max_val", "9"),
        ];
        let out = run(g, &opts, CpuLevel::Scalar, 6, fill_u8(move |i, _, _| lv[i]));
        let sfx = "_mffw_mmxv_9_mma";
        // Scores against two frames back, clipped to 9.
        assert_eq!(
            values(&out, &format!("{SAD}{sfx}")),
            vec![0.0, 0.0, 7.0, 3.0, 9.0, 9.0]
        );
        let m2 = values(&out, &format!("integer_motion2{sfx}"));
        // i=2: next only (3); i=3: min(sad[2], sad[4]) = 7; i=4: min(3, 9); last: own.
        assert_eq!(m2, vec![0.0, 0.0, 3.0, 7.0, 3.0, 9.0]);
        let m3 = values(&out, &format!("integer_motion3{sfx}"));
        // Frames 0 and 1 take blend(sad[2]) = 7; then running pairs.
        assert_eq!(m3, vec![7.0, 7.0, (3.0 + 7.0) / 2.0, 5.0, 5.0, 6.0]);
    }

    #[test]
    fn blend_and_fps_weight() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs400, 8).unwrap();
        let lv = [0u8, 50, 100];
        let opts = [
            ("motion_blend_factor", "0.5"),
            ("motion_blend_offset", "10"),
            ("motion_fps_weight", "2"),
        ];
        let out = run(g, &opts, CpuLevel::Scalar, 3, fill_u8(move |i, _, _| lv[i]));
        let sfx = "_mbf_0.5_mbo_10_mfw_2";
        assert_eq!(
            values(&out, &format!("{SAD}{sfx}")),
            vec![0.0, 100.0, 100.0]
        );
        // blend(100) = 50 + 0.5 * 10
        assert_eq!(
            values(&out, &format!("integer_motion3{sfx}")),
            vec![55.0, 55.0, 55.0]
        );
    }

    #[test]
    fn force_zero_and_debug() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs400, 8).unwrap();
        let out = run(
            g,
            &[("motion_force_zero", "true"), ("debug", "true")],
            CpuLevel::Scalar,
            3,
            fill_u8(|i, _, _| i as u8 * 9),
        );
        assert!(out.iter().all(|x| x.2 == 0.0));
        assert_eq!(values(&out, "integer_motion_force_0").len(), 3);
        assert_eq!(values(&out, "integer_motion2_force_0").len(), 3);
        let out = run(
            g,
            &[("debug", "true")],
            CpuLevel::Scalar,
            2,
            fill_u8(|i, _, _| i as u8 * 9),
        );
        assert_eq!(
            values(&out, "VMAF_integer_feature_motion_score"),
            vec![0.0, 9.0]
        );
    }

    #[test]
    fn levels_agree_on_a_moving_picture() {
        for bpc in [8u8, 10, 12, 16] {
            let g = Geometry::new(67, 13, ChromaSampling::Cs420, bpc).unwrap();
            let max = (1u32 << bpc) - 1;
            let fill = move |i: usize, p: &mut Picture| {
                let v = |x: usize, y: usize| {
                    ((x * 37 + y * 11 + i * 5) * (x ^ y ^ i) % (max as usize + 1)) as u32
                };
                match p.data_mut() {
                    PictureData::U8(pl) => {
                        for y in 0..13 {
                            for (x, s) in pl[0].row_mut(y).iter_mut().enumerate() {
                                *s = v(x, y) as u8;
                            }
                        }
                    }
                    PictureData::U16(pl) => {
                        for y in 0..13 {
                            for (x, s) in pl[0].row_mut(y).iter_mut().enumerate() {
                                *s = v(x, y) as u16;
                            }
                        }
                    }
                }
            };
            let a = run(g, &[], CpuLevel::Scalar, 4, fill);
            let b = run(g, &[], CpuLevel::Avx2, 4, fill);
            assert_eq!(a, b, "bpc {bpc}");
            assert!(values(&a, SAD)[1] > 0.0);
        }
    }

    #[test]
    fn frames_out_of_order_are_an_error() {
        let g = Geometry::new(8, 8, ChromaSampling::Cs400, 8).unwrap();
        let o = Options::defaults("motion", OPTIONS);
        let mut e = create(&CreateArgs {
            options: &o,
            geometry: g,
            cpu_level: CpuLevel::Scalar,
            device: None,
        })
        .unwrap();
        let p = Picture::new(g);
        assert!(e
            .submit(&FramePair {
                reference: &p,
                distorted: &p,
                index: 1
            })
            .is_err());
    }
}
