//! What a parser is given: a cursor over one command's arguments ([`Args`]) and the
//! [`ParseCtx`] (clock, limits, database), plus the Redis number parsing they share.
//! Parsers take arguments through the cursor and call [`Args::finish`], so no parser does
//! index arithmetic and leftover arguments are a syntax error in one place.

use bytes::Bytes;
use tandem_shared::Command;

use crate::error::CommandError;

/// What parsing needs to know beyond the arguments.
#[derive(Debug, Clone, Copy)]
pub struct ParseCtx {
    /// Current unix time in milliseconds, for turning `EX`/`PX`/`EXPIRE` into absolute times.
    pub now_ms: i64,
    /// `proto-max-bulk-len`: the largest string `SETRANGE`/`APPEND` may build.
    pub proto_max_bulk_len: u64,
    /// The client's selected database.
    pub db: u8,
}

/// Turns validated-arity arguments (after the name) into a typed command.
pub type StorageParser = fn(&mut Args, &ParseCtx) -> Result<Command, CommandError>;

/// The arguments after the command name.
#[derive(Debug)]
pub struct Args {
    items: std::vec::IntoIter<Bytes>,
}

impl Args {
    /// Wraps the arguments that follow the command name.
    pub fn new(args: Vec<Bytes>) -> Args {
        Args {
            items: args.into_iter(),
        }
    }

    /// Arguments not yet taken.
    pub fn remaining(&self) -> usize {
        self.items.len()
    }

    /// Next argument as raw bytes.
    ///
    /// # Errors
    /// `Syntax` when none is left (arity is checked centrally, so this means a bad option
    /// combination such as `SET k v EX` with no number).
    pub fn next_bytes(&mut self) -> Result<Bytes, CommandError> {
        self.items.next().ok_or(CommandError::Syntax)
    }

    /// Next argument as an owned byte vector (the form `Command` fields take).
    ///
    /// # Errors
    /// As [`Args::next_bytes`].
    pub fn next_vec(&mut self) -> Result<Vec<u8>, CommandError> {
        self.next_bytes().map(|b| b.to_vec())
    }

    /// Next argument parsed as a Redis integer (`string2ll` rules: optional `-`, no `+`,
    /// no leading zeros, no spaces, fits in i64).
    ///
    /// # Errors
    /// `Syntax` when absent, `NotInteger` when malformed.
    pub fn next_i64(&mut self) -> Result<i64, CommandError> {
        let b = self.next_bytes()?;
        parse_i64(&b).ok_or(CommandError::NotInteger)
    }

    /// Next argument parsed as a Redis float (`strtold` rules, `inf`/`-inf` accepted, NaN
    /// refused).
    ///
    /// # Errors
    /// `Syntax` when absent, `NotFloat` when malformed.
    pub fn next_f64(&mut self) -> Result<f64, CommandError> {
        let b = self.next_bytes()?;
        parse_f64(&b).ok_or(CommandError::NotFloat)
    }

    /// Looks at the next argument without taking it.
    pub fn peek(&self) -> Option<&Bytes> {
        self.items.as_slice().first()
    }

    /// Takes the next argument if it equals `word` case-insensitively.
    pub fn eat(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(b) if b.eq_ignore_ascii_case(word.as_bytes()) => {
                self.items.next();
                true
            }
            _ => false,
        }
    }

    /// Takes every remaining argument.
    pub fn rest(&mut self) -> Vec<Bytes> {
        self.items.by_ref().collect()
    }

    /// Takes every remaining argument as owned bytes (member and key lists).
    pub fn rest_vecs(&mut self) -> Vec<Vec<u8>> {
        self.items.by_ref().map(|b| b.to_vec()).collect()
    }

    /// The one argument of a `CMD key` command.
    ///
    /// # Errors
    /// `Syntax` if more arguments follow.
    pub fn single_key(&mut self) -> Result<Vec<u8>, CommandError> {
        let key = self.next_vec()?;
        self.expect_end()?;
        Ok(key)
    }

    /// Ends parsing.
    ///
    /// # Errors
    /// `Syntax` if arguments are left over.
    pub fn finish(self) -> Result<(), CommandError> {
        if self.items.len() == 0 {
            Ok(())
        } else {
            Err(CommandError::Syntax)
        }
    }
}

impl Args {
    /// [`Args::finish`] for a borrowed cursor: parsers receive `&mut Args`.
    ///
    /// # Errors
    /// `Syntax` if arguments are left over.
    pub fn expect_end(&self) -> Result<(), CommandError> {
        if self.items.len() == 0 {
            Ok(())
        } else {
            Err(CommandError::Syntax)
        }
    }
}

/// The `numkeys key [key …]` of `LMPOP`/`ZMPOP` (and their blocking forms).
///
/// # Errors
/// `ERR numkeys should be greater than 0` for a non-positive or non-integer count, `Syntax`
/// when fewer keys follow.
pub fn mpop_keys(args: &mut Args) -> Result<Vec<Vec<u8>>, CommandError> {
    let n = parse_i64(&args.next_bytes()?)
        .filter(|&n| n > 0)
        .ok_or_else(|| CommandError::err("numkeys should be greater than 0"))?;
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n <= args.remaining())
        .ok_or(CommandError::Syntax)?;
    (0..n).map(|_| args.next_vec()).collect()
}

