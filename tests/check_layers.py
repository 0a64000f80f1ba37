#!/usr/bin/env python3
"""Module layering check (used by tests/test_layers.sh).

A module is a .c/.h pair named by its path without the extension
("suite/lib/mx_client"). Two graphs are built over the modules of the given
folders: includes (the #include "..." lines of both files) and links (the
global symbols a module's object file leaves undefined, resolved to the
module whose object file defines them; objects found through the build's
compile_commands.json). Problems, one line each:

  include cycle: A -> B -> A       modules that include each other
  link cycle: A -> B -> A          object files that need each other's symbols
  core module A includes criterion (FILE:LINE)
  core module A reaches criterion: A -> B (B includes criterion)
  core module A depends on non-core module B (include|link)
  core module A uses criterion's symbol S

Core modules are those whose .c file is compiled into the CMake target named
with --core-target (its objects sit in <target>.dir/). Exit 0 clean, 1 with
problems, 2 on bad input (a missing folder, a listed object that was not
built).
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
CRITERION = re.compile(r'^\s*#\s*include\s*[<"]criterion/')


def die(msg):
    print(f"check_layers: {msg}", file=sys.stderr)
    sys.exit(2)


def collect_modules(root, dirs):
    """module -> list of its files (absolute), for *.c/*.h directly in dirs."""
    modules = {}
    for d in dirs:
        full = os.path.join(root, d)
        if not os.path.isdir(full):
            die(f"no folder {full}")
        for name in sorted(os.listdir(full)):
            if name.endswith((".c", ".h")):
                mod = os.path.normpath(os.path.join(d, name[:-2]))
                modules.setdefault(mod, []).append(os.path.join(full, name))
    return modules


def resolve_include(root, modules, by_base, src_dir, target):
    """The module an #include "target" in a file of src_dir names, or None."""
    rel = os.path.normpath(os.path.relpath(os.path.join(src_dir, target), root))
    if rel[:-2] in modules and rel.endswith((".c", ".h")):
        return rel[:-2]
    base = os.path.basename(target)
    if not base.endswith((".c", ".h")):
        return None
    candidates = by_base.get(base[:-2], [])
    return candidates[0] if len(candidates) == 1 else None


def include_graph(root, modules):
    by_base = {}
    for mod in modules:
        by_base.setdefault(os.path.basename(mod), []).append(mod)
    edges = {m: set() for m in modules}
    criterion = {}  # module -> "file:line" of its criterion include
    for mod, files in modules.items():
        for path in files:
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    if CRITERION.match(line):
                        where = f"{os.path.relpath(path, root)}:{lineno}"
                        criterion.setdefault(mod, where)
                        continue
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    dep = resolve_include(root, modules, by_base, os.path.dirname(path),
                                          m.group(1))
                    if dep and dep != mod:
                        edges[mod].add(dep)
    return edges, criterion


def objects_of(root, modules, compile_db, core_target):
    """module -> object files; and the set of core modules."""
    objs, core = {}, set()
    if not compile_db:
        return objs, core
    try:
        with open(compile_db) as f:
            entries = json.load(f)
    except (OSError, ValueError) as e:
        die(f"{compile_db}: {e}")
    for e in entries:
        src = os.path.normpath(os.path.relpath(e["file"], root))
        if not src.endswith(".c") or src[:-2] not in modules:
            continue
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        out = e.get("output")
        if not out and "-o" in args:
            out = args[args.index("-o") + 1]
        if not out:
            continue
        out = os.path.normpath(os.path.join(e["directory"], out))
        if core_target and f"/{core_target}.dir/" in out:
            core.add(src[:-2])
        if not os.path.exists(out):
            die(f"{out} (from {src}) is missing: build the tree first")
        objs.setdefault(src[:-2], []).append(out)
    return objs, core


def symbols(obj):
    """(defined, undefined) global symbol names of an object file."""
    try:
        text = subprocess.run(["nm", "-g", "-P", obj], check=True, capture_output=True,
                              text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"nm {obj}: {e}")
    defined, undefined = set(), set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, undefined


def link_graph(modules, objs):
    defined_by, needs = {}, {}
    for mod, files in objs.items():
        for obj in files:
            d, u = symbols(obj)
            for s in d:
                defined_by.setdefault(s, set()).add(mod)
            needs.setdefault(mod, set()).update(u)
    edges = {m: set() for m in modules}
    for mod, undef in needs.items():
        for s in undef:
            for dep in defined_by.get(s, ()):
                if dep != mod:
                    edges[mod].add(dep)
    return edges, needs


def sccs(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def shortest_cycle(edges, comp):
    """A shortest cycle through the first module of a component, as a list."""
    start, members = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v]):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp + [comp[0]]


def reach_path(edges, start, goal_set):
    """The include path from start to the first module of goal_set, or None."""
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        if v in goal_set and v != start:
            path = [v]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            return list(reversed(path))
        for w in sorted(edges[v]):
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="the source tree")
    ap.add_argument("--compile-db", help="compile_commands.json of a built tree")
    ap.add_argument("--core-target", help="CMake target holding the core modules")
    ap.add_argument("dirs", nargs="+", help="folders (relative to root) to check")
    a = ap.parse_args()
    root = os.path.abspath(a.root)

    modules = collect_modules(root, a.dirs)
    inc, criterion = include_graph(root, modules)
    objs, core = objects_of(root, modules, a.compile_db, a.core_target)
    if a.core_target and not core:
        die(f"no object of the target {a.core_target} in {a.compile_db}")
    link, needs = link_graph(modules, objs)
    problems = []

    for kind, graph in (("include", inc), ("link", link)):
        for comp in sccs(graph):
            line = f"{kind} cycle: " + " -> ".join(shortest_cycle(graph, comp))
            if len(comp) > 2:
                line += f" (all of {', '.join(comp)} reach each other)"
            problems.append(line)
    for mod in sorted(core):
        if mod in criterion:
            problems.append(f"core module {mod} includes criterion ({criterion[mod]})")
        else:
            path = reach_path(inc, mod, set(criterion))
            if path:
                problems.append(f"core module {mod} reaches criterion: "
                                f"{' -> '.join(path)} ({criterion[path[-1]]})")
        for kind, graph in (("include", inc), ("link", link)):
            for dep in sorted(graph[mod]):
                # Header-only modules (no .c) belong to no library.
                has_c = any(f.endswith(".c") for f in modules[dep])
                if has_c and dep not in core:
                    problems.append(f"core module {mod} depends on non-core module {dep} "
                                    f"({kind})")
        bad = sorted(s for s in needs.get(mod, ()) if s.startswith(("criterion_", "cr_")))
        if bad:
            problems.append(f"core module {mod} uses criterion's symbol {bad[0]}")

    for p in problems:
        print(p)
    sys.stdout.flush()
    n_obj = sum(len(v) for v in objs.values())
    print(f"layers: {len(modules)} modules, {n_obj} object files, {len(core)} core modules, "
          f"{len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
