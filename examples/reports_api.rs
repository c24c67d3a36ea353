//! reports_api: the flagship example.
//!
//! `cargo run --example reports_api` starts it on an embedded default — no identity provider
//! needed: it creates an ES256 signing key (private to this user, in
//! `$XDG_STATE_HOME/endpoint-auth/` or `~/.local/state/endpoint-auth/`, or in
//! `$REPORTS_API_DEV_KEY_DIR`), publishes its JWKS at `/.well-known/jwks.json`, serves a
//! development token endpoint at `/oauth/token`, and prints ready-to-paste `curl` commands with
//! freshly minted tokens. `cargo run --example reports_api -- mint read:reports write:reports`
//! prints a dev token. Anyone who reaches it can get any token, so the embedded default only
//! binds to loopback.
//!
//! Against a real provider, set `AUTH_ISSUER` (keys by OIDC discovery) and optionally
//! `AUTH_JWKS_URL`; `AUTH_AUDIENCE` defaults to `reports-api`, `BIND` to `127.0.0.1:8080`.
//!
//! Several providers at once: `AUTH_ISSUERS="staff=https://login.example.com/tenant/v2.0,partners=https://partners.eu.auth0.com/"`
//! (comma-separated `name=iss`; names are letters, digits, `-`, `_`, `.`) instead of
//! `AUTH_ISSUER`. Each issuer finds its keys by discovery unless `AUTH_JWKS_URL_<NAME>` is
//! set, and accepts `AUTH_AUDIENCE_<NAME>` (else `AUTH_AUDIENCE`); `<NAME>` is the name in
//! upper case with `-` and `.` as `_` (`AUTH_JWKS_URL_PARTNERS`). Each provider is healthy or
//! not on its own: one down answers 503 for its tokens only. `GET /partner/reports` is for
//! tokens of the issuer named `partners`. The embedded default shows it with
//! `REPORTS_API_DEV_PARTNERS=1`: a second dev issuer, `partners`, at `/partners` (its own key,
//! JWKS and token endpoint), beside the first, then called `staff`. Roles are read from the
//! first issuer's tokens only, and a report's author is its `sub` with its issuer: another
//! provider's `alice`, or its `roles` claim, is nobody here.
//!
//! Revoked tokens (by `jti`) are refused: kept in this process, or in the Redis/Valkey server
//! `AUTH_REVOCATION_REDIS_URL` names, shared by every instance. The embedded default revokes
//! its own tokens at `POST /oauth/revoke` (RFC 7009), and the second dev issuer its own at
//! `POST /partners/oauth/revoke`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{delete, error, get, post, web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use endpoint_auth::actix::Decision;
use endpoint_auth::metadata::ResourceMetadata;
use endpoint_auth::openapi::SecurityDoc;
use endpoint_auth::revocation::{MemoryRevocationList, RedisRevocationStore};
use endpoint_auth::{
    public, requires, AuthConfig, Key, MaybePrincipal, Principal, RoleSource, TrustedIssuer,
};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi as _;

endpoint_auth::scopes! {
    "read:reports" => "Read reports and their exports",
    "write:reports" => "Create and delete reports",
    "admin:reports" => "Administer reports (deleting needs it together with write:reports)",
    "export:reports" => "Export reports",
}

endpoint_auth::roles! {
    "reports-admin" => "Deletes anyone's reports",
}

// Every route these sources register, with its declaration: printed at startup, and the
// configuration refuses to build (so the service to start) while any route is undeclared.
endpoint_auth::route_audit!();

endpoint_auth::issuers! {
    "partners" => "Partner organisations (AUTH_ISSUERS; the embedded default's second dev issuer)",
}

const REALM: &str = "reports-api";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "reports_api",
        description = "The endpoint-auth flagship example"
    ),
    paths(
        health,
        ready,
        me,
        list_reports,
        public_reports,
        create_report,
        delete_report,
        export_report,
        export_all,
        tenant_reports,
        partner_reports
    )
)]
struct ApiDoc;

#[derive(Clone, Serialize, utoipa::ToSchema)]
struct Report {
    id: u64,
    title: String,
    /// Who created it: the token's `sub` (else its client id).
    owner: String,
    /// The configured name of the trusted issuer that vouched for the owner: a `sub` is unique
    /// only within its issuer (OpenID Connect Core §2), so partners' `alice` is not staff's.
    #[serde(skip)]
    owner_issuer: String,
    /// Listed by `GET /reports/public` for everyone; otherwise only for its owner there.
    public: bool,
    /// The author's organisation (the token's `tenant` claim), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewReport {
    title: String,
    /// List it on `GET /reports/public` for everyone (default: no).
    #[serde(default)]
    public: bool,
}

/// Whose reports a caller's are: the token's `sub` (else its client id).
fn owner_of(caller: &Principal) -> String {
    caller
        .subject()
        .or(caller.client_id())
        .unwrap_or_default()
        .to_owned()
}

impl Report {
    /// Whether `caller` wrote it: the same subject, vouched for by the same issuer.
    fn is_by(&self, caller: &Principal) -> bool {
        self.owner == owner_of(caller) && self.owner_issuer == caller.token().trusted_issuer()
    }
}

struct Store {
    reports: Mutex<BTreeMap<u64, Report>>,
}

#[utoipa::path(get, path = "/health", responses((status = 200, description = "The service is up")))]
#[public(reason = "liveness probe")]
#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness, apart from liveness: the service runs (and `/health` answers) while the identity
/// provider is unreachable, but protected routes answer 503 until signing keys are usable.
#[utoipa::path(get, path = "/ready", responses(
    (status = 200, description = "Signing keys are usable: protected routes can be served"),
    (status = 503, description = "No usable signing keys yet; fetched and retried in the background")))]
#[public(reason = "readiness probe")]
#[get("/ready")]
async fn ready(auth: web::Data<AuthConfig>) -> HttpResponse {
    if let [_, _, ..] = auth.issuers() {
        // Several providers, each healthy on its own: ready while any can be served (the
        // others' tokens get 503 meanwhile), so one provider down does not take the service
        // out of rotation.
        let states: serde_json::Map<String, serde_json::Value> = auth
            .issuers()
            .iter()
            .map(|i| (i.name().to_owned(), i.keys_ready().into()))
            .collect();
        let any = states.values().any(|ready| *ready == true);
        let body = serde_json::json!({
            "status": if any { "ready" } else { "waiting for signing keys" },
            "issuers": states,
        });
        return if any {
            HttpResponse::Ok().json(body)
        } else {
            HttpResponse::ServiceUnavailable()
                .insert_header(("retry-after", "1"))
                .insert_header(("cache-control", "no-store"))
                .json(body)
        };
    }
    if auth.keys_ready() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("retry-after", "1"))
            .insert_header(("cache-control", "no-store"))
            .json(serde_json::json!({ "status": "waiting for signing keys" }))
    }
}

