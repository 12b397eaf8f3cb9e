//! Dockerfile checks over the parsed, multi-stage-aware instruction list.

pub mod parse;

use crate::ids;
use crate::secrets;
use crate::shell;
use crate::Hit;
use parse::{Args, Dockerfile, Instruction, Stage};

/// Runs every Dockerfile check.
pub fn check(df: &Dockerfile) -> Vec<Hit> {
    let mut hits = Vec::new();
    let chain = final_chain(df);
    let stage_name = |idx: usize| {
        df.stages
            .get(idx)
            .and_then(|s| s.name.clone())
            .unwrap_or_else(|| format!("#{idx}"))
    };
    let last = df.stages.len().saturating_sub(1);
    let mut final_hits = Vec::new();
    root_user(df, &chain, &mut final_hits);
    healthcheck(df, &chain, &mut final_hits);
    hits.extend(
        final_hits
            .into_iter()
            .map(|h| h.on_kind("stage", stage_name(last))),
    );
    for (idx, stage) in df.stages.iter().enumerate() {
        let mut stage_hits = Vec::new();
        base_image(df, idx, stage, &mut stage_hits);
        let ships = chain.contains(&idx);
        for ins in &stage.instructions {
            match ins.keyword.as_str() {
                "ADD" => add_url(ins, &mut stage_hits),
                "ENV" | "ARG" => env_secrets(ins, &mut stage_hits),
                "RUN" => run(ins, ships, &mut stage_hits),
                _ => {}
            }
        }
        hits.extend(
            stage_hits
                .into_iter()
                .map(|h| h.on_kind("stage", stage_name(idx))),
        );
    }
    let mut global = Vec::new();
    for ins in &df.global_args {
        env_secrets(ins, &mut global);
    }
    hits.extend(global.into_iter().map(|h| h.on_kind("global ARG", "")));
    hits.sort_by_key(|h| h.line);
    hits
}

/// Indexes of the stages whose layers end up in the final image: the last stage and the
/// stages it is built `FROM`, transitively.
fn final_chain(df: &Dockerfile) -> Vec<usize> {
    let mut chain = Vec::new();
    let mut idx = df.stages.len().saturating_sub(1);
    while let Some(stage) = df.stages.get(idx) {
        if chain.contains(&idx) {
            break;
        }
        chain.push(idx);
        match stage_ref(df, idx, &stage.image) {
            Some(parent) => idx = parent,
            None => break,
        }
    }
    chain
}

/// The earlier stage an image reference names (`FROM build`), if any.
fn stage_ref(df: &Dockerfile, before: usize, image: &str) -> Option<usize> {
    let lower = image.to_ascii_lowercase();
    df.stages[..before.min(df.stages.len())]
        .iter()
        .rposition(|s| s.name.as_deref() == Some(lower.as_str()))
        .or_else(|| lower.parse::<usize>().ok().filter(|&n| n < before))
}

fn root_user(df: &Dockerfile, chain: &[usize], hits: &mut Vec<Hit>) {
    // The last USER along the chain (the final stage first, then its parents) wins.
    for &idx in chain {
        let Some(stage) = df.stages.get(idx) else {
            continue;
        };
        if let Some(user) = stage
            .instructions
            .iter()
            .rev()
            .find(|i| i.keyword == "USER")
        {
            let text = user.args.text();
            let name = text.split(':').next().unwrap_or("").trim();
            if name == "root" || name == "0" {
                hits.push(Hit::new(
                    ids::DF_ROOT,
                    user.line,
                    format!("the final image runs as `{}`", text.trim()),
                ));
            }
            return;
        }
    }
    if let Some(last) = chain.first().and_then(|&i| df.stages.get(i)) {
        hits.push(Hit::new(
            ids::DF_ROOT,
            last.from.line,
            "the final stage sets no USER, so the container runs as root".to_string(),
        ));
    }
}

