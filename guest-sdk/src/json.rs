//! The JSON texts that cross the boundary (params and results).

use serde::Serialize;

/// Turns the WIT params (name, JSON text) into a JSON map. A text that is not valid JSON
/// (a host bug) is kept as a JSON string rather than dropped.
pub(crate) fn params_map(
    params: Vec<(String, String)>,
) -> serde_json::Map<String, serde_json::Value> {
    params
        .into_iter()
        .map(|(name, text)| {
            let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
            (name, value)
        })
        .collect()
}

/// The JSON text of a value the module declares (a module param), or why it has none.
pub(crate) fn to_text<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}
