//! Geo commands (issue 17) against redis-server 7.0.15, byte for byte in RESP2 and RESP3:
//! GEOADD (NX XX CH, out-of-range and unparsable coordinates), GEODIST in every unit,
//! GEOHASH, GEOPOS (Redis's 17-decimal coordinates, `,` doubles in RESP3), GEOSEARCH and
//! GEOSEARCHSTORE with every option and every error in Redis's order, the deprecated
//! GEORADIUS family with STORE/STOREDIST, points at the poles' limits and across the
//! antimeridian, COUNT [ANY], geo keys read as sorted sets, inside MULTI and EVAL, the
//! keyspace events, and searches over random points compared reply for reply.

use tandem_tests::{Differ, RawClient};

/// Runs `script` on fresh connections to both servers, first in RESP2 then in RESP3, and
/// compares the raw reply bytes (so a coordinate's digits, not only its value, must match).
#[track_caller]
fn same(d: &Differ, script: &[&[&str]]) {
    for hello in [None, Some("3")] {
        let mut ours = RawClient::connect(&d.tandem().addr());
        let mut theirs = RawClient::connect(&d.reference().addr());
        for conn in [&mut ours, &mut theirs] {
            if let Some(v) = hello {
                conn.command(&["HELLO", v]);
            }
            conn.command(&["FLUSHALL"]);
        }
        for (i, args) in script.iter().enumerate() {
            assert_eq!(
                ours.command(args),
                theirs.command(args),
                "step {i} {args:?} with HELLO {hello:?} (tandem left, redis-server right)"
            );
        }
    }
}

const SICILY: &[&str] = &[
    "GEOADD",
    "Sicily",
    "13.361389",
    "38.115556",
    "Palermo",
    "15.087269",
    "37.502669",
    "Catania",
];

#[test]
fn geoadd_options_and_errors() {
    let d = Differ::start();
    same(
        &d,
        &[
            SICILY,
            &["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo"],
            &[
                "GEOADD", "Sicily", "CH", "13.4", "38.1", "Palermo", "1", "1", "new",
            ],
            &[
                "GEOADD", "Sicily", "NX", "13.5", "38.1", "Palermo", "2", "2", "new2",
            ],
            &[
                "GEOADD", "Sicily", "XX", "CH", "13.6", "38.1", "Palermo", "3", "3", "new3",
            ],
            &[
                "GEOADD", "Sicily", "xx", "ch", "nx", "13.6", "38.1", "Palermo",
            ],
            &["GEOADD", "Sicily", "NX", "NX", "CH", "1", "1", "x"],
            &["GEOADD", "nokey", "XX", "1", "1", "x"],
            &["EXISTS", "nokey"],
            &["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"],
            // Arity, triples and option errors.
            &["GEOADD", "k", "1", "2"],
            &["GEOADD", "k", "1", "2", "m", "3"],
            &["GEOADD", "k", "CH", "CH", "CH"],
            &["GEOADD", "k", "NX", "CH", "XX"],
            &["GEOADD", "k", "GT", "1", "2", "m"],
            &["GEOADD", "k", "1", "2", "m", "NX"],
            // Coordinates: floats first, then the range, triple by triple.
            &["GEOADD", "k", "abc", "1", "m"],
            &["GEOADD", "k", "1", "abc", "m"],
            &["GEOADD", "k", "200", "10", "m"],
            &["GEOADD", "k", "-180.000001", "10", "m"],
            &["GEOADD", "k", "20", "85.05112879", "m"],
            &["GEOADD", "k", "20", "-100.123456789", "m"],
            &["GEOADD", "k", "1", "1", "ok", "1", "100", "bad"],
            &["EXISTS", "k"],
            &["GEOADD", "k", "inf", "1", "m"],
            &["GEOADD", "k", "1e400", "1", "m"],
            &["GEOADD", "k", "nan", "1", "m"],
            &["GEOADD", "k", " 1", "1", "m"],
            &["GEOADD", "k", "0x10", "1", "m"],
            &["GEOADD", "k", "1e-400", "1", "m"],
            // The limits themselves.
            &[
                "GEOADD",
                "edge",
                "180",
                "85.05112878",
                "ne",
                "-180",
                "-85.05112878",
                "sw",
            ],
            &[
                "GEOADD",
                "edge",
                "180",
                "-85.05112878",
                "se",
                "-180",
                "85.05112878",
                "nw",
            ],
            &["ZRANGE", "edge", "0", "-1", "WITHSCORES"],
            &["GEOPOS", "edge", "ne", "sw", "se", "nw"],
            &["GEOHASH", "edge", "ne", "sw", "se", "nw"],
            // Wrong type: parsed first, then the key.
            &["SET", "str", "v"],
            &["GEOADD", "str", "1", "1", "m"],
            &["GEOADD", "str", "1", "100", "m"],
        ],
    );
}

