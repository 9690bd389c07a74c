//! Component tests: every screen rendered through a VirtualDom to HTML (no window, no GTK), in
//! Swedish and English, and the statuses of entries as a field user reads them.

use super::Shell;
use super::i18n::Text;
use super::location::LocationSource;
use super::state::{AppConfig, AppState, Flash, Route};
use dioxus::prelude::*;
use vaka_device::testing::square;
use vaka_device::testing::{enrolled, incident};
use vaka_device::{Device, SchedulerConfig};
use vaka_shared::model::{Lang, Location, PatrolFields, PatrolKind, Role};

/// What a rendering starts from.
#[derive(Clone)]
struct Setup {
    config: AppConfig,
    route: Route,
    lang: Lang,
}

fn config(device: &Device) -> AppConfig {
    AppConfig {
        device: device.clone(),
        default_server: "http://127.0.0.1:8080".into(),
        device_name: "test".into(),
        location: LocationSource::Fixed(Location {
            lat: 59.3293,
            lon: 18.0686,
            accuracy_m: Some(6.0),
        }),
        sync: SchedulerConfig::default(),
        metered: false,
    }
}

#[allow(non_snake_case)]
fn Root() -> Element {
    let setup = use_context::<Setup>();
    use_context_provider(move || {
        let mut app = AppState::new(setup.config.clone());
        app.route.set(setup.route);
        let mut prefs = app.prefs;
        prefs.write().lang = setup.lang;
        app
    });
    rsx! { Shell {} }
}

fn render(device: &Device, route: Route, lang: Lang) -> String {
    let setup = Setup {
        config: config(device),
        route,
        lang,
    };
    let mut dom = VirtualDom::new(Root).with_root_context(setup);
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

/// The app on its home screen in Swedish, rendered once, to call intents in.
fn home_dom(device: &Device) -> VirtualDom {
    let setup = Setup {
        config: config(device),
        route: Route::Home,
        lang: Lang::Sv,
    };
    let mut dom = VirtualDom::new(Root).with_root_context(setup);
    dom.rebuild_in_place();
    dom
}

/// The heading each screen shows.
fn title(route: Route) -> Text {
    match route {
        Route::Enroll => Text::Welcome,
        Route::Home => Text::AppName,
        Route::StartPatrol => Text::StartPatrol,
        Route::Patrol => Text::ActivePatrol,
        Route::EndPatrol => Text::EndPatrol,
        Route::Incident => Text::Incident,
        Route::Observation => Text::Observation,
        Route::Entries => Text::MyEntries,
        Route::Settings => Text::Settings,
    }
}

const ROUTES: &[Route] = &[
    Route::Enroll,
    Route::Home,
    Route::StartPatrol,
    Route::Patrol,
    Route::EndPatrol,
    Route::Incident,
    Route::Observation,
    Route::Entries,
    Route::Settings,
];

fn with_patrol(device: &Device) {
    device
        .create_patrol(PatrolFields {
            kind: Some(PatrolKind::NightWalk),
            participant_count: Some(3),
            ..Default::default()
        })
        .expect("starts");
}

#[test]
fn every_screen_renders_in_swedish_and_in_english_with_the_call_buttons() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    with_patrol(&device);
    device.create_incident(incident(2)).expect("logs");
    for &route in ROUTES {
        for (lang, other) in [(Lang::Sv, Lang::En), (Lang::En, Lang::Sv)] {
            let html = render(&device, route, lang);
            let heading = title(route).get(lang);
            assert!(
                html.contains(heading),
                "{route:?} {lang:?}: no {heading:?}\n{html}"
            );
            assert!(
                html.contains(Text::Call112.get(lang)),
                "{route:?} {lang:?}: no 112"
            );
            assert!(
                html.contains(Text::Call11414.get(lang)),
                "{route:?} {lang:?}: no 114 14"
            );
            assert!(html.contains("href=\"tel:112\"") && html.contains("href=\"tel:11414\""));
            // Nothing of the other language leaks in.
            let stray = Text::Call112.get(other);
            assert!(!html.contains(stray), "{route:?} {lang:?}: {stray:?} shown");
        }
    }
}

