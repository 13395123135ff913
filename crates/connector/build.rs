//! Build script: the git revision the binary is built from, for `--version` and the
//! `s4s_build_info` metric (`S4S_REVISION`). `S4S_BUILD_REVISION` overrides it (container and
//! release builds without a `.git` directory); without either it is `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=S4S_BUILD_REVISION");
    let revision = match std::env::var("S4S_BUILD_REVISION") {
        Ok(r) if !r.trim().is_empty() => r.trim().to_string(),
        _ => {
            // Rebuild when HEAD moves: HEAD itself, the ref it points to, packed refs. Only
            // paths that exist (cargo would rerun this script every time for a missing one).
            let mut watch =
                vec![git(&["rev-parse", "--git-path", "HEAD"]), git(&["rev-parse", "--git-path", "packed-refs"])];
            if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watch.push(git(&["rev-parse", "--git-path", &r]));
            }
            for p in watch.into_iter().flatten() {
                if std::path::Path::new(&p).exists() {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            match git(&["rev-parse", "--short=12", "HEAD"]) {
                Some(rev) => {
                    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some();
                    if dirty { format!("{rev}-modified") } else { rev }
                }
                None => "unknown".to_string(),
            }
        }
    };
    // Only [0-9A-Za-z.-] reaches the binary (a label value and a version string).
    let clean: String =
        revision.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').take(64).collect();
    println!("cargo:rustc-env=S4S_REVISION={}", if clean.is_empty() { "unknown" } else { &clean });
}
