//! A real headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/setup --test`), for console tests.
//!
//! `Browser::start()` runs `chromedriver` on a free loopback port and opens a
//! session in a fresh profile; every call blocks (the browser has its own
//! runtime), so tests read like a person's steps. Chromium is kept off every
//! network but loopback (host resolver rules, no background services). The
//! server's certificate comes from the test's own CA, so the session accepts
//! it (`acceptInsecureCerts`); everything else about TLS is real.
#![allow(dead_code)]

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the browser and its driver are (overridable for other distributions).
fn binaries() -> (String, String) {
    let chromium =
        std::env::var("GARRISON_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver =
        std::env::var("GARRISON_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    for (what, path, pkg) in [
        ("Chromium", &chromium, "chromium"),
        ("ChromeDriver", &driver, "chromium-driver"),
    ] {
        if !std::path::Path::new(path).exists() {
            panic!("{what} not found at {path}: run scripts/setup --test (Debian package {pkg}); console browser tests cannot run without it");
        }
    }
    (chromium, driver)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A headless Chromium session.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    /// chromedriver's log: kept when a test fails, removed otherwise.
    log: std::path::PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub fn start() -> Browser {
        let (chromium, driver_bin) = binaries();
        let port = free_port();
        let log = std::env::temp_dir().join(format!("garrison-chromedriver-{port}.log"));
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {driver_bin}: {e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        // Wait until the driver listens (it exits on error: then say so).
        let mut driver = driver;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(st)) = driver.try_wait() {
                panic!(
                    "chromedriver exited ({st}) before listening; see {}",
                    log.display()
                );
            }
            if Instant::now() > deadline {
                let _ = driver.kill();
                panic!(
                    "chromedriver did not listen on 127.0.0.1:{port}; see {}",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-default-apps", "--disable-domain-reliability",
                    "--disable-client-side-phishing-detection", "--metrics-recording-only",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    "--window-size=1280,900"
                ]
            }
        });
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let client = rt.block_on(async {
            let conn = hyper_util::client::legacy::connect::HttpConnector::new();
            ClientBuilder::new(conn)
                .capabilities(caps)
                .connect(&url)
                .await
        });
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                let _ = driver.kill();
                panic!(
                    "opening a Chromium session through chromedriver: {e}; see {}",
                    log.display()
                );
            }
        };
        Browser {
            rt,
            client: Some(client),
            driver,
            log,
            _profile: profile,
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("browser session")
    }

    /// Opens a URL and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.rt
            .block_on(self.c().goto(url))
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.rt
            .block_on(self.c().current_url())
            .map(|u| u.to_string())
            .unwrap_or_else(|e| panic!("reading the URL: {e}"))
    }

    /// The current URL's path.
    pub fn path(&self) -> String {
        self.rt
            .block_on(self.c().current_url())
            .map(|u| u.path().to_string())
            .unwrap_or_else(|e| panic!("reading the URL: {e}"))
    }

    /// Waits (up to 30 s) for an element to be there; its text.
    pub fn wait_for(&self, css: &str) -> String {
        self.rt.block_on(async {
            let e = self
                .c()
                .wait()
                .at_most(Duration::from_secs(30))
                .for_element(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
            e.text().await.unwrap_or_default()
        })
    }

    /// Waits (up to 30 s) until an element's text is `want` (a page that is
    /// still being replaced may show the old text first).
    pub fn wait_text(&self, css: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::new();
        while Instant::now() < deadline {
            let got = self.rt.block_on(async {
                match self.c().find(Locator::Css(css)).await {
                    Ok(e) => e.text().await.ok(),
                    Err(_) => None,
                }
            });
            match got {
                Some(t) if t == want => return,
                Some(t) => last = t,
                None => {}
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{css} still reads {last:?}, not {want:?}");
    }

    /// Waits (up to 30 s) until the URL contains `part`.
    pub fn wait_url(&self, part: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.url().contains(part) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the URL {} never contained {part:?}", self.url());
    }

    /// The text of an element that is there now.
    pub fn text(&self, css: &str) -> String {
        self.rt.block_on(async {
            let e = self
                .c()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("finding {css}: {e}"));
            e.text().await.unwrap_or_default()
        })
    }

    /// Whether an element is there now.
    pub fn exists(&self, css: &str) -> bool {
        self.rt
            .block_on(self.c().find_all(Locator::Css(css)))
            .map(|v| !v.is_empty())
            .unwrap_or(false)
    }

    /// Types into a field (after clearing it).
    pub fn fill(&self, css: &str, text: &str) {
        self.rt.block_on(async {
            let e = self
                .c()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("finding {css}: {e}"));
            e.clear()
                .await
                .unwrap_or_else(|e| panic!("clearing {css}: {e}"));
            e.send_keys(text)
                .await
                .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
        })
    }

    /// Clicks an element (a submit button: the next page has loaded when this returns).
    pub fn click(&self, css: &str) {
        self.rt.block_on(async {
            let e = self
                .c()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("finding {css}: {e}"));
            e.click()
                .await
                .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
        })
    }

    /// Clicks the link whose text is `text`.
    pub fn click_link(&self, text: &str) {
        self.rt.block_on(async {
            let e = self
                .c()
                .find(Locator::LinkText(text))
                .await
                .unwrap_or_else(|e| panic!("finding the link {text:?}: {e}"));
            e.click()
                .await
                .unwrap_or_else(|e| panic!("clicking the link {text:?}: {e}"));
        })
    }

    /// The page's HTML as the browser holds it now.
    pub fn source(&self) -> String {
        self.rt
            .block_on(self.c().source())
            .unwrap_or_else(|e| panic!("reading the page: {e}"))
    }

    /// Runs a script in the page and returns its result.
    pub fn eval(&self, script: &str) -> serde_json::Value {
        self.rt
            .block_on(self.c().execute(script, vec![]))
            .unwrap_or_else(|e| panic!("running {script:?}: {e}"))
    }

    /// Saves a PNG of the page when `GARRISON_CONSOLE_SCREENSHOTS` names a
    /// directory (for people looking at the console's pages; nothing is checked).
    pub fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("GARRISON_CONSOLE_SCREENSHOTS") else {
            return;
        };
        let png = self
            .rt
            .block_on(self.c().screenshot())
            .unwrap_or_else(|e| panic!("taking a screenshot: {e}"));
        let path = std::path::Path::new(&dir).join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Logs in through the console's login form at `base` (then on the overview).
    pub fn login(&self, base: &str, user: &str, password: &str) {
        self.goto(&format!("{base}/login"));
        self.wait_for("#login");
        self.fill("#username", user);
        self.fill("#password", password);
        self.click("#login-submit");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if std::thread::panicking() {
            eprintln!("chromedriver's log: {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}
