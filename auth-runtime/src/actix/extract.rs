//! The extractors: each runs the pipeline once per request (the outcome is kept in the
//! request's extensions), then checks its own requirement.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::http::header;
#[cfg(feature = "remote")]
use actix_web::HttpMessage;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::body::{form_token, gated, wants_form_body};
use super::outcome::{counted_verified, kept, put, record, settle, take};
use crate::authenticate::{begin, cached_header, complete, RequestView, Step};
use crate::claims::{Authorized, MaybePrincipal, Principal, Verified};
use crate::config::AuthConfig;
use crate::error::{AuthError, AuthRejection, Reason};
use crate::policy::{GuardSpec, Requirement, RequirementSpec};

/// Marks a request for which the middleware already waited on a key refresh.
#[cfg(feature = "remote")]
#[derive(Clone, Copy)]
pub(super) struct KeysRefreshed;

/// The pipeline's view of an actix-web request.
pub(super) fn view<'r>(
    req: &'r HttpRequest,
    config: &AuthConfig,
    body_token: Option<String>,
) -> RequestView<'r> {
    RequestView {
        authorization: authorization(req).collect(),
        query: req.query_string(),
        body_token,
        keys_refreshed: waited_for_keys(req, config),
    }
}

/// The request's `Authorization` field values, in order.
fn authorization(req: &HttpRequest) -> impl Iterator<Item = &[u8]> {
    req.headers()
        .get_all(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
}

/// Whether the middleware waited on a key fetch for this request (only a configuration with
/// remote keys asks: the others skip the lookup in the request's extensions).
fn waited_for_keys(req: &HttpRequest, config: &AuthConfig) -> bool {
    #[cfg(feature = "remote")]
    if config.has_remote_keys() {
        return req.extensions().get::<KeysRefreshed>().is_some();
    }
    let _ = (req, config);
    false
}

/// The configuration registered on the App: the one whose middleware the request went
/// through (`wrap`, the innermost) wins; else one registered by `app_data` (plain, then
/// `web::Data`). The flag says whether it came from the middleware ([`shadowed`] refuses a
/// different one registered closer to the route).
pub(super) fn config_of(req: &HttpRequest) -> Option<(&AuthConfig, bool)> {
    if let Some(w) = req.app_data::<super::middleware::Wrapped>() {
        return Some((&w.0, true));
    }
    req.app_data::<AuthConfig>()
        .or_else(|| {
            req.app_data::<actix_web::web::Data<AuthConfig>>()
                .map(|d| d.get_ref())
        })
        .map(|config| (config, false))
}

/// Why the configuration `wrapped`, whose middleware the request went through, cannot serve
/// it, if it cannot: a scope (or resource) closer to the route registers another one with
/// `app_data`. Which of the two was meant is not known (the middleware already decided with
/// its own: deny-by-default, a revocation check), and taking either could accept a token
/// the other refuses (another audience), so the route answers 500 naming the fix.
fn shadowed(req: &HttpRequest, wrapped: &AuthConfig) -> Option<&'static str> {
    let other = |c: &AuthConfig| !Arc::ptr_eq(&c.inner, &wrapped.inner);
    let closer = req.app_data::<AuthConfig>().is_some_and(other)
        || req
            .app_data::<actix_web::web::Data<AuthConfig>>()
            .is_some_and(|d| other(d.get_ref()));
    closer.then_some(
        "this route's scope registers an endpoint_auth::AuthConfig with `app_data` inside an \
         App (or scope) wrapped with another one: register the scope's configuration with \
         `.wrap(…)` on the scope instead (the innermost middleware governs its routes)",
    )
}

