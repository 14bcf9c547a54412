//! Reports as stored items, and their fusion into incidents:
//! - filing a report (text and/or structured claims, graded, marked);
//! - listing and reading reports the viewer may see;
//! - candidate incidents for a report, scored by type, place and time;
//! - an analyst's decision: confirm, reject, or create a new incident;
//! - what an incident's confirmed reports make of it: corroboration,
//!   credibility, and every version of each attribute they give.
//!
//! Visibility: a report is an item with a marking like an incident. A link
//! is shown only to a viewer who may see both the report and the incident;
//! corroboration and versions count only the reports the viewer may see, so
//! no count reveals a report they may not. Scores against an incident the
//! viewer sees coarsened are computed on the coarsened position.

use crate::admin::require_writer;
use crate::views::{GroupRef, OrgRef};
use crate::{App, AppError, IncidentView, MarkingInput, ParamError};
use chrono::{DateTime, NaiveDate, Utc};
use sahelwatch_core::fusion::{
    self, AttributeVersions, Corroboration, Grade, MIN_CANDIDATE_SCORE, MatchScore,
    SEARCH_SLACK_DAYS,
};
use sahelwatch_core::report::{Claims, Credibility, Reliability};
use sahelwatch_core::{
    Actors, Coarsen, Fatalities, Incident, IncidentData, Location, Marking, OrgId, Precision,
    Principal, Tlp, Viewer,
};
use sahelwatch_query::Near;
use sahelwatch_store::{Decision, LinkStatus, ReportLink, ReportRecord};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// A new report, as a client files it. Give `text`, `claims`, or both:
/// claims given override what is extracted from the text.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    /// The outlet or partner it comes from ("RFI", "Le Faso", "NGO field team").
    pub source: String,
    pub title: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub published: NaiveDate,
    /// `en` or `fr`; detected from the text when absent.
    pub lang: Option<String>,
    #[schema(value_type = String, example = "C")]
    pub reliability: Reliability,
    pub credibility: Credibility,
    pub text: Option<String>,
    /// Structured fields, overriding the extraction.
    pub claims: Option<Claims>,
    /// Owner is the filer's organisation; reports are never coarsened.
    pub marking: MarkingInput,
}

/// A report as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportView {
    pub id: Uuid,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub published: NaiveDate,
    pub lang: String,
    #[schema(value_type = String)]
    pub reliability: Reliability,
    pub credibility: Credibility,
    pub claims: Claims,
    /// No place was found or given.
    pub unlocated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_org: Option<OrgRef>,
    #[schema(value_type = String)]
    pub tlp: Tlp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_group: Option<GroupRef>,
    pub filed_at: DateTime<Utc>,
    /// Detail views: the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Detail views: everything found, with spans and confidences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extraction: Option<serde_json::Value>,
    /// Detail views: decisions on incidents the viewer may see.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<LinkView>>,
}

/// A decision on a report and an incident.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkView {
    pub incident: Uuid,
    #[schema(value_type = String, example = "confirmed")]
    pub status: LinkStatus,
    pub score: f64,
    pub decided_at: DateTime<Utc>,
}

/// A report, briefly (in incidents' and cases' views).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportRef {
    pub id: Uuid,
    pub source: String,
    #[schema(value_type = String, format = Date)]
    pub published: NaiveDate,
    #[schema(value_type = String)]
    pub reliability: Reliability,
    pub credibility: Credibility,
}

impl ReportRef {
    pub(crate) fn of(r: &ReportRecord) -> ReportRef {
        ReportRef {
            id: r.uid,
            source: r.source.clone(),
            published: r.published,
            reliability: r.reliability,
            credibility: r.credibility,
        }
    }
}

/// An incident that a report may tell of.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub incident: IncidentView,
    pub score: MatchScore,
    /// An earlier decision on this pair, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub decision: Option<LinkStatus>,
}

/// A filed report and the incidents it may tell of.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FiledReport {
    pub report: ReportView,
    pub candidates: Vec<Candidate>,
}

