//! One trained SVR model and the arithmetic around it: feature
//! normalisation, the optional chroma correction of the v1 models, the
//! libsvm prediction, denormalisation, the score transform and clipping.
//!
//! Each step repeats libvmaf's expression with the same operand order, so
//! the rounding is the same: `slope * x + intercept` (no fused multiply-add),
//! `(y - intercept) / slope`, the polynomial summed from `p0` up.

use crate::svm::Svm;

/// libvmaf keeps at most this many features per model; the per-frame
/// feature vector lives on the stack at this size.
pub const MAX_FEATURES: usize = 64;

/// `model_type` of a model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelType {
    /// `LIBSVMNUSVR`: a single model.
    Svr,
    /// `BOOTSTRAP_LIBSVMNUSVR`: a member of a bootstrap collection.
    Bootstrap,
    /// `RESIDUEBOOTSTRAP_LIBSVMNUSVR`: predicted like `Bootstrap`.
    ResidueBootstrap,
}

/// `norm_type` with its coefficients.
#[derive(Clone, Debug, PartialEq)]
pub enum Norm {
    None,
    /// Features map through `slope * x + intercept`; the prediction maps
    /// back through `(y - intercept) / slope` with the first pair.
    LinearRescale {
        slope: f64,
        intercept: f64,
        features: Vec<(f64, f64)>,
    },
}

impl Norm {
    fn normalize(&self, k: usize, x: f64) -> f64 {
        match self {
            Norm::None => x,
            Norm::LinearRescale { features, .. } => {
                let (slope, intercept) = features[k];
                slope * x + intercept
            }
        }
    }

    fn denormalize_feature(&self, k: usize, y: f64) -> f64 {
        match self {
            Norm::None => y,
            Norm::LinearRescale { features, .. } => {
                let (slope, intercept) = features[k];
                (y - intercept) / slope
            }
        }
    }

    fn denormalize(&self, y: f64) -> f64 {
        match self {
            Norm::None => y,
            Norm::LinearRescale {
                slope, intercept, ..
            } => (y - intercept) / slope,
        }
    }
}

/// `score_transform`: polynomial, then piecewise-linear map, then
/// rectification against the untransformed score.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transform {
    /// `enabled` as the file says; `enable_transform` can switch it on.
    pub enabled: bool,
    /// The model has a `score_transform` object at all (libvmaf's
    /// `enable_transform` flag acts only on models that do).
    pub present: bool,
    pub p0: Option<f64>,
    pub p1: Option<f64>,
    pub p2: Option<f64>,
    /// `[x, y]` points; checked at load to rise in x and not fall in y.
    pub knots: Vec<(f64, f64)>,
    pub out_lte_in: bool,
    pub out_gte_in: bool,
}

impl Transform {
    pub fn apply(&self, y_in: f64) -> f64 {
        let mut y = y_in;
        if self.p0.is_some() || self.p1.is_some() || self.p2.is_some() {
            let mut out = 0.0;
            if let Some(p0) = self.p0 {
                out += p0;
            }
            if let Some(p1) = self.p1 {
                out += p1 * y;
            }
            if let Some(p2) = self.p2 {
                out += p2 * y * y;
            }
            y = out;
        }
        // libvmaf leaves the score as it is when there are fewer than two
        // knots (its mapping gives up before writing).
        if self.knots.len() >= 2 {
            y = piecewise_linear(y, &self.knots);
        }
        if self.out_lte_in && y > y_in {
            y = y_in;
        }
        if self.out_gte_in && y < y_in {
            y = y_in;
        }
        y
    }
}

/// Line through two knots as `(slope, offset)`; knots are validated at
/// load, so the degenerate cases libvmaf rejects cannot occur here.
fn line_through(p1: (f64, f64), p2: (f64, f64)) -> (f64, f64) {
    if p1.0 == 0.0 {
        let beta = p1.1;
        ((p2.1 - beta) / p2.0, beta)
    } else {
        let alpha = (p2.1 - p1.1) / (p2.0 - p1.0);
        (alpha, p1.1 - p1.0 * alpha)
    }
}

/// libvmaf's piecewise-linear mapping: every segment whose closed range
/// holds `x` writes its value, so at a shared knot the later segment wins;
/// the first and last segments extend beyond the knots.
fn piecewise_linear(x: f64, knots: &[(f64, f64)]) -> f64 {
    let n_seg = knots.len() - 1;
    let mut y = 0.0;
    for idx in 0..n_seg {
        let (a, b) = (knots[idx], knots[idx + 1]);
        let inside = a.0 <= x && x <= b.0;
        let below = idx == 0 && x < a.0;
        let above = idx == n_seg - 1 && x > b.0;
        if a.1 == b.1 {
            if inside || below || above {
                y = a.1;
            }
        } else {
            let (slope, offset) = line_through(a, b);
            if inside || below || above {
                y = slope * x + offset;
            }
        }
    }
    y
}

