//! The layer rule of `src/lib.rs`: a module imports only from modules listed
//! above it there. Every `crate::` (and `super::` that climbs to the crate
//! root) path in `src/` is checked, in `use` lines and inline alike, so a new
//! upward import fails here before it becomes a cycle.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The layer list: the "- `name`: …" lines of lib.rs's doc comment, in order.
fn declared_layers(lib_rs: &str) -> Vec<String> {
    lib_rs.lines().filter_map(|l| l.strip_prefix("//! - `")).filter_map(|l| l.split_once("`:").map(|(name, _)| name.to_string())).collect()
}

/// Source text without comments, string and char literals (their contents
/// could look like paths).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].chars().take_while(|&c| c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes;
            i += body + rest[body..].find(&close).map_or(rest.len() - body, |e| e + close.len());
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && (rest.starts_with("'\\") || rest.chars().nth(2) == Some('\'')) {
            // A char literal ('x', '\n', '\''), not a lifetime.
            let skip = if let Some(escaped) = rest.strip_prefix("'\\") {
                // The escaped character may itself be a quote: look past it.
                escaped.get(1..).and_then(|r| r.find('\'')).map_or(2, |e| e + 4)
            } else {
                rest.chars().take(3).map(char::len_utf8).sum()
            };
            i += skip;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The first segment of every path that `crate::` starts at `at` (a brace
/// group names several).
fn first_segments(code: &str, at: usize) -> Vec<String> {
    let rest = code[at..].trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut names = vec![];
        let mut item_start = true;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                c if item_start && !c.is_whitespace() => {
                    item_start = false;
                    names.push(ident_at(&group[i..]).to_string());
                }
                _ => {}
            }
        }
        return names;
    }
    vec![ident_at(rest).to_string()]
}

/// The module path of a file under `src/`: `a/b.rs` is `[a, b]`, `a/mod.rs` is `[a]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Top-level modules a file's code refers to.
fn imported_modules(module: &[String], code: &str) -> Vec<String> {
    let mut found = vec![];
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        found.extend(first_segments(code, at + "crate::".len()));
    }
    // `super::super::x` that climbs out of the top-level module. Items of a
    // group (`super::{super::x}`) are followed from their group's depth.
    for (at, _) in code.match_indices("super::") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') || in_path_group(&code[..at]) {
            continue;
        }
        found.extend(super_targets(&code[at..], module.len()));
    }
    found
}

/// Whether the end of `before` is inside a path's brace group (`a::{…`),
/// not a block: group items are followed from their group.
fn in_path_group(before: &str) -> bool {
    let mut depth = 0;
    for (i, c) in before.char_indices().rev() {
        match c {
            '}' => depth += 1,
            '{' if depth == 0 => return before[..i].trim_end().ends_with("::"),
            '{' => depth -= 1,
            ';' if depth == 0 => return false,
            _ => {}
        }
    }
    false
}

