use std::sync::Arc;

use endpoint_auth::{NoExtraClaims, Principal, Verified};

// A Principal only comes out of verification: its fields are private and it has no public
// constructor, so handler code cannot make one up.
fn forge(token: Arc<Verified>) -> Principal {
    Principal {
        token,
        extra: NoExtraClaims {},
    }
}

fn main() {
    let _ = forge;
}
