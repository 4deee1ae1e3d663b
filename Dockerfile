# The hub's image: the API (`axis serve`), the push worker (`axis worker`) and the admin
# commands (`axis db upgrade`, `axis agency ...`) are the same image with another command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Runtime needs beyond Python packages: a serif TrueType font with the Vietnamese letters for
# the signature stamps of `axis sign` and POST /v1/sign (signing/fonts.py looks for Liberation
# Serif 2, Times New Roman's metrics). Everything else is in pyproject's dependencies (checked by
# tests/deploy/test_fresh_install.py); a PKCS#11 token's module (.so) comes with the HSM.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY axis ./axis
COPY formats ./formats
COPY signing ./signing
COPY archive ./archive
RUN pip install . && rm -rf /root/.cache

# Not root: the hub needs to write only its data dir (and nothing at all with PostgreSQL + S3).
RUN useradd --system --uid 10001 --home-dir /var/lib/axis axis \
    && mkdir -p /var/lib/axis && chown axis /var/lib/axis
USER axis
ENV AXIS_DATA_DIR=/var/lib/axis
VOLUME ["/var/lib/axis"]
EXPOSE 8080

CMD ["axis", "serve", "--host", "0.0.0.0", "--port", "8080"]
