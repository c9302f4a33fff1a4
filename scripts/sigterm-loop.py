#!/usr/bin/env python3
"""Starts `stowage serve` and sends SIGTERM right after its ready line, N times, on one data
directory; a process that has not exited 5 s later is reported and its threads' stacks are
saved with gdb (hang-<pid>.txt in the current directory) before it is killed.

    scripts/sigterm-loop.py .build/debug/stowage 200

A diagnostic for the rare hang seen once in CI (test_config.py::test_sigterm_right_after_ready_line).
"""
import os
import signal
import subprocess
import sys
import tempfile

binary, rounds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100
directory = tempfile.mkdtemp(prefix="sigterm-loop.")
hangs = 0
for index in range(rounds):
    process = subprocess.Popen([binary, "serve", "--port", "0", "--address", "127.0.0.1", "--directory", directory + "/d"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=5)
        if status != 0:
            print(f"round {index}: exit status {status}", flush=True)
    except subprocess.TimeoutExpired:
        hangs += 1
        print(f"round {index}: no exit 5 s after SIGTERM (pid {process.pid}); stacks in hang-{process.pid}.txt", flush=True)
        os.system(f"gdb -p {process.pid} -batch -ex 'thread apply all bt' > hang-{process.pid}.txt 2>&1")
        process.kill()
        process.wait()
    process.stdout.close()
print(f"{hangs} hang(s) in {rounds} rounds")
sys.exit(1 if hangs else 0)
