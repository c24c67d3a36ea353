use endpoint_auth::requires;

endpoint_auth::issuers! {
    "staff" => "Employees",
    "staff" => "Declared twice",
    "https://login.example.com/" => "An iss URL, not a name",
    "" => "Empty",
    "partners" => "",
}

#[requires(issuer = "https://login.example.com/")]
async fn iss_url_instead_of_a_name() -> &'static str {
    ""
}

#[requires(issuer = 7)]
async fn issuer_not_a_string() -> &'static str {
    ""
}

#[requires(issuer)]
async fn issuer_without_a_value() -> &'static str {
    ""
}

#[requires(any(issuer = "staff", issuer = "staff"))]
async fn issuer_twice() -> &'static str {
    ""
}

fn main() {}
