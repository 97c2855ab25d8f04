//! The `--model`/`-m` argument in libvmaf's syntax:
//! `version=vmaf_v0.6.1:name=vmaf:disable_clip:enable_transform` or
//! `path=model.json:...`, plus feature overloads
//! `<extractor>.<option>=<value>` (e.g. `vif.vif_enhn_gain_limit=1.0`) that
//! change an option of every model feature that extractor provides.

use std::path::PathBuf;

use crate::{Error, Model, ModelConfig, Result, DEFAULT_VERSION};

/// Where a model comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// A built-in model by version name.
    Version(String),
    /// A JSON model file.
    Path(PathBuf),
}

/// `<extractor>.<option>=<value>` from a model argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureOverload {
    /// libvmaf extractor name (`vif`, `adm`, `float_vif`, ...).
    pub extractor: String,
    pub option: String,
    pub value: String,
}

/// A parsed model argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelArg {
    pub source: ModelSource,
    pub config: ModelConfig,
    pub overloads: Vec<FeatureOverload>,
}

impl Default for ModelArg {
    /// libvmaf's model when none is given: vmaf_v0.6.1, named `vmaf`.
    fn default() -> Self {
        ModelArg {
            source: ModelSource::Version(DEFAULT_VERSION.to_owned()),
            config: ModelConfig::default(),
            overloads: Vec::new(),
        }
    }
}

fn flag(arg: &str, key: &str, value: &str) -> Result<bool> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::Usage(format!(
            "model \"{arg}\": {key} takes true or false, not \"{value}\""
        ))),
    }
}

impl ModelArg {
    /// Parses libvmaf's colon-separated `key=value` list. `disable_clip`
    /// and `enable_transform` may stand alone (meaning `=true`); any other
    /// key with a dot is a feature overload.
    pub fn parse(arg: &str) -> Result<ModelArg> {
        let usage = |msg: String| Error::Usage(format!("model \"{arg}\": {msg}"));
        let mut version = None;
        let mut path = None;
        let mut config = ModelConfig::default();
        let mut overloads = Vec::new();
        for item in arg.split(':') {
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k, v),
                None if item == "disable_clip" || item == "enable_transform" => (item, "true"),
                None => return Err(usage(format!("expected key=value, found \"{item}\""))),
            };
            match key {
                "version" => version = Some(value.to_owned()),
                "path" => path = Some(PathBuf::from(value)),
                "name" => {
                    if value.is_empty() {
                        return Err(usage("empty name".into()));
                    }
                    config.name = value.to_owned();
                }
                "disable_clip" => config.disable_clip = flag(arg, key, value)?,
                "enable_transform" => config.enable_transform = flag(arg, key, value)?,
                _ => {
                    let parts: Vec<&str> = key.split('.').collect();
                    match parts.as_slice() {
                        [extractor, option] if !extractor.is_empty() && !option.is_empty() => {
                            overloads.push(FeatureOverload {
                                extractor: (*extractor).to_owned(),
                                option: (*option).to_owned(),
                                value: value.to_owned(),
                            })
                        }
                        _ => {
                            return Err(usage(format!(
                                "unknown key \"{key}\" (keys: version, path, name, disable_clip, \
                                 enable_transform, or <extractor>.<option> to set a feature option)"
                            )))
                        }
                    }
                }
            }
        }
        let source = match (version, path) {
            (Some(v), None) => ModelSource::Version(v),
            (None, Some(p)) => ModelSource::Path(p),
            (Some(_), Some(_)) => {
                return Err(usage("give either version= or path=, not both".into()))
            }
            (None, None) => {
                return Err(usage(
                    "needs version=<built-in model> or path=<model file>".into(),
                ))
            }
        };
        Ok(ModelArg {
            source,
            config,
            overloads,
        })
    }

    /// The version or path, as libvmaf prints it next to pooled scores.
    pub fn label(&self) -> String {
        match &self.source {
            ModelSource::Version(v) => v.clone(),
            ModelSource::Path(p) => p.display().to_string(),
        }
    }

    /// Loads the model and applies the name and flags. Overloads are left
    /// to the caller, which knows which extractor provides which feature.
    pub fn load(&self) -> Result<Model> {
        let model = match &self.source {
            ModelSource::Version(v) => Model::builtin(v)?,
            ModelSource::Path(p) => Model::from_path(p)?,
        };
        Ok(model.with_config(self.config.clone()))
    }
}
