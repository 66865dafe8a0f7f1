//! HTTP origins and the patterns that grant them (`needs.http`,
//! `--allow-http`): `SCHEME://HOST[:PORT]`, the way Spin's
//! `allowed_outbound_hosts` names them.
//!
//! Rules (README "HTTP"): the scheme is required (`http` or `https`); the
//! port defaults to the scheme's (80, 443); a path, query or fragment is
//! ignored; in a DNS name `*` stands for exactly one whole label and never
//! for the apex (`https://*.example.com` matches `https://api.example.com`,
//! not `https://example.com` nor `https://a.b.example.com`); an IP literal
//! matches only itself. Names are compared lower-case; DNS answers are not
//! looked at.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// An origin pattern: what a proc declares and what the user grants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginPattern {
    /// `http` or `https`.
    pub scheme: String,
    /// The host: an IP literal, or DNS labels where `*` is a wildcard label.
    pub host: HostPattern,
    /// The port (the scheme's when not written).
    pub port: u16,
}

/// The host part of an [`OriginPattern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// An IP address, matched literally.
    Ip(IpAddr),
    /// DNS labels, lower-case; `*` matches one label.
    Name(Vec<String>),
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostPattern::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            HostPattern::Ip(ip) => ip.to_string(),
            HostPattern::Name(labels) => labels.join("."),
        };
        if default_port(&self.scheme) == Some(self.port) {
            write!(f, "{}://{host}", self.scheme)
        } else {
            write!(f, "{}://{host}:{}", self.scheme, self.port)
        }
    }
}