#[test]
fn geopos_geodist_geohash() {
    let d = Differ::start();
    same(
        &d,
        &[
            SICILY,
            &["GEOPOS", "Sicily", "Palermo", "Catania", "nope"],
            &["GEOPOS", "Sicily"],
            &["GEOPOS", "nokey", "a", "b"],
            &["GEOHASH", "Sicily", "Palermo", "Catania", "nope"],
            &["GEOHASH", "nokey", "a"],
            &["GEOHASH", "Sicily"],
            &["GEODIST", "Sicily", "Palermo", "Catania"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "m"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "KM"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "ft"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "Mi"],
            &["GEODIST", "Sicily", "Palermo", "Palermo"],
            &["GEODIST", "Sicily", "Palermo", "nope"],
            &["GEODIST", "nokey", "a", "b"],
            &["GEODIST", "nokey", "a", "b", "parsec"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "parsec"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "km", "extra"],
            &["GEODIST", "Sicily", "Palermo"],
            // Poles' limits and the antimeridian.
            &[
                "GEOADD",
                "w",
                "179.9999",
                "0",
                "east",
                "-179.9999",
                "0",
                "west",
                "0",
                "85.05",
                "north",
                "0",
                "-85.05",
                "south",
                "-0.0",
                "-0.0",
                "origin",
            ],
            &["GEODIST", "w", "east", "west"],
            &["GEODIST", "w", "north", "south", "km"],
            &["GEOPOS", "w", "east", "west", "north", "south", "origin"],
            &["GEOHASH", "w", "east", "west", "north", "south", "origin"],
            // Scores no GEOADD wrote still decode, as in Redis.
            &[
                "ZADD",
                "z",
                "0",
                "zero",
                "-1",
                "neg",
                "1.5",
                "frac",
                "1e20",
                "big",
                "inf",
                "inf",
                "4503599627370496",
                "two52",
            ],
            &["GEOPOS", "z", "zero", "neg", "frac", "big", "inf", "two52"],
            &["GEOHASH", "z", "zero", "neg", "frac", "big", "inf", "two52"],
            &["GEODIST", "z", "zero", "big"],
            &[
                "GEOSEARCH",
                "z",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "100",
                "km",
                "WITHHASH",
                "WITHCOORD",
            ],
            // Wrong type.
            &["SET", "str", "v"],
            &["GEOPOS", "str", "a"],
            &["GEOHASH", "str", "a"],
            &["GEODIST", "str", "a", "b"],
            &["GEODIST", "str", "a", "b", "parsec"],
        ],
    );
}

#[test]
fn geo_sets_are_sorted_sets() {
    let d = Differ::start();
    same(
        &d,
        &[
            SICILY,
            &["TYPE", "Sicily"],
            &["ZCARD", "Sicily"],
            &["ZSCORE", "Sicily", "Palermo"],
            &["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"],
            &["ZRANGEBYSCORE", "Sicily", "3479099956230698", "+inf"],
            &["ZREM", "Sicily", "Palermo"],
            &["GEOPOS", "Sicily", "Palermo", "Catania"],
            &["ZADD", "Sicily", "3479099956230698", "Palermo"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "km"],
            &["ZREM", "Sicily", "Palermo", "Catania"],
            &["EXISTS", "Sicily"],
        ],
    );
}

