//! The route of a handler whose route attribute expanded before ours, read from its source.
//!
//! Attribute macros expand from the outside in, and each one removes itself: below
//! `#[get("/x")]`, `#[requires]` receives the handler without the route attribute (actix has
//! already turned it into a service). Yet the documentation must match the handler to its
//! operation by method and path whatever the order, or a utoipa `operation_id` that is not
//! the function's name makes the handler look undocumented. The attributes are still in the
//! source file, so when none is visible on the handler this module reads the file, finds the
//! function whose attribute list holds ours (by name and line) and reads its route attributes
//! there. Where the file cannot be read or the function found (generated code, `include!`),
//! nothing is guessed: the handler is registered without a route, as before.

use std::path::PathBuf;

use syn::{Item, ItemFn, Stmt};

/// Where an attribute was written: its file on disk and line (1-based).
#[derive(Debug, Clone)]
pub struct Site {
    pub file: PathBuf,
    pub line: usize,
}

impl Site {
    /// The attribute being expanded; `None` when the compiler cannot say where it is on disk
    /// (expanded from another macro, a remapped or virtual file).
    pub fn of_call() -> Option<Site> {
        let span = proc_macro::Span::call_site();
        Some(Site {
            file: span.local_file()?,
            line: span.line(),
        })
    }
}

/// The methods and path of the route attributes on the function `name` whose attributes
/// include the one written at `site`, read from the source file.
pub fn route(site: &Site, name: &str) -> Option<(Vec<String>, String)> {
    let text = std::fs::read_to_string(&site.file).ok()?;
    // Parsed with proc-macro2's own lexer, which knows lines; the compiler's tokens made from
    // a string all carry the call site. Only strings leave this scope.
    let _fallback = Fallback::force();
    let file = syn::parse_file(&text).ok()?;
    let found = find(file.items.iter(), name, site.line)?;
    let (methods, path) = crate::ast::route_of(&found.attrs);
    Some((methods, path?))
}

/// proc-macro2's fallback implementation for the life of the value.
pub struct Fallback;

impl Fallback {
    pub fn force() -> Self {
        proc_macro2::fallback::force();
        Fallback
    }
}

impl Drop for Fallback {
    fn drop(&mut self) {
        // The file's text is kept for its spans until told otherwise.
        proc_macro2::extra::invalidate_current_thread_spans();
        proc_macro2::fallback::unforce();
    }
}

/// The function `name` with an attribute spanning `line`, at any depth: modules, and
/// functions' bodies (handlers declared inside a test function).
fn find<'a>(items: impl Iterator<Item = &'a Item>, name: &str, line: usize) -> Option<&'a ItemFn> {
    for item in items {
        let found = match item {
            Item::Fn(f) if f.sig.ident == name && holds(f, line) => Some(f),
            Item::Fn(f) => find(in_block(&f.block.stmts), name, line),
            Item::Mod(m) => m
                .content
                .as_ref()
                .and_then(|(_, items)| find(items.iter(), name, line)),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn in_block(stmts: &[Stmt]) -> impl Iterator<Item = &Item> {
    stmts.iter().filter_map(|s| match s {
        Stmt::Item(item) => Some(item),
        _ => None,
    })
}

/// Whether one of the function's attributes spans `line`.
fn holds(f: &ItemFn, line: usize) -> bool {
    f.attrs.iter().any(|a| {
        let start = a.pound_token.span.start().line;
        let end = a.bracket_token.span.close().end().line;
        (start..=end).contains(&line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_in(text: &str, line: usize) -> (tempfile_path::TempPath, Site) {
        let file = tempfile_path::TempPath::with(text);
        let site = Site {
            file: file.0.clone(),
            line,
        };
        (file, site)
    }

    /// A file removed when dropped (no dependency for one test helper).
    mod tempfile_path {
        pub struct TempPath(pub std::path::PathBuf);
        impl TempPath {
            pub fn with(text: &str) -> Self {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "endpoint-auth-macros-{}-{}.rs",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::write(&path, text).unwrap();
                TempPath(path)
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    const FILE: &str = r#"
use endpoint_auth::requires;

#[utoipa::path(get, path = "/reports/{id}", operation_id = "fetchReport")]
#[get("/reports/{id}")]
#[requires(scope = "read:reports")]
async fn show(id: web::Path<u32>) -> String { String::new() }

mod admin {
    #[delete("/reports/{id}")]
    #[requires(
        scope = "delete:reports",
    )]
    async fn show() -> &'static str { "" }
}

#[actix_web::test]
async fn inside() {
    #[post("/inner")]
    #[requires(authenticated)]
    async fn show() -> &'static str { "" }
}
"#;

    #[test]
    fn finds_the_route_above_the_attribute() {
        let (_f, site) = site_in(FILE, 6);
        let (methods, path) = route(&site, "show").unwrap();
        assert_eq!(methods, ["GET"]);
        assert_eq!(path, "/reports/{id}");
    }

    #[test]
    fn tells_same_named_functions_apart_by_line() {
        // The second line of a multi-line attribute, in a module.
        let (_f, site) = site_in(FILE, 12);
        assert_eq!(
            route(&site, "show").unwrap(),
            (vec!["DELETE".to_string()], "/reports/{id}".to_string())
        );
        // Inside a function's body.
        let (_f, site) = site_in(FILE, 20);
        assert_eq!(
            route(&site, "show").unwrap(),
            (vec!["POST".to_string()], "/inner".to_string())
        );
    }

    #[test]
    fn guesses_nothing_when_not_found() {
        let (_f, site) = site_in(FILE, 6);
        assert_eq!(route(&site, "other"), None);
        let (_f, site) = site_in(FILE, 2);
        assert_eq!(route(&site, "show"), None);
        let (_f, site) = site_in("fn (", 1);
        assert_eq!(route(&site, "show"), None);
        let missing = Site {
            file: "/nonexistent/endpoint-auth.rs".into(),
            line: 1,
        };
        assert_eq!(route(&missing, "show"), None);
    }
}
