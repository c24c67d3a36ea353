//! The in-process revocation list.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{now, RevocationCheck, RevocationFuture, KEEP_AFTER_EXPIRY};
use crate::claims::Verified;

/// Revoked token ids (`jti`) in this process's memory: for tests, development and a service
/// that runs as one instance (every instance of a service needs to see a revocation: use a
/// shared store such as `RedisRevocationStore` then). A clone is a handle on the same list.
///
/// An id is kept until its token's `exp` plus [`KEEP_AFTER_EXPIRY`] (past that the token is
/// refused as expired anyway), so the list does not grow with time.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::revocation::MemoryRevocationList;
///
/// let revoked = MemoryRevocationList::new();
/// revoked.revoke("4f1c-…", 1_900_000_000);
/// assert!(revoked.contains("4f1c-…"));
/// assert!(!revoked.contains("another"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryRevocationList {
    inner: Arc<RwLock<List>>,
}

#[derive(Debug, Default)]
struct List {
    /// Token id → until when it is kept (seconds since the epoch).
    ids: HashMap<Box<str>, u64>,
    /// Expired ids are dropped when the list reaches this size.
    purge_at: usize,
}

impl MemoryRevocationList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revokes the token whose `jti` is `token_id` and whose `exp` is `expires_at` (seconds
    /// since the epoch): refused from the next request on.
    pub fn revoke(&self, token_id: &str, expires_at: u64) {
        let keep_until = expires_at.saturating_add(KEEP_AFTER_EXPIRY.as_secs());
        let mut list = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if list.ids.len() >= list.purge_at {
            let now = now();
            list.ids.retain(|_, until| *until >= now);
            list.purge_at = (list.ids.len() * 2).max(64);
        }
        let until = list.ids.entry(token_id.into()).or_insert(keep_until);
        *until = (*until).max(keep_until);
    }

    /// Whether `token_id` was revoked (and its token could still be accepted).
    pub fn contains(&self, token_id: &str) -> bool {
        let list = self.inner.read().unwrap_or_else(|e| e.into_inner());
        list.ids.get(token_id).is_some_and(|&until| until >= now())
    }

    /// How many ids are kept (expired ones included until the next purge).
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .ids
            .len()
    }

    /// Whether no id is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RevocationCheck for MemoryRevocationList {
    fn is_revoked<'a>(&'a self, token: &'a Verified) -> RevocationFuture<'a> {
        let revoked = token.token_id().is_some_and(|id| self.contains(id));
        Box::pin(std::future::ready(Ok(revoked)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_ids_are_kept_until_expiry_plus_the_largest_leeway() {
        let list = MemoryRevocationList::new();
        let now = now();
        list.revoke("live", now + 60);
        list.revoke("in-leeway", now - 10);
        list.revoke("long-gone", now - KEEP_AFTER_EXPIRY.as_secs() - 10);
        assert!(list.contains("live"));
        assert!(
            list.contains("in-leeway"),
            "accepted within leeway, so kept"
        );
        assert!(!list.contains("long-gone"));
        assert!(!list.contains("never"));
    }

    #[test]
    fn expired_ids_are_purged_as_the_list_grows() {
        let list = MemoryRevocationList::new();
        let gone = now() - KEEP_AFTER_EXPIRY.as_secs() - 1;
        for i in 0..1000 {
            list.revoke(&format!("old-{i}"), gone);
        }
        assert!(list.len() < 130, "{} ids kept", list.len());
        list.revoke("live", now() + 60);
        assert!(list.contains("live"));
    }

    #[test]
    fn revoking_again_never_shortens_the_retention() {
        let list = MemoryRevocationList::new();
        let now = now();
        list.revoke("id", now + 600);
        list.revoke("id", now - KEEP_AFTER_EXPIRY.as_secs() - 10);
        assert!(list.contains("id"));
    }
}
