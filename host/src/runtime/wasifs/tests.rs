//! The layer through real components: the `hostile` fixture (Rust `std` file
//! reads in a granted directory) and `probe`, a hand-written component that
//! lists, reads with `descriptor.read`, and opens without closing.
//!
//! Each test builds its stores as the runner does (`sandbox` WASI context,
//! [`HostState`], `Shared::linker`), with an observer that records events.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use parproc_test_artifacts::HOSTILE;
use wasmtime::component::{Component, Instance, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
};

use super::event::{Chunk, DescriptorKind, Entry, Opened, Stat};
use super::{CAP_ERROR, DEFAULT_MAX_DESCRIPTORS, FsEvent, FsObserver, FsOutcome, FsState, Rep};
use crate::logsink::LogSink;
use crate::policy::{Granted, GrantedDir};
use crate::runtime::bindings::JobsPre;
use crate::runtime::bindings::types::ProcError;
use crate::runtime::engine::{self, EngineKind, YIELD_INTERVAL};
use crate::runtime::runner::Shared;
use crate::runtime::sandbox;
use crate::runtime::state::{CallLimits, HostState};

/// Records every event of one store.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<FsEvent>>>);

impl FsObserver for Recorder {
    fn observe(&mut self, event: FsEvent) {
        self.0.lock().expect("not poisoned").push(event);
    }
}

impl Recorder {
    /// The events so far.
    fn events(&self) -> Vec<FsEvent> {
        self.0.lock().expect("not poisoned").clone()
    }

    /// A fresh state with this recorder and the cap `limit`.
    fn state(&self, limit: usize) -> FsState {
        FsState::new(limit).with_observer(Box::new(self.clone()))
    }
}

/// A fresh directory holding `ok.txt` ("ok") and, with `listing`, a
/// subdirectory `sub`.
fn data_dir(tag: &str, ok: bool, listing: bool) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("pp-wasifs-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    if ok {
        std::fs::write(dir.join("ok.txt"), "ok").expect("ok.txt");
    }
    if listing {
        std::fs::create_dir(dir.join("sub")).expect("sub");
    }
    std::fs::canonicalize(&dir).expect("canonical")
}

/// The metered engine every proc store uses.
fn engine() -> Engine {
    engine::shared(EngineKind {
        metered: true,
        pool: None,
    })
    .expect("the engine")
}

/// The runner's linker (WASI with this layer, and the context import).
fn linker() -> &'static Linker<HostState> {
    static LINKER: OnceLock<Linker<HostState>> = OnceLock::new();
    LINKER.get_or_init(|| Shared::linker(&engine()).expect("the linker"))
}

/// A store as the runner makes one, with `dir` granted read-only at `/data`;
/// `fs` replaces the layer's default state unless `None`.
fn new_store(dir: &Path, fs: Option<FsState>) -> Store<HostState> {
    let log = LogSink::new(1 << 16);
    let granted = Granted {
        dirs: vec![GrantedDir {
            host: dir.to_path_buf(),
            guest: "/data".to_owned(),
            writable: false,
        }],
        ..Granted::default()
    };
    let wasi = sandbox::wasi_ctx(&log, &granted, None).expect("the WASI context");
    let limits = CallLimits {
        max_arg: 1 << 20,
        max_created: 16,
        input: false,
        max_open_files: super::DEFAULT_MAX_DESCRIPTORS,
    };
    let mut state = HostState::new(None, log, 256 << 20, wasi, limits, None);
    if let Some(fs) = fs {
        state.fs = fs;
    }
    let mut store = state.into_store(&engine());
    store.set_fuel(10_000_000_000).expect("fuel");
    store
        .fuel_async_yield_interval(Some(YIELD_INTERVAL))
        .expect("yield interval");
    store
}

