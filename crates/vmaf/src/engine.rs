//! The frame engine: feeds frame pairs to extractor instances, on one or
//! several threads, and merges their scores in a fixed order.
//!
//! # Threaded: a work queue over a pool of frame slots
//!
//! Every frame pair lives in one of a fixed pool of slots (pictures plus one
//! output sink per extractor config; two slots per worker, plus two),
//! allocated when the engine is built. The caller fills a free slot in place
//! and commits it; committing queues the frame's work and returns at once
//! unless every slot is busy, in which case the caller waits for the oldest
//! frame and merges it. So reading the next frames overlaps scoring the
//! earlier ones, and nothing waits for a whole batch: a slow frame delays
//! only its own merge, not the other workers.
//!
//! A frame has two parts of work:
//! - the *stateless* part: every non-temporal extractor. Each worker thread
//!   owns one instance of each, so any worker can score any frame; frames
//!   left out by `subsample` have no stateless part.
//! - the *temporal* part: extractors that keep state from frame to frame
//!   ([`vmaf_core::ExtractorSpec::temporal`]). They have one instance each,
//!   which must see every frame in stream order. The part for frame `i`
//!   becomes runnable once frame `i` is committed and the part for `i - 1`
//!   is done; whichever worker is free runs it, and workers take it before
//!   stateless work because it is the one serial chain through the stream.
//!   (With temporal configs only, one worker is all that can help.)
//!
//! The caller merges finished frames strictly in frame order, and within a
//! frame in config order (the order libvmaf's single-threaded run writes
//! them), then recycles the slot. So the output is identical for every
//! thread count. The first error in frame order is the one returned; once a
//! frame has failed, later frames are skipped rather than scored.
//!
//! # Inline: no thread at all
//!
//! With no worker thread (`threads` 0) the caller scores each frame as it
//! commits it. When every
//! extractor allows it ([`vmaf_core::Extractor::deferred_collect`]: a device
//! backend that keeps two frames in flight), the engine looks one frame
//! ahead: it submits frame `i + 1` before collecting frame `i`, so the
//! caller reads the next pair while the device computes. Merge order is the
//! same.
//!
//! Every picture, sink and queue is allocated when the engine is built and
//! recycled: scoring allocates nothing per frame once the sinks have grown
//! to their steady size, and no thread is started after [`Engine::new`].

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use vmaf_core::{
    CreateArgs, Error, Extractor, ExtractorSpec, FeatureCollector, FeatureId, FeatureSink, FramePair, Geometry,
    Options, Picture, PictureData, Result,
};

/// One distinct (extractor, options) pair the run uses.
pub(crate) struct ExtractorConfig {
    pub spec: &'static ExtractorSpec,
    pub options: Options,
}

/// Extractor instances with the index of the config each belongs to.
type Instances = Vec<(usize, Box<dyn Extractor>)>;

/// The two parts of a frame's work, as indexes into [`Frame::parts`].
const STATELESS: usize = 0;
const TEMPORAL: usize = 1;

/// One part's scores for one frame: a sink per config of the part, in
/// config order, and the part's error if it failed.
#[derive(Default)]
struct PartOut {
    sinks: Vec<FeatureSink>,
    error: Option<Error>,
}

/// A frame slot.
///
/// Shared through `Arc` with the workers scoring it: they only read the
/// pictures, and each part's scores sit behind their own mutex, which the
/// one worker running that part holds for the part's duration (never
/// contended: the caller reads a part only once it is done). The caller
/// refills a slot through `Arc::get_mut`, which succeeds because workers
/// drop their handle before reporting the part done.
struct Frame {
    reference: Picture,
    distorted: Picture,
    index: u32,
    parts: [Mutex<PartOut>; 2],
}

impl Frame {
    fn pair(&self) -> FramePair<'_> {
        FramePair { reference: &self.reference, distorted: &self.distorted, index: self.index }
    }
}

/// Locks, ignoring poisoning: extractor panics are caught before they can
/// unwind through a guard, and the queue's own code does not panic, so a
/// poisoned lock still holds consistent data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `extractors` on `frame` and writes their scores to `out` (a sink per
/// extractor, same order): every submit before any collect, so a device
/// backend enqueues all of the frame's work before waiting once.
fn score(extractors: &mut Instances, frame: &Frame, out: &mut PartOut) -> Result<()> {
    let pair = frame.pair();
    for (_, ex) in extractors.iter_mut() {
        ex.submit(&pair)?;
    }
    for ((_, ex), sink) in extractors.iter_mut().zip(out.sinks.iter_mut()) {
        ex.collect(frame.index, sink)?;
    }
    Ok(())
}

/// A part of one frame's work, as queued.
struct Task {
    slot: usize,
    frame: Arc<Frame>,
}

/// Everything the workers and the caller share.
///
/// One mutex guards the whole queue: each frame costs a handful of lock
/// operations (queue, take, report done, merge), against milliseconds of
/// scoring, so a finer scheme would buy nothing measurable and would make
/// the temporal-chain and shutdown rules harder to get right.
struct Queue {
    stateless: VecDeque<Task>,
    temporal: VecDeque<Task>,
    /// The temporal instances while no worker is running them; `None` means
    /// a worker has them, so the next temporal task must wait.
    temporal_ex: Option<Instances>,
    /// Per slot: parts queued or running. A committed frame is finished at 0.
    unfinished: Vec<u8>,
    /// The lowest frame index that failed: parts of later frames are
    /// skipped, parts of earlier ones still run so that the error returned
    /// is the first in frame order.
    fail_at: Option<u32>,
    caller_waiting: bool,
    shutdown: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Workers wait here for runnable work.
    work: Condvar,
    /// The caller waits here for a frame to finish.
    done: Condvar,
}

