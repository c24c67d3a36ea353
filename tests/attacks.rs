//! JWT attacks over real HTTP, one row per attack (issue 8). Every row names the status and
//! the `error` code (with its description) the contract gives; none may answer 5xx or drop
//! the connection (which is what a panic in the service would look like).
//!
//! The contract's split: a header that is not RFC 6750 `Bearer b64token` syntax is a 400
//! `invalid_request`; a syntactically fine token that is not acceptable is a 401
//! `invalid_token`; a header value that is not ours to judge (another scheme, garbage before
//! the scheme) is a bare 401; bytes the HTTP parser refuses never reach the service (400 from
//! actix-web, without a challenge).

mod common;

use std::net::SocketAddr;

use common::keyserver::{self, jwks_config, KeyServer, Reply};

use actix_web::{web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use endpoint_auth::{
    Algorithm, AuthConfig, Authorized, RemoteSettings, Requirement, RequirementSpec,
};
use jsonwebtoken::EncodingKey;
use serde_json::{json, Value};

struct ReadReports;
impl RequirementSpec for ReadReports {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

async fn read(_auth: Authorized<ReadReports>) -> HttpResponse {
    HttpResponse::Ok().body("read")
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/read", web::get().to(read));
}

// ---- expected answers -------------------------------------------------------------------

const NOT_A_JWT: &str = "the access token is not a well-formed JWT";
const ALG_REFUSED: &str = "the token's signing algorithm is not accepted";
const UNKNOWN_KID: &str = "no known key has the token's key id";
const BAD_SIGNATURE: &str = "the token signature is invalid";
const CRIT: &str =
    "the token header marks extensions as critical that this service does not understand";
const JWE: &str = "encrypted (JWE) access tokens are not accepted";
const NESTED: &str = "nested JWTs (cty JWT) are not accepted as access tokens";
const TOO_LARGE: &str = "the access token is too large";
const TIME_CLAIM: &str = "a time claim is not a valid number";
const EXPIRED: &str = "the access token has expired";
const NOT_YET_VALID: &str = "the access token is not valid yet";
const ISSUED_IN_FUTURE: &str = "the token was issued in the future";
const WRONG_AUDIENCE: &str = "the token is not meant for this audience";
// An `exp` that is no NumericDate (a string, `true`, out of range) counts as absent.
const NO_EXP: &str = "the token has no valid exp claim (a NumericDate)";
const NO_AUD: &str = "the token has no valid aud claim";
const SCOPE_TYPE: &str = "the scope claim must be a string or an array of strings";
const OUTSIDE_B64TOKEN: &str = "the token contains characters outside the b64token syntax";
const ONE_TOKEN: &str = "the Authorization header must hold exactly one token";

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The token is accepted.
    Ok,
    /// 401 with a bare challenge: no bearer credentials were found.
    Bare,
    /// 400 `invalid_request` with this description.
    InvalidRequest(&'static str),
    /// 401 `invalid_token` with this description.
    InvalidToken(&'static str),
    /// Refused by the HTTP parser before any handler runs: 400, no challenge.
    HttpParser,
}

struct Row {
    name: String,
    /// The raw bytes of the Authorization field value.
    authorization: Vec<u8>,
    expect: Expect,
}

fn row(name: impl Into<String>, token: impl AsRef<str>, expect: Expect) -> Row {
    raw_row(
        name,
        format!("Bearer {}", token.as_ref()).into_bytes(),
        expect,
    )
}

fn raw_row(name: impl Into<String>, authorization: Vec<u8>, expect: Expect) -> Row {
    Row {
        name: name.into(),
        authorization,
        expect,
    }
}

/// Sends every row and reports every row that got another answer, not only the first.
fn run(addr: SocketAddr, rows: &[Row]) {
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| check(addr, row).err().map(|e| format!("{}: {e}", row.name)))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn check(addr: SocketAddr, row: &Row) -> Result<(), String> {
    let mut req =
        format!("GET /read HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").into_bytes();
    req.extend_from_slice(b"Authorization: ");
    req.extend_from_slice(&row.authorization);
    req.extend_from_slice(b"\r\n\r\n");
    // A panic in the service shows up here as a dropped connection (no response head).
    let r = send_raw(addr, &req);
    let challenge = r.header("www-authenticate").unwrap_or("<none>");
    let got = format!("{} {challenge}", r.status);
    let expected = match row.expect {
        Expect::Ok => "200 <none>".to_owned(),
        Expect::Bare => format!("401 Bearer realm=\"{REALM}\""),
        Expect::InvalidRequest(d) => format!("400 {}", challenge_with("invalid_request", d)),
        Expect::InvalidToken(d) => format!("401 {}", challenge_with("invalid_token", d)),
        Expect::HttpParser => "400 <none>".to_owned(),
    };
    if got != expected {
        return Err(format!("expected {expected}\n      got {got}"));
    }
    if let Expect::InvalidRequest(d) | Expect::InvalidToken(d) = row.expect {
        let body = r.json();
        let code = if r.status == 400 {
            "invalid_request"
        } else {
            "invalid_token"
        };
        if body["error"] != code || body["error_description"] != d {
            return Err(format!("body {body}"));
        }
        if r.header("cache-control") != Some("no-store") {
            return Err("no Cache-Control: no-store".into());
        }
    }
    // Nothing an attacker sent comes back: challenges and bodies are fixed text.
    let sent = String::from_utf8_lossy(&row.authorization);
    let token = sent.trim_start_matches("Bearer ").trim();
    if token.len() > 8 && r.status != 200 {
        let echoed = r.headers.iter().any(|(_, v)| v.contains(token)) || r.text().contains(token);
        if echoed {
            return Err("the token was echoed".into());
        }
    }
    Ok(())
}

fn challenge_with(error: &str, description: &str) -> String {
    format!("Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{description}\"")
}

// ---- token construction -----------------------------------------------------------------

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `header.payload` (already encoded segments) with `key`.
fn sign_segments(alg: Algorithm, key: &EncodingKey, header: &str, payload: &str) -> String {
    let message = format!("{header}.{payload}");
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// A token whose header and payload are exactly the given JSON texts, signed with `alg`'s
/// test key (so only what the texts say can make it fail).
fn signed(alg: Algorithm, header: &str, payload: &str) -> String {
    sign_segments(alg, &signing_key(alg), &b64(header), &b64(payload))
}

fn rs256_header() -> String {
    json!({"alg": "RS256", "typ": "at+jwt", "kid": "rs256"}).to_string()
}

/// The JSON text of good claims with `changes` applied (a `null` change removes the claim).
fn payload(changes: Value) -> String {
    let mut c = claims("read:reports");
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c.to_string()
}

/// Good claims with `name` given as raw JSON text (for values `serde_json::Value` cannot hold,
/// such as `1e308`).
fn payload_with_raw(name: &str, raw: &str) -> String {
    let mut c = claims("read:reports");
    c.as_object_mut().unwrap().remove(name);
    format!("{{\"{name}\":{raw},{}", &c.to_string()[1..])
}

/// Good claims with `member` (raw JSON text) inserted before them, possibly naming a claim twice.
fn payload_with_member(member: &str) -> String {
    format!("{{{member},{}", &claims("read:reports").to_string()[1..])
}

fn good() -> String {
    signed(
        Algorithm::RS256,
        &rs256_header(),
        &claims("read:reports").to_string(),
    )
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

// ---- the table --------------------------------------------------------------------------

#[test]
fn alg_none_and_key_confusion() {
    let s = serve(Some(builder().build().unwrap()), routes);
    let body = b64(claims("read:reports").to_string());
    let mut rows = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE", "nonE"] {
        let header = b64(json!({"alg": alg, "typ": "JWT"}).to_string());
        for sig in ["", "e30", "AAAA"] {
            rows.push(row(
                format!("alg {alg} sig {sig:?}"),
                format!("{header}.{body}.{sig}"),
                Expect::InvalidToken(ALG_REFUSED),
            ));
        }
    }
    for alg in ["rs256", "RS256 ", "", "HS1024", "ES256K"] {
        let header = json!({"alg": alg, "kid": "rs256"}).to_string();
        rows.push(row(
            format!("alg {alg:?}"),
            signed(
                Algorithm::RS256,
                &header,
                &claims("read:reports").to_string(),
            ),
            Expect::InvalidToken(ALG_REFUSED),
        ));
    }
    rows.push(row(
        "alg is a number",
        signed(
            Algorithm::RS256,
            r#"{"alg":256,"kid":"rs256"}"#,
            &claims("read:reports").to_string(),
        ),
        Expect::InvalidToken(NOT_A_JWT),
    ));
    rows.push(row(
        "no alg",
        signed(
            Algorithm::RS256,
            r#"{"kid":"rs256"}"#,
            &claims("read:reports").to_string(),
        ),
        Expect::InvalidToken(NOT_A_JWT),
    ));
    // HS256 with the kid of the RS256 key, keyed with the RSA public PEM: where an HS256 key
    // exists the kid does not match it.
    let pem_key = EncodingKey::from_secret(&read_key("rsa-public.pem"));
    let hs_header = b64(json!({"alg": "HS256", "kid": "rs256"}).to_string());
    let confused = sign_segments(Algorithm::HS256, &pem_key, &hs_header, &body);
    rows.push(row(
        "HS256 keyed with the RSA public PEM, kid of the RSA key",
        &confused,
        Expect::InvalidToken(UNKNOWN_KID),
    ));
    let hs_no_kid = b64(json!({"alg": "HS256"}).to_string());
    rows.push(row(
        "HS256 keyed with the RSA public PEM, no kid",
        sign_segments(Algorithm::HS256, &pem_key, &hs_no_kid, &body),
        Expect::InvalidToken(BAD_SIGNATURE),
    ));
    run(s.addr, &rows);

    // Only the RSA key configured: HS256 is not even allowed.
    let rsa_only = AuthConfig::builder()
        .realm(REALM)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(verification_key(Algorithm::RS256))
        .build()
        .unwrap();
    let s = serve(Some(rsa_only), routes);
    let der_key = EncodingKey::from_secret(&pem_to_der(&read_key("rsa-public.pem")));
    run(
        s.addr,
        &[
            row(
                "HS256 keyed with the RSA public PEM (RSA-only config)",
                &confused,
                Expect::InvalidToken(ALG_REFUSED),
            ),
            row(
                "HS256 keyed with the RSA public key DER (RSA-only config)",
                sign_segments(Algorithm::HS256, &der_key, &hs_header, &body),
                Expect::InvalidToken(ALG_REFUSED),
            ),
            row("control: RS256", good(), Expect::Ok),
        ],
    );
}

fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    use base64::engine::general_purpose::STANDARD;
    let text = std::str::from_utf8(pem).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

#[test]
fn hostile_kid_values() {
    let s = serve(Some(builder().build().unwrap()), routes);
    let body = claims("read:reports").to_string();
    let with_kid = |kid: Value| {
        let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid}).to_string();
        signed(Algorithm::RS256, &header, &body)
    };
    let ten_kb = "A".repeat(10 * 1024);
    let long_token = with_kid(json!(ten_kb));
    assert!(long_token.len() < 16 * 1024, "{}", long_token.len());
    run(
        s.addr,
        &[
            row(
                "kid path traversal",
                with_kid(json!("../../../../../../etc/passwd")),
                Expect::InvalidToken(UNKNOWN_KID),
            ),
            row(
                "kid path traversal to /dev/zero",
                with_kid(json!("/dev/zero")),
                Expect::InvalidToken(UNKNOWN_KID),
            ),
            row(
                "kid SQL injection",
                with_kid(json!("x' UNION SELECT 'secret' -- ")),
                Expect::InvalidToken(UNKNOWN_KID),
            ),
            row(
                "kid with NUL",
                with_kid(json!("rs256\u{0}")),
                Expect::InvalidToken(UNKNOWN_KID),
            ),
            row(
                "kid with CR LF",
                with_kid(json!("rs256\r\nX-Injected: 1")),
                Expect::InvalidToken(UNKNOWN_KID),
            ),
            row(
                "kid with non-ASCII",
                with_kid(json!("rs256\u{202e}")),
                Expect::InvalidToken(UNKNOWN_KID),
            ),
            row(
                "kid of 10 KiB",
                &long_token,
                Expect::InvalidToken(UNKNOWN_KID),
            ),
            row(
                "kid of 20 KiB (over the 16 KiB token limit)",
                with_kid(json!("A".repeat(20 * 1024))),
                Expect::InvalidToken(TOO_LARGE),
            ),
            row(
                "kid is a number",
                with_kid(json!(42)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "kid is an object",
                with_kid(json!({"$ne": null})),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "kid of another algorithm's key",
                with_kid(json!("es256")),
                Expect::InvalidToken(UNKNOWN_KID),
            ),
            row("control: kid rs256", with_kid(json!("rs256")), Expect::Ok),
        ],
    );
}

/// A fresh P-256 key the service has never seen: (signing key, public JWK members).
fn attacker_key() -> (EncodingKey, Value) {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as ALG};
    let pair = EcdsaKeyPair::generate(&ALG).unwrap();
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "es256",
        "x": b64(&point[1..33]), "y": b64(&point[33..65]),
    });
    (EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
}

/// With remote keys the service has an HTTP client, so a token naming a key URL (`jku`,
/// `x5u`) could make it fetch one. The trap serves the attacker's JWKS at that URL (loopback
/// http, which the URL rule allows) and counts every request it gets: it must get none, while
/// the configured JWKS server is asked and its key verifies a genuine token.
#[test]
fn keys_named_by_the_token_are_never_fetched_or_used() {
    let (attacker, jwk) = attacker_key();
    let trap = KeyServer::start();
    trap.set(
        "/jwks.json",
        Reply::Json(json!({ "keys": [jwk.clone()] }).to_string(), None),
    );
    trap.set("/cert.pem", Reply::Status(200));
    let keys = KeyServer::start();
    keys.set(
        "/jwks",
        Reply::Json(
            keyserver::jwks(&[keyserver::jwk(Algorithm::ES256, "es256")]),
            None,
        ),
    );
    let s = serve(
        Some(jwks_config(&keys.url("/jwks"), RemoteSettings::default())),
        routes,
    );

    let body = b64(claims("read:reports").to_string());
    let forged = |extra: Value| {
        let mut header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "es256"});
        for (k, v) in extra.as_object().unwrap() {
            header[k] = v.clone();
        }
        sign_segments(Algorithm::ES256, &attacker, &b64(header.to_string()), &body)
    };
    let jku = json!({"jku": trap.url("/jwks.json")});
    let x5u = json!({"x5u": trap.url("/cert.pem")});
    let embedded = json!({"jwk": jwk});
    let x5c = json!({"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]});
    let all = json!({
        "jku": trap.url("/jwks.json"),
        "x5u": trap.url("/cert.pem"),
        "jwk": jwk,
    });
    let mut no_kid = json!({"jwk": jwk});
    no_kid["kid"] = Value::Null;
    // A kid the JWKS lacks makes the service refresh its keys: from its JWKS, not the jku.
    let unknown_kid = json!({"jku": trap.url("/jwks.json"), "kid": "attacker"});
    run(
        s.addr,
        &[
            row(
                "a genuine ES256 token (keys from the JWKS)",
                mint(Algorithm::ES256, &claims("read:reports")),
                Expect::Ok,
            ),
            row(
                "jku at the attacker's JWKS",
                forged(jku),
                Expect::InvalidToken(BAD_SIGNATURE),
            ),
            row(
                "x5u at the attacker's certificate",
                forged(x5u),
                Expect::InvalidToken(BAD_SIGNATURE),
            ),
            row(
                "jwk: the attacker's public key embedded",
                forged(embedded),
                Expect::InvalidToken(BAD_SIGNATURE),
            ),
            row(
                "x5c: a certificate chain embedded",
                forged(x5c),
                Expect::InvalidToken(BAD_SIGNATURE),
            ),
            row(
                "jku, x5u and jwk together",
                forged(all),
                Expect::InvalidToken(BAD_SIGNATURE),
            ),
            row(
                "jwk embedded, kid null",
                forged(no_kid),
                Expect::InvalidToken(BAD_SIGNATURE),
            ),
            row(
                "jku, and a kid the configured JWKS lacks",
                forged(unknown_kid),
                Expect::InvalidToken(UNKNOWN_KID),
            ),
        ],
    );
    // Fetches run on the service's own tasks: give a stray one time to arrive.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        keys.hits("/jwks") >= 1,
        "the configured JWKS was never fetched"
    );
    assert_eq!(
        (
            trap.hits("/jwks.json"),
            trap.hits("/cert.pem"),
            trap.total_hits()
        ),
        (0, 0, 0),
        "the service fetched a URL named by a token"
    );
}

