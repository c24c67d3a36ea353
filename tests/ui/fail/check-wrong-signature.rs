use actix_web::web;
use endpoint_auth::{requires, Principal};

async fn returns_a_string(_caller: Principal) -> String {
    String::new()
}

#[requires(check = returns_a_string)]
async fn first() -> &'static str {
    ""
}

fn not_async(_id: web::Path<u64>) -> bool {
    true
}

#[requires(check = not_async)]
async fn second() -> &'static str {
    ""
}

fn main() {}
