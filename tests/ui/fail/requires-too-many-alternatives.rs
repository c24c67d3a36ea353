use endpoint_auth::requires;

endpoint_auth::scopes! {
    "a1" => "a1", "b1" => "b1", "a2" => "a2", "b2" => "b2", "a3" => "a3", "b3" => "b3",
    "a4" => "a4", "b4" => "b4", "a5" => "a5", "b5" => "b5", "a6" => "a6", "b6" => "b6",
    "a7" => "a7", "b7" => "b7", "a8" => "a8", "b8" => "b8", "a9" => "a9", "b9" => "b9",
}

// 2^9 = 512 ways to be satisfied: each would be a 403 hint candidate and an OpenAPI
// security requirement.
#[requires(all(
    any(scope = "a1", scope = "b1"),
    any(scope = "a2", scope = "b2"),
    any(scope = "a3", scope = "b3"),
    any(scope = "a4", scope = "b4"),
    any(scope = "a5", scope = "b5"),
    any(scope = "a6", scope = "b6"),
    any(scope = "a7", scope = "b7"),
    any(scope = "a8", scope = "b8"),
    any(scope = "a9", scope = "b9"),
))]
async fn combinatorial() -> &'static str {
    ""
}

fn main() {}
