//! How the client answers a registry's challenge: Basic credentials, or a
//! bearer token from the challenge's realm, cached per scope (the data it
//! works with is in `auth.rs`).

use ocikit_types::{Challenge, Reference};
use reqwest::header::AUTHORIZATION;

use crate::auth::{Credentials, Token};
use crate::client::Client;
use crate::error::BoxError;
use crate::transport::{read_limited, urlencode, MAX_SMALL_BODY};
use crate::Error;

impl Client {
    /// True when credentials may travel in the clear to `realm`: the
    /// registry itself is reached over plain HTTP (so they already do), or
    /// the realm's host is marked insecure.
    fn clear_text_allowed(&self, r: &Reference, realm: &reqwest::Url) -> bool {
        if self.base(r).starts_with("http:") {
            return true;
        }
        let host = realm.host_str().unwrap_or("");
        let with_port = match realm.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        self.is_insecure(&with_port)
    }

    /// The credentials for `registry`: explicit ones, else those found in
    /// the credential files (once [`Client::load_creds`] looked them up).
    pub(crate) fn creds(&self, registry: &str) -> Option<Credentials> {
        if let Some(c) = self.inner.cfg.credentials.get(registry) {
            return Some(c.clone());
        }
        let cache = self.inner.file_creds.lock().ok()?;
        cache.get(registry)?.get()?.clone()
    }

    /// Looks up the stored credentials of `registry` once, on a blocking
    /// thread: a credential helper may take its time (up to its timeout)
    /// without holding up other requests or the runtime's workers.
    /// Concurrent requests to the same registry wait for the one lookup.
    pub(crate) async fn load_creds(&self, registry: &str) {
        if self.inner.cfg.credentials.contains_key(registry) {
            return;
        }
        let Some(files) = self.inner.cfg.credential_files.clone() else {
            return;
        };
        let cell = match self.inner.file_creds.lock() {
            Ok(mut cache) => cache.entry(registry.to_owned()).or_default().clone(),
            Err(_) => return,
        };
        cell.get_or_init(|| async {
            let name = registry.to_owned();
            let found = tokio::task::spawn_blocking(move || files.lookup(&name)).await;
            match found {
                Ok(Ok(found)) => found,
                Ok(Err(e)) => {
                    tracing::warn!(
                        registry,
                        error = &e as &dyn std::error::Error,
                        "stored credentials unreadable; going anonymous"
                    );
                    None
                }
                Err(e) => {
                    tracing::warn!(
                        registry,
                        error = &e as &dyn std::error::Error,
                        "credential lookup failed; going anonymous"
                    );
                    None
                }
            }
        })
        .await;
    }

    pub(crate) fn auth_header(&self, registry: &str, scope: &str) -> Option<String> {
        let cache = self.inner.auth.lock().ok()?;
        if let Some(h) = cache.header(registry, scope) {
            return Some(h);
        }
        if cache.basic.get(registry).copied().unwrap_or(false) {
            drop(cache);
            return self.creds(registry)?.basic_header();
        }
        drop(cache);
        if let Some(Credentials::BearerToken(t)) = self.creds(registry) {
            return Some(format!("Bearer {t}"));
        }
        None
    }

    /// The error for a 401 that came although the client authenticated.
    pub(crate) fn refused(&self, r: &Reference, scope_key: &str, challenge: Option<&str>) -> Error {
        let registry = r.registry();
        let who = if self.creds(registry).is_some() {
            "the configured credentials"
        } else {
            "anonymous access"
        };
        let what = if scope_key.is_empty() {
            String::new()
        } else {
            format!(" for {scope_key}")
        };
        let why = challenge
            .and_then(|h| Challenge::parse_header(h).ok())
            .and_then(|cs| cs.iter().find_map(|c| c.param("error").map(str::to_owned)))
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        Error::Auth {
            registry: registry.to_owned(),
            reason: format!("the registry refused {who}{what}{why}"),
            source: None,
        }
    }

    /// Fetches a token before a request when the registry is known to want
    /// one and none is cached for these scopes (new scopes, or expired).
    pub(crate) async fn renew_token(
        &self,
        r: &Reference,
        scopes: &[String],
    ) -> Result<Option<String>, Error> {
        let registry = r.registry();
        let challenge = match self.inner.auth.lock() {
            Ok(cache) => cache.bearer.get(registry).cloned(),
            Err(_) => None,
        };
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        self.bearer(r, scopes, &challenge, None).await?;
        Ok(self.auth_header(registry, &scopes.join(" ")))
    }

    /// Fetches and caches a bearer token for `scopes`, one fetch at a time:
    /// tasks that wait find the token the first one fetched, unless it is
    /// the one the registry just refused (`refused`).
    async fn bearer(
        &self,
        r: &Reference,
        scopes: &[String],
        c: &Challenge,
        refused: Option<&str>,
    ) -> Result<(), Error> {
        let registry = r.registry();
        let key = scopes.join(" ");
        let auth_err = |reason: String| Error::Auth {
            registry: registry.to_owned(),
            reason,
            source: None,
        };
        let _one_at_a_time = self.inner.token_fetch.lock().await;
        if let Some(h) = self.auth_header(registry, &key) {
            if refused != Some(h.as_str()) {
                return Ok(());
            }
        }
        let realm = c
            .param("realm")
            .ok_or_else(|| auth_err("bearer challenge without a realm".to_owned()))?;
        let mut url = reqwest::Url::parse(realm).map_err(|e| Error::Auth {
            registry: registry.to_owned(),
            reason: format!("token realm {realm:?} is not a URL"),
            source: Some(e.into()),
        })?;
        let creds = self.creds(registry);
        let creds = creds.as_ref();
        let sends_secret = matches!(
            creds,
            Some(Credentials::Basic { .. } | Credentials::IdentityToken(_))
        );
        if sends_secret && url.scheme() != "https" && !self.clear_text_allowed(r, &url) {
            return Err(auth_err(format!(
                "the token realm {realm} is plain HTTP and the registry is not; credentials \
                 are sent there only when its host is marked with insecure_http_host"
            )));
        }
        let token = self.fetch_token(&mut url, c, scopes, creds).await?;
        let mut cache = self
            .inner
            .auth
            .lock()
            .map_err(|_| auth_err("token cache poisoned".into()))?;
        cache.tokens.insert((registry.to_owned(), key), token);
        cache.bearer.insert(registry.to_owned(), c.clone());
        Ok(())
    }

