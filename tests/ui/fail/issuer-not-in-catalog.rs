use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

endpoint_auth::issuers! {
    "staff" => "Employees (Entra ID)",
    "partners" => "Partner organisations (Auth0)",
}

#[requires(issuer = "partner", scope = "read:reports")]
async fn misspelled() -> &'static str {
    ""
}

#[requires(any(issuer = "staff", all(issuer = "contractors", scope = "read:reports")))]
async fn undeclared() -> &'static str {
    ""
}

fn main() {}
