//! The verified-token cache: a token presented again skips signature verification.
//!
//! # Why this is safe
//!
//! - **Keyed by the whole token.** The key is the full token string and lookups compare it
//!   in full (no truncated hash, no hash-only equality), so only the exact bytes that were
//!   verified can hit. Any change to header, payload or signature is a different token.
//! - **Never past expiry.** An entry is served only while `now < exp + leeway`, the same
//!   bound the verifier applies (RFC 7519 §4.1.4); `nbf` and `iat` were already in the past when it was stored.
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
//! # Why a hit costs nothing shared
//!
//! Each thread that verifies tokens (an actix-web worker is one thread) keeps a cache of its
//! own, found through [`thread_local::ThreadLocal`] (a read of the thread's id and of a slot
//! array). A hit reads and writes only that thread's cache (the eviction policy's "used"
//! mark, an expired entry's removal) and clones an `Arc` that the same thread created when it
//! verified the token: no lock, no atomic on memory another worker writes, so hits do not
//! slow each other down however many cores serve requests. The price: a token verified on
//! one worker is verified again the first times it reaches another, and the bounds are per
//! thread (a service with `n` workers holds at most `n ×` [`TokenCacheSettings`]).
//!
//! # Admission on the second sighting
//!
//! Most tokens seen once are never seen again (a batch job's one call, a scanner's garbage
//! that happens to verify); storing each costs an allocation, a copy of the token and an
//! eviction. So a verified token is remembered at first only as a 64-bit hash in a small
//! per-thread table; it enters the cache when it is verified again while its hash is still
//! there. A token used repeatedly pays two verifications instead of one; a stream of distinct
//! tokens pays a hash per token instead of an insertion. The hash only decides admission:
//! a hit still compares the whole token.
//!
//! # What a lookup hashes
//!
//! A token's last bytes are its signature's, which the issuer's key makes unpredictable and
//! distinct for every token it signs; so the cache hashes only a token's last
//! [`HASHED_TAIL`] bytes and its length (seeded, per process), not all of its hundreds of
//! bytes, and a hit then compares the whole token as before. The hash only spreads entries:
//! tokens that share a tail (an attacker can present any number of them) land in the same
//! bucket and still miss unless every byte matches, and only verified tokens are ever stored,
//! so no stored entries pile up on one hash unless an issuer signs different tokens with the
//! same signature bytes.
//!
//! The cache is on by default (4,096 entries and 4 MiB per thread);
//! [`AuthConfigBuilder::token_cache`](crate::AuthConfigBuilder::token_cache) changes or disables it.

use std::cell::RefCell;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quick_cache::unsync::Cache;
use quick_cache::{Equivalent, Weighter};
use thread_local::ThreadLocal;

use crate::claims::Verified;

/// Bounds of the verified-token cache, per thread (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCacheSettings {
    /// Most entries each thread keeps (default 4,096).
    pub max_entries: usize,
    /// About how many bytes each thread's entries may take (default 4 MiB).
    pub max_bytes: u64,
}

impl Default for TokenCacheSettings {
    fn default() -> Self {
        TokenCacheSettings {
            max_entries: 4_096,
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// How many of a token's last bytes its hash covers (see the [module docs](self)).
pub const HASHED_TAIL: usize = 16;

/// A cached token's bytes; hashed by [`hash_token`], compared in full.
#[derive(Clone, PartialEq, Eq)]
struct TokenKey(Box<[u8]>);

/// A token looked up by its bytes (no copy); equal to a [`TokenKey`] of the same bytes.
struct Probe<'a>(&'a [u8]);

/// The token's length and its last [`HASHED_TAIL`] bytes, the same for a key and a probe.
fn hash_token<H: Hasher>(token: &[u8], state: &mut H) {
    let tail = &token[token.len().saturating_sub(HASHED_TAIL)..];
    state.write_usize(token.len());
    state.write(tail);
}

impl Hash for TokenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(&self.0, state);
    }
}

impl Hash for Probe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(self.0, state);
    }
}

impl Equivalent<TokenKey> for Probe<'_> {
    fn equivalent(&self, key: &TokenKey) -> bool {
        *self.0 == *key.0
    }
}

#[derive(Clone)]
struct Entry {
    verified: Arc<Verified>,
    /// The first instant the entry is no longer served: `exp + leeway` (so that
    /// `now < deadline` is `⌊now⌋ < exp + leeway`, the verifier's rule). Kept as a
    /// `SystemTime` so that a hit compares two clock readings, with no conversion to
    /// seconds since the epoch.
    deadline: SystemTime,
    generation: u64,
}

/// Weighs an entry by what it holds: the token, and claims decoded from it (a small multiple
/// of the token's length), never less than `max_bytes / max_entries`, so both bounds hold.
#[derive(Clone)]
struct TokenWeighter {
    floor: u64,
}