    /// Answers a 401 challenge: fetches a bearer token for the scopes, or
    /// switches the registry to Basic auth. `sent` is the Authorization
    /// header the refused request carried.
    pub(crate) async fn authenticate(
        &self,
        r: &Reference,
        scopes: &[String],
        challenge: Option<&str>,
        sent: Option<&str>,
    ) -> Result<(), Error> {
        let registry = r.registry();
        let auth_err = |reason: String| Error::Auth {
            registry: registry.to_owned(),
            reason,
            source: None,
        };
        let header = challenge
            .ok_or_else(|| auth_err("401 without a WWW-Authenticate challenge".to_owned()))?;
        let challenges = Challenge::parse_header(header).map_err(|e| Error::Auth {
            registry: registry.to_owned(),
            reason: "the registry's challenge does not parse".to_owned(),
            source: Some(e.into()),
        })?;
        let creds = self.creds(registry);
        let creds = creds.as_ref();
        if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
            return self.bearer(r, scopes, c, sent).await;
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            if creds.and_then(Credentials::basic_header).is_none() {
                return Err(auth_err(
                    "the registry asks for a user name and password, and none are configured"
                        .to_owned(),
                ));
            }
            let mut cache = self
                .inner
                .auth
                .lock()
                .map_err(|_| auth_err("token cache poisoned".into()))?;
            // Refused only when this request carried the credentials: other
            // requests may have met the same challenge before any had them.
            if sent.is_some_and(|h| h.starts_with("Basic ")) {
                return Err(auth_err(
                    "the registry refused the configured credentials".to_owned(),
                ));
            }
            cache.basic.insert(registry.to_owned(), true);
            return Ok(());
        }
        Err(auth_err(format!("unsupported challenge {header:?}")))
    }

    async fn fetch_token(
        &self,
        url: &mut reqwest::Url,
        c: &Challenge,
        scopes: &[String],
        creds: Option<&Credentials>,
    ) -> Result<Token, Error> {
        let service = c.param("service").unwrap_or("").to_owned();
        let host = url.host_str().unwrap_or("").to_owned();
        let auth_err = |reason: String| Error::Auth {
            registry: host.clone(),
            reason,
            source: None,
        };
        let auth_err_from = |reason: &str, e: BoxError| Error::Auth {
            registry: host.clone(),
            reason: reason.to_owned(),
            source: Some(e),
        };
        let scope = scopes.join(" ");
        let base_url = url.clone();
        let oauth = |grant: Vec<(&'static str, String)>| {
            let mut form = grant;
            form.push(("service", service.clone()));
            form.push(("client_id", "ocikit".to_owned()));
            if !scope.is_empty() {
                form.push(("scope", scope.clone()));
            }
            let body = form
                .iter()
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect::<Vec<_>>()
                .join("&");
            self.inner
                .http
                .post(base_url.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .timeout(self.cfg().request_timeout)
                .send()
        };
        let resp = match creds {
            // OAuth2 refresh-token grant (docker's identity tokens).
            Some(Credentials::IdentityToken(refresh)) => {
                oauth(vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", refresh.clone()),
                ])
                .await
            }
            _ => {
                {
                    let mut q = url.query_pairs_mut();
                    if !service.is_empty() {
                        q.append_pair("service", &service);
                    }
                    for s in scopes {
                        q.append_pair("scope", s);
                    }
                }
                let mut req = self
                    .inner
                    .http
                    .get(url.clone())
                    .timeout(self.cfg().request_timeout);
                if let Some(h) = creds.and_then(Credentials::basic_header) {
                    req = req.header(AUTHORIZATION, h);
                }
                let resp = req.send().await;
                // Token servers that only speak OAuth2 answer the GET form
                // with 404 or 405: use the password grant with the same
                // credentials.
                match (resp, creds) {
                    (Ok(r), Some(Credentials::Basic { username, password }))
                        if matches!(r.status().as_u16(), 404 | 405) =>
                    {
                        oauth(vec![
                            ("grant_type", "password".to_owned()),
                            ("username", username.clone()),
                            ("password", password.clone()),
                        ])
                        .await
                    }
                    (resp, _) => resp,
                }
            }
        };
        let resp = resp.map_err(|e| {
            if e.is_timeout() {
                Error::Timeout {
                    url: base_url.to_string(),
                    stage: if e.is_connect() {
                        "connection"
                    } else {
                        "token request"
                    },
                    after: if e.is_connect() {
                        self.cfg().connect_timeout
                    } else {
                        self.cfg().request_timeout
                    },
                }
            } else {
                auth_err_from("token request failed", e.into())
            }
        })?;
        let status = resp.status();
        let body = read_limited(resp, MAX_SMALL_BODY, "token response", url.as_str()).await?;
        if !status.is_success() {
            return Err(auth_err(format!(
                "token endpoint answered {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )));
        }
        Token::from_body(&body).map_err(|why| auth_err(why.to_owned()))
    }
}
