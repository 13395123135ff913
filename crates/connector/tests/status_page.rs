//! The status page at `/` in a real browser: headless Chromium driven through `chromedriver`
//! (W3C WebDriver over HTTP with the client below) against the connector running on the fake
//! cloud with two tenants. The page loads behind the admin token (a listener beyond loopback
//! answers 401 without it), shows both tenants, the pages with their acknowledgement, a dead
//! letter whose redrive button sends it again (the fake SIGNL4 receives it); a POST without
//! the page's CSRF token, or from another origin, is refused; no secret is ever rendered and a
//! `<script>` title stays text. Every sign-in is its own session; *Sign out* ends it on the
//! server (the old cookie replayed gets 401); wrong tokens are throttled (429 + Retry-After)
//! per client; sessions expire (idle, absolute); a foreign `Host` gets 421.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the
//! test says so and runs everything but the browser part — except under `CI=true`, where it
//! fails.
//! `S4S_UPDATE_SCREENSHOT=1` also writes the screenshot to `docs/status-page.png`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use s4s_fakecloud::{Action, DEFAULT_CLIENT_SECRET, Fault, FaultKind, Responder, Service, scenarios};
use s4s_store::JobState;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);
/// `server.signin_lockout` of the browser test (default 1m).
const LOCKOUT: Duration = Duration::from_secs(2);
const ADMIN_TOKEN: &str = "status-admin-token-0123456789abcdef";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

// The second tenant: its own directory, app and SIGNL4 team.
const FAB_TENANT_ID: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const FAB_CLIENT_ID: &str = "9a1b2c3d-0000-4000-8000-00000000fab1";
const FAB_CLIENT_SECRET: &str = "fabrikam-client-secret-must-not-leak";
const FAB_TEAM: &str = "fabrikam-team-secret-must-not-leak";
const FAB_INBOUND: &str = "fabrikam-inbound-token-0123456789";

/// The browser and driver binaries, or `None` (a developer machine without them: skip).
fn browser() -> Option<(PathBuf, PathBuf)> {
    let (c, d) = (Path::new(CHROMIUM), Path::new(CHROMEDRIVER));
    if c.exists() && d.exists() {
        return Some((c.into(), d.into()));
    }
    let msg = format!(
        "the status page browser test needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install -y chromium chromium-driver"
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg} (.ci/run installs them)");
    }
    // Straight to the process's stderr: libtest's capture would hide an `eprintln!` of a
    // passing test.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "status_page: browser part skipped: {msg}");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A minimal W3C WebDriver client: the handful of commands this test needs, over the reqwest
/// the connector already uses (no WebDriver crate and its dependency tree for six requests).
struct Browser {
    http: reqwest::Client,
    base: String,
    driver: tokio::process::Child,
    session: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    async fn start(chromium: &Path, driver: &Path, profile: &Path) -> Browser {
        let port = free_port();
        // Its own process group, so that the browser it starts goes with it (see `Drop`).
        let child = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        wait_for("chromedriver answers", T, async || match http.get(format!("{base}/status")).send().await {
            Ok(r) => r.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true),
            Err(_) => false,
        })
        .await;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1400,1700", "--hide-scrollbars", "--no-first-run",
                         format!("--user-data-dir={}", profile.display())],
            },
        }}});
        let r: Value = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session =
            r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {r}")).to_string();
        Browser { http, base, driver: child, session }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut rq = self.http.request(method, url);
        if let Some(b) = body {
            rq = rq.json(&b);
        }
        let v: Value = rq.send().await.unwrap().json().await.unwrap();
        assert!(v["value"].get("error").is_none(), "WebDriver {path}: {v}");
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or_default().to_string()
    }

    async fn find(&self, css: &str) -> String {
        let v =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}")).to_string()
    }

    async fn count(&self, css: &str) -> usize {
        let v =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_array().map(Vec::len).unwrap_or(0)
    }

    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{e}/text"), None).await.as_str().unwrap_or_default().into()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{e}/value"), Some(json!({"text": text}))).await;
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{e}/click"), Some(json!({}))).await;
    }

    /// `name=value` of the session cookie (WebDriver sees `HttpOnly` cookies too).
    async fn session_cookie(&self) -> String {
        let all = self.call(reqwest::Method::GET, "/cookie", None).await;
        let c = all
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"].as_str().is_some_and(|n| n.ends_with("s4s_session"))))
            .unwrap_or_else(|| panic!("no session cookie in {all}"));
        assert_eq!(c["httpOnly"], true, "{c}");
        format!("{}={}", c["name"].as_str().unwrap_or_default(), c["value"].as_str().unwrap_or_default())
    }

    async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default()).expect("PNG in base64")
    }

    async fn quit(self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
    }
}