#[test]
fn home_shows_what_waits_and_offers_the_three_big_actions() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    device.create_incident(incident(2)).expect("logs");
    let html = render(&device, Route::Home, Lang::Sv);
    assert!(html.contains("1 väntar på att skickas"), "{html}");
    assert!(html.contains("Inte synkad ännu"));
    for test in [
        "start-patrol",
        "log-incident",
        "log-observation",
        "sync-now",
    ] {
        assert!(html.contains(&format!("data-test=\"{test}\"")), "{test}");
    }
}

#[test]
fn the_patrol_screen_offers_quick_log_buttons_and_the_timer() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    with_patrol(&device);
    let html = render(&device, Route::Patrol, Lang::Sv);
    assert!(html.contains("data-test=\"timer\""));
    assert!(html.contains("0:00:00"), "the clock has not moved: {html}");
    for code in ["disturbance", "alcohol", "youth_at_risk"] {
        assert!(html.contains(&format!("quick-{code}")), "{code}");
    }
    assert!(html.contains("Nattvandring"));
    let home = render(&device, Route::Home, Lang::En);
    assert!(
        home.contains("Patrol under way"),
        "home leads back to the patrol"
    );
}

#[test]
fn the_incident_form_shows_every_category_and_the_fixed_position() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let html = render(&device, Route::Incident, Lang::Sv);
    for category in vaka_shared::model::DEFAULT_CATEGORIES {
        // The label, with soft hyphens where its long words may break in a tile.
        assert!(
            html.contains(&super::i18n::breakable(category.sv)),
            "{}",
            category.code
        );
        assert!(html.contains(category.icon), "{}", category.code);
    }
    assert!(html.contains("GPS: 59.32930, 18.06860 (±6 m)"), "{html}");
    assert!(
        html.contains("Allvarlighet"),
        "severity in the dashboard's word"
    );
    assert!(
        html.contains("skriv inga namn"),
        "the privacy hint is shown"
    );
    assert!(html.contains("Ta foto") && html.contains("capture=\"environment\""));
}

#[test]
fn entries_show_on_phone_on_server_and_needs_attention_with_the_reason() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let waiting = device.create_incident(incident(1)).expect("logs");
    let sent = device.create_incident(incident(2)).expect("logs");
    let refused = device.create_incident(incident(3)).expect("logs");
    {
        let conn = vaka_device::testing::conn(&device);
        conn.execute(
            "UPDATE ops SET status = 'acked' WHERE entity_id = ?1",
            [sent.to_string()],
        )
        .expect("acks");
        conn.execute(
            "UPDATE ops SET status = 'rejected', reject_code = 'invalid_field',
             reject_message = 'occurred_at: in the future', reject_field = 'occurred_at'
             WHERE entity_id = ?1",
            [refused.to_string()],
        )
        .expect("rejects");
    }
    let _ = waiting;
    let html = render(&device, Route::Entries, Lang::Sv);
    assert!(html.contains("På telefonen"), "{html}");
    assert!(html.contains("På servern"));
    assert!(html.contains("Behöver åtgärd"));
    assert!(html.contains("Servern godtog inte ett värde (occurred_at). Rätta posten."));
    assert_eq!(html.matches("data-test=\"entry\"").count(), 3);
    let english = render(&device, Route::Entries, Lang::En);
    assert!(english.contains("On the phone") && english.contains("On the server"));
    assert!(english.contains("Needs attention"));
}

