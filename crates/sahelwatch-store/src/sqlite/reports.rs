//! SQLite: reports, their links to incidents, kidnap cases and their steps.
//! Writes bump the `reports` counter in the same immediate transaction.

use super::bump;
use crate::row::{DbMarking, date_parse, ids_from_json, ids_json, ts_parse, ts_text};
use crate::{
    CaseRecord, CaseStepRecord, Decision, LinkStatus, ReportLink, ReportRecord, Result, StoreError,
};
use rusqlite::{Connection, Row, TransactionBehavior, params};
use sahelwatch_core::{Marking, UserId};
use uuid::Uuid;

fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} row {id}: {e}"))
}

fn uuid(id: i64, bytes: Vec<u8>) -> Result<Uuid> {
    Uuid::from_slice(&bytes).map_err(|e| corrupt("uid of", id, e))
}

/// Marking columns starting at `at`: owner, tlp, group, author, recipients.
pub(super) fn marking(r: &Row, id: i64, at: usize) -> Result<Marking> {
    let (m, _) = DbMarking {
        owner_org: r.get(at)?,
        tlp: r.get(at + 1)?,
        sharing_group: r.get(at + 2)?,
        author_user: r.get(at + 3)?,
        recipients: ids_from_json(id, r.get(at + 4)?)?,
        coarsen: "exact".into(),
        coarse_latitude: None,
        coarse_longitude: None,
    }
    .decode(id, (0.0, 0.0))?;
    Ok(m)
}

const REPORT_COLUMNS: &str = "id, uid, owner_org, tlp, sharing_group, author_user, recipients, \
    source, title, published, lang, reliability, credibility, body, claims, extraction, unlocated, filed_at";

fn read_report(r: &Row) -> Result<ReportRecord> {
    let id: i64 = r.get(0)?;
    let claims: String = r.get(14)?;
    let extraction: Option<String> = r.get(15)?;
    let reliability: String = r.get(11)?;
    let credibility: u8 = r.get(12)?;
    Ok(ReportRecord {
        id,
        uid: uuid(id, r.get(1)?)?,
        marking: marking(r, id, 2)?,
        source: r.get(7)?,
        title: r.get(8)?,
        published: date_parse(&r.get::<_, String>(9)?)?,
        lang: r.get(10)?,
        reliability: reliability.parse().map_err(|e| corrupt("report", id, e))?,
        credibility: credibility
            .try_into()
            .map_err(|e| corrupt("report", id, e))?,
        body: r.get(13)?,
        claims: serde_json::from_str(&claims).map_err(|e| corrupt("report claims", id, e))?,
        extraction: extraction
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| corrupt("report extraction", id, e))?,
        unlocated: r.get(16)?,
        filed_at: ts_parse(&r.get::<_, String>(17)?)?,
    })
}

pub fn create_report(c: &mut Connection, rep: &ReportRecord) -> Result<i64> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "reports")?;
    let m = &rep.marking;
    tx.execute(
        "INSERT INTO reports (uid, owner_org, tlp, sharing_group, author_user, recipients, source, \
         title, published, lang, reliability, credibility, body, claims, extraction, unlocated, filed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            &rep.uid.as_bytes()[..],
            m.owner.0,
            m.tlp.label(),
            m.sharing_group.map(|g| g.0),
            m.author.map(|a| a.0),
            ids_json(&m.recipients),
            rep.source,
            rep.title,
            rep.published.to_string(),
            rep.lang,
            rep.reliability.label(),
            rep.credibility.get(),
            rep.body,
            serde_json::to_string(&rep.claims).map_err(|e| StoreError::Internal(e.to_string()))?,
            rep.extraction.as_ref().map(|v| v.to_string()),
            rep.unlocated,
            ts_text(rep.filed_at),
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(id)
}

pub fn reports_where(
    c: &mut Connection,
    condition: &str,
    p: &[&dyn rusqlite::ToSql],
) -> Result<Vec<ReportRecord>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {REPORT_COLUMNS} FROM reports WHERE {condition}"
    ))?;
    let mut rows = st.query(p)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_report(r)?);
    }
    Ok(out)
}

pub fn reports_by_ids(c: &mut Connection, ids: &[i64]) -> Result<Vec<ReportRecord>> {
    let json = serde_json::to_string(ids).unwrap_or_default();
    reports_where(
        c,
        "id IN (SELECT value FROM json_each(?1)) ORDER BY id",
        &[&json],
    )
}

fn case_step_params(tx: &rusqlite::Transaction, case: i64, s: &CaseStepRecord) -> Result<()> {
    tx.execute(
        "INSERT INTO case_steps (case_id, report_id, kind, on_date, note, added_by, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (case_id, report_id, kind) DO UPDATE SET on_date = excluded.on_date, \
         note = excluded.note, added_by = excluded.added_by",
        params![
            case,
            s.report,
            s.kind.label(),
            s.on_date.to_string(),
            s.note,
            s.added_by.map(|u| u.0),
            ts_text(s.created_at),
        ],
    )?;
    Ok(())
}

