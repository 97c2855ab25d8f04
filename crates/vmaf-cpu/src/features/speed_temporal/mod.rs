//! `speed_temporal`: libvmaf's SpEED on frame differences of the luma
//! plane: the SpEED score of (previous - current) reference against
//! (previous - current) distorted (or, with `speed_use_ref_diff`, previous
//! distorted minus current reference). The first frame scores 0. The
//! computation is in [`super::speed_common`].
//!
//! As in libvmaf, `speed_max_val` is accepted (and names the output) but
//! does not clip, and the variance weighting is always mode 0.

use vmaf_core::{CreateArgs, Extractor, ExtractorSpec, FeatureSink, FramePair, OptionSpec, Result};

use super::speed_common::{RawRows, Speed, SpeedParams};

const NAME: &str = "speed_temporal";

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::double(
        "speed_kernelscale",
        1.0,
        0.1,
        4.0,
        "scaling factor for the gaussian kernel (2.0 means multiplying the standard deviation by 2 and enlarge the kernel size accordingly",
    )
    .param("ks"),
    OptionSpec::double(
        "speed_prescale",
        1.0,
        0.1,
        4.0,
        "scaling factor for the frame (2.0 means making the image twice as large on each dimension)",
    )
    .param("ps"),
    OptionSpec::string(
        "speed_prescale_method",
        "nearest",
        "scaling method for the frame, supported options: [nearest, bilinear, bicubic, lanczos4]",
    )
    .param("psm"),
    OptionSpec::double("speed_sigma_nn", 0.29, 0.1, 2.0, "standard deviation of neural noise").param("snn"),
    OptionSpec::double("speed_nn_floor", 0.0, 0.0, 1.0, "neural noise floor, expressed in percentage of sigma_nn")
        .param("nnf"),
    OptionSpec::double("speed_max_val", 1000.0, 0.0, 1000.0, "maximum value allowed; larger values will be clipped to this value")
        .param("mxv"),
    OptionSpec::bool("speed_use_ref_diff", false, "debug mode: enable additional output").param("urd"),
];

const FEATURES: [&str; 1] = ["Speed_temporal_feature_speed_temporal_score"];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: NAME,
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &FEATURES,
    options: OPTIONS,
    temporal: true,
    create,
    help: "SpEED of the luma frame differences (temporal)",
};

struct SpeedTemporal {
    names: Vec<String>,
    use_ref_diff: bool,
    speed: Speed,
    /// The previous frame's reference and distorted planes, as raw samples
    /// (only the rows SpEED reads).
    prev: [RawRows; 2],
    /// The frame differences SpEED scores.
    diff: [Vec<f32>; 2],
    have_prev: bool,
    last: Option<(u32, f64)>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let o = args.options;
    let g = args.geometry;
    let params = SpeedParams::from_options(o, NAME, 0)?;
    let speed = Speed::new(params, g.width as usize, g.height as usize, NAME, args.cpu_level)?;
    let len = speed.frame_len();
    Ok(Box::new(SpeedTemporal {
        names: FEATURES.iter().map(|f| o.feature_name(f)).collect(),
        use_ref_diff: o.bool("speed_use_ref_diff"),
        prev: [speed.raw_rows(g.bit_depth), speed.raw_rows(g.bit_depth)],
        diff: [vec![0f32; len], vec![0f32; len]],
        speed,
        have_prev: false,
        last: None,
    }))
}

impl Extractor for SpeedTemporal {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        // libvmaf reads both pictures at the reference's bit depth.
        let bpc = frame.reference.bit_depth();
        let (r, d) = (frame.reference.data(), frame.distorted.data());
        let score = if self.have_prev {
            let [dr, dd] = &mut self.diff;
            self.speed.load_difference(&self.prev[0], r, 0, bpc, dr)?;
            self.speed.load_difference(&self.prev[1], if self.use_ref_diff { r } else { d }, 0, bpc, dd)?;
            self.speed.score(dr, dd).0 as f64
        } else {
            0.0
        };
        self.speed.keep(r, 0, &mut self.prev[0])?;
        self.speed.keep(d, 0, &mut self.prev[1])?;
        self.have_prev = true;
        self.last = Some((frame.index, score));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        if let Some((i, s)) = self.last.take() {
            debug_assert_eq!(i, index);
            sink.put(0, i, s);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
