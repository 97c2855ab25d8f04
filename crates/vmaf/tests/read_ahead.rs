//! `score_streams` reads on threads of its own when the scorer has several
//! workers (or a device), and reads regular files with several threads per
//! stream, by frame index, from 8 workers up. These tests hold those paths
//! to the inline one: the same scores, the same frame ranges, the same
//! warning when the streams differ in length, and the same error (naming
//! the file) when a stream is damaged, whether the damage is met by the
//! sequential reader or by an indexed one (which hands the stream back to
//! the sequential reader at the first frame it cannot read by index).

use std::io::Cursor;
use std::path::PathBuf;

use vmaf::io::{write_y4m_frame, write_y4m_header, Y4mReader};
use vmaf::{score_streams, ChromaSampling, Error, Geometry, Picture, PictureData, Scorer, StreamRange};

fn geometry() -> Geometry {
    Geometry::new(66, 38, ChromaSampling::Cs420, 8).unwrap()
}

fn picture(seed: u64) -> Picture {
    let mut p = Picture::new(geometry());
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    if let PictureData::U8(planes) = p.data_mut() {
        for plane in planes.iter_mut() {
            for v in plane.data_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = (x >> 56) as u8;
            }
        }
    }
    p
}

fn stream(seeds: std::ops::Range<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    write_y4m_header(&mut out, &geometry(), (25, 1)).unwrap();
    for s in seeds {
        write_y4m_frame(&mut out, &picture(s)).unwrap();
    }
    out
}

fn reader(data: &[u8], name: &str) -> Y4mReader<Cursor<Vec<u8>>> {
    Y4mReader::new(Cursor::new(data.to_vec()), PathBuf::from(name)).unwrap()
}

/// Scores `r` against `d` with `threads` workers; the frame count, every
/// psnr value, and the warnings.
fn run(r: &[u8], d: &[u8], threads: usize, range: StreamRange) -> vmaf::Result<Outcome> {
    let b = Scorer::builder(geometry()).feature("psnr", &[]).unwrap().threads(threads);
    assert_eq!(b.read_threads() > 0, threads > 1);
    let (mut ra, mut da) = (reader(r, "ref.y4m"), reader(d, "dis.y4m"));
    let mut warnings = Vec::new();
    let rep = score_streams(&mut ra, &mut da, b, range, |_| {}, |w| warnings.push(w.to_string()))?;
    Ok(outcome(&rep, warnings))
}

/// What a run produced: the frame count, every value (as bits), the
/// warnings.
type Outcome = (u32, Vec<u64>, Vec<String>);

fn outcome(rep: &vmaf::Report, warnings: Vec<String>) -> Outcome {
    let c = &rep.collector;
    let values =
        c.ids().flat_map(|id| (0..rep.frames).map(move |i| c.get(id, i).map_or(u64::MAX, f64::to_bits))).collect();
    (rep.frames, values, warnings)
}

/// Frame ranges every reading path is held to.
const RANGES: [StreamRange; 4] = [
    StreamRange { skip_reference: 0, skip_distorted: 0, max_frames: 0 },
    StreamRange { skip_reference: 1, skip_distorted: 2, max_frames: 0 },
    StreamRange { skip_reference: 0, skip_distorted: 0, max_frames: 4 },
    StreamRange { skip_reference: 3, skip_distorted: 0, max_frames: 2 },
];

#[test]
fn same_scores_and_ranges_as_inline_reading() {
    let (r, d) = (stream(0..9), stream(100..109));
    for range in RANGES {
        let inline = run(&r, &d, 1, range).unwrap();
        for threads in [2, 3] {
            assert_eq!(run(&r, &d, threads, range).unwrap(), inline, "{range:?}, {threads} threads");
        }
        assert!(inline.0 > 0);
    }
}

