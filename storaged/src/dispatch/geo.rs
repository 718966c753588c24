//! Geo sets: GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEORADIUS_RO, GEORADIUSBYMEMBER_RO; GEOADD,
//! GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER (over `types/geo`, which keeps them in zsets).

use tandem_shared::command::{
    ArchivedCommand, ArchivedGeoOrder, ArchivedGeoQuery, ArchivedGeoStep, ArchivedZAddCondition,
    GeoOrder, GeoQuery, GeoStep, GeoStore, ZAddCondition,
};

use super::arm::{done, key_slices};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::Flags;
use crate::types::geo;
use crate::types::{At, CmdResult};

const Z: u32 = Flags::ZSET;

/// The light reads (see [`super::is_light_read`]): member lookups.
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    matches!(
        cmd,
        ArchivedCommand::GeoDist { .. }
            | ArchivedCommand::GeoHash { .. }
            | ArchivedCommand::GeoPos { .. }
    )
}

/// The read-only geo commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::GeoDist { key, a, b, unit_m } => geo::geodist(s, at, key, a, b, unit_m.to_native()),
        C::GeoHash { key, members } => geo::geohash(s, at, key, &key_slices(members)),
        C::GeoPos { key, members } => geo::geopos(s, at, key, &key_slices(members)),
        C::GeoSearch { key, query } => geo::search(s, at, key, &query_of(query)),
        _ => return None,
    })
}

/// The geo commands that write, each with its keyspace events; `None` for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::GeoAdd {
            key,
            condition,
            changed,
            points,
        } => {
            let condition = match condition {
                ArchivedZAddCondition::Always => ZAddCondition::Always,
                ArchivedZAddCondition::Nx => ZAddCondition::Nx,
                ArchivedZAddCondition::Xx => ZAddCondition::Xx,
            };
            let points: Vec<(f64, f64, &[u8])> = points
                .iter()
                .map(|p| (p.0.to_native(), p.1.to_native(), p.2.as_slice()))
                .collect();
            let r = geo::geoadd(w, at, key, condition, *changed, &points);
            // GEOADD is ZADD underneath, and Redis announces it as one.
            done(w, r, |e, _| {
                if e.changed(db, key) {
                    e.write(Z, "zadd", db, key);
                }
            })
        }
        C::GeoSearchStore { key, query } => {
            let q = query_of(query);
            let r = geo::search_store(w, at, key, &q);
            let store = q.store;
            done(w, r, |e, reply| {
                if let Some(store) = &store {
                    let name = if store.search {
                        "geosearchstore"
                    } else {
                        "georadiusstore"
                    };
                    e.store(Z, name, db, &store.dst, reply);
                }
            })
        }
        _ => return None,
    })
}

fn query_of(q: &ArchivedGeoQuery) -> GeoQuery {
    GeoQuery {
        steps: q
            .steps
            .iter()
            .map(|s| match s {
                ArchivedGeoStep::Center { lon, lat } => GeoStep::Center {
                    lon: lon.to_native(),
                    lat: lat.to_native(),
                },
                ArchivedGeoStep::Member(m) => GeoStep::Member(m.to_vec()),
                ArchivedGeoStep::Radius { radius, unit_m } => GeoStep::Radius {
                    radius: radius.to_native(),
                    unit_m: unit_m.to_native(),
                },
                ArchivedGeoStep::Box {
                    width,
                    height,
                    unit_m,
                } => GeoStep::Box {
                    width: width.to_native(),
                    height: height.to_native(),
                    unit_m: unit_m.to_native(),
                },
                ArchivedGeoStep::Error(text) => GeoStep::Error(text.as_str().to_owned()),
            })
            .collect(),
        keyed_steps: q.keyed_steps,
        order: match q.order {
            ArchivedGeoOrder::Unsorted => GeoOrder::Unsorted,
            ArchivedGeoOrder::Asc => GeoOrder::Asc,
            ArchivedGeoOrder::Desc => GeoOrder::Desc,
        },
        count: q.count.to_native(),
        any: q.any,
        with_coord: q.with_coord,
        with_dist: q.with_dist,
        with_hash: q.with_hash,
        store: q.store.as_ref().map(|s| GeoStore {
            dst: s.dst.to_vec(),
            dist: s.dist,
            search: s.search,
        }),
    }
}
