//! A certificate credential: the PEM or PFX file loaded and checked (the RSA key, the leaf
//! matching it, the chain and thumbprints) and the client assertions signed with it (§1.1).

use aws_lc_rs::digest;
use aws_lc_rs::signature::RsaKeyPair;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use s4s_core::config::{AssertionAlgorithm, CertificateCredential, ConfigError};
use secrecy::ExposeSecret;
use serde_json::json;

use super::unix_now;

/// How long a certificate assertion is valid: short, within the documented 5–10 minutes (§1.1).
const ASSERTION_LIFETIME_SECS: i64 = 600;

/// A loaded certificate credential: the RSA key, the certificate's thumbprints and chain.
pub struct ClientCertificate {
    key: RsaKeyPair,
    /// base64url SHA-256 of the DER certificate (`x5t#S256`).
    x5t_s256: String,
    /// base64url SHA-1 (`x5t`, sent with RS256 for older Entra behaviour).
    x5t: String,
    /// SHA-1 in upper-case hex: what the portal shows as the thumbprint.
    thumbprint: String,
    /// The chain as standard base64 DER, leaf first (`x5c`).
    chain: Vec<String>,
    algorithm: AssertionAlgorithm,
    send_chain: bool,
    path: String,
    /// The leaf's `notAfter` (seconds since the epoch), for self-monitoring.
    not_after: Option<i64>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("path", &self.path)
            .field("thumbprint", &self.thumbprint)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A random (version 4) UUID, for `jti`.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex_upper(&b).to_ascii_lowercase();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

impl ClientCertificate {
    /// Reads and checks the certificate file of a tenant (at start-up); errors name the key
    /// and the path.
    pub fn load(c: &CertificateCredential) -> Result<ClientCertificate, ConfigError> {
        let bytes = std::fs::read(&c.path).map_err(|e| ConfigError {
            key: c.key.clone(),
            problem: format!("cannot read the certificate file {}: {e}", c.path),
            fix: "check the path and that the connector's user may read it".into(),
        })?;
        let password = c.password.as_ref().map(|p| p.expose_secret());
        ClientCertificate::from_bytes(&bytes, password, c.algorithm, c.send_chain, &c.path).map_err(|problem| {
            ConfigError {
                key: c.key.clone(),
                problem: format!("certificate file {}: {problem}", c.path),
                fix: "use a PEM file holding the certificate and its unencrypted RSA private key, or a PFX file \
                      (with certificate_password if it has one)"
                    .into(),
            }
        })
    }

