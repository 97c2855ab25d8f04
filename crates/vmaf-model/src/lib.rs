//! libvmaf's model layer: what turns per-frame feature values into VMAF
//! scores.
//!
//! A [`Model`] is loaded from libvmaf's JSON model format, either one of the
//! built-in models embedded in this crate ([`Model::builtin`]) or a file
//! ([`Model::from_path`]). It lists the features it needs, each with the
//! extractor options from the file ([`Model::features`]), and predicts a
//! frame's score from their values ([`Model::predict`]): normalise, libsvm
//! nu-SVR with an RBF kernel, denormalise, optional transform, clip. Every
//! step repeats libvmaf's double-precision arithmetic in libvmaf's order, so
//! the same feature values give the same bits.
//!
//! ```
//! # fn main() -> vmaf_model::Result<()> {
//! use vmaf_model::{Model, ModelConfig};
//! let model = Model::builtin("vmaf_v0.6.1")?.with_config(ModelConfig::default());
//! // adm2, motion2, vif_scale0..3 of one frame, in `model.features()` order
//! let score = model.predict(&[0.95, 3.1, 0.5, 0.83, 0.91, 0.95])?;
//! assert!((0.0..=100.0).contains(&score));
//! # Ok(()) }
//! ```
//!
//! A bootstrap collection (e.g. `vmaf_b_v0.6.3`) is one [`Model`] too: its
//! member `"0"` gives the score under the model's name, the other members
//! give `<name>_0001`, `<name>_0002`, ... and their spread gives
//! `<name>_bagging`, `<name>_stddev`, `<name>_ci_p95_lo` and
//! `<name>_ci_p95_hi` ([`Model::output_names`], [`Model::predict_all`]).
//!
//! The crate knows nothing about extractors: the caller maps each feature
//! name to the extractor that provides it (see `vmaf::ScorerBuilder::model`).
//! The embedded model files are Netflix's, under `models/LICENSE`.

mod arg;
mod json;
mod submodel;
pub mod svm;

use std::path::Path;

use vmaf_core::fmt::format_g;
pub use vmaf_core::{Error, Result};

pub use arg::{FeatureOverload, ModelArg, ModelSource};
use submodel::Submodel;
pub use submodel::{ModelType, MAX_FEATURES};

/// The model libvmaf uses when none is given.
pub const DEFAULT_VERSION: &str = "vmaf_v0.6.1";

/// The output name a model gets when none is given.
pub const DEFAULT_NAME: &str = "vmaf";

/// Built-in models: libvmaf's default set, the files as Netflix ships them.
const BUILTINS: &[(&str, &str)] = &[
    ("vmaf_v0.6.1", include_str!("../models/vmaf_v0.6.1.json")),
    (
        "vmaf_v0.6.1neg",
        include_str!("../models/vmaf_v0.6.1neg.json"),
    ),
    (
        "vmaf_4k_v0.6.1",
        include_str!("../models/vmaf_4k_v0.6.1.json"),
    ),
    (
        "vmaf_b_v0.6.3",
        include_str!("../models/vmaf_b_v0.6.3.json"),
    ),
    (
        "vmaf_float_v0.6.1",
        include_str!("../models/vmaf_float_v0.6.1.json"),
    ),
    (
        "vmaf_float_v0.6.1neg",
        include_str!("../models/vmaf_float_v0.6.1neg.json"),
    ),
    (
        "vmaf_float_4k_v0.6.1",
        include_str!("../models/vmaf_float_4k_v0.6.1.json"),
    ),
    (
        "vmaf_float_b_v0.6.3",
        include_str!("../models/vmaf_float_b_v0.6.3.json"),
    ),
];

/// Models libvmaf 3.2.0 builds in that this crate does not embed; they load
/// from a file (`path=`), which the error for them says.
const NOT_EMBEDDED: &[&str] = &[
    "vmaf_4k_v0.6.1neg",
    "vmaf_v1.0.16_3d0h",
    "vmaf_v1.0.16_3d0h_2160",
    "vmaf_v1.0.16_5d0h",
    "vmaf_v1.0.16_1d5h_2160",
    "vmaf_v1.0.16_hfr_3d0h",
    "vmaf_v1.0.16_hfr_3d0h_2160",
    "vmaf_v1.0.16_hfr_5d0h",
    "vmaf_v1.0.16_hfr_1d5h_2160",
];

/// Versions [`Model::builtin`] accepts.
pub fn builtin_versions() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(v, _)| *v)
}

/// libvmaf's treatment of a numeric option value from a model file or a
/// command line: read as a C `float`, printed back with `%g`. `None` when
/// `s` is not a number. The extractor then parses this string, so a value
/// keeps only `%g`'s 6 significant digits.
pub fn normalize_numeric(s: &str) -> Option<String> {
    let v: f32 = s.trim().parse().ok()?;
    Some(format_g(v as f64))
}

