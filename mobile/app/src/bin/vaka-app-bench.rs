//! `vaka-app-bench`: how fast the desktop build is where it matters to a walker — from launch to
//! a usable home screen, and from tapping "save" to the incident being stored on the phone.
//! Prints figures; asserts nothing. Run it under Xvfb (or on a desktop) against a server it can
//! enrol with (the device is enrolled before the window opens, so launch shows home).

use anyhow::Context;
use clap::Parser;
use dioxus::prelude::*;
use std::time::{Duration, Instant};
use vaka_app::location::LocationSource;
use vaka_app::state::{AppConfig, Snapshot};
use vaka_app::{App, harness};
use vaka_device::{Device, SchedulerConfig};

#[derive(Debug, Clone, Parser)]
struct Args {
    /// The server's address.
    #[arg(long)]
    server: String,
    /// A one-time enrolment code.
    #[arg(long)]
    code: String,
    /// The phone's database (a new file).
    #[arg(long)]
    db: std::path::PathBuf,
    /// Incidents to log for the latency figures, in each phase.
    #[arg(long, default_value_t = 30)]
    rounds: usize,
    /// Entries the phone holds before the rounds (logged on the first run, kept after).
    #[arg(long, default_value_t = 0)]
    entries: usize,
    /// How many of those entries carry a photo.
    #[arg(long, default_value_t = 0)]
    photos: usize,
    /// Ops a second phone of the same walker sends before each sync the rounds run beside;
    /// 0 measures no rounds during a sync.
    #[arg(long, default_value_t = 0)]
    pull_ops: usize,
    /// The server's command and data folder, to make the second phone's enrolment code.
    #[arg(long)]
    server_bin: Option<std::path::PathBuf>,
    #[arg(long)]
    server_data: Option<std::path::PathBuf>,
}

/// When the process started, for the launch figure.
#[derive(Debug, Clone, Copy)]
struct Started(Instant);

fn main() -> anyhow::Result<()> {
    let started = Started(Instant::now());
    let args = Args::parse();
    let device = Device::open(&args.db).context("opening the phone's database")?;
    if device.identity()?.is_none() {
        let runtime = tokio::runtime::Runtime::new()?;
        runtime
            .block_on(device.enroll(&reqwest::Client::new(), &args.server, &args.code, "bench"))
            .context("enrolling")?;
    }
    let config = AppConfig {
        device,
        default_server: args.server.clone(),
        device_name: "bench".into(),
        location: LocationSource::None,
        // No sync while measuring: the figures are the phone's own work.
        sync: SchedulerConfig {
            interval: Duration::from_secs(3600),
            ..SchedulerConfig::default()
        },
        metered: false,
    };
    seed(&config.device, args.entries, args.photos)?;
    let startup = Instant::now() - started.0;
    eprintln!(
        "(opening and enrolling took {} ms before the window)",
        startup.as_millis()
    );
    let window_start = Started(Instant::now());
    vaka_app::launch_with(config, Bench, move |launch| {
        launch.with_context(args).with_context(window_start)
    });
    Ok(())
}

#[allow(non_snake_case)]
fn Bench() -> Element {
    let config = use_context::<AppConfig>();
    let args = use_context::<Args>();
    let started = use_context::<Started>();
    use_hook(move || {
        spawn(async move {
            let code = match measure(&args, &config.device, started.0).await {
                Ok(()) => 0,
                Err(error) => {
                    eprintln!("bench failed: {error:#}");
                    1
                }
            };
            // Not std::process::exit: a background sync may still be inside the database.
            config.device.exit(code);
        });
    });
    rsx! { App {} }
}

async fn wait_for(selector: &str) -> anyhow::Result<()> {
    harness::wait_for(selector, Duration::from_secs(30), Duration::from_millis(2)).await?;
    Ok(())
}

async fn click(name: &str) -> anyhow::Result<()> {
    harness::tap(name, Duration::from_secs(30)).await?;
    Ok(())
}

