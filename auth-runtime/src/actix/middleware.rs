//! `App::wrap(config)`: the configuration as the App's middleware.
//!
//! # What it costs a request
//!
//! Each worker builds its middleware once, with the configuration in an app-data container
//! of its own (an `Rc`, local to the worker's thread). A request then pays: pushing that
//! container onto the request's app-data list (a non-atomic count, no allocation); moving the
//! request's outcome slot in and out of a thread-local on each poll of its future (two words
//! each way; see `outcome.rs`, which is why the extractors allocate nothing to keep the
//! outcome); and, with remote keys and an `Authorization` header, the header's syntax check
//! and a lock-free read of the current keys. No `AuthConfig` clone (a shared atomic count),
//! no lock, no boxed future: the inner service's future is wrapped as is, and a future is
//! boxed only for a request that must wait for a key fetch. A public route pays the push and
//! the slot (about 100 instructions; reading the `Authorization` header costs more).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_utils::future::Either;
use actix_web::body::{BoxBody, MessageBody};
#[cfg(feature = "remote")]
use actix_web::http::header;
#[cfg(feature = "remote")]
use actix_web::HttpMessage;

use super::extract::view;
#[cfg(feature = "remote")]
use super::extract::KeysRefreshed;
use super::outcome::{counted_once, label, settle, Scoped};
use crate::authenticate::{begin, complete, Step};
use crate::claims::Verified;
use crate::config::AuthConfig;
#[cfg(feature = "remote")]
use crate::credentials::{find_access_token, parse_authorization};
#[cfg(feature = "remote")]
use crate::keys::remote::{Cause, Lookup, RemoteKeys};
use crate::policy::Requirement;

/// `App::new().wrap(config.clone())` registers the configuration like `app_data` does and,
/// with remote keys, finishes any key fetch a request's token needs *before* routing. Every
/// extractor then runs with the keys at hand, so no `Path`, `Query` or `Json` error can answer
/// ahead of authentication, even on the first requests while keys are fetched. With static
/// keys both registrations behave the same; a configuration with remote keys registered with
/// `app_data` alone is refused (500, and the log says to use `wrap`).
///
/// Register it on the `App` or on a `web::scope`. On a single `web::resource`, routing is
/// over when the middleware runs: it adds its app data with actix-web's
/// `ServiceRequest::add_data_container`, which requires that no other middleware of that
/// resource still holds a clone of the request (actix-web's own routing requires the same
/// of App- and scope-level middleware).
impl<S, B> actix_web::dev::Transform<S, actix_web::dev::ServiceRequest> for AuthConfig
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    B: MessageBody + 'static,
{
    type Response = actix_web::dev::ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Transform = AuthMiddleware<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        // Each worker builds its middleware at startup: begin fetching remote keys in the
        // background then, so that they are usually there before the first request (the
        // service starts whether or not the provider answers).
        self.keys_ready();
        // The extractors find the configuration as app data; handlers may take it as
        // `web::Data<AuthConfig>` (e.g. a readiness route) without registering it again.
        let public = self
            .inner
            .deny_by_default
            .then(|| Rc::new(DeclaredRoutes::registered(self.inner.route_audit)));
        let mut data = actix_web::dev::Extensions::new();
        data.insert(self.clone());
        data.insert(Wrapped(self.clone()));
        data.insert(actix_web::web::Data::new(self.clone()));
        std::future::ready(Ok(AuthMiddleware {
            service: Rc::new(service),
            config: self.clone(),
            data: Rc::new(data),
            public,
        }))
    }
}

/// The configuration whose middleware this request went through (see
/// [`config_of`](super::extract::config_of)).
pub(super) struct Wrapped(pub(super) AuthConfig);

/// The middleware created by registering [`AuthConfig`] with `App::wrap`.
pub struct AuthMiddleware<S> {
    service: Rc<S>,
    config: AuthConfig,
    /// This worker's app-data container holding `config`.
    data: Rc<actix_web::dev::Extensions>,
    /// Deny-by-default: the routes declared `#[public]`; every other one is authenticated here.
    public: Option<Rc<DeclaredRoutes>>,
}

