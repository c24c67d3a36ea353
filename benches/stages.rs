//! The cost of each stage of a protected request, and our verification beside a bare
//! `jsonwebtoken::decode` of the same token with the same key and validation: the ratio is
//! our overhead. Run: `cargo bench --bench stages` (bench/stages.sh writes BENCHMARKS.md).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use endpoint_auth::{Algorithm, AuthError, Requirement};
use endpoint_auth_runtime::challenge::Challenge;
use endpoint_auth_runtime::credentials::parse_authorization_value;
use endpoint_auth_runtime::error::ChallengeContext;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

/// The outcome of a pipeline that must not wait (static keys, an in-process check, a cached
/// answer): one poll, which panics if it would have waited.
fn at_once<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a path measured as synchronous waited"),
    }
}

fn header_parsing(c: &mut Criterion) {
    let header = format!("Bearer {}", token("read:reports write:reports"));
    c.bench_function("header_parsing", |b| {
        b.iter(|| parse_authorization_value(black_box(header.as_bytes())))
    });
}

fn challenge_rendering(c: &mut Criterion) {
    let ctx = ChallengeContext {
        realm: "reports-api",
        ..Default::default()
    };
    let err = AuthError::insufficient_scope("write:reports admin:reports");
    c.bench_function("challenge_rendering/insufficient_scope", |b| {
        b.iter(|| black_box(&err).render(&ctx))
    });
    let bare = Challenge {
        realm: "reports-api",
        ..Default::default()
    };
    c.bench_function("challenge_rendering/bare", |b| {
        b.iter(|| black_box(&bare).render())
    });
}

fn policy(c: &mut Criterion) {
    const ANY: Requirement = Requirement::Any(&[
        Requirement::All(&[
            Requirement::Scope("read:reports"),
            Requirement::Scope("write:reports"),
            Requirement::Scope("admin:reports"),
        ]),
        Requirement::All(&[
            Requirement::Scope("export:reports"),
            Requirement::Scope("admin:reports"),
        ]),
    ]);
    let granted = [
        "openid",
        "profile",
        "read:reports",
        "export:reports",
        "admin:reports",
    ];
    c.bench_function("policy/any_of_all/satisfied", |b| {
        b.iter(|| black_box(&ANY).evaluate(black_box(&granted)))
    });
    let few = ["openid", "read:reports"];
    c.bench_function("policy/any_of_all/hint", |b| {
        b.iter(|| black_box(&ANY).evaluate(black_box(&few)))
    });
}

/// The claims ours reads, typed as a jsonwebtoken user would declare them: the baseline decodes
/// into this rather than into a map of every claim.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct TypedClaims {
    iss: String,
    aud: Value,
    sub: Option<String>,
    exp: u64,
    nbf: Option<u64>,
    iat: Option<u64>,
    jti: Option<String>,
    client_id: Option<String>,
    azp: Option<String>,
    scope: Option<String>,
    scp: Option<Value>,
}

