//! Entity tags and `If-Match` (RFC 9110 §8.8.3, §13.1.1) for the admin
//! API's settings: an admin who read a policy changes it only if nobody
//! else changed that policy since; a change elsewhere in the tenant does
//! not count against them.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::util::sha256_hex;

/// A strong entity tag: a hash of the representation a GET shows, so it
/// changes exactly when what the admin sees changes.
pub fn of<T: Serialize>(shown: &T) -> String {
    let json = serde_json::to_string(shown).unwrap_or_default();
    format!("\"{}\"", &sha256_hex(&json)[..32])
}

/// A request's `If-Match` header; no header means no condition.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<String>);

impl IfMatch {
    pub fn new(header: Option<&str>) -> IfMatch {
        IfMatch(header.map(str::to_string))
    }

    /// Checks the condition against the resource as it is now (`None`: it
    /// does not exist). `*` matches any existing resource; weak tags never
    /// match (If-Match compares strongly).
    pub fn check<T: Serialize>(&self, current: Option<&T>) -> Result<()> {
        let Some(condition) = &self.0 else { return Ok(()) };
        let matches = match current {
            None => false,
            Some(_) if condition.trim() == "*" => true,
            Some(current) => {
                let tag = of(current);
                condition.split(',').map(str::trim).any(|candidate| candidate == tag)
            }
        };
        if matches {
            Ok(())
        } else {
            Err(Error::PreconditionFailed("the resource changed since it was read (If-Match); read it again and retry".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_strongly_with_the_current_representation() {
        let (now, before) = (serde_json::json!({"a": 2}), serde_json::json!({"a": 1}));
        assert!(IfMatch::new(None).check(Some(&now)).is_ok(), "no condition");
        assert!(IfMatch::new(Some(&of(&now))).check(Some(&now)).is_ok());
        assert!(IfMatch::new(Some(&format!("\"x\", {}", of(&now)))).check(Some(&now)).is_ok(), "a list");
        assert!(IfMatch::new(Some(&of(&before))).check(Some(&now)).is_err(), "changed since");
        assert!(IfMatch::new(Some(&format!("W/{}", of(&now)))).check(Some(&now)).is_err(), "weak tags never match");
        assert!(IfMatch::new(Some("*")).check(Some(&now)).is_ok());
        assert!(IfMatch::new(Some("*")).check(None::<&serde_json::Value>).is_err(), "nothing to match");
    }
}