    /// A certificate credential from a PEM (certificate(s) and private key, any order) or
    /// PKCS#12 (PFX) file's bytes. The leaf is the certificate whose public key matches the
    /// private key; the others follow it in the chain.
    pub fn from_bytes(
        bytes: &[u8],
        password: Option<&str>,
        algorithm: AssertionAlgorithm,
        send_chain: bool,
        path: &str,
    ) -> Result<ClientCertificate, String> {
        let (key, certs) = if bytes.windows(10).any(|w| w == b"-----BEGIN") {
            if bytes.windows(21).any(|w| w == b"ENCRYPTED PRIVATE KEY") {
                return Err("the private key is encrypted: convert the file to a PFX and set certificate_password, \
                            or decrypt the key (openssl pkey -in key.pem -out key-plain.pem)"
                    .into());
            }
            let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(bytes)
                .map(|c| c.map(|c| c.as_ref().to_vec()))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("invalid PEM: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(bytes).map_err(|e| match e {
                rustls_pki_types::pem::Error::NoItemsFound => {
                    "no private key found: put the certificate and its private key in one PEM file".to_string()
                }
                other => format!("invalid PEM private key: {other}"),
            })?;
            let key = match &key {
                PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
                PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
                _ => return Err("the private key is not an RSA key: Entra ID accepts RSA certificates".into()),
            }
            .map_err(|e| format!("the private key is not a usable RSA key (2048 bits or more): {e}"))?;
            (key, certs)
        } else {
            let store =
                p12_keystore::KeyStore::from_pkcs12(bytes, password.unwrap_or(""), p12_keystore::Pkcs12ImportPolicy::Strict)
                    .map_err(|e| match e {
                        p12_keystore::error::Error::MacError(_) => {
                            "cannot open the PFX file: wrong password (certificate_password / AZURE_CLIENT_CERTIFICATE_PASSWORD)"
                                .to_string()
                        }
                        other => format!("neither PEM nor a readable PFX file ({other}); a wrong password also gives this"),
                    })?;
            let (_, chain) =
                store.private_key_chain().ok_or("the PFX file holds no private key with its certificate")?;
            let key = RsaKeyPair::from_pkcs8(chain.key().as_der())
                .map_err(|e| format!("the private key is not a usable RSA key (2048 bits or more): {e}"))?;
            (key, chain.certs().iter().map(|c| c.as_der().to_vec()).collect())
        };
        if certs.is_empty() {
            return Err("no certificate found next to the private key".into());
        }
        // The leaf: the certificate that verifies a signature made with the key.
        let probe = b"signl4-sentinel certificate check";
        let mut sig = vec![0u8; key.public_modulus_len()];
        key.sign(&aws_lc_rs::signature::RSA_PSS_SHA256, &aws_lc_rs::rand::SystemRandom::new(), probe, &mut sig)
            .map_err(|_| "the private key cannot sign".to_string())?;
        let leaf = certs
            .iter()
            .position(|der| {
                let der = CertificateDer::from(der.as_slice());
                webpki::EndEntityCert::try_from(&der).is_ok_and(|ee| {
                    ee.verify_signature(webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY, probe, &sig).is_ok()
                })
            })
            .ok_or("no certificate in the file matches the private key")?;
        let mut ordered = vec![certs[leaf].clone()];
        ordered.extend(certs.iter().enumerate().filter(|(i, _)| *i != leaf).map(|(_, c)| c.clone()));
        let der = &ordered[0];
        let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der);
        Ok(ClientCertificate {
            key,
            x5t_s256: URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, der)),
            x5t: URL_SAFE_NO_PAD.encode(sha1),
            thumbprint: hex_upper(sha1.as_ref()),
            chain: ordered.iter().map(|c| STANDARD.encode(c)).collect(),
            algorithm,
            send_chain,
            path: path.to_string(),
            not_after: s4s_core::selfmon::certificate_not_after(der),
        })
    }

    /// The file it was loaded from (named in Entra's refusals).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The SHA-1 thumbprint in upper-case hex, as the Entra portal shows it.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// When the certificate expires (its `notAfter`, Unix seconds): self-monitoring and the
    /// status page.
    pub fn not_after(&self) -> Option<i64> {
        self.not_after
    }

    /// A client assertion for `client_id` at the token endpoint `audience` (§1.1): header
    /// `alg` (PS256 or RS256), `typ`, `x5t#S256` (and `x5t` with RS256, `x5c` if asked);
    /// claims `aud`, `iss` = `sub` = client id, a fresh `jti`, `nbf`/`iat` now, `exp` in 10
    /// minutes.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, String> {
        let now = unix_now();
        let mut header = json!({"alg": self.algorithm.as_str(), "typ": "JWT", "x5t#S256": self.x5t_s256});
        if self.algorithm == AssertionAlgorithm::Rs256 {
            header["x5t"] = json!(self.x5t);
        }
        if self.send_chain {
            header["x5c"] = json!(self.chain);
        }
        let claims = json!({
            "aud": audience, "iss": client_id, "sub": client_id, "jti": uuid_v4(),
            "nbf": now, "iat": now, "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let b64 = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default());
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = match self.algorithm {
            AssertionAlgorithm::Ps256 => &aws_lc_rs::signature::RSA_PSS_SHA256,
            AssertionAlgorithm::Rs256 => &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        };
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(padding, &aws_lc_rs::rand::SystemRandom::new(), input.as_bytes(), &mut sig)
            .map_err(|_| "signing the client assertion failed".to_string())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_expiry_is_read_from_the_certificate() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        for (y, m, d) in [(2027, 6, 30), (2049, 12, 31), (2051, 1, 1)] {
            let mut p = rcgen::CertificateParams::new(vec!["signl4-sentinel.test".into()]).unwrap();
            p.not_after = rcgen::date_time_ymd(y, m, d);
            let der = p.self_signed(&key).unwrap().der().to_vec();
            let expect = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d)
                .unwrap()
                .midnight()
                .assume_utc()
                .unix_timestamp();
            // ≥ 2050 is written as GeneralizedTime, earlier as UTCTime (RFC 5280 §4.1.2.5).
            assert_eq!(s4s_core::selfmon::certificate_not_after(&der), Some(expect), "{y}-{m}-{d}");
        }
        assert_eq!(s4s_core::selfmon::certificate_not_after(b"not a certificate"), None);
        assert_eq!(s4s_core::selfmon::certificate_not_after(&[0x30, 0x84, 0xff]), None);
    }

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(uuid_v4(), u);
    }
}