/// Any valid token: who am I, what may I do.
#[requires(authenticated)]
#[utoipa::path(get, path = "/me", responses((status = 200, description = "The caller's subject and scopes")))]
#[get("/me")]
async fn me(principal: Principal) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "sub": principal.subject(),
        "scopes": principal.scopes(),
    }))
}

#[utoipa::path(get, path = "/reports", responses((status = 200, description = "All reports", body = [Report])))]
#[requires(scope = "read:reports")]
#[get("/reports")]
async fn list_reports(store: web::Data<Store>) -> HttpResponse {
    let reports: Vec<Report> = store.reports.lock().unwrap().values().cloned().collect();
    HttpResponse::Ok().json(reports)
}

/// Optional authentication: anyone may list the public reports; a signed-in caller also gets
/// their own private ones. A token, when sent, must be valid: an expired one gets 401, never
/// the anonymous list (`MaybePrincipal`, not `Option<Principal>`, which would swallow it).
#[public(reason = "public reports are for everyone; a signed-in caller also sees their own")]
#[utoipa::path(get, path = "/reports/public", responses(
    (status = 200, description = "The public reports, and the caller's own when a token is sent", body = [Report])))]
#[get("/reports/public")]
async fn public_reports(store: web::Data<Store>, caller: MaybePrincipal) -> HttpResponse {
    let reports: Vec<Report> = store
        .reports
        .lock()
        .unwrap()
        .values()
        .filter(|r| r.public || caller.as_ref().is_some_and(|c| r.is_by(c)))
        .cloned()
        .collect();
    HttpResponse::Ok().json(reports)
}

#[requires(scope = "write:reports")]
#[utoipa::path(post, path = "/reports", request_body = NewReport,
    responses((status = 201, description = "Created", body = Report)))]
#[post("/reports")]
async fn create_report(
    store: web::Data<Store>,
    caller: Principal,
    body: web::Json<NewReport>,
) -> HttpResponse {
    let mut reports = store.reports.lock().unwrap();
    let id = reports.keys().next_back().map_or(1, |last| last + 1);
    let NewReport { title, public } = body.into_inner();
    let report = Report {
        id,
        title,
        owner: owner_of(&caller),
        owner_issuer: caller.token().trusted_issuer().to_owned(),
        public,
        tenant: caller
            .token()
            .claims()
            .get("tenant")
            .and_then(|t| t.as_str())
            .map(str::to_owned),
    };
    reports.insert(id, report.clone());
    HttpResponse::Created().json(report)
}

/// A body `create_report` cannot take (not JSON, not a report, too large) answers RFC 9457
/// problem details, like every refusal the document describes, with the status actix-web
/// chose for it (400, or 413 for a body over the limit).
fn body_refused(err: error::JsonPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    use actix_web::ResponseError as _;
    let status = err.status_code();
    let detail = match &err {
        error::JsonPayloadError::ContentType => "the body must be JSON (application/json)".into(),
        other => other.to_string(),
    };
    let problem = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Bad Request"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let response = HttpResponse::build(status)
        .content_type("application/problem+json")
        .body(problem.to_string());
    error::InternalError::from_response(err, response).into()
}

/// A tenant's reports, for members of that tenant (the token's `tenant` claim equals the
/// path's) whose email address is verified.
#[utoipa::path(get, path = "/tenants/{tenant}/reports", params(("tenant" = String, Path, description = "Tenant")),
    responses((status = 200, description = "The tenant's reports", body = [Report])))]
#[requires(scope = "read:reports", claim(tenant = path.tenant, email_verified = true))]
#[get("/tenants/{tenant}/reports")]
async fn tenant_reports(store: web::Data<Store>, tenant: web::Path<String>) -> HttpResponse {
    let reports: Vec<Report> = store
        .reports
        .lock()
        .unwrap()
        .values()
        .filter(|r| r.tenant.as_deref() == Some(tenant.as_str()))
        .cloned()
        .collect();
    HttpResponse::Ok().json(reports)
}

/// The public reports, for partner organisations: tokens of the trusted issuer named
/// `partners` with `read:reports` (a token of another issuer gets 403, whatever its scopes).
#[utoipa::path(get, path = "/partner/reports",
    responses((status = 200, description = "The public reports", body = [Report])))]
#[requires(issuer = "partners", scope = "read:reports")]
#[get("/partner/reports")]
async fn partner_reports(store: web::Data<Store>) -> HttpResponse {
    let reports: Vec<Report> = store
        .reports
        .lock()
        .unwrap()
        .values()
        .filter(|r| r.public)
        .cloned()
        .collect();
    HttpResponse::Ok().json(reports)
}

/// The report's author, or a holder of the `reports-admin` role; anyone else is told the
/// report does not exist (404), so ids of others' reports cannot be probed.
async fn author_or_admin(
    caller: Principal,
    id: web::Path<u64>,
    store: web::Data<Store>,
) -> Decision {
    let reports = store.reports.lock().unwrap();
    match reports.get(&id) {
        Some(r) if r.is_by(&caller) || caller.token().has_role("reports-admin") => Decision::Allow,
        _ => Decision::Hide,
    }
}

#[utoipa::path(delete, path = "/reports/{id}", params(("id" = u64, Path, description = "Report id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such report, or not yours")))]
#[requires(scope = "write:reports", check = author_or_admin)]
#[delete("/reports/{id}")]
async fn delete_report(store: web::Data<Store>, id: web::Path<u64>) -> HttpResponse {
    match store.reports.lock().unwrap().remove(&id) {
        Some(_) => HttpResponse::NoContent().finish(),
        None => HttpResponse::NotFound().finish(),
    }
}

#[requires(any(scope = "read:reports", scope = "export:reports"))]
#[utoipa::path(get, path = "/reports/{id}/export", params(("id" = u64, Path, description = "Report id")),
    responses((status = 200, description = "CSV export", content_type = "text/csv", body = String),
              (status = 404, description = "No such report")))]
#[get("/reports/{id}/export")]
async fn export_report(store: web::Data<Store>, id: web::Path<u64>) -> HttpResponse {
    match store.reports.lock().unwrap().get(&id) {
        Some(r) => HttpResponse::Ok().content_type("text/csv").body(format!(
            "id,title\n{},{}\n",
            r.id,
            csv(&r.title)
        )),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Every report at once: a bulk export needs the export scope and, RFC 9470 step-up, a user
/// who authenticated with MFA in the last 15 minutes. Otherwise 401
/// `insufficient_user_authentication` with `acr_values` and `max_age`: the client sends the
/// user through the authorization server again, asking for that, and retries.
#[requires(scope = "export:reports", acr = "urn:example:mfa", max_age = 900)]
#[utoipa::path(get, path = "/reports/export",
    responses((status = 200, description = "CSV export of every report", content_type = "text/csv", body = String)))]
