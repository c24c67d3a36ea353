//! `App::wrap(config)`: the configuration as the App's middleware.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
#[cfg(feature = "remote")]
use std::sync::Arc;

#[cfg(feature = "remote")]
use actix_web::http::header;
use actix_web::HttpMessage;

#[cfg(feature = "remote")]
use super::extract::KeysRefreshed;
use crate::config::AuthConfig;
#[cfg(feature = "remote")]
use crate::credentials::parse_authorization;
#[cfg(feature = "remote")]
use crate::keys::remote::{Cause, Lookup, RemoteKeys};

/// `App::new().wrap(config.clone())` registers the configuration like `app_data` does and,
/// with remote keys, finishes any key fetch a request's token needs *before* routing. Every
/// extractor then runs with the keys at hand, so no `Path`, `Query` or `Json` error can answer
/// ahead of authentication, even on the first requests while keys are fetched. With static
/// keys both registrations behave the same.
impl<S, B> actix_web::dev::Transform<S, actix_web::dev::ServiceRequest> for AuthConfig
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    B: 'static,
{
    type Response = actix_web::dev::ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = AuthMiddleware<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        // Each worker builds its middleware at startup: begin fetching remote keys in the
        // background then, so that they are usually there before the first request (the
        // service starts whether or not the provider answers).
        self.keys_ready();
        std::future::ready(Ok(AuthMiddleware {
            service: Rc::new(service),
            config: self.clone(),
        }))
    }
}

/// The middleware created by registering [`AuthConfig`] with `App::wrap`.
pub struct AuthMiddleware<S> {
    service: Rc<S>,
    config: AuthConfig,
}

impl<S, B> actix_web::dev::Service<actix_web::dev::ServiceRequest> for AuthMiddleware<S>
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    B: 'static,
{
    type Response = actix_web::dev::ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: actix_web::dev::ServiceRequest) -> Self::Future {
        req.extensions_mut().insert(self.config.clone());
        #[cfg(feature = "remote")]
        if let Some((remote, generation, cause)) = self.pending_fetch(&req) {
            let service = self.service.clone();
            return Box::pin(async move {
                remote.refresh(generation, cause).await;
                req.extensions_mut().insert(KeysRefreshed);
                service.call(req).await
            });
        }
        Box::pin(self.service.call(req))
    }
}

#[cfg(feature = "remote")]
impl<S> AuthMiddleware<S> {
    /// The key fetch this request's header token needs, if any. Nothing is verified here:
    /// public routes pay only for a header parse.
    fn pending_fetch(
        &self,
        req: &actix_web::dev::ServiceRequest,
    ) -> Option<(Arc<RemoteKeys>, u64, Cause)> {
        let remote = self.config.inner.remote.as_ref()?;
        let token = parse_authorization(
            req.headers()
                .get_all(header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
        )
        .ok()
        .flatten()?;
        let verifier = &self.config.inner.verifier;
        let kid = verifier.precheck(token).ok()?;
        match remote.lookup(kid.as_deref()) {
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
