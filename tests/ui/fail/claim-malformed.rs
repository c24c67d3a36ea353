use actix_web::get;
use endpoint_auth::requires;

#[requires(claim())]
async fn empty() -> &'static str {
    ""
}

#[requires(claim(email_verified))]
async fn no_value() -> &'static str {
    ""
}

#[requires(claim(score = 1.5))]
async fn decimal() -> &'static str {
    ""
}

#[requires(claim(tenant = some_const))]
async fn not_a_literal() -> &'static str {
    ""
}

#[requires(claim(level = 1, level = 2))]
async fn compared_twice() -> &'static str {
    ""
}

#[requires(claim = "tenant")]
async fn not_a_list() -> &'static str {
    ""
}

#[requires(claim(sub = path.id))]
#[get("/users/{user_id}/reports")]
async fn no_such_parameter() -> &'static str {
    ""
}

fn main() {}
