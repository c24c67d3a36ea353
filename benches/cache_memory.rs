//! Memory under 1,000,000 distinct tokens (issue 7, target 3): every token is verified (HS256,
//! to keep the run short) and stored in a default-sized cache; resident memory and the cache's
//! size are sampled along the way. Run: `cargo bench --bench cache_memory`.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::sync::Arc;

use common::*;
use endpoint_auth::Algorithm;
use endpoint_auth_runtime::cache::{TokenCache, TokenCacheSettings};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        })
        .unwrap_or(0)
}

fn main() {
    let total: usize = std::env::var("TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let config = builder().build().unwrap();
    let verifier = config.verifier();
    let settings = TokenCacheSettings::default();
    let cache = TokenCache::new(settings, 30);
    let key = EncodingKey::from_secret(&hmac_secret());
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("hs256".into());
    let base = claims("read:reports write:reports");
    let start_rss = rss_kib();
    println!("tokens,cache_entries,cache_weight_bytes,rss_kib");
    println!("0,0,0,{start_rss}");
    let mut peak = start_rss;
    for i in 1..=total {
        let mut c = base.clone();
        c["jti"] = json!(format!("token-{i}"));
        let token = jsonwebtoken::encode(&header, &c, &key).unwrap();
        let verified = Arc::new(verifier.verify(&token).unwrap());
        cache.insert(&token, &verified, 0);
        if i % 100_000 == 0 {
            let rss = rss_kib();
            peak = peak.max(rss);
            println!("{i},{},{},{rss}", cache.len(), cache.weight());
        }
    }
    assert!(cache.len() <= settings.max_entries);
    assert!(cache.weight() <= settings.max_bytes);
    println!(
        "# {total} distinct tokens: cache held {} entries ({} bytes by weight, limit {} entries / {} bytes); RSS {} KiB → peak {} KiB",
        cache.len(),
        cache.weight(),
        settings.max_entries,
        settings.max_bytes,
        start_rss,
        peak
    );
}
