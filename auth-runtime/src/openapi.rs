//! OpenAPI security from the same declarations that enforce it.
//!
//! `#[requires]` registers every protected handler ([`ProtectedHandler`]); [`SecurityDoc`]
//! completes an OpenAPI 3.1 document with what they declare: per operation, `security` in
//! disjunctive normal form (`all` → one requirement object with several scopes, `any` →
//! alternatives, `authenticated` → a requirement with no scopes) and the `400`/`401`/`403`
//! responses with their `WWW-Authenticate` header (`403` only where a valid token can fall
//! short: not for `authenticated` or step-up alone); in `components`, an OAuth 2.0 scheme whose
//! scopes and descriptions come from the scope catalog, and a bearer-JWT scheme. `#[public]`
//! handlers are documented as open (`security: []`), or, when they take a
//! [`MaybePrincipal`](crate::MaybePrincipal), as optionally authenticated
//! (`security: [{}, {"oauth2": []}]`) with the `400`/`401` that bad credentials get.
//!
//! It works on the document as JSON, so it serves utoipa users ([`SecurityDoc::apply_utoipa`])
//! and any other OpenAPI JSON ([`SecurityDoc::apply`]); services without a document get one
//! built from the registered handlers ([`SecurityDoc::document`]).
//!
//! ```
//! # extern crate endpoint_auth_runtime as endpoint_auth;
//! use endpoint_auth::openapi::SecurityDoc;
//! use endpoint_auth::ScopeInfo;
//!
//! const SCOPES: &[ScopeInfo] = &[ScopeInfo::new("read:reports", "Read reports")];
//! let mut doc = serde_json::json!({
//!     "openapi": "3.1.0",
//!     "info": { "title": "reports", "version": "1" },
//!     "paths": { "/reports": { "get": { "operationId": "list_reports", "responses": {} } } }
//! });
//! let report = SecurityDoc::new(SCOPES)
//!     .client_credentials("https://idp.example/oauth/token")
//!     .apply(&mut doc);
//! // No handler of this doctest is registered, so nothing is protected here:
//! assert!(report.unenforced.is_empty());
//! assert!(doc["components"]["securitySchemes"]["oauth2"]["flows"].is_object());
//! ```

use serde_json::{json, Map, Value};

use crate::catalog::ScopeInfo;
use crate::policy::Requirement;
use crate::registry::Declared;
#[cfg(test)]
use crate::registry::PublicDeclaration;
pub use crate::registry::{protected_handlers, public_handlers, ProtectedHandler, PublicHandler};

/// The OpenAPI security requirement array for a requirement: one object per DNF alternative.
pub fn security_requirements(requirement: &Requirement, scheme: &str) -> Value {
    Value::Array(
        requirement
            .alternatives()
            .into_iter()
            .map(|alt| json!({ scheme: alt }))
            .collect(),
    )
}

/// What [`SecurityDoc::apply`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Operations that received security (`METHOD path`).
    pub secured: Vec<String>,
    /// Protected handlers with no operation in the document (protected but undocumented), by
    /// module path (`my_service::handlers::create_report`): the route may be unknown.
    pub undocumented: Vec<String>,
    /// `#[public]` handlers with no operation in the document, by module path: open by
    /// declaration, so not drift that a client could trip over (a metrics or token endpoint
    /// is often left out on purpose), but listed for services that want every route
    /// documented.
    pub undocumented_public: Vec<String>,
    /// Operations that declare `security` no handler enforces (documented but unprotected).
    pub unenforced: Vec<String>,
    /// Operations of `#[public]` handlers, documented as open (`security: []`), or as
    /// optionally authenticated (`security: [{}, {"oauth2": []}]`) when the handler takes a
    /// [`MaybePrincipal`](crate::MaybePrincipal).
    pub public: Vec<String>,
    /// Security schemes the document already had under one of our schemes' names, with a
    /// different definition: replaced by ours, which describe what is enforced (rename ours
    /// with [`SecurityDoc::scheme_name`] / [`SecurityDoc::bearer_scheme_name`] to keep both).
    pub replaced_schemes: Vec<String>,
    /// Operations of protected handlers whose own `security` said something else than what
    /// is enforced (another scope, another scheme, none required): replaced by what is
    /// enforced. Hand-written annotations that drifted show up here, once.
    pub rewritten: Vec<String>,
}

