//! Unit tests: every model parses, errors name the file and key, and fed
//! libvmaf's own printed feature values every model reproduces libvmaf's
//! printed scores.
//!
//! The goldens print features with 6 decimals, so predictions from them can
//! only agree to about 1e-4; exact agreement is checked end to end (real
//! extractors, full precision) by `crates/vmaf/tests/model_parity.rs`.

use std::path::PathBuf;

use super::*;

fn shared_dir(env: &str, sub: &str) -> PathBuf {
    let dir = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared")
            .join(sub)
    });
    assert!(dir.is_dir(), "{} not found: set {env}", dir.display());
    dir
}

fn golden_dir() -> PathBuf {
    shared_dir("VMAF_GOLDEN_DIR", "golden")
}

fn upstream_models_dir() -> PathBuf {
    shared_dir("VMAF_MODELS_DIR", "models").join("upstream-only")
}

const V1_MODELS: &[&str] = &[
    "1d5h_2160",
    "3d0h",
    "3d0h_2160",
    "5d0h",
    "hfr_1d5h_2160",
    "hfr_3d0h",
    "hfr_3d0h_2160",
    "hfr_5d0h",
];

#[test]
fn every_builtin_parses() {
    for v in builtin_versions() {
        let m = Model::builtin(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(m.label(), v);
        assert_eq!(m.name(), "vmaf");
        let float = v.contains("float");
        let prefix = if float {
            "VMAF_feature_"
        } else {
            "VMAF_integer_feature_"
        };
        let names: Vec<&str> = m.features().iter().map(|f| f.name.as_str()).collect();
        let want: Vec<String> = [
            "adm2",
            "motion2",
            "vif_scale0",
            "vif_scale1",
            "vif_scale2",
            "vif_scale3",
        ]
        .iter()
        .map(|f| format!("{prefix}{f}_score"))
        .collect();
        assert_eq!(names, want, "{v}");
        let neg = v.ends_with("neg");
        for f in m.features() {
            let egl = f
                .options
                .iter()
                .find(|(k, _)| k.ends_with("_enhn_gain_limit"));
            match (neg, f.name.contains("motion")) {
                (true, false) => {
                    assert_eq!(egl.map(|(_, v)| v.as_str()), Some("1"), "{v} {}", f.name)
                }
                _ => assert!(f.options.is_empty(), "{v} {}: {:?}", f.name, f.options),
            }
        }
        if v.contains("_b_") {
            assert!(m.is_collection());
            assert_eq!(m.model_type(), ModelType::Bootstrap);
            let outs = m.output_names();
            assert_eq!(outs.len(), 1 + 20 + 4);
            assert_eq!(outs[0], "vmaf");
            assert_eq!(outs[1], "vmaf_0001");
            assert_eq!(outs[20], "vmaf_0020");
            assert_eq!(
                &outs[21..],
                [
                    "vmaf_bagging",
                    "vmaf_stddev",
                    "vmaf_ci_p95_lo",
                    "vmaf_ci_p95_hi"
                ]
            );
        } else {
            assert!(!m.is_collection());
            assert_eq!(m.output_names(), ["vmaf"]);
        }
    }
}

#[test]
fn upstream_only_models_load_from_path() {
    let dir = upstream_models_dir();
    let neg = Model::from_path(dir.join("vmaf_4k_v0.6.1neg.json")).unwrap();
    assert_eq!(neg.features().len(), 6);
    for v in V1_MODELS {
        let p = dir.join(format!("vmaf_v1.0.16_{v}.json"));
        let m = Model::from_path(&p).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = m.features().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Cambi_feature_cambi_score",
                "Speed_chroma_feature_speed_chroma_uv_score",
                "VMAF_integer_feature_adm3_score",
                "VMAF_integer_feature_motion3_score"
            ],
            "{v}"
        );
        assert!(m.main.chroma.is_some(), "{v}: chroma correction");
        assert!(
            m.main.transform.enabled,
            "{v}: transform enabled in the file"
        );
        let cambi = &m.features()[0].options;
        assert!(
            cambi.contains(&("cambi_vis_lum_threshold".into(), "0.06".into())),
            "{cambi:?}"
        );
        assert!(
            cambi.contains(&("cambi_max_val".into(), "17".into())),
            "{cambi:?}"
        );
    }
}