#[get("/reports/export")]
async fn export_all(store: web::Data<Store>) -> HttpResponse {
    let mut out = String::from("id,title\n");
    for r in store.reports.lock().unwrap().values() {
        out.push_str(&format!("{},{}\n", r.id, csv(&r.title)));
    }
    HttpResponse::Ok().content_type("text/csv").body(out)
}

/// The authentication context class the embedded default's dev issuer stands in for
/// (`acr_values` at its token endpoint, `mint --mfa`).
const DEV_MFA: &str = "urn:example:mfa";

fn csv(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

/// The embedded default's signing key: ES256, created on first use and kept in a private
/// per-user directory (see [`DevKey::dir`]) so that `mint` and the server agree across runs.
/// Whoever can read it can mint admin tokens, and whoever can replace it decides which tokens
/// the service accepts: so it is created for this user alone, and refused when it is not.
struct DevKey {
    pkcs8: Vec<u8>,
    jwk: serde_json::Value,
    path: PathBuf,
    kid: &'static str,
}

const DEV_KID: &str = "reports-api-dev";
const DEV_KEY_FILE: &str = "reports_api-dev-key.p8";
/// The second dev issuer's (`REPORTS_API_DEV_PARTNERS=1`): a key of its own.
const DEV_PARTNERS_KID: &str = "reports-api-dev-partners";
const DEV_PARTNERS_KEY_FILE: &str = "reports_api-dev-partners-key.p8";
const DEV_KEY_DIR_VAR: &str = "REPORTS_API_DEV_KEY_DIR";

impl DevKey {
    /// `$REPORTS_API_DEV_KEY_DIR`, else the XDG state directory: `$XDG_STATE_HOME/endpoint-auth`,
    /// else `$HOME/.local/state/endpoint-auth` (on Windows `%LOCALAPPDATA%\endpoint-auth`).
    /// State, not cache (deleting it invalidates every token minted so far) nor configuration
    /// (nobody edits it), and unlike the temp dir it belongs to this user.
    fn dir() -> Result<PathBuf, String> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = var(DEV_KEY_DIR_VAR) {
            return Ok(PathBuf::from(dir));
        }
        #[cfg(unix)]
        let base = var("XDG_STATE_HOME")
            .map(PathBuf::from)
            // The XDG spec: a relative path in these variables is invalid and ignored.
            .filter(|p| p.is_absolute())
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".local/state")));
        #[cfg(not(unix))]
        let base = var("LOCALAPPDATA").map(PathBuf::from);
        base.map(|b| b.join("endpoint-auth")).ok_or_else(|| {
            format!("no place for the dev signing key: set {DEV_KEY_DIR_VAR} to a directory of your own")
        })
    }

    fn load_or_create() -> Result<DevKey, String> {
        Self::load_or_create_named(DEV_KEY_FILE, DEV_KID)
    }

    fn load_or_create_named(file: &str, kid: &'static str) -> Result<DevKey, String> {
        use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as ALG};
        let dir = Self::dir()?;
        private::ensure_dir(&dir)?;
        let path = dir.join(file);
        let pkcs8 = match private::read(&path)? {
            Some(bytes) => bytes,
            None => {
                let pair = EcdsaKeyPair::generate(&ALG)
                    .map_err(|e| format!("key generation failed: {e}"))?;
                let doc = pair
                    .to_pkcs8v1()
                    .map_err(|e| format!("key encoding failed: {e}"))?;
                private::create(&path, doc.as_ref())?
            }
        };
        let pair = EcdsaKeyPair::from_pkcs8(&ALG, &pkcs8).map_err(|e| {
            format!(
                "the dev signing key {} is not an ES256 PKCS#8 key ({e}); delete it to create a new one",
                path.display()
            )
        })?;
        let point = pair.public_key().as_ref();
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Ok(DevKey {
            pkcs8,
            jwk,
            path,
            kid,
        })
    }

    fn mint(&self, issuer: &str, audience: &str, subject: &str, scopes: &[&str]) -> String {
        self.mint_as(issuer, audience, subject, scopes, None, &[])
    }

    /// As `mint`, for a user who authenticated just now with the authentication context
    /// class `acr` (RFC 9470: `acr` and `auth_time` claims).
    fn mint_as(
        &self,
        issuer: &str,
        audience: &str,
        subject: &str,
        scopes: &[&str],
        acr: Option<&str>,
        roles: &[&str],
    ) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.into());
        header.typ = Some("at+jwt".into());
        let mut claims = serde_json::json!({
            "iss": issuer, "aud": audience, "sub": subject, "client_id": "reports-api-dev",
            "iat": now, "exp": now + 3600, "jti": token_id(),
            "scope": scopes.join(" "),
        });
        if let Some(acr) = acr {
            claims["acr"] = acr.into();
            claims["auth_time"] = now.into();
        }
        if !roles.is_empty() {
            claims["roles"] = roles.into();
        }
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .expect("signing with the dev key")
    }
}

/// A fresh token id (`jti`): 128 random bits, so that revoking one token revokes no other.
fn token_id() -> String {
    let mut id = [0u8; 16];
    aws_lc_rs::rand::fill(&mut id).expect("random token id");
    URL_SAFE_NO_PAD.encode(id)
}

/// Files only this user may use. On unix: the directory is created 0700 and the key file 0600
/// (both at creation, so there is no moment when they are open to others); an existing one is
/// refused unless it is owned by this user, gives group and others no access, and is not a
/// symlink. Elsewhere std offers no owner or mode: the file is created exclusively in the
/// per-user profile, whose access control is what keeps it private.
mod private {
    use std::fs::{File, Metadata, OpenOptions};
    use std::io::{ErrorKind, Read as _, Write as _};
    use std::path::Path;

    #[cfg(unix)]
    fn euid() -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    /// The same one-line refusal for the directory and the file: what is wrong, and what to do.
    fn check(path: &Path, meta: &Metadata, what: &str) -> Result<(), String> {
        let refuse = |why: String| {
            Err(format!(
                "refusing the dev signing key {what} {}: {why}; remove it to have a new one created, or set {} to a private directory",
                path.display(),
                super::DEV_KEY_DIR_VAR
            ))
        };
        if meta.file_type().is_symlink() {
            return refuse("it is a symlink".into());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            if meta.uid() != euid() {
                return refuse(format!(
                    "it is owned by uid {}, not by this user (uid {})",
                    meta.uid(),
                    euid()
                ));
            }
            if meta.mode() & 0o077 != 0 {
                return refuse(format!(
                    "its mode {:04o} gives group or others access",
                    meta.mode() & 0o7777
                ));
            }
        }
        Ok(())
    }

