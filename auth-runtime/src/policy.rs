//! Requirements: what an endpoint demands of a token's scopes and of the authentication
//! behind it.
//!
//! A [`Requirement`] is a small tree (`authenticated`, a scope, an RFC 9470 authentication
//! context `acr` or `max_age`, `all(..)`, `any(..)`) that can be built in `const` context,
//! which is how `#[requires]` emits it. Evaluation walks the tree without allocating; only a
//! failure computes the disjunctive normal form to choose the hint defined in CONFORMANCE.md:
//! the scope set of the alternative with the fewest scopes missing from the token (ties broken
//! by declaration order), or, when the scopes are there but the authentication is not strong
//! or recent enough, the `acr_values` and `max_age` a new authentication must meet.

use std::fmt;
use std::marker::PhantomData;

/// What an endpoint requires of the caller's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Requirement {
    /// Any valid token.
    Authenticated,
    /// The token must carry this scope.
    Scope(&'static str),
    /// The token must carry this role (read from the configured
    /// [`RoleSource`](crate::RoleSource)).
    Role(&'static str),
    /// The token's claim `name` (a top-level member) must equal the value.
    Claim(&'static str, ClaimValue),
    /// RFC 9470: the token's `acr` claim must be this authentication context class.
    Acr(&'static str),
    /// The token must come from the trusted issuer of this configured name
    /// ([`TrustedIssuer`](crate::TrustedIssuer)); refused like a role: 403, no scope hint.
    Issuer(&'static str),
    /// RFC 9470: the user must have authenticated at most this many seconds ago (the token's
    /// `auth_time` claim; a token without one does not satisfy it).
    MaxAge(u64),
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
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::{AnyValidToken, Authorized};
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

/// What a [`Requirement::Claim`] compares a claim with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClaimValue {
    /// `true` or `false`: the claim is that JSON boolean.
    Bool(bool),
    /// A string: the claim is that JSON string, exactly.
    Str(&'static str),
    /// An integer: the claim is that JSON number.
    Int(i64),
    /// The request's path parameter of this name (`claim(sub = path.user_id)`): the claim
    /// is a string equal to it, or a number whose decimal form is. A request without the
    /// parameter never matches.
    PathParam(&'static str),
}

impl ClaimValue {
    /// Whether `claim` (absent: `None`) matches; `param` looks up path parameters.
    pub fn matches(
        &self,
        claim: Option<&serde_json::Value>,
        param: &dyn Fn(&str) -> Option<String>,
    ) -> bool {
        use serde_json::Value;
        let Some(claim) = claim else {
            return false;
        };
        match self {
            ClaimValue::Bool(b) => claim.as_bool() == Some(*b),
            ClaimValue::Str(s) => claim.as_str() == Some(*s),
            ClaimValue::Int(i) => claim.as_i64() == Some(*i),
            ClaimValue::PathParam(name) => match (param(name), claim) {
                (Some(p), Value::String(s)) => *s == p,
                (Some(p), Value::Number(n)) => n.to_string() == p,
                _ => false,
            },
        }
    }
}

impl fmt::Display for ClaimValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimValue::Bool(b) => write!(f, "{b}"),
            ClaimValue::Str(s) => write!(f, "{s:?}"),
            ClaimValue::Int(i) => write!(f, "{i}"),
            ClaimValue::PathParam(p) => write!(f, "path.{p}"),
        }
    }
}

/// The failed outcome of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsatisfied {
    /// The full scope set of the alternative closest to what the token holds.
    pub hint: Vec<&'static str>,
}

/// What a requirement is checked against: the token's scopes, roles, claims and
/// authentication context, and the request's path parameters.
#[derive(Clone, Copy)]
pub struct Presented<'a, S> {
    /// The granted scopes.
    pub scopes: &'a [S],
    /// The token's roles.
    pub roles: &'a [S],
    /// The token's claims (`None`: none are read, every claim requirement fails).
    pub claims: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// The request's path parameters, by name.
    pub path_param: &'a dyn Fn(&str) -> Option<String>,
    /// The `acr` claim (RFC 9470 authentication context class).
    pub acr: Option<&'a str>,
    /// The configured name of the trusted issuer that verified the token
    /// ([`Verified::trusted_issuer`](crate::Verified::trusted_issuer)).
    pub issuer: Option<&'a str>,
    /// The `auth_time` claim, seconds since the epoch.
    pub auth_time: Option<u64>,
    /// The current time, seconds since the epoch.
    pub now: u64,
}

impl<S: fmt::Debug> fmt::Debug for Presented<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Claim values are personal data: only their names.
        f.debug_struct("Presented")
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .field("claims", &self.claims.map(|c| c.keys().collect::<Vec<_>>()))
            .field("acr", &self.acr)
            .field("auth_time", &self.auth_time)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// Why a [`Requirement::check`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmet {
    /// The scopes do not satisfy the requirement, and more scope would (403
    /// `insufficient_scope` with the hint).
    Scope(Unsatisfied),
    /// Every alternative needs a role, a claim value or an issuer the token lacks: no scope
    /// would help (403 `insufficient_scope` without a scope hint).
    Grant,
    /// The scopes would, but the authentication behind the token is not strong or recent
    /// enough (RFC 9470: 401 `insufficient_user_authentication`).
    Authentication(StepUp),
}