/// What a worker took off the queue.
struct Job {
    task: Task,
    part: usize,
    /// For a temporal job: the temporal instances, returned when done.
    temporal: Option<Instances>,
    skip: bool,
}

impl Queue {
    fn next_job(&mut self) -> Option<Job> {
        let skip = |q: &Queue, t: &Task| q.fail_at.is_some_and(|f| t.frame.index > f);
        // The temporal chain first: it is the one serial path through the
        // stream, so any delay to it delays every later frame.
        if self.temporal_ex.is_some() {
            if let Some(task) = self.temporal.pop_front() {
                let skip = skip(self, &task);
                return Some(Job { task, part: TEMPORAL, temporal: self.temporal_ex.take(), skip });
            }
        }
        let task = self.stateless.pop_front()?;
        let skip = skip(self, &task);
        Some(Job { task, part: STATELESS, temporal: None, skip })
    }
}

/// A worker thread's loop: runs jobs until shutdown, then hands back its
/// stateless instances (the engine flushes them at the end of the stream).
fn work(shared: &Shared, mut mine: Instances) -> Instances {
    let mut q = lock(&shared.queue);
    loop {
        if q.shutdown {
            return mine;
        }
        let Some(mut job) = q.next_job() else {
            q = shared.work.wait(q).unwrap_or_else(PoisonError::into_inner);
            continue;
        };
        drop(q);
        let index = job.task.frame.index;
        let mut failed = false;
        if !job.skip {
            let extractors = match job.temporal.as_mut() {
                Some(t) => t,
                None => &mut mine,
            };
            let frame = &*job.task.frame;
            let mut out = lock(&frame.parts[job.part]);
            // A panicking extractor must not kill the worker: the frame would
            // never finish and the caller would wait forever.
            let result = catch_unwind(AssertUnwindSafe(|| score(extractors, frame, &mut out)))
                .unwrap_or_else(|panic| Err(panicked(panic)));
            if let Err(e) = result {
                out.error = Some(e);
                failed = true;
            }
        }
        let slot = job.task.slot;
        // Release the frame before reporting it done, so that the caller
        // holds the only handle once the frame is finished.
        drop(job.task);
        q = lock(&shared.queue);
        if let Some(t) = job.temporal {
            q.temporal_ex = Some(t);
        }
        if failed {
            q.fail_at = Some(q.fail_at.map_or(index, |f| f.min(index)));
        }
        q.unfinished[slot] -= 1;
        if q.unfinished[slot] == 0 && q.caller_waiting {
            shared.done.notify_one();
        }
    }
}

fn panicked(panic: Box<dyn std::any::Any + Send>) -> Error {
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Error::Extractor { feature: "engine".into(), msg: format!("an extractor panicked: {msg}") }
}

/// The worker threads and their queue.
struct Threads {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<Instances>>,
}

