//! The Y4M and raw YUV readers: round trips over every geometry, sampling
//! and bit depth, the spellings real tools write, standard input, and every
//! kind of bad input, which must come back as a typed error naming the
//! file and the problem (never a panic).

use std::io::{BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};

mod common;

use proptest::prelude::*;
use vmaf::io::{self, RawFormat, VideoReader, Y4mReader, YuvReader};
use vmaf::{ChromaSampling, Error, Geometry, Picture, PictureData, Scorer};

const SAMPLINGS: [ChromaSampling; 4] =
    [ChromaSampling::Cs400, ChromaSampling::Cs420, ChromaSampling::Cs422, ChromaSampling::Cs444];
const DEPTHS: [u8; 4] = [8, 10, 12, 16];

/// SplitMix64: a tiny deterministic generator, so a failing case can be
/// rebuilt from its seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A picture of `g` filled from `seed`: random samples within the bit
/// depth, or (by `mode`) all zero, all maximum, or only the extremes.
fn picture(g: Geometry, seed: u64, mode: u8) -> Picture {
    let max = ((1u32 << g.bit_depth) - 1) as u64;
    let mut rng = Rng(seed);
    let mut value = move || match mode {
        1 => 0,
        2 => max,
        3 => (rng.next() & 1) * max,
        _ => rng.next() % (max + 1),
    };
    let mut pic = Picture::new(g);
    match pic.data_mut() {
        PictureData::U8(planes) => planes.iter_mut().flat_map(|p| p.data_mut()).for_each(|v| *v = value() as u8),
        PictureData::U16(planes) => planes.iter_mut().flat_map(|p| p.data_mut()).for_each(|v| *v = value() as u16),
    }
    pic
}

/// The `C` tag of a geometry in another spelling that means the same, with
/// extension parameters as ffmpeg adds them; `None` leaves `C` out.
fn colour_tag_variant(g: &Geometry, pick: u64) -> Option<String> {
    let base = match g.sampling {
        ChromaSampling::Cs400 => "mono",
        ChromaSampling::Cs420 => "420",
        ChromaSampling::Cs422 => "422",
        ChromaSampling::Cs444 => "444",
    };
    Some(match (g.sampling, g.bit_depth) {
        (ChromaSampling::Cs420, 8) => match pick % 5 {
            0 => return None,
            1 => "C420 XYSCSS=420".into(),
            2 => "C420jpeg XYSCSS=420JPEG".into(),
            3 => "C420paldv XYSCSS=420PALDV".into(),
            _ => "C420mpeg2 XYSCSS=420MPEG2".into(),
        },
        (ChromaSampling::Cs400, 8) => "Cmono".into(),
        (ChromaSampling::Cs400, d) => format!("Cmono{d}"),
        (_, 8) => format!("C{base} XYSCSS={base}"),
        (_, d) => format!("C{base}p{d} XYSCSS={base}P{d} XCOLORRANGE=LIMITED"),
    })
}

/// A whole Y4M stream of `frames`. Style 0 uses the crate's writer; other
/// styles write headers and FRAME lines with every optional part real
/// tools produce (other spellings, X-params, unknown tags, FRAME
/// parameters, repeated spaces).
fn y4m_stream(g: Geometry, frames: &[Picture], style: u64) -> Vec<u8> {
    let mut out = Vec::new();
    if style == 0 {
        io::write_y4m_header(&mut out, &g, (25, 1)).unwrap();
    } else {
        let c = colour_tag_variant(&g, style).map(|c| format!(" {c}")).unwrap_or_default();
        writeln!(out, "YUV4MPEG2 W{} H{}  F30000:1001 It A0:0{c} Zfuture", g.width, g.height).unwrap();
    }
    for (i, f) in frames.iter().enumerate() {
        if style != 0 && (style >> 3).wrapping_add(i as u64) % 2 == 1 {
            out.extend_from_slice(b"FRAME Ib XFRAMENUM=");
            writeln!(out, "{i}").unwrap();
            io::write_yuv_frame(&mut out, f).unwrap();
        } else {
            io::write_y4m_frame(&mut out, f).unwrap();
        }
    }
    out
}

