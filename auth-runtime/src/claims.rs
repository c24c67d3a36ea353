//! What a verified token says: [`Verified`] holds the standard claims and the scopes,
//! [`Principal`] adds the application's own claims type.
//!
//! Neither type has a public constructor: the only way to obtain one is to verify a token.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{AuthError, Reason};
use crate::json::{numeric_date, unique, MemberName, Names, NoDuplicates};
use crate::policy::{Requirement, RequirementSpec};

/// Where a token's scopes are read from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ScopeSource {
    /// `scope` (RFC 8693 / RFC 9068: space-delimited string, or an array), else `scp`
    /// (Entra ID, Okta: string or array).
    #[default]
    Standard,
    /// A path of object members, e.g. `["permissions"]` (Auth0) or
    /// `["realm_access", "roles"]` (Keycloak); the value is a string or an array of strings.
    Claim(Vec<String>),
}

impl ScopeSource {
    /// A claim path written with dots: `"realm_access.roles"`.
    pub fn claim_path(path: &str) -> Self {
        ScopeSource::Claim(path.split('.').map(str::to_owned).collect())
    }

    /// The scopes, from the standard claims, or from the full payload when a path is
    /// configured.
    pub(crate) fn extract(
        &self,
        standard: &StandardClaims,
        payload: &Map<String, Value>,
    ) -> Result<Vec<String>, AuthError> {
        let value = match self {
            // `scope` wins whenever it is present, even as null.
            ScopeSource::Standard => standard.get("scope").or_else(|| standard.get("scp")),
            ScopeSource::Claim(path) => at_path(payload, path),
        };
        match value {
            None | Some(Value::Null) => Ok(Vec::new()),
            // RFC 6749 §3.3: scope-tokens are delimited by %x20 only. TAB, CR, LF or FF stay
            // inside the piece, so no separator the issuer did not mean can widen the grant.
            Some(Value::String(s)) => Ok(s
                .split(' ')
                .filter(|piece| !piece.is_empty())
                .map(str::to_owned)
                .collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(malformed_scope))
                .collect(),
            Some(_) => Err(malformed_scope()),
        }
    }

    fn needs_payload(&self) -> bool {
        matches!(self, ScopeSource::Claim(_))
    }
}

/// The value at a path of object members (`["realm_access", "roles"]`), if every step is
/// there.
fn at_path<'a>(payload: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(payload.get(first)?, |cur, seg| cur.as_object()?.get(seg))
}

/// Where a token's roles (or groups) are read from, for `#[requires(role = "…")]`: one or
/// more claim paths, whose values are unioned. Each value is an array of strings (a single
/// string counts as one role); a path that is absent gives no role.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::RoleSource;
///
/// // Keycloak: realm roles and this client's roles.
/// let keycloak = RoleSource::keycloak_realm().and(RoleSource::keycloak_client("orders-api"));
/// assert_eq!(keycloak.paths().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleSource {
    paths: Vec<Vec<String>>,
}

impl RoleSource {
    /// A claim path written with dots: `"realm_access.roles"`. A member name that itself
    /// contains a dot (Auth0's namespaced claims, `https://example.com/roles`) is written
    /// with [`claim`](Self::claim) instead.
    pub fn claim_path(path: &str) -> Self {
        RoleSource {
            paths: vec![path.split('.').map(str::to_owned).collect()],
        }
    }
    /// One top-level claim, its name taken as is (dots included): Auth0's namespaced
    /// `"https://example.com/roles"`, Cognito's `"cognito:groups"`.
    pub fn claim(name: &str) -> Self {
        RoleSource {
            paths: vec![vec![name.to_owned()]],
        }
    }
    /// Keycloak realm roles: `realm_access.roles`.
    pub fn keycloak_realm() -> Self {
        Self::claim_path("realm_access.roles")
    }
    /// Keycloak client roles of `client_id`: `resource_access.<client_id>.roles`.
    pub fn keycloak_client(client_id: &str) -> Self {
        RoleSource {
            paths: vec![vec![
                "resource_access".into(),
                client_id.into(),
                "roles".into(),
            ]],
        }
    }
    /// Microsoft Entra ID app roles: `roles`.
    pub fn entra() -> Self {
        Self::claim("roles")
    }
    /// Amazon Cognito groups: `cognito:groups`.
    pub fn cognito_groups() -> Self {
        Self::claim("cognito:groups")
    }
    /// Both sources: the roles are the union.
    pub fn and(mut self, other: RoleSource) -> Self {
        self.paths.extend(other.paths);
        self
    }
    /// The claim paths, each a list of member names.
    pub fn paths(&self) -> &[Vec<String>] {
        &self.paths
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The roles in `payload`, in order, each once.
    pub(crate) fn extract(&self, payload: &Map<String, Value>) -> Result<Vec<String>, AuthError> {
        let malformed = || {
            AuthError::new(
                Reason::InvalidClaims,
                "a roles claim must be a string or an array of strings",
            )
        };
        let mut roles: Vec<String> = Vec::new();
        for path in &self.paths {
            let found: Vec<&str> = match at_path(payload, path) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().ok_or_else(malformed))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(malformed()),
            };
            for role in found {
                if !roles.iter().any(|r| r == role) {
                    roles.push(role.to_owned());
                }
            }
        }
        Ok(roles)
    }
}