/// One feature a model reads: the provided-feature name as the file spells
/// it (e.g. `VMAF_integer_feature_adm2_score`) and the extractor options the
/// file sets for it, as `key=value` strings (numbers normalised as libvmaf
/// normalises them, see [`normalize_numeric`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFeature {
    pub name: String,
    pub options: Vec<(String, String)>,
}

/// libvmaf's per-model settings (`-m ...:name=..:disable_clip:enable_transform`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    /// Output name; a collection derives its other outputs from it.
    pub name: String,
    /// Skip `score_clip`.
    pub disable_clip: bool,
    /// Apply `score_transform` even when the file leaves it disabled (only
    /// for models whose file has a `score_transform`).
    pub enable_transform: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            name: DEFAULT_NAME.to_owned(),
            disable_clip: false,
            enable_transform: false,
        }
    }
}

/// A loaded VMAF model or bootstrap collection.
#[derive(Clone, Debug)]
pub struct Model {
    /// Version or path it came from, for messages (libvmaf prints this).
    label: String,
    config: ModelConfig,
    /// The model, or member `"0"` of a collection.
    main: Submodel,
    /// Members `"1"`, `"2"`, ... of a collection; empty for a single model.
    members: Vec<Submodel>,
    /// Every feature of `main` and `members`, first use first, duplicates
    /// (same name and options) once.
    features: Vec<ModelFeature>,
    outputs: Vec<String>,
}

/// libvmaf's percentile of ascending scores: linear interpolation between
/// the two ranks around `perc * (n - 1) / 100`.
fn percentile(sorted: &[f64], perc: f64) -> f64 {
    let p = perc * (sorted.len() - 1) as f64 / 100.0;
    let (l, r) = (p.floor(), p.ceil());
    let (il, ir) = (l as usize, r as usize);
    if il == ir {
        sorted[il]
    } else {
        sorted[il] * (r - p) + sorted[ir] * (p - l)
    }
}

impl Model {
    /// A built-in model by libvmaf version name (see [`builtin_versions`]),
    /// with the default [`ModelConfig`].
    pub fn builtin(version: &str) -> Result<Model> {
        let Some((v, text)) = BUILTINS.iter().find(|(v, _)| *v == version) else {
            let known = builtin_versions().collect::<Vec<_>>().join(", ");
            let msg = if NOT_EMBEDDED.contains(&version) {
                format!("not built into vmaf-rs; load its JSON file with path= instead (built in: {known})")
            } else {
                format!("no such built-in model (built in: {known})")
            };
            return Err(Error::Model {
                name: version.to_owned(),
                msg,
            });
        };
        Model::from_json(text, v).map_err(|e| match e {
            Error::Model { msg, .. } => Error::Model {
                name: version.to_owned(),
                msg,
            },
            e => e,
        })
    }

