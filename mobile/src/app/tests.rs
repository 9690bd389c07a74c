//! Component tests: every screen rendered through a VirtualDom to HTML (no window, no GTK), in
//! Swedish and English, and the statuses of entries as a field user reads them.

use super::Shell;
use super::i18n::Text;
use super::location::LocationSource;
use super::state::{AppConfig, AppState, Route};
use crate::device::areas::tests::square;
use crate::device::test_support::{enrolled, incident};
use crate::device::{Device, SchedulerConfig};
use dioxus::prelude::*;
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
        assert!(html.contains(category.sv), "{}", category.code);
        assert!(html.contains(category.icon), "{}", category.code);
    }
    assert!(html.contains("GPS: 59.32930, 18.06860 (±6 m)"), "{html}");
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
        let conn = device.conn();
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
    use crate::device::test_support::{T0, apply, response};
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

#[test]
fn the_common_incident_is_three_intents_and_no_typing() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let mut dom = home_dom(&device);
    dom.in_scope(ScopeId::APP, || {
        let app = consume_context::<AppState>();
        // Tap 1: "Logga händelse". Tap 2: a category (what its button does). Tap 3: "Spara".
        app.open_incident(None);
        let mut draft = app.incident;
        draft.write().category = Some("alcohol".into());
        app.save_incident();
        assert_eq!(*app.route.read(), Route::Home);
    });
    let entries = device.entries().expect("reads");
    let [entry] = entries.as_slice() else {
        panic!("one entry: {entries:?}");
    };
    let crate::device::EntryFields::Incident(fields) = &entry.fields else {
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

#[test]
fn the_forms_offer_the_areas_and_start_with_the_one_the_fix_is_in() {
    let (_dir, device, _) = enrolled(Role::Volunteer);
    let bare = render(&device, Route::Incident, Lang::Sv);
    assert!(!bare.contains("data-test=\"areas\""), "no areas, no picker");
    // The test position (59.3293, 18.0686) lies in "Gamla stan".
    let here = square("Gamla stan", 18.0686, 59.3293, 0.01);
    let there = square("Bromma", 17.94, 59.34, 0.01);
    device
        .replace_areas(&[here.clone(), there])
        .expect("areas stored");
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
    dom.in_scope(ScopeId::APP, || {
        let app = consume_context::<AppState>();
        app.open_start_patrol();
        assert_eq!(app.patrol.read().area, Some(here.id), "the fix's area");
        app.start_patrol();
        app.open_incident(Some("alcohol"));
        assert_eq!(app.incident.read().area, Some(here.id));
        app.save_incident();
    });
    let entries = device.entries().expect("reads");
    let areas: Vec<_> = entries
        .iter()
        .map(|e| match &e.fields {
            crate::device::EntryFields::Incident(f) => f.area_id.flatten(),
            crate::device::EntryFields::Patrol(f) => f.area_id.flatten(),
            crate::device::EntryFields::Observation(f) => f.area_id.flatten(),
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
