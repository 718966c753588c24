//! Parsers and table rows of the geo commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH,
//! GEOSEARCHSTORE and the deprecated GEORADIUS, GEORADIUSBYMEMBER and their `_RO` forms.
//! Geo sets are sorted sets; what a search finds is storaged's (`types/geo`).
//!
//! GEOADD and GEODIST read all their arguments before Redis looks at the key, so their
//! errors are answered here. The searches look the key up first (`WRONGTYPE` wins over any
//! argument error) and look `FROMMEMBER`'s member up in the middle of the option loop, so
//! their arguments become a [`GeoQuery`]: every value resolved here, and the first error
//! left as a [`GeoStep::Error`] at the place Redis would raise it, for storaged to replay.

use tandem_shared::command::{GeoOrder, GeoQuery, GeoStep, GeoStore, ZAddCondition};
use tandem_shared::Command;

use super::zset::parse_score;
use crate::args::{parse_i64, Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, BeginSearch, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// Redis's `GEO_LONG_MIN`/`GEO_LONG_MAX`.
pub const LONG_LIMIT: f64 = 180.0;
/// Redis's `GEO_LAT_MIN`/`GEO_LAT_MAX` (EPSG:900913: the poles cannot be indexed).
pub const LAT_LIMIT: f64 = 85.051_128_78;

/// Meters per unit, as Redis's `extractUnitOrReply` reads the unit (any case).
fn unit(raw: &[u8]) -> Result<f64, String> {
    let u = raw.to_ascii_lowercase();
    match u.as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err("ERR unsupported unit provided. please use M, KM, FT, MI".to_owned()),
    }
}

/// A longitude/latitude pair as Redis's `extractLongLatOrReply` reads it: two floats, then
/// the range check, whose error prints both values with C's `%f`.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), String> {
    let not_float = || CommandError::NotFloat.to_string();
    let lon = parse_score(lon).ok_or_else(not_float)?;
    let lat = parse_score(lat).ok_or_else(not_float)?;
    if !(-LONG_LIMIT..=LONG_LIMIT).contains(&lon) || !(-LAT_LIMIT..=LAT_LIMIT).contains(&lat) {
        return Err(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        ));
    }
    Ok((lon, lat))
}

/// `radius unit` as Redis's `extractDistanceOrReply` reads it.
fn radius(value: &[u8], unit_arg: &[u8]) -> GeoStep {
    let Some(radius) = parse_score(value) else {
        return GeoStep::Error("ERR need numeric radius".to_owned());
    };
    if radius < 0.0 {
        return GeoStep::Error("ERR radius cannot be negative".to_owned());
    }
    match unit(unit_arg) {
        Ok(unit_m) => GeoStep::Radius { radius, unit_m },
        Err(e) => GeoStep::Error(e),
    }
}

/// `width height unit` as Redis's `extractBoxOrReply` reads it.
fn bounding_box(width: &[u8], height: &[u8], unit_arg: &[u8]) -> GeoStep {
    let Some(width) = parse_score(width) else {
        return GeoStep::Error("ERR need numeric width".to_owned());
    };
    let Some(height) = parse_score(height) else {
        return GeoStep::Error("ERR need numeric height".to_owned());
    };
    if height < 0.0 || width < 0.0 {
        return GeoStep::Error("ERR height or width cannot be negative".to_owned());
    }
    match unit(unit_arg) {
        Ok(unit_m) => GeoStep::Box {
            width,
            height,
            unit_m,
        },
        Err(e) => GeoStep::Error(e),
    }
}

