//! The TAXII 2.1 feed: one collection of STIX objects, per caller.
//!
//! The collection is a sequence of *units* in the order they were written:
//! first the fixed preamble (the deployment's identity, the sahelwatch
//! extension definition, the TLP 2.0 markings), then every incident the
//! caller may see, by (last write, row id). A unit expands to its STIX
//! objects ([`crate::stix::incident_objects`], coarsened for the caller), each
//! with the unit's `date_added`. Every incident unit carries its full object
//! set (owner identity, location, actors, relationships), so a page can start
//! anywhere: the same actor object may appear once per incident naming it.
//!
//! Paging is exact: a `next` token names a unit and how many of its
//! (filtered) objects were already returned, so `limit` is never exceeded and
//! nothing is skipped or repeated. Writes are stamped once the store's write
//! lock is held, so their times follow commit order and a client polling
//! with `added_after` = the last `date_added` it saw misses nothing.
//!
//! Only the current version of each object is kept: `match[version]` values
//! `first`, `last` and `all` all select it; a timestamp selects it if equal.

use crate::stix::{StixImport, incident_objects, preamble_objects, tlp_of_marking};
use crate::{App, AppError, ParamError};
use chrono::{DateTime, SecondsFormat, Utc};
use sahelwatch_core::{OrgId, Principal, Viewer};
use sahelwatch_query::Filter;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::LazyLock;
use uuid::Uuid;

/// The one collection: every incident the caller may see.
pub static COLLECTION_ID: LazyLock<Uuid> =
    LazyLock::new(|| Uuid::new_v5(&Uuid::NAMESPACE_URL, b"sahelwatch:taxii:incidents"));

/// When the preamble objects count as added.
const PREAMBLE_ADDED: &str = "2026-11-21T00:00:00Z";

/// Objects per page when the client names no limit, and the most it may ask for.
pub const DEFAULT_LIMIT: usize = 500;
pub const MAX_LIMIT: usize = 5000;

/// How many TAXII status resources are kept (per server instance).
const STATUS_KEPT: usize = 1000;

/// `match[version]` values.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionMatch {
    First,
    Last,
    All,
    At(DateTime<Utc>),
}

/// The filters of a TAXII objects or manifest request.
#[derive(Debug, Clone, Default)]
pub struct TaxiiFilter {
    pub added_after: Option<DateTime<Utc>>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub versions: Vec<VersionMatch>,
    pub spec_versions: Vec<String>,
}

fn parse_time(param: &str, v: &str) -> Result<DateTime<Utc>, ParamError> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ParamError::new(
                param,
                v,
                "must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z",
            )
        })
}

impl TaxiiFilter {
    /// Parse the query parameters of a request (`added_after`, `match[...]`);
    /// `limit` and `next` are left to the caller. Unknown parameters are refused.
    pub fn parse(pairs: &[(String, String)]) -> Result<TaxiiFilter, AppError> {
        let mut f = TaxiiFilter::default();
        let mut errors = Vec::new();
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        for (k, v) in pairs {
            if k.starts_with("match[") && list(v).is_empty() {
                errors.push(ParamError::new(
                    k,
                    v,
                    "names nothing to match (a comma-separated list is expected)",
                ));
                continue;
            }
            match k.as_str() {
                "added_after" => match parse_time(k, v) {
                    Ok(t) => f.added_after = Some(t),
                    Err(e) => errors.push(e),
                },
                "match[id]" => f.ids.extend(list(v)),
                "match[type]" => f.types.extend(list(v)),
                "match[spec_version]" => f.spec_versions.extend(list(v)),
                "match[version]" => {
                    for one in list(v) {
                        match one.as_str() {
                            "first" => f.versions.push(VersionMatch::First),
                            "last" => f.versions.push(VersionMatch::Last),
                            "all" => f.versions.push(VersionMatch::All),
                            t => match parse_time(k, t) {
                                Ok(t) => f.versions.push(VersionMatch::At(t)),
                                Err(_) => errors.push(ParamError::new(
                                    k,
                                    t,
                                    "must be first, last, all or an RFC 3339 timestamp",
                                )),
                            },
                        }
                    }
                }
                "limit" | "next" => {}
                other => errors.push(ParamError::new(
                    other,
                    v,
                    "unknown parameter (TAXII 2.1 takes added_after, limit, next, match[id], match[type], match[version], match[spec_version])",
                )),
            }
        }
        if errors.is_empty() {
            Ok(f)
        } else {
            Err(AppError::BadRequest(errors))
        }
    }

