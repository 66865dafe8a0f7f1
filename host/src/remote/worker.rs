//! `parproc-host worker`: take ready procs from the work queue, claim each
//! from its coordinator, run it in this machine's sandbox under the
//! operator's ceilings and grants, and send its report back
//! (docs/distributed.md, "Workers").

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::AckKind;
use futures_util::StreamExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::conn::Link;
use super::wire::{self, Beat, Buckets, Call, CallReply, Cancel, Claim, ClaimReply, Done};
use super::wire::{DoneReply, Job, JobLimits};
use crate::exec::{ContextCall, ContextReply, ContextRequest, Launch, ProcChannel, ProcRunner};
use crate::exec::{RunReport, SessionError};
use crate::logsink::LogSink;
use crate::outcome::{Failure, FailureKind, Outcome};
use crate::plan::ProcId;
use crate::policy::Grants;
use crate::runtime::{CompileCache, Runtime, RuntimeConfig};

/// What an operator lets procs on this worker have.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The worker's name (shown to coordinators and in refusals).
    pub name: String,
    /// Procs run at once.
    pub slots: usize,
    /// The most fuel a proc may ask for.
    pub max_fuel: Option<u64>,
    /// The most memory a proc may ask for.
    pub max_memory: Option<u64>,
    /// The longest timeout a proc may ask for (a proc without one is refused
    /// when this is set).
    pub max_timeout: Option<Duration>,
    /// The directories, environment and network the worker offers, by guest
    /// path.
    pub grants: Grants,
    /// The runtime's settings (memory total, open files, …).
    pub runtime: RuntimeConfig,
    /// Compiled code.
    pub cache: CompileCache,
    /// Where fetched modules are kept (by digest).
    pub module_dir: PathBuf,
    /// How often the worker beats for its attempts.
    pub beat: Duration,
}

impl Policy {
    /// Why this worker will not run `launch`, or `None` when it will.
    pub fn refusal(&self, launch: &Launch) -> Option<Failure> {
        let b = &launch.budget;
        let w = &self.name;
        let refuse = |message: String| {
            Some(Failure {
                kind: FailureKind::NotGranted,
                message,
            })
        };
        if let Some(max) = self.max_fuel
            && b.fuel > max
        {
            return refuse(format!(
                "not granted: worker `{w}` accepts at most {max} fuel per proc (`--max-fuel`); \
                 this proc asks for {} (pass a lower `--fuel` to the run)",
                b.fuel
            ));
        }
        if let Some(max) = self.max_memory
            && b.memory > max
        {
            return refuse(format!(
                "not granted: worker `{w}` accepts at most {} of memory per proc \
                 (`--max-memory`); this proc asks for {} (pass a lower `--max-memory` to the run)",
                crate::units::fmt_size(max),
                crate::units::fmt_size(b.memory)
            ));
        }
        if let Some(max) = self.max_timeout {
            match b.timeout {
                Some(t) if t <= max => {}
                asked => {
                    let asked = asked.map_or("no timeout".to_owned(), |t| format!("{t:?}"));
                    return refuse(format!(
                        "not granted: worker `{w}` accepts procs with a timeout of at most \
                         {max:?} (`--max-timeout`); this proc asks for {asked} (pass \
                         `--timeout` to the run)"
                    ));
                }
            }
        }
        match self.grants.resolve(&launch.needs) {
            Ok(_) => None,
            Err(f) => refuse(format!(
                "{} — on worker `{w}`, whose policy offers {}",
                f.message,
                self.offers()
            )),
        }
    }

