//! Extractor options as data, parsed the way libvmaf parses them.
//!
//! Each extractor declares its options as a static table of [`OptionSpec`]
//! (name, help, type, default, range). Values arrive as strings from
//! `--feature name=opt=value:...` or from a model file and are parsed and
//! range-checked against that table; a bad name or value is an error that
//! names the feature, the option and what was expected.
//!
//! Options marked `feature_param` change the output feature names the way
//! libvmaf does: every such option whose value differs from its default adds
//! `_<alias>_<value>` (bools: `_<alias>`), in alphabetical order of option
//! name, with doubles printed as C's `%g`.

use crate::error::{Error, Result};
use crate::fmt::format_g;

/// The type and range of an option.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptionKind {
    Bool,
    Int { min: i32, max: i32 },
    Double { min: f64, max: f64 },
    Str,
}

/// A default value, usable in a `static` table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DefaultValue {
    Bool(bool),
    Int(i32),
    Double(f64),
    Str(&'static str),
}

/// One option of an extractor.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    /// Short name used in output feature names; `None` means `name`.
    pub alias: Option<&'static str>,
    pub help: &'static str,
    pub kind: OptionKind,
    pub default: DefaultValue,
    /// Whether a non-default value is part of the output feature names.
    pub feature_param: bool,
}

impl OptionSpec {
    /// A boolean option that does not change feature names.
    pub const fn bool(name: &'static str, default: bool, help: &'static str) -> Self {
        OptionSpec {
            name,
            alias: None,
            help,
            kind: OptionKind::Bool,
            default: DefaultValue::Bool(default),
            feature_param: false,
        }
    }
    pub const fn int(name: &'static str, default: i32, min: i32, max: i32, help: &'static str) -> Self {
        OptionSpec {
            name,
            alias: None,
            help,
            kind: OptionKind::Int { min, max },
            default: DefaultValue::Int(default),
            feature_param: false,
        }
    }
    pub const fn double(name: &'static str, default: f64, min: f64, max: f64, help: &'static str) -> Self {
        OptionSpec {
            name,
            alias: None,
            help,
            kind: OptionKind::Double { min, max },
            default: DefaultValue::Double(default),
            feature_param: false,
        }
    }
    pub const fn string(name: &'static str, default: &'static str, help: &'static str) -> Self {
        OptionSpec {
            name,
            alias: None,
            help,
            kind: OptionKind::Str,
            default: DefaultValue::Str(default),
            feature_param: false,
        }
    }
    /// Marks the option as a feature parameter printed as `alias`.
    pub const fn param(mut self, alias: &'static str) -> Self {
        self.alias = Some(alias);
        self.feature_param = true;
        self
    }

    fn default_value(&self) -> OptionValue {
        match self.default {
            DefaultValue::Bool(b) => OptionValue::Bool(b),
            DefaultValue::Int(i) => OptionValue::Int(i),
            DefaultValue::Double(d) => OptionValue::Double(d),
            DefaultValue::Str(s) => OptionValue::Str(s.to_owned()),
        }
    }

    fn expected(&self) -> String {
        match self.kind {
            OptionKind::Bool => "expected true or false".into(),
            OptionKind::Int { min, max } => format!("expected an integer in [{min}, {max}]"),
            OptionKind::Double { min, max } => {
                format!("expected a number in [{}, {}]", format_g(min), format_g(max))
            }
            OptionKind::Str => "expected a string".into(),
        }
    }

    fn parse(&self, feature: &str, value: &str) -> Result<OptionValue> {
        let bad = || Error::BadOptionValue {
            feature: feature.to_owned(),
            option: self.name.to_owned(),
            value: value.to_owned(),
            expected: self.expected(),
        };
        Ok(match self.kind {
            OptionKind::Bool => match value {
                "true" => OptionValue::Bool(true),
                "false" => OptionValue::Bool(false),
                _ => return Err(bad()),
            },
            OptionKind::Int { min, max } => {
                let v: i32 = value.trim().parse().map_err(|_| bad())?;
                if v < min || v > max {
                    return Err(bad());
                }
                OptionValue::Int(v)
            }
            OptionKind::Double { min, max } => {
                let v: f64 = value.trim().parse().map_err(|_| bad())?;
                if !v.is_finite() || v < min || v > max {
                    return Err(bad());
                }
                OptionValue::Double(v)
            }
            OptionKind::Str => OptionValue::Str(value.to_owned()),
        })
    }
}

/// A parsed option value.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    Bool(bool),
    Int(i32),
    Double(f64),
    Str(String),
}

impl OptionValue {
    /// How libvmaf prints the value in a feature name.
    fn name_fragment(&self) -> String {
        match self {
            OptionValue::Bool(b) => b.to_string(),
            OptionValue::Int(i) => i.to_string(),
            OptionValue::Double(d) => format_g(*d),
            OptionValue::Str(s) => s.clone(),
        }
    }
}

/// The resolved options of one extractor instance: every option of its
/// table, set or defaulted.
#[derive(Clone, Debug)]
pub struct Options {
    feature: &'static str,
    specs: &'static [OptionSpec],
    values: Vec<OptionValue>,
}

