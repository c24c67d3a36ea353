use endpoint_auth::public;

#[public(because = "load balancer probe")]
async fn health() -> &'static str {
    "ok"
}

fn main() {}
