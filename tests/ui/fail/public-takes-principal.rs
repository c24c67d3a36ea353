use endpoint_auth::{public, Principal};

#[public]
async fn whoami(caller: Principal) -> String {
    caller.subject().unwrap_or_default().to_owned()
}

fn main() {}
