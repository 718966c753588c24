//! Geo unit tests: the geohash arithmetic against values redis-server 7.0.15 printed, and
//! searches against a brute-force model over a real store.

use proptest::prelude::*;
use tandem_shared::command::{GeoOrder, GeoQuery, GeoStep, GeoStore, ZAddCondition};
use tandem_shared::Reply;

use super::hash::{self, HashBits, Search, Shape};
use super::*;
use crate::types::testing::TestDb;

/// Palermo and Catania, as in Redis's documentation (scores from `WITHHASH`).
const PALERMO: (f64, f64, u64) = (13.361389, 38.115556, 3_479_099_956_230_698);
const CATANIA: (f64, f64, u64) = (15.087269, 37.502669, 3_479_447_370_796_909);

#[test]
fn scores_positions_and_geohashes_are_redis_s() {
    for (lon, lat, score) in [PALERMO, CATANIA] {
        assert_eq!(hash::score_of(lon, lat), Some(score));
    }
    let (lon, lat) = hash::position(PALERMO.2 as f64);
    assert_eq!(hash::human(lon), "13.36138933897018433");
    assert_eq!(hash::human(lat), "38.11555639549629859");
    let (lon, lat) = hash::position(CATANIA.2 as f64);
    assert_eq!(hash::human(lon), "15.08726745843887329");
    assert_eq!(hash::human(lat), "37.50266842333162032");
    assert_eq!(&hash::geohash_string(PALERMO.2 as f64), b"sqc8b49rny0");
    assert_eq!(&hash::geohash_string(CATANIA.2 as f64), b"sqdtr74hyu0");
    // The limits themselves are indexable; past them nothing is.
    assert!(hash::score_of(180.0, 85.051_128_78).is_some());
    assert!(hash::score_of(-180.0, -85.051_128_78).is_some());
    assert_eq!(hash::score_of(180.000_001, 0.0), None);
    assert_eq!(hash::score_of(0.0, 85.051_128_79), None);
}

#[test]
fn distances_are_haversine_on_redis_s_sphere() {
    let (lon1, lat1) = hash::position(PALERMO.2 as f64);
    let (lon2, lat2) = hash::position(CATANIA.2 as f64);
    let d = hash::distance(lon1, lat1, lon2, lat2);
    assert_eq!(hash::distance_text(d / 1000.0), "166.2742");
    assert_eq!(hash::distance_text(d), "166274.1516");
    assert_eq!(hash::distance(lon1, lat1, lon1, lat1), 0.0);
    // Half the circumference between antipodes on the equator.
    let half = hash::distance(0.0, 0.0, 180.0, 0.0);
    assert!((half - std::f64::consts::PI * hash::EARTH_RADIUS_M).abs() < 1e-6);
}

#[test]
fn human_doubles_cut_trailing_zeros() {
    assert_eq!(hash::human(1.5), "1.5");
    assert_eq!(hash::human(-180.0), "-180");
    assert_eq!(hash::human(-0.0), "0");
    assert_eq!(hash::human(0.1), "0.10000000000000001");
}

#[test]
fn c_casts_wrap_like_x86() {
    assert_eq!(hash::c_u64(3.9), 3);
    assert_eq!(hash::c_u64(-1.0), u64::MAX);
    assert_eq!(hash::c_u64(1e19), 10_000_000_000_000_000_000);
    assert_eq!(hash::c_i64(f64::INFINITY), i64::MIN);
    assert_eq!(hash::c_i64(-2.5), -2);
}

