//! Checks: `#[requires(scope = "write:reports", check = owns_report)]`, a decision that needs
//! the application's own data (who owns report 7?), declared on the handler beside the
//! requirement.
//!
//! A check is an `async fn` whose parameters are extractors (the caller as
//! [`Principal`](crate::Principal), `web::Path`, `web::Data`, `web::Query`, …) and whose output
//! is a [`Decision`] (or a `bool`). It runs after authentication and the declared requirement,
//! and before the handler's other extractors may read the body: the attribute's guard holds
//! the body back until every check has allowed the request.
//!
//! ```
//! # extern crate endpoint_auth_runtime as endpoint_auth;
//! use actix_web::{web, HttpResponse};
//! use endpoint_auth::actix::Decision;
//! use endpoint_auth::Principal;
//!
//! struct Store;
//! impl Store {
//!     fn owner_of(&self, id: u64) -> Option<&str> { (id == 7).then_some("alice") }
//! }
//!
//! async fn owns_report(caller: Principal, id: web::Path<u64>, store: web::Data<Store>) -> Decision {
//!     match store.owner_of(*id) {
//!         // Somebody else's report: say it does not exist.
//!         Some(owner) if Some(owner) != caller.subject() => Decision::Hide,
//!         Some(_) => Decision::Allow,
//!         None => Decision::Hide,
//!     }
//! }
//! ```

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, Handler, HttpRequest};

/// What a check decides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// The request goes on to the handler (and the next check).
    Allow,
    /// 403 `insufficient_scope` without a scope hint (no scope would help); the reason is the
    /// `error_description` and the problem body's `detail`. It is shown to the client: say
    /// what, never a secret. It must fit a quoted header value (RFC 6749 NQSCHAR), so it is
    /// written as ASCII in both places: `"` becomes `'`, `\` becomes `/`, whitespace (CR,
    /// LF, TAB; runs of it) one space, any other character outside printable ASCII `?`, and
    /// the ends are trimmed. Write reasons in plain ASCII to have them shown as written.
    Deny(Cow<'static, str>),
    /// 404, as if the resource did not exist: no challenge, nothing that says it does.
    Hide,
}

impl Decision {
    /// [`Decision::Deny`] with this reason.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        Decision::Deny(reason.into())
    }
}

impl From<bool> for Decision {
    /// `true` allows; `false` denies (403) with a generic reason.
    fn from(allowed: bool) -> Self {
        if allowed {
            Decision::Allow
        } else {
            Decision::deny("a check of this endpoint refused the request")
        }
    }
}

/// What a check's `async fn` returns: a [`Decision`], or a `bool` (`false` denies).
#[diagnostic::on_unimplemented(
    message = "a check returns `Decision` or `bool`, not `{Self}`",
    label = "this check's output",
    note = "`endpoint_auth::actix::Decision::{{Allow, Deny(reason), Hide}}`, or `true`/`false`"
)]
pub trait IntoDecision {
    /// The decision.
    fn into_decision(self) -> Decision;
}

impl IntoDecision for Decision {
    fn into_decision(self) -> Decision {
        self
    }
}

impl IntoDecision for bool {
    fn into_decision(self) -> Decision {
        self.into()
    }
}

impl Decision {
    /// The imperative form, for a rule that needs the entity the handler loads: `Ok(())` when
    /// allowed, else the same rejection a declared check gives (403 with the reason, or 404),
    /// rendered in the request's protection space.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use actix_web::{web, HttpRequest, HttpResponse};
    /// use endpoint_auth::actix::Decision;
    /// use endpoint_auth::{AuthRejection, Principal};
    ///
    /// struct Report { author: String, locked: bool }
    ///
    /// async fn edit(req: HttpRequest, caller: Principal) -> Result<HttpResponse, AuthRejection> {
    ///     let report = Report { author: "alice".into(), locked: false }; // loaded by the handler
    ///     Decision::from(caller.subject() == Some(report.author.as_str())).enforce(&req)?;
    ///     if report.locked {
    ///         Decision::deny("the report is locked").enforce(&req)?;
    ///     }
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// ```
    pub fn enforce(self, req: &HttpRequest) -> Result<(), crate::AuthRejection> {
        let error = match self {
            Decision::Allow => return Ok(()),
            Decision::Hide => crate::AuthError::check_hidden(),
            Decision::Deny(why) => crate::AuthError::check_denied(why),
        };
        Err(match super::extract::config_of(req) {
            Some((config, _)) => config.reject(error, None),
            None => crate::AuthRejection::misconfigured(),
        })
    }
}

/// Implemented for every `async fn` that can be a `check`: parameters that are extractors,
/// output a [`Decision`] or a `bool`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `check`",
    label = "expected an `async fn(caller: Principal, …) -> Decision` (or `-> bool`)",
    note = "a check is an `async fn` whose parameters are extractors (`Principal`, `web::Path<…>`, `web::Data<…>`, `web::Query<…>`, at most 16) and whose output is `endpoint_auth::actix::Decision` or `bool`",
    note = "it runs before the handler reads the body: take what it needs from the path, query, headers or app data, not the body"
)]
pub trait Check<Args>: 'static {
    #[doc(hidden)]
    fn decide(&self, args: Args) -> Pin<Box<dyn Future<Output = Decision>>>;
}

impl<F, Args> Check<Args> for F
where
    F: Handler<Args>,
    F::Output: IntoDecision,
    Args: FromRequest + 'static,
{
    fn decide(&self, args: Args) -> Pin<Box<dyn Future<Output = Decision>>> {
        let fut = self.call(args);
        Box::pin(async move { fut.await.into_decision() })
    }
}

/// Why a check stopped the request.
#[doc(hidden)]
pub enum Stopped {
    /// The check's own extractors failed (their error is the answer, e.g. a bad path
    /// parameter or missing app data).
    Extract(actix_web::Error),
    /// The check decided against the request.
    Decided(Decision),
}

/// Runs one check for `req`: extracts its arguments (the body is not theirs to read), calls
/// it, and says whether the request may go on.
#[doc(hidden)]
pub async fn run_check<F, Args>(check: F, req: &HttpRequest) -> Result<(), Stopped>
where
    F: Check<Args>,
    Args: FromRequest + 'static,
{
    let args = Args::from_request(req, &mut Payload::None)
        .await
        .map_err(|e| Stopped::Extract(e.into()))?;
    match check.decide(args).await {
        Decision::Allow => Ok(()),
        other => Err(Stopped::Decided(other)),
    }
}

/// The checks of one handler, in declaration order; `#[requires]` generates the type.
#[doc(hidden)]
pub trait Checks: 'static {
    fn run(req: HttpRequest) -> Pin<Box<dyn Future<Output = Result<(), Stopped>>>>;
}
