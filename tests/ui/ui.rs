//! Compile-time behaviour of `#[requires]` and `scopes!`: the error for each mistake (what
//! compiles is in pass/, test targets of their own; see Cargo.toml). Regenerate the expected
//! output with `TRYBUILD=overwrite cargo test -p endpoint-auth-ui --test ui`.

#[test]
fn ui() {
    every_pass_case_is_a_test_target();

    // trybuild's project under target/tests/trybuild reads no profile of this workspace: its
    // one binary is only run to see that it starts, so debug information, symbols and
    // incremental state would be disk spent for nothing (a CI machine's disk is small). Set
    // before trybuild starts cargo; this test is the only one in its binary, so no other
    // thread reads the environment.
    std::env::set_var("CARGO_PROFILE_DEV_DEBUG", "false");
    std::env::set_var("CARGO_PROFILE_DEV_STRIP", "symbols");
    std::env::set_var("CARGO_INCREMENTAL", "0");

    let t = trybuild::TestCases::new();
    t.compile_fail("fail/*.rs");
    // With a pass case trybuild compiles every case with `cargo build`, not `cargo check`:
    // fail/requirement-spec-malformed.rs fails in the extractor's `const` assertion, which
    // only code generation evaluates (as in a user's `cargo build`).
    t.pass("build/*.rs");
}

/// The pass cases run as `[[test]]` targets listed in Cargo.toml (`autotests = false`): a file
/// added to pass/ without its entry would never be compiled. trybuild's glob used to find
/// every file; this keeps that promise.
fn every_pass_case_is_a_test_target() {
    let manifest = std::fs::read_to_string("Cargo.toml").expect("tests/ui/Cargo.toml");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir("pass").expect("tests/ui/pass") {
        let name = entry.expect("a pass/ entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".rs") && !manifest.contains(&format!("path = \"pass/{name}\"")) {
            missing.push(name.into_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "pass cases without a [[test]] entry (harness = false) in tests/ui/Cargo.toml: {missing:?}"
    );
}
