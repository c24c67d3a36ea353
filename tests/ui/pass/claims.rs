use actix_web::{get, web, App, HttpResponse};
use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

#[requires(claim(email_verified = true))]
async fn verified() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[requires(scope = "read:reports", claim(tenant = "acme", level = -2))]
async fn acme() -> HttpResponse {
    HttpResponse::Ok().finish()
}

// The route attribute below ours: the parameter is checked against the route read from the
// source.
#[get("/users/{user_id:[a-z]+}/reports")]
#[requires(any(scope = "read:reports", claim(sub = path.user_id)))]
async fn own(user_id: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().body(user_id.into_inner())
}

fn main() {
    let _ = App::new()
        .route("/verified", web::get().to(verified))
        .route("/acme", web::get().to(acme))
        .service(own);
}
