use endpoint_auth::requires;

// No `endpoint_auth::scopes! { … }` at the crate root.

#[requires(scope = "read:reports")]
async fn list_reports() -> &'static str {
    "reports"
}

fn main() {}
