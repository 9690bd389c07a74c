//! The drafts of the forms (incident, observation, patrol start and end) and the identifier
//! guard's warning on their free text; each draft turns into the fields of an op.

use vaka_shared::model::{
    AttachmentRef, CategoryCode, IncidentFields, Location, ObservationCategory, ObservationFields,
    PatrolKind, PoliceLine, Severity,
};
use vaka_shared::pii::{self, IdentifierKind};
use vaka_shared::{AreaId, EntityId, Timestamp};

/// The incident form.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentDraft {
    /// The category code.
    pub category: Option<String>,
    /// 1–4.
    pub severity: u8,
    /// How long ago it happened.
    pub minutes_ago: u32,
    /// The area picked (or found from the fix).
    pub area: Option<AreaId>,
    /// The place in words.
    pub place: String,
    /// What happened.
    pub description: String,
    /// People involved.
    pub people: u16,
    /// Of whom minors.
    pub minors: u16,
    /// Which police number was called.
    pub police_line: Option<PoliceLine>,
    /// Whether the police came.
    pub police_came: bool,
    /// The police event number.
    pub event_number: String,
    /// Photos added.
    pub photos: Vec<AttachmentRef>,
}

impl Default for IncidentDraft {
    fn default() -> Self {
        Self {
            category: None,
            severity: 2,
            minutes_ago: 0,
            area: None,
            place: String::new(),
            description: String::new(),
            people: 0,
            minors: 0,
            police_line: None,
            police_came: false,
            event_number: String::new(),
            photos: Vec::new(),
        }
    }
}

pub(super) fn text_or_none(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn minutes_before(now_ms: i64, minutes: u32) -> Option<Timestamp> {
    Timestamp::from_unix_ms(now_ms - i64::from(minutes) * 60_000)
}

impl IncidentDraft {
    /// The incident's fields: time now (or minutes before `now_ms`), the fix if there is one,
    /// the patrol under way. Only what the user gave is set.
    pub fn to_fields(
        &self,
        now_ms: i64,
        fix: Option<Location>,
        patrol: Option<EntityId>,
    ) -> IncidentFields {
        let occurred_at = (self.minutes_ago > 0)
            .then(|| minutes_before(now_ms, self.minutes_ago))
            .flatten();
        let police_at = self.police_line.and(occurred_at);
        let mut fields = IncidentFields {
            occurred_at,
            location: fix.map(Some),
            area_id: self.area.map(Some),
            place: text_or_none(&self.place).map(Some),
            category: self.category.as_deref().map(CategoryCode::from),
            severity: Some(Severity(self.severity)),
            description: text_or_none(&self.description),
            people_involved: (self.people > 0).then_some(self.people),
            minors_involved: (self.minors > 0).then_some(self.minors.min(self.people)),
            police_line: self.police_line.map(Some),
            police_contacted_at: police_at.map(Some),
            police_event_number: text_or_none(&self.event_number).map(Some),
            patrol_id: patrol.map(Some),
            attachments: (!self.photos.is_empty()).then(|| self.photos.clone()),
            ..Default::default()
        };
        // Police contacted and attended default to now when the form says so.
        let now = Timestamp::from_unix_ms(now_ms);
        if fields.police_line.is_some() && fields.police_contacted_at.is_none() {
            fields.police_contacted_at = now.map(Some);
        }
        if self.police_came {
            fields.police_attended_at = now.map(Some);
        }
        fields
    }
}

/// The observation form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservationDraft {
    /// What it is about.
    pub category: Option<ObservationCategory>,
    /// The area picked (or found from the fix).
    pub area: Option<AreaId>,
    /// The place in words.
    pub place: String,
    /// What was seen.
    pub description: String,
    /// Photos added.
    pub photos: Vec<AttachmentRef>,
}

impl ObservationDraft {
    /// The observation's fields.
    pub fn to_fields(&self, fix: Option<Location>, patrol: Option<EntityId>) -> ObservationFields {
        ObservationFields {
            category: self.category,
            location: fix.map(Some),
            area_id: self.area.map(Some),
            place: text_or_none(&self.place).map(Some),
            description: text_or_none(&self.description),
            patrol_id: patrol.map(Some),
            attachments: (!self.photos.is_empty()).then(|| self.photos.clone()),
            ..Default::default()
        }
    }
}

/// A free-text field of the incident and observation forms, the ones the identifier guard reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// The place in words.
    Place,
    /// What happened, or what was seen.
    Description,
}

/// What the guard found in one field: the kind and words of its first finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    /// What it looks like.
    pub kind: IdentifierKind,
    /// The words found.
    pub words: String,
}

impl Flagged {
    fn first_in(text: &str) -> Option<Self> {
        pii::find(text).into_iter().next().map(|finding| Self {
            kind: finding.kind,
            words: finding.text(text).to_owned(),
        })
    }
}