#[test]
fn a_coordinators_comment_shows_under_the_entry() {
    use vaka_device::testing::{T0, apply, response};
    use vaka_shared::model::{CommentFields, EntryRef};
    use vaka_shared::sync::{PushResult, ServerOp};
    use vaka_shared::{DeviceId, EntityId, EntityKind, Hlc, MemberId, Op, OpBody, OpId, Timestamp};

    let (_dir, device, _) = enrolled(Role::Volunteer);
    let id = device.create_incident(incident(2)).expect("logs");
    // The coordinator comments on another device (the dashboard's); the phone pulls the op.
    let desk = DeviceId::new();
    let comment = Op {
        op_id: OpId::new(),
        device_id: desk,
        device_seq: 1,
        hlc: Hlc {
            ms: T0 as u64 + 10,
            counter: 0,
            device: desk,
        },
        base_seq: 1,
        entity_id: EntityId::new(),
        body: OpBody::Comment(CommentFields {
            entry: Some(EntryRef {
                kind: EntityKind::Incident,
                id,
            }),
            body: Some("Tack, vidarebefordrat".into()),
            written_at: Timestamp::from_unix_ms(T0),
        }),
    };
    let pulled = ServerOp {
        seq: 2,
        author: MemberId::new(),
        op: comment,
    };
    let nothing_pushed = PushResult {
        acked_through: 0,
        rejected: vec![],
        stopped: None,
    };
    apply(&device, &response(T0, nothing_pushed, vec![pulled], 2));
    let html = render(&device, Route::Entries, Lang::Sv);
    assert!(
        html.contains("<strong>Samordnare: </strong>Tack, vidarebefordrat"),
        "{html}"
    );
    assert!(!html.contains("<strong>Du: </strong>"), "{html}");
    let english = render(&device, Route::Entries, Lang::En);
    assert!(
        english.contains("<strong>Coordinator: </strong>Tack, vidarebefordrat"),
        "{english}"
    );
}

#[test]
fn a_device_without_enrolment_starts_on_the_enrolment_screen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let device = Device::open(dir.path().join("d.db")).expect("opens");
    let app_route = {
        let setup = Setup {
            config: config(&device),
            route: Route::Home,
            lang: Lang::Sv,
        };
        let mut dom = VirtualDom::new(|| {
            let config = use_context::<AppConfig>();
            let app = super::state::use_app_provider(config);
            let route = *app.route.read();
            rsx! { "{route:?}" }
        })
        .with_root_context(setup.config);
        dom.rebuild_in_place();
        dioxus_ssr::render(&dom)
    };
    assert_eq!(app_route, "Enroll");
}

#[tokio::test]
async fn the_common_incident_is_three_intents_and_no_typing() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let mut dom = home_dom(&device);
    dom.in_scope(ScopeId::APP, || {
        let app = consume_context::<AppState>();
        // Tap 1: "Logga händelse". Tap 2: a category (what its button does). Tap 3: "Spara".
        app.open_incident(None);
        let mut draft = app.incident;
        draft.write().category = Some("alcohol".into());
        app.save_incident();
        // A second tap while the first save is under way saves nothing more.
        app.save_incident();
    });
    settle(&mut dom).await;
    with_app(&mut dom, |app| assert_eq!(*app.route.read(), Route::Home));
    let entries = device.entries().expect("reads");
    let [entry] = entries.as_slice() else {
        panic!("one entry: {entries:?}");
    };
    let vaka_device::EntryFields::Incident(fields) = &entry.fields else {
        panic!("an incident: {entry:?}");
    };
    assert_eq!(
        fields.category.as_ref().map(|c| c.0.as_str()),
        Some("alcohol")
    );
    assert_eq!(fields.severity.map(|s| s.0), Some(2));
    assert!(fields.occurred_at.is_some(), "stamped now");
    let fix = fields.location.flatten().expect("the position of the fix");
    assert_eq!((fix.lat, fix.lon), (59.3293, 18.0686));
    dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    let html = dioxus_ssr::render(&dom);
    assert!(html.contains("Sparad på telefonen"), "{html}");
    assert!(html.contains("1 väntar på att skickas"));
}

