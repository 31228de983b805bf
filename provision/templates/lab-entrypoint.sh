#!/bin/sh
# Entrypoint of every Redis and Sentinel container: lab-entrypoint.sh redis|sentinel CONF
#
# Redis and Sentinel rewrite their own config (CONFIG REWRITE after a failover, Sentinel's
# state), so each runs from a writable copy in /data. The copy is refreshed only when the
# rendered template changes: a restart keeps what Sentinel learned, a new render applies.
set -eu
kind=$1
template=$2
conf=/data/$(basename "$template")
stamp=$conf.template-sha256

want=$(sha256sum "$template" | cut -d' ' -f1)
if [ ! -f "$conf" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    cp "$template" "$conf"
    echo "$want" > "$stamp"
fi

case $kind in
    redis) set -- redis-server "$conf" ;;
    sentinel) set -- redis-server "$conf" --sentinel ;;
    *) echo "lab-entrypoint: unknown kind '$kind' (expected redis or sentinel)" >&2; exit 64 ;;
esac

# Like the article's su-exec step: drop root when a redis user exists.
if [ "$(id -u)" = 0 ] && id redis >/dev/null 2>&1; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
