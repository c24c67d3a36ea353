//! "Why was I rejected?": at debug level each rejection is explained in one log line (route,
//! reason, the compared claim's configured and presented values, required and granted
//! scopes), with attacker-supplied values escaped and truncated and no token material.

mod common;

use actix_web::{web, HttpResponse};
use common::*;
use endpoint_auth::{Algorithm, Authorized, Requirement, RequirementSpec};
use serde_json::json;

struct Read;
impl RequirementSpec for Read {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

async fn report(_: Authorized<Read>, id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().body(id.to_string())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports/{id}", web::get().to(report));
}

/// The `n`-th explanation logged (1-based): one per rejected request, in order.
fn explanation(log: &str, n: usize) -> String {
    log.lines()
        .filter(|l| l.contains("why the request was rejected"))
        .nth(n - 1)
        .unwrap_or_else(|| panic!("no explanation {n} in:\n{log}"))
        .to_owned()
}

#[test]
fn each_rejection_is_explained_at_debug_level_without_token_material() {
    let logs = capture_logs();
    let s = serve(Some(builder().build().unwrap()), routes);

    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut c = claims("read:reports");
        edit(&mut c);
        mint(Algorithm::RS256, &c)
    };
    let wrong_iss = with(&|c| c["iss"] = json!("https://evil.example/"));
    let hostile_iss = with(&|c| c["iss"] = json!(format!("x\n\"y\\{}", "z".repeat(300))));
    let no_iss = with(&|c| drop(c.as_object_mut().unwrap().remove("iss")));
    let wrong_aud = with(&|c| c["aud"] = json!(["api-a", "api-b"]));
    let expired = with(&|c| c["exp"] = json!(now() - 3600));
    let no_scope = mint(Algorithm::RS256, &claims("write:reports other"));
    let good = token("read:reports");
    let (head, _) = good.rsplit_once('.').unwrap();
    let bad_signature = format!("{head}.{}", "A".repeat(342));

    // Each request's path carries a number that names the case in the log.
    let cases: [(u32, Option<&str>, u16, &[&str]); 8] = [
        (1, None, 401, &["reason=\"missing\""]),
        (
            2,
            Some(&wrong_iss),
            401,
            &[
                "reason=\"wrong_issuer\"",
                "claim=\"iss\"",
                &format!("expected=\"{ISSUER}\""),
                "presented=\"https://evil.example/\"",
            ],
        ),
        (
            3,
            Some(&no_iss),
            401,
            &["reason=\"wrong_issuer\"", "presented=\"(absent)\""],
        ),
        (
            4,
            Some(&wrong_aud),
            401,
            &[
                "reason=\"wrong_audience\"",
                "claim=\"aud\"",
                &format!("expected=\"{AUDIENCE}\""),
                "presented=\"api-a api-b\"",
            ],
        ),
        (5, Some(&expired), 401, &["reason=\"expired\""]),
        (6, Some(&bad_signature), 401, &["reason=\"bad_signature\""]),
        (
            7,
            Some(&no_scope),
            403,
            &[
                "reason=\"insufficient_scope\"",
                r#"required="scope = \"read:reports\"""#,
                "granted=\"write:reports other\"",
            ],
        ),
        (8, Some(&hostile_iss), 401, &["reason=\"wrong_issuer\""]),
    ];
    for (n, token, status, fields) in cases {
        let path = format!("/reports/{n}");
        let headers: Vec<String> = token.map(bearer).into_iter().collect();
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let r = get(s.addr, &path, &headers);
        assert_eq!(r.status, status, "case {n}");
        // The response stays terse: nothing of what was compared.
        assert!(!r.text().contains("evil.example") && !r.text().contains("api-a"));
        let line = explanation(&logs.peek(), n as usize);
        assert!(line.contains("route=/reports/{id}"), "case {n}: {line}");
        assert!(line.contains("method=GET"), "case {n}: {line}");
        for field in fields {
            assert!(line.contains(field), "case {n}: missing {field} in {line}");
        }
    }

    // The hostile issuer is escaped by us (the fmt layer escapes once more) so no raw newline
    // or quote can break the line, and it is cut to 64 characters.
    let log = logs.peek();
    let hostile = explanation(&log, 8);
    assert!(
        hostile.contains(r#"presented="x\\n\\\"y\\\\zzz"#),
        "{hostile}"
    );
    // 64 characters kept: `x`, newline, `"`, `y`, `\` and 59 of the 300 `z`s.
    let kept = format!(r#"y\\\\{}…""#, "z".repeat(59));
    assert!(hostile.contains(&kept), "{hostile}");
    assert!(!hostile.contains(&"z".repeat(60)), "{hostile}");

    // No token material anywhere in the log: no token, no signature, no payload segment.
    for t in [
        &wrong_iss,
        &hostile_iss,
        &no_iss,
        &wrong_aud,
        &expired,
        &no_scope,
        &bad_signature,
    ] {
        let mut parts = t.split('.');
        let (_, payload, signature) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        assert!(!log.contains(t.as_str()), "a token was logged");
        assert!(!log.contains(payload), "a payload segment was logged");
        assert!(!log.contains(signature), "a signature was logged");
    }
}
