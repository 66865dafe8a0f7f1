//! What the interposed filesystem reports: one [`FsEvent`] per guest call of
//! `wasi:filesystem`, with the call's arguments (paths exactly as the guest
//! passed them: `a/../b` stays `a/../b`) and what the call returned.
//!
//! Events are small: no file contents, no directory snapshots. A `read`
//! reports its offset, the length asked for and how many bytes came back; a
//! listing reports each entry's name and type as the guest reads it.

use wasmtime_wasi::p2::FsResult;
use wasmtime_wasi::p2::bindings::clocks::wall_clock::Datetime;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode,
    MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};

/// A resource as the guest holds it: its rep, the index of its entry in the
/// store's resource table. Reps are unique among the live resources of one
/// store (descriptors, directory-entry streams and I/O streams share the
/// table) and are reused once a resource is dropped.
pub(crate) type Rep = u32;

/// Receives every `wasi:filesystem` call of one store, after it returned.
///
/// It runs on the store's task, inside the host call: it should be quick
/// (push to a buffer, bump a counter) and must not block.
pub(crate) trait FsObserver: Send {
    /// One call and how it ended.
    fn observe(&mut self, event: FsEvent);
}

/// How a call ended, as the guest saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FsOutcome<T> {
    /// wasmtime-wasi answered with this value (or its essential part).
    Ok(T),
    /// wasmtime-wasi answered with this error code.
    Err(ErrorCode),
    /// The descriptor cap refused the call without asking wasmtime-wasi; the
    /// guest got [`super::CAP_ERROR`].
    Capped,
    /// The call trapped (a bad handle, a full resource table, a preopen list
    /// over the cap): the store is done. The trap's message.
    Trap(String),
}

impl<T> FsOutcome<T> {
    /// The outcome of a call that answered `result`, keeping `keep` of its value.
    pub(crate) fn of<U>(result: &FsResult<U>, keep: impl FnOnce(&U) -> T) -> Self {
        match result {
            Ok(value) => FsOutcome::Ok(keep(value)),
            Err(e) => match e.downcast_ref() {
                Some(code) => FsOutcome::Err(*code),
                None => FsOutcome::Trap(e.to_string()),
            },
        }
    }

    /// The outcome of a call that cannot answer an error code (only trap).
    pub(crate) fn of_trap<U>(result: &wasmtime::Result<U>, keep: impl FnOnce(&U) -> T) -> Self {
        match result {
            Ok(value) => FsOutcome::Ok(keep(value)),
            Err(e) => FsOutcome::Trap(e.to_string()),
        }
    }
}

/// What wasmtime-wasi opened: a file or a directory (its own two kinds of
/// descriptor; the finer type is what `stat` or `get-type` says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DescriptorKind {
    /// A file (or anything that is not a directory).
    File,
    /// A directory.
    Directory,
}

/// A descriptor `open-at` created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opened {
    /// The new descriptor.
    pub(crate) fd: Rep,
    /// What it is.
    pub(crate) kind: DescriptorKind,
}

/// A point in wall-clock time, as `wasi:clocks` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Time {
    /// Seconds since the Unix epoch.
    pub(crate) seconds: u64,
    /// Nanoseconds past the second.
    pub(crate) nanoseconds: u32,
}

impl From<Datetime> for Time {
    fn from(t: Datetime) -> Self {
        Time {
            seconds: t.seconds,
            nanoseconds: t.nanoseconds,
        }
    }
}

/// The essential part of a `stat`: what the object is, its size and when its
/// data last changed (what a result cache compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// The object's type.
    pub(crate) kind: DescriptorType,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// Its data modification time, when the host knows it.
    pub(crate) modified: Option<Time>,
}

impl Stat {
    /// The essential part of `stat`.
    pub(crate) fn of(stat: &DescriptorStat) -> Self {
        Stat {
            kind: stat.type_,
            size: stat.size,
            modified: stat.data_modification_timestamp.map(Time::from),
        }
    }
}

/// What one `read` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// How many bytes came back.
    pub(crate) bytes: u64,
    /// Whether the read was at the end of the file.
    pub(crate) end: bool,
}

/// One directory entry, as the guest read it from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Its type.
    pub(crate) kind: DescriptorType,
    /// Its name in the directory.
    pub(crate) name: String,
}

