use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

#[requires(scope = "write:report")]
async fn create_report() -> &'static str {
    "created"
}

fn main() {}
