//! Scoring two video streams end to end: the loop the `vmaf` command runs,
//! usable from the library too.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use vmaf_core::{Error, Picture, Result};

use crate::io::{Indexed, VideoReader};
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
/// With several worker threads or a GPU backend, each stream is read on
/// threads of its own, ahead of the scorer
/// ([`ScorerBuilder::read_threads`]): reading both files in parallel and
/// overlapping them with scoring is what lets a fast backend keep busy.
/// Filled pictures are swapped into the scorer's slots (pointer
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
    let read_threads = builder.read_threads();
    let scorer = builder.build()?;
    if read_threads > 0 {
        score_read_ahead(reference, distorted, scorer, range, read_threads, progress, warn)
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

/// What a reading thread hands over.
enum Got {
    Frame(Picture),
    /// The end of the stream.
    End,
    /// An indexed reader met a frame it cannot read by index (see
    /// [`Indexed::Irregular`]); the stream goes on sequentially from there.
    Irregular,
}

/// One reading thread: filled pictures come back on `filled` (ending with
/// [`Got::End`], [`Got::Irregular`] or the read error), and emptied ones go
/// back on `free`.
struct Lane {
    filled: Receiver<Result<Got>>,
    free: SyncSender<Picture>,
}

impl Lane {
    /// Starts a thread calling `read` on its pictures until it reports
    /// anything but a frame, or the scorer side hangs up.
    fn spawn<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        geometry: vmaf_core::Geometry,
        path: &std::path::Path,
        mut read: impl FnMut(&mut Picture) -> Result<Indexed> + Send + 'scope,
    ) -> Result<Lane> {
        let (free_tx, free_rx) = sync_channel::<Picture>(READ_AHEAD + 1);
        let (filled_tx, filled_rx) = sync_channel::<Result<Got>>(READ_AHEAD + 1);
        // Every buffer is allocated here, before the first frame.
        for _ in 0..READ_AHEAD {
            free_tx.send(Picture::try_new(geometry)?).map_err(|_| stopped())?;
        }
        std::thread::Builder::new()
            .name("vmaf-reader".into())
            .spawn_scoped(scope, move || {
                let mut run = || -> Result<Got> {
                    loop {
                        let mut pic = free_rx.recv().map_err(|_| stopped())?;
                        match read(&mut pic)? {
                            Indexed::Read => filled_tx.send(Ok(Got::Frame(pic))).map_err(|_| stopped())?,
                            Indexed::End => return Ok(Got::End),
                            Indexed::Irregular => return Ok(Got::Irregular),
                        }
                    }
                };
                let _ = filled_tx.send(run());
            })
            .map_err(|e| Error::io(path, e))?;
        Ok(Lane { filled: filled_rx, free: free_tx })
    }

    /// A thread reading `reader` sequentially, after dropping `skip` frames.
    fn sequential<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        reader: &'scope mut dyn VideoReader,
        mut skip: u64,
    ) -> Result<Lane> {
        let (geometry, path) = (reader.geometry(), reader.path().to_path_buf());
        Lane::spawn(scope, geometry, &path, move |pic| {
            while skip > 0 {
                skip -= 1;
                if !reader.read_frame(pic)? {
                    return Ok(Indexed::End);
                }
            }
            Ok(if reader.read_frame(pic)? { Indexed::Read } else { Indexed::End })
        })
    }
}

/// One stream read ahead of the scorer: by one thread reading it
/// sequentially, or by several reading every `n`-th frame by index.
struct ReadAhead<'scope, 'env> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    lanes: Vec<Lane>,
    /// Frames handed out so far, after the skipped ones.
    taken: u64,
    skip: u64,
    /// The lane the last frame came from, which gets its buffer back.
    last: usize,
    /// The sequential reader, kept for an irregular frame while the
    /// stream is read by index.
    fallback: Option<&'scope mut dyn VideoReader>,
}

impl<'scope, 'env> ReadAhead<'scope, 'env> {
    fn spawn(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        reader: &'scope mut dyn VideoReader,
        skip: u32,
        threads: usize,
    ) -> Result<Self> {
        let skip = u64::from(skip);
        let mut ahead = ReadAhead { scope, lanes: Vec::new(), taken: 0, skip, last: 0, fallback: None };
        match reader.frame_file() {
            Some(file) if threads > 1 => {
                let path = reader.path().to_path_buf();
                for lane in 0..threads as u64 {
                    let (file, step) = (file.clone(), threads as u64);
                    let mut n = skip + lane;
                    ahead.lanes.push(Lane::spawn(scope, reader.geometry(), &path, move |pic| {
                        let got = file.read(n, pic);
                        n += step;
                        got
                    })?);
                }
                ahead.fallback = Some(reader);
            }
            _ => ahead.lanes.push(Lane::sequential(scope, reader, skip)?),
        }
        Ok(ahead)
    }

    /// The next picture, or `None` at the end of the stream.
    fn next(&mut self) -> Result<Option<Picture>> {
        let lane = (self.taken % self.lanes.len() as u64) as usize;
        match self.lanes[lane].filled.recv().map_err(|_| stopped())?? {
            Got::Frame(pic) => {
                self.taken += 1;
                self.last = lane;
                Ok(Some(pic))
            }
            Got::End => Ok(None),
            Got::Irregular => {
                // Every frame before this one was regular, so the
                // sequential reader, still at the start, finds this one by
                // reading through them. Dropping the lanes ends their
                // threads.
                let reader = self.fallback.take().ok_or_else(stopped)?;
                self.lanes.clear();
                self.lanes.push(Lane::sequential(self.scope, reader, self.skip + self.taken)?);
                self.next()
            }
        }
    }

    /// Returns an emptied picture to the lane of the last frame.
    fn give_back(&self, pic: Picture) {
        // A lane that has ended no longer takes buffers.
        let _ = self.lanes[self.last].free.send(pic);
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
    threads: usize,
    mut progress: impl FnMut(u32),
    mut warn: impl FnMut(&str),
) -> Result<Report> {
    let (ref_msg, dis_msg) = (ended_early(reference, distorted), ended_early(distorted, reference));
    std::thread::scope(|scope| {
        let mut r = ReadAhead::spawn(scope, reference, range.skip_reference, threads)?;
        let mut d = ReadAhead::spawn(scope, distorted, range.skip_distorted, threads)?;
        loop {
            if range.max_frames != 0 && scorer.frames() >= range.max_frames {
                break;
            }
            match (r.next()?, d.next()?) {
                (Some(mut a), Some(mut b)) => {
                    let (sa, sb) = scorer.frame_slot();
                    std::mem::swap(sa, &mut a);
                    std::mem::swap(sb, &mut b);
                    r.give_back(a);
                    d.give_back(b);
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
        // Hanging up ends every reading thread before the scope joins them.
        drop((r, d));
        scorer.finish()
    })
}