/// A source that hands out a varying, small number of bytes per read, as a
/// pipe may: the readers must not assume a read fills its buffer.
struct Chunky {
    data: Cursor<Vec<u8>>,
    rng: Rng,
    max_step: usize,
}
impl Read for Chunky {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let step = 1 + (self.rng.next() as usize) % self.max_step;
        let n = buf.len().min(step);
        self.data.read(&mut buf[..n])
    }
}

/// A buffered reader over `data` that trickles, with a small buffer when
/// `max_step` is small, to exercise every split of lines and planes.
fn trickle(data: Vec<u8>, seed: u64, max_step: usize) -> BufReader<Chunky> {
    let cap = 1 + (seed as usize % 97);
    BufReader::with_capacity(cap, Chunky { data: Cursor::new(data), rng: Rng(seed), max_step })
}

/// Reads every frame and checks they are `want`, then a clean end twice.
fn assert_reads_back(r: &mut dyn VideoReader, want: &[Picture]) {
    let g = r.geometry();
    let mut pic = Picture::new(g);
    for (i, w) in want.iter().enumerate() {
        assert!(r.read_frame(&mut pic).unwrap(), "frame {i} missing");
        assert!(pic == *w, "frame {i} differs");
    }
    assert!(!r.read_frame(&mut pic).unwrap());
    assert!(!r.read_frame(&mut pic).unwrap());
}

fn geometry_strategy() -> impl Strategy<Value = Geometry> {
    (1u32..=70, 1u32..=70, 0..4usize, 0..4usize)
        .prop_map(|(w, h, s, d)| Geometry::new(w, h, SAMPLINGS[s], DEPTHS[d]).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn y4m_round_trips(g in geometry_strategy(), n in 1usize..=4, seed in any::<u64>(), mode in 0u8..4,
                       style in 0u64..16, max_step in prop_oneof![1usize..8, Just(1 << 20)]) {
        let frames: Vec<Picture> = (0..n as u64).map(|i| picture(g, seed ^ i, mode)).collect();
        let data = y4m_stream(g, &frames, style);
        let mut r = Y4mReader::new(trickle(data, seed, max_step), "rt.y4m".into()).unwrap();
        prop_assert_eq!(r.geometry(), g);
        prop_assert_eq!(r.frame_rate(), Some(if style == 0 { (25, 1) } else { (30000, 1001) }));
        assert_reads_back(&mut r, &frames);
    }

    #[test]
    fn raw_yuv_round_trips(g in geometry_strategy(), n in 1usize..=4, seed in any::<u64>(), mode in 0u8..4,
                           max_step in prop_oneof![1usize..8, Just(1 << 20)]) {
        let frames: Vec<Picture> = (0..n as u64).map(|i| picture(g, seed ^ i, mode)).collect();
        let mut data = Vec::new();
        for f in &frames {
            io::write_yuv_frame(&mut data, f).unwrap();
        }
        prop_assert_eq!(data.len(), n * g.frame_bytes());
        let mut r = YuvReader::new(trickle(data, seed, max_step), "rt.yuv".into(), g);
        prop_assert_eq!(r.frame_rate(), None);
        assert_reads_back(&mut r, &frames);
    }

    /// Damaged streams (bytes flipped, cut anywhere, junk appended) read
    /// to an error or an end, never a panic; every error names the file.
    #[test]
    fn damaged_streams_never_panic(g in geometry_strategy(), seed in any::<u64>(), flips in 0usize..6,
                                   cut in any::<prop::sample::Index>(), junk in prop::collection::vec(any::<u8>(), 0..40)) {
        let frames: Vec<Picture> = (0..2).map(|i| picture(g, seed ^ i, 0)).collect();
        let mut data = y4m_stream(g, &frames, seed % 16);
        let mut rng = Rng(seed);
        for _ in 0..flips {
            let at = rng.next() as usize % data.len();
            data[at] = rng.next() as u8;
        }
        data.truncate(cut.index(data.len() + 1));
        data.extend_from_slice(&junk);
        for raw in [false, true] {
            let path = PathBuf::from(if raw { "damaged.yuv" } else { "damaged.y4m" });
            let mut reader: Box<dyn VideoReader> = if raw {
                Box::new(YuvReader::new(Cursor::new(data.clone()), path.clone(), g))
            } else {
                match Y4mReader::new(Cursor::new(data.clone()), path.clone()) {
                    Ok(r) => Box::new(r),
                    Err(e) => { assert_names(&e, &path); continue; }
                }
            };
            let mut pic = Picture::new(reader.geometry());
            for _ in 0..8 {
                match reader.read_frame(&mut pic) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => { assert_names(&e, &path); break; }
                }
            }
        }
    }
}

