//! The dashboard's words in Swedish (the default) and English. One line per text with both
//! languages, so neither table can miss a text.

use vaka_shared::model::Lang;

macro_rules! texts {
    ($($key:ident: $sv:literal, $en:literal;)+) => {
        /// Every text of the dashboard in one language.
        #[derive(Debug)]
        pub struct Texts {
            $(#[doc = $en] pub $key: &'static str,)+
        }

        /// Svenska.
        pub const SV: Texts = Texts { $($key: $sv,)+ };
        /// English.
        pub const EN: Texts = Texts { $($key: $en,)+ };
    };
}

texts! {
    lang_code: "sv", "en";
    other_lang: "English", "Svenska";
    other_lang_code: "en", "sv";
    app_name: "Vaka", "Vaka";
    tagline: "Samordnarens översikt", "Coordinator's dashboard";
    sign_in: "Logga in", "Sign in";
    sign_out: "Logga ut", "Sign out";
    login_name: "Användarnamn", "Sign-in name";
    password: "Lösenord", "Password";
    wrong_password: "Fel användarnamn eller lösenord.", "Wrong sign-in name or password.";
    too_many_attempts: "För många misslyckade försök. Försök igen om {} sekunder. En webbläsare som du har loggat in med förut släpps alltid fram.", "Too many failed attempts. Try again in {} seconds. A browser you have signed in with before is always let through.";
    sign_in_busy: "Servern kontrollerar många inloggningar just nu. Försök igen om en stund.", "The server is checking many sign-ins right now. Try again in a moment.";
    session_expired: "Din inloggning har gått ut. Logga in igen.", "Your session has expired. Please sign in again.";
    csrf_failed: "Formuläret kunde inte verifieras (CSRF). Ladda om sidan och försök igen.", "The form could not be verified (CSRF). Reload the page and try again.";
    not_found: "Hittades inte", "Not found";
    not_found_text: "Det finns ingen sådan sida i din organisation.", "There is no such page in your organisation.";
    bad_request: "Det gick inte", "That did not work";
    server_error: "Något gick fel på servern. Inget sparades; försök igen.", "The server failed. Nothing was saved; try again.";
    inbox: "Inkorg", "Inbox";
    entry: "Händelse", "Entry";
    people: "Personer och enheter", "People and devices";
    areas: "Områden", "Areas";
    report: "Lägesbild", "Situation report";
    filter: "Filtrera", "Filter";
    clear: "Rensa", "Clear";
    period_from: "Från", "From";
    period_to: "Till", "To";
    area: "Område", "Area";
    all: "Alla", "All";
    kind: "Typ", "Kind";
    category: "Kategori", "Category";
    severity: "Allvarlighet", "Severity";
    status: "Status", "Status";
    group: "Grupp", "Group";
    author: "Rapporterad av", "Logged by";
    occurred: "Inträffade", "Happened";
    received: "Mottagen", "Received";
    place: "Plats", "Place";
    description: "Beskrivning", "Description";
    matching: "träffar", "matching";
    open_conflicts: "olösta konflikter", "unsettled conflicts";
    no_entries: "Inga händelser matchar filtret.", "No entries match the filter.";
    previous_page: "Föregående", "Previous";
    next_page: "Nästa", "Next";
    page: "Sida", "Page";
    kind_patrol: "Patrull", "Patrol";
    kind_incident: "Händelse", "Incident";
    kind_observation: "Iakttagelse", "Observation";
    fields: "Uppgifter", "Details";
    map_point: "Kartpunkt", "Map point";
    no_location: "Ingen position angiven.", "No location given.";
    photos: "Foton", "Photos";
    photo_pending: "foto väntar på uppladdning", "photo pending upload";
    history: "Historik", "History";
    history_text: "Varje ändring som servern tagit emot, äldst först.", "Every change the server received, oldest first.";
    changed_by: "Av", "By";
    device: "Enhet", "Device";
    conflicts: "Konflikter", "Conflicts";
    conflicts_text: "Två enheter ändrade samma fält samtidigt. Det värde som visas vann; välj vilket som ska gälla.", "Two devices changed the same field at the same time. The value shown won; choose which one should stand.";
    kept_value: "Gällande värde", "Value kept";
    lost_value: "Värde som förlorade", "Value that lost";
    keep_this: "Behåll detta", "Keep this";
    settled: "Avgjord", "Settled";
    review: "Granskning", "Review";
    assignee: "Ansvarig", "Assignee";
    nobody: "Ingen", "Nobody";
    tags: "Taggar (kommaseparerade)", "Tags (comma separated)";
    duplicate_of: "Dubblett av (händelsens id)", "Duplicate of (entry id)";
    forwarded_to: "Vidarebefordrad till", "Forwarded to";
    save: "Spara", "Save";
    saved: "Sparat. Ändringen når telefonerna vid nästa synk.", "Saved. The change reaches the phones at their next sync.";
    comments: "Kommentarer", "Comments";
    no_comments: "Inga kommentarer än.", "No comments yet.";
    write_comment: "Skriv en kommentar till rapportören", "Write a comment to the reporter";
    comment_hint: "Kommentaren når rapportörens telefon vid nästa synk. Skriv om händelser, inte om personer: inga namn.", "The comment reaches the reporter's phone at the next sync. Describe events, not people: no names.";
    send: "Skicka", "Send";
    police: "Polis", "Police";
    police_line: "Ringde", "Called";
    police_contacted: "Polis kontaktad", "Police contacted";
    police_attended: "Polis kom", "Police attended";
    police_event: "Händelsenummer", "Event number";
    people_involved: "Inblandade (varav minderåriga)", "People involved (of them minors)";
    participants: "Vandrare", "Walkers";
    ended: "Avslutad", "Ended";
    retracted: "Återkallad av rapportören", "Retracted by the reporter";
    yes: "Ja", "Yes";
    no: "Nej", "No";
    members: "Medlemmar", "Members";
    name: "Namn", "Name";
    role: "Roll", "Role";
    devices: "Enheter", "Devices";
    last_sync: "Senaste synk", "Last sync";
    never: "aldrig", "never";
    revoke: "Spärra", "Revoke";
    revoked: "Spärrad", "Revoked";
    active: "Aktiv", "Active";
    new_code: "Skapa registreringskod", "Create enrolment code";
    code_for: "Registreringskod för", "Enrolment code for";
    code_text: "Skanna QR-koden i appen eller skriv in koden. Koden kan användas en gång och gäller i sju dagar.", "Scan the QR code in the app or type the code. It works once and is valid for seven days.";
    back: "Tillbaka", "Back";
    upload_area: "Lägg till område (GeoJSON)", "Add area (GeoJSON)";
    area_name: "Namn på området", "Area name";
    geojson: "GeoJSON (Polygon, MultiPolygon, Feature eller FeatureCollection)", "GeoJSON (Polygon, MultiPolygon, Feature or FeatureCollection)";
    geojson_file: "eller välj en fil", "or choose a file";
    upload: "Ladda upp", "Upload";
    bad_geojson: "Ingen polygon hittades i GeoJSON-texten.", "No polygon found in the GeoJSON text.";
    no_areas: "Inga områden än.", "No areas yet.";
    make_report: "Ta fram lägesbild", "Produce report";
    report_for: "Lägesbild för perioden", "Situation report for the period";
    compared_with: "jämfört med", "compared with";
    download: "Ladda ner", "Download";
    summary: "Sammanfattning", "Summary";
    summary_hint: "Samordnarens bedömning, med i PDF:en. Skriv om händelser, inte om personer.", "The coordinator's assessment, included in the PDF. Describe events, not people.";
    key_figures: "Nyckeltal", "Key figures";
    incidents: "Händelser", "Incidents";
    observations: "Iakttagelser", "Observations";
    patrols: "Patruller", "Patrols";
    presence_hours: "Timmar vuxennärvaro", "Hours of adult presence";
    previous_period: "Föregående period", "Previous period";
    this_period: "Denna period", "This period";
    change: "Förändring", "Change";
    by_category: "Händelser per kategori", "Incidents by category";
    by_observation_category: "Iakttagelser per kategori", "Observations by category";
    by_area: "Per område", "By area";
    by_weekday: "Händelser per veckodag", "Incidents by weekday";
    by_hour: "Händelser per timme", "Incidents by hour of day";
    map: "Karta över händelser och iakttagelser", "Map of incidents and observations";
    map_legend: "Röd: allvarlig/akut händelse · orange: lindrig/måttlig händelse · blå: iakttagelse. Täta kluster är brännpunkter.", "Red: serious/acute incident · orange: minor/moderate incident · blue: observation. Dense clusters are hot spots.";
    presence_by_area: "Vuxennärvaro per område (timmar)", "Adult presence by area (hours)";
    presence_by_evening: "Vuxennärvaro per kväll (timmar)", "Adult presence by evening (hours)";
    police_figures: "Polis", "Police";
    police_contacted_n: "Polis kontaktad", "Police contacted";
    police_attended_n: "Polis kom", "Police attended";
    calls_112: "Samtal till 112", "Calls to 112";
    calls_11414: "Samtal till 114 14", "Calls to 114 14";
    median_response: "Mediantid tills polis kom (min)", "Median time until police came (min)";
    max_response: "Längsta tid tills polis kom (min)", "Longest time until police came (min)";
    notable: "Allvarligaste händelserna", "Most serious incidents";
    no_area: "Inget område", "No area";
    weekday_names: "Mån,Tis,Ons,Tor,Fre,Lör,Sön", "Mon,Tue,Wed,Thu,Fri,Sat,Sun";
    exports_text: "CSV-kolumnerna beskrivs i README.", "The CSV columns are described in the README.";
    privacy_note: "Vaka lagrar antal personer, aldrig namn eller personnummer.", "Vaka stores counts of people, never names or personal identity numbers.";
    audit: "Granskningslogg", "Audit log";
    audit_text: "Vem som loggade in, öppnade en händelse, laddade ner en lägesbild eller ändrade något, och när. Loggen håller id:n och parametrar, aldrig texten i en händelse, lösenord eller nycklar. Varje post är kedjad till den förra med en SHA-256-summa, så att kommandot vaka-server audit verify visar om en post har ändrats, tagits bort eller flyttats.", "Who signed in, opened an entry, downloaded a situation report or changed something, and when. The log holds ids and parameters, never an entry's text, passwords or keys. Each record is chained to the one before by a SHA-256 hash, so the command vaka-server audit verify shows whether a record was edited, removed or moved.";
    audit_kept: "Posterna sparas i {} dagar och gallras sedan.", "Records are kept for {} days, then purged.";
    audit_action: "Åtgärd", "Action";
    audit_member: "Medlem", "Member";
    audit_when: "Tid", "When";
    audit_who: "Vem", "Who";
    audit_details: "Detaljer", "Details";
    audit_count: "{} poster", "{} records";
    audit_none: "Inga poster matchar filtret.", "No records match the filter.";
    audit_csv: "Ladda ner CSV", "Download CSV";
    audit_newer: "← Nyare", "← Newer";
    audit_older: "Äldre →", "Older →";
    audit_page_of: "Sida {} av {}", "Page {} of {}";
    audit_bad_action: "Okänd åtgärd:", "Unknown action:";
    audit_bad_member: "Okänd medlem:", "Unknown member:";
    audit_server: "Servern", "The server";
    audit_command_line: "Kommandoraden", "The command line";
    audit_nobody: "Okänd", "Unknown";
    act_signed_in: "Inloggning", "Signed in";
    act_sign_in_failed: "Misslyckad inloggning", "Failed sign-in";
    act_entry_viewed: "Händelse öppnad", "Entry viewed";
    act_photo_downloaded: "Foto hämtat", "Photo downloaded";
    act_report_viewed: "Lägesbild visad eller nedladdad", "Situation report viewed or downloaded";
    act_shared_aggregates_viewed: "Delad lägesbild visad", "Shared aggregates viewed";
    act_audit_exported: "Granskningslogg nedladdad", "Audit log downloaded";
    act_enrolment_code_created: "Registreringskod skapad", "Enrolment code created";
    act_device_revoked: "Enhet spärrad", "Device revoked";
    act_device_marked_lost: "Enhet anmäld förlorad", "Device reported lost";
    act_device_retired: "Enhet pensionerad", "Device retired";
    act_member_created: "Medlem skapad", "Member created";
    act_member_removed: "Medlem borttagen", "Member removed";
    act_member_role_changed: "Roll ändrad", "Role changed";
    act_member_group_changed: "Grupp ändrad", "Group changed";
    act_conflict_settled: "Konflikt löst", "Conflict settled";
    act_text_redacted: "Text bortredigerad", "Text redacted";
    act_hold_set: "Sparas längre", "Held past retention";
    act_hold_released: "Släppt för gallring", "Released for retention";
    act_retention_changed: "Gallringstid ändrad", "Retention period changed";
    act_audit_retention_changed: "Loggens gallringstid ändrad", "Audit retention changed";
    act_entries_purged: "Gamla händelser gallrade", "Old entries purged";
    act_audit_pruned: "Gamla loggposter gallrade", "Old audit records pruned";
    bad_date: "Inte ett datum (skriv ÅÅÅÅ-MM-DD):", "Not a date (write YYYY-MM-DD):";
    date_out_of_range: "Datum måste ligga mellan", "Dates must lie between";
    and: "och", "and";
    reversed_period: "Perioden slutar innan den börjar: välj ett till-datum efter från-datumet.", "The period ends before it begins: choose a to-date after the from-date.";
    period_too_long: "En lägesbild omfattar högst 366 dagar.", "A situation report covers at most 366 days.";
    summary_too_long: "Sammanfattningen får vara högst 8000 tecken.", "The summary may be at most 8000 characters.";
    comment_empty: "Skriv något i kommentaren.", "Write something in the comment.";
    comment_too_long: "En kommentar får vara högst 2000 tecken.", "A comment may be at most 2000 characters.";
    bad_tags: "Högst 20 taggar, var och en högst 40 tecken.", "At most 20 tags, each at most 40 characters.";
    bad_duplicate: "Ange händelsens id (som i dess adress /entries/…) under Dubblett av:", "Give the entry's id (as in its address /entries/…) under Duplicate of:";
    write_refused: "Ändringen sparades inte:", "The change was not saved:";
    settings: "Inställningar", "Settings";
    retention: "Gallring", "Retention";
    retention_text: "Poster som är äldre än gallringstiden tas bort för gott, med kommentarer, historik och foton, på servern och i varje telefon vid nästa synk. Poster som sparas längre väntar tills de släpps. Servern gallrar varje timme och direkt när du sparar en ny tid.", "Entries older than the retention period are removed for good, with their comments, history and photos, on the server and on every phone at its next sync. Held entries wait until they are released. The server purges every hour, and at once when you save a new period.";
    retention_days: "Gallringstid i dagar (30 till 1826, alltså fem år)", "Retention period in days (30 to 1826, that is five years)";
    retention_bounds: "Ange en gallringstid mellan 30 och 1826 dagar.", "Give a retention period between 30 and 1826 days.";
    retention_due: "Med nuvarande tid ska {} poster gallras nu; {} poster sparas längre.", "With the current period, {} entries are due to be purged now; {} entries are held.";
    retention_last: "Senaste gallring {}: poster före {} togs bort ({} poster totalt hittills).", "Last purge {}: entries before {} were removed ({} entries so far).";
    retention_never: "Inga poster har gallrats ännu.", "No entries have been purged yet.";
    retention_report_note: "Poster före {} har tagits bort enligt gallringstiden ({} dagar); siffrorna för tiden innan dess är ofullständiga.", "Entries before {} were removed by the retention period ({} days); figures for the time before that are incomplete.";
    confirm_sure: "Ja, jag är säker", "Yes, I am sure";
    confirm_needed: "Kryssa i \"Ja, jag är säker\" för att bekräfta.", "Tick \"Yes, I am sure\" to confirm.";
    hold: "Spara längre", "Keep longer";
    held: "Sparas längre", "Held";
    release: "Släpp (gallras som vanligt)", "Release (purged as usual)";
    hold_text: "En post som sparas längre gallras inte förrän den släpps, t.ex. medan ett polisärende pågår. Skälet syns för samordnare och i telefonerna.", "A held entry is not purged until it is released, e.g. while a police matter is open. The reason is shown to coordinators and on the phones.";
    hold_reason: "Skäl (t.ex. pågående polisärende)", "Reason (e.g. an open police matter)";
    hold_reason_needed: "Skriv ett skäl till att posten ska sparas längre.", "Write a reason for keeping the entry longer.";
    hold_reason_long: "Skälet får vara högst 200 tecken.", "The reason may be at most 200 characters.";
    redact: "Redigera bort text", "Redact text";
    redact_text: "Har ett namn eller något annat som pekar ut en person kommit med i en text? Skriv om texten. Den gamla texten försvinner ur historiken, konflikter och varje telefon, inte bara ur visningen. Historiken visar att texten redigerades, av vem och när.", "Did a name or anything else that points out a person slip into a text? Rewrite it. The old text disappears from the history, conflicts and every phone, not merely from view. The history shows that it was redacted, by whom and when.";
    redact_new_text: "Ny text (den gamla försvinner överallt)", "New text (the old one disappears everywhere)";
    redact_unchanged: "Den nya texten är densamma som den gamla. Ta bort det som ska bort.", "The new text is the same as the old. Remove what should go.";
    redacted_by: "{} redigerades av {}, {}.", "{} was redacted by {}, {}.";
    redacted_mark: "(redigerad)", "(redacted)";
    pii_warning: "Texten ser ut att innehålla personuppgifter:", "The text looks as if it holds personal data:";
    pii_advice: "Beskriv händelsen, inte personen. Redigera bort texten nedan.", "Describe the event, not the person. Redact the text below.";
    pii_mark: "Kan innehålla personuppgifter", "May hold personal data";
    subcategory: "Underkategori", "Subcategory";
    note: "Anteckning", "Note";
    comment: "Kommentar", "Comment";
    device_lost: "Förlorad", "Lost";
    device_retired: "Pensioneras", "Retiring";
    device_wiped: "Tömd och avslutad", "Wiped and retired";
    mark_lost: "Anmäl förlorad", "Report lost";
    mark_retired: "Pensionera", "Retire";
    lost_text: "Telefonen kommer inte längre in och raderar allt den har vid nästa kontakt.", "The phone can no longer get in and deletes everything it holds at its next contact.";
    retire_text: "Telefonen lämnar först över det den inte har skickat, raderar sedan allt och avslutas.", "The phone first hands over what it has not sent, then deletes everything and stops.";
    lost_known: "Senast i kontakt {}. Servern har dess ändringar till och med nummer {}; det telefonen skrev efter det kom aldrig fram. {} foton som dess poster pekar på kom aldrig fram.", "Last contact {}. The server holds its changes up to number {}; whatever the phone wrote after that never arrived. {} photos its entries refer to never arrived.";
    remove_member: "Ta bort medlem", "Remove member";
    remove_member_text: "Medlemmens poster finns kvar, men namnet byts överallt mot \"Tidigare medlem\" och ett nummer. Inloggning och telefoner slutar fungera.", "The member's entries stay, but their name is replaced everywhere by \"Tidigare medlem\" (former member) and a number. Their sign-in and phones stop working.";
    remove_self: "Du kan inte ta bort dig själv.", "You cannot remove yourself.";
    former_member: "Tidigare medlem", "Former member";
    revoke_text: "Telefonen spärras: den kommer inte längre in, men raderar inget.", "The phone is locked out, but deletes nothing.";
}

/// The texts of `lang`.
pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Sv => &SV,
        Lang::En => &EN,
    }
}