/// The `#[public]` handlers, and how a request's route is recognised as one of theirs, before
/// routing: by the full pattern and name of the resource actix-web's resource map matches
/// for the path as the router sees it (percent-decoded), and the request's method. A route
/// attribute's handler is recognised by the path and method it declares, at the App's root;
/// under a scope, or registered by hand, only through the route audit, which knows its full
/// pattern and methods. Whatever is not recognised needs a token (fail closed). The
/// `#[requires]` handlers are recognised the same way, for the scope hint of a 401 answered
/// here.
///
/// What the resource map cannot know is guards: a `#[public]` route with a guard of its own
/// (beyond its method) that turns a request away lets the router try later resources of the
/// same pattern; do not give public routes custom guards in deny mode.
struct DeclaredRoutes {
    public: Vec<&'static crate::registry::PublicHandler>,
    /// Every route of the audit, declared or not.
    audited: Vec<&'static crate::audit::AuditedRoute>,
    protected: Vec<&'static crate::registry::ProtectedHandler>,
}

/// The resource a request is routed to, as far as actix-web's resource map can tell before
/// routing: its full pattern and its name, for the percent-decoded path the router matches.
struct Matched<'r> {
    pattern: Option<String>,
    name: Option<&'r str>,
    method: &'r str,
}

impl<'r> Matched<'r> {
    fn of(req: &'r actix_web::dev::ServiceRequest) -> Self {
        let http = req.request();
        // `match_info` holds the path the router matches (decoded but for `/`, `%`, `+`);
        // `HttpRequest::match_pattern` would read the raw path before routing, where
        // `/%61dmin` is not `/admin`.
        let path = http.match_info().as_str();
        let map = http.resource_map();
        Matched {
            pattern: map.match_pattern(path),
            name: map.match_name(path),
            method: req.method().as_str(),
        }
    }

    /// Whether this is the route `declared` was written on: the path and method its route
    /// attribute names, the resource named after the handler (as route attributes name it).
    fn is<D>(&self, declared: &crate::registry::Declared<D>) -> bool {
        self.name == Some(declared.handler()) && self.may_be(declared)
    }

    /// Whether `declared`'s route attribute names this path and method, whichever resource
    /// of the pattern the map names first: enough for a scope hint, never to open a route.
    fn may_be<D>(&self, declared: &crate::registry::Declared<D>) -> bool {
        declared.path().is_some()
            && self.pattern.as_deref() == declared.path()
            && declared.methods().contains(&self.method)
    }
}

impl DeclaredRoutes {
    fn registered(audit: Option<&'static crate::audit::RouteAudit>) -> Self {
        DeclaredRoutes {
            public: crate::registry::public_handlers(),
            audited: audit.map_or_else(Vec::new, |a| a.routes().iter().collect()),
            protected: crate::registry::protected_handlers(),
        }
    }

    /// Whether the route this request matches is open: the RFC 9728 metadata document
    /// ([`metadata_service`](super::metadata_service)), or a `#[public]` handler's (see
    /// [`DeclaredRoutes`]).
    fn serve(&self, req: &actix_web::dev::ServiceRequest) -> bool {
        let matched = Matched::of(req);
        // The RFC 9728 document is how a client learns where to get a token.
        if matched.name == Some(super::response::METADATA_RESOURCE) {
            return true;
        }
        let Some(pattern) = matched.pattern.as_deref() else {
            // No resource: the default service, never open this way.
            return false;
        };
        // The audit knows every route of the pattern: open when each one this method
        // reaches is public (one undeclared route among them and it is not).
        let mut audited = self
            .audited
            .iter()
            .filter(|r| {
                // A resource's default service answers on the resource's pattern.
                let path = r.path();
                (path == pattern || path.strip_suffix(" (default service)") == Some(pattern))
                    && (r.methods().is_empty() || r.methods().contains(&matched.method))
            })
            .peekable();
        if audited.peek().is_some() {
            // A route attribute's route only on its own resource: a path the audit lists
            // wrongly (its reading of the sources is an approximation) never opens another
            // route that is really there.
            return audited.all(|r| {
                matches!(r.declaration(), crate::audit::Declaration::Public(_))
                    && r.resource().is_none_or(|name| matched.name == Some(name))
            });
        }
        self.public.iter().any(|h| matched.is(h))
    }

