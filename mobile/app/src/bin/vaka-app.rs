//! `vaka-app`: the Vaka app in a phone-sized window (`desktop` feature) or on a phone (`mobile`
//! feature) — the same code.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;
use vaka_app::location::LocationSource;
use vaka_app::state::AppConfig;
use vaka_device::{Device, SchedulerConfig};
use vaka_shared::model::Location;

/// The Vaka field log.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The phone's database file (on a phone: in the app's private data folder).
    #[arg(long, env = "VAKA_APP_DB", default_value_os_t = default_db())]
    db: PathBuf,
    /// The server address suggested on the enrolment screen.
    #[arg(long, env = "VAKA_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The name this device enrols under.
    #[arg(long, default_value = "Vaka desktop")]
    device_name: String,
    /// Use this position instead of the webview's location ("59.3293,18.0686").
    #[arg(long, value_parser = parse_location)]
    fixed_location: Option<Location>,
    /// Seconds between background syncs while they succeed.
    #[arg(long, default_value_t = 60)]
    sync_interval_secs: u64,
}

fn parse_location(text: &str) -> Result<Location, String> {
    let (lat, lon) = text.split_once(',').ok_or("expected LAT,LON")?;
    let lat = lat.trim().parse().map_err(|_| "bad latitude")?;
    let lon = lon.trim().parse().map_err(|_| "bad longitude")?;
    Ok(Location {
        lat,
        lon,
        accuracy_m: Some(10.0),
    })
}

#[cfg(not(any(feature = "desktop", feature = "mobile")))]
fn main() {
    let _ = (Args::parse, parse_location, launch_config);
    eprintln!(
        "vaka-app was built without a renderer: build it with --features desktop (or mobile)"
    );
    std::process::exit(2);
}

#[cfg(any(feature = "desktop", feature = "mobile"))]
fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,vaka_app=info,vaka_device=info".into()),
        )
        .init();
    vaka_app::launch(launch_config(Args::parse())?);
    Ok(())
}

/// Where the database lives when none is named. A phone app gets no command line, and its
/// working folder is not writable: Android's private files folder of the app id in
/// `Dioxus.toml`, iOS's Application Support in the app's sandbox. Not yet tried on a phone.
fn default_db() -> PathBuf {
    #[cfg(target_os = "android")]
    let path = PathBuf::from("/data/data/se.vaka.app/files/vaka.sqlite3");
    #[cfg(target_os = "ios")]
    let path = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join("Library/Application Support/vaka.sqlite3");
    #[cfg(not(any(target_os = "android", target_os = "ios")))]
    let path = PathBuf::from("vaka-app.sqlite3");
    path
}

/// The app's configuration from the command line.
fn launch_config(args: Args) -> anyhow::Result<AppConfig> {
    if let Some(folder) = args.db.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
    }
    let device =
        Device::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    Ok(AppConfig {
        device,
        default_server: args.server,
        device_name: args.device_name,
        location: args
            .fixed_location
            .map_or(LocationSource::Webview, LocationSource::Fixed),
        sync: SchedulerConfig {
            interval: Duration::from_secs(args.sync_interval_secs.max(1)),
            ..SchedulerConfig::default()
        },
        metered: false,
    })
}
