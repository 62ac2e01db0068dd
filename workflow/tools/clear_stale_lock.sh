#!/usr/bin/env bash
# Clear Snakemake's lock after a killed run, so `make run` resumes without manual steps.
# Usage: clear_stale_lock.sh SNAKEMAKE [snakemake arguments...]
# The lock (.snakemake/locks in the working directory, or in --directory/-d if given) is removed with
# `snakemake --unlock` only when no live Snakemake process works in that directory; a run in progress
# keeps its lock (and the new run then stops with Snakemake's own message, as it should).
set -euo pipefail
snakemake=$1
shift
dir=.
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --directory | -d) dir=${args[$((i + 1))]:-.} ;;
    --directory=*) dir=${args[$i]#--directory=} ;;
  esac
done
locks="$dir/.snakemake/locks"
[ -d "$locks" ] && [ -n "$(ls -A "$locks" 2>/dev/null)" ] || exit 0
here=$(cd "$dir" && pwd -P)
# live processes whose command line names snakemake; a process that is exiting or a zombie (killed, not yet
# reaped) has an empty command line and holds nothing. CLEAR_STALE_LOCK_PROC: another /proc, for the tests.
proc=${CLEAR_STALE_LOCK_PROC:-/proc}
for d in "$proc"/[0-9]*; do
  pid=${d##*/}
  [ "$pid" = "$$" ] || [ "$pid" = "$PPID" ] && continue
  cmd=$(tr '\0' ' ' < "$d/cmdline" 2>/dev/null || true)
  case "$cmd" in *snakemake*) ;; *) continue ;; esac
  if [ "$(readlink -f "$d/cwd" 2>/dev/null || true)" = "$here" ]; then
    echo "clear_stale_lock: Snakemake process $pid ($(echo "$cmd" | cut -c1-200)) is running in $here; leaving its lock" >&2
    exit 0
  fi
done
echo "clear_stale_lock: removing a stale Snakemake lock in $here (no Snakemake process runs there)" >&2
"$snakemake" "$@" --unlock >/dev/null
