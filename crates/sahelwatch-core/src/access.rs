//! Who is asking, and what they may see: the one place where visibility is
//! decided. Every read path (lists, get, search, counts, aggregates, exports,
//! STIX, TAXII, the live stream) asks [`Viewer::can_see`] for each item.
//!
//! TLP 2.0 as sahelwatch applies it (FIRST TLP 2.0, August 2022):
//! - CLEAR: everyone, including anonymous callers when the deployment
//!   enables its public API (off by default).
//! - GREEN: every organisation of the deployment (the community): any
//!   authenticated user.
//! - AMBER: the owner organisation and the organisations of the item's
//!   sharing group.
//! - AMBER+STRICT: the owner organisation only.
//! - RED: the named recipient users only, and the author.
//!
//! Outside the owner organisation, an item's location may be coarsened
//! ([`Coarsen`]); [`Viewer::exact_location`] says who gets exact coordinates.

use crate::incident::OrgId;
use crate::tlp::Tlp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Internal identifier of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// Internal identifier of a sharing group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(pub i64);

/// What a user may do within their organisation.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads what the organisation may see.
    Viewer,
    /// Reads; runs convoys: registers and ends them, acknowledges alerts.
    Operator,
    /// Reads, creates and changes the organisation's items, imports, shares.
    Analyst,
    /// An analyst who also manages the organisation's users, tokens, sharing
    /// groups, and reads its audit log.
    Admin,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// May create and change items of the organisation.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Analyst | Role::Admin)
    }

    /// May run convoys: register and end them, acknowledge their alerts.
    pub fn can_operate(self) -> bool {
        matches!(self, Role::Operator | Role::Analyst | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            _ => Err(format!(
                "'{s}' is not a role (viewer, operator, analyst, admin)"
            )),
        }
    }
}

/// How precisely an item's location is shown outside its owner organisation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Coarsen {
    /// Exact coordinates.
    #[default]
    Exact,
    /// Snapped to the centre of a 0.1-degree cell (about 11 km; at most about
    /// 8 km from the true point); place name and admin-3 withheld.
    #[serde(rename = "10km")]
    Km10,
    /// The second-level division's point; place name and admin-3 withheld.
    Admin2,
    /// The first-level division's point; place, admin-2 and admin-3 withheld.
    Admin1,
}

impl Coarsen {
    pub fn label(self) -> &'static str {
        match self {
            Coarsen::Exact => "exact",
            Coarsen::Km10 => "10km",
            Coarsen::Admin2 => "admin2",
            Coarsen::Admin1 => "admin1",
        }
    }
}

impl FromStr for Coarsen {
    type Err = String;
    fn from_str(s: &str) -> Result<Coarsen, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "exact" => Ok(Coarsen::Exact),
            "10km" => Ok(Coarsen::Km10),
            "admin2" => Ok(Coarsen::Admin2),
            "admin1" => Ok(Coarsen::Admin1),
            _ => Err(format!(
                "'{s}' is not a coarsening (exact, 10km, admin2, admin1)"
            )),
        }
    }
}

/// Snap a coordinate to the centre of its 0.1-degree cell.
pub fn snap_10km(v: f64) -> f64 {
    ((v * 10.0).floor() + 0.5) / 10.0
}

/// The sharing marking of an item: who owns it, how it may travel, and how
/// precisely its location is shown to others.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Marking {
    pub owner: OrgId,
    pub tlp: Tlp,
    /// For AMBER: the organisations it is shared with, besides the owner.
    pub sharing_group: Option<GroupId>,
    /// The user who created the item (sees it at RED).
    pub author: Option<UserId>,
    /// For RED: the named recipients.
    pub recipients: Vec<UserId>,
    pub coarsen: Coarsen,
}

impl Marking {
    pub fn new(owner: OrgId, tlp: Tlp) -> Marking {
        Marking {
            owner,
            tlp,
            ..Default::default()
        }
    }
}

/// An authenticated user, as a request sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub org: OrgId,
    pub role: Role,
    /// May create organisations (the deployment's administrators).
    pub superadmin: bool,
    /// Sharing groups the user's organisation belongs to.
    pub groups: BTreeSet<GroupId>,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// The operator at the machine, using the CLI on the database directly.
    /// They can read the database file anyway, so they see everything.
    Local,
    /// An unauthenticated API caller (only when the public API is enabled):
    /// TLP:CLEAR only.
    Anonymous,
    /// An authenticated user.
    User(Arc<Principal>),
}

impl Viewer {
    /// May this viewer see an item with this marking?
    pub fn can_see(&self, m: &Marking) -> bool {
        self.can_see_parts(m.owner, m.tlp, m.sharing_group, m.author, &m.recipients)
    }

