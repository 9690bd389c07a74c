//! Every text of the app, in Swedish and English. Components name a [`Text`]; the table below
//! gives its words. A key without both languages does not compile, and a test checks that no
//! text is empty and that both languages use the same placeholders.

use vaka_shared::model::Lang;
use vaka_shared::pii::IdentifierKind;
use vaka_shared::sync::RejectCode;

macro_rules! texts {
    ($($key:ident => $sv:literal, $en:literal;)+) => {
        /// A text of the app.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Text { $($key,)+ }

        impl Text {
            /// Every text.
            pub const ALL: &'static [Text] = &[$(Text::$key,)+];

            /// The words in `lang`.
            pub fn get(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Text::$key, Lang::Sv) => $sv, (Text::$key, Lang::En) => $en,)+
                }
            }
        }
    };
}

texts! {
    AppName => "Vaka", "Vaka";
    MessageFromDesk => "Meddelande från samordnaren", "Message from the coordinator";
    MessageUntil => "Gäller till {time}", "Until {time}";
    MarkMessageRead => "Markera som läst", "Mark as read";
    MessageRead => "Läst", "Read";
    Call112 => "Ring 112", "Call 112";
    Call11414 => "Ring 114 14", "Call 114 14";
    Emergency => "Nöd", "Emergency";
    NonEmergency => "Polisen, ej akut", "Police, non-urgent";
    StartPatrol => "Starta patrull", "Start patrol";
    ActivePatrol => "Pågående patrull", "Patrol under way";
    LogIncident => "Logga händelse", "Log incident";
    LogObservation => "Logga iakttagelse", "Log observation";
    MyEntries => "Mina poster", "My entries";
    Settings => "Inställningar", "Settings";
    Back => "Tillbaka", "Back";
    Save => "Spara", "Save";
    Saved => "Sparad på telefonen", "Saved on the phone";
    SavedAndSent => "Sparad och skickad till servern", "Saved and sent to the server";
    Yesterday => "igår", "yesterday";
    SyncNow => "Synka nu", "Sync now";
    LastSynced => "Senast synkad {time}", "Last synced {time}";
    NeverSynced => "Inte synkad ännu", "Not synced yet";
    Waiting => "{n} väntar på att skickas", "{n} waiting to be sent";
    AllSent => "Allt är skickat", "Everything is sent";
    NeedsAttentionCount => "{n} behöver åtgärd", "{n} need attention";
    PhotosWaiting => "{n} foton väntar", "{n} photos waiting";
    SyncFailed => "Ingen kontakt med servern – allt finns kvar på telefonen", "No contact with the server – everything stays on the phone";
    StatusOnPhone => "På telefonen", "On the phone";
    StatusOnServer => "På servern", "On the server";
    StatusNeedsAttention => "Behöver åtgärd", "Needs attention";
    PatrolKind => "Typ av patrull", "Kind of patrol";
    Walkers => "Antal vandrare", "Walkers";
    Start => "Starta", "Start";
    Elapsed => "Tid ute", "Time out";
    QuickLog => "Snabblogga", "Quick log";
    EndPatrol => "Avsluta patrull", "End patrol";
    Summary => "Sammanfattning", "Summary";
    YouthsMet => "Unga vi mötte", "Youths met";
    AdultsMet => "Vuxna vi mötte", "Adults met";
    Conversations => "Samtal", "Conversations";
    AllHomeSafe => "Alla har kommit hem i säkerhet", "Everyone got home safe";
    ConfirmEnd => "Avsluta och spara", "End and save";
    Note => "Anteckning", "Note";
    Category => "Kategori", "Category";
    Severity => "Allvarlighet", "Severity";
    When => "När", "When";
    Now => "Nu", "Now";
    MinutesAgo => "för {n} min sedan", "{n} min ago";
    Place => "Plats", "Place";
    Area => "Område", "Area";
    NoArea => "Inget område", "No area";
    PlaceFromGps => "GPS: {lat}, {lon} (±{acc} m)", "GPS: {lat}, {lon} (±{acc} m)";
    NoFix => "Ingen GPS-position – skriv platsen", "No GPS fix – type the place";
    LocationOff => "Plats är avstängd – skriv platsen", "Location is off – type the place";
    PlaceHint => "T.ex. Storgatan vid busshållplatsen", "E.g. Main Street by the bus stop";
    WhatHappened => "Vad hände?", "What happened?";
    PrivacyHint => "Beskriv händelsen, inte personer – skriv inga namn.", "Describe the event, not people – write no names.";
    LooksLikePersonalNumber => "Det här ser ut som ett personnummer – beskriv händelsen, inte personen", "This looks like a personal identity number – describe the event, not the person";
    LooksLikeCoordinationNumber => "Det här ser ut som ett samordningsnummer – beskriv händelsen, inte personen", "This looks like a coordination number – describe the event, not the person";
    LooksLikePhoneNumber => "Det här ser ut som ett telefonnummer – beskriv händelsen, inte personen", "This looks like a phone number – describe the event, not the person";
    LooksLikeEmail => "Det här ser ut som en e-postadress – beskriv händelsen, inte personen", "This looks like an e-mail address – describe the event, not the person";
    LooksLikeRegistration => "Det här ser ut som ett registreringsnummer – beskriv händelsen, inte personen", "This looks like a vehicle registration number – describe the event, not the person";
    FoundWords => "Det gäller: {words}", "It is about: {words}";
    EditText => "Ändra texten", "Edit the text";
    SaveAnyway => "Spara ändå", "Save anyway";
    PeopleInvolved => "Inblandade personer", "People involved";
    MinorsInvolved => "Varav minderåriga", "Of whom minors";
    Police => "Polis", "Police";
    PoliceNotCalled => "Ej kontaktad", "Not contacted";
    PoliceCame => "Polisen kom", "Police came";
    EventNumber => "Händelsenummer", "Event number";
    Photos => "Foton", "Photos";
    AddPhoto => "Ta foto", "Take photo";
    PhotoOnPhone => "Foto på telefonen", "Photo on the phone";
    PhotoUploading => "Foto skickas ({pct} %)", "Photo uploading ({pct} %)";
    PhotoOnServer => "Foto på servern", "Photo on the server";
    PhotoFailed => "Fotot kunde inte läsas", "The photo could not be read";
    ObservationAbout => "Vad gäller det?", "What is it about?";
    WhatDidYouSee => "Vad såg ni?", "What did you see?";
    NoEntries => "Inga poster ännu", "No entries yet";
    Retracted => "Återkallad", "Retracted";
    FromCoordinator => "Samordnare", "Coordinator";
    You => "Du", "You";
    Language => "Språk", "Language";
    Theme => "Tema", "Theme";
    ThemeAuto => "Natt efter solnedgång", "Night after sunset";
    ThemeNight => "Natt", "Night";
    ThemeDay => "Dag", "Day";
    Location => "Platstjänst", "Location";
    PhotosWifiOnly => "Skicka foton bara via wifi", "Send photos over Wi-Fi only";
    On => "På", "On";
    Off => "Av", "Off";
    Server => "Server", "Server";
    EnrolledAs => "Ansluten som {name}, {org}", "Enrolled as {name}, {org}";
    Welcome => "Välkommen till Vaka", "Welcome to Vaka";
    EnrollIntro => "Skanna QR-koden som din samordnare visar, så ansluts telefonen direkt.", "Scan the QR code your coordinator shows, and the phone enrols at once.";
    ScanQr => "Skanna QR-kod", "Scan QR code";
    OrTypeIt => "Eller skriv in serverns adress och koden:", "Or type the server's address and the code:";
    ScanNotAPicture => "Bilden kunde inte läsas. Ta en ny bild av QR-koden.", "The picture could not be read. Take a new picture of the QR code.";
    ScanNoQrCode => "Ingen QR-kod hittades i bilden. Håll telefonen stilla, nära koden, och försök igen.", "No QR code was found in the picture. Hold the phone still, close to the code, and try again.";
    ScanNotAVakaLink => "Det här är ingen Vaka-kod. Skanna QR-koden på samordnarens sida för att ansluta telefonen.", "This is not a Vaka code. Scan the QR code on the coordinator's page to enrol the phone.";
    CodeRefused => "Servern godtog inte koden – den kan redan vara använd eller för gammal. Be din samordnare om en ny.", "The server did not accept the code – it may already be used or too old. Ask your coordinator for a new one.";
    EnrollCode => "Registreringskod", "Enrolment code";
    DeviceName => "Telefonens namn", "Phone's name";
    Enroll => "Anslut", "Enrol";
    Enrolling => "Ansluter …", "Enrolling …";
    EnrollFailed => "Det gick inte att ansluta: {reason}", "Could not enrol: {reason}";
    Patrol => "Patrull", "Patrol";
    Incident => "Händelse", "Incident";
    Observation => "Iakttagelse", "Observation";
    Ended => "Avslutad", "Ended";
    ReasonInvalidField => "Servern godtog inte ett värde ({field}). Rätta posten.", "The server did not accept a value ({field}). Correct the entry.";
    ReasonReviewField => "Bara samordnare får ändra granskningen.", "Only coordinators may change the review.";
    ReasonNotAuthor => "Du kan bara ändra dina egna poster.", "You can only change your own entries.";
    ReasonCreateOnce => "Det här kan inte ändras efteråt.", "This cannot be changed afterwards.";
    ReasonKindMismatch => "Posten blandades ihop med en annan sorts post.", "The entry was mixed up with another kind of entry.";
    ReasonUnknownEntry => "Posten som det gäller finns inte på servern.", "The entry it refers to is not on the server.";
    ReasonDeviceMismatch => "Telefonen är inte ansluten som den enhet som skrev posten.", "The phone is not enrolled as the device that wrote the entry.";
    ReasonPurged => "Posten hade redan tagits bort från servern när lagringstiden gick ut. Ändringen kom för sent och sparades inte där.", "The entry had already been removed from the server when its retention period ran out. The change came too late and was not kept there.";
    DeviceLost => "Telefonen är anmäld som förlorad. Allt som fanns på den har raderats.", "This phone was reported lost. Everything on it has been erased.";
    DeviceRetired => "Telefonen har tagits ur bruk. Allt den loggade finns på servern och har raderats från telefonen.", "This phone was retired. Everything it logged is on the server and has been erased from the phone.";
    EnrollAgain => "Anslut igen med en ny kod från din samordnare för att använda telefonen.", "Enrol again with a new code from your coordinator to use the phone.";
    Retiring => "Telefonen tas ur bruk – det som är kvar skickas, sedan raderas telefonen. Nya poster går inte att logga.", "This phone is being retired – what is left is sent, then the phone is erased. New entries cannot be logged.";
    CouldNotSave => "Kunde inte spara: {reason}", "Could not save: {reason}";
}

