//! Incident listings, counts and aggregates for a viewer.

use crate::query::IncidentQuery;
use crate::views::{GroupView, IncidentPage};
use crate::{App, AppError};
use sahelwatch_core::{Incident, Viewer};
use sahelwatch_query::{Filter, GroupKey, Snapshot};

/// Above this many candidates, a free-text filter scans all notes instead of
/// fetching the candidates' notes by id.
const TEXT_WITHIN_LIMIT: usize = 20_000;

/// Aggregate result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AggregateView {
    pub count: u64,
    pub fatalities: u64,
    pub by: Vec<GroupKey>,
    pub groups: Vec<GroupView>,
}

impl App {
    /// The query's filter with its free-text condition turned into a set of ids.
    pub(crate) async fn effective_filter(
        &self,
        snap: &Snapshot,
        viewer: &Viewer,
        q: &IncidentQuery,
    ) -> Result<Filter, AppError> {
        self.filter_with_text(snap, viewer, &q.filter, q.text.as_deref())
            .await
    }

    /// `filter` narrowed to the incidents whose notes contain `text`.
    async fn filter_with_text(
        &self,
        snap: &Snapshot,
        viewer: &Viewer,
        filter: &Filter,
        text: Option<&str>,
    ) -> Result<Filter, AppError> {
        let mut filter = filter.clone();
        if let Some(text) = text {
            let candidates = snap.ids(&filter, viewer);
            let within = (candidates.len() <= TEXT_WITHIN_LIMIT).then_some(candidates);
            filter.only_ids = Some(self.store.ids_with_text(text, within).await?);
        }
        Ok(filter)
    }

    /// An analytics query with its free-text condition turned into ids.
    pub(crate) async fn with_text<'q>(
        &self,
        snap: &Snapshot,
        viewer: &Viewer,
        q: &'q crate::analytics::AnalyticsQuery,
    ) -> Result<std::borrow::Cow<'q, crate::analytics::AnalyticsQuery>, AppError> {
        let Some(text) = q.text.as_deref() else {
            return Ok(std::borrow::Cow::Borrowed(q));
        };
        let mut out = q.clone();
        out.filter = self
            .filter_with_text(snap, viewer, &q.filter, Some(text))
            .await?;
        Ok(std::borrow::Cow::Owned(out))
    }

    /// Fetch incidents by row id and drop any the viewer may not see. The
    /// index already filtered by visibility; checking again on the rows
    /// actually returned closes the window in which a marking changed
    /// between the index refresh and the fetch.
    pub(crate) async fn fetch_visible(
        &self,
        viewer: &Viewer,
        ids: &[i64],
    ) -> Result<Vec<Incident>, AppError> {
        Ok(self
            .fetch_visible_keyed(viewer, ids)
            .await?
            .into_iter()
            .map(|(_, i)| i)
            .collect())
    }

    /// [`Self::fetch_visible`], with the row id of each incident.
    pub(crate) async fn fetch_visible_keyed(
        &self,
        viewer: &Viewer,
        ids: &[i64],
    ) -> Result<Vec<(i64, Incident)>, AppError> {
        let mut rows = self.store.incidents_by_ids(ids).await?;
        rows.retain(|(_, i)| viewer.can_see(&i.marking));
        Ok(rows)
    }

    /// One page of incidents. Reads of non-CLEAR items are audited under `path`.
    pub async fn search(
        &self,
        viewer: &Viewer,
        q: &IncidentQuery,
        path: &str,
    ) -> Result<IncidentPage, AppError> {
        let snap = self.snapshot().await?;
        let filter = self.effective_filter(&snap, viewer, q).await?;
        let page = snap.search(&filter, viewer, q.sort, q.cursor, q.limit);
        let incidents = self.fetch_visible(viewer, &page.ids).await?;
        self.audit_read(
            viewer,
            "read",
            path,
            incidents.iter().map(|i| (i.id, i.marking.tlp)),
        )
        .await?;
        let items = self.views(viewer, incidents, false).await?;
        // The total counts only what the viewer may see.
        let total = q.count.then(|| snap.aggregate(&filter, viewer, &[]).count);
        Ok(IncidentPage {
            items,
            next_cursor: page.next.map(|c| c.encode()),
            total,
            near_place: q.near_place.clone(),
        })
    }

    /// Count and sum fatalities of matching incidents, grouped by `by`. An
    /// aggregate that counted non-CLEAR items is audited under `path`.
    pub async fn aggregate(
        &self,
        viewer: &Viewer,
        q: &IncidentQuery,
        by: &[GroupKey],
        path: &str,
    ) -> Result<AggregateView, AppError> {
        let snap = self.snapshot().await?;
        let filter = self.effective_filter(&snap, viewer, q).await?;
        let a = snap.aggregate(&filter, viewer, by);
        if a.restricted > 0 {
            self.audit_event(viewer, "aggregate", path, Vec::new())
                .await?;
        }
        Ok(AggregateView {
            count: a.count,
            fatalities: a.fatalities,
            by: by.to_vec(),
            groups: a
                .groups
                .into_iter()
                .map(|g| GroupView {
                    keys: g.keys,
                    count: g.count,
                    fatalities: g.fatalities,
                })
                .collect(),
        })
    }

    /// Every matching row id the viewer may see, oldest first (for exports).
    pub async fn matching_ids(
        &self,
        viewer: &Viewer,
        q: &IncidentQuery,
    ) -> Result<Vec<i64>, AppError> {
        let snap = self.snapshot().await?;
        let filter = self.effective_filter(&snap, viewer, q).await?;
        Ok(snap.ids(&filter, viewer))
    }
}
