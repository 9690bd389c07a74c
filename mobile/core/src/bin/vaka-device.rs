//! `vaka-device`: drives one device core from the command line, for trying the sync by hand.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use vaka_device::{
    Device, DeviceError, Entry, EntryFields, PatrolSummary, SchedulerConfig, SyncReport,
    SyncScheduler, SyncStatus, WallClock,
};
use vaka_shared::model::{
    CategoryCode, IncidentFields, Location, ObservationCategory, ObservationFields, PatrolFields,
    PatrolKind, Severity,
};
use vaka_shared::{AreaId, EntityId, Timestamp};

/// A Vaka device without a screen: log entries, list them and sync with a server.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The device's database file (created if missing), encrypted with the key in the key
    /// file beside it (`<db>.key`, made on first use, readable only by you).
    #[arg(long, env = "VAKA_DEVICE_DB")]
    db: PathBuf,
    /// Pretend this phone's clock is off by this many milliseconds (for trying clock
    /// correction).
    #[arg(long, hide = true, allow_hyphen_values = true)]
    clock_skew_ms: Option<i64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Enrol this device with a one-time code from a coordinator.
    Enroll {
        /// The server's address, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// The one-time code.
        #[arg(long)]
        code: String,
        /// A name for this device.
        #[arg(long, default_value = "vaka-device")]
        name: String,
    },
    /// Log an incident.
    Incident {
        /// Category code, e.g. disturbance or violence_threat.
        #[arg(long)]
        category: String,
        /// How serious, 1 (minor) to 4 (acute).
        #[arg(long)]
        severity: u8,
        #[command(flatten)]
        common: EntryArgs,
    },
    /// Log an observation about a place.
    Observation {
        /// lighting, vandalism_graffiti, litter_needles, vegetation, unsafe_place,
        /// gathering_place or other.
        #[arg(long, value_parser = observation_category)]
        category: ObservationCategory,
        #[command(flatten)]
        common: EntryArgs,
    },
    /// Start or end a patrol.
    #[command(subcommand)]
    Patrol(PatrolCommand),
    /// Comment on an entry.
    Comment {
        /// The entry's id.
        #[arg(long)]
        entry: EntityId,
        /// The text.
        #[arg(long)]
        text: String,
    },
    /// List the entries on this device with where each stands.
    List,
    /// Show the coordinators' messages shown now (`--read ID` marks one read).
    Messages {
        /// Mark this message read.
        #[arg(long)]
        read: Option<EntityId>,
    },
    /// Show the device's identity and sync state.
    Status,
    /// Sync with the server until everything is sent and received.
    Sync {
        /// Keep syncing in the background (every minute, backing off after failures) until
        /// interrupted.
        #[arg(long)]
        watch: bool,
    },
}

#[derive(Debug, Args)]
struct EntryArgs {
    /// What happened or was seen.
    #[arg(long)]
    description: Option<String>,
    /// Where, in words.
    #[arg(long)]
    place: Option<String>,
    /// Latitude (with --lon).
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    lat: Option<f64>,
    /// Longitude (with --lat).
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    lon: Option<f64>,
    /// When, as RFC 3339 (default: now).
    #[arg(long, value_parser = timestamp)]
    at: Option<Timestamp>,
}

impl EntryArgs {
    fn location(&self) -> Option<Option<Location>> {
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Some(Some(Location {
                lat,
                lon,
                accuracy_m: None,
            })),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum PatrolCommand {
    /// Start a patrol.
    Start {
        /// night_walk, guard_round, neighbourhood_watch, parent_walk, safety_walk or other.
        #[arg(long, value_parser = patrol_kind, default_value = "night_walk")]
        kind: PatrolKind,
        /// How many walk.
        #[arg(long)]
        walkers: u16,
        /// The area walked.
        #[arg(long)]
        area: Option<AreaId>,
    },
    /// End a patrol with its summary.
    End {
        /// The patrol's id.
        #[arg(long)]
        id: EntityId,
        /// Youths met.
        #[arg(long)]
        youths: Option<u32>,
        /// Adults met.
        #[arg(long)]
        adults: Option<u32>,
        /// Conversations held.
        #[arg(long)]
        conversations: Option<u32>,
        /// Everyone got home safe.
        #[arg(long)]
        all_home_safe: bool,
    },
}

fn observation_category(text: &str) -> Result<ObservationCategory, String> {
    ObservationCategory::from_wire(text).ok_or_else(|| format!("unknown category `{text}`"))
}

fn patrol_kind(text: &str) -> Result<PatrolKind, String> {
    PatrolKind::from_wire(text).ok_or_else(|| format!("unknown patrol kind `{text}`"))
}

fn timestamp(text: &str) -> Result<Timestamp, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| e.to_string())
}

