//! First start: the server's address and the one-time code from a coordinator.

use crate::app::components::{FlashMessage, TopBar};
use crate::app::i18n::Text;
use crate::app::state::use_app;
use crate::device::WipeReason;
use dioxus::prelude::*;

/// The enrolment screen. After the phone wiped itself (marked lost, or retired) it says so.
#[component]
pub fn Enroll() -> Element {
    let app = use_app();
    let mut server = use_signal(|| app.config().default_server);
    let mut code = use_signal(String::new);
    let busy = *app.enrolling.read();
    let wiped = app.snapshot.read().sync.as_ref().and_then(|s| s.wiped);
    let wiped = wiped.map(|reason| match reason {
        WipeReason::Lost => Text::DeviceLost,
        WipeReason::Retired => Text::DeviceRetired,
    });
    rsx! {
        TopBar { title: Text::Welcome }
        main { "data-test": "enroll",
            if let Some(wiped) = wiped {
                div { class: "error", "data-test": "wiped",
                    p { "{app.t(wiped)}" }
                    p { "{app.t(Text::EnrollAgain)}" }
                }
            }
            p { "{app.t(Text::EnrollIntro)}" }
            FlashMessage {}
            div {
                label { "{app.t(Text::Server)}" }
                input { "data-test": "server", r#type: "url", value: "{server}",
                    oninput: move |e| server.set(e.value()) }
            }
            div {
                label { "{app.t(Text::EnrollCode)}" }
                input { "data-test": "code", value: "{code}", "autocapitalize": "characters",
                    oninput: move |e| code.set(e.value()) }
            }
            button { class: "primary", "data-test": "enroll-button", disabled: busy,
                onclick: move |_| {
                    dioxus::core::spawn_forever(app.enroll(server.read().clone(), code.read().clone()));
                },
                if busy { "{app.t(Text::Enrolling)}" } else { "{app.t(Text::Enroll)}" }
            }
        }
    }
}
