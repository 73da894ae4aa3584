//! ID tokens of OpenID Connect: a compact JWS whose signature is checked against the provider's
//! JSON Web Key Set, then its claims against what this wiki expects. Pure: no IO, no clock of its
//! own (the caller passes the time). RS256, RS384, RS512 and ES256 are accepted; `none`, the
//! HMAC algorithms (`HS*`, which would make the client secret a signing key) and anything else
//! are refused before any key is looked at.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature;
use serde::Deserialize;
use serde_json::Value;

/// How far the provider's clock may be from ours, in seconds.
pub(crate) const CLOCK_SKEW: i64 = 120;

/// Largest ID token looked at.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// Why a token was refused; the message is for the log and the error page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse<T>(msg: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(msg.into()))
}

/// One key of a JWKS, as published.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

/// A provider's key set (`jwks_uri`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Jwks {
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Whether the set has a key with this id (a missing one means the provider rotated keys
    /// since the set was fetched).
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// What an ID token must say to be accepted.
#[derive(Debug)]
pub(crate) struct Expect<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Seconds since the Unix epoch.
    pub now: i64,
}

/// The claims of an accepted ID token that the wiki uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    /// The `groups` claim: the names of the groups the provider puts the person in (an array
    /// of strings; a single string is taken as one group; anything else as none).
    pub groups: Vec<String>,
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, Refused> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .or_else(|_| refuse(format!("the ID token's {what} is not base64url")))
}

/// The key id a token's header names, if it can be read (to know whether to fetch new keys).
pub(crate) fn kid(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let header: Header = serde_json::from_slice(&b64(header, "header").ok()?).ok()?;
    header.kid
}

/// Checks the signature of `token` against `keys`, then its claims against `expect`.
pub(crate) fn verify(token: &str, keys: &Jwks, expect: &Expect<'_>) -> Result<Claims, Refused> {
    if token.len() > MAX_TOKEN_BYTES {
        return refuse("the ID token is too large");
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, sig_b64] = parts.as_slice() else {
        return refuse("the ID token is not a signed JWT (three dot-separated parts)");
    };
    let header: Header = serde_json::from_slice(&b64(header_b64, "header")?)
        .or_else(|_| refuse("the ID token's header is not JSON with an alg"))?;
    let alg = header.alg.as_str();
    let verifier: &dyn Verify = match alg {
        "RS256" => &Rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => &Rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => &Rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        "ES256" => &Es256,
        "none" => return refuse("the ID token is not signed (alg none)"),
        a if a.starts_with("HS") => {
            return refuse(format!(
                "the ID token is signed with {a}, a shared secret; only public-key signatures are accepted"
            ));
        }
        a => {
            return refuse(format!(
                "the ID token is signed with {}, which this wiki does not accept (RS256, RS384, RS512, ES256)",
                casebook_core::truncate(a, 20)
            ));
        }
    };
    let sig = b64(sig_b64, "signature")?;
    let signed = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    let candidates: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|k| k.kty == verifier.kty())
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg))
        .filter(|k| match (&header.kid, &k.kid) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        })
        .collect();
    if candidates.is_empty() {
        return refuse(format!(
            "the provider publishes no {alg} key{}",
            header
                .kid
                .as_deref()
                .map(|k| format!(" with id '{}'", casebook_core::truncate(k, 60)))
                .unwrap_or_default()
        ));
    }
    if !candidates.iter().any(|k| verifier.verify(k, signed, &sig)) {
        return refuse("the ID token's signature does not verify with the provider's keys");
    }
    let payload: Value = serde_json::from_slice(&b64(payload_b64, "payload")?)
        .or_else(|_| refuse("the ID token's payload is not JSON"))?;
    check_claims(&payload, expect)
}

