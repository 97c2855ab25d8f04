//! The frame engine: feeds frame pairs to extractor instances, on one or
//! several threads, and merges their scores in a fixed order.
//!
//! Frames are gathered into batches. A batch is scored while the caller
//! fills the next one (two batches alternate), so reading overlaps compute.
//! Within a batch, non-temporal extractors run frame-parallel: worker `w`
//! owns one instance of each and scores frames `w, w + n, ...`; temporal
//! extractors (which keep state from frame to frame) have a single instance
//! that one worker feeds in stream order. Scores are buffered per frame and
//! per extractor, then merged frame by frame, extractor by extractor, into
//! the collector: the order libvmaf's single-threaded run writes them, so
//! output is identical for every thread count.
//!
//! Every picture, sink and batch is allocated when the engine is built and
//! recycled: scoring allocates nothing per frame once the sinks have grown
//! to their steady size.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use vmaf_core::{
    CreateArgs, Error, Extractor, ExtractorSpec, FeatureCollector, FeatureId, FeatureSink, FramePair, Geometry,
    Options, Picture, Result,
};

/// One distinct (extractor, options) pair the run uses.
pub(crate) struct ExtractorConfig {
    pub spec: &'static ExtractorSpec,
    pub options: Options,
}

/// A frame pair and the per-extractor sinks its scores go to.
struct FrameSlot {
    reference: Picture,
    distorted: Picture,
    index: u32,
}

struct Batch {
    frames: Vec<FrameSlot>,
    len: usize,
}

/// What a worker does with a batch: which extractor configs it runs and on
/// which frames.
struct Worker {
    /// (config index, instance) pairs this worker runs.
    extractors: Vec<(usize, Box<dyn Extractor>)>,
    /// Worker `w` of `n` takes frames `w, w+n, ...`; the temporal worker
    /// takes all.
    stride: usize,
    offset: usize,
    subsample: u32,
    temporal: bool,
}

impl Worker {
    /// Scores this worker's share of `batch`, writing into the frames' sinks.
    ///
    /// # Safety-free sharing
    /// Workers write disjoint sinks (config index differs between workers,
    /// or frame index differs), which the engine guarantees by construction;
    /// the batch is handed over through `Arc` and each worker gets its own
    /// result buffers, so no lock is taken.
    fn run(&mut self, batch: &Batch, out: &mut Outputs) -> Result<()> {
        let mut i = self.offset;
        while i < batch.len {
            let f = &batch.frames[i];
            let pair = FramePair { reference: &f.reference, distorted: &f.distorted, index: f.index };
            let skip = !self.temporal && self.subsample > 1 && f.index % self.subsample != 0;
            if !skip {
                // Submit everything before collecting anything: a device
                // backend enqueues in submit and waits once, in the first
                // collect, for all of the frame's work.
                for (_, ex) in &mut self.extractors {
                    ex.submit(&pair)?;
                }
                for (cfg, ex) in &mut self.extractors {
                    ex.collect(f.index, out.next(i, *cfg))?;
                }
            }
            i += self.stride;
        }
        Ok(())
    }
}

/// A worker's scores for one batch: (frame in batch, config, sink). Sinks
/// are kept past `len` and reused, so a warm engine allocates nothing here.
#[derive(Default)]
struct Outputs {
    items: Vec<(usize, usize, FeatureSink)>,
    len: usize,
}

impl Outputs {
    fn clear(&mut self) {
        self.len = 0;
    }
    fn next(&mut self, frame: usize, cfg: usize) -> &mut FeatureSink {
        if self.len == self.items.len() {
            self.items.push((frame, cfg, FeatureSink::new()));
        }
        let item = &mut self.items[self.len];
        self.len += 1;
        item.0 = frame;
        item.1 = cfg;
        item.2.clear();
        &mut item.2
    }
    fn iter(&self) -> impl Iterator<Item = &(usize, usize, FeatureSink)> {
        self.items[..self.len].iter()
    }
}

enum Job {
    Run(Arc<Batch>, Outputs),
    Flush,
}

struct Done {
    result: Result<()>,
    out: Outputs,
    /// Sinks of the flush, by config index.
    flushed: Vec<(usize, FeatureSink)>,
}

