#!/usr/bin/env python3
"""CPU time (user + sys) of each translation unit of a build, without ccache.

usage: bench/time_tus.py BUILD_DIR/compile_commands.json OUT.tsv [FILES.txt]

Runs every compile command of compile_commands.json (only the files listed one per line in
FILES.txt, if given), two at a time under nice, each through /usr/bin/time, writing objects to
a scratch dir so the build dir is untouched, and appends "cpu_s<TAB>exit<TAB>wall_s<TAB>file"
to OUT.tsv. CPU time, not wall time, is the figure on a shared machine (docs/BENCHMARKS.md,
"CI time"). Precompiled-header commands are skipped: build them first (cmake --build).
"""
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

commands = json.load(open(sys.argv[1]))
out_path = sys.argv[2]
wanted = set(open(sys.argv[3]).read().split()) if len(sys.argv) > 3 else None
scratch = tempfile.mkdtemp(prefix='time_tus.')


def run(index_entry):
    index, entry = index_entry
    args = shlex.split(entry['command'])
    if os.path.basename(args[0]) == 'ccache':
        args = args[1:]
    args[args.index('-o') + 1] = os.path.join(scratch, f'{index}.o')
    start = time.time()
    done = subprocess.run(['/usr/bin/time', '-f', '%U %S', 'nice'] + args,
                          cwd=entry['directory'], stderr=subprocess.PIPE, text=True)
    user, system = done.stderr.strip().splitlines()[-1].split()
    return entry['file'], float(user) + float(system), done.returncode, time.time() - start


items = [(i, e) for i, e in enumerate(commands)
         if 'cmake_pch' not in e['file'] and (wanted is None or e['file'] in wanted)]
with concurrent.futures.ThreadPoolExecutor(2) as pool, open(out_path, 'a') as out:
    for file, cpu, code, wall in pool.map(run, items):
        out.write(f'{cpu:.2f}\t{code}\t{wall:.1f}\t{file}\n')
        out.flush()
