//! End-to-end tests of the `vmaf` binary: bad input gives one clear line on
//! stderr, a non-zero exit and no output file; good input gives libvmaf's
//! output and the same bytes for every thread count.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vmaf::io::{write_y4m_frame, write_y4m_header};
use vmaf::{ChromaSampling, Geometry, Picture, PictureData};

fn vmaf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vmaf"))
}

fn run(args: &[&str]) -> Output {
    vmaf().args(args).output().expect("vmaf runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small Y4M clip with a pattern that depends on `seed`.
fn write_clip(path: &Path, g: Geometry, frames: usize, seed: u32) {
    let mut bytes = Vec::new();
    write_y4m_header(&mut bytes, &g, (25, 1)).unwrap();
    let mut pic = Picture::new(g);
    for f in 0..frames {
        match pic.data_mut() {
            PictureData::U8(p) => {
                for (pi, plane) in p.iter_mut().enumerate() {
                    for (i, v) in plane.data_mut().iter_mut().enumerate() {
                        *v = ((i as u32 * 7 + f as u32 * 3 + pi as u32 * 11) ^ seed) as u8;
                    }
                }
            }
            PictureData::U16(p) => {
                let max = (1u32 << g.bit_depth) - 1;
                for (pi, plane) in p.iter_mut().enumerate() {
                    for (i, v) in plane.data_mut().iter_mut().enumerate() {
                        *v = (((i as u32 * 7 + f as u32 * 3 + pi as u32 * 11) ^ seed) & max) as u16;
                    }
                }
            }
        }
        write_y4m_frame(&mut bytes, &pic).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

struct Dir(tempfile::TempDir);
impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn p(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.p(name).to_string_lossy().into_owned()
    }
}

fn g420(w: u32, h: u32, bpc: u8) -> Geometry {
    Geometry::new(w, h, ChromaSampling::Cs420, bpc).unwrap()
}

/// Asserts a failed run: non-zero exit, a one-line message containing each
/// of `needles`, no panic, and no output file.
fn assert_fails(o: &Output, needles: &[&str], out: Option<&Path>) {
    let e = stderr(o);
    assert!(!o.status.success(), "expected failure, got success; stderr: {e}");
    assert!(!e.contains("panicked"), "panic: {e}");
    let first = e.lines().next().unwrap_or_default();
    for n in needles {
        assert!(first.contains(n), "message {first:?} lacks {n:?} (stderr: {e})");
    }
    if let Some(out) = out {
        assert!(!out.exists(), "{} was written", out.display());
    }
}

#[test]
fn missing_file() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 2, 1);
    let o = run(&["-r", &d.s("nope.y4m"), "-d", &d.s("a.y4m"), "-o", &d.s("out.xml"), "-n", "--feature", "psnr"]);
    assert_fails(&o, &["nope.y4m", "No such file"], Some(&d.p("out.xml")));
}

#[test]
fn unreadable_directory_as_input() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 2, 1);
    let o = run(&["-r", &d.s(""), "-d", &d.s("a.y4m"), "-n", "--feature", "psnr", "-o", &d.s("o.xml")]);
    assert_fails(&o, &["directory"], Some(&d.p("o.xml")));
}

#[test]
fn bad_y4m_header() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 2, 1);
    std::fs::write(d.p("bad.y4m"), b"YUV4MPEG2 W16 Hx C420\nFRAME\n").unwrap();
    let o = run(&["-r", &d.s("a.y4m"), "-d", &d.s("bad.y4m"), "-n", "--feature", "psnr", "-o", &d.s("o.json")]);
    assert_fails(&o, &["bad.y4m", "header"], Some(&d.p("o.json")));
}

#[test]
fn truncated_last_frame() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 3, 1);
    write_clip(&d.p("b.y4m"), g420(16, 16, 8), 3, 2);
    let bytes = std::fs::read(d.p("b.y4m")).unwrap();
    std::fs::write(d.p("b.y4m"), &bytes[..bytes.len() - 10]).unwrap();
    let o = run(&["-r", &d.s("a.y4m"), "-d", &d.s("b.y4m"), "-n", "--feature", "psnr", "-o", &d.s("o.json")]);
    assert_fails(&o, &["b.y4m", "truncated"], Some(&d.p("o.json")));
}

#[test]
fn size_and_format_mismatch() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 2, 1);
    write_clip(&d.p("b.y4m"), g420(18, 16, 8), 2, 1);
    write_clip(&d.p("c.y4m"), Geometry::new(16, 16, ChromaSampling::Cs444, 8).unwrap(), 2, 1);
    write_clip(&d.p("e.y4m"), g420(16, 16, 10), 2, 1);
    for other in ["b.y4m", "c.y4m", "e.y4m"] {
        let o = run(&["-r", &d.s("a.y4m"), "-d", &d.s(other), "-n", "--feature", "psnr", "-o", &d.s("o.xml")]);
        assert_fails(&o, &["a.y4m", other], Some(&d.p("o.xml")));
    }
}

#[test]
fn unsupported_bit_depth() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 2, 1);
    std::fs::write(d.p("b.y4m"), b"YUV4MPEG2 W16 H16 C420p9\n").unwrap();
    let o = run(&["-r", &d.s("a.y4m"), "-d", &d.s("b.y4m"), "-n", "--feature", "psnr"]);
    assert_fails(&o, &["b.y4m", "bit depth"], None);
    let o = run(&["-r", &d.s("a.y4m"), "-d", &d.s("a.y4m"), "-w", "16", "-h", "16", "-p", "420", "-b", "9"]);
    assert_fails(&o, &["bitdepth"], None);
}

