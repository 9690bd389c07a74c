//! The server's push and pull rules, op by op, against a real server on loopback.

use anyhow::Context;
use reqwest::StatusCode;
use vaka_shared::EntityId;
use vaka_shared::model::{IncidentFields, ReviewStatus, Severity};
use vaka_shared::op::OpBody;
use vaka_shared::sync::{ErrorCode, RejectCode, StopCode, SyncResponse};
use vaka_tests::raw::{Answer, RawDevice, new_incident};
use vaka_tests::{TestOrg, TestServer};

async fn setup() -> anyhow::Result<(TestServer, TestOrg, RawDevice)> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 2).await?;
    let code = server.admin.code(org.volunteers[0]).await?;
    let device = RawDevice::enroll(&server.url, &code).await?;
    Ok((server, org, device))
}

fn ok(answer: Answer<SyncResponse>) -> SyncResponse {
    match answer {
        Ok(response) => response,
        Err((status, error)) => panic!("sync refused: {status} {error:?}"),
    }
}

async fn count(server: &TestServer, sql: &'static str) -> anyhow::Result<i64> {
    server.admin.rows(sql, &[]).await?[0][0]
        .as_i64()
        .context("a count")
}

#[tokio::test]
async fn a_batch_sent_again_after_a_lost_response_is_applied_once() -> anyhow::Result<()> {
    let (server, _org, mut device) = setup().await?;
    let ops: Vec<_> = (0..3)
        .map(|_| device.op(EntityId::new(), new_incident("alcohol", 2), 0))
        .collect();
    let first = ok(device.sync(ops.clone(), None, None).await?);
    assert_eq!(first.push.acked_through, 3);
    // The device never saw that answer and sends the same batch again.
    let again = ok(device.sync(ops, None, None).await?);
    assert_eq!(again.push.acked_through, 3);
    assert!(again.push.rejected.is_empty() && again.push.stopped.is_none());
    assert_eq!(count(&server, "SELECT COUNT(*) FROM ops").await?, 3);
    assert_eq!(count(&server, "SELECT COUNT(*) FROM entities").await?, 3);
    Ok(())
}

#[tokio::test]
async fn a_different_op_under_a_seen_number_is_refused() -> anyhow::Result<()> {
    let (server, _org, mut device) = setup().await?;
    let original = device.op(EntityId::new(), new_incident("alcohol", 2), 0);
    ok(device.sync(vec![original.clone()], None, None).await?);
    let mut impostor = device.op(EntityId::new(), new_incident("fire", 4), 0);
    impostor.device_seq = original.device_seq;
    let response = ok(device.sync(vec![impostor], None, None).await?);
    let stop = response.push.stopped.expect("stopped");
    assert_eq!((stop.code, stop.at_seq), (StopCode::OpMismatch, 1));
    assert_eq!(response.push.acked_through, 1);
    assert_eq!(count(&server, "SELECT COUNT(*) FROM ops").await?, 1);
    Ok(())
}

#[tokio::test]
async fn a_gap_stops_the_push_and_says_where_to_resume() -> anyhow::Result<()> {
    let (server, _org, mut device) = setup().await?;
    let ops: Vec<_> = (0..5)
        .map(|_| device.op(EntityId::new(), new_incident("traffic", 1), 0))
        .collect();
    ok(device.sync(ops[..2].to_vec(), None, None).await?);
    let response = ok(device.sync(ops[3..].to_vec(), None, None).await?);
    let stop = response.push.stopped.expect("stopped at the gap");
    assert_eq!((stop.code, stop.at_seq), (StopCode::Gap, 3));
    assert_eq!(response.push.acked_through, 2);
    assert_eq!(count(&server, "SELECT COUNT(*) FROM ops").await?, 2);
    let resumed = ok(device.sync(ops[2..].to_vec(), None, None).await?);
    assert_eq!(resumed.push.acked_through, 5);
    assert!(resumed.push.stopped.is_none());
    assert_eq!(count(&server, "SELECT COUNT(*) FROM ops").await?, 5);
    Ok(())
}

#[tokio::test]
async fn ops_sent_out_of_order_in_one_batch_are_applied_in_device_order() -> anyhow::Result<()> {
    let (server, _org, mut device) = setup().await?;
    let mut ops: Vec<_> = (0..4)
        .map(|_| device.op(EntityId::new(), new_incident("traffic", 1), 0))
        .collect();
    ops.reverse();
    let response = ok(device.sync(ops, None, None).await?);
    assert_eq!(response.push.acked_through, 4);
    let seqs: Vec<i64> = server
        .admin
        .rows("SELECT device_seq FROM ops ORDER BY seq", &[])
        .await?
        .iter()
        .filter_map(|r| r[0].as_i64())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    Ok(())
}

