# One image for every role; the compose file picks the role with the command.
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# hls.js for the portal, pinned by the lock file and served from node_modules.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error
COPY pyproject.toml README.md ./
COPY streaming ./streaming
COPY cli ./cli
COPY procs ./procs
COPY origin ./origin
COPY edge ./edge
COPY media ./media
COPY control ./control
COPY steering ./steering
COPY portal ./portal
COPY loadtest ./loadtest
COPY experiments ./experiments
COPY config ./config
# Editable install: the portal finds node_modules beside the source tree.
RUN pip install --no-cache-dir -e .
ENTRYPOINT ["streaming"]
