//! The one rejection type, and how it becomes a response.
//!
//! [`AuthError`] says what went wrong; [`AuthError::render`] turns it into a [`Rejection`]:
//! status, `WWW-Authenticate` challenge, `Cache-Control: no-store`, `Retry-After` where due,
//! and an RFC 9457 problem-details body that repeats `error`, `error_description` and `scope`.
//!
//! The body is the one part an application may choose: an [`ErrorBody`] from the renderer
//! given to [`AuthConfigBuilder::error_body`](crate::AuthConfigBuilder::error_body) replaces
//! the problem details; the status and the headers stay as rendered here. A renderer that
//! panics or returns an unusable body gets the default body instead.

use std::borrow::Cow;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::challenge::{nqschar, Challenge};
use crate::metrics;

/// The RFC 6750 §3.1 error code carried in the challenge (or the absence of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// No credentials were presented: 401 with a bare challenge (no `error`).
    MissingCredentials,
    /// `invalid_request`: malformed credentials: 400.
    InvalidRequest,
    /// `invalid_token`: the token is not acceptable: 401.
    InvalidToken,
    /// `insufficient_scope`: valid token, not enough scope: 403.
    InsufficientScope,
    /// `insufficient_user_authentication` (RFC 9470): valid token, but the user's
    /// authentication is not strong or recent enough: 401.
    InsufficientUserAuthentication,
    /// A `check` hid the resource from this caller: 404, no challenge (a challenge would say
    /// the resource exists).
    NotFound,
    /// The key source cannot be reached and no usable keys are cached, or the revocation
    /// check cannot answer: 503, no challenge.
    Unavailable,
    /// The service is not set up (no configuration registered): 500, no challenge.
    Misconfigured,
}

impl ErrorCode {
    /// The HTTP status code for this outcome.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::MissingCredentials
            | ErrorCode::InvalidToken
            | ErrorCode::InsufficientUserAuthentication => 401,
            ErrorCode::InvalidRequest => 400,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Unavailable => 503,
            ErrorCode::Misconfigured => 500,
        }
    }

    /// The `error` parameter value, if the challenge carries one.
    pub fn as_error_param(self) -> Option<&'static str> {
        match self {
            ErrorCode::InvalidRequest => Some("invalid_request"),
            ErrorCode::InvalidToken => Some("invalid_token"),
            ErrorCode::InsufficientScope => Some("insufficient_scope"),
            ErrorCode::InsufficientUserAuthentication => Some("insufficient_user_authentication"),
            _ => None,
        }
    }
}