#[test]
fn model_numbers_read_as_strtod_reads_them() {
    // serde_json must round every number correctly (float_roundtrip), as
    // the C parser's strtod does: compare against Rust's own correctly
    // rounded parse of the raw text.
    let text = include_str!("../models/vmaf_v0.6.1.json");
    let m = Model::builtin("vmaf_v0.6.1").unwrap();
    for key in ["slopes", "intercepts"] {
        let start = text.find(&format!("\"{key}\"")).unwrap();
        let open = start + text[start..].find('[').unwrap();
        let close = open + text[open..].find(']').unwrap();
        let raw: Vec<f64> = text[open + 1..close]
            .split(',')
            .map(|t| t.trim().parse().unwrap())
            .collect();
        let submodel::Norm::LinearRescale {
            slope,
            intercept,
            features,
        } = &m.main.norm
        else {
            panic!("linear_rescale expected")
        };
        let parsed: Vec<f64> = if key == "slopes" {
            std::iter::once(*slope)
                .chain(features.iter().map(|f| f.0))
                .collect()
        } else {
            std::iter::once(*intercept)
                .chain(features.iter().map(|f| f.1))
                .collect()
        };
        assert_eq!(parsed.len(), raw.len());
        for (a, b) in parsed.iter().zip(&raw) {
            assert_eq!(a.to_bits(), b.to_bits(), "{key}: {a:e} vs {b:e}");
        }
    }
}

#[test]
fn errors_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    match Model::from_path(&missing) {
        Err(Error::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ \"model_dict\": ").unwrap();
    let e = Model::from_path(&bad).unwrap_err();
    assert!(
        matches!(&e, Error::BadInput { path, .. } if *path == bad),
        "{e}"
    );
    assert!(e.to_string().contains("not valid JSON"), "{e}");

    // Drop one key at a time from a real model: each error names it.
    let full: serde_json::Value =
        serde_json::from_str(include_str!("../models/vmaf_v0.6.1.json")).unwrap();
    for key in [
        "model_type",
        "feature_names",
        "norm_type",
        "slopes",
        "intercepts",
        "model",
    ] {
        let mut v = full.clone();
        v["model_dict"].as_object_mut().unwrap().remove(key);
        let p = dir.path().join(format!("no_{key}.json"));
        std::fs::write(&p, v.to_string()).unwrap();
        let e = Model::from_path(&p).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains(p.to_str().unwrap()) && s.contains(&format!("missing \"{key}\"")),
            "{s}"
        );
    }
    let mut v = full.clone();
    v["model_dict"]["slopes"].as_array_mut().unwrap().pop();
    let e = Model::from_json(&v.to_string(), "short")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model_dict.slopes") && e.contains("expected 7"),
        "{e}"
    );
    let mut v = full.clone();
    v["model_dict"]["model"] = "svm_type nu_svr\nkernel_type rbf\n".into();
    let e = Model::from_json(&v.to_string(), "svm")
        .unwrap_err()
        .to_string();
    assert!(e.contains("model_dict.model") && e.contains("SV"), "{e}");
    let mut v = full.clone();
    v["model_dict"]["score_transform"]["knots"] = serde_json::json!([[0, 0], [10, 5], [5, 20]]);
    let e = Model::from_json(&v.to_string(), "knots")
        .unwrap_err()
        .to_string();
    assert!(e.contains("score_transform.knots"), "{e}");
    let e = Model::from_json("{\"param_dict\": {}}", "empty")
        .unwrap_err()
        .to_string();
    assert!(e.contains("model_dict"), "{e}");
    let pkl = dir.path().join("old.pkl");
    std::fs::write(&pkl, "\u{80}junk").unwrap();
    assert!(Model::from_path(&pkl).is_err());

    let e = Model::builtin("vmaf_v9").unwrap_err().to_string();
    assert!(e.contains("vmaf_v9") && e.contains("vmaf_v0.6.1"), "{e}");
    let e = Model::builtin("vmaf_v1.0.16_3d0h").unwrap_err().to_string();
    assert!(e.contains("path="), "{e}");
}