impl Threads {
    /// Stops the workers once their current job is done, drops queued work
    /// and returns every instance: the workers' stateless ones in worker
    /// order, then the temporal ones. Afterwards the caller holds the only
    /// handle to every frame.
    fn stop(&mut self) -> Result<(Vec<Instances>, Instances)> {
        {
            let mut q = lock(&self.shared.queue);
            q.shutdown = true;
            q.stateless.clear();
            q.temporal.clear();
        }
        self.shared.work.notify_all();
        let mut sets = Vec::with_capacity(self.handles.len());
        let mut died = false;
        for h in self.handles.drain(..) {
            match h.join() {
                Ok(set) => sets.push(set),
                Err(_) => died = true,
            }
        }
        let temporal = lock(&self.shared.queue).temporal_ex.take();
        match temporal {
            Some(t) if !died => Ok((sets, t)),
            _ => Err(worker_died()),
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        if !self.handles.is_empty() {
            let _ = self.stop();
        }
    }
}

/// Frames submitted ahead of the one collected, in the inline mode with
/// look-ahead. Two: the device's latency per frame (upload, kernels, the
/// wait) is longer than the host's work per frame, and with one frame ahead
/// the two add up instead of overlapping.
const LOOKAHEAD: usize = 2;

enum Mode {
    /// Scoring on the caller's thread: one instance per config, in config
    /// order. With `lookahead`, the frames in `order` (up to [`LOOKAHEAD`])
    /// have been submitted and await collection.
    Inline {
        extractors: Instances,
        lookahead: bool,
    },
    Threads(Threads),
}

/// Runs extractors over a stream of frame pairs.
pub(crate) struct Engine {
    /// Per config: collector ids of its feature names (by slot), filled on
    /// first write so features enter the output order as libvmaf's do.
    names: Vec<Vec<String>>,
    ids: Vec<Vec<Option<FeatureId>>>,
    /// Per config: its part and its sink's position in that part.
    route: Vec<(usize, usize)>,
    /// Whether any config has a stateless / a temporal part.
    has_part: [bool; 2],
    subsample: u32,
    frames: Vec<Arc<Frame>>,
    /// The slot the caller fills next.
    fill: usize,
    /// Committed slots not merged yet, in frame order.
    order: VecDeque<usize>,
    free: Vec<usize>,
    mode: Mode,
    /// Set once an error was returned: the stream cannot go on.
    failed: bool,
    next_index: u32,
    pub collector: FeatureCollector,
}

impl Engine {
    pub fn new(
        geometry: Geometry,
        configs: Vec<ExtractorConfig>,
        threads: usize,
        cpu_level: vmaf_core::CpuLevel,
        subsample: u32,
        device: Option<&(dyn std::any::Any + Send + Sync)>,
    ) -> Result<Self> {
        let create =
            |c: &ExtractorConfig| (c.spec.create)(&CreateArgs { options: &c.options, geometry, cpu_level, device });
        let mut route = Vec::with_capacity(configs.len());
        let mut part_len = [0usize; 2];
        for c in &configs {
            let part = if c.spec.temporal { TEMPORAL } else { STATELESS };
            route.push((part, part_len[part]));
            part_len[part] += 1;
        }
        let has_part = [part_len[STATELESS] > 0, part_len[TEMPORAL] > 0];

        // One instance per config; the threaded mode adds one per further
        // worker for stateless configs.
        let mut first: Instances = Vec::with_capacity(configs.len());
        for (ci, c) in configs.iter().enumerate() {
            first.push((ci, create(c)?));
        }
        let names: Vec<Vec<String>> = first.iter().map(|(_, ex)| ex.feature_names().to_vec()).collect();
        let ids = names.iter().map(|n| vec![None; n.len()]).collect();

        // Temporal work is one serial chain, so without stateless configs a
        // single worker (overlapping it with reading) is all that helps.
        let workers = match threads {
            // As libvmaf's `--threads n`: n workers while the caller reads
            // and merges; 0 scores on the caller's thread.
            0 => 0,
            n if has_part[STATELESS] => n,
            _ => 1,
        };
        let (mode, slots) = if workers == 0 {
            let lookahead = !first.is_empty() && first.iter().all(|(_, ex)| ex.deferred_collect());
            (Mode::Inline { extractors: first, lookahead }, if lookahead { LOOKAHEAD + 1 } else { 1 })
        } else {
            // Enough slots for every worker to hold a frame while as many
            // more wait queued behind a slow one, plus the one being filled.
            let slots = 2 * workers + 2;
            let (mut stateless, temporal): (Instances, Instances) =
                first.into_iter().partition(|(ci, _)| route[*ci].0 == STATELESS);
            let mut sets = Vec::with_capacity(workers);
            for w in 0..workers {
                let set = if w == 0 {
                    std::mem::take(&mut stateless)
                } else {
                    let mut set = Instances::with_capacity(part_len[STATELESS]);
                    for (ci, c) in configs.iter().enumerate() {
                        if route[ci].0 == STATELESS {
                            set.push((ci, create(c)?));
                        }
                    }
                    set
                };
                sets.push(set);
            }
            let shared = Arc::new(Shared {
                queue: Mutex::new(Queue {
                    stateless: VecDeque::with_capacity(slots),
                    temporal: VecDeque::with_capacity(slots),
                    temporal_ex: Some(temporal),
                    unfinished: vec![0; slots],
                    fail_at: None,
                    caller_waiting: false,
                    shutdown: false,
                }),
                work: Condvar::new(),
                done: Condvar::new(),
            });
            // Built before spawning so that a failed spawn stops (on drop)
            // the workers already started.
            let mut t = Threads { shared, handles: Vec::with_capacity(workers) };
            for set in sets {
                let shared = Arc::clone(&t.shared);
                let handle = std::thread::Builder::new()
                    .name("vmaf-worker".into())
                    .spawn(move || work(&shared, set))
                    .map_err(|e| Error::Extractor {
                    feature: "engine".into(),
                    msg: format!("cannot start a worker thread: {e}"),
                })?;
                t.handles.push(handle);
            }
            (Mode::Threads(t), slots)
        };

        let frames = allocate_frames(geometry, slots, part_len, workers)?;
        let mut free: Vec<usize> = Vec::with_capacity(slots);
        free.extend((1..slots).rev());
        Ok(Engine {
            names,
            ids,
            route,
            has_part,
            subsample: subsample.max(1),
            frames,
            fill: 0,
            order: VecDeque::with_capacity(slots),
            free,
            mode,
            failed: false,
            next_index: 0,
            collector: FeatureCollector::new(),
        })
    }

    /// The next free frame pair to fill in place. Until [`Self::commit`],
    /// every call returns the same pair.
    pub fn slot(&mut self) -> (&mut Picture, &mut Picture) {
        let f = self.filling();
        (&mut f.reference, &mut f.distorted)
    }

    /// The slot being filled. No worker holds it: it came from the free list
    /// (merged frames, released by every worker) or, after a failure, every
    /// worker was stopped.
    fn filling(&mut self) -> &mut Frame {
        Arc::get_mut(&mut self.frames[self.fill]).expect("the slot being filled is shared with no worker")
    }

    /// Queues the pair filled through [`Self::slot`] (or, with one thread,
    /// scores it). May wait for earlier frames when every slot is busy.
    pub fn commit(&mut self) -> Result<()> {
        self.commit_with(None)
    }

    /// Scores a pair the caller owns without copying it into a slot, when
    /// the engine runs inline with look-ahead: there every extractor (a
    /// device backend) has copied what it needs by the end of `submit`, so
    /// the pictures are not needed afterwards. Returns false, having done
    /// nothing, in every other mode (the caller then copies the pair in).
    pub fn commit_borrowed(&mut self, reference: &Picture, distorted: &Picture) -> Result<bool> {
        if !matches!(self.mode, Mode::Inline { lookahead: true, .. }) {
            return Ok(false);
        }
        self.commit_with(Some((reference, distorted))).map(|()| true)
    }

    fn commit_with(&mut self, borrowed: Option<(&Picture, &Picture)>) -> Result<()> {
        if self.failed {
            return Err(stopped());
        }
        let index = self.next_index;
        let f = self.filling();
        f.index = index;
        for part in &mut f.parts {
            let out = part.get_mut().unwrap_or_else(PoisonError::into_inner);
            out.error = None;
            for s in &mut out.sinks {
                s.clear();
            }
        }
        self.next_index += 1;
        let result = match self.mode {
            Mode::Inline { .. } => self.commit_inline(borrowed),
            Mode::Threads(_) => self.commit_threaded(),
        };
        if result.is_err() {
            self.fail();
        }
        result
    }

