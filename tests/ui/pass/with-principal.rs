use actix_web::{web, App, HttpResponse};
use endpoint_auth::{requires, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

#[requires(scope = "read:reports")]
async fn list_reports(caller: Principal, query: web::Query<Tenant>) -> HttpResponse {
    HttpResponse::Ok().body(format!(
        "{} {}",
        caller.subject().unwrap_or("?"),
        query.tenant
    ))
}

#[requires(scope = "read:reports")]
async fn with_claims(caller: Principal<Tenant>) -> HttpResponse {
    HttpResponse::Ok().body(caller.extra().tenant.clone())
}

fn main() {
    let _ = App::new()
        .route("/reports", web::get().to(list_reports))
        .route("/tenant", web::get().to(with_claims));
}
