//! Typed argument values and conversion from the text taken out of names.

use std::fmt;

/// The declared type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ValueType {
    /// Text.
    Text,
    /// Signed 64-bit integer.
    Integer,
    /// 64-bit float.
    Float,
    /// Boolean.
    Boolean,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::Text => "text",
            ValueType::Integer => "integer",
            ValueType::Float => "float",
            ValueType::Boolean => "boolean",
        })
    }
}

/// A typed value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// Text.
    Text(String),
    /// Integer.
    Integer(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Boolean(bool),
}

impl Value {
    /// Convert text taken from a name to `ty`. Booleans accept `true/1/yes/on` and
    /// `false/0/no/off` (any case); anything else is an error, as is a number that
    /// does not parse.
    pub fn parse(text: &str, ty: ValueType) -> Result<Value, String> {
        match ty {
            ValueType::Text => Ok(Value::Text(text.to_owned())),
            ValueType::Integer => text
                .trim()
                .parse::<i64>()
                .map(Value::Integer)
                .map_err(|_| format!("{text:?} is not an integer")),
            ValueType::Float => match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Value::Float(v)),
                _ => Err(format!("{text:?} is not a finite number")),
            },
            ValueType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Value::Boolean(true)),
                "false" | "0" | "no" | "off" => Ok(Value::Boolean(false)),
                _ => Err(format!(
                    "{text:?} is not a boolean (true/false, yes/no, on/off, 1/0)"
                )),
            },
        }
    }

    /// Convert this value to `ty` (through its text form when the types differ).
    pub fn convert(&self, ty: ValueType) -> Result<Value, String> {
        match (self, ty) {
            (Value::Text(_), ValueType::Text)
            | (Value::Integer(_), ValueType::Integer)
            | (Value::Float(_), ValueType::Float)
            | (Value::Boolean(_), ValueType::Boolean) => Ok(self.clone()),
            (Value::Integer(i), ValueType::Float) => Ok(Value::Float(*i as f64)),
            _ => Value::parse(&self.to_string(), ty),
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Integer(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Value::from(*f),
            Value::Boolean(b) => serde_json::Value::Bool(*b),
        }
    }
}

/// The text form used in names (`build::7`, `flag::true`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Boolean(b) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_type() {
        assert_eq!(Value::parse("7", ValueType::Integer), Ok(Value::Integer(7)));
        assert_eq!(
            Value::parse("007", ValueType::Integer),
            Ok(Value::Integer(7))
        );
        assert!(Value::parse("x", ValueType::Integer).is_err());
        assert_eq!(Value::parse("2.5", ValueType::Float), Ok(Value::Float(2.5)));
        assert!(Value::parse("nan", ValueType::Float).is_err());
        assert_eq!(
            Value::parse("Yes", ValueType::Boolean),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            Value::parse("off", ValueType::Boolean),
            Ok(Value::Boolean(false))
        );
        assert!(Value::parse("maybe", ValueType::Boolean).is_err());
        assert_eq!(
            Value::parse("a b", ValueType::Text),
            Ok(Value::Text("a b".into()))
        );
    }

    #[test]
    fn converts_between_types() {
        assert_eq!(
            Value::Integer(3).convert(ValueType::Float),
            Ok(Value::Float(3.0))
        );
        assert_eq!(
            Value::Integer(3).convert(ValueType::Text),
            Ok(Value::Text("3".into()))
        );
        assert_eq!(
            Value::Text("4".into()).convert(ValueType::Integer),
            Ok(Value::Integer(4))
        );
        assert!(Value::Float(1.5).convert(ValueType::Integer).is_err());
    }
}
