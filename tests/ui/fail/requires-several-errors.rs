use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

#[requires(
    scopes = "read:reports",
    scope = 42,
    scope = "write reports",
    any(),
    scope = "raed:reports"
)]
async fn list_reports() -> &'static str {
    "reports"
}

fn main() {}