pub fn decide(c: &mut Connection, d: Decision) -> Result<Option<i64>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "reports")?;
    for l in &d.links {
        tx.execute(
            "INSERT INTO report_links (report_id, incident_id, status, score, decided_by, decided_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (report_id, incident_id) DO UPDATE SET status = excluded.status, \
             score = excluded.score, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
            params![
                l.report,
                l.incident,
                l.status.label(),
                l.score,
                l.decided_by.map(|u| u.0),
                ts_text(l.decided_at)
            ],
        )?;
    }
    let opened = match &d.open_case {
        None => None,
        Some(k) => {
            let m = &k.marking;
            tx.execute(
                "INSERT INTO kidnap_cases (uid, owner_org, tlp, sharing_group, author_user, recipients, \
                 incident_id, report_id, abducted_on, details, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    &k.uid.as_bytes()[..],
                    m.owner.0,
                    m.tlp.label(),
                    m.sharing_group.map(|g| g.0),
                    m.author.map(|a| a.0),
                    ids_json(&m.recipients),
                    k.incident,
                    k.report,
                    k.abducted_on.to_string(),
                    serde_json::to_string(&k.details)
                        .map_err(|e| StoreError::Internal(e.to_string()))?,
                    ts_text(k.created_at),
                ],
            )
            .map_err(|e| match &e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Conflict("this incident already has a kidnap case".into())
                }
                _ => StoreError::Sqlite(e),
            })?;
            Some(tx.last_insert_rowid())
        }
    };
    for s in &d.steps {
        let case = if s.case == 0 { opened } else { Some(s.case) };
        let case = case.ok_or_else(|| {
            StoreError::Internal("a case step without a case to belong to".into())
        })?;
        case_step_params(&tx, case, s)?;
    }
    tx.commit()?;
    Ok(opened)
}

pub fn links(
    c: &mut Connection,
    report: Option<i64>,
    incident: Option<i64>,
) -> Result<Vec<ReportLink>> {
    let mut st = c.prepare_cached(
        "SELECT report_id, incident_id, status, score, decided_by, decided_at FROM report_links \
         WHERE (?1 IS NULL OR report_id = ?1) AND (?2 IS NULL OR incident_id = ?2) \
         ORDER BY report_id, incident_id",
    )?;
    let mut rows = st.query(params![report, incident])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(ReportLink {
            report: r.get(0)?,
            incident: r.get(1)?,
            status: LinkStatus::parse(&r.get::<_, String>(2)?)?,
            score: r.get(3)?,
            decided_by: r.get::<_, Option<i64>>(4)?.map(UserId),
            decided_at: ts_parse(&r.get::<_, String>(5)?)?,
        });
    }
    Ok(out)
}

const CASE_COLUMNS: &str = "id, uid, owner_org, tlp, sharing_group, author_user, recipients, \
    incident_id, report_id, abducted_on, details, created_at";

pub fn cases_where(
    c: &mut Connection,
    condition: &str,
    p: &[&dyn rusqlite::ToSql],
) -> Result<Vec<CaseRecord>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {CASE_COLUMNS} FROM kidnap_cases WHERE {condition}"
    ))?;
    let mut rows = st.query(p)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let details: String = r.get(10)?;
        out.push(CaseRecord {
            id,
            uid: uuid(id, r.get(1)?)?,
            marking: marking(r, id, 2)?,
            incident: r.get(7)?,
            report: r.get(8)?,
            abducted_on: date_parse(&r.get::<_, String>(9)?)?,
            details: serde_json::from_str(&details).map_err(|e| corrupt("case", id, e))?,
            created_at: ts_parse(&r.get::<_, String>(11)?)?,
        });
    }
    Ok(out)
}

pub fn case_one(
    c: &mut Connection,
    condition: &str,
    p: &[&dyn rusqlite::ToSql],
) -> Result<Option<CaseRecord>> {
    Ok(cases_where(c, condition, p)?.pop())
}

pub fn case_steps(c: &mut Connection, cases: &[i64]) -> Result<Vec<CaseStepRecord>> {
    let json = serde_json::to_string(cases).unwrap_or_default();
    let mut st = c.prepare_cached(
        "SELECT id, case_id, report_id, kind, on_date, note, added_by, created_at FROM case_steps \
         WHERE case_id IN (SELECT value FROM json_each(?1)) ORDER BY on_date, id",
    )?;
    let mut rows = st.query([json])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let kind: String = r.get(3)?;
        out.push(CaseStepRecord {
            id,
            case: r.get(1)?,
            report: r.get(2)?,
            kind: kind.parse().map_err(|e| corrupt("case step", id, e))?,
            on_date: date_parse(&r.get::<_, String>(4)?)?,
            note: r.get(5)?,
            added_by: r.get::<_, Option<i64>>(6)?.map(UserId),
            created_at: ts_parse(&r.get::<_, String>(7)?)?,
        });
    }
    Ok(out)
}
