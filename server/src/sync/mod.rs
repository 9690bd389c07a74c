//! The sync protocol on the server: push (apply a device's ops in `device_seq` order inside the
//! group transaction) and pull (hand out a page of the organisation's ops by sequence).

pub mod pull;
pub mod push;
pub mod seen;

pub use pull::{RawPullPage, pull};
pub use push::{PushLimits, push};
pub use seen::LastSync;
