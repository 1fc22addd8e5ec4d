//! `kubectl whatsapp status KIND/NAME`: read the resource, its account and its events, print
//! the report, exit 0 when Ready and 1 when not.

use jiff::Timestamp;

use super::Outcome;
use super::args::StatusArgs;
use super::connect::Connection;
use super::error::CliError;
use super::events::{fetch, newest_last};
use super::objects::{self, Object};
use super::output::document;
use super::render::render;
use super::report::{StatusReport, account_report, channel_report, template_report};

/// Exit 0 for a Ready resource, 1 for any other; a report is printed either way.
pub fn outcome(report: &StatusReport) -> Outcome {
    if report.is_ready() {
        Outcome::Done
    } else {
        Outcome::NotDone
    }
}

async fn report(
    conn: &Connection,
    args: &StatusArgs,
    now: Timestamp,
) -> Result<StatusReport, CliError> {
    let object = objects::get(conn, &args.target).await?;
    let raw_events = fetch(
        &conn.client,
        &conn.namespace,
        args.target.kind.kind_name(),
        &args.target.name,
        object.meta().uid.as_deref(),
    )
    .await?;
    let events = newest_last(raw_events, args.events);
    Ok(match object {
        Object::Channel(ch) => {
            let account = objects::account_opt(conn, &ch.spec.account_ref.name).await?;
            channel_report(&ch, account.as_ref(), events, now)
        }
        Object::Account(acc) => account_report(&acc, events, now),
        Object::Template(t) => {
            let account = objects::account_opt(conn, &t.spec.account_ref.name).await?;
            template_report(&t, account.as_ref(), events, now)
        }
    })
}

pub async fn run(conn: &Connection, args: &StatusArgs, width: usize) -> Result<Outcome, CliError> {
    let now = Timestamp::now();
    let report = report(conn, args, now).await?;
    let text = match document(&report, args.output)? {
        Some(doc) => doc,
        None => render(&report, width, now),
    };
    print!("{text}");
    Ok(outcome(&report))
}
