FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e .
# One API's layout: the database and ./logs live in /data.
WORKDIR /data
EXPOSE 3000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/api/status')"
ENTRYPOINT ["oneapi"]
