//! The authentication pipeline, on a framework-neutral view of a request: find the token,
//! serve it from the verified-token cache, or verify it (fetching remote keys first when
//! they are needed and the token could be ours), then check the endpoint's requirement.
//!
//! An adapter builds a [`RequestView`] and calls [`AuthConfig::authenticate`]; the actix-web
//! adapter uses the two halves, `begin` (no I/O) and `complete` (awaits a key fetch or the
//! revocation check), so that the common case answers without a future of its own.

use std::borrow::Cow;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::challenge::join_scopes;
use crate::claims::Verified;
use crate::config::AuthConfig;
use crate::credentials::{
    check_token, find_access_token, parse_authorization_unchecked, single_token,
};
use crate::error::{AuthError, AuthRejection};
use crate::issuer::select;
#[cfg(feature = "remote")]
use crate::issuer::Issuer;
#[cfg(feature = "remote")]
use crate::keys::remote::{Cause, Lookup, RemoteKeys};
use crate::policy::{Presented, Requirement, Unmet};

/// Seconds since the epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the pipeline reads of a request, whatever the web framework.
#[derive(Debug, Default)]
pub struct RequestView<'r> {
    /// Every `Authorization` field value of the request, in order.
    pub authorization: SmallVec<[&'r [u8]; 2]>,
    /// The raw query string (only searched when the query method is enabled).
    pub query: &'r str,
    /// The `access_token` of a form body, when the adapter read one (form-body method).
    pub body_token: Option<String>,
    /// The adapter already waited on a key refresh for this request (its middleware did):
    /// use the keys at hand, never ask for another fetch.
    pub keys_refreshed: bool,
}

impl AuthConfig {
    /// Authenticates a request: the verified token, or why not (400/401/503). Verification
    /// needs no network unless remote keys must be fetched first.
    pub async fn authenticate(&self, request: RequestView<'_>) -> Result<Arc<Verified>, AuthError> {
        let step = begin(self, request);
        complete(self, step).await
    }

    /// Checks `requirement` (if any) against an authentication outcome; renders a refusal in
    /// this configuration's protection space.
    pub fn authorize(
        &self,
        outcome: Result<Arc<Verified>, AuthError>,
        requirement: Option<&Requirement>,
    ) -> Result<Arc<Verified>, AuthRejection> {
        self.authorize_with(outcome, requirement, &|_| None)
    }

