//! Several proxies on one storaged: they see each other's writes at once, and killing one
//! mid-pipeline leaves storaged and the other proxy untouched while storaged frees the
//! dead proxy's links.

use std::time::Duration;

use tandem_tests::*;

#[test]
fn a_write_through_one_proxy_is_visible_through_the_other_at_once() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let other = cluster.spawn_extra_proxy();
    let (mut a, mut b) = (cluster.client(), other.client());
    for i in 0..50 {
        let value = format!("v{i}");
        expect(&mut a, &["SET", "shared", &value], ok());
        expect(&mut b, &["GET", "shared"], bulk(&value));
        expect(&mut b, &["INCR", "n"], int(2 * i + 1));
        expect(&mut a, &["INCR", "n"], int(2 * i + 2));
    }
}

#[test]
fn a_proxy_killed_mid_pipeline_affects_only_its_own_clients() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let storaged = cluster.storaged_pid();
    let mut victim = cluster.spawn_extra_proxy();
    let victim_pid = victim.pid();

    // A long pipeline in flight through the victim, never read.
    let mut raw = RawClient::connect(&victim.addr());
    let mut pipeline = Vec::new();
    for i in 0..20_000 {
        let key = format!("p{i}");
        pipeline.extend(encode_command(&[b"SET", key.as_bytes(), b"x"]));
    }
    raw.send(&pipeline);
    let mut c = cluster.client();
    wait_for(
        "the victim's pipeline to reach storaged",
        Duration::from_secs(10),
        || {
            matches!(
                run_command(&mut c, &["EXISTS", "p0"]),
                Ok(redis::Value::Int(1))
            )
            .then_some(())
        },
    );
    let status = victim.kill(Signal::SIGKILL);
    assert!(!status.success());

    // The surviving proxy and storaged carry on, with the same storaged process.
    expect(&mut c, &["SET", "after", "kill"], ok());
    expect(&mut c, &["GET", "after"], bulk("kill"));
    assert_eq!(cluster.storaged_pid(), storaged);
    // storaged noticed and freed every link of the dead proxy.
    // storaged logs the peer as `pid=… uid=… gid=…`.
    let pid = format!("pid={victim_pid} ");
    wait_for(
        "storaged to close the dead proxy's links",
        Duration::from_secs(10),
        || {
            let logs = cluster.logs();
            let closed = logs
                .lines()
                .filter(|l| l.contains("proxy link closed") && l.contains(&pid))
                .count();
            let opened = logs
                .lines()
                .filter(|l| l.contains("proxy link up") && l.contains(&pid))
                .count();
            (opened > 0 && closed == opened).then_some(())
        },
    );
    // New clients are served as before; the part of the pipeline that ran is kept.
    match run_command(&mut cluster.client(), &["DBSIZE"]) {
        Ok(redis::Value::Int(n)) => assert!(n >= 2, "DBSIZE {n}"),
        other => panic!("DBSIZE: {}", render_outcome(&other)),
    }
}