/// Why `config`, registered with `app_data` only (not the middleware the request went
/// through), cannot serve this request, if it cannot: one with remote keys, introspection,
/// a revocation check, deny-by-default or the form-body method must be the middleware.
/// Registered only as app data, a request that waits for keys or the check would let the
/// handler's other extractors (`Path`, `Query`, …) answer 404/400 before authentication
/// does; that weaker order is refused instead.
fn unusable(config: &AuthConfig) -> Option<&'static str> {
    #[cfg(feature = "remote")]
    if config.has_remote_keys() {
        return Some(
            "this route's endpoint_auth::AuthConfig has remote keys but is registered with \
             `app_data` only: register it with `App::wrap(auth_config.clone())` (or `.wrap` on \
             the scope), so that a key fetch completes before any other extractor can answer",
        );
    }
    #[cfg(feature = "remote")]
    if config.inner.introspection.is_some() {
        return Some(
            "this route's endpoint_auth::AuthConfig introspects tokens but is registered with \
             `app_data` only: register it with `App::wrap(auth_config.clone())` (or `.wrap` on \
             the scope), so that introspection completes before any other extractor can answer",
        );
    }
    if config.inner.deny_by_default {
        return Some(
            "this route's endpoint_auth::AuthConfig denies by default but is registered with \
             `app_data` only, where nothing guards the undeclared routes: register it with \
             `App::wrap(auth_config.clone())`",
        );
    }
    if config.inner.methods.form_body {
        return Some(
            "this route's endpoint_auth::AuthConfig accepts tokens in form bodies but is \
             registered with `app_data` only: register it with `App::wrap(auth_config.clone())` \
             (or `.wrap` on the scope), so that the body is read before any other extractor can \
             answer",
        );
    }
    if config.inner.revocation.is_some() {
        return Some(
            "this route's endpoint_auth::AuthConfig has a revocation check but is registered with \
             `app_data` only: register it with `App::wrap(auth_config.clone())` (or `.wrap` on \
             the scope), so that the check completes before any other extractor can answer",
        );
    }
    None
}

/// The future of the extractors: ready at once unless authentication needs I/O the
/// middleware did not already do (a key fetch, a revocation check).
///
/// Everything up to an authorized [`Verified`] is non-generic code shared by every extractor
/// type; only the last step (building `T`) is generic, so each requirement type
/// (`Authorized<R>`, the `#[requires]` guard) adds little code. On the common path the answer
/// is computed before the future is returned: nothing is boxed and the configuration is
/// borrowed, not cloned.
pub struct AuthFuture<T>(Either<T>);

// `T` is only ever moved out of an `Option`, never polled or pinned in place.
impl<T> Unpin for AuthFuture<T> {}

enum Either<T> {
    Ready(Option<Result<T, AuthRejection>>),
    Pending {
        core: Pin<Box<dyn Future<Output = Outcome>>>,
        finish: Finish<T>,
        req: HttpRequest,
    },
}

/// Builds an extractor's value from the authorized token (`None`: an anonymous caller, which
/// only [`Demand::TokenIfPresent`] lets through).
type Finish<T> = fn(Option<Arc<Verified>>) -> Result<T, AuthError>;

/// What an extractor demands of the request.
#[derive(Clone, Copy)]
enum Demand {
    /// A valid token that satisfies the requirement, if there is one.
    Token(Option<Requirement>),
    /// Optional authentication: a valid token, or no credentials at all (anonymous). Bad
    /// credentials are refused as under [`Demand::Token`].
    TokenIfPresent,
}

impl Demand {
    fn requirement(&self) -> Option<&Requirement> {
        match self {
            Demand::Token(requirement) => requirement.as_ref(),
            Demand::TokenIfPresent => None,
        }
    }
}

/// What [`authorize_request`] decided: at once, or after I/O.
enum Core {
    Ready(Option<Result<Option<Arc<Verified>>, AuthRejection>>),
    Pending(Pin<Box<dyn Future<Output = Outcome>>>),
}

/// An authorized token (or an anonymous caller), with what is needed to reject it if
/// `finish` fails; or the rejection.
type Outcome = Result<(Option<Arc<Verified>>, AuthConfig, Demand), AuthRejection>;

