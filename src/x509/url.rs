//! Go's `net/url` as `crypto/x509` uses it (Go 1.24, Docker 28's Go): `url.Parse` of a
//! URI SAN (parser.go `parseSANExtension` refuses the certificate when it fails, and
//! checks the parsed `Host`), `URL.String` (quoted in `matchURIConstraint`'s errors) and
//! `net.SplitHostPort` (the host of a URI checked against a constraint).
//! Source: <https://github.com/golang/go/blob/release-branch.go1.24/src/net/url/url.go>,
//! <https://github.com/golang/go/blob/release-branch.go1.24/src/net/ipsock.go>.
//! Go 1.24 does not yet check that a bracketed host is an IP literal (Go 1.25.2 does).

use super::gostr::go_quote;

/// A parsed URL: the fields `URL.String` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) scheme: String,
    opaque: String,
    /// Username and, after a `:`, the password, both unescaped (bytes, as Go's strings).
    user: Option<(Vec<u8>, Option<Vec<u8>>)>,
    /// Unescaped host, with the port.
    pub(crate) host: String,
    path: Vec<u8>,
    raw_path: String,
    omit_host: bool,
    force_query: bool,
    raw_query: String,
    fragment: Vec<u8>,
    raw_fragment: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

/// `url.Parse`; the error is `url.Error`'s text, `parse "…": …`.
pub(crate) fn parse(raw: &str) -> Result<Url, String> {
    let (u, frag) = match raw.split_once('#') {
        Some((u, f)) => (u, f),
        None => (raw, ""),
    };
    let mut url = parse_inner(u).map_err(|e| format!("parse {}: {e}", go_quote(u)))?;
    if frag.is_empty() {
        return Ok(url);
    }
    // setFragment
    let fragment = unescape_bytes(frag, Mode::Fragment)
        .map_err(|e| format!("parse {}: {e}", go_quote(raw)))?;
    url.raw_fragment = if escape(&fragment, Mode::Fragment) == frag {
        String::new()
    } else {
        frag.to_string()
    };
    url.fragment = fragment;
    Ok(url)
}

/// url.go `parse(rawURL, viaRequest=false)`.
fn parse_inner(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = Url::default();
    if raw == "*" {
        url.path = b"*".to_vec();
        return Ok(url);
    }
    let (scheme, mut rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        url.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        url.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        let segment = rest.split('/').next().unwrap_or("");
        if segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority_rest = &rest[2..];
        let (authority, path) = match authority_rest.find('/') {
            Some(i) => authority_rest.split_at(i),
            None => (authority_rest, ""),
        };
        let (user, host) = parse_authority(authority)?;
        url.user = user;
        url.host = host;
        rest = path;
    } else if !url.scheme.is_empty() && rest.starts_with('/') {
        url.omit_host = true;
    }
    // setPath
    let path = unescape_bytes(rest, Mode::Path)?;
    url.raw_path = if escape(&path, Mode::Path) == rest {
        String::new()
    } else {
        rest.to_string()
    };
    url.path = path;
    Ok(url)
}

/// url.go `getScheme`.
fn get_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".into());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

type User = Option<(Vec<u8>, Option<Vec<u8>>)>;

/// url.go `parseAuthority`: the host first, then the userinfo.
fn parse_authority(authority: &str) -> Result<(User, String), String> {
    let Some(at) = authority.rfind('@') else {
        return Ok((None, parse_host(authority)?));
    };
    let host = parse_host(&authority[at + 1..])?;
    let userinfo = &authority[..at];
    if !valid_userinfo(userinfo) {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match userinfo.split_once(':') {
        None => (unescape_bytes(userinfo, Mode::UserPassword)?, None),
        Some((name, password)) => (
            unescape_bytes(name, Mode::UserPassword)?,
            Some(unescape_bytes(password, Mode::UserPassword)?),
        ),
    };
    Ok((Some(user), host))
}

/// url.go `parseHost` (Go 1.24: a bracketed host is not checked to be an IP).
fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
        if let Some(zone) = host[..i].find("%25") {
            let host1 = unescape(&host[..zone], Mode::Host)?;
            let host2 = unescape(&host[zone..i], Mode::Zone)?;
            let host3 = unescape(&host[i..], Mode::Host)?;
            return Ok(host1 + &host2 + &host3);
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
    }
    unescape(host, Mode::Host)
}

