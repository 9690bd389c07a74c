//! Webhooks as the Standard Webhooks specification defines them: a thin JSON payload
//! (`type`, `timestamp`, `data`) posted with `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` (HMAC-SHA256 over `id.timestamp.body` with the endpoint's `whsec_`
//! secret, signed by the specification's own crate). No redirect is followed, no proxy is used,
//! and an address that is private, loopback, link-local or otherwise not on the public internet
//! is refused — both a literal one and every address a name resolves to, at the moment of
//! connecting — unless the operator allows them (`NotifyConfig::allow_private_targets`).

use super::{Claimed, Facts};
use base64::Engine;
use rand::RngCore;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use vaka_shared::Timestamp;

/// A new endpoint secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// Whether `ip` is an address on the public internet: not private, loopback, link-local,
/// shared (carrier-grade NAT), documentation, benchmarking, multicast, broadcast, reserved or
/// unspecified, in IPv4 or IPv6 (an IPv4-mapped IPv6 address as its IPv4 address).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        || first == 0x0064 && ip.segments()[1] == 0xff9b)
}

/// Why an endpoint's address is refused before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressRefused {
    /// Not an `http` or `https` URL with a host.
    #[error("not an http or https address")]
    NotHttp,
    /// A literal address that is not public.
    #[error("the address {0} is not on the public internet")]
    Private(IpAddr),
}

/// Checks an endpoint URL as far as it can be checked without resolving its name: an `http` or
/// `https` URL with a host, and a literal address only when public or allowed.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, AddressRefused> {
    let url = reqwest::Url::parse(url).map_err(|_| AddressRefused::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AddressRefused::NotHttp);
    }
    let Some(host) = url.host_str() else {
        return Err(AddressRefused::NotHttp);
    };
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    match ip {
        Some(ip) if !allow_private && !is_public(ip) => Err(AddressRefused::Private(ip)),
        _ => Ok(url),
    }
}

/// Resolves names for the webhook client, keeping only public addresses (unless allowed): the
/// check happens on the addresses actually connected to, so a name that turns private later
/// is refused too.
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_private: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("the name resolves to no public address")]
struct NoPublicAddress;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let kept: Vec<SocketAddr> = found
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(NoPublicAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client webhooks are posted with: a timeout per delivery, no redirects, no proxy,
/// and the guarded resolver.
pub fn client(timeout: Duration, allow_private: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .user_agent(concat!("Vaka-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// The payload's `data`.
#[derive(Debug, Serialize)]
struct Data<'a> {
    notification: String,
    entry: String,
    rule: &'a str,
    kind: &'static str,
    category: Option<&'a str>,
    severity: Option<u8>,
    area: Option<&'a str>,
    occurred_at: Option<Timestamp>,
    police_contacted_at: Option<Timestamp>,
    wait_minutes: Option<u32>,
    url: String,
}

/// The payload: `type`, `timestamp` (when the notification was made, so every retry sends the
/// same bytes) and `data`.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: Option<Timestamp>,
    data: Data<'a>,
}

/// The JSON body of `claimed`'s webhook message, its entry linked under `public_url`.
pub fn body(claimed: &Claimed, public_url: &str) -> String {
    let Facts {
        rule,
        kind,
        category,
        severity,
        area,
        occurred_at_ms,
        police_contacted_ms,
        wait_minutes,
    } = &claimed.facts;
    let payload = Payload {
        kind: &claimed.event,
        timestamp: Timestamp::from_unix_ms(claimed.created_at_ms),
        data: Data {
            notification: claimed.notification.to_string(),
            entry: claimed.entry.to_string(),
            rule,
            kind: kind.as_str(),
            category: category.as_deref(),
            severity: *severity,
            area: area.as_deref(),
            occurred_at: occurred_at_ms.and_then(Timestamp::from_unix_ms),
            police_contacted_at: police_contacted_ms.and_then(Timestamp::from_unix_ms),
            wait_minutes: *wait_minutes,
            url: format!("{public_url}/entries/{}", claimed.entry),
        },
    };
    serde_json::to_string(&payload).unwrap_or_default()
}

/// The message id a webhook message carries (`webhook-id`): the same for every retry of the
/// notification, so a receiver can drop one it has seen.
pub fn message_id(claimed: &Claimed) -> String {
    format!("msg_{}", claimed.notification.0.simple())
}

/// What one post ended in.
#[derive(Debug)]
pub enum Answer {
    /// The receiver answered with this status.
    Status(u16),
    /// Nothing was sent: the address is refused.
    Refused(String),
    /// The post failed (timeout, connection, name not resolved to a public address).
    Failed(String),
}

/// Posts `body` to `url`, signed with `secret` as message `id` at `now_secs`.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    id: &str,
    body: String,
    now_secs: i64,
    allow_private: bool,
) -> Answer {
    let url = match check_url(url, allow_private) {
        Ok(url) => url,
        Err(e) => return Answer::Refused(e.to_string()),
    };
    let signature = match standardwebhooks::Webhook::new(secret)
        .and_then(|hook| hook.sign(id, now_secs, body.as_bytes()))
    {
        Ok(signature) => signature,
        Err(e) => return Answer::Refused(format!("the endpoint's secret is damaged: {e}")),
    };
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(standardwebhooks::HEADER_WEBHOOK_ID, id)
        .header(
            standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
            now_secs.to_string(),
        )
        .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => Answer::Status(response.status().as_u16()),
        Err(e) if e.is_timeout() => Answer::Failed("timeout".into()),
        Err(e) => Answer::Failed(error_chain(&e)),
    }
}