    /// Frames committed so far.
    pub fn frames(&self) -> u32 {
        self.next_index
    }

    /// Whether frame `index` has a stateless part.
    fn runs_stateless(&self, index: u32) -> bool {
        self.has_part[STATELESS] && index.is_multiple_of(self.subsample)
    }

    fn commit_inline(&mut self, borrowed: Option<(&Picture, &Picture)>) -> Result<()> {
        let slot = self.fill;
        let stateless = self.runs_stateless(self.frames[slot].index);
        let Mode::Inline { extractors, lookahead } = &mut self.mode else { unreachable!() };
        let lookahead = *lookahead;
        let frame = &self.frames[slot];
        let pair = match borrowed {
            Some((reference, distorted)) => FramePair { reference, distorted, index: frame.index },
            None => frame.pair(),
        };
        let mut submitted = Ok(());
        for (ci, ex) in extractors.iter_mut() {
            if self.route[*ci].0 == TEMPORAL || stateless {
                submitted = ex.submit(&pair);
                if submitted.is_err() {
                    break;
                }
            }
        }
        if !lookahead {
            submitted?;
            self.collect_inline(slot)?;
            return self.merge(slot);
        }
        // Frame i + LOOKAHEAD is submitted; now collect frame i, which
        // comes first in frame order (so its error, if any, wins).
        if self.order.len() >= LOOKAHEAD {
            if let Some(prev) = self.order.pop_front() {
                self.collect_inline(prev)?;
                self.merge(prev)?;
                self.free.push(prev);
            }
        }
        submitted?;
        self.order.push_back(slot);
        self.fill = self.free.pop().ok_or_else(no_free_slot)?;
        Ok(())
    }

    /// Collects every extractor that was submitted the frame in `slot`.
    fn collect_inline(&mut self, slot: usize) -> Result<()> {
        let index = self.frames[slot].index;
        let stateless = self.runs_stateless(index);
        let Mode::Inline { extractors, .. } = &mut self.mode else { unreachable!() };
        let frame = Arc::get_mut(&mut self.frames[slot]).ok_or_else(worker_died)?;
        let [s, t] = &mut frame.parts;
        let outs =
            [s.get_mut().unwrap_or_else(PoisonError::into_inner), t.get_mut().unwrap_or_else(PoisonError::into_inner)];
        for (ci, ex) in extractors.iter_mut() {
            let (part, k) = self.route[*ci];
            if part == TEMPORAL || stateless {
                ex.collect(index, &mut outs[part].sinks[k])?;
            }
        }
        Ok(())
    }

    fn commit_threaded(&mut self) -> Result<()> {
        let slot = self.fill;
        let index = self.frames[slot].index;
        let parts = [self.runs_stateless(index), self.has_part[TEMPORAL]];
        let Mode::Threads(t) = &self.mode else { unreachable!() };
        {
            let mut q = lock(&t.shared.queue);
            q.unfinished[slot] = parts.iter().filter(|p| **p).count() as u8;
            if parts[STATELESS] {
                q.stateless.push_back(Task { slot, frame: Arc::clone(&self.frames[slot]) });
            }
            if parts[TEMPORAL] {
                q.temporal.push_back(Task { slot, frame: Arc::clone(&self.frames[slot]) });
            }
        }
        for _ in parts.iter().filter(|p| **p) {
            t.shared.work.notify_one();
        }
        self.order.push_back(slot);
        // Keep one slot free for the caller to fill next.
        self.drain(self.frames.len() - 1)?;
        self.fill = self.free.pop().ok_or_else(no_free_slot)?;
        Ok(())
    }

    /// Merges the finished frames at the head of the stream, waiting until
    /// at most `keep` committed frames are left unmerged.
    fn drain(&mut self, keep: usize) -> Result<()> {
        let Mode::Threads(t) = &self.mode else { unreachable!() };
        let mut ready = 0;
        {
            let mut q = lock(&t.shared.queue);
            loop {
                while ready < self.order.len() && q.unfinished[self.order[ready]] == 0 {
                    ready += 1;
                }
                if self.order.len() - ready <= keep {
                    break;
                }
                q.caller_waiting = true;
                q = t.shared.done.wait(q).unwrap_or_else(PoisonError::into_inner);
                q.caller_waiting = false;
            }
        }
        // No worker touches a finished frame, so it is merged unlocked.
        for _ in 0..ready {
            let Some(slot) = self.order.pop_front() else { break };
            self.merge(slot)?;
            self.free.push(slot);
        }
        Ok(())
    }

    /// Writes a finished frame's scores to the collector in config order, or
    /// returns its error (the stateless part's first).
    fn merge(&mut self, slot: usize) -> Result<()> {
        let frame = &self.frames[slot];
        let mut outs = [lock(&frame.parts[STATELESS]), lock(&frame.parts[TEMPORAL])];
        for out in &mut outs {
            if let Some(e) = out.error.take() {
                return Err(e);
            }
        }
        for (ci, &(part, k)) in self.route.iter().enumerate() {
            write(&mut self.collector, &self.names[ci], &mut self.ids[ci], &outs[part].sinks[k]);
        }
        Ok(())
    }

    /// After an error: stops the workers (so that every slot is the
    /// caller's again) and refuses further frames.
    fn fail(&mut self) {
        self.failed = true;
        if let Mode::Threads(t) = &mut self.mode {
            let _ = t.stop();
        }
    }