#[tokio::test]
async fn a_text_holding_u0000_is_refused_by_its_field_and_the_next_op_goes_through()
-> anyhow::Result<()> {
    let (server, _org, mut device) = setup().await?;
    let mut with_nul = new_incident("vandalism", 2);
    if let OpBody::Incident(fields) = &mut with_nul {
        fields.description = Some("Krossad\u{0}ruta".to_owned());
    }
    let refused = device.op(EntityId::new(), with_nul, 0);
    let kept = device.op(EntityId::new(), new_incident("vandalism", 2), 0);
    let response = ok(device.sync(vec![refused, kept], None, None).await?);
    assert_eq!(response.push.acked_through, 2);
    let reasons: Vec<_> = response
        .push
        .rejected
        .iter()
        .map(|r| (r.device_seq, r.code, r.field.clone()))
        .collect();
    assert_eq!(
        reasons,
        vec![(1, RejectCode::InvalidField, Some("description".to_owned()))]
    );
    assert_eq!(count(&server, "SELECT COUNT(*) FROM ops").await?, 1);
    Ok(())
}

#[tokio::test]
async fn invalid_and_forbidden_ops_are_rejected_with_reasons_and_the_queue_moves_on()
-> anyhow::Result<()> {
    let (server, _org, mut device) = setup().await?;
    let incident = EntityId::new();
    let create = device.op(incident, new_incident("vandalism", 2), 0);
    let review = device.op(
        incident,
        OpBody::Incident(IncidentFields {
            review_status: Some(ReviewStatus::Closed),
            ..Default::default()
        }),
        0,
    );
    let invalid = device.op(
        incident,
        OpBody::Incident(IncidentFields {
            severity: Some(Severity(9)),
            ..Default::default()
        }),
        0,
    );
    let edit = device.op(
        incident,
        OpBody::Incident(IncidentFields {
            severity: Some(Severity(3)),
            ..Default::default()
        }),
        0,
    );
    let batch = vec![create, review, invalid, edit];
    let response = ok(device.sync(batch.clone(), None, None).await?);
    assert_eq!(
        response.push.acked_through, 4,
        "rejected ops are acknowledged too"
    );
    let reasons: Vec<_> = response
        .push
        .rejected
        .iter()
        .map(|r| (r.device_seq, r.code, r.field.clone()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                2,
                RejectCode::ReviewFieldForbidden,
                Some("review_status".to_owned())
            ),
            (3, RejectCode::InvalidField, Some("severity".to_owned())),
        ]
    );
    assert!(response.push.rejected.iter().all(|r| !r.message.is_empty()));
    // The answer is lost and the batch sent again: the refusals are reported again.
    let again = ok(device.sync(batch, None, None).await?);
    assert_eq!(again.push.acked_through, 4);
    assert_eq!(again.push.rejected, response.push.rejected);
    let state = server
        .admin
        .rows(
            "SELECT state FROM entities WHERE id = ?1",
            &[&incident.to_string()],
        )
        .await?[0][0]
        .as_str()
        .context("a state")?
        .to_owned();
    let state: serde_json::Value = serde_json::from_str(&state)?;
    assert_eq!(
        state["severity"]["v"], 3,
        "the op behind the refused ones went through"
    );
    assert!(state.get("review_status").is_none());
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM rejected_ops").await?,
        2
    );
    Ok(())
}

#[tokio::test]
async fn a_clock_far_ahead_is_refused_with_the_servers_time() -> anyhow::Result<()> {
    let (server, _org, mut device) = setup().await?;
    let day_ahead = vaka_shared::Timestamp::now_utc().unix_ms() as u64 + 24 * 3600 * 1000;
    let op = device.op_at(EntityId::new(), new_incident("alcohol", 1), 0, day_ahead);
    let response = ok(device.sync(vec![op], None, None).await?);
    let stop = response.push.stopped.expect("refused");
    assert_eq!((stop.code, stop.at_seq), (StopCode::ClockAhead, 1));
    assert_eq!(response.push.acked_through, 0);
    let skew = day_ahead as i64 - response.server_time_ms;
    assert!(
        (skew - 24 * 3600 * 1000).abs() < 60_000,
        "server time is the real time: {skew}"
    );
    assert_eq!(count(&server, "SELECT COUNT(*) FROM ops").await?, 0);
    Ok(())
}