    /// The requirement of the `#[requires]` handler this request's route is, if it is one.
    /// The `#[requires]` route's requirement, for the scope hint of a bare 401: the handler
    /// the map names for this path, else the one route attribute of this pattern and method
    /// (the map names only the first resource of a pattern: `POST /reports` written after
    /// `GET /reports` is the second).
    fn requirement(&self, req: &actix_web::dev::ServiceRequest) -> Option<Requirement> {
        let matched = Matched::of(req);
        let handler = self.protected.iter().find(|h| matched.is(h)).or_else(|| {
            // Only among route attributes' resources (named): a route registered by hand
            // is none of theirs, and a scope of theirs elsewhere shares no hint with it.
            matched.name?;
            let mut candidates = self.protected.iter().filter(|h| matched.may_be(h));
            let only = candidates.next()?;
            candidates.next().is_none().then_some(only)
        })?;
        Some(handler.requirement())
    }
}

/// A rejection as this middleware's own response (outer middleware and test helpers see a
/// response, as they do for a handler's rejection).
fn refused(
    req: actix_web::dev::ServiceRequest,
    config: &AuthConfig,
    routes: Option<&DeclaredRoutes>,
    error: crate::error::AuthError,
) -> actix_web::dev::ServiceResponse<BoxBody> {
    use actix_web::ResponseError as _;
    // The route's own requirement, for the scope hint of a bare 401 (when asked for).
    let requirement = routes.and_then(|r| r.requirement(&req));
    let response = config.reject(error, requirement.as_ref()).error_response();
    req.into_response(response)
}

/// The future of a request the middleware passed on: the inner service's own, or, when the
/// request waits for a key fetch first, a boxed one; either with the request's outcome slot
/// ([`Scoped`]).
type Passed<F> = Scoped<Inner<F>>;

type Inner<F> = Either<
    Boxed<F>,
    Pin<
        Box<
            dyn Future<Output = Result<actix_web::dev::ServiceResponse<BoxBody>, actix_web::Error>>,
        >,
    >,
>;

/// A request answered after I/O, or by the middleware itself: a boxed future.
fn later<F>(
    request: usize,
    future: impl Future<Output = Result<actix_web::dev::ServiceResponse<BoxBody>, actix_web::Error>>
        + 'static,
) -> Passed<F> {
    let boxed: Pin<Box<dyn Future<Output = _>>> = Box::pin(future);
    Scoped::new(request, None, || Either::right(boxed))
}

pin_project_lite::pin_project! {
    /// The inner service's future, its response body as a `BoxBody` (the type of an App's
    /// responses unless a middleware changed it, so nothing is boxed again): the body type
    /// of the rejections this middleware answers itself.
    pub struct Boxed<F> {
        #[pin]
        inner: F,
    }
}

impl<F, B> Future for Boxed<F>
where
    F: Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<actix_web::dev::ServiceResponse<BoxBody>, actix_web::Error>;
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        self.project()
            .inner
            .poll(cx)
            .map(|res| res.map(actix_web::dev::ServiceResponse::map_into_boxed_body))
    }
}

impl<S, B> actix_web::dev::Service<actix_web::dev::ServiceRequest> for AuthMiddleware<S>
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    B: MessageBody + 'static,
{
    type Response = actix_web::dev::ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future = Passed<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: actix_web::dev::ServiceRequest) -> Self::Future {
        super::outcome::forget_outer(req.request());
        req.add_data_container(self.data.clone());
        let request = label(req.request());
        // RFC 6750 §2.3: a success answered to a token in the URI SHOULD say
        // `Cache-Control: private` (the URI, token included, is what caches key on).
        if self.config.inner.methods.query
            && matches!(
                crate::credentials::find_access_token(req.query_string().as_bytes()),
                Ok(Some(_))
            )
        {
            let answer = self.decide(request, req);
            return later(request, async move {
                let mut response = answer.await?;
                if response.status().is_success() {
                    let headers = response.headers_mut();
                    if !headers.contains_key(actix_web::http::header::CACHE_CONTROL) {
                        headers.insert(
                            actix_web::http::header::CACHE_CONTROL,
                            actix_web::http::header::HeaderValue::from_static("private"),
                        );
                    }
                }
                Ok(response)
            });
        }
        self.decide(request, req)
    }
}