/// Completes OpenAPI documents with the declared security.
#[derive(Debug, Clone)]
pub struct SecurityDoc {
    scheme: String,
    bearer_scheme: String,
    scopes: Vec<(String, String)>,
    /// The role catalog's descriptions, for `x-roles`.
    roles: Vec<(String, String)>,
    /// The issuer catalog's descriptions.
    issuers: Vec<(String, String)>,
    /// A security scheme of its own per trusted issuer (name, flows), when they differ.
    issuer_schemes: Vec<(String, Map<String, Value>)>,
    flows: Map<String, Value>,
    realm: Option<String>,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

impl SecurityDoc {
    /// Documentation for a service whose scopes are `catalog` (the `SCOPES` that
    /// `endpoint_auth::scopes!` generates).
    pub fn new(catalog: &[ScopeInfo]) -> Self {
        SecurityDoc {
            scheme: "oauth2".into(),
            bearer_scheme: "bearerAuth".into(),
            scopes: catalog
                .iter()
                .map(|s| (s.scope().to_owned(), s.description().to_owned()))
                .collect(),
            flows: Map::new(),
            realm: None,
            roles: Vec::new(),
            issuers: Vec::new(),
            issuer_schemes: Vec::new(),
        }
    }

    /// The name of the OAuth 2.0 security scheme (default `oauth2`).
    pub fn scheme_name(mut self, name: impl Into<String>) -> Self {
        self.scheme = name.into();
        self
    }

    /// The name of the bearer-JWT security scheme (default `bearerAuth`).
    pub fn bearer_scheme_name(mut self, name: impl Into<String>) -> Self {
        self.bearer_scheme = name.into();
        self
    }

    /// The role catalog (the `ROLES` that `endpoint_auth::roles!` generates): each
    /// operation's `x-roles` then describes the roles it names.
    pub fn roles(mut self, catalog: &[crate::RoleInfo]) -> Self {
        self.roles = catalog
            .iter()
            .map(|r| (r.role().to_owned(), r.description().to_owned()))
            .collect();
        self
    }

    /// The issuer catalog (the `ISSUERS` that `endpoint_auth::issuers!` generates): the
    /// descriptions of the per-issuer schemes ([`issuer_authorization_code`](Self::issuer_authorization_code),
    /// [`issuer_client_credentials`](Self::issuer_client_credentials)).
    pub fn issuers(mut self, catalog: &[crate::IssuerInfo]) -> Self {
        self.issuers = catalog
            .iter()
            .map(|i| (i.name().to_owned(), i.description().to_owned()))
            .collect();
        self
    }

    /// Documents the trusted issuer `name` as an OAuth 2.0 security scheme of its own (named
    /// `name`), with an authorization-code flow at its endpoints: for services whose issuers
    /// differ (Entra ID for staff, Auth0 for partners), where one scheme could not say where
    /// to get a token. Once any issuer has a scheme, every operation's `security` lists, for
    /// each alternative of its requirement, the scheme of the issuer it is limited to
    /// (`issuer = "…"`), or every issuer's scheme when any trusted issuer will do. Called
    /// again for the same issuer, the flows add up.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use endpoint_auth::openapi::SecurityDoc;
    /// use endpoint_auth::{IssuerInfo, Requirement, ScopeInfo};
    ///
    /// const SCOPES: &[ScopeInfo] = &[ScopeInfo::new("read:reports", "Read reports")];
    /// let doc = SecurityDoc::new(SCOPES)
    ///     .issuer_authorization_code("staff", "https://login.example.com/authorize", "https://login.example.com/token")
    ///     .issuer_client_credentials("partners", "https://partners.example.net/oauth/token");
    /// let security = doc.security(&Requirement::Scope("read:reports"));
    /// assert_eq!(security, serde_json::json!([{ "staff": ["read:reports"] }, { "partners": ["read:reports"] }]));
    /// const PARTNERS: Requirement = Requirement::Issuer("partners");
    /// let security = doc.security(&Requirement::All(&[PARTNERS, Requirement::Scope("read:reports")]));
    /// assert_eq!(security, serde_json::json!([{ "partners": ["read:reports"] }]));
    /// ```
    pub fn issuer_authorization_code(
        self,
        name: impl Into<String>,
        authorization_url: impl Into<String>,
        token_url: impl Into<String>,
    ) -> Self {
        let flow = json!({ "authorizationUrl": authorization_url.into(), "tokenUrl": token_url.into(), "scopes": self.scope_map() });
        self.issuer_flow(name.into(), "authorizationCode", flow)
    }

    /// [`issuer_authorization_code`](Self::issuer_authorization_code) with a
    /// client-credentials flow (machine clients of that issuer).
    pub fn issuer_client_credentials(
        self,
        name: impl Into<String>,
        token_url: impl Into<String>,
    ) -> Self {
        let flow = json!({ "tokenUrl": token_url.into(), "scopes": self.scope_map() });
        self.issuer_flow(name.into(), "clientCredentials", flow)
    }

    fn issuer_flow(mut self, name: String, kind: &str, flow: Value) -> Self {
        match self.issuer_schemes.iter_mut().find(|(n, _)| *n == name) {
            Some((_, flows)) => {
                flows.insert(kind.into(), flow);
            }
            None => {
                let mut flows = Map::new();
                flows.insert(kind.into(), flow);
                self.issuer_schemes.push((name, flows));
            }
        }
        self
    }

