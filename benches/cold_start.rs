//! Cold start at scale against a real kube-apiserver and the Meta simulator: how long the
//! operator binary takes from start until every channel and account is Ready, compared with a
//! bare client server-side-applying the same statuses, and the operator's memory. Budgets
//! (DESIGN.md §6): 10,000 channels in 1,000 accounts all Ready within 1.5x the bare client's
//! time; under 150 MiB RSS at 10,000 channels. The figures are printed, never asserted.
//!
//! Every account also has WAO_BENCH_TEMPLATES_PER_ACCOUNT (default 20, 0 for none) approved
//! message templates made elsewhere, half adopted as Managed with Meta's content and half
//! ObserveOnly: they must be Ready with no write to Meta and within the account's one read.
//!
//! `cargo bench --bench cold_start`. WAO_BENCH_ACCOUNTS (default 1000) and
//! WAO_BENCH_CHANNELS_PER_ACCOUNT (default 10) set the size, WAO_BENCH_STEADY_SECONDS (default
//! 30) how long memory is watched once everything is Ready, WAO_BENCH_TIMEOUT_SECONDS (default
//! 900) how long the operator gets, WAO_BENCH_OPERATOR_LOG the operator's RUST_LOG (default: the
//! operator's own default filter). The control plane is started by hack/control-plane.sh, as
//! for the tests.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use harness::operator::Operator;
use harness::sim::Sim;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use serde_json::{Value, json};
use whatsapp_operator::crd::{
    HealthEntityStatus, HealthSummary, Phase, SyncStatus, WhatsAppBusinessAccount, WhatsAppChannel,
    WhatsAppChannelStatus, WhatsAppMessageTemplate, condition, condition_is_true,
};
use whatsapp_operator::decide::{ConditionStatus, condition_reason, set_condition, status_time};

const TOKEN: &str = "sim-system-user-token";
const TOKEN_SECRET: &str = "bench-graph-token";
const BUSINESS_ID: &str = "506914307656634";
const APP_ID: &str = "670843887433847";
/// How many objects the bench creates at once.
const CREATE_CONCURRENCY: usize = 32;
/// The operator's `--concurrency` default: reconciles at once per controller.
const OPERATOR_CONCURRENCY: usize = 8;
const READY_BUDGET_RATIO: f64 = 1.5;
const RSS_BUDGET_MIB: f64 = 150.0;
/// How often memory is sampled and progress printed.
const SAMPLE_PERIOD: Duration = Duration::from_secs(2);
const PROGRESS_PERIOD: Duration = Duration::from_secs(20);
/// Operator warnings printed in the summary (the log goes away with the control plane).
const WARNINGS_SHOWN: usize = 5;
/// The operator's own default log filter: the bench measures what a deployment runs.
const OPERATOR_LOG_FILTER: &str = "info,kube=warn,hyper=warn";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Where account `a`'s channel `n` lives, at Meta and in Kubernetes.
struct Number {
    account: usize,
    channel: String,
    id: String,
    digits: String,
}

impl Number {
    fn new(account: usize, n: usize, per_account: usize) -> Self {
        let index = account * per_account + n;
        // +1 555 2xxxxxx: clear of the example state's own and outside numbers.
        let digits = format!("15552{index:06}");
        Self {
            account,
            channel: format!("ch-{account:04}-{n:03}"),
            id: format!("{}", 400_000_000_000_000u64 + index as u64),
            digits,
        }
    }

    /// "+1 555-2xx-xxxx", the way Meta displays US numbers.
    fn display(&self) -> String {
        let d = &self.digits;
        format!("+1 {}-{}-{}", &d[1..4], &d[4..7], &d[7..])
    }

    /// "+1 5552xxxxxx", formatted differently from Meta on purpose: the operator compares digits.
    fn spec(&self) -> String {
        format!("+1 {}", &self.digits[1..])
    }
}

fn waba_id(account: usize) -> String {
    format!("{}", 300_000_000_000_000u64 + account as u64)
}

/// Meta's id of account `a`'s template `t`: clear of the WABA and number ids.
fn template_id(account: usize, t: usize) -> String {
    format!("{}", 500_000_000_000_000u64 + (account * 1000 + t) as u64)
}