    /// [`authorize`](Self::authorize) for a request whose path parameters `path_param`
    /// looks up by name, for `claim(name = path.param)` requirements.
    pub fn authorize_with(
        &self,
        outcome: Result<Arc<Verified>, AuthError>,
        requirement: Option<&Requirement>,
        path_param: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Arc<Verified>, AuthRejection> {
        let verified = outcome.map_err(|e| self.reject(e, requirement))?;
        self.authorize_verified(&verified, requirement, path_param)
            .inspect_err(AuthRejection::log)?;
        Ok(verified)
    }

    /// [`authorize_with`](Self::authorize_with) for a token that verified, borrowed: the
    /// adapter's common case, which keeps the token where it found it. A refusal is not
    /// logged here ([`AuthRejection::log`]: once per request, by the caller).
    pub(crate) fn authorize_verified(
        &self,
        verified: &Verified,
        requirement: Option<&Requirement>,
        path_param: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), AuthRejection> {
        let Some(r) = requirement else {
            return Ok(());
        };
        // Scopes alone are the common case, decided without roles or a clock.
        let outcome = if !r.scopes_only() {
            r.check(&Presented {
                scopes: verified.scopes(),
                roles: verified.roles(),
                claims: r.has_claims().then(|| verified.claims()),
                path_param,
                acr: verified.acr(),
                issuer: Some(verified.trusted_issuer()),
                auth_time: verified.auth_time(),
                now: now(),
            })
        } else {
            r.evaluate(verified.scopes()).map_err(Unmet::Scope)
        };
        let refused = match outcome {
            Ok(()) => return Ok(()),
            Err(Unmet::Scope(unsatisfied)) => {
                AuthError::insufficient_scope(join_scopes(unsatisfied.hint))
            }
            Err(Unmet::Grant) => AuthError::insufficient_grant(),
            Err(Unmet::Authentication(step_up)) => {
                AuthError::insufficient_user_authentication(&step_up.acr_values, step_up.max_age)
            }
        };
        let refused = match &verified.trusted_issuer {
            Some(name) if verified.labelled => refused.with_issuer(name.clone()),
            _ => refused,
        };
        Err(self.reject_unlogged(refused, Some(r)))
    }
}

/// Where authentication stands after the synchronous part.
pub(crate) enum Step {
    Done(Result<Arc<Verified>, AuthError>),
    /// Remote keys must be fetched first.
    #[cfg(feature = "remote")]
    Fetch {
        token: String,
        /// The position of the token's issuer in the configuration.
        issuer: u16,
        remote: Arc<RemoteKeys>,
        /// The single-flight generation the lookup saw.
        generation: u64,
        cause: Cause,
        /// The key-set generation before the lookup, for the token cache.
        key_generation: u64,
    },
    /// An opaque token: the introspection endpoint must be asked.
    #[cfg(feature = "remote")]
    Introspect {
        token: String,
    },
    /// A verified JWT that introspection must confirm (it checks JWTs too).
    #[cfg(feature = "remote")]
    IntrospectJwt {
        token: String,
        verified: Arc<Verified>,
    },
    /// Verified (or served from the cache); the revocation check remains.
    Revocation(Arc<Verified>),
}

/// A fresh verification's outcome; successes are offered to the token cache under the
/// key-set generation that was current before the keys were looked up.
fn verified(
    config: &AuthConfig,
    token: &str,
    key_generation: u64,
    outcome: Result<Verified, AuthError>,
) -> Result<Arc<Verified>, AuthError> {
    let outcome = outcome.map(Arc::new);
    if let (Ok(v), Some(cache)) = (&outcome, &config.inner.cache) {
        cache.offer(token, v, key_generation);
    }
    outcome
}

/// Finds the token and verifies it if that needs no network; a verified token still goes
/// through the revocation check, when one is configured.
pub(crate) fn begin(config: &AuthConfig, request: RequestView<'_>) -> Step {
    match verify_step(config, request) {
        // An introspected token was just judged by its authorization server.
        Step::Done(Ok(verified)) if config.inner.revocation.is_some() && !verified.introspected => {
            Step::Revocation(verified)
        }
        step => step,
    }
}

fn verify_step(config: &AuthConfig, request: RequestView<'_>) -> Step {
    let key_generation = config.key_generation();
    let keys_refreshed = request.keys_refreshed;
    let token = match find_token(config, request, key_generation) {
        Ok(Found::Verified(hit, _raw)) => {
            #[cfg(feature = "remote")]
            if let Some(introspector) = jwt_introspection(config) {
                // A cached JWT passed the b64token check when it was first verified.
                let token = std::str::from_utf8(&_raw).unwrap_or_default();
                return introspector.begin_jwt(token, hit);
            }
            return Step::Done(Ok(hit));
        }
        Ok(Found::NotCached(token)) => token,
        Err(e) => return Step::Done(Err(e)),
    };
    // Not a JWT, and introspection is configured: the authorization server decides.
    #[cfg(feature = "remote")]
    if let Some(introspector) = &config.inner.introspection {
        if !crate::introspection::is_jwt_shaped(&token) {
            // The limit holds for every token: an opaque one over it never becomes the body
            // of a request to the authorization server.
            if token.len() > config.inner.max_token_bytes {
                return Step::Done(Err(AuthError::too_large()));
            }
            return introspector.begin(&token);
        }
    }
    // One issuer: nothing to choose. Several: the token's `iss` picks the only one whose
    // keys may verify it, before any key is looked up (an untrusted one is 401 here).
    let issuer = match select(&config.inner.issuers, &token, config.inner.max_token_bytes) {
        Ok(issuer) => issuer,
        Err(e) => return Step::Done(Err(e)),
    };
    #[cfg(feature = "remote")]
    if let Some(remote) = &issuer.remote {
        let step = begin_remote(
            config,
            issuer,
            remote,
            token.clone(),
            key_generation,
            keys_refreshed,
        );
        return match step {
            Step::Done(Ok(v)) => match jwt_introspection(config) {
                Some(introspector) => introspector.begin_jwt(&token, v),
                None => Step::Done(Ok(v)),
            },
            Step::Done(outcome) => Step::Done(outcome.map_err(|e| issuer.stamp(e))),
            fetch => fetch,
        };
    }
    let _ = keys_refreshed;
    let outcome = issuer.verifier.verify(&token).map_err(|e| issuer.stamp(e));
    let outcome = verified(config, &token, key_generation, outcome);
    #[cfg(feature = "remote")]
    if let (Ok(v), Some(introspector)) = (&outcome, jwt_introspection(config)) {
        return introspector.begin_jwt(&token, v.clone());
    }
    Step::Done(outcome)
}

/// The introspector, when it checks JWTs too.
#[cfg(feature = "remote")]
fn jwt_introspection(config: &AuthConfig) -> Option<&crate::introspection::Introspector> {
    config
        .inner
        .introspection
        .as_ref()
        .filter(|i| i.checks_jwts())
}

#[cfg(feature = "remote")]
fn begin_remote(
    config: &AuthConfig,
    issuer: &Issuer,
    remote: &Arc<RemoteKeys>,
    token: Cow<'_, str>,
    key_generation: u64,
    keys_refreshed: bool,
) -> Step {
    let verifier = &issuer.verifier;
    let pre = match verifier.prechecked(&token) {
        Ok(pre) => pre,
        Err(e) => return Step::Done(Err(e)),
    };
    let lookup = if keys_refreshed {
        remote.lookup_after_refresh(pre.kid())
    } else {
        remote.lookup(pre.kid())
    };
    if !matches!(lookup, Lookup::Ready(_)) {
        // No keys at hand: what needs none decides first, so a token that could never be
        // ours neither waits for nor causes a fetch, and is 401 rather than 503.
        if let Err(e) = verifier.check_unverified_claims(&token) {
            return Step::Done(Err(e));
        }
    }
    match lookup {
        Lookup::Ready(keys) => Step::Done(verified(
            config,
            &token,
            key_generation,
            verifier.verify_prechecked(&token, pre, &keys),
        )),
        Lookup::Unavailable { retry_after_secs } => {
            Step::Done(Err(AuthError::unavailable(retry_after_secs)))
        }
        Lookup::Fetch { generation, cause } => Step::Fetch {
            token: token.into_owned(),
            issuer: verifier.index,
            remote: remote.clone(),
            generation,
            cause,
            key_generation,
        },
    }
}

/// The network part: wait for the (shared) refresh, then verify with what is there; then
/// the revocation check.
pub(crate) async fn complete(config: &AuthConfig, step: Step) -> Result<Arc<Verified>, AuthError> {
    let verified = match step {
        Step::Done(outcome) => return outcome,
        Step::Revocation(verified) => verified,
        #[cfg(feature = "remote")]
        Step::Introspect { token } => {
            return match &config.inner.introspection {
                Some(introspector) => introspector.introspect(config, &token).await,
                None => unreachable!("only a configuration with introspection asks for it"),
            };
        }
        #[cfg(feature = "remote")]
        Step::IntrospectJwt { token, verified } => match &config.inner.introspection {
            Some(introspector) => {
                introspector
                    .introspect_jwt(config, &token, verified)
                    .await?
            }
            None => unreachable!("only a configuration with introspection asks for it"),
        },
        #[cfg(feature = "remote")]
        Step::Fetch {
            token,
            issuer,
            remote,
            generation,
            cause,
            key_generation,
        } => {
            remote.refresh(generation, cause).await;
            let issuer = &config.inner.issuers[usize::from(issuer)];
            let verifier = &issuer.verifier;
            let outcome = verifier
                .prechecked(&token)
                .and_then(|pre| match remote.lookup_after_refresh(pre.kid()) {
                    Lookup::Ready(keys) => verifier.verify_prechecked(&token, pre, &keys),
                    Lookup::Unavailable { retry_after_secs } => {
                        Err(AuthError::unavailable(retry_after_secs))
                    }
                    Lookup::Fetch { .. } => {
                        unreachable!("lookup_after_refresh never asks to fetch")
                    }
                })
                .map_err(|e| issuer.stamp(e));
            let verified = verified(config, &token, key_generation, outcome)?;
            match jwt_introspection(config) {
                Some(introspector) => {
                    introspector
                        .introspect_jwt(config, &token, verified)
                        .await?
                }
                None => verified,
            }
        }
    };
    crate::revocation::check(config, verified).await
}

/// The common case, decided without a [`RequestView`]: the `Authorization` header's token
/// is one this thread verified before, and nothing else could change the answer (the header
/// is the only method in use here, JWTs are not introspected, there is no revocation check).
/// What [`begin`] decides for such a request, with less work; `None` when [`begin`] must
/// decide (the caller has ruled out a form-body token).
pub(crate) fn cached_header<'r>(
    config: &AuthConfig,
    authorization: impl IntoIterator<Item = &'r [u8]>,
) -> Option<Arc<Verified>> {
    let inner = &config.inner;
    #[cfg(feature = "remote")]
    if jwt_introspection(config).is_some() {
        return None;
    }
    if inner.methods.query || inner.revocation.is_some() {
        return None;
    }
    let raw = parse_authorization_unchecked(authorization).ok()??;
    cache_hit(config, raw, config.key_generation())
}

