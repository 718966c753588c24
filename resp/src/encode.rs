//! Reply encoding: [`Reply`] values (owned or straight from storaged's rkyv archive) to
//! RESP2 or RESP3 bytes.
//!
//! Owns the RESP3-to-RESP2 fallbacks and Redis's double formatting. It must not decide what
//! a command replies, do I/O, or fail: every reply value has an encoding.

use bytes::{BufMut, BytesMut};
use tandem_shared::reply::ArchivedReply;
use tandem_shared::Reply;

/// The RESP version a client speaks (`HELLO 2` / `HELLO 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Resp2,
    Resp3,
}

const CRLF: &[u8] = b"\r\n";

/// Encodes `reply` for a client speaking `proto`.
pub fn encode(reply: &Reply, proto: Protocol, out: &mut BytesMut) {
    match reply {
        Reply::Simple(text) => encode_simple(text, out),
        Reply::Error(text) => encode_error(text, out),
        Reply::Integer(n) => encode_integer(*n, out),
        Reply::Bulk(bytes) => encode_bulk(bytes, out),
        Reply::Nil => encode_null(proto, out),
        Reply::NilArray => encode_null_array(proto, out),
        Reply::Array(items) => {
            encode_array_len(items.len(), out);
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Map(pairs) => {
            encode_map_len(pairs.len(), proto, out);
            for (key, value) in pairs {
                encode(key, proto, out);
                encode(value, proto, out);
            }
        }
        Reply::Set(items) => {
            encode_set_len(items.len(), proto, out);
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Double(d) => encode_double(*d, proto, out),
        Reply::Bool(b) => encode_bool(*b, proto, out),
        Reply::Verbatim(text) => encode_verbatim(text, proto, out),
        Reply::Pairs(pairs) => {
            encode_pairs_len(pairs.len(), proto, out);
            for (first, second) in pairs {
                encode_pair_header(proto, out);
                encode(first, proto, out);
                encode(second, proto, out);
            }
        }
        Reply::BigNumber(digits) => encode_big_number(digits, proto, out),
        Reply::HumanDouble(text) => encode_human_double(text, proto, out),
        Reply::PairMap(pairs) => {
            encode_pair_map_len(pairs.len(), proto, out);
            for (key, value) in pairs {
                encode_pair_map_header(proto, out);
                encode(key, proto, out);
                encode(value, proto, out);
            }
        }
    }
}

/// Encodes a reply still in its rkyv archive, byte for byte as [`encode`] would.
pub fn encode_archived(reply: &ArchivedReply, proto: Protocol, out: &mut BytesMut) {
    match reply {
        ArchivedReply::Simple(text) => encode_simple(text.as_str(), out),
        ArchivedReply::Error(text) => encode_error(text.as_str(), out),
        ArchivedReply::Integer(n) => encode_integer(n.to_native(), out),
        ArchivedReply::Bulk(bytes) => encode_bulk(bytes.as_slice(), out),
        ArchivedReply::Nil => encode_null(proto, out),
        ArchivedReply::NilArray => encode_null_array(proto, out),
        ArchivedReply::Array(items) => {
            encode_array_len(items.len(), out);
            for item in items.iter() {
                encode_archived(item, proto, out);
            }
        }
        ArchivedReply::Map(pairs) => {
            encode_map_len(pairs.len(), proto, out);
            for pair in pairs.iter() {
                encode_archived(&pair.0, proto, out);
                encode_archived(&pair.1, proto, out);
            }
        }
        ArchivedReply::Set(items) => {
            encode_set_len(items.len(), proto, out);
            for item in items.iter() {
                encode_archived(item, proto, out);
            }
        }
        ArchivedReply::Double(d) => encode_double(d.to_native(), proto, out),
        ArchivedReply::Bool(b) => encode_bool(*b, proto, out),
        ArchivedReply::Verbatim(text) => encode_verbatim(text.as_slice(), proto, out),
        ArchivedReply::Pairs(pairs) => {
            encode_pairs_len(pairs.len(), proto, out);
            for pair in pairs.iter() {
                encode_pair_header(proto, out);
                encode_archived(&pair.0, proto, out);
                encode_archived(&pair.1, proto, out);
            }
        }
        ArchivedReply::BigNumber(digits) => encode_big_number(digits.as_str(), proto, out),
        ArchivedReply::HumanDouble(text) => encode_human_double(text.as_str(), proto, out),
        ArchivedReply::PairMap(pairs) => {
            encode_pair_map_len(pairs.len(), proto, out);
            for pair in pairs.iter() {
                encode_pair_map_header(proto, out);
                encode_archived(&pair.0, proto, out);
                encode_archived(&pair.1, proto, out);
            }
        }
    }
}

/// Header of a [`Reply::PairMap`]: a map of `n` in RESP3, an array of `n` pairs in RESP2.
fn encode_pair_map_len(n: usize, proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp2 => encode_array_len(n, out),
        Protocol::Resp3 => encode_map_len(n, proto, out),
    }
}

/// Each pair of a [`Reply::PairMap`] is its own 2-element array in RESP2 only.
fn encode_pair_map_header(proto: Protocol, out: &mut BytesMut) {
    if proto == Protocol::Resp2 {
        encode_array_len(2, out);
    }
}

/// Header of a [`Reply::Pairs`]: `n` two-element arrays in RESP3, `2n` flat items in RESP2.
fn encode_pairs_len(n: usize, proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp2 => encode_array_len(n * 2, out),
        Protocol::Resp3 => encode_array_len(n, out),
    }
}

