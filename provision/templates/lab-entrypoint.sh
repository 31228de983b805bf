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
    redis) set -- "${LAB_SERVER:-redis-server}" "$conf"
        # Every Redis instance runs with the lab's fsync shim preloaded: each fsync and
        # fdatasync first waits the milliseconds in /data/fsync-delay-ms ("0"; the
        # slow-fsync fault writes another), read at most once a second.
        if [ -f /usr/local/lib/lab-fsync.so ]; then
            [ -f /data/fsync-delay-ms ] || echo 0 > /data/fsync-delay-ms
            export LD_PRELOAD=/usr/local/lib/lab-fsync.so \
                LAB_FSYNC_DELAY_FILE=/data/fsync-delay-ms
        fi ;;
    sentinel) set -- "${LAB_SERVER:-redis-server}" "$conf" --sentinel
        # Every Sentinel runs with the lab's clock shim preloaded: its wall clock is the
        # real one plus the seconds in /data/clock-offset ("+0"; the clock-jump fault
        # writes another), read at most once a second. Its monotonic clock, the host's
        # and every other process's clock stay real.
        if [ -f /usr/local/lib/lab-clock.so ]; then
            [ -f /data/clock-offset ] || echo +0 > /data/clock-offset
            export LD_PRELOAD=/usr/local/lib/lab-clock.so \
                LAB_CLOCK_OFFSET_FILE=/data/clock-offset
        fi ;;
    *) echo "lab-entrypoint: unknown kind '$kind' (expected redis or sentinel)" >&2; exit 64 ;;
esac

# Like the article's su-exec step, drop root, but to a uid of its own: the uid equal to
# the port. The chaos nemesis cuts one process off from another with
# `iptables -m owner --uid-owner PORT`, which needs every process on a server to have
# its own uid (in the article layout a shard's master, replicas and Sentinels share one).
# With TLS ([security] tls) the port line says 0 and tls-port holds the port; the
# certificate and key are copied where only that uid reads them.
if [ -d /etc/lab/tls ]; then
    rm -rf /data/tls && cp -r /etc/lab/tls /data/tls && chmod 700 /data/tls
fi
if [ "$(id -u)" = 0 ]; then
    uid=$(awk '$1 == "tls-port" { print $2; exit }' "$conf")
    [ -n "$uid" ] || uid=$(awk '$1 == "port" { print $2; exit }' "$conf")
    chown -R "$uid:$uid" /data
    exec setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
fi
exec "$@"
