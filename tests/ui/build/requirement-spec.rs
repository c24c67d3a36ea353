// The well-formed counterpart of fail/requirement-spec-malformed.rs: a hand-written requirement
// whose scope is an RFC 6749 scope-token builds (`cargo build`, where the extractor's
// assertion is evaluated) and runs.
use actix_web::{web, App, HttpResponse};
use endpoint_auth::{Authorized, Requirement, RequirementSpec};

struct ReadReports;
impl RequirementSpec for ReadReports {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

async fn reports(_caller: Authorized<ReadReports>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new().route("/reports", web::get().to(reports));
    assert!(ReadReports::REQUIREMENT.is_well_formed());
}