/// Checks knots the way libvmaf's mapping does before using them.
pub fn check_knots(knots: &[(f64, f64)]) -> Result<(), String> {
    for w in knots.windows(2) {
        let (a, b) = (w[0], w[1]);
        if !(a.0 < b.0 && a.1 <= b.1) {
            return Err(format!(
                "knots must rise in x and not fall in y: [{}, {}] then [{}, {}]",
                a.0, a.1, b.0, b.1
            ));
        }
    }
    Ok(())
}

/// The v1 models' `chroma_correction_parameter`: when the (denormalised)
/// speed_chroma feature is exactly 0, it is replaced by a value derived
/// from adm3.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChromaCorrection {
    pub parameter: f64,
    /// Index of the feature whose name contains `adm3`.
    pub guiding: usize,
    /// Index of the feature whose name contains `speed_chroma`.
    pub guided: usize,
}

/// One SVR model of a file (a plain model, or one member of a collection).
#[derive(Clone, Debug)]
pub struct Submodel {
    pub model_type: ModelType,
    /// Feature names and options, in the model's order.
    pub features: Vec<crate::ModelFeature>,
    /// Where each feature's value sits in the owning model's feature list.
    pub slots: Vec<usize>,
    pub norm: Norm,
    /// `score_clip` bounds, when the file has them.
    pub clip: Option<(f64, f64)>,
    pub transform: Transform,
    pub chroma: Option<ChromaCorrection>,
    pub svm: Svm,
}

impl Submodel {
    /// The denormalised SVR output before transform and clip. `values` are
    /// the owning model's feature values (indexed through `slots`).
    pub fn raw(&self, values: &[f64]) -> f64 {
        let n = self.slots.len();
        let mut node = [0.0f64; MAX_FEATURES];
        for (k, &slot) in self.slots.iter().enumerate() {
            node[k] = self.norm.normalize(k, values[slot]);
        }
        if let Some(c) = self.chroma {
            let guided = self.norm.denormalize_feature(c.guided, node[c.guided]);
            if guided == 0.0 {
                let guiding = self.norm.denormalize_feature(c.guiding, node[c.guiding]);
                let corrected = (-c.parameter * guiding) + c.parameter;
                node[c.guided] = self.norm.normalize(c.guided, corrected);
            }
        }
        self.norm.denormalize(self.svm.predict(&node[..n]))
    }

    /// Applies the transform (when on) and the clip (when on), as libvmaf
    /// does after denormalising.
    pub fn finish(&self, y: f64, transform: bool, clip: bool) -> f64 {
        let mut y = y;
        if transform {
            y = self.transform.apply(y);
        }
        if clip {
            if let Some((lo, hi)) = self.clip {
                if y < lo {
                    y = lo;
                }
                if y > hi {
                    y = hi;
                }
            }
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomial_and_rectification() {
        let t = Transform {
            enabled: true,
            present: true,
            p0: Some(1.0),
            p1: Some(2.0),
            p2: Some(-0.5),
            out_gte_in: true,
            ..Default::default()
        };
        // 1 + 2*2 - 0.5*2*2 = 3 >= 2
        assert_eq!(t.apply(2.0), 3.0);
        // 1 + 20 - 50 = -29 < 10: rectified back up to the input
        assert_eq!(t.apply(10.0), 10.0);
        let lte = Transform {
            out_lte_in: true,
            out_gte_in: false,
            ..t.clone()
        };
        assert_eq!(lte.apply(2.0), 2.0);
        assert_eq!(lte.apply(10.0), -29.0);
        // only p1: no constant term
        let p1 = Transform {
            p1: Some(3.0),
            ..Default::default()
        };
        assert_eq!(p1.apply(2.0), 6.0);
        assert_eq!(Transform::default().apply(7.25), 7.25);
    }

    #[test]
    fn piecewise_mapping() {
        let knots = [(0.0, 0.0), (50.0, 40.0), (60.0, 40.0), (100.0, 100.0)];
        check_knots(&knots).unwrap();
        let t = Transform {
            knots: knots.to_vec(),
            ..Default::default()
        };
        assert_eq!(t.apply(25.0), 20.0);
        assert_eq!(t.apply(55.0), 40.0);
        assert_eq!(t.apply(80.0), 70.0);
        // beyond the knots the outer segments extend
        assert_eq!(t.apply(-10.0), -8.0);
        assert_eq!(t.apply(110.0), 115.0);
        // at a shared knot the later segment writes last
        assert_eq!(t.apply(50.0), 40.0);
        assert!(check_knots(&[(0.0, 0.0), (0.0, 1.0)]).is_err());
        assert!(check_knots(&[(0.0, 1.0), (1.0, 0.0)]).is_err());
        // a single knot leaves scores alone, as in libvmaf
        let one = Transform {
            knots: vec![(1.0, 2.0)],
            ..Default::default()
        };
        assert_eq!(one.apply(5.0), 5.0);
    }

    #[test]
    fn line_through_knots() {
        assert_eq!(line_through((0.0, 1.0), (2.0, 5.0)), (2.0, 1.0));
        assert_eq!(line_through((1.0, 1.0), (3.0, 5.0)), (2.0, -1.0));
    }
}
