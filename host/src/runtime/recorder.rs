//! The trace of a proc's run: an [`FsObserver`] of the `wasi:filesystem`
//! layer that turns what the guest asked and got into [`Seen`] observations
//! (see `crate::trace`).
//!
//! Descriptors are followed by their resource rep, from the preopens down:
//! each `open-at` names its parent's place plus the path as given. Reads need
//! no event of their own: the file's digest is taken when it is opened, and
//! checked again when the proc ends (a file that changed while the proc ran
//! makes the trace unusable). Anything the trace cannot stand for — writing,
//! creating, removing or renaming, reading links, comparing objects, a refused
//! or trapped call — makes it unusable, so the outcome is not cached: when in
//! doubt, re-run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
};

use super::wasifs::event::{DescriptorKind, FsEvent, FsObserver, FsOutcome, Rep};
use crate::trace::{At, Kind, Roots, Seen, Trace, Traced, file_digest, listing};

/// A recorder's findings, shared with the runner that reads them at the end.
#[derive(Debug, Default)]
struct Findings {
    fds: HashMap<Rep, At>,
    seen: Vec<Seen>,
    unusable: Option<String>,
}

/// Records one proc's trace. Clone it to keep a handle: the runner installs
/// one clone in the store and calls [`Recorder::finish`] on another.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    roots: Arc<Roots>,
    findings: Arc<Mutex<Findings>>,
}