/// What a new authentication must meet (RFC 9470 §3): the challenge's `acr_values` and
/// `max_age`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepUp {
    /// Acceptable authentication context classes, in declaration order (empty: any).
    pub acr_values: Vec<&'static str>,
    /// The largest acceptable time since the user authenticated, in seconds.
    pub max_age: Option<u64>,
}

/// One alternative of the disjunctive normal form, with its authentication context.
#[derive(Debug, Clone, Default)]
struct Alternative {
    scopes: Vec<&'static str>,
    /// Roles and claim comparisons.
    grants: Vec<Requirement>,
    acr: Vec<&'static str>,
    max_age: Option<u64>,
}

impl Alternative {
    fn join(&self, other: &Alternative) -> Alternative {
        let mut joined = self.clone();
        for s in &other.scopes {
            if !joined.scopes.contains(s) {
                joined.scopes.push(s);
            }
        }
        for g in &other.grants {
            if !joined.grants.contains(g) {
                joined.grants.push(*g);
            }
        }
        for a in &other.acr {
            if !joined.acr.contains(a) {
                joined.acr.push(a);
            }
        }
        joined.max_age = match (joined.max_age, other.max_age) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        joined
    }
}

impl Requirement {
    /// Whether every scope and `acr` value it names is an RFC 6749 scope-token (no space,
    /// `"`, `\`, control or non-ASCII byte), recursively. `#[requires]` checks this when it
    /// compiles; the [`Authorized`](crate::Authorized) extractor checks a hand-written
    /// [`RequirementSpec`] when it is compiled for it, so a requirement no token could ever
    /// satisfy (a scope with a space is two scopes on the wire) is a build error, not a
    /// challenge that names the wrong scopes.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use endpoint_auth::Requirement;
    ///
    /// assert!(Requirement::Scope("read:reports").is_well_formed());
    /// assert!(!Requirement::Scope("read reports").is_well_formed());
    /// assert!(!Requirement::Any(&[Requirement::Acr("")]).is_well_formed());
    /// ```
    pub const fn is_well_formed(&self) -> bool {
        match self {
            Requirement::Scope(s) | Requirement::Acr(s) => is_scope_token(s),
            Requirement::All(members) | Requirement::Any(members) => {
                let mut i = 0;
                while i < members.len() {
                    if !members[i].is_well_formed() {
                        return false;
                    }
                    i += 1;
                }
                true
            }
            Requirement::Authenticated
            | Requirement::Role(_)
            | Requirement::Claim(..)
            | Requirement::Issuer(_)
            | Requirement::MaxAge(_) => true,
        }
    }

    /// Whether a token with these scopes satisfies the requirement's scopes (`acr` and
    /// `max_age` count as met: see [`check`](Self::check) for the whole requirement).
    pub fn is_satisfied_by(&self, has: &dyn Fn(&str) -> bool) -> bool {
        self.holds(has, &|_| true)
    }

