//! The user's sandbox policy, pure: per-proc budgets (defaults, pattern rules
//! and the module's own lower limits) and capability grants (directories,
//! environment variables, network addresses, input, WASI tools, HTTP
//! origins), with the `--dry-run`
//! rendering of what each proc gets.
//!
//! Nothing here touches wasmtime or tokio: the session asks [`BudgetRules`] for
//! a proc's budget, the runtime asks [`Grants::resolve`] what a proc may touch
//! (and fails it before it starts when a need is not granted), and the CLI
//! parses flags with the `parse_*` functions.
//!
//! ## The rule
//!
//! A proc gets what it *declared* (`needs` in its declaration) **and** the user
//! *granted* (flags), never more: an undeclared grant is not given, an
//! ungranted need fails the proc before it starts with a message naming the
//! grant and the flag. A module is untrusted, so a budget it declares can only
//! lower the user's limit ([`effective`]).

mod grants;
mod origin;

pub use grants::{
    DirGrant, Granted, GrantedDir, Grants, NetAddr, PlanRow, ToolGrant, normalize_guest,
    parse_dir_grant, parse_env_grant, parse_net_addr, parse_tool_dir, parse_tool_grant,
    render_dry_run,
};
pub use origin::{CaFile, HostPattern, OriginPattern, parse_ca_file, parse_origin_pattern};
pub use parproc_core::budget::{BudgetRules, LimitArg, Rules, effective, parse_limit_arg};
