//! The trace of a proc's run: an [`FsObserver`] of the `wasi:filesystem`
//! layer that turns what the guest asked and got into [`Seen`] observations
//! (see `crate::trace`).
//!
//! Descriptors are followed by their resource rep, from the preopens down:
//! each `open-at` names its parent's place plus the path as given. Reads need
//! no event of their own: the file's digest is taken when it is opened, and
//! checked again when the proc ends (a file that changed while the proc ran
//! makes the trace unusable). A file opened for writing, a directory created
//! and a file or directory removed are *outputs*: what the proc left there is
//! recorded when it ends, to be restored on a later hit; reading back what it
//! wrote is not an input. Anything else the trace cannot stand for — renaming,
//! linking, reading links, comparing objects, a refused or trapped call —
//! makes it unusable, so the outcome is not cached: when in doubt, re-run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
};

use super::wasifs::event::{DescriptorKind, FsEvent, FsObserver, FsOutcome, Rep};
use crate::trace::{At, Kind, Left, Roots, Seen, Trace, Traced, listing, opened_file_digest};

/// A recorder's findings, shared with the runner that reads them at the end.
#[derive(Debug, Default)]
struct Findings {
    fds: HashMap<Rep, At>,
    seen: Vec<Seen>,
    /// Places it created, wrote or removed, in order.
    written: Vec<At>,
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

    /// Expand the declared inputs into the trace, before the proc runs;
    /// `Err` says why one cannot be expanded.
    pub(crate) fn declare(
        &self,
        inputs: Vec<crate::declared::Matcher>,
        ignore: &[String],
    ) -> Result<(), String> {
        for input in inputs {
            let files = crate::declared::expand(&self.roots, &input, ignore)?;
            let root = input.grant(&self.roots).unwrap_or_default().to_owned();
            self.lock().seen.push(Seen::Declared {
                at: At {
                    root,
                    path: Vec::new(),
                    follow: true,
                },
                input,
                ignore: ignore.to_vec(),
                files,
            });
        }
        Ok(())
    }

    /// A recorder with the same roots and nothing recorded: for a tool the
    /// proc runs (its store numbers descriptors on its own), merged back
    /// with [`Recorder::absorb`].
    pub(crate) fn sibling(&self) -> Recorder {
        Recorder {
            roots: Arc::clone(&self.roots),
            findings: Arc::default(),
        }
    }

    /// Add what `other` (a [`Recorder::sibling`]) saw and wrote to this
    /// trace, after what this one has so far.
    pub(crate) fn absorb(&self, other: &Recorder) {
        let theirs = std::mem::take(&mut *other.lock());
        let mut f = self.lock();
        if let Some(why) = theirs.unusable {
            f.unusable(why);
        }
        for seen in theirs.seen {
            f.see(seen);
        }
        f.written.extend(theirs.written);
    }

    /// Make the trace unusable for `why` (the outcome is not cached).
    pub(crate) fn spoil(&self, why: &str) {
        self.lock().unusable(why);
    }

    /// The trace, checked once more against the disk: a file that changed
    /// while the proc ran makes it unusable.
    pub(crate) fn finish(&self) -> Traced {
        let f = self.lock();
        if let Some(why) = &f.unusable {
            return Traced::Unusable(why.clone());
        }
        let mut trace = Trace {
            roots: (*self.roots).clone(),
            seen: f.seen.clone(),
            outputs: Vec::new(),
            calls: Vec::new(),
        };
        let written = f.written.clone();
        drop(f);
        // A directory it found above one of its outputs (`create_dir_all` of
        // an existing `out/`) is an output too, not an input: a later hit
        // creates it again before the files below it.
        let above = ancestors(&written);
        let mut dirs = Vec::new();
        trace.seen.retain(|s| {
            let parent = match s {
                Seen::Exists { at } | Seen::Dir { at } => Some(at),
                Seen::Stat {
                    at,
                    kind: Kind::Dir,
                    ..
                } => Some(at),
                _ => None,
            };
            match parent.and_then(|at| plain(at).map(|p| (at, p))) {
                Some((at, p)) if above.contains(&(at.root.clone(), p.clone())) => {
                    let mut at = at.clone();
                    at.follow = false;
                    if !dirs.contains(&at) {
                        dirs.push(at);
                    }
                    false
                }
                _ => true,
            }
        });
        for at in dirs {
            trace.outputs.push((at, Left::Dir));
        }
        if let Err(why) = crate::trace::check(&trace) {
            return Traced::Unusable(format!("{why} while the proc ran"));
        }
        for at in written {
            match crate::trace::left(&self.roots, &at) {
                Ok(left) => {
                    trace.outputs.retain(|(a, _)| *a != at);
                    trace.outputs.push((at, left));
                }
                Err(e) => {
                    return Traced::Unusable(format!(
                        "its output `{}` cannot be read: {e}",
                        at.shown()
                    ));
                }
            }
        }
        Traced::Yes(trace)
    }
}

/// The path of `at` as one relative path, when it is plain: no `.`, `..` or
/// empty segment (only then can its ancestors be told by text).
fn plain(at: &At) -> Option<String> {
    let joined = at.path.join("/");
    let ok = !joined.is_empty()
        && joined
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    ok.then_some(joined)
}

