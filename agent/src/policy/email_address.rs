//! Go's `net/mail.ParseAddress` (src/net/mail/message.go), as far as
//! Teleport's `email.local` needs it (lib/utils/parse/ast.go
//! `EmailLocalExpr.Evaluate`: parse the address, fail on error, take what
//! comes before the first `@` of the parsed address).
//!
//! Accepted as Go accepts them: `alice@example.com`,
//! `Alice <alice@example.com>`, `"Alice B." <alice@example.com>`,
//! `alice@example.com (Alice)`, `"alice smith"@example.com`, a group
//! `team: alice@example.com;` with one address; refused as Go refuses
//! them: a second `@`, an empty local part or domain, spaces, leading,
//! trailing or double dots, an unclosed `<` or comment, anything after the
//! address. Not done: RFC 2047 encoded words in display names (Go refuses
//! those in a charset it does not know; here they are plain words).

/// The address (`local@domain`) in `text`, or why Go refuses it.
pub(crate) fn parse_address(text: &str) -> Result<String, String> {
    let mut p = Parser { s: text };
    let mut addrs = p.address(true)?;
    if !p.skip_cfws() {
        return Err("misformatted parenthetical comment".to_owned());
    }
    if !p.s.is_empty() {
        return Err(format!("expected single address, got {:?}", p.s));
    }
    match addrs.len() {
        0 => Err("empty group".to_owned()),
        1 => Ok(addrs.remove(0)),
        _ => Err("group with multiple addresses".to_owned()),
    }
}

struct Parser<'a> {
    s: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.chars().next()
    }

    fn consume(&mut self, c: char) -> bool {
        match self.s.strip_prefix(c) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }

    fn skip_space(&mut self) {
        self.s = self.s.trim_start_matches([' ', '\t']);
    }

    /// Go's `parseAddress`: an addr-spec (with an optional comment after
    /// it), else a display name and `<addr-spec>`, or a group.
    fn address(&mut self, handle_group: bool) -> Result<Vec<String>, String> {
        self.skip_space();
        if self.s.is_empty() {
            return Err("no address".to_owned());
        }
        if let Ok(spec) = self.addr_spec() {
            self.skip_space();
            if self.peek() == Some('(') {
                self.consume('(');
                if !self.comment() {
                    return Err("misformatted parenthetical comment".to_owned());
                }
            }
            return Ok(vec![spec]);
        }
        if self.peek() != Some('<') {
            self.phrase()?;
        }
        self.skip_space();
        if handle_group && self.consume(':') {
            return self.group_list();
        }
        if !self.consume('<') {
            return Err("no angle-addr".to_owned());
        }
        let spec = self.addr_spec()?;
        if !self.consume('>') {
            return Err("unclosed angle-addr".to_owned());
        }
        Ok(vec![spec])
    }

    fn group_list(&mut self) -> Result<Vec<String>, String> {
        let mut group = Vec::new();
        self.skip_space();
        if self.consume(';') {
            return self.end_of_group(group);
        }
        loop {
            self.skip_space();
            group.extend(self.address(false)?);
            if !self.skip_cfws() {
                return Err("misformatted parenthetical comment".to_owned());
            }
            if self.consume(';') {
                return self.end_of_group(group);
            }
            if !self.consume(',') {
                return Err("expected comma".to_owned());
            }
        }
    }

    /// After a group's `;`: Go's `consumeGroupList` refuses a comment left
    /// open there.
    fn end_of_group(&mut self, group: Vec<String>) -> Result<Vec<String>, String> {
        match self.skip_cfws() {
            true => Ok(group),
            false => Err("misformatted parenthetical comment".to_owned()),
        }
    }

    /// Go's `consumeAddrSpec`: a dot-atom or quoted-string local part, `@`,
    /// a dot-atom domain; on error nothing is consumed.
    fn addr_spec(&mut self) -> Result<String, String> {
        let orig = self.s;
        let spec = self.addr_spec_inner();
        if spec.is_err() {
            self.s = orig;
        }
        spec
    }

    fn addr_spec_inner(&mut self) -> Result<String, String> {
        self.skip_space();
        let local = match self.peek() {
            None => return Err("no addr-spec".to_owned()),
            Some('"') => match self.quoted_string()? {
                local if local.is_empty() => {
                    return Err("empty quoted string in addr-spec".to_owned())
                }
                local => local,
            },
            Some(_) => self.atom(false)?.to_owned(),
        };
        if !self.consume('@') {
            return Err("missing @ in addr-spec".to_owned());
        }
        self.skip_space();
        if self.s.is_empty() {
            return Err("no domain in addr-spec".to_owned());
        }
        let domain = self.atom(false)?;
        Ok(format!("{local}@{domain}"))
    }

    /// Go's `consumePhrase`: words (atoms or quoted strings) up to the
    /// first that does not parse; at least one.
    fn phrase(&mut self) -> Result<(), String> {
        let mut words = 0;
        loop {
            self.skip_space();
            let word = match self.peek() {
                None => break,
                Some('"') => self.quoted_string().map(drop),
                Some(_) => self.atom(true).map(drop),
            };
            if let Err(e) = word {
                if words == 0 {
                    return Err(format!("missing word in phrase: {e}"));
                }
                break;
            }
            words += 1;
        }
        Ok(())
    }

    /// Go's `consumeQuotedString` at `"`: its unescaped content.
    fn quoted_string(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let mut escaped = false;
        for (i, c) in self.s.char_indices().skip(1) {
            if escaped {
                if !is_vchar(c) && !is_wsp(c) {
                    return Err(format!("bad character in quoted-string: {c:?}"));
                }
                out.push(c);
                escaped = false;
            } else if is_qtext(c) || is_wsp(c) {
                out.push(c);
            } else if c == '"' {
                self.s = &self.s[i + 1..];
                return Ok(out);
            } else if c == '\\' {
                escaped = true;
            } else {
                return Err(format!("bad character in quoted-string: {c:?}"));
            }
        }
        Err("unclosed quoted-string".to_owned())
    }

    /// Go's `consumeAtom(dot=true, permissive)`: a dot-atom; unless
    /// permissive, no leading, trailing or double dots and no specials.
    fn atom(&mut self, permissive: bool) -> Result<&str, String> {
        let len = self
            .s
            .char_indices()
            .find(|&(_, c)| !is_atext(c, permissive))
            .map_or(self.s.len(), |(i, _)| i);
        if len == 0 {
            return Err("invalid string".to_owned());
        }
        let (atom, rest) = self.s.split_at(len);
        self.s = rest;
        if !permissive {
            if atom.starts_with('.') {
                return Err("leading dot in atom".to_owned());
            }
            if atom.contains("..") {
                return Err("double dot in atom".to_owned());
            }
            if atom.ends_with('.') {
                return Err("trailing dot in atom".to_owned());
            }
        }
        Ok(atom)
    }

    /// Go's `skipCFWS`: spaces and comments; false on a broken comment.
    fn skip_cfws(&mut self) -> bool {
        self.skip_space();
        while self.consume('(') {
            if !self.comment() {
                return false;
            }
            self.skip_space();
        }
        true
    }

    /// Go's `consumeComment` after `(`: nested parentheses, `\` escapes;
    /// whether it was closed.
    fn comment(&mut self) -> bool {
        let mut depth = 1;
        while depth > 0 {
            let mut chars = self.s.chars();
            let Some(c) = chars.next() else { break };
            match c {
                '\\' if !chars.as_str().is_empty() => {
                    chars.next();
                }
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            self.s = chars.as_str();
        }
        depth == 0
    }
}

