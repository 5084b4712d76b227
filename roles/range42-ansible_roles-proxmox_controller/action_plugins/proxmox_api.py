# Copyright range42. GPL-3.0-only.
"""proxmox_api: one call to the Proxmox VE API, made in the controller's worker process.

Every Proxmox call of the role is one task of this plugin, registered as ``_px_call``:

    - name: List the VMs of {{ _px_node }}
      proxmox_api:
        path: "/nodes/{{ _px_node }}/qemu"
      register: _px_call

It does what the role once did with two ansible.builtin.uri tasks and a check (the call, the task
status polled once a second, a fail task wording the error) without a module process and in one
task: the HTTPS request is made here, with Python's standard library; when Proxmox answers with a
task id (UPID) the task's status is polled in the same process with a short backoff (50 ms, x1.5 per
poll, at most 500 ms) until the task has stopped or ``wait_timeout`` seconds have passed; then the
outcome is checked and the task fails with a worded message (an HTTP status not in ``accept``, a
task that could not be read, did not end in time, or ended with an exit status other than OK).

Options (all templated by Ansible before the plugin sees them):
  path           path after /api2/json (required)
  method         GET (default), POST, PUT, DELETE
  body           request body (a dict, a list of pairs, or a string), optional
  body_format    form-urlencoded (default) or json
  accept         HTTP statuses that are not an error (default [200])
  wait_timeout   seconds to wait for a task (default: proxmox_task_timeout, else 120)
  validate_certs verify the server's TLS certificate (default: proxmox_validate_certs, else false)
  timeout        seconds one HTTP request may take (default: proxmox_api_timeout, else 30)
  api_host, api_user, api_token_id, api_token_secret
                 the API address (host:port) and token; by default the task variables
                 proxmox_api_host, proxmox_api_user, proxmox_api_token_id, proxmox_api_token_secret

A successful result has what the uri tasks registered: ``status`` (-1 when there was no answer),
``json`` (the decoded answer, when it is JSON), ``msg`` (worded as uri words it), ``url``; and
``task``: the task status answer (``status``, ``json``, ``msg``) when there was a task to wait for,
else ``{"skipped": true}``, plus ``task_timed_out`` when the task had not stopped in time. It is
hidden from the output and the events (``_ansible_no_log``) unless proxmox_controller_no_log is
false: some request bodies carry passwords, and the answers are not for the log; the registered
variable has it all. A failed result is only ``msg`` (never censored: it is the error the user
needs, worded from the HTTP status and Proxmox's message, with the token masked), as
ansible.builtin.fail gives it. The Authorization header is built here and never appears in a
result (any message that would hold the token has it masked).
"""

from __future__ import annotations

import gzip
import json
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

# Task status polling: first poll at once, then these delays (seconds).
POLL_FIRST_DELAY = 0.05
POLL_FACTOR = 1.5
POLL_MAX_DELAY = 0.5

_DEFAULTS = {'wait_timeout': 120, 'timeout': 30}


def form_urlencoded(body):
    """The body as ansible.builtin.uri encodes it (None values dropped, lists repeated)."""
    if isinstance(body, str):
        return body
    if isinstance(body, (Mapping, Sequence)):
        pairs = []
        for key, values in (body.items() if isinstance(body, Mapping) else body):
            if isinstance(values, str) or not isinstance(values, (Mapping, Sequence)):
                values = [values]
            for value in values:
                if value is not None:
                    pairs.append((to_text(key), to_text(value)))
        return urllib.parse.urlencode(pairs, doseq=True)
    return to_text(body)


