//! The audit log for admins: `/audit` lists the organisation's records newest first, filtered by
//! action, member and period, fifty to a page; `/audit.csv` downloads every record the same
//! filters match (and is itself recorded). Others get 404, as for a page that does not exist.

use super::auth::Signed;
use super::layout;
use super::{
    LangError, PageError, PageResult, Pairs, WithLang, fmt_time, i18n, period_fields, quoted,
};
use crate::store::audit::{
    ACTION_CODES, Actor, AuditAction, AuditFilter, AuditPage, AuditRow, COMMAND_LINE_ACTOR,
    SERVER_ACTOR,
};
use crate::store::reports::local_midnight_ms;
use crate::{AppState, now_ms};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use maud::{Markup, html};
use serde_json::Value;
use std::collections::BTreeMap;
use time::Date;
use vaka_shared::model::{Lang, Role};
use vaka_shared::{MemberId, Timestamp};

/// Records on one page.
pub const PAGE_SIZE: u64 = 50;

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "chain_seq",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "details",
    "hash",
];

fn admin_only(signed: &Signed) -> Result<(), LangError> {
    if signed.user.role == Role::Admin {
        Ok(())
    } else {
        Err(LangError(signed.lang, PageError::NotFound))
    }
}

/// The label of an action code.
pub fn action_label(code: &str, lang: Lang) -> &'static str {
    let t = i18n::texts(lang);
    match code {
        "signed_in" => t.act_signed_in,
        "sign_in_failed" => t.act_sign_in_failed,
        "entry_viewed" => t.act_entry_viewed,
        "photo_downloaded" => t.act_photo_downloaded,
        "report_viewed" => t.act_report_viewed,
        "shared_aggregates_viewed" => t.act_shared_aggregates_viewed,
        "aggregates_shared" => t.act_aggregates_shared,
        "sharing_withdrawn" => t.act_sharing_withdrawn,
        "audit_exported" => t.act_audit_exported,
        "enrolment_code_created" => t.act_enrolment_code_created,
        "device_revoked" => t.act_device_revoked,
        "device_marked_lost" => t.act_device_marked_lost,
        "device_retired" => t.act_device_retired,
        "member_created" => t.act_member_created,
        "member_removed" => t.act_member_removed,
        "member_role_changed" => t.act_member_role_changed,
        "member_group_changed" => t.act_member_group_changed,
        "member_area_changed" => t.act_member_area_changed,
        "message_sent" => t.act_message_sent,
        "message_ended" => t.act_message_ended,
        "conflict_settled" => t.act_conflict_settled,
        "text_redacted" => t.act_text_redacted,
        "hold_set" => t.act_hold_set,
        "hold_released" => t.act_hold_released,
        "retention_changed" => t.act_retention_changed,
        "audit_retention_changed" => t.act_audit_retention_changed,
        "entries_purged" => t.act_entries_purged,
        "notify_rule_added" => t.act_notify_rule_added,
        "notify_rule_removed" => t.act_notify_rule_removed,
        "webhook_added" => t.act_webhook_added,
        "webhook_removed" => t.act_webhook_removed,
        "notification_resent" => t.act_notification_resent,
        "audit_pruned" => t.act_audit_pruned,
        _ => t.audit_action,
    }
}

/// The filters of the page or the CSV as asked, checked.
#[derive(Debug, Clone, Default)]
struct Asked {
    action: Option<String>,
    member: Option<String>,
    from: Option<Date>,
    to: Option<Date>,
    page: u64,
}

impl Asked {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            action: self.action.clone(),
            member: self.member.clone(),
            from_ms: self.from.map(local_midnight_ms),
            until_ms: self.to.and_then(Date::next_day).map(local_midnight_ms),
        }
    }

    /// The query string of these filters, on `page` (1 is left out).
    fn query(&self, page: u64) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("action", self.action.clone()),
            ("member", self.member.clone()),
            ("from", self.from.map(|d| d.to_string())),
            ("to", self.to.map(|d| d.to_string())),
            ("page", (page > 1).then(|| page.to_string())),
        ] {
            if let Some(value) = value {
                out.append_pair(name, &value);
            }
        }
        out.finish()
    }
}