/// Every geometry through real files and [`io::open`], both formats.
#[test]
fn files_round_trip_through_open() {
    let dir = tempfile::tempdir().unwrap();
    for (k, (&s, &d)) in SAMPLINGS.iter().flat_map(|s| DEPTHS.iter().map(move |d| (s, d))).enumerate() {
        let g = Geometry::new(33 + k as u32, 17 + 2 * k as u32, s, d).unwrap();
        let frames: Vec<Picture> = (0..3).map(|i| picture(g, (k * 10 + i) as u64, 0)).collect();
        let y4m = dir.path().join(format!("{k}.y4m"));
        std::fs::write(&y4m, y4m_stream(g, &frames, k as u64)).unwrap();
        let mut r = io::open(&y4m, None).unwrap();
        assert_eq!((r.geometry(), r.path()), (g, y4m.as_path()));
        assert_reads_back(&mut *r, &frames);

        let yuv = dir.path().join(format!("{k}.yuv"));
        let mut data = Vec::new();
        frames.iter().for_each(|f| io::write_yuv_frame(&mut data, f).unwrap());
        std::fs::write(&yuv, data).unwrap();
        let raw = RawFormat { width: g.width, height: g.height, sampling: s, bit_depth: d };
        let mut r = io::open(&yuv, Some(raw)).unwrap();
        assert_eq!(r.geometry(), g);
        assert_reads_back(&mut *r, &frames);
        // A Y4M file is read as Y4M even when a raw layout is given.
        let other = RawFormat { width: 4, height: 4, sampling: ChromaSampling::Cs420, bit_depth: 8 };
        assert_eq!(io::open(&y4m, Some(other)).unwrap().geometry(), g);
    }
}

/// Odd sizes: chroma is ceil(w/2) (and ceil(h/2) for 4:2:0), as ffmpeg
/// writes it, so a 4:2:2 577x323 frame is the size ffmpeg makes.
#[test]
fn odd_sizes_use_rounded_up_chroma() {
    let g = Geometry::new(577, 323, ChromaSampling::Cs422, 8).unwrap();
    assert_eq!(g.frame_bytes(), 577 * 323 + 2 * 289 * 323);
    let mut data = b"YUV4MPEG2 W577 H323 F25:1 C422\nFRAME\n".to_vec();
    data.extend((0..g.frame_bytes()).map(|i| (i % 251) as u8));
    let mut r = Y4mReader::new(Cursor::new(data), "odd.y4m".into()).unwrap();
    let mut pic = Picture::new(g);
    assert!(r.read_frame(&mut pic).unwrap());
    let PictureData::U8(p) = pic.data() else { unreachable!() };
    assert_eq!((p[1].width(), p[1].height()), (289, 323));
    // The last sample of the file is the last V sample.
    assert_eq!(p[2].row(322)[288], ((g.frame_bytes() - 1) % 251) as u8);
    assert!(!r.read_frame(&mut pic).unwrap());
}