#[tokio::test]
async fn the_forms_offer_the_areas_and_start_with_the_one_the_fix_is_in() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let bare = render(&device, Route::Incident, Lang::Sv);
    assert!(!bare.contains("data-test=\"areas\""), "no areas, no picker");
    // The test position (59.3293, 18.0686) lies in "Gamla stan".
    let here = square("Gamla stan", 18.0686, 59.3293, 0.01);
    let there = square("Bromma", 17.94, 59.34, 0.01);
    vaka_device::testing::replace_areas(&device, &[here.clone(), there]);
    for route in [Route::Incident, Route::Observation, Route::StartPatrol] {
        let html = render(&device, route, Lang::Sv);
        for words in [
            "Område",
            "data-area=\"Gamla stan\"",
            "data-area=\"Bromma\"",
            "Inget område",
        ] {
            assert!(html.contains(words), "{route:?} lacks {words}: {html}");
        }
    }
    assert!(render(&device, Route::Incident, Lang::En).contains("No area"));

    let mut dom = home_dom(&device);
    with_app(&mut dom, |app| {
        app.open_start_patrol();
        assert_eq!(app.patrol.read().area, Some(here.id), "the fix's area");
        app.start_patrol();
    });
    settle(&mut dom).await;
    with_app(&mut dom, |app| {
        app.open_incident(Some("alcohol"));
        assert_eq!(app.incident.read().area, Some(here.id));
        app.save_incident();
    });
    settle(&mut dom).await;
    let entries = device.entries().expect("reads");
    let areas: Vec<_> = entries
        .iter()
        .map(|e| match &e.fields {
            vaka_device::EntryFields::Incident(f) => f.area_id.flatten(),
            vaka_device::EntryFields::Patrol(f) => f.area_id.flatten(),
            vaka_device::EntryFields::Observation(f) => f.area_id.flatten(),
        })
        .collect();
    assert_eq!(areas, [Some(here.id), Some(here.id)], "patrol and incident");
    dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    dom.in_scope(ScopeId::APP, || {
        consume_context::<AppState>().go(Route::Patrol);
    });
    dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    assert!(dioxus_ssr::render(&dom).contains("· Gamla stan"));
}

#[tokio::test]
async fn a_save_that_fails_stays_on_its_form_with_the_reason_and_what_was_typed() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let mut dom = home_dom(&device);
    with_app(&mut dom, |app| {
        app.open_incident(None);
        let mut draft = app.incident;
        draft.write().category = Some("alcohol".into());
        draft.write().severity = 9;
        draft.write().place = "Vid kiosken".into();
        app.save_incident();
    });
    settle(&mut dom).await;
    with_app(&mut dom, |app| {
        assert_eq!(*app.route.read(), Route::Incident);
        assert!(
            matches!(&*app.flash.read(), Some(Flash::Failed(words)) if words.contains("severity")),
            "{:?}",
            app.flash.read()
        );
        assert_eq!(
            app.incident.read().place,
            "Vid kiosken",
            "what was typed is kept"
        );
    });
    assert!(device.entries().expect("reads").is_empty());
}

/// Renders the changes made since the last render, as HTML.
fn rendered(dom: &mut VirtualDom) -> String {
    dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    dioxus_ssr::render(dom)
}

/// Runs `act` with the app's state, inside the app.
fn with_app(dom: &mut VirtualDom, act: impl FnOnce(AppState)) {
    dom.in_scope(ScopeId::APP, || act(consume_context::<AppState>()));
}

/// Lets the intents' writes on the device core (on blocking threads) finish, then renders
/// what changed.
async fn settle(dom: &mut VirtualDom) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut busy = true;
        with_app(dom, |app| busy = app.busy());
        if !busy {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the writes never ended"
        );
        let _ =
            tokio::time::timeout(std::time::Duration::from_millis(50), dom.wait_for_work()).await;
        dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    }
    dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
}

const PERSONNUMMER_WARNING: &str =
    "Det här ser ut som ett personnummer – beskriv händelsen, inte personen";

