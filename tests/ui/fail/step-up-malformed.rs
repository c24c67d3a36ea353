use endpoint_auth::requires;

endpoint_auth::scopes! {
    "export:reports" => "Export every report",
}

#[requires(scope = "export:reports", acr = "")]
async fn empty_acr() -> &'static str {
    ""
}

#[requires(acr = "urn:example:mfa urn:example:hwk")]
async fn two_acr_in_one() -> &'static str {
    ""
}

#[requires(acr = 2)]
async fn acr_not_a_string() -> &'static str {
    ""
}

#[requires(max_age = 0)]
async fn zero_max_age() -> &'static str {
    ""
}

#[requires(max_age = -300)]
async fn negative_max_age() -> &'static str {
    ""
}

#[requires(max_age = "300")]
async fn max_age_as_string() -> &'static str {
    ""
}

#[requires(any(acr = "urn:example:mfa", acr = "urn:example:mfa"))]
async fn acr_twice() -> &'static str {
    ""
}

#[requires(all(max_age = 300, max_age = 60))]
async fn max_age_twice() -> &'static str {
    ""
}

fn main() {}