    /// Scores what is left and flushes every extractor. Returns the number
    /// of frames scored.
    pub fn finish(&mut self) -> Result<u32> {
        if self.failed {
            return Err(stopped());
        }
        let result = self.finish_inner();
        if result.is_err() {
            self.fail();
        }
        result
    }

    fn finish_inner(&mut self) -> Result<u32> {
        // Flush order: instance sets in order (the inline set, or the
        // workers' then the temporal one), stably sorted by config below.
        let mut sets = Vec::new();
        if let Mode::Inline { .. } = self.mode {
            while let Some(slot) = self.order.pop_front() {
                self.collect_inline(slot)?;
                self.merge(slot)?;
                self.free.push(slot);
            }
        } else {
            self.drain(0)?;
        }
        match &mut self.mode {
            Mode::Inline { extractors, .. } => sets.push(std::mem::take(extractors)),
            Mode::Threads(t) => {
                let (workers, temporal) = t.stop()?;
                sets.extend(workers);
                sets.push(temporal);
            }
        }
        let mut flushed: Vec<(usize, FeatureSink)> = Vec::new();
        for set in &mut sets {
            for (ci, ex) in set.iter_mut() {
                let mut sink = FeatureSink::new();
                ex.flush(&mut sink)?;
                flushed.push((*ci, sink));
            }
        }
        flushed.sort_by_key(|(ci, _)| *ci);
        for (ci, sink) in &flushed {
            write(&mut self.collector, &self.names[*ci], &mut self.ids[*ci], sink);
        }
        // The instances are spent: a second finish must not score again.
        self.failed = true;
        Ok(self.next_index)
    }
}

/// Allocates `slots` frame slots, each with empty sinks for `part_len`
/// configs per part.
///
/// Fresh memory costs a page fault per page at its first write, where the
/// kernel zeroes it: measured on a VM here, about 1.5 ms per 1080p picture,
/// more than reading the frame into it. Left to the reading thread, that
/// serial cost would starve the workers during the ramp-up, as it fills
/// slot after slot; so with `threads` > 1 the pictures are touched here on
/// that many threads at once.
fn allocate_frames(geometry: Geometry, slots: usize, part_len: [usize; 2], threads: usize) -> Result<Vec<Arc<Frame>>> {
    let one = |touch_pages: bool| -> Result<Arc<Frame>> {
        let part = |n: usize| Mutex::new(PartOut { sinks: (0..n).map(|_| FeatureSink::new()).collect(), error: None });
        let mut f = Frame {
            reference: Picture::try_new(geometry)?,
            distorted: Picture::try_new(geometry)?,
            index: 0,
            parts: [part(part_len[STATELESS]), part(part_len[TEMPORAL])],
        };
        if touch_pages {
            touch(&mut f.reference);
            touch(&mut f.distorted);
        }
        Ok(Arc::new(f))
    };
    if threads <= 1 {
        return (0..slots).map(|_| one(false)).collect();
    }
    let per = slots.div_ceil(threads);
    let chunks: Vec<Result<Vec<Arc<Frame>>>> = std::thread::scope(|s| {
        let make = move |n: usize| (0..n).map(|_| one(true)).collect::<Result<Vec<_>>>();
        let handles: Vec<_> = (0..slots)
            .step_by(per)
            .map(|start| {
                let n = per.min(slots - start);
                // A thread that cannot start leaves its share to this one.
                std::thread::Builder::new().spawn_scoped(s, move || make(n)).map_err(|_| n)
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().unwrap_or_else(|_| Err(worker_died())),
                Err(n) => make(n),
            })
            .collect()
    });
    let mut frames = Vec::with_capacity(slots);
    for c in chunks {
        frames.extend(c?);
    }
    Ok(frames)
}

/// Writes every page of a picture once (see [`allocate_frames`]).
fn touch(p: &mut Picture) {
    fn pages<T: Copy + Default>(data: &mut [T]) {
        // Hidden from the optimiser, which would otherwise know that freshly
        // zero-allocated memory already holds zeros and drop the writes.
        let data = std::hint::black_box(data);
        let step = (4096 / std::mem::size_of::<T>()).max(1);
        for v in data.iter_mut().step_by(step) {
            *v = T::default();
        }
    }
    match p.data_mut() {
        PictureData::U8(planes) => planes.iter_mut().for_each(|pl| pages(pl.data_mut())),
        PictureData::U16(planes) => planes.iter_mut().for_each(|pl| pages(pl.data_mut())),
    }
}

/// Writes one sink of config scores to the collector.
fn write(collector: &mut FeatureCollector, names: &[String], ids: &mut [Option<FeatureId>], sink: &FeatureSink) {
    for e in sink.entries() {
        let slot = e.slot as usize;
        let id = *ids[slot].get_or_insert_with(|| collector.intern(&names[slot]));
        collector.put(id, e.index, e.value);
    }
    for (name, v) in sink.aggregates() {
        collector.set_aggregate(name, *v);
    }
}

fn worker_died() -> Error {
    Error::Extractor { feature: "engine".into(), msg: "a worker thread stopped unexpectedly".into() }
}

fn stopped() -> Error {
    Error::Extractor { feature: "engine".into(), msg: "scoring already stopped (after an error or finish)".into() }
}

fn no_free_slot() -> Error {
    Error::Extractor { feature: "engine".into(), msg: "no free frame slot (engine bookkeeping error)".into() }
}

#[cfg(test)]
mod tests {
    //! The engine against toy extractors whose scores are simple functions
    //! of the pictures, so any mix-up of frames, order or configs shows.

    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use vmaf_core::{BackendKind, ChromaSampling, CpuLevel, OptionSpec, PictureData};

