//! Byte layout of metadata records, the value of every `meta` column family entry (see
//! `docs/ENCODING.md`, which this file must match).
//!
//! Owns the frozen type tags and the fixed 26-byte header; strings carry their value
//! inline after it, lists and zsets a small payload, streams their 80-byte state
//! (`types/stream`). It does not decide expiry or visibility: callers compare
//! `expire_at_ms` with their clock.

/// Length of the fixed header before any inline payload.
pub const HEADER_LEN: usize = 1 + 1 + 8 + 8 + 8;

/// `flags` bit 0, on a set: the set keeps a dense slot index (`docs/ENCODING.md`, Set).
/// Sets written by builds that predate the index have it clear and are indexed on their
/// next write.
pub const FLAG_SLOT_INDEX: u8 = 0x01;

/// `flags` bit 1, on a string: the value lives in chunk sub-keys, not inline; the payload
/// is the chunk size (`types/string_value.rs`). On disk such a record carries the type tag
/// [`CHUNKED_STRING_TAG`] instead of the string tag.
pub const FLAG_CHUNKED: u8 = 0x02;

/// The persisted type tag of a chunked string ([`FLAG_CHUNKED`]). It reads back as
/// [`KeyType::String`]; a separate tag makes builds that predate chunking refuse such a
/// record as unknown instead of serving its chunk-size payload as the value.
pub const CHUNKED_STRING_TAG: u8 = 5;

/// The type of a key. Tags are persisted: never renumber, only append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum KeyType {
    String = 0,
    Hash = 1,
    List = 2,
    Set = 3,
    ZSet = 4,
    /// Tag 6 (5 is the chunked string's on-disk tag): a stream (issue 16).
    Stream = 6,
}

impl KeyType {
    /// The tag for a persisted byte, `None` for a tag this build does not know.
    pub fn from_tag(tag: u8) -> Option<KeyType> {
        Some(match tag {
            0 => KeyType::String,
            1 => KeyType::Hash,
            2 => KeyType::List,
            3 => KeyType::Set,
            4 => KeyType::ZSet,
            6 => KeyType::Stream,
            _ => return None,
        })
    }

    /// The name `TYPE` replies with.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::Hash => "hash",
            KeyType::List => "list",
            KeyType::Set => "set",
            KeyType::ZSet => "zset",
            KeyType::Stream => "stream",
        }
    }
}

/// One key's metadata record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: KeyType,
    /// Per-key flags ([`FLAG_SLOT_INDEX`]); unknown bits are preserved on rewrite.
    pub flags: u8,
    /// Absolute unix milliseconds; 0 means no expiry.
    pub expire_at_ms: u64,
    /// Generation of this key's sub-keys; fresh for every newly created key.
    pub version: u64,
    /// Element count for collection types; for strings the value length (informational,
    /// readers use `payload`).
    pub size: u64,
    /// Inline payload: the value bytes of a string, empty for other types.
    pub payload: Vec<u8>,
}

/// Why stored bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("metadata record of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    Short(usize),
    #[error("unknown type tag {0} in metadata record")]
    UnknownType(u8),
}

impl Record {
    /// A new string record with the given value and expiry.
    pub fn string(value: Vec<u8>, expire_at_ms: u64, version: u64) -> Record {
        Record {
            kind: KeyType::String,
            flags: 0,
            expire_at_ms,
            version,
            size: value.len() as u64,
            payload: value,
        }
    }

    /// A string of `len` bytes whose value lives in chunks of `chunk_size` bytes
    /// ([`FLAG_CHUNKED`]).
    pub fn chunked_string(len: u64, chunk_size: u32, expire_at_ms: u64, version: u64) -> Record {
        Record {
            kind: KeyType::String,
            flags: FLAG_CHUNKED,
            expire_at_ms,
            version,
            size: len,
            payload: chunk_size.to_be_bytes().to_vec(),
        }
    }

    /// True for a string whose value lives in chunk sub-keys.
    pub fn is_chunked(&self) -> bool {
        self.kind == KeyType::String && self.flags & FLAG_CHUNKED != 0
    }