#[test]
fn streams_of_different_lengths_warn_once_and_stop_at_the_shorter() {
    let (long, short) = (stream(0..7), stream(50..55));
    for (r, d, first) in [(&long, &short, "dis.y4m"), (&short, &long, "ref.y4m")] {
        let inline = run(r, d, 1, StreamRange::default()).unwrap();
        let ahead = run(r, d, 2, StreamRange::default()).unwrap();
        assert_eq!(ahead, inline);
        assert_eq!(ahead.0, 5);
        assert_eq!(ahead.2.len(), 1, "{:?}", ahead.2);
        assert!(ahead.2[0].starts_with(&format!("\"{first}\" ended before")), "{:?}", ahead.2);
    }
}

#[test]
fn a_damaged_stream_is_the_same_error_naming_the_file() {
    let r = stream(0..6);
    let mut d = stream(10..16);
    // Cut the last frame short: a partial frame is an error, not an end.
    d.truncate(d.len() - 100);
    for threads in [1, 2] {
        let e = run(&r, &d, threads, StreamRange::default()).unwrap_err();
        assert!(e.to_string().contains("dis.y4m"), "{threads} threads: {e}");
        assert!(!matches!(e, Error::Extractor { .. }), "{threads} threads: {e}");
    }
}

/// Like [`run`], on files opened as the `vmaf` command opens them.
fn run_files(
    r: &[u8],
    d: &[u8],
    threads: usize,
    range: StreamRange,
    raw: Option<vmaf::io::RawFormat>,
) -> Result<Outcome, String> {
    let dir = tempfile::tempdir().unwrap();
    let (rp, dp) = (dir.path().join("ref.y4m"), dir.path().join("dis.y4m"));
    std::fs::write(&rp, r).unwrap();
    std::fs::write(&dp, d).unwrap();
    let (mut ra, mut da) = (vmaf::io::open(&rp, raw).unwrap(), vmaf::io::open(&dp, raw).unwrap());
    assert!(ra.frame_file().is_some() && da.frame_file().is_some(), "regular files are indexed");
    let b = Scorer::builder(geometry()).feature("psnr", &[]).unwrap().threads(threads);
    let mut warnings = Vec::new();
    // Paths differ between runs (each has its own directory): compare
    // messages without them.
    let strip = |m: String| m.replace(&dir.path().display().to_string(), "DIR");
    let rep = score_streams(&mut *ra, &mut *da, b, range, |_| {}, |w| warnings.push(strip(w.to_string())))
        .map_err(|e| strip(e.to_string()))?;
    Ok(outcome(&rep, warnings))
}

/// Every thread count against inline reading: 0 and 1 read inline, 2..7
/// with one reader per stream, 8 and 9 with two per stream, 16 with four.
fn same_at_every_thread_count(
    r: &[u8],
    d: &[u8],
    range: StreamRange,
    raw: Option<vmaf::io::RawFormat>,
) -> Result<Outcome, String> {
    let inline = run_files(r, d, 0, range, raw);
    for threads in [1, 2, 8, 9, 16] {
        assert_eq!(run_files(r, d, threads, range, raw), inline, "{range:?}, {threads} threads");
    }
    inline
}

#[test]
fn indexed_reading_gives_the_same_scores_and_ranges() {
    let (r, d) = (stream(0..11), stream(100..111));
    let past_the_end = StreamRange { skip_reference: 20, skip_distorted: 0, max_frames: 0 };
    for range in RANGES.into_iter().chain([past_the_end]) {
        // Skipping past the end is an error ("no frames"), the same one.
        let got = same_at_every_thread_count(&r, &d, range, None);
        assert_eq!(got.is_err(), range.skip_reference > 11, "{range:?}: {got:?}");
    }
    let (long, short) = (stream(0..9), stream(50..54));
    let got = same_at_every_thread_count(&long, &short, StreamRange::default(), None).unwrap();
    assert_eq!((got.0, got.2.len()), (4, 1), "{:?}", got.2);
}

