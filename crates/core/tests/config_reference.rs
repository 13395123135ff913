//! The configuration reference (`docs/src/configuration.md`) cannot drift from the parser: every
//! key `config::load` accepts is documented there with a default, and every documented key is
//! accepted. The keys are not listed here: they are found by asking the parser itself (a key it
//! does not know is refused with "unknown field `…`, expected one of …", naming every key of that
//! table), walking down every nested table and array of tables.

use std::collections::BTreeSet;

use s4s_core::config::{self, Env};

const PAGE: &str = "docs/src/configuration.md";
const PROBE: &str = "zz_unknown_key";

struct TestEnv;

impl Env for TestEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    fn vars(&self) -> Vec<(String, String)> {
        ["CONTOSO_CLIENT_SECRET", "SIGNL4_TEAM_SECRET", "SIGNL4_INBOUND_TOKEN", "SIGNL4_API_KEY", "S4S_ADMIN_TOKEN"]
            .iter()
            .map(|k| (k.to_string(), "0123456789abcdef0123456789abcdef".to_string()))
            .collect()
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        Err(format!("no file {path} in this test"))
    }
}

/// A path segment: a table key, or `[]` (the first entry of an array of tables).
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index,
}

fn dotted(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index => s.push_str("[]"),
        }
    }
    s
}

/// The table at `path` in `root`, created (empty) where it is missing.
fn table_at<'a>(root: &'a mut toml::Table, path: &[Seg]) -> &'a mut toml::Table {
    let mut node = root;
    let mut i = 0;
    while i < path.len() {
        let Seg::Key(k) = &path[i] else { panic!("a path starts each array with its key: {path:?}") };
        let is_array = matches!(path.get(i + 1), Some(Seg::Index));
        let entry = node.entry(k.clone()).or_insert_with(|| {
            if is_array {
                toml::Value::Array(vec![toml::Value::Table(toml::Table::new())])
            } else {
                toml::Value::Table(toml::Table::new())
            }
        });
        node = if is_array {
            i += 1;
            let arr = entry.as_array_mut().unwrap_or_else(|| panic!("{k} is not an array"));
            if arr.is_empty() {
                arr.push(toml::Value::Table(toml::Table::new()));
            }
            arr[0].as_table_mut().unwrap_or_else(|| panic!("{k}[0] is not a table"))
        } else {
            entry.as_table_mut().unwrap_or_else(|| panic!("{k} is not a table"))
        };
        i += 1;
    }
    node
}

/// The parser's error for `base` with `value` at `path.key`.
fn error_with(base: &toml::Table, path: &[Seg], key: &str, value: toml::Value) -> String {
    let mut t = base.clone();
    table_at(&mut t, path).insert(key.to_string(), value);
    match config::load(&toml::to_string(&t).unwrap(), &TestEnv) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// The keys the parser accepts in the table at `path`, from its "unknown field" error; `None`
/// when that table is not a struct (a free map such as `user_map`, or not a table at all).
fn accepted(base: &toml::Table, path: &[Seg]) -> Option<Vec<String>> {
    let mut t = base.clone();
    table_at(&mut t, path).insert(PROBE.into(), toml::Value::Integer(1));
    let e = match config::load(&toml::to_string(&t).unwrap(), &TestEnv) {
        Ok(_) => return None,
        Err(e) => e.to_string(),
    };
    let marker = format!("unknown field `{PROBE}`");
    let at = e.find(&marker)?;
    let rest = &e[at + marker.len()..];
    let rest = rest.split('\n').next().unwrap_or("");
    if rest.contains("there are no fields") {
        return Some(Vec::new());
    }
    Some(rest.split('`').skip(1).step_by(2).map(str::to_string).collect())
}

/// Every key the parser accepts, as documented: `tenant[].signl4.storm.budget`.
fn parser_keys(base: &toml::Table) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut todo: Vec<Vec<Seg>> = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let Some(keys) = accepted(base, &path) else { continue };
        for k in keys {
            let mut sub = path.clone();
            sub.push(Seg::Key(k.clone()));
            // A nested table or an array of tables: its own keys are listed, not itself.
            let mut probe = toml::Table::new();
            probe.insert(PROBE.into(), toml::Value::Integer(1));
            let marker = format!("unknown field `{PROBE}`");
            if error_with(base, &path, &k, toml::Value::Array(vec![toml::Value::Table(probe.clone())]))
                .contains(&marker)
            {
                let mut arr = sub.clone();
                arr.push(Seg::Index);
                found.insert(dotted(&arr));
                todo.push(arr);
            } else if error_with(base, &path, &k, toml::Value::Table(probe)).contains(&marker) {
                found.insert(dotted(&sub));
                todo.push(sub);
            } else {
                found.insert(dotted(&sub));
            }
        }
    }
    found
}

/// The reference page's rows: (key, default) from lines `| `key` | default | meaning |`.
fn documented() -> Vec<(String, String)> {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/src/configuration.md"))
        .unwrap_or_else(|e| panic!("cannot read {PAGE}: {e}"));
    page.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').map(str::trim).collect();
            let key = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            (cells.len() >= 3 && !key.contains('`')).then(|| (key.to_string(), cells[1].to_string()))
        })
        .collect()
}

#[test]
fn every_key_the_parser_accepts_is_on_the_reference_page_with_a_default_and_no_other() {
    let base: toml::Table = toml::from_str(config::example()).unwrap();
    config::load(config::example(), &TestEnv).expect("the example configuration loads");
    let keys = parser_keys(&base);
    assert!(keys.len() > 50, "found only {} keys: the discovery is broken: {keys:?}", keys.len());
    let docs = documented();
    let doc_keys: BTreeSet<String> = docs.iter().map(|(k, _)| k.clone()).collect();

    let mut problems = Vec::new();
    for k in &keys {
        // A table's own row is optional when each of its keys has one.
        let is_table =
            keys.iter().any(|other| other.starts_with(&format!("{k}.")) || other.starts_with(&format!("{k}[]")));
        if !doc_keys.contains(k) && !is_table {
            problems
                .push(format!("{PAGE}: no row for `{k}` (add `| `{k}` | <default or —> | <meaning> |` to its table)"));
        }
    }
    for (k, default) in &docs {
        if !keys.contains(k) {
            problems.push(format!("{PAGE}: documents `{k}`, which the configuration parser does not accept (remove the row or fix the key)"));
        }
        if default.is_empty() {
            problems.push(format!("{PAGE}: `{k}` has an empty default cell (write the default, or — for none)"));
        }
    }
    let mut seen = BTreeSet::new();
    for (k, _) in &docs {
        if !seen.insert(k) {
            problems.push(format!("{PAGE}: `{k}` has two rows"));
        }
    }
    assert!(
        problems.is_empty(),
        "the configuration reference is out of step with the parser:\n{}",
        problems.join("\n")
    );
}
