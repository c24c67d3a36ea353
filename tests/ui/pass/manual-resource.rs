use actix_web::{web, App, HttpResponse};
use endpoint_auth::requires;

endpoint_auth::scopes! {
    "write:reports" => "Create and edit reports",
}

#[requires(scope = "write:reports")]
async fn create_report(body: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Created().json(body.into_inner())
}

fn main() {
    let _ = App::new().service(web::resource("/reports").route(web::post().to(create_report)));
}
