//! Finding the access token (RFC 6750 §2).
//!
//! The Authorization header is always read (§2.1). The form-encoded body (§2.2) and the URI
//! query (§2.3) are off by default and enabled through [`BearerMethods`]. A token presented by
//! two methods, or two Authorization headers, is an `invalid_request` (§2).

use std::borrow::Cow;

use crate::error::{AuthError, Reason};

/// Which token transport methods are accepted besides the Authorization header.
///
/// RFC 6750 §2.3 says the query method SHOULD NOT be used (URLs end up in logs and
/// `Referer` headers); both extra methods are opt-in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BearerMethods {
    /// Accept `access_token` in the URI query (RFC 6750 §2.3).
    pub query: bool,
    /// Accept `access_token` in an `application/x-www-form-urlencoded` body (RFC 6750 §2.2).
    pub form_body: bool,
}

impl BearerMethods {
    /// The names used for RFC 9728 `bearer_methods_supported`.
    pub fn supported(&self) -> Vec<&'static str> {
        let mut out = vec!["header"];
        if self.form_body {
            out.push("body");
        }
        if self.query {
            out.push("query");
        }
        out
    }
}

/// Parses the Authorization header field values of a request.
///
/// Returns `Ok(None)` when no bearer credentials are present (no header, an empty value, or
/// another scheme such as `Basic`), `Ok(Some(token))` for a well-formed `Bearer` credential,
/// and `invalid_request` for everything else.
pub fn parse_authorization<'a, I>(values: I) -> Result<Option<&'a str>, AuthError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    parse_authorization_unchecked(values)?
        .map(check_token)
        .transpose()
}

/// Parses one Authorization field value; see [`parse_authorization`].
pub fn parse_authorization_value(value: &[u8]) -> Result<Option<&str>, AuthError> {
    bearer_candidate(value)?.map(check_token).transpose()
}

/// [`parse_authorization`] without the last step, the b64token syntax of the token, which
/// [`check_token`] checks: a token that matches, byte for byte, one verified before is known
/// to pass it.
pub(crate) fn parse_authorization_unchecked<'a, I>(values: I) -> Result<Option<&'a [u8]>, AuthError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut values = values.into_iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::new(
            Reason::MultipleHeaders,
            "more than one Authorization header was sent",
        ));
    }
    bearer_candidate(value)
}

/// The scheme, the separator and the token's place in one field value; the token itself is
/// left to [`check_token`].
fn bearer_candidate(value: &[u8]) -> Result<Option<&[u8]>, AuthError> {
    let value = trim_ows(value);
    // The spelling nearly every client sends, compared as one constant; any other (another
    // case, more spaces, a tab) takes the general path below, to the same result.
    if let Some(token) = value.strip_prefix(b"Bearer ") {
        if token.first().is_some_and(|&b| b != b' ' && b != b'\t') {
            return Ok(Some(token));
        }
    }
    if value.is_empty() {
        return Ok(None);
    }
    let scheme_end = value
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        // Another scheme (or garbage that is not ours to judge): no bearer credentials.
        return Ok(None);
    }
    if rest.is_empty() {
        return Err(malformed("the Bearer scheme must be followed by a token"));
    }
    let token_start = rest
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(rest.len());
    let (separator, token) = rest.split_at(token_start);
    if separator.contains(&b'\t') {
        return Err(malformed(
            "the Bearer scheme and the token must be separated by spaces",
        ));
    }
    Ok(Some(token))
}

/// The token of a `Bearer` credential: exactly one b64token.
pub(crate) fn check_token(token: &[u8]) -> Result<&str, AuthError> {
    // One branch-free pass over the token (it is most of the header): whitespace inside it,
    // and the b64token syntax.
    let flags = flags_of(token);
    if flags & SPACE != 0 {
        return Err(malformed(
            "the Authorization header must hold exactly one token",
        ));
    }
    match std::str::from_utf8(token) {
        Ok(token) if flags & (OTHER | PAD) == 0 && !token.is_empty() => Ok(token),
        _ => Err(malformed(
            "the token contains characters outside the b64token syntax",
        )),
    }
}

/// A byte outside `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`: space or tab, `=`,
/// or anything else.
const SPACE: u8 = 1;
const PAD: u8 = 2;
const OTHER: u8 = 4;

/// Every byte's flags, computed once at compile time.
const FLAGS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/') {
            table[i] = 0;
        } else if b == b'=' {
            table[i] = PAD;
        } else if b == b' ' || b == b'\t' {
            table[i] = SPACE;
        }
        i += 1;
    }
    table
};

/// The union of the flags of a b64token's body (the input without its trailing `=`s), with
/// `OTHER` for an empty body. Zero means a b64token.
fn flags_of(token: &[u8]) -> u8 {
    let mut body = token;
    while let [rest @ .., b'='] = body {
        body = rest;
    }
    if body.is_empty() {
        return OTHER;
    }
    // The common case, a well-formed token, in comparisons the compiler turns into SIMD;
    // the table says what is wrong only when something is.
    if body.iter().fold(true, |ok, &b| ok & is_token_byte(b)) {
        return 0;
    }
    body.iter().fold(0, |acc, &b| acc | FLAGS[b as usize])
}

