use actix_web::{web, App, HttpRequest, HttpResponse};
use endpoint_auth::actix::Decision;
use endpoint_auth::{requires, Principal};

endpoint_auth::scopes! {
    "write:reports" => "Create and edit reports",
}

struct Store;

async fn owns_report(caller: Principal, id: web::Path<u64>, _store: web::Data<Store>) -> Decision {
    if caller.subject() == Some("alice") && *id == 7 {
        Decision::Allow
    } else {
        Decision::Hide
    }
}

mod rules {
    pub async fn in_office(req: actix_web::HttpRequest) -> bool {
        req.headers().contains_key("x-office")
    }
}

#[requires(scope = "write:reports", check = owns_report, check = rules::in_office)]
async fn update(id: web::Path<u64>, body: web::Json<serde_json::Value>) -> HttpResponse {
    let _ = (id, body);
    HttpResponse::Ok().finish()
}

#[requires(check = rules::in_office)]
async fn anyone_in_office(_req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new()
        .app_data(web::Data::new(Store))
        .route("/reports/{id}", web::put().to(update))
        .route("/office", web::get().to(anyone_in_office));
}
