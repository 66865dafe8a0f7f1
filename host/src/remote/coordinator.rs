//! The coordinator's side: a [`ProcRunner`] that publishes each ready proc to
//! the work queue and serves the attempt a worker claims — its heartbeats, its
//! context calls (once each, by sequence number) and its report — while the
//! planner stays in this process (docs/distributed.md, "Attempts").

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream;
use futures_util::StreamExt as _;
use tokio::sync::oneshot;

use super::conn::Link;
use super::wire::{
    self, Beat, Buckets, Call, CallReply, Cancel, Claim, ClaimReply, Done, DoneReply, Job,
    JobLimits,
};
use crate::exec::{BoxFuture, ContextReply, ContextRequest, Launch, LogChunk, ProcChannel};
use crate::exec::{ProcRunner, RunReport};
use crate::logsink::Stream;
use crate::outcome::{Failure, FailureKind};

/// Timing of a coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often the coordinator tells workers it is alive (`--coordinator-heartbeat`).
    pub beat: Duration,
    /// How long a claimed attempt may go without a worker heartbeat before
    /// its proc is given to another worker (`--worker-lapse`).
    pub lapse: Duration,
    /// How many times a proc may lose its worker (a lapse, not a worker
    /// giving it back) before it fails instead of running again
    /// (`--max-worker-losses`): a proc that kills every worker it lands on
    /// does not take the whole pool down.
    pub max_losses: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            beat: Duration::from_secs(5),
            lapse: Duration::from_secs(5),
            max_losses: DEFAULT_MAX_LOSSES,
        }
    }
}

/// Default [`Timing::max_losses`].
pub const DEFAULT_MAX_LOSSES: u32 = 3;

/// Runs procs on workers.
#[derive(Clone, Debug)]
pub struct RemoteRunner {
    inner: Arc<Coordinator>,
}

struct Coordinator {
    link: Link,
    buckets: Buckets,
    run: String,
    module: String,
    limits: JobLimits,
    timing: Timing,
    started: Instant,
    state: Mutex<State>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("run", &self.run)
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    next_job: u64,
    next_attempt: u64,
    jobs: HashMap<u64, JobEntry>,
    /// Attempt → job, for every attempt ever given out.
    attempts: HashMap<u64, u64>,
    /// Attempt → the proc's name and the worker's, for what is said of it.
    given: HashMap<u64, (String, String)>,
    /// Stale attempts already told about.
    told: HashSet<u64>,
    /// Attempts whose report was taken (a report sent again is acknowledged).
    taken: HashSet<u64>,
    /// Set when the server was unreachable past the timeout.
    lost: Option<String>,
    /// Workers by name, and when each last said it is there.
    workers: HashMap<String, Instant>,
    /// Since when procs wait with no worker there (said once).
    unserved: Option<(Instant, bool)>,
    /// Counters for the run's summary and the tests.
    stats: Stats,
}

/// What the coordinator counted over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Jobs published (once each, plus once per redelivery).
    pub published: u64,
    /// Attempts a worker claimed.
    pub claimed: u64,
    /// Attempts given up on because their worker's heartbeat lapsed.
    pub lapsed: u64,
    /// Reports or calls of attempts that were not the proc's any more.
    pub stale: u64,
    /// Context calls answered from the record (sent again).
    pub repeated_calls: u64,
}

struct JobEntry {
    job: Job,
    channel: ProcChannel,
    active: Option<Active>,
    /// The calls answered so far for this proc, in order: a call sent again
    /// (same number, same request) gets the same answer, also by a later
    /// attempt replaying the proc.
    history: Vec<(ContextRequest, ContextReply)>,
    /// Calls being answered now (by number).
    pending: HashSet<u64>,
    done: Option<oneshot::Sender<RunReport>>,
    /// How many times its worker stopped beating.
    losses: u32,
    /// The workers whose policy refused it, and why.
    refused_by: Vec<(String, String)>,
}