/// The token of an extractor that demanded one: [`authorize`] only lets a request without
/// credentials through for [`Demand::TokenIfPresent`], so `None` never reaches here; were it
/// to, it would be refused as missing credentials.
fn present(verified: Option<Arc<Verified>>) -> Result<Arc<Verified>, AuthError> {
    verified.ok_or_else(AuthError::missing)
}

impl<T> Future for AuthFuture<T> {
    type Output = Result<T, AuthRejection>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Only boxed futures and plain values inside: nothing is pinned in place.
        match &mut self.get_mut().0 {
            Either::Ready(out) => {
                Poll::Ready(out.take().expect("AuthFuture polled after completion"))
            }
            Either::Pending { core, finish, req } => core.as_mut().poll(cx).map(|outcome| {
                outcome.and_then(|(verified, config, demand)| {
                    finish(verified).map_err(|e| refuse(req, &config, e, demand))
                })
            }),
        }
    }
}

fn extract<T>(
    req: &HttpRequest,
    payload: &mut Payload,
    demand: Demand,
    finish: Finish<T>,
) -> AuthFuture<T> {
    AuthFuture(match authorize_request(req, payload, demand, true) {
        Core::Ready(outcome) => Either::Ready(outcome.map(|outcome| {
            outcome.and_then(|verified| {
                finish(verified).map_err(|e| match config_of(req) {
                    Some((config, _)) => refuse(req, config, e, demand),
                    None => AuthRejection::misconfigured(),
                })
            })
        })),
        Core::Pending(core) => Either::Pending {
            core,
            finish,
            req: req.clone(),
        },
    })
}

/// `e` as the extractor's rejection under what it demanded, reported once per request and
/// reason ([`report`]): a refused outcome, a `Principal<C>` whose claims do not have `C`'s
/// shape, a check's denial.
fn refuse(req: &HttpRequest, config: &AuthConfig, e: AuthError, demand: Demand) -> AuthRejection {
    let rejection = config.reject_unlogged(e, demand.requirement());
    report(req, &rejection, demand.requirement(), None);
    rejection
}

/// Authenticates the request and checks what the extractor demands. `hand_back`: whether
/// the extractor takes the token (else an authorized request answers `Ok(None)`, and the
/// token stays where it is kept, untouched).
fn authorize_request(
    req: &HttpRequest,
    payload: &mut Payload,
    demand: Demand,
    hand_back: bool,
) -> Core {
    let Some((config, wrapped)) = config_of(req) else {
        return Core::Ready(Some(Err(AuthRejection::misconfigured())));
    };
    let refused = if wrapped {
        shadowed(req, config)
    } else {
        unusable(config)
    };
    if let Some(why) = refused {
        return Core::Ready(Some(Err(AuthRejection::misconfigured_because(why))));
    }
    // The common case, behind the middleware: one look at the request's slot finds the
    // token an earlier extractor kept, or that nothing was decided yet and the header's
    // token is one this thread verified before; decided on the token where it lies (no
    // reference count but the slot's own), and counted once.
    let mut looked_up = false;
    if let Some(kept) = take(req) {
        let verified = match kept {
            Some(verified) => Some(verified),
            None if wants_form_body(req, config) => None,
            None => {
                looked_up = true;
                cached_header(config, authorization(req)).inspect(|v| counted_verified(v))
            }
        };
        if let Some(verified) = verified {
            let decided = authorize_verified(req, config, &verified, demand);
            let handed = hand_back.then(|| verified.clone());
            put(verified);
            return Core::Ready(Some(decided.map(|()| handed)));
        }
    }
    // After a look that found the slot empty and the cache without the token, nothing is
    // kept to look for again: the full first step decides (verification, or why not).
    let step = match (!looked_up).then(|| kept(req)).flatten() {
        Some(outcome) => Step::Done(outcome),
        // The form-body method needs the middleware (see `unusable`), which read the body
        // before routing: decided from what it found there. (Were nothing found, the body's
        // token would not count: the request is judged on its header and query alone.)
        None if wants_form_body(req, config) => {
            begin_with(req, config, form_token(req).unwrap_or(Ok(None)))
        }
        None if looked_up => begin_with(req, config, Ok(None)),
        // Nothing recorded yet (just looked): counted without a second lookup.
        None => match cached_header(config, authorization(req)) {
            Some(verified) => Step::Done(record(req, Ok(verified))),
            None => begin_with(req, config, Ok(None)),
        },
    };
    if let Step::Done(outcome) = step {
        return Core::Ready(Some(authorize(req, config, outcome, demand)));
    }
    // From here on the answer needs I/O (fetching keys). Later extractors get a gated payload
    // that yields the body only once we are done, so a body extractor cannot answer before
    // authentication does.
    let (original, gate) = gated(payload);
    let req = req.clone();
    let config = config.clone();
    Core::Pending(Box::pin(async move {
        let outcome = settle(&req, complete(&config, step).await);
        let result = authorize(&req, &config, outcome, demand);
        gate.borrow_mut().open(original);
        result.map(|verified| (verified, config, demand))
    }))
}

