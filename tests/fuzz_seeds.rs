//! The fuzz targets' seeds (and any local corpus), replayed on stable through the targets' own
//! oracles: `fuzz/` is a nightly-only workspace that CI never builds, and the oracle files are
//! shared by `#[path]`, so this test and the fuzzer cannot drift apart.

mod common;

#[path = "../fuzz/oracles/authorization_header.rs"]
mod authorization_header;
#[path = "../fuzz/oracles/verify_token.rs"]
mod verify_token;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use endpoint_auth::Algorithm;
use serde_json::{json, Value};

/// The committed seeds of `target`, and its corpus when one is on disk (it is not committed).
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for dir in [
        fuzz.join("seeds").join(target),
        fuzz.join("corpus").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                inputs.push((path, bytes));
            }
        }
    }
    inputs.sort();
    inputs
}

/// Runs `check` on every input; reports each one that failed by file name, not by contents.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let inputs = inputs(target);
    let failed: Vec<String> = inputs
        .iter()
        .filter(|(_, data)| catch_unwind(|| check(data)).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target}: oracle failed on {failed:?}");
    inputs.len()
}

#[test]
fn every_authorization_header_seed_passes_the_fuzz_oracle() {
    assert!(replay("authorization_header", authorization_header::check) >= 3);
}

#[test]
fn every_verify_token_seed_passes_the_fuzz_oracle() {
    assert!(replay("verify_token", verify_token::check) >= verify_token::SEEDS.len());
}

/// The oracle's allow-list is the committed seed files, no more and no less.
#[test]
fn the_oracle_knows_every_committed_verify_token_seed() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/verify_token");
    let mut on_disk: Vec<String> = std::fs::read_dir(seeds)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut known: Vec<&str> = verify_token::SEEDS.iter().map(|(name, _)| *name).collect();
    known.sort();
    assert_eq!(on_disk, known);
}

/// The signed seeds (ES256 and HS256) verify until their `exp` in 2030, so the oracle's
/// exact-match path is exercised; expired, they are still good seeds.
#[test]
fn the_signed_seeds_verify_until_they_expire() {
    let verifier = verify_token::config().verifier();
    for name in ["seed0", "seed1"] {
        let (_, seed) = verify_token::SEEDS
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap();
        let token = verify_token::token(seed).unwrap();
        let exp = claims_of(&token).unwrap()["exp"].as_i64().unwrap();
        if exp > now() + 60 {
            assert!(verifier.verify(&token).is_ok(), "{name} does not verify");
            assert!(verify_token::is_seed(&token));
        }
    }
}

fn claims_of(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn fails_the_oracle(input: &[u8]) -> bool {
    catch_unwind(AssertUnwindSafe(|| verify_token::check(input))).is_err()
}

/// The old oracle let any verified token with `sub: fuzz-seed` through. A token genuinely
/// signed with a test key, claiming to be a seed, is still not one: only the seeds' exact
/// bytes may verify.
#[test]
fn a_signed_token_that_is_not_a_seed_fails_the_oracle() {
    for alg in [Algorithm::ES256, Algorithm::HS256, Algorithm::RS256] {
        let mut c = claims("read:reports");
        c["sub"] = json!("fuzz-seed");
        let mut input = vec![0u8];
        input.extend_from_slice(mint(alg, &c).as_bytes());
        assert!(fails_the_oracle(&input), "{alg:?}");
    }
    // The same bytes in the other shape (header and payload given decoded) fail as well.
    let c = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "fuzz-seed", "exp": now() + 300,
    });
    let token = mint(Algorithm::HS256, &c);
    let mut parts = token.split('.');
    let mut input = vec![1u8];
    input.extend(URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap());
    input.push(0xff);
    input.extend(URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap());
    input.push(0xff);
    input.extend_from_slice(parts.next().unwrap().as_bytes());
    assert!(fails_the_oracle(&input));
}
