//! Per-frame scores of a whole run, in libvmaf's order.
//!
//! Features are kept in the order they were first written, as libvmaf's
//! feature collector does; that order is what the output writers print. The
//! engine writes in a fixed order (frame by frame, extractor by extractor),
//! so the order does not depend on threading.

use std::collections::HashMap;

/// Index of a feature in a [`FeatureCollector`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeatureId(pub usize);

#[derive(Clone, Debug, Default)]
struct Series {
    name: String,
    scores: Vec<Option<f64>>,
}

/// Every score of a run: per feature, per frame; plus whole-stream
/// aggregates.
#[derive(Clone, Debug, Default)]
pub struct FeatureCollector {
    series: Vec<Series>,
    by_name: HashMap<String, FeatureId>,
    aggregates: Vec<(String, f64)>,
}

impl FeatureCollector {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `name`, without creating it.
    pub fn id(&self, name: &str) -> Option<FeatureId> {
        self.by_name.get(name).copied()
    }

    /// The id of `name`, appended at the end of the order if new.
    pub fn intern(&mut self, name: &str) -> FeatureId {
        if let Some(id) = self.by_name.get(name) {
            return *id;
        }
        let id = FeatureId(self.series.len());
        self.series.push(Series { name: name.to_owned(), scores: Vec::new() });
        self.by_name.insert(name.to_owned(), id);
        id
    }

    /// Writes a score. A feature enters the output order at its first write,
    /// so call [`Self::intern`] early only for features that must be
    /// ordered first.
    pub fn put(&mut self, id: FeatureId, index: u32, value: f64) {
        let s = &mut self.series[id.0];
        let i = index as usize;
        if s.scores.len() <= i {
            s.scores.resize(i + 1, None);
        }
        s.scores[i] = Some(value);
    }

    pub fn put_by_name(&mut self, name: &str, index: u32, value: f64) {
        let id = self.intern(name);
        self.put(id, index, value);
    }

    /// Sets (or replaces) a whole-stream value.
    pub fn set_aggregate(&mut self, name: &str, value: f64) {
        match self.aggregates.iter_mut().find(|(n, _)| n == name) {
            Some(a) => a.1 = value,
            None => self.aggregates.push((name.to_owned(), value)),
        }
    }

    /// Features in output order: their ids.
    pub fn ids(&self) -> impl Iterator<Item = FeatureId> {
        (0..self.series.len()).map(FeatureId)
    }
    pub fn name(&self, id: FeatureId) -> &str {
        &self.series[id.0].name
    }
    pub fn get(&self, id: FeatureId, index: u32) -> Option<f64> {
        self.series[id.0].scores.get(index as usize).copied().flatten()
    }
    /// Number of frame slots of the longest feature (libvmaf's capacity).
    pub fn frame_slots(&self) -> u32 {
        self.series.iter().map(|s| s.scores.len()).max().unwrap_or(0) as u32
    }
    pub fn aggregates(&self) -> &[(String, f64)] {
        &self.aggregates
    }
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_write_order() {
        let mut c = FeatureCollector::new();
        c.put_by_name("b", 1, 2.0);
        c.put_by_name("a", 0, 1.0);
        c.put_by_name("b", 0, 3.0);
        let names: Vec<_> = c.ids().map(|i| c.name(i).to_owned()).collect();
        assert_eq!(names, ["b", "a"]);
        let b = c.id("b").unwrap();
        assert_eq!(c.get(b, 0), Some(3.0));
        assert_eq!(c.get(b, 5), None);
        assert_eq!(c.frame_slots(), 2);
    }
}