    /// Creates `dir` (0700) if missing; its parents get the usual modes, as any XDG directory.
    pub fn ensure_dir(dir: &Path) -> Result<(), String> {
        let cannot = |e: std::io::Error| {
            format!(
                "cannot create the dev signing key directory {}: {e}",
                dir.display()
            )
        };
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(cannot)?;
        }
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(cannot(e)),
        }
        // lstat: a symlink is judged as itself, not by what it points at.
        let meta = std::fs::symlink_metadata(dir).map_err(cannot)?;
        check(dir, &meta, "directory")?;
        if !meta.is_dir() {
            return Err(format!(
                "the dev signing key directory {} is not a directory",
                dir.display()
            ));
        }
        Ok(())
    }

    /// The key file's bytes, or None if there is none yet.
    pub fn read(path: &Path) -> Result<Option<Vec<u8>>, String> {
        let cannot =
            |e: std::io::Error| format!("cannot read the dev signing key {}: {e}", path.display());
        match std::fs::symlink_metadata(path) {
            Ok(meta) => check(path, &meta, "file")?,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(cannot(e)),
        }
        let mut options = OpenOptions::new();
        options.read(true);
        // Should the file be swapped for a symlink after the check above, opening fails.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let mut file = options.open(path).map_err(cannot)?;
        // Judge what was opened, not the name checked before.
        let meta = file.metadata().map_err(cannot)?;
        check(path, &meta, "file")?;
        if !meta.is_file() {
            return Err(format!(
                "the dev signing key {} is not a regular file",
                path.display()
            ));
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(cannot)?;
        Ok(Some(bytes))
    }

    /// Stores `key` at `path` unless another process got there first; returns the key in place.
    /// The key is written to a fresh file of this process (created exclusively, 0600) and then
    /// hard-linked to `path`: link(2) never replaces an existing name, and the name appears
    /// only once the key is complete, so a concurrent reader never sees a half-written key.
    pub fn create(path: &Path, key: &[u8]) -> Result<Vec<u8>, String> {
        let cannot = |e: std::io::Error| {
            format!(
                "cannot store the dev signing key at {}: {e}",
                path.display()
            )
        };
        let tmp = path.with_file_name(format!(
            ".{}.{}.tmp",
            super::DEV_KEY_FILE,
            std::process::id()
        ));
        // Left over by a process of the same pid that died mid-write; the directory is ours.
        let _ = std::fs::remove_file(&tmp);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&tmp)
            .and_then(|mut file: File| file.write_all(key).and_then(|()| file.sync_all()));
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(key.to_vec()),
            // Another process stored its key first: use that one, so both agree.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => read(path)?.ok_or_else(|| {
                format!(
                    "the dev signing key {} vanished while being created",
                    path.display()
                )
            }),
            Err(e) => Err(cannot(e)),
        }
    }
}

struct Settings {
    bind: SocketAddr,
    issuer: Option<String>,
    /// `AUTH_ISSUERS`: several trusted issuers, each with its own keys and audience.
    issuers: Vec<IssuerSettings>,
    /// `REPORTS_API_DEV_PARTNERS=1`: the embedded default runs a second dev issuer.
    dev_partners: bool,
    audience: String,
    jwks_url: Option<String>,
    resource: Option<String>,
    token_url: Option<String>,
    /// Where roles are in a token (dotted path): `AUTH_ROLES_CLAIM`, default `roles`.
    roles_claim: String,
    /// The Redis/Valkey server that keeps revoked token ids for every instance:
    /// `AUTH_REVOCATION_REDIS_URL`; without it, this process's memory.
    revocation_redis_url: Option<String>,
}

/// One entry of `AUTH_ISSUERS`, with its own `AUTH_JWKS_URL_<NAME>` and `AUTH_AUDIENCE_<NAME>`.
struct IssuerSettings {
    name: String,
    iss: String,
    jwks_url: Option<String>,
    audience: String,
}

/// `AUTH_ISSUERS="name=iss,name=iss"`.
fn issuers_from(
    list: &str,
    var: &dyn Fn(&str) -> Option<String>,
    audience: &str,
) -> Result<Vec<IssuerSettings>, String> {
    let mut out: Vec<IssuerSettings> = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, iss)) = entry.split_once('=') else {
            return Err(format!(
                "AUTH_ISSUERS entry {entry:?} is not name=iss (e.g. partners=https://partners.example.com/)"
            ));
        };
        let (name, iss) = (name.trim(), iss.trim());
        if !endpoint_auth::issuer::is_issuer_name(name) || iss.is_empty() {
            return Err(format!(
                "AUTH_ISSUERS entry {entry:?}: the name is 1 to 64 letters, digits, '-', '_' or '.', and the iss is not empty"
            ));
        }
        let suffix: String = name
            .chars()
            .map(|c| match c {
                '-' | '.' => '_',
                c => c.to_ascii_uppercase(),
            })
            .collect();
        out.push(IssuerSettings {
            name: name.to_owned(),
            iss: iss.to_owned(),
            jwks_url: var(&format!("AUTH_JWKS_URL_{suffix}")),
            audience: var(&format!("AUTH_AUDIENCE_{suffix}"))
                .unwrap_or_else(|| audience.to_owned()),
        });
    }
    if out.is_empty() {
        return Err("AUTH_ISSUERS is set but names no issuer".into());
    }
    Ok(out)
}