/// What [`find_token`] found.
enum Found<'r> {
    /// A token verified before and still cached, and the token.
    Verified(Arc<Verified>, Cow<'r, [u8]>),
    /// A token to verify: not cached.
    NotCached(Cow<'r, str>),
}

fn find_token<'r>(
    config: &AuthConfig,
    request: RequestView<'r>,
    key_generation: u64,
) -> Result<Found<'r>, AuthError> {
    let header = parse_authorization_unchecked(request.authorization.iter().copied())?;
    let query_method = config.inner.methods.query;
    // The common case, the header as the only method: a token that is, byte for byte, one
    // verified before passed the b64token check then, so a cache hit skips the check.
    if let (Some(raw), false, None) = (header, query_method, &request.body_token) {
        if let Some(hit) = cache_hit(config, raw, key_generation) {
            return Ok(Found::Verified(hit, Cow::Borrowed(raw)));
        }
        return Ok(Found::NotCached(Cow::Borrowed(check_token(raw)?)));
    }
    let header = header.map(check_token).transpose()?;
    let query = if query_method {
        find_access_token(request.query.as_bytes())?
    } else {
        None
    };
    let token = single_token(header, query, request.body_token)?.ok_or_else(AuthError::missing)?;
    Ok(match cache_hit(config, token.as_bytes(), key_generation) {
        Some(hit) => Found::Verified(
            hit,
            match token {
                Cow::Borrowed(t) => Cow::Borrowed(t.as_bytes()),
                Cow::Owned(t) => Cow::Owned(t.into_bytes()),
            },
        ),
        None => Found::NotCached(token),
    })
}

