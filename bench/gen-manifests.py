#!/usr/bin/env python3
"""Writes a synthetic configuration corpus for the `check config` speed runs.

Usage: bench/gen-manifests.py N OUTDIR

Writes N files under OUTDIR, 100 per sub-folder: seven in ten are Kubernetes
manifests (a Deployment, StatefulSet, DaemonSet, CronJob or Pod, some with a
Service, Role or RoleBinding in the same file), two in ten are Dockerfiles (each
in its own folder, named `Dockerfile`, which every tool recognises) and one in
ten is a Terraform file with AWS resources. Content varies deterministically with
the file number (no randomness), so a run is reproducible and about half of the
files carry findings. Only the Python standard library is used.
"""

import os
import sys


def indent(text: str, n: int) -> str:
    pad = " " * n
    return "".join(pad + line + "\n" if line else "\n" for line in text.splitlines())


def pod_spec(i: int) -> str:
    """A pod spec at indentation 0."""
    risky = i % 2 == 0
    image = (
        f"registry.example.com/team/app{i % 37}:latest"
        if i % 3 == 0
        else f"registry.example.com/team/app{i % 37}:1.{i % 9}.{i % 7}"
        + ("@sha256:" + f"{i:064x}" if i % 4 == 0 else "")
    )
    out = [f"automountServiceAccountToken: {'true' if risky else 'false'}"]
    if i % 10 == 4:
        out += ["hostNetwork: true", "hostPID: true"]
    out += ["containers:", "  - name: app", f"    image: {image}", "    ports:", f"      - containerPort: {8000 + i % 100}"]
    if i % 12 == 6:
        out.append("        hostPort: 8080")
    if risky:
        out += ["    securityContext:", "      privileged: true", "      capabilities:", '        add: ["NET_ADMIN", "SYS_TIME"]']
    else:
        out += [
            "    securityContext:",
            "      allowPrivilegeEscalation: false",
            "      runAsNonRoot: true",
            "      runAsUser: 10001",
            "      readOnlyRootFilesystem: true",
            "      capabilities:",
            '        drop: ["ALL"]',
            "      seccompProfile:",
            "        type: RuntimeDefault",
        ]
    if i % 4 != 1:
        out += ["    resources:", "      limits: {cpu: 500m, memory: 256Mi}", "      requests: {cpu: 100m, memory: 128Mi}"]
    out += ["    env:", "      - name: DB_PASSWORD"]
    if i % 6 == 0:
        out.append(f'        value: "s3cret-{i}"')
    else:
        out += ["        valueFrom:", "          secretKeyRef: {name: db, key: password}"]
    out.append("    volumeMounts:")
    if i % 8 == 2:
        out += ["      - {name: host, mountPath: /var/run/docker.sock}", "volumes:", "  - name: host", "    hostPath: {path: /var/run/docker.sock}"]
    else:
        out += ["      - {name: cache, mountPath: /cache}", "volumes:", "  - name: cache", "    emptyDir: {}"]
    return "\n".join(out) + "\n"


def k8s(i: int) -> str:
    kind = ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Pod"][i % 5]
    ns = f"team-{i % 13}"
    meta = f"metadata:\n  name: app-{i}\n  namespace: {ns}\n  labels: {{app: app-{i}}}\n"
    spec = pod_spec(i)
    if kind == "Pod":
        doc = f"apiVersion: v1\nkind: Pod\n{meta}spec:\n" + indent(spec, 2)
    elif kind == "CronJob":
        doc = (
            f"apiVersion: batch/v1\nkind: CronJob\n{meta}spec:\n  schedule: \"*/5 * * * *\"\n"
            "  jobTemplate:\n    spec:\n      template:\n        metadata:\n"
            f"          labels: {{app: app-{i}}}\n        spec:\n          restartPolicy: OnFailure\n"
            + indent(spec, 10)
        )
    else:
        extra = "  serviceName: app\n" if kind == "StatefulSet" else ""
        replicas = "" if kind == "DaemonSet" else f"  replicas: {1 + i % 3}\n"
        doc = (
            f"apiVersion: apps/v1\nkind: {kind}\n{meta}spec:\n{replicas}{extra}"
            f"  selector:\n    matchLabels: {{app: app-{i}}}\n  template:\n    metadata:\n"
            f"      labels: {{app: app-{i}}}\n    spec:\n" + indent(spec, 6)
        )
    docs = [doc]
    if i % 5 == 1:
        docs.append(
            f"apiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: {ns}\n"
            f"spec:\n  selector: {{app: app-{i}}}\n  ports:\n    - port: 80\n      targetPort: {8000 + i % 100}\n"
        )
    if i % 9 == 3:
        verbs = '["*"]' if i % 2 else '["get", "list"]'
        res = '["secrets", "pods/exec"]' if i % 2 else '["configmaps"]'
        docs.append(
            f"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: role-{i}\n  namespace: {ns}\n"
            f'rules:\n  - apiGroups: [""]\n    resources: {res}\n    verbs: {verbs}\n'
        )
        docs.append(
            f"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: bind-{i}\n  namespace: {ns}\n"
            f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: role-{i}}}\n"
            f"subjects:\n  - {{kind: ServiceAccount, name: app-{i}, namespace: {ns}}}\n"
        )
    return "---\n".join(docs)


