use endpoint_auth::{requires, AnyValidToken, Authorized};

#[requires(authenticated)]
async fn me(caller: Option<Authorized<AnyValidToken>>) -> String {
    caller
        .and_then(|a| a.subject().map(str::to_owned))
        .unwrap_or_default()
}

fn main() {}
