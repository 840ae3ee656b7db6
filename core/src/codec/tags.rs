//! One byte per enum value, shared by the codec, `state_hash` and the binary TCP protocol,
//! so all agree forever. Never renumber: these bytes are on disk and on the wire.

use crate::model::{InstrumentStatus, OrderStatus, OrderType, SelfTradePrevention, Side, TimeInForce};

macro_rules! tags {
    ($ty:ty, $to:ident, $from:ident, { $($variant:path => $tag:literal),+ $(,)? }) => {
        /// On-disk tag of the value.
        pub fn $to(v: $ty) -> u8 {
            match v { $($variant => $tag),+ }
        }
        /// Value of an on-disk tag.
        pub fn $from(tag: u8) -> Option<$ty> {
            match tag { $($tag => Some($variant),)+ _ => None }
        }
    };
}

tags!(Side, side_tag, side_from, { Side::Buy => 1, Side::Sell => 2 });
tags!(OrderType, order_type_tag, order_type_from, {
    OrderType::Limit => 1, OrderType::Market => 2, OrderType::Stop => 3, OrderType::StopLimit => 4,
});
tags!(TimeInForce, tif_tag, tif_from, {
    TimeInForce::Gtc => 1, TimeInForce::Ioc => 2, TimeInForce::Fok => 3, TimeInForce::Gtd => 4,
});
tags!(SelfTradePrevention, stp_tag, stp_from, {
    SelfTradePrevention::None => 1, SelfTradePrevention::ExpireMaker => 2,
    SelfTradePrevention::ExpireTaker => 3, SelfTradePrevention::ExpireBoth => 4,
});
tags!(InstrumentStatus, instrument_status_tag, instrument_status_from, {
    InstrumentStatus::Trading => 1, InstrumentStatus::Halted => 2,
});
tags!(OrderStatus, order_status_tag, order_status_from, {
    OrderStatus::New => 1, OrderStatus::Accepted => 2, OrderStatus::Triggered => 3,
    OrderStatus::PartiallyFilled => 4, OrderStatus::Filled => 5, OrderStatus::Cancelled => 6,
    OrderStatus::Rejected => 7, OrderStatus::Expired => 8, OrderStatus::Settled => 9,
});
