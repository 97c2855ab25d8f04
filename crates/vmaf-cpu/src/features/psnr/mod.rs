//! `psnr`: peak signal-to-noise ratio per plane (psnr_y, psnr_cb, psnr_cr),
//! with libvmaf's options: chroma on/off, MSE output, aggregate PSNR over
//! the whole stream (apsnr_*), the reduced high-bit-depth peak and a floor
//! on the SSE.
//!
//! Identical frames do not give infinity: the score is capped at
//! `6 * bpc + 12` dB (or, with `min_sse`, at the PSNR that SSE would give),
//! exactly as libvmaf caps it.
//!
//! The sums of squared differences have an AVX2 version (x86.rs), tested
//! equal to the scalar reference; libvmaf 3.2.0 has hand-written SIMD
//! here too, and without it psnr alone ran at 0.8x libvmaf's speed.

mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use vmaf_core::{
    ChromaSampling, CpuLevel, CreateArgs, Extractor, ExtractorSpec, FeatureSink, FramePair, Geometry, OptionSpec, Options,
    Picture, PictureData, Result,
};

/// The option table, shared with the CUDA port so both parse `psnr=...`
/// options identically.
pub static OPTIONS: &[OptionSpec] = &[
    OptionSpec::bool("enable_chroma", true, "enable calculation for chroma channels"),
    OptionSpec::bool("enable_mse", false, "enable MSE calculation"),
    OptionSpec::bool("enable_apsnr", false, "enable APSNR calculation"),
    OptionSpec::bool("reduced_hbd_peak", false, "reduce hbd peak value to align with scaled 8-bit content"),
    OptionSpec::double("min_sse", 0.0, 0.0, f64::MAX, "constrain the minimum possible sse"),
];

/// Feature names every psnr extractor provides, on every backend.
pub static PROVIDED_FEATURES: &[&str] = &["psnr_y", "psnr_cb", "psnr_cr"];

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "psnr",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: PROVIDED_FEATURES,
    options: OPTIONS,
    // Aggregate PSNR sums over every frame, so one instance must see them all.
    temporal: true,
    create,
    help: "PSNR of each plane, in dB",
};

const PSNR_NAMES: [&str; 3] = ["psnr_y", "psnr_cb", "psnr_cr"];
const MSE_NAMES: [&str; 3] = ["mse_y", "mse_cb", "mse_cr"];
const APSNR_NAMES: [&str; 3] = ["apsnr_y", "apsnr_cb", "apsnr_cr"];

/// Everything psnr does on the host once a frame's per-plane sums of squared
/// differences are known: the dB formula, its cap, MSE, the aggregate over
/// the stream, and the order scores are written in.
///
/// Every backend computes only the SSEs (exact integers) and hands them to
/// this one implementation, so backends agree bit for bit by construction.
#[derive(Debug)]
pub struct PsnrHost {
    names: Vec<String>,
    planes: usize,
    enable_mse: bool,
    enable_apsnr: bool,
    peak: u32,
    psnr_max: [f64; 3],
    pixels: [u64; 3],
    apsnr_sse: [u64; 3],
    apsnr_pixels: [u64; 3],
    /// Scores of the last recorded frame, written out by `collect`.
    last: Option<(u32, [f64; 3], [f64; 3])>,
}

impl PsnrHost {
    /// The host state for `options` (parsed against [`OPTIONS`]) on
    /// pictures of `geometry`.
    pub fn new(o: &Options, g: Geometry) -> Self {
        let bpc = g.bit_depth as u32;
        let enable_chroma = o.bool("enable_chroma") && g.sampling != ChromaSampling::Cs400;
        let planes = if enable_chroma { 3 } else { 1 };
        let peak = if o.bool("reduced_hbd_peak") { 255 << (bpc - 8) } else { (1u32 << bpc) - 1 };
        let min_sse = o.double("min_sse");
        let mut pixels = [0u64; 3];
        let mut psnr_max = [0.0; 3];
        for p in 0..3 {
            let (w, h) = g.plane_size(p);
            pixels[p] = w as u64 * h as u64;
            psnr_max[p] = if min_sse != 0.0 {
                let mse = min_sse / pixels[p] as f64;
                (10.0 * (peak as f64 * peak as f64 / mse).log10()).ceil()
            } else {
                (6 * bpc + 12) as f64
            };
        }
        let mut names = Vec::new();
        for p in 0..planes {
            names.push(PSNR_NAMES[p].to_owned());
            names.push(MSE_NAMES[p].to_owned());
        }
        PsnrHost {
            names,
            planes,
            enable_mse: o.bool("enable_mse"),
            enable_apsnr: o.bool("enable_apsnr"),
            peak,
            psnr_max,
            pixels,
            apsnr_sse: [0; 3],
            apsnr_pixels: [0; 3],
            last: None,
        }
    }

