# One image for every role; the compose file picks the role with the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streaming ./streaming
COPY origin ./origin
COPY edge ./edge
COPY media ./media
COPY config ./config
RUN pip install --no-cache-dir .
ENTRYPOINT ["streaming"]
