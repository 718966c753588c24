//! Redis glob-style pattern matching (`KEYS`, `SCAN MATCH`, later `HSCAN`, `PSUBSCRIBE` …).
//!
//! A faithful port of Redis 7's `stringmatchlen` (util.c): same operators (`*`, `?`,
//! `[...]` with `^` negation and `a-z` ranges, `\` escapes), same treatment of malformed
//! patterns (an unterminated `[` matches like a closed one) and the same signed-`char`
//! comparisons in ranges, so byte values ≥ 0x80 order as Redis orders them. It owns no
//! I/O and no knowledge of keys; it only answers "does this byte string match".

/// Recursion bound against abusive patterns (Redis uses the same limit).
const MAX_NESTING: u32 = 1000;

/// Whether `string` matches the Redis glob `pattern`; `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

/// Byte at `i`, or 0 past the end: Redis reads the sds NUL terminator there, and the
/// algorithm's edge cases depend on seeing a 0 rather than stopping.
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// C `tolower` in the "C" locale applied to a (possibly negative) `char` value.
fn lower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

/// A byte as C's signed `char` widened to `int`.
fn signed(b: u8) -> i32 {
    i32::from(b as i8)
}

fn match_impl(
    mut pattern: &[u8],
    mut string: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: u32,
) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    while !pattern.is_empty() && !string.is_empty() {
        match pattern[0] {
            b'*' => {
                while pattern.len() > 1 && pattern[1] == b'*' {
                    pattern = &pattern[1..];
                }
                if pattern.len() == 1 {
                    return true;
                }
                while !string.is_empty() {
                    if match_impl(&pattern[1..], string, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    string = &string[1..];
                }
                // No match of the rest anywhere in the string: no earlier `*` can help
                // either, so the whole search stops here.
                *skip_longer = true;
                return false;
            }
            b'?' => {
                string = &string[1..];
            }
            b'[' => {
                // `p` indexes into `pattern`; it may step one past the end, as in Redis.
                let mut p = 1usize;
                let not = at(pattern, p) == b'^';
                if not {
                    p += 1;
                }
                let mut matched = false;
                loop {
                    let remaining = pattern.len().saturating_sub(p);
                    if at(pattern, p) == b'\\' && remaining >= 2 {
                        p += 1;
                        if at(pattern, p) == string[0] {
                            matched = true;
                        }
                    } else if at(pattern, p) == b']' {
                        break;
                    } else if remaining == 0 {
                        // Unterminated class: step back so the shared advance below lands
                        // exactly on the end.
                        p -= 1;
                        break;
                    } else if remaining >= 3 && at(pattern, p + 1) == b'-' {
                        let mut start = signed(at(pattern, p));
                        let mut end = signed(at(pattern, p + 2));
                        let mut c = signed(string[0]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            c = lower(c);
                        }
                        p += 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if nocase {
                        if lower(signed(at(pattern, p))) == lower(signed(string[0])) {
                            matched = true;
                        }
                    } else if at(pattern, p) == string[0] {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                string = &string[1..];
                // Leave `pattern` on the closing `]` (or last byte); the advance below
                // moves past it.
                pattern = &pattern[p.min(pattern.len())..];
                if pattern.is_empty() {
                    // Only reachable for an unterminated class ending the pattern.
                    break;
                }
            }
            b'\\' => {
                if pattern.len() >= 2 {
                    pattern = &pattern[1..];
                }
                if !byte_eq(pattern[0], string[0], nocase) {
                    return false;
                }
                string = &string[1..];
            }
            c => {
                if !byte_eq(c, string[0], nocase) {
                    return false;
                }
                string = &string[1..];
            }
        }
        pattern = &pattern[1..];
        if string.is_empty() {
            while !pattern.is_empty() && pattern[0] == b'*' {
                pattern = &pattern[1..];
            }
            break;
        }
    }
    pattern.is_empty() && string.is_empty()
}

fn byte_eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        lower(signed(a)) == lower(signed(b))
    } else {
        a == b
    }
}

/// The literal bytes every match must start with (up to the first special character), so
/// a caller can seek instead of scanning everything. Empty when the pattern starts with
/// `*`, `?`, `[` or `\`.
pub fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let end = pattern
        .iter()
        .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    &pattern[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        // As in Redis, `*` does not match the empty string here; KEYS and SCAN special-case
        // the lone `*` pattern before calling the matcher.
        assert!(!m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("h*o", "hello"));
        assert!(m("h*o", "ho"));
        assert!(!m("h*o", "hellx"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("**a**", "bab"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(!m("", "a"));
        assert!(m("", ""));
        assert!(!m("?", ""));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hallo"));
        assert!(m("h[ae]llo", "hello"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[a-z]", "q"));
        assert!(m("[z-a]", "q"), "reversed ranges are swapped");
        assert!(!m("[^a]", "a"));
        assert!(m("[^a]", "b"));
        assert!(m("[\\]]", "]"));
        // "a-]" is the range ']'..='a' and the class is left unterminated, as in Redis.
        assert!(!m("[a-]", "-"));
        assert!(m("[a-]", "_"));
        // Unterminated class behaves like a closed one.
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "d"));
        assert!(!m("x[", "x"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\?b", "a?b"));
        assert!(!m("a\\?b", "axb"));
        assert!(m("\\", "\\"));
        assert!(m("a\\", "a\\"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(glob_match(b"[A-Z]", b"q", true));
        assert!(!glob_match(b"[A-Z]", b"q", false));
    }

    #[test]
    fn high_bytes_compare_as_signed_char() {
        // 'a'..0xff: 0xff is -1 as a C char, so the range is really -1..='a'.
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(glob_match(b"[a-\xff]", b"0", false));
        assert!(glob_match(b"\xe9*", b"\xe9t\xe9", false));
    }

    #[test]
    fn pathological_patterns_terminate() {
        let p = "a*".repeat(50) + "b";
        let s = "a".repeat(100);
        assert!(!m(&p, &s));
    }

    #[test]
    fn prefix() {
        assert_eq!(literal_prefix(b"user:*"), b"user:");
        assert_eq!(literal_prefix(b"*x"), b"");
        assert_eq!(literal_prefix(b"abc"), b"abc");
        assert_eq!(literal_prefix(b"a\\*"), b"a");
    }

    /// Expectations recorded from `KEYS` on a real Redis 7.0 over the same key set.
    #[test]
    fn agrees_with_redis_on_edge_patterns() {
        let keys: &[&[u8]] = &[
            b"a", b"b", b"-", b"_", b"]", b"x", b"\\", b"a\\", b"ab", b"abc", b"*", b"?", b"[",
            b"^", b"\xe9", b"0", b"x[", b"a-", b"B", b"z",
        ];
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"[a-]", &[b"]", b"^", b"_", b"a"]),
            (b"x[", &[]),
            (b"\\", &[b"\\"]),
            (b"a\\", &[b"a\\"]),
            (b"[abc", &[b"a", b"b"]),
            (
                b"[^",
                &[
                    b"*", b"-", b"0", b"?", b"B", b"[", b"\\", b"]", b"^", b"_", b"a", b"b", b"x",
                    b"z", b"\xe9",
                ],
            ),
            (
                b"[a-\xff]",
                &[
                    b"*", b"-", b"0", b"?", b"B", b"[", b"\\", b"]", b"^", b"_", b"a",
                ],
            ),
            (b"[\\]]", &[b"]"]),
            (b"[]]", &[]),
            (
                b"[^a]",
                &[
                    b"*", b"-", b"0", b"?", b"B", b"[", b"\\", b"]", b"^", b"_", b"b", b"x", b"z",
                    b"\xe9",
                ],
            ),
            (b"[a-c-e]", &[b"-", b"a", b"b"]),
            (b"[!a]", &[b"a"]),
            (b"a*\\", &[b"a\\"]),
            (b"[", &[]),
            (b"[-a]", &[b"-", b"a"]),
            (b"*[", &[]),
            (b"\\a", &[b"a"]),
            (b"[x-]", &[b"]", b"^", b"_", b"a", b"b", b"x"]),
            (b"?\\", &[b"a\\"]),
            (b"[[]", &[b"["]),
            (b"[^]]", &[]),
            (b"[a-\\]]", &[]),
        ];
        for (pattern, want) in cases {
            let mut got: Vec<&[u8]> = keys
                .iter()
                .copied()
                .filter(|k| glob_match(pattern, k, false))
                .collect();
            got.sort();
            let mut want = want.to_vec();
            want.sort();
            assert_eq!(got, want, "pattern {:?}", String::from_utf8_lossy(pattern));
        }
    }
}