/// Authentication from the request's header (and query) and the form body's token as
/// found (`Ok(None)`: none, or no body read); an outcome is recorded for the request.
fn begin_with(
    req: &HttpRequest,
    config: &AuthConfig,
    body_token: Result<Option<String>, AuthError>,
) -> Step {
    match begin_found(req, config, body_token) {
        Step::Done(outcome) => Step::Done(record(req, outcome)),
        pending => pending,
    }
}

/// The first step of authentication from the request's header (and query) and what reading
/// a form body found: its token (`Ok(None)`: none, or no body read), or why the body cannot
/// be used. Nothing is recorded.
pub(super) fn begin_found(
    req: &HttpRequest,
    config: &AuthConfig,
    body_token: Result<Option<String>, AuthError>,
) -> Step {
    match body_token {
        Ok(token) => begin(config, view(req, config, token)),
        Err(e) => Step::Done(Err(e)),
    }
}

/// Checks the demand against the outcome: `None` for a request without credentials where
/// authentication is optional; explains a refusal when debug logging is on.
fn authorize(
    req: &HttpRequest,
    config: &AuthConfig,
    outcome: Result<Arc<Verified>, AuthError>,
    demand: Demand,
) -> Result<Option<Arc<Verified>>, AuthRejection> {
    match outcome {
        Ok(verified) => authorize_verified(req, config, &verified, demand).map(|()| Some(verified)),
        // Only the absence of credentials is anonymous: a malformed header, a bad token or
        // unavailable keys are refused like anywhere else.
        Err(e) if matches!(demand, Demand::TokenIfPresent) && e.reason() == Reason::Missing => {
            Ok(None)
        }
        Err(e) => Err(refuse(req, config, e, demand)),
    }
}

/// Checks the demand against a token that verified; explains a refusal when debug logging
/// is on.
fn authorize_verified(
    req: &HttpRequest,
    config: &AuthConfig,
    verified: &Verified,
    demand: Demand,
) -> Result<(), AuthRejection> {
    let requirement = demand.requirement();
    let path_param = |name: &str| req.match_info().get(name).map(path_value);
    config
        .authorize_verified(verified, requirement, &path_param)
        .inspect_err(|rejection| report(req, rejection, requirement, Some(verified)))
}

/// A path parameter as `web::Path` hands it to the handler. actix-web's router leaves `%2F`,
/// `%2B` and `%25` encoded in the match info (so that `/` stays a segment boundary) and the
/// path extractor decodes them, with actix-router's own function, used here too: a
/// `claim(x = path.y)` compares the very value the handler then acts on, so `acme%2Fhr` in a
/// token never matches the path that reaches tenant `acme/hr`.
fn path_value(raw: &str) -> String {
    match actix_router::Quoter::new(b"", b"").requote(raw.as_bytes()) {
        Some(decoded) => String::from_utf8_lossy(&decoded).into_owned(),
        None => raw.to_owned(),
    }
}

