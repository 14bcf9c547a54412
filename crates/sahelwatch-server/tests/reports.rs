//! Reading report texts over HTTP (`POST /api/v1/reports/extract`), against
//! the real gazetteer of the starter data: English and French, JSON and
//! text/plain, and every kind of bad text.

mod common;

use common::{Resp, send_bytes, user};
use sahelwatch_app::{App, NoProgress};
use sahelwatch_core::Role;
use sahelwatch_server::AppState;
use sahelwatch_store::conformance::TestDb;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

async fn post(
    state: &AppState,
    token: Option<&str>,
    uri: &str,
    media: &str,
    body: Vec<u8>,
) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", media)];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send_bytes(state, "POST", uri, &headers, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_read_in_english_and_french_and_bad_texts_refused() {
    let db = TestDb::sqlite().await;
    let app = Arc::new(App::new(db.store.clone()));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/starter");
    for name in [
        "geonames_cities500_sahel_region.tsv.gz",
        "geonames_BF_dump_2025-08.txt.gz",
        "geonames_ML_dump_2014-12.txt.gz",
        "geonames_NE_dump_2014-12.txt.gz",
    ] {
        let r = flate2::read::GzDecoder::new(std::fs::File::open(dir.join(name)).unwrap());
        app.import_gazetteer(name, Box::new(r), None, true, Arc::new(NoProgress))
            .await
            .unwrap();
    }
    let org = app.ensure_org("ONG").await.unwrap();
    let analyst = user(&app, org.id, "analyst", Role::Analyst).await;
    let state = AppState::new(Arc::clone(&app));
    let t = Some(analyst.token.as_str());
    let uri = "/api/v1/reports/extract";

    // English, JSON.
    let body = json!({
        "text": "Gunmen kidnapped two Moroccan truck drivers late Monday on the road between Téra and Dori, killing one escort.",
        "published": "2025-08-05"
    });
    let r = post(
        &state,
        t,
        uri,
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = r.json();
    assert_eq!(e["lang"], "en");
    let date = &e["dates"][e["event_date"].as_u64().unwrap() as usize];
    assert_eq!(date["value"]["date"], "2025-08-04");
    assert_eq!(date["span"]["text"], "late Monday");
    assert_eq!(
        e["event"]["value"]["sub_event_type"],
        "Abduction/forced disappearance"
    );
    assert_eq!(
        e["hostages"]["value"],
        json!({"count": 2, "nationality": "MA", "occupation": "truck driver"})
    );
    assert_eq!(e["fatalities"], 1);
    assert_eq!(e["segments"][0]["value"]["from"]["name"], "Téra");
    assert_eq!(e["unlocated"], false);
    let text = body["text"].as_str().unwrap();
    for p in e["places"].as_array().unwrap() {
        let (a, b) = (
            p["span"]["start"].as_u64().unwrap() as usize,
            p["span"]["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            &text[a..b],
            p["span"]["text"].as_str().unwrap(),
            "spans are byte offsets into the text"
        );
    }

    // French, text/plain.
    let fr = "Des hommes armés ont attaqué jeudi le poste de Boni, au Mali, tuant quatre soldats. Le GSIM a revendiqué l'attaque.";
    let r = post(
        &state,
        t,
        &format!("{uri}?published=2025-08-05"),
        "text/plain; charset=utf-8",
        fr.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = r.json();
    assert_eq!(
        (e["lang"].as_str(), e["fatalities"].as_u64()),
        (Some("fr"), Some(4))
    );
    assert!(
        e["actors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["value"]["name"] == "JNIM: Group for Support of Islam and Muslims")
    );
    assert!(
        e["places"].as_array().unwrap().iter().any(
            |p| p["value"]["place"]["name"] == "Boni" && p["value"]["place"]["country"] == "ML"
        ),
        "{}",
        e["places"]
    );

    // No place: read, and flagged.
    let r = post(
        &state,
        t,
        &format!("{uri}?published=2025-08-05&lang=en"),
        "text/plain",
        b"The minister spoke about security.".to_vec(),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["unlocated"].clone()),
        (200, Value::Bool(true))
    );

    // Bad texts and requests: what is wrong, and where.
    // (what, uri, media type, body, status, what the message says)
    type Case<'a> = (&'a str, String, &'a str, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "empty",
            format!("{uri}?published=2025-08-05"),
            "text/plain",
            b"  \n".to_vec(),
            400,
            "the text is empty",
        ),
        (
            "not UTF-8",
            format!("{uri}?published=2025-08-05"),
            "text/plain",
            b"caf\xe9 au lait".to_vec(),
            400,
            "invalid byte at offset 3",
        ),
        (
            "binary",
            format!("{uri}?published=2025-08-05"),
            "text/plain",
            b"PK\x03\x04\0\0\0binary".to_vec(),
            400,
            "NUL byte at byte offset 4",
        ),
        (
            "too large",
            format!("{uri}?published=2025-08-05"),
            "text/plain",
            vec![b'a'; 300 * 1024],
            413,
            "limit of 262144 bytes",
        ),
        (
            "no date",
            uri.to_string(),
            "text/plain",
            b"Dori".to_vec(),
            400,
            "published=YYYY-MM-DD is required",
        ),
        (
            "bad date",
            format!("{uri}?published=05/08/2025"),
            "text/plain",
            b"Dori".to_vec(),
            400,
            "published='05/08/2025'",
        ),
        (
            "bad lang",
            format!("{uri}?published=2025-08-05&lang=de"),
            "text/plain",
            b"Dori".to_vec(),
            400,
            "must be en or fr",
        ),
        (
            "bad JSON",
            uri.to_string(),
            "application/json",
            b"{\"text\": 1}".to_vec(),
            400,
            "not a valid request",
        ),
        (
            "media type",
            uri.to_string(),
            "application/pdf",
            b"%PDF".to_vec(),
            415,
            "text/plain",
        ),
    ];
    for (what, u, media, body, status, says) in cases {
        let r = post(&state, t, &u, media, body).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text());
        assert!(r.text().contains(says), "{what}: {}", r.text());
    }
    let r = post(
        &state,
        None,
        &format!("{uri}?published=2025-08-05"),
        "text/plain",
        b"Dori".to_vec(),
    )
    .await;
    assert_eq!(r.status, 401);
}
