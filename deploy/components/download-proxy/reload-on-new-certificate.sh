#!/bin/sh
# nginx reads its certificate once; the cluster rotates it (OpenShift's service CA,
# cert-manager). Reload nginx when the file changes, and end when nginx ends.
set -eu
config=/etc/must-gather-api-proxy/nginx.conf
certificate=/var/run/secrets/must-gather-api/serving-cert/tls.crt
mkdir -p /tmp/nginx
nginx -c "$config" -g 'daemon off;' &
nginx_pid=$!
seen=$(stat -L -c %Y "$certificate")
while kill -0 "$nginx_pid" 2>/dev/null; do
    sleep 10
    now=$(stat -L -c %Y "$certificate" 2>/dev/null || echo "$seen")
    if [ "$now" != "$seen" ]; then
        nginx -c "$config" -s reload && seen=$now
    fi
done
wait "$nginx_pid"