impl<S, B> AuthMiddleware<S>
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    B: MessageBody + 'static,
{
    /// What the middleware does with a request: pass it on, authenticate it first, or
    /// answer it.
    fn decide(&self, request: usize, req: actix_web::dev::ServiceRequest) -> Passed<S::Future> {
        if super::body::wants_form_body(req.request(), &self.config) {
            // Deny-by-default decides after the body is read: its token counts too.
            let open = self.public.as_ref().is_none_or(|public| public.serve(&req));
            return self.read_form_first(request, req, open);
        }
        if let Some(public) = &self.public {
            if !public.serve(&req) {
                return self.authenticate_first(request, req);
            }
        }
        if self.config.inner.revocation.is_some() || self.introspects() {
            return self.check_revocation_first(request, req);
        }
        #[cfg(feature = "remote")]
        if let Some((remote, generation, cause)) = self.pending_fetch(&req) {
            let service = self.service.clone();
            return later(request, async move {
                remote.refresh(generation, cause).await;
                req.extensions_mut().insert(KeysRefreshed);
                service
                    .call(req)
                    .await
                    .map(actix_web::dev::ServiceResponse::map_into_boxed_body)
            });
        }
        self.pass(request, None, req)
    }

    /// Calls the inner service; `verified` is the request's token, when verified here.
    fn pass(
        &self,
        request: usize,
        verified: Option<Arc<Verified>>,
        req: actix_web::dev::ServiceRequest,
    ) -> Passed<S::Future> {
        Scoped::new(request, verified, || {
            Either::left(Boxed {
                inner: self.service.call(req),
            })
        })
    }

    /// Deny-by-default on a route not declared `#[public]`: the request needs a valid token
    /// before routing (401 otherwise, the handler never runs). The outcome is kept for the
    /// extractors, which then check the route's own requirement without verifying again.
    fn authenticate_first(
        &self,
        request: usize,
        req: actix_web::dev::ServiceRequest,
    ) -> Passed<S::Future> {
        match begin(&self.config, view(req.request(), &self.config, None)) {
            Step::Done(outcome) => match counted_once(req.request(), outcome) {
                Ok(verified) => self.pass(request, Some(verified), req),
                Err(e) => {
                    let response = refused(req, &self.config, self.public.as_deref(), e);
                    later(request, std::future::ready(Ok(response)))
                }
            },
            pending => {
                let service = self.service.clone();
                let config = self.config.clone();
                let routes = self.public.clone();
                later(request, async move {
                    let outcome = complete(&config, pending).await;
                    match settle(req.request(), outcome) {
                        Ok(_) => service
                            .call(req)
                            .await
                            .map(actix_web::dev::ServiceResponse::map_into_boxed_body),
                        Err(e) => Ok(refused(req, &config, routes.as_deref(), e)),
                    }
                })
            }
        }
    }

    /// The form-body method (RFC 6750 §2.2, opt-in) on a form request: its body is read here,
    /// before routing (up to [`MAX_FORM_BODY_BYTES`](crate::config::MAX_FORM_BODY_BYTES)),
    /// so that no other extractor (`Path`, `Query`, `Json`'s content-type check) can answer
    /// while it is read, and the request is authenticated here when it presents a token (key
    /// fetch and revocation check included). Nothing is refused here (a public route serves
    /// whatever the outcome); the outcome and what the body held are kept for the extractors,
    /// which decide an anonymous request (and count it) as elsewhere. The body is handed on
    /// unchanged, however long.
    fn read_form_first(
        &self,
        request: usize,
        mut req: actix_web::dev::ServiceRequest,
        open: bool,
    ) -> Passed<S::Future> {
        let service = self.service.clone();
        let config = self.config.clone();
        let routes = self.public.clone();
        later(request, async move {
            let read = super::body::read_form(actix_web::HttpMessage::take_payload(&mut req)).await;
            let found = read.token();
            req.set_payload(read.into_payload());
            let outcome = match super::extract::begin_found(req.request(), &config, found.clone()) {
                // Anonymous: left for the extractors (a public route counts nothing), unless
                // deny-by-default refuses it here.
                Step::Done(Err(e)) if e.reason() == crate::error::Reason::Missing => {
                    if open {
                        Ok(())
                    } else {
                        counted_once(req.request(), Err(e)).map(drop)
                    }
                }
                step => settle(req.request(), complete(&config, step).await).map(drop),
            };
            // Deny-by-default on a route not declared `#[public]`: a valid token or nothing.
            if let (false, Err(e)) = (open, outcome) {
                return Ok(refused(req, &config, routes.as_deref(), e));
            }
            super::body::keep_form_token(req.request(), found);
            service
                .call(req)
                .await
                .map(actix_web::dev::ServiceResponse::map_into_boxed_body)
        })
    }

    /// With a revocation check: a request that presents a token is authenticated, revocation
    /// check included, before routing, so that no other extractor can answer while the check
    /// is under way. Nothing is refused here (a public route serves whatever the outcome); the
    /// outcome is kept for the extractors. A request without credentials passes untouched (a
    /// form request never comes here: [`read_form_first`](Self::read_form_first)).
    fn check_revocation_first(
        &self,
        request: usize,
        req: actix_web::dev::ServiceRequest,
    ) -> Passed<S::Future> {
        match begin(&self.config, view(req.request(), &self.config, None)) {
            Step::Done(outcome) => {
                // Kept, so that a bad token is not verified twice; an anonymous request is
                // left for the extractors (a public route without one counts nothing).
                match outcome {
                    Err(e) if e.reason() == crate::error::Reason::Missing => {
                        self.pass(request, None, req)
                    }
                    // A refusal is kept in the extensions (see `outcome.rs`).
                    Err(e) => {
                        let _ = settle(req.request(), Err(e));
                        self.pass(request, None, req)
                    }
                    Ok(verified) => {
                        let verified = counted_once(req.request(), Ok(verified)).ok();
                        self.pass(request, verified, req)
                    }
                }
            }
            pending => {
                let service = self.service.clone();
                let config = self.config.clone();
                later(request, async move {
                    let _ = settle(req.request(), complete(&config, pending).await);
                    service
                        .call(req)
                        .await
                        .map(actix_web::dev::ServiceResponse::map_into_boxed_body)
                })
            }
        }
    }
}