    /// The OpenAPI `security` array of an operation with `requirement`: one object per
    /// alternative, naming [`requirement_scheme`](Self::requirement_scheme), or, with
    /// per-issuer schemes, the scheme of each issuer that can satisfy the alternative.
    pub fn security(&self, requirement: &Requirement) -> Value {
        if self.issuer_schemes.is_empty() {
            return security_requirements(requirement, self.requirement_scheme());
        }
        let mut out: Vec<Value> = Vec::new();
        for (issuer, scopes) in requirement.issuer_alternatives() {
            let schemes: Vec<&str> = match issuer {
                Some(name) if self.issuer_schemes.iter().any(|(n, _)| n == name) => vec![name],
                // An issuer without a scheme of its own: the shared one.
                Some(_) => vec![self.requirement_scheme()],
                None => self
                    .issuer_schemes
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect(),
            };
            for scheme in schemes {
                let alt = json!({ scheme: scopes });
                if !out.contains(&alt) {
                    out.push(alt);
                }
            }
        }
        Value::Array(out)
    }

    /// Shows the realm in the documented challenges.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Adds an authorization-code flow.
    pub fn authorization_code(
        mut self,
        authorization_url: impl Into<String>,
        token_url: impl Into<String>,
    ) -> Self {
        let scopes = self.scope_map();
        self.flows.insert(
            "authorizationCode".into(),
            json!({ "authorizationUrl": authorization_url.into(), "tokenUrl": token_url.into(), "scopes": scopes }),
        );
        self
    }

    /// Adds a client-credentials flow.
    pub fn client_credentials(mut self, token_url: impl Into<String>) -> Self {
        let scopes = self.scope_map();
        self.flows.insert(
            "clientCredentials".into(),
            json!({ "tokenUrl": token_url.into(), "scopes": scopes }),
        );
        self
    }

    /// The bearer scheme's description. Without a flow there is no OAuth 2.0 scheme to carry
    /// the catalog (OpenAPI requires one), and operations name their scopes under this
    /// scheme: its description lists them, so what each scope means stays in the document.
    fn bearer_description(&self) -> String {
        let mut text = String::from("RFC 6750 bearer access token (a JWT)");
        if self.flows.is_empty() && !self.scopes.is_empty() {
            text.push_str(". Scopes:");
            for (scope, description) in &self.scopes {
                text.push_str(&format!("\n- `{scope}`: {description}"));
            }
        }
        text
    }

    fn scope_map(&self) -> Map<String, Value> {
        self.scopes
            .iter()
            .map(|(s, d)| (s.clone(), Value::String(d.clone())))
            .collect()
    }

    /// The scheme operations refer to: the OAuth 2.0 scheme when a flow is configured (an
    /// OAuth 2.0 scheme must have one), else the bearer scheme, whose requirement arrays then
    /// list the scopes as role names (OpenAPI 3.1 §4.8.30).
    pub fn requirement_scheme(&self) -> &str {
        if self.flows.is_empty() {
            &self.bearer_scheme
        } else {
            &self.scheme
        }
    }

    /// Completes `doc` (OpenAPI 3.1 JSON) with the security of every registered handler.
    pub fn apply(&self, doc: &mut Value) -> Applied {
        self.apply_with(doc, &protected_handlers(), &public_handlers())
    }

    /// [`apply`](Self::apply) for a utoipa document.
    pub fn apply_utoipa(
        &self,
        doc: utoipa::openapi::OpenApi,
    ) -> Result<(utoipa::openapi::OpenApi, Applied), serde_json::Error> {
        let mut value = serde_json::to_value(&doc)?;
        let applied = self.apply(&mut value);
        let mut out: utoipa::openapi::OpenApi = serde_json::from_value(value.clone())?;
        repair_flows(&value, &mut out)?;
        Ok((out, applied))
    }

    /// A document of the registered handlers (`#[requires]` and `#[public]`) whose route
    /// is written on it (a route attribute or `#[utoipa::path]`), for services without an
    /// OpenAPI generator; merge its `paths` and `components` into your own.
    pub fn document(&self, title: &str, version: &str) -> Value {
        let mut paths = Map::new();
        // Protected operations get their 400/401/403 from `apply`; an open one needs a
        // response of its own to be a valid operation, and its handler's is not known here.
        let open = json!({ "default": { "description": "The handler's response." } });
        let routes = protected_handlers()
            .into_iter()
            .map(|h| (h.path(), h.methods(), h.handler(), json!({})))
            .chain(
                public_handlers()
                    .into_iter()
                    .map(|h| (h.path(), h.methods(), h.handler(), open.clone())),
            );
        for (path, methods, handler, responses) in routes {
            let Some(path) = path else { continue };
            let item = paths.entry(openapi_path(path)).or_insert_with(|| json!({}));
            for m in methods {
                item[m.to_ascii_lowercase()] =
                    json!({ "operationId": handler, "responses": responses });
            }
        }
        let mut doc = json!({
            "openapi": "3.1.0",
            "info": { "title": title, "version": version },
            "paths": paths,
        });
        self.apply(&mut doc);
        doc
    }

