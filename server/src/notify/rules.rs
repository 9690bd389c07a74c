//! Which entries notify whom: a rule's filters and targets ([`RuleSpec`]) and the pure decisions
//! made with them — whether an entry just written matches ([`RuleSpec::matches`]) and whether an
//! incident's police are overdue ([`RuleSpec::police_overdue`]). No I/O; the store asks these
//! inside the transaction that writes the entry or runs the timer's check.

use super::WebhookId;
use serde::{Deserialize, Serialize};
use vaka_shared::AreaId;
use vaka_shared::op::EntityKind;

/// The longest wait a police no-show rule may name, in minutes (a day).
pub const MAX_NO_SHOW_MINUTES: u32 = 24 * 60;
/// How far back the timer's check looks for incidents whose police are overdue: an incident
/// whose wait ran out longer ago than this is never notified (a rule added today does not alert
/// on last month's incidents).
pub const NO_SHOW_LOOKBACK_MS: i64 = 24 * 60 * 60 * 1000;
/// Most e-mail addresses and most webhooks a rule sends to.
pub const MAX_TARGETS: usize = 20;
/// Longest rule name.
pub const MAX_NAME_CHARS: usize = 80;

/// What sets a rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Trigger {
    /// An entry written (by a phone or the dashboard) that matches the filters.
    Entry,
    /// An incident with police contacted and not arrived `minutes` after, checked by the
    /// server on a timer.
    PoliceNoShow {
        /// How long the police may take before the rule fires.
        minutes: u32,
    },
}

impl Trigger {
    /// The stored name of the trigger (`notify_rules.fires_on`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entry => "entry",
            Self::PoliceNoShow { .. } => "police_no_show",
        }
    }

    /// The event a notification of this trigger carries (`notifications.event`, the webhook
    /// payload's `type`).
    pub fn event(self) -> &'static str {
        match self {
            Self::Entry => "entry.matched",
            Self::PoliceNoShow { .. } => "police.no_show",
        }
    }
}

/// A rule as an admin set it: its name, what sets it off, its filters (an empty list lets every
/// value through) and where it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    /// Its name, for the admin and in the e-mail's subject line.
    pub name: String,
    /// What sets it off.
    pub trigger: Trigger,
    /// Entry kinds (incident, observation, patrol); empty: any.
    pub kinds: Vec<EntityKind>,
    /// Severities 1–4; empty: any (an entry without one passes only an empty list).
    pub severities: Vec<u8>,
    /// Category codes; empty: any.
    pub categories: Vec<String>,
    /// Areas; empty: any, also none.
    pub areas: Vec<AreaId>,
    /// Groups of the member who logged the entry; empty: any.
    pub groups: Vec<String>,
    /// E-mail addresses to send to.
    pub emails: Vec<String>,
    /// Webhook endpoints to post to.
    pub webhooks: Vec<WebhookId>,
}

/// What a rule is matched against: an entry's facts as the dashboard's projection holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFacts {
    /// Its kind.
    pub kind: EntityKind,
    /// Category code (patrols: the kind of walk).
    pub category: Option<String>,
    /// Severity 1–4 (incidents).
    pub severity: Option<u8>,
    /// Its area.
    pub area: Option<AreaId>,
    /// The group of the member who logged it.
    pub group: Option<String>,
    /// Whether it was retracted.
    pub retracted: bool,
    /// When the server first received it.
    pub received_at_ms: i64,
    /// When police were contacted.
    pub police_contacted_ms: Option<i64>,
    /// When police came.
    pub police_attended_ms: Option<i64>,
}

fn passes<T: PartialEq>(filter: &[T], value: Option<&T>) -> bool {
    filter.is_empty() || value.is_some_and(|v| filter.contains(v))
}

