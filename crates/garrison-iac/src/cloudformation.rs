//! CloudFormation and SAM templates (YAML with short-form intrinsics, or JSON): the
//! resource checks, also run on the `resources.Resources` section of serverless.yml.

use crate::ids;
use crate::policy::{self, Statement};
use crate::runtimes::{self, Date};
use crate::terraform::{env_secrets, open_admin_ports, world_cidr};
use crate::tree::{N, V};
use crate::Hit;

const PUBLIC_ACLS: &[&str] = &["PublicRead", "PublicReadWrite", "AuthenticatedRead"];

/// Checks a template's `Resources` (and SAM `Globals`).
pub fn check(template: &N, today: Date) -> Vec<Hit> {
    let globals = template.path(&["Globals", "Function"]);
    let mut hits = Vec::new();
    if let Some(res) = template.get("Resources") {
        hits.extend(check_resources(res, today));
    }
    if let Some(g) = globals {
        // Globals apply to every AWS::Serverless::Function; report them once, where written.
        if let Some(rt) = g.get("Runtime") {
            runtime(rt, today, "Globals", &mut hits);
        }
        if let Some(vars) = g.path(&["Environment", "Variables"]) {
            for (line, msg) in env_secrets(vars) {
                hits.push(
                    Hit::new(ids::CFN_LAMBDA_SECRET, line as usize, msg)
                        .on_kind("Globals", "Function"),
                );
            }
        }
    }
    hits.sort_by_key(|h| h.line);
    hits
}

fn runtime(rt: &N, today: Date, res: &str, hits: &mut Vec<Hit>) {
    if let Some(name) = rt.as_str() {
        if let Some(d) = runtimes::deprecated_on(name, today) {
            hits.push(
                Hit::new(
                    ids::CFN_LAMBDA_RUNTIME,
                    rt.line as usize,
                    format!("runtime {name} was deprecated on {}", runtimes::show(d)),
                )
                .on_kind(
                    if res == "Globals" {
                        "Globals"
                    } else {
                        "AWS::Lambda::Function"
                    },
                    res,
                ),
            );
        }
    }
}

/// Checks a `Resources` mapping.
pub fn check_resources(resources: &N, today: Date) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (name, r) in resources.entries() {
        let Some(ty) = r.get("Type").and_then(N::as_str) else {
            continue;
        };
        let empty = N::new(r.line, V::Map(Vec::new()));
        let p = r.get("Properties").unwrap_or(&empty);
        let mut out: Vec<Hit> = Vec::new();
        let at = |n: Option<&N>| n.map_or(r.line, |n| n.line) as usize;
        match ty {
            "AWS::S3::Bucket" => {
                if let Some(acl) = p.get("AccessControl") {
                    if let Some(a) = acl.as_str().filter(|a| PUBLIC_ACLS.contains(a)) {
                        out.push(Hit::new(
                            ids::CFN_S3_PUBLIC_ACL,
                            acl.line as usize,
                            format!("AccessControl {a} makes the bucket readable by anyone"),
                        ));
                    }
                }
                if let Some(pab) = p.get("PublicAccessBlockConfiguration") {
                    let off: Vec<&str> = [
                        "BlockPublicAcls",
                        "BlockPublicPolicy",
                        "IgnorePublicAcls",
                        "RestrictPublicBuckets",
                    ]
                    .into_iter()
                    .filter(|k| !pab.get(k).is_some_and(|v| v.is_true() || v.is_dynamic()))
                    .collect();
                    if !off.is_empty() {
                        let line = off
                            .iter()
                            .find_map(|k| pab.get(k))
                            .map_or(pab.line, |n| n.line);
                        out.push(Hit::new(
                            ids::CFN_S3_PAB,
                            line as usize,
                            format!(
                                "{} not true in PublicAccessBlockConfiguration",
                                off.join(", ")
                            ),
                        ));
                    }
                }
                if p.get("BucketEncryption").is_none() {
                    out.push(Hit::new(
                        ids::CFN_S3_SSE,
                        r.line as usize,
                        format!("bucket {name} has no BucketEncryption"),
                    ));
                }
            }
            "AWS::S3::BucketPolicy" => {
                for s in p
                    .get("PolicyDocument")
                    .map(policy::statements)
                    .unwrap_or_default()
                {
                    if let Some(line) = s.public() {
                        out.push(Hit::new(
                            ids::CFN_S3_POLICY_PUBLIC,
                            line as usize,
                            "bucket policy allows Principal \"*\" with no condition".into(),
                        ));
                    }
                }
            }
            "AWS::EC2::SecurityGroup" => {
                for rule in p
                    .get("SecurityGroupIngress")
                    .map(N::one_or_many)
                    .unwrap_or_default()
                {
                    sg_rule(rule, &mut out);
                }
            }
            "AWS::EC2::SecurityGroupIngress" => sg_rule(p, &mut out),
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                iam(
                    &p.get("PolicyDocument")
                        .map(policy::statements)
                        .unwrap_or_default(),
                    &mut out,
                );
            }
            "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => {
                for pol in p.get("Policies").map(N::one_or_many).unwrap_or_default() {
                    iam(
                        &pol.get("PolicyDocument")
                            .map(policy::statements)
                            .unwrap_or_default(),
                        &mut out,
                    );
                }
            }
            "AWS::EC2::Volume"
                if !p
                    .get("Encrypted")
                    .is_some_and(|v| v.is_true() || v.is_dynamic()) =>
            {
                out.push(Hit::new(
                    ids::CFN_EBS,
                    at(p.get("Encrypted")),
                    format!("EBS volume {name} is not encrypted"),
                ));
            }
            "AWS::EC2::Instance" => ebs_mappings(p.get("BlockDeviceMappings"), name, &mut out),
            "AWS::EC2::LaunchTemplate" => ebs_mappings(
                p.path(&["LaunchTemplateData", "BlockDeviceMappings"]),
                name,
                &mut out,
            ),
            "AWS::RDS::DBInstance" => {
                let inherits = [
                    "SourceDBInstanceIdentifier",
                    "DBSnapshotIdentifier",
                    "DBClusterIdentifier",
                ]
                .iter()
                .any(|k| p.get(k).is_some());
                if !inherits
                    && !p
                        .get("StorageEncrypted")
                        .is_some_and(|v| v.is_true() || v.is_dynamic())
                {
                    out.push(Hit::new(
                        ids::CFN_RDS,
                        at(p.get("StorageEncrypted")),
                        format!("{name} sets no StorageEncrypted: true"),
                    ));
                }
            }
            "AWS::RDS::DBCluster"
                if p.get("SnapshotIdentifier").is_none()
                    && !p
                        .get("StorageEncrypted")
                        .is_some_and(|v| v.is_true() || v.is_dynamic()) =>
            {
                out.push(Hit::new(
                    ids::CFN_RDS,
                    at(p.get("StorageEncrypted")),
                    format!("{name} sets no StorageEncrypted: true"),
                ));
            }
            "AWS::EFS::FileSystem"
                if !p
                    .get("Encrypted")
                    .is_some_and(|v| v.is_true() || v.is_dynamic()) =>
            {
                out.push(Hit::new(
                    ids::CFN_EFS,
                    at(p.get("Encrypted")),
                    format!("EFS file system {name} is not encrypted"),
                ));
            }
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => {
                if let Some(rt) = p.get("Runtime") {
                    runtime(rt, today, name, &mut out);
                }
                if let Some(vars) = p.path(&["Environment", "Variables"]) {
                    for (line, msg) in env_secrets(vars) {
                        out.push(Hit::new(ids::CFN_LAMBDA_SECRET, line as usize, msg));
                    }
                }
                if ty == "AWS::Serverless::Function" {
                    for pol in p.get("Policies").map(N::one_or_many).unwrap_or_default() {
                        // Inline statements; strings name managed policies, other maps are SAM policy templates.
                        if pol.get("Statement").is_some() {
                            iam(&policy::statements(pol), &mut out);
                        }
                    }
                    if let Some(url) = p.get("FunctionUrlConfig") {
                        if let Some(a) = url.get("AuthType").filter(|a| a.as_str() == Some("NONE"))
                        {
                            out.push(Hit::new(ids::CFN_URL_NO_AUTH, a.line as usize, format!("function URL of {name} has AuthType NONE: anyone can invoke it")));
                        }
                    }
                }
            }
            "AWS::Lambda::Url" => {
                if let Some(a) = p.get("AuthType").filter(|a| a.as_str() == Some("NONE")) {
                    out.push(Hit::new(
                        ids::CFN_URL_NO_AUTH,
                        a.line as usize,
                        format!("function URL {name} has AuthType NONE: anyone can invoke it"),
                    ));
                }
            }
            _ => {}
        }
        hits.extend(out.into_iter().map(|h| {
            if h.resource.is_none() {
                h.on_kind(ty, name)
            } else {
                h
            }
        }));
    }
    hits
}