struct Active {
    attempt: u64,
    worker: String,
    last_beat: Instant,
    /// Its worker gave it back (stopping).
    given_back: bool,
}

impl Active {
    fn lapsed(&self, lapse: Duration) -> bool {
        self.given_back || self.last_beat.elapsed() >= lapse
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Publish `module` to the server's module store under its BLAKE3 digest
/// (unless it is there) and return the digest.
async fn publish_module(buckets: &Buckets, module: &Path) -> anyhow::Result<String> {
    let bytes = tokio::fs::read(module)
        .await
        .with_context(|| format!("cannot read `{}`", module.display()))?;
    let digest = crate::digest::Digest::of(&bytes).to_hex();
    if buckets.modules.info(digest.as_str()).await.is_err() {
        buckets
            .modules
            .put(digest.as_str(), &mut bytes.as_slice())
            .await
            .map_err(|e| anyhow::anyhow!("cannot publish `{}` to NATS: {e}", module.display()))?;
    }
    Ok(digest)
}

/// Make the work-queue stream and the workers' consumer when missing.
pub async fn work_queue(
    js: &jetstream::Context,
) -> anyhow::Result<jetstream::consumer::PullConsumer> {
    let stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: wire::WORK_STREAM.to_owned(),
            subjects: vec![wire::WORK_SUBJECTS.to_owned()],
            retention: jetstream::stream::RetentionPolicy::WorkQueue,
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .context("cannot make the work queue on the NATS server (is JetStream on? `-js`)")?;
    stream
        .get_or_create_consumer(
            wire::CONSUMER,
            jetstream::consumer::pull::Config {
                durable_name: Some(wire::CONSUMER.to_owned()),
                filter_subject: wire::WORK_SUBJECTS.to_owned(),
                ack_wait: wire::CLAIM_WAIT,
                max_deliver: -1,
                max_ack_pending: 100_000,
                ..Default::default()
            },
        )
        .await
        .context("cannot make the workers' consumer on the NATS server")
}

impl RemoteRunner {
    /// Connect a run to the server: publish `module`, make the queue, and
    /// start serving workers. Call [`RemoteRunner::finish`] when the run ends.
    pub async fn start(
        link: Link,
        module: &Path,
        limits: JobLimits,
        timing: Timing,
    ) -> anyhow::Result<RemoteRunner> {
        let buckets = Buckets::open(&link.js).await?;
        let digest = publish_module(&buckets, module).await?;
        work_queue(&link.js).await?;
        let run = wire::nuid_like();
        let inbound = link
            .client
            .subscribe(wire::to_coordinator(&run, "*"))
            .await
            .context("cannot subscribe on the NATS server")?;
        let runner = RemoteRunner {
            inner: Arc::new(Coordinator {
                link,
                buckets,
                run,
                module: digest,
                limits,
                timing,
                started: Instant::now(),
                state: Mutex::new(State::default()),
            }),
        };
        let presence = runner
            .inner
            .link
            .client
            .subscribe(wire::PRESENCE)
            .await
            .context("cannot subscribe on the NATS server")?;
        tokio::spawn(serve(Arc::clone(&runner.inner), inbound));
        tokio::spawn(presences(Arc::downgrade(&runner.inner), presence));
        tokio::spawn(tick(Arc::downgrade(&runner.inner)));
        Ok(runner)
    }

    /// The run's id (its subjects carry it).
    pub fn run_id(&self) -> &str {
        &self.inner.run
    }

    /// The module's digest as published.
    pub fn module_digest(&self) -> &str {
        &self.inner.module
    }

    /// What happened so far.
    pub fn stats(&self) -> Stats {
        lock(&self.inner.state).stats
    }

    /// The run is over: tell workers to stop what they still run of it and
    /// flush.
    pub async fn finish(&self) {
        let attempts: Vec<u64> = {
            let state = lock(&self.inner.state);
            state
                .jobs
                .values()
                .filter_map(|j| j.active.as_ref().map(|a| a.attempt))
                .collect()
        };
        if !attempts.is_empty() {
            self.inner.cancel(attempts).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.inner.link.client.flush()).await;
    }
}

impl Coordinator {
    async fn cancel(&self, attempts: Vec<u64>) {
        if let Ok(payload) = serde_json::to_vec(&Cancel { attempts }) {
            let _ = self
                .link
                .client
                .publish(wire::to_workers(&self.run, "cancel"), payload.into())
                .await;
        }
    }

    /// Put `job` on the work queue, retrying while the server is away (up
    /// to the timeout).
    async fn publish(&self, job: &Job) -> Result<(), String> {
        let payload = self
            .buckets
            .encode(job)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let subject = wire::work_subject(&self.run);
        let started = Instant::now();
        loop {
            let attempt = async {
                self.link
                    .js
                    .publish(subject.clone(), payload.clone())
                    .await?
                    .await?;
                Ok::<_, async_nats::Error>(())
            };
            match tokio::time::timeout(Duration::from_secs(5), attempt).await {
                Ok(Ok(())) => {
                    lock(&self.state).stats.published += 1;
                    return Ok(());
                }
                Ok(Err(e)) if started.elapsed() >= self.link.config.timeout => {
                    return Err(format!(
                        "cannot queue the proc on the NATS server `{}`: {e}",
                        self.link.config.url
                    ));
                }
                Err(_) if started.elapsed() >= self.link.config.timeout => {
                    return Err(format!(
                        "cannot queue the proc on the NATS server `{}`: no answer for {:?}",
                        self.link.config.url, self.link.config.timeout
                    ));
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    fn host_error(message: String) -> RunReport {
        RunReport::not_run(Failure {
            kind: FailureKind::HostError,
            message,
        })
    }
}

/// Forgets a job whose future was dropped (a timeout or a cancelled run) and
/// tells its worker to stop.
struct Forget {
    coord: Arc<Coordinator>,
    job: u64,
}

impl Drop for Forget {
    fn drop(&mut self) {
        let entry = lock(&self.coord.state).jobs.remove(&self.job);
        if let Some(active) = entry.and_then(|e| e.active) {
            let coord = Arc::clone(&self.coord);
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move { coord.cancel(vec![active.attempt]).await });
            }
        }
    }
}

impl ProcRunner for RemoteRunner {
    fn run(&self, launch: Launch, channel: ProcChannel) -> BoxFuture<'static, RunReport> {
        let coord = Arc::clone(&self.inner);
        Box::pin(async move {
            let (done, report) = oneshot::channel();
            let job = {
                let mut state = lock(&coord.state);
                if let Some(lost) = &state.lost {
                    return Coordinator::host_error(lost.clone());
                }
                state.next_job += 1;
                let job = Job {
                    run: coord.run.clone(),
                    job: state.next_job,
                    module: coord.module.clone(),
                    launch,
                    limits: coord.limits,
                    coordinator_beat_ms: coord.timing.beat.as_millis() as u64,
                };
                state.jobs.insert(
                    job.job,
                    JobEntry {
                        job: job.clone(),
                        channel,
                        active: None,
                        history: Vec::new(),
                        pending: HashSet::new(),
                        done: Some(done),
                        losses: 0,
                        refused_by: Vec::new(),
                    },
                );
                job
            };
            let forget = Forget {
                coord: Arc::clone(&coord),
                job: job.job,
            };
            if let Err(e) = coord.publish(&job).await {
                return Coordinator::host_error(e);
            }
            let report = report.await.unwrap_or_else(|_| {
                Coordinator::host_error("the coordinator stopped serving the proc".to_owned())
            });
            drop(forget);
            report
        })
    }
}

/// Answer what workers send about this run.
async fn serve(coord: Arc<Coordinator>, mut inbound: async_nats::Subscriber) {
    while let Some(msg) = inbound.next().await {
        let what = msg.subject.rsplit('.').next().unwrap_or("").to_owned();
        let coord = Arc::clone(&coord);
        match what.as_str() {
            "beat" => {
                if let Ok(beat) = serde_json::from_slice::<Beat>(&msg.payload) {
                    on_beat(&coord, beat).await;
                }
            }
            "gone" => {
                if let Ok(beat) = serde_json::from_slice::<Beat>(&msg.payload) {
                    on_gone(&coord, beat);
                }
            }
            "claim" => {
                if let (Ok(claim), Some(reply)) =
                    (serde_json::from_slice::<Claim>(&msg.payload), msg.reply)
                {
                    let answer = on_claim(&coord, claim);
                    if let Ok(payload) = serde_json::to_vec(&answer) {
                        let _ = coord.link.client.publish(reply, payload.into()).await;
                    }
                }
            }
            "call" => {
                tokio::spawn(async move {
                    let Some(reply) = msg.reply else { return };
                    if let Ok(call) = coord.buckets.decode::<Call>(&msg.payload).await {
                        on_call(coord, call, reply).await;
                    }
                });
            }
            "done" => {
                tokio::spawn(async move {
                    let Some(reply) = msg.reply else { return };
                    let answer = match coord.buckets.decode::<Done>(&msg.payload).await {
                        Ok(done) => on_done(&coord, done),
                        // A report that cannot be read is not taken: the worker
                        // sends it again, or its attempt lapses and reruns.
                        Err(_) => return,
                    };
                    if let Ok(payload) = serde_json::to_vec(&answer) {
                        let _ = coord.link.client.publish(reply, payload.into()).await;
                    }
                });
            }
            _ => {}
        }
    }
}

/// Keep track of the workers that say they are there.
async fn presences(coord: std::sync::Weak<Coordinator>, mut sub: async_nats::Subscriber) {
    while let Some(msg) = sub.next().await {
        let Some(coord) = coord.upgrade() else { return };
        if let Ok(p) = serde_json::from_slice::<wire::Presence>(&msg.payload) {
            let mut state = lock(&coord.state);
            if state.workers.len() < 100_000 || state.workers.contains_key(&p.worker) {
                state.workers.insert(p.worker, Instant::now());
            }
        }
    }
}

/// How long a worker counts as there after it last said so.
fn presence_lapse(timing: &Timing) -> Duration {
    timing.lapse.max(Duration::from_secs(3))
}

/// The workers there now.
fn live_workers(state: &State, timing: &Timing) -> Vec<String> {
    let lapse = presence_lapse(timing);
    state
        .workers
        .iter()
        .filter(|(_, at)| at.elapsed() < lapse)
        .map(|(w, _)| w.clone())
        .collect()
}

/// Say once that a stale attempt's word is ignored.
fn tell_stale(state: &mut State, attempt: u64) {
    state.stats.stale += 1;
    if state.told.insert(attempt)
        && let Some((proc, worker)) = state.given.get(&attempt)
    {
        crate::report::terminal::print_warning(&format!(
            "ignored attempt {attempt} of `{proc}` from worker `{worker}`: the proc was given \
             to another worker"
        ));
    }
}

async fn on_beat(coord: &Coordinator, beat: Beat) {
    let stale: Vec<u64> = {
        let mut state = lock(&coord.state);
        let mut stale = Vec::new();
        for attempt in beat.attempts {
            let job = state.attempts.get(&attempt).copied();
            let live = job
                .and_then(|j| state.jobs.get_mut(&j))
                .and_then(|e| e.active.as_mut())
                .filter(|a| a.attempt == attempt);
            match live {
                Some(active) => active.last_beat = Instant::now(),
                None => {
                    if !state.taken.contains(&attempt) {
                        tell_stale(&mut state, attempt);
                    }
                    stale.push(attempt);
                }
            }
        }
        stale
    };
    if !stale.is_empty() {
        // A worker that came back (SIGCONT) learns its attempts are over.
        coord.cancel(stale).await;
    }
}

/// A worker that stops (Ctrl-C) gives its attempts back: they lapse now
/// instead of after `--worker-lapse`.
fn on_gone(coord: &Coordinator, gone: Beat) {
    let mut state = lock(&coord.state);
    for attempt in gone.attempts {
        if let Some(active) = current(&mut state, attempt).and_then(|e| e.active.as_mut()) {
            active.given_back = true;
        }
    }
}

fn on_claim(coord: &Coordinator, claim: Claim) -> ClaimReply {
    let mut state = lock(&coord.state);
    let lapse = coord.timing.lapse;
    let attempt = state.next_attempt + 1;
    let Some(entry) = state.jobs.get_mut(&claim.job) else {
        return ClaimReply::Drop {
            reason: "the proc is no longer wanted".to_owned(),
        };
    };
    if let Some(active) = &entry.active
        && !active.lapsed(lapse)
    {
        return ClaimReply::Drop {
            reason: format!("the proc runs on `{}`", active.worker),
        };
    }
    entry.active = Some(Active {
        attempt,
        worker: claim.worker.clone(),
        last_beat: Instant::now(),
        given_back: false,
    });
    let proc = entry.job.launch.name.clone();
    state.next_attempt = attempt;
    state.attempts.insert(attempt, claim.job);
    state.given.insert(attempt, (proc, claim.worker));
    state.stats.claimed += 1;
    ClaimReply::Go { attempt }
}

/// The job of `attempt` when that attempt is the proc's current one.
fn current(state: &mut State, attempt: u64) -> Option<&mut JobEntry> {
    let job = *state.attempts.get(&attempt)?;
    state
        .jobs
        .get_mut(&job)
        .filter(|e| e.active.as_ref().is_some_and(|a| a.attempt == attempt))
}

async fn on_call(coord: Arc<Coordinator>, call: Call, reply_to: async_nats::Subject) {
    enum Next {
        Answer(CallReply),
        Ask(ProcChannel, bool),
        Nothing,
    }
    let seq = call.seq;
    let next = {
        let mut state = lock(&coord.state);
        match current(&mut state, call.attempt) {
            None => {
                state.stats.stale += 1;
                Next::Answer(CallReply::Stale)
            }
            Some(entry) => {
                let i = seq as usize;
                match entry.history.get(i) {
                    Some((asked, answer)) if *asked == call.request => {
                        let answer = answer.clone();
                        state.stats.repeated_calls += 1;
                        Next::Answer(CallReply::Reply { seq, reply: answer })
                    }
                    _ if entry.pending.contains(&seq) => Next::Nothing,
                    _ => {
                        entry.pending.insert(seq);
                        // Only the next call in order is recorded for replay.
                        Next::Ask(entry.channel.clone(), i == entry.history.len())
                    }
                }
            }
        }
    };
    let answer = match next {
        Next::Nothing => return,
        Next::Answer(a) => a,
        Next::Ask(channel, record) => {
            let reply = channel.call(call.request.clone()).await;
            let mut state = lock(&coord.state);
            let job = state.attempts.get(&call.attempt).copied();
            if let Some(entry) = job.and_then(|j| state.jobs.get_mut(&j)) {
                entry.pending.remove(&seq);
                if record && entry.history.len() == seq as usize {
                    entry.history.push((call.request, reply.clone()));
                }
            }
            CallReply::Reply { seq, reply }
        }
    };
    if let Ok(payload) = coord.buckets.encode(&answer).await {
        let _ = coord.link.client.publish(reply_to, payload).await;
    }
}

fn on_done(coord: &Arc<Coordinator>, done: Done) -> DoneReply {
    let mut state = lock(&coord.state);
    if state.taken.contains(&done.attempt) {
        return DoneReply::Taken;
    }
    if current(&mut state, done.attempt).is_none() {
        tell_stale(&mut state, done.attempt);
        return DoneReply::Stale;
    }
    if done.refused {
        return on_refused(coord, &mut state, done);
    }
    let Some(entry) = current(&mut state, done.attempt) else {
        return DoneReply::Stale;
    };
    for (stream, text) in &done.log {
        match stream {
            Stream::Log(level) => entry.channel.log(LogChunk::Record {
                level: *level,
                message: text.clone(),
            }),
            s => {
                let mut line = text.clone().into_bytes();
                line.push(b'\n');
                entry.channel.write(*s, &line);
            }
        }
    }
    let sender = entry.done.take();
    entry.active = None;
    let job = entry.job.job;
    state.jobs.remove(&job);
    state.taken.insert(done.attempt);
    if let Some(sender) = sender {
        let _ = sender.send(done.report);
    }
    DoneReply::Taken
}

/// A worker's policy refused the proc: it goes back to the queue, and
/// [`decide_refused`] fails it once every worker there has refused it.
fn on_refused(coord: &Arc<Coordinator>, state: &mut State, done: Done) -> DoneReply {
    state.taken.insert(done.attempt);
    let Some(entry) = current(state, done.attempt) else {
        return DoneReply::Stale;
    };
    entry.active = None;
    let why = match &done.report.outcome {
        crate::outcome::Outcome::Failed(f) => f.message.clone(),
        _ => "refused".to_owned(),
    };
    if !entry.refused_by.iter().any(|(w, _)| *w == done.worker) {
        entry.refused_by.push((done.worker.clone(), why));
    }
    requeue(Arc::clone(coord), entry.job.clone());
    DoneReply::Taken
}

/// Fail the procs that every worker there has refused (once the coordinator
/// has heard from its workers for a presence lapse), with every worker's
/// reason.
fn decide_refused(coord: &Coordinator) {
    let mut state = lock(&coord.state);
    if coord.started.elapsed() < presence_lapse(&coord.timing) {
        return;
    }
    let live = live_workers(&state, &coord.timing);
    let refused: Vec<u64> = state
        .jobs
        .values()
        .filter(|e| e.active.is_none() && !e.refused_by.is_empty())
        .filter(|e| {
            live.iter()
                .all(|w| e.refused_by.iter().any(|(r, _)| r == w))
        })
        .map(|e| e.job.job)
        .collect();
    for job in refused {
        let Some(mut entry) = state.jobs.remove(&job) else {
            continue;
        };
        let message = match entry.refused_by.as_slice() {
            [(_, only)] => only.clone(),
            all => format!(
                "not granted by any worker: {}",
                all.iter()
                    .map(|(w, why)| format!("`{w}`: {why}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        if let Some(sender) = entry.done.take() {
            let _ = sender.send(RunReport::not_run(Failure {
                kind: FailureKind::NotGranted,
                message,
            }));
        }
    }
}

/// Every quarter second: say the coordinator is alive (each `beat`), give
/// lapsed attempts' procs to other workers, and give up when the server has
/// been away past the timeout.
async fn tick(coord: std::sync::Weak<Coordinator>) {
    let mut last_alive: Option<Instant> = None;
    let mut was_up = true;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some(coord) = coord.upgrade() else { return };
        let link = &coord.link.state;
        let up = link.is_up();
        if up && !was_up {
            // Back after an outage: nobody could beat meanwhile.
            let mut state = lock(&coord.state);
            for entry in state.jobs.values_mut() {
                if let Some(a) = entry.active.as_mut() {
                    a.last_beat = Instant::now();
                }
            }
        }
        was_up = up;
        if !up {
            if link.for_how_long() > coord.link.config.timeout {
                lose(&coord);
            }
            continue;
        }
        if last_alive.is_none_or(|t| t.elapsed() >= coord.timing.beat) {
            last_alive = Some(Instant::now());
            let _ = coord
                .link
                .client
                .publish(wire::to_workers(&coord.run, "alive"), "{}".into())
                .await;
        }
        warn_when_unserved(&coord);
        decide_refused(&coord);
        let lapsed: Vec<Job> = {
            let mut state = lock(&coord.state);
            let lapse = coord.timing.lapse;
            let mut lapsed = Vec::new();
            let max = coord.timing.max_losses;
            for entry in state.jobs.values_mut() {
                if !entry.active.as_ref().is_some_and(|a| a.lapsed(lapse)) {
                    continue;
                }
                let Some(a) = entry.active.take() else {
                    continue;
                };
                entry.pending.clear();
                let name = &entry.job.launch.name;
                if !a.given_back {
                    entry.losses += 1;
                }
                if entry.losses >= max.max(1) {
                    let times = match entry.losses {
                        1 => "once".to_owned(),
                        n => format!("{n} times"),
                    };
                    crate::report::terminal::print_warning(&format!(
                        "worker `{}` stopped beating for `{name}` (attempt {}); the proc lost \
                         its worker {times} and fails",
                        a.worker, a.attempt
                    ));
                    if let Some(sender) = entry.done.take() {
                        let _ = sender.send(Coordinator::host_error(format!(
                            "lost its worker {times} (the last: `{}`); not run again \
                             (`--max-worker-losses {max}`)",
                            a.worker
                        )));
                    }
                    continue;
                }
                let what = match a.given_back {
                    true => "stopped and gave back",
                    false => "stopped beating for",
                };
                crate::report::terminal::print_warning(&format!(
                    "worker `{}` {what} `{name}` (attempt {}); the proc is queued again",
                    a.worker, a.attempt
                ));
                lapsed.push(entry.job.clone());
            }
            state.stats.lapsed += lapsed.len() as u64;
            lapsed
        };
        for job in lapsed {
            requeue(Arc::clone(&coord), job);
        }
    }
}

/// How long procs may wait with no worker there before the run says so.
const UNSERVED_WARNING: Duration = Duration::from_secs(10);

/// Say once when procs have waited [`UNSERVED_WARNING`] with no worker there.
fn warn_when_unserved(coord: &Coordinator) {
    let mut state = lock(&coord.state);
    let waiting = state.jobs.values().any(|e| e.active.is_none());
    let unserved = waiting && live_workers(&state, &coord.timing).is_empty();
    match (unserved, state.unserved) {
        (false, _) => state.unserved = None,
        (true, None) => state.unserved = Some((Instant::now(), false)),
        (true, Some((since, false))) if since.elapsed() >= UNSERVED_WARNING => {
            state.unserved = Some((since, true));
            let url = &coord.link.config.url;
            crate::report::terminal::print_warning(&format!(
                "no worker serves `{url}`: procs wait in its queue; start one with \
                 `parproc-host worker --nats {url}`"
            ));
        }
        (true, Some(_)) => {}
    }
}

/// Put `job` on the queue again (a task of its own); when that fails past
/// the timeout the proc fails naming the server.
fn requeue(coord: Arc<Coordinator>, job: Job) {
    tokio::spawn(async move {
        if let Err(e) = coord.publish(&job).await {
            let sender = lock(&coord.state)
                .jobs
                .get_mut(&job.job)
                .and_then(|e| e.done.take());
            if let Some(sender) = sender {
                let _ = sender.send(Coordinator::host_error(e));
            }
        }
    });
}

/// The server has been away past the timeout: every proc still out fails,
/// naming the server, and so does every later one.
fn lose(coord: &Coordinator) {
    let message = format!(
        "lost the NATS server `{}`: unreachable for more than {:?} (`--nats-timeout`)",
        coord.link.config.url, coord.link.config.timeout
    );
    let mut state = lock(&coord.state);
    state.lost = Some(message.clone());
    for entry in state.jobs.values_mut() {
        if let Some(sender) = entry.done.take() {
            let _ = sender.send(Coordinator::host_error(message.clone()));
        }
    }
}