/// Y4M allows parameters on a FRAME line; such a frame is not where an
/// indexed reader looks, and the stream goes on sequentially from it.
#[test]
fn frame_lines_with_parameters_hand_over_to_the_sequential_reader() {
    let (r, d) = (stream(0..10), stream(100..110));
    let mut with_params = Vec::new();
    let header_end = d.iter().position(|&b| b == b'\n').unwrap() + 1;
    let frame = geometry().frame_bytes() + 6;
    with_params.extend_from_slice(&d[..header_end]);
    for (i, f) in d[header_end..].chunks(frame).enumerate() {
        if i == 3 || i == 7 {
            with_params.extend_from_slice(b"FRAME Ixyz\n");
            with_params.extend_from_slice(&f[6..]);
        } else {
            with_params.extend_from_slice(f);
        }
    }
    let plain = same_at_every_thread_count(&r, &d, StreamRange::default(), None).unwrap();
    let got = same_at_every_thread_count(&r, &with_params, StreamRange::default(), None).unwrap();
    assert_eq!(got, plain, "the parameters change nothing");
    assert_eq!(got.0, 10);
    let skipped = same_at_every_thread_count(
        &r,
        &with_params,
        StreamRange { skip_reference: 0, skip_distorted: 5, max_frames: 0 },
        None,
    )
    .unwrap();
    assert_eq!(skipped.0, 5);
}

#[test]
fn damage_met_by_an_indexed_reader_is_the_sequential_readers_error() {
    let (r, d) = (stream(0..9), stream(100..109));
    let frame = geometry().frame_bytes() + 6;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut cut = d.clone();
    cut.truncate(d.len() - 100);
    cases.push(("truncated last frame", cut));
    let mut cut = d.clone();
    cut.truncate(d.len() - frame + 3);
    cases.push(("cut inside a FRAME line", cut));
    let mut bad = d.clone();
    let at = d.len() - 3 * frame;
    bad[at..at + 6].copy_from_slice(b"FRAMX\n");
    cases.push(("not a FRAME line", bad));
    for (what, d) in cases {
        let e = same_at_every_thread_count(&r, &d, StreamRange::default(), None).unwrap_err();
        assert!(e.contains("DIR/dis.y4m"), "{what}: {e}");
    }
}

#[test]
fn samples_above_the_bit_depth_are_the_same_error() {
    // 10-bit raw YUV, one sample of frame 5 above 1023.
    let g = Geometry::new(66, 38, ChromaSampling::Cs420, 10).unwrap();
    let raw = vmaf::io::RawFormat { width: 66, height: 38, sampling: ChromaSampling::Cs420, bit_depth: 10 };
    let frame = g.frame_bytes();
    let bytes = |seed: u8| -> Vec<u8> {
        (0..9 * frame / 2).flat_map(|i| (((i * 7 + seed as usize) % 1024) as u16).to_le_bytes()).collect()
    };
    let (r, mut d) = (bytes(1), bytes(2));
    let run10 = |r: &[u8], d: &[u8], threads: usize| -> Result<u32, String> {
        let dir = tempfile::tempdir().unwrap();
        let (rp, dp) = (dir.path().join("ref.yuv"), dir.path().join("dis.yuv"));
        std::fs::write(&rp, r).unwrap();
        std::fs::write(&dp, d).unwrap();
        let (mut ra, mut da) = (vmaf::io::open(&rp, Some(raw)).unwrap(), vmaf::io::open(&dp, Some(raw)).unwrap());
        let b = Scorer::builder(g).feature("psnr", &[]).unwrap().threads(threads);
        let strip = |m: String| m.replace(&dir.path().display().to_string(), "DIR");
        score_streams(&mut *ra, &mut *da, b, StreamRange::default(), |_| {}, |_| {})
            .map(|rep| rep.frames)
            .map_err(|e| strip(e.to_string()))
    };
    assert_eq!(run10(&r, &d, 16), Ok(9));
    d[5 * frame + 101] = 0xFF;
    let inline = run10(&r, &d, 0).unwrap_err();
    assert!(inline.contains("frame 5") && inline.contains("DIR/dis.yuv"), "{inline}");
    for threads in [2, 8, 16] {
        assert_eq!(run10(&r, &d, threads).unwrap_err(), inline, "{threads} threads");
    }
}