#[test]
fn crit_and_jwe() {
    let s = serve(Some(builder().build().unwrap()), routes);
    let body = claims("read:reports").to_string();
    let header = |h: Value| signed(Algorithm::RS256, &h.to_string(), &body);
    let jwe_header =
        b64(json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "rs256"}).to_string());
    run(
        s.addr,
        &[
            row(
                "crit with an unknown extension",
                header(
                    json!({"alg": "RS256", "kid": "rs256", "crit": ["urn:example:x"], "urn:example:x": 1}),
                ),
                Expect::InvalidToken(CRIT),
            ),
            row(
                "crit b64=false (unencoded payload, RFC 7797)",
                header(json!({"alg": "RS256", "kid": "rs256", "crit": ["b64"], "b64": false})),
                Expect::InvalidToken(CRIT),
            ),
            row(
                "crit naming a registered claim",
                header(json!({"alg": "RS256", "kid": "rs256", "crit": ["exp"]})),
                Expect::InvalidToken(CRIT),
            ),
            row(
                "crit empty (forbidden by RFC 7515)",
                header(json!({"alg": "RS256", "kid": "rs256", "crit": []})),
                Expect::InvalidToken(CRIT),
            ),
            row(
                "crit not a list",
                header(json!({"alg": "RS256", "kid": "rs256", "crit": "b64"})),
                Expect::InvalidToken(CRIT),
            ),
            row(
                "JWE compact form, realistic header",
                format!("{jwe_header}.AAAA.BBBB.CCCC.DDDD"),
                Expect::InvalidToken(JWE),
            ),
            row(
                "JWE compact form, empty segments",
                "a....",
                Expect::InvalidToken(JWE),
            ),
            row("JWE-shaped garbage", "a.b.c.d.e", Expect::InvalidToken(JWE)),
            row(
                "a JWE header (enc) on a signed three-part token",
                header(json!({"alg": "RS256", "kid": "rs256", "enc": "A256GCM"})),
                Expect::InvalidToken(JWE),
            ),
            row(
                "cty JWT: a nested JWT, whose payload is no claims set",
                header(json!({"alg": "RS256", "kid": "rs256", "cty": "JWT"})),
                Expect::InvalidToken(NESTED),
            ),
            row(
                "cty jwt, another case of the same media type",
                header(json!({"alg": "RS256", "kid": "rs256", "cty": "jwt"})),
                Expect::InvalidToken(NESTED),
            ),
            row(
                "cty application/jwt, the media type written in full",
                header(json!({"alg": "RS256", "kid": "rs256", "cty": "application/JWT"})),
                Expect::InvalidToken(NESTED),
            ),
            row(
                "six segments",
                format!("{}.x.y.z", good()),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "four segments",
                format!("{}.x", good()),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "two segments",
                good().rsplit_once('.').unwrap().0,
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row("only dots", "..", Expect::InvalidToken(NOT_A_JWT)),
            row("one segment", "abc", Expect::InvalidToken(NOT_A_JWT)),
        ],
    );
}

