"""How many cores this process may use, for sizing the consumer's processes.

The CPU affinity shows a container's `--cpuset-cpus`, but not a CPU quota
(`docker run --cpus=2`, a Kubernetes CPU limit, a systemd `CPUQuota`): a
container held to two CPUs on a 64-core host would otherwise fork a process
for each of 64 cores it cannot use. The quota comes from the process's cgroup
and every cgroup above it (the smallest wins), cgroup v2 (`cpu.max`) or v1
(`cpu.cfs_quota_us` / `cpu.cfs_period_us`), rounded up to whole cores.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def usable_cpus(*, root: Path = CGROUP_ROOT, proc: Path = PROC_CGROUP) -> int:
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_quota(root=root, proc=proc)
    return max(1, min(count, math.ceil(quota))) if quota else count


def cgroup_quota(*, root: Path = CGROUP_ROOT, proc: Path = PROC_CGROUP) -> float | None:
    """The CPU quota in cores, or None where none is set (or nothing is readable)."""
    quotas = [quota for directory in _cpu_cgroups(root, proc) if (quota := _quota_in(directory)) is not None]
    return min(quotas, default=None)


def _cpu_cgroups(root: Path, proc: Path):
    """The directories of the process's cpu cgroup and of each above it. In a
    container the listed path may be the host's while the mount is already the
    container's cgroup: the path's tail is skipped where it does not exist."""
    try:
        lines = proc.read_text().splitlines()
    except OSError:
        return
    for line in lines:
        if line.count(":") < 2:
            continue
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2
            mount = root
        elif "cpu" in controllers.split(","):  # cgroup v1, as "cpu" or "cpu,cpuacct"
            mount = root / controllers
        else:
            continue
        directory = mount / path.lstrip("/")
        while directory != mount and not directory.is_dir():
            directory = directory.parent
        while True:
            yield directory
            if directory == mount:
                break
            directory = directory.parent


def _quota_in(directory: Path) -> float | None:
    try:
        if (directory / "cpu.max").exists():
            quota, period = (directory / "cpu.max").read_text().split()[:2]
        else:
            quota = (directory / "cpu.cfs_quota_us").read_text().strip()
            period = (directory / "cpu.cfs_period_us").read_text().strip()
    except (OSError, ValueError):
        return None
    if quota in ("max", "-1") or int(period) <= 0:
        return None
    return int(quota) / int(period)
