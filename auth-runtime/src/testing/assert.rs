//! Assertions on a response, in the words of the wire contract (docs/CONFORMANCE.md): status,
//! the parsed `WWW-Authenticate` challenge, `Cache-Control` and the problem+json body.

use std::fmt::Write as _;

use serde_json::Value;

/// Status, headers and body of a response, from any client (reqwest, awc, a raw socket).
/// With the `actix` feature, actix-web's `ServiceResponse` and `HttpResponse` are taken as
/// they are.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::testing::{assert_unauthorized, RawResponse};
///
/// let resp = RawResponse::new(
///     401,
///     [("WWW-Authenticate", r#"Bearer realm="api""#), ("Cache-Control", "no-store"),
///      ("Content-Type", "application/problem+json")],
///     r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"no credentials"}"#,
/// );
/// assert_unauthorized(resp);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    /// `None`: a streaming body that could not be read without waiting.
    body: Option<Vec<u8>>,
    /// The body is the application's own ([`CustomBody`]): neither it nor its
    /// `Content-Type` is checked.
    custom_body: bool,
}

impl RawResponse {
    /// A response from its parts; header names are compared case-insensitively.
    pub fn new<N, V>(
        status: u16,
        headers: impl IntoIterator<Item = (N, V)>,
        body: impl Into<Vec<u8>>,
    ) -> Self
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        RawResponse {
            status,
            headers: headers
                .into_iter()
                .map(|(n, v)| (n.as_ref().to_owned(), v.as_ref().to_owned()))
                .collect(),
            body: Some(body.into()),
            custom_body: false,
        }
    }

    #[cfg(feature = "actix")]
    pub(crate) fn unread_body(status: u16, headers: Vec<(String, String)>) -> Self {
        RawResponse {
            status,
            headers,
            body: None,
            custom_body: false,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body (empty when it was a stream that could not be read without waiting).
    pub fn body(&self) -> &[u8] {
        self.body.as_deref().unwrap_or_default()
    }
}

/// A response the assertions can read: a [`RawResponse`] or (feature `actix`) an actix-web
/// `ServiceResponse` / `HttpResponse`, taken by value because the body is read.
#[diagnostic::on_unimplemented(
    message = "the auth assertions take the response by value (they read its body), or a RawResponse",
    label = "pass `resp`, not `&resp`"
)]
pub trait AuthResponse {
    /// Status, headers and body.
    fn into_raw(self) -> RawResponse;
}

impl AuthResponse for RawResponse {
    fn into_raw(self) -> RawResponse {
        self
    }
}

impl AuthResponse for &RawResponse {
    fn into_raw(self) -> RawResponse {
        self.clone()
    }
}

/// A rejection whose body the application renders itself
/// ([`AuthConfigBuilder::error_body`](crate::AuthConfigBuilder::error_body)): the assertions
/// check the status, `WWW-Authenticate`, `Cache-Control: no-store` and `Retry-After` as
/// always, and leave the body and its `Content-Type` to the application's own checks.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::testing::{assert_insufficient_scope, CustomBody, RawResponse};
///
/// let resp = RawResponse::new(
///     403,
///     [("WWW-Authenticate",
///       r#"Bearer realm="api", error="insufficient_scope", error_description="the token lacks a required scope", scope="write:reports""#),
///      ("Cache-Control", "no-store"),
///      ("Content-Type", "application/vnd.acme.error+json")],
///     r#"{"error":{"code":"insufficient_scope"}}"#,
/// );
/// assert_insufficient_scope(CustomBody(resp), "write:reports");
/// ```
#[derive(Debug, Clone)]
pub struct CustomBody<R>(pub R);

impl<R: AuthResponse> AuthResponse for CustomBody<R> {
    fn into_raw(self) -> RawResponse {
        RawResponse {
            custom_body: true,
            ..self.0.into_raw()
        }
    }
}

/// One parsed `WWW-Authenticate` challenge (RFC 9110 §11.6.1): the scheme and its
/// auth-params, quoted-strings unescaped, in order.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::testing::BearerChallenge;
///
/// let c = BearerChallenge::parse(r#"Bearer realm="api", error="insufficient_scope", scope="a b""#).unwrap();
/// assert_eq!(c.scheme(), "Bearer");
/// assert_eq!(c.param("error"), Some("insufficient_scope"));
/// assert_eq!(c.scopes(), ["a", "b"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    scheme: String,
    params: Vec<(String, String)>,
    /// The parameters written as a token rather than a quoted-string.
    unquoted: Vec<String>,
}

