use endpoint_auth::{requires, Principal};

// actix-web's `Option<T>` extractor would turn an expired token into `None`.
#[requires(authenticated)]
async fn me(caller: Option<Principal>) -> String {
    caller
        .and_then(|p| p.subject().map(str::to_owned))
        .unwrap_or_default()
}

fn main() {}
