//! Reading and annotating the operator's resources, typed with the operator's own CRD types.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Patch, PatchParams};
use kube::core::ObjectMeta;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::connect::Connection;
use super::error::CliError;
use super::target::{Kind, Target};
use crate::crd::{SyncStatus, WhatsAppBusinessAccount, WhatsAppChannel, WhatsAppMessageTemplate};

/// The plugin's field manager, so that its writes are told apart from the user's and the
/// operator's in managedFields.
pub const FIELD_MANAGER: &str = "kubectl-whatsapp";

/// A channel, an account or a template.
pub enum Object {
    Channel(Box<WhatsAppChannel>),
    Account(Box<WhatsAppBusinessAccount>),
    Template(Box<WhatsAppMessageTemplate>),
}

impl Object {
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Channel(c) => &c.metadata,
            Object::Account(a) => &a.metadata,
            Object::Template(t) => &t.metadata,
        }
    }

    pub fn conditions(&self) -> &[Condition] {
        match self {
            Object::Channel(c) => c.status.as_ref().map_or(&[], |s| &s.conditions),
            Object::Account(a) => a.status.as_ref().map_or(&[], |s| &s.conditions),
            Object::Template(t) => t.status.as_ref().map_or(&[], |s| &s.conditions),
        }
    }

    fn sync(&self) -> Option<&SyncStatus> {
        match self {
            Object::Channel(c) => c.status.as_ref().map(|s| &s.sync),
            Object::Account(a) => a.status.as_ref().map(|s| &s.sync),
            Object::Template(t) => t.status.as_ref().map(|s| &s.sync),
        }
    }

    /// `status.lastHandledReconcileAt`: the reconcile request the operator last acted on.
    pub fn last_handled(&self) -> Option<&str> {
        self.sync()
            .and_then(|s| s.last_handled_reconcile_at.as_deref())
    }
}

fn api<K>(conn: &Connection) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(conn.client.clone(), &conn.namespace)
}

async fn get_typed<K>(conn: &Connection, target: &Target) -> Result<Option<K>, CliError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug,
{
    api::<K>(conn)
        .get_opt(&target.name)
        .await
        .map_err(CliError::api(format!(
            "reading {target} in namespace {}",
            conn.namespace
        )))
}

fn not_found(conn: &Connection, target: &Target) -> CliError {
    CliError::NotFound {
        target: target.clone(),
        namespace: conn.namespace.clone(),
    }
}

pub async fn channel(conn: &Connection, target: &Target) -> Result<WhatsAppChannel, CliError> {
    get_typed(conn, target)
        .await?
        .ok_or_else(|| not_found(conn, target))
}

/// The account named `name`, if it exists.
pub async fn account_opt(
    conn: &Connection,
    name: &str,
) -> Result<Option<WhatsAppBusinessAccount>, CliError> {
    let target = Target {
        kind: Kind::Account,
        name: name.to_string(),
    };
    get_typed(conn, &target).await
}

pub async fn get(conn: &Connection, target: &Target) -> Result<Object, CliError> {
    let object = match target.kind {
        Kind::Channel => get_typed(conn, target)
            .await?
            .map(|c| Object::Channel(Box::new(c))),
        Kind::Account => get_typed(conn, target)
            .await?
            .map(|a| Object::Account(Box::new(a))),
        Kind::Template => get_typed(conn, target)
            .await?
            .map(|t| Object::Template(Box::new(t))),
    };
    object.ok_or_else(|| not_found(conn, target))
}

/// Merge-patches `metadata.annotations` (a null value removes one), touching nothing else.
pub async fn annotate(
    conn: &Connection,
    target: &Target,
    annotations: Value,
) -> Result<(), CliError> {
    let patch = serde_json::json!({"metadata": {"annotations": annotations}});
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    let what = format!("annotating {target} in namespace {}", conn.namespace);
    let result = match target.kind {
        Kind::Channel => api::<WhatsAppChannel>(conn)
            .patch(&target.name, &params, &Patch::Merge(&patch))
            .await
            .map(drop),
        Kind::Account => api::<WhatsAppBusinessAccount>(conn)
            .patch(&target.name, &params, &Patch::Merge(&patch))
            .await
            .map(drop),
        Kind::Template => api::<WhatsAppMessageTemplate>(conn)
            .patch(&target.name, &params, &Patch::Merge(&patch))
            .await
            .map(drop),
    };
    match result {
        Err(kube::Error::Api(s)) if s.code == 404 => Err(not_found(conn, target)),
        other => other.map_err(CliError::api(what)),
    }
}
