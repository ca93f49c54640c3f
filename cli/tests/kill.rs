//! A backup process killed with SIGKILL mid-backup leaves no manifest: `list` does not show
//! it, `prune` removes its parts, and the earlier backup still verifies.

mod common;
use common::{Env, run_ok};
use firekeep_firestore_server::sample;
use std::path::Path;
use std::time::{Duration, Instant};

/// Backup folders: id, whether it has a manifest, and its number of parts. Temp files of
/// the local sink's atomic writes (`.fk-tmp-*`, never listed as objects) are not parts.
fn backup_dirs(repo: &Path) -> Vec<(String, bool, usize)> {
    let Ok(entries) = std::fs::read_dir(repo.join("firekeep/v1/backups")) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .map(|p| {
            let parts = std::fs::read_dir(p.join("parts"))
                .map(|d| {
                    d.filter(|e| {
                        !e.as_ref()
                            .unwrap()
                            .file_name()
                            .to_string_lossy()
                            .starts_with(".fk-tmp-")
                    })
                    .count()
                })
                .unwrap_or(0);
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                p.join("manifest.fkm").exists(),
                parts,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn sigkill_mid_backup_leaves_nothing_listed_and_prune_cleans_up() {
    let env = Env::new(0);
    env.server
        .seed(sample::demo_database(&common::db("(default)"), 20_000));
    // Small parts, so parts appear long before the backup could finish.
    std::fs::write(
        env.dir.path().join("firekeep.toml"),
        "[backup]\npart_size_mib = 0.02\n",
    )
    .unwrap();
    let first = run_ok(env.cmd().args(["backup", "--json"]), 0).json();
    let first_id = first["backup_id"].as_str().unwrap().to_string();

    // Every Firestore call now takes 250 ms: the next backup reads for seconds.
    env.server.faults().latency(Duration::from_millis(250));
    let mut child = env
        .std_cmd()
        .args(["backup", "--json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let killed_id = loop {
        let new: Vec<_> = backup_dirs(&env.repo)
            .into_iter()
            .filter(|(id, _, parts)| *id != first_id && *parts > 0)
            .collect();
        if let Some((id, _, _)) = new.first() {
            child.kill().unwrap(); // SIGKILL on Unix
            break id.clone();
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup finished before any part appeared; make it slower"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no part appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let status = child.wait().unwrap();
    assert!(!status.success());
    env.server.faults().latency(Duration::ZERO);

    let dirs = backup_dirs(&env.repo);
    let killed = dirs.iter().find(|(id, _, _)| *id == killed_id).unwrap();
    assert!(!killed.1, "a killed backup has no manifest");
    assert!(killed.2 > 0);

    let list = run_ok(env.cmd().args(["list", "--json"]), 0).json();
    let ids: Vec<&str> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first_id.as_str()]);

    // Within the grace period the orphan is left alone (it could be a running backup)...
    let plan = run_ok(
        env.cmd()
            .args(["prune", "--keep-last", "5", "--dry-run", "--json"]),
        0,
    )
    .json();
    assert!(
        plan["plan"]["orphans"].as_array().unwrap().is_empty(),
        "{plan}"
    );
    // ...and removed once it is older than the grace period.
    let pruned = run_ok(
        env.cmd().args([
            "prune",
            "--keep-last",
            "5",
            "--orphan-grace",
            "0s",
            "--json",
        ]),
        0,
    )
    .json();
    assert_eq!(pruned["plan"]["orphans"][0], killed_id.as_str(), "{pruned}");
    assert_eq!(pruned["report"]["orphans"].as_array().unwrap().len(), 1);
    let dirs = backup_dirs(&env.repo);
    let left: Vec<_> = dirs.iter().filter(|(_, _, parts)| *parts > 0).collect();
    assert_eq!(left.len(), 1, "{dirs:?}");
    assert_eq!(left[0].0, first_id);

    let v = run_ok(env.cmd().args(["verify", &first_id, "--json"]), 0).json();
    assert_eq!(v["documents"], first["documents"]);
}

#[test]
fn ctrl_c_cancels_a_backup_with_exit_130_and_cleans_up_its_parts() {
    let env = Env::new(0);
    env.server
        .seed(sample::demo_database(&common::db("(default)"), 20_000));
    std::fs::write(
        env.dir.path().join("firekeep.toml"),
        "[backup]\npart_size_mib = 0.02\n",
    )
    .unwrap();
    env.server.faults().latency(Duration::from_millis(250));
    let child = env
        .std_cmd()
        .args(["backup", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let id = loop {
        if let Some((id, _, _)) = backup_dirs(&env.repo).into_iter().find(|d| d.2 > 0) {
            break id;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no part appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    // SIGINT, as Ctrl-C in a terminal sends.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    env.server.faults().latency(Duration::ZERO);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("ERR_CANCELLED"), "{stderr}");
    assert!(out.stdout.is_empty());
    let left = backup_dirs(&env.repo);
    assert!(
        left.iter()
            .all(|(i, manifest, parts)| *i != id || (!manifest && *parts == 0)),
        "a cancelled backup leaves no manifest and removes its parts: {left:?}"
    );
    let list = run_ok(env.cmd().args(["list", "--json"]), 0).json();
    assert!(list["backups"].as_array().unwrap().is_empty());
    assert!(env.audit_log().contains("\"action\":\"backup.failed\""));
}
