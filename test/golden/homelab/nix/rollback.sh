#!/usr/bin/env bash
# nixlab rollback: run in the initrd before / is mounted (nix/rollback.nix embeds this file).
# Every boot starts from an empty root subvolume; the previous root is kept under
# old_roots/<UTC time of the rotation> for NIXLAB_ROLLBACK_KEEP_DAYS days, then deleted
# together with any subvolumes nested in it. /persist and /nix are never touched.
#
# Overridable for tests (the defaults are what the node uses):
#   NIXLAB_ROLLBACK_DEVICE     the btrfs volume         (default /dev/root_vg/root)
#   NIXLAB_ROLLBACK_MOUNT      where to mount it        (default /btrfs_tmp)
#   NIXLAB_ROLLBACK_NOW        "now" in epoch seconds   (default: the clock)
#   NIXLAB_ROLLBACK_KEEP_DAYS  retention in days        (default 30)
set -euo pipefail

device="${NIXLAB_ROLLBACK_DEVICE:-/dev/root_vg/root}"
mnt="${NIXLAB_ROLLBACK_MOUNT:-/btrfs_tmp}"
now="${NIXLAB_ROLLBACK_NOW:-$(date +%s)}"
keep_days="${NIXLAB_ROLLBACK_KEEP_DAYS:-30}"

case "$now" in '' | *[!0-9]*) echo "rollback: NIXLAB_ROLLBACK_NOW must be epoch seconds, got '$now'" >&2; exit 2 ;; esac
case "$keep_days" in '' | *[!0-9]*) echo "rollback: NIXLAB_ROLLBACK_KEEP_DAYS must be a whole number, got '$keep_days'" >&2; exit 2 ;; esac

mkdir -p "$mnt"
# subvolid=5: the top level, where root, persist, nix and old_roots live side by side.
mount -t btrfs -o subvolid=5 "$device" "$mnt"
trap 'umount "$mnt"' EXIT

if [ -e "$mnt/root" ]; then
  mkdir -p "$mnt/old_roots"
  # Named after the rotation time (not the root's mtime), so retention counts from when
  # the root was retired. Two boots within one second get a numeric suffix instead of
  # mv moving the root *into* the existing entry.
  stamp="$(date -u -d "@$now" '+%Y-%m-%d_%H:%M:%S')"
  target="$mnt/old_roots/$stamp"
  n=1
  while [ -e "$target" ]; do
    target="$mnt/old_roots/${stamp}.$n"
    n=$((n + 1))
  done
  mv "$mnt/root" "$target"
  echo "rollback: previous root kept as old_roots/${target##*/}"
fi

# A fresh root first: if cleaning up old roots fails below, the boot still goes on.
btrfs subvolume create "$mnt/root" >/dev/null
echo "rollback: created an empty root"

# Deletes a subvolume after every subvolume nested in it (btrfs refuses otherwise).
# Plain bash only (no sed, no process substitution): the initrd has little else.
delete_subvolume_recursively() {
  local path="$1" listing line
  # -o lists the subvolumes directly below $path: "ID n gen n top level n path <path from the top>".
  listing="$(btrfs subvolume list -o "$path")"
  local IFS=$'\n'
  local -
  set -f
  for line in $listing; do
    delete_subvolume_recursively "$mnt/${line#* path }"
  done
  btrfs subvolume delete "$path" >/dev/null
}

# The retirement time of an old root: from its name when it has our format (or the
# seed's, whose day has no leading zero), else its modification time.
retired_at() {
  local name="${1##*/}" day time
  name="${name%%.*}"
  if [[ "$name" =~ ^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})_([0-9]{2}:[0-9]{2}:[0-9]{2})$ ]]; then
    day="${BASH_REMATCH[1]}"
    time="${BASH_REMATCH[2]}"
    date -u -d "$day $time" +%s 2>/dev/null && return 0
  fi
  stat -c %Y "$1"
}

if [ -d "$mnt/old_roots" ]; then
  cutoff=$((now - keep_days * 86400))
  failed=0
  for old in "$mnt"/old_roots/*; do
    [ -e "$old" ] || continue
    if [ "$(retired_at "$old")" -lt "$cutoff" ]; then
      if delete_subvolume_recursively "$old"; then
        echo "rollback: deleted old_roots/${old##*/} (older than $keep_days days)"
      else
        failed=1
        echo "rollback: could not delete old_roots/${old##*/}; it will be retried next boot" >&2
      fi
    fi
  done
  if [ "$failed" -ne 0 ]; then
    # The new root exists, so a failed clean-up must not stop the boot.
    echo "rollback: some old roots were not deleted" >&2
  fi
fi
