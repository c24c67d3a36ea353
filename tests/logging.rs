//! Every rejection is logged with a stable reason code and without token material, and a
//! request is verified once however many extractors ask (issue 2).

mod common;

use actix_web::{web, HttpResponse};
use common::*;
use endpoint_auth::{Algorithm, Authorized, Principal, Requirement, RequirementSpec};
use serde::Deserialize;
use serde_json::json;

struct Read;
impl RequirementSpec for Read {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

#[derive(Deserialize)]
struct Tenant {
    tenant: String,
}

struct Write;
impl RequirementSpec for Write {
    const REQUIREMENT: Requirement = Requirement::Scope("write:reports");
}

/// The first refusal swallowed (the handler takes it as a `Result`), the second answered.
async fn wrapped(
    _write: Result<Authorized<Write>, endpoint_auth::AuthRejection>,
    t: Principal<Tenant>,
) -> HttpResponse {
    HttpResponse::Ok().body(t.extra().tenant.clone())
}

async fn three_extractors(a: Authorized<Read>, p: Principal, t: Principal<Tenant>) -> HttpResponse {
    HttpResponse::Ok().body(format!(
        "{:?} {:?} {}",
        a.subject(),
        p.subject(),
        t.extra().tenant
    ))
}

/// The good token's header and payload under another token's signature.
fn forged(good: &str) -> String {
    let other = token("x");
    format!(
        "{}.{}",
        good.rsplit_once('.').unwrap().0,
        other.rsplit_once('.').unwrap().1
    )
}

#[test]
fn rejections_are_logged_with_reason_codes_and_no_token_material_and_verification_runs_once() {
    let captured = capture_logs();

    let s = serve(Some(builder().build().unwrap()), |cfg| {
        cfg.route("/r", web::get().to(three_extractors))
            .route("/wrapped", web::get().to(wrapped));
    });

    let mut c = claims("read:reports");
    c["tenant"] = json!("acme");
    let good = mint(Algorithm::RS256, &c);
    assert_eq!(get(s.addr, "/r", &[&bearer(&good)]).status, 200);
    // Each case looks at its own lines; the token search at the end looks at all of them.
    let mut everything = captured.take();
    assert_eq!(
        everything.matches("access token verified").count(),
        1,
        "{everything}"
    );

    let mut expired = claims("read:reports");
    expired["exp"] = json!(now() - 600);
    let cases = [
        (None, "reason=\"missing\""),
        (Some("Bearer".to_owned()), "reason=\"malformed_header\""),
        (
            Some(format!("Bearer {}", mint(Algorithm::ES256, &expired))),
            "reason=\"expired\"",
        ),
        (
            Some(format!("Bearer {}", token("other"))),
            "reason=\"insufficient_scope\"",
        ),
        (
            Some(format!("Bearer {}", forged(&good))),
            "reason=\"bad_signature\"",
        ),
    ];
    let mut tokens = vec![good.clone()];
    for (auth, reason) in &cases {
        let headers: Vec<String> = auth.iter().map(|a| format!("Authorization: {a}")).collect();
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let r = get(s.addr, "/r", &headers);
        assert!(r.status >= 400);
        let log = captured.take();
        assert!(log.contains(reason), "expected {reason} in {log}");
        // Logged once per reason however many of the handler's three extractors refused it
        // for that reason (all three, without a token; a token without the scope and the
        // tenant is refused for two reasons, and each is logged once).
        let reasons: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("request rejected"))
            .filter_map(|l| l.split("reason=").nth(1)?.split(' ').next())
            .collect();
        let mut distinct = reasons.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(reasons.len(), distinct.len(), "{log}");
        assert_eq!(
            reasons.first(),
            Some(reason.trim_start_matches("reason=")).as_ref(),
            "{log}"
        );
        assert_eq!(
            log.matches("why the request was rejected").count(),
            reasons.len(),
            "{log}"
        );
        everything.push_str(&log);
        if let Some(a) = auth {
            tokens.push(a.trim_start_matches("Bearer").trim().to_owned());
        }
    }
    // Refusals for different reasons are each logged: the one the client gets (the claims
    // do not fit `Principal<Tenant>`) is in the log though a swallowed one came first.
    let no_tenant = mint(Algorithm::RS256, &claims("read:reports"));
    assert_eq!(get(s.addr, "/wrapped", &[&bearer(&no_tenant)]).status, 401);
    let log = captured.take();
    let rejected: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("request rejected"))
        .collect();
    assert_eq!(rejected.len(), 2, "{log}");
    assert!(
        rejected[0].contains("reason=\"insufficient_scope\""),
        "{log}"
    );
    assert!(rejected[1].contains("reason=\"invalid_claims\""), "{log}");
    everything.push_str(&log);

    // No token (nor its signature or payload segment) ever reaches the log, over everything
    // logged since the server started.
    everything.push_str(&captured.take());
    assert!(everything.contains("reason=\"bad_signature\""));
    let tokens: Vec<&String> = tokens.iter().filter(|t| t.len() > 20).collect();
    assert_eq!(tokens.len(), 4, "the good token and three bad ones");
    for t in tokens {
        for part in t.split('.') {
            assert!(!everything.contains(part), "token material logged");
        }
    }
}
