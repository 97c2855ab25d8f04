//! The support vector machine inside a VMAF model: libsvm's text format (the
//! `model` string of a model file) and libsvm's regression prediction.
//!
//! VMAF scores must match libvmaf to the last printed digit, so prediction
//! repeats libsvm's arithmetic step for step: the kernel walks the sparse
//! feature lists in libsvm's merge order, and the weighted kernel values are
//! summed support vector by support vector, in file order, in `f64`, before
//! `rho` is subtracted. Any reordering (a dense dot product, a pairwise sum)
//! could move the last bits of a score.

use std::fmt;

/// Why a libsvm model text was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct SvmError(pub String);

impl fmt::Display for SvmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, SvmError> {
    Err(SvmError(msg.into()))
}

/// libsvm's kernels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kernel {
    Linear,
    Poly { gamma: f64, coef0: f64, degree: i32 },
    Rbf { gamma: f64 },
    Sigmoid { gamma: f64, coef0: f64 },
}

/// A parsed regression SVM (`nu_svr` or `epsilon_svr`; both predict the
/// same way).
#[derive(Clone, Debug)]
pub struct Svm {
    kernel: Kernel,
    rho: f64,
    /// Dual coefficient of each support vector.
    coef: Vec<f64>,
    /// Support vector `i` is `nodes[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    /// Sparse `(index, value)` entries of every support vector, as listed.
    nodes: Vec<(i32, f64)>,
}

/// Splits the header into whitespace-separated tokens, remembering where
/// each ends so the support vector lines can be found after `SV`.
struct Tokens<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let rest = &self.text[self.pos..];
        let start = rest.len() - rest.trim_start().len();
        let rest = &rest[start..];
        if rest.is_empty() {
            self.pos = self.text.len();
            return None;
        }
        let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        self.pos += start + len;
        Some(&rest[..len])
    }

    fn value<T: std::str::FromStr>(&mut self, key: &str) -> Result<T, SvmError> {
        match self.next() {
            Some(t) => t
                .parse()
                .or_else(|_| err(format!("bad value \"{t}\" for {key}"))),
            None => err(format!("missing value for {key}")),
        }
    }

    fn values<T: std::str::FromStr>(&mut self, key: &str, n: usize) -> Result<Vec<T>, SvmError> {
        (0..n).map(|_| self.value(key)).collect()
    }
}

impl Svm {
    /// Parses libsvm's model text: a header of `key value...` entries up to
    /// `SV`, then one line per support vector (`coef index:value ...`).
    pub fn parse(text: &str) -> Result<Svm, SvmError> {
        let mut t = Tokens { text, pos: 0 };
        let mut svm_type = None;
        let mut kernel_type = None;
        let (mut gamma, mut coef0, mut degree) = (0.0, 0.0, 3);
        let mut nr_class: Option<usize> = None;
        let mut total_sv: Option<usize> = None;
        let mut rho: Option<Vec<f64>> = None;
        let pairs = |nr_class: Option<usize>, key: &str| match nr_class {
            Some(n) => Ok(n * (n - 1) / 2),
            None => err(format!("{key} given before nr_class")),
        };
        loop {
            let Some(key) = t.next() else {
                return err("no \"SV\" section");
            };
            match key {
                "SV" => break,
                "svm_type" => svm_type = Some(t.value::<String>(key)?),
                "kernel_type" => kernel_type = Some(t.value::<String>(key)?),
                "degree" => degree = t.value(key)?,
                "gamma" => gamma = t.value(key)?,
                "coef0" => coef0 = t.value(key)?,
                "nr_class" => {
                    let n: usize = t.value(key)?;
                    if n < 2 {
                        return err(format!("nr_class {n}: a regression model has 2"));
                    }
                    nr_class = Some(n);
                }
                "total_sv" => total_sv = Some(t.value(key)?),
                "rho" => rho = Some(t.values(key, pairs(nr_class, key)?)?),
                // Classification and probability data: read and dropped,
                // regression prediction does not use them.
                "label" | "nr_sv" => {
                    let n =
                        nr_class.ok_or_else(|| SvmError(format!("{key} given before nr_class")))?;
                    t.values::<i64>(key, n)?;
                }
                "probA" | "probB" => {
                    t.values::<f64>(key, pairs(nr_class, key)?)?;
                }
                other => return err(format!("unknown header entry \"{other}\"")),
            }
        }

        match svm_type.as_deref() {
            Some("nu_svr" | "epsilon_svr") => {}
            Some(other) => {
                return err(format!(
                    "svm_type {other} is not a regression model (VMAF models are nu_svr)"
                ))
            }
            None => return err("missing svm_type"),
        }
        let kernel = match kernel_type.as_deref() {
            Some("linear") => Kernel::Linear,
            Some("polynomial") => Kernel::Poly {
                gamma,
                coef0,
                degree,
            },
            Some("rbf") => Kernel::Rbf { gamma },
            Some("sigmoid") => Kernel::Sigmoid { gamma, coef0 },
            Some(other) => return err(format!("unsupported kernel_type {other}")),
            None => return err("missing kernel_type"),
        };
        let nr_class = nr_class.ok_or_else(|| SvmError("missing nr_class".into()))?;
        let total_sv = total_sv.ok_or_else(|| SvmError("missing total_sv".into()))?;
        let rho = match rho.as_deref() {
            Some([r, ..]) => *r,
            _ => return err("missing rho"),
        };

        // The support vectors start on the line after the `SV` token.
        let rest = &text[t.pos..];
        let rest = rest.find('\n').map_or("", |i| &rest[i + 1..]);
        let mut lines = rest.lines();
        let mut svm = Svm {
            kernel,
            rho,
            coef: Vec::with_capacity(total_sv),
            starts: Vec::with_capacity(total_sv + 1),
            nodes: Vec::new(),
        };
        svm.starts.push(0);
        for i in 0..total_sv {
            let line = lines.next().ok_or_else(|| {
                SvmError(format!(
                    "total_sv is {total_sv} but only {i} support vectors follow"
                ))
            })?;
            let mut fields = line.split_whitespace();
            let bad = |what: &str| SvmError(format!("support vector {}: {what}", i + 1));
            // A regression model has one coefficient column (nr_class - 1 == 1);
            // only the first column takes part in regression.
            for c in 0..nr_class - 1 {
                let f = fields.next().ok_or_else(|| bad("missing coefficient"))?;
                let v: f64 = f
                    .parse()
                    .map_err(|_| bad(&format!("bad coefficient \"{f}\"")))?;
                if c == 0 {
                    svm.coef.push(v);
                }
            }
            for f in fields {
                let (idx, val) = f
                    .split_once(':')
                    .ok_or_else(|| bad(&format!("bad entry \"{f}\"")))?;
                let idx: i32 = idx
                    .parse()
                    .map_err(|_| bad(&format!("bad index in \"{f}\"")))?;
                let val: f64 = val
                    .parse()
                    .map_err(|_| bad(&format!("bad value in \"{f}\"")))?;
                if idx < 1 {
                    return Err(bad(&format!("feature index {idx} (indices start at 1)")));
                }
                svm.nodes.push((idx, val));
            }
            svm.starts.push(svm.nodes.len());
        }
        Ok(svm)
    }

