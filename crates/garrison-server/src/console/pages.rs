//! Overview, workloads, alerts and vulnerabilities.

use super::chart;
use super::{
    csrf_field, layout, nz, offset_of, pager, severity, when, ConsoleError, ConsoleForm,
    ConsoleQuery, Health, PageResult, Viewer, PAGE,
};
use crate::model::{Agent, AlertRecord, Role, SEVERITIES};
use crate::store::{
    now_ms, AlertFilter, VulnFilter, WorkloadFilter, WorkloadSort, WorkloadState, DAY_MS,
};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// Days the overview chart covers.
const CHART_DAYS: i64 = 14;

fn agents_by_id(agents: &[Agent]) -> HashMap<&str, &Agent> {
    agents.iter().map(|a| (a.id.as_str(), a)).collect()
}

fn host_of<'a>(agents: &HashMap<&str, &'a Agent>, id: &'a str) -> &'a str {
    agents.get(id).map(|a| a.hostname.as_str()).unwrap_or(id)
}

fn min_severity(s: &Option<String>) -> Result<Option<i64>, ConsoleError> {
    Ok(crate::api::min_severity(nz(s).as_deref())?)
}

fn severity_select(name: &str, current: &Option<String>, any: &str) -> Markup {
    let cur = nz(current).map(|s| s.to_ascii_uppercase());
    html! {
        select name=(name) id=(name) {
            option value="" { (any) }
            @for s in SEVERITIES.iter().rev() {
                option value=(s) selected[cur.as_deref() == Some(*s)] { (s) " and above" }
            }
        }
    }
}

// ------------------------------------------------------------- overview

/// `/`: workloads by kind and health, open alerts by severity over time, top
/// vulnerabilities, agents' health.
pub async fn overview(v: Viewer, State(st): State<AppState>) -> PageResult {
    let now = now_ms();
    let agents = st.store.list_agents().await?;
    let by_id = agents_by_id(&agents);
    let counts = st.store.workload_counts().await?;
    let today = now / DAY_MS;
    let rows = st
        .store
        .alert_day_counts((today - (CHART_DAYS - 1)) * DAY_MS)
        .await?;
    let series = chart::open_per_day(&rows, today, CHART_DAYS);
    let open_now = series.last().map(|(_, p)| *p).unwrap_or_default();
    let (top, top_total) = st.store.advisory_counts(0, 0, 10).await?;

    // Workloads: kind x health of the reporting agent.
    let mut kinds: Vec<String> = counts.iter().map(|c| c.kind.clone()).collect();
    kinds.dedup();
    let mut grid: HashMap<(String, Health), i64> = HashMap::new();
    for c in &counts {
        let h = by_id
            .get(c.agent_id.as_str())
            .map(|a| Health::of(a, now))
            .unwrap_or(Health::NeverSeen);
        *grid.entry((c.kind.clone(), h)).or_default() += c.count;
    }
    let total_workloads: i64 = counts.iter().map(|c| c.count).sum();

    let body = html! {
        h1 { "Overview" }
        div.cards {
            section.card #workloads-summary {
                h2 { "Workloads " span.big { (total_workloads) } }
                @if kinds.is_empty() {
                    p.muted { "No workload has been reported yet: enroll an agent (Settings › Enrollment tokens)." }
                } @else {
                    table.grid {
                        thead { tr { th { "Kind" } @for h in Health::ALL { th { (h.badge()) } } th { "All" } } }
                        tbody {
                            @for k in &kinds {
                                tr {
                                    th { a href=(format!("/workloads?kind={k}")) { (k) } }
                                    @for h in Health::ALL {
                                        td.num { (grid.get(&(k.clone(), h)).copied().unwrap_or(0)) }
                                    }
                                    td.num { (counts.iter().filter(|c| &c.kind == k).map(|c| c.count).sum::<i64>()) }
                                }
                            }
                        }
                    }
                }
            }
            section.card #open-alerts-now {
                h2 { "Open alerts " span.big { (open_now.iter().sum::<i64>()) } }
                ul.chips {
                    @for rank in (1..6).rev() {
                        li { a href=(format!("/alerts?status=open&severity={}", SEVERITIES[rank])) {
                            (severity(SEVERITIES[rank])) " " (open_now[rank])
                        } }
                    }
                }
                p.muted { "Open and acknowledged alerts (not yet resolved)." }
            }
        }
        section.card #open-alerts-chart {
            h2 { "Open alerts by severity, last " (CHART_DAYS) " days" }
            (chart::open_alerts_svg(&series))
        }
        section.card #top-vulnerabilities {
            h2 { "Top vulnerabilities" }
            @if top.is_empty() {
                p.muted { "No vulnerability has been reported." }
            } @else {
                (advisory_table(&top))
                @if top_total > 10 { p { a href="/vulnerabilities" { "All " (top_total) " advisories ›" } } }
            }
        }
        section.card #agents {
            h2 { "Agents" }
            (agents_table(&agents, now))
        }
    };
    Ok(layout(&v, "Overview", "/", body))
}

