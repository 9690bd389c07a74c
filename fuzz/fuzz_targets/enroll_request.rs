//! Any bytes as the body of `POST /api/v1/enroll`: decoded as an `EnrollRequest` the way the
//! server reads it, the device name checked and the code normalised and hashed for the lookup,
//! as the enrolment handler does. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vaka_shared::sync::{EnrollRequest, limits};

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<EnrollRequest>(data) else {
        return;
    };
    match request.trimmed_device_name() {
        Ok(name) => {
            assert!(!name.is_empty());
            assert!(name.chars().count() <= limits::MAX_DEVICE_NAME_CHARS);
        }
        Err(refused) => {
            let _ = refused.to_string();
            return;
        }
    }
    let hash = vaka_server::secrets::hash_code(&request.code);
    assert_eq!(hash.len(), 64, "a code hashes to hex SHA-256");
});
