//! Rendering `WWW-Authenticate: Bearer …` values (RFC 6750 §3, RFC 9110 §11.6.1).
//!
//! Parameters always come in one order: `realm`, `error`, `error_description`, `scope`,
//! `acr_values`, `max_age` (RFC 9470), `resource_metadata`. Every value is a quoted-string with `"` and `\` escaped; anything that
//! is not visible ASCII or a space is replaced, so no CR/LF or control byte can ever reach a
//! header.

use std::fmt::Write;

/// The parameters of one Bearer challenge.
#[derive(Debug, Default, Clone, Copy)]
pub struct Challenge<'a> {
    /// `realm`: the protection space (always present).
    pub realm: &'a str,
    /// `error`: an RFC 6750 §3.1 error code; absent when no credentials were sent.
    pub error: Option<&'a str>,
    /// `error_description`: human-readable; reduced to RFC 6749 NQSCHAR.
    pub error_description: Option<&'a str>,
    /// `scope`: space-delimited scope tokens that would satisfy the request.
    pub scope: Option<&'a str>,
    /// `acr_values` (RFC 9470): space-delimited authentication context classes, any of which
    /// would satisfy the request.
    pub acr_values: Option<&'a str>,
    /// `max_age` (RFC 9470): the largest acceptable time since the user authenticated.
    pub max_age: Option<u64>,
    /// `resource_metadata`: the RFC 9728 metadata URL.
    pub resource_metadata: Option<&'a str>,
}

impl Challenge<'_> {
    /// Renders the full header value, e.g. `Bearer realm="api", error="invalid_token"`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(64);
        out.push_str("Bearer ");
        push_param(&mut out, "realm", self.realm, false);
        if let Some(error) = self.error {
            push_param(&mut out, "error", error, true);
        }
        if let Some(description) = self.error_description {
            push_param(&mut out, "error_description", &nqschar(description), true);
        }
        if let Some(scope) = self.scope.filter(|s| !s.is_empty()) {
            push_param(&mut out, "scope", scope, true);
        }
        if let Some(acr) = self.acr_values.filter(|s| !s.is_empty()) {
            push_param(&mut out, "acr_values", acr, true);
        }
        if let Some(max_age) = self.max_age {
            push_param(&mut out, "max_age", &max_age.to_string(), true);
        }
        if let Some(url) = self.resource_metadata {
            push_param(&mut out, "resource_metadata", url, true);
        }
        out
    }
}

fn push_param(out: &mut String, name: &str, value: &str, comma: bool) {
    if comma {
        out.push_str(", ");
    }
    out.push_str(name);
    out.push('=');
    push_quoted(out, value);
}

/// Appends `value` as an RFC 9110 quoted-string. `"` and `\` are escaped; bytes that a
/// quoted-string may not carry (controls, DEL, non-ASCII) become `?`.
pub(crate) fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' | '\t' | '!'..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
}

/// Reduces text to RFC 6749 NQSCHAR (`%x20-21 / %x23-5B / %x5D-7E`): `"` becomes `'`, `\`
/// becomes `/`, and any other character outside the set becomes `?` (runs of whitespace fold
/// into one space).
pub fn nqschar(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_space = false;
    for c in text.chars() {
        let mapped = match c {
            '"' => '\'',
            '\\' => '/',
            c if c.is_whitespace() => ' ',
            ' '..='~' => c,
            _ => '?',
        };
        if mapped == ' ' && last_space {
            continue;
        }
        last_space = mapped == ' ';
        out.push(mapped);
    }
    out.trim().to_owned()
}

/// Whether `value` can be used as-is inside a quoted-string without escaping or replacement:
/// visible ASCII and spaces, no `"` or `\`.
pub(crate) fn is_plain_quotable(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b' ' || (b.is_ascii_graphic() && b != b'"' && b != b'\\'))
}

/// Joins scope tokens into the space-delimited form used by `scope` parameters.
pub(crate) fn join_scopes<'a>(scopes: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, s) in scopes.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{s}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_params_in_contract_order() {
        let c = Challenge {
            realm: "api",
            error: Some("insufficient_scope"),
            error_description: Some("needs more"),
            scope: Some("a b"),
            resource_metadata: Some("https://r/.well-known/oauth-protected-resource"),
            ..Default::default()
        };
        assert_eq!(
            c.render(),
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"needs more\", \
             scope=\"a b\", resource_metadata=\"https://r/.well-known/oauth-protected-resource\""
        );
        let step_up = Challenge {
            realm: "api",
            error: Some("insufficient_user_authentication"),
            error_description: Some("a different or more recent authentication is required"),
            acr_values: Some("urn:example:mfa urn:example:hwk"),
            max_age: Some(300),
            resource_metadata: Some("https://r/m"),
            ..Default::default()
        };
        assert_eq!(
            step_up.render(),
            "Bearer realm=\"api\", error=\"insufficient_user_authentication\", \
             error_description=\"a different or more recent authentication is required\", \
             acr_values=\"urn:example:mfa urn:example:hwk\", max_age=\"300\", \
             resource_metadata=\"https://r/m\""
        );
    }

    #[test]
    fn bare_challenge_has_only_realm() {
        let c = Challenge {
            realm: "api",
            ..Default::default()
        };
        assert_eq!(c.render(), "Bearer realm=\"api\"");
    }

    #[test]
    fn quotes_and_backslashes_are_escaped_and_controls_replaced() {
        let mut s = String::new();
        push_quoted(&mut s, "a\"b\\c\r\nd\u{e9}");
        assert_eq!(s, "\"a\\\"b\\\\c??d?\"");
    }

    #[test]
    fn descriptions_are_reduced_to_nqschar() {
        assert_eq!(nqschar("bad \"x\"\\y\r\n\tz\u{1F600}"), "bad 'x'/y z?");
        assert!(nqschar("\u{0}\u{7f}").chars().all(|c| c == '?'));
    }
}
