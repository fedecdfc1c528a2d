//! What the integration tests (`tests/it`) and the benchmark (`bench/`)
//! share, so neither keeps its own copy: the demo fixture of
//! `config/default.toml`, the POST forms of a page, a page's text, JWT
//! parts, PKCE pairs, free ports, and the peer OP (`peer`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The demo fixture (`config/default.toml`, README "The demo").
pub mod demo {
    pub const CONTOSO: &str = "contoso";
    pub const CONTOSO_ID: &str = "6d2e5a3c-8f14-4b7e-9c21-3a5f0e8b7d41";
    pub const FABRIKAM: &str = "fabrikam";
    pub const FABRIKAM_ID: &str = "9a7c4e21-3d58-4f06-b2e9-71c0d5a8f3b6";
    pub const DEMO_APP: &str = "demo-app";
    pub const DEMO_APP_SECRET: &str = "demo-app-secret";
    pub const DEMO_SPA: &str = "demo-spa";
    pub const ADMIN_CLI: &str = "admin-cli";
    pub const ADMIN_CLI_SECRET: &str = "admin-cli-secret";
    pub const REDIRECT_URI: &str = "http://127.0.0.1:8400/callback";
    pub const ALICE: (&str, &str) = ("alice@contoso.example", "Alice-Passw0rd");
    pub const CONTOSO_ADMIN: (&str, &str) = ("admin@contoso.example", "Contoso-Admin-1");
    pub const BOB: (&str, &str) = ("bob@fabrikam.example", "Bob-Passw0rd");
}

/// A POST form found on a page, with the values its inputs carry.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The form's fields with some replaced or added.
    pub fn filled(&self, values: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut fields = self.fields.clone();
        for (name, value) in values {
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some(field) => field.1 = value.to_string(),
                None => fields.push((name.to_string(), value.to_string())),
            }
        }
        fields
    }
}

/// Every POST form on an HTML page, in document order (an HTML parser, not
/// string matching: attributes in any order and quoting, entities decoded).
pub fn post_forms(html: &str) -> Vec<Form> {
    let doc = scraper::Html::parse_document(html);
    let (Ok(form_sel), Ok(input_sel)) = (scraper::Selector::parse("form"), scraper::Selector::parse("input")) else {
        return vec![];
    };
    doc.select(&form_sel)
        .filter(|f| f.value().attr("method").is_some_and(|m| m.eq_ignore_ascii_case("post")))
        .map(|f| Form {
            action: f.value().attr("action").unwrap_or_default().to_string(),
            fields: f
                .select(&input_sel)
                .filter_map(|i| {
                    let name = i.value().attr("name")?;
                    Some((name.to_string(), i.value().attr("value").unwrap_or_default().to_string()))
                })
                .collect(),
        })
        .collect()
}

/// The text of every element `selector` (CSS) matches, trimmed.
pub fn select_text(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let Ok(sel) = scraper::Selector::parse(selector) else { return vec![] };
    doc.select(&sel).map(|e| e.text().collect::<String>().trim().to_string()).collect()
}

/// The attribute `name` of every element `selector` (CSS) matches (HTML
/// entities decoded, as a browser reads them).
pub fn select_attr(html: &str, selector: &str, name: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let Ok(sel) = scraper::Selector::parse(selector) else { return vec![] };
    doc.select(&sel).filter_map(|e| e.value().attr(name).map(str::to_string)).collect()
}

/// A page's visible text, whitespace collapsed and cut at 240 characters:
/// what a failed flow reports.
pub fn page_text(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let body = scraper::Selector::parse("body").ok().and_then(|s| doc.select(&s).next());
    let text = body.map(|b| b.text().collect::<Vec<_>>().join(" ")).unwrap_or_default();
    text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(240).collect()
}

/// A JWT's header (0) or payload (1), decoded but not verified.
pub fn jwt_part(token: &str, part: usize) -> Option<serde_json::Value> {
    let encoded = token.split('.').nth(part)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()
}

