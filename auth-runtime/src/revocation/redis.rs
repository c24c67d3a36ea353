//! Revoked token ids in Redis or Valkey (feature `revocation-redis`), shared by every instance
//! of a service.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{now, RevocationCheck, RevocationError, RevocationFuture, KEEP_AFTER_EXPIRY};
use crate::claims::Verified;

/// The last second a Redis `EXAT` is sure to hold: 9999-12-31T23:59:59Z (Redis keeps expiry
/// times as milliseconds in a signed 64-bit integer, and refuses what overflows it).
const LAST_EXAT: u64 = 253_402_300_799;

/// Settings of a [`RedisRevocationStore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisSettings {
    /// Longest wait for one answer of the store, connecting included (default 500 ms). Past
    /// it the check fails: 503 or fail-open, as the configuration says.
    pub timeout: Duration,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings {
            timeout: Duration::from_millis(500),
        }
    }
}

/// Revoked token ids (`jti`) in a Redis or Valkey server that every instance of the service
/// reads, so that a revocation at one instance is seen by all: [`revoke`](Self::revoke) sets
/// `<key_prefix><jti>` until the token's `exp` plus [`KEEP_AFTER_EXPIRY`]
/// (`SET … EXAT`, so the server forgets it by itself), the check asks `EXISTS`. Anything
/// else that writes such keys (an admin tool, the authorization server) revokes as well.
///
/// Creating a store connects to nothing: a server that is down at startup is a check that
/// fails (see [`StoreUnavailable`](super::StoreUnavailable)) until it is up, and the store
/// reconnects by itself when the server comes back. Its connection is driven by a thread of
/// its own (one per store, ended when the last clone is dropped), so it serves every actix
/// worker and outlives none of them; clones share it.
///
/// ```no_run
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::revocation::RedisRevocationStore;
/// use endpoint_auth::AuthConfig;
///
/// # async fn sign_out(jti: &str, exp: u64) -> Result<(), Box<dyn std::error::Error>> {
/// let revoked = RedisRevocationStore::new("redis://127.0.0.1:6379", "reports-api:revoked:")?;
/// let builder = AuthConfig::builder().revocation_check(revoked.clone());
/// // From any instance:
/// revoked.revoke(jti, exp).await?;
/// # let _ = builder; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocationStore(Arc<Store>);

struct Store {
    manager: ConnectionManager,
    prefix: String,
    timeout: Duration,
    /// Drives the connection; shut down (without blocking) when the store is dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl fmt::Debug for RedisRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationStore")
            .field("prefix", &self.0.prefix)
            .field("timeout", &self.0.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisRevocationStore {
    /// A store at `url` (`redis://host:port/db`, `rediss://` for TLS is not built in) whose
    /// keys start with `key_prefix` (say `"reports-api:revoked:"`), with default settings.
    /// Fails only on a malformed URL; connects on first use.
    pub fn new(url: &str, key_prefix: impl Into<String>) -> Result<Self, RevocationError> {
        Self::with_settings(url, key_prefix, RedisSettings::default())
    }

    /// [`new`](Self::new) with `settings`.
    pub fn with_settings(
        url: &str,
        key_prefix: impl Into<String>,
        settings: RedisSettings,
    ) -> Result<Self, RevocationError> {
        let client = redis::Client::open(url).map_err(RevocationError::new)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("endpoint-auth-revocation")
            .enable_all()
            .build()
            .map_err(RevocationError::new)?;
        // One attempt per request that finds the connection broken: a request waits for at
        // most `timeout`, never for a series of reconnection attempts.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout));
        // Created inside its runtime: the tasks the client spawns (the connection's driver,
        // reconnections) run there, not on the worker that happens to ask first.
        let manager = {
            let _entered = runtime.enter();
            ConnectionManager::new_lazy_with_config(client, config).map_err(RevocationError::new)?
        };
        Ok(RedisRevocationStore(Arc::new(Store {
            manager,
            prefix: key_prefix.into(),
            timeout: settings.timeout,
            runtime: Some(runtime),
        })))
    }

    /// Revokes the token whose `jti` is `token_id` and whose `exp` is `expires_at` (seconds
    /// since the epoch), for every instance that reads this store. A token already expired
    /// beyond [`KEEP_AFTER_EXPIRY`] is refused anyway: nothing is written.
    pub async fn revoke(&self, token_id: &str, expires_at: u64) -> Result<(), RevocationError> {
        let keep_until = expires_at.saturating_add(KEEP_AFTER_EXPIRY.as_secs());
        if keep_until <= now() {
            return Ok(());
        }
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(token_id)).arg(1);
        // Redis keeps expiry times in milliseconds of a signed 64-bit integer: an `exp` the
        // verifier accepts can be beyond that (up to u64::MAX). Such a token is revoked for
        // good (its id is kept without an expiry) rather than not at all.
        if keep_until <= LAST_EXAT {
            cmd.arg("EXAT").arg(keep_until);
        }
        self.run::<()>(cmd).await
    }

    /// Whether `token_id` was revoked.
    pub async fn contains(&self, token_id: &str) -> Result<bool, RevocationError> {
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(self.key(token_id));
        Ok(self.run::<u64>(cmd).await? > 0)
    }

    fn key(&self, token_id: &str) -> String {
        format!("{}{token_id}", self.0.prefix)
    }

    /// Runs `cmd` on the store's own runtime, within the timeout.
    async fn run<T>(&self, cmd: redis::Cmd) -> Result<T, RevocationError>
    where
        T: redis::FromRedisValue + Send + 'static,
    {
        let mut connection = self.0.manager.clone();
        let timeout = self.0.timeout;
        let runtime = self.0.runtime.as_ref().expect("present until dropped");
        let task = runtime.spawn(async move {
            match tokio::time::timeout(timeout, cmd.query_async::<T>(&mut connection)).await {
                Ok(answer) => answer.map_err(RevocationError::new),
                Err(_) => Err(RevocationError::new(format!(
                    "the revocation store did not answer within {timeout:?}"
                ))),
            }
        });
        task.await
            .map_err(|_| RevocationError::new("the revocation store's task ended"))?
    }
}

impl RevocationCheck for RedisRevocationStore {
    fn is_revoked<'a>(&'a self, token: &'a Verified) -> RevocationFuture<'a> {
        Box::pin(async move {
            match token.token_id() {
                Some(id) => self.contains(id).await,
                // Only asked when `needs_token_id` is off, which it is not for this store.
                None => Ok(false),
            }
        })
    }
}
