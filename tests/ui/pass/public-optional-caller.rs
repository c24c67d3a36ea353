use actix_web::{get, web, App, HttpResponse};
use endpoint_auth::{public, MaybePrincipal};

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

/// Public, and personalised when the caller sends a valid token.
#[public(reason = "front page")]
#[get("/")]
async fn front_page(caller: MaybePrincipal) -> HttpResponse {
    match caller.as_ref().and_then(|p| p.subject()) {
        Some(sub) => HttpResponse::Ok().body(format!("welcome back, {sub}")),
        None => HttpResponse::Ok().body("welcome"),
    }
}

/// With the application's own claims, a full path, and other extractors.
#[public]
async fn tenant_page(
    caller: endpoint_auth::MaybePrincipal<Tenant>,
    query: web::Query<Vec<(String, String)>>,
) -> String {
    let tenant = caller.into_option().map(|p| p.into_extra().tenant);
    format!("{} {}", tenant.unwrap_or_default(), query.len())
}

fn main() {
    let _ = App::new()
        .service(front_page)
        .route("/tenant", web::get().to(tenant_page));
}
