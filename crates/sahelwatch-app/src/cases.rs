//! Kidnap cases: opened by an abduction report, followed by later reports
//! (claimed, proof of life, negotiation, released, rescued, escaped, killed),
//! each step resting on a report.
//!
//! A case carries the marking of the report that opened it. A viewer sees a
//! case they may see, with only the steps whose report they may see; status
//! and days held are computed from those steps, so nothing they may not see
//! shows through.

use crate::admin::require_writer;
use crate::fusion::ReportRef;
use crate::views::OrgRef;
use crate::{App, AppError, ParamError};
use chrono::{DateTime, NaiveDate, Utc};
use sahelwatch_core::fusion::{CaseState, CaseStatus, case_state};
use sahelwatch_core::report::{CaseDetails, CaseStepKind};
use sahelwatch_core::{CountryCode, Principal, SubEventType, Tlp, Viewer};
use sahelwatch_query::BBox;
use sahelwatch_store::{CaseRecord, CaseStepRecord, Decision, ReportRecord};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// Open a case from a report (on an incident, or on its own).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub report: Uuid,
    pub incident: Option<Uuid>,
}

/// A step from a later report. `kind` and `on_date` default to what the
/// report says (its case step; its event date, else its publication date).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStep {
    pub report: Uuid,
    pub kind: Option<CaseStepKind>,
    #[schema(value_type = Option<String>, format = Date)]
    pub on_date: Option<NaiveDate>,
    pub note: Option<String>,
}

/// A step as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub kind: CaseStepKind,
    #[schema(value_type = String, format = Date)]
    pub on_date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub report: ReportRef,
}

/// A case as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseView {
    pub id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<Uuid>,
    #[schema(value_type = String, format = Date)]
    pub abducted_on: NaiveDate,
    #[serde(flatten)]
    pub details: CaseDetails,
    #[serde(flatten)]
    pub state: CaseState,
    /// The report that opened the case.
    pub opened_by: ReportRef,
    pub steps: Vec<StepView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_org: Option<OrgRef>,
    #[schema(value_type = String)]
    pub tlp: Tlp,
    pub created_at: DateTime<Utc>,
}

/// Case listing filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// held, released, rescued, escaped or killed.
    #[param(pattern = "^(held|released|rescued|escaped|killed)$")]
    pub status: Option<String>,
    /// The hostages' nationality: ISO code or country name.
    pub nationality: Option<String>,
    /// Country of the abduction: ISO code or name.
    pub country: Option<String>,
    /// Area of the abduction: `min_lon,min_lat,max_lon,max_lat`.
    pub bbox: Option<String>,
    /// Abducted on or after (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Abducted on or before.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
}

struct CaseFilter {
    status: Option<CaseStatus>,
    nationality: Option<CountryCode>,
    country: Option<CountryCode>,
    bbox: Option<BBox>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl CaseQuery {
    fn resolve(&self) -> Result<CaseFilter, AppError> {
        let mut errors = Vec::new();
        let country = |name: &str, v: &Option<String>, errors: &mut Vec<ParamError>| {
            v.as_deref().and_then(|s| {
                let c = CountryCode::parse(s);
                if c.is_none() {
                    errors.push(ParamError::new(name, s, "is not a country code or name"));
                }
                c
            })
        };
        let nationality = country("nationality", &self.nationality, &mut errors);
        let place_country = country("country", &self.country, &mut errors);
        let status = self.status.as_deref().and_then(|s| {
            s.parse::<CaseStatus>()
                .map_err(|e| errors.push(ParamError::new("status", s, e)))
                .ok()
        });
        let bbox = self.bbox.as_deref().and_then(|s| {
            BBox::parse(s)
                .map_err(|e| errors.push(ParamError::new("bbox", s, e)))
                .ok()
        });
        if let (Some(a), Some(b)) = (self.from, self.to)
            && a > b
        {
            errors.push(ParamError::new("from", &a.to_string(), "is after 'to'"));
        }
        if !errors.is_empty() {
            return Err(AppError::BadRequest(errors));
        }
        Ok(CaseFilter {
            status,
            nationality,
            country: place_country,
            bbox,
            from: self.from,
            to: self.to,
        })
    }
}

impl CaseFilter {
    fn keeps(&self, v: &CaseView) -> bool {
        let d = &v.details;
        self.status.is_none_or(|s| v.state.status == s)
            && self.nationality.is_none_or(|n| {
                d.nationality
                    .as_deref()
                    .and_then(CountryCode::parse)
                    .is_some_and(|x| x == n)
            })
            && self
                .country
                .is_none_or(|c| d.place.as_ref().is_some_and(|p| p.country == Some(c)))
            && self.bbox.is_none_or(|b| {
                d.place.as_ref().is_some_and(|p| {
                    (b.min_lon..=b.max_lon).contains(&p.longitude)
                        && (b.min_lat..=b.max_lat).contains(&p.latitude)
                })
            })
            && self.from.is_none_or(|f| v.abducted_on >= f)
            && self.to.is_none_or(|t| v.abducted_on <= t)
    }
}

fn is_abduction(r: &ReportRecord) -> bool {
    r.claims.case_step == Some(CaseStepKind::Abducted)
        || (r.claims.case_step.is_none()
            && r.claims.sub_event_type == Some(SubEventType::AbductionForcedDisappearance))
}

fn step_date(r: &ReportRecord) -> NaiveDate {
    r.claims.event_date.unwrap_or(r.published)
}

impl App {
    /// What confirming report `r` on an incident does to kidnap cases: open
    /// one for an abduction report on an incident without a case; add the
    /// step a later report tells of to the incident's case, if the caller
    /// may see that case.
    pub(crate) async fn case_effects(
        &self,
        by: &Principal,
        r: &ReportRecord,
        incident_row: Option<i64>,
        d: &mut Decision,
    ) -> Result<(), AppError> {
        let now = sahelwatch_store::now_micros();
        let existing = match incident_row {
            Some(row) => self.store.case_by_incident(row).await?,
            None => None,
        };
        let viewer = Viewer::User(Arc::new(by.clone()));
        match existing {
            Some(case) => {
                if let Some(kind) = r.claims.case_step.filter(|k| *k != CaseStepKind::Abducted)
                    && viewer.can_see(&case.marking)
                {
                    d.steps
                        .push(new_step(case.id, r, kind, step_date(r), None, by, now));
                }
            }
            None if is_abduction(r) => {
                d.open_case = Some(CaseRecord {
                    id: 0,
                    uid: Uuid::now_v7(),
                    marking: r.marking.clone(),
                    incident: incident_row,
                    report: r.id,
                    abducted_on: step_date(r),
                    details: CaseDetails::of(&r.claims),
                    created_at: now,
                });
                d.steps.push(new_step(
                    0,
                    r,
                    CaseStepKind::Abducted,
                    step_date(r),
                    None,
                    by,
                    now,
                ));
            }
            None => {}
        }
        Ok(())
    }

