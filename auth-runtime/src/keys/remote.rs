//! Remote key sets: a JWKS URL, or OIDC / RFC 8414 discovery from the issuer.
//!
//! # Keys over time
//!
//! - **Cache.** Keys are kept for `Cache-Control: max-age` less the response's `Age`
//!   (`no-store` or `no-cache` anywhere: the minimum), clamped to `[min_ttl, max_ttl]`
//!   (10 min when absent). Settings of `Duration::MAX` mean "never", not an overflow. With `refresh_ahead` they are refreshed in the background during
//!   the last fifth of that lifetime; once it is over they are refreshed in the background
//!   too, and requests keep using them meanwhile, for up to `max_stale` (stale-if-error).
//!   A refresh that returns the same keys keeps the key-set generation, so verified-token
//!   cache entries stay valid; any change of the keys makes them all miss.
//! - **Outages.** Nothing is fetched when the service is built, and startup never waits on
//!   the provider. The first fetch starts with the first worker (`App::wrap`), the first
//!   request that needs keys, or a readiness probe
//!   ([`AuthConfig::keys_ready`](crate::AuthConfig::keys_ready)). Requests that need keys
//!   wait for a fetch only while nothing has failed; once a fetch fails, and until one
//!   succeeds, they are answered at once (503 + `Retry-After` when there are no usable
//!   keys) while a background task retries with a bounded, jittered exponential backoff
//!   (`retry_min` doubling up to `retry_max`), one log line per failed attempt.
//! - **Rotation.** A token whose `kid` no key has triggers a refresh, so the first token
//!   signed with a newly published key is accepted on its first request. Such refreshes
//!   draw from a token bucket of their own (`unknown_kid_burst` at once, then one per
//!   `cooldown`), not shared with scheduled refreshes, so a flood of made-up `kid`s causes a
//!   handful of fetches and then at most one per cooldown. Concurrent requests share one
//!   fetch (single-flight). A key without `kid` does not make every `kid` known.
//! - **Only tokens that could be ours.** The caller decides from the cheap checks (header,
//!   and the unverified `iss`, `aud`, `exp`, `nbf`) before any fetch: garbage and tokens of
//!   other issuers never cause one.
//! - **Every hop.** The configured URL, the discovered `jwks_uri` and every redirect obey
//!   one rule: https, or http to a loopback host (unless `allow_insecure_http`).
//!
//! # Reading the keys
//!
//! Every worker reads the keys on every request that is not served from the token cache, and
//! asks whether they are usable on every request that is. Those reads write nothing that
//! another worker reads: what requests need (the key set, its lifetimes, the failure count)
//! is an immutable `Snapshot` behind an [`ArcSwap`], which a reader loads without a lock and
//! without touching the snapshot's reference count (arc-swap records the borrow in a slot of
//! the reading thread); the key set is borrowed from the loaded snapshot, never cloned. The
//! background flag and the key-set generation are atomics that requests only load. Writers
//! (a fetch completing, an unknown-`kid` refresh drawing from its budget) are rare; they take
//! the state mutex, which also orders the snapshots they publish. So the cost of a request
//! does not depend on how many cores read the same keys: no cache line that requests write
//! moves between cores, at 2 workers or at 32.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::KeySet;
use jsonwebtoken::{Algorithm, AlgorithmFamily};

/// Settings of a remote key source; every default is documented on its field.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteSettings {
    /// Connect + read timeout of one HTTP request (default 5 s).
    pub timeout: Duration,
    /// Largest accepted response body (default 1 MiB).
    pub max_response_bytes: usize,
    /// Cache lifetime when the response has no `max-age` (default 10 min).
    pub default_ttl: Duration,
    /// Lower bound for `max-age` (default 1 min).
    pub min_ttl: Duration,
    /// Upper bound for `max-age` (default 24 h).
    pub max_ttl: Duration,
    /// Refill period of the unknown-`kid` refresh budget: after a burst of
    /// [`unknown_kid_burst`](Self::unknown_kid_burst) refreshes, at most one per `cooldown`
    /// (default 30 s).
    pub cooldown: Duration,
    /// How many refreshes tokens with an unknown `kid` may cause at once (default 3).
    pub unknown_kid_burst: u32,
    /// First wait before retrying a failed fetch; doubled after each failure (default 1 s).
    pub retry_min: Duration,
    /// Longest wait between two retries of a failed fetch (default 10 s).
    pub retry_max: Duration,
    /// How long past expiry the last good keys keep serving while refreshes fail (default 1 h).
    pub max_stale: Duration,
    /// Refresh in the background before expiry (default on).
    pub refresh_ahead: bool,
    /// Accept `http://` URLs for non-loopback hosts (default off: https only, except
    /// 127.0.0.0/8, `localhost` and `[::1]`). Applies to redirects and discovered URLs too.
    pub allow_insecure_http: bool,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings {
            timeout: Duration::from_secs(5),
            max_response_bytes: 1024 * 1024,
            default_ttl: Duration::from_secs(600),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            cooldown: Duration::from_secs(30),
            unknown_kid_burst: 3,
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(10),
            max_stale: Duration::from_secs(3600),
            refresh_ahead: true,
            allow_insecure_http: false,
        }
    }
}

