//! Per-instrument position keeping with average cost.

/// An account's position in one instrument.
///
/// `net_base` is the net traded quantity (a sale of deposited coins makes it negative: a
/// spot "short" against inventory, which is how position keeping usually counts it).
/// `open_cost_quote` is the signed cost basis of the open position, so realized P&L on a
/// reducing trade is exact up to integer division of the basis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Position {
    /// Net traded quantity in base minor units (+ long, − short).
    pub net_base: i64,
    /// Signed cost of the open position in quote minor units (+ paid for longs,
    /// − received for shorts).
    pub open_cost_quote: i64,
    /// Base units on working buy orders.
    pub working_buy_base: i64,
    /// Base units on working sell orders.
    pub working_sell_base: i64,
    /// Notional of working orders at their own prices, quote units.
    pub working_notional_quote: i64,
    /// Realized P&L since the account was created, quote units.
    pub realized_pnl_quote: i64,
}

impl Position {
    /// Books a trade of `base` units (+ bought, − sold) for `notional` quote units and
    /// returns the realized P&L of the part that closed existing position.
    pub fn apply_trade(&mut self, base: i64, notional: i64) -> i64 {
        debug_assert!(base != 0 && notional >= 0);
        let signed_cost = if base > 0 { notional } else { -notional };
        let same_direction = self.net_base == 0 || (self.net_base > 0) == (base > 0);
        if same_direction {
            self.net_base += base;
            self.open_cost_quote = self.open_cost_quote.saturating_add(signed_cost);
            return 0;
        }
        let closing = base.abs().min(self.net_base.abs());
        // Proportions in i128: the products can exceed i64.
        let basis_closed =
            (i128::from(self.open_cost_quote) * i128::from(closing) / i128::from(self.net_base.abs())) as i64;
        let trade_closed = (i128::from(signed_cost) * i128::from(closing) / i128::from(base.abs())) as i64;
        // Long closed by a sale: proceeds (−trade_closed) minus basis. Short closed by a
        // purchase: basis is negative (proceeds received), cost is trade_closed.
        let realized = -(trade_closed + basis_closed);
        self.open_cost_quote -= basis_closed;
        self.net_base += if base > 0 { closing } else { -closing };
        let opening = base.abs() - closing;
        if opening > 0 {
            self.net_base += if base > 0 { opening } else { -opening };
            self.open_cost_quote = signed_cost - trade_closed;
        }
        if self.net_base == 0 {
            self.open_cost_quote = 0;
        }
        self.realized_pnl_quote = self.realized_pnl_quote.saturating_add(realized);
        realized
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_then_sell_higher_realizes_profit() {
        let mut p = Position::default();
        assert_eq!(p.apply_trade(10, 1_000), 0);
        assert_eq!(p.apply_trade(-4, 480), 480 - 400);
        assert_eq!((p.net_base, p.open_cost_quote), (6, 600));
        assert_eq!(p.apply_trade(-6, 540), 540 - 600);
        assert_eq!(p, Position { realized_pnl_quote: 20, ..Position::default() });
    }

    #[test]
    fn short_covered_lower_realizes_profit_and_flips() {
        let mut p = Position::default();
        p.apply_trade(-10, 1_000);
        assert_eq!((p.net_base, p.open_cost_quote), (-10, -1_000));
        // Buy 15 at 90 each: covers 10 (profit 100) and opens a 5 long at 450.
        assert_eq!(p.apply_trade(15, 1_350), 100);
        assert_eq!((p.net_base, p.open_cost_quote), (5, 450));
    }
}
