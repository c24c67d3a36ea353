// The facade reached through another path, as with `auth = { package = "endpoint-auth" }`.
mod auth {
    pub use endpoint_auth::*;
}

use actix_web::{web, App, HttpResponse};

endpoint_auth::scopes! {
    crate = "crate::auth";
    "read:reports" => "Read reports",
}

#[auth::requires(scope = "read:reports", crate = "crate::auth")]
async fn list_reports() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new().route("/reports", web::get().to(list_reports));
    assert_eq!(SCOPES.len(), 1);
}
