//! The connection to the NATS server: where it is, how to authenticate
//! (secrets from the environment or a file), TLS, and whether the link is up
//! right now (docs/distributed.md, "Security").

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// A secret (token, password, nkey seed): its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, to hand to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How to authenticate to the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// A token.
    Token(Secret),
    /// A user and password.
    UserPassword(String, Secret),
    /// An nkey seed.
    NKey(Secret),
    /// A `.creds` file (JWT and nkey seed).
    CredsFile(PathBuf),
}

/// TLS settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tls {
    /// Require TLS (a `tls://` URL also requires it).
    pub require: bool,
    /// Extra root certificates (PEM files).
    pub roots: Vec<PathBuf>,
    /// A client certificate and its key (PEM files).
    pub client: Option<(PathBuf, PathBuf)>,
}

/// Where the server is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// The server's URL without credentials (safe to show).
    pub url: String,
    /// Credentials.
    pub auth: Auth,
    /// TLS.
    pub tls: Tls,
    /// How long the server may be unreachable before the run (or worker)
    /// gives up on it.
    pub timeout: Duration,
}

/// Default [`NatsConfig::timeout`]: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where credentials come from besides the URL: flags, files, environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSources {
    /// `--nats-user`.
    pub user: Option<String>,
    /// `--nats-password-file`.
    pub password_file: Option<PathBuf>,
    /// `--nats-token-file`.
    pub token_file: Option<PathBuf>,
    /// `--nats-nkey-file` (a seed).
    pub nkey_file: Option<PathBuf>,
    /// `--nats-creds`.
    pub creds: Option<PathBuf>,
    /// `--nats-password` (shown by `ps`: warned about).
    pub password: Option<String>,
    /// `--nats-token` (shown by `ps`: warned about).
    pub token: Option<String>,
}

/// The environment variable holding a token.
pub const ENV_TOKEN: &str = "PARPROC_NATS_TOKEN";
/// The environment variable holding a password (with `--nats-user`).
pub const ENV_PASSWORD: &str = "PARPROC_NATS_PASSWORD";
/// The environment variable holding an nkey seed.
pub const ENV_NKEY: &str = "PARPROC_NATS_NKEY";

fn read_secret(path: &std::path::Path, what: &str) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the NATS {what} file `{}`", path.display()))?;
    let text = text.trim();
    if text.is_empty() {
        anyhow::bail!("the NATS {what} file `{}` is empty", path.display());
    }
    Ok(Secret::new(text))
}

/// Split credentials out of `url` (`nats://user:pass@host:port`,
/// `nats://token@host:port`): the URL to show and what it carried.
fn split_url(url: &str) -> (String, Option<String>) {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let shown = match scheme {
        Some(s) => format!("{s}://{host}{path}"),
        None => format!("{host}{path}"),
    };
    (shown, Some(userinfo.to_owned()))
}

