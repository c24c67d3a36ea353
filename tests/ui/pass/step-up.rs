use actix_web::{web, App, HttpResponse};
use endpoint_auth::{requires, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "export:reports" => "Export every report",
}

#[requires(scope = "export:reports", acr = "urn:example:mfa")]
async fn export(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.token().acr().unwrap_or_default().to_owned())
}

#[requires(max_age = 300)]
async fn recent() -> HttpResponse {
    HttpResponse::Ok().finish()
}

// Two handlers with the same max_age share one requirement type.
#[requires(all(scope = "read:reports", max_age = 300))]
async fn recent_reader() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[requires(any(
    all(scope = "read:reports", acr = "urn:example:mfa", max_age = 600),
    all(scope = "read:reports", acr = "urn:example:hwk"),
    scope = "export:reports"
))]
async fn either() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new()
        .route("/export", web::post().to(export))
        .route("/recent", web::get().to(recent))
        .route("/recent-reader", web::get().to(recent_reader))
        .route("/either", web::get().to(either));
}
