//! Running procs on other machines through NATS JetStream
//! (docs/distributed.md): the planner stays in the coordinator
//! ([`coordinator::RemoteRunner`], a `crate::exec::ProcRunner`); ready procs go
//! to a work-queue stream; [`worker::serve`] takes them, claims each from its
//! coordinator, runs it in its own sandbox and sends the report back.

pub mod conn;
pub mod coordinator;
pub mod wire;
pub mod worker;