def _get(value, *keys):
    """value[k1][k2]... or None when a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def failure_message(method, path, call, accept, wait_timeout):
    """Why the call failed, worded as the role's check task worded it, or None when it did not."""
    status = call.get('status', -1)
    if status not in accept:
        head = 'Proxmox API %s %s failed: ' % (method, path)
        if status <= 0:
            return head + to_text(call.get('msg', 'no answer'))
        message = _get(call, 'json', 'message')
        text = to_text(message).strip() if message else ''
        if not text:
            text = re.sub(r'^Status code was .*? and not \[.*?\]: ', '', to_text(call.get('msg', '')), count=1)
        errors = _get(call, 'json', 'errors')
        return head + 'HTTP %s: %s%s' % (status, text, ' ' + json.dumps(errors) if errors else '')
    task = call.get('task') or {}
    if task.get('skipped') or _get(task, 'json', 'data', 'exitstatus') == 'OK':
        return None
    upid = to_text(_get(call, 'json', 'data'))
    if task.get('status', -1) != 200:
        message = _get(task, 'json', 'message')
        if message is None:
            message = task.get('msg', '')
        return 'could not read the status of Proxmox task %s: HTTP %s %s' % (upid, task.get('status', '-'), to_text(message).strip())
    if _get(task, 'json', 'data', 'status') != 'stopped':
        return 'Proxmox task %s did not end within %s s (proxmox_task_timeout)' % (upid, to_text(wait_timeout))
    exitstatus = _get(task, 'json', 'data', 'exitstatus')
    return 'Proxmox task %s failed: %s' % (upid, 'no exit status' if exitstatus is None else to_text(exitstatus))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered with its own status (uri follows one for GET; Proxmox never redirects /api2/json)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    # Controller-side only (no module, no connection, nothing process-wide kept): the project's warm
    # engine may run it in the playbook process instead of a forked worker
    # (src/engine/warm/inline_tasks.py). Plain Ansible ignores the attribute.
    RUNS_WITHOUT_WORKER = True
    _VALID_ARGS = frozenset((
        'path', 'method', 'body', 'body_format', 'accept', 'wait_timeout', 'validate_certs', 'timeout',
        'api_host', 'api_user', 'api_token_id', 'api_token_secret',
    ))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = self._task.args

        def setting(arg, var, default=None):
            """The option, else the task variable (templated: it may refer to others or be vaulted)."""
            value = args.get(arg)
            if value is None and var in task_vars:
                value = self._templar.template(task_vars[var])
            return default if value is None else value

        path = to_text(args.get('path') or '')
        if not path.startswith('/'):
            raise AnsibleActionFail('proxmox_api: path must start with / (got %r)' % path)
        method = to_text(args.get('method') or 'GET').upper()
        body_format = to_text(args.get('body_format') or 'form-urlencoded')
        if body_format not in ('form-urlencoded', 'json'):
            raise AnsibleActionFail('proxmox_api: body_format must be form-urlencoded or json, not %s' % body_format)
        try:
            accept = [int(s) for s in (args.get('accept') or [200])]
            wait_given = setting('wait_timeout', 'proxmox_task_timeout', _DEFAULTS['wait_timeout'])
            wait_timeout = float(wait_given)
            timeout = float(setting('timeout', 'proxmox_api_timeout', _DEFAULTS['timeout']))
        except (TypeError, ValueError) as e:
            raise AnsibleActionFail('proxmox_api: accept, wait_timeout and timeout must be numbers: %s' % e)
        validate_certs = boolean(setting('validate_certs', 'proxmox_validate_certs', False), strict=False)

        host = to_text(setting('api_host', 'proxmox_api_host', ''))
        user = to_text(setting('api_user', 'proxmox_api_user', ''))
        token_id = to_text(setting('api_token_id', 'proxmox_api_token_id', ''))
        secret = to_text(setting('api_token_secret', 'proxmox_api_token_secret', ''))
        if not host:
            raise AnsibleActionFail('proxmox_api: proxmox_api_host is not set')

        client = _Client(host, 'PVEAPIToken=%s!%s=%s' % (user, token_id, secret), validate_certs, timeout, secret)

        data = None
        headers = {}
        if 'body' in args and args['body'] is not None:
            if body_format == 'json':
                data = args['body'] if isinstance(args['body'], str) else json.dumps(args['body'])
                headers['Content-Type'] = 'application/json'
            else:
                data = form_urlencoded(args['body'])
                headers['Content-Type'] = 'application/x-www-form-urlencoded'

        call = client.request(method, path, data, headers, accept)
        result.update(call)
        result['changed'] = False
        result['failed'] = False

        upid = (call.get('json') or {}).get('data') if isinstance(call.get('json'), Mapping) else None
        if call['status'] == 200 and isinstance(upid, str) and upid.startswith('UPID:'):
            result['task'], timed_out = self._wait(client, upid, wait_timeout)
            if timed_out:
                result['task_timed_out'] = True
        else:
            result['task'] = {'skipped': True, 'changed': False}

        problem = failure_message(method, path, result, accept, wait_given)
        if problem is not None:
            return {'failed': True, 'changed': False, 'msg': client.mask(problem)}
        no_log = self._templar.template(task_vars['proxmox_controller_no_log']) if 'proxmox_controller_no_log' in task_vars else True
        result['_ansible_no_log'] = boolean(True if no_log is None else no_log, strict=False)
        return result

    @staticmethod
    def _wait(client, upid, wait_timeout):
        """Polls the task's status until it has stopped, the status cannot be read, or time is up."""
        parts = upid.split(':')
        node = parts[1] if len(parts) > 1 else ''
        path = '/nodes/%s/tasks/%s/status' % (urllib.parse.quote(node, safe=''), urllib.parse.quote(upid, safe='/'))
        deadline = time.monotonic() + max(wait_timeout, 0)
        delay = POLL_FIRST_DELAY
        while True:
            answer = client.request('GET', path, None, {}, [200])
            answer['changed'] = False
            if answer['status'] != 200:
                return answer, False
            data = (answer.get('json') or {}).get('data') if isinstance(answer.get('json'), Mapping) else None
            if isinstance(data, Mapping) and data.get('status') == 'stopped':
                return answer, False
            left = deadline - time.monotonic()
            if left <= 0:
                return answer, True
            time.sleep(min(delay, left))
            delay = min(delay * POLL_FACTOR, POLL_MAX_DELAY)