    fn apply_with(
        &self,
        doc: &mut Value,
        handlers: &[&'static ProtectedHandler],
        open: &[&'static PublicHandler],
    ) -> Applied {
        let mut applied = Applied::default();
        let mut matched = vec![false; handlers.len()];
        let mut matched_open = vec![false; open.len()];
        if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
            for (path, item) in paths.iter_mut() {
                for method in METHODS {
                    let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                        continue;
                    };
                    let op_id = op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let found = find(handlers, method, path, op_id.as_deref());
                    // A public handler found by name only when no protected handler has that
                    // name: a protected operation must never be documented as open.
                    let found_open = match found {
                        Some(_) => None,
                        None => find(open, method, path, op_id.as_deref()).filter(|&i| {
                            open[i].path().is_some()
                                || !handlers.iter().any(|h| h.handler() == open[i].handler())
                        }),
                    };
                    let documented = op.get("security").and_then(Value::as_array);
                    let claims_security = documented.is_some_and(|a| !a.is_empty());
                    // A token is required unless one alternative is the empty object.
                    let claims_token = claims_security
                        && !documented.is_some_and(|a| a.iter().any(is_anonymous_alternative));
                    let label = format!("{} {path}", method.to_ascii_uppercase());
                    match (found, found_open) {
                        (Some(i), _) => {
                            matched[i] = true;
                            let enforced = self.security(&handlers[i].requirement());
                            if op.get("security").is_some_and(|own| *own != enforced) {
                                applied.rewritten.push(label.clone());
                            }
                            op.insert("security".into(), enforced);
                            let requirement = handlers[i].requirement();
                            let issuers = requirement.issuers();
                            if !issuers.is_empty() {
                                op.insert("x-issuers".into(), json!(issuers));
                            }
                            let checks = handlers[i].checks();
                            self.add_responses(
                                op,
                                Responses::Protected(&requirement, !checks.is_empty()),
                            );
                            if requirement.has_step_up() {
                                op.insert("x-step-up".into(), step_up(&requirement));
                            }
                            if !checks.is_empty() {
                                op.insert("x-checks".into(), json!(checks));
                            }
                            if requirement.has_claims() {
                                op.insert(
                                    "x-claims".into(),
                                    json!({ "requirement": requirement.to_string() }),
                                );
                            }
                            // Roles are no OAuth 2.0 scopes: documented beside `security`.
                            let roles = requirement.roles();
                            if !roles.is_empty() {
                                let mut x_roles = json!({
                                    "requirement": requirement.to_string(),
                                    "roles": roles,
                                });
                                let described: Map<String, Value> = self
                                    .roles
                                    .iter()
                                    .filter(|(r, _)| roles.contains(&r.as_str()))
                                    .map(|(r, d)| (r.clone(), Value::String(d.clone())))
                                    .collect();
                                if !described.is_empty() {
                                    x_roles["descriptions"] = Value::Object(described);
                                }
                                op.insert("x-roles".into(), x_roles);
                            }
                            applied.secured.push(label);
                        }
                        // The document says this operation needs a token (or, for a handler
                        // that never reads the caller, uses one), the handler is public: left
                        // as written and reported, never silently opened.
                        (None, Some(i))
                            if (open[i].optional_caller() && claims_token)
                                || (!open[i].optional_caller() && claims_security) =>
                        {
                            matched_open[i] = true;
                            applied.unenforced.push(label);
                        }
                        (None, Some(i)) if open[i].optional_caller() => {
                            matched_open[i] = true;
                            // OpenAPI 3.1 §4.8.10: the empty object makes security optional;
                            // a token, when sent, is checked (400/401 for a bad one).
                            let mut security = vec![json!({})];
                            if let Value::Array(token) = self.security(&Requirement::Authenticated)
                            {
                                security.extend(token);
                            }
                            op.insert("security".into(), Value::Array(security));
                            self.add_responses(op, Responses::Optional);
                            applied.public.push(label);
                        }
                        (None, Some(i)) => {
                            matched_open[i] = true;
                            // OpenAPI 3.1 §4.8.10: an empty array removes any top-level
                            // security: the operation is explicitly open.
                            op.insert("security".into(), json!([]));
                            applied.public.push(label);
                        }
                        (None, None) if claims_security => applied.unenforced.push(label),
                        (None, None) => {}
                    }
                }
            }
        }
        applied.undocumented = handlers
            .iter()
            .zip(&matched)
            .filter(|(_, m)| !**m)
            .map(|(h, _)| h.label())
            .collect();
        applied.undocumented_public = open
            .iter()
            .zip(&matched_open)
            .filter(|(_, m)| !**m)
            .map(|(h, _)| h.label())
            .collect();
        applied.replaced_schemes = self.add_components(doc);
        applied
    }

