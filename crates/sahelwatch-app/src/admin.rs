//! Organisations, users, tokens, sharing groups and the markings of
//! incidents: who may do what.
//!
//! - A superadmin (the deployment's administrators; the first is created by
//!   `sahelwatch admin bootstrap`) creates organisations and users in any
//!   organisation.
//! - An organisation admin manages the users of their organisation, revokes
//!   their tokens, creates sharing groups and manages the members of the groups
//!   their organisation owns.
//! - Analysts and admins create incidents and change the markings of their
//!   organisation's incidents.
//! - Everyone manages their own tokens and password.
//!
//! Something the caller may not see is "not found", never "forbidden".

use crate::auth::{NewToken, check_password_rules, hash_password, verify_password};
use crate::views::GroupRef;
use crate::{App, AppError};
use sahelwatch_core::accounts::{NewUser, SharingGroup, User, normalise_username};
use sahelwatch_core::coarsen::coarse_position;
use sahelwatch_core::{
    Coarsen, GroupId, Incident, IncidentData, Marking, OrgId, Principal, Role, Tlp, UserId, Viewer,
};
use sahelwatch_store::{Org, UserChange};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// An organisation as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgInfo {
    pub id: Uuid,
    pub name: String,
}

/// A new user.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    #[schema(pattern = "^[A-Za-z0-9._@-]{3,64}$")]
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    /// 10 to 256 characters; omit for a user who only uses API tokens.
    pub password: Option<String>,
    /// The organisation (superadmins only; others create users in their own).
    pub organisation: Option<Uuid>,
}

/// A change to a user.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub display_name: Option<String>,
}

/// A sharing group as listed to its members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupInfo {
    pub id: Uuid,
    pub name: String,
    pub owner: OrgInfo,
    pub members: Vec<OrgInfo>,
}

/// The marking of an incident, as a client gives it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkingInput {
    #[schema(value_type = String, example = "AMBER")]
    pub tlp: Tlp,
    /// For AMBER: a sharing group the organisation belongs to.
    pub sharing_group: Option<Uuid>,
    /// For RED: the users who may see it (besides the author).
    #[serde(default)]
    pub recipients: Vec<Uuid>,
    /// How the location is shown outside the organisation (default exact).
    #[serde(default)]
    pub coarsen: Coarsen,
}

fn require_admin(p: &Principal) -> Result<(), AppError> {
    if p.role == Role::Admin || p.superadmin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only an organisation admin may do this".into(),
        ))
    }
}

/// Analysts and admins may write; `what` says what was refused.
pub(crate) fn require_writer(p: &Principal, what: &str) -> Result<(), AppError> {
    if p.role.can_write() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "only analysts and admins may {what}"
        )))
    }
}

impl App {
    pub(crate) async fn group_names(&self) -> Result<HashMap<GroupId, GroupRef>, AppError> {
        Ok(self
            .store
            .groups()
            .await?
            .into_iter()
            .map(|g| {
                (
                    g.id,
                    GroupRef {
                        id: g.uid,
                        name: g.name,
                    },
                )
            })
            .collect())
    }

