//! Remote key sets: a JWKS URL, or OIDC / RFC 8414 discovery from the issuer.
//!
//! The cache follows `Cache-Control: max-age` clamped to `[min_ttl, max_ttl]` (10 min when
//! absent). A token with an unknown `kid` triggers a refresh, at most one per `cooldown`
//! whatever the request rate; concurrent misses share one fetch (single-flight). A failed
//! refresh keeps the last good keys for up to `max_stale` past their expiry
//! (stale-if-error). With `refresh_ahead`, keys are refreshed in the background during the
//! last fifth of their lifetime, so requests do not wait on the network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::KeySet;

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
    /// Minimum time between two fetches triggered by requests (default 30 s).
    pub cooldown: Duration,
    /// How long past expiry the last good keys keep serving while refreshes fail (default 1 h).
    pub max_stale: Duration,
    /// Refresh in the background before expiry (default on).
    pub refresh_ahead: bool,
    /// Accept `http://` URLs for non-loopback hosts (default off: https only, except
    /// 127.0.0.0/8, `localhost` and `[::1]`).
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
    Ready(Arc<KeySet>),
    /// Fetch first (single-flight with this generation), then look again.
    Fetch(u64),
    /// No usable keys; retry after this many seconds.
    Unavailable(u64),
}

struct State {
    keys: Option<Arc<KeySet>>,
    fresh_until: Instant,
    stale_until: Instant,
    refresh_ahead_from: Instant,
    last_attempt: Option<Instant>,
    generation: u64,
    jwks_uri: Option<String>,
    endpoints: Endpoints,
    background: bool,
}

/// OAuth endpoints found by discovery, for documentation (OpenAPI flows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `authorization_endpoint`.
    pub authorization: Option<String>,
    /// `token_endpoint`.
    pub token: Option<String>,
}

/// A remote key source with its cache. Shared by every worker of a service.
pub struct RemoteKeys {
    location: KeyLocation,
    settings: RemoteSettings,
    client: reqwest::Client,
    state: Mutex<State>,
    flight: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    keys_generation: AtomicU64,
}

impl std::fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl RemoteKeys {
    /// A source for `location`; nothing is fetched until a request needs keys or
    /// [`prefetch`](Self::prefetch) is called.
    pub fn new(location: KeyLocation, settings: RemoteSettings) -> Result<Self, FetchError> {
        let url = match &location {
            KeyLocation::Jwks(u) | KeyLocation::Discovery(u) => u,
        };
        check_url(url, settings.allow_insecure_http)?;
        let client = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("endpoint-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Http {
                url: url.clone(),
                detail: e.to_string(),
            })?;
        let now = Instant::now();
        Ok(RemoteKeys {
            location,
            settings,
            client,
            state: Mutex::new(State {
                keys: None,
                fresh_until: now,
                stale_until: now,
                refresh_ahead_from: now,
                last_attempt: None,
                generation: 0,
                jwks_uri: None,
                endpoints: Endpoints::default(),
                background: false,
            }),
            flight: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
            keys_generation: AtomicU64::new(0),
        })
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

    /// Changes every time a new key set is stored.
    pub fn keys_generation(&self) -> u64 {
        self.keys_generation.load(Ordering::SeqCst)
    }

