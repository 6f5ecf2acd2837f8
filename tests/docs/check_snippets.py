#!/usr/bin/env python3
"""Keeps the code blocks of a guide equal to the compiled code they show.

A fenced code block right after a tag line

    <!-- snippet: examples/dsl/first_topology_test.cc#first-topology -->

must equal the lines between the marker comments "[START first-topology]" and
"[END first-topology]" in that file (a path relative to --root), with their
common indentation removed and the marker lines of other snippets inside them
left out. Markers are comment lines: "// [START name]" or "# [START name]".
Without "#name" the block must equal the whole file.

Exit status 0 when every tagged block matches; 1 (with a diff) when one
differs, a tag names a file or snippet that does not exist, a tag is not
followed by a fenced block, or a file's markers are unbalanced or repeated.

  check_snippets.py [--root DIR] [--update] GUIDE.md...
    --update   rewrite the tagged blocks from the sources instead of checking
  check_snippets.py --self-test
    checks this checker on made-up files (exit 0 when it behaves)
"""

import argparse
import difflib
import os
import re
import sys
import tempfile

TAG = re.compile(r"^<!--\s*snippet:\s*(?P<path>[^#\s]+)(?:#(?P<name>[\w.-]+))?\s*-->\s*$")
MARKER = re.compile(r"^\s*(?://|#)\s*\[(?P<kind>START|END)\s+(?P<name>[\w.-]+)\]\s*$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})")


class SnippetError(Exception):
    """A problem with a source file's markers."""


def dedent(lines):
    """Removes the indentation common to the non-blank lines; blank lines become empty."""
    indents = [len(l) - len(l.lstrip(" ")) for l in lines if l.strip()]
    cut = min(indents) if indents else 0
    return [l[cut:] if l.strip() else "" for l in lines]


