//! Device checks of CUDA `vif` (integer_vif_scale0..3), a part of
//! device_check.rs kept in its own file so that other features' rows merge
//! without conflicts. Every row compares against the CPU extractor on the
//! scalar reference path; a mismatch row names the first differing frame
//! and feature, both values, and both backends' integer sums per scale
//! (the GPU's partials copied back, the CPU's recomputed), which says
//! which scale and which of the four sums went wrong.

use super::*;
use vmaf_cpu::features::integer_vif::{reference_sums, Sums};
use vmaf_cuda::CudaVif;

/// Option sets every parity check runs: plain, debug outputs, and the
/// gain limit with scale 0 skipped (libvmaf's `egl` / `ssclz` variants).
const VIF_OPTION_SETS: &[&[(&str, &str)]] = &[
    &[],
    &[("debug", "true")],
    &[("debug", "true"), ("vif_enhn_gain_limit", "1.0"), ("vif_skip_scale0", "true")],
    &[("vif_enhn_gain_limit", "1.5")],
];

fn vif_options(opts: &[(&str, &str)]) -> Options {
    Options::parse("vif", vmaf_cuda::features::vif::SPEC.options, opts.iter().copied()).expect("valid vif options")
}

fn cpu_vif(o: &Options, g: Geometry) -> Result<Box<dyn Extractor>, String> {
    (vmaf_cpu::features::integer_vif::SPEC.create)(&CreateArgs {
        options: o,
        geometry: g,
        cpu_level: CpuLevel::Scalar,
        device: None,
    })
    .map_err(e2s)
}

/// The CPU's integer sums of one frame (scalar reference kernels).
fn cpu_sums(o: &Options, r: &Picture, d: &Picture) -> [Sums; 4] {
    let bpc = r.geometry().bit_depth as u32;
    let (gain, skip) = (o.double("vif_enhn_gain_limit"), o.bool("vif_skip_scale0"));
    match (r.data(), d.data()) {
        (PictureData::U8(a), PictureData::U8(b)) => reference_sums(&a[0], &b[0], bpc, gain, skip),
        (PictureData::U16(a), PictureData::U16(b)) => reference_sums(&a[0], &b[0], bpc, gain, skip),
        _ => [Sums::default(); 4],
    }
}

fn show_sums(s: &[Sums; 4]) -> String {
    let v: Vec<String> =
        s.iter().map(|x| format!("[{} {} {} {}]", x.num_log, x.den_log, x.num_non_log, x.den_non_log)).collect();
    v.join(" ")
}

/// Explains a mismatch of frame `i`: the first differing value and the
/// sums of every scale on both backends.
fn vif_mismatch(
    o: &Options,
    names: &[String],
    i: usize,
    (r, d): &(Picture, Picture),
    want: &[(u16, u32, u64)],
    got: &[(u16, u32, u64)],
    gpu: &[Sums; 4],
) -> String {
    let first = want.iter().zip(got).find(|(a, b)| a != b);
    let what = match first {
        Some((a, b)) => format!(
            "{} CPU {} vs CUDA {}",
            names.get(a.0 as usize).map_or("?", |s| s.as_str()),
            f64::from_bits(a.2),
            f64::from_bits(b.2)
        ),
        None => format!("{} CPU values vs {} CUDA values", want.len(), got.len()),
    };
    let cpu = cpu_sums(o, r, d);
    let scale = (0..4).find(|&s| cpu[s] != gpu[s]).map_or("none".into(), |s| s.to_string());
    format!(
        "frame {i}: {what}; first differing scale: {scale}; sums [num_log den_log num_non_log den_non_log] per scale: \
         CPU {} CUDA {}",
        show_sums(&cpu),
        show_sums(gpu)
    )
}

fn entries(sink: &FeatureSink) -> Vec<(u16, u32, u64)> {
    sink.entries().iter().map(|e| (e.slot, e.index, e.value.to_bits())).collect()
}

