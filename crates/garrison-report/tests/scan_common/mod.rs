//! Scan reports shared by the scan presenter tests: a rich one (an image with
//! Debian, RPM, Alpine, PyPI, npm, crates.io, Go and Maven findings, every
//! severity from CRITICAL to UNKNOWN, KEV and EPSS reasons, fixed and
//! not-fixed, distro urgencies, suppressed findings, warnings, unicode and
//! hostile strings), one with hostile strings everywhere, and an empty one.

#![allow(dead_code)]

use garrison_model::{
    AffectedPackage, DbInfo, Distro, Ecosystem, Finding, FixState, Risk, ScanReport, Score,
    Severity, Suppression, Target, TargetKind, Vulnerability, Warning, SCAN_SCHEMA_VERSION,
};
use garrison_report::{render_scan, RenderOptions, ScanFormat};
use std::time::{Duration, SystemTime};

pub const LAYER1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub const LAYER2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
pub const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

pub const HOSTILE: &str =
    "<script>alert('x')</script> & \"quotes\" ]]> \u{1b}[31mred\u{0} | *md* `code`\nsecond line";

pub fn vuln(id: &str, aliases: &[&str], severity: Severity) -> Vulnerability {
    Vulnerability {
        id: id.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        summary: None,
        details: None,
        severity,
        severity_source: None,
        scores: Vec::new(),
        published: None,
        modified: None,
        references: Vec::new(),
    }
}

pub fn pkg(
    eco: Ecosystem,
    name: &str,
    version: &str,
    purl: &str,
    location: &str,
    layer: Option<&str>,
) -> AffectedPackage {
    AffectedPackage {
        name: name.into(),
        version: version.into(),
        ecosystem: eco,
        purl: purl.into(),
        location: location.into(),
        layer: layer.map(Into::into),
        source_name: None,
    }
}

