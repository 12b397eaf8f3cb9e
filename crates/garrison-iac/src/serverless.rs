//! serverless.yml (Serverless Framework, AWS provider): provider and function settings,
//! plus the CloudFormation checks on its `resources.Resources` section.

use crate::cloudformation;
use crate::ids;
use crate::policy;
use crate::runtimes::{self, Date};
use crate::terraform::env_secrets;
use crate::tree::{N, V};
use crate::Hit;

pub fn check(doc: &N, today: Date) -> Vec<Hit> {
    let mut hits = Vec::new();
    let provider = doc.get("provider");
    if let Some(p) = provider {
        // v3 `provider.iam.role.statements`, v2 `provider.iamRoleStatements`.
        for list in [
            p.path(&["iam", "role", "statements"]),
            p.get("iamRoleStatements"),
        ]
        .into_iter()
        .flatten()
        {
            iam(list, "provider", &mut hits);
        }
        if let Some(env) = p.get("environment") {
            for (line, msg) in env_secrets(env) {
                hits.push(
                    Hit::new(ids::SLS_SECRET, line as usize, msg)
                        .on_kind("provider", "environment"),
                );
            }
        }
        if let Some(rt) = p.get("runtime") {
            runtime(rt, today, "provider", &mut hits);
        }
    }
    for (name, f) in doc.get("functions").map(N::entries).unwrap_or_default() {
        let res = |h: Hit| h.on_kind("function", name.clone());
        if let Some(rt) = f.get("runtime") {
            let mut v = Vec::new();
            runtime(rt, today, name, &mut v);
            hits.extend(v);
        }
        if let Some(env) = f.get("environment") {
            for (line, msg) in env_secrets(env) {
                hits.push(res(Hit::new(ids::SLS_SECRET, line as usize, msg)));
            }
        }
        if let Some(list) = f.get("iamRoleStatements") {
            iam(list, name, &mut hits);
        }
        if let Some(url) = f.get("url") {
            let open = match &url.v {
                V::Bool(b) => *b,
                V::Map(_) => url
                    .get("authorizer")
                    .and_then(N::as_str)
                    .is_none_or(|a| !a.eq_ignore_ascii_case("aws_iam")),
                _ => false,
            };
            if open {
                hits.push(res(Hit::new(
                    ids::SLS_URL_NO_AUTH,
                    url.line as usize,
                    format!("function {name} has a public URL with no authorizer: anyone can invoke it (set url.authorizer: aws_iam)"),
                )));
            }
        }
    }
    if let Some(res) = doc.path(&["resources", "Resources"]) {
        hits.extend(cloudformation::check_resources(res, today));
    }
    hits.sort_by_key(|h| h.line);
    hits
}

fn runtime(rt: &N, today: Date, owner: &str, hits: &mut Vec<Hit>) {
    if let Some(name) = rt.as_str() {
        if let Some(d) = runtimes::deprecated_on(name, today) {
            let kind = if owner == "provider" {
                "provider"
            } else {
                "function"
            };
            hits.push(
                Hit::new(
                    ids::SLS_RUNTIME,
                    rt.line as usize,
                    format!("runtime {name} was deprecated on {}", runtimes::show(d)),
                )
                .on_kind(kind, owner),
            );
        }
    }
}

fn iam(list: &N, owner: &str, hits: &mut Vec<Hit>) {
    let mut out = Vec::new();
    cloudformation::iam_with(
        &policy::statements(list),
        ids::SLS_IAM_ACTION,
        ids::SLS_IAM_RESOURCE,
        &mut out,
    );
    let kind = if owner == "provider" {
        "provider"
    } else {
        "function"
    };
    hits.extend(out.into_iter().map(|h| h.on_kind(kind, owner)));
}
