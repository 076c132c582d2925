"""Give remedyd on the e2e cluster exactly the access the README grants.

Runs the README's "Running against a real cluster" commands verbatim, as a
user would paste them, with one change each where a path or a namespace
must differ: the token goes to REMEDY_E2E_DIR/remedyd.token instead of
/etc/remedyd/token, and the per-namespace lines (`kubectl -n demo ...`) are
kept in REMEDY_E2E_DIR/rolebinding.sh, which each test runs for its own
namespaces.  Then writes REMEDY_E2E_DIR/remedyd.kubeconfig with that token.

`kubectl create token` needs a kubectl of 1.24 or later; the cluster's own
kubectl is v1.20, so the newest kubectl on PATH runs the block when there
is one, and otherwise the v1.20 kubectl runs it and the token comes from the
ServiceAccount's token Secret (which a v1.20 controller-manager creates).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

SRCDIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
D = os.environ["REMEDY_E2E_DIR"]


def readme_block():
    with open(os.path.join(SRCDIR, "README.md")) as f:
        text = f.read()
    sec = text.index("## Running against a real cluster")
    m = re.search(r"```sh\n(.*?)```", text[sec:], re.S)
    if not m:
        sys.exit("setup_rbac: no ```sh block under 'Running against a real cluster'")
    # join continuation lines
    return m.group(1).replace("\\\n", " ").splitlines()


def main():
    env = {}
    with open(os.path.join(D, "env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    cluster_kubectl = env["REMEDY_E2E_KUBECTL"]
    newer = shutil.which("kubectl")
    if newer and subprocess.run([newer, "create", "token", "--help"],
                                capture_output=True).returncode != 0:
        newer = None
    kubectl = newer or cluster_kubectl
    token_path = os.path.join(D, "remedyd.token")

    lines = [ln.strip() for ln in readme_block()]
    run, per_ns = [], []
    for ln in lines:
        if not ln or ln.startswith("#"):
            continue
        if not ln.startswith("kubectl "):
            sys.exit("setup_rbac: README line is not a kubectl command: %r" % ln)
        if re.search(r"(^| )-n demo( |$)", ln):
            per_ns.append(ln.replace("-n demo", '-n "$1"', 1))
            continue
        if " create token " in ln and not newer:
            continue    # v1.20: the token Secret below
        run.append(ln.replace("/etc/remedyd/token", token_path))
    if not per_ns:
        sys.exit("setup_rbac: README grants nothing per namespace (no `kubectl -n demo` line)")
    envp = dict(os.environ, KUBECONFIG=env["KUBECONFIG"])
    for ln in run:
        cmd = kubectl + ln[len("kubectl"):]
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], env=envp,
                           capture_output=True, text=True)
        print("$ " + ln)
        if r.returncode:
            sys.exit("setup_rbac: README command failed: %s\n%s" % (ln, r.stderr))
    with open(os.path.join(D, "rolebinding.sh"), "w") as f:
        f.write("\n".join(per_ns) + "\n")
    if not newer:
        def secret_token():
            r = subprocess.run([cluster_kubectl, "--kubeconfig", env["KUBECONFIG"], "-n", "remedy",
                                "get", "serviceaccount", "remedyd", "-o", "json"],
                               capture_output=True, text=True)
            if r.returncode:
                return None
            secrets = json.loads(r.stdout).get("secrets") or []
            if not secrets:
                return None
            r = subprocess.run([cluster_kubectl, "--kubeconfig", env["KUBECONFIG"], "-n", "remedy",
                                "get", "secret", secrets[0]["name"], "-o",
                                "jsonpath={.data.token}"], capture_output=True, text=True)
            return r.stdout if r.returncode == 0 and r.stdout else None
        deadline = time.monotonic() + 30
        while (tok := secret_token()) is None:
            if time.monotonic() > deadline:
                sys.exit("setup_rbac: the ServiceAccount's token Secret did not appear")
            time.sleep(0.2)
        import base64
        with open(token_path, "w") as f:
            f.write(base64.b64decode(tok).decode())
    os.chmod(token_path, 0o600)
    with open(os.path.join(D, "remedyd.kubeconfig"), "w") as f:
        f.write("apiVersion: v1\nkind: Config\n"
                "clusters:\n- name: e2e\n  cluster:\n    server: %s\n"
                "    certificate-authority: %s\n"
                "users:\n- name: remedyd\n  user:\n    tokenFile: %s\n"
                "contexts:\n- name: e2e\n  context: {cluster: e2e, user: remedyd}\n"
                "current-context: e2e\n" % (env["REMEDY_E2E_API"], env["REMEDY_E2E_CA"],
                                            token_path))
    print("setup_rbac: remedyd authenticates as system:serviceaccount:remedy:remedyd "
          "(kubectl used for the README block: %s)" % kubectl)


if __name__ == "__main__":
    main()
