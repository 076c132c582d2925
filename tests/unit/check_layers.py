#!/usr/bin/env python3
"""check_layers.py - lib/ is built in layers; no file includes from above.

Every file of libremedy lives in one folder of lib/, and every folder
belongs to one layer of LAYERS below, lowest first.  A file may include
headers of its own folder and of the layers below its own; it may not
include from a higher layer, nor from another folder of its own layer
(folders of one layer are independent of each other).  Includes are
written relative to lib/ ("kube/objects.h"), so the first path component
names the folder.

    check_layers.py [LIBDIR]     check LIBDIR (default: lib/ of this tree)

Before checking LIBDIR the script checks a small tree of its own that holds
one violation of each kind, and fails if it does not find them: a checker
that cannot fail proves nothing.

Prints one line per violation, as FILE:LINE: what and which layers, and
exits 1 when there is any; exits 0 with a one-line summary otherwise.
"""
import os
import re
import sys
import tempfile

# The layer order, lowest first.  Folders on one line are peers.
LAYERS = [
    ["base"],                   # util, log, alloc, hmap, http, yamltree, ...
    ["kube", "registry"],       # the API server, image registries
    ["analyze"],                # findings from projections, incidents
    ["action"],                 # proposal, policy wall, normalise, fixes
    ["store", "diagnose"],      # SQLite store + approve gate; backends
    ["conf"],                   # remedyd.yaml: configures all of the above
]

# Headers the build writes (lib/CMakeLists.txt), not found in the sources.
GENERATED = {"remedy_commit.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def rank_of():
    ranks = {}
    for i, folders in enumerate(LAYERS):
        for f in folders:
            ranks[f] = i
    return ranks


def describe(folder, ranks):
    return "%s (layer %d)" % (folder, ranks[folder])


def check(libdir):
    """Return (violations, files checked, includes checked)."""
    ranks = rank_of()
    errs = []
    nfiles = nincs = 0
    for dirpath, dirnames, filenames in os.walk(libdir):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, libdir)
            parts = rel.split(os.sep)
            nfiles += 1
            if len(parts) < 2:
                errs.append("%s:1: a source file at the top of lib/; put it "
                            "in the folder of its layer" % path)
                continue
            folder = parts[0]
            if folder not in ranks:
                errs.append("%s:1: folder %s/ is in no layer (add it to "
                            "LAYERS in %s)" % (path, folder, __file__))
                continue
            with open(path, encoding="utf-8", errors="replace") as fp:
                for lineno, line in enumerate(fp, 1):
                    m = INCLUDE.match(line)
                    if m is None:
                        continue
                    inc = m.group(1)
                    nincs += 1
                    if inc in GENERATED:
                        continue
                    where = "%s:%d" % (path, lineno)
                    ipath = inc.split("/")
                    if ".." in ipath or len(ipath) < 2:
                        errs.append('%s: "%s" is not a lib/ path of the form '
                                    'FOLDER/FILE' % (where, inc))
                        continue
                    if not os.path.isfile(os.path.join(libdir, inc)):
                        errs.append('%s: "%s" is not under lib/' %
                                    (where, inc))
                        continue
                    to = ipath[0]
                    if to not in ranks:
                        errs.append('%s: "%s" is in folder %s/, which is in '
                                    'no layer' % (where, inc, to))
                    elif ranks[to] > ranks[folder]:
                        errs.append('%s: %s includes "%s" from the higher '
                                    'layer %s' % (where, describe(folder, ranks),
                                                  inc, describe(to, ranks)))
                    elif ranks[to] == ranks[folder] and to != folder:
                        errs.append('%s: %s includes "%s" from its peer %s; '
                                    'peers stay independent' %
                                    (where, describe(folder, ranks), inc,
                                     describe(to, ranks)))
    return errs, nfiles, nincs


def selftest():
    """The checker finds a violation of each kind in a tree made for it."""
    files = {
        "base/util.h": "",
        "base/bad.c": '#include "kube/client.h"\n',       # upward
        "kube/client.h": '#include "base/util.h"\n',      # fine
        "kube/peer.c": '#include "registry/ref.h"\n',     # peer
        "registry/ref.h": "",
        "conf/config.c": '#include "kube/client.h"\n'     # fine
                         '#include "util.h"\n',           # not FOLDER/FILE
        "top.c": "",                                      # loose at the top
    }
    want = ["base/bad.c:1", "kube/peer.c:1", "conf/config.c:2", "top.c:1"]
    with tempfile.TemporaryDirectory() as d:
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as fp:
                fp.write(text)
        errs, _, _ = check(d)
        got = [e[len(d) + 1:] for e in errs]
    missing = [w for w in want if not any(g.startswith(w + ":") for g in got)]
    if missing or len(got) != len(want):
        print("check_layers self-test: expected violations at %s, got:\n  %s"
              % (", ".join(want), "\n  ".join(got) or "(none)"))
        return False
    return True


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    libdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "..", "lib")
    libdir = os.path.normpath(libdir)
    if not selftest():
        return 1
    errs, nfiles, nincs = check(libdir)
    for e in errs:
        print(e)
    if errs:
        print("%d layering violation(s) in %s; the order, lowest first: %s"
              % (len(errs), libdir,
                 " < ".join("/".join(f) for f in LAYERS)))
        return 1
    print("%s: %d files, %d includes, every one from its own layer or below"
          % (libdir, nfiles, nincs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