fn healthcheck(df: &Dockerfile, chain: &[usize], hits: &mut Vec<Hit>) {
    for &idx in chain {
        let Some(stage) = df.stages.get(idx) else {
            continue;
        };
        if let Some(hc) = stage
            .instructions
            .iter()
            .rev()
            .find(|i| i.keyword == "HEALTHCHECK")
        {
            if hc.args.text().trim().eq_ignore_ascii_case("NONE") {
                hits.push(Hit::new(
                    ids::DF_HEALTHCHECK,
                    hc.line,
                    "HEALTHCHECK NONE disables the health check".to_string(),
                ));
            }
            return;
        }
    }
    if let Some(last) = chain.first().and_then(|&i| df.stages.get(i)) {
        hits.push(Hit::new(
            ids::DF_HEALTHCHECK,
            last.from.line,
            "the final stage has no HEALTHCHECK".to_string(),
        ));
    }
}

/// Expands `$NAME` / `${NAME}` / `${NAME:-default}` with the global ARG defaults; `None`
/// when a variable has no default (the reference is decided at build time).
fn expand(df: &Dockerfile, s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(p) = rest.find('$') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        let (name, default, len) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}')?;
            let body = &inner[..end];
            let (n, d) = match body.split_once(":-") {
                Some((n, d)) => (n, Some(d.to_string())),
                None => (body, None),
            };
            (n.to_string(), d, end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (after[..end].to_string(), None, end)
        };
        let value = df
            .global_args
            .iter()
            .filter_map(|a| match &a.args {
                Args::Shell(t) => t.split_once('=').filter(|(n, _)| n.trim() == name),
                Args::Exec(_) => None,
            })
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
            .next_back()
            .or(default)?;
        out.push_str(&value);
        rest = &after[len..];
    }
    out.push_str(rest);
    Some(out)
}

fn base_image(df: &Dockerfile, idx: usize, stage: &Stage, hits: &mut Vec<Hit>) {
    let raw = &stage.image;
    if raw.eq_ignore_ascii_case("scratch") || stage_ref(df, idx, raw).is_some() {
        return;
    }
    let Some(image) = expand(df, raw) else { return };
    if image.eq_ignore_ascii_case("scratch") || image.contains('@') {
        return;
    }
    // The tag is after the last ':' that follows the last '/' (a registry port is not a tag).
    let last = image.rsplit('/').next().unwrap_or(&image);
    match last.split_once(':') {
        Some((_, "latest")) => hits.push(Hit::new(
            ids::DF_LATEST,
            stage.from.line,
            format!("base image `{image}` uses the `latest` tag"),
        )),
        Some(_) => {}
        None => hits.push(Hit::new(
            ids::DF_LATEST,
            stage.from.line,
            format!("base image `{image}` has no tag, so it means `latest`"),
        )),
    }
}

fn add_url(ins: &Instruction, hits: &mut Vec<Hit>) {
    let srcs: Vec<String> = match &ins.args {
        Args::Exec(v) => v.iter().take(v.len().saturating_sub(1)).cloned().collect(),
        Args::Shell(s) => {
            let w: Vec<&str> = s.split_whitespace().collect();
            w.iter()
                .take(w.len().saturating_sub(1))
                .map(|s| s.to_string())
                .collect()
        }
    };
    for s in srcs {
        let l = s.to_ascii_lowercase();
        if l.starts_with("http://") || l.starts_with("https://") || l.starts_with("ftp://") {
            let how = if ins.flag("checksum").is_some() {
                "" // a pinned checksum still fetches at build time, but is verified
            } else {
                " with no --checksum"
            };
            if how.is_empty() {
                continue;
            }
            hits.push(Hit::new(
                ids::DF_ADD_URL,
                ins.line,
                format!("ADD fetches `{s}`{how}; download with a verified checksum in RUN or COPY a vetted file"),
            ));
        }
    }
}