impl Text {
    /// The words with each `{name}` replaced by its value.
    pub fn fill(self, lang: Lang, values: &[(&str, &str)]) -> String {
        let mut text = self.get(lang).to_owned();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

/// Where the long compound words of the tiles' labels may break: a tile a third of a phone's
/// width holds about eleven letters a line, and the webview has no Swedish hyphenation.
const BREAKS: &[(&str, &str)] = &[
    ("Ordningsstörning", "Ordnings\u{ad}störning"),
    ("Skadegörelse", "Skade\u{ad}görelse"),
    ("riskmiljö", "risk\u{ad}miljö"),
    ("Nattvandring", "Natt\u{ad}vandring"),
    ("Väktarrond", "Väktar\u{ad}rond"),
    ("Grannsamverkan", "Grann\u{ad}samverkan"),
    ("Föräldravandring", "Föräldra\u{ad}vandring"),
    ("Trygghetsvandring", "Trygghets\u{ad}vandring"),
    ("Samlingsplats", "Samlings\u{ad}plats"),
    ("Neighbourhood", "Neighbour\u{ad}hood"),
];

/// A tile's label with soft hyphens where its long words may break (shown as a hyphen only
/// where the line breaks there). Other words that do not fit break anywhere (style sheet).
pub fn breakable(label: &str) -> String {
    BREAKS
        .iter()
        .fold(label.to_owned(), |text, (word, broken)| {
            text.replace(word, broken)
        })
}

/// The warning shown beside a text that holds something of this kind.
pub fn identifier_warning(kind: IdentifierKind) -> Text {
    match kind {
        IdentifierKind::PersonalNumber => Text::LooksLikePersonalNumber,
        IdentifierKind::CoordinationNumber => Text::LooksLikeCoordinationNumber,
        IdentifierKind::PhoneNumber => Text::LooksLikePhoneNumber,
        IdentifierKind::Email => Text::LooksLikeEmail,
        IdentifierKind::VehicleRegistration => Text::LooksLikeRegistration,
    }
}

/// The plain-language reason for a refusal by the server.
pub fn reason(code: RejectCode) -> Text {
    match code {
        RejectCode::InvalidField => Text::ReasonInvalidField,
        RejectCode::ReviewFieldForbidden => Text::ReasonReviewField,
        RejectCode::NotAuthor => Text::ReasonNotAuthor,
        RejectCode::CreateOnce => Text::ReasonCreateOnce,
        RejectCode::KindMismatch => Text::ReasonKindMismatch,
        RejectCode::UnknownEntry => Text::ReasonUnknownEntry,
        RejectCode::DeviceMismatch => Text::ReasonDeviceMismatch,
        RejectCode::Purged => Text::ReasonPurged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(text: &str) -> BTreeSet<String> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect()
    }

    #[test]
    fn every_text_exists_in_swedish_and_english_with_the_same_placeholders() {
        for text in Text::ALL {
            let (sv, en) = (text.get(Lang::Sv), text.get(Lang::En));
            assert!(!sv.trim().is_empty(), "{text:?} has no Swedish");
            assert!(!en.trim().is_empty(), "{text:?} has no English");
            assert_eq!(placeholders(sv), placeholders(en), "{text:?}");
        }
    }

    #[test]
    fn long_tile_words_break_between_their_parts_and_read_the_same() {
        let broken = breakable("Ordningsstörning");
        assert_eq!(broken, "Ordnings\u{ad}störning");
        assert_eq!(broken.replace('\u{ad}', ""), "Ordningsstörning");
        assert_eq!(breakable("Alkohol"), "Alkohol");
        for (word, with_breaks) in BREAKS {
            assert_eq!(&with_breaks.replace('\u{ad}', ""), word);
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let text = Text::Waiting.fill(Lang::Sv, &[("n", "3")]);
        assert_eq!(text, "3 väntar på att skickas");
    }
}