    /// Open a case from a report of the caller's organisation.
    pub async fn open_case(
        &self,
        by: &Arc<Principal>,
        input: OpenCase,
    ) -> Result<CaseView, AppError> {
        require_writer(by, "open kidnap cases")?;
        let viewer = Viewer::User(Arc::clone(by));
        let r = self.visible_report(&viewer, input.report).await?;
        if r.marking.owner != by.org {
            return Err(AppError::Forbidden(
                "a case is opened from a report of your organisation".into(),
            ));
        }
        let row = match input.incident {
            None => None,
            Some(uid) => Some(
                self.incident_with_row(&viewer, uid)
                    .await?
                    .ok_or(AppError::NotFound)?
                    .0,
            ),
        };
        if let Some(row) = row
            && self.store.case_by_incident(row).await?.is_some()
        {
            return Err(AppError::Conflict(
                "this incident already has a kidnap case".into(),
            ));
        }
        let now = sahelwatch_store::now_micros();
        let uid = Uuid::now_v7();
        let d = Decision {
            links: vec![],
            open_case: Some(CaseRecord {
                id: 0,
                uid,
                marking: r.marking.clone(),
                incident: row,
                report: r.id,
                abducted_on: step_date(&r),
                details: CaseDetails::of(&r.claims),
                created_at: now,
            }),
            steps: vec![new_step(
                0,
                &r,
                CaseStepKind::Abducted,
                step_date(&r),
                None,
                by,
                now,
            )],
        };
        self.store.decide(d).await?;
        self.case(&viewer, uid, "").await
    }

    /// Add a step from a report to a case of the caller's organisation.
    pub async fn add_case_step(
        &self,
        by: &Arc<Principal>,
        case: Uuid,
        input: NewStep,
    ) -> Result<CaseView, AppError> {
        let viewer = Viewer::User(Arc::clone(by));
        let c = self.visible_case(&viewer, case).await?;
        require_writer(by, "add case steps")?;
        if c.marking.owner != by.org {
            return Err(AppError::Forbidden(
                "only the organisation that opened a case adds its steps".into(),
            ));
        }
        let r = self.visible_report(&viewer, input.report).await?;
        let kind = input.kind.or(r.claims.case_step).ok_or_else(|| {
            AppError::bad(
                "kind",
                "",
                "the report tells of no case step; give one (claimed, proof_of_life, negotiation, released, rescued, escaped, killed)",
            )
        })?;
        let on = input.on_date.unwrap_or_else(|| step_date(&r));
        if on < c.abducted_on {
            return Err(AppError::bad(
                "on_date",
                &on.to_string(),
                format!("is before the abduction ({})", c.abducted_on),
            ));
        }
        if let Some(n) = &input.note
            && n.chars().count() > 2000
        {
            return Err(AppError::bad(
                "note",
                "",
                "a note is at most 2000 characters",
            ));
        }
        let now = sahelwatch_store::now_micros();
        self.store
            .decide(Decision {
                steps: vec![new_step(c.id, &r, kind, on, input.note, by, now)],
                ..Default::default()
            })
            .await?;
        self.case(&viewer, case, "").await
    }