/// Where the keys are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    /// A JWKS document URL.
    Jwks(String),
    /// Discovery from this issuer: `{issuer}/.well-known/openid-configuration`, then RFC 8414
    /// `/.well-known/oauth-authorization-server`; the document's `issuer` must be equal.
    Discovery(String),
}

impl KeyLocation {
    /// The configured JWKS URL, or the issuer keys are discovered from.
    fn url(&self) -> &str {
        match self {
            KeyLocation::Jwks(url) | KeyLocation::Discovery(url) => url,
        }
    }
}

/// Why a fetch failed. Shown in logs and returned by [`prefetch`](RemoteKeys::prefetch).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Network error, timeout or non-success status.
    #[error("fetching {url} failed: {detail}")]
    Http {
        /// The URL.
        url: String,
        /// What happened.
        detail: String,
    },
    /// The body exceeded the size limit.
    #[error("{url} answered with more than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// Not a usable JWKS (not JSON, no `keys`, or no usable key).
    #[error("{url} is not a usable JWKS: {detail}")]
    BadJwks {
        /// The URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The discovery document is unusable or names another issuer.
    #[error("discovery for issuer {issuer} failed: {detail}")]
    Discovery {
        /// The configured issuer.
        issuer: String,
        /// What is wrong.
        detail: String,
    },
    /// The URL is not acceptable (not http(s), or http to a non-loopback host).
    #[error("{0} is not an acceptable key URL: use https (http only for loopback hosts unless allow_insecure_http)")]
    InsecureUrl(String),
}

/// What a request may do with the keys right now.
pub(crate) enum Lookup {
    /// Use these keys.
    Ready(Keys),
    /// Wait for a refresh (single-flight: skipped if another attempt completed since
    /// `generation`), then look again with [`RemoteKeys::lookup_after_refresh`].
    Fetch { generation: u64, cause: Cause },
    /// No usable keys; retry after this many seconds.
    Unavailable { retry_after_secs: u64 },
}

/// Why a request waits for a fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// There are no usable keys and no fetch has failed since the last success.
    NoKeys,
    /// The token's `kid` is not in the key set; costs one unit of the unknown-`kid` budget.
    UnknownKid,
}

/// What requests read of the key source, published whole and read without a lock: see the
/// module docs ("Reading the keys").
#[derive(Clone)]
struct Snapshot {
    keys: Option<Arc<KeySet>>,
    fresh_until: Instant,
    stale_until: Instant,
    refresh_ahead_from: Instant,
    /// Consecutive failed attempts (0 after a success).
    failures: u32,
    /// The earliest time of the next attempt after a failure.
    retry_at: Instant,
}

impl Snapshot {
    fn usable(&self, now: Instant) -> Option<&Arc<KeySet>> {
        self.keys.as_ref().filter(|_| now < self.stale_until)
    }

    fn retry_after_secs(&self, now: Instant) -> u64 {
        let wait = self.retry_at.saturating_duration_since(now);
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }
}

/// What only writers (fetches, unknown-`kid` refreshes) touch, under the mutex; they also
/// publish every new [`Snapshot`] while holding it, so snapshots are stored in order.
struct State {
    /// Completed attempts; the single-flight token.
    generation: u64,
    /// The unknown-`kid` budget: whole refreshes available, and when it was last refilled.
    kid_budget: u32,
    kid_refilled_at: Instant,
    jwks_uri: Option<String>,
    endpoints: Endpoints,
}