/// The refusals logged (and counted) for the request so far, by reason: each of the
/// handler's extractors that refuses the same bad token finds its reason here.
struct Reported(Vec<Reason>);

/// Logs a refusal, and explains it when debug logging is on, once per request and reason: a
/// handler whose guard and `Principal` both refuse a bad token logs one line. A refusal for
/// another reason (a check's denial, a `Principal<C>` whose claims do not fit `C`) is logged
/// too, so that whichever one the client gets is in the log, even when an extractor the
/// handler wraps (`Result<Authorized<R>, _>`) swallowed the first.
fn report(
    req: &HttpRequest,
    rejection: &AuthRejection,
    requirement: Option<&Requirement>,
    granted: Option<&Verified>,
) {
    let reason = rejection.error().reason();
    {
        let mut extensions = actix_web::HttpMessage::extensions_mut(req);
        match extensions.get_mut::<Reported>() {
            Some(Reported(seen)) if seen.contains(&reason) => return,
            Some(Reported(seen)) => seen.push(reason),
            None => {
                extensions.insert(Reported(vec![reason]));
            }
        }
    }
    rejection.log();
    if tracing::enabled!(target: "endpoint_auth", tracing::Level::DEBUG) {
        explain(req, rejection, requirement, granted);
    }
}

/// "Why was this request rejected?", at debug level: the route, the reason, what a claim
/// check compared (configured vs presented, escaped and truncated), the required and the
/// granted scopes. Never the token. The response itself stays terse.
fn explain(
    req: &HttpRequest,
    rejection: &AuthRejection,
    requirement: Option<&Requirement>,
    granted: Option<&Verified>,
) {
    let error = rejection.error();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| crate::error::loggable(req.path()));
    let mismatch = error.mismatch();
    let granted = granted.map(|v| {
        let scopes: Vec<String> = v
            .scopes()
            .iter()
            .map(|s| crate::error::loggable(s))
            .collect();
        scopes.join(" ")
    });
    tracing::debug!(
        target: "endpoint_auth",
        method = %req.method(),
        route = %route,
        reason = error.reason().code(),
        status = error.status(),
        claim = mismatch.map(|m| m.0),
        expected = mismatch.map(|m| m.1),
        presented = mismatch.map(|m| m.2),
        required = requirement.map(|r| r.to_string()),
        granted,
        "why the request was rejected"
    );
}

/// Extracts the authenticated caller; answers 401 when there is no valid token.
///
/// `C` is the application's own claims type (default [`NoExtraClaims`](crate::NoExtraClaims)).
impl<C: DeserializeOwned + Unpin + 'static> FromRequest for Principal<C> {
    type Error = AuthRejection;
    type Future = AuthFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, Demand::Token(None), |verified| {
            Principal::from_verified(present(verified)?)
        })
    }
}

/// Extracts the caller if the request presents credentials: `None` without any, the usual
/// 400/401 (or 503) for bad ones, never an anonymous caller in their place.
///
/// Not `Option<Principal>`: actix-web's `Option<T>` extractor turns every rejection into
/// `None`, bad tokens included (see [`MaybePrincipal`]).
impl<C: DeserializeOwned + Unpin + 'static> FromRequest for MaybePrincipal<C> {
    type Error = AuthRejection;
    type Future = AuthFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, Demand::TokenIfPresent, |verified| {
            Ok(verified.map(Principal::from_verified).transpose()?.into())
        })
    }
}

