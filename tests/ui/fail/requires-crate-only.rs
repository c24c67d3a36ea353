use endpoint_auth::requires;

// `crate` names where the facade is; it requires nothing by itself.
#[requires(crate = "endpoint_auth")]
async fn nothing_required() -> &'static str {
    ""
}

fn main() {}
