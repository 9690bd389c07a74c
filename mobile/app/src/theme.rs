//! Night and day themes, Swedish local time, and the rule that picks the night theme after
//! sunset. The style sheet gives every touch target at least 56 px, so gloves work.

use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

/// Which theme the user chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeChoice {
    /// Night after sunset, day in daylight.
    #[default]
    Auto,
    /// Always night.
    Night,
    /// Always day.
    Day,
}

impl ThemeChoice {
    /// As stored in the settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Night => "night",
            Self::Day => "day",
        }
    }

    /// From the settings; unknown values are `Auto`.
    pub fn parse(text: &str) -> Self {
        match text {
            "night" => Self::Night,
            "day" => Self::Day,
            _ => Self::Auto,
        }
    }

    /// Whether the night theme shows at `now`.
    pub fn is_night(self, now: OffsetDateTime) -> bool {
        match self {
            Self::Night => true,
            Self::Day => false,
            Self::Auto => is_dark(swedish(now)),
        }
    }
}

/// The last `weekday` of `month`.
fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let mut day = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day()?;
    }
    Some(day)
}

/// Swedish time: CET, and CEST from the last Sunday of March to the last Sunday of October
/// (both at 01:00 UTC).
pub fn swedish(now: OffsetDateTime) -> OffsetDateTime {
    let utc = now.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let summer = match (
        last_sunday(year, Month::March),
        last_sunday(year, Month::October),
    ) {
        (Some(start), Some(end)) => {
            let start = start.midnight().assume_utc() + time::Duration::hours(1);
            let end = end.midnight().assume_utc() + time::Duration::hours(1);
            utc >= start && utc < end
        }
        _ => false,
    };
    let hours = if summer { 2 } else { 1 };
    utc.to_offset(UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC))
}

/// Whether it is dark in southern and central Sweden at this local time: rough sunrise and
/// sunset hours per month (Stockholm).
pub fn is_dark(local: OffsetDateTime) -> bool {
    let (rise, set) = match local.month() {
        Month::January | Month::December => (9, 15),
        Month::February | Month::November => (8, 16),
        Month::March | Month::October => (7, 18),
        Month::April | Month::September => (6, 19),
        Month::May | Month::August => (5, 21),
        Month::June | Month::July => (4, 22),
    };
    let hour = local.hour();
    hour < rise || hour >= set
}

