#!/bin/sh
# The bench's busybox peer of a container `--pivot-root=NEW:OLD`: the same dance as rspawn-init,
# written the way a shell script in a container image would do it.
#   usage: busybox-pivot.sh NEW OLD INIT [ARGS...]   (NEW absolute, OLD absolute inside NEW)
set -e
new=$1
old=$2
shift 2
# Nothing may propagate back to the host; NEW must be a mount point for pivot_root.
mount --make-rprivate /
mount --bind "$new" "$new"
for api in proc sys dev run; do
    mount --move "/$api" "$new/$api"
done
mkdir -p "$new$old"
cd "$new"
# pivot_root moves the root and working directory of this shell too, so INIT runs in NEW.
pivot_root . ".$old"
exec "$@"