/// Members around Sicily, a few far away, two at the same place.
const MANY: &[&str] = &[
    "GEOADD",
    "m",
    "13.361389",
    "38.115556",
    "Palermo",
    "15.087269",
    "37.502669",
    "Catania",
    "12.5",
    "37.8",
    "Marsala",
    "14.0",
    "37.0",
    "Sea",
    "14.0",
    "37.0",
    "Sea2",
    "15.55",
    "38.19",
    "Messina",
    "13.0",
    "41.9",
    "Rome",
    "2.35",
    "48.85",
    "Paris",
    "-73.98",
    "40.75",
    "NYC",
    "151.2",
    "-33.87",
    "Sydney",
    "179.99",
    "-16.5",
    "Fiji",
    "-179.99",
    "-16.6",
    "Fiji2",
];

#[test]
fn geosearch_options() {
    let d = Differ::start();
    same(
        &d,
        &[
            MANY,
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "DESC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "WITHCOORD",
                "WITHDIST",
                "WITHHASH",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "withhash",
                "withdist",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200000",
                "m",
                "WITHDIST",
                "COUNT",
                "2",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "mi",
                "WITHDIST",
                "COUNT",
                "2",
                "DESC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "900000",
                "ft",
                "COUNT",
                "100",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "COUNT",
                "2",
                "ANY",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "COUNT",
                "2",
                "ANY",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "ANY",
                "COUNT",
                "1",
                "DESC",
                "WITHDIST",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "300",
                "km",
                "WITHDIST",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "400",
                "400",
                "km",
                "WITHDIST",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "100",
                "900",
                "km",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "900",
                "100",
                "km",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "180",
                "-16.5",
                "BYRADIUS",
                "50",
                "km",
                "WITHDIST",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "-180",
                "-16.5",
                "BYBOX",
                "100",
                "100",
                "km",
                "WITHCOORD",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "20000",
                "km",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "0",
                "85.05112878",
                "BYRADIUS",
                "10000",
                "km",
                "DESC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "0",
                "-85.05112878",
                "BYBOX",
                "40000",
                "20000",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Sea",
                "BYRADIUS",
                "0",
                "m",
                "WITHDIST",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Sea",
                "BYRADIUS",
                "1",
                "m",
                "WITHDIST",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Sea",
                "BYBOX",
                "0",
                "0",
                "m",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "inf",
                "km",
                "COUNT",
                "3",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Palermo",
                "FROMMEMBER",
                "Rome",
                "BYRADIUS",
                "10",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "BYRADIUS",
                "10",
                "km",
                "BYRADIUS",
                "1000",
                "km",
                "FROMMEMBER",
                "Rome",
                "DESC",
                "ASC",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Rome",
                "BYRADIUS",
                "1000",
                "km",
                "COUNT",
                "5",
                "COUNT",
                "1",
            ],
            &[
                "GEOSEARCH",
                "nokey",
                "FROMMEMBER",
                "x",
                "BYRADIUS",
                "10",
                "km",
            ],
        ],
    );
}

