//! [`Error`]: how a proc that returns no result ended.

use std::fmt;

use crate::bindings::parproc::jobs::types::ProcError;

/// How a proc ended without a result: it failed, it skipped itself, or nothing changed.
///
/// Return it from a job function (`Result<T, Error>`) to end the proc that way. The three
/// constructors map onto parproc's exceptions and the WIT `proc-error`:
///
/// | constructor | parproc | state |
/// |---|---|---|
/// | [`Error::failed`] | `ProcFailedError(msg)` | failed |
/// | [`Error::skipped`] | `ProcSkippedError` | skipped (success for dependents) |
/// | [`Error::no_change`] | `ProcNoChangeError` | skipped, "no change" (success for dependents) |
///
/// Any [`std::error::Error`] converts into a failure carrying its message and its source
/// chain (`outer: inner: innermost`), so `?` works on I/O errors, parse errors and the like.
/// Like `anyhow::Error`, `Error` does not implement `std::error::Error` itself; that is what
/// makes the blanket conversion possible.
///
/// # Examples
///
/// ```
/// use parproc_guest::{Error, ErrorKind};
///
/// fn read_config(path: &str) -> Result<String, Error> {
///     if path.is_empty() {
///         return Err(Error::skipped("no config for this run"));
///     }
///     Ok(std::fs::read_to_string(path)?) // an io::Error becomes a failure
/// }
///
/// assert_eq!(read_config("").unwrap_err().kind(), ErrorKind::Skipped);
/// let err = read_config("/does/not/exist").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Failed);
/// ```
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// Which way a proc ended without a result; see [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The proc failed (parproc's `ProcFailedError`); its dependents do not run.
    Failed,
    /// The proc skipped itself (parproc's `ProcSkippedError`); success for dependents.
    Skipped,
    /// Nothing changed (parproc's `ProcNoChangeError`); success for dependents.
    NoChange,
}

impl Error {
    /// A failure with this message (parproc's `ProcFailedError(msg)`).
    ///
    /// The message becomes the proc's failure text; parproc strips surrounding whitespace
    /// and shows nothing when the message is empty.
    pub fn failed(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    /// The proc skipped itself (parproc's `ProcSkippedError`); the message is informational.
    pub fn skipped(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Skipped, message)
    }

    /// Nothing changed (parproc's `ProcNoChangeError`); the message is informational.
    pub fn no_change(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::NoChange, message)
    }

    fn new(kind: ErrorKind, message: impl fmt::Display) -> Self {
        Self {
            kind,
            message: message.to_string(),
        }
    }

    /// Which way the proc ends.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The WIT `proc-error` this error crosses the boundary as.
    pub fn into_proc_error(self) -> ProcError {
        match self.kind {
            ErrorKind::Failed => ProcError::Failed(self.message),
            ErrorKind::Skipped => ProcError::Skipped(self.message),
            ErrorKind::NoChange => ProcError::NoChange(self.message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::failed(message)
    }
}

impl From<Error> for ProcError {
    fn from(error: Error) -> Self {
        error.into_proc_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cannot read `a.txt`")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn source_chain_is_folded_into_the_message() {
        let inner = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = Error::from(Outer(inner));
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert_eq!(err.message(), "cannot read `a.txt`: no such file");
    }

    #[test]
    fn kinds_map_onto_proc_error() {
        assert_eq!(
            Error::failed("x").into_proc_error(),
            ProcError::Failed("x".into())
        );
        assert_eq!(
            Error::skipped("y").into_proc_error(),
            ProcError::Skipped("y".into())
        );
        assert_eq!(
            Error::no_change("z").into_proc_error(),
            ProcError::NoChange("z".into())
        );
    }
}
