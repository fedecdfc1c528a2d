//! Graph's `$filter`, the forms admins use most: clauses joined by `and`,
//! each `property eq value`, `property ge value` or
//! `startswith(property, 'text')`. Strings are single-quoted (`''` is a
//! quote). Each list decides which properties it filters on and answers a
//! clear 400 for the rest.

use crate::error::{Error, Result};

/// Longest `$filter` taken.
const MAX_FILTER_CHARS: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string.
    Text(String),
    /// Anything else: a number, `true`, a date-time.
    Bare(String),
}

impl Literal {
    /// The value as a quoted string must give it.
    pub fn text(&self) -> Result<String> {
        match self {
            Literal::Text(text) => Ok(text.clone()),
            Literal::Bare(bare) => Err(Error::Invalid(format!("$filter: quote the value '{bare}' ('…')"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    Eq(String, Literal),
    Ge(String, Literal),
    StartsWith(String, String),
}

impl std::fmt::Display for Clause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |l: &Literal| match l {
            Literal::Text(t) => format!("'{}'", t.replace('\'', "''")),
            Literal::Bare(b) => b.clone(),
        };
        match self {
            Clause::Eq(p, v) => write!(f, "{p} eq {}", shown(v)),
            Clause::Ge(p, v) => write!(f, "{p} ge {}", shown(v)),
            Clause::StartsWith(p, t) => write!(f, "startswith({p}, {})", shown(&Literal::Text(t.clone()))),
        }
    }
}

/// A parsed `$filter` (empty when there is none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
}

fn tokens(text: &str) -> Result<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '\'' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            text.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => text.push(c),
                        None => return Err(Error::Invalid("$filter: a quoted string is not closed".into())),
                    }
                }
                out.push(Token::Text(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "(),'".contains(c) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

impl Filter {
    pub fn parse(text: Option<&str>) -> Result<Filter> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(Filter::default()) };
        if text.chars().count() > MAX_FILTER_CHARS {
            return Err(Error::Invalid(format!("$filter is longer than {MAX_FILTER_CHARS} characters")));
        }
        let malformed = || {
            Error::Invalid(format!(
                "$filter '{text}': expected clauses joined by 'and', each 'property eq value', 'property ge value' or startswith(property, 'text')"
            ))
        };
        let mut clauses = Vec::new();
        let mut rest = tokens(text)?.into_iter().peekable();
        loop {
            let clause = match (rest.next(), rest.next()) {
                (Some(Token::Word(f)), Some(Token::Open)) if f.eq_ignore_ascii_case("startswith") => {
                    match (rest.next(), rest.next(), rest.next(), rest.next()) {
                        (Some(Token::Word(p)), Some(Token::Comma), Some(Token::Text(t)), Some(Token::Close)) => Clause::StartsWith(p, t),
                        _ => return Err(malformed()),
                    }
                }
                (Some(Token::Word(property)), Some(Token::Word(op))) => {
                    let value = match rest.next() {
                        Some(Token::Text(t)) => Literal::Text(t),
                        Some(Token::Word(w)) => Literal::Bare(w),
                        _ => return Err(malformed()),
                    };
                    match op.to_ascii_lowercase().as_str() {
                        "eq" => Clause::Eq(property, value),
                        "ge" => Clause::Ge(property, value),
                        _ => return Err(Error::Invalid(format!("$filter: the operator '{op}' is not supported (eq, ge, startswith)"))),
                    }
                }
                _ => return Err(malformed()),
            };
            clauses.push(clause);
            match rest.next() {
                None => return Ok(Filter { clauses }),
                Some(Token::Word(and)) if and.eq_ignore_ascii_case("and") => continue,
                Some(Token::Word(or)) if or.eq_ignore_ascii_case("or") => {
                    return Err(Error::Invalid("$filter: 'or' is not supported; join clauses with 'and'".into()))
                }
                _ => return Err(malformed()),
            }
        }
    }

    /// The 400 for a clause a list does not filter on, naming what it does.
    pub fn unsupported(&self, clause: &Clause, supported: &str) -> Error {
        Error::Invalid(format!("$filter: '{clause}' is not supported here; this list filters on {supported}"))
    }
}

/// The properties a list filters on: text ones (`eq` and `startswith`,
/// both ignoring case, as Graph's directory does) and true/false ones.
pub struct Fields<T: 'static> {
    pub text: &'static [(&'static str, TextField<T>)],
    pub flags: &'static [(&'static str, FlagField<T>)],
}

/// Reads a text property of a record (None when it has none).
pub type TextField<T> = fn(&T) -> Option<&str>;
pub type FlagField<T> = fn(&T) -> bool;

/// One clause as a test of a record.
type Test<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// A filter as a test of records: all its clauses hold.
pub struct Matcher<T> {
    tests: Vec<Test<T>>,
}

impl<T> Matcher<T> {
    /// Also requires `test` (a list's own condition, such as membership).
    pub fn and(mut self, test: impl Fn(&T) -> bool + Send + Sync + 'static) -> Matcher<T> {
        self.tests.push(Box::new(test));
        self
    }

    pub fn matches(&self, record: &T) -> bool {
        self.tests.iter().all(|test| test(record))
    }

    pub fn is_everything(&self) -> bool {
        self.tests.is_empty()
    }
}

