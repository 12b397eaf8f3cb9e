//! The web console over real TLS on 127.0.0.1, on SQLite and PostgreSQL:
//! pages, role awareness, CSRF on every form, security headers, the static
//! route's refusal of traversal, escaping of hostile data, and login rate
//! limits (console and API). The browser test is `console_browser.rs`.

mod common;
use common::console::*;
use common::*;
use serde_json::json;

const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[test]
fn pages_render_the_fleet_for_an_admin_with_the_console_headers() {
    for b in backends() {
        let h = Harness::start(b);
        let fleet = seed_fleet(&h, "web-01");
        // Not logged in: to the login page.
        let a = get_page(&h, "/", "");
        assert_eq!(
            (a.status, a.header("location").as_str()),
            (303, "/login"),
            "{b}"
        );
        let (a, admin) = form_login(&h, "admin", ADMIN_PW);
        assert_eq!(
            (a.status, a.header("location").as_str()),
            (303, "/"),
            "{b}: {}",
            a.body
        );
        assert!(!admin.is_empty());

        let a = get_page(&h, "/", &admin);
        assert_eq!(a.status, 200, "{b}: {}", a.body);
        assert_eq!(a.header("content-security-policy"), CONSOLE_CSP);
        assert_eq!(a.header("x-frame-options"), "DENY");
        assert_eq!(a.header("x-content-type-options"), "nosniff");
        assert!(a.header("content-type").starts_with("text/html"));
        for want in [
            "web-01",
            "0.1.0",
            "6.1.0-test",
            "ebpf",
            "health-healthy",
            "<svg",
            "sev-fill-critical",
            "DSA-1-1",
            "CVE-2024-1111",
        ] {
            assert!(
                a.body.contains(want),
                "{b}: overview lacks {want}: {}",
                a.body
            );
        }
        // No inline script anywhere, and no inline style (the CSP forbids both).
        assert!(
            !a.body.contains("<script") && !a.body.contains("style="),
            "{}",
            a.body
        );
        // The API keeps its own policy.
        let (_, _, hd) = h.call_raw(&h.client(), "GET", "/api/v1/session", &[], None);
        assert_eq!(
            hd["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );

        let pages = [
            "/workloads".to_string(),
            "/workloads?kind=host&q=web".into(),
            "/workloads?state=gone".into(),
            "/workloads?state=all&kind=container".into(),
            format!("/workloads/{}", fleet.workload_id),
            "/alerts".into(),
            format!("/alerts?severity=HIGH&status=open&rule=Terminal+shell+in+container&agent_id={}&q=spawned", fleet.agent_id),
            format!("/alerts/{}", fleet.alerts[0]),
            "/vulnerabilities".into(),
            "/vulnerabilities?severity=CRITICAL".into(),
            "/vulnerabilities/findings?id=CVE-2024-1111".into(),
            "/vulnerabilities/by-workload".into(),
            "/settings/users".into(),
            "/settings/tokens".into(),
            "/settings/enrollment".into(),
            "/settings/audit".into(),
            "/settings/audit?action=login".into(),
        ];
        for p in &pages {
            let a = get_page(&h, p, &admin);
            assert_eq!(a.status, 200, "{b}: {p}: {}", a.body);
            assert_eq!(a.header("content-security-policy"), CONSOLE_CSP, "{p}");
        }
        // Filters filter: the text filter finds the hostile alert only; the
        // severity filter leaves the LOW one out.
        let a = get_page(&h, "/alerts?q=SPAWNED", &admin);
        assert!(
            a.body
                .contains(&format!("data-alert=\"{}\"", fleet.alerts[0]))
                && !a
                    .body
                    .contains(&format!("data-alert=\"{}\"", fleet.alerts[1])),
            "{}",
            a.body
        );
        let a = get_page(&h, "/alerts?severity=HIGH", &admin);
        assert!(
            !a.body
                .contains(&format!("data-alert=\"{}\"", fleet.alerts[1])),
            "{}",
            a.body
        );
        let a = get_page(&h, "/alerts?q=%27%20OR%201%3D1%20--", &admin);
        assert_eq!(a.status, 200);
        assert!(
            !a.body.contains("data-alert="),
            "an injection attempt matched: {}",
            a.body
        );
        // The workload page: agent health, vulnerable packages, alerts.
        let a = get_page(&h, &format!("/workloads/{}", fleet.workload_id), &admin);
        for want in [
            "Last heartbeat",
            "Sensor mode",
            "Lost events",
            "requests",
            "2.32.0",
            "not fixed",
            "debian 12",
            &format!("data-alert=\"{}\"", fleet.alerts[0]),
        ] {
            assert!(
                a.body.contains(want),
                "{b}: workload page lacks {want}: {}",
                a.body
            );
        }
        // The alert page: process tree and fields.
        let a = get_page(&h, &format!("/alerts/{}", fleet.alerts[0]), &admin);
        for want in [
            "process-tree",
            "init",
            "sh -c id",
            "proc.name",
            "T1059",
            "id=\"resolve\"",
            "id=\"acknowledge\"",
        ] {
            assert!(
                a.body.contains(want),
                "{b}: alert page lacks {want}: {}",
                a.body
            );
        }
        // The settings navigation leaves room for notification targets.
        let a = get_page(&h, "/settings/users", &admin);
        assert!(a.body.contains("settings-nav") && a.body.contains("Audit log"));

        // Bad input: clear 4xx.
        for (p, want) in [
            ("/alerts?severity=bogus", 400),
            ("/alerts?status=closed", 400),
            ("/alerts?offset=-1", 400),
            ("/alerts?offset=x", 400),
            ("/alerts/abc", 400),
            ("/alerts/999999", 404),
            ("/workloads/nope", 404),
            ("/workloads?kind=vm", 400),
            ("/workloads?state=stopped", 400),
        ] {
            assert_eq!(get_page(&h, p, &admin).status, want, "{b}: {p}");
        }
    }
}

#[test]
fn hostile_alert_output_and_package_names_render_as_text() {
    let h = Harness::start("sqlite");
    let fleet = seed_fleet(&h, "web-01");
    let (_, admin) = form_login(&h, "admin", ADMIN_PW);
    for p in [
        format!("/alerts/{}", fleet.alerts[0]),
        "/alerts".into(),
        format!("/workloads/{}", fleet.workload_id),
        "/vulnerabilities".into(),
        "/vulnerabilities/findings?id=DSA-1-1".into(),
        "/".into(),
    ] {
        let a = get_page(&h, &p, &admin);
        assert_eq!(a.status, 200, "{p}");
        assert!(
            !a.body.contains("<script"),
            "{p}: raw script tag: {}",
            a.body
        );
        assert!(
            !a.body.contains("<img src=x"),
            "{p}: raw img tag: {}",
            a.body
        );
        assert!(!a.body.contains("<b>"), "{p}: raw markup: {}", a.body);
    }
    let a = get_page(&h, &format!("/alerts/{}", fleet.alerts[0]), &admin);
    assert!(
        a.body
            .contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{}",
        a.body
    );
    let a = get_page(&h, &format!("/workloads/{}", fleet.workload_id), &admin);
    assert!(
        a.body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{}",
        a.body
    );
}

#[test]
fn every_console_form_needs_the_csrf_token_and_the_role() {
    for b in backends() {
        let h = Harness::start(b);
        let fleet = seed_fleet(&h, "web-01");
        let (_, admin) = form_login(&h, "admin", ADMIN_PW);
        let csrf = get_page(&h, "/", &admin).csrf();
        let resolve = format!("/alerts/{}/resolve", fleet.alerts[0]);
        let ack = format!("/alerts/{}/acknowledge", fleet.alerts[0]);
        let status = |h: &Harness| {
            h.admin("GET", &format!("/api/v1/alerts/{}", fleet.alerts[0]), None)
                .1["status"]
                .as_str()
                .unwrap()
                .to_string()
        };
        // Missing and wrong tokens: 403, nothing changes.
        let forms: [(&str, Vec<(&str, &str)>); 13] = [
            (
                "/settings/notifications",
                vec![
                    ("name", "x"),
                    ("kind", "webhook"),
                    ("url", "http://127.0.0.1:9/"),
                ],
            ),
            ("/settings/notifications/0123456789ab/test", vec![]),
            ("/settings/notifications/0123456789ab/delete", vec![]),
            (&resolve, vec![]),
            (
                "/settings/users/role",
                vec![("username", "admin"), ("role", "read-only")],
            ),
            (&ack, vec![]),
            ("/logout", vec![]),
            (
                "/settings/users",
                vec![
                    ("username", "mallory"),
                    ("password", "a long password"),
                    ("role", "admin"),
                ],
            ),
            ("/settings/tokens", vec![("name", "x")]),
            ("/settings/enrollment", vec![("description", "x")]),
            ("/settings/tokens/0123456789ab/revoke", vec![]),
            ("/settings/enrollment/0123456789ab/revoke", vec![]),
            (&resolve, vec![("csrf", "")]),
        ];
        for (path, fields) in &forms {
            let a = post_form(&h, path, &admin, fields);
            assert_eq!(a.status, 403, "{b}: {path} without the token: {}", a.body);
            let mut wrong: Vec<_> = fields
                .iter()
                .filter(|(k, _)| *k != "csrf")
                .cloned()
                .collect();
            wrong.push(("csrf", "not-the-token"));
            let a = post_form(&h, path, &admin, &wrong);
            assert_eq!(a.status, 403, "{b}: {path} with a wrong token");
        }
        assert_eq!(status(&h), "open");
        let (_, users) = h.admin("GET", "/api/v1/users", None);
        assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
        // The session still works (logout was refused).
        assert_eq!(get_page(&h, "/", &admin).status, 200);
        // Another session's token is not this session's.
        let (_, other) = form_login(&h, "admin", ADMIN_PW);
        let other_csrf = get_page(&h, "/", &other).csrf();
        assert_ne!(other_csrf, csrf);
        assert_eq!(
            post_form(&h, &ack, &admin, &[("csrf", &other_csrf)]).status,
            403
        );
        // The login form needs its own double-submit token.
        let a = post_form(
            &h,
            "/login",
            "",
            &[("username", "admin"), ("password", ADMIN_PW)],
        );
        assert_eq!(a.status, 403, "{b}");
        let a = post_form(
            &h,
            "/login",
            "garrison_login_csrf=abc",
            &[
                ("csrf", "abd"),
                ("username", "admin"),
                ("password", ADMIN_PW),
            ],
        );
        assert_eq!(a.status, 403, "{b}");
        // Not a form: 400.
        let a = send_json(&h, &ack, &admin);
        assert_eq!(a, 400, "{b}");

        // With the token: acknowledge, then resolve; the API sees both, audited.
        let a = post_form(&h, &ack, &admin, &[("csrf", &csrf)]);
        assert_eq!(
            (a.status, a.header("location")),
            (303, format!("/alerts/{}", fleet.alerts[0])),
            "{b}: {}",
            a.body
        );
        assert_eq!(status(&h), "acknowledged");
        assert_eq!(
            post_form(&h, &resolve, &admin, &[("csrf", &csrf)]).status,
            303
        );
        assert_eq!(status(&h), "resolved");
        let (_, audit) = h.admin("GET", "/api/v1/audit?action=alert.", None);
        let actions: Vec<_> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
            .collect();
        assert_eq!(
            actions,
            [("alert.resolve", "admin"), ("alert.acknowledge", "admin")],
            "{b}"
        );

        // A read-only user sees no action buttons and is refused anyway.
        let (s, _) = h.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"username": "reader", "password": "a long password", "role": "read-only"})),
        );
        assert_eq!(s, 201);
        let (_, reader) = form_login(&h, "reader", "a long password");
        let page = get_page(&h, &format!("/alerts/{}", fleet.alerts[1]), &reader);
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("id=\"resolve\"") && !page.body.contains("id=\"acknowledge\""),
            "{}",
            page.body
        );
        let rcsrf = page.csrf();
        let a = post_form(
            &h,
            &format!("/alerts/{}/resolve", fleet.alerts[1]),
            &reader,
            &[("csrf", &rcsrf)],
        );
        assert_eq!(a.status, 403, "{b}: {}", a.body);
        assert!(a.body.contains("analyst role"), "{}", a.body);
        for p in ["/settings/users", "/settings/enrollment", "/settings/audit"] {
            assert_eq!(get_page(&h, p, &reader).status, 403, "{b}: {p}");
        }
        let nav = get_page(&h, "/settings/tokens", &reader);
        assert_eq!(nav.status, 200);
        assert!(
            !nav.body.contains("/settings/users") && !nav.body.contains("Revoke"),
            "{}",
            nav.body
        );
        assert_eq!(
            post_form(
                &h,
                "/settings/users",
                &reader,
                &[
                    ("csrf", &rcsrf),
                    ("username", "mallory"),
                    ("password", "a long password"),
                    ("role", "admin")
                ]
            )
            .status,
            403
        );
        // A read-only user may make a read-only token for itself (shown once).
        let a = post_form(
            &h,
            "/settings/tokens",
            &reader,
            &[
                ("csrf", &rcsrf),
                ("name", "ci"),
                ("role", "read-only"),
                ("expires_in_days", ""),
            ],
        );
        assert_eq!(a.status, 201, "{b}: {}", a.body);
        assert!(a.body.contains("gat_"));
        let a = post_form(
            &h,
            "/settings/tokens",
            &reader,
            &[("csrf", &rcsrf), ("name", "up"), ("role", "admin")],
        );
        assert_eq!(a.status, 403, "{b}: {}", a.body);
        let (_, list) = h.admin("GET", &format!("/api/v1/alerts/{}", fleet.alerts[1]), None);
        assert_eq!(list["status"], "open");

        // Logout with the token ends the session.
        let a = post_form(&h, "/logout", &reader, &[("csrf", &rcsrf)]);
        assert_eq!((a.status, a.header("location").as_str()), (303, "/login"));
        assert_eq!(get_page(&h, "/", &reader).status, 303);
    }
}

