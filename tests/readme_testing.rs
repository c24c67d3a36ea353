use actix_web::{post, test, App, HttpResponse};
use endpoint_auth::requires;
use endpoint_auth::testing::{assert_insufficient_scope, TestIssuer, TestRequestExt};

endpoint_auth::scopes! { "read:reports" => "Read reports", "write:reports" => "Create reports" }

#[requires(scope = "write:reports")]
#[post("/reports")]
async fn create_report() -> HttpResponse {
    HttpResponse::Created().finish()
}

#[actix_web::test]
async fn create_report_needs_write_reports() {
    let issuer = TestIssuer::new(SCOPES);
    let app =
        test::init_service(App::new().wrap(issuer.auth_config()).service(create_report)).await;
    let reader = issuer.token().scopes(["read:reports"]).sign();
    let req = test::TestRequest::post()
        .uri("/reports")
        .bearer(&reader)
        .to_request();
    assert_insufficient_scope(test::call_service(&app, req).await, "write:reports");
}

// Not in the README: the README's block must be this file's text above (up to formatting), so
// that the example users copy compiles and passes.
// `test` is actix-web's here (imported above): the standard one by its full path.
#[::core::prelude::v1::test]
fn the_readme_shows_this_example() {
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    let readme = include_str!("../README.md");
    let section = &readme[readme.find("## Testing your handlers").unwrap()..];
    let block = section.split("```rust,ignore\n").nth(1).unwrap();
    let block = &block[..block.find("```").unwrap()];
    assert!(
        squeeze(include_str!("readme_testing.rs")).starts_with(&squeeze(block)),
        "the testing example of README.md and tests/readme_testing.rs differ"
    );
}
