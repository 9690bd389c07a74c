//! The page shell every dashboard page shares: header with navigation, language switch and
//! sign-out, and the stylesheet.

use super::auth::{CSRF_FIELD, Signed};
use super::i18n;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};
use vaka_shared::model::Lang;

/// A whole page.
pub fn page(lang: Lang, signed: Option<&Signed>, title: &str, body: Markup) -> Markup {
    let t = i18n::texts(lang);
    html! {
        (DOCTYPE)
        html lang=(t.lang_code) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t.app_name) }
                link rel="stylesheet" href="/dashboard.css";
            }
            body {
                header.top {
                    a.brand href="/start" { (t.app_name) }
                    @if let Some(s) = signed {
                        nav {
                            @if s.user.role == vaka_shared::model::Role::Liaison {
                                a href="/report" { (t.report) }
                            } @else {
                            a href="/inbox" { (t.inbox) }
                            a href="/report" { (t.report) }
                            a href="/people" { (t.people) }
                            a href="/areas" { (t.areas) }
                            a href="/messages" { (t.messages) }
                            }
                            @if s.user.role == vaka_shared::model::Role::Admin { a href="/settings" { (t.settings) } }
                            @if s.user.role == vaka_shared::model::Role::Admin { a href="/notifications" { (t.notifications) } }
                            @if s.user.role == vaka_shared::model::Role::Admin { a href="/audit" { (t.audit) } }
                        }
                        span.who { (s.user.name) " · " (s.user.org_name) }
                    } @else {
                        span.who { (t.tagline) }
                    }
                    a.lang href={ "/lang?to=" (t.other_lang_code) } data-lang-switch { (t.other_lang) }
                    @if let Some(s) = signed {
                        form.inline method="post" action="/logout" {
                            input type="hidden" name=(CSRF_FIELD) value=(s.user.csrf);
                            button.link type="submit" { (t.sign_out) }
                        }
                    }
                }
                main { (body) }
                script {
                    (maud::PreEscaped("for (const a of document.querySelectorAll('[data-lang-switch]')) a.href += '&back=' + encodeURIComponent(location.pathname + location.search);"))
                }
            }
        }
    }
}

