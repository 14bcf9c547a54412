//! OsmAnd (Traccar Client) position parser,
//! `sahelwatch_app::tracker::parse_osmand`. The input's first line is the
//! raw query string (or form body), decoded by `serde_urlencoded` as the
//! server does; a second line, if any, is the decoded HTTP Basic
//! credentials (`user:password`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sahelwatch_app::tracker::parse_osmand;

fuzz_target!(|data: &[u8]| {
    let (query, basic) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(params) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(query) else {
        return;
    };
    let basic = basic
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.split_once(':'))
        .map(|(u, p)| (u.to_string(), p.to_string()));
    if let Ok(p) = parse_osmand(&params, basic) {
        assert!(!p.device.is_empty());
        assert!(p.latitude.is_finite() && p.longitude.is_finite());
    }
});