/// Shown instead of saving when a form's text looks like it holds a personal identifier
/// (`vaka_shared::pii`): the walker edits the text or saves anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextWarning {
    /// What was found in the place, if anything.
    pub place: Option<Flagged>,
    /// What was found in the description, if anything.
    pub description: Option<Flagged>,
}

impl TextWarning {
    /// The warning for a form's place and description, if either holds a likely identifier.
    pub fn check(place: &str, description: &str) -> Option<Self> {
        let warning = Self {
            place: Flagged::first_in(place),
            description: Flagged::first_in(description),
        };
        (warning.place.is_some() || warning.description.is_some()).then_some(warning)
    }

    /// What was found in `field`.
    pub fn at(&self, field: TextField) -> Option<&Flagged> {
        match field {
            TextField::Place => self.place.as_ref(),
            TextField::Description => self.description.as_ref(),
        }
    }

    /// The first field, in the form's order, that holds a finding: where the buttons are.
    pub fn first_field(&self) -> TextField {
        if self.place.is_some() {
            TextField::Place
        } else {
            TextField::Description
        }
    }
}

/// The start-patrol form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatrolDraft {
    /// Which kind of walk.
    pub kind: PatrolKind,
    /// How many walk.
    pub walkers: u16,
    /// The area to walk.
    pub area: Option<AreaId>,
}

impl Default for PatrolDraft {
    fn default() -> Self {
        Self {
            kind: PatrolKind::NightWalk,
            walkers: 3,
            area: None,
        }
    }
}

/// The end-patrol form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EndDraft {
    /// Youths met.
    pub youths: u32,
    /// Adults met.
    pub adults: u32,
    /// Conversations.
    pub conversations: u32,
    /// Everyone got home safe.
    pub all_home_safe: bool,
    /// A short note.
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_762_045_000;

    #[test]
    fn the_common_incident_needs_only_a_category() {
        let draft = IncidentDraft {
            category: Some("alcohol".into()),
            ..IncidentDraft::default()
        };
        let fields = draft.to_fields(NOW, None, None);
        assert_eq!(fields.category, Some(CategoryCode::from("alcohol")));
        assert_eq!(fields.severity, Some(Severity(2)));
        assert_eq!(fields.occurred_at, None, "the device stamps now");
        assert_eq!(fields.place, None);
        assert_eq!(fields.description, None);
        assert_eq!(fields.police_line, None);
        assert_eq!(fields.attachments, None);
    }

    #[test]
    fn a_full_incident_carries_place_time_people_police_and_photos() {
        let fix = Location {
            lat: 59.33,
            lon: 18.06,
            accuracy_m: Some(8.0),
        };
        let patrol = EntityId::new();
        let area = AreaId::new();
        let photo = AttachmentRef {
            sha256: "ab".repeat(32),
            size: 1000,
            content_type: "image/jpeg".into(),
        };
        let draft = IncidentDraft {
            category: Some("violence_threat".into()),
            severity: 3,
            minutes_ago: 15,
            area: Some(area),
            place: "  Torget ".into(),
            description: "Bråk vid kiosken".into(),
            people: 4,
            minors: 6,
            police_line: Some(PoliceLine::Emergency),
            police_came: true,
            event_number: "5000-K12345-26".into(),
            photos: vec![photo.clone()],
        };
        let fields = draft.to_fields(NOW, Some(fix), Some(patrol));
        let fifteen_ago = Timestamp::from_unix_ms(NOW - 15 * 60_000);
        assert_eq!(fields.occurred_at, fifteen_ago);
        assert_eq!(fields.location, Some(Some(fix)));
        assert_eq!(fields.place, Some(Some("Torget".into())));
        assert_eq!(fields.area_id, Some(Some(area)));
        assert_eq!(fields.people_involved, Some(4));
        assert_eq!(
            fields.minors_involved,
            Some(4),
            "never more minors than people"
        );
        assert_eq!(fields.police_line, Some(Some(PoliceLine::Emergency)));
        assert_eq!(fields.police_contacted_at, Some(fifteen_ago));
        assert_eq!(
            fields.police_attended_at,
            Some(Timestamp::from_unix_ms(NOW))
        );
        assert_eq!(
            fields.police_event_number,
            Some(Some("5000-K12345-26".into()))
        );
        assert_eq!(fields.patrol_id, Some(Some(patrol)));
        assert_eq!(fields.attachments, Some(vec![photo]));
    }

    #[test]
    fn an_observation_keeps_what_was_given() {
        let draft = ObservationDraft {
            category: Some(ObservationCategory::Lighting),
            area: None,
            place: "Gångtunneln".into(),
            description: String::new(),
            photos: vec![],
        };
        let fields = draft.to_fields(None, None);
        assert_eq!(fields.category, Some(ObservationCategory::Lighting));
        assert_eq!(fields.place, Some(Some("Gångtunneln".into())));
        assert_eq!(fields.description, None);
        assert_eq!(fields.area_id, None, "no area chosen, none sent");
    }
}