#[tokio::test]
async fn a_personnummer_in_the_description_warns_beside_it_and_save_anyway_saves() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let mut dom = home_dom(&device);
    let text = "Mannen sa att han hette 811218-9876";
    with_app(&mut dom, |app| {
        app.open_incident(Some("disturbance"));
        let mut draft = app.incident;
        draft.write().description = text.into();
        app.save_incident();
        assert_eq!(*app.route.read(), Route::Incident, "still on the form");
    });
    assert_eq!(device.entries().expect("reads"), [], "nothing saved yet");
    let html = rendered(&mut dom);
    assert!(html.contains(PERSONNUMMER_WARNING), "{html}");
    assert!(html.contains("Det gäller: 811218-9876"), "{html}");
    // Beside the description: the warning comes right after its field.
    let field = html.find("data-test=\"description\"").expect("the field");
    let warning = html
        .find("data-test=\"warning-description\"")
        .expect("the warning");
    let hint = html.find(Text::PrivacyHint.get(Lang::Sv)).expect("hint");
    assert!(field < warning && warning < hint, "{html}");
    assert!(html.contains("data-test=\"warning-edit\"") && html.contains("Ändra texten"));
    assert!(html.contains("data-test=\"warning-save-anyway\"") && html.contains("Spara ändå"));
    assert!(html.contains(text), "what was typed is kept: {html}");

    // "Ändra texten": back to the field, the text as it was, nothing saved.
    with_app(&mut dom, |app| app.edit_text());
    let html = rendered(&mut dom);
    assert!(!html.contains(PERSONNUMMER_WARNING), "{html}");
    assert!(html.contains(text));
    assert_eq!(device.entries().expect("reads"), []);

    // Saving again warns again; "Spara ändå" saves the text as it is.
    with_app(&mut dom, |app| {
        app.save_incident();
        assert!(app.text_warning.read().is_some());
        app.save_incident_anyway();
        assert_eq!(*app.text_warning.read(), None);
    });
    settle(&mut dom).await;
    with_app(&mut dom, |app| assert_eq!(*app.route.read(), Route::Home));
    let entries = device.entries().expect("reads");
    let [entry] = entries.as_slice() else {
        panic!("one entry: {entries:?}");
    };
    let vaka_device::EntryFields::Incident(fields) = &entry.fields else {
        panic!("an incident: {entry:?}");
    };
    assert_eq!(fields.description.as_deref(), Some(text));
    let html = rendered(&mut dom);
    assert!(html.contains("Sparad på telefonen"), "{html}");
}

#[tokio::test]
async fn ordinary_patrol_text_saves_at_once_without_a_warning() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let mut dom = home_dom(&device);
    with_app(&mut dom, |app| {
        app.open_incident(Some("disturbance"));
        let mut draft = app.incident;
        draft.write().place = "Storgatan 12, vid busshållplatsen".into();
        draft.write().description =
            "Fem ungdomar kl 21:30, lugnt efter samtal. Ringde 114 14, händelsenummer \
             5000-K123456-26. Alla hemma 2026-12-02."
                .into();
        app.save_incident();
        assert_eq!(*app.text_warning.read(), None);
    });
    settle(&mut dom).await;
    with_app(&mut dom, |app| {
        assert_eq!(*app.route.read(), Route::Home, "saved at once");
    });
    assert_eq!(device.entries().expect("reads").len(), 1);
    let html = rendered(&mut dom);
    assert!(!html.contains("data-test=\"warning-"), "{html}");
}

