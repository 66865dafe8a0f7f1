//! A test certificate authority for the TLS tests (HTTPS and NATS).

/// A fresh CA's PEM, and a certificate it signed for `names` with its key.
pub(crate) fn issue(names: &[&str]) -> (String, rcgen::Certificate, rcgen::KeyPair) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "parproc test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().expect("key"))
        .expect("CA");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .expect("params")
            .signed_by(&key, &ca)
            .expect("server certificate");
    (ca.pem(), cert, key)
}
