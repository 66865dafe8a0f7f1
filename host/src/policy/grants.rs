//! Capability grants: what the user allows (`--dir`, `--env`, `--allow-net`,
//! `--input`), what a proc declared it needs, and what it gets (both).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};

use super::origin::{OriginPattern, parse_origin_pattern};
use crate::budget::Budget;
use crate::outcome::{Failure, FailureKind};
use crate::spec::{DirNeed, Needs};

/// A directory the user grants: `--dir HOST[::GUEST][:ro|:rw]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The host directory, canonical (symlinks resolved).
    pub host: PathBuf,
    /// The path the guest sees it at (absolute, normalised).
    pub guest: String,
    /// Whether procs that declare a writable need may write to it.
    pub writable: bool,
}

/// Parse `--dir HOST[::GUEST][:ro|:rw]`: HOST must be an existing directory;
/// GUEST (an absolute path) defaults to HOST's canonical path; a grant is
/// read-only unless it ends in `:rw`.
pub fn parse_dir_grant(s: &str) -> Result<DirGrant, String> {
    let (rest, writable) = if let Some(rest) = s.strip_suffix(":rw") {
        (rest, true)
    } else if let Some(rest) = s.strip_suffix(":ro") {
        (rest, false)
    } else {
        (s, false)
    };
    let (host, guest) = match rest.split_once("::") {
        Some((host, guest)) => (host, Some(guest)),
        None => (rest, None),
    };
    if host.is_empty() {
        return Err(format!(
            "`{s}` names no host directory; write `HOST[::GUEST][:rw]` (like `./src::/src` or `out::/out:rw`)"
        ));
    }
    let canonical = std::fs::canonicalize(host)
        .map_err(|e| format!("cannot grant `{host}`: {e}; `--dir` takes an existing directory"))?;
    if !canonical.is_dir() {
        return Err(format!(
            "cannot grant `{host}`: it is not a directory; `--dir` takes a directory"
        ));
    }
    let guest = match guest {
        Some(g) => normalize_guest(g).map_err(|e| format!("`{s}`: {e}"))?,
        None => {
            let text = canonical.to_str().ok_or_else(|| {
                format!("`{s}`: the host path is not UTF-8; give a guest path with `HOST::GUEST`")
            })?;
            normalize_guest(text).map_err(|e| format!("`{s}`: {e}"))?
        }
    };
    Ok(DirGrant {
        host: canonical,
        guest,
        writable,
    })
}

/// An absolute guest path without `.`, `..`, empty parts or a trailing `/`;
/// `Err` says why a path is not one.
pub fn normalize_guest(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!(
            "the guest path `{path}` must be absolute (like `/src`)"
        ));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(format!("the guest path `{path}` must not contain `..`"));
            }
            p => parts.push(p),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Parse `--env NAME[=VALUE]`; a bare NAME passes the host's value, which must be set.
pub fn parse_env_grant(s: &str) -> Result<(String, String), String> {
    let (name, value) = match s.split_once('=') {
        Some((name, value)) => (name, Some(value.to_owned())),
        None => (s, None),
    };
    if name.is_empty() || name.contains('\0') {
        return Err(format!("`{s}` is not NAME or NAME=VALUE"));
    }
    let value = match value {
        Some(v) => v,
        None => std::env::var(name).map_err(|_| {
            format!(
                "`--env {name}` passes the host's value, but `{name}` is not set here; \
                 give one with `--env {name}=VALUE`"
            )
        })?,
    };
    Ok((name.to_owned(), value))
}

/// A network address pattern, `HOST:PORT`: HOST is an IP address (IPv6 in
/// brackets), a DNS name or `*`; PORT a number or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetAddr {
    /// The host part (`*`, an IP or a lower-case DNS name).
    pub host: String,
    /// The port, `None` for `*`.
    pub port: Option<u16>,
}

impl fmt::Display for NetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => self.host.clone(),
        };
        match self.port {
            Some(p) => write!(f, "{host}:{p}"),
            None => write!(f, "{host}:*"),
        }
    }
}