/// A photo from the camera, different for each `n`.
fn camera_photo(n: usize) -> anyhow::Result<Vec<u8>> {
    let picture = image::RgbImage::from_fn(1024, 768, |x, y| {
        image::Rgb([
            ((x + n as u32) % 256) as u8,
            (y % 256) as u8,
            ((x ^ y) % 256) as u8,
        ])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut jpeg, image::ImageFormat::Jpeg)?;
    Ok(jpeg.into_inner())
}

fn bench_incident(description: Option<String>) -> vaka_shared::model::IncidentFields {
    vaka_shared::model::IncidentFields {
        category: Some("disturbance".into()),
        severity: Some(vaka_shared::model::Severity(2)),
        description,
        ..Default::default()
    }
}

/// Logs entries (the first `photos` with a photo each) until the phone holds `entries`.
fn seed(device: &Device, entries: usize, photos: usize) -> anyhow::Result<()> {
    let have = device.entries()?.len();
    if have >= entries {
        return Ok(());
    }
    let seeding = Instant::now();
    for n in have..entries {
        let mut fields = bench_incident(Some(format!("Oro vid torget, post {n}")));
        if n < photos {
            fields.attachments = Some(vec![device.store_photo(&camera_photo(n)?)?]);
        }
        device.create_incident(fields)?;
    }
    eprintln!(
        "(logged {} entries on the phone in {} s)",
        entries - have,
        seeding.elapsed().as_secs()
    );
    Ok(())
}

/// A second phone of the same walker, enrolled with a code the server's command makes.
async fn other_phone(args: &Args, device: &Device) -> anyhow::Result<Device> {
    let path = args.db.with_extension("other.sqlite3");
    let other = Device::open(&path)?;
    if other.identity()?.is_none() {
        let (Some(bin), Some(data)) = (&args.server_bin, &args.server_data) else {
            anyhow::bail!("--pull-ops needs --server-bin and --server-data");
        };
        let member = device.identity()?.context("enrolled")?.member_id;
        let output = std::process::Command::new(bin)
            .arg("--data")
            .arg(data)
            .args(["enroll-code", "--member", &member.to_string()])
            .output()?;
        anyhow::ensure!(output.status.success(), "no code: {output:?}");
        let code = String::from_utf8(output.stdout)?.trim().to_owned();
        other
            .enroll(&reqwest::Client::new(), &args.server, &code, "bench 2")
            .await?;
    }
    Ok(other)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The figures of some rounds.
#[derive(Debug, Default)]
struct Figures {
    store_ms: Vec<f64>,
    screen_ms: Vec<f64>,
    /// To "Sparad på telefonen" shown on the home screen.
    saved_ms: Vec<f64>,
    refresh_ms: Vec<f64>,
    /// The same read called on this task directly, without the blocking thread: the core's
    /// part of a refresh.
    read_ms: Vec<f64>,
}

impl Figures {
    fn extend(&mut self, more: Figures) {
        self.store_ms.extend(more.store_ms);
        self.screen_ms.extend(more.screen_ms);
        self.saved_ms.extend(more.saved_ms);
        self.refresh_ms.extend(more.refresh_ms);
        self.read_ms.extend(more.read_ms);
    }
}

fn print_figure(name: &str, values: &mut [f64]) {
    if values.is_empty() {
        println!("{name}: no rounds");
        return;
    }
    values.sort_by(f64::total_cmp);
    println!(
        "{name}: median {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} rounds)",
        percentile(values, 0.5),
        percentile(values, 0.95),
        values.last().copied().unwrap_or_default(),
        values.len()
    );
}

fn report(during: &str, mut figures: Figures) {
    print_figure(
        &format!("tap \"save\" to incident stored{during}"),
        &mut figures.store_ms,
    );
    print_figure(
        &format!("tap \"save\" to home screen shown again{during}"),
        &mut figures.screen_ms,
    );
    print_figure(
        &format!("tap \"save\" to \"saved\" shown on it{during}"),
        &mut figures.saved_ms,
    );
    print_figure(
        &format!("screen refresh (the screens' data read again){during}"),
        &mut figures.refresh_ms,
    );
    print_figure(
        &format!("the screens' data read alone, on this task{during}"),
        &mut figures.read_ms,
    );
}

/// Logs `args.rounds` incidents by tapping, and reads the screens' data once after each, as
/// the app does; with `sync`, only while it runs, keeping every round that started before it ended.
async fn rounds(
    args: &Args,
    device: &Device,
    sync: Option<&tokio::task::JoinHandle<vaka_device::Result<vaka_device::SyncReport>>>,
) -> anyhow::Result<Figures> {
    let mut figures = Figures::default();
    for _ in 0..args.rounds {
        if sync.is_some_and(|s| s.is_finished()) {
            break;
        }
        click("log-incident").await?;
        wait_for("[data-test=\"incident-form\"]").await?;
        click("category-disturbance").await?;
        wait_for("[data-test=\"category-disturbance\"].selected").await?;
        let newest = |device: &Device| -> anyhow::Result<_> {
            Ok(device.recent_entries(1)?.first().map(|e| e.id))
        };
        let before = newest(device)?;
        // The new entry is looked for on a thread of its own, every millisecond: polling on
        // this task would take the app's own thread, which the tap is waiting for.
        let watcher = device.clone();
        let tapped = Instant::now();
        let stored = tokio::task::spawn_blocking(move || -> anyhow::Result<Instant> {
            while newest(&watcher)? == before {
                anyhow::ensure!(tapped.elapsed() < Duration::from_secs(30), "nothing stored");
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(Instant::now())
        });
        let times = harness::tap_until_shown(
            "save",
            &[
                "[data-test=\"home\"]",
                "[data-test=\"home\"] [data-test=\"flash\"]",
            ],
            Duration::from_secs(30),
        )
        .await?;
        let [shown, saved] = times[..] else {
            anyhow::bail!("two times expected: {times:?}");
        };
        let stored = (stored.await?? - tapped).as_secs_f64() * 1000.0;
        let started = Instant::now();
        device.run(Snapshot::load).await?;
        let refresh = started.elapsed().as_secs_f64() * 1000.0;
        let started = Instant::now();
        Snapshot::load(device)?;
        let read = started.elapsed().as_secs_f64() * 1000.0;
        // A round that started while the sync ran is kept, even if the sync ended during it.
        figures.store_ms.push(stored);
        figures.screen_ms.push(shown);
        figures.saved_ms.push(saved);
        figures.refresh_ms.push(refresh);
        figures.read_ms.push(read);
    }
    Ok(figures)
}

async fn measure(args: &Args, device: &Device, started: Instant) -> anyhow::Result<()> {
    wait_for("[data-test=\"home\"]").await?;
    let launch = started.elapsed();
    println!("launch to usable home screen: {} ms", launch.as_millis());

    // The first background sync pulls the organisation's entries; let it finish first.
    let deadline = Instant::now() + Duration::from_secs(60);
    while device.sync_state()?.last_sync_ok_at.is_none() || device.outbox_len()? > 0 {
        anyhow::ensure!(Instant::now() < deadline, "the first sync did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let idle = rounds(args, device, None).await?;
    report("", idle);
    if args.pull_ops > 0 {
        let other = other_phone(args, device).await?;
        let http = reqwest::Client::new();
        let mut during = Figures::default();
        let mut syncs = 0;
        while during.store_ms.len() < args.rounds {
            for n in 0..args.pull_ops {
                other.create_incident(bench_incident(Some(format!("Från den andra, {n}"))))?;
            }
            other.sync_once(&http).await?;
            let syncing = device.clone();
            let client = http.clone();
            let sync = tokio::spawn(async move { syncing.sync_once(&client).await });
            let figures = rounds(args, device, Some(&sync)).await?;
            let report = sync.await??;
            anyhow::ensure!(report.pulled >= args.pull_ops, "pulled {report:?}");
            syncs += 1;
            during.extend(figures);
        }
        report(
            &format!(" while a sync pulls {} ops ({syncs} syncs)", args.pull_ops),
            during,
        );
    }
    // The device core's part alone: one write transaction (validate, outbox, entity, fsync).
    let mut core_ms = Vec::new();
    for _ in 0..args.rounds {
        let started = Instant::now();
        device.create_incident(bench_incident(None))?;
        core_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    print_figure("device core write alone", &mut core_ms);
    // The webview's own part: home shown again from the settings screen, which reads nothing
    // from the device core; what drawing a screen costs before any of the app's work.
    let mut switch_ms = Vec::new();
    for _ in 0..args.rounds {
        click("settings").await?;
        wait_for("[data-test=\"settings-screen\"]").await?;
        let shown =
            harness::tap_until_shown("back", &["[data-test=\"home\"]"], Duration::from_secs(30))
                .await?;
        switch_ms.extend(shown);
    }
    print_figure(
        "tap \"back\" to home screen shown (no core work)",
        &mut switch_ms,
    );
    Ok(())
}
