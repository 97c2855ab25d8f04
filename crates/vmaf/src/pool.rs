//! Pooling: one number per feature for a whole run, as libvmaf computes it.
//!
//! The pooled VMAF the command line prints and the `pooled_metrics` of every
//! output file come from here, so the arithmetic follows libvmaf 3.2.0 step
//! by step: frames are visited in index order, skipped when subsampling
//! leaves them out, summed left to right, and the harmonic mean is
//! `n / sum(1 / (s + 1)) - 1`. A feature missing a value at any visited
//! frame has no pooled value at all (libvmaf then leaves every method of it
//! out of the output).

use std::ops::RangeInclusive;

use vmaf_core::{FeatureCollector, FeatureId};

use crate::Report;

/// How per-frame scores are pooled into one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolMethod {
    Min,
    Max,
    Mean,
    HarmonicMean,
}

impl PoolMethod {
    /// Every method, in the order the output writers print them.
    pub const ALL: [PoolMethod; 4] = [PoolMethod::Min, PoolMethod::Max, PoolMethod::Mean, PoolMethod::HarmonicMean];

    /// The key the writers print for this method.
    pub const fn name(self) -> &'static str {
        match self {
            PoolMethod::Min => "min",
            PoolMethod::Max => "max",
            PoolMethod::Mean => "mean",
            PoolMethod::HarmonicMean => "harmonic_mean",
        }
    }
}

/// Pools feature `id` over the frames of `frames` that subsampling keeps
/// (index `i` is kept when `subsample <= 1` or `i % subsample == 0`).
///
/// Returns `None` when the range is empty (`start > end`) or when the feature
/// has no value at some kept frame; non-finite scores pool the way IEEE
/// arithmetic makes them (a NaN anywhere makes the mean NaN).
///
/// As in libvmaf, min and max are seeded from the range's first index; when
/// subsampling skips that index they start from 0 instead. Ranges that start
/// at 0 (all the writers use) never meet this.
pub fn pool(
    collector: &FeatureCollector,
    id: FeatureId,
    method: PoolMethod,
    subsample: u32,
    frames: RangeInclusive<u32>,
) -> Option<f64> {
    let (low, high) = (*frames.start(), *frames.end());
    if low > high {
        return None;
    }
    let mut count = 0u32;
    let (mut min, mut max, mut sum, mut inv_sum) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for i in frames {
        if subsample > 1 && i % subsample != 0 {
            continue;
        }
        count += 1;
        let s = collector.get(id, i)?;
        sum += s;
        inv_sum += 1.0 / (s + 1.0);
        // Written as comparisons (not f64::min) so a NaN behaves as in C:
        // it never replaces a value, but sticks when it comes first.
        if i == low || s < min {
            min = s;
        }
        if i == low || s > max {
            max = s;
        }
    }
    Some(match method {
        PoolMethod::Min => min,
        PoolMethod::Max => max,
        PoolMethod::Mean => sum / f64::from(count),
        PoolMethod::HarmonicMean => f64::from(count) / inv_sum - 1.0,
    })
}

impl Report {
    /// Feature `name` (as stored: the model name for a VMAF score, the
    /// extractor's name for a feature) pooled over every frame of the run,
    /// honouring the run's subsampling. `None` when the feature is unknown
    /// or lacks a value at some pooled frame.
    pub fn pooled(&self, name: &str, method: PoolMethod) -> Option<f64> {
        let id = self.collector.id(name)?;
        self.pooled_by_id(id, method)
    }

    /// As [`Report::pooled`], by id.
    pub fn pooled_by_id(&self, id: FeatureId, method: PoolMethod) -> Option<f64> {
        let last = self.frames.checked_sub(1)?;
        pool(&self.collector, id, method, self.subsample, 0..=last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collector(values: &[Option<f64>]) -> (FeatureCollector, FeatureId) {
        let mut c = FeatureCollector::new();
        let id = c.intern("x");
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                c.put(id, i as u32, *v);
            }
        }
        (c, id)
    }

    #[test]
    fn methods() {
        let (c, id) = collector(&[Some(1.0), Some(3.0), Some(2.0)]);
        let p = |m| pool(&c, id, m, 1, 0..=2).unwrap();
        assert_eq!(p(PoolMethod::Min), 1.0);
        assert_eq!(p(PoolMethod::Max), 3.0);
        assert_eq!(p(PoolMethod::Mean), 2.0);
        let h = 3.0 / (1.0 / 2.0 + 1.0 / 4.0 + 1.0 / 3.0) - 1.0;
        assert_eq!(p(PoolMethod::HarmonicMean), h);
    }

    #[test]
    fn subsample_visits_only_kept_frames() {
        // Frames 1, 2, 4, 5 are skipped with subsample 3: their values (and
        // their absence) must not matter.
        let (c, id) = collector(&[Some(10.0), None, Some(-99.0), Some(20.0), None, None, Some(30.0)]);
        assert_eq!(pool(&c, id, PoolMethod::Mean, 3, 0..=6), Some(20.0));
        assert_eq!(pool(&c, id, PoolMethod::Min, 3, 0..=6), Some(10.0));
        assert_eq!(pool(&c, id, PoolMethod::Max, 3, 0..=8), Some(30.0), "frames 7, 8 are skipped");
        assert_eq!(pool(&c, id, PoolMethod::Max, 3, 0..=9), None, "frame 9 is missing");
        assert_eq!(pool(&c, id, PoolMethod::Max, 1, 0..=6), None, "frame 1 is missing");
    }

    #[test]
    fn missing_value_gives_none_for_every_method() {
        let (c, id) = collector(&[Some(1.0), None, Some(2.0)]);
        for m in PoolMethod::ALL {
            assert_eq!(pool(&c, id, m, 1, 0..=2), None);
            assert_eq!(pool(&c, id, m, 1, 0..=0), Some(1.0));
        }
        #[allow(clippy::reversed_empty_ranges)]
        let empty = 2..=1;
        assert_eq!(pool(&c, id, PoolMethod::Mean, 1, empty), None);
    }

    #[test]
    fn skipped_first_index_seeds_min_with_zero() {
        // libvmaf seeds min/max at the range's first index; when subsampling
        // skips it, they start at 0.
        let (c, id) = collector(&[None, None, None, Some(5.0), Some(7.0), None, Some(6.0)]);
        assert_eq!(pool(&c, id, PoolMethod::Min, 3, 1..=6), Some(0.0));
        assert_eq!(pool(&c, id, PoolMethod::Max, 3, 1..=6), Some(6.0));
        assert_eq!(pool(&c, id, PoolMethod::Mean, 3, 1..=6), Some(5.5));
    }

    #[test]
    fn non_finite_values() {
        let (c, id) = collector(&[Some(f64::INFINITY), Some(f64::INFINITY)]);
        for m in PoolMethod::ALL {
            assert_eq!(pool(&c, id, m, 1, 0..=1), Some(f64::INFINITY), "{m:?}");
        }
        let (c, id) = collector(&[Some(1.0), Some(f64::NAN), Some(3.0)]);
        assert_eq!(pool(&c, id, PoolMethod::Min, 1, 0..=2), Some(1.0));
        assert_eq!(pool(&c, id, PoolMethod::Max, 1, 0..=2), Some(3.0));
        assert!(pool(&c, id, PoolMethod::Mean, 1, 0..=2).unwrap().is_nan());
        let (c, id) = collector(&[Some(f64::NAN), Some(3.0)]);
        assert!(pool(&c, id, PoolMethod::Min, 1, 0..=1).unwrap().is_nan());
    }
}
