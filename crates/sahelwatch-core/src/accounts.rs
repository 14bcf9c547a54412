//! Organisations' users, API tokens, browser sessions and sharing groups, as
//! stored. Secrets never appear here: passwords, tokens and session ids are
//! kept only as hashes.

use crate::access::{GroupId, Role, UserId};
use crate::incident::OrgId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    #[serde(skip)]
    pub id: UserId,
    #[serde(rename = "id")]
    pub uid: Uuid,
    #[serde(skip)]
    pub org: OrgId,
    /// Lower case, unique in the deployment.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// May create organisations.
    pub superadmin: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// What creating a user needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub org: OrgId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub superadmin: bool,
    /// An argon2id PHC string, or none for a user who signs in by token only.
    pub password_hash: Option<String>,
}

/// An API token (its secret is shown once, at creation, and stored hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    #[serde(skip)]
    pub id: i64,
    #[serde(rename = "id")]
    pub uid: Uuid,
    #[serde(skip)]
    pub user: UserId,
    pub name: String,
    /// The first characters of the secret, to recognise it in a list.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub user: UserId,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

/// A named set of organisations that AMBER items can be shared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingGroup {
    pub id: GroupId,
    pub uid: Uuid,
    pub name: String,
    /// The organisation whose admins manage the membership.
    pub owner_org: OrgId,
    pub members: Vec<OrgId>,
    pub created_at: DateTime<Utc>,
}

/// Usernames: 3 to 64 characters of a-z, 0-9, `.`, `_`, `-`, `@`; stored lower case.
pub fn normalise_username(s: &str) -> Result<String, String> {
    let u = s.trim().to_lowercase();
    let ok_chars = u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if (3..=64).contains(&u.len()) && ok_chars {
        Ok(u)
    } else {
        Err("a username is 3 to 64 characters of letters, digits, '.', '_', '-' and '@'".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(
            normalise_username(" Awa.Traore ").as_deref(),
            Ok("awa.traore")
        );
        assert!(normalise_username("ab").is_err());
        assert!(normalise_username("robert'); drop table").is_err());
    }
}
