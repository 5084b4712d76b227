"""The warm engine: one pre-imported Python that forks a process per run.

Started once by the TypeScript engine (src/engine/warm/client.ts) as
    /usr/bin/python3 server.py <socket path>
it imports ansible-runner and Ansible, then listens on a Unix socket (0600, in a 0700 directory),
answering only the process that started it (the peer's pid, SO_PEERCRED).
A run is one connection: the engine sends one JSON line {"argv": [...], "env": {...}, "cwd": "..."}
— argv being exactly the arguments the plain engine gives /usr/bin/ansible-runner — and reads
the connection as it would read ansible-runner's stdout: the `-j` event lines, plus control lines
of this protocol, each a JSON object with the key "r42warm":
    {"r42warm": "started", "pid": N}            the run process (ansible-runner's part) exists
    {"r42warm": "playbook", "pid": N, "mode": "warm"|"exec", "why": "..."}
                                                the playbook process exists
    {"r42warm": "stderr", "data": "..."}        what ansible-runner wrote to stderr
    {"r42warm": "exit", "rc": N, "signal": N|null}
                                                ansible-runner's exit status, and the signal that
                                                killed the playbook process if one did (ansible-runner
                                                itself then says rc None, exit 0); the end of the run
A connection that ends without "exit" is a run whose process died (killed, crashed).
On its stdin the server gets the engine's liveness pings (a line each) and answers each read
with {"pong": true} on its stdout; the end of its stdin (the engine gone) stops it.

Per run (two forks, the shape of a normal run):
  server ──fork──> run process: new session (its process group is the run's), the request's
                   environment and working directory, then ansible-runner's own CLI entry
                   (ansible_runner.__main__.main) with the request's argv: its configuration and
                   command building, its pexpect loop, its awx_display callback, artifacts/<ident>/.
                   Only the final exec of `ansible-playbook` is replaced:
         ──pty fork (ptyprocess, as always)──> playbook process: instead of exec'ing a fresh
                   interpreter it takes the run's environment, re-reads Ansible's configuration
                   (see reconfigure()) and calls ansible.cli.playbook.main() in-process.

Why the playbook process sees the run's configuration, not the server's:
Ansible computes its configuration when ansible.constants is imported, and some modules copy
settings at import time (module-level statements, class bodies: FieldAttribute defaults such as
Task.poll, PlayContext.timeout; the plugin loaders' search paths; the collection finder).
The playbook process therefore (1) reloads ansible.constants from its own environment and working
directory (a new ConfigManager: ansible.cfg discovery, ANSIBLE_* variables), (2) compares every
setting with the server's: a setting that differs must be one of CALL_TIME_SETTINGS, which Ansible
only reads while running (fact cache directory, callback/role paths, stdout callback, ...), and
(3) rebuilds the plugin loaders (their paths) and the colour/display state (the pty is a terminal;
the server's stdout is not). If any other setting differs, nothing warm is trusted: the playbook
process execs /usr/bin/ansible-playbook exactly as ansible-runner would have ("mode": "exec").
tests/engine/warm.test.ts proves both directions.
"""

import atexit
import io
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import traceback

SERVER_ENV_KEYS = ('ANSIBLE_STDOUT_CALLBACK', 'ANSIBLE_CALLBACK_PLUGINS', 'ANSIBLE_CACHE_PLUGIN',
                   'ANSIBLE_RETRY_FILES_ENABLED')