/// The directories above each plain output (`out` for `out/app.bin`), by root.
fn ancestors(written: &[At]) -> std::collections::HashSet<(String, String)> {
    let mut set = std::collections::HashSet::new();
    for at in written {
        let Some(p) = plain(at) else { continue };
        let mut prefix = String::new();
        let segs: Vec<&str> = p.split('/').collect();
        for seg in &segs[..segs.len() - 1] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(seg);
            set.insert((at.root.clone(), prefix.clone()));
        }
    }
    set
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

    /// A call at `at` failed with `code`: `exist` says something is there,
    /// any other code that something is not (or cannot be reached).
    fn failed(&mut self, at: At, code: ErrorCode) {
        match code {
            ErrorCode::Exist => self.see(Seen::Exists { at }),
            code => self.see(Seen::Missing {
                at,
                code: code_name(code),
            }),
        }
    }

    /// A stat at `at` and what it gave.
    fn stat(&mut self, call: &str, at: At, outcome: FsOutcome<super::wasifs::event::Stat>) {
        if self.odd(call, &outcome) {
            return;
        }
        // A stat of its own output (CPython stats every file it opens for
        // writing) is not an input: what it left there is recorded as output.
        if self
            .written
            .iter()
            .any(|w| w.root == at.root && w.path == at.path)
        {
            return;
        }
        match outcome {
            FsOutcome::Ok(s) => self.see(Seen::Stat {
                at,
                kind: kind(s.kind),
                size: s.size,
            }),
            FsOutcome::Err(code) => self.failed(at, code),
            FsOutcome::Capped | FsOutcome::Trap(_) => {}
        }
    }

    /// `at` is an output from now on.
    fn wrote(&mut self, at: At) {
        if !self.written.contains(&at) {
            self.written.push(at);
        }
    }

    /// The place `path` names relative to descriptor `fd` (a final symlink
    /// followed when `flags` say so), or the trace is unusable.
    fn place_at(&mut self, fd: Rep, path: &str, flags: PathFlags) -> Option<At> {
        let base = self.place(fd)?;
        Some(base.join(path, flags.contains(PathFlags::SYMLINK_FOLLOW)))
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
                let Some(at) = f.place_at(parent, &path, path_flags) else {
                    return;
                };
                let writes = flags
                    .intersects(DescriptorFlags::WRITE | DescriptorFlags::MUTATE_DIRECTORY)
                    || open_flags.intersects(OpenFlags::CREATE | OpenFlags::TRUNCATE);
                if f.odd("open-at", &outcome) {
                    return;
                }
                if writes {
                    match outcome {
                        FsOutcome::Ok(opened) if opened.kind == DescriptorKind::File => {
                            f.fds.insert(opened.fd, at.clone());
                            f.wrote(at);
                        }
                        FsOutcome::Ok(_) => f.unusable(format!(
                            "it opened the directory `{}` to change it",
                            at.shown()
                        )),
                        // A failed open for writing changed nothing; what it
                        // learnt is as for a read.
                        FsOutcome::Err(code) => f.failed(at, code),
                        FsOutcome::Capped | FsOutcome::Trap(_) => {}
                    }
                    return;
                }
                if f.written.contains(&at) {
                    // Reading back its own output: not an input.
                    if let FsOutcome::Ok(opened) = outcome {
                        f.fds.insert(opened.fd, at);
                    }
                    return;
                }
                match outcome {
                    FsOutcome::Ok(opened) => {
                        f.fds.insert(opened.fd, at.clone());
                        match opened.kind {
                            DescriptorKind::Directory => f.see(Seen::Dir { at }),
                            DescriptorKind::File => match opened_file_digest(&roots, &at) {
                                Ok(digest) => f.see(Seen::File { at, digest }),
                                Err(e) => f.unusable(format!(
                                    "`{}` could not be digested: {e}",
                                    at.shown()
                                )),
                            },
                        }
                    }
                    FsOutcome::Err(code) => f.failed(at, code),
                    FsOutcome::Capped | FsOutcome::Trap(_) => {}
                }
            }
            FsEvent::Stat { fd, outcome } => {
                let Some(at) = f.place(fd) else { return };
                f.stat("stat", at, outcome);
            }
            FsEvent::StatAt {
                fd,
                path_flags,
                path,
                outcome,
            } => {
                let Some(at) = f.place_at(fd, &path, path_flags) else {
                    return;
                };
                f.stat("stat-at", at, outcome);
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
            FsEvent::CreateDirectoryAt { fd, path, outcome }
            | FsEvent::RemoveDirectoryAt { fd, path, outcome }
            | FsEvent::UnlinkFileAt { fd, path, outcome } => {
                let Some(at) = f.place_at(fd, &path, PathFlags::empty()) else {
                    return;
                };
                if f.odd("a directory change", &outcome) {
                    return;
                }
                match outcome {
                    FsOutcome::Ok(()) => f.wrote(at),
                    FsOutcome::Err(code) => f.failed(at, code),
                    FsOutcome::Capped | FsOutcome::Trap(_) => {}
                }
            }
            // Writes go to a descriptor opened for writing, which is an output
            // already; its size, times and syncs change nothing else.
            FsEvent::Write { .. }
            | FsEvent::WriteViaStream { .. }
            | FsEvent::AppendViaStream { .. }
            | FsEvent::SetSize { .. }
            | FsEvent::SetTimes { .. }
            | FsEvent::SyncData { .. }
            | FsEvent::Sync { .. } => {}
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
                let Some(at) = f.place_at(fd, &path, path_flags) else {
                    return;
                };
                if f.odd("metadata-hash-at", &outcome) {
                    return;
                }
                if let FsOutcome::Err(code) = outcome {
                    f.failed(at, code);
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