/// Each pair of a [`Reply::Pairs`] is its own 2-element array in RESP3 only.
fn encode_pair_header(proto: Protocol, out: &mut BytesMut) {
    if proto == Protocol::Resp3 {
        encode_array_len(2, out);
    }
}

/// `+text\r\n`. CR/LF would desynchronise the client, so they become spaces.
pub fn encode_simple(text: &str, out: &mut BytesMut) {
    put_line(b'+', text.as_bytes(), out);
}

/// `-text\r\n`; `text` carries its own prefix (`ERR`, `WRONGTYPE` ...). CR/LF become spaces,
/// as Redis's error sanitizer does.
pub fn encode_error(text: &str, out: &mut BytesMut) {
    put_line(b'-', text.as_bytes(), out);
}

/// `:n\r\n`.
pub fn encode_integer(n: i64, out: &mut BytesMut) {
    put_prefixed_int(b':', n, out);
}

/// `$len\r\nbytes\r\n`.
pub fn encode_bulk(bytes: &[u8], out: &mut BytesMut) {
    out.reserve(bytes.len() + 16);
    put_prefixed_len(b'$', bytes.len(), out);
    out.put_slice(bytes);
    out.put_slice(CRLF);
}

/// Plain text: RESP3 verbatim string of format `txt`, or a bulk string in RESP2.
pub fn encode_verbatim(text: &[u8], proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp2 => encode_bulk(text, out),
        Protocol::Resp3 => {
            out.reserve(text.len() + 20);
            put_prefixed_len(b'=', text.len() + 4, out);
            out.put_slice(b"txt:");
            out.put_slice(text);
            out.put_slice(CRLF);
        }
    }
}

/// The null bulk string: `$-1` in RESP2, `_` in RESP3.
pub fn encode_null(proto: Protocol, out: &mut BytesMut) {
    out.put_slice(match proto {
        Protocol::Resp2 => b"$-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// The null array: `*-1` in RESP2, `_` in RESP3.
pub fn encode_null_array(proto: Protocol, out: &mut BytesMut) {
    out.put_slice(match proto {
        Protocol::Resp2 => b"*-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// `*n\r\n`; `n` elements must follow.
pub fn encode_array_len(n: usize, out: &mut BytesMut) {
    put_prefixed_len(b'*', n, out);
}

/// `%n\r\n` in RESP3, `*2n\r\n` in RESP2; `n` key/value pairs must follow.
pub fn encode_map_len(n: usize, proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp2 => put_prefixed_len(b'*', n.saturating_mul(2), out),
        Protocol::Resp3 => put_prefixed_len(b'%', n, out),
    }
}

/// `~n\r\n` in RESP3, `*n\r\n` in RESP2; `n` elements must follow.
pub fn encode_set_len(n: usize, proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp2 => put_prefixed_len(b'*', n, out),
        Protocol::Resp3 => put_prefixed_len(b'~', n, out),
    }
}

/// `>n\r\n` in RESP3, `*n\r\n` in RESP2: an out-of-band push (pub/sub messages).
pub fn encode_push_len(n: usize, proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp2 => put_prefixed_len(b'*', n, out),
        Protocol::Resp3 => put_prefixed_len(b'>', n, out),
    }
}

/// Redis's `addReplyDouble`: `,<d>\r\n` in RESP3, a bulk string in RESP2, formatted by
/// [`format_double`].
pub fn encode_double(d: f64, proto: Protocol, out: &mut BytesMut) {
    let text = format_double(d);
    match proto {
        Protocol::Resp2 => encode_bulk(text.as_bytes(), out),
        Protocol::Resp3 => {
            out.put_u8(b',');
            out.put_slice(text.as_bytes());
            out.put_slice(CRLF);
        }
    }
}

/// Redis's `addReplyBigNum`: `(digits\r\n` in RESP3, a bulk string in RESP2 (redis-server
/// 7.0.15 answers `EVAL "return {big_number='123'}" 0` with `(123` and `$3 123`). CR/LF
/// become spaces as on a status line; Redis's script conversion has already replaced them.
pub fn encode_big_number(digits: &str, proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp2 => encode_bulk(digits.as_bytes(), out),
        Protocol::Resp3 => put_line(b'(', digits.as_bytes(), out),
    }
}

/// Redis's `addReplyHumanLongDouble` (`GEOPOS`): the given text as `,text\r\n` in RESP3,
/// a bulk string in RESP2.
pub fn encode_human_double(text: &str, proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp2 => encode_bulk(text.as_bytes(), out),
        Protocol::Resp3 => put_line(b',', text.as_bytes(), out),
    }
}

/// `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
pub fn encode_bool(b: bool, proto: Protocol, out: &mut BytesMut) {
    out.put_slice(match (proto, b) {
        (Protocol::Resp2, true) => b":1\r\n",
        (Protocol::Resp2, false) => b":0\r\n",
        (Protocol::Resp3, true) => b"#t\r\n",
        (Protocol::Resp3, false) => b"#f\r\n",
    });
}

/// A request as a multibulk array of bulk strings, as clients send them.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut BytesMut) {
    encode_array_len(args.len(), out);
    for arg in args {
        encode_bulk(arg.as_ref(), out);
    }
}