    /// [`Self::can_see`] on the parts of a marking (for column stores).
    pub fn can_see_parts(
        &self,
        owner: OrgId,
        tlp: Tlp,
        group: Option<GroupId>,
        author: Option<UserId>,
        recipients: &[UserId],
    ) -> bool {
        match self {
            Viewer::Local => true,
            Viewer::Anonymous => tlp == Tlp::Clear,
            Viewer::User(p) => match tlp {
                Tlp::Clear | Tlp::Green => true,
                Tlp::Amber => p.org == owner || group.is_some_and(|g| p.groups.contains(&g)),
                Tlp::AmberStrict => p.org == owner,
                Tlp::Red => author == Some(p.user) || recipients.contains(&p.user),
            },
        }
    }

    /// Does this viewer get exact coordinates for an item of `owner`?
    pub fn exact_location(&self, owner: OrgId) -> bool {
        match self {
            Viewer::Local => true,
            Viewer::Anonymous => false,
            Viewer::User(p) => p.org == owner,
        }
    }

    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Viewer::User(p) => Some(p),
            _ => None,
        }
    }

    /// The viewer's organisation, if any.
    pub fn org(&self) -> Option<OrgId> {
        self.principal().map(|p| p.org)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(user: i64, org: i64, groups: &[i64]) -> Viewer {
        Viewer::User(Arc::new(Principal {
            user: UserId(user),
            org: OrgId(org),
            role: Role::Viewer,
            superadmin: false,
            groups: groups.iter().map(|g| GroupId(*g)).collect(),
        }))
    }

    fn marking(
        owner: i64,
        tlp: Tlp,
        group: Option<i64>,
        author: Option<i64>,
        recipients: &[i64],
    ) -> Marking {
        Marking {
            owner: OrgId(owner),
            tlp,
            sharing_group: group.map(GroupId),
            author: author.map(UserId),
            recipients: recipients.iter().map(|r| UserId(*r)).collect(),
            coarsen: Coarsen::Exact,
        }
    }

    #[test]
    fn tlp_2_0_rules() {
        let owner_user = user(1, 10, &[]);
        let group_user = user(2, 20, &[7]);
        let outsider = user(3, 30, &[]);
        let recipient = user(4, 40, &[]);
        let cases = [
            (
                marking(10, Tlp::Clear, None, None, &[]),
                [true, true, true, true, true],
            ),
            (
                marking(10, Tlp::Green, None, None, &[]),
                [true, true, true, true, false],
            ),
            (
                marking(10, Tlp::Amber, Some(7), None, &[]),
                [true, true, false, false, false],
            ),
            (
                marking(10, Tlp::Amber, None, None, &[]),
                [true, false, false, false, false],
            ),
            (
                marking(10, Tlp::AmberStrict, Some(7), None, &[]),
                [true, false, false, false, false],
            ),
            (
                marking(10, Tlp::Red, Some(7), Some(1), &[4]),
                [true, false, false, true, false],
            ),
            (
                marking(10, Tlp::Red, None, Some(9), &[]),
                [false, false, false, false, false],
            ),
        ];
        for (m, want) in cases {
            let got = [
                owner_user.can_see(&m),
                group_user.can_see(&m),
                outsider.can_see(&m),
                recipient.can_see(&m),
                Viewer::Anonymous.can_see(&m),
            ];
            assert_eq!(got, want, "{m:?}");
            assert!(Viewer::Local.can_see(&m));
        }
    }

    #[test]
    fn exact_location_is_for_the_owner_organisation() {
        assert!(user(1, 10, &[]).exact_location(OrgId(10)));
        assert!(!user(2, 20, &[10]).exact_location(OrgId(10)));
        assert!(!Viewer::Anonymous.exact_location(OrgId(10)));
        assert!(Viewer::Local.exact_location(OrgId(10)));
    }

    #[test]
    fn snapping_keeps_points_within_the_cell() {
        for v in [14.0341, -0.03261, 0.0, -17.99, 89.99] {
            let s = snap_10km(v);
            assert!((s - v).abs() <= 0.05 + 1e-9, "{v} -> {s}");
        }
        assert_eq!(snap_10km(14.0341), 14.05);
        assert_eq!(snap_10km(-0.03261), -0.05);
    }

    #[test]
    fn roles_and_coarsenings_parse() {
        assert_eq!("Analyst".parse(), Ok(Role::Analyst));
        assert!("boss".parse::<Role>().is_err());
        assert_eq!("10km".parse(), Ok(Coarsen::Km10));
        assert!("5km".parse::<Coarsen>().is_err());
    }
}
