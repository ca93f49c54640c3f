//! The policy parser (TOML and JSON) on arbitrary bytes: never panics, rejects with
//! `InvalidConfig`, and whatever it accepts survives a JSON round trip and evaluates.
#![no_main]

use firekeep_core::Error;
use firekeep_core::policy::{Action, Policy, Principal, RequestContext, Resource};
use libfuzzer_sys::fuzz_target;

fn exercise(policy: &Policy) {
    // Round trip: the compiled document, written as JSON, compiles to the same document.
    let json = policy.document().to_json();
    let again = Policy::from_json(&json).expect("a re-encoded policy must parse");
    assert_eq!(
        again.document(),
        policy.document(),
        "JSON round trip changed the policy"
    );
    // Evaluate every member and key on a few resources: must not panic, and never allow
    // across organizations.
    let doc = policy.document();
    let principals = doc
        .members
        .iter()
        .map(|m| Principal::user(&m.organization, &m.id))
        .chain(
            doc.api_keys
                .iter()
                .map(|k| Principal::api_key(&k.organization, &k.id)),
        );
    for p in principals.take(16) {
        let own = Resource::organization(p.organization()).in_project("prod");
        let other = Resource::organization(format!("{}-other", p.organization()));
        for a in Action::ALL {
            let _ = policy.evaluate(&p, a, &own, &RequestContext::default());
            assert!(
                !policy
                    .evaluate(&p, a, &other, &RequestContext::default())
                    .allowed
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [Policy::from_toml(text), Policy::from_json(text)] {
        match parsed {
            Ok(policy) => exercise(&policy),
            Err(Error::InvalidConfig(msg)) => assert!(msg.starts_with("policy ")),
            Err(other) => panic!("policy parse error of the wrong kind: {other:?}"),
        }
    }
});
