//! Photos out of band: a device core stores a shrunk photo, refers to it from an incident, and
//! uploads it by hash in resumable chunks to `/api/v1/blobs`. An upload cut off half-way goes on
//! from where the server's copy ends; a photo an entry refers to but the server has not received
//! is reported as pending; chunks at the wrong offset and bytes that do not match their hash are
//! refused with stable codes.

use image::{ImageBuffer, Rgb};
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use vaka_device::{Device, PhotoStatus};
use vaka_shared::blob::{BlobState, BlobStatus};
use vaka_shared::model::{AttachmentRef, CategoryCode, IncidentFields, Severity};
use vaka_shared::sync::{ApiError, ErrorCode};
use vaka_tests::TestServer;
use vaka_tests::proxy::{Fault, FaultProxy};
use vaka_tests::raw::RawDevice;

/// Small chunks, so a photo takes many.
const CHUNK: usize = 16 * 1024;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// A noisy camera-sized JPEG (noise does not compress, so the stored photo stays large).
fn camera_photo() -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let pixels = ImageBuffer::from_fn(2000, 1500, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed & 0x3f) as u8;
        Rgb([
            (x / 8) as u8 ^ noise,
            (y / 6) as u8 ^ noise,
            noise.wrapping_mul(3),
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&pixels)
        .expect("encodes");
    jpeg
}

struct Phone {
    device: Device,
    _dir: tempfile::TempDir,
}

async fn phone(server: &TestServer, url: &str) -> anyhow::Result<(Phone, vaka_shared::OrgId)> {
    let org = server.admin.org("Nattvandrarna Blobby", 1).await?;
    let dir = tempfile::tempdir()?;
    let device = Device::open(dir.path().join("phone.sqlite3"))?;
    let code = server.admin.code(org.volunteers[0]).await?;
    device.enroll(&http(), url, &code, "Kamera").await?;
    Ok((Phone { device, _dir: dir }, org.id))
}

/// Logs an incident with the photo and syncs it (the photo itself stays on the phone).
async fn incident_with(phone: &Phone, photo: &AttachmentRef) -> anyhow::Result<()> {
    phone.device.create_incident(IncidentFields {
        category: Some(CategoryCode::from("vandalism")),
        severity: Some(Severity(2)),
        attachments: Some(vec![photo.clone()]),
        ..Default::default()
    })?;
    phone.device.sync_once(&http()).await?;
    Ok(())
}

async fn server_status(
    server: &TestServer,
    org: vaka_shared::OrgId,
    sha256: &str,
) -> anyhow::Result<Option<BlobStatus>> {
    Ok(server
        .admin
        .store()
        .blob_status(org, sha256.to_owned())
        .await?)
}

