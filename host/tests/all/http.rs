//! Outgoing HTTP through `wasi:http` against a real server on loopback started here, from
//! three guests making the same requests: `tests/programs/http_jobs` (Rust, the `wasip2`
//! crate's client), `tests/polyglot/http.py` (the Python SDK's `pp.http`) and
//! `tests/polyglot/http.js` (JavaScript's own `fetch`): a granted origin answers; another port, a proc
//! that declared no origin and a redirect to a host not granted are denied
//! (`HTTP-request-denied`); a server that never answers is ended by the proc's timeout; a
//! guest that buffers a 200 MB body meets its memory cap while one that streams it reads
//! all of it; a 1 MiB response header (over the HTTP client's header buffer) is an error
//! the guest sees, not a crash or an unbounded buffer.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use parproc_test_artifacts as wasm;

use crate::polyglot::{Lang, component};
use crate::scenarios_incremental::{Proc, read_report};

/// A guest making the requests.
#[derive(Debug, Clone, Copy)]
enum Guest {
    Rust,
    Python,
    Js,
}

impl Guest {
    fn module(self) -> PathBuf {
        match self {
            Guest::Rust => PathBuf::from(wasm::HTTP_JOBS),
            Guest::Python => component(Lang::Python, "tests/polyglot/http.py"),
            Guest::Js => component(Lang::Js, "tests/polyglot/http.js"),
        }
    }

    /// What the guest's client reports for a request the host denied: the error code
    /// (Rust, Python); `fetch` says only that the network failed, so the host's log line
    /// is what tells (asserted too).
    fn denied(self) -> &'static str {
        match self {
            Guest::Rust => "ErrorCode::HttpRequestDenied",
            Guest::Python => "HTTP-request-denied",
            Guest::Js => "NetworkError when attempting to fetch resource",
        }
    }

    /// What the guest's client reports for a server certificate no root vouches for.
    fn bad_certificate(self) -> &'static str {
        match self {
            Guest::Rust => "ErrorCode::TlsCertificateError",
            Guest::Python => "TLS-certificate-error",
            Guest::Js => "NetworkError when attempting to fetch resource",
        }
    }
}

/// The port `http_jobs` is built to reach.
const PORT: u16 = 18631;
/// The size of `/huge`.
const HUGE: usize = 200 << 20;

/// Answer one request on `stream` (plain TCP or TLS).
fn serve(mut stream: impl Read + Write) {
    let path = {
        // A request has no body here: what the reader buffers is its head.
        let mut reader = BufReader::new(&mut stream);
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        loop {
            let mut h = String::new();
            match reader.read_line(&mut h) {
                Ok(0) | Err(_) => return,
                Ok(_) if h == "\r\n" => break,
                Ok(_) => {}
            }
        }
        path
    };
    let _ = match path.as_str() {
        "/hello" => {
            let body = "hello from the test server";
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        "/redirect" => write!(
            stream,
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.2:{PORT}/hello\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        ),
        "/slow" => {
            std::thread::sleep(std::time::Duration::from_secs(30));
            Ok(())
        }
        "/huge" => {
            let chunk = vec![b'h'; 1 << 16];
            let head = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {HUGE}\r\nconnection: close\r\n\r\n"
            );
            head.and_then(|()| {
                for _ in 0..HUGE / chunk.len() {
                    stream.write_all(&chunk)?;
                }
                Ok(())
            })
        }
        "/bigheader" => write!(
            stream,
            "HTTP/1.1 200 OK\r\nx-big: {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            "b".repeat(1 << 20)
        ),
        _ => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
        ),
    };
}

/// The port of the HTTPS server (`tls`, `https://localhost:18633`).
const TLS_PORT: u16 = 18633;

