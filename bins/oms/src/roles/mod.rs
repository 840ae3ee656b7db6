//! The split service roles of `oms serve --role … --kafka …` (docs/adr/0003-scale-out.md).

pub mod engine;
pub mod fold;
pub mod ingress;
pub mod latest;
pub mod persister;
pub mod probe;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

/// A flag set by the first SIGTERM or SIGINT (for roles that run on plain threads).
pub fn stop_on_signal() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("signal runtime")?;
    std::thread::Builder::new()
        .name("oms-signals".into())
        .spawn(move || {
            runtime.block_on(crate::shutdown_signal());
            flag.store(true, Ordering::Release);
        })
        .context("spawning the signal thread")?;
    Ok(stop)
}
