//! `loadgen`: open-loop load against the OMS.
//!
//! ```sh
//! cargo run --release -p loadgen -- --target inproc --rate 200000 --duration 10 \
//!     --journal /tmp/lg --fsync batch --json result.json
//! ```

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use loadgen::inproc::{InprocOptions, run};
use oms_core::pipeline::{FsyncPolicy, WaitMode};

/// Open-loop load generator (latency from planned send times, HdrHistogram).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Where to send: `inproc` (the pipeline in this process), `http://HOST:PORT` or `tcp://HOST:PORT`.
    #[arg(long, default_value = "inproc")]
    target: String,
    /// With an http or tcp target: the `--demo` accounts file (`[{"accountId","apiKey"}]`).
    #[arg(long)]
    api_keys: Option<PathBuf>,
    /// With an http target: connections (requests in flight) at most; with tcp: connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// With an http target: symbol to trade.
    #[arg(long, default_value = "BTC-USD")]
    symbol: String,
    /// With an http target: mid price to quote around (default: the market's last price).
    #[arg(long)]
    mid_price: Option<rust_decimal::Decimal>,
    /// With a tcp target: instrument id to trade.
    #[arg(long, default_value_t = 0)]
    instrument: u32,
    /// With a tcp target: the market's mid price in ticks (demo BTC-USD: 6000000).
    #[arg(long, default_value_t = 6_000_000)]
    mid_ticks: i64,
    /// Planned commands per second (or use --sweep).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured warm-up seconds before.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Journal directory (must be empty or absent); without it the pipeline runs in memory.
    #[arg(long)]
    journal: Option<PathBuf>,
    /// `batch`, `none` or `interval:<ms>` (with --journal).
    #[arg(long, default_value = "batch")]
    fsync: FsyncPolicy,
    /// Stage wait strategy: `yield`, `spin`, `backoff` or `sleep:<µs>`.
    #[arg(long, default_value = "yield", value_parser = parse_wait)]
    wait: WaitMode,
    /// Ring slots (power of two).
    #[arg(long, default_value_t = 1 << 16)]
    ring_slots: usize,
    /// Order-flow seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Sweep: comma-separated offered rates, one run each (instead of --rate).
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<u64>,
    /// With --sweep: write the results as CSV here.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// With --sweep: write an SVG plot of p50/p99/p99.9 against offered rate here.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Write the JSON report here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// With an http target: send a unique `Idempotency-Key` with every write.
    #[arg(long)]
    idempotency_keys: bool,
}

fn parse_wait(text: &str) -> Result<WaitMode, String> {
    match text {
        "yield" => Ok(WaitMode::Yield),
        "spin" => Ok(WaitMode::BusySpin),
        "backoff" => Ok(WaitMode::Backoff(Duration::from_micros(50))),
        _ => text
            .strip_prefix("sleep:")
            .and_then(|us| us.parse().ok())
            .map(|us| WaitMode::Sleep(Duration::from_micros(us)))
            .ok_or_else(|| format!("wait must be yield, spin or sleep:<µs>, got {text:?}")),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    anyhow::ensure!(cli.duration > 0.0 && cli.warmup >= 0.0, "--duration must be positive and --warmup not negative");
    if cli.sweep.is_empty() {
        anyhow::ensure!(cli.rate > 0, "give --rate or --sweep");
        let report = run_once(&cli, cli.rate, cli.journal.clone())?;
        return finish(&report, cli.json.as_deref());
    }
    let reports = loadgen::sweep::run(&cli.sweep, |rate| {
        // Each in-process run needs an empty journal directory of its own.
        let journal = cli.journal.as_ref().map(|dir| dir.join(format!("rate-{rate}")));
        run_once(&cli, rate, journal)
    })?;
    if let Some(path) = &cli.csv {
        loadgen::sweep::write_csv(&reports, path)?;
    }
    if let Some(path) = &cli.plot {
        let title = format!("{} — latency vs offered rate", reports[0].target);
        loadgen::sweep::plot_svg(&reports, &title, path)?;
    }
    Ok(())
}

fn run_once(cli: &Cli, rate: u64, journal: Option<PathBuf>) -> anyhow::Result<loadgen::report::Report> {
    let duration = Duration::from_secs_f64(cli.duration);
    let warmup = Duration::from_secs_f64(cli.warmup);
    if cli.target.starts_with("http://") {
        let keys = cli.api_keys.as_deref().context("--api-keys <file> is required with an http target")?;
        let options = loadgen::http::HttpOptions {
            base: cli.target.trim_end_matches('/').to_owned(),
            rate,
            duration,
            warmup,
            api_keys: loadgen::http::read_api_keys(keys)?,
            connections: cli.connections,
            symbol: cli.symbol.clone(),
            mid_price: cli.mid_price,
            seed: cli.seed,
            idempotency_keys: cli.idempotency_keys,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        return runtime.block_on(loadgen::http::run(options));
    }
    if let Some(addr) = cli.target.strip_prefix("tcp://") {
        let keys = cli.api_keys.as_deref().context("--api-keys <file> is required with a tcp target")?;
        let options = loadgen::tcp::TcpOptions {
            addr: addr.parse().with_context(|| format!("{addr:?} is not HOST:PORT"))?,
            rate,
            duration,
            warmup,
            api_keys: loadgen::http::read_api_keys(keys)?,
            connections: cli.connections,
            instrument: cli.instrument,
            mid_ticks: cli.mid_ticks,
        };
        return loadgen::tcp::run(&options);
    }
    anyhow::ensure!(
        cli.target == "inproc",
        "target {:?} is not supported (inproc, http://HOST:PORT or tcp://HOST:PORT)",
        cli.target
    );
    let options = InprocOptions {
        rate,
        duration,
        warmup,
        journal,
        fsync: cli.fsync,
        wait: cli.wait,
        ring_slots: cli.ring_slots,
        seed: cli.seed,
    };
    run(&options)
}

fn finish(report: &loadgen::report::Report, json: Option<&std::path::Path>) -> anyhow::Result<()> {
    println!("{}", report.summary());
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