# Settings that may differ between the server and a run without making the run cold. Each is read
# by Ansible only while it runs (through C.<NAME> or the config manager, never at import time),
# or is rebuilt by reconfigure() (the plugin paths).
CALL_TIME_SETTINGS = frozenset({
    'CACHE_PLUGIN_CONNECTION',  # ansible-runner: <artifacts>/<ident>/fact_cache, per run
    'CACHE_PLUGIN', 'CACHE_PLUGIN_PREFIX', 'CACHE_PLUGIN_TIMEOUT',
    'DEFAULT_LOCAL_TMP',  # per process (ansible-local-<pid>...)
    'DEFAULT_ROLES_PATH',
    'DEFAULT_STDOUT_CALLBACK', 'CALLBACKS_ENABLED', 'DEFAULT_LOAD_CALLBACK_PLUGINS',
    'RETRY_FILES_ENABLED', 'RETRY_FILES_SAVE_PATH', 'HOST_KEY_CHECKING', 'DEFAULT_FORKS',
    'CONFIG_FILE',  # only printed; the settings a file changes are compared one by one
    'DEFAULT_ACTION_PLUGIN_PATH', 'DEFAULT_CACHE_PLUGIN_PATH', 'DEFAULT_CALLBACK_PLUGIN_PATH',
    'DEFAULT_CONNECTION_PLUGIN_PATH', 'DEFAULT_MODULE_PATH', 'DEFAULT_MODULE_UTILS_PATH',
    'DEFAULT_LOOKUP_PLUGIN_PATH', 'DEFAULT_FILTER_PLUGIN_PATH', 'DEFAULT_TEST_PLUGIN_PATH',
    'DEFAULT_STRATEGY_PLUGIN_PATH', 'DEFAULT_VARS_PLUGIN_PATH', 'DEFAULT_INVENTORY_PLUGIN_PATH',
    'DOC_FRAGMENT_PLUGIN_PATH', 'BECOME_PLUGIN_PATH', 'DEFAULT_TERMINAL_PLUGIN_PATH',
    'DEFAULT_CLICONF_PLUGIN_PATH', 'DEFAULT_NETCONF_PLUGIN_PATH', 'DEFAULT_HTTPAPI_PLUGIN_PATH',
})

PLAYBOOK_BIN = '/usr/bin/ansible-playbook'