    fn add_responses(&self, op: &mut Map<String, Value>, kind: Responses<'_>) {
        let responses = op.entry("responses").or_insert_with(|| json!({}));
        let Some(responses) = responses.as_object_mut() else {
            return;
        };
        let realm = self.realm.as_deref().unwrap_or("…");
        let unauthorized = match kind {
            Responses::Protected(requirement, _) if requirement.has_step_up() => "No access token, or one that is not acceptable (RFC 6750 §3.1 invalid_token); without credentials the challenge carries no error. Also when the user's authentication is not strong or recent enough for the operation (RFC 9470 insufficient_user_authentication, with `acr_values` and/or `max_age` as in `x-step-up`): authenticate again as asked and retry.",
            Responses::Protected(..) => "No access token, or one that is not acceptable (RFC 6750 §3.1 invalid_token). Without credentials the challenge carries no error.",
            Responses::Optional => "An access token that is not acceptable (RFC 6750 §3.1 invalid_token). Without credentials the operation is served anonymously.",
        };
        let forbidden = match kind {
            // Any valid token will do (and no check can refuse it): there is no 403 to document.
            Responses::Protected(requirement, false) if !requirement.can_forbid() => None,
            Responses::Protected(requirement, checks) if always_hinted(requirement, checks) => Some(("403", "The access token lacks the required scope (RFC 6750 §3.1 insufficient_scope); `scope` names a set that would satisfy the operation.",
             format!("Bearer realm=\"{realm}\", error=\"insufficient_scope\", error_description=\"…\", scope=\"…\""))),
            // A role, a claim value, an issuer or a check: no scope would help, so there may
            // be no hint.
            Responses::Protected(..) => Some(("403", "The access token does not meet the operation's requirement (RFC 6750 §3.1 insufficient_scope). Where scopes alone would satisfy it, `scope` names them; a missing role (`x-roles`), claim value or issuer, or a refusal by the operation's checks (`x-checks`), gets no `scope`.",
             format!("Bearer realm=\"{realm}\", error=\"insufficient_scope\", error_description=\"…\""))),
            Responses::Optional => None,
        };
        for (status, description, example) in [
            Some((
                "400",
                "Malformed credentials (RFC 6750 §3.1 invalid_request).",
                format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"…\""
                ),
            )),
            Some((
                "401",
                unauthorized,
                format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"…\""
                ),
            )),
            forbidden,
        ]
        .into_iter()
        .flatten()
        {
            responses.entry(status).or_insert_with(|| {
                json!({
                    "description": description,
                    "headers": {
                        "WWW-Authenticate": {
                            "description": "RFC 6750 Bearer challenge",
                            "schema": { "type": "string", "examples": [example] }
                        },
                        "Cache-Control": { "schema": { "type": "string", "enum": ["no-store"] } }
                    },
                    "content": {
                        "application/problem+json": { "schema": { "$ref": "#/components/schemas/AuthProblem" } }
                    }
                })
            });
        }
        // A token cannot be checked right now: no challenge (the token may be fine).
        responses.entry("503").or_insert_with(|| {
            json!({
                "description": "The token cannot be checked right now (the issuer's signing keys, or the revocation or introspection service, cannot be reached): the token may be fine, keep it and retry after `Retry-After` seconds. No challenge.",
                "headers": {
                    "Retry-After": { "description": "Seconds to wait (RFC 9110 §10.2.3)", "schema": { "type": "integer", "minimum": 1 } },
                    "Cache-Control": { "schema": { "type": "string", "enum": ["no-store"] } }
                },
                "content": {
                    "application/problem+json": { "schema": { "$ref": "#/components/schemas/AuthProblem" } }
                }
            })
        });
        // A check may hide what the caller may not see (`Decision::Hide`).
        if matches!(kind, Responses::Protected(_, true)) {
            responses.entry("404").or_insert_with(|| {
                json!({
                    "description": "Not found, or hidden: a check of this operation (`x-checks`) answers 404 for what the caller may not see, as if it did not exist. No challenge.",
                    "headers": {
                        "Cache-Control": { "schema": { "type": "string", "enum": ["no-store"] } }
                    },
                    "content": {
                        "application/problem+json": { "schema": { "$ref": "#/components/schemas/AuthProblem" } }
                    }
                })
            });
        }
    }

    /// Adds our security schemes and the problem schema; returns the names of the document's
    /// own schemes that ours replaced (see [`Applied::replaced_schemes`]).
    fn add_components(&self, doc: &mut Value) -> Vec<String> {
        let mut replaced = Vec::new();
        let Some(root) = doc.as_object_mut() else {
            return replaced;
        };
        let components = root.entry("components").or_insert_with(|| json!({}));
        let Some(components) = components.as_object_mut() else {
            return replaced;
        };
        let schemes = components
            .entry("securitySchemes")
            .or_insert_with(|| json!({}));
        if let Some(schemes) = schemes.as_object_mut() {
            // Names ours took in this call: a collision among our own schemes (an issuer
            // named like the OAuth 2.0 scheme) replaces nothing of the document's.
            let mut ours: Vec<String> = Vec::new();
            let mut put = |name: &str, scheme: Value| {
                if let Some(theirs) = schemes.insert(name.to_owned(), scheme) {
                    if schemes.get(name) != Some(&theirs) && !ours.iter().any(|n| n == name) {
                        replaced.push(name.to_owned());
                    }
                }
                ours.push(name.to_owned());
            };
            if !self.flows.is_empty() {
                put(
                    &self.scheme,
                    json!({ "type": "oauth2", "description": "OAuth 2.0 access tokens (RFC 9068 JWT)", "flows": self.flows }),
                );
            }
            put(
                &self.bearer_scheme,
                json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": self.bearer_description() }),
            );
            for (name, flows) in &self.issuer_schemes {
                let description = self.issuers.iter().find(|(n, _)| n == name).map_or_else(
                    || format!("OAuth 2.0 access tokens of the trusted issuer `{name}`"),
                    |(_, d)| format!("OAuth 2.0 access tokens of the trusted issuer `{name}`: {d}"),
                );
                put(
                    name,
                    json!({ "type": "oauth2", "description": description, "flows": flows }),
                );
            }
        }
        let schemas = components.entry("schemas").or_insert_with(|| json!({}));
        if let Some(schemas) = schemas.as_object_mut() {
            schemas.entry("AuthProblem").or_insert_with(|| {
                json!({
                    "type": "object",
                    "description": "RFC 9457 problem details with the RFC 6750 error members",
                    "properties": {
                        "type": { "type": "string" },
                        "title": { "type": "string" },
                        "status": { "type": "integer" },
                        "detail": { "type": "string" },
                        "error": { "type": "string", "enum": ["invalid_request", "invalid_token", "insufficient_scope", "insufficient_user_authentication"] },
                        "error_description": { "type": "string" },
                        "scope": { "type": "string" },
                        "acr_values": { "type": "string", "description": "RFC 9470: acceptable authentication context classes, space-separated" },
                        "max_age": { "type": "integer", "description": "RFC 9470: the largest acceptable seconds since the user authenticated" }
                    },
                    "required": ["status"]
                })
            });
        }
        replaced
    }
}