#[test]
fn collection_members_are_read_in_order() {
    let one: serde_json::Value =
        serde_json::from_str(include_str!("../models/vmaf_v0.6.1.json")).unwrap();
    let mut member = one.clone();
    member["model_dict"]["model_type"] = "BOOTSTRAP_LIBSVMNUSVR".into();
    // "2" before "1" is skipped, as libvmaf's reader skips it.
    let text = serde_json::json!({ "0": member, "2": member, "1": member }).to_string();
    let m = Model::from_json(&text, "c").unwrap();
    assert_eq!(m.members.len(), 1);
    let lone = serde_json::json!({ "0": member }).to_string();
    assert!(Model::from_json(&lone, "c").is_err());
    let plain = serde_json::json!({ "0": member, "1": one }).to_string();
    assert!(Model::from_json(&plain, "c")
        .unwrap_err()
        .to_string()
        .contains("model_type"));
}

#[test]
fn numeric_normalisation_is_libvmafs() {
    assert_eq!(normalize_numeric("1.0").as_deref(), Some("1"));
    assert_eq!(normalize_numeric("0.06").as_deref(), Some("0.06"));
    assert_eq!(normalize_numeric("2160").as_deref(), Some("2160"));
    assert_eq!(
        normalize_numeric(" 0.123456789 ").as_deref(),
        Some("0.123457")
    );
    assert_eq!(normalize_numeric("1e7").as_deref(), Some("1e+07"));
    assert_eq!(normalize_numeric("bilinear"), None);
    assert_eq!(normalize_numeric("1.5x"), None);
}

#[test]
fn model_args_parse_like_libvmaf() {
    let a =
        ModelArg::parse("version=vmaf_v0.6.1neg:name=neg:disable_clip:vif.vif_enhn_gain_limit=1.0")
            .unwrap();
    assert_eq!(a.source, ModelSource::Version("vmaf_v0.6.1neg".into()));
    assert_eq!(
        a.config,
        ModelConfig {
            name: "neg".into(),
            disable_clip: true,
            enable_transform: false
        }
    );
    assert_eq!(
        a.overloads,
        [FeatureOverload {
            extractor: "vif".into(),
            option: "vif_enhn_gain_limit".into(),
            value: "1.0".into()
        }]
    );
    let a = ModelArg::parse("path=/x/m.json:enable_transform=true:disable_clip=false").unwrap();
    assert_eq!(a.source, ModelSource::Path("/x/m.json".into()));
    assert!(a.config.enable_transform && !a.config.disable_clip);
    assert_eq!(a.label(), "/x/m.json");
    for bad in [
        "name=x",
        "version=a:path=b",
        "version=a:bogus",
        "version=a:x.=1",
        "version=a:disable_clip=maybe",
        "",
    ] {
        assert!(
            matches!(ModelArg::parse(bad), Err(Error::Usage(_))),
            "{bad}"
        );
    }
    let m = ModelArg::parse("version=vmaf_b_v0.6.3:name=vmaf_b")
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(m.output_names()[1], "vmaf_b_0001");
    assert_eq!(ModelArg::default().load().unwrap().label(), DEFAULT_VERSION);
}

