#!/bin/sh
# Provision the lakebox pipeline inside the emulator container as soon as the emulator is ready. MiniStack and
# LocalStack both run the scripts in /etc/localstack/init/ready.d; the project is mounted read-only at /lakebox.
set -eu
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" PYTHONDONTWRITEBYTECODE=1
if ! python3 -c "import boto3, aws_lambda_powertools, fastjsonschema, duckdb, cryptography, phonenumbers, stdnum" 2>/dev/null; then
  # Images that lack them (the official ones) get the pinned versions; the image from
  # scripts/build-emulator-image.sh is built with the same pins.
  python3 -m pip install --quiet --requirement /lakebox/docker/hook-requirements.txt
fi
cd /lakebox
PYTHONPATH=/lakebox/layer:/lakebox/infra python3 infra/bootstrap.py 2>&1
echo "lakebox: pipeline ready"
