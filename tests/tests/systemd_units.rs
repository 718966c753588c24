//! The unit files in `systemd/` and what `scripts/install` makes of them: `systemd-analyze
//! verify` must print nothing at all (it exits 0 on "Unknown key" and parse warnings), and
//! `systemd-analyze security --offline=true` must stay at or under the documented exposure
//! thresholds. Fails, saying what to install, where systemd-analyze is not installed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tandem_tests::{bin_dir, require_tool, workspace_root};

const UNITS: [&str; 4] = [
    "tandem-storaged.socket",
    "tandem-storaged.service",
    "tandem-proxy@.socket",
    "tandem-proxy@.service",
];

/// Highest `systemd-analyze security` exposure accepted per service, in the tenths that
/// `--threshold=` takes (the report prints 0.0 = best … 10.0 = worst, `--threshold` compares
/// ten times that): storaged 1.0, proxy 2.0, as docs/OPERATIONS.md says. Today: 0.5 and 0.9.
const SECURITY_THRESHOLDS: [(&str, u32); 2] = [
    ("tandem-storaged.service", 10),
    ("tandem-proxy@.service", 20),
];

/// Fails the test unless systemd-analyze, the reference for the unit checks, runs.
#[track_caller]
fn require_analyze() {
    require_tool(
        "systemd-analyze",
        "--version",
        "to check the unit files",
        "systemd",
    );
}

/// The repository's units with `ExecStart=` pointing at the built binaries, since verify
/// checks that the command exists and is executable.
fn units_with_built_binaries() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let bins = format!("{}/", bin_dir().display());
    for unit in UNITS {
        let text = fs::read_to_string(workspace_root().join("systemd").join(unit))
            .unwrap_or_else(|e| panic!("read systemd/{unit}: {e}"));
        fs::write(
            dir.path().join(unit),
            text.replace("/usr/local/bin/", &bins),
        )
        .expect("write unit copy");
    }
    dir
}

/// Runs `systemd-analyze verify` on `paths` and fails on any output or a non-zero exit.
fn verify_silently(paths: &[PathBuf]) {
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(paths)
        .output()
        .expect("run systemd-analyze verify");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && printed.trim().is_empty(),
        "systemd-analyze verify {paths:?} {}:\n{printed}",
        out.status
    );
}

#[test]
fn units_verify_without_any_output() {
    require_analyze();
    let dir = units_with_built_binaries();
    let paths: Vec<PathBuf> = UNITS.iter().map(|u| dir.path().join(u)).collect();
    verify_silently(&paths);
}

#[test]
fn services_stay_under_the_exposure_thresholds() {
    require_analyze();
    let dir = units_with_built_binaries();
    for (unit, threshold) in SECURITY_THRESHOLDS {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(format!("--threshold={threshold}"))
            .arg(dir.path().join(unit))
            .output()
            .expect("run systemd-analyze security");
        assert!(
            out.status.success(),
            "{unit} exposure above {threshold}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn proxy_never_depends_on_the_storaged_service() {
    // A Requires=/BindsTo=/PartOf= on storaged would restart every proxy, and drop every
    // client, whenever storage restarts.
    let text = fs::read_to_string(workspace_root().join("systemd/tandem-proxy@.service"))
        .expect("read proxy unit");
    for line in text.lines().map(str::trim) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if ["Requires", "Requisite", "BindsTo", "PartOf"].contains(&key.trim()) {
            assert!(
                !value.contains("tandem-storaged.service"),
                "proxy unit must not `{line}`"
            );
        }
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("After=") && l.contains("tandem-storaged.socket")),
        "proxy unit should be ordered after tandem-storaged.socket"
    );
}

