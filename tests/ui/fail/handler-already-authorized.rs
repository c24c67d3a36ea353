use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

use endpoint_auth::{Authorized, Requirement, RequirementSpec};

struct ReadReports;
impl RequirementSpec for ReadReports {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

#[requires(scope = "read:reports")]
async fn list_reports(auth: Authorized<ReadReports>) -> String {
    auth.subject().unwrap_or("?").to_owned()
}

fn main() {}