/// The `hostile` fixture, pre-instantiated once.
fn hostile() -> &'static JobsPre {
    static PRE: OnceLock<JobsPre> = OnceLock::new();
    PRE.get_or_init(|| {
        let component = Component::from_file(&engine(), HOSTILE).expect("the fixture compiles");
        let pre = linker().instantiate_pre(&component).expect("it links");
        JobsPre::new(pre, false).expect("a jobs component")
    })
}

/// Run the `hostile` proc `name` (no args, no context) in `store`: its JSON
/// result or its failure message.
async fn run_hostile(store: &mut Store<HostState>, name: &str) -> Result<String, String> {
    let jobs = hostile()
        .instantiate_async(&mut *store)
        .await
        .expect("it instantiates");
    let answer = jobs
        .run(&mut *store, name, name, &[])
        .await
        .expect("it does not trap");
    match answer {
        Ok(json) => Ok(json),
        Err(ProcError::Failed(message)) => Err(message),
        Err(other) => panic!("`{name}` ended with {other:?}"),
    }
}

/// A minimal `wasi:filesystem@0.2.0`: the types and functions `probe` uses,
/// defined as the host defines them (the component model checks structure).
const FILESYSTEM_WIT: &str = r#"
package wasi:filesystem@0.2.0;

interface types {
  type filesize = u64;
  enum descriptor-type {
    unknown, block-device, character-device, directory, fifo, symbolic-link, regular-file, socket,
  }
  flags descriptor-flags {
    read, write, file-integrity-sync, data-integrity-sync, requested-write-sync, mutate-directory,
  }
  flags path-flags { symlink-follow }
  flags open-flags { create, directory, exclusive, truncate }
  record directory-entry { %type: descriptor-type, name: string }
  enum error-code {
    access, would-block, already, bad-descriptor, busy, deadlock, quota, exist, file-too-large,
    illegal-byte-sequence, in-progress, interrupted, invalid, io, is-directory, loop,
    too-many-links, message-size, name-too-long, no-device, no-entry, no-lock,
    insufficient-memory, insufficient-space, not-directory, not-empty, not-recoverable,
    unsupported, no-tty, no-such-device, overflow, not-permitted, pipe, read-only, invalid-seek,
    text-file-busy, cross-device,
  }
  resource descriptor {
    read: func(length: filesize, offset: filesize) -> result<tuple<list<u8>, bool>, error-code>;
    read-directory: func() -> result<directory-entry-stream, error-code>;
    open-at: func(path-flags: path-flags, path: string, open-flags: open-flags, %flags: descriptor-flags) -> result<descriptor, error-code>;
  }
  resource directory-entry-stream {
    read-directory-entry: func() -> result<option<directory-entry>, error-code>;
  }
}

interface preopens {
  use types.{descriptor};
  get-directories: func() -> list<tuple<descriptor, string>>;
}
"#;

/// The world of `probe`.
const PROBE_WIT: &str = r#"
package test:probe;

world probe {
  import wasi:filesystem/types@0.2.0;
  import wasi:filesystem/preopens@0.2.0;
  /// Lists the first preopen: the number of entries, or 1000 + the error
  /// code of `read-directory`, or 2000 + that of `read-directory-entry`.
  export list-dir: func() -> u32;
  /// Opens `ok.txt` in the first preopen, reads `len` bytes at `offset` with
  /// `descriptor.read` and closes it: the bytes read, or -1 - the code of a
  /// failed open, or -1000 - the code of a failed read.
  export read-at: func(len: u64, offset: u64) -> s32;
  /// Opens `ok.txt` up to `max` times and never closes it: the opens that
  /// worked in the low 32 bits, the error code that stopped it (255: none)
  /// in the high ones.
  export leak: func(max: u32) -> u64;
  /// Opens and closes `ok.txt` `times` times: how many opens worked.
  export churn: func(times: u32) -> u32;
  /// Asks for the preopens again: how many there are.
  export preopens: func() -> u32;
}
"#;

