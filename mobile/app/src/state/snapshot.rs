//! What the screens show, read from the device core in one go ([`Device::screen`]).

use dioxus::prelude::*;
use vaka_device::{
    Comment, Device, DeviceError, Entry, EntryFields, Identity, Message, PhotoStatus, SyncState,
};
use vaka_shared::model::{AttachmentRef, PatrolKind};
use vaka_shared::{AreaId, EntityId, Timestamp};

/// An entry as "my entries" shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryCard {
    /// The entry.
    pub entry: Entry,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its photos and where each stands.
    pub photos: Vec<(AttachmentRef, PhotoStatus)>,
}

/// The patrol under way.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivePatrol {
    /// Its id.
    pub id: EntityId,
    /// Its kind.
    pub kind: PatrolKind,
    /// When it started.
    pub started_at: Timestamp,
    /// How many walk.
    pub walkers: u16,
    /// The area walked, if one was chosen.
    pub area: Option<AreaId>,
}

/// An area the forms offer.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaChoice {
    /// Its id.
    pub id: AreaId,
    /// Its name.
    pub name: String,
}

/// What the screens show, read from the device in one go.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Who the device is, once enrolled.
    pub identity: Option<Identity>,
    /// How syncing goes.
    pub sync: Option<SyncState>,
    /// The newest entries.
    pub entries: Vec<EntryCard>,
    /// The own patrol under way, if one is.
    pub active_patrol: Option<ActivePatrol>,
    /// Photos not yet on the server.
    pub photos_waiting: usize,
    /// The organisation's areas, by name (as last fetched).
    pub areas: Vec<AreaChoice>,
    /// The coordinators' messages shown now, newest first.
    pub messages: Vec<Message>,
}

/// How many entries the app shows.
const SHOWN_ENTRIES: usize = 100;

impl Snapshot {
    /// Reads everything the screens show, in a few queries ([`Device::screen`]).
    pub fn load(device: &Device) -> Result<Self, DeviceError> {
        let screen = device.screen(SHOWN_ENTRIES)?;
        let active_patrol = screen.entries.iter().find_map(|card| {
            let entry = &card.entry;
            match &entry.fields {
                EntryFields::Patrol(p)
                    if entry.mine
                        && p.ended_at.flatten().is_none()
                        && p.retracted != Some(true) =>
                {
                    Some(ActivePatrol {
                        id: entry.id,
                        kind: p.kind.unwrap_or(PatrolKind::Other),
                        started_at: p.started_at.unwrap_or(entry.created_at),
                        walkers: p.participant_count.unwrap_or(1),
                        area: p.area_id.flatten(),
                    })
                }
                _ => None,
            }
        });
        Ok(Self {
            identity: screen.identity,
            sync: screen.sync,
            entries: screen
                .entries
                .into_iter()
                .map(|card| EntryCard {
                    entry: card.entry,
                    photos: card.photos,
                    comments: card.comments,
                })
                .collect(),
            active_patrol,
            photos_waiting: screen.photos_waiting,
            areas: screen
                .areas
                .into_iter()
                .map(|(id, name)| AreaChoice { id, name })
                .collect(),
            messages: screen.messages,
        })
    }
}