    /// Names by sink slot, as [`Extractor::feature_names`] returns them.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// How many planes need an SSE: 3, or 1 (luma) when chroma is off or
    /// the picture has none. Entries of `sse` past this count are ignored.
    pub fn planes(&self) -> usize {
        self.planes
    }

    /// Turns frame `index`'s per-plane SSEs into scores, kept for
    /// [`Self::collect`], and adds them to the aggregate.
    pub fn record(&mut self, index: u32, sse: [u64; 3]) {
        let mut psnr = [0.0; 3];
        let mut mse = [0.0; 3];
        // libvmaf's 8-bit path always uses 255 as the peak.
        let peak = self.peak as f64;
        for p in 0..self.planes {
            if self.enable_apsnr {
                self.apsnr_sse[p] += sse[p];
                self.apsnr_pixels[p] += self.pixels[p];
            }
            mse[p] = sse[p] as f64 / self.pixels[p] as f64;
            psnr[p] = c_min(10.0 * (peak * peak / mse[p].max(1e-16)).log10(), self.psnr_max[p]);
        }
        self.last = Some((index, psnr, mse));
    }

    /// Writes the scores of the last recorded frame.
    pub fn collect(&mut self, index: u32, sink: &mut FeatureSink) {
        if let Some((i, psnr, mse)) = self.last.take() {
            debug_assert_eq!(i, index);
            for p in 0..self.planes {
                sink.put(2 * p, i, psnr[p]);
                if self.enable_mse {
                    sink.put(2 * p + 1, i, mse[p]);
                }
            }
        }
    }

    /// End of stream: the aggregate PSNR, when enabled.
    pub fn flush(&mut self, sink: &mut FeatureSink) {
        if !self.enable_apsnr {
            return;
        }
        let peak = self.peak as f64;
        // libvmaf computes the cap in unsigned 64-bit arithmetic.
        let peak_sq = (self.peak as u64).wrapping_mul(self.peak as u64) as u32 as u64;
        for p in 0..3 {
            let n = self.apsnr_pixels[p];
            let apsnr = 10.0 * ((peak * peak).log10() + (n as f64).log10() - (self.apsnr_sse[p] as f64).log10());
            let max = (10.0 * (peak_sq.wrapping_mul(n).wrapping_mul(2) as f64).log10()).ceil();
            sink.put_aggregate(APSNR_NAMES[p], c_min(apsnr, max));
        }
    }
}

