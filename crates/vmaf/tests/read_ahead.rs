//! `score_streams` reads on threads of its own when the scorer has several
//! workers (or a device). These tests hold that path to the inline one:
//! the same scores, the same frame ranges, the same warning when the
//! streams differ in length, and the same error (naming the file) when a
//! stream is damaged.

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
fn run(r: &[u8], d: &[u8], threads: usize, range: StreamRange) -> vmaf::Result<(u32, Vec<u64>, Vec<String>)> {
    let b = Scorer::builder(geometry()).feature("psnr", &[]).unwrap().threads(threads);
    assert_eq!(b.reads_ahead(), threads > 1);
    let (mut ra, mut da) = (reader(r, "ref.y4m"), reader(d, "dis.y4m"));
    let mut warnings = Vec::new();
    let rep = score_streams(&mut ra, &mut da, b, range, |_| {}, |w| warnings.push(w.to_string()))?;
    let c = &rep.collector;
    let values =
        c.ids().flat_map(|id| (0..rep.frames).map(move |i| c.get(id, i).map_or(u64::MAX, f64::to_bits))).collect();
    Ok((rep.frames, values, warnings))
}

#[test]
fn same_scores_and_ranges_as_inline_reading() {
    let (r, d) = (stream(0..9), stream(100..109));
    for range in [
        StreamRange::default(),
        StreamRange { skip_reference: 1, skip_distorted: 2, max_frames: 0 },
        StreamRange { skip_reference: 0, skip_distorted: 0, max_frames: 4 },
        StreamRange { skip_reference: 3, skip_distorted: 0, max_frames: 2 },
    ] {
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
