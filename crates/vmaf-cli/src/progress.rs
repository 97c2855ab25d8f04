//! The progress line on stderr: frames done, frames/s, and a bar with an
//! ETA when the total is known (regular files of known size). Drawn only
//! when stderr is a terminal and `-q` is not given, at most ten times a
//! second so drawing never costs measurable time.

use std::io::Write;
use std::time::{Duration, Instant};

pub struct Progress {
    enabled: bool,
    total: Option<u64>,
    start: Instant,
    last_draw: Option<Instant>,
    drawn: bool,
}

const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

impl Progress {
    pub fn new(enabled: bool, total: Option<u64>) -> Self {
        Progress { enabled, total: total.filter(|&t| t > 0), start: Instant::now(), last_draw: None, drawn: false }
    }

    pub fn update(&mut self, frames: u32) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self.last_draw.is_some_and(|t| now.duration_since(t) < Duration::from_millis(100)) {
            return;
        }
        self.last_draw = Some(now);
        self.draw(frames, now);
    }

    fn draw(&mut self, frames: u32, now: Instant) {
        let secs = now.duration_since(self.start).as_secs_f64();
        let fps = if secs > 0.0 { frames as f64 / secs } else { 0.0 };
        let mut line = String::with_capacity(96);
        match self.total {
            Some(total) => {
                let done = (frames as u64).min(total);
                let width = 30usize;
                let filled = (done as usize * width) / total as usize;
                line.push('[');
                line.extend(std::iter::repeat('=').take(filled));
                if filled < width {
                    line.push('>');
                    line.extend(std::iter::repeat(' ').take(width - filled - 1));
                }
                line.push(']');
                let eta = if fps > 0.0 { (total - done) as f64 / fps } else { 0.0 };
                line.push_str(&format!(" {done}/{total} frames {fps:.2} FPS ETA {eta:.0}s"));
            }
            None => {
                let spin = SPINNER[(frames as usize) % SPINNER.len()];
                line.push_str(&format!("{frames} frame{} {spin} {fps:.2} FPS", if frames == 1 { "" } else { "s" }));
            }
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Draws the final state and ends the line.
    pub fn finish(&mut self, frames: u32) {
        if !self.enabled {
            return;
        }
        self.draw(frames, Instant::now());
        if self.drawn {
            eprintln!();
        }
    }
}
