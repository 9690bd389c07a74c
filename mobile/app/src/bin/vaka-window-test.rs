//! `vaka-window-test`: the real-window test of the app. It opens the desktop build (run it
//! under Xvfb) against a real vaka-server, and walks a volunteer's evening through the real
//! WebKit DOM: enrol by scanning the QR code of a real enrolment code (after a code the server
//! refuses, whose words must show beside the scan button), start a patrol in the area the position lies in (the areas come
//! with the first sync), log an incident in three taps (and one more
//! from the patrol's quick-log buttons), end the patrol with "all home safe", let background sync
//! send everything, and check in the server's own database that it holds the patrol (walkers,
//! youths met, conversations and "all home safe" as entered) and the incidents (their
//! categories as chosen, and the photo the first one refers to, shrunk). With `--message TEXT`
//! (a message the coordinator sent to everyone first) it waits for its card on the home screen,
//! marks it read and checks the server holds the read receipt. It exits 0 when all of
//! that held, and non-zero otherwise, also when the window closes before the walk is done.
//!
//! How it drives the window: the app's root component is wrapped in a harness that runs script in
//! the webview with `document::eval` — query, click, type, read — as a user's taps would. This
//! was chosen because it needs nothing patched and goes through the real event handlers: the
//! WebKitGTK WebDriver cannot attach to this webview (dioxus-desktop offers no switch to allow
//! automation), and xdotool works only with brittle screen coordinates.
//!
//! With `--screenshots DIR` it saves the enrolment screen, home, the patrol, the incident form
//! and "my entries" as PNG files (ImageMagick's `import` on the X display).

use anyhow::{Context, ensure};
use base64::Engine;
use clap::Parser;
use dioxus::prelude::*;
use rusqlite::OpenFlags;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use vaka_app::camera::{PHOTO_INPUT, QR_INPUT};
use vaka_app::location::LocationSource;
use vaka_app::state::AppConfig;
use vaka_app::{App, harness};
use vaka_device::{Device, EntryFields, SchedulerConfig};
use vaka_shared::enroll_link::EnrollLink;
use vaka_shared::merge::EntityState;
use vaka_shared::model::Location;

#[derive(Debug, Clone, Parser)]
struct Args {
    /// The server's address.
    #[arg(long)]
    server: String,
    /// A one-time enrolment code for a volunteer.
    #[arg(long)]
    code: String,
    /// The server's SQLite file, read (only) to check what arrived.
    #[arg(long)]
    server_db: PathBuf,
    /// Where to save screenshots.
    #[arg(long)]
    screenshots: Option<PathBuf>,
    /// The phone's database (a new file).
    #[arg(long)]
    db: PathBuf,
    /// The text of a message the coordinator sent to everyone before the phone enrolled: the
    /// phone shows it, marks it read, and the server gets its receipt.
    #[arg(long)]
    message: Option<String>,
}

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(30);

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let device = Device::open(&args.db).context("opening the phone's database")?;
    let config = AppConfig {
        device,
        default_server: String::new(),
        device_name: "window test".into(),
        // In the demo organisation's area "Centrum".
        location: LocationSource::Fixed(Location {
            lat: 59.6105,
            lon: 16.5455,
            accuracy_m: Some(6.0),
        }),
        sync: SchedulerConfig {
            interval: Duration::from_secs(2),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(4),
        },
        metered: false,
    };
    vaka_app::launch_with(config, Harness, |launch| launch.with_context(args));
    // The harness ends the process when the walk is done; getting here means the window's loop
    // returned first (where the loop ends the process itself, the harness's drop hook reports it).
    anyhow::bail!("window test FAILED: the window closed before the walk was done")
}

