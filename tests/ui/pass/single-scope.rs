use actix_web::{web, App, HttpResponse};
use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

#[requires(scope = "read:reports")]
async fn list_reports() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new().route("/reports", web::get().to(list_reports));
    assert_eq!(SCOPES[0].scope(), "read:reports");
    assert_eq!(SCOPES[0].description(), "Read reports");
}
