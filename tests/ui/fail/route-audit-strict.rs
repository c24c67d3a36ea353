use actix_web::{get, web, App, HttpResponse};
use endpoint_auth::{public, requires};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

// Strict: every route these sources register must be declared.
endpoint_auth::route_audit!(strict);

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn list() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[public(reason = "probe")]
#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[get("/debug")]
async fn debug() -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn legacy() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new()
        .service(list)
        .service(health)
        .service(debug)
        .service(web::scope("/v1").route("/legacy", web::post().to(legacy)));
}