/// CPU scalar and CUDA vif over `frames`, frame by frame: Ok(values
/// compared) or the first mismatch, explained.
fn vif_compare(dev: &CudaDevice, o: &Options, g: Geometry, frames: &[(Picture, Picture)]) -> Result<usize, String> {
    let mut cpu = cpu_vif(o, g)?;
    let mut cuda = CudaVif::new(dev, o, g).map_err(e2s)?;
    if cpu.feature_names() != cuda.feature_names() {
        return Err(format!("names differ: {:?} vs {:?}", cpu.feature_names(), cuda.feature_names()));
    }
    let mut n = 0;
    for (i, pair) in frames.iter().enumerate() {
        let (mut a, mut b) = (FeatureSink::new(), FeatureSink::new());
        let fp = FramePair { reference: &pair.0, distorted: &pair.1, index: i as u32 };
        cpu.submit(&fp).map_err(e2s)?;
        cpu.collect(i as u32, &mut a).map_err(e2s)?;
        cuda.submit_host(&pair.0, &pair.1, i as u32).map_err(e2s)?;
        cuda.collect_frame(i as u32, &mut b).map_err(e2s)?;
        let (want, got) = (entries(&a), entries(&b));
        if want != got {
            return Err(vif_mismatch(o, cuda.feature_names(), i, pair, &want, &got, &cuda.last_sums()));
        }
        n += want.len();
    }
    Ok(n)
}

fn vif_parity_clips(t: &mut Table, dev: &CudaDevice, clips: &Path) -> Result<(), String> {
    let pairs = pairs_in(clips);
    for pair in &pairs {
        let (g, frames) = load_pair(clips, pair, usize::MAX)?;
        let mut values = 0;
        let mut bad = None;
        for opts in VIF_OPTION_SETS {
            match vif_compare(dev, &vif_options(opts), g, &frames) {
                Ok(n) => values += n,
                Err(e) => {
                    bad = Some(format!("options {opts:?}: {e}"));
                    break;
                }
            }
        }
        let ok = bad.is_none();
        let value =
            bad.unwrap_or_else(|| format!("{} frames x 4 option sets, {values} values bit-identical", frames.len()));
        t.check(format!("vif parity {pair}"), value, ok);
    }
    // Through the Scorer: the registry finds the CUDA vif by name, and the
    // engine's output equals the CPU engine's.
    if let Some(pair) = pairs.first() {
        let (g, frames) = load_pair(clips, pair, usize::MAX)?;
        let run = |b: Backend| -> Result<Report, String> {
            let mut s = Scorer::builder(g)
                .backend(b)
                .feature("vif", &[("debug", "true")])
                .map_err(e2s)?
                .build()
                .map_err(e2s)?;
            for (r, d) in &frames {
                let (a, bb) = s.frame_slot();
                copy_into(a, r);
                copy_into(bb, d);
                s.commit_frame().map_err(e2s)?;
            }
            s.finish().map_err(e2s)
        };
        let cpu = run(Backend::Cpu)?;
        let cuda = run(Backend::Cuda { device: dev.ordinal() })?;
        match same(&cpu.collector, &cuda.collector) {
            Ok(n) => {
                t.check(format!("vif via Scorer (registry), {pair}"), format!("{n} values identical to CPU"), true)
            }
            Err(e) => t.check(format!("vif via Scorer (registry), {pair}"), e, false),
        }
    }
    Ok(())
}

/// Frames of hostile and ordinary content for one geometry.
fn vif_frames(g: Geometry, seed: u64) -> Frames {
    let r = picture(g, Fill::Random(seed));
    let d = distort(&r, seed + 1);
    vec![
        (r, d),
        (picture(g, Fill::Random(seed + 2)), picture(g, Fill::Random(seed + 3))),
        (picture(g, Fill::Zero), picture(g, Fill::Zero)),
        (picture(g, Fill::Max), picture(g, Fill::Zero)),
        (picture(g, Fill::Max), picture(g, Fill::Max)),
        (picture(g, Fill::Random(seed + 4)), picture(g, Fill::Max)),
    ]
}

fn vif_parity_synthetic(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    let (mut cases, mut bad) = (0, Vec::new());
    for bpc in [8u8, 10, 12, 16] {
        for h in [1u32, 2, 3, 8, 17, 33] {
            for w in 1u32..=65 {
                let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
                let seed = (w * 131 + h * 7 + bpc as u32) as u64;
                // Alternate the option sets over the geometries.
                let opts = VIF_OPTION_SETS[(w + h) as usize % VIF_OPTION_SETS.len()];
                cases += 1;
                if let Err(e) = vif_compare(dev, &vif_options(opts), g, &vif_frames(g, seed)) {
                    if bad.len() < 2 {
                        bad.push(format!("{w}x{h} {bpc}-bit {opts:?}: {e}"));
                    }
                }
            }
        }
    }
    t.check(
        "vif parity synthetic (w 1..65 x h 1/2/3/8/17/33, 8-16 bit, zero/max/random/noisy, 4 option sets)",
        if bad.is_empty() { format!("{cases} geometries x 6 frames identical") } else { format!("mismatch: {bad:?}") },
        bad.is_empty(),
    );
    let mut odd = Vec::new();
    let mut ok = true;
    for (w, h, bpc, frames) in [
        (577u32, 323u32, 8u8, 6usize),
        (1919, 1079, 10, 2),
        (1, 700, 12, 6),
        (700, 1, 16, 6),
        (4099, 9, 8, 3),
        (3840, 2160, 16, 2),
    ] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
        let mut fr = vif_frames(g, (w + h) as u64);
        if frames == 2 {
            // Large pictures: the noisy pair and the full-scale one (the
            // largest sums and moments).
            fr = vec![fr[0].clone(), fr[3].clone()];
        }
        fr.truncate(frames);
        for opts in [VIF_OPTION_SETS[1], VIF_OPTION_SETS[2]] {
            if let Err(e) = vif_compare(dev, &vif_options(opts), g, &fr) {
                ok = false;
                odd.push(format!("{w}x{h} {bpc}-bit {opts:?}: {e}"));
                break;
            }
        }
        if ok {
            odd.push(format!("{w}x{h}/{bpc}"));
        }
    }
    t.check("vif parity odd and large sizes (up to 4K 16-bit full scale)", odd.join(", "), ok);
    Ok(())
}

