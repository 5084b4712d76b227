"""Tasks the warm engine runs without a worker fork, in the playbook process (ansible-core 2.14).

Ansible forks a worker process (WorkerProcess, multiprocessing 'fork') for every task on every
host, even for a task that only templates a value on the controller. Forking a ~55 MB Python is not
free: the child pays its start, its exit and a copy-on-write fault for every page it writes (its
reference counts alone write most pages it reads), and the parent pays a fault for every page it
writes afterwards. Measured on a `vms/list` run (include_tasks, proxmox_api, set_fact, debug): the
four workers took 0.12 CPU-s of the run's 0.31 and 24,000 of its 27,000 page faults; with the four
tasks run in the playbook process, the run's processes take 0.18-0.23 CPU-s and 9,200 faults (the
tasks also share that process's warm caches: compiled templates, loaded plugins). README, Performance.

A task runs here, in the playbook process, instead of a fork, when all of these hold:
* the play's batch has a single worker slot (min(forks, batch size) == 1): Ansible runs one task
  at a time then anyway, so nothing that ran in parallel now waits;
* the task is an include (include, include_tasks, include_role: the worker only returns what to
  include), or the action plugin Ansible would run for it is Ansible's own debug, set_fact, assert
  or fail, or a plugin that declares RUNS_WITHOUT_WORKER = True (the Proxmox controller role's
  proxmox_api): controller-side work that leaves no process-wide state behind. The plugin is
  resolved as TaskExecutor resolves it (a module routed to an action plugin, else an action plugin
  of the task's name, with the task's collections), so a role or collection that overrides `debug`
  gets its own plugin in a worker, as usual;
* no delegate_to and no async.
How: WorkerProcess._run itself, called in the playbook process on private copies of what the fork
would have copied and the worker changes: the task (its parent blocks copied, without their task
lists), the host object (the worker clears its vars and groups when done), the top level of the task
variables (a loop sets its variable there); the play context is only read before TaskExecutor makes
its own copy. Display is not switched to the result queue (that is for a forked
worker; here it writes as the parent does). The result goes through the same final queue to the
same results thread: callbacks, events, registered variables, facts and result processing are
Ansible's. What would have ended a worker process (an exception _run does not catch, which makes
WorkerProcess.run call os._exit(1)) leaves the slot looking like a worker that died with exit code
1, so the strategy stops with its usual "A worker was found in a dead state"; KeyboardInterrupt
goes on up as it does in the parent. A task `timeout:` works as in a worker (SIGALRM, main thread).
`R42_WARM_INLINE=off` in the service's environment turns this off. tests/engine/inline-tasks.test.ts.
"""

import os

INLINE_MARKER = 'RUNS_WITHOUT_WORKER'
ANSIBLE_INLINE_ACTIONS = ('debug', 'set_fact', 'assert', 'fail')  # ansible/plugins/action/<name>.py


class _DeadWorker:
    """Stands for the process of a worker that died: multiprocessing reads poll() for exitcode and
    is_alive()."""
    returncode = 1

    def poll(self, flag=None):
        return 1


def install():
    """Patches WorkerProcess.start and TaskQueueManager._initialize_processes. Returns True if
    installed."""
    if os.environ.get('R42_WARM_INLINE') == 'off':
        return False
    import ansible.constants as C
    import ansible.plugins.action as action_pkg
    import ansible.executor.process.worker as W
    import ansible.executor.task_queue_manager as TQM
    from ansible.inventory.host import Host
    from ansible.plugins.loader import action_loader, module_loader
    from ansible.utils.display import Display

    includes = frozenset(C._ACTION_ALL_INCLUDES)
    action_dir = os.path.dirname(os.path.realpath(action_pkg.__file__))
    ansible_files = frozenset(os.path.join(action_dir, name + '.py') for name in ANSIBLE_INLINE_ACTIONS)

    original_initialize = TQM.TaskQueueManager._initialize_processes

    def _initialize_processes(self, num):
        original_initialize(self, num)
        self._final_q.r42_worker_slots = num  # the workers of this batch; WorkerProcess holds the queue

    def runs_inline(worker):
        task = worker._task
        if getattr(worker._final_q, 'r42_worker_slots', None) != 1 or task.delegate_to or task.async_val:
            return False
        if task.action in includes:
            return True
        collections = task.collections
        module = module_loader.find_plugin_with_context(task.action, collection_list=collections)
        if module.resolved and module.action_plugin:
            handler = module.action_plugin
        elif action_loader.has_plugin(task.action, collection_list=collections):
            handler = task.action
        else:
            return False
        found = action_loader.find_plugin_with_context(handler, collection_list=collections)
        if not found.resolved:
            return False
        path = os.path.realpath(found.plugin_resolved_path)
        if path in ansible_files:
            return True
        plugin = action_loader.get(handler, class_only=True, collection_list=collections)
        return plugin is not None and getattr(plugin, INLINE_MARKER, False) is True

    original_start = W.WorkerProcess.start

    def start(self):
        try:
            inline = runs_inline(self)
        except Exception:
            inline = False  # whatever a look-up raises, the worker raises it as usual
        if not inline:
            return original_start(self)
        try:
            task = self._task.copy(exclude_tasks=True)
            host = Host.__new__(Host)
            host.__dict__.update(self._host.__dict__)
        except Exception:
            return original_start(self)
        # The play context needs no copy: TaskExecutor only reads it before making its own.
        self._task, self._host, self._task_vars = task, host, dict(self._task_vars)
        display = Display()
        display.set_queue = _no_queue
        self._save_stdin()  # what the worker's start gives its task: the terminal, or /dev/null
        try:
            self._run()
        except KeyboardInterrupt:
            raise
        except BaseException:
            self._popen = _DeadWorker()
        finally:
            del display.set_queue
            self._new_stdin.close()
        return None

    TQM.TaskQueueManager._initialize_processes = _initialize_processes
    W.WorkerProcess.start = start
    return True


def _no_queue(queue):
    """Display.set_queue for a task run in the playbook process: its display is the parent's."""
