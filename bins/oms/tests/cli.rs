//! The `oms` binary as an operator runs it: `serve --demo`, graceful SIGTERM, `replay`,
//! restart with the same data directory, the dashboard at `/`, and refused bad flags.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const OMS: &str = env!("CARGO_BIN_EXE_oms");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// One HTTP/1.1 request over a fresh connection; returns (status, body).
fn http(port: u16, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

fn serve(data: &Path, static_dir: &Path, port: u16, log: &Path) -> Child {
    serve_with(data, static_dir, port, log, &[])
}

fn serve_with(data: &Path, static_dir: &Path, port: u16, log: &Path, extra: &[&str]) -> Child {
    let mut args: Vec<&std::ffi::OsStr> = vec!["--demo".as_ref(), "--demo-liquidity".as_ref(), "false".as_ref()];
    args.extend(["--data-dir".as_ref(), data.as_os_str(), "--static-dir".as_ref(), static_dir.as_os_str()]);
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    serve_ready(port, log, &args)
}

/// `oms serve --listen 127.0.0.1:<port> <args>`, once `/ready` answers 200.
fn serve_ready(port: u16, log: &Path, args: &[&std::ffi::OsStr]) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    let child = Command::new(OMS)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdout(Stdio::from(log.try_clone().expect("clone")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn oms");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(port, "GET", "/ready", None, None).map(|r| r.0).ok() != Some(200) {
        assert!(Instant::now() < deadline, "oms did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn terminate(mut child: Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "oms exited with {status} after SIGTERM");
            return;
        }
        assert!(Instant::now() < deadline, "oms did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn field<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let start = json.find(&format!("\"{name}\":\""))? + name.len() + 4;
    json[start..].split('"').next()
}

#[test]
fn serve_sigterm_replay_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let static_dir = dir.path().join("dist");
    std::fs::create_dir_all(&static_dir).expect("dist");
    std::fs::write(static_dir.join("index.html"), "<html>dashboard-marker</html>").expect("index");
    let port = free_port();
    let log = dir.path().join("oms.log");
    let child = serve(&data, &static_dir, port, &log);
    let accounts = std::fs::read_to_string(data.join("demo-accounts.json")).expect("demo accounts written");
    assert!(accounts.contains("\"accountId\": \"1\"") && accounts.contains("\"admin\": true"), "{accounts}");
    let key = accounts.split("\"apiKey\": \"").nth(2).and_then(|s| s.split('"').next()).expect("second key").to_owned();
    let (status, body) = http(port, "GET", "/", None, None).expect("dashboard");
    assert_eq!((status, body.contains("dashboard-marker")), (200, true), "the dashboard is served at /");
    let order = r#"{"symbol":"BTC-USD","side":"buy","type":"limit","price":"59000.00","quantity":"0.01"}"#;
    let (status, body) = http(port, "POST", "/api/orders", Some(&key), Some(order)).expect("place");
    assert_eq!(status, 201, "{body}");
    let order_id = field(&body, "orderId").expect("orderId").to_owned();
    terminate(child);
    let text = std::fs::read_to_string(&log).expect("log");
    let stopped = text.lines().find(|l| l.contains("\"stopped\"")).expect("a stopped line");
    let hash = field(stopped, "state_hash").expect("state_hash").to_owned();

    let replay = Command::new(OMS).args(["replay", "--data-dir"]).arg(&data).output().expect("replay");
    let replay_text = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{replay_text}");
    assert!(
        replay_text.contains(&format!("state_hash        {hash}")),
        "replay agrees with the shutdown hash {hash}: {replay_text}"
    );

    let tcp_port = free_port();
    let child = serve_with(
        &data,
        &static_dir,
        port,
        &dir.path().join("oms2.log"),
        &["--tcp-listen", &format!("127.0.0.1:{tcp_port}")],
    );
    let (status, body) = http(port, "GET", &format!("/api/orders/{order_id}"), Some(&key), None).expect("get");
    assert_eq!((status, field(&body, "status")), (200, Some("ACCEPTED")), "{body}");
    // The same demo key works on the binary gateway.
    let mut stream = TcpStream::connect(("127.0.0.1", tcp_port)).expect("gateway");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut out = bytes::BytesMut::new();
    oms_tcp::codec::encode_client(&oms_tcp::codec::ClientMessage::Login { api_key: key.clone() }, &mut out);
    let order = oms_tcp::codec::WireOrder {
        client_seq: 1,
        instrument: 0,
        side: 1,
        order_type: 1,
        time_in_force: 1,
        flags: 0,
        stp: 2,
        price: 5_900_000,
        stop_price: 0,
        quantity: 100,
        expire_time: 0,
        client_order_id: oms_core::model::ClientOrderId::new("tcp-1").expect("valid"),
    };
    oms_tcp::codec::encode_client(&oms_tcp::codec::ClientMessage::NewOrder(order), &mut out);
    stream.write_all(&out).expect("send");
    let mut input = bytes::BytesMut::new();
    let mut answers = Vec::new();
    while answers.len() < 2 {
        if let Some(message) = oms_tcp::codec::decode_server(&mut input).expect("valid frame") {
            answers.push(message);
            continue;
        }
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "gateway closed early: {answers:?}");
        input.extend_from_slice(&chunk[..n]);
    }
    assert!(matches!(answers[0], oms_tcp::codec::ServerMessage::LoginAck { account: 2 }), "{answers:?}");
    assert!(
        matches!(answers[1], oms_tcp::codec::ServerMessage::Ack { client_seq: 1, status: 2, leaves: 100, .. }),
        "{answers:?}"
    );
    terminate(child);
}

