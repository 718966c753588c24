//! Client request decoding: multibulk (`*N\r\n$len\r\n...`) and inline commands.
//!
//! Owns the byte-level rules of Redis's `processMultibulkBuffer` / `processInlineBuffer`
//! (Redis 7.0 `networking.c`): what counts as complete, what is skipped, and the exact
//! protocol-error texts. It must not do I/O, look at command names, or allocate from a
//! length the client claims but has not sent yet.
//!
//! Arguments are zero-copy: a finished command is split off the read buffer and each
//! argument is a [`Bytes`] slice of it. Inline arguments with quotes or escapes are the only
//! ones that are copied.
//!
//! Deliberate deviations from Redis, both about NUL bytes (Redis scans with `strchr`):
//! a NUL before a header's `\r` makes Redis wait for more input until the 64 KiB limit, where
//! we report the malformed header at once; in an inline line Redis also waits, where we end
//! the line at the NUL as `sdssplitargs` would.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use crate::ProtocolError;

/// `PROTO_INLINE_MAX_SIZE`: the longest inline line or unfinished header line.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Redis's default `proto-max-bulk-len`.
pub const DEFAULT_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;
/// Redis 7 accepts any multibulk count up to `INT_MAX` (6.x capped it at 1024*1024).
pub const DEFAULT_MAX_MULTIBULK_LEN: u64 = i32::MAX as u64;

/// Before authentication Redis refuses longer requests (CVE-2021-32675).
const UNAUTH_MAX_MULTIBULK_LEN: i64 = 10;
const UNAUTH_MAX_BULK_LEN: i64 = 16 * 1024;

/// How much argument bookkeeping to keep between commands; a rare huge command should not
/// pin its index memory for the life of the connection.
const KEEP_RANGES_CAPACITY: usize = 4096;

/// Request size limits, checked before anything is allocated for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `proto-max-bulk-len`: largest single argument.
    pub max_bulk_len: u64,
    /// Largest `*N` argument count.
    pub max_multibulk_len: u64,
    /// Longest inline request line, and longest unfinished `*`/`$` header line.
    pub max_inline_len: usize,
    /// The client must still `AUTH`: Redis then caps `*N` at 10 and `$len` at 16384.
    pub auth_required: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_multibulk_len: DEFAULT_MAX_MULTIBULK_LEN,
            max_inline_len: PROTO_INLINE_MAX_SIZE,
            auth_required: false,
        }
    }
}

/// Decodes one command from the front of `buf`, without keeping state between calls.
///
/// Returns the command (name and arguments) and removes its bytes, or `Ok(None)` when more
/// input is needed. Empty inline lines and `*0`/negative counts are consumed and skipped.
/// A partial command is re-examined from its start on the next call; a connection should
/// prefer a long-lived [`Decoder`], which resumes where it stopped.
pub fn decode_command(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    Decoder::new().decode(buf, limits)
}

/// An incremental request decoder for one connection.
///
/// It remembers how far the pending command has been validated, so a large request arriving
/// in many reads is scanned once. Between calls the caller may only append to `buf`.
#[derive(Debug, Default)]
pub struct Decoder {
    state: State,
    /// `(offset, len)` of each complete argument of the pending multibulk command.
    ranges: Vec<(usize, usize)>,
}

