"""Takes the shell steps out of examples/ci/*.yml for tests/test_ci_examples.sh.

    ci_extract.py github|gitlab FILE OUTDIR

Parses FILE (PyYAML), checks the structure the test relies on, and writes:
  OUTDIR/env        "export NAME=VALUE" for the job's env/variables
  OUTDIR/steps      one line per step: INDEX NAME PHASE ALWAYS
                    (PHASE: run or uses for GitHub; before, script or after for GitLab)
  OUTDIR/INDEX.sh   the shell code of each step
  OUTDIR/outputs    the report files the job publishes, one path a line
Exits 1 with one line per problem.
"""
import os
import re
import shlex
import sys

import yaml

kind, path, out = sys.argv[1:]
problems = []


def need(cond, text):
    if not cond:
        problems.append(f"{os.path.basename(path)}: {text}")
    return cond


with open(path) as f:
    doc = yaml.safe_load(f)

steps = []  # (name, phase, always, code)
outputs = []
env = {}

if kind == "github":
    # PyYAML reads the key "on" as the boolean true (YAML 1.1).
    need("on" in doc or True in doc, "no 'on:' trigger")
    job = doc.get("jobs", {}).get("device-conformance")
    if need(isinstance(job, dict), "no job 'device-conformance'"):
        env = job.get("env", {})
        for i, step in enumerate(job.get("steps", [])):
            name = step.get("id") or f"step{i}"
            always = "always()" in str(step.get("if", ""))
            need("env" not in step, f"step {name}: step-level env is not run by the test")
            if "run" in step:
                need("id" in step, f"step {i} has run: but no id")
                need("${{" not in step["run"], f"step {name}: ${{{{ }}}} in run:")
                steps.append((name, "run", always, step["run"]))
            elif "uses" in step:
                steps.append((name, "uses", always, ""))
                for key in ("report_paths", "path"):
                    value = step.get("with", {}).get(key)
                    if value is None:
                        continue
                    need(always, f"step {name} publishes reports but is not 'if: always()'")
                    value = re.sub(
                        r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: str(env.get(m.group(1), "")), value
                    )
                    need("${{" not in value, f"step {name}: unresolved expression in {value}")
                    outputs.append(value)
elif kind == "gitlab":
    job = doc.get("device-conformance")
    if need(isinstance(job, dict), "no job 'device-conformance'"):
        env = job.get("variables", {})
        for phase, key in (("before", "before_script"), ("script", "script"), ("after", "after_script")):
            for item in job.get(key, []):
                m = re.match(r"#\s*step:\s*([\w-]+)", item)
                if need(m, f"{key} item does not start with '# step: NAME': {item[:40]!r}"):
                    steps.append((m.group(1), phase, phase == "after", item))
        art = job.get("artifacts", {})
        need(art.get("when") == "always", "artifacts are not 'when: always'")
        outputs.extend(art.get("paths", []))
        junit = art.get("reports", {}).get("junit")
        if need(junit, "no artifacts:reports:junit"):
            outputs.append(junit)
else:
    sys.exit(f"unknown kind {kind}")

need(env.get("MXDEV_REPORT_DIR"), "no MXDEV_REPORT_DIR in the job's environment")
names = [s[0] for s in steps]
for wanted in ("install", "homeserver", "wait", "suite", "summary"):
    need(wanted in names, f"no step '{wanted}'")

if problems:
    print("\n".join(problems))
    sys.exit(1)

os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "env"), "w") as f:
    for k, v in env.items():
        f.write(f"export {k}={shlex.quote(str(v))}\n")
with open(os.path.join(out, "steps"), "w") as f:
    for i, (name, phase, always, code) in enumerate(steps):
        f.write(f"{i} {name} {phase} {int(always)}\n")
        if code:
            with open(os.path.join(out, f"{i}.sh"), "w") as s:
                s.write(code)
with open(os.path.join(out, "outputs"), "w") as f:
    f.write("".join(p + "\n" for p in outputs))
