# Copyright range42. GPL-3.0-only.
"""proxmox_controller_problems: what is wrong with the requested action, as a list of messages.

tasks/main.yml runs it once per action, as ``query('proxmox_controller_problems')``: an empty list
includes the action's file, anything else includes tasks/common/refuse.yml, which fails with the
messages joined by "; ". It checks what a Jinja template of the dispatcher once checked, with the
same words (a template that size costs more to compile than the rest of a read):

* proxmox_vm_action must be a key of proxmox_controller_actions (vars/main.yml);
* the Proxmox API host and token variables and the action's required variables must be set,
  not null and not blank;
* vm_id and vm_new_id, when given, must be whole numbers.

Variables are read as the ``vars`` lookup reads them (templated; missing ones are '').
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleUndefinedVariable
from ansible.plugins.lookup import LookupBase

CREDENTIALS = ('proxmox_api_host', 'proxmox_api_user', 'proxmox_api_token_id', 'proxmox_api_token_secret')
IDS = ('vm_id', 'vm_new_id')
_WHOLE = re.compile(r'[0-9]+$')


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        myvars = getattr(self._templar, '_available_variables', None) or variables or {}

        def value(name, default=''):
            try:
                if name in myvars:
                    raw = myvars[name]
                else:
                    raw = myvars['hostvars'][myvars['inventory_hostname']][name]
            except KeyError:
                return default
            try:
                return self._templar.template(raw, fail_on_undefined=True)
            except AnsibleUndefinedVariable:
                return default

        actions = value('proxmox_controller_actions', {}) or {}
        action = str(value('proxmox_vm_action'))
        if action not in actions:
            known = ', '.join(sorted(actions, key=lambda a: str(a).lower()))
            return ["unknown proxmox_vm_action '%s' (known actions: %s)" % (action, known)]
        problems = []
        required = list(CREDENTIALS) + list(actions[action] or [])
        for name in required:
            v = value(name)
            if v is None or (isinstance(v, str) and v.strip() == ''):
                problems.append("proxmox_vm_action '%s': %s is required" % (action, name))
        for name in IDS:
            v = value(name)
            text = str(v).strip() if v is not None else ''
            if v is not None and text != '' and not _WHOLE.match(text):
                problems.append("proxmox_vm_action '%s': %s must be a whole number, got %s" % (action, name, v))
        return problems