/// The clips made by ffmpeg (every sampling it writes there, 8/10/12 bit,
/// odd sizes) read to the end with the length and layout their size says.
#[test]
fn ffmpeg_clips_read_whole() {
    let dir = common::clips_dir();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("clips folder (run ../shared/clips/make_clips.sh)") {
        let path = entry.unwrap().path();
        if path.extension() != Some(std::ffi::OsStr::new("y4m")) {
            continue;
        }
        let mut r = io::open(&path, None).unwrap();
        let g = r.geometry();
        let header_len = std::fs::read(&path).unwrap().iter().position(|&b| b == b'\n').unwrap() + 1;
        let len = std::fs::metadata(&path).unwrap().len() as usize - header_len;
        let mut pic = Picture::new(g);
        let mut n = 0;
        while r.read_frame(&mut pic).unwrap() {
            n += 1;
        }
        assert_eq!(n * (g.frame_bytes() + 6), len, "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 2 * common::PAIRS.len(), "only {seen} clips");
}

/// `-` reads standard input: this test runs itself as a child process
/// with a stream on its standard input.
#[test]
fn dash_reads_standard_input() {
    const CHILD: &str = "VMAF_READERS_STDIN_CHILD";
    let g = Geometry::new(31, 9, ChromaSampling::Cs420, 10).unwrap();
    let frames: Vec<Picture> = (0..3).map(|i| picture(g, 77 + i, 0)).collect();
    match std::env::var(CHILD).as_deref() {
        Ok("y4m") => {
            let mut r = io::open(Path::new("-"), None).unwrap();
            assert_eq!(r.path(), Path::new("-"));
            assert_reads_back(&mut *r, &frames);
            println!("child read {} frames", frames.len());
            return;
        }
        Ok("yuv") => {
            let raw = RawFormat { width: 31, height: 9, sampling: ChromaSampling::Cs420, bit_depth: 10 };
            assert_reads_back(&mut *io::open(Path::new("-"), Some(raw)).unwrap(), &frames);
            println!("child read {} frames", frames.len());
            return;
        }
        Ok("empty") => {
            let e = io::open(Path::new("-"), None).err().unwrap();
            assert_bad(&e, Path::new("-"), &["standard input is empty"]);
            println!("child read 0 frames");
            return;
        }
        _ => {}
    }
    let mut raw = Vec::new();
    frames.iter().for_each(|f| io::write_yuv_frame(&mut raw, f).unwrap());
    for (mode, input) in [("y4m", y4m_stream(g, &frames, 5)), ("yuv", raw), ("empty", Vec::new())] {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "dash_reads_standard_input", "--nocapture", "--test-threads=1"])
            .env(CHILD, mode)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Written from a thread: the pipe holds less than the stream.
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{mode}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let want = if mode == "empty" { "child read 0 frames" } else { "child read 3 frames" };
        assert!(stdout.contains(want), "{mode}: {stdout}");
    }
}

// ---- bad input -------------------------------------------------------

/// Asserts that the error's message names `path`.
fn assert_names(e: &Error, path: &Path) {
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "error does not name {}: {msg}", path.display());
}

/// Asserts a [`Error::BadInput`] about `path` whose message says each of
/// `words`.
fn assert_bad(e: &Error, path: &Path, words: &[&str]) {
    match e {
        Error::BadInput { path: p, msg } => {
            assert_eq!(p, path, "{msg}");
            for w in words {
                assert!(msg.contains(w), "\"{msg}\" does not say \"{w}\"");
            }
        }
        other => panic!("expected BadInput about {}, got {other:?}", path.display()),
    }
    assert_names(e, path);
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn open_err(path: &Path, raw: Option<RawFormat>) -> Error {
    match io::open(path, raw) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e,
    }
}

/// Reads frames until the first error.
fn read_err(r: &mut dyn VideoReader) -> Error {
    let mut pic = Picture::new(r.geometry());
    for _ in 0..100 {
        match r.read_frame(&mut pic) {
            Ok(true) => {}
            Ok(false) => panic!("{} read to the end without an error", r.path().display()),
            Err(e) => return e,
        }
    }
    panic!("no error in 100 frames");
}

fn g8(w: u32, h: u32) -> Geometry {
    Geometry::new(w, h, ChromaSampling::Cs420, 8).unwrap()
}

#[test]
fn missing_and_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.y4m");
    match open_err(&missing, None) {
        Error::Io { path, source } => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        e => panic!("{e:?}"),
    }
    assert_names(&open_err(&missing, None), &missing);
    // A path through a file cannot be opened, whoever runs the test.
    let file = write(dir.path(), "file", b"x");
    let through = file.join("clip.y4m");
    assert!(matches!(open_err(&through, None), Error::Io { ref path, .. } if *path == through));
    assert_bad(&open_err(dir.path(), None), dir.path(), &["is a directory"]);
}

/// A read that fails part way through a stream is an I/O error naming
/// the file, whichever reader meets it.
#[test]
fn read_errors_name_the_file() {
    struct Failing(Cursor<Vec<u8>>);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::other("device on fire")),
                n => Ok(n),
            }
        }
    }
    let g = g8(8, 8);
    let frames = [picture(g, 1, 0), picture(g, 2, 0)];
    let mut data = y4m_stream(g, &frames, 0);
    data.truncate(data.len() - 10);
    let p = PathBuf::from("failing.y4m");
    let mut r = Y4mReader::new(BufReader::new(Failing(Cursor::new(data))), p.clone()).unwrap();
    let e = read_err(&mut r);
    assert!(matches!(&e, Error::Io { path, .. } if *path == p), "{e:?}");
    assert!(e.to_string().contains("device on fire"));
    let mut raw = Vec::new();
    io::write_yuv_frame(&mut raw, &frames[0]).unwrap();
    let p = PathBuf::from("failing.yuv");
    let e = read_err(&mut YuvReader::new(Failing(Cursor::new(raw)), p.clone(), g));
    assert!(matches!(&e, Error::Io { path, .. } if *path == p), "{e:?}");
}

