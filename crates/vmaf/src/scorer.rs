//! The [`Scorer`]: the library's entry point for scoring frame pairs.
//!
//! ```no_run
//! # fn main() -> vmaf::Result<()> {
//! use vmaf::{ChromaSampling, Geometry, Scorer};
//! let g = Geometry::new(1920, 1080, ChromaSampling::Cs420, 8)?;
//! let mut scorer = Scorer::builder(g).feature("psnr", &[])?.threads(4).build()?;
//! let (reference, distorted) = scorer.frame_slot();
//! // ... fill both pictures ...
//! scorer.commit_frame()?;
//! let report = scorer.finish()?;
//! # Ok(()) }
//! ```
//!
//! Models ([`ScorerBuilder::model`]) add the extractors their features need
//! and, once every frame is scored, turn the collected feature values into
//! per-frame model scores that are appended to the same collector.

use vmaf_core::{
    BackendKind, CpuLevel, Error, ExtractorSpec, FeatureCollector, FeatureId, Geometry, Options, Picture, Result,
};
use vmaf_model::{Model, ModelArg};

use crate::engine::{Engine, ExtractorConfig};

/// Where the work runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    #[default]
    Cpu,
    /// An NVIDIA GPU, by CUDA device index.
    Cuda { device: usize },
}

/// Every extractor this build knows, on every backend.
pub fn registry() -> impl Iterator<Item = &'static ExtractorSpec> {
    #[cfg(feature = "cuda")]
    let device: &[&ExtractorSpec] = vmaf_cuda::EXTRACTORS;
    #[cfg(not(feature = "cuda"))]
    let device: &[&ExtractorSpec] = &[];
    vmaf_cpu::EXTRACTORS.iter().chain(device).copied()
}

/// The per-scorer device state CUDA extractors join (they downcast
/// [`vmaf_core::CreateArgs::device`] to it).
#[cfg(feature = "cuda")]
type Session = vmaf_cuda::FrameSession;
/// Never constructed: builds without CUDA have no device session.
#[cfg(not(feature = "cuda"))]
type Session = std::convert::Infallible;