    /// How many fetch attempts (JWKS documents) were made so far.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the keys now (e.g. at startup, to fail fast on a bad configuration).
    pub async fn prefetch(&self) -> Result<usize, FetchError> {
        let _flight = self.flight.lock().await;
        self.fetch_and_store().await.map(|n| n.0)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Decides, without waiting, what a request carrying `kid` should do.
    pub(crate) fn lookup(self: &Arc<Self>, kid: Option<&str>) -> Lookup {
        let now = Instant::now();
        let mut st = self.state();
        let cooled = st
            .last_attempt
            .is_none_or(|t| now.duration_since(t) >= self.settings.cooldown);
        match st.keys.clone() {
            Some(keys) if now < st.stale_until => {
                let expired = now >= st.fresh_until;
                let unknown_kid = kid.is_some_and(|kid| {
                    !keys
                        .keys
                        .iter()
                        .any(|k| k.kid.as_deref().is_none_or(|k| k == kid))
                });
                if (expired || unknown_kid) && cooled {
                    return Lookup::Fetch(st.generation);
                }
                if self.settings.refresh_ahead
                    && !st.background
                    && cooled
                    && now >= st.refresh_ahead_from
                {
                    st.background = true;
                    let generation = st.generation;
                    drop(st);
                    self.spawn_refresh(generation);
                }
                Lookup::Ready(keys)
            }
            _ if cooled => Lookup::Fetch(st.generation),
            _ => {
                let wait = st
                    .last_attempt
                    .map(|t| self.settings.cooldown.saturating_sub(now.duration_since(t)));
                Lookup::Unavailable(wait.unwrap_or_default().as_secs().max(1))
            }
        }
    }

    /// Whether the current keys may be used without a fetch (also starts a background
    /// refresh-ahead when due).
    pub(crate) fn keys_current(self: &Arc<Self>) -> bool {
        matches!(self.lookup(None), Lookup::Ready(_))
    }

    /// After [`refresh`](Self::refresh): use what is there, never fetch again.
    pub(crate) fn lookup_after_refresh(&self) -> Lookup {
        let now = Instant::now();
        let st = self.state();
        match &st.keys {
            Some(keys) if now < st.stale_until => Lookup::Ready(keys.clone()),
            _ => Lookup::Unavailable(self.settings.cooldown.as_secs().max(1)),
        }
    }

    /// Single-flight refresh: if another task completed a fetch since `generation` was
    /// observed, this returns without fetching.
    pub(crate) async fn refresh(&self, generation: u64) {
        let _flight = self.flight.lock().await;
        if self.state().generation != generation {
            return;
        }
        let _ = self.fetch_and_store().await;
    }

    fn spawn_refresh(self: &Arc<Self>, generation: u64) {
        let this = self.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                this.refresh(generation).await;
                this.state().background = false;
            });
        } else {
            self.state().background = false;
        }
    }

    async fn fetch_and_store(&self) -> Result<(usize, ()), FetchError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch().await;
        let now = Instant::now();
        let mut st = self.state();
        st.last_attempt = Some(now);
        st.generation += 1;
        match result {
            Ok((keys, ttl, jwks_uri)) => {
                let count = keys.keys.len();
                st.keys = Some(Arc::new(keys));
                // Bumped while the state lock is held: a reader that sees the new keys sees
                // the new generation too (token-cache entries of older key sets then miss).
                self.keys_generation.fetch_add(1, Ordering::SeqCst);
                st.fresh_until = now + ttl;
                st.stale_until = now + ttl + self.settings.max_stale;
                st.refresh_ahead_from = now + ttl.mul_f64(0.8);
                st.jwks_uri = jwks_uri;
                tracing::debug!(target: "endpoint_auth", keys = count, ttl_secs = ttl.as_secs(), "signing keys refreshed");
                Ok((count, ()))
            }
            Err(e) => {
                tracing::warn!(target: "endpoint_auth", error = %e, cached_keys = st.keys.is_some(), "signing key refresh failed");
                Err(e)
            }
        }
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
        let (body, max_age) = self.get(&jwks_uri).await?;
        let text = String::from_utf8(body).map_err(|_| FetchError::BadJwks {
            url: jwks_uri.clone(),
            detail: "not UTF-8".into(),
        })?;
        let keys = KeySet::from_jwks_json(&text).map_err(|e| FetchError::BadJwks {
            url: jwks_uri.clone(),
            detail: e.to_string(),
        })?;
        if keys.is_empty() {
            return Err(FetchError::BadJwks {
                url: jwks_uri,
                detail: "no usable signing key".into(),
            });
        }
        let ttl = max_age.unwrap_or(self.settings.default_ttl).clamp(
            self.settings.min_ttl,
            self.settings.max_ttl.max(self.settings.min_ttl),
        );
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
        }
        let fail = |detail: String| FetchError::Discovery {
            issuer: issuer.to_owned(),
            detail,
        };
        let mut last = None;
        for url in discovery_urls(issuer) {
            let body = match self.get(&url).await {
                Ok((body, _)) => body,
                Err(e) => {
                    last = Some(e.to_string());
                    continue;
                }
            };
            let meta: Metadata = serde_json::from_slice(&body)
                .map_err(|e| fail(format!("{url} is not a JSON metadata document: {e}")))?;
            match meta.issuer.as_deref() {
                Some(found) if found == issuer => {}
                Some(found) => {
                    return Err(fail(format!(
                        "{url} names issuer {found:?}, expected exactly {issuer:?}"
                    )))
                }
                None => return Err(fail(format!("{url} has no issuer"))),
            }
            let jwks_uri = meta
                .jwks_uri
                .ok_or_else(|| fail(format!("{url} has no jwks_uri")))?;
            check_url(&jwks_uri, self.settings.allow_insecure_http)?;
            self.state().endpoints = Endpoints {
                authorization: meta.authorization_endpoint,
                token: meta.token_endpoint,
            };
            return Ok(jwks_uri);
        }
        Err(fail(
            last.unwrap_or_else(|| "no metadata document found".into()),
        ))
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
        let max_age = res
            .headers()
            .get_all("cache-control")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_max_age);
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

/// `max-age=N` from a Cache-Control value; `no-cache`/`no-store` count as 0 (then clamped).
fn parse_max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|d| {
        let lower = d.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        let v = lower.strip_prefix("max-age=")?;
        v.trim_matches('"')
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    })
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

fn check_url(url: &str, allow_http: bool) -> Result<(), FetchError> {
    let bad = || FetchError::InsecureUrl(url.to_owned());
    if url.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(bad());
    }
    if url.starts_with("https://") && url.len() > 8 {
        return Ok(());
    }
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let name = if host.starts_with('[') {
        host.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default().to_owned()
    };
    let loopback = name == "localhost"
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if allow_http || loopback {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_parsing() {
        assert_eq!(
            parse_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("public"), None);
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
    }
}