/// The claims verification reads, parsed in one pass that skips every other member; `Some`
/// whenever the member is present, even as `null`. The payload must be a JSON object.
#[derive(Default)]
pub(crate) struct StandardClaims {
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    iss: Option<Value>,
    aud: Option<Value>,
    sub: Option<Value>,
    client_id: Option<Value>,
    azp: Option<Value>,
    jti: Option<Value>,
    scope: Option<Value>,
    scp: Option<Value>,
    acr: Option<Value>,
    auth_time: Option<Value>,
    /// Read only to refuse what is not a bearer access token (see [`StandardClaims::check`]).
    cnf: Option<Value>,
    token_use: Option<Value>,
    token_type: Option<Value>,
    typ: Option<Value>,
}

/// Reads the claims into the slots of a [`StandardClaims`] in place: the struct is a few
/// hundred bytes, and moving it out through serde's `Result`s cost more than parsing a
/// small claim.
struct Fill<'a>(&'a mut StandardClaims);

impl<'de> serde::de::DeserializeSeed<'de> for Fill<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Fill<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let claims = self.0;
        let mut names = Names::new();
        while let Some(name) = map.next_key::<MemberName<'de>>()? {
            let slot = match name.as_str() {
                "exp" => &mut claims.exp,
                "nbf" => &mut claims.nbf,
                "iat" => &mut claims.iat,
                "iss" => &mut claims.iss,
                "aud" => &mut claims.aud,
                "sub" => &mut claims.sub,
                "client_id" => &mut claims.client_id,
                "azp" => &mut claims.azp,
                "jti" => &mut claims.jti,
                "scope" => &mut claims.scope,
                "scp" => &mut claims.scp,
                "acr" => &mut claims.acr,
                "auth_time" => &mut claims.auth_time,
                "cnf" => &mut claims.cnf,
                "token_use" => &mut claims.token_use,
                "token_type" => &mut claims.token_type,
                "typ" => &mut claims.typ,
                _ => {
                    map.next_value::<NoDuplicates>()?;
                    names.push(name);
                    continue;
                }
            };
            *slot = Some(map.next_value::<Value>()?);
            names.push(name);
        }
        unique(&mut names)
    }
}

/// What a claim that is absent or not a string was, for the debug log (never its value).
fn json_kind(value: Option<&Value>) -> &'static str {
    match value {
        None => "(absent)",
        Some(Value::Null) => "(null)",
        Some(Value::Bool(_)) => "(a boolean)",
        Some(Value::Number(_)) => "(a number)",
        Some(Value::String(_)) => "(a string)",
        Some(Value::Array(_)) => "(an array that is not all strings)",
        Some(Value::Object(_)) => "(an object)",
    }
}

/// What the standard claims are checked against: the verifier's settings.
pub(crate) struct ClaimRules<'a> {
    /// The exact `iss` required, if any.
    pub(crate) issuer: Option<&'a str>,
    /// The accepted audiences (empty: any).
    pub(crate) audiences: &'a [String],
    /// The claim the audiences are read from: `aud`, or `client_id` for providers whose access
    /// tokens carry no `aud` (Amazon Cognito).
    pub(crate) audience_claim: &'static str,
    /// Clock leeway in seconds.
    pub(crate) leeway: u64,
    /// Where roles are read from (empty: no roles).
    pub(crate) roles: &'a RoleSource,
    /// Certificate-bound tokens (`cnf` `x5t#S256`, RFC 8705) pass as bearer tokens: the TLS
    /// terminator checks the binding.
    pub(crate) certificate_bound: bool,
}

