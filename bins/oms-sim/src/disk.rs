//! A simulated disk with the failure model the journal's durability argument must survive.
//!
//! Every file is an inode with a *durable* part and a *volatile* part (written, not yet
//! synced: the page cache). Directory entries (create, rename, remove) are volatile until
//! `sync_dir` on their directory. A power loss ([`SimDisk::power_loss`]) keeps the durable
//! namespace and, per inode, the durable bytes plus a random prefix of the volatile ones —
//! a torn write. Faults are armed by the simulator: an operation that crashes the machine
//! (a write crashes after a random prefix reached the page cache), or a `fdatasync` that
//! fails with EIO (after which Linux may have dropped the dirty pages, so that inode's
//! volatile bytes are lost at the next power loss).

use std::collections::BTreeMap;
use std::io::{Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use oms_core::journal::{Disk, DiskFile};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One file's bytes.
#[derive(Clone, Debug, Default)]
struct Inode {
    durable: Vec<u8>,
    volatile: Vec<u8>,
    /// A sync of this inode failed: its volatile bytes do not survive a power loss.
    poisoned: bool,
}

/// A fault armed for a future operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The machine dies during the `n`-th next operation (0 = the next one).
    CrashAt(u32),
    /// The next `sync_data` fails with EIO.
    FailSync,
}

#[derive(Debug)]
struct State {
    inodes: Vec<Inode>,
    /// What a reader sees now.
    live: BTreeMap<PathBuf, usize>,
    /// What survives a power loss.
    durable: BTreeMap<PathBuf, usize>,
    fault: Option<Fault>,
    /// Set once the machine is dead: every operation fails until the power loss.
    dead: bool,
    rng: ChaCha8Rng,
    stats: DiskStats,
}

/// What the disk went through, for the run report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    /// Crashes injected into an operation.
    pub crashes: u64,
    /// `fdatasync` calls failed on purpose.
    pub failed_syncs: u64,
    /// Power losses that kept only part of a write.
    pub torn_writes: u64,
    /// Bytes written.
    pub bytes_written: u64,
}

/// The simulated disk; clones share the same state (like handles to one machine's disk).
#[derive(Clone, Debug)]
pub struct SimDisk(Arc<Mutex<State>>);

/// An open file on a [`SimDisk`].
#[derive(Debug)]
pub struct SimFile {
    disk: SimDisk,
    inode: usize,
}

fn io(kind: ErrorKind, what: &str) -> Error {
    Error::new(kind, what.to_owned())
}

