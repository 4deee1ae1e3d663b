#!/usr/bin/env bash
# Installs the Debian packages the test suite uses as real components, only where missing.
set -euo pipefail
need=()
command -v pdfsig >/dev/null || need+=(poppler-utils)
command -v qpdf >/dev/null || need+=(qpdf)
command -v softhsm2-util >/dev/null || need+=(softhsm2)
command -v chromium >/dev/null || need+=(chromium)
[ -f /usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf ] || need+=(fonts-liberation)
# Liberation 2.x carries the Vietnamese letters (Ủ, Ễ, Ự...) that 1.07 lacks; signing stamps need them.
[ -f /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf ] || need+=(fonts-liberation2)
# The national axis's SDK and reference edXML library (../shared/interop/vxp) are Java: build.sh needs javac.
command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
# The console's single sign-on tests run a real OpenID Connect provider on Node.js.
command -v npm >/dev/null || need+=(nodejs npm)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
