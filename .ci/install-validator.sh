#!/usr/bin/env bash
# Install the EDRN DICOM validator (PyPI jpl-labcas-validation, console script
# validate-dicom-files) in venvs of its own, for tests/test_validator_real.py.
# It needs tesseract for OCR of burned-in text. Idempotent: a venv that already
# has the wanted release is left alone. Fails loudly (non-zero exit) on any
# problem: CI must not quietly skip the validator tests.
#
#   /opt/labcas-validator/venv        release 1.0.1 (the one the tests use by default)
#   /opt/labcas-validator/venv-1.0.0  release 1.0.0 (also run by the tests when present)
#
# Override the root with LABCAS_VALIDATOR_ROOT; needs root for apt-get.
set -euo pipefail

ROOT="${LABCAS_VALIDATOR_ROOT:-/opt/labcas-validator}"
PYTHON="${PYTHON:-python3}"

if ! command -v tesseract >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng >/dev/null
fi
command -v tesseract >/dev/null || { echo "install-validator: tesseract still missing" >&2; exit 1; }

install_release() {  # venv-dir version
    local venv="$1" version="$2"
    if [ -x "$venv/bin/validate-dicom-files" ] \
        && [ "$("$venv/bin/validate-dicom-files" --version 2>/dev/null)" = "$version" ]; then
        echo "install-validator: $venv already has $version"
        return 0
    fi
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "jpl-labcas-validation==$version"
    local got
    got="$("$venv/bin/validate-dicom-files" --version)"
    if [ "$got" != "$version" ]; then
        echo "install-validator: $venv reports version '$got', wanted $version" >&2
        exit 1
    fi
    echo "install-validator: installed $version in $venv"
}

mkdir -p "$ROOT"
install_release "$ROOT/venv" 1.0.1
install_release "$ROOT/venv-1.0.0" 1.0.0