/// The PEM file of the test CA that signed the HTTPS server's certificate.
fn test_ca() -> &'static Path {
    static CA: OnceLock<PathBuf> = OnceLock::new();
    CA.get_or_init(|| {
        server();
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("http")
            .join(format!("{}-ca.pem", std::process::id()));
        std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
        std::fs::write(&path, &tls_keys().0).expect("write the CA");
        path
    })
}

/// A test CA (its PEM) and a certificate it signed for `localhost`
/// (certificate and key, DER).
fn tls_keys() -> &'static (String, rustls::pki_types::CertificateDer<'static>, Vec<u8>) {
    static KEYS: OnceLock<(String, rustls::pki_types::CertificateDer<'static>, Vec<u8>)> =
        OnceLock::new();
    KEYS.get_or_init(|| {
        let (ca, cert, key) = crate::certs::issue(&["localhost"]);
        (ca, cert.der().clone(), key.serialize_der())
    })
}

/// Start the servers once per test run: HTTP on [`PORT`], HTTPS on
/// [`TLS_PORT`] (the same answers).
fn server() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let listener = TcpListener::bind(("127.0.0.1", PORT))
            .unwrap_or_else(|e| panic!("the HTTP tests need 127.0.0.1:{PORT}: {e}"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(stream));
            }
        });
        let (_, cert, key) = tls_keys();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.clone().into()),
        )
        .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind(("127.0.0.1", TLS_PORT))
            .unwrap_or_else(|e| panic!("the HTTP tests need 127.0.0.1:{TLS_PORT}: {e}"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let config = Arc::clone(&config);
                std::thread::spawn(move || {
                    if let Ok(conn) = rustls::ServerConnection::new(config) {
                        serve(rustls::StreamOwned::new(conn, stream));
                    }
                });
            }
        });
    });
}