#[tokio::test]
async fn an_upload_cut_off_half_way_resumes_from_where_it_stopped() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let upstream = server.url.trim_start_matches("http://").parse()?;
    let proxy = FaultProxy::start(upstream).await?;
    let (phone, org) = phone(&server, &proxy.url).await?;
    let photo = phone.device.store_photo(&camera_photo())?;
    assert!(
        photo.size > 8 * CHUNK as u64,
        "a photo of many chunks: {}",
        photo.size
    );
    incident_with(&phone, &photo).await?;

    // Slow answers, so the upload can be watched; cut everything once half has arrived.
    proxy.set(Fault::Delay(Duration::from_millis(30)));
    let uploader = {
        let device = phone.device.clone();
        tokio::spawn(async move { device.upload_photos(&http(), CHUNK).await })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let received_at_cut = loop {
        let received = server_status(&server, org, &photo.sha256)
            .await?
            .map_or(0, |s| s.received);
        if received >= photo.size / 2 {
            proxy.set(Fault::Refuse);
            break received;
        }
        assert!(Instant::now() < deadline, "the upload did not get half-way");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    proxy.set(Fault::DropResponse);
    let cut = uploader.await?;
    assert!(
        cut.is_err(),
        "the cut-off upload reports a failure: {cut:?}"
    );
    proxy.set(Fault::Pass);

    let stored = server_status(&server, org, &photo.sha256)
        .await?
        .expect("known to the server");
    assert_eq!(stored.state, BlobState::Partial);
    assert!(stored.received >= received_at_cut && stored.received < photo.size);
    assert!(matches!(
        phone.device.photo_status(&photo.sha256)?,
        PhotoStatus::OnPhone { uploaded, .. } if uploaded <= stored.received
    ));

    // The next upload sends only what the server lacks.
    let report = phone.device.upload_photos(&http(), CHUNK).await?;
    assert_eq!(report.completed, 1);
    assert_eq!(
        report.bytes,
        photo.size - stored.received,
        "resumed at the server's offset"
    );
    let done = server_status(&server, org, &photo.sha256)
        .await?
        .expect("known");
    assert_eq!(done.state, BlobState::Complete);
    assert_eq!(
        phone.device.photo_status(&photo.sha256)?,
        PhotoStatus::OnServer
    );

    // The server holds exactly the phone's bytes, and an upload again sends nothing.
    let sha = photo.sha256.clone();
    let content = server
        .admin
        .store()
        .blob_content(org, sha)
        .await?
        .expect("complete");
    assert_eq!(content.0, "image/jpeg");
    assert_eq!(Some(content.1), phone.device.photo(&photo.sha256)?);
    let again = phone.device.upload_photos(&http(), CHUNK).await?;
    assert_eq!((again.chunks, again.bytes), (0, 0));
    Ok(())
}

#[tokio::test]
async fn a_photo_an_entry_refers_to_is_pending_until_it_arrives() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (phone, org) = phone(&server, &server.url).await?;
    let photo = phone.device.store_photo(&camera_photo())?;
    let unknown = "0".repeat(64);
    assert_eq!(server_status(&server, org, &photo.sha256).await?, None);

    incident_with(&phone, &photo).await?;
    let pending = server_status(&server, org, &photo.sha256)
        .await?
        .expect("referred to by an incident");
    assert_eq!(pending.state, BlobState::Pending);
    assert_eq!(pending.received, 0);

    // Over HTTP too, for any device of the organisation, with the resume offset in a header.
    let code = server
        .admin
        .code(server_member(&server, org).await?)
        .await?;
    let other = RawDevice::enroll(&server.url, &code).await?;
    let answer = http()
        .get(format!("{}/api/v1/blobs/{}", server.url, photo.sha256))
        .bearer_auth(&other.enrolled.token)
        .send()
        .await?;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["upload-offset"], "0");
    let status: BlobStatus = answer.json().await?;
    assert_eq!(status.state, BlobState::Pending);
    let missing = http()
        .get(format!("{}/api/v1/blobs/{unknown}", server.url))
        .bearer_auth(&other.enrolled.token)
        .send()
        .await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    phone.device.upload_photos(&http(), CHUNK).await?;
    let content = http()
        .get(format!(
            "{}/api/v1/blobs/{}/content",
            server.url, photo.sha256
        ))
        .bearer_auth(&other.enrolled.token)
        .send()
        .await?;
    assert_eq!(content.status(), StatusCode::OK);
    assert_eq!(
        Some(content.bytes().await?.to_vec()),
        phone.device.photo(&photo.sha256)?
    );
    Ok(())
}

/// A member of `org` to enrol a second device for.
async fn server_member(
    server: &TestServer,
    org: vaka_shared::OrgId,
) -> anyhow::Result<vaka_shared::MemberId> {
    let rows = server
        .admin
        .rows(
            "SELECT id FROM members WHERE org_id = ?1 AND role = 'coordinator'",
            &[&org.to_string()],
        )
        .await?;
    Ok(rows[0][0].as_str().unwrap_or_default().parse()?)
}

#[tokio::test]
async fn chunks_at_the_wrong_offset_and_bytes_under_the_wrong_hash_are_refused()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Grannsamverkan", 1).await?;
    let code = server.admin.code(org.volunteers[0]).await?;
    let device = RawDevice::enroll(&server.url, &code).await?;
    let put = |sha: &str, offset: u64, size: u64, body: &'static [u8]| {
        http()
            .put(format!(
                "{}/api/v1/blobs/{sha}?offset={offset}&size={size}",
                server.url
            ))
            .bearer_auth(&device.enrolled.token)
            .header("content-type", "image/jpeg")
            .body(body)
            .send()
    };
    let sha = "ab".repeat(32);

    let first = put(&sha, 0, 8, b"1234").await?;
    assert_eq!(first.status(), StatusCode::OK);
    // The same chunk again (its answer was lost): stored once, same answer.
    let repeated: BlobStatus = put(&sha, 0, 8, b"1234").await?.json().await?;
    assert_eq!((repeated.state, repeated.received), (BlobState::Partial, 4));
    // A chunk that skips ahead is refused with where to resume.
    let skipped = put(&sha, 6, 8, b"78").await?;
    assert_eq!(skipped.status(), StatusCode::CONFLICT);
    let error: ApiError = skipped.json().await?;
    assert_eq!(error.code, ErrorCode::BlobOffsetMismatch);
    assert!(error.message.contains("offset 4"), "{}", error.message);
    // The last chunk completes the blob only if the bytes hash to its name.
    let last = put(&sha, 4, 8, b"5678").await?;
    assert_eq!(last.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: ApiError = last.json().await?;
    assert_eq!(error.code, ErrorCode::BlobHashMismatch);
    let gone = http()
        .get(format!("{}/api/v1/blobs/{sha}", server.url))
        .bearer_auth(&device.enrolled.token)
        .send()
        .await?;
    assert_eq!(
        gone.status(),
        StatusCode::NOT_FOUND,
        "the bad upload was discarded"
    );

    // Without a token, nothing.
    let anonymous = http()
        .get(format!("{}/api/v1/blobs/{sha}", server.url))
        .send()
        .await?;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}
