//! The registry of declared handlers: what `#[requires]` and `#[public]` submit (through
//! `inventory`) at compile time, read at run time by [`crate::openapi`] (documents) and by
//! the middleware's deny-by-default mode ([`AuthConfigBuilder::deny_by_default`](crate::AuthConfigBuilder::deny_by_default)).

use crate::policy::Requirement;

/// A handler as a declaration registers it: where it is and which route it serves (when a
/// route is written on it: actix's route attribute or `#[utoipa::path]`, above or below the
/// declaration), with what the declaration says of access (`D`).
#[derive(Debug)]
pub struct Declared<D: 'static> {
    handler: &'static str,
    module: &'static str,
    methods: &'static [&'static str],
    path: Option<&'static str>,
    declaration: D,
}

/// A handler protected by `#[requires]`: its requirement and checks.
pub type ProtectedHandler = Declared<Protection>;

/// What `#[requires]` declares of a handler: the requirement, and the names of its checks
/// (`check = …`), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    requirement: Requirement,
    checks: &'static [&'static str],
}

impl Protection {
    /// Used by the generated code.
    #[doc(hidden)]
    pub const fn new(requirement: Requirement, checks: &'static [&'static str]) -> Self {
        Protection {
            requirement,
            checks,
        }
    }
}

/// A handler declared deliberately open with `#[public]`: the reason, when given, and
/// whether it reads the caller when there is one.
pub type PublicHandler = Declared<PublicDeclaration>;

/// What `#[public]` declares of a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicDeclaration {
    reason: Option<&'static str>,
    optional_caller: bool,
}

impl PublicDeclaration {
    /// Used by the generated code.
    #[doc(hidden)]
    pub const fn new(reason: Option<&'static str>, optional_caller: bool) -> Self {
        PublicDeclaration {
            reason,
            optional_caller,
        }
    }
}

inventory::collect!(ProtectedHandler);
inventory::collect!(PublicHandler);

impl<D> Declared<D> {
    /// Used by the generated code.
    #[doc(hidden)]
    pub const fn new(
        handler: &'static str,
        module: &'static str,
        methods: &'static [&'static str],
        path: Option<&'static str>,
        declaration: D,
    ) -> Self {
        Declared {
            handler,
            module,
            methods,
            path,
            declaration,
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
    /// HTTP methods, when a route attribute was visible to the declaration.
    pub fn methods(&self) -> &'static [&'static str] {
        self.methods
    }
    /// The route path (actix syntax), when one is written on the handler.
    pub fn path(&self) -> Option<&'static str> {
        self.path
    }
    /// `module::handler`, for reports.
    pub(crate) fn label(&self) -> String {
        format!("{}::{}", self.module, self.handler)
    }
}

impl ProtectedHandler {
    /// What it requires.
    pub fn requirement(&self) -> Requirement {
        self.declaration.requirement
    }
    /// The checks (`check = …`) it runs after the requirement, by the name written in the
    /// attribute, in order.
    pub fn checks(&self) -> &'static [&'static str] {
        self.declaration.checks
    }
}

impl PublicHandler {
    /// Why it is open, when the declaration says.
    pub fn reason(&self) -> Option<&'static str> {
        self.declaration.reason
    }
    /// Whether it takes a [`MaybePrincipal`](crate::MaybePrincipal): open to anonymous
    /// callers, and reading the caller when there is one (optional authentication).
    pub fn optional_caller(&self) -> bool {
        self.declaration.optional_caller
    }
}

/// Every registered handler of one kind linked into this program, sorted by module and name.
fn all<D>() -> Vec<&'static Declared<D>>
where
    Declared<D>: inventory::Collect,
{
    let mut all: Vec<_> = inventory::iter::<Declared<D>>.into_iter().collect();
    all.sort_by_key(|h| (h.module, h.handler));
    all
}

/// Every `#[public]` handler linked into this program, sorted by module and name.
pub fn public_handlers() -> Vec<&'static PublicHandler> {
    all()
}

/// Every protected handler linked into this program, sorted by module and name.
pub fn protected_handlers() -> Vec<&'static ProtectedHandler> {
    all()
}