/// `GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member …]`
pub fn geoadd(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let (mut nx, mut xx, mut changed) = (false, false, false);
    // Redis reads options while they match, in any order and repeated.
    loop {
        if args.eat("NX") {
            nx = true;
        } else if args.eat("XX") {
            xx = true;
        } else if args.eat("CH") {
            changed = true;
        } else {
            break;
        }
    }
    let rest = args.rest();
    // No triple at all is ZADD's own syntax error, which GEOADD hands its arguments to.
    if rest.is_empty() || !rest.len().is_multiple_of(3) || (nx && xx) {
        return Err(CommandError::Syntax);
    }
    let mut points = Vec::with_capacity(rest.len() / 3);
    for t in rest.chunks_exact(3) {
        let (lon, lat) = lon_lat(&t[0], &t[1]).map_err(CommandError::Other)?;
        points.push((lon, lat, t[2].to_vec()));
    }
    let condition = if nx {
        ZAddCondition::Nx
    } else if xx {
        ZAddCondition::Xx
    } else {
        ZAddCondition::Always
    };
    Ok(Command::GeoAdd {
        key,
        condition,
        changed,
        points,
    })
}

/// `GEODIST key member1 member2 [M|KM|FT|MI]`: the unit is checked before the key.
pub fn geodist(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let a = args.next_vec()?;
    let b = args.next_vec()?;
    let unit_m = match args.remaining() {
        0 => 1.0,
        1 => unit(&args.next_bytes()?).map_err(CommandError::Other)?,
        _ => return Err(CommandError::Syntax),
    };
    Ok(Command::GeoDist { key, a, b, unit_m })
}

/// `GEOHASH key [member …]`
pub fn geohash(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    Ok(Command::GeoHash {
        key,
        members: args.rest_vecs(),
    })
}

/// `GEOPOS key [member …]`
pub fn geopos(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    Ok(Command::GeoPos {
        key,
        members: args.rest_vecs(),
    })
}

/// Which of Redis's `georadiusGeneric` entry points a command is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `GEORADIUS[_RO] key lon lat radius unit …`
    Radius { store: bool },
    /// `GEORADIUSBYMEMBER[_RO] key member radius unit …`
    RadiusByMember { store: bool },
    /// `GEOSEARCH key …`
    Search,
    /// `GEOSEARCHSTORE dst src …`
    SearchStore,
}

impl Form {
    fn search(self) -> bool {
        matches!(self, Form::Search | Form::SearchStore)
    }

    /// `STORE key`/`STOREDIST key` are options of the writing `GEORADIUS` forms only.
    fn store_options(self) -> bool {
        matches!(
            self,
            Form::Radius { store: true } | Form::RadiusByMember { store: true }
        )
    }

    /// The name Redis's conflict errors print (`c->argv[0]`; the client's spelling is not
    /// kept past the table lookup, so the documented upper case).
    fn name(self) -> &'static str {
        match self {
            Form::SearchStore => "GEOSEARCHSTORE",
            _ => "GEOSEARCH",
        }
    }
}

