//! The `notify-keyspace-events` flags: parsing Redis's letters and printing them back in
//! Redis's canonical order. Shared because the proxy validates `CONFIG SET` and storaged,
//! which sees every write, decides which events to publish.

/// A set of event classes plus the keyspace/keyevent channel selectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Flags(pub u32);

impl Flags {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    pub const KEY_MISS: u32 = 1 << 11;
    pub const MODULE: u32 = 1 << 12;
    pub const NEW: u32 = 1 << 13;
    /// `A`: every class but key-miss and new, as in Redis.
    pub const ALL: u32 = Self::GENERIC
        | Self::STRING
        | Self::LIST
        | Self::SET
        | Self::HASH
        | Self::ZSET
        | Self::EXPIRED
        | Self::EVICTED
        | Self::STREAM
        | Self::MODULE;

    /// Parses Redis's letters; `None` on any other character.
    pub fn parse(text: &[u8]) -> Option<Flags> {
        let mut f = 0;
        for &c in text {
            f |= match c {
                b'A' => Self::ALL,
                b'g' => Self::GENERIC,
                b'$' => Self::STRING,
                b'l' => Self::LIST,
                b's' => Self::SET,
                b'h' => Self::HASH,
                b'z' => Self::ZSET,
                b'x' => Self::EXPIRED,
                b'e' => Self::EVICTED,
                b'K' => Self::KEYSPACE,
                b'E' => Self::KEYEVENT,
                b't' => Self::STREAM,
                b'm' => Self::KEY_MISS,
                b'd' => Self::MODULE,
                b'n' => Self::NEW,
                _ => return None,
            };
        }
        Some(Flags(f))
    }

    /// Whether events of `class` are published on any channel.
    pub fn wants(self, class: u32) -> bool {
        self.0 & class != 0 && self.0 & (Self::KEYSPACE | Self::KEYEVENT) != 0
    }

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
}

impl std::fmt::Display for Flags {
    /// Redis's canonical spelling (`keyspaceEventsFlagsToString`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        if self.0 & Self::ALL == Self::ALL {
            s.push('A');
        } else {
            for (bit, c) in [
                (Self::GENERIC, 'g'),
                (Self::STRING, '$'),
                (Self::LIST, 'l'),
                (Self::SET, 's'),
                (Self::HASH, 'h'),
                (Self::ZSET, 'z'),
                (Self::EXPIRED, 'x'),
                (Self::EVICTED, 'e'),
                (Self::STREAM, 't'),
                (Self::MODULE, 'd'),
                (Self::NEW, 'n'),
            ] {
                if self.has(bit) {
                    s.push(c);
                }
            }
        }
        for (bit, c) in [
            (Self::KEYSPACE, 'K'),
            (Self::KEYEVENT, 'E'),
            (Self::KEY_MISS, 'm'),
        ] {
            if self.has(bit) {
                s.push(c);
            }
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_redis_canonical_order() {
        // Pairs observed from redis-server 7.0.15 (CONFIG SET then CONFIG GET).
        for (set, get) in [
            ("KEA", "AKE"),
            ("Ex", "xE"),
            ("g", "g"),
            ("Kn", "nK"),
            ("lKsz$", "$lszK"),
            ("KEAm", "AKEm"),
            ("", ""),
        ] {
            assert_eq!(
                Flags::parse(set.as_bytes()).unwrap().to_string(),
                get,
                "{set}"
            );
        }
        assert_eq!(Flags::parse(b"q"), None);
        assert!(!Flags::parse(b"A").unwrap().wants(Flags::STRING));
        assert!(Flags::parse(b"E$").unwrap().wants(Flags::STRING));
    }
}