/// RFC 5322 atext with `.` (Go's `isAtext(r, true, permissive)`).
fn is_atext(c: char, permissive: bool) -> bool {
    match c {
        '.' => true,
        '(' | ')' | '[' | ']' | ';' | '@' | '\\' | ',' => permissive,
        '<' | '>' | '"' | ':' => false,
        c => is_vchar(c),
    }
}

fn is_qtext(c: char) -> bool {
    c != '\\' && c != '"' && is_vchar(c)
}

/// Visible ASCII or any non-ASCII character (RFC 6532).
fn is_vchar(c: char) -> bool {
    ('!'..='~').contains(&c) || !c.is_ascii()
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

#[cfg(test)]
mod tests {
    use super::parse_address;

    /// What Go's mail.ParseAddress returns as Address for these (Go's
    /// src/net/mail/message_test.go cases and Teleport's parse tests).
    #[test]
    fn go_accepts() {
        let cases: &[(&str, &str)] = &[
            ("alice@example.com", "alice@example.com"),
            ("  alice@example.com  ", "alice@example.com"),
            ("Alice <alice@example.com>", "alice@example.com"),
            ("\"Alice B.\" <alice@example.com>", "alice@example.com"),
            ("<alice@example.com>", "alice@example.com"),
            ("alice@example.com (Alice)", "alice@example.com"),
            ("alice@example.com (Alice (nested))", "alice@example.com"),
            ("\"alice smith\"@example.com", "alice smith@example.com"),
            ("\"a@b\"@example.com", "a@b@example.com"),
            ("first.last@example.com", "first.last@example.com"),
            ("Bar <bar@example.com>", "bar@example.com"),
            ("team: alice@example.com;", "alice@example.com"),
            ("J\u{f6}rg <j\u{f6}rg@example.com>", "j\u{f6}rg@example.com"),
            ("Alice B. <alice@example.com>", "alice@example.com"),
        ];
        for (text, want) in cases {
            assert_eq!(parse_address(text).as_deref(), Ok(*want), "{text}");
        }
    }

    #[test]
    fn go_refuses() {
        for text in [
            "",
            "alice",
            "alice@@example.com",
            "alice@example.com@x",
            "@example.com",
            "alice@",
            "alice @ example.com x",
            "alice smith@example.com",
            ".alice@example.com",
            "alice.@example.com",
            "al..ice@example.com",
            "alice@example.com.",
            "\"\"@example.com",
            "Alice <alice@example.com",
            "Alice <alice@@example.com>",
            "alice@example.com (unclosed",
            "alice@example.com, bob@example.com",
            "team: a@example.com, b@example.com;",
            "team: ;",
            "alice@example.com\n",
            "alice@exa<mple.com",
            "team: alice@example.com; (unclosed",
        ] {
            assert!(
                parse_address(text).is_err(),
                "{text:?}: {:?}",
                parse_address(text)
            );
        }
    }
}