def set_parent_death_signal(sig):
    """This process gets `sig` when its parent ends (prctl PR_SET_PDEATHSIG)."""
    import ctypes
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(1, int(sig), 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before the call
        os.kill(os.getpid(), sig)


def set_title(title):
    """This process's command line (/proc/<pid>/cmdline), as setproctitle does: the argv area
    rewritten in place through /proc/self/mem. The engine starts the server with room for it
    (a padding argument). A run's processes carry the run id there, as a plain run's do, so that
    the engine (and its cleanup after a crash) finds them by it."""
    try:
        with open('/proc/self/stat', 'rb') as f:
            fields = f.read().rsplit(b')', 1)[1].split()
        arg_start, arg_end = int(fields[45]), int(fields[46])
        size = arg_end - arg_start
        data = title.encode('utf-8', 'replace')[:size - 1]
        with open('/proc/self/mem', 'r+b', buffering=0) as mem:
            mem.seek(arg_start)
            mem.write(data + b'\0' * (size - len(data)))
    except (OSError, IndexError, ValueError) as e:
        log('cannot set the process title: %s' % e)


def log(msg):
    sys.stderr.write('warm-engine: %s\n' % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------- server start: imports

def preload():
    # The variables ansible-runner gives every run, so that the server's configuration is a run's.
    import ansible_runner.display_callback
    callback_dir = os.path.join(os.path.dirname(ansible_runner.display_callback.__file__), 'callback')
    os.environ['ANSIBLE_CALLBACK_PLUGINS'] = ':'.join(filter(None, (os.environ.get('ANSIBLE_CALLBACK_PLUGINS'), callback_dir)))
    os.environ['ANSIBLE_STDOUT_CALLBACK'] = 'awx_display'
    os.environ['ANSIBLE_CACHE_PLUGIN'] = 'jsonfile'
    os.environ['ANSIBLE_RETRY_FILES_ENABLED'] = 'False'

    import ansible_runner.__main__  # noqa: F401  ansible-runner's CLI, config, Runner
    import ansible_runner.interface  # noqa: F401
    import ansible_runner.runner  # noqa: F401
    import pexpect  # noqa: F401
    import ptyprocess  # noqa: F401

    import ansible.cli.playbook  # noqa: F401  constants, display, loader, inventory, parsing
    import ansible.executor.playbook_executor  # noqa: F401
    import ansible.executor.task_queue_manager  # noqa: F401
    import ansible.executor.task_executor  # noqa: F401
    import ansible.executor.process.worker  # noqa: F401
    import ansible.executor.module_common  # noqa: F401
    import ansible.plugins.loader  # noqa: F401
    import ansible.playbook.play  # noqa: F401
    import ansible.playbook.role  # noqa: F401
    import ansible.template  # noqa: F401
    import ansible.vars.manager  # noqa: F401
    # Ansible's own plugins that every run loads. The loader takes a module already in
    # sys.modules under its name (ansible.plugins.<type>.<name>); their options are read through
    # the configuration at run time.
    plugin_modules = ('ansible.plugins.callback.default', 'ansible.plugins.callback.minimal',
                      'ansible.plugins.strategy.linear', 'ansible.plugins.connection.local',
                      'ansible.plugins.connection.ssh', 'ansible.plugins.shell.sh',
                      'ansible.plugins.action.normal', 'ansible.plugins.action.debug',
                      'ansible.plugins.action.set_fact', 'ansible.plugins.action.fail',
                      'ansible.plugins.action.assert', 'ansible.plugins.action.include_vars',
                      'ansible.plugins.action.gather_facts', 'ansible.plugins.action.uri',
                      'ansible.plugins.inventory.yaml', 'ansible.plugins.inventory.ini',
                      'ansible.plugins.vars.host_group_vars', 'ansible.plugins.cache.jsonfile',
                      'ansible.plugins.cache.memory', 'ansible.plugins.become.sudo',
                      'ansible.plugins.filter.core', 'ansible.plugins.filter.mathstuff',
                      'ansible.plugins.filter.urls', 'ansible.plugins.filter.urlsplit',
                      'ansible.plugins.filter.encryption', 'ansible.plugins.test.core',
                      'ansible.plugins.test.files', 'ansible.plugins.test.mathstuff',
                      'ansible.plugins.test.uri', 'ansible.plugins.lookup.config',
                      'ansible.plugins.lookup.env', 'ansible.plugins.lookup.file',
                      'ansible.plugins.lookup.pipe', 'ansible.plugins.lookup.vars')
    for name in plugin_modules:
        try:
            __import__(name)
        except Exception as e:  # an Ansible without it: loaded from disk per run, as usual
            log('not preloaded: %s (%s)' % (name, e))
    preloaded_plugins_yield_to_overrides(plugin_modules)

    import ansible.constants as C
    global LOADER_BUILDS
    LOADER_BUILDS = loader_builds()
    # ConfigManager() parses base.yml (~400 definitions) on every construction: parse it once.
    from ansible.config import manager as config_manager
    import pickle
    base_yml = os.path.join(os.path.dirname(config_manager.__file__), 'base.yml')
    parsed = pickle.dumps(config_manager.ConfigManager._read_config_yaml_file(C.config, base_yml))
    original_read = config_manager.ConfigManager._read_config_yaml_file

    def read_config_yaml_file(self, yml_file):
        if os.fsdecode(yml_file) == base_yml:
            return pickle.loads(parsed)
        return original_read(self, yml_file)

    config_manager.ConfigManager._read_config_yaml_file = read_config_yaml_file
    if ansible_version().startswith('2.14.'):  # the replaced functions are 2.14's
        wake_on_results()
        record_plugin_config_defs()
        import inline_tasks  # controller-only tasks without a worker fork (inline_tasks.py)
        inline_tasks.install()
    # The server itself never runs anything: the local temp dir its import made is not needed
    # (each playbook process makes its own), and no exit handler of the server may run in a run.
    import shutil
    shutil.rmtree(C.DEFAULT_LOCAL_TMP, ignore_errors=True)
    atexit._clear()
    return settings_snapshot(C)


def preloaded_plugins_yield_to_overrides(names):
    """The plugin loader imports a plugin file under the name ansible.plugins.<type>.<name>, and
    takes a module already in sys.modules under that name instead of the file (first loaded wins).
    In a fresh ansible-playbook the first load of `debug` is the one the search path finds first:
    a role's own action_plugins/debug.py, say. Here Ansible's own modules are imported before any
    run, so they would win over such an override. Each run therefore treats a preloaded module as
    not yet loaded: the first time its name is loaded from another file, the preloaded module
    leaves sys.modules and that file is loaded, as in a fresh process; loaded from its own file,
    it is kept. (The pending set is per run: each run is a fork with its own copy.)"""
    import ansible.plugins.loader as L
    original = getattr(L.PluginLoader, '_load_module_source', None)
    if original is None:
        return  # a loader that does not load plugin files this way: nothing to adapt
    pending = {name: sys.modules[name] for name in names if name in sys.modules}

    def _load_module_source(self, name, path):
        full_name = name if name.startswith('ansible_collections.') else '.'.join([self.package, name])
        module = pending.pop(full_name, None)
        if module is not None and sys.modules.get(full_name) is module:
            try:
                same = os.path.samefile(getattr(module, '__file__', None) or '', path)
            except (OSError, TypeError, ValueError):
                same = False
            if not same:
                del sys.modules[full_name]
        return original(self, name, path)

    L.PluginLoader._load_module_source = _load_module_source


LOADER_BUILDS = None


def ansible_version():
    import ansible
    return ansible.__version__


RESULT_WAIT_S = 0.02


def wake_on_results():
    """The strategy waits for its tasks' results in a loop that sleeps 1 ms per turn
    (DEFAULT_INTERNAL_POLL_INTERVAL) and builds a Templar (a Jinja environment) per turn: ~500
    turns per second of waiting, a few per cent of a short run's CPU. Here the results thread's
    append wakes the waiting loop instead (the deque notifies the strategy's results condition,
    which its `with` holds while appending); the loop still wakes every RESULT_WAIT_S to check for
    dead workers and termination, as the original does every turn. Results are processed in the
    same order, only without the polling."""
    import collections
    import ansible.plugins.strategy as S
    from ansible.errors import AnsibleError

    class NotifyingDeque(collections.deque):
        cond = None

        def append(self, item):
            super().append(item)
            if self.cond is not None:
                self.cond.notify_all()  # the appender holds the condition (results_thread_main)

    S.deque = NotifyingDeque
    original_init = S.StrategyBase.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if isinstance(self._results, NotifyingDeque):
            self._results.cond = self._results_lock

    def _wait_on_pending_results(self, iterator):
        # StrategyBase._wait_on_pending_results of ansible-core 2.14, the sleep replaced by a wait.
        ret_results = []
        S.display.debug("waiting for pending results...")
        while self._pending_results > 0 and not self._tqm._terminated:
            if self._tqm.has_dead_workers():
                raise AnsibleError("A worker was found in a dead state")
            results = self._process_pending_results(iterator)
            ret_results.extend(results)
            if self._pending_results > 0:
                with self._results_lock:
                    if not self._results:
                        self._results_lock.wait(RESULT_WAIT_S)
        S.display.debug("no more pending results, returning what we have")
        return ret_results

    S.StrategyBase.__init__ = __init__
    S.StrategyBase._wait_on_pending_results = _wait_on_pending_results


def record_plugin_config_defs():
    """Every playbook process reads the documentation of the connection, shell, become, callback
    and vars plugins (PlaybookExecutor and load_callbacks list them all: their DOCUMENTATION YAML
    parsed, doc fragments merged) to give their option definitions to the configuration manager,
    which it rebuilds per run. The server lists them once and records each plugin's definitions,
    keyed by plugin type, name, file, the DOCUMENTATION text itself and the doc-fragment search
    path; a playbook process whose plugin has the same key takes the recorded definitions, any
    other (another file, another text, other fragment directories) is read as usual."""
    import ansible.constants as C
    import ansible.plugins.loader as L
    original = L.PluginLoader._load_config_defs
    recorded = {}

    def fragment_paths():
        return tuple(L.fragment_loader._get_paths())

    def key_of(self, name, module, path):
        if not self.class_name:
            return None
        type_name = L.get_plugin_class(self.class_name)
        if type_name not in C.CONFIGURABLE_PLUGINS or C.config.has_configuration_definition(type_name, name):
            return None
        return (type_name, name, path, getattr(module, 'DOCUMENTATION', ''))

    def recording(self, name, module, path):
        key = key_of(self, name, module, path)
        original(self, name, module, path)
        if key is not None:
            defs = C.config._plugins.get(key[0], {}).get(name)
            recorded[key] = (fragment_paths(), defs)

    L.PluginLoader._load_config_defs = recording
    try:
        # Ansible's own connection, shell, become and vars plugins: imported here (no import-time
        # state), their definitions recorded as the loader gives them.
        for loader in (L.connection_loader, L.shell_loader, L.become_loader, L.vars_loader):
            list(loader.all(class_only=True))
    except Exception as e:
        log('plugin documentation not recorded: %s' % e)
    finally:
        L.PluginLoader._load_config_defs = original
    # Callback plugins are not imported here (ansible-runner's awx_display patches Display and
    # creates a multiprocessing lock at import, per run): their DOCUMENTATION literal is read from
    # the file, and the definitions built as _load_config_defs builds them from it. A run whose
    # module's DOCUMENTATION is not that text (computed, edited) reads it as usual.
    import ast
    from ansible.parsing.yaml.loader import AnsibleLoader
    from ansible.utils.plugin_docs import add_fragments
    try:
        paths = list(L.callback_loader.all(path_only=True))
    except Exception as e:
        log('callback documentation not recorded: %s' % e)
        paths = []
    for path in paths:
        try:
            with open(path, 'rb') as f:
                tree = ast.parse(f.read(), path)
            text = None
            for node in tree.body:
                if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                        and node.targets[0].id == 'DOCUMENTATION' and isinstance(node.value, ast.Constant)
                        and isinstance(node.value.value, str)):
                    text = node.value.value
            if text is None:
                continue
            name = os.path.splitext(os.path.basename(path))[0]
            dstring = AnsibleLoader(text, file_name=path).get_single_data()
            defs = None
            if dstring:
                add_fragments(dstring, path, fragment_loader=L.fragment_loader, is_module=False)
                if 'options' in dstring and isinstance(dstring['options'], dict):
                    defs = dstring['options']
            recorded[('callback', name, path, text)] = (fragment_paths(), defs)
        except Exception as e:
            log('callback documentation of %s not recorded: %s' % (path, e))

    def replaying(self, name, module, path):
        key = key_of(self, name, module, path)
        rec = recorded.get(key) if key is not None else None
        if rec is not None and rec[0] == fragment_paths():
            if rec[1] is not None:
                C.config.initialize_plugin_configuration_definitions(key[0], name, rec[1])
            return
        original(self, name, module, path)

    L.PluginLoader._load_config_defs = replaying


def loader_builds():
    """The statements of ansible/plugins/loader.py that build its plugin loaders
    (`name = PluginLoader(...)` / `Jinja2Loader(...)`), as (name, compiled expression): parsed once
    here rather than in every playbook process (ast.parse of the file costs ~12 ms)."""
    import ast
    import ansible.plugins.loader as L
    with open(L.__file__, 'rb') as f:
        tree = ast.parse(f.read(), L.__file__)
    out = []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                and node.value.func.id in ('PluginLoader', 'Jinja2Loader')):
            out.append((node.targets[0].id, compile(ast.Expression(node.value), L.__file__, 'eval')))
    return out