/// The port of a scheme, for the schemes HTTP grants know.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Parse an origin pattern (see the module docs).
pub fn parse_origin_pattern(text: &str) -> Result<OriginPattern, String> {
    let bad = |why: &str| {
        format!(
            "`{text}` is not an HTTP origin: {why} (write `SCHEME://HOST[:PORT]`, like \
             `https://api.example.com`, `https://*.example.com` or `http://127.0.0.1:8080`)"
        )
    };
    let trimmed = text.trim();
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| bad("it has no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    let port_default =
        default_port(&scheme).ok_or_else(|| bad("the scheme is not http or https"))?;
    // Everything from the first `/`, `?` or `#` is a path: ignored.
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("user information (`user@`) is not part of an origin"));
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (ip, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address lacks its `]`"))?;
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| bad("the IPv6 address is not valid"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after `]`"))?),
        };
        (HostPattern::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        (host_pattern(host).map_err(|why| bad(&why))?, port)
    };
    let port = match port {
        None => port_default,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
    };
    Ok(OriginPattern { scheme, host, port })
}

/// The host of a pattern: an IPv4 literal or DNS labels.
fn host_pattern(host: &str) -> Result<HostPattern, String> {
    if host.is_empty() {
        return Err("it names no host".to_owned());
    }
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        return Ok(HostPattern::Ip(IpAddr::V4(ip)));
    }
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.len() > 253 {
        return Err("the host name is longer than 253 characters".to_owned());
    }
    let labels: Vec<String> = host.split('.').map(str::to_owned).collect();
    for label in &labels {
        let ok = label == "*"
            || (!label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !ok {
            return Err(format!("`{label}` is not a DNS label or `*`"));
        }
    }
    if labels.iter().all(|l| l == "*") {
        return Err("`*` stands for one label of a name, never for a whole host".to_owned());
    }
    if labels.len() < 2 && labels.iter().any(|l| l == "*") {
        return Err("`*` never stands for the apex".to_owned());
    }
    Ok(HostPattern::Name(labels))
}

impl OriginPattern {
    /// Whether a request to `scheme://host:port` matches (the host as the
    /// request names it: a DNS name or an IP literal, IPv6 with or without
    /// brackets).
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        if !self.scheme.eq_ignore_ascii_case(scheme) || self.port != port {
            return false;
        }
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match (&self.host, host.parse::<IpAddr>()) {
            (HostPattern::Ip(ip), Ok(asked)) => *ip == asked,
            (HostPattern::Ip(_), Err(_)) | (HostPattern::Name(_), Ok(_)) => false,
            (HostPattern::Name(labels), Err(_)) => {
                let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
                let asked: Vec<&str> = host.split('.').collect();
                asked.len() == labels.len()
                    && labels
                        .iter()
                        .zip(&asked)
                        .all(|(l, a)| !a.is_empty() && (l == "*" || l == a))
            }
        }
    }

    /// Whether this grant covers the declared pattern `need` (every origin
    /// the need names).
    pub fn covers(&self, need: &OriginPattern) -> bool {
        if self.scheme != need.scheme || self.port != need.port {
            return false;
        }
        match (&self.host, &need.host) {
            (HostPattern::Ip(a), HostPattern::Ip(b)) => a == b,
            (HostPattern::Name(grant), HostPattern::Name(need)) => {
                grant.len() == need.len() && grant.iter().zip(need).all(|(g, n)| g == "*" || g == n)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> OriginPattern {
        parse_origin_pattern(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn ports_default_to_the_scheme_and_paths_are_ignored() {
        let o = p("HTTPS://API.Example.com/v1/x?y#z");
        assert_eq!(o.scheme, "https");
        assert_eq!(o.port, 443);
        assert_eq!(o.to_string(), "https://api.example.com");
        assert_eq!(
            p("http://127.0.0.1:8080").to_string(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(p("http://[::1]").to_string(), "http://[::1]");
        assert!(o.matches("https", "api.example.com", 443));
        assert!(o.matches("https", "API.example.com.", 443));
        assert!(!o.matches("http", "api.example.com", 443));
        assert!(!o.matches("https", "api.example.com", 8443));
    }

    #[test]
    fn a_star_is_one_label_and_never_the_apex() {
        let o = p("https://*.example.com");
        assert!(o.matches("https", "api.example.com", 443));
        assert!(!o.matches("https", "example.com", 443));
        assert!(!o.matches("https", "a.b.example.com", 443));
        assert!(!o.matches("https", ".example.com", 443));
        for bad in [
            "https://*",
            "https://*.*",
            "https://*:443",
            "https://a*.example.com",
        ] {
            assert!(parse_origin_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ip_literals_match_only_themselves() {
        let o = p("http://127.0.0.1:8080");
        assert!(o.matches("http", "127.0.0.1", 8080));
        assert!(!o.matches("http", "localhost", 8080));
        assert!(!o.matches("http", "127.0.0.2", 8080));
        let v6 = p("http://[::1]:8080");
        assert!(v6.matches("http", "[::1]", 8080));
        assert!(v6.matches("http", "::1", 8080));
        assert!(!p("http://localhost:8080").matches("http", "127.0.0.1", 8080));
    }

    #[test]
    fn bad_patterns_say_what_to_write() {
        for (bad, why) in [
            ("api.example.com", "no scheme"),
            ("ftp://x.org", "not http or https"),
            ("https://", "no host"),
            ("https://x.org:0", "port"),
            ("https://x.org:99999", "port"),
            ("https://u@x.org", "user information"),
            ("https://x_y.org", "DNS label"),
        ] {
            let e = parse_origin_pattern(bad).expect_err(bad);
            assert!(
                e.contains(why) && e.contains("SCHEME://HOST[:PORT]"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn grants_cover_needs_label_by_label() {
        assert!(p("https://*.example.com").covers(&p("https://api.example.com")));
        assert!(p("https://*.example.com").covers(&p("https://*.example.com")));
        assert!(!p("https://api.example.com").covers(&p("https://*.example.com")));
        assert!(!p("https://*.example.com").covers(&p("https://example.com")));
        assert!(!p("https://x.org").covers(&p("http://x.org")));
        assert!(!p("http://127.0.0.1").covers(&p("http://localhost")));
    }
}

/// A `--http-ca FILE`: the PEM certificates in it, each a root the HTTP
/// client trusts besides the Mozilla roots it always has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFile {
    /// The file, as given.
    pub path: std::path::PathBuf,
    /// Its certificates (DER), each checked to be usable as a trust anchor.
    pub certs: Vec<rustls_pki_types::CertificateDer<'static>>,
}

/// Read a `--http-ca FILE`: at least one PEM `CERTIFICATE`, each one a trust
/// anchor rustls accepts; the error names the file and what is wrong.
pub fn parse_ca_file(s: &str) -> Result<CaFile, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let path = std::path::PathBuf::from(s);
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read `{s}`: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("`{s}` is not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "`{s}` holds no PEM certificate (expected `-----BEGIN CERTIFICATE-----`)"
        ));
    }
    for (i, cert) in certs.iter().enumerate() {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(cert.clone())
            .map_err(|e| format!("certificate {} in `{s}` cannot be a root: {e}", i + 1))?;
    }
    Ok(CaFile { path, certs })
}