/// The core module of `probe`. It asks for the preopens once and works in
/// the first one (`preopens` asks again each time).
const PROBE_WAT: &str = r#"
(module
  (import "wasi:filesystem/preopens@0.2.0" "get-directories" (func $get_dirs (param i32)))
  (import "wasi:filesystem/types@0.2.0" "[method]descriptor.open-at"
    (func $open_at (param i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.0" "[method]descriptor.read"
    (func $read (param i32 i64 i64 i32)))
  (import "wasi:filesystem/types@0.2.0" "[method]descriptor.read-directory"
    (func $read_dir (param i32 i32)))
  (import "wasi:filesystem/types@0.2.0" "[method]directory-entry-stream.read-directory-entry"
    (func $next (param i32 i32)))
  (import "wasi:filesystem/types@0.2.0" "[resource-drop]descriptor" (func $drop_fd (param i32)))
  (import "wasi:filesystem/types@0.2.0" "[resource-drop]directory-entry-stream"
    (func $drop_stream (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 16) "ok.txt")

  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
      (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (block $done
      (loop $more
        (br_if $done (i32.le_u (global.get $heap) (i32.shl (memory.size) (i32.const 16))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (br $more)))
    (local.get $p))

  ;; The first preopen, asked for once (the list lands at 64: pointer,
  ;; length; each element is handle, name pointer, name length).
  (global $dir (mut i32) (i32.const -1))
  (func $root (result i32)
    (if (i32.lt_s (global.get $dir) (i32.const 0))
      (then
        (call $get_dirs (i32.const 64))
        (global.set $dir (i32.load (i32.load (i32.const 64))))))
    (global.get $dir))

  (func (export "preopens") (result i32)
    (call $get_dirs (i32.const 64))
    (i32.load (i32.const 68)))

  ;; Open `ok.txt` read-only in $dir: the handle, or -1 - the error code.
  (func $open (param $dir i32) (result i32)
    (call $open_at (local.get $dir) (i32.const 0) (i32.const 16) (i32.const 6)
      (i32.const 0) (i32.const 1) (i32.const 96))
    (if (result i32) (i32.load8_u (i32.const 96))
      (then (i32.sub (i32.const -1) (i32.load8_u (i32.const 100))))
      (else (i32.load (i32.const 100)))))

  (func (export "list-dir") (result i32)
    (local $n i32) (local $s i32)
    (call $read_dir (call $root) (i32.const 128))
    (if (i32.load8_u (i32.const 128))
      (then (return (i32.add (i32.const 1000) (i32.load8_u (i32.const 132))))))
    (local.set $s (i32.load (i32.const 132)))
    (block $done
      (loop $more
        (call $next (local.get $s) (i32.const 160))
        (if (i32.load8_u (i32.const 160))
          (then (return (i32.add (i32.const 2000) (i32.load8_u (i32.const 164))))))
        (br_if $done (i32.eqz (i32.load8_u (i32.const 164))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (call $drop_stream (local.get $s))
    (local.get $n))

  (func (export "read-at") (param $len i64) (param $offset i64) (result i32)
    (local $fd i32)
    (local.set $fd (call $open (call $root)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (return (local.get $fd))))
    (call $read (local.get $fd) (local.get $len) (local.get $offset) (i32.const 192))
    (call $drop_fd (local.get $fd))
    (if (result i32) (i32.load8_u (i32.const 192))
      (then (i32.sub (i32.const -1000) (i32.load8_u (i32.const 196))))
      (else (i32.load (i32.const 200)))))

  (func (export "leak") (param $max i32) (result i64)
    (local $dir i32) (local $n i32) (local $fd i32)
    (local.set $dir (call $root))
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (local.get $n) (local.get $max)))
        (local.set $fd (call $open (local.get $dir)))
        (if (i32.lt_s (local.get $fd) (i32.const 0))
          (then (return (i64.or
            (i64.extend_i32_u (local.get $n))
            (i64.shl (i64.extend_i32_u (i32.sub (i32.const -1) (local.get $fd)))
              (i64.const 32))))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (i64.or (i64.extend_i32_u (local.get $n)) (i64.const 0xff00000000)))

  (func (export "churn") (param $times i32) (result i32)
    (local $dir i32) (local $n i32) (local $fd i32)
    (local.set $dir (call $root))
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (local.get $n) (local.get $times)))
        (local.set $fd (call $open (local.get $dir)))
        (br_if $done (i32.lt_s (local.get $fd) (i32.const 0)))
        (call $drop_fd (local.get $fd))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (local.get $n)))
"#;

/// `probe`, compiled once.
fn probe() -> &'static Component {
    static PROBE: OnceLock<Component> = OnceLock::new();
    PROBE.get_or_init(|| {
        let mut resolve = wit_parser::Resolve::default();
        resolve
            .push_str("filesystem.wit", FILESYSTEM_WIT)
            .expect("the filesystem WIT");
        let pkg = resolve
            .push_str("probe.wit", PROBE_WIT)
            .expect("the probe WIT");
        let world = resolve.select_world(&[pkg], Some("probe")).expect("world");
        let mut module = wat::parse_str(PROBE_WAT).expect("valid WAT");
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
            false,
        )
        .expect("embed the world");
        let bytes = wit_component::ComponentEncoder::default()
            .module(&module)
            .expect("a core module")
            .validate(true)
            .encode()
            .expect("a valid component");
        Component::new(&engine(), bytes).expect("it compiles")
    })
}

/// `probe` instantiated in `store`.
async fn instantiate_probe(store: &mut Store<HostState>) -> Instance {
    linker()
        .instantiate_async(&mut *store, probe())
        .await
        .expect("probe instantiates")
}

/// Call `probe`'s `leak`: (opens that worked, the error code index or 255).
async fn leak(store: &mut Store<HostState>, instance: &Instance, max: u32) -> (u32, u32) {
    let f = instance
        .get_typed_func::<(u32,), (u64,)>(&mut *store, "leak")
        .expect("leak");
    let (packed,) = f.call_async(&mut *store, (max,)).await.expect("no trap");
    ((packed & 0xffff_ffff) as u32, (packed >> 32) as u32)
}

/// Call `probe`'s `list-dir`.
async fn list(store: &mut Store<HostState>, instance: &Instance) -> wasmtime::Result<u32> {
    let f = instance
        .get_typed_func::<(), (u32,)>(&mut *store, "list-dir")
        .expect("list-dir");
    Ok(f.call_async(&mut *store, ()).await?.0)
}

/// The index of `code` in `error-code`, as `probe` returns it.
fn index(code: ErrorCode) -> u32 {
    code as u32
}

/// The one preopen of a store's events: its descriptor.
fn preopen(events: &[FsEvent]) -> Rep {
    let found: Vec<Rep> = events
        .iter()
        .filter_map(|e| match e {
            FsEvent::Preopens {
                outcome: FsOutcome::Ok(dirs),
            } => {
                assert_eq!(dirs.len(), 1, "{dirs:?}");
                assert_eq!(dirs[0].1, "/data");
                Some(dirs[0].0)
            }
            _ => None,
        })
        .collect();
    assert!(!found.is_empty(), "no preopens in {events:#?}");
    found[0]
}

/// The `open-at` events of a store.
fn opens(events: &[FsEvent]) -> Vec<(Rep, String, FsOutcome<Opened>)> {
    events
        .iter()
        .filter_map(|e| match e {
            FsEvent::OpenAt {
                parent,
                path,
                outcome,
                ..
            } => Some((*parent, path.clone(), outcome.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_std_read_reports_its_open_stat_read_and_close() {
    let dir = data_dir("read", true, false);
    let rec = Recorder::default();
    let mut store = new_store(&dir, Some(rec.state(DEFAULT_MAX_DESCRIPTORS)));
    assert_eq!(
        run_hostile(&mut store, "read_ok").await,
        Ok("\"ok\"".into())
    );

    let events = rec.events();
    let root = preopen(&events);
    let opens = opens(&events);
    assert_eq!(opens.len(), 1, "{events:#?}");
    let (parent, path, outcome) = &opens[0];
    assert_eq!((*parent, path.as_str()), (root, "ok.txt"));
    let FsOutcome::Ok(Opened {
        fd,
        kind: DescriptorKind::File,
    }) = *outcome
    else {
        panic!("{events:#?}");
    };
    assert!(
        events.iter().any(|e| matches!(
            e,
            FsEvent::OpenAt { path_flags, open_flags, flags, .. }
                if *path_flags == PathFlags::SYMLINK_FOLLOW
                    && *open_flags == OpenFlags::empty()
                    && flags.contains(DescriptorFlags::READ)
                    && !flags.contains(DescriptorFlags::WRITE)
        )),
        "{events:#?}"
    );
    // `read_to_string` asks for the size first.
    assert!(
        events.contains(&FsEvent::Stat {
            fd,
            outcome: FsOutcome::Ok(Stat {
                kind: DescriptorType::RegularFile,
                size: 2,
                modified: stat_time(&dir.join("ok.txt")),
            }),
        }),
        "{events:#?}"
    );
    // Rust's `std` reads through a stream from offset 0 (so the layer sees
    // where the read starts, not how much went through `wasi:io`).
    assert!(
        events.iter().any(|e| matches!(
            e,
            FsEvent::ReadViaStream { fd: f, offset: 0, outcome: FsOutcome::Ok(_) } if *f == fd
        )),
        "{events:#?}"
    );
    assert_eq!(
        events.last(),
        Some(&FsEvent::DropDescriptor {
            fd,
            outcome: FsOutcome::Ok(())
        }),
        "{events:#?}"
    );
    // No file contents in any event, and only the preopen is still held.
    assert!(!format!("{events:?}").contains("\"ok\""));
    assert_eq!(store.data().fs.open(), 1);
}

/// The modification time of `path`, as `stat` reports it.
fn stat_time(path: &Path) -> Option<super::event::Time> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(super::event::Time {
        seconds: since.as_secs(),
        nanoseconds: since.subsec_nanos(),
    })
}

#[tokio::test]
async fn failed_opens_report_the_path_as_given_and_the_error_code() {
    // `ok.txt` is absent.
    let dir = data_dir("absent", false, false);
    let rec = Recorder::default();
    let mut store = new_store(&dir, Some(rec.state(DEFAULT_MAX_DESCRIPTORS)));
    let failed = run_hostile(&mut store, "read_ok")
        .await
        .expect_err("absent");
    assert!(failed.starts_with("/data/ok.txt: "), "{failed}");
    let events = rec.events();
    let root = preopen(&events);
    assert_eq!(
        opens(&events),
        [(
            root,
            "ok.txt".to_owned(),
            FsOutcome::Err(ErrorCode::NoEntry)
        )],
        "{events:#?}"
    );

    // `..` is passed on as written (the guest's libc strips only the
    // preopen's prefix), and wasmtime-wasi refuses it.
    let rec = Recorder::default();
    let mut store = new_store(&dir, Some(rec.state(DEFAULT_MAX_DESCRIPTORS)));
    run_hostile(&mut store, "read_dotdot")
        .await
        .expect_err("outside");
    let events = rec.events();
    let root = preopen(&events);
    assert_eq!(
        opens(&events),
        [(
            root,
            "../secret.txt".to_owned(),
            FsOutcome::Err(ErrorCode::NotPermitted)
        )],
        "{events:#?}"
    );
    assert_eq!(store.data().fs.open(), 1, "a failed open holds nothing");
}

#[tokio::test]
async fn a_listing_reports_each_entry_and_descriptor_reads_their_offset_and_length() {
    let dir = data_dir("list", true, true);
    let rec = Recorder::default();
    let mut store = new_store(&dir, Some(rec.state(DEFAULT_MAX_DESCRIPTORS)));
    let probe = instantiate_probe(&mut store).await;
    assert_eq!(list(&mut store, &probe).await.expect("no trap"), 2);

    let events = rec.events();
    let root = preopen(&events);
    let [_, listing, e1, e2, end, dropped] = &events[..] else {
        panic!("{events:#?}");
    };
    let FsEvent::ReadDirectory {
        fd,
        outcome: FsOutcome::Ok(stream),
    } = listing
    else {
        panic!("{events:#?}");
    };
    assert_eq!(*fd, root);
    let mut entries = Vec::new();
    for e in [e1, e2] {
        let FsEvent::ReadDirectoryEntry {
            stream: s,
            outcome: FsOutcome::Ok(Some(entry)),
        } = e
        else {
            panic!("{events:#?}");
        };
        assert_eq!(s, stream);
        entries.push(entry.clone());
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        entries,
        [
            Entry {
                kind: DescriptorType::RegularFile,
                name: "ok.txt".into()
            },
            Entry {
                kind: DescriptorType::Directory,
                name: "sub".into()
            },
        ]
    );
    assert_eq!(
        *end,
        FsEvent::ReadDirectoryEntry {
            stream: *stream,
            outcome: FsOutcome::Ok(None)
        }
    );
    assert_eq!(
        *dropped,
        FsEvent::DropDirectoryEntryStream {
            stream: *stream,
            outcome: FsOutcome::Ok(())
        }
    );

    // `descriptor.read`: the offset and length asked for, the bytes that came
    // (`end` only once nothing came). The preopen is asked for once.
    let read_at = probe
        .get_typed_func::<(u64, u64), (i32,)>(&mut store, "read-at")
        .expect("read-at");
    for (len, offset, got) in [(16, 0, 2), (3, 1, 1), (8, 2, 0)] {
        let before = rec.events().len();
        let (n,) = read_at
            .call_async(&mut store, (len, offset))
            .await
            .expect("no trap");
        assert_eq!(n, got);
        let events = rec.events().split_off(before);
        let fd = match &events[..] {
            [
                FsEvent::OpenAt {
                    outcome: FsOutcome::Ok(Opened { fd, .. }),
                    ..
                },
                FsEvent::Read { fd: read, .. },
                FsEvent::DropDescriptor { fd: closed, .. },
            ] if read == fd && closed == fd => *fd,
            _ => panic!("{events:#?}"),
        };
        assert_eq!(
            events[1],
            FsEvent::Read {
                fd,
                offset,
                len,
                outcome: FsOutcome::Ok(Chunk {
                    bytes: got as u64,
                    end: got == 0
                })
            }
        );
    }
}

#[tokio::test]
async fn the_cap_stops_a_leaking_proc_with_an_error_and_spares_its_neighbours() {
    const LIMIT: usize = 8;
    let dir = data_dir("leak", true, false);
    let leaker_events = Recorder::default();
    let neighbour_events = Recorder::default();
    let mut leaker = new_store(&dir, Some(leaker_events.state(LIMIT)));
    let mut neighbour = new_store(&dir, Some(neighbour_events.state(LIMIT)));

    let leaking = async {
        let probe = instantiate_probe(&mut leaker).await;
        let leaked = leak(&mut leaker, &probe, 1000).await;
        // The guest goes on after the refusal; a listing needs a stream,
        // which the cap refuses too.
        let listed = list(&mut leaker, &probe).await.expect("no trap");
        (leaked, listed)
    };
    let reading = async {
        let mut results = Vec::new();
        for _ in 0..3 {
            results.push(run_hostile(&mut neighbour, "read_ok").await);
        }
        results
    };
    let ((leaked, listed), read) = tokio::join!(leaking, reading);

    // One preopen and seven files: the eighth open is refused.
    assert_eq!(leaked, (LIMIT as u32 - 1, index(CAP_ERROR)));
    let events = leaker_events.events();
    let opens = opens(&events);
    assert_eq!(opens.len(), LIMIT, "{events:#?}");
    assert!(
        opens[..LIMIT - 1]
            .iter()
            .all(|(_, path, o)| path == "ok.txt" && matches!(o, FsOutcome::Ok(_))),
        "{events:#?}"
    );
    assert_eq!(opens[LIMIT - 1].2, FsOutcome::Capped);
    assert_eq!(listed, 1000 + index(CAP_ERROR));
    let fs = &leaker.data().fs;
    assert_eq!((fs.open(), fs.limit(), fs.refused()), (LIMIT, LIMIT, 2));
    assert!(fs.hit());

    assert_eq!(read, vec![Ok("\"ok\"".to_owned()); 3]);
    let fs = &neighbour.data().fs;
    assert!(!fs.hit());
    assert_eq!(fs.open(), 3, "one preopen per instance, files closed");
}

#[tokio::test]
async fn closing_gives_the_slot_back_and_the_default_cap_applies() {
    let dir = data_dir("churn", true, false);
    let rec = Recorder::default();
    let mut store = new_store(&dir, Some(rec.state(2)));
    let probe = instantiate_probe(&mut store).await;
    let churn = probe
        .get_typed_func::<(u32,), (u32,)>(&mut store, "churn")
        .expect("churn");
    let (n,) = churn.call_async(&mut store, (50,)).await.expect("no trap");
    assert_eq!(n, 50, "a cap of 2 holds the preopen and one file at a time");
    assert_eq!((store.data().fs.open(), store.data().fs.refused()), (1, 0));
    let events = rec.events();
    let drops = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                FsEvent::DropDescriptor {
                    outcome: FsOutcome::Ok(()),
                    ..
                }
            )
        })
        .count();
    assert_eq!(drops, 50);

    // A store as the runner makes it: no observer, the default cap.
    let mut store = new_store(&dir, None);
    assert_eq!(store.data().fs.limit(), DEFAULT_MAX_DESCRIPTORS);
    let probe = instantiate_probe(&mut store).await;
    assert_eq!(
        leak(&mut store, &probe, 5000).await,
        (DEFAULT_MAX_DESCRIPTORS as u32 - 1, index(CAP_ERROR))
    );
    assert_eq!(store.data().fs.open(), DEFAULT_MAX_DESCRIPTORS);
}

#[tokio::test]
async fn a_preopen_list_over_the_cap_traps() {
    let dir = data_dir("preopens", true, false);
    let rec = Recorder::default();
    let mut store = new_store(&dir, Some(rec.state(2)));
    let probe = instantiate_probe(&mut store).await;
    let preopens = probe
        .get_typed_func::<(), (u32,)>(&mut store, "preopens")
        .expect("preopens");
    for _ in 0..2 {
        let (n,) = preopens.call_async(&mut store, ()).await.expect("fits");
        assert_eq!(n, 1);
    }
    let err = preopens
        .call_async(&mut store, ())
        .await
        .expect_err("over the cap");
    assert!(
        format!("{err:?}").contains("over its cap of 2 open descriptors"),
        "{err:?}"
    );
    let events = rec.events();
    assert_eq!(
        events.last(),
        Some(&FsEvent::Preopens {
            outcome: FsOutcome::Capped
        })
    );
    assert_eq!(
        store.data().fs.open(),
        2,
        "the refused preopens were given back"
    );
}

#[test]
fn an_unobserved_state_builds_no_event_and_counts_refusals() {
    let mut state = FsState::new(0);
    assert!(state.keep("a/../b").is_none());
    state.report(|| unreachable!("no observer, no event"));
    assert!(state.refuse_one());
    assert_eq!(state.refused(), 1);

    let rec = Recorder::default();
    state.set_observer(Some(Box::new(rec.clone())));
    assert_eq!(state.keep("a/../b").as_deref(), Some("a/../b"));
    state.report(|| FsEvent::Stat {
        fd: 3,
        outcome: FsOutcome::Err(ErrorCode::BadDescriptor),
    });
    assert_eq!(rec.events().len(), 1);
    state.set_observer(None);
    state.report(|| unreachable!("observer removed"));
}
