//! The in-memory incident index: a columnar projection of every stored
//! incident (date, position, type, country, admin-1, actors, fatalities,
//! owner and marking), sorted by date, that answers the filters of the API
//! and CLI, pages through them with a cursor, counts and groups them.
//!
//! The store is the source of truth; a [`Snapshot`] is a derived, immutable
//! view of it at one change sequence number. Applying the rows that changed
//! since then yields the next snapshot, so a reader never sees a half-applied
//! change and never waits for a writer.
//!
//! Every answer is restricted to what the given [`Viewer`] may see: filtering
//! by visibility happens here, once, for lists, counts and aggregates alike.
//!
//! This crate is pure: no I/O, no clock, no threads.

mod filter;
mod snapshot;

pub use filter::{BBox, Cursor, CursorError, Filter, GroupKey, Near, Sort, Within};
pub use sahelwatch_core::Viewer;
pub use snapshot::{Aggregate, Group, Hit, IndexRow, Page, Snapshot};
