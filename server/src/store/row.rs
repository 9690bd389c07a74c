//! Reading typed values out of rows: ids, enums and clocks are stored as text and come out of the
//! store as their types, or as an error that says which column was damaged — never a silent
//! default.

use rusqlite::Row;
use rusqlite::types::{FromSqlError, Type};
use std::str::FromStr;

/// Column `index` of `row`, parsed with [`FromStr`] (ids, clocks).
pub fn parsed<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(index)?;
    text.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

/// Column `index` of `row`, or `None` when it is NULL, parsed with [`FromStr`].
pub fn parsed_opt<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: Option<String> = row.get(index)?;
    text.map(|text| {
        text.parse()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
    })
    .transpose()
}

/// Column `index` of `row`, read by `from_wire` (the enums' stored names).
pub fn wire<T>(
    row: &Row<'_>,
    index: usize,
    from_wire: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    from_wire(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            Box::new(FromSqlError::Other(
                format!("not a known value: {text:?}").into(),
            )),
        )
    })
}

/// Column `index` of `row`, JSON read into its type.
pub fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

/// A stored enum's value by its name, or [`StoreError::Damaged`] naming it.
pub fn known<T>(
    text: &str,
    from_wire: impl FnOnce(&str) -> Option<T>,
) -> Result<T, super::StoreError> {
    from_wire(text).ok_or_else(|| super::StoreError::Damaged(format!("unknown value {text:?}")))
}