#[test]
fn neighbours_cover_the_search_area() {
    let s = Search {
        lon: 15.0,
        lat: 37.0,
        shape: Shape::Radius(200.0),
        unit_m: 1000.0,
    };
    let cells = hash::cover(&s);
    let centre = cells[0];
    assert!(!centre.is_zero());
    let (min, max) = hash::score_range(centre);
    let here = hash::score_of(15.0, 37.0).unwrap();
    assert!(min <= here && here < max);
    // A huge radius falls back to step 1: four cells for the whole map.
    let world = Search {
        shape: Shape::Radius(20_000.0),
        ..s
    };
    assert_eq!(hash::cover(&world)[0].step, 1);
    assert_eq!(hash::estimate_steps(0.0, 0.0), 26);
    assert_eq!(hash::estimate_steps(1000.0, 0.0), 14);
    assert_eq!(hash::estimate_steps(1000.0, 70.0), 13);
    assert_eq!(hash::estimate_steps(1000.0, -81.0), 12);
    assert!(HashBits::ZERO.is_zero());
}

proptest! {
    /// Every score decodes to a point that encodes back to the same score.
    #[test]
    fn encode_decode_round_trips(lon in -180.0f64..=180.0, lat in -85.05112878f64..=85.05112878) {
        let score = hash::score_of(lon, lat).unwrap();
        prop_assert!(score < (1u64 << 53));
        let (dlon, dlat) = hash::position(score as f64);
        prop_assert!((dlon - lon).abs() < 1e-5 && (dlat - lat).abs() < 1e-5);
        if dlon < 180.0 && dlat < 85.05112878 {
            prop_assert_eq!(hash::score_of(dlon, dlat), Some(score));
        }
    }
}

type Db = TestDb;

fn add(db: &mut Db, key: &str, points: &[(f64, f64, String)]) -> Reply {
    let pts: Vec<(f64, f64, &[u8])> = points
        .iter()
        .map(|(lon, lat, m)| (*lon, *lat, m.as_bytes()))
        .collect();
    db.write(|w, at| geoadd(w, at, key.as_bytes(), ZAddCondition::Always, false, &pts))
        .unwrap()
}

fn query(steps: Vec<GeoStep>) -> GeoQuery {
    GeoQuery {
        steps,
        keyed_steps: 0,
        order: GeoOrder::Asc,
        count: 0,
        any: false,
        with_coord: false,
        with_dist: true,
        with_hash: false,
        store: None,
    }
}

