//! Notifications on the dashboard (admins only; 404 to others): the rules that say which
//! entries notify whom, the webhook endpoints (the signing secret shown once, when one is
//! added), and the delivery log with every attempt and a button to send a failed one again.

use super::auth::{CSRF_FIELD, Signed};
use super::privacy::confirm_box;
use super::{
    LangError, PageError, PageResult, Pairs, PathText, WithLang, category_label, fmt_time, i18n,
    kind_label, layout,
};
use crate::notify::rules::{MAX_NAME_CHARS, MAX_NO_SHOW_MINUTES, MAX_TARGETS, RuleSpec, Trigger};
use crate::notify::{Channel, DeliveryId, RuleId, WebhookId, webhook};
use crate::store::choices::Choices;
use crate::store::notify::{DeliveryRow, RuleRow, WebhookRow};
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::BTreeMap;
use vaka_shared::AreaId;
use vaka_shared::model::{DEFAULT_CATEGORIES, Lang, ObservationCategory, Role};
use vaka_shared::op::EntityKind;

fn admin_only(signed: &Signed) -> Result<(), LangError> {
    if signed.user.role == Role::Admin {
        Ok(())
    } else {
        Err(LangError(signed.lang, PageError::NotFound))
    }
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

/// The kinds a rule may name.
const KINDS: [EntityKind; 3] = [
    EntityKind::Incident,
    EntityKind::Observation,
    EntityKind::Patrol,
];

/// The rule form as typed, with a message beside each field that was refused.
#[derive(Debug, Clone, Default)]
struct RuleForm {
    pairs: Pairs,
    errors: BTreeMap<&'static str, String>,
}

impl RuleForm {
    fn checked(&self, name: &str, value: &str) -> bool {
        self.pairs.all(name).iter().any(|v| v == value)
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

/// Reads a rule from the form, or says what is wrong beside each field. `choices` and
/// `webhooks` are the organisation's: an area, group or endpoint not among them is refused.
fn read_rule(
    form: &Pairs,
    choices: &Choices,
    webhooks: &[WebhookRow],
    lang: Lang,
) -> Result<RuleSpec, BTreeMap<&'static str, String>> {
    let t = i18n::texts(lang);
    let mut errors = BTreeMap::new();
    let name = form.get("name").unwrap_or_default().to_owned();
    if name.is_empty() {
        errors.insert("name", t.notify_name_needed.to_owned());
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.insert(
            "name",
            t.notify_name_long
                .replace("{}", &MAX_NAME_CHARS.to_string()),
        );
    }
    let trigger = match form.get("trigger") {
        Some("police_no_show") => match form.get("minutes").and_then(|m| m.parse::<u32>().ok()) {
            Some(minutes) if (1..=MAX_NO_SHOW_MINUTES).contains(&minutes) => {
                Trigger::PoliceNoShow { minutes }
            }
            _ => {
                errors.insert(
                    "minutes",
                    t.notify_minutes_range
                        .replace("{}", &MAX_NO_SHOW_MINUTES.to_string()),
                );
                Trigger::PoliceNoShow { minutes: 0 }
            }
        },
        _ => Trigger::Entry,
    };
    let kinds: Vec<EntityKind> = form
        .all("kind")
        .iter()
        .filter_map(|k| EntityKind::from_wire(k))
        .filter(|k| KINDS.contains(k))
        .collect();
    let severities: Vec<u8> = form
        .all("severity")
        .iter()
        .filter_map(|s| s.parse::<u8>().ok())
        .filter(|s| (1..=4).contains(s))
        .collect();
    let known_categories: Vec<&str> = DEFAULT_CATEGORIES
        .iter()
        .map(|c| c.code)
        .chain(ObservationCategory::ALL.iter().map(|c| c.as_str()))
        .collect();
    let categories: Vec<String> = form
        .all("category")
        .into_iter()
        .filter(|c| known_categories.contains(&c.as_str()))
        .collect();
    let areas: Vec<AreaId> = form
        .all("area")
        .iter()
        .filter(|a| choices.areas.iter().any(|(id, _)| id == *a))
        .filter_map(|a| a.parse().ok())
        .collect();
    let groups: Vec<String> = form
        .all("group")
        .into_iter()
        .filter(|g| choices.groups.contains(g))
        .collect();
    let mut emails = Vec::new();
    for line in form
        .get("emails")
        .unwrap_or_default()
        .split(['\n', ',', ';'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if line.parse::<lettre::Address>().is_err() {
            errors.insert(
                "emails",
                format!("{} {}", t.notify_bad_email, super::quoted(line, 60)),
            );
            break;
        }
        if !emails.iter().any(|e| e == line) {
            emails.push(line.to_owned());
        }
    }
    let hooks: Vec<WebhookId> = form
        .all("webhook")
        .iter()
        .filter(|w| webhooks.iter().any(|h| h.id.to_string() == **w))
        .filter_map(|w| w.parse().ok())
        .collect();
    if emails.len() > MAX_TARGETS || hooks.len() > MAX_TARGETS {
        errors.insert(
            "emails",
            t.notify_too_many.replace("{}", &MAX_TARGETS.to_string()),
        );
    }
    if emails.is_empty() && hooks.is_empty() && !errors.contains_key("emails") {
        errors.insert("emails", t.notify_target_needed.to_owned());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RuleSpec {
        name,
        trigger,
        kinds,
        severities,
        categories,
        areas,
        groups,
        emails,
        webhooks: hooks,
    })
}

/// What the page shows besides the settings: a refused form, a new endpoint's secret, a note.
#[derive(Debug, Default)]
struct Shown {
    rule_form: RuleForm,
    webhook_typed: String,
    webhook_error: Option<String>,
    new_secret: Option<(String, String)>,
    note: Option<&'static str>,
}

async fn render(app: &AppState, signed: &Signed, shown: Shown, status: StatusCode) -> PageResult {
    let lang = signed.lang;
    let org = signed.user.org_id;
    let (rules, webhooks) = app.store.notify_settings(org).await.lang(lang)?;
    let choices = app.store.choices(org).await.lang(lang)?;
    let smtp = app.config.notify.smtp.is_some();
    let body = page_body(signed, &rules, &webhooks, &choices, smtp, &shown);
    let t = i18n::texts(lang);
    Ok((
        status,
        layout::page(lang, Some(signed), t.notifications, body),
    )
        .into_response())
}

/// `GET /notifications`.
pub async fn page(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    admin_only(&signed)?;
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let t = i18n::texts(signed.lang);
    let note = match q.get("done") {
        Some("rule_added") => Some(t.notify_rule_added),
        Some("rule_removed") => Some(t.notify_rule_removed),
        Some("webhook_removed") => Some(t.notify_webhook_removed),
        _ => None,
    };
    let shown = Shown {
        note,
        ..Shown::default()
    };
    render(&app, &signed, shown, StatusCode::OK).await
}

/// `POST /notifications/rules`: adds a rule, or shows the form again with the reasons.
pub async fn add_rule(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let org = signed.user.org_id;
    let (_, webhooks) = app.store.notify_settings(org).await.lang(lang)?;
    let choices = app.store.choices(org).await.lang(lang)?;
    match read_rule(&form, &choices, &webhooks, lang) {
        Ok(spec) => {
            let id = app
                .store
                .add_notify_rule_by(org, signed.user.member_id, spec, now_ms())
                .await
                .lang(lang)?;
            tracing::info!(org = %org, rule = %id, "notification rule added");
            Ok(see_other("/notifications?done=rule_added#rules"))
        }
        Err(errors) => {
            let shown = Shown {
                rule_form: RuleForm {
                    pairs: form,
                    errors,
                },
                ..Shown::default()
            };
            render(&app, &signed, shown, StatusCode::BAD_REQUEST).await
        }
    }
}

/// `POST /notifications/rules/{id}/remove`.
pub async fn remove_rule(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    signed.check_csrf(&Pairs::parse(&body))?;
    let id: RuleId = id
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    let org = signed.user.org_id;
    if !app
        .store
        .remove_notify_rule_by(org, signed.user.member_id, id, now_ms())
        .await
        .lang(lang)?
    {
        return Err(LangError(lang, PageError::NotFound));
    }
    Ok(see_other("/notifications?done=rule_removed#rules"))
}

/// `POST /notifications/webhooks`: adds an endpoint and shows its secret, once.
pub async fn add_webhook(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let typed = form.get("url").unwrap_or_default().to_owned();
    let allow_private = app.config.notify.allow_private_targets;
    let checked = if typed.chars().count() > 2000 {
        Err(t.notify_url_bad.to_owned())
    } else {
        webhook::check_url(&typed, allow_private).map_err(|e| match e {
            webhook::AddressRefused::NotHttp => t.notify_url_bad.to_owned(),
            webhook::AddressRefused::Private(ip) => {
                t.notify_url_private.replace("{}", &ip.to_string())
            }
        })
    };
    let url = match checked {
        Ok(url) => url,
        Err(message) => {
            let shown = Shown {
                webhook_typed: typed,
                webhook_error: Some(message),
                ..Shown::default()
            };
            return render(&app, &signed, shown, StatusCode::BAD_REQUEST).await;
        }
    };
    let secret = webhook::new_secret();
    let org = signed.user.org_id;
    let id = app
        .store
        .add_webhook_by(
            org,
            signed.user.member_id,
            url.to_string(),
            secret.clone(),
            now_ms(),
        )
        .await
        .lang(lang)?;
    tracing::info!(org = %org, webhook = %id, "webhook endpoint added");
    let shown = Shown {
        new_secret: Some((url.to_string(), secret)),
        ..Shown::default()
    };
    render(&app, &signed, shown, StatusCode::OK).await
}

/// `POST /notifications/webhooks/{id}/remove`.
pub async fn remove_webhook(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    signed.check_csrf(&Pairs::parse(&body))?;
    let id: WebhookId = id
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    if !app
        .store
        .remove_webhook_by(signed.user.org_id, signed.user.member_id, id, now_ms())
        .await
        .lang(lang)?
    {
        return Err(LangError(lang, PageError::NotFound));
    }
    Ok(see_other("/notifications?done=webhook_removed#webhooks"))
}

/// `GET /notifications/log`: every delivery with its attempts, newest first.
pub async fn log(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let rows = app
        .store
        .delivery_log(signed.user.org_id)
        .await
        .lang(lang)?;
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let body = log_body(&signed, &rows, q.get("resent").is_some());
    Ok(layout::page(lang, Some(&signed), t.notify_log, body).into_response())
}

/// `POST /notifications/deliveries/{id}/resend`.
pub async fn resend(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    signed.check_csrf(&Pairs::parse(&body))?;
    let id: DeliveryId = id
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    if !app
        .store
        .resend_delivery_by(signed.user.org_id, signed.user.member_id, id, now_ms())
        .await
        .lang(lang)?
    {
        return Err(LangError(lang, PageError::NotFound));
    }
    Ok(see_other("/notifications/log?resent=1"))
}

fn trigger_words(trigger: Trigger, lang: Lang) -> String {
    let t = i18n::texts(lang);
    match trigger {
        Trigger::Entry => t.notify_on_entry.to_owned(),
        Trigger::PoliceNoShow { minutes } => {
            t.notify_on_no_show.replace("{}", &minutes.to_string())
        }
    }
}

/// A rule's filters in words: "Händelse · allvarlighet 3, 4 · Centrum".
fn filter_words(spec: &RuleSpec, choices: &Choices, lang: Lang) -> String {
    let t = i18n::texts(lang);
    let mut parts: Vec<String> = Vec::new();
    if !spec.kinds.is_empty() {
        parts.push(
            spec.kinds
                .iter()
                .map(|k| kind_label(k.as_str(), lang))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if !spec.severities.is_empty() {
        let list: Vec<String> = spec.severities.iter().map(u8::to_string).collect();
        parts.push(format!("{} {}", t.severity.to_lowercase(), list.join(", ")));
    }
    if !spec.categories.is_empty() {
        parts.push(
            spec.categories
                .iter()
                .map(|c| category_label(category_kind(c), c, lang))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if !spec.areas.is_empty() {
        parts.push(
            spec.areas
                .iter()
                .map(|a| {
                    let id = a.to_string();
                    choices
                        .areas
                        .iter()
                        .find(|(i, _)| *i == id)
                        .map(|(_, n)| n.clone())
                        .unwrap_or_else(|| t.notify_area_gone.to_owned())
                })
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if !spec.groups.is_empty() {
        parts.push(spec.groups.join(", "));
    }
    if parts.is_empty() {
        t.notify_every_entry.to_owned()
    } else {
        parts.join(" · ")
    }
}

/// The kind whose labels a category code is read with.
fn category_kind(code: &str) -> &'static str {
    if ObservationCategory::ALL.iter().any(|c| c.as_str() == code)
        && !DEFAULT_CATEGORIES.iter().any(|c| c.code == code)
    {
        "observation"
    } else {
        "incident"
    }
}

fn page_body(
    signed: &Signed,
    rules: &[RuleRow],
    webhooks: &[WebhookRow],
    choices: &Choices,
    smtp: bool,
    shown: &Shown,
) -> Markup {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let f = &shown.rule_form;
    let typed_trigger = f.pairs.get("trigger").unwrap_or("entry");
    html! {
        h1 { (t.notifications) }
        @if let Some(note) = shown.note { p.ok role="status" { (note) } }
        p.muted { (t.notify_intro) " " a href="/notifications/log" { (t.notify_log) } }
        @if !smtp { p.muted { (t.notify_no_smtp) } }
        section.card id="rules" {
            h2 { (t.notify_rules) }
            @if rules.is_empty() { p.muted { (t.notify_no_rules) } }
            @for rule in rules {
                div.rule {
                    h3 { (rule.spec.name) }
                    p { (trigger_words(rule.spec.trigger, lang)) " – " (filter_words(&rule.spec, choices, lang)) }
                    p.muted {
                        (t.notify_sends_to) " "
                        @for (i, e) in rule.spec.emails.iter().enumerate() {
                            @if i > 0 { ", " } (e)
                        }
                        @for w in &rule.spec.webhooks {
                            @if let Some(h) = webhooks.iter().find(|h| h.id == *w) {
                                @if !rule.spec.emails.is_empty() || rule.spec.webhooks.first() != Some(w) { ", " }
                                "webhook " (h.url)
                            }
                        }
                    }
                    form method="post" action={ "/notifications/rules/" (rule.id) "/remove" } {
                        input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                        button.secondary type="submit" { (t.notify_remove_rule) }
                    }
                }
            }
        }
        section.card id="new-rule" {
            h2 { (t.notify_new_rule) }
            form method="post" action="/notifications/rules" {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                label for="rule_name" { (t.notify_rule_name) }
                input id="rule_name" name="name" type="text" maxlength=(MAX_NAME_CHARS)
                    value=(f.pairs.get("name").unwrap_or_default())
                    aria-invalid=[f.error("name").map(|_| "true")] aria-describedby="rule_name_error";
                @if let Some(e) = f.error("name") { p.error id="rule_name_error" role="alert" { (e) } }
                fieldset {
                    legend { (t.notify_when) }
                    label { input type="radio" name="trigger" value="entry" checked[typed_trigger != "police_no_show"]; " " (t.notify_on_entry) }
                    label {
                        input type="radio" name="trigger" value="police_no_show" checked[typed_trigger == "police_no_show"];
                        " " (t.notify_on_no_show_label)
                    }
                    label for="rule_minutes" { (t.notify_minutes) }
                    input id="rule_minutes" name="minutes" type="number" inputmode="numeric" min="1"
                        max=(MAX_NO_SHOW_MINUTES) value=(f.pairs.get("minutes").unwrap_or("30"))
                        aria-invalid=[f.error("minutes").map(|_| "true")] aria-describedby="rule_minutes_error";
                    @if let Some(e) = f.error("minutes") { p.error id="rule_minutes_error" role="alert" { (e) } }
                }
                p.muted { (t.notify_filters_hint) }
                fieldset {
                    legend { (t.kind) }
                    @for k in KINDS {
                        label { input type="checkbox" name="kind" value=(k.as_str()) checked[f.checked("kind", k.as_str())]; " " (kind_label(k.as_str(), lang)) }
                    }
                }
                fieldset {
                    legend { (t.severity) }
                    @for s in 1..=4u8 {
                        label { input type="checkbox" name="severity" value=(s) checked[f.checked("severity", &s.to_string())]; " " (s) }
                    }
                }
                details {
                    summary { (t.category) }
                    @for c in DEFAULT_CATEGORIES {
                        label { input type="checkbox" name="category" value=(c.code) checked[f.checked("category", c.code)]; " " (c.label(lang)) }
                    }
                    @for c in ObservationCategory::ALL {
                        @if !DEFAULT_CATEGORIES.iter().any(|d| d.code == c.as_str()) {
                            label { input type="checkbox" name="category" value=(c.as_str()) checked[f.checked("category", c.as_str())]; " " (c.label(lang)) }
                        }
                    }
                }
                @if !choices.areas.is_empty() {
                    fieldset {
                        legend { (t.area) }
                        @for (id, name) in &choices.areas {
                            label { input type="checkbox" name="area" value=(id) checked[f.checked("area", id)]; " " (name) }
                        }
                    }
                }
                @if !choices.groups.is_empty() {
                    fieldset {
                        legend { (t.group) }
                        @for g in &choices.groups {
                            label { input type="checkbox" name="group" value=(g) checked[f.checked("group", g)]; " " (g) }
                        }
                    }
                }
                label for="rule_emails" { (t.notify_emails) }
                textarea id="rule_emails" name="emails" rows="3"
                    aria-invalid=[f.error("emails").map(|_| "true")] aria-describedby="rule_emails_error" {
                    (f.pairs.get("emails").unwrap_or_default())
                }
                @if let Some(e) = f.error("emails") { p.error id="rule_emails_error" role="alert" { (e) } }
                @let live: Vec<&WebhookRow> = webhooks.iter().filter(|w| w.disabled.is_none()).collect();
                @if !live.is_empty() {
                    fieldset {
                        legend { (t.notify_webhooks) }
                        @for w in live {
                            label { input type="checkbox" name="webhook" value=(w.id) checked[f.checked("webhook", &w.id.to_string())]; " " (w.url) }
                        }
                    }
                }
                button type="submit" { (t.notify_add_rule) }
            }
        }
        section.card id="webhooks" {
            h2 { (t.notify_webhooks) }
            p.muted { (t.notify_webhooks_text) }
            @if let Some((url, secret)) = &shown.new_secret {
                div.ok role="status" {
                    p { (t.notify_webhook_added) " " (url) }
                    p { (t.notify_secret_once) }
                    p { code id="webhook_secret" { (secret) } }
                }
            }
            @for w in webhooks {
                div.rule {
                    p {
                        (w.url) " "
                        @match &w.disabled {
                            Some((at, why)) => span.badge { (t.notify_disabled) " " (fmt_time(*at)) " (" (why) ")" },
                            None => span.badge { (t.notify_active) },
                        }
                    }
                    form method="post" action={ "/notifications/webhooks/" (w.id) "/remove" } {
                        input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                        (confirm_box(lang))
                        button.secondary type="submit" { (t.notify_remove_webhook) }
                    }
                }
            }
            form method="post" action="/notifications/webhooks" {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                label for="webhook_url" { (t.notify_webhook_url) }
                input id="webhook_url" name="url" type="url" value=(shown.webhook_typed)
                    placeholder="https://"
                    aria-invalid=[shown.webhook_error.as_ref().map(|_| "true")] aria-describedby="webhook_url_error";
                @if let Some(e) = &shown.webhook_error { p.error id="webhook_url_error" role="alert" { (e) } }
                button type="submit" { (t.notify_add_webhook) }
            }
        }
    }
}

fn status_label(status: &str, lang: Lang) -> &'static str {
    let t = i18n::texts(lang);
    match status {
        "delivered" => t.notify_status_delivered,
        "failed" => t.notify_status_failed,
        "disabled" => t.notify_status_disabled,
        "retry" => t.notify_status_retry,
        _ => t.notify_status_pending,
    }
}

/// An attempt's logged detail, in words where it is one of the server's own.
fn detail_words(detail: &str, lang: Lang) -> String {
    let t = i18n::texts(lang);
    match detail {
        crate::notify::worker::NO_SMTP => t.notify_detail_no_smtp.to_owned(),
        "timeout" => t.notify_detail_timeout.to_owned(),
        "SMTP: accepted" => t.notify_detail_smtp_ok.to_owned(),
        other => other.to_owned(),
    }
}

fn log_body(signed: &Signed, rows: &[DeliveryRow], resent: bool) -> Markup {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    html! {
        h1 { (t.notify_log) }
        p { a href="/notifications" { (t.notifications) } }
        @if resent { p.ok role="status" { (t.notify_resent) } }
        @if rows.is_empty() { p.muted { (t.notify_log_empty) } }
        @if !rows.is_empty() {
            table.stack {
                thead { tr {
                    th { (t.notify_made) } th { (t.notify_rule) } th { (t.entry) }
                    th { (t.notify_target) } th { (t.status) } th { (t.notify_attempts) } th {}
                } }
                tbody {
                    @for row in rows {
                        tr data-delivery=(row.id) {
                            td data-label=(t.notify_made) { (fmt_time(row.created_at_ms)) }
                            td data-label=(t.notify_rule) {
                                (row.facts.rule)
                                @if row.event == "police.no_show" { br; span.muted { (t.notify_police_event) } }
                            }
                            td data-label=(t.entry) {
                                a href={ "/entries/" (row.entry) } {
                                    (kind_label(row.facts.kind.as_str(), lang))
                                    @if let Some(c) = &row.facts.category { ", " (category_label(row.facts.kind.as_str(), c, lang)) }
                                    @if let Some(s) = row.facts.severity { ", " (t.severity.to_lowercase()) " " (s) }
                                }
                            }
                            td data-label=(t.notify_target) {
                                @match row.channel { Channel::Email => (t.notify_email), Channel::Webhook => "Webhook" }
                                ": " (row.target)
                            }
                            td data-label=(t.status) {
                                span.badge data-status=(row.status) { (status_label(&row.status, lang)) }
                                @if row.status == "pending" && !row.attempts.is_empty() {
                                    br; span.muted { (t.notify_next) " " (fmt_time(row.next_attempt_ms)) }
                                }
                            }
                            td data-label=(t.notify_attempts) {
                                @if row.attempts.is_empty() { span.muted { "–" } }
                                ol.attempts {
                                    @for a in &row.attempts {
                                        li { (fmt_time(a.at_ms)) " · " (status_label(&a.outcome, lang)) " · " (detail_words(&a.detail, lang)) }
                                    }
                                }
                            }
                            td {
                                @if row.status == "failed" || row.status == "disabled" {
                                    form method="post" action={ "/notifications/deliveries/" (row.id) "/resend" } {
                                        input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                                        button.secondary type="submit" { (t.notify_send_again) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