fn ebs_mappings(list: Option<&N>, name: &str, out: &mut Vec<Hit>) {
    for m in list.map(N::one_or_many).unwrap_or_default() {
        let Some(ebs) = m.get("Ebs") else { continue };
        if !ebs
            .get("Encrypted")
            .is_some_and(|v| v.is_true() || v.is_dynamic())
        {
            let line = ebs.get("Encrypted").map_or(ebs.line, |n| n.line);
            out.push(Hit::new(
                ids::CFN_EBS,
                line as usize,
                format!("an EBS block device of {name} is not encrypted"),
            ));
        }
    }
}

fn sg_rule(rule: &N, out: &mut Vec<Hit>) {
    let world = ["CidrIp", "CidrIpv6"]
        .iter()
        .filter_map(|k| rule.get(k))
        .find(|c| c.as_str().is_some_and(world_cidr));
    let Some(w) = world else { return };
    let proto = rule.get("IpProtocol").and_then(N::scalar);
    let from = rule.get("FromPort").and_then(N::as_i64);
    let to = rule.get("ToPort").and_then(N::as_i64);
    if let Some(what) = open_admin_ports(proto.as_deref(), from, to) {
        out.push(Hit::new(
            ids::CFN_SG_OPEN,
            w.line as usize,
            format!("ingress from {} to {what}", w.as_str().unwrap_or("")),
        ));
    }
}

/// Wildcard findings of a statement list with the given check IDs.
pub fn iam_with(
    stmts: &[Statement],
    action_id: &'static str,
    resource_id: &'static str,
    out: &mut Vec<Hit>,
) {
    for s in stmts {
        if let Some((line, a)) = s.wildcard_action(false) {
            out.push(Hit::new(
                action_id,
                line as usize,
                format!("an Allow statement grants Action \"{a}\""),
            ));
        } else if s.allows_not_action() {
            out.push(Hit::new(
                action_id,
                s.line as usize,
                "an Allow statement with NotAction grants every other action".into(),
            ));
        }
        if let Some(line) = s.wildcard_resource() {
            out.push(Hit::new(
                resource_id,
                line as usize,
                "an Allow statement grants non-read actions on Resource \"*\"".into(),
            ));
        }
    }
}

fn iam(stmts: &[Statement], out: &mut Vec<Hit>) {
    iam_with(stmts, ids::CFN_IAM_ACTION, ids::CFN_IAM_RESOURCE, out);
}
