//! Authentication: passwords (argon2id), API tokens and browser sessions
//! (random secrets, stored as SHA-256), sign-in rate limiting, and turning a
//! credential into the [`Principal`] a request acts as.
//!
//! Principals are cached per credential and dropped whenever the store's
//! `access` counter moves (any change to users, tokens, sessions or sharing
//! groups, by any process), so a revocation takes effect on the next request.

use crate::{App, AppError};
use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sahelwatch_core::accounts::{ApiToken, Session, User};
use sahelwatch_core::{OrgId, Principal};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

/// Failed sign-ins allowed per username (and per client address) in [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS: usize = 5;
pub const LOGIN_WINDOW: StdDuration = StdDuration::from_secs(15 * 60);
/// Browser sessions last this long.
pub const SESSION_HOURS: i64 = 12;
/// API tokens last this long unless asked otherwise; at most a year.
pub const TOKEN_DEFAULT_DAYS: i64 = 90;
pub const TOKEN_MAX_DAYS: i64 = 366;

/// Hash a password with argon2id (the crate's defaults: m=19 MiB, t=2, p=1).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the username does not exist, so that an
/// unknown user takes as long to refuse as a wrong password.
fn dummy_hash() -> &'static str {
    static H: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password("dummy password for timing").unwrap_or_default());
    &H
}

/// Passwords: 10 to 256 characters.
pub fn check_password_rules(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if (10..=256).contains(&n) {
        Ok(())
    } else {
        Err(AppError::bad(
            "password",
            "(hidden)",
            "a password is 10 to 256 characters",
        ))
    }
}

/// SHA-256 hex of a secret, as stored.
pub fn secret_hash(secret: &str) -> String {
    sahelwatch_core::audit::hex(&Sha256::digest(secret.as_bytes()))
}

/// A new random secret with a recognisable prefix (`sw_` tokens, `sws_` sessions).
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A random secret that is easy to read and type (no 0/O, 1/l/I): device
/// secrets, the demo password.
pub fn readable_secret(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Counts failed sign-ins per key in a sliding window.
#[derive(Default)]
pub struct RateLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// Seconds to wait before `key` may try again, if it is blocked now.
    pub fn blocked(&self, key: &str, now: Instant) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let q = map.get_mut(key)?;
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) > LOGIN_WINDOW)
        {
            q.pop_front();
        }
        if q.len() >= LOGIN_ATTEMPTS {
            let oldest = *q.front()?;
            Some(
                LOGIN_WINDOW
                    .saturating_sub(now.duration_since(oldest))
                    .as_secs()
                    .max(1),
            )
        } else {
            None
        }
    }

    pub fn fail(&self, key: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_string()).or_default().push_back(now);
    }

    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// What a successful sign-in returns: the session secret (for the cookie)
/// and the CSRF token the browser must echo on state-changing requests.
#[derive(Debug, Clone)]
pub struct LoginResult {
    pub session_secret: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A created API token: the secret is shown once and never again.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NewToken {
    /// The secret. Send it as `Authorization: Bearer <secret>`.
    pub token: String,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub info: ApiToken,
}

#[derive(Default)]
pub(crate) struct PrincipalCache {
    access: i64,
    by_hash: HashMap<String, (Arc<Principal>, DateTime<Utc>)>,
}

impl App {
    /// The principal of a user, with their organisation's sharing groups.
    pub async fn principal_of(&self, user: &User) -> Result<Arc<Principal>, AppError> {
        let groups = self
            .store
            .groups()
            .await?
            .into_iter()
            .filter(|g| g.members.contains(&user.org))
            .map(|g| g.id)
            .collect();
        Ok(Arc::new(Principal {
            user: user.id,
            org: user.org,
            role: user.role,
            superadmin: user.superadmin,
            groups,
        }))
    }

    fn cached(&self, hash: &str, access: i64, now: DateTime<Utc>) -> Option<Arc<Principal>> {
        let mut cache = self.principals.lock().unwrap_or_else(|e| e.into_inner());
        if cache.access != access {
            cache.by_hash.clear();
            cache.access = access;
            return None;
        }
        match cache.by_hash.get(hash) {
            Some((p, expires)) if now < *expires => Some(Arc::clone(p)),
            _ => None,
        }
    }

    fn remember(&self, hash: String, access: i64, p: &Arc<Principal>, expires: DateTime<Utc>) {
        let mut cache = self.principals.lock().unwrap_or_else(|e| e.into_inner());
        if cache.access == access {
            if cache.by_hash.len() > 10_000 {
                cache.by_hash.clear();
            }
            cache.by_hash.insert(hash, (Arc::clone(p), expires));
        }
    }

