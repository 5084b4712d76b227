"""How the playbook process of a plain ansible-runner run ended (RUNNER_ENGINE=ansible-runner).

Started by the engine (src/engine/run.ts) as
    <ansible-runner's interpreter> runner_exit.py <report file> <ansible-runner script> <args...>
it runs ansible-runner's own script in this interpreter, exactly as its #! line would (same
arguments, environment, working directory, exit status), and records how ansible-playbook ended.

ansible-runner cannot say it: a playbook killed by a signal (the OOM killer, kill -9, SIGTERM) has
no exit status, so ansible-runner writes rc `None` and status `failed` to its artifacts and exits
0 -- the run looks successful. pexpect knows the signal (`signalstatus`) once ansible-runner
closes the child: that is written to the report file as JSON {"pid": N, "exitstatus": N|null,
"signalstatus": N|null}, and the engine turns a signal into a failed run naming it.
"""

import json
import os
import runpy
import sys


def main():
    report_path, script = sys.argv[1], sys.argv[2]
    import pexpect

    ended = []
    original_close = pexpect.spawn.close

    def close(self, force=True):
        try:
            return original_close(self, force)
        finally:
            ended.append({'pid': self.pid, 'exitstatus': self.exitstatus, 'signalstatus': self.signalstatus})

    pexpect.spawn.close = close
    sys.argv = [script] + sys.argv[3:]
    code = 0
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit as e:
        code = e.code
    finally:
        if ended:
            try:
                fd = os.open(report_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, 'w') as f:
                    json.dump(ended[-1], f)
            except OSError as e:
                sys.stderr.write('r42: cannot write %s: %s\n' % (report_path, e))
    sys.exit(code)


if __name__ == '__main__':
    main()
