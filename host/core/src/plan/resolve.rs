//! The seam through which the planner asks the guest for computed deps and choices.
//!
//! The planner never calls the guest. When it needs an answer it does not have, it
//! stops with [`crate::plan::PlanError::Need`] carrying a [`ResolveRequest`]; the
//! session asks the runtime, stores the [`ResolveAnswer`] with
//! [`crate::plan::Planner::provide`], and retries. Creation is idempotent, so a retry
//! picks up where the first attempt stopped.

use crate::spec::Value;

/// What a guest callback is told (parproc's `DepProcContext`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DepContext {
    /// The name being created (may contain globs for choices).
    pub proc_name: String,
    /// Proto defaults overridden by values taken from the name, as text.
    pub args: Vec<(String, String)>,
    /// Global params: name and JSON text.
    pub params: Vec<(String, String)>,
}

/// A question for the guest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResolveRequest {
    /// The computed dep at `index` of declaration `decl`.
    Deps {
        /// The declaration's name.
        decl: String,
        /// Index in its deps list.
        index: u32,
        /// Context.
        ctx: DepContext,
    },
    /// The choices of one placeholder (`param`) or of all (`None`).
    Choices {
        /// The declaration's name.
        decl: String,
        /// The placeholder, or `None` for the whole map.
        param: Option<String>,
        /// Context.
        ctx: DepContext,
    },
}

/// The guest's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveAnswer {
    /// Names for a `Deps` request, or the guest's error (or a trap/budget message).
    Deps(Result<Vec<String>, String>),
    /// Choices for a `Choices` request.
    Choices(Result<Vec<(String, Vec<Value>)>, String>),
}
