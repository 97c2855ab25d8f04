//! C `printf` number formats that libvmaf's output and feature names use.
//!
//! Rust's `{:.N}` formats the exact binary value and rounds ties to even,
//! as glibc's `%.Nf` does, so `%.6f` needs no help; `%g` does.

/// C's `%g`: 6 significant digits, trailing zeros removed, exponent form
/// when the exponent is below -4 or at least 6.
pub fn format_g(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Round to 6 significant digits first: the exponent after rounding
    // decides the style, as in C.
    let e_form = format!("{v:.5e}");
    let (mant, exp) = e_form.split_once('e').expect("exponent form has an 'e'");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if (-4..6).contains(&exp) {
        let decimals = (5 - exp) as usize;
        strip_zeros(format!("{v:.decimals$}"))
    } else {
        let mant = strip_zeros(mant.to_owned());
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    }
}

fn strip_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// How many zeros follow the decimal point before the first non-zero digit
/// of `x`'s fractional part (0 when there is none). libvmaf prints a value
/// with `%.16f` instead of `%.6f` when this exceeds 6, so tiny values keep
/// their digits.
pub fn leading_fraction_zeros(x: f64) -> u32 {
    let x = x.abs();
    // C truncates through `int`; values beyond its range have no meaningful
    // fraction at f64 precision anyway.
    let int_part = if x < 2147483648.0 { (x as i32) as f64 } else { x };
    let mut frac = x - int_part;
    let mut n = 0;
    while frac < 1.0 && frac != 0.0 {
        frac *= 10.0;
        n += 1;
    }
    n
}

/// A finite value as libvmaf's writers print it: `%.6f`, or `%.16f` for
/// values whose fraction starts with more than six zeros.
pub fn format_score(x: f64) -> String {
    if leading_fraction_zeros(x) <= 6 {
        format!("{x:.6}")
    } else {
        format!("{x:.16}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_matches_c() {
        for (v, s) in [
            (1.0, "1"),
            (0.5, "0.5"),
            (100.0, "100"),
            (0.7, "0.7"),
            (1e-5, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (0.0001, "0.0001"),
            (0.19, "0.19"),
            (2160.0, "2160"),
            (-3.25, "-3.25"),
            (999999.5, "1e+06"),
            (0.000123456789, "0.000123457"),
        ] {
            assert_eq!(format_g(v), s, "{v}");
        }
    }

    #[test]
    fn fixed_rounds_like_glibc() {
        // exact binary ties round to even, as glibc does
        assert_eq!(format!("{:.2}", 0.125), "0.12");
        assert_eq!(format!("{:.2}", 0.375), "0.38");
        assert_eq!(format_score(80.680003), "80.680003");
        assert_eq!(format_score(1e-8), "0.0000000100000000");
        assert_eq!(format_score(0.0), "0.000000");
    }
}
