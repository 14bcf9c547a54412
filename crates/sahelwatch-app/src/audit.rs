//! Recording reads of non-CLEAR material, and checking the chain.

use crate::{App, AppError};
use sahelwatch_core::audit::{AuditEntry, AuditRecord, GENESIS, verify};
use sahelwatch_core::{Principal, Role, Tlp, Viewer};
use serde::Serialize;
use uuid::Uuid;

/// The result of checking the whole audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    pub entries: u64,
    /// The hash of the last entry (the chain's head).
    pub head: String,
    /// The first entry that breaks the chain, and why.
    pub broken_at: Option<(i64, String)>,
}

impl App {
    /// Record that `viewer` received `items` through `path`. Only items that
    /// are not TLP:CLEAR are recorded; with none, nothing is written.
    pub async fn audit_read(
        &self,
        viewer: &Viewer,
        action: &str,
        path: &str,
        items: impl IntoIterator<Item = (Uuid, Tlp)>,
    ) -> Result<(), AppError> {
        let items: Vec<Uuid> = items
            .into_iter()
            .filter(|(_, t)| *t != Tlp::Clear)
            .map(|(id, _)| id)
            .collect();
        if items.is_empty() {
            return Ok(());
        }
        self.audit_event(viewer, action, path, items).await
    }

    /// Record an access that returned no items as such (an aggregate over
    /// non-CLEAR material).
    pub async fn audit_event(
        &self,
        viewer: &Viewer,
        action: &str,
        path: &str,
        items: Vec<Uuid>,
    ) -> Result<(), AppError> {
        let (user, org) = match viewer.principal() {
            Some(p) => (Some(p.user), Some(p.org)),
            None => (None, None),
        };
        let entry = AuditEntry {
            at: sahelwatch_store::now_micros(),
            user,
            org,
            action: action.to_string(),
            path: path.chars().take(500).collect(),
            items,
        };
        Ok(self.store.append_audit(vec![entry]).await?)
    }

    /// Entries of the caller's organisation (admins only), after `after`.
    pub async fn audit_entries(
        &self,
        by: &Principal,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, AppError> {
        if by.role != Role::Admin && !by.superadmin {
            return Err(AppError::Forbidden(
                "only an organisation admin may read its audit log".into(),
            ));
        }
        if !(1..=1000).contains(&limit) {
            return Err(AppError::bad(
                "limit",
                &limit.to_string(),
                "must be 1..1000",
            ));
        }
        Ok(self.store.audit(Some(by.org), after, limit).await?)
    }

    /// Check the whole chain, from the first entry to the last.
    pub async fn verify_audit(&self) -> Result<AuditVerification, AppError> {
        let mut prev = GENESIS.to_string();
        let mut after = 0i64;
        let mut n = 0u64;
        loop {
            let page = self.store.audit(None, after, 5000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            match verify(&prev, &page) {
                Ok(head) => prev = head,
                Err(b) => {
                    let pos = page.iter().position(|r| r.id == b.id).unwrap_or(0) as u64;
                    return Ok(AuditVerification {
                        entries: n + pos,
                        head: prev,
                        broken_at: Some((b.id, b.reason)),
                    });
                }
            }
            n += page.len() as u64;
        }
        Ok(AuditVerification {
            entries: n,
            head: prev,
            broken_at: None,
        })
    }
}
