//! Typed reasons for rejects and cancels. Each has a stable machine code for APIs.

use thiserror::Error;

/// Why a command was refused. Every refusal leaves engine state unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum RejectReason {
    // --- Sequencing -------------------------------------------------------------------
    /// Sequence not strictly above the last one applied.
    #[error("sequence is not increasing")]
    SequenceNotIncreasing,
    // --- Static order validation --------------------------------------------------------
    /// No such instrument.
    #[error("unknown instrument")]
    UnknownInstrument,
    /// Instrument halted.
    #[error("instrument is halted")]
    InstrumentHalted,
    /// Account has never been funded or configured.
    #[error("unknown account")]
    UnknownAccount,
    /// Quantity zero or negative.
    #[error("quantity must be positive")]
    QuantityNotPositive,
    /// Below the instrument's minimum.
    #[error("quantity below the instrument minimum")]
    QuantityBelowMin,
    /// Above the instrument's maximum.
    #[error("quantity above the instrument maximum")]
    QuantityAboveMax,
    /// Limit/stop-limit without price.
    #[error("price is required for this order type")]
    PriceRequired,
    /// Price zero or negative.
    #[error("price must be positive")]
    PriceNotPositive,
    /// Stop/stop-limit without trigger price.
    #[error("stop price is required for this order type")]
    StopPriceRequired,
    /// Trigger price on a non-stop order.
    #[error("stop price is only allowed on stop orders")]
    StopPriceNotAllowed,
    /// Outside the collar around the reference price.
    #[error("price outside the allowed band")]
    PriceOutsideBand,
    /// Market-like order on an instrument without a collar and without a protection price.
    #[error("market orders need a protection price on this instrument")]
    ProtectionPriceRequired,
    /// Notional below the instrument minimum.
    #[error("notional below the instrument minimum")]
    NotionalBelowMin,
    /// Notional above the instrument maximum.
    #[error("notional above the instrument maximum")]
    NotionalAboveMax,
    /// Arithmetic overflow computing the notional.
    #[error("order value overflows")]
    Overflow,
    /// Market orders must be IOC or FOK.
    #[error("time in force not allowed for this order type")]
    TimeInForceNotAllowed,
    /// GTD without expiry.
    #[error("expire time is required for GTD")]
    ExpireTimeRequired,
    /// Expiry on a non-GTD order.
    #[error("expire time is only allowed for GTD")]
    ExpireTimeNotAllowed,
    /// GTD expiry not after the command time.
    #[error("expire time is not in the future")]
    ExpireTimeInPast,
    /// Post-only on a market-like, stop or IOC/FOK order.
    #[error("post-only is only allowed on resting limit orders")]
    PostOnlyNotAllowed,
    /// Post-only order would take liquidity.
    #[error("post-only order would take liquidity")]
    PostOnlyWouldTake,
    /// Client order id in use by a working order of the account.
    #[error("client order id already in use")]
    DuplicateClientOrderId,
    // --- Risk ---------------------------------------------------------------------------
    /// Account kill switch engaged.
    #[error("account kill switch engaged")]
    AccountKillSwitch,
    /// Global kill switch engaged.
    #[error("global kill switch engaged")]
    GlobalKillSwitch,
    /// Order-rate limit reached.
    #[error("order rate limit reached")]
    OrderRateLimit,
    /// Too many working orders.
    #[error("open order limit reached")]
    OpenOrdersLimit,
    /// Daily realized loss limit reached.
    #[error("daily loss limit reached")]
    DailyLossLimit,
    /// Order quantity above the account limit.
    #[error("order quantity above the account limit")]
    OrderQuantityLimit,
    /// Order notional above the account limit.
    #[error("order notional above the account limit")]
    OrderNotionalLimit,
    /// Position would exceed the account limit.
    #[error("position limit would be exceeded")]
    PositionLimit,
    /// One instrument would hold too large a share of working notional.
    #[error("concentration limit would be exceeded")]
    ConcentrationLimit,
    /// Not enough available balance to reserve.
    #[error("insufficient balance")]
    InsufficientBalance,
    /// Reduce-only order would increase or flip the position.
    #[error("reduce-only order would increase the position")]
    ReduceOnlyWouldIncrease,
    // --- Capacity -----------------------------------------------------------------------
    /// Book or stop book at its configured capacity.
    #[error("order book capacity reached")]
    BookFull,
    /// Engine account table full.
    #[error("account capacity reached")]
    AccountCapacity,
    // --- Cancel / amend -----------------------------------------------------------------
    /// No working order with that id for this account.
    #[error("unknown order")]
    UnknownOrder,
    /// Stops that have not triggered cannot be amended (cancel and replace them).
    #[error("order cannot be amended")]
    OrderNotAmendable,
    /// Amend that changes nothing.
    #[error("amend changes nothing")]
    AmendNoChange,
    /// New quantity not above the filled quantity.
    #[error("new quantity must exceed the filled quantity")]
    AmendQuantityTooSmall,
    // --- Administration -----------------------------------------------------------------
    /// Id already defined.
    #[error("already defined")]
    AlreadyDefined,
    /// Id beyond the configured capacity.
    #[error("id beyond configured capacity")]
    IdOutOfRange,
    /// Asset not defined.
    #[error("unknown asset")]
    UnknownAsset,
    /// Instrument or asset definition invalid.
    #[error("invalid definition")]
    InvalidDefinition,
    /// Amount zero or negative.
    #[error("amount must be positive")]
    AmountNotPositive,
    /// Balance would overflow.
    #[error("balance would overflow")]
    BalanceOverflow,
    /// Risk limits inconsistent (negative, zero window).
    #[error("invalid risk limits")]
    InvalidRiskLimits,
    // --- Delivery -----------------------------------------------------------------------
    /// The command's stream offset was applied already (an at-least-once redelivery).
    #[error("duplicate delivery of an already applied stream offset")]
    DuplicateDelivery,
    /// The engine tracks no more input streams (see `STREAMS_MAX`).
    #[error("too many input streams")]
    StreamCapacity,
}

