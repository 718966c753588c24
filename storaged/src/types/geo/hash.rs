//! The geohash arithmetic of Redis's geo commands, bit for bit and float for float: the
//! 52-bit interleaved score (`GEOADD`), its decoding to the centre of its cell (`GEOPOS`),
//! the standard base32 string (`GEOHASH`), haversine distances on Redis's sphere, and the
//! cover of a search area by a cell and its eight neighbours (`GEOSEARCH`).
//!
//! Every expression keeps the C code's operand order, integer widths and casts (a `u32`
//! offset, wrapping cell moves, `(uint64_t)` of a score), so coordinates, distances and the
//! cells scanned equal redis-server's. Pure functions: no storage, no replies.

/// Bits per coordinate of a stored score: 26 + 26 = 52, a double's exact integer range.
pub const STEP_MAX: u8 = 26;
/// Longitudes Redis indexes.
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// Latitudes Redis indexes (EPSG:900913, the Web Mercator limit).
pub const LAT_MIN: f64 = -85.051_128_78;
pub const LAT_MAX: f64 = 85.051_128_78;
/// Redis's earth radius (the quadratic mean radius of WGS-84), in meters.
pub const EARTH_RADIUS_M: f64 = 6_372_797.560_856;
/// Half the equator of Redis's Mercator projection, in meters.
const MERCATOR_MAX: f64 = 20_037_726.37;
/// Degrees to radians as Redis's `D_R` (`M_PI / 180.0`).
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A cell: `step` bits per coordinate, interleaved (longitude in the odd bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// The "no cell" marker of a neighbour excluded from a search (`GZERO`).
    pub const ZERO: HashBits = HashBits { bits: 0, step: 0 };

    pub fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The cell's first score at full precision (`geohashAlign52Bits`).
    pub fn align52(self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

/// A closed coordinate interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The ranges stored scores encode.
pub const WGS84_LONG: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
pub const WGS84_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A cell's extent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

/// Spreads `x`'s bits to the even positions and `y`'s to the odd ones.
fn interleave(x: u32, y: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = u64::from(x);
    let mut y = u64::from(y);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// Inverse of [`interleave`]: the even bits in the low word, the odd ones in the high word.
fn deinterleave(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
        0x0000_0000_FFFF_FFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// The cell of `step` bits holding the point, or `None` outside the indexable limits or
/// the ranges (`geohashEncode`).
pub fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    let cells = (1u64 << step) as f64;
    lat_offset *= cells;
    long_offset *= cells;
    // C converts the offsets to `uint32_t` by truncation; they lie in [0, 2^step].
    Some(HashBits {
        bits: interleave(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// The 52-bit score `GEOADD` stores for a point (already range-checked).
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, STEP_MAX).map(HashBits::align52)
}

/// The extent of a cell (`geohashDecode`); `None` for the zero marker.
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    // `ilato + 1` is C's 32-bit unsigned arithmetic: it wraps.
    Some(Area {
        latitude: Range {
            min: lat_range.min + (f64::from(ilato) / cells) * lat_scale,
            max: lat_range.min + (f64::from(ilato.wrapping_add(1)) / cells) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (f64::from(ilono) / cells) * long_scale,
            max: long_range.min + (f64::from(ilono.wrapping_add(1)) / cells) * long_scale,
        },
    })
}

/// C's `(uint64_t)d` as x86-64 compiles it: truncation below 2^63, `d - 2^63` with the top
/// bit set above it, and the "integer indefinite" for what fits neither. Any zset score
/// may be decoded as a position, so this must not saturate the way Rust's `as` does.
pub fn c_u64(d: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if d < TWO63 {
        c_i64(d) as u64
    } else {
        (c_i64(d - TWO63) as u64) ^ (1 << 63)
    }
}

/// C's `(long long)d` on x86-64 (`cvttsd2si`): truncation, `i64::MIN` for NaN and for what
/// does not fit.
pub fn c_i64(d: f64) -> i64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if !(-TWO63..TWO63).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// The position a score stands for: the centre of its cell, clamped to the limits
/// (`decodeGeohash`).
pub fn position(score: f64) -> (f64, f64) {
    let hash = HashBits {
        bits: c_u64(score),
        step: STEP_MAX,
    };
    match decode(WGS84_LONG, WGS84_LAT, hash) {
        Some(area) => {
            let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
            let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
            (lon, lat)
        }
        None => (0.0, 0.0),
    }
}

/// The 11-character standard geohash of a score's position: re-encoded over latitudes
/// -90..90 (the stored scores use Mercator's limits), 52 bits, the last character `0`.
pub fn geohash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = position(score);
    let bits = encode(
        Range {
            min: -180.0,
            max: 180.0,
        },
        Range {
            min: -90.0,
            max: 90.0,
        },
        lon,
        lat,
        STEP_MAX,
    )
    .map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    out
}

/// Great-circle distance in meters (haversine, Redis's `geohashGetDistance`).
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lat1r = deg_rad(lat1d);
    let lon1r = deg_rad(lon1d);
    let lat2r = deg_rad(lat2d);
    let lon2r = deg_rad(lon2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_M * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// Moves a cell one column east (`d > 0`) or west (`geohash_move_x`).
fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    hash.bits = x | y;
}

/// Moves a cell one row north (`d > 0`) or south (`geohash_move_y`).
fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    hash.bits = x | y;
}

fn moved(hash: HashBits, dx: i8, dy: i8) -> HashBits {
    let mut h = hash;
    move_x(&mut h, dx);
    move_y(&mut h, dy);
    h
}

/// What a search covers: a circle of `radius` or a `width` × `height` box (in the query's
/// unit; `unit_m` meters each) around a centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// A search area: centre, shape and unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Search {
    pub lon: f64,
    pub lat: f64,
    pub shape: Shape,
    pub unit_m: f64,
}

/// The cells to scan in Redis's order: the centre, then north, south, east, west,
/// north-east, north-west, south-east, south-west (excluded ones are [`HashBits::ZERO`]).
pub type Cover = [HashBits; 9];

/// The step whose cells are about the size of the radius (`geohashEstimateStepsByRadius`).
pub fn estimate_steps(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    // Cells narrow towards the poles (a centre's latitude is never NaN).
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// `[min_lon, min_lat, max_lon, max_lat]` of the search area (`geohashBoundingBox`).
pub fn bounding_box(s: &Search) -> [f64; 4] {
    let (height, width) = match s.shape {
        Shape::Radius(r) => (s.unit_m * r, s.unit_m * r),
        Shape::Box { width, height } => (s.unit_m * (height / 2.0), s.unit_m * (width / 2.0)),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_M);
    let long_delta_top = rad_deg(width / EARTH_RADIUS_M / deg_rad(s.lat + lat_delta).cos());
    let long_delta_bottom = rad_deg(width / EARTH_RADIUS_M / deg_rad(s.lat - lat_delta).cos());
    // The box is widest at its edge nearer a pole.
    let long_delta = if s.lat < 0.0 {
        long_delta_bottom
    } else {
        long_delta_top
    };
    [
        s.lon - long_delta,
        s.lat - lat_delta,
        s.lon + long_delta,
        s.lat + lat_delta,
    ]
}

/// The centre cell and its eight neighbours that cover the search area, those that lie
/// wholly outside it excluded (`geohashCalculateAreasByShapeWGS84`).
pub fn cover(s: &Search) -> Cover {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(s);
    let radius_m = match s.shape {
        Shape::Radius(r) => r,
        Shape::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * s.unit_m;
    let mut steps = estimate_steps(radius_m, s.lat);
    let cells = |steps: u8| {
        let hash = encode(WGS84_LONG, WGS84_LAT, s.lon, s.lat, steps).unwrap_or(HashBits {
            bits: 0,
            step: steps,
        });
        let area = decode(WGS84_LONG, WGS84_LAT, hash);
        (hash, area)
    };
    let (mut hash, mut area) = cells(steps);
    // Near a cell's edge the estimated step may leave part of the area outside the nine
    // cells: one step coarser then.
    let edge = |h: HashBits, dx: i8, dy: i8| decode(WGS84_LONG, WGS84_LAT, moved(h, dx, dy));
    let mut decrease = false;
    if edge(hash, 0, 1).is_some_and(|north| north.latitude.max < max_lat) {
        decrease = true;
    }
    if edge(hash, 0, -1).is_some_and(|south| south.latitude.min > min_lat) {
        decrease = true;
    }
    if edge(hash, 1, 0).is_some_and(|east| east.longitude.max < max_lon) {
        decrease = true;
    }
    if edge(hash, -1, 0).is_some_and(|west| west.longitude.min > min_lon) {
        decrease = true;
    }
    if steps > 1 && decrease {
        steps -= 1;
        (hash, area) = cells(steps);
    }
    let mut n = moved(hash, 0, 1);
    let mut so = moved(hash, 0, -1);
    let mut e = moved(hash, 1, 0);
    let mut w = moved(hash, -1, 0);
    let mut ne = moved(hash, 1, 1);
    let mut nw = moved(hash, -1, 1);
    let mut se = moved(hash, 1, -1);
    let mut sw = moved(hash, -1, -1);
    if let (true, Some(a)) = (steps >= 2, area) {
        if a.latitude.min < min_lat {
            (so, sw, se) = (HashBits::ZERO, HashBits::ZERO, HashBits::ZERO);
        }
        if a.latitude.max > max_lat {
            (n, ne, nw) = (HashBits::ZERO, HashBits::ZERO, HashBits::ZERO);
        }
        if a.longitude.min < min_lon {
            (w, sw, nw) = (HashBits::ZERO, HashBits::ZERO, HashBits::ZERO);
        }
        if a.longitude.max > max_lon {
            (e, se, ne) = (HashBits::ZERO, HashBits::ZERO, HashBits::ZERO);
        }
    }
    [hash, n, so, e, w, ne, nw, se, sw]
}

/// The score range `[min, max)` of every full-precision point in a cell.
pub fn score_range(hash: HashBits) -> (u64, u64) {
    let min = hash.align52();
    let max = HashBits {
        bits: hash.bits.wrapping_add(1),
        step: hash.step,
    }
    .align52();
    (min, max)
}

/// The distance from the centre to the point at `(lon, lat)` if the point lies in the
/// search area (`geohashGetDistanceIfInRadiusWGS84` / `geohashGetDistanceIfInRectangle`).
pub fn distance_if_inside(s: &Search, lon: f64, lat: f64) -> Option<f64> {
    // Most candidates of the nine cells lie outside the area's latitude band. The great-circle
    // distance is at least the meridian arc R·|Δφ| (haversine is monotonic in each term), so
    // a point whose arc alone exceeds the limit by far more than any rounding is outside
    // for Redis too, and skips the trigonometry.
    let arc = (deg_rad(lat) - deg_rad(s.lat)).abs() * EARTH_RADIUS_M;
    let beyond = |limit_m: f64| arc > limit_m * (1.0 + 1e-9) + 1e-6;
    match s.shape {
        Shape::Radius(r) => {
            if beyond(r * s.unit_m) {
                return None;
            }
            let d = distance(s.lon, s.lat, lon, lat);
            (d <= r * s.unit_m).then_some(d)
        }
        Shape::Box { width, height } => {
            let (width_m, height_m) = (width * s.unit_m, height * s.unit_m);
            if beyond(height_m / 2.0) {
                return None;
            }
            let lon_distance = distance(lon, lat, s.lon, lat);
            let lat_distance = distance(lon, lat, lon, s.lat);
            if lon_distance > width_m / 2.0 || lat_distance > height_m / 2.0 {
                return None;
            }
            Some(distance(s.lon, s.lat, lon, lat))
        }
    }
}

/// A coordinate as Redis's `addReplyHumanLongDouble` prints it: `%.17Lf` of the (exactly
/// widened) double, trailing zeros and a trailing point cut, `-0` as `0`.
pub fn human(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let mut s = format!("{d:.17}");
    if s.contains('.') {
        let cut = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(cut);
    }
    if s == "-0" {
        s = "0".to_owned();
    }
    s
}

/// A distance as Redis prints it (`%.4f`).
pub fn distance_text(d: f64) -> String {
    format!("{d:.4}")
}