impl State {
    /// Refills the unknown-`kid` budget for the time passed; whether a unit is available.
    fn kid_budget_available(&mut self, settings: &RemoteSettings, now: Instant) -> bool {
        let cap = settings.unknown_kid_burst;
        if self.kid_budget < cap {
            let period = settings.cooldown.max(Duration::from_millis(1));
            let periods = now
                .saturating_duration_since(self.kid_refilled_at)
                .as_nanos()
                / period.as_nanos();
            if periods > 0 {
                let periods = u32::try_from(periods).unwrap_or(u32::MAX);
                self.kid_budget = self.kid_budget.saturating_add(periods).min(cap);
                self.kid_refilled_at = if self.kid_budget == cap {
                    now
                } else {
                    self.kid_refilled_at + period * periods
                };
            }
        }
        self.kid_budget > 0
    }

    fn take_kid_budget(&mut self, settings: &RemoteSettings, now: Instant) -> bool {
        if !self.kid_budget_available(settings, now) {
            return false;
        }
        if self.kid_budget == settings.unknown_kid_burst {
            // The refill period starts when the budget is first drawn from.
            self.kid_refilled_at = now;
        }
        self.kid_budget -= 1;
        true
    }
}

/// The key set of a [`Lookup::Ready`]: borrowed from the snapshot it was read in, so that
/// reading it costs no reference-count increment on memory every worker shares.
pub(crate) struct Keys(arc_swap::Guard<Arc<Snapshot>>);

impl std::ops::Deref for Keys {
    type Target = KeySet;
    fn deref(&self) -> &KeySet {
        // Only built from a snapshot with usable keys.
        self.0.keys.as_deref().expect("a ready lookup has keys")
    }
}

/// OAuth endpoints found by discovery, for documentation (OpenAPI flows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `authorization_endpoint`.
    pub authorization: Option<String>,
    /// `token_endpoint`.
    pub token: Option<String>,
    /// `introspection_endpoint` (RFC 8414 §2, RFC 7662), when it obeys the URL rules of the
    /// key source (https, or http on loopback unless opted in).
    pub introspection: Option<String>,
}

/// A remote key source with its cache. Shared by every worker of a service.
pub struct RemoteKeys {
    location: KeyLocation,
    settings: RemoteSettings,
    client: reqwest::Client,
    snapshot: ArcSwap<Snapshot>,
    state: Mutex<State>,
    /// A background task is refreshing (or waiting to retry).
    background: AtomicBool,
    flight: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    keys_generation: AtomicU64,
    /// The algorithm an RSA JWK without `alg` is bound to (RFC 8725 §3.1: one per key).
    rsa_without_alg: Algorithm,
}