impl RejectReason {
    /// Every reason, in declaration order (binary protocol codes are positions + 1).
    pub const ALL: [RejectReason; 49] = [
        RejectReason::SequenceNotIncreasing,
        RejectReason::UnknownInstrument,
        RejectReason::InstrumentHalted,
        RejectReason::UnknownAccount,
        RejectReason::QuantityNotPositive,
        RejectReason::QuantityBelowMin,
        RejectReason::QuantityAboveMax,
        RejectReason::PriceRequired,
        RejectReason::PriceNotPositive,
        RejectReason::StopPriceRequired,
        RejectReason::StopPriceNotAllowed,
        RejectReason::PriceOutsideBand,
        RejectReason::ProtectionPriceRequired,
        RejectReason::NotionalBelowMin,
        RejectReason::NotionalAboveMax,
        RejectReason::Overflow,
        RejectReason::TimeInForceNotAllowed,
        RejectReason::ExpireTimeRequired,
        RejectReason::ExpireTimeNotAllowed,
        RejectReason::ExpireTimeInPast,
        RejectReason::PostOnlyNotAllowed,
        RejectReason::PostOnlyWouldTake,
        RejectReason::DuplicateClientOrderId,
        RejectReason::AccountKillSwitch,
        RejectReason::GlobalKillSwitch,
        RejectReason::OrderRateLimit,
        RejectReason::OpenOrdersLimit,
        RejectReason::DailyLossLimit,
        RejectReason::OrderQuantityLimit,
        RejectReason::OrderNotionalLimit,
        RejectReason::PositionLimit,
        RejectReason::ConcentrationLimit,
        RejectReason::InsufficientBalance,
        RejectReason::ReduceOnlyWouldIncrease,
        RejectReason::BookFull,
        RejectReason::AccountCapacity,
        RejectReason::UnknownOrder,
        RejectReason::OrderNotAmendable,
        RejectReason::AmendNoChange,
        RejectReason::AmendQuantityTooSmall,
        RejectReason::AlreadyDefined,
        RejectReason::IdOutOfRange,
        RejectReason::UnknownAsset,
        RejectReason::InvalidDefinition,
        RejectReason::AmountNotPositive,
        RejectReason::BalanceOverflow,
        RejectReason::InvalidRiskLimits,
        RejectReason::DuplicateDelivery,
        RejectReason::StreamCapacity,
    ];

