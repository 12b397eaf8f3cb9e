//! os-release parsing: the host's own file and the files shipped by Debian,
//! Ubuntu, Alpine, AlmaLinux and distroless images (written here as those
//! releases publish them).

use garrison_inventory::os::parse_os_release;
use garrison_model::Distro;

fn distro(text: &str) -> Distro {
    parse_os_release(text.as_bytes()).expect("an os-release with assignments")
}

#[test]
fn host_file() {
    let text = std::fs::read("/etc/os-release").expect("this test runs on Debian");
    let d = parse_os_release(&text).unwrap();
    let field = |key: &str| {
        String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")).map(|v| v.trim_matches('"').to_string()))
    };
    assert_eq!(d.id, "debian");
    assert_eq!(d.version_id, field("VERSION_ID"));
    assert_eq!(d.codename, field("VERSION_CODENAME"));
    assert_eq!(d.pretty_name, field("PRETTY_NAME"));
}

#[test]
fn debian_12() {
    let d = distro(
        r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"#,
    );
    assert_eq!(
        d,
        Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            codename: Some("bookworm".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            id_like: vec![],
        }
    );
    assert_eq!(d.purl_qualifier(), "debian-12");
}

#[test]
fn debian_sid_has_no_version_id() {
    let d = distro(
        "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nNAME=\"Debian GNU/Linux\"\nVERSION_CODENAME=trixie\nID=debian\n",
    );
    assert_eq!(d.id, "debian");
    assert_eq!(d.version_id, None);
    assert_eq!(d.codename.as_deref(), Some("trixie"));
    assert_eq!(d.purl_qualifier(), "debian");
}

#[test]
fn ubuntu_22_04() {
    let d = distro(
        r#"PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
"#,
    );
    assert_eq!(d.id, "ubuntu");
    assert_eq!(d.version_id.as_deref(), Some("22.04"));
    assert_eq!(d.codename.as_deref(), Some("jammy"));
    assert_eq!(d.id_like, ["debian"]);
    assert_eq!(d.osv_ecosystem().as_deref(), Some("Ubuntu:22.04"));
}

#[test]
fn alpine_3_19() {
    let d = distro(
        r#"NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
"#,
    );
    assert_eq!(d.id, "alpine");
    assert_eq!(d.version_id.as_deref(), Some("3.19.1"));
    assert_eq!(d.codename, None);
    assert_eq!(d.pretty_name.as_deref(), Some("Alpine Linux v3.19"));
    assert_eq!(d.osv_ecosystem().as_deref(), Some("Alpine:v3.19"));
}

#[test]
fn almalinux_9_4() {
    let d = distro(
        r#"NAME="AlmaLinux"
VERSION="9.4 (Seafoam Ocelot)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.4 (Seafoam Ocelot)"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:almalinux:almalinux:9::baseos"
HOME_URL="https://almalinux.org/"
DOCUMENTATION_URL="https://wiki.almalinux.org/"
BUG_REPORT_URL="https://bugs.almalinux.org/"

ALMALINUX_MANTISBT_PROJECT="AlmaLinux-9"
ALMALINUX_MANTISBT_PROJECT_VERSION="9.4"
REDHAT_SUPPORT_PRODUCT="AlmaLinux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
SUPPORT_END=2032-06-01
"#,
    );
    assert_eq!(d.id, "almalinux");
    assert_eq!(d.version_id.as_deref(), Some("9.4"));
    assert_eq!(d.id_like, ["rhel", "centos", "fedora"]);
    assert_eq!(d.codename, None, "a two-word release name is not a codename");
    assert_eq!(d.osv_ecosystem().as_deref(), Some("AlmaLinux:9"));
}

#[test]
fn distroless_debian_12() {
    let d = distro(
        r#"PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="12"
VERSION="Debian GNU/Linux 12 (bookworm)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
SUPPORT_URL="https://github.com/GoogleContainerTools/distroless/blob/master/README.md"
BUG_REPORT_URL="https://github.com/GoogleContainerTools/distroless/issues/new"
"#,
    );
    assert_eq!(d.id, "debian");
    assert_eq!(d.version_id.as_deref(), Some("12"));
    assert_eq!(d.codename.as_deref(), Some("bookworm"), "taken from VERSION");
    assert_eq!(d.pretty_name.as_deref(), Some("Distroless"));
}

#[test]
fn quoting_comments_and_junk() {
    let d = distro(
        "# comment\r\nID='my distro'\r\nVERSION_ID=\"1.0\\\"beta\"   \r\n  PRETTY_NAME = \"spaced\"\ngarbage line\nID_LIKE=\n=x\n",
    );
    assert_eq!(d.id, "my distro");
    assert_eq!(d.version_id.as_deref(), Some("1.0\"beta"));
    assert_eq!(d.pretty_name.as_deref(), Some("spaced"));
    assert!(d.id_like.is_empty());
    // No ID at all: the specification's default.
    assert_eq!(distro("NAME=x\n").id, "linux");
    // Nothing that looks like an assignment: not an os-release file.
    assert_eq!(parse_os_release(b""), None);
    assert_eq!(parse_os_release(b"\xff\xfe\x00junk\n#only=comment\n"), None);
}
