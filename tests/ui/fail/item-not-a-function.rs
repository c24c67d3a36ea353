use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

#[requires(scope = "read:reports")]
struct Reports;

fn main() {}
