//! Domain types shared by the engine and every adapter.

mod asset;
mod command;
mod event;
mod fixed;
mod ids;
mod instrument;
mod order;
mod reason;
mod risk_limits;
mod status;

pub use asset::{ASSET_SCALE_MAX, Asset, AssetSpec};
pub use command::{
    Action, AmendOrder, BalanceTransfer, CancelOrder, Command, KillSwitch, KillSwitchScope, MassCancel, NewOrder,
    Origin, SetInstrumentStatus, SetRiskLimits, TRANSFER_STREAM_BASE, TransferIn, TransferOut,
};
pub use event::{
    AdminApplied, BalanceChanged, CountingSink, Event, EventSink, Fill, OrderAmended, OrderCancelled, OrderUpdate,
    Rejected, Trade,
};
pub use fixed::{ConversionError, Price, Quantity};
pub use ids::{
    ASSET_CODE_LEN_MAX, AccountId, AssetCode, AssetId, CLIENT_ORDER_ID_LEN_MAX, ClientOrderId, IdentifierError,
    InlineId, InstrumentId, OrderId, SYMBOL_LEN_MAX, Sequence, Symbol, Timestamp, TradeId,
};
pub use instrument::{
    BPS_ONE, FEE_PPM_MAX, Instrument, InstrumentSpec, InstrumentSpecError, InstrumentStatus, PPM_ONE, fee_for,
};
pub use order::{Order, OrderType, SelfTradePrevention, Side, TimeInForce};
pub use reason::{CancelReason, RejectReason};
pub use risk_limits::RiskLimits;
pub use status::{IllegalTransition, OrderEvent, OrderStatus};