    /// True when the key has an expiry at or before `now_ms`, i.e. it is logically gone.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms != 0 && self.expire_at_ms <= now_ms
    }

    /// The persisted bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        out.push(if self.is_chunked() {
            CHUNKED_STRING_TAG
        } else {
            self.kind as u8
        });
        out.push(self.flags);
        out.extend_from_slice(&self.expire_at_ms.to_be_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Decodes persisted bytes.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes are too short or carry an unknown type tag.
    pub fn decode(raw: &[u8]) -> Result<Record, DecodeError> {
        let h = Header::decode(raw)?;
        Ok(Record {
            kind: h.kind,
            flags: h.flags,
            expire_at_ms: h.expire_at_ms,
            version: h.version,
            size: h.size,
            payload: raw[HEADER_LEN..].to_vec(),
        })
    }
}

/// The fixed header alone, decoded without copying the payload (scans, compaction filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: KeyType,
    pub flags: u8,
    pub expire_at_ms: u64,
    pub version: u64,
    pub size: u64,
}

impl Header {
    /// Decodes the header of a persisted record.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes are too short or carry an unknown type tag.
    pub fn decode(raw: &[u8]) -> Result<Header, DecodeError> {
        if raw.len() < HEADER_LEN {
            return Err(DecodeError::Short(raw.len()));
        }
        let (kind, flags) = match raw[0] {
            CHUNKED_STRING_TAG => (KeyType::String, raw[1] | FLAG_CHUNKED),
            tag => (
                KeyType::from_tag(tag).ok_or(DecodeError::UnknownType(tag))?,
                raw[1],
            ),
        };
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[i..i + 8]);
            u64::from_be_bytes(b)
        };
        Ok(Header {
            kind,
            flags,
            expire_at_ms: u64_at(2),
            version: u64_at(10),
            size: u64_at(18),
        })
    }

    /// See [`Record::is_expired`].
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms != 0 && self.expire_at_ms <= now_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn string_record_layout() {
        let r = Record::string(b"hi".to_vec(), 0x0a, 0x0b);
        let raw = r.encode();
        assert_eq!(raw.len(), HEADER_LEN + 2);
        assert_eq!(raw[0], 0);
        assert_eq!(raw[1], 0);
        assert_eq!(&raw[2..10], &[0, 0, 0, 0, 0, 0, 0, 0x0a]);
        assert_eq!(&raw[10..18], &[0, 0, 0, 0, 0, 0, 0, 0x0b]);
        assert_eq!(&raw[18..26], &[0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(&raw[26..], b"hi");
        assert_eq!(Record::decode(&raw).unwrap(), r);
    }

    #[test]
    fn chunked_string_layout() {
        let r = Record::chunked_string(100_000, 0x4000, 0x0a, 0x0b);
        let raw = r.encode();
        assert_eq!(raw[0], CHUNKED_STRING_TAG);
        assert_eq!(raw[1], FLAG_CHUNKED);
        assert_eq!(&raw[18..26], &100_000u64.to_be_bytes());
        assert_eq!(&raw[26..], &[0, 0, 0x40, 0]);
        let back = Record::decode(&raw).unwrap();
        assert!(back.is_chunked());
        assert_eq!(back.kind, KeyType::String);
        assert_eq!(back, r);
        assert_eq!(Header::decode(&raw).unwrap().kind, KeyType::String);
        // The bit means nothing on other types, and inline strings keep tag 0.
        let inline = Record::string(b"x".to_vec(), 0, 1);
        assert!(!inline.is_chunked());
        assert_eq!(inline.encode()[0], 0);
        let set = Record {
            kind: KeyType::Set,
            flags: FLAG_CHUNKED,
            ..inline
        };
        assert!(!set.is_chunked());
        assert_eq!(set.encode()[0], KeyType::Set as u8);
    }

    #[test]
    fn bad_records_are_refused() {
        assert_eq!(Record::decode(&[0; 5]), Err(DecodeError::Short(5)));
        let mut raw = Record::string(vec![], 0, 1).encode();
        raw[0] = 9;
        assert_eq!(Record::decode(&raw), Err(DecodeError::UnknownType(9)));
    }

    #[test]
    fn expiry_is_inclusive_of_now() {
        let r = Record::string(vec![], 100, 1);
        assert!(!r.is_expired(99));
        assert!(r.is_expired(100));
        assert!(!Record::string(vec![], 0, 1).is_expired(u64::MAX));
    }

    proptest! {
        #[test]
        fn records_round_trip(tag in prop_oneof![0u8..5, Just(6u8)], flags: u8, exp: u64, version: u64, size: u64,
                              payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let r = Record { kind: KeyType::from_tag(tag).unwrap(), flags, expire_at_ms: exp,
                             version, size, payload };
            prop_assert_eq!(Record::decode(&r.encode()).unwrap(), r);
        }
    }
}