#[test]
fn empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.y4m", b"");
    assert_bad(&open_err(&p, None), &p, &["empty file"]);
    let raw = RawFormat { width: 8, height: 8, sampling: ChromaSampling::Cs420, bit_depth: 8 };
    let p = write(dir.path(), "empty.yuv", b"");
    assert_bad(&open_err(&p, Some(raw)), &p, &["empty file"]);
    let e = Y4mReader::new(Cursor::new(Vec::new()), "e.y4m".into()).err().unwrap();
    assert_bad(&e, Path::new("e.y4m"), &["empty file"]);
}

#[test]
fn bad_y4m_headers() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &[&str])] = &[
        ("magic.y4m", b"YUV4MPEG W8 H8 F25:1\nFRAME\n", &["not a Y4M stream", "YUV4MPEG2"]),
        ("magic.yuv", b"RIFF....WAVEfmt ", &["not a Y4M stream", "--width"]),
        ("no_w.y4m", b"YUV4MPEG2 H8 F25:1 C420\n", &["bad Y4M header", "no width (W)"]),
        ("no_h.y4m", b"YUV4MPEG2 W8 F25:1 C420\n", &["bad Y4M header", "no height (H)"]),
        ("bad_w.y4m", b"YUV4MPEG2 Wide H8\n", &["bad Y4M header", "width \"ide\""]),
        ("zero.y4m", b"YUV4MPEG2 W0 H8\n", &["bad Y4M header", "0x8"]),
        ("huge.y4m", b"YUV4MPEG2 W99999 H8\n", &["bad Y4M header", "99999x8"]),
        ("rate.y4m", b"YUV4MPEG2 W8 H8 Fast\n", &["bad Y4M header", "frame rate"]),
        ("c411.y4m", b"YUV4MPEG2 W8 H8 C411\n", &["bad Y4M header", "unsupported colour space \"C411\""]),
        ("cxyz.y4m", b"YUV4MPEG2 W8 H8 Cxyz\n", &["bad Y4M header", "\"Cxyz\""]),
        ("c420p9.y4m", b"YUV4MPEG2 W8 H8 C420p9\n", &["bad Y4M header", "bit depth 9"]),
        ("c444p14.y4m", b"YUV4MPEG2 W8 H8 C444p14 XYSCSS=444P14\n", &["bad Y4M header", "bit depth 14"]),
        ("garbage.y4m", b"YUV4MPEG2\x00\x9f\xff binary", &["bad Y4M header", "ends inside the header"]),
        ("nonascii.y4m", "YUV4MPEG2 W8 H\u{e9}\n".as_bytes(), &["bad Y4M header", "height"]),
    ];
    for (name, data, words) in cases {
        let p = write(dir.path(), name, data);
        assert_bad(&open_err(&p, None), &p, words);
    }
    // No newline for a whole page: not a header.
    let mut long = b"YUV4MPEG2 W8 H8 X".to_vec();
    long.resize(10_000, b'x');
    let p = write(dir.path(), "long.y4m", &long);
    assert_bad(&open_err(&p, None), &p, &["no newline in the first 4096 bytes"]);
    // The reader itself, given something that is not Y4M at all.
    let e = Y4mReader::new(Cursor::new(b"\x89PNG\r\n\x1a\n".to_vec()), "x.y4m".into()).err().unwrap();
    assert_bad(&e, Path::new("x.y4m"), &["does not start with \"YUV4MPEG2\"", "\\x89PNG"]);
}