/// A stable, machine-readable reason for a rejection: used in logs and metrics, never
/// containing token material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// No Authorization header, an empty one, or another scheme.
    Missing,
    /// The Authorization header does not follow RFC 6750 §2.1.
    MalformedHeader,
    /// More than one Authorization header.
    MultipleHeaders,
    /// The token was sent by more than one method (header, query, form body).
    MultipleMethods,
    /// A query or form token was malformed or repeated.
    MalformedParameter,
    /// Longer than the configured limit; not decoded.
    TokenTooLarge,
    /// Not a compact JWS (wrong number of segments, bad base64url, bad JSON…).
    Malformed,
    /// A JWE (five segments): encrypted tokens are not accepted.
    Encrypted,
    /// `alg` is not in the allowlist (including `none`).
    AlgorithmNotAllowed,
    /// No configured key has the token's `kid`.
    UnknownKeyId,
    /// The signature does not verify.
    BadSignature,
    /// `crit` names an extension this library does not understand.
    UnsupportedCritical,
    /// `typ` is not accepted by the typ policy.
    RejectedType,
    /// `exp` is in the past beyond the leeway.
    Expired,
    /// `nbf` (or `iat`) is in the future beyond the leeway.
    NotYetValid,
    /// `exp` is absent.
    MissingExpiry,
    /// `iss` is absent or not the configured issuer.
    WrongIssuer,
    /// With several trusted issuers: the token's `iss` names none of them (decided before
    /// any key is looked up or fetched).
    UntrustedIssuer,
    /// `aud` is absent or names none of the configured audiences.
    WrongAudience,
    /// A claim has the wrong type (e.g. `exp` as a string, `scope` as a number).
    InvalidClaims,
    /// The token verifies but is not a bearer access token: bound to a DPoP key (RFC 9449),
    /// or an ID or refresh token its provider marks as such (`token_use`, Keycloak's `typ`).
    NotABearerAccessToken,
    /// The token's scopes do not satisfy the endpoint's requirement.
    InsufficientScope,
    /// The token lacks a role, a claim value or the issuer the endpoint's requirement needs
    /// (no scope would help).
    InsufficientGrant,
    /// A `check` of the handler denied the request (403).
    CheckDenied,
    /// A `check` of the handler hid the resource (404).
    CheckHidden,
    /// The token's `acr` or `auth_time` do not satisfy the endpoint's requirement (RFC 9470).
    InsufficientUserAuthentication,
    /// Keys could not be fetched and none are cached.
    KeysUnavailable,
    /// The revocation check says the token was revoked.
    Revoked,
    /// A revocation check that looks tokens up by `jti`, and a token without one.
    MissingTokenId,
    /// The revocation check cannot answer (its store is down) and the configuration fails
    /// closed.
    RevocationUnavailable,
    /// Token introspection (RFC 7662) answered `active: false`: the token is revoked, expired
    /// or unknown to the authorization server.
    Inactive,
    /// The introspection endpoint cannot answer (down, 5xx, timeout, or it refused the
    /// service's own client credentials).
    IntrospectionUnavailable,
    /// No [`AuthConfig`](crate::AuthConfig) is registered on the application.
    NotConfigured,
}

impl Reason {
    /// The RFC 6750 outcome a rejection for this reason carries: every reason has exactly
    /// one, so an [`AuthError`] cannot pair a reason with the wrong status.
    pub fn error_code(self) -> ErrorCode {
        use Reason::*;
        match self {
            Missing => ErrorCode::MissingCredentials,
            MalformedHeader | MultipleHeaders | MultipleMethods | MalformedParameter => {
                ErrorCode::InvalidRequest
            }
            TokenTooLarge
            | Malformed
            | Encrypted
            | AlgorithmNotAllowed
            | UnknownKeyId
            | BadSignature
            | UnsupportedCritical
            | RejectedType
            | Expired
            | NotYetValid
            | MissingExpiry
            | WrongIssuer
            | UntrustedIssuer
            | WrongAudience
            | InvalidClaims
            | NotABearerAccessToken
            | Revoked
            | MissingTokenId
            | Inactive => ErrorCode::InvalidToken,
            InsufficientScope | InsufficientGrant | CheckDenied => ErrorCode::InsufficientScope,
            CheckHidden => ErrorCode::NotFound,
            InsufficientUserAuthentication => ErrorCode::InsufficientUserAuthentication,
            KeysUnavailable | RevocationUnavailable | IntrospectionUnavailable => {
                ErrorCode::Unavailable
            }
            NotConfigured => ErrorCode::Misconfigured,
        }
    }