impl Drop for Browser {
    /// Also when the test fails half-way: chromedriver and the Chromium it started (same
    /// process group) are killed, nothing is left running.
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn ext_of(tenant: &str, alert: &Value) -> String {
    s4s_core::ids::external_id(tenant, "graph-alert", alert["id"].as_str().unwrap())
}

fn titled(mut a: Value, title: &str) -> Value {
    a["title"] = json!(title);
    a
}

async fn stored(store: &std::sync::Arc<dyn s4s_store::Store>, tenant: &str, a: &Value) -> s4s_store::StoredAlert {
    let id = a["id"].as_str().unwrap();
    store.get_alert(tenant, "graph-alert", id).await.unwrap().unwrap_or_else(|| panic!("alert {id} stored"))
}

/// The CSRF token the page's redrive form carries.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a redrive form") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_a_browser_shows_tenants_pages_and_redrives_a_dead_letter() {
    // Checked first: under CI a missing browser fails at once. Without one (a developer's
    // machine) everything but the browser part still runs, the redrive then by plain HTTP.
    let browser = browser();
    let h = Harness::new().await;
    h.fake.add_tenant(FAB_TENANT_ID, FAB_CLIENT_ID, FAB_CLIENT_SECRET);
    h.fake.add_team(FAB_TEAM);
    let mut fabrikam = h.config().tenants[0].clone();
    fabrikam.name = "fabrikam".into();
    fabrikam.tenant_id = FAB_TENANT_ID.into();
    fabrikam.client_id = FAB_CLIENT_ID.into();
    fabrikam.client_secret = FAB_CLIENT_SECRET.into();
    fabrikam.signl4.team_secret = FAB_TEAM.into();
    fabrikam.signl4.inbound_token = Some(FAB_INBOUND.into());
    fabrikam.sentinel.clear();
    let mut cfg = h.config().listen("0.0.0.0:0".parse().unwrap());
    cfg.tenants.push(fabrikam);

    // Beyond loopback the admin token is required: refused at load, naming the key.
    let e = cfg.try_build().unwrap_err();
    assert_eq!(e.key, "server.admin_token", "{e}");
    let cfg = cfg.admin_token(ADMIN_TOKEN);
    // A short sign-in lockout, so the test can see a throttled client get in again.
    let mut config = cfg.build();
    config.server.signin_lockout = LOCKOUT;
    let app = signl4_sentinel::app::App::start(config).await.expect("the connector starts");
    let base = format!("http://127.0.0.1:{}", app.addr.port());
    h.connect_outbound(app.addr, 0.0, None);
    h.fake.set_outbound(
        FAB_TEAM,
        Some(s4s_fakecloud::Outbound {
            url: format!("{base}/signl4/{FAB_INBOUND}"),
            responders: None,
            duplicate_probability: 0.0,
        }),
    );