impl From<&DirectoryEntry> for Entry {
    fn from(entry: &DirectoryEntry) -> Self {
        Entry {
            kind: entry.type_,
            name: entry.name.clone(),
        }
    }
}

/// A new timestamp a `set-times` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timestamp {
    /// Leave it as it is.
    NoChange,
    /// The host's current time.
    Now,
    /// This time.
    At(Time),
}

impl From<&NewTimestamp> for Timestamp {
    fn from(t: &NewTimestamp) -> Self {
        match t {
            NewTimestamp::NoChange => Timestamp::NoChange,
            NewTimestamp::Now => Timestamp::Now,
            NewTimestamp::Timestamp(t) => Timestamp::At(Time::from(*t)),
        }
    }
}

/// A `metadata-hash` (`lower`, `upper`).
pub(crate) type Hash = (u64, u64);

/// The hash pair of a `metadata-hash` answer.
pub(crate) fn hash(value: &MetadataHashValue) -> Hash {
    (value.lower, value.upper)
}

/// One `wasi:filesystem` call of a guest, after it returned.
///
/// `fd` is the descriptor the method was called on and `path` the path
/// argument exactly as given (relative to `fd`; never normalised). Calls
/// that create a resource report its rep in their outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FsEvent {
    /// `get-directories`: the preopened directories, each handed out as a new
    /// descriptor, with its guest path.
    Preopens {
        /// The new descriptors and their guest paths.
        outcome: FsOutcome<Vec<(Rep, String)>>,
    },
    /// `open-at`.
    OpenAt {
        /// The directory the path is relative to.
        parent: Rep,
        /// How to treat a final symlink.
        path_flags: PathFlags,
        /// The path.
        path: String,
        /// Create, truncate, exclusive, directory.
        open_flags: OpenFlags,
        /// The access asked for.
        flags: DescriptorFlags,
        /// The new descriptor and what it is.
        outcome: FsOutcome<Opened>,
    },
    /// `stat`.
    Stat {
        /// The descriptor.
        fd: Rep,
        /// Type, size and modification time.
        outcome: FsOutcome<Stat>,
    },
    /// `stat-at`.
    StatAt {
        /// The directory the path is relative to.
        fd: Rep,
        /// How to treat a final symlink.
        path_flags: PathFlags,
        /// The path.
        path: String,
        /// Type, size and modification time.
        outcome: FsOutcome<Stat>,
    },
    /// `read` (the descriptor method; reads through a stream are
    /// [`FsEvent::ReadViaStream`] and then `wasi:io` calls this layer does not see).
    Read {
        /// The file.
        fd: Rep,
        /// Where the read started.
        offset: u64,
        /// How many bytes the guest asked for.
        len: u64,
        /// How many came back and whether that was the end.
        outcome: FsOutcome<Chunk>,
    },
    /// `write` (the descriptor method).
    Write {
        /// The file.
        fd: Rep,
        /// Where the write started.
        offset: u64,
        /// How many bytes the guest passed.
        len: u64,
        /// How many were written.
        outcome: FsOutcome<u64>,
    },
    /// `read-via-stream`.
    ReadViaStream {
        /// The file.
        fd: Rep,
        /// Where the stream starts.
        offset: u64,
        /// The new input stream.
        outcome: FsOutcome<Rep>,
    },
    /// `write-via-stream`.
    WriteViaStream {
        /// The file.
        fd: Rep,
        /// Where the stream starts.
        offset: u64,
        /// The new output stream.
        outcome: FsOutcome<Rep>,
    },
    /// `append-via-stream`.
    AppendViaStream {
        /// The file.
        fd: Rep,
        /// The new output stream.
        outcome: FsOutcome<Rep>,
    },
    /// `read-directory`: a listing starts.
    ReadDirectory {
        /// The directory.
        fd: Rep,
        /// The new directory-entry stream.
        outcome: FsOutcome<Rep>,
    },
    /// `read-directory-entry`: the next entry of a listing (`None` at its end).
    ReadDirectoryEntry {
        /// The directory-entry stream.
        stream: Rep,
        /// The entry.
        outcome: FsOutcome<Option<Entry>>,
    },
    /// A descriptor was dropped.
    DropDescriptor {
        /// The descriptor.
        fd: Rep,
        /// `Ok` unless the handle was bad.
        outcome: FsOutcome<()>,
    },
    /// A directory-entry stream was dropped.
    DropDirectoryEntryStream {
        /// The stream.
        stream: Rep,
        /// `Ok` unless the handle was bad.
        outcome: FsOutcome<()>,
    },
    /// `get-type`.
    GetType {
        /// The descriptor.
        fd: Rep,
        /// Its type.
        outcome: FsOutcome<DescriptorType>,
    },
    /// `get-flags`.
    GetFlags {
        /// The descriptor.
        fd: Rep,
        /// Its flags.
        outcome: FsOutcome<DescriptorFlags>,
    },
    /// `advise`.
    Advise {
        /// The file.
        fd: Rep,
        /// Where the region starts.
        offset: u64,
        /// Its length.
        len: u64,
        /// The advice.
        advice: Advice,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `sync-data`.
    SyncData {
        /// The descriptor.
        fd: Rep,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `sync`.
    Sync {
        /// The descriptor.
        fd: Rep,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `set-size`.
    SetSize {
        /// The file.
        fd: Rep,
        /// The new size.
        size: u64,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `set-times`.
    SetTimes {
        /// The descriptor.
        fd: Rep,
        /// The new access time.
        accessed: Timestamp,
        /// The new modification time.
        modified: Timestamp,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `set-times-at`.
    SetTimesAt {
        /// The directory the path is relative to.
        fd: Rep,
        /// How to treat a final symlink.
        path_flags: PathFlags,
        /// The path.
        path: String,
        /// The new access time.
        accessed: Timestamp,
        /// The new modification time.
        modified: Timestamp,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `create-directory-at`.
    CreateDirectoryAt {
        /// The directory the path is relative to.
        fd: Rep,
        /// The path.
        path: String,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `remove-directory-at`.
    RemoveDirectoryAt {
        /// The directory the path is relative to.
        fd: Rep,
        /// The path.
        path: String,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `unlink-file-at`.
    UnlinkFileAt {
        /// The directory the path is relative to.
        fd: Rep,
        /// The path.
        path: String,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `readlink-at`.
    ReadlinkAt {
        /// The directory the path is relative to.
        fd: Rep,
        /// The path of the link.
        path: String,
        /// The link's contents.
        outcome: FsOutcome<String>,
    },
    /// `symlink-at`.
    SymlinkAt {
        /// The directory `new_path` is relative to.
        fd: Rep,
        /// What the link points to.
        old_path: String,
        /// Where the link goes.
        new_path: String,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `link-at`.
    LinkAt {
        /// The directory `old_path` is relative to.
        fd: Rep,
        /// How to treat a final symlink of `old_path`.
        old_path_flags: PathFlags,
        /// The existing file.
        old_path: String,
        /// The directory `new_path` is relative to.
        new_fd: Rep,
        /// The new link.
        new_path: String,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `rename-at`.
    RenameAt {
        /// The directory `old_path` is relative to.
        fd: Rep,
        /// What is renamed.
        old_path: String,
        /// The directory `new_path` is relative to.
        new_fd: Rep,
        /// Its new name.
        new_path: String,
        /// Done or not.
        outcome: FsOutcome<()>,
    },
    /// `is-same-object`.
    IsSameObject {
        /// One descriptor.
        fd: Rep,
        /// The other.
        other: Rep,
        /// Whether they are the same object.
        outcome: FsOutcome<bool>,
    },
    /// `metadata-hash`.
    MetadataHash {
        /// The descriptor.
        fd: Rep,
        /// The hash.
        outcome: FsOutcome<Hash>,
    },
    /// `metadata-hash-at`.
    MetadataHashAt {
        /// The directory the path is relative to.
        fd: Rep,
        /// How to treat a final symlink.
        path_flags: PathFlags,
        /// The path.
        path: String,
        /// The hash.
        outcome: FsOutcome<Hash>,
    },
    /// `filesystem-error-code`: the filesystem error behind a stream error.
    FilesystemErrorCode {
        /// The `wasi:io` error resource.
        error: Rep,
        /// The error code, if it is a filesystem error.
        outcome: FsOutcome<Option<ErrorCode>>,
    },
}