impl BearerChallenge {
    /// Parses one challenge: `scheme 1*SP name=value *( OWS "," OWS name=value )`, each value a
    /// token or a quoted-string. The error says where parsing stopped.
    pub fn parse(value: &str) -> Result<Self, String> {
        let s = value.trim_matches(|c| c == ' ' || c == '\t');
        let bytes = s.as_bytes();
        let mut i = 0;
        let token = |i: &mut usize| {
            let start = *i;
            while *i < bytes.len() && is_tchar(bytes[*i]) {
                *i += 1;
            }
            &s[start..*i]
        };
        let scheme = token(&mut i).to_owned();
        if scheme.is_empty() {
            return Err(format!("no auth-scheme at the start of {value:?}"));
        }
        let mut params = Vec::new();
        let mut unquoted = Vec::new();
        if i == bytes.len() {
            return Ok(BearerChallenge {
                scheme,
                params,
                unquoted,
            });
        }
        if bytes[i] != b' ' {
            return Err(format!(
                "expected a space after the scheme at byte {i} of {value:?}"
            ));
        }
        let skip_ws = |i: &mut usize| {
            while *i < bytes.len() && (bytes[*i] == b' ' || bytes[*i] == b'\t') {
                *i += 1;
            }
        };
        loop {
            skip_ws(&mut i);
            let name = token(&mut i).to_owned();
            if name.is_empty() {
                return Err(format!(
                    "expected an auth-param name at byte {i} of {value:?}"
                ));
            }
            skip_ws(&mut i);
            if bytes.get(i) != Some(&b'=') {
                return Err(format!(
                    "expected `=` after `{name}` at byte {i} of {value:?}"
                ));
            }
            i += 1;
            skip_ws(&mut i);
            let quoted = bytes.get(i) == Some(&b'"');
            if !quoted {
                unquoted.push(name.clone());
            }
            let v = if quoted {
                i += 1;
                let mut out = String::new();
                loop {
                    match bytes.get(i) {
                        None => return Err(format!("unterminated quoted-string in {value:?}")),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') if i + 1 < bytes.len() => {
                            out.push(bytes[i + 1] as char);
                            i += 2;
                        }
                        Some(&b) if b == b'\t' || (0x20..0x7f).contains(&b) => {
                            out.push(b as char);
                            i += 1;
                        }
                        Some(b) => {
                            return Err(format!(
                                "byte 0x{b:02x} at {i} is not allowed in a quoted-string: {value:?}"
                            ))
                        }
                    }
                }
                out
            } else {
                let t = token(&mut i).to_owned();
                if t.is_empty() {
                    return Err(format!(
                        "expected a value for `{name}` at byte {i} of {value:?}"
                    ));
                }
                t
            };
            params.push((name, v));
            skip_ws(&mut i);
            if i == bytes.len() {
                return Ok(BearerChallenge {
                    scheme,
                    params,
                    unquoted,
                });
            }
            if bytes[i] != b',' {
                return Err(format!("expected `,` at byte {i} of {value:?}"));
            }
            i += 1;
        }
    }

    /// The auth-scheme as sent (`Bearer`).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The value of parameter `name` (case-insensitive), unescaped.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The `scope` parameter split on spaces (empty when absent).
    pub fn scopes(&self) -> Vec<&str> {
        self.param("scope")
            .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Asserts the contract's answer to a request without credentials: 401, `WWW-Authenticate:
/// Bearer realm="…"` with no `error`, `Cache-Control: no-store`, a problem+json body without
/// `error`. Returns the parsed challenge.
///
/// # Panics
/// With the expected and actual value of every item that differs, or one line when the
/// response is not an authentication rejection at all.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// # #[cfg(feature = "actix")] {
/// use actix_web::{test, web, App, HttpResponse};
/// use endpoint_auth::testing::{assert_unauthorized, TestIssuer};
/// use endpoint_auth::Principal;
///
/// # actix_web::rt::System::new().block_on(async {
/// let issuer = TestIssuer::new(&[]);
/// let app = test::init_service(App::new().wrap(issuer.auth_config())
///     .route("/me", web::get().to(|_: Principal| async { HttpResponse::Ok().finish() }))).await;
/// let resp = test::call_service(&app, test::TestRequest::get().uri("/me").to_request()).await;
/// let challenge = assert_unauthorized(resp);
/// assert_eq!(challenge.param("realm"), Some("test-api"));
/// # });
/// # }
/// ```
#[track_caller]
pub fn assert_unauthorized(resp: impl AuthResponse) -> BearerChallenge {
    check(
        "assert_unauthorized",
        resp.into_raw(),
        &Expect::Challenge {
            status: 401,
            error: None,
            scopes: None,
        },
    )
    .expect("a challenge was checked")
}

/// Asserts the contract's answer to malformed credentials: 400, `error="invalid_request"`
/// with an `error_description`, `Cache-Control: no-store`, the problem body repeating both.
///
/// # Panics
/// As [`assert_unauthorized`].
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// # #[cfg(feature = "actix")] {
/// use actix_web::{test, web, App, HttpResponse};
/// use endpoint_auth::testing::{assert_invalid_request, TestIssuer};
/// use endpoint_auth::Principal;
///
/// # actix_web::rt::System::new().block_on(async {
/// let issuer = TestIssuer::new(&[]);
/// let app = test::init_service(App::new().wrap(issuer.auth_config())
///     .route("/me", web::get().to(|_: Principal| async { HttpResponse::Ok().finish() }))).await;
/// let req = test::TestRequest::get().uri("/me").insert_header(("Authorization", "Bearer")).to_request();
/// assert_invalid_request(test::call_service(&app, req).await);
/// # });
/// # }
/// ```
#[track_caller]
pub fn assert_invalid_request(resp: impl AuthResponse) -> BearerChallenge {
    check(
        "assert_invalid_request",
        resp.into_raw(),
        &Expect::Challenge {
            status: 400,
            error: Some("invalid_request"),
            scopes: None,
        },
    )
    .expect("a challenge was checked")
}

/// Asserts the contract's answer to a bad, expired, forged or foreign token: 401,
/// `error="invalid_token"` with an `error_description`, `Cache-Control: no-store`, the
/// problem body repeating both.
///
/// # Panics
/// As [`assert_unauthorized`].
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// # #[cfg(feature = "actix")] {
/// use actix_web::{test, web, App, HttpResponse};
/// use endpoint_auth::testing::{assert_invalid_token, TestIssuer, TestRequestExt};
/// use endpoint_auth::Principal;
///
/// # actix_web::rt::System::new().block_on(async {
/// let issuer = TestIssuer::new(&[]);
/// let app = test::init_service(App::new().wrap(issuer.auth_config())
///     .route("/me", web::get().to(|_: Principal| async { HttpResponse::Ok().finish() }))).await;
/// let expired = issuer.token().expired().sign();
/// let req = test::TestRequest::get().uri("/me").bearer(&expired).to_request();
/// assert_invalid_token(test::call_service(&app, req).await);
/// # });
/// # }
/// ```
#[track_caller]
pub fn assert_invalid_token(resp: impl AuthResponse) -> BearerChallenge {
    check(
        "assert_invalid_token",
        resp.into_raw(),
        &Expect::Challenge {
            status: 401,
            error: Some("invalid_token"),
            scopes: None,
        },
    )
    .expect("a challenge was checked")
}

/// Asserts the contract's answer to a valid token without the scopes an endpoint requires:
/// 403, `error="insufficient_scope"`, a `scope` hint of exactly the scopes in `scope`
/// (space-separated, in any order: the one alternative the hint names), `Cache-Control:
/// no-store`, the problem body repeating `error`, `error_description` and `scope`. With
/// `scope` empty, the hint must be absent: a role, claim or check refusal, which no scope
/// would help.
///
/// # Panics
/// As [`assert_unauthorized`].
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// # #[cfg(feature = "actix")] {
/// use actix_web::{test, web, App, HttpResponse};
/// use endpoint_auth::testing::{assert_insufficient_scope, TestIssuer, TestRequestExt};
/// use endpoint_auth::{Authorized, Requirement, RequirementSpec, ScopeInfo};
///
/// const SCOPES: &[ScopeInfo] = &[ScopeInfo::new("read:reports", "Read"), ScopeInfo::new("write:reports", "Write")];
/// struct Write;
/// impl RequirementSpec for Write { const REQUIREMENT: Requirement = Requirement::Scope("write:reports"); }
///
/// # actix_web::rt::System::new().block_on(async {
/// let issuer = TestIssuer::new(SCOPES);
/// let app = test::init_service(App::new().wrap(issuer.auth_config())
///     .route("/reports", web::post().to(|_: Authorized<Write>| async { HttpResponse::Created().finish() }))).await;
/// let reader = issuer.token().scopes(["read:reports"]).sign();
/// let req = test::TestRequest::post().uri("/reports").bearer(&reader).to_request();
/// assert_insufficient_scope(test::call_service(&app, req).await, "write:reports");
/// # });
/// # }
/// ```
#[track_caller]
pub fn assert_insufficient_scope(resp: impl AuthResponse, scope: &str) -> BearerChallenge {
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    check(
        "assert_insufficient_scope",
        resp.into_raw(),
        &Expect::Challenge {
            status: 403,
            error: Some("insufficient_scope"),
            scopes: Some(&scopes),
        },
    )
    .expect("a challenge was checked")
}

/// Asserts RFC 9470's step-up answer: 401 with one Bearer challenge carrying
/// `error="insufficient_user_authentication"` and an `error_description`, `Cache-Control:
/// no-store` and a problem body; and that the challenge asks for exactly `acr_values`
/// (space-delimited, in order; `None`: absent) and `max_age` (`None`: absent). Returns the
/// parsed challenge.
///
/// # Panics
/// As [`assert_unauthorized`], and when `acr_values` or `max_age` differ.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::testing::{assert_insufficient_user_authentication, RawResponse};
///
/// let resp = RawResponse::new(
///     401,
///     [
///         ("WWW-Authenticate", r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="urn:example:mfa""#),
///         ("Cache-Control", "no-store"),
///         ("Content-Type", "application/problem+json"),
///     ],
///     r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"a different authentication level is required","error":"insufficient_user_authentication","error_description":"a different authentication level is required","acr_values":"urn:example:mfa"}"#,
/// );
/// assert_insufficient_user_authentication(resp, Some("urn:example:mfa"), None);
/// ```
#[track_caller]
pub fn assert_insufficient_user_authentication(
    resp: impl AuthResponse,
    acr_values: Option<&str>,
    max_age: Option<u64>,
) -> BearerChallenge {
    let challenge = check(
        "assert_insufficient_user_authentication",
        resp.into_raw(),
        &Expect::Challenge {
            status: 401,
            error: Some("insufficient_user_authentication"),
            scopes: None,
        },
    )
    .expect("a challenge was checked");
    let max_age = max_age.map(|m| m.to_string());
    assert!(
        challenge.param("acr_values") == acr_values
            && challenge.param("max_age") == max_age.as_deref(),
        "assert_insufficient_user_authentication: expected acr_values {acr_values:?} and \
         max_age {max_age:?}; the challenge has acr_values {:?} and max_age {:?}",
        challenge.param("acr_values"),
        challenge.param("max_age"),
    );
    challenge
}

/// Asserts the contract's answer while no usable keys are at hand: 503 with `Retry-After`,
/// no `WWW-Authenticate` (the client's token may be fine), `Cache-Control: no-store`, a
/// problem body. Returns the `Retry-After` seconds.
///
/// # Panics
/// As [`assert_unauthorized`].
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::testing::{assert_unavailable, RawResponse};
///
/// let resp = RawResponse::new(
///     503,
///     [("Retry-After", "5"), ("Cache-Control", "no-store"), ("Content-Type", "application/problem+json")],
///     r#"{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"keys unavailable"}"#,
/// );
/// assert_eq!(assert_unavailable(resp), 5);
/// ```
#[track_caller]
pub fn assert_unavailable(resp: impl AuthResponse) -> u64 {
    let raw = resp.into_raw();
    let retry = raw
        .header("retry-after")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    check("assert_unavailable", raw, &Expect::Unavailable);
    retry
}

/// Asserts a check's `Decision::Hide`: 404, no `WWW-Authenticate` (nothing the client could
/// send would help), `Cache-Control: no-store`, a problem body (or the configured error
/// body). A handler's own empty 404 fails it: for hiding to hide, a missing resource must be
/// answered the same way, which this lets a test hold both to.
///
/// # Panics
/// As [`assert_unauthorized`].
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::testing::{assert_hidden, RawResponse};
///
/// let resp = RawResponse::new(
///     404,
///     [("Cache-Control", "no-store"), ("Content-Type", "application/problem+json")],
///     r#"{"type":"about:blank","title":"Not Found","status":404,"detail":"no such resource"}"#,
/// );
/// assert_hidden(resp);
/// ```
#[track_caller]
pub fn assert_hidden(resp: impl AuthResponse) {
    check("assert_hidden", resp.into_raw(), &Expect::Hidden);
}

enum Expect<'a> {
    Challenge {
        status: u16,
        error: Option<&'static str>,
        /// The `scope` hint: not checked (`None`), absent (`Some(&[])`), or exactly these
        /// scopes in any order.
        scopes: Option<&'a [&'a str]>,
    },
    Unavailable,
    Hidden,
}