impl PartialEq for Options {
    fn eq(&self, other: &Self) -> bool {
        self.feature == other.feature && self.values == other.values
    }
}

impl Options {
    /// Every option at its default.
    pub fn defaults(feature: &'static str, specs: &'static [OptionSpec]) -> Self {
        Options { feature, specs, values: specs.iter().map(OptionSpec::default_value).collect() }
    }

    /// Parses `key=value` pairs against `specs`; later pairs override
    /// earlier ones.
    pub fn parse<'a>(
        feature: &'static str,
        specs: &'static [OptionSpec],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self> {
        let mut o = Self::defaults(feature, specs);
        for (k, v) in pairs {
            o.set(k, v)?;
        }
        Ok(o)
    }

    /// Sets one option from its string form.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let i = self.specs.iter().position(|s| s.name == key).ok_or_else(|| Error::UnknownOption {
            feature: self.feature.to_owned(),
            option: key.to_owned(),
            known: if self.specs.is_empty() {
                "none".to_owned()
            } else {
                self.specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            },
        })?;
        self.values[i] = self.specs[i].parse(self.feature, value)?;
        Ok(())
    }

    fn get(&self, key: &str) -> &OptionValue {
        let i = self
            .specs
            .iter()
            .position(|s| s.name == key)
            .unwrap_or_else(|| panic!("extractor {} reads undeclared option {key}", self.feature));
        &self.values[i]
    }

    // The typed getters are called by extractors with their own option
    // names; a mismatch is a programming error in the extractor's table,
    // caught by its tests, never something user input can reach.
    pub fn bool(&self, key: &str) -> bool {
        match self.get(key) {
            OptionValue::Bool(b) => *b,
            v => panic!("option {key} is {v:?}, not a bool"),
        }
    }
    pub fn int(&self, key: &str) -> i32 {
        match self.get(key) {
            OptionValue::Int(i) => *i,
            v => panic!("option {key} is {v:?}, not an int"),
        }
    }
    pub fn double(&self, key: &str) -> f64 {
        match self.get(key) {
            OptionValue::Double(d) => *d,
            v => panic!("option {key} is {v:?}, not a double"),
        }
    }
    pub fn str(&self, key: &str) -> &str {
        match self.get(key) {
            OptionValue::Str(s) => s,
            v => panic!("option {key} is {v:?}, not a string"),
        }
    }

    /// The output name of `feature` under these options (libvmaf's
    /// `vmaf_feature_name_from_options`).
    pub fn feature_name(&self, feature: &str) -> String {
        let mut changed: Vec<(&OptionSpec, &OptionValue)> = self
            .specs
            .iter()
            .zip(&self.values)
            .filter(|(s, v)| s.feature_param && **v != s.default_value())
            .collect();
        if changed.is_empty() {
            return feature.to_owned();
        }
        changed.sort_by(|a, b| a.0.name.cmp(b.0.name));
        let mut out = crate::alias::alias(feature).to_owned();
        for (spec, value) in changed {
            let key = spec.alias.unwrap_or(spec.name);
            out.push('_');
            out.push_str(key);
            if !matches!(value, OptionValue::Bool(_)) {
                out.push('_');
                out.push_str(&value.name_fragment());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPECS: &[OptionSpec] = &[
        OptionSpec::bool("enable_chroma", true, "chroma"),
        OptionSpec::double("adm_enhn_gain_limit", 100.0, 1.0, 100.0, "egl").param("egl"),
        OptionSpec::int("n", 3, 1, 10, "n").param("n"),
        OptionSpec::bool("debug", false, "dbg").param("dbg"),
        OptionSpec::double("adm_csf_mode", 0.0, 0.0, 9.0, "csf").param("csf"),
    ];

    #[test]
    fn parses_and_checks_ranges() {
        let o = Options::parse("x", SPECS, [("enable_chroma", "false"), ("n", "4")]).unwrap();
        assert!(!o.bool("enable_chroma"));
        assert_eq!(o.int("n"), 4);
        assert!(matches!(
            Options::parse("x", SPECS, [("n", "11")]),
            Err(Error::BadOptionValue { .. })
        ));
        assert!(matches!(
            Options::parse("x", SPECS, [("n", "abc")]),
            Err(Error::BadOptionValue { .. })
        ));
        assert!(matches!(
            Options::parse("x", SPECS, [("enable_chroma", "yes")]),
            Err(Error::BadOptionValue { .. })
        ));
        assert!(matches!(
            Options::parse("x", SPECS, [("nope", "1")]),
            Err(Error::UnknownOption { .. })
        ));
    }

    #[test]
    fn names_follow_libvmaf() {
        let o = Options::defaults("x", SPECS);
        assert_eq!(o.feature_name("VMAF_integer_feature_adm2_score"), "VMAF_integer_feature_adm2_score");
        let o = Options::parse(
            "x",
            SPECS,
            [("adm_enhn_gain_limit", "1.0"), ("n", "5"), ("debug", "true"), ("adm_csf_mode", "2")],
        )
        .unwrap();
        // sorted by option name: adm_csf_mode, adm_enhn_gain_limit, debug, n
        assert_eq!(o.feature_name("VMAF_integer_feature_adm2_score"), "integer_adm2_csf_2_egl_1_dbg_n_5");
    }
}