/// `ENV A=b C=d`, `ENV A b`, `ARG A=b`, `ARG A`.
fn env_pairs(ins: &Instruction) -> Vec<(String, Option<String>)> {
    let text = ins.args.text();
    let words: Vec<String> = shell::commands(&text.replace('\n', " "))
        .into_iter()
        .flat_map(|c| c.words)
        .collect();
    if ins.keyword == "ENV" && words.first().is_some_and(|w| !w.contains('=')) {
        // Legacy `ENV NAME value with spaces`.
        let name = words.first().cloned().unwrap_or_default();
        let value = words.get(1..).map(|w| w.join(" ")).unwrap_or_default();
        return vec![(name, Some(value))];
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (w, None),
        })
        .collect()
}

fn env_secrets(ins: &Instruction, hits: &mut Vec<Hit>) {
    for (name, value) in env_pairs(ins) {
        let v = value.as_deref().unwrap_or("");
        if let Some(kind) = secrets::secret_value(v) {
            hits.push(Hit::new(
                ids::DF_SECRET,
                ins.line,
                format!("{} {name} holds {kind}", ins.keyword),
            ));
        } else if secrets::secret_name(&name) {
            let why = match (ins.keyword.as_str(), value.is_some()) {
                ("ARG", false) => "build arguments are recorded in the image history".to_string(),
                ("ARG", true) => {
                    "it has a default value and build arguments are recorded in the image history"
                        .to_string()
                }
                _ => "environment variables are stored in the image configuration".to_string(),
            };
            if ins.keyword == "ENV" && v.is_empty() {
                continue;
            }
            hits.push(Hit::new(
                ids::DF_SECRET,
                ins.line,
                format!(
                    "{} {name} looks like a secret: {why}; use RUN --mount=type=secret",
                    ins.keyword
                ),
            ));
        }
    }
}

/// All shell text of a RUN: shell form, exec form `sh -c`, heredoc bodies.
fn run_text(ins: &Instruction) -> String {
    let mut t = match &ins.args {
        Args::Shell(s) => s.clone(),
        Args::Exec(v) => {
            if v.len() >= 3 && v.get(1).map(String::as_str) == Some("-c") {
                v[2..].join(" ")
            } else {
                v.join(" ")
            }
        }
    };
    for h in &ins.heredocs {
        t.push('\n');
        t.push_str(&h.body);
    }
    t
}

