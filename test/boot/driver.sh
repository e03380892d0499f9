#!/bin/bash
# Boot rehearsal: the machine. Run by test/boot/rehearsal.ts as
#   unshare --mount --net --pid --fork --kill-child --mount-proc bash driver.sh <dir>
# so every mount, address, listener and process below is the namespace's own and vanishes with it.
# Sets up the root once (a tmpfs workspace, an overlay whose lower layer is the machine's own /,
# read-only through it), then reads commands from stdin:
#   run <run dir> <boot|reboot|again>   one boot (or reboot, or second run) as <run dir>/run.json says; answers "done"
#   bake <file>   the root's disk as an image (a tar of the overlay's upper layer)
#   exit
# Answers go to fd 3 (the harness's pipe); everything else to stderr.
set -euo pipefail
exec 3>&1 1>&2

dir=$1
assets=$(cd "$(dirname "$0")" && pwd)
ws=$dir/ws
root=$ws/root
python=/usr/bin/python3
setup=$dir/setup.json
# node=<path of node>, addresses=(<extra addresses>), image_tar=<baked image or empty>, written by the harness.
node=''
addresses=()
image_tar=''
# shellcheck source=/dev/null
source "$dir/setup.sh"

die() {
  echo "boot rehearsal: $*"
  exit 1
}

mkdir -p "$ws"
mount -t tmpfs -o mode=0700 rehearsal "$ws" || die "cannot mount a tmpfs (run as root)"
mkdir "$ws/upper" "$ws/work" "$root"
# An image baked from another rehearsal: its upper layer, whiteouts and opaque directories included.
if [ -n "$image_tar" ]; then
  tar -C "$ws/upper" --xattrs --xattrs-include='trusted.overlay.*' -xpf "$image_tar"
fi
mount -t overlay overlay -o "lowerdir=/,upperdir=$ws/upper,workdir=$ws/work" "$root" ||
  die "cannot mount an overlay on / (the kernel needs overlayfs: modprobe overlay)"
mount -t proc proc "$root/proc"
# The kernel's settings stay out of reach of the scripts.
mount --bind "$root/proc/sys" "$root/proc/sys"
mount -o remount,bind,ro "$root/proc/sys"

mount -t tmpfs -o mode=0755,nosuid rehearsal-dev "$root/dev" # filled by machine.py lay

# The instance's network: loopback, IMDS's link-local address, and the addresses the test asks for.
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
for address in "${addresses[@]}"; do
  ip addr add "$address/32" dev lo
done

# The fake AWS endpoint, told what to serve at each run (node takes the longest to start: at once).
mkfifo -m 600 "$ws/aws-control"
exec {aws}<> "$ws/aws-control"
"$node" "$assets/fake-aws.mjs" "$ws/aws-control" 2> "$dir/aws.stderr" 3>&- &
endpoint=$!

"$python" "$assets/machine.py" lay "$root" "$setup"
: > "$root/.rehearsal/calls.jsonl"

fresh_tmpfs() { # <mount point> <mode>: a first boot's empty /run or /tmp
  if mountpoint -q "$1"; then umount -l "$1"; fi
  mount -t tmpfs -o "mode=$2,nosuid,nodev" rehearsal "$1"
}

run() {
  local rd=$1 mode=$2 i
  echo "run $rd/aws.json" >&"$aws"
  if [ "$mode" != again ]; then
    fresh_tmpfs "$root/run" 0755
    fresh_tmpfs "$root/tmp" 1777
  fi
  cp "$rd/stubs.json" "$root/.rehearsal/stubs.json"
  : > "$root/.rehearsal/calls.jsonl"
  for ((i = 0; i < 1000; i++)); do
    [ -e "$rd/aws.ready" ] && break
    kill -0 "$endpoint" 2> /dev/null || break
    sleep 0.01
  done
  [ -e "$rd/aws.ready" ] || die "the fake AWS endpoint did not start: $(cat "$dir/aws.stderr")"
  "$python" "$assets/machine.py" run "$root" "$ws/upper" "$rd/run.json" 3>&-
  echo idle >&"$aws"
}

echo ready >&3
while read -r command argument mode; do
  case "$command" in
    run)
      run "$argument" "$mode"
      echo "done" >&3
      ;;
    bake)
      # What CreateImage keeps: the disk, i.e. the upper layer (/run, /tmp, /dev and /proc are mounts of their own).
      tar -C "$ws/upper" --xattrs --xattrs-include='trusted.overlay.*' --exclude=./.rehearsal/calls.jsonl -cpf "$argument" .
      echo "done" >&3
      ;;
    exit) break ;;
    *) die "unknown command $command" ;;
  esac
done