fn run(
    guest: Guest,
    flags: &[&str],
    targets: &[&str],
    tag: &str,
) -> (Option<i32>, String, BTreeMap<String, Proc>) {
    server();
    let dir: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http");
    std::fs::create_dir_all(&dir).expect("dir");
    let report = dir.join(format!("{}-{guest:?}-{tag}.json", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .args(["run", "--progress", "static", "--report"])
        .arg(&report)
        .args(flags)
        .arg(guest.module())
        .args(targets)
        .output()
        .expect("run parproc-host");
    read_report(&o, &report)
}

const GRANT: [&str; 2] = ["--allow-http", "http://127.0.0.1:18631"];

fn a_granted_origin_answers_and_everything_else_is_denied(guest: Guest) {
    let targets = ["get::hello", "get::denied", "get::redirect", "nohttp"];
    let (code, text, p) = run(guest, &GRANT, &targets, "grants");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(p["get::hello"].result["status"], 200, "{text}");
    assert_eq!(p["get::hello"].result["body"], "hello from the test server");
    assert_eq!(p["get::denied"].result["err"], guest.denied(), "{text}");
    // The host does not follow the redirect; the guest that does is checked again.
    assert_eq!(p["get::redirect"].result["first"], 302, "{text}");
    assert_eq!(p["get::redirect"].result["then"]["err"], guest.denied());
    assert_eq!(p["nohttp"].result["err"], guest.denied(), "{text}");
    assert!(
        text.contains("HTTP request to `http://127.0.0.1:18632` denied: not a granted origin"),
        "{text}"
    );
    assert!(
        text.contains("HTTP request to `http://127.0.0.2:18631` denied: not a granted origin"),
        "{text}"
    );

    // Not granted: the proc that declared the origin fails before it starts.
    let (code, text, p) = run(guest, &[], &["get::hello"], "ungranted");
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(
        p["get::hello"].message,
        "not granted: HTTP origin `http://127.0.0.1:18631` (pass `--allow-http http://127.0.0.1:18631`)"
    );
}

fn slow_servers_huge_bodies_and_huge_headers_stay_within_the_procs_limits(guest: Guest) {
    let flags = [
        GRANT[0],
        GRANT[1],
        "--timeout",
        "get::slow=1s",
        "--max-memory",
        "get::huge=64MiB",
    ];
    let targets = [
        "get::slow",
        "get::huge",
        "get::stream",
        "get::bigheader",
        "get::hello",
    ];
    let (code, text, p) = run(guest, &flags, &targets, "limits");
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(p["get::slow"].state, "FAILED");
    assert_eq!(p["get::slow"].message, "timed out after 1s", "{text}");
    assert_eq!(p["get::huge"].state, "FAILED");
    assert!(
        p["get::huge"]
            .message
            .starts_with("memory limit of 64 MiB reached"),
        "{text}"
    );
    assert_eq!(p["get::stream"].result["len"], HUGE, "{text}");
    let big = &p["get::bigheader"].result;
    assert!(
        big["err"].as_str().is_some_and(|e| !e.is_empty()),
        "{big}\n{text}"
    );
    assert_eq!(p["get::hello"].result["status"], 200);
}

#[test]
fn rust_a_granted_origin_answers_and_everything_else_is_denied() {
    a_granted_origin_answers_and_everything_else_is_denied(Guest::Rust);
}

#[test]
fn python_a_granted_origin_answers_and_everything_else_is_denied() {
    a_granted_origin_answers_and_everything_else_is_denied(Guest::Python);
}

#[test]
fn js_a_granted_origin_answers_and_everything_else_is_denied() {
    a_granted_origin_answers_and_everything_else_is_denied(Guest::Js);
}

#[test]
fn rust_slow_servers_huge_bodies_and_huge_headers_stay_within_the_procs_limits() {
    slow_servers_huge_bodies_and_huge_headers_stay_within_the_procs_limits(Guest::Rust);
}

#[test]
fn python_slow_servers_huge_bodies_and_huge_headers_stay_within_the_procs_limits() {
    slow_servers_huge_bodies_and_huge_headers_stay_within_the_procs_limits(Guest::Python);
}

#[test]
fn js_slow_servers_huge_bodies_and_huge_headers_stay_within_the_procs_limits() {
    slow_servers_huge_bodies_and_huge_headers_stay_within_the_procs_limits(Guest::Js);
}

/// HTTPS: trusted through `--http-ca`, refused (a certificate error the guest sees) without
/// it; a CA file that is not one is a clear error before anything runs.
fn https_with_a_test_ca(guest: Guest) {
    let grant = ["--allow-http", "https://localhost:18633"];
    let ca = test_ca().to_str().expect("utf-8 path");
    let (code, text, p) = run(
        guest,
        &[grant[0], grant[1], "--http-ca", ca],
        &["tls"],
        "tls-ca",
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(p["tls"].result["status"], 200, "{text}");
    assert_eq!(p["tls"].result["body"], "hello from the test server");

    let (code, text, p) = run(guest, &grant, &["tls"], "tls-noca");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(p["tls"].result["err"], guest.bad_certificate(), "{text}");
}

#[test]
fn rust_https_with_a_test_ca() {
    https_with_a_test_ca(Guest::Rust);
}

#[test]
fn python_https_with_a_test_ca() {
    https_with_a_test_ca(Guest::Python);
}

#[test]
fn js_https_with_a_test_ca() {
    https_with_a_test_ca(Guest::Js);
}

#[test]
fn a_ca_file_that_is_not_one_is_refused_by_name() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http");
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join(format!("{}-not-a-ca.pem", std::process::id()));
    std::fs::write(&bad, "just text\n").expect("write");
    let missing = dir.join("no-such-ca.pem");
    for (file, says) in [
        (
            &bad,
            "holds no PEM certificate (expected `-----BEGIN CERTIFICATE-----`)",
        ),
        (&missing, "cannot read"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
            .args(["run", "--http-ca"])
            .arg(file)
            .arg(wasm::HTTP_JOBS)
            .output()
            .expect("run parproc-host");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("--http-ca <FILE>"), "{err}");
        assert!(err.contains(says), "{err}");
    }
}
