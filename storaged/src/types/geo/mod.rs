//! Geo sets (`GEOADD`, `GEODIST`, `GEOHASH`, `GEOPOS`, `GEOSEARCH`, `GEOSEARCHSTORE`,
//! `GEORADIUS*`) with Redis 7.0's replies. A geo set is a sorted set whose scores are
//! 52-bit geohashes ([`hash`]), so it lives in the zset layout (see `docs/ENCODING.md`) and
//! every `Z*` command works on it; this module reaches it only through `types::zset`'s
//! handles and never parses arguments (the proxy did, see `GeoQuery`).
//!
//! A search scans at most nine score ranges of the zset's score index (the cell holding
//! the centre and its neighbours, as Redis does), never the whole set, and filters each
//! candidate by its exact distance.

pub mod hash;

use tandem_shared::command::{
    GeoOrder, GeoQuery, GeoStep, ZAddCompare, ZAddCondition, ZAddOptions,
};
use tandem_shared::{Reply, StorageError};

use super::zset::{self, ZSetRef};
use super::{At, CmdResult};
use crate::engine::{StoreRead, StoreWrite};
use hash::{Search, Shape};

/// `GEOADD`: `ZADD` of the points' geohash scores (replies and events are `ZADD`'s).
pub fn geoadd<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    condition: ZAddCondition,
    changed: bool,
    points: &[(f64, f64, &[u8])],
) -> CmdResult {
    let mut pairs = Vec::with_capacity(points.len());
    for &(lon, lat, member) in points {
        let Some(score) = hash::score_of(lon, lat) else {
            return Ok(Reply::Error(format!(
                "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
            )));
        };
        pairs.push((score as f64, member));
    }
    let opts = ZAddOptions {
        condition,
        compare: ZAddCompare::Any,
        changed,
        incr: false,
    };
    zset::zadd(w, at, key, opts, &pairs)
}

/// `GEODIST`: the distance between two members in meters / `unit_m`, `%.4f`.
pub fn geodist<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    a: &[u8],
    b: &[u8],
    unit_m: f64,
) -> CmdResult {
    let Some(z) = zset::open_read(s, at, key)? else {
        return Ok(Reply::Nil);
    };
    let (Some(sa), Some(sb)) = (z.score(s, a)?, z.score(s, b)?) else {
        return Ok(Reply::Nil);
    };
    let (lon1, lat1) = hash::position(sa);
    let (lon2, lat2) = hash::position(sb);
    let d = hash::distance(lon1, lat1, lon2, lat2) / unit_m;
    Ok(Reply::Bulk(hash::distance_text(d).into_bytes()))
}

/// `GEOHASH`: each member's 11-character geohash, nil for a missing member.
pub fn geohash<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], members: &[&[u8]]) -> CmdResult {
    let z = zset::open_read(s, at, key)?;
    let mut out = Vec::with_capacity(members.len());
    for &m in members {
        let score = match &z {
            Some(z) => z.score(s, m)?,
            None => None,
        };
        out.push(score.map_or(Reply::Nil, |sc| {
            Reply::Bulk(hash::geohash_string(sc).to_vec())
        }));
    }
    Ok(Reply::Array(out))
}

/// `GEOPOS`: each member's `[longitude, latitude]`, a nil array for a missing member.
pub fn geopos<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], members: &[&[u8]]) -> CmdResult {
    let z = zset::open_read(s, at, key)?;
    let mut out = Vec::with_capacity(members.len());
    for &m in members {
        let score = match &z {
            Some(z) => z.score(s, m)?,
            None => None,
        };
        out.push(score.map_or(Reply::NilArray, |sc| coord_reply(hash::position(sc))));
    }
    Ok(Reply::Array(out))
}

fn coord_reply((lon, lat): (f64, f64)) -> Reply {
    Reply::Array(vec![
        Reply::HumanDouble(hash::human(lon)),
        Reply::HumanDouble(hash::human(lat)),
    ])
}

/// One match of a search.
#[derive(Debug, Clone, PartialEq)]
struct Point {
    member: Vec<u8>,
    score: f64,
    lon: f64,
    lat: f64,
    /// In the query's unit once the search is done (meters while it runs).
    dist: f64,
}