/// Parse `HOST:PORT` (see [`NetAddr`]).
pub fn parse_net_addr(s: &str) -> Result<NetAddr, String> {
    let bad = || {
        format!(
            "`{s}` is not HOST:PORT (like `127.0.0.1:8080`, `[::1]:443`, `example.com:443`, `*:443` or `10.0.0.1:*`)"
        )
    };
    let (host, port) = s.trim().rsplit_once(':').ok_or_else(bad)?;
    let port = match port {
        "*" => None,
        p => Some(p.parse::<u16>().map_err(|_| bad())?),
    };
    let host = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        inner.to_owned()
    } else if host == "*" || host.parse::<std::net::Ipv4Addr>().is_ok() {
        host.to_owned()
    } else if !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        host.to_ascii_lowercase()
    } else {
        return Err(bad());
    };
    Ok(NetAddr { host, port })
}

impl NetAddr {
    /// Whether this grant covers `need` (every address the need allows).
    fn covers(&self, need: &NetAddr) -> bool {
        let host = self.host == "*" || self.host == need.host;
        let port = self.port.is_none() || self.port == need.port;
        host && port
    }

    /// Whether the host part is a DNS name (needs a lookup to compare).
    pub fn is_name(&self) -> bool {
        self.host != "*" && self.host.parse::<IpAddr>().is_err()
    }

    /// Whether `addr` matches, given the addresses the host name resolves to
    /// (ignored for `*` and IP hosts).
    pub fn matches(&self, addr: SocketAddr, resolved: &[IpAddr]) -> bool {
        if self.port.is_some_and(|p| p != addr.port()) {
            return false;
        }
        match self.host.parse::<IpAddr>() {
            _ if self.host == "*" => true,
            Ok(ip) => ip == addr.ip() || ip.to_canonical() == addr.ip().to_canonical(),
            Err(_) => resolved
                .iter()
                .any(|ip| ip.to_canonical() == addr.ip().to_canonical()),
        }
    }
}

/// A WASI tool the user names: `--tool NAME=PATH.wasm[#blake3=HEX]`, with
/// its read-only data directories (`--tool-dir NAME=HOST::GUEST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolGrant {
    /// The name procs declare (`needs.tools`) and call it by; also its `argv[0]`.
    pub name: String,
    /// The tool's file: a WASI preview1 command module or a `wasi:cli/command`
    /// component.
    pub path: PathBuf,
    /// The BLAKE3 digest the file must have (64 lower-case hex digits).
    pub pin: Option<String>,
    /// Its own data directories, read-only (`--tool-dir`).
    pub dirs: Vec<DirGrant>,
}

/// Whether `name` may name a tool: letters, digits, `.`, `_` and `-`.
fn is_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Parse `--tool NAME=PATH.wasm[#blake3=HEX]`; the file must exist.
pub fn parse_tool_grant(s: &str) -> Result<ToolGrant, String> {
    let usage = "write `--tool NAME=PATH.wasm` (like `--tool yosys=tools/yosys.wasm`), \
                 optionally pinned with `#blake3=HEX`";
    let (name, rest) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` names no file; {usage}"))?;
    if !is_tool_name(name) {
        return Err(format!(
            "`{name}` is not a tool name (letters, digits, `.`, `_` and `-`); {usage}"
        ));
    }
    let (path, pin) = match rest.rsplit_once("#blake3=") {
        Some((path, hex)) => {
            let hex = hex.to_ascii_lowercase();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "`--tool {s}`: the pinned digest must be 64 hex digits (the BLAKE3 of the file, \
                     as `b3sum` prints it)"
                ));
            }
            (path, Some(hex))
        }
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(format!("`{s}` names no file; {usage}"));
    }
    let path = PathBuf::from(path);
    if !path.is_file() {
        return Err(format!(
            "cannot use the tool `{name}`: `{}` is not a file; `--tool` takes a .wasm file",
            path.display()
        ));
    }
    Ok(ToolGrant {
        name: name.to_owned(),
        path,
        pin,
        dirs: Vec::new(),
    })
}

/// Parse `--tool-dir NAME=HOST::GUEST`: a read-only data directory of the
/// tool NAME, at GUEST in its sandbox.
pub fn parse_tool_dir(s: &str) -> Result<(String, DirGrant), String> {
    let usage = "write `--tool-dir NAME=HOST::GUEST` (like `--tool-dir yosys=share::/share`)";
    let (name, dir) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` names no tool; {usage}"))?;
    if !is_tool_name(name) {
        return Err(format!("`{name}` is not a tool name; {usage}"));
    }
    if dir.ends_with(":rw") {
        return Err(format!(
            "`--tool-dir {s}`: a tool's own directories are read-only; a proc passes it \
             writable directories of its own"
        ));
    }
    let grant = parse_dir_grant(dir).map_err(|e| format!("`--tool-dir {s}`: {e}"))?;
    if grant.guest == "/tmp" || grant.guest.starts_with("/tmp/") {
        return Err(format!(
            "`--tool-dir {s}`: `/tmp` is the tool's private scratch directory; pick another guest path"
        ));
    }
    Ok((name.to_owned(), grant))
}