class _Client:
    """HTTPS requests to one Proxmox API, answered as ansible.builtin.uri registers them."""

    def __init__(self, host, authorization, validate_certs, timeout, secret):
        self.base = 'https://%s/api2/json' % host
        self.authorization = authorization
        self.timeout = timeout
        self.secret = secret
        if validate_certs:
            context = ssl.create_default_context()
        else:
            # create_default_context() would load the system's CA certificates (~20 ms per call)
            # only to verify nothing: the same client context, without them.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        # The proxy handler (https_proxy, no_proxy from the environment) is there as with uri.
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect())

    def mask(self, text):
        text = to_text(text)
        return text.replace(self.secret, '********') if self.secret else text

    def request(self, method, path, data, headers, accept):
        out = self._request(method, path, data, headers)
        if out['status'] not in accept:
            out['msg'] = 'Status code was %s and not %s: %s' % (out['status'], accept, out['msg'])
        return out

    def _request(self, method, path, data, headers):
        url = self.base + path
        req = urllib.request.Request(url, data=None if data is None else data.encode('utf-8'), method=method)
        req.add_header('Authorization', self.authorization)
        req.add_header('Accept-Encoding', 'gzip')
        req.add_header('User-Agent', 'ansible-httpget')
        for k, v in headers.items():
            req.add_header(k, v)
        out = {'url': url, 'status': -1}
        try:
            resp = self.opener.open(req, timeout=self.timeout)
            status = resp.status
            msg = 'OK (%s bytes)' % resp.headers.get('Content-Length', 'unknown')
        except urllib.error.HTTPError as e:
            resp, status = e, e.code
            msg = 'HTTP Error %s: %s' % (e.code, self.mask(e.reason))
        except urllib.error.URLError as e:
            out['msg'] = self.mask('Request failed: %s' % e)
            return out
        except OSError as e:  # socket errors urllib does not wrap (e.g. a timeout reading the status line)
            out['msg'] = self.mask('Connection failure: %s' % e)
            return out
        except Exception as e:  # e.g. an address http.client refuses (InvalidURL): an answer, as uri gives
            out['msg'] = self.mask('An unknown error occurred: %s' % e)
            return out
        try:
            with resp:
                raw = resp.read()
            content_type = resp.headers.get('Content-Type', '') or ''
            if (resp.headers.get('Content-Encoding', '') or '').lower() == 'gzip':
                raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            out['msg'] = self.mask('Connection failure: %s' % e)
            return out
        out.update(status=status, msg=msg, content_type=content_type)
        if raw and 'json' in content_type.lower():
            try:
                out['json'] = json.loads(raw.decode(resp.headers.get_content_charset() or 'utf-8', errors='replace'))
            except ValueError:
                pass
        return out
