//! What travels between a coordinator and its workers: the subjects, the
//! messages (the runner seam's own messages, `crate::exec`, wrapped with
//! attempt ids and sequence numbers) and how a message too large for one NATS
//! payload goes through the object store (docs/distributed.md, "Protocol").

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::exec::{ContextReply, ContextRequest, Launch, RunReport};
use crate::logsink::Stream;

/// The work-queue stream every coordinator publishes ready procs to.
pub const WORK_STREAM: &str = "PARPROC_WORK";
/// The subjects of [`WORK_STREAM`].
pub const WORK_SUBJECTS: &str = "parproc.work.*";
/// The durable pull consumer all workers share.
pub const CONSUMER: &str = "parproc-workers";
/// The object-store bucket of modules, by digest.
pub const MODULES: &str = "parproc-modules";
/// The object-store bucket of messages too large for one payload.
pub const BLOBS: &str = "parproc-blobs";

/// How long a delivered job may stay unclaimed before JetStream hands it to
/// another worker (a worker that died between taking and claiming it).
pub const CLAIM_WAIT: Duration = Duration::from_secs(10);

/// The subject a run's jobs are published on.
pub fn work_subject(run: &str) -> String {
    format!("parproc.work.{run}")
}

/// A subject the run's coordinator listens on (`claim`, `beat`, `gone`, `call`, `done`).
pub fn to_coordinator(run: &str, what: &str) -> String {
    format!("parproc.run.{run}.{what}")
}

/// A subject workers listen on for a run (`alive`, `cancel`).
pub fn to_workers(run: &str, what: &str) -> String {
    format!("parproc.coord.{run}.{what}")
}

/// What a worker must keep to from the coordinator's configuration (the
/// worker's own ceilings may be lower).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobLimits {
    /// `--log-limit` (bytes kept per proc).
    pub log_limit: usize,
    /// `--max-result`.
    pub result_limit: usize,
    /// `--max-arg`.
    pub max_arg: usize,
    /// `--max-created`.
    pub max_created: usize,
    /// `--deterministic`.
    pub deterministic: bool,
}

/// A ready proc on the work queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The run (its coordinator's id).
    pub run: String,
    /// The job's number in the run.
    pub job: u64,
    /// The module's BLAKE3 digest (hex), its name in [`MODULES`].
    pub module: String,
    /// What to run.
    pub launch: Launch,
    /// The coordinator's limits.
    pub limits: JobLimits,
    /// How often the coordinator says it is alive; a worker abandons the
    /// run's procs after twice this without a word.
    pub coordinator_beat_ms: u64,
}

/// A worker asks to run a job it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The job.
    pub job: u64,
    /// The worker's name.
    pub worker: String,
}

/// The coordinator's answer to a [`Claim`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClaimReply {
    /// Run it as this attempt.
    Go {
        /// The attempt's id.
        attempt: u64,
    },
    /// Do not run it (finished, cancelled, or running elsewhere).
    Drop {
        /// Why.
        reason: String,
    },
}

/// A worker's heartbeat for its attempts of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beat {
    /// The worker.
    pub worker: String,
    /// The attempts it is running.
    pub attempts: Vec<u64>,
}

/// A context call of a remote proc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The attempt making it.
    pub attempt: u64,
    /// Its number in the attempt (from 0): a call sent again with the same
    /// number takes effect once.
    pub seq: u64,
    /// The call.
    pub request: ContextRequest,
}

/// The answer to a [`Call`], sent to the attempt's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CallReply {
    /// The answer to call `seq`.
    Reply {
        /// The call's number.
        seq: u64,
        /// The answer.
        reply: ContextReply,
    },
    /// The attempt is no longer the proc's: stop.
    Stale,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Done {
    /// The attempt.
    pub attempt: u64,
    /// The worker.
    pub worker: String,
    /// The report.
    pub report: RunReport,
    /// The proc's log, as the worker kept it (within the log limit).
    pub log: Vec<(Stream, String)>,
    /// The worker's policy refused the proc without running it (the report
    /// says why): another worker may take it.
    #[serde(default)]
    pub refused: bool,
}

/// Where every worker says, each heartbeat, that it is there.
pub const PRESENCE: &str = "parproc.workers.present";

/// A worker's presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// Its name.
    pub worker: String,
    /// Its slots.
    pub slots: usize,
}

