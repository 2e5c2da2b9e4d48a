//! The stage-import rule of docs/architecture.md, enforced: every `crate::<folder>` path in
//! `lib/<stage>/` (and every `super::` chain that climbs out of the stage) must be an import the
//! table allows, every allowed import must still be used, and every `lib/` folder has a row.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::repo_root;

/// The table of docs/architecture.md: folder → the folders it may import.
fn allowed(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split(',')
            .map(|n| n.trim().trim_matches('`').to_string())
            .filter(|n| !n.is_empty())
            .collect()
    };
    doc.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').collect();
            (cells[1].trim().trim_matches('`').to_string(), names(cells[2]))
        })
        .collect()
}

/// The folder each `crate::X` or out-climbing `super::` path of one source names, with its line
/// (`depth`: the file's module depth below the crate root; inline modules are not counted, so a
/// `super::` chain in a `mod tests` may be read one level too high, where it names no folder).
fn imports(src: &str, depth: usize) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in src.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (at, _) in code.match_indices("crate::") {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // e.g. `sweepkit_crate::`
            }
            let rest = &code[at + "crate::".len()..];
            let name = if rest.starts_with('{') {
                "{".to_string()
            } else {
                ident(rest)
            };
            out.push((i + 1, name));
        }
        for (at, _) in code.match_indices("super::") {
            if code[..at].ends_with("super::") {
                continue; // counted from the chain's first `super::`
            }
            let (mut ups, mut rest) = (0, &code[at..]);
            while let Some(r) = rest.strip_prefix("super::") {
                ups += 1;
                rest = r;
            }
            if ups >= depth {
                // The chain reached the crate root: the next name is a folder.
                out.push((i + 1, ident(rest)));
            }
        }
    }
    out
}

/// The identifier `s` starts with.
fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every `.rs` file under `dir` with its module depth below the crate root (`lib/s/mod.rs` = 1,
/// `lib/s/a.rs` = 2, `lib/s/a/mod.rs` = 2).
fn sources(dir: &Path, depth: usize, out: &mut Vec<(std::path::PathBuf, usize)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, depth + 1, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let d = if p.file_name().is_some_and(|n| n == "mod.rs") {
                depth
            } else {
                depth + 1
            };
            out.push((p, d));
        }
    }
}

/// What breaks the table's rule in the tree under `lib`: one line per problem.
fn violations(lib: &Path, table: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut bad = Vec::new();
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for e in std::fs::read_dir(lib).unwrap() {
        let dir = e.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let stage = dir.file_name().unwrap().to_string_lossy().to_string();
        let Some(may) = table.get(&stage) else {
            bad.push(format!(
                "lib/{stage}/: no row in docs/architecture.md's import table: add one"
            ));
            continue;
        };
        let mut files = Vec::new();
        sources(&dir, 1, &mut files);
        for (path, depth) in files {
            let src = std::fs::read_to_string(&path).unwrap();
            let rel = path
                .strip_prefix(lib.parent().unwrap())
                .unwrap()
                .display()
                .to_string();
            for (line, name) in imports(&src, depth) {
                if name == stage || !table.contains_key(&name) && name != "{" {
                    continue; // its own folder, or a root item that is no folder
                }
                if name == "{" {
                    bad.push(format!("{rel}:{line}: `crate::{{..}}`: write one `use crate::<folder>::..` per folder so the import rule can read it"));
                } else if may.contains(&name) {
                    used.insert((stage.clone(), name));
                } else {
                    bad.push(format!("{rel}:{line}: lib/{stage}/ imports `{name}`, which docs/architecture.md does not allow it: remove the import, or add `{name}` to its row with the reason"));
                }
            }
        }
    }
    for (stage, may) in table {
        if !lib.join(stage).is_dir() {
            bad.push(format!(
                "docs/architecture.md: row `{stage}` names no lib/ folder: drop it"
            ));
        }
        for name in may {
            if !table.contains_key(name) {
                bad.push(format!(
                    "docs/architecture.md: row `{stage}` allows `{name}`, which has no row"
                ));
            } else if lib.join(stage).is_dir() && !used.contains(&(stage.clone(), name.clone())) {
                bad.push(format!("docs/architecture.md: row `{stage}` allows `{name}` but no file of lib/{stage}/ imports it: drop it from the row"));
            }
        }
    }
    bad
}

#[test]
fn stages_import_only_what_the_architecture_table_allows() {
    let root = repo_root();
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let table = allowed(&doc);
    assert!(
        table.len() >= 10,
        "docs/architecture.md: the import table was not found"
    );
    let bad = violations(&root.join("lib"), &table);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn a_stage_importing_another_unlisted_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    for (path, text) in [
        ("io/mod.rs", "pub fn f() {}\n"),
        ("plan/mod.rs", "mod a;\nuse crate::io::f;\n"),
        // A `super::super` chain from plan/a.rs reaches the crate root, then trial: not allowed.
        (
            "plan/a.rs",
            "// crate::trial in a comment is no import\nuse super::super::trial::g;\n",
        ),
        ("trial/mod.rs", "pub fn g() { crate::plan::h(); }\n"),
    ] {
        let p = lib.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let table = allowed("| `io` | | x |\n| `plan` | `io` | x |\n| `trial` | `io` | x |\n");
    let bad = violations(&lib, &table);
    assert_eq!(bad.len(), 3, "{bad:#?}");
    assert!(
        bad.iter()
            .any(|b| b.contains("row `trial` allows `io` but no file")),
        "{bad:#?}"
    );
    assert!(
        bad.iter()
            .any(|b| b.starts_with("lib/plan/a.rs:2: lib/plan/ imports `trial`")),
        "{bad:#?}"
    );
    assert!(
        bad.iter()
            .any(|b| b.starts_with("lib/trial/mod.rs:1: lib/trial/ imports `plan`")),
        "{bad:#?}"
    );
    // The same tree passes once the table allows what it uses (and nothing it does not).
    let table = allowed("| `io` | | x |\n| `plan` | `io`, `trial` | x |\n| `trial` | `plan` | x |\n");
    assert_eq!(violations(&lib, &table), Vec::<String>::new());
}