    fn accepts(&self, o: &Value) -> bool {
        let get = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("");
        if !self.types.is_empty() && !self.types.iter().any(|t| t == get("type")) {
            return false;
        }
        if !self.ids.is_empty() && !self.ids.iter().any(|i| i == get("id")) {
            return false;
        }
        if !self.spec_versions.is_empty()
            && !self.spec_versions.iter().any(|s| s == get("spec_version"))
        {
            return false;
        }
        if !self.versions.is_empty() {
            let version = object_version(o);
            let ok = self.versions.iter().any(|m| match m {
                VersionMatch::At(t) => version == Some(*t),
                _ => true,
            });
            if !ok {
                return false;
            }
        }
        true
    }

    /// Can an incident unit hold an object these filters accept?
    fn wants_incidents(&self) -> bool {
        const DERIVED: [&str; 5] = [
            "incident",
            "location",
            "relationship",
            "threat-actor",
            "identity",
        ];
        self.types.is_empty() || self.types.iter().any(|t| DERIVED.contains(&t.as_str()))
    }
}

/// The version of an object: `modified`, or `created` for objects that have no
/// `modified` (marking definitions).
pub fn object_version(o: &Value) -> Option<DateTime<Utc>> {
    let t = o.get("modified").or_else(|| o.get("created"))?.as_str()?;
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A TAXII timestamp (microseconds, UTC).
pub fn taxii_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Where a page starts: a unit, and how many of its filtered objects were
/// already returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedCursor {
    updated: i64,
    row: i64,
    skip: usize,
}

const PREAMBLE_KEY: (i64, i64) = (i64::MIN, i64::MIN);

impl FeedCursor {
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.updated, self.row, self.skip)
    }

    pub fn decode(s: &str) -> Result<FeedCursor, AppError> {
        let bad = || {
            AppError::bad(
                "next",
                s,
                "not a next token of this server; start again without it",
            )
        };
        let mut parts = s.split('.');
        let (Some(a), Some(b), Some(c), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        Ok(FeedCursor {
            updated: a.parse().map_err(|_| bad())?,
            row: b.parse().map_err(|_| bad())?,
            skip: c.parse().map_err(|_| bad())?,
        })
    }

    fn key(&self) -> (i64, i64) {
        (self.updated, self.row)
    }
}

/// One object of the feed.
#[derive(Debug, Clone)]
pub struct FeedObject {
    pub object: Value,
    pub date_added: DateTime<Utc>,
}

impl FeedObject {
    pub fn id(&self) -> &str {
        self.object.get("id").and_then(Value::as_str).unwrap_or("")
    }

    pub fn version(&self) -> Option<DateTime<Utc>> {
        object_version(&self.object)
    }
}

/// One page of the feed.
#[derive(Debug, Clone, Default)]
pub struct FeedPage {
    pub objects: Vec<FeedObject>,
    /// Token of the next page, when there is more.
    pub next: Option<String>,
}

/// Collects a page unit by unit.
struct PageBuilder {
    limit: usize,
    start: FeedCursor,
    objects: Vec<FeedObject>,
    next: Option<FeedCursor>,
}

impl PageBuilder {
    /// Add the filtered objects of one unit; false once the page is full.
    fn unit(
        &mut self,
        key: (i64, i64),
        objects: Vec<Value>,
        added: DateTime<Utc>,
        f: &TaxiiFilter,
    ) -> bool {
        let skip = if key == self.start.key() {
            self.start.skip
        } else {
            0
        };
        for (k, o) in objects
            .into_iter()
            .filter(|o| f.accepts(o))
            .enumerate()
            .skip(skip)
        {
            if self.objects.len() == self.limit {
                self.next = Some(FeedCursor {
                    updated: key.0,
                    row: key.1,
                    skip: k,
                });
                return false;
            }
            self.objects.push(FeedObject {
                object: o,
                date_added: added,
            });
        }
        true
    }
}

