//! `vaka-app-bench`: how fast the desktop build is where it matters to a walker — from launch to
//! a usable home screen, and from tapping "save" to the incident being stored on the phone.
//! Prints figures; asserts nothing. Run it under Xvfb (or on a desktop) against a server it can
//! enrol with (the device is enrolled before the window opens, so launch shows home).

use anyhow::Context;
use clap::Parser;
use dioxus::prelude::*;
use std::time::{Duration, Instant};
use vaka_app::location::LocationSource;
use vaka_app::state::AppConfig;
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
    /// Incidents to log for the latency figures.
    #[arg(long, default_value_t = 30)]
    rounds: usize,
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
            std::process::exit(code);
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
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

    let mut store_ms = Vec::new();
    let mut screen_ms = Vec::new();
    for _ in 0..args.rounds {
        click("log-incident").await?;
        wait_for("[data-test=\"incident-form\"]").await?;
        click("category-disturbance").await?;
        wait_for("[data-test=\"category-disturbance\"].selected").await?;
        let newest =
            || -> anyhow::Result<_> { Ok(device.recent_entries(1)?.first().map(|e| e.id)) };
        let before = newest()?;
        let tapped = Instant::now();
        click("save").await?;
        while newest()? == before {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        store_ms.push(tapped.elapsed().as_secs_f64() * 1000.0);
        wait_for("[data-test=\"home\"] [data-test=\"flash\"]").await?;
        screen_ms.push(tapped.elapsed().as_secs_f64() * 1000.0);
    }
    // The device core's part alone: one write transaction (validate, outbox, entity, fsync).
    let mut core_ms = Vec::new();
    for _ in 0..args.rounds {
        let started = Instant::now();
        device.create_incident(vaka_shared::model::IncidentFields {
            category: Some("disturbance".into()),
            severity: Some(vaka_shared::model::Severity(2)),
            ..Default::default()
        })?;
        core_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    for (name, values) in [
        ("tap \"save\" to incident stored", &mut store_ms),
        ("tap \"save\" to home screen shown again", &mut screen_ms),
        ("device core write alone", &mut core_ms),
    ] {
        values.sort_by(f64::total_cmp);
        println!(
            "{name}: median {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} rounds)",
            percentile(values, 0.5),
            percentile(values, 0.95),
            values.last().copied().unwrap_or_default(),
            values.len()
        );
    }
    Ok(())
}