impl StandardClaims {
    /// `exp` (required), `iss` and `aud` (required when configured), then `nbf`, expiry,
    /// issuer and audience values, in this order, with the configured leeway.
    pub(crate) fn check(&self, rules: &ClaimRules<'_>, now: u64) -> Result<(), AuthError> {
        let e = AuthError::new;
        if let Some(why) = self.not_a_bearer_access_token(rules.certificate_bound) {
            return Err(e(Reason::NotABearerAccessToken, why));
        }
        let exp = match self.get("exp").map(numeric_date) {
            Some(Some(exp)) => exp,
            _ => {
                return Err(e(
                    Reason::MissingExpiry,
                    "the token has no valid exp claim (a NumericDate)",
                ))
            }
        };
        let issuer = match (&rules.issuer, self.get("iss")) {
            (None, _) => None,
            (Some(_), Some(Value::String(iss))) => Some(iss.as_str()),
            (Some(expected), other) => {
                return Err(e(Reason::WrongIssuer, "the token has no valid iss claim")
                    .with_mismatch("iss", expected, json_kind(other)))
            }
        };
        // The token's audiences: one string, or an array of strings (`aud` only).
        let audiences = if rules.audiences.is_empty() {
            None
        } else {
            let claim = rules.audience_claim;
            // `client_id` stands for the audience only in tokens that have none: a token that
            // names its audience was meant for an `aud` check, which this configuration
            // cannot make (RFC 9068 §4), so it is refused rather than judged by its client.
            if claim != "aud" && self.get("aud").is_some() {
                return Err(e(
                    Reason::WrongAudience,
                    "the token has an aud claim; this service reads its audience from client_id",
                )
                .with_mismatch("aud", "absent", "present"));
            }
            match self.get(claim) {
                Some(aud @ Value::String(_)) => Some(std::slice::from_ref(aud)),
                Some(Value::Array(items))
                    if claim == "aud" && items.iter().all(Value::is_string) =>
                {
                    Some(items.as_slice())
                }
                other => {
                    let description = if claim == "aud" {
                        "the token has no valid aud claim"
                    } else {
                        "the token has no valid client_id claim"
                    };
                    return Err(e(Reason::WrongAudience, description).with_mismatch(
                        claim,
                        &rules.audiences.join(" "),
                        json_kind(other),
                    ));
                }
            }
        };
        let nbf = match self.get("nbf") {
            None => None,
            Some(v) => match numeric_date(v) {
                Some(nbf) => Some(nbf),
                None => {
                    return Err(e(
                        Reason::InvalidClaims,
                        "a time claim is not a valid number",
                    ))
                }
            },
        };
        // RFC 7519 §4.1.4: valid only before `exp` (plus the leeway), not at it.
        if exp.saturating_add(rules.leeway) <= now {
            return Err(e(Reason::Expired, "the access token has expired"));
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(rules.leeway)) {
            return Err(e(Reason::NotYetValid, "the access token is not valid yet"));
        }
        if let (Some(expected), Some(iss)) = (rules.issuer, issuer) {
            if iss != expected {
                return Err(e(
                    Reason::WrongIssuer,
                    "the token was not issued by the expected issuer",
                )
                .with_mismatch("iss", expected, iss));
            }
        }
        if let Some(audiences) = audiences {
            if !audiences
                .iter()
                .filter_map(Value::as_str)
                .any(|a| rules.audiences.iter().any(|c| c == a))
            {
                let presented: Vec<&str> = audiences.iter().filter_map(Value::as_str).collect();
                return Err(e(
                    Reason::WrongAudience,
                    "the token is not meant for this audience",
                )
                .with_mismatch(
                    rules.audience_claim,
                    &rules.audiences.join(" "),
                    &presented.join(" "),
                ));
            }
        }
        Ok(())
    }

    /// Reads a claim set (a JSON object without repeated member names at its top level) into
    /// `self`, which is default.
    pub(crate) fn fill(&mut self, payload: &[u8]) -> serde_json::Result<()> {
        use serde::de::DeserializeSeed as _;
        let mut deserializer = serde_json::Deserializer::from_slice(payload);
        Fill(self).deserialize(&mut deserializer)?;
        deserializer.end()
    }

    /// Whether a value read here holds an object (then duplicates inside it were not checked).
    pub(crate) fn has_objects(&self) -> bool {
        fn holds_object(v: &Value) -> bool {
            match v {
                Value::Object(_) => true,
                Value::Array(items) => items.iter().any(holds_object),
                _ => false,
            }
        }
        [
            &self.exp,
            &self.nbf,
            &self.iat,
            &self.iss,
            &self.aud,
            &self.sub,
            &self.client_id,
            &self.azp,
            &self.jti,
            &self.scope,
            &self.scp,
            &self.acr,
            &self.auth_time,
            &self.cnf,
            &self.token_use,
            &self.token_type,
            &self.typ,
        ]
        .into_iter()
        .flatten()
        .any(holds_object)
    }

