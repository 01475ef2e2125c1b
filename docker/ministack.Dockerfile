# MiniStack as a container image, built without a registry: the base comes from `docker import` of a debootstrap
# tree and every Python package from wheels downloaded on the host (see scripts/build-emulator-image.sh).
ARG BASE_IMAGE=lakebox-base:bookworm
FROM ${BASE_IMAGE}
ARG MINISTACK_VERSION=1.5.33

COPY wheels /tmp/wheels
COPY hook-requirements.txt /tmp/hook-requirements.txt
# boto3 plays the part of the Lambda runtime's boto3 for the functions MiniStack runs in this container;
# Powertools and fastjsonschema let the ready.d hook build the lakebox layer here.
# duckdb makes MiniStack answer Athena queries with a real engine instead of a mock.
RUN python3 -m venv /opt/ministack \
 && /opt/ministack/bin/pip install --no-index --find-links /tmp/wheels --no-cache-dir \
      "ministack==${MINISTACK_VERSION}" --requirement /tmp/hook-requirements.txt \
 && rm -rf /tmp/wheels /tmp/hook-requirements.txt

ENV PATH=/opt/ministack/bin:$PATH \
    GATEWAY_PORT=4566 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
EXPOSE 4566
HEALTHCHECK --interval=2s --timeout=2s --retries=60 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4566/_ministack/health', timeout=1)"]
CMD ["python3", "-m", "ministack"]
