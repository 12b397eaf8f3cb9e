//! The console in a real headless Chromium (Debian's chromium + chromedriver,
//! driven over WebDriver): a real server on 127.0.0.1 over TLS, an enrolled
//! agent's alert and inventory; a person logs in (after a wrong password),
//! sees the overview, opens the alert, resolves it (the API sees the change),
//! and logs out.

mod common;
use common::browser::Browser;
use common::console::*;
use common::*;

#[test]
fn a_person_logs_in_sees_the_fleet_resolves_an_alert_and_logs_out() {
    let h = Harness::start("sqlite");
    let fleet = seed_fleet(&h, "web-01");
    let alert_id = fleet.alerts[0];
    let br = Browser::start();

    // A wrong password: refused, still on the login page.
    br.login(&h.base, "admin", "not the password");
    let err = br.wait_for("#login-error");
    assert!(err.contains("wrong user name or password"), "{err}");
    assert_eq!(br.path(), "/login");

    // The right one: the overview, with the agent, its workload and the chart.
    br.login(&h.base, "admin", ADMIN_PW);
    assert_eq!(br.wait_for("#whoami"), "admin");
    assert_eq!(br.path(), "/");
    assert!(br.text("#agents").contains("web-01"));
    assert!(br.text("#agents").contains("healthy"));
    assert!(br.text("#workloads-summary").contains("host"));
    assert!(br.text("#top-vulnerabilities").contains("DSA-1-1"));
    assert!(br.exists("#open-alerts-chart svg rect.sev-fill-critical"));
    br.screenshot("overview");
    // The stylesheet loaded under the console's CSP (a rule of it is in force).
    let bg =
        br.eval("return getComputedStyle(document.querySelector('header.top')).backgroundColor");
    assert_eq!(bg, "rgb(17, 24, 39)");

    // The alerts list, filtered by text, then the alert.
    br.goto(&format!("{}/alerts?status=open", h.base));
    br.wait_for("#alert-list");
    br.fill("#q", "spawned");
    br.click("#alert-filters button[type=submit]");
    br.wait_url("q=spawned");
    br.wait_for("#alert-list");
    br.screenshot("alerts");
    br.click(&format!("tr[data-alert=\"{alert_id}\"] a"));
    let out = br.wait_for("#alert-output");
    // Hostile output is text: the script tag shows, and never ran.
    assert_eq!(out, HOSTILE_OUTPUT);
    assert_ne!(br.eval("return document.title"), "pwned");
    assert!(br.text("#process-tree").contains("sh -c id"));
    assert_eq!(br.text("#alert-status"), "open");
    br.screenshot("alert");

    // Resolve: the page says so, and so does the API.
    br.click("#resolve");
    br.wait_text("#alert-status", "resolved");
    assert!(!br.exists("#resolve"));
    let (s, v) = h.admin("GET", &format!("/api/v1/alerts/{alert_id}"), None);
    assert_eq!(s, 200);
    assert_eq!(v["status"], "resolved", "{v}");
    assert_eq!(v["status_by"], "admin", "{v}");

    // Log out: back to the login page, and the console is closed again.
    br.click("#logout");
    br.wait_for("#login");
    br.wait_url("/login");
    br.goto(&format!("{}/alerts", h.base));
    br.wait_for("#login");
    assert_eq!(br.path(), "/login");
}