    // A demo-like state: pages in both tenants, acknowledged and closed ones, a `<script>`
    // title, a title that carries a configured secret (it must be shown redacted).
    let acked = h.fake.add_alert(TENANT, scenarios::mde_malware("inc-1"));
    let script = h.fake.add_alert(
        TENANT,
        titled(scenarios::entra_risky_signin("inc-2"), "<script>alert('pwned')</script> sign-in from Tor"),
    );
    let closed = h.fake.add_alert(TENANT, scenarios::mdo_phishing("inc-3"));
    let leaky = h.fake.add_alert(
        TENANT,
        titled(scenarios::synthetic(7), &format!("Suspicious script with {DEFAULT_CLIENT_SECRET} on its command line")),
    );
    let fab_acked = h.fake.add_alert(FAB_TENANT_ID, scenarios::mde_malware("inc-9"));
    let fab_new = h.fake.add_alert(FAB_TENANT_ID, scenarios::synthetic(3));
    wait_for("every alert paged", T, async || {
        let (c, f) = (h.pages(), h.fake.pages_by_external_id(FAB_TEAM));
        [&acked, &script, &closed, &leaky].iter().all(|a| c.contains_key(&ext_of("contoso", a)))
            && [&fab_acked, &fab_new].iter().all(|a| f.contains_key(&ext_of("fabrikam", a)))
    })
    .await;
    let jane = Responder { username: "Jane".into(), mailaddress: "jane@fabrikam.example".into(), id: "u-jane".into() };
    h.fake.signl4_action(TEAM, &ext_of("contoso", &acked), Action::Acknowledge(Some(Responder::default()))).await;
    h.fake.signl4_action(FAB_TEAM, &ext_of("fabrikam", &fab_acked), Action::Acknowledge(Some(jane))).await;
    h.fake.signl4_action(TEAM, &ext_of("contoso", &closed), Action::Close(Some(Responder::default()))).await;
    let store = app.store.clone();
    wait_for("acknowledgements and the close recorded", T, async || {
        let (a, f, c) = (
            stored(&store, "contoso", &acked).await,
            stored(&store, "fabrikam", &fab_acked).await,
            stored(&store, "contoso", &closed).await,
        );
        a.acknowledged_by.is_some() && f.acknowledged_by.is_some() && c.signl4_state == "closed"
    })
    .await;

    // A dead letter: SIGNL4 answers 400 echoing the whole request (the webhook URL with the
    // team secret): the stored error is redacted, and so is what the page shows.
    h.fake.inject(Fault { service: Service::Signl4, kind: FaultKind::Echo { status: 400 }, count: 1 });
    let dead = h.fake.add_alert(TENANT, titled(scenarios::mde_malware("inc-4"), "Ransomware behaviour on fs-01"));
    let dead_key = s4s_core::ids::job_key::page(&ext_of("contoso", &dead));
    wait_for("the page is a dead letter", T, async || {
        store.get_job(&dead_key).await.ok().flatten().is_some_and(|j| j.state == JobState::Dead)
    })
    .await;

    // Plain HTTP: 401 without the token, the page with it.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status(), 401, "a non-loopback listener answers 401 without the admin token");
    assert!(r.text().await.unwrap().contains("name=\"token\""), "with the login form");
    let login = |token: &'static str| http.post(format!("{base}/login")).form(&[("token", token)]).send();
    let wrong = login("not-the-admin-token-at-all").await.unwrap();
    assert_eq!(wrong.status(), 401, "a wrong token signs nobody in");
    assert!(wrong.headers().get("set-cookie").is_none());
    let right = login(ADMIN_TOKEN).await.unwrap();
    assert_eq!(right.status(), 303);
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("s4s_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains(ADMIN_TOKEN), "the cookie is a session, not the token");
    let session = cookie.split(';').next().unwrap().to_string();
    let r = http.get(format!("{base}/")).header("cookie", &session).send().await.unwrap();
    assert_eq!(r.status(), 200, "the session cookie lets one in");
    assert!(r.text().await.unwrap().contains("action=\"/logout\""), "a sign-out button");
    // Another client signing in gets a session of its own.
    let other = login(ADMIN_TOKEN).await.unwrap().headers()["set-cookie"].to_str().unwrap().to_string();
    let other = other.split(';').next().unwrap().to_string();
    assert_ne!(other, session, "every sign-in is a session of its own");
    let out = http.post(format!("{base}/logout")).header("cookie", &session).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "signing out drops the cookie");
    let replay = http.get(format!("{base}/")).header("cookie", &session).send().await.unwrap();
    assert_eq!(replay.status(), 401, "the signed-out session is gone on the server, not just in the browser");
    let r = http.get(format!("{base}/")).header("cookie", &other).send().await.unwrap();
    assert_eq!(r.status(), 200, "signing out ends that session only");

