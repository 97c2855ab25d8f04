//! Scoring two video streams end to end: the loop the `vmaf` command runs,
//! usable from the library too.

use vmaf_core::{Error, Result};

use crate::io::VideoReader;
use crate::scorer::{Report, ScorerBuilder};

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
    let desc = |g: &vmaf_core::Geometry| {
        format!("{}x{} {} {}-bit", g.width, g.height, g.sampling.as_str(), g.bit_depth)
    };
    Err(Error::Mismatch(format!(
        "{} is {}, {} is {}",
        reference.path().display(),
        desc(&a),
        distorted.path().display(),
        desc(&b)
    )))
}

/// Reads both streams to the end (or `range.max_frames`), scoring each
/// pair; `progress` is called after every frame with the count so far.
/// Streams of different lengths are scored up to the shorter one, with a
/// warning through `warn`, as libvmaf does.
pub fn score_streams(
    reference: &mut dyn VideoReader,
    distorted: &mut dyn VideoReader,
    builder: ScorerBuilder,
    range: StreamRange,
    mut progress: impl FnMut(u32),
    mut warn: impl FnMut(&str),
) -> Result<Report> {
    check_compatible(reference, distorted)?;
    let mut scorer = builder.build()?;
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
                warn(&format!(
                    "\"{}\" ended before \"{}\"",
                    reference.path().display(),
                    distorted.path().display()
                ));
                break;
            }
            (true, false) => {
                warn(&format!(
                    "\"{}\" ended before \"{}\"",
                    distorted.path().display(),
                    reference.path().display()
                ));
                break;
            }
        }
        scorer.commit_frame()?;
        progress(scorer.frames());
    }
    scorer.finish()
}