    static OPTIONS: &[OptionSpec] = &[
        OptionSpec::int("salt", 0, 0, 1000, "added to every score; tells configs apart").param("salt"),
        OptionSpec::int("fail_at", -1, -1, i32::MAX, "frame whose submit returns an error"),
        OptionSpec::int("panic_at", -1, -1, i32::MAX, "frame whose submit panics"),
        OptionSpec::bool("deferred", false, "allow collect(i) after submit(i + 1)"),
        OptionSpec::bool("slow", false, "sleep an index-dependent time, to shuffle finishing order"),
    ];

    static PROBE: ExtractorSpec = ExtractorSpec {
        name: "probe",
        backend: BackendKind::Cpu,
        provided_features: &["probe", "probe_index"],
        options: OPTIONS,
        temporal: false,
        create: |a| create(a, false),
        help: "test: a score per frame from its pictures",
    };

    static CHAIN: ExtractorSpec = ExtractorSpec {
        name: "chain",
        backend: BackendKind::Cpu,
        provided_features: &["chain"],
        options: OPTIONS,
        temporal: true,
        create: |a| create(a, true),
        help: "test: frame-to-frame differences, reported a frame late",
    };

    thread_local! {
        /// Submit / collect / flush calls on this thread, in order.
        static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    fn log(entry: String) {
        LOG.with(|l| l.borrow_mut().push(entry));
    }

    /// Probe: scores each frame on its own. Chain (temporal): scores frame
    /// `i` as the change from `i - 1` and reports it at `collect(i + 1)` or
    /// at flush, like motion; it fails if it sees frames out of order.
    struct Toy {
        names: Vec<String>,
        salt: i32,
        fail_at: i64,
        panic_at: i64,
        deferred: bool,
        slow: bool,
        temporal: bool,
        pending: VecDeque<(u32, f64)>,
        prev: Option<(u32, f64)>,
        held: Option<(u32, f64)>,
        seen: u32,
    }

    fn create(a: &CreateArgs<'_>, temporal: bool) -> Result<Box<dyn Extractor>> {
        let o = a.options;
        let names: &[&str] = if temporal { &["chain"] } else { &["probe", "probe_index"] };
        Ok(Box::new(Toy {
            names: names.iter().map(|n| o.feature_name(n)).collect(),
            salt: o.int("salt"),
            fail_at: o.int("fail_at").into(),
            panic_at: o.int("panic_at").into(),
            deferred: o.bool("deferred"),
            slow: o.bool("slow"),
            temporal,
            pending: VecDeque::new(),
            prev: None,
            held: None,
            seen: 0,
        }))
    }

    /// The value a frame's pictures give (what `fill` wrote).
    fn value(f: &FramePair<'_>) -> f64 {
        let sum = |p: &Picture| match p.data() {
            PictureData::U8(planes) => planes[0].data().iter().map(|&v| v as u64).sum::<u64>(),
            PictureData::U16(_) => unreachable!(),
        };
        sum(f.reference) as f64 + 0.5 * sum(f.distorted) as f64
    }

    impl Extractor for Toy {
        fn feature_names(&self) -> &[String] {
            &self.names
        }
        fn submit(&mut self, f: &FramePair<'_>) -> Result<()> {
            log(format!("s{}:{}", self.salt, f.index));
            if self.slow {
                std::thread::sleep(std::time::Duration::from_micros(u64::from(f.index * 37 % 11) * 300));
            }
            if i64::from(f.index) == self.panic_at {
                panic!("toy panic at frame {}", f.index);
            }
            if i64::from(f.index) == self.fail_at {
                return Err(Error::Extractor { feature: "toy".into(), msg: format!("fails at frame {}", f.index) });
            }
            let v = value(f) + f64::from(self.salt);
            if self.temporal {
                if f.index != self.seen {
                    return Err(Error::Extractor {
                        feature: "chain".into(),
                        msg: format!("got frame {} when expecting {}", f.index, self.seen),
                    });
                }
                self.seen += 1;
                let prev = self.prev.replace((f.index, v)).map_or(0.0, |p| p.1);
                self.pending.push_back((f.index, v - prev));
            } else {
                self.pending.push_back((f.index, v));
            }
            Ok(())
        }
        fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
            log(format!("c{}:{}", self.salt, index));
            let (i, v) = self.pending.pop_front().filter(|p| p.0 == index).ok_or_else(|| Error::Extractor {
                feature: "toy".into(),
                msg: format!("collect({index}) without its submit"),
            })?;
            if self.temporal {
                if let Some((h, hv)) = self.held.replace((i, v)) {
                    sink.put(0, h, hv);
                }
            } else {
                sink.put(0, i, v);
                sink.put(1, i, f64::from(i));
            }
            Ok(())
        }
        fn flush(&mut self, sink: &mut FeatureSink) -> Result<()> {
            log(format!("f{}", self.salt));
            if let Some((h, hv)) = self.held.take() {
                sink.put(0, h, hv);
            }
            if self.temporal {
                sink.put_aggregate(format!("chain_frames_{}", self.salt), f64::from(self.seen));
            }
            Ok(())
        }
        fn deferred_collect(&self) -> bool {
            self.deferred
        }
    }

    fn geometry() -> Geometry {
        Geometry::new(8, 6, ChromaSampling::Cs420, 8).unwrap()
    }

    fn fill(i: u32, r: &mut Picture, d: &mut Picture) {
        for (k, pic) in [r, d].into_iter().enumerate() {
            let PictureData::U8(planes) = pic.data_mut() else { unreachable!() };
            for (j, v) in planes[0].data_mut().iter_mut().enumerate() {
                *v = ((i as usize * (7 + k) + j * (3 + k) + (i as usize * j) % 5) % 251) as u8;
            }
        }
    }

