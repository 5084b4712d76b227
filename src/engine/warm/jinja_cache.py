"""The warm engine's compiled-template cache.

ansible-core 2.14 compiles every template string every time it templates it (Templar.do_template ->
AnsibleEnvironment.from_string -> Environment.compile: lexing, parsing, the optimizer, code
generation, Python's compile()); for the role's tasks that is more than half of a run's CPU. A run's
processes are forks of the warm server, so a cache in their memory dies with them: this one keeps
the compiled code (marshal) in a directory of the server's own (0700, in the server's private
socket directory, created at start and removed at exit). The playbook and worker processes read an
entry before compiling and write one after (write to a temporary name, then rename: a reader sees a
whole file or none).

What makes a hit give the code a compile would have given:
* The key is the template source itself (plus name, filename, defer_init), and everything of the
  environment that code generation reads: its class, the lexer's delimiters and whitespace settings
  (a `#jinja2:` header's overrides included: they are set on the overlay being compiled with),
  newline settings, optimized, autoescape, async, finalize, the code generator class, and the
  Python, Jinja and ansible-core versions. An entry stores the source and settings and is used only
  if they are equal (a digest collision cannot give another template's code). A template edited on
  disk is another source, hence another key.
* Code generation also reads the filters and tests the template names: whether each exists (Jinja
  fails the compile for a missing one outside an `if`; Ansible's plugin lookup raises for an unknown
  one) and how it is called (pass_context/pass_environment/...). An entry records, for each name,
  what the compile saw; a hit looks every name up again, as the compile would have (the same lazy
  plugin loading), and if one is missing, raises, or is called differently, the template is
  compiled as usual, so an unknown filter fails the task with exactly the usual error.
* Jinja's optimizer folds constant expressions at compile time, calling filters and tests
  (`{{ 100 | random }}` would become a constant). A template whose compile folded any filter or
  test call is never cached.
* Only Ansible's two environment classes, without extensions or a sandbox, and never a compile
  that failed. Request values are `!unsafe`: Ansible never templates them, so they never reach
  compile(); the cache only replaces compiles that happen anyway, for the same source.
Bounds: entries larger than MAX_FILE are not written, a process writes at most
MAX_WRITES_PER_PROCESS entries, and the server prunes the directory (oldest first) beyond
MAX_ENTRIES or MAX_BYTES. An unreadable, truncated or foreign file is ignored (then replaced).
"""

import hashlib
import marshal
import os
import sys
import threading
import time

FORMAT = 'r42-jinja-1'
MAX_FILE = 512 * 1024
MAX_WRITES_PER_PROCESS = 2000
MAX_ENTRIES = 4096
MAX_BYTES = 64 * 1024 * 1024
PRUNE_EVERY_S = 30.0

DIR = None
_VERSION = None
_ENV_CLASSES = ()
_memo = {}
_writes = [0]
_state = threading.local()
_last_prune = [0.0]
stats = {'hit': 0, 'miss': 0, 'bypass': 0, 'write': 0, 'corrupt': 0, 'recompile': 0}


def install(directory):
    """Creates the cache directory (private; it must not exist) and routes the compiles of
    Ansible's template environments through the cache. Returns the directory or None."""
    global DIR, _VERSION, _ENV_CLASSES
    import importlib.util
    import jinja2
    from jinja2 import compiler, nodes
    from jinja2.environment import Environment
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.utils import internal_code
    import ansible
    from ansible.template import AnsibleEnvironment, AnsibleNativeEnvironment

    if os.environ.get('R42_WARM_JINJA_CACHE') == 'off':
        return None
    if not jinja2.__version__.startswith(('3.0.', '3.1.')):
        return None  # the compile() replicated below is Jinja 3.0/3.1's
    os.mkdir(directory, 0o700)
    st = os.lstat(directory)
    if st.st_uid != os.getuid() or (st.st_mode & 0o777) != 0o700:
        raise OSError('cache directory %s is not private' % directory)
    DIR = directory
    try:
        jinja_mtime = os.stat(compiler.__file__).st_mtime_ns
    except OSError:
        jinja_mtime = 0
    _VERSION = (FORMAT, sys.version, importlib.util.MAGIC_NUMBER, jinja2.__version__, jinja_mtime,
                ansible.__version__)
    # Ansible's template environments, and Jinja's own two (ansible.config renders the templated
    # defaults of its settings with a NativeEnvironment whenever the configuration is loaded).
    from jinja2.nativetypes import NativeEnvironment
    _ENV_CLASSES = (AnsibleEnvironment, AnsibleNativeEnvironment, NativeEnvironment, Environment)

    original_as_const = nodes._FilterTestCommon.as_const

    def as_const(self, eval_ctx=None):
        rv = original_as_const(self, eval_ctx)
        _state.folded = True  # a filter or test was called at compile time: not cacheable
        return rv

    nodes._FilterTestCommon.as_const = as_const
    original_compile = Environment.compile

    def cached_compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        settings = None
        # An unsafe string is never templated by Ansible; should one reach a compile anyway, it
        # is compiled as usual and nothing of it is kept.
        if not raw and isinstance(source, str) and DIR is not None and not hasattr(source, '__UNSAFE__'):
            settings = _settings(self)
        if settings is None:
            stats['bypass'] += 1
            return original_compile(self, source, name, filename, raw, defer_init)
        source = str.__str__(source)  # AnsibleUnicode and other subclasses: a plain str
        settings = repr((settings, name, filename, defer_init))
        h = hashlib.sha256(settings.encode('utf-8', 'surrogatepass'))
        h.update(b'\0')
        h.update(source.encode('utf-8', 'surrogatepass'))
        digest = h.hexdigest()
        entry = _memo.get(digest)
        if entry is None:
            entry = _read(digest, settings, source)
        if entry is not None:
            code, deps = entry
            if _deps_hold(self, deps):
                stats['hit'] += 1
                _memo[digest] = entry
                return code
            stats['recompile'] += 1
        stats['miss'] += 1
        # Environment.compile of Jinja 3.0/3.1, with the filters and tests it looked up recorded.
        outer_folded = getattr(_state, 'folded', False)
        _state.folded = False
        try:
            tree = self._parse(source, name, filename)
            generated = self._generate(tree, name, filename, defer_init=defer_init)
            code = self._compile(generated, '<template>' if filename is None else filename)
        except TemplateSyntaxError:
            self.handle_exception(source=source)
        finally:
            folded = _state.folded
            _state.folded = outer_folded or folded
        if not folded:
            try:
                deps = _deps_of(self, tree)
            except Exception:
                deps = None
            if deps is not None:
                _memo[digest] = (code, deps)
                _write(digest, settings, source, code, deps)
        return code

    internal_code.add(cached_compile.__code__)
    Environment.compile = cached_compile
    return DIR