impl std::fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl RemoteKeys {
    /// A source for `location`; nothing is fetched until a request needs keys, a worker
    /// starts, or [`prefetch`](Self::prefetch) is called.
    pub fn new(location: KeyLocation, settings: RemoteSettings) -> Result<Self, FetchError> {
        let url = location.url();
        let allow_http = settings.allow_insecure_http;
        check_url(url, allow_http)?;
        // Every hop obeys the rule of the configured URL: a redirect to plain http on
        // another host would otherwise hand the keys to whoever sits on that path.
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 3 {
                attempt.error("more than 3 redirects")
            } else if check_url(attempt.url().as_str(), allow_http).is_err() {
                let refused = format!("redirect to {} refused", attempt.url());
                attempt.error(refused)
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .pool_max_idle_per_host(0)
            .redirect(redirects)
            .user_agent(concat!("endpoint-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Http {
                url: url.to_owned(),
                detail: e.to_string(),
            })?;
        let now = Instant::now();
        let kid_budget = settings.unknown_kid_burst;
        Ok(RemoteKeys {
            location,
            settings,
            client,
            snapshot: ArcSwap::from_pointee(Snapshot {
                keys: None,
                fresh_until: now,
                stale_until: now,
                refresh_ahead_from: now,
                failures: 0,
                retry_at: now,
            }),
            state: Mutex::new(State {
                generation: 0,
                kid_budget,
                kid_refilled_at: now,
                jwks_uri: None,
                endpoints: Endpoints::default(),
            }),
            background: AtomicBool::new(false),
            flight: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
            keys_generation: AtomicU64::new(0),
            rsa_without_alg: Algorithm::RS256,
        })
    }

    /// Binds RSA JWKs published without `alg` to the one RSA algorithm of `allowed`, when it
    /// names exactly one (a PS256 provider that omits `alg`); otherwise they stay RS256.
    pub(crate) fn for_algorithms(mut self, allowed: &[Algorithm]) -> Self {
        let mut rsa = allowed
            .iter()
            .filter(|a| a.family() == AlgorithmFamily::Rsa);
        if let (Some(only), None) = (rsa.next(), rsa.next()) {
            self.rsa_without_alg = *only;
        }
        self
    }

    /// The settings.
    pub fn settings(&self) -> &RemoteSettings {
        &self.settings
    }

    /// The OAuth endpoints found by discovery (empty before the first discovery, or with a
    /// plain JWKS URL).
    pub fn discovered_endpoints(&self) -> Endpoints {
        self.state().endpoints.clone()
    }

    /// The endpoints discovery names, reading the document first if no fetch has succeeded
    /// yet (one fetch shared with concurrent callers). Never fetches once one succeeded (the
    /// document's endpoints are then known, present or not), nor while the provider is
    /// failing (the background task retries, paced by the backoff): a flood of requests that
    /// need an endpoint never becomes a flood of fetches.
    pub(crate) async fn endpoints_discovered(self: &Arc<Self>) -> Endpoints {
        let generation = {
            let st = self.state();
            if self.snapshot.load().keys.is_some() {
                return st.endpoints.clone();
            }
            st.generation
        };
        self.refresh(generation, Cause::NoKeys).await;
        self.discovered_endpoints()
    }

    /// Changes every time a different key set is stored (an identical refresh keeps it).
    pub fn keys_generation(&self) -> u64 {
        self.keys_generation.load(Ordering::SeqCst)
    }

    /// How many fetch attempts (JWKS documents) were made so far.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the keys now and waits for the outcome: for services that would rather not
    /// start than start without keys (fail-fast). Not needed otherwise: keys are fetched,
    /// and retried, in the background.
    pub async fn prefetch(&self) -> Result<usize, FetchError> {
        let _flight = self.flight.lock().await;
        self.fetch_and_store().await
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether usable keys are at hand now; starts fetching them in the background if not
    /// (and a background refresh when one is due).
    pub(crate) fn ready(self: &Arc<Self>) -> bool {
        let now = Instant::now();
        let snapshot = self.snapshot.load();
        self.schedule_if_due(&snapshot, now);
        snapshot.usable(now).is_some()
    }

    /// Starts the background task unless it runs: always with `refresh_ahead`, otherwise
    /// when the keys need it (none yet, expired, or a failed attempt to retry). When the task
    /// runs or nothing is due, this only reads.
    fn schedule_if_due(self: &Arc<Self>, snapshot: &Snapshot, now: Instant) {
        if self.background.load(Ordering::Acquire)
            || !(self.settings.refresh_ahead || self.needs_refresh(snapshot, now))
        {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self
            .background
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        // Clears the flag however the task ends, including a task dropped before its first
        // poll (its runtime shutting down): built here, moved into the task.
        struct Running(Arc<RemoteKeys>);
        impl Drop for Running {
            fn drop(&mut self) {
                self.0.background.store(false, Ordering::Release);
            }
        }
        let running = Running(self.clone());
        rt.spawn(async move {
            running.0.keep_fresh().await;
        });
    }

    fn needs_refresh(&self, snapshot: &Snapshot, now: Instant) -> bool {
        snapshot.keys.is_none()
            || snapshot.failures > 0
            || now >= snapshot.fresh_until
            || (self.settings.refresh_ahead && now >= snapshot.refresh_ahead_from)
    }

    /// The background task: fetches until there are fresh keys, waiting out the backoff
    /// after each failure; with `refresh_ahead` it then sleeps until the last fifth of the
    /// keys' lifetime and refreshes them, for as long as its runtime lives (a request that
    /// finds no task running starts another).
    async fn keep_fresh(&self) {
        loop {
            let (wait, generation) = {
                let now = Instant::now();
                let st = self.state();
                let snapshot = self.snapshot.load();
                let wait = if self.needs_refresh(&snapshot, now) {
                    snapshot.retry_at.saturating_duration_since(now)
                } else if self.settings.refresh_ahead {
                    snapshot.refresh_ahead_from.saturating_duration_since(now)
                } else {
                    return;
                };
                (wait, st.generation)
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
                continue;
            }
            let _flight = self.flight.lock().await;
            if self.state().generation == generation {
                let _ = self.fetch_and_store().await;
            }
        }
    }

    /// Decides, without waiting, what a request carrying `kid` should do. The common case
    /// (usable keys that know the `kid`) reads the current snapshot and writes nothing.
    pub(crate) fn lookup(self: &Arc<Self>, kid: Option<&str>) -> Lookup {
        let now = Instant::now();
        let snapshot = self.snapshot.load();
        if let Some(keys) = snapshot.usable(now) {
            if kid.is_none_or(|kid| keys.has_kid(kid)) {
                self.schedule_if_due(&snapshot, now);
                return Lookup::Ready(Keys(snapshot));
            }
        }
        drop(snapshot);
        let mut st = self.state();
        // Writers publish under the lock: this snapshot is the one the state goes with.
        let snapshot = self.snapshot.load();
        let lookup = match snapshot.usable(now) {
            Some(keys) => {
                let known = kid.is_none_or(|kid| keys.has_kid(kid));
                if known {
                    Lookup::Ready(Keys(snapshot))
                } else if snapshot.failures > 0 {
                    // The provider is failing: waiting would only add the timeout to the
                    // answer; the background task recovers the keys.
                    if keys.keys.iter().any(|k| k.kid.is_none()) {
                        Lookup::Ready(Keys(snapshot))
                    } else {
                        Lookup::Unavailable {
                            retry_after_secs: snapshot.retry_after_secs(now),
                        }
                    }
                } else if st.kid_budget_available(&self.settings, now) {
                    Lookup::Fetch {
                        generation: st.generation,
                        cause: Cause::UnknownKid,
                    }
                } else {
                    // Budget spent: decided with the keys at hand (401 unknown kid).
                    Lookup::Ready(Keys(snapshot))
                }
            }
            None if snapshot.failures == 0 => Lookup::Fetch {
                generation: st.generation,
                cause: Cause::NoKeys,
            },
            None => Lookup::Unavailable {
                retry_after_secs: snapshot.retry_after_secs(now),
            },
        };
        drop(st);
        // Only a token verified against the keys at hand may start the background task: a
        // token that waits or is refused may be garbage or another issuer's, and must cause
        // no network traffic before the caller's claim checks (a request's own fetch starts
        // the task when it is done). One exception: after a failure the task must be retrying;
        // if it is not (it ended between a check and a failed fetch), any request restarts it,
        // paced by the backoff as always.
        match &lookup {
            Lookup::Ready(keys) => self.schedule_if_due(&keys.0, now),
            Lookup::Unavailable { .. } => self.schedule_if_due(&self.snapshot.load(), now),
            Lookup::Fetch { .. } => {}
        }
        lookup
    }

    /// After [`refresh`](Self::refresh): use what is there, never fetch again. A `kid` the
    /// keys at hand do not know, while the provider is failing, is unavailable (503) as in
    /// [`lookup`](Self::lookup): the failed refresh may have been the one that would have
    /// brought it, so the token may be fine.
    pub(crate) fn lookup_after_refresh(&self, kid: Option<&str>) -> Lookup {
        let now = Instant::now();
        let snapshot = self.snapshot.load();
        let unavailable = Lookup::Unavailable {
            retry_after_secs: snapshot.retry_after_secs(now),
        };
        match snapshot.usable(now) {
            Some(keys)
                if snapshot.failures == 0
                    || kid.is_none_or(|kid| keys.has_kid(kid))
                    || keys.keys.iter().any(|k| k.kid.is_none()) =>
            {
                Lookup::Ready(Keys(snapshot))
            }
            _ => unavailable,
        }
    }

    /// Single-flight refresh for a request: returns without fetching if another attempt
    /// completed since `generation` was observed, if a fetch failed meanwhile (no keys), or
    /// if the unknown-`kid` budget is spent.
    pub(crate) async fn refresh(self: &Arc<Self>, generation: u64, cause: Cause) {
        {
            let _flight = self.flight.lock().await;
            {
                let now = Instant::now();
                let mut st = self.state();
                let failing = self.snapshot.load().failures > 0;
                let go = st.generation == generation
                    && !failing
                    && match cause {
                        Cause::NoKeys => true,
                        Cause::UnknownKid => st.take_kid_budget(&self.settings, now),
                    };
                if !go {
                    return;
                }
            }
            let _ = self.fetch_and_store().await;
        }
        // Retries after a failure, and refresh-ahead, are the background task's.
        self.schedule_if_due(&self.snapshot.load(), Instant::now());
    }

    /// One attempt; the caller holds the flight lock. Returns the number of usable keys.
    async fn fetch_and_store(&self) -> Result<usize, FetchError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch().await;
        let now = Instant::now();
        let mut st = self.state();
        st.generation += 1;
        let mut next = Snapshot::clone(&self.snapshot.load());
        let outcome = match result {
            Ok((keys, ttl, jwks_uri)) => {
                let count = keys.keys.len();
                let same = next.keys.as_ref().is_some_and(|old| old.same_keys(&keys));
                if !same {
                    next.keys = Some(Arc::new(keys));
                }
                if next.failures > 0 {
                    tracing::info!(target: "endpoint_auth", keys = count, after_failures = next.failures, from = self.location.url(), "signing keys fetched again");
                }
                next.failures = 0;
                next.retry_at = now;
                next.fresh_until = after(now, ttl);
                next.stale_until = after(now, ttl.saturating_add(self.settings.max_stale));
                next.refresh_ahead_from = after(now, ttl.mul_f64(0.8));
                st.jwks_uri = jwks_uri;
                tracing::debug!(target: "endpoint_auth", keys = count, ttl_secs = ttl.as_secs(), changed = !same, "signing keys refreshed");
                Ok((count, !same))
            }
            Err(e) => {
                next.failures = next.failures.saturating_add(1);
                let backoff = backoff(&self.settings, next.failures);
                next.retry_at = after(now, backoff);
                tracing::warn!(
                    target: "endpoint_auth",
                    error = %e,
                    attempt = next.failures,
                    retry_in_ms = backoff.as_millis() as u64,
                    cached_keys = next.usable(now).is_some(),
                    "signing key refresh failed"
                );
                Err(e)
            }
        };
        self.snapshot.store(Arc::new(next));
        outcome.map(|(count, changed)| {
            if changed {
                // Bumped after the new keys are published (and before the state lock is
                // released): a reader reads the generation first and the keys after, so one
                // that sees the new generation sees the new keys, and an entry the token cache
                // records under an older generation only ever misses. The same keys again keep
                // their entries valid.
                self.keys_generation.fetch_add(1, Ordering::SeqCst);
            }
            count
        })
    }

    async fn fetch(&self) -> Result<(KeySet, Duration, Option<String>), FetchError> {
        let jwks_uri = match &self.location {
            KeyLocation::Jwks(url) => url.clone(),
            KeyLocation::Discovery(issuer) => {
                let known = self.state().jwks_uri.clone();
                match known {
                    Some(uri) => uri,
                    None => self.discover(issuer).await?,
                }
            }
        };
        let (body, max_age) = match self.get(&jwks_uri).await {
            Ok(got) => got,
            Err(e) => {
                // A discovered `jwks_uri` that fails is looked up again on the next attempt:
                // the provider may have moved its keys.
                if matches!(self.location, KeyLocation::Discovery(_)) {
                    self.state().jwks_uri = None;
                }
                return Err(e);
            }
        };
        let text = String::from_utf8(body).map_err(|_| FetchError::BadJwks {
            url: jwks_uri.clone(),
            detail: "not UTF-8".into(),
        })?;
        let keys = KeySet::from_remote_jwks_json(&text, self.rsa_without_alg).map_err(|e| {
            FetchError::BadJwks {
                url: jwks_uri.clone(),
                detail: e.to_string(),
            }
        })?;
        if keys.is_empty() {
            return Err(FetchError::BadJwks {
                url: jwks_uri,
                detail: "no usable signing key".into(),
            });
        }
        // At least a second, whatever the settings: the background task refreshes when the
        // keys expire, and must not spin.
        let min_ttl = self.settings.min_ttl.max(Duration::from_secs(1));
        let ttl = max_age
            .unwrap_or(self.settings.default_ttl)
            .clamp(min_ttl, self.settings.max_ttl.max(min_ttl));
        let discovered = matches!(self.location, KeyLocation::Discovery(_)).then_some(jwks_uri);
        Ok((keys, ttl, discovered))
    }

    async fn discover(&self, issuer: &str) -> Result<String, FetchError> {
        #[derive(Deserialize)]
        struct Metadata {
            issuer: Option<String>,
            jwks_uri: Option<String>,
            authorization_endpoint: Option<String>,
            token_endpoint: Option<String>,
            introspection_endpoint: Option<String>,
        }
        let fail = |detail: String| FetchError::Discovery {
            issuer: issuer.to_owned(),
            detail,
        };
        // Each document that cannot be used (absent, not JSON, another issuer's, no
        // `jwks_uri`) is passed over for the next; the error names every one.
        let mut problems = Vec::new();
        for url in discovery_urls(issuer) {
            let body = match self.get(&url).await {
                Ok((body, _)) => body,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            let meta: Metadata = match serde_json::from_slice(&body) {
                Ok(meta) => meta,
                Err(e) => {
                    problems.push(format!("{url} is not a JSON metadata document: {e}"));
                    continue;
                }
            };
            // RFC 8414 §3.3 / OIDC Discovery §4.3: a document naming another issuer must not
            // be used.
            match meta.issuer.as_deref() {
                Some(found) if found == issuer => {}
                Some(found) => {
                    problems.push(format!(
                        "{url} names issuer {found:?}, expected exactly {issuer:?}"
                    ));
                    continue;
                }
                None => {
                    problems.push(format!("{url} has no issuer"));
                    continue;
                }
            }
            let Some(jwks_uri) = meta.jwks_uri else {
                problems.push(format!("{url} has no jwks_uri"));
                continue;
            };
            check_url(&jwks_uri, self.settings.allow_insecure_http)?;
            self.state().endpoints = Endpoints {
                authorization: meta.authorization_endpoint,
                token: meta.token_endpoint,
                introspection: meta
                    .introspection_endpoint
                    .filter(|url| check_url(url, self.settings.allow_insecure_http).is_ok()),
            };
            return Ok(jwks_uri);
        }
        Err(fail(if problems.is_empty() {
            "no metadata document found".into()
        } else {
            problems.join("; ")
        }))
    }

    async fn get(&self, url: &str) -> Result<(Vec<u8>, Option<Duration>), FetchError> {
        let http = |detail: String| FetchError::Http {
            url: url.to_owned(),
            detail,
        };
        let mut res = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| http(error_chain(&e)))?;
        if !res.status().is_success() {
            return Err(http(format!("status {}", res.status())));
        }
        let limit = self.settings.max_response_bytes;
        if res.content_length().is_some_and(|n| n > limit as u64) {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        let max_age = freshness(res.headers());
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| http(error_chain(&e)))? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

/// The wait before attempt `failures + 1`: `retry_min` doubled per failure up to `retry_max`,
/// less up to a fifth at random, so that many instances do not retry in step.
fn backoff(settings: &RemoteSettings, failures: u32) -> Duration {
    use std::hash::BuildHasher;
    let doublings = failures.saturating_sub(1).min(20);
    let full = settings
        .retry_min
        .saturating_mul(1 << doublings)
        .min(settings.retry_max.max(settings.retry_min));
    let random = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    full.mul_f64(1.0 - (random % 1000) as f64 / 5000.0)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// `now + d`, or a time too far to matter when that is past what `Instant` can hold (a
/// setting of `Duration::MAX` means "never", not a panic).
fn after(now: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR))
        .unwrap_or(now)
}

/// How long a response stays fresh (RFC 9111 §4.2): its `max-age` less its `Age`, or zero
/// when any `Cache-Control` directive says `no-store` or an unqualified `no-cache` (wherever
/// it is written, in whichever field); `None` without a `max-age` (the default lifetime then). The caller
/// clamps it to `[min_ttl, max_ttl]`.
fn freshness(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    let directives = headers
        .get_all(reqwest::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    for directive in directives {
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        // A qualified `no-cache="field"` (§5.2.2.4) only keeps those fields out of a cache.
        let unqualified_no_cache = name.eq_ignore_ascii_case("no-cache") && value.is_empty();
        if unqualified_no_cache || name.eq_ignore_ascii_case("no-store") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
            max_age = delta_seconds(value.trim().trim_matches('"'));
        }
    }
    let age = headers
        .get(reqwest::header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| delta_seconds(v.trim()))
        .unwrap_or(0);
    max_age.map(|secs| Duration::from_secs(secs.saturating_sub(age)))
}

/// RFC 9111 §1.2.2 delta-seconds: digits only; a value too large to hold counts as 2^31.
fn delta_seconds(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.parse::<u64>().map_or(1 << 31, |v| v.min(1 << 31)))
}

/// OIDC discovery appends the well-known path; RFC 8414 inserts it before the issuer's path.
fn discovery_urls(issuer: &str) -> Vec<String> {
    let trimmed = issuer.trim_end_matches('/');
    let mut urls = vec![format!("{trimmed}/.well-known/openid-configuration")];
    if let Some((scheme, rest)) = trimmed.split_once("://") {
        let (host, path) = rest
            .split_once('/')
            .map(|(h, p)| (h, format!("/{p}")))
            .unwrap_or((rest, String::new()));
        urls.push(format!(
            "{scheme}://{host}/.well-known/oauth-authorization-server{path}"
        ));
    }
    urls
}

/// The URL rule for every fetch (configured, discovered, redirected): https, or http to a
/// loopback host unless `allow_http`. The URL is judged as the client that fetches it will
/// read it: by the WHATWG parser that reqwest uses (which reads `\` as `/` and so finds a
/// different host than a naive split would in `http://evil.example\@127.0.0.1/`). A URL
/// with any byte that is not visible ASCII is refused outright (that parser would drop tabs
/// and newlines silently).
pub(crate) fn check_url(url: &str, allow_http: bool) -> Result<(), FetchError> {
    let bad = || FetchError::InsecureUrl(url.to_owned());
    if url.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(bad());
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(bad)?;
    let loopback = || {
        host == "localhost"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
            || host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<std::net::Ipv6Addr>().ok())
                .is_some_and(|ip| ip.is_loopback())
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_http || loopback() => Ok(()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_for(fields: &[(&str, &str)]) -> Option<u64> {
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in fields {
            headers.append(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        freshness(&headers).map(|d| d.as_secs())
    }

    #[test]
    fn freshness_follows_rfc_9111() {
        let cc = "cache-control";
        assert_eq!(fresh_for(&[(cc, "public, max-age=300")]), Some(300));
        assert_eq!(fresh_for(&[(cc, "Max-Age=\"300\"")]), Some(300));
        assert_eq!(fresh_for(&[(cc, "public")]), None);
        assert_eq!(fresh_for(&[]), None);
        // no-cache / no-store win wherever they are written.
        assert_eq!(fresh_for(&[(cc, "no-store")]), Some(0));
        assert_eq!(fresh_for(&[(cc, "max-age=300, no-cache")]), Some(0));
        assert_eq!(fresh_for(&[(cc, "no-cache, max-age=300")]), Some(0));
        assert_eq!(fresh_for(&[(cc, "max-age=300"), (cc, "no-store")]), Some(0));
        assert_eq!(
            fresh_for(&[(cc, "max-age=300, no-cache=\"set-cookie\"")]),
            Some(300)
        );
        // Age is what a cache on the way already used up.
        assert_eq!(fresh_for(&[(cc, "max-age=300"), ("age", "120")]), Some(180));
        assert_eq!(fresh_for(&[(cc, "max-age=300"), ("age", "900")]), Some(0));
        assert_eq!(fresh_for(&[(cc, "max-age=300"), ("age", "x")]), Some(300));
        // Too large for any integer: 2^31 (then clamped to max_ttl), not "no max-age".
        assert_eq!(
            fresh_for(&[(cc, "max-age=99999999999999999999999")]),
            Some(1 << 31)
        );
        assert_eq!(fresh_for(&[(cc, "max-age=-5")]), None);
        assert_eq!(fresh_for(&[(cc, "max-age=5s")]), None);
    }

    #[test]
    fn instants_past_what_instant_holds_are_far_not_a_panic() {
        let now = Instant::now();
        assert!(after(now, Duration::MAX) > after(now, Duration::from_secs(365 * 24 * 3600)));
        assert_eq!(
            after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
    }

    #[test]
    fn discovery_urls_follow_oidc_and_rfc8414() {
        assert_eq!(
            discovery_urls("https://idp.test/tenant"),
            [
                "https://idp.test/tenant/.well-known/openid-configuration",
                "https://idp.test/.well-known/oauth-authorization-server/tenant"
            ]
        );
    }

    #[test]
    fn http_is_only_for_loopback_by_default() {
        assert!(check_url("https://idp.example/keys", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/keys", false).is_ok());
        assert!(check_url("http://localhost/keys", false).is_ok());
        assert!(check_url("http://[::1]:9/keys", false).is_ok());
        assert!(check_url("http://idp.example/keys", false).is_err());
        assert!(check_url("http://127.0.0.1.evil.example/keys", false).is_err());
        assert!(check_url("http://user@127.0.0.1.evil.example/keys", false).is_err());
        assert!(check_url("http://idp.example/keys", true).is_ok());
        assert!(check_url("ftp://x", true).is_err());
        // Judged as the fetching client parses it: `\` ends the authority, so the host
        // here is evil.example, not 127.0.0.1.
        assert!(check_url("http://evil.example\\@127.0.0.1/keys", false).is_err());
        assert!(check_url("http://127.0.0.1\\@evil.example/keys", false).is_ok());
        assert!(check_url("http://evil.example%2f@127.0.0.1/keys", false).is_ok());
        assert!(check_url("http://127.1/keys", false).is_ok());
        assert!(check_url("http://[::1]@evil.example/keys", false).is_err());
        assert!(check_url("https://", false).is_err());
        assert!(check_url("http:///keys", false).is_err());
        assert!(check_url("http://127.0.0.1/k\teys", false).is_err());
    }
}
