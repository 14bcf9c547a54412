//! Domain types and pure logic of sahelwatch: incidents in the ACLED
//! vocabulary, TLP 2.0 markings, countries and the GeoNames gazetteer.
//!
//! This crate never does I/O: no files, no network, no database, no clock.
//! Reference tables it needs (GeoNames country and admin-1 codes, CC BY 4.0)
//! are compiled in.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod coarsen;
pub mod country;
pub mod fusion;
pub mod incident;
pub mod place;
pub mod report;
pub mod taxonomy;
pub mod text;
pub mod tlp;

pub use access::{Coarsen, GroupId, Marking, Principal, Role, UserId, Viewer};
pub use country::CountryCode;
pub use incident::{Actors, Fatalities, FieldError, Incident, IncidentData, Location, OrgId};
pub use place::{Gazetteer, MatchKind, Place, PlaceHit, PlaceQuery};
pub use report::{CaseStepKind, Claims, Credibility, Reliability};
pub use taxonomy::{DisorderType, EventType, Inter, Precision, SubEventType};
pub use tlp::Tlp;