fn names_and_dists(reply: Reply) -> Vec<(String, String)> {
    let Reply::Array(items) = reply else {
        panic!("{reply:?}")
    };
    items
        .into_iter()
        .map(|i| match i {
            Reply::Array(v) => match (&v[0], &v[1]) {
                (Reply::Bulk(m), Reply::Bulk(d)) => (
                    String::from_utf8(m.clone()).unwrap(),
                    String::from_utf8(d.clone()).unwrap(),
                ),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn geodist_geopos_geohash_and_missing_members() {
    let mut db = Db::open();
    let pts = vec![
        (PALERMO.0, PALERMO.1, "Palermo".to_owned()),
        (CATANIA.0, CATANIA.1, "Catania".to_owned()),
    ];
    assert_eq!(add(&mut db, "Sicily", &pts), Reply::Integer(2));
    let r = db.read(|s, at| geodist(s, at, b"Sicily", b"Palermo", b"Catania", 1000.0));
    assert_eq!(r, Ok(Reply::bulk("166.2742")));
    let r = db.read(|s, at| geodist(s, at, b"Sicily", b"Palermo", b"nope", 1.0));
    assert_eq!(r, Ok(Reply::Nil));
    let r = db.read(|s, at| geopos(s, at, b"Sicily", &[b"Palermo", b"nope"]));
    assert_eq!(
        r,
        Ok(Reply::Array(vec![
            Reply::Array(vec![
                Reply::HumanDouble("13.36138933897018433".into()),
                Reply::HumanDouble("38.11555639549629859".into())
            ]),
            Reply::NilArray
        ]))
    );
    let r = db.read(|s, at| geohash(s, at, b"nokey", &[b"a"]));
    assert_eq!(r, Ok(Reply::Array(vec![Reply::Nil])));
}

#[test]
fn store_writes_hashes_or_distances_and_deletes_on_no_match() {
    let mut db = Db::open();
    let pts = vec![
        (PALERMO.0, PALERMO.1, "Palermo".to_owned()),
        (CATANIA.0, CATANIA.1, "Catania".to_owned()),
    ];
    add(&mut db, "Sicily", &pts);
    let mut q = query(vec![
        GeoStep::Center {
            lon: 15.0,
            lat: 37.0,
        },
        GeoStep::Radius {
            radius: 200.0,
            unit_m: 1000.0,
        },
    ]);
    q.with_dist = false;
    q.store = Some(GeoStore {
        dst: b"dst".to_vec(),
        dist: true,
        search: true,
    });
    let r = db.write(|w, at| search_store(w, at, b"Sicily", &q));
    assert_eq!(r, Ok(Reply::Integer(2)));
    let z = db.read(|s, at| crate::types::zset::zscore(s, at, b"dst", b"Catania"));
    let Ok(Reply::Double(d)) = z else {
        panic!("{z:?}")
    };
    assert_eq!(hash::distance_text(d), "56.4413");
    q.steps[1] = GeoStep::Radius {
        radius: 1.0,
        unit_m: 1.0,
    };
    let r = db.write(|w, at| search_store(w, at, b"Sicily", &q));
    assert_eq!(r, Ok(Reply::Integer(0)));
    let z = db.read(|s, at| crate::types::zset::zcard(s, at, b"dst"));
    assert_eq!(z, Ok(Reply::Integer(0)));
}

#[test]
fn steps_replay_errors_in_order() {
    let mut db = Db::open();
    add(&mut db, "k", &[(1.0, 1.0, "a".to_owned())]);
    let radius = GeoStep::Radius {
        radius: 1.0,
        unit_m: 1.0,
    };
    let q = query(vec![GeoStep::Member(b"x".to_vec()), radius.clone()]);
    let r = db.read(|s, at| search(s, at, b"k", &q));
    assert_eq!(r, Ok(Reply::Error(NO_MEMBER.into())));
    // A missing key skips member lookups and replies an empty array.
    let r = db.read(|s, at| search(s, at, b"nokey", &q));
    assert_eq!(r, Ok(Reply::Array(vec![])));
    let q = query(vec![
        GeoStep::Member(b"a".to_vec()),
        GeoStep::Error("ERR syntax error".into()),
    ]);
    let r = db.read(|s, at| search(s, at, b"nokey", &q));
    assert_eq!(r, Ok(Reply::Error("ERR syntax error".into())));
    // GEORADIUSBYMEMBER's leading steps are not read at all for a missing key.
    let mut q = query(vec![
        GeoStep::Member(b"a".to_vec()),
        GeoStep::Error("ERR need numeric radius".into()),
    ]);
    q.keyed_steps = 2;
    let r = db.read(|s, at| search(s, at, b"nokey", &q));
    assert_eq!(r, Ok(Reply::Array(vec![])));
    let r = db.read(|s, at| search(s, at, b"k", &q));
    assert_eq!(r, Ok(Reply::Error("ERR need numeric radius".into())));
}

fn point() -> impl Strategy<Value = (f64, f64)> {
    (-180.0f64..=180.0, -85.05112878f64..=85.05112878)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// GEODIST is the haversine distance of the stored positions; a BYRADIUS / BYBOX
    /// search finds exactly the members a brute-force filter of all of them keeps.
    #[test]
    fn searches_match_a_brute_force_filter(
        pts in proptest::collection::vec(point(), 1..60),
        centre in point(),
        radius_km in prop_oneof![0.0f64..50.0, 0.0f64..3000.0, 0.0f64..20000.0],
        width_km in 0.0f64..4000.0,
        height_km in 0.0f64..4000.0,
        near in any::<prop::sample::Index>(),
    ) {
        let mut db = Db::open();
        // Half the time centre the search near a member, so small radii match something.
        let centre = if radius_km < 50.0 { pts[near.index(pts.len())] } else { centre };
        let named: Vec<(f64, f64, String)> = pts
            .iter()
            .enumerate()
            .map(|(i, (lon, lat))| (*lon, *lat, format!("m{i}")))
            .collect();
        add(&mut db, "g", &named);
        let (lon0, lat0) = hash::position(hash::score_of(named[0].0, named[0].1).unwrap() as f64);
        let (lon1, lat1) = hash::position(hash::score_of(named.last().unwrap().0, named.last().unwrap().1).unwrap() as f64);
        let last = format!("m{}", named.len() - 1);
        let r = db.read(|s, at| geodist(s, at, b"g", b"m0", last.as_bytes(), 1.0)).unwrap();
        prop_assert_eq!(r, Reply::Bulk(hash::distance_text(hash::distance(lon0, lat0, lon1, lat1)).into_bytes()));
        for shape in [
            GeoStep::Radius { radius: radius_km, unit_m: 1000.0 },
            GeoStep::Box { width: width_km, height: height_km, unit_m: 1000.0 },
        ] {
            let q = query(vec![GeoStep::Center { lon: centre.0, lat: centre.1 }, shape.clone()]);
            let got = names_and_dists(db.read(|s, at| search(s, at, b"g", &q)).unwrap());
            let area = Search {
                lon: centre.0,
                lat: centre.1,
                shape: match shape {
                    GeoStep::Radius { radius, .. } => Shape::Radius(radius),
                    GeoStep::Box { width, height, .. } => Shape::Box { width, height },
                    _ => unreachable!(),
                },
                unit_m: 1000.0,
            };
            let mut want: Vec<(f64, String)> = named
                .iter()
                .filter_map(|(lon, lat, m)| {
                    let (plon, plat) = hash::position(hash::score_of(*lon, *lat).unwrap() as f64);
                    hash::distance_if_inside(&area, plon, plat).map(|d| (d / 1000.0, m.clone()))
                })
                .collect();
            want.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut got_names: Vec<String> = got.iter().map(|(m, _)| m.clone()).collect();
            let mut want_names: Vec<String> = want.iter().map(|(_, m)| m.clone()).collect();
            got_names.sort();
            want_names.sort();
            prop_assert_eq!(got_names, want_names, "{:?} around {:?}", shape, centre);
            let got_d: Vec<String> = got.iter().map(|(_, d)| d.clone()).collect();
            let want_d: Vec<String> = want.iter().map(|(d, _)| hash::distance_text(*d)).collect();
            prop_assert_eq!(got_d, want_d);
        }
    }
}

proptest! {
    /// The latitude shortcut never drops a point the full test keeps (nor keeps one it drops).
    #[test]
    fn latitude_shortcut_agrees_with_the_full_test(
        c in point(), p in point(), r in prop_oneof![0.0f64..1.0, 0.0f64..100_000.0, 0.0f64..3e7],
        w in 0.0f64..4e6, h in 0.0f64..4e6,
    ) {
        let circle = Search { lon: c.0, lat: c.1, shape: Shape::Radius(r), unit_m: 1.0 };
        let full = hash::distance(c.0, c.1, p.0, p.1);
        prop_assert_eq!(hash::distance_if_inside(&circle, p.0, p.1), (full <= r).then_some(full));
        let rect = Search { lon: c.0, lat: c.1, shape: Shape::Box { width: w, height: h }, unit_m: 1.0 };
        let inside = hash::distance(p.0, p.1, c.0, p.1) <= w / 2.0
            && hash::distance(p.0, p.1, p.0, c.1) <= h / 2.0;
        prop_assert_eq!(hash::distance_if_inside(&rect, p.0, p.1), inside.then_some(full));
        // On the boundary itself: radius exactly the distance, box exactly the offsets.
        let edge = Search { shape: Shape::Radius(full), ..circle };
        prop_assert_eq!(hash::distance_if_inside(&edge, p.0, p.1), Some(full));
        let lon_d = hash::distance(p.0, p.1, c.0, p.1);
        let lat_d = hash::distance(p.0, p.1, p.0, c.1);
        let tight = Search { shape: Shape::Box { width: lon_d * 2.0, height: lat_d * 2.0 }, ..rect };
        prop_assert_eq!(hash::distance_if_inside(&tight, p.0, p.1), Some(full));
    }
}
