//! The shape of the source tree (ARCHITECTURE.md): no import loop between the top-level
//! modules of `src/`, none between the files of any folder (sub-folders included), and no
//! function longer than a screen. Read from the files themselves,
//! so a change that breaks either fails here, naming the edges or the function.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest function allowed, in lines (Yew `html!` bodies aside: they are markup).
const MAX_FUNCTION_LINES: usize = 150;

fn src() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/training/run.rs` -> `training`).
fn module_of(file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src()).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "bin")).then(|| name.to_string())
}

/// `crate::X` references of a file (in `use` lines and paths), comments left out.
fn crate_references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let name: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = &rest[at + 7..];
        }
    }
    out
}

/// Edges module -> modules it uses.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for to in crate_references(&text) {
            if to != from && modules.contains(&to) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

/// A cycle through `edges`, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_top_level_modules_import_each_other_without_a_loop() {
    let edges = edges();
    let listing: Vec<String> = edges
        .iter()
        .map(|(from, to)| {
            format!(
                "{from} -> {}",
                to.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(
        find_cycle(&edges).is_none(),
        "import loop {:?}; the edges:\n{}",
        find_cycle(&edges),
        listing.join("\n")
    );
    // The layers of ARCHITECTURE.md, checked as edges that must not exist.
    for (from, to) in [
        ("data", "model"),
        ("model", "training"),
        ("training", "storage"),
        ("training", "evaluation"),
        ("evaluation", "training"),
        ("evaluation", "storage"),
        ("storage", "session"),
        ("session", "web"),
        ("session", "native"),
    ] {
        assert!(
            !edges.get(from).is_some_and(|e| e.contains(to)),
            "{from} must not import {to} (ARCHITECTURE.md); the edges:\n{}",
            listing.join("\n")
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_planted_loop() {
    // Positive control: the check above is only worth something if it sees a loop.
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    assert_eq!(find_cycle(&edges), None);
    edges.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let refs = crate_references("use crate::data::{x}; // crate::web\nlet y = crate::model::f();");
    assert_eq!(
        refs,
        BTreeSet::from(["data".to_string(), "model".to_string()])
    );
}

/// Functions of `text` longer than the limit: (name, first line, lines), `html!` bodies
/// not counted. A function starts at a line whose code begins with `fn`, `pub fn`,
/// `async fn`, ... and ends at the line that brings the braces back to its depth.
fn long_functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let words: Vec<&str> = code.split_whitespace().take(4).collect();
        let Some(at) = words.iter().position(|w| *w == "fn") else {
            continue;
        };
        if !words[..at].iter().all(|w| {
            matches!(
                *w,
                "pub" | "pub(crate)" | "pub(super)" | "async" | "const" | "unsafe"
            )
        }) {
            continue;
        }
        let name = words
            .get(at + 1)
            .map(|w| w.split(['(', '<']).next().unwrap_or(w).to_string());
        let (mut depth, mut opened, mut counted, mut in_html) = (0i64, false, 0usize, 0i64);
        for body in &lines[start..] {
            let code = body.split("//").next().unwrap_or("");
            if code.contains("html!") {
                in_html = depth.max(1);
            }
            let before = depth;
            depth += code.matches('{').count() as i64 - code.matches('}').count() as i64;
            opened |= depth > 0;
            if in_html == 0 || before < in_html {
                counted += 1;
            }
            if in_html > 0 && depth < in_html {
                in_html = 0;
            }
            if opened && depth <= 0 || !opened && code.trim_end().ends_with(';') {
                break;
            }
        }
        if counted > MAX_FUNCTION_LINES {
            out.push((name.unwrap_or_default(), start + 1, counted));
        }
    }
    out
}

#[test]
fn no_function_is_longer_than_a_screen() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (name, line, lines) in long_functions(&text) {
            long.push(format!("{}:{line} {name}: {lines} lines", file.display()));
        }
    }
    assert!(
        long.is_empty(),
        "over {MAX_FUNCTION_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_length_check_sees_a_long_function() {
    let body = "    let x = 1;\n".repeat(MAX_FUNCTION_LINES + 1);
    let long = format!("pub fn long() {{\n{body}}}\n");
    assert_eq!(long_functions(&long).len(), 1);
    let short = "fn short() {\n    1\n}\n";
    assert!(long_functions(short).is_empty());
    let markup = format!("fn view() -> Html {{\n    html! {{\n{body}    }}\n}}\n");
    assert!(
        long_functions(&markup).is_empty(),
        "html! bodies are markup"
    );
}

/// The source of `text` without comments and without its `#[cfg(test)] mod tests` (whose
/// `super::` means the file itself).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names a folder module's own file re-exports: `pub use file::{A, B};` and `pub use file::A;`
/// (name -> file).
fn reexports(module_file: &str, files: &BTreeSet<String>) -> BTreeMap<String, String> {
    let code = code_of(module_file);
    let mut out = BTreeMap::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + 8..];
        let end = rest.find(';').unwrap_or(rest.len());
        let item = &rest[..end];
        if let Some((file, names)) = item.split_once("::")
            && files.contains(file.trim())
        {
            for name in names
                .trim_matches(|c| c == '{' || c == '}' || char::is_whitespace(c))
                .split(',')
            {
                let name = name.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() && name != "*" {
                    out.insert(name.to_string(), file.trim().to_string());
                }
            }
        }
    }
    out
}

