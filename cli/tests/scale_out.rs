//! One backup split into tasks run by separate `firekeep` processes (as Cloud Run Jobs or a
//! Kubernetes Indexed Job would), committed as one backup: equal to a one-process backup of
//! the same read time, with a task SIGKILLed mid-way and run again, a commit refused while a
//! task is missing, and a server without PartitionQuery still giving every task work.

mod common;
use common::{Env, run, run_ok};
use firekeep_firestore_server::Method;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Documents in the big test: 200,000 (FIREKEEP_SCALE_DOCS overrides it).
fn big_docs() -> usize {
    std::env::var("FIREKEEP_SCALE_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

fn backup_dir(repo: &Path, id: &str) -> std::path::PathBuf {
    repo.join("firekeep/v1/backups").join(id)
}

/// Sealed parts (not the local sink's temp files) whose name starts with `prefix`.
fn parts_with_prefix(repo: &Path, id: &str, prefix: &str) -> usize {
    std::fs::read_dir(backup_dir(repo, id).join("parts"))
        .map(|d| {
            d.filter(|e| {
                let n = e.as_ref().unwrap().file_name();
                let n = n.to_string_lossy();
                n.starts_with(prefix) && n.ends_with(".fkp")
            })
            .count()
        })
        .unwrap_or(0)
}

fn spawn_task(env: &Env, id: &str, index: usize, via_env: bool) -> Child {
    let mut c = env.std_cmd();
    c.args(["backup", "--task", "--backup-id", id, "--json"]);
    if via_env {
        // As Cloud Run Jobs start a task.
        c.env("CLOUD_RUN_TASK_INDEX", index.to_string())
            .env("CLOUD_RUN_TASK_COUNT", "4");
    } else {
        c.args(["--task-index", &index.to_string(), "--task-count", "4"]);
    }
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_ok(child: Child) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "task failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn four_task_processes_one_killed_commit_one_backup_equal_to_a_one_process_backup() {
    let n = big_docs();
    let env = Env::new(n);
    // Small parts, so every task writes many and the killed one is caught mid-way.
    std::fs::write(
        env.dir.path().join("firekeep.toml"),
        "[backup]\npart_size_mib = 0.25\nparallelism = 1\n",
    )
    .unwrap();
    let plan = run_ok(
        env.cmd()
            .args(["backup", "--plan", "--task-count", "4", "--json"]),
        0,
    )
    .json();
    let id = plan["backup_id"].as_str().unwrap().to_string();
    assert_eq!(plan["task_count"], 4);
    assert_eq!(plan["partitioning"], "source", "{plan}");
    let read_time = plan["read_time"].as_str().unwrap().to_string();

    // Four processes at once; task 2 is killed once it has written a part.
    let mut children: Vec<Option<Child>> = (0..4)
        .map(|i| Some(spawn_task(&env, &id, i, i % 2 == 0)))
        .collect();
    let started = Instant::now();
    let mut victim = children[2].take().unwrap();
    loop {
        if parts_with_prefix(&env.repo, &id, "t00002-") > 0 {
            victim.kill().unwrap(); // SIGKILL
            break;
        }
        assert!(
            victim.try_wait().unwrap().is_none(),
            "task 2 finished before it could be killed; use more documents"
        );
        assert!(started.elapsed() < Duration::from_secs(120), "no part");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(!victim.wait().unwrap().success());
    let mut docs = 0u64;
    for c in children.iter_mut().filter_map(Option::take) {
        let r = wait_ok(c);
        assert_eq!(r["outcome"], "completed", "{r}");
        assert!(r["documents"].as_u64().unwrap() > 0, "{r}");
        docs += r["documents"].as_u64().unwrap();
    }
    assert!(
        !backup_dir(&env.repo, &id)
            .join("dist/task-00002.fkm")
            .exists(),
        "the killed task left no result"
    );

    // Commit with task 2 missing: refused, naming it; no manifest, nothing listed.
    let r = run(env.cmd().args(["backup", "--commit", &id, "--json"]));
    assert_ne!(r.code, 0);
    let e = r.error();
    assert_eq!(e["error"]["code"], "ERR_NOT_FOUND");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("task(s) 2 of 4"),
        "{e}"
    );
    assert!(!backup_dir(&env.repo, &id).join("manifest.fkm").exists());
    let list = run_ok(env.cmd().args(["list", "--json"]), 0).json();
    assert!(list["backups"].as_array().unwrap().is_empty(), "{list}");

    // The engine retries task 2: it redoes its share. A retried task 0 finds its result.
    let again = wait_ok(spawn_task(&env, &id, 2, true));
    assert_eq!(again["outcome"], "completed");
    docs += again["documents"].as_u64().unwrap();
    let dup = wait_ok(spawn_task(&env, &id, 0, false));
    assert_eq!(dup["outcome"], "already_completed");
    assert_eq!(docs as usize, env.documents("(default)").len());

    let committed = run_ok(env.cmd().args(["backup", "--commit", &id, "--json"]), 0).json();
    assert_eq!(committed["documents"].as_u64().unwrap(), docs);
    assert_eq!(committed["read_time"], read_time.as_str());
    // The killed attempt's parts went with the commit.
    let v = run_ok(env.cmd().args(["verify", &id, "--json"]), 0).json();
    assert!(v["problems"].as_array().unwrap().is_empty(), "{v}");
    assert!(
        v["unexpected_objects"].as_array().unwrap().is_empty(),
        "{v}"
    );

    // A one-process backup of the same read time holds exactly the same documents.
    let one = run_ok(
        env.cmd()
            .args(["backup", "--read-time", &read_time, "--json"]),
        0,
    )
    .json();
    let one_id = one["backup_id"].as_str().unwrap();
    let d = run_ok(
        env.cmd()
            .args(["diff", one_id, &id, "--exit-code", "--json"]),
        0,
    )
    .json();
    assert_eq!(
        (&d["added"], &d["removed"], &d["changed"]),
        (&0.into(), &0.into(), &0.into()),
        "{d}"
    );
    assert_eq!(d["unchanged"].as_u64().unwrap(), docs);

    // Every step is in the audit trail, the commit as the backup's creation.
    let audit = env.audit_log();
    for stage in ["\"plan\"", "\"task\"", "\"commit\""] {
        assert!(audit.contains(stage), "no {stage} stage in the audit log");
    }
}

#[test]
fn without_partition_query_the_plan_still_gives_every_task_work() {
    let env = Env::new(3_000);
    env.server.faults().unimplemented(Method::PartitionQuery);
    let plan = run_ok(
        env.cmd()
            .args(["backup", "--plan", "--task-count", "4", "--json"]),
        0,
    )
    .json();
    assert_eq!(plan["partitioning"], "sampled", "{plan}");
    assert_eq!(plan["partitions"], 4, "{plan}");
    let id = plan["backup_id"].as_str().unwrap().to_string();
    let children: Vec<Child> = (0..4).map(|i| spawn_task(&env, &id, i, false)).collect();
    let mut docs = 0;
    for c in children {
        let r = wait_ok(c);
        let n = r["documents"].as_u64().unwrap();
        assert!(n > 0, "a task without work: {r}");
        docs += n;
    }
    assert_eq!(docs as usize, env.documents("(default)").len());
    run_ok(env.cmd().args(["backup", "--commit", &id, "--json"]), 0);
    let v = run_ok(env.cmd().args(["verify", &id, "--json"]), 0).json();
    assert_eq!(v["documents"].as_u64().unwrap(), docs);
}

#[test]
fn a_task_without_an_index_or_with_the_wrong_count_is_refused() {
    let env = Env::new(50);
    let plan = run_ok(
        env.cmd()
            .args(["backup", "--plan", "--task-count", "2", "--json"]),
        0,
    )
    .json();
    let id = plan["backup_id"].as_str().unwrap();
    let r = run(env
        .cmd()
        .args(["backup", "--task", "--backup-id", id, "--json"]));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("CLOUD_RUN_TASK_INDEX"), "{}", r.stderr);
    let r = run(env
        .cmd()
        .args(["backup", "--task", "--backup-id", id, "--json"])
        .env("JOB_COMPLETION_INDEX", "0")
        .env("CLOUD_RUN_TASK_COUNT", "3"));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("the plan has 2"), "{}", r.stderr);
}

