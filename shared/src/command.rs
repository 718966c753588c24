//! Typed storage commands: what crosses the link after the proxy has parsed and validated
//! the client's RESP request.
//!
//! Every variant is already syntax-checked: options are resolved to enums, relative
//! expiry times are turned into absolute unix milliseconds by the proxy (so a resent
//! request means the same thing), and counts are in range. storaged never sees RESP and
//! never re-parses option words. Variants whose replies differ in Redis (`SET` vs
//! `SETNX`) are separate variants so storaged can answer in the right shape.
//!
//! Never change an archived variant in place once released: add a new one and bump
//! [`crate::wire::PROTOCOL_VERSION`].

use rkyv::{Archive, Deserialize, Serialize};

/// `NX` / `XX` on `SET`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum SetCondition {
    Always,
    IfAbsent,
    IfPresent,
}

/// What `SET` does to the key's time to live.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum SetExpiry {
    /// Plain `SET`: any previous TTL is cleared.
    Clear,
    /// `KEEPTTL`.
    Keep,
    /// `EX`/`PX`/`EXAT`/`PXAT` resolved to absolute unix milliseconds.
    At(i64),
}

/// What `GETEX` does to the key's time to live.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum GetExExpiry {
    Unchanged,
    Persist,
    At(i64),
}

/// `NX` / `XX` / `GT` / `LT` on the `EXPIRE` family.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ExpireCondition {
    Always,
    /// Only when the key has no expiry.
    Nx,
    /// Only when the key has an expiry.
    Xx,
    /// Only when the new expiry is greater (a persistent key counts as infinite).
    Gt,
    /// Only when the new expiry is less (a persistent key counts as infinite).
    Lt,
    /// `XX LT`: only when the key has an expiry and the new one is less.
    XxLt,
}

/// Unit of a `TTL`/`PTTL`/`EXPIRETIME`/`PEXPIRETIME` reply.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum TimeUnit {
    Seconds,
    Milliseconds,
}

/// The reply form of `LCS`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum LcsMode {
    /// The common subsequence itself.
    String,
    /// `LEN`.
    Length,
    /// `IDX [MINMATCHLEN n] [WITHMATCHLEN]`.
    Indexes {
        min_match_len: u64,
        with_match_len: bool,
    },
}

/// Type filter of `SCAN ... TYPE t`. `Other` carries a name that matches no key, as Redis
/// accepts unknown type names and simply returns nothing.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ScanType {
    Any,
    String,
    Hash,
    List,
    Set,
    ZSet,
    Other,
    Stream,
}

/// A bad option of `HSCAN`/`SSCAN`/`ZSCAN`, reported by storaged after the key's existence
/// and type checks, in Redis's order.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ScanOptionError {
    /// `ERR syntax error` (unknown option, missing value, `COUNT` below 1).
    Syntax,
    /// `ERR value is not an integer or out of range` (`COUNT` not a number).
    NotInteger,
}

/// The range argument of `BITCOUNT`/`BITPOS`, as the proxy parsed it. Redis reads the
/// range only once the key exists and is a string, so a bad range travels to storaged
/// (`Invalid`) instead of failing in the proxy.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum BitRange {
    /// No range: the whole value.
    Whole,
    /// `start [end]` in bytes, or in bits if `bits` (`BIT`); `end` is `None` only for
    /// `BITPOS key bit start`. Negative values count from the end, as in Redis.
    Span {
        start: i64,
        end: Option<i64>,
        bits: bool,
    },
    /// `BITCOUNT` with a negative `start` past a negative `end`: 0 whatever the value
    /// (Redis answers before it reads the unit).
    Empty,
    /// A range Redis rejects once the key turned out to be a string (`Syntax` or
    /// `NotInteger`, the same two errors as a bad scan option).
    Invalid(ScanOptionError),
}

/// The operation of `BITOP`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum BitOpKind {
    And,
    Or,
    Xor,
    Not,
}

/// A `BITFIELD` integer type: `i<bits>` (1..=64) or `u<bits>` (1..=63).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct BitFieldType {
    pub signed: bool,
    pub bits: u8,
}

/// What `BITFIELD`'s `OVERFLOW` chose for the `SET`/`INCRBY` after it.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum BitOverflow {
    Wrap,
    Sat,
    /// Nothing written, a nil reply.
    Fail,
}

/// One operation of `BITFIELD`; offsets are in bits (`#n` already multiplied out).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum BitFieldOp {
    Get {
        ty: BitFieldType,
        offset: u64,
    },
    Set {
        ty: BitFieldType,
        offset: u64,
        value: i64,
        overflow: BitOverflow,
    },
    IncrBy {
        ty: BitFieldType,
        offset: u64,
        delta: i64,
        overflow: BitOverflow,
    },
}

/// How `FUNCTION RESTORE` joins the payload's libraries with the loaded ones.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum FunctionRestorePolicy {
    /// `FLUSH`: delete every loaded library first.
    Flush,
    /// `APPEND` (the default): fail on a library already loaded.
    Append,
    /// `REPLACE`: replace loaded libraries of the same name.
    Replace,
}

/// One key a client WATCHes, as storaged handed it out; the proxy sends it back unchanged
/// with `EXEC` or to release it.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct WatchToken {
    pub db: u8,
    pub key: Vec<u8>,
    /// storaged's random boot id: a token from another boot always fails `EXEC`.
    pub boot: u64,
    /// Which incarnation of the key's watch-table entry (0: none was made; fails `EXEC`).
    pub entry: u64,
    /// The entry's modification version at `WATCH` time.
    pub version: u64,
    /// The key's expiry time if it was live with a TTL at `WATCH` time, else 0: `EXEC`
    /// fails once this time has passed.
    pub expire_at_ms: u64,
}

/// One end of a sorted-set score range: `1.5`, `(1.5`, `-inf`, `+inf`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[rkyv(derive(Debug))]
pub struct ScoreBound {
    pub value: f64,
    /// `(` prefix: the bound itself is outside the range.
    pub exclusive: bool,
}

/// One end of a sorted-set lex range: `-`, `+`, `[a`, `(a`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

/// What a sorted-set range selects, always as (low, high) in ascending order: the proxy
/// swaps the arguments of the `REV` forms.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub enum ZRangeBy {
    /// Ranks with Redis's negative-from-end indexes; for `REV` ranges they count from the
    /// highest score.
    Rank {
        start: i64,
        stop: i64,
    },
    Score {
        min: ScoreBound,
        max: ScoreBound,
    },
    Lex {
        min: LexBound,
        max: LexBound,
    },
}

/// `LIMIT offset count` of a score or lex range; a negative count means "all".
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct ZLimit {
    pub offset: i64,
    pub count: i64,
}

/// `NX` / `XX` of `ZADD`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ZAddCondition {
    Always,
    /// Only add new members.
    Nx,
    /// Only update existing members.
    Xx,
}

/// `GT` / `LT` of `ZADD`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ZAddCompare {
    Any,
    Gt,
    Lt,
}

/// The options of `ZADD`, already checked for compatibility.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct ZAddOptions {
    pub condition: ZAddCondition,
    pub compare: ZAddCompare,
    /// `CH`: reply added + updated instead of added.
    pub changed: bool,
    /// `INCR`: exactly one pair, reply the new score (or nil).
    pub incr: bool,
}

/// Which end `ZPOPMIN`/`ZPOPMAX`/`ZMPOP` take from.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ZEnd {
    Min,
    Max,
}

/// The set operation of `ZUNION`/`ZINTER`/`ZDIFF` and their `STORE` forms.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ZSetOp {
    Union,
    Inter,
    Diff,
}

/// `AGGREGATE` of `ZUNION`/`ZINTER`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ZAggregate {
    Sum,
    Min,
    Max,
}