/// A fresh PKCE pair: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A port nobody listens on right now (the OS's choice).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// panva's `oidc-provider` (OpenID Certified) in `bench/peer`, installed
/// from its lock file: the tests' external home IdP and the bench's peer.
pub mod peer {
    use std::path::PathBuf;
    use std::process::Stdio;
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, BufReader, Lines};
    use tokio::process::{Child, ChildStdout};

    /// A running peer. Dropping it kills the process.
    pub struct Peer {
        pub child: Child,
        /// Its issuer, `http://127.0.0.1:{port}`.
        pub issuer: String,
        /// `node --version`.
        pub node: String,
        /// Kept open: the peer may still write to stdout.
        _stdout: Lines<BufReader<ChildStdout>>,
    }

    /// `bench/peer` of this repository.
    pub fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/peer")
    }

    fn tail(bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim();
        let start = text.char_indices().rev().nth(300).map_or(0, |(i, _)| i);
        text[start..].replace('\n', " | ")
    }

    /// Installs the peer's locked dependencies, once per process (CI does it up front).
    pub async fn install() -> Result<(), String> {
        static INSTALL: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();
        INSTALL
            .get_or_init(|| async {
                let dir = dir();
                if dir.join("node_modules/oidc-provider/package.json").exists() {
                    return Ok(());
                }
                eprintln!("npm ci in {}", dir.display());
                match tokio::process::Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).output().await {
                    Ok(out) if out.status.success() => Ok(()),
                    Ok(out) => Err(format!("npm ci in {} failed: {}", dir.display(), tail(&out.stderr))),
                    Err(e) => Err(format!("npm not found (Node.js and npm are required): {e}")),
                }
            })
            .await
            .clone()
    }

    /// Starts the peer on a free port with `clients` and `users` (its
    /// `server.js` reads them from the environment, with `env` added), its
    /// stderr going to `stderr`; `Err` says why it is unavailable.
    pub async fn start(
        clients: &serde_json::Value,
        users: &serde_json::Value,
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Result<Peer, String> {
        let node = match tokio::process::Command::new("node").arg("--version").output().await {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
            Ok(out) => return Err(format!("node --version failed: {}", tail(&out.stderr))),
            Err(e) => return Err(format!("node not found: {e}")),
        };
        install().await?;
        let port = super::free_port().map_err(|e| e.to_string())?;
        let mut child = tokio::process::Command::new("node")
            .arg("server.js")
            .current_dir(dir())
            .env("PORT", port.to_string())
            .env("CLIENTS", clients.to_string())
            .env("USERS", users.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting node: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
            Ok(Ok(Some(line))) if line.starts_with("ready ") => {
                Ok(Peer { child, issuer: line["ready ".len()..].trim().to_string(), node, _stdout: lines })
            }
            other => {
                let _ = child.kill().await;
                Err(format!("the peer did not start ({other:?})"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_text_come_from_the_html() {
        let html = r#"<html><head><title>T</title><style>p{}</style></head><body><h1>Sign in</h1>
            <form method="get" action="/search"><input name="q"></form>
            <form action='/login' METHOD=post><input type=hidden value="a&amp;b" name="req"><input name=username></form></body></html>"#;
        let forms = post_forms(html);
        assert_eq!(forms.len(), 1);
        assert_eq!((forms[0].action.as_str(), forms[0].value("req"), forms[0].value("username")), ("/login", Some("a&b"), Some("")));
        assert_eq!(forms[0].filled(&[("username", "u"), ("extra", "x")]).len(), 3);
        assert_eq!(page_text(html), "Sign in", "the body's text only");
    }

    #[test]
    fn jwt_parts_and_pkce() {
        let token = format!("{}.{}.sig", URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#), URL_SAFE_NO_PAD.encode(r#"{"sub":"s"}"#));
        assert_eq!(jwt_part(&token, 0).and_then(|h| h["alg"].as_str().map(String::from)).as_deref(), Some("ES256"));
        assert_eq!(jwt_part(&token, 1).and_then(|p| p["sub"].as_str().map(String::from)).as_deref(), Some("s"));
        assert_eq!(jwt_part("not a jwt", 1), None);
        let (verifier, challenge) = pkce();
        assert_eq!((verifier.len(), challenge.len()), (43, 43));
    }
}
