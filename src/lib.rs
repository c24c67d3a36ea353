//! endpoint-auth (facade; docs land with the attribute).
pub use endpoint_auth_runtime::*;

#[doc(hidden)]
pub mod __private {
    pub use endpoint_auth_runtime::{Authorized, NoExtraClaims, Requirement, RequirementSpec};
}