pub fn risk(score: f64, fix: bool, reasons: &[&str]) -> Risk {
    Risk {
        score,
        epss: None,
        epss_percentile: None,
        kev: false,
        fix_available: fix,
        in_use: None,
        reasons: reasons.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn fixed(v: &[&str]) -> FixState {
    FixState::Fixed {
        versions: v.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn debian() -> Distro {
    Distro {
        id: "debian".into(),
        version_id: Some("12".into()),
        codename: Some("bookworm".into()),
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        id_like: Vec::new(),
    }
}

fn score(kind: &str, vector: &str, base: Option<f64>) -> Score {
    Score {
        kind: kind.into(),
        vector: vector.into(),
        base_score: base,
    }
}

/// The rich image scan: findings sorted by risk, highest first.
pub fn rich() -> ScanReport {
    let mut target = Target::new(TargetKind::Image, "registry.local:5000/app:1.2");
    target.digest = Some(DIGEST.into());
    target.platform = Some("linux/amd64".into());

    let mut findings = Vec::new();

    // 1. CRITICAL, KEV, EPSS, fixed: openssl in Debian (urgency, source package).
    let mut v = vuln("DSA-5764-1", &["CVE-2024-5535"], Severity::Critical);
    v.summary = Some("openssl: SSL_select_next_proto buffer overread".into());
    v.details = Some(
        "Calling the OpenSSL API function SSL_select_next_proto with an empty supported\n\
         client protocols buffer may cause a crash or memory contents to be sent to the peer."
            .into(),
    );
    v.severity_source = Some("CVSS_V3 base score 9.1".into());
    v.scores = vec![score(
        "CVSS_V3",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H",
        Some(9.1),
    )];
    v.published = Some("2024-06-27T11:15:24Z".into());
    v.modified = Some("2024-09-03T10:00:00Z".into());
    v.references = vec![
        "https://security-tracker.debian.org/tracker/CVE-2024-5535".into(),
        "https://www.openssl.org/news/secadv/20240627.txt".into(),
    ];
    let mut p = pkg(
        Ecosystem::Deb,
        "libssl3",
        "3.0.11-1~deb12u2",
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
        "/var/lib/dpkg/status",
        Some(LAYER1),
    );
    p.source_name = Some("openssl".into());
    let mut r = risk(
        97.5,
        true,
        &[
            "CRITICAL: CVSS_V3 base score 9.1",
            "in CISA KEV (known exploited)",
            "EPSS 0.94 (99th percentile)",
            "fix available: 3.0.14-1~deb12u1",
        ],
    );
    r.kev = true;
    r.epss = Some(0.94);
    r.epss_percentile = Some(0.99);
    findings.push(Finding {
        vulnerability: v,
        package: p,
        fix: fixed(&["3.0.14-1~deb12u1"]),
        distro_urgency: Some("high".into()),
        risk: r,
        suppressed: None,
    });

    // 2. HIGH, PyPI, two fixed versions, CVSS v4, GHSA with CVE alias.
    let mut v = vuln(
        "GHSA-9wx4-h78v-vm56",
        &["CVE-2024-35195", "PYSEC-2024-60"],
        Severity::High,
    );
    v.summary = Some("Requests `Session` object does not verify requests after making first request with verify=False".into());
    v.severity_source = Some("CVSS_V4 base score 7.7".into());
    v.scores = vec![
        score(
            "CVSS_V3",
            "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N",
            Some(5.6),
        ),
        score(
            "CVSS_V4",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N",
            Some(7.7),
        ),
    ];
    v.references = vec![
        "https://github.com/psf/requests/security/advisories/GHSA-9wx4-h78v-vm56".into(),
        "https://github.com/psf/requests/pull/6655".into(),
        "https://github.com/psf/requests/commit/a58d7f2ffb4d00b46dca2d70a3932a0b37e22fac".into(),
        "https://nvd.nist.gov/vuln/detail/CVE-2024-35195".into(),
        "https://github.com/advisories/GHSA-9wx4-h78v-vm56".into(),
    ];
    v.published = Some("2024-05-20T20:15:00Z".into());
    let mut r = risk(
        71.0,
        true,
        &["HIGH: CVSS_V4 base score 7.7", "EPSS 0.01", "fix available"],
    );
    r.epss = Some(0.0123);
    r.epss_percentile = Some(0.52);
    findings.push(Finding {
        vulnerability: v,
        package: pkg(
            Ecosystem::PyPI,
            "requests",
            "2.31.0",
            "pkg:pypi/requests@2.31.0",
            "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
            Some(LAYER2),
        ),
        fix: fixed(&["2.32.0", "2.32.2"]),
        distro_urgency: None,
        risk: r,
        suppressed: None,
    });

    // 3. MEDIUM, crates.io, not fixed.
    let mut v = vuln(
        "RUSTSEC-2023-0071",
        &["CVE-2023-49092", "GHSA-c38w-74pg-36hr"],
        Severity::Medium,
    );
    v.summary = Some("Marvin Attack: potential key recovery through timing sidechannels".into());
    v.severity_source = Some("CVSS_V3 base score 5.9".into());
    v.scores = vec![score(
        "CVSS_V3",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N",
        Some(5.9),
    )];
    v.references = vec!["https://rustsec.org/advisories/RUSTSEC-2023-0071.html".into()];
    findings.push(Finding {
        vulnerability: v,
        package: pkg(
            Ecosystem::Cargo,
            "rsa",
            "0.9.6",
            "pkg:cargo/rsa@0.9.6",
            "/usr/local/bin/server",
            Some(LAYER2),
        ),
        fix: FixState::NotFixed,
        distro_urgency: None,
        risk: risk(
            44.0,
            false,
            &["MEDIUM: CVSS_V3 base score 5.9", "no fix available"],
        ),
        suppressed: None,
    });

    // 4. LOW, npm scoped package, unicode path.
    let mut v = vuln("GHSA-67hx-6x53-jw92", &["CVE-2023-45133"], Severity::Low);
    v.summary = Some("Babel vulnerable to arbitrary code execution when compiling specifically crafted malicious code — ünïcödé".into());
    v.severity_source = Some("GHSA database_specific severity LOW".into());
    findings.push(Finding {
        vulnerability: v,
        package: pkg(
            Ecosystem::Npm,
            "@babel/traverse",
            "7.22.5",
            "pkg:npm/%40babel/traverse@7.22.5",
            "/app/frontend ünï/package-lock.json",
            Some(LAYER2),
        ),
        fix: fixed(&["7.23.2"]),
        distro_urgency: None,
        risk: risk(20.0, true, &["LOW: database severity", "fix available"]),
        suppressed: None,
    });

    // 5. INFO (Ubuntu-like priority word) on an Alpine package.
    let mut v = vuln("ALPINE-CVE-2023-42363", &["CVE-2023-42363"], Severity::Info);
    v.scores = vec![score("Ubuntu", "negligible", None)];
    v.severity_source = Some("Ubuntu priority negligible".into());
    findings.push(Finding {
        vulnerability: v,
        package: pkg(
            Ecosystem::Apk,
            "busybox",
            "1.36.1-r2",
            "pkg:apk/alpine/busybox@1.36.1-r2?arch=x86_64&distro=alpine-3.19.1",
            "/lib/apk/db/installed",
            Some(LAYER1),
        ),
        fix: fixed(&["1.36.1-r6"]),
        distro_urgency: Some("unimportant".into()),
        risk: risk(8.0, true, &["INFO: Ubuntu priority negligible"]),
        suppressed: None,
    });

    // 6. UNKNOWN, Go module, no data at all, not fixed; a nested-archive-like location.
    let v = vuln("GO-2024-2687", &[], Severity::Unknown);
    findings.push(Finding {
        vulnerability: v,
        package: pkg(
            Ecosystem::Go,
            "golang.org/x/net",
            "v0.21.0",
            "pkg:golang/golang.org/x/net@v0.21.0",
            "/usr/local/bin/gateway",
            None,
        ),
        fix: FixState::NotFixed,
        distro_urgency: None,
        risk: risk(
            5.0,
            false,
            &[
                "UNKNOWN severity: the advisory carries none",
                "no fix available",
            ],
        ),
        suppressed: None,
    });

    // 7. The same CVE for an RPM package and the same Debian advisory for a
    // second binary package (two results, one rule).
    let mut v = vuln("ALSA-2024:4582", &["CVE-2024-5535"], Severity::High);
    v.summary = Some("Important: openssl security update".into());
    v.references = vec!["https://errata.almalinux.org/9/ALSA-2024-4582.html".into()];
    findings.push(Finding {
        vulnerability: v,
        package: pkg(
            Ecosystem::Rpm,
            "openssl-libs",
            "1:3.0.7-27.el9",
            "pkg:rpm/almalinux/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=almalinux-9&epoch=1",
            "/var/lib/rpm/rpmdb.sqlite",
            Some(LAYER2),
        ),
        fix: fixed(&["1:3.0.7-28.el9_4"]),
        distro_urgency: None,
        risk: risk(4.0, true, &["HIGH: vendor severity Important"]),
        suppressed: None,
    });
    let mut second = findings[0].clone();
    second.package = pkg(
        Ecosystem::Deb,
        "openssl",
        "3.0.11-1~deb12u2",
        "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
        "/var/lib/dpkg/status",
        Some(LAYER1),
    );
    second.package.source_name = Some("openssl".into());
    second.risk.score = 3.5;
    findings.push(second);

    // 8. Suppressed findings: a Maven package with a nested-archive location,
    // and a Debian one with an expiry.
    let mut v = vuln(
        "GHSA-jfh8-c2jp-5v3q",
        &["CVE-2021-44228"],
        Severity::Critical,
    );
    v.summary = Some("Remote code injection in Log4j".into());
    v.scores = vec![score(
        "CVSS_V3",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        Some(10.0),
    )];
    v.references = vec!["https://logging.apache.org/log4j/2.x/security.html".into()];
    let mut r = risk(99.0, true, &["CRITICAL", "in CISA KEV"]);
    r.kev = true;
    findings.push(Finding {
        vulnerability: v,
        package: pkg(
            Ecosystem::Maven,
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            "/app/app.war!/WEB-INF/lib/log4j-core-2.14.1.jar",
            Some(LAYER2),
        ),
        fix: fixed(&["2.15.0"]),
        distro_urgency: None,
        risk: r,
        suppressed: Some(Suppression {
            reason: "JndiLookup class removed from the jar at build time".into(),
            expires: Some("2027-01-31".into()),
        }),
    });
    let mut v = vuln("DLA-3449-1", &["CVE-2023-2650"], Severity::Medium);
    v.summary = Some("openssl: possible DoS translating ASN.1 object identifiers".into());
    let mut p = pkg(
        Ecosystem::Deb,
        "libssl3",
        "3.0.11-1~deb12u2",
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
        "/var/lib/dpkg/status",
        Some(LAYER1),
    );
    p.source_name = Some("openssl".into());
    findings.push(Finding {
        vulnerability: v,
        package: p,
        fix: fixed(&["3.0.9-1"]),
        distro_urgency: Some("low".into()),
        risk: risk(30.0, true, &["MEDIUM"]),
        suppressed: Some(Suppression {
            reason: "not reachable: no OID parsing of untrusted input".into(),
            expires: None,
        }),
    });

    ScanReport {
        schema_version: SCAN_SCHEMA_VERSION,
        target,
        distro: Some(debian()),
        packages_scanned: 1234,
        db: DbInfo {
            schema_version: 1,
            updated: Some("2026-12-01T06:00:00Z".into()),
            advisories: 45_678,
            ecosystems: vec![
                "Debian:12".into(),
                "PyPI".into(),
                "crates.io".into(),
                "npm".into(),
            ],
        },
        findings,
        warnings: vec![
            Warning::new(
                "/app/yarn.lock",
                "cannot parse /app/yarn.lock: line 12: expected a version",
            ),
            Warning::new(
                LAYER2,
                "layer exceeds the 4 GiB decompression cap;\nits remaining entries were skipped",
            ),
        ],
        duration_ms: 2_345,
    }
}

/// A report whose every string a presenter prints is hostile: markup,
/// quotes, control characters, escape sequences, `javascript:` links.
pub fn hostile() -> ScanReport {
    let mut r = rich();
    r.target.name = format!("evil{HOSTILE}");
    for f in &mut r.findings {
        f.vulnerability.summary = Some(HOSTILE.into());
        f.vulnerability.details = Some(format!("# Details\n{HOSTILE}"));
        f.vulnerability.references = vec![
            "javascript:alert(1)".into(),
            format!("https://example.org/{HOSTILE}"),
            "https://example.org/ok?a=1&b=<2>".into(),
        ];
        f.package.name = format!("pkg{HOSTILE}");
        f.package.version = format!("1.0{HOSTILE}");
        f.package.location = format!("/srv/{HOSTILE}");
        f.risk.reasons = vec![HOSTILE.into()];
        if let Some(s) = &mut f.suppressed {
            s.reason = HOSTILE.into();
        }
        f.distro_urgency = f.distro_urgency.as_ref().map(|_| HOSTILE.to_string());
    }
    r.warnings = vec![Warning::new(HOSTILE, HOSTILE)];
    r
}

/// A project scan that found nothing.
pub fn empty() -> ScanReport {
    ScanReport {
        schema_version: SCAN_SCHEMA_VERSION,
        target: Target::new(TargetKind::Filesystem, "./clean-project"),
        distro: None,
        packages_scanned: 17,
        db: DbInfo {
            schema_version: 1,
            updated: None,
            advisories: 0,
            ecosystems: Vec::new(),
        },
        findings: Vec::new(),
        warnings: Vec::new(),
        duration_ms: 12,
    }
}

/// Options that make output reproducible: a fixed "now" (2026-12-04T00:00:00Z,
/// so the rich report's DB is 2 days 18 hours old) and a fixed document ID.
pub fn fixed_opts() -> RenderOptions {
    RenderOptions {
        color: false,
        width: None,
        created: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_342_400)),
        document_id: Some([0x5a; 16]),
    }
}

pub fn render(report: &ScanReport, format: ScanFormat, opts: &RenderOptions) -> String {
    let mut out = Vec::new();
    if let Err(e) = render_scan(report, format, opts, &mut out) {
        panic!("rendering {format} failed: {e}");
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => panic!("{format} output is not UTF-8: {e}"),
    }
}

pub fn render_json(
    report: &ScanReport,
    format: ScanFormat,
    opts: &RenderOptions,
) -> serde_json::Value {
    let text = render(report, format, opts);
    match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => panic!("{format} output is not JSON: {e}\n{text}"),
    }
}