def _settings(env):
    """Everything of `env` that code generation depends on, or None: not cached."""
    if type(env) not in _ENV_CLASSES or env.extensions or getattr(env, 'sandboxed', False):
        return None
    autoescape = env.autoescape
    if not isinstance(autoescape, bool):
        return None
    finalize = env.finalize
    if finalize is not None:
        finalize = (getattr(finalize, '__module__', None), getattr(finalize, '__qualname__', None),
                    _pass_arg(finalize))
        if finalize[1] is None:
            return None
    gen = env.code_generator_class
    return (_VERSION, type(env).__module__, type(env).__qualname__, gen.__module__, gen.__qualname__,
            env.block_start_string, env.block_end_string, env.variable_start_string,
            env.variable_end_string, env.comment_start_string, env.comment_end_string,
            env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
            env.newline_sequence, env.keep_trailing_newline, env.optimized, autoescape,
            env.is_async, finalize)


def _pass_arg(func):
    from jinja2.utils import _PassArg
    p = _PassArg.from_obj(func)
    return None if p is None else p.name


def _lookup(env, kind, name):
    """What the compiler sees for filter/test `name` ('missing' when absent); may raise."""
    func = (env.filters if kind == 'filter' else env.tests).get(name)
    return 'missing' if func is None else _pass_arg(func)


def _deps_of(env, tree):
    from jinja2 import nodes
    names = set()
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        names.add(('filter' if isinstance(node, nodes.Filter) else 'test', node.name))
    return tuple((kind, name, _lookup(env, kind, name)) for kind, name in sorted(names))


def _deps_hold(env, deps):
    for kind, name, seen in deps:
        try:
            if _lookup(env, kind, name) != seen:
                return False
        except Exception:
            return False  # compiled as usual: the compile raises what it raises
    return True


def _read(digest, settings, source):
    try:
        with open(os.path.join(DIR, digest), 'rb') as f:
            data = f.read(MAX_FILE + 1)
    except OSError:
        return None
    try:
        fmt, s, src, code, deps = marshal.loads(data)
        if fmt != FORMAT or s != settings or src != source or not hasattr(code, 'co_code'):
            raise ValueError('not this template')
        deps = tuple((str(k), str(n), v) for k, n, v in deps)
    except Exception:
        stats['corrupt'] += 1
        return None
    return code, deps


def _write(digest, settings, source, code, deps):
    if _writes[0] >= MAX_WRITES_PER_PROCESS:
        return
    try:
        data = marshal.dumps((FORMAT, settings, source, code, deps))
    except ValueError:
        return
    if len(data) > MAX_FILE:
        return
    _writes[0] += 1
    tmp = os.path.join(DIR, '.%s.%d.tmp' % (digest, os.getpid()))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.rename(tmp, os.path.join(DIR, digest))
        stats['write'] += 1
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def prune(now=None, force=False):
    """In the server: keeps the directory within MAX_ENTRIES / MAX_BYTES (oldest entries go first)
    and removes temporary files left by killed processes. At most every PRUNE_EVERY_S."""
    if DIR is None:
        return
    now = time.time() if now is None else now
    if not force and now - _last_prune[0] < PRUNE_EVERY_S:
        return
    _last_prune[0] = now
    entries = []
    total = 0
    try:
        with os.scandir(DIR) as it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if e.name.startswith('.'):
                    if now - st.st_mtime > 60:
                        _unlink(e.path)
                    continue
                entries.append((st.st_mtime, st.st_size, e.path))
                total += st.st_size
    except OSError:
        return
    if len(entries) <= MAX_ENTRIES and total <= MAX_BYTES:
        return
    entries.sort()
    count = len(entries)
    for _, size, path in entries:
        if count <= MAX_ENTRIES * 3 // 4 and total <= MAX_BYTES * 3 // 4:
            break
        _unlink(path)
        count -= 1
        total -= size


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def remove():
    """In the server, at exit."""
    if DIR is not None:
        import shutil
        shutil.rmtree(DIR, ignore_errors=True)