def settings_snapshot(C):
    """Every setting as ansible.constants holds it (templated defaults rendered)."""
    missing = object()
    out = {}
    for name in C.config.get_configuration_definitions():
        value = getattr(C, name, missing)
        out[name] = ('unset',) if value is missing else value
    out['CONFIG_FILE'] = C.config._config_file
    return out


# ---------------------------------------------------------------- the playbook process

def reconfigure(server_settings):
    """Ansible's configuration from this process's environment and cwd. Returns why the warm
    modules cannot be trusted, or None."""
    import importlib
    import ansible.constants as C
    importlib.reload(C)
    mine = settings_snapshot(C)
    for name in sorted(set(mine) | set(server_settings)):
        if name in CALL_TIME_SETTINGS:
            continue
        if mine.get(name) != server_settings.get(name):
            return 'setting %s differs from the warm engine\'s (%r, not %r)' % (name, mine.get(name), server_settings.get(name))

    # Plugin loaders: their search paths were taken from the server's configuration. Build each
    # again from the run's (the same expressions as ansible/plugins/loader.py, compiled once by the server)
    # and move its state into the existing object, which other modules hold by reference.
    import ansible.plugins.loader as L
    L.MODULE_CACHE.clear()
    L.PATH_CACHE.clear()
    L.PLUGIN_PATH_CACHE.clear()
    for name, code in LOADER_BUILDS or loader_builds():
        fresh = eval(code, vars(L))
        old = getattr(L, name)
        old.__dict__.clear()
        old.__dict__.update(fresh.__dict__)
    L._PLUGIN_FILTERS = L._load_plugin_filter()

    # Colours depend on whether stdout is a terminal (the pty is; the server's stdout is not).
    import ansible.utils.color
    importlib.reload(ansible.utils.color)
    # The display singleton: columns (pty size), cowsay, the stdout/stderr locks.
    from ansible.utils.display import Display
    display = Display()
    display.__init__()
    return None


