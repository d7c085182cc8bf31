import assert from "node:assert/strict";
import { test } from "node:test";
import { countProcesses } from "../../local/simulator/process-trace";

// strace -f -qq --seccomp-bpf -e trace=execve,clone,clone3,fork,vfork -e signal=none of
// `bash -c 'for i in 1 2; do date & done; wait; x=$(echo hi); curl --version'`, with two execs
// interrupting each other, and a thread of a process that makes threads.
const TRACE = `26369 execve("/usr/bin/bash", ["bash", "/tmp/t.sh"], 0x7ffd0a063d90 /* 35 vars */) = 0
26369 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fb150d2aa10) = 26370
26369 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fb150d2aa10) = 26371
26371 execve("/usr/bin/date", ["date"], 0x556c38bf27a0 /* 35 vars */ <unfinished ...>
26370 execve("/usr/bin/date", ["date"], 0x556c38bf27a0 /* 35 vars */ <unfinished ...>
26371 <... execve resumed>)             = 0
26370 <... execve resumed>)             = 0
26369 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fb150d2aa10) = 26372
26369 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fb150d2aa10) = 26373
26373 execve("/usr/bin/curl", ["curl", "--version"], 0x556c38bf6720 /* 35 vars */) = 0
26373 execve("/usr/local/bin/missing", ["missing"], 0x556c38bf6720 /* 35 vars */) = -1 ENOENT (No such file or directory)
26373 clone(child_stack=0x7f0000000000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, parent_tid=[26374]) = 26374
`;

test("counts the processes forked and the programs run, not threads or failed execs", () => {
  assert.deepEqual(countProcesses(TRACE), {
    processes: 4,
    programs: [
      ["date", 2],
      ["bash", 1],
      ["curl", 1],
    ],
  });
});