/// One page of reports.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportPage {
    pub items: Vec<ReportView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// What an incident's confirmed reports make of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentReports {
    pub incident: Uuid,
    pub corroboration: Corroboration,
    pub reports: Vec<ReportRef>,
    /// Every value given for each attribute, with the reports behind it.
    #[schema(value_type = Vec<Object>)]
    pub versions: Vec<AttributeVersions<ReportRef>>,
}

/// What an analyst decides about a report and a candidate incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Confirm,
    Reject,
}

/// Report listing parameters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Part of the source's name (case and accents ignored).
    pub source: Option<String>,
    /// `true`: only reports with no place; `false`: only located ones.
    pub unlocated: Option<bool>,
    /// Published on or after (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Published on or before.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1..500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// Store pages read while filling one page of visible items.
const SCAN_PAGE: usize = 500;

impl App {
    /// File a report for the caller's organisation, and return it with the
    /// incidents it may tell of.
    pub async fn file_report(
        &self,
        by: &Arc<Principal>,
        input: NewReport,
    ) -> Result<FiledReport, AppError> {
        require_writer(by, "file reports")?;
        check_report(&input)?;
        let marking = self.resolve_marking(by, &input.marking).await?;
        self.file_marked(&Viewer::User(Arc::clone(by)), marking, input)
            .await
    }

    /// File a report from the command line for `org` (the operator at the
    /// machine, who sees every candidate).
    pub async fn file_report_local(
        &self,
        org: OrgId,
        input: NewReport,
    ) -> Result<FiledReport, AppError> {
        check_report(&input)?;
        let marking = Marking::new(org, input.marking.tlp);
        if !input.marking.recipients.is_empty() || input.marking.sharing_group.is_some() {
            return Err(AppError::bad(
                "marking",
                "",
                "from the command line, give a TLP only (groups and recipients through the API)",
            ));
        }
        self.file_marked(&Viewer::Local, marking, input).await
    }

    async fn file_marked(
        &self,
        viewer: &Viewer,
        marking: Marking,
        input: NewReport,
    ) -> Result<FiledReport, AppError> {
        let source = input.source.trim().to_string();
        let (extraction, mut claims, lang) = match &input.text {
            Some(text) => {
                let x = self
                    .extract_text(text.as_bytes(), input.published, input.lang.as_deref())
                    .await?;
                let claims = x.claims();
                let lang = x.lang.code().to_string();
                (
                    Some(serde_json::to_value(&x).map_err(|e| AppError::Internal(e.to_string()))?),
                    claims,
                    lang,
                )
            }
            None => (
                None,
                Claims::default(),
                input.lang.clone().unwrap_or_else(|| "und".into()),
            ),
        };
        if let Some(given) = input.claims {
            claims = claims.overridden_by(given);
        }
        let report = ReportRecord {
            id: 0,
            uid: Uuid::now_v7(),
            marking,
            source,
            title: input
                .title
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            published: input.published,
            lang,
            reliability: input.reliability,
            credibility: input.credibility,
            body: input.text.unwrap_or_default(),
            unlocated: claims.place.is_none(),
            claims,
            extraction,
            filed_at: sahelwatch_store::now_micros(),
        };
        let id = self.store.create_report(&report).await?;
        let report = ReportRecord { id, ..report };
        let candidates = self.candidates_for(viewer, &report).await?;
        let view = self
            .report_views(viewer, vec![report], true)
            .await?
            .remove(0);
        Ok(FiledReport {
            report: view,
            candidates,
        })
    }

    /// A report the viewer may see, by public id (with its row).
    pub(crate) async fn visible_report(
        &self,
        viewer: &Viewer,
        id: Uuid,
    ) -> Result<ReportRecord, AppError> {
        match self.store.report_by_uid(id).await? {
            Some(r) if viewer.can_see(&r.marking) => Ok(r),
            _ => Err(AppError::NotFound),
        }
    }