/// Redis's `georadiusGeneric` argument handling, from the first argument after the key
/// (and after `GEORADIUS`'s positional centre and radius, already in `steps`).
fn options(
    args: &mut Args,
    form: Form,
    mut steps: Vec<GeoStep>,
    keyed_steps: u8,
    mut store: Option<GeoStore>,
) -> GeoQuery {
    let (mut with_dist, mut with_hash, mut with_coord, mut any) = (false, false, false, false);
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let mut order = GeoOrder::Unsorted;
    let mut count: u64 = 0;
    let mut failed = false;
    let rest = args.rest();
    let mut i = 0;
    while i < rest.len() && !failed {
        let word = rest[i].to_ascii_lowercase();
        let left = rest.len() - i - 1;
        match word.as_slice() {
            b"withdist" => with_dist = true,
            b"withhash" => with_hash = true,
            b"withcoord" => with_coord = true,
            b"any" => any = true,
            b"asc" => order = GeoOrder::Asc,
            b"desc" => order = GeoOrder::Desc,
            b"count" if left >= 1 => {
                i += 1;
                match parse_i64(&rest[i]) {
                    Some(n) if n > 0 => count = n.unsigned_abs(),
                    Some(_) => {
                        steps.push(GeoStep::Error("ERR COUNT must be > 0".to_owned()));
                        failed = true;
                    }
                    None => {
                        steps.push(GeoStep::Error(CommandError::NotInteger.to_string()));
                        failed = true;
                    }
                }
            }
            b"store" | b"storedist" if left >= 1 && form.store_options() => {
                i += 1;
                store = Some(GeoStore {
                    dst: rest[i].to_vec(),
                    dist: word == b"storedist",
                    search: false,
                });
            }
            b"storedist" if form == Form::SearchStore => {
                if let Some(s) = store.as_mut() {
                    s.dist = true;
                }
            }
            b"frommember" if left >= 1 && form.search() && !from_lonlat => {
                i += 1;
                steps.push(GeoStep::Member(rest[i].to_vec()));
                from_member = true;
            }
            b"fromlonlat" if left >= 2 && form.search() && !from_member => {
                match lon_lat(&rest[i + 1], &rest[i + 2]) {
                    Ok((lon, lat)) => steps.push(GeoStep::Center { lon, lat }),
                    Err(e) => {
                        steps.push(GeoStep::Error(e));
                        failed = true;
                    }
                }
                from_lonlat = true;
                i += 2;
            }
            b"byradius" if left >= 2 && form.search() && !by_box => {
                let step = radius(&rest[i + 1], &rest[i + 2]);
                failed = matches!(step, GeoStep::Error(_));
                steps.push(step);
                by_radius = true;
                i += 2;
            }
            b"bybox" if left >= 3 && form.search() && !by_radius => {
                let step = bounding_box(&rest[i + 1], &rest[i + 2], &rest[i + 3]);
                failed = matches!(step, GeoStep::Error(_));
                steps.push(step);
                by_box = true;
                i += 3;
            }
            _ => {
                steps.push(GeoStep::Error(CommandError::Syntax.to_string()));
                failed = true;
            }
        }
        i += 1;
    }
    if !failed {
        // The checks Redis makes once the loop is done, in its order.
        let conflict = if store.is_some() && (with_dist || with_hash || with_coord) {
            let what = if form == Form::SearchStore {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            };
            Some(format!(
                "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
            ))
        } else if form.search() && !(from_member || from_lonlat) {
            Some(format!(
                "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
                form.name()
            ))
        } else if form.search() && !(by_radius || by_box) {
            Some(format!(
                "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
                form.name()
            ))
        } else if any && count == 0 {
            Some("ERR the ANY argument requires COUNT argument".to_owned())
        } else {
            None
        };
        steps.extend(conflict.map(GeoStep::Error));
    }
    // COUNT without an order means the nearest ones (ANY keeps the scan order).
    if count != 0 && order == GeoOrder::Unsorted && !any {
        order = GeoOrder::Asc;
    }
    GeoQuery {
        steps,
        keyed_steps,
        order,
        count,
        any,
        with_coord,
        with_dist,
        with_hash,
        store,
    }
}

/// The positional centre and radius of `GEORADIUS` / `GEORADIUSBYMEMBER`.
fn radius_query(args: &mut Args, form: Form) -> Result<(Vec<u8>, GeoQuery), CommandError> {
    let key = args.next_vec()?;
    let mut steps = Vec::new();
    let keyed_steps = match form {
        Form::RadiusByMember { .. } => {
            steps.push(GeoStep::Member(args.next_vec()?));
            let r = args.next_bytes()?;
            let u = args.next_bytes()?;
            steps.push(radius(&r, &u));
            2
        }
        _ => {
            let lon = args.next_bytes()?;
            let lat = args.next_bytes()?;
            let r = args.next_bytes()?;
            let u = args.next_bytes()?;
            match lon_lat(&lon, &lat) {
                Ok((lon, lat)) => {
                    steps.push(GeoStep::Center { lon, lat });
                    steps.push(radius(&r, &u));
                }
                Err(e) => steps.push(GeoStep::Error(e)),
            }
            0
        }
    };
    if matches!(steps.last(), Some(GeoStep::Error(_))) && keyed_steps == 0 {
        // Redis stops at the first error; nothing after it is read.
        args.rest();
        return Ok((key, empty_query(steps, keyed_steps)));
    }
    Ok((key, options(args, form, steps, keyed_steps, None)))
}

