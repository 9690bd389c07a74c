//! scratch
use vaka_shared::op::Op;
use vaka_shared::sync::*;

#[test]
fn scratch() {
    let op = r#"{"op_id":"019aa2f6-3b41-7c52-9d63-0e7f8a9b0c1d","device_id":"019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f","device_seq":1,"hlc":"1763762045120-00AB-019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f","base_seq":0,"entity_id":"019aa2f6-3b41-7c52-9d63-0e7f8a9b0c1e","entity":"patrol","fields":{"note":null,"kind":"night_walk","started_at":"2026-11-20T22:00:00.120+01:00"},"extra":1}"#;
    let r: Result<Op, _> = serde_json::from_str(op);
    println!("{r:?}");
    if let Ok(op) = r {
        println!("{}", serde_json::to_string(&op).unwrap());
        println!("{:?}", op.body.field_map());
    }
    let req = r#"{"push":[],"pull":{"cursor":0},"x":1}"#;
    println!("{:?}", serde_json::from_str::<SyncRequest>(req));
    let resp = r#"{"server_time_ms":1,"push":{"acked_through":0}}"#;
    println!("{:?}", serde_json::from_str::<SyncResponse>(resp));
    let f = r#"{"op_id":"019aa2f6-3b41-7c52-9d63-0e7f8a9b0c1d","device_id":"019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f","device_seq":1,"hlc":"1763762045120-00ab-019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f","base_seq":0,"entity_id":"019aa2f6-3b41-7c52-9d63-0e7f8a9b0c1e","entity":"incident","fields":{"location":{"lat":59.8586,"lon":17.6389,"accuracy_m":12.3}}}"#;
    let op: Op = serde_json::from_str(f).unwrap();
    println!("{}", serde_json::to_string(&op).unwrap());
}
