//! Ordering a search's matches by distance as Redis does: C's `qsort` (glibc's merge sort,
//! stable: equal distances keep their scan order) when every match is returned.
//! With `COUNT` below the match count Redis sorts only the head (`pqsort`), whose order
//! among equal distances is its own; we order that head the stable way too.

use std::cmp::Ordering;

use super::Point;

/// Redis's `sort_gp_asc`: only `>` and `==` are asked, anything else is "less".
fn asc(a: &Point, b: &Point) -> Ordering {
    if a.dist > b.dist {
        Ordering::Greater
    } else if a.dist == b.dist {
        Ordering::Equal
    } else {
        Ordering::Less
    }
}

/// Sorts `points` by distance (`desc`: farthest first); only the first `head` need be in
/// their final place.
pub(super) fn by_distance(points: &mut [Point], head: usize, desc: bool) {
    let _ = head;
    if desc {
        points.sort_by(|a, b| asc(a, b).reverse());
    } else {
        points.sort_by(asc);
    }
}