#[test]
fn bad_flags_are_refused_with_a_clear_message() {
    for (args, needle) in [
        (vec!["serve", "--listen", "nowhere"], "is not an address"),
        (vec!["serve", "--fsync", "sometimes"], "fsync policy must be"),
        (vec!["serve", "--role", "boss"], "--role must be"),
        (vec!["serve", "--kafka", "127.0.0.1:9092"], "goes with a split role"),
        (vec!["serve", "--role", "engine"], "needs --kafka"),
        (vec!["serve", "--role", "engine", "--kafka", "127.0.0.1:9"], "needs --market <file>"),
        (vec!["serve", "--role", "persister", "--kafka", "127.0.0.1:9", "--mongo", "mongodb://x"], "needs --market"),
        (vec!["serve", "--demo", "--market", "m.toml"], "either --demo or --market"),
        (vec!["serve", "--market", "/nonexistent/market.toml"], "reading the market /nonexistent/market.toml"),
        (vec!["serve", "--api-keys", "/nonexistent/keys.toml"], "reading the API keys"),
        (vec!["serve", "--role", "persister", "--kafka", "127.0.0.1:9"], "needs --mongo"),
        (
            vec!["serve", "--role", "engine", "--kafka", "127.0.0.1:9", "--kafka-partitions", "0"],
            "--kafka-partitions must be",
        ),
        (
            vec!["serve", "--role", "ingress", "--kafka", "b:9", "--kafka-topic-prefix", "a b"],
            "--kafka-topic-prefix must be",
        ),
        (vec!["serve", "--tcp-listen", "port-nine"], "is not an address"),
        (vec!["serve", "--role", "engine", "--kafka", "b:9", "--kafka-security", "ssl3"], "must be plaintext, tls"),
        (
            vec!["serve", "--role", "engine", "--kafka", "b:9", "--kafka-security", "scram-sha-512"],
            "needs --kafka-sasl-username",
        ),
        (
            vec!["serve", "--role", "engine", "--kafka", "b:9", "--kafka-sasl-username", "oms"],
            "without --kafka-security",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let output = Command::new(OMS).args(&args).arg("--data-dir").arg(dir.path()).output().expect("run");
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} must fail");
        assert!(text.contains(needle), "{args:?}: {text}");
    }
}

