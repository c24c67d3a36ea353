use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

#[requires(scope = 42)]
async fn list_reports() -> &'static str {
    "reports"
}

fn main() {}