/// `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`, without branches or table lookups.
#[inline(always)]
fn is_token_byte(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter
        | digit
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

fn malformed(description: &'static str) -> AuthError {
    AuthError::new(Reason::MalformedHeader, description)
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 §2.1).
pub fn is_b64token(s: &str) -> bool {
    flags_of(s.as_bytes()) == 0
}

/// Finds `access_token` in an `application/x-www-form-urlencoded` string (a query or a body).
///
/// `Ok(None)` when absent; `invalid_request` when repeated, empty or not a b64token.
pub fn find_access_token(form: &[u8]) -> Result<Option<String>, AuthError> {
    let mut found = None;
    for pair in form.split(|&b| b == b'&') {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        if percent_decode(name).as_deref() != Some(b"access_token".as_slice()) {
            continue;
        }
        if found.is_some() {
            return Err(AuthError::new(
                Reason::MalformedParameter,
                "access_token was sent more than once",
            ));
        }
        let token = percent_decode(value)
            .and_then(|v| String::from_utf8(v).ok())
            .filter(|t| is_b64token(t))
            .ok_or_else(|| {
                AuthError::new(Reason::MalformedParameter, "access_token is not a b64token")
            })?;
        found = Some(token);
    }
    Ok(found)
}

/// Decodes `%XX` escapes and `+` (form encoding). `None` on a broken escape.
fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Exactly two hex digits (`from_str_radix` alone would take `%+F`).
                let digit = |at: usize| input.get(at).and_then(|&b| (b as char).to_digit(16));
                let (high, low) = (digit(i + 1)?, digit(i + 2)?);
                out.push((high * 16 + low) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// Combines the tokens found by each method: at most one method may carry a token.
pub(crate) fn single_token<'a>(
    header: Option<&'a str>,
    query: Option<String>,
    body: Option<String>,
) -> Result<Option<Cow<'a, str>>, AuthError> {
    let count = header.is_some() as u8 + query.is_some() as u8 + body.is_some() as u8;
    if count > 1 {
        return Err(AuthError::new(
            Reason::MultipleMethods,
            "the access token was sent by more than one method",
        ));
    }
    Ok(header.map(Cow::Borrowed).or(query.or(body).map(Cow::Owned)))
}

#[cfg(test)]
mod tests {

    #[test]
    fn percent_escapes_take_exactly_two_hex_digits() {
        assert_eq!(percent_decode(b"a%2Bb%2f+c"), Some(b"a+b/ c".to_vec()));
        for bad in [&b"%+F"[..], b"%-1", b"%G0", b"%0", b"%", b"% F"] {
            assert_eq!(
                percent_decode(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
    use super::*;
    use crate::error::ErrorCode;

    fn parse(v: &str) -> Result<Option<&str>, AuthError> {
        parse_authorization_value(v.as_bytes())
    }

    #[test]
    fn accepts_bearer_in_any_case_with_one_or_more_spaces() {
        assert_eq!(parse("Bearer abc").unwrap(), Some("abc"));
        assert_eq!(parse("Bearer  abc").unwrap(), Some("abc"));
        assert_eq!(parse("bEaReR  a.b.c").unwrap(), Some("a.b.c"));
        assert_eq!(parse("  Bearer abc==  ").unwrap(), Some("abc=="));
    }

    #[test]
    fn other_schemes_and_empty_values_are_no_credentials() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("   ").unwrap(), None);
        assert_eq!(parse("Basic dXNlcjpwYXNz").unwrap(), None);
        assert_eq!(parse("Bearerx abc").unwrap(), None);
    }

    #[test]
    fn malformed_bearer_credentials_are_invalid_request() {
        for bad in [
            "Bearer",
            "Bearer\tabc",
            "Bearer \tabc",
            "Bearer abc def",
            "Bearer ab\"c",
            "Bearer =abc",
            "Bearer a=b",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest, "{bad:?}");
        }
        assert!(parse_authorization_value(b"Bearer ab\xffc").is_err());
    }

    #[test]
    fn two_headers_are_invalid_request() {
        let err =
            parse_authorization([b"Bearer a".as_slice(), b"Bearer a".as_slice()]).unwrap_err();
        assert_eq!(err.reason(), Reason::MultipleHeaders);
    }

    #[test]
    fn finds_access_token_in_forms() {
        assert_eq!(
            find_access_token(b"a=1&access_token=x.y.z")
                .unwrap()
                .as_deref(),
            Some("x.y.z")
        );
        assert_eq!(
            find_access_token(b"access%5Ftoken=abc%2B")
                .unwrap()
                .as_deref(),
            Some("abc+")
        );
        assert!(find_access_token(b"access_token=a&access_token=b").is_err());
        assert!(find_access_token(b"access_token=").is_err());
        assert_eq!(find_access_token(b"x=1").unwrap(), None);
    }

    #[test]
    fn the_fast_check_and_the_table_agree_on_every_byte() {
        for b in 0..=255u8 {
            assert_eq!(is_token_byte(b), FLAGS[b as usize] == 0, "byte {b:#04x}");
            let token = [b'a', b, b'z'];
            let expected = if b == b'=' { PAD } else { FLAGS[b as usize] };
            assert_eq!(flags_of(&token), expected, "byte {b:#04x}");
        }
    }
}
