use endpoint_auth::public;

#[public(reason = " ")]
async fn health() -> &'static str {
    "ok"
}

fn main() {}