#[test]
fn geosearch_errors_in_redis_s_order() {
    let d = Differ::start();
    same(
        &d,
        &[
            MANY,
            &["SET", "str", "v"],
            // WRONGTYPE comes before any argument error.
            &[
                "GEOSEARCH",
                "str",
                "FROMLONLAT",
                "500",
                "0",
                "BYRADIUS",
                "1",
                "km",
            ],
            &["GEOSEARCH", "str", "nonsense"],
            &[
                "GEOSEARCHSTORE",
                "d",
                "str",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
            ],
            &["GEORADIUS", "str", "500", "1", "1", "km"],
            &["GEORADIUSBYMEMBER", "str", "x", "-1", "km"],
            // Option errors, first one wins.
            &["GEOSEARCH", "m", "FROMMEMBER", "x", "BYRADIUS", "abc", "km"],
            &["GEOSEARCH", "m", "BYRADIUS", "abc", "km", "FROMMEMBER", "x"],
            &[
                "GEOSEARCH",
                "nokey",
                "FROMMEMBER",
                "x",
                "BYRADIUS",
                "abc",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "200",
                "1",
                "BYRADIUS",
                "1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "x",
                "1",
                "BYRADIUS",
                "1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "-1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "parsec",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYBOX",
                "x",
                "1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYBOX",
                "1",
                "x",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYBOX",
                "1",
                "-1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYBOX",
                "-1",
                "x",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYBOX",
                "1",
                "1",
                "furlong",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
                "BYBOX",
                "1",
                "1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "Rome",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "FROMMEMBER",
                "Rome",
                "BYRADIUS",
                "1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
                "COUNT",
                "0",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
                "COUNT",
                "-3",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
                "COUNT",
                "x",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
                "COUNT",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
                "ANY",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
                "STORE",
                "d",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
                "STOREDIST",
            ],
            &["GEOSEARCH", "m", "FROMLONLAT", "1", "1", "BYRADIUS", "1"],
            &["GEOSEARCH", "m", "FROMLONLAT", "1", "1", "BYBOX", "1", "1"],
            &["GEOSEARCH", "m", "FROMLONLAT", "1", "BYRADIUS", "1", "km"],
            &["GEOSEARCH", "m", "FROMMEMBER"],
            &["GEOSEARCH", "m", "BYRADIUS", "1", "km"],
            &["GEOSEARCH", "m", "FROMMEMBER", "Rome"],
            &["GEOSEARCH", "m", "WITHDIST", "FROMMEMBER", "Rome", "ANY"],
            &["GEOSEARCH", "nokey", "BYRADIUS", "1", "km"],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "nope",
                "BYRADIUS",
                "1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "m",
                "FROMMEMBER",
                "nope",
                "BYRADIUS",
                "1",
                "km",
                "bogus",
            ],
            &[
                "GEOSEARCH",
                "m",
                "bogus",
                "FROMMEMBER",
                "nope",
                "BYRADIUS",
                "1",
                "km",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "m",
                "FROMMEMBER",
                "Rome",
                "BYRADIUS",
                "1",
                "km",
                "WITHDIST",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "m",
                "FROMMEMBER",
                "Rome",
                "WITHCOORD",
            ],
            &["GEOSEARCHSTORE", "d", "m", "BYRADIUS", "1", "km"],
            &[
                "GEOSEARCHSTORE",
                "d",
                "m",
                "FROMMEMBER",
                "Rome",
                "BYRADIUS",
                "1",
                "km",
                "STORE",
                "x",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "m",
                "FROMMEMBER",
                "Rome",
                "BYRADIUS",
                "1",
                "km",
                "ANY",
            ],
        ],
    );
}