/// Ours (size limit, header checks, key selection, decode, claims) vs bare decode.
fn verification(c: &mut Criterion) {
    let config = builder().build().unwrap();
    let verifier = config.verifier();
    for alg in [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let token = mint(alg, &claims("read:reports write:reports"));
        assert!(verifier.verify(&token).is_ok());
        let key = bare_key(alg);
        let mut validation = Validation::new(alg);
        validation.leeway = 30;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        assert!(jsonwebtoken::decode::<TypedClaims>(&token, &key, &validation).is_ok());
        let mut group = c.benchmark_group(format!("verify/{alg:?}"));
        group.bench_function("jsonwebtoken_decode", |b| {
            b.iter(|| jsonwebtoken::decode::<TypedClaims>(black_box(&token), &key, &validation))
        });
        group.bench_function("endpoint_auth", |b| {
            b.iter(|| verifier.verify(black_box(&token)))
        });
        // The signature check alone, as jsonwebtoken's crypto does it (the key parsed on
        // every call), and the floor: aws-lc-rs with the key parsed once.
        let (message, signature) = token.rsplit_once('.').unwrap();
        group.bench_function("signature_only", |b| {
            b.iter(|| {
                jsonwebtoken::crypto::verify(black_box(signature), message.as_bytes(), &key, alg)
            })
        });
        let floor = Floor::new(alg, &key);
        let raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert!(floor.verify(message.as_bytes(), &raw));
        group.bench_function("signature_floor", |b| {
            b.iter(|| floor.verify(black_box(message.as_bytes()), &raw))
        });
        // Ours minus the floor, measured in pairs: alternating batches of each, so that the
        // machine's drift (which exceeds the difference for the slow algorithms when the two
        // are measured separately) hits both alike. Reported as a time per verification.
        group.bench_function("overhead_paired", |b| {
            b.iter_custom(|iters| {
                let (mut ours, mut bare) = (Duration::ZERO, Duration::ZERO);
                let mut done = 0;
                while done < iters {
                    let n = (iters - done).min(32);
                    let start = Instant::now();
                    for _ in 0..n {
                        black_box(verifier.verify(black_box(&token)).is_ok());
                    }
                    ours += start.elapsed();
                    let start = Instant::now();
                    for _ in 0..n {
                        black_box(floor.verify(black_box(message.as_bytes()), &raw));
                    }
                    bare += start.elapsed();
                    done += n;
                }
                // Criterion refuses a zero sample; a batch too short to show the difference
                // counts as 1 ns (it only happens at the first, tiny sample sizes).
                ours.saturating_sub(bare).max(Duration::from_nanos(1))
            })
        });
        group.finish();
    }
}

/// A repeated token with the verified-token cache: the lookup that replaces verification.
fn token_cache(c: &mut Criterion) {
    use endpoint_auth_runtime::cache::{TokenCache, TokenCacheSettings};
    use std::sync::Arc;
    let config = builder().build().unwrap();
    let token = mint(Algorithm::RS256, &claims("read:reports write:reports"));
    let verified = Arc::new(config.verifier().verify(&token).unwrap());
    let cache = TokenCache::new(TokenCacheSettings::default(), 30);
    cache.insert(&token, &verified, 0);
    assert!(cache.get(token.as_bytes(), 0).is_some());
    c.bench_function("token_cache/hit", |b| {
        b.iter(|| cache.get(black_box(token.as_bytes()), 0))
    });
}

/// Choosing the issuer whose keys may verify a token: nothing to choose with one issuer;
/// with two, the payload's `iss` is decoded and compared. Then the whole authentication of a
/// fresh token (cache off, static ES256 keys) through one issuer and through the second of
/// two: the ratio is what selection adds to a verification.
fn issuer_selection(c: &mut Criterion) {
    use endpoint_auth::testing::TestIssuer;
    use endpoint_auth::{AuthConfig, RequestView};
    let first = TestIssuer::new(&[]).issuer("https://staff.example");
    let second = TestIssuer::new(&[]).issuer("https://partners.example");
    let one = first.config().token_cache(None).build().unwrap();
    let two = AuthConfig::builder()
        .realm("reports")
        .trust(first.trusted("staff"))
        .trust(second.trusted("partners"))
        .token_cache(None)
        .build()
        .unwrap();
    let staff = first.token().claim("scope", "read:reports").sign();
    let partner = second.token().claim("scope", "read:reports").sign();
    assert_eq!(one.issuer_for(staff.as_str()).unwrap().name(), "default");
    assert_eq!(two.issuer_for(partner.as_str()).unwrap().name(), "partners");
    let mut group = c.benchmark_group("issuer_selection");
    group.bench_function("one_issuer", |b| {
        b.iter(|| one.issuer_for(black_box(staff.as_str())).is_ok())
    });
    group.bench_function("two_issuers", |b| {
        b.iter(|| two.issuer_for(black_box(partner.as_str())).is_ok())
    });
    // Static keys: `authenticate` completes on its first poll.
    let authenticate = |config: &AuthConfig, header: &str| {
        at_once(config.authenticate(RequestView {
            authorization: [header.as_bytes()].into_iter().collect(),
            ..Default::default()
        }))
        .is_ok()
    };
    let (staff_header, partner_header) = (
        format!("Bearer {}", staff.as_str()),
        format!("Bearer {}", partner.as_str()),
    );
    assert!(authenticate(&one, &staff_header) && authenticate(&two, &partner_header));
    group.bench_function("authenticate_one_issuer", |b| {
        b.iter(|| authenticate(&one, black_box(&staff_header)))
    });
    group.bench_function("authenticate_second_of_two", |b| {
        b.iter(|| authenticate(&two, black_box(&partner_header)))
    });
    group.finish();
}