fn vif_device_input_and_pipeline(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    let o = vif_options(&[("debug", "true")]);
    let mut n = 0;
    for (w, h, bpc) in [(577u32, 323u32, 8u8), (1, 1, 10), (65, 9, 12), (1920, 1080, 10), (33, 17, 16)] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
        let frames: Frames = (0..3)
            .map(|i| {
                let r = picture(g, Fill::Random(300 + i));
                let d = distort(&r, 17 + i);
                (r, d)
            })
            .collect();
        let mut cpu = cpu_vif(&o, g)?;
        let mut ex = CudaVif::new(dev, &o, g).map_err(e2s)?;
        let (mut dr, mut dd) = (DevicePicture::new(dev, g).map_err(e2s)?, DevicePicture::new(dev, g).map_err(e2s)?);
        for (i, (r, d)) in frames.iter().enumerate() {
            let (mut a, mut b) = (FeatureSink::new(), FeatureSink::new());
            cpu.submit(&FramePair { reference: r, distorted: d, index: i as u32 }).map_err(e2s)?;
            cpu.collect(i as u32, &mut a).map_err(e2s)?;
            dr.upload(r).map_err(e2s)?;
            dd.upload(d).map_err(e2s)?;
            let before = dev.counters();
            ex.submit_device(&dr.picture(), &dd.picture(), i as u32).map_err(e2s)?;
            let up = dev.counters().since(&before).htod_bytes;
            if up != 0 {
                return Err(format!("vif: device-resident submit uploaded {up} bytes"));
            }
            ex.collect_frame(i as u32, &mut b).map_err(e2s)?;
            if entries(&a) != entries(&b) {
                let e = vif_mismatch(
                    &o,
                    ex.feature_names(),
                    i,
                    &(r.clone(), d.clone()),
                    &entries(&a),
                    &entries(&b),
                    &ex.last_sums(),
                );
                t.check(
                    "vif parity device-resident input (pitched, 0 bytes up)",
                    format!("{w}x{h} {bpc}-bit: {e}"),
                    false,
                );
                return Ok(());
            }
        }
        n += 1;
    }
    t.check("vif parity device-resident input (pitched, 0 bytes up)", format!("{n} geometries identical"), true);

    // Frame i+1 submitted before frame i is collected.
    let g = Geometry::new(1280, 720, ChromaSampling::Cs420, 10).map_err(e2s)?;
    let frames: Frames = (0..12)
        .map(|i| {
            let r = picture(g, Fill::Random(400 + i));
            let d = distort(&r, 60 + i);
            (r, d)
        })
        .collect();
    let mut cpu = cpu_vif(&o, g)?;
    let mut want = FeatureSink::new();
    for (i, (r, d)) in frames.iter().enumerate() {
        cpu.submit(&FramePair { reference: r, distorted: d, index: i as u32 }).map_err(e2s)?;
        cpu.collect(i as u32, &mut want).map_err(e2s)?;
    }
    let mut ex = CudaVif::new(dev, &o, g).map_err(e2s)?;
    let (sink, refused) = pipelined_ring(&mut ex, &frames)?;
    let same_values = entries(&sink) == entries(&want);
    t.check(
        format!("vif parity pipelined ({RING}-slot ring, 12 frames 720p 10-bit)"),
        format!("identical: {same_values}, frame {} in flight refused: {refused}", RING + 1),
        same_values && refused,
    );
    Ok(())
}

