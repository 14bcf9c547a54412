//! Area briefs: one document for an area and a period, with counts, change
//! and band, breakdowns, hotspots, the most lethal incidents, kidnappings,
//! the approach toward named places, and charts; as JSON or Markdown.

use super::{AnalyticsQuery, ApproachView, AreaView, Trend};
use crate::cases::CaseQuery;
use crate::{App, AppError};
use chrono::NaiveDate;
use sahelwatch_analytics::change::{Change, Totals, change};
use sahelwatch_analytics::chart::{Chart, ChartKind, Series};
use sahelwatch_analytics::period::{Period, Span};
use sahelwatch_core::{SubEventType, Viewer};
use sahelwatch_query::{GroupKey, Sort};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// How many rows each top list of a brief keeps.
pub const TOP: usize = 10;

/// One line of a breakdown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Share {
    pub name: String,
    pub count: u64,
    pub fatalities: u64,
    /// Share of the brief's incidents, percent, one decimal.
    pub percent: f64,
}

/// A hotspot cell of a brief.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BriefHotspot {
    pub h3: String,
    pub latitude: f64,
    pub longitude: f64,
    pub count: u64,
    pub gi_z: f64,
    pub class: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emerging: Option<serde_json::Value>,
}

/// One of the most lethal incidents.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LethalIncident {
    pub id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub event_date: NaiveDate,
    pub sub_event_type: String,
    pub place: String,
    pub country: String,
    pub actors: String,
    pub fatalities: u32,
}

/// Kidnappings in the area and period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Kidnappings {
    /// Incidents of sub-event type Abduction/forced disappearance.
    pub abduction_incidents: u64,
    /// Kidnap cases whose abduction falls in the period and whose place is in the area.
    pub cases: u64,
    /// Of which still held (as the viewer's reports tell).
    pub held: u64,
    pub hostages: u64,
}

/// The brief.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Brief {
    pub title: String,
    pub area: AreaView,
    pub period: Span,
    /// The period against the span of equal length just before it.
    pub change: Change,
    /// Monthly counts over the period.
    pub trend: Trend,
    pub by_event_type: Vec<Share>,
    pub by_sub_event_type: Vec<Share>,
    pub by_actor: Vec<Share>,
    pub top_hotspots: Vec<BriefHotspot>,
    pub hotspot_resolution: u8,
    pub most_lethal: Vec<LethalIncident>,
    pub kidnappings: Kidnappings,
    pub approach: Vec<ApproachView>,
    pub caption: String,
}

fn shares(groups: Vec<(String, u64, u64)>, total: u64) -> Vec<Share> {
    groups
        .into_iter()
        .map(|(name, count, fatalities)| Share {
            percent: if total == 0 {
                0.0
            } else {
                sahelwatch_analytics::round1(count as f64 / total as f64 * 100.0)
            },
            name,
            count,
            fatalities,
        })
        .collect()
}

impl Trend {
    /// The trend as a chart: incidents and fatalities per period.
    pub fn chart(&self, kind: ChartKind) -> Chart {
        let unit = self.period.name();
        Chart {
            kind,
            title: format!(
                "{} per {unit}, {}",
                self.subject,
                self.area.words.trim_start_matches("in ")
            ),
            categories: self.buckets.iter().map(|b| b.label.clone()).collect(),
            series: vec![
                Series {
                    name: "Incidents".into(),
                    values: self.buckets.iter().map(|b| b.count as f64).collect(),
                },
                Series {
                    name: "Fatalities".into(),
                    values: self.buckets.iter().map(|b| b.fatalities as f64).collect(),
                },
            ],
            y_label: format!("incidents and fatalities per {unit}"),
            x_label: unit.to_string(),
            caption: self.caption.clone(),
        }
    }
}

impl Trend {
    /// The trend as CSV: `period,from,to,count,fatalities`.
    pub fn csv(&self) -> String {
        let mut s = String::from("period,from,to,count,fatalities\n");
        for b in &self.buckets {
            s.push_str(&format!(
                "{},{},{},{},{}\n",
                b.label, b.from, b.to, b.count, b.fatalities
            ));
        }
        s
    }
}