    /// Number of support vectors.
    pub fn len(&self) -> usize {
        self.coef.len()
    }

    pub fn is_empty(&self) -> bool {
        self.coef.is_empty()
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// libsvm's regression output for a feature vector whose entry `k` has
    /// index `k + 1` (libvmaf always passes every feature, zeros included).
    pub fn predict(&self, x: &[f64]) -> f64 {
        let mut sum = 0.0;
        for (i, &c) in self.coef.iter().enumerate() {
            let sv = &self.nodes[self.starts[i]..self.starts[i + 1]];
            sum += c * self.k(x, sv);
        }
        sum - self.rho
    }

    fn k(&self, x: &[f64], sv: &[(i32, f64)]) -> f64 {
        match self.kernel {
            Kernel::Linear => dot(x, sv),
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => powi(gamma * dot(x, sv) + coef0, degree),
            Kernel::Rbf { gamma } => (-gamma * squared_distance(x, sv)).exp(),
            Kernel::Sigmoid { gamma, coef0 } => (gamma * dot(x, sv) + coef0).tanh(),
        }
    }
}

/// Sum of products over the indices both vectors have, in index order.
fn dot(x: &[f64], sv: &[(i32, f64)]) -> f64 {
    let mut sum = 0.0;
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < sv.len() {
        let xi = i as i32 + 1;
        let (yi, yv) = sv[j];
        if xi == yi {
            sum += x[i] * yv;
            i += 1;
            j += 1;
        } else if xi > yi {
            j += 1;
        } else {
            i += 1;
        }
    }
    sum
}

/// `|x - sv|^2`, accumulated in libsvm's merge order: an index present in
/// only one vector contributes its square where the walk meets it, and the
/// leftover tail of either vector comes last.
fn squared_distance(x: &[f64], sv: &[(i32, f64)]) -> f64 {
    let mut sum = 0.0;
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < sv.len() {
        let xi = i as i32 + 1;
        let (yi, yv) = sv[j];
        if xi == yi {
            let d = x[i] - yv;
            sum += d * d;
            i += 1;
            j += 1;
        } else if xi > yi {
            sum += yv * yv;
            j += 1;
        } else {
            sum += x[i] * x[i];
            i += 1;
        }
    }
    for &v in &x[i..] {
        sum += v * v;
    }
    for &(_, v) in &sv[j..] {
        sum += v * v;
    }
    sum
}

/// Integer power by squaring, multiplied in libsvm's order.
fn powi(base: f64, times: i32) -> f64 {
    let (mut tmp, mut ret) = (base, 1.0);
    let mut t = times;
    while t > 0 {
        if t % 2 == 1 {
            ret *= tmp;
        }
        tmp *= tmp;
        t /= 2;
    }
    ret
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOY: &str =
        "svm_type nu_svr\nkernel_type rbf\ngamma 0.5\nnr_class 2\ntotal_sv 2\nrho -0.25\nSV\n\
                       1.5 1:0.5 2:1 \n-2 2:0.25 3:2 \n";

    #[test]
    fn parses_header_and_vectors() {
        let s = Svm::parse(TOY).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.kernel(), Kernel::Rbf { gamma: 0.5 });
        assert_eq!(s.rho, -0.25);
        assert_eq!(s.coef, [1.5, -2.0]);
        assert_eq!(s.nodes, [(1, 0.5), (2, 1.0), (2, 0.25), (3, 2.0)]);
        assert_eq!(s.starts, [0, 2, 4]);
    }