/// What a search came to.
enum Found {
    /// An argument error, at the point Redis raises it (text with its prefix).
    Error(String),
    /// The key does not exist (after every argument was checked).
    NoKey,
    /// The matches to reply or store, sorted and cut to `COUNT`.
    Points(Vec<Point>),
}

const NO_MEMBER: &str = "ERR could not decode requested zset member";

/// Replays the query's argument steps against the key (see `GeoStep`), then searches.
fn run<S: StoreRead + ?Sized>(
    s: &S,
    z: Option<&ZSetRef<'_>>,
    q: &GeoQuery,
) -> Result<Found, StorageError> {
    let mut centre = None;
    let mut shape = None;
    for (i, step) in q.steps.iter().enumerate() {
        if z.is_none() && i < usize::from(q.keyed_steps) {
            continue;
        }
        match step {
            GeoStep::Center { lon, lat } => centre = Some((*lon, *lat)),
            GeoStep::Member(m) => {
                if let Some(z) = z {
                    match z.score(s, m)? {
                        Some(sc) => centre = Some(hash::position(sc)),
                        None => return Ok(Found::Error(NO_MEMBER.to_owned())),
                    }
                }
            }
            GeoStep::Radius { radius, unit_m } => shape = Some((Shape::Radius(*radius), *unit_m)),
            GeoStep::Box {
                width,
                height,
                unit_m,
            } => {
                shape = Some((
                    Shape::Box {
                        width: *width,
                        height: *height,
                    },
                    *unit_m,
                ));
            }
            GeoStep::Error(text) => return Ok(Found::Error(text.clone())),
        }
    }
    let Some(z) = z else {
        return Ok(Found::NoKey);
    };
    let (Some((lon, lat)), Some((shape, unit_m))) = (centre, shape) else {
        return Err(StorageError::Internal(
            "geo search without a centre or a shape".to_owned(),
        ));
    };
    let search = Search {
        lon,
        lat,
        shape,
        unit_m,
    };
    let count = usize::try_from(q.count).unwrap_or(usize::MAX);
    let limit = if q.any { count } else { 0 };
    let mut found = if limit == 0 {
        collect_merged(s, z, &search)?
    } else {
        collect(s, z, &search, limit)?
    };
    let returned = if count == 0 || found.len() < count {
        found.len()
    } else {
        count
    };
    match q.order {
        GeoOrder::Unsorted => {}
        GeoOrder::Asc => sort::by_distance(&mut found, returned, false),
        GeoOrder::Desc => sort::by_distance(&mut found, returned, true),
    }
    found.truncate(returned);
    for p in &mut found {
        p.dist /= unit_m;
    }
    Ok(Found::Points(found))
}

/// The matches in Redis's scan order: cell by cell (centre, N, S, E, W, NE, NW, SE, SW), each
/// in zset order; with `limit` (`ANY`), stops as soon as that many matched.
fn collect<S: StoreRead + ?Sized>(
    s: &S,
    z: &ZSetRef<'_>,
    search: &Search,
    limit: usize,
) -> Result<Vec<Point>, StorageError> {
    let cells = hash::cover(search);
    let mut found: Vec<Point> = Vec::new();
    let full = |found: &Vec<Point>| limit != 0 && found.len() >= limit;
    for i in scan_order(&cells) {
        if full(&found) {
            break;
        }
        let (min, max) = hash::score_range(cells[i]);
        z.scan_scores(s, min as f64, max as f64, &mut |member, score| {
            let (lon, lat) = hash::position(score);
            if let Some(dist) = hash::distance_if_inside(search, lon, lat) {
                found.push(Point {
                    member: member.to_vec(),
                    score,
                    lon,
                    lat,
                    dist,
                });
            }
            !full(&found)
        })?;
    }
    Ok(found)
}

/// The cells Redis scans, in its order: zero cells left out, and a cell equal to the last
/// one scanned skipped (only that one, and never compared with the centre), so very large
/// areas, whose neighbours repeat, may scan a cell twice as Redis does.
fn scan_order(cells: &hash::Cover) -> Vec<usize> {
    let mut order = Vec::with_capacity(cells.len());
    let mut last = 0;
    for (i, &cell) in cells.iter().enumerate() {
        if cell.is_zero() || (last != 0 && cell == cells[last]) {
            continue;
        }
        order.push(i);
        last = i;
    }
    order
}