impl Brief {
    /// Incidents by event type, as a bar chart.
    pub fn types_chart(&self) -> Chart {
        Chart {
            kind: ChartKind::Bar,
            title: format!("Incidents by event type, {}", self.period.words()),
            categories: self.by_event_type.iter().map(|s| s.name.clone()).collect(),
            series: vec![Series {
                name: "Incidents".into(),
                values: self.by_event_type.iter().map(|s| s.count as f64).collect(),
            }],
            y_label: "incidents".into(),
            x_label: "ACLED event type".into(),
            caption: self.caption.clone(),
        }
    }

    /// The brief as Markdown with its charts inlined as SVG data URIs (for a
    /// single document: an HTTP answer, standard output).
    pub fn markdown_inline(&self) -> String {
        use base64::Engine;
        let uri = |svg: String| {
            format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(svg)
            )
        };
        let trend = uri(sahelwatch_analytics::chart::svg(
            &self.trend.chart(ChartKind::Line),
        ));
        let types = uri(sahelwatch_analytics::chart::svg(&self.types_chart()));
        self.markdown((&trend, &types))
    }

    /// The brief as Markdown. `charts` are the image references of the trend
    /// chart and the event-type chart (file names, or data URIs).
    pub fn markdown(&self, charts: (&str, &str)) -> String {
        use std::fmt::Write;
        let mut m = String::new();
        let c = &self.change;
        let _ = writeln!(m, "# {}\n", self.title);
        let _ = writeln!(m, "{}\n", self.caption);
        let _ = writeln!(m, "## Summary\n");
        let _ = writeln!(m, "- {}", c.statement);
        let _ = writeln!(
            m,
            "- Incidents: {} ({} fatalities); previous period ({}): {} ({} fatalities).",
            c.current_totals.count,
            c.current_totals.fatalities,
            c.previous.words(),
            c.previous_totals.count,
            c.previous_totals.fatalities
        );
        let _ = writeln!(
            m,
            "- Change: {}; ACLED band: {}.",
            c.percent
                .map_or("not computable (no incidents before)".into(), |p| format!(
                    "{p:+.1}%"
                )),
            c.band.map_or("none", |b| b.words())
        );
        let k = &self.kidnappings;
        let _ = writeln!(
            m,
            "- Kidnappings: {} abduction incidents; {} kidnap cases opened ({} hostages), {} still held.",
            k.abduction_incidents, k.cases, k.hostages, k.held
        );
        for a in &self.approach {
            let _ = writeln!(m, "- {}", a.statement);
        }
        let _ = writeln!(m, "\n## Trend\n\n![{}]({})\n", self.trend.subject, charts.0);
        let _ = writeln!(
            m,
            "| {} | incidents | fatalities |\n|---|---:|---:|",
            self.trend.period.name()
        );
        for b in &self.trend.buckets {
            let _ = writeln!(m, "| {} | {} | {} |", b.label, b.count, b.fatalities);
        }
        let table = |m: &mut String, title: &str, rows: &[Share]| {
            let _ = writeln!(
                m,
                "\n## {title}\n\n| | incidents | share | fatalities |\n|---|---:|---:|---:|"
            );
            for r in rows {
                let _ = writeln!(
                    m,
                    "| {} | {} | {:.1}% | {} |",
                    md(&r.name),
                    r.count,
                    r.percent,
                    r.fatalities
                );
            }
            if rows.is_empty() {
                let _ = writeln!(m, "| (none) | | | |");
            }
        };
        table(&mut m, "By event type", &self.by_event_type);
        let _ = writeln!(m, "\n![Incidents by event type]({})", charts.1);
        table(&mut m, "By sub-event type", &self.by_sub_event_type);
        table(&mut m, &format!("Top {TOP} actors"), &self.by_actor);
        let _ = writeln!(
            m,
            "\n## Hotspots (Getis-Ord Gi*, H3 resolution {}, FDR-corrected)\n\n| cell | centre (lat, lon) | incidents | z | class | emerging |\n|---|---|---:|---:|---|---|",
            self.hotspot_resolution
        );
        for h in &self.top_hotspots {
            let _ = writeln!(
                m,
                "| {} | {:.3}, {:.3} | {} | {:.2} | {} | {} |",
                h.h3,
                h.latitude,
                h.longitude,
                h.count,
                h.gi_z,
                h.class.as_str().unwrap_or(""),
                h.emerging.as_ref().and_then(|e| e.as_str()).unwrap_or("")
            );
        }
        let _ = writeln!(
            m,
            "\n## Most lethal incidents\n\n| date | type | place | actors | fatalities |\n|---|---|---|---|---:|"
        );
        for i in &self.most_lethal {
            let _ = writeln!(
                m,
                "| {} | {} | {}, {} | {} | {} |",
                i.event_date,
                i.sub_event_type,
                md(&i.place),
                i.country,
                md(&i.actors),
                i.fatalities
            );
        }
        if !self.approach.is_empty() {
            let _ = writeln!(m, "\n## Approach toward named places\n");
            for a in &self.approach {
                let _ = writeln!(
                    m,
                    "### {}\n\n{}\n\n| month | events | nearest (km) | median (km) |\n|---|---:|---:|---:|",
                    a.place.name, a.statement
                );
                for mo in &a.approach.months {
                    let km = |v: Option<f64>| v.map_or("".to_string(), |v| format!("{v:.1}"));
                    let _ = writeln!(
                        m,
                        "| {} | {} | {} | {} |",
                        mo.month,
                        mo.count,
                        km(mo.min_km),
                        km(mo.median_km)
                    );
                }
            }
        }
        m
    }
}