/// The first path segment of each item of `root::{...}` groups and of `root::item` paths in
/// `code`. A path counts only where `root` starts it: not inside a longer name (`my_crate::`
/// holds `crate::`) nor after more segments (`super::super::x` holds `super::x`, which would
/// name a sibling where the path names the parent's). `super` itself is never a module's name.
fn names_after(code: &str, root: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let prefix = format!("{root}::");
    let mut from = 0;
    while let Some(found) = code[from..].find(&prefix) {
        let at = from + found;
        from = at + prefix.len();
        let rest = &code[from..];
        let inside_a_name = code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        if inside_a_name {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut item, mut items) = (1, String::new(), Vec::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && c != ',' {
                    item.push(c);
                }
            }
            items.push(item);
            for item in items {
                let first = item
                    .trim()
                    .split("::")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                if !first.is_empty() && first != "super" {
                    out.insert(first);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != "super" {
                out.insert(name);
            }
        }
    }
    out
}

/// Edges between the files of the folder module `dir` (its module file `module`: `mod.rs`
/// inside it, the binary's `main.rs`, or `dir.rs` beside it; `roots` are the paths its files
/// name it by: `super`, and its full `crate::...` path): a file uses another when it names it
/// (`super::file`, `crate::a::dir::file`) or a name the module file re-exports from it.
fn file_edges(dir: &Path, module: &Path, roots: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let is_rs = path.extension().is_some_and(|e| e == "rs");
        if (is_rs && path != module) || path.is_dir() {
            files.insert(stem);
        }
    }
    let names = reexports(&std::fs::read_to_string(module).unwrap(), &files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let sources = entry_sources(dir, file, roots);
        let named = sources
            .iter()
            .flat_map(|(code, roots)| roots.iter().flat_map(|root| names_after(code, root)));
        for name in named {
            let to = if files.contains(&name) {
                Some(name)
            } else {
                names.get(&name).cloned()
            };
            if let Some(to) = to.filter(|to| to != file) {
                edges.entry(file.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

/// The code of `dir`'s entry `file` (`file.rs`, the folder `file/`, or both), each file's with
/// the paths by which it names `dir`'s entries: `roots` in `file.rs` and `file/mod.rs`, and one
/// more `super::` for each folder level below them (`file/y.rs` names a sibling of `file` as
/// `super::super::sibling`). A folder's files count as the entry's, so that a loop through a
/// sub-folder is seen.
fn entry_sources(dir: &Path, file: &str, roots: &[String]) -> Vec<(String, Vec<String>)> {
    let folder = dir.join(file);
    let mut paths = vec![dir.join(format!("{file}.rs"))];
    if folder.is_dir() {
        rust_files(&folder, &mut paths);
    }
    let mut sources = Vec::new();
    for path in paths {
        // A folder's `tests.rs` is its `#[cfg(test)] mod tests;`, left out as `code_of` leaves
        // out an inline one: tests may use what the code they test may not.
        if path.starts_with(&folder) && path.ends_with("tests.rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // `file.rs` where the entry is a folder with `mod.rs`
        };
        let levels = path.strip_prefix(&folder).map_or(0, |inside| {
            inside.components().count() - usize::from(inside.ends_with("mod.rs"))
        });
        let roots = roots
            .iter()
            .map(|root| match root.as_str() {
                "super" => vec!["super"; levels + 1].join("::"),
                other => other.to_string(),
            })
            .collect();
        sources.push((code_of(&text), roots));
    }
    sources
}

/// Every folder module under `src/` (with its `mod.rs`, or as `x.rs` beside a folder `x/`) and
/// the command's folder: (folder, module file, the paths its files name it by).
fn folder_modules() -> Vec<(PathBuf, PathBuf, Vec<String>)> {
    let command = src().join("bin/medclassify");
    // The command's files name `main.rs`'s other modules as `crate::x` and as `super::x`.
    let mut dirs = vec![(
        command.clone(),
        command.join("main.rs"),
        vec!["super".into(), "crate".into()],
    )];
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let dir = match file.file_name().is_some_and(|n| n == "mod.rs") {
            true => file.parent().unwrap().to_path_buf(),
            false => file.with_extension(""),
        };
        if !dir.is_dir() || dir.starts_with(src().join("bin")) || dir == src() {
            continue;
        }
        let path = dir
            .strip_prefix(src())
            .unwrap()
            .to_str()
            .unwrap()
            .replace('/', "::");
        dirs.push((dir, file, vec!["super".into(), format!("crate::{path}")]));
    }
    dirs.sort();
    dirs
}

#[test]
fn the_files_of_each_folder_import_each_other_without_a_loop() {
    let mut loops = Vec::new();
    let modules = folder_modules();
    // The two layouts are both seen (a folder with `mod.rs`, and `x.rs` beside `x/`).
    assert!(
        modules
            .iter()
            .any(|(dir, _, _)| dir.ends_with("web/worker/decoder"))
    );
    assert!(modules.iter().any(|(dir, _, _)| dir.ends_with("training")));
    for (dir, module, roots) in modules {
        let edges = file_edges(&dir, &module, &roots);
        if let Some(cycle) = find_cycle(&edges) {
            loops.push(format!("{}: {}", dir.display(), cycle.join(" -> ")));
        }
    }
    assert!(
        loops.is_empty(),
        "file-level import loops:\n{}",
        loops.join("\n")
    );
}

#[test]
fn the_file_level_check_sees_a_planted_loop_through_a_reexport() {
    // Positive control: a folder where a.rs names b directly and b.rs names a's type through
    // the module file's re-export.
    let dir = std::env::temp_dir().join(format!("medclassify-structure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("mod.rs"),
        "mod a;\nmod b;\npub use a::{Alpha, Other};\n",
    )
    .unwrap();
    std::fs::write(dir.join("a.rs"), "use super::b::beta;\npub struct Alpha;\n").unwrap();
    std::fs::write(
        dir.join("b.rs"),
        "use super::{\n    Alpha, // the type\n};\n",
    )
    .unwrap();
    let roots = ["super".to_string()];
    let edges = file_edges(&dir, &dir.join("mod.rs"), &roots);
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    // And without the re-exported name there is none.
    std::fs::write(dir.join("b.rs"), "pub fn beta() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::Alpha;\n}\n").unwrap();
    assert_eq!(
        find_cycle(&file_edges(&dir, &dir.join("mod.rs"), &roots)),
        None
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_file_level_check_sees_a_planted_loop_beside_its_module_file_by_crate_paths() {
    // Positive control for the other layout: `x.rs` beside `x/`, whose files name each other
    // by their full paths (`crate::x::...`) and through `super::`.
    let root = std::env::temp_dir().join(format!("medclassify-structure-x-{}", std::process::id()));
    let dir = root.join("x");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(root.join("x.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(
        dir.join("a.rs"),
        "use crate::x::b::Beta;\npub struct Alpha;\n",
    )
    .unwrap();
    std::fs::write(dir.join("b.rs"), "pub struct Beta(super::a::Alpha);\n").unwrap();
    let roots = ["super".to_string(), "crate::x".to_string()];
    let edges = file_edges(&dir, &root.join("x.rs"), &roots);
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    // Named by `super::` alone the crate path is missed: the full path is what finds it.
    assert_eq!(
        find_cycle(&file_edges(&dir, &root.join("x.rs"), &roots[..1])),
        None
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_file_level_check_sees_a_planted_loop_through_a_sub_folder() {
    // Positive control: `a.rs` names the sub-folder `sub/` (a module with `mod.rs`), and a
    // file inside it names `a` back as `super::super::a`. Before the folder's files counted
    // as its entry's, this loop was not seen.
    let dir =
        std::env::temp_dir().join(format!("medclassify-structure-sub-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("mod.rs"), "mod a;\nmod sub;\n").unwrap();
    std::fs::write(
        dir.join("a.rs"),
        "use super::sub::Inner;\npub struct Alpha;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sub/mod.rs"),
        "mod inner;\npub use inner::Inner;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sub/inner.rs"),
        "pub struct Inner(super::super::a::Alpha);\n",
    )
    .unwrap();
    let roots = ["super".to_string()];
    assert_eq!(
        find_cycle(&file_edges(&dir, &dir.join("mod.rs"), &roots)),
        Some(vec!["a".into(), "sub".into(), "a".into()])
    );
    // Inside the sub-folder, `super::a` is the sub-folder's own `a`, not this folder's.
    std::fs::write(
        dir.join("sub/inner.rs"),
        "pub struct Inner(super::a::Alpha);\n",
    )
    .unwrap();
    assert_eq!(
        find_cycle(&file_edges(&dir, &dir.join("mod.rs"), &roots)),
        None
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_path_counts_only_where_its_root_starts_it() {
    let names = |code: &str, root: &str| names_after(code, root).into_iter().collect::<Vec<_>>();
    assert_eq!(names("use super::{a, b::C};", "super"), ["a", "b"]);
    assert_eq!(names("let x = crate::web::y;", "crate::web"), ["y"]);
    // The parent's sibling is not this folder's `x`, nor is another crate's path this one's.
    assert!(names("use super::super::x;", "super").is_empty());
    assert_eq!(names("use super::super::x;", "super::super"), ["x"]);
    assert!(names("use super::super::super::x;", "super::super").is_empty());
    assert!(names("use my_crate::x;", "crate").is_empty());
    assert!(names("use other::crate_like::x;", "crate").is_empty());
}

#[test]
fn the_command_folder_is_read_by_super_paths_too() {
    let modules = folder_modules();
    let (_, _, roots) = modules
        .iter()
        .find(|(dir, _, _)| dir.ends_with("bin/medclassify"))
        .expect("the command's folder");
    assert_eq!(roots, &["super".to_string(), "crate".to_string()]);
}
