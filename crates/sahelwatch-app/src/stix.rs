//! STIX 2.1 out and in.
//!
//! An incident becomes, per viewer (coarsened outside its owner organisation):
//! - an `incident` SDO (`incident--<id>`), created by its owner organisation's
//!   `identity`, marked with the TLP 2.0 marking definition, carrying every
//!   field of the model in the sahelwatch property extension;
//! - a `location` (`location--<same uuid>`) and a `located-at` relationship;
//! - a `threat-actor` (armed groups) or `identity` (state forces, civilians,
//!   protesters, rioters) per actor and TLP, with `attributed-to` (actor 1),
//!   `targets` (actor 2 of civilian targeting) or `related-to` relationships.
//!
//! The TLP 2.0 marking definitions are the OASIS ones
//! (extension `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`).
//!
//! Import takes bundles (or TAXII envelopes) of such objects: incidents that
//! carry the sahelwatch extension are read back in full; TLP 1.0 markings are
//! mapped to their TLP 2.0 counterparts (WHITE to CLEAR); an unknown marking
//! id, an incident without the extension, or any malformed object refuses the
//! whole bundle, naming the object and the reason.

use crate::{App, AppError, ParamError};
use chrono::{DateTime, SecondsFormat, Utc};
use sahelwatch_core::coarsen::{coarse_position, coarsen_location};
use sahelwatch_core::{
    Coarsen, Incident, IncidentData, Inter, Marking, OrgId, Principal, Tlp, UserId, Viewer,
};
use sahelwatch_store::Org;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;
use uuid::Uuid;

/// The OASIS TLP 2.0 extension.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Namespace for the ids sahelwatch derives (actors, relationships).
const NAMESPACE: Uuid = Uuid::from_u128(0x5a4e_4c57_5354_4958_9f1c_2b3a_4d5e_6f70);

static DEPLOYMENT_IDENTITY: LazyLock<String> =
    LazyLock::new(|| format!("identity--{}", Uuid::new_v5(&NAMESPACE, b"sahelwatch")));

/// The sahelwatch property extension for incidents.
pub static EXTENSION_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "extension-definition--{}",
        Uuid::new_v5(&NAMESPACE, b"sahelwatch-incident-extension-v1")
    )
});

