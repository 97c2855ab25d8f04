//! Writes a small synthetic reference/distorted Y4M pair for trying the
//! `vmaf` command without any other tool: a moving pattern of gradients,
//! edges and texture, and a distorted copy (blurred, quantised, with a
//! little noise) so the scores are neither perfect nor trivial.
//!
//!     cargo run --release -p vmaf --example make_sample -- OUTDIR [frames] [WxH]

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use vmaf::io::{write_y4m_frame, write_y4m_header};
use vmaf::{ChromaSampling, Geometry, Picture, PictureData};

/// A small deterministic generator (xorshift), so the sample is the same
/// on every machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn reference(t: usize, x: usize, y: usize, rng: &mut Rng) -> f64 {
    let (xf, yf, tf) = (x as f64, y as f64, t as f64);
    let pan = xf + 2.0 * tf;
    let rings = 60.0 * ((((xf - 160.0).powi(2) + (yf - 120.0 - tf).powi(2)).sqrt() / 6.0).sin());
    let checker = if ((pan as usize / 16) + (y / 16)) % 2 == 0 { 30.0 } else { -30.0 };
    let grain = (rng.next() % 9) as f64 - 4.0;
    128.0 + 0.3 * (yf - 120.0) + rings + checker + grain
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: make_sample OUTDIR [frames] [WxH]")?);
    let frames: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(24);
    let (w, h) = match args.next() {
        Some(s) => {
            let (w, h) = s.split_once('x').ok_or("size must be WxH")?;
            (w.parse()?, h.parse()?)
        }
        None => (320u32, 240u32),
    };
    std::fs::create_dir_all(&dir)?;
    let g = Geometry::new(w, h, ChromaSampling::Cs420, 8)?;
    let mut ref_out = BufWriter::new(File::create(dir.join("ref.y4m"))?);
    let mut dis_out = BufWriter::new(File::create(dir.join("dis.y4m"))?);
    write_y4m_header(&mut ref_out, &g, (24, 1))?;
    write_y4m_header(&mut dis_out, &g, (24, 1))?;
    let (mut r, mut d) = (Picture::new(g), Picture::new(g));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (w, h) = (w as usize, h as usize);
    let mut luma = vec![0.0f64; w * h];
    for t in 0..frames {
        for y in 0..h {
            for x in 0..w {
                luma[y * w + x] = reference(t, x, y, &mut rng);
            }
        }
        let (PictureData::U8(rp), PictureData::U8(dp)) = (r.data_mut(), d.data_mut()) else {
            unreachable!("8-bit geometry")
        };
        for y in 0..h {
            for x in 0..w {
                rp[0].row_mut(y)[x] = luma[y * w + x].clamp(0.0, 255.0) as u8;
                // 3x3 box blur, coarse quantisation and fresh noise.
                let mut acc = 0.0;
                for dy in [-1i64, 0, 1] {
                    for dx in [-1i64, 0, 1] {
                        let yy = (y as i64 + dy).clamp(0, h as i64 - 1) as usize;
                        let xx = (x as i64 + dx).clamp(0, w as i64 - 1) as usize;
                        acc += luma[yy * w + xx];
                    }
                }
                let q = ((acc / 9.0) / 6.0).round() * 6.0 + (rng.next() % 5) as f64 - 2.0;
                dp[0].row_mut(y)[x] = q.clamp(0.0, 255.0) as u8;
            }
        }
        for p in 1..3 {
            let (cw, ch) = (rp[p].width(), rp[p].height());
            for y in 0..ch {
                for x in 0..cw {
                    let v = 128.0 + 40.0 * ((x as f64 + t as f64) / 20.0).sin() * if p == 1 { 1.0 } else { -0.5 };
                    rp[p].row_mut(y)[x] = v as u8;
                    dp[p].row_mut(y)[x] = ((v / 8.0).round() * 8.0).clamp(0.0, 255.0) as u8;
                }
            }
        }
        write_y4m_frame(&mut ref_out, &r)?;
        write_y4m_frame(&mut dis_out, &d)?;
    }
    println!("wrote {frames} frames of {w}x{h} to {}/ref.y4m and dis.y4m", dir.display());
    Ok(())
}