/// Prints a line on standard output. A reader that went away (`vaka-device list | head`) ends
/// the program quietly instead of with a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(error) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("error: cannot write the output: {error}");
            std::process::exit(1);
        }
    }};
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let wall = cli
        .clock_skew_ms
        .map_or(WallClock::System, WallClock::Skewed);
    let device = Device::open_with_clock(&cli.db, wall)
        .with_context(|| format!("could not open the device database {}", cli.db.display()))?;
    let http = reqwest::Client::new();
    match cli.command {
        Command::Enroll { server, code, name } => {
            let me = device.enroll(&http, &server, &code, &name).await?;
            say!(
                "Enrolled as {} ({}) in {}; device {}",
                me.member_name,
                me.role.as_str(),
                me.org_name,
                me.device_id
            );
        }
        Command::Incident {
            category,
            severity,
            common,
        } => {
            let id = device.create_incident(IncidentFields {
                occurred_at: common.at,
                category: Some(CategoryCode(category)),
                severity: Some(Severity(severity)),
                location: common.location(),
                place: common.place.clone().map(Some),
                description: common.description.clone(),
                ..Default::default()
            })?;
            say!("Logged incident {id} (on phone until synced)");
        }
        Command::Observation { category, common } => {
            let id = device.create_observation(ObservationFields {
                observed_at: common.at,
                category: Some(category),
                location: common.location(),
                place: common.place.clone().map(Some),
                description: common.description.clone(),
                ..Default::default()
            })?;
            say!("Logged observation {id} (on phone until synced)");
        }
        Command::Patrol(PatrolCommand::Start {
            kind,
            walkers,
            area,
        }) => {
            let id = device.create_patrol(PatrolFields {
                kind: Some(kind),
                participant_count: Some(walkers),
                area_id: area.map(Some),
                ..Default::default()
            })?;
            say!("Started patrol {id}");
        }
        Command::Patrol(PatrolCommand::End {
            id,
            youths,
            adults,
            conversations,
            all_home_safe,
        }) => {
            device.end_patrol(
                id,
                PatrolSummary {
                    youths_met: youths,
                    adults_met: adults,
                    conversations,
                    all_home_safe: all_home_safe.then_some(true),
                    note: None,
                },
            )?;
            say!("Ended patrol {id}");
        }
        Command::Comment { entry, text } => {
            let id = device.add_comment(entry, &text)?;
            say!("Comment {id} added");
        }
        Command::List => {
            let entries = device.entries()?;
            if entries.is_empty() {
                say!("No entries yet.");
            }
            for entry in entries {
                say!("{}", describe(&entry));
                for comment in device.comments_for(entry.id)? {
                    say!("    comment: {}", comment.body);
                }
            }
        }
        Command::Messages { read: Some(id) } => {
            device.mark_message_read(id)?;
            say!("Message {id} marked read; the coordinator sees it after the next sync");
        }
        Command::Messages { read: None } => print_messages(&device)?,
        Command::Status => status(&device)?,
        Command::Sync { watch: false } => {
            let report = match device.sync_once(&http).await {
                Ok(report) => report,
                Err(DeviceError::Wiped(reason)) => {
                    say!(
                        "wiped: {}; everything on this phone is erased",
                        reason.describe()
                    );
                    return Ok(());
                }
                Err(error) => return Err(error.into()),
            };
            say!(
                "Synced in {} round(s): {} sent and acknowledged ({} refused), {} received",
                report.rounds,
                report.acked,
                report.rejected,
                report.pulled
            );
            if report.restamped > 0 {
                say!(
                    "This phone's clock was ahead; {} entries were re-stamped",
                    report.restamped
                );
            }
            for line in privacy_lines(&report) {
                say!("{line}");
            }
            if report.messages > 0 {
                say!("{} new message(s) from the coordinators:", report.messages);
                print_messages(&device)?;
            }
        }
        Command::Sync { watch: true } => watch(device, http).await?,
    }
    Ok(())
}

fn status(device: &Device) -> Result<()> {
    match device.identity()? {
        Some(me) => say!(
            "Enrolled as {} ({}) in {} at {}; device {}",
            me.member_name,
            me.role.as_str(),
            me.org_name,
            me.server_url,
            me.device_id
        ),
        None => say!("Not enrolled."),
    }
    let state = device.sync_state()?;
    if let Some(reason) = state.wiped {
        say!(
            "Wiped: {}; enrol again to use this phone",
            reason.describe()
        );
    }
    if state.retiring {
        say!("Retiring: a coordinator retired this phone; it takes no new entries");
    }
    say!("On phone, waiting to be sent: {}", state.pending);
    say!("Needing attention: {}", state.needs_attention);
    match state.last_sync_ok_at {
        Some(at) => say!("Last synced: {at}"),
        None => say!("Never synced."),
    }
    if let Some(error) = state.last_error {
        say!("Last sync failed: {error}");
    }
    Ok(())
}