impl NatsConfig {
    /// The configuration from `--nats URL` and the credential sources; the
    /// returned warnings are for the terminal (a secret in a flag or the URL
    /// works but `ps` shows it). The environment is read here:
    /// [`ENV_TOKEN`], [`ENV_PASSWORD`], [`ENV_NKEY`].
    pub fn from_sources(
        url: &str,
        sources: &AuthSources,
        tls: Tls,
        timeout: Duration,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<(NatsConfig, Vec<String>)> {
        let mut warnings = Vec::new();
        let (shown, userinfo) = split_url(url);
        let mut auth = Auth::None;
        if let Some(info) = userinfo {
            warnings.push(format!(
                "the NATS URL carries credentials, which `ps` shows; put them in {ENV_PASSWORD} \
                 or {ENV_TOKEN}, or in a file (`--nats-password-file`, `--nats-token-file`)"
            ));
            auth = match info.split_once(':') {
                Some((user, pass)) => Auth::UserPassword(user.to_owned(), Secret::new(pass)),
                None => Auth::Token(Secret::new(info)),
            };
        }
        let mut set = |a: Auth, what: &str| -> anyhow::Result<()> {
            if auth != Auth::None {
                anyhow::bail!(
                    "more than one kind of NATS credentials given ({what} and another); give one"
                );
            }
            auth = a;
            Ok(())
        };
        if let Some(path) = &sources.creds {
            if !path.is_file() {
                anyhow::bail!(
                    "the NATS credentials file `{}` does not exist",
                    path.display()
                );
            }
            set(Auth::CredsFile(path.clone()), "`--nats-creds`")?;
        }
        if let Some(path) = &sources.nkey_file {
            set(Auth::NKey(read_secret(path, "nkey")?), "`--nats-nkey-file`")?;
        } else if let Some(seed) = env(ENV_NKEY).filter(|s| !s.is_empty()) {
            set(Auth::NKey(Secret::new(seed.trim())), ENV_NKEY)?;
        }
        let token = match (&sources.token_file, &sources.token) {
            (Some(path), _) => Some(read_secret(path, "token")?),
            (None, Some(t)) => {
                warnings.push(format!(
                    "`--nats-token` is shown by `ps`; put the token in {ENV_TOKEN} or \
                     `--nats-token-file`"
                ));
                Some(Secret::new(t.clone()))
            }
            (None, None) => env(ENV_TOKEN).filter(|s| !s.is_empty()).map(Secret::new),
        };
        if let Some(t) = token {
            set(Auth::Token(t), "a token")?;
        }
        if let Some(user) = &sources.user {
            let password = match (&sources.password_file, &sources.password) {
                (Some(path), _) => read_secret(path, "password")?,
                (None, Some(p)) => {
                    warnings.push(format!(
                        "`--nats-password` is shown by `ps`; put the password in {ENV_PASSWORD} \
                         or `--nats-password-file`"
                    ));
                    Secret::new(p.clone())
                }
                (None, None) => match env(ENV_PASSWORD).filter(|s| !s.is_empty()) {
                    Some(p) => Secret::new(p),
                    None => anyhow::bail!(
                        "`--nats-user {user}` needs a password: set {ENV_PASSWORD} or pass \
                         `--nats-password-file FILE`"
                    ),
                },
            };
            set(Auth::UserPassword(user.clone(), password), "a user")?;
        } else if sources.password.is_some() || sources.password_file.is_some() {
            anyhow::bail!("a NATS password needs `--nats-user NAME`");
        }
        let tls = Tls {
            require: tls.require || shown.starts_with("tls://"),
            ..tls
        };
        Ok((
            NatsConfig {
                url: shown,
                auth,
                tls,
                timeout,
            },
            warnings,
        ))
    }

    /// The URL to dial: `tls://` becomes `nats://` (TLS is required by the
    /// options instead, which the client understands for any scheme).
    fn dial_url(&self) -> String {
        match self.url.strip_prefix("tls://") {
            Some(rest) => format!("nats://{rest}"),
            None => self.url.clone(),
        }
    }
}

/// Whether the link to the server is up, and since when it is in its state.
#[derive(Debug)]
pub struct LinkState {
    up: AtomicBool,
    /// Milliseconds since `epoch` of the last change.
    changed: AtomicU64,
    epoch: Instant,
}

impl LinkState {
    fn new() -> LinkState {
        LinkState {
            up: AtomicBool::new(true),
            changed: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn set(&self, up: bool) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.changed.store(now, Ordering::SeqCst);
        self.up.store(up, Ordering::SeqCst);
    }

    /// Whether the client is connected now.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    /// How long the link has been in its current state.
    pub fn for_how_long(&self) -> Duration {
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.changed.load(Ordering::SeqCst)))
    }
}

/// A connected client, its JetStream context and the link's state.
#[derive(Clone, Debug)]
pub struct Link {
    /// The client.
    pub client: async_nats::Client,
    /// JetStream on it.
    pub js: async_nats::jetstream::Context,
    /// Up or down, and since when.
    pub state: Arc<LinkState>,
    /// The configuration it was made from.
    pub config: Arc<NatsConfig>,
}