/// Which rejections an operation documents.
#[derive(Clone, Copy)]
enum Responses<'a> {
    /// A token that meets the requirement is needed: 400, 401 (step-up included) and, where
    /// a valid token can fall short of it, 403; 503 (keys or the revocation store out of
    /// reach); 404 when the handler has checks of its own (one may hide the resource).
    Protected(&'a Requirement, bool),
    /// Optional authentication: 400 and 401 for bad credentials only.
    Optional,
}

/// utoipa reads an OAuth 2.0 flow without its name (its `Flow` is untagged, `Implicit`
/// first): an `authorizationCode` flow read back from JSON is taken for an implicit one and
/// loses its `tokenUrl` (a `deviceAuthorization` one its `deviceAuthorizationUrl`), which
/// makes the document invalid. Each flow of `doc`'s OAuth 2.0 schemes is read again as the
/// flow its name says.
fn repair_flows(doc: &Value, out: &mut utoipa::openapi::OpenApi) -> Result<(), serde_json::Error> {
    use utoipa::openapi::security::{
        AuthorizationCode, ClientCredentials, DeviceAuthorization, Flow, Implicit, Password,
        SecurityScheme,
    };
    use utoipa::openapi::RefOr;
    let Some(schemes) = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    else {
        return Ok(());
    };
    let Some(components) = out.components.as_mut() else {
        return Ok(());
    };
    for (name, scheme) in schemes {
        let (Some(flows), Some(RefOr::T(SecurityScheme::OAuth2(oauth)))) = (
            scheme.get("flows").and_then(Value::as_object),
            components.security_schemes.get_mut(name),
        ) else {
            continue;
        };
        for (kind, flow) in flows {
            let flow = flow.clone();
            let read = match kind.as_str() {
                "implicit" => Flow::Implicit(serde_json::from_value::<Implicit>(flow)?),
                "password" => Flow::Password(serde_json::from_value::<Password>(flow)?),
                "clientCredentials" => {
                    Flow::ClientCredentials(serde_json::from_value::<ClientCredentials>(flow)?)
                }
                "authorizationCode" => {
                    Flow::AuthorizationCode(serde_json::from_value::<AuthorizationCode>(flow)?)
                }
                "deviceAuthorization" => {
                    Flow::DeviceAuthorization(serde_json::from_value::<DeviceAuthorization>(flow)?)
                }
                _ => continue,
            };
            oauth.flows.insert(kind.clone(), read);
        }
    }
    Ok(())
}