    /// The stable reason code (`snake_case`), as used in log fields and metric labels.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::MalformedHeader => "malformed_header",
            Reason::MultipleHeaders => "multiple_headers",
            Reason::MultipleMethods => "multiple_methods",
            Reason::MalformedParameter => "malformed_parameter",
            Reason::TokenTooLarge => "token_too_large",
            Reason::Malformed => "malformed_token",
            Reason::Encrypted => "encrypted_token",
            Reason::AlgorithmNotAllowed => "algorithm_not_allowed",
            Reason::UnknownKeyId => "unknown_kid",
            Reason::BadSignature => "bad_signature",
            Reason::UnsupportedCritical => "unsupported_crit",
            Reason::RejectedType => "rejected_typ",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::MissingExpiry => "missing_exp",
            Reason::WrongIssuer => "wrong_issuer",
            Reason::UntrustedIssuer => "untrusted_issuer",
            Reason::WrongAudience => "wrong_audience",
            Reason::InvalidClaims => "invalid_claims",
            Reason::NotABearerAccessToken => "not_a_bearer_access_token",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::InsufficientGrant => "insufficient_grant",
            Reason::CheckDenied => "check_denied",
            Reason::CheckHidden => "check_hidden",
            Reason::InsufficientUserAuthentication => "insufficient_user_authentication",
            Reason::KeysUnavailable => "keys_unavailable",
            Reason::Revoked => "token_revoked",
            Reason::MissingTokenId => "missing_jti",
            Reason::RevocationUnavailable => "revocation_unavailable",
            Reason::Inactive => "token_inactive",
            Reason::IntrospectionUnavailable => "introspection_unavailable",
            Reason::NotConfigured => "not_configured",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a claim check compared (see [`AuthError::mismatch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mismatch {
    claim: &'static str,
    expected: String,
    presented: String,
}

/// A value that may come from a request or a token, as it may appear in a log line: control,
/// quote, backslash and non-ASCII characters escaped, at most 64 characters kept (then `…`).
pub fn loggable(value: &str) -> String {
    const KEEP: usize = 64;
    let mut out = String::with_capacity(value.len().min(KEEP) + 3);
    for (i, c) in value.chars().enumerate() {
        if i == KEEP {
            out.push('…');
            break;
        }
        if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

/// Why a request was refused. Carries no token material.
///
/// One pointer wide (its parts are boxed): the authentication pipeline hands
/// `Result<_, AuthError>` from step to step, and the success path should not copy a
/// rejection's worth of fields at every step.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", .0.reason, .0.description)]
pub struct AuthError(pub(crate) Box<ErrorParts>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorParts {
    reason: Reason,
    /// What a claim check compared, for the debug log only.
    mismatch: Option<Box<Mismatch>>,
    description: Cow<'static, str>,
    scope: Option<String>,
    /// RFC 9470 `acr_values` (space-delimited) and `max_age`, for
    /// `insufficient_user_authentication`.
    step_up: Option<Box<(Option<String>, Option<u64>)>>,
    retry_after: Option<u64>,
    /// The trusted issuer the token was checked against, with several (a metrics label).
    pub(crate) issuer: Option<std::sync::Arc<str>>,
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &*self.0;
        f.debug_struct("AuthError")
            .field("reason", &p.reason)
            .field("mismatch", &p.mismatch)
            .field("description", &p.description)
            .field("scope", &p.scope)
            .field("step_up", &p.step_up)
            .field("retry_after", &p.retry_after)
            .field("issuer", &p.issuer)
            .finish()
    }
}

impl AuthError {
    /// A rejection for `reason` (which decides the status and error code), with a
    /// human-readable description that never holds token material.
    pub fn new(reason: Reason, description: impl Into<Cow<'static, str>>) -> Self {
        AuthError(Box::new(ErrorParts {
            reason,
            mismatch: None,
            description: description.into(),
            scope: None,
            step_up: None,
            retry_after: None,
            issuer: None,
        }))
    }

    /// The error as one of the trusted issuer `name`'s tokens got it (several issuers).
    pub(crate) fn with_issuer(mut self, name: std::sync::Arc<str>) -> Self {
        self.0.issuer = Some(name);
        self
    }

    /// The configured name of the trusted issuer whose token this is, when the configuration
    /// has several and the token named one of them (the `issuer` label of metrics).
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// Records what a claim check compared (`iss`, `aud`): the configured value and what the
    /// token presented, for the debug log. The presented value is attacker-supplied: it is
    /// kept escaped and truncated ([`loggable`]), and never reaches a response.
    pub(crate) fn with_mismatch(
        mut self,
        claim: &'static str,
        expected: &str,
        presented: &str,
    ) -> Self {
        self.0.mismatch = Some(Box::new(Mismatch {
            claim,
            expected: loggable(expected),
            presented: loggable(presented),
        }));
        self
    }

    /// For the debug log: the claim a check compared, the configured value and what the
    /// token presented (escaped, truncated); `None` for rejections that compare no claim.
    pub fn mismatch(&self) -> Option<(&str, &str, &str)> {
        self.0
            .mismatch
            .as_deref()
            .map(|m| (m.claim, m.expected.as_str(), m.presented.as_str()))
    }

    /// No credentials were presented.
    pub fn missing() -> Self {
        Self::new(Reason::Missing, "no access token was presented")
    }

    /// The token is longer than the configured `max_token_bytes`: 401 `invalid_token`.
    pub(crate) fn too_large() -> Self {
        Self::new(Reason::TokenTooLarge, "the access token is too large")
    }

    /// `insufficient_scope` (403) with the scope hint (space-delimited).
    pub fn insufficient_scope(hint: impl Into<String>) -> Self {
        let mut e = Self::new(
            Reason::InsufficientScope,
            "the access token does not grant the scope this endpoint requires",
        );
        let hint = hint.into();
        e.0.scope = (!hint.is_empty()).then_some(hint);
        e
    }

    /// `insufficient_scope` (403) for a requirement only a role, a claim value or another
    /// issuer would satisfy: no scope hint.
    pub fn insufficient_grant() -> Self {
        Self::new(
            Reason::InsufficientGrant,
            "the access token lacks a role, claim value or issuer this endpoint requires",
        )
    }

    /// A handler's `check` denied the request: 403 `insufficient_scope` without a scope hint
    /// (no scope would help), `why` as the description (the application's words, shown to
    /// the client: never put a secret in them).
    pub fn check_denied(why: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Reason::CheckDenied, why)
    }

    /// A handler's `check` hid the resource: 404, no challenge.
    pub fn check_hidden() -> Self {
        Self::new(Reason::CheckHidden, "no such resource")
    }

    /// `insufficient_user_authentication` (401, RFC 9470) with what a new authentication
    /// must meet: acceptable `acr` values (in order of preference) and `max_age` in seconds.
    pub fn insufficient_user_authentication(acr_values: &[&str], max_age: Option<u64>) -> Self {
        let mut e = Self::new(
            Reason::InsufficientUserAuthentication,
            match (acr_values.is_empty(), max_age) {
                (false, None) => "a different authentication level is required",
                (true, Some(_)) => "a more recent authentication is required",
                _ => "a different or more recent authentication is required",
            },
        );
        let acr_values = (!acr_values.is_empty()).then(|| acr_values.join(" "));
        e.0.step_up = Some(Box::new((acr_values, max_age)));
        e
    }

    /// Keys unavailable (503) with a `Retry-After` in seconds.
    pub fn unavailable(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            Reason::KeysUnavailable,
            "the signing keys cannot be fetched right now; retry later",
        );
        e.0.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// The revocation check says the token was revoked: 401 `invalid_token`.
    pub fn revoked() -> Self {
        Self::new(Reason::Revoked, "the access token has been revoked")
    }

    /// A revocation check by `jti`, and a token without one: 401 `invalid_token`.
    pub fn missing_token_id() -> Self {
        Self::new(
            Reason::MissingTokenId,
            "the access token has no jti claim, so whether it was revoked cannot be checked",
        )
    }

    /// The revocation check cannot answer (503) with a `Retry-After` in seconds.
    pub fn revocation_unavailable(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            Reason::RevocationUnavailable,
            "whether the access token was revoked cannot be checked right now; retry later",
        );
        e.0.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// Token introspection says the token is not active: 401 `invalid_token`.
    pub fn inactive() -> Self {
        Self::new(
            Reason::Inactive,
            "the access token is not active (revoked or expired)",
        )
    }

    /// The introspection endpoint cannot answer (503) with a `Retry-After` in seconds.
    pub fn introspection_unavailable(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            Reason::IntrospectionUnavailable,
            "the access token cannot be checked right now; retry later",
        );
        e.0.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// The service has no authentication configuration (500).
    pub fn misconfigured(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Reason::NotConfigured, description)
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.0.reason.error_code()
    }
    /// The stable reason.
    pub fn reason(&self) -> Reason {
        self.0.reason
    }
    /// The human-readable description.
    pub fn description(&self) -> &str {
        &self.0.description
    }
    /// The scope hint, for `insufficient_scope`.
    pub fn scope(&self) -> Option<&str> {
        self.0.scope.as_deref()
    }
    /// The `acr_values` hint (space-delimited), for `insufficient_user_authentication`.
    pub fn acr_values(&self) -> Option<&str> {
        self.0.step_up.as_ref().and_then(|s| s.0.as_deref())
    }
    /// The `max_age` hint in seconds, for `insufficient_user_authentication`.
    pub fn max_age(&self) -> Option<u64> {
        self.0.step_up.as_ref().and_then(|s| s.1)
    }
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code().status()
    }
    /// The seconds sent in `Retry-After`, for a 503 while keys or the revocation check are
    /// unavailable.
    pub fn retry_after(&self) -> Option<u64> {
        self.0.retry_after
    }

    /// Renders the response for this error in the protection space `ctx` describes (its
    /// realm, the scope hint for a bare 401 when configured, and the RFC 9728 metadata URL
    /// advertised on every 401), with the default problem-details body.
    pub fn render(&self, ctx: &ChallengeContext<'_>) -> Rejection {
        self.render_with(ctx, None)
    }

    /// [`render`](Self::render), with `body` (already checked) in place of the default one.
    fn render_with(&self, ctx: &ChallengeContext<'_>, body: Option<ErrorBody>) -> Rejection {
        let status = self.status();
        let description = nqschar(&self.0.description);
        let mut headers = Vec::with_capacity(4);
        // The body repeats the challenge's `scope`: the bare 401's hint (when configured) too.
        // Only a list of scope-tokens is a hint (a hand-written requirement is checked when it
        // compiles; this is what makes sure of it on the wire).
        let scope = match self.code() {
            ErrorCode::MissingCredentials => ctx.missing_scope_hint,
            _ => self.0.scope.as_deref(),
        }
        .filter(|s| crate::policy::is_token_list(s));
        let acr_values = self
            .acr_values()
            .filter(|s| crate::policy::is_token_list(s));
        let challenge = match self.code() {
            ErrorCode::MissingCredentials => Some(Challenge {
                realm: ctx.realm,
                scope,
                resource_metadata: ctx.resource_metadata,
                ..Default::default()
            }),
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidToken
            | ErrorCode::InsufficientScope
            | ErrorCode::InsufficientUserAuthentication => Some(Challenge {
                realm: ctx.realm,
                error: self.code().as_error_param(),
                error_description: Some(&description),
                scope,
                acr_values,
                max_age: self.max_age(),
                resource_metadata: ctx.resource_metadata.filter(|_| status == 401),
            }),
            ErrorCode::NotFound | ErrorCode::Unavailable | ErrorCode::Misconfigured => None,
        };
        if let Some(challenge) = challenge {
            headers.push(("www-authenticate", challenge.render()));
        }
        headers.push(("cache-control", "no-store".to_owned()));
        if let Some(secs) = self.0.retry_after {
            headers.push(("retry-after", secs.to_string()));
        }
        if let Some(custom) = body {
            headers.push(("content-type", custom.content_type.into_owned()));
            return Rejection {
                status,
                headers,
                body: custom.body,
            };
        }
        headers.push(("content-type", "application/problem+json".to_owned()));

        let body = Problem {
            kind: "about:blank",
            title: status_title(status),
            status,
            detail: &description,
            error: self.code().as_error_param(),
            error_description: self.code().as_error_param().map(|_| description.as_str()),
            scope,
            acr_values,
            max_age: self.max_age(),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        Rejection {
            status,
            headers,
            body,
        }
    }
}

/// What the protection space contributes to every challenge.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChallengeContext<'a> {
    /// The realm.
    pub realm: &'a str,
    /// Scope to advertise on a bare 401 (opt-in; `None` by default).
    pub missing_scope_hint: Option<&'a str>,
    /// RFC 9728 metadata URL, advertised on 401s when configured.
    pub resource_metadata: Option<&'a str>,
}

/// A rendered rejection: framework-agnostic status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// HTTP status code.
    pub status: u16,
    /// Header names (lowercase) and values; every value is visible ASCII.
    pub headers: Vec<(&'static str, String)>,
    /// The body: `application/problem+json`, unless the configuration renders its own
    /// ([`ErrorBody`]; `content-type` in `headers` says which).
    pub body: Vec<u8>,
}

/// The body of a rejection, as the application renders it (see
/// [`AuthConfigBuilder::error_body`](crate::AuthConfigBuilder::error_body)): bytes and their
/// content type. Only the body: the status, `WWW-Authenticate`, `Cache-Control: no-store` and
/// `Retry-After` are not the renderer's to choose.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::ErrorBody;
///
/// let body = ErrorBody::json(&serde_json::json!({ "message": "sign in first" }));
/// assert_eq!(body.content_type(), "application/json");
/// assert_eq!(body.body(), br#"{"message":"sign in first"}"#);
/// let text = ErrorBody::new("text/plain; charset=utf-8", "sign in first");
/// assert_eq!(text.body(), b"sign in first");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    content_type: Cow<'static, str>,
    body: Vec<u8>,
    /// Why the body cannot be sent, when building it failed.
    failed: Option<&'static str>,
}

impl ErrorBody {
    /// `body` sent with `content_type`, a media type such as `application/json` or
    /// `text/plain; charset=utf-8`. One that is not (empty, without a `/`, with characters a
    /// header cannot carry) is not sent: the rejection gets the default body.
    pub fn new(content_type: impl Into<Cow<'static, str>>, body: impl Into<Vec<u8>>) -> Self {
        ErrorBody {
            content_type: content_type.into(),
            body: body.into(),
            failed: None,
        }
    }

    /// `value` as JSON, `application/json`. Should it fail to serialize (a map with non-string
    /// keys, a `Serialize` impl that errs), the rejection gets the default body.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::new("application/json", body),
            Err(_) => ErrorBody {
                failed: Some("its JSON body could not be serialized"),
                ..Self::new("application/json", Vec::new())
            },
        }
    }

    /// The same body with another content type: say, a vendor media type for a JSON body
    /// (`ErrorBody::json(&v).with_content_type("application/vnd.acme.error+json")`).
    pub fn with_content_type(mut self, content_type: impl Into<Cow<'static, str>>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// The content type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Why this body cannot be sent, if it cannot.
    fn unusable(&self) -> Option<&'static str> {
        self.failed.or_else(|| {
            (!is_media_type(&self.content_type))
                .then_some("its content type is not a media type a header can carry")
        })
    }
}

/// `type "/" subtype *( ";" parameter )` (RFC 9110 §8.3.1), with nothing a header value
/// cannot carry: visible ASCII and spaces only, so no CR or LF can ever be sent.
fn is_media_type(value: &str) -> bool {
    fn token(s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    }
    if !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return false;
    }
    let essence = value.split(';').next().unwrap_or_default().trim();
    matches!(essence.split_once('/'), Some((kind, sub)) if token(kind) && token(sub))
}

/// What renders the application's rejection bodies.
pub(crate) type RenderBody = dyn Fn(&AuthError) -> ErrorBody + Send + Sync;

/// The renderer as the builder keeps it.
#[derive(Clone)]
pub(crate) struct BodyRendererFn(pub(crate) Arc<RenderBody>);

impl fmt::Debug for BodyRendererFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BodyRendererFn(..)")
    }
}

/// The application's renderer in a built configuration, guarded: a renderer that panics or
/// returns an unusable body never turns a rejection into a 500, and never reaches the client
/// with its panic message; the rejection gets the default body and the first failure of
/// this configuration is logged.
pub(crate) struct BodyRenderer {
    render: Arc<RenderBody>,
    warned: AtomicBool,
}

impl BodyRenderer {
    pub(crate) fn new(render: BodyRendererFn) -> Self {
        BodyRenderer {
            render: render.0,
            warned: AtomicBool::new(false),
        }
    }

    /// The application's body for `error`, or `None` for the default one.
    fn body(&self, error: &AuthError) -> Option<ErrorBody> {
        // The renderer only reads `error`; a panic leaves nothing of ours half-updated.
        let why = match catch_unwind(AssertUnwindSafe(|| (self.render)(error))) {
            Ok(body) => match body.unusable() {
                None => return Some(body),
                Some(why) => why,
            },
            // The payload (the panic message) is dropped: it goes to no response and no log.
            Err(_) => "it panicked",
        };
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "endpoint_auth",
                status = error.status(),
                reason = error.reason().code(),
                "the error body renderer failed: {why}; rejections get the default problem+json \
                 body instead (logged once)"
            );
        }
        None
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr_values: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_age: Option<u64>,
}

fn status_title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// A refused request: the [`AuthError`] and its response, rendered in the configured
/// protection space (with actix-web, it is the extractors' `ResponseError`).
pub struct AuthRejection(Box<RejectionParts>);

struct RejectionParts {
    error: AuthError,
    rendered: Rejection,
}

impl AuthRejection {
    /// `error` rendered in `ctx`, with the application's body when it has a renderer; not yet
    /// logged or counted ([`log`](Self::log)).
    pub(crate) fn new(
        error: AuthError,
        ctx: &ChallengeContext<'_>,
        renderer: Option<&BodyRenderer>,
    ) -> Self {
        let body = renderer.and_then(|r| r.body(&error));
        let rendered = error.render_with(ctx, body);
        AuthRejection(Box::new(RejectionParts { error, rendered }))
    }

    pub(crate) fn misconfigured() -> Self {
        Self::misconfigured_because(
            "no endpoint_auth::AuthConfig is registered on this App: add `.wrap(auth_config.clone())` \
             (built with AuthConfig::builder()) to the App that serves this route",
        )
    }

    /// A 500 for a service whose configuration cannot serve this route, logged with `why`.
    pub(crate) fn misconfigured_because(why: &'static str) -> Self {
        tracing::error!(
            target: "endpoint_auth",
            reason = Reason::NotConfigured.code(),
            "{why}"
        );
        let error = AuthError::misconfigured("authentication is not configured for this service");
        let rendered = error.render(&ChallengeContext::default());
        AuthRejection(Box::new(RejectionParts { error, rendered }))
    }

    /// What went wrong.
    pub fn error(&self) -> &AuthError {
        &self.0.error
    }
    /// Logs the rejection (and counts an authorization refusal): once per refused request.
    pub(crate) fn log(&self) {
        log_rejection(&self.0.error);
    }
    /// The rendered status, headers and body.
    pub fn rendered(&self) -> &Rejection {
        &self.0.rendered
    }
}

fn log_rejection(e: &AuthError) {
    // Every other outcome was counted when authentication settled; this one is decided later.
    if matches!(
        e.code(),
        ErrorCode::InsufficientScope | ErrorCode::InsufficientUserAuthentication
    ) {
        metrics::authorization_refused(e);
    }
    let (reason, status) = (e.reason().code(), e.status());
    match e.code() {
        // An unavailable key source, introspection endpoint or revocation store is logged
        // where it fails, once per attempt or outage: not once more per request it refuses.
        ErrorCode::MissingCredentials | ErrorCode::Unavailable => {
            tracing::debug!(target: "endpoint_auth", reason, status, "request rejected")
        }
        ErrorCode::Misconfigured => {
            tracing::warn!(target: "endpoint_auth", reason, status, "request rejected")
        }
        _ => {
            tracing::info!(target: "endpoint_auth", reason, status, description = e.description(), "request rejected")
        }
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("error", self.error())
            .finish()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.error(), f)
    }
}

impl std::error::Error for AuthRejection {}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(r: &'a Rejection, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn insufficient_scope_renders_403_with_hint_everywhere() {
        let ctx = ChallengeContext {
            realm: "r",
            ..Default::default()
        };
        let r = AuthError::insufficient_scope("a b").render(&ctx);
        assert_eq!(r.status, 403);
        assert_eq!(
            header(&r, "www-authenticate").unwrap(),
            "Bearer realm=\"r\", error=\"insufficient_scope\", error_description=\"the access token does not grant the scope this endpoint requires\", scope=\"a b\""
        );
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["error"], "insufficient_scope");
        assert_eq!(body["scope"], "a b");
        assert_eq!(body["status"], 403);
        assert_eq!(header(&r, "cache-control"), Some("no-store"));
    }

    #[test]
    fn a_hint_that_is_not_a_list_of_scope_tokens_is_left_out_of_header_and_body() {
        let ctx = ChallengeContext {
            realm: "r",
            missing_scope_hint: Some("read\treports"),
            ..Default::default()
        };
        for hint in ["read\treports", "a\"b", "a\\b", "a  b", " a", ""] {
            let r = AuthError::insufficient_scope(hint).render(&ctx);
            assert!(
                !header(&r, "www-authenticate").unwrap().contains("scope="),
                "{hint:?}"
            );
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert!(body.get("scope").is_none(), "{hint:?}");
        }
        let r = AuthError::missing().render(&ctx);
        assert_eq!(
            header(&r, "www-authenticate").unwrap(),
            "Bearer realm=\"r\""
        );
        let r = AuthError::insufficient_user_authentication(&["urn:mfa\tphr"], None).render(&ctx);
        assert!(!header(&r, "www-authenticate")
            .unwrap()
            .contains("acr_values"));
    }

    #[test]
    fn a_custom_body_replaces_only_the_body() {
        let ctx = ChallengeContext {
            realm: "r",
            ..Default::default()
        };
        let error = AuthError::unavailable(7);
        let default = error.render(&ctx);
        let custom =
            error.render_with(&ctx, Some(ErrorBody::new("text/plain", "down, retry soon")));
        assert_eq!(custom.status, default.status);
        assert_eq!(custom.body, b"down, retry soon");
        let without_type = |r: &Rejection| {
            r.headers
                .iter()
                .filter(|(n, _)| *n != "content-type")
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(without_type(&custom), without_type(&default));
        assert_eq!(header(&custom, "content-type"), Some("text/plain"));
    }

    #[test]
    fn content_types_are_media_types_a_header_can_carry() {
        for good in [
            "application/json",
            "application/vnd.acme.error+json; version=2",
            "text/plain; charset=utf-8",
        ] {
            assert!(is_media_type(good), "{good}");
        }
        for bad in [
            "",
            "json",
            "/json",
            "application/",
            "application/json\r\nset-cookie: a=b",
            "text/plain; charset=\u{e9}",
            "application/json\t",
            "app lication/json",
        ] {
            assert!(!is_media_type(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_renderer_that_panics_or_fails_gets_the_default_body() {
        let renderer =
            |f: fn(&AuthError) -> ErrorBody| BodyRenderer::new(BodyRendererFn(Arc::new(f)));
        let error = AuthError::missing();
        let panics = renderer(|_| panic!("secret detail"));
        assert_eq!(panics.body(&error), None);
        assert_eq!(panics.body(&error), None, "every time, not only the first");
        assert_eq!(
            renderer(|_| ErrorBody::new("nonsense", "x")).body(&error),
            None
        );
        let not_json = renderer(|_| {
            let mut keys = std::collections::BTreeMap::new();
            keys.insert(vec![1u8], 1);
            ErrorBody::json(&keys)
        });
        assert_eq!(not_json.body(&error), None);
        let fine = renderer(|e| ErrorBody::json(&serde_json::json!({ "code": e.reason().code() })));
        assert_eq!(fine.body(&error).unwrap().body(), br#"{"code":"missing"}"#);
    }

    #[test]
    fn unavailable_has_retry_after_and_no_challenge() {
        let r = AuthError::unavailable(7).render(&ChallengeContext::default());
        assert_eq!(r.status, 503);
        assert_eq!(header(&r, "retry-after"), Some("7"));
        assert!(header(&r, "www-authenticate").is_none());
    }
}