#[derive(Debug, Default, Clone, Copy)]
enum State {
    #[default]
    Idle,
    /// A multibulk command starting at `buf[0]`, whose header and `ranges` end at `pos`.
    Multibulk {
        remaining: usize,
        pos: usize,
        /// Length of the argument whose `$len` line ends at `pos`, if parsed.
        bulk: Option<usize>,
    },
    /// An inline line starting at `buf[0]`, with no `\n` in `buf[..scanned]`.
    Inline { scanned: usize },
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// As [`decode_command`], resuming the command left incomplete by the previous call.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let result = self.decode_inner(buf, limits);
        if result.is_err() {
            self.reset();
        }
        result
    }

    /// Forgets any partial command, e.g. after the caller replaced its buffer.
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.ranges.clear();
    }

    fn decode_inner(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            match self.state {
                State::Idle => {
                    self.ranges.clear();
                    let Some(&first) = buf.first() else {
                        return Ok(None);
                    };
                    if first != b'*' {
                        self.state = State::Inline { scanned: 0 };
                        continue;
                    }
                    let Some((count, header_len)) = multibulk_header(buf, limits)? else {
                        return Ok(None);
                    };
                    if count == 0 {
                        buf.advance(header_len);
                    } else {
                        // The header stays in `buf` until the command is complete, so a
                        // stateless caller that gets `None` has lost nothing.
                        self.state = State::Multibulk {
                            remaining: count,
                            pos: header_len,
                            bulk: None,
                        };
                    }
                }
                State::Multibulk {
                    remaining,
                    pos,
                    bulk,
                } => return self.multibulk_args(buf, limits, remaining, pos, bulk),
                State::Inline { scanned } => {
                    let Some(args) = self.inline(buf, limits, scanned)? else {
                        return Ok(None);
                    };
                    self.state = State::Idle;
                    if !args.is_empty() {
                        return Ok(Some(args));
                    }
                }
            }
        }
    }

    fn multibulk_args(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        mut remaining: usize,
        mut pos: usize,
        mut bulk: Option<usize>,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if pos > buf.len() {
            // The caller broke the append-only contract; starting over beats slicing out of
            // bounds, and the bytes we would misparse are the caller's problem already.
            self.reset();
            return Err(invalid("invalid bulk length"));
        }
        while remaining > 0 {
            let len = match bulk {
                Some(len) => len,
                None => {
                    let Some((len, header_len)) = bulk_header(&buf[pos..], limits)? else {
                        break;
                    };
                    pos += header_len;
                    bulk = Some(len);
                    len
                }
            };
            // The argument and its trailing CRLF, which Redis skips without checking.
            // `len` is bounded by `max_bulk_len`, but a caller could configure u64::MAX.
            if buf.len() - pos < len.saturating_add(2) {
                break;
            }
            self.ranges.push((pos, len));
            pos += len + 2;
            remaining -= 1;
            bulk = None;
        }
        if remaining > 0 {
            self.state = State::Multibulk {
                remaining,
                pos,
                bulk,
            };
            return Ok(None);
        }
        self.state = State::Idle;
        let frame = buf.split_to(pos).freeze();
        let args = self
            .ranges
            .iter()
            .map(|&(start, len)| frame.slice(start..start + len))
            .collect();
        self.ranges.clear();
        if self.ranges.capacity() > KEEP_RANGES_CAPACITY {
            self.ranges = Vec::new();
        }
        Ok(Some(args))
    }

    fn inline(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        scanned: usize,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let from = scanned.min(buf.len());
        let Some(newline) = memchr(b'\n', &buf[from..]).map(|i| i + from) else {
            if buf.len() > limits.max_inline_len {
                return Err(invalid("too big inline request"));
            }
            self.state = State::Inline { scanned: buf.len() };
            return Ok(None);
        };
        let mut end = newline;
        if end > 0 && buf[end - 1] == b'\r' {
            end -= 1;
        }
        let frame = buf.split_to(newline + 1).freeze();
        split_args(&frame.slice(..end))
            .map(Some)
            .ok_or_else(|| invalid("unbalanced quotes in request"))
    }
}

fn invalid(text: &str) -> ProtocolError {
    ProtocolError::Invalid(text.to_owned())
}

/// Finds the `\r` ending a header line starting at `line[0]`. Like Redis, the byte after it
/// must have arrived but is not checked to be `\n`.
fn header_end(line: &[u8], limits: &Limits, too_big: &str) -> Result<Option<usize>, ProtocolError> {
    match memchr(b'\r', line) {
        None if line.len() > limits.max_inline_len => Err(invalid(too_big)),
        None => Ok(None),
        Some(cr) if cr + 1 >= line.len() => Ok(None),
        Some(cr) => Ok(Some(cr)),
    }
}

/// Parses `*N\r\n` at the front of `buf`: `(count, header length)`, count 0 for `N <= 0`.
fn multibulk_header(buf: &[u8], limits: &Limits) -> Result<Option<(usize, usize)>, ProtocolError> {
    let Some(cr) = header_end(buf, limits, "too big mbulk count string")? else {
        return Ok(None);
    };
    let count = match string2ll(&buf[1..cr]) {
        Some(n) if n <= 0 => 0,
        Some(n) if (n as u64) <= limits.max_multibulk_len => n,
        _ => return Err(invalid("invalid multibulk length")),
    };
    if limits.auth_required && count > UNAUTH_MAX_MULTIBULK_LEN {
        return Err(invalid("unauthenticated multibulk length"));
    }
    // `count` fits: max_multibulk_len is meant to be at most INT_MAX; clamp on 32-bit targets.
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    Ok(Some((count, cr + 2)))
}

