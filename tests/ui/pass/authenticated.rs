use actix_web::{get, App, HttpResponse};
use endpoint_auth::requires;

// A crate whose handlers name no scope needs no catalog.

#[get("/me")]
#[requires(authenticated)]
async fn me() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new().service(me);
}
