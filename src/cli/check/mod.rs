//! `kubectl whatsapp check`: reads the CRDs, the operator's Lease and Deployment and the webhook
//! Secret, prints one verdict per check, exits 1 when one fails.

mod verdicts;

pub use verdicts::{Check, crd_check, first_difference, operator_check, render, webhook_check};

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, CustomResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Outcome;
use super::args::CheckArgs;
use super::connect::Connection;
use super::error::CliError;
use super::output::document;
use crate::crd::{WhatsAppBusinessAccount, WhatsAppChannel, WhatsAppMessageTemplate};

/// The checks as a document for `-o json|yaml`.
#[derive(Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// A read whose refusal (forbidden, unreachable) is a failed check, not the end of `check`.
async fn read<K>(api: Api<K>, name: &str) -> verdicts::Read<K>
where
    K: Clone + DeserializeOwned + Debug,
{
    api.get_opt(name).await.map_err(|e| e.to_string())
}

async fn checks(conn: &Connection, args: &CheckArgs) -> Vec<Check> {
    let client = &conn.client;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut checks = Vec::new();
    for compiled in [
        WhatsAppChannel::crd(),
        WhatsAppBusinessAccount::crd(),
        WhatsAppMessageTemplate::crd(),
    ] {
        let name = compiled.metadata.name.clone().unwrap_or_default();
        checks.push(crd_check(read(crds.clone(), &name).await, &compiled));
    }
    let ns = &args.operator_namespace;
    let lease = read(
        Api::<Lease>::namespaced(client.clone(), ns),
        &args.operator_name,
    )
    .await;
    let deployment = read(
        Api::<Deployment>::namespaced(client.clone(), ns),
        &args.operator_name,
    )
    .await;
    let now = jiff::Timestamp::now();
    checks.push(operator_check(
        ns,
        &args.operator_name,
        lease,
        deployment,
        now,
    ));
    if !args.skip_webhook {
        let name = &args.webhook_secret_name;
        let secret = read(Api::<Secret>::namespaced(client.clone(), ns), name).await;
        let keys = [
            args.webhook_app_secret_key.as_str(),
            args.webhook_verify_token_key.as_str(),
        ];
        checks.push(webhook_check(ns, name, secret, &keys));
    }
    checks
}

pub async fn run(conn: &Connection, args: &CheckArgs) -> Result<Outcome, CliError> {
    let checks = checks(conn, args).await;
    let report = CheckReport {
        ok: checks.iter().all(|c| c.ok),
        checks,
    };
    let text = match document(&report, args.output)? {
        Some(doc) => doc,
        None => render(&report.checks),
    };
    print!("{text}");
    Ok(if report.ok {
        Outcome::Done
    } else {
        Outcome::NotDone
    })
}
