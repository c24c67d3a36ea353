use actix_web::{web, App, HttpResponse};
use endpoint_auth::{Authorized, Requirement, RequirementSpec};

// A hand-written requirement is not seen by `#[requires]`; the extractor checks it when it is
// compiled for it: "read reports" would be two scopes on the wire, and no token carries it.
struct ReadReports;
impl RequirementSpec for ReadReports {
    const REQUIREMENT: Requirement = Requirement::Scope("read reports");
}

async fn reports(_caller: Authorized<ReadReports>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new().route("/reports", web::get().to(reports));
}
