#!/bin/sh
# Entry point of the locally built Pravega image. It behaves like the official pravega/pravega
# image's `standalone` command (docker/pravega/scripts/init_standalone.sh): the caller's JAVA_OPTS
# first, then the image's fixed listener settings appended after them (so for these keys the image
# wins, as in the official image), and HOST_IP as the segment store's published host. Like the
# official image, /opt/pravega/bin/pravega-standalone runs the server with JAVA_OPTS alone; that is
# what PravegaContainer runs, so it can choose the listener ports.
set -e

add_system_property() {
  if [ -n "$2" ]; then JAVA_OPTS="${JAVA_OPTS} -D$1=$2"; fi
}

case "$1" in
standalone)
  add_system_property pravegaservice.service.published.host.nameOrIp "${HOST_IP}"
  add_system_property pravegaservice.service.listener.host.nameOrIp 0.0.0.0
  add_system_property singlenode.zk.port 2181
  add_system_property singlenode.controller.rpc.port 9090
  add_system_property singlenode.segmentStore.port 12345
  echo "JAVA_OPTS=${JAVA_OPTS}"
  export JAVA_OPTS
  exec /opt/pravega/bin/pravega-standalone
  ;;
*)
  echo "usage: $0 standalone (this image runs the standalone server only)" >&2
  exit 1
  ;;
esac