/// An error with its sources, in one line (no URL, which may hold a token).
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("8.8.8.8", true)]
    #[case("193.10.1.1", true)]
    #[case("2a00:1450:4001::1", true)]
    #[case("127.0.0.1", false)]
    #[case("10.1.2.3", false)]
    #[case("172.16.0.1", false)]
    #[case("192.168.1.1", false)]
    #[case("169.254.169.254", false)]
    #[case("100.64.0.1", false)]
    #[case("0.0.0.0", false)]
    #[case("255.255.255.255", false)]
    #[case("::1", false)]
    #[case("::", false)]
    #[case("fd00::1", false)]
    #[case("fe80::1", false)]
    #[case("::ffff:127.0.0.1", false)]
    #[case("::ffff:8.8.8.8", true)]
    fn only_public_addresses_are_public(#[case] ip: &str, #[case] public: bool) {
        assert_eq!(is_public(ip.parse().expect("ip")), public, "{ip}");
    }

    #[rstest]
    #[case("https://hooks.example.se/vaka", false, true)]
    #[case("http://127.0.0.1:9000/hook", false, false)]
    #[case("http://127.0.0.1:9000/hook", true, true)]
    #[case("http://[::1]/hook", false, false)]
    #[case("http://169.254.169.254/latest", false, false)]
    #[case("ftp://hooks.example.se/", false, false)]
    #[case("not a url", false, false)]
    fn an_endpoint_url_is_checked_before_anything_is_sent(
        #[case] url: &str,
        #[case] allow_private: bool,
        #[case] ok: bool,
    ) {
        assert_eq!(check_url(url, allow_private).is_ok(), ok, "{url}");
    }

    #[tokio::test]
    async fn a_name_resolving_only_to_loopback_is_refused_unless_allowed() {
        let name: Name = "localhost".parse().expect("name");
        let refused = GuardedResolver {
            allow_private: false,
        }
        .resolve(name)
        .await;
        assert!(refused.is_err());
        let name: Name = "localhost".parse().expect("name");
        let allowed = GuardedResolver {
            allow_private: true,
        }
        .resolve(name)
        .await
        .expect("resolved");
        assert!(allowed.count() > 0);
    }

    #[test]
    fn a_signature_verifies_with_the_secret_and_fails_with_another() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_"));
        let hook = standardwebhooks::Webhook::new(&secret).expect("secret");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = hook.sign("msg_1", now, b"{}").expect("signed");
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("webhook-id", "msg_1".parse().expect("h"));
        headers.insert("webhook-timestamp", now.to_string().parse().expect("h"));
        headers.insert("webhook-signature", signature.parse().expect("h"));
        hook.verify(b"{}", &headers).expect("verifies");
        let other = standardwebhooks::Webhook::new(&new_secret()).expect("secret");
        assert!(other.verify(b"{}", &headers).is_err());
    }
}