/// Everything the user grants a run.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// `--dir`.
    pub dirs: Vec<DirGrant>,
    /// `--env`: name and value.
    pub env: Vec<(String, String)>,
    /// `--allow-net`.
    pub net: Vec<NetAddr>,
    /// `--input`.
    pub input: bool,
    /// `--tool` (with `--tool-dir`).
    pub tools: Vec<ToolGrant>,
    /// `--allow-http`.
    pub http: Vec<OriginPattern>,
    /// `--http-ca`: roots the HTTP client trusts besides the Mozilla roots.
    pub http_ca: Vec<super::CaFile>,
}

/// A directory a proc gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedDir {
    /// The host directory (canonical).
    pub host: PathBuf,
    /// Where the guest sees it.
    pub guest: String,
    /// Whether the guest may write.
    pub writable: bool,
}

/// What one proc gets: its needs that the user granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Granted {
    /// Preopened directories.
    pub dirs: Vec<GrantedDir>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Outgoing network addresses.
    pub net: Vec<NetAddr>,
    /// Interactive input.
    pub input: bool,
    /// WASI tools it may run (names of [`Grants::tools`]).
    pub tools: Vec<String>,
    /// HTTP origins it may reach.
    pub http: Vec<OriginPattern>,
}

impl Granted {
    /// True when the proc may touch nothing outside its sandbox.
    pub fn is_nothing(&self) -> bool {
        self.dirs.is_empty()
            && self.env.is_empty()
            && self.net.is_empty()
            && !self.input
            && self.tools.is_empty()
            && self.http.is_empty()
    }

    /// One line per capability, for `--dry-run`.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in &self.dirs {
            out.push(format!(
                "dir {} = {} ({})",
                d.guest,
                d.host.display(),
                if d.writable {
                    "read-write"
                } else {
                    "read-only"
                }
            ));
        }
        for (name, _) in &self.env {
            out.push(format!("env {name}"));
        }
        for a in &self.net {
            out.push(format!("net {a} (outgoing)"));
        }
        if self.input {
            out.push("input (interactive)".to_owned());
        }
        for t in &self.tools {
            out.push(format!("tool {t} (runs it through context.exec)"));
        }
        for o in &self.http {
            out.push(format!("http {o} (outgoing)"));
        }
        out
    }
}

impl Grants {
    /// What a proc with `needs` gets, or why it may not start: every need the
    /// user did not grant, with the flag that grants it.
    pub fn resolve(&self, needs: &Needs) -> Result<Granted, Failure> {
        let mut granted = Granted::default();
        let mut missing = Vec::new();
        for need in &needs.dirs {
            match self.dir(need) {
                Ok(dir) => granted.dirs.push(dir),
                Err(m) => missing.push(m),
            }
        }
        for name in &needs.env {
            match self.env.iter().rev().find(|(n, _)| n == name) {
                Some(pair) => granted.env.push(pair.clone()),
                None => missing.push(format!(
                    "environment variable `{name}` (pass `--env {name}` for the host's value or `--env {name}=VALUE`)"
                )),
            }
        }
        for text in &needs.network {
            match parse_net_addr(text) {
                Ok(need) if self.net.iter().any(|g| g.covers(&need)) => granted.net.push(need),
                Ok(need) => missing.push(format!(
                    "network address `{need}` (pass `--allow-net {need}`)"
                )),
                Err(e) => missing.push(format!("network address {e}")),
            }
        }
        if needs.input {
            if self.input {
                granted.input = true;
            } else {
                missing.push("interactive input (pass `--input`)".to_owned());
            }
        }
        for name in &needs.tools {
            if self.tools.iter().any(|t| &t.name == name) {
                granted.tools.push(name.clone());
            } else {
                missing.push(format!("tool `{name}` (pass `--tool {name}=PATH.wasm`)"));
            }
        }
        for text in &needs.http {
            match parse_origin_pattern(text) {
                Ok(need) if self.http.iter().any(|g| g.covers(&need)) => granted.http.push(need),
                Ok(need) => {
                    missing.push(format!("HTTP origin `{need}` (pass `--allow-http {need}`)"))
                }
                Err(e) => missing.push(format!("HTTP origin {e}")),
            }
        }
        if missing.is_empty() {
            Ok(granted)
        } else {
            Err(Failure::new(
                FailureKind::NotGranted,
                format!("not granted: {}", missing.join("; ")),
            ))
        }
    }

