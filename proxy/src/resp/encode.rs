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