/// Formats a double as Redis 7.0's `addReplyDouble` does: `inf`/`-inf`, otherwise C's
/// `%.17g` (17 significant digits, trailing zeros dropped, exponent form outside
/// `1e-4 <= |d| < 1e17`). So `0.1` is `0.10000000000000001` and `1e30` is `1e+30`.
///
/// Redis 7.2 switched to shortest round-trip digits; the installed reference server (7.0)
/// is what this matches. NaN prints as glibc does (`nan`/`-nan`); Redis never stores one.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` and glibc's printf both round the exact binary value correctly, so the
    // 17 digits agree; only the layout of %g has to be reproduced.
    let sci = format!("{:.16e}", d.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut out = String::with_capacity(26);
    if d.is_sign_negative() {
        out.push('-');
    }
    let push_digits = |out: &mut String, ds: &[u8]| out.extend(ds.iter().map(|&b| char::from(b)));
    if !(-4..17).contains(&exp) {
        let significant = trim_zeros(&digits);
        push_digits(&mut out, &significant[..1]);
        if significant.len() > 1 {
            out.push('.');
            push_digits(&mut out, &significant[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        if exp.abs() < 10 {
            out.push('0');
        }
        out.push_str(itoa::Buffer::new().format(exp.abs()));
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        push_digits(&mut out, &digits[..int_len]);
        let frac = trim_zeros(&digits[int_len..]);
        if !frac.is_empty() {
            out.push('.');
            push_digits(&mut out, frac);
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        push_digits(&mut out, trim_zeros(&digits));
    }
    out
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let end = digits.iter().rposition(|&b| b != b'0').map_or(0, |i| i + 1);
    &digits[..end]
}

/// `<prefix>text\r\n` with CR/LF in `text` turned into spaces.
fn put_line(prefix: u8, text: &[u8], out: &mut BytesMut) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    if memchr::memchr2(b'\r', b'\n', text).is_none() {
        out.put_slice(text);
    } else {
        out.extend(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    }
    out.put_slice(CRLF);
}

fn put_prefixed_int(prefix: u8, n: i64, out: &mut BytesMut) {
    let mut digits = itoa::Buffer::new();
    let text = digits.format(n).as_bytes();
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    out.put_slice(text);
    out.put_slice(CRLF);
}

fn put_prefixed_len(prefix: u8, n: usize, out: &mut BytesMut) {
    let mut digits = itoa::Buffer::new();
    let text = digits.format(n).as_bytes();
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    out.put_slice(text);
    out.put_slice(CRLF);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(reply: &Reply, proto: Protocol) -> String {
        let mut out = BytesMut::new();
        encode(reply, proto, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn both(reply: &Reply) -> (String, String) {
        (enc(reply, Protocol::Resp2), enc(reply, Protocol::Resp3))
    }

    fn bulk(s: &str) -> Reply {
        Reply::bulk(s)
    }

    #[test]
    fn scalars() {
        assert_eq!(both(&Reply::ok()), ("+OK\r\n".into(), "+OK\r\n".into()));
        assert_eq!(
            enc(&Reply::Error("ERR bad\r\nthing".into()), Protocol::Resp2),
            "-ERR bad  thing\r\n"
        );
        assert_eq!(
            enc(&Reply::Simple("a\nb".into()), Protocol::Resp3),
            "+a b\r\n"
        );
        assert_eq!(enc(&Reply::Integer(-42), Protocol::Resp2), ":-42\r\n");
        assert_eq!(
            enc(&Reply::Integer(i64::MIN), Protocol::Resp3),
            ":-9223372036854775808\r\n"
        );
        assert_eq!(enc(&bulk(""), Protocol::Resp2), "$0\r\n\r\n");
        assert_eq!(
            enc(&Reply::bulk(&b"a\r\nb"[..]), Protocol::Resp3),
            "$4\r\na\r\nb\r\n"
        );
    }

    #[test]
    fn resp3_shapes_and_their_resp2_fallbacks() {
        assert_eq!(both(&Reply::Nil), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(&Reply::NilArray), ("*-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(&Reply::Bool(true)), (":1\r\n".into(), "#t\r\n".into()));
        assert_eq!(
            both(&Reply::Verbatim(b"a:1".to_vec())),
            ("$3\r\na:1\r\n".into(), "=7\r\ntxt:a:1\r\n".into())
        );
        assert_eq!(
            both(&Reply::BigNumber("123".into())),
            ("$3\r\n123\r\n".into(), "(123\r\n".into())
        );
        assert_eq!(
            both(&Reply::BigNumber("12\n3".into())),
            ("$4\r\n12\n3\r\n".into(), "(12 3\r\n".into())
        );
        assert_eq!(
            both(&Reply::HumanDouble("13.36138933897018433".into())),
            (
                "$20\r\n13.36138933897018433\r\n".into(),
                ",13.36138933897018433\r\n".into()
            )
        );
        assert_eq!(
            both(&Reply::Bool(false)),
            (":0\r\n".into(), "#f\r\n".into())
        );
        assert_eq!(
            both(&Reply::Double(1.5)),
            ("$3\r\n1.5\r\n".into(), ",1.5\r\n".into())
        );
        assert_eq!(
            both(&Reply::Double(f64::INFINITY)),
            ("$3\r\ninf\r\n".into(), ",inf\r\n".into())
        );
        assert_eq!(
            both(&Reply::Double(f64::NEG_INFINITY)),
            ("$4\r\n-inf\r\n".into(), ",-inf\r\n".into())
        );
        assert_eq!(
            both(&Reply::Double(0.1)),
            (
                "$19\r\n0.10000000000000001\r\n".into(),
                ",0.10000000000000001\r\n".into()
            )
        );
        let map = Reply::Map(vec![
            (bulk("a"), Reply::Integer(1)),
            (bulk("b"), Reply::Nil),
        ]);
        assert_eq!(
            both(&map),
            (
                "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$-1\r\n".into(),
                "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n_\r\n".into()
            )
        );
        let pairs = Reply::Pairs(vec![(bulk("a"), Reply::Double(1.5))]);
        assert_eq!(
            both(&pairs),
            (
                "*2\r\n$1\r\na\r\n$3\r\n1.5\r\n".into(),
                "*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n".into()
            )
        );
        let pair_map = Reply::PairMap(vec![(bulk("s"), Reply::Array(vec![]))]);
        assert_eq!(
            both(&pair_map),
            (
                "*1\r\n*2\r\n$1\r\ns\r\n*0\r\n".into(),
                "%1\r\n$1\r\ns\r\n*0\r\n".into()
            )
        );
        let set = Reply::Set(vec![bulk("x")]);
        assert_eq!(
            both(&set),
            ("*1\r\n$1\r\nx\r\n".into(), "~1\r\n$1\r\nx\r\n".into())
        );
        let nested = Reply::Array(vec![
            Reply::Array(vec![]),
            Reply::Double(3.0),
            Reply::NilArray,
        ]);
        assert_eq!(
            both(&nested),
            (
                "*3\r\n*0\r\n$1\r\n3\r\n*-1\r\n".into(),
                "*3\r\n*0\r\n,3\r\n_\r\n".into()
            )
        );
    }

    #[test]
    fn helpers() {
        let mut out = BytesMut::new();
        encode_push_len(3, Protocol::Resp3, &mut out);
        encode_push_len(3, Protocol::Resp2, &mut out);
        encode_command(&["GET", "k"], &mut out);
        assert_eq!(&out[..], b">3\r\n*3\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }

    /// Outputs of `%.17g` (what Redis 7.0's `addReplyDouble` prints), by bit pattern.
    const DOUBLE_VECTORS: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "-0"),
        (0x3ff8000000000000, "1.5"),
        (0x46293e5939a08cea, "1e+30"),
        (0x3fb999999999999a, "0.10000000000000001"),
        (0x4008000000000000, "3"),
        (0x3ee4f8b588e368f1, "1.0000000000000001e-05"),
        (0x437b69b4ba630f35, "1.2345678901234568e+17"),
        (0x4376345785d8a000, "1e+17"),
        (0x4341c37937e08000, "10000000000000000"),
        (0x0000000000000001, "4.9406564584124654e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0x3f1a36e2eb1c432d, "0.0001"),
        (0x3f1a302cee759402, "9.9900000000000016e-05"),
        (0x3f1a36e2eb1c432d, "0.0001"),
        (0x3f202e4b6ce5dc68, "0.00012344999999999999"),
        (0x4376345785d8a000, "1e+17"),
        (0x437633c600f17600, "99990000000000000"),
        (0xc004000000000000, "-2.5"),
        (0x0010000000000000, "2.2250738585072014e-308"),
        (0x3fd5555555555555, "0.33333333333333331"),
        (0x3fe5555555555555, "0.66666666666666663"),
        (0x4059000000000000, "100"),
        (0x40934a456d5cfaad, "1234.5678"),
        (0x81a56e1fc2f8f359, "-1e-300"),
        (0x3fe0000000000000, "0.5"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3ee9cb8320b15070, "1.2300000000000001e-05"),
        (0x4011666666666666, "4.3499999999999996"),
        (0x430c6bf526340002, "1000000000000000.2"),
        (0xf2a74de452e6b438, "-1.989032661366619e+244"),
        (0x6513270e269e0d37, "7.761117632285041e+178"),
        (0x0c5c7fd0a6a3a450, "3.980498358697587e-249"),
        (0xd23f0824128b2f33, "-1.5432835417340557e+88"),
        (0x1818e811892f902b, "1.3647584518757569e-192"),
        (0x9531985d5d9dc9f8, "-1.3701135617873088e-206"),
        (0xe8e25d940ed90475, "-1.7160537630466207e+197"),
        (0x36f675cc81e74ef5, "6.2946752411953861e-44"),
        (0x1600a35a099950d8, "1.0613447212142254e-202"),
        (0x6b0d549b6f03675a, "4.7083251603875462e+207"),
        (0x3d9c172411e20b8f, "6.3870161585135632e-12"),
        (0x8d116ece1738f7d9, "-9.9731303785687331e-246"),
        (0x0f21ddb66cad4a26, "8.7797532256802712e-236"),
        (0x90c192cfd3ac94af, "-5.7955032484989932e-228"),
        (0xf28c105d1fb17c23, "-5.9881801593860111e+243"),
        (0xa170b33839263059, "-1.3060523885277959e-147"),
        (0x953f48f1a09f76b5, "-2.4361176994848409e-206"),
        (0x0fd630f1f29d0da9, "2.2333869991501741e-232"),
        (0x95e60af593bd04cf, "-3.5152797062666699e-203"),
        (0x0cb1e29c658cda14, "1.5987381841032883e-247"),
        (0x3898d190f9ebdacc, "4.6678633181812096e-36"),
        (0x8e81973e0becd7b0, "-8.4418727921054556e-239"),
        (0x2217beaddbc496cb, "1.9015657400796622e-144"),
        (0x6b4cb2424a23d596, "7.370437700706684e+208"),
        (0x8a6a63ec24ede6a4, "-1.7163996725272777e-258"),
        (0x922766581e27a1c0, "-3.2367190832119987e-221"),
        (0x8f6d05584ef8aa38, "-2.2818334634712625e-234"),
        (0xae97ba94d0eda82f, "-3.0536383926309363e-84"),
        (0x1a61dbe22e44158b, "1.3449551894627777e-181"),
        (0x923a736994e3bf91, "-7.3174959760626057e-221"),
        (0x301850c5a38fd547, "5.2498223088143036e-77"),
        (0x18f135d25f557203, "1.5450754142984396e-188"),
        (0xb64ce4228c38fb29, "-3.9536256982247919e-47"),
        (0x907a70c31012f037, "-2.7249126747649799e-229"),
        (0x9e7769b10f4205b4, "-6.5051418615487723e-162"),
        (0x7f15052434b9b5df, "1.4414848395559941e+304"),
        (0x881ed162ae2eb154, "-1.4583679262758548e-269"),
        (0xc6f877186d76b07e, "-7.9394166688077208e+33"),
        (0x7731af10506bf2ef, "1.4255183989699612e+266"),
        (0xec66a78795e761d1, "-1.5253157012324029e+214"),
        (0x5c90a9587403e430, "7.750545741548908e+137"),
        (0x3f98e2774cbd87ad, "0.024301399287089676"),
        (0x2e05319acb5c7427, "5.3269600817830169e-87"),
        (0xc7a2ea20b2f14c94, "-1.2570882301712172e+37"),
        (0x14f4733f3e7d1bfb, "9.9526840090024479e-208"),
        (0x4cdd2055930d6eaf, "1.8721667527122837e+62"),
        (0x7ebff20686734721, "3.4229783989470719e+302"),
        (0x57ee05cde00902c7, "3.6967297937384553e+115"),
        (0x72e6cc3ababced20, "3.1132849561694472e+245"),
        (0x9be4bcfc49b64a08, "-2.6202582260546103e-174"),
        (0x12bd4acefaecbd38, "2.0745096302730225e-218"),
        (0x830e07bc1e398f10, "-5.877500503097409e-294"),
        (0x2a3af4d46b0a18e8, "2.9383455973541661e-105"),
        (0x5790f82ec1d3fcff, "6.5295986747658322e+113"),
        (0xeeeacbe226e87555, "-1.9837344250050814e+226"),
        (0x6bf46c697d2caf82, "1.0743030475716402e+212"),
        (0xf646e1f40a097c97, "-5.629271400715247e+261"),
        (0x13deef86ab1031d0, "5.7433106149184849e-213"),
        (0x8ede0d7ac3baea9e, "-4.6151547070255599e-237"),
        (0xca02135e92b1d3f2, "-3.302201168194502e+48"),
        (0xd17f9acae01f5057, "-3.8373366379117136e+84"),
        (0x571242425051c1cc, "2.7444240984593666e+111"),
        (0x59a54a7bb1fee08f, "7.0372547696645247e+123"),
        (0x7f26144b98289fcd, "3.0282415270685036e+304"),
        (0xcc011cdd9474031b, "-1.3427313830183207e+58"),
        (0x119a72d174c9df6a, "7.1453650522518077e-224"),
        (0x17f5e837d70820fe, "3.0010119427191346e-193"),
        (0x451abd81f1d69ed6, "8.08174890787967e+24"),
        (0xb2715945795e8229, "-1.029599445714058e-65"),
        (0x10a3d6b2aa05e11a, "1.6356324386913733e-228"),
        (0xbb2d420f0f88080b, "-1.210084267904234e-23"),
        (0x4f426dcbb394fb36, "6.5122058598344157e+73"),
        (0x93f448b3a5aa3c81, "-1.5063173670565552e-212"),
        (0xae658f33fe3b890b, "-3.4680683343609559e-85"),
        (0x72158370d269a9a5, "3.5862982565236525e+241"),
        (0xb774eb5248db40af, "-1.500880737539812e-41"),
        (0xe315128862c33a4f, "-1.9881605394901064e+169"),
        (0x58d5563dab2cd31e, "8.6089299807627358e+119"),
        (0xf0ce583505c6af07, "-2.412056419517317e+235"),
        (0x5affb2297631a992, "2.1970596639627999e+130"),
        (0x9c6539382b0537e6, "-6.8648296141500026e-172"),
        (0x7e62aa0a1df9fd78, "6.2496465711118593e+300"),
        (0x37dc76fb0f17a300, "1.3070380624806793e-39"),
        (0x49952399c4aaeac1, "3.0170681842882087e+46"),
        (0xbd0561e6211c70cf, "-9.4957010010874352e-15"),
        (0x65dc9f503f63af83, "4.7507502047509849e+182"),
        (0xeab477d26415479c, "-1.0267710304426359e+206"),
        (0x7f1b103cdf1582b0, "1.8559166032057722e+304"),
        (0x2a96fb1a14a0f9e7, "1.6032007377980954e-103"),
        (0x66d2287672fdf202, "1.9751801151887592e+187"),
        (0x4720771f8ca81811, "4.2746428041772148e+34"),
        (0x230d977ee2257159, "7.7653871385137949e-140"),
        (0x6e36aab0d1bc52d9, "8.193439767873551e+222"),
        (0x8cdb305fdd2e1609, "-9.7215654460842523e-247"),
        (0xb4d66a3a47469a4d, "-3.6566096214330605e-54"),
        (0xfc891b4a6a50df4d, "-7.8294957456817992e+291"),
        (0xaec6f0245bd86d40, "-2.3614991605223492e-83"),
        (0x616499c9e25a7605, "1.4481396684332679e+161"),
        (0x3b1287fff52ddf5d, "3.8321725482165366e-24"),
        (0x153e7c2a26a2c0bd, "2.3738290563139491e-206"),
        (0x26bb7dbd2d1c9af0, "4.1586747791282524e-122"),
        (0xa8948c893b618676, "-3.337733639824717e-113"),
        (0x0316909e3bbbe9ea, "8.8327905439827136e-294"),
        (0xd4c28c2e7c26847f, "-2.0284108606212458e+100"),
        (0x2eae05cf96d0cc5f, "7.7271785554382585e-84"),
        (0x482c9cbc43435cc5, "4.8681216785982848e+39"),
        (0x254b0c4e010c4759, "4.8776212517061182e-129"),
        (0x88daf4016b4013ef, "-5.2243626508318762e-266"),
        (0x9c1caaf75e8766ed, "-2.8977267740353203e-173"),
        (0x519088f590fbbd11, "8.0305060980922437e+84"),
        (0x20203626f3fe39c0, "6.045556425707975e-154"),
        (0xdbf4a8b2b0c4312d, "-9.3848401234979093e+134"),
        (0xf341e07a83f73f16, "-1.5624204901097633e+247"),
        (0xa7abe1c29e1a8ef4, "-1.3820816268679183e-117"),
        (0xbd628881ad1b72db, "-5.2674604096931422e-13"),
        (0x74e69a5d0dd27a65, "1.3257208647146701e+255"),
        (0xdef88334e647cb8f, "-3.1343387564175544e+149"),
        (0xf3aed0b6c7ac1491, "-1.7236642596087033e+249"),
        (0xae3a2b7fdfe01893, "-5.2621550823053697e-86"),
        (0x8f2c6ec8cc4169a3, "-1.3972441246414233e-235"),
        (0xc10a46517d5f94c4, "-215242.18621746276"),
        (0xc069400000000000, "-202"),
        (0xc0e20b4ba32e7380, "-36954.363669610582"),
        (0xc068e33333333333, "-199.09999999999999"),
        (0xc12a683189607233, "-865304.76831395028"),
        (0xc082340000000000, "-582.5"),
        (0xc127cedec7adf52d, "-780143.38999906706"),
        (0x4069200000000000, "201"),
        (0xc12e80dadf554032, "-999533.4361972867"),
        (0xc085c80000000000, "-697"),
        (0x412b66d308c66cf4, "897897.51713886717"),
        (0x406c600000000000, "227"),
        (0x4126d8f1826e4856, "748664.75474763918"),
        (0x406c833333333333, "228.09999999999999"),
        (0x4110684ca0d661c0, "268819.1570678018"),
        (0x408c777ced916873, "910.93600000000004"),
        (0xc11094e47bd8988a, "-271673.12094343512"),
        (0xc087928638c97529, "-754.31553799999995"),
        (0xc0d74df8718714a0, "-23863.881929178373"),
        (0x408ddd2b020c49ba, "955.64599999999996"),
        (0xc0df92abfa8d3b20, "-32330.687167461147"),
        (0xc089e00000000000, "-828"),
        (0x411e7a4f5d10ebd4, "499347.84088486177"),
        (0x407e0b3b645a1cac, "480.702"),
        (0x4124125d83324c62, "657710.75624312111"),
        (0xc085280000000000, "-677"),
        (0xc121fe03f9233b38, "-589569.98659691866"),
        (0x408c4051eb851eb8, "904.03999999999996"),
        (0xc12591d5d82ad636, "-706794.92220181855"),
        (0x4055800000000000, "86"),
        (0x411f82f7ad212d70, "516285.91907187458"),
        (0xc0793d21426fe719, "-403.82062000000002"),
        (0x41262cf41f044146, "726650.06057933788"),
        (0x4078863d70a3d70a, "392.38999999999999"),
        (0x40e1f736db435e40, "36793.714265522081"),
        (0x40898428f5c28f5c, "816.51999999999998"),
        (0x41209907a2342460, "543875.81680406258"),
        (0x40504bd3ae685db7, "65.184794999999994"),
        (0x40b5120be4303f80, "5394.0464506297139"),
        (0x40710e2474538ef3, "272.88389999999998"),
        (0x4123035cfcb237a0, "623022.49354718998"),
        (0x408e4ed11a543f1c, "969.85210099999995"),
        (0xc1229b57e10aa0b6, "-609707.9395342085"),
        (0xc08049cccccccccd, "-521.22500000000002"),
        (0x411d480829babe10, "479746.04075142834"),
        (0xc081142b020c49ba, "-546.52099999999996"),
        (0xc0cc322836caaec0, "-14436.31417211087"),
        (0x407ce00000000000, "462"),
        (0x4121b5088be93d44, "580228.27326384978"),
        (0xc04bc00000000000, "-55.5"),
        (0x4117804f889a1304, "385043.88340024673"),
        (0x408c883d70a3d70a, "913.02999999999997"),
        (0x4122d556f8a01e9a, "617131.48559661512"),
        (0x407be428f5c28f5c, "446.25999999999999"),
        (0x412bc5628679197c, "910001.26264266623"),
        (0xc070eb3333333333, "-270.69999999999999"),
        (0xc128484b69087118, "-795685.70514253061"),
        (0xc04deb851eb851ec, "-59.840000000000003"),
        (0xc1220b2a8c01515b, "-591253.27344755398"),
        (0x406f043fe5c91d15, "248.1328"),
        (0x4124c74e1bef1a26, "680871.05455857958"),
        (0xc04486cd9e83e426, "-41.053150000000002"),
        (0xc1130ac8c8c06442, "-311986.19604641583"),
        (0x4071e44254a3c643, "286.26619399999998"),
        (0x41139a4d339e9fa0, "321171.30040978827"),
        (0x40899c6f27bb2fec, "819.55427499999996"),
        (0x4119d127de76fc74, "422985.96725077112"),
        (0xc082cb3333333333, "-601.39999999999998"),
        (0xc10021aec9bc6124, "-132149.84850383655"),
        (0x4071000000000000, "272"),
        (0x41225c5e468cdaac, "601647.13779338216"),
        (0x408d7a851eb851ec, "943.31500000000005"),
        (0xc0f1fceeb6e554c0, "-73678.919652300887"),
        (0x407e700000000000, "487"),
        (0x411b70f55338080c, "449597.33126843045"),
        (0xc084a00000000000, "-660"),
        (0xc12cd60c98dfc8a8, "-944902.298582335"),
        (0x4066b40000000000, "181.625"),
        (0x4122b517ed99d918, "613003.96406439226"),
        (0xc0861d36084a515d, "-707.65138300000001"),
        (0x410767e419b623e0, "191740.51255443599"),
        (0xc049a51eb851eb85, "-51.289999999999999"),
        (0xc125005e4c0d05fb, "-688175.14853686036"),
        (0x4058400000000000, "97"),
        (0xc12da5f43f540180, "-971514.12368778884"),
        (0x408d6e3e28240b78, "941.78035"),
        (0xc1283eafc92fa57c, "-794455.89294163836"),
        (0x407f300000000000, "499"),
        (0xc10028e9030a9530, "-132381.12648502877"),
        (0x40873be308787486, "743.48585600000001"),
        (0x4126d24b68d8312a, "747813.70477441442"),
        (0xc08d800000000000, "-944"),
        (0xc11945cac754d614, "-414066.69465956208"),
        (0xc080375e9e1b089a, "-518.9212"),
        (0xc1153dd58968db38, "-348021.38418905763"),
        (0x40562d276b7ed41b, "88.705530999999993"),
        (0xc12684794b42abbe, "-737852.64699303336"),
        (0x4089a03d70a3d70a, "820.02999999999997"),
        (0x41284620013bb87e, "795408.00240875757"),
        (0x40744f31cfbb9496, "324.94966099999999"),
        (0x4128ad2319218c6a, "808593.54908407968"),
        (0xc063d7cac083126f, "-158.74350000000001"),
        (0xc1268952f6c2e785, "-738473.48195575236"),
        (0xc085c29e1b089a02, "-696.32719999999995"),
        (0xc12d603c8743cd34, "-962590.26418915996"),
        (0xc05df33333333333, "-119.8"),
        (0x410a80aa392538f0, "217109.27790302737"),
        (0x408140cccccccccd, "552.10000000000002"),
        (0xc123ff9526b18485, "-655306.57557310222"),
        (0xc04a81cf56eac860, "-53.014139999999998"),
        (0xc1272c3d8e15e230, "-759326.7775107082"),
        (0xc08b63ea5a469d73, "-876.48942999999997"),
        (0x40e1eb2d9ced32c0, "36697.425406073686"),
        (0x405bb88f5c28f5c3, "110.88375000000001"),
        (0x4120e02866ee5eb4, "552980.20103736827"),
        (0x4087f00000000000, "766"),
        (0xc11eb38d6e80f5df, "-503011.35791382001"),
        (0xc07be2a75bc44bf5, "-446.16585900000001"),
        (0xc1288d3ae81edf02, "-804509.45336052799"),
        (0xc058000000000000, "-96"),
    ];

    #[test]
    fn format_double_matches_printf_17g() {
        for &(bits, expected) in DOUBLE_VECTORS {
            let d = f64::from_bits(bits);
            assert_eq!(format_double(d), expected, "{d:e}");
        }
    }

    #[test]
    fn format_double_matches_redis_server() {
        // Observed with redis-server 7.0.15: ZADD then ZSCORE.
        for (d, expected) in [
            (1.5, "1.5"),
            (1e30, "1e+30"),
            (0.1, "0.10000000000000001"),
            (3.0, "3"),
            (1e-5, "1.0000000000000001e-05"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0, "0"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(format_double(d), expected);
        }
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(f64::NAN), "nan");
    }

    fn reply() -> impl Strategy<Value = Reply> {
        let leaf = prop_oneof![
            ".{0,8}".prop_map(Reply::Simple),
            ".{0,8}".prop_map(Reply::Error),
            any::<i64>().prop_map(Reply::Integer),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(Reply::Bulk),
            Just(Reply::Nil),
            Just(Reply::NilArray),
            any::<f64>().prop_map(Reply::Double),
            any::<bool>().prop_map(Reply::Bool),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(Reply::Verbatim),
            ".{0,8}".prop_map(Reply::BigNumber),
            "[0-9.-]{0,8}".prop_map(Reply::HumanDouble),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Reply::Array),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..4)
                    .prop_map(Reply::Map),
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Reply::Set),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..4)
                    .prop_map(Reply::Pairs),
                proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Reply::PairMap),
            ]
        })
    }

    proptest! {
        #[test]
        fn archived_encoding_matches_owned(reply in reply()) {
            let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&reply).unwrap();
            let archived = rkyv::access::<ArchivedReply, rkyv::rancor::Error>(&bytes).unwrap();
            for proto in [Protocol::Resp2, Protocol::Resp3] {
                let mut owned = BytesMut::new();
                encode(&reply, proto, &mut owned);
                let mut from_archive = BytesMut::new();
                encode_archived(archived, proto, &mut from_archive);
                prop_assert_eq!(&owned[..], &from_archive[..]);
            }
        }

        #[test]
        fn format_double_round_trips(d in any::<f64>().prop_filter("finite", |d| d.is_finite())) {
            let text = format_double(d);
            prop_assert_eq!(text.parse::<f64>().ok(), Some(d), "{}", text);
        }
    }
}
