use endpoint_auth::requires;

async fn allowed() -> bool {
    true
}

#[requires(check = "allowed")]
async fn as_string() -> &'static str {
    ""
}

#[requires(any(authenticated, check = allowed))]
async fn nested() -> &'static str {
    ""
}

#[requires(check = allowed, check = allowed)]
async fn twice() -> &'static str {
    ""
}

fn main() {}
