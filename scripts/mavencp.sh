#!/usr/bin/env bash
# scripts/mavencp.sh — maven_classpath, sourced by scripts/flink.sh and
# scripts/spark-runner.sh.
#
# maven_classpath WHO DIR GAV [GAV...] resolves (once) the Maven classpath of
# the artifacts GAV (group:artifact:version) into DIR/cp.txt: it writes a
# pom.xml depending on them in DIR and runs mvn dependency:build-classpath
# with its local repository in the cache
# (${VENDORLAKE_CACHE:-~/.cache/vendorlake}/m2). A DIR/cp.txt that names the
# first GAV's jar is kept as it is. WHO prefixes the messages ("" for none).
maven_classpath() {
  local who=$1 dir=$2 cache a v deps="" gav
  shift 2
  [ -n "$who" ] && who="$who: "
  IFS=: read -r _ a v <<<"$1"
  [ -s "$dir/cp.txt" ] && grep -q "/$a-$v.jar" "$dir/cp.txt" && return 0
  command -v mvn >/dev/null || { echo "${who}Maven is required (apt-get install maven)" >&2; return 1; }
  cache="${VENDORLAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vendorlake}"
  for gav in "$@"; do
    local dg da dv
    IFS=: read -r dg da dv <<<"$gav"
    deps+="    <dependency><groupId>$dg</groupId><artifactId>$da</artifactId><version>$dv</version></dependency>"$'\n'
  done
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>vendorlake</groupId><artifactId>$a-classpath</artifactId><version>1</version>
  <dependencies>
$deps  </dependencies>
</project>
POM
  echo "${who}fetching $1 and its dependencies from Maven Central (once)..." >&2
  if ! (cd "$dir" && mvn -q -B -Dstyle.color=never dependency:build-classpath -Dmaven.repo.local="$cache/m2" \
      -Dmdep.outputFile=cp.txt.tmp >&2 && mv cp.txt.tmp cp.txt); then
    echo "${who}cannot fetch $1 from Maven Central" >&2
    return 1
  fi
}