def become_playbook(command, argv, env, report_fd, server_settings):
    """Runs in the pty child ptyprocess made, in place of os.execvpe(command, argv, env)."""
    code = 1
    try:
        # ptyprocess left fds 0-2 (the pty), its exec-error pipe (close-on-exec: an exec would
        # close it, and the parent waits for that) and ours.
        for fd in os.listdir('/proc/self/fd'):
            fd = int(fd)
            if fd > 2 and fd != report_fd:
                try:
                    os.close(fd)
                except OSError:
                    pass
        atexit._clear()
        # The artifacts directory (<private>/artifacts/<run id>) names the run.
        set_title('r42-warm %s (%s)' % (' '.join(argv), env.get('AWX_ISOLATED_DATA_DIR', '')))
        set_parent_death_signal(signal.SIGKILL)  # ansible-runner killed: nothing of the run survives it
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as CPython sets it at start-up
        os.environ.clear()
        os.environ.update(env)
        random.seed()
        sys.argv = list(argv)
        sys.stdin = io.TextIOWrapper(io.open(0, 'rb', closefd=False), encoding='utf-8')
        sys.stdout = io.TextIOWrapper(io.open(1, 'wb', closefd=False), encoding='utf-8', line_buffering=os.isatty(1))
        sys.stderr = io.TextIOWrapper(io.open(2, 'wb', closefd=False), encoding='utf-8', errors='backslashreplace', line_buffering=True)
        if os.path.realpath(command) != os.path.realpath(PLAYBOOK_BIN):
            why = 'the command is %s, not %s' % (command, PLAYBOOK_BIN)
        else:
            why = reconfigure(server_settings)
        report = {'mode': 'exec' if why else 'warm'}
        if why:
            report['why'] = why
        os.write(report_fd, json.dumps(report).encode())
        os.close(report_fd)
        if why:
            if 'ansible.constants' in sys.modules:
                import shutil
                shutil.rmtree(sys.modules['ansible.constants'].DEFAULT_LOCAL_TMP, ignore_errors=True)
            os.execvpe(command, argv, env)
        from ansible.cli.playbook import main
        try:
            code = main(list(argv))
        except SystemExit as e:
            code = e.code
        if code is None:
            code = 0
        elif not isinstance(code, int):
            sys.stderr.write('%s\n' % code)
            code = 1
        atexit._run_exitfuncs()
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(code if isinstance(code, int) else 1)