impl RuleSpec {
    /// Whether the filters let `entry` through (the trigger aside). A retracted entry never
    /// passes.
    fn filters_pass(&self, entry: &EntryFacts) -> bool {
        !entry.retracted
            && entry.kind.is_entry()
            && passes(&self.kinds, Some(&entry.kind))
            && passes(&self.severities, entry.severity.as_ref())
            && passes(&self.categories, entry.category.as_ref())
            && passes(&self.areas, entry.area.as_ref())
            && passes(&self.groups, entry.group.as_ref())
    }

    /// Whether an entry just written notifies through this rule, made at `rule_created_ms`:
    /// an entry rule whose filters let it through, for an entry the server received after the
    /// rule was made (editing an old entry does not alert on it).
    pub fn matches(&self, entry: &EntryFacts, rule_created_ms: i64) -> bool {
        self.trigger == Trigger::Entry
            && entry.received_at_ms >= rule_created_ms
            && self.filters_pass(entry)
    }

    /// Whether, at `now_ms`, `entry` is an incident whose police are overdue by this rule: a
    /// police no-show rule whose filters let it through, police contacted, and not arrived by
    /// the time the wait ran out (not at all yet, or later than that). Only a wait that ran out
    /// after the rule was made and within [`NO_SHOW_LOOKBACK_MS`] counts.
    pub fn police_overdue(&self, entry: &EntryFacts, rule_created_ms: i64, now_ms: i64) -> bool {
        let Trigger::PoliceNoShow { minutes } = self.trigger else {
            return false;
        };
        let Some(contacted) = entry.police_contacted_ms else {
            return false;
        };
        let due = contacted + i64::from(minutes) * 60_000;
        entry.kind == EntityKind::Incident
            && now_ms >= due
            && due >= rule_created_ms
            && now_ms - due <= NO_SHOW_LOOKBACK_MS
            && entry.police_attended_ms.is_none_or(|came| came > due)
            && self.filters_pass(entry)
    }

