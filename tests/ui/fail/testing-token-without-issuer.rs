// A token builder exists only as `TestIssuer::token()`'s answer: without an issuer there is
// no key to sign with and no catalog to check scopes against, so it cannot be written.
use endpoint_auth::testing::TokenBuilder;

fn main() {
    let _token = TokenBuilder::new().scopes(["read:reports"]).sign();
}
