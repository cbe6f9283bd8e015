//! One setting's value read from a configuration file, shared by the
//! config reader and the modules that read their own keys (limits, S3
//! storage): a value of the wrong kind is named by its key.

use serde_norway::Value;

use crate::Error;

pub(crate) fn bad(key: &str, expected: &'static str, found: &Value) -> Error {
    Error::ConfigValue {
        key: key.to_owned(),
        expected,
        found: serde_norway::to_string(found)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

pub(crate) fn text_of(key: &str, v: &Value) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(bad(key, "a string", other)),
    }
}