impl Filter {
    /// This filter as a test of `T`'s `fields`; a clause on anything else
    /// is a 400 naming what the list does filter on.
    pub fn matcher<T>(&self, fields: &Fields<T>) -> Result<Matcher<T>> {
        let supported = || {
            let mut forms: Vec<String> = fields.text.iter().map(|(name, _)| format!("{name} eq '…', startswith({name}, '…')")).collect();
            forms.extend(fields.flags.iter().map(|(name, _)| format!("{name} eq true|false")));
            forms.join(", ")
        };
        let text_field = |name: &str| fields.text.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, get)| *get);
        let flag_field = |name: &str| fields.flags.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, get)| *get);
        let mut tests: Vec<Test<T>> = Vec::new();
        for clause in &self.clauses {
            match clause {
                Clause::Eq(name, Literal::Text(value)) if text_field(name).is_some() => {
                    let (get, value) = (text_field(name).unwrap_or(|_| None), value.to_lowercase());
                    tests.push(Box::new(move |r| get(r).is_some_and(|v| v.to_lowercase() == value)));
                }
                Clause::StartsWith(name, prefix) if text_field(name).is_some() => {
                    let (get, prefix) = (text_field(name).unwrap_or(|_| None), prefix.to_lowercase());
                    tests.push(Box::new(move |r| get(r).is_some_and(|v| v.to_lowercase().starts_with(&prefix))));
                }
                Clause::Eq(name, Literal::Bare(value)) if flag_field(name).is_some() => {
                    let get = flag_field(name).unwrap_or(|_| false);
                    let wanted = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(Error::Invalid(format!("$filter: {name} is true or false, not {value}"))),
                    };
                    tests.push(Box::new(move |r| get(r) == wanted));
                }
                other => return Err(self.unsupported(other, &supported())),
            }
        }
        Ok(Matcher { tests })
    }

    /// The value of an `eq` clause on one of `names` (a key the store can
    /// look up directly), if there is one.
    pub fn key(&self, names: &[&str]) -> Option<&str> {
        self.clauses.iter().find_map(|clause| match clause {
            Clause::Eq(name, Literal::Text(value)) if names.iter().any(|n| n.eq_ignore_ascii_case(name)) => Some(value.as_str()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_parse() {
        let f =
            Filter::parse(Some("userType eq 'Guest' and startswith(displayName,'O''Brien') and createdDateTime ge 2026-11-28T00:00:00Z"))
                .unwrap();
        assert_eq!(
            f.clauses,
            vec![
                Clause::Eq("userType".into(), Literal::Text("Guest".into())),
                Clause::StartsWith("displayName".into(), "O'Brien".into()),
                Clause::Ge("createdDateTime".into(), Literal::Bare("2026-11-28T00:00:00Z".into())),
            ]
        );
        assert_eq!(f.clauses[1].to_string(), "startswith(displayName, 'O''Brien')");
        assert_eq!(Filter::parse(None).unwrap(), Filter::default());
        assert_eq!(Filter::parse(Some("  ")).unwrap(), Filter::default());
        assert_eq!(
            Filter::parse(Some("mail EQ 'a and b'")).unwrap().clauses,
            vec![Clause::Eq("mail".into(), Literal::Text("a and b".into()))]
        );
        for bad in ["userType eq", "userType ne 'x'", "a eq 'x' or b eq 'y'", "startswith(a)", "'x' eq a", "a eq 'open", "a eq 'x' b"] {
            assert!(Filter::parse(Some(bad)).is_err(), "{bad}");
        }
        assert!(Filter::parse(Some(&"a eq 'x' and ".repeat(100))).is_err(), "too long");
    }

    struct Item {
        name: &'static str,
        on: bool,
    }

    const FIELDS: Fields<Item> = Fields { text: &[("displayName", |i| Some(i.name))], flags: &[("accountEnabled", |i| i.on)] };

    #[test]
    fn matchers_test_records() {
        let items = [Item { name: "Alice", on: true }, Item { name: "Alan", on: false }, Item { name: "Bob", on: true }];
        let names = |text: &str| -> Vec<&str> {
            let matcher = Filter::parse(Some(text)).unwrap().matcher(&FIELDS).unwrap();
            items.iter().filter(|i| matcher.matches(i)).map(|i| i.name).collect()
        };
        assert_eq!(names("startswith(displayName,'al')"), ["Alice", "Alan"]);
        assert_eq!(names("startswith(displayName,'AL') and accountEnabled eq true"), ["Alice"]);
        assert_eq!(names("displayname eq 'BOB'"), ["Bob"]);
        assert!(Filter::parse(None).unwrap().matcher(&FIELDS).unwrap().is_everything());
        let refused = Filter::parse(Some("mail eq 'x'")).unwrap().matcher(&FIELDS).err().unwrap().to_string();
        assert!(refused.contains("startswith(displayName, '…')") && refused.contains("accountEnabled eq true|false"), "{refused}");
        assert!(Filter::parse(Some("accountEnabled eq 'yes'")).unwrap().matcher(&FIELDS).is_err());
        assert!(Filter::parse(Some("accountEnabled eq maybe")).unwrap().matcher(&FIELDS).is_err());
        assert_eq!(Filter::parse(Some("a eq 1 and displayName eq 'x'")).unwrap().key(&["displayName"]), Some("x"));
    }
}
