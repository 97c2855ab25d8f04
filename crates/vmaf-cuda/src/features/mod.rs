//! One module per CUDA feature extractor; each exports its registry entry
//! `SPEC` and provides the same features and options as the CPU module of
//! the same name.
//!
//! [`Member`] is what every one of them holds of its scorer's frame
//! session: the bookkeeping of submitting a frame, enqueueing on its own
//! stream and waiting for the frame is the same for all of them, so it is
//! written once here.

pub mod adm;
pub mod motion;
pub mod psnr;
pub mod vif;

use vmaf_core::{Error, Picture, Result};

use crate::device::{CudaDevice, Stream};
use crate::picture::CudaPicture;
use crate::session::{FrameInput, FrameSession, Planes};

/// Frames a CUDA extractor can have in flight (the slots of the scorer's
/// [`crate::session::FrameSession`]).
pub use crate::session::RING;

/// An extractor's stream in its session (see [`Member::lane`]).
pub(crate) struct Lane {
    session: FrameSession,
    lane: usize,
}

impl Lane {
    /// Runs `f` with the stream.
    pub fn run<R>(&self, f: impl FnOnce(&Stream) -> Result<R>) -> Result<R> {
        self.session.with_stream(self.lane, f)
    }
}

/// An extractor's place in a frame session: the session, its lane (its
/// own stream), and the frame each result slot holds until collected.
pub(crate) struct Member {
    feature: &'static str,
    session: FrameSession,
    lane: usize,
    pending: [Option<u32>; RING],
}

impl Member {
    /// Joins `session` as extractor `feature`, reading `planes`.
    pub fn join(session: &FrameSession, planes: Planes, feature: &'static str) -> Result<Member> {
        let lane = session.join(planes)?;
        Ok(Member { feature, session: session.clone(), lane, pending: [None; RING] })
    }

    pub fn session(&self) -> &FrameSession {
        &self.session
    }

    pub fn device(&self) -> &CudaDevice {
        self.session.device()
    }

    /// Frame `index` of host pictures, uploaded by the session unless
    /// another extractor already did.
    pub fn host_frame(&self, reference: &Picture, distorted: &Picture, index: u32) -> Result<FrameInput> {
        self.session.host_frame(reference, distorted, index)
    }

    /// Frame `index` of pictures already in device memory.
    pub fn device_frame(
        &self,
        reference: &CudaPicture<'_>,
        distorted: &CudaPicture<'_>,
        index: u32,
    ) -> Result<FrameInput> {
        self.session.device_frame(reference, distorted, index)
    }

    /// The result slot for `input`, or an error naming the frame still
    /// waiting there when `RING` frames were submitted without a collect.
    pub fn claim(&self, input: &FrameInput) -> Result<usize> {
        match self.pending[input.slot] {
            Some(i) => Err(Error::Extractor {
                feature: self.feature.into(),
                msg: format!("frame {i} was not collected before {RING} more frames were submitted"),
            }),
            None => Ok(input.slot),
        }
    }

    /// This extractor's stream, as a handle that does not borrow the
    /// extractor (the session is an `Arc`), so that the work enqueued on it
    /// may borrow the extractor mutably.
    pub fn lane(&self) -> Lane {
        Lane { session: self.session.clone(), lane: self.lane }
    }

    /// After enqueueing frame `index` into `slot`: marks the slot pending,
    /// or, when enqueueing failed, waits out whatever did get enqueued so
    /// nothing rewrites a buffer the device may still read.
    pub fn settle<R>(&mut self, queued: Result<R>, slot: usize, index: u32) -> Result<R> {
        match queued {
            Ok(v) => {
                self.pending[slot] = Some(index);
                Ok(v)
            }
            Err(e) => {
                self.session.drain();
                Err(e)
            }
        }
    }

    /// Waits for frame `index` (through the session: one host wait per
    /// frame for all its extractors) and returns its result slot.
    pub fn wait(&mut self, index: u32) -> Result<usize> {
        let s = self.pending.iter().position(|x| *x == Some(index)).ok_or_else(|| Error::Extractor {
            feature: self.feature.into(),
            msg: format!("frame {index} was collected but never submitted"),
        })?;
        let waited = self.session.wait(s, index);
        self.pending[s] = None;
        waited.map(|()| s)
    }

    /// Waits for everything enqueued: for `Drop`, before any buffer goes.
    pub fn drain(&self) {
        self.session.drain();
    }
}