#[test]
fn broken_encodings_and_whitespace() {
    let s = serve(Some(builder().build().unwrap()), routes);
    let t = good();
    let mut parts = t.split('.');
    let (h, p, sig) = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
    );
    let key = signing_key(Algorithm::RS256);
    // Standard base64 ('+', '/') and padding in an otherwise correctly signed token.
    let std_payload = {
        use base64::engine::general_purpose::STANDARD;
        // A run of '?' (0x3f) encodes to "Pz8/" in standard base64 at any alignment.
        let text = payload(json!({"x": "????????????"}));
        let encoded = STANDARD.encode(&text);
        assert!(encoded.contains(['+', '/']), "{encoded}");
        encoded.trim_end_matches('=').to_owned()
    };
    let padded_payload = format!("{}=", b64(claims("read:reports").to_string() + " "));
    run(
        s.addr,
        &[
            row(
                "header is not base64url (~)",
                format!("~{h}.{p}.{sig}"),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "header is base64url of non-JSON",
                format!("{}.{p}.{sig}", b64("not json")),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "header is a JSON array",
                format!("{}.{p}.{sig}", b64("[]")),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "header is invalid UTF-8",
                format!("{}.{p}.{sig}", b64(b"{\"alg\":\"RS256\xff\"}")),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload in standard base64 (+ or /), correctly signed",
                sign_segments(Algorithm::RS256, &key, &h, &std_payload),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload with a padding '=' inside the token",
                sign_segments(Algorithm::RS256, &key, &h, &padded_payload),
                Expect::InvalidRequest(OUTSIDE_B64TOKEN),
            ),
            row(
                "padding '=' inside the header segment",
                format!("{h}==.{p}.{sig}"),
                Expect::InvalidRequest(OUTSIDE_B64TOKEN),
            ),
            row(
                "padding '=' after the signature",
                format!("{t}=="),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "signature with a '+'",
                format!("{h}.{p}.+{sig}"),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "signature one byte short",
                format!(
                    "{h}.{p}.{}",
                    b64(&URL_SAFE_NO_PAD.decode(&sig).unwrap()[1..])
                ),
                Expect::InvalidToken(BAD_SIGNATURE),
            ),
            row(
                // 256 bytes end in a 2-character group whose last 4 bits must be zero.
                "signature with non-canonical trailing bits",
                format!("{h}.{p}.{}B", &sig[..sig.len() - 1]),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "signature empty",
                format!("{h}.{p}."),
                Expect::InvalidToken(BAD_SIGNATURE),
            ),
            row(
                "payload empty",
                format!("{h}..{sig}"),
                Expect::InvalidToken(BAD_SIGNATURE),
            ),
            row(
                "space inside a segment",
                format!("{h}.{} {}.{sig}", &p[..10], &p[10..]),
                Expect::InvalidRequest(ONE_TOKEN),
            ),
            raw_row(
                "tab inside a segment",
                format!("Bearer {h}.{}\t{}.{sig}", &p[..10], &p[10..]).into_bytes(),
                Expect::InvalidRequest(ONE_TOKEN),
            ),
            raw_row(
                "NBSP (0xA0) inside a segment",
                [
                    format!("Bearer {h}.").as_bytes(),
                    b"\xa0",
                    format!("{p}.{sig}").as_bytes(),
                ]
                .concat(),
                Expect::InvalidRequest(OUTSIDE_B64TOKEN),
            ),
            raw_row(
                "vertical tab inside a segment",
                format!("Bearer {h}.\x0b{p}.{sig}").into_bytes(),
                Expect::HttpParser,
            ),
            raw_row(
                "NUL inside a segment",
                format!("Bearer {h}.\0{p}.{sig}").into_bytes(),
                Expect::HttpParser,
            ),
            row("control: the same token", &t, Expect::Ok),
        ],
    );
}