#[tokio::test]
async fn a_phone_number_in_an_observations_place_warns_beside_the_place_in_english_too() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let mut dom = home_dom(&device);
    with_app(&mut dom, |app| {
        app.open_observation();
        let mut draft = app.observation;
        draft.write().category = Some(vaka_shared::model::ObservationCategory::Lighting);
        draft.write().place = "Porten, ring 070-123 45 67".into();
        draft.write().description = "Lampan är trasig, bil ABC 123 parkerad".into();
        app.save_observation();
    });
    assert_eq!(device.entries().expect("reads"), []);
    let html = rendered(&mut dom);
    assert!(
        html.contains("Det här ser ut som ett telefonnummer – beskriv händelsen, inte personen"),
        "{html}"
    );
    assert!(
        html.contains(
            "Det här ser ut som ett registreringsnummer – beskriv händelsen, inte personen"
        ),
        "{html}"
    );
    // Both fields are marked; the two choices are shown once, beside the first (the place).
    let place = html
        .find("data-test=\"warning-place\"")
        .expect("place warning");
    let description = html
        .find("data-test=\"warning-description\"")
        .expect("description warning");
    let choice = html
        .find("data-test=\"warning-save-anyway\"")
        .expect("choice");
    assert!(place < choice && choice < description, "{html}");
    assert_eq!(html.matches("data-test=\"warning-save-anyway\"").count(), 1);

    with_app(&mut dom, |app| {
        let mut prefs = app.prefs;
        prefs.write().lang = Lang::En;
    });
    let english = rendered(&mut dom);
    for words in [
        "This looks like a phone number – describe the event, not the person",
        "This looks like a vehicle registration number – describe the event, not the person",
        "It is about: 070-123 45 67",
        "Edit the text",
        "Save anyway",
    ] {
        assert!(english.contains(words), "{words}: {english}");
    }

    // Typing in the field closes the warning; the text stays.
    with_app(&mut dom, |app| {
        let mut draft = app.observation;
        draft.write().place = "Porten".into();
        app.edit_text();
        assert_eq!(*app.text_warning.read(), None);
        app.save_observation();
        assert!(
            app.text_warning.read().is_some(),
            "the description still holds a plate"
        );
        app.save_observation_anyway();
    });
    settle(&mut dom).await;
    let entries = device.entries().expect("reads");
    let [entry] = entries.as_slice() else {
        panic!("one entry: {entries:?}");
    };
    let vaka_device::EntryFields::Observation(fields) = &entry.fields else {
        panic!("an observation: {entry:?}");
    };
    assert_eq!(fields.place, Some(Some("Porten".into())));
    assert_eq!(
        fields.description.as_deref(),
        Some("Lampan är trasig, bil ABC 123 parkerad")
    );
}