    // Guessing: a client (from 127.0.0.2) that keeps sending wrong tokens is answered 429 with
    // Retry-After, then even the right token waits; another client still signs in; after the
    // wait the right token works again.
    let guesser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let guess = |token: &'static str| guesser.post(format!("{base}/login")).form(&[("token", token)]).send();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = guess("not-the-admin-token-at-all").await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=LOCKOUT.as_secs() + 1).contains(&after), "Retry-After {after}");
            assert!(r.headers().get("set-cookie").is_none());
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "throttled after a few wrong tokens: {statuses:?}");
    assert!(statuses.len() >= 2 && statuses[..statuses.len() - 1].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(guess(ADMIN_TOKEN).await.unwrap().status(), 429, "while throttled the token is not even looked at");
    assert_eq!(login(ADMIN_TOKEN).await.unwrap().status(), 303, "the other client is not locked out");
    wait_for("the throttled client signs in after Retry-After", T, async || {
        guess(ADMIN_TOKEN).await.unwrap().status() == 303
    })
    .await;
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let failures = metrics
        .lines()
        .find_map(|l| l.strip_prefix("s4s_signin_failures_total ")?.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no s4s_signin_failures_total in {metrics}"));
    assert!(failures >= statuses.len() as f64, "every failed sign-in counted: {failures}");

    let cross = http
        .post(format!("{base}/logout"))
        .header("cookie", &session)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403, "a sign-out from another site is refused");
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let html =
        http.get(format!("{base}/")).header("authorization", &bearer).send().await.unwrap().text().await.unwrap();
    for secret in [DEFAULT_CLIENT_SECRET, TEAM, INBOUND_TOKEN, FAB_CLIENT_SECRET, FAB_TEAM, FAB_INBOUND, ADMIN_TOKEN] {
        assert!(!html.contains(secret), "a secret is rendered: {secret}");
    }
    assert!(html.contains("Suspicious script with [redacted]"), "the planted secret is redacted");
    assert!(html.contains("&lt;script&gt;alert('pwned')&lt;/script&gt;"), "the title is escaped");
    assert!(!html.contains("<script"), "no script element at all");
    assert!(html.contains("SIGNL4 refused the request (HTTP 400)"), "the dead letter's reason in plain words");

    // The redrive POST: refused without the page's token, from another origin, or unsigned.
    let post = |form: Vec<(&'static str, String)>, origin: Option<&'static str>, auth: bool| {
        let mut rq = http.post(format!("{base}/redrive")).form(&form);
        if let Some(o) = origin {
            rq = rq.header("origin", o);
        }
        if auth {
            rq = rq.header("authorization", &bearer);
        }
        rq.send()
    };
    let csrf = csrf_of(&html);
    assert_eq!(post(vec![("key", dead_key.clone())], None, true).await.unwrap().status(), 403, "no CSRF token");
    let wrong = vec![("key", dead_key.clone()), ("csrf", "0".repeat(64))];
    assert_eq!(post(wrong, None, true).await.unwrap().status(), 403, "a wrong CSRF token");
    let right = vec![("key", dead_key.clone()), ("csrf", csrf.clone())];
    let cross = post(right.clone(), Some("https://evil.example"), true).await.unwrap();
    assert_eq!(cross.status(), 403, "another origin");
    assert_eq!(post(right, None, false).await.unwrap().status(), 401, "no admin session");
    let j = store.get_job(&dead_key).await.unwrap().unwrap();
    assert_eq!(j.state, JobState::Dead, "nothing changed");

    let before = h.pages().get(&ext_of("contoso", &dead)).copied().unwrap_or(0);
    assert_eq!(before, 0, "the dead letter never reached SIGNL4");
    let Some((chromium, driver)) = browser else {
        let right = vec![("key", dead_key.clone()), ("csrf", csrf)];
        assert_eq!(post(right, None, true).await.unwrap().status(), 303, "redriven");
        wait_for("the fake SIGNL4 received the redriven page", T, async || {
            h.pages().get(&ext_of("contoso", &dead)).copied().unwrap_or(0) == 1
        })
        .await;
        app.stop().await;
        return;
    };

    // The browser: sign in through the form, look, take the screenshot, redrive.
    let profile = tempfile::tempdir().unwrap();
    let b = Browser::start(&chromium, &driver, profile.path()).await;
    b.goto(&format!("{base}/")).await;
    assert_eq!(b.count("#tenants").await, 0, "the page is behind the login");
    b.type_into("#token", ADMIN_TOKEN).await;
    b.click("#login").await;
    wait_for("the status page after signing in", T, async || b.count("#tenants").await == 1).await;
    let dom = b.source().await;
    assert!(!dom.contains(ADMIN_TOKEN) && !dom.contains(FAB_TEAM) && !dom.contains(DEFAULT_CLIENT_SECRET));
    let tenants = b.text("#tenants").await;
    assert!(tenants.contains("contoso") && tenants.contains("fabrikam"), "{tenants}");
    assert!(tenants.contains("secret"), "the credential kind: {tenants}");
    let pages = b.text("#pages").await;
    assert!(pages.contains("acknowledged by rene@signl4.com after"), "{pages}");
    assert!(pages.contains("acknowledged by jane@fabrikam.example after"), "{pages}");
    assert!(pages.contains("'Mimikatz' credential theft tool"), "{pages}");
    assert!(pages.contains("<script>alert('pwned')</script>"), "shown as text: {pages}");
    assert!(b.count("tr.page[data-state=closed]").await >= 1 && b.count("tr.page[data-state=new]").await >= 1);
    assert_eq!(b.count("tr.dead-letter").await, 1);
    assert!(b.text("#dead").await.contains("Ransomware behaviour") || b.text("#dead").await.contains(&dead_key));
    let png = b.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/status-page.png");
    let _ = std::fs::write(&target, &png);
    if std::env::var("S4S_UPDATE_SCREENSHOT").as_deref() == Ok("1") {
        std::fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/status-page.png"), &png).unwrap();
    }

    b.click("button.redrive").await;
    wait_for("the fake SIGNL4 received the redriven page", T, async || {
        h.pages().get(&ext_of("contoso", &dead)).copied().unwrap_or(0) == 1
    })
    .await;
    wait_for("the page says so", T, async || b.count("#flash").await == 1).await;
    b.goto(&format!("{base}/")).await;
    assert_eq!(b.count("tr.dead-letter").await, 0, "no dead letters left");
    let browser_cookie = b.session_cookie().await;
    let r = http.get(format!("{base}/")).header("cookie", &browser_cookie).send().await.unwrap();
    assert_eq!(r.status(), 200, "the browser's session works from another client until signed out");
    b.click("button.signout").await;
    wait_for("the sign-in form after signing out", T, async || b.count("#token").await == 1).await;
    assert_eq!(b.count("#tenants").await, 0);
    let r = http.get(format!("{base}/")).header("cookie", &browser_cookie).send().await.unwrap();
    assert_eq!(r.status(), 401, "the browser's old session value, replayed after Sign out, is refused");
    b.quit().await;
    app.stop().await;
}

/// Sessions end by themselves: after `session_idle` without a request, and `session_max` after
/// their sign-in however busy; and the page's routes answer only to this server's `Host`
/// (DNS rebinding), while the webhook and the probes answer whatever `Host` they get.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_and_the_page_answers_only_to_its_own_host() {
    const IDLE: Duration = Duration::from_millis(800);
    const MAX: Duration = Duration::from_secs(3);
    let h = Harness::new().await;
    let mut config = h.config().admin_token(ADMIN_TOKEN).build();
    config.server.session_idle = IDLE;
    config.server.session_max = MAX;
    config.server.public_url = Some(url::Url::parse("https://s4s.example.com").unwrap());
    let app = signl4_sentinel::app::App::start(config).await.expect("the connector starts");
    let base = format!("http://127.0.0.1:{}", app.addr.port());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let sign_in = async || {
        let r = http.post(format!("{base}/login")).form(&[("token", ADMIN_TOKEN)]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let c = r.headers()["set-cookie"].to_str().unwrap().to_string();
        c.split(';').next().unwrap().to_string()
    };
    let get = async |cookie: &str| http.get(format!("{base}/")).header("cookie", cookie).send().await.unwrap().status();

    // Idle: checked less often than the idle time, the first check after sign-in finds it ended.
    let idle = sign_in().await;
    assert_eq!(get(&idle).await, 200);
    wait_for_every("the idle session ends", T, IDLE * 2, async || get(&idle).await == 401).await;

    // Absolute: used more often than the idle time, it still ends `session_max` after sign-in.
    let busy = sign_in().await;
    let signed_in = std::time::Instant::now();
    wait_for_every("the busy session reaches its maximum age", T, IDLE / 4, async || get(&busy).await == 401).await;
    assert!(signed_in.elapsed() >= MAX - Duration::from_millis(100), "kept alive by use until then");
    assert_eq!(get(&busy).await, 401, "and does not come back");

    // Host: the listen address and public_url's host pass, anything else is 421 with a reason.
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let with_host = async |path: &str, host: &str| {
        http.get(format!("{base}{path}")).header("host", host).header("authorization", &bearer).send().await.unwrap()
    };
    for host in
        [format!("127.0.0.1:{}", app.addr.port()), format!("localhost:{}", app.addr.port()), "s4s.example.com".into()]
    {
        assert_eq!(with_host("/", &host).await.status(), 200, "{host}");
    }
    let evil = with_host("/", "evil.example:8080").await;
    assert_eq!(evil.status(), 421, "a rebound name is refused");
    assert!(evil.text().await.unwrap().contains("server.public_url"), "with what to do");
    let r = http
        .post(format!("{base}/login"))
        .header("host", "evil.example")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 421, "no sign-in under a foreign name");
    assert!(r.headers().get("set-cookie").is_none());
    let r = http.post(format!("{base}/logout")).header("host", "evil.example").send().await.unwrap();
    assert_eq!(r.status(), 421);
    let r = http.post(format!("{base}/redrive")).header("host", "evil.example").form(&[("key", "x")]).send().await;
    assert_eq!(r.unwrap().status(), 421);
    assert_eq!(with_host("/healthz", "evil.example").await.status(), 200, "probes are not checked");
    let hook = http
        .post(format!("{base}/signl4/{INBOUND_TOKEN}"))
        .header("host", "signl4-callback.example")
        .json(&json!({"eventType": 999}))
        .send()
        .await
        .unwrap();
    assert_ne!(hook.status(), 421, "SIGNL4's webhook calls with its own Host");
    // Plain HTTP under that name: no session a browser would not keep, and why.
    let r = http
        .post(format!("{base}/login"))
        .header("host", "s4s.example.com")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await.unwrap().contains("Signing in needs HTTPS here"), "says why");
    // Over public_url's https, the cookie is the `__Host-` one, Secure.
    let r = http
        .post(format!("{base}/login"))
        .header("host", "s4s.example.com")
        .header("x-forwarded-proto", "https")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    let c = r.headers()["set-cookie"].to_str().unwrap();
    assert!(c.starts_with("__Host-s4s_session=") && c.contains("; Secure") && c.contains("Path=/"), "{c}");
    app.stop().await;
}
