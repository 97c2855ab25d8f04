//! Command-line parsing with libvmaf's `vmaf` flags and meanings.
//!
//! The grammar is getopt_long's, as libvmaf uses it: short options take
//! their value attached (`-rref.y4m`) or as the next argument, long options
//! as `--name value` or `--name=value`, and a long option may be shortened
//! to any unambiguous prefix. `--feature` and `--model` values use libvmaf's
//! `name=opt=value:opt2=value` syntax. Errors are returned, never printed
//! here, so `main` prints one line and exits non-zero.

use std::path::PathBuf;

use vmaf::output::{OutputFormat, Precision};
use vmaf::{Backend, ModelArg};
use vmaf_core::ChromaSampling;

/// One `--feature` request: extractor name and its options.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureArg {
    pub name: String,
    pub options: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub reference: PathBuf,
    pub distorted: PathBuf,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub pixel_format: Option<ChromaSampling>,
    pub bit_depth: Option<u8>,
    pub models: Vec<ModelArg>,
    pub features: Vec<FeatureArg>,
    pub output: Option<PathBuf>,
    pub format: OutputFormat,
    /// How scores are printed (`--precision`, from the lusoris/vmaf fork).
    pub precision: Precision,
    pub threads: u32,
    pub subsample: u32,
    pub cpumask: u32,
    pub gpumask: u32,
    pub frame_cnt: u32,
    pub frame_skip_ref: u32,
    pub frame_skip_dist: u32,
    pub no_prediction: bool,
    pub quiet: bool,
    /// Scale the lower bit depth up to the higher one (AOM CTC v6+).
    pub common_bitdepth: bool,
    pub backend: Backend,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Score(Box<Settings>),
    Version,
    Help,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Opt {
    Reference,
    Distorted,
    Width,
    Height,
    PixelFormat,
    BitDepth,
    Model,
    Output,
    Xml,
    Json,
    Csv,
    Sub,
    Precision,
    Threads,
    Feature,
    Subsample,
    CpuMask,
    GpuMask,
    AomCtc,
    NflxCtc,
    FrameCnt,
    FrameSkipRef,
    FrameSkipDist,
    NoPrediction,
    Version,
    Quiet,
    Backend,
    Help,
}

/// (long name, short letter, takes a value, option)
const OPTS: &[(&str, Option<char>, bool, Opt)] = &[
    ("reference", Some('r'), true, Opt::Reference),
    ("distorted", Some('d'), true, Opt::Distorted),
    ("width", Some('w'), true, Opt::Width),
    ("height", Some('h'), true, Opt::Height),
    ("pixel_format", Some('p'), true, Opt::PixelFormat),
    ("bitdepth", Some('b'), true, Opt::BitDepth),
    ("model", Some('m'), true, Opt::Model),
    ("output", Some('o'), true, Opt::Output),
    ("xml", None, false, Opt::Xml),
    ("json", None, false, Opt::Json),
    ("csv", None, false, Opt::Csv),
    ("sub", None, false, Opt::Sub),
    ("precision", None, true, Opt::Precision),
    ("threads", None, true, Opt::Threads),
    ("feature", None, true, Opt::Feature),
    ("subsample", None, true, Opt::Subsample),
    ("cpumask", None, true, Opt::CpuMask),
    ("gpumask", None, true, Opt::GpuMask),
    ("aom_ctc", None, true, Opt::AomCtc),
    ("nflx_ctc", None, true, Opt::NflxCtc),
    ("frame_cnt", None, true, Opt::FrameCnt),
    ("frame_skip_ref", None, true, Opt::FrameSkipRef),
    ("frame_skip_dist", None, true, Opt::FrameSkipDist),
    ("no_prediction", Some('n'), false, Opt::NoPrediction),
    ("version", Some('v'), false, Opt::Version),
    ("quiet", Some('q'), false, Opt::Quiet),
    ("backend", None, true, Opt::Backend),
    ("help", None, false, Opt::Help),
];

pub const USAGE: &str = "\
Usage: vmaf [options]