#[test]
fn four_restore_task_processes_restore_the_source_database() {
    let env = Env::new(20_000);
    std::fs::write(
        env.dir.path().join("firekeep.toml"),
        "[backup]\npart_size_mib = 0.25\n",
    )
    .unwrap();
    let b = run_ok(env.cmd().args(["backup", "--json"]), 0).json();
    let id = b["backup_id"].as_str().unwrap().to_string();
    let plan = run_ok(
        env.cmd().args([
            "restore",
            &id,
            "--plan",
            "--task-count",
            "4",
            "--target-database",
            "restored",
            "--json",
        ]),
        0,
    )
    .json();
    let rid = plan["restore_id"].as_str().unwrap().to_string();
    assert_eq!(plan["task_count"], 4);
    let children: Vec<Child> = (0..4)
        .map(|i| {
            env.std_cmd()
                .args([
                    "restore",
                    &id,
                    "--task",
                    "--restore-id",
                    &rid,
                    "--target-database",
                    "restored",
                    "--json",
                ])
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let r = wait_ok(c);
        assert_eq!(r["outcome"], "completed", "{r}");
        assert!(r["report"]["written"].as_u64().unwrap() > 0, "{r}");
    }
    let sum = run_ok(
        env.cmd().args([
            "restore",
            &id,
            "--commit",
            &rid,
            "--target-database",
            "restored",
            "--json",
        ]),
        0,
    )
    .json();
    let source = env.documents("(default)");
    assert_eq!(sum["written"].as_u64().unwrap() as usize, source.len());
    let fields = |docs: Vec<firekeep_core::model::Document>| {
        docs.into_iter()
            .map(|d| (d.path().unwrap().1.to_string(), d.fields))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert!(
        fields(env.documents("restored")) == fields(source),
        "the restored database differs from the source"
    );
}
