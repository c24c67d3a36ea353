use std::fmt::Display;

use actix_web::{web, App, HttpResponse};
use endpoint_auth::requires;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

trait Store: 'static {
    fn name() -> &'static str;
}

struct Memory;
impl Store for Memory {
    fn name() -> &'static str {
        "memory"
    }
}

#[requires(scope = "read:reports")]
async fn list_reports<S, T>(id: web::Path<T>) -> HttpResponse
where
    S: Store,
    T: Display + serde::de::DeserializeOwned + 'static,
{
    HttpResponse::Ok().body(format!("{} {}", S::name(), id.into_inner()))
}

fn main() {
    let _ = App::new().route("/reports/{id}", web::get().to(list_reports::<Memory, u32>));
}