    /// The claim `name`, if it is one of those read here and present.
    /// Why the token is not a bearer access token, when its claims (or its introspection
    /// response) say so: bound to a DPoP key (`cnf.jkt`, RFC 9449 §6.1; `token_type` `DPoP`
    /// in an introspection response, §6.2), which must come with a proof, never as `Bearer`;
    /// or marked as another kind of token by its provider (`token_use` other than Cognito's
    /// `access` / Hydra's `access_token`; Keycloak's `typ` `ID` or `Refresh`); or bound to a
    /// client certificate (`cnf` `x5t#S256`, RFC 8705), whose binding the resource server
    /// must check against the mutual-TLS certificate (§3) and this one cannot see: refused
    /// unless `certificate_bound` says the TLS terminator does it.
    fn not_a_bearer_access_token(&self, certificate_bound: bool) -> Option<&'static str> {
        fn text(v: &Option<Value>) -> Option<&str> {
            v.as_ref().and_then(Value::as_str)
        }
        // RFC 7800 §3.1: `cnf` is an object. Anything else is a confirmation this service
        // cannot read, let alone check (`null` counts as absent, as for the other members).
        if self
            .cnf
            .as_ref()
            .is_some_and(|c| !c.is_object() && !c.is_null())
        {
            return Some(
                "the access token carries a confirmation (cnf) that is not an object: it is not a bearer access token",
            );
        }
        if let Some(cnf) = self.cnf.as_ref().and_then(Value::as_object) {
            if !certificate_bound && cnf.contains_key("x5t#S256") {
                return Some(
                    "the access token is bound to a client certificate this service cannot check: it is not a bearer access token",
                );
            }
            // Any other confirmation (RFC 7800: `jwk`, `jku`, `kid`, …) binds it to a key its
            // presenter must prove; a bearer token proves nothing.
            if cnf.keys().any(|k| k != "x5t#S256" && k != "jkt") {
                return Some(
                    "the access token is bound to a proof-of-possession key: it is not a bearer access token",
                );
            }
        }
        if self
            .cnf
            .as_ref()
            .and_then(Value::as_object)
            .is_some_and(|cnf| cnf.contains_key("jkt"))
            || text(&self.token_type).is_some_and(|t| t.eq_ignore_ascii_case("dpop"))
        {
            return Some(
                "the access token is bound to a DPoP key: it is not a bearer access token",
            );
        }
        if text(&self.token_use).is_some_and(|u| u != "access" && u != "access_token")
            || text(&self.typ)
                .is_some_and(|t| t.eq_ignore_ascii_case("id") || t.eq_ignore_ascii_case("refresh"))
        {
            return Some("the token is an ID or refresh token: not a bearer access token");
        }
        None
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        match name {
            "exp" => self.exp.as_ref(),
            "nbf" => self.nbf.as_ref(),
            "iat" => self.iat.as_ref(),
            "iss" => self.iss.as_ref(),
            "aud" => self.aud.as_ref(),
            "sub" => self.sub.as_ref(),
            "client_id" => self.client_id.as_ref(),
            "azp" => self.azp.as_ref(),
            "jti" => self.jti.as_ref(),
            "scope" => self.scope.as_ref(),
            "scp" => self.scp.as_ref(),
            _ => None,
        }
    }
}

fn malformed_scope() -> AuthError {
    AuthError::new(
        Reason::InvalidClaims,
        "the scope claim must be a string or an array of strings",
    )
}

/// The standard claims of a verified access token, and its scopes.
pub struct Verified {
    pub(crate) subject: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) expires_at: u64,
    pub(crate) issued_at: Option<u64>,
    pub(crate) not_before: Option<u64>,
    pub(crate) client_id: Option<String>,
    pub(crate) token_id: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) acr: Option<String>,
    pub(crate) auth_time: Option<u64>,
    pub(crate) roles: Vec<String>,
    /// The position of the trusted issuer that verified it, in its configuration.
    pub(crate) issuer_index: u16,
    /// The configured name of that issuer.
    pub(crate) trusted_issuer: Option<Arc<str>>,
    /// Whether that configuration has several issuers (metrics then carry the name).
    pub(crate) labelled: bool,
    /// Built from an introspection answer (RFC 7662) rather than a verified JWT.
    pub(crate) introspected: bool,
    /// The decoded payload (JSON), parsed into `claims` on first use.
    payload: Vec<u8>,
    claims: OnceLock<Map<String, Value>>,
}