/// Reads the filters: an unknown action, a member that is not an id or a day that is not one is
/// said to the user; a page that is not a number is the first.
fn asked(q: &Pairs, lang: Lang) -> Result<Asked, String> {
    let t = i18n::texts(lang);
    let action = match q.get("action") {
        None => None,
        Some(code) if ACTION_CODES.contains(&code) => Some(code.to_owned()),
        Some(other) => return Err(format!("{} {}", t.audit_bad_action, quoted(other, 40))),
    };
    let member = match q.get("member") {
        None => None,
        Some(text) => match text.parse::<MemberId>() {
            Ok(id) => Some(id.to_string()),
            Err(_) => return Err(format!("{} {}", t.audit_bad_member, quoted(text, 40))),
        },
    };
    let (from, to) = period_fields(q, lang)?;
    let page = q
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, u64::MAX / PAGE_SIZE);
    Ok(Asked {
        action,
        member,
        from,
        to,
        page,
    })
}

/// Who did it, in words.
fn who(row: &AuditRow, lang: Lang) -> String {
    let t = i18n::texts(lang);
    match (&row.actor_id, row.actor_name.as_str()) {
        (Some(_), name) => name.to_owned(),
        (None, SERVER_ACTOR) => t.audit_server.to_owned(),
        (None, COMMAND_LINE_ACTOR) => t.audit_command_line.to_owned(),
        (None, _) => t.audit_nobody.to_owned(),
    }
}

