//! SAVE, BGSAVE and LASTSAVE: a save is a RocksDB checkpoint in storaged's save directory
//! (default `<data-dir>-save`) that `tandem-storaged restore` puts back; the replies are
//! redis-server 7.0's; LASTSAVE is storaged's, the same through every proxy.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tandem_tests::*;

/// LASTSAVE through `conn`.
fn lastsave(conn: &mut redis::Connection) -> i64 {
    match run_command(conn, &["LASTSAVE"]) {
        Ok(Value::Int(at)) => at,
        other => panic!("LASTSAVE answered {other:?}"),
    }
}

#[test]
fn save_writes_a_checkpoint_that_restores_with_the_keys() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return; // the save directory is tandem's
    }
    let mut c = cluster.client();
    expect(&mut c, &["SET", "k", "saved"], ok());
    expect(&mut c, &["HSET", "h", "f", "v"], int(1));
    expect(&mut c, &["SELECT", "3"], ok());
    expect(&mut c, &["RPUSH", "l", "a", "b"], int(2));
    expect(&mut c, &["SAVE"], ok());
    // A second save replaces the first whole (the checkpoint needs a new directory).
    expect(&mut c, &["SELECT", "0"], ok());
    expect(&mut c, &["SET", "k2", "second"], ok());
    expect(&mut c, &["SAVE"], ok());
    expect(&mut c, &["SET", "k", "after-the-save"], ok());
    expect(&mut c, &["SET", "only-after", "1"], ok());

    let data = cluster.data_dir();
    let save = data.with_file_name("data-save");
    assert!(
        save.join("CURRENT").is_file(),
        "no checkpoint in {}",
        save.display()
    );
    let parent = save.parent().expect("parent");
    for leftover in ["data-save.tmp", "data-save.old"] {
        assert!(!parent.join(leftover).exists(), "{leftover} left behind");
    }
    cluster.kill_storaged(Signal::SIGTERM);
    restore(&save, &data);
    cluster.start_storaged();

    let mut c = cluster.client();
    expect(&mut c, &["GET", "k"], bulk("saved"));
    expect(&mut c, &["GET", "k2"], bulk("second"));
    expect(&mut c, &["HGET", "h", "f"], bulk("v"));
    expect(&mut c, &["EXISTS", "only-after"], int(0));
    expect(&mut c, &["SELECT", "3"], ok());
    expect(
        &mut c,
        &["LRANGE", "l", "0", "-1"],
        bulks(&[Some("a"), Some("b")]),
    );
    // The save survives being restored from.
    assert!(save.join("CURRENT").is_file());
}

fn restore(from: &Path, data: &Path) {
    let out = Command::new(binary("tandem-storaged"))
        .arg("restore")
        .arg("--from")
        .arg(from)
        .arg("--data-dir")
        .arg(data)
        .env_clear()
        .output()
        .expect("run restore");
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn save_dir_is_configurable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let save = dir.path().join("nested").join("saves");
    let cluster = TestCluster::start_with(ClusterOptions {
        storaged_args: vec!["--save-dir".into(), save.display().to_string()],
        ..ClusterOptions::default()
    });
    if !cluster.is_tandem() {
        return;
    }
    let mut c = cluster.client();
    expect(&mut c, &["SET", "k", "v"], ok());
    expect(&mut c, &["SAVE"], ok());
    assert!(
        save.join("CURRENT").is_file(),
        "no checkpoint in {}",
        save.display()
    );
}

#[test]
fn save_and_bgsave_reply_as_redis() {
    let differ = Differ::start();
    differ.check(&[
        &["SAVE", "x"],
        &["BGSAVE", "x"],
        &["BGSAVE", "schedule", "x"],
        &["BGSAVE", "SCHEDULE", "SCHEDULE"],
        &["LASTSAVE", "x"],
        &["MULTI"],
        &["SAVE"],
        &["LASTSAVE"],
        &["DISCARD"],
        &["SAVE"],
        &["EVAL", "return redis.call('save')", "0"],
        &["EVAL", "return redis.pcall('bgsave')", "0"],
        &["EVAL", "return redis.call('lastsave') > 0", "0"],
    ]);
    // BGSAVE's status line, on each side once (a second one may meet the first running).
    let mut theirs = differ.reference().client();
    expect(
        &mut theirs,
        &["BGSAVE"],
        simple("Background saving started"),
    );
    let mut ours = differ.tandem().client();
    expect(&mut ours, &["BGSAVE"], simple("Background saving started"));
}

#[test]
fn lastsave_moves_after_each_save_and_is_the_same_through_two_proxies() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let extra = cluster.spawn_extra_proxy();
    let mut a = cluster.client();
    let mut b = extra.client();
    let started = lastsave(&mut a);
    assert_eq!(lastsave(&mut b), started);

    std::thread::sleep(Duration::from_millis(1100));
    expect(&mut a, &["SAVE"], ok());
    let saved = lastsave(&mut a);
    assert!(
        saved > started,
        "LASTSAVE {saved} after SAVE, {started} before"
    );
    assert_eq!(lastsave(&mut b), saved);
    // INFO persistence carries storaged's save state where Redis prints it.
    let persistence = info(&mut b, "persistence");
    for field in [
        format!("rdb_last_save_time:{saved}"),
        "rdb_bgsave_in_progress:0".to_owned(),
        "rdb_last_bgsave_status:ok".to_owned(),
    ] {
        assert!(
            persistence.lines().any(|l| l.trim_end() == field),
            "{field} not in {persistence}"
        );
    }

    // BGSAVE through the other proxy: LASTSAVE moves once it is written.
    std::thread::sleep(Duration::from_millis(1100));
    expect(
        &mut b,
        &["BGSAVE", "SCHEDULE"],
        simple("Background saving started"),
    );
    let bg = wait_for("the background save", START_TIMEOUT, || {
        let at = lastsave(&mut a);
        (at > saved).then_some(at)
    });
    assert_eq!(lastsave(&mut b), bg);
}
