//! Typed argument values: conversions between [`Value`] and Rust types.

use std::fmt;

use crate::bindings::parproc::jobs::types::{Arg, Value, ValueType};

/// A Rust type a [`Value`] converts to: the parameter types of job functions and what
/// [`Context::arg`](crate::Context::arg) returns.
///
/// Implemented for `String`, every integer type (range-checked), `f64`, `f32`, `bool` and
/// [`Value`] itself. Conversions are lenient where nothing is lost: an integer converts to a
/// float, and a text value is parsed (`"3"` → `3`; `true`/`1`/`yes`/`on` and
/// `false`/`0`/`no`/`off` → `bool`).
///
/// # Examples
///
/// ```
/// use parproc_guest::{FromValue, Value};
///
/// assert_eq!(i32::from_value(&Value::Integer(7)), Ok(7));
/// assert_eq!(f64::from_value(&Value::Integer(2)), Ok(2.0));
/// assert_eq!(bool::from_value(&Value::Text("yes".into())), Ok(true));
/// assert_eq!(
///     u8::from_value(&Value::Integer(300)).unwrap_err(),
///     "300 is out of range for `u8`"
/// );
/// ```
pub trait FromValue: Sized {
    /// The WIT type a parameter of this Rust type is declared with.
    const VALUE_TYPE: ValueType;

    /// Converts, or says why not (a lowercase sentence without the argument's name).
    fn from_value(value: &Value) -> Result<Self, String>;
}

impl FromValue for Value {
    const VALUE_TYPE: ValueType = ValueType::Text;

    fn from_value(value: &Value) -> Result<Self, String> {
        Ok(value.clone())
    }
}

impl FromValue for String {
    const VALUE_TYPE: ValueType = ValueType::Text;

    fn from_value(value: &Value) -> Result<Self, String> {
        Ok(match value {
            Value::Text(text) => text.clone(),
            other => other.to_string(),
        })
    }
}

impl FromValue for bool {
    const VALUE_TYPE: ValueType = ValueType::Boolean;

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Boolean(flag) => Ok(*flag),
            Value::Integer(n) => Ok(*n != 0),
            Value::Text(text) => parse_bool(text).ok_or_else(|| {
                format!("{text:?} is not a boolean (true/false, yes/no, on/off, 1/0)")
            }),
            Value::Float(x) => Err(format!("{x} is a float, not a boolean")),
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

macro_rules! from_value_int {
    ($($ty:ty),* $(,)?) => {$(
        impl FromValue for $ty {
            const VALUE_TYPE: ValueType = ValueType::Integer;

            fn from_value(value: &Value) -> Result<Self, String> {
                let wide: i64 = match value {
                    Value::Integer(n) => *n,
                    Value::Text(text) => text
                        .trim()
                        .parse()
                        .map_err(|_| format!("{text:?} is not an integer"))?,
                    Value::Boolean(flag) => i64::from(*flag),
                    Value::Float(x) => return Err(format!("{x} is a float, not an integer")),
                };
                <$ty>::try_from(wide)
                    .map_err(|_| format!("{wide} is out of range for `{}`", stringify!($ty)))
            }
        }
    )*};
}

from_value_int!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

impl FromValue for f64 {
    const VALUE_TYPE: ValueType = ValueType::Float;

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Float(x) => Ok(*x),
            // Rounds like Python's `float(n)`.
            Value::Integer(n) => Ok(*n as f64),
            Value::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| format!("{text:?} is not a number")),
            Value::Boolean(flag) => Ok(if *flag { 1.0 } else { 0.0 }),
        }
    }
}

impl FromValue for f32 {
    const VALUE_TYPE: ValueType = ValueType::Float;

    fn from_value(value: &Value) -> Result<Self, String> {
        // `f32` parameters accept the precision loss.
        f64::from_value(value).map(|x| x as f32)
    }
}

impl fmt::Display for Value {
    /// The value as parproc would put it into a name: text as is, `True`/`False` for
    /// booleans (Python's `str(bool)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) => f.write_str(text),
            Value::Integer(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Boolean(true) => f.write_str("True"),
            Value::Boolean(false) => f.write_str("False"),
        }
    }
}

impl Value {
    /// The WIT type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Text(_) => ValueType::Text,
            Value::Integer(_) => ValueType::Integer,
            Value::Float(_) => ValueType::Float,
            Value::Boolean(_) => ValueType::Boolean,
        }
    }

    /// The value as JSON (`"text"`, `3`, `2.5`, `true`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(text) => serde_json::Value::from(text.as_str()),
            Value::Integer(n) => serde_json::Value::from(*n),
            Value::Float(x) => serde_json::Value::from(*x),
            Value::Boolean(flag) => serde_json::Value::from(*flag),
        }
    }
}

impl serde::Serialize for Value {
    /// As the plain JSON value (`"text"`, `3`, `2.5`, `true`), so a job may return a
    /// [`Value`] as its result.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(text) => serializer.serialize_str(text),
            Value::Integer(n) => serializer.serialize_i64(*n),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Boolean(flag) => serializer.serialize_bool(*flag),
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<&String> for Value {
    fn from(text: &String) -> Self {
        Value::Text(text.clone())
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Value::Boolean(flag)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<f32> for Value {
    fn from(x: f32) -> Self {
        Value::Float(f64::from(x))
    }
}

macro_rules! value_from_int {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for Value {
            fn from(n: $ty) -> Self {
                Value::Integer(i64::from(n))
            }
        }
    )*};
}

value_from_int!(i8, i16, i32, i64, u8, u16, u32);

impl Arg {
    /// An argument named `name` with this value.
    pub fn new(name: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Turns `(name, value)` pairs into WIT args.
pub(crate) fn to_args<K, V>(args: impl IntoIterator<Item = (K, V)>) -> Vec<Arg>
where
    K: Into<String>,
    V: Into<Value>,
{
    args.into_iter()
        .map(|(name, value)| Arg::new(name, value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_range_checked() {
        assert_eq!(i32::from_value(&Value::Integer(-5)), Ok(-5));
        assert_eq!(
            i32::from_value(&Value::Integer(3_000_000_000)),
            Err("3000000000 is out of range for `i32`".to_owned())
        );
        assert_eq!(
            u32::from_value(&Value::Integer(-1)),
            Err("-1 is out of range for `u32`".to_owned())
        );
        assert_eq!(
            usize::from_value(&Value::Text("x".into())),
            Err("\"x\" is not an integer".to_owned())
        );
    }

    #[test]
    fn text_and_display() {
        assert_eq!(String::from_value(&Value::Integer(7)), Ok("7".to_owned()));
        assert_eq!(Value::Boolean(true).to_string(), "True");
        assert_eq!(Value::Float(1000.0).to_string(), "1000.0");
        assert_eq!(bool::from_value(&Value::Text("No".into())), Ok(false));
        assert!(bool::from_value(&Value::Text("maybe".into())).is_err());
    }
}