/// The details of a record: each parameter with its value; entries link to their page, members
/// show their current name.
fn details(row: &AuditRow, names: &BTreeMap<String, String>) -> Markup {
    let parsed: BTreeMap<String, Value> = serde_json::from_str(&row.details).unwrap_or_default();
    let shown = |value: &Value| match value {
        Value::String(s) => s.clone(),
        Value::Null => "–".to_owned(),
        Value::Array(items) if items.is_empty() => "–".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    html! {
        @for (i, (key, value)) in parsed.iter().enumerate() {
            @if i > 0 { " · " }
            span.param {
                span.muted { (key) ": " }
                @match (key.as_str(), value.as_str()) {
                    ("entry", Some(id)) => a href={ "/entries/" (id) } { (id) },
                    ("member", Some(id)) => {
                        (names.get(id).map_or(id, String::as_str))
                    }
                    _ => (shown(value)),
                }
            }
        }
    }
}

fn filter_form(lang: Lang, asked: &Asked, typed: &Pairs, actors: &[(String, String)]) -> Markup {
    let t = i18n::texts(lang);
    let chosen_action = typed.get("action").unwrap_or_default();
    let chosen_member = typed.get("member").unwrap_or_default();
    let from = typed.get("from").unwrap_or_default();
    let to = typed.get("to").unwrap_or_default();
    html! {
        form.filters method="get" action="/audit" {
            label { (t.audit_action)
                select name="action" {
                    option value="" { (t.all) }
                    @for code in ACTION_CODES {
                        option value=(code) selected[*code == chosen_action] { (action_label(code, lang)) }
                    }
                }
            }
            label { (t.audit_member)
                select name="member" {
                    option value="" { (t.all) }
                    @for (id, name) in actors {
                        option value=(id) selected[*id == chosen_member] { (name) }
                    }
                }
            }
            label { (t.period_from) input type="date" name="from" value=(from); }
            label { (t.period_to) input type="date" name="to" value=(to); }
            button type="submit" { (t.filter) }
            a href="/audit" { (t.clear) }
            a id="audit-csv" href={ "/audit.csv?" (asked.query(1)) } { (t.audit_csv) }
        }
    }
}

/// `GET /audit`: the organisation's audit log (admins).
pub async fn page(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let org = signed.user.org_id;
    let actors = app.store.audit_actors(org).await.lang(lang)?;
    let asked = match asked(&q, lang) {
        Ok(asked) => asked,
        Err(message) => {
            let body = html! {
                h1 { (t.audit) }
                p.error role="alert" { strong { (t.bad_request) } ": " (message) }
                (filter_form(lang, &Asked::default(), &q, &actors))
            };
            let page = layout::page(lang, Some(&signed), t.audit, body);
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    let filter = asked.filter();
    let offset = (asked.page - 1).saturating_mul(PAGE_SIZE);
    let AuditPage {
        total,
        rows,
        names,
        kept_days: kept,
    } = app
        .store
        .audit_page(org, filter, offset, PAGE_SIZE)
        .await
        .lang(lang)?;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let body = html! {
        h1 { (t.audit) }
        p.muted { (t.audit_text) " " (t.audit_kept.replace("{}", &kept.to_string())) }
        (filter_form(lang, &asked, &q, &actors))
        p.counts id="audit-count" { (t.audit_count.replace("{}", &total.to_string())) }
        @if rows.is_empty() {
            p.muted { (t.audit_none) }
        } @else {
            table.audit id="audit" {
                thead { tr { th.num { "#" } th { (t.audit_when) } th { (t.audit_who) } th { (t.audit_action) } th { (t.audit_details) } } }
                tbody { @for row in &rows {
                    tr data-action=(row.action) {
                        td.num data-label="#" { (row.chain_seq) }
                        td data-label=(t.audit_when) { (fmt_time(row.at_ms)) }
                        td data-label=(t.audit_who) { (who(row, lang)) }
                        td data-label=(t.audit_action) { (action_label(&row.action, lang)) }
                        td.details data-label=(t.audit_details) { (details(row, &names)) }
                    }
                } }
            }
        }
        @if pages > 1 {
            nav.pages aria-label=(t.audit) {
                @if asked.page > 1 {
                    a rel="prev" href={ "/audit?" (asked.query(asked.page.min(pages) - 1)) } { (t.audit_newer) }
                }
                span { (t.audit_page_of.replacen("{}", &asked.page.to_string(), 1).replacen("{}", &pages.to_string(), 1)) }
                @if asked.page < pages {
                    a rel="next" href={ "/audit?" (asked.query(asked.page + 1)) } { (t.audit_older) }
                }
            }
        }
    };
    Ok(layout::page(lang, Some(&signed), t.audit, body).into_response())
}

/// One CSV field, quoted when needed; a text a spreadsheet would read as a formula gets a
/// leading apostrophe.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The CSV text of `rows`.
pub fn csv_text(rows: &[AuditRow]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for r in rows {
        let at = Timestamp::from_unix_ms(r.at_ms)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let fields = [
            r.chain_seq.to_string(),
            at,
            r.actor_id.map(|a| a.to_string()).unwrap_or_default(),
            r.actor_name.clone(),
            r.action.clone(),
            r.details.clone(),
            r.hash.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// `GET /audit.csv`: every record the filters match, newest first (admins); the download is
/// recorded first.
pub async fn csv(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let asked = asked(&q, lang).map_err(|message| LangError(lang, PageError::Refused(message)))?;
    let filter = asked.filter();
    let org = signed.user.org_id;
    let exported = AuditAction::AuditExported {
        action: asked.action.clone(),
        member: asked.member.clone(),
        from: asked.from.map(|d| d.to_string()),
        to: asked.to.map(|d| d.to_string()),
    };
    let member = Actor::Member(signed.user.member_id);
    app.store
        .record_view(Some(org), member, exported, now_ms())
        .await
        .lang(lang)?;
    let rows = app
        .store
        .audit_list(org, filter, 0, u64::MAX >> 1)
        .await
        .lang(lang)?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"granskningslogg.csv\"".to_owned(),
            ),
        ],
        csv_text(&rows),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_label_of_its_own_in_both_languages() {
        for lang in [Lang::Sv, Lang::En] {
            let labels: std::collections::BTreeSet<&str> =
                ACTION_CODES.iter().map(|c| action_label(c, lang)).collect();
            assert_eq!(labels.len(), ACTION_CODES.len());
            assert!(!labels.contains(i18n::texts(lang).audit_action));
        }
    }

    #[test]
    fn a_csv_field_is_quoted_and_never_read_as_a_formula() {
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(
            csv_field("{\"entry\":\"x\"}"),
            "\"{\"\"entry\"\":\"\"x\"\"}\""
        );
    }
}