/// The CUDA extractors for `features` (chosen and parsed by their CPU
/// names and option tables, which the CUDA ports share), and the frame
/// session they all join: one upload, one stream and one host wait per
/// frame for the whole scorer.
#[cfg(feature = "cuda")]
fn on_cuda(
    features: Vec<(&'static ExtractorSpec, Options)>,
    ordinal: usize,
    geometry: Geometry,
) -> Result<(Vec<(&'static ExtractorSpec, Options)>, vmaf_cuda::FrameSession)> {
    let mut out = Vec::with_capacity(features.len());
    for (spec, options) in features {
        let Some(cuda) = vmaf_cuda::EXTRACTORS.iter().find(|s| s.name == spec.name) else {
            let have: Vec<&str> = vmaf_cuda::EXTRACTORS.iter().map(|s| s.name).collect();
            return Err(Error::Usage(format!(
                "feature {} has no CUDA implementation yet (CUDA has: {}); use --backend cpu",
                spec.name,
                have.join(", ")
            )));
        };
        out.push((*cuda, options));
    }
    let device = vmaf_cuda::CudaDevice::new(ordinal)?;
    let session = vmaf_cuda::FrameSession::new(&device, geometry)?;
    Ok((out, session))
}

#[cfg(not(feature = "cuda"))]
fn on_cuda(
    _features: Vec<(&'static ExtractorSpec, Options)>,
    ordinal: usize,
    _geometry: Geometry,
) -> Result<(Vec<(&'static ExtractorSpec, Options)>, Session)> {
    Err(Error::BackendUnavailable {
        backend: format!("cuda (device {ordinal})"),
        msg: "this build has no CUDA backend (the vmaf crate's \"cuda\" feature is off); use --backend cpu".into(),
    })
}

fn find_extractor(name: &str, backend: BackendKind) -> Result<&'static ExtractorSpec> {
    registry().find(|s| s.name == name && s.backend == backend).ok_or_else(|| Error::UnknownFeature {
        name: name.to_owned(),
        known: registry().filter(|s| s.backend == backend).map(|s| s.name).collect::<Vec<_>>().join(", "),
    })
}

/// The extractor that writes `feature` (a provided-feature name such as
/// `VMAF_integer_feature_adm2_score`): the first in registry order, as
/// libvmaf picks it.
pub fn extractor_for_feature(feature: &str, backend: BackendKind) -> Option<&'static ExtractorSpec> {
    registry().find(|s| s.backend == backend && s.provides(feature))
}

/// Loads the model a `-m`/`--model` argument names, with its name and flags,
/// and applies its feature overloads (`vif.vif_enhn_gain_limit=1.0`): each
/// sets an option on every model feature the named extractor provides.
pub fn load_model(arg: &ModelArg) -> Result<Model> {
    let mut model = arg.load()?;
    for o in &arg.overloads {
        // An unknown extractor name is a typo: say so rather than ignore it.
        find_extractor(&o.extractor, BackendKind::Cpu)?;
        let opts = [(o.option.clone(), o.value.clone())];
        model.overload(
            |feature| extractor_for_feature(feature, BackendKind::Cpu).is_some_and(|s| s.name == o.extractor),
            &opts,
        );
    }
    Ok(model)
}

/// A model and the collector names of the features it reads.
#[derive(Debug)]
struct ModelPlan {
    model: Model,
    /// Output name of each of `model.features()`, options applied (libvmaf's
    /// feature name from options).
    inputs: Vec<String>,
}

/// Configures a [`Scorer`].
#[derive(Debug)]
pub struct ScorerBuilder {
    geometry: Geometry,
    backend: Backend,
    threads: usize,
    cpu_level: Option<CpuLevel>,
    subsample: u32,
    features: Vec<(&'static ExtractorSpec, Options)>,
    models: Vec<ModelPlan>,
}

impl ScorerBuilder {
    /// Adds an extractor by its libvmaf name (`psnr`, `float_ssim`, ...)
    /// with `key=value` options. The same extractor with the same options
    /// is added once.
    pub fn feature(mut self, name: &str, options: &[(&str, &str)]) -> Result<Self> {
        let spec = find_extractor(name, BackendKind::Cpu)?;
        let opts = Options::parse(spec.name, spec.options, options.iter().copied())?;
        self.add_extractor(spec, opts);
        Ok(self)
    }

    /// Registers an instance unless an equal one is there. Equal is
    /// libvmaf's test: same extractor and same name-from-options (options
    /// that do not change feature names do not make a second instance; the
    /// first registration wins).
    fn add_extractor(&mut self, spec: &'static ExtractorSpec, opts: Options) {
        let key = opts.feature_name(spec.name);
        if !self.features.iter().any(|(s, o)| std::ptr::eq(*s, spec) && o.feature_name(s.name) == key) {
            self.features.push((spec, opts));
        }
    }

    /// Adds a model (or bootstrap collection): registers, once each, the
    /// extractors providing its features with the model's options, and has
    /// [`Scorer::finish`] append the model's per-frame outputs
    /// ([`Model::output_names`]) to the report's collector, after every
    /// feature and in the order models were added, as libvmaf does.
    pub fn model(mut self, model: Model) -> Result<Self> {
        let fail = |msg: String| Error::Model { name: model.label().to_owned(), msg };
        for name in model.output_names() {
            if self.models.iter().any(|p| p.model.output_names().contains(name)) {
                return Err(fail(format!(
                    "output name \"{name}\" is already used by another model; give each model its own name="
                )));
            }
        }
        let mut inputs = Vec::with_capacity(model.features().len());
        for f in model.features() {
            let spec = extractor_for_feature(&f.name, BackendKind::Cpu)
                .ok_or_else(|| fail(format!("no feature extractor provides \"{}\"", f.name)))?;
            let opts = Options::parse(spec.name, spec.options, f.options.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(|e| fail(e.to_string()))?;
            inputs.push(opts.feature_name(&f.name));
            self.add_extractor(spec, opts);
        }
        self.models.push(ModelPlan { model, inputs });
        Ok(self)
    }

    /// Worker threads, as libvmaf's `--threads`: 0 scores on the calling
    /// thread; n > 0 starts n workers while the calling thread reads and
    /// merges. Scores are the same for every value.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }

    /// Forces an instruction-set level (default: the best the CPU has,
    /// capped by `VMAF_CPU_LEVEL`).
    pub fn cpu_level(mut self, level: CpuLevel) -> Self {
        self.cpu_level = Some(level);
        self
    }

    /// Scores only every `n`-th frame (libvmaf's `--subsample`); temporal
    /// features still see every frame.
    pub fn subsample(mut self, n: u32) -> Self {
        self.subsample = n.max(1);
        self
    }

    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// How many threads [`crate::score_streams`] reads each stream with.
    /// 0: on the calling thread, between frames (one CPU thread reads and
    /// scores on one thread, as libvmaf's one does). Otherwise on threads
    /// of their own, ahead of the scorer: with several workers or a device
    /// to keep busy. Above one, frames of a regular file are read by index
    /// in parallel ([`crate::io::FrameFile`]): 16 workers scoring a fast
    /// feature take frames faster than one thread copies them out of the
    /// page cache.
    pub fn read_threads(&self) -> usize {
        if self.backend != Backend::Cpu {
            2
        } else if self.threads <= 1 {
            0
        } else {
            (self.threads / 4).clamp(1, 4)
        }
    }

    pub fn build(self) -> Result<Scorer> {
        if self.features.is_empty() {
            return Err(Error::Usage("no features or models to compute".into()));
        }
        let cpu_level = self.cpu_level.unwrap_or_else(vmaf_cpu::detect_cpu_level);
        let (features, threads, device) = match self.backend {
            Backend::Cpu => (self.features, self.threads, None),
            Backend::Cuda { device } => {
                let (features, handle) = on_cuda(self.features, device, self.geometry)?;
                // One submitting thread per scorer: the device does the
                // parallel work, and the engine keeps two frames in flight.
                (features, 0, Some(handle))
            }
        };
        let configs = features.into_iter().map(|(spec, options)| ExtractorConfig { spec, options }).collect();
        // The extractors keep their own clones of the session.
        let engine = Engine::new(
            self.geometry,
            configs,
            threads,
            cpu_level,
            self.subsample,
            device.as_ref().map(|s| s as &(dyn std::any::Any + Send + Sync)),
        )?;
        Ok(Scorer { geometry: self.geometry, engine, subsample: self.subsample, models: self.models, session: device })
    }
}

/// Scores a stream of frame pairs of one geometry.
pub struct Scorer {
    geometry: Geometry,
    engine: Engine,
    subsample: u32,
    models: Vec<ModelPlan>,
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    session: Option<Session>,
}

/// Everything a finished run produced.
#[derive(Debug)]
pub struct Report {
    pub geometry: Geometry,
    /// Frames read and scored (libvmaf's picture count).
    pub frames: u32,
    pub subsample: u32,
    pub collector: FeatureCollector,
}

impl Scorer {
    pub fn builder(geometry: Geometry) -> ScorerBuilder {
        ScorerBuilder {
            geometry,
            backend: Backend::Cpu,
            threads: 0,
            cpu_level: None,
            subsample: 1,
            features: Vec::new(),
            models: Vec::new(),
        }
    }

    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The next (reference, distorted) pair to fill in place; the scorer
    /// owns the buffers, so filling them is the only copy a frame needs.
    pub fn frame_slot(&mut self) -> (&mut Picture, &mut Picture) {
        self.engine.slot()
    }

    /// Queues the pair filled through [`Self::frame_slot`].
    pub fn commit_frame(&mut self) -> Result<()> {
        self.engine.commit()
    }

    /// Queues a pair: copied into one of the scorer's slots, or, on a GPU
    /// backend, read once from the caller's memory into pinned staging.
    pub fn push(&mut self, reference: &Picture, distorted: &Picture) -> Result<()> {
        for p in [reference, distorted] {
            if *p.geometry() != self.geometry {
                return Err(Error::Mismatch(format!(
                    "picture is {:?}, scorer expects {:?}",
                    p.geometry(),
                    self.geometry
                )));
            }
        }
        // A device backend takes the pair straight from the caller's
        // memory (it copies it into pinned staging in submit).
        if self.engine.commit_borrowed(reference, distorted)? {
            return Ok(());
        }
        let (r, d) = self.engine.slot();
        r.copy_from(reference)?;
        d.copy_from(distorted)?;
        self.engine.commit()
    }

    /// Queues a pair already in device memory (decoded by NVDEC, say), read
    /// in place: nothing goes through the host. Only for a scorer on the
    /// CUDA backend, whose extractors all run on the GPU.
    ///
    /// # Safety
    /// Both pictures must satisfy [`vmaf_cuda::CudaPicture::from_raw`]'s
    /// contract on this scorer's device, and stay valid and unchanged
    /// until the next `push*`/`commit_frame` call or [`Self::finish`]
    /// returns (the scorer keeps one frame in flight while the next is
    /// queued).
    #[cfg(feature = "cuda")]
    pub unsafe fn push_device(
        &mut self,
        reference: &vmaf_cuda::CudaPicture<'_>,
        distorted: &vmaf_cuda::CudaPicture<'_>,
    ) -> Result<()> {
        let Some(session) = &self.session else {
            return Err(Error::Usage("frames in device memory need a scorer on the CUDA backend".into()));
        };
        let index = self.engine.frames();
        session.stage_device(reference, distorted, index)?;
        // The slot's host pictures are handed to the extractors but not
        // read: the session gives them the staged device planes instead.
        let r = self.engine.commit();
        // A frame that subsampling skips may reach no extractor at all.
        if session.unstage() && r.is_ok() && index.is_multiple_of(self.subsample) {
            // The engine submits on commit when it scores inline, as it
            // does for the CUDA backend; anything else would score the
            // unfilled host slot.
            return Err(Error::Usage("the scorer did not submit the device frame when it was pushed".into()));
        }
        r
    }

    /// Frames queued so far.
    pub fn frames(&self) -> u32 {
        self.engine.frames()
    }

    /// Scores what is queued, flushes temporal features and returns every
    /// score.
    pub fn finish(mut self) -> Result<Report> {
        let frames = self.engine.finish()?;
        if frames == 0 {
            return Err(Error::NoFrames);
        }
        let mut collector = std::mem::take(&mut self.engine.collector);
        predict_models(&self.models, &mut collector, frames, self.subsample)?;
        Ok(Report { geometry: self.geometry, frames, subsample: self.subsample, collector })
    }
}

/// Appends every model's per-frame outputs to `c`, on the frames libvmaf
/// predicts (those whose index is a multiple of `subsample`).
///
/// libvmaf first computes each model's own score over all frames, model by
/// model, and only then each bootstrap collection's member and summary
/// scores; since the collector orders features by first write, the names
/// are interned in that order up front.
fn predict_models(plans: &[ModelPlan], c: &mut FeatureCollector, frames: u32, subsample: u32) -> Result<()> {
    let fail = |p: &ModelPlan, msg: String| Error::Model { name: p.model.name().to_owned(), msg };
    let mut inputs: Vec<Vec<FeatureId>> = Vec::with_capacity(plans.len());
    for p in plans {
        let ids = p.inputs.iter().map(|k| c.id(k).ok_or_else(|| fail(p, format!("no feature \"{k}\" was computed"))));
        inputs.push(ids.collect::<Result<_>>()?);
        if let Some(n) = p.model.output_names().iter().find(|n| c.id(n).is_some()) {
            return Err(fail(p, format!("output \"{n}\" has the name of a computed feature; choose another name=")));
        }
    }
    let mut outputs: Vec<Vec<FeatureId>> = plans.iter().map(|p| vec![c.intern(&p.model.output_names()[0])]).collect();
    for (p, ids) in plans.iter().zip(&mut outputs) {
        ids.extend(p.model.output_names()[1..].iter().map(|n| c.intern(n)));
    }
    let mut values = Vec::new();
    let mut out = Vec::new();
    for index in (0..frames).step_by(subsample.max(1) as usize) {
        for ((p, ins), outs) in plans.iter().zip(&inputs).zip(&outputs) {
            values.clear();
            for (&id, key) in ins.iter().zip(&p.inputs) {
                let v = c.get(id, index).ok_or_else(|| fail(p, format!("no feature \"{key}\" at frame {index}")))?;
                values.push(v);
            }
            p.model.predict_all(&values, &mut out)?;
            for (&id, &v) in outs.iter().zip(&out) {
                c.put(id, index, v);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Model plumbing on a toy model over psnr features (the extractors VMAF
    //! models read are tested against libvmaf in tests/model_parity.rs).

    use super::*;
    use serde_json::json;
    use vmaf_core::{ChromaSampling, PictureData};

    fn member(kind: &str, rho: f64) -> serde_json::Value {
        json!({ "model_dict": {
            "model_type": kind,
            "norm_type": "linear_rescale",
            "feature_names": ["psnr_y", "psnr_cb"],
            "slopes": [0.01, 0.02, 0.03],
            "intercepts": [-0.5, 0.1, -0.2],
            "score_clip": [0.0, 100.0],
            "model": format!("svm_type nu_svr\nkernel_type rbf\ngamma 0.05\nnr_class 2\ntotal_sv 2\nrho {rho}\n\
                              SV\n1.5 1:0.5 2:0.7 \n-0.75 1:0.9 2:0.2 \n"),
        }})
    }

    fn toy_models() -> (Model, Model) {
        let single = Model::from_json(&member("LIBSVMNUSVR", 0.25).to_string(), "toy").unwrap();
        let single = single.with_config(vmaf_model::ModelConfig { name: "toy".into(), ..Default::default() });
        let boot = json!({
            "0": member("BOOTSTRAP_LIBSVMNUSVR", 0.1),
            "1": member("BOOTSTRAP_LIBSVMNUSVR", -0.3),
            "2": member("BOOTSTRAP_LIBSVMNUSVR", 0.6),
        });
        let boot = Model::from_json(&boot.to_string(), "boot").unwrap();
        let boot = boot.with_config(vmaf_model::ModelConfig { name: "boot".into(), ..Default::default() });
        (single, boot)
    }

    fn run(builder: ScorerBuilder, frames: u32) -> Report {
        let mut scorer = builder.build().unwrap();
        for i in 0..frames {
            let (r, d) = scorer.frame_slot();
            for (k, pic) in [r, d].into_iter().enumerate() {
                let PictureData::U8(planes) = pic.data_mut() else { unreachable!() };
                for (p, plane) in planes.iter_mut().enumerate() {
                    for (j, v) in plane.data_mut().iter_mut().enumerate() {
                        let noise = if k == 1 { ((j * 7 + p * 3) as u32 * (i + 1)) % 11 } else { 0 };
                        *v = ((j as u32 * 5 + p as u32 * 40 + noise) % 256) as u8;
                    }
                }
            }
            scorer.commit_frame().unwrap();
        }
        scorer.finish().unwrap()
    }

    fn geometry() -> Geometry {
        Geometry::new(16, 12, ChromaSampling::Cs420, 8).unwrap()
    }

    #[test]
    fn models_append_outputs_after_features() {
        let (single, boot) = toy_models();
        let b = Scorer::builder(geometry()).model(single.clone()).unwrap().model(boot.clone()).unwrap();
        assert_eq!(b.features.len(), 1, "both models share one psnr instance");
        let rep = run(b, 5);
        let names: Vec<&str> = rep.collector.ids().map(|i| rep.collector.name(i)).collect();
        assert_eq!(
            names,
            [
                "psnr_y",
                "psnr_cb",
                "psnr_cr",
                "toy",
                "boot",
                "boot_0001",
                "boot_0002",
                "boot_bagging",
                "boot_stddev",
                "boot_ci_p95_lo",
                "boot_ci_p95_hi"
            ]
        );
        let c = &rep.collector;
        let get = |n: &str, i: u32| c.get(c.id(n).unwrap(), i).unwrap();
        let mut out = Vec::new();
        let mut distinct = std::collections::HashSet::new();
        for i in 0..5 {
            let x = [get("psnr_y", i), get("psnr_cb", i)];
            assert_eq!(get("toy", i), single.predict(&x).unwrap());
            boot.predict_all(&x, &mut out).unwrap();
            for (n, v) in boot.output_names().iter().zip(&out) {
                assert_eq!(get(n, i).to_bits(), v.to_bits(), "frame {i} {n}");
            }
            distinct.insert(get("toy", i).to_bits());
        }
        assert!(distinct.len() > 1, "frames should score differently");
    }

    #[test]
    fn models_follow_subsample() {
        let (single, _) = toy_models();
        let rep = run(Scorer::builder(geometry()).model(single).unwrap().subsample(2), 5);
        let c = &rep.collector;
        let toy = c.id("toy").unwrap();
        for i in 0..5 {
            assert_eq!(c.get(toy, i).is_some(), i % 2 == 0, "frame {i}");
        }
    }

    #[test]
    fn model_errors_are_clear() {
        let (single, _) = toy_models();
        let e = Scorer::builder(geometry()).model(single.clone()).unwrap().model(single.clone()).unwrap_err();
        assert!(e.to_string().contains("already used"), "{e}");
        let mut v = member("LIBSVMNUSVR", 0.0);
        v["model_dict"]["feature_names"] = json!(["psnr_y", "no_such_feature_score"]);
        let m = Model::from_json(&v.to_string(), "odd").unwrap();
        let e = Scorer::builder(geometry()).model(m).unwrap_err();
        assert!(matches!(&e, Error::Model { name, msg } if name == "odd" && msg.contains("no_such_feature_score")));
        let mut v = member("LIBSVMNUSVR", 0.0);
        v["model_dict"]["feature_opts_dicts"] = json!([{ "min_sse": "lots" }]);
        let m = Model::from_json(&v.to_string(), "opts").unwrap();
        let e = Scorer::builder(geometry()).model(m).unwrap_err().to_string();
        assert!(e.contains("min_sse") && e.contains("lots"), "{e}");
        // A model named like one of the features it reads.
        let clash = single.with_config(vmaf_model::ModelConfig { name: "psnr_cr".into(), ..Default::default() });
        let mut s = Scorer::builder(geometry()).model(clash).unwrap().build().unwrap();
        s.commit_frame().unwrap();
        assert!(s.finish().unwrap_err().to_string().contains("psnr_cr"));
    }

    #[test]
    fn features_dedup_by_name_from_options() {
        // enable_mse does not change psnr's feature names, so libvmaf keeps
        // the first psnr instance only.
        let b = Scorer::builder(geometry()).feature("psnr", &[]).unwrap().feature("psnr", &[("enable_mse", "true")]);
        assert_eq!(b.unwrap().features.len(), 1);
    }

    #[test]
    fn cuda_backend_errors_are_clear() {
        // A feature with no CUDA port is named, whatever the machine.
        let b = Scorer::builder(geometry()).backend(Backend::Cuda { device: 0 });
        let e = b.feature("psnr", &[]).unwrap().feature("float_motion", &[]).unwrap().build().err().unwrap();
        assert!(e.to_string().contains("feature float_motion has no CUDA implementation yet"), "{e}");
        // psnr has one; without a driver the device is what is missing.
        let b = Scorer::builder(geometry()).backend(Backend::Cuda { device: 0 }).feature("psnr", &[]).unwrap();
        match b.build() {
            Err(Error::BackendUnavailable { backend, msg }) => {
                assert_eq!(backend, "cuda (device 0)");
                assert!(!msg.contains('\n'), "one line: {msg}");
            }
            Err(e) => panic!("unexpected error: {e}"),
            // On a machine with a GPU the scorer builds.
            Ok(_) => {}
        }
    }

    #[test]
    fn overloads_need_a_known_extractor() {
        let arg = ModelArg::parse("version=vmaf_v0.6.1:nosuch.opt=1").unwrap();
        assert!(matches!(load_model(&arg), Err(Error::UnknownFeature { .. })));
        let arg = ModelArg::parse("version=vmaf_v0.6.1:psnr.min_sse=1").unwrap();
        let m = load_model(&arg).unwrap();
        // No vmaf_v0.6.1 feature comes from psnr: nothing changes.
        assert!(m.features().iter().all(|f| f.options.is_empty()));
    }
}