/// `MIN` or `MAX` of `ZMPOP`/`BZMPOP`, any case.
///
/// # Errors
/// `Syntax` for anything else.
pub fn min_max(args: &mut Args) -> Result<tandem_shared::command::ZEnd, CommandError> {
    use tandem_shared::command::ZEnd;
    if args.eat("MIN") {
        Ok(ZEnd::Min)
    } else if args.eat("MAX") {
        Ok(ZEnd::Max)
    } else {
        Err(CommandError::Syntax)
    }
}

/// The tail of `LMPOP`/`ZMPOP`: an optional, single `COUNT n` with `n > 0` (default 1).
///
/// # Errors
/// `ERR count should be greater than 0`, or `Syntax` for anything else left over.
pub fn mpop_count(args: &mut Args) -> Result<u64, CommandError> {
    let mut count = None;
    while args.remaining() > 0 {
        if count.is_none() && args.remaining() >= 2 && args.eat("COUNT") {
            count = Some(
                parse_i64(&args.next_bytes()?)
                    .filter(|&c| c > 0)
                    .and_then(|c| u64::try_from(c).ok())
                    .ok_or_else(|| CommandError::err("count should be greater than 0"))?,
            );
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(count.unwrap_or(1))
}

/// The tail of `SINTERCARD`/`ZINTERCARD`: `[LIMIT n]`, repeatable (the last wins), `n >= 0`;
/// 0 means no limit.
///
/// # Errors
/// `ERR LIMIT can't be negative`, or `Syntax` for anything else left over.
pub fn intercard_limit(args: &mut Args) -> Result<u64, CommandError> {
    let mut limit = 0;
    while args.remaining() > 0 {
        if args.remaining() >= 2 && args.eat("LIMIT") {
            limit = parse_i64(&args.next_bytes()?)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| CommandError::err("LIMIT can't be negative"))?;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(limit)
}

/// Parses an integer the way Redis's `string2ll` does.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = i64::from(c - b'0');
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// Parses a float the way Redis's `string2ld`/`strtold` does for command arguments:
/// surrounding spaces refused, `inf`, `+inf`, `-inf` (any case) accepted, NaN refused.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    // C's strtod (which Redis uses) reads hex floats such as `0x1p3`.
    let unsigned = lower.strip_prefix(['-', '+']).unwrap_or(&lower);
    if let Some(hex) = unsigned.strip_prefix("0x") {
        let v = parse_hex_float(hex.as_bytes())?;
        return Some(if lower.starts_with('-') { -v } else { v });
    }
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts "nan"/"inf" spellings and "1e5"; refuse NaN explicitly and
            // hex floats are not accepted by Rust either, which matches Redis closely enough.
            let v: f64 = lower.parse().ok()?;
            if v.is_nan() {
                return None;
            }
            v
        }
    };
    Some(v)
}

/// The part of a C hex float after `0x`: hex digits with an optional point, then an
/// optional binary exponent `p[+-]digits`.
pub fn parse_hex_float(b: &[u8]) -> Option<f64> {
    let (mantissa, exp) = match b.iter().position(|&c| c == b'p' || c == b'P') {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let mut value = 0f64;
    let mut scale: i64 = 0;
    let mut seen_point = false;
    let mut digits = 0usize;
    for &c in mantissa {
        if c == b'.' && !seen_point {
            seen_point = true;
            continue;
        }
        let d = char::from(c).to_digit(16)?;
        value = value * 16.0 + f64::from(d);
        digits += 1;
        if seen_point {
            scale -= 4;
        }
    }
    if digits == 0 {
        return None;
    }
    if let Some(exp) = exp {
        let (eneg, edigits) = match exp.first() {
            Some(b'-') => (true, &exp[1..]),
            Some(b'+') => (false, &exp[1..]),
            _ => (false, exp),
        };
        if edigits.is_empty() || !edigits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Saturate: any exponent this large already over- or underflows an f64.
        let e = std::str::from_utf8(edigits)
            .ok()?
            .parse::<i64>()
            .unwrap_or(100_000);
        scale += if eneg { -e } else { e };
    }
    let scale = i32::try_from(scale.clamp(-100_000, 100_000)).ok()?;
    let v = value * 2f64.powi(scale);
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1.0",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn floats_follow_strtold() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+INF"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"-0X.8"), Some(-0.5));
        assert_eq!(parse_f64(b"0x1p3"), Some(8.0));
        assert_eq!(parse_f64(b"0x"), None);
        for bad in [&b""[..], b"nan", b" 1", b"abc", b"1.0x"] {
            assert_eq!(parse_f64(bad), None);
        }
    }

    #[test]
    fn cursor_eats_options_and_refuses_leftovers() {
        let mut a = Args::new(vec![Bytes::from_static(b"ex"), Bytes::from_static(b"10")]);
        assert!(a.eat("EX"));
        assert_eq!(a.next_i64(), Ok(10));
        assert!(a.finish().is_ok());
        let a = Args::new(vec![Bytes::from_static(b"x")]);
        assert_eq!(a.finish(), Err(CommandError::Syntax));
    }
}