#[test]
fn georadius_family() {
    let d = Differ::start();
    same(
        &d,
        &[
            MANY,
            &["GEORADIUS", "m", "15", "37", "200", "km"],
            &[
                "GEORADIUS",
                "m",
                "15",
                "37",
                "200",
                "km",
                "WITHDIST",
                "WITHCOORD",
                "WITHHASH",
                "ASC",
            ],
            &[
                "GEORADIUS",
                "m",
                "15",
                "37",
                "200",
                "km",
                "COUNT",
                "2",
                "DESC",
            ],
            &[
                "GEORADIUS",
                "m",
                "15",
                "37",
                "200",
                "km",
                "COUNT",
                "2",
                "ANY",
            ],
            &["GEORADIUS_RO", "m", "15", "37", "200", "km", "WITHDIST"],
            &[
                "GEORADIUSBYMEMBER",
                "m",
                "Palermo",
                "300",
                "km",
                "WITHDIST",
                "ASC",
            ],
            &[
                "GEORADIUSBYMEMBER_RO",
                "m",
                "Palermo",
                "300",
                "km",
                "WITHCOORD",
                "COUNT",
                "1",
            ],
            // Errors: positional arguments first.
            &["GEORADIUS", "m", "200", "37", "abc", "km"],
            &["GEORADIUS", "m", "x", "37", "200", "km"],
            &["GEORADIUS", "m", "15", "37", "abc", "km"],
            &["GEORADIUS", "m", "15", "37", "-1", "km"],
            &["GEORADIUS", "m", "15", "37", "1", "lightyear"],
            &["GEORADIUS", "nokey", "15", "37", "-1", "km"],
            &["GEORADIUS", "nokey", "15", "37", "1", "km", "bogus"],
            &["GEORADIUS", "nokey", "15", "37", "1", "km"],
            &["GEORADIUSBYMEMBER", "m", "nope", "abc", "km"],
            &["GEORADIUSBYMEMBER", "m", "Palermo", "abc", "km"],
            &["GEORADIUSBYMEMBER", "m", "Palermo", "1", "parsec"],
            &["GEORADIUSBYMEMBER", "nokey", "x", "abc", "km"],
            &["GEORADIUSBYMEMBER", "nokey", "x", "abc", "km", "bogus"],
            &["GEORADIUSBYMEMBER", "nokey", "x", "1", "km", "COUNT", "0"],
            &["GEORADIUS", "m", "15", "37", "1", "km", "COUNT", "0"],
            &["GEORADIUS", "m", "15", "37", "1", "km", "ANY"],
            &[
                "GEORADIUS",
                "m",
                "15",
                "37",
                "1",
                "km",
                "FROMMEMBER",
                "Rome",
            ],
            &["GEORADIUS", "m", "15", "37", "1", "km", "STORE"],
            &["GEORADIUS_RO", "m", "15", "37", "1", "km", "STORE", "d"],
            &[
                "GEORADIUSBYMEMBER_RO",
                "m",
                "Rome",
                "1",
                "km",
                "STOREDIST",
                "d",
            ],
            &[
                "GEORADIUS",
                "m",
                "15",
                "37",
                "200",
                "km",
                "STORE",
                "d",
                "WITHDIST",
            ],
            // STORE and STOREDIST.
            &["GEORADIUS", "m", "15", "37", "200", "km", "STORE", "d"],
            &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            &[
                "GEORADIUS",
                "m",
                "15",
                "37",
                "200",
                "km",
                "STOREDIST",
                "d",
                "COUNT",
                "2",
                "DESC",
            ],
            &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            &[
                "GEORADIUSBYMEMBER",
                "m",
                "Rome",
                "2000",
                "km",
                "STORE",
                "d2",
                "STOREDIST",
                "d3",
                "ASC",
            ],
            &["EXISTS", "d2"],
            &["ZRANGE", "d3", "0", "-1", "WITHSCORES"],
            &["GEORADIUS", "m", "0", "0", "1", "km", "STORE", "d3"],
            &["EXISTS", "d3"],
            &["GEORADIUS", "nokey", "0", "0", "1", "km", "STORE", "d"],
            &["EXISTS", "d"],
            &["GEORADIUSBYMEMBER", "nokey", "x", "abc", "km", "STORE", "m"],
            &["EXISTS", "m"],
        ],
    );
}

#[test]
fn geosearchstore_replaces_any_destination() {
    let d = Differ::start();
    same(
        &d,
        &[
            MANY,
            &["SET", "str", "v"],
            &["RPUSH", "list", "a"],
            &[
                "GEOSEARCHSTORE",
                "str",
                "m",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "300",
                "km",
            ],
            &["TYPE", "str"],
            &["ZRANGE", "str", "0", "-1", "WITHSCORES"],
            &[
                "GEOSEARCHSTORE",
                "list",
                "m",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "300",
                "km",
                "STOREDIST",
                "COUNT",
                "2",
            ],
            &["ZRANGE", "list", "0", "-1", "WITHSCORES"],
            &[
                "GEOSEARCHSTORE",
                "list",
                "m",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "600",
                "600",
                "mi",
                "STOREDIST",
                "DESC",
                "COUNT",
                "3",
                "ANY",
            ],
            &["ZRANGE", "list", "0", "-1", "WITHSCORES"],
            &[
                "GEOSEARCHSTORE",
                "list",
                "m",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "0",
                "km",
                "STOREDIST",
            ],
            &["ZRANGE", "list", "0", "-1", "WITHSCORES"],
            &[
                "GEOSEARCHSTORE",
                "list",
                "m",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "km",
            ],
            &["EXISTS", "list"],
            &[
                "GEOSEARCHSTORE",
                "str",
                "nokey",
                "FROMMEMBER",
                "x",
                "BYRADIUS",
                "1",
                "km",
            ],
            &["EXISTS", "str"],
            &[
                "GEOSEARCHSTORE",
                "m",
                "m",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "300",
                "km",
            ],
            &["ZRANGE", "m", "0", "-1", "WITHSCORES"],
            &[
                "GEOSEARCHSTORE",
                "d",
                "m",
                "FROMMEMBER",
                "nope",
                "BYRADIUS",
                "300",
                "km",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "nokey",
                "FROMMEMBER",
                "x",
                "BYRADIUS",
                "abc",
                "km",
            ],
        ],
    );
}

