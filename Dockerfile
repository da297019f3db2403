# kb serve: the matching service over a verified release. Stateless apart from the state file
# (mount /var/lib/kb-serve); the release comes from a mounted folder or an http(s) URL.
#   docker build -t kb-serve .
#   docker run -p 8000:8000 -v $PWD/serve.toml:/etc/kb-serve.toml:ro \
#       -v $PWD/root.json:/etc/kb-root.json:ro -v kbstate:/var/lib/kb-serve kb-serve
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY kb ./kb
COPY curator ./curator
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/kb-serve kbserve \
    && mkdir -p /var/lib/kb-serve && chown kbserve /var/lib/kb-serve
USER kbserve
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
ENTRYPOINT ["kb", "serve", "--config", "/etc/kb-serve.toml", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--workers", "2"]