    async fn visible_case(&self, viewer: &Viewer, id: Uuid) -> Result<CaseRecord, AppError> {
        match self.store.case_by_uid(id).await? {
            Some(c) if viewer.can_see(&c.marking) => Ok(c),
            _ => Err(AppError::NotFound),
        }
    }

    /// One case; audited under `path` (when given) if not CLEAR.
    pub async fn case(&self, viewer: &Viewer, id: Uuid, path: &str) -> Result<CaseView, AppError> {
        let c = self.visible_case(viewer, id).await?;
        if !path.is_empty() {
            self.audit_read(viewer, "read", path, [(c.uid, c.marking.tlp)])
                .await?;
        }
        Ok(self.case_views(viewer, vec![c]).await?.remove(0))
    }

    /// Cases the viewer may see that pass the filters, most recent abduction first.
    pub async fn cases(
        &self,
        viewer: &Viewer,
        q: &CaseQuery,
        path: &str,
    ) -> Result<Vec<CaseView>, AppError> {
        let filter = q.resolve()?;
        let mut visible = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.cases(after, 500).await?;
            let last = page.len() < 500;
            for c in page {
                after = c.id;
                if viewer.can_see(&c.marking) {
                    visible.push(c);
                }
            }
            if last {
                break;
            }
        }
        let mut views = self.case_views(viewer, visible).await?;
        views.retain(|v| filter.keeps(v));
        views.sort_by_key(|v| std::cmp::Reverse(v.abducted_on));
        self.audit_read(viewer, "read", path, views.iter().map(|v| (v.id, v.tlp)))
            .await?;
        Ok(views)
    }

    async fn case_views(
        &self,
        viewer: &Viewer,
        cases: Vec<CaseRecord>,
    ) -> Result<Vec<CaseView>, AppError> {
        let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
        let steps = self.store.case_steps(&ids).await?;
        let mut report_ids: Vec<i64> = steps
            .iter()
            .map(|s| s.report)
            .chain(cases.iter().map(|c| c.report))
            .collect();
        report_ids.sort_unstable();
        report_ids.dedup();
        let reports: HashMap<i64, ReportRecord> = self
            .store
            .reports_by_ids(&report_ids)
            .await?
            .into_iter()
            .filter(|r| viewer.can_see(&r.marking))
            .map(|r| (r.id, r))
            .collect();
        let incident_rows: Vec<i64> = cases.iter().filter_map(|c| c.incident).collect();
        let incidents: HashMap<i64, Uuid> = self
            .fetch_visible_keyed(viewer, &incident_rows)
            .await?
            .into_iter()
            .map(|(row, i)| (row, i.id))
            .collect();
        let mut by_case: HashMap<i64, Vec<StepView>> = HashMap::new();
        for s in steps {
            if let Some(r) = reports.get(&s.report) {
                by_case.entry(s.case).or_default().push(StepView {
                    kind: s.kind,
                    on_date: s.on_date,
                    note: s.note,
                    report: ReportRef::of(r),
                });
            }
        }
        let today = Utc::now().date_naive();
        let mut out = Vec::with_capacity(cases.len());
        for c in cases {
            // The opening report carries the case's own marking: whoever sees
            // the case sees it.
            let Some(opening) = reports.get(&c.report) else {
                continue;
            };
            let steps = by_case.remove(&c.id).unwrap_or_default();
            let dated: Vec<(CaseStepKind, NaiveDate)> =
                steps.iter().map(|s| (s.kind, s.on_date)).collect();
            let org = self.org(c.marking.owner).await?;
            out.push(CaseView {
                id: c.uid,
                incident: c.incident.and_then(|row| incidents.get(&row).copied()),
                abducted_on: c.abducted_on,
                state: case_state(c.abducted_on, &dated, today),
                details: c.details,
                opened_by: ReportRef::of(opening),
                steps,
                owner_org: org.map(|o| OrgRef {
                    id: o.uid,
                    name: o.name,
                }),
                tlp: c.marking.tlp,
                created_at: c.created_at,
            });
        }
        Ok(out)
    }
}

fn new_step(
    case: i64,
    r: &ReportRecord,
    kind: CaseStepKind,
    on_date: NaiveDate,
    note: Option<String>,
    by: &Principal,
    now: DateTime<Utc>,
) -> CaseStepRecord {
    CaseStepRecord {
        id: 0,
        case,
        report: r.id,
        kind,
        on_date,
        note,
        added_by: Some(by.user),
        created_at: now,
    }
}
