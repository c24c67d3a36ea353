//! A refusal as an actix-web response, and the RFC 9728 metadata route.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use bytes::Bytes;

use crate::error::AuthRejection;

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.rendered().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        for (name, value) in &self.rendered().headers {
            // Values are rendered from visible ASCII only; a value that still fails is dropped
            // rather than sent half-valid.
            if let Ok(v) = header::HeaderValue::from_str(value) {
                res.insert_header((*name, v));
            }
        }
        res.body(self.rendered().body.clone())
    }
}

/// The resource name of [`metadata_service`], which deny-by-default lets through.
pub(crate) const METADATA_RESOURCE: &str = "endpoint_auth_protected_resource_metadata";

/// Serves an RFC 9728 metadata document at its well-known path (200, `application/json`):
/// `App::new().service(endpoint_auth::actix::metadata_service(&meta))`. Set the same URL with
/// [`AuthConfigBuilder::resource_metadata`](crate::AuthConfigBuilder::resource_metadata) so 401 challenges point at it.
/// It is public by nature (a client reads it to learn how to get a token), also under
/// [`AuthConfigBuilder::deny_by_default`](crate::AuthConfigBuilder::deny_by_default).
pub fn metadata_service(meta: &crate::metadata::ResourceMetadata) -> actix_web::Resource {
    let body = Bytes::from(meta.to_json());
    actix_web::web::resource(meta.well_known_path())
        .name(METADATA_RESOURCE)
        .route(actix_web::web::get().to(move || {
            let body = body.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(body)
            }
        }))
}
