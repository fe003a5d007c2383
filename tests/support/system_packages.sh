#!/usr/bin/env bash
# Makes sure the system programs the tests drive are installed: Debian's packages, each found
# by a file it installs. Missing ones are installed when this runs as root on Debian (as CI
# does); otherwise it stops and prints the one command to run.
set -euo pipefail

# package name  file that proves it is installed (a glob)
PACKAGES=(
    "chromium     /usr/bin/chromium"
    "postgresql   /usr/lib/postgresql/*/bin/pg_ctl"
)

missing=()
for entry in "${PACKAGES[@]}"; do
    read -r package probe <<<"$entry"
    # shellcheck disable=SC2086  # the probe is a glob
    compgen -G $probe >/dev/null || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages the tests need: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
    exit 0
fi
echo "The tests need these system packages: ${missing[*]}. Install them with:" >&2
echo "    sudo apt-get install -y ${missing[*]}" >&2
exit 1