async fn watch(device: Device, http: reqwest::Client) -> Result<()> {
    if device.identity()?.is_none() {
        bail!("this device is not enrolled; run `enroll` first");
    }
    let scheduler = SyncScheduler::start(device, http, SchedulerConfig::default());
    let mut outcomes = scheduler.outcomes();
    say!("Syncing in the background; press Ctrl-C to stop.");
    loop {
        tokio::select! {
            changed = outcomes.changed() => {
                if changed.is_err() {
                    break;
                }
                match &*outcomes.borrow_and_update() {
                    Some(Ok(report)) => {
                        say!(
                            "synced: {} sent, {} refused, {} received",
                            report.acked, report.rejected, report.pulled
                        );
                        for line in privacy_lines(report) {
                            say!("{line}");
                        }
                    }
                    Some(Err(error)) => match error.as_ref() {
                        DeviceError::Wiped(reason) => {
                            say!("wiped: {}; everything on this phone is erased", reason.describe());
                        }
                        other => say!("sync failed, will retry: {other}"),
                    },
                    None => {}
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    scheduler.stop().await;
    Ok(())
}

/// What a sync removed, kept or wiped, one line each (nothing when it did none of it).
fn privacy_lines(report: &SyncReport) -> Vec<String> {
    let mut lines = Vec::new();
    if report.purged > 0 {
        lines.push(format!(
            "removed {} entries by retention (purged on the server)",
            report.purged
        ));
    }
    if report.kept_unsent > 0 {
        lines.push(format!(
            "kept {} purged entries that have changes not sent yet",
            report.kept_unsent
        ));
    }
    if report.expired > 0 {
        lines.push(format!(
            "removed {} entries by retention (older than the retention period)",
            report.expired
        ));
    }
    if report.redacted > 0 {
        lines.push(format!("redacted text in {} entries", report.redacted));
    }
    if report.retire && report.wiped.is_none() {
        lines.push("retiring: handing over what is left, then wiping".to_owned());
    }
    if let Some(reason) = report.wiped {
        lines.push(format!(
            "wiped: {}; everything on this phone is erased",
            reason.describe()
        ));
    }
    lines
}

/// One line about an entry.
fn describe(entry: &Entry) -> String {
    let status = match &entry.status {
        SyncStatus::OnPhone => "on phone".to_owned(),
        SyncStatus::OnServer => "on server".to_owned(),
        SyncStatus::NeedsAttention { message, field, .. } => match field {
            Some(field) => format!("NEEDS ATTENTION ({field}: {message})"),
            None => format!("NEEDS ATTENTION ({message})"),
        },
    };
    let what = match &entry.fields {
        EntryFields::Incident(f) => format!(
            "incident {} severity {}{}",
            f.category.as_ref().map_or("?", |c| c.0.as_str()),
            f.severity.map_or(0, |s| s.0),
            f.description
                .as_deref()
                .map(|d| format!(": {}", short(d)))
                .unwrap_or_default()
        ),
        EntryFields::Observation(f) => format!(
            "observation {}{}",
            f.category.map_or("?", |c| c.as_str()),
            f.description
                .as_deref()
                .map(|d| format!(": {}", short(d)))
                .unwrap_or_default()
        ),
        EntryFields::Patrol(f) => format!(
            "patrol {} with {} walker(s){}",
            f.kind.map_or("?", |k| k.as_str()),
            f.participant_count.unwrap_or(0),
            if f.ended_at.flatten().is_some() {
                ", ended"
            } else {
                ", ongoing"
            }
        ),
    };
    let retracted = matches!(
        &entry.fields,
        EntryFields::Incident(IncidentFields {
            retracted: Some(true),
            ..
        }) | EntryFields::Observation(ObservationFields {
            retracted: Some(true),
            ..
        }) | EntryFields::Patrol(PatrolFields {
            retracted: Some(true),
            ..
        })
    );
    format!(
        "{} {} {}{} [{}]{}",
        entry.created_at,
        entry.id,
        what,
        if retracted { " (retracted)" } else { "" },
        status,
        if entry.mine { "" } else { " (by someone else)" }
    )
}

/// The first 60 characters of a text.
fn short(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// The messages shown now, newest first: id, whether read, until when, the text.
fn print_messages(device: &Device) -> Result<()> {
    let messages = device.active_messages()?;
    if messages.is_empty() {
        say!("No messages.");
    }
    for m in messages {
        let until = m.ends_at.map(|t| t.to_string()).unwrap_or_default();
        let read = if m.read() { "read" } else { "unread" };
        say!("message {} ({read}, until {until}): {}", m.id, m.text);
    }
    Ok(())
}