/// Whether every 403 of an operation names a scope set: its requirement asks for scopes and
/// nothing a scope cannot give (a role, a claim value, an issuer), and no check of the
/// handler can refuse on its own. Step-up parts answer 401, not 403.
fn always_hinted(requirement: &Requirement, checks: bool) -> bool {
    !checks
        && !requirement.scopes().is_empty()
        && requirement.roles().is_empty()
        && !requirement.has_claims()
        && requirement.issuers().is_empty()
}

/// `{}` in a security array: the alternative that needs nothing (anonymous access).
fn is_anonymous_alternative(requirement: &Value) -> bool {
    requirement.as_object().is_some_and(Map::is_empty)
}

/// The registered handler for an operation: by method and path when the route is known;
/// else, for a handler served under a `web::scope` (its route attribute names the path
/// within the scope), by method and the end of the path, at a segment boundary, when exactly
/// one handler fits and the operation's `operationId`, if any, is that handler's name; else
/// by operationId (the handler name) when exactly one handler has that name.
fn find<D>(
    handlers: &[&'static Declared<D>],
    method: &str,
    path: &str,
    op_id: Option<&str>,
) -> Option<usize> {
    let serves = |h: &Declared<D>| h.methods().iter().any(|m| m.eq_ignore_ascii_case(method));
    let by_route = handlers
        .iter()
        .position(|h| h.path().is_some_and(|p| openapi_path(p) == path) && serves(h));
    let under_scope = || {
        let mut fits = handlers.iter().enumerate().filter(|(_, h)| {
            serves(h)
                && op_id.is_none_or(|id| id == h.handler())
                && h.path().is_some_and(|p| {
                    let p = openapi_path(p);
                    p.len() > 1 && path.len() > p.len() && path.ends_with(&p)
                })
        });
        let first = fits.next()?;
        fits.next().is_none().then_some(first.0)
    };
    by_route.or_else(under_scope).or_else(|| {
        let id = op_id?;
        let mut named = handlers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.handler() == id && h.path().is_none());
        let first = named.next()?;
        named.next().is_none().then_some(first.0)
    })
}

/// `x-step-up` of an operation whose requirement names an RFC 9470 authentication context:
/// the requirement as declared, every `acr` it accepts and its smallest `max_age`.
fn step_up(requirement: &Requirement) -> Value {
    fn walk(r: &Requirement, acr: &mut Vec<&'static str>, max_age: &mut Option<u64>) {
        match r {
            Requirement::Acr(a) if !acr.contains(a) => acr.push(a),
            Requirement::MaxAge(m) => *max_age = Some(max_age.map_or(*m, |x| x.min(*m))),
            Requirement::All(members) | Requirement::Any(members) => {
                members.iter().for_each(|m| walk(m, acr, max_age))
            }
            _ => {}
        }
    }
    let (mut acr, mut max_age) = (Vec::new(), None);
    walk(requirement, &mut acr, &mut max_age);
    let mut out = json!({ "requirement": requirement.to_string() });
    if !acr.is_empty() {
        out["acr_values"] = json!(acr);
    }
    if let Some(m) = max_age {
        out["max_age"] = json!(m);
    }
    out
}

