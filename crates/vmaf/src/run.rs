//! Scoring two video streams end to end: the loop the `vmaf` command runs,
//! usable from the library too.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use vmaf_core::{Error, Picture, Result};

use crate::io::VideoReader;
use crate::scorer::{Report, Scorer, ScorerBuilder};

/// How much of the streams to score.
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamRange {
    /// Frames to drop from the start of the reference.
    pub skip_reference: u32,
    /// Frames to drop from the start of the distorted stream.
    pub skip_distorted: u32,
    /// At most this many pairs (0: no limit).
    pub max_frames: u32,
}

/// Checks that two streams can be compared frame by frame.
pub fn check_compatible(reference: &dyn VideoReader, distorted: &dyn VideoReader) -> Result<()> {
    let (a, b) = (reference.geometry(), distorted.geometry());
    if a == b {
        return Ok(());
    }
    let desc =
        |g: &vmaf_core::Geometry| format!("{}x{} {} {}-bit", g.width, g.height, g.sampling.as_str(), g.bit_depth);
    Err(Error::Mismatch(format!(
        "{} is {}, {} is {}",
        reference.path().display(),
        desc(&a),
        distorted.path().display(),
        desc(&b)
    )))
}

/// Pictures each read-ahead thread may hold filled before the scorer takes
/// them: enough to ride out a slow read, small enough to keep memory flat.
const READ_AHEAD: usize = 2;

/// Reads both streams to the end (or `range.max_frames`), scoring each
/// pair; `progress` is called after every frame with the count so far.
/// Streams of different lengths are scored up to the shorter one, with a
/// warning through `warn`, as libvmaf does.
///
/// With several worker threads or a GPU backend, each stream is read on a
/// thread of its own, ahead of the scorer: reading both files in parallel
/// and overlapping them with scoring is what lets a fast backend keep
/// busy. Filled pictures are swapped into the scorer's slots (pointer
/// swaps, no copy) and the slot's old buffers go back to the reader. With
/// one CPU thread, reading stays on the calling thread, so the comparison
/// with libvmaf at one thread is one thread against one.
pub fn score_streams(
    reference: &mut dyn VideoReader,
    distorted: &mut dyn VideoReader,
    builder: ScorerBuilder,
    range: StreamRange,
    progress: impl FnMut(u32),
    warn: impl FnMut(&str),
) -> Result<Report> {
    check_compatible(reference, distorted)?;
    let read_ahead = builder.reads_ahead();
    let scorer = builder.build()?;
    if read_ahead {
        score_read_ahead(reference, distorted, scorer, range, progress, warn)
    } else {
        score_inline(reference, distorted, scorer, range, progress, warn)
    }
}

fn ended_early(first: &dyn VideoReader, second: &dyn VideoReader) -> String {
    format!("\"{}\" ended before \"{}\"", first.path().display(), second.path().display())
}

fn score_inline(
    reference: &mut dyn VideoReader,
    distorted: &mut dyn VideoReader,
    mut scorer: Scorer,
    range: StreamRange,
    mut progress: impl FnMut(u32),
    mut warn: impl FnMut(&str),
) -> Result<Report> {
    // Skipped frames are read into the first slot and overwritten later.
    for _ in 0..range.skip_reference {
        if !reference.read_frame(scorer.frame_slot().0)? {
            break;
        }
    }
    for _ in 0..range.skip_distorted {
        if !distorted.read_frame(scorer.frame_slot().1)? {
            break;
        }
    }
    loop {
        if range.max_frames != 0 && scorer.frames() >= range.max_frames {
            break;
        }
        let (r, d) = scorer.frame_slot();
        let got_r = reference.read_frame(r)?;
        let got_d = distorted.read_frame(d)?;
        match (got_r, got_d) {
            (true, true) => {}
            (false, false) => break,
            (false, true) => {
                warn(&ended_early(reference, distorted));
                break;
            }
            (true, false) => {
                warn(&ended_early(distorted, reference));
                break;
            }
        }
        scorer.commit_frame()?;
        progress(scorer.frames());
    }
    scorer.finish()
}

/// One stream read on its own thread: filled pictures come back on
/// `filled` (`None` at the end of the stream, or the read error), and
/// emptied ones go back on `free`.
struct ReadAhead {
    filled: Receiver<Result<Option<Picture>>>,
    free: SyncSender<Picture>,
}

impl ReadAhead {
    fn spawn<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        reader: &'scope mut dyn VideoReader,
        skip: u32,
    ) -> Result<ReadAhead> {
        let geometry = reader.geometry();
        let path = reader.path().to_path_buf();
        let (free_tx, free_rx) = sync_channel::<Picture>(READ_AHEAD + 1);
        let (filled_tx, filled_rx) = sync_channel::<Result<Option<Picture>>>(READ_AHEAD + 1);
        // Every buffer is allocated here, before the first frame.
        for _ in 0..READ_AHEAD {
            free_tx.send(Picture::try_new(geometry)?).map_err(|_| stopped())?;
        }
        std::thread::Builder::new()
            .name("vmaf-reader".into())
            .spawn_scoped(scope, move || {
                // Ends when the scorer side hangs up (either channel).
                let mut run = || -> Result<()> {
                    let mut pic = free_rx.recv().map_err(|_| stopped())?;
                    for _ in 0..skip {
                        if !reader.read_frame(&mut pic)? {
                            break;
                        }
                    }
                    loop {
                        if !reader.read_frame(&mut pic)? {
                            return Ok(());
                        }
                        filled_tx.send(Ok(Some(pic))).map_err(|_| stopped())?;
                        pic = free_rx.recv().map_err(|_| stopped())?;
                    }
                };
                let end = match run() {
                    Ok(()) => Ok(None),
                    Err(e) => Err(e),
                };
                let _ = filled_tx.send(end);
            })
            .map_err(|e| Error::io(path, e))?;
        Ok(ReadAhead { filled: filled_rx, free: free_tx })
    }

    /// The next picture, or `None` at the end of the stream.
    fn next(&self) -> Result<Option<Picture>> {
        self.filled.recv().map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::Extractor { feature: "reader".into(), msg: "a reading thread stopped unexpectedly".into() }
}

fn score_read_ahead(
    reference: &mut dyn VideoReader,
    distorted: &mut dyn VideoReader,
    mut scorer: Scorer,
    range: StreamRange,
    mut progress: impl FnMut(u32),
    mut warn: impl FnMut(&str),
) -> Result<Report> {
    let (ref_msg, dis_msg) = (ended_early(reference, distorted), ended_early(distorted, reference));
    std::thread::scope(|scope| {
        let r = ReadAhead::spawn(scope, reference, range.skip_reference)?;
        let d = ReadAhead::spawn(scope, distorted, range.skip_distorted)?;
        loop {
            if range.max_frames != 0 && scorer.frames() >= range.max_frames {
                break;
            }
            match (r.next()?, d.next()?) {
                (Some(mut a), Some(mut b)) => {
                    let (sa, sb) = scorer.frame_slot();
                    std::mem::swap(sa, &mut a);
                    std::mem::swap(sb, &mut b);
                    // A reader that has ended no longer takes buffers.
                    let _ = r.free.send(a);
                    let _ = d.free.send(b);
                }
                (None, None) => break,
                (None, Some(_)) => {
                    warn(&ref_msg);
                    break;
                }
                (Some(_), None) => {
                    warn(&dis_msg);
                    break;
                }
            }
            scorer.commit_frame()?;
            progress(scorer.frames());
        }
        // Hanging up ends both reading threads before the scope joins them.
        drop((r, d));
        scorer.finish()
    })
}