    fn config(spec: &'static ExtractorSpec, opts: &[(&str, &str)]) -> ExtractorConfig {
        ExtractorConfig { spec, options: Options::parse(spec.name, spec.options, opts.iter().copied()).unwrap() }
    }

    type Snapshot = (Vec<(String, Vec<Option<f64>>)>, Vec<(String, f64)>);

    fn snapshot(c: &FeatureCollector) -> Snapshot {
        let series =
            c.ids().map(|id| (c.name(id).to_owned(), (0..c.frame_slots()).map(|i| c.get(id, i)).collect())).collect();
        (series, c.aggregates().to_vec())
    }

    fn run(configs: Vec<ExtractorConfig>, threads: usize, subsample: u32, frames: u32) -> Result<Snapshot> {
        let mut e = Engine::new(geometry(), configs, threads, CpuLevel::Scalar, subsample, None)?;
        for i in 0..frames {
            let (r, d) = e.slot();
            fill(i, r, d);
            e.commit()?;
        }
        assert_eq!(e.finish()?, frames);
        Ok(snapshot(&e.collector))
    }

    fn mix() -> Vec<ExtractorConfig> {
        vec![
            config(&PROBE, &[("salt", "1")]),
            config(&CHAIN, &[("salt", "2")]),
            config(&PROBE, &[("salt", "3"), ("slow", "true")]),
            config(&CHAIN, &[("salt", "4"), ("slow", "true")]),
        ]
    }

    #[test]
    fn every_thread_count_gives_the_single_thread_output() {
        for subsample in [1, 3] {
            for frames in [0, 1, 5, 41] {
                let want = run(mix(), 1, subsample, frames).unwrap();
                for threads in [0, 2, 3, 8] {
                    let got = run(mix(), threads, subsample, frames).unwrap();
                    assert_eq!(got, want, "threads {threads}, subsample {subsample}, {frames} frames");
                }
                // The reference run itself is right: configs in order, each
                // score where it belongs.
                let (series, aggregates) = want;
                let counts = [
                    ("chain_frames_2".to_owned(), f64::from(frames)),
                    ("chain_frames_4".to_owned(), f64::from(frames)),
                ];
                assert_eq!(aggregates, counts);
                if frames == 0 {
                    assert!(series.is_empty());
                    continue;
                }
                let names: Vec<&str> = series.iter().map(|s| s.0.as_str()).collect();
                assert_eq!(
                    names,
                    // The chains report frame 0 only with frame 1 (or at flush).
                    [
                        "probe_salt_1",
                        "probe_index_salt_1",
                        "probe_salt_3",
                        "probe_index_salt_3",
                        "chain_salt_2",
                        "chain_salt_4"
                    ]
                );
                let (mut r, mut d) = (Picture::new(geometry()), Picture::new(geometry()));
                let mut prev = 0.0;
                for i in 0..frames {
                    fill(i, &mut r, &mut d);
                    let v = value(&FramePair { reference: &r, distorted: &d, index: i });
                    let scored = i.is_multiple_of(subsample);
                    assert_eq!(series[0].1.get(i as usize).copied().flatten(), scored.then_some(v + 1.0));
                    assert_eq!(series[1].1.get(i as usize).copied().flatten(), scored.then_some(f64::from(i)));
                    assert_eq!(series[4].1[i as usize], Some(v + 2.0 - prev), "chain sees every frame");
                    prev = v + 2.0;
                }
            }
        }
    }

    #[test]
    fn only_temporal_or_only_stateless_configs() {
        let only = |spec| vec![config(spec, &[("salt", "5")]), config(spec, &[("salt", "6"), ("slow", "true")])];
        for spec in [&PROBE, &CHAIN] {
            let want = run(only(spec), 1, 2, 23).unwrap();
            assert!(!want.0.is_empty());
            for threads in [2, 8] {
                assert_eq!(run(only(spec), threads, 2, 23).unwrap(), want, "{} t{threads}", spec.name);
            }
        }
    }