/// The template's name at Meta (the same in every WABA) and its resource's name.
fn template_names(account: usize, t: usize) -> (String, String) {
    (format!("bench_t{t:03}"), format!("t-{account:04}-{t:03}"))
}

const TEMPLATE_BODY: &str = "Your order {{1}} is ready for pickup.";

/// An approved template made in WhatsApp Manager, as the simulator's state holds it.
fn sim_template(account: usize, t: usize) -> Value {
    json!({
        "id": template_id(account, t),
        "name": template_names(account, t).0,
        "language": "en_US",
        "category": "UTILITY",
        "status": "APPROVED",
        "components": [{"type": "BODY", "text": TEMPLATE_BODY,
                        "example": {"body_text": [["A-1001"]]}}],
    })
}

/// The resource adopting account `a`'s template `t`: the even ones Managed with Meta's content
/// (adopted without an edit), the odd ones ObserveOnly.
fn template_object(account: usize, t: usize) -> WhatsAppMessageTemplate {
    let (name, object) = template_names(account, t);
    let management = if t.is_multiple_of(2) {
        "Managed"
    } else {
        "ObserveOnly"
    };
    serde_json::from_value(json!({
        "apiVersion": "whatsapp-operator.io/v1alpha1",
        "kind": "WhatsAppMessageTemplate",
        "metadata": {"name": object},
        "spec": {
            "accountRef": {"name": account_name(account)},
            "name": name,
            "language": "en_US",
            "category": "UTILITY",
            "management": management,
            "components": {"body": {"text": TEMPLATE_BODY, "examples": ["A-1001"]}},
        },
    }))
    .expect("template object")
}

fn account_name(account: usize) -> String {
    format!("acct-{account:04}")
}

/// The example world with its WABA replaced by `accounts` WABAs of `per_account` connected Cloud
/// API numbers each, all reachable with the example's system user token.
fn sim_state(accounts: usize, per_account: usize, templates: usize) -> Value {
    let mut state = harness::sim::example_state();
    let waba_template = state["wabas"][0].clone();
    let number_template = waba_template["phone_numbers"]
        .as_array()
        .and_then(|numbers| numbers.iter().find(|n| n["status"] == "CONNECTED"))
        .cloned()
        .expect("the example WABA has a CONNECTED number");
    let wabas: Vec<Value> = (0..accounts)
        .map(|a| {
            let mut waba = waba_template.clone();
            waba["id"] = json!(waba_id(a));
            waba["name"] = json!(format!("Bench {a}"));
            waba["phone_numbers"] = (0..per_account)
                .map(|n| {
                    let number = Number::new(a, n, per_account);
                    let mut v = number_template.clone();
                    v["id"] = json!(number.id);
                    v["display_phone_number"] = json!(number.display());
                    v["verified_name"] = json!(format!("Bench {a}-{n}"));
                    v
                })
                .collect();
            waba["message_templates"] = (0..templates).map(|t| sim_template(a, t)).collect();
            waba
        })
        .collect();
    let targets: Vec<String> = (0..accounts).map(waba_id).collect();
    let mut token = state["tokens"]
        .as_array()
        .and_then(|tokens| tokens.iter().find(|t| t["token"] == TOKEN))
        .cloned()
        .expect("the example state has the system user token");
    for scope in token["granular_scopes"]
        .as_array_mut()
        .expect("granular scopes")
    {
        scope["target_ids"] = json!(targets);
    }
    // The other example tokens name the example WABA, which is gone.
    state["tokens"] = json!([token]);
    state["wabas"] = json!(wabas);
    state
}

fn account_object(a: usize) -> WhatsAppBusinessAccount {
    serde_json::from_value(json!({
        "apiVersion": "whatsapp-operator.io/v1alpha1",
        "kind": "WhatsAppBusinessAccount",
        "metadata": {"name": account_name(a)},
        "spec": {
            "businessAccountId": waba_id(a),
            "credentialsSecretRef": {"name": TOKEN_SECRET, "key": "token"},
        },
    }))
    .expect("account object")
}