/// [`collect`] without a limit, in fewer index seeks: cells are ranges of one step, so in
/// score order they are disjoint, and neighbours are often consecutive (a 2x2 block of
/// cells is one range); adjacent ranges are read in one scan, the matches sorted into
/// their cells, and the cells then concatenated in Redis's scan order.
fn collect_merged<S: StoreRead + ?Sized>(
    s: &S,
    z: &ZSetRef<'_>,
    search: &Search,
) -> Result<Vec<Point>, StorageError> {
    let cells = hash::cover(search);
    let order = scan_order(&cells);
    let mut ranges: Vec<(u64, u64)> = order.iter().map(|&i| hash::score_range(cells[i])).collect();
    ranges.sort_unstable();
    ranges.dedup();
    let mut buckets: Vec<Vec<Point>> = vec![Vec::new(); ranges.len()];
    let mut start = 0;
    while start < ranges.len() {
        let mut end = start + 1;
        while end < ranges.len() && ranges[end].0 == ranges[end - 1].1 {
            end += 1;
        }
        let (lo, hi) = (ranges[start].0, ranges[end - 1].1);
        let mut bucket = start;
        z.scan_scores(s, lo as f64, hi as f64, &mut |member, score| {
            while bucket + 1 < end && score >= ranges[bucket].1 as f64 {
                bucket += 1;
            }
            let (lon, lat) = hash::position(score);
            if let Some(dist) = hash::distance_if_inside(search, lon, lat) {
                buckets[bucket].push(Point {
                    member: member.to_vec(),
                    score,
                    lon,
                    lat,
                    dist,
                });
            }
            true
        })?;
        start = end;
    }
    let mut found = Vec::new();
    for &i in &order {
        let range = hash::score_range(cells[i]);
        if let Ok(b) = ranges.binary_search(&range) {
            found.extend(buckets[b].iter().cloned());
        }
    }
    Ok(found)
}

mod sort;

/// The reply of a search that does not store.
fn reply_of(found: Found, q: &GeoQuery) -> Reply {
    let points = match found {
        Found::Error(text) => return Reply::Error(text),
        Found::NoKey => return Reply::Array(Vec::new()),
        Found::Points(p) => p,
    };
    let options = q.with_dist || q.with_hash || q.with_coord;
    Reply::Array(
        points
            .into_iter()
            .map(|p| {
                if !options {
                    return Reply::Bulk(p.member);
                }
                let mut item = vec![Reply::Bulk(p.member)];
                if q.with_dist {
                    item.push(Reply::Bulk(hash::distance_text(p.dist).into_bytes()));
                }
                if q.with_hash {
                    item.push(Reply::Integer(hash::c_i64(p.score)));
                }
                if q.with_coord {
                    item.push(coord_reply((p.lon, p.lat)));
                }
                Reply::Array(item)
            })
            .collect(),
    )
}

/// `GEOSEARCH`, `GEORADIUS_RO`, `GEORADIUSBYMEMBER_RO`.
pub fn search<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], q: &GeoQuery) -> CmdResult {
    let z = zset::open_read(s, at, key)?;
    Ok(reply_of(run(s, z.as_ref(), q)?, q))
}

/// `GEOSEARCHSTORE`, `GEORADIUS`, `GEORADIUSBYMEMBER`: a search that replaces `STORE`'s key
/// with the matches (scores: geohashes, or distances in the query's unit for `STOREDIST`)
/// and replies their count; the destination is deleted when nothing matched or the source
/// does not exist. Without a store key it replies as [`search`].
pub fn search_store<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    q: &GeoQuery,
) -> CmdResult {
    let z = zset::open_write(w, at, key)?;
    let found = run(&*w, z.as_ref(), q)?;
    let Some(store) = &q.store else {
        return Ok(reply_of(found, q));
    };
    let points = match found {
        Found::Error(text) => return Ok(Reply::Error(text)),
        Found::NoKey => Vec::new(),
        Found::Points(p) => p,
    };
    let mut seen = std::collections::HashSet::new();
    let entries: Vec<(Vec<u8>, f64)> = points
        .into_iter()
        .filter(|p| seen.insert(p.member.clone()))
        .map(|p| {
            let score = if store.dist { p.dist } else { p.score };
            (p.member, score)
        })
        .collect();
    zset::store_entries(w, at, &store.dst, &entries)
}

#[cfg(test)]
mod tests;