/// The style sheet of both themes.
pub const CSS: &str = r#"
:root { color-scheme: dark light; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; height: 100%; }
body { font-family: "Noto Sans", "DejaVu Sans", system-ui, sans-serif; font-size: 18px; -webkit-user-select: none; }
.app { min-height: 100vh; display: flex; flex-direction: column; background: var(--bg); color: var(--fg); }
.night { --bg: #0b0f14; --card: #161d26; --fg: #e8edf2; --muted: #a9b6c3; --accent: #f2b84b; --accent-fg: #1a1300; --ok: #4cc38a; --warn: #f2b84b; --bad: #ff6b6b; --line: #263140; --chip: #1f2935; --flash-bg: #4cc38a; --flash-fg: #04130a; --error-bg: #b3261e; --error-fg: #ffffff; }
.day { --bg: #f4f6f8; --card: #ffffff; --fg: #11161c; --muted: #4a5661; --accent: #0b5cad; --accent-fg: #ffffff; --ok: #126b33; --warn: #8a4d00; --bad: #c62828; --line: #d5dbe1; --chip: #e7ecf1; --flash-bg: #146c34; --flash-fg: #ffffff; --error-bg: #c62828; --error-fg: #ffffff; }
header.top { display: flex; align-items: center; gap: 12px; padding: 10px 16px 4px; }
header.top .titles { flex: 1; min-width: 0; display: flex; flex-direction: column; }
header.top h1 { font-size: 22px; margin: 0; line-height: 1.2; }
header.top .who { color: var(--muted); font-size: 14px; }
main { flex: 1; padding: 8px 16px 120px; display: flex; flex-direction: column; gap: 12px; }
button, .button { min-height: 56px; min-width: 56px; border-radius: 14px; border: 2px solid var(--line); background: var(--card); color: var(--fg); font-size: 18px; font-weight: 600; padding: 10px 14px; cursor: pointer; }
button.primary, .button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); font-size: 21px; }
button.big, .button.big { min-height: 68px; width: 100%; text-align: left; display: flex; align-items: center; gap: 14px; }
button.big .icon, .button.big .icon { font-size: 30px; width: 40px; text-align: center; }
button.selected { border-color: var(--accent); box-shadow: inset 0 0 0 2px var(--accent); }
button.back { min-width: 56px; font-size: 22px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 16px; padding: 14px; display: flex; flex-direction: column; gap: 8px; }
.muted { color: var(--muted); font-size: 15px; }
.row { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.grid { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; }
.grid button { min-height: 84px; min-width: 0; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 4px; font-size: 14px; padding: 6px 4px; overflow-wrap: anywhere; hyphens: manual; text-align: center; line-height: 1.2; }
.grid button .icon { font-size: 28px; }
.quick, .pair { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px; }
.quick button { min-height: 64px; min-width: 0; font-size: 16px; padding: 4px 6px; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 2px; overflow-wrap: anywhere; hyphens: manual; text-align: center; line-height: 1.2; }
.quick button .icon { font-size: 20px; }
.pair button { min-width: 0; font-size: 16px; padding: 6px 8px; overflow-wrap: anywhere; hyphens: manual; line-height: 1.2; }
.patrol-card { padding: 10px 14px; gap: 4px; }
.patrol-card .now { display: flex; align-items: center; justify-content: space-between; gap: 10px; }
.patrol-card .timer { font-size: 34px; }
label { font-size: 15px; color: var(--muted); display: block; margin-bottom: 4px; }
input, textarea, select { width: 100%; min-height: 56px; font-size: 18px; border-radius: 12px; border: 2px solid var(--line); background: var(--bg); color: var(--fg); padding: 10px 12px; }
textarea { min-height: 96px; }
.stepper { display: flex; align-items: center; gap: 10px; }
.stepper .value { min-width: 48px; text-align: center; font-size: 24px; font-weight: 700; }
.badge { align-self: flex-start; display: inline-block; border-radius: 999px; padding: 4px 10px; font-size: 14px; font-weight: 600; }
.badge.on-phone { background: var(--chip); color: var(--warn); }
.badge.on-server { background: var(--chip); color: var(--ok); }
.badge.attention { background: var(--error-bg); color: var(--error-fg); }
.sync { display: flex; gap: 12px; align-items: center; }
.sync .words { flex: 1; min-width: 0; }
.card.sync-card { flex-direction: row; align-items: center; gap: 10px; }
.card.message { border-color: var(--accent); }
.card.message .message-head { display: flex; justify-content: space-between; gap: 8px; }
.card.message .message-text { font-size: 1.1em; white-space: pre-wrap; overflow-wrap: anywhere; }
.card.message.read { opacity: .75; }
.card.message.read .message-text { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card.sync-card .sync { flex: 1; min-width: 0; }
.dot { width: 14px; height: 14px; border-radius: 50%; flex: none; }
.dot.ok { background: var(--ok); } .dot.wait { background: var(--warn); } .dot.bad { background: var(--bad); }
.timer { font-size: 44px; font-weight: 700; font-variant-numeric: tabular-nums; }
.flash { background: var(--flash-bg); color: var(--flash-fg); border-radius: 12px; padding: 12px 14px; font-weight: 600; }
.error { background: var(--error-bg); color: var(--error-fg); border-radius: 12px; padding: 12px 14px; }
.pii-warning { border: 2px solid var(--warn); border-radius: 14px; background: var(--card); padding: 12px 14px; margin-top: 8px; display: flex; flex-direction: column; gap: 10px; }
.pii-warning .choices { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.pii-warning .choices button { min-height: 72px; width: 100%; }
input.flagged, textarea.flagged { border-color: var(--warn); }
.entry h3 { margin: 0; font-size: 18px; }
.comment { border-left: 4px solid var(--accent); padding: 4px 10px; }
nav.calls { position: fixed; left: 0; right: 0; bottom: 0; display: flex; gap: 10px; padding: 10px 12px; background: var(--bg); border-top: 1px solid var(--line); }
nav.calls a { flex: 1; min-height: 64px; border-radius: 14px; display: flex; flex-direction: column; align-items: center; justify-content: center; text-decoration: none; font-weight: 700; font-size: 19px; }
nav.calls a small { font-weight: 500; font-size: 12px; }
nav.calls a.c112 { background: #d32f2f; color: #fff; }
nav.calls a.c11414 { background: #1c4f8a; color: #fff; }
.thumbs { display: flex; gap: 8px; flex-wrap: wrap; }
.thumbs img { width: 72px; height: 72px; object-fit: cover; border-radius: 10px; }
input[type=file] { display: none; }
.button.disabled { opacity: 0.6; pointer-events: none; }
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// The colours a theme's rule in [`CSS`] sets, by name (`--muted` → `#a9b6c3`).
    fn palette(theme: &str) -> std::collections::HashMap<String, String> {
        let rule = CSS
            .lines()
            .find(|line| line.starts_with(&format!(".{theme} {{")))
            .expect("the theme's rule");
        rule.split(['{', ';', '}'])
            .filter_map(|part| part.trim().split_once(':'))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect()
    }

    /// WCAG 2 contrast ratio of two `#rrggbb` colours.
    fn contrast(a: &str, b: &str) -> f64 {
        let luminance = |hex: &str| {
            let channel = |i: usize| {
                let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")) / 255.0;
                if c <= 0.03928 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
        };
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn text_meets_wcag_aa_contrast_on_both_themes() {
        // (text, background) as the style sheet pairs them.
        let pairs = [
            ("--fg", "--bg"),
            ("--fg", "--card"),
            ("--muted", "--bg"),
            ("--muted", "--card"),
            ("--muted", "--chip"),
            ("--warn", "--chip"),
            ("--ok", "--chip"),
            ("--accent-fg", "--accent"),
            ("--flash-fg", "--flash-bg"),
            ("--error-fg", "--error-bg"),
        ];
        for theme in ["night", "day"] {
            let colours = palette(theme);
            for (text, background) in pairs {
                let ratio = contrast(&colours[text], &colours[background]);
                assert!(
                    ratio >= 4.5,
                    "{theme}: {text} on {background} is {ratio:.2}:1, below AA's 4.5:1"
                );
            }
        }
    }

    #[test]
    fn swedish_time_follows_summer_time() {
        assert_eq!(swedish(datetime!(2026-01-15 12:00 UTC)).hour(), 13);
        assert_eq!(swedish(datetime!(2026-07-15 12:00 UTC)).hour(), 14);
        // Summer time starts at 01:00 UTC on the last Sunday of March (29 March 2026).
        assert_eq!(swedish(datetime!(2026-03-29 00:59 UTC)).hour(), 1);
        assert_eq!(swedish(datetime!(2026-03-29 01:00 UTC)).hour(), 3);
    }

    #[test]
    fn the_night_theme_shows_after_sunset() {
        let auto = ThemeChoice::Auto;
        assert!(auto.is_night(datetime!(2026-11-21 20:00 UTC)));
        assert!(!auto.is_night(datetime!(2026-11-21 11:00 UTC)));
        assert!(
            !auto.is_night(datetime!(2026-06-21 19:00 UTC)),
            "midsummer evening is light"
        );
        assert!(auto.is_night(datetime!(2026-06-21 23:30 UTC)));
        assert!(ThemeChoice::Night.is_night(datetime!(2026-06-21 12:00 UTC)));
        assert!(!ThemeChoice::Day.is_night(datetime!(2026-11-21 23:00 UTC)));
    }
}
