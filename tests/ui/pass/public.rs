use actix_web::{get, web, App, HttpResponse};
use endpoint_auth::public;

/// Open on purpose, above or below the route attribute, with or without a reason.
#[public(reason = "load balancer probe")]
#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[get("/version")]
#[public]
async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[public]
async fn robots(_req: actix_web::HttpRequest) -> &'static str {
    "User-agent: *"
}

fn main() {
    let _ = App::new()
        .service(health)
        .service(version)
        .route("/robots.txt", web::get().to(robots));
}
