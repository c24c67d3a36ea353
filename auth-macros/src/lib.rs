//! Procedural macros of endpoint-auth (stub until the attribute lands).
