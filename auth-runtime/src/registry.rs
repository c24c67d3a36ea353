//! The registry of declared handlers: what `#[requires]` and `#[public]` submit (through
//! `inventory`) at compile time, read at run time by [`crate::openapi`] (documents) and by
//! the middleware's deny-by-default mode ([`AuthConfigBuilder::deny_by_default`](crate::AuthConfigBuilder::deny_by_default)).

use crate::policy::Requirement;

/// A handler protected by `#[requires]`, as the attribute registers it.
#[derive(Debug)]
pub struct ProtectedHandler {
    handler: &'static str,
    module: &'static str,
    methods: &'static [&'static str],
    path: Option<&'static str>,
    requirement: Requirement,
}

inventory::collect!(ProtectedHandler);

impl ProtectedHandler {
    /// Used by the generated code.
    #[doc(hidden)]
    pub const fn new(
        handler: &'static str,
        module: &'static str,
        methods: &'static [&'static str],
        path: Option<&'static str>,
        requirement: Requirement,
    ) -> Self {
        ProtectedHandler {
            handler,
            module,
            methods,
            path,
            requirement,
        }
    }
    /// The handler's function name (utoipa's default operationId).
    pub fn handler(&self) -> &'static str {
        self.handler
    }
    /// The module it is declared in.
    pub fn module(&self) -> &'static str {
        self.module
    }
    /// HTTP methods, when a route attribute was visible to `#[requires]`.
    pub fn methods(&self) -> &'static [&'static str] {
        self.methods
    }
    /// The route path (actix syntax), when visible to `#[requires]`.
    pub fn path(&self) -> Option<&'static str> {
        self.path
    }
    /// What it requires.
    pub fn requirement(&self) -> Requirement {
        self.requirement
    }
}

/// A handler declared deliberately open with `#[public]`, as the attribute registers it.
#[derive(Debug)]
pub struct PublicHandler {
    handler: &'static str,
    module: &'static str,
    methods: &'static [&'static str],
    path: Option<&'static str>,
    reason: Option<&'static str>,
}

inventory::collect!(PublicHandler);

impl PublicHandler {
    /// Used by the generated code.
    #[doc(hidden)]
    pub const fn new(
        handler: &'static str,
        module: &'static str,
        methods: &'static [&'static str],
        path: Option<&'static str>,
        reason: Option<&'static str>,
    ) -> Self {
        PublicHandler {
            handler,
            module,
            methods,
            path,
            reason,
        }
    }
    /// The handler's function name (utoipa's default operationId).
    pub fn handler(&self) -> &'static str {
        self.handler
    }
    /// The module it is declared in.
    pub fn module(&self) -> &'static str {
        self.module
    }
    /// HTTP methods, when a route attribute was visible to `#[public]`.
    pub fn methods(&self) -> &'static [&'static str] {
        self.methods
    }
    /// The route path (actix syntax), when visible to `#[public]`.
    pub fn path(&self) -> Option<&'static str> {
        self.path
    }
    /// Why it is open, when the declaration says.
    pub fn reason(&self) -> Option<&'static str> {
        self.reason
    }
}

/// Every `#[public]` handler linked into this program, sorted by module and name.
pub fn public_handlers() -> Vec<&'static PublicHandler> {
    let mut all: Vec<_> = inventory::iter::<PublicHandler>.into_iter().collect();
    all.sort_by_key(|h| (h.module, h.handler));
    all
}

/// Every protected handler linked into this program, sorted by module and name.
pub fn protected_handlers() -> Vec<&'static ProtectedHandler> {
    let mut all: Vec<_> = inventory::iter::<ProtectedHandler>.into_iter().collect();
    all.sort_by_key(|h| (h.module, h.handler));
    all
}
