//! Reading libvmaf's JSON model files.
//!
//! A single model is an object with a `model_dict`; a bootstrap collection
//! is an object whose keys `"0"`, `"1"`, ... each hold such a model. Only
//! the keys libvmaf reads are interpreted (`param_dict`, `feature_dict` and
//! anything else are training-side data and are skipped). Where libvmaf
//! would fail late or silently (a missing `norm_type`, too few slopes, an
//! ill-formed knot list), loading fails here with the key named.

use serde_json::{Map, Value};

use crate::submodel::{
    check_knots, ChromaCorrection, ModelType, Norm, Submodel, Transform, MAX_FEATURES,
};
use crate::svm::Svm;
use crate::{normalize_numeric, ModelFeature};

/// What a model file holds.
pub enum Parsed {
    Single(Submodel),
    /// Model `"0"`, then the members `"1"`, `"2"`, ...
    Collection(Submodel, Vec<Submodel>),
}

/// Parses a whole model file; errors are messages naming the key path.
pub fn parse_file(text: &str) -> Result<Parsed, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let obj = root
        .as_object()
        .ok_or("the top level is not a JSON object")?;
    if obj.contains_key("model_dict") {
        return Ok(Parsed::Single(parse_model(obj, "")?));
    }
    // libvmaf reads the members in file order, taking the key that equals
    // the next expected number and skipping everything else.
    let mut members = Vec::new();
    for (key, value) in obj {
        if *key != members.len().to_string() {
            continue;
        }
        let at = format!("\"{key}\".");
        let m = value
            .as_object()
            .ok_or_else(|| format!("\"{key}\" is not an object"))?;
        if !m.contains_key("model_dict") {
            return Err(format!("{at}model_dict: missing"));
        }
        members.push(parse_model(m, &at)?);
    }
    if members.is_empty() {
        return Err("missing \"model_dict\" (and no bootstrap members \"0\", \"1\", ...)".into());
    }
    if members.len() < 2 {
        return Err("a bootstrap collection needs members \"0\" and at least \"1\"".into());
    }
    let main = members.remove(0);
    let kind = members[0].model_type;
    if kind == ModelType::Svr {
        return Err(
            "\"1\".model_dict.model_type: collection members must be BOOTSTRAP_LIBSVMNUSVR or \
                    RESIDUEBOOTSTRAP_LIBSVMNUSVR"
                .into(),
        );
    }
    if let Some(i) = members.iter().position(|m| m.model_type != kind) {
        return Err(format!(
            "\"{}\".model_dict.model_type differs from \"1\"",
            i + 1
        ));
    }
    Ok(Parsed::Collection(main, members))
}

fn number(v: &Value, at: &str) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("{at}: expected a number, found {}", kind_of(v)))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn numbers(v: &Value, at: &str) -> Result<Vec<f64>, String> {
    let a = v
        .as_array()
        .ok_or_else(|| format!("{at}: expected an array, found {}", kind_of(v)))?;
    a.iter()
        .enumerate()
        .map(|(i, x)| number(x, &format!("{at}[{i}]")))
        .collect()
}

fn string<'a>(v: &'a Value, at: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{at}: expected a string, found {}", kind_of(v)))
}