fn vif_counters(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    let g = Geometry::new(1920, 1080, ChromaSampling::Cs420, 8).map_err(e2s)?;
    let o = vif_options(&[("debug", "true")]);
    let r = picture(g, Fill::Random(21));
    let d = distort(&r, 22);
    let mut ex = CudaVif::new(dev, &o, g).map_err(e2s)?;
    let mut sink = FeatureSink::new();
    for i in 0..5 {
        ex.submit_host(&r, &d, i).map_err(e2s)?;
        ex.collect_frame(i, &mut sink).map_err(e2s)?;
        sink.clear();
    }
    let n = 100u64;
    let (c0, a0) = (dev.counters(), allocations());
    for i in 5..5 + n as u32 {
        ex.submit_host(&r, &d, i).map_err(e2s)?;
        ex.collect_frame(i, &mut sink).map_err(e2s)?;
        sink.clear();
    }
    let (c, a) = (dev.counters().since(&c0), allocations() - a0);
    let label = "vif counters 1080p 8-bit";
    let per = |x: u64| format!("{}", x as f64 / n as f64);
    t.check(
        format!("{label}: device + pinned allocations / frame"),
        per(c.device_allocs + c.pinned_allocs),
        c.device_allocs == 0 && c.pinned_allocs == 0,
    );
    t.check(format!("{label}: host waits / frame"), per(c.host_waits), c.host_waits == n);
    let up = 2 * 1920 * 1080;
    t.check(
        format!("{label}: bytes up / frame (formula 2 x 1920 x 1080 luma)"),
        per(c.htod_bytes),
        c.htod_bytes == n * up && ex.upload_bytes_per_frame() as u64 == up,
    );
    t.check(format!("{label}: bytes down / frame (16 sums)"), per(c.dtoh_bytes), c.dtoh_bytes == n * 128);
    t.check(
        format!("{label}: kernel launches / frame (4 statistics + 3 decimations)"),
        per(c.launches),
        c.launches == n * 7 && ex.launches_per_frame() == 7,
    );
    t.check(format!("{label}: extractor frame path host heap allocations in {n} frames"), a.to_string(), a == 0);
    Ok(())
}

fn vif_throughput(t: &mut Table, dev: &CudaDevice) -> Result<(), String> {
    let o = vif_options(&[]);
    for (label, w, h, bpc, n) in [
        ("1080p 8-bit", 1920u32, 1080u32, 8u8, 300u32),
        ("4K 8-bit", 3840, 2160, 8, 100),
        ("4K 10-bit", 3840, 2160, 10, 100),
    ] {
        let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).map_err(e2s)?;
        let r = picture(g, Fill::Random(31));
        let d = distort(&r, 32);
        let mut ex = CudaVif::new(dev, &o, g).map_err(e2s)?;
        // Device input, pipelined: close to the kernels' own time per frame.
        let [seq, piped, resident_fps] = timed_fps(&mut ex, dev, &[(r, d)], n)?;
        let resident = 1.0 / resident_fps;
        t.info(
            format!("fps vif {label}"),
            format!(
                "CUDA host input {seq:.0} (pipelined {piped:.0}); device input pipelined {:.0} fps = {:.3} ms/frame",
                1.0 / resident,
                resident * 1e3
            ),
        );
    }
    Ok(())
}

/// Every vif row; one `section` call in main.
pub(crate) fn vif_checks(t: &mut Table, dev: &CudaDevice, clips: &Path) -> Result<(), String> {
    let started = Instant::now();
    match vmaf_cuda::loader::nvrtc() {
        Ok(_) => {
            // Compiles vif.cu (once per process) by creating an extractor.
            let g = Geometry::new(64, 36, ChromaSampling::Cs420, 8).map_err(e2s)?;
            let r = CudaVif::new(dev, &vif_options(&[]), g);
            t.check(
                "vif: NVRTC compiles and loads kernels/vif.cu",
                r.as_ref().err().map(e2s).unwrap_or("ok".into()),
                r.is_ok(),
            );
        }
        Err(e) => t.check("vif: NVRTC", e2s(e), false),
    }
    section(t, "vif parity clips", |t| vif_parity_clips(t, dev, clips));
    section(t, "vif parity synthetic", |t| vif_parity_synthetic(t, dev));
    section(t, "vif device input / pipeline", |t| vif_device_input_and_pipeline(t, dev));
    section(t, "vif counters", |t| vif_counters(t, dev));
    section(t, "vif throughput", |t| vif_throughput(t, dev));
    let out = dev.counters().outstanding();
    t.check("vif: resources outstanding after all vif extractors dropped", out.to_string(), out == 0);
    t.info("vif: time of all vif checks", format!("{:.1} s", started.elapsed().as_secs_f64()));
    Ok(())
}