fn valid_optional_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// url.go `validUserinfo`.
fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|r| {
        r.is_ascii_alphanumeric()
            || matches!(
                r,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// strconv.Quote of bytes that may not be UTF-8 (invalid bytes as `\xNN`).
fn quote_bytes(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => go_quote(s),
        Err(_) => {
            let mut out = String::from("\"");
            for chunk in b.utf8_chunks() {
                let q = go_quote(chunk.valid());
                out.push_str(&q[1..q.len() - 1]);
                for byte in chunk.invalid() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
            out.push('"');
            out
        }
    }
}

/// url.go `unescape` for a host: the bytes as text (a host that is not UTF-8 fails the
/// domain check that follows anyway).
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    unescape_bytes(s, mode).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// url.go `unescape` (no query modes: `+` stays `+`), keeping bytes as Go's strings do.
fn unescape_bytes(s: &str, mode: Mode) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len()
                    || !b[i + 1].is_ascii_hexdigit()
                    || !b[i + 2].is_ascii_hexdigit()
                {
                    let end = (i + 3).min(b.len());
                    return Err(format!("invalid URL escape {}", quote_bytes(&b[i..end])));
                }
                let escape3 = &b[i..i + 3];
                if mode == Mode::Host && unhex(b[i + 1]) < 8 && escape3 != b"%25" {
                    return Err(format!("invalid URL escape {}", quote_bytes(escape3)));
                }
                let v = unhex(b[i + 1]) << 4 | unhex(b[i + 2]);
                if mode == Mode::Zone
                    && escape3 != b"%25"
                    && v != b' '
                    && should_escape(v, Mode::Host)
                {
                    return Err(format!("invalid URL escape {}", quote_bytes(escape3)));
                }
                out.push(v);
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        quote_bytes(&b[i..i + 1])
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// url.go `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => return false,
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

/// url.go `escape` (no query modes).
fn escape(s: &[u8], mode: Mode) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &c in s {
        if should_escape(c, mode) {
            out.push('%');
            out.push(char::from(HEX[usize::from(c >> 4)]));
            out.push(char::from(HEX[usize::from(c & 15)]));
        } else {
            out.push(char::from(c));
        }
    }
    out
}

/// url.go `validEncoded`.
fn valid_encoded(s: &str, mode: Mode) -> bool {
    s.bytes().all(|c| {
        matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(c, mode)
    })
}

impl Url {
    /// `URL.EscapedPath`.
    fn escaped_path(&self) -> String {
        if !self.raw_path.is_empty()
            && valid_encoded(&self.raw_path, Mode::Path)
            && unescape_bytes(&self.raw_path, Mode::Path).as_ref() == Ok(&self.path)
        {
            return self.raw_path.clone();
        }
        if self.path == b"*" {
            return "*".into();
        }
        escape(&self.path, Mode::Path)
    }

    /// `URL.EscapedFragment`.
    fn escaped_fragment(&self) -> String {
        if !self.raw_fragment.is_empty()
            && valid_encoded(&self.raw_fragment, Mode::Fragment)
            && unescape_bytes(&self.raw_fragment, Mode::Fragment).as_ref() == Ok(&self.fragment)
        {
            return self.raw_fragment.clone();
        }
        escape(&self.fragment, Mode::Fragment)
    }

    /// `URL.String`.
    pub(crate) fn go_string(&self) -> String {
        let mut buf = String::new();
        if !self.scheme.is_empty() {
            buf.push_str(&self.scheme);
            buf.push(':');
        }
        if !self.opaque.is_empty() {
            buf.push_str(&self.opaque);
        } else {
            // Go: (Scheme != "" || Host != "" || User != nil) && !(OmitHost && Host == "" && User == nil)
            let no_authority = self.host.is_empty() && self.user.is_none();
            if !(no_authority && (self.scheme.is_empty() || self.omit_host)) {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    buf.push_str("//");
                }
                if let Some((name, password)) = &self.user {
                    buf.push_str(&escape(name, Mode::UserPassword));
                    if let Some(p) = password {
                        buf.push(':');
                        buf.push_str(&escape(p, Mode::UserPassword));
                    }
                    buf.push('@');
                }
                if !self.host.is_empty() {
                    buf.push_str(&escape(self.host.as_bytes(), Mode::Host));
                }
            }
            let path = self.escaped_path();
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                buf.push('/');
            }
            if buf.is_empty() {
                let segment = path.split('/').next().unwrap_or("");
                if segment.contains(':') {
                    buf.push_str("./");
                }
            }
            buf.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push('?');
            buf.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push('#');
            buf.push_str(&self.escaped_fragment());
        }
        buf
    }
}

