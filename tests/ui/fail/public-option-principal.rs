use endpoint_auth::{public, Principal};

// A public page that personalises: `Option<Principal>` would serve an expired token as
// anonymous; `MaybePrincipal` is the type that refuses it.
#[public]
async fn front_page(caller: Option<Principal>) -> String {
    match caller {
        Some(p) => format!("welcome back, {}", p.subject().unwrap_or("?")),
        None => "welcome".to_owned(),
    }
}

fn main() {}