/// Destination database of `COPY`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct CopyTarget {
    pub db: u8,
    pub replace: bool,
}

/// One end of a list: `LEFT` (head) or `RIGHT` (tail).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ListEnd {
    Left,
    Right,
}

/// A stream entry id, `ms-seq` (issue 16).
#[derive(
    Archive, Serialize, Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord,
)]
#[rkyv(derive(Debug))]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

/// The id argument of `XADD`; the automatic forms are resolved by storaged, against the
/// stream's last id and its clock.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum XAddId {
    /// `*`.
    Auto,
    /// `<ms>-*`.
    AutoSeq(u64),
    /// `<ms>-<seq>` (or `<ms>`, sequence 0).
    Explicit(StreamId),
}

/// The trimming strategy of `XADD`/`XTRIM`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum StreamTrimKind {
    MaxLen(u64),
    MinId(StreamId),
}

/// `MAXLEN|MINID [=|~] threshold [LIMIT count]`, resolved as Redis does: `limit` 0 means
/// none (always for `=`; `~` without `LIMIT` gets Redis's default of 10000).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct StreamTrim {
    pub kind: StreamTrimKind,
    pub approx: bool,
    pub limit: u64,
}

/// The id argument of `XGROUP CREATE|SETID`, which Redis parses after the key and group
/// lookups (so a malformed one travels as `Invalid`).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum XGroupId {
    Id(StreamId),
    /// `$`: the stream's last id.
    Last,
    Invalid,
}

/// An `XGROUP` subcommand (besides `HELP`).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum XGroupOp {
    /// `CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]`; `entries_read` -1 when not given.
    Create {
        id: XGroupId,
        mkstream: bool,
        entries_read: i64,
    },
    /// `SETID key group id|$ [ENTRIESREAD n]`.
    SetId {
        id: XGroupId,
        entries_read: i64,
    },
    Destroy,
    CreateConsumer {
        consumer: Vec<u8>,
    },
    DelConsumer {
        consumer: Vec<u8>,
    },
}

/// One id argument of `XREAD`. Errors Redis reports only after checking the type of the
/// keys before it travel as variants, so storaged answers them in Redis's order.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum XReadId {
    Id(StreamId),
    /// `$`: the stream's last id when the command runs.
    Last,
    /// `>` given to `XREAD` (an error there).
    NewOnly,
    /// Not a valid id.
    Invalid,
}

/// The delivery time `XCLAIM` gives what it claims (the last of its `IDLE`/`TIME`
/// options); storaged resolves it against its clock, and a value before 0 or after now is
/// now, as in Redis.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum XClaimTime {
    /// Neither option: now.
    Now,
    /// `IDLE ms`: now minus `ms`.
    Idle(i64),
    /// `TIME ms`: that unix time in milliseconds.
    Time(i64),
}

/// What a [`Command::BlockingPop`] pops, which also fixes its reply shape.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum BlockingOp {
    /// `BLPOP`/`BRPOP`: `[key, element]`.
    List { end: ListEnd },
    /// `BLMPOP`: `[key, [element...]]`.
    ListMulti { end: ListEnd, count: u64 },
    /// `BLMOVE`/`BRPOPLPUSH` from the one source key: the element.
    Move {
        dst: Vec<u8>,
        from: ListEnd,
        to: ListEnd,
    },
    /// `BZPOPMIN`/`BZPOPMAX`: `[key, member, score]`.
    ZSet { end: ZEnd },
    /// `BZMPOP`: `[key, [[member, score]...]]`.
    ZSetMulti { end: ZEnd, count: u64 },
    /// `XREAD … BLOCK ms STREAMS key... id...`: reads, pops nothing; `ids` one per key,
    /// `count` 0 for no limit. Served with `[[key, entries]]` of the key that got entries
    /// above its id (`$` resolved to the stream's last id when the wait began).
    StreamRead { count: u64, ids: Vec<XReadId> },
    /// `XREADGROUP … BLOCK ms STREAMS key... id...`: run at once as the plain
    /// [`Command::XReadGroup`]; parked only when every id is `>` and nothing was new, then
    /// served `[[key, entries]]` above the group's last id when it moves past it (up to
    /// `count`, 1000 when 0, as Redis serves a blocked reader), with pending entries unless
    /// `noack`.
    StreamReadGroup {
        group: Vec<u8>,
        consumer: Vec<u8>,
        count: u64,
        noack: bool,
        ids: Vec<XReadId>,
    },
}

/// The extended form of `XPENDING`: `[IDLE min_idle] start end count [consumer]`, bounds
/// already stepped past exclusive `(` ones.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct XPendingRange {
    /// Entries idle for less are left out; 0 means no filter (Redis's test is `if
    /// (minidle)`, so a negative value keeps everything).
    pub min_idle: i64,
    pub start: StreamId,
    pub end: StreamId,
    /// At most this many (negative counts are 0).
    pub count: u64,
    pub consumer: Option<Vec<u8>>,
}

/// How a blocking pop waits. Times are unix milliseconds on the proxy's clock, fixed when
/// the request is made, so a resend after a storaged restart waits for the same deadline.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct Wait {
    /// When storaged answers with the timeout reply; 0 waits until served or unblocked.
    pub deadline_ms: u64,
    /// When the client started waiting: waiters of a key are served oldest first, across
    /// proxies, and a renewed or resent request keeps its place.
    pub since_ms: u64,
    /// The waiting client, for [`Command::Unblock`]: the proxy's instance id and its
    /// client id.
    pub proxy: u64,
    pub client: u64,
    /// False on the first request of a wait, true on each request that renews it (a proxy
    /// cuts a long wait into segments). storaged serves a renewal as a client blocked all
    /// along, as Redis 7.0 does: from a key of the type it pops, passing over keys of
    /// another type where a first request is `WRONGTYPE`.
    pub renewed: bool,
}

/// The options of `SORT`/`SORT_RO` but `STORE`, as the parser read them (the last `BY`,
/// `LIMIT`, `ASC|DESC` win, as in Redis). `by` is kept even without a `*` (it then means
/// "do not sort"); storaged reads the pattern keys, since the keys derive from the data.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[rkyv(derive(Debug))]
pub struct SortOptions {
    pub by: Option<Vec<u8>>,
    /// `LIMIT offset count`, as given (negative and huge values are storaged's to clamp).
    pub limit: Option<(i64, i64)>,
    pub get: Vec<Vec<u8>>,
    pub desc: bool,
    pub alpha: bool,
}

/// The subcommand of `PFDEBUG`. Redis looks the key up before it reads the subcommand, so
/// an unknown one travels as [`PfDebugOp::Unknown`] (its name as the client wrote it) and
/// storaged answers it after the key checks.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum PfDebugOp {
    GetReg,
    Decode,
    Encoding,
    ToDense,
    Unknown(Vec<u8>),
}

/// One step of a geo search's argument parse, in the client's order. Redis looks the key
/// up (and answers `WRONGTYPE`) before it reads any search argument, and a `FROMMEMBER`
/// lookup fails only when the key exists, so the proxy resolves every argument it can and
/// leaves each error at its place: storaged runs the steps in order once it has the key.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub enum GeoStep {
    /// `FROMLONLAT lon lat` or `GEORADIUS`'s centre, already range-checked.
    Center { lon: f64, lat: f64 },
    /// `FROMMEMBER member` or `GEORADIUSBYMEMBER`'s member: the centre is its position
    /// (`ERR could not decode requested zset member` when absent; skipped for a missing key).
    Member(Vec<u8>),
    /// `BYRADIUS radius unit`: `radius` in the unit, `unit_m` meters per unit.
    Radius { radius: f64, unit_m: f64 },
    /// `BYBOX width height unit`.
    Box {
        width: f64,
        height: f64,
        unit_m: f64,
    },
    /// The error Redis raises at this point (its full text, `ERR …`); the search stops here.
    Error(String),
}