struct Thread {
    tx: Sender<Job>,
    rx: Receiver<Done>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Thread {
    fn drop(&mut self) {
        // Closing the channel ends the worker loop.
        let (tx, _) = channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn spawn(mut worker: Worker) -> Thread {
    let (tx, jobs) = channel::<Job>();
    let (done, rx) = channel::<Done>();
    let handle = std::thread::Builder::new()
        .name("vmaf-worker".into())
        .spawn(move || {
            while let Ok(job) = jobs.recv() {
                let reply = match job {
                    Job::Run(batch, mut out) => {
                        out.clear();
                        let result = worker.run(&batch, &mut out);
                        drop(batch);
                        Done { result, out, flushed: Vec::new() }
                    }
                    Job::Flush => {
                        let mut flushed = Vec::new();
                        let mut result = Ok(());
                        for (cfg, ex) in &mut worker.extractors {
                            let mut sink = FeatureSink::new();
                            if let Err(e) = ex.flush(&mut sink) {
                                result = Err(e);
                                break;
                            }
                            flushed.push((*cfg, sink));
                        }
                        Done { result, out: Outputs::default(), flushed }
                    }
                };
                if done.send(reply).is_err() {
                    break;
                }
            }
        })
        .expect("spawning a worker thread");
    Thread { tx, rx, handle: Some(handle) }
}

/// Runs extractors over a stream of frame pairs.
pub(crate) struct Engine {
    configs: Vec<ExtractorConfig>,
    /// Per config: collector ids of its feature names (by slot), filled on
    /// first write so features enter the output order as libvmaf's do.
    names: Vec<Vec<String>>,
    ids: Vec<Vec<Option<FeatureId>>>,
    /// Inline workers (threads == 1) or worker threads.
    inline: Vec<Worker>,
    threads: Vec<Thread>,
    filling: Batch,
    spare: Option<Batch>,
    in_flight: Option<Arc<Batch>>,
    outputs: Vec<Outputs>,
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
        let threads = threads.max(1);
        let create = |c: &ExtractorConfig| {
            (c.spec.create)(&CreateArgs { options: &c.options, geometry, cpu_level, device })
        };
        // Instances: one per stateless worker for non-temporal configs, one
        // in total for temporal ones.
        let mut stateless: Vec<Worker> = (0..threads)
            .map(|w| Worker {
                extractors: Vec::new(),
                stride: threads,
                offset: w,
                subsample,
                temporal: false,
            })
            .collect();
        let mut temporal =
            Worker { extractors: Vec::new(), stride: 1, offset: 0, subsample, temporal: true };
        let mut names = Vec::with_capacity(configs.len());
        for (ci, c) in configs.iter().enumerate() {
            if c.spec.temporal {
                let ex = create(c)?;
                names.push(ex.feature_names().to_vec());
                temporal.extractors.push((ci, ex));
            } else {
                for w in &mut stateless {
                    let ex = create(c)?;
                    if w.offset == 0 {
                        names.push(ex.feature_names().to_vec());
                    }
                    w.extractors.push((ci, ex));
                }
            }
        }
        let ids = names.iter().map(|n| vec![None; n.len()]).collect();
        let mut workers: Vec<Worker> = stateless.into_iter().filter(|w| !w.extractors.is_empty()).collect();
        if !temporal.extractors.is_empty() {
            workers.push(temporal);
        }
        // Batches of one frame per worker: two batches (one filling, one
        // in flight) bound memory to 2 x threads picture pairs.
        let batch_len = threads;
        let make_batch = || -> Result<Batch> {
            let frames = (0..batch_len)
                .map(|_| {
                    Ok(FrameSlot {
                        reference: Picture::try_new(geometry)?,
                        distorted: Picture::try_new(geometry)?,
                        index: 0,
                    })
                })
                .collect::<Result<_>>()?;
            Ok(Batch { frames, len: 0 })
        };
        let (inline, threads_v, spare) = if threads == 1 {
            (workers, Vec::new(), None)
        } else {
            (Vec::new(), workers.into_iter().map(spawn).collect::<Vec<_>>(), Some(make_batch()?))
        };
        let outputs = (0..threads_v.len().max(inline.len())).map(|_| Outputs::default()).collect();
        Ok(Engine {
            configs,
            names,
            ids,
            inline,
            threads: threads_v,
            filling: make_batch()?,
            spare,
            in_flight: None,
            outputs,
            next_index: 0,
            collector: FeatureCollector::new(),
        })
    }

    /// The next free frame pair to fill in place.
    pub fn slot(&mut self) -> (&mut Picture, &mut Picture) {
        let f = &mut self.filling.frames[self.filling.len];
        (&mut f.reference, &mut f.distorted)
    }

    /// Marks the slot from [`Self::slot`] as filled.
    pub fn commit(&mut self) -> Result<()> {
        let f = &mut self.filling.frames[self.filling.len];
        f.index = self.next_index;
        self.next_index += 1;
        self.filling.len += 1;
        if self.filling.len == self.filling.frames.len() {
            self.dispatch()?;
        }
        Ok(())
    }

    pub fn frames(&self) -> u32 {
        self.next_index
    }

    /// Sends the filled batch off (or scores it inline) and makes room for
    /// the next.
    fn dispatch(&mut self) -> Result<()> {
        if self.filling.len == 0 {
            return Ok(());
        }
        if self.threads.is_empty() {
            let mut outs = std::mem::take(&mut self.outputs);
            for (w, out) in self.inline.iter_mut().zip(outs.iter_mut()) {
                out.clear();
                w.run(&self.filling, out)?;
            }
            self.merge(&outs, self.filling.len);
            self.outputs = outs;
            self.filling.len = 0;
            return Ok(());
        }
        // Wait for the previous batch before sending this one: two batches
        // alternate, so only one is ever in flight.
        self.wait()?;
        let spare = self.spare.take().expect("a spare batch when none is in flight");
        let batch = Arc::new(std::mem::replace(&mut self.filling, spare));
        for (t, out) in self.threads.iter().zip(self.outputs.iter_mut()) {
            t.tx
                .send(Job::Run(batch.clone(), std::mem::take(out)))
                .map_err(|_| worker_died())?;
        }
        self.in_flight = Some(batch);
        Ok(())
    }

    /// Waits for the batch in flight, if any, and merges its scores.
    fn wait(&mut self) -> Result<()> {
        let Some(batch) = self.in_flight.take() else { return Ok(()) };
        let mut first_err = None;
        for (t, out) in self.threads.iter().zip(self.outputs.iter_mut()) {
            let done = t.rx.recv().map_err(|_| worker_died())?;
            *out = done.out;
            if let Err(e) = done.result {
                first_err.get_or_insert(e);
            }
        }
        let mut batch = Arc::try_unwrap(batch).unwrap_or_else(|_| panic!("workers keep no batch after replying"));
        if let Some(e) = first_err {
            return Err(e);
        }
        let outs = std::mem::take(&mut self.outputs);
        self.merge(&outs, batch.len);
        self.outputs = outs;
        batch.len = 0;
        self.spare = Some(batch);
        Ok(())
    }

    /// Writes buffered scores to the collector: frame by frame, and within a
    /// frame in configuration order.
    fn merge(&mut self, outs: &[Outputs], frames: usize) {
        for frame in 0..frames {
            for cfg in 0..self.configs.len() {
                for out in outs {
                    for (f, c, sink) in out.iter() {
                        if *f == frame && *c == cfg {
                            self.write(cfg, sink);
                        }
                    }
                }
            }
        }
    }

    fn write(&mut self, cfg: usize, sink: &FeatureSink) {
        for e in sink.entries() {
            let slot = e.slot as usize;
            let id = match self.ids[cfg][slot] {
                Some(id) => id,
                None => {
                    let id = self.collector.intern(&self.names[cfg][slot]);
                    self.ids[cfg][slot] = Some(id);
                    id
                }
            };
            self.collector.put(id, e.index, e.value);
        }
        for (name, v) in sink.aggregates() {
            self.collector.set_aggregate(name, *v);
        }
    }

    /// Scores what is left and flushes every extractor. Returns the number
    /// of frames scored.
    pub fn finish(&mut self) -> Result<u32> {
        if self.threads.is_empty() {
            self.dispatch()?;
            let mut flushed: Vec<(usize, FeatureSink)> = Vec::new();
            for w in &mut self.inline {
                for (cfg, ex) in &mut w.extractors {
                    let mut sink = FeatureSink::new();
                    ex.flush(&mut sink)?;
                    flushed.push((*cfg, sink));
                }
            }
            self.write_flushed(flushed);
        } else {
            self.dispatch()?;
            self.wait()?;
            let mut flushed = Vec::new();
            for t in &self.threads {
                t.tx.send(Job::Flush).map_err(|_| worker_died())?;
            }
            let mut first_err = None;
            for t in &self.threads {
                let done = t.rx.recv().map_err(|_| worker_died())?;
                if let Err(e) = done.result {
                    first_err.get_or_insert(e);
                }
                flushed.extend(done.flushed);
            }
            if let Some(e) = first_err {
                return Err(e);
            }
            self.write_flushed(flushed);
        }
        Ok(self.next_index)
    }

    fn write_flushed(&mut self, mut flushed: Vec<(usize, FeatureSink)>) {
        flushed.sort_by_key(|(cfg, _)| *cfg);
        for (cfg, sink) in &flushed {
            self.write(*cfg, sink);
        }
    }
}

fn worker_died() -> Error {
    Error::Extractor { feature: "engine".into(), msg: "a worker thread stopped unexpectedly".into() }
}
