# gridwatch: the worker, the simulator and the tools in one image.
#   docker build -t gridwatch .
#   docker run --rm -e GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS=kafka:9092 gridwatch worker
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p gridwatch detectors streams sinks config \
    && touch gridwatch/__init__.py detectors/__init__.py streams/__init__.py \
             sinks/__init__.py config/__init__.py \
    && pip install . && pip uninstall -y gridwatch

COPY gridwatch gridwatch
COPY detectors detectors
COPY streams streams
COPY sinks sinks
COPY config config
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 gridwatch \
    && mkdir -p /data && chown gridwatch /data
USER gridwatch
WORKDIR /data

ENTRYPOINT ["gridwatch"]
CMD ["worker"]