/// Order of a geo search's results by distance.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum GeoOrder {
    /// The order the cells were scanned in (`ASC` is forced by `COUNT` without `ANY`).
    Unsorted,
    Asc,
    Desc,
}

/// Where a geo search stores its result (`GEOSEARCHSTORE`, `GEORADIUS … STORE|STOREDIST`).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct GeoStore {
    pub dst: Vec<u8>,
    /// `STOREDIST`: scores are distances in the query's unit, not geohashes.
    pub dist: bool,
    /// `GEOSEARCHSTORE` (event `geosearchstore`) rather than `GEORADIUS` (`georadiusstore`).
    pub search: bool,
}

/// A parsed `GEOSEARCH`/`GEOSEARCHSTORE`/`GEORADIUS*` (see [`GeoStep`] for the errors).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct GeoQuery {
    pub steps: Vec<GeoStep>,
    /// How many leading steps run only when the key exists: `GEORADIUSBYMEMBER`'s member and
    /// radius, which Redis does not read at all for a missing key (0 for the others).
    pub keyed_steps: u8,
    pub order: GeoOrder,
    /// `COUNT n` (0: none).
    pub count: u64,
    /// `ANY`: stop scanning once `count` matches are found.
    pub any: bool,
    pub with_coord: bool,
    pub with_dist: bool,
    pub with_hash: bool,
    pub store: Option<GeoStore>,
}

