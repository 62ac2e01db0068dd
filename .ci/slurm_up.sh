#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for tests/test_slurm.py (CI: .ci/run calls it).
# Installs slurmctld, slurmd, slurm-client and munge (Debian packages), writes /etc/slurm/slurm.conf for
# this node (its hostname, reached at 127.0.0.1 so no DNS is needed; `nproc` CPUs, `free` memory; one
# partition `debug`; no accounting, no cgroups) and starts munged, slurmctld and slurmd directly (no
# systemd). Idempotent: a second call with the daemons up and the same config only checks `sinfo` and
# `srun`; a changed config restarts slurmctld and slurmd. Needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
log() { echo "slurm_up: $*"; }

# 1. packages (only what is missing; no recommends: the plugin -dev packages are not needed)
need=()
for cmd in slurmctld:slurmctld slurmd:slurmd sinfo:slurm-client munged:munge; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || need+=("${cmd##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. munge: a key, and munged as its own user
if [ ! -s /etc/munge/munge.key ]; then
  log "creating the munge key"
  install -d -o munge -g munge -m 0700 /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null
fi

# 3. slurm.conf for this node
host=$(hostname -s)
cpus=$(nproc)
mem_total=$(free -m | awk '/^Mem:/ {print $2}')
mem=$(( mem_total * 95 / 100 ))  # slurmd refuses a node that has less memory than configured
install -d -m 0755 "$CONF_DIR"
install -d -o slurm -g slurm -m 0755 /var/lib/slurm/slurmctld /var/log/slurm /run/slurm
install -d -m 0755 /var/lib/slurm/slurmd
new=$(mktemp)
cat >"$new" <<EOF
# Written by .ci/slurm_up.sh: a single-node cluster for CI.
ClusterName=ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
# finished jobs stay visible to squeue for 10 minutes (the Snakemake plugin polls squeue, not sacct)
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
changed=1
if [ -f "$CONF" ] && cmp -s "$new" "$CONF"; then changed=0; fi
if [ "$changed" = 1 ]; then
  log "writing $CONF ($host: $cpus CPUs, $mem MB)"
  install -m 0644 "$new" "$CONF"
  for pidfile in /run/slurmd.pid /run/slurm/slurmctld.pid; do  # restart our daemons on the new config
    if running "$pidfile"; then
      pid=$(cat "$pidfile"); kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
  done
fi
rm -f "$new"

# 4. the daemons (they fork into the background)
if ! running /run/slurm/slurmctld.pid; then
  log "starting slurmctld"
  slurmctld -f "$CONF"
fi
for _ in $(seq 50); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
if ! running /run/slurmd.pid; then
  log "starting slurmd"
  slurmd -f "$CONF"
fi

# 5. the node is idle and runs a job
state=""
for _ in $(seq 60); do
  state=$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null || true)
  case "$state" in idle*|mixed*|allocated*) break ;; esac
  sleep 1
done
case "$state" in
  idle*|mixed*|allocated*) ;;
  *) log "node $host is '$state', not idle"; tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2
     exit 1 ;;
esac
sinfo
out=$(timeout 60 srun -N1 hostname)
[ "$out" = "$(hostname)" ] || [ "$out" = "$host" ] || { log "srun printed '$out'"; exit 1; }
log "ok: node $host $state, srun -N1 hostname -> $out"
