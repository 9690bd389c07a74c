//! Request structs are read from JSON objects only. Serde's derive also takes a struct from an
//! array of its fields in order (`[]` for a struct whose fields all have defaults); the protocol
//! does not. Such a struct is derived with `#[serde(remote = "Self")]`, which makes the derived
//! code inherent functions, and [`objects_only!`] implements the traits on top of them, reading
//! only from an object.

/// Implements `Deserialize` (`de:`), or `Serialize` and `Deserialize` (`ser_de:`), for types
/// derived with `#[serde(remote = "Self")]`, taking only a JSON object.
macro_rules! objects_only {
    (de: $($ty:ty),+ $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;
                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a JSON object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<$ty, A::Error> {
                        <$ty>::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    }
                }
                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    )+};
    (ser_de: $($ty:ty),+ $(,)?) => {$(
        $crate::object::objects_only!(de: $ty);
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                <$ty>::serialize(self, serializer)
            }
        }
    )+};
}
pub(crate) use objects_only;

#[cfg(test)]
mod tests {
    use crate::model::{Location, TrackPoint};
    use crate::sync::{EnrollRequest, PullRequest, SyncRequest};

    #[test]
    fn request_structs_come_from_objects_not_arrays() {
        assert!(serde_json::from_str::<SyncRequest>("{}").is_ok());
        assert!(serde_json::from_str::<SyncRequest>("[]").is_err());
        assert!(serde_json::from_str::<PullRequest>("[0]").is_err());
        assert!(serde_json::from_str::<EnrollRequest>(r#"["K7QM-2XNP-84RT", "x"]"#).is_err());
        assert!(serde_json::from_str::<Location>("[59.6, 16.5]").is_err());
        let point: serde_json::Value =
            serde_json::json!({"at": "2026-11-21T22:14:05Z", "lat": 59.6, "lon": 16.5});
        assert!(serde_json::from_value::<TrackPoint>(point.clone()).is_ok());
        assert_eq!(
            serde_json::to_value(serde_json::from_value::<TrackPoint>(point.clone()).ok())
                .ok()
                .map(|v| v["lat"].clone()),
            Some(serde_json::json!(59.6))
        );
    }
}
