use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

endpoint_auth::issuers! {
    "staff" => "Employees (Entra ID)",
    "partners" => "Partner organisations (Auth0)",
}

// A token has one `acr` and one issuer: both at once can never hold.
#[requires(acr = "urn:example:mfa", acr = "urn:example:hwk")]
async fn two_acrs() -> &'static str {
    ""
}

#[requires(all(issuer = "staff", issuer = "partners"), scope = "read:reports")]
async fn two_issuers() -> &'static str {
    ""
}

// A claim cannot equal two values.
#[requires(claim(tier = "gold"), claim(tier = "silver"))]
async fn two_tiers() -> &'static str {
    ""
}

// Either is fine.
#[requires(any(acr = "urn:example:mfa", acr = "urn:example:hwk"))]
async fn either_acr() -> &'static str {
    ""
}

#[requires(any(claim(tier = "gold"), claim(tier = "silver")))]
async fn either_tier() -> &'static str {
    ""
}

fn main() {}