impl Expect<'_> {
    fn status(&self) -> u16 {
        match self {
            Expect::Challenge { status, .. } => *status,
            Expect::Unavailable => 503,
            Expect::Hidden => 404,
        }
    }

    fn summary(&self) -> String {
        match self {
            Expect::Challenge {
                status,
                error: None,
                ..
            } => format!("a {status} bearer challenge without `error`"),
            Expect::Challenge {
                status,
                error: Some(e),
                scopes: Some(scopes),
            } if !scopes.is_empty() => {
                format!(
                    "a {status} bearer challenge with error=\"{e}\" and scope \"{}\"",
                    scopes.join(" ")
                )
            }
            Expect::Challenge {
                status,
                error: Some(e),
                scopes: Some(_),
            } => format!("a {status} bearer challenge with error=\"{e}\" and no scope hint"),
            Expect::Challenge {
                status,
                error: Some(e),
                ..
            } => format!("a {status} bearer challenge with error=\"{e}\""),
            Expect::Unavailable => "a 503 with Retry-After and no challenge".to_owned(),
            Expect::Hidden => "the 404 of a check that hides the resource".to_owned(),
        }
    }
}

/// One checked item: what the contract says and what the response has.
struct Item {
    what: &'static str,
    expected: String,
    actual: String,
}

