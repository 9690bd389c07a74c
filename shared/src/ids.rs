//! Newtype identifiers. Every id is a UUIDv7 made where the thing is created, so creation never
//! conflicts between devices.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) identifier.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// An organisation (tenant): the outer scope of all data.
    OrgId
);
id_type!(
    /// A member of an organisation.
    MemberId
);
id_type!(
    /// A device (phone) enrolled for a member.
    DeviceId
);
id_type!(
    /// A named area (polygon) used for reports.
    AreaId
);
id_type!(
    /// One operation in the sync log.
    OpId
);
id_type!(
    /// Any synced entity: patrol, track segment, incident, observation or comment.
    EntityId
);