#[test]
fn zero_frames() {
    let d = Dir::new();
    std::fs::write(d.p("a.y4m"), b"YUV4MPEG2 W16 H16 F25:1 C420jpeg\n").unwrap();
    let o = run(&["-r", &d.s("a.y4m"), "-d", &d.s("a.y4m"), "-n", "--feature", "psnr", "-o", &d.s("o.xml")]);
    assert_fails(&o, &["no frames"], Some(&d.p("o.xml")));
}

#[test]
fn absurd_header_size_does_not_abort() {
    let d = Dir::new();
    std::fs::write(d.p("a.y4m"), b"YUV4MPEG2 W32768 H32768 C444p16\nFRAME\n\x01\x02").unwrap();
    let o = run(&["-r", &d.s("a.y4m"), "-d", &d.s("a.y4m"), "-n", "--feature", "psnr", "--threads", "4"]);
    assert_fails(&o, &["a.y4m", "truncated"], None);
}

#[test]
fn unknown_feature_option_and_value() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 2, 1);
    let a = d.s("a.y4m");
    let o = run(&["-r", &a, "-d", &a, "-n", "--feature", "nosuch", "-o", &d.s("o.xml")]);
    assert_fails(&o, &["unknown feature", "nosuch"], Some(&d.p("o.xml")));
    let o = run(&["-r", &a, "-d", &a, "-n", "--feature", "psnr=bogus=1"]);
    assert_fails(&o, &["psnr", "bogus"], None);
    let o = run(&["-r", &a, "-d", &a, "-n", "--feature", "psnr=enable_chroma=maybe"]);
    assert_fails(&o, &["enable_chroma", "maybe"], None);
    let o = run(&["-r", &a, "-d", &a, "-n", "--feature", "psnr=min_sse=-1"]);
    assert_fails(&o, &["min_sse", "-1"], None);
}

#[test]
fn bad_model_path_or_json() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 2, 1);
    let a = d.s("a.y4m");
    let o = run(&["-r", &a, "-d", &a, "-m", &format!("path={}", d.s("none.json")), "-o", &d.s("o.xml")]);
    assert_fails(&o, &["none.json"], Some(&d.p("o.xml")));
    std::fs::write(d.p("bad.json"), b"{ \"model_dict\": [1, 2").unwrap();
    let o = run(&["-r", &a, "-d", &a, "-m", &format!("path={}", d.s("bad.json")), "-o", &d.s("o.xml")]);
    assert_fails(&o, &["bad.json"], Some(&d.p("o.xml")));
    let o = run(&["-r", &a, "-d", &a, "-m", "version=vmaf_v9"]);
    assert_fails(&o, &["vmaf_v9"], None);
}

#[test]
fn unwritable_output() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 2, 1);
    let a = d.s("a.y4m");
    let out = d.p("no/such/dir/o.xml");
    let o = run(&["-r", &a, "-d", &a, "-n", "--feature", "psnr", "-o", &out.to_string_lossy()]);
    assert_fails(&o, &["o.xml"], Some(&out));
}

#[test]
fn cuda_backend_without_cuda_is_a_clear_error() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 2, 1);
    let a = d.s("a.y4m");
    let o = run(&["-r", &a, "-d", &a, "-n", "--feature", "psnr", "--backend", "cuda"]);
    assert_fails(&o, &["cuda"], None);
}

#[test]
fn output_is_the_same_for_every_thread_count() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(33, 17, 8), 11, 1);
    write_clip(&d.p("b.y4m"), g420(33, 17, 8), 11, 5);
    let mut outs = Vec::new();
    for t in ["0", "1", "2", "3", "8"] {
        let out = d.s(&format!("o{t}.json"));
        let o = run(&["-r", &d.s("a.y4m"), "-d", &d.s("b.y4m"), "-n", "--feature", "psnr", "--json", "-o", &out, "--threads", t]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(&out).unwrap();
        // fps is a timing
        outs.push(text.lines().filter(|l| !l.contains("\"fps\"")).collect::<Vec<_>>().join("\n"));
    }
    assert!(outs[0].contains("psnr_y"));
    for o in &outs[1..] {
        assert_eq!(o, &outs[0]);
    }
}

#[test]
fn stdin_input() {
    let d = Dir::new();
    write_clip(&d.p("a.y4m"), g420(16, 16, 8), 4, 1);
    write_clip(&d.p("b.y4m"), g420(16, 16, 8), 4, 3);
    let file_out = d.s("f.json");
    let o = run(&["-r", &d.s("a.y4m"), "-d", &d.s("b.y4m"), "-n", "--feature", "psnr", "--json", "-o", &file_out]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pipe_out = d.s("p.json");
    let o = vmaf()
        .args(["-r", &d.s("a.y4m"), "-d", "-", "-n", "--feature", "psnr", "--json", "-o", &pipe_out])
        .stdin(std::fs::File::open(d.p("b.y4m")).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let strip = |p: &str| {
        std::fs::read_to_string(p).unwrap().lines().filter(|l| !l.contains("\"fps\"")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(strip(&file_out), strip(&pipe_out));
}