fn advisory_table(items: &[crate::store::AdvisoryCount]) -> Markup {
    html! {
        table.list {
            thead { tr { th { "Advisory" } th { "Severity" } th.num { "Risk" } th { "Package" } th.num { "Workloads" } th { "Summary" } } }
            tbody {
                @for a in items {
                    @let sev = SEVERITIES.get(usize::try_from(a.severity_rank).unwrap_or(0)).copied().unwrap_or("UNKNOWN");
                    tr {
                        td { a href=(format!("/vulnerabilities/findings?{}", serde_urlencoded::to_string([("id", &a.id)]).unwrap_or_default())) { (a.id) } }
                        td { (severity(sev)) }
                        td.num { (format!("{:.1}", a.risk_score)) }
                        td { (a.package) @if a.packages > 1 { " +" (a.packages - 1) } }
                        td.num { (a.workloads) }
                        td.summary { (a.summary.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

/// The policy version in force at an agent (short), and whether it is the one
/// its group wants.
fn policy_state(a: &Agent) -> Markup {
    let short = |v: &str| v.chars().take(12).collect::<String>();
    html! {
        @match (&a.policy_version, &a.group_policy_version) {
            (None, None) => { span.muted { "local rules" } }
            (Some(have), Some(want)) if have == want => { code title=(have) { (short(have)) } " " span.muted { "(current)" } }
            (have, Some(want)) => {
                @if let Some(h) = have { code title=(h) { (short(h)) } " " }
                span.warn title=(want) { "pending " (short(want)) }
            }
            (Some(have), None) => { code title=(have) { (short(have)) } " " span.warn { "(group has none)" } }
        }
    }
}

fn agents_table(agents: &[Agent], now: i64) -> Markup {
    html! {
        @if agents.is_empty() {
            p.muted { "No agent has enrolled yet." }
        } @else {
            table.list {
                thead { tr { th { "Host" } th { "Health" } th { "Last heartbeat" } th { "Sensor" } th.num { "Lost events" } th { "Version" } th { "Kernel" } th { "Group" } th { "Policy in force" } } }
                tbody {
                    @for a in agents {
                        tr data-agent=(a.id) {
                            td { a href=(format!("/alerts?agent_id={}", a.id)) title=(a.id) { (a.hostname) } }
                            td { (Health::of(a, now).badge()) }
                            td { (a.last_seen_at.as_deref().map(when).unwrap_or_else(|| "never".into())) }
                            td { (a.sensor_mode.as_deref().unwrap_or("—")) }
                            td.num { (a.lost_events.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                            td { (a.version.as_deref().unwrap_or("—")) }
                            td { (a.kernel.as_deref().unwrap_or("—")) }
                            td { (a.group) }
                            td.policy { (policy_state(a)) }
                        }
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------ workloads

/// Workload list filters.
#[derive(Debug, Deserialize)]
pub struct WorkloadsQuery {
    kind: Option<String>,
    q: Option<String>,
    state: Option<String>,
    agent_id: Option<String>,
    offset: Option<i64>,
}

/// `/workloads`: hosts and containers with their agent's health.
pub async fn workloads(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleQuery(q): ConsoleQuery<WorkloadsQuery>,
) -> PageResult {
    let offset = offset_of(q.offset)?;
    let kind = nz(&q.kind);
    if let Some(k) = &kind {
        if !matches!(k.as_str(), "host" | "container" | "image") {
            return Err(ConsoleError::new(
                StatusCode::BAD_REQUEST,
                format!("kind {k:?} is not one of host, container, image"),
            ));
        }
    }
    let state_arg = nz(&q.state).unwrap_or_else(|| "current".into());
    let state = match state_arg.as_str() {
        "current" => WorkloadState::Current,
        "gone" => WorkloadState::Gone,
        "all" => WorkloadState::All,
        s => {
            return Err(ConsoleError::new(
                StatusCode::BAD_REQUEST,
                format!("state {s:?} is not one of current, gone, all"),
            ))
        }
    };
    let f = WorkloadFilter {
        agent_id: nz(&q.agent_id),
        kind: kind.clone(),
        q: nz(&q.q),
        state,
        sort: WorkloadSort::Name,
    };
    let page = st.store.list_workloads(&f, offset, PAGE).await?;
    let agents = st.store.list_agents().await?;
    let by_id = agents_by_id(&agents);
    let now = now_ms();
    let body = html! {
        h1 { "Workloads" }
        form.filters method="get" action="/workloads" {
            label { "Kind " select name="kind" {
                option value="" { "any" }
                @for k in ["host", "container", "image"] { option value=(k) selected[kind.as_deref() == Some(k)] { (k) } }
            } }
            label { "Name " input type="search" name="q" value=(nz(&q.q).unwrap_or_default()); }
            label { "State " select name="state" {
                @for (s, label) in [("current", "running / reporting"), ("gone", "gone containers"), ("all", "all")] { option value=(s) selected[state_arg == s] { (label) } }
            } }
            @if let Some(a) = nz(&q.agent_id) { input type="hidden" name="agent_id" value=(a); }
            button type="submit" { "Filter" }
        }
        (workload_table(&page.items, &by_id, now))
        (pager("/workloads", &[("kind", kind.unwrap_or_default()), ("q", nz(&q.q).unwrap_or_default()), ("state", nz(&q.state).unwrap_or_default()), ("agent_id", nz(&q.agent_id).unwrap_or_default())], offset, PAGE, page.total))
    };
    Ok(layout(&v, "Workloads", "/workloads", body))
}

fn workload_table(
    items: &[crate::model::Workload],
    by_id: &HashMap<&str, &Agent>,
    now: i64,
) -> Markup {
    html! {
        table.list #workload-list {
            thead { tr { th { "Name" } th { "Kind" } th { "Image" } th { "Agent" } th { "Health" } th { "Distro" } th.num { "Packages" } th.num { "Vulnerabilities" } th { "Reported" } } }
            tbody {
                @for w in items {
                    @let agent = by_id.get(w.agent_id.as_str());
                    tr {
                        td { a href=(format!("/workloads/{}", w.id)) { (w.name) } }
                        td { (w.kind) }
                        td { @match &w.image { Some(i) => { code { (i) } } None => { "—" } } }
                        td { (host_of(by_id, &w.agent_id)) }
                        td { @match &w.gone_at {
                            Some(g) => { span.health.health-gone title=(format!("no longer running since {}", when(g))) { "gone" } }
                            None => { (agent.map(|a| Health::of(a, now)).unwrap_or(Health::NeverSeen).badge()) }
                        } }
                        td { (w.distro.as_deref().unwrap_or("—")) }
                        td.num { (w.packages_scanned) }
                        td.num { (w.findings) }
                        td { (when(&w.reported_at)) }
                    }
                }
            }
        }
    }
}

/// Workload detail paging.
#[derive(Debug, Deserialize)]
pub struct WorkloadQuery {
    offset: Option<i64>,
}

/// `/workloads/{id}`: the workload, its agent's health, its vulnerable
/// packages and its alerts.
pub async fn workload(
    v: Viewer,
    State(st): State<AppState>,
    Path(id): Path<String>,
    ConsoleQuery(q): ConsoleQuery<WorkloadQuery>,
) -> PageResult {
    let offset = offset_of(q.offset)?;
    let Some(w) = st.store.workload(&id).await? else {
        return Err(ConsoleError::new(
            StatusCode::NOT_FOUND,
            format!("no workload {id:?}"),
        ));
    };
    let agent = st.store.agent(&w.agent_id).await?;
    let vulns = st
        .store
        .list_vulns(
            &VulnFilter {
                workload_id: Some(w.id.clone()),
                ..Default::default()
            },
            offset,
            PAGE,
        )
        .await?;
    // Alerts: the agent's; for a container, those raised in it.
    let mut alerts = st
        .store
        .list_alerts(
            &AlertFilter {
                agent_id: Some(w.agent_id.clone()),
                ..Default::default()
            },
            0,
            if w.kind == "container" { 500 } else { PAGE },
        )
        .await?
        .items;
    if w.kind == "container" {
        alerts.retain(|a| a.container_id.is_some() && a.container_id == w.container_id);
        alerts.truncate(usize::try_from(PAGE).unwrap_or(25));
    }
    let now = now_ms();
    let body = html! {
        p.crumbs { a href="/workloads" { "Workloads" } " › " (w.kind) }
        h1 { (w.name) }
        div.cards {
            section.card #workload-facts {
                h2 { "Workload" }
                dl.facts {
                    dt { "Kind" } dd { (w.kind) }
                    @if let Some(i) = &w.image { dt { "Image" } dd { code { (i) } } }
                    @if let Some(c) = &w.container_id { dt { "Container" } dd { code { (c) } } }
                    @if let Some(g) = &w.gone_at { dt { "Gone" } dd { span.health.health-gone { "gone" } " no longer running since " (when(g)) } }
                    dt { "Distro" } dd { (w.distro.as_deref().unwrap_or("—")) }
                    dt { "Packages" } dd { (w.packages_scanned) }
                    dt { "Vulnerabilities" } dd { (w.findings) }
                    dt { "Reported" } dd { (when(&w.reported_at)) }
                }
            }
            section.card #agent-health {
                h2 { "Agent" }
                @match &agent {
                    None => { p.muted { "The reporting agent is gone." } }
                    Some(a) => {
                        dl.facts {
                            dt { "Host" } dd { (a.hostname) }
                            dt { "Health" } dd { (Health::of(a, now).badge()) }
                            dt { "Last heartbeat" } dd { (a.last_seen_at.as_deref().map(when).unwrap_or_else(|| "never".into())) }
                            dt { "Sensor mode" } dd { (a.sensor_mode.as_deref().unwrap_or("—")) }
                            dt { "Lost events" } dd { (a.lost_events.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                            dt { "Version" } dd { (a.version.as_deref().unwrap_or("—")) }
                            dt { "Kernel" } dd { (a.kernel.as_deref().unwrap_or("—")) }
                            dt { "Clock skew" } dd { (a.clock_skew_ms.map(|s| format!("{s} ms")).unwrap_or_else(|| "—".into())) }
                            dt { "Agent ID" } dd { code { (a.id) } }
                        }
                        @if let Some(Value::Object(c)) = &a.counters {
                            @if !c.is_empty() {
                                details { summary { "Counters" }
                                    table.grid { tbody { @for (k, n) in c { tr { th { (k) } td.num { (n.to_string()) } } } } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #workload-vulnerabilities {
            h2 { "Vulnerable packages" }
            (findings_table(&vulns.items, false))
            (pager(&format!("/workloads/{}", w.id), &[], offset, PAGE, vulns.total))
        }
        section.card #workload-alerts {
            h2 { "Alerts" }
            (alert_table(&alerts, &agent.iter().map(|a| (a.id.as_str(), a)).collect()))
            p { a href=(format!("/alerts?agent_id={}", w.agent_id)) { "All alerts of this agent ›" } }
        }
    };
    Ok(layout(&v, &w.name, "/workloads", body))
}

fn findings_table(items: &[crate::model::VulnRecord], with_workload: bool) -> Markup {
    html! {
        table.list.findings {
            thead { tr {
                @if with_workload { th { "Workload" } }
                th { "Advisory" } th { "Severity" } th.num { "Risk" } th { "Package" } th { "Version" } th { "Fixed in" } th { "Summary" }
            } }
            tbody {
                @for f in items {
                    tr {
                        @if with_workload { td { a href=(format!("/workloads/{}", f.workload_id)) { (f.workload_name) } } }
                        td { a href=(format!("/vulnerabilities/findings?{}", serde_urlencoded::to_string([("id", &f.vuln_id)]).unwrap_or_default())) { (f.vuln_id) }
                            @if let Some(c) = &f.cve { @if c != &f.vuln_id { br; small { (c) } } } }
                        td { (severity(&f.severity)) }
                        td.num { (format!("{:.1}", f.risk_score)) }
                        td.pkg { (f.package) br; small.muted { (f.ecosystem) } }
                        td { code { (f.version) } }
                        td { @if f.fixed_versions.is_empty() { span.muted { "not fixed" } } @else { (f.fixed_versions.join(", ")) } }
                        td.summary { (f.summary.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

// --------------------------------------------------------------- alerts

/// Alert list filters.
#[derive(Debug, Deserialize)]
pub struct AlertsQuery {
    severity: Option<String>,
    status: Option<String>,
    rule: Option<String>,
    agent_id: Option<String>,
    q: Option<String>,
    offset: Option<i64>,
}

/// `/alerts`: filters (severity, status, rule, agent, text) and pages.
pub async fn alerts(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleQuery(q): ConsoleQuery<AlertsQuery>,
) -> PageResult {
    let offset = offset_of(q.offset)?;
    let status = nz(&q.status);
    if let Some(s) = &status {
        if !matches!(s.as_str(), "open" | "acknowledged" | "resolved") {
            return Err(ConsoleError::new(
                StatusCode::BAD_REQUEST,
                format!("status {s:?} is not one of open, acknowledged, resolved"),
            ));
        }
    }
    let f = AlertFilter {
        min_severity: min_severity(&q.severity)?,
        status: status.clone(),
        agent_id: nz(&q.agent_id),
        rule: nz(&q.rule),
        q: nz(&q.q),
        ..Default::default()
    };
    let page = st.store.list_alerts(&f, offset, PAGE).await?;
    let agents = st.store.list_agents().await?;
    let by_id = agents_by_id(&agents);
    let agent_sel = nz(&q.agent_id);
    let params = [
        ("severity", nz(&q.severity).unwrap_or_default()),
        ("status", status.clone().unwrap_or_default()),
        ("rule", nz(&q.rule).unwrap_or_default()),
        ("agent_id", agent_sel.clone().unwrap_or_default()),
        ("q", nz(&q.q).unwrap_or_default()),
    ];
    let body = html! {
        h1 { "Alerts" }
        form.filters #alert-filters method="get" action="/alerts" {
            label { "Severity " (severity_select("severity", &q.severity, "any")) }
            label { "Status " select name="status" id="status" {
                option value="" { "any" }
                @for s in ["open", "acknowledged", "resolved"] { option value=(s) selected[status.as_deref() == Some(s)] { (s) } }
            } }
            label { "Rule " input type="text" name="rule" id="rule" value=(nz(&q.rule).unwrap_or_default()); }
            label { "Agent " select name="agent_id" id="agent_id" {
                option value="" { "any" }
                @for a in &agents { option value=(a.id) selected[agent_sel.as_deref() == Some(a.id.as_str())] { (a.hostname) } }
            } }
            label { "Text " input type="search" name="q" id="q" value=(nz(&q.q).unwrap_or_default()); }
            button type="submit" { "Filter" }
        }
        (alert_table(&page.items, &by_id))
        (pager("/alerts", &params, offset, PAGE, page.total))
    };
    Ok(layout(&v, "Alerts", "/alerts", body))
}

fn alert_table(items: &[AlertRecord], by_id: &HashMap<&str, &Agent>) -> Markup {
    html! {
        @if items.is_empty() {
            p.muted { "No alerts." }
        } @else {
            table.list #alert-list {
                thead { tr { th { "Time" } th { "Severity" } th { "Rule" } th { "Agent" } th { "Output" } th { "Status" } } }
                tbody {
                    @for a in items {
                        tr data-alert=(a.id) {
                            td { a href=(format!("/alerts/{}", a.id)) { (when(&a.time)) } }
                            td { (severity(&a.severity)) }
                            td { (a.rule) }
                            td { (host_of(by_id, &a.agent_id)) }
                            td.output { (truncate(&a.output, 160)) }
                            td { span class=(format!("status status-{}", a.status)) { (a.status) } }
                        }
                    }
                }
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn proc_line(p: &Value) -> Markup {
    html! {
        span.pname { (scalar(&p["name"])) }
        " " span.pid { "pid " (scalar(&p["pid"])) }
        @if !p["exe"].is_null() { " " code { (scalar(&p["exe"])) } }
        @if !p["cmdline"].is_null() { br; code.cmd { (scalar(&p["cmdline"])) } }
        @if !p["uid"].is_null() { " " span.muted { "uid " (scalar(&p["uid"])) } }
    }
}

/// The process tree: ancestors (outermost first) down to the process.
fn process_tree(alert: &Value) -> Markup {
    let mut chain: Vec<&Value> = alert["ancestry"]
        .as_array()
        .map(|a| a.iter().rev().collect())
        .unwrap_or_default();
    let has_proc = alert["process"].is_object();
    if has_proc {
        chain.push(&alert["process"]);
    }
    fn level(chain: &[&Value], last_is_proc: bool) -> Markup {
        match chain.split_first() {
            None => html! {},
            Some((p, rest)) => {
                let me = rest.is_empty() && last_is_proc;
                html! {
                    ul.tree {
                        li class=[me.then_some("this")] {
                            (proc_line(p))
                            (level(rest, last_is_proc))
                        }
                    }
                }
            }
        }
    }
    html! {
        @if chain.is_empty() { p.muted { "The agent sent no process information." } }
        @else { div #process-tree { (level(&chain, has_proc)) } }
    }
}

/// `/alerts/{id}`: fields, process tree, acknowledge and resolve.
pub async fn alert(v: Viewer, State(st): State<AppState>, Path(id): Path<String>) -> PageResult {
    let id = alert_id(&id)?;
    let Some(a) = st.store.alert(id).await? else {
        return Err(ConsoleError::new(
            StatusCode::NOT_FOUND,
            format!("no alert {id}"),
        ));
    };
    let agent = st.store.agent(&a.agent_id).await?;
    let body = html! {
        p.crumbs { a href="/alerts" { "Alerts" } " › " (a.id) }
        h1 { (a.rule) " " (severity(&a.severity)) }
        pre.output #alert-output { (a.output) }
        div.actions {
            "Status: " span #alert-status class=(format!("status status-{}", a.status)) { (a.status) }
            @if let (Some(by), Some(at)) = (&a.status_by, &a.status_at) { " " span.muted { "by " (by) ", " (when(at)) } }
            @if v.may(Role::Analyst) {
                @if a.status == "open" {
                    form.inline method="post" action=(format!("/alerts/{}/acknowledge", a.id)) {
                        (csrf_field(&v)) button #acknowledge type="submit" { "Acknowledge" }
                    }
                }
                @if a.status != "resolved" {
                    form.inline method="post" action=(format!("/alerts/{}/resolve", a.id)) {
                        (csrf_field(&v)) button #resolve.primary type="submit" { "Resolve" }
                    }
                }
            }
        }
        div.cards {
            section.card #alert-facts {
                h2 { "Alert" }
                dl.facts {
                    dt { "Time" } dd { (a.time) }
                    dt { "Agent's clock" } dd { (a.agent_time) }
                    dt { "Received" } dd { (a.received_at) }
                    dt { "Priority" } dd { (a.priority) }
                    dt { "Agent" } dd { (agent.as_ref().map(|x| x.hostname.as_str()).unwrap_or(a.agent_id.as_str())) " " code { (a.agent_id) } }
                    @if let Some(c) = &a.container_id { dt { "Container" } dd { code { (c) } } }
                    dt { "Process" } dd { (a.process_name) }
                    @for key in ["syscall", "source"] {
                        @if !a.alert[key].is_null() { dt { (key) } dd { (scalar(&a.alert[key])) } }
                    }
                    @if let Some(t) = a.alert["tags"].as_array() { dt { "Tags" } dd { (t.iter().map(scalar).collect::<Vec<_>>().join(", ")) } }
                    @if let Some(t) = a.alert["attack"].as_array() { dt { "ATT&CK" } dd { (t.iter().map(scalar).collect::<Vec<_>>().join(", ")) } }
                }
            }
            section.card {
                h2 { "Process tree" }
                (process_tree(&a.alert))
            }
        }
        section.card #alert-fields {
            h2 { "Fields" }
            @if let Some(Value::Object(f)) = a.alert.get("fields") {
                table.grid { tbody { @for (k, val) in f { tr { th { code { (k) } } td { (scalar(val)) } } } } }
            } @else { p.muted { "None." } }
            details { summary { "The alert as the agent sent it" }
                pre.json { (serde_json::to_string_pretty(&a.alert).unwrap_or_default()) }
            }
        }
    };
    Ok(layout(&v, &format!("Alert {}", a.id), "/alerts", body))
}

fn alert_id(s: &str) -> Result<i64, ConsoleError> {
    s.parse().map_err(|_| {
        ConsoleError::new(
            StatusCode::BAD_REQUEST,
            format!("alert ID {s:?} is not a number"),
        )
    })
}

/// A form carrying only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    pub csrf: Option<String>,
}

async fn set_status(
    v: Viewer,
    st: AppState,
    id: String,
    form: CsrfForm,
    status: &str,
    action: &str,
) -> PageResult {
    let p = v.act(form.csrf.as_deref(), Role::Analyst)?;
    let id = alert_id(&id)?;
    let _ = crate::api::set_status(&st, &p, id, status, action).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

/// `POST /alerts/{id}/acknowledge`.
pub async fn acknowledge(
    v: Viewer,
    State(st): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<CsrfForm>,
) -> PageResult {
    set_status(v, st, id, form, "acknowledged", "alert.acknowledge").await
}

/// `POST /alerts/{id}/resolve`.
pub async fn resolve(
    v: Viewer,
    State(st): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<CsrfForm>,
) -> PageResult {
    set_status(v, st, id, form, "resolved", "alert.resolve").await
}

// ------------------------------------------------------ vulnerabilities

fn vuln_tabs(active: &str) -> Markup {
    html! {
        nav.tabs {
            a href="/vulnerabilities" class=[(active == "cve").then_some("active")] { "By CVE" }
            a href="/vulnerabilities/by-workload" class=[(active == "workload").then_some("active")] { "By workload" }
        }
    }
}

/// Vulnerability list filters.
#[derive(Debug, Deserialize)]
pub struct VulnsQuery {
    severity: Option<String>,
    offset: Option<i64>,
}

/// `/vulnerabilities`: advisories across the fleet (by CVE), highest risk first.
pub async fn vulns_by_cve(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleQuery(q): ConsoleQuery<VulnsQuery>,
) -> PageResult {
    let offset = offset_of(q.offset)?;
    let min = min_severity(&q.severity)?.unwrap_or(0);
    let (items, total) = st.store.advisory_counts(min, offset, PAGE).await?;
    let body = html! {
        h1 { "Vulnerabilities" }
        (vuln_tabs("cve"))
        form.filters method="get" action="/vulnerabilities" {
            label { "Severity " (severity_select("severity", &q.severity, "any")) }
            button type="submit" { "Filter" }
        }
        @if items.is_empty() { p.muted { "No vulnerability findings." } } @else { (advisory_table(&items)) }
        (pager("/vulnerabilities", &[("severity", nz(&q.severity).unwrap_or_default())], offset, PAGE, total))
    };
    Ok(layout(&v, "Vulnerabilities", "/vulnerabilities", body))
}

/// Finding list filters.
#[derive(Debug, Deserialize)]
pub struct FindingsQuery {
    id: Option<String>,
    package: Option<String>,
    severity: Option<String>,
    offset: Option<i64>,
}

/// `/vulnerabilities/findings?id=CVE`: the findings of one advisory (or
/// package) across the fleet, workload by workload.
pub async fn vuln_findings(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleQuery(q): ConsoleQuery<FindingsQuery>,
) -> PageResult {
    let offset = offset_of(q.offset)?;
    let f = VulnFilter {
        min_severity: min_severity(&q.severity)?,
        id: nz(&q.id),
        package: nz(&q.package),
        ..Default::default()
    };
    let page = st.store.list_vulns(&f, offset, PAGE).await?;
    let title = nz(&q.id)
        .or_else(|| nz(&q.package))
        .unwrap_or_else(|| "All findings".into());
    let body = html! {
        p.crumbs { a href="/vulnerabilities" { "Vulnerabilities" } " › findings" }
        h1 { (title) }
        @if let Some(first) = page.items.first() {
            @if let Some(s) = &first.summary { p.summary { (s) } }
        }
        @if page.items.is_empty() { p.muted { "No findings." } } @else { (findings_table(&page.items, true)) }
        (pager("/vulnerabilities/findings", &[("id", nz(&q.id).unwrap_or_default()), ("package", nz(&q.package).unwrap_or_default()), ("severity", nz(&q.severity).unwrap_or_default())], offset, PAGE, page.total))
    };
    Ok(layout(&v, &title, "/vulnerabilities", body))
}

/// `/vulnerabilities/by-workload`: workloads, most findings first.
pub async fn vulns_by_workload(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleQuery(q): ConsoleQuery<WorkloadQuery>,
) -> PageResult {
    let offset = offset_of(q.offset)?;
    let page = st
        .store
        .list_workloads(
            &WorkloadFilter {
                sort: WorkloadSort::FindingsDesc,
                ..Default::default()
            },
            offset,
            PAGE,
        )
        .await?;
    let agents = st.store.list_agents().await?;
    let by_id = agents_by_id(&agents);
    let body = html! {
        h1 { "Vulnerabilities" }
        (vuln_tabs("workload"))
        (workload_table(&page.items, &by_id, now_ms()))
        (pager("/vulnerabilities/by-workload", &[], offset, PAGE, page.total))
    };
    Ok(layout(
        &v,
        "Vulnerabilities by workload",
        "/vulnerabilities",
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_and_the_tree_runs_outermost_first() {
        let a = serde_json::json!({
            "process": {"pid": 42, "name": "<script>alert(1)</script>", "cmdline": "sh -c '<b>'"},
            "ancestry": [{"pid": 7, "name": "bash"}, {"pid": 1, "name": "init"}]
        });
        let m = process_tree(&a).into_string();
        assert!(!m.contains("<script>"), "{m}");
        assert!(m.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{m}");
        let (i, b, s) = (
            m.find("init").unwrap(),
            m.find("bash").unwrap(),
            m.find("&lt;script").unwrap(),
        );
        assert!(i < b && b < s, "{m}");
        assert_eq!(truncate("abcdef", 3), "abc…");
    }
}