fn check_claims(c: &Value, expect: &Expect<'_>) -> Result<Claims, Refused> {
    let text = |k: &str| c.get(k).and_then(Value::as_str);
    let iss = text("iss").unwrap_or_default();
    if iss != expect.issuer {
        return refuse(format!(
            "the ID token was issued by '{}', not by the configured provider",
            casebook_core::truncate(iss, 100)
        ));
    }
    let aud: Vec<&str> = match c.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !aud.contains(&expect.client_id) {
        return refuse("the ID token is meant for another client (aud)");
    }
    match text("azp") {
        Some(azp) if azp != expect.client_id => {
            return refuse("the ID token was requested by another client (azp)");
        }
        None if aud.len() > 1 => {
            return refuse("the ID token names several audiences but no authorized party (azp)");
        }
        _ => {}
    }
    let number = |k: &str| c.get(k).and_then(Value::as_f64).map(|f| f as i64);
    let Some(exp) = number("exp") else {
        return refuse("the ID token has no expiry (exp)");
    };
    if exp + CLOCK_SKEW <= expect.now {
        return refuse("the ID token has expired");
    }
    let Some(iat) = number("iat") else {
        return refuse("the ID token has no issue time (iat)");
    };
    if iat - CLOCK_SKEW > expect.now {
        return refuse("the ID token was issued in the future; check the clocks");
    }
    if text("nonce") != Some(expect.nonce) {
        return refuse("the ID token does not belong to this sign-in (nonce)");
    }
    let sub = text("sub").unwrap_or_default();
    if sub.is_empty() || sub.len() > 255 {
        return refuse("the ID token names nobody (sub)");
    }
    let email_verified = match c.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        // Some providers send it as a string.
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(Claims {
        issuer: iss.to_string(),
        subject: sub.to_string(),
        email: text("email").map(str::to_string),
        email_verified,
        preferred_username: text("preferred_username").map(str::to_string),
        groups: match c.get("groups") {
            Some(Value::Array(a)) => {
                a.iter().filter_map(Value::as_str).map(str::to_string).collect()
            }
            Some(Value::String(g)) => vec![g.clone()],
            _ => Vec::new(),
        },
    })
}

trait Verify {
    fn kty(&self) -> &'static str;
    fn verify(&self, key: &Jwk, signed: &[u8], sig: &[u8]) -> bool;
}

struct Rsa(&'static signature::RsaParameters);

impl Verify for Rsa {
    fn kty(&self) -> &'static str {
        "RSA"
    }
    fn verify(&self, key: &Jwk, signed: &[u8], sig: &[u8]) -> bool {
        let (Some(n), Some(e)) = (&key.n, &key.e) else {
            return false;
        };
        let (Ok(n), Ok(e)) = (b64(n, "key"), b64(e, "key")) else {
            return false;
        };
        let strip = |v: &[u8]| -> Vec<u8> {
            let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
            v[first..].to_vec()
        };
        signature::RsaPublicKeyComponents { n: strip(&n), e: strip(&e) }
            .verify(self.0, signed, sig)
            .is_ok()
    }
}

struct Es256;

