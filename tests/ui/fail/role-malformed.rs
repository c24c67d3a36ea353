use endpoint_auth::requires;

endpoint_auth::roles! {
    "reports-admin" => "Administers every report",
    "reports-admin" => "Declared twice",
    " padded" => "Leading space",
    "" => "Empty",
    "ok" => "",
}

#[requires(role = "")]
async fn empty_role() -> &'static str {
    ""
}

#[requires(role = 7)]
async fn role_not_a_string() -> &'static str {
    ""
}

#[requires(all(role = "reports-admin", role = "reports-admin"))]
async fn role_twice() -> &'static str {
    ""
}

fn main() {}
