//! Chaos: three replicas of the real binary on one PostgreSQL database (a private cluster this
//! test starts in a temporary directory, not the machine's shared server). During a 1,000-alert
//! storm a random replica is SIGKILLed every few seconds and started again; PostgreSQL is
//! restarted once with `pg_ctl restart -m immediate`; responders' acknowledgements and notes
//! reach random replicas through a small load balancer, some delivered twice (SIGNL4 may
//! repeat a delivery). The team has an API key, so in-doubt pages are looked up, not re-sent.
//!
//! Afterwards: every alert paged exactly once, every acknowledgement and note written back to
//! Graph exactly once, and no poll gap longer than two lease lifetimes (outside the database
//! restart).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use s4s_fakecloud::{Action, Outbound, Responder, scenarios};
use serde_json::Value;

/// SIGKILLs the run must survive.
const MIN_KILLS: usize = 20;
const REPLICAS: usize = 3;
const ALERTS: u64 = 1000;
const KEY: &str = "chaos-api-key";

/// A PostgreSQL cluster of our own, in a temporary directory.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// Run the server's tools as `postgres` (PostgreSQL refuses to run as root).
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).filter(|p| p.join("pg_ctl").exists()).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().expect("PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin")
}

impl Cluster {
    fn tool(&self, name: &str) -> std::process::Command {
        let exe = self.bin.join(name);
        if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            std::process::Command::new(exe)
        }
    }

    fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = running_as_root();
        if as_postgres {
            let ok = std::process::Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status();
            assert!(ok.is_ok_and(|s| s.success()), "chown the cluster directory to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = Cluster { bin: pg_bin(), data: dir.path().join("data"), port, as_postgres, _dir: dir };
        let out = c.tool("initdb").args(["-A", "trust", "-U", "postgres", "-D"]).arg(&c.data).output().expect("initdb");
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        c.pg_ctl(&["start"]);
        c
    }

    fn pg_ctl(&self, action: &[&str]) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.data.display()
        );
        let log = self.data.parent().unwrap_or(Path::new("/tmp")).join("pg.log");
        let out = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "60", "-o", &opts, "-l"])
            .arg(&log)
            .args(action)
            .output()
            .expect("pg_ctl");
        assert!(out.status.success(), "pg_ctl {action:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.tool("pg_ctl").arg("-D").arg(&self.data).args(["-m", "immediate", "stop"]).output();
    }
}

/// The process id in the owner of tenant `contoso`'s polling lease (`{pid}-{random}`).
async fn lease_holder_pid(url: &str) -> Option<u32> {
    use sqlx::Connection;
    let mut c = sqlx::postgres::PgConnection::connect(url).await.ok()?;
    let owner: Option<(String, i64)> = sqlx::query_as("SELECT owner, until_ms FROM leases WHERE name = 'poll:contoso'")
        .fetch_optional(&mut c)
        .await
        .ok()?;
    let (owner, until) = owner?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
    if until <= now {
        return None;
    }
    owner.split('-').next()?.parse().ok()
}

/// `S4S_SKIP_POSTGRES=1` skips the PostgreSQL tests (as everywhere in the suite).
fn skipped() -> bool {
    let skip = std::env::var("S4S_SKIP_POSTGRES").as_deref() == Ok("1");
    if skip {
        eprintln!("skipped: S4S_SKIP_POSTGRES=1");
    }
    skip
}

fn running_as_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A TCP load balancer: each connection goes to a random replica that is up.
async fn balancer(up: Arc<Mutex<Vec<Option<SocketAddr>>>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let targets: Vec<SocketAddr> = up.lock().unwrap().iter().flatten().copied().collect();
            if targets.is_empty() {
                continue; // dropped: the sender retries
            }
            let target = targets[rand::random::<u64>() as usize % targets.len()];
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    addr
}