/// libvmaf's `MIN` macro: the second operand when the first is NaN.
fn c_min(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

/// The CPU extractor: the SSE kernels of its level plus [`PsnrHost`].
struct Psnr {
    host: PsnrHost,
    level: CpuLevel,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    Ok(Box::new(Psnr { host: PsnrHost::new(args.options, args.geometry), level: args.cpu_level }))
}

/// The per-plane SSE of a picture pair on the CPU reference path: the
/// specification every other backend's SSE must equal exactly.
pub fn sse_planes(reference: &Picture, distorted: &Picture, planes: usize) -> Result<[u64; 3]> {
    sse_planes_at(CpuLevel::Scalar, reference, distorted, planes)
}

/// [`sse_planes`] with the kernels of `level` (the same sums: every term
/// is an exact integer).
fn sse_planes_at(level: CpuLevel, reference: &Picture, distorted: &Picture, planes: usize) -> Result<[u64; 3]> {
    #[cfg(target_arch = "x86_64")]
    let simd = level >= CpuLevel::Avx2 && x86::available();
    #[cfg(not(target_arch = "x86_64"))]
    let simd = {
        let _ = level;
        false
    };
    let mut sse = [0u64; 3];
    for (p, out) in sse.iter_mut().enumerate().take(planes) {
        *out = match (reference.data(), distorted.data()) {
            #[cfg(target_arch = "x86_64")]
            (PictureData::U8(r), PictureData::U8(d)) if simd => x86::sse_u8(&r[p], &d[p]),
            #[cfg(target_arch = "x86_64")]
            (PictureData::U16(r), PictureData::U16(d)) if simd => x86::sse_u16(&r[p], &d[p]),
            (PictureData::U8(r), PictureData::U8(d)) => scalar::sse_u8(&r[p], &d[p]),
            (PictureData::U16(r), PictureData::U16(d)) => scalar::sse_u16(&r[p], &d[p]),
            _ => {
                return Err(vmaf_core::Error::Mismatch(
                    "reference and distorted pictures have different sample types".into(),
                ))
            }
        };
    }
    Ok(sse)
}

impl Extractor for Psnr {
    fn feature_names(&self) -> &[String] {
        self.host.names()
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let sse = sse_planes_at(self.level, frame.reference, frame.distorted, self.host.planes())?;
        self.host.record(frame.index, sse);
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        self.host.collect(index, sink);
        Ok(())
    }

    fn flush(&mut self, sink: &mut FeatureSink) -> Result<()> {
        self.host.flush(sink);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::CpuLevel;

    fn run(g: Geometry, opts: &[(&str, &str)], fill: impl Fn(&mut Picture, &mut Picture)) -> (Vec<(String, f64)>, FeatureSink) {
        let o = Options::parse("psnr", OPTIONS, opts.iter().copied()).unwrap();
        let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None }).unwrap();
        let (mut r, mut d) = (Picture::new(g), Picture::new(g));
        fill(&mut r, &mut d);
        e.submit(&FramePair { reference: &r, distorted: &d, index: 0 }).unwrap();
        let mut sink = FeatureSink::new();
        e.collect(0, &mut sink).unwrap();
        let out = sink.entries().iter().map(|x| (e.feature_names()[x.slot as usize].clone(), x.value)).collect();
        sink.clear();
        e.flush(&mut sink).unwrap();
        (out, sink)
    }

    #[test]
    fn identical_frames_are_capped() {
        for bpc in [8u8, 10, 12, 16] {
            let g = Geometry::new(9, 7, ChromaSampling::Cs420, bpc).unwrap();
            let (out, _) = run(g, &[], |_, _| {});
            let cap = 6.0 * bpc as f64 + 12.0;
            assert_eq!(out, vec![("psnr_y".into(), cap), ("psnr_cb".into(), cap), ("psnr_cr".into(), cap)]);
        }
    }

    #[test]
    fn known_value_and_mse() {
        let g = Geometry::new(4, 2, ChromaSampling::Cs400, 8).unwrap();
        let (out, _) = run(g, &[("enable_mse", "true")], |_, d| {
            if let PictureData::U8(p) = d.data_mut() {
                p[0].data_mut()[0] = 16; // one sample off by 16: mse = 256 / 8
            }
        });
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], ("mse_y".into(), 32.0));
        let expect = 10.0 * (255.0f64 * 255.0 / 32.0).log10();
        assert_eq!(out[0], ("psnr_y".into(), expect));
    }

    #[test]
    fn apsnr_aggregates() {
        let g = Geometry::new(4, 4, ChromaSampling::Cs444, 10).unwrap();
        let (_, sink) = run(g, &[("enable_apsnr", "true")], |_, d| {
            if let PictureData::U16(p) = d.data_mut() {
                p[0].data_mut()[3] = 1023;
            }
        });
        let a = sink.aggregates();
        assert_eq!(a.len(), 3);
        let expect = 10.0 * ((1023.0f64 * 1023.0).log10() + 16f64.log10() - (1023.0f64 * 1023.0).log10());
        assert_eq!(a[0], ("apsnr_y".into(), expect));
    }
}