#[track_caller]
fn check(name: &str, raw: RawResponse, expect: &Expect<'_>) -> Option<BearerChallenge> {
    let challenges: Vec<&str> = raw.header_values("www-authenticate").collect();
    let problem = raw
        .header("content-type")
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/problem+json"));
    // A response that carries no sign of an authentication rejection gets one line.
    let is_auth_status = matches!(raw.status, 400 | 401 | 403 | 503)
        || (raw.status == 404 && matches!(expect, Expect::Hidden));
    if challenges.is_empty() && !(is_auth_status && (problem || raw.custom_body)) {
        panic!(
            "{name}: expected {}, got {} with no WWW-Authenticate{} — not an authentication rejection",
            expect.summary(),
            status_line(raw.status),
            if problem { "" } else { " and no problem+json body" },
        );
    }

    let mut mismatches: Vec<Item> = Vec::new();
    let mut ok: Vec<String> = Vec::new();
    let mut item = |what: &'static str, expected: String, actual: String, good: bool| {
        if good {
            ok.push(format!("{what}: {actual}"));
        } else {
            mismatches.push(Item {
                what,
                expected,
                actual,
            });
        }
    };

    item(
        "status",
        expect.status().to_string(),
        status_line(raw.status),
        raw.status == expect.status(),
    );

    let mut parsed = None;
    match expect {
        // No challenge: nothing the client could send would help, or its token may be fine.
        Expect::Hidden | Expect::Unavailable => {
            let why = match expect {
                Expect::Hidden => "no credentials would help",
                _ => "the client's token may be fine",
            };
            item(
                "WWW-Authenticate",
                format!("(none: {why})"),
                if challenges.is_empty() {
                    "(none)".into()
                } else {
                    challenges.join(" | ")
                },
                challenges.is_empty(),
            );
            if matches!(expect, Expect::Unavailable) {
                let retry = raw.header("retry-after");
                item(
                    "Retry-After",
                    "delta-seconds".into(),
                    retry.unwrap_or("(none)").to_owned(),
                    retry.is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())),
                );
            }
        }
        Expect::Challenge { error, scopes, .. } => {
            let shown = challenges.join(" | ");
            if challenges.len() != 1 {
                item(
                    "WWW-Authenticate",
                    "exactly one Bearer challenge".into(),
                    format!("{} values: {shown}", challenges.len()),
                    false,
                );
            }
            match challenges.first().map(|c| BearerChallenge::parse(c)) {
                None => {}
                Some(Err(e)) => item(
                    "WWW-Authenticate",
                    "a well-formed challenge".into(),
                    e,
                    false,
                ),
                Some(Ok(c)) => {
                    challenge_items(&c, *error, *scopes, &shown, &mut item);
                    parsed = Some(c);
                }
            }
        }
    }

    let cache = raw.header("cache-control");
    item(
        "Cache-Control",
        "no-store".into(),
        cache.unwrap_or("(none)").to_owned(),
        cache.is_some_and(|v| {
            v.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
        }),
    );
    if raw.custom_body {
        item(
            "body",
            String::new(),
            "the application's own (CustomBody: not checked)".into(),
            true,
        );
    } else {
        item(
            "Content-Type",
            "application/problem+json".into(),
            raw.header("content-type").unwrap_or("(none)").to_owned(),
            problem,
        );
        body_items(&raw, expect, parsed.as_ref(), &mut item);
    }

    if mismatches.is_empty() {
        return parsed;
    }
    let mut msg = format!(
        "{name}: expected {}; the response differs:\n",
        expect.summary()
    );
    for m in &mismatches {
        let _ = writeln!(
            msg,
            "  {}:\n    - expected: {}\n    + actual:   {}",
            m.what, m.expected, m.actual
        );
    }
    for line in &ok {
        let _ = writeln!(msg, "  ok {line}");
    }
    panic!("{msg}");
}