fn run(ins: &Instruction, ships: bool, hits: &mut Vec<Hit>) {
    let text = run_text(ins);
    let cmds = shell::commands(&text);
    let cache_mount = ins
        .flags
        .iter()
        .any(|(n, v)| n == "mount" && v.contains("type=cache"));
    let has = |prog: &str, pred: &dyn Fn(&[String]) -> bool| {
        cmds.iter().any(|c| match c.program() {
            Some((p, args)) => p == prog && pred(args),
            None => false,
        })
    };
    let mut apt = false;
    let mut yum = None;
    let mut apk_cached = false;
    for (i, c) in cmds.iter().enumerate() {
        let Some((prog, args)) = c.program() else {
            continue;
        };
        // curl/wget piped into a shell.
        if matches!(
            prog,
            "sh" | "bash"
                | "zsh"
                | "dash"
                | "ash"
                | "ksh"
                | "python"
                | "python3"
                | "perl"
                | "ruby"
                | "node"
        ) && c.piped_from_previous
            && pipe_chain_has_fetch(&cmds, i)
        {
            hits.push(Hit::new(
                    ids::DF_CURL_PIPE,
                    ins.line,
                    format!("a downloaded script is piped into `{prog}`; download, verify a checksum, then run it"),
                ));
        }
        if (c.raw.contains("$(curl")
            || c.raw.contains("$(wget")
            || c.raw.contains("<(curl")
            || c.raw.contains("<(wget"))
            && matches!(
                prog,
                "sh" | "bash"
                    | "zsh"
                    | "dash"
                    | "ash"
                    | "ksh"
                    | "python"
                    | "python3"
                    | "perl"
                    | "source"
                    | "."
            )
        {
            hits.push(Hit::new(
                ids::DF_CURL_PIPE,
                ins.line,
                format!("`{prog}` runs a script fetched by a command substitution; download, verify, then run it"),
            ));
        }
        let unpinned = unpinned_packages(prog, args);
        if !unpinned.is_empty() {
            hits.push(Hit::new(
                ids::DF_PKG_PIN,
                ins.line,
                format!(
                    "`{prog}` installs {} without a pinned version",
                    unpinned
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let sub = args
            .iter()
            .find(|a| !a.starts_with('-'))
            .map(String::as_str);
        match (prog, sub) {
            ("apt-get" | "apt", Some("install")) => apt = true,
            ("yum" | "dnf" | "microdnf", Some("install")) => yum = Some(prog),
            ("apk", Some("add")) if !args.iter().any(|a| a == "--no-cache") => apk_cached = true,
            _ => {}
        }
    }
    if !ships || cache_mount {
        return;
    }
    if apt
        && !cmds.iter().any(|c| {
            c.program().is_some_and(|(p, a)| {
                p == "rm" && a.iter().any(|x| x.starts_with("/var/lib/apt/lists"))
            })
        })
    {
        hits.push(Hit::new(
            ids::DF_PKG_CACHE,
            ins.line,
            "apt-get install leaves /var/lib/apt/lists in the layer; add `&& rm -rf /var/lib/apt/lists/*`".to_string(),
        ));
    }
    if apk_cached && !has("rm", &|a| a.iter().any(|x| x.starts_with("/var/cache/apk"))) {
        hits.push(Hit::new(
            ids::DF_PKG_CACHE,
            ins.line,
            "apk add without --no-cache leaves the package index in the layer".to_string(),
        ));
    }
    if let Some(y) = yum {
        let cleaned = cmds.iter().any(|c| {
            c.program().is_some_and(|(p, a)| {
                (matches!(p, "yum" | "dnf" | "microdnf")
                    && a.first().map(String::as_str) == Some("clean"))
                    || (p == "rm"
                        && a.iter().any(|x| {
                            x.starts_with("/var/cache/yum") || x.starts_with("/var/cache/dnf")
                        }))
            })
        });
        if !cleaned {
            hits.push(Hit::new(
                ids::DF_PKG_CACHE,
                ins.line,
                format!(
                    "{y} install without `{y} clean all` leaves the package cache in the layer"
                ),
            ));
        }
    }
}

/// Whether a curl/wget runs earlier in the same pipeline as command `i`.
fn pipe_chain_has_fetch(cmds: &[shell::Command], i: usize) -> bool {
    let mut j = i;
    while j > 0 && cmds[j].piped_from_previous {
        j -= 1;
        if cmds[j]
            .program()
            .is_some_and(|(q, _)| q == "curl" || q == "wget")
        {
            return true;
        }
    }
    false
}

/// Package names given to an installer without a version pin.
fn unpinned_packages(prog: &str, args: &[String]) -> Vec<String> {
    let sub_pos = args.iter().position(|a| !a.starts_with('-'));
    let Some(sp) = sub_pos else { return Vec::new() };
    let sub = args[sp].as_str();
    let rest = &args[sp + 1..];
    // Options that take a value: skip the value too.
    let skip_value = |a: &str| {
        matches!(
            a,
            "-o" | "-t"
                | "--target-release"
                | "--repository"
                | "-X"
                | "--root"
                | "-p"
                | "--arch"
                | "--enablerepo"
                | "--disablerepo"
                | "-i"
                | "--index-url"
                | "--extra-index-url"
                | "-c"
                | "--constraint"
                | "--registry"
                | "--prefix"
                | "-C"
                | "--virtual"
                | "-t2"
        )
    };
    let mut pkgs = Vec::new();
    let mut it = rest.iter();
    let mut from_requirements = false;
    while let Some(a) = it.next() {
        if a == "-r" || a == "--requirement" || a == "-e" || a == "--editable" {
            from_requirements = true;
            it.next();
            continue;
        }
        if a.starts_with('-') {
            if skip_value(a) && !a.contains('=') {
                it.next();
            }
            continue;
        }
        pkgs.push(a.as_str());
    }
    let _ = from_requirements;
    let is_var = |p: &str| p.contains('$');
    let pinned: &dyn Fn(&str) -> bool = match (prog, sub) {
        ("apt-get" | "apt", "install") => {
            &|p: &str| p.contains('=') || p.ends_with(".deb") || p.contains('/')
        }
        ("apk", "add") => &|p: &str| p.contains('=') || p.contains('~') || p.ends_with(".apk"),
        ("yum" | "dnf" | "microdnf", "install") => &|p: &str| {
            p.ends_with(".rpm")
                || p.contains("://")
                || p.starts_with('@')
                || p.split('-')
                    .skip(1)
                    .any(|s| s.starts_with(|c: char| c.is_ascii_digit()))
        },
        ("pip" | "pip3", "install") => &|p: &str| {
            p.contains("==")
                || p.contains("===")
                || p.contains('@')
                || p.starts_with('.')
                || p.starts_with('/')
                || p.ends_with(".whl")
                || p.ends_with(".tar.gz")
                || p.contains("://")
        },
        ("npm", "install" | "i" | "add") => &|p: &str| {
            p.starts_with('.')
                || p.starts_with('/')
                || p.contains("://")
                || p.rsplit_once('@')
                    .is_some_and(|(n, v)| !n.is_empty() && !v.is_empty() && v != "latest")
        },
        _ => return Vec::new(),
    };
    pkgs.into_iter()
        .filter(|p| !is_var(p) && !pinned(p))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids_of(src: &str) -> Vec<(&'static str, usize)> {
        let df = parse::parse(src).unwrap();
        check(&df).into_iter().map(|h| (h.check, h.line)).collect()
    }

    #[test]
    fn pins_and_caches() {
        assert_eq!(
            unpinned_packages(
                "apt-get",
                &[
                    "install".into(),
                    "-y".into(),
                    "curl=7.88".into(),
                    "git".into()
                ]
            ),
            ["git"]
        );
        assert!(unpinned_packages(
            "pip",
            &[
                "install".into(),
                "-r".into(),
                "req.txt".into(),
                "x==1".into()
            ]
        )
        .is_empty());
        assert_eq!(
            unpinned_packages(
                "npm",
                &[
                    "install".into(),
                    "-g".into(),
                    "left-pad".into(),
                    "@scope/a@1.2.3".into()
                ]
            ),
            ["left-pad"]
        );
        assert_eq!(
            unpinned_packages(
                "yum",
                &[
                    "install".into(),
                    "-y".into(),
                    "httpd-2.4.6".into(),
                    "vim".into()
                ]
            ),
            ["vim"]
        );
    }

    #[test]
    fn multi_stage_user_from_parent() {
        let v = ids_of(
            "FROM debian:12 AS base\nUSER 1000\nHEALTHCHECK CMD true\nFROM base\nCMD [\"x\"]\n",
        );
        assert!(v.is_empty(), "{v:?}");
        let v = ids_of("FROM debian:12 AS build\nRUN apt-get install -y gcc\nFROM debian:12\nUSER 1000\nHEALTHCHECK CMD true\n");
        // The build stage does not ship, so only the pin finding remains.
        assert_eq!(v, [(ids::DF_PKG_PIN, 2)]);
    }

    #[test]
    fn curl_pipes() {
        let v = ids_of("FROM a:1\nUSER 1\nHEALTHCHECK CMD true\nRUN curl -fsSL https://x | sudo bash -s\nRUN sh -c \"$(wget -qO- https://y)\"\nRUN curl -o f https://x && sh f\n");
        assert_eq!(v, [(ids::DF_CURL_PIPE, 4), (ids::DF_CURL_PIPE, 5)]);
    }
}