/// A typed storage command. Keys are raw bytes; the database comes from the enclosing
/// [`crate::wire::Request`].
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub enum Command {
    // ---- strings ----
    Get {
        key: Vec<u8>,
    },
    /// `SET`, `SETEX`, `PSETEX`, `GETSET` (`get` = true).
    Set {
        key: Vec<u8>,
        value: Vec<u8>,
        condition: SetCondition,
        expiry: SetExpiry,
        get: bool,
    },
    /// `SETNX`: replies 1/0.
    SetNx {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    MGet {
        keys: Vec<Vec<u8>>,
    },
    /// `MSET`: pairs of key, value.
    MSet {
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// `MSETNX`: replies 1 if all were set, 0 if none (any key existed).
    MSetNx {
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    GetDel {
        key: Vec<u8>,
    },
    GetEx {
        key: Vec<u8>,
        expiry: GetExExpiry,
    },
    Append {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    StrLen {
        key: Vec<u8>,
    },
    /// `GETRANGE`/`SUBSTR` with Redis's inclusive, negative-from-end indexes.
    GetRange {
        key: Vec<u8>,
        start: i64,
        end: i64,
    },
    /// `SETRANGE`; the proxy has already checked `offset + len` against the size limit.
    SetRange {
        key: Vec<u8>,
        offset: u64,
        value: Vec<u8>,
    },
    /// `SETBIT`; the proxy has checked `offset` against `proto-max-bulk-len`.
    SetBit {
        key: Vec<u8>,
        offset: u64,
        on: bool,
    },
    /// `GETBIT`.
    GetBit {
        key: Vec<u8>,
        offset: u64,
    },
    /// `BITCOUNT key [start end [BYTE|BIT]]`.
    BitCount {
        key: Vec<u8>,
        range: BitRange,
    },
    /// `BITPOS key bit [start [end [BYTE|BIT]]]`.
    BitPos {
        key: Vec<u8>,
        bit: bool,
        range: BitRange,
    },
    /// `BITOP op destkey key [key ...]` (`NOT`: exactly one source, checked by the proxy).
    BitOp {
        op: BitOpKind,
        dest: Vec<u8>,
        keys: Vec<Vec<u8>>,
    },
    /// `BITFIELD key [GET|SET|INCRBY|OVERFLOW ...]`, operations in order.
    BitField {
        key: Vec<u8>,
        ops: Vec<BitFieldOp>,
    },
    /// `BITFIELD_RO key [GET type offset ...]` (only `BitFieldOp::Get`, checked by the proxy).
    BitFieldRo {
        key: Vec<u8>,
        ops: Vec<BitFieldOp>,
    },
    /// `INCR`, `DECR`, `INCRBY`, `DECRBY`.
    IncrBy {
        key: Vec<u8>,
        delta: i64,
    },
    /// `INCRBYFLOAT`; `delta` is the client's text (already checked to be a float by the
    /// proxy), because Redis adds in `long double` and an f64 would lose digits.
    IncrByFloat {
        key: Vec<u8>,
        delta: Vec<u8>,
    },
    Lcs {
        key1: Vec<u8>,
        key2: Vec<u8>,
        mode: LcsMode,
    },

    // ---- keys ----
    /// `DEL` and `UNLINK`: replies the number removed.
    Del {
        keys: Vec<Vec<u8>>,
    },
    /// Replies how many of the keys exist, counting repeats.
    Exists {
        keys: Vec<Vec<u8>>,
    },
    Type {
        key: Vec<u8>,
    },
    /// `MEMORY USAGE key [SAMPLES n]`: an estimate of the bytes the key and its value take,
    /// or nil. Collections are sampled: `samples` sub-records (0: all) are read and their
    /// average size is scaled by the element count, as Redis samples nested values.
    MemoryUsage {
        key: Vec<u8>,
        samples: u64,
    },
    Touch {
        keys: Vec<Vec<u8>>,
    },
    /// The whole `EXPIRE` family, resolved to an absolute unix-ms time. A time at or before
    /// now deletes the key (as Redis does).
    Expire {
        key: Vec<u8>,
        at_ms: i64,
        condition: ExpireCondition,
    },
    Ttl {
        key: Vec<u8>,
        unit: TimeUnit,
    },
    ExpireTime {
        key: Vec<u8>,
        unit: TimeUnit,
    },
    Persist {
        key: Vec<u8>,
    },
    Rename {
        src: Vec<u8>,
        dst: Vec<u8>,
    },
    RenameNx {
        src: Vec<u8>,
        dst: Vec<u8>,
    },
    Copy {
        src: Vec<u8>,
        dst: Vec<u8>,
        target: CopyTarget,
    },
    Move {
        key: Vec<u8>,
        db: u8,
    },
    Keys {
        pattern: Vec<u8>,
    },
    /// `SCAN cursor [MATCH p] [COUNT n] [TYPE t]`. The cursor is opaque to clients.
    Scan {
        cursor: u64,
        pattern: Option<Vec<u8>>,
        count: u64,
        kind: ScanType,
    },
    RandomKey,
    DbSize,
    FlushDb,
    FlushAll,

    // ---- pub/sub (storaged routes; nothing is stored) ----
    /// `PUBLISH`: replies the number of clients, on every proxy, that received it.
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    /// `PUBSUB CHANNELS [pattern]`: active channels across all proxies.
    PubSubChannels {
        pattern: Option<Vec<u8>>,
    },
    /// `PUBSUB NUMSUB [channel ...]`: flat array of channel, count.
    PubSubNumSub {
        channels: Vec<Vec<u8>>,
    },
    /// `SPUBLISH shardchannel message` (H7): to shard-channel subscribers only; replies
    /// their count.
    SPublish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    /// `PUBSUB SHARDCHANNELS [pattern]`: shard channels with subscribers, across proxies.
    PubSubShardChannels {
        pattern: Option<Vec<u8>>,
    },
    /// `PUBSUB SHARDNUMSUB [shardchannel ...]`: flat array of shard channel, count.
    PubSubShardNumSub {
        channels: Vec<Vec<u8>>,
    },
    /// `PUBSUB NUMPAT`: distinct patterns across all proxies.
    PubSubNumPat,
    /// `CONFIG SET notify-keyspace-events`: the already validated flags, in Redis's
    /// canonical letters. storaged keeps them (its own setting, shared by every proxy).
    SetNotifyKeyspaceEvents {
        flags: String,
    },
    /// `CONFIG GET notify-keyspace-events`: replies the flags as a bulk string.
    GetNotifyKeyspaceEvents,

    // ---- hashes ----
    /// `HSET`: replies the number of fields created.
    HSet {
        key: Vec<u8>,
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// `HMSET`: as `HSET`, replies `+OK`.
    HMSet {
        key: Vec<u8>,
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    HSetNx {
        key: Vec<u8>,
        field: Vec<u8>,
        value: Vec<u8>,
    },
    HGet {
        key: Vec<u8>,
        field: Vec<u8>,
    },
    HMGet {
        key: Vec<u8>,
        fields: Vec<Vec<u8>>,
    },
    HDel {
        key: Vec<u8>,
        fields: Vec<Vec<u8>>,
    },
    HLen {
        key: Vec<u8>,
    },
    HStrLen {
        key: Vec<u8>,
        field: Vec<u8>,
    },
    HExists {
        key: Vec<u8>,
        field: Vec<u8>,
    },
    HGetAll {
        key: Vec<u8>,
    },
    HKeys {
        key: Vec<u8>,
    },
    HVals {
        key: Vec<u8>,
    },
    HIncrBy {
        key: Vec<u8>,
        field: Vec<u8>,
        delta: i64,
    },
    /// `HINCRBYFLOAT`; `delta` is the client's text (checked to be a finite float by the
    /// proxy), added in `long double` as `INCRBYFLOAT` does.
    HIncrByFloat {
        key: Vec<u8>,
        field: Vec<u8>,
        delta: Vec<u8>,
    },
    /// `HSCAN key cursor [MATCH p] [COUNT n]`. Redis reports bad options only once the key
    /// exists and is a hash, so a bad option travels as `invalid` instead of failing in the
    /// proxy.
    HScan {
        key: Vec<u8>,
        cursor: u64,
        pattern: Option<Vec<u8>>,
        count: u64,
        invalid: Option<ScanOptionError>,
    },
    /// `HRANDFIELD key [count [WITHVALUES]]`; `count` is `None` for the single-field form.
    /// A negative count allows repeats. The proxy has range-checked it.
    HRandField {
        key: Vec<u8>,
        count: Option<i64>,
        with_values: bool,
    },

    // ---- sets ----
    /// `SADD`: replies the number of members added.
    SAdd {
        key: Vec<u8>,
        members: Vec<Vec<u8>>,
    },
    /// `SREM`: replies the number of members removed.
    SRem {
        key: Vec<u8>,
        members: Vec<Vec<u8>>,
    },
    SCard {
        key: Vec<u8>,
    },
    SIsMember {
        key: Vec<u8>,
        member: Vec<u8>,
    },
    SMIsMember {
        key: Vec<u8>,
        members: Vec<Vec<u8>>,
    },
    SMembers {
        key: Vec<u8>,
    },
    /// `SPOP key`: one member (bulk) or nil.
    SPop {
        key: Vec<u8>,
    },
    /// `SPOP key count`: up to `count` distinct members, as a set reply.
    SPopCount {
        key: Vec<u8>,
        count: u64,
    },
    /// `SRANDMEMBER key`: one member (bulk) or nil.
    SRandMember {
        key: Vec<u8>,
    },
    /// `SRANDMEMBER key count`: distinct members for a positive count, `-count` members
    /// with repeats for a negative one, as an array. The proxy has bounded the magnitude.
    SRandMemberCount {
        key: Vec<u8>,
        count: i64,
    },
    SMove {
        src: Vec<u8>,
        dst: Vec<u8>,
        member: Vec<u8>,
    },
    SInter {
        keys: Vec<Vec<u8>>,
    },
    /// `SINTERCARD numkeys key.. [LIMIT n]`; `limit` 0 means no limit.
    SInterCard {
        keys: Vec<Vec<u8>>,
        limit: u64,
    },
    SInterStore {
        dst: Vec<u8>,
        keys: Vec<Vec<u8>>,
    },
    SUnion {
        keys: Vec<Vec<u8>>,
    },
    SUnionStore {
        dst: Vec<u8>,
        keys: Vec<Vec<u8>>,
    },
    SDiff {
        keys: Vec<Vec<u8>>,
    },
    SDiffStore {
        dst: Vec<u8>,
        keys: Vec<Vec<u8>>,
    },
    /// `SSCAN key cursor [MATCH p] [COUNT n]`; a bad option travels as `invalid` because
    /// Redis reports it only once the key exists and is a set.
    SScan {
        key: Vec<u8>,
        cursor: u64,
        pattern: Option<Vec<u8>>,
        count: u64,
        invalid: Option<ScanOptionError>,
    },

    // ---- sorted sets ----
    /// `ZADD`: replies added (or changed with `CH`) count, or the new score with `INCR`.
    ZAdd {
        key: Vec<u8>,
        options: ZAddOptions,
        pairs: Vec<(f64, Vec<u8>)>,
    },
    /// `ZINCRBY`: replies the new score.
    ZIncrBy {
        key: Vec<u8>,
        delta: f64,
        member: Vec<u8>,
    },
    ZRem {
        key: Vec<u8>,
        members: Vec<Vec<u8>>,
    },
    ZCard {
        key: Vec<u8>,
    },
    ZScore {
        key: Vec<u8>,
        member: Vec<u8>,
    },
    ZMScore {
        key: Vec<u8>,
        members: Vec<Vec<u8>>,
    },
    ZCount {
        key: Vec<u8>,
        min: ScoreBound,
        max: ScoreBound,
    },
    ZLexCount {
        key: Vec<u8>,
        min: LexBound,
        max: LexBound,
    },
    /// `ZRANGE` and its older forms (`ZRANGEBYSCORE`, `ZREVRANGE`, `ZRANGEBYLEX` …).
    ZRange {
        key: Vec<u8>,
        by: ZRangeBy,
        rev: bool,
        limit: Option<ZLimit>,
        with_scores: bool,
    },
    /// `ZRANGESTORE`: replies the stored count; an empty result deletes `dst`.
    ZRangeStore {
        dst: Vec<u8>,
        src: Vec<u8>,
        by: ZRangeBy,
        rev: bool,
        limit: Option<ZLimit>,
    },
    /// `ZRANK` / `ZREVRANK`, with `WITHSCORE` (Redis 7.2) when `with_score`.
    ZRank {
        key: Vec<u8>,
        member: Vec<u8>,
        rev: bool,
        with_score: bool,
    },
    /// `ZREMRANGEBYRANK` / `ZREMRANGEBYSCORE` / `ZREMRANGEBYLEX`.
    ZRemRange {
        key: Vec<u8>,
        by: ZRangeBy,
    },
    /// `ZPOPMIN` / `ZPOPMAX`; `count` is `None` for the form without a count (a flat
    /// `[member, score]` reply).
    ZPop {
        key: Vec<u8>,
        end: ZEnd,
        count: Option<u64>,
    },
    /// `ZMPOP numkeys key... MIN|MAX [COUNT n]`: pops from the first non-empty key.
    ZMPop {
        keys: Vec<Vec<u8>>,
        end: ZEnd,
        count: u64,
    },
    /// `ZRANDMEMBER key [count [WITHSCORES]]`; a negative count allows repeats.
    ZRandMember {
        key: Vec<u8>,
        count: Option<i64>,
        with_scores: bool,
    },
    /// `ZSCAN key cursor [MATCH p] [COUNT n]`; bad options are reported after the key's
    /// existence and type checks, as Redis does.
    ZScan {
        key: Vec<u8>,
        cursor: u64,
        pattern: Option<Vec<u8>>,
        count: u64,
        invalid: Option<ScanOptionError>,
    },
    /// `ZUNION` / `ZINTER` / `ZDIFF`; `weights` is empty when not given. Plain sets count
    /// as sorted sets with every score 1, as in Redis.
    ZCombine {
        op: ZSetOp,
        keys: Vec<Vec<u8>>,
        weights: Vec<f64>,
        aggregate: ZAggregate,
        with_scores: bool,
    },
    /// `ZUNIONSTORE` / `ZINTERSTORE` / `ZDIFFSTORE`: replies the stored count.
    ZCombineStore {
        dst: Vec<u8>,
        op: ZSetOp,
        keys: Vec<Vec<u8>>,
        weights: Vec<f64>,
        aggregate: ZAggregate,
    },
    /// `ZINTERCARD numkeys key... [LIMIT n]`; `limit` 0 means no limit.
    ZInterCard {
        keys: Vec<Vec<u8>>,
        limit: u64,
    },

    // ---- lists ----
    /// `LPUSH`/`RPUSH` (and `LPUSHX`/`RPUSHX` with `only_existing`): replies the new length.
    LPush {
        key: Vec<u8>,
        end: ListEnd,
        elements: Vec<Vec<u8>>,
        only_existing: bool,
    },
    /// `LPOP`/`RPOP`; `count` is `None` for the single-element form (a bulk reply).
    LPop {
        key: Vec<u8>,
        end: ListEnd,
        count: Option<u64>,
    },
    LLen {
        key: Vec<u8>,
    },
    LIndex {
        key: Vec<u8>,
        index: i64,
    },
    LSet {
        key: Vec<u8>,
        index: i64,
        element: Vec<u8>,
    },
    LRange {
        key: Vec<u8>,
        start: i64,
        stop: i64,
    },
    LTrim {
        key: Vec<u8>,
        start: i64,
        stop: i64,
    },
    /// `LREM key count element`: `count` > 0 from the head, < 0 from the tail, 0 all.
    LRem {
        key: Vec<u8>,
        count: i64,
        element: Vec<u8>,
    },
    LInsert {
        key: Vec<u8>,
        before: bool,
        pivot: Vec<u8>,
        element: Vec<u8>,
    },
    /// `LPOS key element [RANK r] [COUNT c] [MAXLEN m]`; `rank` is never 0 (the proxy
    /// refuses it), `maxlen` 0 means no limit, `count` `None` for the single-index form.
    LPos {
        key: Vec<u8>,
        element: Vec<u8>,
        rank: i64,
        count: Option<u64>,
        maxlen: u64,
    },
    /// `LMOVE src dst from to` (`RPOPLPUSH` is `RIGHT LEFT`).
    LMove {
        src: Vec<u8>,
        dst: Vec<u8>,
        from: ListEnd,
        to: ListEnd,
    },
    /// `LMPOP numkeys key... LEFT|RIGHT [COUNT n]`: pops from the first non-empty list.
    LMPop {
        keys: Vec<Vec<u8>>,
        end: ListEnd,
        count: u64,
    },

    // ---- blocking pops (storaged/src/blocking.rs; the writer parks them) ----
    /// `BLPOP` `BRPOP` `BLMPOP` `BLMOVE` `BRPOPLPUSH` `BZPOPMIN` `BZPOPMAX` `BZMPOP`. Run at
    /// once like the non-blocking form; when every key is empty and the command is the only
    /// one of its request (so never inside `EXEC`), storaged parks the request until a write
    /// makes a key ready, `wait.deadline_ms` passes (timeout reply) or an [`Command::Unblock`]
    /// names its waiter.
    BlockingPop {
        op: BlockingOp,
        /// Source keys, in the client's order (one for `BLMOVE`/`BRPOPLPUSH`).
        keys: Vec<Vec<u8>>,
        wait: Wait,
    },
    /// `CLIENT UNBLOCK` or a blocked client's disconnect: answers the parked request of
    /// `(proxy, client)` now, with the timeout reply or (`error`) `-UNBLOCKED`. Replies 1 if
    /// a request was parked, 0 if none was (not parked yet, or already answered).
    Unblock {
        proxy: u64,
        client: u64,
        error: bool,
    },

    // ---- transactions (storaged/src/watch.rs; the writer handles these, not the executor) ----
    /// `WATCH key...` in the request's database: registers the keys in storaged's watch
    /// table and replies `[boot, [[entry, version, expire_at_ms], ...]]` (integers), which
    /// the proxy keeps as one [`WatchToken`] per key.
    Watch {
        keys: Vec<Vec<u8>>,
    },
    /// Releases watch-table entries (UNWATCH, DISCARD, RESET, client disconnect). Replies OK.
    Unwatch {
        watches: Vec<WatchToken>,
    },
    /// `EXEC`: every command after this marker in the same request is the transaction.
    /// storaged checks (then releases) the watches: if one fails it replies a null array
    /// and runs nothing (the later commands get a placeholder `Nil` each); otherwise it
    /// replies the number of commands that follow, then runs them.
    Exec {
        watches: Vec<WatchToken>,
    },
    /// `SELECT` queued inside `MULTI`: the commands after it in this request run in `db`.
    /// Replies OK.
    SelectDb {
        db: u8,
    },

    // ---- server ----
    /// Storage statistics for `INFO`: replies a bulk string of `name:value` lines in
    /// INFO's format (sections `keyspace`, `storage`, and storaged-side `stats` fields).
    Info,
    /// Makes a RocksDB checkpoint (a consistent copy of the database, hard-linked where the
    /// filesystem allows) in `dir`, which must not exist, without stopping. Replies the
    /// directory as a bulk string. Sent by `tandem-storaged checkpoint`.
    Checkpoint {
        dir: Vec<u8>,
    },
    /// `SAVE`: a checkpoint into storaged's save directory (`save-dir`), replacing the
    /// previous save once complete; replies OK when it is written.
    Save,
    /// `BGSAVE [SCHEDULE]`: the same checkpoint on a thread of its own; replies at once.
    /// `schedule` changes nothing (Redis schedules only behind an AOF rewrite, which
    /// tandem has not); the parser keeps it for the record.
    BgSave {
        schedule: bool,
    },
    /// `LASTSAVE`: storaged's time of its last successful save, in UNIX seconds (its
    /// start-up time before any), the same through every proxy.
    LastSave,
    /// `BGREWRITEAOF`: tandem's log is RocksDB's WAL; a rewrite flushes every memtable on a
    /// thread of its own, after which the WAL files they needed are dropped.
    BgRewriteAof,

    // ---- scripting (storaged/src/scripts.rs; the writer runs them, atomically) ----
    /// `EVAL` (`EVAL_RO` when `read_only`): caches `body` and runs it. `numkeys` is checked
    /// by the parser, so `keys` and `args` are already split.
    Eval {
        body: Vec<u8>,
        keys: Vec<Vec<u8>>,
        args: Vec<Vec<u8>>,
        read_only: bool,
        /// The calling client when its ACL user is restricted (v7, set by the proxy):
        /// storaged checks the script's `redis.call`s against it. `None`: no check.
        caller: Option<Box<ScriptCaller>>,
    },
    /// `EVALSHA` (`EVALSHA_RO` when `read_only`): runs the cached script whose SHA1 is `sha`
    /// (40 characters, any case; a shorter one was answered `NOSCRIPT` by the parser).
    EvalSha {
        sha: Vec<u8>,
        keys: Vec<Vec<u8>>,
        args: Vec<Vec<u8>>,
        read_only: bool,
        /// As `Eval`'s.
        caller: Option<Box<ScriptCaller>>,
    },
    /// `SCRIPT LOAD`.
    ScriptLoad {
        body: Vec<u8>,
    },
    /// `SCRIPT EXISTS`.
    ScriptExists {
        shas: Vec<Vec<u8>>,
    },
    /// `SCRIPT FLUSH [ASYNC|SYNC]` (both empty the cache at once).
    ScriptFlush,
    /// `SCRIPT HELP`.
    ScriptHelp,
    /// `SCRIPT KILL`: storaged answers it alone at once, beside a running script.
    ScriptKill,
    /// `FCALL` (`FCALL_RO` when `read_only`). `numkeys` is `None` when it is not an
    /// integer: Redis looks the function up first, so storaged checks it (`args` holds every
    /// argument after it).
    FCall {
        function: Vec<u8>,
        numkeys: Option<i64>,
        args: Vec<Vec<u8>>,
        read_only: bool,
        /// As `Eval`'s.
        caller: Option<Box<ScriptCaller>>,
    },
    /// `FUNCTION LOAD [REPLACE] code`.
    FunctionLoad {
        code: Vec<u8>,
        replace: bool,
    },
    /// `FUNCTION DELETE library`.
    FunctionDelete {
        library: Vec<u8>,
    },
    /// `FUNCTION FLUSH [ASYNC|SYNC]`.
    FunctionFlush,
    /// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`.
    FunctionList {
        pattern: Option<Vec<u8>>,
        with_code: bool,
    },
    /// `FUNCTION DUMP`.
    FunctionDump,
    /// `FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]`.
    FunctionRestore {
        payload: Vec<u8>,
        policy: FunctionRestorePolicy,
    },

    // ---- streams (storaged/src/types/stream; issue 16) ----
    /// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] id field value
    /// [field value ...]`; `id` 0-0 was refused by the parser.
    XAdd {
        key: Vec<u8>,
        id: XAddId,
        no_mkstream: bool,
        trim: Option<StreamTrim>,
        fields: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// `XRANGE`/`XREVRANGE` (`rev`): entries with `start <= id <= end` (exclusive bounds
    /// already stepped by the parser), at most `count` of them (`None` for no `COUNT`;
    /// `Some(0)` replies a null array, as Redis does for `COUNT` 0 or negative).
    XRange {
        key: Vec<u8>,
        start: StreamId,
        end: StreamId,
        count: Option<u64>,
        rev: bool,
    },
    XLen {
        key: Vec<u8>,
    },
    /// `XDEL key id [id ...]`; `ids` is `None` when one is malformed, which Redis reports
    /// only for an existing stream.
    XDel {
        key: Vec<u8>,
        ids: Option<Vec<StreamId>>,
    },
    /// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`.
    XTrim {
        key: Vec<u8>,
        trim: StreamTrim,
    },
    /// `XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]`; the parser checked that
    /// `max_deleted` is not above `last`.
    XSetId {
        key: Vec<u8>,
        last: StreamId,
        entries_added: Option<u64>,
        max_deleted: Option<StreamId>,
    },
    /// `XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER key group ...`. `sub` is the
    /// subcommand as typed and `late_syntax` a syntax error Redis reports only after the key
    /// and group lookups (too many arguments for CREATE/SETID), both for its error text.
    XGroup {
        key: Vec<u8>,
        group: Vec<u8>,
        op: XGroupOp,
        sub: Vec<u8>,
        late_syntax: bool,
    },
    /// `XGROUP HELP`.
    XGroupHelp,
    /// `XREAD [COUNT n] STREAMS key... id...` without `BLOCK` (with it, a
    /// [`Command::BlockingPop`] of [`BlockingOp::StreamRead`]): `count` 0 means no limit.
    XRead {
        count: u64,
        keys: Vec<Vec<u8>>,
        ids: Vec<XReadId>,
    },
    // ---- stream consumer groups (types/stream/consume.rs; issue 16) ----
    /// `XREADGROUP GROUP group consumer [COUNT n] [NOACK] STREAMS key... id...` without
    /// `BLOCK` (with it, a [`Command::BlockingPop`] of [`BlockingOp::StreamReadGroup`]):
    /// `count` 0 means no limit; `>` is [`XReadId::NewOnly`], and `$` or a malformed id
    /// travel as variants, which Redis reports only after the keys before them.
    XReadGroup {
        group: Vec<u8>,
        consumer: Vec<u8>,
        count: u64,
        noack: bool,
        keys: Vec<Vec<u8>>,
        ids: Vec<XReadId>,
    },
    /// `XACK key group id...`; `ids` is `None` when one is malformed, which Redis reports
    /// only for an existing group.
    XAck {
        key: Vec<u8>,
        group: Vec<u8>,
        ids: Option<Vec<StreamId>>,
    },
    /// `XPENDING key group [[IDLE min-idle] start end count [consumer]]`; `range` `None` is
    /// the summary form.
    XPending {
        key: Vec<u8>,
        group: Vec<u8>,
        range: Option<XPendingRange>,
    },
    // ---- stream introspection and claiming (types/stream/{info,claim}.rs; issue 16) ----
    /// `XINFO STREAM key [FULL [COUNT n]]`: `count` 0 shows everything (FULL only).
    /// `error` is the full text of an option error, which Redis reports only after the key
    /// lookup.
    XInfoStream {
        key: Vec<u8>,
        full: bool,
        count: u64,
        error: Option<String>,
    },
    /// `XINFO GROUPS key`.
    XInfoGroups {
        key: Vec<u8>,
    },
    /// `XINFO CONSUMERS key group`.
    XInfoConsumers {
        key: Vec<u8>,
        group: Vec<u8>,
    },
    /// `XINFO HELP`.
    XInfoHelp,
    /// `XCLAIM key group consumer min-idle-time id... [IDLE ms] [TIME ms] [RETRYCOUNT n]
    /// [FORCE] [JUSTID] [LASTID id]`. `min_idle` is clamped at 0 and `retry_count` is
    /// `None` when absent or negative, as Redis treats them; `error` is the full text of
    /// the first argument error, which Redis reports only after the key and group lookups.
    XClaim {
        key: Vec<u8>,
        group: Vec<u8>,
        consumer: Vec<u8>,
        min_idle: u64,
        ids: Vec<StreamId>,
        delivery: XClaimTime,
        retry_count: Option<u64>,
        force: bool,
        justid: bool,
        last_id: StreamId,
        error: Option<String>,
    },
    /// `XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]`; `start` is
    /// already stepped past an exclusive `(` bound and `min_idle` clamped at 0.
    XAutoClaim {
        key: Vec<u8>,
        group: Vec<u8>,
        consumer: Vec<u8>,
        min_idle: u64,
        start: StreamId,
        count: u64,
        justid: bool,
    },
    /// `FUNCTION STATS`: storaged answers it alone beside a running script.
    FunctionStats,
    /// `FUNCTION KILL`: storaged answers it alone at once, beside a running function.
    FunctionKill,
    /// `FUNCTION HELP`.
    FunctionHelp,
    /// `CONFIG GET|SET busy-reply-threshold` (alias `lua-time-limit`), which storaged holds
    /// so every proxy shares it: sets it to `set_ms` when given; replies the value in force
    /// (milliseconds, an integer).
    BusyReplyThreshold {
        set_ms: Option<u64>,
    },

    // ---- geo (storaged/src/types/geo; geo sets are sorted sets with geohash scores) ----
    /// `GEOADD key [NX|XX] [CH] lon lat member …`, coordinates range-checked by the proxy.
    GeoAdd {
        key: Vec<u8>,
        condition: ZAddCondition,
        changed: bool,
        points: Vec<(f64, f64, Vec<u8>)>,
    },
    /// `GEODIST key member1 member2 [unit]`; `unit_m` is meters per unit.
    GeoDist {
        key: Vec<u8>,
        a: Vec<u8>,
        b: Vec<u8>,
        unit_m: f64,
    },
    /// `GEOHASH key member …`.
    GeoHash {
        key: Vec<u8>,
        members: Vec<Vec<u8>>,
    },
    /// `GEOPOS key member …`.
    GeoPos {
        key: Vec<u8>,
        members: Vec<Vec<u8>>,
    },
    /// The read-only searches: `GEOSEARCH`, `GEORADIUS_RO`, `GEORADIUSBYMEMBER_RO`.
    GeoSearch {
        key: Vec<u8>,
        query: GeoQuery,
    },
    /// The searches Redis flags `write`: `GEOSEARCHSTORE`, `GEORADIUS` and
    /// `GEORADIUSBYMEMBER` (which store only with `STORE`/`STOREDIST`).
    GeoSearchStore {
        key: Vec<u8>,
        query: GeoQuery,
    },

    // ---- hyperloglog (storaged/src/types/hyperloglog; values are Redis's HYLL strings) ----
    /// `PFADD key [element ...]`.
    PfAdd {
        key: Vec<u8>,
        elements: Vec<Vec<u8>>,
    },
    /// `PFCOUNT key [key ...]`: one key may write its cached cardinality back, so storaged
    /// runs it on the writer (`WRITER_OWNED` in `tandem-commands`).
    PfCount {
        keys: Vec<Vec<u8>>,
    },
    /// `PFMERGE destkey [sourcekey ...]`.
    PfMerge {
        dest: Vec<u8>,
        sources: Vec<Vec<u8>>,
    },
    /// `PFDEBUG subcommand key`.
    PfDebug {
        op: PfDebugOp,
        key: Vec<u8>,
    },
    /// `PFSELFTEST`: checks storaged's HyperLogLog code, replies OK or a `TESTFAILED` error.
    PfSelfTest,
    /// `SORT key … STORE dest`: the sorted (or fetched) elements stored as a list at `dest`.
    Sort {
        key: Vec<u8>,
        opts: SortOptions,
        dest: Vec<u8>,
    },
    /// `SORT_RO`, and `SORT` without `STORE`: a read.
    SortRo {
        key: Vec<u8>,
        opts: SortOptions,
    },
    /// Observability (`storaged/src/stats.rs`): a proxy's statistics since its last report,
    /// then `op` over the pair's sums (SLOWLOG, LATENCY, INFO commandstats …).
    Stats {
        push: crate::stats::StatsPush,
        op: crate::stats::StatsOp,
    },
    // ---- OBJECT / DEBUG (H7; storaged/src/types/object.rs) ----
    /// `OBJECT ENCODING|REFCOUNT|FREQ|IDLETIME key`: the proxy adds the settings Redis's
    /// answer depends on (encoding thresholds, eviction policy), which storaged does not keep.
    Object {
        field: ObjectField,
        key: Vec<u8>,
        limits: ObjectLimits,
    },
    /// `DEBUG RELOAD`: storaged flushes its memtables and reopens its engine, data intact.
    DebugReload,
    /// `DEBUG SET-ACTIVE-EXPIRE 0|1`: turns storaged's background expiry cycle off or on.
    DebugSetActiveExpire {
        enabled: bool,
    },
    /// `DEBUG SLEEP seconds`: storaged's writer sleeps, holding every write as Redis's
    /// single thread does.
    DebugSleep {
        micros: u64,
    },
    // ---- DUMP / RESTORE (H3; storaged/src/types/serialize.rs, storaged/src/rdb/) ----
    /// `DUMP key`: the value as Redis 7.0's DUMP payload, or nil.
    Dump {
        key: Vec<u8>,
    },
    /// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]`. `ttl` is `None`
    /// when it is not an integer: Redis checks it only after the BUSYKEY check, so storaged
    /// reports it. The parser validates IDLETIME/FREQ and drops them (tandem keeps no
    /// LRU/LFU data).
    Restore {
        key: Vec<u8>,
        ttl: Option<i64>,
        payload: Vec<u8>,
        replace: bool,
        absttl: bool,
    },

    // ---- ACL users (storaged/src/acl.rs holds the deployment's one table) ----
    /// `ACL SETUSER name rule…`, applied by storaged to its table (Redis's errors come
    /// back as an error reply). Replies `[version, table]` (the table as ACL file lines).
    AclSetUser {
        name: Vec<u8>,
        rules: Vec<Vec<u8>>,
    },
    /// `ACL DELUSER name…`: replies `[deleted, version, table]`.
    AclDelUser {
        names: Vec<Vec<u8>>,
    },
    /// A proxy asking for the table: nil when its version is still `known`, else
    /// `[version, table]`.
    AclUsers {
        known: u64,
    },
    /// `ACL LOG [count|RESET]`'s entries storaged made (denials inside scripts, context
    /// `lua`): replies an array of `[count, reason, context, object, username, ctime_us,
    /// client_info]` arrays, newest first (OK after `reset`, which empties the log).
    AclLog {
        reset: bool,
    },
    /// `ACL LOAD`: replaces the table with the `aclfile`'s (all or nothing); replies
    /// `[version, table]` or Redis's error.
    AclLoad,
    /// `ACL SAVE`: writes the table to the `aclfile`; replies OK or Redis's error.
    AclSave,
    /// `SWAPDB index1 index2` (both below [`crate::DATABASES`], checked by the parser): swaps
    /// the two logical databases' contents in O(1) (storaged's database map).
    SwapDb {
        a: u8,
        b: u8,
    },
    /// `CLIENT PAUSE timeout [WRITE|ALL]` (v7): pauses the clients of every proxy until
    /// `end_ms` (Unix ms: the proxy's now plus the timeout, wrapping as Redis 7.0's does);
    /// `all` holds every command, else only those that may write. storaged keeps the
    /// deployment's pause and pushes it to every link (`NoticeKind::Pause`) before it
    /// replies OK.
    ClientPause {
        end_ms: i64,
        all: bool,
    },
    /// `CLIENT UNPAUSE` (v7): ends the pause on every proxy; replies OK.
    ClientUnpause,
    /// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]` (v7): `save` takes a checkpoint first (a
    /// failure refuses the shutdown unless `force`), then storaged tells every proxy to stop
    /// (`NoticeKind::Shutdown`) and drains; replies OK, which the proxy does not forward.
    Shutdown {
        save: bool,
        force: bool,
    },
}

/// Who runs a script, for the ACL checks of its `redis.call`s (v7).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct ScriptCaller {
    /// The client's ACL user name (storaged looks it up in its table).
    pub user: Vec<u8>,
    /// The client's `CLIENT INFO` line, for the `ACL LOG` entry of a denial.
    pub client_info: String,
}

/// What `OBJECT` asks about a key.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ObjectField {
    Encoding,
    RefCount,
    Freq,
    IdleTime,
    /// `DEBUG OBJECT key`: Redis's one-line description of the value.
    Debug,
}

/// The proxy's settings `OBJECT` answers by: Redis names an encoding by the value's size
/// against these thresholds, and shares small integers unless an LRU/LFU policy with a
/// memory limit is set.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct ObjectLimits {
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    /// `list-max-listpack-size` (DEBUG OBJECT's quicklist figures).
    pub list_max_listpack_size: i64,
    /// `maxmemory-policy` is an LFU one (`OBJECT FREQ` allowed, `IDLETIME` refused).
    pub lfu: bool,
    /// Integers 0..9999 are Redis's shared objects (`maxmemory` 0 or no LRU/LFU policy).
    pub shared_integers: bool,
}

/// Declares [`CommandKind`] and `kind()` for [`Command`] and [`ArchivedCommand`] from one
/// list, so the two enums cannot drift apart (the matches are exhaustive).
macro_rules! command_kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// Which [`Command`] variant a value is, without its fields. What a kind may do
        /// (write, run in a script …) is the command table's to say: `tandem-commands`
        /// looks the kind up by [`CommandKind::name`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CommandKind {
            $($variant,)*
        }

        impl CommandKind {
            /// Every kind, in declaration order (`kind as usize` indexes it).
            pub const ALL: &'static [CommandKind] = &[$(CommandKind::$variant,)*];

            /// The command table's name for the Redis command this variant stands for:
            /// the first of several that share it (`SETEX` and `GETSET` are `set`), a
            /// `container|sub` name for a subcommand, or, for `checkpoint`, a tandem-only
            /// operation no Redis command or table row has.
            pub const fn name(self) -> &'static str {
                match self {
                    $(CommandKind::$variant => $name,)*
                }
            }
        }

        impl Command {
            /// This command's [`CommandKind`].
            pub fn kind(&self) -> CommandKind {
                match self {
                    $(Command::$variant { .. } => CommandKind::$variant,)*
                }
            }
        }

        impl ArchivedCommand {
            /// This archived command's [`CommandKind`].
            pub fn kind(&self) -> CommandKind {
                match self {
                    $(ArchivedCommand::$variant { .. } => CommandKind::$variant,)*
                }
            }
        }
    };
}

