//! Ordering a search's matches by distance exactly as redis-server orders them, equal
//! distances included (two members at one place are common):
//! - every match returned: C's `qsort`, which glibc (2.36, the reference's) runs as a merge
//!   sort, so equal distances keep their scan order: any stable sort gives the same;
//! - `COUNT` below the match count: Redis's `pqsort`, the NetBSD (Bentley-McIlroy) quicksort
//!   that only recurses into parts overlapping the wanted head. It is not stable, so the
//!   same steps are taken here (pivot choice, three-way partition, insertion sort below 7;
//!   Redis's copy has no switch to insertion sort after a partition that swapped nothing).

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

/// Sorts `points` by distance (`desc`: farthest first, `sort_gp_desc`) so that the first
/// `head` are those Redis returns, in its order.
pub(super) fn by_distance(points: &mut [Point], head: usize, desc: bool) {
    let cmp = |a: &Point, b: &Point| {
        if desc {
            asc(a, b).reverse()
        } else {
            asc(a, b)
        }
    };
    if head >= points.len() {
        points.sort_by(cmp);
    } else if head > 0 {
        partial(points, 0, points.len(), &cmp, 0, head - 1);
    }
}

/// The median of three by Bentley-McIlroy's `med3`, as indices.
fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &dyn Fn(&T, &T) -> Ordering) -> usize {
    if cmp(&v[a], &v[b]).is_lt() {
        if cmp(&v[b], &v[c]).is_lt() {
            b
        } else if cmp(&v[a], &v[c]).is_lt() {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]).is_gt() {
        b
    } else if cmp(&v[a], &v[c]).is_lt() {
        a
    } else {
        c
    }
}

fn insertion<T>(v: &mut [T], lo: usize, n: usize, cmp: &dyn Fn(&T, &T) -> Ordering) {
    for m in lo + 1..lo + n {
        let mut l = m;
        while l > lo && cmp(&v[l - 1], &v[l]).is_gt() {
            v.swap(l, l - 1);
            l -= 1;
        }
    }
}

fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Redis's `_pqsort` on `v[lo..lo + n]`, sorting at least the elements `first..=last`.
fn partial<T>(
    v: &mut [T],
    mut lo: usize,
    mut n: usize,
    cmp: &dyn Fn(&T, &T) -> Ordering,
    first: usize,
    last: usize,
) {
    // Whether the part `[start, start + len)` holds any wanted index.
    let wanted = |start: usize, len: usize| !(last < start || first >= start + len);
    loop {
        if n < 7 {
            insertion(v, lo, n, cmp);
            return;
        }
        let mut pm = lo + n / 2;
        if n > 7 {
            let mut pl = lo;
            let mut pn = lo + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(lo, pm);
        // Signed cursors: `pc` may step just below `pb`'s start.
        let (mut pa, mut pb) = (lo as isize + 1, lo as isize + 1);
        let (mut pc, mut pd) = ((lo + n - 1) as isize, (lo + n - 1) as isize);
        let at = |i: isize| i as usize;
        loop {
            while pb <= pc {
                let c = cmp(&v[at(pb)], &v[lo]);
                if c.is_gt() {
                    break;
                }
                if c.is_eq() {
                    v.swap(at(pa), at(pb));
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[at(pc)], &v[lo]);
                if c.is_lt() {
                    break;
                }
                if c.is_eq() {
                    v.swap(at(pc), at(pd));
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(at(pb), at(pc));
            pb += 1;
            pc -= 1;
        }
        let pn = (lo + n) as isize;
        let r = (pa - lo as isize).min(pb - pa);
        vecswap(v, lo, at(pb - r), at(r));
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, at(pb), at(pn - r), at(r));
        let left = at(pb - pa);
        if left > 1 && wanted(lo, left) {
            partial(v, lo, left, cmp, first, last);
        }
        let right = at(pd - pc);
        if right > 1 {
            lo = at(pn) - right;
            n = right;
            if wanted(lo, n) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ints(v: &[(u8, usize)]) -> Vec<Point> {
        v.iter()
            .map(|&(d, i)| Point {
                member: i.to_string().into_bytes(),
                score: 0.0,
                lon: 0.0,
                lat: 0.0,
                dist: f64::from(d),
            })
            .collect()
    }

    proptest! {
        /// The head `pqsort` leaves is the sorted head: same distances as a full sort.
        #[test]
        fn partial_sort_heads_are_sorted(d in proptest::collection::vec(0u8..20, 0..120), head in 0usize..130, desc: bool) {
            let tagged: Vec<(u8, usize)> = d.iter().enumerate().map(|(i, &x)| (x, i)).collect();
            let mut got = ints(&tagged);
            let mut want = got.clone();
            by_distance(&mut got, head, desc);
            by_distance(&mut want, usize::MAX, desc);
            let k = head.min(got.len());
            let g: Vec<f64> = got[..k].iter().map(|p| p.dist).collect();
            let w: Vec<f64> = want[..k].iter().map(|p| p.dist).collect();
            prop_assert_eq!(g, w);
            let mut all: Vec<Vec<u8>> = got.iter().map(|p| p.member.clone()).collect();
            all.sort();
            let mut orig: Vec<Vec<u8>> = want.iter().map(|p| p.member.clone()).collect();
            orig.sort();
            prop_assert_eq!(all, orig);
        }
    }
}
