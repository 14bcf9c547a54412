//! PostgreSQL: reports, their links to incidents, kidnap cases and their
//! steps. Writes bump the `reports` counter in the same transaction.

use super::PgStore;
use crate::row::DbMarking;
use crate::{
    CaseRecord, CaseStepRecord, Decision, LinkStatus, ReportLink, ReportRecord, Result, StoreError,
};
use deadpool_postgres::GenericClient;
use sahelwatch_core::report::{CaseDetails, Claims};
use sahelwatch_core::{Marking, UserId};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};

fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} row {id}: {e}"))
}

pub(super) fn recipients(m: &Marking) -> Option<Json<Vec<i64>>> {
    (!m.recipients.is_empty()).then(|| Json(m.recipients.iter().map(|u| u.0).collect()))
}

/// Marking columns starting at `at`: owner, tlp, group, author, recipients.
pub(super) fn marking(r: &Row, id: i64, at: usize) -> Result<Marking> {
    let rec: Option<Json<Vec<i64>>> = r.get(at + 4);
    let (m, _) = DbMarking {
        owner_org: r.get(at),
        tlp: r.get(at + 1),
        sharing_group: r.get(at + 2),
        author_user: r.get(at + 3),
        recipients: rec.map(|j| j.0).unwrap_or_default(),
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
    let id: i64 = r.get(0);
    let claims: Json<Claims> = r.try_get(14).map_err(|e| corrupt("report claims", id, e))?;
    let extraction: Option<Json<serde_json::Value>> = r.get(15);
    let reliability: String = r.get(11);
    let credibility: i16 = r.get(12);
    Ok(ReportRecord {
        id,
        uid: r.get(1),
        marking: marking(r, id, 2)?,
        source: r.get(7),
        title: r.get(8),
        published: r.get(9),
        lang: r.get(10),
        reliability: reliability.parse().map_err(|e| corrupt("report", id, e))?,
        credibility: u8::try_from(credibility)
            .map_err(|e| corrupt("report", id, e))?
            .try_into()
            .map_err(|e| corrupt("report", id, e))?,
        body: r.get(13),
        claims: claims.0,
        extraction: extraction.map(|j| j.0),
        unlocated: r.get(16),
        filed_at: r.get(17),
    })
}

async fn bump(c: &impl GenericClient) -> Result<()> {
    c.execute(
        "UPDATE counters SET value = value + 1 WHERE name = 'reports'",
        &[],
    )
    .await?;
    Ok(())
}

const CASE_COLUMNS: &str = "id, uid, owner_org, tlp, sharing_group, author_user, recipients, \
    incident_id, report_id, abducted_on, details, created_at";

fn read_case(r: &Row) -> Result<CaseRecord> {
    let id: i64 = r.get(0);
    let details: Json<CaseDetails> = r.try_get(10).map_err(|e| corrupt("case", id, e))?;
    Ok(CaseRecord {
        id,
        uid: r.get(1),
        marking: marking(r, id, 2)?,
        incident: r.get(7),
        report: r.get(8),
        abducted_on: r.get(9),
        details: details.0,
        created_at: r.get(11),
    })
}

impl PgStore {
    pub(super) async fn create_report_(&self, rep: &ReportRecord) -> Result<i64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx).await?;
        let m = &rep.marking;
        let row = tx
            .query_one(
                "INSERT INTO reports (uid, owner_org, tlp, sharing_group, author_user, recipients, source, \
                 title, published, lang, reliability, credibility, body, claims, extraction, unlocated, filed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
                &[
                    &rep.uid,
                    &m.owner.0,
                    &m.tlp.label(),
                    &m.sharing_group.map(|g| g.0),
                    &m.author.map(|a| a.0),
                    &recipients(m),
                    &rep.source,
                    &rep.title,
                    &rep.published,
                    &rep.lang,
                    &rep.reliability.label(),
                    &(rep.credibility.get() as i16),
                    &rep.body,
                    &Json(&rep.claims),
                    &rep.extraction.as_ref().map(Json),
                    &rep.unlocated,
                    &rep.filed_at,
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(row.get(0))
    }

    pub(super) async fn reports_where(
        &self,
        condition: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<ReportRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {REPORT_COLUMNS} FROM reports WHERE {condition}"),
                p,
            )
            .await?;
        rows.iter().map(read_report).collect()
    }

    pub(super) async fn decide_(&self, d: Decision) -> Result<Option<i64>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx).await?;
        for l in &d.links {
            tx.execute(
                "INSERT INTO report_links (report_id, incident_id, status, score, decided_by, decided_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (report_id, incident_id) DO UPDATE SET status = excluded.status, \
                 score = excluded.score, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
                &[
                    &l.report,
                    &l.incident,
                    &l.status.label(),
                    &l.score,
                    &l.decided_by.map(|u| u.0),
                    &l.decided_at,
                ],
            )
            .await?;
        }
        let opened = match &d.open_case {
            None => None,
            Some(k) => {
                let m = &k.marking;
                let row = tx
                    .query_one(
                        "INSERT INTO kidnap_cases (uid, owner_org, tlp, sharing_group, author_user, recipients, \
                         incident_id, report_id, abducted_on, details, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                        &[
                            &k.uid,
                            &m.owner.0,
                            &m.tlp.label(),
                            &m.sharing_group.map(|g| g.0),
                            &m.author.map(|a| a.0),
                            &recipients(m),
                            &k.incident,
                            &k.report,
                            &k.abducted_on,
                            &Json(&k.details),
                            &k.created_at,
                        ],
                    )
                    .await
                    .map_err(|e| {
                        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                            StoreError::Conflict("this incident already has a kidnap case".into())
                        } else {
                            StoreError::Postgres(e)
                        }
                    })?;
                Some(row.get::<_, i64>(0))
            }
        };
        for s in &d.steps {
            let case = if s.case == 0 { opened } else { Some(s.case) };
            let case = case.ok_or_else(|| {
                StoreError::Internal("a case step without a case to belong to".into())
            })?;
            tx.execute(
                "INSERT INTO case_steps (case_id, report_id, kind, on_date, note, added_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (case_id, report_id, kind) DO UPDATE SET on_date = excluded.on_date, \
                 note = excluded.note, added_by = excluded.added_by",
                &[
                    &case,
                    &s.report,
                    &s.kind.label(),
                    &s.on_date,
                    &s.note,
                    &s.added_by.map(|u| u.0),
                    &s.created_at,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(opened)
    }

    pub(super) async fn links_(
        &self,
        report: Option<i64>,
        incident: Option<i64>,
    ) -> Result<Vec<ReportLink>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT report_id, incident_id, status, score, decided_by, decided_at FROM report_links \
                 WHERE ($1::bigint IS NULL OR report_id = $1) AND ($2::bigint IS NULL OR incident_id = $2) \
                 ORDER BY report_id, incident_id",
                &[&report, &incident],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ReportLink {
                    report: r.get(0),
                    incident: r.get(1),
                    status: LinkStatus::parse(r.get(2))?,
                    score: r.get(3),
                    decided_by: r.get::<_, Option<i64>>(4).map(UserId),
                    decided_at: r.get(5),
                })
            })
            .collect()
    }

    pub(super) async fn cases_where(
        &self,
        condition: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<CaseRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {CASE_COLUMNS} FROM kidnap_cases WHERE {condition}"),
                p,
            )
            .await?;
        rows.iter().map(read_case).collect()
    }

    pub(super) async fn case_steps_(&self, cases: &[i64]) -> Result<Vec<CaseStepRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, case_id, report_id, kind, on_date, note, added_by, created_at FROM case_steps \
                 WHERE case_id = ANY($1) ORDER BY on_date, id",
                &[&cases],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let kind: String = r.get(3);
                Ok(CaseStepRecord {
                    id,
                    case: r.get(1),
                    report: r.get(2),
                    kind: kind.parse().map_err(|e| corrupt("case step", id, e))?,
                    on_date: r.get(4),
                    note: r.get(5),
                    added_by: r.get::<_, Option<i64>>(6).map(UserId),
                    created_at: r.get(7),
                })
            })
            .collect()
    }
}