fn send_json(h: &Harness, path: &str, cookie: &str) -> u16 {
    let req = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{}{}", h.base, path))
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .body(b"{\"csrf\":\"x\"}".to_vec())
        .unwrap();
    page_client(h).run(req).unwrap().status().as_u16()
}

#[test]
fn settings_create_users_tokens_and_enrollment_tokens() {
    let h = Harness::start("sqlite");
    let (_, admin) = form_login(&h, "admin", ADMIN_PW);
    let csrf = get_page(&h, "/", &admin).csrf();
    // A user, with a role.
    let a = post_form(
        &h,
        "/settings/users",
        &admin,
        &[
            ("csrf", &csrf),
            ("username", "ana"),
            ("password", "a long password"),
            ("role", "analyst"),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains("User ana created with the analyst role"),
        "{}",
        a.body
    );
    let a = post_form(
        &h,
        "/settings/users",
        &admin,
        &[
            ("csrf", &csrf),
            ("username", "ana"),
            ("password", "a long password"),
            ("role", "analyst"),
        ],
    );
    assert_eq!(a.status, 409);
    let a = post_form(
        &h,
        "/settings/users",
        &admin,
        &[
            ("csrf", &csrf),
            ("username", "bob"),
            ("password", "short"),
            ("role", "analyst"),
        ],
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains("12 characters"));
    assert_eq!(
        post_form(
            &h,
            "/settings/users",
            &admin,
            &[
                ("csrf", &csrf),
                ("username", "bob"),
                ("password", "a long password"),
                ("role", "root")
            ]
        )
        .status,
        400
    );
    let (_, users) = h.admin("GET", "/api/v1/users", None);
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "ana" && u["role"] == "analyst"),
        "{users}"
    );

    // A role change, from the console and the API; not one's own.
    let a = post_form(
        &h,
        "/settings/users/role",
        &admin,
        &[("csrf", &csrf), ("username", "ana"), ("role", "read-only")],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains("ana now has the read-only role"),
        "{}",
        a.body
    );
    let (_, users) = h.admin("GET", "/api/v1/users", None);
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "ana" && u["role"] == "read-only"),
        "{users}"
    );
    let a = post_form(
        &h,
        "/settings/users/role",
        &admin,
        &[
            ("csrf", &csrf),
            ("username", "admin"),
            ("role", "read-only"),
        ],
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(
        post_form(
            &h,
            "/settings/users/role",
            &admin,
            &[("csrf", &csrf), ("username", "nobody"), ("role", "analyst")]
        )
        .status,
        404
    );
    assert_eq!(
        post_form(
            &h,
            "/settings/users/role",
            &admin,
            &[("username", "ana"), ("role", "admin")]
        )
        .status,
        403
    );
    let (s, v) = h.admin(
        "PUT",
        "/api/v1/users/ana/role",
        Some(json!({"role": "analyst"})),
    );
    assert_eq!((s, v["role"].as_str()), (200, Some("analyst")), "{v}");
    let (_, audit) = h.admin("GET", "/api/v1/audit?action=user.role", None);
    assert_eq!(audit["total"], 2, "{audit}");
    assert_eq!(
        audit["items"][1]["detail"],
        json!({"before": "analyst", "after": "read-only"})
    );

    // An API token, shown once, that works; then revoked from the console.
    let a = post_form(
        &h,
        "/settings/tokens",
        &admin,
        &[
            ("csrf", &csrf),
            ("name", "ci <pipeline>"),
            ("role", "analyst"),
            ("expires_in_days", "30"),
        ],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let at = a.body.find("id=\"new-token-value\"").unwrap();
    let tail = &a.body[at..];
    let v0 = tail.find("value=\"").unwrap() + 7;
    let token = tail[v0..v0 + tail[v0..].find('"').unwrap()].to_string();
    assert!(token.starts_with("gat_"));
    assert!(a.body.contains("ci &lt;pipeline&gt;"));
    let auth = format!("Bearer {token}");
    assert_eq!(
        h.call(
            &h.client(),
            "GET",
            "/api/v1/session",
            &[("authorization", &auth)],
            None
        )
        .0,
        200
    );
    let listing = get_page(&h, "/settings/tokens", &admin);
    assert!(!listing.body.contains(&token), "the secret is shown again");
    let id = token.split('_').nth(1).unwrap();
    let a = post_form(
        &h,
        &format!("/settings/tokens/{id}/revoke"),
        &admin,
        &[("csrf", &csrf)],
    );
    assert_eq!(a.status, 303);
    assert_eq!(
        h.call(
            &h.client(),
            "GET",
            "/api/v1/session",
            &[("authorization", &auth)],
            None
        )
        .0,
        401
    );
    assert_eq!(
        post_form(
            &h,
            &format!("/settings/tokens/{id}/revoke"),
            &admin,
            &[("csrf", &csrf)]
        )
        .status,
        404
    );
    assert_eq!(
        post_form(
            &h,
            "/settings/tokens",
            &admin,
            &[("csrf", &csrf), ("name", "x"), ("expires_in_days", "soon")]
        )
        .status,
        400
    );

    // An enrollment token that enrolls an agent.
    let a = post_form(
        &h,
        "/settings/enrollment",
        &admin,
        &[
            ("csrf", &csrf),
            ("description", "rack 4"),
            ("expires_in_hours", "2"),
            ("max_uses", "3"),
        ],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(a
        .body
        .contains(&h.running.as_ref().unwrap().state.pki.ca_sha256()));
    let at = a.body.find("id=\"new-enrollment-token-value\"").unwrap();
    let tail = &a.body[at..];
    let v0 = tail.find("value=\"").unwrap() + 7;
    let etok = tail[v0..v0 + tail[v0..].find('"').unwrap()].to_string();
    assert_eq!(h.enroll(&etok, "rack4-1").0, 201);
    let page = get_page(&h, "/settings/enrollment", &admin);
    assert!(
        page.body.contains("1 / 3") && page.body.contains("rack 4"),
        "{}",
        page.body
    );
    let eid = etok.split('_').nth(1).unwrap();
    assert_eq!(
        post_form(
            &h,
            &format!("/settings/enrollment/{eid}/revoke"),
            &admin,
            &[("csrf", &csrf)]
        )
        .status,
        303
    );
    assert_eq!(h.enroll(&etok, "rack4-2").0, 401);
    assert_eq!(
        post_form(
            &h,
            "/settings/enrollment",
            &admin,
            &[("csrf", &csrf), ("max_uses", "0")]
        )
        .status,
        400
    );

    // The audit log shows all of it, and links to the export.
    let a = get_page(&h, "/settings/audit", &admin);
    for want in [
        "user.create",
        "token.create",
        "token.revoke",
        "enrollment_token.create",
        "enrollment_token.revoke",
        "agent.enroll",
        "/api/v1/audit/export?format=csv",
    ] {
        assert!(a.body.contains(want), "audit page lacks {want}");
    }
    // The export link works with the console's session cookie.
    let e = get_page(&h, "/api/v1/audit/export?format=csv", &admin);
    assert_eq!(e.status, 200);
    assert!(e.body.starts_with("id,at,actor_kind"), "{}", e.body);
}

#[test]
fn the_static_route_serves_embedded_assets_by_exact_name_only() {
    let h = Harness::start("sqlite");
    let a = get_page(&h, "/static/console.css", "");
    assert_eq!(a.status, 200);
    assert!(a.header("content-type").starts_with("text/css"));
    assert!(a.body.contains(".sev-critical"));
    assert_eq!(a.header("x-content-type-options"), "nosniff");
    for target in [
        "/static/../Cargo.toml",
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/Cargo.toml",
        "/static/%2e%2e%2fCargo.toml",
        "/static/..%2f..%2f..%2fetc%2fpasswd",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/..",
        "/static/.%2e",
        "/static/console.css/..",
        "/static/console.css%00.png",
        "/static/CONSOLE.CSS",
        "/static/mod.rs",
        "/static/",
    ] {
        let s = raw_status(&h, "GET", target);
        assert_eq!(s, 404, "{target}");
    }
}

#[test]
fn login_is_rate_limited_per_user_name_in_the_console_and_the_api() {
    for b in backends() {
        let h = Harness::start(b);
        let (s, _) = h.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"username": "ana", "password": "a long password", "role": "analyst"})),
        );
        assert_eq!(s, 201);
        // Five wrong passwords through the console form: 401 each, the page says why.
        for _ in 0..5 {
            let (a, session) = form_login(&h, "ana", "wrong password");
            assert_eq!(a.status, 401, "{b}: {}", a.body);
            assert!(a.body.contains("wrong user name or password") && session.is_empty());
        }
        // Then the right password is refused too: 429 with Retry-After, in both.
        let (a, session) = form_login(&h, "ana", "a long password");
        assert_eq!(a.status, 429, "{b}: {}", a.body);
        assert!(session.is_empty());
        let ra: u64 = a
            .header("retry-after")
            .parse()
            .expect("Retry-After seconds");
        assert!(ra >= 1, "{ra}");
        assert!(a.body.contains("too many failed logins"), "{}", a.body);
        let (s, v, hd) = h.call_raw(
            &h.client(),
            "POST",
            "/api/v1/login",
            &[],
            Some(
                json!({"username": "ana", "password": "a long password"})
                    .to_string()
                    .into_bytes(),
            ),
        );
        assert_eq!(s, 429, "{b}: {v}");
        assert!(hd.get("retry-after").is_some());
        assert_eq!(v["error"]["code"], "too_many_requests");
        // Another user name from the same address still logs in.
        let (a, session) = form_login(&h, "admin", ADMIN_PW);
        assert_eq!(a.status, 303, "{b}: {}", a.body);
        assert!(!session.is_empty());
        // Through the API the same: five wrong, then locked.
        let (s, _) = h.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"username": "bob", "password": "a long password", "role": "read-only"})),
        );
        assert_eq!(s, 201);
        for _ in 0..5 {
            assert_eq!(h.login("bob", "wrong password").0, 401);
        }
        assert_eq!(h.login("bob", "a long password").0, 429, "{b}");
        // Failures are on record.
        let (_, audit) = h.admin("GET", "/api/v1/audit?action=login.failed&limit=500", None);
        assert_eq!(audit["total"], 10, "{b}");
    }
}