#[test]
fn truncated_last_frame() {
    let g = g8(9, 7);
    let frames = [picture(g, 1, 0), picture(g, 2, 0), picture(g, 3, 0)];
    let full = y4m_stream(g, &frames, 0);
    let p = Path::new("t.y4m");
    // Cut inside the samples of the last frame, then inside its FRAME line.
    let cut = full.len() - 5;
    let e = read_err(&mut Y4mReader::new(Cursor::new(full[..cut].to_vec()), p.into()).unwrap());
    let fb = g.frame_bytes();
    assert_bad(&e, p, &["frame 2 is truncated", &format!("{} of its {fb} bytes", fb - 5)]);
    let cut = full.len() - fb - 3;
    let e = read_err(&mut Y4mReader::new(Cursor::new(full[..cut].to_vec()), p.into()).unwrap());
    assert_bad(&e, p, &["frame 2", "ends inside its FRAME header"]);
    let cut = full.len() - fb;
    let e = read_err(&mut Y4mReader::new(Cursor::new(full[..cut].to_vec()), p.into()).unwrap());
    assert_bad(&e, p, &["frame 2 is truncated", &format!("0 of its {fb} bytes")]);

    let mut raw = Vec::new();
    frames.iter().for_each(|f| io::write_yuv_frame(&mut raw, f).unwrap());
    raw.truncate(raw.len() - 1);
    let p = Path::new("t.yuv");
    let e = read_err(&mut YuvReader::new(Cursor::new(raw.clone()), p.into(), g));
    assert_bad(&e, p, &["frame 2 is truncated", &format!("{} of its {fb} bytes", fb - 1), "9x7 420 8-bit"]);
    // From a file, the size alone gives it away, before any frame is read.
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "t.yuv", &raw);
    let f = RawFormat { width: 9, height: 7, sampling: ChromaSampling::Cs420, bit_depth: 8 };
    assert_bad(&open_err(&p, Some(f)), &p, &["not a whole number of 9x7 420 8-bit frames", &format!("{fb} bytes")]);
}

/// A header whose size does not match the data loses framing: the second
/// FRAME marker is not where it should be.
#[test]
fn frame_marker_missing() {
    let g = g8(8, 8);
    let frames = [picture(g, 1, 0), picture(g, 2, 0)];
    let mut data = y4m_stream(g, &frames, 0);
    let text = String::from_utf8_lossy(&data[..40]).into_owned();
    let header_end = text.find('\n').unwrap();
    let header = text[..header_end].replace("H8", "H6");
    data.splice(..header_end, header.bytes());
    let p = Path::new("size.y4m");
    let e = read_err(&mut Y4mReader::new(Cursor::new(data), p.into()).unwrap());
    assert_bad(&e, p, &["frame 1: expected a FRAME header", "8x6 420 8-bit", "72 bytes a frame"]);
    // Junk where the first FRAME line should be.
    let p = Path::new("junk.y4m");
    let data = b"YUV4MPEG2 W2 H2\nFRAMX\n".to_vec();
    let e = read_err(&mut Y4mReader::new(Cursor::new(data), p.into()).unwrap());
    assert_bad(&e, p, &["frame 0: expected a FRAME header, found \"FRAMX\""]);
    // "FRAMEX" is not a FRAME line with parameters.
    let data = b"YUV4MPEG2 W2 H2\nFRAMEX\n".to_vec();
    let e = read_err(&mut Y4mReader::new(Cursor::new(data), p.into()).unwrap());
    assert_bad(&e, p, &["expected a FRAME header"]);
}

#[test]
fn unsupported_bit_depths() {
    assert!(matches!(Geometry::new(8, 8, ChromaSampling::Cs420, 9), Err(Error::UnsupportedBitDepth(9))));
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "nine.yuv", &[0u8; 8 * 8 * 3]);
    for depth in [0, 1, 9, 14, 32] {
        let f = RawFormat { width: 8, height: 8, sampling: ChromaSampling::Cs420, bit_depth: depth };
        assert_bad(&open_err(&p, Some(f)), &p, &["raw YUV layout", &format!("bit depth {depth}")]);
    }
}

