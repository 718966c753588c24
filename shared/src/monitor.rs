//! The text of a MONITOR line, as Redis 7.0's `replicationFeedMonitors` writes it, so the
//! proxy (commands its clients run) and storaged (commands scripts run) write the same.
//!
//! A line is `<secs>.<micros> [<db> <origin>] "arg" "arg" …`; the proxy that delivers it
//! adds the leading `+` and the CRLF. Arguments are quoted as Redis's `sdscatrepr` quotes
//! them, so a line never holds a CR or LF.

/// Who ran the command a line shows.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A client connected over TCP: `127.0.0.1:54321`, `[::1]:54321`.
    Client(std::net::SocketAddr),
    /// A client on a Unix socket: `unix:<socket path>`.
    Unix(&'a str),
    /// A script's `redis.call`: `lua`.
    Script,
}

/// What Redis writes in place of a secret argument (`redactClientCommandArgument`).
pub const REDACTED: &[u8] = b"(redacted)";

/// The line for `argv` run in `db` at unix time `micros` (µs).
pub fn line<A: AsRef<[u8]>>(micros: u64, db: u8, origin: Origin<'_>, argv: &[A]) -> Vec<u8> {
    use std::io::Write;
    let size: usize = argv.iter().map(|a| a.as_ref().len() + 3).sum();
    let mut out = Vec::with_capacity(48 + size);
    let _ = write!(
        out,
        "{}.{:06} [{db} ",
        micros / 1_000_000,
        micros % 1_000_000
    );
    let _ = match origin {
        Origin::Client(addr) => write!(out, "{addr}]"),
        Origin::Unix(path) => write!(out, "unix:{path}]"),
        Origin::Script => write!(out, "lua]"),
    };
    for arg in argv {
        out.push(b' ');
        repr(arg.as_ref(), &mut out);
    }
    out
}

/// Redis's `sdscatrepr`: `"`, `\` and the C escapes `\n \r \t \a \b` backslashed,
/// printable ASCII as is, any other byte as `\xhh`.
pub fn repr(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_written_as_redis_writes_them() {
        let addr: std::net::SocketAddr = "127.0.0.1:48816".parse().unwrap();
        let argv: [&[u8]; 3] = [b"set", b"a b", b"x\"y\\z\n\x01\xc3\xa9\r\t\x07\x08\x7f"];
        let got = line(1_796_680_062_782_524, 0, Origin::Client(addr), &argv);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            r#"1796680062.782524 [0 127.0.0.1:48816] "set" "a b" "x\"y\\z\n\x01\xc3\xa9\r\t\a\b\x7f""#
        );
        let got = line(5, 3, Origin::Script, &[b"get".as_slice(), b""]);
        assert_eq!(got, b"0.000005 [3 lua] \"get\" \"\"");
        let v6: std::net::SocketAddr = "[::1]:7".parse().unwrap();
        let got = line(1_000_000, 15, Origin::Client(v6), &[b"PING"]);
        assert_eq!(got, b"1.000000 [15 [::1]:7] \"PING\"");
        let got = line(0, 0, Origin::Unix("/tmp/r.sock"), &[b"ping"]);
        assert_eq!(got, b"0.000000 [0 unix:/tmp/r.sock] \"ping\"");
    }
}