impl Verify for Es256 {
    fn kty(&self) -> &'static str {
        "EC"
    }
    fn verify(&self, key: &Jwk, signed: &[u8], sig: &[u8]) -> bool {
        if key.crv.as_deref() != Some("P-256") {
            return false;
        }
        let (Some(x), Some(y)) = (&key.x, &key.y) else {
            return false;
        };
        let (Ok(x), Ok(y)) = (b64(x, "key"), b64(y, "key")) else {
            return false;
        };
        if x.len() != 32 || y.len() != 32 {
            return false;
        }
        let mut point = Vec::with_capacity(65);
        point.push(4);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(signed, sig)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    struct Ec {
        pair: EcdsaKeyPair,
        jwks: Jwks,
    }

    fn ec_key(kid: &str) -> Ec {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let public = pair.public_key().as_ref();
        let jwks: Jwks = serde_json::from_value(json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&public[33..]),
        }]}))
        .unwrap();
        Ec { pair, jwks }
    }

    fn sign(key: &Ec, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = key.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    const NOW: i64 = 1_800_000_000;

    fn expect() -> Expect<'static> {
        Expect { issuer: "https://id.example.com", client_id: "wiki", nonce: "n1", now: NOW }
    }

    fn claims() -> Value {
        json!({"iss": "https://id.example.com", "aud": "wiki", "sub": "u1", "nonce": "n1",
               "iat": NOW - 5, "exp": NOW + 300, "email": "ann@example.com",
               "email_verified": true, "preferred_username": "ann"})
    }

    fn with(mut v: Value, k: &str, x: Value) -> Value {
        v[k] = x;
        v
    }

    #[test]
    fn a_good_es256_token_is_accepted() {
        let key = ec_key("k1");
        let token = sign(&key, json!({"alg": "ES256", "kid": "k1"}), claims());
        let c = verify(&token, &key.jwks, &expect()).unwrap();
        assert_eq!(c.subject, "u1");
        assert_eq!(c.email.as_deref(), Some("ann@example.com"));
        assert!(c.email_verified);
        assert!(c.groups.is_empty());
        assert_eq!(kid(&token).as_deref(), Some("k1"));
        // Groups come as an array of names; other values in it are skipped.
        let grouped = with(claims(), "groups", json!(["sales", 7, "support"]));
        let t = sign(&key, json!({"alg": "ES256"}), grouped);
        assert_eq!(verify(&t, &key.jwks, &expect()).unwrap().groups, ["sales", "support"]);
        // Several audiences need azp naming this client.
        let many = with(claims(), "aud", json!(["wiki", "other"]));
        let t = sign(&key, json!({"alg": "ES256"}), with(many.clone(), "azp", json!("wiki")));
        assert!(verify(&t, &key.jwks, &expect()).is_ok());
        let t = sign(&key, json!({"alg": "ES256"}), many);
        assert!(verify(&t, &key.jwks, &expect()).unwrap_err().0.contains("azp"));
    }

    #[test]
    fn bad_tokens_are_refused_with_a_reason() {
        let key = ec_key("k1");
        let other = ec_key("k1");
        let h = json!({"alg": "ES256", "kid": "k1"});
        let cases: Vec<(String, &str)> = vec![
            (sign(&other, h.clone(), claims()), "signature"),
            (sign(&key, json!({"alg": "ES256", "kid": "k9"}), claims()), "no ES256 key"),
            (sign(&key, h.clone(), with(claims(), "iss", json!("https://evil"))), "issued by"),
            (sign(&key, h.clone(), with(claims(), "aud", json!("other"))), "another client"),
            (sign(&key, h.clone(), with(claims(), "azp", json!("other"))), "azp"),
            (sign(&key, h.clone(), with(claims(), "exp", json!(NOW - 600))), "expired"),
            (sign(&key, h.clone(), with(claims(), "iat", json!(NOW + 600))), "future"),
            (sign(&key, h.clone(), with(claims(), "nonce", json!("n2"))), "nonce"),
            (sign(&key, h.clone(), with(claims(), "sub", json!(""))), "sub"),
            (sign(&key, json!({"alg": "none"}), claims()), "alg none"),
            (sign(&key, json!({"alg": "HS256"}), claims()), "shared secret"),
            (sign(&key, json!({"alg": "RS256"}), claims()), "no RS256 key"),
            ("a.b".into(), "three"),
            ("!!.b.c".into(), "base64url"),
        ];
        for (token, says) in cases {
            let err = verify(&token, &key.jwks, &expect()).unwrap_err().0;
            assert!(err.contains(says), "{says}: {err}");
        }
        // Within the clock skew, a just-expired token still passes.
        let t = sign(&key, h.clone(), with(claims(), "exp", json!(NOW - 30)));
        assert!(verify(&t, &key.jwks, &expect()).is_ok());
        // A token re-signed as unsigned keeps its claims but loses its signature: refused.
        let good = sign(&key, h, claims());
        let mut parts: Vec<&str> = good.split('.').collect();
        let none = URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string());
        parts[0] = &none;
        parts[2] = "";
        assert!(verify(&parts.join("."), &key.jwks, &expect()).is_err());
    }
}
