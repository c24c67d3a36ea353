use actix_web::{web, App, HttpResponse};
use endpoint_auth::requires;

endpoint_auth::scopes! {
    "admin" => "Everything",
    "reports:delete" => "Delete reports",
    "reports:own" => "Act on one's own reports",
    "audit" => "Read the audit log",
}

#[requires(any(scope = "admin", all(scope = "reports:delete", scope = "reports:own")))]
async fn delete_report() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

#[requires(all(any(scope = "admin", scope = "audit"), scope = "reports:own"))]
async fn audit_own() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[requires(any(scope = "admin"))]
async fn single_member() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new()
        .route("/a", web::delete().to(delete_report))
        .route("/b", web::get().to(audit_own))
        .route("/c", web::get().to(single_member));
}