impl Weighter<TokenKey, Entry> for TokenWeighter {
    fn weight(&self, key: &TokenKey, _: &Entry) -> u64 {
        (key.0.len() as u64 * 5 + 256).max(self.floor)
    }
}

/// A bounded cache of verified tokens, one per thread.
pub struct TokenCache {
    local: ThreadLocal<RefCell<Local>>,
    /// Each thread's entry count and weight, written by that thread only, read by
    /// [`len`](Self::len) and [`weight`](Self::weight).
    sizes: ThreadLocal<Sizes>,
    settings: TokenCacheSettings,
    leeway: u64,
    hasher: foldhash::fast::RandomState,
}

/// One thread's cache and admission table.
struct Local {
    /// Keyed by the token's bytes: a lookup needs no UTF-8 check of the header value.
    cache: Cache<TokenKey, Entry, TokenWeighter>,
    /// Hashes of tokens verified once and not cached (0: empty slot); allocated at the first
    /// offer.
    seen: Box<[u64]>,
}

#[derive(Default)]
struct Sizes {
    entries: AtomicUsize,
    weight: AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    // Keys are tokens: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// Most admission-table slots per thread (512 KiB).
    const MAX_SEEN: usize = 1 << 16;

    /// A cache with these bounds per thread; `leeway` (seconds) extends `exp` as the verifier
    /// does.
    pub fn new(settings: TokenCacheSettings, leeway: u64) -> Self {
        TokenCache {
            local: ThreadLocal::new(),
            sizes: ThreadLocal::new(),
            settings,
            leeway,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    fn local(&self) -> &RefCell<Local> {
        self.local.get_or(|| {
            let entries = self.settings.max_entries.max(1);
            let floor = (self.settings.max_bytes / entries as u64).max(1);
            RefCell::new(Local {
                cache: Cache::with_weighter(
                    entries,
                    self.settings.max_bytes.max(1),
                    TokenWeighter { floor },
                ),
                seen: Box::new([]),
            })
        })
    }

    /// The verified token, if this thread verified `token` under key-set `generation`, cached
    /// it, and it has not expired (leeway included).
    pub fn get(&self, token: &[u8], generation: u64) -> Option<Arc<Verified>> {
        let local = self.local();
        let now = SystemTime::now();
        let fresh = {
            let local = local.borrow();
            let entry = local.cache.get(&Probe(token))?;
            (entry.generation == generation && now < entry.deadline).then(|| entry.verified.clone())
        };
        if fresh.is_none() {
            let mut local = local.borrow_mut();
            local.cache.remove(&Probe(token));
            self.record_sizes(&local);
        }
        fresh
    }

    /// Remembers a token that was just verified under key-set `generation` (read before the
    /// keys were looked up, so that a concurrent key change can only make the entry miss) if
    /// it was verified on this thread before: the first sighting only records its hash.
    /// Returns whether it was stored.
    pub fn offer(&self, token: &str, verified: &Arc<Verified>, generation: u64) -> bool {
        let hash = self.hasher.hash_one(Probe(token.as_bytes())) | 1;
        let admitted = {
            let mut local = self.local().borrow_mut();
            if local.seen.is_empty() {
                let slots = self
                    .settings
                    .max_entries
                    .clamp(1, Self::MAX_SEEN)
                    .next_power_of_two();
                local.seen = vec![0; slots].into_boxed_slice();
            }
            let slot = (hash >> 32) as usize & (local.seen.len() - 1);
            if local.seen[slot] == hash {
                local.seen[slot] = 0;
                true
            } else {
                local.seen[slot] = hash;
                false
            }
        };
        admitted && self.insert(token, verified, generation)
    }

    /// Stores a token that was just verified under key-set `generation`, whether or not it
    /// was seen before. Returns whether it was stored: always, but for a token whose expiry
    /// lies beyond what the system clock can represent (verified again each time).
    pub fn insert(&self, token: &str, verified: &Arc<Verified>, generation: u64) -> bool {
        let Some(deadline) = verified
            .expires_at()
            .checked_add(self.leeway)
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        else {
            return false;
        };
        let mut local = self.local().borrow_mut();
        local.cache.insert(
            TokenKey(token.as_bytes().into()),
            Entry {
                verified: verified.clone(),
                deadline,
                generation,
            },
        );
        self.record_sizes(&local);
        true
    }

    fn record_sizes(&self, local: &Local) {
        let sizes = self.sizes.get_or_default();
        sizes.entries.store(local.cache.len(), Ordering::Relaxed);
        sizes.weight.store(local.cache.weight(), Ordering::Relaxed);
    }

    /// How many entries the caches of all threads hold.
    pub fn len(&self) -> usize {
        self.sizes
            .iter()
            .map(|s| s.entries.load(Ordering::Relaxed))
            .sum()
    }

    /// Whether every thread's cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The total weight (≈ bytes) of the entries of all threads.
    pub fn weight(&self) -> u64 {
        self.sizes
            .iter()
            .map(|s| s.weight.load(Ordering::Relaxed))
            .sum()
    }
}
