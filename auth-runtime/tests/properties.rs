//! Property tests (issue 8): the Authorization parser against an independent reading of the
//! RFC 6750 §2.1 grammar, and rendered challenges against an independent RFC 9110 §11.6.1
//! parser.

use endpoint_auth_runtime::challenge::{nqschar, Challenge};
use endpoint_auth_runtime::credentials::parse_authorization_value;
use endpoint_auth_runtime::ErrorCode;
use proptest::prelude::*;

// ---- RFC 6750 §2.1 ----------------------------------------------------------------------

/// What a field value means, read straight from the ABNF:
///
/// ```text
/// field-value = OWS credentials OWS         ; OWS = *( SP / HTAB ), trimmed (RFC 9110 §5.5)
/// credentials = "Bearer" 1*SP b64token      ; scheme case-insensitive
/// b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
/// ```
///
/// An empty value or another scheme (the first word is not `Bearer`) carries no bearer
/// credentials; a `Bearer` value that does not match is malformed.
#[derive(Debug, PartialEq, Eq)]
enum Meaning {
    NoCredentials,
    Token(Vec<u8>),
    Malformed,
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_b64char(b: u8) -> bool {
    b.is_ascii_alphabetic() || b.is_ascii_digit() || b"-._~+/".contains(&b)
}

fn reference(value: &[u8]) -> Meaning {
    let start = value.iter().position(|&b| !is_ows(b));
    let Some(start) = start else {
        return Meaning::NoCredentials;
    };
    let end = value.iter().rposition(|&b| !is_ows(b)).unwrap() + 1;
    let v = &value[start..end];
    // The auth-scheme is the first word; anything but "Bearer" is not ours.
    let word = v.iter().take_while(|&&b| !is_ows(b)).count();
    if word != 6 || !v[..6].eq_ignore_ascii_case(b"bearer") {
        return Meaning::NoCredentials;
    }
    let rest = &v[6..];
    let spaces = rest.iter().take_while(|&&b| b == b' ').count();
    if spaces == 0 {
        return Meaning::Malformed;
    }
    let token = &rest[spaces..];
    let body = token.iter().take_while(|&&b| is_b64char(b)).count();
    if body == 0 {
        return Meaning::Malformed;
    }
    let padding = token[body..].iter().take_while(|&&b| b == b'=').count();
    if body + padding != token.len() {
        return Meaning::Malformed;
    }
    Meaning::Token(token.to_vec())
}

fn implementation(value: &[u8]) -> Meaning {
    match parse_authorization_value(value) {
        Ok(None) => Meaning::NoCredentials,
        Ok(Some(token)) => Meaning::Token(token.as_bytes().to_vec()),
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::InvalidRequest, "{e}");
            assert_eq!(e.status(), 400);
            Meaning::Malformed
        }
    }
}

