//! Secrets hygiene (issue 8): the `Debug` output of every type a service is likely to log —
//! `Principal`, `Verified`, `Authorized`, `Key`, `KeySet`, `AuthConfig`, `AuthRejection` —
//! never contains token material, key secrets or raw claims.

mod common;

use actix_web::{web, HttpResponse};
use base64::Engine as _;
use common::*;
use endpoint_auth::{
    Algorithm, AuthConfig, AuthRejection, Authorized, Principal, Requirement, RequirementSpec,
};
use serde_json::json;

struct ReadReports;
impl RequirementSpec for ReadReports {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

async fn debug_principal(auth: Authorized<ReadReports>, p: Principal) -> HttpResponse {
    HttpResponse::Ok().body(format!("{auth:?}\n{p:?}\n{:?}\n{p:#?}", p.token()))
}

/// The rejection as the handler would see it with `Result<Principal, AuthRejection>`.
async fn debug_rejection(p: Result<Principal, AuthRejection>) -> HttpResponse {
    match p {
        Ok(_) => HttpResponse::Ok().body("accepted"),
        Err(rejection) => HttpResponse::Ok().body(format!(
            "{rejection:?}\n{rejection:#?}\n{rejection}\n{:?}",
            rejection.rendered()
        )),
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/principal", web::get().to(debug_principal))
        .route("/rejection", web::get().to(debug_rejection));
}

/// Every form in which a secret or a token could leak into text.
fn forbidden(token: &str, secret: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let mut out = vec![
        STANDARD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        secret.iter().map(|b| format!("{b:02x}")).collect(),
        // `{:?}` of a byte slice: "[12, 34, …" — the first few bytes suffice.
        format!("{:?}", &secret[..4])
            .trim_end_matches(']')
            .to_owned(),
        token.to_owned(),
    ];
    out.extend(token.split('.').map(str::to_owned));
    out
}

fn assert_clean(what: &str, text: &str, forbidden: &[String]) {
    for f in forbidden {
        assert!(!text.contains(f.as_str()), "{what} leaks {f:?} in:\n{text}");
    }
    for claim in ["pii-value-4711", "client-1", "acme-tenant"] {
        assert!(
            !text.contains(claim),
            "{what} leaks the claim {claim:?} in:\n{text}"
        );
    }
}

#[test]
fn debug_output_never_contains_tokens_secrets_or_raw_claims() {
    let secret = hmac_secret();
    let config = builder().build().unwrap();
    let s = serve(Some(config.clone()), routes);

    let mut c = claims("read:reports");
    c["email"] = json!("pii-value-4711");
    c["tenant"] = json!("acme-tenant");
    for alg in [Algorithm::HS256, Algorithm::RS256] {
        let token = mint(alg, &c);
        let bad = forged(&token);
        let forbidden = forbidden(&token, &secret);

        // A verified caller, formatted by a real handler.
        let r = get(s.addr, "/principal", &[&bearer(&token)]);
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().contains("Principal"), "{}", r.text());
        assert_clean("Principal/Verified/Authorized", &r.text(), &forbidden);

        // Rejections, formatted by a real handler: a forged token, an expired one, garbage.
        let mut expired = c.clone();
        expired["exp"] = json!(now() - 600);
        for sent in [bad.clone(), mint(alg, &expired), format!("{token}x")] {
            let r = get(s.addr, "/rejection", &[&bearer(&sent)]);
            assert!(r.text().contains("AuthRejection"), "{}", r.text());
            let mut forbidden = forbidden.clone();
            forbidden.extend(forbidden_parts(&sent));
            assert_clean("AuthRejection", &r.text(), &forbidden);
        }
    }

    let forbidden = forbidden("", &secret)
        .into_iter()
        .filter(|f| !f.is_empty())
        .collect::<Vec<_>>();
    let key = verification_key(Algorithm::HS256);
    assert_clean("Key", &format!("{key:?} {key:#?}"), &forbidden);
    let jwk_set = endpoint_auth::KeySet::from_jwks_json(
        &json!({"keys": [{
            "kty": "oct", "alg": "HS256", "kid": "k",
            "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&secret),
        }]})
        .to_string(),
    )
    .unwrap();
    assert_eq!(jwk_set.keys().len(), 1);
    assert_clean("KeySet", &format!("{jwk_set:?} {jwk_set:#?}"), &forbidden);
    assert_clean(
        "AuthConfig",
        &format!("{config:?} {config:#?} {:?}", config.verifier()),
        &forbidden,
    );
    let from_jwks = AuthConfig::builder()
        .realm(REALM)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .keys(jwk_set)
        .build()
        .unwrap();
    assert_clean("AuthConfig (JWKS)", &format!("{from_jwks:#?}"), &forbidden);
}

/// The signature and payload of a token (its header is the same for every token of a key).
fn forbidden_parts(token: &str) -> Vec<String> {
    token.split('.').skip(1).map(str::to_owned).collect()
}

/// This token's header and payload under another token's signature.
fn forged(good: &str) -> String {
    let other = token("other");
    format!(
        "{}.{}",
        good.rsplit_once('.').unwrap().0,
        other.rsplit_once('.').unwrap().1
    )
}