fn comments(v: &Value) -> Vec<String> {
    v["comments"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["comment"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_survive_kills_and_a_database_restart_during_a_storm() {
    if skipped() {
        return;
    }
    let pg = Cluster::start();
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, KEY);
    let alerts = h.fake.add_alerts(TENANT, (0..ALERTS).map(scenarios::synthetic));
    let ports: Vec<u16> = (0..REPLICAS)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port())
        .collect();
    let poll = Duration::from_millis(500);
    let configs: Vec<PathBuf> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let cfg = h
                .config()
                .poll_interval(poll)
                .postgres(&pg.url())
                .listen(format!("127.0.0.1:{port}").parse().unwrap())
                .tenant(|t| {
                    t.signl4.api_key = Some(KEY.into());
                    t.signl4.api_poll_interval = Some(Duration::from_secs(5));
                });
            let path = h.dir.path().join(format!("replica-{i}.toml"));
            std::fs::write(&path, cfg.toml()).unwrap();
            path
        })
        .collect();
    let up: Arc<Mutex<Vec<Option<SocketAddr>>>> = Arc::new(Mutex::new(vec![None; REPLICAS]));
    let lb = balancer(up.clone()).await;
    h.fake.set_outbound(
        TEAM,
        Some(Outbound {
            url: format!("http://{lb}/signl4/{INBOUND_TOKEN}"),
            responders: None,
            duplicate_probability: 0.3,
        }),
    );
    let bin = Path::new(env!("CARGO_BIN_EXE_signl4-sentinel"));
    let log = |i: usize| h.dir.path().join(format!("replica-{i}.log"));
    let spawn = |i: usize| {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log(i)).unwrap();
        spawn_run(bin, &configs[i], "info", Stdio::from(file))
    };
    let mut children: Vec<tokio::process::Child> = (0..REPLICAS).map(spawn).collect();
    for (i, p) in ports.iter().enumerate() {
        let addr: SocketAddr = format!("127.0.0.1:{p}").parse().unwrap();
        wait_for("replica listens", Duration::from_secs(30), async || {
            tokio::net::TcpStream::connect(addr).await.is_ok()
        })
        .await;
        up.lock().unwrap()[i] = Some(addr);
    }

    // Responders act on the first 30 alerts as they page: ack all, a note on every third.
    let kim = Responder { username: "Kim".into(), mailaddress: "kim@contoso.com".into(), id: "kim-0001".into() };
    let acted: Vec<Value> = alerts.iter().take(30).cloned().collect();
    let mut pending_actions: Vec<(usize, bool)> = (0..acted.len()).map(|i| (i, false)).collect();

    let started = Instant::now();
    let mut kills = 0usize;
    let mut takeovers: Vec<Duration> = Vec::new();
    let mut db_restarted: Option<(Instant, Instant)> = None;
    let mut next_kill = Instant::now() + Duration::from_secs(3);
    // Killing goes on until MIN_KILLS even if the storm is paged sooner (a slow machine takes
    // longer per restart): the write-backs still in flight are what the later kills hit.
    while h.pages().len() < ALERTS as usize || !pending_actions.is_empty() || kills < MIN_KILLS {
        assert!(started.elapsed() < Duration::from_secs(420), "storm not done: {} paged", h.pages().len());
        // Act on paged alerts.
        let pages = h.pages();
        let mut still = Vec::new();
        for (i, noted) in pending_actions {
            if !pages.contains_key(&ext(&acted[i])) {
                still.push((i, noted));
                continue;
            }
            h.fake.signl4_action(TEAM, &ext(&acted[i]), Action::Acknowledge(Some(kim.clone()))).await;
            if i % 3 == 0 {
                h.fake
                    .signl4_action(TEAM, &ext(&acted[i]), Action::Annotate(Some(kim.clone()), format!("note {i}")))
                    .await;
            }
        }
        pending_actions = still;
        if Instant::now() >= next_kill {
            let victim = rand::random::<u64>() as usize % REPLICAS;
            let holder = lease_holder_pid(&pg.url()).await;
            let was_holder = holder.is_some() && holder == children[victim].id();
            let lists_before = h.graph_lists();
            up.lock().unwrap()[victim] = None;
            children[victim].kill().await.expect("SIGKILL");
            let killed_at = Instant::now();
            kills += 1;
            if was_holder {
                // Another replica must take the polling lease over (and then poll; its first
                // Graph requests may wait for Graph's budget, which is not the takeover).
                let victim_pid = holder;
                let taken = holds_within(Duration::from_secs(30), Duration::from_millis(20), async || {
                    let now = lease_holder_pid(&pg.url()).await;
                    now.is_some() && now != victim_pid
                })
                .await;
                assert!(taken, "nobody took over the polling lease after its holder died");
                takeovers.push(killed_at.elapsed());
                let polled = holds_within(Duration::from_secs(60), POLL, async || h.graph_lists() > lists_before).await;
                assert!(polled, "the new lease holder did not poll");
            }
            children[victim] = spawn(victim);
            let addr: SocketAddr = format!("127.0.0.1:{}", ports[victim]).parse().unwrap();
            wait_for("replica back", Duration::from_secs(30), async || {
                tokio::net::TcpStream::connect(addr).await.is_ok()
            })
            .await;
            up.lock().unwrap()[victim] = Some(addr);
            next_kill = Instant::now() + Duration::from_millis(2000 + rand::random::<u64>() % 2000);
        }
        if db_restarted.is_none() && h.pages().len() >= ALERTS as usize / 2 {
            let t0 = Instant::now();
            pg.pg_ctl(&["restart", "-m", "immediate"]);
            db_restarted = Some((t0, Instant::now()));
            eprintln!("PostgreSQL restarted (immediate) in {} ms", t0.elapsed().as_millis());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let storm = started.elapsed();
    // Let the write-backs finish (they share Graph's budget with polling).
    let acked = async || {
        acted.iter().all(|a| {
            let g = h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap_or_default();
            g["status"] == "inProgress" && comments(&g).iter().any(|c| c.starts_with("Acknowledged in SIGNL4"))
        })
    };
    if !holds_within(Duration::from_secs(180), POLL, acked).await {
        let tail = std::fs::read_to_string(log(0)).unwrap_or_default();
        let last: Vec<&str> = tail.lines().rev().take(30).collect();
        panic!(
            "acknowledgements missing in Graph; replica 0 log tail:\n{}",
            last.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let noted = async || {
        acted
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 0)
            .all(|(_, a)| comments(&h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap_or_default()).len() >= 2)
    };
    assert!(holds_within(Duration::from_secs(120), POLL, noted).await, "notes missing in Graph");
    // More polls and REST polls: nothing may be written twice afterwards.
    h.polls(3).await;
    for c in &mut children {
        let _ = c.kill().await;
    }

    // Pages: every alert exactly once (API key: in-doubt pages are looked up).
    assert_paged_exactly_once(&h, &alerts);
    // Write-backs: one acknowledgement comment per alert, one comment per note.
    for (i, a) in acted.iter().enumerate() {
        let g = h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap();
        let c = comments(&g);
        let acks = c.iter().filter(|t| t.starts_with("Acknowledged in SIGNL4 by kim@contoso.com.")).count();
        let notes = c.iter().filter(|t| t.contains(&format!("note {i}"))).count();
        assert_eq!(acks, 1, "alert {i}: {c:?}");
        assert_eq!(notes, usize::from(i % 3 == 0), "alert {i}: {c:?}");
        assert_eq!(g["assignedTo"], "kim@contoso.com");
    }
    let (db_from, db_to) = db_restarted.expect("the database was restarted");
    let ttl = (poll * 3).max(Duration::from_secs(2));
    let worst = takeovers.iter().max().copied().unwrap_or_default();
    eprintln!(
        "chaos: {REPLICAS} replicas, {kills} SIGKILLs ({} of the polling lease holder), 1 PostgreSQL immediate restart ({} ms), {ALERTS} alerts paged once each in {:.1} s, 30 acknowledgements + 10 notes written back once each; takeover after the holder's death: {:?} (worst {} ms, lease TTL {} ms)",
        takeovers.len(),
        db_to.duration_since(db_from).as_millis(),
        storm.as_secs_f64(),
        takeovers.iter().map(|d| d.as_millis()).collect::<Vec<_>>(),
        worst.as_millis(),
        ttl.as_millis()
    );
    assert!(worst <= 2 * ttl + Duration::from_secs(1), "takeover took {worst:?}: must come within two lease lifetimes");
    assert!(kills >= MIN_KILLS, "only {kills} kills");
}

/// PostgreSQL unreachable: `/readyz` answers 503, the webhook receiver answers 503 (SIGNL4
/// delivers again) and never 2xx without having recorded the event; the process keeps
/// running and resumes by itself when the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgresql_is_down_nothing_is_acknowledged_and_everything_resumes() {
    if skipped() {
        return;
    }
    let pg = Cluster::start();
    let h = Harness::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = h.config().postgres(&pg.url()).listen(format!("127.0.0.1:{port}").parse().unwrap());
    let cfg_path = h.write_config(&cfg);
    let log = h.dir.path().join("s4s.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = spawn_run(Path::new(env!("CARGO_BIN_EXE_signl4-sentinel")), &cfg_path, "info", Stdio::from(file));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let readyz = async || http.get(format!("{base}/readyz")).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("95"));
    wait_for("paged", Duration::from_secs(30), async || h.pages().contains_key(&ext(&a))).await;
    wait_for("ready", Duration::from_secs(30), async || readyz().await == 200).await;
    let ack = |id: &str| {
        serde_json::json!({
            "eventType": 201, "id": id, "eventRaisedUtc": "2026-12-02T10:00:00Z",
            "user": {"username": "Kim", "mailaddress": "kim@contoso.com", "id": "kim-0001"},
            "alert": {"statusCode": 2, "externalEventId": ext(&a), "id": "s4-alert-95", "eventId": "e95"}
        })
    };
    let post = async |body: &Value| {
        http.post(format!("{base}/signl4/{INBOUND_TOKEN}"))
            .json(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };

    pg.pg_ctl(&["stop", "-m", "immediate"]);
    wait_for("/readyz says 503", Duration::from_secs(30), async || readyz().await == 503).await;
    assert_eq!(post(&ack("delivery-1")).await, 503, "an event that cannot be recorded must not be acknowledged");
    // Workers and pollers hit the outage and keep going (no exit, no crash loop).
    wait_for("the outage is noticed by the workers", Duration::from_secs(30), async || {
        std::fs::read_to_string(&log).unwrap_or_default().contains("cannot claim jobs from the database")
    })
    .await;
    assert!(child.try_wait().unwrap().is_none(), "the process exited while the database was down");

    pg.pg_ctl(&["start"]);
    wait_for("ready again", Duration::from_secs(60), async || readyz().await == 200).await;
    // SIGNL4 delivers the same event again: now it is recorded and written back, once.
    wait_for("webhook accepts again", Duration::from_secs(30), async || post(&ack("delivery-1")).await == 200).await;
    assert_eq!(post(&ack("delivery-2")).await, 200, "a repeat is acknowledged (and deduplicated)");
    let comments = async || comments(&h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap_or_default());
    wait_for("written back", Duration::from_secs(60), async || {
        h.fake.alert(TENANT, a["id"].as_str().unwrap()).is_some_and(|g| g["status"] == "inProgress")
    })
    .await;
    wait_for("one comment", Duration::from_secs(30), async || comments().await.len() == 1).await;
    let b = h.fake.add_alert(TENANT, scenarios::mde_malware("96"));
    wait_for("paging resumed", Duration::from_secs(60), async || h.pages().contains_key(&ext(&b))).await;
    h.polls(2).await;
    assert_eq!(comments().await.len(), 1, "the repeated delivery had no second effect");
    let _ = child.kill().await;
}