/// Pieces that sit right at the grammar's edges, so that generated values are mostly near
/// misses rather than noise.
fn near_miss_value() -> impl Strategy<Value = Vec<u8>> {
    let ows = prop::collection::vec(prop::sample::select(vec![&b" "[..], b"\t"]), 0..3);
    let scheme = prop::sample::select(vec![
        &b"Bearer"[..],
        b"bearer",
        b"BEARER",
        b"bEaReR",
        b"Bearerx",
        b"Bear",
        b"Basic",
        b"Bearer,",
        b"B\xc3\xa9arer",
        b"",
    ]);
    let separator = prop::collection::vec(
        prop::sample::select(vec![&b" "[..], b" ", b"\t", b"\xc2\xa0", b","]),
        0..4,
    );
    let token_piece = prop::sample::select(vec![
        &b"a"[..],
        b"Z",
        b"0",
        b"-",
        b".",
        b"_",
        b"~",
        b"+",
        b"/",
        b"=",
        b"==",
        b" ",
        b"\t",
        b"\"",
        b",",
        b"\\",
        b":",
        b"@",
        b"%",
        b"\x00",
        b"\x7f",
        b"\x80",
        b"\xff",
        b"\xc3\xa9",
        b"eyJhbGciOiJSUzI1NiJ9",
    ]);
    let token = prop::collection::vec(token_piece, 0..12);
    (ows.clone(), scheme, separator, token, ows).prop_map(|(lead, scheme, sep, token, trail)| {
        let mut out = Vec::new();
        lead.iter().for_each(|p| out.extend_from_slice(p));
        out.extend_from_slice(scheme);
        sep.iter().for_each(|p| out.extend_from_slice(p));
        token.iter().for_each(|p| out.extend_from_slice(p));
        trail.iter().for_each(|p| out.extend_from_slice(p));
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn authorization_parser_never_panics_on_arbitrary_bytes(
        value in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = implementation(&value);
    }

    #[test]
    fn authorization_parser_agrees_with_the_grammar_on_arbitrary_bytes(
        value in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        prop_assert_eq!(implementation(&value), reference(&value));
    }

    #[test]
    fn authorization_parser_agrees_with_the_grammar_on_near_misses(value in near_miss_value()) {
        prop_assert_eq!(
            implementation(&value),
            reference(&value),
            "value {:?}",
            String::from_utf8_lossy(&value)
        );
    }

    #[test]
    fn every_b64token_after_bearer_is_accepted_as_is(
        scheme in "[bB][eE][aA][rR][eE][rR]",
        spaces in " {1,3}",
        token in "[A-Za-z0-9._~+/-]{1,40}={0,3}",
        ows in "[ \t]{0,2}",
    ) {
        let value = format!("{ows}{scheme}{spaces}{token}{ows}");
        prop_assert_eq!(implementation(value.as_bytes()), Meaning::Token(token.into_bytes()));
    }
}

#[test]
fn reference_reads_the_grammar_as_intended() {
    // Guard the oracle itself with hand-checked cases.
    assert_eq!(
        reference(b"Bearer abc=="),
        Meaning::Token(b"abc==".to_vec())
    );
    assert_eq!(
        reference(b"  bearer  a.b.c\t"),
        Meaning::Token(b"a.b.c".to_vec())
    );
    assert_eq!(reference(b""), Meaning::NoCredentials);
    assert_eq!(reference(b"Basic x"), Meaning::NoCredentials);
    assert_eq!(reference(b"Bearerx abc"), Meaning::NoCredentials);
    assert_eq!(reference(b"Bearer"), Meaning::Malformed);
    assert_eq!(reference(b"Bearer\tabc"), Meaning::Malformed);
    assert_eq!(reference(b"Bearer =abc"), Meaning::Malformed);
    assert_eq!(reference(b"Bearer a=b"), Meaning::Malformed);
    assert_eq!(reference(b"Bearer a b"), Meaning::Malformed);
}

// ---- RFC 9110 §11.6.1 challenges --------------------------------------------------------

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]` with
/// `auth-param = token BWS "=" BWS ( token / quoted-string )`; returns the scheme and the
/// parameters (names lower-cased, quoted-strings unescaped), or where it failed.
fn parse_challenge(s: &[u8]) -> Result<(String, Vec<(String, String)>), String> {
    let mut i = 0;
    let token = |i: &mut usize| -> Result<String, String> {
        let start = *i;
        while *i < s.len() && is_tchar(s[*i]) {
            *i += 1;
        }
        if *i == start {
            return Err(format!("token expected at {start}"));
        }
        Ok(String::from_utf8(s[start..*i].to_vec()).unwrap())
    };
    let ows = |i: &mut usize| {
        while *i < s.len() && (s[*i] == b' ' || s[*i] == b'\t') {
            *i += 1;
        }
    };
    let scheme = token(&mut i)?;
    let mut params = Vec::new();
    if i == s.len() {
        return Ok((scheme, params));
    }
    if s[i] != b' ' {
        return Err(format!("SP expected after the scheme at {i}"));
    }
    while i < s.len() && s[i] == b' ' {
        i += 1;
    }
    loop {
        let name = token(&mut i)?.to_ascii_lowercase();
        ows(&mut i);
        if s.get(i) != Some(&b'=') {
            return Err(format!("'=' expected at {i}"));
        }
        i += 1;
        ows(&mut i);
        let value = if s.get(i) == Some(&b'"') {
            i += 1;
            let mut v = Vec::new();
            loop {
                match s.get(i) {
                    None => return Err("unterminated quoted-string".into()),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                        match s.get(i + 1) {
                            Some(&c)
                                if c == b'\t' || c == b' ' || c.is_ascii_graphic() || c >= 0x80 =>
                            {
                                v.push(c);
                                i += 2;
                            }
                            _ => return Err(format!("bad quoted-pair at {i}")),
                        }
                    }
                    // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                    Some(&c)
                        if c == b'\t'
                            || c == b' '
                            || c == 0x21
                            || (0x23..=0x5b).contains(&c)
                            || (0x5d..=0x7e).contains(&c)
                            || c >= 0x80 =>
                    {
                        v.push(c);
                        i += 1;
                    }
                    Some(&c) => {
                        return Err(format!("byte {c:#x} not allowed in a quoted-string at {i}"))
                    }
                }
            }
            String::from_utf8(v).map_err(|e| e.to_string())?
        } else {
            token(&mut i)?
        };
        params.push((name, value));
        // #rule: OWS "," OWS between elements.
        ows(&mut i);
        if i == s.len() {
            return Ok((scheme, params));
        }
        if s[i] != b',' {
            return Err(format!("',' expected at {i}"));
        }
        i += 1;
        ows(&mut i);
    }
}

/// What a quoted value must read back as: the text itself where a quoted-string can carry
/// it, `?` for what it cannot (controls other than HTAB, DEL, non-ASCII).
fn carried(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '\t' || (' '..='~').contains(&c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn is_nqschar(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        // Mostly the characters that need care.
        prop::collection::vec(
            prop::sample::select(vec![
                'a',
                'Z',
                '0',
                ' ',
                '"',
                '\\',
                ',',
                '=',
                ';',
                '\t',
                '\r',
                '\n',
                '\0',
                '\x7f',
                '\u{85}',
                '\u{a0}',
                '\u{e9}',
                '\u{2028}',
                '\u{1F600}',
            ]),
            0..24,
        )
        .prop_map(|v| v.into_iter().collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn rendered_challenges_parse_back_to_what_was_given(
        realm in text(),
        error in prop::option::of(prop::sample::select(vec!["invalid_request", "invalid_token", "insufficient_scope", "insufficient_user_authentication"])),
        description in prop::option::of(text()),
        scope in prop::option::of(text()),
        acr_values in prop::option::of(text()),
        max_age in prop::option::of(any::<u64>()),
        resource_metadata in prop::option::of(text()),
    ) {
        let challenge = Challenge {
            realm: &realm,
            error,
            error_description: description.as_deref(),
            scope: scope.as_deref(),
            acr_values: acr_values.as_deref(),
            max_age,
            resource_metadata: resource_metadata.as_deref(),
        };
        let rendered = challenge.render();

        // Visible ASCII, SP and (only inside quoted-strings, where RFC 9110 allows it) HTAB:
        // no CR, LF, NUL or any other control, no DEL, no non-ASCII.
        prop_assert!(
            rendered.bytes().all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic()),
            "{:?}", rendered
        );
        prop_assert!(actix_web::http::header::HeaderValue::from_str(&rendered).is_ok(), "{:?}", rendered);

        let (scheme, params) = parse_challenge(rendered.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e} in {rendered:?}")))?;
        prop_assert_eq!(scheme, "Bearer");

        let mut expected = vec![("realm".to_owned(), carried(&realm))];
        if let Some(e) = error {
            expected.push(("error".into(), e.into()));
        }
        if let Some(d) = &description {
            let reduced = nqschar(d);
            prop_assert!(reduced.chars().all(is_nqschar), "{:?}", reduced);
            expected.push(("error_description".into(), reduced));
        }
        if let Some(s) = scope.as_deref().filter(|s| !s.is_empty()) {
            expected.push(("scope".into(), carried(s)));
        }
        if let Some(a) = acr_values.as_deref().filter(|s| !s.is_empty()) {
            expected.push(("acr_values".into(), carried(a)));
        }
        if let Some(m) = max_age {
            expected.push(("max_age".into(), m.to_string()));
        }
        if let Some(u) = &resource_metadata {
            expected.push(("resource_metadata".into(), carried(u)));
        }
        prop_assert_eq!(params, expected, "{:?}", rendered);
    }
}

#[test]
fn challenge_parser_reads_rfc_examples_and_refuses_broken_ones() {
    let (scheme, params) = parse_challenge(
        br#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
    )
    .unwrap();
    assert_eq!(scheme, "Bearer");
    assert_eq!(params[2].1, "The access token expired");
    assert_eq!(
        parse_challenge(br#"Bearer realm = "a\"b", x=tok"#)
            .unwrap()
            .1,
        [("realm".into(), "a\"b".into()), ("x".into(), "tok".into())]
    );
    for bad in [
        &br#"Bearer realm="a"#[..],
        br#"Bearer realm="a" x="b""#,
        b"Bearer realm=\"a\rb\"",
        br#"Bearer ="a""#,
        br#"Bearer realm="a\"#,
    ] {
        assert!(
            parse_challenge(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}