/// Connect to the server (`name` is the client's name the server shows). The
/// first connection must succeed within the configured timeout; later losses
/// are retried by the client for as long as the process lives (the callers
/// decide when a loss is too long).
pub async fn connect(config: NatsConfig, name: &str) -> anyhow::Result<Link> {
    let state = Arc::new(LinkState::new());
    let events = Arc::clone(&state);
    let mut options = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .ping_interval(Duration::from_secs(2))
        .request_timeout(Some(Duration::from_secs(5)))
        // Come back quickly after a server restart (the default backs off to
        // seconds).
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((attempts as u64 * 100).min(1000))
        })
        .event_callback(move |event| {
            let events = Arc::clone(&events);
            async move {
                match event {
                    async_nats::Event::Connected => events.set(true),
                    async_nats::Event::Disconnected => events.set(false),
                    _ => {}
                }
            }
        });
    options = match &config.auth {
        Auth::None => options,
        Auth::Token(t) => options.token(t.expose().to_owned()),
        Auth::UserPassword(u, p) => options.user_and_password(u.clone(), p.expose().to_owned()),
        Auth::NKey(seed) => options.nkey(seed.expose().to_owned()),
        Auth::CredsFile(path) => options.credentials_file(path).await.with_context(|| {
            format!("cannot read the NATS credentials file `{}`", path.display())
        })?,
    };
    if config.tls.require {
        options = options.require_tls(true);
    }
    for root in &config.tls.roots {
        options = options.add_root_certificates(root.clone());
    }
    if let Some((cert, key)) = &config.tls.client {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let url = config.dial_url();
    let client = tokio::time::timeout(config.timeout, options.connect(url.as_str()))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "cannot reach the NATS server `{}`: no answer within {:?}",
                config.url,
                config.timeout
            )
        })?
        .map_err(|e| {
            anyhow::Error::new(crate::report::terminal::Hinted {
                message: format!("cannot connect to the NATS server `{}`: {e}", config.url),
                hint: "start one with `nats-server -js -a 127.0.0.1 -p 4222 -sd DIR`, or check \
                       the URL and the credentials (`--nats-user`, PARPROC_NATS_TOKEN, \
                       `--nats-creds`)"
                    .to_owned(),
            })
        })?;
    let js = async_nats::jetstream::new(client.clone());
    Ok(Link {
        client,
        js,
        state,
        config: Arc::new(config),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str, sources: AuthSources, env: &[(&str, &str)]) -> (NatsConfig, Vec<String>) {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        NatsConfig::from_sources(url, &sources, Tls::default(), DEFAULT_TIMEOUT, |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .expect("config")
    }

    #[test]
    fn credentials_in_the_url_work_are_hidden_and_warned_about() {
        let (c, w) = cfg(
            "nats://alice:s3cret@127.0.0.1:4222",
            AuthSources::default(),
            &[],
        );
        assert_eq!(c.url, "nats://127.0.0.1:4222");
        assert_eq!(
            c.auth,
            Auth::UserPassword("alice".into(), Secret::new("s3cret"))
        );
        assert_eq!(w.len(), 1);
        assert!(!format!("{c:?}").contains("s3cret"), "{c:?}");
        let (c, _) = cfg("nats://tok@host:1", AuthSources::default(), &[]);
        assert_eq!(c.auth, Auth::Token(Secret::new("tok")));
        assert_eq!(c.url, "nats://host:1");
    }

    #[test]
    fn secrets_come_from_the_environment_without_a_warning() {
        let (c, w) = cfg("nats://h:1", AuthSources::default(), &[(ENV_TOKEN, "t0k")]);
        assert_eq!(c.auth, Auth::Token(Secret::new("t0k")));
        assert!(w.is_empty());
        let sources = AuthSources {
            user: Some("bob".into()),
            ..AuthSources::default()
        };
        let (c, w) = cfg("nats://h:1", sources, &[(ENV_PASSWORD, "pw")]);
        assert_eq!(c.auth, Auth::UserPassword("bob".into(), Secret::new("pw")));
        assert!(w.is_empty());
    }

    #[test]
    fn a_user_without_a_password_and_two_kinds_of_credentials_are_refused() {
        let sources = AuthSources {
            user: Some("bob".into()),
            ..AuthSources::default()
        };
        let e = NatsConfig::from_sources(
            "nats://h:1",
            &sources,
            Tls::default(),
            DEFAULT_TIMEOUT,
            |_| None,
        )
        .expect_err("no password");
        assert!(e.to_string().contains(ENV_PASSWORD), "{e}");
        let e = NatsConfig::from_sources(
            "nats://tok@h:1",
            &sources,
            Tls::default(),
            DEFAULT_TIMEOUT,
            |k| (k == ENV_PASSWORD).then(|| "pw".to_owned()),
        )
        .expect_err("two kinds");
        assert!(e.to_string().contains("more than one kind"), "{e}");
    }

    #[test]
    fn a_tls_url_requires_tls_and_dials_nats() {
        let (c, _) = cfg("tls://h:4222", AuthSources::default(), &[]);
        assert!(c.tls.require);
        assert_eq!(c.dial_url(), "nats://h:4222");
    }
}