Supported options:
 --reference/-r $path:        path to reference .y4m or .yuv (- for stdin)
 --distorted/-d $path:        path to distorted .y4m or .yuv (- for stdin)
 --width/-w $unsigned:        width
 --height/-h $unsigned:       height
 --pixel_format/-p: $string   pixel format (420/422/444/400)
 --bitdepth/-b $unsigned:     bitdepth (8/10/12/16)
 --model/-m $params:          model parameters, colon \":\" delimited
                              `path=` path to model file
                              `version=` built-in model version
                              `name=` name used in log (optional)
 --output/-o $path:           output file
 --xml:                       write output file as XML (default)
 --json:                      write output file as JSON
 --csv:                       write output file as CSV
 --sub:                       write output file as subtitle
 --precision $spec:           score output precision (lusoris/vmaf fork)
                              N (1..17): printf \"%.<N>g\"
                              max|full: \"%.17g\" (reads back exactly)
                              legacy: libvmaf's %.6f (the default)
 --threads $unsigned:         number of threads to use
 --feature $string:           additional feature
 --cpumask: $bitmask          restrict permitted CPU instruction sets
 --gpumask: $bitmask          restrict permitted GPU operations
 --frame_cnt $unsigned:       maximum number of frames to process
 --frame_skip_ref $unsigned:  skip the first N frames in reference
 --frame_skip_dist $unsigned: skip the first N frames in distorted
 --subsample: $unsigned       compute scores only every N frames
 --aom_ctc $version:          AOM common test conditions (v1.0 .. v7.0)
 --nflx_ctc $version:         Netflix common test conditions (v1.0)
 --backend cpu|cuda[:N]:      where to compute (default cpu; cuda device N)
 --quiet/-q:                  disable the progress bar
 --no_prediction/-n:          no prediction, extract features only
 --version/-v:                print version and exit
";