/// The revocation check's cost per request: the whole pipeline (`AuthConfig::authenticate`)
/// on a repeated token (a token-cache hit, where the check weighs most), without a check and
/// with an in-process `MemoryRevocationList` of 10,000 revoked ids (not this token's). The
/// ratio with / without is the check's relative cost; `check_overhead_paired` its absolute
/// cost, measured in alternating batches as `overhead_paired` above.
fn revocation(c: &mut Criterion) {
    use endpoint_auth::revocation::MemoryRevocationList;
    use endpoint_auth::RequestView;

    let list = MemoryRevocationList::new();
    let far = 4_000_000_000;
    for i in 0..10_000 {
        list.revoke(&format!("revoked-{i}"), far);
    }
    let without = builder().build().unwrap();
    let with = builder().revocation_check(list).build().unwrap();
    let mut c0 = claims("read:reports write:reports");
    c0["jti"] = serde_json::json!("bench-token-1");
    let header = format!("Bearer {}", mint(Algorithm::ES256, &c0));
    let view = || RequestView {
        authorization: std::iter::once(header.as_bytes()).collect(),
        ..RequestView::default()
    };
    for config in [&without, &with] {
        // Verified twice: in the (thread's) cache from then on.
        for _ in 0..3 {
            assert!(at_once(config.authenticate(view())).is_ok());
        }
        assert_eq!(config.cached_tokens(), 1);
    }
    let mut group = c.benchmark_group("revocation/cached_token");
    group.bench_function("without_check", |b| {
        b.iter(|| at_once(without.authenticate(black_box(view()))))
    });
    group.bench_function("memory_list", |b| {
        b.iter(|| at_once(with.authenticate(black_box(view()))))
    });
    group.bench_function("check_overhead_paired", |b| {
        b.iter_custom(|iters| {
            let (mut checked, mut bare) = (Duration::ZERO, Duration::ZERO);
            let mut done = 0;
            while done < iters {
                let n = (iters - done).min(32);
                let start = Instant::now();
                for _ in 0..n {
                    black_box(at_once(with.authenticate(black_box(view()))).is_ok());
                }
                checked += start.elapsed();
                let start = Instant::now();
                for _ in 0..n {
                    black_box(at_once(without.authenticate(black_box(view()))).is_ok());
                }
                bare += start.elapsed();
                done += n;
            }
            checked.saturating_sub(bare).max(Duration::from_nanos(1))
        })
    });
    group.finish();
}