    /// The requirement's truth with `has` answering for scopes and `context` for `acr` and
    /// `max_age`.
    fn holds(&self, has: &dyn Fn(&str) -> bool, context: &dyn Fn(&Requirement) -> bool) -> bool {
        match self {
            Requirement::Authenticated => true,
            Requirement::Scope(s) => has(s),
            Requirement::Role(_)
            | Requirement::Claim(..)
            | Requirement::Issuer(_)
            | Requirement::Acr(_)
            | Requirement::MaxAge(_) => context(self),
            Requirement::All(members) => members.iter().all(|m| m.holds(has, context)),
            Requirement::Any(members) => members.iter().any(|m| m.holds(has, context)),
        }
    }

    /// Whether a valid token can fall short of the requirement's grants (a scope, role, claim
    /// value or issuer), the refusal that is 403. `authenticated`, and step-up alone (`acr`,
    /// `max_age`, refused with 401), never can.
    pub(crate) fn can_forbid(&self) -> bool {
        !self.holds(&|_| false, &|r| {
            matches!(r, Requirement::Acr(_) | Requirement::MaxAge(_))
        })
    }

    /// Checks the whole requirement: scopes, roles, claims and authentication context. When
    /// the grants (scopes, roles, claims) fall short the answer is [`Unmet::Scope`] (with the
    /// scopes of the closest alternative whose roles and claims the token has) or
    /// [`Unmet::Grant`] (no scope would help); a new authentication would not add them. Only
    /// when the grants would do is it [`Unmet::Authentication`], with what a new
    /// authentication must meet.
    pub fn check<S: AsRef<str>>(&self, presented: &Presented<'_, S>) -> Result<(), Unmet> {
        let has = |s: &str| presented.scopes.iter().any(|t| t.as_ref() == s);
        let has_role = |r: &str| presented.roles.iter().any(|t| t.as_ref() == r);
        let has_grant = |r: &Requirement| match r {
            Requirement::Role(role) => has_role(role),
            Requirement::Issuer(name) => presented.issuer == Some(*name),
            Requirement::Claim(name, value) => value.matches(
                presented.claims.and_then(|c| c.get(*name)),
                presented.path_param,
            ),
            _ => true,
        };
        let context = |r: &Requirement| match r {
            Requirement::Role(_) | Requirement::Claim(..) | Requirement::Issuer(_) => has_grant(r),
            Requirement::Acr(acr) => presented.acr == Some(*acr),
            Requirement::MaxAge(max) => presented
                .auth_time
                .is_some_and(|t| presented.now.saturating_sub(t) <= *max),
            _ => true,
        };
        if self.holds(&has, &context) {
            return Ok(());
        }
        let alternatives = self.dnf();
        if !self.holds(&has, &has_grant) {
            // The closest alternative a scope could complete: its roles and claims are held.
            return match alternatives
                .iter()
                .filter(|alt| alt.grants.iter().all(has_grant))
                .min_by_key(|alt| alt.scopes.iter().filter(|s| !has(s)).count())
            {
                Some(alt) => Err(Unmet::Scope(Unsatisfied {
                    hint: alt.scopes.clone(),
                })),
                None => Err(Unmet::Grant),
            };
        }
        // The grants suffice: ask for what the alternatives they satisfy still lack.
        let mut step_up = StepUp::default();
        for alt in alternatives {
            if !alt.scopes.iter().all(|s| has(s)) || !alt.grants.iter().all(has_grant) {
                continue;
            }
            // The whole context of the alternative, met parts included: a new authentication
            // asked only for `max_age` may come back with a weaker `acr`.
            for a in &alt.acr {
                if !step_up.acr_values.contains(a) {
                    step_up.acr_values.push(a);
                }
            }
            if let Some(max) = alt.max_age {
                step_up.max_age = Some(step_up.max_age.map_or(max, |m| m.min(max)));
            }
        }
        Err(Unmet::Authentication(step_up))
    }

    /// Whether any part of the requirement is an authentication context (`acr`, `max_age`).
    pub fn has_step_up(&self) -> bool {
        match self {
            Requirement::Acr(_) | Requirement::MaxAge(_) => true,
            Requirement::All(m) | Requirement::Any(m) => m.iter().any(Requirement::has_step_up),
            _ => false,
        }
    }

