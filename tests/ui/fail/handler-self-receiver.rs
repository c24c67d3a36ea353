use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

struct Reports;

impl Reports {
    #[requires(scope = "read:reports")]
    async fn list(&self) -> &'static str {
        "reports"
    }
}

fn main() {}