/// A cached introspection answer (RFC 7662) against the cached JWT path: the whole pipeline
/// (`AuthConfig::authenticate`) on a repeated opaque token whose active answer is in the
/// introspection cache (a SHA-256 of the token and a lookup), beside a repeated JWT served
/// from the verified-token cache. The ratio `opaque_cached / jwt_cached` is the cost of a
/// cached introspection relative to the cached JWT path. The answer comes once from the
/// testing kit's real endpoint on 127.0.0.1; nothing is fetched while measuring.
fn introspection(c: &mut Criterion) {
    use endpoint_auth::introspection::Introspection;
    use endpoint_auth::testing::introspection::IntrospectionServer;
    use endpoint_auth::RequestView;

    let server = IntrospectionServer::start("bench", "secret");
    let opaque = "2YotnFZFEjr1zCsicMWpAA-bench";
    let mut answer = claims("read:reports write:reports");
    answer["active"] = serde_json::json!(true);
    answer["exp"] = serde_json::json!(4_000_000_000u64);
    server.set(opaque, answer);
    let config = builder()
        .introspection(
            Introspection::new(server.url(), "bench", "secret")
                .cache_for(Duration::from_secs(3600)),
        )
        .build()
        .unwrap();
    let opaque_header = format!("Bearer {opaque}");
    let jwt_header = format!(
        "Bearer {}",
        mint(Algorithm::ES256, &claims("read:reports write:reports"))
    );
    let view = |header: &'static str| RequestView {
        authorization: std::iter::once(header.as_bytes()).collect(),
        ..RequestView::default()
    };
    let opaque_header: &'static str = Box::leak(opaque_header.into_boxed_str());
    let jwt_header: &'static str = Box::leak(jwt_header.into_boxed_str());
    // The first answer needs the endpoint (a runtime for reqwest); cached from then on.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(runtime
        .block_on(config.authenticate(view(opaque_header)))
        .is_ok());
    for _ in 0..3 {
        assert!(at_once(config.authenticate(view(jwt_header))).is_ok());
        assert!(at_once(config.authenticate(view(opaque_header))).is_ok());
    }
    assert_eq!(server.hits(), 1);
    let mut group = c.benchmark_group("introspection/cached");
    group.bench_function("jwt_cached", |b| {
        b.iter(|| at_once(config.authenticate(black_box(view(jwt_header)))))
    });
    group.bench_function("opaque_cached", |b| {
        b.iter(|| at_once(config.authenticate(black_box(view(opaque_header)))))
    });
    group.finish();
}

/// The signature check with the key parsed once, straight on aws-lc-rs (jsonwebtoken's
/// backend): the physical floor of verification.
#[allow(clippy::large_enum_variant)] // built once per algorithm
enum Floor {
    Hmac(aws_lc_rs::hmac::Key),
    Public(aws_lc_rs::signature::ParsedPublicKey),
}

impl Floor {
    fn new(alg: Algorithm, key: &DecodingKey) -> Self {
        use aws_lc_rs::signature as sig;
        let bytes = key.try_get_as_bytes().unwrap();
        let public: &'static dyn sig::VerificationAlgorithm = match alg {
            Algorithm::HS256 => {
                return Floor::Hmac(aws_lc_rs::hmac::Key::new(
                    aws_lc_rs::hmac::HMAC_SHA256,
                    bytes,
                ))
            }
            Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            Algorithm::EdDSA => &sig::ED25519,
            _ => unreachable!(),
        };
        Floor::Public(sig::ParsedPublicKey::new(public, bytes).unwrap())
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Floor::Hmac(key) => aws_lc_rs::hmac::verify(key, message, signature).is_ok(),
            Floor::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

fn bare_key(alg: Algorithm) -> DecodingKey {
    let pem = |name: &str| read_key(&format!("{name}-public.pem"));
    match alg {
        Algorithm::HS256 => DecodingKey::from_secret(&hmac_secret()),
        Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem("rsa")).unwrap(),
        Algorithm::PS256 => DecodingKey::from_rsa_pem(&pem("rsa2")).unwrap(),
        Algorithm::ES256 => DecodingKey::from_ec_pem(&pem("ec256")).unwrap(),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem("ed25519")).unwrap(),
        _ => unreachable!(),
    }
}

criterion_group!(
    benches,
    header_parsing,
    challenge_rendering,
    policy,
    token_cache,
    issuer_selection,
    revocation,
    introspection,
    verification
);
criterion_main!(benches);