#[test]
fn every_identifier_kind_has_its_warning_in_both_languages() {
    use vaka_shared::pii::IdentifierKind;
    for kind in IdentifierKind::ALL.iter().copied() {
        let text = super::i18n::identifier_warning(kind);
        let label = kind.label(Lang::Sv).to_lowercase();
        assert!(
            text.get(Lang::Sv).starts_with("Det här ser ut som ")
                && text
                    .get(Lang::Sv)
                    .ends_with("– beskriv händelsen, inte personen"),
            "{kind:?}"
        );
        assert!(text.get(Lang::Sv).contains(&label), "{kind:?}: {label}");
        assert!(
            text.get(Lang::En)
                .ends_with("– describe the event, not the person"),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_wiped_phone_says_why_on_the_enrolment_screen_in_both_languages() {
    for (reason, text) in [
        (vaka_device::WipeReason::Lost, Text::DeviceLost),
        (vaka_device::WipeReason::Retired, Text::DeviceRetired),
    ] {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        device.create_incident(incident(2)).expect("logs");
        vaka_device::testing::wipe(&device, reason).await;
        for lang in [Lang::Sv, Lang::En] {
            let html = render(&device, Route::Enroll, lang);
            assert!(html.contains("data-test=\"wiped\""), "{html}");
            assert!(html.contains(text.get(lang)), "{lang:?}: {html}");
            assert!(html.contains(Text::EnrollAgain.get(lang)));
        }
    }
    // A phone never wiped shows no such message.
    let dir = tempfile::tempdir().expect("temp dir");
    let device = Device::open(dir.path().join("d.db")).expect("opens");
    assert!(!render(&device, Route::Enroll, Lang::Sv).contains("data-test=\"wiped\""));
}

#[test]
fn a_retiring_phone_says_so_on_the_sync_card() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    vaka_device::testing::conn(&device)
        .execute("UPDATE meta SET retiring = 1", [])
        .expect("retiring");
    let html = render(&device, Route::Home, Lang::Sv);
    assert!(html.contains(Text::Retiring.get(Lang::Sv)), "{html}");
}

/// The app of a phone not enrolled yet, on the enrolment screen in `lang`.
fn enroll_dom(device: &Device, lang: Lang) -> VirtualDom {
    let setup = Setup {
        config: config(device),
        route: Route::Enroll,
        lang,
    };
    let mut dom = VirtualDom::new(Root).with_root_context(setup);
    dom.rebuild_in_place();
    dom
}

/// Hands `picture` to the scan intent, as the page's QR input does, and lets the app work
/// until the scan has an outcome (a problem shown, or the phone enrolled), within ten seconds.
async fn scan(dom: &mut VirtualDom, device: &Device, picture: Vec<u8>) -> String {
    with_app(dom, |app| {
        spawn(app.enroll_by_scan(picture));
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut done = false;
        with_app(dom, |app| {
            done = app.scan_problem.read().is_some() && !*app.enrolling.read();
        });
        if done || device.identity().expect("reads").is_some() {
            return rendered(dom);
        }
        assert!(std::time::Instant::now() < deadline, "the scan never ended");
        let _ =
            tokio::time::timeout(std::time::Duration::from_millis(50), dom.wait_for_work()).await;
        dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    }
}

/// A server that refuses every enrolment code, as vaka-server does an unknown one: its address.
async fn refusing_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let address = listener.local_addr().expect("has an address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = vec![0; 64 * 1024];
            let _ = stream.read(&mut request).await;
            let body =
                r#"{"code":"invalid_enrollment_code","message":"unknown, used or expired code"}"#;
            let answer = format!(
                "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{address}")
}

#[test]
fn the_enrolment_screen_offers_scanning_first_and_typing_too_in_both_languages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let device = Device::open(dir.path().join("d.db")).expect("opens");
    for lang in [Lang::Sv, Lang::En] {
        let html = rendered(&mut enroll_dom(&device, lang));
        assert!(html.contains(Text::ScanQr.get(lang)), "{lang:?}: {html}");
        assert!(
            html.contains(r#"capture="environment""#) && html.contains(r#"data-test="qr-input""#),
            "the scan button is the camera's file input: {html}"
        );
        let scan = html.find("data-test=\"scan-qr\"").expect("scan button");
        let typed = html.find("data-test=\"code\"").expect("code field");
        assert!(scan < typed, "scanning comes before typing");
        assert!(html.contains("data-test=\"enroll-button\""));
        assert!(
            !html.contains("data-test=\"scan-problem\""),
            "no problem yet"
        );
    }
    assert!(rendered(&mut enroll_dom(&device, Lang::Sv)).contains("Skanna QR-kod"));
}

#[tokio::test]
async fn a_picture_without_a_code_or_with_another_code_says_so_beside_the_scan_button() {
    use vaka_device::testing::qr_png;
    let dir = tempfile::tempdir().expect("temp dir");
    let device = Device::open(dir.path().join("d.db")).expect("opens");
    let blank = {
        let picture = image::GrayImage::from_pixel(320, 240, image::Luma([180]));
        let mut png = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut png, image::ImageFormat::Png)
            .expect("encodes");
        png.into_inner()
    };
    for (picture, text) in [
        (blank, Text::ScanNoQrCode),
        (qr_png("https://example.se/meny", 6), Text::ScanNotAVakaLink),
        (b"not a picture".to_vec(), Text::ScanNotAPicture),
    ] {
        for lang in [Lang::Sv, Lang::En] {
            let mut dom = enroll_dom(&device, lang);
            let html = scan(&mut dom, &device, picture.clone()).await;
            let beside = html
                .split("data-test=\"scan-qr\"")
                .nth(1)
                .and_then(|after| after.split("data-test=\"server\"").next())
                .expect("the scan button and the server field");
            assert!(
                beside.contains("data-test=\"scan-problem\"")
                    && beside.contains(&text.get(lang).replace('\'', "&#39;")),
                "{text:?} in {lang:?} between the scan button and the typed form: {html}"
            );
        }
    }
    assert!(device.identity().expect("reads").is_none());
}

#[tokio::test]
async fn a_scanned_code_the_server_refuses_says_ask_for_a_new_one() {
    use vaka_device::testing::qr_png;
    let dir = tempfile::tempdir().expect("temp dir");
    let device = Device::open(dir.path().join("d.db")).expect("opens");
    let server = refusing_server().await;
    let link = vaka_shared::enroll_link::EnrollLink {
        server: server.clone(),
        code: "K7QM-2XNP-84RT".into(),
    };
    let mut dom = enroll_dom(&device, Lang::Sv);
    let html = scan(&mut dom, &device, qr_png(&link.to_string(), 6)).await;
    assert!(html.contains(Text::CodeRefused.get(Lang::Sv)), "{html}");
    assert!(device.identity().expect("reads").is_none());

    // Typed, the same refusal reads the same, above the form.
    with_app(&mut dom, |app| {
        app.scan_problem.clone().set(None);
        spawn(app.enroll(server, "K7QM-2XNP-84RT".into()));
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let html = rendered(&mut dom);
        if html.contains("data-test=\"error\"") {
            assert!(html.contains(Text::CodeRefused.get(Lang::Sv)), "{html}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the typed enrolment never ended"
        );
        let _ =
            tokio::time::timeout(std::time::Duration::from_millis(50), dom.wait_for_work()).await;
    }
}

/// A coordinator's message to everyone, sent at `T0` and shown for four hours, as a phone
/// pulls it; returns its id.
fn pull_message(device: &Device, text: &str) -> vaka_shared::EntityId {
    use vaka_device::testing::{T0, apply, response};
    use vaka_shared::model::{Audience, MessageFields};
    use vaka_shared::sync::{PushResult, ServerOp};
    use vaka_shared::{DeviceId, EntityId, Hlc, MemberId, Op, OpBody, OpId, Timestamp};

    let desk = DeviceId::new();
    let id = EntityId::new();
    let message = Op {
        op_id: OpId::new(),
        device_id: desk,
        device_seq: 1,
        hlc: Hlc {
            ms: T0 as u64,
            counter: 0,
            device: desk,
        },
        base_seq: 0,
        entity_id: id,
        body: OpBody::Message(MessageFields {
            text: Some(text.to_owned()),
            audience: Some(Audience::Org(true)),
            sent_at: Timestamp::from_unix_ms(T0),
            ends_at: Timestamp::from_unix_ms(T0 + 4 * 3_600_000),
        }),
    };
    let pulled = ServerOp {
        seq: 1,
        author: MemberId::new(),
        op: message,
    };
    let nothing_pushed = PushResult {
        acked_through: 0,
        rejected: vec![],
        stopped: None,
    };
    apply(device, &response(T0, nothing_pushed, vec![pulled], 1));
    id
}

#[tokio::test]
async fn a_coordinators_message_shows_on_home_and_patrol_until_marked_read() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let text = "Polisinsats vid stationen ikväll – undvik gångtunneln";
    pull_message(&device, text);
    assert_eq!(device.outbox_len().expect("counts"), 1, "its receipt waits");
    for (lang, heading, button) in [
        (Lang::Sv, "Meddelande från samordnaren", "Markera som läst"),
        (Lang::En, "Message from the coordinator", "Mark as read"),
    ] {
        let home = render(&device, Route::Home, lang);
        for words in [text, heading, button] {
            assert!(home.contains(words), "{lang:?} {words}: {home}");
        }
    }
    with_patrol(&device);
    let patrol = render(&device, Route::Patrol, Lang::Sv);
    assert!(
        patrol.contains(text) && patrol.contains("Markera som läst"),
        "{patrol}"
    );

    let mut dom = home_dom(&device);
    let id = device.active_messages().expect("reads")[0].id;
    with_app(&mut dom, |app| app.mark_message_read(id));
    settle(&mut dom).await;
    let home = rendered(&mut dom);
    assert!(home.contains(text), "still shown until it ends: {home}");
    assert!(home.contains("data-test=\"message-read\""), "{home}");
    assert!(!home.contains("Markera som läst"), "{home}");
    assert!(device.active_messages().expect("reads")[0].read());
}
