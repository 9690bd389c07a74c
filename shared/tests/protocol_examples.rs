//! The JSON examples of `docs/protocol.md` are real wire values: each block marked
//! `<!-- example: Type -->` parses as that type and serialises back to the same JSON, so the
//! document fails this test when it drifts from the types.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vaka_shared::op::Op;
use vaka_shared::sync::{
    ApiError, EnrollRequest, EnrollResponse, Health, PullPage, SyncRequest, SyncResponse,
};

const DOC: &str = include_str!("../../docs/protocol.md");
const MARKER: &str = "<!-- example: ";

/// One marked example: its type name, the line it starts on and its JSON text.
struct Example {
    type_name: String,
    line: usize,
    json: String,
}

/// Every ```json block of the document, with the type named in the marker line above it.
/// A ```json block without a marker is an error: unchecked JSON is not allowed in the document.
fn examples() -> Result<Vec<Example>, String> {
    let lines: Vec<&str> = DOC.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "```json" {
            i += 1;
            continue;
        }
        let marker = i
            .checked_sub(1)
            .map(|m| lines[m].trim())
            .and_then(|l| l.strip_prefix(MARKER))
            .and_then(|l| l.strip_suffix("-->"))
            .ok_or_else(|| format!("line {}: ```json block without `{MARKER}Type -->`", i + 1))?;
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .ok_or_else(|| format!("line {}: unclosed ```json block", i + 1))?;
        found.push(Example {
            type_name: marker.trim().to_owned(),
            line: i + 1,
            json: lines[i + 1..end].join("\n"),
        });
        i = end + 1;
    }
    Ok(found)
}

/// Parses `json` as `T` and checks that it serialises back to the same JSON value.
fn round_trip<T: DeserializeOwned + Serialize>(json: &str) -> Result<T, String> {
    let value: T = serde_json::from_str(json).map_err(|e| format!("does not parse: {e}"))?;
    let written = serde_json::to_value(&value).map_err(|e| e.to_string())?;
    let original: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if written != original {
        return Err(format!(
            "does not serialise back to itself; the types write:\n{written:#}"
        ));
    }
    Ok(value)
}

/// An op must be stamped by the device that made it, or the server refuses it.
fn consistent<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Result<(), String> {
    for op in ops {
        if op.hlc.device != op.device_id {
            return Err(format!("op {} has an hlc of another device", op.op_id));
        }
    }
    Ok(())
}

fn check(example: &Example) -> Result<(), String> {
    let json = example.json.as_str();
    match example.type_name.as_str() {
        "EnrollRequest" => round_trip::<EnrollRequest>(json).map(drop),
        "EnrollResponse" => round_trip::<EnrollResponse>(json).map(drop),
        "ApiError" => round_trip::<ApiError>(json).map(drop),
        "Health" => round_trip::<Health>(json).map(drop),
        "AreasResponse" => round_trip::<vaka_shared::sync::AreasResponse>(json).map(drop),
        "BlobStatus" => round_trip::<vaka_shared::blob::BlobStatus>(json).map(drop),
        "Op" => consistent([&round_trip::<Op>(json)?]),
        "SyncRequest" => consistent(&round_trip::<SyncRequest>(json)?.push),
        "SyncResponse" => {
            let response = round_trip::<SyncResponse>(json)?;
            consistent(
                response
                    .pull
                    .iter()
                    .flat_map(|p| p.ops.iter().map(|o| &o.op)),
            )
        }
        "PullPage" => consistent(round_trip::<PullPage>(json)?.ops.iter().map(|o| &o.op)),
        other => Err(format!("unknown example type `{other}`")),
    }
}

#[test]
fn every_json_example_in_the_protocol_document_is_a_valid_wire_value() {
    let examples = examples().unwrap_or_else(|e| panic!("docs/protocol.md: {e}"));
    assert!(
        examples.len() >= 20,
        "only {} examples found",
        examples.len()
    );
    let failures: Vec<String> = examples
        .iter()
        .filter_map(|ex| {
            check(ex)
                .err()
                .map(|e| format!("docs/protocol.md line {} ({}): {e}", ex.line, ex.type_name))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
