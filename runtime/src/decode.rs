//! JSON decoding with the field path in error messages (shared by client and server).

use serde::de::DeserializeOwned;

/// Decodes `bytes` as one JSON value of type `T`; the error message names the field path
/// (`field `pagination.pageSize`: invalid type ...`) when the error is inside a field.
///
/// The plain `serde_json::from_slice` runs first; only when it fails is the input decoded again
/// with the path-tracking decoder, to build the message (the same text as if it had run alone).
pub(crate) fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(_) => decode_json_with_path(bytes),
    }
}

/// [`decode_json`]'s slow path: `serde_path_to_error` around the same decoder.
#[cold]
fn decode_json_with_path<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        if path.is_empty() || path == "." {
            e.inner().to_string()
        } else {
            format!("field `{path}`: {}", e.inner())
        }
    })?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v)
}