# ---------------------------------------------------------------- the run process

def control(msg):
    sys.stdout.flush()
    sys.stdout.write(json.dumps(dict(r42warm=msg.pop('r42warm'), **msg)) + '\n')
    sys.stdout.flush()


def run_process(request, server_settings):
    """Runs in the forked child; never returns."""
    rc = 1
    stderr_fd = None
    playbook_end = {'signal': None}
    try:
        os.environ.clear()
        os.environ.update(request['env'])
        os.chdir(request['cwd'])
        random.seed()
        # stdout is the connection; stderr is kept in memory and sent at the end.
        stderr_fd = os.memfd_create('ansible-runner-stderr')
        os.dup2(stderr_fd, 2)
        sys.stdout = io.TextIOWrapper(io.open(1, 'wb', closefd=False), encoding='utf-8', line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.open(2, 'wb', closefd=False), encoding='utf-8', errors='backslashreplace', line_buffering=True)
        sys.stdin = io.TextIOWrapper(io.open(0, 'rb', closefd=False), encoding='utf-8')
        sys.argv = ['/usr/bin/ansible-runner'] + list(request['argv'])
        set_title('r42-warm ansible-runner ' + ' '.join(request['argv']))
        control({'r42warm': 'started', 'pid': os.getpid()})

        import pexpect
        import ptyprocess

        class WarmSpawn(pexpect.spawn):
            """pexpect.spawn whose child runs ansible-playbook in the pre-imported interpreter."""

            def _spawnpty(self, args, **kwargs):
                read_fd, write_fd = os.pipe()
                env = kwargs.get('env')
                env = dict(os.environ if env is None else env)
                command = os.fsdecode(args[0])
                args = [os.fsdecode(a) for a in args]
                kwargs['preexec_fn'] = lambda: become_playbook(command, args, env, write_fd, server_settings)
                env = {os.fsdecode(k): os.fsdecode(v) for k, v in env.items()}
                kwargs['pass_fds'] = (write_fd,)
                try:
                    proc = ptyprocess.PtyProcess.spawn(args, **kwargs)
                finally:
                    os.close(write_fd)
                with os.fdopen(read_fd, 'rb') as r:
                    data = r.read()
                try:
                    report = json.loads(data.decode())
                except ValueError:
                    report = {'mode': 'unknown'}
                control(dict({'r42warm': 'playbook', 'pid': proc.pid}, **report))
                return proc

            def close(self, force=True):
                # ptyprocess sleeps delayafterclose (0.1 s) "to give the kernel time to update the
                # process status" before it checks whether the child is still alive. ansible-runner
                # only closes once isalive() has said no (the child is reaped): the check's answer
                # is already known, and the sleep is 0.1 s of every run's wall time.
                if self.ptyproc.terminated:
                    self.ptyproc.delayafterclose = 0
                try:
                    super().close(force)
                finally:
                    # ansible-runner records a playbook killed by a signal as rc None (and exits
                    # 0): the engine learns the signal from the exit message.
                    playbook_end['signal'] = self.signalstatus

        pexpect.spawn = WarmSpawn
        # ansible-runner's CLI takes defaults from the environment at import time
        # (ANSIBLE_ROLES_PATH -> --roles-path, RUNNER_*): read them again from the run's.
        import importlib
        import ansible_runner.__main__
        importlib.reload(ansible_runner.__main__)
        from ansible_runner.__main__ import main
        try:
            rc = main(list(request['argv']))
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if rc is None:
            rc = 0
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
        rc = 1
    try:
        sys.stderr.flush()
        if stderr_fd is not None:
            os.lseek(stderr_fd, 0, os.SEEK_SET)
            data = b''
            while len(data) < 65536:
                chunk = os.read(stderr_fd, 65536)
                if not chunk:
                    break
                data += chunk
            if data:
                control({'r42warm': 'stderr', 'data': data.decode('utf-8', 'replace')})
        control({'r42warm': 'exit', 'rc': rc, 'signal': playbook_end['signal']})
    except BaseException:
        pass
    os._exit(rc if isinstance(rc, int) and 0 <= rc < 256 else 1)