#[test]
fn samples_above_the_bit_depth() {
    for depth in [10u8, 12] {
        let g = Geometry::new(5, 3, ChromaSampling::Cs422, depth).unwrap();
        let mut bad = picture(g, 9, 0);
        if let PictureData::U16(p) = bad.data_mut() {
            p[1].row_mut(2)[2] = 1 << depth;
        }
        let frames = [picture(g, 8, 2), bad];
        let p = Path::new("deep.y4m");
        let e = read_err(&mut Y4mReader::new(Cursor::new(y4m_stream(g, &frames, 0)), p.into()).unwrap());
        let value = (1u32 << depth).to_string();
        assert_bad(&e, p, &["frame 1", "plane U", &value, &format!("{depth}-bit maximum")]);
        // 16-bit data read as 10-bit raw: the usual way to get here.
        let mut raw = Vec::new();
        frames.iter().for_each(|f| io::write_yuv_frame(&mut raw, f).unwrap());
        let p = Path::new("deep.yuv");
        let e = read_err(&mut YuvReader::new(Cursor::new(raw), p.into(), g));
        assert_bad(&e, p, &["frame 1", "plane U", "is the bit depth right?"]);
    }
}

fn psnr_builder(g: Geometry) -> vmaf::ScorerBuilder {
    Scorer::builder(g).feature("psnr", &[]).unwrap()
}

fn score(r: &mut dyn VideoReader, d: &mut dyn VideoReader) -> vmaf::Result<vmaf::Report> {
    let g = r.geometry();
    vmaf::score_streams(r, d, psnr_builder(g), Default::default(), |_| {}, |_| {})
}

#[test]
fn header_without_frames_scores_no_frames() {
    let dir = tempfile::tempdir().unwrap();
    let g = g8(16, 16);
    let mut header = Vec::new();
    io::write_y4m_header(&mut header, &g, (25, 1)).unwrap();
    let r = write(dir.path(), "r.y4m", &header);
    let d = write(dir.path(), "d.y4m", &header);
    let (mut r, mut d) = (io::open(&r, None).unwrap(), io::open(&d, None).unwrap());
    assert!(matches!(score(&mut *r, &mut *d), Err(Error::NoFrames)));
}

#[test]
fn reference_and_distorted_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let base = g8(16, 16);
    let others = [
        g8(16, 14),
        g8(14, 16),
        Geometry::new(16, 16, ChromaSampling::Cs444, 8).unwrap(),
        Geometry::new(16, 16, ChromaSampling::Cs420, 10).unwrap(),
    ];
    let rp = write(dir.path(), "ref.y4m", &y4m_stream(base, &[picture(base, 1, 0)], 0));
    for (i, g) in others.into_iter().enumerate() {
        let dp = write(dir.path(), &format!("dis{i}.y4m"), &y4m_stream(g, &[picture(g, 2, 0)], 0));
        let (mut r, mut d) = (io::open(&rp, None).unwrap(), io::open(&dp, None).unwrap());
        for e in [vmaf::check_compatible(&*r, &*d).unwrap_err(), score(&mut *r, &mut *d).unwrap_err()] {
            let Error::Mismatch(msg) = &e else { panic!("{e:?}") };
            assert!(msg.contains("16x16 420 8-bit"), "{msg}");
            assert!(msg.contains(&format!("{}x{} {} {}-bit", g.width, g.height, g.sampling.as_str(), g.bit_depth)));
            assert_names(&e, &rp);
            assert_names(&e, &dp);
        }
    }
    // Same layout, one raw and one Y4M: fine, and scored.
    let raw_p = write(dir.path(), "dis.yuv", &{
        let mut v = Vec::new();
        io::write_yuv_frame(&mut v, &picture(base, 1, 0)).unwrap();
        v
    });
    let f = RawFormat { width: 16, height: 16, sampling: ChromaSampling::Cs420, bit_depth: 8 };
    let (mut r, mut d) = (io::open(&rp, None).unwrap(), io::open(&raw_p, Some(f)).unwrap());
    assert_eq!(score(&mut *r, &mut *d).unwrap().frames, 1);
}

/// Reading into a picture of another geometry is refused, not misread.
#[test]
fn picture_of_the_wrong_geometry() {
    let g = g8(8, 8);
    let data = y4m_stream(g, &[picture(g, 1, 0)], 0);
    let mut r = Y4mReader::new(Cursor::new(data.clone()), "w.y4m".into()).unwrap();
    let mut other = Picture::new(g8(8, 6));
    assert!(matches!(r.read_frame(&mut other), Err(Error::Mismatch(m)) if m.contains("w.y4m")));
    let mut r = YuvReader::new(Cursor::new(data), "w.yuv".into(), g);
    assert!(matches!(r.read_frame(&mut other), Err(Error::Mismatch(m)) if m.contains("w.yuv")));
}