    /// One report in full; audited when not CLEAR.
    pub async fn report(
        &self,
        viewer: &Viewer,
        id: Uuid,
        path: &str,
    ) -> Result<ReportView, AppError> {
        let r = self.visible_report(viewer, id).await?;
        self.audit_read(viewer, "read", path, [(r.uid, r.marking.tlp)])
            .await?;
        Ok(self.report_views(viewer, vec![r], true).await?.remove(0))
    }

    /// Reports the viewer may see, oldest filed first; audited when not CLEAR.
    pub async fn reports(
        &self,
        viewer: &Viewer,
        q: &ReportQuery,
        path: &str,
    ) -> Result<ReportPage, AppError> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(AppError::bad("limit", &limit.to_string(), "must be 1..500"));
        }
        if q.source.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(AppError::bad(
                "source",
                "",
                "must not be empty (leave it out for every source)",
            ));
        }
        let mut after =
            match &q.cursor {
                None => 0,
                Some(c) => c.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
                    AppError::bad("cursor", c, "is not a cursor from this listing")
                })?,
            };
        let needle = q.source.as_deref().map(sahelwatch_core::text::fold);
        let mut items = Vec::new();
        let mut more = false;
        'scan: loop {
            let page = self.store.reports(after, SCAN_PAGE).await?;
            let last = page.len() < SCAN_PAGE;
            for r in page {
                after = r.id;
                let keep = viewer.can_see(&r.marking)
                    && needle
                        .as_ref()
                        .is_none_or(|n| sahelwatch_core::text::fold(&r.source).contains(n))
                    && q.unlocated.is_none_or(|u| r.unlocated == u)
                    && q.from.is_none_or(|d| r.published >= d)
                    && q.to.is_none_or(|d| r.published <= d);
                if keep {
                    if items.len() == limit {
                        more = true;
                        break 'scan;
                    }
                    items.push(r);
                }
            }
            if last {
                break;
            }
        }
        let next_cursor = more
            .then(|| items.last().map(|r| r.id.to_string()))
            .flatten();
        self.audit_read(
            viewer,
            "read",
            path,
            items.iter().map(|r| (r.uid, r.marking.tlp)),
        )
        .await?;
        Ok(ReportPage {
            items: self.report_views(viewer, items, false).await?,
            next_cursor,
        })
    }

    async fn report_views(
        &self,
        viewer: &Viewer,
        reports: Vec<ReportRecord>,
        detail: bool,
    ) -> Result<Vec<ReportView>, AppError> {
        let groups = self.group_names().await?;
        let mut out = Vec::with_capacity(reports.len());
        for r in reports {
            let org = self.org(r.marking.owner).await?;
            let links = if detail {
                let links = self.store.links(Some(r.id), None).await?;
                let ids: Vec<i64> = links.iter().map(|l| l.incident).collect();
                let visible: HashMap<i64, Uuid> = self
                    .fetch_visible_keyed(viewer, &ids)
                    .await?
                    .into_iter()
                    .map(|(row, i)| (row, i.id))
                    .collect();
                Some(
                    links
                        .into_iter()
                        .filter_map(|l| {
                            visible.get(&l.incident).map(|uid| LinkView {
                                incident: *uid,
                                status: l.status,
                                score: l.score,
                                decided_at: l.decided_at,
                            })
                        })
                        .collect(),
                )
            } else {
                None
            };
            let m = &r.marking;
            out.push(ReportView {
                id: r.uid,
                source: r.source,
                title: r.title,
                published: r.published,
                lang: r.lang,
                reliability: r.reliability,
                credibility: r.credibility,
                claims: r.claims,
                unlocated: r.unlocated,
                owner_org: org.map(|o| OrgRef {
                    id: o.uid,
                    name: o.name,
                }),
                tlp: m.tlp,
                sharing_group: (m.tlp == Tlp::Amber)
                    .then(|| m.sharing_group.and_then(|g| groups.get(&g).cloned()))
                    .flatten(),
                filed_at: r.filed_at,
                text: detail.then_some(r.body),
                extraction: if detail { r.extraction } else { None },
                links,
            });
        }
        Ok(out)
    }

    /// Incidents a report may tell of, best first (at most 10), scored as the
    /// viewer sees them.
    pub async fn candidates(
        &self,
        viewer: &Viewer,
        report: Uuid,
        path: &str,
    ) -> Result<Vec<Candidate>, AppError> {
        let r = self.visible_report(viewer, report).await?;
        let out = self.candidates_for(viewer, &r).await?;
        self.audit_read(
            viewer,
            "read",
            path,
            std::iter::once((r.uid, r.marking.tlp))
                .chain(out.iter().map(|c| (c.incident.id, c.incident.tlp))),
        )
        .await?;
        Ok(out)
    }

    async fn candidates_for(
        &self,
        viewer: &Viewer,
        r: &ReportRecord,
    ) -> Result<Vec<Candidate>, AppError> {
        let (from, to) = fusion::report_window(&r.claims, r.published);
        let mut filter = sahelwatch_query::Filter {
            // Incidents of coarse time precision may start up to 15 days earlier.
            date_from: Some(from - chrono::Duration::days(SEARCH_SLACK_DAYS + 15)),
            date_to: Some(to + chrono::Duration::days(SEARCH_SLACK_DAYS + 15)),
            ..Default::default()
        };
        if let Some(p) = &r.claims.place {
            // Beyond three combined uncertainties the place factor is ~0.
            let radius = 3.0 * p.uncertainty_km.hypot(75.0);
            filter.near = Near::new(p.latitude, p.longitude, radius).ok();
        }
        let snap = self.snapshot().await?;
        let ids = snap.ids(&filter, viewer);
        let rows = self.fetch_visible_keyed(viewer, &ids).await?;
        let decisions: HashMap<i64, LinkStatus> = self
            .store
            .links(Some(r.id), None)
            .await?
            .into_iter()
            .map(|l| (l.incident, l.status))
            .collect();
        let decided: HashMap<Uuid, LinkStatus> = rows
            .iter()
            .filter_map(|(row, i)| decisions.get(row).map(|s| (i.id, *s)))
            .collect();
        let views = self
            .views(viewer, rows.into_iter().map(|(_, i)| i).collect(), false)
            .await?;
        let mut out: Vec<Candidate> = views
            .into_iter()
            .map(|v| Candidate {
                score: fusion::score(&r.claims, r.published, &v.data),
                decision: decided.get(&v.id).copied(),
                incident: v,
            })
            .filter(|c| c.score.score >= MIN_CANDIDATE_SCORE || c.decision.is_some())
            .collect();
        out.sort_by(|a, b| b.score.score.total_cmp(&a.score.score));
        out.truncate(10);
        Ok(out)
    }

    /// Confirm or reject that a report tells of an incident. The caller's
    /// organisation must own the report; both must be visible to them.
    /// Confirming an abduction report opens a kidnap case on the incident
    /// (if it has none); confirming a later report on an incident with a case
    /// adds the step it tells of.
    pub async fn decide(
        &self,
        by: &Arc<Principal>,
        report: Uuid,
        incident: Uuid,
        verdict: Verdict,
    ) -> Result<LinkView, AppError> {
        let viewer = Viewer::User(Arc::clone(by));
        let r = self.visible_report(&viewer, report).await?;
        let (row, inc) = self
            .incident_with_row(&viewer, incident)
            .await?
            .ok_or(AppError::NotFound)?;
        self.require_report_owner(by, &r)?;
        let view = self.views(&viewer, vec![inc], false).await?.remove(0);
        let score = fusion::score(&r.claims, r.published, &view.data).score;
        self.write_decision(by, &r, row, verdict, score).await?;
        Ok(LinkView {
            incident,
            status: match verdict {
                Verdict::Confirm => LinkStatus::Confirmed,
                Verdict::Reject => LinkStatus::Rejected,
            },
            score,
            decided_at: sahelwatch_store::now_micros(),
        })
    }

    fn require_report_owner(&self, by: &Principal, r: &ReportRecord) -> Result<(), AppError> {
        require_writer(by, "decide on reports")?;
        if r.marking.owner != by.org {
            return Err(AppError::Forbidden(
                "only the organisation that filed a report decides what it tells of".into(),
            ));
        }
        Ok(())
    }

    async fn write_decision(
        &self,
        by: &Principal,
        r: &ReportRecord,
        incident_row: i64,
        verdict: Verdict,
        score: f64,
    ) -> Result<(), AppError> {
        let now = sahelwatch_store::now_micros();
        let mut decision = Decision {
            links: vec![ReportLink {
                report: r.id,
                incident: incident_row,
                status: match verdict {
                    Verdict::Confirm => LinkStatus::Confirmed,
                    Verdict::Reject => LinkStatus::Rejected,
                },
                score,
                decided_by: Some(by.user),
                decided_at: now,
            }],
            ..Default::default()
        };
        if verdict == Verdict::Confirm {
            self.case_effects(by, r, Some(incident_row), &mut decision)
                .await?;
        }
        self.store.decide(decision).await?;
        Ok(())
    }

    /// Create a new incident from a report (with `claims` filling what the
    /// report lacks), owned and marked by the caller, and confirm the report
    /// on it. What is still missing is refused by name.
    pub async fn incident_from_report(
        &self,
        by: &Arc<Principal>,
        report: Uuid,
        fill: Option<Claims>,
        marking: &MarkingInput,
    ) -> Result<Incident, AppError> {
        let viewer = Viewer::User(Arc::clone(by));
        let r = self.visible_report(&viewer, report).await?;
        self.require_report_owner(by, &r)?;
        let claims = match fill {
            Some(f) => r.claims.clone().overridden_by(f),
            None => r.claims.clone(),
        };
        let data = incident_data(&r, &claims)?;
        let inc = self.create_incident(by, data, marking).await?;
        let (row, _) = self
            .store
            .incident_by_uid(inc.id)
            .await?
            .ok_or(AppError::NotFound)?;
        if let Err(e) = self
            .write_decision(by, &r, row, Verdict::Confirm, 1.0)
            .await
        {
            // Nothing half-done: the incident goes if its link cannot be written.
            self.store.delete_incident(row).await?;
            return Err(e);
        }
        Ok(inc)
    }

    /// What the incident's confirmed reports, among those the viewer may see,
    /// make of it.
    pub async fn incident_reports(
        &self,
        viewer: &Viewer,
        incident: Uuid,
        path: &str,
    ) -> Result<IncidentReports, AppError> {
        let (row, inc) = self
            .incident_with_row(viewer, incident)
            .await?
            .ok_or(AppError::NotFound)?;
        let confirmed: Vec<i64> = self
            .store
            .links(None, Some(row))
            .await?
            .into_iter()
            .filter(|l| l.status == LinkStatus::Confirmed)
            .map(|l| l.report)
            .collect();
        let mut reports = self.store.reports_by_ids(&confirmed).await?;
        reports.retain(|r| viewer.can_see(&r.marking));
        reports.sort_by_key(|r| (r.published, r.id));
        self.audit_read(
            viewer,
            "read",
            path,
            std::iter::once((inc.id, inc.marking.tlp))
                .chain(reports.iter().map(|r| (r.uid, r.marking.tlp))),
        )
        .await?;
        let grades: Vec<Grade> = reports
            .iter()
            .map(|r| Grade {
                source: r.source.clone(),
                reliability: r.reliability,
                credibility: r.credibility,
            })
            .collect();
        let refs: Vec<ReportRef> = reports.iter().map(ReportRef::of).collect();
        let claims: Vec<(ReportRef, &Claims)> = reports
            .iter()
            .zip(&refs)
            .map(|(r, rf)| (rf.clone(), &r.claims))
            .collect();
        Ok(IncidentReports {
            incident,
            corroboration: fusion::corroboration(&grades),
            versions: fusion::versions(&inc.data, &claims),
            reports: refs,
        })
    }
}

