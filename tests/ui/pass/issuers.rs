use actix_web::{get, HttpResponse};
use endpoint_auth::{requires, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

endpoint_auth::issuers! {
    "staff" => "Employees (Entra ID)",
    "partners" => "Partner organisations (Auth0)",
}

#[requires(issuer = "partners", scope = "read:reports")]
#[get("/partner/reports")]
async fn partner_reports(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.token().trusted_issuer().to_owned())
}

#[requires(any(issuer = "staff", all(issuer = "partners", scope = "read:reports")))]
#[get("/shared")]
async fn shared() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    assert_eq!(ISSUERS.len(), 2);
    assert_eq!(ISSUERS[1].name(), "partners");
}