/// A query that stops at its last step (an error) whatever the key holds.
fn empty_query(steps: Vec<GeoStep>, keyed_steps: u8) -> GeoQuery {
    GeoQuery {
        steps,
        keyed_steps,
        order: GeoOrder::Unsorted,
        count: 0,
        any: false,
        with_coord: false,
        with_dist: false,
        with_hash: false,
        store: None,
    }
}

/// `GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]`
pub fn georadius(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (key, query) = radius_query(args, Form::Radius { store: true })?;
    Ok(Command::GeoSearchStore { key, query })
}

/// `GEORADIUS_RO key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC]`
pub fn georadius_ro(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (key, query) = radius_query(args, Form::Radius { store: false })?;
    Ok(Command::GeoSearch { key, query })
}

/// `GEORADIUSBYMEMBER key member radius M|KM|FT|MI …` (options as `GEORADIUS`)
pub fn georadiusbymember(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (key, query) = radius_query(args, Form::RadiusByMember { store: true })?;
    Ok(Command::GeoSearchStore { key, query })
}

/// `GEORADIUSBYMEMBER_RO key member radius M|KM|FT|MI …` (options as `GEORADIUS_RO`)
pub fn georadiusbymember_ro(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (key, query) = radius_query(args, Form::RadiusByMember { store: false })?;
    Ok(Command::GeoSearch { key, query })
}

/// `GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude BYRADIUS radius unit|BYBOX
/// width height unit [ASC|DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]`
pub fn geosearch(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let query = options(args, Form::Search, Vec::new(), 0, None);
    Ok(Command::GeoSearch { key, query })
}

/// `GEOSEARCHSTORE destination source FROMMEMBER …|FROMLONLAT … BYRADIUS …|BYBOX …
/// [ASC|DESC] [COUNT count [ANY]] [STOREDIST]`
pub fn geosearchstore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let dst = args.next_vec()?;
    let key = args.next_vec()?;
    let store = GeoStore {
        dst,
        dist: false,
        search: true,
    };
    let query = options(args, Form::SearchStore, Vec::new(), 0, Some(store));
    Ok(Command::GeoSearchStore { key, query })
}