#[allow(non_snake_case)]
fn Harness() -> Element {
    let config = use_context::<AppConfig>();
    let args = use_context::<Args>();
    use_hook(move || {
        spawn(async move {
            let started = Instant::now();
            let code = match walk(&args, &config.device).await {
                Ok(()) => {
                    println!(
                        "window test passed in {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                    0
                }
                Err(error) => {
                    eprintln!("window test FAILED: {error:#}");
                    if let Ok(text) = harness::run("return document.body.innerText").await {
                        eprintln!("the window showed:\n{}", text.as_str().unwrap_or_default());
                    }
                    1
                }
            };
            // Not std::process::exit: a background sync may still be inside the database.
            config.device.exit(code);
        });
    });
    // The walk ends the process itself; the window going away first (the event loop then ends
    // the process with status 0) is a failure.
    use_drop(|| {
        eprintln!("window test FAILED: the window closed before the walk was done");
        std::process::exit(2);
    });
    rsx! { App {} }
}

/// Waits for the element named `name`.
async fn wait_for(name: &str) -> anyhow::Result<()> {
    harness::wait_for(&harness::test_id(name), STEP, Duration::from_millis(50)).await?;
    Ok(())
}

/// Taps the element named `name`.
async fn tap(name: &str) -> anyhow::Result<()> {
    harness::tap(name, STEP)
        .await
        .with_context(|| format!("tapping {name}"))
}

/// The text of the element named `name`.
async fn text_of(name: &str) -> anyhow::Result<String> {
    Ok(harness::text_of(name).await?)
}

/// Waits until the element named `name` says `needle`.
async fn wait_text(name: &str, needle: &str) -> anyhow::Result<()> {
    harness::wait_text(name, needle, STEP).await?;
    Ok(())
}

async fn screenshot(args: &Args, name: &str) -> anyhow::Result<()> {
    let Some(dir) = &args.screenshots else {
        return Ok(());
    };
    std::fs::create_dir_all(dir)?;
    // Let the frame settle after the last change.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let path = dir.join(format!("{name}.png"));
    let status = tokio::process::Command::new("import")
        .args(["-window", "root", "-crop", "390x844+0+0", "+repage"])
        .arg(&path)
        .status()
        .await
        .context("running ImageMagick's import")?;
    ensure!(status.success(), "import failed for {name}");
    Ok(())
}

/// Checks, with the bounding boxes the webview reports, that every element named in `names` is
/// inside the viewport and above the fixed call bar (reachable without scrolling), and that no
/// button's text lies outside its button, on the screen now shown (`screen`, for the message).
async fn check_reachable(screen: &str, names: &[&str]) -> anyhow::Result<()> {
    let script = format!(
        r#"const bar = document.querySelector("nav.calls").getBoundingClientRect();
        const problems = [];
        for (const name of {names}) {{
          const el = document.querySelector(`[data-test="${{name}}"]`);
          if (!el) {{ problems.push(`${{name}} is not shown`); continue; }}
          const r = el.getBoundingClientRect();
          if (r.top < 0 || r.left < 0 || r.right > window.innerWidth || r.bottom > window.innerHeight) {{
            problems.push(`${{name}} is outside the ${{window.innerWidth}}×${{window.innerHeight}} viewport (${{r.left}},${{r.top}}–${{r.right}},${{r.bottom}})`);
          }} else if (!el.closest("nav.calls") && r.bottom > bar.top + 0.5) {{
            problems.push(`${{name}} is under the call bar (its bottom ${{r.bottom}}, the bar's top ${{bar.top}})`);
          }}
        }}
        for (const tile of document.querySelectorAll("main button, main .button, nav.calls a")) {{
          const box = tile.getBoundingClientRect();
          if (box.width === 0) continue;
          const text = document.createRange();
          text.selectNodeContents(tile);
          const t = text.getBoundingClientRect();
          if (t.width > 0 && (t.left < box.left - 1 || t.right > box.right + 1 || t.top < box.top - 1 || t.bottom > box.bottom + 1)) {{
            problems.push(`the text of ${{tile.dataset.test || tile.innerText}} lies outside its button`);
          }}
        }}
        return problems;"#,
        names = serde_json::to_string(names)?
    );
    let problems = harness::run(&script).await?;
    let problems: Vec<String> = serde_json::from_value(problems)?;
    ensure!(problems.is_empty(), "on {screen}: {}", problems.join("; "));
    Ok(())
}

/// What a walker taps on the patrol screen: the quick-log tiles, logging, and the patrol's end.
const PATROL_BUTTONS: &[&str] = &[
    "quick-disturbance",
    "quick-alcohol",
    "quick-youth_at_risk",
    "quick-narcotics",
    "quick-violence_threat",
    "quick-vandalism",
    "log-incident",
    "log-observation",
    "end-patrol",
    "call-112",
    "call-11414",
];

async fn walk(args: &Args, device: &Device) -> anyhow::Result<()> {
    // First start: enrolment by scanning the coordinator's QR code. A code the server does not
    // know first: the refusal shows beside the scan button and the phone stays unenrolled.
    wait_for("enroll").await?;
    wait_for("scan-qr").await?;
    check_reachable("the enrolment screen", &["scan-qr", "enroll-button"]).await?;
    let refused = EnrollLink {
        server: args.server.clone(),
        code: "AAAA-BBBB-CCCC".into(),
    };
    take_picture(QR_INPUT, &qr_png(&refused.to_string())?, "image/png").await?;
    wait_text("scan-problem", "Servern godtog inte koden")
        .await
        .context("a refused code does not say so beside the scan button")?;
    ensure!(device.identity()?.is_none(), "a refused code enrolled");
    screenshot(args, "enroll").await?;
    // Then the real one: one picture, and the phone is enrolled.
    let link = EnrollLink {
        server: args.server.clone(),
        code: args.code.clone(),
    };
    take_picture(QR_INPUT, &qr_png(&link.to_string())?, "image/png").await?;
    wait_for("home")
        .await
        .context("scanning the enrolment code did not lead home")?;
    ensure!(device.identity()?.is_some(), "the device is not enrolled");

    // The first background sync brings the organisation's areas.
    let started = Instant::now();
    while device.areas()?.is_empty() {
        ensure!(started.elapsed() < STEP, "no areas reached the phone");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // And the coordinator's message to everyone (sent from the dashboard before the phone
    // enrolled, by the script): a card on the home screen until it is marked read.
    if let Some(text) = &args.message {
        wait_text("message-text", text)
            .await
            .context("the coordinator's message is not on the home screen")?;
        tap("mark-read").await?;
        wait_for("message-read")
            .await
            .context("marking the message read did not show it read")?;
        ensure!(
            device.active_messages()?.iter().all(|m| m.read()),
            "the message is not read on the phone"
        );
    }
    let centrum = device
        .areas()?
        .into_iter()
        .find(|a| a.name == "Centrum")
        .context("the demo area Centrum")?;

    // Start a patrol: night walk, four walkers, in the area the position lies in.
    tap("start-patrol").await?;
    tap("kind-night_walk").await?;
    tap("walkers-plus").await?;
    harness::wait_for(
        "[data-area=\"Centrum\"].selected",
        STEP,
        Duration::from_millis(50),
    )
    .await
    .context("the fix's area is not chosen")?;
    tap("start").await?;
    wait_for("patrol").await?;
    wait_text("patrol-walkers-value", "4").await?;
    wait_text("patrol-info", "Centrum").await?;
    check_reachable("the patrol screen", PATROL_BUTTONS).await?;

    // The common case from home, three taps: "log incident", a category, "save".
    tap("back").await?;
    wait_for("home").await?;
    let before = device.entries()?.len();
    tap("log-incident").await?;
    tap("category-alcohol").await?;
    check_reachable("the incident form", &["save"]).await?;
    screenshot(args, "incident").await?;
    // A photo, as the camera hands it to the page's file input (the test cannot press a
    // shutter; everything after the input is the app's real path).
    take_picture(PHOTO_INPUT, &camera_jpeg()?, "image/jpeg").await?;
    wait_text("photo-count", "1").await?;
    tap("save").await?;
    wait_for("patrol").await?;
    ensure!(
        device.entries()?.len() == before + 1,
        "three taps did not store an incident"
    );
    // Back on the patrol with "saved" shown above everything: still all reachable.
    wait_for("flash").await?;
    check_reachable("the patrol screen after a save", PATROL_BUTTONS).await?;
    screenshot(args, "patrol").await?;

    // From the patrol, a quick-log button and "save": two taps.
    tap("quick-disturbance").await?;
    wait_for("incident-form").await?;
    tap("save").await?;
    wait_for("patrol").await?;
    ensure!(
        device.entries()?.len() == before + 2,
        "quick log did not store an incident"
    );

    // End the patrol with a summary and "all home safe".
    tap("end-patrol").await?;
    tap("youths-plus").await?;
    tap("youths-plus").await?;
    tap("conversations-plus").await?;
    tap("all-home-safe").await?;
    tap("confirm-end").await?;
    wait_for("home").await?;

    // Background sync sends everything; the indicator says so.
    wait_text("sync-waiting", "Allt är skickat").await?;
    // The message of the save does not still say "on the phone" once everything is sent.
    wait_text("flash", "skickad till servern").await?;
    check_reachable(
        "home",
        &[
            "start-patrol",
            "log-incident",
            "log-observation",
            "sync-now",
            "my-entries",
            "settings",
        ],
    )
    .await?;
    screenshot(args, "home").await?;

    // My entries: all on the server.
    tap("my-entries").await?;
    wait_for("entries").await?;
    let mine: Vec<_> = device.entries()?.into_iter().filter(|e| e.mine).collect();
    ensure!(
        mine.len() == 3,
        "expected a patrol and two incidents, found {}",
        mine.len()
    );
    let listed = text_of("entries").await?;
    ensure!(
        listed.matches("På servern").count() == 3,
        "not every entry shows as on the server: {listed}"
    );
    screenshot(args, "entries").await?;

    // The server's own database holds them as entered: the patrol ended with its walkers,
    // youths met, conversations and "all home safe"; the incidents with their categories.
    let server =
        rusqlite::Connection::open_with_flags(&args.server_db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut categories = Vec::new();
    let mut photos = Vec::new();
    for entry in &mine {
        let state: Option<String> = server
            .query_row(
                "SELECT state FROM entities WHERE id = ?1",
                [entry.id.to_string()],
                |r| r.get(0),
            )
            .ok();
        let state = state
            .with_context(|| format!("the server lacks {} {}", entry.kind.as_str(), entry.id))?;
        let values = serde_json::from_str::<EntityState>(&state)
            .with_context(|| format!("the server's state of {}", entry.id))?
            .values();
        let value = |field: &str| values.get(field).cloned().unwrap_or_default();
        ensure!(
            value("area_id") == serde_json::json!(centrum.id),
            "the server's {} lacks the area: {state}",
            entry.kind.as_str()
        );
        match entry.fields {
            EntryFields::Patrol(_) => {
                ensure!(
                    value("ended_at").is_string(),
                    "the server's patrol has not ended: {state}"
                );
                let entered = serde_json::json!({
                    "participant_count": 4,
                    "youths_met": 2,
                    "conversations": 1,
                    "all_home_safe": true,
                });
                let stored = serde_json::json!({
                    "participant_count": value("participant_count"),
                    "youths_met": value("youths_met"),
                    "conversations": value("conversations"),
                    "all_home_safe": value("all_home_safe"),
                });
                ensure!(
                    stored == entered,
                    "the server's patrol is not what was entered: {stored} instead of {entered}"
                );
            }
            EntryFields::Incident(_) => {
                categories.push(value("category").as_str().unwrap_or_default().to_owned());
                if let Some(attachments) = value("attachments").as_array() {
                    photos.extend(
                        attachments
                            .iter()
                            .filter_map(|a| a["sha256"].as_str().map(str::to_owned)),
                    );
                }
            }
            EntryFields::Observation(_) => {}
        }
    }
    categories.sort();
    ensure!(
        categories == ["alcohol", "disturbance"],
        "the server's incidents have the categories {categories:?}, not alcohol and disturbance"
    );
    // The photo the incident refers to reached the server, shrunk to at most 1600 px.
    let [sha256] = photos.as_slice() else {
        anyhow::bail!("the incidents refer to {} photos, not one", photos.len());
    };
    let started = Instant::now();
    let photo: Vec<u8> = loop {
        let done = server.query_row(
            "SELECT data FROM blobs WHERE sha256 = ?1 AND completed_at_ms IS NOT NULL",
            [sha256],
            |r| r.get(0),
        );
        if let Ok(data) = done {
            break data;
        }
        ensure!(
            started.elapsed() < STEP,
            "the photo {sha256} did not reach the server"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let photo = image::load_from_memory(&photo).context("the server's photo is an image")?;
    ensure!(
        photo.width() <= 1600 && photo.height() <= 1600,
        "the photo was not shrunk: {}×{}",
        photo.width(),
        photo.height()
    );
    if args.message.is_some() {
        let read: i64 = server.query_row(
            "SELECT COUNT(*) FROM entities WHERE kind = 'message_receipt'
               AND json_extract(state, '$.read_at.v') IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        ensure!(
            read == 1,
            "the server holds {read} read receipts, not the phone's one"
        );
    }
    tap("back").await?;
    wait_for("home").await?;
    Ok(())
}

/// A 2400×1800 JPEG, as a phone's camera takes one.
fn camera_jpeg() -> anyhow::Result<Vec<u8>> {
    let picture = image::RgbImage::from_fn(2400, 1800, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut jpeg, image::ImageFormat::Jpeg)?;
    Ok(jpeg.into_inner())
}

/// A PNG of the QR code of `text` as a screen shows it: 10 px per module, with the quiet zone,
/// rendered with the `qrcode` crate the server's dashboard uses.
fn qr_png(text: &str) -> anyhow::Result<Vec<u8>> {
    const MODULE: u32 = 10;
    const QUIET: u32 = 4;
    let code = qrcode::QrCode::new(text.as_bytes()).context("the link fits in a QR code")?;
    let width = u32::try_from(code.width())?;
    let colors = code.to_colors();
    let side = (width + 2 * QUIET) * MODULE;
    let picture = image::GrayImage::from_fn(side, side, |x, y| {
        let (column, row) = (x / MODULE, y / MODULE);
        let inside =
            (QUIET..width + QUIET).contains(&column) && (QUIET..width + QUIET).contains(&row);
        let dark = inside
            && colors.get(((row - QUIET) * width + (column - QUIET)) as usize)
                == Some(&qrcode::Color::Dark);
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut png, image::ImageFormat::Png)?;
    Ok(png.into_inner())
}

/// Puts `bytes` into the file input named `input` the way a camera or picker does, and lets
/// the input announce the change.
async fn take_picture(input: &str, bytes: &[u8], mime: &str) -> anyhow::Result<()> {
    harness::wait_for(&harness::test_id(input), STEP, Duration::from_millis(50)).await?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let script = format!(
        r#"const input = document.querySelector('[data-test="{input}"]');
        if (!input) return false;
        const bytes = Uint8Array.from(atob("{encoded}"), (c) => c.charCodeAt(0));
        const chosen = new DataTransfer();
        chosen.items.add(new File([bytes], "kamera", {{ type: "{mime}" }}));
        input.files = chosen.files;
        input.dispatchEvent(new Event("change", {{ bubbles: true }}));
        return true;"#
    );
    ensure!(
        harness::run(&script).await? == serde_json::Value::Bool(true),
        "no {input} on the screen"
    );
    Ok(())
}
