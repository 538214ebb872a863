#!/bin/sh
# Regenerates test/unit/sdk/allocation-table.json from Apache RocketMQ's allocation classes.
# Usage: test/compat/allocate/generate.sh [rocketmq-client version, default 5.3.3]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
version=${1:-5.3.3}
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
mvn -B -q -f "$root/test/compat/java/pom.xml" -Drocketmq.version="$version" \
  dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null
java -Drocketmq.client.logUseSlf4j=false -Drocketmq.log.root="$(mktemp -d)" \
  -cp "$(cat "$cp_file")" "$here/GenerateAllocationTable.java" > "$root/test/unit/sdk/allocation-table.json"
echo "wrote $root/test/unit/sdk/allocation-table.json"
