//! The shared heart of Vaka: the domain model, the wire types of the sync protocol, the hybrid
//! logical clock, the merge, validation, the default category taxonomy with Swedish and
//! English labels, and the guard that spots personal identifiers in free text (`pii`).
//!
//! This crate does no I/O. The device and the server both run its merge, so they cannot disagree
//! on the state that a set of ops produces.

pub mod blob;
pub mod enroll_link;
pub mod hlc;
pub mod ids;
pub mod int;
pub mod merge;
pub mod model;
mod object;
pub mod op;
pub mod pii;
pub mod policy;
pub mod sync;
pub mod time;
pub mod validate;

pub use hlc::{Hlc, HlcClock};
pub use ids::{AreaId, DeviceId, EntityId, MemberId, OpId, OrgId};
pub use op::{EntityKind, Op, OpBody};
pub use time::Timestamp;