/// The STIX id of a TLP 2.0 marking definition.
pub fn tlp_marking_id(t: Tlp) -> &'static str {
    match t {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// A marking id sahelwatch understands, as TLP 2.0 (TLP 1.0 ids included).
pub fn tlp_of_marking(id: &str) -> Option<Tlp> {
    if let Some(t) = Tlp::ALL.into_iter().find(|t| tlp_marking_id(*t) == id) {
        return Some(t);
    }
    match id {
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" => Some(Tlp::Clear),
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da" => Some(Tlp::Green),
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82" => Some(Tlp::Amber),
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" => Some(Tlp::Red),
        _ => None,
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The TLP 2.0 marking definition object, as OASIS publishes it.
pub fn tlp_marking_object(t: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp_marking_id(t),
        "created": "2022-10-01T00:00:00.000Z",
        "name": format!("TLP:{}", t.label()),
        "extensions": {
            TLP2_EXTENSION: { "extension_type": "property-extension", "tlp_2_0": t.label().to_lowercase() }
        }
    })
}

/// The objects every bundle starts with: the deployment's identity, the
/// sahelwatch extension's definition, and the TLP 2.0 markings. Organisation
/// identities follow with the first incident each one created, so a bundle
/// names no organisation its reader sees nothing from.
pub fn preamble_objects() -> Vec<Value> {
    let created = "2026-11-21T00:00:00.000Z";
    let mut out = vec![
        json!({
            "type": "identity", "spec_version": "2.1", "id": *DEPLOYMENT_IDENTITY,
            "created": created, "modified": created,
            "name": "sahelwatch", "identity_class": "system",
            "object_marking_refs": [tlp_marking_id(Tlp::Clear)]
        }),
        json!({
            "type": "extension-definition", "spec_version": "2.1", "id": *EXTENSION_ID,
            "created_by_ref": *DEPLOYMENT_IDENTITY, "created": created, "modified": created,
            "name": "sahelwatch incident",
            "description": "Every field of a sahelwatch incident in the ACLED vocabulary: dates, event and sub-event type, actors and inter classes, location and precision, fatalities, sources, notes, and the source's original fields.",
            "schema": "https://sahelwatch.invalid/stix/incident-extension-v1.json",
            "version": "1.0.0",
            "extension_types": ["property-extension"],
            "object_marking_refs": [tlp_marking_id(Tlp::Clear)]
        }),
    ];
    out.extend(Tlp::ALL.into_iter().map(tlp_marking_object));
    out
}

/// The identity object of an organisation.
/// The UUID of the STIX id of a sahelwatch object. The STIX 2.1 schema
/// accepts UUID versions 1–5 only and asks for version 4 for domain objects;
/// sahelwatch's ids are UUIDv7, so the STIX id is the uid with its version
/// nibble set to 4. The mapping is reversible ([`uid_of_stix`]), so a STIX id
/// names its row.
pub fn stix_uuid(uid: Uuid) -> Uuid {
    let mut b = *uid.as_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    Uuid::from_bytes(b)
}

/// The sahelwatch uid a STIX id's UUID was made from ([`stix_uuid`]).
pub fn uid_of_stix(id: Uuid) -> Uuid {
    let mut b = *id.as_bytes();
    b[6] = (b[6] & 0x0f) | 0x70;
    Uuid::from_bytes(b)
}

/// The UUID of an incident's STIX id (and its location's): the id it arrived
/// with when it came in by STIX without a dataset key (so a TAXII client
/// finds what it added under the id it sent), else [`stix_uuid`] of its uid.
pub fn incident_stix_uuid(inc: &Incident) -> Uuid {
    let d = &inc.data;
    if d.dataset.as_deref() == Some(STIX_DATASET)
        && let Some(u) = d
            .external_id
            .as_deref()
            .and_then(|e| e.strip_prefix("incident--"))
        && let Ok(u) = Uuid::parse_str(u)
    {
        return u;
    }
    stix_uuid(inc.id)
}

/// The dataset key of incidents that came in by STIX without one; their
/// external id is their STIX id.
pub const STIX_DATASET: &str = "stix";

pub fn org_identity(uid: Uuid, name: &str, created: DateTime<Utc>) -> Value {
    let uid = stix_uuid(uid);
    json!({
        "type": "identity", "spec_version": "2.1", "id": format!("identity--{uid}"),
        "created": ts(created), "modified": ts(created),
        "name": name, "identity_class": "organization",
        "object_marking_refs": [tlp_marking_id(Tlp::Clear)]
    })
}

/// When derived actor objects count as created (they have no history of their own).
const ACTORS_CREATED: &str = "2026-11-21T00:00:00.000Z";

/// The actor object of a name, as named under one TLP. The id depends on the
/// TLP too: an actor named only in RED reports must not reappear as a CLEAR
/// object, and one id must not carry two markings (two objects with the same
/// id and version must be identical).
fn actor_object(name: &str, inter: Option<Inter>, tlp: Tlp) -> (String, Value) {
    let key = format!("{}|{}", sahelwatch_core::text::fold(name), tlp.label());
    let uuid = Uuid::new_v5(&NAMESPACE, key.as_bytes());
    let created = ACTORS_CREATED;
    let marking = tlp_marking_id(tlp);
    let armed = match inter {
        Some(
            Inter::RebelGroups
            | Inter::PoliticalMilitias
            | Inter::IdentityMilitias
            | Inter::ExternalOtherForces,
        ) => true,
        Some(_) => false,
        // UCDP actors have no class: governments are identities, the rest armed groups.
        None => {
            !name.to_lowercase().starts_with("government of")
                && !name.to_lowercase().starts_with("civilians")
        }
    };
    if armed {
        let id = format!("threat-actor--{uuid}");
        let v = json!({
            "type": "threat-actor", "spec_version": "2.1", "id": id,
            "created": created, "modified": created, "name": name,
            "object_marking_refs": [marking]
        });
        (id, v)
    } else {
        let id = format!("identity--{uuid}");
        let class = match inter {
            Some(Inter::Civilians | Inter::Protesters | Inter::Rioters) => "group",
            _ => "organization",
        };
        let v = json!({
            "type": "identity", "spec_version": "2.1", "id": id,
            "created": created, "modified": created, "name": name, "identity_class": class,
            "object_marking_refs": [marking]
        });
        (id, v)
    }
}

fn relationship(
    kind: &str,
    source: &str,
    target: &str,
    created: &str,
    modified: &str,
    marking: &str,
) -> Value {
    let uuid = Uuid::new_v5(&NAMESPACE, format!("{kind}|{source}|{target}").as_bytes());
    json!({
        "type": "relationship", "spec_version": "2.1", "id": format!("relationship--{uuid}"),
        "created": created, "modified": modified,
        "relationship_type": kind, "source_ref": source, "target_ref": target,
        "object_marking_refs": [marking]
    })
}

/// Geo precision as STIX `precision` (metres).
fn precision_m(data: &IncidentData, coarsened: Option<Coarsen>) -> f64 {
    match coarsened {
        Some(Coarsen::Km10) => 10_000.0,
        Some(Coarsen::Admin2) => 50_000.0,
        Some(Coarsen::Admin1) => 200_000.0,
        _ => match data.location.geo_precision.get() {
            1 => 1_000.0,
            2 => 25_000.0,
            _ => 100_000.0,
        },
    }
}

/// The STIX objects of one incident as `viewer` sees it. Shared objects
/// (the owner's identity, actors) are emitted only when `seen` does not hold
/// them yet, so a bundle holds each once.
pub fn incident_objects(
    inc: &Incident,
    owner: &Org,
    viewer: &Viewer,
    seen: &mut HashSet<String>,
) -> Vec<Value> {
    let owner_uid = stix_uuid(owner.uid);
    let mut data = inc.data.clone();
    let m = &inc.marking;
    let coarsened =
        (!viewer.exact_location(m.owner) && m.coarsen != Coarsen::Exact).then_some(m.coarsen);
    if let Some(c) = coarsened {
        coarsen_location(&mut data.location, c, inc.coarse);
        data.original.clear();
    }
    let marking = tlp_marking_id(m.tlp);
    let created = ts(inc.created_at);
    let modified = ts(inc.updated_at);
    let uuid = incident_stix_uuid(inc);
    let incident_id = format!("incident--{uuid}");
    let location_id = format!("location--{uuid}");
    let l = &data.location;
    let where_ = l
        .place
        .clone()
        .or_else(|| l.admin1.clone())
        .unwrap_or_default();
    let name = format!(
        "{} — {}{}{}, {}",
        data.sub_event_type,
        where_,
        if where_.is_empty() { "" } else { ", " },
        l.country,
        data.event_date
    );
    let mut ext = Map::new();
    ext.insert("extension_type".into(), json!("property-extension"));
    ext.insert(
        "incident".into(),
        serde_json::to_value(&data).unwrap_or_default(),
    );
    let mut incident = json!({
        "type": "incident", "spec_version": "2.1", "id": incident_id,
        "created": created, "modified": modified,
        "created_by_ref": format!("identity--{owner_uid}"),
        "name": name,
        "object_marking_refs": [marking],
        "extensions": { EXTENSION_ID.as_str(): Value::Object(ext) }
    });
    if !data.notes.is_empty() {
        incident["description"] = json!(data.notes);
    }
    if let (Some(ds), Some(ext_id)) = (&data.dataset, &data.external_id) {
        incident["external_references"] = json!([{ "source_name": ds, "external_id": ext_id }]);
    }
    let mut location = json!({
        "type": "location", "spec_version": "2.1", "id": location_id,
        "created": created, "modified": modified,
        "created_by_ref": format!("identity--{owner_uid}"),
        "latitude": l.latitude, "longitude": l.longitude,
        "precision": precision_m(&data, coarsened),
        "country": l.country.as_str(),
        "object_marking_refs": [marking]
    });
    if let Some(a) = &l.admin1 {
        location["administrative_area"] = json!(a);
    }
    if let Some(p) = &l.place {
        location["city"] = json!(p);
    }
    let mut out = Vec::new();
    let owner_id = format!("identity--{owner_uid}");
    if !seen.contains(&owner_id) {
        out.push(org_identity(owner.uid, &owner.name, owner.created_at));
        seen.insert(owner_id);
    }
    out.extend([
        incident,
        location,
        relationship(
            "located-at",
            &incident_id,
            &location_id,
            &created,
            &modified,
            marking,
        ),
    ]);
    let a = &data.actors;
    let mut actors: Vec<(&str, Option<Inter>, &str)> = Vec::new();
    if let Some(n) = &a.actor1 {
        actors.push((n, a.inter1, "attributed-to"));
    }
    if let Some(n) = &a.actor2 {
        actors.push((
            n,
            a.inter2,
            if data.civilian_targeting {
                "targets"
            } else {
                "related-to"
            },
        ));
    }
    for n in &a.assoc_actor_1 {
        actors.push((n, a.inter1, "related-to"));
    }
    for n in &a.assoc_actor_2 {
        actors.push((n, a.inter2, "related-to"));
    }
    for (n, inter, kind) in actors {
        let (id, obj) = actor_object(n, inter, m.tlp);
        out.push(relationship(
            kind,
            &incident_id,
            &id,
            &created,
            &modified,
            marking,
        ));
        if seen.insert(id) {
            out.push(obj);
        }
    }
    out
}

/// One problem with an object of an imported bundle.
fn problem(i: usize, id: &str, message: impl Into<String>) -> ParamError {
    ParamError::new(&format!("objects[{i}]"), id, message)
}

/// What importing a bundle did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StixImport {
    pub incidents: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// STIX ids of the incidents read, in bundle order.
    pub ids: Vec<String>,
}

