//! The scope catalog: the scopes a service declares once, each with a description, so that
//! `#[requires]` can reject an undeclared scope at compile time and API documentation
//! (OpenAPI, RFC 9728 `scopes_supported`) can list them.
//!
//! The facade's `scopes!` macro generates a crate's catalog as a `SCOPES` constant of
//! [`ScopeInfo`] values.

/// One declared scope and what it grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeInfo {
    scope: &'static str,
    description: &'static str,
}

impl ScopeInfo {
    /// A declared scope. `scopes!` checks at compile time that `scope` is an RFC 6749 §3.3
    /// scope-token and that the description is not empty.
    pub const fn new(scope: &'static str, description: &'static str) -> Self {
        ScopeInfo { scope, description }
    }
    /// The scope token, e.g. `write:reports`.
    pub const fn scope(&self) -> &'static str {
        self.scope
    }
    /// The human-readable description.
    pub const fn description(&self) -> &'static str {
        self.description
    }
}

/// One trusted issuer's name as the service declares it, and who its users are; the
/// facade's `issuers!` macro generates a crate's issuer catalog as an `ISSUERS` constant of
/// these, checked like scopes by `#[requires(issuer = "…")]`. The configuration gives each
/// name its `iss`, keys and settings ([`TrustedIssuer`](crate::TrustedIssuer)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IssuerInfo {
    name: &'static str,
    description: &'static str,
}

impl IssuerInfo {
    /// A declared issuer name. `issuers!` checks at compile time that the name follows
    /// [`is_issuer_name`](crate::issuer::is_issuer_name) and that the description is not
    /// empty.
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        IssuerInfo { name, description }
    }
    /// The name, e.g. `partners`.
    pub const fn name(&self) -> &'static str {
        self.name
    }
    /// The human-readable description.
    pub const fn description(&self) -> &'static str {
        self.description
    }
}

/// One declared role and what it allows; the facade's `roles!` macro generates a crate's role
/// catalog as a `ROLES` constant of these, checked like scopes by `#[requires(role = "…")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoleInfo {
    role: &'static str,
    description: &'static str,
}

impl RoleInfo {
    /// A declared role. `roles!` checks at compile time that the name is non-empty visible
    /// ASCII or spaces (no `"` or `\`, no surrounding spaces) and that the description is
    /// not empty.
    pub const fn new(role: &'static str, description: &'static str) -> Self {
        RoleInfo { role, description }
    }
    /// The role's name, as the token carries it, e.g. `reports-admin`.
    pub const fn role(&self) -> &'static str {
        self.role
    }
    /// The human-readable description.
    pub const fn description(&self) -> &'static str {
        self.description
    }
}