#[test]
fn inside_multi_and_eval() {
    let d = Differ::start();
    same(
        &d,
        &[
            &["MULTI"],
            SICILY,
            &["GEOPOS", "Sicily", "Palermo", "nope"],
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHCOORD", "WITHDIST"],
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", "200", "km"],
            &["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
            &["GEODIST", "Sicily", "Palermo", "Catania"],
            &["EXEC"],
            &["EVAL", "return redis.call('GEOPOS', KEYS[1], 'Palermo')", "1", "Sicily"],
            &["EVAL", "redis.setresp(3); return redis.call('GEOPOS', KEYS[1], 'Palermo')", "1", "Sicily"],
            &["EVAL", "redis.setresp(3); local p = redis.call('GEOPOS', KEYS[1], 'Palermo'); return tostring(p[1][1]['double'])", "1", "Sicily"],
            &["EVAL", "return redis.call('GEOSEARCH', KEYS[1], 'FROMMEMBER', 'Palermo', 'BYRADIUS', 200, 'km', 'WITHDIST', 'WITHHASH', 'WITHCOORD')", "1", "Sicily"],
            &["EVAL", "return redis.pcall('GEOSEARCH', KEYS[1], 'FROMMEMBER', 'nope', 'BYRADIUS', 200, 'km')", "1", "Sicily"],
            &["EVAL", "return redis.call('GEOADD', KEYS[1], 1, 1, 'x')", "1", "Sicily"],
            &["EVAL", "return redis.call('GEORADIUS_RO', KEYS[1], 15, 37, 200, 'km', 'ASC')", "1", "Sicily"],
            &["EVAL", "return redis.call('GEOHASH', KEYS[1], 'x', 'nope')", "1", "Sicily"],
        ],
    );
}

/// A small deterministic generator (the test must replay identically on both servers).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// Random points in a few regions (one across the antimeridian, one near a pole's limit),
/// then searches of every size around random centres and around members; every reply must
/// equal redis-server's, order and digits included.
#[test]
fn random_points_search_like_redis() {
    let d = Differ::start();
    let mut rng = Lcg(0x5eed_0017);
    let regions: [(f64, f64, f64, f64); 4] = [
        (13.0, 16.0, 36.5, 38.5),
        (178.0, 182.0, -20.0, -15.0),
        (-20.0, 20.0, 80.0, 85.05),
        (-180.0, 180.0, -85.0, 85.0),
    ];
    let mut add: Vec<String> = vec!["GEOADD".into(), "r".into()];
    for i in 0..400 {
        let (lo_lon, hi_lon, lo_lat, hi_lat) = regions[i % regions.len()];
        let mut lon = rng.range(lo_lon, hi_lon);
        if lon > 180.0 {
            lon -= 360.0;
        }
        let lat = rng.range(lo_lat, hi_lat);
        add.push(format!("{lon:.6}"));
        add.push(format!("{lat:.6}"));
        add.push(format!("p{i}"));
    }
    let mut script: Vec<Vec<String>> = vec![add];
    let units = ["m", "km", "mi", "ft"];
    for i in 0..120 {
        let (lo_lon, hi_lon, lo_lat, hi_lat) = regions[i % regions.len()];
        let lon = rng.range(lo_lon, hi_lon).min(180.0);
        let lat = rng.range(lo_lat, hi_lat);
        let unit = units[i % units.len()];
        let scale = match unit {
            "m" => 1000.0,
            "ft" => 3280.0,
            "mi" => 0.62,
            _ => 1.0,
        };
        let size = [5.0, 50.0, 300.0, 2000.0, 9000.0][i % 5] * scale * rng.next();
        let from: Vec<String> = if i % 3 == 0 {
            vec![
                "FROMMEMBER".into(),
                format!("p{}", (rng.next() * 400.0) as usize),
            ]
        } else {
            vec![
                "FROMLONLAT".into(),
                format!("{lon:.5}"),
                format!("{lat:.5}"),
            ]
        };
        let by: Vec<String> = if i % 2 == 0 {
            vec!["BYRADIUS".into(), format!("{size:.3}"), unit.into()]
        } else {
            vec![
                "BYBOX".into(),
                format!("{size:.3}"),
                format!("{:.3}", size * rng.range(0.3, 2.0)),
                unit.into(),
            ]
        };
        let mut cmd: Vec<String> = vec!["GEOSEARCH".into(), "r".into()];
        cmd.extend(from.clone());
        cmd.extend(by.clone());
        let mut with = cmd.clone();
        with.extend(["WITHDIST", "WITHCOORD", "WITHHASH"].map(String::from));
        match i % 4 {
            0 => with.push("ASC".into()),
            1 => with.push("DESC".into()),
            2 => with.extend(["COUNT".into(), "7".into()]),
            _ => {}
        }
        script.push(cmd);
        script.push(with);
        let mut store = vec!["GEOSEARCHSTORE".to_string(), "s".into(), "r".into()];
        store.extend(from);
        store.extend(by);
        store.push("STOREDIST".into());
        script.push(store);
        script.push(
            ["ZRANGE", "s", "0", "-1", "WITHSCORES"]
                .map(String::from)
                .to_vec(),
        );
    }
    for i in 0..40 {
        let m = format!("p{}", i * 7);
        let n = format!("p{}", i * 7 + 3);
        script.push(
            ["GEODIST", "r", m.as_str(), n.as_str(), units[i % 4]]
                .map(String::from)
                .to_vec(),
        );
        script.push(
            ["GEOPOS", "r", m.as_str(), n.as_str()]
                .map(String::from)
                .to_vec(),
        );
        script.push(
            ["GEOHASH", "r", m.as_str(), n.as_str()]
                .map(String::from)
                .to_vec(),
        );
    }
    let refs: Vec<Vec<&str>> = script
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let steps: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    same(&d, &steps);
}

/// Subscribes to every keyspace event, runs `script`, and returns what arrived.
fn events(addr: &str, script: &[&[&str]]) -> Vec<String> {
    const DONE: &str = "geo-events-done";
    let mut c = RawClient::connect(addr);
    c.command(&["FLUSHALL"]);
    c.command(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut sub = RawClient::connect(addr);
    sub.command(&["PSUBSCRIBE", "__key*__:*"]);
    sub.command(&["SUBSCRIBE", DONE]);
    for step in script {
        c.command(step);
    }
    c.command(&["PUBLISH", DONE, "x"]);
    let mut got = Vec::new();
    loop {
        let message = sub.reply();
        if message.contains(DONE) {
            break;
        }
        got.push(message);
    }
    c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    got
}

#[test]
fn keyspace_events_as_redis() {
    let d = Differ::start();
    let script: &[&[&str]] = &[
        SICILY,
        &["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo"],
        &["GEOADD", "Sicily", "NX", "1", "1", "Palermo"],
        &["GEOADD", "Sicily", "XX", "1", "1", "Palermo"],
        &["GEOADD", "nokey", "XX", "1", "1", "Palermo"],
        &["GEOADD", "bad", "1", "100", "x"],
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
        ],
        &[
            "GEOSEARCHSTORE",
            "d",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "2000",
            "km",
        ],
        &[
            "GEOSEARCHSTORE",
            "d",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "20",
            "km",
        ],
        &[
            "GEOSEARCHSTORE",
            "d",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "20",
            "km",
        ],
        &["SET", "str", "v"],
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "2000",
            "km",
            "STORE",
            "str",
        ],
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "2000",
            "km",
            "STOREDIST",
            "str",
        ],
        &[
            "GEORADIUSBYMEMBER",
            "Sicily",
            "Palermo",
            "1",
            "m",
            "STORE",
            "str",
        ],
        &[
            "GEOSEARCHSTORE",
            "d",
            "nokey",
            "FROMMEMBER",
            "x",
            "BYRADIUS",
            "1",
            "km",
        ],
        &[
            "GEOSEARCHSTORE",
            "x",
            "nokey",
            "FROMMEMBER",
            "x",
            "BYRADIUS",
            "1",
            "km",
        ],
        &["ZREM", "Sicily", "Palermo", "Catania"],
    ];
    let ours = events(&d.tandem().addr(), script);
    let theirs = events(&d.reference().addr(), script);
    assert!(!theirs.is_empty());
    assert_eq!(
        ours, theirs,
        "events differ (tandem left, redis-server right)"
    );
}