command_kinds! {
    Get => "get",
    Set => "set",
    SetNx => "setnx",
    MGet => "mget",
    MSet => "mset",
    MSetNx => "msetnx",
    GetDel => "getdel",
    GetEx => "getex",
    Append => "append",
    StrLen => "strlen",
    GetRange => "getrange",
    SetRange => "setrange",
    SetBit => "setbit",
    GetBit => "getbit",
    BitCount => "bitcount",
    BitPos => "bitpos",
    BitOp => "bitop",
    BitField => "bitfield",
    BitFieldRo => "bitfield_ro",
    IncrBy => "incrby",
    IncrByFloat => "incrbyfloat",
    Lcs => "lcs",
    Del => "del",
    Exists => "exists",
    Type => "type",
    MemoryUsage => "memory|usage",
    Touch => "touch",
    Expire => "expire",
    Ttl => "ttl",
    ExpireTime => "expiretime",
    Persist => "persist",
    Rename => "rename",
    RenameNx => "renamenx",
    Copy => "copy",
    Move => "move",
    Keys => "keys",
    Scan => "scan",
    RandomKey => "randomkey",
    DbSize => "dbsize",
    FlushDb => "flushdb",
    FlushAll => "flushall",
    Publish => "publish",
    PubSubChannels => "pubsub|channels",
    PubSubNumSub => "pubsub|numsub",
    PubSubNumPat => "pubsub|numpat",
    SetNotifyKeyspaceEvents => "config|set",
    GetNotifyKeyspaceEvents => "config|get",
    HSet => "hset",
    HMSet => "hmset",
    HSetNx => "hsetnx",
    HGet => "hget",
    HMGet => "hmget",
    HDel => "hdel",
    HLen => "hlen",
    HStrLen => "hstrlen",
    HExists => "hexists",
    HGetAll => "hgetall",
    HKeys => "hkeys",
    HVals => "hvals",
    HIncrBy => "hincrby",
    HIncrByFloat => "hincrbyfloat",
    HScan => "hscan",
    HRandField => "hrandfield",
    SAdd => "sadd",
    SRem => "srem",
    SCard => "scard",
    SIsMember => "sismember",
    SMIsMember => "smismember",
    SMembers => "smembers",
    SPop => "spop",
    SPopCount => "spop",
    SRandMember => "srandmember",
    SRandMemberCount => "srandmember",
    SMove => "smove",
    SInter => "sinter",
    SInterCard => "sintercard",
    SInterStore => "sinterstore",
    SUnion => "sunion",
    SUnionStore => "sunionstore",
    SDiff => "sdiff",
    SDiffStore => "sdiffstore",
    SScan => "sscan",
    ZAdd => "zadd",
    ZIncrBy => "zincrby",
    ZRem => "zrem",
    ZCard => "zcard",
    ZScore => "zscore",
    ZMScore => "zmscore",
    ZCount => "zcount",
    ZLexCount => "zlexcount",
    ZRange => "zrange",
    ZRangeStore => "zrangestore",
    ZRank => "zrank",
    ZRemRange => "zremrangebyscore",
    ZPop => "zpopmin",
    ZMPop => "zmpop",
    ZRandMember => "zrandmember",
    ZScan => "zscan",
    ZCombine => "zunion",
    ZCombineStore => "zunionstore",
    ZInterCard => "zintercard",
    LPush => "lpush",
    LPop => "lpop",
    LLen => "llen",
    LIndex => "lindex",
    LSet => "lset",
    LRange => "lrange",
    LTrim => "ltrim",
    LRem => "lrem",
    LInsert => "linsert",
    LPos => "lpos",
    LMove => "lmove",
    LMPop => "lmpop",
    BlockingPop => "blpop",
    Unblock => "client|unblock",
    Watch => "watch",
    Unwatch => "unwatch",
    Exec => "exec",
    SelectDb => "select",
    Info => "info",
    Checkpoint => "checkpoint",
    Save => "save",
    BgSave => "bgsave",
    LastSave => "lastsave",
    BgRewriteAof => "bgrewriteaof",
    Eval => "eval",
    EvalSha => "evalsha",
    ScriptLoad => "script|load",
    ScriptExists => "script|exists",
    ScriptFlush => "script|flush",
    ScriptHelp => "script|help",
    ScriptKill => "script|kill",
    FCall => "fcall",
    FunctionLoad => "function|load",
    FunctionDelete => "function|delete",
    FunctionFlush => "function|flush",
    FunctionList => "function|list",
    FunctionDump => "function|dump",
    FunctionRestore => "function|restore",
    XAdd => "xadd",
    XRange => "xrange",
    XLen => "xlen",
    XDel => "xdel",
    XTrim => "xtrim",
    XSetId => "xsetid",
    XRead => "xread",
    XReadGroup => "xreadgroup",
    XAck => "xack",
    XPending => "xpending",
    XGroup => "xgroup|create",
    XGroupHelp => "xgroup|help",
    XInfoStream => "xinfo|stream",
    XInfoGroups => "xinfo|groups",
    XInfoConsumers => "xinfo|consumers",
    XInfoHelp => "xinfo|help",
    XClaim => "xclaim",
    XAutoClaim => "xautoclaim",
    FunctionStats => "function|stats",
    FunctionKill => "function|kill",
    FunctionHelp => "function|help",
    BusyReplyThreshold => "config|set",
    GeoAdd => "geoadd",
    GeoDist => "geodist",
    GeoHash => "geohash",
    GeoPos => "geopos",
    GeoSearch => "geosearch",
    GeoSearchStore => "geosearchstore",
    PfAdd => "pfadd",
    PfCount => "pfcount",
    PfMerge => "pfmerge",
    PfDebug => "pfdebug",
    PfSelfTest => "pfselftest",
    Sort => "sort",
    SortRo => "sort_ro",
    Stats => "slowlog",
    Object => "object|encoding",
    DebugReload => "debug",
    DebugSetActiveExpire => "debug",
    DebugSleep => "debug",
    SPublish => "spublish",
    PubSubShardChannels => "pubsub|shardchannels",
    PubSubShardNumSub => "pubsub|shardnumsub",
    Dump => "dump",
    Restore => "restore",
    AclSetUser => "acl|setuser",
    AclDelUser => "acl|deluser",
    AclUsers => "acl|list",
    AclLog => "acl|log",
    AclLoad => "acl|load",
    AclSave => "acl|save",
    SwapDb => "swapdb",
    ClientPause => "client|pause",
    ClientUnpause => "client|unpause",
    Shutdown => "shutdown",
}
