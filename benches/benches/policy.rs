//! `Policy::evaluate` on a policy of 50 roles and 1,000 members: nanoseconds per decision.
//! Run: `cargo bench -p firekeep-benches --bench policy -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, criterion_group, criterion_main};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::{
    Action, Conditions, MemberEntry, Policy, PolicyDocument, Principal, ProjectGrantEntry,
    ProjectRole, RequestContext, Resource, RoleEntry,
};
use std::collections::BTreeMap;
use std::hint::black_box;

const ORG: &str = "acme";
const PROJECTS: [&str; 8] = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"];

/// 50 custom roles (varied actions, some limited to projects, some needing MFA), 1,000
/// members of one organization (plus 1,000 in another), a third with a project grant.
fn big_policy() -> Policy {
    let mut roles = BTreeMap::new();
    for r in 0..50usize {
        let actions: Vec<Action> = Action::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| (r >> (i % 6)) & 1 == 1 || i % 5 == r % 5)
            .map(|(_, a)| *a)
            .collect();
        let conditions = Conditions {
            projects: (r % 3 == 0).then(|| PROJECTS[..4].iter().map(|p| p.to_string()).collect()),
            collections: None,
            require_mfa: if r % 4 == 0 {
                vec![Action::RestoreBackup]
            } else {
                vec![]
            },
            expires_at: (r % 7 == 0)
                .then(|| Timestamp::parse_rfc3339("2030-01-01T00:00:00Z").unwrap()),
        };
        let extends = (r % 10 == 9).then(|| ["viewer", "member"][r % 2].to_string());
        roles.insert(
            format!("role{r}"),
            RoleEntry {
                description: None,
                extends,
                actions,
                conditions,
            },
        );
    }
    let mut members = Vec::new();
    for org in [ORG, "other"] {
        for m in 0..1000usize {
            let mut projects = BTreeMap::new();
            if m % 3 == 0 {
                projects.insert(
                    PROJECTS[m % 8].to_string(),
                    ProjectGrantEntry {
                        role: if m % 2 == 0 {
                            ProjectRole::Owner
                        } else {
                            ProjectRole::User
                        },
                        collections: vec!["users".into(), "orders".into()],
                        expires_at: None,
                    },
                );
            }
            members.push(MemberEntry {
                disabled_at: None,
                id: format!("user{m}"),
                email: Some(format!("user{m}@example.com")),
                organization: org.into(),
                role: Some(format!("role{}", m % 50)),
                projects,
                expires_at: None,
            });
        }
    }
    Policy::from_document(PolicyDocument {
        alerts: None,
        version: 1,
        roles,
        members,
        api_keys: vec![],
    })
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let policy = big_policy();
    let ctx = RequestContext {
        mfa: false,
        ..RequestContext::default()
    };
    // A spread of principals, actions and resources, precomputed so only `evaluate` is timed.
    let cases: Vec<(Principal, Action, Resource)> = (0..4096usize)
        .map(|i| {
            let principal = Principal::user(ORG, format!("user{}", (i * 7919) % 1000));
            let action = Action::ALL[i % Action::ALL.len()];
            let resource = Resource::organization(ORG)
                .in_project(PROJECTS[i % 8])
                .in_database("(default)")
                .with_collections(["users"]);
            (principal, action, resource)
        })
        .collect();
    let allowed = cases
        .iter()
        .filter(|(p, a, r)| policy.evaluate(p, *a, r, &ctx).allowed)
        .count();
    eprintln!("policy bench: {allowed} of {} decisions allow", cases.len());
    let now = Timestamp::now();
    let mut i = 0;
    c.bench_function("policy/evaluate (50 roles x 1000 members)", |b| {
        b.iter(|| {
            let (p, a, r) = &cases[i & 4095];
            i += 1;
            black_box(policy.evaluate_at(black_box(p), *a, black_box(r), &ctx, now))
        })
    });
    let denied_key = Principal::user(ORG, "nobody");
    let r = &cases[0].2;
    c.bench_function("policy/evaluate (unknown member, denied)", |b| {
        b.iter(|| {
            black_box(policy.evaluate_at(
                black_box(&denied_key),
                Action::CreateBackup,
                r,
                &ctx,
                now,
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