impl<R: RequirementSpec, C: DeserializeOwned + Unpin + 'static> FromRequest for Authorized<R, C> {
    type Error = AuthRejection;
    type Future = AuthFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // A hand-written `RequirementSpec` is checked when this is compiled for it, as
        // `#[requires]` checks its own arguments: a scope no token could carry is a build error.
        const {
            assert!(
                R::REQUIREMENT.is_well_formed(),
                "this RequirementSpec names a scope or acr value that is not an RFC 6749 \
                 scope-token (no space, `\"`, `\\`, control or non-ASCII character)"
            )
        };
        let demand = Demand::Token(Some(R::REQUIREMENT));
        extract(req, payload, demand, |verified| {
            let principal = Principal::from_verified(present(verified)?)?;
            Ok(Authorized::new(principal))
        })
    }
}

/// The extractor `#[requires]` adds: the checks of [`Authorized`]`<R>` (401, then 403), and
/// nothing handed to the handler, which takes a [`Principal`] if it wants the caller.
///
/// Its future and its drop are trivial; all the work is in code shared by every handler, so
/// the per-handler cost of the attribute stays small at compile time.
#[doc(hidden)]
pub struct Guard<R: GuardSpec>(PhantomData<fn() -> R>);

#[doc(hidden)]
pub struct GuardFuture<R>(Core, PhantomData<fn() -> R>);

impl<R: GuardSpec> Future for GuardFuture<R> {
    type Output = Result<Guard<R>, AuthRejection>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outcome = match &mut self.get_mut().0 {
            Core::Ready(outcome) => outcome
                .take()
                .expect("GuardFuture polled after completion")
                .map(drop),
            Core::Pending(core) => match core.as_mut().poll(cx) {
                Poll::Ready(outcome) => outcome.map(drop),
                Poll::Pending => return Poll::Pending,
            },
        };
        Poll::Ready(outcome.map(|()| Guard(PhantomData)))
    }
}

impl<R: GuardSpec> FromRequest for Guard<R> {
    type Error = AuthRejection;
    type Future = GuardFuture<R>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        GuardFuture(
            authorize_request(req, payload, Demand::Token(Some(R::REQUIREMENT)), false),
            PhantomData,
        )
    }
}

/// The extractor `#[requires(…, check = …)]` adds: the checks of [`Guard`] (401, then 403),
/// then the handler's checks in order, while the body is held back from the handler's other
/// extractors until all of them have allowed the request.
#[doc(hidden)]
pub struct CheckedGuard<R: GuardSpec, C: super::check::Checks>(PhantomData<fn() -> (R, C)>);

impl<R: GuardSpec, C: super::check::Checks> FromRequest for CheckedGuard<R, C> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        use super::check::{Decision, Stopped};
        let core = authorize_request(req, payload, Demand::Token(Some(R::REQUIREMENT)), false);
        // Whatever the handler's extractors get comes through this gate, opened once the
        // checks are done.
        let (original, gate) = gated(payload);
        let req = req.clone();
        Box::pin(async move {
            let authorized = match core {
                Core::Ready(mut outcome) => outcome
                    .take()
                    .expect("CheckedGuard's core is read once")
                    .map(drop),
                Core::Pending(core) => core.await.map(drop),
            };
            let outcome = match authorized {
                Err(rejection) => Err(rejection.into()),
                Ok(()) => C::run(req.clone()).await.map_err(|stopped| {
                    let error = match stopped {
                        Stopped::Extract(e) => return e,
                        Stopped::Decided(Decision::Hide) => AuthError::check_hidden(),
                        Stopped::Decided(Decision::Deny(why)) => AuthError::check_denied(why),
                        Stopped::Decided(_) => AuthError::check_denied("refused"),
                    };
                    match config_of(&req) {
                        Some((config, _)) => {
                            refuse(&req, config, error, Demand::Token(Some(R::REQUIREMENT))).into()
                        }
                        None => AuthRejection::misconfigured().into(),
                    }
                }),
            };
            gate.borrow_mut().open(original);
            outcome.map(|()| CheckedGuard(PhantomData))
        })
    }
}