#[test]
fn overload_replaces_and_adds_options() {
    let mut m = Model::builtin("vmaf_v0.6.1neg").unwrap();
    m.overload(
        |f| f.contains("vif"),
        &[
            ("vif_enhn_gain_limit".into(), "1.50".into()),
            ("debug".into(), "true".into()),
        ],
    );
    let vif = m
        .features()
        .iter()
        .find(|f| f.name.ends_with("vif_scale0_score"))
        .unwrap();
    assert_eq!(
        vif.options,
        [
            ("vif_enhn_gain_limit".into(), "1.5".into()),
            ("debug".into(), "true".into())
        ]
    );
    let adm = m
        .features()
        .iter()
        .find(|f| f.name.ends_with("adm2_score"))
        .unwrap();
    assert_eq!(
        adm.options,
        [("adm_enhn_gain_limit".to_string(), "1".to_string())]
    );
    // A collection overloads every member; identical members still merge.
    let mut b = Model::builtin("vmaf_b_v0.6.3").unwrap();
    b.overload(
        |f| f.contains("motion"),
        &[("motion_force_zero".into(), "true".into())],
    );
    assert_eq!(b.features().len(), 6);
    assert!(b.members.iter().all(|s| s.features[1].options.len() == 1));
}

#[test]
fn clip_and_transform_switches() {
    let m = Model::builtin("vmaf_v0.6.1").unwrap();
    let unclipped = m.clone().with_config(ModelConfig {
        disable_clip: true,
        ..Default::default()
    });
    // Frames far outside the training range: take the first whose raw
    // score leaves [0, 100].
    let x = (0..=20)
        .map(|i| {
            let v = i as f64 / 20.0;
            [v, 40.0 * (1.0 - v), v, v, v, v]
        })
        .find(|x| !(0.0..=100.0).contains(&unclipped.predict(x).unwrap()))
        .expect("some frame scores outside [0, 100] before clipping");
    let clipped = m.predict(&x).unwrap();
    let raw = unclipped.predict(&x).unwrap();
    assert_eq!(clipped, raw.clamp(0.0, 100.0));
    assert!(raw != clipped, "raw {raw} should fall outside [0, 100]");
    let t = &m.main.transform;
    let poly = t.p0.unwrap() + t.p1.unwrap() * raw + t.p2.unwrap() * raw * raw;
    let cfg = ModelConfig {
        disable_clip: true,
        enable_transform: true,
        ..Default::default()
    };
    let transformed = m.clone().with_config(cfg).predict(&x).unwrap();
    assert_eq!(transformed, poly.max(raw));
    assert!(m.predict(&x[..5]).is_err());
}

fn option_alias(option: &str) -> Option<(&'static str, &'static str)> {
    // (alias, default as "%g") of the feature-parameter options the models
    // use, as libvmaf's extractors declare them.
    Some(match option {
        "adm_enhn_gain_limit" | "vif_enhn_gain_limit" => ("egl", "100"),
        "adm_csf_mode" => ("csf", "0"),
        "adm_dlm_weight" => ("dlmw", "0.5"),
        "adm_min_val" => ("min", "0"),
        "adm_noise_weight" => ("nw", "0.03125"),
        "adm_norm_view_dist" => ("nvd", "3"),
        "adm_ref_display_height" => ("rdh", "1080"),
        "motion_max_val" => ("mmxv", "10000"),
        "motion_five_frame_window" => ("mffw", "false"),
        "motion_moving_average" => ("mma", "false"),
        "cambi_high_res_speedup" => ("hrs", "0"),
        "cambi_max_val" => ("cmxv", "1000"),
        "cambi_vis_lum_threshold" => ("vlt", "0"),
        "speed_nn_floor" => ("nnf", "0"),
        "speed_sigma_nn" => ("snn", "0.29"),
        "speed_weight_var_mode" => ("wvm", "0"),
        "speed_max_val" => ("mxv", "1000"),
        "speed_prescale" => ("ps", "1"),
        "speed_prescale_method" => ("psm", "nearest"),
        "speed_kernelscale" => ("ks", "1"),
        _ => return None,
    })
}