    fn error_of(configs: Vec<ExtractorConfig>, threads: usize) -> String {
        match run(configs, threads, 1, 30) {
            Ok(_) => panic!("t{threads}: no error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_first_error_in_frame_order_is_returned() {
        for threads in [1, 2, 3, 8] {
            let e = error_of(vec![config(&CHAIN, &[]), config(&PROBE, &[("fail_at", "7")])], threads);
            assert!(e.contains("fails at frame 7"), "t{threads}: {e}");
            let e = error_of(vec![config(&PROBE, &[]), config(&CHAIN, &[("fail_at", "7")])], threads);
            assert!(e.contains("fails at frame 7"), "t{threads}: {e}");
            // The stateless failure at 9 is met first in time when the chain
            // is slow, but frame 5 comes first in the stream.
            let e = error_of(
                vec![config(&PROBE, &[("fail_at", "9")]), config(&CHAIN, &[("fail_at", "5"), ("slow", "true")])],
                threads,
            );
            assert!(e.contains("fails at frame 5"), "t{threads}: {e}");
            let e = error_of(vec![config(&PROBE, &[("fail_at", "0")])], threads);
            assert!(e.contains("fails at frame 0"), "t{threads}: {e}");
            let e = error_of(vec![config(&PROBE, &[("fail_at", "29")]), config(&CHAIN, &[])], threads);
            assert!(e.contains("fails at frame 29"), "t{threads}: {e}");
        }
    }

    #[test]
    fn a_panicking_extractor_on_a_worker_is_an_error() {
        for threads in [2, 8] {
            let e = error_of(vec![config(&CHAIN, &[]), config(&PROBE, &[("panic_at", "6")])], threads);
            assert!(e.contains("panicked") && e.contains("toy panic at frame 6"), "t{threads}: {e}");
            let e = error_of(vec![config(&PROBE, &[]), config(&CHAIN, &[("panic_at", "3")])], threads);
            assert!(e.contains("toy panic at frame 3"), "t{threads}: {e}");
        }
    }

    #[test]
    fn after_an_error_the_engine_refuses_frames_and_can_be_refilled_and_dropped() {
        for threads in [1, 2, 8] {
            let mut e = Engine::new(
                geometry(),
                vec![config(&PROBE, &[("fail_at", "2")]), config(&CHAIN, &[])],
                threads,
                CpuLevel::Scalar,
                1,
                None,
            )
            .unwrap();
            let mut failed = false;
            for i in 0..40 {
                let (r, d) = e.slot();
                fill(i, r, d);
                if let Err(err) = e.commit() {
                    assert!(err.to_string().contains("fails at frame 2"), "{err}");
                    failed = true;
                    break;
                }
            }
            let err = if failed { e.commit().unwrap_err() } else { e.finish().unwrap_err() };
            if failed {
                assert!(err.to_string().contains("stopped"), "{err}");
            }
            // The slot is the caller's again (no worker holds it).
            let (r, d) = e.slot();
            fill(0, r, d);
            assert!(e.finish().is_err());
        }
    }

    #[test]
    fn dropping_mid_stream_stops_the_workers() {
        for threads in [2, 8] {
            let mut e = Engine::new(geometry(), mix(), threads, CpuLevel::Scalar, 1, None).unwrap();
            for i in 0..13 {
                let (r, d) = e.slot();
                fill(i, r, d);
                e.commit().unwrap();
            }
            drop(e);
        }
    }

    fn logged(configs: Vec<ExtractorConfig>, subsample: u32, frames: u32) -> (Snapshot, Vec<String>) {
        LOG.with(|l| l.borrow_mut().clear());
        let snap = run(configs, 0, subsample, frames).unwrap();
        (snap, LOG.with(|l| l.take()))
    }

    #[test]
    fn deferred_collect_looks_one_frame_ahead_inline() {
        let deferred = |d: &str| {
            vec![
                config(&PROBE, &[("salt", "1"), ("deferred", "true")]),
                config(&CHAIN, &[("salt", "2"), ("deferred", d)]),
            ]
        };
        for subsample in [1, 2] {
            let frames = 6;
            let (plain, plain_log) = logged(deferred("false"), subsample, frames);
            let (ahead, ahead_log) = logged(deferred("true"), subsample, frames);
            assert_eq!(ahead, plain, "the look-ahead changes no score");

            let calls = |i: u32, what: char| {
                let mut v = Vec::new();
                if i.is_multiple_of(subsample) {
                    v.push(format!("{what}1:{i}"));
                }
                v.push(format!("{what}2:{i}"));
                v
            };
            // Without look-ahead (one extractor does not allow it), frame by
            // frame: submit everything, then collect everything.
            let mut want = Vec::new();
            for i in 0..frames {
                want.extend(calls(i, 's'));
                want.extend(calls(i, 'c'));
            }
            want.extend(["f1".to_owned(), "f2".to_owned()]);
            assert_eq!(plain_log, want);
            // With it, frames i + 1 and i + 2 are submitted before frame i
            // is collected.
            let mut want = calls(0, 's');
            want.extend(calls(1, 's'));
            for i in 2..frames {
                want.extend(calls(i, 's'));
                want.extend(calls(i - 2, 'c'));
            }
            want.extend(calls(frames - 2, 'c'));
            want.extend(calls(frames - 1, 'c'));
            want.extend(["f1".to_owned(), "f2".to_owned()]);
            assert_eq!(ahead_log, want);
        }
    }

    #[test]
    fn borrowed_pairs_score_like_filled_slots_only_with_look_ahead() {
        let configs = |d: &str| {
            vec![
                config(&PROBE, &[("salt", "1"), ("deferred", d)]),
                config(&CHAIN, &[("salt", "2"), ("deferred", d)]),
            ]
        };
        let frames = 7;
        let pictures: Vec<(Picture, Picture)> = (0..frames)
            .map(|i| {
                let (mut r, mut d) = (Picture::new(geometry()), Picture::new(geometry()));
                fill(i, &mut r, &mut d);
                (r, d)
            })
            .collect();
        for subsample in [1, 3] {
            let want = run(configs("true"), 0, subsample, frames).unwrap();
            let mut e = Engine::new(geometry(), configs("true"), 0, CpuLevel::Scalar, subsample, None).unwrap();
            for (r, d) in &pictures {
                assert!(e.commit_borrowed(r, d).unwrap(), "inline with look-ahead takes borrowed pairs");
            }
            assert_eq!(e.finish().unwrap(), frames);
            assert_eq!(snapshot(&e.collector), want, "subsample {subsample}");
        }
        // Anywhere else the pair must be copied in: nothing happens.
        for (threads, d) in [(0, "false"), (1, "true"), (2, "true")] {
            let mut e = Engine::new(geometry(), configs(d), threads, CpuLevel::Scalar, 1, None).unwrap();
            assert!(!e.commit_borrowed(&pictures[0].0, &pictures[0].1).unwrap());
            assert_eq!(e.frames(), 0);
        }
    }

    #[test]
    fn deferred_collect_error_of_the_earlier_frame_wins() {
        let configs = |fail: &str| {
            vec![
                config(&PROBE, &[("salt", "1"), ("deferred", "true"), ("fail_at", fail)]),
                config(&CHAIN, &[("salt", "2"), ("deferred", "true"), ("fail_at", "4")]),
            ]
        };
        assert!(error_of(configs("3"), 1).contains("fails at frame 3"));
        assert!(error_of(configs("5"), 1).contains("fails at frame 4"));
    }
}
