use endpoint_auth::requires;

endpoint_auth::scopes! {
    "write:reports" => "Create and edit reports",
}

endpoint_auth::roles! {
    "reports-admin" => "Administers every report",
    "editor" => "Edits reports",
}

#[requires(role = "report-admin")]
async fn misspelled() -> &'static str {
    ""
}

#[requires(any(role = "editor", all(role = "auditor", scope = "write:reports")))]
async fn undeclared() -> &'static str {
    ""
}

fn main() {}
