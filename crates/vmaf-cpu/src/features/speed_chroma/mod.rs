//! `speed_chroma`: libvmaf's SpEED on the two chroma planes
//! (`speed_chroma_u`, `speed_chroma_v`, `speed_chroma_uv`), a feature of
//! the vmaf_v1.0.16 models. The computation is in
//! [`super::speed_common`]; this file holds the option table, the output
//! names and how U and V combine.

use vmaf_core::{
    ChromaSampling, CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, OptionSpec, Result,
};

use super::speed_common::{Speed, SpeedParams};

const NAME: &str = "speed_chroma";

/// The options shared with `speed_temporal` come first, in libvmaf's
/// spelling; all change the output names.
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
    OptionSpec::int("speed_weight_var_mode", 0, 0, 6, "different approaches to perform variance-absed weighting")
        .param("wvm"),
];

const FEATURES: [&str; 3] = [
    "Speed_chroma_feature_speed_chroma_u_score",
    "Speed_chroma_feature_speed_chroma_v_score",
    "Speed_chroma_feature_speed_chroma_uv_score",
];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: NAME,
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &FEATURES,
    options: OPTIONS,
    temporal: false,
    create,
    help: "SpEED (spatial efficient entropic differencing) of the U and V planes and their mean",
};

struct SpeedChroma {
    names: Vec<String>,
    max_val: f64,
    speed: Speed,
    reference: Vec<f32>,
    distorted: Vec<f32>,
    last: Option<(u32, [f64; 3])>,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let o = args.options;
    let g = args.geometry;
    if g.sampling == ChromaSampling::Cs400 {
        return Err(Error::Extractor { feature: NAME.into(), msg: "the picture has no chroma planes".into() });
    }
    let (w, h) = g.plane_size(1);
    let params = SpeedParams::from_options(o, NAME, o.int("speed_weight_var_mode"))?;
    let speed = Speed::new(params, w as usize, h as usize, NAME, args.cpu_level)?;
    let n = speed.frame_len();
    Ok(Box::new(SpeedChroma {
        names: FEATURES.iter().map(|f| o.feature_name(f)).collect(),
        max_val: o.double("speed_max_val"),
        speed,
        reference: vec![0.0; n],
        distorted: vec![0.0; n],
        last: None,
    }))
}

/// libvmaf's `MIN(score, max)`: the maximum when the score is NaN.
fn clip(score: f32, max: f64) -> f64 {
    if (score as f64) < max {
        score as f64
    } else {
        max
    }
}

impl Extractor for SpeedChroma {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let mut scores = [0f32; 2];
        let mut singular = [false; 2];
        for (c, (score, err)) in scores.iter_mut().zip(&mut singular).enumerate() {
            self.speed.load(frame.reference.data(), c + 1, frame.reference.bit_depth(), &mut self.reference);
            self.speed.load(frame.distorted.data(), c + 1, frame.distorted.bit_depth(), &mut self.distorted);
            (*score, *err) = self.speed.score(&self.reference, &self.distorted);
        }
        let [u, v] = scores;
        // A channel whose covariance is singular (e.g. a flat plane) takes
        // the other channel's score in the mean rather than a 0.
        let uv = match singular {
            [true, false] => v,
            [false, true] => u,
            _ => ((u + v) as f64 / 2.0) as f32,
        };
        let m = self.max_val;
        self.last = Some((frame.index, [clip(u, m), clip(v, m), clip(uv, m)]));
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        if let Some((i, s)) = self.last.take() {
            debug_assert_eq!(i, index);
            for (slot, v) in s.into_iter().enumerate() {
                sink.put(slot, i, v);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