fn settings() -> Result<Settings, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let bind = var("BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
    let bind: SocketAddr = bind
        .parse()
        .map_err(|_| format!("BIND={bind:?} is not an address like 127.0.0.1:8080"))?;
    let issuer = var("AUTH_ISSUER");
    let audience = var("AUTH_AUDIENCE").unwrap_or_else(|| "reports-api".into());
    let issuers = match var("AUTH_ISSUERS") {
        None => Vec::new(),
        Some(_) if issuer.is_some() => {
            return Err("set AUTH_ISSUER (one issuer) or AUTH_ISSUERS (several), not both".into())
        }
        Some(_) if var("AUTH_JWKS_URL").is_some() => {
            return Err(
                "AUTH_JWKS_URL names one issuer's keys; with AUTH_ISSUERS set AUTH_JWKS_URL_<NAME> per issuer"
                    .into(),
            )
        }
        Some(list) => issuers_from(&list, &var, &audience)?,
    };
    let real = issuer.is_some() || !issuers.is_empty();
    // The embedded default hands out tokens with any scope to whoever asks (`/oauth/token`,
    // `mint`): only this machine may ask. `to_canonical`: ::ffff:127.0.0.1 is loopback too.
    if !real && !bind.ip().to_canonical().is_loopback() {
        return Err(format!(
            "BIND={bind} is not a loopback address, and the embedded default issues tokens with any scope to anyone who can reach it; \
             bind to 127.0.0.1 or [::1], or point the service at a real issuer with AUTH_ISSUER=https://your-issuer.example (and AUTH_JWKS_URL if it has no OIDC discovery)"
        ));
    }
    let jwks_url = var("AUTH_JWKS_URL");
    if jwks_url.is_some() && issuer.is_none() {
        return Err("AUTH_JWKS_URL is set but AUTH_ISSUER is not: tokens are only accepted from a named issuer".into());
    }
    Ok(Settings {
        bind,
        issuer,
        issuers,
        dev_partners: var("REPORTS_API_DEV_PARTNERS").is_some_and(|v| v != "0"),
        audience,
        jwks_url,
        resource: var("AUTH_RESOURCE"),
        token_url: var("AUTH_TOKEN_URL"),
        roles_claim: var("AUTH_ROLES_CLAIM").unwrap_or_else(|| "roles".into()),
        revocation_redis_url: var("AUTH_REVOCATION_REDIS_URL"),
    })
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("reports_api: {message}");
    std::process::exit(1)
}

fn embedded_issuer(bind: SocketAddr) -> String {
    format!("http://{bind}")
}

/// The second dev issuer's `iss`: the embedded issuer's, under `/partners`.
fn partners_issuer(embedded: &str) -> String {
    format!("{embedded}/partners")
}

fn main() {
    let settings = settings().unwrap_or_else(|e| fail(e));
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("mint") {
        if settings.issuer.is_some() || !settings.issuers.is_empty() {
            fail("`mint` only works on the embedded default; unset AUTH_ISSUER and AUTH_ISSUERS (a real issuer mints its own tokens)");
        }
        // `mint --mfa …`: as if the user had just authenticated with MFA (RFC 9470 step-up);
        // `mint --partners …`: a token of the second dev issuer (REPORTS_API_DEV_PARTNERS=1).
        let mut rest = &args[1..];
        let (mut mfa, mut partners) = (false, false);
        while let Some(flag) = rest.first().filter(|a| a.starts_with("--")) {
            match flag.as_str() {
                "--mfa" => mfa = true,
                "--partners" => partners = true,
                other => fail(format!(
                    "unknown option {other}; `mint [--mfa] [--partners] scope…`"
                )),
            }
            rest = &rest[1..];
        }
        let key = if partners {
            DevKey::load_or_create_named(DEV_PARTNERS_KEY_FILE, DEV_PARTNERS_KID)
        } else {
            DevKey::load_or_create()
        }
        .unwrap_or_else(|e| fail(e));
        let issuer = if partners {
            partners_issuer(&embedded_issuer(settings.bind))
        } else {
            embedded_issuer(settings.bind)
        };
        let scopes: Vec<&str> = rest.iter().map(String::as_str).collect();
        if let Some(bad) = scopes.iter().find(|s| !endpoint_auth::is_scope_token(s)) {
            fail(format!("{bad:?} is not a valid scope"));
        }
        println!(
            "{}",
            key.mint_as(
                &issuer,
                &settings.audience,
                "dev-user",
                &scopes,
                mfa.then_some(DEV_MFA),
                &[],
            )
        );
        return;
    }
    // Prometheus: endpoint-auth reports through the `metrics` facade; this recorder renders
    // it (and anything else the service records) at GET /metrics.
    let prometheus = match metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(
                endpoint_auth::metrics::VERIFICATION_SECONDS.to_owned(),
            ),
            &[
                0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05,
            ],
        )
        .and_then(|b| b.install_recorder())
    {
        Ok(handle) => handle,
        Err(e) => fail(format!("cannot install the metrics recorder: {e}")),
    };
    endpoint_auth::metrics::describe();
    // Without the exporter's own HTTP listener nothing drains the histogram's samples between
    // scrapes: run the upkeep, or memory grows with every verification until /metrics is read.
    let upkeep = prometheus.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_secs(5));
        upkeep.run_upkeep();
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,endpoint_auth=info".into()),
        )
        .init();
    if let Err(e) = actix_web::rt::System::new().block_on(serve(settings, prometheus)) {
        fail(e);
    }
}

