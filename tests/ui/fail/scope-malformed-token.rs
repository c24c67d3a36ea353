use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

#[requires(scope = "")]
async fn empty() {}

#[requires(scope = "read reports")]
async fn space() {}

#[requires(scope = "read\"reports")]
async fn quote() {}

#[requires(scope = "read\\reports")]
async fn backslash() {}

#[requires(scope = "read\treports")]
async fn control() {}

#[requires(scope = "lire:rapports-généraux")]
async fn non_ascii() {}

fn main() {}
