//! The kit's actix-web side: a token on a `TestRequest`, and actix-web responses handed to the
//! assertions as they are.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::test::TestRequest;
use actix_web::HttpResponse;

use super::assert::{AuthResponse, RawResponse};

/// `.bearer(&token)` on actix-web's `TestRequest`.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use actix_web::test::TestRequest;
/// use endpoint_auth::testing::{TestIssuer, TestRequestExt};
///
/// let issuer = TestIssuer::new(&[]);
/// let token = issuer.token().subject("u1").sign();
/// let req = TestRequest::get().uri("/me").bearer(&token).to_http_request();
/// let sent = req.headers().get("authorization").unwrap().to_str().unwrap();
/// assert_eq!(sent, format!("Bearer {token}"));
/// ```
pub trait TestRequestExt {
    /// Sets `Authorization: Bearer <token>` (a kit token or any string).
    fn bearer(self, token: impl AsRef<str>) -> Self;
}

impl TestRequestExt for TestRequest {
    fn bearer(self, token: impl AsRef<str>) -> Self {
        self.insert_header((
            actix_web::http::header::AUTHORIZATION,
            format!("Bearer {}", token.as_ref()),
        ))
    }
}

fn headers(map: &actix_web::http::header::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

impl<B: MessageBody> AuthResponse for HttpResponse<B> {
    fn into_raw(self) -> RawResponse {
        let status = self.status().as_u16();
        let headers = headers(self.headers());
        // Rejections carry their body as bytes; a stream cannot be read without waiting.
        match self.into_body().try_into_bytes() {
            Ok(bytes) => RawResponse::new(status, headers, bytes.to_vec()),
            Err(_) => RawResponse::unread_body(status, headers),
        }
    }
}

impl<B: MessageBody> AuthResponse for ServiceResponse<B> {
    fn into_raw(self) -> RawResponse {
        self.into_parts().1.into_raw()
    }
}
