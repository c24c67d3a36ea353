//! Property tests (issue 19): `Requirement::check` over random `any`/`all` trees of scopes,
//! roles, claims, issuers and authentication contexts against a reference evaluator written from the
//! definitions, and the promises of its answers: a scope hint completes some alternative's
//! grants, `Unmet::Grant` means no scope would help, a step-up means the grants are there.

use endpoint_auth_runtime::{ClaimValue, Presented, Requirement, Unmet};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const SCOPES: [&str; 3] = ["s0", "s1", "s2"];
const ROLES: [&str; 2] = ["r0", "r1"];
const ACRS: [&str; 2] = ["a0", "a1"];
const ISSUERS: [&str; 2] = ["staff", "partners"];
const NOW: u64 = 10_000;

fn leaf() -> impl Strategy<Value = Requirement> {
    prop_oneof![
        Just(Requirement::Authenticated),
        prop::sample::select(SCOPES.to_vec()).prop_map(Requirement::Scope),
        prop::sample::select(ROLES.to_vec()).prop_map(Requirement::Role),
        prop::bool::ANY.prop_map(|b| Requirement::Claim("verified", ClaimValue::Bool(b))),
        prop::sample::select(vec!["acme", "globex"])
            .prop_map(|t| Requirement::Claim("tenant", ClaimValue::Str(t))),
        (0i64..3).prop_map(|n| Requirement::Claim("level", ClaimValue::Int(n))),
        Just(Requirement::Claim("sub", ClaimValue::PathParam("user"))),
        prop::sample::select(ACRS.to_vec()).prop_map(Requirement::Acr),
        prop::sample::select(vec![60u64, 600]).prop_map(Requirement::MaxAge),
        prop::sample::select(ISSUERS.to_vec()).prop_map(Requirement::Issuer),
    ]
}

fn tree() -> impl Strategy<Value = Requirement> {
    leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|m| Requirement::All(Box::leak(m.into_boxed_slice()))),
            prop::collection::vec(inner, 0..4)
                .prop_map(|m| Requirement::Any(Box::leak(m.into_boxed_slice()))),
        ]
    })
}

#[derive(Debug, Clone)]
struct Token {
    scopes: Vec<&'static str>,
    roles: Vec<&'static str>,
    claims: Map<String, Value>,
    acr: Option<&'static str>,
    auth_time: Option<u64>,
    user_param: Option<String>,
    issuer: &'static str,
}

fn token() -> impl Strategy<Value = Token> {
    (
        prop::sample::subsequence(SCOPES.to_vec(), 0..=3),
        prop::sample::subsequence(ROLES.to_vec(), 0..=2),
        prop::option::of(prop::bool::ANY),
        prop::option::of(prop::sample::select(vec!["acme", "globex", "ACME"])),
        prop::option::of(prop_oneof![
            (0i64..3).prop_map(|n| json!(n)),
            Just(json!("1"))
        ]),
        prop::option::of(prop::sample::select(vec!["u1", "u2"])),
        prop::option::of(prop::sample::select(vec!["a0", "a1", "other"])),
        prop::option::of(prop::sample::select(vec![NOW - 30, NOW - 300, NOW - 3_000])),
        prop::option::of(prop::sample::select(vec!["u1", "u2"])),
        prop::sample::select(vec!["staff", "partners", "default"]),
    )
        .prop_map(
            |(scopes, roles, verified, tenant, level, sub, acr, auth_time, user, issuer)| {
                let mut claims = Map::new();
                if let Some(v) = verified {
                    claims.insert("verified".into(), json!(v));
                }
                if let Some(t) = tenant {
                    claims.insert("tenant".into(), json!(t));
                }
                if let Some(l) = level {
                    claims.insert("level".into(), l);
                }
                if let Some(s) = sub {
                    claims.insert("sub".into(), json!(s));
                }
                Token {
                    scopes,
                    roles,
                    claims,
                    acr,
                    auth_time,
                    user_param: user.map(str::to_owned),
                    issuer,
                }
            },
        )
}