#[test]
fn login_is_rate_limited_per_client_address() {
    let h = Harness::start("sqlite");
    // 30 failures from 127.0.0.1, spread over user names (none reaches the
    // per-user limit), lock the address for every user name.
    for i in 0..30 {
        let s = h.login(&format!("nobody{}", i % 10), "wrong password").0;
        assert_eq!(s, 401, "attempt {i}");
    }
    assert_eq!(h.login("admin", ADMIN_PW).0, 429);
    let (a, _) = form_login(&h, "admin", ADMIN_PW);
    assert_eq!(a.status, 429);
    assert!(!a.header("retry-after").is_empty());
}

#[test]
fn alert_pages_keep_their_filters() {
    let h = Harness::start("sqlite");
    let fleet = seed_fleet(&h, "web-01");
    let alerts = (0..30)
        .map(|i| alert("Many", "MEDIUM", &format!("many {i}"), now_ns()))
        .collect();
    let (s, _) = agent_post(
        &h,
        &fleet.agent,
        "/api/v1/agent/alerts",
        &alert_batch("many", alerts),
    );
    assert_eq!(s, 200);
    let (_, admin) = form_login(&h, "admin", ADMIN_PW);
    let first = get_page(&h, "/alerts?rule=Many&severity=MEDIUM", &admin);
    assert_eq!(first.body.matches("data-alert=").count(), 25);
    assert!(first.body.contains("1–25 of 30"), "{}", first.body);
    let next = "/alerts?severity=MEDIUM&amp;rule=Many&amp;offset=25";
    assert!(first.body.contains(next), "{}", first.body);
    let second = get_page(&h, &next.replace("&amp;", "&"), &admin);
    assert_eq!(second.body.matches("data-alert=").count(), 5);
    assert!(second.body.contains("26–30 of 30"));
    assert!(second
        .body
        .contains("href=\"/alerts?severity=MEDIUM&amp;rule=Many\""));
    assert!(!second.body.contains("rel=\"next\""));
}