/// The items of the brace group `s` starts with.
fn group_items(s: &str) -> Vec<&str> {
    let Some(body) = s.strip_prefix('{') else { return vec![] };
    let (mut depth, mut start, mut items) = (0, 0, vec![]);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(body[start..i].trim());
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// What a `super::…` path at `rest`, in a module `depth` levels deep,
/// reaches at the crate's top level (nothing if it stays inside).
fn super_targets(mut rest: &str, mut depth: usize) -> Vec<String> {
    while let Some(r) = rest.strip_prefix("super::") {
        depth = depth.saturating_sub(1);
        rest = r.trim_start();
    }
    if depth == 0 {
        return first_segments(rest, 0);
    }
    group_items(rest).into_iter().filter(|item| item.starts_with("super::")).flat_map(|item| super_targets(item, depth)).collect()
}

/// Paths in string literals of attributes (`#[serde(with = "crate::x")]`);
/// other strings are text, not imports.
fn string_paths(source: &str) -> Vec<String> {
    let in_attribute = |at: usize| source[..at].rfind("#[").is_some_and(|open| !source[open..at].contains(']'));
    source
        .match_indices("\"crate::")
        .filter(|(at, _)| in_attribute(*at))
        .map(|(at, _)| ident_at(&source[at + "\"crate::".len()..]).to_string())
        .collect()
}

/// Every upward import in `files` (path, source), as readable lines.
fn violations(layers: &[String], files: &[(PathBuf, String)]) -> Vec<String> {
    let rank: HashMap<&str, usize> = layers.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let mut found = vec![];
    for (path, source) in files {
        let module = module_path(path);
        let Some(own) = module.first().and_then(|m| rank.get(m.as_str())) else {
            found.push(format!("src/{}: module not in lib.rs's layer list", path.display()));
            continue;
        };
        let code = code_only(source);
        let crate_roots = code
            .match_indices("crate::")
            .filter(|(at, _)| !(*at > 0 && code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')))
            .flat_map(|(at, _)| first_segments(&code, at + "crate::".len()));
        for target in crate_roots.chain(string_paths(source)) {
            if !target.is_empty() && target != "self" && !rank.contains_key(target.as_str()) {
                found
                    .push(format!("src/{} names crate::{target}, which is not a layer module (lib.rs re-exports nothing)", path.display()));
            }
        }
        for target in imported_modules(&module, &code).into_iter().chain(string_paths(source)) {
            if let Some(&theirs) = rank.get(target.as_str()) {
                if theirs > *own {
                    found.push(format!("src/{} imports crate::{target}, a layer above {}", path.display(), module[0]));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn library_files(src: &Path) -> Vec<(PathBuf, String)> {
    let mut files = vec![];
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable").flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(src).expect("under src").to_path_buf();
            if path.is_dir() {
                if relative != Path::new("bin") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") && relative != Path::new("lib.rs") && relative != Path::new("main.rs") {
                files.push((relative, std::fs::read_to_string(&path).expect("source is readable")));
            }
        }
    }
    files
}

#[test]
fn modules_import_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let layers = declared_layers(&lib_rs);
    let declared_mods: Vec<String> =
        lib_rs.lines().filter_map(|l| l.strip_prefix("pub mod ")).map(|l| l.trim_end_matches(';').to_string()).collect();
    assert!(
        !lib_rs.lines().any(|l| l.trim_start().starts_with("use ") || l.contains(" use ") || l.contains("crate as")),
        "lib.rs declares modules only: a re-export would let a module import around the layer list"
    );
    let mut sorted = layers.clone();
    sorted.sort();
    assert_eq!(sorted, declared_mods, "lib.rs's layer list and its `pub mod` lines must name the same modules");

    let files = library_files(&src);
    assert!(files.len() > 40, "found only {} source files", files.len());
    let found = violations(&layers, &files);
    assert!(found.is_empty(), "upward imports (see the layer list in src/lib.rs):\n{}", found.join("\n"));
}

/// The checker itself catches what it is for: an upward `use`, an upward
/// path inside a brace group or inline code, and `super::` out of the
/// module; comments and strings do not count.
#[test]
fn the_layer_check_catches_upward_imports() {
    let layers: Vec<String> = ["util", "store", "directory"].map(String::from).to_vec();
    let file = |path: &str, source: &str| (PathBuf::from(path), source.to_string());
    let upward = [
        file("store/mod.rs", "use crate::directory::User;"),
        file("store/sled.rs", "use crate::{util::now,\n directory::{self, Tenant}};"),
        file("util/mod.rs", "fn f() { let _ = crate::store::open(); }"),
        file("store/sled.rs", "fn f() { super::super::directory::x(); }"),
        file("elsewhere.rs", "fn f() {}"),
        file("store/sled.rs", "use super::{super::directory::User};"),
        file("store/mod.rs", "use crate::User;"),
        file("store/mod.rs", "#[serde(with = \"crate::directory::codec\")] struct S;"),
    ];
    for case in &upward {
        assert_eq!(violations(&layers, std::slice::from_ref(case)).len(), 1, "not caught: {case:?}");
    }
    let fine = [
        file("directory/users.rs", "use crate::{store::Store, util::now};\nuse super::access;"),
        file(
            "store/mod.rs",
            "// crate::directory::User\n/* crate::directory */ const S: &str = \"crate::directory\"; const C: char = '\"';",
        ),
        file("store/sled.rs", "fn f<'a>(x: &'a str) { let _ = crate::util::now(); }"),
        file("util/mod.rs", "mod tests { use super::*; }"),
        file("store/mod.rs", r#"const Q: char = '\''; const S: &str = "crate::directory"; const B: char = '\\';"#),
    ];
    for case in &fine {
        assert_eq!(violations(&layers, std::slice::from_ref(case)), Vec::<String>::new(), "false alarm: {case:?}");
    }
}
