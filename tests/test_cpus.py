"""The consumer's process count follows a container's CPU quota, not only the affinity."""

import os

import pytest

from zimage_site.cpus import cgroup_quota, usable_cpus

AFFINITY = len(os.sched_getaffinity(0))


def tree(tmp_path, proc_lines, files):
    """A fake /sys/fs/cgroup under tmp_path and a /proc/self/cgroup naming the process's cgroups."""
    for name, text in files.items():
        (tmp_path / "cg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cg" / name).write_text(text)
    (tmp_path / "proc").write_text("\n".join(proc_lines) + "\n")
    return {"root": tmp_path / "cg", "proc": tmp_path / "proc"}


def test_it_counts_a_cgroup_v2_quota_in_whole_cores(tmp_path):
    paths = tree(tmp_path, ["0::/docker/abc"], {"docker/abc/cpu.max": "150000 100000\n"})
    assert cgroup_quota(**paths) == 1.5
    assert usable_cpus(**paths) == min(AFFINITY, 2)


def test_the_smallest_quota_on_the_way_up_wins(tmp_path):
    paths = tree(
        tmp_path,
        ["0::/kubepods/pod1/c1"],
        {
            "kubepods/pod1/c1/cpu.max": "max 100000",
            "kubepods/pod1/cpu.max": "100000 100000",
            "kubepods/cpu.max": "800000 100000",
        },
    )
    assert cgroup_quota(**paths) == 1.0 and usable_cpus(**paths) == 1


def test_it_reads_cgroup_v1_and_a_container_whose_path_is_the_hosts(tmp_path):
    # Inside a container the listed path is the host's; the mount is the container's cgroup.
    paths = tree(
        tmp_path,
        ["4:memory:/x", "2:cpu,cpuacct:/docker/abc", "0::/"],
        {"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
    )
    assert cgroup_quota(**paths) == 0.5 and usable_cpus(**paths) == 1


@pytest.mark.parametrize(
    "files",
    [
        {"cpu.max": "max 100000"},
        {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"},
        {},
    ],
)
def test_no_quota_leaves_the_affinity(tmp_path, files):
    paths = tree(tmp_path, ["1:cpu:/", "0::/"], files)
    assert cgroup_quota(**paths) is None and usable_cpus(**paths) == AFFINITY


def test_an_unreadable_proc_file_leaves_the_affinity(tmp_path):
    assert usable_cpus(root=tmp_path, proc=tmp_path / "missing") == AFFINITY