/// The cached verification of `token`, if it may be used.
fn cache_hit(config: &AuthConfig, token: &[u8], key_generation: u64) -> Option<Arc<Verified>> {
    let hit = config.inner.cache.as_ref()?.get(token, key_generation)?;
    // With remote keys, a hit also needs usable keys of its issuer: past their stale limit
    // the normal path answers 503, and a key removed upstream changes the generation.
    #[cfg(feature = "remote")]
    if let Some(remote) = &config.inner.issuers[usize::from(hit.issuer_index)].remote {
        return remote.ready().then_some(hit);
    }
    Some(hit)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::{Algorithm, AuthConfigBuilder, Key};

    const SECRET: &[u8] = b"a secret of thirty-two bytes or more, for HS256";

    fn token() -> String {
        let claims = json!({
            "iss": "https://issuer.example/",
            "aud": "reports",
            "sub": "u1",
            "scope": "read:reports",
            "iat": now(),
            "exp": now() + 300,
        });
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    fn config(more: impl FnOnce(AuthConfigBuilder) -> AuthConfigBuilder) -> AuthConfig {
        let builder = AuthConfig::builder()
            .realm("reports")
            .issuer("https://issuer.example/")
            .audience("reports")
            .key(Key::hmac(Algorithm::HS256, SECRET).unwrap());
        more(builder).build().unwrap()
    }

    /// Verifies `token` from the header often enough for the token cache to keep it (it
    /// admits a token on its second sighting).
    fn verify_until_cached(config: &AuthConfig, header: &str) {
        for _ in 0..2 {
            let view = RequestView {
                authorization: [header.as_bytes()].into_iter().collect(),
                ..RequestView::default()
            };
            let step = verify_step(config, view);
            assert!(!matches!(step, Step::Done(Err(_))), "the token verifies");
        }
    }

    /// The shortcut serves a cached header token only where the header alone decides: with
    /// the query method on, a request may carry a second token (400); with a revocation check
    /// or JWT introspection, a cached signature is not the whole answer.
    #[test]
    fn the_cached_header_shortcut_stands_aside_where_the_header_is_not_the_whole_answer() {
        let header = format!("Bearer {}", token());
        let plain = config(|b| b);
        verify_until_cached(&plain, &header);
        assert!(
            cached_header(&plain, [header.as_bytes()]).is_some(),
            "control: the header alone decides, and the token is cached"
        );

        let query = config(AuthConfigBuilder::allow_query_token);
        let revocation =
            config(|b| b.revocation_check(crate::revocation::MemoryRevocationList::new()));
        #[allow(unused_mut)]
        let mut others = vec![("query method", query), ("revocation check", revocation)];
        #[cfg(feature = "remote")]
        others.push((
            "JWT introspection",
            config(|b| {
                b.introspection(
                    crate::introspection::Introspection::new(
                        "http://127.0.0.1:9/introspect",
                        "reports-api",
                        "secret",
                    )
                    .introspect_jwts(true),
                )
            }),
        ));
        for (what, config) in others {
            verify_until_cached(&config, &header);
            let cache = config.inner.cache.as_ref().unwrap();
            assert!(
                cache
                    .get(token_of(&header), config.key_generation())
                    .is_some(),
                "{what}: cached"
            );
            assert!(
                cached_header(&config, [header.as_bytes()]).is_none(),
                "{what}: the shortcut must leave the request to the full pipeline"
            );
        }
    }

    fn token_of(header: &str) -> &[u8] {
        header.strip_prefix("Bearer ").unwrap().as_bytes()
    }
}
