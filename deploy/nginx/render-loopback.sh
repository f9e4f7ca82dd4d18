#!/usr/bin/env bash
# Renders the compose nginx config (deploy/nginx/matchd.conf + matchd-locations.conf) for a
# loopback run without Docker: only the lines of matchd.conf tagged `# @name` change
# (upstream addresses, listen address, access log, include path); every location block is
# the real deploy/nginx/matchd-locations.conf, included in place.
#
#   deploy/nginx/render-loopback.sh DIR LISTEN MATCHD [GRAFANA]
#     DIR      scratch directory (created; config, logs and temp files go there)
#     LISTEN   address nginx listens on, e.g. 127.0.0.1:8088
#     MATCHD   matchd's HOST:PORT, e.g. 127.0.0.1:8080
#     GRAFANA  Grafana's HOST:PORT (default 127.0.0.1:3000; nothing needs to listen there)
#
# Prints the command that runs it in the foreground, e.g.
#   nginx -p DIR/ -c DIR/nginx.conf -g 'daemon off; pid DIR/nginx.pid;'
# As root the workers run as nobody (DIR is made world-traversable for their temp files).
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $0 DIR LISTEN MATCHD [GRAFANA]" >&2
  exit 2
fi
src_dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dir=$(cd "$1" && pwd)
listen=$2
matchd=$3
grafana=${4:-127.0.0.1:3000}

mkdir -p "$dir/temp"
if [ "$(id -u)" -eq 0 ]; then
  chmod 0755 "$dir"
  user_line='user nobody nogroup;'
  id nobody >/dev/null 2>&1 || user_line='user root;'
  getent group nogroup >/dev/null 2>&1 || user_line='user root;'
else
  user_line='# not root: the workers run as the current user'
fi

# Each tag must occur exactly once, so an edit of matchd.conf cannot silently leave the
# test on a line it no longer rewrites.
for tag in matchd grafana listen access_log locations; do
  n=$(grep -c "# @$tag\$" "$src_dir/matchd.conf" || true)
  if [ "$n" != 1 ]; then
    echo "render-loopback: expected one line tagged '# @$tag' in $src_dir/matchd.conf, found $n" >&2
    exit 1
  fi
done

sed -e "s|^\( *\)server [^ ]*;\( *# @matchd\)\$|\1server $matchd;\2|" \
    -e "s|^\( *\)server [^ ]*;\( *# @grafana\)\$|\1server $grafana;\2|" \
    -e "s|^\( *\)listen [^;]*;\( *# @listen\)\$|\1listen $listen;\2|" \
    -e "s|^\( *\)access_log [^ ]* \(.*# @access_log\)\$|\1access_log $dir/access.log \2|" \
    -e "s|^\( *\)include [^ ]*;\( *# @locations\)\$|\1include $src_dir/matchd-locations.conf;\2|" \
    "$src_dir/matchd.conf" >"$dir/matchd.conf"

# The rewrite itself is checked too: the tagged lines must now name the new values.
for want in "server $matchd;" "server $grafana;" "listen $listen;" "access_log $dir/access.log" \
            "include $src_dir/matchd-locations.conf;"; do
  if ! grep -qF "$want" "$dir/matchd.conf"; then
    echo "render-loopback: could not rewrite matchd.conf to '$want' (tagged line changed shape?)" >&2
    exit 1
  fi
done

sed -e "s|@DIR@|$dir|g" -e "s|@USER@|$user_line|" "$src_dir/loopback-nginx.conf.in" >"$dir/nginx.conf"
echo "nginx -p $dir/ -c $dir/nginx.conf -g 'daemon off; pid $dir/nginx.pid;'"
