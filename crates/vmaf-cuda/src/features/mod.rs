//! One module per CUDA feature extractor; each exports its registry entry
//! `SPEC` and provides the same features and options as the CPU module of
//! the same name.
//!
//! [`Member`] is what every one of them holds of its scorer's frame
//! session: the bookkeeping of submitting a frame, enqueueing on its own
//! stream and waiting for the frame is the same for all of them, so it is
//! written once here. So is what they offer callers ([`CudaFeature`]:
//! frames from host or device memory, collecting by index) and their
//! [`vmaf_core::Extractor`] and `Drop` impls ([`cuda_extractor!`]): each
//! module writes only what it enqueues for a frame and how it reads the
//! result.

pub mod adm;
pub mod motion;
pub mod psnr;
pub mod vif;

use vmaf_core::{Error, FeatureSink, Geometry, Picture, Result};

use crate::device::{CudaDevice, PinnedBuffer, Stream};
use crate::picture::CudaPicture;
use crate::session::{FrameInput, FrameSession, Planes};

/// Frames a CUDA extractor can have in flight (the slots of the scorer's
/// [`crate::session::FrameSession`]).
pub use crate::session::RING;

/// A frame's two pictures, where they are.
#[derive(Clone, Copy)]
pub enum Frame<'a> {
    /// In host memory: the session uploads them, once for all extractors.
    Host(&'a Picture, &'a Picture),
    /// Already in device memory (see [`CudaPicture::from_raw`] for what
    /// the caller guarantees): nothing is copied to the device.
    Device(&'a CudaPicture<'a>, &'a CudaPicture<'a>),
}

impl Frame<'_> {
    /// The geometries of the reference and the distorted picture.
    pub fn geometries(&self) -> [&Geometry; 2] {
        match self {
            Frame::Host(r, d) => [r.geometry(), d.geometry()],
            Frame::Device(r, d) => [r.geometry(), d.geometry()],
        }
    }
}

/// What every CUDA extractor offers besides [`vmaf_core::Extractor`]:
/// frames already in device memory, and collecting by index outside an
/// engine. `submit_*` only enqueue (no allocation, no host wait); the
/// first `collect_frame` of a frame waits for it, once for all the
/// extractors of the scorer's session.
pub trait CudaFeature {
    /// Enqueues frame `index`.
    fn submit_frame(&mut self, frame: Frame<'_>, index: u32) -> Result<()>;

    /// Waits for frame `index` and puts its features into `sink`.
    fn collect_frame(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()>;

    /// Features that only the end of the stream gives (aggregates, the
    /// last frame of a temporal window).
    fn flush_frames(&mut self, _sink: &mut FeatureSink) {}

    /// Enqueues frame `index` of host pictures.
    fn submit_host(&mut self, reference: &Picture, distorted: &Picture, index: u32) -> Result<()> {
        self.submit_frame(Frame::Host(reference, distorted), index)
    }

    /// Enqueues frame `index` of pictures already in device memory.
    fn submit_device(&mut self, reference: &CudaPicture<'_>, distorted: &CudaPicture<'_>, index: u32) -> Result<()> {
        self.submit_frame(Frame::Device(reference, distorted), index)
    }
}

/// The [`vmaf_core::Extractor`] and `Drop` impls of a [`CudaFeature`] that
/// has a `member: Member` and a `host` with `names()`. `Drop` waits for
/// the session's work before any field goes: buffers may still be read by
/// work on the stream (a frame submitted and never collected).
macro_rules! cuda_extractor {
    ($t:ty) => {
        impl vmaf_core::Extractor for $t {
            fn feature_names(&self) -> &[String] {
                self.host.names()
            }

            fn submit(&mut self, frame: &vmaf_core::FramePair<'_>) -> vmaf_core::Result<()> {
                $crate::features::CudaFeature::submit_host(self, frame.reference, frame.distorted, frame.index)
            }

            fn collect(&mut self, index: u32, sink: &mut vmaf_core::FeatureSink) -> vmaf_core::Result<()> {
                $crate::features::CudaFeature::collect_frame(self, index, sink)
            }

            fn flush(&mut self, sink: &mut vmaf_core::FeatureSink) -> vmaf_core::Result<()> {
                $crate::features::CudaFeature::flush_frames(self, sink);
                Ok(())
            }

            fn deferred_collect(&self) -> bool {
                true
            }
        }

        impl Drop for $t {
            fn drop(&mut self) {
                self.member.drain();
            }
        }
    };
}
pub(crate) use cuda_extractor;

/// The 64-bit words of result slot `slot` of `results`, which holds
/// `bytes` a slot (the device writes them in host order).
pub(crate) fn slot_words(results: &PinnedBuffer, slot: usize, bytes: usize) -> impl Fn(usize) -> u64 + '_ {
    let b = &results.as_slice()[slot * bytes..(slot + 1) * bytes];
    move |i| u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
}

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

    /// Frame `index`'s planes on the device: host pictures uploaded by
    /// the session unless another extractor already did, device pictures
    /// as they are.
    pub fn frame(&self, frame: Frame<'_>, index: u32) -> Result<FrameInput> {
        match frame {
            Frame::Host(r, d) => self.session.host_frame(r, d, index),
            Frame::Device(r, d) => self.session.device_frame(r, d, index),
        }
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