/// actix `{id:\d+}` → OpenAPI `{id}`.
fn openapi_path(actix: &str) -> String {
    let mut out = String::with_capacity(actix.len());
    // Inside `{name:regex}`: whether the regex is being skipped, and the depth of its own
    // braces (`{id:\d{2}}`), so that only the parameter's closing brace ends it.
    let (mut in_param, mut skipping, mut depth) = (false, false, 0usize);
    for c in actix.chars() {
        match c {
            '{' if skipping => depth += 1,
            '}' if skipping && depth > 0 => depth -= 1,
            '{' => {
                in_param = true;
                out.push(c);
            }
            '}' if in_param => {
                (in_param, skipping) = (false, false);
                out.push(c);
            }
            ':' if in_param => skipping = true,
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn actix_patterns_become_openapi_paths() {
        assert_eq!(openapi_path("/reports/{id}"), "/reports/{id}");
        assert_eq!(openapi_path("/reports/{id:\\d+}/x"), "/reports/{id}/x");
        assert_eq!(openapi_path("/r/{id:\\d{2}}/{y:[a-z]{1,3}}"), "/r/{id}/{y}");
        assert_eq!(openapi_path("/files/{tail:.*}"), "/files/{tail}");
    }

    use super::*;

    /// A protected handler whose route the document spells with a scope prefix, and a
    /// public handler of the same name: the protected operation is never documented as open
    /// (it is matched to the protected handler by the end of its path, operationId agreeing).
    #[test]
    fn a_public_handler_never_opens_an_operation_that_a_protected_one_may_serve() {
        static LIST: ProtectedHandler = ProtectedHandler::new(
            "list",
            "svc::reports",
            &["GET"],
            Some("/reports"),
            crate::registry::Protection::new(Requirement::Scope("read:reports"), &[]),
        );
        const OPEN: PublicDeclaration = PublicDeclaration::new(None, false);
        static OPEN_LIST: PublicHandler =
            PublicHandler::new("list", "svc::catalog", &[], None, OPEN);
        static HEALTH: PublicHandler = PublicHandler::new("health", "svc", &[], None, OPEN);
        let mut doc = json!({ "paths": {
            "/api/reports": { "get": { "operationId": "list", "responses": {} } },
            "/api/other": { "get": {
                "operationId": "list",
                "security": [{ "oauth2": ["read:reports"] }],
                "responses": {}
            } },
            "/health": { "get": { "operationId": "health", "responses": {} } }
        } });
        let applied = SecurityDoc::new(&[]).apply_with(&mut doc, &[&LIST], &[&OPEN_LIST, &HEALTH]);
        let security = &doc["paths"]["/api/reports"]["get"]["security"];
        assert_ne!(security, &json!([]), "{doc:#}");
        assert!(
            security.to_string().contains("read:reports"),
            "the protected handler's requirement: {doc:#}"
        );
        assert_eq!(
            doc["paths"]["/api/other"]["get"]["security"],
            json!([{ "oauth2": ["read:reports"] }])
        );
        assert_eq!(applied.unenforced, vec!["GET /api/other".to_owned()]);
        assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([]));
        assert_eq!(applied.public, vec!["GET /health".to_owned()]);
    }

    /// A public handler that takes a `MaybePrincipal`: optional security, the 400/401 a bad
    /// token gets and no 403; a document that already says "optional" is completed, one that
    /// says a token is required is drift.
    #[test]
    fn a_public_handler_with_an_optional_caller_is_documented_as_optional_security() {
        const OPTIONAL: PublicDeclaration = PublicDeclaration::new(None, true);
        static FEED: PublicHandler =
            PublicHandler::new("feed", "svc", &["GET"], Some("/feed"), OPTIONAL);
        static MINE: PublicHandler =
            PublicHandler::new("mine", "svc", &["GET"], Some("/mine"), OPTIONAL);
        static STRICT: PublicHandler =
            PublicHandler::new("strict", "svc", &["GET"], Some("/strict"), OPTIONAL);
        let mut doc = json!({ "paths": {
            "/feed": { "get": { "responses": {} } },
            "/mine": { "get": { "security": [{}, { "oauth2": [] }], "responses": {} } },
            "/strict": { "get": { "security": [{ "oauth2": [] }], "responses": {} } }
        } });
        let applied = SecurityDoc::new(&[])
            .client_credentials("https://idp.example/token")
            .apply_with(&mut doc, &[], &[&FEED, &MINE, &STRICT]);
        for path in ["/feed", "/mine"] {
            let op = &doc["paths"][path]["get"];
            assert_eq!(op["security"], json!([{}, { "oauth2": [] }]), "{path}");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("400") && responses.contains_key("401"));
            assert!(
                !responses.contains_key("403"),
                "{path}: no scope is required"
            );
        }
        assert_eq!(applied.public, vec!["GET /feed", "GET /mine"]);
        assert_eq!(applied.unenforced, vec!["GET /strict"]);
        assert_eq!(
            doc["paths"]["/strict"]["get"]["security"],
            json!([{ "oauth2": [] }])
        );
        // Without a flow, the bearer scheme.
        let mut doc = json!({ "paths": { "/feed": { "get": { "responses": {} } } } });
        SecurityDoc::new(&[]).apply_with(&mut doc, &[], &[&FEED]);
        assert_eq!(
            doc["paths"]["/feed"]["get"]["security"],
            json!([{}, { "bearerAuth": [] }])
        );
    }

    #[test]
    fn dnf_becomes_alternatives() {
        const R: Requirement = Requirement::Any(&[
            Requirement::Scope("read"),
            Requirement::All(&[Requirement::Scope("export"), Requirement::Scope("admin")]),
        ]);
        assert_eq!(
            security_requirements(&R, "oauth2"),
            json!([{"oauth2": ["read"]}, {"oauth2": ["export", "admin"]}])
        );
        assert_eq!(
            security_requirements(&Requirement::Authenticated, "oauth2"),
            json!([{"oauth2": []}])
        );
    }

    #[test]
    fn actix_paths_become_openapi_paths() {
        assert_eq!(
            openapi_path("/reports/{id:\\d+}/export"),
            "/reports/{id}/export"
        );
        assert_eq!(openapi_path("/reports/{id}"), "/reports/{id}");
    }
}