impl<S> AuthMiddleware<S> {
    /// Introspection, like the revocation check, answers before routing.
    fn introspects(&self) -> bool {
        #[cfg(feature = "remote")]
        {
            self.config.inner.introspection.is_some()
        }
        #[cfg(not(feature = "remote"))]
        {
            false
        }
    }
}

#[cfg(feature = "remote")]
impl<S> AuthMiddleware<S> {
    /// The key fetch this request's token needs, if any: the header's, else (when the query
    /// method is on) the query's, so that no other extractor can answer while the fetch is
    /// under way. Nothing is verified here: public routes pay only for a header parse. A
    /// form request never comes here: [`read_form_first`](Self::read_form_first) reads its
    /// body and fetches what its token needs before routing.
    fn pending_fetch(
        &self,
        req: &actix_web::dev::ServiceRequest,
    ) -> Option<(Arc<RemoteKeys>, u64, Cause)> {
        if !self.config.has_remote_keys() {
            return None;
        }
        let inner = &self.config.inner;
        let header = parse_authorization(
            req.headers()
                .get_all(header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
        )
        .ok()?;
        let query;
        let token = match header {
            Some(token) => token,
            None if inner.methods.query => {
                query = find_access_token(req.query_string().as_bytes()).ok()??;
                query.as_str()
            }
            None => return None,
        };
        let issuer = crate::issuer::select(&inner.issuers, token, inner.max_token_bytes).ok()?;
        let remote = issuer.remote.as_ref()?;
        let verifier = &issuer.verifier;
        let lookup = verifier
            .checked_header(token, |kid, _| Ok(remote.lookup(kid)))
            .ok()?;
        match lookup {
            Lookup::Fetch { generation, cause } => {
                // Only a token that could be ours is worth a fetch (the extractor answers
                // the others with the claim check's 401).
                verifier.check_unverified_claims(token).ok()?;
                Some((remote.clone(), generation, cause))
            }
            _ => None,
        }
    }
}
