//! The verified-token cache: a token presented again skips signature verification.
//!
//! # Why this is safe
//!
//! - **Keyed by the whole token.** The key is the full token string and lookups compare it
//!   in full (no truncated hash, no hash-only equality), so only the exact bytes that were
//!   verified can hit. Any change to header, payload or signature is a different token.
//! - **Never past expiry.** An entry is served only while `now ≤ exp + leeway`, the same
//!   bound the verifier applies; `nbf` and `iat` were already in the past when it was stored.
//! - **Never after its key is gone.** Entries carry the generation of the key set they were
//!   verified with; any change of the key set (a rotation, a removal) makes all older
//!   entries miss, so they are verified again against the current keys. A refresh that
//!   returns the same keys keeps the generation (the keys those entries were verified with
//!   are still the ones the provider publishes). Static keys never change.
//! - **Only successes are cached.** Rejected tokens are never stored, so garbage cannot fill
//!   the cache, and every rejection is decided by a full verification.
//! - **Nothing else is skipped.** `iss`, `aud`, `typ` and the algorithm were checked under a
//!   configuration that cannot change for the lifetime of the cache; scopes and the
//!   endpoint's requirement are evaluated on every request as before.
//! - **Bounded.** At most `max_entries` entries and about `max_bytes` of memory (tokens and
//!   their claims are weighed by size); eviction (S3-FIFO, via `quick_cache`) keeps tokens
//!   that are used repeatedly.
//!
//! What a cache cannot do is notice revocation; neither can a JWT verifier without one:
//! self-contained access tokens are valid until `exp` by design (RFC 9068 §5).
//!
//! The cache is on by default (10,000 entries, 16 MiB);
//! [`AuthConfigBuilder::token_cache`](crate::AuthConfigBuilder::token_cache) changes or disables it.

use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

use crate::claims::Verified;

/// Bounds of the verified-token cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCacheSettings {
    /// Most entries kept (default 10,000).
    pub max_entries: usize,
    /// About how many bytes entries may take (default 16 MiB).
    pub max_bytes: u64,
}

impl Default for TokenCacheSettings {
    fn default() -> Self {
        TokenCacheSettings {
            max_entries: 10_000,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
struct Entry {
    verified: Arc<Verified>,
    valid_until: u64,
    generation: u64,
}

/// Weighs an entry by what it holds: the token, and claims decoded from it (a small multiple
/// of the token's length), never less than `max_bytes / max_entries`, so both bounds hold.
#[derive(Clone)]
struct TokenWeighter {
    floor: u64,
}

impl Weighter<Box<str>, Entry> for TokenWeighter {
    fn weight(&self, key: &Box<str>, _: &Entry) -> u64 {
        (key.len() as u64 * 5 + 256).max(self.floor)
    }
}

/// A bounded cache of verified tokens.
pub struct TokenCache {
    cache: Cache<Box<str>, Entry, TokenWeighter>,
    leeway: u64,
}

impl std::fmt::Debug for TokenCache {
    // Keys are tokens: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache with these bounds; `leeway` (seconds) extends `exp` as the verifier does.
    pub fn new(settings: TokenCacheSettings, leeway: u64) -> Self {
        let entries = settings.max_entries.max(1);
        let floor = (settings.max_bytes / entries as u64).max(1);
        TokenCache {
            cache: Cache::with_weighter(
                entries,
                settings.max_bytes.max(1),
                TokenWeighter { floor },
            ),
            leeway,
        }
    }

    /// The verified token, if `token` was verified under key-set `generation` and has not
    /// expired (leeway included).
    pub fn get(&self, token: &str, generation: u64) -> Option<Arc<Verified>> {
        let entry = self.cache.get(token)?;
        let now = jsonwebtoken::get_current_timestamp();
        if entry.generation != generation || now > entry.valid_until {
            self.cache.remove(token);
            return None;
        }
        Some(entry.verified)
    }

    /// Remembers a token that was just verified under key-set `generation` (read before the
    /// keys were looked up, so that a concurrent key change can only make the entry miss).
    pub fn insert(&self, token: &str, verified: &Arc<Verified>, generation: u64) {
        let valid_until = verified.expires_at().saturating_add(self.leeway);
        self.cache.insert(
            token.into(),
            Entry {
                verified: verified.clone(),
                valid_until,
                generation,
            },
        );
    }

    /// How many entries the cache holds.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// The total weight (≈ bytes) of the entries.
    pub fn weight(&self) -> u64 {
        self.cache.weight()
    }
}
