//! `speed_qa`: the no-reference SpEED-QA score that the lusoris/vmaf fork
//! of libvmaf adds (its `speed_qa.c`). It reads only the *distorted* luma:
//!
//! * spatial part: the mean entropy of the 7x7 blocks of the frame;
//! * temporal part (0 on the first frame): the mean entropy of the blocks
//!   of the difference between this distorted frame and the previous one;
//!
//! and writes their sum as `speed_qa`. Identical reference and distorted
//! clips therefore do not score 0. High-bit-depth samples (and their
//! differences, truncated to integers) are scaled to the 8-bit range
//! first, as the fork does.
//!
//! Despite the name, none of this shares arithmetic with libvmaf's SpEED
//! (`speed_chroma` / `speed_temporal`, in `speed_common.rs`): no scale
//! mixture fit, no decimation, no reference. The block maths is in
//! `scalar.rs`; it is a few double operations per sample, so there is no
//! SIMD path.
//!
//! The extractor is temporal (it keeps the previous distorted luma, in a
//! buffer sized at creation) and sees every frame, also under
//! `--subsample`, as the fork runs it. Planes smaller than one block are
//! refused, as the fork refuses them.

mod scalar;

use vmaf_core::{
    CreateArgs, Error, Extractor, ExtractorSpec, FeatureSink, FramePair, PictureData, Pixel, Plane, Result,
};

use scalar::{mean_entropy, scaled_difference, to_8bit_scale, Weights, BLOCK};

pub static SPEC: ExtractorSpec = ExtractorSpec {
    name: "speed_qa",
    backend: vmaf_core::BackendKind::Cpu,
    provided_features: &["speed_qa"],
    // The fork's extractor declares no options.
    options: &[],
    temporal: true,
    create,
    help: "SpEED-QA: no-reference block entropy of the distorted luma and its frame difference (lusoris/vmaf fork)",
};

/// The previous distorted luma plane.
enum Previous {
    U8(Plane<u8>),
    U16(Plane<u16>),
}

/// What the block entropies of a frame need to know about the stream.
struct Grid {
    weights: Weights,
    bpc: u32,
    blocks_x: usize,
    blocks_y: usize,
}

struct SpeedQa {
    names: Vec<String>,
    grid: Grid,
    previous: Previous,
    /// Whether `previous` holds a frame yet.
    have_previous: bool,
    /// The score of the frame submitted last, written by `collect`.
    last: vmaf_core::PendingScore,
}

fn create(args: &CreateArgs<'_>) -> Result<Box<dyn Extractor>> {
    let g = args.geometry;
    let (w, h) = (g.width as usize, g.height as usize);
    if w < BLOCK || h < BLOCK {
        return Err(Error::Extractor {
            feature: SPEC.name.into(),
            msg: format!("picture {w}x{h} is smaller than one {BLOCK}x{BLOCK} block"),
        });
    }
    let previous =
        if g.bit_depth > 8 { Previous::U16(Plane::try_new(w, h)?) } else { Previous::U8(Plane::try_new(w, h)?) };
    Ok(Box::new(SpeedQa {
        names: vec![args.options.feature_name("speed_qa")],
        grid: Grid { weights: Weights::new(), bpc: g.bit_depth as u32, blocks_x: w / BLOCK, blocks_y: h / BLOCK },
        previous,
        have_previous: false,
        last: vmaf_core::PendingScore::default(),
    }))
}

impl Grid {
    fn spatial<T: Pixel>(&self, cur: &Plane<T>) -> f64 {
        let (wt, nx, ny) = (&self.weights, self.blocks_x, self.blocks_y);
        if self.bpc <= 8 {
            mean_entropy(wt, nx, ny, |y, x| cur.row(y)[x].into() as f64)
        } else {
            let s = to_8bit_scale(self.bpc);
            mean_entropy(wt, nx, ny, |y, x| cur.row(y)[x].into() as f64 * s)
        }
    }

    fn temporal_u8(&self, cur: &Plane<u8>, prev: &Plane<u8>) -> f64 {
        mean_entropy(&self.weights, self.blocks_x, self.blocks_y, |y, x| {
            (cur.row(y)[x] as i32 - prev.row(y)[x] as i32) as f64
        })
    }

    fn temporal_u16(&self, cur: &Plane<u16>, prev: &Plane<u16>) -> f64 {
        let s = to_8bit_scale(self.bpc);
        mean_entropy(&self.weights, self.blocks_x, self.blocks_y, |y, x| {
            scaled_difference(cur.row(y)[x], prev.row(y)[x], s)
        })
    }
}

fn copy_plane<T: Pixel>(dst: &mut Plane<T>, src: &Plane<T>) {
    for y in 0..src.height() {
        dst.row_mut(y).copy_from_slice(src.row(y));
    }
}