def read_snippets(path):
    """Returns {name: [lines]} of the marked regions of `path`, and "" for the whole file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    snippets = {"": lines}
    open_at = {}  # name -> index of its START line
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        name = m.group("name")
        if m.group("kind") == "START":
            if name in open_at or name in snippets:
                raise SnippetError(f"{path}:{i + 1}: snippet \"{name}\" starts twice")
            open_at[name] = i
        else:
            if name not in open_at:
                raise SnippetError(f"{path}:{i + 1}: [END {name}] without [START {name}]")
            start = open_at.pop(name)
            body = [l for l in lines[start + 1:i] if not MARKER.match(l)]
            snippets[name] = dedent(body)
    if open_at:
        name, start = next(iter(open_at.items()))
        raise SnippetError(f"{path}:{start + 1}: [START {name}] without [END {name}]")
    return snippets


def check_guide(guide, root, update):
    """Checks (or with `update` rewrites) the tagged blocks of `guide`; returns the problems."""
    with open(guide, encoding="utf-8") as f:
        lines = f.read().splitlines()
    problems = []
    cache = {}
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        tag = TAG.match(line)
        if not tag:
            continue
        where = f"{guide}:{i}"
        ref = tag.group("path") + (f"#{tag.group('name')}" if tag.group("name") else "")
        fence = FENCE.match(lines[i]) if i < len(lines) else None
        if not fence:
            problems.append(f"{where}: the snippet tag for {ref} is not followed by a fenced block")
            continue
        close = next((j for j in range(i + 1, len(lines))
                      if lines[j].strip() == fence.group("fence")), None)
        if close is None:
            problems.append(f"{where}: the code block after the tag for {ref} is never closed")
            break
        block = lines[i + 1:close]
        source = os.path.join(root, tag.group("path"))
        expected = None
        if not os.path.isfile(source):
            problems.append(f"{where}: {tag.group('path')} does not exist")
        else:
            try:
                if source not in cache:
                    cache[source] = read_snippets(source)
                expected = cache[source].get(tag.group("name") or "")
                if expected is None:
                    problems.append(f"{where}: {tag.group('path')} has no snippet "
                                    f"\"{tag.group('name')}\" (no [START {tag.group('name')}])")
            except SnippetError as e:
                problems.append(f"{where}: {e}")
        if expected is not None and block != expected:
            if update:
                block = expected
            else:
                diff = difflib.unified_diff(expected, block, f"{ref} (source)",
                                            f"{guide}:{i + 2} (guide)", lineterm="")
                problems.append(f"{where}: the block differs from {ref}:\n" + "\n".join(diff))
        out.append(lines[i])
        out.extend(block)
        out.append(lines[close])
        i = close + 1
    if update and out != lines:
        with open(guide, "w", encoding="utf-8") as f:
            f.write("\n".join(out) + "\n")
    return problems


def self_test():
    """Runs the checker on made-up guides; returns 0 when every case behaves."""
    source = "\n".join([
        "int main() {",
        "  // [START outer]",
        "  int a = 1;",
        "  // [START inner]",
        "  int b = 2;",
        "  // [END inner]",
        "  return a + b;",
        "  // [END outer]",
        "}",
        "# [START hash]",
        "set(x 1)",
        "# [END hash]",
    ]) + "\n"
    good = {
        "outer": ["int a = 1;", "int b = 2;", "return a + b;"],
        "inner": ["int b = 2;"],
        "hash": ["set(x 1)"],
    }

    def guide(ref, block, fence="```cpp"):
        return "\n".join(["# Guide", f"<!-- snippet: {ref} -->", fence] + block +
                         ["```", "text"]) + "\n"

    cases = [  # (name, guide text, problems expected?)
        ("nested region without its inner markers", guide("src.cc#outer", good["outer"]), False),
        ("inner region", guide("src.cc#inner", good["inner"]), False),
        ("region with # markers", guide("src.cc#hash", good["hash"]), False),
        ("whole file", guide("src.cc", source.splitlines()), False),
        ("a changed line", guide("src.cc#outer", ["int a = 2;", "int b = 2;", "return a + b;"]),
         True),
        ("a missing line", guide("src.cc#outer", good["outer"][:2]), True),
        ("a snippet that does not exist", guide("src.cc#nope", good["inner"]), True),
        ("a file that does not exist", guide("nope.cc#inner", good["inner"]), True),
        ("a tag without a block", "<!-- snippet: src.cc#inner -->\ntext\n", True),
        ("an unclosed block", "<!-- snippet: src.cc#inner -->\n```cpp\nint b = 2;\n", True),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "src.cc"), "w", encoding="utf-8") as f:
            f.write(source)
        with open(os.path.join(root, "bad.cc"), "w", encoding="utf-8") as f:
            f.write("// [START a]\nx\n")
        cases.append(("unbalanced markers", guide("bad.cc#a", ["x"]), True))
        for name, text, want_problems in cases:
            path = os.path.join(root, "guide.md")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            problems = check_guide(path, root, update=False)
            if bool(problems) != want_problems:
                failures += 1
                print(f"self-test FAILED: {name}: expected "
                      f"{'problems' if want_problems else 'none'}, got {problems}")
        # --update repairs a stale block, after which the check passes.
        path = os.path.join(root, "guide.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write(guide("src.cc#outer", ["stale"]))
        check_guide(path, root, update=True)
        if check_guide(path, root, update=False):
            failures += 1
            print("self-test FAILED: --update did not make the block match")
    print(f"self-test: {len(cases) + 1 - failures} of {len(cases) + 1} cases behave")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("guides", nargs="*", help="Markdown files to check")
    parser.add_argument("--root", default=".", help="directory the snippet paths are relative to")
    parser.add_argument("--update", action="store_true", help="rewrite blocks from the sources")
    parser.add_argument("--self-test", action="store_true", help="check the checker")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not args.guides:
        parser.error("no guide given")
    problems = []
    tagged = 0
    for guide in args.guides:
        with open(guide, encoding="utf-8") as f:
            tagged += sum(1 for l in f if TAG.match(l))
        problems += check_guide(guide, args.root, args.update)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in {tagged} tagged block(s); "
              f"`{os.path.basename(sys.argv[0])} --update` copies the sources into the guide")
        return 1
    print(f"{tagged} tagged block(s) match their sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
