use actix_web::{route, web, App, HttpResponse};
use endpoint_auth::requires;

endpoint_auth::scopes! {
    "write:reports" => "Create and edit reports",
}

/// Doc comments and other attributes stay on the handler.
#[route("/reports", method = "POST", method = "PUT")]
#[requires(scope = "write:reports")]
pub(crate) async fn create_report(body: web::Bytes) -> HttpResponse {
    HttpResponse::Created().body(body)
}

mod nested {
    use actix_web::{get, HttpResponse};
    use endpoint_auth::requires;

    // The catalog is found from any module of the crate.
    #[get("/reports")]
    #[requires(scope = "write:reports")]
    pub async fn list_reports() -> HttpResponse {
        HttpResponse::Ok().finish()
    }
}

fn main() {
    let _ = App::new()
        .service(create_report)
        .service(nested::list_reports);
}