    /// The earliest police contact time whose wait can still run out within the lookback at
    /// `now_ms`, over the longest wait any rule may name: the timer's check reads incidents
    /// contacted from here on.
    pub fn overdue_window_start(now_ms: i64) -> i64 {
        now_ms - NO_SHOW_LOOKBACK_MS - i64::from(MAX_NO_SHOW_MINUTES) * 60_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use uuid::Uuid;

    const MIN: i64 = 60_000;

    fn area(n: u128) -> AreaId {
        AreaId(Uuid::from_u128(n))
    }

    fn rule(trigger: Trigger) -> RuleSpec {
        RuleSpec {
            name: "Akut".into(),
            trigger,
            kinds: vec![],
            severities: vec![],
            categories: vec![],
            areas: vec![],
            groups: vec![],
            emails: vec!["desk@example.se".into()],
            webhooks: vec![],
        }
    }

    fn incident() -> EntryFacts {
        EntryFacts {
            kind: EntityKind::Incident,
            category: Some("violence_threat".into()),
            severity: Some(4),
            area: Some(area(1)),
            group: Some("Nattvandrarna".into()),
            retracted: false,
            received_at_ms: 1_000 * MIN,
            police_contacted_ms: None,
            police_attended_ms: None,
        }
    }

    #[rstest]
    #[case::no_filters(rule(Trigger::Entry), incident(), true)]
    #[case::severity_in(RuleSpec { severities: vec![3, 4], ..rule(Trigger::Entry) }, incident(), true)]
    #[case::severity_out(RuleSpec { severities: vec![3, 4], ..rule(Trigger::Entry) }, EntryFacts { severity: Some(2), ..incident() }, false)]
    #[case::severity_missing(RuleSpec { severities: vec![3, 4], ..rule(Trigger::Entry) }, EntryFacts { severity: None, ..incident() }, false)]
    #[case::kind_out(RuleSpec { kinds: vec![EntityKind::Observation], ..rule(Trigger::Entry) }, incident(), false)]
    #[case::category_in(RuleSpec { categories: vec!["violence_threat".into()], ..rule(Trigger::Entry) }, incident(), true)]
    #[case::category_out(RuleSpec { categories: vec!["theft".into()], ..rule(Trigger::Entry) }, incident(), false)]
    #[case::area_in(RuleSpec { areas: vec![area(1), area(2)], ..rule(Trigger::Entry) }, incident(), true)]
    #[case::area_out(RuleSpec { areas: vec![area(2)], ..rule(Trigger::Entry) }, incident(), false)]
    #[case::no_area(RuleSpec { areas: vec![area(1)], ..rule(Trigger::Entry) }, EntryFacts { area: None, ..incident() }, false)]
    #[case::group_in(RuleSpec { groups: vec!["Nattvandrarna".into()], ..rule(Trigger::Entry) }, incident(), true)]
    #[case::group_out(RuleSpec { groups: vec!["Väktarna".into()], ..rule(Trigger::Entry) }, incident(), false)]
    #[case::retracted(rule(Trigger::Entry), EntryFacts { retracted: true, ..incident() }, false)]
    #[case::comment(rule(Trigger::Entry), EntryFacts { kind: EntityKind::Comment, ..incident() }, false)]
    #[case::older_than_rule(rule(Trigger::Entry), EntryFacts { received_at_ms: 999 * MIN, ..incident() }, false)]
    #[case::no_show_rule(rule(Trigger::PoliceNoShow { minutes: 30 }), incident(), false)]
    fn an_entry_matches_a_rule_only_through_every_filter(
        #[case] spec: RuleSpec,
        #[case] entry: EntryFacts,
        #[case] expected: bool,
    ) {
        assert_eq!(spec.matches(&entry, 1_000 * MIN), expected);
    }

    fn called(at: i64, came: Option<i64>) -> EntryFacts {
        EntryFacts {
            police_contacted_ms: Some(at),
            police_attended_ms: came,
            ..incident()
        }
    }

    #[rstest]
    #[case::before_the_wait(called(2_000 * MIN, None), 2_029 * MIN, false)]
    #[case::at_the_wait(called(2_000 * MIN, None), 2_030 * MIN, true)]
    #[case::came_in_time(called(2_000 * MIN, Some(2_020 * MIN)), 2_040 * MIN, false)]
    #[case::came_at_the_limit(called(2_000 * MIN, Some(2_030 * MIN)), 2_040 * MIN, false)]
    #[case::came_late(called(2_000 * MIN, Some(2_045 * MIN)), 2_050 * MIN, true)]
    #[case::not_called(incident(), 3_000 * MIN, false)]
    #[case::observation(EntryFacts { kind: EntityKind::Observation, ..called(2_000 * MIN, None) }, 2_040 * MIN, false)]
    #[case::retracted(EntryFacts { retracted: true, ..called(2_000 * MIN, None) }, 2_040 * MIN, false)]
    #[case::wait_ran_out_before_the_rule(called(900 * MIN, None), 1_100 * MIN, false)]
    #[case::long_ago(called(2_000 * MIN, None), 2_030 * MIN + NO_SHOW_LOOKBACK_MS + 1, false)]
    fn police_are_overdue_only_when_not_there_when_the_wait_runs_out(
        #[case] entry: EntryFacts,
        #[case] now: i64,
        #[case] expected: bool,
    ) {
        let spec = rule(Trigger::PoliceNoShow { minutes: 30 });
        assert_eq!(spec.police_overdue(&entry, 1_000 * MIN, now), expected);
        assert!(!rule(Trigger::Entry).police_overdue(&entry, 1_000 * MIN, now));
    }

    #[test]
    fn a_spec_keeps_its_shape_in_json() {
        let spec = RuleSpec {
            severities: vec![3, 4],
            areas: vec![area(7)],
            ..rule(Trigger::PoliceNoShow { minutes: 20 })
        };
        let text = serde_json::to_string(&spec).expect("json");
        assert!(
            text.contains(r#""trigger":{"on":"police_no_show","minutes":20}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<RuleSpec>(&text).expect("back"), spec);
    }
}