/// `net.SplitHostPort`'s host, or its `*net.AddrError` text.
pub(crate) fn split_host_port(hostport: &str) -> Result<String, String> {
    let fail = |why: &str| Err(format!("address {hostport}: {why}"));
    let Some(i) = hostport.rfind(':') else {
        return fail("missing port in address");
    };
    let (host, j, k);
    if hostport.starts_with('[') {
        let Some(end) = hostport.find(']') else {
            return fail("missing ']' in address");
        };
        if end + 1 == hostport.len() {
            return fail("missing port in address");
        } else if end + 1 != i {
            if hostport.as_bytes()[end + 1] == b':' {
                return fail("too many colons in address");
            }
            return fail("missing port in address");
        }
        host = &hostport[1..end];
        (j, k) = (1, end + 1);
    } else {
        host = &hostport[..i];
        if host.contains(':') {
            return fail("too many colons in address");
        }
        (j, k) = (0, 0);
    }
    if hostport[j..].contains('[') {
        return fail("unexpected '[' in address");
    }
    if hostport[k..].contains(']') {
        return fail("unexpected ']' in address");
    }
    Ok(host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs and what Go 1.24's `url.Parse` makes of them (from net/url's url_test.go
    /// and parse error table, and crypto/x509's URI SAN cases).
    #[test]
    fn parse_matches_go() {
        let ok: &[(&str, &str, &str)] = &[
            // (input, Host, String())
            (
                "http://www.google.com",
                "www.google.com",
                "http://www.google.com",
            ),
            (
                "http://www.google.com/",
                "www.google.com",
                "http://www.google.com/",
            ),
            (
                "http://www.google.com/file%20one%26two",
                "www.google.com",
                "http://www.google.com/file%20one%26two",
            ),
            (
                "http://www.google.com/#file%20one%26two",
                "www.google.com",
                "http://www.google.com/#file%20one%26two",
            ),
            (
                "ftp://webmaster@www.google.com/",
                "www.google.com",
                "ftp://webmaster@www.google.com/",
            ),
            (
                "ftp://john%20doe@www.google.com/",
                "www.google.com",
                "ftp://john%20doe@www.google.com/",
            ),
            (
                "http://www.google.com/?",
                "www.google.com",
                "http://www.google.com/?",
            ),
            (
                "http://www.google.com/?foo=bar?",
                "www.google.com",
                "http://www.google.com/?foo=bar?",
            ),
            (
                "mailto:/webmaster@golang.org",
                "",
                "mailto:/webmaster@golang.org",
            ),
            (
                "mailto:webmaster@golang.org",
                "",
                "mailto:webmaster@golang.org",
            ),
            ("/foo?query=http://bad", "", "/foo?query=http://bad"),
            ("//foo", "foo", "//foo"),
            ("//user@foo/path?a=b", "foo", "//user@foo/path?a=b"),
            ("///threeslashes", "", "///threeslashes"),
            (
                "http://user:password@google.com",
                "google.com",
                "http://user:password@google.com",
            ),
            (
                "http://j@ne:password@google.com",
                "google.com",
                "http://j%40ne:password@google.com",
            ),
            (
                "http://jane:p@ssword@google.com",
                "google.com",
                "http://jane:p%40ssword@google.com",
            ),
            (
                "http://www.google.com/?q=go+language",
                "www.google.com",
                "http://www.google.com/?q=go+language",
            ),
            (
                "http://www.google.com/a%20b",
                "www.google.com",
                "http://www.google.com/a%20b",
            ),
            ("file:///home/adg/rabbits", "", "file:///home/adg/rabbits"),
            ("file:///C:/FooBar/Baz.txt", "", "file:///C:/FooBar/Baz.txt"),
            (
                "MaIlTo:webmaster@golang.org",
                "",
                "mailto:webmaster@golang.org",
            ),
            ("a/b/c", "", "a/b/c"),
            (
                "http://%3Fam:pa%3Fsword@google.com",
                "google.com",
                "http://%3Fam:pa%3Fsword@google.com",
            ),
            ("http://192.168.0.1/", "192.168.0.1", "http://192.168.0.1/"),
            (
                "http://192.168.0.1:8080/",
                "192.168.0.1:8080",
                "http://192.168.0.1:8080/",
            ),
            ("http://[fe80::1]/", "[fe80::1]", "http://[fe80::1]/"),
            (
                "http://[fe80::1]:8080/",
                "[fe80::1]:8080",
                "http://[fe80::1]:8080/",
            ),
            (
                "http://[fe80::1%25en0]/",
                "[fe80::1%en0]",
                "http://[fe80::1%25en0]/",
            ),
            (
                "http://[fe80::1%25en0]:8080/",
                "[fe80::1%en0]:8080",
                "http://[fe80::1%25en0]:8080/",
            ),
            (
                "http://[fe80::1%25%65%6e%301-._~]/",
                "[fe80::1%en01-._~]",
                "http://[fe80::1%25en01-._~]/",
            ),
            (
                "http://rest.rsc.io/foo%2fbar/baz%2Fquux?alt=media",
                "rest.rsc.io",
                "http://rest.rsc.io/foo%2fbar/baz%2Fquux?alt=media",
            ),
            ("mysql://a,b,c/bar", "a,b,c", "mysql://a,b,c/bar"),
            (
                "scheme://!$&'()*+,;=hello!:1/path",
                "!$&'()*+,;=hello!:1",
                "scheme://!$&'()*+,;=hello!:1/path",
            ),
            (
                "http://host/!$&'()*+,;=:@[hello]",
                "host",
                "http://host/!$&'()*+,;=:@[hello]",
            ),
            (
                "http://example.com/oid/[order_id]",
                "example.com",
                "http://example.com/oid/[order_id]",
            ),
            (
                "http://192.168.0.2:/foo",
                "192.168.0.2:",
                "http://192.168.0.2:/foo",
            ),
            (
                "http://hello.世界.com/foo",
                "hello.世界.com",
                "http://hello.%E4%B8%96%E7%95%8C.com/foo",
            ),
            (
                "http://hello.%e4%b8%96%e7%95%8c.com/foo",
                "hello.世界.com",
                "http://hello.%E4%B8%96%E7%95%8C.com/foo",
            ),
            (
                "http://hello.%E4%B8%96%E7%95%8C.com/foo",
                "hello.世界.com",
                "http://hello.%E4%B8%96%E7%95%8C.com/foo",
            ),
            (
                "http://example.com//foo",
                "example.com",
                "http://example.com//foo",
            ),
            (
                "myscheme://authority<\"hi\">/foo",
                "authority<\"hi\">",
                "myscheme://authority<\"hi\">/foo",
            ),
            (
                "tcp://[2020::2020:20:2020:2020%25Windows%20Loves%20Spaces]:2020",
                "[2020::2020:20:2020:2020%Windows Loves Spaces]:2020",
                "tcp://[2020::2020:20:2020:2020%25Windows%20Loves%20Spaces]:2020",
            ),
            (
                "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn",
                "",
                "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn",
            ),
            ("mailto:?subject=hi", "", "mailto:?subject=hi"),
            (
                "spiffe://example.org/ns/default/sa/x",
                "example.org",
                "spiffe://example.org/ns/default/sa/x",
            ),
            (
                "http://[fe80::1%25%41]/",
                "[fe80::1%A]",
                "http://[fe80::1%25A]/",
            ),
            ("https://a/#\u{1}", "a", "https://a/#%01"),
            ("https://a/b c", "a", "https://a/b%20c"),
            ("*", "", "*"),
            // Escapes of bytes that are not UTF-8 stay bytes, as in Go's strings.
            (
                "http://us%C3er@h/p%C3#f%C3",
                "h",
                "http://us%C3er@h/p%C3#f%C3",
            ),
        ];
        for (input, host, string) in ok {
            let url = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(url.host, *host, "{input}: Host");
            assert_eq!(url.go_string(), *string, "{input}: String()");
        }
        let bad: &[(&str, &str)] = &[
            (
                "http://[::1]:namedport",
                "parse \"http://[::1]:namedport\": invalid port \":namedport\" after host",
            ),
            (
                "http://x:namedport",
                "parse \"http://x:namedport\": invalid port \":namedport\" after host",
            ),
            (
                "http://[::1]/%",
                "parse \"http://[::1]/%\": invalid URL escape \"%\"",
            ),
            (
                "http://[::1]%23",
                "parse \"http://[::1]%23\": invalid port \"%23\" after host",
            ),
            (
                "http://[fe80::1",
                "parse \"http://[fe80::1\": missing ']' in host",
            ),
            (
                "http://a b.com/",
                "parse \"http://a b.com/\": invalid character \" \" in host name",
            ),
            (
                "http://%41:8080/",
                "parse \"http://%41:8080/\": invalid URL escape \"%41\"",
            ),
            (
                "mysql://x@y(z:123)/foo",
                "parse \"mysql://x@y(z:123)/foo\": invalid port \":123)\" after host",
            ),
            (
                "http://[fe80::1%en0]/",
                "parse \"http://[fe80::1%en0]/\": invalid URL escape \"%en\"",
            ),
            (
                "http://[::1]a/",
                "parse \"http://[::1]a/\": invalid port \"a\" after host",
            ),
            (
                "http://[fe80::1%25%10]/",
                "parse \"http://[fe80::1%25%10]/\": invalid URL escape \"%10\"",
            ),
            (
                "http://[fe80::1%25%2F]/",
                "parse \"http://[fe80::1%25%2F]/\": invalid URL escape \"%2F\"",
            ),
            (":foo", "parse \":foo\": missing protocol scheme"),
            ("a:b/c:d", ""),
            (
                "1a:b",
                "parse \"1a:b\": first path segment in URL cannot contain colon",
            ),
            (
                "x\u{7f}y",
                "parse \"x\\x7fy\": net/url: invalid control character in URL",
            ),
            (
                "http://a/\u{1}#f",
                "parse \"http://a/\\x01\": net/url: invalid control character in URL",
            ),
            (
                "http://a%zz/#f",
                "parse \"http://a%zz/\": invalid URL escape \"%zz\"",
            ),
            (
                "http://a/#%zz",
                "parse \"http://a/#%zz\": invalid URL escape \"%zz\"",
            ),
            (
                "http://us er@a%zz/",
                "parse \"http://us er@a%zz/\": invalid URL escape \"%zz\"",
            ),
            (
                "http://us er@a/",
                "parse \"http://us er@a/\": net/url: invalid userinfo",
            ),
            (
                "http://a%/",
                "parse \"http://a%/\": invalid URL escape \"%\"",
            ),
            (
                "http://a/%4",
                "parse \"http://a/%4\": invalid URL escape \"%4\"",
            ),
        ];
        for (input, want) in bad {
            match parse(input) {
                Ok(u) if want.is_empty() => assert_eq!(u.go_string(), *input),
                Ok(u) => panic!("{input}: parsed as {u:?}, Go says {want}"),
                Err(e) => assert_eq!(e, *want, "{input}"),
            }
        }
    }

    #[test]
    fn split_host_port_matches_go() {
        assert_eq!(
            split_host_port("example.com:80").as_deref(),
            Ok("example.com")
        );
        assert_eq!(split_host_port("[::1]:80").as_deref(), Ok("::1"));
        assert_eq!(
            split_host_port("example.com:").as_deref(),
            Ok("example.com")
        );
        assert_eq!(
            split_host_port("a:b:80").unwrap_err(),
            "address a:b:80: too many colons in address"
        );
        assert_eq!(
            split_host_port("[::1]x:80").unwrap_err(),
            "address [::1]x:80: missing port in address"
        );
        assert_eq!(
            split_host_port("[::1]:80:90").unwrap_err(),
            "address [::1]:80:90: too many colons in address"
        );
        assert_eq!(
            split_host_port("x]:80").unwrap_err(),
            "address x]:80: unexpected ']' in address"
        );
        assert_eq!(
            split_host_port("[x:80").unwrap_err(),
            "address [x:80: missing ']' in address"
        );
    }

    proptest::proptest! {
        /// Any text: no panic, and a URL that parses prints as a URL that parses to the same.
        #[test]
        fn parse_never_panics_and_string_round_trips(raw in "[ -~\\x01]{0,40}") {
            if let Ok(url) = parse(&raw) {
                let printed = url.go_string();
                let again = parse(&printed);
                proptest::prop_assert!(again.is_ok(), "{raw:?} printed as {printed:?}: {again:?}");
            }
        }
    }
}
