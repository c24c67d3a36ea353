use endpoint_auth::{public, requires};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

#[public]
#[requires(scope = "read:reports")]
async fn list_reports() -> &'static str {
    "[]"
}

#[requires(scope = "read:reports")]
#[public]
async fn export_reports() -> &'static str {
    "[]"
}

fn main() {}
