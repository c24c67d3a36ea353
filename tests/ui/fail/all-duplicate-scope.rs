use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

#[requires(all(
    scope = "read:reports",
    scope = "write:reports",
    scope = "read:reports"
))]
async fn copy_report() -> &'static str {
    "copied"
}

fn main() {}
