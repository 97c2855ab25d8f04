//! C `printf` number formats that libvmaf's output and feature names use.
//!
//! Rust's `{:.N}` formats the exact binary value and rounds ties to even,
//! as glibc's `%.Nf` does, so `%.6f` needs no help; `%g` does.

/// C's `%g`: 6 significant digits, trailing zeros removed, exponent form
/// when the exponent is below -4 or at least 6.
pub fn format_g(v: f64) -> String {
    format_g_prec(v, 6)
}

/// C's `%.{prec}g` (a precision of 0 counts as 1, as in C): `prec`
/// significant digits, trailing zeros removed, exponent form when the
/// decimal exponent is below -4 or at least `prec`. Like glibc, it prints
/// the exact binary value correctly rounded (ties to even), so `%.17g`
/// round-trips every double. Non-finite values print as `nan` / `inf` /
/// `-inf`.
pub fn format_g_prec(v: f64, prec: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let p = prec.max(1);
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Round to `p` significant digits first: the exponent after rounding
    // decides the style, as in C.
    let e_form = format!("{v:.*e}", p - 1);
    let (mant, exp) = e_form.split_once('e').expect("exponent form has an 'e'");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if (-4..p as i32).contains(&exp) {
        let decimals = (p as i32 - 1 - exp) as usize;
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
    fn g_with_precision_matches_c() {
        // Expected strings are what glibc's printf prints.
        for (v, p, s) in [
            (0.936797123456789, 3, "0.937"),
            (0.936797123456789, 1, "0.9"),
            (4.640420, 3, "4.64"),
            (100.0, 2, "1e+02"),
            (99.96, 3, "100"),
            (99.96, 2, "1e+02"),
            (0.0001234, 2, "0.00012"),
            (0.00001234, 2, "1.2e-05"),
            (123456789.0, 17, "123456789"),
            (0.1, 17, "0.10000000000000001"),
            (1.0 / 3.0, 17, "0.33333333333333331"),
            (2.5, 1, "2"),
            (3.5, 1, "4"),
            (-0.0, 3, "-0"),
            (1e300, 17, "1.0000000000000001e+300"),
            (5e-324, 17, "4.9406564584124654e-324"),
            (0.5, 0, "0.5"),
        ] {
            assert_eq!(format_g_prec(v, p), s, "{v} %.{p}g");
        }
        // %.17g round-trips.
        for v in [0.1, 1.0 / 3.0, 52.803387123, 1e-7, 123.456e10, f64::MAX, f64::MIN_POSITIVE] {
            assert_eq!(format_g_prec(v, 17).parse::<f64>().unwrap(), v);
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
