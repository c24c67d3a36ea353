//! Where a request's authentication outcome is kept, so that the request is verified and
//! counted once however many extractors ask (`#[requires]`'s guard, then a `Principal`, a
//! check's own `Principal`, …): the first one keeps the outcome, the others read it.
//!
//! # Two places
//!
//! - **With the middleware** (`App::wrap`, the usual registration): in the middleware's
//!   future for the request. While that future is polled (and while the middleware calls the
//!   inner service, when it verified the token itself), the verified token sits in a slot of
//!   the worker thread, labelled with the request; the extractors, which run inside those
//!   polls, find it there. Between polls it goes back into the future, and it is dropped
//!   with it. Nothing is allocated and nothing another thread reads is written.
//! - **Otherwise**: in the request's extensions. That is where a refusal is kept (rare, and
//!   the slot stays two words), where a configuration registered with `app_data` only keeps
//!   the outcome, and where an extractor keeps it when it runs in the middleware's call
//!   before the middleware holds an outcome. A reader looks in the slot, then in the
//!   extensions. An extension costs an allocation (actix-web boxes each one), its hashing
//!   and its drop: some 300 instructions, a sixth of what a protected request with a cached
//!   token adds, which is why the slot exists.
//!
//! Behind the middleware, an extractor's common case is one look at the slot ([`take`]):
//! the token an earlier extractor kept is checked where it lies, or, when nothing was
//! decided for the request yet, a header token this thread verified before is counted and
//! put there. A reference to the token is handed out only to an extractor that gives it to
//! the handler (`Principal`, `Authorized`), never to `#[requires]`'s guard: the slot's is
//! the request's only count on it.
//!
//! An extractor run outside the request's polls (in a task the handler spawned) finds
//! neither the slot nor, with the middleware, the extensions: it authenticates the request
//! again, to the same answer, and counts it again.
//!
//! # Why the slot cannot serve another request's outcome
//!
//! - It is filled only while the middleware's future of one request is polled, and is
//!   restored to what it held before when that poll returns or unwinds (a drop guard): a
//!   request whose handling polls another request's (in-process calls in a handler) sees
//!   the slot of the innermost middleware, every one of which installs its own.
//! - An extractor uses it only when its label is the extractor's request: the address of
//!   the request's head, which no other live request shares. The request is alive while its
//!   middleware's future is polled (actix-web's handler service holds it until the response
//!   is built), so the label cannot name a newer request that reused a pooled head.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::{HttpMessage, HttpRequest};

use crate::claims::Verified;
use crate::error::AuthError;
use crate::metrics;

/// A request's authentication outcome.
pub(super) type Outcome = Result<Arc<Verified>, AuthError>;

/// The outcome kept in the request's extensions (see the [module docs](self) for when).
#[derive(Clone)]
struct Authenticated(Outcome);

/// A request's slot: its label (0: none), and its verified token once there is one. A
/// refusal is kept in the extensions: it is rare, and the slot stays two words, cheap to
/// move in and out on every poll.
#[derive(Default)]
struct Slot {
    request: usize,
    verified: Option<Arc<Verified>>,
}

// The thread's slot, as two cells: the label is a plain word, read without the
// destructor-state check a thread-local with a destructor costs, so a look at a slot that
// is another request's (or none) is a compare.
thread_local! {
    static REQUEST: Cell<usize> = const { Cell::new(0) };
    static VERIFIED: Cell<Option<Arc<Verified>>> = const { Cell::new(None) };
    /// The label of the request this thread last kept a refusal for in the extensions (see
    /// [`forget_outer`]). Stale once that request is done: a later request that reuses its
    /// head only has nothing removed that an outer middleware did not keep for it.
    static REFUSED: Cell<usize> = const { Cell::new(0) };
}

/// The label of a request: the address of its head, which no other live request shares.
pub(super) fn label(req: &HttpRequest) -> usize {
    std::ptr::from_ref(req.head()) as usize
}

/// Whether the thread's slot is `req`'s.
fn ours(req: &HttpRequest) -> bool {
    REQUEST.with(Cell::get) == label(req)
}

/// `f` on the verified token in the thread's slot, when the slot is `req`'s; `None`
/// otherwise.
fn in_slot<R>(req: &HttpRequest, f: impl FnOnce(&mut Option<Arc<Verified>>) -> R) -> Option<R> {
    if !ours(req) {
        return None;
    }
    VERIFIED
        .try_with(|cell| {
            let mut verified = cell.take();
            let out = f(&mut verified);
            cell.set(verified);
            out
        })
        .ok()
}

/// The token the thread's slot holds for `req`, taken out of it, when the slot is `req`'s:
/// `Some(None)` when it holds none and the extensions no refusal (nothing was decided for
/// the request yet). `None` otherwise: the slot is not `req`'s, or a refusal is kept, which
/// [`kept`] finds. Put the token back with [`put`] before anything else can read the slot
/// (the extractor's common case: one look decides it).
pub(super) fn take(req: &HttpRequest) -> Option<Option<Arc<Verified>>> {
    if !ours(req) {
        return None;
    }
    let verified = VERIFIED.try_with(Cell::take).ok()?;
    if verified.is_none() && req.extensions().get::<Authenticated>().is_some() {
        return None;
    }
    Some(verified)
}