/// What can be checked of a new report before anything is read or written.
fn check_report(input: &NewReport) -> Result<(), AppError> {
    let mut errors = Vec::new();
    let source = input.source.trim();
    if source.is_empty() || source.chars().count() > 200 {
        errors.push(ParamError::new(
            "source",
            source,
            "a source is 1 to 200 characters",
        ));
    }
    if input.text.is_none() && input.claims.is_none() {
        errors.push(ParamError::new(
            "text",
            "",
            "give the report's text, its structured claims, or both",
        ));
    }
    if input.marking.coarsen != Coarsen::Exact {
        errors.push(ParamError::new(
            "marking.coarsen",
            input.marking.coarsen.label(),
            "reports are not coarsened (their text names the place); use exact",
        ));
    }
    if let Some(t) = &input.title
        && t.chars().count() > 500
    {
        errors.push(ParamError::new(
            "title",
            "",
            "a title is at most 500 characters",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::BadRequest(errors))
    }
}

/// An incident from a report's claims; the missing fields are named.
fn incident_data(r: &ReportRecord, c: &Claims) -> Result<IncidentData, AppError> {
    let mut missing = Vec::new();
    if c.event_date.is_none() {
        missing.push(ParamError::new(
            "claims.event_date",
            "",
            "the report gives no date; give one",
        ));
    }
    if c.sub_event_type.is_none() {
        missing.push(ParamError::new(
            "claims.sub_event_type",
            "",
            "the report gives no event type; give one",
        ));
    }
    match &c.place {
        None => missing.push(ParamError::new(
            "claims.place",
            "",
            "the report is unlocated; give a place",
        )),
        Some(p) if p.country.is_none() => missing.push(ParamError::new(
            "claims.place.country",
            &p.name,
            "the place has no country; give one",
        )),
        Some(_) => {}
    }
    let (Some(date), Some(sub), Some(place), true) = (
        c.event_date,
        c.sub_event_type,
        c.place.as_ref(),
        missing.is_empty(),
    ) else {
        return Err(AppError::BadRequest(missing));
    };
    let (a, b) = c.window().unwrap_or((date, date));
    let days = (b - a).num_days();
    let time_precision = if days == 0 {
        Precision::EXACT
    } else if days <= 7 {
        Precision::NEAR
    } else {
        Precision::COARSE
    };
    let geo_precision = if place.uncertainty_km <= 5.0 {
        Precision::EXACT
    } else if place.uncertainty_km <= 25.0 {
        Precision::NEAR
    } else {
        Precision::COARSE
    };
    let notes: String = match &r.title {
        Some(t) => t.clone(),
        None => r.body.chars().take(1000).collect(),
    };
    Ok(IncidentData {
        dataset: None,
        external_id: None,
        event_date: date,
        event_date_end: None,
        time_precision,
        sub_event_type: sub,
        disorder_type: None,
        actors: Actors {
            actor1: c.perpetrator.clone(),
            ..Default::default()
        },
        civilian_targeting: false,
        location: Location {
            country: place.country.ok_or(AppError::NotFound)?,
            region: None,
            admin1: place.admin1.clone(),
            admin2: None,
            admin3: None,
            place: Some(place.name.clone()),
            latitude: sahelwatch_core::incident::round_coord(place.latitude),
            longitude: sahelwatch_core::incident::round_coord(place.longitude),
            geo_precision,
        },
        fatalities: Fatalities {
            best: c.fatalities.unwrap_or(0),
            ..Default::default()
        },
        notes,
        sources: vec![r.source.clone()],
        source_scale: None,
        tags: vec![],
        source_timestamp: None,
        original: Default::default(),
    })
}
