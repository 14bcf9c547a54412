//! Who is asking, and what they may see.
//!
//! Every read path (lists, counts, aggregates, exports) asks
//! [`Viewer::can_see`] for each item; nothing reaches a caller without it.
//! The rules grow with the sharing model; today they are:
//! - [`Viewer::Local`]: the operator at the machine, using the CLI on the
//!   database file directly. They can already read the file, so they see everything.
//! - [`Viewer::Anonymous`]: an unauthenticated API client sees TLP:CLEAR only.

use crate::incident::OrgId;
use crate::tlp::Tlp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    Local,
    Anonymous,
}

impl Viewer {
    /// May this viewer see an item owned by `owner` and marked `tlp`?
    pub fn can_see(&self, _owner: OrgId, tlp: Tlp) -> bool {
        match self {
            Viewer::Local => true,
            Viewer::Anonymous => tlp == Tlp::Clear,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_sees_clear_only() {
        for tlp in Tlp::ALL {
            assert_eq!(Viewer::Anonymous.can_see(OrgId(1), tlp), tlp == Tlp::Clear);
            assert!(Viewer::Local.can_see(OrgId(1), tlp));
        }
    }
}