/// Puts `verified` in the thread's slot, after [`take`] found the slot the request's (the
/// request's token: the one taken, or the one verified since, counted once).
pub(super) fn put(verified: Arc<Verified>) {
    let _ = VERIFIED.try_with(|cell| cell.set(Some(verified)));
}

/// The request's outcome, if it was authenticated already.
pub(super) fn kept(req: &HttpRequest) -> Option<Outcome> {
    if let Some(Some(verified)) = in_slot(req, |v| v.clone()) {
        return Some(Ok(verified));
    }
    req.extensions().get::<Authenticated>().map(|a| a.0.clone())
}

/// Whether the request was authenticated already.
fn is_kept(req: &HttpRequest) -> bool {
    in_slot(req, |v| v.is_some()) == Some(true) || req.extensions().get::<Authenticated>().is_some()
}

/// Forgets what an outer middleware of another configuration kept for `req` (a refusal in
/// the extensions, the key-refresh mark): a nested middleware's routes are its own
/// configuration's to decide (an outer one's audience refusing a token the inner accepts
/// must not answer for it). A key-refresh mark is set from a future the outer middleware
/// polls, with the request's slot installed; a refusal is kept with the thread's
/// [`REFUSED`] label set to the request's. Nothing to forget when neither names the request,
/// which is the common, unnested case (two compares).
pub(super) fn forget_outer(req: &HttpRequest) {
    if ours(req) || REFUSED.with(Cell::get) == label(req) {
        REFUSED.set(0);
        let mut extensions = req.extensions_mut();
        extensions.remove::<Authenticated>();
        #[cfg(feature = "remote")]
        extensions.remove::<super::extract::KeysRefreshed>();
    }
}

/// Counts the outcome (the request's first) and returns it.
pub(super) fn counted(outcome: Outcome) -> Outcome {
    match &outcome {
        Ok(verified) => counted_verified(verified),
        Err(_) => metrics::authentication(&outcome),
    }
    outcome
}

/// Counts a request whose token verified (the request's first outcome).
pub(super) fn counted_verified(verified: &Verified) {
    tracing::trace!(target: "endpoint_auth", "access token verified");
    metrics::authenticated(verified);
}

/// Counts the outcome unless the request has one already (two extractors that awaited the
/// same key fetch both settle; nested middleware authenticate the same request).
pub(super) fn counted_once(req: &HttpRequest, outcome: Outcome) -> Outcome {
    if is_kept(req) {
        outcome
    } else {
        counted(outcome)
    }
}

/// Keeps the outcome for later extractors, counted once per request, and returns it.
pub(super) fn settle(req: &HttpRequest, outcome: Outcome) -> Outcome {
    let outcome = counted_once(req, outcome);
    keep(req, &outcome);
    outcome
}

/// Counts the outcome (the caller knows it is the request's first) and keeps it.
pub(super) fn record(req: &HttpRequest, outcome: Outcome) -> Outcome {
    let outcome = counted(outcome);
    keep(req, &outcome);
    outcome
}

/// Keeps the latest outcome: a verified token in the request's slot when there is one, else
/// in the extensions; a refusal in the extensions, and the slot no longer answers for the
/// request (readers look in the slot first).
fn keep(req: &HttpRequest, outcome: &Outcome) {
    match outcome {
        Ok(verified) => {
            if in_slot(req, |v| *v = Some(verified.clone())).is_some() {
                return;
            }
        }
        Err(_) => {
            in_slot(req, |v| *v = None);
            REFUSED.set(label(req));
        }
    }
    req.extensions_mut().insert(Authenticated(outcome.clone()));
}

pin_project_lite::pin_project! {
    /// A future of the middleware: `inner`, with the request's slot installed while it is
    /// polled.
    pub struct Scoped<F> {
        #[pin]
        inner: F,
        request: usize,
        verified: Option<Arc<Verified>>,
    }
}

impl<F> Scoped<F> {
    /// The middleware's future for the request labelled `request`, made by `call` (with the
    /// slot installed during the call when the request was authenticated already).
    pub(super) fn new(
        request: usize,
        mut verified: Option<Arc<Verified>>,
        call: impl FnOnce() -> F,
    ) -> Self {
        let inner = if verified.is_some() {
            let _installed = Installed::new(request, &mut verified);
            call()
        } else {
            call()
        };
        Scoped {
            inner,
            request,
            verified,
        }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _installed = Installed::new(*this.request, this.verified);
        this.inner.poll(cx)
    }
}

/// The request's slot, installed until dropped; then the verified token goes back where it
/// came from and the slot holds what it held before.
struct Installed<'a> {
    verified: &'a mut Option<Arc<Verified>>,
    outer: Slot,
}

impl<'a> Installed<'a> {
    fn new(request: usize, verified: &'a mut Option<Arc<Verified>>) -> Self {
        let outer = Slot {
            request: REQUEST.replace(request),
            verified: VERIFIED
                .try_with(|cell| cell.replace(verified.take()))
                .ok()
                .flatten(),
        };
        Installed { verified, outer }
    }
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        REQUEST.set(self.outer.request);
        let outer = self.outer.verified.take();
        *self.verified = VERIFIED.try_with(|cell| cell.replace(outer)).ok().flatten();
    }
}
