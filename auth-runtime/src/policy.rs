//! Requirements: what an endpoint demands of a token's scopes.
//!
//! A [`Requirement`] is a small tree (`authenticated`, a scope, `all(..)`, `any(..)`) that can
//! be built in `const` context, which is how `#[requires]` emits it. Evaluation walks the tree
//! without allocating; only a failure computes the disjunctive normal form to choose the
//! scope hint defined in CONFORMANCE.md: the alternative with the fewest scopes missing from
//! the token, ties broken by declaration order.

use std::fmt;
use std::marker::PhantomData;

/// What an endpoint requires of the caller's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// Any valid token.
    Authenticated,
    /// The token must carry this scope.
    Scope(&'static str),
    /// Every member must be satisfied. `All(&[])` is the same as `Authenticated`.
    All(&'static [Requirement]),
    /// At least one member must be satisfied. `Any(&[])` can never be satisfied.
    Any(&'static [Requirement]),
}

/// A type that names a requirement, the parameter of [`Authorized`](crate::Authorized).
///
/// `#[requires]` uses [`AnyValidToken`] for `authenticated`, one type per scope that the
/// `scopes!` catalog generates for `scope = "…"`, and for `any`/`all` the structural types
/// `AnyOf<(…)>` / `AllOf<(…)>` of their members (up to 8 per level; only a longer list gets
/// a type of its own), so handlers that declare the same requirement share one extractor type.
pub trait RequirementSpec: 'static {
    /// The requirement.
    const REQUIREMENT: Requirement;
}

/// The stand-in `#[requires]` names for a scope missing from the catalog, next to the
/// compile error that reports it; never part of a program that compiles.
#[doc(hidden)]
pub struct UnknownScope<const N: usize>;

impl<const N: usize> RequirementSpec for UnknownScope<N> {
    const REQUIREMENT: Requirement = Requirement::Any(&[]);
}

/// Any valid token: [`Requirement::Authenticated`].
///
/// ```
/// use endpoint_auth_runtime::{AnyValidToken, Authorized};
///
/// async fn me(caller: Authorized<AnyValidToken>) -> String {
///     caller.subject().unwrap_or("?").to_string()
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AnyValidToken;

impl RequirementSpec for AnyValidToken {
    const REQUIREMENT: Requirement = Requirement::Authenticated;
}

/// The failed outcome of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsatisfied {
    /// The full scope set of the alternative closest to what the token holds.
    pub hint: Vec<&'static str>,
}

impl Requirement {
    /// Whether a token with these scopes satisfies the requirement.
    pub fn is_satisfied_by(&self, has: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Requirement::Authenticated => true,
            Requirement::Scope(s) => has(s),
            Requirement::All(members) => members.iter().all(|m| m.is_satisfied_by(has)),
            Requirement::Any(members) => members.iter().any(|m| m.is_satisfied_by(has)),
        }
    }

    /// Evaluates against a token's scopes; on failure returns the scope hint.
    pub fn evaluate<S: AsRef<str>>(&self, scopes: &[S]) -> Result<(), Unsatisfied> {
        let has = |s: &str| scopes.iter().any(|t| t.as_ref() == s);
        if self.is_satisfied_by(&has) {
            return Ok(());
        }
        let hint = self
            .alternatives()
            .into_iter()
            .min_by_key(|alt| alt.iter().filter(|s| !has(s)).count())
            .unwrap_or_default();
        Err(Unsatisfied { hint })
    }

    /// The requirement in disjunctive normal form: a list of alternatives, each the set of
    /// scopes that together satisfy it, in declaration order, without duplicates.
    /// `Authenticated` is one alternative with no scopes; `Any(&[])` has no alternatives.
    pub fn alternatives(&self) -> Vec<Vec<&'static str>> {
        let mut out = match self {
            Requirement::Authenticated => vec![vec![]],
            Requirement::Scope(s) => vec![vec![*s]],
            Requirement::Any(members) => members.iter().flat_map(|m| m.alternatives()).collect(),
            Requirement::All(members) => {
                let mut acc: Vec<Vec<&'static str>> = vec![vec![]];
                for member in members.iter() {
                    let alts = member.alternatives();
                    let mut next = Vec::with_capacity(acc.len() * alts.len());
                    for left in &acc {
                        for right in &alts {
                            let mut joined = left.clone();
                            for s in right {
                                if !joined.contains(s) {
                                    joined.push(s);
                                }
                            }
                            next.push(joined);
                        }
                    }
                    acc = next;
                }
                acc
            }
        };
        let mut seen: Vec<Vec<&'static str>> = Vec::with_capacity(out.len());
        out.retain(|alt| {
            let mut key = alt.clone();
            key.sort_unstable();
            if seen.contains(&key) {
                false
            } else {
                seen.push(key);
                true
            }
        });
        out
    }

    /// Every scope named anywhere in the requirement, in declaration order, once each.
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.collect_scopes(&mut out);
        out
    }

    fn collect_scopes(&self, out: &mut Vec<&'static str>) {
        match self {
            Requirement::Authenticated => {}
            Requirement::Scope(s) => {
                if !out.contains(s) {
                    out.push(s)
                }
            }
            Requirement::All(m) | Requirement::Any(m) => {
                m.iter().for_each(|r| r.collect_scopes(out))
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, members: &[Requirement]| {
            write!(f, "{name}(")?;
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{m}")?;
            }
            f.write_str(")")
        };
        match self {
            Requirement::Authenticated => f.write_str("authenticated"),
            Requirement::Scope(s) => write!(f, "scope = {s:?}"),
            Requirement::All(m) => list(f, "all", m),
            Requirement::Any(m) => list(f, "any", m),
        }
    }
}