#[test]
fn duplicate_members_are_refused() {
    let s = serve(Some(builder().build().unwrap()), routes);
    let body = claims("read:reports").to_string();
    let with_header = |h: &str| signed(Algorithm::RS256, h, &body);
    let with_payload = |p: &str| signed(Algorithm::RS256, &rs256_header(), p);
    run(
        s.addr,
        &[
            row(
                "header: alg twice (none last)",
                with_header(r#"{"alg":"RS256","kid":"rs256","alg":"none"}"#),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "header: alg twice (RS256 last)",
                with_header(r#"{"alg":"none","kid":"rs256","alg":"RS256"}"#),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "header: kid twice",
                with_header(r#"{"alg":"RS256","kid":"x","kid":"rs256"}"#),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "header: an unknown member twice",
                with_header(r#"{"alg":"RS256","kid":"rs256","x":1,"x":2}"#),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: scope twice (the last one grants)",
                with_payload(&payload_with_member(r#""scope":"none""#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: exp twice",
                with_payload(&payload_with_member(r#""exp":1"#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: aud twice",
                with_payload(&payload_with_member(r#""aud":"another-api""#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: a nested member twice",
                with_payload(&payload_with_member(
                    r#""realm_access":{"roles":[],"roles":["admin"]}"#,
                )),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            // The standard claims are read in the same pass that checks names; these values
            // are not otherwise looked at (`scp` when `scope` is present, `azp` when
            // `client_id` is), so only the duplicate check can refuse them.
            row(
                "payload: a member twice inside scp (scope present)",
                with_payload(&payload_with_member(r#""scp":{"x":1,"x":2}"#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: a member twice inside azp (client_id present)",
                with_payload(&payload_with_member(r#""azp":[{"x":1,"x":2}]"#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            // The members read only to refuse what is not a bearer access token, and the
            // step-up members: a duplicate inside them is as malformed (an attack pass found
            // these accepted, 200).
            row(
                "payload: a member twice inside token_use",
                with_payload(&payload_with_member(r#""token_use":{"a":1,"a":2}"#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: a member twice inside token_type",
                with_payload(&payload_with_member(r#""token_type":{"a":1,"a":2}"#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: a member twice inside typ",
                with_payload(&payload_with_member(r#""typ":{"a":1,"a":2}"#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: a member twice inside cnf",
                with_payload(&payload_with_member(
                    r#""cnf":{"x5t#S256":"a","x5t#S256":"b"}"#,
                )),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: a member twice inside an object in cnf",
                with_payload(&payload_with_member(r#""cnf":[{"jkt":"x","jkt":"y"}]"#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: a member twice inside acr",
                with_payload(&payload_with_member(r#""acr":{"a":1,"a":2}"#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: a member twice inside auth_time",
                with_payload(&payload_with_member(r#""auth_time":[{"a":1,"a":2}]"#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: scope twice, once spelled with an escape",
                with_payload(&payload_with_member(r#""sc\u006fpe":"none""#)),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "header: a JSON array in the member order (alg, kid), correctly signed",
                with_header(r#"["RS256","rs256"]"#),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "header: alg twice, once spelled with an escape",
                with_header(r#"{"alg":"RS256","kid":"rs256","\u0061lg":"none"}"#),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "header: a member twice inside crit",
                with_header(r#"{"alg":"RS256","kid":"rs256","crit":[{"x":1,"x":2}]}"#),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "payload: the claims as a JSON array (positional fields)",
                with_payload(&format!(
                    r#"[{},{},{},"{ISSUER}","{AUDIENCE}","user-1"]"#,
                    now() + 300,
                    now() - 10,
                    now() - 10
                )),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "control: a member repeated in different objects",
                with_payload(&payload_with_member(r#""a":{"x":1},"b":{"x":1}"#)),
                Expect::Ok,
            ),
        ],
    );
}

#[test]
fn hostile_time_claims() {
    let s = serve(Some(builder().build().unwrap()), routes);
    let rs = |p: String| signed(Algorithm::RS256, &rs256_header(), &p);
    let soon = now() + 300;
    run(
        s.addr,
        &[
            row(
                "exp as a string",
                rs(payload(json!({"exp": soon.to_string()}))),
                Expect::InvalidToken(NO_EXP),
            ),
            row(
                "exp as a float (RFC 7519 NumericDate allows it)",
                rs(payload(json!({"exp": soon as f64 + 0.5}))),
                Expect::Ok,
            ),
            row(
                "exp negative",
                rs(payload(json!({"exp": -1}))),
                Expect::InvalidToken(NO_EXP),
            ),
            row(
                "exp zero",
                rs(payload(json!({"exp": 0}))),
                Expect::InvalidToken(EXPIRED),
            ),
            // The issuer signed it; a far-future expiry is its decision, and nothing overflows.
            row(
                "exp u64::MAX",
                rs(payload(json!({"exp": u64::MAX}))),
                Expect::Ok,
            ),
            row(
                "exp 2^64 (one past u64::MAX)",
                rs(payload_with_raw("exp", "18446744073709551616")),
                Expect::InvalidToken(NO_EXP),
            ),
            row(
                "exp 1e308",
                rs(payload_with_raw("exp", "1e308")),
                Expect::InvalidToken(NO_EXP),
            ),
            row(
                "exp -1e308",
                rs(payload_with_raw("exp", "-1e308")),
                Expect::InvalidToken(NO_EXP),
            ),
            row(
                "exp 1e999 (not a finite double)",
                rs(payload_with_raw("exp", "1e999")),
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "exp null",
                rs(payload_with_raw("exp", "null")),
                Expect::InvalidToken(NO_EXP),
            ),
            row(
                "exp as an array",
                rs(payload(json!({"exp": [soon]}))),
                Expect::InvalidToken(NO_EXP),
            ),
            row(
                "nbf u64::MAX",
                rs(payload(json!({"nbf": u64::MAX}))),
                Expect::InvalidToken(NOT_YET_VALID),
            ),
            row(
                "nbf as a string",
                rs(payload(json!({"nbf": "0"}))),
                Expect::InvalidToken(TIME_CLAIM),
            ),
            row(
                "iat u64::MAX",
                rs(payload(json!({"iat": u64::MAX}))),
                Expect::InvalidToken(ISSUED_IN_FUTURE),
            ),
            row(
                "iat negative",
                rs(payload(json!({"iat": -5}))),
                Expect::InvalidToken("the iat claim must be a non-negative number"),
            ),
            // Read as exp and nbf are: refused, never saturated to u64::MAX.
            row(
                "iat 1e308",
                rs(payload_with_raw("iat", "1e308")),
                Expect::InvalidToken("the iat claim must be a non-negative number"),
            ),
            // Refused as a null nbf is, never taken for an absent claim.
            row(
                "iat null",
                rs(payload_with_raw("iat", "null")),
                Expect::InvalidToken("the iat claim must be a non-negative number"),
            ),
            row(
                "iat as a string",
                rs(payload(json!({"iat": "yesterday"}))),
                Expect::InvalidToken("the iat claim must be a non-negative number"),
            ),
        ],
    );
}

#[test]
fn hostile_aud_and_scope_shapes() {
    let s = serve(Some(builder().build().unwrap()), routes);
    let rs = |p: String| signed(Algorithm::RS256, &rs256_header(), &p);
    let many: Vec<String> = (0..10_000).map(|i| format!("s{i}")).collect();
    let mut many_scopes = many.clone();
    many_scopes.push("read:reports".into());
    let mut many_auds = many.clone();
    many_auds.push(AUDIENCE.into());
    let big_scope = rs(payload(json!({"scope": many_scopes})));
    let big_aud = rs(payload(json!({"aud": many_auds})));
    let big_foreign_aud = rs(payload(json!({"aud": many})));
    let big_scope_string = rs(payload(json!({"scope": many_scopes.join(" ")})));
    run(
        s.addr,
        &[
            row(
                "aud as a number",
                rs(payload(json!({"aud": 7}))),
                Expect::InvalidToken(NO_AUD),
            ),
            row(
                "aud as an object",
                rs(payload(json!({"aud": {"reports-api": true}}))),
                Expect::InvalidToken(NO_AUD),
            ),
            row(
                "aud array holding a number",
                rs(payload(json!({"aud": [AUDIENCE, 7]}))),
                Expect::InvalidToken(NO_AUD),
            ),
            row(
                "aud empty array",
                rs(payload(json!({"aud": []}))),
                Expect::InvalidToken(WRONG_AUDIENCE),
            ),
            row(
                "scope as a number",
                rs(payload(json!({"scope": 42}))),
                Expect::InvalidToken(SCOPE_TYPE),
            ),
            row(
                "scope as an object",
                rs(payload(json!({"scope": {"read:reports": true}}))),
                Expect::InvalidToken(SCOPE_TYPE),
            ),
            row(
                "scope as a bool",
                rs(payload(json!({"scope": true}))),
                Expect::InvalidToken(SCOPE_TYPE),
            ),
            row(
                "scope array holding an object",
                rs(payload(json!({"scope": ["read:reports", {}]}))),
                Expect::InvalidToken(SCOPE_TYPE),
            ),
            row(
                "sub as an array",
                rs(payload(json!({"sub": ["a"]}))),
                Expect::InvalidToken("the sub claim must be a string"),
            ),
            row(
                "10,000 scopes (array) over the size limit",
                &big_scope,
                Expect::InvalidToken(TOO_LARGE),
            ),
            row(
                "10,000 scopes (string) over the size limit",
                &big_scope_string,
                Expect::InvalidToken(TOO_LARGE),
            ),
            row(
                "10,000 audiences over the size limit",
                &big_aud,
                Expect::InvalidToken(TOO_LARGE),
            ),
        ],
    );

    // With the limit raised far enough, the same tokens are just big: accepted when they say
    // the right things, refused when they do not, and nothing falls over.
    let raised = serve(
        Some(builder().max_token_bytes(512 * 1024).build().unwrap()),
        routes,
    );
    run(
        raised.addr,
        &[
            row(
                "10,000 scopes (array), raised limit",
                &big_scope,
                Expect::Ok,
            ),
            row(
                "10,000 scopes (string), raised limit",
                &big_scope_string,
                Expect::Ok,
            ),
            row(
                "10,000 audiences with ours last, raised limit",
                &big_aud,
                Expect::Ok,
            ),
            row(
                "10,000 foreign audiences, raised limit",
                &big_foreign_aud,
                Expect::InvalidToken(WRONG_AUDIENCE),
            ),
        ],
    );
}

#[test]
fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
    let rs = |p: String| signed(Algorithm::RS256, &rs256_header(), &p);
    let deep_arrays = rs(payload_with_raw("x", &nested_arrays(10_000)));
    let deep_objects = rs(payload_with_raw(
        "x",
        &format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000)),
    ));
    let deep_scope = rs(payload_with_raw("scope", &nested_arrays(10_000)));
    // Within the default size limit, in the header (parsed before any signature check).
    let deep_header = signed(
        Algorithm::RS256,
        &format!(
            r#"{{"alg":"RS256","kid":"rs256","x":{}}}"#,
            nested_arrays(5_000)
        ),
        &claims("read:reports").to_string(),
    );
    assert!(deep_header.len() < 16 * 1024);
    // 100 levels: within serde_json's limit of 128, so an ordinary (odd) claim.
    let moderate = rs(payload_with_raw("x", &nested_arrays(100)));

    let s = serve(Some(builder().build().unwrap()), routes);
    run(
        s.addr,
        &[
            row(
                "10,000 nested arrays over the size limit",
                &deep_arrays,
                Expect::InvalidToken(TOO_LARGE),
            ),
            row(
                "5,000 nested arrays in the header",
                &deep_header,
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row("100 nested arrays", &moderate, Expect::Ok),
        ],
    );
    let raised = serve(
        Some(builder().max_token_bytes(512 * 1024).build().unwrap()),
        routes,
    );
    run(
        raised.addr,
        &[
            row(
                "10,000 nested arrays, raised limit",
                &deep_arrays,
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "10,000 nested objects, raised limit",
                &deep_objects,
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row(
                "10,000 nested arrays as scope, raised limit",
                &deep_scope,
                Expect::InvalidToken(NOT_A_JWT),
            ),
            row("control", good(), Expect::Ok),
        ],
    );
}

#[test]
fn hostile_bytes_in_the_authorization_header() {
    let s = serve(Some(builder().build().unwrap()), routes);
    let t = good();
    let bytes = |parts: &[&[u8]]| parts.concat();
    run(
        s.addr,
        &[
            raw_row(
                "invalid UTF-8 token",
                b"Bearer \xff\xfe\xfd".to_vec(),
                Expect::InvalidRequest(OUTSIDE_B64TOKEN),
            ),
            raw_row(
                "invalid UTF-8 inside a real token",
                bytes(&[
                    b"Bearer ",
                    &t.as_bytes()[..20],
                    b"\xc3\x28",
                    &t.as_bytes()[20..],
                ]),
                Expect::InvalidRequest(OUTSIDE_B64TOKEN),
            ),
            raw_row(
                "UTF-8 e-acute in the token",
                "Bearer tok\u{e9}n".as_bytes().to_vec(),
                Expect::InvalidRequest(OUTSIDE_B64TOKEN),
            ),
            raw_row(
                "Latin-1 e-acute in the token",
                b"Bearer tok\xe9n".to_vec(),
                Expect::InvalidRequest(OUTSIDE_B64TOKEN),
            ),
            raw_row(
                "fullwidth letters in the token",
                "Bearer \u{ff41}\u{ff42}\u{ff43}".as_bytes().to_vec(),
                Expect::InvalidRequest(OUTSIDE_B64TOKEN),
            ),
            raw_row(
                "overlong UTF-8 dot",
                b"Bearer a\xc0\xaeb".to_vec(),
                Expect::InvalidRequest(OUTSIDE_B64TOKEN),
            ),
            // Not the Bearer scheme: not ours to judge, so no credentials.
            raw_row(
                "non-ASCII in the scheme",
                "B\u{e9}arer abc".as_bytes().to_vec(),
                Expect::Bare,
            ),
            raw_row(
                "invalid UTF-8 before the scheme",
                b"\xffBearer abc".to_vec(),
                Expect::Bare,
            ),
            raw_row(
                "NBSP between scheme and token",
                bytes(&[b"Bearer\xc2\xa0", t.as_bytes()]),
                Expect::Bare,
            ),
            raw_row(
                "ideographic space between scheme and token",
                bytes(&["Bearer\u{3000}".as_bytes(), t.as_bytes()]),
                Expect::Bare,
            ),
            raw_row(
                "Cyrillic lookalike scheme",
                bytes(&["B\u{435}arer ".as_bytes(), t.as_bytes()]),
                Expect::Bare,
            ),
            raw_row("only invalid UTF-8", b"\xff\xfe".to_vec(), Expect::Bare),
            raw_row(
                "DEL in the token",
                b"Bearer abc\x7fdef".to_vec(),
                Expect::HttpParser,
            ),
            raw_row(
                "ESC in the token",
                b"Bearer abc\x1bdef".to_vec(),
                Expect::HttpParser,
            ),
            raw_row(
                "token over the size limit",
                format!("Bearer {}", "A".repeat(16 * 1024 + 1)).into_bytes(),
                Expect::InvalidToken(TOO_LARGE),
            ),
            raw_row(
                "control: lower-case scheme, two spaces",
                format!("bearer  {t}").into_bytes(),
                Expect::Ok,
            ),
        ],
    );
}