async fn serve(
    settings: Settings,
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
) -> Result<(), String> {
    let listener = std::net::TcpListener::bind(settings.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{addr}");
    let embedded = embedded_issuer(addr);
    // RFC 9728: what this resource is and who issues its tokens; 401s point at it.
    let resource = settings.resource.clone().unwrap_or_else(|| base.clone());
    let metadata = ResourceMetadata::new(&resource)
        .scopes(SCOPES)
        .name("reports_api")
        .documentation(format!("{base}/openapi.json"));
    // Roles for #[requires(role = …)] and the delete check: `roles` by default (Entra ID
    // app roles; the embedded issuer's too), another claim path with AUTH_ROLES_CLAIM.
    let roles = RoleSource::claim_path(&settings.roles_claim);
    let builder = AuthConfig::builder()
        .realm(REALM)
        .resource_metadata(metadata.metadata_url())
        // Deny by default, strictly: every route is declared #[requires] or #[public], a route
        // added without either asks for a valid token rather than being silently open, and
        // the service refuses to start while the route audit finds one.
        .strict_routes(&ROUTE_AUDIT);
    // Revoked tokens (by `jti`) are refused on every request: in the Redis server
    // AUTH_REVOCATION_REDIS_URL names (shared by every instance), else, on the embedded default,
    // in this process (its /oauth/revoke writes there). A real issuer without that setting gets
    // no check: nothing here would revoke, and its tokens need not carry a `jti`. A store that
    // cannot answer is 503 + Retry-After (the default: a revoked token is never let through).
    let embedded_default = settings.issuer.is_none() && settings.issuers.is_empty();
    let revoked = match &settings.revocation_redis_url {
        Some(url) => {
            let store = RedisRevocationStore::new(url, "reports-api:revoked:")
                .map_err(|e| format!("AUTH_REVOCATION_REDIS_URL: {e}"))?;
            tracing::info!(
                "revoked tokens are kept in the Redis server AUTH_REVOCATION_REDIS_URL names"
            );
            Some(Revoked::Redis(store))
        }
        None if embedded_default => Some(Revoked::Memory(MemoryRevocationList::new())),
        None => None,
    };
    let builder = match &revoked {
        Some(Revoked::Memory(list)) => builder.revocation_check(list.clone()),
        Some(Revoked::Redis(store)) => builder.revocation_check(store.clone()),
        None => builder,
    };
    // Dev issuers' keys and `iss`: the embedded default's, and with REPORTS_API_DEV_PARTNERS
    // its second one.
    let mut dev_key: Option<DevKey> = None;
    let mut partners_key: Option<(DevKey, String)> = None;
    let auth = if !settings.issuers.is_empty() {
        // Several providers, each with its own keys and audience; none is waited for. Roles
        // (`reports-admin` deletes anyone's reports) are read from the first, the service's
        // own provider, only: another provider's `roles` claim grants nothing here.
        let mut builder = builder;
        for (n, i) in settings.issuers.iter().enumerate() {
            let trusted = TrustedIssuer::new(&i.name, &i.iss).audience(&i.audience);
            let trusted = match n {
                0 => trusted.roles_from(roles.clone()),
                _ => trusted,
            };
            builder = builder.trust(match &i.jwks_url {
                Some(url) => trusted.jwks_url(url),
                None => trusted.oidc_discovery(),
            });
        }
        let auth = builder.build().map_err(|e| e.to_string())?;
        for i in &settings.issuers {
            tracing::info!(
                issuer = i.name,
                iss = i.iss,
                "signing keys are fetched in the background"
            );
        }
        auth
    } else if let Some(issuer) = &settings.issuer {
        let builder = builder
            .issuer(issuer)
            .audience(&settings.audience)
            .roles_from(roles);
        let builder = match &settings.jwks_url {
            Some(url) => builder.jwks_url(url),
            None => builder.oidc_discovery(),
        };
        // No prefetch: the service starts even while the provider is down (keys are
        // fetched, and retried, in the background; /ready tells when they are usable).
        let auth = builder.build().map_err(|e| e.to_string())?;
        tracing::info!(issuer, "signing keys are fetched in the background");
        auth
    } else {
        let key = DevKey::load_or_create()?;
        let verification = Key::from_jwk_json(&key.jwk.to_string()).map_err(|e| e.to_string())?;
        dev_key = Some(key);
        if settings.dev_partners {
            let key = DevKey::load_or_create_named(DEV_PARTNERS_KEY_FILE, DEV_PARTNERS_KID)?;
            let partners_verification =
                Key::from_jwk_json(&key.jwk.to_string()).map_err(|e| e.to_string())?;
            let iss = partners_issuer(&embedded);
            let auth = builder
                .trust(
                    TrustedIssuer::new("staff", &embedded)
                        .audience(&settings.audience)
                        .roles_from(roles.clone())
                        .key(verification),
                )
                // The partners' roles grant nothing here (see AUTH_ISSUERS above).
                .trust(
                    TrustedIssuer::new("partners", &iss)
                        .audience(&settings.audience)
                        .key(partners_verification),
                )
                .build()
                .map_err(|e| e.to_string())?;
            partners_key = Some((key, iss));
            auth
        } else {
            builder
                .issuer(&embedded)
                .audience(&settings.audience)
                .roles_from(roles)
                .key(verification)
                .build()
                .map_err(|e| e.to_string())?
        }
    };
    // A name `#[requires(issuer = …)]` may use that no configured issuer has: its routes
    // refuse every token. Said once, at startup.
    for declared in ISSUERS {
        if auth.issuer(declared.name()).is_none() {
            tracing::info!(
                issuer = declared.name(),
                "no trusted issuer has this name: its routes answer 403 (see AUTH_ISSUERS)"
            );
        }
    }
    let dev_issuer = |key: DevKey, issuer: String| DevIssuer {
        key,
        issuer,
        audience: settings.audience.clone(),
        verifier: auth.clone(),
        revoked: revoked
            .clone()
            .expect("the embedded default always checks revocation"),
    };
    let dev = dev_key.map(|key| dev_issuer(key, embedded.clone()));
    let partners_dev = partners_key.map(|(key, iss)| dev_issuer(key, iss));
    let token_url = match (&settings.issuer, &dev) {
        (_, Some(_)) => Some(format!("{base}/oauth/token")),
        _ => settings.token_url.clone(),
    };
    let partners_token_url = partners_dev
        .as_ref()
        .map(|_| format!("{base}/partners/oauth/token"));
    let metadata = metadata
        .authorization_servers_of(&auth)
        .bearer_methods(auth.bearer_methods());

    // Built (and checked for drift) now; with discovery and no AUTH_TOKEN_URL, built again
    // once discovery has found the token endpoint.
    let openapi = web::Data::new(OpenApiDoc {
        startup: openapi_document(token_url.as_deref(), partners_token_url.as_deref())?,
        discovered: std::sync::OnceLock::new(),
        discovery: (token_url.is_none()
            && settings.jwks_url.is_none()
            && settings.issuers.is_empty())
        .then(|| auth.clone()),
    });

    let dev = dev.map(web::Data::new);
    let partners_dev = partners_dev.map(|p| web::Data::new(PartnersDev(p)));
    let store = web::Data::new(Store {
        reports: Mutex::new(BTreeMap::from([(
            1,
            Report {
                id: 1,
                title: "Quarterly numbers".into(),
                owner: "reports-team".into(),
                owner_issuer: String::new(),
                public: true,
                tenant: None,
            },
        )])),
    });
    let server = HttpServer::new({
        let dev = dev.clone();
        let partners_dev = partners_dev.clone();
        move || {
            let mut app = App::new()
                .wrap(auth.clone())
                .app_data(store.clone())
                .app_data(web::Data::new(auth.clone()))
                .app_data(openapi.clone())
                .app_data(web::JsonConfig::default().error_handler(body_refused))
                .service(health)
                .service(ready)
                .service(me)
                .service(list_reports)
                .service(public_reports)
                .service(create_report)
                .service(delete_report)
                .service(export_all)
                .service(export_report)
                .service(tenant_reports)
                .service(partner_reports)
                .service(endpoint_auth::actix::metadata_service(&metadata))
                .app_data(web::Data::new(prometheus.clone()))
                .service(metrics_text)
                .service(openapi_json);
            if let Some(dev) = &dev {
                app = app
                    .app_data(dev.clone())
                    .app_data(web::FormConfig::default().error_handler(form_refused))
                    .service(dev_jwks)
                    .service(dev_token)
                    .service(dev_revoke);
            }
            if let Some(partners) = &partners_dev {
                app = app
                    .app_data(partners.clone())
                    .service(partners_jwks)
                    .service(partners_token)
                    .service(partners_revoke);
            }
            app
        }
    })
    .listen(listener)
    .map_err(|e| e.to_string())?
    // Our own handlers, installed before we announce readiness, so a Ctrl-C right after the
    // first line is never lost.
    .disable_signals()
    .run();
    let shutdown =
        shutdown_signals().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        handle.stop(true).await;
    });
    println!("{ROUTE_AUDIT}\n");
    println!("reports_api listening on {base}");
    if let Some(dev) = &dev {
        print_quickstart(
            addr,
            &dev.key,
            &dev.issuer,
            &dev.audience,
            partners_dev.as_deref().map(|p| &p.0),
        );
    }
    server.await.map_err(|e| e.to_string())
}