fn channel_object(number: &Number) -> WhatsAppChannel {
    // Half adopted and kept (Managed), half only watched: both paths of a running fleet.
    let management = if number.id.ends_with(['1', '3', '5', '7', '9']) {
        "ObserveOnly"
    } else {
        "Managed"
    };
    serde_json::from_value(json!({
        "apiVersion": "whatsapp-operator.io/v1alpha1",
        "kind": "WhatsAppChannel",
        "metadata": {"name": number.channel},
        "spec": {
            "accountRef": {"name": account_name(number.account)},
            "phoneNumber": number.spec(),
            "management": management,
        },
    }))
    .expect("channel object")
}

/// Creates every object, `CREATE_CONCURRENCY` at a time.
async fn create_all<K>(api: &Api<K>, objects: Vec<K>)
where
    K: Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let pp = PostParams::default();
    futures::stream::iter(objects)
        .map(|obj| {
            let pp = &pp;
            async move { api.create(pp, &obj).await }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("create objects");
}

/// A status like the one the operator writes for a connected number: every mirrored field, the
/// four conditions with the operator's reasons and messages, health of the four entities.
fn representative_status(number: &Number, account: &str) -> WhatsAppChannelStatus {
    let now = jiff::Timestamp::now();
    let e164 = format!("+{}", number.digits);
    let mut conditions = Vec::new();
    for (type_, reason, message) in [
        (
            condition::READY,
            condition_reason::AVAILABLE,
            format!("number {e164} is CONNECTED and can send messages"),
        ),
        (
            condition::REGISTERED,
            condition_reason::REGISTERED,
            "the number is registered on the Cloud API with status CONNECTED".to_string(),
        ),
        (
            condition::SYNCED,
            condition_reason::SYNC_SUCCEEDED,
            format!("read from the latest sync of WhatsAppBusinessAccount {account}"),
        ),
    ] {
        set_condition(
            &mut conditions,
            type_,
            ConditionStatus::True,
            reason,
            message,
            Some(1),
            now,
        );
    }
    set_condition(
        &mut conditions,
        condition::STALLED,
        ConditionStatus::False,
        condition_reason::NO_ACTION_NEEDED,
        "no human action is needed",
        Some(1),
        now,
    );
    let entity = |type_: &str, id: String| HealthEntityStatus {
        entity_type: type_.to_string(),
        id: Some(id),
        can_send_message: "AVAILABLE".into(),
        ..HealthEntityStatus::default()
    };
    let s = |v: &str| Some(v.to_string());
    WhatsAppChannelStatus {
        observed_generation: Some(1),
        conditions,
        phase: Phase::Connected,
        e164: Some(e164),
        phone_number_id: Some(number.id.clone()),
        display_phone_number: Some(number.display()),
        verified_name: Some(format!("Bench {}", number.channel)),
        status: s("CONNECTED"),
        quality_rating: s("GREEN"),
        messaging_limit: s("TIER_2K"),
        messaging_limit_tier: s("TIER_1K"),
        name_status: s("APPROVED"),
        new_name_status: s("NONE"),
        code_verification_status: s("VERIFIED"),
        platform_type: s("CLOUD_API"),
        throughput: s("STANDARD"),
        account_mode: s("LIVE"),
        is_on_biz_app: Some(false),
        is_pin_enabled: Some(true),
        last_onboarded_time: s("2025-11-03T08:00:00+0000"),
        health: Some(HealthSummary {
            can_send_message: s("AVAILABLE"),
            entities: vec![
                entity("PHONE_NUMBER", number.id.clone()),
                entity("WABA", waba_id(number.account)),
                entity("BUSINESS", BUSINESS_ID.into()),
                entity("APP", APP_ID.into()),
            ],
            ..HealthSummary::default()
        }),
        registration: None,
        sync: SyncStatus {
            last_sync_time: Some(status_time(now)),
            ..SyncStatus::default()
        },
        ..WhatsAppChannelStatus::default()
    }
}

/// The status patch the operator sends (see `controller::apply`), for one channel.
fn status_patch(number: &Number) -> Value {
    json!({
        "apiVersion": "whatsapp-operator.io/v1alpha1",
        "kind": "WhatsAppChannel",
        "status": representative_status(number, &account_name(number.account)),
    })
}

/// Server-side-applies every status with the operator's concurrency; returns how long it took.
async fn baseline(client: &Client, ns: &str, numbers: &[Number]) -> Duration {
    let api: Api<WhatsAppChannel> = Api::namespaced(client.clone(), ns);
    let patches: Vec<(&str, Value)> = numbers
        .iter()
        .map(|n| (n.channel.as_str(), status_patch(n)))
        .collect();
    let params = PatchParams::apply("whatsapp-operator-bench").force();
    let started = Instant::now();
    futures::stream::iter(patches)
        .map(|(name, patch)| {
            let (api, params) = (&api, &params);
            async move { api.patch_status(name, params, &Patch::Apply(&patch)).await }
        })
        .buffer_unordered(OPERATOR_CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("server-side apply of a status");
    started.elapsed()
}

/// VmRSS and VmHWM (peak) of a process, in KiB.
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Names of Ready objects, kept from a watch.
#[derive(Default)]
struct ReadySet {
    ready: HashSet<String>,
    /// Events after the initial list: each is a write to one of the objects.
    changes: u64,
    /// One status as the operator wrote it, for the size comparison.
    sample: Option<Value>,
}

impl ReadySet {
    fn observe<K: Resource>(&mut self, obj: &K, ready: bool, status: Option<Value>) {
        let name = obj.meta().name.clone().unwrap_or_default();
        if ready {
            if self.sample.is_none() {
                self.sample = status;
            }
            self.ready.insert(name);
        } else {
            self.ready.remove(&name);
        }
    }
}

fn channel_ready(ch: &WhatsAppChannel) -> bool {
    ch.status
        .as_ref()
        .is_some_and(|s| condition_is_true(&s.conditions, condition::READY))
}

fn template_ready(t: &WhatsAppMessageTemplate) -> bool {
    t.status
        .as_ref()
        .is_some_and(|s| condition_is_true(&s.conditions, condition::READY))
}

fn account_ready(acc: &WhatsAppBusinessAccount) -> bool {
    acc.status
        .as_ref()
        .is_some_and(|s| condition_is_true(&s.conditions, condition::READY))
}

type Events<K> = futures::stream::BoxStream<'static, Result<watcher::Event<K>, watcher::Error>>;

/// Starts a watch and consumes its initial list, so the operator later competes only with the
/// watch's events, not with a 10,000-object list.
async fn primed_watch<K>(api: Api<K>, set: &mut ReadySet, ready: fn(&K) -> bool) -> Events<K>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    K::DynamicType: Default,
{
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    loop {
        match stream.next().await.expect("watch ended").expect("watch") {
            watcher::Event::InitApply(obj) => set.observe(&obj, ready(&obj), None),
            watcher::Event::InitDone => return stream,
            _ => {}
        }
    }
}

/// Average JSON size of a channel as a watch delivers it, and of its managedFields: what each
/// entry of the operator's channel cache is deserialised from.
async fn cached_object_sizes(api: &Api<WhatsAppChannel>) -> (usize, usize) {
    let list = api
        .list(&ListParams::default())
        .await
        .expect("list the channels");
    let n = list.items.len().max(1);
    let (whole, managed) = list.items.iter().fold((0, 0), |(w, m), ch| {
        (
            w + serde_json::to_string(ch).map_or(0, |s| s.len()),
            m + serde_json::to_string(&ch.metadata.managed_fields).map_or(0, |s| s.len()),
        )
    });
    (whole / n, managed / n)
}

struct Sizes {
    accounts: usize,
    per_account: usize,
    templates_per_account: usize,
    steady: Duration,
    timeout: Duration,
}

fn main() {
    let sizes = Sizes {
        accounts: env_or("WAO_BENCH_ACCOUNTS", 1000) as usize,
        per_account: env_or("WAO_BENCH_CHANNELS_PER_ACCOUNT", 10) as usize,
        templates_per_account: env_or("WAO_BENCH_TEMPLATES_PER_ACCOUNT", 20) as usize,
        steady: Duration::from_secs(env_or("WAO_BENCH_STEADY_SECONDS", 30)),
        timeout: Duration::from_secs(env_or("WAO_BENCH_TIMEOUT_SECONDS", 900)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench(sizes));
}

async fn bench(sizes: Sizes) {
    let Sizes {
        accounts,
        per_account,
        templates_per_account,
        ..
    } = sizes;
    let total = accounts * per_account;
    let total_templates = accounts * templates_per_account;
    println!(
        "cold_start: {total} channels and {total_templates} templates in {accounts} accounts \
         ({per_account} channels, {templates_per_account} templates per account), \
         operator concurrency {OPERATOR_CONCURRENCY} per controller"
    );
    let client = harness::control_plane().client();
    harness::install_crds(&client).await;
    let ns_a = harness::fresh_namespace(&client, "bench-cold-start").await;
    let ns_b = harness::fresh_namespace(&client, "bench-baseline").await;
    let sim = Sim::start_with(&sim_state(accounts, per_account, templates_per_account));

    let numbers: Vec<Number> = (0..accounts)
        .flat_map(|a| (0..per_account).map(move |n| Number::new(a, n, per_account)))
        .collect();

    // 1. The operator's namespace: token, accounts, channels.
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": TOKEN_SECRET},
        "stringData": {"token": TOKEN},
    }))
    .expect("Secret");
    Api::<Secret>::namespaced(client.clone(), &ns_a)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the token Secret");
    let started = Instant::now();
    let account_api: Api<WhatsAppBusinessAccount> = Api::namespaced(client.clone(), &ns_a);
    create_all(&account_api, (0..accounts).map(account_object).collect()).await;
    let channel_api: Api<WhatsAppChannel> = Api::namespaced(client.clone(), &ns_a);
    create_all(&channel_api, numbers.iter().map(channel_object).collect()).await;
    let template_api: Api<WhatsAppMessageTemplate> = Api::namespaced(client.clone(), &ns_a);
    let template_objects = (0..accounts)
        .flat_map(|a| (0..templates_per_account).map(move |t| template_object(a, t)))
        .collect();
    create_all(&template_api, template_objects).await;
    let created_a = started.elapsed();
    println!(
        "  created {accounts} accounts + {total} channels + {total_templates} templates in {} \
         ({:.0} objects/s)",
        secs(created_a),
        (accounts + total + total_templates) as f64 / created_a.as_secs_f64()
    );

    // 2. Baseline: the same channels where no operator looks, and a bare client applying status.
    let started = Instant::now();
    let baseline_api: Api<WhatsAppChannel> = Api::namespaced(client.clone(), &ns_b);
    create_all(&baseline_api, numbers.iter().map(channel_object).collect()).await;
    println!(
        "  created {total} baseline channels in {}",
        secs(started.elapsed())
    );
    let base = baseline(&client, &ns_b, &numbers).await;
    let baseline_status_bytes = status_patch(&numbers[0])["status"].to_string().len();
    println!(
        "  baseline: bare client server-side-applied {total} statuses in {} ({:.0}/s, \
         {OPERATOR_CONCURRENCY} at a time, {baseline_status_bytes} bytes each)",
        secs(base),
        total as f64 / base.as_secs_f64()
    );

    // 3. The operator from a cold start, watched until everything is Ready.
    let mut channels = ReadySet::default();
    let mut accounts_ready = ReadySet::default();
    let listing = Instant::now();
    let mut channel_events = primed_watch(channel_api.clone(), &mut channels, channel_ready).await;
    println!(
        "  listing the {total} channels for a watch took {}",
        secs(listing.elapsed())
    );
    let mut account_events =
        primed_watch(account_api.clone(), &mut accounts_ready, account_ready).await;
    let mut templates = ReadySet::default();
    let mut template_events =
        primed_watch(template_api.clone(), &mut templates, template_ready).await;
    let started = Instant::now();
    let log_filter =
        std::env::var("WAO_BENCH_OPERATOR_LOG").unwrap_or_else(|_| OPERATOR_LOG_FILTER.into());
    let operator = Operator::start_with_log(&ns_a, &sim.base_url(), &[], &log_filter);
    let pid = operator.pid().expect("operator pid");
    let mut sample = tokio::time::interval(SAMPLE_PERIOD);
    let mut last_progress = Instant::now();
    let mut rss_peak_sampled = 0u64;
    let mut rss_at_ready = None;
    let mut first_channel_ready = None;
    let mut half_ready = None;
    let mut all_channels_ready = None;
    let mut all_accounts_ready = None;
    let mut all_templates_ready = None;
    let mut graph_at_ready = None;
    let mut changes_at_ready = 0;
    let mut steady_until = None;
    let mut timed_out = false;
    loop {
        tokio::select! {
            ev = channel_events.next() => {
                // A watch that had to list again reports objects as InitApply.
                if let watcher::Event::Apply(ch) | watcher::Event::InitApply(ch) =
                    ev.expect("watch ended").expect("watch")
                {
                    channels.changes += 1;
                    let status = ch.status.as_ref().map(|s| json!(s));
                    channels.observe(&ch, channel_ready(&ch), status);
                }
            }
            ev = template_events.next() => {
                if let watcher::Event::Apply(t) | watcher::Event::InitApply(t) =
                    ev.expect("watch ended").expect("watch")
                {
                    templates.changes += 1;
                    templates.observe(&t, template_ready(&t), None);
                }
            }
            ev = account_events.next() => {
                if let watcher::Event::Apply(acc) | watcher::Event::InitApply(acc) =
                    ev.expect("watch ended").expect("watch")
                {
                    accounts_ready.changes += 1;
                    accounts_ready.observe(&acc, account_ready(&acc), None);
                }
            }
            _ = sample.tick() => {
                if let Some((rss, _)) = rss_kib(pid) {
                    rss_peak_sampled = rss_peak_sampled.max(rss);
                }
                if let Some(until) = steady_until {
                    if Instant::now() >= until {
                        break;
                    }
                } else if started.elapsed() > sizes.timeout {
                    timed_out = true;
                    break;
                }
                if last_progress.elapsed() >= PROGRESS_PERIOD {
                    last_progress = Instant::now();
                    println!(
                        "    t={:>6}: accounts Ready {}/{accounts}, channels Ready {}/{total}, \
                         templates Ready {}/{total_templates}, RSS {}",
                        secs(started.elapsed()),
                        accounts_ready.ready.len(),
                        channels.ready.len(),
                        templates.ready.len(),
                        rss_kib(pid).map_or_else(|| "?".into(), |(r, _)| mib(r))
                    );
                }
            }
        }
        let elapsed = started.elapsed();
        if first_channel_ready.is_none() && !channels.ready.is_empty() {
            first_channel_ready = Some(elapsed);
        }
        if half_ready.is_none() && channels.ready.len() * 2 >= total {
            half_ready = Some(elapsed);
        }
        if all_channels_ready.is_none() && channels.ready.len() == total {
            all_channels_ready = Some(elapsed);
        }
        if all_accounts_ready.is_none() && accounts_ready.ready.len() == accounts {
            all_accounts_ready = Some(elapsed);
        }
        if all_templates_ready.is_none() && templates.ready.len() == total_templates {
            all_templates_ready = Some(elapsed);
        }
        if steady_until.is_none()
            && all_channels_ready.is_some()
            && all_accounts_ready.is_some()
            && all_templates_ready.is_some()
        {
            rss_at_ready = rss_kib(pid);
            graph_at_ready = Some(sim.graph_requests().await);
            changes_at_ready = channels.changes + accounts_ready.changes + templates.changes;
            steady_until = Some(Instant::now() + sizes.steady);
            println!(
                "    t={:>6}: everything Ready; watching {} of steady state",
                secs(elapsed),
                secs(sizes.steady)
            );
        }
    }
    let steady_rss = rss_kib(pid);
    let steady_writes = steady_until.map(|_| {
        (channels.changes + accounts_ready.changes + templates.changes)
            .saturating_sub(changes_at_ready)
    });
    let graph_total = sim.graph_requests().await;
    let meta_writes = sim.writes().await;
    let template_writes = meta_writes
        .iter()
        .filter(|c| c.path.contains("message_templates") || c.path.contains("/50000"))
        .count();
    let cached = cached_object_sizes(&channel_api).await;
    let metrics = operator.metrics().await;
    let log = operator.log_text();
    let log_lines = log.lines().count();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    let operator_status_bytes = channels.sample.as_ref().map(|s| s.to_string().len());
    drop(operator);

    let (peak_hwm, steady_kib) = steady_rss.map_or((None, None), |(r, h)| (Some(h), Some(r)));
    let peak = peak_hwm.unwrap_or(rss_peak_sampled).max(rss_peak_sampled);
    let all_ready = match (all_channels_ready, all_accounts_ready, all_templates_ready) {
        (Some(c), Some(a), Some(t)) => Some(c.max(a).max(t)),
        _ => None,
    };
    let opt = |d: Option<Duration>| d.map_or_else(|| "never".to_string(), secs);

    println!();
    println!("cold_start summary ({total} channels, {accounts} accounts)");
    println!(
        "  objects created (operator namespace): {}",
        secs(created_a)
    );
    println!("  baseline SSA of {total} statuses:     {}", secs(base));
    println!(
        "  operator: first channel Ready {}, half {}, all channels {}, all accounts {}, \
         all {total_templates} templates {}",
        opt(first_channel_ready),
        opt(half_ready),
        opt(all_channels_ready),
        opt(all_accounts_ready),
        opt(all_templates_ready)
    );
    match all_ready {
        Some(t) => {
            let ratio = t.as_secs_f64() / base.as_secs_f64();
            println!(
                "  time to all Ready: {} = {ratio:.2}x baseline  (budget {READY_BUDGET_RATIO}x: {})",
                secs(t),
                if ratio <= READY_BUDGET_RATIO {
                    "PASS"
                } else {
                    "OVER"
                }
            );
        }
        None => println!(
            "  time to all Ready: not reached within {} (timed out: {timed_out}): OVER",
            secs(sizes.timeout)
        ),
    }
    let rss_verdict = |kib: u64| {
        if kib as f64 / 1024.0 < RSS_BUDGET_MIB {
            "PASS"
        } else {
            "OVER"
        }
    };
    println!(
        "  operator RSS: at all Ready {}, after {} steady {}, peak {} (sampled {})  \
         (budget < {RSS_BUDGET_MIB} MiB: {})",
        rss_at_ready.map_or_else(|| "?".into(), |(r, _)| mib(r)),
        secs(sizes.steady),
        steady_kib.map_or_else(|| "?".into(), mib),
        mib(peak),
        mib(rss_peak_sampled),
        rss_verdict(peak)
    );
    println!(
        "  Graph requests: {} until all Ready, {graph_total} in total ({accounts} accounts)",
        graph_at_ready.map_or_else(|| "?".into(), |n| n.to_string())
    );
    println!(
        "  writes to Meta: {} ({template_writes} of them to templates; adoption budget 0)",
        meta_writes.len()
    );
    println!(
        "  writes seen during steady state: {}; status size: operator {} bytes, \
         baseline {baseline_status_bytes} bytes",
        steady_writes.map_or_else(|| "n/a".into(), |n| n.to_string()),
        operator_status_bytes.map_or_else(|| "?".into(), |n| n.to_string())
    );
    println!(
        "  a channel as the apiserver serves it (the operator's cache drops managedFields): {} bytes of JSON, {} of them managedFields",
        cached.0, cached.1
    );
    println!(
        "  operator log: {log_lines} lines, {} warnings",
        warnings.len()
    );
    for line in warnings.iter().take(WARNINGS_SHOWN) {
        println!("    {}", line.chars().take(300).collect::<String>());
    }
    println!(
        "  operator metrics: /metrics is {} lines, {} KiB; reconciles and Graph calls:",
        metrics.lines().count(),
        metrics.len() / 1024
    );
    for line in metrics.lines().filter(|l| {
        l.starts_with("whatsapp_operator_reconciles_total")
            || l.starts_with("whatsapp_operator_reconcile_duration_seconds_sum")
            || l.starts_with("whatsapp_operator_reconcile_duration_seconds_count")
            || l.starts_with("whatsapp_operator_events_published_total")
            || l.starts_with("whatsapp_operator_graph_requests_total")
    }) {
        println!("    {line}");
    }
    if timed_out {
        eprintln!("cold_start: the operator did not make everything Ready in time");
        std::process::exit(1);
    }
}