/// A one-shot HTTP receiver on 127.0.0.1: answers 200 to the first request and
/// hands its head and body over.
fn one_shot_receiver() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut head = String::new();
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            head.push_str(&line);
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .unwrap();
        tx.send(format!("{head}{}", String::from_utf8_lossy(&body)))
            .unwrap();
    });
    (url, rx)
}

#[test]
fn settings_add_test_and_delete_notification_targets() {
    for b in backends() {
        let h = Harness::start(b);
        let (_, admin) = form_login(&h, "admin", ADMIN_PW);
        let page = get_page(&h, "/settings/notifications", &admin);
        assert_eq!(page.status, 200, "{b}: {}", page.body);
        assert!(
            page.body.contains("No notification targets"),
            "{}",
            page.body
        );
        let csrf = page.csrf();
        let (url, got) = one_shot_receiver();
        // A signed webhook on loopback.
        let a = post_form(
            &h,
            "/settings/notifications",
            &admin,
            &[
                ("csrf", &csrf),
                ("name", "ops-hook"),
                ("kind", "webhook"),
                ("url", &url),
                ("min_severity", "HIGH"),
                ("secret", "hook secret 123"),
                ("routing_key", ""),
                ("api_token", ""),
            ],
        );
        assert_eq!(a.status, 201, "{b}: {}", a.body);
        assert!(
            a.body.contains("Target ops-hook (webhook) added."),
            "{}",
            a.body
        );
        assert!(!a.body.contains("hook secret 123"), "{b}: secret shown");
        assert!(a.body.contains("secret"), "{}", a.body);
        // Bad input stays on the page with the API's message.
        let a = post_form(
            &h,
            "/settings/notifications",
            &admin,
            &[
                ("csrf", &csrf),
                ("name", "bad"),
                ("kind", "webhook"),
                ("url", "ftp://127.0.0.1/x"),
            ],
        );
        assert_eq!(a.status, 400, "{b}: {}", a.body);
        assert!(a.body.contains("only http and https"), "{}", a.body);
        let a = post_form(
            &h,
            "/settings/notifications",
            &admin,
            &[("csrf", &csrf), ("name", "bad"), ("kind", "carrier-pigeon")],
        );
        assert_eq!(a.status, 400, "{b}");
        // Test: the receiver gets a signed POST and the page says so.
        let (_, list) = h.admin("GET", "/api/v1/notification-targets", None);
        let id = list[0]["id"].as_str().unwrap().to_string();
        let a = post_form(
            &h,
            &format!("/settings/notifications/{id}/test"),
            &admin,
            &[("csrf", &csrf)],
        );
        assert_eq!(a.status, 200, "{b}: {}", a.body);
        assert!(
            a.body.contains("Test message delivered (HTTP 200)"),
            "{}",
            a.body
        );
        let req = got
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap();
        assert!(req.starts_with("POST /hook HTTP/1.1"), "{req}");
        assert!(
            req.to_ascii_lowercase()
                .contains("x-garrison-signature-256: sha256="),
            "{req}"
        );
        // Audited as the API audits it.
        let (_, audit) = h.admin("GET", "/api/v1/audit?action=notification_target.", None);
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["notification_target.test", "notification_target.create"],
            "{b}: {audit}"
        );
        // A read-only user may not see the page.
        h.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"username": "reader", "password": "a long password", "role": "read-only"})),
        );
        let (_, reader) = form_login(&h, "reader", "a long password");
        assert_eq!(
            get_page(&h, "/settings/notifications", &reader).status,
            403,
            "{b}"
        );
        // Delete.
        let a = post_form(
            &h,
            &format!("/settings/notifications/{id}/delete"),
            &admin,
            &[("csrf", &csrf)],
        );
        assert_eq!(a.status, 303, "{b}: {}", a.body);
        let (_, list) = h.admin("GET", "/api/v1/notification-targets", None);
        assert_eq!(list.as_array().unwrap().len(), 0, "{b}: {list}");
    }
}