/// The OpenAPI document: utoipa's paths, completed with what `#[requires]` declared, with the
/// client-credentials flow at `token_url` when there is one. Enforcement and documentation come
/// from one declaration: drift between them is an error.
///
/// With the embedded default's two dev issuers (`partners_token_url`), each gets a scheme of
/// its own: a client learns which token endpoint serves which operation.
fn openapi_document(
    token_url: Option<&str>,
    partners_token_url: Option<&str>,
) -> Result<web::Bytes, String> {
    let mut security = SecurityDoc::new(SCOPES)
        .roles(ROLES)
        .issuers(ISSUERS)
        .realm(REALM);
    match (token_url, partners_token_url) {
        (Some(staff), Some(partners)) => {
            security = security
                .issuer_client_credentials("staff", staff)
                .issuer_client_credentials("partners", partners);
        }
        (Some(url), None) => security = security.client_credentials(url),
        _ => {}
    }
    let (openapi, applied) = security
        .apply_utoipa(ApiDoc::openapi())
        .map_err(|e| e.to_string())?;
    if !applied.undocumented.is_empty() || !applied.unenforced.is_empty() {
        return Err(format!(
            "OpenAPI drift: protected but undocumented {:?}, documented but unprotected {:?}",
            applied.undocumented, applied.unenforced
        ));
    }
    serde_json::to_vec(&openapi)
        .map(web::Bytes::from)
        .map_err(|e| e.to_string())
}

struct OpenApiDoc {
    startup: web::Bytes,
    /// The document with the token endpoint that discovery found.
    discovered: std::sync::OnceLock<web::Bytes>,
    /// Set while the token endpoint is still to be learnt from discovery.
    discovery: Option<AuthConfig>,
}

#[public(reason = "the API's own description")]
#[get("/openapi.json")]
async fn openapi_json(doc: web::Data<OpenApiDoc>) -> HttpResponse {
    let token_url = doc
        .discovery
        .as_ref()
        .and_then(AuthConfig::remote_keys)
        .and_then(|remote| remote.discovered_endpoints().token);
    let body = match token_url {
        Some(url) if doc.discovered.get().is_none() => match openapi_document(Some(&url), None) {
            Ok(bytes) => doc.discovered.get_or_init(|| bytes).clone(),
            Err(_) => doc.startup.clone(),
        },
        _ => doc.discovered.get().unwrap_or(&doc.startup).clone(),
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// Prometheus text format. Public here for the example's sake; a real service would keep it
/// on an internal port or behind its own protection.
#[public(reason = "Prometheus scrape; keep it on an internal port in production")]
#[get("/metrics")]
async fn metrics_text(
    handle: web::Data<metrics_exporter_prometheus::PrometheusHandle>,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

/// The embedded default's stand-in for an authorization server.
struct DevIssuer {
    key: DevKey,
    issuer: String,
    audience: String,
    /// Verifies a token presented for revocation (only our own are revoked).
    verifier: AuthConfig,
    revoked: Revoked,
}

/// Where revoked token ids are kept.
#[derive(Clone)]
enum Revoked {
    Memory(MemoryRevocationList),
    Redis(RedisRevocationStore),
}

impl Revoked {
    async fn revoke(&self, token_id: &str, expires_at: u64) -> Result<(), String> {
        match self {
            Revoked::Memory(list) => {
                list.revoke(token_id, expires_at);
                Ok(())
            }
            Revoked::Redis(store) => store
                .revoke(token_id, expires_at)
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

/// The second dev issuer (`REPORTS_API_DEV_PARTNERS=1`), as app data of its own type.
struct PartnersDev(DevIssuer);

#[public(reason = "the embedded issuer's signing keys")]
#[get("/.well-known/jwks.json")]
async fn dev_jwks(dev: web::Data<DevIssuer>) -> HttpResponse {
    jwks_of(&dev)
}

#[public(reason = "the second embedded issuer's signing keys")]
#[get("/partners/.well-known/jwks.json")]
async fn partners_jwks(dev: web::Data<PartnersDev>) -> HttpResponse {
    jwks_of(&dev.0)
}

fn jwks_of(dev: &DevIssuer) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "keys": [dev.key.jwk] }))
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    #[serde(default)]
    scope: String,
    /// RFC 9470 step-up, as a client would ask the authorization endpoint: the dev issuer
    /// stands in for an MFA login when asked for `urn:example:mfa`.
    #[serde(default)]
    acr_values: Option<String>,
}

/// A development-only RFC 6749 §4.4 client-credentials endpoint (no client authentication:
/// the embedded default exists to try the API), so that the OAuth 2.0 flow the OpenAPI
/// document names works for real API clients. It exists only on the embedded default.
#[public(reason = "the embedded issuer's token endpoint")]
#[post("/oauth/token")]
async fn dev_token(dev: web::Data<DevIssuer>, form: web::Form<TokenRequest>) -> HttpResponse {
    token_of(&dev, &form)
}

/// The second dev issuer's token endpoint: tokens with its own `iss` and key.
#[public(reason = "the second embedded issuer's token endpoint")]
#[post("/partners/oauth/token")]
async fn partners_token(
    dev: web::Data<PartnersDev>,
    form: web::Form<TokenRequest>,
) -> HttpResponse {
    token_of(&dev.0, &form)
}

/// An RFC 6749 §5.2 error of the dev token and revocation endpoints (400, `no-store`).
fn oauth_error(code: &str, description: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .insert_header(("cache-control", "no-store"))
        .json(serde_json::json!({ "error": code, "error_description": description }))
}

/// A body the dev endpoints cannot read as their form (not a form, a parameter missing or
/// twice, not UTF-8): the RFC 6749 §5.2 error an OAuth client expects, not actix-web's text.
fn form_refused(err: error::UrlencodedError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    let response = oauth_error(
        "invalid_request",
        "the body is not an application/x-www-form-urlencoded form with this endpoint's parameters (each once)",
    );
    error::InternalError::from_response(err, response).into()
}

fn token_of(dev: &DevIssuer, form: &TokenRequest) -> HttpResponse {
    let error = oauth_error;
    if form.grant_type != "client_credentials" {
        return error(
            "unsupported_grant_type",
            "only client_credentials is supported here",
        );
    }
    // RFC 6749 §3.3: scope-tokens are separated by single spaces (%x20) and nothing else; a
    // TAB or a second space is not a separator, so such a request names no declared scope.
    let scopes: Vec<&str> = if form.scope.is_empty() {
        Vec::new()
    } else {
        form.scope.split(' ').collect()
    };
    if scopes
        .iter()
        .any(|s| !SCOPES.iter().any(|d| d.scope() == *s))
    {
        return error(
            "invalid_scope",
            "a requested scope is not one this API declares",
        );
    }
    // Each at most once: a token stays the size of the catalog, well under the API's limit.
    if scopes
        .iter()
        .enumerate()
        .any(|(i, s)| scopes[..i].contains(s))
    {
        return error("invalid_scope", "a scope is requested more than once");
    }
    let acr = match form.acr_values.as_deref() {
        None => None,
        Some(values) if values.split(' ').any(|v| v == DEV_MFA) => Some(DEV_MFA),
        Some(_) => {
            return error(
                "invalid_request",
                "the development issuer only performs acr urn:example:mfa",
            )
        }
    };
    let token = dev
        .key
        .mint_as(&dev.issuer, &dev.audience, "dev-client", &scopes, acr, &[]);
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": scopes.join(" "),
        }))
}