/// TAXII status resources of recent POSTs, kept per server instance.
#[derive(Default)]
pub(crate) struct StatusLog(VecDeque<(Uuid, OrgId, Value)>);

impl App {
    /// One page of the collection as `viewer` sees it. Non-CLEAR incidents
    /// whose objects are returned are audited under `path`.
    pub async fn taxii_page(
        &self,
        viewer: &Viewer,
        f: &TaxiiFilter,
        cursor: Option<FeedCursor>,
        limit: usize,
        path: &str,
    ) -> Result<FeedPage, AppError> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let start = cursor.unwrap_or(FeedCursor {
            updated: PREAMBLE_KEY.0,
            row: PREAMBLE_KEY.1,
            skip: 0,
        });
        let mut page = PageBuilder {
            limit,
            start,
            objects: Vec::new(),
            next: None,
        };
        let added_after = f.added_after.map(|t| t.timestamp_micros());
        let preamble_added: DateTime<Utc> = PREAMBLE_ADDED.parse().unwrap_or_default();
        let mut open = true;
        if start.key() == PREAMBLE_KEY
            && added_after.is_none_or(|a| preamble_added.timestamp_micros() > a)
        {
            open = page.unit(PREAMBLE_KEY, preamble_objects(), preamble_added, f);
        }
        if open && f.wants_incidents() {
            let snap = self.snapshot().await?;
            let mut filter = Filter::default();
            if let Some(rows) = self.rows_named_by(&f.ids).await? {
                filter.only_ids = Some(rows);
            }
            // Strictly after: the unit before the cursor's, and anything added
            // up to `added_after` included.
            let mut after = if start.key() == PREAMBLE_KEY {
                PREAMBLE_KEY
            } else {
                (start.updated, start.row.saturating_sub(1))
            };
            if let Some(a) = added_after {
                after = after.max((a, i64::MAX));
            }
            let mut batch = (limit + 1).clamp(64, 10_000);
            let mut audited = Vec::new();
            'scan: loop {
                let keys = snap.changed_after(&filter, viewer, after, batch);
                let Some(&last) = keys.last() else { break };
                let rows: Vec<i64> = keys.iter().map(|k| k.1).collect();
                let mut fetched: HashMap<i64, _> = self
                    .fetch_visible_keyed(viewer, &rows)
                    .await?
                    .into_iter()
                    .collect();
                for key in &keys {
                    let Some(inc) = fetched.remove(&key.1) else {
                        continue;
                    };
                    let owner = self.owner(&inc).await?;
                    let objects = incident_objects(&inc, &owner, viewer, &mut HashSet::new());
                    let before = page.objects.len();
                    let added = DateTime::from_timestamp_micros(key.0).unwrap_or_default();
                    let go_on = page.unit(*key, objects, added, f);
                    if page.objects.len() > before {
                        audited.push((inc.id, inc.marking.tlp));
                    }
                    if !go_on {
                        break 'scan;
                    }
                }
                if keys.len() < batch {
                    break;
                }
                after = last;
                batch = (batch * 2).min(10_000);
            }
            self.audit_read(viewer, "taxii", path, audited).await?;
        }
        Ok(FeedPage {
            next: page.next.map(|c| c.encode()),
            objects: page.objects,
        })
    }

    /// The row ids of incidents `ids` name, when every one names an incident
    /// or its location (`None`: some id names another kind of object, which
    /// any incident may carry).
    async fn rows_named_by(&self, ids: &[String]) -> Result<Option<HashSet<i64>>, AppError> {
        if ids.is_empty() {
            return Ok(None);
        }
        let mut rows = HashSet::new();
        for id in ids {
            let Some(uuid) = id
                .strip_prefix("incident--")
                .or_else(|| id.strip_prefix("location--"))
            else {
                return Ok(None);
            };
            let Ok(id) = Uuid::parse_str(uuid) else {
                continue;
            };
            // Ours (derived from the uid) or one that came in by STIX under this id.
            if let Some((row, _)) = self
                .store
                .incident_by_uid(crate::stix::uid_of_stix(id))
                .await?
            {
                rows.insert(row);
            }
            let key = format!("incident--{id}");
            rows.extend(
                self.store
                    .incident_ids_by_key(crate::stix::STIX_DATASET, &key)
                    .await?,
            );
        }
        Ok(Some(rows))
    }

    /// Add the objects of a TAXII envelope to the collection as `by`'s
    /// organisation, all or nothing, and return the TAXII status resource.
    /// Incidents are stored; TLP marking definitions are known already;
    /// other objects are reported as not stored (sahelwatch derives
    /// locations, actors and relationships from the incidents themselves).
    pub async fn taxii_add(
        &self,
        by: &Principal,
        envelope: &Value,
        source: &str,
    ) -> Result<Value, AppError> {
        let requested = chrono::Utc::now();
        let result: StixImport = self.import_stix(by, envelope, source).await?;
        let stored: HashSet<&str> = result.ids.iter().map(String::as_str).collect();
        let mut successes = Vec::new();
        let mut failures = Vec::new();
        for o in envelope
            .get("objects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = o.get("id").and_then(Value::as_str).unwrap_or_default();
            let mut entry = json!({ "id": id });
            if let Some(v) = object_version(o) {
                entry["version"] = json!(taxii_time(v));
            }
            if stored.contains(id)
                || tlp_of_marking(id).is_some()
                || id == crate::stix::EXTENSION_ID.as_str()
            {
                successes.push(entry);
            } else {
                entry["message"] = json!(
                    "not stored: sahelwatch derives locations, actors, identities and relationships from the incidents' own fields"
                );
                failures.push(entry);
            }
        }
        let status_id = Uuid::new_v4();
        let status = json!({
            "id": status_id.to_string(),
            "status": "complete",
            "request_timestamp": taxii_time(requested),
            "total_count": successes.len() + failures.len(),
            "success_count": successes.len(),
            "successes": successes,
            "failure_count": failures.len(),
            "failures": failures,
            "pending_count": 0,
            "pendings": [],
        });
        let mut log = self
            .taxii_statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if log.0.len() == STATUS_KEPT {
            log.0.pop_front();
        }
        log.0.push_back((status_id, by.org, status.clone()));
        Ok(status)
    }

    /// A status resource of a POST by the caller's organisation.
    pub fn taxii_status(&self, by: &Principal, id: &str) -> Result<Value, AppError> {
        let log = self
            .taxii_statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let wanted = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
        log.0
            .iter()
            .find(|(sid, org, _)| *sid == wanted && *org == by.org)
            .map(|(_, _, s)| s.clone())
            .ok_or(AppError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = FeedCursor {
            updated: 1_763_700_000_123_456,
            row: 42,
            skip: 3,
        };
        assert_eq!(FeedCursor::decode(&c.encode()).unwrap(), c);
        for bad in ["", "1.2", "1.2.3.4", "a.b.c", "1.2.-1"] {
            assert!(FeedCursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_parse_and_select() {
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        let f = TaxiiFilter::parse(&pairs(&[
            ("match[type]", "incident,location"),
            ("match[version]", "2026-01-02T03:04:05.000Z"),
            ("added_after", "2026-01-01T00:00:00Z"),
            ("limit", "5"),
        ]))
        .unwrap();
        assert_eq!(f.types, vec!["incident", "location"]);
        let o = json!({"type": "incident", "id": "incident--x", "spec_version": "2.1", "modified": "2026-01-02T03:04:05Z"});
        assert!(f.accepts(&o));
        let o2 = json!({"type": "incident", "id": "incident--x", "spec_version": "2.1", "modified": "2026-01-02T03:04:06Z"});
        assert!(!f.accepts(&o2));
        assert!(!f.accepts(&json!({"type": "relationship", "modified": "2026-01-02T03:04:05Z"})));
        let AppError::BadRequest(errs) = TaxiiFilter::parse(&pairs(&[
            ("added_after", "yesterday"),
            ("match[version]", "newest"),
            ("match[colour]", "red"),
        ]))
        .unwrap_err() else {
            panic!()
        };
        let names: Vec<&str> = errs.iter().map(|e| e.parameter.as_str()).collect();
        assert_eq!(
            names,
            vec!["added_after", "match[version]", "match[colour]"]
        );
        let only_markings = TaxiiFilter {
            types: vec!["marking-definition".into()],
            ..Default::default()
        };
        assert!(!only_markings.wants_incidents());
    }
}