    /// Whether the requirement names nothing but scopes (and `authenticated`): then
    /// [`evaluate`](Self::evaluate) decides it, with no claim but the scopes read.
    pub fn scopes_only(&self) -> bool {
        match self {
            Requirement::Authenticated | Requirement::Scope(_) => true,
            Requirement::All(m) | Requirement::Any(m) => m.iter().all(Requirement::scopes_only),
            _ => false,
        }
    }

    /// Whether any part of the requirement compares a claim.
    pub fn has_claims(&self) -> bool {
        match self {
            Requirement::Claim(..) => true,
            Requirement::All(m) | Requirement::Any(m) => m.iter().any(Requirement::has_claims),
            _ => false,
        }
    }

    /// Every role named anywhere in the requirement, in declaration order, once each.
    pub fn roles(&self) -> Vec<&'static str> {
        fn walk(r: &Requirement, out: &mut Vec<&'static str>) {
            match r {
                Requirement::Role(role) if !out.contains(role) => out.push(role),
                Requirement::All(m) | Requirement::Any(m) => m.iter().for_each(|r| walk(r, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// Evaluates the scopes against a token's scopes; on failure returns the scope hint.
    /// `acr` and `max_age` count as met: see [`check`](Self::check) for the whole requirement.
    pub fn evaluate<S: AsRef<str>>(&self, scopes: &[S]) -> Result<(), Unsatisfied> {
        let has = |s: &str| scopes.iter().any(|t| t.as_ref() == s);
        // One scope, the commonest requirement: decided without walking the tree.
        let satisfied = match self {
            Requirement::Scope(s) => has(s),
            _ => self.is_satisfied_by(&has),
        };
        if satisfied {
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
    /// `Authenticated` is one alternative with no scopes; `Any(&[])` has no alternatives;
    /// `acr` and `max_age` add no scope.
    pub fn alternatives(&self) -> Vec<Vec<&'static str>> {
        let mut out: Vec<Vec<&'static str>> = self.dnf().into_iter().map(|a| a.scopes).collect();
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

    /// The disjunctive normal form with each alternative's authentication context.
    fn dnf(&self) -> Vec<Alternative> {
        match self {
            Requirement::Authenticated => vec![Alternative::default()],
            Requirement::Scope(s) => vec![Alternative {
                scopes: vec![*s],
                ..Alternative::default()
            }],
            Requirement::Role(_) | Requirement::Claim(..) | Requirement::Issuer(_) => {
                vec![Alternative {
                    grants: vec![*self],
                    ..Alternative::default()
                }]
            }
            Requirement::Acr(a) => vec![Alternative {
                acr: vec![*a],
                ..Alternative::default()
            }],
            Requirement::MaxAge(max) => vec![Alternative {
                max_age: Some(*max),
                ..Alternative::default()
            }],
            Requirement::Any(members) => members.iter().flat_map(|m| m.dnf()).collect(),
            Requirement::All(members) => {
                let mut acc = vec![Alternative::default()];
                for member in members.iter() {
                    let alts = member.dnf();
                    let mut next = Vec::with_capacity(acc.len() * alts.len());
                    for left in &acc {
                        for right in &alts {
                            next.push(left.join(right));
                        }
                    }
                    acc = next;
                }
                acc
            }
        }
    }

    /// The alternatives of [`alternatives`](Self::alternatives) with the trusted issuer each
    /// is limited to (`None`: any). An alternative that names two different issuers can never
    /// be met and is left out; duplicates are removed.
    pub fn issuer_alternatives(&self) -> Vec<(Option<&'static str>, Vec<&'static str>)> {
        let mut out: Vec<(Option<&'static str>, Vec<&'static str>)> = Vec::new();
        for alt in self.dnf() {
            let mut issuers = alt.grants.iter().filter_map(|g| match g {
                Requirement::Issuer(name) => Some(*name),
                _ => None,
            });
            let issuer = issuers.next();
            if issuers.any(|other| Some(other) != issuer) {
                continue;
            }
            let mut key = alt.scopes.clone();
            key.sort_unstable();
            if !out.iter().any(|(i, s)| {
                let mut s = s.clone();
                s.sort_unstable();
                *i == issuer && s == key
            }) {
                out.push((issuer, alt.scopes));
            }
        }
        out
    }

    /// Every issuer named anywhere in the requirement, in declaration order, once each.
    pub fn issuers(&self) -> Vec<&'static str> {
        fn walk(r: &Requirement, out: &mut Vec<&'static str>) {
            match r {
                Requirement::Issuer(name) if !out.contains(name) => out.push(name),
                Requirement::All(m) | Requirement::Any(m) => m.iter().for_each(|r| walk(r, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
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
            Requirement::Authenticated
            | Requirement::Role(_)
            | Requirement::Claim(..)
            | Requirement::Issuer(_)
            | Requirement::Acr(_)
            | Requirement::MaxAge(_) => {}
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
            Requirement::Role(r) => write!(f, "role = {r:?}"),
            Requirement::Claim(name, value) => write!(f, "claim({name} = {value})"),
            Requirement::Acr(a) => write!(f, "acr = {a:?}"),
            Requirement::Issuer(i) => write!(f, "issuer = {i:?}"),
            Requirement::MaxAge(max) => write!(f, "max_age = {max}"),
            Requirement::All(m) => list(f, "all", m),
            Requirement::Any(m) => list(f, "any", m),
        }
    }
}

/// Whether `s` is an RFC 6749 §3.3 scope-token: `1*( %x21 / %x23-5B / %x5D-7E )`.
pub const fn is_scope_token(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !matches!(bytes[i], 0x21 | 0x23..=0x5B | 0x5D..=0x7E) {
            return false;
        }
        i += 1;
    }
    !bytes.is_empty()
}

/// Whether `s` is a list of scope-tokens, each separated by one space (the shape of a
/// `scope` or `acr_values` challenge parameter).
pub(crate) fn is_token_list(s: &str) -> bool {
    s.split(' ').all(is_scope_token)
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

/// `max_age = N` of `#[requires]`, as a type: handlers that declare the same shared.
#[doc(hidden)]
pub struct MaxAge<const SECONDS: u64>;

impl<const SECONDS: u64> RequirementSpec for MaxAge<SECONDS> {
    const REQUIREMENT: Requirement = Requirement::MaxAge(SECONDS);
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

    fn presented<'a>(
        scopes: &'a [&'a str],
        acr: Option<&'a str>,
        auth_time: Option<u64>,
    ) -> Presented<'a, &'a str> {
        Presented {
            scopes,
            roles: &[],
            claims: None,
            path_param: &|_| None,
            acr,
            auth_time,
            issuer: None,
            now: 10_000,
        }
    }

    const MFA: Requirement = Acr("urn:example:mfa");
    const HWK: Requirement = Acr("urn:example:hwk");

    #[test]
    fn step_up_needs_the_acr_and_a_recent_enough_auth_time() {
        let r = All(&[WRITE, MFA, Requirement::MaxAge(300)]);
        assert!(r
            .check(&presented(&["write"], Some("urn:example:mfa"), Some(9_800)))
            .is_ok());
        let want = |acr: &[&'static str], max_age| {
            Err(Unmet::Authentication(StepUp {
                acr_values: acr.to_vec(),
                max_age,
            }))
        };
        // Wrong or missing acr, too old, or no auth_time: the alternative's whole context.
        assert_eq!(
            r.check(&presented(&["write"], Some("urn:example:pwd"), Some(9_800))),
            want(&["urn:example:mfa"], Some(300))
        );
        assert_eq!(
            r.check(&presented(&["write"], Some("urn:example:mfa"), Some(9_000))),
            want(&["urn:example:mfa"], Some(300))
        );
        assert_eq!(
            r.check(&presented(&["write"], Some("urn:example:mfa"), None)),
            want(&["urn:example:mfa"], Some(300))
        );
        // Exactly max_age old still counts; an auth_time in the future is not "old".
        assert!(r
            .check(&presented(&["write"], Some("urn:example:mfa"), Some(9_700)))
            .is_ok());
        assert!(r
            .check(&presented(
                &["write"],
                Some("urn:example:mfa"),
                Some(10_020)
            ))
            .is_ok());
    }

    #[test]
    fn missing_scope_is_403_before_any_step_up() {
        let r = All(&[WRITE, MFA]);
        assert_eq!(
            r.check(&presented(&["read"], None, None)),
            Err(Unmet::Scope(Unsatisfied {
                hint: vec!["write"]
            }))
        );
        // The scope hint never names an acr.
        assert_eq!(r.alternatives(), vec![vec!["write"]]);
        assert_eq!(r.scopes(), ["write"]);
    }

    #[test]
    fn step_up_asks_for_every_acr_the_scopes_allow() {
        let r = Any(&[
            All(&[READ, MFA]),
            All(&[READ, HWK]),
            All(&[ADMIN, Requirement::MaxAge(60)]),
        ]);
        assert_eq!(
            r.check(&presented(&["read"], Some("urn:example:pwd"), Some(0))),
            Err(Unmet::Authentication(StepUp {
                acr_values: vec!["urn:example:mfa", "urn:example:hwk"],
                max_age: None,
            }))
        );
        assert!(r
            .check(&presented(&["read"], Some("urn:example:hwk"), None))
            .is_ok());
        // An alternative without any context needs no step-up.
        let open = Any(&[All(&[READ, MFA]), WRITE]);
        assert!(open.check(&presented(&["write"], None, None)).is_ok());
        assert!(open.has_step_up() && !Any(&[READ, WRITE]).has_step_up());
        assert_eq!(
            r.to_string(),
            "any(all(scope = \"read\", acr = \"urn:example:mfa\"), all(scope = \"read\", \
             acr = \"urn:example:hwk\"), all(scope = \"admin\", max_age = 60))"
        );
    }

    #[test]
    fn roles_are_grants_and_the_scope_hint_only_names_what_would_help() {
        const ADMIN_ROLE: Requirement = Role("reports-admin");
        let check = |r: &Requirement, scopes: &[&str], roles: &[&str]| {
            r.check(&Presented {
                scopes,
                roles,
                claims: None,
                path_param: &|_| None,
                acr: None,
                auth_time: None,
                issuer: None,
                now: 0,
            })
        };
        let r = Any(&[ADMIN_ROLE, WRITE]);
        assert!(check(&r, &[], &["reports-admin"]).is_ok());
        assert!(check(&r, &["write"], &[]).is_ok());
        // The scope alternative would help: it is the hint.
        assert_eq!(
            check(&r, &[], &["viewer"]),
            Err(Unmet::Scope(Unsatisfied {
                hint: vec!["write"]
            }))
        );
        // Only a role would help: no scope hint.
        let admin_writer = All(&[ADMIN_ROLE, WRITE]);
        assert_eq!(check(&admin_writer, &["write"], &[]), Err(Unmet::Grant));
        // The role is held, the scope is missing: the scope is the hint.
        assert_eq!(
            check(&admin_writer, &[], &["reports-admin"]),
            Err(Unmet::Scope(Unsatisfied {
                hint: vec!["write"]
            }))
        );
        // Roles come before any step-up.
        let stepped = All(&[ADMIN_ROLE, MFA]);
        assert_eq!(check(&stepped, &[], &[]), Err(Unmet::Grant));
        assert!(matches!(
            check(&stepped, &[], &["reports-admin"]),
            Err(Unmet::Authentication(_))
        ));
        assert!(!r.scopes_only() && Any(&[READ, All(&[WRITE])]).scopes_only());
        assert_eq!(
            All(&[ADMIN_ROLE, Any(&[Role("x"), ADMIN_ROLE])]).roles(),
            ["reports-admin", "x"]
        );
        // Scope-only views treat roles as met.
        assert!(admin_writer.evaluate(&["write"]).is_ok());
        assert_eq!(admin_writer.alternatives(), vec![vec!["write"]]);
    }

    #[test]
    fn scope_token_syntax() {
        assert!(is_scope_token("write:reports"));
        for bad in ["", "a b", "a\"b", "a\\b", "a\u{7f}", "é", "a\tb"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }
}