    #[test]
    fn rbf_prediction_by_hand() {
        let s = Svm::parse(TOY).unwrap();
        let x = [1.0, 2.0];
        // SV1 has indices 1,2: (1-0.5)^2 + (2-1)^2 = 1.25.
        // SV2 has 2,3: x1^2 = 1, (2-0.25)^2 = 3.0625, then its tail 2^2 = 4.
        let k1 = (-0.5f64 * 1.25).exp();
        let k2 = (-0.5f64 * (1.0 + 3.0625 + 4.0)).exp();
        let want = 1.5 * k1 + -2.0 * k2 - -0.25;
        assert_eq!(s.predict(&x), want);
    }

    #[test]
    fn other_kernels_by_hand() {
        let body = "nr_class 2\ntotal_sv 1\nrho 0.5\nSV\n2 1:3 3:1\n";
        let x = [2.0, 5.0, 4.0];
        let lin = Svm::parse(&format!("svm_type epsilon_svr\nkernel_type linear\n{body}")).unwrap();
        assert_eq!(lin.predict(&x), 2.0 * 10.0 - 0.5);
        let poly = Svm::parse(&format!(
            "svm_type nu_svr\nkernel_type polynomial\ndegree 3\ngamma 0.5\ncoef0 1\n{body}"
        ))
        .unwrap();
        assert_eq!(poly.predict(&x), 2.0 * 216.0 - 0.5);
        let sig = Svm::parse(&format!(
            "svm_type nu_svr\nkernel_type sigmoid\ngamma 0.1\ncoef0 -1\n{body}"
        ))
        .unwrap();
        assert_eq!(sig.predict(&x), 2.0 * (0.1f64 * 10.0 - 1.0).tanh() - 0.5);
        assert_eq!(powi(1.5, 0), 1.0);
        assert_eq!(powi(-2.0, 5), -32.0);
    }

    #[test]
    fn rejects_broken_text() {
        for (text, why) in [
            (
                "svm_type c_svc\nkernel_type rbf\nnr_class 2\ntotal_sv 0\nrho 0\nSV\n",
                "regression",
            ),
            (
                "svm_type nu_svr\nkernel_type rbf\nnr_class 2\ntotal_sv 2\nrho 0\nSV\n1 1:1\n",
                "only 1",
            ),
            (
                "svm_type nu_svr\nkernel_type rbf\nnr_class 2\ntotal_sv 1\nrho 0\nSV\n1 1=1\n",
                "bad entry",
            ),
            (
                "svm_type nu_svr\nkernel_type rbf\nnr_class 2\ntotal_sv 1\nrho 0\nSV\nx 1:1\n",
                "coefficient",
            ),
            (
                "svm_type nu_svr\nkernel_type rbf\nnr_class 2\ntotal_sv 1\nrho 0\nSV\n1 0:1\n",
                "index 0",
            ),
            (
                "svm_type nu_svr\nkernel_type rbf\nrho 0\nnr_class 2\ntotal_sv 0\nSV\n",
                "before nr_class",
            ),
            (
                "svm_type nu_svr\nkernel_type rbf\nnr_class 2\ntotal_sv 0\nrho 0\n",
                "no \"SV\"",
            ),
            (
                "svm_type nu_svr\nkernel_type rbf\nbogus 1\nSV\n",
                "unknown header",
            ),
            (
                "svm_type nu_svr\nkernel_type rbf\ngamma abc\nSV\n",
                "bad value",
            ),
            (
                "svm_type nu_svr\nkernel_type precomputed\nnr_class 2\ntotal_sv 0\nrho 0\nSV\n",
                "kernel_type",
            ),
        ] {
            let e = Svm::parse(text).unwrap_err();
            assert!(e.0.contains(why), "{text:?}: {e}");
        }
    }
}
