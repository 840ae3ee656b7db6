//! Accounts: balances per asset, positions per instrument, limits and counters.

use rustc_hash::FxHashMap;

use super::position::Position;
use crate::model::{AccountId, RiskLimits, Timestamp};

/// Balance of one asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Balance {
    /// Free to use or withdraw.
    pub available: i64,
    /// Held for working orders.
    pub reserved: i64,
}

/// One account's risk state. Vectors are sized to the engine's asset and instrument
/// capacity when the account is created, never on the order path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// Indexed by `AssetId`.
    pub balances: Vec<Balance>,
    /// Indexed by `InstrumentId`.
    pub positions: Vec<Position>,
    /// Limits in force.
    pub limits: RiskLimits,
    /// Working orders (resting and untriggered stops).
    pub open_orders: u32,
    /// Account kill switch.
    pub killed: bool,
    /// Start of the current rate window.
    pub rate_window_start: Timestamp,
    /// Orders accepted in the current rate window.
    pub rate_window_orders: u32,
    /// UTC day `realized_pnl_today_quote` belongs to.
    pub pnl_day: u64,
    /// Realized P&L on `pnl_day`, quote units summed over instruments.
    pub realized_pnl_today_quote: i64,
    /// Working notional over all instruments, quote units.
    pub working_notional_quote: i64,
}

impl Account {
    fn new(id: AccountId, limits: RiskLimits, assets: usize, instruments: usize) -> Self {
        Self {
            id,
            balances: vec![Balance::default(); assets],
            positions: vec![Position::default(); instruments],
            limits,
            open_orders: 0,
            killed: false,
            rate_window_start: Timestamp(0),
            rate_window_orders: 0,
            pnl_day: 0,
            realized_pnl_today_quote: 0,
            working_notional_quote: 0,
        }
    }

    /// Orders the rate window would hold at `now` (without rolling it: checks are pure).
    pub fn orders_in_window(&self, now: Timestamp) -> u32 {
        if now.0.saturating_sub(self.rate_window_start.0) >= self.limits.rate_window_ns {
            0
        } else {
            self.rate_window_orders
        }
    }

    /// Counts an accepted order against the rate window.
    pub fn count_order(&mut self, now: Timestamp) {
        if now.0.saturating_sub(self.rate_window_start.0) >= self.limits.rate_window_ns {
            self.rate_window_start = now;
            self.rate_window_orders = 0;
        }
        self.rate_window_orders += 1;
    }

    /// Realized P&L of the UTC day of `now`.
    pub fn realized_pnl_on(&self, now: Timestamp) -> i64 {
        if self.pnl_day == now.day() { self.realized_pnl_today_quote } else { 0 }
    }

    /// Adds realized P&L from a fill at `now`.
    pub fn book_realized(&mut self, now: Timestamp, pnl: i64) {
        if self.pnl_day != now.day() {
            self.pnl_day = now.day();
            self.realized_pnl_today_quote = 0;
        }
        self.realized_pnl_today_quote = self.realized_pnl_today_quote.saturating_add(pnl);
    }
}

/// All accounts, in creation order (deterministic for hashing and iteration).
#[derive(Debug, Default)]
pub struct Accounts {
    slots: FxHashMap<AccountId, u32>,
    accounts: Vec<Account>,
    accounts_max: usize,
}

impl Accounts {
    /// Room for `accounts_max` accounts.
    pub fn with_capacity(accounts_max: usize) -> Self {
        let mut slots = FxHashMap::default();
        slots.reserve(accounts_max);
        Self { slots, accounts: Vec::with_capacity(accounts_max), accounts_max }
    }

    /// Dense slot of an account.
    #[inline]
    pub fn slot(&self, id: AccountId) -> Option<usize> {
        self.slots.get(&id).map(|s| *s as usize)
    }

    /// The account with this id.
    pub fn get(&self, id: AccountId) -> Option<&Account> {
        self.slot(id).map(|s| &self.accounts[s])
    }

    /// Account by slot.
    #[inline]
    pub fn at(&self, slot: usize) -> &Account {
        &self.accounts[slot]
    }

    /// Mutable account by slot.
    #[inline]
    pub fn at_mut(&mut self, slot: usize) -> &mut Account {
        &mut self.accounts[slot]
    }

    /// Slot of `id`, creating the account when there is room.
    pub fn get_or_create(
        &mut self,
        id: AccountId,
        limits: RiskLimits,
        assets: usize,
        instruments: usize,
    ) -> Option<usize> {
        if let Some(slot) = self.slot(id) {
            return Some(slot);
        }
        if self.accounts.len() >= self.accounts_max {
            return None;
        }
        self.accounts.push(Account::new(id, limits, assets, instruments));
        let slot = self.accounts.len() - 1;
        self.slots.insert(id, slot as u32);
        Some(slot)
    }

    /// Adds an account rebuilt from a snapshot, sizing its vectors to the capacities.
    /// Returns `false` (adding nothing) when the table is full or the id exists.
    pub fn restore(&mut self, mut account: Account, assets: usize, instruments: usize) -> bool {
        if self.accounts.len() >= self.accounts_max || self.slots.contains_key(&account.id) {
            return false;
        }
        account.balances.resize(assets, Balance::default());
        account.positions.resize(instruments, Position::default());
        self.slots.insert(account.id, self.accounts.len() as u32);
        self.accounts.push(account);
        true
    }

    /// Whether `id` exists or there is room to create it.
    pub fn can_hold(&self, id: AccountId) -> bool {
        self.slots.contains_key(&id) || self.accounts.len() < self.accounts_max
    }

    /// Accounts in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.accounts.iter()
    }
}
