//! `oms`: the OMS binary. Thin by design: it parses configuration and wires crates.
//!
//! ```sh
//! oms serve --demo                 # engine + HTTP/WS + dashboard on 127.0.0.1:8080, demo market
//! oms replay --data-dir ./data     # recovered state hash and counts, without serving
//! ```

mod config;
mod demo;
mod keys;
mod market;
mod roles;

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use oms_core::book::LevelBook;
use oms_core::journal::recover;
use oms_core::prelude::*;
use oms_http::auth::{ApiKeys, Principal};
use oms_http::external::External;
use oms_http::{AppState, HttpConfig, router};

use crate::config::{Cli, Command, ServeArgs};
use crate::market::Market;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve((*args).resolve()?),
        Command::Replay { data_dir } => replay(&data_dir),
    }
}

fn replay(data_dir: &std::path::Path) -> anyhow::Result<()> {
    let mut sink = CountingSink::default();
    let recovered = recover::<LevelBook>(data_dir, config::engine_config(), &mut sink)
        .with_context(|| format!("recovering {}", data_dir.display()))?;
    let engine = &recovered.engine;
    println!("state_hash        {:016x}", engine.state_hash());
    println!("last_sequence     {}", recovered.last_sequence);
    println!("snapshot_sequence {}", recovered.snapshot_sequence.map_or("none".into(), |s| s.to_string()));
    println!("replayed          {}", recovered.replayed);
    println!("truncated_bytes   {}", recovered.truncated_bytes);
    println!("events            {} (trades {})", sink.events, sink.trades);
    println!("instruments       {}", engine.instruments().count());
    println!("accounts          {}", engine.accounts().count());
    println!("working_orders    {}", engine.working_orders());
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(&args.log);
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let serves_api = matches!(args.role.as_str(), "all" | "ingress");
    let Setup { market, keys, demo } = setup(&args, serves_api)?;
    let needs_market = |role: &str| {
        market
            .as_ref()
            .with_context(|| format!("--role {role} needs --market <file> (or --demo): the market definition"))
    };
    match (args.role.as_str(), &args.kafka) {
        ("all", None) => {}
        ("all", Some(_)) => anyhow::bail!(
            "--kafka goes with a split role (--role ingress, engine or persister); --role all runs without it"
        ),
        ("engine", Some(kafka)) => {
            return roles::engine::run(&args, &kafka.config, needs_market("engine")?.actions().to_vec());
        }
        ("engine", None) => anyhow::bail!("--role engine needs --kafka <brokers>"),
        ("persister", Some(kafka)) => {
            let Some(mongo) = &args.mongo else {
                anyhow::bail!("--role persister needs --mongo <url> (the database it writes the decisions to)");
            };
            // The symbols, ticks, lots and asset scales that turn the messages' decimals
            // back into the documents' engine integers: the engines' market definition.
            return roles::persister::run(&args.listen, &kafka.config, mongo, needs_market("persister")?);
        }
        ("persister", None) => anyhow::bail!("--role persister needs --kafka <brokers> and --mongo <url>"),
        ("ingress", Some(kafka)) => {
            let market = needs_market("ingress")?;
            anyhow::ensure!(
                !keys.is_empty(),
                "--role ingress needs --api-keys <file> (or --demo): nobody could call it"
            );
            return roles::ingress::run(&args, &kafka.config, market, keys, demo.as_ref().map(demo::Demo::listing));
        }
        ("ingress", None) => anyhow::bail!("--role ingress needs --kafka <brokers>"),
        (role, _) => anyhow::bail!("unknown role {role:?} (all, ingress, engine or persister)"),
    }
    if keys.is_empty() {
        tracing::warn!("no API keys (--api-keys or --demo): every API call will be refused with 401");
    }
    let mut builder = Engine::builder()
        .config(config::engine_config())
        .journal(&args.data_dir, args.fsync)
        .ring_slots(1 << 16)
        // The stages share this box with the HTTP workers: back off to sleep when idle.
        .wait_strategy(oms_core::pipeline::WaitMode::Backoff(Duration::from_micros(50)));
    for action in market.iter().flat_map(Market::actions) {
        builder = builder.genesis(*action);
    }
    let handle = builder.start().context("starting the engine (recovery)")?;
    let recovery = handle.recovery();
    tracing::info!(last_sequence = recovery.last_sequence, replayed = recovery.replayed, snapshot = ?recovery.snapshot_sequence, truncated = recovery.truncated_bytes, "recovered");
    let http = HttpConfig {
        static_dir: Some(args.static_dir.clone()),
        history_from: Some((args.data_dir.clone(), config::engine_config())),
        history_orders_max: args.history_orders_max,
        demo_accounts: demo.as_ref().map(demo::Demo::listing),
        ..HttpConfig::default()
    };
    let gateway = match args.tcp_listen {
        Some(listen) => {
            let keys = keys.clone();
            let authenticate: oms_tcp::Authenticate =
                std::sync::Arc::new(move |key: &str| keys.resolve(key).map(|p| p.account));
            let gateway = oms_tcp::Gateway::start(oms_tcp::GatewayConfig::new(listen), handle.clone(), authenticate)
                .with_context(|| format!("starting the TCP gateway on {listen}"))?;
            tracing::info!(tcp_listen = %gateway.local_addr(), "binary gateway listening");
            Some(gateway)
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(args.http_threads).enable_all().build()?;
    let shutdown_handle = handle.clone();
    runtime.block_on(async move {
        let mut external = External::default();
        if let Some(url) = &args.redis {
            let redis = std::sync::Arc::new(oms_redis::Redis::start(url)?);
            external.idempotency = Some(redis.clone());
            external.cache = Some(redis.clone());
            external.dependencies.push(redis);
            tracing::info!("redis: idempotency store and read caches on");
        }
        let persister = match &args.mongo {
            Some(url) => {
                let settings = oms_mongo::PersisterConfig::new(url, &args.data_dir, config::engine_config());
                let persister = oms_mongo::Persister::start(handle.clone(), settings)
                    .await
                    .context("starting the MongoDB persister")?;
                external.archive = Some(std::sync::Arc::new(persister.archive()));
                external.dependencies.push(std::sync::Arc::new(persister.clone()));
                tracing::info!("mongo: persister and history archive on");
                Some(persister)
            }
            None => None,
        };
        let state = AppState::start_with(handle.clone(), keys, http, external)
            .await
            .map_err(|p| anyhow::anyhow!("{}", p.detail))?;
        let listener =
            tokio::net::TcpListener::bind(&args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        tracing::info!(listen = %args.listen, dashboard = %args.static_dir.display(), "serving");
        let bot = market
            .as_ref()
            .filter(|_| demo.is_some() && args.demo_liquidity)
            .map(|m| tokio::spawn(demo::liquidity_bot(handle.clone(), demo::Demo::market_maker(m))));
        drop(handle);
        let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
        if let Some(bot) = bot {
            bot.abort();
        }
        if let Some(persister) = persister {
            // Write what the engine published before the signal (bounded); a later start
            // resumes from the checkpoint anyway.
            persister.flush(Duration::from_secs(5)).await;
        }
        anyhow::Ok(())
    })?;
    // Let in-flight handlers finish, stop the gateway, then drain the ring, sync and snapshot.
    runtime.shutdown_timeout(Duration::from_secs(5));
    if let Some(gateway) = gateway {
        gateway.stop();
    }
    let report = shutdown_handle.shutdown().map_err(|e| anyhow::anyhow!("engine shutdown: {e}"))?;
    tracing::info!(last_sequence = report.last_sequence, state_hash = format!("{:016x}", report.state_hash), snapshot = ?report.snapshot, "stopped");
    Ok(())
}

/// What a server starts with: the market a new journal is created with, and who may call.
struct Setup {
    market: Option<Market>,
    keys: ApiKeys,
    demo: Option<demo::Demo>,
}

/// `--market`/`--api-keys` files, or the demo's market and keys, or both key sets. A role
/// that serves the API prints and saves the demo keys (one writer of the file clients read).
fn setup(args: &ServeArgs, serves_api: bool) -> anyhow::Result<Setup> {
    let demo = args.demo.then(|| demo::Demo::new(&args.data_dir)).transpose()?;
    let market = match (&args.market, &demo) {
        (Some(path), _) => Some(Market::load(path)?),
        (None, Some(_)) => Some(demo::Demo::market()),
        (None, None) => None,
    };
    let mut keys = match &args.api_keys {
        Some(path) => keys::load(path)?,
        None => ApiKeys::default(),
    };
    if let Some(demo) = &demo {
        for account in demo.accounts() {
            let principal = Principal { account: account.account, admin: account.admin };
            anyhow::ensure!(
                keys.insert_digest(ApiKeys::digest(&account.api_key), principal),
                "demo account {}'s key is also in --api-keys",
                account.account.0
            );
        }
        if serves_api {
            demo.print_and_save()?;
        }
    }
    Ok(Setup { market, keys, demo })
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal: finishing in-flight requests");
}

fn init_logging(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(false).try_init();
}
