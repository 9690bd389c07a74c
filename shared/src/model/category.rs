//! The category taxonomy: default incident categories with Swedish and English labels, and the
//! fixed categories of observations about a place.

use super::{Lang, labelled_enum};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The code of an incident category: a default one from [`DEFAULT_CATEGORIES`] or one an
/// organisation added (lowercase letters, digits and `_`, at most 40 characters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "violence_threat"))]
#[serde(transparent)]
pub struct CategoryCode(pub String);

impl CategoryCode {
    /// The longest code allowed.
    pub const MAX_LEN: usize = 40;

    /// Whether the code has the allowed form.
    pub fn is_well_formed(&self) -> bool {
        !self.0.is_empty()
            && self.0.len() <= Self::MAX_LEN
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }

    /// The default category with this code, if it is one.
    pub fn default_category(&self) -> Option<&'static Category> {
        DEFAULT_CATEGORIES.iter().find(|c| c.code == self.0)
    }
}

impl From<&str> for CategoryCode {
    fn from(code: &str) -> Self {
        Self(code.to_owned())
    }
}

impl fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A category of incidents with its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    /// The wire code.
    pub code: &'static str,
    /// Swedish label.
    pub sv: &'static str,
    /// English label.
    pub en: &'static str,
    /// An emoji the app shows on the category button.
    pub icon: &'static str,
}

impl Category {
    /// The label in `lang`.
    pub fn label(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Sv => self.sv,
            Lang::En => self.en,
        }
    }
}

/// The default incident categories every organisation starts with, most used first.
pub const DEFAULT_CATEGORIES: &[Category] = &[
    Category {
        code: "disturbance",
        sv: "Ordningsstörning",
        en: "Disturbance",
        icon: "📢",
    },
    Category {
        code: "alcohol",
        sv: "Alkohol",
        en: "Alcohol",
        icon: "🍺",
    },
    Category {
        code: "youth_at_risk",
        sv: "Unga i riskmiljö",
        en: "Youth at risk",
        icon: "🧒",
    },
    Category {
        code: "narcotics",
        sv: "Narkotika",
        en: "Narcotics",
        icon: "💊",
    },
    Category {
        code: "violence_threat",
        sv: "Våld eller hot",
        en: "Violence or threat",
        icon: "⚠️",
    },
    Category {
        code: "vandalism",
        sv: "Skadegörelse",
        en: "Vandalism",
        icon: "🔨",
    },
    Category {
        code: "theft_burglary",
        sv: "Stöld eller inbrott",
        en: "Theft or burglary",
        icon: "🔓",
    },
    Category {
        code: "person_in_need",
        sv: "Person i behov av hjälp",
        en: "Person in need",
        icon: "🆘",
    },
    Category {
        code: "suspicious_activity",
        sv: "Misstänkt aktivitet",
        en: "Suspicious activity",
        icon: "👁️",
    },
    Category {
        code: "traffic",
        sv: "Trafik",
        en: "Traffic",
        icon: "🚗",
    },
    Category {
        code: "fire",
        sv: "Brand",
        en: "Fire",
        icon: "🔥",
    },
    Category {
        code: "other",
        sv: "Övrigt",
        en: "Other",
        icon: "📝",
    },
];

labelled_enum!(
    /// What an observation about a place is about.
    ObservationCategory {
        Lighting = "lighting", "Belysning", "Lighting";
        VandalismGraffiti = "vandalism_graffiti", "Skadegörelse eller klotter", "Vandalism or graffiti";
        LitterNeedles = "litter_needles", "Skräp eller sprutor", "Litter or needles";
        Vegetation = "vegetation", "Växtlighet", "Vegetation";
        UnsafePlace = "unsafe_place", "Otrygg plats", "Unsafe place";
        GatheringPlace = "gathering_place", "Samlingsplats", "Gathering place";
        Other = "other", "Övrigt", "Other";
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_codes_are_well_formed_unique_and_labelled() {
        let mut seen = std::collections::HashSet::new();
        for category in DEFAULT_CATEGORIES {
            assert!(
                CategoryCode::from(category.code).is_well_formed(),
                "{}",
                category.code
            );
            assert!(seen.insert(category.code), "duplicate {}", category.code);
            assert!(!category.sv.is_empty() && !category.en.is_empty());
        }
        assert_eq!(DEFAULT_CATEGORIES.len(), 12);
    }

    #[test]
    fn malformed_codes_are_recognised() {
        for code in ["", "Violence", "våld", "a b", &"x".repeat(41)] {
            assert!(!CategoryCode::from(code).is_well_formed(), "{code}");
        }
    }
}