def dockerfile(n: int) -> str:
    i = n // 10 * 2 + n % 10 - 7  # the Dockerfile's own running number
    base = "debian:latest" if i % 5 == 0 else ("python" if i % 7 == 0 else "debian:12.7-slim")
    lines = [f"FROM golang:1.23.{i % 5} AS build", "WORKDIR /src", "COPY . .", "RUN go build -o /out/app ./cmd/app", "", f"FROM {base}"]
    if i % 3 == 0:
        lines.append("RUN apt-get update && apt-get install -y curl git")
    else:
        lines.append("RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 && rm -rf /var/lib/apt/lists/*")
    if i % 4 == 1:
        lines.append("RUN curl -fsSL https://get.example.com/install.sh | sh")
    if i % 6 == 2:
        lines.append(f"ENV API_TOKEN=tok-{i:08d}")
    if i % 8 == 3:
        lines.append("ADD https://example.com/tool.tar.gz /opt/")
    lines.append("COPY --from=build /out/app /usr/local/bin/app")
    if i % 2 == 1:
        lines.append("USER 10001")
    if i % 3 != 1:
        lines.append('HEALTHCHECK --interval=30s CMD ["/usr/local/bin/app", "health"]')
    lines.append('ENTRYPOINT ["/usr/local/bin/app"]')
    return "\n".join(lines) + "\n"


def terraform(n: int) -> str:
    i = n // 10  # the Terraform file's own running number
    acl = '  acl    = "public-read"\n' if i % 3 == 0 else ""
    enc = "true" if i % 2 else "false"
    cidr = "0.0.0.0/0" if i % 4 == 0 else "10.0.0.0/8"
    action = '"*"' if i % 5 == 0 else '["s3:GetObject"]'
    runtime = "python3.7" if i % 6 == 0 else "python3.13"
    return f'''resource "aws_s3_bucket" "b{i}" {{
  bucket = "example-bucket-{i}"
{acl}}}

resource "aws_ebs_volume" "v{i}" {{
  availability_zone = "eu-west-1a"
  size              = {10 + i % 50}
  encrypted         = {enc}
}}

resource "aws_security_group" "sg{i}" {{
  name   = "sg-{i}"
  vpc_id = "vpc-0123456789abcdef0"
  ingress {{
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["{cidr}"]
  }}
}}

resource "aws_iam_policy" "p{i}" {{
  name = "p-{i}"
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect   = "Allow"
      Action   = {action}
      Resource = "arn:aws:s3:::example-bucket-{i}/*"
    }}]
  }})
}}

resource "aws_lambda_function" "f{i}" {{
  function_name = "f-{i}"
  role          = "arn:aws:iam::123456789012:role/f"
  handler       = "app.handler"
  runtime       = "{runtime}"
  filename      = "f.zip"
}}
'''


def main() -> int:
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    n, out = int(sys.argv[1]), sys.argv[2]
    for i in range(n):
        d = os.path.join(out, f"g{i // 100:04d}")
        os.makedirs(d, exist_ok=True)
        slot = i % 10
        if slot < 7:
            path, text = os.path.join(d, f"m{i:06d}.yaml"), k8s(i)
        elif slot < 9:
            sub = os.path.join(d, f"d{i:06d}")
            os.makedirs(sub, exist_ok=True)
            path, text = os.path.join(sub, "Dockerfile"), dockerfile(i)
        else:
            path, text = os.path.join(d, f"t{i:06d}.tf"), terraform(i)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
