"""Group migrations in the emulation: the controller plans and sequences them (POST /api/v1/migrations with a
group body, or /groups/NAME/migrate); the harness stands in for libvirt and carries out each migration the group
starts (vwharness/migration.py's EmulatedMigration, told the controller started it).

    mover = GroupMover(fabric, ctl, run_id, pause_ms=150, fail={"a1"})
    run = mover.wait(timeout)   # the group run's final JSON; mover.migrations[vm] is each EmulatedMigration

fail: VMs whose migration fails after its prepare (the harness aborts it, as a libvirt job that failed).
"""
import threading
import time

from .migration import EmulatedMigration


class GroupMover:
    def __init__(self, fabric, ctl, run_id, pause_ms=150, fail=()):
        self.fabric, self.ctl, self.run_id, self.pause_ms, self.fail = fabric, ctl, run_id, pause_ms, set(fail)
        self.migrations, self.errors, self._threads = {}, {}, []

    def _carry_out(self, vm, to):
        m = EmulatedMigration(self.fabric, vm, to, pause_ms=self.pause_ms, controller=self.ctl, started_by_controller=True)
        self.migrations[vm] = m
        try:
            if vm in self.fail:
                m.prepare()
                m.abort()
            else:
                m.run()
        except Exception as e:   # shown by the test; the controller's VM timeout stops the group
            self.errors[vm] = repr(e)

    def wait(self, timeout=120):
        """Carries out every migration the group starts until the group has ended; returns its final JSON."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.ctl.api("GET", f"group-migrations/{self.run_id}")
            for v in run["vms"]:
                if v["state"] == "MIGRATING" and v["vm"] not in self.migrations:
                    t = threading.Thread(target=self._carry_out, args=(v["vm"], v["to"]), daemon=True)
                    self.migrations[v["vm"]] = None   # claimed; the thread puts its migration here
                    self._threads.append(t)
                    t.start()
            if run["state"] in ("COMPLETED", "FAILED"):
                for t in self._threads:
                    t.join(30)
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"group migration {self.run_id} still {run['state']} after {timeout} s: {run}")
            time.sleep(0.02)   # polls the API for migrations to carry out


def lost_windows(raw, split_ms=50):
    """The probe's lost requests as outages: runs of lost requests with less than split_ms of answered ones
    between them; each (first send, last send) in monotonic ns and its length in ms."""
    sent = raw["sent"]
    got = {seq for seq, _ in raw["echoes"]}
    lost = [i for i in range(len(sent)) if i not in got]
    windows = []
    for i in lost:
        if windows and sent[i] - windows[-1][1] <= split_ms * 1e6:
            windows[-1][1] = sent[i]
        else:
            windows.append([sent[i], sent[i]])
    return [(a, b, round((b - a) / 1e6, 3)) for a, b in windows]
