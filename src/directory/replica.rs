//! The "instant-on" emulator: Entra writes to one directory replica and
//! reads may hit another that has not caught up. With
//! `store.replication_lag_ms` > 0, admin API reads see an object only that
//! long after its last write, and say when to retry, so relying parties can
//! test their retry-with-backoff. At 0 every read sees its own writes.

use crate::error::{Error, Result};
use crate::model::User;
use crate::util::now_ms;

pub struct Replica {
    pub lag_ms: u64,
}

impl Replica {
    /// The object as a lagging replica shows it, or a retryable error.
    pub fn read(&self, user: User) -> Result<User> {
        self.visible(user.written_at_ms, &format!("user {}", user.id))?;
        Ok(user)
    }

    /// Whether an object last written at `written_at_ms` is visible yet.
    pub fn visible(&self, written_at_ms: i64, what: &str) -> Result<()> {
        let wait_ms = written_at_ms.saturating_add(self.lag_ms as i64) - now_ms();
        if self.lag_ms == 0 || wait_ms <= 0 {
            return Ok(());
        }
        Err(Error::NotYetReplicated { what: what.to_string(), retry_after_secs: (wait_ms as u64).div_ceil(1000) })
    }

    /// A listing from a lagging replica simply lacks what it has not seen.
    pub fn list(&self, users: Vec<User>) -> Vec<User> {
        users.into_iter().filter_map(|u| self.read(u).ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lagging_replica_hides_fresh_writes_and_says_when_to_retry() {
        let now = now_ms();
        assert!(Replica { lag_ms: 0 }.visible(now, "user u").is_ok(), "no lag: read your own writes");
        match (Replica { lag_ms: 5000 }).visible(now, "user u") {
            Err(Error::NotYetReplicated { what, retry_after_secs }) => assert_eq!((what.as_str(), retry_after_secs), ("user u", 5)),
            other => panic!("expected NotYetReplicated, got {other:?}"),
        }
        assert!(Replica { lag_ms: 5000 }.visible(now - 5001, "user u").is_ok(), "old enough");
        let fresh = User { written_at_ms: now, ..User::new("t", "a@b.example", "A", crate::model::UserType::Member) };
        let old = User { written_at_ms: now - 60_000, ..fresh.clone() };
        assert_eq!(Replica { lag_ms: 5000 }.list(vec![fresh, old.clone()]), vec![old], "listings lack what is not replicated");
    }
}