/// RFC 7009 §2.1. `token_type_hint` is a hint a server may ignore, and this one does (it only
/// issues access tokens).
#[derive(Deserialize)]
struct RevocationRequest {
    token: Option<String>,
}

/// A development-only RFC 7009 revocation endpoint for the embedded issuer's own tokens: from
/// the next request on, the token is 401 `invalid_token` ("the access token has been
/// revoked"), at every instance that shares the revocation store. No client authentication
/// (as `/oauth/token`). RFC 7009 §2.2: 200 for a token that is unknown, invalid or already
/// expired too (nothing to revoke, and nothing for a client to fix); a store that cannot be
/// written is 503.
#[public(reason = "the embedded issuer's token revocation endpoint (RFC 7009)")]
#[post("/oauth/revoke")]
async fn dev_revoke(dev: web::Data<DevIssuer>, form: web::Form<RevocationRequest>) -> HttpResponse {
    revoke_of(&dev, &form).await
}

/// The second dev issuer's revocation endpoint: its own tokens (RFC 7009: each
/// authorization server revokes what it issued).
#[public(reason = "the second embedded issuer's revocation endpoint")]
#[post("/partners/oauth/revoke")]
async fn partners_revoke(
    dev: web::Data<PartnersDev>,
    form: web::Form<RevocationRequest>,
) -> HttpResponse {
    revoke_of(&dev.0, &form).await
}

async fn revoke_of(dev: &DevIssuer, form: &RevocationRequest) -> HttpResponse {
    let Some(token) = form.token.as_deref().filter(|t| !t.is_empty()) else {
        return oauth_error("invalid_request", "the token parameter is required");
    };
    // Only a token this issuer signed (and still valid) is revoked: no one can fill the
    // store with made-up ids. Verified by the trusted issuer it names, which must be this one.
    let verified = dev
        .verifier
        .issuer_for(token)
        .ok()
        .filter(|issuer| issuer.iss() == Some(dev.issuer.as_str()))
        .map(|issuer| issuer.verifier().verify(token));
    if let Some(Ok(verified)) = verified {
        if let Some(id) = verified.token_id() {
            if let Err(e) = dev.revoked.revoke(id, verified.expires_at()).await {
                tracing::warn!(error = %e, "a token could not be revoked");
                return HttpResponse::ServiceUnavailable()
                    .insert_header(("cache-control", "no-store"))
                    .insert_header(("retry-after", "5"))
                    .json(serde_json::json!({
                        "error": "temporarily_unavailable",
                        "error_description": "the revocation store cannot be written right now; retry later",
                    }));
            }
        }
    }
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .finish()
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM; the handlers are registered before it returns.
#[cfg(unix)]
fn shutdown_signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

fn print_quickstart(
    addr: SocketAddr,
    key: &DevKey,
    issuer: &str,
    audience: &str,
    partners: Option<&DevIssuer>,
) {
    let read = key.mint(issuer, audience, "reader", &["read:reports"]);
    let write = key.mint(
        issuer,
        audience,
        "writer",
        &["read:reports", "write:reports"],
    );
    let admin = key.mint_as(
        issuer,
        audience,
        "admin",
        &["read:reports", "write:reports", "admin:reports"],
        None,
        &["reports-admin"],
    );
    let base = format!("http://{addr}");
    println!("\nEmbedded default: no identity provider needed. Tokens are valid for 1 hour.");
    println!(
        "Signing key: {} (this user only; delete it to rotate)\n",
        key.path.display()
    );
    println!("# read-only: list reports");
    println!("curl -i {base}/reports -H 'Authorization: Bearer {read}'");
    println!("# read+write: create a report");
    println!("curl -i -X POST {base}/reports -H 'Authorization: Bearer {write}' -H 'Content-Type: application/json' -d '{{\"title\":\"Q3\"}}'");
    println!("# admin (role reports-admin): delete anyone's report 1");
    println!("curl -i -X DELETE {base}/reports/1 -H 'Authorization: Bearer {admin}'");
    println!("# 401: no token");
    println!("curl -i {base}/reports");
    println!("# no token needed: public reports (with a token, your own private ones too)");
    println!("curl -i {base}/reports/public");
    println!("# 403: read-only token trying to create");
    println!("curl -i -X POST {base}/reports -H 'Authorization: Bearer {read}' -H 'Content-Type: application/json' -d '{{\"title\":\"Q3\"}}'");
    if let Some(p) = partners {
        let partner = p
            .key
            .mint(&p.issuer, &p.audience, "partner", &["read:reports"]);
        println!("# a second issuer (REPORTS_API_DEV_PARTNERS): its token reads the partner reports; staff's token gets 403 there");
        println!("curl -i {base}/partner/reports -H 'Authorization: Bearer {partner}'");
        println!("curl -i {base}/partner/reports -H 'Authorization: Bearer {read}'");
    }
    println!(
        "# revoke the read-only token (RFC 7009); the first command then answers 401 invalid_token"
    );
    println!("curl -i -X POST {base}/oauth/revoke -d 'token={read}'");
    println!(
        "\nMore tokens: cargo run --example reports_api -- mint read:reports export:reports\n"
    );
}