/// Parses `$len\r\n` at the front of `line`: `(len, header length)`.
fn bulk_header(line: &[u8], limits: &Limits) -> Result<Option<(usize, usize)>, ProtocolError> {
    let Some(cr) = header_end(line, limits, "too big bulk count string")? else {
        return Ok(None);
    };
    if line[0] != b'$' {
        return Err(ProtocolError::Invalid(format!(
            "expected '$', got '{}'",
            printable(line[0])
        )));
    }
    let len = match string2ll(&line[1..cr]) {
        Some(n) if n >= 0 && (n as u64) <= limits.max_bulk_len => n,
        _ => return Err(invalid("invalid bulk length")),
    };
    if limits.auth_required && len > UNAUTH_MAX_BULK_LEN {
        return Err(invalid("unauthenticated bulk length"));
    }
    let len = usize::try_from(len).map_err(|_| invalid("invalid bulk length"))?;
    Ok(Some((len, cr + 2)))
}

/// The byte as Redis's `%c` shows it once its error sanitizer turned CR/LF into spaces.
/// Non-ASCII bytes become the Latin-1 character, since the reply text is a `String`.
fn printable(byte: u8) -> char {
    match byte {
        b'\r' | b'\n' => ' ',
        other => char::from(other),
    }
}

/// Redis's `string2ll`: strict decimal, no sign but `-`, no leading zeros, no `-0`, at most
/// 20 characters, within `i64`.
fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Redis's `sdssplitargs`: splits an inline line into arguments, honouring `"..."` (with
/// `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\<c>` escapes) and `'...'` (only `\'`).
/// `None` means unbalanced quotes, including a closing quote not followed by a space.
///
/// The line is a C string there, so it ends at the first NUL. Plain tokens are slices of
/// `line`; tokens with quotes are copied.
pub fn split_args(line: &Bytes) -> Option<Vec<Bytes>> {
    let n = memchr(0, line).unwrap_or(line.len());
    // Past the end reads as the C terminator, which keeps the port of the C lookahead exact.
    let at = |i: usize| if i < n { line[i] } else { 0 };
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < n && is_c_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(args);
        }
        let start = i;
        let mut owned: Option<Vec<u8>> = None;
        let (mut in_dq, mut in_sq) = (false, false);
        let mut token_end = n;
        loop {
            let c = at(i);
            if in_dq {
                let buf = owned.get_or_insert_with(Vec::new);
                if c == b'\\' && at(i + 1) == b'x' {
                    if let (Some(hi), Some(lo)) = (hex_value(at(i + 2)), hex_value(at(i + 3))) {
                        buf.push(hi * 16 + lo);
                        i += 3;
                    } else {
                        // `\x` without two hex digits is an ordinary escape of `x`.
                        i += 1;
                        buf.push(b'x');
                    }
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    buf.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    buf.push(c);
                }
            } else if in_sq {
                let buf = owned.get_or_insert_with(Vec::new);
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    buf.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    buf.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        token_end = i;
                        if c != 0 {
                            i += 1;
                        }
                        break;
                    }
                    b'"' | b'\'' => {
                        // A quote may open mid-token (`ab"cd"` is `abcd`): switch to a copy.
                        owned.get_or_insert_with(|| line[start..i].to_vec());
                        in_dq = c == b'"';
                        in_sq = c == b'\'';
                    }
                    _ => {
                        if let Some(buf) = owned.as_mut() {
                            buf.push(c);
                        }
                    }
                }
            }
            if at(i) != 0 {
                i += 1;
            }
        }
        args.push(match owned {
            Some(buf) => Bytes::from(buf),
            None => line.slice(start..token_end),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode_command;
    use proptest::prelude::*;

    fn decode_all(input: &[u8], limits: &Limits) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(cmd) = decode_command(&mut buf, limits)? {
            out.push(cmd.iter().map(|a| a.to_vec()).collect());
        }
        Ok(out)
    }

    fn one(input: &[u8]) -> Vec<Vec<u8>> {
        let cmds = decode_all(input, &Limits::default()).expect("decodes");
        assert_eq!(cmds.len(), 1, "{cmds:?}");
        cmds.into_iter().next().unwrap_or_default()
    }

    fn err(input: &[u8]) -> String {
        err_with(input, &Limits::default())
    }

    fn err_with(input: &[u8], limits: &Limits) -> String {
        match decode_all(input, limits) {
            Err(e) => e.to_string(),
            Ok(cmds) => panic!("expected an error, got {cmds:?}"),
        }
    }

    fn args(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    /// Feeds `input` in the given chunk sizes through one `Decoder`.
    fn decode_chunked(
        input: &[u8],
        cuts: &[usize],
        limits: &Limits,
    ) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut fed = 0;
        let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
        points.sort_unstable();
        points.push(input.len());
        for point in points {
            buf.extend_from_slice(&input[fed..point.max(fed)]);
            fed = point.max(fed);
            while let Some(cmd) = decoder.decode(&mut buf, limits)? {
                out.push(cmd);
            }
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_pipeline() {
        assert_eq!(one(b"*1\r\n$4\r\nPING\r\n"), args(&["PING"]));
        let cmds = decode_all(
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(cmds, vec![args(&["SET", "k", ""]), args(&["GET", "k"])]);
    }

    #[test]
    fn binary_arguments_are_kept() {
        assert_eq!(
            one(b"*1\r\n$4\r\n\0\r\n\xff\r\n"),
            vec![b"\0\r\n\xff".to_vec()]
        );
    }

    #[test]
    fn incomplete_input_waits_and_keeps_bytes() {
        let full = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
        for end in 0..full.len() {
            let mut buf = BytesMut::from(&full[..end]);
            assert_eq!(
                decode_command(&mut buf, &Limits::default()),
                Ok(None),
                "prefix {end}"
            );
            assert_eq!(
                &buf[..],
                &full[..end],
                "stateless decode must not consume a partial"
            );
        }
    }

    #[test]
    fn empty_and_negative_multibulk_are_skipped() {
        assert_eq!(
            one(b"*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n"),
            args(&["PING"])
        );
        let mut buf = BytesMut::from(&b"*0\r\n*-1\r\n"[..]);
        assert_eq!(decode_command(&mut buf, &Limits::default()), Ok(None));
        assert!(buf.is_empty());
    }

    #[test]
    fn empty_inline_lines_are_skipped() {
        assert_eq!(one(b"\n\r\n  \r\n\t\nPING\r\n"), args(&["PING"]));
        let mut buf = BytesMut::from(&b"\r\n\n   \n"[..]);
        assert_eq!(decode_command(&mut buf, &Limits::default()), Ok(None));
        assert!(buf.is_empty());
    }

    #[test]
    fn header_terminator_and_bulk_trailer_are_not_checked() {
        // Redis skips the byte after a header's `\r` and the two bytes after an argument.
        assert_eq!(one(b"*1\rX$4\rXPING\r\n"), args(&["PING"]));
        assert_eq!(
            decode_all(b"*1\r\n$4\r\nPINGxy*1\r\n$4\r\nPINGzz", &Limits::default()).unwrap(),
            vec![args(&["PING"]), args(&["PING"])]
        );
    }

    #[test]
    fn multibulk_length_errors() {
        for bad in [
            &b"*abc\r\n"[..],
            b"*\r\n",
            b"*01\r\n",
            b"*-0\r\n",
            b"*+1\r\n",
            b"* 1\r\n",
            b"*1 \r\n",
            b"*3000000000\r\n",
            b"*99999999999999999999\r\n",
        ] {
            assert_eq!(
                err(bad),
                "ERR Protocol error: invalid multibulk length",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            decode_all(b"*2147483647\r\n", &Limits::default()),
            Ok(vec![])
        );
        let small = Limits {
            max_multibulk_len: 2,
            ..Limits::default()
        };
        assert_eq!(
            err_with(b"*3\r\n", &small),
            "ERR Protocol error: invalid multibulk length"
        );
    }

    #[test]
    fn bulk_length_errors() {
        for bad in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$\r\n",
            b"*1\r\n$01\r\n",
            b"*1\r\n$x\r\n",
            b"*1\r\n$536870913\r\n",
            b"*2\r\n$1\r\na\r\n$-0\r\n",
        ] {
            assert_eq!(
                err(bad),
                "ERR Protocol error: invalid bulk length",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let small = Limits {
            max_bulk_len: 3,
            ..Limits::default()
        };
        assert_eq!(
            err_with(b"*1\r\n$4\r\n", &small),
            "ERR Protocol error: invalid bulk length"
        );
        assert_eq!(
            decode_all(b"*1\r\n$3\r\nabc\r\n", &small).unwrap(),
            vec![args(&["abc"])]
        );
    }

    #[test]
    fn expected_dollar_errors() {
        assert_eq!(
            err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"),
            "ERR Protocol error: expected '$', got 'f'"
        );
        assert_eq!(
            err(b"*1\r\n\r\n"),
            "ERR Protocol error: expected '$', got ' '"
        );
        assert_eq!(
            err(b"*1\r\n:1\r\n"),
            "ERR Protocol error: expected '$', got ':'"
        );
        // Without a complete header line Redis does not look at the first byte yet.
        assert_eq!(decode_all(b"*1\r\nfoo", &Limits::default()), Ok(vec![]));
        assert_eq!(decode_all(b"*1\r\nfoo\r", &Limits::default()), Ok(vec![]));
    }

    #[test]
    fn too_big_header_and_inline_errors() {
        let limit = PROTO_INLINE_MAX_SIZE;
        let mut inline = vec![b'a'; limit];
        assert_eq!(decode_all(&inline, &Limits::default()), Ok(vec![]));
        inline.push(b'a');
        assert_eq!(err(&inline), "ERR Protocol error: too big inline request");

        let mut mbulk = vec![b'*'];
        mbulk.resize(limit, b'1');
        assert_eq!(decode_all(&mbulk, &Limits::default()), Ok(vec![]));
        mbulk.push(b'1');
        assert_eq!(
            err(&mbulk),
            "ERR Protocol error: too big mbulk count string"
        );

        let mut bulk = b"*1\r\n$".to_vec();
        bulk.resize(limit + 4, b'1');
        assert_eq!(decode_all(&bulk, &Limits::default()), Ok(vec![]));
        bulk.push(b'1');
        assert_eq!(err(&bulk), "ERR Protocol error: too big bulk count string");

        // A long line that did arrive whole is only a malformed number.
        let mut long = vec![b'*'];
        long.resize(limit + 10, b'1');
        long.extend_from_slice(b"\r\n");
        assert_eq!(err(&long), "ERR Protocol error: invalid multibulk length");
    }

    #[test]
    fn unauthenticated_limits() {
        let unauth = Limits {
            auth_required: true,
            ..Limits::default()
        };
        assert_eq!(
            err_with(b"*11\r\n", &unauth),
            "ERR Protocol error: unauthenticated multibulk length"
        );
        assert_eq!(decode_all(b"*10\r\n", &unauth), Ok(vec![]));
        assert_eq!(
            err_with(b"*1\r\n$16385\r\n", &unauth),
            "ERR Protocol error: unauthenticated bulk length"
        );
        assert_eq!(decode_all(b"*1\r\n$16384\r\n", &unauth), Ok(vec![]));
        // Malformed still wins over unauthenticated, as in Redis.
        assert_eq!(
            err_with(b"*1\r\n$-1\r\n", &unauth),
            "ERR Protocol error: invalid bulk length"
        );
    }

    #[test]
    fn stalled_huge_bulk_allocates_nothing() {
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(b"*2\r\n$536870912\r\n");
        let mut decoder = Decoder::new();
        assert_eq!(decoder.decode(&mut buf, &Limits::default()), Ok(None));
        assert_eq!(decode_command(&mut buf, &Limits::default()), Ok(None));
        assert!(buf.capacity() < 1024, "capacity {}", buf.capacity());
        let mut huge_count = BytesMut::from(&b"*2147483647\r\n$1\r\na\r\n"[..]);
        assert_eq!(
            decoder.decode(&mut huge_count, &Limits::default()),
            Ok(None)
        );
        assert!(decoder.ranges.capacity() < 1024);
    }

    #[test]
    fn decoder_resumes_without_rescanning() {
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::new();
        let limits = Limits::default();
        buf.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel");
        assert_eq!(decoder.decode(&mut buf, &limits), Ok(None));
        assert!(matches!(
            decoder.state,
            State::Multibulk {
                remaining: 1,
                bulk: Some(5),
                ..
            }
        ));
        buf.extend_from_slice(b"lo\r\n*1\r\n$4\r\nPING\r\n");
        let cmd = decoder.decode(&mut buf, &limits).unwrap().unwrap();
        assert_eq!(
            cmd,
            vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("hello")]
        );
        let cmd = decoder.decode(&mut buf, &limits).unwrap().unwrap();
        assert_eq!(cmd, vec![Bytes::from("PING")]);
        assert_eq!(decoder.decode(&mut buf, &limits), Ok(None));
        assert!(buf.is_empty());
    }

    #[test]
    fn inline_commands() {
        assert_eq!(one(b"PING\r\n"), args(&["PING"]));
        assert_eq!(one(b"SET  k\t v \n"), args(&["SET", "k", "v"]));
        assert_eq!(one(b"SET k \"a b\"\r\n"), args(&["SET", "k", "a b"]));
        assert_eq!(
            one(b"ECHO \"a\\x41\\n\\r\\t\\b\\a\\\\\\\"\\q\"\n"),
            vec![b"ECHO".to_vec(), b"aA\n\r\t\x08\x07\\\"q".to_vec()]
        );
        assert_eq!(one(b"ECHO \"\\x4\"\n"), args(&["ECHO", "x4"]));
        assert_eq!(one(b"ECHO 'a\\'b\\n'\n"), args(&["ECHO", "a'b\\n"]));
        assert_eq!(one(b"EC\"HO\" x\n"), args(&["ECHO", "x"]));
        assert_eq!(one(b"ECHO \"\"\n"), args(&["ECHO", ""]));
        assert_eq!(one(b"ECHO a\x0bb\n"), args(&["ECHO", "a\x0bb"]));
        assert_eq!(one(b"ECHO a\rb\n"), args(&["ECHO", "a", "b"]));
        assert_eq!(one(b"\x0b\x0cPING\n"), args(&["PING"]));
        // The line is a C string to sdssplitargs.
        assert_eq!(one(b"ECHO a\0b c\n"), args(&["ECHO", "a"]));
        // `*` starts multibulk only as the first byte.
        assert_eq!(one(b"GET *\n"), args(&["GET", "*"]));
        assert_eq!(
            decode_all(b"PING\n*1\r\n$4\r\nPING\r\nPING\n", &Limits::default()).unwrap(),
            vec![args(&["PING"]); 3]
        );
    }

    #[test]
    fn inline_quote_errors() {
        for bad in [
            &b"ECHO \"abc\n"[..],
            b"ECHO \"a\"b\n",
            b"ECHO 'a'b\n",
            b"ECHO 'abc\n",
            b"ECHO \"abc\\\"\n",
            b"ECHO \"a\0\"\n",
        ] {
            assert_eq!(
                err(bad),
                "ERR Protocol error: unbalanced quotes in request",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn string2ll_matches_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1a",
            b"9223372036854775808",
        ] {
            assert_eq!(string2ll(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    fn commands() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
        let arg = proptest::collection::vec(any::<u8>(), 0..24);
        let cmd = proptest::collection::vec(arg, 1..6);
        proptest::collection::vec(cmd, 1..5)
    }

    fn wire(cmds: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for cmd in cmds {
            encode_command(cmd, &mut out);
        }
        out.to_vec()
    }

    fn to_vecs(cmds: Vec<Vec<Bytes>>) -> Vec<Vec<Vec<u8>>> {
        cmds.into_iter()
            .map(|c| c.into_iter().map(|a| a.to_vec()).collect())
            .collect()
    }

    /// The printable, non-space bytes that need no quoting.
    fn plain_token() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            any::<u8>().prop_filter("plain", |b| {
                !is_c_space(*b) && *b != 0 && *b != b'"' && *b != b'\''
            }),
            1..12,
        )
    }

    fn quote(arg: &[u8]) -> Vec<u8> {
        let mut out = vec![b'"'];
        for &b in arg {
            match b {
                b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                b' '..=b'~' => out.push(b),
                _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            }
        }
        out.push(b'"');
        out
    }

    proptest! {
        #[test]
        fn multibulk_roundtrip(cmds in commands()) {
            let bytes = wire(&cmds);
            prop_assert_eq!(&decode_all(&bytes, &Limits::default()).unwrap(), &cmds);
        }

        #[test]
        fn multibulk_roundtrip_split_anywhere(cmds in commands()) {
            let bytes = wire(&cmds);
            for cut in 0..=bytes.len() {
                let got = to_vecs(decode_chunked(&bytes, &[cut], &Limits::default()).unwrap());
                prop_assert_eq!(&got, &cmds, "cut at {}", cut);
                // The stateless entry point must agree when re-fed the growing buffer.
                let mut buf = BytesMut::from(&bytes[..cut]);
                let mut got = Vec::new();
                while let Some(c) = decode_command(&mut buf, &Limits::default()).unwrap() {
                    got.push(c);
                }
                buf.extend_from_slice(&bytes[cut..]);
                while let Some(c) = decode_command(&mut buf, &Limits::default()).unwrap() {
                    got.push(c);
                }
                prop_assert_eq!(&to_vecs(got), &cmds);
            }
        }

        #[test]
        fn multibulk_roundtrip_random_chunks(
            cmds in commands(),
            cuts in proptest::collection::vec(0usize..400, 0..12),
        ) {
            let bytes = wire(&cmds);
            let got = to_vecs(decode_chunked(&bytes, &cuts, &Limits::default()).unwrap());
            prop_assert_eq!(got, cmds);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(0usize..300, 0..6),
            tight in any::<bool>(),
        ) {
            let limits = if tight {
                Limits { max_bulk_len: 8, max_multibulk_len: 4, max_inline_len: 16, auth_required: false }
            } else {
                Limits::default()
            };
            let whole = decode_all(&bytes, &limits).map(|c| c.len());
            let chunked = decode_chunked(&bytes, &cuts, &limits).map(|c| c.len());
            // Same input, same verdict, however it is split; except that, as in Redis, a
            // size limit can trip on a partial read that the whole input would have
            // satisfied with a line end.
            match (&whole, &chunked) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(a), Err(b)) if !b.to_string().contains("too big") => prop_assert_eq!(a, b),
                (Ok(_), Err(e)) | (Err(_), Err(e)) => {
                    prop_assert!(e.to_string().contains("too big"), "{}", e)
                }
                (Err(e), Ok(_)) => prop_assert!(false, "only the whole input failed: {}", e),
            }
        }

        #[test]
        fn arbitrary_resp_like_bytes_never_panic(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(b"*".to_vec()), Just(b"$".to_vec()), Just(b"\r\n".to_vec()),
                    Just(b"\r".to_vec()), Just(b"\n".to_vec()), Just(b"-1".to_vec()),
                    Just(b"0".to_vec()), Just(b"2".to_vec()), Just(b"\"".to_vec()),
                    Just(b"'".to_vec()), Just(b"\\x4".to_vec()), Just(b" ".to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..4),
                ],
                0..60,
            ),
            cuts in proptest::collection::vec(0usize..200, 0..6),
        ) {
            let bytes = parts.concat();
            let _ = decode_all(&bytes, &Limits::default());
            let _ = decode_chunked(&bytes, &cuts, &Limits::default());
        }

        #[test]
        fn inline_quoted_args_roundtrip(
            words in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..16).prop_map(|a| (a, true)),
                    plain_token().prop_map(|a| (a, false)),
                    proptest::collection::vec(
                        any::<u8>().prop_filter("quotable", |b| !matches!(b, b'\'' | 0 | b'\n')),
                        0..8,
                    )
                        .prop_map(|a| (a, false)),
                ],
                1..6,
            ),
            crlf in any::<bool>(),
        ) {
            let mut line = Vec::new();
            let mut expected = Vec::new();
            for (i, (arg, double)) in words.iter().enumerate() {
                if i > 0 {
                    line.push(b' ');
                }
                if *double {
                    line.extend_from_slice(&quote(arg));
                } else if arg.iter().all(|b| !is_c_space(*b) && *b != b'"') && !arg.is_empty() {
                    line.extend_from_slice(arg);
                } else {
                    // Single quotes: everything literal, `\'` escapes only the quote.
                    line.push(b'\'');
                    line.extend_from_slice(arg);
                    line.push(b'\'');
                }
                expected.push(arg.clone());
            }
            line.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            // A leading `*` makes it a multibulk request.
            prop_assume!(line.first() != Some(&b'*'));
            // A trailing backslash before a closing single quote would escape it.
            prop_assume!(!words.iter().any(|(a, d)| !*d && a.last() == Some(&b'\\')));
            let got = decode_all(&line, &Limits::default()).unwrap();
            prop_assert_eq!(got, vec![expected]);
        }
    }
}
