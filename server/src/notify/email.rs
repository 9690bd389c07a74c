//! E-mail notifications over SMTP (lettre): a Swedish subject and body holding only the thin
//! facts — kind, category, severity, area, time — and a link to the entry; never free text or
//! names. The SMTP server, its port, TLS mode (none, STARTTLS or TLS) and credentials come from
//! [`SmtpConfig`].

use super::Claimed;
use crate::config::{SmtpConfig, SmtpTls};
use crate::dashboard::{category_label, fmt_time, kind_label};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use vaka_shared::model::Lang;

/// The SMTP client.
pub type Mailer = AsyncSmtpTransport<Tokio1Executor>;

/// A mailer for `smtp`, each send bounded by `timeout`.
pub fn mailer(smtp: &SmtpConfig, timeout: Duration) -> Result<Mailer, String> {
    let builder = match smtp.tls {
        SmtpTls::None => Mailer::builder_dangerous(&smtp.host),
        SmtpTls::StartTls => Mailer::starttls_relay(&smtp.host).map_err(|e| e.to_string())?,
        SmtpTls::Tls => Mailer::relay(&smtp.host).map_err(|e| e.to_string())?,
    };
    let mut builder = builder.port(smtp.port).timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// The subject line and the body of `claimed`'s e-mail, in Swedish, its entry linked under
/// `public_url`.
pub fn text(claimed: &Claimed, public_url: &str) -> (String, String) {
    let facts = &claimed.facts;
    let lang = Lang::Sv;
    let kind = facts.kind.as_str();
    let kind_name = kind_label(kind, lang);
    let category = facts
        .category
        .as_deref()
        .map(|c| category_label(kind, c, lang));
    let area = facts.area.as_deref().unwrap_or("inget område");
    let what = category.clone().unwrap_or_else(|| kind_name.to_owned());
    let subject = match facts.wait_minutes {
        Some(minutes) => {
            format!("Vaka: polisen har inte kommit efter {minutes} min – {what}, {area}")
        }
        None => match facts.severity {
            Some(s) => format!("Vaka: {what}, allvarlighet {s} – {area}"),
            None => format!("Vaka: {what} – {area}"),
        },
    };
    let mut body = String::new();
    let mut line = |label: &str, value: &str| {
        body.push_str(label);
        body.push_str(": ");
        body.push_str(value);
        body.push('\n');
    };
    line("Regel", &facts.rule);
    line("Typ", kind_name);
    if let Some(category) = &category {
        line("Kategori", category);
    }
    if let Some(s) = facts.severity {
        line("Allvarlighet", &format!("{s} av 4"));
    }
    line("Område", area);
    if let Some(at) = facts.occurred_at_ms {
        line("Tid", &fmt_time(at));
    }
    if let Some(at) = facts.police_contacted_ms {
        line("Polisen kontaktad", &fmt_time(at));
    }
    if let Some(minutes) = facts.wait_minutes {
        line(
            "Polisen inte på plats",
            &format!("{minutes} minuter efter kontakten"),
        );
    }
    line(
        "Öppna i Vaka",
        &format!("{public_url}/entries/{}", claimed.entry),
    );
    body.push_str(
        "\nMeddelandet innehåller ingen fritext och inga namn. Logga in i Vaka för att läsa \
         händelsen.\n",
    );
    (subject, body)
}

/// Why an e-mail was not accepted.
#[derive(Debug)]
pub enum Refusal {
    /// Try again later (the server could not be reached, or answered a temporary error).
    Transient(String),
    /// Do not try again (a permanent SMTP error, or an address or sender that is not one).
    Permanent(String),
}

/// Sends `claimed`'s e-mail to `to` from `smtp.from` through `mailer`.
pub async fn send(
    mailer: &Mailer,
    smtp: &SmtpConfig,
    to: &str,
    claimed: &Claimed,
    public_url: &str,
) -> Result<(), Refusal> {
    let to: Mailbox = to
        .parse()
        .map_err(|_| Refusal::Permanent("not an e-mail address".into()))?;
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|_| Refusal::Permanent("the sender address is not one".into()))?;
    let (subject, body) = text(claimed, public_url);
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| Refusal::Permanent(e.to_string()))?;
    match mailer.send(message).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(Refusal::Permanent(format!("SMTP: {e}"))),
        Err(e) => Err(Refusal::Transient(format!("SMTP: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{Facts, NotificationId, Target};
    use vaka_shared::EntityId;
    use vaka_shared::op::EntityKind;

    fn claimed(wait_minutes: Option<u32>) -> Claimed {
        Claimed {
            id: crate::notify::DeliveryId::new(),
            notification: NotificationId::new(),
            entry: EntityId::new(),
            event: "entry.matched".into(),
            facts: Facts {
                rule: "Akuta händelser".into(),
                kind: EntityKind::Incident,
                category: Some("violence_threat".into()),
                severity: Some(4),
                area: Some("Centrum".into()),
                occurred_at_ms: Some(1_796_000_000_000),
                police_contacted_ms: wait_minutes.map(|_| 1_796_000_060_000),
                wait_minutes,
            },
            created_at_ms: 1_796_000_100_000,
            target: Target::Email("desk@example.se".into()),
            tries: 0,
            attempts: 0,
            lease_token: "t".into(),
        }
    }

    #[test]
    fn the_mail_is_swedish_and_holds_the_facts_and_a_link_only() {
        let c = claimed(None);
        let (subject, body) = text(&c, "https://vaka.example.se");
        assert!(subject.contains("allvarlighet 4"), "{subject}");
        assert!(subject.contains("Centrum"), "{subject}");
        assert!(body.contains("Allvarlighet: 4 av 4"), "{body}");
        assert!(
            body.contains(&format!("https://vaka.example.se/entries/{}", c.entry)),
            "{body}"
        );
        let (subject, body) = text(&claimed(Some(30)), "https://vaka.example.se");
        assert!(
            subject.contains("polisen har inte kommit efter 30 min"),
            "{subject}"
        );
        assert!(body.contains("Polisen kontaktad"), "{body}");
    }
}
