#!/usr/bin/env python3
"""The layout bar of issue 17, checked on every CI run.

For each crate source folder given:
- the file-level import graph (`use` lines and `crate::`/`super::`/`self::` paths,
  comments and `#[cfg(test)] mod tests` aside) has no circle other than a module and
  its own children;
- no file is over 600 lines before its tests;
- the folder's root holds at most 12 files beside its sub-folders.

    python3 .ci/layout.py continuum-runtime/src continuum-macros/src    # -v: print the graph

A module's `pub use` of a sibling counts as an import: a re-export is how a circle
hides. A path through a root re-export (`crate::Hub`) is followed to the module that
defines it.
"""
import os
import re
import sys

MAX_LINES = 600
MAX_ROOT_FILES = 12


def strip_comments(text):
    return re.sub(r'//[^\n]*', '', text)


def before_tests(text):
    """The text before the first `#[cfg(test)]` at the start of a line (a
    module's tests; an indented one marks a single item and does not count)."""
    m = re.search(r'^#\[cfg\(test\)\]', text, flags=re.M)
    return text if m is None else text[:m.start()]


def flat_use(text):
    """`a::{b, c::{d}}` → ['a::b', 'a::c::d']."""
    out = []

    def expand(prefix, s):
        depth, items, cur = 0, [], ''
        for ch in s:
            if ch == '{':
                depth += 1
            if ch == '}':
                depth -= 1
            if ch == ',' and depth == 0:
                items.append(cur)
                cur = ''
            else:
                cur += ch
        items.append(cur)
        for it in (i.strip() for i in items):
            if not it:
                continue
            if '{' in it:
                pre, rest = it.split('{', 1)
                expand(prefix + pre.strip(), rest.rsplit('}', 1)[0])
            else:
                out.append(prefix + it.split(' as ')[0].strip())

    expand('', text.strip())
    return out


def modules(root):
    files = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            if f.endswith('.rs'):
                rel = os.path.relpath(os.path.join(d, f), root)
                parts = rel[:-3].split('/')
                if parts[-1] in ('mod', 'lib', 'main'):
                    parts = parts[:-1]
                files[tuple(parts)] = rel
    lib_path = os.path.join(root, 'lib.rs')
    lib = open(lib_path).read() if os.path.exists(lib_path) else ''
    # `#[path = "private.rs"] pub mod __private;`
    for m in re.finditer(r'#\[path = "([^"]+)"\]\s*pub mod (\w+)', lib):
        src = tuple(m.group(1)[:-3].split('/'))
        if src in files:
            files[(m.group(2),)] = files.pop(src)
    reexports = {}
    for m in re.finditer(r'pub use (?:crate::)?([^;]+);', strip_comments(lib)):
        for p in flat_use(m.group(1)):
            segs = p.split('::')
            reexports[segs[-1]] = tuple(segs[:-1])
    return files, reexports


def graph(root):
    files, reexports = modules(root)

    def resolve(segs, seen=0):
        for n in range(len(segs), 0, -1):
            if tuple(segs[:n]) in files:
                return tuple(segs[:n])
        if segs and segs[0] in reexports and seen < 8:
            return resolve(list(reexports[segs[0]]) + segs[1:], seen + 1)
        return ()

    edges = {}
    for mod, rel in files.items():
        text = strip_comments(before_tests(open(os.path.join(root, rel)).read()))
        paths = []
        for m in re.finditer(r'\buse\s+([^;]+);', text):
            paths += flat_use(m.group(1))
        paths += re.findall(r'\b((?:crate|super|self)(?:::\w+)+)', text)
        deps = set()
        for p in paths:
            segs = [s for s in p.split('::') if s]
            if not segs:
                continue
            if segs[0] == 'crate':
                target = resolve(segs[1:])
            elif segs[0] == 'super':
                base = list(mod)
                while segs and segs[0] == 'super':
                    base, segs = base[:-1], segs[1:]
                target = resolve(base + segs)
            elif segs[0] == 'self':
                target = resolve(list(mod) + segs[1:])
            else:
                continue
            if target != mod and target in files:
                deps.add(target)
        edges[mod] = deps
    return files, edges


def parent_child(a, b):
    return (len(a) + 1 == len(b) and b[:-1] == a) or (len(b) + 1 == len(a) and a[:-1] == b)


def circles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    g = {a: {b for b in bs if not parent_child(a, b)} for a, bs in edges.items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
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
                out.append(comp)

    for v in g:
        if v not in index:
            visit(v)
    return g, out


def check(root, verbose):
    failures = []
    files, edges = graph(root)
    g, comps = circles(edges)
    if verbose:
        for a in sorted(g):
            print(f'{files[a]} -> {", ".join(sorted(files[b] for b in g[a]))}')
    for comp in comps:
        inside = [f'{files[a]} -> {files[b]}' for a in comp for b in g[a] if b in comp]
        failures.append('import circle: ' + '; '.join(sorted(inside)))
    for rel in sorted(files.values()):
        n = before_tests(open(os.path.join(root, rel)).read()).count('\n')
        if n > MAX_LINES:
            failures.append(f'{rel}: {n} lines before its tests (at most {MAX_LINES})')
    at_root = [f for f in os.listdir(root) if f.endswith('.rs')]
    if len(at_root) > MAX_ROOT_FILES:
        failures.append(f'{len(at_root)} files at the root (at most {MAX_ROOT_FILES}): {sorted(at_root)}')
    return len(files), failures


def main():
    verbose = '-v' in sys.argv
    roots = [a for a in sys.argv[1:] if a != '-v']
    bad = False
    for root in roots:
        count, failures = check(root, verbose)
        for f in failures:
            print(f'{root}: {f}')
        bad |= bool(failures)
        print(f'{root}: {count} files, {"FAILED" if failures else "ok"}')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