/// Text safe inside a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl App {
    /// The brief of an area over `from..=to` (default: the year up to the
    /// latest incident the viewer sees).
    pub async fn brief(
        &self,
        viewer: &Viewer,
        q: &AnalyticsQuery,
        today: NaiveDate,
        path: &str,
    ) -> Result<Brief, AppError> {
        let snap = self.snapshot().await?;
        let q = &*self.with_text(&snap, viewer, q).await?;
        let to = match q.filter.date_to {
            Some(d) => d,
            None => {
                let mut last = None;
                snap.visit(&q.filter, viewer, |h| last = Some(h.event_date));
                last.unwrap_or(today)
            }
        };
        let from = q.filter.date_from.unwrap_or_else(|| {
            to.checked_sub_months(chrono::Months::new(12))
                .and_then(|d| d.succ_opt())
                .unwrap_or(to)
        });
        if from > to {
            return Err(AppError::bad(
                "from",
                &from.to_string(),
                format!("is after to ({to})"),
            ));
        }
        let period =
            Span::between(from, to).map_err(|m| AppError::bad("from", &from.to_string(), m))?;
        let mut q = q.clone();
        q.filter.date_from = Some(from);
        q.filter.date_to = Some(to);
        // The span of equal length just before.
        let days = period.days();
        let prev = Span::between(
            from - chrono::Duration::days(days),
            from - chrono::Duration::days(1),
        )
        .map_err(AppError::Internal)?;
        let mut prev_filter = q.filter.clone();
        prev_filter.date_from = Some(prev.from);
        prev_filter.date_to = Some(prev.to);
        let agg = snap.aggregate(&q.filter, viewer, &[GroupKey::EventType]);
        let prev_agg = snap.aggregate(&prev_filter, viewer, &[]);
        let change = change(
            &q.subject,
            &q.area.words,
            period.clone(),
            Totals {
                count: agg.count,
                fatalities: agg.fatalities,
            },
            prev.clone(),
            Totals {
                count: prev_agg.count,
                fatalities: prev_agg.fatalities,
            },
        );
        let mut by_type: Vec<(String, u64, u64)> = agg
            .groups
            .into_iter()
            .map(|g| (g.keys[0].clone(), g.count, g.fatalities))
            .collect();
        by_type.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let sub = snap.aggregate(&q.filter, viewer, &[GroupKey::SubEventType]);
        let mut by_sub: Vec<(String, u64, u64)> = sub
            .groups
            .into_iter()
            .map(|g| (g.keys[0].clone(), g.count, g.fatalities))
            .collect();
        by_sub.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let by_actor: Vec<(String, u64, u64)> = snap
            .actor_totals(&q.filter, viewer)
            .into_iter()
            .take(TOP)
            .map(|g| (g.keys[0].clone(), g.count, g.fatalities))
            .collect();
        let mut tq = q.clone();
        tq.period = Period::Month;
        let trend = self.trend(viewer, &tq, path).await?;
        let hot = self.hotspots(viewer, &q, path).await?;
        let mut cells: Vec<&serde_json::Value> = hot
            .features
            .iter()
            .filter(|f| f["properties"]["bin"].as_i64().unwrap_or(0) > 0)
            .collect();
        cells.sort_by(|a, b| {
            let z = |f: &serde_json::Value| f["properties"]["gi_z"].as_f64().unwrap_or(0.0);
            z(b).total_cmp(&z(a))
        });
        let top_hotspots = cells
            .into_iter()
            .take(TOP)
            .filter_map(|f| {
                let p = &f["properties"];
                let cell: h3o::CellIndex = p["h3"].as_str()?.parse().ok()?;
                let c = h3o::LatLng::from(cell);
                Some(BriefHotspot {
                    h3: cell.to_string(),
                    latitude: (c.lat() * 1e4).round() / 1e4,
                    longitude: (c.lng() * 1e4).round() / 1e4,
                    count: p["count"].as_u64().unwrap_or(0),
                    gi_z: p["gi_z"].as_f64().unwrap_or(0.0),
                    class: p["class"].clone(),
                    emerging: p.get("emerging").cloned(),
                })
            })
            .collect();
        let page = snap.search(&q.filter, viewer, Sort::FatalitiesDesc, None, TOP);
        let lethal = self.fetch_visible_keyed(viewer, &page.ids).await?;
        let mut most_lethal: Vec<LethalIncident> = Vec::new();
        for id in &page.ids {
            let Some((_, inc)) = lethal.iter().find(|(rid, _)| rid == id) else {
                continue;
            };
            let view = self.views(viewer, vec![inc.clone()], false).await?;
            let Some(v) = view.into_iter().next() else {
                continue;
            };
            let d = &v.data;
            most_lethal.push(LethalIncident {
                id: v.id,
                event_date: d.event_date,
                sub_event_type: d.sub_event_type.label().to_string(),
                place: d
                    .location
                    .place
                    .clone()
                    .or(d.location.admin1.clone())
                    .unwrap_or_default(),
                country: v.country_name.clone(),
                actors: d.actors.names().take(2).collect::<Vec<_>>().join(" / "),
                fatalities: d.fatalities.best,
            });
        }
        self.audit_read(
            viewer,
            "read",
            path,
            lethal.iter().map(|(_, i)| (i.id, i.marking.tlp)),
        )
        .await?;
        let mut abduction = q.filter.clone();
        abduction.event_types.clear();
        abduction.sub_event_types = vec![SubEventType::AbductionForcedDisappearance];
        let abduction_incidents = if q.filter.sub_event_types.is_empty()
            || q.filter
                .sub_event_types
                .contains(&SubEventType::AbductionForcedDisappearance)
        {
            snap.aggregate(&abduction, viewer, &[]).count
        } else {
            0
        };
        let cases = self
            .cases(
                viewer,
                &CaseQuery {
                    from: Some(from),
                    to: Some(to),
                    ..Default::default()
                },
                path,
            )
            .await?;
        let in_area: Vec<_> = cases
            .into_iter()
            .filter(|c| {
                c.details.place.as_ref().is_some_and(|p| match &q.shape {
                    Some(s) => {
                        geo::Intersects::intersects(s, &geo::Point::new(p.longitude, p.latitude))
                    }
                    None => true,
                })
            })
            .collect();
        let kidnappings = Kidnappings {
            abduction_incidents,
            cases: in_area.len() as u64,
            held: in_area
                .iter()
                .filter(|c| c.state.status == sahelwatch_core::fusion::CaseStatus::Held)
                .count() as u64,
            hostages: in_area
                .iter()
                .map(|c| c.details.hostages.unwrap_or(0) as u64)
                .sum(),
        };
        let approach = if q.places.is_empty() {
            Vec::new()
        } else {
            self.approach(viewer, &q, path).await?
        };
        let total = agg.count;
        Ok(Brief {
            title: format!(
                "Security brief: {}, {}",
                q.area.words.trim_start_matches("in "),
                period.words().trim_start_matches("the period ")
            ),
            area: q.area.clone(),
            period,
            change,
            caption: trend.caption.clone(),
            trend,
            by_event_type: shares(by_type, total),
            by_sub_event_type: shares(by_sub, total),
            by_actor: shares(by_actor, total),
            top_hotspots,
            hotspot_resolution: q.resolution,
            most_lethal,
            kidnappings,
            approach,
        })
    }
}