impl Verified {
    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }
    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
    /// The configured name of the trusted issuer that verified the token (`"default"` for a
    /// configuration built without [`trust`](crate::AuthConfigBuilder::trust)); unlike
    /// [`issuer`](Self::issuer), a name the service chose, never a value from the token.
    pub fn trusted_issuer(&self) -> &str {
        self.trusted_issuer
            .as_deref()
            .unwrap_or(crate::config::DEFAULT_ISSUER_NAME)
    }
    /// `aud`, always as a list.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
    /// `exp`, seconds since the epoch.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
    /// `iat`.
    pub fn issued_at(&self) -> Option<u64> {
        self.issued_at
    }
    /// `nbf`.
    pub fn not_before(&self) -> Option<u64> {
        self.not_before
    }
    /// `client_id` (RFC 9068), else `azp`.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
    /// The roles (or groups) read from the configured [`RoleSource`]; empty when none is
    /// configured.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }
    /// Whether the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
    /// `acr`: the authentication context class the user authenticated with (OIDC Core §2,
    /// RFC 9470).
    pub fn acr(&self) -> Option<&str> {
        self.acr.as_deref()
    }
    /// `auth_time`: when the user authenticated, seconds since the epoch.
    pub fn auth_time(&self) -> Option<u64> {
        self.auth_time
    }
    /// `jti` (`None` when absent or empty: an empty one identifies nothing).
    pub fn token_id(&self) -> Option<&str> {
        self.token_id.as_deref()
    }
    /// The granted scopes, from the configured [`ScopeSource`].
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
    /// Every claim of the payload, as JSON (parsed on first use).
    pub fn claims(&self) -> &Map<String, Value> {
        self.claims.get_or_init(|| parse_payload(&self.payload))
    }

    /// The decoded payload, the JSON text the claims come from.
    pub(crate) fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// `payload` is the decoded JSON that `claims` was parsed from (and checked for
    /// duplicate member names).
    pub(crate) fn from_claims(
        claims: &mut StandardClaims,
        payload: Vec<u8>,
        scopes: &ScopeSource,
        rules: &ClaimRules<'_>,
        now: u64,
    ) -> Result<Self, AuthError> {
        let full = OnceLock::new();
        if scopes.needs_payload() || !rules.roles.is_empty() {
            let _ = full.set(parse_payload(&payload));
        }
        fn string(value: Option<Value>, name: &str) -> Result<Option<String>, AuthError> {
            match value {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(AuthError::new(
                    Reason::InvalidClaims,
                    format!("the {name} claim must be a string"),
                )),
            }
        }
        // `nbf`, `iat`: present but not a NumericDate (null included) is refused, as verify.rs
        // refuses such an `nbf`.
        fn time(value: Option<&Value>, name: &str) -> Result<Option<u64>, AuthError> {
            match value {
                None => Ok(None),
                Some(v) => numeric_date(v).map(Some).ok_or_else(|| {
                    AuthError::new(
                        Reason::InvalidClaims,
                        format!("the {name} claim must be a non-negative number"),
                    )
                }),
            }
        }
        let aud_type = || {
            AuthError::new(
                Reason::InvalidClaims,
                "the aud claim must be a string or an array of strings",
            )
        };
        let audiences = match claims.aud.take() {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(aud_type)?,
            Some(_) => return Err(aud_type()),
        };
        // As in verify.rs (and jsonwebtoken): an `exp` that is no NumericDate counts as absent.
        let expires_at = claims.exp.as_ref().and_then(numeric_date).ok_or_else(|| {
            AuthError::new(
                Reason::MissingExpiry,
                "the token has no valid exp claim (a NumericDate)",
            )
        })?;
        let verified = Verified {
            subject: string(claims.sub.take(), "sub")?,
            issuer: string(claims.iss.take(), "iss")?,
            audiences,
            expires_at,
            issued_at: time(claims.iat.as_ref(), "iat")?,
            not_before: time(claims.nbf.as_ref(), "nbf")?,
            client_id: match string(claims.client_id.take(), "client_id")? {
                Some(c) => Some(c),
                None => string(claims.azp.take(), "azp")?,
            },
            // An empty `jti` identifies nothing (RFC 7519 §4.1.7): every such token would
            // share one revocation entry.
            token_id: string(claims.jti.take(), "jti")?.filter(|id| !id.is_empty()),
            acr: string(claims.acr.take(), "acr")?,
            auth_time: time(claims.auth_time.as_ref(), "auth_time")?,
            scopes: scopes.extract(claims, full.get().unwrap_or(&Map::new()))?,
            roles: match full.get() {
                Some(payload) if !rules.roles.is_empty() => rules.roles.extract(payload)?,
                _ => Vec::new(),
            },
            issuer_index: 0,
            trusted_issuer: None,
            labelled: false,
            introspected: false,
            payload,
            claims: full,
        };
        // Checked last, as jsonwebtoken does: `iat` in the future.
        if verified
            .issued_at
            .is_some_and(|iat| iat > now.saturating_add(rules.leeway))
        {
            return Err(AuthError::new(
                Reason::NotYetValid,
                "the token was issued in the future",
            ));
        }
        // An authentication in the future would keep a `max_age` step-up (RFC 9470) fresh for
        // the token's whole life; the same leeway as `iat`.
        if verified
            .auth_time
            .is_some_and(|t| t > now.saturating_add(rules.leeway))
        {
            return Err(AuthError::new(
                Reason::InvalidClaims,
                "the token says the user authenticated in the future",
            ));
        }
        Ok(verified)
    }
}