# ---------------------------------------------------------------- the server loop

def serve(sock_path):
    set_title('r42-warm server (engine %d)' % os.getppid())
    t0 = os.times()
    server_settings = preload()
    # The compiled-template cache (jinja_cache.py): a directory of this server's, next to its socket
    # (the engine's private 0700 directory), removed when the server ends.
    import jinja_cache
    try:
        jinja_cache.install(os.path.join(os.path.dirname(os.path.abspath(sock_path)), 'jinja'))
    except Exception as e:
        log('no compiled-template cache: %s' % e)
    t1 = os.times()
    engine_pid = os.getppid()
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        lsock.bind(sock_path)
    finally:
        os.umask(old_umask)
    lsock.listen(64)
    # The kernel reaps the run processes: nobody waits for them here (the engine reads their
    # exit status from the connection).
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    def stop(*_):
        jinja_cache.remove()
        # The socket and its directory (the engine's; it removes them too while it lives): when
        # the engine was killed, nothing of this server is left behind either.
        for remove in (lambda: os.unlink(sock_path), lambda: os.rmdir(os.path.dirname(os.path.abspath(sock_path)))):
            try:
                remove()
            except OSError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    sys.stdout.write(json.dumps({'ready': True, 'pid': os.getpid(),
                                 'import_cpu_s': round((t1.user + t1.system) - (t0.user + t0.system), 3)}) + '\n')
    sys.stdout.flush()

    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, 'accept')
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, 'stdin')
    while True:
        for key, _ in sel.select():
            if key.data == 'stdin':
                if not os.read(sys.stdin.fileno(), 4096):
                    stop()  # the engine is gone
                # The engine's liveness ping (a line, every second): this loop still turns.
                sys.stdout.write('{"pong": true}\n')
                sys.stdout.flush()
                continue
            conn, _ = lsock.accept()
            peer_pid = struct.unpack('3i', conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i')))[0]
            if peer_pid != engine_pid:
                log('refused a connection from process %d (not the engine, %d)' % (peer_pid, engine_pid))
                conn.close()
                continue
            try:
                conn.settimeout(10)
                buf = b''
                while not buf.endswith(b'\n'):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                request = json.loads(buf.decode('utf-8'))
            except Exception as e:
                log('bad request: %s' % e)
                conn.close()
                continue
            jinja_cache.prune()
            pid = os.fork()
            if pid == 0:
                try:
                    os.setsid()  # the run's process group: the engine kills -pid
                    # The server gone (crashed, killed, or the engine it serves ended): the run is
                    # canceled as ansible-runner cancels (SIGTERM), and the engine says why.
                    set_parent_death_signal(signal.SIGTERM)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    sel.close()
                    lsock.close()
                    conn.settimeout(None)
                    devnull = os.open(os.devnull, os.O_RDONLY)
                    os.dup2(devnull, 0)
                    os.close(devnull)
                    os.dup2(conn.fileno(), 1)
                    conn.close()
                except BaseException:
                    os._exit(1)
                run_process(request, server_settings)
            conn.close()


if __name__ == '__main__':
    serve(sys.argv[1])
