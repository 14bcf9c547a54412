//! Credentials and permissions: tokens (expiry, revocation), passwords and
//! sign-in rate limiting, browser sessions and CSRF, roles, and bad bodies.

mod common;

use chrono::{Duration, Utc};
use common::{get, send, user};
use sahelwatch_app::App;
use sahelwatch_core::Role;
use sahelwatch_server::AppState;
use sahelwatch_store::conformance::TestDb;
use std::sync::Arc;

async fn setup() -> (TestDb, Arc<App>, AppState) {
    let db = TestDb::sqlite().await;
    let app = Arc::new(App::new(db.store.clone()));
    let state = AppState::new(Arc::clone(&app));
    (db, app, state)
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

#[tokio::test]
async fn tokens_expire_and_revoke_and_wrong_ones_never_fall_back_to_anonymous() {
    let (_db, app, state) = setup().await;
    let org = app.store().create_org("Org").await.unwrap();
    let u = user(&app, org.id, "awa", Role::Analyst).await;
    assert_eq!(
        get(&state, Some(&u.token), "/api/v1/me").await.json()["username"],
        "awa"
    );
    // A wrong token is 401, even when the public API would let anonymous callers in.
    let public = AppState {
        public_api: true,
        ..state.clone()
    };
    let r = get(&public, Some("sw_not-a-real-token"), "/api/v1/incidents").await;
    assert_eq!(
        (r.status.as_u16(), r.json()["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    assert!(r.headers.contains_key("www-authenticate"));
    // Revoked through the API: the next request is refused.
    let list = get(&state, Some(&u.token), "/api/v1/tokens").await.json();
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    assert!(list["items"][0].get("token_hash").is_none() && !list.to_string().contains(&u.token));
    let h = bearer(&u.token);
    let r = send(
        &state,
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        &[("authorization", &h)],
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(get(&state, Some(&u.token), "/api/v1/me").await.status, 401);
    // Expired: stored with an expiry in the past.
    let stored = app
        .store()
        .user_by_username("awa")
        .await
        .unwrap()
        .unwrap()
        .0;
    let secret = "sw_expired-token-for-the-test";
    app.store()
        .create_token(
            stored.id,
            "old",
            &sahelwatch_app::auth::secret_hash(secret),
            "sw_expi",
            Utc::now() - Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(get(&state, Some(secret), "/api/v1/me").await.status, 401);
    // A disabled user's tokens stop working.
    let fresh = app.issue_token(&stored, "fresh", Some(1)).await.unwrap();
    assert_eq!(
        get(&state, Some(&fresh.token), "/api/v1/me").await.status,
        200
    );
    app.store()
        .update_user(
            stored.id,
            sahelwatch_store::UserChange {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        get(&state, Some(&fresh.token), "/api/v1/me").await.status,
        401
    );
    // Basic auth with a token as the password (what TAXII clients send).
    let other = user(&app, org.id, "binta", Role::Viewer).await;
    let basic = format!("Basic {}", base64_encode(&format!("binta:{}", other.token)));
    let r = send(
        &state,
        "GET",
        "/api/v1/me",
        &[("authorization", &basic)],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn passwords_sessions_csrf_and_rate_limits() {
    let (_db, app, state) = setup().await;
    let org = app.store().create_org("Org").await.unwrap();
    user(&app, org.id, "awa", Role::Admin).await;
    let login = |pw: &str| format!(r#"{{"username":"AWA","password":"{pw}"}}"#);
    let r = send(
        &state,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&login("wrong password!")),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let wrong = r.body.clone();
    // An unknown user gets exactly the same answer as a wrong password.
    let r = send(
        &state,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(r#"{"username":"nobody","password":"whatever123"}"#),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.body.clone()), (401, wrong));
    let r = send(
        &state,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&login("a long enough password")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cookie = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let csrf = r.json()["csrf_token"].as_str().unwrap().to_string();
    // Reads with the cookie need no CSRF token; changes do.
    let r = send(&state, "GET", "/api/v1/me", &[("cookie", &session)], None).await;
    assert_eq!(r.status, 200);
    let body = r#"{"name":"from the browser"}"#;
    let r = send(
        &state,
        "POST",
        "/api/v1/tokens",
        &[("cookie", &session)],
        Some(body),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["code"].as_str()),
        (403, Some("csrf_failed"))
    );
    let r = send(
        &state,
        "POST",
        "/api/v1/tokens",
        &[("cookie", &session), ("x-csrf-token", "guess")],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(
        &state,
        "POST",
        "/api/v1/tokens",
        &[("cookie", &session), ("x-csrf-token", &csrf)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json()["token"].as_str().unwrap().starts_with("sw_"));
    // Logging out ends the session.
    let r = send(
        &state,
        "POST",
        "/api/v1/auth/logout",
        &[("cookie", &session), ("x-csrf-token", &csrf)],
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        send(&state, "GET", "/api/v1/me", &[("cookie", &session)], None)
            .await
            .status,
        401
    );
    // Five failures lock the username for the window, even with the right password.
    for _ in 0..5 {
        let r = send(
            &state,
            "POST",
            "/api/v1/auth/login",
            &[],
            Some(&login("nope nope nope")),
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let r = send(
        &state,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&login("a long enough password")),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["code"].as_str()),
        (429, Some("too_many_requests"))
    );
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn roles_decide_who_changes_what_and_hidden_items_stay_hidden() {
    let (_db, app, state) = setup().await;
    let a = app.store().create_org("A").await.unwrap();
    let b = app.store().create_org("B").await.unwrap();
    let analyst_a = user(&app, a.id, "analyst.a", Role::Analyst).await;
    let viewer_a = user(&app, a.id, "viewer.a", Role::Viewer).await;
    let analyst_b = user(&app, b.id, "analyst.b", Role::Analyst).await;
    let admin_b = user(&app, b.id, "admin.b", Role::Admin).await;
    let incident = serde_json::json!({
        "incident": {
            "event_date": "2025-01-18", "time_precision": 1, "sub_event_type": "Abduction/forced disappearance",
            "actors": {"actor1": "Islamic State (Sahel)", "actor2": "Civilians (Morocco)"},
            "location": {"country": "BF", "admin1": "Sahel", "place": "Seytenga", "latitude": 14.1167, "longitude": 0.3, "geo_precision": 2},
            "fatalities": {"best": 0}, "notes": "Four truck drivers abducted."
        },
        "marking": {"tlp": "GREEN", "coarsen": "10km"}
    })
    .to_string();
    let ha = bearer(&analyst_a.token);
    let hv = bearer(&viewer_a.token);
    let r = send(
        &state,
        "POST",
        "/api/v1/incidents",
        &[("authorization", &hv)],
        Some(&incident),
    )
    .await;
    assert_eq!(r.status, 403, "viewers do not create incidents");
    let r = send(
        &state,
        "POST",
        "/api/v1/incidents",
        &[("authorization", &ha)],
        Some(&incident),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.json()["location"]["latitude"],
        14.1167,
        "the owner sees the exact point"
    );
    // Org B sees the GREEN item, coarsened, but may not change it.
    let r = get(
        &state,
        Some(&analyst_b.token),
        &format!("/api/v1/incidents/{id}"),
    )
    .await;
    assert_eq!(
        (
            r.json()["location"]["latitude"].as_f64(),
            r.json()["location_coarsened"].as_str()
        ),
        (Some(14.15), Some("10km"))
    );
    let hb = bearer(&analyst_b.token);
    let amber = r#"{"tlp":"AMBER+STRICT"}"#;
    let r = send(
        &state,
        "PUT",
        &format!("/api/v1/incidents/{id}/marking"),
        &[("authorization", &hb)],
        Some(amber),
    )
    .await;
    assert_eq!(r.status, 403);
    // The owner makes it AMBER+STRICT: org B no longer sees it, and cannot tell it exists.
    let r = send(
        &state,
        "PUT",
        &format!("/api/v1/incidents/{id}/marking"),
        &[("authorization", &ha)],
        Some(amber),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let hidden = get(
        &state,
        Some(&analyst_b.token),
        &format!("/api/v1/incidents/{id}"),
    )
    .await;
    let absent = get(
        &state,
        Some(&analyst_b.token),
        &format!("/api/v1/incidents/{}", uuid::Uuid::new_v4()),
    )
    .await;
    assert_eq!((hidden.status, hidden.body), (absent.status, absent.body));
    let r = send(
        &state,
        "PUT",
        &format!("/api/v1/incidents/{id}/marking"),
        &[("authorization", &hb)],
        Some(amber),
    )
    .await;
    assert_eq!(
        r.status, 404,
        "changing a hidden item is 'not found', not 'forbidden'"
    );
    let r = send(
        &state,
        "DELETE",
        &format!("/api/v1/incidents/{id}"),
        &[("authorization", &hb)],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    // Sharing to a group org A does not belong to is refused.
    let hab = bearer(&admin_b.token);
    let g = send(
        &state,
        "POST",
        "/api/v1/sharing-groups",
        &[("authorization", &hab)],
        Some(r#"{"name":"B only"}"#),
    )
    .await;
    assert_eq!(g.status, 201, "{}", g.text());
    let gid = g.json()["id"].as_str().unwrap().to_string();
    let body = format!(r#"{{"tlp":"AMBER","sharing_group":"{gid}"}}"#);
    let r = send(
        &state,
        "PUT",
        &format!("/api/v1/incidents/{id}/marking"),
        &[("authorization", &ha)],
        Some(&body),
    )
    .await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.json()["details"][0]["parameter"].as_str()
        ),
        (400, Some("sharing_group"))
    );
    // B's admin adds A to the group; then A can share with it, and B sees the item.
    let r = send(
        &state,
        "PUT",
        &format!("/api/v1/sharing-groups/{gid}/members/{}", a.uid),
        &[("authorization", &hab)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &state,
        "PUT",
        &format!("/api/v1/incidents/{id}/marking"),
        &[("authorization", &ha)],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        get(
            &state,
            Some(&analyst_b.token),
            &format!("/api/v1/incidents/{id}")
        )
        .await
        .status,
        200
    );
    // Only admins list users and read the audit log; each sees their own organisation.
    assert_eq!(
        get(&state, Some(&analyst_b.token), "/api/v1/users")
            .await
            .status,
        403
    );
    let users = get(&state, Some(&admin_b.token), "/api/v1/users")
        .await
        .json();
    let names: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["analyst.b", "admin.b"]);
    let audit = get(&state, Some(&admin_b.token), "/api/v1/audit")
        .await
        .json();
    let entries = audit["items"].as_array().unwrap();
    assert!(
        !entries.is_empty(),
        "org B's reads of the GREEN item were audited"
    );
    assert!(
        entries
            .iter()
            .all(|e| e["org"] == serde_json::json!(b.id.0))
    );
    assert_eq!(
        get(&state, Some(&analyst_a.token), "/api/v1/audit")
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn bad_bodies_get_clear_errors_and_change_nothing() {
    let (_db, app, state) = setup().await;
    let org = app.store().create_org("Org").await.unwrap();
    let u = user(&app, org.id, "awa", Role::Admin).await;
    let h = bearer(&u.token);
    let r = send(
        &state,
        "POST",
        "/api/v1/tokens",
        &[("authorization", &h)],
        Some("{not json"),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["code"].as_str()),
        (400, Some("invalid_body"))
    );
    let r = send(
        &state,
        "POST",
        "/api/v1/tokens",
        &[("authorization", &h)],
        Some(r#"{"name":"x","colour":"red"}"#),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{}",
        r.text()
    );
    let r = send(
        &state,
        "POST",
        "/api/v1/incidents",
        &[("authorization", &h), ("content-type", "text/plain")],
        None,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(2 << 20));
    let r = send(
        &state,
        "POST",
        "/api/v1/tokens",
        &[("authorization", &h)],
        Some(&big),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let r = send(&state, "POST", "/api/v1/incidents", &[("authorization", &h)], Some(r#"{"incident":{"event_date":"2025-01-01","time_precision":1,"sub_event_type":"Armed clashes","location":{"country":"BF","latitude":14,"longitude":0,"geo_precision":1}},"marking":{"tlp":"GREEN"}}"#)).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("Armed clashes"),
        "the bad value is named: {}",
        r.text()
    );
    let r = send(&state, "POST", "/api/v1/incidents", &[("authorization", &h)], Some(r#"{"incident":{"event_date":"2025-01-01","time_precision":1,"sub_event_type":"Armed clash","location":{"country":"BF","latitude":95,"longitude":0,"geo_precision":1}},"marking":{"tlp":"WHITE"}}"#)).await;
    assert_eq!(r.status, 400);
    let r = send(&state, "POST", "/api/v1/incidents", &[("authorization", &h)], Some(r#"{"incident":{"event_date":"2025-01-01","time_precision":1,"sub_event_type":"Armed clash","location":{"country":"BF","latitude":95,"longitude":0,"geo_precision":1}},"marking":{"tlp":"GREEN"}}"#)).await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.json()["details"][0]["parameter"].as_str()
        ),
        (400, Some("latitude"))
    );
    assert_eq!(
        app.store().stats().await.unwrap().incidents,
        0,
        "nothing was written"
    );
    assert_eq!(
        app.store().tokens(u.principal.user).await.unwrap().len(),
        1,
        "no token was created"
    );
}
