//! A Jenkinsfile read as far as the tests need it, no Groovy interpreter: comments and the
//! four string forms ('…', '''…''', "…", """…""") are skipped correctly, braces, brackets
//! and parentheses must balance, and what a declarative pipeline runs comes out: every
//! `sh` step's script (Groovy escapes undone) with the blocks around it, the `environment`
//! entries, and the named string arguments of a call (`usernameVariable: 'X'`).

/// A string literal: its text with escapes undone, and whether Groovy interpolates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GString {
    pub text: String,
    pub interpolated: bool,
}

/// One `sh` step and the blocks it sits in, outermost first
/// (`["pipeline", "stages", "stage", "steps", "withCredentials"]`).
#[derive(Debug, Clone)]
pub struct Step {
    pub script: String,
    pub blocks: Vec<String>,
}

impl Step {
    pub fn inside(&self, block: &str) -> bool {
        self.blocks.iter().any(|b| b == block)
    }
}

#[derive(Debug)]
pub struct Jenkinsfile {
    pub steps: Vec<Step>,
    /// `NAME = 'value'` / `NAME = "value"` entries of `environment { }` blocks.
    pub environment: Vec<(String, GString)>,
    /// `name: 'value'` arguments anywhere, in order.
    pub named: Vec<(String, GString)>,
}

impl Jenkinsfile {
    /// The value of the first named argument `name`.
    pub fn argument(&self, name: &str) -> Option<&str> {
        self.named
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.text.as_str())
    }

    /// The `environment` entries as a shell would see them: `${env.X}` and `${X}` in an
    /// interpolated string taken from `env`; anything else Groovy would evaluate panics.
    pub fn resolved_environment(&self, env: &[(String, String)]) -> Vec<(String, String)> {
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("the Jenkinsfile uses ${{env.{name}}}, not given"))
        };
        self.environment
            .iter()
            .map(|(name, value)| {
                if !value.interpolated {
                    return (name.clone(), value.text.clone());
                }
                let mut out = String::new();
                let mut rest = value.text.as_str();
                while let Some(at) = rest.find('$') {
                    out.push_str(&rest[..at]);
                    let after = &rest[at + 1..];
                    let inner = after
                        .strip_prefix('{')
                        .and_then(|s| s.split_once('}'))
                        .unwrap_or_else(|| panic!("{name}: only ${{…}} is understood: {value:?}"));
                    let var = inner.0.strip_prefix("env.").unwrap_or(inner.0);
                    assert!(
                        var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{name}: a Groovy expression, not a variable: {value:?}"
                    );
                    out.push_str(&lookup(var));
                    rest = inner.1;
                }
                out.push_str(rest);
                (name.clone(), out)
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(GString),
    Punct(char),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize, s: &str| -> bool {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let start = i;
            i += 2;
            while !at(i, "*/") {
                if i >= chars.len() {
                    return Err(format!("unterminated /* comment at char {start}"));
                }
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' {
            let triple = at(i, if c == '"' { "\"\"\"" } else { "'''" });
            let close: String = std::iter::repeat_n(c, if triple { 3 } else { 1 }).collect();
            let start = i;
            i += close.len();
            let mut text = String::new();
            loop {
                if i >= chars.len() {
                    return Err(format!("unterminated string at char {start}"));
                }
                if at(i, &close) {
                    i += close.len();
                    break;
                }
                let ch = chars[i];
                if ch == '\n' && !triple {
                    return Err(format!("newline in a one-line string at char {start}"));
                }
                if ch == '\\' {
                    let next = chars.get(i + 1).copied();
                    match next {
                        Some('\\') => text.push('\\'),
                        Some('\'') => text.push('\''),
                        Some('"') => text.push('"'),
                        Some('$') => text.push('$'),
                        Some('n') => text.push('\n'),
                        Some('t') => text.push('\t'),
                        Some('\n') => {}
                        other => {
                            return Err(format!("escape \\{other:?} at char {i} is not handled"))
                        }
                    }
                    i += 2;
                    continue;
                }
                text.push(ch);
                i += 1;
            }
            out.push(Token::Str(GString {
                interpolated: c == '"' && text.contains('$'),
                text,
            }));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    Ok(out)
}

/// Read a Jenkinsfile; an error says what does not parse.
pub fn parse(text: &str) -> Result<Jenkinsfile, String> {
    let tokens = tokens(text)?;
    let mut steps = Vec::new();
    let mut environment = Vec::new();
    let mut named = Vec::new();
    // Open delimiters; for `{`, the block's name.
    let mut open: Vec<(char, String)> = Vec::new();
    // The last identifier outside parentheses and brackets: the name of a block it opens.
    let mut head: Option<String> = None;
    let nested = |open: &[(char, String)]| open.last().is_some_and(|(c, _)| *c != '{');
    for (k, token) in tokens.iter().enumerate() {
        match token {
            Token::Ident(name) => {
                if !nested(&open) {
                    head = Some(name.clone());
                }
                let next = tokens.get(k + 1);
                let after = tokens.get(k + 2);
                if name == "sh" && !nested(&open) {
                    if let Some(Token::Str(script)) = next {
                        assert!(
                            !script.interpolated,
                            "an sh step Groovy interpolates: {script:?}"
                        );
                        steps.push(Step {
                            script: script.text.clone(),
                            blocks: open.iter().map(|(_, b)| b.clone()).collect(),
                        });
                    }
                }
                if let (Some(Token::Punct(':')), Some(Token::Str(value))) = (next, after) {
                    named.push((name.clone(), value.clone()));
                }
                let in_environment = open.last().is_some_and(|(_, b)| b == "environment");
                if let (true, Some(Token::Punct('=')), Some(Token::Str(value))) =
                    (in_environment, next, after)
                {
                    environment.push((name.clone(), value.clone()));
                }
            }
            Token::Punct(c @ ('{' | '(' | '[')) => {
                let name = if *c == '{' {
                    head.take().unwrap_or_default()
                } else {
                    String::new()
                };
                open.push((*c, name));
            }
            Token::Punct(c @ ('}' | ')' | ']')) => {
                let want = match c {
                    '}' => '{',
                    ')' => '(',
                    _ => '[',
                };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    other => return Err(format!("{c} closes {other:?}")),
                }
                if *c == '}' {
                    head = None;
                }
            }
            _ => {}
        }
    }
    if let Some((c, name)) = open.last() {
        return Err(format!("{c} of {name:?} is never closed"));
    }
    Ok(Jenkinsfile {
        steps,
        environment,
        named,
    })
}