    /// The host directory for one declared directory need.
    fn dir(&self, need: &DirNeed) -> Result<GrantedDir, String> {
        let flag = |path: &str| {
            let rw = if need.writable { ":rw" } else { "" };
            format!("pass `--dir HOST::{path}{rw}`")
        };
        let path =
            normalize_guest(&need.path).map_err(|e| format!("directory `{}`: {e}", need.path))?;
        let under = |g: &DirGrant| {
            if path == g.guest {
                Some(String::new())
            } else if g.guest == "/" {
                Some(path[1..].to_owned())
            } else {
                path.strip_prefix(&format!("{}/", g.guest))
                    .map(str::to_owned)
            }
        };
        // The most specific grant holding the path.
        let best = self
            .dirs
            .iter()
            .rev()
            .filter_map(|g| under(g).map(|rest| (g, rest)))
            .max_by_key(|(g, _)| g.guest.len());
        let Some((grant, rest)) = best else {
            return Err(format!("directory `{path}` ({})", flag(&path)));
        };
        if need.writable && !grant.writable {
            return Err(format!(
                "write access to `{path}`: `--dir` grants `{}` read-only ({})",
                grant.guest,
                flag(&path)
            ));
        }
        let host = if rest.is_empty() {
            grant.host.clone()
        } else {
            // A symlink below the grant must not lead out of it.
            let joined = grant.host.join(Path::new(&rest));
            let canonical = std::fs::canonicalize(&joined).map_err(|e| {
                format!(
                    "directory `{path}`: `{}` cannot be opened: {e}",
                    joined.display()
                )
            })?;
            if !canonical.starts_with(&grant.host)
                || canonical
                    .components()
                    .any(|c| matches!(c, Component::ParentDir))
            {
                return Err(format!(
                    "directory `{path}`: `{}` leads outside the granted `{}`",
                    joined.display(),
                    grant.host.display()
                ));
            }
            canonical
        };
        if !host.is_dir() {
            return Err(format!(
                "directory `{path}`: `{}` is not a directory",
                host.display()
            ));
        }
        Ok(GrantedDir {
            host,
            guest: path,
            writable: need.writable,
        })
    }
}

/// One proc of a `--dry-run` plan.
#[derive(Debug, Clone)]
pub struct PlanRow {
    /// The proc name.
    pub name: String,
    /// Its effective budget.
    pub budget: Budget,
    /// What it may touch, or why it would fail before it starts.
    pub access: Result<Granted, Failure>,
}

