//! The sync protocol on the server: push (apply a device's ops in `device_seq` order inside the
//! group transaction, by the pure rules of [`rules`]) and pull (hand out a page of the
//! organisation's ops by sequence, [`crate::store::ops::pull`]).

pub mod rules;
pub mod seen;

pub use crate::store::ops::{RawPullPage, pull};
pub use crate::store::push::push;
pub use rules::PushLimits;
pub use seen::LastSync;
