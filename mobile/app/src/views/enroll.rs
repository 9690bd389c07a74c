//! First start: scan the coordinator's QR code (server and one-time code in one picture), or
//! type the server's address and the code.

use crate::camera::QR_INPUT;
use crate::components::{FlashMessage, TopBar};
use crate::i18n::Text;
use crate::state::{ScanProblem, use_app};
use dioxus::prelude::*;
use vaka_device::WipeReason;

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
    let problem = app
        .scan_problem
        .read()
        .clone()
        .map(|problem| match problem {
            ScanProblem::NotAPicture => app.t(Text::ScanNotAPicture).to_owned(),
            ScanProblem::NoQrCode => app.t(Text::ScanNoQrCode).to_owned(),
            ScanProblem::NotAVakaLink => app.t(Text::ScanNotAVakaLink).to_owned(),
            ScanProblem::CodeRefused => app.t(Text::CodeRefused).to_owned(),
            ScanProblem::Failed(reason) => {
                Text::EnrollFailed.fill(app.lang(), &[("reason", &reason)])
            }
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
            // The page reads the picture (see `camera`); the app reads the code in it.
            label { class: if busy { "button big primary disabled" } else { "button big primary" },
                "data-test": "scan-qr",
                input {
                    r#type: "file",
                    accept: "image/*",
                    "capture": "environment",
                    disabled: busy,
                    "data-test": QR_INPUT,
                }
                span { class: "icon", "📷" }
                span { if busy { "{app.t(Text::Enrolling)}" } else { "{app.t(Text::ScanQr)}" } }
            }
            if let Some(problem) = problem {
                div { class: "error", role: "alert", "data-test": "scan-problem", "{problem}" }
            }
            p { class: "muted", "{app.t(Text::OrTypeIt)}" }
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
            button { "data-test": "enroll-button", disabled: busy,
                onclick: move |_| {
                    dioxus::core::spawn_forever(app.enroll(server.read().clone(), code.read().clone()));
                },
                if busy { "{app.t(Text::Enrolling)}" } else { "{app.t(Text::Enroll)}" }
            }
        }
    }
}