/// Parse the objects of a bundle (or a TAXII envelope) into incidents and
/// their TLP, all or nothing.
pub fn parse_objects(doc: &Value) -> Result<Vec<(String, IncidentData, Tlp)>, AppError> {
    let objects = match doc.get("type").and_then(Value::as_str) {
        Some("bundle") => doc.get("objects"),
        Some(other) => {
            return Err(AppError::bad(
                "type",
                other,
                "expected a STIX bundle (\"type\": \"bundle\") or a TAXII envelope",
            ));
        }
        None => doc.get("objects"),
    };
    let Some(objects) = objects.and_then(Value::as_array) else {
        return Err(AppError::bad(
            "objects",
            "",
            "expected an array of STIX objects",
        ));
    };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let id = o.get("id").and_then(Value::as_str).unwrap_or("");
        let Some(kind) = o.get("type").and_then(Value::as_str) else {
            errors.push(problem(i, id, "has no type"));
            continue;
        };
        let well_formed = id
            .strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix("--"))
            .is_some_and(|u| Uuid::parse_str(u).is_ok());
        if !well_formed {
            errors.push(problem(i, id, format!("the id must be '{kind}--<uuid>'")));
            continue;
        }
        if o.get("spec_version").and_then(Value::as_str) != Some("2.1") {
            errors.push(problem(i, id, "spec_version must be \"2.1\""));
            continue;
        }
        let refs: Vec<&str> = o
            .get("object_marking_refs")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut tlp: Option<Tlp> = None;
        for r in &refs {
            match tlp_of_marking(r) {
                Some(t) => tlp = Some(tlp.map_or(t, |x| x.max(t))),
                None => errors.push(problem(
                    i,
                    id,
                    format!("unknown marking definition '{r}' (only TLP markings are understood)"),
                )),
            }
        }
        if kind == "marking-definition" {
            let is_tlp = tlp_of_marking(id).is_some();
            if !is_tlp {
                errors.push(problem(
                    i,
                    id,
                    "only the TLP marking definitions are accepted",
                ));
            }
            continue;
        }
        if kind != "incident" {
            // Locations, relationships, actors and identities are derived from
            // the incidents' own fields; they carry nothing the model lacks.
            continue;
        }
        let Some(ext) = o
            .get("extensions")
            .and_then(|e| e.get(EXTENSION_ID.as_str()))
        else {
            errors.push(problem(i, id, format!("the incident lacks the sahelwatch extension ({}); its date and type are unknown", *EXTENSION_ID)));
            continue;
        };
        let Some(tlp) = tlp else {
            errors.push(problem(i, id, "has no TLP marking (object_marking_refs)"));
            continue;
        };
        match ext
            .get("incident")
            .map(|v| serde_json::from_value::<IncidentData>(v.clone()))
        {
            Some(Ok(data)) => {
                let bad = data.validate_as_sourced();
                if let Some(e) = bad.first() {
                    errors.push(problem(i, id, format!("{}: {}", e.field, e.message)));
                } else {
                    out.push((id.to_string(), data, tlp));
                }
            }
            Some(Err(e)) => errors.push(problem(
                i,
                id,
                format!("the extension's incident is invalid: {e}"),
            )),
            None => errors.push(problem(i, id, "the extension holds no incident")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AppError::BadRequest(errors))
    }
}

