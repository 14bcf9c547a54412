//! The audit log: every read of material that is not TLP:CLEAR is recorded,
//! and entries are hash-chained so that editing or deleting one is detectable.
//!
//! `hash(n) = SHA-256(hash(n-1) || "\n" || canonical JSON of entry n)`, hex,
//! with `hash(0)` = 64 zeros. The canonical JSON is serde's rendering of
//! [`AuditEntry`] (fields in declaration order, no whitespace).

use crate::access::UserId;
use crate::incident::OrgId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Microsecond precision, UTC.
    pub at: DateTime<Utc>,
    pub user: Option<UserId>,
    pub org: Option<OrgId>,
    /// `read`, `export`, `stix`, `taxii`, `stream`.
    pub action: String,
    /// The request path (without query string secrets).
    pub path: String,
    /// The items that were not TLP:CLEAR, by public id.
    pub items: Vec<Uuid>,
}

/// A stored entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The chain hash of `entry` after `prev`.
pub fn chain_hash(prev: &str, entry: &AuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    // Serialising plain data cannot fail.
    h.update(serde_json::to_vec(entry).unwrap_or_default());
    hex(&h.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub id: i64,
    pub reason: String,
}

/// Check a run of consecutive records, starting after `prev` (the hash of the
/// record before the first one, or [`GENESIS`]).
pub fn verify<'a>(
    prev: &str,
    records: impl IntoIterator<Item = &'a AuditRecord>,
) -> Result<String, ChainBreak> {
    let mut prev = prev.to_string();
    for r in records {
        if r.prev_hash != prev {
            return Err(ChainBreak { id: r.id, reason: "its previous-hash does not match the entry before it (an entry was removed or inserted)".into() });
        }
        let want = chain_hash(&prev, &r.entry);
        if r.hash != want {
            return Err(ChainBreak {
                id: r.id,
                reason: "its content does not match its hash (the entry was changed)".into(),
            });
        }
        prev = r.hash.clone();
    }
    Ok(prev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditRecord> {
        let mut prev = GENESIS.to_string();
        (0..n)
            .map(|i| {
                let entry = AuditEntry {
                    at: DateTime::from_timestamp(1_700_000_000 + i as i64, 0).unwrap(),
                    user: Some(UserId(1)),
                    org: Some(OrgId(2)),
                    action: "read".into(),
                    path: "/api/v1/incidents".into(),
                    items: vec![Uuid::from_u128(i as u128)],
                };
                let hash = chain_hash(&prev, &entry);
                let r = AuditRecord {
                    id: i as i64 + 1,
                    entry,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                r
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(GENESIS, &c), Ok(c[4].hash.clone()));
    }

    #[test]
    fn edits_and_deletions_are_detected() {
        let mut c = chain(5);
        c[2].entry.items.clear();
        assert_eq!(verify(GENESIS, &c).unwrap_err().id, 3);
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(GENESIS, &c).unwrap_err().id, 3);
    }
}
