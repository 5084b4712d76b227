"""Drives the simulator with Debian's python3-proxmoxer (1.2.0), as a real Proxmox client would.

Reads SIM_HOST, SIM_PORT, SIM_USER, SIM_TOKEN_NAME, SIM_TOKEN_VALUE, SIM_ROOT_PASSWORD from the
environment and prints one JSON object describing what it saw; the vitest side asserts on it and
on the simulator's state afterwards.
"""
import json
import os
import sys
import time

from proxmoxer import ProxmoxAPI

host, port = os.environ["SIM_HOST"], int(os.environ["SIM_PORT"])
node = "px-testing"


def wait(api, upid, timeout=20):
    deadline = time.time() + timeout
    while True:
        status = api.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        if time.time() > deadline:
            raise RuntimeError("task %s did not finish" % upid)
        time.sleep(0.05)


out = {}
token_api = ProxmoxAPI(host, port=port, user=os.environ["SIM_USER"], token_name=os.environ["SIM_TOKEN_NAME"],
                       token_value=os.environ["SIM_TOKEN_VALUE"], verify_ssl=False)
out["version"] = token_api.version.get()["version"]
out["nodes"] = sorted(n["node"] for n in token_api.nodes.get())
out["vms_before"] = sorted(v["vmid"] for v in token_api.nodes(node).qemu.get())

# create, clone, start/stop, snapshots, tasks
upid = token_api.nodes(node).qemu.create(vmid=850, name="pxr-created", memory=1024, cores=1,
                                         net0="virtio,bridge=vmbr0", scsi0="local-lvm:4")
out["create"] = wait(token_api, upid)["exitstatus"]
upid = token_api.nodes(node).qemu(9221).clone.post(newid=851, name="pxr-clone", full=1)
out["clone"] = wait(token_api, upid)["exitstatus"]
out["clone_upid_type"] = upid.split(":")[5]
out["start"] = wait(token_api, token_api.nodes(node).qemu(851).status.start.post())["exitstatus"]
out["status_running"] = token_api.nodes(node).qemu(851).status.current.get()["status"]
out["snapshot"] = wait(token_api, token_api.nodes(node).qemu(851).snapshot.post(snapname="first", description="by proxmoxer"))["exitstatus"]
out["snapshots"] = [s["name"] for s in token_api.nodes(node).qemu(851).snapshot.get()]
out["stop"] = wait(token_api, token_api.nodes(node).qemu(851).status.stop.post())["exitstatus"]
out["config_net0"] = token_api.nodes(node).qemu(850).config.get()["net0"]
tasks = token_api.nodes(node).tasks.get(limit=100)
out["task_types"] = sorted({t["type"] for t in tasks})
log = token_api.nodes(node).tasks(upid).log.get()
out["last_log_line"] = log[-1]["t"]

# errors surface as proxmoxer exceptions carrying PVE's status and reason
try:
    token_api.nodes(node).qemu(999).status.current.get()
    out["missing"] = "no error"
except Exception as err:  # proxmoxer.core.ResourceException
    out["missing"] = str(err)
try:
    token_api.nodes(node).qemu(851).clone.post(newid=852, full=True)  # Python True is sent as "True"
    out["bad_bool"] = "no error"
except Exception as err:
    out["bad_bool"] = str(err)

# ticket login (password), CSRF on writes, then renewal with the ticket as password
ticket_api = ProxmoxAPI(host, port=port, user="root@pam", password=os.environ["SIM_ROOT_PASSWORD"], verify_ssl=False)
out["ticket_nodes"] = len(ticket_api.nodes.get())
upid = ticket_api.nodes(node).qemu(851).status.start.post()
out["ticket_start"] = wait(ticket_api, upid)["exitstatus"]
out["ticket_task_user"] = upid.split(":")[7]
# proxmoxer renews by re-posting /access/ticket with the ticket as the password
ticket_api._store["session"].auth.renew_age = 0
out["after_renewal"] = len(ticket_api.nodes.get())
try:
    ProxmoxAPI(host, port=port, user="root@pam", password="wrong", verify_ssl=False)
    out["bad_password"] = "no error"
except Exception as err:
    out["bad_password"] = type(err).__name__

json.dump(out, sys.stdout)