/// The geo commands' rows, from redis-server 7.0.15 (`commands/tools/row-from-redis`).
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "geoadd",
        arity: -5,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Add one or more geospatial items in the geospatial index represented using a sorted set",
            since: "3.2.0",
            group: "geo",
            complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.2.0", "Added the `CH`, `NX` and `XX` options."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("condition", T::OneOf).since("6.2.0").optional().args(&[
                        arg("nx", T::PureToken).token("NX"),
                        arg("xx", T::PureToken).token("XX"),
                    ]),
                arg("change", T::PureToken).token("CH").since("6.2.0").optional(),
                arg("longitude_latitude_member", T::Block).multiple().args(&[
                        arg("longitude", T::Double),
                        arg("latitude", T::Double),
                        arg("member", T::String),
                    ]),
            ],
        },
        handler: Handler::Storage(geoadd),
    },
    CommandSpec {
        name: "geodist",
        arity: -4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Returns the distance between two members of a geospatial index",
            since: "3.2.0",
            group: "geo",
            complexity: "O(log(N))",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member1", T::String),
                arg("member2", T::String),
                arg("unit", T::OneOf).optional().args(&[
                        arg("m", T::PureToken).token("M"),
                        arg("km", T::PureToken).token("KM"),
                        arg("ft", T::PureToken).token("FT"),
                        arg("mi", T::PureToken).token("MI"),
                    ]),
            ],
        },
        handler: Handler::Storage(geodist),
    },
    CommandSpec {
        name: "geohash",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Returns members of a geospatial index as standard geohash strings",
            since: "3.2.0",
            group: "geo",
            complexity: "O(log(N)) for each member requested, where N is the number of elements in the sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(geohash),
    },
    CommandSpec {
        name: "geopos",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Returns longitude and latitude of members of a geospatial index",
            since: "3.2.0",
            group: "geo",
            complexity: "O(N) where N is the number of members requested.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(geopos),
    },
    CommandSpec {
        name: "geosearch",
        arity: -7,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.",
            since: "6.2.0",
            group: "geo",
            complexity: "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("7.0.0", "Added support for uppercase unit names."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("from", T::OneOf).args(&[
                        arg("member", T::String).token("FROMMEMBER"),
                        arg("longitude_latitude", T::Block).token("FROMLONLAT").args(&[
                                arg("longitude", T::Double),
                                arg("latitude", T::Double),
                            ]),
                    ]),
                arg("by", T::OneOf).args(&[
                        arg("circle", T::Block).args(&[
                                arg("radius", T::Double).token("BYRADIUS"),
                                arg("unit", T::OneOf).args(&[
                                        arg("m", T::PureToken).token("M"),
                                        arg("km", T::PureToken).token("KM"),
                                        arg("ft", T::PureToken).token("FT"),
                                        arg("mi", T::PureToken).token("MI"),
                                    ]),
                            ]),
                        arg("box", T::Block).args(&[
                                arg("width", T::Double).token("BYBOX"),
                                arg("height", T::Double),
                                arg("unit", T::OneOf).args(&[
                                        arg("m", T::PureToken).token("M"),
                                        arg("km", T::PureToken).token("KM"),
                                        arg("ft", T::PureToken).token("FT"),
                                        arg("mi", T::PureToken).token("MI"),
                                    ]),
                            ]),
                    ]),
                arg("order", T::OneOf).optional().args(&[
                        arg("asc", T::PureToken).token("ASC"),
                        arg("desc", T::PureToken).token("DESC"),
                    ]),
                arg("count", T::Block).optional().args(&[
                        arg("count", T::Integer).token("COUNT"),
                        arg("any", T::PureToken).token("ANY").optional(),
                    ]),
                arg("withcoord", T::PureToken).token("WITHCOORD").optional(),
                arg("withdist", T::PureToken).token("WITHDIST").optional(),
                arg("withhash", T::PureToken).token("WITHHASH").optional(),
            ],
        },
        handler: Handler::Storage(geosearch),
    },
    CommandSpec {
        name: "geosearchstore",
        arity: -8,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(WRITE | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.",
            since: "6.2.0",
            group: "geo",
            complexity: "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("7.0.0", "Added support for uppercase unit names."),
            ],
            arguments: &[
                arg("destination", T::Key).key_spec(0),
                arg("source", T::Key).key_spec(1),
                arg("from", T::OneOf).args(&[
                        arg("member", T::String).token("FROMMEMBER"),
                        arg("longitude_latitude", T::Block).token("FROMLONLAT").args(&[
                                arg("longitude", T::Double),
                                arg("latitude", T::Double),
                            ]),
                    ]),
                arg("by", T::OneOf).args(&[
                        arg("circle", T::Block).args(&[
                                arg("radius", T::Double).token("BYRADIUS"),
                                arg("unit", T::OneOf).args(&[
                                        arg("m", T::PureToken).token("M"),
                                        arg("km", T::PureToken).token("KM"),
                                        arg("ft", T::PureToken).token("FT"),
                                        arg("mi", T::PureToken).token("MI"),
                                    ]),
                            ]),
                        arg("box", T::Block).args(&[
                                arg("width", T::Double).token("BYBOX"),
                                arg("height", T::Double),
                                arg("unit", T::OneOf).args(&[
                                        arg("m", T::PureToken).token("M"),
                                        arg("km", T::PureToken).token("KM"),
                                        arg("ft", T::PureToken).token("FT"),
                                        arg("mi", T::PureToken).token("MI"),
                                    ]),
                            ]),
                    ]),
                arg("order", T::OneOf).optional().args(&[
                        arg("asc", T::PureToken).token("ASC"),
                        arg("desc", T::PureToken).token("DESC"),
                    ]),
                arg("count", T::Block).optional().args(&[
                        arg("count", T::Integer).token("COUNT"),
                        arg("any", T::PureToken).token("ANY").optional(),
                    ]),
                arg("storedist", T::PureToken).token("STOREDIST").optional(),
            ],
        },
        handler: Handler::Storage(geosearchstore),
    },
    CommandSpec {
        name: "georadius",
        arity: -6,
        flags: flags!(WRITE | DENYOOM | MOVABLEKEYS),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(OW | UPDATE), BeginSearch::Keyword { keyword: "STORE", start_from: 6 }, range(0, 1, 0)),
            KeySpec::new(key_flags!(OW | UPDATE), BeginSearch::Keyword { keyword: "STOREDIST", start_from: 6 }, range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point",
            since: "3.2.0",
            group: "geo",
            complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` argument",
            history: &[
                ("6.2.0", "Added the `ANY` option for `COUNT`."),
                ("7.0.0", "Added support for uppercase unit names."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("longitude", T::Double),
                arg("latitude", T::Double),
                arg("radius", T::Double),
                arg("unit", T::OneOf).args(&[
                        arg("m", T::PureToken).token("M"),
                        arg("km", T::PureToken).token("KM"),
                        arg("ft", T::PureToken).token("FT"),
                        arg("mi", T::PureToken).token("MI"),
                    ]),
                arg("withcoord", T::PureToken).token("WITHCOORD").optional(),
                arg("withdist", T::PureToken).token("WITHDIST").optional(),
                arg("withhash", T::PureToken).token("WITHHASH").optional(),
                arg("count", T::Block).optional().args(&[
                        arg("count", T::Integer).token("COUNT"),
                        arg("any", T::PureToken).token("ANY").since("6.2.0").optional(),
                    ]),
                arg("order", T::OneOf).optional().args(&[
                        arg("asc", T::PureToken).token("ASC"),
                        arg("desc", T::PureToken).token("DESC"),
                    ]),
                arg("key", T::Key).key_spec(1).token("STORE").optional(),
                arg("key", T::Key).key_spec(2).token("STOREDIST").optional(),
            ],
        },
        handler: Handler::Storage(georadius),
    },
    CommandSpec {
        name: "georadius_ro",
        arity: -6,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "A read-only variant for GEORADIUS",
            since: "3.2.10",
            group: "geo",
            complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`GEOSEARCH` with the `BYRADIUS` argument",
            history: &[
                ("6.2.0", "Added the `ANY` option for `COUNT`."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("longitude", T::Double),
                arg("latitude", T::Double),
                arg("radius", T::Double),
                arg("unit", T::OneOf).args(&[
                        arg("m", T::PureToken).token("M"),
                        arg("km", T::PureToken).token("KM"),
                        arg("ft", T::PureToken).token("FT"),
                        arg("mi", T::PureToken).token("MI"),
                    ]),
                arg("withcoord", T::PureToken).token("WITHCOORD").optional(),
                arg("withdist", T::PureToken).token("WITHDIST").optional(),
                arg("withhash", T::PureToken).token("WITHHASH").optional(),
                arg("count", T::Block).optional().args(&[
                        arg("count", T::Integer).token("COUNT"),
                        arg("any", T::PureToken).token("ANY").since("6.2.0").optional(),
                    ]),
                arg("order", T::OneOf).optional().args(&[
                        arg("asc", T::PureToken).token("ASC"),
                        arg("desc", T::PureToken).token("DESC"),
                    ]),
            ],
        },
        handler: Handler::Storage(georadius_ro),
    },
    CommandSpec {
        name: "georadiusbymember",
        arity: -5,
        flags: flags!(WRITE | DENYOOM | MOVABLEKEYS),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(OW | UPDATE), BeginSearch::Keyword { keyword: "STORE", start_from: 5 }, range(0, 1, 0)),
            KeySpec::new(key_flags!(OW | UPDATE), BeginSearch::Keyword { keyword: "STOREDIST", start_from: 5 }, range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member",
            since: "3.2.0",
            group: "geo",
            complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` and `FROMMEMBER` arguments",
            history: &[
                ("7.0.0", "Added support for uppercase unit names."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String),
                arg("radius", T::Double),
                arg("unit", T::OneOf).args(&[
                        arg("m", T::PureToken).token("M"),
                        arg("km", T::PureToken).token("KM"),
                        arg("ft", T::PureToken).token("FT"),
                        arg("mi", T::PureToken).token("MI"),
                    ]),
                arg("withcoord", T::PureToken).token("WITHCOORD").optional(),
                arg("withdist", T::PureToken).token("WITHDIST").optional(),
                arg("withhash", T::PureToken).token("WITHHASH").optional(),
                arg("count", T::Block).optional().args(&[
                        arg("count", T::Integer).token("COUNT"),
                        arg("any", T::PureToken).token("ANY").optional(),
                    ]),
                arg("order", T::OneOf).optional().args(&[
                        arg("asc", T::PureToken).token("ASC"),
                        arg("desc", T::PureToken).token("DESC"),
                    ]),
                arg("key", T::Key).key_spec(1).token("STORE").optional(),
                arg("key", T::Key).key_spec(2).token("STOREDIST").optional(),
            ],
        },
        handler: Handler::Storage(georadiusbymember),
    },
    CommandSpec {
        name: "georadiusbymember_ro",
        arity: -5,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | GEO | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "A read-only variant for GEORADIUSBYMEMBER",
            since: "3.2.10",
            group: "geo",
            complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`GEOSEARCH` with the `BYRADIUS` and `FROMMEMBER` arguments",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String),
                arg("radius", T::Double),
                arg("unit", T::OneOf).args(&[
                        arg("m", T::PureToken).token("M"),
                        arg("km", T::PureToken).token("KM"),
                        arg("ft", T::PureToken).token("FT"),
                        arg("mi", T::PureToken).token("MI"),
                    ]),
                arg("withcoord", T::PureToken).token("WITHCOORD").optional(),
                arg("withdist", T::PureToken).token("WITHDIST").optional(),
                arg("withhash", T::PureToken).token("WITHHASH").optional(),
                arg("count", T::Block).optional().args(&[
                        arg("count", T::Integer).token("COUNT"),
                        arg("any", T::PureToken).token("ANY").optional(),
                    ]),
                arg("order", T::OneOf).optional().args(&[
                        arg("asc", T::PureToken).token("ASC"),
                        arg("desc", T::PureToken).token("DESC"),
                    ]),
            ],
        },
        handler: Handler::Storage(georadiusbymember_ro),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{err, run};

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn query_of(c: Result<Command, CommandError>) -> GeoQuery {
        match c {
            Ok(Command::GeoSearch { query, .. } | Command::GeoSearchStore { query, .. }) => query,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_geo_command_is_in_the_table() {
        for (name, write) in [
            ("geoadd", true),
            ("geodist", false),
            ("geohash", false),
            ("geopos", false),
            ("geosearch", false),
            ("geosearchstore", true),
            ("georadius", true),
            ("georadius_ro", false),
            ("georadiusbymember", true),
            ("georadiusbymember_ro", false),
        ] {
            let spec = crate::lookup(name.as_bytes()).expect(name);
            assert_eq!(spec.doc.group, "geo", "{name}");
            assert_eq!(spec.is_write(), write, "{name}");
        }
    }

    #[test]
    fn geoadd_options_and_coordinates() {
        assert_eq!(
            run(geoadd, &["k", "ch", "XX", "1", "2", "m"]),
            Ok(Command::GeoAdd {
                key: v("k"),
                condition: ZAddCondition::Xx,
                changed: true,
                points: vec![(1.0, 2.0, v("m"))],
            })
        );
        let syntax = "ERR syntax error";
        assert_eq!(err(geoadd, &["k", "NX", "XX", "1", "2", "m"]), syntax);
        assert_eq!(err(geoadd, &["k", "1", "2", "m", "3"]), syntax);
        assert_eq!(err(geoadd, &["k", "CH", "CH"]), syntax);
        assert_eq!(
            err(geoadd, &["k", "x", "2", "m"]),
            "ERR value is not a valid float"
        );
        assert_eq!(
            err(geoadd, &["k", "1", "2", "a", "181", "-86", "b"]),
            "ERR invalid longitude,latitude pair 181.000000,-86.000000"
        );
        assert!(run(geoadd, &["k", "-180", "85.05112878", "m"]).is_ok());
    }

    #[test]
    fn geodist_checks_its_unit_first() {
        assert_eq!(
            run(geodist, &["k", "a", "b", "KM"]),
            Ok(Command::GeoDist {
                key: v("k"),
                a: v("a"),
                b: v("b"),
                unit_m: 1000.0
            })
        );
        assert_eq!(
            err(geodist, &["k", "a", "b", "yd"]),
            "ERR unsupported unit provided. please use M, KM, FT, MI"
        );
        assert_eq!(err(geodist, &["k", "a", "b", "m", "x"]), "ERR syntax error");
    }

    #[test]
    fn search_errors_stay_in_place() {
        let q = query_of(run(
            geosearch,
            &[
                "k",
                "FROMMEMBER",
                "m",
                "BYBOX",
                "1",
                "2",
                "ft",
                "COUNT",
                "3",
            ],
        ));
        assert_eq!(
            q.steps,
            vec![
                GeoStep::Member(v("m")),
                GeoStep::Box {
                    width: 1.0,
                    height: 2.0,
                    unit_m: 0.3048
                }
            ]
        );
        assert_eq!((q.count, q.order), (3, GeoOrder::Asc));
        let q = query_of(run(
            geosearch,
            &[
                "k",
                "FROMMEMBER",
                "m",
                "BYRADIUS",
                "1",
                "m",
                "COUNT",
                "3",
                "ANY",
            ],
        ));
        assert_eq!((q.any, q.order), (true, GeoOrder::Unsorted));
        // The first error ends the parse; what follows is never read.
        let q = query_of(run(
            geosearch,
            &["k", "FROMMEMBER", "m", "BYRADIUS", "x", "m", "bogus"],
        ));
        assert_eq!(
            q.steps,
            vec![
                GeoStep::Member(v("m")),
                GeoStep::Error("ERR need numeric radius".into())
            ]
        );
        let q = query_of(run(geosearch, &["k", "BYRADIUS", "1", "m", "ASC"]));
        assert_eq!(
            q.steps.last(),
            Some(&GeoStep::Error(
                "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH".into()
            ))
        );
        let q = query_of(run(
            geosearchstore,
            &[
                "d",
                "k",
                "FROMLONLAT",
                "1",
                "2",
                "BYRADIUS",
                "1",
                "m",
                "STOREDIST",
            ],
        ));
        assert_eq!(
            q.store,
            Some(GeoStore {
                dst: v("d"),
                dist: true,
                search: true
            })
        );
        // GEORADIUSBYMEMBER's member and radius are skipped for a missing key.
        let q = query_of(run(georadiusbymember, &["k", "m", "x", "km", "COUNT", "0"]));
        assert_eq!(q.keyed_steps, 2);
        assert_eq!(q.steps[2], GeoStep::Error("ERR COUNT must be > 0".into()));
        let q = query_of(run(
            georadius,
            &["k", "1", "2", "3", "km", "STORE", "a", "STOREDIST", "b"],
        ));
        assert_eq!(
            q.store,
            Some(GeoStore {
                dst: v("b"),
                dist: true,
                search: false
            })
        );
        let q = query_of(run(georadius_ro, &["k", "1", "2", "3", "km", "STORE", "a"]));
        assert_eq!(
            q.steps.last(),
            Some(&GeoStep::Error("ERR syntax error".into()))
        );
    }
}