impl Verified {
    /// From an active introspection response (RFC 7662 §2.2), checked like a JWT's claims
    /// (`exp`, `iss`, `aud`, `nbf`, `iat`; scopes from `scope`); `payload` is the response's
    /// JSON object, kept as the claims.
    pub(crate) fn from_introspection(
        payload: Vec<u8>,
        scopes: &ScopeSource,
        rules: &ClaimRules<'_>,
        now: u64,
    ) -> Result<Self, AuthError> {
        let mut claims = StandardClaims::default();
        claims.fill(&payload).map_err(|_| {
            AuthError::new(
                Reason::InvalidClaims,
                "the introspection response is not a JSON object",
            )
        })?;
        claims.check(rules, now)?;
        let mut verified = Self::from_claims(&mut claims, payload, scopes, rules, now)?;
        verified.introspected = true;
        Ok(verified)
    }
}

impl fmt::Debug for Verified {
    // Claims are omitted: they are personal data and have no place in logs by default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Claims type for services that need only the standard claims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct NoExtraClaims {}

/// The authenticated caller: a verified token plus the application's own claims `C`
/// (any `serde::Deserialize` type; unknown claims are ignored as usual in serde).
///
/// A `Principal` can only be obtained from a verified token: it has no public constructor.
///
/// ```compile_fail
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// // There is no way to build one by hand.
/// let p: endpoint_auth::Principal = endpoint_auth::Principal { token: todo!(), extra: todo!() };
/// ```
pub struct Principal<C = NoExtraClaims> {
    token: Arc<Verified>,
    extra: C,
}

impl<C: DeserializeOwned> Principal<C> {
    pub(crate) fn from_verified(token: Arc<Verified>) -> Result<Self, AuthError> {
        let extra = serde_json::from_slice::<C>(token.payload()).map_err(|_| {
            AuthError::new(
                Reason::InvalidClaims,
                "the token's claims do not have the shape this service expects",
            )
        })?;
        Ok(Principal { token, extra })
    }
}

impl<C> Principal<C> {
    /// The verified token's standard claims and scopes.
    pub fn token(&self) -> &Verified {
        &self.token
    }
    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.token.subject()
    }
    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        self.token.scopes()
    }
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.token.has_scope(scope)
    }
    /// The application's own claims.
    pub fn extra(&self) -> &C {
        &self.extra
    }
    /// Takes the application's own claims.
    pub fn into_extra(self) -> C {
        self.extra
    }
}

impl<C> std::ops::Deref for Principal<C> {
    type Target = Verified;
    fn deref(&self) -> &Verified {
        &self.token
    }
}

impl<C> fmt::Debug for Principal<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("token", &*self.token)
            .finish_non_exhaustive()
    }
}

/// The caller when there is one: optional authentication, for handlers that serve anonymous
/// callers too and do more for a signed-in one (a public page that personalises, "public
/// reports, plus mine").
///
/// - No credentials at all (no `Authorization` header, an empty one, another scheme):
///   `None`, and the handler runs anonymously.
/// - Credentials that are malformed, or a token that is invalid, expired or foreign: the same
///   400 / 401 with its challenge as on any protected route; the handler does not run. A
///   client with a bad token learns it, instead of being served as anonymous and sending the
///   token forever.
/// - Keys unavailable: 503, as anywhere.
///
/// It derefs to `Option<Principal<C>>`; [`into_option`](Self::into_option) takes it.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::MaybePrincipal;
///
/// async fn greeting(caller: MaybePrincipal) -> String {
///     match caller.as_ref().and_then(|p| p.subject()) {
///         Some(sub) => format!("welcome back, {sub}"),
///         None => "welcome".to_owned(),
///     }
/// }
/// ```
///
/// # Not `Option<Principal>`
///
/// actix-web implements its extractor trait for every `Option<T>` by turning *any* error of
/// `T` into `None`. So a handler that takes `Option<Principal>` serves a request with an
/// expired, forged or malformed token as if it had none: silently anonymous, and the client
/// never learns that its token is bad. `#[requires]` and `#[public]` refuse such a parameter
/// (`Option<Principal<…>>`, `Option<Authorized<…>>`) at compile time; on a handler without
/// either attribute nothing can, so take `MaybePrincipal` whenever the caller is optional.
///
/// With `#[public]`, the handler's operation is documented as optionally authenticated
/// (`security: [{}, {"oauth2": []}]`), and with
/// [`deny_by_default`](crate::AuthConfigBuilder::deny_by_default) the route stays open to
/// anonymous callers. (The attribute recognises the parameter by its type's name,
/// `MaybePrincipal`; under another name, through a `use … as`, it still works but is
/// documented as `security: []`.)
pub struct MaybePrincipal<C = NoExtraClaims>(Option<Principal<C>>);