/// An operator's deployment: the market and the keys come from files (a ConfigMap and a
/// Secret on Kubernetes), not from `--demo`; a key given only by its SHA-256 works; an
/// invalid market file stops the server before it touches the journal; `--role ingress`
/// without keys is refused.
#[test]
fn market_and_api_keys_from_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let market = dir.path().join("market.toml");
    std::fs::write(
        &market,
        "[[asset]]\nid = 0\ncode = \"USDT\"\nscale = 6\n[[asset]]\nid = 1\ncode = \"DOGE\"\nscale = 8\n\
         [[instrument]]\nid = 0\nsymbol = \"DOGE-USDT\"\nbase = \"DOGE\"\nquote = \"USDT\"\n\
         tick-size = \"0.00001\"\nlot-size = \"1\"\nquantity-max = \"1000000\"\nnotional-min = \"1\"\n\
         notional-max = \"100000\"\nreference-price = \"0.15\"\n\
         [[deposit]]\naccount = 7\nasset = \"USDT\"\namount = \"1000\"\n",
    )
    .expect("market file");
    // sha256("operator-key-for-account-7"), as `printf %s key | sha256sum` prints it.
    let output = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().and_then(|mut c| {
        c.stdin.take().expect("stdin").write_all(b"operator-key-for-account-7")?;
        c.wait_with_output()
    });
    let digest = String::from_utf8(output.expect("sha256sum").stdout).expect("utf8");
    let digest = digest.split_whitespace().next().expect("digest");
    let keys = dir.path().join("keys.toml");
    std::fs::write(&keys, format!("[[key]]\naccount = 7\nsha256 = \"{digest}\"\n")).expect("keys file");
    let data = dir.path().join("data");
    let port = free_port();
    let log = dir.path().join("oms.log");
    let args: Vec<&std::ffi::OsStr> = vec![
        "--market".as_ref(),
        market.as_os_str(),
        "--api-keys".as_ref(),
        keys.as_os_str(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ];
    let child = serve_ready(port, &log, &args);
    let key = Some("operator-key-for-account-7");
    let (status, body) = http(port, "GET", "/api/instruments", key, None).expect("instruments");
    assert!(status == 200 && body.contains("DOGE-USDT") && !body.contains("BTC-USD"), "{status} {body}");
    let order = r#"{"symbol":"DOGE-USDT","side":"buy","type":"limit","price":"0.15","quantity":"100"}"#;
    let (status, body) = http(port, "POST", "/api/orders", key, Some(order)).expect("place");
    assert_eq!(status, 201, "the opening USDT balance pays for it: {body}");
    let too_big = r#"{"symbol":"DOGE-USDT","side":"buy","type":"limit","price":"0.15","quantity":"10000"}"#;
    let (_, body) = http(port, "POST", "/api/orders", key, Some(too_big)).expect("place");
    assert!(body.contains("\"insufficient_balance\""), "1500 USDT is more than the 1000 deposited: {body}");
    let (status, _) = http(port, "GET", "/api/account", Some("demo-key-that-is-not-there"), None).expect("401");
    assert_eq!(status, 401);
    terminate(child);

    let fresh = dir.path().join("fresh");
    let output = Command::new(OMS)
        .args(["serve", "--role", "ingress", "--kafka", "127.0.0.1:9", "--market"])
        .arg(&market)
        .arg("--data-dir")
        .arg(&fresh)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && text.contains("needs --api-keys"), "{text}");

    std::fs::write(&market, "[[asset]]\nid = 0\ncode = \"USDT\"\nscale = 6\ninstrument = []\n").expect("rewrite");
    let output =
        Command::new(OMS).args(["serve", "--market"]).arg(&market).arg("--data-dir").arg(&fresh).output().expect("run");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && text.contains("parsing"), "{text}");
    assert!(!fresh.join("journal").exists(), "nothing was journaled");
}