/// The key libvmaf's JSON output prints a model feature under.
fn golden_key(f: &ModelFeature) -> String {
    let mut opts: Vec<&(String, String)> = f.options.iter().collect();
    opts.sort_by(|a, b| a.0.cmp(&b.0));
    let mut key = vmaf_core::alias::alias(&f.name).to_owned();
    for (k, v) in opts {
        let (alias, default) =
            option_alias(k).unwrap_or_else(|| panic!("option {k} not in the test's table"));
        if v != default {
            key.push('_');
            key.push_str(alias);
            if v != "true" {
                key.push('_');
                key.push_str(v);
            }
        }
    }
    key
}

struct Checked {
    values: usize,
    worst: f64,
}

/// Feeds every frame of a golden into `models` and compares every output.
fn check_golden(file: &std::path::Path, models: &[Model], tol: f64, c: &mut Checked) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let frames = json["frames"].as_array().expect("frames");
    assert!(!frames.is_empty());
    let mut out = Vec::new();
    for frame in frames {
        let metrics = frame["metrics"].as_object().unwrap();
        let get = |k: &str| {
            metrics
                .get(k)
                .and_then(|v| v.as_f64())
                .unwrap_or_else(|| panic!("{}: no {k}", file.display()))
        };
        for m in models {
            let x: Vec<f64> = m.features().iter().map(|f| get(&golden_key(f))).collect();
            m.predict_all(&x, &mut out).unwrap();
            assert_eq!(m.predict(&x).unwrap(), out[0]);
            for (name, got) in m.output_names().iter().zip(&out) {
                let want = get(name);
                let d = (got - want).abs();
                assert!(
                    d <= tol,
                    "{} frame {} {name}: predicted {got:.6}, libvmaf {want:.6}",
                    file.display(),
                    frame["frameNum"]
                );
                c.worst = c.worst.max(d);
                c.values += 1;
            }
        }
    }
}

fn named(version: &str, name: &str) -> Model {
    Model::builtin(version).unwrap().with_config(ModelConfig {
        name: name.into(),
        ..Default::default()
    })
}

#[test]
fn predictions_match_goldens_from_printed_features() {
    let dir = golden_dir();
    let default = [named("vmaf_v0.6.1", "vmaf")];
    let full = [
        named("vmaf_v0.6.1", "vmaf"),
        named("vmaf_v0.6.1neg", "vmaf_neg"),
        named("vmaf_4k_v0.6.1", "vmaf_4k"),
        named("vmaf_float_v0.6.1", "vmaf_float"),
        named("vmaf_b_v0.6.3", "vmaf_b"),
    ];
    let mut c = Checked {
        values: 0,
        worst: 0.0,
    };
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        // luma-*: the odd-size pair's goldens (see golden/README.md).
        let models: &[Model] =
            if name.ends_with("default.json") || name.ends_with("subsample3.json") {
                &default
            } else if name.ends_with("full.json") {
                &full
            } else {
                continue;
            };
        check_golden(&p, models, 1e-3, &mut c);
        files += 1;
    }
    assert!(
        files >= 30,
        "only {files} golden files in {}",
        dir.display()
    );
    assert!(c.values > 5_000, "only {} values compared", c.values);
    eprintln!(
        "{files} goldens, {} outputs, worst difference {:.2e}",
        c.values, c.worst
    );
}

#[test]
fn v1_models_match_goldens_from_printed_features() {
    let dir = golden_dir();
    let models: Vec<Model> = V1_MODELS
        .iter()
        .map(|v| {
            Model::from_path(upstream_models_dir().join(format!("vmaf_v1.0.16_{v}.json")))
                .unwrap()
                .with_config(ModelConfig {
                    name: format!("v1_{v}"),
                    ..Default::default()
                })
        })
        .collect();
    let mut c = Checked {
        values: 0,
        worst: 0.0,
    };
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.to_str().unwrap().ends_with(".v1.json") {
            check_golden(&p, &models, 1e-3, &mut c);
            files += 1;
        }
    }
    assert!(files >= 10, "only {files} v1 goldens");
    eprintln!(
        "{files} v1 goldens, {} outputs, worst difference {:.2e}",
        c.values, c.worst
    );
}
