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

pub(super) async fn read_body(mut payload: Payload) -> Result<Bytes, AuthError> {
    use futures_core::Stream;
    let mut buf = BytesMut::new();
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await;
        match next {
            None => return Ok(buf.freeze()),
            Some(Ok(chunk)) => {
                if buf.len() + chunk.len() > MAX_FORM_BODY_BYTES {
                    return Err(AuthError::new(
                        Reason::MalformedParameter,
                        "the form body is too large to carry an access token",
                    ));
                }
                buf.extend_from_slice(&chunk);
            }
            Some(Err(_)) => {
                return Err(AuthError::new(
                    Reason::MalformedParameter,
                    "the form body could not be read",
                ))
            }
        }
    }
}

/// What the gate hands on once authentication is done.
pub(super) enum Passed {
    Body(Bytes),
    Stream(Payload),
}

#[derive(Default)]
pub(super) struct Gate {
    passed: Option<Passed>,
    open: bool,
    waker: Option<Waker>,
}

impl Gate {
    pub(super) fn open(&mut self, passed: Passed) {
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
            Some(Passed::Body(bytes)) => {
                let bytes = std::mem::take(bytes);
                gate.passed = None;
                if bytes.is_empty() {
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Ok(bytes)))
                }
            }
            Some(Passed::Stream(stream)) => Pin::new(stream).poll_next(cx),
        }
    }
}