    /// Stable machine code (snake case) for APIs and metrics.
    pub fn code(self) -> &'static str {
        use RejectReason as R;
        match self {
            R::SequenceNotIncreasing => "sequence_not_increasing",
            R::UnknownInstrument => "unknown_instrument",
            R::InstrumentHalted => "instrument_halted",
            R::UnknownAccount => "unknown_account",
            R::QuantityNotPositive => "quantity_not_positive",
            R::QuantityBelowMin => "quantity_below_min",
            R::QuantityAboveMax => "quantity_above_max",
            R::PriceRequired => "price_required",
            R::PriceNotPositive => "price_not_positive",
            R::StopPriceRequired => "stop_price_required",
            R::StopPriceNotAllowed => "stop_price_not_allowed",
            R::PriceOutsideBand => "price_outside_band",
            R::ProtectionPriceRequired => "protection_price_required",
            R::NotionalBelowMin => "notional_below_min",
            R::NotionalAboveMax => "notional_above_max",
            R::Overflow => "overflow",
            R::TimeInForceNotAllowed => "time_in_force_not_allowed",
            R::ExpireTimeRequired => "expire_time_required",
            R::ExpireTimeNotAllowed => "expire_time_not_allowed",
            R::ExpireTimeInPast => "expire_time_in_past",
            R::PostOnlyNotAllowed => "post_only_not_allowed",
            R::PostOnlyWouldTake => "post_only_would_take",
            R::DuplicateClientOrderId => "duplicate_client_order_id",
            R::AccountKillSwitch => "account_kill_switch",
            R::GlobalKillSwitch => "global_kill_switch",
            R::OrderRateLimit => "order_rate_limit",
            R::OpenOrdersLimit => "open_orders_limit",
            R::DailyLossLimit => "daily_loss_limit",
            R::OrderQuantityLimit => "order_quantity_limit",
            R::OrderNotionalLimit => "order_notional_limit",
            R::PositionLimit => "position_limit",
            R::ConcentrationLimit => "concentration_limit",
            R::InsufficientBalance => "insufficient_balance",
            R::ReduceOnlyWouldIncrease => "reduce_only_would_increase",
            R::BookFull => "book_full",
            R::AccountCapacity => "account_capacity",
            R::UnknownOrder => "unknown_order",
            R::OrderNotAmendable => "order_not_amendable",
            R::AmendNoChange => "amend_no_change",
            R::AmendQuantityTooSmall => "amend_quantity_too_small",
            R::AlreadyDefined => "already_defined",
            R::IdOutOfRange => "id_out_of_range",
            R::UnknownAsset => "unknown_asset",
            R::InvalidDefinition => "invalid_definition",
            R::AmountNotPositive => "amount_not_positive",
            R::BalanceOverflow => "balance_overflow",
            R::InvalidRiskLimits => "invalid_risk_limits",
            R::DuplicateDelivery => "duplicate_delivery",
            R::StreamCapacity => "stream_capacity",
        }
    }

    /// The reason whose [`Self::code`] is `code` (`None` for a code this build does not
    /// know, e.g. from a newer engine).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// Why working quantity stopped working.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CancelReason {
    /// The owner asked.
    Requested,
    /// Mass cancel.
    MassCancel,
    /// A kill switch with cancel-open-orders.
    KillSwitch,
    /// Self-trade prevention.
    SelfTradePrevention,
    /// IOC or market order: the part that could not trade at once (or beyond the
    /// protection price).
    ImmediateOrCancel,
    /// FOK order that could not fill completely.
    FillOrKill,
}

impl CancelReason {
    /// Stable machine code.
    pub fn code(self) -> &'static str {
        match self {
            CancelReason::Requested => "requested",
            CancelReason::MassCancel => "mass_cancel",
            CancelReason::KillSwitch => "kill_switch",
            CancelReason::SelfTradePrevention => "self_trade_prevention",
            CancelReason::ImmediateOrCancel => "immediate_or_cancel",
            CancelReason::FillOrKill => "fill_or_kill",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RejectReason;

    #[test]
    fn all_lists_every_reason_once() {
        // `code()` is an exhaustive match, so every variant has a code; ALL must hold each once.
        let mut codes: Vec<&str> = RejectReason::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RejectReason::ALL.len());
        let source = include_str!("reason.rs");
        let enum_part = &source[..source.find("impl RejectReason").expect("the impl follows the enum")];
        let declared = enum_part.matches("#[error(").count();
        assert_eq!(declared, RejectReason::ALL.len(), "a reason is missing from RejectReason::ALL");
    }

    #[test]
    fn every_code_reads_back_and_an_unknown_one_is_none() {
        for reason in RejectReason::ALL {
            assert_eq!(RejectReason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(RejectReason::from_code("no_such_reason"), None);
    }
}
