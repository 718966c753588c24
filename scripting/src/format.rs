//! C's `printf("%.Ng")` for doubles, as Redis and its Lua libraries format numbers.
//!
//! Redis turns Lua numbers into command arguments with `%.17g` and `cjson` encodes them with
//! `%.14g`; Rust's formatter has no `%g`, so this module rebuilds it from the exact `{:e}`
//! rendering (both round the exact binary value half-to-even, so the digits agree).

/// Formats `value` like C's `%.{precision}g` (`precision` 0 is treated as 1, as C does).
pub fn format_g(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        }
        .to_owned();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let precision = precision.max(1);
    // `{:.*e}` gives "d.ddddde<exp>" with exactly `precision` significant digits.
    let sci = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let precision = i32::try_from(precision).unwrap_or(i32::MAX);
    if exponent < -4 || exponent >= precision {
        let mantissa = trim_fraction(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    } else {
        let decimals = usize::try_from(precision - 1 - exponent).unwrap_or(0);
        let fixed = format!("{value:.decimals$}");
        trim_fraction(&fixed).to_owned()
    }
}

/// Drops trailing zeros of a fraction and then a trailing '.', as `%g` does.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::format_g;

    #[test]
    fn matches_c_printf() {
        // Expected strings from C printf("%.17g") / ("%.14g").
        assert_eq!(format_g(0.1, 17), "0.10000000000000001");
        assert_eq!(format_g(3.0, 17), "3");
        assert_eq!(format_g(-2.5, 17), "-2.5");
        assert_eq!(format_g(1e17, 17), "1e+17");
        assert_eq!(format_g(1e16, 17), "10000000000000000");
        assert_eq!(format_g(0.0001, 14), "0.0001");
        assert_eq!(format_g(0.00001, 14), "1e-05");
        assert_eq!(format_g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(format_g(0.1 + 0.2, 14), "0.3");
        assert_eq!(format_g(-0.0, 14), "-0");
        assert_eq!(format_g(f64::INFINITY, 14), "inf");
        assert_eq!(format_g(1.5e300, 14), "1.5e+300");
    }
}