fn challenge_items(
    c: &BearerChallenge,
    error: Option<&str>,
    scopes: Option<&[&str]>,
    shown: &str,
    item: &mut impl FnMut(&'static str, String, String, bool),
) {
    item(
        "auth-scheme",
        "Bearer".into(),
        c.scheme().to_owned(),
        c.scheme().eq_ignore_ascii_case("bearer"),
    );
    let names: Vec<&str> = c.params().iter().map(|(n, _)| n.as_str()).collect();
    item(
        "realm",
        "realm=\"…\" as the first parameter".into(),
        shown.to_owned(),
        names
            .first()
            .is_some_and(|n| n.eq_ignore_ascii_case("realm")),
    );
    let mut seen: Vec<String> = Vec::new();
    let duplicate = names.iter().find(|n| {
        let lower = n.to_ascii_lowercase();
        let dup = seen.contains(&lower);
        seen.push(lower);
        dup
    });
    item(
        "quoting",
        "every parameter a quoted-string".into(),
        if c.unquoted.is_empty() {
            shown.to_owned()
        } else {
            format!("{} written as a token in {shown}", c.unquoted.join(", "))
        },
        c.unquoted.is_empty(),
    );
    if let Some(description) = c.param("error_description") {
        // RFC 6750 §3: NQSCHAR only (%x20-21 / %x23-5B / %x5D-7E), so no quote, backslash
        // or control character, escaped or not.
        let nqschar = description
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        item(
            "error_description",
            "NQSCHAR only (RFC 6750 §3)".into(),
            format!("{description:?}"),
            nqschar,
        );
    }
    item(
        "parameters",
        "each at most once".into(),
        duplicate.map_or_else(
            || shown.to_owned(),
            |d| format!("`{d}` repeated in {shown}"),
        ),
        duplicate.is_none(),
    );
    const ORDER: [&str; 7] = [
        "realm",
        "error",
        "error_description",
        "scope",
        "acr_values",
        "max_age",
        "resource_metadata",
    ];
    let positions: Vec<usize> = names
        .iter()
        .filter_map(|n| ORDER.iter().position(|o| o.eq_ignore_ascii_case(n)))
        .collect();
    item(
        "parameter order",
        ORDER.join(", "),
        names.join(", "),
        positions.windows(2).all(|w| w[0] < w[1]),
    );
    let show = |v: Option<&str>| v.map_or_else(|| "(absent)".to_owned(), |v| format!("{v:?}"));
    item(
        "error",
        show(error),
        show(c.param("error")),
        c.param("error") == error,
    );
    let description = c.param("error_description");
    item(
        "error_description",
        if error.is_some() {
            "present".into()
        } else {
            "(absent)".into()
        },
        show(description),
        description.is_some_and(|d| !d.is_empty()) == error.is_some(),
    );
    match scopes {
        None => {}
        Some([]) => item(
            "scope hint",
            "(absent)".into(),
            show(c.param("scope")),
            c.param("scope").is_none(),
        ),
        Some(scopes) => {
            // Exactly one alternative's scopes (CONFORMANCE: the hint is the full scope set of
            // one alternative), in any order, each once.
            let mut hint = c.scopes();
            let mut want = scopes.to_vec();
            hint.sort_unstable();
            want.sort_unstable();
            item(
                "scope hint",
                format!("exactly {:?}", scopes.join(" ")),
                show(c.param("scope")),
                hint == want,
            );
        }
    }
}

fn body_items(
    raw: &RawResponse,
    expect: &Expect<'_>,
    challenge: Option<&BearerChallenge>,
    item: &mut impl FnMut(&'static str, String, String, bool),
) {
    let Some(body) = &raw.body else {
        item(
            "body",
            "a problem+json body".into(),
            "a streaming body the assertion cannot read".into(),
            false,
        );
        return;
    };
    let json: Value = match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => Value::Object(o),
        _ => {
            item(
                "body",
                "a problem+json object".into(),
                String::from_utf8_lossy(body).into_owned(),
                false,
            );
            return;
        }
    };
    item(
        "body.status",
        expect.status().to_string(),
        json["status"].to_string(),
        json["status"] == expect.status(),
    );
    // The body repeats the challenge's error, error_description and scope (or lacks them).
    for member in ["error", "error_description", "scope"] {
        let in_challenge = challenge.and_then(|c| c.param(member));
        let in_body = json.get(member).and_then(Value::as_str);
        let show = |v: Option<&str>| v.map_or_else(|| "(absent)".to_owned(), |v| format!("{v:?}"));
        let what = match member {
            "error" => "body.error",
            "error_description" => "body.error_description",
            _ => "body.scope",
        };
        item(
            what,
            format!("{} (as in the challenge)", show(in_challenge)),
            show(in_body),
            in_body == in_challenge && json.get(member).is_none_or(Value::is_string),
        );
    }
}

fn status_line(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    };
    format!("{status} {reason}").trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejection(status: u16, challenge: Option<&str>, body: &str) -> RawResponse {
        let mut headers = vec![
            ("cache-control", "no-store".to_owned()),
            ("content-type", "application/problem+json".to_owned()),
        ];
        if let Some(c) = challenge {
            headers.push(("www-authenticate", c.to_owned()));
        }
        RawResponse::new(status, headers, body)
    }

    const FORBIDDEN: &str = r#"Bearer realm="r", error="insufficient_scope", error_description="needs more", scope="a b""#;
    const FORBIDDEN_BODY: &str = r#"{"type":"about:blank","title":"Forbidden","status":403,"detail":"needs more","error":"insufficient_scope","error_description":"needs more","scope":"a b"}"#;

    #[test]
    fn parses_quoted_strings_with_escapes_and_token_values() {
        let c =
            BearerChallenge::parse(r#"Bearer realm="a \"b\" \\ c" ,error=invalid_token"#).unwrap();
        assert_eq!(c.param("realm"), Some(r#"a "b" \ c"#));
        assert_eq!(c.param("ERROR"), Some("invalid_token"));
        assert!(BearerChallenge::parse(r#"Bearer realm="open"#).is_err());
        assert!(BearerChallenge::parse("Bearer realm").is_err());
    }

    #[test]
    fn a_matching_rejection_passes() {
        let c = assert_insufficient_scope(rejection(403, Some(FORBIDDEN), FORBIDDEN_BODY), "a b");
        assert_eq!(c.scopes(), ["a", "b"]);
        assert_insufficient_scope(rejection(403, Some(FORBIDDEN), FORBIDDEN_BODY), "b a");
    }

    #[test]
    #[should_panic(
        expected = "scope hint:\n    - expected: exactly \"c\"\n    + actual:   \"a b\""
    )]
    fn a_scope_not_in_the_hint_is_listed_with_expected_and_actual() {
        assert_insufficient_scope(rejection(403, Some(FORBIDDEN), FORBIDDEN_BODY), "c");
    }

    /// The hint names one alternative in full: a hint wider than the expected scopes (two
    /// alternatives run together, or extra scopes) fails.
    #[test]
    #[should_panic(expected = "scope hint:")]
    fn a_hint_wider_than_the_alternative_fails() {
        assert_insufficient_scope(rejection(403, Some(FORBIDDEN), FORBIDDEN_BODY), "a");
    }

    /// RFC 6750 §3 writes every parameter as a quoted-string and `error_description` in
    /// NQSCHAR: an unquoted `error` or a description with a TAB or an escaped quote fails.
    #[test]
    fn unquoted_parameters_and_non_nqschar_descriptions_fail() {
        let body = |description: &str| {
            serde_json::json!({
                "type": "about:blank", "title": "Unauthorized", "status": 401,
                "detail": description, "error": "invalid_token",
                "error_description": description,
            })
            .to_string()
        };
        for (challenge, description, why) in [
            (
                r#"Bearer realm="r", error=invalid_token, error_description="bad""#,
                "bad",
                "error written as a token",
            ),
            (
                "Bearer realm=\"r\", error=\"invalid_token\", error_description=\"b\tad\"",
                "b\tad",
                "NQSCHAR only",
            ),
            (
                r#"Bearer realm="r", error="invalid_token", error_description="b\"ad""#,
                "b\"ad",
                "NQSCHAR only",
            ),
        ] {
            let failed = std::panic::catch_unwind(|| {
                assert_invalid_token(rejection(401, Some(challenge), &body(description)))
            });
            let message = failed.expect_err(challenge);
            let message = message
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            assert!(message.contains(why), "{challenge}: {message}");
        }
        let fine = r#"Bearer realm="r", error="invalid_token", error_description="bad""#;
        assert_invalid_token(rejection(401, Some(fine), &body("bad")));
    }

    /// An empty `scope`: a refusal no scope would help (role, claim, check) has no hint.
    #[test]
    fn an_empty_scope_asserts_there_is_no_hint() {
        let challenge =
            r#"Bearer realm="r", error="insufficient_scope", error_description="needs a role""#;
        let body = r#"{"type":"about:blank","title":"Forbidden","status":403,"detail":"needs a role","error":"insufficient_scope","error_description":"needs a role"}"#;
        assert_insufficient_scope(rejection(403, Some(challenge), body), "");
        let failed = std::panic::catch_unwind(|| {
            assert_insufficient_scope(rejection(403, Some(FORBIDDEN), FORBIDDEN_BODY), "")
        });
        assert!(failed.is_err(), "a hint where none belongs must fail");
    }

    #[test]
    #[should_panic(expected = "body.scope:")]
    fn a_body_that_does_not_repeat_the_challenge_fails() {
        let body = FORBIDDEN_BODY.replace(r#","scope":"a b""#, "");
        assert_insufficient_scope(rejection(403, Some(FORBIDDEN), &body), "a b");
    }

    #[test]
    #[should_panic(
        expected = "assert_unauthorized: expected a 401 bearer challenge without `error`, got 200 OK with no WWW-Authenticate and no problem+json body — not an authentication rejection"
    )]
    fn a_success_is_named_in_one_line() {
        assert_unauthorized(RawResponse::new(
            200,
            [("content-type", "text/plain")],
            "hi",
        ));
    }

    #[test]
    #[should_panic(expected = "Cache-Control:\n    - expected: no-store\n    + actual:   (none)")]
    fn a_cacheable_rejection_fails() {
        let raw = RawResponse::new(
            401,
            [
                ("www-authenticate", r#"Bearer realm="r""#),
                ("content-type", "application/problem+json"),
            ],
            r#"{"status":401}"#,
        );
        assert_unauthorized(raw);
    }

    #[test]
    #[should_panic(expected = "parameter order")]
    fn parameters_out_of_the_contract_order_fail() {
        let c = r#"Bearer realm="r", error_description="x", error="invalid_token""#;
        let body = r#"{"status":401,"error":"invalid_token","error_description":"x"}"#;
        assert_invalid_token(rejection(401, Some(c), body));
    }
}
