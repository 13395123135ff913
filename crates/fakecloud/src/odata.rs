//! A small OData `$filter` evaluator: `prop op literal` joined by `and` / `or`, with
//! parentheses and `not`. Enough for the documented alerts_v2 / incidents filters
//! (`microsoft-apis.md` §2.3, §7.2): `eq ne gt ge lt le`, quoted strings, unquoted
//! DateTimeOffset literals, numbers, `null`, `true`, `false`.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Date(OffsetDateTime),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp { prop: String, op: String, lit: Lit },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    LParen,
    RParen,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == '\'' {
            let mut v = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated string literal".into()),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        v.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        v.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(v));
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '(' && chars[i] != ')' {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    allowed: &'a [&'a str],
}

impl Parser<'_> {
    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
    }
    fn expr(&mut self) -> Result<Expr, String> {
        let mut left = self.term()?;
        while self.peek_ident("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }
    fn term(&mut self) -> Result<Expr, String> {
        let mut left = self.factor()?;
        while self.peek_ident("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }
    fn factor(&mut self) -> Result<Expr, String> {
        if self.peek_ident("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.factor()?)));
        }
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.expr()?;
                if self.toks.get(self.pos) != Some(&Tok::RParen) {
                    return Err("missing ')'".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Ident(prop)) => {
                self.pos += 1;
                if !self.allowed.iter().any(|a| a.eq_ignore_ascii_case(&prop)) {
                    return Err(format!("Invalid filter clause: property '{prop}' is not supported in $filter"));
                }
                let op = match self.toks.get(self.pos) {
                    Some(Tok::Ident(op))
                        if ["eq", "ne", "gt", "ge", "lt", "le"].contains(&op.to_ascii_lowercase().as_str()) =>
                    {
                        op.to_ascii_lowercase()
                    }
                    other => return Err(format!("expected a comparison operator after '{prop}', found {other:?}")),
                };
                self.pos += 1;
                let lit = match self.toks.get(self.pos).cloned() {
                    Some(Tok::Str(s)) => Lit::Str(s),
                    Some(Tok::Ident(w)) => {
                        if w == "null" {
                            Lit::Null
                        } else if w == "true" || w == "false" {
                            Lit::Bool(w == "true")
                        } else if let Ok(d) = OffsetDateTime::parse(&w, &Rfc3339) {
                            Lit::Date(d)
                        } else if let Ok(n) = w.parse::<f64>() {
                            Lit::Num(n)
                        } else {
                            return Err(format!("invalid literal '{w}'"));
                        }
                    }
                    other => return Err(format!("expected a literal, found {other:?}")),
                };
                self.pos += 1;
                Ok(Expr::Cmp { prop, op, lit })
            }
            other => Err(format!("unexpected token {other:?}")),
        }
    }
}

/// Parses a `$filter` against a list of filterable properties.
pub fn parse(filter: &str, allowed: &[&str]) -> Result<Expr, String> {
    let toks = tokenize(filter)?;
    let mut p = Parser { toks, pos: 0, allowed };
    let e = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected trailing input in $filter at token {}", p.pos));
    }
    Ok(e)
}

/// Looks up a property, following `/` paths (`properties/status`, as ARM filters use).
fn get<'a>(v: &'a Value, prop: &str) -> Option<&'a Value> {
    prop.split('/')
        .try_fold(v, |cur, seg| cur.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(seg)).map(|(_, v)| v))
}

fn ord(op: &str, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        "eq" => o == Equal,
        "ne" => o != Equal,
        "gt" => o == Greater,
        "ge" => o != Less,
        "lt" => o == Less,
        "le" => o != Greater,
        _ => false,
    }
}

/// Evaluates a parsed filter against one resource.
pub fn eval(e: &Expr, v: &Value) -> bool {
    match e {
        Expr::And(a, b) => eval(a, v) && eval(b, v),
        Expr::Or(a, b) => eval(a, v) || eval(b, v),
        Expr::Not(a) => !eval(a, v),
        Expr::Cmp { prop, op, lit } => {
            let field = get(v, prop).unwrap_or(&Value::Null);
            match (lit, field) {
                (Lit::Null, Value::Null) => op == "eq",
                (Lit::Null, _) => op == "ne",
                (_, Value::Null) => op == "ne",
                (Lit::Date(d), Value::String(s)) => match OffsetDateTime::parse(s, &Rfc3339) {
                    Ok(fd) => ord(op, fd.cmp(d)),
                    Err(_) => false,
                },
                (Lit::Str(l), Value::String(s)) => ord(op, s.to_ascii_lowercase().cmp(&l.to_ascii_lowercase())),
                (Lit::Num(n), Value::Number(x)) => {
                    x.as_f64().and_then(|x| x.partial_cmp(n)).is_some_and(|o| ord(op, o))
                }
                (Lit::Bool(b), Value::Bool(x)) => ord(op, x.cmp(b)),
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &[&str] = &["lastUpdateDateTime", "severity", "status", "serviceSource", "assignedTo"];

    #[test]
    fn filters_like_graph() {
        let a = json!({"lastUpdateDateTime": "2026-01-02T00:00:00.0000000Z", "severity": "high", "status": "new", "assignedTo": null});
        let t = |f: &str| eval(&parse(f, P).unwrap(), &a);
        assert!(t("lastUpdateDateTime ge 2026-01-01T00:00:00Z"));
        assert!(!t("lastUpdateDateTime gt 2026-01-02T00:00:00Z"));
        assert!(t("lastUpdateDateTime ge 2026-01-02T00:00:00.0000000Z"));
        assert!(t("severity eq 'high' and status eq 'new'"));
        assert!(t("severity eq 'low' or (status eq 'new' and not severity eq 'low')"));
        assert!(t("assignedTo eq null"));
        assert!(!t("severity ne 'high'"));
        assert!(parse("title eq 'x'", P).is_err());
        assert!(parse("severity eq", P).is_err());
        assert!(parse("severity eq 'x", P).is_err());
        assert!(parse("(severity eq 'x'", P).is_err());
        let inc = json!({"properties": {"status": "New", "lastModifiedTimeUtc": "2026-01-02T00:00:00Z"}});
        let f = parse(
            "properties/lastModifiedTimeUtc ge 2026-01-01T00:00:00Z and properties/status eq 'New'",
            &["properties/lastModifiedTimeUtc", "properties/status"],
        )
        .unwrap();
        assert!(eval(&f, &inc));
    }
}