/// Many members at a few places: equal distances everywhere. Without COUNT Redis's sort is
/// stable (scan order); with COUNT below the matches it is its own partial quicksort, whose
/// order among equals must be reproduced too.
#[test]
fn equal_distances_order_as_redis() {
    let d = Differ::start();
    let spots = [
        (2.0, 2.0),
        (2.01, 2.0),
        (2.0, 2.01),
        (1.99, 1.99),
        (2.02, 2.02),
    ];
    let mut add: Vec<String> = vec!["GEOADD".into(), "t".into()];
    for i in 0..90 {
        let (lon, lat) = spots[(i * 7) % spots.len()];
        add.extend([lon.to_string(), lat.to_string(), format!("m{i:02}")]);
    }
    let mut script: Vec<Vec<String>> = vec![add];
    for count in ["1", "3", "6", "7", "8", "13", "40", "41", "89", "90", "200"] {
        for order in ["ASC", "DESC"] {
            script.push(
                [
                    "GEOSEARCH",
                    "t",
                    "FROMLONLAT",
                    "2",
                    "2",
                    "BYRADIUS",
                    "10",
                    "km",
                    order,
                    "COUNT",
                    count,
                    "WITHDIST",
                ]
                .map(String::from)
                .to_vec(),
            );
        }
        script.push(
            [
                "GEORADIUS",
                "t",
                "2.005",
                "2.005",
                "10",
                "km",
                "COUNT",
                count,
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    script.push(
        [
            "GEOSEARCH",
            "t",
            "FROMLONLAT",
            "2",
            "2",
            "BYRADIUS",
            "10",
            "km",
            "DESC",
        ]
        .map(String::from)
        .to_vec(),
    );
    // Sets of every size around the algorithm's thresholds (7 and 40), ties mixed with
    // distinct distances in a scrambled scan order.
    let mut rng = Lcg(7);
    for size in [7usize, 8, 12, 20, 33, 40, 41, 64] {
        let key = format!("s{size}");
        let mut add: Vec<String> = vec!["GEOADD".into(), key.clone()];
        for i in 0..size {
            let spot = (rng.next() * 6.0) as usize;
            let (lon, lat) = if spot < 3 {
                spots[spot]
            } else {
                (rng.range(1.95, 2.05), rng.range(1.95, 2.05))
            };
            add.extend([format!("{lon:.5}"), format!("{lat:.5}"), format!("e{i:02}")]);
        }
        script.push(add);
        for count in 1..size {
            let order = if count % 2 == 0 { "ASC" } else { "DESC" };
            let count = count.to_string();
            script.push(
                [
                    "GEOSEARCH",
                    &key,
                    "FROMLONLAT",
                    "2",
                    "2",
                    "BYRADIUS",
                    "20",
                    "km",
                    order,
                    "COUNT",
                    &count,
                ]
                .map(String::from)
                .to_vec(),
            );
        }
    }
    let refs: Vec<Vec<&str>> = script
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let steps: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    same(&d, &steps);
}
