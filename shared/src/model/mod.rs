//! The domain model of DESIGN section 3: roles, kinds, statuses and the fields of each entity.

mod category;
mod fields;

pub use category::{Category, CategoryCode, DEFAULT_CATEGORIES, ObservationCategory};
pub use fields::{
    AttachmentRef, Audience, CommentFields, EntryRef, IncidentFields, Location, MessageFields,
    MessageReceiptFields, ObservationFields, PatrolFields, REVIEW_FIELDS, TrackPoint,
    TrackSegmentFields,
};

use serde::{Deserialize, Serialize};

/// Declares a plain string-coded enum with its wire names and a Swedish and English label.
macro_rules! labelled_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal, $sv:literal, $en:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant,)+
        }

        // By hand: the derive does not see the wire names through the macro.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($wire),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The name used on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire,)+ }
            }

            /// The value with this wire name.
            pub fn from_wire(text: &str) -> Option<Self> {
                match text { $($wire => Some(Self::$variant),)+ _ => None }
            }

            /// The label shown to people.
            pub fn label(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Self::$variant, Lang::Sv) => $sv, (Self::$variant, Lang::En) => $en,)+
                }
            }
        }
    };
}
pub(crate) use labelled_enum;

/// A language of the user interface. Swedish first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Svenska.
    #[default]
    Sv,
    /// English.
    En,
}

labelled_enum!(
    /// What a member may do.
    Role {
        /// Logs patrols, incidents and observations.
        Volunteer = "volunteer", "Volontär", "Volunteer";
        /// Reviews entries, comments and compiles reports.
        Coordinator = "coordinator", "Samordnare", "Coordinator";
        /// Everything a coordinator does, and manages members and devices.
        Admin = "admin", "Administratör", "Administrator";
        /// The police's local liaison or a municipal official outside the daily work: signs in
        /// to the dashboard and sees situation reports as aggregates only, never an entry.
        Liaison = "liaison", "Kontaktperson (endast sammanställningar)", "Liaison (aggregates only)";
    }
);

impl Role {
    /// Whether this role writes review fields and settles conflicts.
    pub fn reviews(self) -> bool {
        matches!(self, Self::Coordinator | Self::Admin)
    }
}

labelled_enum!(
    /// The kind of walk.
    PatrolKind {
        NightWalk = "night_walk", "Nattvandring", "Night walk";
        GuardRound = "guard_round", "Väktarrond", "Guard round";
        NeighbourhoodWatch = "neighbourhood_watch", "Grannsamverkan", "Neighbourhood watch";
        ParentWalk = "parent_walk", "Föräldravandring", "Parent walk";
        SafetyWalk = "safety_walk", "Trygghetsvandring", "Safety walk";
        Other = "other", "Annat", "Other";
    }
);

labelled_enum!(
    /// Where a coordinator stands with an entry.
    ReviewStatus {
        New = "new", "Ny", "New";
        Reviewed = "reviewed", "Granskad", "Reviewed";
        NeedsInfo = "needs_info", "Behöver mer information", "Needs information";
        Forwarded = "forwarded", "Vidarebefordrad", "Forwarded";
        Closed = "closed", "Avslutad", "Closed";
        /// Another entry reports the same event; see `duplicate_of`.
        Duplicate = "duplicate", "Dubblett", "Duplicate";
    }
);

labelled_enum!(
    /// An agency an entry was reported or forwarded to.
    Agency {
        Police = "police", "Polisen", "Police";
        SocialServices = "social_services", "Socialtjänsten", "Social services";
        TechnicalOffice = "technical_office", "Tekniska kontoret", "Technical office";
        RescueService = "rescue_service", "Räddningstjänsten", "Rescue service";
        Ambulance = "ambulance", "Ambulans", "Ambulance";
        School = "school", "Skolan", "School";
        PropertyOwner = "property_owner", "Fastighetsägare", "Property owner";
        Other = "other", "Annan", "Other";
    }
);

labelled_enum!(
    /// The police number that was called.
    PoliceLine {
        /// 112, emergencies.
        Emergency = "112", "112 (nödnummer)", "112 (emergency)";
        /// 114 14, non-urgent.
        NonEmergency = "11414", "114 14", "114 14 (non-emergency)";
    }
);

/// How serious an incident was, 1 (minor) to 4 (acute danger to life or health).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Severity(pub u8);

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::int::read(deserializer).map(Self)
    }
}

// By hand: what the body takes is any 0–255 (outside 1–4 the op is rejected, not the request).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Severity {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(0))
            .maximum(Some(255))
            .description(Some(
                "How serious an incident was, 1 (minor) to 4 (acute danger to life or health); \
                 another value rejects the op (`invalid_field`).",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Severity {}

impl Severity {
    /// The lowest severity.
    pub const MIN: u8 = 1;
    /// The highest severity.
    pub const MAX: u8 = 4;

    /// The label shown to people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self.0, lang) {
            (1, Lang::Sv) => "Lindrig",
            (1, Lang::En) => "Minor",
            (2, Lang::Sv) => "Måttlig",
            (2, Lang::En) => "Moderate",
            (3, Lang::Sv) => "Allvarlig",
            (3, Lang::En) => "Serious",
            (4, Lang::Sv) => "Akut",
            (4, Lang::En) => "Acute",
            (_, Lang::Sv) => "Okänd",
            (_, Lang::En) => "Unknown",
        }
    }
}