impl<C> MaybePrincipal<C> {
    /// An anonymous caller, e.g. to call a handler directly in a unit test.
    pub fn anonymous() -> Self {
        MaybePrincipal(None)
    }
    /// Takes the caller, `None` when the request presented no credentials.
    pub fn into_option(self) -> Option<Principal<C>> {
        self.0
    }
}

impl<C> From<Option<Principal<C>>> for MaybePrincipal<C> {
    fn from(caller: Option<Principal<C>>) -> Self {
        MaybePrincipal(caller)
    }
}

impl<C> From<MaybePrincipal<C>> for Option<Principal<C>> {
    fn from(caller: MaybePrincipal<C>) -> Self {
        caller.0
    }
}

impl<C> std::ops::Deref for MaybePrincipal<C> {
    type Target = Option<Principal<C>>;
    fn deref(&self) -> &Option<Principal<C>> {
        &self.0
    }
}

impl<C> fmt::Debug for MaybePrincipal<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MaybePrincipal").field(&self.0).finish()
    }
}

/// The payload as a JSON object. It was parsed once already (duplicates checked, standard
/// claims read), so this cannot fail on a verified token.
fn parse_payload(payload: &[u8]) -> Map<String, Value> {
    serde_json::from_slice(payload).unwrap_or_default()
}

/// A caller whose token satisfies the requirement `R`: 401 without a valid token, 403 when
/// the scopes fall short. It is what `#[requires]` checks, written by hand with any
/// [`RequirementSpec`], and it hands the caller's token to the handler (`#[requires]` itself
/// adds a hidden guard argument that makes the same checks and hands nothing over).
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::{Authorized, Requirement, RequirementSpec};
///
/// struct WriteReports;
/// impl RequirementSpec for WriteReports {
///     const REQUIREMENT: Requirement = Requirement::Scope("write:reports");
/// }
///
/// async fn create(auth: Authorized<WriteReports>) -> String {
///     format!("created by {}", auth.subject().unwrap_or("?"))
/// }
/// ```
pub struct Authorized<R: RequirementSpec, C = NoExtraClaims> {
    principal: Principal<C>,
    _requirement: PhantomData<fn() -> R>,
}

impl<R: RequirementSpec, C> Authorized<R, C> {
    /// The authenticated caller.
    pub fn principal(&self) -> &Principal<C> {
        &self.principal
    }
    /// Takes the authenticated caller.
    pub fn into_principal(self) -> Principal<C> {
        self.principal
    }
    /// The requirement that was checked.
    pub fn requirement() -> Requirement {
        R::REQUIREMENT
    }
}

impl<R: RequirementSpec, C> std::ops::Deref for Authorized<R, C> {
    type Target = Principal<C>;
    fn deref(&self) -> &Principal<C> {
        &self.principal
    }
}

impl<R: RequirementSpec, C> fmt::Debug for Authorized<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorized")
            .field("requirement", &R::REQUIREMENT.to_string())
            .field("principal", &self.principal)
            .finish()
    }
}