/// The definitions, read one by one: which leaves hold for this token.
fn leaf_holds(r: &Requirement, t: &Token) -> bool {
    match r {
        Requirement::Authenticated => true,
        Requirement::Scope(s) => t.scopes.contains(s),
        Requirement::Role(role) => t.roles.contains(role),
        Requirement::Claim(name, expected) => {
            let Some(claim) = t.claims.get(*name) else {
                return false;
            };
            match expected {
                ClaimValue::Bool(b) => claim == &json!(b),
                ClaimValue::Str(s) => claim == &json!(s),
                ClaimValue::Int(n) => claim.is_i64() && claim == &json!(n),
                ClaimValue::PathParam(_) => match (&t.user_param, claim) {
                    (Some(p), Value::String(s)) => s == p,
                    _ => false,
                },
                _ => unreachable!("no other claim value is generated"),
            }
        }
        Requirement::Acr(a) => t.acr == Some(*a),
        Requirement::Issuer(i) => t.issuer == *i,
        Requirement::MaxAge(max) => t.auth_time.is_some_and(|at| NOW - at <= *max),
        _ => unreachable!("composites are not leaves"),
    }
}

/// `pick` decides which leaves count (the others are taken as met).
fn reference(r: &Requirement, t: &Token, pick: &dyn Fn(&Requirement) -> bool) -> bool {
    match r {
        Requirement::All(m) => m.iter().all(|x| reference(x, t, pick)),
        Requirement::Any(m) => m.iter().any(|x| reference(x, t, pick)),
        leaf => !pick(leaf) || leaf_holds(leaf, t),
    }
}

fn is_grant(r: &Requirement) -> bool {
    matches!(
        r,
        Requirement::Scope(_)
            | Requirement::Role(_)
            | Requirement::Claim(..)
            | Requirement::Issuer(_)
    )
}

fn check(r: &Requirement, t: &Token) -> Result<(), Unmet> {
    let param = t.user_param.clone();
    let lookup = move |name: &str| (name == "user").then(|| param.clone()).flatten();
    r.check(&Presented {
        scopes: &t.scopes,
        roles: &t.roles,
        claims: Some(&t.claims),
        path_param: &lookup,
        acr: t.acr,
        auth_time: t.auth_time,
        issuer: Some(t.issuer),
        now: NOW,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn check_agrees_with_the_reference(r in tree(), t in token()) {
        let all = reference(&r, &t, &|_| true);
        let grants = reference(&r, &t, &is_grant);
        let outcome = check(&r, &t);
        match &outcome {
            Ok(()) => prop_assert!(all, "{r} accepted {t:?}"),
            Err(Unmet::Authentication(_)) => {
                prop_assert!(!all && grants, "{r}: step-up for {t:?}");
            }
            Err(Unmet::Scope(hint)) => {
                prop_assert!(!grants, "{r}: scope hint for {t:?}");
                // With the hinted scopes, some alternative's grants are complete.
                let mut more = t.clone();
                for s in &hint.hint {
                    if !more.scopes.contains(s) {
                        more.scopes.push(s);
                    }
                }
                prop_assert!(
                    reference(&r, &more, &is_grant),
                    "{r}: hint {:?} does not complete {t:?}", hint.hint
                );
            }
            Err(Unmet::Grant) => {
                prop_assert!(!grants, "{r}: grant refusal for {t:?}");
                // No scope would help: even every scope leaves the grants short.
                let mut every = t.clone();
                every.scopes = SCOPES.to_vec();
                prop_assert!(!reference(&r, &every, &is_grant), "{r}: a scope would help {t:?}");
            }
        }
        // And the scope-only view ignores everything but scopes.
        let scopes_only = reference(&r, &t, &|l| matches!(l, Requirement::Scope(_)));
        prop_assert_eq!(r.evaluate(&t.scopes).is_ok(), scopes_only);
    }
}