/// The text of `--dry-run`: per proc, its effective budgets and exactly what it
/// may touch. `sanitize` makes guest-chosen names safe for a terminal.
pub fn render_dry_run(rows: &[PlanRow], sanitize: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "dry run: {} proc{} would run (nothing was started)\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    for row in rows {
        let b = &row.budget;
        out.push_str(&format!("{}\n", sanitize(&row.name)));
        out.push_str(&format!(
            "    budget: fuel {}, timeout {}, memory {}\n",
            b.fuel,
            b.timeout
                .map_or_else(|| "none".to_owned(), crate::units::fmt_duration),
            crate::units::fmt_size(b.memory)
        ));
        match &row.access {
            Ok(g) if g.is_nothing() => {
                out.push_str("    may touch: nothing (no files, environment, network or input)\n");
            }
            Ok(g) => {
                out.push_str("    may touch:\n");
                for line in g.lines() {
                    out.push_str(&format!("      {}\n", sanitize(&line)));
                }
            }
            Err(f) => out.push_str(&format!(
                "    would fail before it starts: {}\n",
                sanitize(&f.message)
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("parproc-grants-{}-{n}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("scratch dir");
        std::fs::canonicalize(dir).expect("canonical")
    }

    #[test]
    fn tools_and_http_are_granted_by_name_and_origin_or_named_with_their_flag() {
        let dir = scratch();
        let file = dir.join("t.wasm");
        std::fs::write(&file, b"\0asm").expect("write");
        let spec = format!("yosys={}", file.display());
        let tool = parse_tool_grant(&spec).expect("tool");
        assert_eq!((tool.name.as_str(), tool.pin.as_deref()), ("yosys", None));
        let pinned = parse_tool_grant(&format!("{spec}#blake3={}", "AB".repeat(32))).expect("pin");
        assert_eq!(pinned.pin, Some("ab".repeat(32)));
        assert!(parse_tool_grant(&format!("{spec}#blake3=12")).is_err());
        assert!(parse_tool_grant("bad name=x.wasm").is_err());
        assert!(
            parse_tool_grant("yosys=missing.wasm")
                .expect_err("missing")
                .contains("is not a file")
        );
        let (name, d) = parse_tool_dir(&format!("yosys={}::/share", dir.display())).expect("dir");
        assert_eq!(
            (name.as_str(), d.guest.as_str(), d.writable),
            ("yosys", "/share", false)
        );
        assert!(parse_tool_dir(&format!("yosys={}::/share:rw", dir.display())).is_err());
        assert!(parse_tool_dir(&format!("yosys={}::/tmp", dir.display())).is_err());

        let grants = Grants {
            tools: vec![tool],
            http: vec![crate::policy::parse_origin_pattern("https://*.example.com").expect("o")],
            ..Grants::default()
        };
        let needs = Needs {
            tools: vec!["yosys".into()],
            http: vec!["https://api.example.com".into()],
            ..Needs::default()
        };
        let got = grants.resolve(&needs).expect("granted");
        assert_eq!(got.tools, ["yosys"]);
        assert_eq!(got.http[0].to_string(), "https://api.example.com");
        assert!(
            got.lines()
                .contains(&"tool yosys (runs it through context.exec)".to_owned())
        );
        let missing = Needs {
            tools: vec!["nextpnr".into()],
            http: vec!["https://example.com".into()],
            ..Needs::default()
        };
        let f = grants.resolve(&missing).expect_err("not granted");
        assert_eq!(
            f.message,
            "not granted: tool `nextpnr` (pass `--tool nextpnr=PATH.wasm`); HTTP origin \
             `https://example.com` (pass `--allow-http https://example.com`)"
        );
    }

    fn needs_dir(path: &str, writable: bool) -> Needs {
        Needs {
            dirs: vec![DirNeed {
                path: path.to_owned(),
                writable,
            }],
            ..Needs::default()
        }
    }

    #[test]
    fn parses_dir_grants() {
        let dir = scratch();
        let d = dir.display();
        let g = parse_dir_grant(&format!("{d}::/src")).expect("grant");
        assert_eq!((g.guest.as_str(), g.writable), ("/src", false));
        let g = parse_dir_grant(&format!("{d}::/out/:rw")).expect("grant");
        assert_eq!((g.guest.as_str(), g.writable), ("/out", true));
        let g = parse_dir_grant(&format!("{d}:rw")).expect("grant");
        assert_eq!(g.guest, d.to_string());
        assert!(g.writable);
        assert!(
            parse_dir_grant(&format!("{d}::src"))
                .expect_err("relative")
                .contains("must be absolute")
        );
        assert!(
            parse_dir_grant(&format!("{d}::/a/../b"))
                .expect_err("dotdot")
                .contains("`..`")
        );
        assert!(
            parse_dir_grant("/no/such/dir")
                .expect_err("missing")
                .contains("cannot grant `/no/such/dir`")
        );
    }

    #[test]
    fn a_proc_gets_what_it_needs_and_the_user_granted() {
        let dir = scratch();
        let grants = Grants {
            dirs: vec![
                DirGrant {
                    host: dir.clone(),
                    guest: "/src".into(),
                    writable: false,
                },
                DirGrant {
                    host: dir.join("sub"),
                    guest: "/out".into(),
                    writable: true,
                },
            ],
            env: vec![("HOME".into(), "/h".into())],
            net: vec![parse_net_addr("127.0.0.1:*").expect("addr")],
            input: false,
            ..Grants::default()
        };
        // Nothing declared: nothing given, whatever is granted.
        assert_eq!(grants.resolve(&Needs::default()), Ok(Granted::default()));

        let g = grants.resolve(&needs_dir("/src/sub", false)).expect("ok");
        assert_eq!(g.dirs[0].host, dir.join("sub"));
        assert_eq!(g.dirs[0].guest, "/src/sub");

        let f = grants
            .resolve(&needs_dir("/src", true))
            .expect_err("read-only");
        assert_eq!(f.kind, FailureKind::NotGranted);
        assert_eq!(
            f.message,
            "not granted: write access to `/src`: `--dir` grants `/src` read-only \
             (pass `--dir HOST::/src:rw`)"
        );
        let g = grants.resolve(&needs_dir("/out", true)).expect("rw");
        assert!(g.dirs[0].writable);

        let f = grants
            .resolve(&Needs {
                dirs: vec![DirNeed {
                    path: "/data".into(),
                    writable: false,
                }],
                env: vec!["HOME".into(), "TOKEN".into()],
                network: vec!["127.0.0.1:80".into(), "10.0.0.1:80".into()],
                input: true,
                ..Needs::default()
            })
            .expect_err("several missing");
        assert_eq!(
            f.message,
            "not granted: directory `/data` (pass `--dir HOST::/data`); environment variable \
             `TOKEN` (pass `--env TOKEN` for the host's value or `--env TOKEN=VALUE`); network \
             address `10.0.0.1:80` (pass `--allow-net 10.0.0.1:80`); interactive input (pass \
             `--input`)"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_under_a_grant_cannot_lead_out() {
        let dir = scratch();
        let outside = scratch();
        std::os::unix::fs::symlink(&outside, dir.join("escape")).expect("symlink");
        let grants = Grants {
            dirs: vec![DirGrant {
                host: dir.clone(),
                guest: "/src".into(),
                writable: false,
            }],
            ..Grants::default()
        };
        let f = grants
            .resolve(&needs_dir("/src/escape", false))
            .expect_err("escapes");
        assert!(f.message.contains("leads outside the granted"), "{f}");
    }

    #[test]
    fn parses_and_matches_network_addresses() {
        let a = parse_net_addr("[::1]:443").expect("v6");
        assert_eq!(a.to_string(), "[::1]:443");
        assert!(a.matches("[::1]:443".parse().expect("addr"), &[]));
        assert!(!a.matches("[::1]:80".parse().expect("addr"), &[]));
        let any = parse_net_addr("*:*").expect("any");
        assert!(any.covers(&a));
        assert!(!a.covers(&any));
        let name = parse_net_addr("Example.COM:443").expect("name");
        assert_eq!(name.host, "example.com");
        assert!(name.is_name());
        let ip: IpAddr = "93.184.216.34".parse().expect("ip");
        assert!(name.matches(SocketAddr::new(ip, 443), &[ip]));
        assert!(!name.matches(SocketAddr::new(ip, 443), &[]));
        assert!(parse_net_addr("nope").is_err());
        assert!(parse_net_addr("a b:1").is_err());
        assert!(parse_net_addr("1.2.3.4:99999").is_err());
    }

    #[test]
    fn env_grants_need_a_value() {
        assert_eq!(
            parse_env_grant("A=b=c"),
            Ok(("A".to_owned(), "b=c".to_owned()))
        );
        let err = parse_env_grant("PARPROC_SURELY_UNSET_VAR").expect_err("unset");
        assert!(
            err.contains("--env PARPROC_SURELY_UNSET_VAR=VALUE"),
            "{err}"
        );
    }
}