impl App {
    /// Import a STIX bundle (or TAXII envelope) as incidents of the caller's
    /// organisation, all or nothing. Incidents that came from a dataset keep
    /// their dataset key (so a partner's ACLED row meets one's own); others
    /// are keyed by their STIX id. Re-importing the same bundle changes nothing.
    pub async fn import_stix(
        &self,
        by: &Principal,
        doc: &Value,
        source: &str,
    ) -> Result<StixImport, AppError> {
        if !by.role.can_write() {
            return Err(AppError::Forbidden(
                "only analysts and admins may import".into(),
            ));
        }
        self.import_stix_as(by.org, Some(by.user), doc, source)
            .await
    }

    /// [`App::import_stix`] for a local operator (the CLI): incidents of
    /// `owner`, authored by `author` if given.
    pub async fn import_stix_as(
        &self,
        owner: OrgId,
        author: Option<UserId>,
        doc: &Value,
        source: &str,
    ) -> Result<StixImport, AppError> {
        let parsed = parse_objects(doc)?;
        let gaz = self.gazetteer().await?;
        let mut ids = Vec::new();
        // Group by dataset: each group is one upsert key space.
        let mut by_dataset: BTreeMap<String, Vec<sahelwatch_store::ImportRow>> = BTreeMap::new();
        for (stix_id, mut data, tlp) in parsed {
            if data.dataset.is_none() || data.external_id.is_none() {
                data.dataset = Some(STIX_DATASET.into());
                data.external_id = Some(stix_id.clone());
            }
            let marking = Marking {
                author,
                ..Marking::new(owner, tlp)
            };
            let coarse = coarse_position(marking.coarsen, &data.location, &gaz);
            ids.push(stix_id);
            let ds = data.dataset.clone().unwrap_or_default();
            by_dataset
                .entry(ds)
                .or_default()
                .push(sahelwatch_store::ImportRow::new(data, marking, coarse));
        }
        let mut result = StixImport {
            incidents: ids.len() as u64,
            inserted: 0,
            updated: 0,
            unchanged: 0,
            ids,
        };
        for (dataset, rows) in by_dataset {
            let job = sahelwatch_store::ImportJob {
                kind: "stix".into(),
                source: source.to_string(),
                detected: "STIX 2.1".into(),
                dataset,
                marking: Marking {
                    author,
                    ..Marking::new(owner, Tlp::Clear)
                },
                strict: true,
                started_at: Utc::now(),
            };
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            let n = rows.len() as u64;
            let feeder = tokio::spawn(async move {
                if tx
                    .send(sahelwatch_store::ImportMsg::Rows(rows))
                    .await
                    .is_ok()
                {
                    let _ = tx
                        .send(sahelwatch_store::ImportMsg::Finish {
                            commit: true,
                            rows_read: n,
                            refused: Vec::new(),
                        })
                        .await;
                }
            });
            let out = self.store.import_incidents(job, rx).await?;
            let _ = feeder.await;
            result.inserted += out.inserted;
            result.updated += out.updated;
            result.unchanged += out.unchanged;
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stix_ids_are_version_4_and_name_their_uid() {
        for _ in 0..100 {
            let uid = Uuid::now_v7();
            let id = stix_uuid(uid);
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(uid_of_stix(id), uid);
        }
    }

    #[test]
    fn tlp_markings_map_both_ways_and_tlp_1_is_understood() {
        for t in Tlp::ALL {
            assert_eq!(tlp_of_marking(tlp_marking_id(t)), Some(t));
            assert_eq!(tlp_marking_object(t)["name"], format!("TLP:{}", t.label()));
        }
        assert_eq!(
            tlp_of_marking("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            Some(Tlp::Clear)
        );
        assert_eq!(
            tlp_of_marking("marking-definition--00000000-0000-4000-8000-000000000000"),
            None
        );
    }

    #[test]
    fn malformed_bundles_name_every_bad_object() {
        let doc = json!({"type": "bundle", "id": "bundle--6b4a3b1c-9a43-4a5e-8f3f-1b6c9c1a2b3d", "objects": [
            {"type": "incident", "spec_version": "2.1", "id": "incident--not-a-uuid"},
            {"type": "incident", "spec_version": "2.1", "id": "incident--6b4a3b1c-9a43-4a5e-8f3f-1b6c9c1a2b3d",
             "object_marking_refs": ["marking-definition--00000000-0000-4000-8000-000000000000"]},
            {"type": "incident", "spec_version": "2.1", "id": "incident--7b4a3b1c-9a43-4a5e-8f3f-1b6c9c1a2b3d",
             "object_marking_refs": [tlp_marking_id(Tlp::Green)]}
        ]});
        let AppError::BadRequest(errs) = parse_objects(&doc).unwrap_err() else {
            panic!()
        };
        let params: Vec<&str> = errs.iter().map(|e| e.parameter.as_str()).collect();
        assert_eq!(
            params,
            vec!["objects[0]", "objects[1]", "objects[1]", "objects[2]"]
        );
        assert!(errs[1].message.contains("unknown marking definition"));
        assert!(errs[3].message.contains("lacks the sahelwatch extension"));
        assert!(parse_objects(&json!({"type": "report"})).is_err());
        assert!(parse_objects(&json!({"objects": 5})).is_err());
    }
}