    async fn org_info(&self, id: OrgId) -> Result<OrgInfo, AppError> {
        let o = self
            .org(id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("organisation {} vanished", id.0)))?;
        Ok(OrgInfo {
            id: o.uid,
            name: o.name,
        })
    }

    async fn org_by_uid(&self, uid: Uuid) -> Result<Option<Org>, AppError> {
        Ok(self.store.orgs().await?.into_iter().find(|o| o.uid == uid))
    }

    /// First start of a deployment, from the CLI: an organisation, a
    /// superadmin of it, and an API token for that admin.
    pub async fn bootstrap(
        &self,
        org_name: &str,
        username: &str,
        password: Option<&str>,
    ) -> Result<(Org, User, NewToken), AppError> {
        let org = self.ensure_org(org_name).await?;
        let username =
            normalise_username(username).map_err(|m| AppError::bad("username", username, m))?;
        if let Some(pw) = password {
            check_password_rules(pw)?;
        }
        let user = self
            .store
            .create_user(NewUser {
                org: org.id,
                username: username.clone(),
                display_name: username,
                role: Role::Admin,
                superadmin: true,
                password_hash: password.map(hash_password).transpose()?,
            })
            .await?;
        let token = self.issue_token(&user, "bootstrap", None).await?;
        Ok((org, user, token))
    }

    /// The demo account of a new deployment's starter data: user `demo`, an
    /// analyst of `org`, with a new random password that is returned once.
    /// Only in a deployment with no user yet (`None` otherwise): never beside
    /// accounts someone already made.
    pub async fn create_demo_user(&self, org: &Org) -> Result<Option<(User, String)>, AppError> {
        if !self.store.users(None).await?.is_empty() {
            return Ok(None);
        }
        let password = crate::auth::readable_secret(16);
        let user = self
            .store
            .create_user(NewUser {
                org: org.id,
                username: "demo".into(),
                display_name: "Demo".into(),
                role: Role::Analyst,
                superadmin: false,
                password_hash: Some(hash_password(&password)?),
            })
            .await?;
        Ok(Some((user, password)))
    }

    /// Every organisation of the deployment (names are community knowledge).
    pub async fn list_orgs(&self, _by: &Principal) -> Result<Vec<OrgInfo>, AppError> {
        Ok(self
            .store
            .orgs()
            .await?
            .into_iter()
            .map(|o| OrgInfo {
                id: o.uid,
                name: o.name,
            })
            .collect())
    }

    pub async fn create_org(&self, by: &Principal, name: &str) -> Result<OrgInfo, AppError> {
        if !by.superadmin {
            return Err(AppError::Forbidden(
                "only a deployment administrator may create organisations".into(),
            ));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::bad(
                "name",
                name,
                "an organisation name is 1 to 200 characters",
            ));
        }
        let o = self.store.create_org(name).await?;
        Ok(OrgInfo {
            id: o.uid,
            name: o.name,
        })
    }

    pub async fn me(&self, by: &Principal) -> Result<(User, OrgInfo), AppError> {
        let user = self
            .store
            .user(by.user)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let org = self.org_info(user.org).await?;
        Ok((user, org))
    }

    pub async fn create_user(&self, by: &Principal, input: NewUserInput) -> Result<User, AppError> {
        require_admin(by)?;
        let org = match input.organisation {
            None => by.org,
            Some(uid) => {
                let org = self.org_by_uid(uid).await?.ok_or(AppError::NotFound)?;
                if org.id != by.org && !by.superadmin {
                    return Err(AppError::Forbidden(
                        "admins create users in their own organisation".into(),
                    ));
                }
                org.id
            }
        };
        let username = normalise_username(&input.username)
            .map_err(|m| AppError::bad("username", &input.username, m))?;
        if let Some(pw) = &input.password {
            check_password_rules(pw)?;
        }
        let display_name = input.display_name.unwrap_or_else(|| username.clone());
        Ok(self
            .store
            .create_user(NewUser {
                org,
                username,
                display_name,
                role: input.role,
                superadmin: false,
                password_hash: input.password.as_deref().map(hash_password).transpose()?,
            })
            .await?)
    }

    /// Users of the caller's organisation (all users for a superadmin).
    pub async fn list_users(&self, by: &Principal) -> Result<Vec<User>, AppError> {
        require_admin(by)?;
        Ok(self.store.users((!by.superadmin).then_some(by.org)).await?)
    }

    /// A user the caller administers; others are "not found".
    async fn administered_user(&self, by: &Principal, uid: Uuid) -> Result<User, AppError> {
        require_admin(by)?;
        match self.store.user_by_uid(uid).await? {
            Some(u) if u.org == by.org || by.superadmin => Ok(u),
            _ => Err(AppError::NotFound),
        }
    }

    pub async fn update_user(
        &self,
        by: &Principal,
        uid: Uuid,
        change: UserUpdate,
    ) -> Result<User, AppError> {
        let user = self.administered_user(by, uid).await?;
        self.store
            .update_user(
                user.id,
                UserChange {
                    role: change.role,
                    disabled: change.disabled,
                    display_name: change.display_name,
                },
            )
            .await?;
        self.store.user(user.id).await?.ok_or(AppError::NotFound)
    }

    /// Change one's own password (the current one is required).
    pub async fn change_password(
        &self,
        by: &Principal,
        current: &str,
        new: &str,
    ) -> Result<(), AppError> {
        let user = self
            .store
            .user(by.user)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let (_, hash) = self
            .store
            .user_by_username(&user.username)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if !hash.as_deref().is_some_and(|h| verify_password(h, current)) {
            return Err(AppError::bad(
                "current_password",
                "(hidden)",
                "is not the current password",
            ));
        }
        check_password_rules(new)?;
        Ok(self
            .store
            .set_password(user.id, &hash_password(new)?)
            .await?)
    }

    pub async fn create_own_token(
        &self,
        by: &Principal,
        name: &str,
        days: Option<i64>,
    ) -> Result<NewToken, AppError> {
        let user = self
            .store
            .user(by.user)
            .await?
            .ok_or(AppError::Unauthorized)?;
        self.issue_token(&user, name, days).await
    }

    pub async fn list_own_tokens(
        &self,
        by: &Principal,
    ) -> Result<Vec<sahelwatch_core::accounts::ApiToken>, AppError> {
        Ok(self.store.tokens(by.user).await?)
    }

    /// Revoke a token: one's own, or (admins) one of a user of the organisation.
    pub async fn revoke_token(&self, by: &Principal, uid: Uuid) -> Result<(), AppError> {
        let token = self
            .store
            .token_by_uid(uid)
            .await?
            .ok_or(AppError::NotFound)?;
        if token.user != by.user {
            let owner = self
                .store
                .user(token.user)
                .await?
                .ok_or(AppError::NotFound)?;
            let admin_of_owner = (by.role == Role::Admin && owner.org == by.org) || by.superadmin;
            if !admin_of_owner {
                return Err(AppError::NotFound);
            }
        }
        Ok(self.store.revoke_token(token.id).await?)
    }

    async fn group_info(&self, g: &SharingGroup) -> Result<GroupInfo, AppError> {
        let mut members = Vec::new();
        for m in &g.members {
            members.push(self.org_info(*m).await?);
        }
        Ok(GroupInfo {
            id: g.uid,
            name: g.name.clone(),
            owner: self.org_info(g.owner_org).await?,
            members,
        })
    }

    /// Groups the caller's organisation belongs to.
    pub async fn list_groups(&self, by: &Principal) -> Result<Vec<GroupInfo>, AppError> {
        let mut out = Vec::new();
        for g in self
            .store
            .groups()
            .await?
            .iter()
            .filter(|g| g.members.contains(&by.org))
        {
            out.push(self.group_info(g).await?);
        }
        Ok(out)
    }

    pub async fn create_group(&self, by: &Principal, name: &str) -> Result<GroupInfo, AppError> {
        require_admin(by)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::bad(
                "name",
                name,
                "a group name is 1 to 200 characters",
            ));
        }
        let g = self.store.create_group(name, by.org).await?;
        self.group_info(&g).await
    }

    /// Add or remove a member organisation (admins of the group's owner organisation).
    pub async fn set_group_member(
        &self,
        by: &Principal,
        group: Uuid,
        org: Uuid,
        member: bool,
    ) -> Result<GroupInfo, AppError> {
        require_admin(by)?;
        let groups = self.store.groups().await?;
        let g = groups
            .iter()
            .find(|g| g.uid == group && g.members.contains(&by.org))
            .ok_or(AppError::NotFound)?;
        if g.owner_org != by.org {
            return Err(AppError::Forbidden(
                "only admins of the group's owner organisation manage its members".into(),
            ));
        }
        let org = self.org_by_uid(org).await?.ok_or(AppError::NotFound)?;
        if !member && org.id == g.owner_org {
            return Err(AppError::bad(
                "organisation",
                &org.uid.to_string(),
                "the owner organisation cannot leave its group",
            ));
        }
        self.store.set_group_member(g.id, org.id, member).await?;
        let g = self
            .store
            .groups()
            .await?
            .into_iter()
            .find(|x| x.id == g.id)
            .ok_or(AppError::NotFound)?;
        self.group_info(&g).await
    }

    /// Turn a client's marking into a stored one, checking the group and recipients.
    pub async fn resolve_marking(
        &self,
        by: &Principal,
        input: &MarkingInput,
    ) -> Result<Marking, AppError> {
        let sharing_group = match input.sharing_group {
            None => None,
            Some(uid) => {
                let g = self
                    .store
                    .groups()
                    .await?
                    .into_iter()
                    .find(|g| g.uid == uid && g.members.contains(&by.org))
                    .ok_or_else(|| {
                        AppError::bad(
                            "sharing_group",
                            &uid.to_string(),
                            "is not a sharing group your organisation belongs to",
                        )
                    })?;
                Some(g.id)
            }
        };
        let mut recipients: Vec<UserId> = Vec::new();
        for uid in &input.recipients {
            let u =
                self.store.user_by_uid(*uid).await?.ok_or_else(|| {
                    AppError::bad("recipients", &uid.to_string(), "is not a user")
                })?;
            if !recipients.contains(&u.id) {
                recipients.push(u.id);
            }
        }
        if input.tlp != Tlp::Red && !recipients.is_empty() {
            return Err(AppError::bad(
                "recipients",
                "",
                "named recipients apply to TLP:RED only",
            ));
        }
        if input.tlp != Tlp::Amber && sharing_group.is_some() {
            return Err(AppError::bad(
                "sharing_group",
                "",
                "a sharing group applies to TLP:AMBER only",
            ));
        }
        Ok(Marking {
            owner: by.org,
            tlp: input.tlp,
            sharing_group,
            author: Some(by.user),
            recipients,
            coarsen: input.coarsen,
        })
    }

    /// Create an incident owned by the caller's organisation.
    pub async fn create_incident(
        &self,
        by: &Arc<Principal>,
        data: IncidentData,
        marking: &MarkingInput,
    ) -> Result<Incident, AppError> {
        require_writer(by, "change incidents")?;
        let errors = data.validate();
        if !errors.is_empty() {
            return Err(AppError::BadRequest(
                errors
                    .into_iter()
                    .map(|e| crate::ParamError::new(e.field, "", e.message))
                    .collect(),
            ));
        }
        let marking = self.resolve_marking(by, marking).await?;
        let gaz = self.gazetteer().await?;
        let coarse = coarse_position(marking.coarsen, &data.location, &gaz);
        let (_, uid) = self.store.create_incident(&data, &marking, coarse).await?;
        let viewer = Viewer::User(Arc::clone(by));
        self.incident(&viewer, uid).await?.ok_or(AppError::NotFound)
    }

    /// Replace the marking of one of the organisation's incidents.
    pub async fn update_marking(
        &self,
        by: &Arc<Principal>,
        id: Uuid,
        input: &MarkingInput,
    ) -> Result<Incident, AppError> {
        let viewer = Viewer::User(Arc::clone(by));
        let (row, inc) = self
            .incident_with_row(&viewer, id)
            .await?
            .ok_or(AppError::NotFound)?;
        require_writer(by, "change incidents")?;
        if inc.marking.owner != by.org {
            return Err(AppError::Forbidden(
                "only the owner organisation may change an incident's marking".into(),
            ));
        }
        let mut marking = self.resolve_marking(by, input).await?;
        // The author stays who created it.
        marking.author = inc.marking.author.or(marking.author);
        let gaz = self.gazetteer().await?;
        let coarse = coarse_position(marking.coarsen, &inc.data.location, &gaz);
        self.store.update_marking(row, &marking, coarse).await?;
        // Read back as the caller: RED without them among the recipients hides it.
        self.store
            .incident_by_uid(id)
            .await?
            .map(|(_, i)| i)
            .ok_or(AppError::NotFound)
    }

    pub async fn delete_incident(&self, by: &Arc<Principal>, id: Uuid) -> Result<(), AppError> {
        let viewer = Viewer::User(Arc::clone(by));
        let (row, inc) = self
            .incident_with_row(&viewer, id)
            .await?
            .ok_or(AppError::NotFound)?;
        require_writer(by, "change incidents")?;
        if inc.marking.owner != by.org {
            return Err(AppError::Forbidden(
                "only the owner organisation may delete an incident".into(),
            ));
        }
        Ok(self.store.delete_incident(row).await?)
    }
}