impl SimDisk {
    /// An empty disk whose torn-write choices come from `rng`.
    pub fn new(rng: ChaCha8Rng) -> Self {
        Self(Arc::new(Mutex::new(State {
            inodes: Vec::new(),
            live: BTreeMap::new(),
            durable: BTreeMap::new(),
            fault: None,
            dead: false,
            rng,
            stats: DiskStats::default(),
        })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The simulator is single-threaded; a poisoned lock means a panic already failed it.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Arms `fault` (replacing any armed one).
    pub fn arm(&self, fault: Fault) {
        self.state().fault = Some(fault);
    }

    /// Whether the machine died in an operation since the last power loss.
    pub fn is_dead(&self) -> bool {
        self.state().dead
    }

    /// Counters so far.
    pub fn stats(&self) -> DiskStats {
        self.state().stats
    }

    /// Power loss and reboot: the durable namespace survives; every inode keeps its durable
    /// bytes plus a random prefix of its volatile bytes (none if a sync of it failed).
    pub fn power_loss(&self) {
        let mut state = self.state();
        let state = &mut *state;
        for inode in &mut state.inodes {
            let volatile = std::mem::take(&mut inode.volatile);
            let kept =
                if inode.poisoned || volatile.is_empty() { 0 } else { state.rng.random_range(0..=volatile.len()) };
            if kept > 0 && kept < volatile.len() {
                state.stats.torn_writes += 1;
            }
            inode.durable.extend_from_slice(&volatile[..kept]);
            inode.poisoned = false;
        }
        state.live = state.durable.clone();
        state.fault = None;
        state.dead = false;
    }

    /// The process died but the machine did not (SIGKILL): the page cache, and so every
    /// written byte, survives; open handles are gone.
    pub fn process_restart(&self) {
        let mut state = self.state();
        state.fault = None;
        state.dead = false;
    }

    /// A separate disk with the same *readable* content (for replay checks that must not
    /// disturb the run).
    pub fn fork(&self) -> SimDisk {
        let state = self.state();
        let mut inodes = Vec::new();
        let mut names = BTreeMap::new();
        for (path, &inode) in &state.live {
            let source = &state.inodes[inode];
            let mut bytes = source.durable.clone();
            bytes.extend_from_slice(&source.volatile);
            names.insert(path.clone(), inodes.len());
            inodes.push(Inode { durable: bytes, ..Inode::default() });
        }
        SimDisk(Arc::new(Mutex::new(State {
            inodes,
            live: names.clone(),
            durable: names,
            fault: None,
            dead: false,
            rng: state.rng.clone(),
            stats: DiskStats::default(),
        })))
    }

    /// Counts an operation against the armed fault; `Err` when the machine dies now.
    fn operation(state: &mut State) -> Result<(), Error> {
        if state.dead {
            return Err(io(ErrorKind::BrokenPipe, "simulated machine is down"));
        }
        if let Some(Fault::CrashAt(n)) = state.fault {
            if n == 0 {
                state.fault = None;
                state.dead = true;
                state.stats.crashes += 1;
                return Err(io(ErrorKind::Interrupted, "simulated crash"));
            }
            state.fault = Some(Fault::CrashAt(n - 1));
        }
        Ok(())
    }
}

/// Directory part of `path` as the key prefix of its entries.
fn in_dir(path: &Path, dir: &Path) -> bool {
    path.parent() == Some(dir)
}

impl Disk for SimDisk {
    type File = SimFile;

    fn create_dir_all(&self, _dir: &Path) -> std::io::Result<()> {
        // Directories are implicit in the paths; creating one cannot fail or be lost.
        Self::operation(&mut self.state())
    }

    fn list_dir(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let mut state = self.state();
        Self::operation(&mut state)?;
        Ok(state.live.keys().filter(|p| in_dir(p, dir)).cloned().collect())
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let mut state = self.state();
        Self::operation(&mut state)?;
        let inode = *state.live.get(path).ok_or_else(|| io(ErrorKind::NotFound, "no such file"))?;
        let inode = &state.inodes[inode];
        let mut bytes = inode.durable.clone();
        bytes.extend_from_slice(&inode.volatile);
        Ok(bytes)
    }

    fn create_new(&self, path: &Path) -> std::io::Result<SimFile> {
        let mut state = self.state();
        Self::operation(&mut state)?;
        if state.live.contains_key(path) {
            return Err(io(ErrorKind::AlreadyExists, "file exists"));
        }
        let inode = state.inodes.len();
        state.inodes.push(Inode::default());
        state.live.insert(path.to_path_buf(), inode);
        Ok(SimFile { disk: self.clone(), inode })
    }

    fn truncate(&self, path: &Path, len: u64) -> std::io::Result<()> {
        let mut state = self.state();
        Self::operation(&mut state)?;
        let inode = *state.live.get(path).ok_or_else(|| io(ErrorKind::NotFound, "no such file"))?;
        let inode = &mut state.inodes[inode];
        let mut bytes = std::mem::take(&mut inode.durable);
        bytes.extend_from_slice(&std::mem::take(&mut inode.volatile));
        bytes.truncate(len as usize);
        inode.durable = bytes;
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        let mut state = self.state();
        Self::operation(&mut state)?;
        let inode = state.live.remove(from).ok_or_else(|| io(ErrorKind::NotFound, "no such file"))?;
        state.live.insert(to.to_path_buf(), inode);
        Ok(())
    }

    fn remove(&self, path: &Path) -> std::io::Result<()> {
        let mut state = self.state();
        Self::operation(&mut state)?;
        state.live.remove(path).map(|_| ()).ok_or_else(|| io(ErrorKind::NotFound, "no such file"))
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        let mut state = self.state();
        Self::operation(&mut state)?;
        let state = &mut *state;
        state.durable.retain(|path, _| !in_dir(path, dir));
        for (path, &inode) in state.live.iter().filter(|(p, _)| in_dir(p, dir)) {
            state.durable.insert(path.clone(), inode);
        }
        Ok(())
    }
}

impl DiskFile for SimFile {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut state = self.disk.state();
        let state = &mut *state;
        let crash_now = state.fault == Some(Fault::CrashAt(0));
        if crash_now {
            // Part of the write reaches the page cache before the machine dies.
            let part = state.rng.random_range(0..=bytes.len());
            state.inodes[self.inode].volatile.extend_from_slice(&bytes[..part]);
        }
        SimDisk::operation(state)?;
        state.inodes[self.inode].volatile.extend_from_slice(bytes);
        state.stats.bytes_written += bytes.len() as u64;
        Ok(())
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        let mut state = self.disk.state();
        let state = &mut *state;
        SimDisk::operation(state)?;
        if state.fault == Some(Fault::FailSync) {
            state.fault = None;
            state.stats.failed_syncs += 1;
            state.inodes[self.inode].poisoned = true;
            return Err(io(ErrorKind::Other, "simulated EIO on fdatasync"));
        }
        let inode = &mut state.inodes[self.inode];
        let volatile = std::mem::take(&mut inode.volatile);
        inode.durable.extend_from_slice(&volatile);
        Ok(())
    }

    fn try_clone(&self) -> std::io::Result<Self> {
        Ok(SimFile { disk: self.disk.clone(), inode: self.inode })
    }
}