#[tokio::test]
async fn pages_end_exactly_at_multiples_of_the_page_size() -> anyhow::Result<()> {
    let (server, org, mut writer) = setup().await?;
    let reader =
        RawDevice::enroll(&server.url, &server.admin.code(org.volunteers[1]).await?).await?;
    let page = 5u32;
    let mut pushed = 0;
    // k×page ops come in exactly k pages (the last one says nothing more waits); one more op
    // needs one more page.
    for (total, expected_pages) in [(10usize, 2usize), (11, 3)] {
        let ops: Vec<_> = (pushed..total)
            .map(|_| writer.op(EntityId::new(), new_incident("other", 1), 0))
            .collect();
        ok(writer.sync(ops, None, None).await?);
        pushed = total;
        let (ops, cursor, pages) = reader.pull_all(0, page).await?;
        let seqs: Vec<u64> = ops.iter().map(|op| op.seq).collect();
        let mut unique = seqs.clone();
        unique.dedup();
        assert_eq!(seqs.len(), total, "nothing missed");
        assert_eq!(unique.len(), total, "nothing doubled");
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in sequence order");
        assert_eq!(cursor, *seqs.last().expect("ops"));
        assert_eq!(pages, expected_pages, "{total} ops in pages of {page}");
        // Pulling from the end gives nothing and keeps the cursor.
        let (rest, same, _) = reader.pull_all(cursor, page).await?;
        assert!(rest.is_empty());
        assert_eq!(same, cursor);
    }
    Ok(())
}

#[tokio::test]
async fn another_organisation_sees_nothing_and_cannot_write_into_this_one() -> anyhow::Result<()> {
    let (server, _org, mut device) = setup().await?;
    let incident = EntityId::new();
    let op = device.op(incident, new_incident("fire", 3), 0);
    ok(device.sync(vec![op], None, None).await?);

    let other = server.admin.org("Grannsamverkan Annanstad", 1).await?;
    let mut outsider =
        RawDevice::enroll(&server.url, &server.admin.code(other.coordinator).await?).await?;
    let (seen, _, _) = outsider.pull_all(0, 100).await?;
    assert!(
        seen.is_empty(),
        "a coordinator of another organisation pulled {seen:?}"
    );
    let overwrite = outsider.op(
        incident,
        OpBody::Incident(IncidentFields {
            severity: Some(Severity(1)),
            ..Default::default()
        }),
        0,
    );
    let response = ok(outsider.sync(vec![overwrite], None, None).await?);
    assert_eq!(response.push.rejected.len(), 1);
    assert_eq!(response.push.rejected[0].code, RejectCode::UnknownEntry);
    Ok(())
}

#[tokio::test]
async fn volunteers_see_only_their_own_entries_when_the_organisation_says_so() -> anyhow::Result<()>
{
    let (server, org, mut first) = setup().await?;
    let mut second =
        RawDevice::enroll(&server.url, &server.admin.code(org.volunteers[1]).await?).await?;
    let coordinator =
        RawDevice::enroll(&server.url, &server.admin.code(org.coordinator).await?).await?;
    server.admin.set_volunteers_see_all(org.id, false).await?;
    let first_entry = EntityId::new();
    let op = first.op(first_entry, new_incident("alcohol", 2), 0);
    ok(first.sync(vec![op], None, None).await?);
    let second_entry = EntityId::new();
    let op = second.op(second_entry, new_incident("alcohol", 2), 0);
    ok(second.sync(vec![op], None, None).await?);
    let entries = |ops: Vec<vaka_shared::sync::ServerOp>| -> Vec<EntityId> {
        ops.into_iter().map(|o| o.op.entity_id).collect()
    };
    assert_eq!(
        entries(second.pull_all(0, 100).await?.0),
        vec![second_entry],
        "only its own entry"
    );
    assert_eq!(
        entries(first.pull_all(0, 100).await?.0),
        vec![first_entry],
        "only its own entry"
    );
    assert_eq!(
        entries(coordinator.pull_all(0, 100).await?.0),
        vec![first_entry, second_entry],
        "the coordinator sees both"
    );
    Ok(())
}