const CSS: &str = r#"
:root { --ink:#1b2430; --muted:#5b6776; --line:#d8dee6; --accent:#1f4e8c; --bg:#f6f8fa; --warn:#b3261e; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header.top { display:flex; gap:1.2rem; align-items:center; padding:.6rem 1.2rem; background:#14263f; color:#fff; flex-wrap:wrap; }
header.top a { color:#fff; text-decoration:none; }
header.top nav { display:flex; gap:1rem; }
header.top nav a:hover { text-decoration:underline; }
.brand { font-weight:700; font-size:1.2rem; letter-spacing:.05em; }
.who { margin-left:auto; opacity:.85; }
button.link { background:none; border:0; color:#fff; cursor:pointer; font:inherit; text-decoration:underline; }
form.inline { display:inline; margin:0; }
main { padding:1rem 1.2rem 3rem; max-width:1200px; margin:0 auto; }
h1 { font-size:1.5rem; margin:.4rem 0 1rem; } h2 { font-size:1.15rem; margin:1.6rem 0 .6rem; }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:.35rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-weight:600; background:#eef2f6; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.filters { display:flex; flex-wrap:wrap; gap:.6rem; align-items:flex-end; background:#fff; padding:.8rem; border:1px solid var(--line); border-radius:6px; }
.filters label { display:flex; flex-direction:column; font-size:.85rem; color:var(--muted); }
fieldset { border:1px solid var(--line); border-radius:4px; } fieldset label, .filters fieldset label { display:inline-flex; flex-direction:row; gap:.3rem; margin-right:.8rem; color:var(--ink); font-size:.9rem; }
input, select, textarea { font:inherit; padding:.3rem .4rem; border:1px solid #b9c3cf; border-radius:4px; background:#fff; }
button { font:inherit; padding:.35rem .9rem; border-radius:4px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:var(--accent); }
.counts { margin:.8rem 0; color:var(--muted); } .counts a { margin-right:.8rem; }
.badge { display:inline-block; padding:0 .45rem; border-radius:9px; font-size:.8rem; background:#e6ebf1; }
.badge.pii, .badge.lost { background:#fde7c8; color:#6b3a00; }
.pii-warning { background:#fff4e0; border:1px solid #e0a040; border-radius:6px; padding:.6rem .8rem; margin:.6rem 0; }
label.confirm { display:block; margin:.4rem 0; font-weight:normal; }
details.device-actions form, details.member-actions form { margin:.4rem 0 .8rem; }
ul.redactions { padding-left:1.2rem; }
#redact textarea, #hold input[type=text], #comments textarea, select#duplicate_of { width:100%; box-sizing:border-box; }
section.aggregate { overflow-x:auto; }
section.aggregate table { width:100%; font-size:.92rem; }
section.aggregate td.num { text-align:right; white-space:nowrap; }
.grid-map svg { max-width:100%; height:auto; }
@media (max-width: 600px) {
  section.aggregate { padding-left:.5rem; padding-right:.5rem; }
  section.aggregate table { font-size:.78rem; }
  section.aggregate th, section.aggregate td { padding:.25rem .3rem; }
}
.status-new { background:#fde7c2; } .status-needs_info { background:#f9d2cf; } .status-forwarded { background:#d5e7fb; } .status-closed, .status-reviewed { background:#dcefdc; } .status-duplicate { background:#e4e4e4; }
.sev { font-weight:700; } .sev-3, .sev-4 { color:var(--warn); }
.muted { color:var(--muted); } .error { color:var(--warn); font-weight:600; } .ok { color:#1d6b2a; font-weight:600; }
.grid { display:grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap:1rem; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:.8rem 1rem; }
dl.fields { display:grid; grid-template-columns: max-content 1fr; gap:.2rem 1rem; margin:0; } dl.fields dt { color:var(--muted); }
.conflict { display:grid; grid-template-columns:1fr 1fr; gap:.8rem; }
.conflict > div { border:1px solid var(--line); border-radius:6px; padding:.6rem; background:#fffdf6; }
.comment { border-left:3px solid var(--accent); padding:.3rem .7rem; margin:.5rem 0; background:#fff; }
label.stack { display:flex; flex-direction:column; gap:.2rem; margin:.5rem 0; }
section.login { max-width:360px; margin:3rem auto; background:#fff; padding:1.5rem; border:1px solid var(--line); border-radius:8px; }
section.login label { display:flex; flex-direction:column; margin:.6rem 0; }
.kpis { display:grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap:.8rem; }
.kpi { background:#fff; border:1px solid var(--line); border-radius:6px; padding:.7rem; }
.kpi b { display:block; font-size:1.6rem; }
.worse { color:var(--warn); font-weight:600; } .better { color:#1d6b2a; font-weight:600; }
.note { background:#fff4e0; border:1px solid #e0a040; border-radius:6px; padding:.5rem .8rem; }
svg { max-width:100%; height:auto; background:#fff; }
.qr svg { width:240px; height:240px; } img.photo { border-radius:4px; margin:.2rem; }
code.code { font-size:1.8rem; letter-spacing:.1em; }
table.audit td.details { overflow-wrap:anywhere; } .pages { display:flex; gap:1rem; align-items:center; margin:.8rem 0; }
@media (max-width: 640px) {
  table.audit thead { display:none; }
  table.audit, table.audit tbody, table.audit tr, table.audit td { display:block; width:100%; }
  table.audit tr { border:1px solid var(--line); border-radius:6px; margin:.5rem 0; padding:.3rem .5rem; }
  table.audit td { border:0; padding:.15rem 0; text-align:left; }
  table.audit td::before { content:attr(data-label) ": "; color:var(--muted); font-size:.85rem; }
}
td.when, .when { white-space:nowrap; }
th a.sort { color:inherit; text-decoration:none; } th a.sort:hover { text-decoration:underline; }
details.filter-box > summary { cursor:pointer; font-weight:600; margin:.4rem 0; }
.scroll { overflow-x:auto; max-width:100%; }
.field-error { color:var(--warn); font-weight:600; margin:.2rem 0; }
.form-grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(210px, 1fr)); gap:.2rem 1rem; }
.form-grid input, .form-grid select { width:100%; }
section.card { margin:1rem 0; }
[aria-invalid="true"] { border-color:var(--warn); outline:1px solid var(--warn); }
@media (max-width: 720px) {
  body { font-size:16px; }
  header.top { gap:.4rem .9rem; padding:.5rem .8rem; }
  header.top nav { flex-wrap:wrap; gap:.2rem .8rem; width:100%; order:3; }
  .who { display:none; }
  main { padding:.6rem .7rem 2rem; }
  .filters { display:grid; grid-template-columns:1fr 1fr; }
  .filters label, .filters select, .filters input { min-width:0; width:100%; }
  .filters fieldset { grid-column:1 / -1; }
  .filters fieldset label { display:inline-flex; width:auto; }
  .filters fieldset label input { width:auto; }
  .grid { grid-template-columns:1fr; }
  .conflict { grid-template-columns:1fr; }
  dl.fields { grid-template-columns:1fr; } dl.fields dd { margin:0 0 .4rem; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display:block; width:100%; }
  table.stack thead { display:none; }
  table.stack tr { background:#fff; border:1px solid var(--line); border-radius:6px; margin:.5rem 0; padding:.3rem .6rem; }
  table.stack td { border:0; padding:.12rem 0; } table.stack td:empty { display:none; }
  table.stack td[data-label]::before { content:attr(data-label) ": "; color:var(--muted); font-size:.85rem; }
  main table:not(.stack) { display:block; overflow-x:auto; max-width:100%; }
  input, select, textarea { max-width:100%; }
  td, dd, p, li { overflow-wrap:anywhere; }
  .qr svg { width:200px; height:200px; }
  code.code { font-size:1.4rem; }
  figure { margin:0; }
}
@media print { header.top, form, .no-print { display:none; } }
"#;

/// `GET /dashboard.css`.
pub async fn stylesheet() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}
