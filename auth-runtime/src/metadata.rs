//! RFC 9728 OAuth 2.0 Protected Resource Metadata.
//!
//! ```
//! # extern crate endpoint_auth_runtime as endpoint_auth;
//! use endpoint_auth::metadata::ResourceMetadata;
//! let meta = ResourceMetadata::new("https://api.example.com/reports")
//!     .authorization_server("https://idp.example.com/");
//! // §3.1: the well-known path is inserted between the host and the resource's path.
//! assert_eq!(meta.well_known_path(), "/.well-known/oauth-protected-resource/reports");
//! assert_eq!(meta.metadata_url(), "https://api.example.com/.well-known/oauth-protected-resource/reports");
//! ```

use serde::Serialize;

use crate::catalog::ScopeInfo;
use crate::credentials::BearerMethods;

/// The metadata document (RFC 9728 §2), served as `application/json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ResourceMetadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<&'static str>,
    /// Algorithms the resource signs *responses* with (RFC 9728 §2); empty unless set, since
    /// this library does not sign responses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource_signing_alg_values_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
}

impl ResourceMetadata {
    /// Metadata for the resource identifier `resource` (an https URL without query or
    /// fragment; http for loopback development).
    pub fn new(resource: impl Into<String>) -> Self {
        ResourceMetadata {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: BearerMethods::default().supported(),
            resource_signing_alg_values_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
        }
    }
    /// Adds an authorization server (issuer identifier).
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }
    /// Adds the `iss` of every issuer `config` trusts (RFC 9728 `authorization_servers`
    /// lists each authorization server whose tokens the resource accepts), in configuration
    /// order. An issuer configured with `accept_any_issuer` has none to list.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// # use endpoint_auth::{Algorithm, AuthConfig, Key};
    /// use endpoint_auth::metadata::ResourceMetadata;
    /// # let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/rsa-public.pem")).unwrap();
    /// let auth = AuthConfig::builder()
    ///     .realm("reports")
    ///     .issuer("https://idp.example.com/")
    ///     .audience("reports-api")
    ///     .key(Key::rsa_pem(Algorithm::RS256, &pem)?)
    ///     .build()?;
    /// let meta = ResourceMetadata::new("https://api.example.com/").authorization_servers_of(&auth);
    /// assert!(meta.to_json().contains(r#""authorization_servers":["https://idp.example.com/"]"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorization_servers_of(mut self, config: &crate::AuthConfig) -> Self {
        for iss in config.issuers().iter().filter_map(|i| i.iss()) {
            if !self.authorization_servers.iter().any(|s| s == iss) {
                self.authorization_servers.push(iss.to_owned());
            }
        }
        self
    }
    /// `scopes_supported` from the scope catalog.
    pub fn scopes(mut self, catalog: &[ScopeInfo]) -> Self {
        self.scopes_supported = catalog.iter().map(|s| s.scope().to_owned()).collect();
        self
    }
    /// `bearer_methods_supported` from the configured methods.
    pub fn bearer_methods(mut self, methods: BearerMethods) -> Self {
        self.bearer_methods_supported = methods.supported();
        self
    }
    /// `resource_signing_alg_values_supported`, for resources that sign their responses.
    pub fn resource_signing_algs(
        mut self,
        algs: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.resource_signing_alg_values_supported = algs.into_iter().map(Into::into).collect();
        self
    }
    /// `resource_name`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }
    /// `resource_documentation` (e.g. the OpenAPI document's URL).
    pub fn documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }
    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    fn split(&self) -> (&str, &str) {
        let after_scheme = self.resource.find("://").map_or(0, |i| i + 3);
        match self.resource[after_scheme..].find('/') {
            Some(i) => self.resource.split_at(after_scheme + i),
            None => (self.resource.as_str(), ""),
        }
    }

    /// The path the document is served at: `/.well-known/oauth-protected-resource` plus the
    /// resource's path, if any (RFC 9728 §3.1).
    pub fn well_known_path(&self) -> String {
        let (_, path) = self.split();
        format!(
            "/.well-known/oauth-protected-resource{}",
            path.trim_end_matches('/')
        )
    }

    /// The document's URL, for `resource_metadata` in challenges.
    pub fn metadata_url(&self) -> String {
        let (origin, _) = self.split();
        format!("{origin}{}", self.well_known_path())
    }

    /// The JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
