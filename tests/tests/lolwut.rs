//! LOLWUT against redis-server 7.0.15: version selection and argument errors reply for
//! reply; the art of versions 5 and 6 compared where Redis draws it without `rand()` (the two
//! top rows of Schotter's squares, the sky of the skyline) byte for byte, and elsewhere by
//! shape (lines, their width, the closing lines).

use redis::Value;
use tandem_tests::*;

#[test]
fn versions_and_errors_match_redis() {
    Differ::start().check(&[
        &["LOLWUT"],
        &["LOLWUT", "5"],
        &["LOLWUT", "VERSION"],
        &["LOLWUT", "VERSION", "7"],
        &["LOLWUT", "version", "4", "1", "2"],
        &["LOLWUT", "VERSION", "x"],
        &["LOLWUT", "VERSION", "5", "x"],
        &["LOLWUT", "VERSION", "5", "10", "x"],
        &["LOLWUT", "VERSION", "5", "10", "2", "x"],
        &["LOLWUT", "VERSION", "6", "x"],
        &["LOLWUT", "VERSION", "6", "10", "x"],
        // Pictures of one or two rows of squares have no random part.
        &["LOLWUT", "VERSION", "5", "1", "1", "1"],
        &["LOLWUT", "VERSION", "5", "2", "1", "1"],
        &["LOLWUT", "VERSION", "5", "-7", "0", "1"],
        &["LOLWUT", "VERSION", "5", "9", "3", "2"],
        &["LOLWUT", "VERSION", "4294967301", "8", "3", "2"],
        &["LOLWUT", "VERSION", "6", "1", "1"],
    ]);
}

fn text(v: Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8(b).expect("UTF-8"),
        Value::VerbatimString { text, .. } => text,
        other => panic!("{other:?}"),
    }
}

fn both(differ: &Differ, args: &[&str]) -> (String, String) {
    let ours = text(run_command(&mut differ.tandem().client(), args).expect("tandem"));
    let theirs = text(run_command(&mut differ.reference().client(), args).expect("redis"));
    (ours, theirs)
}

#[test]
fn schotter_matches_redis_where_it_is_not_random() {
    let differ = Differ::start();
    for args in [
        &["LOLWUT", "VERSION", "5"][..],
        &["LOLWUT", "VERSION", "5", "40", "5", "7"],
        &["LOLWUT", "VERSION", "5", "100", "10", "3"],
    ] {
        let (ours, theirs) = both(&differ, args);
        let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
        assert_eq!(a.len(), b.len(), "{args:?}: lines\n{ours}\n{theirs}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.chars().count(), y.chars().count(), "{args:?}: width");
        }
        assert_eq!(a.last(), b.last(), "{args:?}: the closing line");
        assert!(b
            .last()
            .is_some_and(|l| l.starts_with("Georg Nees - schotter")));
        // Rows 0 and 1 of squares are neither turned nor moved: the text lines above the
        // third row's reach (pixel y < 2 × side + padding − side × 0.9) are Redis's own.
        let cols: f32 = args.get(3).map_or(66.0, |c| c.parse().expect("cols"));
        let per_row: f32 = args.get(4).map_or(8.0, |c| c.parse().expect("row"));
        let side = (cols * 2.0 - 4.0) / per_row;
        let fixed = ((side * 1.1 + 2.0) / 4.0).floor() as usize;
        assert!(fixed >= 2, "{args:?}");
        assert_eq!(a[..fixed], b[..fixed], "{args:?}: the top rows");
    }
}

#[test]
fn skyline_matches_redis_shape() {
    let differ = Differ::start();
    for (args, cols, rows) in [
        (&["LOLWUT", "VERSION", "6"][..], 80, 20),
        (&["LOLWUT", "VERSION", "6", "33", "9"], 33, 9),
    ] {
        let (ours, theirs) = both(&differ, args);
        let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
        assert_eq!(a.len(), rows + 2);
        assert_eq!(b.len(), rows + 2);
        for line in a.iter().chain(&b).take(rows) {
            assert_eq!(line.matches(" \x1b[0m").count(), cols);
        }
        // No building reaches the top row: the sky is white on both.
        assert_eq!(a[0], b[0]);
        assert_eq!(a[rows..], b[rows..], "the closing lines");
    }
}
