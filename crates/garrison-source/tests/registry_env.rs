//! Credentials from the environment and from auth files, against a real
//! registry with basic auth over TLS on 127.0.0.1. One test in its own
//! binary, because it changes the process environment.

mod registry_support;

use base64::Engine;
use garrison_source::image::registry::{RegistryImage, RegistryOptions};
use garrison_source::image::ImageSource;
use registry_support::{fixture, Mode, Registry, PASSWORD, USER};
use std::path::Path;
use std::process::Command;

const VARS: [&str; 6] = [
    "GARRISON_REGISTRY_USERNAME",
    "GARRISON_REGISTRY_PASSWORD",
    "REGISTRY_AUTH_FILE",
    "XDG_RUNTIME_DIR",
    "DOCKER_CONFIG",
    "HOME",
];

fn clear_env(home: &Path) {
    for v in VARS {
        std::env::remove_var(v);
    }
    // Never pick up the credentials of whoever runs the tests.
    std::env::set_var("HOME", home);
}

fn pull(reference: &str, opts: &RegistryOptions) -> Result<RegistryImage, String> {
    RegistryImage::open(reference, opts).map_err(|e| e.to_string())
}

#[test]
fn credentials_from_environment_and_auth_files() {
    let registry = Registry::start(Mode::TlsBasic);
    let archive_path = fixture("app-oci.tar");
    registry.push(
        &format!("oci-archive:{}", archive_path.display()),
        "test/app:1",
        false,
    );
    let reference = format!("{}/test/app:1", registry.host());
    let opts = RegistryOptions {
        ca_file: Some(fixture("tls/cert.pem")),
        ..Default::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");

    clear_env(&home);
    let msg = pull(&reference, &opts).expect_err("no credentials anywhere");
    assert!(msg.contains("--username"), "{msg}");

    // The environment variables.
    std::env::set_var("GARRISON_REGISTRY_USERNAME", USER);
    std::env::set_var("GARRISON_REGISTRY_PASSWORD", PASSWORD);
    let image = pull(&reference, &opts).expect("credentials from the environment");
    assert_eq!(image.layers().len(), 2);

    // Options win over the environment.
    std::env::set_var("GARRISON_REGISTRY_PASSWORD", "wrong");
    let msg = pull(&reference, &opts).expect_err("wrong password from the environment");
    assert!(msg.contains("GARRISON_REGISTRY_USERNAME"), "{msg}");
    let explicit = RegistryOptions {
        username: Some(USER.into()),
        password: Some(PASSWORD.into()),
        ..opts.clone()
    };
    pull(&reference, &explicit).expect("options override the environment");

    // Half a pair is an error that says which half is missing.
    std::env::remove_var("GARRISON_REGISTRY_PASSWORD");
    let msg = pull(&reference, &opts).expect_err("user without password");
    assert!(msg.contains("GARRISON_REGISTRY_PASSWORD is not"), "{msg}");

    // $REGISTRY_AUTH_FILE written by `podman login`.
    clear_env(&home);
    let auth_file = dir.path().join("podman-auth.json");
    let out = Command::new("podman")
        .args(["login", "--tls-verify=false", "--authfile"])
        .arg(&auth_file)
        .args(["-u", USER, "-p", PASSWORD])
        .arg(registry.host())
        .output()
        .expect("run podman login");
    assert!(
        out.status.success(),
        "podman login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::env::set_var("REGISTRY_AUTH_FILE", &auth_file);
    pull(&reference, &opts).expect("credentials from $REGISTRY_AUTH_FILE");

    // $XDG_RUNTIME_DIR/containers/auth.json with a repository-scoped key.
    clear_env(&home);
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let runtime = dir.path().join("run");
    std::fs::create_dir_all(runtime.join("containers")).expect("runtime dir");
    std::fs::write(
        runtime.join("containers/auth.json"),
        format!(
            r#"{{"auths":{{"{}/test/app":{{"auth":"{b64}"}},"{}":{{"auth":"{}"}}}}}}"#,
            registry.host(),
            registry.host(),
            base64::engine::general_purpose::STANDARD.encode("nobody:wrong")
        ),
    )
    .expect("write auth.json");
    std::env::set_var("XDG_RUNTIME_DIR", &runtime);
    pull(&reference, &opts).expect("the repository-scoped entry wins");

    // ~/.docker/config.json with a URL key, as `docker login` writes it.
    clear_env(&home);
    std::fs::create_dir_all(home.join(".docker")).expect("docker dir");
    std::fs::write(
        home.join(".docker/config.json"),
        format!(
            r#"{{"auths":{{"https://{}":{{"auth":"{b64}"}}}},"credsStore":""}}"#,
            registry.host()
        ),
    )
    .expect("write config.json");
    pull(&reference, &opts).expect("credentials from ~/.docker/config.json");

    // A corrupt auth file is named in the error.
    std::fs::write(home.join(".docker/config.json"), "{\"auths\": 7}").expect("write");
    let msg = pull(&reference, &opts).expect_err("corrupt config.json");
    assert!(msg.contains("config.json"), "{msg}");
}