    /// The principal an API token stands for, if it is valid now.
    pub async fn authenticate_token(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Arc<Principal>>, AppError> {
        let hash = secret_hash(secret);
        let access = self.store.counters().await?.access;
        if let Some(p) = self.cached(&hash, access, now) {
            return Ok(Some(p));
        }
        let Some(token) = self.store.token_by_hash(&hash).await? else {
            return Ok(None);
        };
        if !token.is_active(now) {
            return Ok(None);
        }
        let Some(user) = self.store.user(token.user).await? else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        let p = self.principal_of(&user).await?;
        self.remember(hash, access, &p, token.expires_at);
        Ok(Some(p))
    }

    /// The principal and session a browser session secret stands for.
    pub async fn authenticate_session(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(Arc<Principal>, Session)>, AppError> {
        let hash = secret_hash(secret);
        let Some(session) = self.store.session_by_hash(&hash).await? else {
            return Ok(None);
        };
        if session.revoked || now >= session.expires_at {
            return Ok(None);
        }
        let Some(user) = self.store.user(session.user).await? else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        Ok(Some((self.principal_of(&user).await?, session)))
    }

    /// Sign in with a username and password. Failures are counted per
    /// username and per client address; past [`LOGIN_ATTEMPTS`] in
    /// [`LOGIN_WINDOW`], further attempts are refused without checking.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: &str,
        now: Instant,
    ) -> Result<LoginResult, AppError> {
        let username = username.trim().to_lowercase();
        let keys = [format!("user:{username}"), format!("addr:{client}")];
        for k in &keys {
            if let Some(secs) = self.login_limiter.blocked(k, now) {
                return Err(AppError::TooManyRequests {
                    retry_after_secs: secs,
                });
            }
        }
        let found = self.store.user_by_username(&username).await?;
        let ok = match &found {
            Some((user, Some(hash))) if !user.disabled => verify_password(hash, password),
            _ => {
                // Same work for an unknown user, a disabled one, or one without a password.
                let _ = verify_password(dummy_hash(), password);
                false
            }
        };
        let user = match (ok, found) {
            (true, Some((user, _))) => user,
            _ => {
                for k in &keys {
                    self.login_limiter.fail(k, now);
                }
                return Err(AppError::Unauthorized);
            }
        };
        for k in &keys {
            self.login_limiter.clear(k);
        }
        let session_secret = new_secret("sws_");
        let csrf_token = new_secret("");
        let expires_at = Utc::now() + Duration::hours(SESSION_HOURS);
        self.store
            .create_session(
                user.id,
                &secret_hash(&session_secret),
                &csrf_token,
                expires_at,
            )
            .await?;
        Ok(LoginResult {
            session_secret,
            csrf_token,
            expires_at,
            user,
        })
    }

    pub async fn logout(&self, session: &Session) -> Result<(), AppError> {
        Ok(self.store.revoke_session(session.id).await?)
    }

    /// Create an API token for `user`. `days` defaults to
    /// [`TOKEN_DEFAULT_DAYS`] and may not exceed [`TOKEN_MAX_DAYS`].
    pub async fn issue_token(
        &self,
        user: &User,
        name: &str,
        days: Option<i64>,
    ) -> Result<NewToken, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::bad(
                "name",
                name,
                "a token name is 1 to 100 characters",
            ));
        }
        let days = days.unwrap_or(TOKEN_DEFAULT_DAYS);
        if !(1..=TOKEN_MAX_DAYS).contains(&days) {
            return Err(AppError::bad(
                "expires_in_days",
                &days.to_string(),
                format!("must be 1 to {TOKEN_MAX_DAYS}"),
            ));
        }
        let token = new_secret("sw_");
        let prefix: String = token.chars().take(8).collect();
        let info = self
            .store
            .create_token(
                user.id,
                name,
                &secret_hash(&token),
                &prefix,
                Utc::now() + Duration::days(days),
            )
            .await?;
        Ok(NewToken { token, info })
    }

    /// The organisation ids of every organisation (for membership checks).
    pub async fn org_exists(&self, org: OrgId) -> Result<bool, AppError> {
        Ok(self.org(org).await?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "wrong horse battery"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn secrets_are_random_and_hashed_stably() {
        let a = new_secret("sw_");
        let b = new_secret("sw_");
        assert_ne!(a, b);
        assert!(a.starts_with("sw_") && a.len() > 40);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_eq!(secret_hash(&a).len(), 64);
    }

    #[test]
    fn the_limiter_blocks_after_five_failures_in_the_window() {
        let l = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..LOGIN_ATTEMPTS {
            assert_eq!(l.blocked("k", t0), None, "attempt {i}");
            l.fail("k", t0);
        }
        assert!(l.blocked("k", t0).is_some());
        assert!(l.blocked("other", t0).is_none());
        assert_eq!(
            l.blocked("k", t0 + LOGIN_WINDOW + StdDuration::from_secs(1)),
            None,
            "the window slides"
        );
        l.fail("k", t0);
        l.clear("k");
        assert_eq!(l.blocked("k", t0), None);
    }
}