fn lookup_long(name: &str) -> Result<(bool, Opt), String> {
    if let Some(&(_, _, v, o)) = OPTS.iter().find(|(l, ..)| *l == name) {
        return Ok((v, o));
    }
    let matches: Vec<_> = OPTS.iter().filter(|(l, ..)| l.starts_with(name)).collect();
    match matches.as_slice() {
        [(_, _, v, o)] => Ok((*v, *o)),
        [] => Err(format!("unknown option --{name}")),
        many => Err(format!(
            "option --{name} is ambiguous ({})",
            many.iter().map(|(l, ..)| format!("--{l}")).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn display_name(o: Opt) -> String {
    let (l, s, ..) = OPTS.iter().find(|(.., x)| *x == o).expect("every option is in the table");
    match s {
        Some(c) => format!("-{c}/--{l}"),
        None => format!("--{l}"),
    }
}

/// libvmaf's strtoul(.., 0): decimal, 0x hex or 0 octal, whole string.
fn parse_unsigned(o: Opt, v: &str) -> Result<u32, String> {
    let bad = || format!("invalid argument \"{v}\" for option {}; should be an integer", display_name(o));
    let t = v.trim();
    let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(h, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        u32::from_str_radix(&t[1..], 8)
    } else {
        t.parse::<u32>()
    };
    parsed.map_err(|_| bad())
}

/// `name=opt=value:opt2=value2`
pub fn parse_feature(v: &str) -> Result<FeatureArg, String> {
    let (name, rest) = match v.split_once('=') {
        Some((n, r)) => (n, Some(r)),
        None => (v, None),
    };
    if name.is_empty() {
        return Err(format!("problem parsing feature \"{v}\": no feature name"));
    }
    let mut options = Vec::new();
    if let Some(rest) = rest {
        for kv in rest.split(':').filter(|s| !s.is_empty()) {
            let mut it = kv.splitn(3, '=');
            let key = it.next().unwrap_or_default();
            match it.next() {
                Some(val) if !key.is_empty() => options.push((key.to_owned(), val.to_owned())),
                _ => {
                    return Err(format!(
                        "problem parsing feature \"{name}\": bad option string \"{kv}\" (expected option=value)"
                    ))
                }
            }
        }
    }
    Ok(FeatureArg { name: name.to_owned(), options })
}

fn parse_backend(v: &str) -> Result<Backend, String> {
    match v {
        "cpu" => Ok(Backend::Cpu),
        "cuda" => Ok(Backend::Cuda { device: 0 }),
        _ => match v.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(device)) => Ok(Backend::Cuda { device }),
            _ => Err(format!("invalid argument \"{v}\" for option --backend; should be cpu, cuda or cuda:N")),
        },
    }
}

fn replace_feature(list: &mut Vec<FeatureArg>, f: FeatureArg) {
    match list.iter_mut().find(|x| x.name == f.name) {
        Some(x) => *x = f,
        None => list.push(f),
    }
}

fn feature(s: &str) -> FeatureArg {
    parse_feature(s).expect("built-in feature strings parse")
}

fn model(s: &str) -> ModelArg {
    ModelArg::parse(s).expect("built-in model strings parse")
}

fn aom_ctc(s: &mut Settings, version: &str) -> Result<(), String> {
    let level = match version {
        "v1.0" => 1,
        "v2.0" => 2,
        "v3.0" => 3,
        "v4.0" => 4,
        "v5.0" => 5,
        "v6.0" => 6,
        "v7.0" => 7,
        "proposed" => return Err("`--aom_ctc proposed` is deprecated".into()),
        _ => return Err(format!("bad aom_ctc version \"{version}\" (v1.0 .. v7.0)")),
    };
    s.models.push(model("version=vmaf_v0.6.1:name=vmaf"));
    s.models.push(model("version=vmaf_v0.6.1neg:name=vmaf_neg"));
    s.features.push(feature("psnr=reduced_hbd_peak=true:enable_apsnr=true:min_sse=0.5"));
    s.features.push(feature("ciede"));
    s.features.push(feature("float_ssim=enable_db=true:clip_db=true"));
    s.features.push(feature("float_ms_ssim=enable_db=true:clip_db=true"));
    s.features.push(feature("psnr_hvs"));
    if level >= 3 {
        s.features.push(feature("cambi"));
    }
    if level >= 6 {
        s.common_bitdepth = true;
    }
    if level >= 7 {
        replace_feature(&mut s.features, feature("float_ssim=scale=1:enable_db=true:clip_db=true"));
    }
    Ok(())
}

fn nflx_ctc(s: &mut Settings, version: &str) -> Result<(), String> {
    if version != "v1.0" {
        return Err(format!("bad nflx_ctc version \"{version}\" (v1.0)"));
    }
    s.models.push(model("version=vmaf_4k_v0.6.1:name=vmaf"));
    s.models.push(model("version=vmaf_4k_v0.6.1neg:name=vmaf_neg"));
    s.features.push(feature("psnr=enable_chroma=true:enable_apsnr=true"));
    s.features.push(feature("float_ssim=enable_db=true:clip_db=true"));
    s.features.push(feature("cambi"));
    Ok(())
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut s = Settings {
        reference: PathBuf::new(),
        distorted: PathBuf::new(),
        width: None,
        height: None,
        pixel_format: None,
        bit_depth: None,
        models: Vec::new(),
        features: Vec::new(),
        output: None,
        format: OutputFormat::Xml,
        precision: Precision::Default,
        threads: 0,
        subsample: 0,
        cpumask: 0,
        gpumask: 0,
        frame_cnt: 0,
        frame_skip_ref: 0,
        frame_skip_dist: 0,
        no_prediction: false,
        quiet: false,
        common_bitdepth: false,
        backend: Backend::Cpu,
    };
    let (mut reference, mut distorted) = (None, None);
    let mut use_yuv = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // (option, attached value)
        let (opt, takes, attached): (Opt, bool, Option<String>) = if let Some(long) = arg.strip_prefix("--") {
            let (name, val) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let (takes, o) = lookup_long(name)?;
            if !takes && val.is_some() {
                return Err(format!("option --{name} takes no value"));
            }
            (o, takes, val)
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            let c = short.chars().next().unwrap_or_default();
            let &(_, _, takes, o) = OPTS
                .iter()
                .find(|(_, s, ..)| *s == Some(c))
                .ok_or_else(|| format!("unknown option -{c}"))?;
            let rest = &short[c.len_utf8()..];
            if !takes && !rest.is_empty() {
                // getopt allows grouped flags such as -nq
                for extra in rest.chars() {
                    match OPTS.iter().find(|(_, s, ..)| *s == Some(extra)) {
                        Some(&(_, _, false, Opt::NoPrediction)) => s.no_prediction = true,
                        Some(&(_, _, false, Opt::Quiet)) => s.quiet = true,
                        Some(&(_, _, false, Opt::Version)) => return Ok(Command::Version),
                        _ => return Err(format!("unknown option -{extra} in \"{arg}\"")),
                    }
                }
            }
            (o, takes, if takes && !rest.is_empty() { Some(rest.to_owned()) } else { None })
        } else {
            return Err(format!("unexpected argument \"{arg}\" (options start with - or --)"));
        };
        let value = if takes {
            match attached {
                Some(v) => v,
                None => args.next().ok_or_else(|| format!("option {} needs a value", display_name(opt)))?,
            }
        } else {
            String::new()
        };
        match opt {
            Opt::Reference => reference = Some(PathBuf::from(value)),
            Opt::Distorted => distorted = Some(PathBuf::from(value)),
            Opt::Width => {
                s.width = Some(parse_unsigned(opt, &value)?);
                use_yuv = true;
            }
            Opt::Height => {
                s.height = Some(parse_unsigned(opt, &value)?);
                use_yuv = true;
            }
            Opt::PixelFormat => {
                s.pixel_format = Some(ChromaSampling::parse(&value).ok_or_else(|| {
                    format!(
                        "invalid argument \"{value}\" for option {}; should be a valid pixel format (420/422/444/400)",
                        display_name(opt)
                    )
                })?);
                use_yuv = true;
            }
            Opt::BitDepth => {
                let b = parse_unsigned(opt, &value)?;
                if !matches!(b, 8 | 10 | 12 | 16) {
                    return Err(format!(
                        "invalid argument \"{value}\" for option {}; should be a valid bitdepth (8/10/12/16)",
                        display_name(opt)
                    ));
                }
                s.bit_depth = Some(b as u8);
                use_yuv = true;
            }
            Opt::Model => s.models.push(ModelArg::parse(&value).map_err(|e| e.to_string())?),
            Opt::Output => s.output = Some(PathBuf::from(value)),
            Opt::Xml => s.format = OutputFormat::Xml,
            Opt::Json => s.format = OutputFormat::Json,
            Opt::Csv => s.format = OutputFormat::Csv,
            Opt::Sub => s.format = OutputFormat::Sub,
            Opt::Precision => {
                s.precision = Precision::parse(&value).ok_or_else(|| {
                    format!("--precision must be an integer 1..17, or one of: max, full, legacy (got: {value})")
                })?
            }
            Opt::Threads => s.threads = parse_unsigned(opt, &value)?,
            Opt::Feature => s.features.push(parse_feature(&value)?),
            Opt::Subsample => s.subsample = parse_unsigned(opt, &value)?,
            Opt::CpuMask => s.cpumask = parse_unsigned(opt, &value)?,
            Opt::GpuMask => s.gpumask = parse_unsigned(opt, &value)?,
            Opt::AomCtc => aom_ctc(&mut s, &value)?,
            Opt::NflxCtc => nflx_ctc(&mut s, &value)?,
            Opt::FrameCnt => s.frame_cnt = parse_unsigned(opt, &value)?,
            Opt::FrameSkipRef => s.frame_skip_ref = parse_unsigned(opt, &value)?,
            Opt::FrameSkipDist => s.frame_skip_dist = parse_unsigned(opt, &value)?,
            Opt::NoPrediction => s.no_prediction = true,
            Opt::Version => return Ok(Command::Version),
            Opt::Quiet => s.quiet = true,
            Opt::Backend => s.backend = parse_backend(&value)?,
            Opt::Help => return Ok(Command::Help),
        }
    }
    s.reference = reference.ok_or("reference .y4m or .yuv (-r/--reference) is required")?;
    s.distorted = distorted.ok_or("distorted .y4m or .yuv (-d/--distorted) is required")?;
    if use_yuv && (s.width.is_none() || s.height.is_none() || s.pixel_format.is_none() || s.bit_depth.is_none()) {
        return Err("the following options are required for .yuv input: --width/-w, --height/-h, \
                    --pixel_format/-p, --bitdepth/-b"
            .into());
    }
    if s.models.is_empty() && !s.no_prediction {
        s.models.push(ModelArg::default());
    }
    for (i, a) in s.models.iter().enumerate() {
        if s.models[..i].iter().any(|b| b.config.name == a.config.name) {
            return Err(format!(
                "each model should be uniquely named (\"{}\" is used twice); set names with `--model ...:name=...`",
                a.config.name
            ));
        }
    }
    Ok(Command::Score(Box::new(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Settings, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Score(s) => Ok(*s),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn short_long_attached_and_prefix_forms() {
        let s = p(&["-rref.y4m", "--distorted=dis.y4m", "--thr", "4", "-o", "out.json", "--json", "-q"]).unwrap();
        assert_eq!(s.reference, PathBuf::from("ref.y4m"));
        assert_eq!(s.distorted, PathBuf::from("dis.y4m"));
        assert_eq!(s.threads, 4);
        assert_eq!(s.format, OutputFormat::Json);
        assert!(s.quiet);
        assert_eq!(s.models, vec![ModelArg::default()]);
        assert!(p(&["-r", "a", "-d", "b", "--frame", "3"]).unwrap_err().contains("ambiguous"));
    }

    #[test]
    fn features_and_models() {
        let s = p(&[
            "-r",
            "a",
            "-d",
            "b",
            "--feature",
            "psnr=enable_chroma=false:enable_mse=true",
            "--feature",
            "float_ssim",
            "-m",
            "version=vmaf_v0.6.1neg:name=neg:disable_clip",
            "-m",
            "path=x.json:vif.vif_enhn_gain_limit=1.0",
        ])
        .unwrap();
        assert_eq!(s.features[0].name, "psnr");
        assert_eq!(s.features[0].options, vec![("enable_chroma".into(), "false".into()), ("enable_mse".into(), "true".into())]);
        assert_eq!(s.features[1].options, vec![]);
        assert_eq!(s.models[0].config.name, "neg");
        assert!(s.models[0].config.disable_clip);
        assert_eq!(s.models[1].overloads.len(), 1);
        assert_eq!(s.models[1].overloads[0].extractor, "vif");
        assert_eq!(s.models[1].config.name, "vmaf");
    }

    #[test]
    fn errors_are_clear() {
        assert!(p(&["-d", "b"]).unwrap_err().contains("-r/--reference"));
        assert!(p(&["-r", "a", "-d", "b", "-w", "10"]).unwrap_err().contains(".yuv input"));
        assert!(p(&["-r", "a", "-d", "b", "-b", "9"]).unwrap_err().contains("bitdepth"));
        assert!(p(&["-r", "a", "-d", "b", "--threads", "x"]).unwrap_err().contains("integer"));
        assert!(p(&["-r", "a", "-d", "b", "--feature", "psnr=enable_chroma"]).unwrap_err().contains("bad option"));
        assert!(p(&["-r", "a", "-d", "b", "-m", "version=a", "-m", "version=b"]).unwrap_err().contains("uniquely"));
        assert!(p(&["-r", "a", "-d", "b", "--bogus"]).unwrap_err().contains("unknown option"));
        assert!(p(&["-r", "a", "-d", "b", "--backend", "gpu"]).unwrap_err().contains("--backend"));
        assert!(p(&["-r", "a", "-d", "b", "--aom_ctc", "v9"]).unwrap_err().contains("aom_ctc"));
        assert!(p(&["-r", "a", "-d"]).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn precision_values() {
        let s = p(&["-r", "a", "-d", "b"]).unwrap();
        assert_eq!(s.precision, Precision::Default);
        let s = p(&["-r", "a", "-d", "b", "--precision", "3"]).unwrap();
        assert_eq!(s.precision, Precision::Significant(3));
        let s = p(&["-r", "a", "-d", "b", "--precision=max"]).unwrap();
        assert_eq!(s.precision, Precision::MAX);
        let s = p(&["-r", "a", "-d", "b", "--prec", "full", "--precision", "legacy"]).unwrap();
        assert_eq!(s.precision, Precision::Default);
        for bad in ["0", "18", "six", ""] {
            let e = p(&["-r", "a", "-d", "b", "--precision", bad]).unwrap_err();
            assert!(e.contains("--precision must be an integer 1..17") && e.contains(&format!("(got: {bad})")), "{e}");
        }
    }

    #[test]
    fn ctc_presets() {
        let s = p(&["-r", "a", "-d", "b", "--aom_ctc", "v7.0"]).unwrap();
        assert_eq!(s.models.len(), 2);
        assert!(s.common_bitdepth);
        let names: Vec<_> = s.features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["psnr", "ciede", "float_ssim", "float_ms_ssim", "psnr_hvs", "cambi"]);
        assert_eq!(s.features[2].options[0], ("scale".into(), "1".into()));
        let s = p(&["-r", "a", "-d", "b", "--backend", "cuda:1"]).unwrap();
        assert_eq!(s.backend, Backend::Cuda { device: 1 });
    }
}