fn parse_model(obj: &Map<String, Value>, at: &str) -> Result<Submodel, String> {
    let at = format!("{at}model_dict");
    let d = obj
        .get("model_dict")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{at}: missing, or not an object"))?;
    let key = |k: &str| format!("{at}.{k}");
    let need = |k: &str| d.get(k).ok_or_else(|| format!("{at}: missing \"{k}\""));

    let model_type = match string(need("model_type")?, &key("model_type"))? {
        "LIBSVMNUSVR" => ModelType::Svr,
        "BOOTSTRAP_LIBSVMNUSVR" => ModelType::Bootstrap,
        "RESIDUEBOOTSTRAP_LIBSVMNUSVR" => ModelType::ResidueBootstrap,
        other => {
            return Err(format!(
                "{}: unknown model type \"{other}\" (known: LIBSVMNUSVR, BOOTSTRAP_LIBSVMNUSVR, \
                 RESIDUEBOOTSTRAP_LIBSVMNUSVR)",
                key("model_type")
            ))
        }
    };

    let names = need("feature_names")?
        .as_array()
        .ok_or_else(|| format!("{}: expected an array", key("feature_names")))?;
    if names.is_empty() || names.len() > MAX_FEATURES {
        return Err(format!(
            "{}: {} features (1 to {MAX_FEATURES} allowed)",
            key("feature_names"),
            names.len()
        ));
    }
    let mut features = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Ok(ModelFeature {
                name: string(n, &format!("{}[{i}]", key("feature_names")))?.to_owned(),
                options: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let n = features.len();

    if let Some(v) = d.get("feature_opts_dicts") {
        let k = key("feature_opts_dicts");
        let dicts = v
            .as_array()
            .ok_or_else(|| format!("{k}: expected an array"))?;
        if dicts.len() > n {
            return Err(format!("{k}: {} option sets for {n} features", dicts.len()));
        }
        for (i, dict) in dicts.iter().enumerate() {
            let dict = dict
                .as_object()
                .ok_or_else(|| format!("{k}[{i}]: expected an object"))?;
            for (opt, val) in dict {
                let value = match val {
                    // libvmaf stores numbers as C's "%g" of the float the
                    // text reads as; the extractor then parses that string.
                    Value::Number(num) => normalize_numeric(&num.to_string())
                        .ok_or_else(|| format!("{k}[{i}].{opt}: bad number {num}"))?,
                    Value::Bool(b) => b.to_string(),
                    Value::String(s) => s.clone(),
                    other => {
                        return Err(format!(
                            "{k}[{i}].{opt}: unsupported value {}",
                            kind_of(other)
                        ))
                    }
                };
                features[i].options.push((opt.clone(), value));
            }
        }
    }

    let norm = match string(need("norm_type")?, &key("norm_type"))? {
        "none" => Norm::None,
        "linear_rescale" => {
            let slopes = numbers(need("slopes")?, &key("slopes"))?;
            let intercepts = numbers(need("intercepts")?, &key("intercepts"))?;
            for (k, v) in [("slopes", &slopes), ("intercepts", &intercepts)] {
                if v.len() != n + 1 {
                    return Err(format!(
                        "{}: {} values, expected {} (one for the score, then one per feature)",
                        key(k),
                        v.len(),
                        n + 1
                    ));
                }
            }
            Norm::LinearRescale {
                slope: slopes[0],
                intercept: intercepts[0],
                features: slopes[1..]
                    .iter()
                    .copied()
                    .zip(intercepts[1..].iter().copied())
                    .collect(),
            }
        }
        other => {
            return Err(format!(
                "{}: unknown \"{other}\" (known: linear_rescale, none)",
                key("norm_type")
            ))
        }
    };

    let clip = match d.get("score_clip") {
        None => None,
        Some(v) => match numbers(v, &key("score_clip"))?.as_slice() {
            [lo, hi, ..] => Some((*lo, *hi)),
            _ => return Err(format!("{}: expected [min, max]", key("score_clip"))),
        },
    };

    let transform = match d.get("score_transform") {
        None => Transform::default(),
        Some(v) => parse_transform(v, &key("score_transform"))?,
    };

    let chroma = match d.get("chroma_correction_parameter") {
        None => None,
        Some(v) => {
            let k = key("chroma_correction_parameter");
            let parameter = number(v, &k)?;
            if parameter == 0.0 {
                // libvmaf stops predicting (and writes no score) when it is 0.
                return Err(format!("{k}: must not be 0"));
            }
            let only = |needle: &str| {
                let hits: Vec<usize> = features
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.name.contains(needle))
                    .map(|(i, _)| i)
                    .collect();
                match hits.as_slice() {
                    [i] => Ok(*i),
                    _ => Err(format!(
                        "{k}: needs exactly one feature named like \"{needle}\", found {}",
                        hits.len()
                    )),
                }
            };
            Some(ChromaCorrection {
                parameter,
                guiding: only("adm3")?,
                guided: only("speed_chroma")?,
            })
        }
    };

    let text = string(need("model")?, &key("model"))?;
    let svm = Svm::parse(text).map_err(|e| format!("{}: libsvm model: {e}", key("model")))?;

    Ok(Submodel {
        model_type,
        features,
        slots: (0..n).collect(),
        norm,
        clip,
        transform,
        chroma,
        svm,
    })
}

fn parse_transform(v: &Value, at: &str) -> Result<Transform, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{at}: expected an object"))?;
    let mut t = Transform {
        present: true,
        ..Default::default()
    };
    for (k, v) in obj {
        let key = format!("{at}.{k}");
        match k.as_str() {
            "enabled" => {
                t.enabled = v
                    .as_bool()
                    .ok_or_else(|| format!("{key}: expected true or false"))?
            }
            "p0" | "p1" | "p2" => {
                let p = if v.is_null() {
                    None
                } else {
                    Some(number(v, &key)?)
                };
                match k.as_str() {
                    "p0" => t.p0 = p,
                    "p1" => t.p1 = p,
                    _ => t.p2 = p,
                }
            }
            "knots" => {
                t.knots = match v {
                    Value::Null => Vec::new(),
                    Value::Array(points) => points
                        .iter()
                        .enumerate()
                        .map(
                            |(i, p)| match numbers(p, &format!("{key}[{i}]"))?.as_slice() {
                                [x, y] => Ok((*x, *y)),
                                _ => Err(format!("{key}[{i}]: expected [x, y]")),
                            },
                        )
                        .collect::<Result<_, String>>()?,
                    other => {
                        return Err(format!(
                            "{key}: expected an array, found {}",
                            kind_of(other)
                        ))
                    }
                };
                check_knots(&t.knots).map_err(|e| format!("{key}: {e}"))?;
            }
            // The files spell these as the strings "true"/"false".
            "out_lte_in" | "out_gte_in" => {
                let on = match v {
                    Value::String(s) => s == "true",
                    Value::Bool(b) => *b,
                    other => {
                        return Err(format!(
                            "{key}: expected \"true\" or \"false\", found {}",
                            kind_of(other)
                        ))
                    }
                };
                if k == "out_lte_in" {
                    t.out_lte_in = on;
                } else {
                    t.out_gte_in = on;
                }
            }
            _ => {}
        }
    }
    Ok(t)
}
