//! Frames/s of the default model on the CUDA backend from frames in host
//! memory (the library path: `Scorer::push`), and the share of that time
//! the host spent blocked on the device. Small enough to run under a
//! profiler (`nsys profile`), which device_check is not.
//!
//! `cargo run --release -p vmaf --example cuda_throughput -- [WxH [BITS [FRAMES]]]`
//! (default 1920x1080, 8 bits, 1000 frames).

use std::time::Instant;

use vmaf::{load_model, Backend, ChromaSampling, Geometry, ModelArg, Picture, PictureData, Scorer};

/// `n` pictures of noise, each a little different, and distorted copies.
fn frames(g: Geometry, n: u64) -> Vec<(Picture, Picture)> {
    let max = (1u32 << g.bit_depth) - 1;
    let fill = |seed: u64, p: &mut Picture| {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as u32 % (max + 1)
        };
        match p.data_mut() {
            PictureData::U8(planes) => {
                planes.iter_mut().for_each(|pl| pl.data_mut().iter_mut().for_each(|v| *v = next() as u8))
            }
            PictureData::U16(planes) => {
                planes.iter_mut().for_each(|pl| pl.data_mut().iter_mut().for_each(|v| *v = next() as u16))
            }
        }
    };
    (0..n)
        .map(|i| {
            let (mut r, mut d) = (Picture::new(g), Picture::new(g));
            fill(2 * i + 1, &mut r);
            fill(2 * i + 2, &mut d);
            (r, d)
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (w, h) = match args.first() {
        Some(s) => {
            let (w, h) = s.split_once('x').ok_or("size is WxH")?;
            (w.parse()?, h.parse()?)
        }
        None => (1920, 1080),
    };
    let bits: u8 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(8);
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let g = Geometry::new(w, h, ChromaSampling::Cs420, bits)?;
    let pics = frames(g, 8);
    let model = load_model(&ModelArg::parse("version=vmaf_v0.6.1")?)?;
    let mut scorer = Scorer::builder(g).backend(Backend::Cuda { device: 0 }).model(model)?.build()?;
    // The scorer's device: counters are per device, shared by its handles.
    let dev = vmaf_cuda::CudaDevice::new(0)?;
    for (r, d) in pics.iter().cycle().take(60) {
        scorer.push(r, d)?;
    }
    let (c0, t0) = (dev.counters(), Instant::now());
    for (r, d) in pics.iter().cycle().take(n) {
        scorer.push(r, d)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    let c = dev.counters().since(&c0);
    scorer.finish()?;
    println!(
        "{w}x{h} {bits}-bit, {n} frames from host memory: {:.0} frames/s, host blocked {:.0}% of the time, \
         {:.1} launches and {:.2} host waits a frame",
        n as f64 / secs,
        100.0 * c.host_wait_ns as f64 / 1e9 / secs,
        c.launches as f64 / n as f64,
        c.host_waits as f64 / n as f64
    );
    Ok(())
}