/// The coordinator's answer to a [`Done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DoneReply {
    /// Taken (or taken before: the report was sent again).
    Taken,
    /// The attempt was not the proc's any more: its report is ignored.
    Stale,
}

/// The coordinator tells workers to stop attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel {
    /// The attempts.
    pub attempts: Vec<u64>,
}

/// The largest message sent inline; larger ones go through [`BLOBS`]
/// (the server's default `max_payload` is 1 MiB).
pub const INLINE_MAX: usize = 256 << 10;

/// The largest message read from [`BLOBS`] (a result and a log within their
/// limits are far smaller).
pub const BLOB_MAX: u64 = 1 << 30;

const INLINE: u8 = b'I';
const BLOB: u8 = b'B';

/// The buckets of a server: modules and large messages (made when missing).
#[derive(Clone)]
pub struct Buckets {
    /// Modules by digest.
    pub modules: jetstream::object_store::ObjectStore,
    /// Large messages.
    pub blobs: jetstream::object_store::ObjectStore,
}

impl std::fmt::Debug for Buckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Buckets")
    }
}

async fn bucket(
    js: &jetstream::Context,
    name: &str,
    max_age: Duration,
) -> anyhow::Result<jetstream::object_store::ObjectStore> {
    if let Ok(store) = js.get_object_store(name).await {
        return Ok(store);
    }
    js.create_object_store(jetstream::object_store::Config {
        bucket: name.to_owned(),
        max_age,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .with_context(|| format!("cannot create the object store `{name}` on the NATS server"))
}

impl Buckets {
    /// Open (or make) the buckets.
    pub async fn open(js: &jetstream::Context) -> anyhow::Result<Buckets> {
        Ok(Buckets {
            // A module stays a week after its last publication; a blob a day.
            modules: bucket(js, MODULES, Duration::from_secs(7 * 24 * 3600)).await?,
            blobs: bucket(js, BLOBS, Duration::from_secs(24 * 3600)).await?,
        })
    }

    /// `message` as one payload: inline, or a blob's name when it is large.
    pub async fn encode<T: Serialize>(&self, message: &T) -> anyhow::Result<bytes::Bytes> {
        let json = serde_json::to_vec(message).context("cannot encode a message")?;
        if json.len() <= INLINE_MAX {
            let mut out = Vec::with_capacity(json.len() + 1);
            out.push(INLINE);
            out.extend_from_slice(&json);
            return Ok(out.into());
        }
        let name = format!("m-{}", nuid_like());
        self.blobs
            .put(name.as_str(), &mut json.as_slice())
            .await
            .map_err(|e| anyhow::anyhow!("cannot store a large message on the server: {e}"))?;
        let mut out = vec![BLOB];
        out.extend_from_slice(name.as_bytes());
        Ok(out.into())
    }

    /// The message in `payload` (reading its blob when it is one; the blob is
    /// left for its sender's retries and expires with the bucket's age).
    pub async fn decode<T: DeserializeOwned>(&self, payload: &[u8]) -> anyhow::Result<T> {
        match payload.split_first() {
            Some((&INLINE, json)) => serde_json::from_slice(json).context("a malformed message"),
            Some((&BLOB, name)) => {
                let name = std::str::from_utf8(name).context("a malformed blob name")?;
                let mut object = self
                    .blobs
                    .get(name)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot fetch the message `{name}`: {e}"))?;
                let mut json = Vec::new();
                let mut bounded = tokio::io::AsyncReadExt::take(&mut object, BLOB_MAX + 1);
                tokio::io::AsyncReadExt::read_to_end(&mut bounded, &mut json)
                    .await
                    .with_context(|| format!("cannot read the message `{name}`"))?;
                if json.len() as u64 > BLOB_MAX {
                    anyhow::bail!("the message `{name}` is larger than {BLOB_MAX} bytes");
                }
                serde_json::from_slice(&json).context("a malformed message")
            }
            _ => anyhow::bail!("a message of an unknown kind"),
        }
    }
}

/// A fresh unique token for names (runs, blobs).
pub fn nuid_like() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = rand::random::<u128>();
    (0..21)
        .map(|_| {
            let c = ALPHABET[(n % 62) as usize] as char;
            n /= 62;
            c
        })
        .collect()
}