impl Recorder {
    /// A recorder for a proc granted `roots`.
    pub(crate) fn new(roots: Roots) -> Recorder {
        Recorder {
            roots: Arc::new(roots),
            findings: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Findings> {
        self.findings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The trace, checked once more against the disk: a file that changed
    /// while the proc ran makes it unusable.
    pub(crate) fn finish(&self) -> Traced {
        let f = self.lock();
        if let Some(why) = &f.unusable {
            return Traced::Unusable(why.clone());
        }
        let trace = Trace {
            roots: (*self.roots).clone(),
            seen: f.seen.clone(),
        };
        drop(f);
        match crate::trace::check(&trace) {
            Ok(()) => Traced::Yes(trace),
            Err(why) => Traced::Unusable(format!("{why} while the proc ran")),
        }
    }
}

/// `wasi:filesystem`'s name of an error code, as `crate::trace::code_of` names
/// the I/O errors the check meets again.
fn code_name(code: ErrorCode) -> String {
    match code {
        ErrorCode::NoEntry => "no-entry".into(),
        ErrorCode::NotPermitted => "not-permitted".into(),
        ErrorCode::NotDirectory => "not-directory".into(),
        ErrorCode::IsDirectory => "is-directory".into(),
        ErrorCode::Loop => "loop".into(),
        ErrorCode::Access => "access".into(),
        other => format!("unchecked ({other:?})"),
    }
}

fn kind(t: DescriptorType) -> Kind {
    match t {
        DescriptorType::RegularFile => Kind::File,
        DescriptorType::Directory => Kind::Dir,
        DescriptorType::SymbolicLink => Kind::Symlink,
        _ => Kind::Other,
    }
}

impl Findings {
    fn unusable(&mut self, why: impl Into<String>) {
        if self.unusable.is_none() {
            self.unusable = Some(why.into());
        }
    }

    fn see(&mut self, seen: Seen) {
        if !self.seen.contains(&seen) {
            self.seen.push(seen);
        }
    }

    /// The place of descriptor `fd`, or the trace is unusable.
    fn place(&mut self, fd: Rep) -> Option<At> {
        let at = self.fds.get(&fd).cloned();
        if at.is_none() {
            self.unusable("a descriptor the trace did not see opened");
        }
        at
    }

    /// An outcome the trace cannot stand for (refused by the cap, trapped).
    fn odd<T>(&mut self, what: &str, outcome: &FsOutcome<T>) -> bool {
        match outcome {
            FsOutcome::Capped => self.unusable(format!("`{what}` was refused (descriptor cap)")),
            FsOutcome::Trap(_) => self.unusable(format!("`{what}` trapped")),
            _ => return false,
        }
        true
    }
}

impl FsObserver for Recorder {
    fn observe(&mut self, event: FsEvent) {
        let roots = self.roots.clone();
        let mut f = self.lock();
        if f.unusable.is_some() {
            return;
        }
        match event {
            FsEvent::Preopens { outcome } => match outcome {
                FsOutcome::Ok(list) => {
                    for (fd, guest) in list {
                        f.fds.insert(
                            fd,
                            At {
                                root: guest,
                                path: Vec::new(),
                                follow: true,
                            },
                        );
                    }
                }
                other => {
                    f.odd("get-directories", &other);
                }
            },
            FsEvent::OpenAt {
                parent,
                path_flags,
                path,
                open_flags,
                flags,
                outcome,
            } => {
                let Some(base) = f.place(parent) else { return };
                let at = base.join(&path, path_flags.contains(PathFlags::SYMLINK_FOLLOW));
                let writes = flags
                    .intersects(DescriptorFlags::WRITE | DescriptorFlags::MUTATE_DIRECTORY)
                    || open_flags.intersects(OpenFlags::CREATE | OpenFlags::TRUNCATE);
                if writes {
                    f.unusable(format!("it opened `{}` for writing", at.shown()));
                    return;
                }
                if f.odd("open-at", &outcome) {
                    return;
                }
                match outcome {
                    FsOutcome::Ok(opened) => {
                        f.fds.insert(opened.fd, at.clone());
                        match opened.kind {
                            DescriptorKind::Directory => f.see(Seen::Dir { at }),
                            DescriptorKind::File => match file_digest(&roots, &at) {
                                Ok(digest) => f.see(Seen::File { at, digest }),
                                Err(e) => f.unusable(format!(
                                    "`{}` could not be digested: {e}",
                                    at.shown()
                                )),
                            },
                        }
                    }
                    FsOutcome::Err(code) => f.see(Seen::Missing {
                        at,
                        code: code_name(code),
                    }),
                    FsOutcome::Capped | FsOutcome::Trap(_) => {}
                }
            }
            FsEvent::Stat { fd, outcome } => {
                let Some(at) = f.place(fd) else { return };
                if f.odd("stat", &outcome) {
                    return;
                }
                match outcome {
                    FsOutcome::Ok(s) => f.see(Seen::Stat {
                        at,
                        kind: kind(s.kind),
                        size: s.size,
                    }),
                    FsOutcome::Err(code) => f.see(Seen::Missing {
                        at,
                        code: code_name(code),
                    }),
                    FsOutcome::Capped | FsOutcome::Trap(_) => {}
                }
            }
            FsEvent::StatAt {
                fd,
                path_flags,
                path,
                outcome,
            } => {
                let Some(base) = f.place(fd) else { return };
                let at = base.join(&path, path_flags.contains(PathFlags::SYMLINK_FOLLOW));
                if f.odd("stat-at", &outcome) {
                    return;
                }
                match outcome {
                    FsOutcome::Ok(s) => f.see(Seen::Stat {
                        at,
                        kind: kind(s.kind),
                        size: s.size,
                    }),
                    FsOutcome::Err(code) => f.see(Seen::Missing {
                        at,
                        code: code_name(code),
                    }),
                    FsOutcome::Capped | FsOutcome::Trap(_) => {}
                }
            }
            FsEvent::ReadDirectory { fd, outcome } => {
                let Some(at) = f.place(fd) else { return };
                if f.odd("read-directory", &outcome) {
                    return;
                }
                if let FsOutcome::Ok(_) = outcome {
                    match listing(&roots, &at) {
                        Ok(entries) => f.see(Seen::Listing { at, entries }),
                        Err(e) => f.unusable(format!("`{}` could not be listed: {e}", at.shown())),
                    }
                }
            }
            FsEvent::DropDescriptor { fd, .. } => {
                f.fds.remove(&fd);
            }
            // Reads are covered by the digest taken at the open; the rest only
            // reports what the trace already holds (or an inode, which is not
            // an input).
            FsEvent::Read { .. }
            | FsEvent::ReadViaStream { .. }
            | FsEvent::ReadDirectoryEntry { .. }
            | FsEvent::DropDirectoryEntryStream { .. }
            | FsEvent::GetType { .. }
            | FsEvent::GetFlags { .. }
            | FsEvent::Advise { .. }
            | FsEvent::MetadataHash { .. } => {}
            // libc's `stat` asks for the inode first, then `stat-at`: the inode
            // is not an input, but a failure here is all the guest learns.
            FsEvent::MetadataHashAt {
                fd,
                path_flags,
                path,
                outcome,
            } => {
                let Some(base) = f.place(fd) else { return };
                let at = base.join(&path, path_flags.contains(PathFlags::SYMLINK_FOLLOW));
                if f.odd("metadata-hash-at", &outcome) {
                    return;
                }
                if let FsOutcome::Err(code) = outcome {
                    f.see(Seen::Missing {
                        at,
                        code: code_name(code),
                    });
                }
            }
            other => {
                let name = format!("{other:?}");
                let call = name
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or("a call")
                    .to_owned();
                f.unusable(format!(
                    "the proc made a `{call}` call the trace cannot stand for"
                ));
            }
        }
    }
}
