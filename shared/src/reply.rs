//! Reply values, independent of the RESP version a client speaks.
//!
//! storaged builds these; the proxy encodes them as RESP2 or RESP3 per client. The RESP3-only
//! shapes (`Map`, `Set`, `Double`, `Bool`, `Verbatim`, `BigNumber`) have fixed RESP2 fallbacks
//! that live in the proxy's encoder, not here.

use rkyv::{Archive, Deserialize, Serialize};

/// A Redis reply.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(deserialize_bounds(__D::Error: rkyv::rancor::Source))]
#[rkyv(bytecheck(bounds(__C: rkyv::validation::ArchiveContext)))]
pub enum Reply {
    /// `+OK`-style status line. Must not contain CR or LF.
    Simple(String),
    /// An error reply; the text carries its own prefix (`ERR`, `WRONGTYPE` …).
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    /// Null bulk in RESP2, `_` in RESP3.
    Nil,
    /// Null array in RESP2 (`*-1`), `_` in RESP3.
    NilArray,
    Array(#[rkyv(omit_bounds)] Vec<Reply>),
    /// Key/value pairs; a flat array in RESP2.
    Map(#[rkyv(omit_bounds)] Vec<(Reply, Reply)>),
    /// An unordered set; an array in RESP2.
    Set(#[rkyv(omit_bounds)] Vec<Reply>),
    /// A double; a bulk string in RESP2, formatted as Redis formats it.
    Double(f64),
    /// `#t`/`#f`; the integer 1/0 in RESP2.
    Bool(bool),
    /// Plain text (`INFO`, `CLIENT LIST`): a RESP3 verbatim string `=len\r\ntxt:…`, a bulk
    /// string in RESP2.
    Verbatim(Vec<u8>),
    /// Pairs sent as an array of 2-element arrays in RESP3 and one flat array in RESP2
    /// (`HRANDFIELD … WITHVALUES`, `ZRANGE … WITHSCORES`).
    Pairs(#[rkyv(omit_bounds)] Vec<(Reply, Reply)>),
    /// A RESP3 big number `(digits\r\n`; a bulk string in RESP2 (Redis's `addReplyBigNum`).
    /// Only scripts make one (`return {big_number = '…'}`); the text is whatever the script
    /// gave, CR/LF already turned into spaces, as Redis does not check it holds digits.
    BigNumber(String),
    /// A double as Redis's `addReplyHumanLongDouble` sends it (`GEOPOS`, `WITHCOORD`): the
    /// text already formatted (`%.17Lf`, trailing zeros cut), `,text` in RESP3 and a bulk
    /// string in RESP2. `Double`'s `%.17g` would print other digits.
    HumanDouble(String),
    /// Key/value pairs sent as a map in RESP3 and as an array of 2-element `[key, value]`
    /// arrays in RESP2 (`XREAD`'s streams, as Redis's `setDeferredMapLen`/`ArrayLen` pair).
    PairMap(#[rkyv(omit_bounds)] Vec<(Reply, Reply)>),
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Simple("OK".to_owned())
    }

    /// A bulk string from anything byte-like.
    pub fn bulk(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply::Bulk(bytes.into())
    }
}