impl<R: RequirementSpec, C> Authorized<R, C> {
    /// A caller whose token was checked against `R`.
    pub(crate) fn new(principal: Principal<C>) -> Self {
        Authorized {
            principal,
            _requirement: PhantomData,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn standard(payload: &Value) -> StandardClaims {
        let mut claims = StandardClaims::default();
        claims.fill(payload.to_string().as_bytes()).unwrap();
        claims
    }

    fn scopes(source: &ScopeSource, payload: Value) -> Vec<String> {
        let full = payload.as_object().unwrap().clone();
        source.extract(&standard(&payload), &full).unwrap()
    }

    fn verified(payload: Value) -> Result<Verified, AuthError> {
        let mut claims = standard(&payload);
        let bytes = payload.to_string().into_bytes();
        let rules = ClaimRules {
            issuer: None,
            audiences: &[],
            audience_claim: "aud",
            leeway: 0,
            roles: &RoleSource::default(),
            certificate_bound: false,
        };
        // `iat` far in the past: these tests are about reading, not about the clock.
        Verified::from_claims(&mut claims, bytes, &ScopeSource::Standard, &rules, u64::MAX)
    }

    /// `audience_from_client_id` (Cognito): the audiences are compared with `client_id`, one
    /// string; a token that has an `aud` is refused.
    #[test]
    fn the_audience_may_be_read_from_client_id() {
        let audiences = ["app-client".to_owned()];
        let check = |audience_claim, payload: Value| {
            let rules = ClaimRules {
                issuer: None,
                audiences: &audiences,
                audience_claim,
                leeway: 0,
                roles: &RoleSource::default(),
                certificate_bound: false,
            };
            standard(&payload)
                .check(&rules, 1000)
                .map_err(|e| e.reason())
        };
        let access = json!({ "exp": 2000, "client_id": "app-client" });
        assert_eq!(check("client_id", access.clone()), Ok(()));
        assert_eq!(check("aud", access), Err(Reason::WrongAudience));
        for refused in [
            json!({ "exp": 2000, "aud": "app-client" }),
            json!({ "exp": 2000, "aud": "another-api", "client_id": "app-client" }),
            json!({ "exp": 2000, "aud": "app-client", "client_id": "app-client" }),
            json!({ "exp": 2000, "client_id": "other" }),
            json!({ "exp": 2000, "client_id": ["app-client"] }),
        ] {
            assert_eq!(check("client_id", refused), Err(Reason::WrongAudience));
        }
    }

    /// RFC 7519 §4.1.4: the current time must be before `exp` (the leeway added); §4.1.5: at
    /// or after `nbf` (the leeway subtracted).
    #[test]
    fn exp_is_exclusive_and_nbf_inclusive_with_the_leeway() {
        let check = |leeway, payload: Value, now| {
            let rules = ClaimRules {
                issuer: None,
                audiences: &[],
                audience_claim: "aud",
                leeway,
                roles: &RoleSource::default(),
                certificate_bound: false,
            };
            standard(&payload)
                .check(&rules, now)
                .map_err(|e| e.reason())
        };
        let exp = json!({ "exp": 1000 });
        assert_eq!(check(0, exp.clone(), 999), Ok(()));
        assert_eq!(check(0, exp.clone(), 1000), Err(Reason::Expired));
        assert_eq!(check(30, exp.clone(), 1029), Ok(()));
        assert_eq!(check(30, exp.clone(), 1030), Err(Reason::Expired));
        let nbf = json!({ "exp": 5000, "nbf": 1000 });
        assert_eq!(check(0, nbf.clone(), 999), Err(Reason::NotYetValid));
        assert_eq!(check(0, nbf.clone(), 1000), Ok(()));
        assert_eq!(check(30, nbf.clone(), 970), Ok(()));
        assert_eq!(check(30, nbf, 969), Err(Reason::NotYetValid));
    }

    #[test]
    fn control_characters_inside_a_scope_string_never_split_it() {
        let path = ScopeSource::claim_path("permissions");
        for sep in ['\t', '\n', '\r', '\x0b', '\x0c'] {
            let scope = format!("x{sep}read:reports");
            for (source, payload) in [
                (&ScopeSource::Standard, json!({ "scope": scope })),
                (&ScopeSource::Standard, json!({ "scp": scope })),
                (&path, json!({ "permissions": scope })),
            ] {
                assert_eq!(scopes(source, payload), [scope.as_str()], "{sep:?}");
            }
        }
    }

    #[test]
    fn repeated_spaces_leave_no_empty_scopes() {
        let read = |scope: &str| scopes(&ScopeSource::Standard, json!({ "scope": scope }));
        assert_eq!(read("  a   read:reports "), ["a", "read:reports"]);
        assert_eq!(read("a read:reports"), ["a", "read:reports"]);
        assert!(read("").is_empty());
        assert!(read("   ").is_empty());
    }

    /// Verification checks `exp`, `nbf` and `iat` with `numeric_date`; the values a
    /// [`Verified`] reports are read by the same rule, never truncated instead.
    #[test]
    fn fractional_time_claims_are_reported_as_verification_read_them() {
        let v = verified(json!({ "exp": 2000.6, "nbf": 1000.5, "iat": 999.4 })).unwrap();
        assert_eq!(v.expires_at(), 2001);
        assert_eq!(v.not_before(), Some(1001));
        assert_eq!(v.issued_at(), Some(999));
    }

    #[test]
    fn time_claims_out_of_range_or_null_are_refused_not_saturated_or_dropped() {
        for bad in [
            json!(2e19),
            json!(1e308),
            json!(-5),
            json!(null),
            json!("0"),
        ] {
            let err = verified(json!({ "exp": 2000, "iat": bad })).unwrap_err();
            assert_eq!(err.reason(), Reason::InvalidClaims, "iat {bad}");
            let err = verified(json!({ "exp": 2000, "nbf": bad })).unwrap_err();
            assert_eq!(err.reason(), Reason::InvalidClaims, "nbf {bad}");
        }
        for bad in [json!(2e19), json!(-1), json!(null), json!("2000")] {
            let err = verified(json!({ "exp": bad })).unwrap_err();
            assert_eq!(err.reason(), Reason::MissingExpiry, "exp {bad}");
        }
    }
}
