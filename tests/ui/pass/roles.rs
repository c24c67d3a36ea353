use actix_web::{web, App, HttpResponse};
use endpoint_auth::{requires, AuthConfig, Principal, RoleSource};

endpoint_auth::scopes! {
    "write:reports" => "Create and edit reports",
}

endpoint_auth::roles! {
    "reports-admin" => "Administers every report",
    "editor" => "Edits reports",
    "Reports.Audit" => "An Entra ID app role",
}

#[requires(role = "reports-admin")]
async fn admin(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.token().roles().join(","))
}

#[requires(any(role = "reports-admin", all(role = "editor", scope = "write:reports")))]
async fn edit() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[requires(role = "Reports.Audit", acr = "urn:example:mfa")]
async fn audit() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = AuthConfig::builder()
        .roles_from(RoleSource::keycloak_realm().and(RoleSource::keycloak_client("api")))
        .role_claim("groups");
    assert_eq!(ROLES.len(), 3);
    let _ = App::new()
        .route("/admin", web::get().to(admin))
        .route("/edit", web::post().to(edit))
        .route("/audit", web::get().to(audit));
}
