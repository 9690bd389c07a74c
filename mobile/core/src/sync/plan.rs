//! The pure decisions of the sync client: which own ops to push next, where to resume after the
//! server's answer, the clock offset, and the new stamps of ops the server found too far ahead.

use std::ops::RangeInclusive;
use vaka_shared::sync::PushResult;
use vaka_shared::{DeviceId, Hlc, HlcClock};

/// The `device_seq`s to push next: from the first one the server has not acknowledged
/// (`push_from`) to the last own op (`next_device_seq - 1`), at most `max_ops` of them.
/// `None` when nothing waits.
pub(crate) fn push_range(
    push_from: u64,
    next_device_seq: u64,
    max_ops: usize,
) -> Option<RangeInclusive<u64>> {
    let from = push_from.max(1);
    let last = next_device_seq.checked_sub(1)?;
    let max = u64::try_from(max_ops).unwrap_or(u64::MAX);
    if from > last || max == 0 {
        return None;
    }
    Some(from..=last.min(from.saturating_add(max - 1)))
}

/// How many of the ops (given their encoded sizes, in order) fit in `budget` bytes. Always at
/// least one when there is one, so that an op larger than the budget is still tried (and the
/// server says why it cannot take it).
pub(crate) fn fit_batch(sizes: &[usize], budget: usize) -> usize {
    let mut total = 0usize;
    for (taken, size) in sizes.iter().enumerate() {
        total = total.saturating_add(*size);
        if total > budget {
            return taken.max(1);
        }
    }
    sizes.len()
}

/// The first `device_seq` to push after the server answered: where it stopped, or the first one
/// after everything it holds.
pub(crate) fn resume_from(result: &PushResult) -> u64 {
    match &result.stopped {
        Some(stop) => stop.at_seq.max(1),
        None => result.acked_through.saturating_add(1),
    }
}

/// Server time minus local time, taking the middle of the round trip as the moment the server
/// read its clock.
pub(crate) fn clock_offset(server_time_ms: i64, sent_ms: i64, received_ms: i64) -> i64 {
    let midpoint = sent_ms.saturating_add(received_ms.saturating_sub(sent_ms) / 2);
    server_time_ms.saturating_sub(midpoint)
}

/// New stamps for `count` own ops, in their order: from a clock resumed after `floor` (the
/// highest stamp of every op that keeps its stamp) ticking with the corrected time `now_ms`.
/// Also returns the clock's highest stamp afterwards.
pub(crate) fn restamp(
    device: DeviceId,
    floor: Option<Hlc>,
    count: usize,
    now_ms: u64,
) -> (Vec<Hlc>, Hlc) {
    let mut clock = match floor {
        Some(floor) => HlcClock::resume(device, floor),
        None => HlcClock::new(device),
    };
    let stamps = (0..count).map(|_| clock.tick(now_ms)).collect();
    (stamps, clock.last())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use uuid::Uuid;
    use vaka_shared::sync::{PushStop, StopCode};

    #[rstest]
    #[case::nothing_logged(1, 1, 500, None)]
    #[case::all_acknowledged(8, 8, 500, None)]
    #[case::first_unacknowledged_to_last(3, 8, 500, Some(3..=7))]
    #[case::bounded_batch(1, 1201, 500, Some(1..=500))]
    #[case::next_batch(501, 1201, 500, Some(501..=1000))]
    #[case::last_partial_batch(1001, 1201, 500, Some(1001..=1200))]
    #[case::zero_is_treated_as_one(0, 3, 500, Some(1..=2))]
    #[case::resume_after_gap_reaches_back(4, 10, 500, Some(4..=9))]
    fn push_planning(
        #[case] push_from: u64,
        #[case] next_device_seq: u64,
        #[case] max: usize,
        #[case] expected: Option<RangeInclusive<u64>>,
    ) {
        assert_eq!(push_range(push_from, next_device_seq, max), expected);
    }

    #[rstest]
    #[case::all_fit(&[10, 10, 10], 100, 3)]
    #[case::stops_before_budget(&[40, 40, 40], 100, 2)]
    #[case::exactly_full(&[50, 50, 1], 100, 2)]
    #[case::one_oversized_op_still_goes(&[500, 1], 100, 1)]
    #[case::empty(&[], 100, 0)]
    fn batches_fit_the_body_budget(
        #[case] sizes: &[usize],
        #[case] budget: usize,
        #[case] expected: usize,
    ) {
        assert_eq!(fit_batch(sizes, budget), expected);
    }

    fn result(acked_through: u64, stop: Option<(u64, StopCode)>) -> PushResult {
        PushResult {
            acked_through,
            rejected: vec![],
            stopped: stop.map(|(at_seq, code)| PushStop {
                at_seq,
                code,
                message: String::new(),
            }),
        }
    }

    #[rstest]
    #[case::all_taken(result(7, None), 8)]
    #[case::nothing_held_yet(result(0, None), 1)]
    #[case::gap_resends_from_where_the_server_is(result(3, Some((4, StopCode::Gap))), 4)]
    #[case::clock_ahead_resends_the_refused(result(5, Some((6, StopCode::ClockAhead))), 6)]
    fn where_the_next_push_starts(#[case] result: PushResult, #[case] expected: u64) {
        assert_eq!(resume_from(&result), expected);
    }

    #[test]
    fn clock_offset_uses_the_middle_of_the_round_trip() {
        // Sent at 1000, answered at 1200: the server read its clock at about local 1100.
        assert_eq!(clock_offset(5_000, 1_000, 1_200), 3_900);
        assert_eq!(clock_offset(1_000, 5_000, 5_000), -4_000);
    }

    #[test]
    fn restamping_keeps_order_and_follows_corrected_time() {
        let device = DeviceId(Uuid::from_u128(7));
        let other = DeviceId(Uuid::from_u128(9));
        let floor = Hlc {
            ms: 1_000,
            counter: 3,
            device: other,
        };
        let (stamps, last) = restamp(device, Some(floor), 3, 2_000);
        assert_eq!(stamps.len(), 3);
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
        assert!(stamps.iter().all(|s| s.ms == 2_000 && s.device == device));
        assert_eq!(last, stamps[2]);

        // A floor above the corrected time is never undercut.
        let floor = Hlc {
            ms: 3_000,
            counter: 0,
            device: other,
        };
        let (stamps, _) = restamp(device, Some(floor), 2, 2_000);
        assert!(stamps.iter().all(|s| s.ms == 3_000 && s.counter > 0));
    }
}