fn install(envs: &[(&str, &Path)]) {
    let mut command = Command::new(workspace_root().join("scripts/install"));
    command.arg("--no-build").env("TANDEM_BIN_DIR", bin_dir());
    for (name, value) in envs {
        command.env(name, value);
    }
    let out = command.output().expect("run scripts/install");
    assert!(
        out.status.success(),
        "scripts/install failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `scripts/install` into a temporary DESTDIR writes every file under it, with entries
/// systemd-sysusers accepts.
#[test]
fn install_honours_destdir() {
    let destdir = tempfile::tempdir().expect("temp dir");
    let root = destdir.path();
    install(&[("DESTDIR", root)]);
    for file in [
        "usr/local/bin/tandem-storaged",
        "usr/local/bin/tandem-proxy",
        "usr/local/lib/systemd/system/tandem-storaged.socket",
        "usr/local/lib/systemd/system/tandem-storaged.service",
        "usr/local/lib/systemd/system/tandem-proxy@.socket",
        "usr/local/lib/systemd/system/tandem-proxy@.service",
        "usr/local/lib/sysusers.d/tandem.conf",
        "usr/local/lib/tmpfiles.d/tandem.conf",
        "etc/tandem/storaged.env",
        "etc/tandem/proxy.env",
    ] {
        assert!(root.join(file).is_file(), "{file} not installed");
    }
    let unit =
        fs::read_to_string(root.join("usr/local/lib/systemd/system/tandem-storaged.service"))
            .expect("read installed unit");
    assert!(
        unit.contains("ExecStart=/usr/local/bin/tandem-storaged"),
        "installed units must name paths without DESTDIR:\n{unit}"
    );
    check_sysusers(root);
}

/// Installed under a scratch PREFIX, the units name that prefix and verify cleanly.
#[test]
fn installed_units_verify() {
    require_analyze();
    let scratch = tempfile::tempdir().expect("temp dir");
    let prefix = scratch.path().join("usr");
    let sysconfdir = scratch.path().join("etc");
    install(&[("PREFIX", &prefix), ("SYSCONFDIR", &sysconfdir)]);
    let unit_dir = prefix.join("lib/systemd/system");
    let paths: Vec<PathBuf> = UNITS.iter().map(|u| unit_dir.join(u)).collect();
    let storaged = fs::read_to_string(&paths[1]).expect("read installed unit");
    assert!(
        storaged.contains(&format!(
            "ExecStart={}/bin/tandem-storaged",
            prefix.display()
        )),
        "ExecStart not rewritten for the prefix:\n{storaged}"
    );
    verify_silently(&paths);
}

/// The services read their TOML files as users of group `tandem`: after the documented
/// `systemd-sysusers` and `systemd-tmpfiles --create`, both files are root:tandem 0640 and
/// /etc/tandem is traversable by the group. (scripts/install wrote them root:root 0640 and
/// both services crash-looped on "Permission denied" under a real systemd.)
#[test]
fn installed_configs_are_readable_by_the_services_group() {
    use std::os::unix::fs::MetadataExt;
    let destdir = tempfile::tempdir().expect("temp dir");
    let root = destdir.path();
    install(&[("DESTDIR", root)]);
    if !check_sysusers(root) {
        return;
    }
    let out = Command::new("systemd-tmpfiles")
        .arg(format!("--root={}", root.display()))
        .arg("--create")
        .arg(root.join("usr/local/lib/tmpfiles.d/tandem.conf"))
        .output()
        .expect("run systemd-tmpfiles");
    assert!(
        out.status.success(),
        "systemd-tmpfiles failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let group = fs::read_to_string(root.join("etc/group")).expect("read group");
    let gid: u32 = group
        .lines()
        .find_map(|l| l.strip_prefix("tandem:x:"))
        .and_then(|rest| rest.split(':').next())
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| panic!("no group tandem:\n{group}"));
    for (path, mode) in [
        ("etc/tandem", 0o750),
        ("etc/tandem/storaged.toml", 0o640),
        ("etc/tandem/proxy.toml", 0o640),
    ] {
        let meta = fs::metadata(root.join(path)).expect("stat");
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (0, gid, mode),
            "{path}: want root:tandem {mode:o}"
        );
    }
}

/// systemd-sysusers accepts the entries and creates the users and group in a scratch root.
/// False when it cannot run here (not installed, or not root).
fn check_sysusers(root: &Path) -> bool {
    let Ok(out) = Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.display()))
        .arg(root.join("usr/local/lib/sysusers.d/tandem.conf"))
        .output()
    else {
        eprintln!("systemd-sysusers not installed: skipping the sysusers check");
        return false;
    };
    let printed = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && printed.contains("Permission denied") {
        eprintln!("systemd-sysusers needs root here: skipping the sysusers check");
        return false;
    }
    assert!(out.status.success(), "systemd-sysusers failed:\n{printed}");
    let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap_or_default();
    let group = fs::read_to_string(root.join("etc/group")).unwrap_or_default();
    for user in ["tandem-storaged", "tandem-proxy"] {
        assert!(
            passwd.contains(&format!("{user}:")),
            "no user {user}:\n{passwd}"
        );
    }
    let tandem = group
        .lines()
        .find(|l| l.starts_with("tandem:"))
        .unwrap_or_else(|| panic!("no group tandem:\n{group}"));
    assert!(
        tandem.contains("tandem-storaged") && tandem.contains("tandem-proxy"),
        "group tandem lacks a member: {tandem}"
    );
    true
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .expect("run dpkg-deb");
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `scripts/package` makes a .deb holding what `scripts/install` installs under /usr, with
/// every /etc file a conffile and maintainer scripts that enable and start nothing on a
/// first install. (It is installed, run and upgraded under a real systemd by
/// `scripts/systemd-test --deb`.)
#[test]
fn package_is_a_deb_with_conffiles_and_a_postinst_that_starts_nothing() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        eprintln!("dpkg-deb not installed: skipping the package check");
        return;
    }
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(workspace_root().join("scripts/package"))
        .args(["--no-build", "--version", "9.8.7-3", "--out"])
        .arg(out_dir.path())
        .env("TANDEM_BIN_DIR", bin_dir())
        .output()
        .expect("run scripts/package");
    assert!(
        out.status.success(),
        "scripts/package failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(deb.is_file(), "no package at {}", deb.display());

    let fields = dpkg_deb(&["-f"], &deb);
    for want in ["Package: tandem", "Version: 9.8.7-3", "Depends: libc6"] {
        assert!(fields.contains(want), "control lacks {want:?}:\n{fields}");
    }
    let files = dpkg_deb(&["-c"], &deb);
    for file in [
        "./usr/bin/tandem-storaged",
        "./usr/bin/tandem-proxy",
        "./usr/lib/systemd/system/tandem-storaged.socket",
        "./usr/lib/systemd/system/tandem-storaged.service",
        "./usr/lib/systemd/system/tandem-proxy@.socket",
        "./usr/lib/systemd/system/tandem-proxy@.service",
        "./usr/lib/sysusers.d/tandem.conf",
        "./usr/lib/tmpfiles.d/tandem.conf",
        "./usr/share/doc/tandem/OPERATIONS.md",
        "./usr/share/doc/tandem/copyright",
        "./etc/tandem/storaged.toml",
    ] {
        assert!(
            files.lines().any(|l| l.ends_with(file)),
            "{file} not in the package:\n{files}"
        );
    }
    assert!(
        files.lines().all(|l| l.contains(" root/root ")),
        "files not owned by root:\n{files}"
    );
    let control = tempfile::tempdir().expect("temp dir");
    let control_dir = control.path().join("DEBIAN");
    let status = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(&control_dir)
        .status()
        .expect("run dpkg-deb -e");
    assert!(status.success(), "dpkg-deb -e {status}");
    let listed = fs::read_to_string(control_dir.join("conffiles")).expect("conffiles");
    for name in ["storaged.toml", "proxy.toml", "storaged.env", "proxy.env"] {
        assert!(
            listed.lines().any(|l| l == format!("/etc/tandem/{name}")),
            "{name} is not a conffile:\n{listed}"
        );
    }
    let postinst = fs::read_to_string(control_dir.join("postinst")).expect("postinst");
    for line in postinst
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
    {
        for verb in [
            "systemctl enable",
            "systemctl start",
            "--now",
            "deb-systemd-helper",
        ] {
            assert!(
                !line.contains(verb),
                "postinst line {line:?} enables or starts something"
            );
        }
    }
    // Restarts only on an upgrade ($2 = the old version) and only what is active.
    assert!(
        postinst.contains("if [ -n \"$2\" ]") && postinst.contains("is-active"),
        "{postinst}"
    );
}
