//! The live stream: new and changed incidents, in the order they were
//! written, filtered per subscriber by the same visibility rules and query
//! filters as every other read.
//!
//! A subscriber holds a position (update time, row id) in the feed order of
//! the index ([`sahelwatch_query::Snapshot::changed_after`]) and asks for
//! what comes after it whenever the index moves. Positions are the event ids,
//! so a client that reconnects with `Last-Event-ID` resumes where it stopped.
//! Deletions, and items that stop being visible, produce no event: to the
//! subscriber they are indistinguishable from items it never saw.

use crate::query::IncidentQuery;
use crate::views::IncidentView;
use crate::{App, AppError};
use sahelwatch_core::Viewer;
use std::collections::HashMap;

/// Most incidents sent per batch.
pub const STREAM_BATCH: usize = 500;

/// A position in the stream (the last event seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamPosition(i64, i64);

impl StreamPosition {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.0, self.1)
    }

    pub fn decode(s: &str) -> Result<StreamPosition, AppError> {
        let bad = || AppError::bad("Last-Event-ID", s, "not an event id of this stream");
        let (a, b) = s.split_once('.').ok_or_else(bad)?;
        Ok(StreamPosition(
            a.parse().map_err(|_| bad())?,
            b.parse().map_err(|_| bad())?,
        ))
    }
}

impl App {
    /// The position of "now": every write committed later comes after it.
    pub async fn stream_now(&self) -> Result<StreamPosition, AppError> {
        let (t, id) = self.snapshot().await?.last_change();
        Ok(StreamPosition(t, id))
    }

    /// A receiver that changes whenever this instance's index moves (writes
    /// by other processes show up at the next [`App::snapshot`] call).
    pub fn index_updates(&self) -> tokio::sync::watch::Receiver<i64> {
        self.index_updates.subscribe()
    }

    /// The incidents written after `after` that match `q` and that `viewer`
    /// may see, at most [`STREAM_BATCH`], each with its position. Reads of
    /// non-CLEAR items are audited under `path`.
    pub async fn stream_after(
        &self,
        viewer: &Viewer,
        q: &IncidentQuery,
        after: StreamPosition,
        path: &str,
    ) -> Result<StreamBatch, AppError> {
        let snap = self.snapshot().await?;
        let filter = self.effective_filter(&snap, viewer, q).await?;
        let keys = snap.changed_after(&filter, viewer, (after.0, after.1), STREAM_BATCH);
        let Some(&(t, id)) = keys.last() else {
            return Ok(StreamBatch {
                events: Vec::new(),
                position: after,
                more: false,
            });
        };
        let rows: Vec<i64> = keys.iter().map(|k| k.1).collect();
        let fetched = self.fetch_visible_keyed(viewer, &rows).await?;
        self.audit_read(
            viewer,
            "stream",
            path,
            fetched.iter().map(|(_, i)| (i.id, i.marking.tlp)),
        )
        .await?;
        let positions: HashMap<i64, StreamPosition> = keys
            .iter()
            .map(|k| (k.1, StreamPosition(k.0, k.1)))
            .collect();
        let order: Vec<StreamPosition> = fetched.iter().map(|(row, _)| positions[row]).collect();
        let views = self
            .views(viewer, fetched.into_iter().map(|(_, i)| i).collect(), false)
            .await?;
        Ok(StreamBatch {
            events: order.into_iter().zip(views).collect(),
            // Past the last row looked at, even if it vanished before the fetch.
            position: StreamPosition(t, id),
            more: keys.len() == STREAM_BATCH,
        })
    }
}

/// What [`App::stream_after`] found.
#[derive(Debug)]
pub struct StreamBatch {
    /// Incidents in feed order, each with its position (its event id).
    pub events: Vec<(StreamPosition, IncidentView)>,
    /// Where the next call starts.
    pub position: StreamPosition,
    /// More may follow at once.
    pub more: bool,
}