    /// Loads a JSON model or collection file, with the default
    /// [`ModelConfig`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8(text)
            .map_err(|_| Error::bad_input(path, "model file is not UTF-8 text"))?;
        let label = path.display().to_string();
        let parsed = json::parse_file(&text).map_err(|msg| {
            let hint = if path.extension().is_some_and(|e| e == "pkl") {
                " (pkl model files are no longer supported: use the JSON model)"
            } else {
                ""
            };
            Error::bad_input(path, format!("model: {msg}{hint}"))
        })?;
        Ok(Model::assemble(label, parsed))
    }

    /// Parses model JSON held in memory; `label` names it in errors.
    pub fn from_json(text: &str, label: &str) -> Result<Model> {
        let parsed = json::parse_file(text).map_err(|msg| Error::Model {
            name: label.to_owned(),
            msg,
        })?;
        Ok(Model::assemble(label.to_owned(), parsed))
    }

    fn assemble(label: String, parsed: json::Parsed) -> Model {
        let (main, members) = match parsed {
            json::Parsed::Single(m) => (m, Vec::new()),
            json::Parsed::Collection(m, rest) => (m, rest),
        };
        let mut model = Model {
            label,
            config: ModelConfig::default(),
            main,
            members,
            features: Vec::new(),
            outputs: Vec::new(),
        };
        model.index_features();
        model.name_outputs();
        model
    }

    /// Rebuilds the merged feature list and every submodel's slots into it.
    fn index_features(&mut self) {
        let mut all: Vec<ModelFeature> = Vec::new();
        for sub in std::iter::once(&mut self.main).chain(self.members.iter_mut()) {
            sub.slots = sub
                .features
                .iter()
                .map(|f| match all.iter().position(|g| g == f) {
                    Some(i) => i,
                    None => {
                        all.push(f.clone());
                        all.len() - 1
                    }
                })
                .collect();
        }
        self.features = all;
    }

    fn name_outputs(&mut self) {
        let name = &self.config.name;
        self.outputs = vec![name.clone()];
        if !self.members.is_empty() {
            self.outputs
                .extend((1..=self.members.len()).map(|i| format!("{name}_{i:04}")));
            for suffix in ["bagging", "stddev", "ci_p95_lo", "ci_p95_hi"] {
                self.outputs.push(format!("{name}_{suffix}"));
            }
        }
    }

    /// Applies `-m` settings: output name, clip and transform switches.
    pub fn with_config(mut self, config: ModelConfig) -> Model {
        self.config = config;
        self.name_outputs();
        self
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The output name (libvmaf's model name: `vmaf` unless set).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Where the model came from: its version or its path.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn is_collection(&self) -> bool {
        !self.members.is_empty()
    }

    pub fn model_type(&self) -> ModelType {
        self.members.first().unwrap_or(&self.main).model_type
    }

    /// Features to feed [`Self::predict`], in that order.
    pub fn features(&self) -> &[ModelFeature] {
        &self.features
    }

    /// Per-frame outputs in libvmaf's order: the name alone for a single
    /// model; for a collection the name, `_0001`.. per member, then
    /// `_bagging`, `_stddev`, `_ci_p95_lo`, `_ci_p95_hi`.
    pub fn output_names(&self) -> &[String] {
        &self.outputs
    }

    /// libvmaf's feature overload (`-m ...:vif.vif_enhn_gain_limit=1.0`):
    /// for every feature of every submodel for which `selects(feature
    /// name)` holds (the caller checks the providing extractor's name), set
    /// the options, replacing values the file gave. Numeric values are
    /// normalised like the file's.
    pub fn overload(&mut self, selects: impl Fn(&str) -> bool, options: &[(String, String)]) {
        for sub in std::iter::once(&mut self.main).chain(self.members.iter_mut()) {
            for f in sub.features.iter_mut().filter(|f| selects(&f.name)) {
                for (k, v) in options {
                    let v = normalize_numeric(v).unwrap_or_else(|| v.clone());
                    match f.options.iter_mut().find(|(ok, _)| ok == k) {
                        Some(slot) => slot.1 = v,
                        None => f.options.push((k.clone(), v)),
                    }
                }
            }
        }
        self.index_features();
    }

    fn check_len(&self, values: &[f64]) -> Result<()> {
        if values.len() != self.features.len() {
            return Err(Error::Model {
                name: self.config.name.clone(),
                msg: format!(
                    "{} feature values given, the model reads {}",
                    values.len(),
                    self.features.len()
                ),
            });
        }
        Ok(())
    }

    fn finish(&self, sub: &Submodel, raw: f64) -> f64 {
        let transform =
            sub.transform.present && (sub.transform.enabled || self.config.enable_transform);
        sub.finish(raw, transform, !self.config.disable_clip)
    }

    /// The model's score for one frame (the first of
    /// [`Self::output_names`]). `values` follow [`Self::features`].
    pub fn predict(&self, values: &[f64]) -> Result<f64> {
        self.check_len(values)?;
        Ok(self.finish(&self.main, self.main.raw(values)))
    }

    /// Every output for one frame, in [`Self::output_names`] order, into
    /// `out` (cleared first; keep it between frames and nothing is
    /// allocated once it has grown).
    pub fn predict_all(&self, values: &[f64], out: &mut Vec<f64>) -> Result<()> {
        self.check_len(values)?;
        out.clear();
        out.push(self.finish(&self.main, self.main.raw(values)));
        if self.members.is_empty() {
            return Ok(());
        }
        let n = self.members.len();
        // out[1..=n]: the members' scores as written; out[n+1..]: their raw
        // (untransformed, unclipped) scores, which the statistics use.
        out.resize(1 + 2 * n, 0.0);
        for (i, sub) in self.members.iter().enumerate() {
            let raw = sub.raw(values);
            out[1 + i] = self.finish(sub, raw);
            out[1 + n + i] = raw;
        }
        let raw = &mut out[1 + n..];
        let mut sum = 0.0;
        for &s in raw.iter() {
            sum += s;
        }
        let mean = sum / n as f64;
        let mut ssd = 0.0;
        for &s in raw.iter() {
            let d = s - mean;
            ssd += d * d;
        }
        let mut stddev = (ssd / n as f64).sqrt();
        raw.sort_by(f64::total_cmp);
        let lo = percentile(raw, 2.5);
        let hi = percentile(raw, 97.5);

        // The summary goes through the first member's transform and clip;
        // the spread is scaled by the local slope of that mapping.
        let first = &self.members[0];
        let delta = 0.01;
        let bagging = self.finish(first, mean);
        let lo = self.finish(first, lo);
        let hi = self.finish(first, hi);
        let plus = self.finish(first, mean + delta);
        let minus = self.finish(first, mean - delta);
        stddev *= (plus - minus) / (2.0 * delta);

        out.truncate(1 + n);
        out.extend_from_slice(&[bagging, stddev, lo, hi]);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