/// The open conflict records of one field after three writers: A creates the entry (with the
/// field), B edits the field after pulling A, C edits it without having pulled anything. `c_first`
/// says whether C reaches the server before B; `c_wins` whether C's stamp is above B's.
async fn three_writers(c_first: bool, c_wins: bool) -> anyhow::Result<Vec<(String, String)>> {
    let (server, org, mut a) = setup().await?;
    let mut b = RawDevice::enroll(&server.url, &server.admin.code(org.coordinator).await?).await?;
    let mut c = RawDevice::enroll(&server.url, &server.admin.code(org.coordinator).await?).await?;
    let id = EntityId::new();
    let create = a.op(id, new_incident("alcohol", 2), 0);
    ok(a.sync(vec![create], None, None).await?);
    let now = vaka_shared::Timestamp::now_utc().unix_ms() as u64;
    let edit = |text: &str| {
        OpBody::Incident(IncidentFields {
            description: Some(text.into()),
            ..Default::default()
        })
    };
    let (b_ms, c_ms) = if c_wins {
        (now, now + 10)
    } else {
        (now + 10, now)
    };
    let b_op = b.op_at(id, edit("B"), 1, b_ms);
    let c_op = c.op_at(id, edit("C"), 0, c_ms);
    if c_first {
        ok(c.sync(vec![c_op], None, None).await?);
        ok(b.sync(vec![b_op], None, None).await?);
    } else {
        ok(b.sync(vec![b_op], None, None).await?);
        ok(c.sync(vec![c_op], None, None).await?);
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    Ok(server
        .admin
        .rows(
            "SELECT winner_value, loser_value FROM conflicts WHERE resolved_seq IS NULL
             ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| (text(&r[0]), text(&r[1])))
        .collect())
}

#[tokio::test]
async fn conflict_records_of_three_writers_do_not_depend_on_the_order_they_arrived_in()
-> anyhow::Result<()> {
    // A was replaced by B, whose device had pulled it: only B and C disagree.
    for c_wins in [true, false] {
        let expected = if c_wins {
            vec![("\"C\"".to_owned(), "\"B\"".to_owned())]
        } else {
            vec![("\"B\"".to_owned(), "\"C\"".to_owned())]
        };
        for c_first in [false, true] {
            assert_eq!(
                three_writers(c_first, c_wins).await?,
                expected,
                "C first: {c_first}, C wins: {c_wins}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn compressed_request_bodies_are_accepted() -> anyhow::Result<()> {
    let (server, _org, mut device) = setup().await?;
    let op = device.op(EntityId::new(), new_incident("alcohol", 2), 0);
    let body = serde_json::to_vec(&vaka_shared::sync::SyncRequest {
        push: vec![op],
        pull: None,
    })?;
    let compressed = zstd::encode_all(body.as_slice(), 3)?;
    let answer = device
        .post_raw(
            "/api/v1/sync",
            compressed,
            &[
                ("content-type", "application/json"),
                ("content-encoding", "zstd"),
            ],
        )
        .await?;
    let response = answer.map_err(|(s, e)| anyhow::anyhow!("{s} {e:?}"))?;
    assert_eq!(response["push"]["acked_through"], 1);
    assert_eq!(count(&server, "SELECT COUNT(*) FROM ops").await?, 1);
    Ok(())
}

/// A request body, its headers, and the status and code it must get.
type BadRequest<'a> = (
    &'a str,
    Vec<u8>,
    &'a [(&'a str, &'a str)],
    StatusCode,
    ErrorCode,
);

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.max_body_bytes = 512 * 1024).await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    let mut device =
        RawDevice::enroll(&server.url, &server.admin.code(org.volunteers[0]).await?).await?;
    let op = device.op(EntityId::new(), new_incident("alcohol", 2), 0);
    ok(device.sync(vec![op], None, None).await?);
    let before = server
        .admin
        .rows("SELECT id, state FROM entities ORDER BY id", &[])
        .await?;

    let json = [("content-type", "application/json")];
    let valid_op = serde_json::to_value(device.op(EntityId::new(), new_incident("alcohol", 2), 0))?;
    let with = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut op = valid_op.clone();
        change(&mut op);
        serde_json::to_vec(&serde_json::json!({"push": [op]})).expect("json")
    };
    let cases: Vec<BadRequest> = vec![
        (
            "malformed json",
            b"{\"push\": [".to_vec(),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedJson,
        ),
        (
            "unknown entity kind",
            with(&|op| op["entity"] = "weather".into()),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
        ),
        (
            "unknown field",
            with(&|op| op["fields"]["name"] = "Kalle".into()),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
        ),
        (
            "wrong type",
            with(&|op| op["fields"]["severity"] = "high".into()),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
        ),
        (
            "bad clock stamp",
            with(&|op| op["hlc"] = "yesterday".into()),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
        ),
        (
            "clock stamp with the device id not hyphenated",
            with(&|op| {
                let hlc = op["hlc"].as_str().unwrap_or_default().to_owned();
                let (stamp, device) = hlc.split_at(19);
                op["hlc"] = format!("{stamp}{}", device.replace('-', "")).into();
            }),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
        ),
        (
            "unknown key beside the op's fields",
            with(&|op| op["author"] = "Kalle".into()),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
        ),
        (
            "an integer with a fraction",
            with(&|op| op["base_seq"] = serde_json::json!(0.5)),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
        ),
        (
            "an integer above 2^53 - 1",
            with(&|op| op["device_seq"] = serde_json::json!(9_007_199_254_740_992_u64)),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
        ),
        (
            "a count out of its range",
            with(&|op| op["fields"]["people_involved"] = serde_json::json!(65_536)),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
        ),
        (
            "not json",
            b"push".to_vec(),
            &[("content-type", "text/plain")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
        ),
        (
            "oversized body",
            serde_json::to_vec(
                &serde_json::json!({"push": [], "padding": "x".repeat(600 * 1024)}),
            )?,
            &json,
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
        ),
        (
            "too many ops",
            serde_json::to_vec(&serde_json::json!({"push": vec![valid_op.clone(); 501]}))?,
            &json,
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooManyOps,
        ),
        (
            "pull limit zero",
            br#"{"pull": {"cursor": 0, "limit": 0}}"#.to_vec(),
            &json,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
        ),
    ];
    for (name, body, headers, status, code) in cases {
        let answer = device.post_raw("/api/v1/sync", body, headers).await?;
        let (got_status, error) = answer.expect_err(name);
        assert_eq!(
            (got_status, error.code),
            (status, code),
            "{name}: {}",
            error.message
        );
        assert!(!error.message.is_empty(), "{name}");
    }

    // Errors made by the HTTP layers get the same JSON body.
    let (status, error) = device
        .post_raw(
            "/api/v1/sync",
            b"{}".to_vec(),
            &[
                ("content-type", "application/json"),
                ("content-encoding", "br"),
            ],
        )
        .await?
        .expect_err("unknown encoding");
    assert_eq!(
        (status, error.code),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType
        )
    );
    let response = reqwest::get(format!("{}/api/v1/sync", server.url)).await?;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let error: vaka_shared::sync::ApiError = response.json().await?;
    assert_eq!(error.code, ErrorCode::InvalidRequest);

    // Tokens.
    let http = reqwest::Client::new();
    let sync_url = format!("{}/api/v1/sync", server.url);
    for (name, token) in [
        ("missing token", None),
        ("wrong token", Some("not-a-token")),
    ] {
        let mut request = http.post(&sync_url).json(&serde_json::json!({}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        let error: vaka_shared::sync::ApiError = response.json().await?;
        assert_eq!(error.code, ErrorCode::Unauthorized, "{name}");
    }

    // Enrolment codes: unknown, then used twice.
    let enroll = |code: String| {
        http.post(format!("{}/api/v1/enroll", server.url))
            .json(&serde_json::json!({"code": code, "device_name": "Telefon"}))
            .send()
    };
    let response = enroll("AAAA-BBBB-CCCC".into()).await?;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: vaka_shared::sync::ApiError = response.json().await?;
    assert_eq!(error.code, ErrorCode::InvalidEnrollmentCode);
    let code = server.admin.code(org.volunteers[0]).await?;
    assert!(enroll(code.clone()).await?.status().is_success());
    assert_eq!(
        enroll(code).await?.status(),
        StatusCode::FORBIDDEN,
        "a code works once"
    );
    // Wrong methods and unknown encodings: JSON errors that keep the headers that say more.
    let wrong_method = http
        .get(format!("{}/api/v1/sync", server.url))
        .send()
        .await?;
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        wrong_method
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let error: vaka_shared::sync::ApiError = wrong_method.json().await?;
    assert_eq!(error.code, ErrorCode::InvalidRequest);
    let unknown_encoding = http
        .post(format!("{}/api/v1/enroll", server.url))
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body("{}")
        .send()
        .await?;
    assert_eq!(
        unknown_encoding.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert!(unknown_encoding.headers().contains_key("accept-encoding"));
    let error: vaka_shared::sync::ApiError = unknown_encoding.json().await?;
    assert_eq!(error.code, ErrorCode::UnsupportedMediaType);

    // A revoked device is locked out.
    assert!(server.admin.revoke(device.id()).await?);
    let (status, error) = device
        .sync(Vec::new(), Some(0), None)
        .await?
        .expect_err("revoked");
    assert_eq!(
        (status, error.code),
        (StatusCode::UNAUTHORIZED, ErrorCode::TokenRevoked)
    );

    let after = server
        .admin
        .rows("SELECT id, state FROM entities ORDER BY id", &[])
        .await?;
    assert_eq!(before, after, "nothing stored changed");
    assert_eq!(count(&server, "SELECT COUNT(*) FROM ops").await?, 1);
    Ok(())
}