/// Whether `s` is an RFC 6749 §3.3 scope-token: `1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// What `#[requires]`'s extractor accepts: every [`RequirementSpec`], and `()`, which is what rustc puts in
/// place of a catalog lookup that failed to resolve (a crate without `scopes!`). That error
/// is then the only one reported; `()` requires what no token has.
#[doc(hidden)]
pub trait GuardSpec: 'static {
    const REQUIREMENT: Requirement;
}

impl<R: RequirementSpec> GuardSpec for R {
    const REQUIREMENT: Requirement = R::REQUIREMENT;
}

impl GuardSpec for () {
    const REQUIREMENT: Requirement = Requirement::Any(&[]);
}

/// `any(…)` of `#[requires]`, as a type built from its members' types: handlers that
/// declare the same combination share one type, so one instantiation of the extraction code.
#[doc(hidden)]
pub struct AnyOf<T>(PhantomData<fn() -> T>);

/// `all(…)` of `#[requires]`; see [`AnyOf`].
#[doc(hidden)]
pub struct AllOf<T>(PhantomData<fn() -> T>);

macro_rules! combinations {
    ($($member:ident),+) => {
        impl<$($member: GuardSpec),+> GuardSpec for AnyOf<($($member,)+)> {
            const REQUIREMENT: Requirement = Requirement::Any(&[$($member::REQUIREMENT),+]);
        }
        impl<$($member: GuardSpec),+> GuardSpec for AllOf<($($member,)+)> {
            const REQUIREMENT: Requirement = Requirement::All(&[$($member::REQUIREMENT),+]);
        }
    };
}

// Up to eight members per level; `#[requires]` gives a longer list a type of its own.
combinations!(A);
combinations!(A, B);
combinations!(A, B, C);
combinations!(A, B, C, D);
combinations!(A, B, C, D, E);
combinations!(A, B, C, D, E, F);
combinations!(A, B, C, D, E, F, G);
combinations!(A, B, C, D, E, F, G, H);

#[cfg(test)]
mod tests {
    use super::Requirement::*;
    use super::*;

    const READ: Requirement = Scope("read");
    const WRITE: Requirement = Scope("write");
    const ADMIN: Requirement = Scope("admin");
    const EXPORT: Requirement = Scope("export");

    #[test]
    fn all_hint_is_the_full_set() {
        let r = All(&[WRITE, ADMIN]);
        assert_eq!(r.evaluate(&["write"]).unwrap_err().hint, ["write", "admin"]);
        assert!(r.evaluate(&["admin", "write"]).is_ok());
    }

    #[test]
    fn any_hint_is_the_closest_alternative_ties_by_declaration_order() {
        let r = Any(&[All(&[READ, WRITE, ADMIN]), All(&[EXPORT, ADMIN])]);
        // Holding read+write: first alternative misses 1, second misses 2.
        assert_eq!(
            r.evaluate(&["read", "write"]).unwrap_err().hint,
            ["read", "write", "admin"]
        );
        // Holding nothing: first misses 3, second misses 2.
        assert_eq!(
            r.evaluate::<&str>(&[]).unwrap_err().hint,
            ["export", "admin"]
        );
        // Tie: both miss one scope → first declared wins.
        let tie = Any(&[READ, EXPORT]);
        assert_eq!(tie.evaluate(&["other"]).unwrap_err().hint, ["read"]);
    }

    #[test]
    fn dnf_distributes_and_deduplicates() {
        let r = All(&[Any(&[READ, WRITE]), Any(&[READ, ADMIN])]);
        assert_eq!(
            r.alternatives(),
            vec![
                vec!["read"],
                vec!["read", "admin"],
                vec!["write", "read"],
                vec!["write", "admin"]
            ]
        );
        assert_eq!(Authenticated.alternatives(), vec![Vec::<&str>::new()]);
        assert!(Any(&[]).alternatives().is_empty());
        assert!(Any(&[]).evaluate(&["x"]).is_err());
    }

    #[test]
    fn scope_token_syntax() {
        assert!(is_scope_token("write:reports"));
        for bad in ["", "a b", "a\"b", "a\\b", "a\u{7f}", "é", "a\tb"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }
}