    /// The worker's grants in a phrase (`directories /src (read-only); no
    /// environment; no network`).
    pub fn offers(&self) -> String {
        let g = &self.grants;
        let dirs = match g.dirs.is_empty() {
            true => "no directories".to_owned(),
            false => format!(
                "directories {}",
                g.dirs
                    .iter()
                    .map(|d| match d.writable {
                        true => d.guest.clone(),
                        false => format!("{} (read-only)", d.guest),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let env = match g.env.is_empty() {
            true => "no environment".to_owned(),
            false => format!(
                "environment {}",
                g.env
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let net = match (g.net.is_empty(), g.http.is_empty()) {
            (true, true) => "no network",
            _ => "some network",
        };
        let tools = match g.tools.is_empty() {
            true => "no tools".to_owned(),
            false => format!(
                "tools {}",
                g.tools
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!("{dirs}; {env}; {net}; {tools}")
    }
}

/// The most jobs one pull asks for.
const MAX_BATCH: usize = 256;

type Loaded = Arc<tokio::sync::OnceCell<Result<Runtime, String>>>;

struct Worker {
    link: Link,
    buckets: Buckets,
    policy: Policy,
    slots: Arc<Semaphore>,
    runtimes: Mutex<HashMap<(String, JobLimits), Loaded>>,
    runs: Mutex<HashMap<String, RunEntry>>,
    /// Jobs (run, number) this worker's policy refused and said so: seen
    /// again, they go back to the queue for another worker.
    refused: Mutex<std::collections::HashSet<(String, u64)>>,
}

/// Why an attempt is stopped.
enum Stop {
    /// Its coordinator said so (the proc timed out, the run ended or was
    /// interrupted, or the attempt is stale).
    Cancelled,
    /// Its coordinator went silent.
    Abandoned,
}

fn event(text: &str) {
    crate::report::terminal::print_event(text);
}

struct RunEntry {
    attempts: HashMap<u64, oneshot::Sender<Stop>>,
    last_alive: Instant,
    coordinator_beat: Duration,
}

impl Worker {
    /// A beat per run: the attempts this worker runs of it.
    fn beats(&self, runs: &HashMap<String, RunEntry>) -> Vec<(String, Beat)> {
        runs.iter()
            .map(|(run, e)| {
                let beat = Beat {
                    worker: self.policy.name.clone(),
                    attempts: e.attempts.keys().copied().collect(),
                };
                (run.clone(), beat)
            })
            .collect()
    }

    /// Send each run's beat to its coordinator on `subject` (`beat`, `gone`).
    async fn send_beats(&self, beats: Vec<(String, Beat)>, subject: &str) {
        for (run, beat) in beats {
            if let Ok(payload) = serde_json::to_vec(&beat) {
                let _ = self
                    .link
                    .client
                    .publish(wire::to_coordinator(&run, subject), payload.into())
                    .await;
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serve procs until `stop` completes (Ctrl-C). Work in flight is dropped:
/// its coordinators give it to other workers when the heartbeats stop.
pub async fn serve(
    link: Link,
    policy: Policy,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let consumer = super::coordinator::work_queue(&link.js).await?;
    let buckets = Buckets::open(&link.js).await?;
    std::fs::create_dir_all(&policy.module_dir).with_context(|| {
        format!(
            "cannot create the module directory `{}`",
            policy.module_dir.display()
        )
    })?;
    let orders = link
        .client
        .subscribe("parproc.coord.*.*")
        .await
        .context("cannot subscribe on the NATS server")?;
    let worker = Arc::new(Worker {
        slots: Arc::new(Semaphore::new(policy.slots.max(1))),
        link,
        buckets,
        policy,
        runtimes: Mutex::new(HashMap::new()),
        runs: Mutex::new(HashMap::new()),
        refused: Mutex::new(std::collections::HashSet::new()),
    });
    tokio::spawn(listen(Arc::clone(&worker), orders));
    tokio::spawn(beat(Arc::downgrade(&worker)));
    // Pull as many jobs as there are free slots, waiting up to a second for
    // them (a long poll: an idle worker sends one request a second).
    let take = async {
        loop {
            let Ok(first) = Arc::clone(&worker.slots).acquire_owned().await else {
                return;
            };
            let mut permits = vec![first];
            while permits.len() < MAX_BATCH {
                match Arc::clone(&worker.slots).try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let pulled = consumer
                .batch()
                .max_messages(permits.len())
                .expires(Duration::from_secs(1))
                .messages()
                .await;
            let mut batch = match pulled {
                Ok(b) => b,
                Err(e) => {
                    tracing::debug!("pull failed: {e}");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
            };
            while let Some(item) = batch.next().await {
                match item {
                    Ok(msg) => {
                        let Some(permit) = permits.pop() else { break };
                        tokio::spawn(handle(Arc::clone(&worker), msg, permit));
                    }
                    Err(e) => {
                        tracing::debug!("pull failed: {e}");
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        break;
                    }
                }
            }
        }
    };
    tokio::select! {
        () = take => {}
        () = stop => {}
    }
    give_back(&worker).await;
    Ok(())
}

/// Tell every coordinator which of its attempts this stopping worker drops,
/// so they run again elsewhere at once.
async fn give_back(worker: &Worker) {
    let gone = worker.beats(&lock(&worker.runs));
    worker.send_beats(gone, "gone").await;
    let _ = tokio::time::timeout(Duration::from_millis(500), worker.link.client.flush()).await;
}

/// Coordinators' words: `alive` and `cancel`.
async fn listen(worker: Arc<Worker>, mut orders: async_nats::Subscriber) {
    while let Some(msg) = orders.next().await {
        let mut parts = msg.subject.split('.').skip(2);
        let (Some(run), Some(what)) = (parts.next(), parts.next()) else {
            continue;
        };
        let mut runs = lock(&worker.runs);
        let Some(entry) = runs.get_mut(run) else {
            continue;
        };
        match what {
            "alive" => entry.last_alive = Instant::now(),
            "cancel" => {
                if let Ok(cancel) = serde_json::from_slice::<Cancel>(&msg.payload) {
                    for attempt in cancel.attempts {
                        if let Some(stop) = entry.attempts.remove(&attempt) {
                            let _ = stop.send(Stop::Cancelled);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Beat for every attempt, and abandon the attempts of a coordinator that
/// has said nothing for twice its heartbeat.
async fn beat(worker: std::sync::Weak<Worker>) {
    let mut was_up = true;
    loop {
        let every = match worker.upgrade() {
            Some(w) => w.policy.beat,
            None => return,
        };
        let slept = Instant::now();
        tokio::time::sleep(every).await;
        // A worker that was itself frozen (SIGSTOP, a suspended VM) cannot
        // tell whether its coordinators spoke meanwhile: it judges them
        // afresh, as after a reconnect.
        let frozen = slept.elapsed() > every.saturating_mul(3);
        let Some(worker) = worker.upgrade() else {
            return;
        };
        let up = worker.link.state.is_up();
        let beats: Vec<(String, Beat)> = {
            let mut runs = lock(&worker.runs);
            if up && (!was_up || frozen) {
                for entry in runs.values_mut() {
                    entry.last_alive = Instant::now();
                }
            }
            if up {
                for (run, entry) in runs.iter_mut() {
                    if entry.last_alive.elapsed() > entry.coordinator_beat * 2 {
                        event(&format!(
                            "the coordinator of run {run} went silent; its procs stop"
                        ));
                        for (_, stop) in entry.attempts.drain() {
                            let _ = stop.send(Stop::Abandoned);
                        }
                    }
                }
            }
            runs.retain(|_, e| !e.attempts.is_empty());
            worker.beats(&runs)
        };
        was_up = up;
        if !up {
            continue;
        }
        worker.send_beats(beats, "beat").await;
        let presence = wire::Presence {
            worker: worker.policy.name.clone(),
            slots: worker.policy.slots,
        };
        if let Ok(payload) = serde_json::to_vec(&presence) {
            let _ = worker
                .link
                .client
                .publish(wire::PRESENCE, payload.into())
                .await;
        }
    }
}

/// One job from the queue: claim it, run it, report.
async fn handle(
    worker: Arc<Worker>,
    msg: async_nats::jetstream::Message,
    permit: OwnedSemaphorePermit,
) {
    let job: Job = match worker.buckets.decode(&msg.payload).await {
        Ok(job) => job,
        Err(e) => {
            tracing::warn!("dropping a job that cannot be read: {e:#}");
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        }
    };
    let coordinator_beat = Duration::from_millis(job.coordinator_beat_ms.max(100));
    let refusal = worker.policy.refusal(&job.launch);
    let key = (job.run.clone(), job.job);
    if refusal.is_some() && lock(&worker.refused).contains(&key) {
        // Said once already: back to the queue, for a worker that may take it.
        let _ = msg
            .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
            .await;
        return;
    }
    let attempt = match claim(&worker, &job, coordinator_beat).await {
        Some(ClaimReply::Go { attempt }) => attempt,
        Some(ClaimReply::Drop { reason }) => {
            tracing::debug!("job {} of run {} dropped: {reason}", job.job, job.run);
            let _ = msg.ack().await;
            return;
        }
        None => {
            tracing::debug!("the coordinator of run {} does not answer", job.run);
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        }
    };
    // The claim is the coordinator's record now; the queue forgets the job.
    let _ = msg.ack().await;
    let name = job.launch.name.clone();
    if let Some(refusal) = refusal {
        {
            let mut refused = lock(&worker.refused);
            if refused.len() >= 100_000 {
                refused.clear();
            }
            refused.insert(key);
        }
        event(&format!(
            "refused `{name}` (attempt {attempt}): {}",
            refusal.message
        ));
        let done = Done {
            attempt,
            worker: worker.policy.name.clone(),
            report: RunReport::not_run(refusal),
            log: Vec::new(),
            refused: true,
        };
        drop(permit);
        send_done(&worker, &job, done, coordinator_beat).await;
        return;
    }
    event(&format!(
        "started `{name}` (attempt {attempt} of run {})",
        job.run
    ));
    let (stop_tx, stop_rx) = oneshot::channel();
    {
        let mut runs = lock(&worker.runs);
        let entry = runs.entry(job.run.clone()).or_insert_with(|| RunEntry {
            attempts: HashMap::new(),
            last_alive: Instant::now(),
            coordinator_beat,
        });
        entry.attempts.insert(attempt, stop_tx);
    }
    let permit = Arc::new(Mutex::new(Some(permit)));
    let run = attempt_run(
        Arc::clone(&worker),
        job.clone(),
        attempt,
        Arc::clone(&permit),
    );
    let outcome = tokio::select! {
        out = run => Some(out),
        stopped = stop_rx => {
            let why = match stopped {
                Ok(Stop::Cancelled) => "its coordinator cancelled it",
                Ok(Stop::Abandoned) => "its coordinator went silent",
                Err(_) => "the worker dropped it",
            };
            event(&format!("stopped `{name}` (attempt {attempt}): {why}"));
            None
        }
    };
    if let Some(entry) = lock(&worker.runs).get_mut(&job.run) {
        entry.attempts.remove(&attempt);
    }
    drop(permit);
    let Some((report, log)) = outcome else {
        return;
    };
    let state = match &report.outcome {
        Outcome::Failed(f) => format!("{}: {}", f.kind.label(), f.message),
        Outcome::Succeeded(_) | Outcome::UpToDate(_) => "succeeded".to_owned(),
        Outcome::Skipped { .. } => "skipped".to_owned(),
    };
    event(&format!("finished `{name}` (attempt {attempt}): {state}"));
    let done = Done {
        attempt,
        worker: worker.policy.name.clone(),
        report,
        log,
        refused: false,
    };
    send_done(&worker, &job, done, coordinator_beat).await;
}

async fn claim(worker: &Worker, job: &Job, coordinator_beat: Duration) -> Option<ClaimReply> {
    let payload = serde_json::to_vec(&Claim {
        job: job.job,
        worker: worker.policy.name.clone(),
    })
    .ok()?;
    let subject = wire::to_coordinator(&job.run, "claim");
    let reply = ask_coordinator(worker, subject, payload.into(), coordinator_beat).await?;
    serde_json::from_slice(&reply.payload).ok()
}

async fn send_done(worker: &Worker, job: &Job, done: Done, coordinator_beat: Duration) {
    let Ok(payload) = worker.buckets.encode(&done).await else {
        return;
    };
    let subject = wire::to_coordinator(&job.run, "done");
    let Some(reply) = ask_coordinator(worker, subject, payload, coordinator_beat).await else {
        return;
    };
    if let Ok(DoneReply::Stale) = serde_json::from_slice(&reply.payload) {
        event(&format!(
            "the report of attempt {} was ignored: the proc was given to another worker",
            done.attempt
        ));
    }
}

/// Ask a run's coordinator, asking again every 200 ms until it answers.
/// `None` when nobody listens on the subject (the coordinator is gone), or when
/// it stayed silent for twice its heartbeat while the link was up (time with
/// the server away does not count).
async fn ask_coordinator(
    worker: &Worker,
    subject: String,
    payload: bytes::Bytes,
    coordinator_beat: Duration,
) -> Option<async_nats::Message> {
    let mut silent_since = Instant::now();
    loop {
        let asked = worker
            .link
            .client
            .request(subject.clone(), payload.clone())
            .await;
        match asked {
            Ok(reply) => return Some(reply),
            Err(_) if !worker.link.state.is_up() => silent_since = Instant::now(),
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => return None,
            Err(_) if silent_since.elapsed() > coordinator_beat * 2 => return None,
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Run the attempt: the policy's verdict, the module, the proc.
async fn attempt_run(
    worker: Arc<Worker>,
    job: Job,
    attempt: u64,
    permit: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
) -> (RunReport, Vec<(crate::logsink::Stream, String)>) {
    let runtime = match load(&worker, &job).await {
        Ok(r) => r,
        Err(e) => {
            return (
                RunReport::not_run(Failure {
                    kind: FailureKind::HostError,
                    message: format!("worker `{}`: {e}", worker.policy.name),
                }),
                Vec::new(),
            );
        }
    };
    let sink = LogSink::new(job.limits.log_limit);
    let (calls, calls_rx) = mpsc::unbounded_channel();
    let channel = ProcChannel::new(ProcId(0), calls, sink.clone());
    let forward = forward(
        Arc::clone(&worker),
        job.run.clone(),
        attempt,
        calls_rx,
        permit,
    );
    let forward = tokio::spawn(forward);
    let report = ProcRunner::run(&runtime, job.launch, channel).await;
    forward.abort();
    sink.finish();
    let log = sink
        .records()
        .into_iter()
        .map(|r| (r.stream, r.text))
        .collect();
    (report, log)
}

/// Send the proc's context calls to the coordinator, once each by number
/// (sent again every few seconds until answered), and free the slot while
/// the proc waits.
async fn forward(
    worker: Arc<Worker>,
    run: String,
    attempt: u64,
    mut calls: mpsc::UnboundedReceiver<ContextCall>,
    permit: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
) {
    let client = worker.link.client.clone();
    let inbox = client.new_inbox();
    let Ok(mut replies) = client.subscribe(inbox.clone()).await else {
        return;
    };
    let subject = wire::to_coordinator(&run, "call");
    let mut seq = 0u64;
    while let Some(call) = calls.recv().await {
        let waits = matches!(call.request, ContextRequest::Wait { .. });
        if waits {
            lock(&permit).take();
        }
        let message = Call {
            attempt,
            seq,
            request: call.request,
        };
        let answer = async {
            let payload = worker.buckets.encode(&message).await.ok()?;
            loop {
                let _ = client
                    .publish_with_reply(subject.clone(), inbox.clone(), payload.clone())
                    .await;
                let deadline = tokio::time::sleep(Duration::from_secs(3));
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        msg = replies.next() => {
                            let msg = msg?;
                            match worker.buckets.decode::<CallReply>(&msg.payload).await {
                                Ok(CallReply::Reply { seq: s, reply }) if s == seq => {
                                    return Some(reply);
                                }
                                Ok(CallReply::Stale) => return None,
                                _ => {}
                            }
                        }
                        () = &mut deadline => break,
                    }
                }
            }
        };
        let reply = answer.await;
        if waits && let Ok(p) = Arc::clone(&worker.slots).acquire_owned().await {
            *lock(&permit) = Some(p);
        }
        let _ = call
            .reply
            .send(reply.unwrap_or(ContextReply::Error(SessionError::Closed)));
        seq += 1;
    }
}

/// The module of `job`, fetched by digest (and checked), loaded under the
/// job's limits and the worker's grants; loaded once per module and limits.
async fn load(worker: &Arc<Worker>, job: &Job) -> Result<Runtime, String> {
    let cell = {
        let mut runtimes = lock(&worker.runtimes);
        Arc::clone(
            runtimes
                .entry((job.module.clone(), job.limits))
                .or_default(),
        )
    };
    cell.get_or_init(|| async {
        let path = fetch_module(worker, &job.module).await?;
        let mut config = worker.policy.runtime;
        let l = job.limits;
        config.log_limit = l.log_limit.min(config.log_limit.max(1));
        config.result_limit = l.result_limit.min(config.result_limit);
        config.max_arg = l.max_arg.min(config.max_arg);
        config.max_created = l.max_created.min(config.max_created);
        config.deterministic = l.deterministic || config.deterministic;
        let grants = worker.policy.grants.clone();
        let cache = worker.policy.cache.clone();
        tokio::task::spawn_blocking(move || {
            Runtime::load_with(&path, config, grants, &cache)
                .map(|(r, _)| r)
                .map_err(|e| format!("{e:#}"))
        })
        .await
        .map_err(|e| format!("the loader stopped: {e}"))?
    })
    .await
    .clone()
}

/// The module with `digest`: from the module directory when a file there
/// has that digest, else from the server's module store (checked).
async fn fetch_module(worker: &Worker, digest: &str) -> Result<PathBuf, String> {
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{digest}` is not a module digest"));
    }
    let path = worker.policy.module_dir.join(format!("{digest}.wasm"));
    if let Ok(bytes) = tokio::fs::read(&path).await
        && crate::digest::Digest::of(&bytes).to_hex() == digest
    {
        return Ok(path);
    }
    let mut object = worker
        .buckets
        .modules
        .get(digest)
        .await
        .map_err(|e| format!("cannot fetch module {digest} from the NATS server: {e}"))?;
    let mut bytes = Vec::new();
    let mut bounded = tokio::io::AsyncReadExt::take(&mut object, wire::BLOB_MAX + 1);
    tokio::io::AsyncReadExt::read_to_end(&mut bounded, &mut bytes)
        .await
        .map_err(|e| format!("cannot fetch module {digest}: {e}"))?;
    if bytes.len() as u64 > wire::BLOB_MAX {
        return Err(format!(
            "module {digest} is larger than {} bytes",
            wire::BLOB_MAX
        ));
    }
    let got = crate::digest::Digest::of(&bytes).to_hex();
    if got != digest {
        return Err(format!(
            "module {digest} from the NATS server has digest {got}: refused"
        ));
    }
    write_whole(&path, &bytes).map_err(|e| format!("cannot keep module {digest}: {e}"))?;
    Ok(path)
}

fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Budget;

    fn policy() -> Policy {
        Policy {
            name: "w1".into(),
            slots: 1,
            max_fuel: Some(1000),
            max_memory: Some(1 << 20),
            max_timeout: Some(Duration::from_secs(10)),
            grants: Grants::default(),
            runtime: RuntimeConfig::default(),
            cache: CompileCache::off(),
            module_dir: PathBuf::from("modules"),
            beat: Duration::from_secs(1),
        }
    }

    fn launch(fuel: u64, memory: u64, timeout: Option<Duration>) -> Launch {
        Launch::new(
            "p",
            Budget {
                fuel,
                timeout,
                memory,
            },
        )
    }

    #[test]
    fn a_proc_within_the_ceilings_is_accepted_and_one_past_any_is_refused_naming_it() {
        let p = policy();
        let ok = Some(Duration::from_secs(5));
        assert_eq!(p.refusal(&launch(1000, 1 << 20, ok)), None);
        let f = p.refusal(&launch(1001, 1, ok)).expect("fuel");
        assert_eq!(f.kind, FailureKind::NotGranted);
        assert!(
            f.message.contains("`--max-fuel`") && f.message.contains("`w1`"),
            "{}",
            f.message
        );
        let f = p.refusal(&launch(1, 2 << 20, ok)).expect("memory");
        assert!(f.message.contains("`--max-memory`"), "{}", f.message);
        let f = p.refusal(&launch(1, 1, None)).expect("no timeout");
        assert!(f.message.contains("no timeout"), "{}", f.message);
        let f = p
            .refusal(&launch(1, 1, Some(Duration::from_secs(11))))
            .expect("timeout");
        assert!(f.message.contains("`--max-timeout`"), "{}", f.message);
    }

    #[test]
    fn a_need_the_worker_does_not_offer_is_refused_naming_its_policy() {
        let p = policy();
        let mut l = launch(1, 1, Some(Duration::from_secs(1)));
        l.needs.env = vec!["SECRET".into()];
        let f = p.refusal(&l).expect("env");
        assert_eq!(f.kind, FailureKind::NotGranted);
        assert!(f.message.starts_with("not granted: "), "{}", f.message);
        assert!(
            f.message
                .contains("worker `w1`, whose policy offers no directories"),
            "{}",
            f.message
        );
    }
}
