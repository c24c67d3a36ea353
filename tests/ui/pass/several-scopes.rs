use actix_web::{web, App, HttpResponse};
use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

#[requires(scope = "read:reports", scope = "write:reports")]
async fn copy_report(id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().body(id.to_string())
}

// Raw and escaped literals name the same scope as the plain one.
#[requires(scope = r"read:reports", scope = "write\x3Areports")]
async fn copy_report_raw() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new()
        .route("/reports/{id}/copy", web::post().to(copy_report))
        .route("/reports/copy", web::post().to(copy_report_raw));
}