impl Extractor for SpeedQa {
    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn submit(&mut self, frame: &FramePair<'_>) -> Result<()> {
        let first = !self.have_previous;
        let grid = &self.grid;
        let score = match (frame.distorted.data(), &mut self.previous) {
            (PictureData::U8(d), Previous::U8(p)) => {
                let t = if first { 0.0 } else { grid.temporal_u8(&d[0], p) };
                let s = grid.spatial(&d[0]) + t;
                copy_plane(p, &d[0]);
                s
            }
            (PictureData::U16(d), Previous::U16(p)) => {
                let t = if first { 0.0 } else { grid.temporal_u16(&d[0], p) };
                let s = grid.spatial(&d[0]) + t;
                copy_plane(p, &d[0]);
                s
            }
            _ => return Err(Error::Mismatch("picture sample type does not match the stream's bit depth".into())),
        };
        self.have_previous = true;
        self.last.set(frame.index, score);
        Ok(())
    }

    fn collect(&mut self, index: u32, sink: &mut FeatureSink) -> Result<()> {
        self.last.report(index, 0, sink);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmaf_core::{ChromaSampling, CpuLevel, Geometry, Options, Picture};

    fn run(g: Geometry, frames: &[Picture]) -> Result<Vec<f64>> {
        let o = Options::defaults("speed_qa", &[]);
        let mut e = create(&CreateArgs { options: &o, geometry: g, cpu_level: CpuLevel::Scalar, device: None })?;
        let mut sink = FeatureSink::new();
        let blank = Picture::new(g);
        for (i, f) in frames.iter().enumerate() {
            e.submit(&FramePair { reference: &blank, distorted: f, index: i as u32 })?;
            e.collect(i as u32, &mut sink)?;
        }
        Ok(sink.entries().iter().map(|x| x.value).collect())
    }

    fn picture(g: Geometry, f: impl Fn(usize, usize) -> u32) -> Picture {
        let mut p = Picture::new(g);
        match p.data_mut() {
            PictureData::U8(pl) => {
                for y in 0..pl[0].height() {
                    for (x, v) in pl[0].row_mut(y).iter_mut().enumerate() {
                        *v = f(x, y) as u8;
                    }
                }
            }
            PictureData::U16(pl) => {
                for y in 0..pl[0].height() {
                    for (x, v) in pl[0].row_mut(y).iter_mut().enumerate() {
                        *v = f(x, y) as u16;
                    }
                }
            }
        }
        p
    }

    #[test]
    fn flat_frames_score_the_entropy_floor() {
        let g = Geometry::new(20, 15, ChromaSampling::Cs420, 8).unwrap();
        let flat = picture(g, |_, _| 90);
        let out = run(g, &[flat.clone(), flat]).unwrap();
        let floor = scalar::ENTROPY_OFFSET / 2.0;
        // Frame 0: spatial only; frame 1: spatial + temporal of a zero
        // difference.
        assert!((out[0] - floor).abs() < 1e-9, "{out:?}");
        assert!((out[1] - 2.0 * floor).abs() < 1e-9, "{out:?}");
    }

    #[test]
    fn partial_blocks_are_ignored() {
        // Columns 14.. and rows 7.. are outside the whole blocks of a
        // 20x13 picture, so noise there changes nothing.
        let g = Geometry::new(20, 13, ChromaSampling::Cs444, 8).unwrap();
        let a = picture(g, |x, y| ((x * 7 + y * 3) % 11) as u32);
        let b = picture(g, |x, y| if x >= 14 || y >= 7 { ((x * 31) ^ (y * 17)) as u32 & 255 } else { ((x * 7 + y * 3) % 11) as u32 });
        assert_eq!(run(g, &[a]).unwrap(), run(g, &[b]).unwrap());
    }

    #[test]
    fn high_bit_depth_is_scaled_to_8_bit() {
        // A 10-bit picture that is an 8-bit one times 4 (plus nothing)
        // scores nearly the same: samples are scaled by 255/1023, not 1/4.
        let g8 = Geometry::new(14, 14, ChromaSampling::Cs420, 8).unwrap();
        let g10 = Geometry::new(14, 14, ChromaSampling::Cs420, 10).unwrap();
        let f = |x: usize, y: usize| ((x * 13 + y * 29) % 200) as u32;
        let s8 = run(g8, &[picture(g8, f)]).unwrap()[0];
        let s10 = run(g10, &[picture(g10, |x, y| f(x, y) * 4)]).unwrap()[0];
        assert!((s8 - s10).abs() < 0.01, "{s8} {s10}");
        assert_ne!(s8, s10);
    }

    #[test]
    fn too_small_is_an_error() {
        let g = Geometry::new(6, 40, ChromaSampling::Cs420, 8).unwrap();
        assert!(matches!(run(g, &[]), Err(Error::Extractor { .. })));
        let g = Geometry::new(7, 7, ChromaSampling::Cs400, 16).unwrap();
        assert_eq!(run(g, &[Picture::new(g)]).unwrap().len(), 1);
    }
}
