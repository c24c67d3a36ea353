use actix_web::{post, web, App, HttpResponse};
use endpoint_auth::requires;

endpoint_auth::scopes! {
    "write:reports" => "Create and edit reports",
}

/// Doc comments and other attributes stay on the handler.
#[requires(scope = "write:reports")]
#[post("/reports")]
#[allow(clippy::unused_async)]
pub async fn create_report(body: web::Bytes) -> HttpResponse {
    HttpResponse::Created().body(body)
}

fn main() {
    let _ = App::new().service(create_report);
}
