#!/usr/bin/env bash
# Install Debian's chromium + chromedriver for the report's browser test, if we can.
# Never fails the caller: without root or without the registry the browser test skips.
set -u
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: not root or no apt-get; skipping" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
timeout 300 apt-get update -qq >/dev/null 2>&1 || exit 1
timeout 600 apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || exit 1
exit 0
