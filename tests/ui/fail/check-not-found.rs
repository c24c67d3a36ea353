use endpoint_auth::requires;

#[requires(check = owns_reprot)]
async fn update() -> &'static str {
    ""
}

async fn owns_report() -> bool {
    true
}

fn main() {}
