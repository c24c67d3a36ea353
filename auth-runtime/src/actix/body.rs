//! The request body while authentication is pending: the opt-in form-body token method
//! (RFC 6750 §2.2) reads it, and a gate hands it on to the handler's extractors only once
//! authentication is done, so no body extractor can answer before it.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{HttpMessage, HttpRequest};
use bytes::{Bytes, BytesMut};

use crate::config::{AuthConfig, MAX_FORM_BODY_BYTES};
use crate::credentials::find_access_token;
use crate::error::{AuthError, Reason};

type BoxedStream =
    Pin<Box<dyn futures_core::Stream<Item = Result<Bytes, actix_web::error::PayloadError>>>>;

/// Takes the request's payload and leaves a gated one in its place.
pub(super) fn gated(payload: &mut Payload) -> (Payload, Rc<RefCell<Gate>>) {
    let original = payload.take();
    let gate = Rc::new(RefCell::new(Gate::default()));
    *payload = Payload::from(Box::pin(GatedPayload(gate.clone())) as BoxedStream);
    (original, gate)
}

pub(super) fn wants_form_body(req: &HttpRequest, config: &AuthConfig) -> bool {
    config.inner.methods.form_body
        && req.method() != Method::GET
        && req
            .content_type()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// What the middleware found in a form body it read before routing: the token, or why the
/// body cannot carry one; kept in the request's extensions for the extractors.
struct FormToken(Result<Option<String>, AuthError>);

/// Keeps what the middleware found in the request's form body.
pub(super) fn keep_form_token(req: &HttpRequest, found: Result<Option<String>, AuthError>) {
    req.extensions_mut().insert(FormToken(found));
}

/// What the middleware found in the request's form body, if it read it.
pub(super) fn form_token(req: &HttpRequest) -> Option<Result<Option<String>, AuthError>> {
    req.extensions().get::<FormToken>().map(|f| f.0.clone())
}

/// A form body as read for its token: its first bytes (all of it when it fits the limit)
/// and what follows them, unread. Nothing read is lost: [`into_payload`](Self::into_payload)
/// hands the body on unchanged, an oversized one or one whose stream failed included.
pub(super) struct FormRead {
    head: Bytes,
    tail: Tail,
}

enum Tail {
    /// The body ended within the limit.
    End,
    /// The body is longer than the limit: the rest of the stream.
    More(Payload),
    /// The stream failed: its error, handed on once.
    Failed(Option<actix_web::error::PayloadError>),
}

impl FormRead {
    /// The `access_token` the body carries, or why it cannot carry one we read (400: too
    /// large to scan for one, or unreadable).
    pub(super) fn token(&self) -> Result<Option<String>, AuthError> {
        match self.tail {
            Tail::End => find_access_token(&self.head),
            Tail::More(_) => Err(AuthError::new(
                Reason::MalformedParameter,
                "the form body is too large to carry an access token",
            )),
            Tail::Failed(_) => Err(AuthError::new(
                Reason::MalformedParameter,
                "the form body could not be read",
            )),
        }
    }

    /// The body, unchanged, for the handler's extractors.
    pub(super) fn into_payload(self) -> Payload {
        match self.tail {
            Tail::End => Payload::from(self.head),
            tail => Payload::from(Box::pin(Replay {
                head: Some(self.head).filter(|h| !h.is_empty()),
                tail,
            }) as BoxedStream),
        }
    }
}

/// Reads a form body up to [`MAX_FORM_BODY_BYTES`] (one chunk more at most), leaving the
/// rest of a longer one in the stream.
pub(super) async fn read_form(mut payload: Payload) -> FormRead {
    use futures_core::Stream;
    let mut buf = BytesMut::new();
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await;
        let tail = match next {
            None => Tail::End,
            Some(Ok(chunk)) => {
                buf.extend_from_slice(&chunk);
                if buf.len() <= MAX_FORM_BODY_BYTES {
                    continue;
                }
                Tail::More(payload)
            }
            Some(Err(e)) => Tail::Failed(Some(e)),
        };
        return FormRead {
            head: buf.freeze(),
            tail,
        };
    }
}

/// A body's first bytes, then the rest of its stream (or its error).
struct Replay {
    head: Option<Bytes>,
    tail: Tail,
}

impl futures_core::Stream for Replay {
    type Item = Result<Bytes, actix_web::error::PayloadError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(head)));
        }
        match &mut self.tail {
            Tail::End => Poll::Ready(None),
            Tail::More(rest) => Pin::new(rest).poll_next(cx),
            Tail::Failed(e) => Poll::Ready(e.take().map(Err)),
        }
    }
}

#[derive(Default)]
pub(super) struct Gate {
    passed: Option<Payload>,
    open: bool,
    waker: Option<Waker>,
}

impl Gate {
    /// Hands `passed` (the body, unchanged) on to the extractors waiting for it.
    pub(super) fn open(&mut self, passed: Payload) {
        self.passed = Some(passed);
        self.open = true;
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

struct GatedPayload(Rc<RefCell<Gate>>);

impl futures_core::Stream for GatedPayload {
    type Item = Result<Bytes, actix_web::error::PayloadError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut gate = self.0.borrow_mut();
        if !gate.open {
            gate.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        match &mut gate.passed {
            None => Poll::Ready(None),
            Some(stream) => Pin::new(stream).poll_next(cx),
        }
    }
}
